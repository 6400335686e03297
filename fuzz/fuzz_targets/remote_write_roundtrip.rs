//! Remote-write batching and encoding: series and metadata pushed through
//! `RequestBuilder` with fuzzer-chosen limits come out as snappy blocks that an
//! independent transcription of the prompb messages decodes back to exactly what was
//! pushed, in order (values compared bit for bit, NaN payloads included; -0.0 reads
//! as 0.0, as proto3 defines). Each
//! request's counts match its contents, and a request of more than one entry stays
//! within the byte limit. The bytes are prost's own encoding of what they decode to
//! (the builder writes the wire format by hand), and a one-sample series goes through
//! the borrowed-label path the scraper uses.
#![no_main]

use fuzz_support::prompb;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use prom::remote_write::{
    EncodedRequest, MetricMetadata, ProtoLabel, ProtoSample, RequestBuilder, TimeSeries,
    WriteRequest,
};
use prost::Message;

#[derive(Debug, Arbitrary)]
enum Item {
    Series {
        labels: Vec<(String, String)>,
        samples: Vec<(u64, i64)>,
    },
    Metadata {
        metric_type: i32,
        name: String,
        help: String,
        unit: String,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    max_samples: u16,
    max_bytes: u16,
    items: Vec<Item>,
}

/// A value's bits, with -0.0 as 0.0: proto3 leaves a field equal to its default out
/// of the message, and -0.0 equals 0.0 (Prometheus' generated encoder does the same).
fn value_bits(value: f64) -> u64 {
    if value == 0.0 {
        0
    } else {
        value.to_bits()
    }
}

/// One entry as the independent decoder sees it, values as bits.
#[derive(Debug, PartialEq)]
enum Seen {
    Series(Vec<(String, String)>, Vec<(u64, i64)>),
    Metadata(i32, String, String, String),
}

fn decode(request: &EncodedRequest) -> prompb::WriteRequest {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&request.body)
        .unwrap_or_else(|e| panic!("not a snappy block: {e}"));
    assert_eq!(raw.len(), request.uncompressed_bytes, "uncompressed size");
    let canonical = WriteRequest::decode(raw.as_slice())
        .unwrap_or_else(|e| panic!("prost cannot decode the request: {e}"))
        .encode_to_vec();
    assert!(canonical == raw, "the bytes differ from prost's encoding");
    prompb::WriteRequest::decode(raw.as_slice())
        .unwrap_or_else(|e| panic!("not a WriteRequest: {e}"))
}

fuzz_target!(|input: Input| {
    let max_samples = usize::from(input.max_samples);
    let max_bytes = usize::from(input.max_bytes);
    let mut builder = RequestBuilder::new(max_samples, max_bytes);
    let mut requests = Vec::new();
    let mut pushed_series = Vec::new();
    let mut pushed_metadata = Vec::new();
    for item in input.items {
        let encoded = match item {
            Item::Series { labels, samples } => {
                let sent = samples
                    .iter()
                    .map(|(bits, timestamp)| (value_bits(f64::from_bits(*bits)), *timestamp))
                    .collect();
                pushed_series.push(Seen::Series(labels.clone(), sent));
                if let [(bits, timestamp)] = samples.as_slice() {
                    let pairs: Vec<(&str, &str)> = labels
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str()))
                        .collect();
                    builder.push_sample(&pairs, f64::from_bits(*bits), *timestamp)
                } else {
                builder.push_series(TimeSeries {
                    labels: labels
                        .into_iter()
                        .map(|(name, value)| ProtoLabel { name, value })
                        .collect(),
                    samples: samples
                        .into_iter()
                        .map(|(bits, timestamp)| ProtoSample {
                            value: f64::from_bits(bits),
                            timestamp,
                        })
                        .collect(),
                })
                }
            }
            Item::Metadata {
                metric_type,
                name,
                help,
                unit,
            } => {
                pushed_metadata.push(Seen::Metadata(
                    metric_type,
                    name.clone(),
                    help.clone(),
                    unit.clone(),
                ));
                builder.push_metadata(&MetricMetadata {
                    r#type: metric_type,
                    metric_family_name: name,
                    help,
                    unit,
                })
            }
        };
        requests.extend(encoded.unwrap_or_else(|e| panic!("snappy refused: {e}")));
    }
    requests.extend(
        builder
            .flush()
            .unwrap_or_else(|e| panic!("snappy refused: {e}")),
    );
    assert!(builder.is_empty());

    let mut seen_series = Vec::new();
    let mut seen_metadata = Vec::new();
    for request in &requests {
        let decoded = decode(request);
        assert_eq!(decoded.timeseries.len(), request.series);
        assert_eq!(decoded.metadata.len(), request.metadata);
        let samples: usize = decoded.timeseries.iter().map(|s| s.samples.len()).sum();
        assert_eq!(samples, request.samples);
        let entries = request.series + request.metadata;
        assert!(entries > 0, "an empty request was sent");
        if entries > 1 {
            assert!(
                request.uncompressed_bytes <= max_bytes.max(1),
                "{} bytes in a request of {entries} entries, limit {max_bytes}",
                request.uncompressed_bytes
            );
        }
        for series in decoded.timeseries {
            seen_series.push(Seen::Series(
                series
                    .labels
                    .into_iter()
                    .map(|l| (l.name, l.value))
                    .collect(),
                series
                    .samples
                    .into_iter()
                    .map(|s| (value_bits(s.value), s.timestamp))
                    .collect(),
            ));
        }
        for m in decoded.metadata {
            seen_metadata.push(Seen::Metadata(
                m.r#type,
                m.metric_family_name,
                m.help,
                m.unit,
            ));
        }
    }
    assert_eq!(seen_series, pushed_series);
    assert_eq!(seen_metadata, pushed_metadata);
});
