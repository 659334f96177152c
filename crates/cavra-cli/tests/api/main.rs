//! The HTTP API of `cavra serve` as clients meet it: the real binary on port 0 over each store
//! backend (SQLite, JSON, PostgreSQL), driven over HTTP.
//!
//! # Layout
//! - `helpers`: the server guard, fresh stores and databases, tokens, the recording client.
//! - `schema`: every recorded answer checked against `/openapi.json` (JSON Schema 2020-12).
//! - `activity`: one suite per backend — seed, filters, paging, time window, sessions, packs,
//!   metrics — and the error table of `table`.
//! - `browser`: the console in headless Chromium through chromedriver, with screenshots.
//! - `console`: every console page and filter over a seeded store, sign-in and its cookie.
//! - `auth`: the role matrix, agent binding, loopback-only without tokens, revocation.
//! - `scale`: two servers on one PostgreSQL database under concurrent writers.
//! - `secrets`: redaction before persistence.
//! - `edges`: NUL characters and huge offsets answer alike on every backend.
//! - `modes`: modes are not the agent's (SPEC §3) — refused fields, admin choice, the server's
//!   and a token's bound mode.
//! - `openapi`: the document itself covers SPEC §6.

mod activity;
mod auth;
mod browser;
mod console;
mod edges;
mod helpers;
mod modes;
mod openapi;
mod scale;
mod schema;
mod secrets;
mod table;
