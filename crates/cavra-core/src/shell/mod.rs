//! Shell analysis (SPEC §3): a command line becomes the simple commands it would run.
//!
//! The line is parsed with `brush-parser` (a maintained bash grammar), then walked: lists,
//! pipelines, subshells, functions, `$(...)`, backticks and process substitutions all yield their
//! simple commands; wrappers (`sudo`, `env`, `xargs`, `sh -c '...'`, `eval`, ...) are unwrapped,
//! recursively up to [`MAX_DEPTH`]; quotes are removed, program paths reduced to their name and
//! flags normalised per program. `cd` is tracked so later file arguments resolve against it.
//!
//! What programs do with their arguments — which options take values, which arguments are
//! files read or written, which are commands or code the program runs — is data, the program
//! model in `crates/cavra-core/programs/*.yaml`, not match arms.
//!
//! The analyser never fails, and what it cannot read it says (fail closed): a line the grammar
//! rejects is read line by line, each readable line with every check and the rest split on
//! operators, and flagged [`Construct::Unparseable`]; a program computed at run time is
//! [`Construct::DynamicProgram`]; a line over its work budget is [`Construct::TooComplex`].
//!
//! # Layout
//! - `walk`: the AST walker, `cd`, variables and aliases the line sets, files it writes,
//!   pipelines, fork-bomb detection, the work budget.
//! - `words`: quote removal (ANSI-C `$'...'` decoded), brace expansion, substitutions in a word.
//! - `wrappers`: running one command as the model describes it: wrappers, code, files.
//! - `model`: the program model, loaded from the embedded YAML files.
//! - `flags`: reading one command's options through the model.
//! - `inline`: code for other interpreters (`python -c`, `node -e`, ...) read for what it runs.

mod flags;
mod inline;
mod model;
mod place;
mod task;
mod walk;
mod words;
mod wrappers;

pub use model::check as check_program_model;
pub use model::{Effect, default_environments};

/// Quotes a word so that shell analysis reads it back as that one word.
pub fn quote_word(word: &str) -> String {
    wrappers::quote(word)
}

use std::fmt::Write as _;

pub use flags::Flag;

/// How deep `sh -c`, `eval` and substitutions may nest before analysis stops.
pub const MAX_DEPTH: usize = 8;

/// Something about the command line as a whole that rules can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Construct {
    /// A function that calls itself in a pipeline or in the background: `:(){ :|:& };:`.
    ForkBomb,
    /// The grammar rejected the line; it was analysed by a plain split instead.
    Unparseable,
    /// Wrappers or substitutions nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A command whose program name is computed at run time: `$(echo rm) -rf /`, `"$CMD" x`.
    DynamicProgram,
    /// The line costs more analysis than its budget (12,000 work units; see docs/ENGINE.md).
    TooComplex,
    /// A network socket wired to a shell or to a process's standard streams.
    ReverseShell,
    /// git configuration that makes git run a command or skip its checks.
    GitConfigExec,
    /// Interpreter code cavra could not fully read: it spawns or evaluates what only exists
    /// when it runs.
    InlineCode,
    /// An MCP tool that sends a message or writes outside the machine was given a secret in its
    /// arguments (found by [`crate::redact`]).
    SecretInMessage,
}

impl Construct {
    /// Every construct.
    pub const ALL: [Construct; 9] = [
        Construct::ForkBomb,
        Construct::Unparseable,
        Construct::TooDeep,
        Construct::DynamicProgram,
        Construct::TooComplex,
        Construct::ReverseShell,
        Construct::GitConfigExec,
        Construct::InlineCode,
        Construct::SecretInMessage,
    ];

    /// The name used in packs, e.g. `fork_bomb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Construct::ForkBomb => "fork_bomb",
            Construct::Unparseable => "unparseable",
            Construct::TooDeep => "too_deep",
            Construct::DynamicProgram => "dynamic_program",
            Construct::TooComplex => "too_complex",
            Construct::ReverseShell => "reverse_shell",
            Construct::GitConfigExec => "git_config_exec",
            Construct::InlineCode => "inline_code",
            Construct::SecretInMessage => "secret_in_message",
        }
    }
}

/// How a command touches a file argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reads it (the default for arguments, `<` redirections).
    Read,
    /// Writes, creates or deletes it (`>`, `tee`, `rm`, the destination of `cp`/`mv`).
    Write,
}

impl Access {
    /// `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One simple command after unwrapping, with quotes removed and flags normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimpleCommand {
    /// The program's name (`/usr/bin/rm` is `rm`).
    pub program: String,
    /// Every argument after the program, quote-removed, in order.
    pub args: Vec<String>,
    /// Normalised flags (`-rf` is `recursive` and `force` for `rm`).
    pub flags: Vec<Flag>,
    /// Arguments that are neither flags nor values of known value-taking options.
    pub positionals: Vec<String>,
    /// Files this command reads or writes: arguments, option values and redirections.
    pub files: Vec<(Access, String)>,
    /// The working directory in force (the action's `cwd` after any `cd`).
    pub cwd: Option<String>,
    /// Wrappers that were removed to reach this command, outermost first.
    pub via: Vec<String>,
    /// `NAME=value` assignments in its environment (`HUSKY=0 git commit`, `env A=1 cmd`).
    pub env: Vec<(String, String)>,
    /// It runs its standard input as code (`sh`, `python3 -`, `bash /dev/stdin`).
    pub runs_stdin: bool,
    /// The program model says its subcommand changes state (`kubectl delete`, `npm publish`).
    pub mutates: bool,
    /// Words naming where it acts: contexts, namespaces, profiles, projects, hosts, database URLs,
    /// stages, apps (issue 15); which of them mean production is the pack's to say.
    pub reaches: Vec<String>,
    /// What it does there: reads, mutates or destroys, when the program model can tell.
    pub effect: Option<Effect>,
    /// The text it is given on standard input, when the line says (a here-document or
    /// here-string).
    pub input: Option<String>,
}

impl SimpleCommand {
    /// The command as one line of text, e.g. `rm -rf /tmp/x`, quoting arguments with spaces.
    pub fn text(&self) -> String {
        let mut out = self.program.clone();
        for arg in &self.args {
            out.push(' ');
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                let _ = write!(out, "'{}'", arg.replace('\'', r"'\''"));
            } else {
                out.push_str(arg);
            }
        }
        out
    }

    /// Whether a flag with this canonical name is present.
    pub fn has_flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f.name == name)
    }

    /// A hash of everything about the command, to drop repeats in constant time.
    pub(crate) fn key(&self) -> u64 {
        crate::hash::hash_one(self)
    }
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The programs the stage runs.
    pub programs: Vec<String>,
    /// Whether the stage runs what it is fed as code (`sh`, `python3 -`, `eval "$(...)"`), rather
    /// than reading it as data (`python3 -m json.tool`, `grep x`).
    pub runs_input: bool,
}

impl Stage {
    /// A stage that reads its input as data.
    pub fn data(programs: Vec<String>) -> Stage {
        Stage {
            programs,
            runs_input: false,
        }
    }
}

/// Everything found in one command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// Every simple command, in the order they appear.
    pub commands: Vec<SimpleCommand>,
    /// Pipelines of two or more stages, in order. Also records substitutions fed to a program
    /// (`bash -c "$(curl ...)"`, `python3 <(curl ...)`).
    pub pipelines: Vec<Vec<Stage>>,
    /// Whole-line constructs that were found.
    pub constructs: Vec<Construct>,
}

/// Analyses a command line, resolving file arguments against `cwd` when given.
pub fn analyse(line: &str, cwd: Option<&str>) -> CommandLine {
    walk::Walker::new(cwd).run(line)
}

#[cfg(test)]
mod tests;

/// Installs a panic hook that stays silent for panics raised inside the shell grammar (which
/// analysis catches and answers as an unparseable line) and hands every other panic to the
/// previous hook. Binaries call this once at start; the library never installs it by itself.
pub fn quiet_grammar_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let inside_grammar = info.location().is_some_and(|l| l.file().contains("brush-parser"));
        if !inside_grammar {
            previous(info);
        }
    }));
}

/// The canonical flag names a rule's spelling stands for, for `program` with subcommand `sub`:
/// `r` for `rm` is `recursive`; `-D` for `git branch` is `delete` and `force`.
pub fn canonical_flag(program: &str, sub: &str, spelling: &str) -> Vec<String> {
    flags::canonical(program, sub, spelling)
}
