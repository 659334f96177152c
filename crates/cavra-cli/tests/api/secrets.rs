//! Secrets in what a client posts (SPEC §6) are redacted before persistence, on every backend:
//! nothing the API answers afterwards contains them, and the record names what was redacted.

use serde_json::{Value, json};

use crate::helpers::{Backend, Server, StoreSpec};
use crate::schema;

/// Actions carrying a secret, the secret, and a field `redacted_fields` must name.
fn secret_actions() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        (
            json!({"action_type": "execute_command", "session_id": "leaky",
                   "target": "curl -H 'Authorization: Bearer ghp_R3dactM3Plz0123456789abcdefghijklmn' https://api.github.com/user"}),
            "ghp_R3dactM3Plz0123456789abcdefghijklmn",
            "target",
        ),
        (
            json!({"action_type": "execute_command", "session_id": "leaky",
                   "target": "PGPASSWORD=hunter2 psql -h db.internal -U app payments"}),
            "hunter2",
            "target",
        ),
        (
            json!({"action_type": "mcp_tool_call", "session_id": "leaky", "target": "github:create_issue",
                   "arguments": {"title": "bug", "api_key": "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"}}),
            "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
            "arguments.api_key",
        ),
    ]
}

/// The answer to `POST /decisions`, the stored record, the list and the session timeline contain
/// no secret; `redacted_fields` names each redacted field; the hash covers the redacted record.
#[expect(clippy::unwrap_used, reason = "a test helper: a failed assumption is a failed test")]
fn secrets_are_redacted(backend: Backend) {
    let Some(store) = StoreSpec::fresh(backend, &format!("secrets_are_redacted_on_{}", backend.name())) else {
        return;
    };
    let server = Server::start(store);
    let api = server.client();
    for (action, secret, field) in secret_actions() {
        let posted = api.post("/decisions", &action).expect(201);
        let id = posted["decision_id"].as_str().unwrap().to_owned();
        let stored = api.get(&format!("/decisions/{id}")).expect(200);
        for (what, body) in [("POST /decisions", &posted), ("GET /decisions/{id}", &stored)] {
            assert!(
                !body.to_string().contains(secret),
                "{what} still contains `{secret}`: {body}"
            );
            let redacted = body["redacted_fields"].as_array().cloned().unwrap_or_default();
            assert!(
                redacted.contains(&json!(field)),
                "{what}: `redacted_fields` does not name `{field}`: {body}"
            );
        }
        assert_eq!(posted, stored, "the stored record is the one answered");
        let record: cavra_core::DecisionRecord = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(
            stored["record_hash"].as_str(),
            Some(cavra_core::integrity::record_hash(&record).as_str()),
            "the hash does not cover the redacted record"
        );
    }
    for path in [
        "/decisions?session_id=leaky",
        "/sessions/leaky",
        "/sessions",
        "/metrics",
    ] {
        let text = api.get(path).text;
        for (_, secret, _) in secret_actions() {
            assert!(!text.contains(secret), "{path} contains `{secret}`");
        }
    }
    assert!(
        !secret_actions()
            .iter()
            .any(|(_, secret, _)| server.stderr().contains(secret)),
        "the server log contains a secret"
    );
    schema::assert_conforms(&server);
}

/// Secrets are redacted before the SQLite store keeps them.
#[test]
fn secrets_are_redacted_on_sqlite() {
    secrets_are_redacted(Backend::Sqlite);
}

/// Secrets are redacted before the JSON store keeps them.
#[test]
fn secrets_are_redacted_on_json() {
    secrets_are_redacted(Backend::Json);
}

/// Secrets are redacted before PostgreSQL keeps them.
#[test]
fn secrets_are_redacted_on_postgres() {
    secrets_are_redacted(Backend::Postgres);
}
