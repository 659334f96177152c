//! The built-in packs and the program model, prepared at build time so that a one-shot process
//! reads JSON instead of YAML.
//!
//! The agent hook is a process per tool call, and reading the embedded YAML (the baseline pack
//! and the program model, ~5,000 lines) with `saphyr` was most of its work. `build.rs` reads every
//! file with `saphyr`, as the library would, and writes what it got as JSON, which `serde_json`
//! reads several times faster:
//!
//! - a program-model file as the plain JSON [`yaml_value`] makes of it (the model is read through
//!   serde from that);
//! - a pack as its YAML tree with each node's line and column, its inline `tests` left out
//!   ([`pack_tree`]), which [`read_pack_tree`] turns back into the very tree `saphyr` would have
//!   built, so the pack reader (`yaml.rs`) and every message it gives, line and column included,
//!   are the same.
//!
//! A file that cannot be prepared (invalid YAML, a tag) is written empty and read from its YAML
//! at run time, exactly as before, so no data error is reported differently.
//!
//! This file is compiled twice: into the library, and into `build.rs` (`#[path]`), which is why
//! it names no other module of the crate. The build script writes (the reading half is dead code
//! there); the library reads, falls back on [`yaml_value`] for a file with no prepared form, and
//! writes trees only in its tests, which check the round trip.

use std::borrow::Cow;
use std::fmt;

use saphyr::{AnnotatedMapping, LoadableYamlNode, MarkedYaml, Marker, Scalar, YamlData};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Reads YAML text (the first document) as JSON, for data files read through serde: the program
/// model (`crate::shell`) uses it. The error names the line and column.
pub(crate) fn yaml_value(text: &str) -> Result<Value, String> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!("invalid YAML at line {} column {}: {}", m.line(), m.col() + 1, e.info())
    })?;
    Ok(docs.first().map_or(Value::Null, to_json))
}

/// Converts a YAML node to JSON, for reading actions with the same rules as the API.
pub(crate) fn to_json(node: &MarkedYaml<'_>) -> Value {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Value::String(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Value::from(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
        YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        YamlData::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        YamlData::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match &k.data {
                        YamlData::Value(Scalar::String(s)) => s.to_string(),
                        _ => String::new(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// A pack's YAML (its first document) as a prepared tree: each node is `[line, column, value]`,
/// the value a JSON string, integer, boolean or null for those scalars, an array of nodes for a
/// sequence, `{"map": [key, value, key, value, ...]}` for a mapping (keys are nodes, in order) and
/// `{"float": bits}` for a float. The root mapping's entry `leave_out` is left out (a pack's
/// `tests`, which a process that only decides never reads). The error says why the YAML has no
/// prepared form.
pub(crate) fn pack_tree(yaml: &str, leave_out: Option<&str>) -> Result<String, String> {
    let docs = MarkedYaml::load_from_str(yaml).map_err(|e| {
        let m = e.marker();
        format!("invalid YAML at line {} column {}: {}", m.line(), m.col() + 1, e.info())
    })?;
    let mut root = docs.into_iter().next().ok_or_else(|| "the file is empty".to_owned())?;
    if let (Some(key), YamlData::Mapping(entries)) = (leave_out, &mut root.data) {
        entries.retain(|k, _| !matches!(&k.data, YamlData::Value(Scalar::String(s)) if s == key));
    }
    Ok(tree_node(&root)?.to_string())
}

fn tree_node(node: &MarkedYaml<'_>) -> Result<Value, String> {
    let value = match &node.data {
        YamlData::Value(Scalar::String(s)) => Value::String(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Value::from(*i),
        YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        YamlData::Value(Scalar::Null) => Value::Null,
        YamlData::Value(Scalar::FloatingPoint(f)) => serde_json::json!({ "float": f.into_inner().to_bits() }),
        YamlData::Sequence(items) => Value::Array(items.iter().map(tree_node).collect::<Result<_, _>>()?),
        YamlData::Mapping(m) => {
            let mut flat = Vec::with_capacity(2 * m.len());
            for (k, v) in m {
                flat.push(tree_node(k)?);
                flat.push(tree_node(v)?);
            }
            serde_json::json!({ "map": flat })
        }
        _ => {
            return Err(format!(
                "line {} column {}: a tagged or unreadable value",
                node.span.start.line(),
                node.span.start.col() + 1
            ));
        }
    };
    Ok(Value::Array(vec![
        Value::from(node.span.start.line()),
        Value::from(node.span.start.col()),
        value,
    ]))
}

/// The YAML tree a prepared tree ([`pack_tree`]) was made from, spans reduced to where each node
/// starts (all the pack reader reports). Strings borrow from `json` where they can.
pub(crate) fn read_pack_tree(json: &str) -> Result<MarkedYaml<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let root = Node.deserialize(&mut de)?;
    de.end()?;
    Ok(root)
}

/// One node: `[line, column, value]`.
struct Node;

impl<'de> DeserializeSeed<'de> for Node {
    type Value = MarkedYaml<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Node {
    type Value = MarkedYaml<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node: [line, column, value]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let line: usize = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let col: usize = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let data = seq
            .next_element_seed(Data)?
            .ok_or_else(|| de::Error::invalid_length(2, &self))?;
        let mut node = MarkedYaml::from(data);
        node.span.start = Marker::new(0, line, col);
        Ok(node)
    }
}

/// A node's value.
struct Data;

impl<'de> DeserializeSeed<'de> for Data {
    type Value = YamlData<'de, MarkedYaml<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Data {
    type Value = YamlData<'de, MarkedYaml<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar, a sequence of nodes, `{\"map\": [...]}` or `{\"float\": bits}`")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(YamlData::Value(Scalar::String(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(YamlData::Value(Scalar::String(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(YamlData::Value(Scalar::String(Cow::Owned(v))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(YamlData::Value(Scalar::Integer(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        let v = i64::try_from(v).map_err(|_| E::custom("an integer over i64"))?;
        Ok(YamlData::Value(Scalar::Integer(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(YamlData::Value(Scalar::Boolean(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(YamlData::Value(Scalar::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Node)? {
            items.push(item);
        }
        Ok(YamlData::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let kind: String = map.next_key()?.ok_or_else(|| de::Error::custom("an empty object"))?;
        let data = match kind.as_str() {
            "map" => map.next_value_seed(Entries)?,
            "float" => YamlData::Value(Scalar::FloatingPoint(f64::from_bits(map.next_value()?).into())),
            other => return Err(de::Error::unknown_field(other, &["map", "float"])),
        };
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("a value object with more than one key"));
        }
        Ok(data)
    }
}

/// A mapping's entries: `[key, value, key, value, ...]`.
struct Entries;

impl<'de> DeserializeSeed<'de> for Entries {
    type Value = YamlData<'de, MarkedYaml<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries {
    type Value = YamlData<'de, MarkedYaml<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mapping entries: [key, value, key, value, ...]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries: AnnotatedMapping<'de, MarkedYaml<'de>> = AnnotatedMapping::default();
        while let Some(key) = seq.next_element_seed(Node)? {
            let value = seq
                .next_element_seed(Node)?
                .ok_or_else(|| de::Error::custom("a key without a value"))?;
            entries.insert(key, value);
        }
        Ok(YamlData::Mapping(entries))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::pack::model::PolicyPack;
    use crate::pack::{PackError, parse_builtin_pack, yaml};

    /// Asserts two packs are the same, lines and file included (serialising skips them).
    pub(in crate::pack) fn assert_same_pack(a: &PolicyPack, b: &PolicyPack) {
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap(),
            "{}",
            b.id
        );
        assert_eq!((&a.file, a.inherits_line), (&b.file, b.inherits_line), "{}", b.id);
        let lines = |p: &PolicyPack| {
            (
                p.rules.iter().map(|r| r.line).collect::<Vec<_>>(),
                p.tests.iter().map(|t| t.line).collect::<Vec<_>>(),
            )
        };
        assert_eq!(lines(a), lines(b), "{}", b.id);
    }

    /// `yaml` read through its prepared tree (the root's `leave_out` left out).
    fn through_tree(yaml: &str, leave_out: Option<&str>) -> Result<PolicyPack, PackError> {
        let json = pack_tree(yaml, leave_out).unwrap();
        yaml::read_builtin_tree("t.yaml", &read_pack_tree(&json).unwrap())
    }

    fn assert_reads_alike(yaml: &str) {
        match (through_tree(yaml, None), parse_builtin_pack("t.yaml", yaml)) {
            (Ok(a), Ok(b)) => assert_same_pack(&a, &b),
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => panic!("read differently:\n{a:?}\n{b:?}"),
        }
    }

    const PACK: &str = r#"# a comment, so the pack starts on line 2
id: tree-test
title: "Quoted \"title\" with \\ escapes, \u00e9 and a tab:\t"
description: >
  Folded
  text.
version: 1.5
mode: enforce
inherits: [cavra-ai-agent-baseline]
defaults: {decision: allow, severity: low}
protected_branches: [main, "release/*"]
rules:
  - id: a.block
    decision: block
    severity: high
    reason: plain
    match:
      command: {program: [rm], flags: [recursive]}
  - id: a.file
    decision: require_approval
    severity: medium
    reason: 'single ''quoted'''
    match: {file: {paths: ["**/.env"], access: read}}
tests:
  - name: blocked
    action: {action_type: execute_command, target: rm -rf /tmp/x}
    expect: {decision: block, rule_id: a.block}
"#;

    /// A pack read through its prepared tree is the pack read from the YAML: scalars of every
    /// kind, escapes, folded text, flow and block collections, lines.
    #[test]
    fn a_pack_reads_alike_through_its_tree() {
        assert_reads_alike(PACK);
        let pack = through_tree(PACK, None).unwrap();
        assert_eq!(
            (pack.version.as_str(), pack.rules.len(), pack.tests.len()),
            ("1.5", 2, 1)
        );
    }

    /// Every problem is reported at the same line and column, with the same message, either way.
    #[test]
    fn errors_read_alike_through_the_tree() {
        for yaml in [
            "id: x\nrules: []\nunknown: 1\n",
            "id: Bad Id\ntitle: ~\nversion: [1]\nrules:\n  - id: r\n    decision: maybe\n",
            "id: x\nrules:\n  - {id: r, decision: block, severity: high, reason: x, match: {command: {program: 7}}}\n",
            "1: one\ntrue: two\n-3: three\n2.5: four\n",
            "id: x\nrules: []\ntests:\n  - action: {action_type: nope}\n    expect: {decision: allow}\n",
            "- a list\n- not a pack\n",
            "just text",
            "{}",
            "metadata: {name: legacy}\ncommands: {block: [\"rm -rf /\"]}\nfilesystem: {block_read: [\"~/.ssh/**\"]}\n",
            "id: x\nversion: .inf\nrules: []\n",
        ] {
            assert_reads_alike(yaml);
        }
    }

    /// Leaving out `tests` leaves the rest as it was, and only the root's `tests`.
    #[test]
    fn leave_out_takes_only_the_root_entry() {
        let mut whole = through_tree(PACK, None).unwrap();
        let skipped = through_tree(PACK, Some("tests")).unwrap();
        whole.tests.clear();
        assert_same_pack(&skipped, &whole);
        let nested = "id: x\nrules:\n  - {id: r, decision: block, severity: high, reason: x, tests: 1, match: {command: {program: rm}}}\n";
        let (a, b) = (
            through_tree(nested, Some("tests")).unwrap_err(),
            parse_builtin_pack("t.yaml", nested).unwrap_err(),
        );
        assert_eq!(a, b);
        assert!(a.to_string().contains("unknown key `tests`"), "{a}");
    }

    /// What has no prepared form is left to the YAML reader (the build writes the file empty).
    #[test]
    fn tags_and_bad_yaml_are_not_prepared() {
        assert!(
            pack_tree("id: !custom x\n", None)
                .unwrap_err()
                .contains("line 1 column 5")
        );
        assert!(
            pack_tree("id: [unclosed\n", None)
                .unwrap_err()
                .starts_with("invalid YAML at line")
        );
        assert!(pack_tree("", None).is_err());
    }
}
