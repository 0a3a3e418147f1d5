//! The `current_time` built-in, and RFC 3339 formatting of a [`SystemTime`] without a date
//! crate.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::provider::ToolSpec;

use super::{BoxFuture, Tool, ToolContext};

/// Days in 400 Gregorian years: the calendar repeats after that.
const DAYS_PER_400_YEARS: i64 = 146_097;

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01.
fn civil_date(days_since_epoch: i64) -> (i64, u32, u32) {
    let cycles = days_since_epoch.div_euclid(DAYS_PER_400_YEARS);
    let mut days = days_since_epoch.rem_euclid(DAYS_PER_400_YEARS);
    let mut year = 1970 + cycles * 400;
    loop {
        let in_year = if is_leap(year) { 366 } else { 365 };
        if days < in_year {
            break;
        }
        days -= in_year;
        year += 1;
    }
    let february = if is_leap(year) { 29 } else { 28 };
    let lengths = [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 1;
    for length in lengths {
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    // `days` is below the month's length here, so it fits.
    (year, month, u32::try_from(days).unwrap_or(0) + 1)
}

/// `time` as RFC 3339 in UTC to the second, e.g. `2026-11-28T20:15:03Z`.
pub fn format_rfc3339_utc(time: SystemTime) -> String {
    let seconds: i64 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            // Round towards the past, so 0.5 s before the epoch is 23:59:59.
            let d = before.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -whole - i64::from(d.subsec_nanos() > 0)
        }
    };
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_date(days);
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

pub(super) struct CurrentTime {
    spec: ToolSpec,
}

impl CurrentTime {
    pub(super) fn new() -> Self {
        Self {
            spec: ToolSpec {
                name: "current_time".to_string(),
                description: "The current date and time in UTC, as RFC 3339 \
                              (e.g. 2026-11-28T20:15:03Z). Takes no arguments."
                    .to_string(),
                parameters: serde_json::json!({"type": "object", "properties": {}}),
            },
        }
    }
}

impl Tool for CurrentTime {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(
        &'a self,
        _args: serde_json::Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async { Ok(format_rfc3339_utc(SystemTime::now())) })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64) -> String {
        format_rfc3339_utc(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_164_799), "2024-02-28T23:59:59Z");
        assert_eq!(at(1_709_251_200), "2024-03-01T00:00:00Z");
        assert_eq!(at(1_798_489_503), "2026-12-28T20:25:03Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(at(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn subseconds_are_dropped_and_times_before_the_epoch_round_down() {
        let later = UNIX_EPOCH + Duration::from_millis(1_999);
        assert_eq!(format_rfc3339_utc(later), "1970-01-01T00:00:01Z");
        let before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(format_rfc3339_utc(before), "1969-12-31T23:59:59Z");
        let long_before = UNIX_EPOCH - Duration::from_secs(86_400 * 365);
        assert_eq!(format_rfc3339_utc(long_before), "1969-01-01T00:00:00Z");
    }

    #[test]
    fn every_day_follows_the_one_before() {
        // 1967 to 2106: leap years, a century that is not one (2100), the epoch itself.
        let mut previous = civil_date(-1_000);
        for days in -999..50_000 {
            let next = civil_date(days);
            let (y, m, d) = previous;
            let expected = if next.2 == 1 {
                if next.1 == 1 {
                    (y + 1, 1, 1)
                } else {
                    (y, m + 1, 1)
                }
            } else {
                (y, m, d + 1)
            };
            assert_eq!(next, expected, "day {days}");
            previous = next;
        }
    }
}
