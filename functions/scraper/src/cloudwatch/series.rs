//! From fetched datapoints to the series YACE would expose, with the timestamps a
//! stateless sender needs: `aws_<ns>_<metric>_<stat>{name, dimension_*, tag_*,
//! custom_tag_*, region, account_id}` plus `aws_<ns>_info{name, tag_*} 0` per
//! discovered resource. Only datapoints the run's window owns are written, each with
//! its CloudWatch timestamp (so consecutive runs never write one twice): the latest
//! one, or all of them with `exportAllDataPoints`. With `nilToZero` a metric with no
//! owned datapoint gets a 0 at the start of the window's last period.

use super::associate::{MetricId, Resource};
use super::config::{MetricSpec, Statistic};
use super::naming::{custom_tag_label, dimension_label, metric_name, tag_label};
use super::window::Window;

/// A series ready for remote write (labels unsorted; `__name__` separate).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudWatchSeries {
    /// The metric name (YACE's `aws_<namespace>_<metric>_<statistic>`).
    pub name: String,
    /// Labels besides `__name__`.
    pub labels: Vec<(String, String)>,
    /// `(timestamp ms, value)`, ascending.
    pub samples: Vec<(i64, f64)>,
}

/// Where a metric's labels come from besides itself.
#[derive(Debug, Clone, Copy)]
pub struct SeriesContext<'a> {
    /// The CloudWatch namespace.
    pub namespace: &'a str,
    /// The region queried.
    pub region: &'a str,
    /// The account the credentials belong to (`account_id` label).
    pub account_id: &'a str,
    /// The associated resource; `None` for `name="global"` (or a static job's name).
    pub resource: Option<&'a Resource>,
    /// `name` of a static job's series (YACE uses the job name).
    pub static_name: Option<&'a str>,
    /// `exportedTagsOnMetrics` keys for this namespace.
    pub exported_tags: &'a [String],
    /// The job's `customTags`, added as labels.
    pub custom_tags: &'a [(String, String)],
}

/// The labels YACE's scrape context gives every series of a job (and, with
/// `includeContextOnInfoMetrics`, its info series): `custom_tag_*`, `region`,
/// `account_id`. `dropped` counts keys whose label name is invalid.
fn context_labels(
    region: &str,
    account_id: &str,
    custom_tags: &[(String, String)],
    dropped: &mut usize,
) -> Vec<(String, String)> {
    let mut labels = Vec::with_capacity(custom_tags.len() + 2);
    for (key, value) in custom_tags {
        push_named(&mut labels, custom_tag_label(key, false), value, dropped);
    }
    labels.push(("region".to_string(), region.to_string()));
    labels.push(("account_id".to_string(), account_id.to_string()));
    labels
}

/// Adds `name = value` when the name is valid; counts it in `dropped` when not.
fn push_named(
    labels: &mut Vec<(String, String)>,
    name: Option<String>,
    value: &str,
    dropped: &mut usize,
) {
    match name {
        Some(name) => labels.push((name, value.to_string())),
        None => *dropped += 1,
    }
}

fn common_labels(context: &SeriesContext<'_>, dropped: &mut usize) -> Vec<(String, String)> {
    let mut labels = vec![(
        "name".to_string(),
        match (context.resource, context.static_name) {
            (Some(r), _) => r.arn.clone(),
            (None, Some(name)) => name.to_string(),
            (None, None) => "global".to_string(),
        },
    )];
    for key in context.exported_tags {
        let value = context
            .resource
            .and_then(|r| r.tags.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        push_named(&mut labels, tag_label(key, false), value, dropped);
    }
    labels.extend(context_labels(
        context.region,
        context.account_id,
        context.custom_tags,
        dropped,
    ));
    labels
}

/// The series of one metric x statistic from its datapoints (`(epoch seconds,
/// value)`, any order); `None` when nothing is to be written. Labels whose name is
/// invalid after YACE's cleaning are left out and counted in `dropped`.
pub fn metric_series(
    context: &SeriesContext<'_>,
    metric: &MetricId,
    spec: &MetricSpec,
    statistic: &Statistic,
    datapoints: &[(i64, f64)],
    window: &Window,
    dropped: &mut usize,
) -> Option<CloudWatchSeries> {
    let mut owned: Vec<(i64, f64)> = datapoints
        .iter()
        .copied()
        .filter(|(t, v)| window.owns(*t) && v.is_finite())
        .collect();
    owned.sort_by_key(|(t, _)| *t);
    owned.dedup_by_key(|(t, _)| *t);
    if !spec.export_all_data_points {
        owned = owned.last().copied().into_iter().collect();
    }
    if owned.is_empty() {
        if !spec.nil_to_zero {
            return None;
        }
        let period = i64::try_from(spec.period).ok()?;
        owned.push((window.own_end - period, 0.0));
    }
    let mut labels = common_labels(context, dropped);
    for (dimension, value) in &metric.dimensions {
        push_named(
            &mut labels,
            dimension_label(dimension, false),
            value,
            dropped,
        );
    }
    Some(CloudWatchSeries {
        name: metric_name(context.namespace, &metric.name, statistic.as_str()),
        labels,
        samples: owned.into_iter().map(|(t, v)| (t * 1000, v)).collect(),
    })
}

/// What `includeContextOnInfoMetrics` adds to info series: the job's scrape context.
#[derive(Debug, Clone, Copy)]
pub struct InfoContext<'a> {
    /// The region queried.
    pub region: &'a str,
    /// The account the credentials belong to.
    pub account_id: &'a str,
    /// The job's `customTags`.
    pub custom_tags: &'a [(String, String)],
}

/// `aws_<ns>_info{name, tag_<Key>...} 0` for a discovered resource, at
/// `timestamp_ms`, with every tag of the resource; with `context`
/// (`includeContextOnInfoMetrics`) also `custom_tag_*`, `region` and `account_id`, as
/// YACE's `contextToLabels`. Invalid label names are left out and counted in `dropped`.
pub fn info_series(
    namespace: &str,
    resource: &Resource,
    timestamp_ms: i64,
    context: Option<InfoContext<'_>>,
    dropped: &mut usize,
) -> CloudWatchSeries {
    let mut labels = vec![("name".to_string(), resource.arn.clone())];
    for (key, value) in &resource.tags {
        push_named(&mut labels, tag_label(key, false), value, dropped);
    }
    if let Some(context) = context {
        labels.extend(context_labels(
            context.region,
            context.account_id,
            context.custom_tags,
            dropped,
        ));
    }
    CloudWatchSeries {
        name: metric_name(namespace, "info", ""),
        labels,
        samples: vec![(timestamp_ms, 0.0)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(export_all: bool, nil_to_zero: bool) -> MetricSpec {
        MetricSpec {
            name: "CpuUtilized".into(),
            statistics: vec![],
            period: 60,
            length: 120,
            delay: 0,
            nil_to_zero,
            add_cloudwatch_timestamp: export_all,
            export_all_data_points: export_all,
        }
    }

    fn stat() -> Statistic {
        Statistic::parse("Average").expect("valid")
    }

    #[test]
    fn yace_names_and_labels_with_owned_datapoints_only() {
        let resource = Resource {
            arn: "arn:aws:ecs:eu-west-1:1:service/prod/checkout".into(),
            tags: vec![
                ("team".into(), "shop".into()),
                ("env".into(), "prod".into()),
            ],
        };
        let exported = vec!["team".to_string(), "missing".to_string()];
        let custom = vec![("kind".to_string(), "fargate".to_string())];
        let mut dropped = 0;
        let context = SeriesContext {
            namespace: "ECS/ContainerInsights",
            region: "eu-west-1",
            account_id: "123456789012",
            resource: Some(&resource),
            static_name: None,
            exported_tags: &exported,
            custom_tags: &custom,
        };
        let metric = MetricId {
            name: "CpuUtilized".into(),
            dimensions: vec![
                ("ClusterName".into(), "prod".into()),
                ("ServiceName".into(), "checkout".into()),
            ],
        };
        let window = Window {
            own_start: 1_000_020,
            own_end: 1_000_140,
            query_start: 1_000_020,
        };
        // 1_000_140 belongs to the next run; 1_000_020 and 1_000_080 to this one.
        let points = [
            (1_000_140, 9.0),
            (1_000_020, 1.0),
            (1_000_080, 2.0),
            (999_960, 7.0),
        ];
        let latest = metric_series(
            &context,
            &metric,
            &spec(false, false),
            &stat(),
            &points,
            &window,
            &mut dropped,
        )
        .expect("series");
        assert_eq!(
            latest.name,
            "aws_ecs_containerinsights_cpu_utilized_average"
        );
        assert_eq!(latest.samples, vec![(1_000_080_000, 2.0)]);
        let labels: Vec<(&str, &str)> = latest
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("name", "arn:aws:ecs:eu-west-1:1:service/prod/checkout"),
                ("tag_team", "shop"),
                ("tag_missing", ""),
                ("custom_tag_kind", "fargate"),
                ("region", "eu-west-1"),
                ("account_id", "123456789012"),
                ("dimension_ClusterName", "prod"),
                ("dimension_ServiceName", "checkout"),
            ]
        );
        let all = metric_series(
            &context,
            &metric,
            &spec(true, false),
            &stat(),
            &points,
            &window,
            &mut dropped,
        )
        .expect("series");
        assert_eq!(
            all.samples,
            vec![(1_000_020_000, 1.0), (1_000_080_000, 2.0)]
        );
        // Nothing owned: no series, or a 0 at the window's last period with nilToZero.
        assert_eq!(
            metric_series(
                &context,
                &metric,
                &spec(false, false),
                &stat(),
                &[(1_000_140, 1.0)],
                &window,
                &mut dropped,
            ),
            None
        );
        let zero = metric_series(
            &context,
            &metric,
            &spec(false, true),
            &stat(),
            &[],
            &window,
            &mut dropped,
        )
        .expect("zero");
        assert_eq!(zero.samples, vec![(1_000_080_000, 0.0)]);
        // A global metric.
        let global = SeriesContext {
            resource: None,
            ..context
        };
        let g = metric_series(
            &global,
            &metric,
            &spec(false, false),
            &stat(),
            &points,
            &window,
            &mut dropped,
        )
        .expect("series");
        assert_eq!(g.labels[0], ("name".to_string(), "global".to_string()));
        assert_eq!(g.labels[1], ("tag_team".to_string(), String::new()));
        assert_eq!(dropped, 0);
        // A dimension or custom tag whose name stays invalid is left out, as in YACE.
        let odd_custom = vec![("2nd".to_string(), "x".to_string())];
        let odd = SeriesContext {
            custom_tags: &odd_custom,
            ..context
        };
        let odd_metric = MetricId {
            name: "CpuUtilized".into(),
            dimensions: vec![("Größe".into(), "1".into())],
        };
        let series = metric_series(
            &odd,
            &odd_metric,
            &spec(false, false),
            &stat(),
            &points,
            &window,
            &mut dropped,
        )
        .expect("series");
        assert_eq!(dropped, 2);
        assert!(series
            .labels
            .iter()
            .all(|(k, _)| !k.starts_with("custom_tag_") && !k.starts_with("dimension_")));
    }

    #[test]
    fn info_series_carry_all_tags_and_the_context_only_when_asked() {
        let resource = Resource {
            arn: "arn:aws:sqs:eu-west-1:1:orders".into(),
            tags: vec![
                ("team".into(), "shop".into()),
                ("1st".into(), "dropped".into()),
            ],
        };
        let mut dropped = 0;
        let info = info_series("AWS/SQS", &resource, 5_000, None, &mut dropped);
        assert_eq!(info.name, "aws_sqs_info");
        assert_eq!(
            info.labels,
            vec![
                ("name".into(), resource.arn.clone()),
                ("tag_team".into(), "shop".into())
            ]
        );
        assert_eq!(info.samples, vec![(5_000, 0.0)]);
        assert_eq!(dropped, 1, "the tag `1st` is not a label name");
        // includeContextOnInfoMetrics: custom tags as well as region and account.
        let custom = vec![("platform".to_string(), "fargate".to_string())];
        let with_context = info_series(
            "AWS/SQS",
            &resource,
            5_000,
            Some(InfoContext {
                region: "eu-west-1",
                account_id: "123",
                custom_tags: &custom,
            }),
            &mut dropped,
        );
        let labels: Vec<(&str, &str)> = with_context
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            labels,
            vec![
                ("name", "arn:aws:sqs:eu-west-1:1:orders"),
                ("tag_team", "shop"),
                ("custom_tag_platform", "fargate"),
                ("region", "eu-west-1"),
                ("account_id", "123"),
            ]
        );
    }
}
