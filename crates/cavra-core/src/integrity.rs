//! Record integrity (SPEC §7): each decision's `record_hash` is SHA-256 over its canonical JSON —
//! keys sorted at every level, no insignificant whitespace, `record_hash` itself left out — and
//! `prev_hash` links it to the previous decision of the same session.
//!
//! The canonical form is written here by hand rather than relying on `serde_json`'s map order,
//! which a feature flag elsewhere in a build (`preserve_order`) could silently change.

use sha2::{Digest, Sha256};

use crate::decision::DecisionRecord;

/// The canonical JSON of `value`: object keys sorted, compact.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The hash a record should carry: SHA-256 (lowercase hex) over its canonical JSON without
/// `record_hash`. Unknown fields kept in the record are covered too.
pub fn record_hash(record: &DecisionRecord) -> String {
    let mut value = match serde_json::to_value(record) {
        Ok(v) => v,
        // Serialising plain data cannot fail; an empty object still hashes deterministically.
        Err(_) => serde_json::Value::Object(serde_json::Map::new()),
    };
    if let Some(map) = value.as_object_mut() {
        map.remove("record_hash");
    }
    hex(&Sha256::digest(canonical_json(&value).as_bytes()))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Links `record` after `prev_hash` and seals it: sets `prev_hash`, then `record_hash`.
pub fn seal(record: &mut DecisionRecord, prev_hash: Option<String>) {
    record.prev_hash = prev_hash;
    record.record_hash = None;
    record.record_hash = Some(record_hash(record));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, ActionType, Evaluation, Mode, Outcome, RecordStamp, Severity};

    fn record() -> DecisionRecord {
        let e = Evaluation {
            decision: Outcome::Block,
            severity: Severity::High,
            rule_id: "r".into(),
            policy_id: "p".into(),
            reason: "because".into(),
            suggestion: None,
            approver_group: None,
            matched: vec![],
            mode: Mode::Enforce,
        };
        let stamp = RecordStamp {
            decision_id: "dec_1".into(),
            timestamp: "2026-01-01T00:00:00.000000Z".into(),
            generated_correlation_id: "corr_1".into(),
        };
        DecisionRecord::new(&Action::new(ActionType::ReadFile, ".env"), e, "1.0.0", stamp)
    }

    /// Keys are sorted at every level and whitespace is dropped.
    #[test]
    fn canonical_form() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"z": [1, {"y": 2, "x": 3}], "c": null}}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":{"c":null,"z":[1,{"x":3,"y":2}]},"b":1}"#);
    }

    /// A sealed record verifies; any change to any field, known or unknown, breaks the hash.
    #[test]
    fn seal_detects_changes() {
        let mut r = record();
        seal(&mut r, Some("abc".into()));
        let h = r.record_hash.clone().unwrap();
        assert_eq!(h.len(), 64);
        assert_eq!(record_hash(&r), h);
        let mut changed = r.clone();
        changed.reason.push('!');
        assert_ne!(record_hash(&changed), h);
        let mut extra = r.clone();
        extra.extra.insert("note".into(), serde_json::json!("x"));
        assert_ne!(record_hash(&extra), h);
        let mut relinked = r.clone();
        relinked.prev_hash = Some("abd".into());
        assert_ne!(record_hash(&relinked), h);
    }
}
