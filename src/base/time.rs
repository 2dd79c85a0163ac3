//! "Now" and timestamps.
//!
//! Every time-dependent figure (days in stage, rotting, overdue, speed-to-lead)
//! reads [`now`], which honours `SOURCE_DATE_EPOCH` so that tests and
//! reproducible reports can pin the clock.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

/// Why `SOURCE_DATE_EPOCH` cannot pin the clock, when it is set to
/// something other than a whole number of seconds from 0 (1970) to the end
/// of year 9999, written in digits alone. The reproducible-builds
/// specification asks a tool to stop then, not to fall back to the clock: a
/// report "pinned" to the wrong day is worse than none. An empty value is
/// taken as unset, as shells write `SOURCE_DATE_EPOCH=` to clear it.
pub fn bad_source_date_epoch() -> Option<String> {
    let s = std::env::var_os("SOURCE_DATE_EPOCH")?;
    if s.is_empty() {
        return None;
    }
    (source_date_epoch(&s).is_none()).then(|| {
        format!(
            "SOURCE_DATE_EPOCH={:?} is not a number of seconds since 1970 (digits only, at most {MAX_EPOCH})",
            s.to_string_lossy()
        )
    })
}

/// The last second of year 9999: later times do not print as RFC 3339.
const MAX_EPOCH: i64 = 253_402_300_799;

fn source_date_epoch(s: &std::ffi::OsStr) -> Option<DateTime<Utc>> {
    let s = s.to_str()?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = s.parse::<i64>().ok().filter(|n| *n <= MAX_EPOCH)?;
    Utc.timestamp_opt(secs, 0).single()
}

/// The current time, or `SOURCE_DATE_EPOCH` (seconds since the epoch) when set.
pub fn now() -> DateTime<Utc> {
    if let Some(s) = std::env::var_os("SOURCE_DATE_EPOCH")
        && let Some(t) = source_date_epoch(&s)
    {
        return t;
    }
    Utc::now()
}

/// Parses an RFC 3339 timestamp, or a plain `YYYY-MM-DD` date meaning that day
/// at 00:00 UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.len() == 10 {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Elapsed days between two instants (elapsed seconds / 86,400).
pub fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

/// Formats a timestamp as RFC 3339 with a `Z` suffix and whole seconds.
pub fn format_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats a timestamp as its UTC date.
pub fn format_date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_dates_are_utc_midnight() {
        let t = parse_timestamp("2026-11-30").unwrap();
        assert_eq!(format_ts(t), "2026-11-30T00:00:00Z");
    }

    #[test]
    fn offsets_are_converted() {
        let t = parse_timestamp("2026-11-02T10:14:00+01:00").unwrap();
        assert_eq!(format_ts(t), "2026-11-02T09:14:00Z");
    }

    #[test]
    fn bad_dates_are_refused() {
        assert!(parse_timestamp("2026-02-30").is_none());
        assert!(parse_timestamp("soon").is_none());
        assert!(parse_timestamp("").is_none());
    }
}

/// A duration in minutes as a person reads it: `4 min`, `20 h 23 min`,
/// `3 d 4 h` (the report, `deal stats`).
pub fn human_minutes(m: f64) -> String {
    if !m.is_finite() || m < 0.0 {
        return "–".into();
    }
    let total = m.round() as i64;
    let (d, h, min) = (total / 1440, (total % 1440) / 60, total % 60);
    match (d, h, min) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A timestamp as a person reads it: `27 Sep 2026, 12:00 UTC`, or
/// `27 Sep 2026` at midnight (a plain date).
pub fn human_ts(t: DateTime<Utc>) -> String {
    use chrono::Timelike;
    if t.hour() == 0 && t.minute() == 0 && t.second() == 0 {
        t.format("%-d %b %Y").to_string()
    } else {
        t.format("%-d %b %Y, %H:%M UTC").to_string()
    }
}

#[cfg(test)]
mod human_tests {
    use super::*;

    #[test]
    fn durations_and_dates_read_as_people_write_them() {
        assert_eq!(human_minutes(4.0), "4 min");
        assert_eq!(human_minutes(1223.0), "20 h 23 min");
        assert_eq!(human_minutes(120.0), "2 h");
        assert_eq!(human_minutes(3.0 * 1440.0 + 250.0), "3 d 4 h");
        assert_eq!(human_minutes(f64::NAN), "–");
        let t = parse_timestamp("2026-09-27T12:00:00Z").unwrap();
        assert_eq!(human_ts(t), "27 Sep 2026, 12:00 UTC");
        assert_eq!(
            human_ts(parse_timestamp("2026-09-27").unwrap()),
            "27 Sep 2026"
        );
    }
}
