//! The handler's config: an Alertmanager config file as users already write it
//! (`global`, `route`, `receivers`, `inhibit_rules`, `time_intervals`, `templates`)
//! plus an `alarm_handler:` block for what only a Lambda needs (DynamoDB tables, the
//! external URL). Validated up front; every error names the field.
//!
//! One concept per file: the shapes as written (`file.rs`, `receiver_file.rs`), the
//! validated model (`model.rs`), the validation (`validate.rs`), the expansion of
//! `templates:` globs (`templates.rs`) and the error (`error.rs`).

mod error;
mod file;
mod model;
mod receiver_file;
mod templates;
mod validate;

pub use error::ConfigError;
pub use file::{ConfigFile, GlobalConfig, HandlerSettings, HttpConfig};
pub use model::Config;
pub use receiver_file::{
    PagerdutyConfig, ReceiverConfig, ScalerConfig, SlackConfig, SnsConfig, WebhookConfig,
};

/// Environment variable holding the config file path.
pub const CONFIG_FILE_ENV: &str = "ALARM_HANDLER_CONFIG_FILE";
/// Environment variable holding the config YAML itself.
pub const CONFIG_ENV: &str = "ALARM_HANDLER_CONFIG";
/// Environment variable naming the SSM parameter that holds the config YAML.
pub const CONFIG_SSM_PARAMETER_ENV: &str = "ALARM_HANDLER_CONFIG_SSM_PARAMETER";
/// The prefix of the three variables, for [`config_source::ConfigSource::from_env`]:
/// exactly one of them must be set.
pub const CONFIG_ENV_PREFIX: &str = "ALARM_HANDLER";

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(yaml: &str) -> String {
        match Config::parse(yaml, None) {
            Ok(_) => panic!("accepted:\n{yaml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_full_alertmanager_config_loads() {
        let config = Config::parse(
            r#"
global:
  resolve_timeout: 5m
  slack_api_url: env:SLACK_URL
route:
  receiver: default
  group_by: ['alertname', 'cluster']
  routes:
    - match: {team: db}
      receiver: db
    - match_re: {service: '^(foo1|foo2)$'}
      receiver: pager
      continue: true
      mute_time_intervals: [weekend]
receivers:
  - name: default
    sns_configs:
      - topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts
        subject: '{{ .CommonLabels.alertname }}'
        attributes: {team: '{{ .CommonLabels.team }}'}
  - name: db
    slack_configs: [{channel: '#db'}]
    webhook_configs: [{url: 'http://127.0.0.1:9/hook', max_alerts: 10}]
  - name: pager
    pagerduty_configs: [{routing_key: 'ssm:/alerts/pd-key'}]
    scaler_configs: [{topic_arn: 'arn:aws:sns:eu-west-1:123456789012:scaler'}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: ['saturday', 'sunday']}]
alarm_handler:
  idempotency_table: alarm-handler
  state_table: alarm-handler
"#,
            None,
        )
        .expect("valid");
        assert_eq!(config.file.receivers.len(), 3);
        assert_eq!(
            config.file.alarm_handler.idempotency_table.as_deref(),
            Some("alarm-handler")
        );
        assert!(config
            .receiver("pager")
            .is_some_and(|r| r.scaler_configs.len() == 1));
    }

    #[test]
    fn template_globs_match_files_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("t")).expect("mkdir");
        for (name, text) in [
            ("b.tmpl", "{{ define \"b\" }}B{{ end }}"),
            ("a.tmpl", "{{ define \"a\" }}A{{ end }}"),
            ("c.txt", ""),
        ] {
            std::fs::write(dir.path().join("t").join(name), text).expect("write");
        }
        let config = Config::parse(
            "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['t/*.tmpl']\n",
            Some(dir.path()),
        )
        .expect("valid");
        let names: Vec<String> = config
            .template_sources
            .iter()
            .map(|(p, _)| p.rsplit('/').next().unwrap_or("").to_string())
            .collect();
        assert_eq!(names, vec!["a.tmpl", "b.tmpl"]);
    }

    #[test]
    fn errors_name_the_field() {
        let base = "route: {receiver: a}\nreceivers: [{name: a}]\n";
        assert!(Config::parse(base, None).is_ok());
        assert!(error_of("route: {receiver: b}\nreceivers: [{name: a}]\n")
            .contains("undefined receiver \"b\""));
        assert!(error_of("route: {}\nreceivers: [{name: a}]\n").contains("default receiver"));
        assert!(
            error_of("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n")
                .contains("receivers[1] (a): receiver name is not unique")
        );
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: x}]}]\n"
        )
        .contains("unknown field `email_configs`"));
        assert!(error_of(
            "route: {receiver: a, routes: [{receiver: a, mute_time_intervals: [nope]}]}\nreceivers: [{name: a}]\n"
        )
        .contains("undefined time interval \"nope\""));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, sns_configs: [{topic_arn: nope}]}]\n"
        )
        .contains("receivers[0] (a).sns_configs[0].topic_arn: not a topic ARN"));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{channel: x}]}]\n"
        )
        .contains("no api_url here nor global.slack_api_url"));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, pagerduty_configs: [{service_key: x}]}]\n"
        )
        .contains("Events API v1"));
        assert!(error_of("route: {receiver: a}\nreceivers: [{name: a}]\ninhibit_rules: [{source_matchers: ['a=~\"(\"']}]\n")
            .starts_with("config: inhibit_rules"));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a}]\ntemplates: [/nonexistent/x.tmpl]\n"
        )
        .contains("templates[0]: cannot read /nonexistent/x.tmpl"));
        assert!(error_of("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url_file: /nonexistent/u}]}]\n")
            .contains("webhook_configs[0].url_file: cannot read"));
        assert!(error_of(
            "route: {receiver: a}\nreceivers: [{name: a, scaler_configs: [{send_resolved: false}]}]\n"
        )
        .contains("scaler_configs[0].topic_arn: must be provided"));
        assert!(
            error_of("route: {receiver: a}\nreceivers: [{sns_configs: []}]\n")
                .contains("receivers[0].name: missing name")
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_keeps_the_io_error_as_source() {
        let Err(ConfigError::Invalid(e)) = Config::parse(
            "route: {receiver: a}\nreceivers: [{name: a}]\ntemplates: [/nonexistent/x.tmpl]\n",
            None,
        ) else {
            panic!("a missing template file was accepted");
        };
        assert_eq!(e.at, "templates[0]");
        let source = std::error::Error::source(&e);
        assert!(
            source.is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()),
            "{e:?}"
        );
    }

    #[test]
    fn a_typo_names_the_unknown_field_and_its_line() {
        let text = "route: {receiver: a}\nreceivers:\n  - name: a\n    webhook_config: []\n";
        let Err(ConfigError::Yaml(e)) = Config::parse(text, None) else {
            panic!("a typo was accepted");
        };
        assert!(
            e.to_string().contains("unknown field `webhook_config`"),
            "{e}"
        );
        assert_eq!(e.location.map(|(line, _)| line), Some(4), "{e}");
    }

    #[test]
    fn defaults_are_alertmanagers() {
        let config = Config::parse(
            "route: {receiver: a}\nreceivers: [{name: a, \
             sns_configs: [{topic_arn: 'arn:aws:sns:eu-west-1:123456789012:a'}], \
             webhook_configs: [{url: 'http://127.0.0.1:9/'}], \
             slack_configs: [{api_url: 'http://127.0.0.1:9/'}], \
             pagerduty_configs: [{routing_key: k}], \
             scaler_configs: [{topic_arn: 'arn:aws:sns:eu-west-1:123456789012:s'}]}]\n",
            None,
        )
        .expect("valid");
        let r = config.receiver("a").expect("receiver a");
        assert!(r.sns_configs[0].send_resolved);
        assert!(r.webhook_configs[0].send_resolved);
        assert_eq!(r.webhook_configs[0].max_alerts, 0);
        assert!(!r.slack_configs[0].send_resolved);
        assert!(r.pagerduty_configs[0].send_resolved);
        assert!(r.scaler_configs[0].send_resolved);
    }
}
