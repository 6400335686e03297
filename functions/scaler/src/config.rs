//! The scaler's policy config: which clusters it may reach, and for each policy what
//! triggers it, what it scales, how far, and how it undoes the change. Parsed from
//! YAML into typed structs and validated up front, so a typo is an error naming the
//! field at start-up rather than a surprise during an incident.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use alert_routing::Matcher;
use prom::duration::PromDuration;
use serde::Deserialize;

use crate::values::{Field, Kind};

/// A config problem, naming where (`policies[2].ceiling`) and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not YAML of the expected shape (serde's message names the field).
    #[error("scaler config: {0}")]
    Syntax(String),
    /// A field has a value the scaler cannot work with.
    #[error("scaler config: {field}: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    clusters: BTreeMap<String, ClusterConfig>,
    policies: Vec<PolicyFile>,
    /// How long an alert seen firing through SNS (matcher triggers) counts as firing
    /// without being repeated or resolved. Alertmanager repeats firing notifications
    /// every `repeat_interval` (4h by default), so the default is longer than that.
    #[serde(default)]
    alert_expiry: Option<PromDuration>,
    /// Attempts for one target when its `resourceVersion` keeps changing under us.
    #[serde(default)]
    conflict_retries: Option<u32>,
}

/// How to reach one Kubernetes API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// An EKS cluster: endpoint and CA come from DescribeCluster, the token is an EKS
    /// token for this cluster name.
    #[serde(default)]
    pub eks: Option<EksCluster>,
    /// Any Kubernetes API (self-managed, or an explicit EKS endpoint): `https://...`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// PEM file with the CA that signed the API server's certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The same, base64 of the PEM, as kubeconfig's `certificate-authority-data`.
    #[serde(default)]
    pub ca_data: Option<String>,
    /// Where the bearer token comes from, for an explicit `endpoint`.
    #[serde(default)]
    pub token: Option<TokenSource>,
}

/// An EKS cluster by name and region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksCluster {
    /// The EKS cluster name (also the `x-k8s-aws-id` of its tokens).
    pub name: String,
    /// Its region: DescribeCluster and the STS host of the token are regional.
    pub region: String,
}

/// A bearer token source for an explicit endpoint: exactly one of the fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSource {
    /// An EKS / aws-iam-authenticator token for this cluster name, signed with the
    /// function's own credentials (as `aws eks get-token --cluster-name` makes it).
    #[serde(default)]
    pub eks: Option<EksCluster>,
    /// The token is in this environment variable (a service-account token).
    #[serde(default)]
    pub env: Option<String>,
    /// The token is in this file (e.g. a projected service-account token).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: String,
    #[serde(default)]
    triggers: TriggersFile,
    target: TargetFile,
    while_firing: BTreeMap<String, AdjustFile>,
    #[serde(default)]
    floor: Option<i32>,
    ceiling: i32,
    #[serde(default)]
    escalation: Option<EscalationFile>,
    #[serde(default)]
    cooldown: Option<PromDuration>,
    #[serde(default)]
    max_changes_per_hour: Option<u32>,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersFile {
    #[serde(default)]
    alarms: Vec<String>,
    #[serde(default)]
    matchers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    cluster: String,
    namespace: String,
    kind: String,
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustFile {
    #[serde(default)]
    set: Option<i64>,
    #[serde(default)]
    add: Option<i64>,
    #[serde(default)]
    multiply: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationFile {
    every: PromDuration,
    #[serde(default)]
    max_steps: Option<u32>,
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// Clusters by the name policies use.
    pub clusters: BTreeMap<String, ClusterConfig>,
    /// Policies in config order (the order they run in).
    pub policies: Vec<Policy>,
    /// See `alert_expiry` in the README.
    pub alert_expiry: Duration,
    /// Re-reads after a 409 before a target is reported as failed.
    pub conflict_retries: u32,
}

/// One scaling policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// CloudWatch alarm names; their current state (DescribeAlarms) is authoritative.
    pub alarms: Vec<String>,
    /// Alertmanager matchers on the alerts the alarm-handler publishes; all must match.
    pub matchers: Vec<Matcher>,
    pub target: Target,
    /// What to do with each field while firing.
    pub while_firing: BTreeMap<Field, Adjust>,
    /// No value the policy writes goes below this.
    pub floor: i32,
    /// No value the policy writes goes above this.
    pub ceiling: i32,
    pub escalation: Option<Escalation>,
    /// How long every trigger must be OK before the originals are restored.
    pub cooldown: Duration,
    /// Value changes (apply, escalate, restore) allowed per target in any hour.
    pub max_changes_per_hour: u32,
    /// Decide and report, but write nothing to the cluster.
    pub dry_run: bool,
}

/// The object a policy scales.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub cluster: String,
    pub namespace: String,
    pub kind: Kind,
    pub name: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.cluster,
            self.namespace,
            self.kind.as_str(),
            self.name
        )
    }
}

/// How a field changes while firing. With escalation, step `k` applies `add` or
/// `multiply` `k` times to the recorded original.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjust {
    Set(i64),
    Add(i64),
    Multiply(f64),
}

/// Another step every `every` while still firing, up to `max_steps` (and the ceiling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalation {
    pub every: Duration,
    pub max_steps: u32,
}

/// Default `cooldown`: how long an alarm must stay OK before restoring.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(15 * 60);
/// Default `max_changes_per_hour`.
pub const DEFAULT_MAX_CHANGES_PER_HOUR: u32 = 12;
/// Default `alert_expiry`.
pub const DEFAULT_ALERT_EXPIRY: Duration = Duration::from_secs(6 * 3600);
/// Default `conflict_retries`.
pub const DEFAULT_CONFLICT_RETRIES: u32 = 5;

impl Config {
    /// Parses and validates YAML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let file: ConfigFile =
            yaml_serde::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
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

    /// Every CloudWatch alarm name any policy names, once.
    pub fn alarm_names(&self) -> BTreeSet<String> {
        self.policies
            .iter()
            .flat_map(|p| p.alarms.iter().cloned())
            .collect()
    }
}

fn validate_cluster(name: &str, c: &ClusterConfig) -> Result<(), ConfigError> {
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
            validate_eks(&field("eks"), eks)?;
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
                validate_eks(&field("token.eks"), eks)?;
            }
            if token.env.as_deref() == Some("") {
                return Err(invalid(field("token.env"), "empty variable name"));
            }
        }
    }
    Ok(())
}

fn validate_eks(field: &str, eks: &EksCluster) -> Result<(), ConfigError> {
    if eks.name.is_empty() {
        return Err(invalid(format!("{field}.name"), "empty"));
    }
    let region_ok = !eks.region.is_empty()
        && eks
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(invalid(
            format!("{field}.region"),
            format!("{:?} is not an AWS region name", eks.region),
        ));
    }
    Ok(())
}

fn validate_policy(
    at: &str,
    p: &PolicyFile,
    clusters: &BTreeMap<String, ClusterConfig>,
) -> Result<Policy, ConfigError> {
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
        let parsed = alert_routing::parse_matchers(text)
            .map_err(|e| invalid(format!("{at}.triggers.matchers[{i}]"), e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
clusters:
  prod: {eks: {name: prod-eks, region: eu-west-1}}
  lab:
    endpoint: https://127.0.0.1:6443
    ca_file: /tmp/ca.pem
    token: {eks: {name: lab, region: us-east-1}}
policies:
  - name: orders-backlog
    triggers:
      alarms: [orders-queue-depth-high]
      matchers: ['alertname="OrdersBacklog"']
    target: {cluster: prod, namespace: orders, kind: HorizontalPodAutoscaler, name: consumer}
    while_firing: {max_replicas: {add: 5}}
    ceiling: 40
    escalation: {every: 10m, max_steps: 3}
    cooldown: 15m
  - name: web
    triggers: {alarms: [web-5xx]}
    target: {cluster: lab, namespace: default, kind: Deployment, name: web}
    while_firing: {replicas: {multiply: 2}}
    floor: 2
    ceiling: 20
    dry_run: true
"#;

    #[test]
    fn parses_a_full_config_with_defaults() {
        let config = Config::parse(GOOD);
        let Ok(config) = config else {
            panic!("{config:?}");
        };
        assert_eq!(config.policies.len(), 2);
        let p = &config.policies[0];
        assert_eq!(p.floor, 1, "HPA default floor");
        assert_eq!(p.ceiling, 40);
        assert_eq!(
            p.while_firing.get(&Field::MaxReplicas),
            Some(&Adjust::Add(5))
        );
        assert_eq!(
            p.escalation,
            Some(Escalation {
                every: Duration::from_secs(600),
                max_steps: 3
            })
        );
        assert_eq!(p.matchers.len(), 1);
        assert_eq!(p.max_changes_per_hour, DEFAULT_MAX_CHANGES_PER_HOUR);
        let web = &config.policies[1];
        assert!(web.dry_run);
        assert_eq!(web.cooldown, DEFAULT_COOLDOWN);
        assert_eq!(web.target.kind, Kind::Deployment);
        assert_eq!(
            config.alarm_names().into_iter().collect::<Vec<_>>(),
            ["orders-queue-depth-high", "web-5xx"]
        );
    }

    /// Each broken config is an error naming the field.
    #[test]
    fn errors_name_the_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("ceiling: 40", "ceiling: 0", "policies[0].ceiling"),
            (
                "kind: HorizontalPodAutoscaler",
                "kind: Pod",
                "policies[0].target.kind",
            ),
            (
                "cluster: prod,",
                "cluster: nope,",
                "policies[0].target.cluster",
            ),
            (
                "{max_replicas: {add: 5}}",
                "{replicas: {add: 5}}",
                "policies[0].while_firing.replicas",
            ),
            (
                "{max_replicas: {add: 5}}",
                "{max_replicas: {set: 5}}",
                "policies[0].escalation",
            ),
            (
                "{max_replicas: {add: 5}}",
                "{max_replicas: {add: 5, set: 3}}",
                "policies[0].while_firing.max_replicas",
            ),
            (
                "{replicas: {multiply: 2}}",
                "{replicas: {multiply: -1}}",
                "policies[1].while_firing.replicas.multiply",
            ),
            ("every: 10m", "every: 10s", "policies[0].escalation.every"),
            (
                "matchers: ['alertname=\"OrdersBacklog\"']",
                "matchers: ['alertname=~\"(\"']",
                "policies[0].triggers.matchers[0]",
            ),
            (
                "region: eu-west-1",
                "region: EU WEST",
                "clusters.prod.eks.region",
            ),
            (
                "endpoint: https://127.0.0.1:6443",
                "endpoint: http://127.0.0.1:6443",
                "clusters.lab.endpoint",
            ),
            ("name: web\n", "name: orders-backlog\n", "policies[1].name"),
            (
                "namespace: orders",
                "namespace: Orders",
                "policies[0].target.namespace",
            ),
            ("floor: 2", "floor: -1", "policies[1].floor"),
        ];
        for (from, to, field) in cases {
            assert!(GOOD.contains(from), "case {from:?} does not apply");
            let text = GOOD.replacen(from, to, 1);
            match Config::parse(&text) {
                Err(ConfigError::Invalid { field: got, reason }) => {
                    assert_eq!(&got, field, "{to}: {reason}")
                }
                other => panic!("{to}: expected an error at {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_and_shapes_are_syntax_errors() {
        let typo = GOOD.replace("cooldown: 15m", "cooldwn: 15m");
        let Err(ConfigError::Syntax(message)) = Config::parse(&typo) else {
            panic!("a typo must be refused");
        };
        assert!(message.contains("cooldwn"), "{message}");
        assert!(matches!(
            Config::parse("policies: 3"),
            Err(ConfigError::Syntax(_))
        ));
    }

    #[test]
    fn two_policies_on_one_target_are_refused() {
        let text = GOOD.replace(
            "{cluster: lab, namespace: default, kind: Deployment, name: web}",
            "{cluster: prod, namespace: orders, kind: HorizontalPodAutoscaler, name: consumer}",
        );
        let text = text.replace("{replicas: {multiply: 2}}", "{max_replicas: {add: 1}}");
        match Config::parse(&text) {
            Err(ConfigError::Invalid { field, reason }) => {
                assert_eq!(field, "policies[1].target");
                assert!(reason.contains("orders-backlog"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
