//! [`PackSet`]: every loaded pack by id, inheritance resolved and compiled once.
//!
//! A child's rules come after its parents' (parents in the order listed), and a child rule with
//! a parent rule's id replaces it in place — so a child can tighten freely, and can only loosen a
//! parent's rule by naming it. With several parents, a later parent's own version of a rule
//! replaces an earlier one; `defaults` are the most restrictive parent's and `protected_branches`
//! the union of the parents', unless the pack sets them itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::compile::{Compile, CompiledPack};
use super::model::{Defaults, PolicyPack, Rule};
use super::{Diagnostic, PackError, builtin_sources, parse_pack};
use crate::decision::{Outcome, Severity};

/// The loaded packs.
#[derive(Debug, Clone, Default)]
pub struct PackSet {
    packs: BTreeMap<String, Arc<CompiledPack>>,
}

/// A pack with its parents merged in.
#[derive(Clone)]
struct Effective {
    rules: Vec<(Rule, String)>,
    defaults: Option<Defaults>,
    protected: Option<Vec<String>>,
    environments: Option<Vec<(String, Vec<String>)>>,
}

impl PackSet {
    /// The built-in packs only.
    pub fn builtin() -> Result<PackSet, PackError> {
        PackSet::load(&builtin_sources())
    }

    /// Parses, validates, resolves and compiles `sources` (`(file name, YAML text)` pairs).
    /// Every problem in every file is reported.
    pub fn load(sources: &[(String, String)]) -> Result<PackSet, PackError> {
        PackSet::load_only(sources, |_| true)
    }

    /// Like [`load`](Self::load), but compiles only the packs `wanted` accepts (every source is
    /// still parsed and validated, and inheritance resolved): a short-lived process such as an
    /// agent hook pays for the one pack it decides with, not for all of them.
    pub fn load_only(sources: &[(String, String)], wanted: impl Fn(&str) -> bool) -> Result<PackSet, PackError> {
        let parsed = sources.iter().map(|(file, text)| parse_pack(file, text)).collect();
        PackSet::resolve_and_compile(parsed, wanted, Compile::Eager)
    }

    /// Like [`load_only`](Self::load_only), from packs already parsed with
    /// [`parse_pack`](super::parse_pack) (their errors included), for one-shot callers that parse
    /// only the sources a pack needs: patterns are validated now, but each rule's matcher is
    /// built the first time a decision tries it ([`Compile::Lazy`]).
    pub fn load_parsed(
        parsed: Vec<Result<PolicyPack, PackError>>,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<PackSet, PackError> {
        PackSet::resolve_and_compile(parsed, wanted, Compile::Lazy)
    }

    fn resolve_and_compile(
        parsed: Vec<Result<PolicyPack, PackError>>,
        wanted: impl Fn(&str) -> bool,
        compile: Compile,
    ) -> Result<PackSet, PackError> {
        let mut diags = Vec::new();
        let mut raw: BTreeMap<String, PolicyPack> = BTreeMap::new();
        for result in parsed {
            match result {
                Ok(pack) => {
                    let file = &pack.file;
                    if let Some(existing) = raw.get(&pack.id) {
                        diags.push(Diagnostic {
                            file: file.clone(),
                            line: 1,
                            column: 1,
                            message: format!("pack id `{}` is already defined in {}", pack.id, existing.file),
                        });
                    } else {
                        raw.insert(pack.id.clone(), pack);
                    }
                }
                Err(PackError(d)) => diags.extend(d),
            }
        }
        let mut resolved: HashMap<String, Effective> = HashMap::new();
        for id in raw.keys() {
            let mut stack = Vec::new();
            resolve(id, &raw, &mut resolved, &mut stack, &mut diags);
        }
        let mut packs = BTreeMap::new();
        for (id, pack) in raw.iter().filter(|(id, _)| wanted(id)) {
            let Some(eff) = resolved.get(id) else {
                continue;
            };
            let defaults = eff
                .defaults
                .map_or((Outcome::Allow, Severity::Low), |d| (d.decision, d.severity));
            let mut source = pack.clone();
            let (rules, owners): (Vec<Rule>, Vec<String>) = eff.rules.iter().cloned().unzip();
            source.rules = rules;
            source.defaults = Some(Defaults {
                decision: defaults.0,
                severity: defaults.1,
            });
            source.protected_branches = eff.protected.clone();
            source.environments = eff.environments.clone();
            match CompiledPack::compile(source, owners, defaults, compile) {
                Ok(c) => {
                    packs.insert(id.clone(), Arc::new(c));
                }
                Err(d) => diags.extend(d),
            }
        }
        if diags.is_empty() {
            Ok(PackSet { packs })
        } else {
            diags.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            diags.dedup();
            Err(PackError(diags))
        }
    }

    /// The pack with this id.
    pub fn get(&self, id: &str) -> Option<Arc<CompiledPack>> {
        self.packs.get(id).cloned()
    }

    /// Every pack, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<CompiledPack>> {
        self.packs.values()
    }

    /// Every pack id, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.packs.keys().map(String::as_str)
    }
}

fn resolve(
    id: &str,
    raw: &BTreeMap<String, PolicyPack>,
    done: &mut HashMap<String, Effective>,
    stack: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Effective> {
    if let Some(e) = done.get(id) {
        return Some(e.clone());
    }
    let pack = raw.get(id)?;
    if stack.iter().any(|s| s == id) {
        let mut cycle = stack.clone();
        cycle.push(id.to_owned());
        diags.push(Diagnostic {
            file: pack.file.clone(),
            line: pack.inherits_line,
            column: 1,
            message: format!("inheritance cycle: {}", cycle.join(" -> ")),
        });
        return None;
    }
    stack.push(id.to_owned());
    let mut eff = Effective {
        rules: Vec::new(),
        defaults: None,
        protected: None,
        environments: None,
    };
    for parent in &pack.inherits {
        if !raw.contains_key(parent) {
            diags.push(Diagnostic {
                file: pack.file.clone(),
                line: pack.inherits_line,
                column: 1,
                message: format!("`inherits` names unknown pack `{parent}`"),
            });
            continue;
        }
        // A cycle is reported where it closes; the other parents are still checked.
        let Some(p) = resolve(parent, raw, done, stack, diags) else {
            continue;
        };
        for (rule, owner) in p.rules {
            match eff.rules.iter_mut().find(|(r, _)| r.id == rule.id) {
                // The same rule reached through two parents stays where it is; a later parent's
                // own version of it replaces an earlier one in place.
                Some(slot) if slot.1 != owner => *slot = (rule, owner),
                Some(_) => {}
                None => eff.rules.push((rule, owner)),
            }
        }
        // Combining parents never loosens: the most restrictive default, every protected branch.
        eff.defaults = match (eff.defaults, p.defaults) {
            (Some(a), Some(b)) => Some(if (b.decision, b.severity) > (a.decision, a.severity) {
                b
            } else {
                a
            }),
            (a, b) => a.or(b),
        };
        // A parent's environments carry over unless an earlier parent named them.
        eff.environments = eff.environments.take().or(p.environments);
        eff.protected = match (eff.protected.take(), p.protected) {
            (Some(mut a), Some(b)) => {
                a.extend(b.into_iter().filter(|x| !a.contains(x)).collect::<Vec<_>>());
                Some(a)
            }
            (a, b) => a.or(b),
        };
    }
    for rule in &pack.rules {
        match eff.rules.iter_mut().find(|(r, _)| r.id == rule.id) {
            Some(slot) => *slot = (rule.clone(), pack.id.clone()),
            None => eff.rules.push((rule.clone(), pack.id.clone())),
        }
    }
    eff.defaults = pack.defaults.or(eff.defaults);
    eff.protected = pack.protected_branches.clone().or(eff.protected);
    eff.environments = pack.environments.clone().or(eff.environments);
    stack.pop();
    done.insert(id.to_owned(), eff.clone());
    Some(eff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, ActionType};

    fn load(files: &[(&str, &str)]) -> Result<PackSet, PackError> {
        let mut sources = builtin_sources();
        sources.extend(files.iter().map(|(f, t)| ((*f).to_owned(), (*t).to_owned())));
        PackSet::load(&sources)
    }

    const RULE: &str =
        "    match: { command: { program: curl } }\n    decision: block\n    severity: high\n    reason: r\n";

    /// A cycle through `inherits` is reported at the `inherits` line, with the path.
    #[test]
    fn inheritance_cycles_are_reported() {
        let err = load(&[
            ("a.yaml", "id: a\ninherits: [b]\nrules: []\n"),
            ("b.yaml", "id: b\ninherits: [a]\nrules: []\n"),
        ])
        .unwrap_err();
        assert!(
            err.0
                .iter()
                .any(|d| d.message.starts_with("inheritance cycle") && d.line == 2),
            "{err}"
        );
    }

    /// An unknown parent is named.
    #[test]
    fn unknown_parent_is_named() {
        let err = load(&[("a.yaml", "id: a\ninherits: [nope]\nrules: []\n")]).unwrap_err();
        assert!(err.0[0].message.contains("unknown pack `nope`"), "{err}");
    }

    /// Parents' rules come first; a child rule with a parent's id replaces it in place.
    #[test]
    fn child_overrides_by_id_in_place() {
        let child = format!(
            "id: child\ninherits: [cavra-ai-agent-baseline]\nrules:\n  - id: shell.rm-root\n{RULE}  - id: own\n{RULE}"
        );
        let set = load(&[("child.yaml", &child)]).unwrap();
        let pack = set.get("child").unwrap();
        let ids: Vec<&str> = pack.rules().iter().map(|r| r.rule.id.as_str()).collect();
        let parent: Vec<String> = set
            .get("cavra-ai-agent-baseline")
            .unwrap()
            .rules()
            .iter()
            .map(|r| r.rule.id.clone())
            .collect();
        let at = parent.iter().position(|id| id == "shell.rm-root").unwrap();
        assert_eq!(ids[at], "shell.rm-root");
        assert_eq!(pack.rules()[at].policy_id, "child");
        assert_eq!(ids.last(), Some(&"own"));
        assert_eq!(pack.defaults(), (Outcome::Allow, Severity::Low));
    }

    /// Combining parents that share an ancestor keeps each parent's own rules and the strictest default.
    #[test]
    fn diamond_inheritance_keeps_overrides() {
        let set = load(&[("d.yaml", "id: diamond\ninherits: [strict, mcp-enterprise]\nrules: []\n")]).unwrap();
        let pack = set.get("diamond").unwrap();
        let unknown = pack.rules().iter().find(|r| r.rule.id == "mcp.unknown-server").unwrap();
        assert_eq!(unknown.policy_id, "mcp-enterprise");
        assert_eq!(pack.defaults(), (Outcome::RequireApproval, Severity::Medium));
    }

    /// `outside_repository` matches paths outside the action's `cwd` (and `false` the others);
    /// `ignore_case` makes `paths` and `except` match any case; `paths` may be left out only when
    /// `outside_repository` is given.
    #[test]
    fn file_matcher_boundary_and_case() {
        let text = "id: fences\nrules:\n  \
            - id: keys\n    match: { file: { paths: [id_rsa, \".env\"], except: [\".env.example\"], ignore_case: true } }\n    \
            decision: block\n    severity: high\n    reason: r\n  \
            - id: scratch\n    match: { file: { paths: [\"/tmp/**\"], outside_repository: true } }\n    \
            decision: allow\n    severity: low\n    reason: r\n  \
            - id: outside\n    match: { file: { outside_repository: true, access: write } }\n    \
            decision: require_approval\n    severity: medium\n    reason: r\n  \
            - id: inside\n    match: { file: { paths: [\"**\"], outside_repository: false, access: write } }\n    \
            decision: warn\n    severity: low\n    reason: r\n";
        let set = load(&[("fences.yaml", text)]).unwrap();
        let pack = set.get("fences").unwrap();
        let decide = |kind: ActionType, target: &str| {
            let mut a = Action::new(kind, target);
            a.cwd = Some("/home/dev/repo".to_owned());
            crate::evaluate(&a, &pack).rule_id
        };
        assert_eq!(decide(ActionType::ReadFile, r"C:\Users\X\.SSH\ID_RSA"), "keys");
        assert_eq!(decide(ActionType::ReadFile, "config/.ENV"), "keys");
        assert_eq!(decide(ActionType::ReadFile, ".Env.Example"), "fences.default");
        assert_eq!(decide(ActionType::WriteFile, "/tmp/out.txt"), "scratch");
        assert_eq!(decide(ActionType::WriteFile, "../sibling/notes.md"), "outside");
        assert_eq!(decide(ActionType::WriteFile, "~/notes.md"), "outside");
        assert_eq!(decide(ActionType::ReadFile, "~/notes.md"), "fences.default");
        assert_eq!(decide(ActionType::WriteFile, "src/lib.rs"), "inside");
        let mut a = Action::new(ActionType::WriteFile, "/etc/motd");
        a.cwd = None;
        assert_eq!(
            crate::evaluate(&a, &pack).rule_id,
            "inside",
            "no root known: not outside"
        );

        let err = load(&[(
            "bad.yaml",
            "id: bad\nrules:\n  - id: r\n    match: { file: { access: write, outside_repository: yes } }\n    \
             decision: block\n    severity: high\n    reason: r\n",
        )])
        .unwrap_err();
        let messages: Vec<&str> = err.0.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages.contains(&"`outside_repository` must be `true` or `false`"),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.starts_with("`file` needs `paths`")),
            "{messages:?}"
        );
    }

    /// Two files may not define the same pack id.
    #[test]
    fn duplicate_pack_ids_are_rejected() {
        let err = load(&[("x.yaml", "id: strict\nrules: []\n")]).unwrap_err();
        assert!(err.0[0].message.contains("already defined"), "{err}");
    }

    /// Bad pack ids, unknown outcomes and severities are reported with their lines.
    #[test]
    fn bad_values_are_reported() {
        let text = format!(
            "id: Bad_Id\nrules:\n  - id: r\n    match: {{ file: {{ paths: [x] }} }}\n    decision: deny\n    severity: huge\n    reason: r\n  - id: s\n{RULE}"
        );
        let err = load(&[("bad.yaml", &text)]).unwrap_err();
        let lines: Vec<(usize, &str)> = err.0.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert!(
            lines.iter().any(|(l, m)| *l == 1 && m.contains("pack id `Bad_Id`")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 5 && m.contains("unknown outcome `deny`")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 6 && m.contains("unknown severity `huge`")),
            "{lines:?}"
        );
    }
}
