//! The scaler's policy config: which clusters it may reach, and for each policy what
//! triggers it, what it scales, how far, and how it undoes the change. Parsed from
//! YAML into typed structs and validated up front, so a typo is an error naming the
//! field at start-up rather than a surprise during an incident.
//!
//! One concept per file: the shapes as written (`file.rs`, `cluster_file.rs`), the
//! validated model (`model.rs`), the validation (`validate.rs`) and the error
//! (`error.rs`).

mod cluster_file;
mod error;
mod file;
mod model;
mod validate;

pub use cluster_file::{ClusterConfig, EksCluster, TokenSource};
pub use error::ConfigError;
pub use model::{
    Adjust, Config, Escalation, Policy, Target, DEFAULT_ALERT_EXPIRY, DEFAULT_CONFLICT_RETRIES,
    DEFAULT_COOLDOWN, DEFAULT_MAX_CHANGES_PER_HOUR,
};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::values::{Field, Kind};

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
                Err(ConfigError::Invalid(e)) => assert_eq!(&e.at, field, "{to}: {e}"),
                other => panic!("{to}: expected an error at {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_and_shapes_are_yaml_errors_with_a_line() {
        let typo = GOOD.replace("cooldown: 15m", "cooldwn: 15m");
        let Err(ConfigError::Yaml(e)) = Config::parse(&typo) else {
            panic!("a typo must be refused");
        };
        assert!(e.to_string().contains("unknown field `cooldwn`"), "{e}");
        let line = GOOD.lines().position(|l| l.contains("cooldown: 15m"));
        assert_eq!(e.location.map(|(l, _)| l), line.map(|l| l + 1), "{e}");
        assert!(matches!(
            Config::parse("policies: 3"),
            Err(ConfigError::Yaml(_))
        ));
    }

    #[test]
    fn a_matcher_that_does_not_parse_keeps_the_parser_error_as_source() {
        let text = GOOD.replace(
            "matchers: ['alertname=\"OrdersBacklog\"']",
            "matchers: ['alertname=~\"(\"']",
        );
        let Err(ConfigError::Invalid(e)) = Config::parse(&text) else {
            panic!("a broken matcher was accepted");
        };
        assert_eq!(e.at, "policies[0].triggers.matchers[0]");
        assert!(std::error::Error::source(&e).is_some(), "{e:?}");
    }

    #[test]
    fn two_policies_on_one_target_are_refused() {
        let text = GOOD.replace(
            "{cluster: lab, namespace: default, kind: Deployment, name: web}",
            "{cluster: prod, namespace: orders, kind: HorizontalPodAutoscaler, name: consumer}",
        );
        let text = text.replace("{replicas: {multiply: 2}}", "{max_replicas: {add: 1}}");
        match Config::parse(&text) {
            Err(ConfigError::Invalid(e)) => {
                assert_eq!(e.at, "policies[1].target");
                assert!(e.reason.contains("orders-backlog"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
}
