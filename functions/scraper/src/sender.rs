//! Delivering remote-write requests to one endpoint: headers, SigV4, a bounded number
//! of requests in flight, and Prometheus' retry rules (5xx and, when enabled, 429 with
//! exponential backoff and jitter, honouring `Retry-After`; never another 4xx), all
//! inside the invocation's deadline.
//!
//! An [`EndpointSender`] lives as long as its config (a warm container reuses it, with
//! its connections and cached AWS credentials); what belongs to one run (its counters,
//! the `Authorization` read from credential files this run, whether the deadline cut a
//! send short) is in [`RunEndpoints`], made per run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use prom::remote_write::{
    EncodedRequest, CONTENT_ENCODING, CONTENT_TYPE, VERSION_HEADER, VERSION_HEADER_VALUE,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::StatusCode;
use tokio::sync::Semaphore;

use crate::config::RemoteWriteConfig;
use crate::credentials::{CredentialsError, SigV4Signer};
use crate::http_client::{authorization_header, build_client_with, ClientError, TlsMaterial};
use crate::summary::RunCounters;
use function_cli::error_chain;

/// The remote-write service name AMP signs for.
const SIGV4_SERVICE: &str = "aps";
/// A retry is only started when at least this much time is left for it.
const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(200);
/// How much of a refused request's body goes into the log line.
const ERROR_BODY_EXCERPT: usize = 512;

/// The result of delivering one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver accepted it.
    Sent,
    /// The receiver refused it with a non-retryable status; retrying would not help.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The start of the receiver's answer.
        message: String,
    },
    /// Not delivered in the time available (or credentials/signing failed).
    Unsent {
        /// Why, causes included.
        reason: String,
    },
}

/// One `remote_write` endpoint's client, signer and settings: nothing of one run.
#[derive(Debug)]
pub struct EndpointSender {
    /// The endpoint's display name, for logs.
    pub name: String,
    url: String,
    client: reqwest::Client,
    /// The config's `headers` (credentials are added per run).
    extra_headers: HeaderMap,
    signer: Option<SigV4Signer>,
    in_flight: Semaphore,
    remote_timeout: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
    retry_on_429: bool,
}

/// One endpoint as a run uses it.
#[derive(Debug)]
pub struct RunEndpoint {
    /// The endpoint's long-lived sender.
    pub sender: Arc<EndpointSender>,
    /// `basic_auth` / `authorization` as read this run (credential files are read
    /// every run, so a rotated secret is used by the next run).
    pub authorization: Option<HeaderValue>,
}

/// The endpoints of one run, by endpoint index, with the run's counters.
#[derive(Debug)]
pub struct RunEndpoints {
    endpoints: Vec<RunEndpoint>,
    counters: Arc<RunCounters>,
    /// Set when a request was given up for lack of time: the run was cut short by
    /// its deadline even if every task ended before it.
    deadline_reached: AtomicBool,
}

impl RunEndpoints {
    /// The run's endpoints, counting into `counters`.
    pub fn new(endpoints: Vec<RunEndpoint>, counters: Arc<RunCounters>) -> Self {
        Self {
            endpoints,
            counters,
            deadline_reached: AtomicBool::new(false),
        }
    }

    /// Delivers one request to endpoint `index` ([`EndpointSender::send`]).
    pub async fn send(
        &self,
        index: usize,
        request: &EncodedRequest,
        deadline: Instant,
    ) -> Delivery {
        match self.endpoints.get(index) {
            Some(endpoint) => {
                let run = PerRun {
                    authorization: endpoint.authorization.as_ref(),
                    counters: &self.counters,
                    deadline_reached: &self.deadline_reached,
                };
                endpoint.sender.send(request, deadline, &run).await
            }
            None => Delivery::Unsent {
                reason: "no such endpoint".into(),
            },
        }
    }

    /// Whether a request was given up because the deadline left no time for it.
    pub fn deadline_reached(&self) -> bool {
        self.deadline_reached.load(Ordering::Relaxed)
    }
}

/// What a send needs of its run.
struct PerRun<'a> {
    authorization: Option<&'a HeaderValue>,
    counters: &'a RunCounters,
    deadline_reached: &'a AtomicBool,
}

/// Setting up an endpoint failed (bad TLS files, no AWS region, ...). The text names
/// the endpoint and shows the cause, which is also the `source`.
#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    /// The HTTP client could not be built, or a credentials file not read.
    #[error("remote_write {endpoint}: {source}")]
    Client {
        /// The endpoint's display name.
        endpoint: String,
        /// What is wrong with the client settings.
        #[source]
        source: ClientError,
    },
    /// A `headers` entry cannot be sent as an HTTP header.
    #[error("remote_write {endpoint}: headers: {name:?} is not a valid header {part}")]
    Header {
        /// The endpoint's display name.
        endpoint: String,
        /// The header as written.
        name: String,
        /// `name` or `value`: which part is invalid.
        part: &'static str,
    },
    /// SigV4 signing could not be set up (no region, no credentials).
    #[error("remote_write {endpoint}: {source}")]
    SigV4 {
        /// The endpoint's display name.
        endpoint: String,
        /// Why.
        #[source]
        source: CredentialsError,
    },
}

impl EndpointSender {
    /// Prepares the client, headers and signer of a validated endpoint config, with
    /// the TLS files' contents already read ([`TlsMaterial::read`]).
    pub async fn new(
        config: &RemoteWriteConfig,
        index: usize,
        material: &TlsMaterial,
    ) -> Result<Self, SenderError> {
        let name = config.display_name().to_string();
        let client_error = |source| SenderError::Client {
            endpoint: name.clone(),
            source,
        };
        let header_error = |header: &str, part| SenderError::Header {
            endpoint: name.clone(),
            name: header.to_string(),
            part,
        };
        let at = format!("remote_write[{index}]");
        let settings = config.http_settings();
        let client = build_client_with(&settings, material, &at).map_err(client_error)?;
        let mut extra_headers = HeaderMap::new();
        for (header, value) in &config.headers {
            let header_name = HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| header_error(header, "name"))?;
            let header_value =
                HeaderValue::from_str(value).map_err(|_| header_error(header, "value"))?;
            extra_headers.insert(header_name, header_value);
        }
        let signer = match &config.sigv4 {
            Some(sigv4) => Some(SigV4Signer::from_config(sigv4).await.map_err(|source| {
                SenderError::SigV4 {
                    endpoint: name.clone(),
                    source,
                }
            })?),
            None => None,
        };
        let q = &config.queue_config;
        Ok(Self {
            name: name.clone(),
            url: config.url.clone(),
            client,
            extra_headers,
            signer,
            in_flight: Semaphore::new(q.max_shards),
            remote_timeout: config.remote_timeout.0,
            min_backoff: q.min_backoff.0,
            max_backoff: q.max_backoff.0,
            retry_on_429: q.retry_on_http_429,
        })
    }

    /// Delivers one request, retrying what Prometheus retries, until `deadline`.
    /// Updates the run's counters with the outcome.
    async fn send(
        &self,
        request: &EncodedRequest,
        deadline: Instant,
        run: &PerRun<'_>,
    ) -> Delivery {
        let delivery = match self.in_flight.acquire().await {
            Ok(_permit) => self.send_with_retries(request, deadline, run).await,
            Err(_) => Delivery::Unsent {
                reason: "sender closed".into(),
            },
        };
        let c = run.counters;
        let samples = request.samples as u64;
        match &delivery {
            Delivery::Sent => {
                c.add(&c.samples_sent, samples);
                c.add(&c.metadata_sent, request.metadata as u64);
                c.add(&c.bytes_sent, request.body.len() as u64);
            }
            Delivery::Rejected { status, message } => {
                c.add(&c.requests_failed, 1);
                c.add(&c.samples_rejected, samples);
                tracing::error!(
                    endpoint = %self.name,
                    status,
                    samples,
                    message = %message,
                    "remote write refused; not retried, samples dropped"
                );
            }
            Delivery::Unsent { reason } => {
                c.add(&c.requests_failed, 1);
                c.add(&c.samples_unsent, samples);
                tracing::error!(
                    endpoint = %self.name,
                    samples,
                    reason = %reason,
                    "remote write not delivered"
                );
            }
        }
        delivery
    }

    async fn send_with_retries(
        &self,
        request: &EncodedRequest,
        deadline: Instant,
        run: &PerRun<'_>,
    ) -> Delivery {
        let body = Bytes::from(request.body.clone());
        let mut backoff = self.min_backoff;
        let mut attempt: u32 = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT_TIME {
                run.deadline_reached.store(true, Ordering::Relaxed);
                return Delivery::Unsent {
                    reason: format!(
                        "deadline reached after {attempt} attempt(s); no time left to send"
                    ),
                };
            }
            if attempt > 0 {
                run.counters.add(&run.counters.retries, 1);
            }
            attempt += 1;
            run.counters.add(&run.counters.requests, 1);
            let timeout = self.remote_timeout.min(remaining);
            let retry_after = match self.attempt(body.clone(), timeout, run.authorization).await {
                Ok(Attempt::Done) => return Delivery::Sent,
                Ok(Attempt::Refused { status, message }) => {
                    return Delivery::Rejected { status, message }
                }
                Ok(Attempt::Retry { retry_after, why }) => {
                    tracing::warn!(endpoint = %self.name, attempt, why = %why, "remote write failed, will retry");
                    retry_after
                }
                Err(error) => {
                    return Delivery::Unsent {
                        reason: error_chain(&error),
                    }
                }
            };
            let jittered = jitter(backoff);
            let wait = retry_after.unwrap_or(jittered);
            backoff = (backoff * 2).min(self.max_backoff);
            let left = deadline.saturating_duration_since(Instant::now());
            if wait + MIN_ATTEMPT_TIME > left {
                run.deadline_reached.store(true, Ordering::Relaxed);
                return Delivery::Unsent {
                    reason: format!(
                        "gave up after {attempt} attempt(s): next retry in {:.3}s would pass the invocation deadline",
                        wait.as_secs_f64()
                    ),
                };
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        body: Bytes,
        timeout: Duration,
        authorization: Option<&HeaderValue>,
    ) -> Result<Attempt, AttemptError> {
        let mut headers = self.extra_headers.clone();
        if let Some(auth) = authorization {
            headers.insert(reqwest::header::AUTHORIZATION, auth.clone());
        }
        headers.insert(
            reqwest::header::CONTENT_ENCODING,
            HeaderValue::from_static(CONTENT_ENCODING),
        );
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(CONTENT_TYPE),
        );
        headers.insert(
            VERSION_HEADER,
            HeaderValue::from_static(VERSION_HEADER_VALUE),
        );
        let mut url = self.url.clone();
        if let Some(signer) = &self.signer {
            let creds = signer.credentials().await?;
            url = aws_signing::clean_url(&self.url).map_err(AttemptError::Url)?;
            let to_sign: Vec<(&str, &str)> = headers
                .iter()
                .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
                .collect();
            let signed = aws_signing::sign_request(
                &aws_signing::RequestToSign {
                    method: "POST",
                    url: &url,
                    headers: &to_sign,
                    body: &body,
                },
                &creds,
                &signer.region,
                SIGV4_SERVICE,
                SystemTime::now(),
            )
            .map_err(AttemptError::Signing)?;
            for (name, value) in signed {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| AttemptError::HeaderName(name.clone(), e))?;
                let value = HeaderValue::from_str(&value).map_err(AttemptError::HeaderValue)?;
                headers.insert(name, value);
            }
        }
        let response = self
            .client
            .post(url)
            .headers(headers)
            .timeout(timeout)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                return Ok(Attempt::Retry {
                    retry_after: None,
                    why: format!("request error: {}", error_chain(&e)),
                })
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(Attempt::Done);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let message = body_excerpt(response).await;
        let retryable = status.is_server_error()
            || (status == StatusCode::TOO_MANY_REQUESTS && self.retry_on_429);
        if retryable {
            Ok(Attempt::Retry {
                retry_after,
                why: format!("HTTP {status}: {message}"),
            })
        } else {
            Ok(Attempt::Refused {
                status: status.as_u16(),
                message,
            })
        }
    }
}

/// The `Authorization` header endpoint `index` sends this run, credential files read
/// now.
pub fn run_authorization(
    config: &RemoteWriteConfig,
    index: usize,
) -> Result<Option<HeaderValue>, SenderError> {
    authorization_header(&config.http_settings(), &format!("remote_write[{index}]")).map_err(
        |source| SenderError::Client {
            endpoint: config.display_name().to_string(),
            source,
        },
    )
}

/// Why a request could not even be attempted; the request is then unsent, and this
/// error's text (causes included) is its reason.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("the URL cannot be signed")]
    Url(#[source] aws_signing::SigningError),
    #[error("signing failed")]
    Signing(#[source] aws_signing::SigningError),
    #[error("signing produced invalid header name {0:?}")]
    HeaderName(String, #[source] reqwest::header::InvalidHeaderName),
    #[error("signing produced an invalid header value")]
    HeaderValue(#[source] reqwest::header::InvalidHeaderValue),
}

enum Attempt {
    Done,
    Refused {
        status: u16,
        message: String,
    },
    Retry {
        retry_after: Option<Duration>,
        why: String,
    },
}

async fn body_excerpt(response: reqwest::Response) -> String {
    match response.bytes().await {
        Ok(bytes) => {
            let end = bytes.len().min(ERROR_BODY_EXCERPT);
            String::from_utf8_lossy(bytes.get(..end).unwrap_or_default())
                .trim()
                .to_string()
        }
        Err(e) => format!("(body unreadable: {e})"),
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Half the backoff plus a random part of the other half, so retries of concurrent
/// requests spread out.
fn jitter(backoff: Duration) -> Duration {
    let half = backoff / 2;
    let spread = half.as_micros() as u64;
    let extra = if spread == 0 {
        0
    } else {
        rand::random::<u64>() % spread
    };
    half + Duration::from_micros(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn jitter_stays_within_backoff() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(100));
            assert!(
                j >= Duration::from_millis(50) && j < Duration::from_millis(100),
                "{j:?}"
            );
        }
    }
}
