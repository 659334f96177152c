//! cavra-core: the decision engine. Pure: no I/O during evaluation, no async runtime.
//!
//! Given an [`Action`] an AI agent wants to take and a [`CompiledPack`], [`evaluate()`] answers
//! with an [`Evaluation`]: the verdict, the deciding rule, its severity, a reason and a safer
//! alternative. It is total — it never panics and never returns an error — and takes
//! microseconds, because packs are compiled once and shared.
//!
//! ```
//! use cavra_core::{Action, ActionType, PackSet, evaluate};
//! let packs = PackSet::builtin().unwrap();
//! let pack = packs.get("cavra-ai-agent-baseline").unwrap();
//! let e = evaluate(&Action::new(ActionType::ExecuteCommand, "terraform plan && terraform apply -auto-approve"), &pack);
//! assert_eq!(e.decision, cavra_core::Outcome::Block);
//! ```
//!
//! # Layout
//! - [`action`]: the action an agent asks about (SPEC §1) and its strict JSON reading.
//! - [`decision`]: outcomes, severities, modes, the evaluation and the decision record (SPEC §2).
//! - [`shell`]: shell analysis — parsing, unwrapping, quote removal, flag normalisation.
//! - [`path`]: lexical path normalisation against the working directory.
//! - [`git`]: branches, refspecs and force pushes.
//! - [`redact`]: secrets in stored fields replaced before persistence (SPEC §6).
//! - [`integrity`]: canonical JSON, record hashes and the session chain check (SPEC §7).
//! - [`canonical`]: the same canonical JSON written straight from a `Serialize` value (no
//!   `serde_json::Value` in between), for sealing on the request path.
//! - [`pack`]: the pack format, validation, inheritance, compilation, built-in packs.
//! - [`evaluate`](mod@evaluate): parts, rule matching, the most-restrictive combination, modes.

#![deny(missing_docs)]

pub mod action;
pub mod canonical;
pub mod decision;
pub mod evaluate;
pub mod git;
mod hash;
pub mod integrity;
pub mod pack;
pub mod path;
pub mod redact;
pub mod shell;

pub use action::{Action, ActionError, ActionType, DEFAULT_POLICY_PACK};
pub use decision::{DecisionRecord, Evaluation, MatchedRule, Mode, Outcome, RecordStamp, SCHEMA_VERSION, Severity};
pub use evaluate::{Explanation, PartReport, evaluate, explain};
pub use pack::{CompiledPack, Diagnostic, PackError, PackSet, PolicyPack};

/// Arbitrary JSON for the property tests of the canonical writers.
#[cfg(test)]
mod arbitrary {
    use proptest::prelude::*;
    use serde_json::Value;

    /// Short strings of any characters (escapes, surrogate-free Unicode).
    pub(crate) fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), 0..8).prop_map(|c| c.into_iter().collect())
    }

    /// Any JSON value: every scalar kind, arrays and objects three levels deep.
    pub(crate) fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }
}
