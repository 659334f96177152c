//! `cavra policy ...`: inspect and check policy packs.

mod explain;
mod list;
mod show;
mod test;
mod validate;

use std::process::ExitCode;

use crate::error::CliError;

/// Policy pack subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the loaded packs (built-in and from the policy directory).
    List(list::Args),
    /// Show one pack with its effective rules (parents merged).
    Show(show::Args),
    /// Check pack files: YAML, keys, rule ids, outcomes, severities, patterns, inheritance.
    /// Prints every problem with file and line; exit 3 when there is any.
    Validate(validate::Args),
    /// Run packs' inline `tests`; exit 1 when one fails.
    Test(test::Args),
    /// Show how an action is parsed into parts and every rule that fires on each.
    Explain(Box<explain::Args>),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode, CliError> {
        match self {
            Command::List(a) => list::run(a),
            Command::Show(a) => show::run(a),
            Command::Validate(a) => validate::run(a),
            Command::Test(a) => test::run(a),
            Command::Explain(a) => explain::run(*a),
        }
    }
}

pub(crate) use crate::cmd::print_json;
