//! CloudWatch API faults and paging, with moto behind a CBOR-speaking proxy
//! (`test_support::cloudwatch_proxy`): throttled GetMetricData calls are retried, a
//! region whose calls fail is reported without stopping the others, ListMetrics'
//! NextToken (moto's 500-metric pages) and GetMetricData's NextToken (the proxy's
//! pages) are followed, 501 queries take exactly two GetMetricData calls, and `roles`
//! are assumed through STS.

use crate::harness;
use test_support::services as support;

use std::sync::atomic::Ordering;

use test_support::cloudwatch_proxy::{start_cloudwatch_proxy, ProxyFaults};

const THROTTLE_FIRST: usize = 2;
const FAILING_REGION: &str = "ap-south-2";
/// GetMetricData answers are cut into pages of this many results by the proxy (moto
/// never pages them), so the scraper must follow NextToken to get all 501.
const PAGE: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_region_failures_batching_and_roles() {
    let moto = support::start_moto().await.expect("moto server");
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let proxy = start_cloudwatch_proxy(
        &moto.address,
        ProxyFaults {
            throttle_first_get_metric_data: THROTTLE_FIRST,
            refuse_region: Some(FAILING_REGION.to_string()),
            page_size: Some(PAGE),
        },
    )
    .await
    .expect("proxy");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let base = now / 60 * 60 - 240;
    // 501 metrics of a custom namespace, one datapoint each in the run's window.
    let seed = std::process::Command::new(support::venv_python())
        .arg("-c")
        .arg(
            r#"
import datetime, sys, botocore.session
s = botocore.session.get_session()
cw = s.create_client("cloudwatch", region_name="eu-west-1", endpoint_url=sys.argv[1],
                     aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
ts = datetime.datetime.fromtimestamp(int(sys.argv[2]) + 10, tz=datetime.timezone.utc)
data = [{"MetricName": "Orders", "Timestamp": ts, "Value": float(i),
         "Dimensions": [{"Name": "Shop", "Value": "shop-%03d" % i}]} for i in range(501)]
for i in range(0, len(data), 500):
    cw.put_metric_data(Namespace="Shop", MetricData=data[i:i + 500])
"#,
        )
        .arg(&moto.address)
        .arg(base.to_string())
        .output()
        .expect("python runs");
    assert!(
        seed.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let config = format!(
        r#"
remote_write: [{{url: '{}'}}]
cloudwatch:
  customNamespace:
    - name: shop
      namespace: Shop
      regions: [eu-west-1, {FAILING_REGION}]
      roles: [{{roleArn: 'arn:aws:iam::123456789012:role/cloudwatch-reader', externalId: ext-1}}]
      period: 60
      length: 60
      metrics: [{{name: Orders, statistics: [Sum]}}]
"#,
        prometheus.write_url
    );
    let env = [
        ("AWS_ENDPOINT_URL", moto.address.as_str()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", proxy.address.as_str()),
    ];
    let time = harness::rfc3339(base + 60);
    let run = harness::run_scraper_scheduled(&config, 90.0, &env, Some(&time)).await;
    assert!(run.success, "{}\n{}", run.summary, run.stderr);
    let cw = &run.summary["cloudwatch"];
    // The failing region is reported; the other region's data still arrives.
    let errors = cw["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{cw}");
    assert!(
        errors[0]
            .as_str()
            .is_some_and(|e| e.contains(FAILING_REGION) && e.contains("AccessDenied")),
        "{cw}"
    );
    // 501 metrics: ListMetrics answers in two pages (moto pages at 500), so the
    // scraper followed its NextToken.
    let counts = &proxy.counts;
    assert_eq!(
        counts.calls("ListMetrics"),
        2 + 1,
        "two pages, one refused region call"
    );
    // 501 queries: two GetMetricData calls (500 queries per call), the first two
    // attempts throttled and retried, and the 500-result answer paged 200 + 200 + 100:
    // two NextToken continuations.
    assert_eq!(cw["metrics_requested"], 501, "{cw}");
    assert_eq!(
        cw["get_metric_data_calls"], 4,
        "two batches and two continuation pages: {cw}"
    );
    assert_eq!(counts.throttled.load(Ordering::Relaxed), THROTTLE_FIRST);
    assert_eq!(
        counts.continued.load(Ordering::Relaxed),
        2,
        "500 results in pages of {PAGE}"
    );
    assert_eq!(
        counts.calls("GetMetricData"),
        2 + THROTTLE_FIRST + 2,
        "each throttled call retried, each page asked for once"
    );
    assert!(counts.refused.load(Ordering::Relaxed) >= 1);
    assert_eq!(cw["series"], 501, "{cw}");
    let stored = prometheus
        // A custom namespace job's series carry the job's name, as in YACE.
        .query_until_found("count(aws_shop_orders_sum{name=\"shop\", region=\"eu-west-1\"})")
        .await
        .expect("query");
    assert_eq!(stored[0].1, 501.0);
    let one = prometheus
        .query_until_found("aws_shop_orders_sum{dimension_Shop=\"shop-500\"}")
        .await
        .expect("query");
    assert_eq!(one[0].1, 500.0);
    // account_id comes from STS GetCallerIdentity with the job's role credentials.
    assert_eq!(
        one[0].0.get("account_id").map(String::as_str),
        Some("123456789012")
    );
}
