//! Batching series into remote-write requests and encoding them (protobuf, then one
//! snappy block), split by sample count and by size so no request exceeds what the
//! receiver accepts.

use prost::Message;

use super::proto::{MetricMetadata, TimeSeries, WriteRequest};

/// Upper bound on one request's uncompressed protobuf size. Prometheus' receiver and AMP
/// both reject very large bodies; 1 MiB keeps every request well inside their limits
/// while 2000 typical samples (about 200 KiB) never reach it.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

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
#[derive(Debug)]
pub struct RequestBuilder {
    max_samples: usize,
    max_bytes: usize,
    pending: WriteRequest,
    samples: usize,
    bytes: usize,
}

impl RequestBuilder {
    /// `max_samples` is `queue_config.max_samples_per_send`; both limits are at least 1.
    pub fn new(max_samples: usize, max_bytes: usize) -> Self {
        Self {
            max_samples: max_samples.max(1),
            max_bytes: max_bytes.max(1),
            pending: WriteRequest::default(),
            samples: 0,
            bytes: 0,
        }
    }

    /// Adds a series; returns the encoded request when adding it filled the batch, or
    /// when the series would not fit into the current one.
    pub fn push_series(
        &mut self,
        series: TimeSeries,
    ) -> Result<Option<EncodedRequest>, snap::Error> {
        let size = series.encoded_len() + 8;
        let samples = series.samples.len();
        let mut flushed = None;
        if !self.is_empty() && self.bytes + size > self.max_bytes {
            flushed = self.flush()?;
        }
        self.pending.timeseries.push(series);
        self.samples += samples;
        self.bytes += size;
        if flushed.is_none() && (self.samples >= self.max_samples || self.bytes >= self.max_bytes) {
            flushed = self.flush()?;
        }
        Ok(flushed)
    }

    /// Adds metadata; metadata count against the same limits as samples.
    pub fn push_metadata(
        &mut self,
        metadata: MetricMetadata,
    ) -> Result<Option<EncodedRequest>, snap::Error> {
        let size = metadata.encoded_len() + 8;
        let mut flushed = None;
        if !self.is_empty() && self.bytes + size > self.max_bytes {
            flushed = self.flush()?;
        }
        self.pending.metadata.push(metadata);
        self.samples += 1;
        self.bytes += size;
        if flushed.is_none() && (self.samples >= self.max_samples || self.bytes >= self.max_bytes) {
            flushed = self.flush()?;
        }
        Ok(flushed)
    }

    /// Encodes whatever is pending (nothing if empty).
    pub fn flush(&mut self) -> Result<Option<EncodedRequest>, snap::Error> {
        if self.is_empty() {
            return Ok(None);
        }
        let request = std::mem::take(&mut self.pending);
        self.samples = 0;
        self.bytes = 0;
        encode_request(&request).map(Some)
    }

    /// Whether the batch holds nothing to send.
    pub fn is_empty(&self) -> bool {
        self.pending.timeseries.is_empty() && self.pending.metadata.is_empty()
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
