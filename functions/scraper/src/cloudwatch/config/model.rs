//! The validated `cloudwatch:` block the collector reads: every job's kind,
//! namespace, regions, roles and metrics, each metric's settings resolved (metric,
//! then job, then YACE's default). Built only by `validate.rs`.

/// YACE's default period, seconds, when neither the metric nor the job sets one.
pub const DEFAULT_PERIOD_SECONDS: u64 = 300;
/// YACE's default length, seconds, when neither the metric nor the job sets one.
pub const DEFAULT_LENGTH_SECONDS: u64 = 300;

/// A CloudWatch statistic: the five plain ones, or an extended statistic
/// (`p99`, `p99.9`, `tm90`, `wm99`, `tc90`, `ts90`, `IQM`) that GetMetricData takes as
/// its `Stat`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Statistic(pub(super) String);

impl Statistic {
    /// Parses a statistic as YACE users write it; `None` when CloudWatch would not
    /// know it.
    pub fn parse(text: &str) -> Option<Statistic> {
        if matches!(
            text,
            "Average" | "Sum" | "Minimum" | "Maximum" | "SampleCount" | "IQM"
        ) {
            return Some(Statistic(text.to_string()));
        }
        let (prefix, number) = ["p", "tm", "wm", "tc", "ts"]
            .iter()
            .find_map(|p| text.strip_prefix(p).map(|rest| (*p, rest)))?;
        let value: f64 = number.parse().ok()?;
        let valid = !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && (0.0..=100.0).contains(&value);
        valid.then(|| Statistic(format!("{prefix}{number}")))
    }

    /// As GetMetricData and YACE's metric names spell it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One metric of a job, with every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    /// The CloudWatch metric name.
    pub name: String,
    /// The statistics requested, without repeats, in the order written.
    pub statistics: Vec<Statistic>,
    /// CloudWatch period, seconds.
    pub period: u64,
    /// How far back each query looks, seconds (at least `period`).
    pub length: u64,
    /// Seconds the query window ends before the scheduled time.
    pub delay: u64,
    /// Report 0 where CloudWatch has no data.
    pub nil_to_zero: bool,
    /// Stamp samples with CloudWatch's timestamps.
    pub add_cloudwatch_timestamp: bool,
    /// Send every data point of the window, not only the latest.
    pub export_all_data_points: bool,
}

/// Role to assume for a job (`None` = the function's own credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The role to assume; `None` = the function's own credentials.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
}

/// Search tag: key exact, value a regex matched anywhere in the tag's value (YACE's
/// `FilterThroughTags`), so `^...$` is how a config asks for an exact value.
#[derive(Debug, Clone)]
pub struct SearchTag {
    /// The tag key, matched exactly.
    pub key: String,
    /// The tag value's pattern, unanchored as in YACE.
    pub value: regex::Regex,
}

/// What a job is.
#[derive(Debug, Clone)]
pub enum JobKind {
    /// Resources from the tagging API, metrics from ListMetrics, associated by the
    /// service's ARN rules.
    Discovery {
        /// Tags a resource must all have.
        search_tags: Vec<SearchTag>,
        /// Tag keys exported as `tag_<Key>` labels.
        exported_tags: Vec<String>,
        /// Also export `aws_<service>_info` series.
        include_context_on_info_metrics: bool,
    },
    /// Fixed dimensions; no ListMetrics.
    Static {
        /// The job's name (its `name` label).
        name: String,
        /// The dimensions queried, name and value.
        dimensions: Vec<(String, String)>,
    },
    /// ListMetrics on a namespace without resources (`name="global"`).
    CustomNamespace {
        /// The job's name (its `name` label).
        name: String,
    },
}

/// A validated job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Discovery, static or custom namespace, with what only that kind has.
    pub kind: JobKind,
    /// The CloudWatch namespace (an alias resolved).
    pub namespace: String,
    /// Regions queried; never empty.
    pub regions: Vec<String>,
    /// Roles assumed, one pass each; never empty (own credentials when none given).
    pub roles: Vec<Role>,
    /// Labels added to every series of the job.
    pub custom_tags: Vec<(String, String)>,
    /// Only metrics having exactly these dimensions (empty = any).
    pub dimension_name_requirements: Vec<String>,
    /// Only metrics with recent data.
    pub recently_active_only: bool,
    /// The metrics, every setting resolved.
    pub metrics: Vec<MetricSpec>,
}

/// The validated `cloudwatch:` block.
#[derive(Debug, Clone, Default)]
pub struct YaceConfig {
    /// The STS endpoint's region for assuming roles (`None` = the function's).
    pub sts_region: Option<String>,
    /// Every job: discovery jobs first, then static, then custom namespace.
    pub jobs: Vec<Job>,
    /// Deprecated spellings seen; logged once at load.
    pub warnings: Vec<String>,
    /// YACE's `always-return-info-metrics` feature: info series for every resource a
    /// discovery job found, even when the job got no metric data.
    pub always_return_info_metrics: bool,
}
