//! Prometheus' staleness marker: the one NaN bit pattern that means "this series ended
//! here". Prometheus writes it when a series it scraped last time is gone, and PromQL
//! stops returning the series from that timestamp on instead of for the 5-minute
//! lookback. Any other NaN is an ordinary value, so the exact bits matter.

/// The bits of the staleness marker (`value.StaleNaN` in Prometheus' `model/value`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a sample value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `value` is the staleness marker (not merely some NaN).
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_a_nan_but_not_every_nan_is_the_marker() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
        assert!(!is_stale_nan(0.0));
    }
}
