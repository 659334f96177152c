//! The pack as written: rules with one matcher each, defaults, inline tests.
//!
//! Every matcher field is a plain list of patterns; compilation turns them into glob sets and
//! regexes. Each rule and test keeps the line it was written on, for messages.

use serde::Serialize;

use crate::action::Action;
use crate::decision::{Mode, Outcome, Severity};
use crate::shell::Construct;

/// A pack as read from its file.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyPack {
    /// `[a-z0-9-]`, unique among loaded packs.
    pub id: String,
    /// Short human title.
    pub title: String,
    /// What the pack is for.
    pub description: String,
    /// The pack's version, recorded in every decision as `pack_version`.
    pub version: String,
    /// The mode in force unless a request overrides it.
    pub mode: Mode,
    /// Parent packs, parents first.
    pub inherits: Vec<String>,
    /// What applies when no rule matches; `None` inherits the parent's.
    pub defaults: Option<Defaults>,
    /// Branches guarded as protected; `None` inherits (built-in default `main`, `master`,
    /// `release/*`).
    pub protected_branches: Option<Vec<String>>,
    /// Environment names and the word patterns that mean them (`production: [prod, live]`), tried
    /// in order; `None` inherits (built-in default: `production`, `nonproduction`, from
    /// `programs/environments.yaml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<(String, Vec<String>)>>,
    /// Ordered rules.
    pub rules: Vec<Rule>,
    /// Inline test cases.
    pub tests: Vec<PackTest>,
    /// Where it was read from.
    #[serde(skip)]
    pub file: String,
    /// The line of `inherits`, for cycle messages.
    #[serde(skip)]
    pub inherits_line: usize,
}

impl PolicyPack {
    /// A pack with no id, rules or settings yet, read from `file` (its top level at `line`).
    pub(crate) fn empty(file: &str, line: usize) -> PolicyPack {
        PolicyPack {
            id: String::new(),
            title: String::new(),
            description: String::new(),
            version: "0.0.0".to_owned(),
            mode: Mode::Enforce,
            inherits: Vec::new(),
            defaults: None,
            protected_branches: None,
            environments: None,
            rules: Vec::new(),
            tests: Vec::new(),
            file: file.to_owned(),
            inherits_line: line,
        }
    }
}

/// The verdict when no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Defaults {
    /// Default outcome.
    pub decision: Outcome,
    /// Default severity.
    pub severity: Severity,
}

/// One rule.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Unique within the pack; a child rule with a parent's id replaces it.
    pub id: String,
    /// What the rule guards against.
    pub description: String,
    /// What it applies to.
    #[serde(rename = "match")]
    pub matcher: Matcher,
    /// Its verdict.
    pub decision: Outcome,
    /// How bad the action would be.
    pub severity: Severity,
    /// One human sentence shown to the agent and its user.
    pub reason: String,
    /// A safer alternative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Who may approve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver_group: Option<String>,
    /// Tried only when no other rule of its kind matches the part: a catch-all (`prod.mutate`)
    /// that a more specific rule — a child pack's too — decides before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fallback: bool,
    /// Line in the source file.
    #[serde(skip)]
    pub line: usize,
}

/// What a rule applies to; exactly one kind per rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Matcher {
    /// A simple command inside an `execute_command` line.
    Command(Box<CommandMatch>),
    /// A file read or written, by a file action or by a command.
    File(FileMatch),
    /// A git push/merge/... by a `git_operation` action or a `git push` command.
    Git(GitMatch),
    /// An MCP tool call.
    Mcp(McpMatch),
    /// A pipeline (or substitution) feeding one program's output to another.
    Pipeline(PipelineMatch),
    /// A whole-line construct.
    Construct(#[serde(serialize_with = "construct_name")] Construct),
}

fn construct_name<S: serde::Serializer>(c: &Construct, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

/// Matches one simple command. Every given field must hold.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommandMatch {
    /// Program names (globs), after unwrapping.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub program: Vec<String>,
    /// Leading positional arguments, each a glob: `[apply]`, `[iam, "attach-*-policy"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Flags that must all be present (any spelling: `r`, `-r`, `recursive`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Flags of which at least one must be present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any_flag: Vec<String>,
    /// Flags that must all be absent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_flags: Vec<String>,
    /// Option values, each a glob or a list of globs (any may match):
    /// `{context: "*prod*"}` matches `--context prod-eu`. Every named option must match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<(String, Vec<String>)>,
    /// Environment assignments given to the command (`HUSKY=0 git commit`, `env SKIP=x cmd`):
    /// variable name → value globs (any may match). Every named variable must be set so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, Vec<String>)>,
    /// Some argument after `args`, as a normalised path, matches one of these globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any_arg: Vec<String>,
    /// There are arguments after `args`, and every one matches one of these globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub all_args: Vec<String>,
    /// Environments the command must reach (`[production]`), as the pack's `environments` name
    /// them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<String>,
    /// Environments the command must not reach (`[nonproduction]`): a rule for shared systems
    /// that routine work in a named sandbox does not meet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_environment: Vec<String>,
    /// What the command must do: `read`, `mutate` or `destroy` (any of those listed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effect: Vec<String>,
    /// A regex over the normalised command text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A regex over the text the command is given on its standard input (a here-document or
    /// here-string): what `cat > f <<EOF` writes, what `psql <<EOF` runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// Which accesses a file rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAccess {
    /// Reads only.
    Read,
    /// Writes only.
    Write,
    /// Both.
    #[default]
    Any,
}

/// Matches a file path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileMatch {
    /// Globs; a pattern not starting with `/`, `~`, `$` or `**` matches at any depth. Empty
    /// (allowed only with `outside_repository`) matches every path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Globs that exempt a path (`.env.example`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
    /// Reads, writes or both.
    pub access: FileAccess,
    /// When given, the path must (`true`) or must not (`false`) lie outside the repository root
    /// (see [`crate::path::NormalPath::outside`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outside_repository: Option<bool>,
    /// Globs: the write is made only from files that match one of them — the command reads at
    /// least one file and every file it reads matches (`cp .env.example .env`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    /// A regex over the text being written (an agent's Write or Edit tool sends it; see
    /// `Action::written_text`): the rule matches only writes whose new text matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Whether `paths` and `except` ignore case (`.ENV`, `ID_RSA`, `Credentials`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
}

/// Matches a git operation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GitMatch {
    /// Operations (`push`, `merge`, `branch_delete`, `pull_request`, ...); empty is any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// Whether it must (or must not) be a force push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Whether a target branch must (or must not) be protected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Target branch globs, of which one must match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
}

/// Matches an MCP tool call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct McpMatch {
    /// Server globs, one must match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// Server globs none of which may match: the allow-list that makes a server "unknown".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers_not: Vec<String>,
    /// Tool globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Capability globs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
}

/// Matches a stage running one of `from` that feeds a later stage running one of `to`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PipelineMatch {
    /// Producing programs (globs).
    pub from: Vec<String>,
    /// Consuming programs (globs).
    pub to: Vec<String>,
    /// Only when the consuming stage runs its input as code (`sh`, not `python3 -m json.tool`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub executes: bool,
}

/// One inline test case.
#[derive(Debug, Clone, Serialize)]
pub struct PackTest {
    /// Optional name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The action.
    pub action: Action,
    /// What must come out.
    pub expect: Expectation,
    /// Line in the source file.
    #[serde(skip)]
    pub line: usize,
}

/// An inline test's expected result.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    /// The verdict.
    pub decision: Outcome,
    /// The deciding rule, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// The severity, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}
