//! Session bundles (SPEC §7): one session exported to a directory an auditor can verify offline.
//!
//! ```text
//! DIR/decisions.jsonl   the session's records, oldest first, one JSON object per line
//! DIR/summary.json      its summary, as the store keeps it
//! DIR/chain.json        its chain at export: status (check_chain) and each record's links
//! DIR/checkpoint.json   the latest signed checkpoint, when one is stored and covers the session
//! DIR/manifest.json     every file above with its SHA-256 and size, the session and the key id
//! DIR/manifest.sig      Ed25519 signature over manifest.json, hex
//! ```
//!
//! Verification never passes a bundle without checking the manifest's signature with a public
//! key given by the auditor; it fails on a file missing, changed, not in the manifest, or named
//! by the manifest outside the directory (`..`, absolute paths, symlinks, subdirectories).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use cavra_core::integrity::{self, ExpectedHead};
use cavra_store::{ActivityStore, CheckpointRow, SessionSummary, StoredDecision};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::checkpoint;
use crate::error::EvidenceError;
use crate::keys;
use crate::verify::{self, Finding, FindingKind, Options, Report, Status};

/// `schema` of a bundle manifest.
pub const BUNDLE_SCHEMA: &str = "cavra.bundle.v1";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The manifest signature's file name.
pub const SIGNATURE: &str = "manifest.sig";
const DECISIONS: &str = "decisions.jsonl";
const SUMMARY: &str = "summary.json";
const CHAIN: &str = "chain.json";
const CHECKPOINT: &str = "checkpoint.json";
/// Files a bundle may hold besides the manifest and its signature.
const FILES: [&str; 4] = [DECISIONS, SUMMARY, CHAIN, CHECKPOINT];

/// One file of a bundle, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Its name inside the bundle directory.
    pub path: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What `manifest.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`BUNDLE_SCHEMA`].
    pub schema: String,
    /// The session exported.
    pub session_id: String,
    /// When, RFC 3339.
    pub created_at: String,
    /// The signing key's id.
    pub key_id: String,
    /// Decisions in `decisions.jsonl`.
    pub decision_count: u64,
    /// Every file, by name.
    pub files: Vec<ManifestFile>,
}

/// What writing a bundle did.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    /// The directory.
    pub directory: String,
    /// The manifest written.
    pub manifest: Manifest,
}

/// Checks that `dir` may receive a bundle: absent, or an empty directory; with `force`, a
/// directory holding only bundle files (which are replaced). Never a symlink.
fn prepare_dir(dir: &Path, force: bool) -> Result<(), EvidenceError> {
    match fs::symlink_metadata(dir) {
        Err(_) => fs::create_dir_all(dir).map_err(EvidenceError::io(format!("cannot create `{}`", dir.display()))),
        Ok(meta) if meta.file_type().is_symlink() => Err(EvidenceError::Invalid(format!(
            "`{}` is a symlink; give the real directory",
            dir.display()
        ))),
        Ok(meta) if !meta.is_dir() => Err(EvidenceError::Invalid(format!(
            "`{}` is not a directory",
            dir.display()
        ))),
        Ok(_) => {
            let entries: Vec<String> = fs::read_dir(dir)
                .map_err(EvidenceError::io(format!("cannot read `{}`", dir.display())))?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if entries.is_empty() {
                return Ok(());
            }
            let ours = |name: &str| name == MANIFEST || name == SIGNATURE || FILES.contains(&name);
            if !force {
                return Err(EvidenceError::Invalid(format!(
                    "`{}` is not empty; give an empty or new directory (or --force to replace a bundle there)",
                    dir.display()
                )));
            }
            if let Some(other) = entries.iter().find(|n| !ours(n)) {
                return Err(EvidenceError::Invalid(format!(
                    "`{}` holds `{other}`, which is not a bundle file; --force only replaces a bundle",
                    dir.display()
                )));
            }
            for name in entries {
                let path = dir.join(&name);
                fs::remove_file(&path).map_err(EvidenceError::io(format!("cannot replace `{}`", path.display())))?;
            }
            Ok(())
        }
    }
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<ManifestFile, EvidenceError> {
    let path = dir.join(name);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&path)
        .map_err(EvidenceError::io(format!("cannot create `{}`", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(EvidenceError::io(format!("cannot write `{}`", path.display())))?;
    Ok(ManifestFile {
        path: name.to_owned(),
        sha256: integrity::hex(&Sha256::digest(bytes)),
        bytes: bytes.len() as u64,
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, EvidenceError> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// Writes the bundle of `session_id` from `store` into `dir`, signed with `key`.
pub fn write_bundle(
    store: &dyn ActivityStore,
    session_id: &str,
    dir: &Path,
    key: &SigningKey,
    force: bool,
) -> Result<Written, EvidenceError> {
    let summary = store
        .get_session(session_id)?
        .ok_or_else(|| EvidenceError::Invalid(format!("no session `{session_id}` in the store")))?;
    let records = store.session_decisions(session_id)?;
    // Exactly the session's records: a record the store files under this session but that
    // names another was moved (its session column changed), and is not this session's evidence.
    if let Some(foreign) = records.iter().find(|r| r.session_id != session_id) {
        return Err(EvidenceError::Invalid(format!(
            "the store files decision `{}` under session `{session_id}`, but the record belongs to session `{}`: \
             the store was altered (run `cavra evidence verify`)",
            foreign.decision_id, foreign.session_id
        )));
    }
    // The latest checkpoint, when it covers the session; one made before the session began
    // proves nothing about it (verification says so).
    let checkpoint = store.latest_checkpoint()?.filter(|row| {
        checkpoint::parse_payload(row).map_or(true, |p| p.sessions.iter().any(|h| h.session_id == session_id))
    });
    prepare_dir(dir, force)?;
    let mut lines = Vec::new();
    for r in &records {
        serde_json::to_writer(&mut lines, r).map_err(|e| EvidenceError::Invalid(e.to_string()))?;
        lines.push(b'\n');
    }
    let status = integrity::check_chain(
        session_id,
        &records,
        Some(ExpectedHead {
            head_hash: summary.head_hash.as_deref(),
            decision_count: summary.decision_count,
        }),
    );
    let links: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            serde_json::json!({
                "sequence": r.sequence,
                "decision_id": r.decision_id,
                "prev_hash": r.prev_hash,
                "record_hash": r.record_hash,
            })
        })
        .collect();
    let chain = serde_json::json!({"session_id": session_id, "status": status, "links": links});
    let mut files = vec![
        write_file(dir, DECISIONS, &lines)?,
        write_file(dir, SUMMARY, &to_json(&summary)?)?,
        write_file(dir, CHAIN, &to_json(&chain)?)?,
    ];
    if let Some(row) = &checkpoint {
        files.push(write_file(dir, CHECKPOINT, &to_json(row)?)?);
    }
    let manifest = Manifest {
        schema: BUNDLE_SCHEMA.to_owned(),
        session_id: session_id.to_owned(),
        created_at: cavra_store::stamp::rfc3339_micros(chrono::Utc::now()),
        key_id: keys::key_id(&key.verifying_key()),
        decision_count: records.len() as u64,
        files,
    };
    let manifest_bytes = to_json(&manifest)?;
    write_file(dir, MANIFEST, &manifest_bytes)?;
    let signature = keys::sign(key, &manifest_bytes);
    write_file(dir, SIGNATURE, format!("{signature}\n").as_bytes())?;
    Ok(Written {
        directory: dir.display().to_string(),
        manifest,
    })
}

/// Whether `dir` looks like a bundle (has a manifest), to tell it from a store path.
pub fn is_bundle(dir: &Path) -> bool {
    dir.is_dir() && dir.join(MANIFEST).exists()
}

/// Reads a regular file inside the bundle (never through a symlink).
fn read_regular(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let path = dir.join(name);
    let meta = fs::symlink_metadata(&path).map_err(|_| format!("`{name}` is missing"))?;
    if !meta.file_type().is_file() {
        return Err(format!("`{name}` is not a regular file (a symlink or directory)"));
    }
    fs::read(&path).map_err(|e| format!("`{name}` cannot be read: {e}"))
}

/// A name the manifest may use: one plain component of the directory.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\')
        && !name.contains('\0')
}

/// Verifies the bundle in `dir` offline. Without a public key the manifest signature cannot be
/// checked, so the result is at best [`Status::Unverified`].
pub fn verify_bundle(dir: &Path, options: &Options<'_>) -> Result<Report, EvidenceError> {
    let source = format!("bundle:{}", dir.display());
    let meta = fs::symlink_metadata(dir).map_err(EvidenceError::io(format!("cannot read `{}`", dir.display())))?;
    if !meta.is_dir() {
        return Err(EvidenceError::Invalid(format!(
            "`{}` is not a bundle directory",
            dir.display()
        )));
    }
    let mut findings = Vec::new();
    let mut checked = Vec::new();
    let mut not_checked = Vec::new();
    let bundle = |message: String| Finding {
        kind: FindingKind::Bundle,
        session_id: None,
        decision_id: None,
        sequence: None,
        message,
    };
    let manifest_bytes = read_regular(dir, MANIFEST).map_err(EvidenceError::Invalid)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| EvidenceError::Invalid(format!("`{MANIFEST}` is not a bundle manifest: {e}")))?;
    if manifest.schema != BUNDLE_SCHEMA {
        return Err(EvidenceError::Invalid(format!(
            "unknown bundle schema `{}`",
            manifest.schema
        )));
    }
    let mut signature_unchecked = false;
    match &options.public_key {
        Some(key) => {
            let given = keys::key_id(key);
            let signature = read_regular(dir, SIGNATURE)
                .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
                .unwrap_or_default();
            if manifest.key_id != given {
                findings.push(bundle(format!(
                    "the manifest names key `{}`, not the key given (`{given}`)",
                    manifest.key_id
                )));
            } else if !keys::verify(key, &manifest_bytes, &signature) {
                findings.push(bundle(format!(
                    "the manifest's signature does not verify with key `{given}`: the manifest was changed or forged"
                )));
            } else {
                checked.push(format!("the manifest's Ed25519 signature (key `{given}`)"));
            }
        }
        None => {
            signature_unchecked = true;
            not_checked.push(format!(
                "the manifest's signature (key `{}`): no public key was given (--public-key), so nothing in this \
                 bundle is proven authentic",
                manifest.key_id
            ));
        }
    }
    // Every manifest entry: a plain name, a regular file, the right hash.
    let mut listed = std::collections::HashSet::new();
    let mut contents: std::collections::HashMap<String, Vec<u8>> = std::collections::HashMap::new();
    for f in &manifest.files {
        if !safe_name(&f.path) || f.path == MANIFEST || f.path == SIGNATURE {
            findings.push(bundle(format!(
                "the manifest names `{}`, which is not a plain file of the bundle directory",
                f.path
            )));
            continue;
        }
        if !listed.insert(f.path.clone()) {
            findings.push(bundle(format!("the manifest lists `{}` twice", f.path)));
            continue;
        }
        match read_regular(dir, &f.path) {
            Err(why) => findings.push(bundle(why)),
            Ok(bytes) => {
                let sha = integrity::hex(&Sha256::digest(&bytes));
                if sha != f.sha256 || bytes.len() as u64 != f.bytes {
                    findings.push(bundle(format!(
                        "`{}` was changed: its SHA-256 is not the manifest's",
                        f.path
                    )));
                }
                contents.insert(f.path.clone(), bytes);
            }
        }
    }
    for required in [DECISIONS, SUMMARY] {
        if !listed.contains(required) {
            findings.push(bundle(format!("the manifest does not list `{required}`")));
        }
    }
    // Every directory entry: listed.
    for entry in fs::read_dir(dir).map_err(EvidenceError::io(format!("cannot read `{}`", dir.display())))? {
        let entry = entry.map_err(EvidenceError::io(format!("cannot read `{}`", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != MANIFEST && name != SIGNATURE && !listed.contains(&name) {
            findings.push(bundle(format!("`{name}` is in the bundle but not in its manifest")));
        }
    }
    checked.push("every file's SHA-256 against the manifest; no file missing, extra or outside the bundle".into());
    let summary: Option<SessionSummary> = contents.get(SUMMARY).and_then(|b| {
        serde_json::from_slice(b)
            .map_err(|e| findings.push(bundle(format!("`{SUMMARY}`: {e}"))))
            .ok()
    });
    let Some(summary) = summary else {
        return Ok(bundle_report(
            source,
            findings,
            checked,
            not_checked,
            signature_unchecked,
            options,
        ));
    };
    if summary.session_id != manifest.session_id {
        findings.push(bundle(format!(
            "`{SUMMARY}` is session `{}`, the manifest says `{}`",
            summary.session_id, manifest.session_id
        )));
    }
    let mut records = Vec::new();
    if let Some(bytes) = contents.get(DECISIONS) {
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let sequence = canonical::parse(line)
                .and_then(|n| n.get("sequence").and_then(canonical::Node::as_u64))
                .unwrap_or(0);
            records.push(StoredDecision {
                sequence,
                record: std::borrow::Cow::Owned(line.to_owned()),
                columns: None,
            });
        }
    }
    if records.len() as u64 != manifest.decision_count {
        findings.push(bundle(format!(
            "`{DECISIONS}` holds {} records, the manifest says {}",
            records.len(),
            manifest.decision_count
        )));
    }
    let checkpoint: Option<CheckpointRow> = contents.get(CHECKPOINT).and_then(|b| {
        serde_json::from_slice(b)
            .map_err(|e| findings.push(bundle(format!("`{CHECKPOINT}`: {e}"))))
            .ok()
    });
    let mut report = verify::verify_session(
        source,
        records,
        &summary,
        checkpoint.as_ref(),
        options,
        checked,
        findings,
    )?;
    report.not_checked.splice(0..0, not_checked);
    if report.status == Status::Intact && signature_unchecked {
        report.status = Status::Unverified;
        report.intact = false;
    }
    Ok(report)
}

fn bundle_report(
    source: String,
    findings: Vec<Finding>,
    checked: Vec<String>,
    not_checked: Vec<String>,
    signature_unchecked: bool,
    options: &Options<'_>,
) -> Report {
    let status = Status::of(!findings.is_empty(), signature_unchecked);
    Report {
        status,
        intact: status == Status::Intact,
        source,
        records: 0,
        sessions: 0,
        high_water_sequence: 0,
        public_key_id: options.public_key.as_ref().map(keys::key_id),
        checkpoint: verify::CheckpointReport {
            state: verify::CheckpointState::Absent,
            checkpoint_id: None,
            created_at: None,
            key_id: None,
            sequence: None,
            sessions: None,
        },
        checked,
        not_checked,
        findings,
    }
}
