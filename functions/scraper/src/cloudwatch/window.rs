//! Which CloudWatch datapoints a run owns. A Lambda keeps no state between runs and
//! AMP rejects duplicate and out-of-order samples, so each run derives its window from
//! the *scheduled* time of its event (not the wall clock): run k owns the period-aligned
//! interval `[align(T_k - interval - delay), align(T_k - delay))`, where `align` rounds
//! down to a multiple of `period`. Consecutive runs (T, T + interval) therefore own
//! consecutive, non-overlapping windows, and every datapoint is written once, with its
//! CloudWatch timestamp. A retried invocation of the same event owns the same window.

use std::time::Duration;

/// Times in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First second this run owns (inclusive), aligned to the period.
    pub own_start: i64,
    /// End of what this run owns (exclusive), aligned to the period.
    pub own_end: i64,
    /// Start of the GetMetricData query: `length` before `own_end`, and never after
    /// `own_start` (a longer schedule interval widens the query).
    pub query_start: i64,
}

impl Window {
    /// Whether a datapoint at `timestamp` belongs to this run.
    pub fn owns(&self, timestamp: i64) -> bool {
        (self.own_start..self.own_end).contains(&timestamp)
    }
}

/// The window of a run scheduled at `scheduled` (epoch seconds) on a schedule of
/// `interval`, for a metric with `period`, `length` and `delay`. `None` when `period`
/// is zero (config validation rejects that first).
pub fn window(
    scheduled: i64,
    interval: Duration,
    period: Duration,
    length: Duration,
    delay: Duration,
) -> Option<Window> {
    let period = i64::try_from(period.as_secs()).ok().filter(|p| *p > 0)?;
    let interval = i64::try_from(interval.as_secs()).ok()?;
    let length = i64::try_from(length.as_secs()).ok()?;
    let delay = i64::try_from(delay.as_secs()).ok()?;
    let align = |t: i64| t.div_euclid(period) * period;
    let own_end = align(scheduled - delay);
    let own_start = align(scheduled - interval - delay);
    Some(Window {
        own_start,
        own_end,
        query_start: own_start.min(own_end - length.max(period)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn consecutive_runs_tile_without_overlap() {
        let t0 = 1_700_000_040; // a scheduled minute boundary
        let mut previous: Option<Window> = None;
        for k in 0..20 {
            let w = window(t0 + k * 300, 5 * MIN, MIN, 5 * MIN, 2 * MIN).expect("window");
            assert_eq!(w.own_end - w.own_start, 300);
            assert_eq!(w.own_start % 60, 0);
            if let Some(p) = previous {
                assert_eq!(
                    w.own_start,
                    p.own_end,
                    "run {k} starts where run {} ended",
                    k - 1
                );
            }
            previous = Some(w);
        }
    }

    #[test]
    fn every_datapoint_is_owned_by_exactly_one_run_even_when_period_and_interval_differ() {
        // 5-minute periods on a 1-minute schedule, with an unaligned schedule time.
        let t0 = 1_700_000_017;
        let windows: Vec<Window> = (0..60)
            .filter_map(|k| window(t0 + k * 60, MIN, 5 * MIN, 10 * MIN, MIN))
            .collect();
        for ts in (1_700_000_400..1_700_003_000).step_by(300) {
            let owners = windows.iter().filter(|w| w.owns(ts)).count();
            assert_eq!(owners, 1, "datapoint at {ts}");
        }
    }

    #[test]
    fn delay_shifts_the_window_and_a_retry_gets_the_same_one() {
        let a = window(1_700_000_100, 5 * MIN, MIN, 5 * MIN, Duration::ZERO).expect("window");
        let b = window(1_700_000_100, 5 * MIN, MIN, 5 * MIN, 3 * MIN).expect("window");
        assert_eq!(a.own_end - b.own_end, 180);
        assert_eq!(
            window(1_700_000_100, 5 * MIN, MIN, 5 * MIN, 3 * MIN),
            Some(b)
        );
        assert!(b.query_start <= b.own_start);
        assert_eq!(window(0, MIN, Duration::ZERO, MIN, MIN), None);
    }
}
