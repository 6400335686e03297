//! A fake Lambda Runtime API, so a scraper build can be measured the way Lambda runs
//! it: one process serving invocation after invocation, its clients and parsed
//! config warm. It hands out `invocations` copies of one event on
//! `GET /2018-06-01/runtime/invocation/next` (with the headers the Runtime API sends),
//! then leaves the next poll unanswered, as a sandbox that is frozen; responses,
//! invocation errors and init errors come back to the bench as [`RuntimeEvent`]s.
//!
//! The process' CPU time is read the moment a response arrives, before the fake
//! answers it: the time the runtime spends after that (the summary line, the next
//! poll) falls into the next invocation's share, as it does under Lambda.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use test_support::services::proc_cpu_seconds;

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function did, in arrival order.
#[derive(Debug)]
pub enum RuntimeEvent {
    /// It polled for the next invocation.
    Next { at: Instant },
    /// It answered invocation `request_id`; `cpu_seconds` is its CPU time then.
    Response {
        request_id: String,
        body: Vec<u8>,
        cpu_seconds: f64,
    },
    /// It reported invocation `request_id` failed.
    InvocationError { request_id: String, body: Vec<u8> },
    /// It failed to start.
    InitError { body: Vec<u8> },
    /// A request this fake does not know.
    Unexpected { method: String, path: String },
}

impl RuntimeEvent {
    /// One line for an error message, bodies as text.
    pub fn describe(&self) -> String {
        let text = |body: &[u8]| String::from_utf8_lossy(body).into_owned();
        match self {
            RuntimeEvent::Next { .. } => "a /next poll".into(),
            RuntimeEvent::Response {
                request_id, body, ..
            } => format!("response to {request_id}: {}", text(body)),
            RuntimeEvent::InvocationError { request_id, body } => {
                format!("invocation {request_id} failed: {}", text(body))
            }
            RuntimeEvent::InitError { body } => format!("init error: {}", text(body)),
            RuntimeEvent::Unexpected { method, path } => {
                format!("unexpected request {method} {path}")
            }
        }
    }
}

struct Shared {
    event: Vec<u8>,
    remaining: AtomicUsize,
    handed_out: AtomicUsize,
    /// The function's pid, for reading its CPU time (0 until set).
    pid: AtomicU32,
    /// How long each invocation may run (its deadline header).
    budget: Duration,
    events: mpsc::UnboundedSender<RuntimeEvent>,
}

/// The running fake; stops serving when dropped.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    /// Serves `invocations` invocations of `event`, each with `budget` to its
    /// deadline; the receiver gets what the function does.
    pub async fn start(
        event: &serde_json::Value,
        invocations: usize,
        budget: Duration,
    ) -> Result<(Self, mpsc::UnboundedReceiver<RuntimeEvent>), String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("runtime API bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            event: event.to_string().into_bytes(),
            remaining: AtomicUsize::new(invocations),
            handed_out: AtomicUsize::new(0),
            pid: AtomicU32::new(0),
            budget,
            events: sender,
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok((Self { addr, shared, task }, receiver))
    }

    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The function's pid, once spawned: responses then carry its CPU time.
    pub fn set_pid(&self, pid: u32) {
        self.shared.pid.store(pid, Ordering::SeqCst);
    }
}

fn epoch_ms(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let tail = path.strip_prefix(PREFIX).unwrap_or("");
    if method == Method::GET && tail == "/invocation/next" {
        let _ = shared
            .events
            .send(RuntimeEvent::Next { at: Instant::now() });
        let claimed = shared
            .remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if claimed.is_err() {
            // Frozen, as a sandbox between invocations; the bench kills the process.
            std::future::pending::<()>().await;
        }
        let number = shared.handed_out.fetch_add(1, Ordering::SeqCst) + 1;
        let response = Response::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .header("Lambda-Runtime-Aws-Request-Id", format!("bench-{number}"))
            .header(
                "Lambda-Runtime-Deadline-Ms",
                epoch_ms(SystemTime::now() + shared.budget).to_string(),
            )
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:scraper-bench",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                format!("Root=1-00000000-{number:024x};Parent=0000000000000001;Sampled=0"),
            )
            .body(Full::new(Bytes::from(shared.event.clone())))
            .unwrap_or_default();
        return Ok(response);
    }
    // Read the CPU time before the body: the function is done with the invocation.
    let pid = shared.pid.load(Ordering::SeqCst);
    let cpu_seconds = if pid == 0 { 0.0 } else { proc_cpu_seconds(pid) };
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let invocation = tail
        .strip_prefix("/invocation/")
        .and_then(|rest| rest.split_once('/'));
    let event = match (&method, invocation, tail) {
        (&Method::POST, Some((id, "response")), _) => RuntimeEvent::Response {
            request_id: id.to_string(),
            body,
            cpu_seconds,
        },
        (&Method::POST, Some((id, "error")), _) => RuntimeEvent::InvocationError {
            request_id: id.to_string(),
            body,
        },
        (&Method::POST, None, "/init/error") => RuntimeEvent::InitError { body },
        _ => RuntimeEvent::Unexpected {
            method: method.to_string(),
            path: path.clone(),
        },
    };
    let known = !matches!(event, RuntimeEvent::Unexpected { .. });
    let _ = shared.events.send(event);
    let status = if known { 202 } else { 404 };
    Ok(Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")))
        .unwrap_or_default())
}
