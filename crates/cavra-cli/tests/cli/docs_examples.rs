//! The example packs of `docs/POLICY_LANGUAGE.md` are real packs: they validate, and every
//! decision the document claims for them is an inline test that passes.

use std::process::{Command, Output};

/// `docs/examples`, from this crate's directory.
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/examples");

/// The fewest inline tests the examples hold; raise it when adding examples.
const MIN_TESTS: u64 = 104;

/// Runs the real binary with the examples as the policy directory.
fn run(args: &[&str]) -> std::io::Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_cavra"))
        .args(args)
        .env("CAVRA_POLICY_DIR", EXAMPLES)
        .output()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every example pack validates and all their inline tests pass, by path and by pack id.
#[test]
fn docs_examples_validate_and_pass() {
    let o = run(&["policy", "validate", EXAMPLES]).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("ok: 6 pack file(s) valid"),
        "{}",
        text(&o.stdout)
    );

    let o = run(&["policy", "test", EXAMPLES]).unwrap();
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let summary = out.lines().last().unwrap_or_default();
    let passed: u64 = summary.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert_eq!(summary, format!("{passed} passed, 0 failed"), "{out}");
    assert!(passed >= MIN_TESTS, "only {passed} example tests ran:\n{out}");

    let o = run(&["policy", "test", EXAMPLES, "--json"]).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["passed"], passed);
    assert_eq!(report["failed"], 0);
    let results = report["results"].as_array().unwrap();
    for pack in [
        "acme-matchers",
        "acme-team",
        "acme-audit",
        "acme-production",
        "legacy-section-format-tests",
    ] {
        assert!(results.iter().any(|r| r["pack"] == pack), "no tests ran for {pack}");
    }

    // §4.3: under `strict`, an allowed command's unmatched file part takes the pack's default.
    let o = run(&[
        "policy",
        "explain",
        "execute_command",
        "rm -rf target/",
        "-p",
        "strict",
        "--json",
    ])
    .unwrap();
    let x: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(x["evaluation"]["decision"], "require_approval");
    assert_eq!(x["evaluation"]["rule_id"], "strict.default");
    assert_eq!(x["evaluation"]["matched"][0]["rule_id"], "shell.rm-build-dirs");

    // By id, loaded from CAVRA_POLICY_DIR with its parent.
    let o = run(&["policy", "test", "acme-team"]).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).ends_with(" passed, 0 failed\n"), "{}", text(&o.stdout));
}
