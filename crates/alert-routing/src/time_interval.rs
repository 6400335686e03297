//! Alertmanager's `time_intervals`: named sets of times of day, weekdays, days of the
//! month, months and years (in a time zone) that `mute_time_intervals` and
//! `active_time_intervals` of a route refer to.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// `time_intervals` entry: a name and the intervals it stands for (any may match).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeIntervalConfig {
    /// The name routes refer to in `mute_time_intervals` / `active_time_intervals`.
    pub name: String,
    /// The interval is active when any of these matches (each field empty means any).
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalConfig>,
}

/// One interval as written; an absent field matches any value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    /// Time-of-day ranges; all day when empty.
    #[serde(default)]
    pub times: Vec<TimeRangeConfig>,
    /// Weekdays or ranges (`monday:friday`).
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Days of the month or ranges; negative counts from the month's end (`-1` is the last day).
    #[serde(default)]
    pub days_of_month: Vec<String>,
    /// Months by name or number, or ranges (`january:march`, `12`).
    #[serde(default)]
    pub months: Vec<String>,
    /// Years or ranges (`2026`, `2026:2028`).
    #[serde(default)]
    pub years: Vec<String>,
    /// IANA time zone (`Europe/Berlin`) the times and days are read in; `UTC` when
    /// absent, `Local` is refused (a Lambda has no meaningful local zone).
    #[serde(default)]
    pub location: Option<String>,
}

/// `{start_time: "HH:MM", end_time: "HH:MM"}`; end may be `24:00`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeConfig {
    /// `HH:MM`, inclusive.
    pub start_time: String,
    /// `HH:MM`, exclusive; `24:00` is the end of the day.
    pub end_time: String,
}

/// A time interval config Alertmanager would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time interval {name:?}: {reason}")]
pub struct TimeIntervalError {
    /// The interval's name.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Interval {
    /// Minutes since midnight, [start, end).
    times: Vec<(u32, u32)>,
    /// 0 = Sunday .. 6 = Saturday, inclusive ranges.
    weekdays: Vec<(u32, u32)>,
    /// 1..=31 or -31..=-1 (from the end of the month), inclusive ranges.
    days_of_month: Vec<(i32, i32)>,
    months: Vec<(u32, u32)>,
    years: Vec<(i32, i32)>,
    location: Tz,
}

/// All named intervals of a config, ready to answer "is `name` active at `t`?".
#[derive(Debug, Clone, Default)]
pub struct TimeIntervals {
    named: BTreeMap<String, Vec<Interval>>,
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl TimeIntervals {
    /// Validates and compiles the `time_intervals` section.
    pub fn new(configs: &[NamedTimeIntervalConfig]) -> Result<Self, TimeIntervalError> {
        let mut named = BTreeMap::new();
        for config in configs {
            let fail = |reason: String| TimeIntervalError {
                name: config.name.clone(),
                reason,
            };
            if named.contains_key(&config.name) {
                return Err(fail("defined more than once".into()));
            }
            let intervals = config
                .time_intervals
                .iter()
                .map(compile)
                .collect::<Result<Vec<_>, String>>()
                .map_err(fail)?;
            named.insert(config.name.clone(), intervals);
        }
        Ok(Self { named })
    }

    /// Whether the named interval exists.
    pub fn contains(&self, name: &str) -> bool {
        self.named.contains_key(name)
    }

    /// Whether `name` is active at `at`; `None` if no interval has that name.
    pub fn is_active(&self, name: &str, at: DateTime<Utc>) -> Option<bool> {
        self.named
            .get(name)
            .map(|intervals| intervals.iter().any(|i| i.contains(at)))
    }
}

fn compile(config: &TimeIntervalConfig) -> Result<Interval, String> {
    let location = match config.location.as_deref() {
        None | Some("UTC") | Some("") => Tz::UTC,
        Some("Local") => {
            return Err(
                "location \"Local\" is not supported in a Lambda function; name a zone".into(),
            )
        }
        Some(name) => name
            .parse::<Tz>()
            .map_err(|_| format!("location {name:?} is not a known time zone"))?,
    };
    let mut times = Vec::new();
    for t in &config.times {
        let start = parse_clock(&t.start_time)?;
        let end = parse_clock(&t.end_time)?;
        if start >= end {
            return Err(format!(
                "start_time {:?} must be before end_time {:?}",
                t.start_time, t.end_time
            ));
        }
        times.push((start, end));
    }
    let weekdays = config
        .weekdays
        .iter()
        .map(|s| parse_range(s, |x| named_index(x, &WEEKDAYS, 0), "weekday"))
        .collect::<Result<Vec<_>, _>>()?;
    let months = config
        .months
        .iter()
        .map(|s| {
            parse_range(
                s,
                |x| {
                    named_index(x, &MONTHS, 1)
                        .or_else(|| x.parse::<u32>().ok().filter(|m| (1..=12).contains(m)))
                },
                "month",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut days_of_month = Vec::new();
    for s in &config.days_of_month {
        let (a, b) = split_range(s);
        let parse = |x: &str| -> Result<i32, String> {
            let d: i32 = x
                .trim()
                .parse()
                .map_err(|_| format!("invalid day of month {s:?}"))?;
            if d == 0 || !(-31..=31).contains(&d) {
                return Err(format!("day of month {d} out of range in {s:?}"));
            }
            Ok(d)
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if start.signum() == end.signum() && start > end {
            return Err(format!("start day cannot be after end day in {s:?}"));
        }
        days_of_month.push((start, end));
    }
    let mut years = Vec::new();
    for s in &config.years {
        let (a, b) = split_range(s);
        let parse = |x: &str| {
            x.trim()
                .parse::<i32>()
                .map_err(|_| format!("invalid year {s:?}"))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if start > end {
            return Err(format!("start year cannot be after end year in {s:?}"));
        }
        years.push((start, end));
    }
    Ok(Interval {
        times,
        weekdays,
        days_of_month,
        months,
        years,
        location,
    })
}

/// `HH:MM` to minutes; `24:00` allowed as an end.
fn parse_clock(s: &str) -> Result<u32, String> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("invalid time {s:?} (want HH:MM)"))?;
    let h: u32 = h.parse().map_err(|_| format!("invalid time {s:?}"))?;
    let m: u32 = m.parse().map_err(|_| format!("invalid time {s:?}"))?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) || s.len() != 5 {
        return Err(format!("invalid time {s:?} (want HH:MM, 00:00 to 24:00)"));
    }
    Ok(h * 60 + m)
}

fn named_index(s: &str, names: &[&str], base: u32) -> Option<u32> {
    let lower = s.trim().to_ascii_lowercase();
    names
        .iter()
        .position(|n| *n == lower)
        .map(|i| i as u32 + base)
}

fn split_range(s: &str) -> (&str, &str) {
    // A leading '-' is a negative day, not a range separator.
    let search_from = usize::from(s.starts_with('-'));
    match s[search_from..].find(':') {
        Some(i) => (&s[..search_from + i], &s[search_from + i + 1..]),
        None => (s, s),
    }
}

fn parse_range(
    s: &str,
    parse: impl Fn(&str) -> Option<u32>,
    what: &str,
) -> Result<(u32, u32), String> {
    let (a, b) = split_range(s);
    let start = parse(a).ok_or_else(|| format!("invalid {what} {a:?} in {s:?}"))?;
    let end = parse(b).ok_or_else(|| format!("invalid {what} {b:?} in {s:?}"))?;
    if start > end {
        return Err(format!("start {what} cannot be after end {what} in {s:?}"));
    }
    Ok((start, end))
}

impl Interval {
    fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = self.location.from_utc_datetime(&at.naive_utc());
        let minute = local.hour() * 60 + local.minute();
        if !self.times.is_empty() && !self.times.iter().any(|(s, e)| (*s..*e).contains(&minute)) {
            return false;
        }
        let weekday = local.weekday().num_days_from_sunday();
        if !self.weekdays.is_empty()
            && !self
                .weekdays
                .iter()
                .any(|(s, e)| (*s..=*e).contains(&weekday))
        {
            return false;
        }
        if !self.days_of_month.is_empty() {
            let days_in_month = days_in_month(local.year(), local.month());
            let day = local.day() as i32;
            let resolve = |d: i32| if d < 0 { days_in_month + 1 + d } else { d };
            if !self
                .days_of_month
                .iter()
                .any(|(s, e)| (resolve(*s)..=resolve(*e)).contains(&day))
            {
                return false;
            }
        }
        if !self.months.is_empty()
            && !self
                .months
                .iter()
                .any(|(s, e)| (*s..=*e).contains(&local.month()))
        {
            return false;
        }
        if !self.years.is_empty()
            && !self
                .years
                .iter()
                .any(|(s, e)| (*s..=*e).contains(&local.year()))
        {
            return false;
        }
        true
    }
}

fn days_in_month(year: i32, month: u32) -> i32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(year, month, 1),
        NaiveDate::from_ymd_opt(next_year, next_month, 1),
    ) {
        (Some(first), Some(next)) => (next - first).num_days() as i32,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intervals(yaml: &str) -> Result<TimeIntervals, TimeIntervalError> {
        let configs: Vec<NamedTimeIntervalConfig> = yaml_serde::from_str(yaml).expect("yaml");
        TimeIntervals::new(&configs)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn office_hours_in_a_time_zone() {
        let t = intervals(
            "- name: office\n  time_intervals:\n  - times: [{start_time: '09:00', end_time: '17:00'}]\n    weekdays: ['monday:friday']\n    location: Europe/Berlin\n",
        )
        .expect("valid");
        // 2024-01-08 is a Monday; Berlin is UTC+1 in winter.
        assert_eq!(
            t.is_active("office", at("2024-01-08T08:30:00Z")),
            Some(true)
        );
        assert_eq!(
            t.is_active("office", at("2024-01-08T07:30:00Z")),
            Some(false),
            "08:30 local"
        );
        assert_eq!(
            t.is_active("office", at("2024-01-08T16:00:00Z")),
            Some(false),
            "17:00 local, end exclusive"
        );
        assert_eq!(
            t.is_active("office", at("2024-01-06T10:00:00Z")),
            Some(false),
            "Saturday"
        );
        assert_eq!(t.is_active("nope", at("2024-01-08T10:00:00Z")), None);
    }

    #[test]
    fn days_of_month_from_the_end_months_and_years() {
        let t = intervals(
            "- name: month_end\n  time_intervals:\n  - days_of_month: ['-3:-1']\n    months: ['february', '12']\n    years: ['2024:2025']\n",
        )
        .expect("valid");
        assert_eq!(
            t.is_active("month_end", at("2024-02-27T12:00:00Z")),
            Some(true),
            "leap year: 27..29"
        );
        assert_eq!(
            t.is_active("month_end", at("2024-02-26T12:00:00Z")),
            Some(false)
        );
        assert_eq!(
            t.is_active("month_end", at("2025-12-31T23:59:00Z")),
            Some(true)
        );
        assert_eq!(
            t.is_active("month_end", at("2026-12-31T12:00:00Z")),
            Some(false),
            "year"
        );
        assert_eq!(
            t.is_active("month_end", at("2024-03-31T12:00:00Z")),
            Some(false),
            "month"
        );
    }

    #[test]
    fn invalid_configs_are_rejected_with_the_reason() {
        for (yaml, needle) in [
            ("- name: a\n  time_intervals: [{times: [{start_time: '10:00', end_time: '09:00'}]}]", "before end_time"),
            ("- name: a\n  time_intervals: [{times: [{start_time: '10:00', end_time: '24:30'}]}]", "invalid time"),
            ("- name: a\n  time_intervals: [{weekdays: ['funday']}]", "weekday"),
            ("- name: a\n  time_intervals: [{days_of_month: ['0']}]", "out of range"),
            ("- name: a\n  time_intervals: [{months: ['13']}]", "month"),
            ("- name: a\n  time_intervals: [{location: 'Mars/Olympus'}]", "time zone"),
            ("- name: a\n- name: a", "more than once"),
        ] {
            let err = intervals(yaml).expect_err(yaml);
            assert!(err.to_string().contains(needle), "{yaml}: {err}");
        }
    }
}
