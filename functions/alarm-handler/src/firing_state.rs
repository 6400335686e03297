//! Currently firing alerts in DynamoDB, so an inhibit rule's source that fired in an
//! earlier invocation still mutes targets arriving now.
//!
//! Items: `pk = "firing"`, `sk = <fingerprint>`, `labels` (JSON), `alert` (the whole
//! alert as JSON, for the Alertmanager API's alert listing), `updated` (when it was
//! last received, epoch ms), `expires_at` (TTL: the alert's `endsAt` when it has one
//! in the future, else now + `firing_ttl`). A resolved alert deletes its item. Reads
//! skip expired items that DynamoDB has not removed yet.

use std::collections::BTreeMap;
use std::time::Duration;

use alert_model::{Alert, Status};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::table::{get_n, get_s, query_all};

const PARTITION: &str = "firing";

/// A DynamoDB call that failed.
#[derive(Debug, thiserror::Error)]
#[error("DynamoDB state table {table}: {operation}: {reason}")]
pub struct StateError {
    table: String,
    operation: &'static str,
    reason: String,
}

/// A firing alert as recorded.
#[derive(Debug, Clone)]
pub struct FiringAlert {
    /// The alert as last received.
    pub alert: Alert,
    /// When it was last received.
    pub updated: DateTime<Utc>,
    /// When it stops counting as firing without news.
    pub expires: DateTime<Utc>,
}

/// The state table.
pub struct FiringState {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ttl: Duration,
}

impl FiringState {
    /// The state in `table`; a firing alert without `endsAt` is kept for `ttl`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, ttl: Duration) -> FiringState {
        FiringState { client, table, ttl }
    }

    fn error(&self, operation: &'static str, e: impl std::error::Error) -> StateError {
        StateError {
            table: self.table.clone(),
            operation,
            reason: DisplayErrorContext(e).to_string(),
        }
    }

    /// Label sets of the alerts firing at `now`. Items whose labels do not parse are
    /// skipped and counted in the second value.
    pub async fn firing(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<BTreeMap<String, String>>, usize), StateError> {
        let (alerts, unreadable) = self.alerts(now).await?;
        Ok((
            alerts.into_iter().map(|f| f.alert.labels).collect(),
            unreadable,
        ))
    }

    /// The alerts firing at `now`, whole (items from before the `alert` attribute
    /// existed are rebuilt from their labels). Unreadable items are counted in the
    /// second value.
    pub async fn alerts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<FiringAlert>, usize), StateError> {
        let items = query_all(|| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression("expires_at > :now")
                .expression_attribute_values(":pk", AttributeValue::S(PARTITION.into()))
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
        })
        .await
        .map_err(|e| self.error("Query", e))?;
        let mut result = Vec::new();
        let mut unreadable = 0;
        for item in &items {
            let alert = get_s(item, "alert")
                .and_then(|t| serde_json::from_str::<Alert>(t).ok())
                .or_else(|| {
                    get_s(item, "labels")
                        .and_then(|t| serde_json::from_str(t).ok())
                        .map(|labels| Alert::new(labels, Status::Firing))
                });
            let expires = get_n(item, "expires_at").and_then(|s| DateTime::from_timestamp(s, 0));
            match (alert, expires) {
                (Some(alert), Some(expires)) => result.push(FiringAlert {
                    updated: get_n(item, "updated")
                        .and_then(DateTime::from_timestamp_millis)
                        .unwrap_or(now),
                    alert,
                    expires,
                }),
                _ => unreadable += 1,
            }
        }
        Ok((result, unreadable))
    }

    /// Records firing alerts and forgets resolved ones.
    pub async fn record(&self, alerts: &[Alert], now: DateTime<Utc>) -> Result<(), StateError> {
        for alert in alerts {
            let key = AttributeValue::S(alert.fingerprint.clone());
            match alert.status {
                Status::Firing => {
                    let expires = alert
                        .ends_at
                        .filter(|end| *end > now)
                        .map_or(now.timestamp() + self.ttl.as_secs() as i64, |end| {
                            end.timestamp()
                        });
                    let labels = serde_json::to_string(&alert.labels)
                        .map_err(|e| self.error("encode labels", e))?;
                    let whole =
                        serde_json::to_string(alert).map_err(|e| self.error("encode alert", e))?;
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .item("pk", AttributeValue::S(PARTITION.into()))
                        .item("sk", key)
                        .item("labels", AttributeValue::S(labels))
                        .item("alert", AttributeValue::S(whole))
                        .item(
                            "updated",
                            AttributeValue::N(now.timestamp_millis().to_string()),
                        )
                        .item("expires_at", AttributeValue::N(expires.to_string()))
                        .send()
                        .await
                        .map_err(|e| self.error("PutItem", e))?;
                }
                Status::Resolved => {
                    self.client
                        .delete_item()
                        .table_name(&self.table)
                        .key("pk", AttributeValue::S(PARTITION.into()))
                        .key("sk", key)
                        .send()
                        .await
                        .map_err(|e| self.error("DeleteItem", e))?;
                }
            }
        }
        Ok(())
    }
}
