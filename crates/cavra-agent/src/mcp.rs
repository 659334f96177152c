//! The Model Context Protocol over JSON-RPC 2.0 (one message per line on stdio): reading a line
//! into a request or notification, the standard error codes, version negotiation, the tool list
//! with its input schemas, and a `tools/call` turned into what cavra should do.
//!
//! Errors in the protocol (a malformed line, an unknown method or tool) are JSON-RPC errors;
//! errors in a tool's arguments are tool results with `isError: true`, as MCP asks, so the model
//! can read them and retry.
//!
//! The model never chooses the mode it is judged in (SPEC §3): no tool's schema offers
//! `policy_mode` or `justification`, and a call that sends either anyway is refused by name
//! rather than obeyed or silently dropped.

use cavra_core::{Action, ActionType};
use serde_json::{Map, Value, json};

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters (including an unknown tool).
pub const INVALID_PARAMS: i64 = -32602;
/// An internal error (the store failed).
pub const INTERNAL_ERROR: i64 = -32603;

/// Protocol versions this server speaks, newest first. A client asking for one of them gets it
/// back; any other request is answered with the newest.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// One message from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request: answer it with the same id.
    Request {
        /// The id, a string or a number.
        id: Value,
        /// e.g. `tools/call`.
        method: String,
        /// The params (`null` when absent).
        params: Value,
    },
    /// A notification: never answered.
    Notification {
        /// e.g. `notifications/initialized`.
        method: String,
    },
    /// A response from the client (we send no requests, so it is ignored).
    Response,
}

/// A JSON-RPC error response.
pub fn error_response(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// A JSON-RPC result response.
pub fn result_response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// Reads one line. Errors are the response to send (with a `null` id when none could be read).
pub fn parse_line(line: &str) -> Result<Incoming, Value> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| error_response(Value::Null, PARSE_ERROR, format!("parse error: {e}")))?;
    let Value::Object(message) = value else {
        let why = if value.is_array() {
            "batches are not supported; send one message per line"
        } else {
            "a message must be a JSON object"
        };
        return Err(error_response(Value::Null, INVALID_REQUEST, why));
    };
    let id = message.get("id").cloned();
    let valid_id = id.as_ref().map_or(Value::Null, |id| match id {
        Value::String(_) | Value::Number(_) => id.clone(),
        _ => Value::Null,
    });
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(error_response(valid_id, INVALID_REQUEST, "`jsonrpc` must be \"2.0\""));
    }
    if let Some(id) = &id
        && !matches!(id, Value::String(_) | Value::Number(_))
    {
        return Err(error_response(
            Value::Null,
            INVALID_REQUEST,
            "`id` must be a string or a number",
        ));
    }
    let Some(method) = message.get("method") else {
        if id.is_some() && (message.contains_key("result") || message.contains_key("error")) {
            return Ok(Incoming::Response);
        }
        return Err(error_response(valid_id, INVALID_REQUEST, "`method` is missing"));
    };
    let Some(method) = method.as_str() else {
        return Err(error_response(valid_id, INVALID_REQUEST, "`method` must be a string"));
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    if !matches!(params, Value::Object(_) | Value::Array(_) | Value::Null) {
        return Err(error_response(
            valid_id,
            INVALID_REQUEST,
            "`params` must be an object or an array",
        ));
    }
    Ok(match id {
        Some(id) => Incoming::Request {
            id,
            method: method.to_owned(),
            params,
        },
        None => Incoming::Notification {
            method: method.to_owned(),
        },
    })
}

/// The version to answer `initialize` with: the client's when we speak it, else our newest.
pub fn negotiate_version(params: &Value) -> &'static str {
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    PROTOCOL_VERSIONS
        .iter()
        .copied()
        .find(|v| Some(*v) == asked)
        .unwrap_or(PROTOCOL_VERSIONS[0])
}

/// The `initialize` result.
pub fn initialize_result(params: &Value, server_version: &str) -> Value {
    json!({
        "protocolVersion": negotiate_version(params),
        "capabilities": {"tools": {"listChanged": false}},
        "serverInfo": {"name": "cavra", "title": "cavra runtime authority", "version": server_version},
        "instructions": "Before running a command, reading or writing a file, pushing or calling another MCP \
            server's tool, ask cavra with the matching check_* tool. A `block` verdict means do not do it; \
            `require_approval` means ask the user first. Every check is recorded.",
    })
}

/// Arguments no tool takes from the model, because they choose the mode it is judged in or
/// invoke break-glass (SPEC §3); a call carrying one is refused, naming it.
pub const MODE_FIELDS: [&str; 2] = ["policy_mode", "justification"];

/// The optional fields every evaluating tool accepts.
fn common_properties() -> Map<String, Value> {
    let text = |d: &str| json!({"type": "string", "description": d});
    let mut p = Map::new();
    p.insert("cwd".into(), text("Working directory, for relative paths and `cd`"));
    p.insert(
        "session_id".into(),
        text("Session to record the decision in (default: this MCP session)"),
    );
    p.insert("agent_id".into(), text("Agent (default: the MCP client's name)"));
    p.insert(
        "repository".into(),
        text("Repository, e.g. `acme/payments` (default `local`)"),
    );
    p.insert(
        "policy_pack".into(),
        text("Policy pack (default `cavra-ai-agent-baseline`)"),
    );
    p
}

/// The names of [`common_properties`].
const COMMON: &[&str] = &["cwd", "session_id", "agent_id", "repository", "policy_pack"];

fn schema(specific: Value, required: &[&str]) -> Value {
    let mut properties = match specific {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    properties.extend(common_properties());
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// The `tools/list` result: every tool with its description and input schema.
pub fn tools_list() -> Value {
    let text = |d: &str| json!({"type": "string", "description": d});
    let action_types: Vec<&str> = ActionType::ALL.iter().map(|t| t.as_str()).collect();
    let evaluate = {
        let mut props = Map::new();
        props.insert(
            "action_type".into(),
            json!({"type": "string", "enum": action_types, "description": "What kind of action"}),
        );
        props.insert(
            "target".into(),
            text("The path, command line, git ref/remote, or `server:tool`"),
        );
        props.insert(
            "operation".into(),
            text("Git: push, force_push, merge, tag, branch_delete, ..."),
        );
        props.insert("server".into(), text("MCP server"));
        props.insert("tool".into(), text("MCP tool"));
        props.insert("capability".into(), text("MCP capability, e.g. `filesystem`"));
        props.insert(
            "arguments".into(),
            json!({"type": "object", "description": "MCP tool arguments"}),
        );
        props.insert("actor".into(), text("Who the agent acts for"));
        props.insert("correlation_id".into(), text("Caller's correlation id"));
        props.insert("tool_use_id".into(), text("Caller's tool-use id"));
        Value::Object(props)
    };
    json!({"tools": [
        {
            "name": "evaluate_action",
            "title": "Evaluate an action",
            "description": "Decide any agent action (SPEC §1 fields) against the policy pack and record the decision. \
                Returns the decision record: decision (allow, audit_only, warn, allow_with_attestation, \
                require_approval, block), severity, rule, reason and a safer alternative. The mode is not \
                yours to choose: `policy_mode` and `justification` are refused.",
            "inputSchema": schema(evaluate, &["action_type", "target"]),
        },
        {
            "name": "check_command",
            "title": "Check a shell command",
            "description": "Decide whether a shell command line may run, and record the decision.",
            "inputSchema": schema(json!({"command": text("The command line")}), &["command"]),
        },
        {
            "name": "check_file_read",
            "title": "Check a file read",
            "description": "Decide whether a file may be read, and record the decision.",
            "inputSchema": schema(json!({"path": text("The file path")}), &["path"]),
        },
        {
            "name": "check_file_write",
            "title": "Check a file write",
            "description": "Decide whether a file may be written, edited or created, and record the decision.",
            "inputSchema": schema(json!({"path": text("The file path")}), &["path"]),
        },
        {
            "name": "check_git_operation",
            "title": "Check a git operation",
            "description": "Decide whether a git operation on a ref may happen (e.g. push to `origin/main`), and record the decision.",
            "inputSchema": schema(json!({
                "target": text("The ref or remote/branch, e.g. `origin/main`"),
                "operation": text("push (default), force_push, merge, tag, branch_delete, ..."),
            }), &["target"]),
        },
        {
            "name": "check_mcp_call",
            "title": "Check an MCP tool call",
            "description": "Decide whether a tool of another MCP server may be called, and record the decision.",
            "inputSchema": schema(json!({
                "server": text("The MCP server"),
                "tool": text("The tool"),
                "capability": text("The capability, e.g. `filesystem`"),
                "arguments": {"type": "object", "description": "The tool's arguments (checked for paths and commands)"},
            }), &["server", "tool"]),
        },
        {
            "name": "explain_decision",
            "title": "Explain a decision",
            "description": "Show a recorded decision by id: its verdict, the rules that fired on each part, and the safer alternative.",
            "inputSchema": {"type": "object", "properties": {"decision_id": text("`dec_...`")},
                "required": ["decision_id"], "additionalProperties": false},
        },
        {
            "name": "summarize_session",
            "title": "Summarise a session",
            "description": "Summarise a recorded session: counts by outcome, blocked and approval-required actions, highest severity.",
            "inputSchema": {"type": "object", "properties": {"session_id": text("The session (default: this MCP session)")},
                "additionalProperties": false},
        },
    ]})
}

/// What a `tools/call` asks cavra to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    /// Evaluate and record this action.
    Evaluate(Box<Action>),
    /// Show a recorded decision.
    ExplainDecision(String),
    /// Summarise a session (`None`: the caller's default session).
    SummarizeSession(Option<String>),
}

/// Why a `tools/call` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request itself is wrong (missing name, unknown tool): a JSON-RPC error.
    #[error("{0}")]
    Protocol(String),
    /// The tool's arguments are wrong: a tool result with `isError`.
    #[error("{0}")]
    Arguments(String),
}

/// Reads a `tools/call`'s params.
pub fn tool_call(params: &Value) -> Result<ToolCall, CallError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| CallError::Protocol("`params.name` is missing or not a string".to_owned()))?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err(CallError::Protocol("`params.arguments` must be an object".to_owned())),
    };
    if let Some(field) = MODE_FIELDS.iter().find(|f| args.contains_key(**f)) {
        return Err(CallError::Arguments(format!(
            "`{field}` is refused: the model never chooses the mode it is judged in (SPEC §3); the mode comes \
             from the policy pack or from configuration a person controls, and break-glass is granted by a person"
        )));
    }
    let check = |kind: ActionType, specific: &[(&str, &str)]| check_action(kind, specific, &args);
    match name {
        "evaluate_action" => Action::from_value(Value::Object(args.clone()))
            .map(|a| ToolCall::Evaluate(Box::new(a)))
            .map_err(|e| CallError::Arguments(e.to_string())),
        "check_command" => check(ActionType::ExecuteCommand, &[("command", "target")]),
        "check_file_read" => check(ActionType::ReadFile, &[("path", "target")]),
        "check_file_write" => check(ActionType::WriteFile, &[("path", "target")]),
        "check_git_operation" => check(
            ActionType::GitOperation,
            &[("target", "target"), ("operation", "operation")],
        ),
        "check_mcp_call" => check(
            ActionType::McpToolCall,
            &[
                ("server", "server"),
                ("tool", "tool"),
                ("capability", "capability"),
                ("arguments", "arguments"),
            ],
        ),
        "explain_decision" => {
            only_keys(&args, &["decision_id"])?;
            text_arg(&args, "decision_id")?
                .map(ToolCall::ExplainDecision)
                .ok_or_else(|| CallError::Arguments("`decision_id` is required".to_owned()))
        }
        "summarize_session" => {
            only_keys(&args, &["session_id"])?;
            Ok(ToolCall::SummarizeSession(text_arg(&args, "session_id")?))
        }
        other => Err(CallError::Protocol(format!("unknown tool `{other}`"))),
    }
}

fn only_keys(args: &Map<String, Value>, allowed: &[&str]) -> Result<(), CallError> {
    match args.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(CallError::Arguments(format!(
            "unknown argument `{k}` (expected: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn text_arg(args: &Map<String, Value>, key: &str) -> Result<Option<String>, CallError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(CallError::Arguments(format!("`{key}` must be a non-empty string"))),
    }
}

/// Builds an action of `kind` from a check tool's arguments: `specific` renames the tool's own
/// arguments to action fields; the common ones pass through; anything else is refused.
fn check_action(kind: ActionType, specific: &[(&str, &str)], args: &Map<String, Value>) -> Result<ToolCall, CallError> {
    let mut allowed: Vec<&str> = specific.iter().map(|(from, _)| *from).collect();
    allowed.extend_from_slice(COMMON);
    only_keys(args, &allowed)?;
    let required = if kind == ActionType::McpToolCall {
        &specific[..2]
    } else {
        &specific[..1]
    };
    for (key, _) in required {
        if text_arg(args, key)?.is_none() {
            return Err(CallError::Arguments(format!("`{key}` is required")));
        }
    }
    let mut fields = Map::new();
    fields.insert("action_type".into(), Value::String(kind.as_str().to_owned()));
    for (key, value) in args {
        let field = specific
            .iter()
            .find(|(from, _)| from == key)
            .map_or(key.as_str(), |(_, to)| *to);
        fields.insert(field.to_owned(), value.clone());
    }
    if kind == ActionType::McpToolCall {
        let part = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let target = format!("{}:{}", part("server"), part("tool"));
        fields.insert("target".into(), Value::String(target));
    }
    Action::from_value(Value::Object(fields))
        .map(|a| ToolCall::Evaluate(Box::new(a)))
        .map_err(|e| CallError::Arguments(e.to_string()))
}

/// A tool result: text for the model, the structured value, and whether it is an error.
pub fn tool_result(text: impl Into<String>, structured: Option<Value>, is_error: bool) -> Value {
    let mut result = json!({"content": [{"type": "text", "text": text.into()}], "isError": is_error});
    if let Some(s) = structured {
        result["structuredContent"] = s;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Malformed lines get the standard codes; nothing panics.
    #[test]
    fn malformed_lines_get_standard_errors() {
        let code = |line: &str| parse_line(line).unwrap_err()["error"]["code"].as_i64().unwrap();
        assert_eq!(code("{nope"), PARSE_ERROR);
        assert_eq!(code("[]"), INVALID_REQUEST);
        assert_eq!(code("42"), INVALID_REQUEST);
        assert_eq!(code(r#"{"id":1,"method":"x"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":7}"#), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1}"#), INVALID_REQUEST);
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","id":1,"method":7}"#).unwrap_err()["id"],
            1
        );
    }

    /// Requests keep their id; notifications have none.
    #[test]
    fn requests_and_notifications() {
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#).unwrap(),
            Incoming::Request {
                id: json!("a"),
                method: "ping".into(),
                params: Value::Null
            }
        );
        assert_eq!(
            parse_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap(),
            Incoming::Notification {
                method: "notifications/initialized".into()
            }
        );
    }

    /// A supported version is echoed; an unknown one gets our newest.
    #[test]
    fn versions_are_negotiated() {
        assert_eq!(
            negotiate_version(&json!({"protocolVersion": "2025-03-26"})),
            "2025-03-26"
        );
        assert_eq!(
            negotiate_version(&json!({"protocolVersion": "1999-01-01"})),
            PROTOCOL_VERSIONS[0]
        );
    }

    /// Every tool has a name, a description and an object input schema.
    #[test]
    fn every_tool_has_an_input_schema() {
        let list = tools_list();
        let tools = list["tools"].as_array().unwrap();
        assert_eq!(tools.len(), 8);
        for t in tools {
            assert!(t["description"].as_str().is_some_and(|d| !d.is_empty()));
            assert_eq!(t["inputSchema"]["type"], "object", "{}", t["name"]);
        }
    }

    /// No tool offers a mode field, and every tool refuses one by name instead of obeying it.
    #[test]
    fn no_tool_takes_a_mode_from_the_model() {
        let list = tools_list();
        for t in list["tools"].as_array().unwrap() {
            for field in MODE_FIELDS {
                assert!(
                    t["inputSchema"]["properties"].get(field).is_none(),
                    "{} offers `{field}`",
                    t["name"]
                );
            }
        }
        let calls = [
            json!({"name": "evaluate_action", "arguments": {"action_type": "execute_command", "target": "rm -rf /",
                "policy_mode": "audit_only"}}),
            json!({"name": "evaluate_action", "arguments": {"action_type": "execute_command", "target": "rm -rf /",
                "policy_mode": "break_glass", "actor": "me", "justification": "trust me"}}),
            json!({"name": "check_command", "arguments": {"command": "rm -rf /", "justification": "INC-1"}}),
            json!({"name": "summarize_session", "arguments": {"policy_mode": "enforce"}}),
        ];
        for call in calls {
            let field = if call["arguments"].get("policy_mode").is_some() {
                "policy_mode"
            } else {
                "justification"
            };
            assert!(
                matches!(tool_call(&call), Err(CallError::Arguments(m)) if m.contains(&format!("`{field}`"))),
                "{call}"
            );
        }
    }

    /// Check tools become actions; bad arguments are tool errors; unknown tools protocol errors.
    #[test]
    fn calls_become_actions() {
        let call = |v: Value| tool_call(&v);
        let ToolCall::Evaluate(a) =
            call(json!({"name": "check_command", "arguments": {"command": "rm -rf /", "cwd": "/r"}})).unwrap()
        else {
            panic!("not an evaluation")
        };
        assert_eq!(
            (a.action_type, a.target.as_str(), a.cwd.as_deref()),
            (ActionType::ExecuteCommand, "rm -rf /", Some("/r"))
        );
        let ToolCall::Evaluate(a) =
            call(json!({"name": "check_mcp_call", "arguments": {"server": "evil", "tool": "dump"}})).unwrap()
        else {
            panic!("not an evaluation")
        };
        assert_eq!(a.target, "evil:dump");
        assert!(matches!(
            call(json!({"name": "check_command", "arguments": {}})),
            Err(CallError::Arguments(m)) if m.contains("`command`")
        ));
        assert!(matches!(
            call(json!({"name": "check_command", "arguments": {"command": "ls", "colour": 1}})),
            Err(CallError::Arguments(m)) if m.contains("`colour`")
        ));
        assert!(matches!(call(json!({"name": "nope"})), Err(CallError::Protocol(_))));
        assert!(matches!(call(json!({})), Err(CallError::Protocol(_))));
    }
}
