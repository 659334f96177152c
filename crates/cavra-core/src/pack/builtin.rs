//! The packs embedded in the binary, from `crates/cavra-core/packs/`.

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
    use crate::pack::{parse_builtin_pack, parse_pack};

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
