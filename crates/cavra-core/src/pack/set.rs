//! [`PackSet`]: every loaded pack by id, inheritance resolved and compiled once.
//!
//! A child's rules come after its parents' (parents in the order listed), and a child rule with
//! a parent rule's id replaces it in place — so a child can tighten freely, and can only loosen a
//! parent's rule by naming it. `defaults` and `protected_branches` are inherited unless set.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::compile::CompiledPack;
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
}

impl PackSet {
    /// The built-in packs only.
    pub fn builtin() -> Result<PackSet, PackError> {
        PackSet::load(&builtin_sources())
    }

    /// Parses, validates, resolves and compiles `sources` (`(file name, YAML text)` pairs).
    /// Every problem in every file is reported.
    pub fn load(sources: &[(String, String)]) -> Result<PackSet, PackError> {
        let mut diags = Vec::new();
        let mut raw: BTreeMap<String, PolicyPack> = BTreeMap::new();
        for (file, text) in sources {
            match parse_pack(file, text) {
                Ok(pack) => {
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
        for (id, pack) in &raw {
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
            match CompiledPack::compile(source, owners, defaults) {
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
        let Some(p) = resolve(parent, raw, done, stack, diags) else {
            stack.pop();
            return None;
        };
        for (rule, owner) in p.rules {
            if !eff.rules.iter().any(|(r, _)| r.id == rule.id) {
                eff.rules.push((rule, owner));
            }
        }
        eff.defaults = p.defaults.or(eff.defaults);
        eff.protected = p.protected.or(eff.protected);
    }
    for rule in &pack.rules {
        match eff.rules.iter_mut().find(|(r, _)| r.id == rule.id) {
            Some(slot) => *slot = (rule.clone(), pack.id.clone()),
            None => eff.rules.push((rule.clone(), pack.id.clone())),
        }
    }
    eff.defaults = pack.defaults.or(eff.defaults);
    eff.protected = pack.protected_branches.clone().or(eff.protected);
    stack.pop();
    done.insert(id.to_owned(), eff.clone());
    Some(eff)
}
