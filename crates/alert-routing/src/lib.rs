//! Alertmanager's label matchers, with both of its parsers (the UTF-8 one that is the
//! default since 0.27 and the classic one it falls back to), their matching and
//! rendering rules, its routing tree, inhibition and time intervals, checked against Alertmanager's own test
//! cases. The alarm-handler routes with them and the scaler selects alerts with them.

mod classic;
mod inhibit;
mod matcher;
mod parse;
mod route;
mod time_interval;
mod utf8;

pub use inhibit::{InhibitRule, InhibitRuleConfig, Inhibitor};
pub use matcher::{MatchType, Matcher, MatcherError};
pub use parse::{parse_matcher, parse_matchers};
pub use route::{render_matchers, Route, RouteConfig, RouteError};
pub use time_interval::{
    NamedTimeIntervalConfig, TimeIntervalConfig, TimeIntervalError, TimeIntervals, TimeRangeConfig,
};

/// The classic (pre-0.27, regex based) parser, used as the fallback.
pub mod classic_parser {
    pub use crate::classic::{parse_matcher, parse_matchers};
}

/// The UTF-8 parser, Alertmanager's default since 0.27.
pub mod utf8_parser {
    pub use crate::utf8::{parse_matcher, parse_matchers};
}
