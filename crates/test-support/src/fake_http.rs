//! A scripted HTTP server for tests: serves exposition text on any GET path and plays
//! back a script of replies (status codes, `Retry-After`, hangs) to POSTs (remote
//! write, webhooks), recording every request. Real Prometheus is the receiver wherever a test
//! needs a real one; this exists to inject faults Prometheus cannot be made to produce.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use prost::Message;

/// One scripted reply to a POST.
#[derive(Debug, Clone)]
pub enum Reply {
    Status {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Never answer (until the client gives up).
    Hang,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply::Status {
            status,
            retry_after: None,
            body: format!("scripted {status}"),
        }
    }
    pub fn retry_after(status: u16, seconds: &str) -> Self {
        Reply::Status {
            status,
            retry_after: Some(seconds.into()),
            body: format!("scripted {status}"),
        }
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status the server answered with (None for hangs).
    pub answered: Option<u16>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    /// path -> (content type, gzip-encoded, body)
    expositions: HashMap<String, (String, bool, Vec<u8>)>,
    captured: Vec<Captured>,
    accepted_samples: usize,
}

/// The running server; stops when dropped.
pub struct FakeServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`, for `static_configs` targets.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Serve `body` at `path` with `content_type`.
    pub fn serve(&self, path: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        self.lock().expositions.insert(
            path.to_string(),
            (content_type.to_string(), false, body.into()),
        );
    }

    /// Serve `body` gzip-compressed (`Content-Encoding: gzip`) at `path`.
    pub fn serve_gzip(&self, path: &str, content_type: &str, body: &[u8]) {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(body).expect("gzip in memory");
        let compressed = encoder.finish().expect("gzip in memory");
        self.lock().expositions.insert(
            path.to_string(),
            (content_type.to_string(), true, compressed),
        );
    }

    /// Replies for the next POSTs, in order; after the script, POSTs get 200.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    /// `name{labels}` of every series in the accepted remote-write requests.
    pub fn accepted_series_keys(&self) -> Vec<String> {
        self.accepted_writes()
            .iter()
            .flat_map(|r| r.timeseries.iter().map(series_key))
            .collect()
    }

    /// Samples in the POSTs answered with 2xx so far (counted on arrival).
    pub fn accepted_samples(&self) -> usize {
        self.lock().accepted_samples
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.lock().captured.clone()
    }

    /// The POSTs that were answered with 2xx, decoded as remote-write requests.
    pub fn accepted_writes(&self) -> Vec<prom::remote_write::WriteRequest> {
        self.captured()
            .into_iter()
            .filter(|c| c.method == "POST" && c.answered.is_some_and(|s| (200..300).contains(&s)))
            .map(|c| decode_write(&c.body))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Decodes a remote-write body (snappy block + protobuf).
pub fn decode_write(body: &[u8]) -> prom::remote_write::WriteRequest {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .expect("body is a snappy block");
    prom::remote_write::WriteRequest::decode(raw.as_slice()).expect("body is a WriteRequest")
}

/// `name{a="b",...}` of a decoded series, for comparisons.
pub fn series_key(series: &prom::remote_write::TimeSeries) -> String {
    let mut name = String::new();
    let mut rest = Vec::new();
    for l in &series.labels {
        if l.name == "__name__" {
            name = l.value.clone();
        } else {
            rest.push(format!("{}={:?}", l.name, l.value));
        }
    }
    format!("{name}{{{}}}", rest.join(","))
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let mut captured = Captured {
        method: method.clone(),
        path_and_query,
        headers,
        body,
        answered: None,
    };
    if method == "GET" {
        let found = state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .expositions
            .get(&path)
            .cloned();
        let response = match found {
            Some((content_type, gzip, body)) => {
                let mut builder = Response::builder()
                    .status(200)
                    .header("Content-Type", content_type);
                if gzip {
                    builder = builder.header("Content-Encoding", "gzip");
                }
                builder.body(Full::new(Bytes::from(body)))
            }
            None => Response::builder()
                .status(404)
                .body(Full::new(Bytes::from_static(b"not found"))),
        };
        captured.answered = Some(if response.as_ref().is_ok_and(|r| r.status() == 200) {
            200
        } else {
            404
        });
        state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .captured
            .push(captured);
        return Ok(response.unwrap_or_default());
    }
    let reply = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .script
        .pop_front();
    match reply {
        Some(Reply::Hang) => {
            state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .captured
                .push(captured);
            std::future::pending::<()>().await;
            Ok(Response::default())
        }
        Some(Reply::Status {
            status,
            retry_after,
            body,
        }) => {
            captured.answered = Some(status);
            state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .captured
                .push(captured);
            let mut builder = Response::builder().status(status);
            if let Some(ra) = retry_after {
                builder = builder.header("Retry-After", ra);
            }
            Ok(builder
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_default())
        }
        None => {
            captured.answered = Some(204);
            // Remote-write bodies are counted; other POSTs (webhook JSON) are only
            // recorded.
            let samples: usize =
                if captured.header("content-type") == Some("application/x-protobuf") {
                    decode_write(&captured.body)
                        .timeseries
                        .iter()
                        .map(|s| s.samples.len())
                        .sum()
                } else {
                    0
                };
            let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
            guard.accepted_samples += samples;
            guard.captured.push(captured);
            drop(guard);
            Ok(Response::builder()
                .status(204)
                .body(Full::new(Bytes::new()))
                .unwrap_or_default())
        }
    }
}
