//! The activity store's integration suite (SPEC §5), one binary:
//! - [`conformance`]: one set of behaviours, instantiated against SQLite, JSON and PostgreSQL.
//! - [`crash`]: a writer killed with SIGKILL at a random moment loses no acknowledged decision.
//! - [`concurrency`]: two processes appending to one store lose nothing and keep chains intact.
//! - [`helpers`]: fresh stores per test, the deterministic seed, the model and the invariant checks.
//!
//! `crash` and `concurrency` run this binary again as their writer processes (`--exact
//! crash::child` with `CAVRA_CRASH_CHILD`, `concurrency::child` with `CAVRA_CONCURRENT_CHILD`);
//! without those variables the `child` tests return at once.
//!
//! PostgreSQL tests create a fresh database per test on `127.0.0.1:5432` and drop it afterwards;
//! without a server they are reported as SKIPPED on stderr, unless `CI` is set, where they fail.

mod concurrency;
mod conformance;
mod crash;
mod helpers;
