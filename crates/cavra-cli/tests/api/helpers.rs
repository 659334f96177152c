//! What every API test shares: the real `cavra serve` on port 0 over a fresh store of each
//! backend, in its own temp directory (a guard kills it, and shows its log when the test failed);
//! a fresh PostgreSQL database per test (skipped loudly without a server, unless `CI` is set);
//! tokens made by the real `cavra token create`; and a blocking HTTP client that records every
//! exchange so that `schema.rs` can check each one against `/openapi.json`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a failed assumption is a failed test"
)]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_cavra");

/// The PostgreSQL server every PostgreSQL test makes its own database on.
const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const POSTGRES_BASE_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// Variables that would select another store, address, token file or pack directory than the
/// test says; removed from every child's environment.
const CAVRA_VARIABLES: &[&str] = &[
    "CAVRA_ACTIVITY_DB",
    "CAVRA_ACTIVITY_STORE",
    "CAVRA_LISTEN",
    "CAVRA_TOKENS_FILE",
    "CAVRA_POLICY_DIR",
    "CAVRA_LOG_FORMAT",
    "CAVRA_URL",
    "CAVRA_POLICY_MODE",
];

/// One of the three store backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (`--activity-db path.db`).
    Sqlite,
    /// JSON file (`--activity-store path.json`).
    Json,
    /// PostgreSQL (`--activity-db postgres://...`).
    Postgres,
}

impl Backend {
    /// The name `/health` and `/version` report.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Json => "json",
            Backend::Postgres => "postgres",
        }
    }
}

/// A fresh PostgreSQL database, dropped (connections and all) when the guard goes.
pub struct Database {
    name: String,
}

impl Database {
    /// Its URL.
    pub fn url(&self) -> String {
        format!("{POSTGRES_BASE_URL}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        match admin_client() {
            Ok(mut client) => {
                let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
                if let Err(e) = client.batch_execute(&sql) {
                    eprintln!("warning: cannot drop test database `{}`: {e}", self.name);
                }
            }
            Err(e) => eprintln!("warning: cannot drop test database `{}`: {e}", self.name),
        }
    }
}

fn admin_client() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = POSTGRES_ADMIN_URL.parse()?;
    config.connect_timeout(Duration::from_secs(5));
    config.connect(postgres::NoTls)
}

/// A fresh database for `test`, or `None` (said loudly on stderr) when no PostgreSQL is running
/// and this is not CI. In CI a missing PostgreSQL fails the test.
pub fn fresh_database(test: &str) -> Option<Database> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut client = match admin_client() {
        Ok(c) => c,
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("no PostgreSQL at 127.0.0.1:5432 and CI is set ({e}): {test}");
            }
            // Straight to stderr: `eprintln!` would be captured, and a skip must not pass silently.
            let _ = writeln!(std::io::stderr(), "SKIPPED (no PostgreSQL at 127.0.0.1:5432): {test}");
            return None;
        }
    };
    let name = format!(
        "cavra_api_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .unwrap();
    client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap();
    Some(Database { name })
}

/// Where a server keeps its files: its working directory, so `.cavra/...` defaults stay inside,
/// and its token file.
pub struct Home {
    dir: tempfile::TempDir,
}

/// A token made by `cavra token create`.
#[derive(Debug, Clone)]
pub struct Token {
    /// `tok_...`, for revoking.
    pub id: String,
    /// The secret, for `Authorization: Bearer`.
    pub secret: String,
}

impl Home {
    /// A new, empty home.
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The token file the server is given with `--tokens-file`.
    pub fn tokens_file(&self) -> PathBuf {
        self.path().join("tokens.json")
    }

    /// Runs the real `cavra ARGS...` in this home, without the variables of [`CAVRA_VARIABLES`].
    pub fn cavra(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(self.path());
        for v in CAVRA_VARIABLES {
            cmd.env_remove(v);
        }
        cmd.output().unwrap()
    }

    /// Runs the real `cavra token create --role ROLE [--agent-id A] --tokens-file F --json`.
    pub fn create_token(&self, role: &str, agent_id: Option<&str>) -> Token {
        self.create_token_with(role, agent_id, &[])
    }

    /// Like [`Home::create_token`], with `extra` arguments (e.g. `--policy-mode audit_only`).
    pub fn create_token_with(&self, role: &str, agent_id: Option<&str>, extra: &[&str]) -> Token {
        let file = self.tokens_file();
        let mut args = vec![
            "token",
            "create",
            "--role",
            role,
            "--tokens-file",
            file.to_str().unwrap(),
            "--json",
        ];
        if let Some(agent) = agent_id {
            args.extend(["--agent-id", agent]);
        }
        args.extend(extra);
        let out = self.cavra(&args);
        assert!(
            out.status.success(),
            "cavra token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created: Value = serde_json::from_slice(&out.stdout).expect("token create --json prints JSON");
        Token {
            id: created["id"].as_str().expect("an `id`").to_owned(),
            secret: created["token"].as_str().expect("a `token`").to_owned(),
        }
    }

    /// Runs the real `cavra token revoke ID --tokens-file F`.
    pub fn revoke_token(&self, id: &str) {
        let file = self.tokens_file();
        let out = self.cavra(&["token", "revoke", id, "--tokens-file", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "cavra token revoke failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Which store a server opens.
#[derive(Clone)]
pub enum StoreSpec {
    /// `--activity-db <home>/activity.db`.
    Sqlite,
    /// `--activity-store <home>/activity.json`.
    Json,
    /// `--activity-db <url>`; the guard is kept alive as long as any server uses it.
    Postgres(Arc<Database>),
}

impl StoreSpec {
    /// A fresh store of `backend` for `test`; `None` when PostgreSQL is absent outside CI.
    pub fn fresh(backend: Backend, test: &str) -> Option<StoreSpec> {
        Some(match backend {
            Backend::Sqlite => StoreSpec::Sqlite,
            Backend::Json => StoreSpec::Json,
            Backend::Postgres => StoreSpec::Postgres(Arc::new(fresh_database(test)?)),
        })
    }

    fn args(&self, home: &Home) -> Vec<String> {
        match self {
            StoreSpec::Sqlite => vec![
                "--activity-db".to_owned(),
                home.path().join("activity.db").display().to_string(),
            ],
            StoreSpec::Json => vec![
                "--activity-store".to_owned(),
                home.path().join("activity.json").display().to_string(),
            ],
            StoreSpec::Postgres(db) => vec!["--activity-db".to_owned(), db.url()],
        }
    }

    fn label(&self) -> &'static str {
        match self {
            StoreSpec::Sqlite => "sqlite",
            StoreSpec::Json => "json",
            StoreSpec::Postgres(_) => "postgres",
        }
    }
}

/// Why a server did not start.
#[derive(Debug)]
pub struct StartFailure {
    /// Its exit code.
    pub code: Option<i32>,
    /// What it wrote to stderr.
    pub stderr: String,
}

/// One request and its answer, as recorded for the OpenAPI check.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// The status.
    pub status: u16,
    /// The `Content-Type` answered.
    pub content_type: Option<String>,
    /// The body as text.
    pub body: String,
}

/// Every exchange with one server.
#[derive(Default)]
pub struct Recorder {
    exchanges: Mutex<Vec<Exchange>>,
}

impl Recorder {
    fn push(&self, exchange: Exchange) {
        self.exchanges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(exchange);
    }

    /// Takes what was recorded so far.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// A running `cavra serve`, killed when dropped; its stderr is shown if the test failed.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What the server said on its first stdout line.
    pub banner: String,
    log: PathBuf,
    /// Which store, for messages.
    pub label: &'static str,
    recorder: Arc<Recorder>,
    // Dropped after the child is dead: the home (its files) and the database.
    home: Home,
    _store: StoreSpec,
}

impl Server {
    /// Starts `cavra serve --listen 127.0.0.1:0` over `store` in a new home without tokens.
    pub fn start(store: StoreSpec) -> Server {
        Server::start_in(Home::new(), store, "127.0.0.1:0")
    }

    /// Starts a server over `store` in `home`, listening on `listen`.
    pub fn start_in(home: Home, store: StoreSpec, listen: &str) -> Server {
        match Server::try_start(home, store, listen) {
            Ok(server) => server,
            Err(f) => panic!(
                "cavra serve did not start (exit {:?}); its stderr:\n{}",
                f.code, f.stderr
            ),
        }
    }

    /// Starts a server over `store` in `home` on loopback, with `extra` arguments to `cavra serve`.
    pub fn start_with(home: Home, store: StoreSpec, extra: &[&str]) -> Server {
        match Server::try_start_with(home, store, "127.0.0.1:0", extra) {
            Ok(server) => server,
            Err(f) => panic!(
                "cavra serve did not start (exit {:?}); its stderr:\n{}",
                f.code, f.stderr
            ),
        }
    }

    /// Starts a server, or says why it exited instead.
    pub fn try_start(home: Home, store: StoreSpec, listen: &str) -> Result<Server, StartFailure> {
        Server::try_start_with(home, store, listen, &[])
    }

    /// Starts a server with `extra` arguments to `cavra serve`, or says why it exited instead.
    pub fn try_start_with(home: Home, store: StoreSpec, listen: &str, extra: &[&str]) -> Result<Server, StartFailure> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let log = home
            .path()
            .join(format!("serve-{}.log", NEXT.fetch_add(1, Ordering::Relaxed)));
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .args(["--listen", listen])
            .args(store.args(&home))
            .arg("--tokens-file")
            .arg(home.tokens_file())
            .args(extra)
            .current_dir(home.path())
            .env("CAVRA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
        for v in CAVRA_VARIABLES {
            cmd.env_remove(v);
        }
        let mut child = cmd.spawn().unwrap();
        // Read the first stdout line on a thread, so a server that hangs cannot hang the test;
        // the thread then drains stdout until the server exits.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let banner = line.trim().to_owned();
        let Some(addr) = banner.strip_prefix("cavra listening on http://") else {
            let code = match child.try_wait() {
                Ok(Some(status)) => status.code(),
                _ => {
                    let _ = child.kill();
                    child.wait().ok().and_then(|s| s.code())
                }
            };
            return Err(StartFailure {
                code,
                stderr: std::fs::read_to_string(&log).unwrap_or_default(),
            });
        };
        let port = addr.rsplit(':').next().unwrap().to_owned();
        Ok(Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            banner,
            log,
            label: store.label(),
            recorder: Arc::new(Recorder::default()),
            home,
            _store: store,
        })
    }

    /// The server's home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The server's stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every exchange recorded with this server.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// A client without a token.
    pub fn client(&self) -> Client {
        Client::new(self, None)
    }

    /// A client sending `Authorization: <value>`.
    pub fn client_with(&self, authorization: &str) -> Client {
        Client::new(self, Some(authorization.to_owned()))
    }

    /// A client presenting `token` as a bearer token.
    pub fn client_as(&self, token: &Token) -> Client {
        self.client_with(&format!("Bearer {}", token.secret))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server that exited on its own (a crash, a signal) says so on failure.
        let exited = self.child.try_wait().ok().flatten();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let state = exited.map_or_else(
                || "it was still running".to_owned(),
                |status| format!("it had exited by itself: {status}"),
            );
            eprintln!(
                "--- stderr of `cavra serve` ({}, {}; {state}) ---\n{}--- end of stderr ---",
                self.label,
                self.base,
                self.stderr()
            );
        }
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `METHOD path`, for messages.
    pub request: String,
    /// The status.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: Option<String>,
    /// The `WWW-Authenticate` header, if any.
    pub www_authenticate: Option<String>,
    /// The body.
    pub text: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{}: the body is not JSON ({e}): {}", self.request, self.text))
    }

    /// Asserts the status and returns the body as JSON.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "{} answered {} instead of {status}: {}",
            self.request, self.status, self.text
        );
        self.json()
    }

    /// Asserts an error answer: the status and the `error.code`; returns the message.
    pub fn expect_error(&self, status: u16, code: &str) -> String {
        let body = self.expect(status);
        assert_eq!(
            body["error"]["code"], code,
            "{} answered the wrong error code: {}",
            self.request, self.text
        );
        body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no error message: {}", self.request, self.text))
            .to_owned()
    }
}

/// A blocking HTTP client for one server that records every exchange.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    authorization: Option<String>,
    recorder: Arc<Recorder>,
}

impl Client {
    fn new(server: &Server, authorization: Option<String>) -> Client {
        let config = ureq::Agent::config_builder()
            // Every status is an answer to look at, not an error.
            .http_status_as_error(false)
            // Loopback only: never through a proxy from the environment.
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            base: server.base.clone(),
            authorization,
            recorder: server.recorder.clone(),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            path,
            Some(("application/json", serde_json::to_vec(body).unwrap())),
        )
    }

    /// Any request: `body` is `(content type, bytes)`; an empty content type sends none.
    pub fn send(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Reply {
        self.try_send(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
    }

    /// [`Client::send`], with a failure to get an answer at all as an error.
    pub fn try_send(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Reply, String> {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(value) = &self.authorization {
            request = request.header("Authorization", value);
        }
        let result = match body {
            Some((content_type, bytes)) => {
                if !content_type.is_empty() {
                    request = request.header("Content-Type", content_type);
                }
                self.agent.run(request.body(bytes).unwrap())
            }
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = result.map_err(|e| e.to_string())?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let www_authenticate = header("www-authenticate");
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("cannot read the body: {e}"))?;
        self.recorder.push(Exchange {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            content_type: content_type.clone(),
            body: text.clone(),
        });
        Ok(Reply {
            request: format!("{method} {path}"),
            status,
            content_type,
            www_authenticate,
            text,
        })
    }
}

/// Polls `probe` every 100 ms until it is true or `limit` passes; whether it became true.
pub fn eventually(limit: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if probe() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
