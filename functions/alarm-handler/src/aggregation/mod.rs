//! Alertmanager's behaviour over time, without a process that stays up: alerts are
//! collected into aggregation groups in the state table (`store.rs`), and a flush
//! (`flush.rs`) sends each group when its timer is due, deciding per integration as
//! Alertmanager's dedup stage does (`decision.rs`). The timers are kept as due times
//! in the table; the template's once-a-minute schedule invokes the function to flush
//! whatever is due, and an invocation that adds alerts flushes at once the groups
//! due already (`group_wait: 0`, or an alert older than `group_wait`).

mod decision;
mod flush;
mod store;

pub use decision::{first_flush, needs_notification, Notified};
pub use flush::{after, flush_group, FlushInputs, FLUSH_LEASE};
pub use store::{GroupHead, GroupIdentity, GroupStore, GroupStoreError, StoredAlert};
