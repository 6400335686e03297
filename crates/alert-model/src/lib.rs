//! One alert model for every alert source (Grafana, Alertmanager / AMP, CloudWatch
//! alarms, EventBridge, anything else), so routing, receivers and the scaler never care
//! where an alert came from. The JSON form is versioned ([`SCHEMA_VERSION`]) because
//! the scaler consumes what the alarm-handler publishes.

mod alert;
mod decode;
mod fingerprint;
mod label_name;

pub use alert::{Alert, AlertBatch, Status, SCHEMA_VERSION};
/// The forgiving JSON reader the decoders fall back to; public so the fuzz targets
/// (fuzz/) can check it on its own.
pub use decode::lenient_json;
pub use decode::{decode_event, decode_notification, DecodeError, Decoded, Format, Notification};
pub use fingerprint::fingerprint;
pub use label_name::sanitize_label_name;
