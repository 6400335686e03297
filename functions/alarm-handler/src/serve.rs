//! The local HTTP mode (`alarm-handler --serve ADDR`): the Alertmanager API on a
//! socket, and the flush of due groups on a timer, so the function behaves like a
//! running Alertmanager on a laptop or in a test, and amtool, Prometheus and Grafana
//! can be pointed at it. Under Lambda the same API is served through the Function
//! URL and the flush comes from the schedule.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::api::{ApiRequest, ApiResponse};
use crate::reload::ReloadingHandler;

/// Bodies larger than this are refused (an alert batch or a silence is far smaller).
const MAX_BODY: usize = 4 << 20;

/// Serves the API on `listener` and flushes due groups every `flush_every` until
/// the process ends. Prints `listening on ADDR` once bound (a test reads the port).
pub async fn serve(
    handler: ReloadingHandler,
    listener: TcpListener,
    flush_every: Duration,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    println!("listening on {address}");
    let handler = Arc::new(Mutex::new(handler));
    let flusher = Arc::clone(&handler);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let result = flusher.lock().await.flush_due(chrono::Utc::now()).await;
            match result {
                Ok(summary) if summary.groups_flushed > 0 => {
                    println!("{}", function_cli::summary_line(true, &summary));
                }
                Ok(_) => {}
                Err(e) => println!("{}", function_cli::summary_line(false, &e.summary)),
            }
        }
    });
    loop {
        let (stream, peer) = listener.accept().await?;
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let handler = Arc::clone(&handler);
                async move { Ok::<_, Infallible>(answer(&handler, request).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
}

/// Binds `address` (port 0 picks a free one).
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

async fn answer(
    handler: &Mutex<ReloadingHandler>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let response = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => {
            let request = ApiRequest {
                method: parts.method.as_str().to_string(),
                path: parts.uri.path().to_string(),
                query: ApiRequest::parse_query(parts.uri.query().unwrap_or("")),
                body: body.to_bytes().to_vec(),
            };
            handler
                .lock()
                .await
                .respond(&request, chrono::Utc::now())
                .await
        }
        Err(e) => ApiResponse::error(400, format!("body: {e}")),
    };
    let mut builder = Response::builder().status(response.status);
    if response.body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    builder
        .body(Full::new(Bytes::from(response.body_text())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
