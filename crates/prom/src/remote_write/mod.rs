//! Prometheus remote write 1.0: the protobuf messages and the snappy-framed request body
//! AMP and Prometheus' `/api/v1/write` accept.

mod encode;
mod proto;
mod wire;

pub use encode::{encode_request, EncodedRequest, RequestBuilder, MAX_REQUEST_BYTES};
/// Compression failure (only for inputs beyond snappy's size limit).
pub use snap::Error as SnappyError;
pub use wire::LabelPair;

pub use proto::{
    metric_metadata::MetricType as ProtoMetricType, Label as ProtoLabel, MetricMetadata,
    Sample as ProtoSample, TimeSeries, WriteRequest,
};

/// Headers every remote-write 1.0 request carries, as Prometheus sends them.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// The body is one snappy *block* (not the framed stream format).
pub const CONTENT_ENCODING: &str = "snappy";
/// The protocol version header value for remote write 1.0.
pub const VERSION_HEADER_VALUE: &str = "0.1.0";
/// Name of the protocol version header.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";
