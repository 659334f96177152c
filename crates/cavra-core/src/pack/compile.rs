//! Compilation: every pattern built once into glob sets and regexes, rules indexed by the
//! program they name, so evaluation only tries rules that can match.
//!
//! A [`CompiledPack`] is immutable and `Send + Sync`; share it behind an `Arc`.
//!
//! Compilation is [`Eager`](Compile::Eager) for long-lived processes (every matcher built at
//! load, so the first decision pays nothing) or [`Lazy`](Compile::Lazy) for one-shot ones such as
//! the agent hook: every pattern is parsed and validated at load, but a rule's glob sets and
//! regexes are built the first time a decision tries the rule — for one shell command that is
//! the few rules naming its program, not the hundred in the pack.
//!
//! An eager pack also builds two indexes over its rules: one glob set over every file rule's
//! `paths` (per access), and one regex set over the `text` patterns of the command rules that
//! name no literal program (tried on every command). A part then costs one search of each
//! instead of one per rule; the answer per rule is the same as its own set's or regex's. A lazy
//! pack builds neither and keeps compiling one rule at a time.

use std::collections::HashMap;
use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use regex::Regex;

use super::Diagnostic;
use super::model::{FileAccess, Matcher, PolicyPack, Rule};
use crate::decision::{Mode, Outcome, Severity};
use crate::hash::FastMap;
use crate::shell::Construct;

/// Branches protected when a pack names none.
pub const DEFAULT_PROTECTED_BRANCHES: [&str; 3] = ["main", "master", "release/*"];

/// A pack ready for evaluation.
#[derive(Debug)]
pub struct CompiledPack {
    pub(crate) id: String,
    pub(crate) version: String,
    pub(crate) mode: Mode,
    pub(crate) default_decision: Outcome,
    pub(crate) default_severity: Severity,
    pub(crate) protected: GlobSet,
    pub(crate) rules: Vec<CompiledRule>,
    /// Command rules naming literal programs, by program.
    pub(crate) by_program: FastMap<String, Vec<usize>>,
    /// Command rules whose program is a glob or absent.
    pub(crate) any_program: Vec<usize>,
    pub(crate) file_rules: Vec<usize>,
    pub(crate) git_rules: Vec<usize>,
    pub(crate) mcp_rules: Vec<usize>,
    pub(crate) pipeline_rules: Vec<usize>,
    pub(crate) construct_rules: Vec<usize>,
    /// The effective pack (parents merged), for display.
    pub(crate) source: PolicyPack,
    /// Environment names, in order, with the case-insensitive word patterns that mean them.
    pub(crate) environments: Vec<(String, GlobSet)>,
    /// Sample names the file rules protect, built on first need (see `evaluate::witnesses`).
    pub(crate) protected_samples: std::sync::OnceLock<Vec<String>>,
    /// Which protected name components each glob component seen so far stands for (see
    /// `evaluate::witnesses`): compiling a glob costs tens of microseconds, and agents repeat the
    /// same few (`*`, `*.pyc`, `.env*`).
    pub(crate) glob_components: std::sync::Mutex<HashMap<String, Vec<String>>>,
    /// The file rules' `paths` in one glob set, built on first need by an eager pack only (a lazy
    /// one keeps compiling one rule at a time): `None` when lazy or when the set cannot be built.
    pub(crate) file_paths: OnceLock<Option<[FilePathIndex; 2]>>,
    /// The `text` patterns of the command rules that name no literal program (tried on every
    /// command part) in one regex set, on the same terms as `file_paths`.
    pub(crate) generic_text: OnceLock<Option<TextIndex>>,
    /// How the pack was compiled.
    pub(crate) compile: Compile,
}

/// The `paths` globs of every file rule that reads (or, in the other index, writes) may match, in
/// one [`GlobSet`]: one search per candidate path says which rules' `paths` match it, instead of
/// one search per rule. Rules of the other access are left out (their answer is `false`, and the
/// rule's access check rejects the part anyway), which keeps `**` of a write rule from making
/// every read path a match worth listing.
#[derive(Debug)]
pub(crate) struct FilePathIndex {
    pub set: GlobSet,
    /// For each glob of `set`, the position in `file_rules` of the rule it came from.
    pub owner: Vec<usize>,
    /// By position in `file_rules`: whether the rule names no paths (it matches every path).
    pub any_path: Vec<bool>,
}

/// The `text` regexes of the generic command rules in one [`RegexSet`]: one scan of a command's
/// text says which of them match (the same answer as each regex's `is_match`).
#[derive(Debug)]
pub(crate) struct TextIndex {
    pub set: regex::RegexSet,
    /// Rule index to pattern index in `set` (sorted by rule index).
    pub slot: Vec<(usize, usize)>,
}

impl TextIndex {
    /// The pattern of rule `rule` in the set, if it has one there.
    pub fn slot(&self, rule: usize) -> Option<usize> {
        self.slot
            .binary_search_by_key(&rule, |&(r, _)| r)
            .ok()
            .map(|k| self.slot[k].1)
    }
}

/// When matchers are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compile {
    /// All at load.
    Eager,
    /// Each on first use; patterns are still validated at load.
    Lazy,
}

/// One compiled rule and the pack that defined it.
#[derive(Debug)]
pub struct CompiledRule {
    /// The rule as written.
    pub rule: Rule,
    /// The pack that defined it (a parent, for inherited rules).
    pub policy_id: String,
    matcher: OnceLock<CompiledMatcher>,
}

impl CompiledRule {
    /// The rule's matcher, built now if it was not yet.
    pub(crate) fn matcher(&self) -> &CompiledMatcher {
        self.matcher.get_or_init(|| {
            // The patterns were validated at load, which leaves only a glob set over the regex
            // size limit (an eager load reports it as a diagnostic instead).
            compile_matcher(&self.rule.matcher).unwrap_or_else(|e| CompiledMatcher::Broken(e.to_string()))
        })
    }

    /// Why the rule's matcher could not be built, once a decision tried it and it failed.
    pub(crate) fn broken(&self) -> Option<&str> {
        match self.matcher.get() {
            Some(CompiledMatcher::Broken(why)) => Some(why),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(crate) enum CompiledMatcher {
    Command(Box<CommandMatcher>),
    File(FileMatcher),
    Git(GitMatcher),
    Mcp(McpMatcher),
    Pipeline(PipelineMatcher),
    Construct(Construct),
    /// A matcher that could not be built when first tried (only a lazily compiled pack gets
    /// this far with one): it matches every part of its kind, and the rule then blocks, so an
    /// unusable rule fails closed instead of silently never firing.
    Broken(String),
}

#[derive(Debug)]
pub(crate) struct CommandMatcher {
    pub program: Option<GlobSet>,
    pub args: Vec<GlobMatcher>,
    /// Canonical flag names that must all be present.
    pub flags: Vec<String>,
    pub any_flag: Vec<String>,
    pub not_flags: Vec<String>,
    pub options: Vec<(String, GlobSet)>,
    pub env: Vec<(String, GlobSet)>,
    pub environment: Vec<String>,
    pub not_environment: Vec<String>,
    pub effect: Vec<String>,
    pub any_arg: Option<GlobSet>,
    pub all_args: Option<GlobSet>,
    pub text: Option<Regex>,
    pub input: Option<Regex>,
}

#[derive(Debug)]
pub(crate) struct FileMatcher {
    /// `None` when the rule names no paths: every path.
    pub paths: Option<GlobSet>,
    pub except: GlobSet,
    pub access: FileAccess,
    pub outside_repository: Option<bool>,
    /// `None` when the rule names no sources.
    pub from: Option<GlobSet>,
    /// `None` when the rule does not look at what is written.
    pub content: Option<Regex>,
}

#[derive(Debug)]
pub(crate) struct GitMatcher {
    pub operations: Vec<String>,
    pub force: Option<bool>,
    pub protected: Option<bool>,
    pub branches: Option<GlobSet>,
}

#[derive(Debug)]
pub(crate) struct McpMatcher {
    pub servers: Option<GlobSet>,
    pub servers_not: Option<GlobSet>,
    pub tools: Option<GlobSet>,
    pub capabilities: Option<GlobSet>,
}

#[derive(Debug)]
pub(crate) struct PipelineMatcher {
    pub from: GlobSet,
    pub to: GlobSet,
    pub executes: bool,
}

fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    glob_with_case(pattern, false)
}

fn glob_with_case(pattern: &str, ignore_case: bool) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .case_insensitive(ignore_case)
        .build()
}

fn set<'a>(patterns: impl IntoIterator<Item = &'a String>) -> Result<GlobSet, globset::Error> {
    set_with_case(patterns, false)
}

fn set_with_case<'a>(
    patterns: impl IntoIterator<Item = &'a String>,
    ignore_case: bool,
) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(glob_with_case(p, ignore_case)?);
    }
    b.build()
}

fn optional_set(patterns: &[String]) -> Result<Option<GlobSet>, globset::Error> {
    if patterns.is_empty() {
        Ok(None)
    } else {
        set(patterns).map(Some)
    }
}

/// File patterns match at any depth unless anchored: `.env` is `**/.env`. A directory pattern
/// `dir/**` also matches `dir` itself, since commands name directories (`tar czf x ~/.ssh`).
fn file_patterns(patterns: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        let p = if pattern.starts_with(['/', '~', '$']) || pattern.starts_with("**") {
            pattern.clone()
        } else {
            format!("**/{pattern}")
        };
        if let Some(dir) = p.strip_suffix("/**").filter(|d| !d.is_empty() && *d != "**") {
            out.push(dir.to_owned());
        }
        out.push(p);
    }
    out
}

fn is_literal(pattern: &str) -> bool {
    !pattern.contains(['*', '?', '[', '{', '\\'])
}

impl CompiledPack {
    /// Compiles the effective pack `source`; `owners[i]` is the pack that defined rule `i`.
    /// Every invalid pattern is reported, whichever `compile`.
    pub(crate) fn compile(
        source: PolicyPack,
        owners: Vec<String>,
        defaults: (Outcome, Severity),
        compile: Compile,
    ) -> Result<CompiledPack, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let protected_list: Vec<String> = source
            .protected_branches
            .clone()
            .unwrap_or_else(|| DEFAULT_PROTECTED_BRANCHES.iter().map(|s| (*s).to_owned()).collect());
        // Branch names compare case-insensitively (`MAIN` collides with `main` on a
        // case-insensitive file system, and a remote may fold case).
        let protected = crate::git::protected_set(&protected_list).unwrap_or_else(|e| {
            diags.push(diag(
                &source,
                source.inherits_line,
                format!("invalid protected branch pattern: {}", e.kind()),
            ));
            GlobSet::empty()
        });
        let mut pack = CompiledPack {
            id: source.id.clone(),
            version: source.version.clone(),
            mode: source.mode,
            default_decision: defaults.0,
            default_severity: defaults.1,
            protected,
            rules: Vec::with_capacity(source.rules.len()),
            by_program: FastMap::default(),
            any_program: Vec::new(),
            file_rules: Vec::new(),
            git_rules: Vec::new(),
            mcp_rules: Vec::new(),
            pipeline_rules: Vec::new(),
            construct_rules: Vec::new(),
            source: source.clone(),
            protected_samples: std::sync::OnceLock::new(),
            glob_components: std::sync::Mutex::new(HashMap::new()),
            environments: Vec::new(),
            file_paths: OnceLock::new(),
            generic_text: OnceLock::new(),
            compile,
        };
        let named = source
            .environments
            .clone()
            .unwrap_or_else(crate::shell::default_environments);
        for (name, patterns) in named {
            let mut set = GlobSetBuilder::new();
            for p in &patterns {
                match GlobBuilder::new(p)
                    .case_insensitive(true)
                    .literal_separator(true)
                    .build()
                {
                    Ok(g) => {
                        set.add(g);
                    }
                    Err(e) => diags.push(diag(
                        &source,
                        source.inherits_line,
                        format!("invalid environment pattern `{p}` for `{name}`: {}", e.kind()),
                    )),
                }
            }
            pack.environments
                .push((name, set.build().unwrap_or_else(|_| GlobSet::empty())));
        }
        for (index, (rule, owner)) in source.rules.into_iter().zip(owners).enumerate() {
            let matcher = OnceLock::new();
            let built = match compile {
                Compile::Eager => compile_matcher(&rule.matcher).map(|m| {
                    let _ = matcher.set(m);
                }),
                Compile::Lazy => validate_matcher(&rule.matcher).map_err(MatcherError::from),
            };
            if let Err(e) = built {
                diags.push(Diagnostic {
                    file: pack.source.file.clone(),
                    line: rule.line,
                    column: 1,
                    message: format!("rule `{}`: invalid pattern: {e}", rule.id),
                });
                continue;
            }
            match &rule.matcher {
                Matcher::Command(m) => {
                    if !m.program.is_empty() && m.program.iter().all(|p| is_literal(p)) {
                        for p in &m.program {
                            pack.by_program.entry(p.clone()).or_default().push(index);
                        }
                    } else {
                        pack.any_program.push(index);
                    }
                }
                Matcher::File(_) => pack.file_rules.push(index),
                Matcher::Git(_) => pack.git_rules.push(index),
                Matcher::Mcp(_) => pack.mcp_rules.push(index),
                Matcher::Pipeline(_) => pack.pipeline_rules.push(index),
                Matcher::Construct(_) => pack.construct_rules.push(index),
            }
            pack.rules.push(CompiledRule {
                rule,
                policy_id: owner,
                matcher,
            });
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        if compile == Compile::Eager {
            pack.file_path_index(false);
            pack.generic_text_index();
        }
        Ok(pack)
    }

    /// The file rules' combined `paths` set for a part that reads (`write` false) or writes (see
    /// [`FilePathIndex`]); `None` for a lazy pack.
    pub(crate) fn file_path_index(&self, write: bool) -> Option<&FilePathIndex> {
        self.file_paths
            .get_or_init(|| {
                if self.compile != Compile::Eager {
                    return None;
                }
                Some([self.build_file_path_index(false)?, self.build_file_path_index(true)?])
            })
            .as_ref()
            .map(|[read, written]| if write { written } else { read })
    }

    fn build_file_path_index(&self, write: bool) -> Option<FilePathIndex> {
        let mut b = GlobSetBuilder::new();
        let mut owner = Vec::new();
        let mut any_path = Vec::with_capacity(self.file_rules.len());
        for (k, &i) in self.file_rules.iter().enumerate() {
            let Matcher::File(f) = &self.rules[i].rule.matcher else {
                return None;
            };
            let wanted = match f.access {
                FileAccess::Any => true,
                FileAccess::Read => !write,
                FileAccess::Write => write,
            };
            any_path.push(wanted && f.paths.is_empty());
            if !wanted {
                continue;
            }
            for p in file_patterns(&f.paths) {
                b.add(glob_with_case(&p, f.ignore_case).ok()?);
                owner.push(k);
            }
        }
        Some(FilePathIndex {
            set: b.build().ok()?,
            owner,
            any_path,
        })
    }

    /// The generic command rules' combined `text` set (see [`TextIndex`]); `None` for a lazy
    /// pack, or when fewer than two such rules have a text pattern.
    pub(crate) fn generic_text_index(&self) -> Option<&TextIndex> {
        self.generic_text
            .get_or_init(|| {
                if self.compile != Compile::Eager {
                    return None;
                }
                let mut patterns = Vec::new();
                let mut slot = Vec::new();
                for &i in &self.any_program {
                    if let Matcher::Command(c) = &self.rules[i].rule.matcher
                        && let Some(text) = &c.text
                    {
                        slot.push((i, patterns.len()));
                        patterns.push(text.as_str());
                    }
                }
                if patterns.len() < 2 {
                    return None;
                }
                Some(TextIndex {
                    set: regex::RegexSet::new(&patterns).ok()?,
                    slot,
                })
            })
            .as_ref()
    }

    /// The pack's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The pack's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The pack's own mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The effective pack, parents merged.
    pub fn source(&self) -> &PolicyPack {
        &self.source
    }

    /// The compiled rules, in evaluation order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The default verdict.
    pub fn defaults(&self) -> (Outcome, Severity) {
        (self.default_decision, self.default_severity)
    }
}

fn diag(pack: &PolicyPack, line: usize, message: String) -> Diagnostic {
    Diagnostic {
        file: pack.file.clone(),
        line,
        column: 1,
        message,
    }
}

/// Parses every glob of `m` without building it (what [`compile_matcher`] would reject but for
/// size limits). Text patterns were validated when read.
fn validate_matcher(m: &Matcher) -> Result<(), globset::Error> {
    let patterns: Vec<&String> = match m {
        Matcher::Command(c) => c
            .program
            .iter()
            .chain(&c.args)
            .chain(c.options.iter().flat_map(|(_, g)| g))
            .chain(&c.any_arg)
            .chain(&c.all_args)
            .collect(),
        Matcher::File(f) => {
            return file_patterns(&f.paths)
                .iter()
                .chain(&file_patterns(&f.except))
                .try_for_each(|p| glob(p).map(drop));
        }
        Matcher::Git(g) => g.branches.iter().collect(),
        Matcher::Mcp(m) => m
            .servers
            .iter()
            .chain(&m.servers_not)
            .chain(&m.tools)
            .chain(&m.capabilities)
            .collect(),
        Matcher::Pipeline(p) => p.from.iter().chain(&p.to).collect(),
        Matcher::Construct(_) => Vec::new(),
    };
    patterns.into_iter().try_for_each(|p| glob(p).map(drop))
}

/// Why a rule's matcher could not be built.
#[derive(Debug)]
enum MatcherError {
    /// A glob, or a glob set over the regex size limit.
    Glob(globset::Error),
    /// The `text` regex.
    Text(regex::Error),
}

impl From<globset::Error> for MatcherError {
    fn from(e: globset::Error) -> MatcherError {
        MatcherError::Glob(e)
    }
}

impl std::fmt::Display for MatcherError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatcherError::Glob(e) => write!(f, "{}", e.kind()),
            MatcherError::Text(e) => write!(f, "text pattern: {e}"),
        }
    }
}

fn compile_matcher(m: &Matcher) -> Result<CompiledMatcher, MatcherError> {
    Ok(match m {
        Matcher::Command(c) => {
            let first_program = c.program.first().map_or("", String::as_str);
            let sub = c.args.first().map_or("", String::as_str);
            let canon = |names: &[String]| -> Vec<String> {
                names
                    .iter()
                    .flat_map(|n| crate::shell::canonical_flag(first_program, sub, n))
                    .collect()
            };
            CompiledMatcher::Command(Box::new(CommandMatcher {
                program: optional_set(&c.program)?,
                args: c
                    .args
                    .iter()
                    .map(|a| glob(a).map(|g| g.compile_matcher()))
                    .collect::<Result<_, _>>()?,
                flags: canon(&c.flags),
                any_flag: canon(&c.any_flag),
                not_flags: canon(&c.not_flags),
                options: c
                    .options
                    .iter()
                    .map(|(name, g)| {
                        let name = crate::shell::canonical_flag(first_program, sub, name)
                            .into_iter()
                            .next()
                            .unwrap_or_default();
                        set(g).map(|g| (name, g))
                    })
                    .collect::<Result<_, _>>()?,
                environment: c.environment.clone(),
                not_environment: c.not_environment.clone(),
                effect: c.effect.clone(),
                env: c
                    .env
                    .iter()
                    .map(|(name, g)| set(g).map(|g| (name.clone(), g)))
                    .collect::<Result<_, _>>()?,
                any_arg: optional_set(&c.any_arg)?,
                all_args: optional_set(&c.all_args)?,
                // Validated when read (but for built-in packs, whose patterns a unit test checks):
                // one that fails here makes the matcher unbuildable, never an unconstrained rule.
                text: c
                    .text
                    .as_deref()
                    .map(|t| Regex::new(t).map_err(MatcherError::Text))
                    .transpose()?,
                input: c
                    .input
                    .as_deref()
                    .map(|t| Regex::new(t).map_err(MatcherError::Text))
                    .transpose()?,
            }))
        }
        Matcher::File(f) => CompiledMatcher::File(FileMatcher {
            paths: if f.paths.is_empty() {
                None
            } else {
                Some(set_with_case(&file_patterns(&f.paths), f.ignore_case)?)
            },
            except: set_with_case(&file_patterns(&f.except), f.ignore_case)?,
            access: f.access,
            outside_repository: f.outside_repository,
            from: if f.from.is_empty() {
                None
            } else {
                Some(set_with_case(&file_patterns(&f.from), f.ignore_case)?)
            },
            content: f
                .content
                .as_deref()
                .map(|t| Regex::new(t).map_err(MatcherError::Text))
                .transpose()?,
        }),
        Matcher::Git(g) => CompiledMatcher::Git(GitMatcher {
            operations: g.operations.clone(),
            force: g.force,
            protected: g.protected,
            branches: optional_set(&g.branches)?,
        }),
        Matcher::Mcp(m) => CompiledMatcher::Mcp(McpMatcher {
            servers: optional_set(&m.servers)?,
            servers_not: optional_set(&m.servers_not)?,
            tools: optional_set(&m.tools)?,
            capabilities: optional_set(&m.capabilities)?,
        }),
        Matcher::Pipeline(p) => CompiledMatcher::Pipeline(PipelineMatcher {
            from: set(&p.from)?,
            to: set(&p.to)?,
            executes: p.executes,
        }),
        Matcher::Construct(c) => CompiledMatcher::Construct(*c),
    })
}
