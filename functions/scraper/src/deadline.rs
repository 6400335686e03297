//! Turning the Lambda runtime's deadline into an `Instant` the run can plan against.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Epoch milliseconds before 2001-09-09: no real deadline is that early, so such a
/// value is a duration. Lambda sends epoch milliseconds; some local emulators
/// (cargo-lambda's) send the timeout itself.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// The invocation deadline from `Lambda-Runtime-Deadline-Ms`.
pub fn invocation_deadline(deadline_ms: u64) -> Instant {
    let now = Instant::now();
    if deadline_ms < EPOCH_MS_FLOOR {
        return now + Duration::from_millis(deadline_ms);
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    now + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_relative_deadlines() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let left = |d: Instant| d.saturating_duration_since(Instant::now()).as_secs_f64();
        let epoch = invocation_deadline(now_ms + 30_000);
        assert!((29.0..=30.5).contains(&left(epoch)), "{}", left(epoch));
        let relative = invocation_deadline(600_000);
        assert!(
            (599.0..=600.5).contains(&left(relative)),
            "{}",
            left(relative)
        );
        assert_eq!(left(invocation_deadline(now_ms - 5_000)), 0.0);
    }
}
