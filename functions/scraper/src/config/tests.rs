use std::error::Error;

use config_error::FieldError;
use prom::relabel::RelabelConfigError;

use super::*;

const FULL: &str = r#"
global:
  scrape_interval: 15s
  scrape_timeout: 5s
  external_labels: {cluster: prod}
scrape_configs:
  - job_name: node
    scrape_interval: 30s
    metrics_path: /metrics
    scheme: https
    params:
      collect[]: [cpu]
    honor_labels: true
    honor_timestamps: false
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true}
    static_configs:
      - targets: ['10.0.0.1:9100']
        labels: {env: prod}
    relabel_configs:
      - source_labels: [__address__]
        target_label: host
    metric_relabel_configs:
      - action: labeldrop
        regex: junk
    sample_limit: 1000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
remote_write:
  - url: https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-1/api/v1/remote_write
    sigv4: {region: us-west-2, role_arn: 'arn:aws:iam::123456789012:role/writer'}
    headers: {X-Scope: a}
    queue_config:
      max_samples_per_send: 500
      min_backoff: 50ms
      max_backoff: 2s
      retry_on_http_429: false
      capacity: 10000
    write_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
"#;

#[test]
fn accepts_prometheus_config_and_warns_once_about_ignored_fields() {
    let loaded = Config::from_yaml(FULL).expect("valid");
    let c = &loaded.config;
    assert_eq!(c.global.scrape_timeout, PromDuration::from_secs(5));
    assert_eq!(
        c.global.external_labels.get("cluster").map(String::as_str),
        Some("prod")
    );
    let job = &c.scrape_configs[0];
    assert_eq!(job.scheme, "https");
    assert!(job.honor_labels);
    assert!(!job.honor_timestamps);
    assert_eq!(job.sample_limit, Some(1000));
    assert_eq!(job.params.get("collect[]"), Some(&vec!["cpu".to_string()]));
    let rw = &c.remote_write[0];
    assert_eq!(rw.queue_config.max_samples_per_send, 500);
    assert_eq!(rw.queue_config.min_backoff, PromDuration::from_millis(50));
    assert!(!rw.queue_config.retry_on_http_429);
    assert_eq!(rw.series_limits, SeriesLimits::default());
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let w = &loaded.warnings[0];
    for field in [
        "global.scrape_interval",
        "scrape_configs[0].scrape_interval",
        "remote_write[0].queue_config.capacity",
    ] {
        assert!(w.contains(field), "{w}");
    }
}

#[test]
fn defaults_match_prometheus() {
    let c = Config::from_yaml(
        "scrape_configs: [{job_name: a, static_configs: [{targets: ['h:1']}]}]\nremote_write: [{url: 'http://r/api/v1/write'}]",
    )
    .expect("valid")
    .config;
    let job = &c.scrape_configs[0];
    assert_eq!(job.metrics_path, "/metrics");
    assert_eq!(job.scheme, "http");
    assert!(job.honor_timestamps);
    assert!(!job.honor_labels);
    assert_eq!(c.global.scrape_timeout, PromDuration::from_secs(10));
    let q = &c.remote_write[0].queue_config;
    assert_eq!(q.max_samples_per_send, 2000);
    assert!(q.retry_on_http_429);
    assert_eq!(
        c.remote_write[0].remote_timeout,
        PromDuration::from_secs(30)
    );
}

fn error_of(yaml: &str) -> String {
    match Config::from_yaml(yaml) {
        Ok(_) => panic!("config should be rejected: {yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_the_field_and_reason() {
    let cases = [
        ("scrape_configs: [{job_name: a, scrape_timout: 5s}]", "scrape_timout"),
        ("scrape_configs: [{job_name: a}, {job_name: a}]", "multiple scrape configs"),
        ("scrape_configs: [{job_name: a, scheme: ftp}]", "scheme"),
        (
            "scrape_configs: [{job_name: a, static_configs: [{targets: ['http://h:1']}]}]",
            "without a scheme",
        ),
        (
            "scrape_configs: [{job_name: a, bearer_token: x, basic_auth: {username: u}}]",
            "at most one of basic_auth",
        ),
        (
            "scrape_configs: [{job_name: a, relabel_configs: [{action: hashmod, target_label: x}]}]",
            "relabel_configs",
        ),
        ("scrape_configs: [{job_name: a, scrape_timeout: 10}]", "no unit"),
        ("remote_write: [{url: 'not a url'}]", "remote_write[0].url"),
        ("remote_write: [{url: 'http://r', headers: {Authorization: x}}]", "reserved header"),
        (
            "remote_write: [{url: 'http://r', queue_config: {max_samples_per_send: 0}}]",
            "max_samples_per_send",
        ),
        ("remote_write: [{url: 'http://r', sigv4: {access_key: a}}]", "access_key and secret_key"),
        ("global: {external_labels: {'bad-name': x}}", "external_labels"),
        ("scrape_configs: [{job_name: a, consul_sd_configs: []}]", "consul_sd_configs"),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{api_server: 'https://k'}]}]",
            "kubernetes_sd_configs[0].role: missing",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pods, api_server: 'https://k'}]}]",
            "unknown variant",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod}]}]",
            "api_server or eks is required",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, kubeconfig_file: /k}]}]",
            "has no kubeconfig",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, api_server: 'https://k', namespaces: {own_namespace: true}}]}]",
            "runs in no namespace",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, eks: {name: c, region: us-east-1}, bearer_token: t}]}]",
            "go with api_server",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, api_server: 'https://k', selectors: [{role: service, label: a=b}]}]}]",
            "service is not allowed for role pod",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: endpoints, api_server: 'https://k', selectors: [{role: pod}, {role: pod}]}]}]",
            "duplicated selector role: pod",
        ),
        (
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: node, api_server: 'https://k', unknown: 1}]}]",
            "unknown field",
        ),
    ];
    for (yaml, expected) in cases {
        let err = error_of(yaml);
        assert!(
            err.contains(expected),
            "{yaml}\n  -> {err}\n  expected to mention {expected:?}"
        );
    }
}

/// The field refusal of a config that parses but is invalid.
fn field_error_of(yaml: &str) -> FieldError {
    match Config::from_yaml(yaml) {
        Err(ConfigError::Invalid(e)) => e,
        Err(other) => panic!("not a field error: {other}"),
        Ok(_) => panic!("config should be rejected: {yaml}"),
    }
}

#[test]
fn field_errors_carry_the_field_path() {
    let cases = [
        ("scrape_configs: [{job_name: a}, {job_name: a}]", "scrape_configs[1].job_name"),
        ("scrape_configs: [{static_configs: []}]", "scrape_configs[0].job_name"),
        ("scrape_configs: [{job_name: a, scheme: ftp}]", "scrape_configs[0].scheme"),
        (
            "scrape_configs: [{job_name: a, static_configs: [{targets: ['h:1', 'http://h:1']}]}]",
            "scrape_configs[0].static_configs[0].targets[1]",
        ),
        (
            "scrape_configs: [{job_name: a, relabel_configs: [{action: hashmod, target_label: x}]}]",
            "scrape_configs[0].relabel_configs[0]",
        ),
        ("remote_write: [{url: 'not a url'}]", "remote_write[0].url"),
        ("remote_write: [{name: x}]", "remote_write[0].url"),
        (
            "remote_write: [{url: 'http://r', headers: {Authorization: x}}]",
            "remote_write[0].headers.Authorization",
        ),
        (
            "remote_write: [{url: 'http://r', tls_config: {min_version: TLS10}}]",
            "remote_write[0].tls_config.min_version",
        ),
        ("scraper: {max_concurrent_scrapes: 0}", "scraper.max_concurrent_scrapes"),
    ];
    for (yaml, at) in cases {
        let e = field_error_of(yaml);
        assert_eq!(e.at, at, "{yaml}\n  -> {e}");
    }
}

#[test]
fn a_yaml_typo_names_the_field_with_line_and_column() {
    let yaml = "scrape_configs:\n  - job_name: a\n    metrics_pth: /m\n";
    let Err(ConfigError::Yaml(e)) = Config::from_yaml(yaml) else {
        panic!("a misspelt field was accepted")
    };
    assert!(e.to_string().contains("unknown field `metrics_pth`"), "{e}");
    assert_eq!(e.location, Some((3, 5)), "{e}");
}

#[test]
fn a_bad_relabel_regex_names_the_field_and_keeps_the_cause() {
    let e = field_error_of(
        "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: host\n      - regex: '(unclosed'\n        action: drop\n",
    );
    assert_eq!(e.at, "scrape_configs[0].relabel_configs[1].regex");
    let source = e.source().expect("the relabel error is kept as the source");
    assert!(
        matches!(
            source.downcast_ref::<RelabelConfigError>(),
            Some(RelabelConfigError::Regex { regex, .. }) if regex == "(unclosed"
        ),
        "{source:?}"
    );
    assert!(
        !e.reason.contains("unclosed"),
        "the cause is not copied: {e}"
    );
}

#[test]
fn cloudwatch_errors_are_under_cloudwatch() {
    let e = field_error_of(
        "cloudwatch:\n  static:\n    - name: s\n      namespace: AWS/EC2\n      metrics: [{name: C, statistics: [Sum]}]\n",
    );
    assert_eq!(e.at, "cloudwatch.static[0].regions");
    assert_eq!(
        e.to_string(),
        "cloudwatch.static[0].regions: should not be empty"
    );
    let empty = field_error_of("cloudwatch: {}");
    assert_eq!(empty.at, "cloudwatch");
}

#[test]
fn aws_discovery_entries_parse_with_prometheus_defaults() {
    let loaded = Config::from_yaml(
        r#"
scrape_configs:
  - job_name: nodes
    ec2_sd_configs:
      - region: eu-west-1
        refresh_interval: 30s
        filters: [{name: 'tag:env', values: [prod]}]
      - region: eu-west-1
        port: 9100
  - job_name: tasks
    aws_sd_configs:
      - role: ecs
        region: eu-west-1
        clusters: [prod]
        container_targets: {}
      - role: ec2
        region: eu-west-1
        role_arn: arn:aws:iam::123456789012:role/reader
        external_id: ext
remote_write: [{url: 'http://localhost:9090/api/v1/write'}]
"#,
    )
    .expect("valid");
    let jobs = &loaded.config.scrape_configs;
    assert_eq!(jobs[0].ec2_sd_configs[0].port, 80, "Prometheus' default");
    assert_eq!(jobs[0].ec2_sd_configs[1].port, 9100);
    assert_eq!(jobs[0].ec2_sd_configs[0].filters[0].values, ["prod"]);
    let ecs = &jobs[1].aws_sd_configs[0];
    assert_eq!(ecs.role(), Some(AwsRole::Ecs));
    assert_eq!(
        ecs.container_targets
            .as_ref()
            .map(|c| c.port_label.as_str()),
        Some("PROMETHEUS_EXPORTER_PORT")
    );
    assert_eq!(jobs[1].aws_sd_configs[1].role(), Some(AwsRole::Ec2));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("scrape_configs[0].ec2_sd_configs[0].refresh_interval")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn aws_discovery_errors_name_the_field() {
    let job = |sd: &str| {
        format!(
            "scrape_configs:\n  - job_name: j\n    {sd}\nremote_write: [{{url: 'http://localhost:9090/api/v1/write'}}]\n"
        )
    };
    let cases = [
        (
            "ec2_sd_configs: [{filters: [{name: 'tag:env', values: []}]}]",
            "scrape_configs[0].ec2_sd_configs[0].filters[0].values: filter values cannot be empty",
        ),
        (
            "ec2_sd_configs: [{profile: dev}]",
            "scrape_configs[0].ec2_sd_configs[0].profile: not supported",
        ),
        (
            "ec2_sd_configs: [{access_key: AKID}]",
            "scrape_configs[0].ec2_sd_configs[0].secret_key: missing",
        ),
        (
            "ec2_sd_configs: [{external_id: x}]",
            "scrape_configs[0].ec2_sd_configs[0].external_id: needs role_arn",
        ),
        (
            "aws_sd_configs: [{role: lightsail}]",
            "scrape_configs[0].aws_sd_configs[0].role: \"lightsail\" is a Prometheus role the scraper does not serve",
        ),
        (
            "aws_sd_configs: [{role: dynamo}]",
            "scrape_configs[0].aws_sd_configs[0].role: unknown AWS SD role \"dynamo\"",
        ),
        (
            "aws_sd_configs: [{region: x}]",
            "scrape_configs[0].aws_sd_configs[0].role: missing",
        ),
        (
            "aws_sd_configs: [{role: ec2, clusters: [prod]}]",
            "scrape_configs[0].aws_sd_configs[0].clusters: only for role ecs",
        ),
        (
            "aws_sd_configs: [{role: ecs, filters: [{name: a, values: [b]}]}]",
            "scrape_configs[0].aws_sd_configs[0].filters: only for role ec2",
        ),
        (
            "aws_sd_configs: [{role: ecs, endpoint: 'not a url'}]",
            "scrape_configs[0].aws_sd_configs[0].endpoint: \"not a url\" is not a URL",
        ),
        (
            "aws_sd_configs: [{role: ecs, container_targets: {port_label: ''}}]",
            "scrape_configs[0].aws_sd_configs[0].container_targets.port_label: empty",
        ),
    ];
    for (sd, want) in cases {
        let got = error_of(&job(sd));
        assert!(got.contains(want), "{sd}\n got: {got}\nwant: {want}");
    }
}

#[test]
fn the_run_s_own_series_can_be_turned_off_or_labelled() {
    let base = "scrape_configs: [{job_name: a, static_configs: [{targets: ['h:1']}]}]\nremote_write: [{url: 'http://r/api/v1/write'}]\n";
    let defaults = Config::from_yaml(base).expect("valid").config;
    assert!(defaults.scraper.self_metrics.enabled);
    assert_eq!(defaults.scraper.self_metrics.job, None);
    let set = Config::from_yaml(&format!(
        "{base}scraper: {{self_metrics: {{enabled: false, job: pipeline, instance: eu-scraper}}}}\n"
    ))
    .expect("valid")
    .config;
    assert!(!set.scraper.self_metrics.enabled);
    assert_eq!(set.scraper.self_metrics.job.as_deref(), Some("pipeline"));
    assert_eq!(
        set.scraper.self_metrics.instance.as_deref(),
        Some("eu-scraper")
    );
    let error = error_of(&format!("{base}scraper: {{self_metrics: {{job: ''}}}}\n"));
    assert!(error.contains("scraper.self_metrics.job"), "{error}");
    let error = error_of(&format!(
        "{base}scraper: {{self_metrics: {{enable: false}}}}\n"
    ));
    assert!(error.contains("enable"), "{error}");
}
