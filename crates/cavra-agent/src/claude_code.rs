//! Claude Code's hook protocol (SPEC §9): the JSON a hook reads on stdin, the action it stands
//! for, and the JSON the hook answers on stdout.
//!
//! Reading is tolerant — fields newer Claude Code versions add are ignored and optional fields
//! may be missing — but a payload that is not a hook payload at all is an error, so the caller
//! can fail closed instead of letting an unreadable tool call through.

use cavra_core::{Action, ActionType, DecisionRecord, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The MCP server name under which Claude Code's own tools without a closer action type
/// (`WebFetch`, `WebSearch`, `Task`, `TodoWrite`, ...) are evaluated, by tool name.
pub const BUILTIN_SERVER: &str = "claude-code";

/// The agent id recorded when none is configured.
pub const DEFAULT_AGENT_ID: &str = "claude-code";

/// One hook invocation as Claude Code sends it on stdin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HookInput {
    /// Claude Code's session id.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Path of the conversation transcript (not read).
    #[serde(default)]
    pub transcript_path: Option<String>,
    /// The working directory of the session.
    #[serde(default)]
    pub cwd: Option<String>,
    /// `default`, `plan`, `acceptEdits`, `bypassPermissions`, ...
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// `PreToolUse`, `PostToolUse`, ...
    pub hook_event_name: String,
    /// `Bash`, `Read`, `Write`, `mcp__github__create_issue`, ...
    #[serde(default)]
    pub tool_name: Option<String>,
    /// The tool's arguments; its shape depends on the tool.
    #[serde(default)]
    pub tool_input: Value,
    /// Claude Code's id for this tool call; PreToolUse and PostToolUse of one call share it.
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// PostToolUse: what the tool returned.
    #[serde(default)]
    pub tool_response: Option<Value>,
    /// PostToolUseFailure: why the tool failed.
    #[serde(default)]
    pub error: Option<Value>,
}

/// Why a hook payload cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The text is not a hook payload.
    #[error("the hook input is not a Claude Code hook payload: {0}")]
    Payload(String),
    /// A field the tool needs is missing or of the wrong kind.
    #[error("the hook input's `{field}` {problem}")]
    Field {
        /// e.g. `tool_input.command`.
        field: String,
        /// e.g. `is missing`.
        problem: String,
    },
}

/// The hook events cavra acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent {
    /// Before a tool runs: evaluate and answer.
    PreToolUse,
    /// After a tool ran: record the outcome against its decision.
    PostToolUse,
    /// After a tool failed (newer Claude Code versions): record the failure.
    PostToolUseFailure,
    /// Anything else: nothing to do.
    Other,
}

/// Who is acting, from the hook's configuration rather than from the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookContext {
    /// The agent id to record (default [`DEFAULT_AGENT_ID`]).
    pub agent_id: Option<String>,
    /// The repository, e.g. `acme/payments`.
    pub repository: Option<String>,
    /// The pack to evaluate against.
    pub policy_pack: Option<String>,
    /// The person the agent acts for.
    pub actor: Option<String>,
}

impl HookInput {
    /// Reads a payload, ignoring fields it does not know.
    pub fn from_json(text: &str) -> Result<HookInput, HookError> {
        let value: Value = serde_json::from_str(text).map_err(|e| HookError::Payload(format!("invalid JSON: {e}")))?;
        if !value.is_object() {
            return Err(HookError::Payload("expected a JSON object".to_owned()));
        }
        serde_json::from_value(value).map_err(|e| HookError::Payload(e.to_string()))
    }

    /// Which event this is.
    pub fn event(&self) -> HookEvent {
        match self.hook_event_name.as_str() {
            "PreToolUse" => HookEvent::PreToolUse,
            "PostToolUse" => HookEvent::PostToolUse,
            "PostToolUseFailure" => HookEvent::PostToolUseFailure,
            _ => HookEvent::Other,
        }
    }

    /// The tool's name, required for tool events.
    pub fn tool_name(&self) -> Result<&str, HookError> {
        self.tool_name
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| missing("tool_name"))
    }

    /// Whether the tool's run failed: a PostToolUseFailure event, or a response saying so
    /// (`success: false`, `is_error`/`isError: true`, `interrupted: true`).
    pub fn tool_failed(&self) -> bool {
        if self.event() == HookEvent::PostToolUseFailure || self.error.as_ref().is_some_and(|e| !e.is_null()) {
            return true;
        }
        let Some(Value::Object(response)) = &self.tool_response else {
            return false;
        };
        let flag = |key: &str| response.get(key).and_then(Value::as_bool);
        flag("success") == Some(false)
            || flag("is_error") == Some(true)
            || flag("isError") == Some(true)
            || flag("interrupted") == Some(true)
    }
}

fn missing(field: &str) -> HookError {
    HookError::Field {
        field: field.to_owned(),
        problem: "is missing or not a string".to_owned(),
    }
}

/// A string field of `tool_input`.
fn input_text<'a>(input: &'a HookInput, key: &str) -> Option<&'a str> {
    input
        .tool_input
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn required_text(input: &HookInput, key: &str) -> Result<String, HookError> {
    input_text(input, key)
        .map(str::to_owned)
        .ok_or_else(|| missing(&format!("tool_input.{key}")))
}

/// What a search reads: its directory (`path`, else the working directory) narrowed by its file
/// pattern (`Glob`'s `pattern`, `Grep`'s `glob`), so that file rules see `~/.ssh/id_*` or
/// `/repo/**/.env` rather than only the directory searched. An absolute or `~` pattern stands alone.
fn searched(input: &HookInput, pattern_key: &str) -> String {
    let dir = input_text(input, "path").or(input.cwd.as_deref()).unwrap_or(".");
    match input_text(input, pattern_key) {
        None => dir.to_owned(),
        Some(p) if p.starts_with(['/', '~']) => p.to_owned(),
        Some(p) => format!("{}/{p}", dir.trim_end_matches('/')),
    }
}

/// `tool_input` as an object, for MCP arguments (anything else is left out).
fn input_object(input: &HookInput) -> Option<Map<String, Value>> {
    match &input.tool_input {
        Value::Object(map) if !map.is_empty() => Some(map.clone()),
        _ => None,
    }
}

/// Most bytes of each written text a write action carries; rules see the beginning of a longer
/// one (the path rules see every write), and the action stays well inside the API's body limit.
pub const WRITTEN_TEXT_CAP: usize = 8 * 1024;

/// What a Write, Edit or MultiEdit puts in the file, as the write action's `arguments`
/// (`content`, `new_string`, `edits[].new_string`), so that packs can judge the text (a compose
/// file given `privileged: true`); each text is cut at [`WRITTEN_TEXT_CAP`] bytes, and
/// `truncated` says so. The replaced text (`old_string`) is left out.
fn written_arguments(input: &HookInput) -> Option<Map<String, Value>> {
    let Value::Object(tool_input) = &input.tool_input else {
        return None;
    };
    let mut truncated = false;
    let mut cap = |text: &str| -> Value {
        if text.len() <= WRITTEN_TEXT_CAP {
            return Value::String(text.to_owned());
        }
        truncated = true;
        let mut end = WRITTEN_TEXT_CAP;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        Value::String(text[..end].to_owned())
    };
    let mut out = Map::new();
    for key in ["content", "new_string"] {
        if let Some(text) = tool_input.get(key).and_then(Value::as_str) {
            out.insert(key.to_owned(), cap(text));
        }
    }
    if let Some(edits) = tool_input.get("edits").and_then(Value::as_array) {
        let edits: Vec<Value> = edits
            .iter()
            .filter_map(|e| e.get("new_string").and_then(Value::as_str))
            .map(|text| {
                let mut edit = Map::new();
                edit.insert("new_string".to_owned(), cap(text));
                Value::Object(edit)
            })
            .collect();
        if !edits.is_empty() {
            out.insert("edits".to_owned(), Value::Array(edits));
        }
    }
    if truncated {
        out.insert("truncated".to_owned(), Value::Bool(true));
    }
    (!out.is_empty()).then_some(out)
}

/// `mcp__<server>__<tool>` split into server and tool.
pub fn mcp_tool_name(tool_name: &str) -> Option<(&str, &str)> {
    let rest = tool_name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

/// The action a tool call stands for (SPEC §9):
/// - `Bash` → `execute_command` of `tool_input.command`;
/// - `Read` → `read_file` of `file_path`; `Glob`/`Grep` → `read_file` of the searched `path`
///   (the working directory when none is given) joined with the file pattern (`Glob`'s
///   `pattern`, `Grep`'s `glob`);
/// - `Write`, `Edit`, `MultiEdit` → `write_file` of `file_path`; `NotebookEdit` of `notebook_path`;
/// - `mcp__<server>__<tool>` → `mcp_tool_call` with the input as its arguments (a malformed
///   name, or a server named like the built-in tools' `claude-code`, is an error);
/// - any other tool (`WebFetch`, `WebSearch`, `Task`, ...) → `mcp_tool_call` of
///   `claude-code:<tool name>`, so packs decide it by tool name; web tools carry the
///   capability `network`.
///
/// The session, working directory and tool-use id are carried into the action.
pub fn action(input: &HookInput, context: &HookContext) -> Result<Action, HookError> {
    let tool = input.tool_name()?;
    let mut action = match tool {
        "Bash" => Action::new(ActionType::ExecuteCommand, required_text(input, "command")?),
        "Read" => Action::new(ActionType::ReadFile, required_text(input, "file_path")?),
        "Write" | "Edit" | "MultiEdit" => {
            let mut a = Action::new(ActionType::WriteFile, required_text(input, "file_path")?);
            a.arguments = written_arguments(input);
            a
        }
        "NotebookEdit" => Action::new(ActionType::WriteFile, required_text(input, "notebook_path")?),
        "Glob" => Action::new(ActionType::ReadFile, searched(input, "pattern")),
        "Grep" => Action::new(ActionType::ReadFile, searched(input, "glob")),
        _ => {
            let (server, name) = match mcp_tool_name(tool) {
                Some((BUILTIN_SERVER, _)) => {
                    // Packs trust the built-in tools' pseudo-server by name; a real MCP server so
                    // named would be trusted with them.
                    return Err(HookError::Field {
                        field: "tool_name".to_owned(),
                        problem: format!(
                            "`{tool}` comes from an MCP server named `{BUILTIN_SERVER}`, the name cavra gives \
                             Claude Code's own tools; rename the server"
                        ),
                    });
                }
                Some(parts) => parts,
                None if tool.starts_with("mcp__") => {
                    return Err(HookError::Field {
                        field: "tool_name".to_owned(),
                        problem: format!("`{tool}` is not of the form `mcp__<server>__<tool>`"),
                    });
                }
                None => (BUILTIN_SERVER, tool),
            };
            let mut a = Action::new(ActionType::McpToolCall, format!("{server}:{name}"));
            a.server = Some(server.to_owned());
            a.tool = Some(name.to_owned());
            if server == BUILTIN_SERVER && matches!(name, "WebFetch" | "WebSearch") {
                a.capability = Some("network".to_owned());
            }
            a.arguments = input_object(input);
            a
        }
    };
    action.cwd = input.cwd.clone().filter(|c| !c.is_empty());
    action.session_id = input.session_id.clone().filter(|s| !s.is_empty());
    action.tool_use_id = input.tool_use_id.clone().filter(|s| !s.is_empty());
    action.agent_id = Some(context.agent_id.clone().unwrap_or_else(|| DEFAULT_AGENT_ID.to_owned()));
    action.repository = context.repository.clone();
    action.policy_pack = context.policy_pack.clone();
    action.actor = context.actor.clone();
    Ok(action)
}

/// The sentence shown to the user (and to Claude): the verdict's reason, the rule, its
/// severity, the safer alternative and the decision id to look up.
pub fn explanation(record: &DecisionRecord) -> String {
    let mut text = format!(
        "cavra: {} (rule `{}`, severity {}).",
        record.reason.trim_end_matches('.'),
        record.rule_id,
        record.severity
    );
    if let Some(suggestion) = record.suggestion.as_deref().filter(|s| !s.is_empty()) {
        text.push_str(&format!(" Safer: {}", suggestion.trim_end_matches('.')));
        text.push('.');
    }
    if let Some(group) = record
        .approver_group
        .as_deref()
        .filter(|_| record.decision == Outcome::RequireApproval)
    {
        text.push_str(&format!(" Approver: {group}."));
    }
    text.push_str(&format!(" Decision {}.", record.decision_id));
    text
}

/// What the hook prints for a PreToolUse decision, or `None` when it prints nothing:
/// `block` → `deny`, `require_approval` → `ask`, `warn` → a `systemMessage` without a decision;
/// `allow`, `audit_only` and `allow_with_attestation` give no decision, so Claude Code's own
/// permission flow goes on.
pub fn pre_tool_use_answer(record: &DecisionRecord) -> Option<Value> {
    let decide = |verdict: &str| {
        json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": verdict,
                "permissionDecisionReason": explanation(record),
            }
        })
    };
    match record.decision {
        Outcome::Block => Some(decide("deny")),
        Outcome::RequireApproval => Some(decide("ask")),
        Outcome::Warn => Some(json!({ "systemMessage": explanation(record) })),
        Outcome::Allow | Outcome::AuditOnly | Outcome::AllowWithAttestation => None,
    }
}

#[cfg(test)]
mod tests {
    use cavra_core::{PackSet, RecordStamp, evaluate};

    use super::*;

    fn payload(tool: &str, input: Value) -> HookInput {
        HookInput::from_json(
            &json!({
                "session_id": "s-1",
                "transcript_path": "/tmp/t.jsonl",
                "cwd": "/work/repo",
                "permission_mode": "default",
                "hook_event_name": "PreToolUse",
                "tool_name": tool,
                "tool_input": input,
                "tool_use_id": "toolu_01",
                "some_future_field": {"x": 1},
            })
            .to_string(),
        )
        .unwrap()
    }

    fn act(tool: &str, input: Value) -> Action {
        action(&payload(tool, input), &HookContext::default()).unwrap()
    }

    /// Each built-in tool maps to the SPEC's action type and target.
    #[test]
    fn tools_map_to_actions() {
        let cases = [
            (
                "Bash",
                json!({"command": "ls -la"}),
                ActionType::ExecuteCommand,
                "ls -la",
            ),
            (
                "Read",
                json!({"file_path": "/work/repo/.env"}),
                ActionType::ReadFile,
                "/work/repo/.env",
            ),
            (
                "Write",
                json!({"file_path": "a.txt", "content": "x"}),
                ActionType::WriteFile,
                "a.txt",
            ),
            (
                "Edit",
                json!({"file_path": "b.rs", "old_string": "a", "new_string": "b"}),
                ActionType::WriteFile,
                "b.rs",
            ),
            (
                "MultiEdit",
                json!({"file_path": "c.rs", "edits": []}),
                ActionType::WriteFile,
                "c.rs",
            ),
            (
                "NotebookEdit",
                json!({"notebook_path": "n.ipynb", "new_source": ""}),
                ActionType::WriteFile,
                "n.ipynb",
            ),
            (
                "Grep",
                json!({"pattern": "x", "path": "/home/u/.ssh"}),
                ActionType::ReadFile,
                "/home/u/.ssh",
            ),
            (
                "Glob",
                json!({"pattern": "**/*.rs"}),
                ActionType::ReadFile,
                "/work/repo/**/*.rs",
            ),
            (
                "Glob",
                json!({"pattern": "~/.ssh/id_*", "path": "/tmp"}),
                ActionType::ReadFile,
                "~/.ssh/id_*",
            ),
            (
                "Grep",
                json!({"pattern": "AWS_SECRET", "glob": "**/.env*"}),
                ActionType::ReadFile,
                "/work/repo/**/.env*",
            ),
            (
                "Grep",
                json!({"pattern": "key", "path": "/home/u/", "glob": "*.pem"}),
                ActionType::ReadFile,
                "/home/u/*.pem",
            ),
            (
                "WebFetch",
                json!({"url": "https://x.example", "prompt": "p"}),
                ActionType::McpToolCall,
                "claude-code:WebFetch",
            ),
            (
                "mcp__github__create_issue",
                json!({"title": "t"}),
                ActionType::McpToolCall,
                "github:create_issue",
            ),
        ];
        for (tool, input, kind, target) in cases {
            let a = act(tool, input);
            assert_eq!((a.action_type, a.target.as_str()), (kind, target), "{tool}");
            assert_eq!(a.session_id.as_deref(), Some("s-1"));
            assert_eq!(a.tool_use_id.as_deref(), Some("toolu_01"));
            assert_eq!(a.cwd.as_deref(), Some("/work/repo"));
            assert_eq!(a.agent_id.as_deref(), Some(DEFAULT_AGENT_ID));
        }
    }

    /// A write carries the text it writes (not the text it replaces), cut at the cap, so that
    /// packs can judge it.
    #[test]
    fn writes_carry_their_text() {
        let a = act(
            "Write",
            json!({"file_path": "deploy/compose.yml", "content": "privileged: true\n"}),
        );
        assert_eq!(a.arguments.as_ref().unwrap()["content"], "privileged: true\n");
        let a = act(
            "Edit",
            json!({"file_path": "a.py", "old_string": "SECRET_OLD", "new_string": "verify=False"}),
        );
        let args = a.arguments.unwrap();
        assert_eq!(args["new_string"], "verify=False");
        assert!(!args.contains_key("old_string"));
        let a = act(
            "MultiEdit",
            json!({"file_path": "b.rs", "edits": [{"old_string": "a", "new_string": "b"}]}),
        );
        assert_eq!(a.arguments.unwrap()["edits"][0]["new_string"], "b");
        let long = "é".repeat(WRITTEN_TEXT_CAP);
        let a = act("Write", json!({"file_path": "big.txt", "content": long}));
        let args = a.arguments.unwrap();
        assert!(args["content"].as_str().unwrap().len() <= WRITTEN_TEXT_CAP);
        assert_eq!(args["truncated"], true);
        assert!(act("Write", json!({"file_path": "empty.txt"})).arguments.is_none());
    }

    /// MCP tools carry server, tool and arguments; web tools the `network` capability.
    #[test]
    fn mcp_and_web_tools_carry_their_details() {
        let a = act("mcp__my_srv__run__it", json!({"q": 1}));
        assert_eq!((a.mcp_server(), a.mcp_tool()), ("my_srv", "run__it"));
        assert_eq!(a.arguments.unwrap()["q"], 1);
        let w = act("WebFetch", json!({"url": "https://x.example"}));
        assert_eq!(w.capability.as_deref(), Some("network"));
    }

    /// An MCP server may not pass itself off as Claude Code's own tools, which packs trust by
    /// server name; a malformed MCP tool name is refused rather than read as a built-in tool.
    #[test]
    fn impostor_and_malformed_mcp_names_are_refused() {
        for tool in [
            "mcp__claude-code__WebFetch",
            "mcp__claude-code__x",
            "mcp__",
            "mcp__srv",
            "mcp____t",
        ] {
            let err = action(&payload(tool, json!({})), &HookContext::default()).unwrap_err();
            assert!(err.to_string().contains("`tool_name`"), "{tool}: {err}");
        }
    }

    /// A Bash call without a command is an error naming the field, not an empty action.
    #[test]
    fn missing_tool_fields_are_named() {
        let err = action(&payload("Bash", json!({})), &HookContext::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the hook input's `tool_input.command` is missing or not a string"
        );
    }

    /// Garbage, non-objects and payloads without an event name are refused.
    #[test]
    fn garbage_is_refused() {
        for text in ["", "not json", "[1,2]", "{\"tool_name\":\"Bash\"}"] {
            assert!(HookInput::from_json(text).is_err(), "{text:?}");
        }
    }

    /// Failures are read from PostToolUseFailure and from the response's flags.
    #[test]
    fn tool_failures_are_recognised() {
        let mut p = payload("Write", json!({"file_path": "a"}));
        p.hook_event_name = "PostToolUse".into();
        p.tool_response = Some(json!({"filePath": "a", "success": true}));
        assert!(!p.tool_failed());
        p.tool_response = Some(json!({"success": false}));
        assert!(p.tool_failed());
        p.tool_response = Some(json!({"stdout": "", "interrupted": true}));
        assert!(p.tool_failed());
        p.tool_response = None;
        p.hook_event_name = "PostToolUseFailure".into();
        assert!(p.tool_failed());
    }

    fn record(tool: &str, input: Value) -> DecisionRecord {
        let packs = PackSet::builtin().unwrap();
        let pack = packs.get(cavra_core::DEFAULT_POLICY_PACK).unwrap();
        let a = act(tool, input);
        let stamp = RecordStamp {
            decision_id: "dec_01TEST".into(),
            timestamp: "2026-11-26T00:00:00.000000Z".into(),
            generated_correlation_id: "corr_1".into(),
        };
        DecisionRecord::new(&a, evaluate(&a, &pack), pack.version(), stamp)
    }

    /// block → deny with the rule, severity, suggestion and decision id in the reason.
    #[test]
    fn block_is_deny_with_a_full_reason() {
        let r = record("Bash", json!({"command": "git push --force origin main"}));
        let out = pre_tool_use_answer(&r).unwrap();
        let h = &out["hookSpecificOutput"];
        assert_eq!(h["hookEventName"], "PreToolUse");
        assert_eq!(h["permissionDecision"], "deny");
        let reason = h["permissionDecisionReason"].as_str().unwrap();
        assert!(reason.contains(&format!("`{}`", r.rule_id)), "{reason}");
        assert!(reason.contains("severity"), "{reason}");
        assert!(reason.contains("--force-with-lease"), "{reason}");
        assert!(reason.contains("dec_01TEST"), "{reason}");
    }

    /// require_approval → ask; allow → nothing printed.
    #[test]
    fn approval_is_ask_and_allow_is_silent() {
        let r = record("Write", json!({"file_path": "/work/repo/iam/admin-role.tf"}));
        assert_eq!(r.decision, Outcome::RequireApproval);
        assert_eq!(
            pre_tool_use_answer(&r).unwrap()["hookSpecificOutput"]["permissionDecision"],
            "ask"
        );
        let r = record("Bash", json!({"command": "cargo test"}));
        assert_eq!(r.decision, Outcome::Allow);
        assert!(pre_tool_use_answer(&r).is_none());
    }

    /// warn → a systemMessage and no permission decision.
    #[test]
    fn warn_is_a_system_message() {
        let mut r = record("Bash", json!({"command": "ls"}));
        r.decision = Outcome::Warn;
        let out = pre_tool_use_answer(&r).unwrap();
        assert!(out.get("hookSpecificOutput").is_none());
        assert!(out["systemMessage"].as_str().unwrap().starts_with("cavra: "));
    }
}
