//! The program model, prepared at build time so that a one-shot process reads JSON instead of
//! YAML.
//!
//! The agent hook is a process per tool call, and reading the embedded program model (~1,300
//! lines of YAML) with `saphyr` was a third of its work. `build.rs` reads every model file with
//! [`yaml_value`], as the library did, and writes the JSON it gets, which `serde_json` reads
//! several times faster. A file that cannot be prepared (invalid YAML) is written empty and read
//! from its YAML at run time, exactly as before, so no data error is reported differently.
//!
//! This file is compiled twice: into the library, and into `build.rs` (`#[path]`), which is why
//! it names no other module of the crate.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
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
