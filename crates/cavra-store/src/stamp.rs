//! Stamping evaluations into decision records: time-ordered ids and the clock.
//!
//! Kept out of `cavra-core`, which has no clock and no randomness.
//!
//! Ids are ULIDs from a monotonic generator, so records made in the same millisecond still sort
//! in creation order.

use cavra_core::RecordStamp;

/// Hands out decision and correlation ids.
pub struct Stamper {
    ids: ulid::Generator,
}

impl Default for Stamper {
    fn default() -> Stamper {
        Stamper::new()
    }
}

impl Stamper {
    /// A new generator.
    pub fn new() -> Stamper {
        Stamper {
            ids: ulid::Generator::new(),
        }
    }

    fn next(&mut self) -> ulid::Ulid {
        self.ids.generate().unwrap_or_else(|_| ulid::Ulid::new())
    }

    /// Ids and the current time for one record.
    pub fn stamp(&mut self) -> RecordStamp {
        RecordStamp {
            decision_id: id("dec_", self.next()),
            timestamp: rfc3339_micros(chrono::Utc::now()),
            generated_correlation_id: id("corr_", self.next()),
        }
    }
}

/// `prefix` and the ULID's 26 characters, in one allocation (what `format!("{prefix}{ulid}")`
/// gives, without the formatter: this runs under the stamper's lock on every decision).
fn id(prefix: &str, ulid: ulid::Ulid) -> String {
    let mut buf = [0; ulid::ULID_LEN];
    let mut id = String::with_capacity(prefix.len() + ulid::ULID_LEN);
    id.push_str(prefix);
    id.push_str(ulid.array_to_str(&mut buf));
    id
}

/// `2026-11-25T17:08:27.649102Z`: RFC 3339, UTC, `Z`, always six fractional digits (written by
/// hand: chrono's format strings are re-parsed on every call, and `format!` with widths costs
/// as much again as these digit pushes).
pub fn rfc3339_micros(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let year = match u32::try_from(t.year()) {
        Ok(year) if year <= 9999 => year,
        _ => return rfc3339_micros_formatted(t),
    };
    let mut out = String::with_capacity(27);
    push_digits(&mut out, year, 4);
    out.push('-');
    push_digits(&mut out, t.month(), 2);
    out.push('-');
    push_digits(&mut out, t.day(), 2);
    out.push('T');
    push_digits(&mut out, t.hour(), 2);
    out.push(':');
    push_digits(&mut out, t.minute(), 2);
    out.push(':');
    push_digits(&mut out, t.second(), 2);
    out.push('.');
    push_digits(&mut out, t.timestamp_subsec_micros().min(999_999), 6);
    out.push('Z');
    out
}

/// The last `width` decimal digits of `value`, zero-padded (callers pass values that fit).
fn push_digits(out: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u32.pow(place)) % 10;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
    }
}

/// [`rfc3339_micros`] through `format!`, for years outside 0..=9999 (sign and widths as
/// `format!` writes them).
fn rfc3339_micros_formatted(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_micros().min(999_999)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timestamps have the SPEC's fixed shape.
    #[test]
    fn timestamp_shape() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05.000007Z")
            .unwrap()
            .to_utc();
        assert_eq!(rfc3339_micros(t), "2026-01-02T03:04:05.000007Z");
    }

    /// The digits written by hand equal `format!`'s, across years 0..=9999, leap seconds and
    /// the years outside that `format!` still writes.
    #[test]
    fn timestamp_digits_equal_format() {
        let first: i64 = -62_167_219_200_000_000; // 0000-01-01T00:00:00Z
        let last: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let samples = (0..50_000).map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            first + i64::try_from((state >> 1) % u64::try_from(last - first).unwrap()).unwrap()
        });
        for micros in [first, last, 0, 1_767_225_599_999_999].into_iter().chain(samples) {
            let t = chrono::DateTime::from_timestamp_micros(micros).unwrap();
            assert_eq!(rfc3339_micros(t), rfc3339_micros_formatted(t), "{micros}");
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 1_500_000)
            .unwrap()
            .and_utc();
        assert_eq!(rfc3339_micros(leap), "2016-12-31T23:59:59.999999Z");
        for year in [-1, 10_000, 262_000] {
            let t = chrono::NaiveDate::from_ymd_opt(year, 1, 2)
                .unwrap()
                .and_hms_opt(3, 4, 5)
                .unwrap()
                .and_utc();
            assert_eq!(rfc3339_micros(t), rfc3339_micros_formatted(t));
        }
    }

    /// Ids are the prefix and the ULID's text, as `format!` wrote them.
    #[test]
    fn ids_equal_format() {
        let ulid = ulid::Ulid::new();
        assert_eq!(id("dec_", ulid), format!("dec_{ulid}"));
        let stamp = Stamper::new().stamp();
        assert!(stamp.decision_id.starts_with("dec_") && stamp.decision_id.len() == 30);
        assert!(stamp.generated_correlation_id.starts_with("corr_") && stamp.generated_correlation_id.len() == 31);
    }
}
