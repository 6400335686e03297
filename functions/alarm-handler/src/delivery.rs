//! One group to one receiver integration, at most once per message: claim the
//! delivery in the ledger, send, record it (or give the claim back when the send
//! failed, so a retry sends). Shared by the immediate path (the message is the SNS
//! message) and the flush (the message is the group's flush).

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::grouping::Group;
use crate::ledger::{Claim, Ledger};
use crate::receivers::{Integration, Notifier, Origin};
use crate::summary::Summary;

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// Sent now.
    Sent,
    /// An earlier invocation sent it.
    Duplicate,
    /// Not sent; the summary says why.
    Failed,
}

/// Where a delivery goes and under what ledger entry.
pub struct Delivery<'a> {
    /// `receiver/kind[i]`.
    pub name: &'a str,
    /// The receiver's name, for the per-receiver counts.
    pub receiver: &'a str,
    /// The integration's config.
    pub integration: Integration<'a>,
    /// The ledger and the message id the delivery is recorded under (none: no
    /// deduplication).
    pub ledger: Option<(&'a Ledger, &'a str)>,
    /// The ledger's delivery key within the message.
    pub delivery_id: &'a str,
}

/// Sends `group` through `delivery`, counting the outcome in `summary`.
pub async fn deliver(
    notifier: &mut Notifier,
    config: &Config,
    delivery: Delivery<'_>,
    group: &Group<'_>,
    origin: Origin<'_>,
    now: DateTime<Utc>,
    summary: &mut Summary,
) -> Delivered {
    let Delivery {
        name,
        receiver,
        integration,
        ledger,
        delivery_id,
    } = delivery;
    if let Some((ledger, id)) = ledger {
        match ledger.claim(id, delivery_id, now).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::AlreadyDelivered) => {
                summary.deliveries.duplicate(receiver);
                return Delivered::Duplicate;
            }
            Ok(Claim::InProgress) => {
                summary.deliveries.fail(receiver);
                summary.failures.push(format!(
                    "{name}: another invocation is delivering this message"
                ));
                return Delivered::Failed;
            }
            Err(e) => {
                summary.deliveries.fail(receiver);
                summary.failures.push(format!("{name}: {e}"));
                return Delivered::Failed;
            }
        }
    }
    match notifier
        .send(config, name, integration, group, origin)
        .await
    {
        Ok(()) => {
            summary.deliveries.sent += 1;
            *summary
                .deliveries
                .per_receiver
                .entry(receiver.to_string())
                .or_default() += 1;
            if let Some((ledger, id)) = ledger {
                if let Err(e) = ledger.delivered(id, delivery_id, now).await {
                    // Sent, but a retry would send again: report it.
                    summary
                        .failures
                        .push(format!("{name}: sent, but not recorded: {e}"));
                }
            }
            Delivered::Sent
        }
        Err(e) => {
            summary.deliveries.fail(receiver);
            summary.failures.push(e.to_string());
            if let Some((ledger, id)) = ledger {
                if let Err(e) = ledger.release(id, delivery_id).await {
                    summary.failures.push(format!("{name}: {e}"));
                }
            }
            Delivered::Failed
        }
    }
}
