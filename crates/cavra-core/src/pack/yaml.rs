//! Reading a pack from YAML, collecting every problem with its file and line.
//!
//! The YAML is loaded into a position-annotated tree (`saphyr`) and walked by hand rather than
//! through serde, so that an unknown key, a duplicate rule id and a bad pattern in one file are
//! all reported together, each at its own line.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::model::{
    CommandMatch, Defaults, Expectation, FileAccess, FileMatch, GitMatch, Matcher, McpMatch, PackTest, PipelineMatch,
    PolicyPack, Rule,
};
use super::prepared::to_json;
use super::{Diagnostic, PackError, is_valid_pack_id, legacy};
use crate::action::Action;
use crate::decision::{Outcome, Severity};
use crate::shell::Construct;

/// Reads one pack from `text`; `file` names it in messages.
pub fn parse_pack(file: &str, text: &str) -> Result<PolicyPack, PackError> {
    read_pack(file, text, true)
}

/// Like [`parse_pack`] for a built-in pack, whose patterns the test suite validates (every
/// built-in is parsed by [`parse_pack`] there): its globs and regexes are not compiled again to
/// check them, which a one-shot process (the agent hook) would otherwise pay on every call.
pub fn parse_builtin_pack(file: &str, text: &str) -> Result<PolicyPack, PackError> {
    read_pack(file, text, false)
}

/// Reads a built-in pack from the tree `build.rs` prepared from its YAML (the same tree `saphyr`
/// builds, so the same pack and the same messages), without checking its patterns, like
/// [`parse_builtin_pack`].
pub(super) fn read_builtin_tree(file: &str, root: &MarkedYaml<'_>) -> Result<PolicyPack, PackError> {
    read_root(file, root, false)
}

fn read_pack(file: &str, text: &str, check_patterns: bool) -> Result<PolicyPack, PackError> {
    let docs = match MarkedYaml::load_from_str(text) {
        Ok(docs) => docs,
        Err(e) => {
            let m = e.marker();
            return Err(PackError(vec![Diagnostic {
                file: file.to_owned(),
                line: m.line(),
                column: m.col() + 1,
                message: format!("invalid YAML: {}", e.info()),
            }]));
        }
    };
    let Some(root) = docs.first() else {
        return Err(PackError(vec![Diagnostic {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: "the file is empty; a pack needs at least `id` and `rules`".to_owned(),
        }]));
    };
    read_root(file, root, check_patterns)
}

fn read_root(file: &str, root: &MarkedYaml<'_>, check_patterns: bool) -> Result<PolicyPack, PackError> {
    let mut reader = Reader {
        file,
        diags: Vec::new(),
        check_patterns,
    };
    let pack = reader.pack(root);
    match pack {
        Some(pack) if reader.diags.is_empty() => Ok(pack),
        _ => {
            if reader.diags.is_empty() {
                reader.err(root, "the pack could not be read");
            }
            Err(PackError(reader.diags))
        }
    }
}

pub(super) type Entries<'n, 'i> = Vec<(&'n str, &'n MarkedYaml<'i>)>;

/// Walks YAML nodes, recording problems instead of stopping at the first.
pub(super) struct Reader<'f> {
    pub file: &'f str,
    pub diags: Vec<Diagnostic>,
    /// Whether globs and regexes are compiled to check them (not for built-in packs).
    pub check_patterns: bool,
}

impl Reader<'_> {
    pub fn err(&mut self, node: &MarkedYaml<'_>, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_owned(),
            line: node.span.start.line().max(1),
            column: node.span.start.col() + 1,
            message: message.into(),
        });
    }

    /// A mapping's entries; keys must be strings.
    pub fn map<'n, 'i>(&mut self, node: &'n MarkedYaml<'i>, what: &str) -> Option<Entries<'n, 'i>> {
        match &node.data {
            YamlData::Mapping(m) => {
                let mut out = Vec::with_capacity(m.len());
                for (k, v) in m {
                    match &k.data {
                        YamlData::Value(Scalar::String(s)) => out.push((s.as_ref(), v)),
                        _ => self.err(k, format!("{what}: keys must be strings")),
                    }
                }
                Some(out)
            }
            _ => {
                self.err(node, format!("{what} must be a mapping"));
                None
            }
        }
    }

    /// Reports every key not in `allowed`.
    pub fn only_keys(&mut self, node: &MarkedYaml<'_>, entries: &Entries<'_, '_>, allowed: &[&str], what: &str) {
        for (key, value) in entries {
            if !allowed.contains(key) {
                let _ = node;
                self.err(
                    value,
                    format!(
                        "unknown key `{key}` in {what} (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// A scalar as text; numbers are accepted (a `version: 1.0`).
    pub fn string(&mut self, node: &MarkedYaml<'_>, what: &str) -> Option<String> {
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
            YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
            _ => {
                self.err(node, format!("{what} must be a string"));
                None
            }
        }
    }

    /// One string or a list of strings.
    pub fn strings(&mut self, node: &MarkedYaml<'_>, what: &str) -> Vec<String> {
        match &node.data {
            YamlData::Sequence(items) => items.iter().filter_map(|i| self.string(i, what)).collect(),
            _ => self.string(node, what).into_iter().collect(),
        }
    }

    pub fn boolean(&mut self, node: &MarkedYaml<'_>, what: &str) -> Option<bool> {
        match &node.data {
            YamlData::Value(Scalar::Boolean(b)) => Some(*b),
            _ => {
                self.err(node, format!("{what} must be `true` or `false`"));
                None
            }
        }
    }

    pub fn parsed<T: std::str::FromStr>(&mut self, node: &MarkedYaml<'_>, what: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let s = self.string(node, what)?;
        match s.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(node, format!("{what}: {e}"));
                None
            }
        }
    }

    /// Glob patterns, each checked to compile.
    pub fn globs(&mut self, node: &MarkedYaml<'_>, what: &str) -> Vec<String> {
        let items = self.strings(node, what);
        let check = self.check_patterns;
        for g in items.iter().filter(|_| check) {
            if let Err(e) = globset::GlobBuilder::new(g).literal_separator(true).build() {
                self.err(node, format!("invalid pattern `{g}` in {what}: {}", e.kind()));
            }
        }
        items
    }

    fn pack(&mut self, root: &MarkedYaml<'_>) -> Option<PolicyPack> {
        let entries = self.map(root, "a pack")?;
        let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        let native = keys.iter().any(|k| matches!(*k, "id" | "rules"));
        if !native
            && keys
                .iter()
                .any(|k| matches!(*k, "metadata" | "filesystem" | "commands" | "mcp"))
        {
            return legacy::convert(self, root, &entries);
        }
        self.only_keys(
            root,
            &entries,
            &[
                "id",
                "title",
                "description",
                "version",
                "mode",
                "inherits",
                "defaults",
                "protected_branches",
                "environments",
                "rules",
                "tests",
            ],
            "the pack",
        );
        let mut pack = PolicyPack::empty(self.file, root.span.start.line());
        let mut has_id = false;
        for (key, value) in &entries {
            match *key {
                "id" => {
                    if let Some(id) = self.string(value, "`id`") {
                        if !is_valid_pack_id(&id) {
                            self.err(
                                value,
                                format!("pack id `{id}` must be lowercase letters, digits and `-`"),
                            );
                        }
                        pack.id = id;
                        has_id = true;
                    }
                }
                "title" => pack.title = self.string(value, "`title`").unwrap_or_default(),
                "description" => pack.description = self.string(value, "`description`").unwrap_or_default(),
                "version" => pack.version = self.string(value, "`version`").unwrap_or_default(),
                "mode" => pack.mode = self.parsed(value, "`mode`").unwrap_or_default(),
                "inherits" => {
                    pack.inherits = self.strings(value, "`inherits`");
                    pack.inherits_line = value.span.start.line();
                }
                "defaults" => pack.defaults = self.defaults(value),
                "protected_branches" => pack.protected_branches = Some(self.globs(value, "`protected_branches`")),
                "environments" => {
                    if let Some(envs) = self.map(value, "`environments`") {
                        let mut list = Vec::new();
                        for (name, patterns) in envs {
                            list.push((name.to_owned(), self.globs(patterns, "`environments`")));
                        }
                        pack.environments = Some(list);
                    }
                }
                "rules" => pack.rules = self.rules(value),
                "tests" => pack.tests = self.tests(value),
                _ => {}
            }
        }
        if !has_id {
            self.err(root, "the pack has no `id`");
        }
        Some(pack)
    }

    fn defaults(&mut self, node: &MarkedYaml<'_>) -> Option<Defaults> {
        let entries = self.map(node, "`defaults`")?;
        self.only_keys(node, &entries, &["decision", "severity"], "`defaults`");
        let mut d = Defaults {
            decision: Outcome::Allow,
            severity: Severity::Low,
        };
        for (key, value) in &entries {
            match *key {
                "decision" => d.decision = self.parsed(value, "`defaults.decision`").unwrap_or(d.decision),
                "severity" => d.severity = self.parsed(value, "`defaults.severity`").unwrap_or(d.severity),
                _ => {}
            }
        }
        Some(d)
    }

    fn rules(&mut self, node: &MarkedYaml<'_>) -> Vec<Rule> {
        let YamlData::Sequence(items) = &node.data else {
            self.err(node, "`rules` must be a list");
            return Vec::new();
        };
        let mut rules: Vec<Rule> = Vec::new();
        for item in items {
            if let Some(rule) = self.rule(item) {
                if let Some(first) = rules.iter().find(|r| r.id == rule.id) {
                    let msg = format!("duplicate rule id `{}` (first defined on line {})", rule.id, first.line);
                    self.err(item, msg);
                }
                rules.push(rule);
            }
        }
        rules
    }

    fn rule(&mut self, node: &MarkedYaml<'_>) -> Option<Rule> {
        let entries = self.map(node, "a rule")?;
        self.only_keys(
            node,
            &entries,
            &[
                "id",
                "description",
                "match",
                "decision",
                "severity",
                "reason",
                "suggestion",
                "approver_group",
                "fallback",
            ],
            "a rule",
        );
        let (mut id, mut matcher, mut decision, mut severity, mut reason) = (None, None, None, None, None);
        let mut rule = Rule {
            id: String::new(),
            description: String::new(),
            matcher: Matcher::Command(Box::default()),
            decision: Outcome::Allow,
            severity: Severity::Low,
            reason: String::new(),
            suggestion: None,
            approver_group: None,
            fallback: false,
            line: node.span.start.line(),
        };
        for (key, value) in &entries {
            match *key {
                "id" => id = self.string(value, "rule `id`"),
                "description" => rule.description = self.string(value, "`description`").unwrap_or_default(),
                "match" => matcher = self.matcher(value),
                "decision" => decision = self.parsed(value, "`decision`"),
                "severity" => severity = self.parsed(value, "`severity`"),
                "reason" => reason = self.string(value, "`reason`"),
                "suggestion" => rule.suggestion = self.string(value, "`suggestion`"),
                "approver_group" => rule.approver_group = self.string(value, "`approver_group`"),
                "fallback" => rule.fallback = self.boolean(value, "`fallback`").unwrap_or(false),
                _ => {}
            }
        }
        let label = id
            .clone()
            .map_or_else(|| "a rule".to_owned(), |i| format!("rule `{i}`"));
        for (present, field) in [
            (id.is_some(), "id"),
            (matcher.is_some(), "match"),
            (decision.is_some(), "decision"),
            (severity.is_some(), "severity"),
            (reason.is_some(), "reason"),
        ] {
            if !present && !entries.iter().any(|(k, _)| *k == field) {
                self.err(node, format!("{label} has no `{field}`"));
            }
        }
        rule.id = id?;
        rule.matcher = matcher?;
        rule.decision = decision?;
        rule.severity = severity?;
        rule.reason = reason?;
        Some(rule)
    }

    fn matcher(&mut self, node: &MarkedYaml<'_>) -> Option<Matcher> {
        let entries = self.map(node, "`match`")?;
        let kinds = ["command", "file", "git", "mcp", "pipeline", "construct"];
        self.only_keys(node, &entries, &kinds, "`match`");
        let known: Vec<_> = entries.iter().filter(|(k, _)| kinds.contains(k)).collect();
        if known.len() != 1 {
            self.err(node, format!("`match` needs exactly one of: {}", kinds.join(", ")));
            return None;
        }
        let (kind, value) = known[0];
        match *kind {
            "command" => self.command(value).map(|c| Matcher::Command(Box::new(c))),
            "file" => self.file_match(value).map(Matcher::File),
            "git" => self.git(value).map(Matcher::Git),
            "mcp" => self.mcp(value).map(Matcher::Mcp),
            "pipeline" => self.pipeline(value).map(Matcher::Pipeline),
            _ => {
                let name = self.string(value, "`construct`")?;
                match Construct::ALL.into_iter().find(|c| c.as_str() == name) {
                    Some(c) => Some(Matcher::Construct(c)),
                    None => {
                        let all: Vec<_> = Construct::ALL.iter().map(|c| c.as_str()).collect();
                        self.err(
                            value,
                            format!("unknown construct `{name}` (expected one of: {})", all.join(", ")),
                        );
                        None
                    }
                }
            }
        }
    }

    fn command(&mut self, node: &MarkedYaml<'_>) -> Option<CommandMatch> {
        let entries = self.map(node, "`command`")?;
        self.only_keys(
            node,
            &entries,
            &[
                "program",
                "args",
                "flags",
                "any_flag",
                "not_flags",
                "options",
                "env",
                "environment",
                "not_environment",
                "effect",
                "any_arg",
                "all_args",
                "text",
                "input",
            ],
            "`command`",
        );
        let mut m = CommandMatch::default();
        for (key, value) in &entries {
            match *key {
                "program" => m.program = self.globs(value, "`program`"),
                "args" => m.args = self.globs(value, "`args`"),
                "flags" => m.flags = self.strings(value, "`flags`"),
                "any_flag" => m.any_flag = self.strings(value, "`any_flag`"),
                "not_flags" => m.not_flags = self.strings(value, "`not_flags`"),
                "any_arg" => m.any_arg = self.globs(value, "`any_arg`"),
                "all_args" => m.all_args = self.globs(value, "`all_args`"),
                "options" => {
                    if let Some(opts) = self.map(value, "`options`") {
                        for (name, glob) in opts {
                            let globs = self.globs(glob, "`options`");
                            m.options.push((name.trim_start_matches('-').to_owned(), globs));
                        }
                    }
                }
                "environment" => m.environment = self.strings(value, "`environment`"),
                "not_environment" => m.not_environment = self.strings(value, "`not_environment`"),
                "effect" => {
                    m.effect = self.strings(value, "`effect`");
                    for e in &m.effect {
                        if !crate::shell::Effect::ALL.iter().any(|x| x.as_str() == e) {
                            self.err(
                                value,
                                format!("unknown effect `{e}` (expected read, mutate or destroy)"),
                            );
                        }
                    }
                }
                "env" => {
                    if let Some(vars) = self.map(value, "`env`") {
                        for (name, glob) in vars {
                            let globs = self.globs(glob, "`env`");
                            m.env.push((name.to_owned(), globs));
                        }
                    }
                }
                "text" | "input" => {
                    let field = format!("`{key}`");
                    if let Some(re) = self.string(value, &field) {
                        if let Some(e) = self.check_patterns.then(|| regex::Regex::new(&re).err()).flatten() {
                            let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                            self.err(value, format!("invalid regex `{re}` in {field}: {first}"));
                        }
                        if *key == "text" {
                            m.text = Some(re);
                        } else {
                            m.input = Some(re);
                        }
                    }
                }
                _ => {}
            }
        }
        Some(m)
    }

    fn file_match(&mut self, node: &MarkedYaml<'_>) -> Option<FileMatch> {
        let entries = self.map(node, "`file`")?;
        self.only_keys(
            node,
            &entries,
            &[
                "paths",
                "except",
                "access",
                "outside_repository",
                "ignore_case",
                "from",
                "content",
            ],
            "`file`",
        );
        let mut m = FileMatch::default();
        for (key, value) in &entries {
            match *key {
                "paths" => m.paths = self.globs(value, "`paths`"),
                "except" => m.except = self.globs(value, "`except`"),
                "from" => m.from = self.globs(value, "`from`"),
                "content" => {
                    if let Some(re) = self.string(value, "`content`") {
                        if let Some(e) = self.check_patterns.then(|| regex::Regex::new(&re).err()).flatten() {
                            let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                            self.err(value, format!("invalid regex `{re}` in `content`: {first}"));
                        }
                        m.content = Some(re);
                    }
                }
                "outside_repository" => m.outside_repository = self.boolean(value, "`outside_repository`"),
                "ignore_case" => m.ignore_case = self.boolean(value, "`ignore_case`").unwrap_or(false),
                "access" => {
                    m.access = match self.string(value, "`access`").as_deref() {
                        Some("read") => FileAccess::Read,
                        Some("write") => FileAccess::Write,
                        Some("any") | None => FileAccess::Any,
                        Some(other) => {
                            self.err(
                                value,
                                format!("unknown access `{other}` (expected one of: read, write, any)"),
                            );
                            FileAccess::Any
                        }
                    }
                }
                _ => {}
            }
        }
        if m.paths.is_empty() && m.outside_repository.is_none() {
            self.err(node, "`file` needs `paths` (or `outside_repository`)");
        }
        Some(m)
    }

    fn git(&mut self, node: &MarkedYaml<'_>) -> Option<GitMatch> {
        let entries = self.map(node, "`git`")?;
        self.only_keys(
            node,
            &entries,
            &["operations", "force", "protected", "branches"],
            "`git`",
        );
        let mut m = GitMatch::default();
        for (key, value) in &entries {
            match *key {
                "operations" => m.operations = self.strings(value, "`operations`"),
                "force" => m.force = self.boolean(value, "`force`"),
                "protected" => m.protected = self.boolean(value, "`protected`"),
                "branches" => m.branches = self.globs(value, "`branches`"),
                _ => {}
            }
        }
        Some(m)
    }

    fn mcp(&mut self, node: &MarkedYaml<'_>) -> Option<McpMatch> {
        let entries = self.map(node, "`mcp`")?;
        self.only_keys(
            node,
            &entries,
            &["servers", "servers_not", "tools", "capabilities"],
            "`mcp`",
        );
        let mut m = McpMatch::default();
        for (key, value) in &entries {
            match *key {
                "servers" => m.servers = self.globs(value, "`servers`"),
                "servers_not" => m.servers_not = self.globs(value, "`servers_not`"),
                "tools" => m.tools = self.globs(value, "`tools`"),
                "capabilities" => m.capabilities = self.globs(value, "`capabilities`"),
                _ => {}
            }
        }
        Some(m)
    }

    fn pipeline(&mut self, node: &MarkedYaml<'_>) -> Option<PipelineMatch> {
        let entries = self.map(node, "`pipeline`")?;
        self.only_keys(node, &entries, &["from", "to", "executes"], "`pipeline`");
        let mut m = PipelineMatch::default();
        for (key, value) in &entries {
            match *key {
                "from" => m.from = self.globs(value, "`from`"),
                "to" => m.to = self.globs(value, "`to`"),
                "executes" => m.executes = self.boolean(value, "`executes`").unwrap_or(false),
                _ => {}
            }
        }
        if m.from.is_empty() || m.to.is_empty() {
            self.err(node, "`pipeline` needs both `from` and `to`");
        }
        Some(m)
    }

    fn tests(&mut self, node: &MarkedYaml<'_>) -> Vec<PackTest> {
        let YamlData::Sequence(items) = &node.data else {
            self.err(node, "`tests` must be a list");
            return Vec::new();
        };
        items.iter().filter_map(|item| self.test(item)).collect()
    }

    fn test(&mut self, node: &MarkedYaml<'_>) -> Option<PackTest> {
        let entries = self.map(node, "a test")?;
        self.only_keys(node, &entries, &["name", "action", "expect"], "a test");
        let (mut name, mut action, mut expect) = (None, None, None);
        for (key, value) in &entries {
            match *key {
                "name" => name = self.string(value, "test `name`"),
                "action" => match Action::from_value(to_json(value)) {
                    Ok(a) => action = Some(a),
                    Err(e) => self.err(value, format!("test action: {e}")),
                },
                "expect" => expect = self.expectation(value),
                _ => {}
            }
        }
        if action.is_none() && !entries.iter().any(|(k, _)| *k == "action") {
            self.err(node, "a test needs `action`");
        }
        if expect.is_none() && !entries.iter().any(|(k, _)| *k == "expect") {
            self.err(node, "a test needs `expect`");
        }
        Some(PackTest {
            name,
            action: action?,
            expect: expect?,
            line: node.span.start.line(),
        })
    }

    fn expectation(&mut self, node: &MarkedYaml<'_>) -> Option<Expectation> {
        let entries = self.map(node, "`expect`")?;
        self.only_keys(node, &entries, &["decision", "rule_id", "severity"], "`expect`");
        let mut decision = None;
        let mut e = Expectation {
            decision: Outcome::Allow,
            rule_id: None,
            severity: None,
        };
        for (key, value) in &entries {
            match *key {
                "decision" => decision = self.parsed(value, "`expect.decision`"),
                "rule_id" => e.rule_id = self.string(value, "`expect.rule_id`"),
                "severity" => e.severity = self.parsed(value, "`expect.severity`"),
                _ => {}
            }
        }
        if decision.is_none() && !entries.iter().any(|(k, _)| *k == "decision") {
            self.err(node, "`expect` needs `decision`");
        }
        e.decision = decision?;
        Some(e)
    }
}
