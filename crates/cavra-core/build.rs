//! Prepares the embedded YAML for fast reading at run time (`src/pack/prepared.rs` says why and
//! defines the forms): every program-model file (`programs/*.yaml`) as JSON, every built-in pack
//! (`packs/*.yaml`) as its YAML tree with lines and columns, without its inline tests. Each
//! directory also gets a table, `OUT_DIR/<dir>.rs`, of `(file name, prepared text)` that the
//! library includes.
//!
//! The files are read as they are when the crate is built. One that cannot be prepared (invalid
//! YAML, a tag) is written empty with a warning and read from its YAML at run time, as before.

#[allow(
    dead_code,
    reason = "the library reads the prepared forms; the build script only writes them"
)]
#[path = "src/pack/prepared.rs"]
mod prepared;

use std::path::{Path, PathBuf};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("`OUT_DIR` is not set")?);
    prepare_dir("programs", &out, |yaml| {
        prepared::yaml_value(yaml).map(|v| v.to_string())
    })?;
    // A one-shot process decides with a pack and never runs its inline tests.
    prepare_dir("packs", &out, |yaml| prepared::pack_tree(yaml, Some("tests")))?;
    Ok(())
}

/// Prepares every `*.yaml` of `dir` into `out/dir/<name>.json` and writes the table `out/dir.rs`.
fn prepare_dir(dir: &str, out: &Path, prepare: fn(&str) -> Result<String, String>) -> Result<(), String> {
    println!("cargo::rerun-if-changed={dir}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read `{dir}`: {e}"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read `{dir}`: {e}"))?;
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    let target_dir = out.join(dir);
    std::fs::create_dir_all(&target_dir).map_err(|e| format!("cannot create `{}`: {e}", target_dir.display()))?;
    let mut table = String::from("&[\n");
    for path in files {
        let (Some(name), Some(stem)) = (
            path.file_name().and_then(|n| n.to_str()),
            path.file_stem().and_then(|n| n.to_str()),
        ) else {
            continue;
        };
        let yaml = std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let text = prepare(&yaml).unwrap_or_else(|why| {
            println!("cargo::warning={dir}/{name} is read from YAML at run time: {why}");
            String::new()
        });
        let target = target_dir.join(format!("{stem}.json"));
        write(&target, &text)?;
        table.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            target.display().to_string()
        ));
    }
    table.push_str("]\n");
    write(&out.join(format!("{dir}.rs")), &table)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
