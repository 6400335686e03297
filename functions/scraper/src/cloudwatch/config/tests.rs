use std::error::Error;

use config_error::FieldError;

use super::*;

fn resolve(t: &str) -> Option<(String, bool)> {
    match t {
        "AWS/ECS" | "ECS/ContainerInsights" | "AWS/SQS" | "AWS/EC2" => Some((t.to_string(), false)),
        "ecs-containerinsights" => Some(("ECS/ContainerInsights".into(), true)),
        "sqs" => Some(("AWS/SQS".into(), true)),
        _ => None,
    }
}

/// Parses and validates; YAML errors are returned as refusals of the whole block so
/// the cases below can compare texts.
fn load(yaml: &str) -> Result<YaceConfig, FieldError> {
    let file: YaceConfigFile =
        config_error::from_yaml_str(yaml).map_err(|e| FieldError::new("", e.to_string()))?;
    YaceConfig::from_file(&file, &resolve)
}

#[test]
fn a_yace_config_as_written() {
    let config = load(
        r#"
apiVersion: v1alpha1
sts-region: eu-west-1
discovery:
  exportedTagsOnMetrics:
    ECS/ContainerInsights: [team]
  jobs:
    - type: ECS/ContainerInsights
      regions: [eu-west-1, us-east-1]
      roles: [{roleArn: 'arn:aws:iam::123456789012:role/yace', externalId: x}]
      searchTags: [{key: env, value: 'prod|staging'}]
      customTags: [{key: cluster_kind, value: fargate}]
      dimensionNameRequirements: [ServiceName, ClusterName]
      recentlyActiveOnly: true
      statistics: [Average]
      period: 60
      length: 120
      delay: 60
      nilToZero: true
      metrics:
        - name: CpuUtilized
        - name: MemoryUtilized
          statistics: [Average, p99, p99.9]
          period: 300
          length: 600
          addCloudwatchTimestamp: true
          exportAllDataPoints: true
static:
  - name: asg
    namespace: AWS/AutoScaling
    regions: [eu-west-1]
    dimensions: [{name: AutoScalingGroupName, value: web}]
    metrics: [{name: GroupInServiceInstances, statistics: [Minimum]}]
customNamespace:
  - name: app
    namespace: MyApp
    regions: [eu-west-1]
    statistics: [Sum]
    metrics: [{name: Orders}]
"#,
    )
    .expect("valid");
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert_eq!(config.sts_region.as_deref(), Some("eu-west-1"));
    assert_eq!(config.jobs.len(), 3);
    let ecs = &config.jobs[0];
    assert_eq!(ecs.namespace, "ECS/ContainerInsights");
    assert_eq!(ecs.regions, vec!["eu-west-1", "us-east-1"]);
    assert_eq!(ecs.roles[0].external_id.as_deref(), Some("x"));
    let cpu = &ecs.metrics[0];
    assert_eq!(
        (cpu.period, cpu.length, cpu.delay, cpu.nil_to_zero),
        (60, 120, 60, true)
    );
    assert_eq!(cpu.statistics, vec![Statistic("Average".into())]);
    let memory = &ecs.metrics[1];
    assert_eq!((memory.period, memory.length, memory.delay), (300, 600, 60));
    assert_eq!(
        memory
            .statistics
            .iter()
            .map(Statistic::as_str)
            .collect::<Vec<_>>(),
        vec!["Average", "p99", "p99.9"]
    );
    assert!(memory.add_cloudwatch_timestamp && memory.export_all_data_points);
    match &ecs.kind {
        JobKind::Discovery {
            search_tags,
            exported_tags,
            ..
        } => {
            assert!(search_tags[0].value.is_match("staging"));
            // Unanchored, as YACE's tag filter: `prod|staging` also selects `prod-eu`.
            assert!(search_tags[0].value.is_match("prod-eu"));
            assert!(!search_tags[0].value.is_match("dev"));
            assert_eq!(exported_tags, &vec!["team".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    // Defaults: no job settings for static jobs; role = own credentials.
    let asg = &config.jobs[1];
    assert_eq!(
        (
            asg.metrics[0].period,
            asg.metrics[0].length,
            asg.metrics[0].delay
        ),
        (300, 300, 0)
    );
    assert_eq!(
        asg.roles,
        vec![Role {
            role_arn: None,
            external_id: None
        }]
    );
    assert_eq!(config.jobs[2].metrics[0].statistics[0].as_str(), "Sum");
}

#[test]
fn the_older_form_is_accepted_with_warnings() {
    let config = load(
            "discovery:\n  jobs:\n    - type: sqs\n      region: us-east-1\n      awsDimensions: [QueueName]\n      enableMetricData: true\n      metrics: [{name: NumberOfMessagesSent, statistics: [Sum]}]\n",
        )
        .expect("valid");
    let job = &config.jobs[0];
    assert_eq!(job.namespace, "AWS/SQS");
    assert_eq!(job.regions, vec!["us-east-1"]);
    assert_eq!(job.dimension_name_requirements, vec!["QueueName"]);
    assert_eq!(config.warnings.len(), 4, "{:?}", config.warnings);
    assert!(config
        .warnings
        .iter()
        .any(|w| w.contains("`awsDimensions` is deprecated")));
}

#[test]
fn errors_name_the_job_and_field() {
    let job = |body: &str| {
        format!("discovery:\n  jobs:\n    - type: AWS/EC2\n      regions: [us-east-1]\n{body}")
    };
    let metric = |fields: &str| {
        job(&format!(
            "      metrics: [{{name: C, statistics: [Sum]{fields}}}]\n"
        ))
    };
    let cases: Vec<(String, &str)> = vec![
            ("apiVersion: v2\nstatic: []\n".into(), "apiVersion: unknown apiVersion"),
            ("{}".into(), "at least 1 discovery job"),
            (
                "discovery:\n  jobs:\n    - type: AWS/Nope\n      regions: [x]\n      metrics: [{name: a, statistics: [Sum]}]\n".into(),
                "discovery.jobs[0].type: service is not in the known list: AWS/Nope",
            ),
            (
                job("      metrics: [{name: CPUUtilization}]\n"),
                "discovery.jobs[0].metrics[0].statistics: should not be empty",
            ),
            (job("      metrics: [{name: C, statistics: [Median]}]\n"), "discovery.jobs[0].metrics[0].statistics: unknown statistic \"Median\""),
            (metric(", period: 300, length: 60"), "length(60) is smaller than period(300)"),
            (metric(", period: 45, length: 60"), "period 45 must be"),
            (metric(", exportAllDataPoints: true"), "addCloudwatchTimestamp"),
            (metric(", bogus: 1"), "unknown field `bogus`"),
            (
                job("      searchTags: [{key: env, value: '('}]\n      metrics: [{name: C, statistics: [Sum]}]\n"),
                "discovery.jobs[0].searchTags[0].value: invalid regex",
            ),
            (
                job("      roles: [{externalId: x}]\n      metrics: [{name: C, statistics: [Sum]}]\n"),
                "discovery.jobs[0].roles[0]: roleArn should not be empty",
            ),
            (
                "discovery:\n  exportedTagsOnMetrics: {AWS/SQS: [a]}\n  jobs:\n    - type: AWS/EC2\n      regions: [x]\n      metrics: [{name: C, statistics: [Sum]}]\n".into(),
                "discovery.exportedTagsOnMetrics.AWS/SQS: does not match any discovery job type",
            ),
            ("static:\n  - name: s\n    metrics: []\n".into(), "static[0].namespace: should not be empty"),
        ];
    for (yaml, want) in cases {
        let got = load(&yaml).expect_err(&yaml).to_string();
        assert!(got.contains(want), "{yaml}\ngot: {got}\nwant: {want}");
    }
}

#[test]
fn statistics_parse_like_cloudwatch() {
    for good in [
        "Average",
        "Sum",
        "Minimum",
        "Maximum",
        "SampleCount",
        "IQM",
        "p50",
        "p99.9",
        "tm90",
        "wm99",
        "tc10",
        "ts95",
        "p100",
    ] {
        assert!(Statistic::parse(good).is_some(), "{good}");
    }
    for bad in ["average", "p", "p101", "p9x", "tm", "Median", "p-1", ""] {
        assert!(Statistic::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn a_bad_search_tag_regex_keeps_the_regex_error_as_source() {
    let e = load(
        "discovery:\n  jobs:\n    - type: AWS/EC2\n      regions: [x]\n      searchTags: [{key: env, value: '('}]\n      metrics: [{name: C, statistics: [Sum]}]\n",
    )
    .expect_err("an unclosed group compiled");
    assert_eq!(e.at, "discovery.jobs[0].searchTags[0].value");
    let source = e.source().expect("the regex error is kept");
    assert!(source.downcast_ref::<regex::Error>().is_some(), "{source}");
}

#[test]
fn yace_feature_flags_are_read_from_enable_feature() {
    let job = "discovery:\n  jobs:\n    - type: sqs\n      regions: [us-east-1]\n      metrics: [{name: NumberOfMessagesSent, statistics: [Sum]}]\n";
    assert!(!load(job).expect("valid").always_return_info_metrics);
    // As on YACE's command line: comma-separated, or one entry each.
    let config = load(&format!(
        "enable-feature: ['always-return-info-metrics,some-future-flag']\n{job}"
    ))
    .expect("valid");
    assert!(config.always_return_info_metrics);
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.contains("\"some-future-flag\" is not a feature")),
        "{:?}",
        config.warnings
    );
}
