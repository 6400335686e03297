//! Currently firing alerts in DynamoDB, so an inhibit rule's source that fired in an
//! earlier invocation still mutes targets arriving now.
//!
//! Items: `pk = "firing"`, `sk = <fingerprint>`, `labels` (JSON), `alert` (the whole
//! alert as JSON, for the Alertmanager API's alert listing), `updated` (when it was
//! last received, epoch ms), `expires_at` (TTL: the alert's `endsAt` when it has one
//! in the future, else now + `firing_ttl`) and `changed` (when the alert's state
//! changed, as its sender says). A resolved alert leaves a marker (`resolved`, kept
//! for `firing_ttl`) instead of its item, and only a state at least as new as the
//! stored one is written, so a retried ALARM message arriving after its OK does not
//! mark the alarm firing again. Reads skip markers and expired items that DynamoDB
//! has not removed yet.

use std::collections::BTreeMap;
use std::time::Duration;

use alert_model::{Alert, Status};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::table::{get_n, get_s, is_condition_failure, query_all};

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
                .filter_expression("expires_at > :now AND attribute_not_exists(resolved)")
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

    /// Records firing alerts and marks resolved ones, each only over an older state;
    /// returns how many alerts were older than the state stored (and not written).
    pub async fn record(&self, alerts: &[Alert], now: DateTime<Utc>) -> Result<usize, StateError> {
        let mut stale = 0;
        for alert in alerts {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", AttributeValue::S(PARTITION.into()))
                .item("sk", AttributeValue::S(alert.fingerprint.clone()))
                .item(
                    "updated",
                    AttributeValue::N(now.timestamp_millis().to_string()),
                );
            let put = match alert.status {
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
                    put.item("labels", AttributeValue::S(labels))
                        .item("alert", AttributeValue::S(whole))
                        .item("expires_at", AttributeValue::N(expires.to_string()))
                }
                Status::Resolved => put.item("resolved", AttributeValue::Bool(true)).item(
                    "expires_at",
                    AttributeValue::N((now.timestamp() + self.ttl.as_secs() as i64).to_string()),
                ),
            };
            let put = match alert.state_changed_at() {
                Some(changed) => {
                    let changed = AttributeValue::N(changed.timestamp_millis().to_string());
                    put.item("changed", changed.clone())
                        .condition_expression(
                            "attribute_not_exists(changed) OR changed <= :changed",
                        )
                        .expression_attribute_values(":changed", changed)
                }
                None => put,
            };
            match put.send().await {
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => stale += 1,
                Err(e) => return Err(self.error("PutItem", e)),
            }
        }
        Ok(stale)
    }
}
