//! Alertmanager's default matcher parsing: the UTF-8 parser, falling back to the
//! classic parser when only it accepts the input, and preferring the classic result
//! when both accept it but disagree (so configs written for older Alertmanagers keep
//! their meaning).

use crate::matcher::{Matcher, MatcherError};
use crate::{classic, utf8};

/// Parses a list of matchers (`{a="b",c!~"d"}` or `a=b,c!~d`).
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let utf8 = utf8::parse_matchers(input);
    let classic = classic::parse_matchers(input);
    match (utf8, classic) {
        (Ok(new), Ok(old)) if new != old => Ok(old),
        (Ok(new), _) => Ok(new),
        (Err(_), Ok(old)) => Ok(old),
        (Err(_), Err(old_error)) => Err(old_error),
    }
}

/// Parses one matcher (`a="b"`), as the entries of a `matchers:` list.
pub fn parse_matcher(input: &str) -> Result<Matcher, MatcherError> {
    let utf8 = utf8::parse_matcher(input);
    let classic = classic::parse_matcher(input);
    match (utf8, classic) {
        (Ok(new), Ok(old)) if new != old => Ok(old),
        (Ok(new), _) => Ok(new),
        (Err(_), Ok(old)) => Ok(old),
        (Err(_), Err(old_error)) => Err(old_error),
    }
}
