//! `record_hash` straight from a record's stored JSON text, in two ways that never build a
//! `DecisionRecord` or a `serde_json::Value`. This is the verifier's fast path; the authority
//! stays [`cavra_core::integrity::record_hash`] over the typed record.
//!
//! - **Sealed form** ([`sealed`]): the SQL stores keep a record as its canonical JSON with
//!   `record_hash` among the sorted keys ([`cavra_core::integrity::sealed_json`]). Its hash is
//!   SHA-256 over the stored bytes minus that one entry, so the text is only scanned — its top
//!   level checked to be in canonical shape (no whitespace, keys strictly increasing, so no key
//!   twice) and the fields verification compares located — and hashed as it is. No tree, no
//!   allocation. If the bytes hash to the `record_hash` they carry, they *are* the bytes that
//!   were sealed (SHA-256 is collision resistant), and those were canonical: the record is
//!   intact whatever an attacker could have rewritten around it.
//! - **Any form** ([`fast_record_hash`]): text in another form (stores written before the
//!   sealed form, the JSON store, bundles of old stores) is parsed once into a borrowed tree and
//!   written in canonical form (keys sorted, compact) into a SHA-256 state.
//!
//! The second agrees byte for byte with the typed path on every record a store writes (a
//! property test and the corpus test below check it). Where stored text could be read two ways —
//! the same key twice — it declines and the verifier takes the typed path; where the text
//! differs from what was sealed only in form (a `null` for an absent field), its mismatch sends
//! it to the typed path too. So a verdict never rests on a fast path unless it matches, and a
//! match means the text is the sealed content.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};

/// A JSON value borrowing its strings from the input where it can.
#[derive(Debug)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    /// A string: borrowed when the text held it without escapes.
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// The value of `key` in an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of `key` in an object whose keys [`canonical_bytes`] sorted.
    pub(crate) fn get_sorted(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(entries) => entries
                .binary_search_by(|(k, _)| k.as_ref().cmp(key))
                .ok()
                .map(|i| &entries[i].1),
            _ => None,
        }
    }

    /// The string it holds.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The unsigned integer it holds.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(n) => n.as_u64(),
            _ => None,
        }
    }
}

/// A key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(Key(key)) = map.next_key()? {
            let value: Node<'de> = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Node::Object(entries))
    }
}

/// Parses a stored record's JSON.
pub(crate) fn parse(text: &str) -> Option<Node<'_>> {
    serde_json::from_str(text).ok()
}

/// Writes the canonical form of `node` into `out`, sorting object keys in place. `None` when an
/// object holds a key twice (the text could be read two ways). `skip` is left out of the top
/// level object.
fn write(node: &mut Node<'_>, out: &mut Vec<u8>, skip: Option<&str>) -> Option<()> {
    match node {
        Node::Null => out.extend_from_slice(b"null"),
        Node::Bool(true) => out.extend_from_slice(b"true"),
        Node::Bool(false) => out.extend_from_slice(b"false"),
        Node::Number(n) => serde_json::to_writer(&mut *out, n).ok()?,
        Node::Str(s) => write_str(s, out)?,
        Node::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter_mut().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out, None)?;
            }
            out.push(b']');
        }
        Node::Object(entries) => {
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            if entries.windows(2).any(|w| w[0].0 == w[1].0) {
                return None;
            }
            out.push(b'{');
            let mut first = true;
            for (key, value) in entries.iter_mut() {
                if skip == Some(key.as_ref()) {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_str(key, out)?;
                out.push(b':');
                write(value, out, None)?;
            }
            out.push(b'}');
        }
    }
    Some(())
}

/// A string in canonical form: text read without escapes is written back as it was (serde_json
/// escapes only `"`, `\` and control characters, none of which valid JSON holds unescaped);
/// anything else goes through serde_json's own escaping, as `canonical_json` does.
#[expect(
    clippy::ptr_arg,
    reason = "whether the text was borrowed (unescaped) is what decides"
)]
fn write_str(s: &Cow<'_, str>, out: &mut Vec<u8>) -> Option<()> {
    match s {
        Cow::Borrowed(s) => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        Cow::Owned(s) => serde_json::to_writer(&mut *out, s).ok()?,
    }
    Some(())
}

/// The canonical JSON bytes of a parsed record without `record_hash`, into `out` (cleared).
/// `None` when the record is not an object or holds a key twice.
pub(crate) fn canonical_bytes(node: &mut Node<'_>, out: &mut Vec<u8>) -> Option<()> {
    out.clear();
    if !matches!(node, Node::Object(_)) {
        return None;
    }
    write(node, out, Some("record_hash"))
}

/// The `record_hash` of a stored record's JSON text computed from the text itself, or `None`
/// when the fast path cannot decide (not JSON, not an object, a key twice). Equal to
/// [`cavra_core::integrity::record_hash`] of the record the text holds whenever the text is in
/// the form stores write.
pub fn fast_record_hash(text: &str) -> Option<String> {
    let mut node = parse(text)?;
    let mut buf = Vec::with_capacity(text.len());
    canonical_bytes(&mut node, &mut buf)?;
    Some(cavra_core::integrity::hex(&Sha256::digest(&buf)))
}

// ---------------------------------------------------------------------------------------------
// The sealed form.

/// The fields of a record in sealed form that verification reads, as they appear in the text.
/// Strings are `None` when absent, not strings, or escaped (the typed path then decides).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SealedFields<'a> {
    /// `decision_id`.
    pub decision_id: Option<&'a str>,
    /// `session_id`.
    pub session_id: Option<&'a str>,
    /// `agent_id`.
    pub agent_id: Option<&'a str>,
    /// `repository`.
    pub repository: Option<&'a str>,
    /// `policy_pack`.
    pub policy_pack: Option<&'a str>,
    /// `decision`.
    pub decision: Option<&'a str>,
    /// `severity`.
    pub severity: Option<&'a str>,
    /// `action_type`.
    pub action_type: Option<&'a str>,
    /// `timestamp`.
    pub timestamp: Option<&'a str>,
    /// `sequence`.
    pub sequence: Option<u64>,
    /// `prev_hash`.
    pub prev_hash: Option<&'a str>,
    /// `record_hash`.
    pub record_hash: Option<&'a str>,
}

/// A record's text in sealed form: what its hash covers and the fields verification reads.
#[derive(Debug, Clone, Copy)]
pub struct Sealed<'a> {
    /// The text before and after the `record_hash` entry (and one comma): the hashed bytes.
    pub hashed: [&'a str; 2],
    /// The fields.
    pub fields: SealedFields<'a>,
}

impl Sealed<'_> {
    /// Whether the hashed bytes hash to the `record_hash` the text carries.
    pub fn intact(&self) -> bool {
        let Some(carried) = self.fields.record_hash else {
            return false;
        };
        let mut hasher = Sha256::new();
        hasher.update(self.hashed[0].as_bytes());
        hasher.update(self.hashed[1].as_bytes());
        let digest = hasher.finalize();
        let carried = carried.as_bytes();
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        carried.len() == digest.len() * 2
            && digest
                .iter()
                .zip(carried.chunks_exact(2))
                .all(|(b, hex)| hex[0] == DIGITS[usize::from(b >> 4)] && hex[1] == DIGITS[usize::from(b & 0xf)])
    }
}

/// Reads `text` as a record in sealed form, or `None` when it is not in that form: not one
/// object, whitespace or an escape between or in the top-level keys, keys not strictly
/// increasing, no `record_hash` string, or a field verification reads written with escapes.
/// Nested values are skipped (their bytes are hashed as they are).
pub fn sealed(text: &str) -> Option<Sealed<'_>> {
    let b = text.as_bytes();
    if b.first() != Some(&b'{') || b.last() != Some(&b'}') || b.len() < 2 {
        return None;
    }
    let mut fields = SealedFields::default();
    let mut previous_key: &[u8] = &[];
    let mut cut: Option<(usize, usize)> = None;
    let mut i = 1;
    let mut first = true;
    loop {
        let entry_start = i;
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(b, i)?;
        let key = &b[i + 1..key_end];
        if key.contains(&b'\\') || (!first && !increasing(previous_key, key)) {
            return None;
        }
        previous_key = key;
        i = key_end + 1;
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let value_start = i;
        let value_end = value_end(b, i)?;
        let raw = &text[value_start..value_end];
        let string = || {
            let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
            (!inner.contains('\\')).then_some(inner)
        };
        let escaped_field = |v: Option<&str>| v.is_none() && raw.starts_with('"');
        let slot = match key {
            b"decision_id" => Some(&mut fields.decision_id),
            b"session_id" => Some(&mut fields.session_id),
            b"agent_id" => Some(&mut fields.agent_id),
            b"repository" => Some(&mut fields.repository),
            b"policy_pack" => Some(&mut fields.policy_pack),
            b"decision" => Some(&mut fields.decision),
            b"severity" => Some(&mut fields.severity),
            b"action_type" => Some(&mut fields.action_type),
            b"timestamp" => Some(&mut fields.timestamp),
            b"prev_hash" => Some(&mut fields.prev_hash),
            b"record_hash" => {
                cut = Some(if first {
                    // The first entry: its comma follows it (if anything does).
                    (
                        entry_start,
                        if b.get(value_end) == Some(&b',') {
                            value_end + 1
                        } else {
                            value_end
                        },
                    )
                } else {
                    (entry_start - 1, value_end)
                });
                Some(&mut fields.record_hash)
            }
            b"sequence" => {
                fields.sequence = Some(raw.parse().ok().filter(|_| raw.bytes().all(|c| c.is_ascii_digit()))?);
                None
            }
            _ => None,
        };
        if let Some(slot) = slot {
            let value = string();
            if escaped_field(value) {
                return None;
            }
            *slot = value;
        }
        i = value_end;
        first = false;
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') if i + 1 == b.len() => break,
            _ => return None,
        }
    }
    let (from, to) = cut?;
    fields.record_hash?;
    Some(Sealed {
        hashed: [text.get(..from)?, text.get(to..)?],
        fields,
    })
}

/// Whether `key` sorts strictly after `previous`, byte by byte (keys are short and differ early:
/// comparing in place beats a call to `memcmp` per key).
fn increasing(previous: &[u8], key: &[u8]) -> bool {
    for (a, b) in previous.iter().zip(key) {
        if a != b {
            return a < b;
        }
    }
    previous.len() < key.len()
}

/// The index of the `"` closing the string whose opening `"` is at `start` (found with SIMD:
/// strings are most of a record's bytes).
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut j = start + 1;
    loop {
        j += memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        match b.get(j)? {
            b'"' => return Some(j),
            _ => j += 2,
        }
    }
}

/// The index just past the JSON value starting at `start` (strings and nesting skipped, not
/// validated: the hash covers those bytes as they are).
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match b.get(start)? {
        b'"' => string_end(b, start).map(|e| e + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = start;
            loop {
                match b.get(j)? {
                    b'"' => j = string_end(b, j)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let len = b[start..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'a'..=b'z'))?;
            (len > 0).then_some(start + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cavra_core::integrity;

    /// Keys escaped in the text sort and render by their value, like the typed path.
    #[test]
    fn escaped_keys_and_strings() {
        let text = r#"{"b\u0041":"x\ny","a":[1,-2,1.5,true,null,"\u00e9"],"record_hash":"z"}"#;
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut map = value.as_object().unwrap().clone();
        map.remove("record_hash");
        let expected = integrity::canonical_json(&serde_json::Value::Object(map));
        let mut node = parse(text).unwrap();
        let mut out = Vec::new();
        canonical_bytes(&mut node, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    /// A key written twice makes the fast path decline instead of guessing which one counts.
    #[test]
    fn duplicate_keys_decline() {
        assert_eq!(fast_record_hash(r#"{"a":1,"a":2}"#), None);
        assert_eq!(fast_record_hash(r#"{"o":{"k":1,"k":1}}"#), None);
        assert_eq!(fast_record_hash("[1]"), None);
        assert_eq!(fast_record_hash("not json"), None);
    }

    fn sealed(mut r: cavra_core::DecisionRecord, sequence: u64, prev: Option<String>) -> cavra_core::DecisionRecord {
        r.sequence = Some(sequence);
        integrity::seal(&mut r, prev);
        r
    }

    /// Over every action of the corpora (749 + 30), evaluated and sealed: the fast path gives the
    /// typed `record_hash` byte for byte, from the JSON a store writes.
    #[test]
    fn corpus_records_hash_alike() {
        let packs = cavra_core::PackSet::builtin().unwrap();
        let mut stamper = cavra_store::Stamper::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cavra-core/tests/corpus");
        let mut n = 0;
        let mut prev = None;
        for file in ["cavra.jsonl", "parity.jsonl"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let case: serde_json::Value = serde_json::from_str(line).unwrap();
                let Ok(action) = cavra_core::Action::from_json(&case["action"].to_string()) else {
                    continue;
                };
                let pack_id = case["pack"].as_str().unwrap_or("cavra-ai-agent-baseline");
                let Some(pack) = packs.get(pack_id) else { continue };
                let record = cavra_core::DecisionRecord::new(
                    &action,
                    cavra_core::evaluate(&action, &pack),
                    pack.version(),
                    stamper.stamp(),
                );
                let r = sealed(record, n + 1, prev.take());
                let text = serde_json::to_string(&r).unwrap();
                assert_eq!(fast_record_hash(&text), r.record_hash, "{line}");
                // The sealed form verifies as it is stored, and reads the record's own fields.
                let stored = integrity::sealed_json(&r);
                let form = super::sealed(&stored).unwrap_or_else(|| panic!("not read as sealed: {stored}"));
                assert!(form.intact(), "{line}");
                assert_eq!(form.fields.decision_id, Some(r.decision_id.as_str()));
                assert_eq!(form.fields.session_id, Some(r.session_id.as_str()));
                assert_eq!(form.fields.sequence, r.sequence);
                assert_eq!(form.fields.prev_hash, r.prev_hash.as_deref());
                assert_eq!(form.fields.record_hash, r.record_hash.as_deref());
                assert_eq!(form.fields.timestamp, Some(r.timestamp.as_str()));
                assert_eq!(form.fields.decision, Some(r.decision.as_str()));
                // The form stores wrote before (struct order) is not taken for the sealed form.
                assert!(super::sealed(&text).is_none(), "{text}");
                prev = r.record_hash.clone();
                n += 1;
            }
        }
        assert!(n > 700, "only {n} corpus records");
    }

    fn one_record() -> cavra_core::DecisionRecord {
        let packs = cavra_core::PackSet::builtin().unwrap();
        let pack = packs.get("cavra-ai-agent-baseline").unwrap();
        let action = cavra_core::Action::new(cavra_core::ActionType::ExecuteCommand, "rm -rf /");
        let r = cavra_core::DecisionRecord::new(
            &action,
            cavra_core::evaluate(&action, &pack),
            pack.version(),
            cavra_store::Stamper::new().stamp(),
        );
        sealed(r, 7, Some("ab".repeat(32)))
    }

    /// Any byte of a sealed text changed (outside the hash itself) and the text no longer
    /// verifies as it is: it is either not read as sealed or its hash does not match.
    #[test]
    fn sealed_form_edits_are_caught() {
        let r = one_record();
        let text = integrity::sealed_json(&r);
        assert!(super::sealed(&text).unwrap().intact());
        let hash_at = text.find("\"record_hash\"").unwrap();
        for i in 0..text.len() {
            if (hash_at..hash_at + 80).contains(&i) {
                continue;
            }
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            let Ok(edited) = String::from_utf8(bytes) else { continue };
            assert!(
                !super::sealed(&edited).is_some_and(|s| s.intact()),
                "byte {i} changed and still intact: {edited}"
            );
        }
    }

    /// What is not exactly the sealed form is declined, so the other paths decide.
    #[test]
    fn not_sealed_form_declines() {
        let r = one_record();
        let text = integrity::sealed_json(&r);
        let spaced = text.replacen(",", ", ", 1);
        let doubled = text.replacen("{", "{\"action_type\":\"x\",", 1);
        let pretty = serde_json::to_string_pretty(&serde_json::to_value(&r).unwrap()).unwrap();
        let escaped = text.replacen(
            &format!("\"session_id\":\"{}\"", r.session_id),
            "\"session_id\":\"s\\u0041\"",
            1,
        );
        for declined in [
            spaced.as_str(),
            doubled.as_str(),
            pretty.as_str(),
            "{}",
            "[]",
            "",
            escaped.as_str(),
        ] {
            assert!(super::sealed(declined).is_none(), "{declined}");
        }
        // Without its hash entry the text is exactly what record_hash hashes.
        let form = super::sealed(&text).unwrap();
        let hashed = format!("{}{}", form.hashed[0], form.hashed[1]);
        assert_eq!(
            integrity::hex(&Sha256::digest(hashed.as_bytes())),
            r.record_hash.unwrap()
        );
    }

    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("(?s).{0,12}").unwrap()
    }

    fn value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (-1e12f64..1e12).prop_map(serde_json::Value::from),
            text().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(text(), inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn packs() -> &'static cavra_core::PackSet {
        static PACKS: std::sync::OnceLock<cavra_core::PackSet> = std::sync::OnceLock::new();
        PACKS.get_or_init(|| cavra_core::PackSet::builtin().unwrap())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]
        /// For records with arbitrary strings (escapes, control characters, any Unicode), MCP
        /// arguments and unknown fields of any JSON shape, both fast paths equal `record_hash`.
        #[test]
        fn fast_path_equals_record_hash(
            target in text(),
            reason in text(),
            cwd in proptest::option::of(text()),
            arguments in proptest::collection::btree_map(text(), value(), 0..4),
            extra in proptest::collection::btree_map("[a-z_!ü]{1,10}", value(), 0..4),
            sequence in 1u64..u64::MAX,
            prev in proptest::option::of("[0-9a-f]{64}"),
        ) {
            let mut action = cavra_core::Action::new(cavra_core::ActionType::McpToolCall, target);
            action.cwd = cwd;
            let pack = packs().get("cavra-ai-agent-baseline").unwrap();
            let mut r = cavra_core::DecisionRecord::new(
                &action,
                cavra_core::evaluate(&action, &pack),
                pack.version(),
                cavra_store::Stamper::new().stamp(),
            );
            r.reason = reason;
            r.arguments = Some(arguments.into_iter().collect());
            for (k, v) in extra {
                if !["sequence", "prev_hash", "record_hash"].contains(&k.as_str()) {
                    r.extra.insert(k, v);
                }
            }
            let r = sealed(r, sequence, prev);
            let text = serde_json::to_string(&r).unwrap();
            proptest::prop_assert_eq!(fast_record_hash(&text), r.record_hash.clone());
            // The sealed form verifies as stored, unless a field it reads is escaped (then the
            // other paths decide, and agree).
            let stored = integrity::sealed_json(&r);
            match super::sealed(&stored) {
                Some(form) => {
                    proptest::prop_assert!(form.intact());
                    proptest::prop_assert_eq!(form.fields.record_hash, r.record_hash.as_deref());
                }
                None => proptest::prop_assert_eq!(fast_record_hash(&stored), r.record_hash.clone()),
            }
            // Pretty-printed and re-ordered text is the same record: same hash.
            let pretty = serde_json::to_string_pretty(&serde_json::to_value(&r).unwrap()).unwrap();
            proptest::prop_assert_eq!(fast_record_hash(&pretty), r.record_hash);
        }
    }
}
