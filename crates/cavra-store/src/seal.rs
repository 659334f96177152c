//! Sealing a record in two steps, so that the SQLite writer's serial section hashes ~500 bytes
//! instead of serialising, sorting and hashing the whole record — and writes the stored text in
//! its sealed form at the same time.
//!
//! A record's `record_hash` is SHA-256 over its canonical JSON ([`cavra_core::integrity`]): the
//! top-level keys sorted, each entry `"key":<canonical value>`, joined by commas. Only two entries
//! depend on where the record lands: `prev_hash` (the session's head) and `sequence`. [`Presealed`]
//! is made on the caller's thread: it renders every other entry straight from the record
//! ([`canonical`], no `serde_json::Value` in between) into its run and hashes the ones that sort
//! before `prev_hash`; the writer then adds `prev_hash`, the entries between, `sequence` and the
//! rest. The result is byte-for-byte the hash [`integrity::seal`] gives (a unit test compares them
//! on records with unknown fields sorting everywhere). A record whose unknown fields reuse a
//! sealing key is sealed by [`integrity::seal`] itself.
//!
//! The same rendered entries, with `"record_hash":"..."` in its sorted place, are the text the
//! store keeps ([`integrity::sealed_json`]): a verifier hashes that text as it is, minus the one
//! entry, instead of parsing it (see `cavra-evidence`'s `canonical` module).

use cavra_core::{DecisionRecord, canonical, integrity};
use sha2::{Digest, Sha256};

const PREV_HASH: &str = "prev_hash";
const SEQUENCE: &str = "sequence";
const RECORD_HASH: &str = "record_hash";

/// A record whose canonical form is hashed as far as it can be before its place is known.
#[derive(Clone)]
pub struct Presealed {
    record: DecisionRecord,
    hashing: Hashing,
}

#[derive(Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "Split is the usual case and Whole the rare one; a Presealed travels inside a boxed append"
)]
enum Hashing {
    /// The usual case: the hash state after `{` and the entries sorting before `prev_hash`, and
    /// the rendered entries in four runs around the sealing keys (each run joined by commas).
    Split {
        head: Sha256,
        /// Entries sorting before `prev_hash` (already hashed into `head`).
        before_prev: String,
        /// Entries sorting between `prev_hash` and `record_hash`.
        before_hash: String,
        /// Entries sorting between `record_hash` and `sequence`.
        before_sequence: String,
        /// Entries sorting after `sequence`.
        tail: String,
    },
    /// Unknown fields named like a sealing field, or a record [`canonical`] leaves to the
    /// `serde_json::Value` path: left to [`integrity::seal`].
    Whole,
}

impl Presealed {
    /// Clears `record`'s `sequence`, `prev_hash` and `record_hash` (sealing sets all three) and
    /// hashes what it can of the rest.
    pub fn new(mut record: DecisionRecord) -> Presealed {
        record.sequence = None;
        record.prev_hash = None;
        record.record_hash = None;
        // Rendered straight from the record (no `serde_json::Value` tree); anything the direct
        // writer leaves to the `Value` path is sealed whole, which takes that path.
        let hashing = match canonical::entries(&record) {
            Ok(entries) => split(&entries),
            Err(_) => Hashing::Whole,
        };
        Presealed { record, hashing }
    }

    /// The record, not yet sealed.
    pub fn record(&self) -> &DecisionRecord {
        &self.record
    }

    /// The record back, not sealed (for another try).
    pub fn into_record(self) -> DecisionRecord {
        self.record
    }

    /// The record at `sequence`, linked after `prev_hash` and sealed.
    pub fn seal(self, prev_hash: Option<String>, sequence: u64) -> DecisionRecord {
        self.seal_stored(prev_hash, sequence).0
    }

    /// [`seal`](Self::seal), and the text to store: the sealed record's canonical JSON with its
    /// `record_hash` ([`integrity::sealed_json`]), assembled from the entries already rendered.
    pub fn seal_stored(self, prev_hash: Option<String>, sequence: u64) -> (DecisionRecord, String) {
        let mut record = self.record;
        record.sequence = Some(sequence);
        let Hashing::Split {
            mut head,
            before_prev,
            before_hash,
            before_sequence,
            tail,
        } = self.hashing
        else {
            integrity::seal(&mut record, prev_hash);
            let text = integrity::sealed_json(&record);
            return (record, text);
        };
        let prev = prev_hash.as_deref().map(|p| render(PREV_HASH, p)).unwrap_or_default();
        let sequence = render(SEQUENCE, &sequence);
        let mut first = before_prev.is_empty();
        for text in [&prev, &before_hash, &before_sequence, &sequence, &tail] {
            if text.is_empty() {
                continue;
            }
            if !first {
                head.update(b",");
            }
            head.update(text.as_bytes());
            first = false;
        }
        head.update(b"}");
        let hash = integrity::hex(&head.finalize());
        let hash_entry = render(RECORD_HASH, hash.as_str());
        let parts = [
            &before_prev,
            &prev,
            &before_hash,
            &hash_entry,
            &before_sequence,
            &sequence,
            &tail,
        ];
        let mut stored = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
        stored.push('{');
        for text in parts.into_iter().filter(|t| !t.is_empty()) {
            if stored.len() > 1 {
                stored.push(',');
            }
            stored.push_str(text);
        }
        stored.push('}');
        record.prev_hash = prev_hash;
        record.record_hash = Some(hash);
        (record, stored)
    }
}

/// One canonical entry, `"key":<value>`, for a string or a number (whose canonical JSON is
/// their compact JSON), written without a `serde_json::Value`: this runs on the writer thread.
fn render<T: serde::Serialize + ?Sized>(key: &str, value: &T) -> String {
    let mut out = Vec::with_capacity(key.len() + 72);
    // Writing a string or a number into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut out, key);
    out.push(b':');
    let _ = serde_json::to_writer(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

fn split(entries: &canonical::Entries) -> Hashing {
    // Entries come in canonical order (keys compared as strings, bytes). Each is written
    // straight into its run, comma-separated, so no entry gets a string of its own.
    let mut runs: [Vec<u8>; 4] = Default::default();
    for (key, value) in entries.iter() {
        if [PREV_HASH, SEQUENCE, RECORD_HASH].contains(&key) {
            // Cleared above, so an unknown field reuses the name: sealed whole.
            return Hashing::Whole;
        }
        let run = &mut runs[match key {
            k if k < PREV_HASH => 0,
            k if k < RECORD_HASH => 1,
            k if k < SEQUENCE => 2,
            _ => 3,
        }];
        if !run.is_empty() {
            run.push(b',');
        }
        canonical::write_entry(key, value, run);
    }
    let mut head = Sha256::new();
    head.update(b"{");
    head.update(&runs[0]);
    // serde_json writes UTF-8; were it ever not, sealing whole stays correct.
    let [before_prev, before_hash, before_sequence, tail] = runs;
    match (
        String::from_utf8(before_prev),
        String::from_utf8(before_hash),
        String::from_utf8(before_sequence),
        String::from_utf8(tail),
    ) {
        (Ok(before_prev), Ok(before_hash), Ok(before_sequence), Ok(tail)) => Hashing::Split {
            head,
            before_prev,
            before_hash,
            before_sequence,
            tail,
        },
        _ => Hashing::Whole,
    }
}

#[cfg(test)]
mod tests {
    use cavra_core::{Action, ActionType, PackSet, evaluate};

    use super::*;
    use crate::stamp::Stamper;

    fn records() -> Vec<DecisionRecord> {
        let packs = PackSet::builtin().unwrap();
        let pack = packs.get("cavra-ai-agent-baseline").unwrap();
        let mut stamper = Stamper::new();
        let mut out = Vec::new();
        for (i, target) in ["ls", "rm -rf /", "cat .env", "git push origin main"]
            .iter()
            .enumerate()
        {
            let mut a = Action::new(ActionType::ExecuteCommand, *target);
            a.session_id = Some(format!("s{i}"));
            a.tool_use_id = (i % 2 == 0).then(|| "toolu_1".to_owned());
            out.push(DecisionRecord::new(
                &a,
                evaluate(&a, &pack),
                pack.version(),
                stamper.stamp(),
            ));
        }
        // Unknown fields sorting before, between and after the sealing keys, and at the ends.
        let mut extra = out[0].clone();
        for key in [
            "!first",
            "a",
            "prev",
            "prev_hash0",
            "r",
            "sequenc",
            "sequence0",
            "zzz",
            "ü",
        ] {
            extra
                .extra
                .insert(key.to_owned(), serde_json::json!({"b": [1, "x\"y"], "a": null}));
        }
        out.push(extra);
        // Unknown fields named like sealing fields: sealed whole.
        let mut clash = out[1].clone();
        clash.extra.insert("sequence".to_owned(), serde_json::json!("spoof"));
        out.push(clash);
        out
    }

    /// Sealing in two steps gives exactly the hash `integrity::seal` gives and the stored text
    /// `integrity::sealed_json` gives, with and without a previous hash, whatever unknown fields
    /// the record carries.
    #[test]
    fn two_step_seal_matches_integrity() {
        for record in records() {
            for (prev, sequence) in [
                (None, 1),
                (Some("ab".repeat(32)), 42),
                (Some("\"odd\"".to_owned()), u64::MAX),
            ] {
                let mut expected = record.clone();
                expected.sequence = Some(sequence);
                integrity::seal(&mut expected, prev.clone());
                let mut stale = record.clone();
                stale.sequence = Some(7);
                stale.record_hash = Some("stale".into());
                let (sealed, stored) = Presealed::new(stale).seal_stored(prev.clone(), sequence);
                assert_eq!(sealed, expected, "record {}", record.decision_id);
                assert_eq!(
                    stored,
                    integrity::sealed_json(&expected),
                    "record {}",
                    record.decision_id
                );
                assert_eq!(
                    sealed.record_hash.as_deref(),
                    Some(integrity::record_hash(&sealed).as_str())
                );
            }
        }
    }
}
