//! A claim whose answer was lost: DynamoDB took the conditional put, the connection
//! dropped before its answer arrived, and the SDK sent the same put again. The retry
//! must find the claim its own (by its token) rather than another invocation's, or
//! the delivery would wait out the whole lease while nobody sends it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alarm_handler::ledger::{Claim, Ledger};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use test_support::services as support;

use crate::delivery_e2e::create_table;

/// A proxy in front of moto that forwards every request and, for the first
/// `drop_claims` conditional puts of a claim, drops the connection after moto
/// answered, as a network fault after the write would.
async fn lossy_proxy(moto: String, drop_claims: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let dropped = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&dropped);
    let client = reqwest::Client::new();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (client, moto, seen) = (client.clone(), moto.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let (client, moto, seen) = (client.clone(), moto.clone(), Arc::clone(&seen));
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let mut forward = client
                            .request(parts.method.clone(), format!("{moto}{}", parts.uri.path()));
                        for (name, value) in &parts.headers {
                            if name != "host" && name != "content-length" {
                                forward = forward.header(name, value);
                            }
                        }
                        let answer = forward.body(body.clone()).send().await.expect("moto");
                        let is_claim = parts
                            .headers
                            .get("x-amz-target")
                            .is_some_and(|t| t == "DynamoDB_20120810.PutItem")
                            && String::from_utf8_lossy(&body).contains("claim_token");
                        if is_claim && seen.fetch_add(1, Ordering::SeqCst) < drop_claims {
                            // The write took effect; the answer never arrives.
                            return Err(std::io::Error::other("dropped after the write"));
                        }
                        let status = answer.status();
                        let headers = answer.headers().clone();
                        let bytes = answer.bytes().await.expect("moto body");
                        let mut response = Response::new(Full::new(bytes));
                        *response.status_mut() = status;
                        for (name, value) in &headers {
                            if name != "content-length" && name != "transfer-encoding" {
                                response.headers_mut().insert(name, value.clone());
                            }
                        }
                        Ok::<_, std::io::Error>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (address, dropped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_retried_after_its_answer_was_lost_is_still_ours() {
    let moto = support::start_moto().await.expect("moto");
    let direct = test_support::sns_sqs::aws_config_for(&moto.address).await;
    create_table(&direct, "ledger").await;
    let (proxy, claims_seen) = lossy_proxy(moto.address.clone(), 1).await;
    let through_proxy = test_support::sns_sqs::aws_config_for(&proxy).await;
    let ledger = Ledger::new(
        aws_sdk_dynamodb::Client::new(&through_proxy),
        "ledger".into(),
        Duration::from_secs(3600),
        Duration::from_secs(960),
    );
    let now = chrono::Utc::now();
    let first = ledger
        .claim("message-1", "ops/webhook[0]", now)
        .await
        .expect("the SDK retries the dropped put");
    assert!(
        claims_seen.load(Ordering::SeqCst) >= 2,
        "the put was sent again after its answer was lost"
    );
    assert!(
        first == Claim::Claimed,
        "the retry found its own claim: {first:?}"
    );
    // Another invocation still sees the claim as taken, and once delivered, as done.
    let other = ledger
        .claim("message-1", "ops/webhook[0]", now)
        .await
        .expect("claim");
    assert!(other == Claim::InProgress, "{other:?}");
    ledger
        .delivered("message-1", "ops/webhook[0]", now)
        .await
        .expect("delivered");
    let again = ledger
        .claim("message-1", "ops/webhook[0]", now)
        .await
        .expect("claim");
    assert!(again == Claim::AlreadyDelivered, "{again:?}");
}
