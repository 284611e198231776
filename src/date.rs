//! Calendar dates as days since 1970-01-01 (the same count polars uses for `Date`).
//! Kept in-house: the tool needs parsing, month arithmetic and formatting, nothing more.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::num::NonZeroU32;

/// A run's reference date (cut-off, as-of) and, in words, where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct DateChoice {
    pub date: Date,
    pub why: String,
}

/// A calendar date. Ordered, copyable, four bytes, and so is `Option<Date>`: a book's
/// date columns are `Option<Date>` (payments alone has two of 18 million rows per
/// million clients), and a niche halves them. The day count is kept with its sign bit
/// flipped, which maps signed order onto unsigned order and leaves zero free: only
/// `i32::MIN` (5.8 million years BC) cannot be held, and stands for the day after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Date(NonZeroU32);

const SIGN: u32 = 1 << 31;

impl Date {
    pub const fn from_days(days: i32) -> Self {
        match NonZeroU32::new(days as u32 ^ SIGN) {
            Some(bits) => Date(bits),
            None => Date(NonZeroU32::MIN),
        }
    }

    /// True for a date a client record can carry: from 1850-01-01 (the oldest birth
    /// dates) to 9999-12-31 (the common "open-ended" end date). Year 0 or a day count
    /// millions of years out is a broken export, never a record.
    pub fn is_plausible(self) -> bool {
        // 1850-01-01 and 9999-12-31 as days since 1970-01-01.
        const EARLIEST: i32 = -43_829;
        const LATEST: i32 = 2_932_896;
        (EARLIEST..=LATEST).contains(&self.days())
    }

    pub const fn days(self) -> i32 {
        (self.0.get() ^ SIGN) as i32
    }

    /// Builds a date from year, month (1-12) and day, or `None` when it does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date::from_days(days_from_civil(year, month, day)))
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.days())
    }

    /// Parses `YYYY-MM-DD` (also `YYYY/MM/DD`), tolerating surrounding spaces and a
    /// trailing time part (`2024-01-31T00:00:00`, `2024-01-31 00:00:00`).
    pub fn parse(text: &str) -> Option<Self> {
        let s = text.trim();
        let s = s.split(['T', ' ']).next().unwrap_or(s);
        let b = s.as_bytes();
        if b.len() != 10 || !(b[4] == b'-' && b[7] == b'-' || b[4] == b'/' && b[7] == b'/') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let mut v = 0u32;
            for &c in &b[r] {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + u32::from(c - b'0');
            }
            Some(v)
        };
        let year = i32::try_from(num(0..4)?).ok()?;
        Date::from_ymd(year, num(5..7)?, num(8..10)?)
    }

    pub fn add_days(self, days: i32) -> Self {
        Date::from_days(self.days() + days)
    }

    /// Same day `months` later (negative: earlier), clamped to the month's last day.
    pub fn add_months(self, months: i32) -> Self {
        let (y, m, d) = self.ymd();
        let total = y * 12 + (m as i32 - 1) + months;
        let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        let nd = d.min(days_in_month(ny, nm));
        Date::from_days(days_from_civil(ny, nm, nd))
    }

    /// The last day of this date's month.
    pub fn month_end(self) -> Self {
        let (y, m, _) = self.ymd();
        Date::from_days(days_from_civil(y, m, days_in_month(y, m)))
    }

    /// The last day of the month `months` after this one (negative: before).
    pub fn month_end_offset(self, months: i32) -> Self {
        let (y, m, _) = self.ymd();
        let total = y * 12 + (m as i32 - 1) + months;
        let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
        Date::from_days(days_from_civil(ny, nm, days_in_month(ny, nm)))
    }

    /// The last completed month end on or before this date.
    pub fn last_full_month_end(self) -> Self {
        if self == self.month_end() {
            self
        } else {
            self.month_end_offset(-1)
        }
    }

    /// Whole years from `earlier` to `self` (age, tenure), as a fraction.
    pub fn years_since(self, earlier: Date) -> f64 {
        f64::from(self.days() - earlier.days()) / 365.25
    }

    /// Today's date in UTC.
    pub fn today() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days((secs / 86_400) as i32)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

impl TryFrom<String> for Date {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Date::parse(&s).ok_or_else(|| format!("not a YYYY-MM-DD date: {s:?}"))
    }
}

impl std::str::FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Date::parse(s).ok_or_else(|| format!("not a YYYY-MM-DD date: {s:?}"))
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_date_is_four_bytes_and_order_follows_the_day_count() {
        assert_eq!(std::mem::size_of::<Option<Date>>(), 4);
        let bounds = [
            (1850, 1, 1, true),
            (1849, 12, 31, false),
            (9999, 12, 31, true),
            (0, 1, 1, false),
        ];
        for (y, m, d, plausible) in bounds {
            assert_eq!(
                Date::from_ymd(y, m, d).unwrap().is_plausible(),
                plausible,
                "{y}-{m}-{d}"
            );
        }
        let days = [i32::MIN + 1, -800_000, -1, 0, 1, 20_000, i32::MAX];
        for pair in days.windows(2) {
            assert!(Date::from_days(pair[0]) < Date::from_days(pair[1]));
        }
        for d in days {
            assert_eq!(Date::from_days(d).days(), d);
        }
        assert_eq!(Date::from_days(i32::MIN).days(), i32::MIN + 1);
    }

    #[test]
    fn round_trips_and_epoch() {
        assert_eq!(Date::parse("1970-01-01").map(Date::days), Some(0));
        for days in [-25_000, -1, 0, 59, 60, 11_016, 20_000, 800_000] {
            let d = Date::from_days(days);
            assert_eq!(Date::parse(&d.to_string()), Some(d));
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        for s in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "24-01-01",
            "2024-01-1x",
            "",
        ] {
            assert_eq!(Date::parse(s), None, "{s}");
        }
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse(" 2024-02-29T10:00:00 ").is_some());
    }

    #[test]
    fn month_arithmetic_clamps() {
        let d = Date::parse("2024-01-31").unwrap();
        assert_eq!(d.add_months(1).to_string(), "2024-02-29");
        assert_eq!(d.add_months(-13).to_string(), "2022-12-31");
        assert_eq!(d.month_end_offset(-12).to_string(), "2023-01-31");
        let mid = Date::parse("2026-11-22").unwrap();
        assert_eq!(mid.last_full_month_end().to_string(), "2026-10-31");
        assert_eq!(
            mid.month_end().last_full_month_end().to_string(),
            "2026-11-30"
        );
    }
}
