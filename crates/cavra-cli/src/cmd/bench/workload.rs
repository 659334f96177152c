//! What the clients send: decision bodies taken from the evaluation corpus and spread over many
//! sessions, agents and repositories, and filtered list queries.
//!
//! A body is pre-serialised in two halves, a per-session prefix (`session_id`, `agent_id`,
//! `repository`) and a per-action tail, so that building a request during the measurement is two
//! copies rather than a JSON encoding, and the memory held is sessions + actions, not their product.

use std::str::FromStr;

use cavra_core::{ActionType, Outcome, Severity};
use hyper::body::Bytes;
use serde_json::{Map, Value};

/// The evaluation corpus (one `{"pack", "action", "expect"}` object per line): realistic actions,
/// dangerous and benign, across every built-in pack.
const CORPUS: [&str; 2] = [
    include_str!("../../../../cavra-core/tests/corpus/cavra.jsonl"),
    include_str!("../../../../cavra-core/tests/corpus/parity.jsonl"),
];

/// Fields the bench sets itself, so that its decisions land in its own sessions.
const SPREAD_FIELDS: [&str; 3] = ["session_id", "agent_id", "repository"];

/// The corpus actions, each with its line's pack as `policy_pack` unless it names one, and without
/// the fields the bench spreads itself.
pub(crate) fn corpus_actions() -> Result<Vec<Map<String, Value>>, String> {
    let mut actions = Vec::new();
    for (file, text) in CORPUS.iter().enumerate() {
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let place = || format!("corpus file {file}, line {}", n + 1);
            let mut entry: Map<String, Value> = serde_json::from_str(line).map_err(|e| format!("{}: {e}", place()))?;
            let Some(Value::Object(mut action)) = entry.remove("action") else {
                return Err(format!("{}: no `action` object", place()));
            };
            if let Some(pack) = entry.remove("pack") {
                action.entry("policy_pack").or_insert(pack);
            }
            for field in SPREAD_FIELDS {
                action.remove(field);
            }
            actions.push(action);
        }
    }
    Ok(actions)
}

/// How the bench's decisions are spread: `--sessions`, `--agents`, `--repositories` under one run id.
#[derive(Debug, Clone)]
pub(crate) struct Spread {
    /// Names this run's sessions: `bench-<run_id>-<n>`.
    pub run_id: String,
    /// Number of sessions.
    pub sessions: u32,
    /// Number of agents (`bench-agent-<n>`); session `n` belongs to agent `n % agents`.
    pub agents: u32,
    /// Number of repositories (`bench/repo-<n>`); session `n` works in repository `n % repositories`.
    pub repositories: u32,
}

impl Spread {
    /// The id of session `n`.
    pub fn session_id(&self, n: u32) -> String {
        format!("bench-{}-{n}", self.run_id)
    }

    /// The agent of session `n`, and the agent a default list query may filter on.
    pub fn agent_id(&self, n: u32) -> String {
        format!("bench-agent-{}", n % self.agents.max(1))
    }

    /// The repository of session `n`, and the repository a default list query may filter on.
    pub fn repository(&self, n: u32) -> String {
        format!("bench/repo-{}", n % self.repositories.max(1))
    }
}

/// One session's pre-serialised prefix and where it starts in the shuffled action order.
struct SessionPart {
    prefix: Bytes,
    start: usize,
}

/// The decision bodies of a run: session `s` posts the shuffled corpus in order, starting at its own
/// place in it, so every session sees a different, realistic sequence.
pub(crate) struct ActionMix {
    sessions: Vec<SessionPart>,
    tails: Vec<Bytes>,
}

impl ActionMix {
    /// Pre-serialises the bodies for `actions` spread as `spread`; `seed` fixes the order.
    pub fn new(actions: &[Map<String, Value>], spread: &Spread, seed: u64) -> Result<ActionMix, String> {
        if actions.is_empty() {
            return Err("no actions to post".to_owned());
        }
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut order: Vec<usize> = (0..actions.len()).collect();
        rng.shuffle(&mut order);
        let mut tails = Vec::with_capacity(actions.len());
        for &i in &order {
            tails.push(Bytes::from(tail(&actions[i]).map_err(|e| e.to_string())?));
        }
        let mut sessions = Vec::with_capacity(spread.sessions as usize);
        for n in 0..spread.sessions {
            let prefix = serde_json::to_string(&serde_json::json!({
                "session_id": spread.session_id(n),
                "agent_id": spread.agent_id(n),
                "repository": spread.repository(n),
            }))
            .map_err(|e| e.to_string())?;
            // `{...}` without its closing brace: the tail closes the object.
            let open = prefix.strip_suffix('}').unwrap_or(&prefix).to_owned();
            sessions.push(SessionPart {
                prefix: Bytes::from(open),
                start: rng.usize(0..tails.len()),
            });
        }
        if sessions.is_empty() {
            return Err("no sessions to post to".to_owned());
        }
        Ok(ActionMix { sessions, tails })
    }

    /// The body of the run's `n`-th decision: consecutive `n` go to consecutive sessions, and each
    /// session steps through its own sequence of actions.
    pub fn body(&self, n: u64) -> Bytes {
        let count = self.sessions.len() as u64;
        let session = &self.sessions[(n % count) as usize];
        let step = (n / count) as usize;
        let tail = &self.tails[(session.start + step) % self.tails.len()];
        let mut body = Vec::with_capacity(session.prefix.len() + tail.len());
        body.extend_from_slice(&session.prefix);
        body.extend_from_slice(tail);
        Bytes::from(body)
    }
}

/// An action object as the second half of a body: `,"k":v,...}`, or `}` when it is empty.
fn tail(action: &Map<String, Value>) -> Result<String, serde_json::Error> {
    let text = serde_json::to_string(action)?;
    Ok(match text.strip_prefix('{') {
        Some("}") | None => "}".to_owned(),
        Some(rest) => format!(",{rest}"),
    })
}

/// Which list endpoint the list workload queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListResource {
    /// `GET /decisions`.
    Decisions,
    /// `GET /sessions`.
    Sessions,
}

impl ListResource {
    /// The endpoint's path.
    pub fn path(self) -> &'static str {
        match self {
            ListResource::Decisions => "/decisions",
            ListResource::Sessions => "/sessions",
        }
    }

    /// The query parameters the endpoint accepts: the server's own lists.
    fn filters(self) -> &'static [&'static str] {
        match self {
            ListResource::Decisions => cavra_server::routes::decisions::FILTERS,
            ListResource::Sessions => cavra_server::routes::sessions::FILTERS,
        }
    }
}

/// Page size of list queries unless a filter sets `limit`: the console's and the API's default.
const DEFAULT_LIMIT: &str = "50";

/// One `--list-filter KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    key: String,
    value: String,
}

impl FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() && !value.is_empty() => Ok(Filter {
                key: key.trim().to_owned(),
                value: value.to_owned(),
            }),
            _ => Err(format!("expected KEY=VALUE (e.g. `decision=block`), got `{s}`")),
        }
    }
}

impl Filter {
    /// Checks the key against `resource`'s filters and, where cavra knows the values, the value.
    fn check(&self, resource: ListResource) -> Result<(), String> {
        let allowed = resource.filters();
        if !allowed.contains(&self.key.as_str()) {
            return Err(format!(
                "unknown filter `{}` for {} (expected one of: {})",
                self.key,
                resource.path(),
                allowed.join(", ")
            ));
        }
        let value = self.value.as_str();
        let checked = match self.key.as_str() {
            "decision" => Outcome::from_str(value).map(drop).map_err(|e| e.to_string()),
            "severity" => Severity::from_str(value).map(drop).map_err(|e| e.to_string()),
            "action_type" => ActionType::from_str(value).map(drop).map_err(|e| e.to_string()),
            "limit" | "offset" => value
                .parse::<u64>()
                .map(drop)
                .map_err(|_| format!("`{}` must be a whole number, got `{value}`", self.key)),
            _ => Ok(()),
        };
        checked.map_err(|e| format!("--list-filter {}: {e}", self.key))
    }
}

/// The path and query of each list request; requests cycle through them.
///
/// With filters, one query that combines them all (every filter must hold). Without, one-filter
/// queries of the kinds a reviewer runs, over the values this bench posts.
pub(crate) fn list_queries(resource: ListResource, filters: &[Filter], spread: &Spread) -> Result<Vec<String>, String> {
    let sets: Vec<Vec<(String, String)>> = if filters.is_empty() {
        default_filters(resource, spread)
    } else {
        for f in filters {
            f.check(resource)?;
        }
        vec![filters.iter().map(|f| (f.key.clone(), f.value.clone())).collect()]
    };
    Ok(sets
        .into_iter()
        .map(|set| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &set {
                query.append_pair(k, v);
            }
            if !set.iter().any(|(k, _)| k == "limit") {
                query.append_pair("limit", DEFAULT_LIMIT);
            }
            format!("{}?{}", resource.path(), query.finish())
        })
        .collect())
}

/// One-filter queries over the values the post workload writes.
fn default_filters(resource: ListResource, spread: &Spread) -> Vec<Vec<(String, String)>> {
    let pair = |k: &str, v: String| vec![(k.to_owned(), v)];
    let mut sets = Vec::new();
    if resource == ListResource::Decisions {
        sets.push(pair("decision", Outcome::Block.to_string()));
        sets.push(pair("severity", Severity::Critical.to_string()));
        sets.push(pair("action_type", ActionType::ExecuteCommand.to_string()));
    }
    sets.push(pair("policy_pack", cavra_core::DEFAULT_POLICY_PACK.to_owned()));
    for n in 0..spread.repositories.min(4) {
        sets.push(pair("repository", spread.repository(n)));
    }
    for n in 0..spread.agents.min(4) {
        sets.push(pair("agent_id", spread.agent_id(n)));
    }
    sets
}

/// Whether the `i`-th request of a mixed run is a list query: exactly `ratio` of any run of
/// consecutive requests, evenly spaced (as Bresenham spaces pixels), with no random draws.
pub(crate) fn takes_list(i: u64, ratio: f64) -> bool {
    ((i + 1) as f64 * ratio).floor() > (i as f64 * ratio).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread() -> Spread {
        Spread {
            run_id: "t1".to_owned(),
            sessions: 10,
            agents: 3,
            repositories: 4,
        }
    }

    /// Every corpus line yields an action with a type and a target, and none keeps a spread field.
    #[test]
    fn corpus_actions_are_complete() {
        let actions = corpus_actions().unwrap();
        assert!(actions.len() > 700, "{}", actions.len());
        for a in &actions {
            assert!(a.get("action_type").and_then(Value::as_str).is_some(), "{a:?}");
            assert!(a.get("target").and_then(Value::as_str).is_some(), "{a:?}");
            assert!(a.get("policy_pack").and_then(Value::as_str).is_some(), "{a:?}");
            assert!(SPREAD_FIELDS.iter().all(|f| !a.contains_key(*f)), "{a:?}");
        }
        assert!(
            actions
                .iter()
                .any(|a| a.get("policy_pack") != Some(&Value::from("cavra-ai-agent-baseline")))
        );
    }

    /// A body is one valid JSON action, keeping the corpus action's own fields and adding the spread.
    #[test]
    fn bodies_are_valid_actions() {
        let actions = corpus_actions().unwrap();
        let mix = ActionMix::new(&actions, &spread(), 7).unwrap();
        for n in 0..2_000 {
            let body: Map<String, Value> = serde_json::from_slice(&mix.body(n)).unwrap();
            let session = n % 10;
            assert_eq!(body["session_id"], format!("bench-t1-{session}"));
            assert_eq!(body["agent_id"], format!("bench-agent-{}", session % 3));
            assert_eq!(body["repository"], format!("bench/repo-{}", session % 4));
            let mut own = body.clone();
            for f in SPREAD_FIELDS {
                own.remove(f);
            }
            assert!(actions.contains(&own), "{own:?}");
        }
    }

    /// Consecutive decisions go to consecutive sessions, and a session does not repeat its last action.
    #[test]
    fn bodies_spread_over_sessions_and_actions() {
        let actions = corpus_actions().unwrap();
        let mix = ActionMix::new(&actions, &spread(), 7).unwrap();
        let sessions: std::collections::BTreeSet<_> = (0..10)
            .map(|n| serde_json::from_slice::<Value>(&mix.body(n)).unwrap()["session_id"].to_string())
            .collect();
        assert_eq!(sessions.len(), 10);
        assert_ne!(mix.body(3), mix.body(13));
    }

    /// The same seed gives the same bodies; another seed another order.
    #[test]
    fn seed_fixes_the_mix() {
        let actions = corpus_actions().unwrap();
        let a = ActionMix::new(&actions, &spread(), 1).unwrap();
        let b = ActionMix::new(&actions, &spread(), 1).unwrap();
        let c = ActionMix::new(&actions, &spread(), 2).unwrap();
        assert!((0..100).all(|n| a.body(n) == b.body(n)));
        assert!((0..100).any(|n| a.body(n) != c.body(n)));
    }

    /// An empty action still makes a well-formed body.
    #[test]
    fn empty_action_tail_closes_the_object() {
        assert_eq!(tail(&Map::new()).unwrap(), "}");
        let mut one = Map::new();
        one.insert("target".to_owned(), Value::from("x"));
        assert_eq!(tail(&one).unwrap(), r#","target":"x"}"#);
    }

    /// Filters parse as KEY=VALUE and keep `=` inside the value.
    #[test]
    fn filter_parsing() {
        let f: Filter = "decision=block".parse().unwrap();
        assert_eq!((f.key.as_str(), f.value.as_str()), ("decision", "block"));
        let f: Filter = "since=2025-01-01T00:00:00Z=x".parse().unwrap();
        assert_eq!(f.value, "2025-01-01T00:00:00Z=x");
        for bad in ["decision", "=block", "decision=", ""] {
            assert!(bad.parse::<Filter>().is_err(), "{bad}");
        }
    }

    /// Filters are checked against the endpoint and the known value sets, with the message naming them.
    #[test]
    fn filters_are_checked() {
        let s = spread();
        let q = |fs: &[&str], r| list_queries(r, &fs.iter().map(|f| f.parse().unwrap()).collect::<Vec<_>>(), &s);
        assert_eq!(
            q(&["decision=block"], ListResource::Decisions).unwrap(),
            ["/decisions?decision=block&limit=50"]
        );
        assert_eq!(
            q(&["repository=acme/pay ments", "limit=10"], ListResource::Decisions).unwrap(),
            ["/decisions?repository=acme%2Fpay+ments&limit=10"]
        );
        assert_eq!(
            q(&["state=active"], ListResource::Sessions).unwrap(),
            ["/sessions?state=active&limit=50"]
        );
        let err = q(&["decision=nope"], ListResource::Decisions).unwrap_err();
        assert!(err.contains("decision") && err.contains("nope"), "{err}");
        let err = q(&["color=red"], ListResource::Decisions).unwrap_err();
        assert!(err.contains("unknown filter `color`"), "{err}");
        assert!(q(&["decision=block"], ListResource::Sessions).is_err());
        assert!(q(&["limit=ten"], ListResource::Decisions).is_err());
    }

    /// Without filters, list queries use one filter each, over values the post workload writes.
    #[test]
    fn default_queries_use_one_filter() {
        let qs = list_queries(ListResource::Decisions, &[], &spread()).unwrap();
        assert!(qs.contains(&"/decisions?decision=block&limit=50".to_owned()), "{qs:?}");
        assert!(
            qs.contains(&"/decisions?repository=bench%2Frepo-0&limit=50".to_owned()),
            "{qs:?}"
        );
        for q in &qs {
            assert_eq!(q.matches('&').count(), 1, "{q}");
        }
        let qs = list_queries(ListResource::Sessions, &[], &spread()).unwrap();
        assert!(
            qs.iter()
                .all(|q| q.starts_with("/sessions?") && !q.contains("decision="))
        );
    }

    /// A mixed run's list share is exact over any whole period, and the extremes are all or none.
    #[test]
    fn list_ratio_is_exact() {
        assert_eq!((0..1_000).filter(|&i| takes_list(i, 0.1)).count(), 100);
        assert_eq!((500..1_500).filter(|&i| takes_list(i, 0.25)).count(), 250);
        assert_eq!((0..100).filter(|&i| takes_list(i, 0.0)).count(), 0);
        assert_eq!((0..100).filter(|&i| takes_list(i, 1.0)).count(), 100);
    }
}
