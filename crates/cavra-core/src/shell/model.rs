//! The program model (issue 14): what programs do with their arguments, as data.
//!
//! The descriptions live in `crates/cavra-core/programs/*.yaml` (`programs/README.md` documents
//! the fields) so that a pack author can read what cavra knows about `sudo`, `curl` or `kubectl`
//! without reading Rust. This module loads them once — from the JSON `build.rs` prepares from
//! them, which reads several times faster than the YAML — and answers the questions the
//! analyser asks: which options take values, which flag a letter stands for, which subcommand a
//! word is, where a wrapper's command starts, which arguments are files or code.
//!
//! A program that is not described is still analysed: its options are flags without values and
//! its path-like arguments files it reads.

use std::collections::{BTreeMap, HashMap};

use crate::hash::{FastMap, FastSet};
use std::sync::LazyLock;

use serde::Deserialize;

/// The embedded model files, by name (for messages).
const FILES: [(&str, &str); 8] = [
    ("wrappers.yaml", include_str!("../../programs/wrappers.yaml")),
    ("interpreters.yaml", include_str!("../../programs/interpreters.yaml")),
    ("files.yaml", include_str!("../../programs/files.yaml")),
    ("network.yaml", include_str!("../../programs/network.yaml")),
    ("vcs.yaml", include_str!("../../programs/vcs.yaml")),
    ("packages.yaml", include_str!("../../programs/packages.yaml")),
    (
        "infrastructure.yaml",
        include_str!("../../programs/infrastructure.yaml"),
    ),
    ("systems.yaml", include_str!("../../programs/systems.yaml")),
];

/// One or several canonical names for a short option letter.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Names {
    /// `r: recursive`.
    One(String),
    /// `D: [delete, force]`.
    Many(Vec<String>),
}

impl Names {
    fn as_slice(&self) -> &[String] {
        match self {
            Names::One(n) => std::slice::from_ref(n),
            Names::Many(n) => n,
        }
    }
}

/// What a program's positional arguments are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Operands {
    /// Path-like arguments are files it reads (the default for undescribed programs).
    #[default]
    Paths,
    /// Files it reads.
    Read,
    /// Files it writes, creates or deletes.
    Write,
    /// Sources read, the last one written.
    Copy,
    /// Sources read and removed, the last one written.
    Move,
    /// Not files at all.
    Text,
    /// Names whose metadata it reads or changes, never their contents.
    Metadata,
    /// Request items: only `@file` data names files.
    Data,
    /// `tar`: read or written depending on the mode.
    Archive,
    /// The first is an archive written, the rest files read (`zip out.zip a b`).
    ArchiveFirst,
    /// `git checkout`: paths after `--` are overwritten.
    Checkout,
}

/// How an option value or operand touches a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FileRole {
    /// Read.
    Read,
    /// Written.
    Write,
    /// A directory written into.
    DirWrite,
    /// Used as the program's own credentials or configuration, never printed or sent: the key
    /// `ssh -i` signs with, the kubeconfig `kubectl` authenticates with. Not a file part, so a
    /// secret-file rule does not take using a key for reading it.
    Use,
    /// Used like [`FileRole::Use`] when it is named as a configuration file (`.properties`,
    /// `.conf`, `.cfg`, `.ini`, `.yaml`, `.json`, `.toml`), otherwise read: a program that logs
    /// the keys it does not know (Kafka's `--command-config`) would print any other file line
    /// by line.
    UseConfig,
}

/// How a wrapper runs what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Runs {
    /// The rest of the arguments is a command.
    Command,
    /// The rest of the arguments, joined, is shell text (`eval`, `watch`).
    Script,
    /// The rest, joined, is shell text run on another machine (`ssh host cmd`).
    Remote,
    /// Only the first operand is shell text (`trap 'cmd' EXIT`).
    FirstScript,
}

/// Code a program runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Code {
    /// `shell`, `python`, `javascript`, `perl`, `ruby`, `php`, `powershell`, ...
    pub language: String,
    /// Options whose value is code (`-c`, `-e`).
    #[serde(default)]
    pub options: Vec<String>,
    /// Runs its standard input when given no code and no script.
    #[serde(default)]
    pub stdin: bool,
    /// Its first operand is a script file it runs.
    #[serde(default)]
    pub script: bool,
    /// Its first operand is code (`deno eval CODE`, `awk PROGRAM`).
    #[serde(default)]
    pub operand: bool,
    /// Options after which it runs no code of its own (`python3 -m json.tool`, `node --version`).
    #[serde(default)]
    pub stops: Vec<String>,
}

/// One program (or subcommand) as the model describes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Spec {
    #[serde(default)]
    also: Vec<String>,
    #[serde(default)]
    short: BTreeMap<String, Names>,
    #[serde(default)]
    long: Vec<String>,
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    pub single_dash_long: bool,
    #[serde(default)]
    pub operands: Operands,
    #[serde(default)]
    pub pattern_first: bool,
    #[serde(default)]
    pub option_files: BTreeMap<String, FileRole>,
    #[serde(default)]
    subcommands: BTreeMap<String, Spec>,
    #[serde(default)]
    pub mutates: bool,
    #[serde(default)]
    pub runs: Option<Runs>,
    #[serde(default)]
    pub skip: usize,
    #[serde(default)]
    pub code: Option<Code>,
    #[serde(default)]
    pub acts_as: Vec<String>,
    #[serde(default)]
    pub in_place_writes: bool,
    #[serde(default)]
    pub container: bool,
    /// What the subcommand does, when its name's verb would say otherwise; on a program, what it
    /// does when no verb in its words or switches says.
    #[serde(default)]
    pub effect: Option<Effect>,
    /// Options whose value names the operation, read as a verb (`ansible -m ping`).
    #[serde(default)]
    pub verb_options: Vec<String>,
}

/// What a command does to the system it reaches (issue 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Reads only.
    Read,
    /// Changes state.
    Mutate,
    /// Deletes, drops, wipes.
    Destroy,
}

impl Effect {
    /// `read`, `mutate` or `destroy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Mutate => "mutate",
            Effect::Destroy => "destroy",
        }
    }

    /// Every effect.
    pub const ALL: [Effect; 3] = [Effect::Read, Effect::Mutate, Effect::Destroy];
}

/// The verb lists of `programs/verbs.yaml`, as sets: every word of every command is looked up in
/// several of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Verbs {
    destroy: FastSet<String>,
    mutate: FastSet<String>,
    read: FastSet<String>,
    programs: FastSet<String>,
    grouped: FastSet<String>,
    previews: FastSet<String>,
    strong: FastSet<String>,
    task_runners: FastSet<String>,
    build_tools: FastSet<String>,
    ships: FastSet<String>,
    databases: FastSet<String>,
    inspectors: FastSet<String>,
}

impl Verbs {
    /// Whether `program`'s subcommand words are verbs.
    pub fn drives(&self, program: &str) -> bool {
        self.programs.contains(program)
    }

    /// Whether `program`'s first word names a product or group, never a verb (`gcloud run`,
    /// `gh run`, `aws deploy`).
    pub fn grouped(&self, program: &str) -> bool {
        self.grouped.contains(program)
    }

    /// What `word` does when an unmodelled program is given it: only the verbs that say so by
    /// themselves (`migrate`, `deploy`, `delete`), not the generic ones (`run`, `exec`, `install`).
    pub fn classify_strong(&self, word: &str) -> Option<Effect> {
        self.classify(word).filter(|e| {
            *e == Effect::Destroy || {
                let lower = word.to_ascii_lowercase();
                let mut parts = lower.split(['-', '_', ':', '.']).filter(|p| !p.is_empty());
                let first = parts.next();
                let last = parts.next_back().or(first);
                self.strong.contains(&lower)
                    || first.is_some_and(|p| self.strong.contains(p))
                    || last.is_some_and(|p| self.strong.contains(p))
            }
        })
    }

    /// Whether `program` runs targets named by verbs (`make deploy`, `mix ecto.migrate`).
    pub fn task_runner(&self, program: &str) -> bool {
        self.task_runners.contains(program)
    }

    /// Whether `program` is a build tool whose operands are named goals or tasks (`mvn`, `gradle`).
    pub fn build_tool(&self, program: &str) -> bool {
        self.build_tools.contains(program)
    }

    /// Whether a word of a task or script name ships something (`publish`, `deploy`, `backfill`).
    pub fn ships(&self, word: &str) -> bool {
        self.ships.contains(word)
    }

    /// Whether a word of a task name names a database tool (`flyway`, `db`).
    pub fn database(&self, word: &str) -> bool {
        self.databases.contains(word)
    }

    /// Whether `program` only looks (`tail`, `df`), or is described well enough that its own verbs
    /// and code say when it changes something (`psql`, `kubectl`).
    pub fn inspects(&self, program: &str) -> bool {
        self.inspectors.contains(program)
    }

    /// Whether switch `name` makes the command only show what it would do (`--dry-run`).
    pub fn previews(&self, name: &str) -> bool {
        self.previews.contains(name)
    }

    /// What `word` does, by its first or last part.
    pub fn classify(&self, word: &str) -> Option<Effect> {
        let lower = word.to_ascii_lowercase();
        let mut parts = lower.split(['-', '_', ':', '.']).filter(|p| !p.is_empty());
        let first = parts.next()?;
        let last = parts.next_back().unwrap_or(first);
        let has = |list: &FastSet<String>| list.contains(&lower) || list.contains(first) || list.contains(last);
        if has(&self.destroy) {
            Some(Effect::Destroy)
        } else if has(&self.mutate) {
            Some(Effect::Mutate)
        } else if has(&self.read) {
            Some(Effect::Read)
        } else {
            None
        }
    }
}

/// `programs/environments.yaml`: which options and variables name where a command acts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Places {
    pub options: Vec<String>,
    pub variables: Vec<String>,
    pub variable_suffixes: Vec<String>,
    pub program_options: BTreeMap<String, Vec<String>>,
    /// Switches that name an environment by themselves (`--prod`, `--live`).
    pub switches: Vec<String>,
    /// Environment names and the word patterns that mean them (`production` is tried first).
    pub defaults: BTreeMap<String, Vec<String>>,
}

impl Places {
    /// Whether option `name` of `program` names a place.
    pub fn option(&self, program: &str, name: &str) -> bool {
        self.options.iter().any(|o| o == name)
            || self
                .program_options
                .get(program)
                .is_some_and(|o| o.iter().any(|x| x == name))
    }

    /// Whether switch `name` (an option without a value) names an environment.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// Whether variable `name` names a place.
    pub fn variable(&self, name: &str) -> bool {
        self.variables.iter().any(|v| v == name) || self.variable_suffixes.iter().any(|s| name.ends_with(s.as_str()))
    }
}

/// The JSON `build.rs` prepared from each model file, by file name (empty for a file it could not
/// prepare; see `crate::pack::prepared`).
const PREPARED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// Reads model file `file` (YAML `text`) from the JSON prepared from it at build time, or from
/// `text` when there is none.
fn load_data<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, String> {
    let prepared = PREPARED
        .iter()
        .find(|(name, json)| *name == file && !json.is_empty())
        .map(|(_, json)| *json);
    read_data(file, prepared, text)
}

/// Reads `prepared` JSON, else YAML `text`. An error names the file and the field, the same
/// either way: the one-pass read of the JSON names no field (and its position is in the JSON, not
/// the YAML), so a failure is read again through `serde_path_to_error`.
fn read_data<T: serde::de::DeserializeOwned>(file: &str, prepared: Option<&str>, text: &str) -> Result<T, String> {
    if let Some(json) = prepared
        && let Ok(data) = serde_json::from_str(json)
    {
        return Ok(data);
    }
    match prepared {
        Some(json) => serde_json::from_str(json).map_err(|e| e.to_string()),
        None => crate::pack::yaml_value(text),
    }
    .map_err(|e| format!("{file}: {e}"))
    .and_then(|v| serde_path_to_error::deserialize(v).map_err(|e| format!("{file}: {e}")))
}

static VERBS: LazyLock<Result<Verbs, String>> =
    LazyLock::new(|| load_data("verbs.yaml", include_str!("../../programs/verbs.yaml")));

static PLACES: LazyLock<Result<Places, String>> =
    LazyLock::new(|| load_data("environments.yaml", include_str!("../../programs/environments.yaml")));

/// The verb lists (empty if the embedded file did not read; a unit test proves it does).
pub(crate) fn verbs() -> &'static Verbs {
    static EMPTY: LazyLock<Verbs> = LazyLock::new(Verbs::default);
    VERBS.as_ref().unwrap_or(&EMPTY)
}

/// The built-in environment names and word patterns (`production` first).
pub fn default_environments() -> Vec<(String, Vec<String>)> {
    let defaults = &places().defaults;
    let mut out: Vec<(String, Vec<String>)> = defaults
        .get("production")
        .map(|p| ("production".to_owned(), p.clone()))
        .into_iter()
        .collect();
    out.extend(
        defaults
            .iter()
            .filter(|(name, _)| *name != "production")
            .map(|(n, p)| (n.clone(), p.clone())),
    );
    out
}

/// The place options and variables (empty if the embedded file did not read).
pub(crate) fn places() -> &'static Places {
    static EMPTY: LazyLock<Places> = LazyLock::new(Places::default);
    PLACES.as_ref().unwrap_or(&EMPTY)
}

impl Spec {
    /// The nested description of subcommand `word`.
    pub fn subcommand(&self, word: &str) -> Option<&Spec> {
        self.subcommands.get(word)
    }

    /// Whether the program has subcommands.
    pub fn has_subcommands(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// The canonical names of short option `letter`, if described.
    pub fn short(&self, letter: &str) -> Option<&[String]> {
        self.short.get(letter).map(Names::as_slice)
    }

    /// Whether option `name` (canonical, or a letter) takes a value. A code option takes its
    /// code as a value (`su -c CMD`, `python3 -c CODE`), except a shell's own `-c`, which makes
    /// its first operand the script wherever that stands (`bash -c -x 'cmd'`).
    pub fn takes_value(&self, name: &str) -> bool {
        self.values.iter().any(|v| v == name)
            || self
                .code
                .as_ref()
                .is_some_and(|c| !(c.language == "shell" && c.stdin) && c.options.iter().any(|o| o == name))
    }

    /// Whether `name` is an option this spec knows at all.
    pub fn knows(&self, name: &str) -> bool {
        self.takes_value(name)
            || self.long.iter().any(|l| l == name)
            || self.short.contains_key(name)
            || self.short.values().any(|n| n.as_slice().iter().any(|c| c == name))
            || self.option_files.contains_key(name)
            || self.code.as_ref().is_some_and(|c| c.options.iter().any(|o| o == name))
    }

    /// The GNU long option `name` abbreviates, when it abbreviates exactly one.
    pub fn expand_long<'a>(&'a self, name: &'a str) -> &'a str {
        if self.long.is_empty() || self.long.iter().any(|l| l == name) || name.len() < 2 {
            return name;
        }
        let mut matches = self.long.iter().filter(|o| o.starts_with(name));
        match (matches.next(), matches.next()) {
            (Some(only), None) => only,
            _ => name,
        }
    }
}

/// Every described program, by each of its names.
pub(crate) struct Model {
    programs: FastMap<String, Spec>,
}

impl Model {
    /// Reads the embedded files. An entry that does not read is reported, never dropped silently.
    fn load() -> Result<Model, String> {
        let mut programs = FastMap::default();
        for (file, text) in FILES {
            let entries: BTreeMap<String, Spec> = load_data(file, text)?;
            for (name, spec) in entries {
                for alias in &spec.also {
                    programs.insert(alias.clone(), spec.clone());
                }
                if programs.insert(name.clone(), spec).is_some() {
                    return Err(format!("{file}: `{name}` is described twice"));
                }
            }
        }
        Ok(Model { programs })
    }

    /// The description of `program`.
    pub fn get(&self, program: &str) -> Option<&Spec> {
        self.programs.get(program)
    }

    /// Other names → the name a program is described under (`flyctl` → `fly`).
    pub fn aliases(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (name, spec) in &self.programs {
            if !spec.also.iter().any(|a| a == name) {
                for alias in &spec.also {
                    out.insert(alias.clone(), name.clone());
                }
            }
        }
        out
    }

    /// How many program names the model describes.
    pub fn len(&self) -> usize {
        self.programs.len()
    }

    /// Every described program name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.programs.keys().map(String::as_str)
    }
}

static MODEL: LazyLock<Result<Model, String>> = LazyLock::new(Model::load);

/// The model, or an empty one if the embedded files do not read (a unit test proves they do).
pub(crate) fn model() -> &'static Model {
    static EMPTY: LazyLock<Model> = LazyLock::new(|| Model {
        programs: FastMap::default(),
    });
    match &*MODEL {
        Ok(m) => m,
        Err(_) => &EMPTY,
    }
}

/// Whether the embedded model reads, with the error when it does not.
pub fn check() -> Result<usize, String> {
    VERBS.as_ref().map_err(Clone::clone)?;
    PLACES.as_ref().map_err(Clone::clone)?;
    MODEL.as_ref().map(Model::len).map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded files read, and describe the 150+ programs agents run.
    #[test]
    fn the_model_loads() {
        let n = check().unwrap();
        assert!(n >= 250, "only {n} program names described");
        let m = model();
        assert!(m.get("sudo").unwrap().runs.is_some());
        assert!(m.get("python3").unwrap().code.is_some());
        assert!(m.get("kubectl").unwrap().subcommand("delete").unwrap().mutates);
    }

    /// What `build.rs` prepared from every embedded model file is exactly what reading its YAML
    /// gives, so the model read at run time is the one the YAML describes.
    #[test]
    fn prepared_files_read_as_their_yaml() {
        let mut files = FILES.to_vec();
        files.push(("verbs.yaml", include_str!("../../programs/verbs.yaml")));
        files.push(("environments.yaml", include_str!("../../programs/environments.yaml")));
        for (file, yaml) in files {
            let (_, json) = PREPARED
                .iter()
                .find(|(name, _)| *name == file)
                .unwrap_or_else(|| panic!("{file} was not prepared"));
            assert!(
                !json.is_empty(),
                "{file} could not be prepared (see the build's warning)"
            );
            let prepared: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(prepared, crate::pack::yaml_value(yaml).unwrap(), "{file}");
        }
    }

    /// A data error is reported the same from the prepared JSON as from the YAML: the file and
    /// the field.
    #[test]
    fn prepared_errors_name_the_file_and_field() {
        let yaml = "curl:\n  short:\n    x: proxy\n  operandz: text\n";
        let json = crate::pack::yaml_value(yaml).unwrap().to_string();
        let from_json = read_data::<BTreeMap<String, Spec>>("network.yaml", Some(&json), "").unwrap_err();
        let from_yaml = read_data::<BTreeMap<String, Spec>>("network.yaml", None, yaml).unwrap_err();
        assert_eq!(from_json, from_yaml);
        assert!(
            from_json.starts_with("network.yaml: curl.operandz: unknown field `operandz`"),
            "{from_json}"
        );
    }

    /// Verbs classify by their first or last part; destroy wins.
    #[test]
    fn verbs_classify() {
        if let Err(e) = &*VERBS {
            panic!("verbs.yaml does not read: {e}");
        }
        let v = verbs();
        assert_eq!(v.classify("delete-table"), Some(Effect::Destroy));
        assert_eq!(v.classify("doctrine:schema:drop"), Some(Effect::Destroy));
        assert_eq!(v.classify("get-parameter"), Some(Effect::Read));
        assert_eq!(v.classify("scale"), Some(Effect::Mutate));
        assert_eq!(v.classify("orders-db"), None);
        assert!(places().variable("ORDERS_DATABASE_URL"));
    }
}
