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
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    utf8(out)
}

/// Appends the canonical JSON of `value` to `out`. Keys and scalars are written by serde_json's
/// own serializer straight into `out` (the same bytes as `Value::to_string`, without a `String`
/// and a formatter per scalar), so this is the one place canonical bytes are produced.
pub fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if let Some(v) = map.get(key) {
                    write_entry(key, v, out);
                }
            }
            out.push(b'}');
        }
        serde_json::Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

/// Appends one canonical object entry, `"key":<canonical value>`, to `out`.
pub fn write_entry(key: &str, value: &serde_json::Value, out: &mut Vec<u8>) {
    write_json(key, out);
    out.push(b':');
    write_canonical(value, out);
}

/// Appends the compact JSON of a string or scalar (no object inside, so no order to fix).
fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a `str`, number, bool or null into a `Vec` cannot fail: no I/O, no map keys to refuse.
    let _ = serde_json::to_writer(out, value);
}

/// Text from bytes serde_json wrote, which are UTF-8 (it writes `str`s and ASCII only).
fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
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

/// The form a store keeps a sealed record in: its canonical JSON *with* `record_hash`, which
/// sits among the other keys in sorted order. Taking the `"record_hash":"..."` entry (and one
/// comma) out of this text leaves exactly the bytes [`record_hash`] hashes, so a verifier can
/// hash the stored text as it is, without parsing it into a record.
pub fn sealed_json(record: &DecisionRecord) -> String {
    match serde_json::to_value(record) {
        Ok(value) => canonical_json(&value),
        // Serialising plain data cannot fail; an empty object never verifies, so nothing is lost.
        Err(_) => "{}".to_owned(),
    }
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

/// What is wrong with one record of a session's chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChainFault {
    /// The record's content no longer hashes to its `record_hash`: a field was changed, or the
    /// hash was.
    HashMismatch {
        /// The hash the record carries (`None` if it carries none).
        stored: Option<String>,
        /// The hash its content gives now.
        computed: String,
    },
    /// `prev_hash` is not the `record_hash` of the record before it in the session: a record
    /// was removed, inserted or moved.
    BrokenLink {
        /// The previous record's hash (`None` for the first record of the session).
        expected: Option<String>,
        /// What the record's `prev_hash` holds.
        found: Option<String>,
    },
    /// The record names another session than the one it was read from.
    WrongSession {
        /// The session the record says it belongs to.
        found: String,
    },
    /// The records are not in increasing `sequence` order, or one has no sequence.
    OutOfOrder {
        /// The sequence of the record before it.
        previous: Option<u64>,
    },
    /// The session's summary names a different head than the chain's last record.
    HeadMismatch {
        /// The summary's `head_hash`.
        expected: Option<String>,
        /// The last record's `record_hash`.
        found: Option<String>,
    },
    /// The session's summary counts a different number of decisions than were read.
    CountMismatch {
        /// The summary's `decision_count`.
        expected: u64,
        /// The number of records read.
        found: u64,
    },
}

/// One problem found in a chain: the record it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainProblem {
    /// The record concerned; `None` for head and count problems, which concern the summary.
    pub decision_id: Option<String>,
    /// Its `sequence`, when it has one.
    pub sequence: Option<u64>,
    /// What is wrong.
    #[serde(flatten)]
    pub fault: ChainFault,
}

/// What a session summary says its chain should end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedHead<'a> {
    /// The summary's `head_hash`.
    pub head_hash: Option<&'a str>,
    /// The summary's `decision_count`.
    pub decision_count: u64,
}

/// The integrity of one session's chain, computed from its records alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainStatus {
    /// True when every record hashes to its `record_hash`, links to the one before it, and the
    /// chain ends where the summary says.
    pub intact: bool,
    /// Records checked.
    pub records: u64,
    /// The last record's `record_hash`.
    pub head_hash: Option<String>,
    /// Every problem found, in chain order.
    pub problems: Vec<ChainProblem>,
}

/// One record as a chain walk sees it: who it is, where it says it sits, and whether its content
/// still hashes to the `record_hash` it carries (`computed_hash`, worked out by the caller, so a
/// verifier can hash many records in parallel and walk them in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link<'a> {
    /// The record's `decision_id`.
    pub decision_id: &'a str,
    /// The session the record names.
    pub session_id: &'a str,
    /// Its `sequence`.
    pub sequence: Option<u64>,
    /// Its `prev_hash`.
    pub prev_hash: Option<&'a str>,
    /// The `record_hash` it carries.
    pub record_hash: Option<&'a str>,
    /// What its content hashes to now.
    pub computed_hash: &'a str,
}

/// A session's chain checked one record at a time, oldest first: what [`check_chain`] does over
/// a slice, for callers that stream records (a verifier walking a million-record log).
#[derive(Debug, Clone)]
pub struct ChainWalk {
    session_id: String,
    prev_hash: Option<String>,
    prev_sequence: Option<u64>,
    records: u64,
    problems: Vec<ChainProblem>,
}

impl ChainWalk {
    /// A walk over the chain of `session_id`, before its first record.
    pub fn new(session_id: &str) -> ChainWalk {
        ChainWalk {
            session_id: session_id.to_owned(),
            prev_hash: None,
            prev_sequence: None,
            records: 0,
            problems: Vec::new(),
        }
    }

    /// Checks the next record: its session, its order, its hash and its link to the record
    /// before it. Returns the problems it found (also kept for [`finish`](Self::finish)).
    pub fn push(&mut self, link: &Link<'_>) -> &[ChainProblem] {
        let before = self.problems.len();
        let problem = |fault| ChainProblem {
            decision_id: Some(link.decision_id.to_owned()),
            sequence: link.sequence,
            fault,
        };
        if link.session_id != self.session_id {
            self.problems.push(problem(ChainFault::WrongSession {
                found: link.session_id.to_owned(),
            }));
        }
        let in_order = match (self.prev_sequence, link.sequence) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(p), Some(s)) => s > p,
        };
        if !in_order && (self.records > 0 || link.sequence.is_none()) {
            self.problems.push(problem(ChainFault::OutOfOrder {
                previous: self.prev_sequence,
            }));
        }
        if link.record_hash != Some(link.computed_hash) {
            self.problems.push(problem(ChainFault::HashMismatch {
                stored: link.record_hash.map(str::to_owned),
                computed: link.computed_hash.to_owned(),
            }));
        }
        if link.prev_hash != self.prev_hash.as_deref() {
            self.problems.push(problem(ChainFault::BrokenLink {
                expected: self.prev_hash.clone(),
                found: link.prev_hash.map(str::to_owned),
            }));
        }
        // The head's buffer is reused: a verifier pushes a million links through here.
        match (link.record_hash, &mut self.prev_hash) {
            (Some(hash), Some(head)) => {
                head.clear();
                head.push_str(hash);
            }
            (hash, head) => *head = hash.map(str::to_owned),
        }
        self.prev_sequence = link.sequence.or(self.prev_sequence);
        self.records += 1;
        &self.problems[before..]
    }

    /// Records checked so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The `record_hash` of the last record checked.
    pub fn head_hash(&self) -> Option<&str> {
        self.prev_hash.as_deref()
    }

    /// Ends the walk: given `expected`, checks that the chain ends at the summary's head with the
    /// summary's count.
    pub fn finish(mut self, expected: Option<ExpectedHead<'_>>) -> ChainStatus {
        let head_hash = self.prev_hash.clone();
        if let Some(expected) = expected {
            if expected.head_hash != head_hash.as_deref() {
                self.problems.push(ChainProblem {
                    decision_id: None,
                    sequence: None,
                    fault: ChainFault::HeadMismatch {
                        expected: expected.head_hash.map(str::to_owned),
                        found: head_hash.clone(),
                    },
                });
            }
            if expected.decision_count != self.records {
                self.problems.push(ChainProblem {
                    decision_id: None,
                    sequence: None,
                    fault: ChainFault::CountMismatch {
                        expected: expected.decision_count,
                        found: self.records,
                    },
                });
            }
        }
        ChainStatus {
            intact: self.problems.is_empty(),
            records: self.records,
            head_hash,
            problems: self.problems,
        }
    }
}

/// Checks one session's chain: `records` as read from a store, oldest first. Recomputes every
/// record's hash, checks every `prev_hash` link and the `sequence` order, and, given `expected`,
/// that the chain ends at the summary's head with the summary's count. Total: any input gives a
/// status, never a panic.
pub fn check_chain(session_id: &str, records: &[DecisionRecord], expected: Option<ExpectedHead<'_>>) -> ChainStatus {
    let mut walk = ChainWalk::new(session_id);
    for record in records {
        let computed = record_hash(record);
        walk.push(&Link {
            decision_id: &record.decision_id,
            session_id: &record.session_id,
            sequence: record.sequence,
            prev_hash: record.prev_hash.as_deref(),
            record_hash: record.record_hash.as_deref(),
            computed_hash: &computed,
        });
    }
    walk.finish(expected)
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

    /// The writer it replaced: a `String` per key and per scalar through `Display`.
    fn canonical_by_display(value: &serde_json::Value, out: &mut String) {
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
                    canonical_by_display(&map[key], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical_by_display(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }

    proptest::proptest! {
        /// Writing canonical JSON as bytes through serde_json's serializer gives exactly the text
        /// the `Display`-per-scalar writer gave (escapes, numbers, floats, nesting): hashes of
        /// stored records do not change.
        #[test]
        fn canonical_bytes_equal_the_display_writer(value in crate::arbitrary::json_value()) {
            let mut expected = String::new();
            canonical_by_display(&value, &mut expected);
            proptest::prop_assert_eq!(canonical_json(&value), expected);
        }
    }

    /// Every ASCII character, control characters included, is escaped as before.
    #[test]
    fn canonical_escapes_equal_the_display_writer() {
        for c in (0u8..=0x7f)
            .map(char::from)
            .chain(['\u{80}', '\u{2028}', '\u{fffd}', '\u{10ffff}'])
        {
            let value = serde_json::json!({ format!("k{c}"): format!("v{c}") });
            let mut expected = String::new();
            canonical_by_display(&value, &mut expected);
            assert_eq!(canonical_json(&value), expected, "{c:?}");
        }
    }

    /// The stored form is the canonical form with `record_hash` among the sorted keys: without
    /// that entry it is exactly what `record_hash` hashes.
    #[test]
    fn sealed_json_is_the_canonical_form_with_the_hash() {
        let mut r = record();
        seal(&mut r, Some("ab".repeat(32)));
        let text = sealed_json(&r);
        let hash = r.record_hash.clone().unwrap();
        let entry = format!(",\"record_hash\":\"{hash}\"");
        assert!(text.contains(&entry), "{text}");
        let without = text.replacen(&entry, "", 1);
        assert_eq!(hex(&Sha256::digest(without.as_bytes())), hash);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(canonical_json(&value), text);
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

    /// Three records of one session, sealed in order with sequences 1, 2, 3.
    fn chain() -> Vec<DecisionRecord> {
        let mut out: Vec<DecisionRecord> = Vec::new();
        for i in 1..=3u64 {
            let mut r = record();
            r.decision_id = format!("dec_{i}");
            r.session_id = "s".into();
            r.sequence = Some(i * 10);
            seal(&mut r, out.last().and_then(|p| p.record_hash.clone()));
            out.push(r);
        }
        out
    }

    fn kinds(status: &ChainStatus) -> Vec<(Option<&str>, &'static str)> {
        status
            .problems
            .iter()
            .map(|p| {
                let kind = match p.fault {
                    ChainFault::HashMismatch { .. } => "hash",
                    ChainFault::BrokenLink { .. } => "link",
                    ChainFault::WrongSession { .. } => "session",
                    ChainFault::OutOfOrder { .. } => "order",
                    ChainFault::HeadMismatch { .. } => "head",
                    ChainFault::CountMismatch { .. } => "count",
                };
                (p.decision_id.as_deref(), kind)
            })
            .collect()
    }

    /// An untouched chain is intact and ends at its last record, also against its summary.
    #[test]
    fn intact_chain() {
        let c = chain();
        let head = c[2].record_hash.clone();
        let s = check_chain(
            "s",
            &c,
            Some(ExpectedHead {
                head_hash: head.as_deref(),
                decision_count: 3,
            }),
        );
        assert!(s.intact, "{s:?}");
        assert_eq!(s.records, 3);
        assert_eq!(s.head_hash, head);
        assert!(
            check_chain(
                "s",
                &[],
                Some(ExpectedHead {
                    head_hash: None,
                    decision_count: 0
                })
            )
            .intact
        );
    }

    /// An edited field, a removed record, a swapped pair and a foreign record are each named.
    #[test]
    fn tampering_is_named() {
        let mut edited = chain();
        edited[1].reason = "nothing to see".into();
        assert_eq!(kinds(&check_chain("s", &edited, None)), vec![(Some("dec_2"), "hash")]);

        let mut removed = chain();
        removed.remove(1);
        assert_eq!(kinds(&check_chain("s", &removed, None)), vec![(Some("dec_3"), "link")]);

        let mut swapped = chain();
        swapped.swap(1, 2);
        assert_eq!(
            kinds(&check_chain("s", &swapped, None)),
            vec![
                (Some("dec_3"), "link"),
                (Some("dec_2"), "order"),
                (Some("dec_2"), "link")
            ]
        );

        let mut foreign = chain();
        foreign[0].session_id = "other".into();
        seal(&mut foreign[0], None);
        let status = check_chain("s", &foreign, None);
        let k = kinds(&status);
        assert_eq!(k[0], (Some("dec_1"), "session"));
        assert!(k.contains(&(Some("dec_2"), "link")));
    }

    /// A truncated chain still links, but not to the summary's head and count.
    #[test]
    fn truncation_against_summary() {
        let c = chain();
        let head = c[2].record_hash.clone();
        let s = check_chain(
            "s",
            &c[..2],
            Some(ExpectedHead {
                head_hash: head.as_deref(),
                decision_count: 3,
            }),
        );
        assert_eq!(kinds(&s), vec![(None, "head"), (None, "count")]);
        assert!(!s.intact);
    }
}
