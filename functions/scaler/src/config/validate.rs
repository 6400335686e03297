//! From the file as written to a [`Config`]: apply defaults, parse kinds, fields and
//! matchers, and check what serde cannot (exclusive fields, bounds, references
//! between policies and clusters, one policy per object). Every refusal is a
//! [`FieldError`] naming the field's path.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use config_error::FieldError;

use super::cluster_file::ClusterConfig;
use super::error::ConfigError;
use super::file::{ConfigFile, PolicyFile};
use super::model::{
    Adjust, Config, Escalation, Policy, Target, DEFAULT_ALERT_EXPIRY, DEFAULT_CONFLICT_RETRIES,
    DEFAULT_COOLDOWN, DEFAULT_MAX_CHANGES_PER_HOUR,
};
use crate::values::{Field, Kind};

fn invalid(at: impl Into<String>, reason: impl Into<String>) -> FieldError {
    FieldError::new(at, reason)
}

impl Config {
    /// Parses and validates YAML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let file: ConfigFile = config_error::from_yaml_str(text)?;
        Ok(validate(file)?)
    }
}

/// The checks and defaults of the whole file.
fn validate(file: ConfigFile) -> Result<Config, FieldError> {
    for (name, cluster) in &file.clusters {
        validate_cluster(name, cluster)?;
    }
    let mut policies = Vec::with_capacity(file.policies.len());
    let mut names = BTreeSet::new();
    let mut targets: BTreeMap<Target, String> = BTreeMap::new();
    for (i, p) in file.policies.iter().enumerate() {
        let policy = validate_policy(&format!("policies[{i}]"), p, &file.clusters)?;
        if !names.insert(policy.name.clone()) {
            return Err(invalid(
                format!("policies[{i}].name"),
                format!("{:?} is used by another policy", policy.name),
            ));
        }
        if let Some(other) = targets.insert(policy.target.clone(), policy.name.clone()) {
            return Err(invalid(
                format!("policies[{i}].target"),
                format!(
                    "{} is already the target of policy {other:?}; one policy per object, \
                     so their recorded originals cannot clash",
                    policy.target
                ),
            ));
        }
        policies.push(policy);
    }
    let alert_expiry = file.alert_expiry.map_or(DEFAULT_ALERT_EXPIRY, |d| d.0);
    if alert_expiry.is_zero() {
        return Err(invalid("alert_expiry", "must be more than 0"));
    }
    Ok(Config {
        clusters: file.clusters,
        policies,
        alert_expiry,
        conflict_retries: file.conflict_retries.unwrap_or(DEFAULT_CONFLICT_RETRIES),
    })
}

fn validate_cluster(name: &str, c: &ClusterConfig) -> Result<(), FieldError> {
    let field = |f: &str| format!("clusters.{name}.{f}");
    match (&c.eks, &c.endpoint) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                format!("clusters.{name}"),
                "set either eks (endpoint and CA from DescribeCluster) or endpoint, not both",
            ))
        }
        (None, None) => {
            return Err(invalid(
                format!("clusters.{name}"),
                "needs eks: {name, region} or endpoint + ca_file/ca_data + token",
            ))
        }
        (Some(eks), None) => {
            if c.ca_file.is_some() || c.ca_data.is_some() || c.token.is_some() {
                return Err(invalid(
                    format!("clusters.{name}"),
                    "ca_file, ca_data and token go with endpoint; eks clusters get them from AWS",
                ));
            }
            eks.validate(&field("eks"))?;
        }
        (None, Some(endpoint)) => {
            if !endpoint.starts_with("https://") {
                return Err(invalid(
                    field("endpoint"),
                    format!("{endpoint:?} must be an https:// URL (TLS is never skipped)"),
                ));
            }
            if c.ca_file.is_some() == c.ca_data.is_some() {
                return Err(invalid(
                    format!("clusters.{name}"),
                    "an endpoint needs exactly one of ca_file or ca_data",
                ));
            }
            let token = c
                .token
                .as_ref()
                .ok_or_else(|| invalid(field("token"), "an endpoint needs a token source"))?;
            let sources = usize::from(token.eks.is_some())
                + usize::from(token.env.is_some())
                + usize::from(token.file.is_some());
            if sources != 1 {
                return Err(invalid(
                    field("token"),
                    "needs exactly one of eks: {name, region}, env: VARIABLE or file: PATH",
                ));
            }
            if let Some(eks) = &token.eks {
                eks.validate(&field("token.eks"))?;
            }
            if token.env.as_deref() == Some("") {
                return Err(invalid(field("token.env"), "empty variable name"));
            }
        }
    }
    Ok(())
}

fn validate_policy(
    at: &str,
    p: &PolicyFile,
    clusters: &BTreeMap<String, ClusterConfig>,
) -> Result<Policy, FieldError> {
    let field = |f: &str| format!("{at}.{f}");
    if p.name.is_empty() {
        return Err(invalid(field("name"), "empty"));
    }
    if p.triggers.alarms.is_empty() && p.triggers.matchers.is_empty() {
        return Err(invalid(
            field("triggers"),
            "needs alarms (CloudWatch alarm names) and/or matchers",
        ));
    }
    for (i, alarm) in p.triggers.alarms.iter().enumerate() {
        if alarm.is_empty() || alarm.len() > 255 {
            return Err(invalid(
                format!("{at}.triggers.alarms[{i}]"),
                "an alarm name has 1 to 255 characters",
            ));
        }
    }
    let mut matchers = Vec::new();
    for (i, text) in p.triggers.matchers.iter().enumerate() {
        let parsed = alert_routing::parse_matchers(text).map_err(|e| {
            invalid(format!("{at}.triggers.matchers[{i}]"), "not a matcher list").caused_by(e)
        })?;
        if parsed.is_empty() {
            return Err(invalid(
                format!("{at}.triggers.matchers[{i}]"),
                "no matcher in the text",
            ));
        }
        matchers.extend(parsed);
    }
    let kind = Kind::parse(&p.target.kind).ok_or_else(|| {
        invalid(
            field("target.kind"),
            format!(
                "{:?} is not HorizontalPodAutoscaler, Deployment or StatefulSet",
                p.target.kind
            ),
        )
    })?;
    if !clusters.contains_key(&p.target.cluster) {
        return Err(invalid(
            field("target.cluster"),
            format!("{:?} is not under clusters", p.target.cluster),
        ));
    }
    for (f, value) in [
        ("target.namespace", &p.target.namespace),
        ("target.name", &p.target.name),
    ] {
        if !is_dns_name(value) {
            return Err(invalid(
                field(f),
                format!("{value:?} is not a Kubernetes object name"),
            ));
        }
    }
    let floor = p.floor.unwrap_or(match kind {
        Kind::HorizontalPodAutoscaler => 1,
        _ => 0,
    });
    if kind == Kind::HorizontalPodAutoscaler && floor < 1 {
        return Err(invalid(
            field("floor"),
            "an HPA's replicas are at least 1, so the floor is at least 1",
        ));
    }
    if floor < 0 {
        return Err(invalid(field("floor"), "must be 0 or more"));
    }
    if p.ceiling < floor {
        return Err(invalid(
            field("ceiling"),
            format!("{} is below the floor {floor}", p.ceiling),
        ));
    }
    if p.while_firing.is_empty() {
        return Err(invalid(field("while_firing"), "says nothing to change"));
    }
    let mut while_firing = BTreeMap::new();
    for (name, adjust) in &p.while_firing {
        let at_field = format!("{at}.while_firing.{name}");
        let f = Field::parse(name).ok_or_else(|| {
            invalid(
                &at_field,
                "unknown field; use min_replicas / max_replicas (HPA) or replicas",
            )
        })?;
        if !kind.fields().contains(&f) {
            return Err(invalid(
                &at_field,
                format!("a {} has no {name}", kind.as_str()),
            ));
        }
        let adjust = match (adjust.set, adjust.add, adjust.multiply) {
            (Some(v), None, None) => Adjust::Set(v),
            (None, Some(v), None) => Adjust::Add(v),
            (None, None, Some(v)) if v.is_finite() && v > 0.0 => Adjust::Multiply(v),
            (None, None, Some(v)) => {
                return Err(invalid(
                    format!("{at_field}.multiply"),
                    format!("{v} must be a finite number above 0"),
                ))
            }
            _ => {
                return Err(invalid(
                    &at_field,
                    "needs exactly one of set, add or multiply",
                ))
            }
        };
        while_firing.insert(f, adjust);
    }
    let escalation = match &p.escalation {
        None => None,
        Some(e) => {
            if e.every.0 < Duration::from_secs(60) {
                return Err(invalid(
                    field("escalation.every"),
                    "must be at least 1m (each step needs a reconcile to see it)",
                ));
            }
            if let Some((f, _)) = while_firing
                .iter()
                .find(|(_, a)| matches!(a, Adjust::Set(_)))
            {
                return Err(invalid(
                    field("escalation"),
                    format!(
                        "while_firing.{} uses set, which has no next step; use add or multiply",
                        f.config_name()
                    ),
                ));
            }
            let max_steps = e.max_steps.unwrap_or(u32::MAX);
            if max_steps == 0 {
                return Err(invalid(field("escalation.max_steps"), "must be at least 1"));
            }
            Some(Escalation {
                every: e.every.0,
                max_steps,
            })
        }
    };
    let max_changes_per_hour = p
        .max_changes_per_hour
        .unwrap_or(DEFAULT_MAX_CHANGES_PER_HOUR);
    if max_changes_per_hour < 2 {
        return Err(invalid(
            field("max_changes_per_hour"),
            "must be at least 2 (one change and its restore)",
        ));
    }
    Ok(Policy {
        name: p.name.clone(),
        alarms: p.triggers.alarms.clone(),
        matchers,
        target: Target {
            cluster: p.target.cluster.clone(),
            namespace: p.target.namespace.clone(),
            kind,
            name: p.target.name.clone(),
        },
        while_firing,
        floor,
        ceiling: p.ceiling,
        escalation,
        cooldown: p.cooldown.map_or(DEFAULT_COOLDOWN, |d| d.0),
        max_changes_per_hour,
        dry_run: p.dry_run,
    })
}

/// RFC 1123 subdomain, as Kubernetes requires of namespace and object names.
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}
