//! Alertmanager's routing tree: the `route` block as Alertmanager reads it, each node
//! inheriting its parent's receiver and grouping settings, and `matching` returning the
//! routes an alert goes to, in Alertmanager's order (depth first, first matching child
//! wins unless it has `continue`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use prom::duration::PromDuration;
use serde::Deserialize;

use crate::matcher::{MatchType, Matcher, MatcherError};
use crate::parse::parse_matchers;
use crate::time_interval::TimeIntervals;

/// One `route` node as written in the Alertmanager config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The receiver; inherited from the parent route when absent (required at the root).
    #[serde(default)]
    pub receiver: Option<String>,
    /// Labels to group alerts by; `['...']` groups by all labels. Inherited when
    /// absent.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// `continue`: keep matching the following siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Deprecated `match`: label equals value.
    #[serde(default, rename = "match")]
    pub match_equal: Option<BTreeMap<String, String>>,
    /// Deprecated `match_re`: label matches the anchored regex.
    #[serde(default)]
    pub match_re: Option<BTreeMap<String, String>>,
    /// Matchers in Alertmanager's syntax (`severity=~"critical|page"`).
    #[serde(default)]
    pub matchers: Option<Vec<String>>,
    /// Initial wait to batch a new group's alerts; inherited when absent (default 30s).
    #[serde(default)]
    pub group_wait: Option<PromDuration>,
    /// Wait before notifying about changes to a notified group; inherited when absent (default 5m).
    #[serde(default)]
    pub group_interval: Option<PromDuration>,
    /// Resend interval for a group still firing; inherited when absent (Alertmanager default 4h).
    #[serde(default)]
    pub repeat_interval: Option<PromDuration>,
    /// Names of `time_intervals` during which notifications are held (`mute_time_intervals`).
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Names of `time_intervals` outside which notifications are held (`active_time_intervals`).
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// Labels the route adds (merged down the tree, the child winning).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Child routes, tried in order.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

impl RouteConfig {
    /// Parses a YAML `route` block; unknown fields are errors naming them.
    pub fn from_yaml(yaml: &str) -> Result<RouteConfig, RouteError> {
        yaml_serde::from_str(yaml).map_err(|e| RouteError::Invalid {
            path: "root".into(),
            reason: e.to_string(),
        })
    }

    /// Alertmanager's rules for the root route: a receiver, no matchers, no
    /// `continue`, no time intervals.
    pub fn validate_root(&self) -> Result<(), RouteError> {
        let root_error = |reason: &str| RouteError::Invalid {
            path: "root".into(),
            reason: reason.into(),
        };
        if self.receiver.as_deref().unwrap_or("").is_empty() {
            return Err(root_error("root route must specify a default receiver"));
        }
        if self.match_equal.as_ref().is_some_and(|m| !m.is_empty())
            || self.match_re.as_ref().is_some_and(|m| !m.is_empty())
            || self.matchers.as_ref().is_some_and(|m| !m.is_empty())
        {
            return Err(root_error("root route must not have any matchers"));
        }
        if self.continue_matching {
            return Err(root_error("cannot have continue in root route"));
        }
        if !self.mute_time_intervals.is_empty() {
            return Err(root_error(
                "root route must not have any mute time intervals",
            ));
        }
        if !self.active_time_intervals.is_empty() {
            return Err(root_error(
                "root route must not have any active time intervals",
            ));
        }
        Ok(())
    }
}

/// A route config Alertmanager would reject; the message names the route and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A setting Alertmanager refuses (a zero interval, `...` with other labels, a
    /// root route with matchers or no receiver).
    #[error("route {path}: {reason}")]
    Invalid {
        /// The route's place in the tree (`route.routes[1]`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// One of the route's matchers does not parse or compile.
    #[error("route {path}: {source}")]
    Matcher {
        /// The route's place in the tree.
        path: String,
        /// Why the matcher was refused.
        source: MatcherError,
    },
}

/// A node of the built tree, with its effective (inherited) settings.
#[derive(Debug, Clone)]
pub struct Route {
    /// The receiver its alerts go to (inherited from the parent when not set).
    pub receiver: String,
    /// Label names to group by (empty with `group_by_all`).
    pub group_by: BTreeSet<String>,
    /// `group_by: ['...']`: group by all labels.
    pub group_by_all: bool,
    /// How long to wait before the first notification of a new group, to batch alerts.
    pub group_wait: Duration,
    /// How long to wait before notifying about new alerts in a group already notified.
    pub group_interval: Duration,
    /// How long before a notification that has already been sent is sent again.
    pub repeat_interval: Duration,
    /// Labels the route adds to its alerts (merged down the tree, the child winning).
    pub labels: BTreeMap<String, String>,
    /// Names of `time_intervals` during which the route's notifications are held.
    pub mute_time_intervals: Vec<String>,
    /// Names of `time_intervals` outside which the route's notifications are held.
    pub active_time_intervals: Vec<String>,
    /// Whether matching goes on to the next sibling after this route matched
    /// (`continue: true`); by default the first matching sibling wins.
    pub continue_matching: bool,
    /// Sorted by name, value, type, as Alertmanager keeps them.
    pub matchers: Vec<Matcher>,
    /// Child routes, tried in order.
    pub routes: Vec<Route>,
    key: String,
    id: String,
    idx: usize,
}

const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);

impl Route {
    /// Builds the tree from a `route` block (Alertmanager's `NewRoute`). Use
    /// [`RouteConfig::validate_root`] first when the block is a config's root route.
    pub fn from_config(config: &RouteConfig) -> Result<Route, RouteError> {
        let defaults = Inherited {
            receiver: String::new(),
            group_by: BTreeSet::new(),
            group_by_all: false,
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            labels: BTreeMap::new(),
        };
        let mut next_idx = 0;
        Self::build(config, &defaults, None, "root", &mut next_idx)
    }

    /// Parses a YAML root `route` block, checks the root rules and builds the tree.
    pub fn from_root_yaml(yaml: &str) -> Result<Route, RouteError> {
        let config = RouteConfig::from_yaml(yaml)?;
        config.validate_root()?;
        Self::from_config(&config)
    }

    fn build(
        config: &RouteConfig,
        parent: &Inherited,
        parent_ids: Option<(&str, &str, usize)>,
        path: &str,
        next_idx: &mut usize,
    ) -> Result<Route, RouteError> {
        let invalid = |reason: String| RouteError::Invalid {
            path: path.to_string(),
            reason,
        };
        let mut own = parent.clone();
        if let Some(receiver) = config.receiver.as_ref().filter(|r| !r.is_empty()) {
            own.receiver = receiver.clone();
        }
        if let Some(group_by) = &config.group_by {
            let mut names = BTreeSet::new();
            let mut all = false;
            for name in group_by {
                if name == "..." {
                    all = true;
                } else if !names.insert(name.clone()) {
                    return Err(invalid(format!("duplicated label {name:?} in group_by")));
                }
            }
            if all && !names.is_empty() {
                return Err(invalid(
                    "cannot have wildcard group_by (`...`) and other labels at the same time"
                        .into(),
                ));
            }
            own.group_by = names;
            own.group_by_all = all;
        }
        if let Some(d) = config.group_wait {
            own.group_wait = d.0;
        }
        for (name, value, target) in [
            (
                "group_interval",
                config.group_interval,
                &mut own.group_interval,
            ),
            (
                "repeat_interval",
                config.repeat_interval,
                &mut own.repeat_interval,
            ),
        ] {
            if let Some(d) = value {
                if d.0.is_zero() {
                    return Err(invalid(format!("{name} cannot be zero")));
                }
                *target = d.0;
            }
        }
        for (k, v) in &config.labels {
            own.labels.insert(k.clone(), v.clone());
        }
        let matchers = node_matchers(config).map_err(|source| RouteError::Matcher {
            path: path.to_string(),
            source,
        })?;
        let rendered = render_matchers(&matchers);
        let (key, id) = match parent_ids {
            None => (rendered.clone(), rendered.clone()),
            Some((parent_key, parent_id, index)) => (
                format!("{parent_key}/{rendered}"),
                format!("{parent_id}/{rendered}/{index}"),
            ),
        };
        let mut routes = Vec::with_capacity(config.routes.len());
        for (i, child) in config.routes.iter().enumerate() {
            let child_path = format!("{path}.routes[{i}]");
            routes.push(Self::build(
                child,
                &own,
                Some((&key, &id, i)),
                &child_path,
                next_idx,
            )?);
        }
        let idx = *next_idx;
        *next_idx += 1;
        Ok(Route {
            receiver: own.receiver,
            group_by: own.group_by,
            group_by_all: own.group_by_all,
            group_wait: own.group_wait,
            group_interval: own.group_interval,
            repeat_interval: own.repeat_interval,
            labels: own.labels,
            mute_time_intervals: config.mute_time_intervals.clone(),
            active_time_intervals: config.active_time_intervals.clone(),
            continue_matching: config.continue_matching,
            matchers,
            routes,
            key,
            id,
            idx,
        })
    }

    /// The routes an alert with `labels` goes to, in order. A missing label matches as
    /// the empty string.
    pub fn matching(&self, labels: &BTreeMap<String, String>) -> Vec<&Route> {
        let all_match = self
            .matchers
            .iter()
            .all(|m| m.matches(labels.get(&m.name).map(String::as_str).unwrap_or("")));
        if !all_match {
            return Vec::new();
        }
        let mut result = Vec::new();
        for child in &self.routes {
            let matched = child.matching(labels);
            let found = !matched.is_empty();
            result.extend(matched);
            if found && !child.continue_matching {
                break;
            }
        }
        if result.is_empty() {
            result.push(self);
        }
        result
    }

    /// Whether notifications of this route are held back at `at`: one of its
    /// `mute_time_intervals` is active, or it has `active_time_intervals` and none is.
    /// An unknown interval name never mutes (config validation rejects it first).
    pub fn is_muted(&self, intervals: &TimeIntervals, at: DateTime<Utc>) -> bool {
        let active = |name: &String| intervals.is_active(name, at).unwrap_or(false);
        self.mute_time_intervals.iter().any(active)
            || (!self.active_time_intervals.is_empty()
                && !self.active_time_intervals.iter().any(active))
    }

    /// Alertmanager's route key: the path of matcher sets from the root.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Like [`Route::key`] plus each node's index among its siblings, so identical
    /// sibling routes differ.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Post-order index: children before parents, the root last.
    pub fn idx(&self) -> usize {
        self.idx
    }

    /// Visits the tree in pre-order (node, then children in config order).
    pub fn walk<'a>(&'a self, visit: &mut dyn FnMut(&'a Route)) {
        visit(self);
        for child in &self.routes {
            child.walk(visit);
        }
    }
}

#[derive(Debug, Clone)]
struct Inherited {
    receiver: String,
    group_by: BTreeSet<String>,
    group_by_all: bool,
    group_wait: Duration,
    group_interval: Duration,
    repeat_interval: Duration,
    labels: BTreeMap<String, String>,
}

/// `match` + `match_re` (anchored on load) + `matchers`, sorted as Alertmanager does.
fn node_matchers(config: &RouteConfig) -> Result<Vec<Matcher>, MatcherError> {
    let mut matchers = Vec::new();
    for (name, value) in config.match_equal.iter().flatten() {
        check_label_name(name)?;
        matchers.push(Matcher::new(MatchType::Equal, name, value)?);
    }
    for (name, value) in config.match_re.iter().flatten() {
        check_label_name(name)?;
        matchers.push(Matcher::new(
            MatchType::Regexp,
            name,
            format!("^(?:{value})$"),
        )?);
    }
    for text in config.matchers.iter().flatten() {
        matchers.extend(parse_matchers(text)?);
    }
    matchers.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(matchers)
}

fn check_label_name(name: &str) -> Result<(), MatcherError> {
    if prom::labels::is_valid_label_name(name) {
        Ok(())
    } else {
        Err(MatcherError::BadFormat(format!(
            "{name:?} is not a valid label name"
        )))
    }
}

/// `{a="b",c=~"d"}`.
pub fn render_matchers(matchers: &[Matcher]) -> String {
    let inner: Vec<String> = matchers.iter().map(Matcher::to_string).collect();
    format!("{{{}}}", inner.join(","))
}
