//! `cavra bench`: a load generator for a running `cavra serve`, shipped in the binary as pgbench is
//! with PostgreSQL.
//!
//! Concurrent clients post realistic decisions and/or run filtered list queries for a duration or a
//! count, then the run prints throughput and latency percentiles. The bench shares its machine with
//! the server it measures, so it is built to be cheap per request: one keep-alive connection per
//! client, requests prepared before the clock starts, per-client histograms merged only at the end.
//!
//! # Layout
//! - `workload`: the action mix from the evaluation corpus, list queries and `--list-filter`.
//! - `client`: the target, connections, one exchange, the client loop.
//! - `report`: tallies, percentiles, the JSON report and the table.

mod client;
mod report;
mod workload;

use std::fmt;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use self::client::{Counters, Endpoint, Plan, Target};
use self::report::{Report, ServerReport, Tally};
use self::workload::{ActionMix, Filter, ListResource, Spread};
use crate::error::CliError;

/// How long a run measures when neither `--duration` nor `--requests` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Warm-up before a `--duration` run unless `--warmup` says otherwise.
const DEFAULT_WARMUP: Duration = Duration::from_secs(1);
/// A `mixed` run's share of list queries unless `--list-ratio` says otherwise.
const DEFAULT_LIST_RATIO: f64 = 0.1;

const AFTER_HELP: &str = "\
Examples:
  # 32 clients posting decisions for 30 seconds (after 1 s of warm-up)
  cavra bench --clients 32 --duration 30s

  # 20,000 list queries filtered on the outcome
  cavra bench --workload list --list-filter decision=block --requests 20000

  # 90% posts and 10% list queries against another server, with a token
  CAVRA_TOKEN=... cavra bench --url http://cavra.internal:8710 --workload mixed --list-ratio 0.1

  # The console's pages, 2,000 GETs in turn (a reviewer token when the server has tokens)
  cavra bench --workload list --clients 4 --requests 2000 --path /console \\
    --path '/console/decisions?decision=block' --path /console/sessions

  # For scripts: one JSON object on stdout
  cavra bench --requests 100000 --json | jq '.throughput_per_s, .latency_us.p99'

Decisions posted are the actions of cavra's evaluation corpus (every built-in pack, dangerous and
benign), spread over --sessions sessions `bench-<run-id>-<n>`, --agents agents `bench-agent-<n>`
and --repositories repositories `bench/repo-<n>`. Without --list-filter, list queries cycle through
one-filter queries (decision, severity, action_type, policy_pack, repository, agent_id), each with
limit=50.

Latency is measured per request, from sending to the whole response read, on successful (2xx)
requests; failures are counted by kind: connect, timeout, io (the connection broke), status (with
the server's error code).

JSON output (--json), one object with stable field names:
  url, run_id, workload, clients, threads, warmup_s, elapsed_s, interrupted,
  requests, ok, errors, throughput_per_s       all workloads together; throughput counts
                                               successful requests per second
  latency_us {p50, p90, p95, p99, p999, max, mean}  microseconds, successful requests only
  errors_by_kind {connect, timeout, io, status}
  errors_by_status [{status, code, count}]
  first_error                                  only when something failed
  reconnects
  workloads {post, list}                       each workload that ran, with the fields above
  server {rss_bytes, rss_mib,                  from GET /metrics after the run, and the `total`
          decisions_before, decisions_after}   of GET /decisions?limit=1 around a run that posts;
                                               each left out when the server did not answer it

Exit codes: 0 done; 1 the server cannot be reached, no request succeeded, or the error rate is
over --max-error-rate; 3 invalid arguments.";

/// What the clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// `POST /decisions` with actions from the corpus.
    Post,
    /// Filtered list queries (`GET /decisions`, or `/sessions` with --list-resource).
    List,
    /// Both, with --list-ratio of the requests being list queries.
    Mixed,
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::Post => "post",
            Workload::List => "list",
            Workload::Mixed => "mixed",
        })
    }
}

/// An API token; never printed, not even by `Debug`.
#[derive(Clone)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl FromStr for Token {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Token(s.to_owned()))
    }
}

/// Load-test a running `cavra serve` with concurrent clients.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Base URL of the server (plain HTTP; a path prefix is kept).
    #[arg(long, env = "CAVRA_URL", default_value = "http://127.0.0.1:8710")]
    url: String,
    /// API token, sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "CAVRA_TOKEN", hide_env_values = true)]
    token: Option<Token>,
    /// Concurrent clients, each with one keep-alive connection.
    #[arg(short, long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    clients: u32,
    /// Measure for this long: `10s`, `500ms`, `2m` [default: 10s].
    #[arg(short = 'T', long, value_parser = parse_positive_duration, conflicts_with = "requests")]
    duration: Option<Duration>,
    /// Measure this many requests in all (shared by the clients) instead of a duration.
    #[arg(short = 'n', long, value_parser = clap::value_parser!(u64).range(1..))]
    requests: Option<u64>,
    /// What to send.
    #[arg(short, long, value_enum, default_value_t = Workload::Post)]
    workload: Workload,
    /// With `--workload mixed`: the share of requests that are list queries, 0 to 1 [default: 0.1].
    #[arg(long, value_parser = parse_ratio)]
    list_ratio: Option<f64>,
    /// Which list endpoint list queries go to.
    #[arg(long, value_enum, default_value_t = ListResource::Decisions)]
    list_resource: ListResource,
    /// A filter of list queries, `KEY=VALUE` (e.g. `decision=block`); repeat it to combine filters
    /// (all must hold). Keys are the endpoint's: for /decisions session_id, agent_id, repository,
    /// policy_pack, decision, severity, action_type, since, until, limit, offset, cursor; for
    /// /sessions agent_id, repository, policy_pack, state, limit, offset. `limit=50` is added
    /// unless given.
    #[arg(long = "list-filter", value_name = "KEY=VALUE")]
    list_filters: Vec<Filter>,
    /// With `--workload list`: `GET` these paths in turn instead of list queries, e.g. the
    /// console's pages (`--path /console --path '/console/decisions?decision=block'`); repeat
    /// for several. Any 2xx answer counts as a success.
    #[arg(long = "path", value_name = "PATH", conflicts_with = "list_filters")]
    paths: Vec<String>,
    /// Sessions the posted decisions are spread over.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    sessions: u32,
    /// Repositories the sessions work in.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    repositories: u32,
    /// Agents the sessions belong to.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    agents: u32,
    /// Send unrecorded requests this long before measuring [default: 1s with a duration, 0s with
    /// --requests].
    #[arg(long, value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// A request without a whole response after this long fails as a timeout.
    #[arg(long, default_value = "5s", value_parser = parse_positive_duration)]
    timeout: Duration,
    /// Worker threads of the bench's runtime.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// Fixes the order of the actions and where each client starts in a mixed run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Names this run's sessions `bench-<run-id>-<n>` [default: the start time, e.g. 20250101T120000].
    #[arg(long, value_parser = parse_run_id)]
    run_id: Option<String>,
    /// Fail (exit 1) when more than this share of requests failed, 0 to 1.
    #[arg(long, value_parser = parse_ratio)]
    max_error_rate: Option<f64>,
    /// Print one JSON object (fields in `--help`) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Everything a run needs, checked and prepared before any connection is made.
struct Run {
    endpoint: Endpoint,
    mix: ActionMix,
    list_queries: Vec<String>,
    workload: Workload,
    list_ratio: f64,
    clients: u32,
    threads: u16,
    duration: Option<Duration>,
    requests: Option<u64>,
    warmup: Duration,
    timeout: Duration,
    seed: u64,
    run_id: String,
}

/// Runs `cavra bench`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let json = a.json;
    let max_error_rate = a.max_error_rate;
    let run = prepare(a)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(run.threads))
        .thread_name("cavra-bench")
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the bench runtime"))?;
    let report = runtime.block_on(bench(run))?;
    drop(runtime);
    if json {
        super::print_json(&report)?;
    } else {
        report::print_table(&report)?;
    }
    let total = &report.total;
    if total.ok == 0 {
        let why = total
            .first_error
            .as_deref()
            .map_or_else(String::new, |e| format!(" (first error: {e})"));
        return Err(CliError::Failed(format!("no request succeeded{why}")));
    }
    if let Some(max) = max_error_rate {
        let rate = total.errors as f64 / total.requests as f64;
        if rate > max {
            return Err(CliError::Failed(format!(
                "{:.2}% of requests failed, over --max-error-rate {:.2}%",
                rate * 100.0,
                max * 100.0
            )));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks the arguments together and prepares the request bodies and queries.
fn prepare(a: Args) -> Result<Run, CliError> {
    let endpoint = Endpoint::parse(&a.url, a.token.as_ref().map(|t| t.0.as_str()))?;
    if a.workload != Workload::Mixed && a.list_ratio.is_some() {
        return Err(CliError::Invalid("--list-ratio needs `--workload mixed`".to_owned()));
    }
    if a.workload == Workload::Post && !a.list_filters.is_empty() {
        return Err(CliError::Invalid(
            "--list-filter needs `--workload list` or `--workload mixed`".to_owned(),
        ));
    }
    let spread = Spread {
        run_id: a
            .run_id
            .unwrap_or_else(|| chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string()),
        sessions: a.sessions,
        agents: a.agents,
        repositories: a.repositories,
    };
    if !a.paths.is_empty() && a.workload != Workload::List {
        return Err(CliError::Invalid("--path needs `--workload list`".to_owned()));
    }
    if let Some(bad) = a.paths.iter().find(|p| !p.starts_with('/')) {
        return Err(CliError::Invalid(format!(
            "--path `{bad}` must start with `/` (a path on the server, e.g. `/console`)"
        )));
    }
    let list_queries = match a.workload {
        Workload::Post => Vec::new(),
        Workload::List if !a.paths.is_empty() => a.paths.clone(),
        Workload::List | Workload::Mixed => {
            workload::list_queries(a.list_resource, &a.list_filters, &spread).map_err(CliError::Invalid)?
        }
    };
    let actions = workload::corpus_actions().map_err(|e| CliError::Failed(format!("bench corpus: {e}")))?;
    let mix = ActionMix::new(&actions, &spread, a.seed).map_err(|e| CliError::Failed(format!("bench corpus: {e}")))?;
    let duration = match a.requests {
        Some(_) => None,
        None => Some(a.duration.unwrap_or(DEFAULT_DURATION)),
    };
    let warmup = a.warmup.unwrap_or(if a.requests.is_some() {
        Duration::ZERO
    } else {
        DEFAULT_WARMUP
    });
    Ok(Run {
        endpoint,
        mix,
        list_queries,
        workload: a.workload,
        list_ratio: a.list_ratio.unwrap_or(DEFAULT_LIST_RATIO),
        clients: a.clients,
        threads: a.threads,
        duration,
        requests: a.requests,
        warmup,
        timeout: a.timeout,
        seed: a.seed,
        run_id: spread.run_id,
    })
}

/// Connects the clients, runs them, and gathers their tallies and the server's numbers.
async fn bench(run: Run) -> Result<Report, CliError> {
    let (target, first) = run.endpoint.reach(run.timeout).await?;
    let posts = run.workload != Workload::List;
    let decisions_before = if posts {
        decision_total(&target, run.timeout).await
    } else {
        None
    };
    // Every client connects before the clock starts; one that cannot retries from its loop.
    let mut senders = vec![Some(first)];
    for _ in 1..run.clients {
        senders.push(target.connect(run.timeout).await.ok());
    }
    let measure_start = Instant::now() + run.warmup;
    let plan = Arc::new(Plan {
        post_uri: target.uri("/decisions")?,
        list_uris: run
            .list_queries
            .iter()
            .map(|q| target.uri(q))
            .collect::<Result<_, _>>()?,
        target: target.clone(),
        mix: run.mix,
        workload: run.workload,
        list_ratio: run.list_ratio,
        clients: u64::from(run.clients),
        timeout: run.timeout,
        measure_start,
        end: run.duration.map(|d| measure_start + d),
        budget: run.requests,
        seed: run.seed,
    });
    let counters = Arc::new(Counters::default());
    let interrupt = tokio::spawn({
        let counters = Arc::clone(&counters);
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                counters.stop.store(true, Relaxed);
            }
        }
    });
    let progress = Progress::start(&plan, &counters);
    let mut clients = Vec::with_capacity(senders.len());
    for (id, sender) in (0u64..).zip(senders) {
        let client = client::run_client(id, Arc::clone(&plan), Arc::clone(&counters), sender, Tally::new()?);
        clients.push(tokio::spawn(client));
    }
    let mut tally = Tally::new()?;
    for client in clients {
        let one = client
            .await
            .map_err(|e| CliError::Failed(format!("a bench client failed: {e}")))?;
        tally.merge(&one)?;
    }
    interrupt.abort();
    if let Some(progress) = progress {
        progress.finish();
    }
    let elapsed_s = tally
        .finished
        .map_or(0.0, |end| end.saturating_duration_since(measure_start).as_secs_f64());
    let (total, workloads) = tally.summary(run.workload, elapsed_s)?;
    let server = ServerReport {
        decisions_before,
        decisions_after: match decisions_before {
            Some(_) => decision_total(&target, run.timeout).await,
            None => None,
        },
        ..resident_memory(&target, run.timeout).await
    };
    Ok(Report {
        url: target.url,
        run_id: run.run_id,
        workload: run.workload,
        clients: run.clients,
        threads: run.threads,
        warmup_s: run.warmup.as_secs_f64(),
        elapsed_s,
        interrupted: counters.stop.load(Relaxed),
        total,
        reconnects: tally.reconnects,
        workloads,
        server,
    })
}

/// `total` of `GET /decisions?limit=1`, if the server answers it.
async fn decision_total(target: &Target, timeout: Duration) -> Option<u64> {
    let body = target.get("/decisions?limit=1", timeout).await.ok()?;
    report::list_total(&body)
}

/// The server's resident memory from `GET /metrics`, if it reports it.
async fn resident_memory(target: &Target, timeout: Duration) -> ServerReport {
    let bytes = match target.get("/metrics", timeout).await {
        Ok(body) => std::str::from_utf8(&body).ok().and_then(report::resident_memory),
        Err(_) => None,
    };
    ServerReport {
        rss_bytes: bytes,
        rss_mib: bytes.map(|b| b as f64 / (1024.0 * 1024.0)),
        ..ServerReport::default()
    }
}

/// The live progress line on a terminal: elapsed time, requests done, current rate.
struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// How often the line is redrawn; the rate shown is over this interval.
    const EVERY: Duration = Duration::from_millis(500);

    /// Starts the line if stderr is a terminal.
    fn start(plan: &Arc<Plan>, counters: &Arc<Counters>) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
            bar.set_style(style);
        }
        let task = tokio::spawn({
            let (bar, plan, counters) = (bar.clone(), Arc::clone(plan), Arc::clone(counters));
            async move {
                let mut tick = tokio::time::interval(Self::EVERY);
                let mut last = (Instant::now(), 0u64);
                loop {
                    tick.tick().await;
                    let now = Instant::now();
                    let done = counters.done.load(Relaxed);
                    let rate = done.saturating_sub(last.1) as f64 / now.duration_since(last.0).as_secs_f64();
                    last = (now, done);
                    if now < plan.measure_start {
                        bar.set_message("warming up");
                    } else {
                        bar.set_message(format!(
                            "{done}{} requests, {rate:.0}/s, {} errors",
                            plan.budget.map_or_else(String::new, |b| format!("/{b}")),
                            counters.failed.load(Relaxed)
                        ));
                    }
                    bar.tick();
                }
            }
        });
        Some(Progress { bar, task })
    }

    fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

/// A duration: a number and a unit, `ms`, `s`, `m` or `h` (seconds when there is none).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("expected a duration like `10s`, `500ms` or `2m`, got `{text}`");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => value / 1_000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3_600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// A duration above zero.
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than zero".to_owned());
    }
    Ok(duration)
}

/// A share from 0 to 1.
fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a number from 0 to 1, got `{text}`")),
    }
}

/// A run id: letters, digits, `.`, `_` and `-`, at most 64.
fn parse_run_id(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "expected 1 to 64 letters, digits, `.`, `_` or `-`, got `{text}`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Durations take the documented units, and bare numbers are seconds.
    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "s", "10x", "-1s", "1e3s", "ten", "1..2s", "10 s"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("expected a duration"), "{bad}: {err}");
        }
        assert!(parse_positive_duration("0ms").is_err());
        assert!(parse_positive_duration("1ms").is_ok());
    }

    /// Ratios are shares from 0 to 1.
    #[test]
    fn ratios() {
        assert_eq!(parse_ratio("0.1"), Ok(0.1));
        assert_eq!(parse_ratio("1"), Ok(1.0));
        for bad in ["-0.1", "1.5", "NaN", "x"] {
            assert!(parse_ratio(bad).is_err(), "{bad}");
        }
    }

    /// Run ids stay safe inside a session id.
    #[test]
    fn run_ids() {
        assert!(parse_run_id("20250101T120000").is_ok());
        assert!(parse_run_id("ci.run_1-a").is_ok());
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            assert!(parse_run_id(bad).is_err(), "{bad}");
        }
    }

    /// The token never shows in `Debug`, so not in a logged `Args` either.
    #[test]
    fn token_is_redacted() {
        let token: Token = "s3cret".parse().unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    fn args(extra: &[&str]) -> Result<Args, clap::Error> {
        use clap::{Args as _, FromArgMatches};
        let cmd = Args::augment_args(clap::Command::new("bench").no_binary_name(true));
        let matches = cmd.try_get_matches_from(extra)?;
        Args::from_arg_matches(&matches)
    }

    /// Arguments that contradict each other are refused with a message naming them (exit 3).
    #[test]
    fn argument_checks() {
        let refused = |extra: &[&str], why: &str| {
            let err = prepare(args(extra).unwrap()).err().unwrap();
            assert!(matches!(err, CliError::Invalid(_)), "{extra:?}");
            assert!(err.to_string().contains(why), "{extra:?}: {err}");
        };
        refused(&["--list-ratio", "0.2"], "--workload mixed");
        refused(&["--list-filter", "decision=block"], "--workload list");
        refused(&["--workload", "list", "--list-filter", "colour=red"], "unknown filter");
        refused(&["--url", "https://x"], "https");
        assert!(args(&["--duration", "1s", "--requests", "5"]).is_err());
        assert!(args(&["--clients", "0"]).is_err());
        assert!(args(&["--duration", "0s"]).is_err());
        assert!(args(&["--list-filter", "decision"]).is_err());
    }

    /// Defaults: 10 s after 1 s of warm-up; with --requests no duration and no warm-up.
    #[test]
    fn schedule_defaults() {
        let run = prepare(args(&["--run-id", "t"]).unwrap()).unwrap();
        assert_eq!(
            (run.duration, run.requests, run.warmup),
            (Some(DEFAULT_DURATION), None, DEFAULT_WARMUP)
        );
        let run = prepare(args(&["--requests", "100"]).unwrap()).unwrap();
        assert_eq!(
            (run.duration, run.requests, run.warmup),
            (None, Some(100), Duration::ZERO)
        );
        let run = prepare(args(&["--workload", "mixed"]).unwrap()).unwrap();
        assert_eq!(run.list_ratio, DEFAULT_LIST_RATIO);
        assert!(!run.list_queries.is_empty());
    }
}
