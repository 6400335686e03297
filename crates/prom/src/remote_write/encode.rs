//! Batching series into remote-write requests and encoding them (protobuf, then one
//! snappy block), split by sample count and by size so no request exceeds what the
//! receiver accepts.
//!
//! Series are written to the protobuf buffer as they are pushed ([`super::wire`]), so
//! no message structs are built on the way; the buffers and the snappy encoder are
//! reused from request to request.

use prost::Message;

use super::proto::{MetricMetadata, Sample, TimeSeries, WriteRequest};
use super::wire::{put_metadata, put_series_body, put_series_entry, LabelPair};

/// Upper bound on one request's uncompressed protobuf size. Prometheus' receiver and AMP
/// both reject very large bodies; 1 MiB keeps every request well inside their limits
/// while 2000 typical samples (about 200 KiB) never reach it.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// What one entry counts against the byte limit beyond its message body (its key and
/// length prefix, rounded up), so the split never depends on varint widths.
const ENTRY_OVERHEAD: usize = 8;

/// A finished, compressed request body and what it carries.
#[derive(Debug, Clone)]
pub struct EncodedRequest {
    /// Snappy block-compressed protobuf `WriteRequest`.
    pub body: Vec<u8>,
    /// Series in the request.
    pub series: usize,
    /// Samples in the request.
    pub samples: usize,
    /// Metadata entries in the request.
    pub metadata: usize,
    /// Size of the protobuf before compression.
    pub uncompressed_bytes: usize,
}

/// Encodes a request: protobuf, then a snappy block (not the framed format), as remote
/// write 1.0 requires.
pub fn encode_request(request: &WriteRequest) -> Result<EncodedRequest, snap::Error> {
    let protobuf = request.encode_to_vec();
    let body = snap::raw::Encoder::new().compress_vec(&protobuf)?;
    Ok(EncodedRequest {
        body,
        series: request.timeseries.len(),
        samples: request.timeseries.iter().map(|s| s.samples.len()).sum(),
        metadata: request.metadata.len(),
        uncompressed_bytes: protobuf.len(),
    })
}

/// Collects series until a request is full (by samples or bytes), then hands back the
/// encoded request, so a scrape of any size is sent in bounded pieces.
///
/// The bytes are those of prost encoding a `WriteRequest` of the same series and
/// metadata: every series first, then every metadata entry, each in push order.
pub struct RequestBuilder {
    max_samples: usize,
    max_bytes: usize,
    /// The pending `timeseries` entries, already encoded.
    series_bytes: Vec<u8>,
    /// The series being pushed: its length decides whether it fits before it is
    /// framed into `series_bytes`.
    series_body: Vec<u8>,
    /// The pending `metadata` entries, already encoded.
    metadata_bytes: Vec<u8>,
    /// Room for one compressed request, reused.
    compressed: Vec<u8>,
    snappy: snap::raw::Encoder,
    series: usize,
    samples: usize,
    metadata: usize,
    /// Samples plus metadata entries, counted against `max_samples`.
    counted: usize,
    /// Message bodies plus [`ENTRY_OVERHEAD`] per entry, counted against `max_bytes`.
    bytes: usize,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("max_samples", &self.max_samples)
            .field("max_bytes", &self.max_bytes)
            .field("series", &self.series)
            .field("samples", &self.samples)
            .field("metadata", &self.metadata)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl RequestBuilder {
    /// `max_samples` is `queue_config.max_samples_per_send`; both limits are at least 1.
    pub fn new(max_samples: usize, max_bytes: usize) -> Self {
        Self {
            max_samples: max_samples.max(1),
            max_bytes: max_bytes.max(1),
            series_bytes: Vec::new(),
            series_body: Vec::new(),
            metadata_bytes: Vec::new(),
            compressed: Vec::new(),
            snappy: snap::raw::Encoder::new(),
            series: 0,
            samples: 0,
            metadata: 0,
            counted: 0,
            bytes: 0,
        }
    }

    /// Adds one series with one sample, encoded from borrowed labels (sorted by name,
    /// as remote write requires); returns the encoded request when adding it filled
    /// the batch, or when the series would not fit into the current one.
    pub fn push_sample<L: LabelPair>(
        &mut self,
        labels: &[L],
        value: f64,
        timestamp_ms: i64,
    ) -> Result<Option<EncodedRequest>, snap::Error> {
        let sample = [Sample {
            value,
            timestamp: timestamp_ms,
        }];
        self.push(labels, &sample)
    }

    /// Adds a series; returns the encoded request when adding it filled the batch, or
    /// when the series would not fit into the current one.
    pub fn push_series(
        &mut self,
        series: TimeSeries,
    ) -> Result<Option<EncodedRequest>, snap::Error> {
        self.push(&series.labels, &series.samples)
    }

    fn push<L: LabelPair>(
        &mut self,
        labels: &[L],
        samples: &[Sample],
    ) -> Result<Option<EncodedRequest>, snap::Error> {
        self.series_body.clear();
        put_series_body(&mut self.series_body, labels, samples);
        let size = self.series_body.len() + ENTRY_OVERHEAD;
        let mut flushed = None;
        if !self.is_empty() && self.bytes + size > self.max_bytes {
            flushed = self.flush()?;
        }
        put_series_entry(&mut self.series_bytes, &self.series_body);
        self.series += 1;
        self.samples += samples.len();
        self.counted += samples.len();
        self.bytes += size;
        if flushed.is_none() && (self.counted >= self.max_samples || self.bytes >= self.max_bytes) {
            flushed = self.flush()?;
        }
        Ok(flushed)
    }

    /// Adds metadata; metadata count against the same limits as samples.
    pub fn push_metadata(
        &mut self,
        metadata: &MetricMetadata,
    ) -> Result<Option<EncodedRequest>, snap::Error> {
        let size = metadata.encoded_len() + ENTRY_OVERHEAD;
        let mut flushed = None;
        if !self.is_empty() && self.bytes + size > self.max_bytes {
            flushed = self.flush()?;
        }
        put_metadata(&mut self.metadata_bytes, metadata);
        self.metadata += 1;
        self.counted += 1;
        self.bytes += size;
        if flushed.is_none() && (self.counted >= self.max_samples || self.bytes >= self.max_bytes) {
            flushed = self.flush()?;
        }
        Ok(flushed)
    }

    /// Encodes whatever is pending (nothing if empty).
    pub fn flush(&mut self) -> Result<Option<EncodedRequest>, snap::Error> {
        if self.is_empty() {
            return Ok(None);
        }
        self.series_bytes.extend_from_slice(&self.metadata_bytes);
        let protobuf = &self.series_bytes;
        self.compressed
            .resize(snap::raw::max_compress_len(protobuf.len()), 0);
        let written = self.snappy.compress(protobuf, &mut self.compressed);
        let request = written.map(|written| EncodedRequest {
            // An exact-size copy: requests wait in memory until their scrape completes,
            // and the worst-case room snappy asks for is a sixth larger than the input.
            body: self.compressed.get(..written).unwrap_or_default().to_vec(),
            series: self.series,
            samples: self.samples,
            metadata: self.metadata,
            uncompressed_bytes: protobuf.len(),
        });
        self.clear();
        request.map(Some)
    }

    /// Drops whatever is pending, keeping the buffers' room for the next requests.
    pub fn clear(&mut self) {
        self.series_bytes.clear();
        self.metadata_bytes.clear();
        self.series = 0;
        self.samples = 0;
        self.metadata = 0;
        self.counted = 0;
        self.bytes = 0;
    }

    /// Whether the batch holds nothing to send.
    pub fn is_empty(&self) -> bool {
        self.series == 0 && self.metadata == 0
    }
}

#[cfg(test)]
mod tests {
    use super::super::proto::{Label, Sample};
    use super::*;

    fn series(i: usize) -> TimeSeries {
        TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "m".into(),
                },
                Label {
                    name: "i".into(),
                    value: i.to_string(),
                },
            ],
            samples: vec![Sample {
                value: i as f64,
                timestamp: 1000,
            }],
        }
    }

    fn decode(req: &EncodedRequest) -> WriteRequest {
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&req.body)
            .expect("valid snappy");
        WriteRequest::decode(raw.as_slice()).expect("valid protobuf")
    }

    #[test]
    fn splits_by_sample_count_and_round_trips() {
        let mut b = RequestBuilder::new(3, MAX_REQUEST_BYTES);
        let mut out = Vec::new();
        for i in 0..7 {
            out.extend(b.push_series(series(i)).expect("encode"));
        }
        out.extend(b.flush().expect("encode"));
        let sizes: Vec<_> = out.iter().map(|r| r.samples).collect();
        assert_eq!(sizes, [3, 3, 1]);
        let values: Vec<f64> = out
            .iter()
            .flat_map(|r| decode(r).timeseries)
            .map(|s| s.samples[0].value)
            .collect();
        assert_eq!(values, [0., 1., 2., 3., 4., 5., 6.]);
    }

    /// Series and metadata pushed in any order come out as prost encodes the same
    /// `WriteRequest`, byte for byte, through the borrowed-label path too.
    #[test]
    fn requests_are_prosts_bytes() {
        let metadata = |i: usize| MetricMetadata {
            r#type: (i % 8) as i32,
            metric_family_name: format!("family_{i}"),
            help: if i.is_multiple_of(2) {
                format!("help {i}")
            } else {
                String::new()
            },
            unit: String::new(),
        };
        let mut b = RequestBuilder::new(5, MAX_REQUEST_BYTES);
        let mut expected = WriteRequest::default();
        let mut out = Vec::new();
        for i in 0..4 {
            let s = series(i);
            expected.timeseries.push(s.clone());
            if i.is_multiple_of(2) {
                out.extend(b.push_series(s).expect("encode"));
            } else {
                let pairs: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str()))
                    .collect();
                let sample = &s.samples[0];
                out.extend(
                    b.push_sample(&pairs, sample.value, sample.timestamp)
                        .expect("encode"),
                );
            }
            if i == 1 {
                expected.metadata.push(metadata(i));
                out.extend(b.push_metadata(&metadata(i)).expect("encode"));
            }
        }
        out.extend(b.flush().expect("encode"));
        assert_eq!(out.len(), 1, "{out:?}");
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&out[0].body)
            .expect("valid snappy");
        assert_eq!(raw, expected.encode_to_vec());
        assert_eq!(out[0].uncompressed_bytes, raw.len());
        assert_eq!((out[0].series, out[0].samples, out[0].metadata), (4, 4, 1));
    }

    #[test]
    fn a_cleared_builder_encodes_as_a_fresh_one() {
        let mut reused = RequestBuilder::new(5, MAX_REQUEST_BYTES);
        for i in 0..12 {
            reused.push_series(series(i)).expect("encode");
        }
        reused.clear();
        assert!(reused.is_empty());
        assert_eq!(reused.flush().expect("encode").map(|r| r.samples), None);
        let mut fresh = RequestBuilder::new(5, MAX_REQUEST_BYTES);
        for i in 0..3 {
            reused.push_series(series(i)).expect("encode");
            fresh.push_series(series(i)).expect("encode");
        }
        let reused = reused.flush().expect("encode").expect("a request");
        let fresh = fresh.flush().expect("encode").expect("a request");
        assert_eq!(reused.body, fresh.body);
        assert_eq!(
            (reused.series, reused.samples, reused.uncompressed_bytes),
            (fresh.series, fresh.samples, fresh.uncompressed_bytes)
        );
    }

    #[test]
    fn splits_by_bytes() {
        let one = series(1).encoded_len() + 8;
        let mut b = RequestBuilder::new(1000, one * 2 + 1);
        let mut out = Vec::new();
        for i in 0..5 {
            out.extend(b.push_series(series(i)).expect("encode"));
        }
        out.extend(b.flush().expect("encode"));
        assert!(out.iter().all(|r| r.series <= 2), "{out:?}");
        assert_eq!(out.iter().map(|r| r.series).sum::<usize>(), 5);
    }
}
