//! Where agent integrations (`cavra hook`, `cavra mcp`) get their decisions: evaluated here and
//! persisted to the configured store, or asked of a `cavra serve` at `CAVRA_URL`.
//!
//! Either way the answer is a durable decision record: in-process, `append` returns only once the
//! record is fsync'd (or committed); remotely, the server answers `201` only then. Any failure is
//! an error the caller turns into "do not run the tool" (fail closed).

use std::sync::Arc;
use std::time::Duration;

use cavra_core::{Action, DecisionRecord, PackSet, evaluate};
use cavra_store::{ActivityStore, OutcomeReport, Stamper, ToolOutcome};

use crate::error::CliError;
use crate::packs;

/// Where decisions come from.
pub enum Authority {
    /// Evaluate with these packs and append to this store.
    Local {
        /// Built-ins plus the policy directory's.
        packs: PackSet,
        /// The configured activity store.
        store: Arc<dyn ActivityStore>,
        /// Decision ids and timestamps.
        stamper: Stamper,
    },
    /// Ask a running `cavra serve`.
    Remote(Remote),
}

/// A `cavra serve` to ask, with a bounded timeout per request.
pub struct Remote {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Remote {
    /// A client for the server at `url` (`http://host:port`), giving up after `timeout`.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Result<Remote, CliError> {
        let base = url.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(CliError::FailClosed(format!(
                "`CAVRA_URL` `{url}` is not an http:// or https:// URL"
            )));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Ok(Remote {
            base,
            token: token.filter(|t| !t.is_empty()),
            agent: config.into(),
        })
    }

    /// POSTs `body` to `path` and returns the JSON answer of a 2xx; anything else is an error
    /// naming the server and what went wrong.
    fn post(&self, path: &str, body: &impl serde::Serialize) -> Result<(u16, String), CliError> {
        let url = format!("{}{path}", self.base);
        let text = serde_json::to_string(body).map_err(|e| CliError::Failed(e.to_string()))?;
        let mut request = self.agent.post(&url).header("Content-Type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .send(text.as_bytes())
            .map_err(|e| CliError::FailClosed(format!("cannot reach the cavra server at `{url}`: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| CliError::FailClosed(format!("cannot read the answer of `{url}`: {e}")))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| crate::cmd::shorten(&body, 200));
            return Err(CliError::FailClosed(format!(
                "the cavra server at `{url}` answered {status}: {message}"
            )));
        }
        Ok((status, body))
    }
}

impl Authority {
    /// Evaluates in-process with the packs of `policy_dir` (only `only_pack` compiled, when
    /// given) and the store `store`.
    pub fn local(
        policy_dir: Option<&std::path::Path>,
        only_pack: Option<&str>,
        store: Arc<dyn ActivityStore>,
    ) -> Result<Authority, CliError> {
        let packs = match only_pack {
            Some(id) => packs::load_one(policy_dir, id)?,
            None => packs::load(policy_dir)?,
        };
        Ok(Authority::Local {
            packs,
            store,
            stamper: Stamper::new(),
        })
    }

    /// Decides `action` and returns its durable record.
    pub fn decide(&mut self, action: &Action) -> Result<DecisionRecord, CliError> {
        match self {
            Authority::Local { packs, store, stamper } => {
                let pack = packs::get(packs, action.policy_pack())?;
                let record = DecisionRecord::new(action, evaluate(action, &pack), pack.version(), stamper.stamp());
                store.append(record).map_err(CliError::from_store)
            }
            Authority::Remote(remote) => {
                let (_, body) = remote.post("/decisions", action)?;
                serde_json::from_str(&body).map_err(|e| {
                    CliError::FailClosed(format!("the cavra server's answer is not a decision record: {e}"))
                })
            }
        }
    }

    /// Records a tool's outcome against its decision; `None` when no decision has its tool-use id.
    pub fn record_outcome(&mut self, report: &OutcomeReport) -> Result<Option<ToolOutcome>, CliError> {
        match self {
            Authority::Local { store, .. } => {
                let at = cavra_store::stamp::rfc3339_micros(chrono::Utc::now());
                store.record_outcome(report, &at).map_err(CliError::from_store)
            }
            Authority::Remote(remote) => match remote.post("/outcomes", report) {
                Ok((_, body)) => serde_json::from_str(&body)
                    .map(Some)
                    .map_err(|e| CliError::Failed(format!("the cavra server's answer is not an outcome: {e}"))),
                Err(CliError::FailClosed(m)) if m.contains("answered 404") => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// The store, when decisions are made here.
    pub fn store(&self) -> Option<&Arc<dyn ActivityStore>> {
        match self {
            Authority::Local { store, .. } => Some(store),
            Authority::Remote(_) => None,
        }
    }
}
