//! Loading packs: the built-ins plus every `*.yaml` (or `<id>/policy.yaml`) in
//! `CAVRA_POLICY_DIR` (default `.cavra/policies`).
//!
//! Files are found by listing the directory, never by joining a user-given pack id into a path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use cavra_core::PackSet;

use cavra_core::pack::{BUILTIN_PACKS, builtin_pack_for_decisions, builtin_sources, parse_pack};

use crate::error::CliError;

/// The directory extra packs load from.
pub const DEFAULT_POLICY_DIR: &str = ".cavra/policies";

/// Pack files in `dir`: `*.yaml`/`*.yml` and `*/policy.yaml`, sorted.
pub fn pack_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(CliError::io(format!(
        "cannot read policy directory `{}`",
        dir.display()
    )))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(CliError::io(format!(
                "cannot read policy directory `{}`",
                dir.display()
            )))?
            .path();
        if path.is_dir() {
            let nested = path.join("policy.yaml");
            if nested.is_file() {
                files.push(nested);
            }
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads pack sources from a file or a directory.
pub fn read_sources(path: &Path) -> Result<Vec<(String, String)>, CliError> {
    let files = if path.is_dir() {
        pack_files(path)?
    } else {
        vec![path.to_path_buf()]
    };
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).map_err(CliError::io(format!("cannot read `{}`", f.display())))?;
            Ok((f.display().to_string(), text))
        })
        .collect()
}

/// The built-in packs' sources plus the policy directory's (when it exists).
fn sources(policy_dir: Option<&Path>) -> Result<Vec<(String, String)>, CliError> {
    let mut sources = builtin_sources();
    sources.extend(local_sources(policy_dir)?);
    Ok(sources)
}

/// The policy directory's pack sources (none when it does not exist).
fn local_sources(policy_dir: Option<&Path>) -> Result<Vec<(String, String)>, CliError> {
    let dir = policy_dir.map_or_else(|| PathBuf::from(DEFAULT_POLICY_DIR), Path::to_path_buf);
    if dir.is_dir() {
        read_sources(&dir)
    } else if policy_dir.is_some() && dir.exists() {
        Err(CliError::Invalid(format!(
            "`CAVRA_POLICY_DIR` `{}` is not a directory",
            dir.display()
        )))
    } else {
        Ok(Vec::new())
    }
}

/// The built-in packs plus the policy directory's (when it exists).
pub fn load(policy_dir: Option<&Path>) -> Result<PackSet, CliError> {
    Ok(PackSet::load(&sources(policy_dir)?)?)
}

/// Like [`load`], for one-shot processes such as the hook that decide with the one pack `id`:
/// only the built-in packs it needs (itself and what it, or a policy-directory pack, inherits)
/// are read — from the form prepared at build time, without their inline tests
/// ([`builtin_pack_for_decisions`]) — and only `id` is compiled. Every policy-directory file is
/// still parsed and validated.
pub fn load_one(policy_dir: Option<&Path>, id: &str) -> Result<PackSet, CliError> {
    let local: Vec<_> = local_sources(policy_dir)?
        .into_iter()
        .map(|(file, text)| parse_pack(&file, &text))
        .collect();
    let mut needed: Vec<String> = vec![id.to_owned()];
    needed.extend(local.iter().flatten().flat_map(|p| p.inherits.iter().cloned()));
    let mut builtin = Vec::new();
    let mut seen = HashSet::new();
    while let Some(want) = needed.pop() {
        if !seen.insert(want.clone()) {
            continue;
        }
        let Some(parsed) = builtin_pack_for_decisions(&want) else {
            continue;
        };
        if let Ok(pack) = &parsed {
            needed.extend(pack.inherits.iter().cloned());
        }
        builtin.push(parsed);
    }
    let mut known: Vec<String> = BUILTIN_PACKS.iter().map(|(name, _)| (*name).to_owned()).collect();
    known.extend(local.iter().flatten().map(|p| p.id.clone()));
    builtin.extend(local);
    let set = PackSet::load_parsed(builtin, |p| p == id)?;
    if set.get(id).is_none() {
        known.sort();
        return Err(CliError::Invalid(format!(
            "unknown policy pack `{id}` (known: {})",
            known.join(", ")
        )));
    }
    Ok(set)
}

/// The pack with this id, or an error listing the loaded ones.
pub fn get(set: &PackSet, id: &str) -> Result<std::sync::Arc<cavra_core::CompiledPack>, CliError> {
    set.get(id).ok_or_else(|| {
        CliError::Invalid(format!(
            "unknown policy pack `{id}` (loaded: {})",
            set.ids().collect::<Vec<_>>().join(", ")
        ))
    })
}
