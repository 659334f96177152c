//! The packs embedded in the binary, from `crates/cavra-core/packs/`.
//!
//! Each is embedded twice: as its YAML, which long-lived processes and `cavra policy` read with
//! every check, and as the tree `build.rs` prepared from that YAML (`prepared.rs`), which a
//! one-shot process that only decides reads several times faster.

use super::model::PolicyPack;
use super::{PackError, parse_builtin_pack, prepared, yaml};

/// `(id, YAML)` of every built-in pack.
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    (
        "cavra-ai-agent-baseline",
        include_str!("../../packs/cavra-ai-agent-baseline.yaml"),
    ),
    ("strict", include_str!("../../packs/strict.yaml")),
    ("terraform-prod", include_str!("../../packs/terraform-prod.yaml")),
    ("kubernetes-prod", include_str!("../../packs/kubernetes-prod.yaml")),
    ("cloud-iam", include_str!("../../packs/cloud-iam.yaml")),
    ("github-enterprise", include_str!("../../packs/github-enterprise.yaml")),
    ("mcp-enterprise", include_str!("../../packs/mcp-enterprise.yaml")),
    ("owasp-llm-agentic", include_str!("../../packs/owasp-llm-agentic.yaml")),
];

/// The tree `build.rs` prepared from each pack file, without its inline tests, by file name
/// (empty for a file it could not prepare).
const PREPARED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/packs.rs"));

/// The built-in pack `id` as a one-shot process that decides with it needs it (`None` when no
/// built-in has that id): read from its prepared tree, which leaves out its inline `tests`, its
/// patterns not compiled to check them (like [`parse_builtin_pack`]). A pack with no prepared
/// tree is read from its YAML, tests dropped after reading. Either way the rules, defaults and
/// every message, line and column included, are those the YAML gives.
pub fn builtin_pack_for_decisions(id: &str) -> Option<Result<PolicyPack, PackError>> {
    let (name, text) = BUILTIN_PACKS.iter().find(|(name, _)| *name == id)?;
    let prepared = PREPARED
        .iter()
        .find(|(file, json)| file.strip_suffix(".yaml") == Some(name) && !json.is_empty())
        .map(|(_, json)| *json);
    Some(read_for_decisions(&format!("builtin:{name}.yaml"), text, prepared))
}

/// Reads pack `file` from its `prepared` tree, or from its YAML `text` when there is none (or it
/// does not read, which a tree written by this build cannot do).
fn read_for_decisions(file: &str, text: &str, prepared: Option<&str>) -> Result<PolicyPack, PackError> {
    match prepared.and_then(|json| prepared::read_pack_tree(json).ok()) {
        Some(root) => yaml::read_builtin_tree(file, &root),
        None => parse_builtin_pack(file, text).map(|mut pack| {
            pack.tests.clear();
            pack
        }),
    }
}

/// The built-in packs as `(file name, YAML)` sources for [`super::PackSet::load`].
pub fn builtin_sources() -> Vec<(String, String)> {
    BUILTIN_PACKS
        .iter()
        .map(|(id, text)| (format!("builtin:{id}.yaml"), (*text).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::parse_pack;

    /// The hook reads the built-ins without compiling their patterns to check them; this is the
    /// check: every built-in passes the full one and reads the same either way.
    #[test]
    fn builtins_pass_the_full_check_and_read_alike() {
        for (id, text) in BUILTIN_PACKS {
            let file = format!("builtin:{id}.yaml");
            let checked = parse_pack(&file, text).unwrap_or_else(|e| panic!("{id}: {e:?}"));
            let trusted = parse_builtin_pack(&file, text).unwrap_or_else(|e| panic!("{id}: {e:?}"));
            assert_eq!(
                serde_json::to_value(&checked).unwrap(),
                serde_json::to_value(&trusted).unwrap(),
                "{id}"
            );
        }
    }

    /// A one-shot process reads each built-in from its prepared tree: the pack the full check
    /// reads from the YAML, lines included, without its inline tests.
    #[test]
    fn builtins_for_decisions_are_the_yaml_without_tests() {
        for (id, text) in BUILTIN_PACKS {
            let file = format!("builtin:{id}.yaml");
            let (_, json) = PREPARED
                .iter()
                .find(|(name, _)| *name == format!("{id}.yaml"))
                .unwrap_or_else(|| panic!("{id} was not prepared"));
            assert!(!json.is_empty(), "{id} could not be prepared (see the build's warning)");
            let mut checked = parse_pack(&file, text).unwrap_or_else(|e| panic!("{id}: {e:?}"));
            checked.tests.clear();
            let deciding = builtin_pack_for_decisions(id).unwrap().unwrap();
            prepared::tests::assert_same_pack(&deciding, &checked);
        }
        assert!(builtin_pack_for_decisions("no-such-pack").is_none());
    }

    /// Without a prepared tree, or with one that does not read, the YAML gives the same pack.
    #[test]
    fn a_pack_without_a_tree_is_read_from_its_yaml() {
        let (id, text) = BUILTIN_PACKS[0];
        let file = format!("builtin:{id}.yaml");
        let from_tree = builtin_pack_for_decisions(id).unwrap().unwrap();
        for prepared in [None, Some("[1, 1, {\"map\": [")] {
            let from_yaml = read_for_decisions(&file, text, prepared).unwrap();
            prepared::tests::assert_same_pack(&from_yaml, &from_tree);
        }
    }

    /// Fail closed: in every built-in pack, each construct (a line cavra could not read, or a shape
    /// dangerous whatever its words) is decided by a rule of at least `require_approval`.
    #[test]
    fn every_construct_fails_closed() {
        use crate::decision::{Outcome, Severity};
        use crate::pack::Matcher;
        use crate::shell::Construct;
        let set = crate::PackSet::builtin().unwrap();
        for (id, _) in BUILTIN_PACKS {
            let pack = set.get(id).unwrap();
            for construct in Construct::ALL {
                let rule = pack
                    .rules()
                    .iter()
                    .find(|r| matches!(r.rule.matcher, Matcher::Construct(c) if c == construct));
                let (decision, rule_id) = rule.map_or((pack.defaults().0, "(default)"), |r| {
                    (r.rule.decision, r.rule.id.as_str())
                });
                assert!(
                    decision >= Outcome::RequireApproval,
                    "{id}: `{}` is decided `{decision}` by {rule_id}",
                    construct.as_str()
                );
            }
        }
        let baseline = set.get("cavra-ai-agent-baseline").unwrap();
        for (construct, rule_id, decision, severity) in [
            (
                Construct::ForkBomb,
                "shell.fork-bomb",
                Outcome::Block,
                Severity::Critical,
            ),
            (
                Construct::Unparseable,
                "shell.unreadable",
                Outcome::RequireApproval,
                Severity::High,
            ),
            (
                Construct::TooDeep,
                "shell.too-deep",
                Outcome::RequireApproval,
                Severity::High,
            ),
            (
                Construct::DynamicProgram,
                "shell.dynamic-program",
                Outcome::RequireApproval,
                Severity::Medium,
            ),
            (
                Construct::TooComplex,
                "shell.too-complex",
                Outcome::RequireApproval,
                Severity::High,
            ),
            (
                Construct::ReverseShell,
                "shell.reverse-shell",
                Outcome::Block,
                Severity::Critical,
            ),
            (
                Construct::GitConfigExec,
                "git.config-exec",
                Outcome::Block,
                Severity::High,
            ),
            (
                Construct::InlineCode,
                "shell.inline-code",
                Outcome::RequireApproval,
                Severity::High,
            ),
        ] {
            let rule = baseline
                .rules()
                .iter()
                .find(|r| matches!(r.rule.matcher, Matcher::Construct(c) if c == construct))
                .unwrap_or_else(|| panic!("no baseline rule for `{}`", construct.as_str()));
            assert_eq!(
                (rule.rule.id.as_str(), rule.rule.decision, rule.rule.severity),
                (rule_id, decision, severity),
                "{}",
                construct.as_str()
            );
        }
    }

    /// Every built-in pack's inline tests pass (what `cavra policy test` runs), so a rule change
    /// that breaks one fails `cargo test -p cavra-core` and not only the CLI's suite.
    #[test]
    fn builtin_inline_tests_pass() {
        let set = crate::PackSet::builtin().unwrap();
        let mut failures = Vec::new();
        let mut count = 0;
        for (id, _) in BUILTIN_PACKS {
            let pack = set.get(id).unwrap();
            for test in &pack.source().tests {
                count += 1;
                let got = crate::evaluate(&test.action, &pack);
                let rule_ok = test.expect.rule_id.as_ref().is_none_or(|r| *r == got.rule_id);
                let severity_ok = test.expect.severity.is_none_or(|s| s == got.severity);
                if got.decision != test.expect.decision || !rule_ok || !severity_ok {
                    failures.push(format!(
                        "{id}:{} {} `{}`: got {} {} ({}), expected {} {} ({})",
                        test.line,
                        test.action.action_type,
                        test.action.target,
                        got.decision,
                        got.rule_id,
                        got.severity,
                        test.expect.decision,
                        test.expect.rule_id.as_deref().unwrap_or("-"),
                        test.expect.severity.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {count} inline tests failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
