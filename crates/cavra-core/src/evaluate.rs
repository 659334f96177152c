//! Evaluation (SPEC §3): a total, pure function from an action and a compiled pack to a verdict.
//!
//! An action is broken into parts — each simple command of a command line, each file it touches,
//! each git push, each pipeline, each MCP call — and each part is decided by the first rule of
//! its kind that matches (or the pack's default). The most restrictive part decides the action;
//! every part's deciding rule is listed in `matched`. Then the mode is applied.

use serde::Serialize;

use crate::action::{Action, ActionType};
use crate::decision::{Evaluation, MatchedRule, Mode, Outcome, Severity};
use crate::git::{self, GitIntent};
use crate::pack::compile::{
    CommandMatcher, CompiledMatcher, CompiledRule, FileMatcher, FilePathIndex, GitMatcher, McpMatcher, PipelineMatcher,
    TextIndex,
};
use crate::pack::{CompiledPack, FileAccess};
use crate::path::{self, NormalPath};
use crate::shell::{self, Access, CommandLine, Construct, SimpleCommand, Stage};

/// One part of an action, as rules see it.
enum Part<'a> {
    Command(&'a SimpleCommand),
    File {
        access: Access,
        path: NormalPath,
        /// How the command named it (a glob stays a glob).
        shown: String,
        /// Every file the same command touches: a write made only from files it reads (`cp
        /// .env.example .env`) is a copy of them.
        with: &'a [(Access, String)],
        /// The text being written, when the agent's tool sent it (`Action::written_text`).
        content: Option<&'a str>,
    },
    Git(GitIntent),
    Mcp {
        server: &'a str,
        tool: &'a str,
        capability: Option<&'a str>,
    },
    Pipeline(&'a [Stage]),
    Construct(Construct),
}

impl Part<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Part::Command(_) => "command",
            Part::File { .. } => "file",
            Part::Git(_) => "git",
            Part::Mcp { .. } => "mcp",
            Part::Pipeline(_) => "pipeline",
            Part::Construct(_) => "construct",
        }
    }

    fn label(&self) -> String {
        match self {
            Part::Command(c) => c.text(),
            Part::File { access, shown, .. } => format!("{} {shown}", access.as_str()),
            Part::Git(g) => g.label(),
            Part::Mcp { server, tool, .. } => format!("{server}:{tool}"),
            Part::Pipeline(stages) => stages
                .iter()
                .map(|s| s.programs.join(","))
                .collect::<Vec<_>>()
                .join(" | "),
            Part::Construct(c) => c.as_str().to_owned(),
        }
    }
}

/// How one part was read and which rules fired on it (for `cavra policy explain`).
#[derive(Debug, Clone, Serialize)]
pub struct PartReport {
    /// `command`, `file`, `git`, `mcp`, `pipeline` or `construct`.
    pub kind: &'static str,
    /// The part as text, e.g. `rm -rf /` or `read .env`.
    pub label: String,
    /// How the analyser read it: program, flags, arguments, wrappers, paths.
    pub detail: Vec<(String, String)>,
    /// Every rule that matches the part, in pack order; the first decides it.
    pub rules: Vec<MatchedRule>,
}

/// An evaluation with the analysis behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Each part, in order.
    pub parts: Vec<PartReport>,
    /// The verdict.
    pub evaluation: Evaluation,
}

/// Decides `action` under `pack`. Total: never panics, never fails.
pub fn evaluate(action: &Action, pack: &CompiledPack) -> Evaluation {
    run(action, pack, false).evaluation
}

/// Decides `action` and reports every part and every rule that matched it.
pub fn explain(action: &Action, pack: &CompiledPack) -> Explanation {
    run(action, pack, true)
}

fn run(action: &Action, pack: &CompiledPack, report: bool) -> Explanation {
    let line = match action.action_type {
        ActionType::ExecuteCommand => shell::analyse(&action.target, action.cwd.as_deref()),
        ActionType::McpToolCall => mcp_script(action).map_or_else(CommandLine::default, |script| {
            shell::analyse(&script, action.cwd.as_deref())
        }),
        _ => CommandLine::default(),
    };
    let written = action.written_text();
    let parts = parts(action, &line, written.as_deref(), pack);
    let mut reports = Vec::new();
    let mut matched = Vec::new();
    // (outcome, severity, rule index) of the most restrictive part so far.
    let mut best: Option<(Outcome, Severity, Option<usize>)> = None;
    for part in &parts {
        let facts = Facts::new(part, pack);
        let environment = facts.environment;
        let hits = matching_rules(pack, part, &facts, action.cwd.as_deref(), report);
        // Only a part that a rule decides, or a report, shows its label.
        let label = std::cell::OnceCell::new();
        let label = || label.get_or_init(|| facts.label(part));
        let verdict = match hits.first() {
            Some(&i) => {
                let (decision, severity) = rule_verdict(&pack.rules[i]);
                matched.push(MatchedRule {
                    rule_id: pack.rules[i].rule.id.clone(),
                    decision,
                    severity,
                    part: label().clone(),
                    environment: environment.map(str::to_owned),
                });
                (decision, severity, Some(i))
            }
            None => (pack.default_decision, pack.default_severity, None),
        };
        if best.is_none_or(|(o, s, _)| (verdict.0, verdict.1) > (o, s)) {
            best = Some(verdict);
        }
        if report {
            reports.push(PartReport {
                kind: part.kind(),
                label: label().clone(),
                detail: detail(part, environment),
                rules: hits
                    .iter()
                    .map(|&i| {
                        let (decision, severity) = rule_verdict(&pack.rules[i]);
                        MatchedRule {
                            rule_id: pack.rules[i].rule.id.clone(),
                            decision,
                            severity,
                            part: label().clone(),
                            environment: environment.map(str::to_owned),
                        }
                    })
                    .collect(),
            });
        }
    }
    let mut evaluation = match best.and_then(|(_, _, rule)| rule) {
        Some(i) => {
            let c = &pack.rules[i];
            let (decision, severity) = rule_verdict(c);
            let (reason, suggestion, approver_group) = match c.broken() {
                Some(why) => (
                    format!(
                        "Rule `{}` of `{}` could not be built ({why}), so the action is blocked rather \
                         than judged without it.",
                        c.rule.id, c.policy_id
                    ),
                    Some(format!(
                        "Fix the rule's patterns; `cavra policy validate` reports the error for `{}`.",
                        c.policy_id
                    )),
                    None,
                ),
                None => (
                    c.rule.reason.clone(),
                    c.rule.suggestion.clone(),
                    c.rule.approver_group.clone(),
                ),
            };
            Evaluation {
                decision,
                severity,
                rule_id: c.rule.id.clone(),
                policy_id: c.policy_id.clone(),
                reason,
                suggestion,
                approver_group,
                matched,
                mode: Mode::Enforce,
            }
        }
        None => Evaluation {
            decision: pack.default_decision,
            severity: pack.default_severity,
            rule_id: format!("{}.default", pack.id),
            policy_id: pack.id.clone(),
            reason: format!(
                "No rule of `{}` matched; its default `{}` applies.",
                pack.id, pack.default_decision
            ),
            suggestion: None,
            approver_group: None,
            matched,
            mode: Mode::Enforce,
        },
    };
    apply_mode(action, action.policy_mode.unwrap_or(pack.mode), &mut evaluation);
    Explanation {
        parts: reports,
        evaluation,
    }
}

/// What a rule decides when it matches: its own verdict, or a critical block when its matcher
/// could not be built (fail closed).
fn rule_verdict(rule: &CompiledRule) -> (Outcome, Severity) {
    match rule.broken() {
        Some(_) => (Outcome::Block, Severity::Critical),
        None => (rule.rule.decision, rule.rule.severity),
    }
}

fn apply_mode(action: &Action, mode: Mode, e: &mut Evaluation) {
    e.mode = mode;
    match mode {
        Mode::Enforce => {}
        Mode::AuditOnly => {
            if e.decision != Outcome::Allow {
                e.reason = format!(
                    "Audit-only mode, the action proceeds; enforced it would be `{}`: {}",
                    e.decision, e.reason
                );
                e.decision = Outcome::AuditOnly;
            }
        }
        Mode::Strict => {
            if e.decision == Outcome::Allow {
                e.decision = Outcome::RequireApproval;
                e.reason = format!("Strict mode: every allowed action needs approval. {}", e.reason);
            }
        }
        Mode::BreakGlass => {
            let justification = action.justification.as_deref().map(str::trim).filter(|j| !j.is_empty());
            match (&action.actor, justification) {
                (Some(actor), Some(why)) if !actor.trim().is_empty() => {
                    e.reason = format!(
                        "Break-glass by `{actor}`: {why} (the policy verdict was `{}` by `{}`: {})",
                        e.decision, e.rule_id, e.reason
                    );
                    e.decision = Outcome::AllowWithAttestation;
                }
                _ => {
                    e.reason = format!(
                        "Break-glass refused: it needs an `actor` and a `justification`. {}",
                        e.reason
                    );
                }
            }
        }
    }
}

/// Breaks an action into the parts rules see.
fn parts<'a>(
    action: &'a Action,
    line: &'a CommandLine,
    written: Option<&'a str>,
    pack: &CompiledPack,
) -> Vec<Part<'a>> {
    let root = action.cwd.as_deref();
    let mut parts = Vec::new();
    match action.action_type {
        ActionType::ReadFile | ActionType::WriteFile => {
            let access = if action.action_type == ActionType::ReadFile {
                Access::Read
            } else {
                Access::Write
            };
            file_parts(access, &action.target, root, root, pack, (&[], written), &mut parts);
        }
        ActionType::GitOperation => parts.push(Part::Git(git::from_action(&action.target, action.git_operation()))),
        ActionType::McpToolCall => {
            parts.push(Part::Mcp {
                server: action.mcp_server(),
                tool: action.mcp_tool(),
                capability: action.capability.as_deref(),
            });
            // What the tool is asked to touch is checked like the agent's own file access.
            let access = mcp_access(action.mcp_tool());
            for file in mcp_paths(action) {
                file_parts(access, file, root, root, pack, (&[], written), &mut parts);
            }
            if let Some(intent) = mcp_git(action) {
                parts.push(Part::Git(intent));
            }
            if mcp_secret_in_message(action) {
                parts.push(Part::Construct(Construct::SecretInMessage));
            }
            command_line_parts(line, root, pack, &mut parts);
        }
        ActionType::ExecuteCommand => command_line_parts(line, root, pack, &mut parts),
    }
    parts
}

fn command_line_parts<'a>(line: &'a CommandLine, root: Option<&str>, pack: &CompiledPack, parts: &mut Vec<Part<'a>>) {
    for cmd in &line.commands {
        parts.push(Part::Command(cmd));
        parts.extend(git::from_command_all(cmd).into_iter().map(Part::Git));
        // A write is a copy of the files the command reads only when nothing else goes into it:
        // no standard input (`-`, a here-document) and no expanded value (`sed "s/X/$TOKEN/"`).
        let copies = cmd.input.is_none() && !cmd.args.iter().any(|a| a == "-" || a.contains('$'));
        let with: &[(Access, String)] = if copies { &cmd.files } else { &[] };
        for (access, file) in &cmd.files {
            file_parts(*access, file, cmd.cwd.as_deref(), root, pack, (with, None), parts);
        }
    }
    parts.extend(line.pipelines.iter().map(|p| Part::Pipeline(p)));
    parts.extend(line.constructs.iter().map(|c| Part::Construct(*c)));
}

/// The file parts a path stands for. A glob's star is tried as empty and as a name (`.env*`
/// stands for `.env` and `.env.local` alike); braces and bracket classes are expanded first
/// (`{.env,a}`, `*.p[e]m`, `id_[!x]sa`), since rules match names, not patterns — a pattern that
/// spells more than [`MAX_SPELLINGS`] names is the `too_deep` construct instead.
#[allow(clippy::too_many_arguments)]
fn file_parts<'a>(
    access: Access,
    raw: &str,
    cwd: Option<&str>,
    root: Option<&str>,
    pack: &CompiledPack,
    (with, content): (&'a [(Access, String)], Option<&'a str>),
    parts: &mut Vec<Part<'a>>,
) {
    // No file system takes a path this long (Linux's PATH_MAX); matching it against every rule
    // would cost more than the budget, so it is judged unreadable instead.
    if raw.len() > MAX_PATH_BYTES {
        parts.push(Part::Construct(Construct::TooComplex));
        return;
    }
    if !raw.contains(['*', '?', '[', '{']) {
        let resolved = path::resolve(raw, cwd, root);
        let shown = resolved.relative.clone().unwrap_or_else(|| resolved.full.clone());
        parts.push(Part::File {
            access,
            path: resolved,
            shown,
            with,
            content,
        });
        return;
    }
    // Bracket and brace groups beyond a few dozen are not worth spelling out: fail closed in
    // linear time instead of expanding (or scanning) them.
    if raw.bytes().filter(|b| matches!(b, b'[' | b'{')).count() > MAX_GROUPS {
        parts.push(Part::Construct(Construct::TooDeep));
        return;
    }
    // `cat .e*v`: a pattern is also tried as every name the pack's own file rules protect that
    // it matches, so a star cannot stand for the letters a rule names.
    for witness in witnesses(raw, pack) {
        parts.push(Part::File {
            access,
            path: path::resolve(&witness, cwd, root),
            shown: raw.to_owned(),
            with,
            content,
        });
    }
    let Some(spellings) = spellings(raw) else {
        parts.push(Part::Construct(Construct::TooDeep));
        return;
    };
    for spelling in spellings {
        for guess in [spelling.replace(['*', '?'], ""), spelling.replace(['*', '?'], "x")] {
            parts.push(Part::File {
                access,
                path: path::resolve(&guess, cwd, root),
                shown: raw.to_owned(),
                with,
                content,
            });
        }
    }
}

/// The longest path analysed (Linux's `PATH_MAX`).
const MAX_PATH_BYTES: usize = 4096;

/// Bracket or brace groups a pattern may have before it is not analysed at all.
const MAX_GROUPS: usize = 32;

/// Most names one pattern is tried as, from the pack's protected names.
const MAX_WITNESSES: usize = 32;

/// Names the pack's file rules protect, as sample paths: `.env.*` gives `.env.x`, `*.pem` gives
/// `x.pem`, `~/.ssh/**` gives `~/.ssh/x`, `id_rsa*` gives `id_rsa` and `id_rsax`.
fn protected_samples(pack: &CompiledPack) -> Vec<String> {
    let mut out = Vec::new();
    for &i in &pack.file_rules {
        if let crate::pack::Matcher::File(m) = &pack.rules[i].rule.matcher {
            for p in &m.paths {
                if p.contains(['[', '{']) {
                    continue;
                }
                let p = p.replace("**/", "").replace("/**", "/x");
                for star in ["", "x"] {
                    let sample = p.replace(['*', '?'], star);
                    if !sample.is_empty() && !out.contains(&sample) {
                        out.push(sample);
                    }
                }
            }
        }
    }
    out
}

/// The protected names (see [`protected_samples`]) that the pattern `raw` could stand for,
/// component by component: `.e*v` → `.env`, `~/.s?h/` → `~/.ssh`.
fn witnesses(raw: &str, pack: &CompiledPack) -> Vec<String> {
    let mut out: Vec<String> = vec![String::new()];
    let absolute = raw.starts_with('/');
    for (k, part) in raw.split('/').enumerate() {
        let choices: Vec<String> = if part.contains(['*', '?', '[']) {
            component_witnesses(part, pack)
        } else {
            vec![part.to_owned()]
        };
        if choices.is_empty() {
            return Vec::new();
        }
        let mut next = Vec::new();
        for prefix in &out {
            for c in &choices {
                let joined = if k == 0 { c.clone() } else { format!("{prefix}/{c}") };
                next.push(joined);
                if next.len() >= MAX_WITNESSES {
                    break;
                }
            }
        }
        out = next;
    }
    if out.len() == 1 && out[0] == raw {
        return Vec::new();
    }
    if absolute {
        out.iter_mut().for_each(|w| {
            if !w.starts_with('/') {
                w.insert(0, '/');
            }
        });
    }
    out
}

/// Glob components remembered per pack before the memo starts over.
const MAX_REMEMBERED_GLOBS: usize = 4096;

/// The protected name components (at most 8) that one glob component matches: `.e*v` → `.env`.
/// Remembered per pack, since compiling the glob costs far more than the rest of an evaluation.
fn component_witnesses(part: &str, pack: &CompiledPack) -> Vec<String> {
    if let Ok(memo) = pack.glob_components.lock()
        && let Some(hits) = memo.get(part)
    {
        return hits.clone();
    }
    let samples = pack.protected_samples.get_or_init(|| protected_samples(pack));
    let mut hits: Vec<String> = Vec::new();
    if let Ok(glob) = globset::GlobBuilder::new(part).literal_separator(true).build() {
        let m = glob.compile_matcher();
        for c in samples.iter().flat_map(|s| s.split('/')).filter(|c| !c.is_empty()) {
            if m.is_match(c) && !hits.iter().any(|h| h == c) {
                hits.push(c.to_owned());
            }
            if hits.len() >= 8 {
                break;
            }
        }
    }
    if let Ok(mut memo) = pack.glob_components.lock() {
        if memo.len() >= MAX_REMEMBERED_GLOBS {
            memo.clear();
        }
        memo.insert(part.to_owned(), hits.clone());
    }
    hits
}

/// Names a pattern may spell that rules must see; past this, the pattern is not analysed.
const MAX_SPELLINGS: usize = 64;

/// What a negated bracket class (`[!x]`) is tried with: the characters of file names.
const NAME_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-~";

/// `raw` as written, plus every spelling with its first brace group or bracket class replaced by
/// each alternative, recursively; `None` when there would be more than [`MAX_SPELLINGS`].
fn spellings(raw: &str) -> Option<Vec<String>> {
    let mut out = vec![raw.to_owned()];
    let mut todo = vec![raw.to_owned()];
    while let Some(pattern) = todo.pop() {
        let Some((start, end, alternatives)) = first_group(&pattern) else {
            continue;
        };
        for alternative in alternatives {
            let spelled = format!("{}{alternative}{}", &pattern[..start], &pattern[end..]);
            if !out.contains(&spelled) {
                out.push(spelled.clone());
                todo.push(spelled);
            }
            if out.len() > MAX_SPELLINGS {
                return None;
            }
        }
    }
    Some(out)
}

/// The first `{a,b}` group or `[…]` class of `pattern` (byte range) and what it may stand for.
fn first_group(pattern: &str) -> Option<(usize, usize, Vec<String>)> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => {
                if let Some((end, members)) = class(pattern, i) {
                    return Some((i, end, members.into_iter().map(String::from).collect()));
                }
            }
            b'{' => {
                if let Some((end, alternatives)) = braces(pattern, i) {
                    return Some((i, end, alternatives));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The bracket class opening at `start`: its end and its characters (a negated class: the
/// [`NAME_CHARS`] it lets through). `None` when it never closes.
fn class(pattern: &str, start: usize) -> Option<(usize, Vec<char>)> {
    let body = &pattern[start + 1..];
    let (negated, body) = match body.strip_prefix(['!', '^']) {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let offset = pattern.len() - body.len();
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let mut listed = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let (at, c) = chars[k];
        if c == ']' && k > 0 {
            let members = if negated {
                NAME_CHARS.chars().filter(|n| !listed.contains(n)).collect()
            } else {
                listed
            };
            return Some((offset + at + 1, members));
        }
        if let (Some(&(_, '-')), Some(&(_, hi))) = (chars.get(k + 1), chars.get(k + 2))
            && hi != ']'
        {
            listed.extend((c..=hi).take(MAX_SPELLINGS));
            k += 3;
            continue;
        }
        listed.push(c);
        k += 1;
    }
    None
}

/// The brace group opening at `start`: its end and its comma-separated alternatives (nested
/// groups stay whole, to be expanded in turn). `None` without a comma or a closing brace.
fn braces(pattern: &str, start: usize) -> Option<(usize, Vec<String>)> {
    let mut depth = 0usize;
    let mut from = start + 1;
    let mut alternatives = Vec::new();
    for (i, c) in pattern.char_indices().skip_while(|(i, _)| *i <= start) {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            '}' => {
                alternatives.push(pattern[from..i].to_owned());
                return (alternatives.len() > 1).then_some((i + 1, alternatives));
            }
            ',' if depth == 0 => {
                alternatives.push(pattern[from..i].to_owned());
                from = i + 1;
            }
            _ => {}
        }
    }
    None
}

/// MCP argument keys that name files, compared lower-cased without `_` and `-` (`filePath`,
/// `file_path` and `FilePath` are one key).
const MCP_PATH_KEYS: [&str; 30] = [
    "path",
    "paths",
    "file",
    "files",
    "filepath",
    "filepaths",
    "filename",
    "source",
    "sourcepath",
    "destination",
    "destinationpath",
    "dest",
    "src",
    "target",
    "targetpath",
    "dir",
    "directory",
    "uri",
    "uris",
    "newpath",
    "oldpath",
    "root",
    "cwd",
    "workdir",
    "workingdirectory",
    "location",
    "output",
    "outputpath",
    "inputpath",
    "notebookpath",
];

/// MCP argument keys that hold shell commands.
const MCP_COMMAND_KEYS: [&str; 7] = [
    "command",
    "cmd",
    "script",
    "shellcommand",
    "commandline",
    "bash",
    "clicommand",
];

/// MCP argument keys that hold SQL.
const MCP_SQL_KEYS: [&str; 5] = ["sql", "query", "statement", "querytext", "statements"];

/// MCP argument keys that name the database or connection SQL runs against.
const MCP_PLACE_KEYS: [&str; 12] = [
    "connection",
    "connectionname",
    "connectionid",
    "database",
    "db",
    "dbname",
    "host",
    "server",
    "dsn",
    "connectionstring",
    "environment",
    "env",
];

/// Most argument values looked at in one call (nesting and arrays included).
const MCP_MAX_VALUES: usize = 512;

fn normal_key(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Every string argument under `value`, with the normalised key it sits under, depth first.
fn mcp_strings<'a>(key: &str, value: &'a serde_json::Value, depth: usize, out: &mut Vec<(String, &'a str)>) {
    if depth > 8 || out.len() >= MCP_MAX_VALUES {
        return;
    }
    match value {
        serde_json::Value::String(s) => out.push((key.to_owned(), s)),
        serde_json::Value::Array(items) => {
            for item in items {
                mcp_strings(key, item, depth + 1, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                mcp_strings(&normal_key(k), v, depth + 1, out);
            }
        }
        _ => {}
    }
}

fn mcp_arguments(action: &Action) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Some(args) = &action.arguments {
        for (k, v) in args {
            mcp_strings(&normal_key(k), v, 0, &mut out);
        }
    }
    out
}

/// Files an MCP call names: values under path-like keys at any depth, and `file://` URIs
/// anywhere.
fn mcp_paths(action: &Action) -> Vec<&str> {
    mcp_arguments(action)
        .into_iter()
        .filter_map(|(key, value)| match value.strip_prefix("file://") {
            Some(path) => Some(path),
            None if MCP_PATH_KEYS.contains(&key.as_str()) && !value.contains("://") => Some(value),
            None => None,
        })
        .collect()
}

/// The shell an MCP call carries: command strings (with an `args` list when given), and SQL
/// sent to a database tool, read as the `psql --host SERVER -c` it amounts to.
fn mcp_script(action: &Action) -> Option<String> {
    let args = mcp_arguments(action);
    let mut scripts: Vec<String> = Vec::new();
    let argv: Vec<&str> = args
        .iter()
        .filter(|(k, _)| k == "args" || k == "argv")
        .map(|(_, v)| *v)
        .collect();
    for (key, value) in &args {
        if MCP_COMMAND_KEYS.contains(&key.as_str()) {
            let mut script = (*value).to_owned();
            for a in &argv {
                script.push(' ');
                script.push_str(&crate::shell::quote_word(a));
            }
            scripts.push(script);
        } else if MCP_SQL_KEYS.contains(&key.as_str()) {
            // The server's name stands for the database it reaches (`postgres-prod`), and so do
            // the connection, database or host arguments the call names (`connection: prod-primary`).
            let mut hosts = vec![action.mcp_server()];
            hosts.extend(
                args.iter()
                    .filter(|(k, _)| MCP_PLACE_KEYS.contains(&k.as_str()))
                    .map(|(_, v)| *v),
            );
            let hosts: Vec<String> = hosts
                .iter()
                .map(|h| format!("--host {}", crate::shell::quote_word(h)))
                .collect();
            scripts.push(format!(
                "psql {} -c {}",
                hosts.join(" "),
                crate::shell::quote_word(value)
            ));
        }
    }
    // A repository or project tool told `private: false` or `visibility: public` (in any
    // spelling, at any depth) publishes it, as `gh repo edit --visibility public` does.
    let tool = normal_key(action.mcp_tool());
    if (tool.contains("repo") || tool.contains("project") || tool == "api" || tool.contains("request"))
        && action
            .arguments
            .as_ref()
            .is_some_and(|a| a.iter().any(|(k, v)| makes_public(&normal_key(k), v, 0)))
    {
        scripts.push("gh repo edit --visibility public".to_owned());
    }
    (!scripts.is_empty()).then(|| scripts.join("\n"))
}

/// Whether an argument (or one nested in it) makes a repository public: a key ending in
/// `private` set false (`false`, `"False"`, `0`, `"no"`), or one ending in `visibility` set
/// public (GitLab's `visibility_level: 20` included).
fn makes_public(key: &str, value: &serde_json::Value, depth: usize) -> bool {
    use serde_json::Value;
    let falsy = |v: &Value| match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no" | "off"),
        _ => false,
    };
    let public = |v: &Value| match v {
        Value::String(s) => s.trim().eq_ignore_ascii_case("public"),
        Value::Number(n) => n.as_f64() == Some(20.0),
        _ => false,
    };
    match value {
        Value::Object(map) if depth < 4 => map.iter().any(|(k, v)| makes_public(&normal_key(k), v, depth + 1)),
        Value::String(s) if depth < 4 && s.trim_start().starts_with('{') => {
            serde_json::from_str::<Value>(s).is_ok_and(|v| makes_public(key, &v, depth + 1))
        }
        _ => {
            (key.ends_with("private") && falsy(value))
                || ((key.ends_with("visibility") || key.ends_with("visibilitylevel")) && public(value))
        }
    }
}

/// What a code-hosting tool does to branches: `push_files`/`create_or_update_file` push to
/// their `branch`, `update_ref` moves a ref (force when asked), `delete_branch` deletes one,
/// `merge_pull_request` merges into a base it may not name (taken as protected), and deleting
/// a repository deletes every branch.
fn mcp_git(action: &Action) -> Option<GitIntent> {
    let tool = normal_key(action.mcp_tool());
    let args = action.arguments.as_ref();
    let arg = |names: &[&str]| -> Option<String> {
        args?.iter().find_map(|(k, v)| {
            let k = normal_key(k);
            names
                .contains(&k.as_str())
                .then(|| v.as_str().map(str::to_owned))
                .flatten()
        })
    };
    let force = args.is_some_and(|a| {
        a.iter()
            .any(|(k, v)| normal_key(k) == "force" && v.as_bool() == Some(true))
    });
    let branch =
        arg(&["branch", "ref", "base", "targetbranch", "basebranch", "branchname"]).map(|b| git::branch_name(&b));
    let has = |w: &str| tool.contains(w);
    if [
        "list", "get", "search", "read", "view", "show", "compare", "diff", "fetch", "find",
    ]
    .iter()
    .any(|w| tool.starts_with(w))
    {
        // `list_commits`, `get_file_contents`: reading a repository writes nothing to it.
        return None;
    }
    let (operation, branches, all) = if has("delete") && (has("repo") || has("project")) {
        ("branch_delete", Vec::new(), true)
    } else if has("merge") && (has("pull") || has("pr") || has("request") || has("mr")) {
        let base = arg(&["base", "targetbranch", "basebranch", "into"]).map(|b| git::branch_name(&b));
        ("merge", base.clone().into_iter().collect(), base.is_none())
    } else if has("delete") && (has("branch") || has("ref")) {
        ("branch_delete", branch.clone().into_iter().collect(), branch.is_none())
    } else if has("push")
        || has("ref")
        || has("commit")
        || ((has("create") || has("update") || has("delete") || has("write") || has("put"))
            && (has("file") || has("content") || has("blob") || has("tree")))
    {
        // Writing through the API without a branch writes the default branch.
        ("push", branch.clone().into_iter().collect(), branch.is_none())
    } else {
        return None;
    };
    let server = normal_key(action.mcp_server());
    let hosting = [
        "github",
        "gitlab",
        "gitea",
        "bitbucket",
        "forgejo",
        "git",
        "azuredevops",
        "codecommit",
    ]
    .iter()
    .any(|h| server.contains(h));
    if !hosting {
        return None;
    }
    Some(GitIntent {
        operation: operation.to_owned(),
        remote: None,
        branches,
        force,
        all_branches: all,
        ..GitIntent::default()
    })
}

/// Whether an MCP call sends a message or writes outside the machine — by its tool's name
/// (`post_message`, `create_issue`, `send_email`, `upload_file`, ...) or its server's (`slack`,
/// `gmail`, `webhook`, ...) — and carries a secret in its arguments, as the redaction rules
/// find one (a token's format, a secret-named key or variable, a password in a URL). What such a
/// tool is given leaves the organisation, so the secret would too: the `secret_in_message`
/// construct.
fn mcp_secret_in_message(action: &Action) -> bool {
    const TOOL_WORDS: &str = "send post message chat comment reply publish createissue createpullrequest \
                              webhook mail tweet upload share notify sms gist paste";
    const SERVER_WORDS: &str = "slack discord teams telegram mail twitter webhook whatsapp sms twilio sendgrid \
                                mattermost zulip matrix pastebin";
    let tool = normal_key(action.mcp_tool());
    let server = normal_key(action.mcp_server());
    let sends = TOOL_WORDS.split_whitespace().any(|w| tool.contains(w))
        || SERVER_WORDS.split_whitespace().any(|w| server.contains(w));
    let Some(arguments) = action.arguments.as_ref().filter(|_| sends) else {
        return false;
    };
    let mut found = Vec::new();
    crate::redact::redact_json(
        &mut serde_json::Value::Object(arguments.clone()),
        "arguments",
        &mut found,
    );
    !found.is_empty()
}

/// Whether an MCP tool, by its name, writes what it is given.
fn mcp_access(tool: &str) -> Access {
    let t = tool.to_ascii_lowercase();
    let writes = [
        "write", "edit", "create", "move", "rename", "delete", "remove", "append", "upload", "save", "put",
    ];
    if writes.iter().any(|w| t.contains(w)) {
        Access::Write
    } else {
        Access::Read
    }
}

/// What the rules ask of one part, worked out at most once per part (for both passes of
/// [`matching_rules`] and for the part's label): where it acts, a command's text and operands,
/// a file's path as glob candidates and which file rules' `paths` match it.
struct Facts<'a> {
    environment: Option<&'a str>,
    /// A command's text (its label, and what `text` patterns read).
    text: std::cell::OnceCell<String>,
    /// The operands as paths, resolved once for every rule that looks at them.
    operands: std::cell::OnceCell<Vec<Operand<'a>>>,
    /// A file part's path, prepared once for every file rule's glob sets.
    file_path: Option<Candidates<'a>>,
    /// With the pack's combined set: which file rules' `paths` the path matches, by position in
    /// `file_rules`.
    path_hits: std::cell::OnceCell<Option<Vec<bool>>>,
    /// Which of the generic rules' `text` patterns match the command's text, in one scan.
    generic_hits: std::cell::OnceCell<regex::SetMatches>,
}

impl<'a> Facts<'a> {
    fn new(part: &'a Part<'a>, pack: &'a CompiledPack) -> Facts<'a> {
        Facts {
            environment: part_environment(part, pack),
            text: std::cell::OnceCell::new(),
            operands: std::cell::OnceCell::new(),
            file_path: match part {
                Part::File { path, .. } => Some(Candidates::new(path)),
                _ => None,
            },
            path_hits: std::cell::OnceCell::new(),
            generic_hits: std::cell::OnceCell::new(),
        }
    }

    /// The part as text, e.g. `rm -rf /` or `read .env`.
    fn label(&self, part: &Part<'_>) -> String {
        match part {
            Part::Command(c) => self.text.get_or_init(|| c.text()).clone(),
            _ => part.label(),
        }
    }
}

/// Indices of the rules that match `part`, in pack order: the first only, or all.
fn matching_rules<'a>(
    pack: &'a CompiledPack,
    part: &'a Part<'a>,
    facts: &'a Facts<'a>,
    root: Option<&'a str>,
    all: bool,
) -> Vec<usize> {
    // Catch-all rules (`fallback: true`) are tried only after every other rule of the kind.
    let first = matching_pass(pack, part, facts, root, all, false);
    if !first.is_empty() && !all {
        return first;
    }
    let mut hits = first;
    hits.extend(matching_pass(pack, part, facts, root, all, true));
    hits
}

fn matching_pass<'a>(
    pack: &'a CompiledPack,
    part: &'a Part<'a>,
    facts: &'a Facts<'a>,
    root: Option<&'a str>,
    all: bool,
    fallback: bool,
) -> Vec<usize> {
    let mut hits = Vec::new();
    let environment = facts.environment;
    let file_path = &facts.file_path;
    let path_hits = match (file_path, part) {
        (Some(p), Part::File { access, .. }) => facts
            .path_hits
            .get_or_init(|| {
                pack.file_path_index(*access == Access::Write)
                    .map(|index| p.hits(index))
            })
            .as_ref(),
        _ => None,
    };
    let generic = match part {
        Part::Command(_) => pack.generic_text_index(),
        _ => None,
    };
    let mut test = |i: usize, paths_hit: Option<bool>| -> bool {
        if pack.rules[i].rule.fallback != fallback {
            return false;
        }
        let m = pack.rules[i].matcher();
        let ok = match (m, part) {
            (CompiledMatcher::Command(m), Part::Command(c)) => {
                let context = CommandContext {
                    root,
                    environment,
                    text: &facts.text,
                    operands: &facts.operands,
                    generic: generic.and_then(|g| g.slot(i).map(|slot| (g, slot))),
                    generic_hits: &facts.generic_hits,
                };
                command_matches(m, c, &context)
            }
            (
                CompiledMatcher::File(m),
                Part::File {
                    access, with, content, ..
                },
            ) => file_path
                .as_ref()
                .is_some_and(|p| file_matches(m, *access, p, paths_hit, with, *content)),
            (CompiledMatcher::Git(m), Part::Git(g)) => git_matches(m, g, pack),
            (
                CompiledMatcher::Mcp(m),
                Part::Mcp {
                    server,
                    tool,
                    capability,
                },
            ) => mcp_matches(m, server, tool, *capability),
            (CompiledMatcher::Pipeline(m), Part::Pipeline(stages)) => pipeline_matches(m, stages),
            (CompiledMatcher::Construct(c), Part::Construct(p)) => c == p,
            (CompiledMatcher::Broken(_), _) => true,
            _ => false,
        };
        if ok {
            hits.push(i);
        }
        ok && !all
    };
    match part {
        Part::Command(c) => {
            // Merge the program's own rules with the generic ones, keeping pack order.
            let own = pack.by_program.get(&c.program).map_or(&[][..], Vec::as_slice);
            let generic = pack.any_program.as_slice();
            let (mut a, mut b) = (0, 0);
            while a < own.len() || b < generic.len() {
                let next = match (own.get(a), generic.get(b)) {
                    (Some(&x), Some(&y)) if x < y => {
                        a += 1;
                        x
                    }
                    (Some(_), Some(&y)) => {
                        b += 1;
                        y
                    }
                    (Some(&x), None) => {
                        a += 1;
                        x
                    }
                    (None, Some(&y)) => {
                        b += 1;
                        y
                    }
                    (None, None) => break,
                };
                if test(next, None) {
                    break;
                }
            }
        }
        _ => {
            let list = match part {
                Part::File { .. } => &pack.file_rules,
                Part::Git(_) => &pack.git_rules,
                Part::Mcp { .. } => &pack.mcp_rules,
                Part::Pipeline(_) => &pack.pipeline_rules,
                _ => &pack.construct_rules,
            };
            for (k, &i) in list.iter().enumerate() {
                let paths_hit = path_hits.and_then(|h| h.get(k).copied());
                if test(i, paths_hit) {
                    break;
                }
            }
        }
    }
    hits
}

/// A command operand as the rules' glob sets see it: as written, and as the path it resolves to,
/// resolved once per command part.
struct Operand<'a> {
    raw: &'a str,
    /// Whether the operand climbs (`..`), so that its spelling may not stand for it.
    climbs: bool,
    resolved: NormalPath,
}

impl<'a> Operand<'a> {
    fn new(raw: &'a str, cwd: Option<&str>, root: Option<&str>) -> Operand<'a> {
        Operand {
            raw,
            climbs: raw.split('/').any(|c| c == ".."),
            resolved: path::resolve(raw, cwd, root),
        }
    }
}

/// A resolved path prepared for glob matching: full, and relative to the repository root.
struct Candidates<'a> {
    full: globset::Candidate<'a>,
    relative: Option<globset::Candidate<'a>>,
    outside: bool,
}

impl<'a> Candidates<'a> {
    fn new(path: &'a NormalPath) -> Candidates<'a> {
        Candidates {
            full: globset::Candidate::new(&path.full),
            relative: path.relative.as_deref().map(globset::Candidate::new),
            outside: path.outside,
        }
    }

    fn hit(&self, set: &globset::GlobSet) -> bool {
        set.is_match_candidate(&self.full) || self.relative.as_ref().is_some_and(|r| set.is_match_candidate(r))
    }

    /// By position in the pack's `file_rules`: whether the rule's `paths` match the path (what
    /// `hit` says of each rule's own set), from two searches of the combined set.
    fn hits(&self, index: &FilePathIndex) -> Vec<bool> {
        let mut hits = index.any_path.clone();
        // Most paths are no rule's: one early-stopping search says so without listing matches.
        if !self.hit(&index.set) {
            return hits;
        }
        let mut globs = Vec::new();
        for candidate in std::iter::once(&self.full).chain(&self.relative) {
            index.set.matches_candidate_into(candidate, &mut globs);
            for &g in &globs {
                if let Some(&k) = index.owner.get(g)
                    && let Some(h) = hits.get_mut(k)
                {
                    *h = true;
                }
            }
        }
        hits
    }
}

/// Whether an operand, as written or as the path it resolves to, matches. `raw_ok` is false
/// for allow-lists (`all_args`): there only the resolved path counts, so `target/../src` is
/// `src`, never the `target/**` it starts with.
fn arg_matches(set: &globset::GlobSet, arg: &Operand<'_>, raw_ok: bool) -> bool {
    if (raw_ok || !arg.climbs) && set.is_match(arg.raw) {
        return true;
    }
    Candidates::new(&arg.resolved).hit(set)
}

/// The first environment (in the pack's order) that one of the words names, whole or by a part
/// split at non-alphanumerics: `eks-prod-eu` reaches `production` through `prod`. A name with
/// both kinds of word (`shop-live-staging`, `warehouse_prod_stage`) reaches production: which
/// word qualifies the other is a guess, and the agent may have chosen the name.
fn environment_of<'p>(reaches: &[String], pack: &'p CompiledPack) -> Option<&'p str> {
    if reaches.is_empty() {
        return None;
    }
    pack.environments.iter().find_map(|(name, set)| {
        reaches
            .iter()
            .any(|w| {
                set.is_match(w)
                    || w.split(|c: char| !c.is_ascii_alphanumeric())
                        .any(|part| !part.is_empty() && set.is_match(part))
            })
            .then_some(name.as_str())
    })
}

/// The environment a part reaches.
fn part_environment<'p>(part: &Part<'_>, pack: &'p CompiledPack) -> Option<&'p str> {
    match part {
        Part::Command(c) => environment_of(&c.reaches, pack),
        Part::Git(g) => g
            .remote
            .as_ref()
            .and_then(|r| environment_of(std::slice::from_ref(r), pack)),
        _ => None,
    }
}

/// What the command rules share about one command part, worked out at most once per part.
struct CommandContext<'a> {
    root: Option<&'a str>,
    environment: Option<&'a str>,
    text: &'a std::cell::OnceCell<String>,
    operands: &'a std::cell::OnceCell<Vec<Operand<'a>>>,
    /// The pack's combined generic `text` set and this rule's pattern in it, when it has one.
    generic: Option<(&'a TextIndex, usize)>,
    /// The combined set's answer for this part, worked out on first need.
    generic_hits: &'a std::cell::OnceCell<regex::SetMatches>,
}

fn command_matches<'a>(m: &CommandMatcher, c: &'a SimpleCommand, context: &CommandContext<'a>) -> bool {
    let environment = context.environment;
    if !m.environment.is_empty() && !environment.is_some_and(|e| m.environment.iter().any(|x| x == e)) {
        return false;
    }
    if environment.is_some_and(|e| m.not_environment.iter().any(|x| x == e)) {
        return false;
    }
    if !m.effect.is_empty() && !c.effect.is_some_and(|e| m.effect.iter().any(|x| x == e.as_str())) {
        return false;
    }
    if let Some(program) = &m.program
        && !program.is_match(&c.program)
    {
        return false;
    }
    if m.args.len() > c.positionals.len() || !m.args.iter().zip(&c.positionals).all(|(g, a)| g.is_match(a)) {
        return false;
    }
    if !m.flags.iter().all(|f| c.has_flag(f)) {
        return false;
    }
    if !m.any_flag.is_empty() && !m.any_flag.iter().any(|f| c.has_flag(f)) {
        return false;
    }
    if m.not_flags.iter().any(|f| c.has_flag(f)) {
        return false;
    }
    for (name, glob) in &m.options {
        if !c
            .flags
            .iter()
            .any(|f| &f.name == name && f.value.as_deref().is_some_and(|v| glob.is_match(v)))
        {
            return false;
        }
    }
    for (name, glob) in &m.env {
        if !c.env.iter().any(|(n, v)| n == name && glob.is_match(v)) {
            return false;
        }
    }
    if m.any_arg.is_some() || m.all_args.is_some() {
        let operands = context.operands.get_or_init(|| {
            let cwd = c.cwd.as_deref();
            c.positionals
                .iter()
                .map(|a| Operand::new(a, cwd, context.root))
                .collect()
        });
        let rest = operands.get(m.args.len()..).unwrap_or_default();
        if let Some(set) = &m.any_arg
            && !rest.iter().any(|a| arg_matches(set, a, true))
        {
            return false;
        }
        if let Some(set) = &m.all_args
            && (rest.is_empty() || !rest.iter().all(|a| arg_matches(set, a, false)))
        {
            return false;
        }
    }
    if let Some(re) = &m.text {
        let text = context.text.get_or_init(|| c.text());
        let hit = match context.generic {
            Some((index, slot)) => context
                .generic_hits
                .get_or_init(|| index.set.matches(text))
                .matched(slot),
            None => re.is_match(text),
        };
        if !hit {
            return false;
        }
    }
    if let Some(re) = &m.input
        && !c.input.as_deref().is_some_and(|i| re.is_match(i))
    {
        return false;
    }
    true
}

/// `paths_hit` is whether the rule's `paths` match, when the pack's combined set already said.
fn file_matches(
    m: &FileMatcher,
    access: Access,
    path: &Candidates<'_>,
    paths_hit: Option<bool>,
    with: &[(Access, String)],
    content: Option<&str>,
) -> bool {
    let wanted = match m.access {
        FileAccess::Any => true,
        FileAccess::Read => access == Access::Read,
        FileAccess::Write => access == Access::Write,
    };
    let hit = |set: &globset::GlobSet| path.hit(set);
    wanted
        && m.outside_repository.is_none_or(|outside| outside == path.outside)
        && paths_hit.unwrap_or_else(|| m.paths.as_ref().is_none_or(hit))
        && !hit(&m.except)
        && m.from.as_ref().is_none_or(|set| copied_from(set, access, with))
        && m.content
            .as_ref()
            .is_none_or(|re| content.is_some_and(|c| re.is_match(c)))
}

/// Whether a write is made only from files that match `set`: the command reads at least one
/// file, and every file it reads is one of them.
fn copied_from(set: &globset::GlobSet, access: Access, with: &[(Access, String)]) -> bool {
    let mut sources = with
        .iter()
        .filter(|(a, _)| *a == Access::Read)
        .map(|(_, f)| f)
        .peekable();
    access == Access::Write
        && sources.peek().is_some()
        && sources.all(|f| set.is_match(f) || set.is_match(f.rsplit('/').next().unwrap_or(f)))
}

fn git_matches(m: &GitMatcher, g: &GitIntent, pack: &CompiledPack) -> bool {
    if !m.operations.is_empty() && !m.operations.iter().any(|o| git::operation_matches(o, g)) {
        return false;
    }
    if m.force.is_some_and(|f| f != g.force) {
        return false;
    }
    if let Some(want) = m.protected {
        let protected = g.all_branches || g.branches.iter().any(|b| pack.protected.is_match(b));
        if protected != want {
            return false;
        }
    }
    if let Some(set) = &m.branches
        && !g.branches.iter().any(|b| set.is_match(b))
    {
        return false;
    }
    true
}

fn mcp_matches(m: &McpMatcher, server: &str, tool: &str, capability: Option<&str>) -> bool {
    m.servers.as_ref().is_none_or(|s| s.is_match(server))
        && m.servers_not.as_ref().is_none_or(|s| !s.is_match(server))
        && m.tools.as_ref().is_none_or(|s| s.is_match(tool))
        && m.capabilities
            .as_ref()
            .is_none_or(|s| capability.is_some_and(|c| s.is_match(c)))
}

fn pipeline_matches(m: &PipelineMatcher, stages: &[Stage]) -> bool {
    stages.iter().enumerate().any(|(i, stage)| {
        stage.programs.iter().any(|p| m.from.is_match(p))
            && stages[i + 1..]
                .iter()
                .any(|later| (!m.executes || later.runs_input) && later.programs.iter().any(|p| m.to.is_match(p)))
    })
}

fn detail(part: &Part<'_>, environment: Option<&str>) -> Vec<(String, String)> {
    let mut d = Vec::new();
    if let Some(e) = environment {
        d.push(("environment".to_owned(), e.to_owned()));
    }
    match part {
        Part::Command(c) => {
            d.push(("program".to_owned(), c.program.clone()));
            if !c.flags.is_empty() {
                let flags: Vec<String> = c
                    .flags
                    .iter()
                    .map(|f| match &f.value {
                        Some(v) => format!("{}={v}", f.name),
                        None => f.name.clone(),
                    })
                    .collect();
                d.push(("flags".to_owned(), flags.join(" ")));
            }
            if !c.positionals.is_empty() {
                d.push(("arguments".to_owned(), c.positionals.join(" ")));
            }
            if !c.via.is_empty() {
                d.push(("via".to_owned(), c.via.join(" > ")));
            }
            if let Some(cwd) = &c.cwd {
                d.push(("cwd".to_owned(), cwd.clone()));
            }
            if !c.env.is_empty() {
                let env: Vec<String> = c.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                d.push(("env".to_owned(), env.join(" ")));
            }
            if c.runs_stdin {
                d.push(("runs".to_owned(), "its standard input, as code".to_owned()));
            }
            if let Some(effect) = c.effect {
                d.push(("effect".to_owned(), effect.as_str().to_owned()));
            }
            if let Some(input) = &c.input {
                let shown: String = input.chars().take(120).collect();
                let more = if shown.len() < input.len() { " …" } else { "" };
                d.push(("input".to_owned(), format!("{}{more}", shown.replace('\n', "⏎"))));
            }
            if !c.reaches.is_empty() {
                d.push(("reaches".to_owned(), c.reaches.join(" ")));
            }
        }
        Part::File { access, path, .. } => {
            d.push(("access".to_owned(), access.as_str().to_owned()));
            d.push(("path".to_owned(), path.full.clone()));
            if let Some(r) = &path.relative {
                d.push(("relative".to_owned(), r.clone()));
            }
        }
        Part::Git(g) => {
            d.push(("operation".to_owned(), g.operation.clone()));
            d.push((
                "branches".to_owned(),
                if g.all_branches {
                    "(all)".to_owned()
                } else {
                    g.branches.join(" ")
                },
            ));
            d.push(("force".to_owned(), g.force.to_string()));
        }
        Part::Mcp {
            server,
            tool,
            capability,
        } => {
            d.push(("server".to_owned(), (*server).to_owned()));
            d.push(("tool".to_owned(), (*tool).to_owned()));
            if let Some(c) = capability {
                d.push(("capability".to_owned(), (*c).to_owned()));
            }
        }
        Part::Pipeline(_) | Part::Construct(_) => {}
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PackSet;

    fn decide(action: &Action) -> Evaluation {
        let set = PackSet::builtin().unwrap();
        evaluate(action, &set.get(action.policy_pack()).unwrap())
    }

    /// A path pattern cannot hide a protected name behind braces or a bracket class: each name it
    /// spells is a file part. Harmless patterns stay allowed; one that spells too many names is
    /// the `too_deep` construct.
    #[test]
    fn path_patterns_are_expanded() {
        let read = |target: &str| decide(&Action::new(ActionType::ReadFile, target));
        for target in [
            "/home/u/*.p[e]m",
            "/home/u/*.p[a-f]m",
            "/repo/{.env,README.md}",
            "/repo/{src,{x,.e}nv}",
            "/home/u/.ssh/id_[!x]sa",
            "/repo/**/.env*",
        ] {
            let e = read(target);
            assert_eq!(
                (e.decision, e.rule_id.as_str()),
                (Outcome::Block, "secrets.read"),
                "{target}"
            );
        }
        for target in [
            "/repo/src/*.{ts,tsx}",
            "/repo/a[1].txt",
            "/repo/{unclosed",
            "/repo/[unclosed",
        ] {
            assert_eq!(read(target).decision, Outcome::Allow, "{target}");
        }
        let many = format!("/repo/{}", "[!x]".repeat(2));
        let e = read(&many);
        assert_eq!(e.decision, Outcome::RequireApproval, "{many}: {e:?}");
        assert!(
            e.rule_id.contains("too-deep") || e.rule_id.contains("too_deep"),
            "{}",
            e.rule_id
        );
        assert_eq!(spellings("a{b,c}[de]").unwrap().len(), 1 + 2 + 4);
    }

    /// A rule whose matcher cannot be built (a glob set over the regex size limit, which only a
    /// lazy load meets: an eager one rejects the pack) blocks what it would have judged, with
    /// a reason naming it — it never silently stops matching, whatever its own decision.
    #[test]
    fn an_unbuildable_rule_fails_closed() {
        let huge: Vec<String> = (0..50_000).map(|i| format!("x{i}?")).collect();
        let pack = |decision: &str| {
            format!(
                "id: oversized\ndefaults: {{ decision: allow, severity: low }}\nrules:\n  - id: big\n    \
                 match: {{ file: {{ paths: [\"{{{}}}\"] }} }}\n    decision: {decision}\n    severity: low\n    \
                 reason: r\n",
                huge.join(",")
            )
        };
        for decision in ["allow", "warn", "block"] {
            let text = pack(decision);
            let eager = PackSet::load(&[("oversized.yaml".to_owned(), text.clone())]).unwrap_err();
            assert!(eager.to_string().contains("rule `big`"), "{eager}");
            let parsed = vec![crate::pack::parse_pack("oversized.yaml", &text)];
            let set = PackSet::load_parsed(parsed, |_| true).unwrap();
            let pack = set.get("oversized").unwrap();
            let e = evaluate(&Action::new(ActionType::ReadFile, "/repo/notes.txt"), &pack);
            assert_eq!(
                (e.decision, e.severity),
                (Outcome::Block, Severity::Critical),
                "{decision}: {e:?}"
            );
            assert_eq!(e.rule_id, "big");
            assert!(e.reason.contains("could not be built"), "{}", e.reason);
            assert_eq!(e.matched[0].decision, Outcome::Block);
            // A part of another kind never reaches the rule.
            let e = evaluate(&Action::new(ActionType::ExecuteCommand, "ls"), &pack);
            assert_eq!(e.decision, Outcome::Allow, "{e:?}");
        }
    }

    /// A `text` regex that fails to build (only a built-in pack, whose patterns are not checked
    /// at load, can carry one) makes its rule unbuildable too: it blocks, never turning into a
    /// rule without that constraint.
    #[test]
    fn an_unbuildable_text_pattern_fails_closed() {
        let text = "id: texty\ndefaults: { decision: allow, severity: low }\nrules:\n  - id: curl-x\n    \
                    match: { command: { program: curl, text: \"(\" } }\n    decision: allow\n    \
                    severity: low\n    reason: r\n";
        let parsed = vec![crate::pack::parse_builtin_pack("texty.yaml", text)];
        let set = PackSet::load_parsed(parsed, |_| true).unwrap();
        let pack = set.get("texty").unwrap();
        let e = evaluate(
            &Action::new(ActionType::ExecuteCommand, "curl https://example.com"),
            &pack,
        );
        assert_eq!((e.decision, e.rule_id.as_str()), (Outcome::Block, "curl-x"), "{e:?}");
        assert!(e.reason.contains("text pattern"), "{}", e.reason);
    }

    /// audit_only records the verdict but lets the action proceed; allow stays allow.
    #[test]
    fn audit_only_mode() {
        let mut a = Action::new(ActionType::ExecuteCommand, "rm -rf /");
        a.policy_mode = Some(Mode::AuditOnly);
        let e = decide(&a);
        assert_eq!((e.decision, e.mode), (Outcome::AuditOnly, Mode::AuditOnly));
        assert_eq!(e.matched[0].decision, Outcome::Block);
        a.target = "ls".to_owned();
        assert_eq!(decide(&a).decision, Outcome::Allow);
    }

    /// strict turns allow into require_approval and leaves stricter verdicts alone.
    #[test]
    fn strict_mode() {
        let mut a = Action::new(ActionType::ExecuteCommand, "ls");
        a.policy_mode = Some(Mode::Strict);
        assert_eq!(decide(&a).decision, Outcome::RequireApproval);
        a.target = "rm -rf /".to_owned();
        assert_eq!(decide(&a).decision, Outcome::Block);
    }

    /// break_glass needs both an actor and a justification, and records them.
    #[test]
    fn break_glass_mode() {
        let mut a = Action::new(ActionType::ExecuteCommand, "terraform apply -auto-approve");
        a.policy_mode = Some(Mode::BreakGlass);
        assert_eq!(decide(&a).decision, Outcome::Block);
        a.actor = Some("alice@acme.test".to_owned());
        assert_eq!(decide(&a).decision, Outcome::Block);
        a.justification = Some("INC-1234: restore the load balancer".to_owned());
        let e = decide(&a);
        assert_eq!(e.decision, Outcome::AllowWithAttestation);
        assert!(
            e.reason.contains("alice@acme.test") && e.reason.contains("INC-1234"),
            "{}",
            e.reason
        );
    }

    /// MCP arguments are checked like the agent's own file and shell access.
    #[test]
    fn mcp_arguments_are_evaluated() {
        let mut a = Action::new(ActionType::McpToolCall, "filesystem:read_file");
        a.arguments = Some(serde_json::json!({"path": "/repo/.env"}).as_object().unwrap().clone());
        assert_eq!(decide(&a).rule_id, "secrets.read");
        let mut a = Action::new(ActionType::McpToolCall, "github:run");
        a.arguments = Some(serde_json::json!({"command": "rm -rf ~"}).as_object().unwrap().clone());
        assert_eq!(decide(&a).rule_id, "shell.rm-root");
    }

    /// With no rule matching, the default decides under `<pack>.default`.
    #[test]
    fn default_rule_id() {
        let e = decide(&Action::new(ActionType::ExecuteCommand, "ls -la"));
        assert_eq!(
            (e.decision, e.rule_id.as_str()),
            (Outcome::Allow, "cavra-ai-agent-baseline.default")
        );
        assert!(e.matched.is_empty());
    }
}
