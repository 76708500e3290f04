//! UTC timestamps in the one format the contract uses: RFC 3339 with a `Z` suffix and
//! whole seconds (`2026-02-01T22:00:00Z`), and calendar dates (`2026-12-31`).
//!
//! Written here rather than pulled from a date crate because the contract needs only
//! these two formats, and a verifier should depend on as little as possible.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A calendar date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// Why a date or timestamp did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {got:?}")]
pub struct ParseError {
    expected: &'static str,
    got: String,
}

impl Date {
    /// Parses `YYYY-MM-DD`, rejecting impossible dates such as `2026-02-30`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError {
            expected: "a date as YYYY-MM-DD",
            got: s.to_owned(),
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let year = digits(&s[0..4]).ok_or_else(err)? as i32;
        let month = digits(&s[5..7]).ok_or_else(err)?;
        let day = digits(&s[8..10]).ok_or_else(err)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(err());
        }
        Ok(Date { year, month, day })
    }

    /// The UTC date of a moment.
    pub fn of(t: SystemTime) -> Self {
        let (date, _) = split(unix_seconds(t));
        date
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Formats a moment as `YYYY-MM-DDTHH:MM:SSZ`, truncating sub-second precision.
pub fn format_rfc3339(t: SystemTime) -> String {
    let (date, secs_of_day) = split(unix_seconds(t));
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

/// Parses the contract's timestamp form, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, ParseError> {
    let err = || ParseError {
        expected: "a UTC timestamp as YYYY-MM-DDTHH:MM:SSZ",
        got: s.to_owned(),
    };
    let b = s.as_bytes();
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return Err(err());
    }
    let date = Date::parse(&s[0..10]).map_err(|_| err())?;
    let (h, m, sec) = (
        digits(&s[11..13]).ok_or_else(err)?,
        digits(&s[14..16]).ok_or_else(err)?,
        digits(&s[17..19]).ok_or_else(err)?,
    );
    if h > 23 || m > 59 || sec > 59 {
        return Err(err());
    }
    let days = days_from_civil(date);
    let total = days * 86_400 + i64::from(h * 3600 + m * 60 + sec);
    let secs = u64::try_from(total).map_err(|_| err())?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn split(secs: i64) -> (Date, u32) {
    let days = secs.div_euclid(86_400);
    let secs_of_day = secs.rem_euclid(86_400) as u32;
    (civil_from_days(days), secs_of_day)
}

fn digits(s: &str) -> Option<u32> {
    if s.bytes().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithm: exact for every proleptic Gregorian date.
fn days_from_civil(d: Date) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(d.month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_moments() {
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_769_983_200);
        assert_eq!(format_rfc3339(t), "2026-02-01T22:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format_rfc3339(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn round_trips_every_day_for_four_centuries() {
        for day in (-200 * 366)..(200 * 366) {
            let date = civil_from_days(day);
            assert_eq!(days_from_civil(date), day, "{date}");
        }
    }

    #[test]
    fn parses_what_it_formats() {
        let t = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        let s = format_rfc3339(t);
        assert_eq!(s, "2099-12-31T23:59:59Z");
        assert_eq!(parse_rfc3339(&s), Ok(t));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "26-01-01xx",
            "2026-00-10",
            "2025-02-29",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse("2024-02-29").is_ok());
        for bad in [
            "2026-02-01T22:00:00",
            "2026-02-01 22:00:00Z",
            "2026-02-01T24:00:00Z",
            "2026-02-01T22:00:00.5Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
