//! Policy packs (SPEC §4): the source model, reading, validation, inheritance and compilation.
//!
//! A pack is read from YAML into [`PolicyPack`] (both the native rules-list format and the
//! reference system's section format), validated with file/line [`Diagnostic`]s, resolved
//! against its parents and compiled once into an immutable [`CompiledPack`] that evaluation
//! shares across threads.
//!
//! # Layout
//! - `model`: the pack as written — rules, matchers, inline tests.
//! - `yaml`: the native YAML reader, collecting every problem with its line.
//! - `legacy`: the section format, converted to rules on load.
//! - `compile`: patterns compiled, rules indexed, parents merged.
//! - `set`: [`PackSet`], the loaded packs by id, with inheritance resolved.
//! - `builtin`: the packs embedded in the binary.
//! - `prepared`: the built-in packs and program model as `build.rs` prepares them (JSON), read
//!   back by one-shot processes instead of the YAML.

mod builtin;
pub(crate) mod compile;
mod legacy;
mod model;
#[allow(
    dead_code,
    reason = "compiled into build.rs too, which uses the writing half; this crate the reading half"
)]
mod prepared;
mod set;
mod yaml;

use std::fmt;

pub use builtin::{BUILTIN_PACKS, builtin_pack_for_decisions, builtin_sources};
pub use compile::{Compile, CompiledPack, CompiledRule};
pub use model::{
    CommandMatch, Defaults, Expectation, FileAccess, FileMatch, GitMatch, Matcher, McpMatch, PackTest, PipelineMatch,
    PolicyPack, Rule,
};
pub(crate) use prepared::yaml_value;
pub use set::PackSet;
pub use yaml::{parse_builtin_pack, parse_pack};

/// One problem in a pack, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or built-in name) the pack came from.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Why packs could not be loaded: every problem found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct PackError(pub Vec<Diagnostic>);

fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Whether `id` is a valid pack id: non-empty `[a-z0-9-]`.
pub fn is_valid_pack_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
