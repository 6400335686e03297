//! Reading and writing one state object in S3 with conditional requests, so two
//! overlapping runs of the same schedule never overwrite each other unseen: a write
//! names the ETag its run read (`If-Match`), or `If-None-Match: *` when there was no
//! object, and S3 refuses it if another run wrote meanwhile.

use std::time::Instant;

use aws_config::BehaviorVersion;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use function_cli::error_chain;

use crate::config::S3StateLocation;

/// One shard's state object.
#[derive(Debug, Clone)]
pub struct StateObject {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

/// What reading the object found.
#[derive(Debug)]
pub enum Read {
    /// No object yet (first run of this config and shard, or expired).
    Absent,
    /// The object's bytes and ETag.
    Found {
        /// The object's bytes.
        bytes: Vec<u8>,
        /// Its ETag, for the conditional write that replaces it.
        etag: String,
    },
}

/// Why reading or writing the object failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another run wrote the object since this run read it (HTTP 412), or is
    /// writing it right now (HTTP 409).
    #[error("s3://{bucket}/{key} was written by another run meanwhile")]
    Conflict {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// S3 answered with an error, or could not be reached.
    #[error("s3://{bucket}/{key}: {operation} failed: {reason}")]
    Request {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// `GetObject` or `PutObject`.
        operation: &'static str,
        /// S3's error code and message, or the transport error with causes.
        reason: String,
    },
    /// The run's deadline came before S3 answered.
    #[error("s3://{bucket}/{key}: {operation} did not finish before the run's deadline")]
    Deadline {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// `GetObject` or `PutObject`.
        operation: &'static str,
    },
}

/// Which object state a write requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// The object still has this ETag.
    Matches(String),
    /// There is no object yet.
    Absent,
}

impl StateObject {
    /// The object of shard `index` of `count` under `location`, with a client from
    /// the standard AWS configuration (`AWS_REGION`, `AWS_ENDPOINT_URL`, the
    /// function's role).
    pub async fn new(location: &S3StateLocation, index: u64, count: u64) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &location.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        Self {
            client: aws_sdk_s3::Client::new(&sdk),
            bucket: location.bucket.clone(),
            key: location.key(index, count),
        }
    }

    /// `s3://bucket/key`, for reports.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Reads the object.
    pub async fn read(&self, deadline: Instant) -> Result<Read, StoreError> {
        let operation = "GetObject";
        let request = async {
            let response = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
                .await;
            let output = match response {
                Ok(output) => output,
                Err(error) => {
                    if let SdkError::ServiceError(service) = &error {
                        if service.err().is_no_such_key() {
                            return Ok(Read::Absent);
                        }
                    }
                    return Err(self.request_error(operation, &error));
                }
            };
            let etag = output.e_tag().unwrap_or_default().to_string();
            let bytes = output
                .body
                .collect()
                .await
                .map_err(|e| self.request_failed(operation, error_chain(&e)))?
                .into_bytes()
                .to_vec();
            Ok(Read::Found { bytes, etag })
        };
        self.within(deadline, operation, request).await
    }

    /// Writes `bytes` if the object is as `precondition` says; returns the new ETag.
    pub async fn write(
        &self,
        bytes: Vec<u8>,
        precondition: &Precondition,
        deadline: Instant,
    ) -> Result<String, StoreError> {
        let operation = "PutObject";
        let request = async {
            let mut put = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type("application/octet-stream")
                .body(ByteStream::from(bytes));
            put = match precondition {
                Precondition::Matches(etag) => put.if_match(etag),
                Precondition::Absent => put.if_none_match("*"),
            };
            match put.send().await {
                Ok(output) => Ok(output.e_tag().unwrap_or_default().to_string()),
                Err(error) => {
                    let status = error.raw_response().map(|r| r.status().as_u16());
                    if matches!(status, Some(409 | 412)) {
                        Err(StoreError::Conflict {
                            bucket: self.bucket.clone(),
                            key: self.key.clone(),
                        })
                    } else {
                        Err(self.request_error(operation, &error))
                    }
                }
            }
        };
        self.within(deadline, operation, request).await
    }

    async fn within<T>(
        &self,
        deadline: Instant,
        operation: &'static str,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout_at(deadline.into(), work)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Deadline {
                    bucket: self.bucket.clone(),
                    key: self.key.clone(),
                    operation,
                })
            })
    }

    fn request_error<E, R>(&self, operation: &'static str, error: &SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let reason = match error {
            SdkError::ServiceError(service) => {
                let e = service.err();
                match (e.code(), e.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    (Some(code), None) => code.to_string(),
                    _ => error_chain(error),
                }
            }
            _ => error_chain(error),
        };
        self.request_failed(operation, reason)
    }

    fn request_failed(&self, operation: &'static str, reason: String) -> StoreError {
        StoreError::Request {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            operation,
            reason,
        }
    }
}
