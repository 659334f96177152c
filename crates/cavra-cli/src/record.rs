//! Stamping evaluations into decision records: time-ordered ids and the clock.
//!
//! Ids are ULIDs from a monotonic generator, so records made in the same millisecond still sort
//! in creation order.

use cavra_core::RecordStamp;

/// Hands out decision and correlation ids.
pub struct Stamper {
    ids: ulid::Generator,
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
        let now = chrono::Utc::now();
        RecordStamp {
            decision_id: format!("dec_{}", self.next()),
            timestamp: now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            generated_correlation_id: format!("corr_{}", self.next()),
        }
    }
}
