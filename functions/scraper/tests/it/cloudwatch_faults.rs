//! CloudWatch API faults, with moto behind a small fault-injecting proxy: throttled
//! GetMetricData calls are retried, a region whose calls fail is reported without
//! stopping the others, 501 queries take exactly two GetMetricData calls, and
//! `roles` are assumed through STS.

use crate::harness;
use test_support::services as support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};

/// What the proxy did.
#[derive(Default)]
struct Faults {
    throttled: AtomicUsize,
    refused: AtomicUsize,
    get_metric_data: AtomicUsize,
}

const THROTTLE_FIRST: usize = 2;
const FAILING_REGION: &str = "ap-south-2";

async fn proxy(
    req: Request<hyper::body::Incoming>,
    upstream: String,
    faults: Arc<Faults>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = String::from_utf8_lossy(&body);
    let xml = |status: u16, code: &str| {
        Response::builder()
            .status(status)
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} injected</Message></Error><RequestId>x</RequestId></ErrorResponse>"
            ))))
            .unwrap_or_default()
    };
    if auth.contains(&format!("/{FAILING_REGION}/")) {
        faults.refused.fetch_add(1, Ordering::Relaxed);
        return Ok(xml(403, "AccessDenied"));
    }
    if text.contains("Action=GetMetricData") {
        let n = faults.get_metric_data.fetch_add(1, Ordering::Relaxed);
        if n < THROTTLE_FIRST {
            faults.throttled.fetch_add(1, Ordering::Relaxed);
            return Ok(xml(400, "Throttling"));
        }
    }
    let client = reqwest::Client::new();
    let mut forward = client.request(parts.method.clone(), format!("{upstream}{}", parts.uri));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    let response = match forward.body(body.to_vec()).send().await {
        Ok(r) => r,
        Err(e) => return Ok(xml(502, &format!("Upstream{}", e.is_connect()))),
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml")
        .to_string();
    let bytes = response.bytes().await.unwrap_or_default();
    Ok(Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(bytes))
        .unwrap_or_default())
}

async fn start_proxy(
    upstream: String,
    faults: Arc<Faults>,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let upstream = upstream.clone();
            let faults = faults.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    proxy(req, upstream.clone(), faults.clone())
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (address, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_region_failures_batching_and_roles() {
    let moto = support::start_moto().await.expect("moto server");
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let faults = Arc::new(Faults::default());
    let (proxy_address, _proxy) = start_proxy(moto.address.clone(), faults.clone()).await;
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
        ("AWS_ENDPOINT_URL_CLOUDWATCH", proxy_address.as_str()),
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
    // 501 queries: two GetMetricData calls, two throttled attempts retried.
    assert_eq!(cw["metrics_requested"], 501, "{cw}");
    assert_eq!(cw["get_metric_data_calls"], 2, "{cw}");
    assert_eq!(faults.throttled.load(Ordering::Relaxed), THROTTLE_FIRST);
    assert_eq!(
        faults.get_metric_data.load(Ordering::Relaxed),
        2 + THROTTLE_FIRST,
        "each throttled call retried"
    );
    assert!(faults.refused.load(Ordering::Relaxed) >= 1);
    assert_eq!(cw["series"], 501, "{cw}");
    let stored = prometheus
        .query_until_found("count(aws_shop_orders_sum{name=\"global\", region=\"eu-west-1\"})")
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
