//! Silences: Alertmanager's model and rules (`model.rs`) and their storage in the
//! state table (`store.rs`). They are applied wherever alerts are sent: an alert an
//! active silence matches is not notified, and is counted as silenced.

mod model;
mod store;

pub use model::{sort_for_listing, Silence, SilenceError, SilenceMatcher, SilenceState};
pub use store::{SilenceStore, SilenceStoreError};
