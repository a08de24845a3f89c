//! The `TIMESTAMP` of `PASSWORD_VERIFIER` answers: Java's `EEE MMM d HH:mm:ss z yyyy` in UTC
//! with English names, e.g. `Thu Nov 26 10:56:39 UTC 2026` (day of month not zero-padded).

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (`civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // month is in 1..=12 and day in 1..=31 by construction.
    (year, month as u32, day as u32)
}

/// Weekday index (0 = Sunday) of a day count since 1970-01-01 (a Thursday).
fn weekday(days: i64) -> usize {
    // rem_euclid(7) is in 0..7.
    (days + 4).rem_euclid(7) as usize
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Formats Unix seconds as Cognito's timestamp text, e.g. `Mon Jan 5 03:04:05 UTC 2026`.
pub fn format_timestamp(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(SECS_PER_DAY);
    let secs = unix_secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let month_name = MONTHS.get(month as usize - 1).copied().unwrap_or("???");
    let weekday_name = WEEKDAYS.get(weekday(days)).copied().unwrap_or("???");
    format!("{weekday_name} {month_name} {day} {:02}:{:02}:{:02} UTC {year}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn parse_num(s: &str, min_len: usize, max_len: usize) -> Option<u32> {
    if s.len() < min_len || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses Cognito's timestamp text back to Unix seconds. Accepts a zero-padded day, `GMT` as
/// well as `UTC`, and any run of spaces between fields; rejects a weekday that does not match
/// the date, unknown names and out-of-range fields.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace();
    let (wd, mon, day, hms, zone, year) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !(zone == "UTC" || zone == "GMT") {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let year = i64::from(parse_num(year, 4, 4)?);
    let day = parse_num(day, 1, 2)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut hms = hms.split(':');
    let (h, m, s) = (parse_num(hms.next()?, 2, 2)?, parse_num(hms.next()?, 2, 2)?, parse_num(hms.next()?, 2, 2)?);
    if hms.next().is_some() || h > 23 || m > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if WEEKDAYS.get(weekday(days)).copied() != Some(wd) {
        return None;
    }
    Some(days * SECS_PER_DAY + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s))
}

/// True when `text` parses and lies within `max_skew_secs` of `now_unix_secs` either way.
pub fn timestamp_within(text: &str, now_unix_secs: i64, max_skew_secs: i64) -> bool {
    parse_timestamp(text).is_some_and(|t| (t - now_unix_secs).abs() <= max_skew_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unix seconds computed independently with Python:
    // calendar.timegm((2026, 11, 26, 10, 56, 39)) and friends.
    const KNOWN: [(i64, &str); 6] = [
        (1_795_690_599, "Thu Nov 26 10:56:39 UTC 2026"),
        (1_767_582_245, "Mon Jan 5 03:04:05 UTC 2026"),
        (0, "Thu Jan 1 00:00:00 UTC 1970"),
        (951_782_400, "Tue Feb 29 00:00:00 UTC 2000"),
        (4_107_542_399, "Sun Feb 28 23:59:59 UTC 2100"),
        (1_709_251_199, "Thu Feb 29 23:59:59 UTC 2024"),
    ];

    #[test]
    fn formats_known_instants() {
        for (secs, text) in KNOWN {
            assert_eq!(format_timestamp(secs), text, "{secs}");
        }
    }

    #[test]
    fn parses_known_instants() {
        for (secs, text) in KNOWN {
            assert_eq!(parse_timestamp(text), Some(secs), "{text}");
        }
        assert_eq!(parse_timestamp("Mon Jan 05 03:04:05 UTC 2026"), Some(1_767_582_245));
        assert_eq!(parse_timestamp("Mon Jan  5 03:04:05 GMT 2026"), Some(1_767_582_245));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Tue Jan 5 03:04:05 UTC 2026", // wrong weekday
            "Mon Jan 5 03:04:05 CET 2026", // zone
            "Mon Jan 5 3:04:05 UTC 2026",  // hour not two digits
            "Mon Jan 5 24:04:05 UTC 2026", // hour range
            "Mon Jan 5 03:04 UTC 2026",    // no seconds
            "Mon Jan 5 03:04:05:06 UTC 2026",
            "Mon Jan 0 03:04:05 UTC 2026",
            "Sun Feb 29 00:00:00 UTC 2026", // not a leap year
            "Mon Foo 5 03:04:05 UTC 2026",
            "Mon Jan 5 03:04:05 UTC 2026 extra",
            "Mon Jan 5 03:04:05 UTC 26",
            "Mon Jan +5 03:04:05 UTC 2026",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_many_instants() {
        let mut t: i64 = 0;
        while t < 4_102_444_800 {
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
            t += 7_777_777; // ~90 days, varying time of day
        }
    }

    #[test]
    fn skew_window() {
        let now = 1_795_690_599;
        assert!(timestamp_within("Thu Nov 26 10:56:39 UTC 2026", now, 300));
        assert!(timestamp_within("Thu Nov 26 11:01:39 UTC 2026", now, 300));
        assert!(!timestamp_within("Thu Nov 26 11:01:40 UTC 2026", now, 300));
        assert!(!timestamp_within("Thu Nov 26 10:51:38 UTC 2026", now, 300));
        assert!(!timestamp_within("garbage", now, 300));
    }
}
