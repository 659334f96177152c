//! Git understanding: what a push (or other git operation) does to which branches.
//!
//! Branches are compared as branches, whatever the spelling: `origin main`, `HEAD:main`,
//! `refs/heads/main`, `origin/main` and `+main` all target `main`. A force push is `-f`,
//! `--force` or a `+refspec`; `--force-with-lease` is not one (it is the safer alternative).

use crate::shell::SimpleCommand;

/// Remote names stripped from `remote/branch` spellings.
const REMOTES: [&str; 3] = ["origin", "upstream", "fork"];

/// One git operation and the branches it targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitIntent {
    /// `push`, `merge`, `tag`, `branch_delete`, `pull_request`, ...
    pub operation: String,
    /// The remote, when named.
    pub remote: Option<String>,
    /// Target branches (empty when git would pick the current branch, which is not known here).
    pub branches: Vec<String>,
    /// A history-rewriting push.
    pub force: bool,
    /// `--all` or `--mirror`: every branch, protected ones included.
    pub all_branches: bool,
}

impl GitIntent {
    /// A short label for decisions, e.g. `git push origin main (force)`.
    pub fn label(&self) -> String {
        let mut s = format!("git {}", self.operation);
        if let Some(r) = &self.remote {
            s.push(' ');
            s.push_str(r);
        }
        for b in &self.branches {
            s.push(' ');
            s.push_str(b);
        }
        if self.all_branches {
            s.push_str(" --all");
        }
        if self.force {
            s.push_str(" (force)");
        }
        s
    }
}

/// The branch a ref names: `refs/heads/main`, `origin/main` and `+main` are `main`.
pub fn branch_name(reference: &str) -> String {
    let r = reference.trim_start_matches('+');
    let r = r.strip_prefix("refs/heads/").unwrap_or(r);
    let r = r
        .strip_prefix("refs/remotes/")
        .or_else(|| r.strip_prefix("remotes/"))
        .unwrap_or(r);
    match r.split_once('/') {
        Some((remote, rest)) if REMOTES.contains(&remote) && !rest.is_empty() => rest.to_owned(),
        _ => r.to_owned(),
    }
}

/// The destination of a refspec: `HEAD:main` → `main`; `+feature` → `feature`.
fn refspec_target(spec: &str) -> Option<String> {
    let spec = spec.trim_start_matches('+');
    let dst = match spec.split_once(':') {
        Some((_, dst)) => dst,
        None => spec,
    };
    (!dst.is_empty() && dst != "HEAD").then(|| branch_name(dst))
}

/// The branches refspecs push to (or delete, for `:branch`).
fn target_branches<S: AsRef<str>>(refs: &[S]) -> Vec<String> {
    refs.iter()
        .filter_map(|r| {
            let r = r.as_ref();
            match r.strip_prefix(':') {
                Some(deleted) => Some(branch_name(deleted)),
                None => refspec_target(r),
            }
        })
        .collect()
}

/// The intent of a `git_operation` action: `target` is a ref, `remote ref` or refspec.
pub fn from_action(target: &str, operation: &str) -> GitIntent {
    let words: Vec<&str> = target.split_whitespace().collect();
    let (remote, refs) = match words.as_slice() {
        [remote, rest @ ..] if !rest.is_empty() => (Some((*remote).to_owned()), rest.to_vec()),
        _ => (None, words.clone()),
    };
    let mut force = operation == "force_push" || refs.iter().any(|r| r.starts_with('+'));
    let mut op = operation.to_owned();
    if op == "force_push" {
        op = "push".to_owned();
        force = true;
    }
    let delete = refs.iter().any(|r| r.starts_with(':'));
    if delete && op == "push" {
        op = "branch_delete".to_owned();
    }
    let branches = target_branches(&refs);
    GitIntent {
        operation: op,
        remote,
        branches,
        force,
        all_branches: false,
    }
}

/// The intent of a `git push ...` command, if it is one.
pub fn from_command(cmd: &SimpleCommand) -> Option<GitIntent> {
    if cmd.program != "git" || cmd.positionals.first().map(String::as_str) != Some("push") {
        return None;
    }
    if cmd.has_flag("dry-run") || cmd.has_flag("n") {
        return None;
    }
    let rest = &cmd.positionals[1..];
    let remote = rest.first().cloned();
    let refs = rest.get(1..).unwrap_or_default();
    let force = cmd.has_flag("force") || refs.iter().any(|r| r.starts_with('+'));
    let delete = cmd.has_flag("delete") || refs.iter().any(|r| r.starts_with(':'));
    let mut branches = target_branches(refs);
    if delete {
        branches.extend(refs.iter().filter(|r| !r.contains(':')).map(|r| branch_name(r)));
        branches.dedup();
    }
    Some(GitIntent {
        operation: if delete { "branch_delete" } else { "push" }.to_owned(),
        remote,
        branches,
        force,
        all_branches: cmd.has_flag("all") || cmd.has_flag("mirror"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::analyse;

    /// Every spelling of main is main.
    #[test]
    fn branch_spellings() {
        for r in ["main", "refs/heads/main", "origin/main", "+main", "remotes/origin/main"] {
            assert_eq!(branch_name(r), "main", "{r}");
        }
        assert_eq!(branch_name("release/1.2"), "release/1.2");
        assert_eq!(from_action("origin HEAD:main", "push").branches, vec!["main"]);
        assert_eq!(from_action("origin/main", "push").branches, vec!["main"]);
    }

    /// Force pushes are recognised in all spellings; a lease is not a force.
    #[test]
    fn force_pushes() {
        let intent = |line: &str| from_command(&analyse(line, None).commands[0]).unwrap();
        assert!(intent("git push -f origin feature").force);
        assert!(intent("git push --force origin feature").force);
        assert!(intent("git push origin +feature").force);
        assert!(!intent("git push --force-with-lease origin feature").force);
        assert_eq!(intent("git push origin HEAD:refs/heads/main").branches, vec!["main"]);
        assert_eq!(intent("git push origin --delete main").operation, "branch_delete");
        assert!(intent("git push --all origin").all_branches);
    }
}

// TEMPORARY (lead): placeholders until the git-model branch lands; replaced at merge.
/// A git command line read the way git reads it.
pub(crate) struct GitArgv {
    /// Arguments from the subcommand on.
    pub args: Vec<String>,
    /// `-c key=value` configuration.
    pub config: Vec<(String, String)>,
    /// A `!`-alias's shell text.
    pub alias_script: Option<String>,
}

/// Reads git's global options.
pub(crate) fn read_git_argv(args: &[String]) -> GitArgv {
    GitArgv {
        args: args.to_vec(),
        config: Vec::new(),
        alias_script: None,
    }
}

/// Whether git runs this configuration value as a command.
pub(crate) fn config_runs_command(key: &str, value: &str) -> bool {
    let _ = (key, value);
    false
}
