//! Issue 14, item 7 — modes are not the agent's (SPEC §3): an agent token, or anyone on a server
//! without tokens, that sends `policy_mode` or break-glass's `justification` gets 403
//! `forbidden_field` naming it and nothing is stored; an admin token may choose; the server's
//! `--policy-mode` and a mode an admin binds to an agent token apply instead of the pack's.
#![expect(clippy::unwrap_used, reason = "tests: a failed assumption is a failed test")]

use serde_json::{Value, json};

use crate::helpers::{Client, Home, Server, StoreSpec};
use crate::schema;

/// `total` of `GET path` (decisions or sessions), as `reader` sees it.
fn total(reader: &Client, path: &str) -> u64 {
    reader.get(path).expect(200)["total"].as_u64().unwrap()
}

/// Posts `body` to `/decisions` and `/evaluate` and expects both refused with 403
/// `forbidden_field` whose message names `field` and contains `hint`.
fn expect_refused(client: &Client, body: &Value, field: &str, hint: &str) {
    for path in ["/decisions", "/evaluate"] {
        let message = client.post(path, body).expect_error(403, "forbidden_field");
        assert!(
            message.contains(&format!("`{field}`")) && message.contains(hint),
            "POST {path} {body}: the message does not name `{field}` or say `{hint}`: {message}"
        );
    }
}

/// An agent token that sends `policy_mode` (any mode) is refused naming the field, on both
/// POST endpoints, and no decision or session is stored.
#[test]
fn an_agent_token_cannot_choose_its_mode() {
    let home = Home::new();
    let agent = home.create_token("agent", Some("a1"));
    let admin = home.create_token("admin", None);
    let server = Server::start_in(home, StoreSpec::Sqlite, "127.0.0.1:0");
    let (agent, admin) = (server.client_as(&agent), server.client_as(&admin));
    let before = (total(&admin, "/decisions"), total(&admin, "/sessions"));
    for mode in ["audit_only", "break_glass", "enforce", "strict"] {
        let body = json!({"action_type": "execute_command", "target": "rm -rf /", "session_id": "s-agent",
                          "policy_mode": mode});
        expect_refused(&agent, &body, "policy_mode", "an agent never chooses its own mode");
    }
    assert_eq!(
        (total(&admin, "/decisions"), total(&admin, "/sessions")),
        before,
        "a refused request stored a decision or claimed a session"
    );
    schema::assert_conforms(&server);
}

/// An agent token that sends break-glass's `justification` — alone, or with an `actor` and
/// `policy_mode: break_glass` — is refused naming a break-glass field, and nothing is stored.
#[test]
fn an_agent_token_cannot_break_the_glass() {
    let home = Home::new();
    let agent = home.create_token("agent", Some("a1"));
    let admin = home.create_token("admin", None);
    let server = Server::start_in(home, StoreSpec::Sqlite, "127.0.0.1:0");
    let (agent, admin) = (server.client_as(&agent), server.client_as(&admin));
    let before = total(&admin, "/decisions");
    let alone = json!({"action_type": "execute_command", "target": "terraform apply",
                       "actor": "oncall@acme.example", "justification": "INC-7"});
    expect_refused(&agent, &alone, "justification", "break-glass is granted by a person");
    let full = json!({"action_type": "execute_command", "target": "terraform apply", "policy_mode": "break_glass",
                      "actor": "oncall@acme.example", "justification": "INC-7"});
    expect_refused(&agent, &full, "policy_mode", "admin token");
    assert_eq!(
        total(&admin, "/decisions"),
        before,
        "a refused request stored a decision"
    );
    // The same agent without those fields is decided as usual.
    let ok = agent
        .post(
            "/decisions",
            &json!({"action_type": "execute_command", "target": "terraform apply",
                                    "actor": "oncall@acme.example"}),
        )
        .expect(201);
    assert_eq!(
        (&ok["mode"], &ok["actor"]),
        (&json!("enforce"), &json!("oncall@acme.example"))
    );
}

/// An admin token may name a mode and grant break-glass: its requests are decided in that mode
/// and stored with it.
#[test]
fn an_admin_token_may_choose_the_mode() {
    let home = Home::new();
    let admin = home.create_token("admin", None);
    let server = Server::start_in(home, StoreSpec::Sqlite, "127.0.0.1:0");
    let admin = server.client_as(&admin);
    let audit = admin
        .post(
            "/decisions",
            &json!({"action_type": "read_file", "target": ".env", "policy_mode": "audit_only"}),
        )
        .expect(201);
    assert_eq!(
        (&audit["decision"], &audit["mode"]),
        (&json!("audit_only"), &json!("audit_only"))
    );
    let glass = admin
        .post(
            "/decisions",
            &json!({"action_type": "execute_command", "target": "terraform apply", "policy_mode": "break_glass",
                    "actor": "oncall@acme.example", "justification": "incident INC-7"}),
        )
        .expect(201);
    assert_eq!(
        (&glass["decision"], &glass["mode"], &glass["justification"]),
        (
            &json!("allow_with_attestation"),
            &json!("break_glass"),
            &json!("incident INC-7")
        )
    );
    schema::assert_conforms(&server);
}

/// A server without tokens cannot tell a person from the agent's hook, so it fails closed:
/// `policy_mode` and `justification` are refused from every caller (pointing at
/// `--policy-mode`), while a request without them is decided as usual.
#[test]
fn a_tokenless_server_takes_no_mode_from_a_request() {
    let server = Server::start(StoreSpec::Sqlite);
    let local = server.client();
    let body = json!({"action_type": "read_file", "target": ".env", "policy_mode": "audit_only"});
    expect_refused(&local, &body, "policy_mode", "cavra serve --policy-mode");
    let body = json!({"action_type": "read_file", "target": ".env", "justification": "INC-7"});
    expect_refused(&local, &body, "justification", "no API tokens");
    assert_eq!(total(&local, "/decisions"), 0, "a refused request stored a decision");
    let plain = local
        .post("/decisions", &json!({"action_type": "read_file", "target": ".env"}))
        .expect(201);
    assert_eq!(plain["decision"], "block");
    schema::assert_conforms(&server);
}

/// `cavra serve --policy-mode audit_only` decides every request in `audit_only` instead of the
/// pack's `enforce`, on both POST endpoints, and the stored record says so.
#[test]
fn the_servers_mode_applies_to_every_decision() {
    let server = Server::start_with(Home::new(), StoreSpec::Sqlite, &["--policy-mode", "audit_only"]);
    let api = server.client();
    let action = json!({"action_type": "execute_command", "target": "rm -rf /", "session_id": "s-audit"});
    for (path, status) in [("/evaluate", 200), ("/decisions", 201)] {
        let r = api.post(path, &action).expect(status);
        assert_eq!(
            (&r["decision"], &r["mode"]),
            (&json!("audit_only"), &json!("audit_only")),
            "{path}"
        );
        assert!(
            r["matched"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["decision"] == "block"),
            "{path}: the enforced verdict is kept in `matched`: {r}"
        );
    }
    let stored = api.get("/decisions?session_id=s-audit").expect(200);
    assert_eq!(stored["items"][0]["mode"], "audit_only");
}

/// A mode an admin binds to an agent token (`cavra token create --policy-mode strict`) comes
/// before the server's; an agent token without one gets the server's; an admin's `policy_mode`
/// in the request comes before both.
#[test]
fn a_token_bound_mode_comes_before_the_servers() {
    let home = Home::new();
    let strict = home.create_token_with("agent", Some("careful"), &["--policy-mode", "strict"]);
    let plain = home.create_token("agent", Some("plain"));
    let admin = home.create_token("admin", None);
    let server = Server::start_with(home, StoreSpec::Sqlite, &["--policy-mode", "audit_only"]);
    let ls = |session: &str| json!({"action_type": "execute_command", "target": "ls", "session_id": session});
    let r = server
        .client_as(&strict)
        .post("/decisions", &ls("s-careful"))
        .expect(201);
    assert_eq!(
        (&r["decision"], &r["mode"]),
        (&json!("require_approval"), &json!("strict"))
    );
    // An allowed action stays `allow` in audit_only; the mode is what shows which applied.
    let r = server.client_as(&plain).post("/decisions", &ls("s-plain")).expect(201);
    assert_eq!((&r["decision"], &r["mode"]), (&json!("allow"), &json!("audit_only")));
    let mut enforce = json!({"action_type": "read_file", "target": ".env", "policy_mode": "enforce"});
    let r = server.client_as(&admin).post("/decisions", &enforce).expect(201);
    assert_eq!((&r["decision"], &r["mode"]), (&json!("block"), &json!("enforce")));
    enforce.as_object_mut().unwrap().remove("policy_mode");
    let r = server.client_as(&admin).post("/decisions", &enforce).expect(201);
    assert_eq!(
        r["mode"], "audit_only",
        "without one, the admin's request gets the server's mode"
    );
}

/// `break_glass` is never configuration: `cavra serve --policy-mode break_glass` does not start,
/// and no token is created with it; nor is a mode bound to a non-agent token.
#[test]
fn break_glass_is_never_a_standing_mode() {
    let failed = Server::try_start_with(
        Home::new(),
        StoreSpec::Sqlite,
        "127.0.0.1:0",
        &["--policy-mode", "break_glass"],
    )
    .err()
    .unwrap_or_else(|| panic!("cavra serve started with --policy-mode break_glass"));
    assert!(failed.stderr.contains("break_glass"), "{}", failed.stderr);
    let home = Home::new();
    let file = home.tokens_file();
    let file = file.to_str().unwrap();
    for args in [
        ["--role", "agent", "--agent-id", "a1", "--policy-mode", "break_glass"],
        ["--role", "admin", "--name", "ops", "--policy-mode", "audit_only"],
    ] {
        let mut all = vec!["token", "create", "--tokens-file", file];
        all.extend(args);
        let out = home.cavra(&all);
        assert!(!out.status.success(), "{args:?} created a token");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--policy-mode")
                || String::from_utf8_lossy(&out.stderr).contains("break_glass"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!home.tokens_file().exists(), "a refused token was written");
}
