//! Subcommands, one file each; each exposes `Args` and `run(args) -> Result<ExitCode, CliError>`.

mod action_args;
mod evaluate;
mod policy;

use std::process::ExitCode;

use crate::error::CliError;

pub use action_args::ActionArgs;

/// cavra's subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Decide one action (or a JSONL batch) against a policy pack.
    ///
    /// Exit codes: 0 the action may proceed (allow, audit_only, warn, allow_with_attestation);
    /// 2 it may not (block, or require_approval: a human must approve first); 3 invalid input
    /// or pack; 1 any other error.
    Evaluate(Box<evaluate::Args>),
    /// List, show, validate, test and explain policy packs.
    #[command(subcommand)]
    Policy(policy::Command),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::Evaluate(args) => evaluate::run(*args),
            Command::Policy(cmd) => cmd.run(),
        }
    }
}
