//! The flags that describe one action, shared by `evaluate` and `policy explain`.

use std::path::PathBuf;

use cavra_core::{Action, ActionType, Mode};

use crate::error::CliError;

/// One action, as flags.
#[derive(Debug, clap::Args)]
pub struct ActionArgs {
    /// What kind of action: read_file, write_file, execute_command, git_operation, mcp_tool_call.
    pub action_type: Option<ActionType>,
    /// The path, command line, git ref (e.g. `origin/main`) or MCP `server:tool`.
    pub target: Option<String>,
    /// The policy pack to decide with.
    #[arg(long, short = 'p', default_value = cavra_core::DEFAULT_POLICY_PACK)]
    pub policy_pack: String,
    /// Override the pack's mode: enforce, audit_only, strict, break_glass.
    #[arg(long)]
    pub policy_mode: Option<Mode>,
    /// Working directory: relative paths and `cd` resolve against it.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Git operation (push, force_push, merge, tag, branch_delete, pull_request...); default push.
    #[arg(long)]
    pub operation: Option<String>,
    /// MCP capability, e.g. `filesystem`.
    #[arg(long)]
    pub capability: Option<String>,
    /// MCP tool arguments as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub arguments: Option<String>,
    /// Repository, e.g. `acme/payments`.
    #[arg(long)]
    pub repository: Option<String>,
    /// Agent session id.
    #[arg(long)]
    pub session_id: Option<String>,
    /// Agent id.
    #[arg(long)]
    pub agent_id: Option<String>,
    /// Who acts through the agent (required for break_glass).
    #[arg(long)]
    pub actor: Option<String>,
    /// Why break_glass is needed (required for break_glass).
    #[arg(long)]
    pub justification: Option<String>,
    /// Read extra packs from this directory.
    #[arg(long, env = "CAVRA_POLICY_DIR", value_name = "DIR")]
    pub policy_dir: Option<PathBuf>,
}

impl ActionArgs {
    /// The action these flags describe.
    pub fn action(&self) -> Result<Action, CliError> {
        let (Some(action_type), Some(target)) = (self.action_type, self.target.clone()) else {
            return Err(CliError::Invalid("give ACTION_TYPE and TARGET (see --help)".to_owned()));
        };
        let arguments = match &self.arguments {
            None => None,
            Some(text) => match serde_json::from_str(text) {
                Ok(serde_json::Value::Object(map)) => Some(map),
                Ok(_) => {
                    return Err(CliError::Invalid("`--arguments` must be a JSON object".to_owned()));
                }
                Err(e) => {
                    return Err(CliError::Invalid(format!("`--arguments` is not valid JSON: {e}")));
                }
            },
        };
        let mut action = Action::new(action_type, target);
        action.operation = self.operation.clone();
        action.capability = self.capability.clone();
        action.arguments = arguments;
        action.cwd = self.cwd.clone();
        action.repository = self.repository.clone();
        action.session_id = self.session_id.clone();
        action.agent_id = self.agent_id.clone();
        action.actor = self.actor.clone();
        action.justification = self.justification.clone();
        action.policy_pack = Some(self.policy_pack.clone());
        action.policy_mode = self.policy_mode;
        Ok(action)
    }
}
