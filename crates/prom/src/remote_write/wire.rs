//! The remote-write 1.0 protobuf wire format, written directly from borrowed labels
//! and values into a reused buffer.
//!
//! Why not prost on this path: building a `TimeSeries` per sample means a `String`
//! per label name and value, a `Vec` per series, then freeing them all after encoding;
//! on a one-million-sample scrape that was most of the scraper's instructions. The
//! messages are small and their wire format is fixed by `prompb`, so they are written
//! here by hand, byte for byte what prost writes for the same message (proto3: fields
//! equal to their default are left out; repeated messages always written). prost
//! stays the reference: the tests below and the `remote_write_roundtrip` fuzz target
//! compare every byte with its encoding.

use prost::Message;

use super::proto::{Label as ProtoLabel, MetricMetadata, Sample as ProtoSample};
pub use crate::labels::LabelPair;

/// Wire type 2 (length-delimited) keys of the fields written here.
const KEY_WRITE_REQUEST_TIMESERIES: u8 = (1 << 3) | 2;
const KEY_WRITE_REQUEST_METADATA: u8 = (3 << 3) | 2;
const KEY_TIMESERIES_LABELS: u8 = (1 << 3) | 2;
const KEY_TIMESERIES_SAMPLES: u8 = (2 << 3) | 2;
const KEY_LABEL_NAME: u8 = (1 << 3) | 2;
const KEY_LABEL_VALUE: u8 = (2 << 3) | 2;
/// `Sample.value` is a double (wire type 1, 8 bytes); `Sample.timestamp` an int64
/// varint (wire type 0).
const KEY_SAMPLE_VALUE: u8 = (1 << 3) | 1;
const KEY_SAMPLE_TIMESTAMP: u8 = 2 << 3;

impl LabelPair for ProtoLabel {
    fn name(&self) -> &str {
        &self.name
    }
    fn value(&self) -> &str {
        &self.value
    }
}

/// Bytes a varint of `value` takes.
fn varint_len(value: u64) -> usize {
    // 1 byte per 7 bits, at least one: (bits + 6) / 7 with bits >= 1.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    if value < 0x80 {
        out.push(value as u8);
        return;
    }
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes a proto3 string field takes (none when empty: the default is left out).
fn string_field_len(text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        1 + varint_len(text.len() as u64) + text.len()
    }
}

fn put_string_field(out: &mut Vec<u8>, key: u8, text: &str) {
    if !text.is_empty() {
        out.push(key);
        put_varint(out, text.len() as u64);
        out.extend_from_slice(text.as_bytes());
    }
}

/// Appends one `TimeSeries.labels` entry.
#[inline]
fn put_label(out: &mut Vec<u8>, name: &str, value: &str) {
    let (n, v) = (name.len(), value.len());
    // The usual label: both strings set and short, so every length is one byte.
    if n > 0 && v > 0 && n + v + 4 < 0x80 {
        out.extend_from_slice(&[
            KEY_TIMESERIES_LABELS,
            (n + v + 4) as u8,
            KEY_LABEL_NAME,
            n as u8,
        ]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&[KEY_LABEL_VALUE, v as u8]);
        out.extend_from_slice(value.as_bytes());
        return;
    }
    out.push(KEY_TIMESERIES_LABELS);
    put_varint(
        out,
        (string_field_len(name) + string_field_len(value)) as u64,
    );
    put_string_field(out, KEY_LABEL_NAME, name);
    put_string_field(out, KEY_LABEL_VALUE, value);
}

/// Appends one `TimeSeries.samples` entry.
#[inline]
fn put_sample(out: &mut Vec<u8>, sample: &ProtoSample) {
    // proto3 compares with the default: -0.0 == 0.0 is left out too, as prost does.
    let has_value = sample.value != 0.0;
    let value_len = if has_value { 1 + 8 } else { 0 };
    let timestamp = sample.timestamp as u64;
    let timestamp_len = if timestamp != 0 {
        1 + varint_len(timestamp)
    } else {
        0
    };
    out.push(KEY_TIMESERIES_SAMPLES);
    put_varint(out, (value_len + timestamp_len) as u64);
    if has_value {
        out.push(KEY_SAMPLE_VALUE);
        out.extend_from_slice(&sample.value.to_le_bytes());
    }
    if timestamp != 0 {
        out.push(KEY_SAMPLE_TIMESTAMP);
        put_varint(out, timestamp);
    }
}

/// Appends the body of a `TimeSeries` message (what prost's `encode_raw` writes):
/// each length worked out once, as it is written.
pub fn put_series_body<L: LabelPair>(out: &mut Vec<u8>, labels: &[L], samples: &[ProtoSample]) {
    for label in labels {
        put_label(out, label.name(), label.value());
    }
    for sample in samples {
        put_sample(out, sample);
    }
}

/// Appends one `WriteRequest.timeseries` entry around a body from
/// [`put_series_body`].
pub fn put_series_entry(out: &mut Vec<u8>, body: &[u8]) {
    out.push(KEY_WRITE_REQUEST_TIMESERIES);
    put_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Appends one `WriteRequest.metadata` entry (prost writes the body: metadata is one
/// entry per family, far from the hot path).
pub fn put_metadata(out: &mut Vec<u8>, metadata: &MetricMetadata) {
    out.push(KEY_WRITE_REQUEST_METADATA);
    put_varint(out, metadata.encoded_len() as u64);
    // Writing into a Vec cannot run out of room: prost's only error.
    let _ = metadata.encode(out);
}

#[cfg(test)]
mod tests {
    use super::super::proto::{TimeSeries, WriteRequest};
    use super::*;

    fn label(name: &str, value: &str) -> ProtoLabel {
        ProtoLabel {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Our bytes for `series` as a one-series `WriteRequest`, next to prost's.
    fn both(series: TimeSeries) -> (Vec<u8>, Vec<u8>) {
        let mut body = Vec::new();
        put_series_body(&mut body, &series.labels, &series.samples);
        assert_eq!(body.len(), series.encoded_len(), "{series:?}");
        let mut ours = Vec::new();
        put_series_entry(&mut ours, &body);
        let theirs = WriteRequest {
            timeseries: vec![series],
            metadata: vec![],
        }
        .encode_to_vec();
        (ours, theirs)
    }

    #[test]
    fn series_bytes_are_prosts() {
        let long = "v".repeat(300);
        let values = [
            0.0,
            -0.0,
            1.5,
            -7.25e300,
            f64::NAN,
            crate::stale::stale_nan(),
            f64::INFINITY,
            f64::MIN_POSITIVE,
        ];
        let timestamps = [0, 1, -1, 127, 128, 1_700_000_000_000, i64::MIN, i64::MAX];
        for (value, timestamp) in values.into_iter().zip(timestamps) {
            let series = TimeSeries {
                labels: vec![
                    label("__name__", "m"),
                    label("", "no name"),
                    label("n", &"x".repeat(123)),
                    label("n", &"x".repeat(124)),
                    label("empty", ""),
                    label("long", &long),
                    label("ü", "ß"),
                ],
                samples: vec![
                    ProtoSample { value, timestamp },
                    ProtoSample {
                        value: 2.0,
                        timestamp: 0,
                    },
                ],
            };
            let (ours, theirs) = both(series);
            assert_eq!(ours, theirs, "value {value} timestamp {timestamp}");
        }
        let (ours, theirs) = both(TimeSeries::default());
        assert_eq!(ours, theirs);
    }

    #[test]
    fn metadata_bytes_are_prosts() {
        let metadata = MetricMetadata {
            r#type: 2,
            metric_family_name: "node_load1".into(),
            help: "1m load average.".into(),
            unit: String::new(),
        };
        let mut ours = Vec::new();
        put_metadata(&mut ours, &metadata);
        let theirs = WriteRequest {
            timeseries: vec![],
            metadata: vec![metadata],
        }
        .encode_to_vec();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn varint_lengths() {
        for (value, len) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(value), len, "{value}");
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), len, "{value}");
        }
    }
}
