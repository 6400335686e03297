//! Aggregation groups in the state table, written so concurrent invocations never
//! send a group twice or lose an alert.
//!
//! - One head item per group: `pk = "group"`, `sk = <group id>`, with the route,
//!   receiver, group key and labels, `first_seen`, `next_flush` (epoch ms), `notified`
//!   (what each integration was last told, JSON), `seq` (flushes done), `version`
//!   (bumped by every invocation that adds alerts), and while a flush runs,
//!   `lease_until` and `pending_seq`.
//! - One item per alert: `pk = "group#<group id>"`, `sk = <fingerprint>`, `alert`
//!   (JSON), `format` (the input format), `received` (epoch ms) and `changed` (when
//!   its state changed, as the sender says: a retried old message never overwrites
//!   a newer state).
//!
//! Alerts are separate items, so adding one never conflicts with another invocation
//! adding another. Adding an alert writes its item first and bumps the head's
//! `version` after, so a flush that empties a group deletes the head only if no
//! alert arrived since it looked (`version` unchanged). A flush claims the head with a
//! lease; the claim's sequence number (with the group's creation time, as a group
//! that empties is deleted and may come back) names the flush in the delivery
//! ledger, so a flush that died before recording what it sent is retried under the
//! same name and sends nothing twice.

use std::collections::BTreeMap;
use std::time::Duration;

use alert_model::Alert;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, TimeZone, Utc};

use super::decision::Notified;
use crate::table::{get_n, get_s, is_condition_failure, n, query_all, s, Item};

const HEADS: &str = "group";

/// A DynamoDB call that failed.
#[derive(Debug, thiserror::Error)]
#[error("DynamoDB state table {table}: {operation}: {reason}")]
pub struct GroupStoreError {
    table: String,
    operation: &'static str,
    reason: String,
}

/// What identifies a group and how it was routed.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupIdentity {
    /// Short stable id ([`crate::grouping::Group::key_id`]).
    pub id: String,
    /// The route's id in the config.
    pub route: String,
    /// The route's receiver.
    pub receiver: String,
    /// Alertmanager's group key.
    pub key: String,
    /// The group labels.
    pub labels: BTreeMap<String, String>,
}

impl GroupIdentity {
    /// The identity of a routed group.
    pub fn of(group: &crate::grouping::Group<'_>) -> GroupIdentity {
        GroupIdentity {
            id: group.key_id(),
            route: group.route.id().to_string(),
            receiver: group.receiver.to_string(),
            key: group.key.clone(),
            labels: group.labels.clone(),
        }
    }
}

/// A group's head item as read.
#[derive(Debug, Clone)]
pub struct GroupHead {
    /// Identity and routing.
    pub identity: GroupIdentity,
    /// When the group was made (epoch ms): with `seq`, it names a flush in the
    /// ledger, so a group that emptied and came back never reuses an old flush's
    /// name.
    pub first_seen: i64,
    /// When the group's next flush is due.
    pub next_flush: DateTime<Utc>,
    /// Bumped by every invocation that added alerts.
    pub version: i64,
    /// Flushes done.
    pub seq: i64,
    /// The sequence number of a flush that started and did not finish.
    pub pending_seq: Option<i64>,
    /// Until when a running flush holds the group.
    pub lease_until: Option<DateTime<Utc>>,
    /// What each integration (`receiver/kind[i]`) was last told.
    pub notified: BTreeMap<String, Notified>,
}

/// An alert as stored in its group.
#[derive(Debug, Clone)]
pub struct StoredAlert {
    /// The alert as last received.
    pub alert: Alert,
    /// The input format it came in (`cloudwatch_alarm`, `alertmanager_api`, ...).
    pub format: String,
    /// When it was last received, epoch ms (a flush deletes a resolved alert only if
    /// this did not change).
    pub received: i64,
}

/// The groups of one state table.
pub struct GroupStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// TTL of group heads, refreshed by every add and flush: a head no flush touched
    /// for this long (the schedule was removed) goes.
    keep: Duration,
}

fn ms(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

fn from_ms(value: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(value).single().unwrap_or_default()
}

impl GroupStore {
    /// Groups in `table`; items a crash left behind expire `keep` after their last
    /// write.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, keep: Duration) -> GroupStore {
        GroupStore {
            client,
            table,
            keep,
        }
    }

    fn error(&self, operation: &'static str, e: impl std::error::Error) -> GroupStoreError {
        GroupStoreError {
            table: self.table.clone(),
            operation,
            reason: DisplayErrorContext(e).to_string(),
        }
    }

    fn expires(&self, now: DateTime<Utc>) -> AttributeValue {
        n(now.timestamp() + self.keep.as_secs() as i64)
    }

    /// Adds (or replaces) `alerts` in the group and creates its head when new, due at
    /// `due`. An alert older than the one stored (a retried or late message: its
    /// state changed earlier than the stored one's) does not replace it. Returns the
    /// head as it is after the write and how many alerts were too old.
    pub async fn add(
        &self,
        identity: &GroupIdentity,
        alerts: &[(&Alert, &str)],
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(GroupHead, usize), GroupStoreError> {
        let partition = format!("group#{}", identity.id);
        let mut stale = 0;
        for (alert, format) in alerts {
            let body = serde_json::to_string(alert).map_err(|e| self.error("encode alert", e))?;
            // No TTL on alerts: a CloudWatch alarm fires, unrepeated, until its OK
            // arrives, however long that takes; the flush removes them.
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(&partition))
                .item("sk", s(&alert.fingerprint))
                .item("alert", s(body))
                .item("format", s(*format))
                .item("received", n(ms(now)));
            let put = match alert.state_changed_at().map(ms) {
                Some(changed) => put
                    .item("changed", n(changed))
                    .condition_expression("attribute_not_exists(changed) OR changed <= :changed")
                    .expression_attribute_values(":changed", n(changed)),
                None => put,
            };
            match put.send().await {
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => stale += 1,
                Err(e) => return Err(self.error("PutItem", e)),
            }
        }
        let labels =
            serde_json::to_string(&identity.labels).map_err(|e| self.error("encode labels", e))?;
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(HEADS))
            .key("sk", s(&identity.id))
            .update_expression(
                "SET version = if_not_exists(version, :zero) + :one, route = :route, \
                 receiver = :receiver, group_key = :key, labels = :labels, \
                 first_seen = if_not_exists(first_seen, :now), \
                 next_flush = if_not_exists(next_flush, :due), seq = if_not_exists(seq, :zero), \
                 expires_at = :expires",
            )
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":route", s(&identity.route))
            .expression_attribute_values(":receiver", s(&identity.receiver))
            .expression_attribute_values(":key", s(&identity.key))
            .expression_attribute_values(":labels", s(labels))
            .expression_attribute_values(":now", n(ms(now)))
            .expression_attribute_values(":due", n(ms(due)))
            .expression_attribute_values(":expires", self.expires(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| self.error("UpdateItem", e))?;
        let mut head = updated
            .attributes()
            .and_then(|item| decode_head(&identity.id, item))
            .ok_or_else(|| GroupStoreError {
                table: self.table.clone(),
                operation: "UpdateItem",
                reason: format!(
                    "group {}: the head written cannot be read back",
                    identity.id
                ),
            })?;
        // A group that has not flushed yet is flushed at once for an alert older
        // than group_wait, even if an earlier alert set a later time.
        if head.seq == 0 && head.pending_seq.is_none() && due < head.next_flush {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(HEADS))
                .key("sk", s(&identity.id))
                .update_expression("SET next_flush = :due")
                .condition_expression("seq = :zero AND next_flush > :due")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":due", n(ms(due)))
                .send()
                .await;
            match result {
                Ok(_) => head.next_flush = due,
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(self.error("UpdateItem", e)),
            }
        }
        Ok((head, stale))
    }

    /// Ids of the groups whose flush is due at `now`.
    pub async fn due(&self, now: DateTime<Utc>) -> Result<Vec<String>, GroupStoreError> {
        let items = query_all(|| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression("next_flush <= :now")
                .expression_attribute_values(":pk", s(HEADS))
                .expression_attribute_values(":now", n(ms(now)))
                .projection_expression("sk")
                .consistent_read(true)
        })
        .await
        .map_err(|e| self.error("Query", e))?;
        let ids = items
            .iter()
            .filter_map(|i| get_s(i, "sk"))
            .map(str::to_string)
            .collect();
        Ok(ids)
    }

    /// Every group head (for the API's group listing and tests).
    pub async fn heads(&self) -> Result<Vec<GroupHead>, GroupStoreError> {
        let items = query_all(|| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(HEADS))
                .consistent_read(true)
        })
        .await
        .map_err(|e| self.error("Query", e))?;
        let heads = items
            .iter()
            .filter_map(|i| get_s(i, "sk").and_then(|id| decode_head(id, i)))
            .collect();
        Ok(heads)
    }

    /// The head of group `id`.
    pub async fn head(&self, id: &str) -> Result<Option<GroupHead>, GroupStoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(HEADS))
            .key("sk", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("GetItem", e))?;
        Ok(item.item().and_then(|i| decode_head(id, i)))
    }

    /// Takes the group for a flush at `now` until `now + lease`; `None` when another
    /// invocation holds it or it is not due. Returns the flush's sequence number: the
    /// unfinished flush's when there is one (so the ledger knows what it sent).
    pub async fn claim(
        &self,
        head: &GroupHead,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<i64>, GroupStoreError> {
        let seq = head.pending_seq.unwrap_or(head.seq + 1);
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(HEADS))
            .key("sk", s(&head.identity.id))
            .update_expression("SET lease_until = :lease, pending_seq = :seq")
            .condition_expression(
                "(attribute_not_exists(lease_until) OR lease_until < :now) \
                 AND next_flush <= :now AND seq = :done",
            )
            .expression_attribute_values(":lease", n(ms(now).saturating_add(lease_ms)))
            .expression_attribute_values(":seq", n(seq))
            .expression_attribute_values(":now", n(ms(now)))
            .expression_attribute_values(":done", n(head.seq))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(seq)),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(self.error("UpdateItem", e)),
        }
    }

    /// The group's alerts (items that do not decode are counted in the second value).
    pub async fn alerts(&self, id: &str) -> Result<(Vec<StoredAlert>, usize), GroupStoreError> {
        let partition = format!("group#{id}");
        let items = query_all(|| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(&partition))
                .consistent_read(true)
        })
        .await
        .map_err(|e| self.error("Query", e))?;
        let mut alerts = Vec::new();
        let mut unreadable = 0;
        for item in &items {
            let alert = get_s(item, "alert").and_then(|t| serde_json::from_str(t).ok());
            match (alert, get_n(item, "received")) {
                (Some(alert), Some(received)) => alerts.push(StoredAlert {
                    alert,
                    format: get_s(item, "format").unwrap_or("unknown").to_string(),
                    received,
                }),
                _ => unreadable += 1,
            }
        }
        Ok((alerts, unreadable))
    }

    /// Ends flush `seq`: stores what each integration was told and when the next
    /// flush is due, and frees the sequence number (a delivery that failed gave its
    /// ledger claim back, so the next flush, under the next number, sends it; one
    /// that was sent is in `notified`).
    pub async fn finish(
        &self,
        id: &str,
        seq: i64,
        notified: &BTreeMap<String, Notified>,
        next_flush: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), GroupStoreError> {
        let notified =
            serde_json::to_string(notified).map_err(|e| self.error("encode notified", e))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(HEADS))
            .key("sk", s(id))
            .condition_expression("pending_seq = :seq")
            .update_expression(
                "SET notified = :notified, next_flush = :next, seq = :seq, expires_at = :expires \
                 REMOVE lease_until, pending_seq",
            )
            .expression_attribute_values(":seq", n(seq))
            .expression_attribute_values(":notified", s(notified))
            .expression_attribute_values(":next", n(ms(next_flush)))
            .expression_attribute_values(":expires", self.expires(now))
            .send()
            .await
            .map_err(|e| self.error("UpdateItem", e))?;
        Ok(())
    }

    /// Deletes a resolved alert that was notified, unless it was received again
    /// since (`received` changed). Returns whether it was deleted.
    pub async fn remove_alert(
        &self,
        id: &str,
        alert: &StoredAlert,
    ) -> Result<bool, GroupStoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("group#{id}")))
            .key("sk", s(&alert.alert.fingerprint))
            .condition_expression("received = :received")
            .expression_attribute_values(":received", n(alert.received))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(self.error("DeleteItem", e)),
        }
    }

    /// Deletes an empty group's head, unless an alert was added since `version`.
    pub async fn remove_head(&self, id: &str, version: i64) -> Result<bool, GroupStoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(HEADS))
            .key("sk", s(id))
            .condition_expression("version = :version AND attribute_not_exists(pending_seq)")
            .expression_attribute_values(":version", n(version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(self.error("DeleteItem", e)),
        }
    }
}

fn decode_head(id: &str, item: &Item) -> Option<GroupHead> {
    Some(GroupHead {
        identity: GroupIdentity {
            id: id.to_string(),
            route: get_s(item, "route")?.to_string(),
            receiver: get_s(item, "receiver")?.to_string(),
            key: get_s(item, "group_key")?.to_string(),
            labels: serde_json::from_str(get_s(item, "labels")?).ok()?,
        },
        first_seen: get_n(item, "first_seen")?,
        next_flush: from_ms(get_n(item, "next_flush")?),
        version: get_n(item, "version")?,
        seq: get_n(item, "seq").unwrap_or(0),
        pending_seq: get_n(item, "pending_seq"),
        lease_until: get_n(item, "lease_until").map(from_ms),
        notified: get_s(item, "notified")
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default(),
    })
}
