//! Silences in the state table: one item per silence, `pk = "silence"`, `sk = <id>`,
//! `silence` (the JSON of [`Silence`]) and `expires_at` (DynamoDB TTL: the end plus
//! the retention, so expired silences stay listed for that long, as in
//! Alertmanager). Creating, updating and expiring follow Alertmanager's `Set` and
//! `Expire`; reads skip items DynamoDB has not removed yet.

use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::model::{Silence, SilenceError};
use crate::table::{get_s, query_all, Item};

const PARTITION: &str = "silence";

/// Why a silence operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SilenceStoreError {
    /// The request is wrong (the API answers 400 or 404).
    #[error(transparent)]
    Refused(#[from] SilenceError),
    /// DynamoDB failed (the API answers 500).
    #[error("DynamoDB state table {table}: {operation}: {reason}")]
    Table {
        /// The table.
        table: String,
        /// The call.
        operation: &'static str,
        /// Why.
        reason: String,
    },
}

/// The silences of one state table.
pub struct SilenceStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention: Duration,
}

impl SilenceStore {
    /// Silences in `table`, kept `retention` after they end.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, retention: Duration) -> Self {
        SilenceStore {
            client,
            table,
            retention,
        }
    }

    fn error(&self, operation: &'static str, e: impl std::error::Error) -> SilenceStoreError {
        SilenceStoreError::Table {
            table: self.table.clone(),
            operation,
            reason: DisplayErrorContext(e).to_string(),
        }
    }

    /// Every silence still kept at `now` (unreadable items are counted in the second
    /// value and skipped).
    pub async fn list(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Silence>, usize), SilenceStoreError> {
        let items = query_all(|| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression("expires_at > :now")
                .expression_attribute_values(":pk", AttributeValue::S(PARTITION.into()))
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
                .consistent_read(true)
        })
        .await
        .map_err(|e| self.error("Query", e))?;
        let silences: Vec<Silence> = items.iter().filter_map(decode).collect();
        let unreadable = items.len() - silences.len();
        Ok((silences, unreadable))
    }

    /// The silence `id`, if kept.
    pub async fn get(&self, id: &str) -> Result<Option<Silence>, SilenceStoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(PARTITION.into()))
            .key("sk", AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("GetItem", e))?;
        Ok(item.item().and_then(decode))
    }

    /// Creates a silence, or changes the one `silence.id` names (Alertmanager's
    /// `Set`): returns the id it is stored under, which is new unless the change
    /// could be made in place.
    pub async fn set(
        &self,
        mut silence: Silence,
        now: DateTime<Utc>,
    ) -> Result<String, SilenceStoreError> {
        silence.validate(now)?;
        if !silence.id.is_empty() {
            let Some(mut previous) = self.get(&silence.id).await? else {
                return Err(SilenceError::NotFound(silence.id).into());
            };
            if previous.can_update_to(&silence, now) {
                silence.updated_at = now;
                self.put(&silence).await?;
                return Ok(silence.id);
            }
            if previous.expire(now).is_ok() {
                self.put(&previous).await?;
            }
        }
        silence.id = uuid::Uuid::new_v4().to_string();
        if silence.starts_at < now {
            silence.starts_at = now;
        }
        silence.updated_at = now;
        self.put(&silence).await?;
        Ok(silence.id)
    }

    /// Ends the silence `id` now (Alertmanager's `Expire`); one that already ended
    /// stays as it is.
    pub async fn expire(&self, id: &str, now: DateTime<Utc>) -> Result<(), SilenceStoreError> {
        let Some(mut silence) = self.get(id).await? else {
            return Err(SilenceError::NotFound(id.into()).into());
        };
        match silence.expire(now) {
            Ok(()) => self.put(&silence).await,
            Err(SilenceError::AlreadyExpired(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn put(&self, silence: &Silence) -> Result<(), SilenceStoreError> {
        let body = serde_json::to_string(silence).map_err(|e| self.error("encode silence", e))?;
        let expires = silence.ends_at.timestamp() + self.retention.as_secs() as i64;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(PARTITION.into()))
            .item("sk", AttributeValue::S(silence.id.clone()))
            .item("silence", AttributeValue::S(body))
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(|e| self.error("PutItem", e))?;
        Ok(())
    }
}

fn decode(item: &Item) -> Option<Silence> {
    get_s(item, "silence").and_then(|text| serde_json::from_str(text).ok())
}
