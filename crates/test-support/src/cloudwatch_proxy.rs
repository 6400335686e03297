//! A CloudWatch proxy in front of moto that speaks the Smithy RPC v2 CBOR protocol of
//! the current `aws-sdk-cloudwatch`: it injects the faults moto cannot make (throttling,
//! an access-denied region) and pages the answers moto never pages (GetMetricData's
//! `MetricDataResults`, DescribeAlarms' `MetricAlarms`) with `NextToken`, so the
//! callers' paging loops run against real moto data. ListMetrics is paged by moto
//! itself (500 per page).
//!
//! Requests arrive as `POST /service/GraniteServiceVersion20100801/operation/<Op>`;
//! errors go back as CloudWatch's do: the status, `smithy-protocol: rpc-v2-cbor`, a
//! CBOR body `{"__type": ..., "message": ...}` and the query-compatible
//! `x-amzn-query-error: <Code>;Sender` header the SDK reads the error code from.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ciborium::Value;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};

/// What to inject.
#[derive(Debug, Clone, Default)]
pub struct ProxyFaults {
    /// The first N GetMetricData calls are answered `400 Throttling`.
    pub throttle_first_get_metric_data: usize,
    /// Requests signed for this region are answered `403 AccessDenied`.
    pub refuse_region: Option<String>,
    /// GetMetricData and DescribeAlarms answers longer than this are cut into pages
    /// joined by `NextToken`.
    pub page_size: Option<usize>,
}

/// What the proxy saw, by operation name.
#[derive(Debug, Default)]
pub struct ProxyCounts {
    calls: Mutex<HashMap<String, usize>>,
    /// Calls that carried a `NextToken` the proxy issued.
    pub continued: AtomicUsize,
    /// Calls answered with a throttling error.
    pub throttled: AtomicUsize,
    /// Calls answered with access denied.
    pub refused: AtomicUsize,
}

impl ProxyCounts {
    /// Calls of `operation` that reached the proxy (including injected failures).
    pub fn calls(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .map(|c| c.get(operation).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// The running proxy.
pub struct CloudWatchProxy {
    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_CLOUDWATCH`.
    pub address: String,
    /// What it saw.
    pub counts: Arc<ProxyCounts>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CloudWatchProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    upstream: String,
    faults: ProxyFaults,
    counts: Arc<ProxyCounts>,
    /// Pages not yet served, by the token that asks for them.
    pending: Mutex<HashMap<String, Vec<Value>>>,
    list_field: Mutex<HashMap<String, &'static str>>,
    next_token: AtomicUsize,
    client: reqwest::Client,
}

/// Starts the proxy in front of `upstream` (moto's address).
pub async fn start_cloudwatch_proxy(
    upstream: &str,
    faults: ProxyFaults,
) -> Result<CloudWatchProxy, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let address = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let counts = Arc::new(ProxyCounts::default());
    let state = Arc::new(State {
        upstream: upstream.trim_end_matches('/').to_string(),
        faults,
        counts: counts.clone(),
        pending: Mutex::new(HashMap::new()),
        list_field: Mutex::new(HashMap::new()),
        next_token: AtomicUsize::new(0),
        client: reqwest::Client::new(),
    });
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(req, state.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(CloudWatchProxy {
        address,
        counts,
        task,
    })
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR encoding of a Value");
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn error(status: u16, code: &str) -> Response<Full<Bytes>> {
    let body = Value::Map(vec![
        (
            text("__type"),
            text(&format!("com.amazonaws.cloudwatch#{code}")),
        ),
        (
            text("message"),
            text(&format!("{code} injected by the test proxy")),
        ),
    ]);
    Response::builder()
        .status(status)
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("content-type", "application/cbor")
        .header("x-amzn-query-error", format!("{code};Sender"))
        .body(Full::new(Bytes::from(cbor(&body))))
        .expect("error response")
}

fn ok(body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(200)
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("content-type", "application/cbor")
        .body(Full::new(Bytes::from(cbor(body))))
        .expect("response")
}

fn field<'a>(map: &'a Value, name: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(name))
        .map(|(_, v)| v)
}

/// The list each paged operation returns.
fn paged_list(operation: &str) -> Option<&'static str> {
    match operation {
        "GetMetricData" => Some("MetricDataResults"),
        "DescribeAlarms" => Some("MetricAlarms"),
        _ => None,
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let operation = parts
        .uri
        .path()
        .rsplit_once("/operation/")
        .map(|(_, op)| op.to_string())
        .unwrap_or_default();
    if let Ok(mut calls) = state.counts.calls.lock() {
        *calls.entry(operation.clone()).or_default() += 1;
    }
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(region) = &state.faults.refuse_region {
        if auth.contains(&format!("/{region}/")) {
            state.counts.refused.fetch_add(1, Ordering::Relaxed);
            return Ok(error(403, "AccessDenied"));
        }
    }
    if operation == "GetMetricData"
        && state.counts.calls("GetMetricData") <= state.faults.throttle_first_get_metric_data
    {
        state.counts.throttled.fetch_add(1, Ordering::Relaxed);
        return Ok(error(400, "Throttling"));
    }
    // A continuation the proxy issued: serve the stored page.
    let request: Option<Value> = ciborium::from_reader(&body[..]).ok();
    let token = request
        .as_ref()
        .and_then(|r| field(r, "NextToken"))
        .and_then(Value::as_text)
        .map(str::to_string);
    if let Some(token) = token.filter(|t| t.starts_with("proxy-page-")) {
        state.counts.continued.fetch_add(1, Ordering::Relaxed);
        let pages = state.pending.lock().ok().and_then(|mut p| p.remove(&token));
        let list = state
            .list_field
            .lock()
            .ok()
            .and_then(|l| l.get(&token).copied());
        return Ok(match (pages, list) {
            (Some(rest), Some(list)) => ok(&page(&state, list, rest, Vec::new())),
            _ => error(400, "InvalidNextToken"),
        });
    }
    let mut forward = state.client.request(
        parts.method.clone(),
        format!("{}{}", state.upstream, parts.uri),
    );
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    let response = match forward.body(body.to_vec()).send().await {
        Ok(r) => r,
        Err(_) => return Ok(error(502, "UpstreamUnreachable")),
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap_or_default();
    if status == 200 {
        if let (Some(list), Some(_)) = (paged_list(&operation), state.faults.page_size) {
            if let Ok(Value::Map(entries)) = ciborium::from_reader::<Value, _>(&bytes[..]) {
                let mut items = Vec::new();
                let mut others = Vec::new();
                for (k, v) in entries {
                    match (k.as_text() == Some(list), v) {
                        (true, Value::Array(values)) => items = values,
                        (_, v) if k.as_text() == Some("NextToken") => drop(v),
                        (_, v) => others.push((k, v)),
                    }
                }
                return Ok(ok(&page(&state, list, items, others)));
            }
        }
    }
    let mut reply = Response::builder().status(status);
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            reply = reply.header(name, value);
        }
    }
    Ok(reply
        .body(Full::new(bytes))
        .unwrap_or_else(|_| error(502, "BadUpstreamResponse")))
}

/// The first `page_size` of `items` under `list` (with `others` beside it), and a
/// `NextToken` that asks for the rest when there is more.
fn page(
    state: &State,
    list: &'static str,
    mut items: Vec<Value>,
    others: Vec<(Value, Value)>,
) -> Value {
    let size = state.faults.page_size.unwrap_or(usize::MAX).max(1);
    let rest = if items.len() > size {
        items.split_off(size)
    } else {
        Vec::new()
    };
    let mut entries = others;
    entries.push((text(list), Value::Array(items)));
    if !rest.is_empty() {
        let token = format!(
            "proxy-page-{}",
            state.next_token.fetch_add(1, Ordering::Relaxed)
        );
        if let Ok(mut pending) = state.pending.lock() {
            pending.insert(token.clone(), rest);
        }
        if let Ok(mut lists) = state.list_field.lock() {
            lists.insert(token.clone(), list);
        }
        entries.push((text("NextToken"), text(&token)));
    }
    Value::Map(entries)
}
