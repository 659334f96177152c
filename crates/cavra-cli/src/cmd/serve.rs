//! `cavra serve`: the HTTP API (SPEC §6) on the configured store.
//!
//! Refuses to listen beyond loopback without API tokens. Prints the address it bound to as the
//! first line of stdout (`--listen 127.0.0.1:0` picks a free port), logs to stderr, and on
//! SIGTERM or Ctrl-C stops accepting, lets in-flight requests finish and closes the store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use cavra_core::Mode;
use cavra_server::AppState;
use cavra_server::auth::{Authenticator, DEFAULT_TOKENS_FILE, TokenFile};

use super::store_args::StoreArgs;
use crate::error::CliError;
use crate::output::say;
use crate::packs;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Serve the HTTP API on the configured store: agents post decisions, people read activity.
///
/// Examples:
///   cavra serve                                  # 127.0.0.1:8710, SQLite .cavra/activity.db
///   cavra token create --role admin && cavra serve --listen 0.0.0.0:8710
///   CAVRA_ACTIVITY_DB=postgres://cavra@db/cavra cavra serve --log-format json
///
/// Logs go to stderr; `CAVRA_LOG` sets the level or a tracing filter (default `info`; `debug`
/// logs every request).
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Address to listen on. Beyond loopback only with API tokens configured.
    #[arg(
        long,
        env = "CAVRA_LISTEN",
        default_value = "127.0.0.1:8710",
        value_name = "HOST:PORT"
    )]
    listen: String,
    #[command(flatten)]
    store: StoreArgs,
    /// Read extra packs from this directory.
    #[arg(long, env = "CAVRA_POLICY_DIR", value_name = "DIR")]
    policy_dir: Option<PathBuf>,
    /// Decide every request in this mode instead of its pack's own: enforce, audit_only or
    /// strict (SPEC §3). An agent token's bound mode, or an admin's `policy_mode` in a request,
    /// still comes first. Not break_glass: a person grants that per request.
    #[arg(long, env = "CAVRA_POLICY_MODE", value_name = "MODE")]
    policy_mode: Option<Mode>,
    /// The API token file (`cavra token create` writes it).
    #[arg(long, env = "CAVRA_TOKENS_FILE", default_value = DEFAULT_TOKENS_FILE, value_name = "FILE")]
    tokens_file: PathBuf,
    /// Log format.
    #[arg(long, env = "CAVRA_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Worker threads for HTTP (default: one per CPU).
    #[arg(long, env = "CAVRA_WORKERS", value_name = "N")]
    workers: Option<usize>,
    /// Sign a checkpoint of every session's head with this Ed25519 key (`cavra evidence keygen`)
    /// every `--checkpoint-interval`, when the log moved, and once more at shutdown.
    #[arg(long, env = "CAVRA_CHECKPOINT_KEY", value_name = "FILE")]
    checkpoint_key: Option<PathBuf>,
    /// Seconds between periodic checkpoints (with `--checkpoint-key`).
    #[arg(
        long,
        env = "CAVRA_CHECKPOINT_INTERVAL",
        value_name = "SECONDS",
        default_value_t = 300
    )]
    checkpoint_interval: u64,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAVRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Runs `cavra serve`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    init_logging(args.log_format);
    let tokens = TokenFile::load(&args.tokens_file).map_err(|e| CliError::Invalid(e.to_string()))?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all().thread_name("cavra-http");
    if let Some(n) = args.workers {
        if n == 0 {
            return Err(CliError::Invalid("--workers must be at least 1".to_owned()));
        }
        runtime.worker_threads(n);
    }
    let runtime = runtime
        .build()
        .map_err(CliError::io("cannot start the async runtime"))?;
    // Bind, check and open everything blocking before entering the runtime: the PostgreSQL
    // client runs its own runtime and must be neither created nor dropped inside ours.
    let listener = std::net::TcpListener::bind(&args.listen)
        .map_err(CliError::io(format!("cannot listen on `{}`", args.listen)))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(CliError::io("cannot read the bound address"))?;
    // Open access only for a loopback server started without tokens: one started with tokens
    // never falls back to open access when they are all revoked or the file is removed.
    let open = addr.ip().is_loopback() && tokens.tokens.is_empty();
    let auth = Authenticator::new(tokens, open);
    if !auth.enabled() && !addr.ip().is_loopback() {
        return Err(CliError::Invalid(format!(
            "refusing to listen on {addr} without API tokens: anyone who can reach it could read and write \
             activity. Create one with `cavra token create --role admin` (tokens file `{}`), or listen on \
             127.0.0.1",
            args.tokens_file.display()
        )));
    }
    listener
        .set_nonblocking(true)
        .map_err(CliError::io("cannot configure the listener"))?;
    if args.policy_mode == Some(Mode::BreakGlass) {
        return Err(CliError::Invalid(
            "--policy-mode break_glass: break-glass is granted by a person per request (an admin token's \
             `policy_mode` with an actor and a justification), never for a whole server"
                .to_owned(),
        ));
    }
    let set = packs::load(args.policy_dir.as_deref())?;
    let pack_count = set.ids().count();
    let checkpoint_key = match &args.checkpoint_key {
        Some(path) => Some(super::evidence::signing_key(path)?),
        None => None,
    };
    if args.checkpoint_interval == 0 {
        return Err(CliError::Invalid(
            "--checkpoint-interval must be at least 1 second".to_owned(),
        ));
    }
    let store = args.store.open()?;
    let mut checkpoints = match checkpoint_key {
        Some(key) => {
            let key_id = cavra_evidence::keys::key_id(&key.verifying_key());
            tracing::info!(
                key = %key_id,
                every_seconds = args.checkpoint_interval,
                "signing evidence checkpoints periodically and at shutdown"
            );
            Some(
                cavra_evidence::checkpoint::Periodic::start(
                    store.clone(),
                    key,
                    std::time::Duration::from_secs(args.checkpoint_interval),
                    |outcome| match outcome {
                        Ok(Some(p)) => tracing::info!(
                            checkpoint = %p.checkpoint_id,
                            sessions = p.session_count,
                            sequence = p.sequence,
                            "evidence checkpoint signed"
                        ),
                        Ok(None) => tracing::debug!("evidence checkpoint skipped: nothing new"),
                        Err(e) => tracing::error!(error = %e, "evidence checkpoint failed"),
                    },
                )
                .map_err(super::evidence::cli_error)?,
            )
        }
        None => {
            tracing::info!("no --checkpoint-key: no periodic evidence checkpoints (see `cavra evidence checkpoint`)");
            None
        }
    };
    let state = AppState::with_policy_mode(store.clone(), set, auth.clone(), args.policy_mode)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(CliError::io("cannot use the listener"))?;
        let _watch = auth.watch(args.tokens_file.clone(), std::time::Duration::from_secs(2));
        if auth.enabled() {
            tracing::info!(tokens = auth.len(), file = %args.tokens_file.display(), "API tokens required");
        } else {
            tracing::warn!(
                "no API tokens configured (`{}`): serving without authentication, loopback only",
                args.tokens_file.display()
            );
        }
        match args.policy_mode {
            Some(mode) => tracing::info!(%mode, "every decision in mode `{mode}` (--policy-mode), not the packs' own"),
            None => tracing::info!("each pack's own mode applies (no --policy-mode)"),
        }
        tracing::info!(%addr, store = %args.store.config(), packs = pack_count, "cavra serve listening");
        say!("cavra listening on http://{addr}");
        cavra_server::serve(listener, state, shutdown_signal())
            .await
            .map_err(CliError::io("the server failed"))?;
        Ok(ExitCode::SUCCESS)
    });
    // In-flight blocking appends finish before the runtime is gone; then the last reference
    // to the store closes it (its writer commits what it holds) outside any async context.
    drop(runtime);
    if let Some(c) = checkpoints.as_mut() {
        c.stop();
    }
    drop(checkpoints);
    drop(store);
    if result.is_ok() {
        tracing::info!("stopped; every acknowledged decision is durable");
    }
    result
}
