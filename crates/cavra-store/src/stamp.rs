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
            decision_id: format!("dec_{}", self.next()),
            timestamp: rfc3339_micros(chrono::Utc::now()),
            generated_correlation_id: format!("corr_{}", self.next()),
        }
    }
}

/// `2026-11-25T17:08:27.649102Z`: RFC 3339, UTC, `Z`, always six fractional digits (written by
/// hand: chrono's format strings are re-parsed on every call).
pub fn rfc3339_micros(t: chrono::DateTime<chrono::Utc>) -> String {
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
}
