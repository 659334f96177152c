//! Access control through the real binary: the role matrix over every endpoint, agent tokens
//! bound to their agent, refusing to listen beyond loopback without tokens, and revocation
//! taking effect while the server runs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, Home, Reply, Server, StoreSpec, eventually};
use crate::schema;

/// Who calls, in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    WrongToken,
    Agent,
    Reviewer,
    Admin,
}

const CALLERS: [Caller; 5] = [
    Caller::Nobody,
    Caller::WrongToken,
    Caller::Agent,
    Caller::Reviewer,
    Caller::Admin,
];

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, without a token.
    Open,
    /// Agents and admins.
    Decide,
    /// Reviewers and admins.
    Read,
}

/// One endpoint of the matrix: method, path, body, who may, and the status when allowed.
struct Endpoint {
    method: &'static str,
    path: String,
    body: Option<Value>,
    access: Access,
    ok: u16,
}

fn endpoint(method: &'static str, path: impl Into<String>, body: Option<Value>, access: Access, ok: u16) -> Endpoint {
    Endpoint {
        method,
        path: path.into(),
        body,
        access,
        ok,
    }
}

/// Tokens for each role on a loopback SQLite server, the agent one bound to agent `a1`.
struct Tokens {
    agent: crate::helpers::Token,
    reviewer: crate::helpers::Token,
    admin: crate::helpers::Token,
}

fn server_with_tokens() -> (Server, Tokens) {
    let home = Home::new();
    let tokens = Tokens {
        agent: home.create_token("agent", Some("a1")),
        reviewer: home.create_token("reviewer", None),
        admin: home.create_token("admin", None),
    };
    (Server::start_in(home, StoreSpec::Sqlite, "127.0.0.1:0"), tokens)
}

/// Every endpoint × {no token, wrong token, agent, reviewer, admin}: 401 without a valid token,
/// 403 for a role that may not, the endpoint's success status otherwise; `/health`, `/version`
/// and `/openapi.json` are open to all.
#[test]
fn auth_matrix() {
    let (server, tokens) = server_with_tokens();
    let admin = server.client_as(&tokens.admin);
    let stored = admin
        .post(
            "/decisions",
            &json!({"action_type": "read_file", "target": ".env", "session_id": "matrix", "agent_id": "a1"}),
        )
        .expect(201);
    let decision_id = stored["decision_id"].as_str().unwrap().to_owned();
    let action = json!({"action_type": "read_file", "target": "README.md", "session_id": "matrix", "agent_id": "a1"});
    let ran = admin
        .post(
            "/decisions",
            &json!({"action_type": "read_file", "target": "README.md", "session_id": "matrix", "agent_id": "a1",
                    "tool_use_id": "toolu_matrix"}),
        )
        .expect(201);
    let ran_id = ran["decision_id"].as_str().unwrap().to_owned();
    // Recorded once here, so every allowed caller below gets the same outcome back (200).
    let outcome = json!({"session_id": "matrix", "tool_use_id": "toolu_matrix", "status": "succeeded"});
    admin.post("/outcomes", &outcome).expect(201);
    let mut failures = Vec::new();
    let mut cells = 0;
    for caller in CALLERS {
        let client = match caller {
            Caller::Nobody => server.client(),
            Caller::WrongToken => server.client_with(&format!("Bearer cavra_{}", "0".repeat(64))),
            Caller::Agent => server.client_as(&tokens.agent),
            Caller::Reviewer => server.client_as(&tokens.reviewer),
            Caller::Admin => server.client_as(&tokens.admin),
        };
        // A new session per caller, so that each allowed `POST /sessions` creates one (201).
        let session = json!({"session_id": format!("matrix-{caller:?}").to_lowercase()});
        let endpoints = [
            endpoint("POST", "/decisions", Some(action.clone()), Access::Decide, 201),
            endpoint("POST", "/evaluate", Some(action.clone()), Access::Decide, 200),
            endpoint("POST", "/sessions", Some(session), Access::Decide, 201),
            endpoint("GET", "/decisions", None, Access::Read, 200),
            endpoint("GET", "/decisions?decision=block", None, Access::Read, 200),
            endpoint("GET", format!("/decisions/{decision_id}"), None, Access::Read, 200),
            endpoint("POST", "/outcomes", Some(outcome.clone()), Access::Decide, 200),
            endpoint("GET", format!("/decisions/{ran_id}/outcome"), None, Access::Read, 200),
            endpoint("GET", "/sessions", None, Access::Read, 200),
            endpoint("GET", "/sessions/matrix", None, Access::Read, 200),
            endpoint("GET", "/policy-packs", None, Access::Read, 200),
            endpoint("GET", "/policy-packs/strict", None, Access::Read, 200),
            endpoint("GET", "/metrics", None, Access::Read, 200),
            endpoint("GET", "/health", None, Access::Open, 200),
            endpoint("GET", "/version", None, Access::Open, 200),
            endpoint("GET", "/openapi.json", None, Access::Open, 200),
        ];
        for e in endpoints {
            let (want, code) = match (e.access, caller) {
                (Access::Open, _) => (e.ok, None),
                (_, Caller::Nobody | Caller::WrongToken) => (401, Some("unauthorized")),
                (Access::Decide, Caller::Agent | Caller::Admin) | (Access::Read, Caller::Reviewer | Caller::Admin) => {
                    (e.ok, None)
                }
                _ => (403, Some("forbidden")),
            };
            let reply = match &e.body {
                Some(body) => client.post(&e.path, body),
                None => client.send(e.method, &e.path, None),
            };
            cells += 1;
            let code_got = serde_json::from_str::<Value>(&reply.text)
                .ok()
                .and_then(|b| b["error"]["code"].as_str().map(str::to_owned));
            if reply.status != want || code.is_some_and(|c| code_got.as_deref() != Some(c)) {
                failures.push(format!(
                    "  {caller:?} {} {}: want {want} {code:?}, got {} {}",
                    e.method, e.path, reply.status, reply.text
                ));
            }
            if reply.status == 401 && reply.www_authenticate.as_deref() != Some("Bearer realm=\"cavra\"") {
                failures.push(format!(
                    "  {caller:?} {} {}: a 401 without `WWW-Authenticate: Bearer`",
                    e.method, e.path
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells of the auth matrix are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    schema::assert_conforms(&server);
}

/// A malformed `Authorization` header is a 401, never a pass or a 5xx.
#[test]
fn malformed_authorization_is_refused() {
    let (server, tokens) = server_with_tokens();
    for header in [
        String::new(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Basic {}", tokens.admin.secret),
        tokens.admin.secret.clone(),
        format!("Bearer {}x", tokens.admin.secret),
        format!("Bearer {}", &tokens.admin.secret[..tokens.admin.secret.len() - 1]),
        format!("Bearer {}", tokens.admin.secret.to_uppercase()),
    ] {
        let reply = server.client_with(&header).get("/decisions");
        assert_eq!(
            reply.status, 401,
            "`Authorization: {header}` answered {}: {}",
            reply.status, reply.text
        );
    }
    assert_eq!(server.client_as(&tokens.admin).get("/decisions").status, 200);
    schema::assert_conforms(&server);
}

/// An agent token acts for its own agent only: another `agent_id` in an action or a session
/// update is 403, a session of another agent cannot be changed, and an action without an
/// `agent_id` is recorded for the token's agent.
#[test]
fn agent_tokens_act_for_their_own_agent() {
    let (server, tokens) = server_with_tokens();
    let agent = server.client_as(&tokens.agent);
    let admin = server.client_as(&tokens.admin);
    let other = json!({"action_type": "read_file", "target": "README.md", "session_id": "a1-own", "agent_id": "a2"});
    agent.post("/decisions", &other).expect_error(403, "forbidden");
    agent.post("/evaluate", &other).expect_error(403, "forbidden");
    agent
        .post("/sessions", &json!({"session_id": "a1-new", "agent_id": "a2"}))
        .expect_error(403, "forbidden");
    admin.get("/sessions/a1-own").expect_error(404, "not_found");
    admin.get("/sessions/a1-new").expect_error(404, "not_found");

    let own = agent
        .post(
            "/decisions",
            &json!({"action_type": "read_file", "target": "README.md", "session_id": "a1-own"}),
        )
        .expect(201);
    assert_eq!(
        own["agent_id"], "a1",
        "an action without agent_id acts for the token's agent"
    );
    let dry = agent
        .post("/evaluate", &json!({"action_type": "read_file", "target": "README.md"}))
        .expect(200);
    assert_eq!(dry["agent_id"], "a1");
    let created = agent.post("/sessions", &json!({"session_id": "a1-new"})).expect(201);
    assert_eq!(created["agent_id"], "a1");
    agent
        .post(
            "/sessions",
            &json!({"session_id": "a1-new", "state": "completed", "agent_id": "a1"}),
        )
        .expect(200);

    admin
        .post("/sessions", &json!({"session_id": "owned-by-a2", "agent_id": "a2"}))
        .expect(201);
    agent
        .post("/sessions", &json!({"session_id": "owned-by-a2", "state": "archived"}))
        .expect_error(403, "forbidden");
    let unchanged = admin.get("/sessions/owned-by-a2").expect(200);
    assert_eq!(
        (unchanged["state"].as_str(), unchanged["agent_id"].as_str()),
        (Some("active"), Some("a2"))
    );
    schema::assert_conforms(&server);
}

/// An agent token cannot write decisions into another agent's session either: that would change
/// the session's agent and extend its chain.
#[test]
fn agent_tokens_cannot_write_into_another_agents_session() {
    let (server, tokens) = server_with_tokens();
    let agent = server.client_as(&tokens.agent);
    let admin = server.client_as(&tokens.admin);
    admin
        .post(
            "/decisions",
            &json!({"action_type": "read_file", "target": "README.md", "session_id": "owned-by-a2", "agent_id": "a2"}),
        )
        .expect(201);
    agent
        .post(
            "/decisions",
            &json!({"action_type": "read_file", "target": "README.md", "session_id": "owned-by-a2"}),
        )
        .expect_error(403, "forbidden");
    let session = admin.get("/sessions/owned-by-a2").expect(200);
    assert_eq!(session["agent_id"], "a2");
    assert_eq!(session["decision_count"], 1);
    schema::assert_conforms(&server);
}

/// An agent's first decision in a session that the append would refuse (a NUL in `actor` or
/// `repository`) is refused before the session is claimed: no empty session is left behind.
#[test]
fn a_refused_first_decision_claims_no_session() {
    let (server, tokens) = server_with_tokens();
    let agent = server.client_as(&tokens.agent);
    let admin = server.client_as(&tokens.admin);
    for (field, session) in [("actor", "nul-actor"), ("repository", "nul-repository")] {
        let mut action = json!({"action_type": "read_file", "target": "README.md", "session_id": session});
        action[field] = json!("x\u{0}y");
        let message = agent.post("/decisions", &action).expect_error(400, "invalid_request");
        assert!(message.contains(field), "{message}");
        admin
            .get(&format!("/sessions/{session}"))
            .expect_error(404, "not_found");
    }
}

/// Two agents racing to open the same session: exactly one gets in, whatever the store. Each
/// round, agent tokens `a1` and `a2` post the first decision of a new session (or `a2` creates it
/// with a state change) at the same instant; the other is refused, and the session holds one
/// agent's decisions only. Checking the owner and then writing, as before, let both through.
fn racing_agents_cannot_share_a_session(backend: Backend) {
    let Some(store) = StoreSpec::fresh(backend, "racing_agents") else {
        return;
    };
    let home = Home::new();
    let (a1, a2) = (
        home.create_token("agent", Some("a1")),
        home.create_token("agent", Some("a2")),
    );
    let admin = home.create_token("admin", None);
    let server = Server::start_in(home, store, "127.0.0.1:0");
    let clients = [server.client_as(&a1), server.client_as(&a2)];
    let admin = server.client_as(&admin);
    for round in 0..24 {
        let session = format!("race-{round}");
        let start = std::sync::Barrier::new(2);
        let replies: Vec<Reply> = std::thread::scope(|scope| {
            let racers: Vec<_> = clients
                .iter()
                .enumerate()
                .map(|(i, client)| {
                    let (start, session) = (&start, &session);
                    scope.spawn(move || {
                        start.wait();
                        if i == 1 && round % 3 == 2 {
                            client.post("/sessions", &json!({"session_id": session, "state": "archived"}))
                        } else {
                            client.post(
                                "/decisions",
                                &json!({"action_type": "read_file", "target": "README.md", "session_id": session}),
                            )
                        }
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let won: Vec<usize> = (0..2).filter(|&i| replies[i].status < 300).collect();
        assert_eq!(won.len(), 1, "{session}: {} got in: {replies:?}", won.len());
        let winner = won[0];
        let loser = 1 - winner;
        replies[loser].expect_error(403, "forbidden");
        let owner = ["a1", "a2"][winner];
        let summary = admin.get(&format!("/sessions/{session}")).expect(200);
        assert_eq!(summary["agent_id"], owner, "{session}");
        let decisions = &summary["decisions"];
        assert!(
            decisions
                .as_array()
                .is_some_and(|all| all.iter().all(|d| d["agent_id"] == owner)),
            "{session} holds another agent's decision: {decisions:?}"
        );
        let archived = summary["state"] == "archived";
        assert_eq!(archived, owner == "a2" && round % 3 == 2, "{session}: {summary}");
    }
    schema::assert_conforms(&server);
}

#[test]
fn racing_agents_cannot_share_a_session_sqlite() {
    racing_agents_cannot_share_a_session(Backend::Sqlite);
}

#[test]
fn racing_agents_cannot_share_a_session_json() {
    racing_agents_cannot_share_a_session(Backend::Json);
}

#[test]
fn racing_agents_cannot_share_a_session_postgres() {
    racing_agents_cannot_share_a_session(Backend::Postgres);
}

/// Without tokens, `cavra serve` refuses to listen beyond loopback, says why, and exits non-zero;
/// with a token it starts there and requires it; once its last token is revoked nobody gets in
/// (a server beyond loopback never falls back to open access).
#[test]
fn listening_beyond_loopback_needs_tokens() {
    let refused = Server::try_start(Home::new(), StoreSpec::Sqlite, "0.0.0.0:0");
    let failure = match refused {
        Ok(server) => panic!("cavra serve started on 0.0.0.0 without tokens: {}", server.banner),
        Err(f) => f,
    };
    assert!(
        matches!(failure.code, Some(c) if c != 0),
        "exit code {:?}",
        failure.code
    );
    assert!(
        failure.stderr.contains("token"),
        "the refusal does not mention tokens: {}",
        failure.stderr
    );

    let home = Home::new();
    let admin_token = home.create_token("admin", None);
    let server = Server::start_in(home, StoreSpec::Sqlite, "0.0.0.0:0");
    assert!(
        server.banner.starts_with("cavra listening on http://0.0.0.0:"),
        "{}",
        server.banner
    );
    let admin = server.client_as(&admin_token);
    server.client().get("/health").expect(200);
    server.client().get("/decisions").expect_error(401, "unauthorized");
    admin.get("/decisions").expect(200);

    server.home().revoke_token(&admin_token.id);
    let closed = eventually(Duration::from_secs(10), || admin.get("/decisions").status == 401);
    assert!(closed, "the revoked last token still works after 10 s");
    server.client().get("/decisions").expect_error(401, "unauthorized");
    server.client().get("/health").expect(200);
    schema::assert_conforms(&server);
}

/// A revoked token stops working within seconds while the server runs (the token file is
/// re-read every 2 s); the other tokens keep working.
#[test]
fn revoked_token_stops_working() {
    let (server, tokens) = server_with_tokens();
    let reviewer = server.client_as(&tokens.reviewer);
    reviewer.get("/decisions").expect(200);
    let revoked_at = Instant::now();
    server.home().revoke_token(&tokens.reviewer.id);
    let refused = eventually(Duration::from_secs(10), || reviewer.get("/decisions").status == 401);
    assert!(refused, "the revoked token still works after 10 s");
    eprintln!("revocation took effect after {:?}", revoked_at.elapsed());
    server.client_as(&tokens.admin).get("/decisions").expect(200);
    server
        .client_as(&tokens.agent)
        .post("/evaluate", &json!({"action_type": "read_file", "target": "x"}))
        .expect(200);

    // A token created while the server runs is picked up too.
    let late = server.home().create_token("reviewer", None);
    let late_client = server.client_as(&late);
    let accepted = eventually(Duration::from_secs(10), || late_client.get("/decisions").status == 200);
    assert!(
        accepted,
        "a token created while the server runs is not accepted after 10 s"
    );
    schema::assert_conforms(&server);
}
