//! cavra-agent: how agents talk to cavra, as pure functions (no I/O, no clock, no store).
//!
//! The `cavra` binary does the reading, writing and persisting; this crate owns the protocols,
//! so every mapping is testable on plain values.
//!
//! # Layout
//! - [`claude_code`]: Claude Code's hook payload (stdin) to an [`cavra_core::Action`], and a
//!   decision to the hook's answer (stdout), SPEC §9.
//! - [`mcp`]: the Model Context Protocol over JSON-RPC 2.0: message parsing with the standard
//!   error codes, the tool list with input schemas, and tool arguments to actions.

#![deny(missing_docs)]

pub mod claude_code;
pub mod mcp;
