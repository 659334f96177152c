//! Counting and reporting: each client tallies its measured requests per workload (an HDR histogram
//! of latencies in microseconds, error counts by kind), the tallies are merged after the run, and
//! the result is printed as a table or as one JSON object.
//!
//! Latency percentiles cover successful (2xx) responses only: a refused connection answers in
//! microseconds and would flatter them. Failures are counted by kind instead.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use comfy_table::{CellAlignment, Table, presets::UTF8_BORDERS_ONLY};
use hdrhistogram::Histogram;
use serde::Serialize;

use super::Workload;
use super::client::Failure;
use crate::error::CliError;
use crate::output::say;

/// The slowest latency a histogram tells apart (an hour, in µs); slower ones count as this.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Significant digits kept: 3 means a percentile is within 0.1% of the true value.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Failures of one workload, by kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct ErrorTally {
    connect: u64,
    timeout: u64,
    io: u64,
    status: BTreeMap<(u16, Option<String>), u64>,
    first: Option<String>,
}

impl ErrorTally {
    fn add(&mut self, failure: &Failure) {
        match failure {
            Failure::Connect(_) => self.connect += 1,
            Failure::Timeout => self.timeout += 1,
            Failure::Io(_) => self.io += 1,
            Failure::Status { status, code } => *self.status.entry((*status, code.clone())).or_default() += 1,
        }
        if self.first.is_none() {
            self.first = Some(failure.to_string());
        }
    }

    fn merge(&mut self, other: &ErrorTally) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.io += other.io;
        for (key, n) in &other.status {
            *self.status.entry(key.clone()).or_default() += n;
        }
        if self.first.is_none() {
            self.first.clone_from(&other.first);
        }
    }

    fn total(&self) -> u64 {
        self.connect + self.timeout + self.io + self.status.values().sum::<u64>()
    }
}

/// Measured requests of one workload.
#[derive(Debug, Clone)]
pub(crate) struct WorkloadTally {
    latency_us: Histogram<u64>,
    requests: u64,
    errors: ErrorTally,
}

impl WorkloadTally {
    /// An empty tally.
    pub fn new() -> Result<WorkloadTally, CliError> {
        Ok(WorkloadTally {
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS)
                .map_err(|e| CliError::Failed(format!("cannot make a latency histogram: {e}")))?,
            requests: 0,
            errors: ErrorTally::default(),
        })
    }

    /// Counts one request that took `took` and failed with `failure`, if it did.
    pub fn record(&mut self, took: Duration, failure: Option<&Failure>) {
        self.requests += 1;
        match failure {
            None => {
                let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
                self.latency_us.saturating_record(us.max(1));
            }
            Some(f) => self.errors.add(f),
        }
    }

    fn merge(&mut self, other: &WorkloadTally) -> Result<(), CliError> {
        self.latency_us
            .add(&other.latency_us)
            .map_err(|e| CliError::Failed(format!("cannot merge latency histograms: {e:?}")))?;
        self.requests += other.requests;
        self.errors.merge(&other.errors);
        Ok(())
    }

    /// The report of this tally over `elapsed_s` seconds of measurement.
    fn summary(&self, elapsed_s: f64) -> WorkloadReport {
        let errors = self.errors.total();
        let ok = self.requests.saturating_sub(errors);
        let h = &self.latency_us;
        WorkloadReport {
            requests: self.requests,
            ok,
            errors,
            throughput_per_s: if elapsed_s > 0.0 { ok as f64 / elapsed_s } else { 0.0 },
            latency_us: Latency {
                p50: h.value_at_quantile(0.50),
                p90: h.value_at_quantile(0.90),
                p95: h.value_at_quantile(0.95),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
                mean: h.mean(),
            },
            errors_by_kind: ErrorKinds {
                connect: self.errors.connect,
                timeout: self.errors.timeout,
                io: self.errors.io,
                status: self.errors.status.values().sum(),
            },
            errors_by_status: self
                .errors
                .status
                .iter()
                .map(|((status, code), count)| StatusCount {
                    status: *status,
                    code: code.clone(),
                    count: *count,
                })
                .collect(),
            first_error: self.errors.first.clone(),
        }
    }
}

/// One client's measured requests.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    /// `POST /decisions`.
    pub post: WorkloadTally,
    /// List queries.
    pub list: WorkloadTally,
    /// Connections opened during the run, after the first.
    pub reconnects: u64,
    /// When the client sent its last request.
    pub finished: Option<Instant>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Result<Tally, CliError> {
        Ok(Tally {
            post: WorkloadTally::new()?,
            list: WorkloadTally::new()?,
            reconnects: 0,
            finished: None,
        })
    }

    /// Adds `other` into this tally.
    pub fn merge(&mut self, other: &Tally) -> Result<(), CliError> {
        self.post.merge(&other.post)?;
        self.list.merge(&other.list)?;
        self.reconnects += other.reconnects;
        self.finished = self.finished.max(other.finished);
        Ok(())
    }

    /// The totals and the report of each workload that ran.
    pub fn summary(
        &self,
        workload: Workload,
        elapsed_s: f64,
    ) -> Result<(WorkloadReport, BTreeMap<&'static str, WorkloadReport>), CliError> {
        let mut all = self.post.clone();
        all.merge(&self.list)?;
        let mut each = BTreeMap::new();
        if workload != Workload::List {
            each.insert("post", self.post.summary(elapsed_s));
        }
        if workload != Workload::Post {
            each.insert("list", self.list.summary(elapsed_s));
        }
        Ok((all.summary(elapsed_s), each))
    }
}

/// The result of `cavra bench`, printed by `--json` as one object. Field names are stable.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The `--url` measured.
    pub url: String,
    /// Names this run's sessions: `bench-<run_id>-<n>`.
    pub run_id: String,
    /// `post`, `list` or `mixed`.
    pub workload: Workload,
    /// Concurrent clients.
    pub clients: u32,
    /// Runtime worker threads.
    pub threads: u16,
    /// Warm-up before the measurement, in seconds.
    pub warmup_s: f64,
    /// Measured time, from the end of warm-up until the last response, in seconds.
    pub elapsed_s: f64,
    /// Whether Ctrl-C ended the run early.
    pub interrupted: bool,
    /// All workloads together: `requests`, `ok`, `errors`, `throughput_per_s`, `latency_us`, ...
    #[serde(flatten)]
    pub total: WorkloadReport,
    /// Connections reopened during the run (the server closed one, or one broke or timed out).
    pub reconnects: u64,
    /// Each workload that ran (`post`, `list`), with the same fields as the totals.
    pub workloads: BTreeMap<&'static str, WorkloadReport>,
    /// What the server reported about itself; fields it did not answer are left out.
    pub server: ServerReport,
}

/// The numbers of one workload, or of all together.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WorkloadReport {
    /// Measured requests, successful or not.
    pub requests: u64,
    /// Requests answered with a 2xx status.
    pub ok: u64,
    /// Requests that failed (`requests - ok`).
    pub errors: u64,
    /// Successful requests per second of measured time.
    pub throughput_per_s: f64,
    /// Latency of successful requests, in microseconds.
    pub latency_us: Latency,
    /// Failures by kind.
    pub errors_by_kind: ErrorKinds,
    /// Non-2xx answers by status and the server's `error.code`.
    pub errors_by_status: Vec<StatusCount>,
    /// The first failure seen, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// Latency percentiles, in microseconds (0 when nothing succeeded).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 95th percentile (the console's target is stated at p95).
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// Failure counts by kind.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorKinds {
    /// No connection could be made.
    pub connect: u64,
    /// No whole response within `--timeout`.
    pub timeout: u64,
    /// The connection broke during the exchange.
    pub io: u64,
    /// A status outside 2xx (see `errors_by_status`).
    pub status: u64,
}

/// How often the server answered with one status and error code.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusCount {
    /// HTTP status.
    pub status: u16,
    /// `error.code` of the body, or null if it was not an API error.
    pub code: Option<String>,
    /// Number of such answers.
    pub count: u64,
}

/// What the server said about itself around the run (best effort).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ServerReport {
    /// `process_resident_memory_bytes` from `GET /metrics` after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// The same in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_mib: Option<f64>,
    /// `total` of `GET /decisions?limit=1` before the run (when decisions were posted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions_before: Option<u64>,
    /// The same after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions_after: Option<u64>,
}

/// `process_resident_memory_bytes` in a Prometheus text exposition.
pub(crate) fn resident_memory(metrics: &str) -> Option<u64> {
    metrics.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let name = fields.next()?;
        let bare = name.split('{').next()?;
        if bare != "process_resident_memory_bytes" {
            return None;
        }
        let value: f64 = fields.next()?.parse().ok()?;
        (value.is_finite() && value >= 0.0).then_some(value as u64)
    })
}

/// `total` of a list envelope `{items, total, ...}`.
pub(crate) fn list_total(body: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("total")?
        .as_u64()
}

/// Microseconds as milliseconds with two decimals.
fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// `3 timeout, 2 × HTTP 400 invalid_action`: a workload's failures in a line.
fn error_breakdown(w: &WorkloadReport) -> String {
    let k = &w.errors_by_kind;
    let mut parts: Vec<String> = [("connect", k.connect), ("timeout", k.timeout), ("connection", k.io)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
    parts.extend(w.errors_by_status.iter().map(|s| match &s.code {
        Some(code) => format!("{} × HTTP {} {code}", s.count, s.status),
        None => format!("{} × HTTP {}", s.count, s.status),
    }));
    parts.join(", ")
}

/// Prints the report as a table with a few lines around it.
pub(crate) fn print_table(r: &Report) -> Result<(), CliError> {
    say!(
        "cavra bench: {} {}, {} client(s) on {} thread(s), {:.2} s measured after {:.2} s warm-up (run {})",
        r.workload,
        r.url,
        r.clients,
        r.threads,
        r.elapsed_s,
        r.warmup_s,
        r.run_id
    );
    if r.interrupted {
        say!("interrupted: the numbers cover the requests made until Ctrl-C");
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header([
        "workload", "requests", "errors", "ok/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms",
    ]);
    let mut rows: Vec<(&str, &WorkloadReport)> = r.workloads.iter().map(|(k, v)| (*k, v)).collect();
    if rows.len() > 1 {
        rows.push(("all", &r.total));
    }
    for (name, w) in rows {
        let l = &w.latency_us;
        table.add_row([
            name.to_owned(),
            w.requests.to_string(),
            w.errors.to_string(),
            format!("{:.0}", w.throughput_per_s),
            ms(l.p50),
            ms(l.p90),
            ms(l.p95),
            ms(l.p99),
            ms(l.p999),
            ms(l.max),
        ]);
    }
    for i in 1..10 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    say!("{table}");
    let several = r.workloads.len() > 1;
    for (name, w) in r.workloads.iter().filter(|(_, w)| w.errors > 0) {
        let label = if several { format!(" ({name})") } else { String::new() };
        say!("errors{label}: {}", error_breakdown(w));
    }
    if let Some(first) = &r.total.first_error {
        say!("first error: {first}");
    }
    if r.reconnects > 0 {
        say!("reconnects: {}", r.reconnects);
    }
    let s = &r.server;
    if let Some(mib) = s.rss_mib {
        say!("server resident memory: {mib:.1} MiB");
    }
    if let (Some(before), Some(after)) = (s.decisions_before, s.decisions_after) {
        say!(
            "stored decisions: {before} → {after} ({:+})",
            i128::from(after) - i128::from(before)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally_of(latencies_us: &[u64]) -> WorkloadTally {
        let mut t = WorkloadTally::new().unwrap();
        for &us in latencies_us {
            t.record(Duration::from_micros(us), None);
        }
        t
    }

    /// Percentiles of a known distribution land on the right values (within HDR's precision).
    #[test]
    fn percentiles() {
        let t = tally_of(&(1..=10_000).collect::<Vec<_>>());
        let s = t.summary(2.0);
        assert_eq!((s.requests, s.ok, s.errors), (10_000, 10_000, 0));
        assert!((s.throughput_per_s - 5_000.0).abs() < 1e-9);
        let l = &s.latency_us;
        for (got, want) in [
            (l.p50, 5_000),
            (l.p90, 9_000),
            (l.p95, 9_500),
            (l.p99, 9_900),
            (l.p999, 9_990),
            (l.max, 10_000),
        ] {
            assert!(got.abs_diff(want) <= want / 1_000 + 1, "{got} vs {want}");
        }
        assert!((l.mean - 5_000.5).abs() < 10.0, "{}", l.mean);
    }

    /// Failures count as requests and errors but stay out of latency and throughput.
    #[test]
    fn failures_are_counted_not_timed() {
        let mut t = tally_of(&[1_000, 1_000]);
        t.record(Duration::from_micros(5), Some(&Failure::Connect("refused".into())));
        t.record(Duration::from_secs(5), Some(&Failure::Timeout));
        let bad = Failure::Status {
            status: 400,
            code: Some("invalid_action".into()),
        };
        t.record(Duration::from_micros(100), Some(&bad));
        t.record(Duration::from_micros(100), Some(&bad));
        let s = t.summary(1.0);
        assert_eq!((s.requests, s.ok, s.errors), (6, 2, 4));
        assert_eq!(s.throughput_per_s, 2.0);
        assert_eq!(s.latency_us.max, 1_000);
        assert_eq!(s.latency_us.p50, 1_000);
        let k = &s.errors_by_kind;
        assert_eq!((k.connect, k.timeout, k.io, k.status), (1, 1, 0, 2));
        assert_eq!(s.errors_by_status.len(), 1);
        assert_eq!(s.errors_by_status[0].count, 2);
        assert_eq!(s.first_error.as_deref(), Some("connect: refused"));
    }

    /// Merged tallies give the percentiles of all requests together, and each workload its own.
    #[test]
    fn merging() {
        let mut a = Tally::new().unwrap();
        let mut b = Tally::new().unwrap();
        a.post = tally_of(&[100; 90]);
        b.post = tally_of(&[200; 10]);
        b.list = tally_of(&[5_000; 100]);
        b.reconnects = 2;
        a.merge(&b).unwrap();
        let (all, each) = a.summary(Workload::Mixed, 1.0).unwrap();
        assert_eq!(all.requests, 200);
        assert_eq!(each["post"].requests, 100);
        assert_eq!(each["post"].latency_us.p90, 100);
        assert_eq!(each["post"].latency_us.max, 200);
        assert!(each["list"].latency_us.p50.abs_diff(5_000) <= 5);
        assert_eq!(a.reconnects, 2);
        let (_, each) = a.summary(Workload::Post, 1.0).unwrap();
        assert_eq!(each.keys().copied().collect::<Vec<_>>(), ["post"]);
    }

    /// A workload's failures read as one line, kinds first, then statuses with their codes.
    #[test]
    fn breakdown_line() {
        let mut t = tally_of(&[10]);
        t.record(Duration::ZERO, Some(&Failure::Timeout));
        t.record(
            Duration::ZERO,
            Some(&Failure::Status {
                status: 502,
                code: None,
            }),
        );
        for _ in 0..2 {
            let bad = Failure::Status {
                status: 400,
                code: Some("invalid_action".into()),
            };
            t.record(Duration::ZERO, Some(&bad));
        }
        assert_eq!(
            error_breakdown(&t.summary(1.0)),
            "1 timeout, 2 × HTTP 400 invalid_action, 1 × HTTP 502"
        );
    }

    /// An empty run reports zeros, not a division by zero.
    #[test]
    fn empty_summary() {
        let s = WorkloadTally::new().unwrap().summary(0.0);
        assert_eq!(
            (s.requests, s.throughput_per_s, s.latency_us.p99, s.latency_us.max),
            (0, 0.0, 0, 0)
        );
    }

    /// The JSON report has the documented fields at the top and per workload.
    #[test]
    fn json_shape() {
        let t = tally_of(&[1_000]);
        let report = Report {
            url: "http://127.0.0.1:8710".into(),
            run_id: "r".into(),
            workload: Workload::Post,
            clients: 1,
            threads: 2,
            warmup_s: 0.0,
            elapsed_s: 1.0,
            interrupted: false,
            total: t.summary(1.0),
            reconnects: 0,
            workloads: BTreeMap::from([("post", t.summary(1.0))]),
            server: ServerReport::default(),
        };
        let v = serde_json::to_value(&report).unwrap();
        for key in [
            "requests",
            "ok",
            "errors",
            "throughput_per_s",
            "latency_us",
            "errors_by_kind",
        ] {
            assert!(v.get(key).is_some(), "{key}");
            assert!(v["workloads"]["post"].get(key).is_some(), "{key}");
        }
        for key in ["p50", "p90", "p95", "p99", "p999", "max"] {
            assert!(v["workloads"]["post"]["latency_us"][key].is_u64(), "{key}");
        }
        assert_eq!(v["workload"], "post");
        assert_eq!(v["server"], serde_json::json!({}));
    }

    /// The resident set is read from Prometheus text, with or without labels, in any number format.
    #[test]
    fn metrics_parsing() {
        let text = "# HELP process_resident_memory_bytes Resident memory.\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes_total 1\n\
                    process_resident_memory_bytes 4.2e7\n";
        assert_eq!(resident_memory(text), Some(42_000_000));
        assert_eq!(
            resident_memory("process_resident_memory_bytes{pid=\"1\"} 123\n"),
            Some(123)
        );
        assert_eq!(resident_memory("cavra_decisions_total 5\n"), None);
        assert_eq!(list_total(br#"{"items":[],"total":17,"limit":1,"offset":0}"#), Some(17));
        assert_eq!(list_total(b"oops"), None);
    }
}
