//! The action an agent wants to take (SPEC §1), with the defaults the spec gives.
//!
//! Parsing is strict: an unknown field, a missing `target` or a number where a string belongs is
//! an [`ActionError`] naming the field, so nothing a client sends is silently dropped.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::decision::Mode;

/// The pack used when an action names none.
pub const DEFAULT_POLICY_PACK: &str = "cavra-ai-agent-baseline";

/// What kind of action.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionType {
    /// Read a file.
    ReadFile,
    /// Write, edit or create a file.
    WriteFile,
    /// Run a shell command line.
    ExecuteCommand,
    /// A git operation on a ref.
    GitOperation,
    /// Call a tool of an MCP server.
    McpToolCall,
}

impl ActionType {
    /// Every action type.
    pub const ALL: [ActionType; 5] = [
        ActionType::ReadFile,
        ActionType::WriteFile,
        ActionType::ExecuteCommand,
        ActionType::GitOperation,
        ActionType::McpToolCall,
    ];

    /// The wire name, e.g. `execute_command`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionType::ReadFile => "read_file",
            ActionType::WriteFile => "write_file",
            ActionType::ExecuteCommand => "execute_command",
            ActionType::GitOperation => "git_operation",
            ActionType::McpToolCall => "mcp_tool_call",
        }
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionType {
    type Err = crate::decision::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| crate::decision::UnknownName {
                what: "action type",
                given: s.to_owned(),
                expected: ActionType::ALL.map(ActionType::as_str).join(", "),
            })
    }
}

/// An action, as posted to `POST /decisions` or read from a batch line.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// What kind of action.
    pub action_type: ActionType,
    /// The path, command line, git ref or `server:tool`.
    pub target: String,
    /// Git: `push`, `force_push`, `merge`, `tag`, `branch_delete`, ...; default `push`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// MCP server (or from `target` as `server:tool`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// MCP tool (or from `target` as `server:tool`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// MCP capability, e.g. `filesystem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    /// MCP tool arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub arguments: Option<serde_json::Map<String, serde_json::Value>>,
    /// Working directory for relative paths and `cd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Repository, default `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Session, default `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Agent, default `unknown-agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Actor, default `ai-agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Pack, default [`DEFAULT_POLICY_PACK`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_pack: Option<String>,
    /// Per-request mode override, a person's only (SPEC §3): `cavra evaluate --policy-mode`, or an
    /// admin token's request. The server refuses it (403) from an agent token, and from anyone
    /// on a server without tokens; the MCP tools do not take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_mode: Option<Mode>,
    /// Why the actor needs `break_glass`, which a person grants; required for that mode to take
    /// effect. Refused like `policy_mode` from anyone but a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Caller's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Caller's tool-use id (Claude Code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

/// Why an action could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The text is not JSON at all.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// A field is missing, unknown or of the wrong kind.
    #[error("field `{field}`: {message}")]
    Field {
        /// The field's path, e.g. `target` or `arguments`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ActionError {
    /// The offending field, when one is known.
    pub fn field(&self) -> Option<&str> {
        match self {
            ActionError::Field { field, .. } => Some(field),
            ActionError::Syntax(_) => None,
        }
    }
}

impl Action {
    /// A new action of `action_type` on `target`, every other field defaulted.
    pub fn new(action_type: ActionType, target: impl Into<String>) -> Action {
        Action {
            action_type,
            target: target.into(),
            operation: None,
            server: None,
            tool: None,
            capability: None,
            arguments: None,
            cwd: None,
            repository: None,
            session_id: None,
            agent_id: None,
            actor: None,
            policy_pack: None,
            policy_mode: None,
            justification: None,
            correlation_id: None,
            tool_use_id: None,
        }
    }

    /// Parses one action from JSON text, naming the offending field on error.
    pub fn from_json(text: &str) -> Result<Action, ActionError> {
        // The common case parses in one pass; only a failure pays for the field-naming pass.
        if let Ok(action) = serde_json::from_str::<Action>(text) {
            return Ok(action);
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ActionError::Syntax(e.to_string()))?;
        Action::from_value(value)
    }

    /// Parses one action from a JSON value, naming the offending field on error.
    pub fn from_value(value: serde_json::Value) -> Result<Action, ActionError> {
        if !value.is_object() {
            return Err(ActionError::Syntax("an action must be a JSON object".to_owned()));
        }
        serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner().to_string();
            // serde names missing and unknown fields in the message, not the path.
            let field = if path == "." {
                quoted_field(&inner).unwrap_or_else(|| "(action)".to_owned())
            } else {
                path
            };
            ActionError::Field { field, message: inner }
        })
    }

    /// The session, default `local`.
    pub fn session_id(&self) -> &str {
        self.session_id.as_deref().unwrap_or("local")
    }

    /// The agent, default `unknown-agent`.
    pub fn agent_id(&self) -> &str {
        self.agent_id.as_deref().unwrap_or("unknown-agent")
    }

    /// The actor, default `ai-agent`.
    pub fn actor(&self) -> &str {
        self.actor.as_deref().unwrap_or("ai-agent")
    }

    /// The repository, default `local`.
    pub fn repository(&self) -> &str {
        self.repository.as_deref().unwrap_or("local")
    }

    /// The pack, default [`DEFAULT_POLICY_PACK`].
    pub fn policy_pack(&self) -> &str {
        self.policy_pack.as_deref().unwrap_or(DEFAULT_POLICY_PACK)
    }

    /// The git operation, default `push`.
    pub fn git_operation(&self) -> &str {
        self.operation.as_deref().unwrap_or("push")
    }

    /// The MCP server: `server`, else the part of `target` before `:`.
    pub fn mcp_server(&self) -> &str {
        match &self.server {
            Some(s) => s,
            None => self.target.split_once(':').map_or(self.target.as_str(), |(s, _)| s),
        }
    }
    /// The text a write puts in its file, when the agent's tool sent it in `arguments`: Claude
    /// Code's Write (`content`), Edit (`new_string`) and MultiEdit (`edits[].new_string`), and an
    /// MCP filesystem server's `content`, `text` or `edits[].newText`. `None` for any other action
    /// or when nothing was sent; several pieces are joined by newlines.
    pub fn written_text(&self) -> Option<String> {
        const KEYS: [&str; 6] = ["content", "new_string", "newText", "new_str", "file_text", "text"];
        if !matches!(self.action_type, ActionType::WriteFile | ActionType::McpToolCall) {
            return None;
        }
        let arguments = self.arguments.as_ref()?;
        let mut pieces: Vec<&str> = KEYS.iter().filter_map(|k| arguments.get(*k)?.as_str()).collect();
        if let Some(edits) = arguments.get("edits").and_then(serde_json::Value::as_array) {
            for edit in edits {
                pieces.extend(KEYS.iter().filter_map(|k| edit.get(*k)?.as_str()));
            }
        }
        (!pieces.is_empty()).then(|| pieces.join("\n"))
    }

    /// The MCP tool: `tool`, else the part of `target` after `:`.
    pub fn mcp_tool(&self) -> &str {
        match &self.tool {
            Some(t) => t,
            None => self.target.split_once(':').map_or("", |(_, t)| t),
        }
    }

    /// What the record calls `requested_operation`: git operation, MCP capability or tool.
    pub fn requested_operation(&self) -> Option<String> {
        match self.action_type {
            ActionType::GitOperation => Some(self.git_operation().to_owned()),
            ActionType::McpToolCall => self
                .capability
                .clone()
                .or_else(|| Some(self.mcp_tool().to_owned()).filter(|t| !t.is_empty())),
            _ => self.operation.clone(),
        }
    }
}

/// Pulls the first backquoted name out of a serde message such as "missing field `target`".
fn quoted_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A missing target is an error naming `target`.
    #[test]
    fn missing_target_names_the_field() {
        let err = Action::from_json(r#"{"action_type":"read_file"}"#).unwrap_err();
        assert_eq!(err.field(), Some("target"));
    }

    /// A number where a string belongs names that field.
    #[test]
    fn wrong_type_names_the_field() {
        let err = Action::from_json(r#"{"action_type":"read_file","target":"a","cwd":7}"#).unwrap_err();
        assert_eq!(err.field(), Some("cwd"));
    }

    /// Unknown action types and unknown fields are rejected, not guessed.
    #[test]
    fn unknown_type_and_field_are_rejected() {
        let err = Action::from_json(r#"{"action_type":"launch","target":"x"}"#).unwrap_err();
        assert_eq!(err.field(), Some("action_type"));
        let err = Action::from_json(r#"{"action_type":"read_file","target":"x","colour":"red"}"#).unwrap_err();
        assert_eq!(err.field(), Some("colour"));
    }

    /// `server:tool` targets split into server and tool.
    #[test]
    fn mcp_target_splits() {
        let a = Action::new(ActionType::McpToolCall, "github:create_issue");
        assert_eq!(a.mcp_server(), "github");
        assert_eq!(a.mcp_tool(), "create_issue");
    }
}
