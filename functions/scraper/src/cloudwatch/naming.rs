//! YACE's series and label names, so dashboards and alert rules written against YACE
//! keep working: `aws_<namespace>_<metric>_<statistic>`, `dimension_<Name>`,
//! `tag_<Key>`, `custom_tag_<key>`.

/// Characters YACE turns into `_` (the list plus YACE's curly quote).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | ','
            | '\t'
            | '/'
            | '\\'
            | '.'
            | '-'
            | ':'
            | '='
            | '@'
            | '<'
            | '>'
            | '('
            | ')'
            | '"'
            | '`'
            | '\u{201C}'
    )
}

/// YACE's `PromString`: separators become `_`, `%` becomes `_percent`, an upper-case
/// letter after a lower-case letter or digit gets a `_` before it, and everything is
/// lower-cased (`CpuUtilized` -> `cpu_utilized`, `CPUUtilization` -> `cpuutilization`).
pub fn prom_string(text: &str) -> String {
    convert(text, true)
}

/// YACE's default label-name cleanup (case kept): separators become `_`, `%` becomes
/// `_percent`.
pub fn sanitize(text: &str) -> String {
    convert(text, false)
}

/// The shared character rules; `snake_case` adds the case splitting and lowering.
fn convert(text: &str, snake_case: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if is_separator(c) {
            out.push('_');
        } else if c == '%' {
            out.push_str("_percent");
        } else if snake_case {
            if c.is_uppercase() && prev.is_some_and(|p| p.is_lowercase() || p.is_numeric()) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// `aws_<namespace>_<metric>_<statistic>` as YACE builds it: the namespace lower-cased
/// without a leading `/`, `aws_` added only when it does not already start with `aws`,
/// and namespace words the metric name repeats at its start dropped
/// (`Glue` + `glue.driver.x` -> `aws_glue_driver_x`).
pub fn metric_name(namespace: &str, metric: &str, statistic: &str) -> String {
    let namespace = namespace.strip_prefix('/').unwrap_or(namespace);
    let prom_namespace = prom_string(&namespace.to_lowercase());
    let mut name = String::new();
    if !prom_namespace.starts_with("aws") {
        name.push_str("aws_");
    }
    name.push_str(&prom_namespace);
    name.push('_');
    let prom_metric = prom_string(metric);
    let mut skip = 0;
    for part in prom_namespace.split('_') {
        if prom_metric
            .get(skip..)
            .is_some_and(|rest| rest.starts_with(part))
        {
            skip = part.len();
        }
    }
    let rest = prom_metric.get(skip..).unwrap_or(&prom_metric);
    name.push_str(rest.strip_prefix('_').unwrap_or(rest));
    if !statistic.is_empty() {
        name.push('_');
        name.push_str(&prom_string(statistic));
    }
    name
}

/// Label for a CloudWatch dimension: `dimension_<Name>`, case kept unless
/// `labels_snake_case` (YACE's option of that name); `None` when the cleaned name is
/// not a valid label name (YACE drops such a label).
pub fn dimension_label(dimension: &str, labels_snake_case: bool) -> Option<String> {
    prefixed("dimension_", dimension, labels_snake_case)
}

/// Label for a resource tag: `tag_<Key>`; `None` when the cleaned key is not a valid
/// label name.
pub fn tag_label(key: &str, labels_snake_case: bool) -> Option<String> {
    prefixed("tag_", key, labels_snake_case)
}

/// Label for a job's `customTags` entry: `custom_tag_<key>`; `None` when the cleaned
/// key is not a valid label name.
pub fn custom_tag_label(key: &str, labels_snake_case: bool) -> Option<String> {
    prefixed("custom_tag_", key, labels_snake_case)
}

/// `prefix` + the cleaned `text`, if the cleaned text alone is a valid label name. YACE
/// (`PromStringTag`) checks the key before the prefix is added, so `1st` or `größe`
/// is dropped although `tag_1st` would be valid: a dashboard written against YACE
/// never sees such a label, so neither do we.
fn prefixed(prefix: &str, text: &str, labels_snake_case: bool) -> Option<String> {
    let cleaned = convert(text, labels_snake_case);
    is_legacy_label_name(&cleaned).then(|| format!("{prefix}{cleaned}"))
}

/// Prometheus' classic label-name rule, `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yace_metric_names() {
        for (namespace, metric, statistic, expected) in [
            (
                "AWS/ElastiCache",
                "CPUUtilization",
                "Average",
                "aws_elasticache_cpuutilization_average",
            ),
            (
                "/aws/sagemaker/TrainingJobs",
                "CPUUtilization",
                "Average",
                "aws_sagemaker_trainingjobs_cpuutilization_average",
            ),
            (
                "Glue",
                "glue.driver.aggregate.bytesRead",
                "Average",
                "aws_glue_driver_aggregate_bytes_read_average",
            ),
            (
                "ECS/ContainerInsights",
                "CpuUtilized",
                "Average",
                "aws_ecs_containerinsights_cpu_utilized_average",
            ),
            (
                "ECS/ContainerInsights",
                "PendingTaskCount",
                "Average",
                "aws_ecs_containerinsights_pending_task_count_average",
            ),
            (
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Sum",
                "aws_sqs_approximate_number_of_messages_visible_sum",
            ),
            (
                "AWS/EC2",
                "CPUUtilization",
                "p99",
                "aws_ec2_cpuutilization_p99",
            ),
            (
                "AWS/EBS",
                "BurstBalance",
                "Minimum",
                "aws_ebs_burst_balance_minimum",
            ),
            (
                "CWAgent",
                "mem_used_percent",
                "Average",
                "aws_cwagent_mem_used_percent_average",
            ),
            ("AWS/Lambda", "Errors", "", "aws_lambda_errors"),
        ] {
            assert_eq!(
                metric_name(namespace, metric, statistic),
                expected,
                "{namespace} {metric} {statistic}"
            );
        }
    }

    #[test]
    fn prom_string_rules() {
        assert_eq!(prom_string("Free Storage (%)"), "free_storage___percent_");
        assert_eq!(prom_string("a\"b`c"), "a_b_c");
        assert_eq!(prom_string("Http5xx"), "http5xx");
        assert_eq!(prom_string("4XXError"), "4_xxerror");
    }

    #[test]
    fn label_names() {
        assert_eq!(
            dimension_label("ServiceName", false).as_deref(),
            Some("dimension_ServiceName")
        );
        assert_eq!(
            dimension_label("ServiceName", true).as_deref(),
            Some("dimension_service_name")
        );
        assert_eq!(
            tag_label("kubernetes.io/cluster", false).as_deref(),
            Some("tag_kubernetes_io_cluster")
        );
        assert_eq!(
            custom_tag_label("Team-Name", false).as_deref(),
            Some("custom_tag_Team_Name")
        );
    }

    #[test]
    fn keys_that_stay_invalid_after_cleaning_are_dropped_as_yace_drops_them() {
        // Checked without the prefix, as YACE's PromStringTag does.
        for key in [
            "1st",
            "größe",
            "owner#",
            "a+b",
            "",
            "aws:cloudformation:stack-name'",
        ] {
            assert_eq!(tag_label(key, false), None, "{key:?}");
            assert_eq!(custom_tag_label(key, false), None, "{key:?}");
            assert_eq!(dimension_label(key, false), None, "{key:?}");
        }
        assert_eq!(
            tag_label("aws:cloudformation:stack-name", false).as_deref(),
            Some("tag_aws_cloudformation_stack_name")
        );
        assert_eq!(tag_label("_x9", false).as_deref(), Some("tag__x9"));
    }
}
