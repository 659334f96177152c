//! Redaction of decision records (SPEC §6): for generated commands and MCP arguments that embed
//! a generated secret of every known kind, the record as stored (`serde_json::to_string`) never
//! contains the secret and says which fields were redacted; the acceptance corpus of ordinary
//! actions comes through untouched except for the few lines that do hold a secret.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "a test reports a broken fixture by panicking"
)]

use std::sync::LazyLock;

use cavra_core::redact::{MARKER, redact_text};
use cavra_core::{Action, ActionType, DecisionRecord, PackSet, RecordStamp, evaluate};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

/// The built-in packs, compiled once for the whole test binary.
static PACKS: LazyLock<PackSet> = LazyLock::new(|| PackSet::builtin().expect("the built-in packs load"));

/// The record `cavra` would store for `action`.
fn record(action: &Action) -> DecisionRecord {
    let pack = PACKS
        .get(action.policy_pack())
        .unwrap_or_else(|| panic!("unknown pack `{}`", action.policy_pack()));
    let stamp = RecordStamp {
        decision_id: "dec_01".to_owned(),
        timestamp: "2026-01-01T00:00:00.000000Z".to_owned(),
        generated_correlation_id: "corr_01".to_owned(),
    };
    DecisionRecord::new(action, evaluate(action, &pack), pack.version(), stamp)
}

/// The stored form of `record`.
fn stored(record: &DecisionRecord) -> String {
    serde_json::to_string(record).expect("a record serialises")
}

/// A token in one of the formats recognised anywhere, as its issuer would print it.
fn format_token() -> impl Strategy<Value = String> {
    select(vec![
        "AKIA[A-Z0-9]{16}",
        "ASIA[A-Z0-9]{16}",
        "gh[pousr]_[A-Za-z0-9]{36}",
        "github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        "glpat-[A-Za-z0-9_-]{20}",
        "xox[abprs]-[0-9]{10,12}-[0-9]{10,12}-[A-Za-z0-9]{24}",
        "sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
        "sk-proj-[A-Za-z0-9_-]{40}T3BlbkFJ[A-Za-z0-9_-]{20}",
        "sk-ant-api03-[A-Za-z0-9_-]{93}AA",
        "(sk|rk)_live_[A-Za-z0-9]{24,99}",
        "AIza[A-Za-z0-9_-]{35}",
        "npm_[A-Za-z0-9]{36}",
        "eyJ[A-Za-z0-9_-]{10,40}\\.eyJ[A-Za-z0-9_-]{10,80}\\.[A-Za-z0-9_-]{20,43}",
    ])
    .prop_flat_map(|pattern| proptest::string::string_regex(pattern).expect("a valid token pattern"))
}

/// A password with nothing to recognise it by but where it stands.
fn password() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9!%+^~_-]{7,23}"
}

/// Commands that carry a formatted token somewhere (`{s}`), even as a bare argument.
const TOKEN_TEMPLATES: &[&str] = &[
    "export GITHUB_TOKEN={s}",
    "curl -H 'Authorization: Bearer {s}' https://api.example.com/v1/me",
    "echo {s} | docker login ghcr.io -u bot --password-stdin",
    "git clone https://{s}@github.com/acme/app.git",
    "git remote set-url origin https://x-access-token:{s}@github.com/acme/app.git",
    "deploy --api-key={s} --env prod",
    "printf '%s' \"{s}\" > /tmp/tok",
    "gh secret set DEPLOY --body {s}",
    "python3 -c \"import os; os.environ['KEY'] = '{s}'\"",
    "cat <<EOF > .env\nAPI_TOKEN={s}\nEOF",
    "some-cli login {s}",
    "bash -c 'curl -s -H \"X-Api-Key: {s}\" https://h.example'",
];

/// Commands that carry an arbitrary password (`{s}`) in a place that says it is one.
const PASSWORD_TEMPLATES: &[&str] = &[
    "PGPASSWORD={s} psql -h db -U app -c 'select 1'",
    "mysql -uroot -p{s} app",
    "mysql -h db -u app -p'{s}' app",
    "psql postgres://app:{s}@db:5432/app",
    "curl -u admin:{s} https://ci.example.com/api",
    "curl -H 'Authorization: Basic {s}' https://x.example",
    "vault login --token {s}",
    "tool --password={s}",
    "export DB_PASSWORD=\"{s}\"",
    "sshpass -p {s} ssh deploy@host uptime",
    "docker login -u bot -p {s} registry.example.com",
    "curl -d '{\"username\":\"bob\",\"password\":\"{s}\"}' https://x.example/login",
    "curl -H 'X-Api-Key: {s}' https://api.example.com",
    "kubectl create secret generic db --from-literal=password={s}",
];

/// Harmless wrapping around the secret-bearing command.
fn wrapped(line: String) -> impl Strategy<Value = String> {
    (
        select(vec!["", "cd /srv/app && ", "sudo ", "time ", "env DEBUG=1 "]),
        select(vec!["", " && echo ok", " | tee -a log.txt", " >/dev/null 2>&1"]),
    )
        .prop_map(move |(before, after)| format!("{before}{line}{after}"))
}

/// `(command line, secret)`: a command holding a token or a password.
fn secret_command() -> impl Strategy<Value = (String, String)> {
    let token = (select(TOKEN_TEMPLATES.to_vec()), format_token());
    let password = (select(PASSWORD_TEMPLATES.to_vec()), password());
    prop_oneof![token, password].prop_flat_map(|(template, secret)| {
        wrapped(template.replace("{s}", &secret)).prop_map(move |line| (line, secret.clone()))
    })
}

/// `(PEM text, body lines)`: a private key as a file would hold it.
fn private_key() -> impl Strategy<Value = (String, Vec<String>)> {
    (
        select(vec!["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""]),
        proptest::collection::vec("[A-Za-z0-9+/]{64}", 2..6),
    )
        .prop_map(|(kind, lines)| {
            let pem = format!(
                "-----BEGIN {kind}PRIVATE KEY-----\n{}\n-----END {kind}PRIVATE KEY-----",
                lines.join("\n")
            );
            (pem, lines)
        })
}

/// MCP arguments that hold `secret` in one of the usual places.
fn mcp_arguments(secret: String) -> impl Strategy<Value = Value> {
    select(vec![0_u8, 1, 2, 3, 4, 5, 6]).prop_map(move |shape| match shape {
        0 => json!({"username": "bob", "password": secret}),
        1 => json!({"url": "https://api.example.com", "headers": {"Authorization": format!("Bearer {secret}")}}),
        2 => json!({"env": {"NPM_TOKEN": secret, "HOME": "/home/dev"}}),
        3 => json!({"command": format!("mysql -uroot -p{secret} app")}),
        4 => json!({"command": "tool", "args": ["--api-key", secret, "--verbose"]}),
        5 => json!({"config": {"db": {"url": format!("postgres://app:{secret}@db/app")}}}),
        _ => json!({"steps": [{"run": format!("PGPASSWORD={secret} psql -c 'select 1'")}]}),
    })
}

/// Text mixing secret fragments, quotes and markers with anything, for the totality property.
fn soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        select(vec![
            "ghp_",
            "AKIA",
            "sk-",
            "sk-ant-",
            "eyJ",
            "://",
            ":",
            "@",
            "=",
            "password",
            "TOKEN",
            "--token",
            "-p",
            "mysql ",
            "curl ",
            "-u ",
            "Authorization: Bearer ",
            "\"",
            "'",
            "\\",
            " ",
            "\n",
            "$",
            "[REDACTED]",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END RSA PRIVATE KEY-----",
            "{\"api_key\": ",
            "é",
            "🔑",
        ])
        .prop_map(str::to_owned),
        "[A-Za-z0-9_/-]{1,40}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// `cases` cases per property; a failing case is saved beside this file and replayed first.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// A command holding a token or a password is stored without it, and the record says so.
    #[test]
    fn commands_never_store_their_secret((line, secret) in secret_command()) {
        let r = record(&Action::new(ActionType::ExecuteCommand, line.as_str()));
        let text = stored(&r);
        prop_assert!(!text.contains(&secret), "`{}` leaks `{}`:\n{}", line, secret, text);
        prop_assert!(r.redacted_fields.iter().any(|f| f == "target"), "{:?}", r.redacted_fields);
    }

    /// A private key written by a command is stored without its body.
    #[test]
    fn private_keys_are_never_stored(
        (pem, lines) in private_key(),
        how in select(vec!["printf '%s\\n' '{k}' > id_key", "cat > deploy.pem <<'EOF'\n{k}\nEOF", "echo \"{k}\" | ssh-add -"]),
    ) {
        let line = how.replace("{k}", &pem);
        let r = record(&Action::new(ActionType::ExecuteCommand, line.as_str()));
        let text = stored(&r);
        for body in &lines {
            prop_assert!(!text.contains(body.as_str()), "`{}` leaks `{}`", line, body);
        }
        prop_assert!(!r.redacted_fields.is_empty());
    }

    /// MCP arguments are stored, redacted, with the path of each redacted value; the record
    /// reads back as it was written.
    #[test]
    fn mcp_arguments_never_store_their_secret(
        (arguments, secret) in prop_oneof![format_token(), password()]
            .prop_flat_map(|s| mcp_arguments(s.clone()).prop_map(move |a| (a, s.clone())))
    ) {
        let mut action = Action::new(ActionType::McpToolCall, "ops:run");
        action.arguments = arguments.as_object().cloned();
        let r = record(&action);
        let text = stored(&r);
        prop_assert!(!text.contains(&secret), "{} leaks `{}`:\n{}", arguments, secret, text);
        prop_assert!(
            r.redacted_fields.iter().any(|f| f.starts_with("arguments")),
            "{:?}", r.redacted_fields
        );
        let back: DecisionRecord = serde_json::from_str(&text).expect("a stored record reads back");
        prop_assert_eq!(back, r);
    }

    /// Redaction is total on any text and finds nothing more in its own output.
    #[test]
    fn redaction_is_total_and_idempotent(text in soup()) {
        if let Some(once) = redact_text(&text) {
            prop_assert!(once.contains(MARKER));
            prop_assert_eq!(redact_text(&once), None, "second pass changed `{}`", once);
        }
    }

    /// Secret commands redacted once are stable: redacting the stored fields again is a no-op.
    #[test]
    fn record_redaction_is_idempotent((line, _) in secret_command()) {
        let r = record(&Action::new(ActionType::ExecuteCommand, line.as_str()));
        let mut again = r.clone();
        cavra_core::redact::redact_record(&mut again);
        prop_assert_eq!(again, r);
    }
}

/// Records without secrets or the new optional fields serialise exactly as before they existed,
/// so hashes of records already stored do not change.
#[test]
fn records_without_secrets_keep_their_shape() {
    let r = record(&Action::new(ActionType::ExecuteCommand, "cargo test --workspace"));
    let value = serde_json::to_value(&r).expect("a record serialises");
    for field in ["arguments", "cwd", "justification", "redacted_fields"] {
        assert!(value.get(field).is_none(), "`{field}` appears in {value}");
    }
}

/// The action's `cwd`, MCP `arguments` and break-glass `justification` reach the record, and a
/// secret in any of them is listed by path; evaluation still saw the raw action.
#[test]
fn action_fields_are_kept_and_redacted() {
    let mut action = Action::new(ActionType::McpToolCall, "http:request");
    action.cwd = Some("/home/dev/repo".to_owned());
    action.actor = Some("alice@acme.test".to_owned());
    action.policy_mode = Some(cavra_core::Mode::BreakGlass);
    action.justification =
        Some("INC-1234: rotate with GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345".to_owned());
    action.arguments = json!({
        "url": "https://api.example.com",
        "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
        "body": {"password": "hunter2", "note": "x"},
    })
    .as_object()
    .cloned();
    let r = record(&action);
    assert_eq!(r.cwd.as_deref(), Some("/home/dev/repo"));
    assert_eq!(
        r.justification.as_deref(),
        Some("INC-1234: rotate with GITHUB_TOKEN=[REDACTED]")
    );
    let arguments = Value::Object(r.arguments.clone().expect("arguments are kept"));
    assert_eq!(arguments["headers"]["Authorization"], MARKER);
    assert_eq!(arguments["headers"]["Accept"], "application/json");
    assert_eq!(arguments["body"]["password"], MARKER);
    assert_eq!(arguments["body"]["note"], "x");
    assert_eq!(r.decision, cavra_core::Outcome::AllowWithAttestation);
    for field in [
        "arguments.headers.Authorization",
        "arguments.body.password",
        "reason",
        "justification",
    ] {
        assert!(
            r.redacted_fields.iter().any(|f| f == field),
            "{field} missing from {:?}",
            r.redacted_fields
        );
    }
    assert!(!stored(&r).contains("ghp_0123456789"), "{}", stored(&r));
}

/// A secret inside a compound command is redacted in `target` and in the `matched` part that
/// fired on it.
#[test]
fn matched_parts_are_redacted() {
    let line = "terraform plan && terraform apply -auto-approve -var db_password=hunter2 && mysql -uroot -phunter2 app";
    let r = record(&Action::new(ActionType::ExecuteCommand, line));
    assert_eq!(r.decision, cavra_core::Outcome::Block);
    let text = stored(&r);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(r.redacted_fields.iter().any(|f| f == "target"));
    let parts: Vec<&str> = r.matched.iter().map(|m| m.part.as_str()).collect();
    assert!(
        r.redacted_fields
            .iter()
            .any(|f| f.starts_with("matched[") && f.ends_with("].part")),
        "{:?} / {parts:?}",
        r.redacted_fields
    );
}

/// The lines of the acceptance corpus (ordinary agent actions) that hold a secret-looking value,
/// reviewed by hand: each assigns a value to a secret-named variable. Every other line's record
/// is stored exactly as built.
const CORPUS_LINES_WITH_SECRETS: &[&str] = &[
    // `API_KEY=x` written into `.env`: the value of a secret variable.
    "echo 'API_KEY=x' >> .env",
    // The same, into the example file: still a value assigned to an API key.
    "echo 'API_KEY=changeme' > .env.example",
];

/// The corpus's ordinary actions are left alone, except the reviewed lines above.
#[test]
fn corpus_is_mostly_untouched() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let mut total = 0;
    let mut redacted = Vec::new();
    for file in ["cavra.jsonl", "parity.jsonl"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("the corpus is readable");
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).expect("a corpus line is JSON");
            let mut action =
                Action::from_value(case["action"].clone()).unwrap_or_else(|e| panic!("{file}:{}: {e}", i + 1));
            if let Some(pack) = case["pack"].as_str() {
                action.policy_pack = Some(pack.to_owned());
            }
            total += 1;
            let r = record(&action);
            if !r.redacted_fields.is_empty() {
                println!(
                    "{file}:{}: `{}` -> `{}` {:?}",
                    i + 1,
                    action.target,
                    r.target,
                    r.redacted_fields
                );
                redacted.push(action.target.clone());
            }
        }
    }
    println!("corpus: {} of {total} records redacted", redacted.len());
    assert!(total >= 749, "the corpus shrank to {total}");
    let unexpected: Vec<&String> = redacted
        .iter()
        .filter(|t| !CORPUS_LINES_WITH_SECRETS.contains(&t.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "ordinary actions were redacted: {unexpected:#?}");
    assert!(redacted.len() <= CORPUS_LINES_WITH_SECRETS.len() * 2, "{redacted:#?}");
}
