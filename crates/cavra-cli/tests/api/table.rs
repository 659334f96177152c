//! The table: one row per request a client can make of every endpoint — successes, and every
//! error case of SPEC §1 and §6 — each with the status and error `code` (or body fields) it must
//! get. Run against every backend by `activity.rs`, on a server that already holds the seed.
#![expect(clippy::panic, reason = "test helpers: a failed assumption is a failed test")]

use serde_json::{Value, json};

use crate::helpers::Client;

/// What a row must get back.
pub enum Want {
    /// An error: the status, the `error.code`, and texts the message must contain (e.g. the
    /// field it names).
    Error(u16, &'static str, &'static [&'static str]),
    /// A success: the status, and body fields by JSON pointer — `Some(v)`: equal to `v`,
    /// `None`: absent.
    Body(u16, Vec<(&'static str, Option<Value>)>),
}

/// One request and what it must get.
pub struct Row {
    method: &'static str,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
    want: Want,
}

fn row(method: &'static str, path: impl Into<String>, want: Want) -> Row {
    Row {
        method,
        path: path.into(),
        body: None,
        want,
    }
}

fn with_body(
    method: &'static str,
    path: &str,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
    want: Want,
) -> Row {
    Row {
        method,
        path: path.to_owned(),
        body: Some((content_type, body.into())),
        want,
    }
}

fn json_row(method: &'static str, path: &str, body: &str, want: Want) -> Row {
    with_body(method, path, "application/json", body, want)
}

fn error(status: u16, code: &'static str) -> Want {
    Want::Error(status, code, &[])
}

/// 400 `invalid_body` whose message names `field`.
fn bad_field(field: &'static [&'static str]) -> Want {
    Want::Error(400, "invalid_body", field)
}

fn bad_query(param: &'static [&'static str]) -> Want {
    Want::Error(400, "invalid_query", param)
}

/// A body just over the 64 KiB limit, otherwise a valid action.
fn oversized_action() -> Vec<u8> {
    let target = "x".repeat(70 * 1024);
    serde_json::to_vec(&json!({"action_type": "read_file", "target": target})).unwrap_or_default()
}

/// Every row. `decision_id` and `session_id` name a stored decision and session.
pub fn rows(decision_id: &str, session_id: &str, backend: &str) -> Vec<Row> {
    let ok_action = r#"{"action_type":"read_file","target":".env","session_id":"sess-table","agent_id":"table-agent"}"#;
    let mut rows = vec![
        // --- POST /decisions: successes ---
        json_row(
            "POST",
            "/decisions",
            ok_action,
            Want::Body(
                201,
                vec![
                    ("/decision", Some(json!("block"))),
                    ("/rule_id", Some(json!("secrets.read"))),
                    ("/session_id", Some(json!("sess-table"))),
                    ("/schema_version", Some(json!("cavra.decision.v1"))),
                ],
            ),
        ),
        with_body(
            "POST",
            "/decisions",
            "application/json; charset=utf-8",
            ok_action,
            Want::Body(201, vec![("/decision", Some(json!("block")))]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"git_operation","target":"main","session_id":"sess-table"}"#,
            Want::Body(
                201,
                vec![
                    ("/requested_operation", Some(json!("push"))),
                    ("/agent_id", Some(json!("unknown-agent"))),
                    ("/actor", Some(json!("ai-agent"))),
                    ("/repository", Some(json!("local"))),
                    ("/policy_pack", Some(json!("cavra-ai-agent-baseline"))),
                ],
            ),
        ),
        // --- POST /decisions: SPEC §1 errors ---
        json_row("POST", "/decisions", "{not json", error(400, "invalid_body")),
        json_row("POST", "/decisions", "", error(400, "invalid_body")),
        json_row("POST", "/decisions", "[]", error(400, "invalid_body")),
        json_row("POST", "/decisions", "null", error(400, "invalid_body")),
        json_row("POST", "/decisions", r#""read_file""#, error(400, "invalid_body")),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":"x"} {"again":1}"#,
            error(400, "invalid_body"),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file"}"#,
            bad_field(&["target"]),
        ),
        json_row("POST", "/decisions", r#"{"target":"x"}"#, bad_field(&["action_type"])),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"launch_missiles","target":"x"}"#,
            bad_field(&["action_type", "launch_missiles"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":42}"#,
            bad_field(&["target"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":"x","session_id":7}"#,
            bad_field(&["session_id"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":"x","agent_id":["a"]}"#,
            bad_field(&["agent_id"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":"x","colour":"red"}"#,
            bad_field(&["colour"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"mcp_tool_call","target":"s:t","arguments":"not an object"}"#,
            bad_field(&["arguments"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":"x","policy_mode":"yolo"}"#,
            bad_field(&["policy_mode"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":"x","policy_pack":"no-such-pack"}"#,
            Want::Error(404, "unknown_policy_pack", &["no-such-pack"]),
        ),
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"read_file","target":"x","policy_pack":"../../etc/passwd"}"#,
            Want::Error(404, "unknown_policy_pack", &["../../etc/passwd"]),
        ),
        with_body(
            "POST",
            "/decisions",
            "application/json",
            oversized_action(),
            error(413, "payload_too_large"),
        ),
        with_body(
            "POST",
            "/decisions",
            "text/plain",
            ok_action,
            error(415, "unsupported_media_type"),
        ),
        with_body(
            "POST",
            "/decisions",
            "application/x-www-form-urlencoded",
            "action_type=read_file&target=x",
            error(415, "unsupported_media_type"),
        ),
        with_body(
            "POST",
            "/decisions",
            "",
            ok_action,
            error(415, "unsupported_media_type"),
        ),
        // --- POST /evaluate ---
        json_row(
            "POST",
            "/evaluate",
            r#"{"action_type":"execute_command","target":"terraform plan && terraform apply -auto-approve"}"#,
            Want::Body(
                200,
                vec![
                    ("/decision", Some(json!("block"))),
                    ("/severity", Some(json!("critical"))),
                    ("/rule_id", Some(json!("iac.terraform-apply"))),
                    ("/sequence", None),
                    ("/record_hash", None),
                    ("/prev_hash", None),
                ],
            ),
        ),
        json_row("POST", "/evaluate", "{not json", error(400, "invalid_body")),
        json_row(
            "POST",
            "/evaluate",
            r#"{"action_type":"read_file"}"#,
            bad_field(&["target"]),
        ),
        json_row(
            "POST",
            "/evaluate",
            r#"{"action_type":"delete_everything","target":"/"}"#,
            bad_field(&["action_type"]),
        ),
        json_row(
            "POST",
            "/evaluate",
            r#"{"action_type":"read_file","target":"x","unknown":true}"#,
            bad_field(&["unknown"]),
        ),
        json_row(
            "POST",
            "/evaluate",
            r#"{"action_type":"read_file","target":"x","policy_pack":"nope"}"#,
            Want::Error(404, "unknown_policy_pack", &["nope"]),
        ),
        with_body(
            "POST",
            "/evaluate",
            "application/json",
            oversized_action(),
            error(413, "payload_too_large"),
        ),
        with_body(
            "POST",
            "/evaluate",
            "text/plain",
            ok_action,
            error(415, "unsupported_media_type"),
        ),
        // --- GET /decisions: bad filter values ---
        row("GET", "/decisions?decision=blok", bad_query(&["decision", "blok"])),
        row("GET", "/decisions?severity=x", bad_query(&["severity"])),
        row("GET", "/decisions?severity=CRITICAL", bad_query(&["severity"])),
        row("GET", "/decisions?action_type=x", bad_query(&["action_type"])),
        row("GET", "/decisions?limit=-1", bad_query(&["limit"])),
        row("GET", "/decisions?limit=abc", bad_query(&["limit"])),
        row("GET", "/decisions?limit=1.5", bad_query(&["limit"])),
        row("GET", "/decisions?limit=99999999999999999999999", bad_query(&["limit"])),
        row("GET", "/decisions?offset=-1", bad_query(&["offset"])),
        row("GET", "/decisions?offset=abc", bad_query(&["offset"])),
        row("GET", "/decisions?since=yesterday", bad_query(&["since"])),
        row("GET", "/decisions?until=2026-13-45T00:00:00Z", bad_query(&["until"])),
        row(
            "GET",
            "/decisions?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            bad_query(&["since"]),
        ),
        row("GET", "/decisions?cursor=zzz", bad_query(&["cursor"])),
        row("GET", "/decisions?cursor=c", bad_query(&["cursor"])),
        row("GET", "/decisions?cursor=", bad_query(&["cursor"])),
        row("GET", "/decisions?reposiotry=acme", bad_query(&["reposiotry"])),
        row("GET", "/decisions?state=active", bad_query(&["state"])),
        row("GET", "/decisions?limit=1&limit=2", bad_query(&["limit"])),
        row("GET", "/decisions?session_id=", bad_query(&["session_id"])),
        row("GET", "/decisions?session_id=a%00b", bad_query(&["session_id"])),
        // --- GET /decisions: successes the table can state ---
        row(
            "GET",
            "/decisions?repository=acme%2Fnowhere",
            Want::Body(200, vec![("/total", Some(json!(0))), ("/items", Some(json!([])))]),
        ),
        row(
            "GET",
            "/decisions?limit=0",
            Want::Body(200, vec![("/limit", Some(json!(1))), ("/offset", Some(json!(0)))]),
        ),
        row(
            "GET",
            "/decisions?limit=10000",
            Want::Body(200, vec![("/limit", Some(json!(500)))]),
        ),
        row(
            "GET",
            "/decisions?cursor=c1",
            Want::Body(200, vec![("/items", Some(json!([]))), ("/next_cursor", None)]),
        ),
        row(
            "GET",
            "/decisions?since=2099-01-01T00:00:00Z",
            Want::Body(200, vec![("/total", Some(json!(0)))]),
        ),
        // --- GET /decisions/{id} ---
        row(
            "GET",
            format!("/decisions/{decision_id}"),
            Want::Body(200, vec![("/decision_id", Some(json!(decision_id)))]),
        ),
        row(
            "GET",
            "/decisions/dec_00000000000000000000000000",
            error(404, "not_found"),
        ),
        row("GET", "/decisions/..%2F..%2Fetc%2Fpasswd", error(404, "not_found")),
        // --- GET /sessions ---
        row("GET", "/sessions?state=paused", bad_query(&["state"])),
        row("GET", "/sessions?limit=-1", bad_query(&["limit"])),
        row("GET", "/sessions?limit=abc", bad_query(&["limit"])),
        row("GET", "/sessions?offset=x", bad_query(&["offset"])),
        row("GET", "/sessions?decision=block", bad_query(&["decision"])),
        row("GET", "/sessions?cursor=c1", bad_query(&["cursor"])),
        row("GET", "/sessions?agent_id=", bad_query(&["agent_id"])),
        row(
            "GET",
            "/sessions?limit=0",
            Want::Body(200, vec![("/limit", Some(json!(1)))]),
        ),
        row(
            "GET",
            "/sessions?limit=10000",
            Want::Body(200, vec![("/limit", Some(json!(500)))]),
        ),
        row(
            "GET",
            "/sessions?agent_id=nobody",
            Want::Body(200, vec![("/total", Some(json!(0))), ("/items", Some(json!([])))]),
        ),
        // --- GET /sessions/{id} ---
        row(
            "GET",
            format!("/sessions/{session_id}"),
            Want::Body(200, vec![("/session_id", Some(json!(session_id)))]),
        ),
        row("GET", "/sessions/no-such-session", error(404, "not_found")),
        // --- POST /sessions ---
        json_row(
            "POST",
            "/sessions",
            r#"{"session_id":"sess-table-new","agent_id":"table-agent","repository":"acme/table"}"#,
            Want::Body(
                201,
                vec![
                    ("/session_id", Some(json!("sess-table-new"))),
                    ("/state", Some(json!("active"))),
                    ("/decision_count", Some(json!(0))),
                    ("/repository", Some(json!("acme/table"))),
                ],
            ),
        ),
        json_row(
            "POST",
            "/sessions",
            r#"{"session_id":"sess-table-new","state":"completed"}"#,
            Want::Body(
                200,
                vec![
                    ("/state", Some(json!("completed"))),
                    ("/agent_id", Some(json!("table-agent"))),
                ],
            ),
        ),
        json_row(
            "POST",
            "/sessions",
            &format!(r#"{{"session_id":"{session_id}","decision_count":0,"blocked_count":0}}"#),
            bad_field(&["decision_count"]),
        ),
        json_row(
            "POST",
            "/sessions",
            r#"{"session_id":"sess-table-new","outcome_counts":{"block":99}}"#,
            bad_field(&["outcome_counts"]),
        ),
        json_row(
            "POST",
            "/sessions",
            r#"{"state":"completed"}"#,
            bad_field(&["session_id"]),
        ),
        json_row("POST", "/sessions", r#"{"session_id":""}"#, bad_field(&["session_id"])),
        json_row("POST", "/sessions", r#"{"session_id":5}"#, bad_field(&["session_id"])),
        json_row(
            "POST",
            "/sessions",
            r#"{"session_id":"sess-table-new","state":"paused"}"#,
            bad_field(&["state"]),
        ),
        json_row("POST", "/sessions", "{not json", error(400, "invalid_body")),
        with_body(
            "POST",
            "/sessions",
            "text/plain",
            r#"{"session_id":"x"}"#,
            error(415, "unsupported_media_type"),
        ),
        with_body(
            "POST",
            "/sessions",
            "application/json",
            serde_json::to_vec(&json!({"session_id": "x".repeat(70 * 1024)})).unwrap_or_default(),
            error(413, "payload_too_large"),
        ),
        // --- policy packs ---
        row(
            "GET",
            "/policy-packs/terraform-prod",
            Want::Body(200, vec![("/id", Some(json!("terraform-prod")))]),
        ),
        row(
            "GET",
            "/policy-packs/no-such-pack",
            Want::Error(404, "unknown_policy_pack", &["no-such-pack"]),
        ),
        row("GET", "/policy-packs/..%2Fstrict", error(404, "unknown_policy_pack")),
        // --- system ---
        row(
            "GET",
            "/health",
            Want::Body(
                200,
                vec![("/status", Some(json!("ok"))), ("/store", Some(json!(backend)))],
            ),
        ),
        row(
            "GET",
            "/version",
            Want::Body(
                200,
                vec![
                    ("/name", Some(json!("cavra"))),
                    ("/schema_version", Some(json!("cavra.decision.v1"))),
                    ("/store", Some(json!(backend))),
                ],
            ),
        ),
        row(
            "GET",
            "/openapi.json",
            Want::Body(200, vec![("/info/title", Some(json!("cavra")))]),
        ),
        // --- unknown routes: JSON 404 ---
        row("GET", "/", error(404, "not_found")),
        row("GET", "/nope", error(404, "not_found")),
        row("POST", "/nope", error(404, "not_found")),
        row("GET", "/decisions/x/y", error(404, "not_found")),
        row("GET", "/policy-pack", error(404, "not_found")),
        row("GET", "/DECISIONS", error(404, "not_found")),
        // --- wrong methods: JSON 405 ---
        row("DELETE", "/decisions", error(405, "method_not_allowed")),
        row("PUT", "/decisions", error(405, "method_not_allowed")),
        row(
            "DELETE",
            format!("/decisions/{decision_id}"),
            error(405, "method_not_allowed"),
        ),
        row(
            "POST",
            format!("/decisions/{decision_id}"),
            error(405, "method_not_allowed"),
        ),
        row("GET", "/evaluate", error(405, "method_not_allowed")),
        row("PUT", "/sessions", error(405, "method_not_allowed")),
        row(
            "PATCH",
            format!("/sessions/{session_id}"),
            error(405, "method_not_allowed"),
        ),
        row("POST", "/policy-packs", error(405, "method_not_allowed")),
        row("DELETE", "/policy-packs/strict", error(405, "method_not_allowed")),
        row("POST", "/health", error(405, "method_not_allowed")),
        row("POST", "/version", error(405, "method_not_allowed")),
        row("POST", "/metrics", error(405, "method_not_allowed")),
        row("POST", "/openapi.json", error(405, "method_not_allowed")),
        // --- POST /outcomes: a decision made with a tool-use id, then its outcome ---
        json_row(
            "POST",
            "/decisions",
            r#"{"action_type":"execute_command","target":"cargo test","session_id":"sess-table","tool_use_id":"toolu_table"}"#,
            Want::Body(201, vec![("/tool_use_id", Some(json!("toolu_table")))]),
        ),
        json_row(
            "POST",
            "/outcomes",
            r#"{"session_id":"sess-table","tool_use_id":"toolu_table","status":"failed"}"#,
            Want::Body(
                201,
                vec![
                    ("/status", Some(json!("failed"))),
                    ("/tool_use_id", Some(json!("toolu_table"))),
                ],
            ),
        ),
        json_row(
            "POST",
            "/outcomes",
            r#"{"session_id":"sess-table","tool_use_id":"toolu_table","status":"succeeded"}"#,
            Want::Body(200, vec![("/status", Some(json!("failed")))]),
        ),
        json_row(
            "POST",
            "/outcomes",
            r#"{"session_id":"sess-table","tool_use_id":"toolu_nope","status":"succeeded"}"#,
            error(404, "not_found"),
        ),
        json_row(
            "POST",
            "/outcomes",
            r#"{"session_id":"sess-table","tool_use_id":"toolu_table","status":"maybe"}"#,
            bad_field(&["status"]),
        ),
        json_row(
            "POST",
            "/outcomes",
            r#"{"session_id":"sess-table","status":"failed"}"#,
            bad_field(&["tool_use_id"]),
        ),
        json_row(
            "POST",
            "/outcomes",
            r#"{"session_id":"","tool_use_id":"t","status":"failed"}"#,
            bad_field(&["session_id"]),
        ),
        json_row(
            "POST",
            "/outcomes",
            r#"{"session_id":"s","tool_use_id":"t","status":"failed","colour":1}"#,
            bad_field(&["colour"]),
        ),
        row(
            "GET",
            format!("/decisions/{decision_id}/outcome"),
            error(404, "not_found"),
        ),
        row("GET", "/outcomes", error(405, "method_not_allowed")),
    ];
    // Every filter value of the wrong kind, for each enum filter, once more in combination with
    // valid ones: a valid filter must not hide an invalid one.
    for path in [
        "/decisions?repository=acme%2Fpayments&decision=nope",
        "/decisions?session_id=sess-alpha&limit=ten",
    ] {
        rows.push(row("GET", path, error(400, "invalid_query")));
    }
    rows
}

/// Runs every row with `client`; panics listing every row that got something else.
pub fn run(client: &Client, rows: &[Row]) {
    let mut failures = Vec::new();
    for r in rows {
        let reply = match client.try_send(r.method, &r.path, r.body.clone()) {
            Ok(reply) => reply,
            Err(e) => {
                failures.push(format!("  {} {}: no answer: {e}", r.method, r.path));
                continue;
            }
        };
        let body: Option<Value> = serde_json::from_str(&reply.text).ok();
        let got = format!("{} {}", reply.status, reply.text.chars().take(300).collect::<String>());
        let problem = match &r.want {
            Want::Error(status, code, mentions) => {
                let message = body.as_ref().and_then(|b| b["error"]["message"].as_str()).unwrap_or("");
                let code_got = body.as_ref().and_then(|b| b["error"]["code"].as_str()).unwrap_or("");
                if reply.status != *status || code_got != *code {
                    Some(format!("want {status} `{code}`"))
                } else {
                    mentions
                        .iter()
                        .find(|m| !message.contains(*m))
                        .map(|m| format!("want the message to mention `{m}`"))
                }
            }
            Want::Body(status, fields) => {
                if reply.status != *status {
                    Some(format!("want {status}"))
                } else if let Some(body) = &body {
                    fields.iter().find_map(|(pointer, want)| {
                        let found = body.pointer(pointer);
                        match (want, found) {
                            (Some(w), Some(f)) if w == f => None,
                            (None, None) => None,
                            (Some(w), _) => Some(format!("want `{pointer}` = {w}, got {found:?}")),
                            (None, Some(f)) => Some(format!("want no `{pointer}`, got {f}")),
                        }
                    })
                } else {
                    Some("want a JSON body".to_owned())
                }
            }
        };
        if let Some(p) = problem {
            failures.push(format!("  {} {}: {p}; got {got}", r.method, r.path));
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} table rows failed:\n{}",
            failures.len(),
            rows.len(),
            failures.join("\n")
        );
    }
}
