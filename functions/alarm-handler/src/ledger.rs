//! Delivery records in DynamoDB, so an SNS redelivery (same `MessageId`) notifies
//! each receiver integration at most once, and a retry after a partial failure
//! resends only where it failed.
//!
//! One item per (message, delivery): `pk = "delivery#<MessageId>"`,
//! `sk = "<receiver>/<kind>[<i>]/<group key id>"`. Before sending, a conditional put
//! claims the item (`state = pending` with a lease); after sending it becomes
//! `delivered`; on failure the claim is deleted so the retry can claim it again. A
//! pending claim whose lease ran out (the invocation died mid-send) can be taken
//! over. Items expire through DynamoDB TTL on `expires_at`.

use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use chrono::{DateTime, Utc};

use crate::table::{n, s};

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This invocation may send.
    Claimed,
    /// An earlier invocation delivered it: skip.
    AlreadyDelivered,
    /// Another invocation is sending it right now.
    InProgress,
}

/// A DynamoDB call that failed.
#[derive(Debug, thiserror::Error)]
#[error("DynamoDB table {table}: {operation}: {reason}")]
pub struct LedgerError {
    table: String,
    operation: &'static str,
    reason: String,
}

/// The delivery ledger.
pub struct Ledger {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
    lease: Duration,
}

impl Ledger {
    /// `lease` should cover the function timeout: a claim older than that belongs
    /// to an invocation that is gone.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: String,
        ttl: Duration,
        lease: Duration,
    ) -> Ledger {
        Ledger {
            client,
            table,
            ttl,
            lease,
        }
    }

    fn error(&self, operation: &'static str, e: impl std::error::Error) -> LedgerError {
        LedgerError {
            table: self.table.clone(),
            operation,
            reason: DisplayErrorContext(e).to_string(),
        }
    }

    fn key(message_id: &str) -> String {
        format!("delivery#{message_id}")
    }

    /// Claims `delivery` of `message_id` for this invocation.
    pub async fn claim(
        &self,
        message_id: &str,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let now_s = now.timestamp();
        // The claim's own token: when the SDK retries a put whose first attempt took
        // effect but whose answer was lost, the retry finds its own token and succeeds
        // instead of taking the claim for another invocation's and failing for the
        // whole lease.
        let token = uuid::Uuid::new_v4().to_string();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(Self::key(message_id)))
            .item("sk", s(delivery))
            .item("state", s("pending"))
            .item("claim_token", s(&token))
            .item("lease_until", n(now_s + self.lease.as_secs() as i64))
            .item("expires_at", n(now_s + self.ttl.as_secs() as i64))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :pending AND (lease_until < :now OR claim_token = :token))",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now_s))
            .expression_attribute_values(":token", s(&token))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Claimed),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                let item = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", s(Self::key(message_id)))
                    .key("sk", s(delivery))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| self.error("GetItem", e))?;
                let state = item
                    .item()
                    .and_then(|i| i.get("state"))
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str);
                Ok(match state {
                    Some("delivered") => Claim::AlreadyDelivered,
                    _ => Claim::InProgress,
                })
            }
            Err(e) => Err(self.error("PutItem", e)),
        }
    }

    /// Marks a claimed delivery as done.
    pub async fn delivered(
        &self,
        message_id: &str,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(Self::key(message_id)))
            .item("sk", s(delivery))
            .item("state", s("delivered"))
            .item("delivered_at", s(now.to_rfc3339()))
            .item("expires_at", n(now.timestamp() + self.ttl.as_secs() as i64))
            .send()
            .await
            .map_err(|e| self.error("PutItem", e))?;
        Ok(())
    }

    /// Gives a claim back after a failed send, so the retry may send.
    pub async fn release(&self, message_id: &str, delivery: &str) -> Result<(), LedgerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(Self::key(message_id)))
            .key("sk", s(delivery))
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await
            .map_err(|e| self.error("DeleteItem", e))?;
        Ok(())
    }
}
