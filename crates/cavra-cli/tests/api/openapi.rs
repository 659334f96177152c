//! The OpenAPI document itself: version 3.1, every route of SPEC §6 (the console aside), the
//! filters each list takes, and the error answers each operation can give. That every answer
//! matches it is checked at the end of every test (`schema::assert_conforms`).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{Exchange, Server, StoreSpec};
use crate::schema;

/// SPEC §6's routes, `/console` aside.
const SPEC_ROUTES: &[(&str, &str)] = &[
    ("post", "/decisions"),
    ("post", "/evaluate"),
    ("get", "/decisions"),
    ("get", "/decisions/{id}"),
    ("get", "/sessions"),
    ("get", "/sessions/{id}"),
    ("post", "/sessions"),
    ("get", "/policy-packs"),
    ("get", "/policy-packs/{id}"),
    ("get", "/health"),
    ("get", "/version"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

fn parameters(doc: &Value, method: &str, path: &str) -> BTreeSet<String> {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// `/openapi.json` is OpenAPI 3.1.x, documents every route of SPEC §6 with the filters of each
/// list, documents 401/403 wherever a token is needed and 400/413/415 wherever a JSON body is
/// read, and every error answer it documents is the `ErrorBody` envelope.
#[test]
fn openapi_documents_every_route() {
    let server = Server::start(StoreSpec::Sqlite);
    let doc = &schema::openapi(&server).doc;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "openapi `{version}` is not 3.1.x");
    let running = server.client().get("/version").expect(200);
    assert_eq!(
        doc["info"]["version"], running["version"],
        "info.version is the running version"
    );

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    for (method, path) in SPEC_ROUTES {
        assert!(
            documented.contains(&((*method).to_owned(), (*path).to_owned())),
            "`{method} {path}` is not documented; documented: {documented:?}"
        );
    }

    assert_eq!(
        parameters(doc, "get", "/decisions"),
        set(&[
            "session_id",
            "agent_id",
            "repository",
            "policy_pack",
            "decision",
            "severity",
            "action_type",
            "since",
            "until",
            "limit",
            "offset",
            "cursor"
        ]),
        "GET /decisions parameters"
    );
    assert_eq!(
        parameters(doc, "get", "/sessions"),
        set(&["agent_id", "repository", "policy_pack", "state", "limit", "offset"]),
        "GET /sessions parameters"
    );

    for (method, path) in SPEC_ROUTES {
        let op = &doc["paths"][path][method];
        let responses = op["responses"].as_object().unwrap();
        let has = |s: &str| responses.contains_key(s);
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let open = matches!(*path, "/health" | "/version" | "/openapi.json");
        assert_eq!(secured, !open, "`{method} {path}`: security");
        if secured {
            assert!(
                has("401") && has("403"),
                "`{method} {path}` does not document 401 and 403"
            );
        }
        if op.get("requestBody").is_some() {
            for s in ["400", "413", "415"] {
                assert!(has(s), "`{method} {path}` reads a body but does not document {s}");
            }
        }
        if path.contains('{') {
            assert!(has("404"), "`{method} {path}` does not document 404");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "`{method} {path}` {status} is not the error envelope"
                );
            }
        }
    }
    schema::assert_conforms(&server);
}

/// Operation ids are unique across the document, as OpenAPI requires (code generators name
/// client methods after them).
#[test]
fn openapi_operation_ids_are_unique() {
    let server = Server::start(StoreSpec::Sqlite);
    let doc = &schema::openapi(&server).doc;
    let mut seen = BTreeSet::new();
    let mut repeated = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op["operationId"].as_str()
                && !seen.insert(id.to_owned())
            {
                repeated.push(format!("`{id}` ({method} {path})"));
            }
        }
    }
    assert!(repeated.is_empty(), "repeated operationIds: {}", repeated.join(", "));
    schema::assert_conforms(&server);
}

/// Every pack's rules match the documented `RuleView` schema.
#[test]
fn every_pack_matches_the_documented_rule_schema() {
    let server = Server::start(StoreSpec::Sqlite);
    let api = server.client();
    let packs = api.get("/policy-packs").expect(200);
    for pack in packs.as_array().unwrap() {
        api.get(&format!("/policy-packs/{}", pack["id"].as_str().unwrap()))
            .expect(200);
    }
    schema::assert_conforms_strictly(&server);
}

/// A made-up answer and whether it conforms: method, path, status, content type, body, verdict.
type Answer<'a> = (&'a str, &'a str, u16, Option<&'a str>, &'a str, bool);

/// The conformance check is not vacuous: it refuses a missing required field, a value of the
/// wrong type, an undocumented status, a 5xx, a non-JSON error, an unknown path answered 200 and
/// an undocumented media type, and accepts the right answers.
#[test]
fn the_openapi_check_catches_wrong_answers() {
    let server = Server::start(StoreSpec::Sqlite);
    let api = schema::openapi(&server);
    let json = Some("application/json");
    let error = r#"{"error":{"code":"not_found","message":"no"}}"#;
    let cases: &[Answer] = &[
        ("GET", "/health", 200, json, r#"{"status":"ok","store":"sqlite"}"#, true),
        ("GET", "/health", 200, json, r#"{"status":"ok"}"#, false),
        (
            "GET",
            "/decisions?limit=5",
            200,
            json,
            r#"{"items":[],"total":0,"limit":5,"offset":0}"#,
            true,
        ),
        (
            "GET",
            "/decisions",
            200,
            json,
            r#"{"items":[],"total":"0","limit":50,"offset":0}"#,
            false,
        ),
        ("GET", "/decisions/dec_x", 200, json, r#"{"decision":"block"}"#, false),
        ("GET", "/decisions/dec_x", 404, json, error, true),
        ("GET", "/decisions/dec_x", 404, json, r#"{"error":"not_found"}"#, false),
        ("GET", "/health", 418, json, error, false),
        ("GET", "/decisions", 500, json, error, false),
        ("GET", "/decisions", 400, Some("text/plain"), "bad query", false),
        ("GET", "/nope", 404, json, error, true),
        ("GET", "/nope", 200, json, "{}", false),
        ("DELETE", "/decisions", 405, json, error, true),
        ("DELETE", "/decisions", 200, json, "{}", false),
        (
            "GET",
            "/metrics",
            200,
            Some("text/plain; version=0.0.4; charset=utf-8"),
            "# HELP x\n",
            true,
        ),
        ("GET", "/metrics", 200, json, "{}", false),
    ];
    for (method, path, status, content_type, body, conforms) in cases {
        let exchange = Exchange {
            method: (*method).to_owned(),
            path: (*path).to_owned(),
            status: *status,
            content_type: content_type.map(str::to_owned),
            body: (*body).to_owned(),
        };
        let problems = api.problems(&exchange);
        assert_eq!(
            problems.is_empty(),
            *conforms,
            "{method} {path} -> {status} {body}: {problems:?}"
        );
    }
    schema::assert_conforms(&server);
}
