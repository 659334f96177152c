//! Git understanding: what a push, deletion or other git operation does to which branches, read
//! the way git reads it.
//!
//! Branches are compared as branches, whatever the spelling: `origin main`, `HEAD:main`,
//! `HEAD:heads/main`, `refs/heads/main`, `origin/main`, `main~0:main` and `+main` all target `main`,
//! and a wildcard refspec (`refs/heads/*:refs/heads/*`) targets every branch. A force push is `-f`,
//! `--force`, a `+refspec` or `--mirror`; `--force-with-lease` and `--force-if-includes` are not (they
//! are the safer alternative). Protected branches match case-insensitively (`protected_set`):
//! git's names are case-sensitive, but on a case-insensitive file system `MAIN` and `main` are the
//! same loose ref, and a protected-branch check that can be dodged by capitals protects nothing.
//!
//! # Layout
//! - `argv`: git's global options, `-c` configuration and alias expansion (`read_git_argv`).
//! - `config`: configuration keys that run commands or relax safety checks (`config_effect`).
//! - `refs`: ref names and push refspecs resolved the way git resolves them.
//! - `operation`: `git_operation` names normalised (`force-push`, `Delete Branch`, `PR`).
//! - `command`: the intents of a git command line (`push`, `branch -D`, `tag -d`, `update-ref`).
//! - `runs`: shell text a git command runs through its own options (`rebase --exec`, `bisect run`)
//!   and configuration it writes (`git config core.hooksPath …`, `git clone -c …`).

mod argv;
mod command;
mod config;
mod operation;
mod refs;
mod runs;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::shell::SimpleCommand;
use refs::Ref;

pub(crate) use argv::{is_git_command, read_git_argv};
pub(crate) use command::intents;
pub(crate) use config::{ConfigEffect, config_effect};
pub(crate) use operation::{KNOWN_OPERATIONS, read_operation};
pub(crate) use runs::{commands_run, config_written};

/// One git operation and the branches it targets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitIntent {
    /// `push`, `merge`, `tag`, `tag_delete`, `branch_delete`, `branch_update`, `pull_request`, ...;
    /// an unrecognised `git_operation` name is kept, normalised (see [`GitIntent::is_known_operation`]).
    pub operation: String,
    /// The remote, when named (a name, URL or path).
    pub remote: Option<String>,
    /// Target branches (empty when git would pick the current branch, which is not known here).
    pub branches: Vec<String>,
    /// Target tags (`git push origin tag v1`, `git tag -d v1`); never branches.
    pub tags: Vec<String>,
    /// A history-rewriting update: a force push, `branch -D`, `update-ref`.
    pub force: bool,
    /// `--all`, `--mirror`, a wildcard or matching refspec: every branch, protected ones included.
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
        for t in &self.tags {
            s.push_str(" tag ");
            s.push_str(t);
        }
        if self.all_branches {
            s.push_str(" --all");
        }
        if self.force {
            s.push_str(" (force)");
        }
        s
    }

    /// Whether the operation is one cavra recognises (`push`, `merge`, `branch_delete`, ... — see
    /// the policy language, §8). An unknown one is still a git part with its target branches, so
    /// `git: {protected: true}` without `operations`, or `operations: [unknown]`, catches it.
    pub fn is_known_operation(&self) -> bool {
        KNOWN_OPERATIONS.contains(&self.operation.as_str())
    }
}

/// The branch a ref names: `refs/heads/main`, `heads/main`, `origin/main`, `main~0` and `+main` are
/// `main`. A spelling that is not a branch (a tag, `HEAD`) is returned trimmed.
pub fn branch_name(reference: &str) -> String {
    match refs::resolve(reference) {
        Ref::Branch(b) => b,
        _ => reference.trim().trim_start_matches('+').to_owned(),
    }
}

/// The intent of a `git_operation` action: `target` is a ref, `remote ref...`, refspecs, or a whole
/// `git push ...` line; `operation` is any spelling of an operation (`force-push`, `Delete Branch`,
/// `push --force`, `PR`).
pub fn from_action(target: &str, operation: &str) -> GitIntent {
    let split: Vec<&str> = target
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    // A whole command line: its intent, or else (`git merge main`) what follows the subcommand.
    let after_subcommand: Vec<String>;
    let words: Vec<&str> = match split.split_first() {
        Some((git, rest)) if git.eq_ignore_ascii_case("git") => {
            let argv = read_git_argv(&rest.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>());
            if let Some(mut intent) = intents(&argv).into_iter().next() {
                intent.force |= read_operation(operation).force;
                return intent;
            }
            let skip = usize::from(argv.args.first().is_some_and(|a| is_git_command(a)));
            after_subcommand = argv.args.into_iter().skip(skip).collect();
            after_subcommand.iter().map(String::as_str).collect()
        }
        _ => split,
    };
    // Flags in the target (`origin main --force`) count as if they were in the operation.
    let flag_words: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| w.len() > 1 && w.starts_with('-'))
        .collect();
    let op = if flag_words.is_empty() {
        read_operation(operation)
    } else {
        read_operation(&format!("{operation} {}", flag_words.join(" ")))
    };
    let mut positional: Vec<&str> = Vec::new();
    let mut keyword_tags: Vec<String> = Vec::new();
    let mut rest = words.iter().copied().filter(|w| !(w.len() > 1 && w.starts_with('-')));
    while let Some(word) = rest.next() {
        if ["into", "onto", "to", "from", "->", "=>", "<-"]
            .iter()
            .any(|s| word.eq_ignore_ascii_case(s))
        {
            continue;
        }
        if word.eq_ignore_ascii_case("tag") {
            keyword_tags.extend(rest.next().map(str::to_owned));
            continue;
        }
        positional.push(word);
    }
    // The first word is the remote when others follow it (git reads it by position, so any name),
    // or when it can only be one. A first word that could also be a branch counts as both.
    let mut remote = None;
    let mut specs: Vec<&str> = positional.clone();
    if let Some(&first) = positional.first() {
        let only_remote = refs::is_url(first) || refs::is_common_remote(first);
        let remote_by_place = positional.len() > 1
            || !keyword_tags.is_empty()
            || op.all_branches
            || op.tags
            || (positional.len() == 1 && only_remote);
        if remote_by_place {
            remote = Some(first.to_owned());
            if only_remote {
                specs.remove(0);
            }
        }
    }
    let tag_operation = op.name == "tag" || op.name == "tag_delete";
    let mut intent = GitIntent {
        remote,
        tags: keyword_tags,
        force: op.force,
        all_branches: op.all_branches,
        ..GitIntent::default()
    };
    let mut deletes = false;
    let mut deleted_branch = false;
    for spec in specs.iter().filter_map(|s| refs::parse_refspec(s)) {
        intent.force |= spec.force;
        deletes |= spec.delete;
        match spec.dst {
            Ref::Branch(b) | Ref::Tag(b) if tag_operation => intent.tags.push(b),
            Ref::Branch(b) => {
                deleted_branch |= spec.delete;
                intent.branches.push(b);
            }
            Ref::Tag(t) => intent.tags.push(t),
            Ref::AllBranches if !tag_operation => {
                deleted_branch |= spec.delete;
                intent.all_branches = true;
            }
            _ => {}
        }
    }
    intent.operation = match op.name.as_str() {
        "push" if deletes && !deleted_branch && !intent.tags.is_empty() => "tag_delete".to_owned(),
        "push" if deletes => "branch_delete".to_owned(),
        "branch_delete" if intent.branches.is_empty() && !intent.all_branches && !intent.tags.is_empty() => {
            "tag_delete".to_owned()
        }
        _ => op.name,
    };
    intent
}

/// The intent of a git command, if it pushes, deletes or rewrites a ref; when it does several things
/// (`git push origin +a :main`), the most destructive ([`from_command_all`] has them all).
pub fn from_command(cmd: &SimpleCommand) -> Option<GitIntent> {
    from_command_all(cmd).into_iter().next()
}

/// Every intent of a git command, most destructive first. The command's `args` are read with
/// `read_git_argv`, so global options and aliases are seen through whether or not the shell
/// analyser removed them.
pub fn from_command_all(cmd: &SimpleCommand) -> Vec<GitIntent> {
    let program = cmd.program.strip_suffix(".exe").unwrap_or(&cmd.program);
    if program.eq_ignore_ascii_case("git") {
        return intents(&read_git_argv(&cmd.args));
    }
    // `git-push …` (the dashed form under git's exec path) takes no global options.
    match program.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("git-") && program.len() > 4 => {
            let mut args = Vec::with_capacity(cmd.args.len() + 1);
            args.push(program[4..].to_owned());
            args.extend(cmd.args.iter().cloned());
            intents(&read_git_argv(&args))
        }
        _ => Vec::new(),
    }
}

/// The pack's protected-branch globs, compiled to match case-insensitively (`MAIN` is `main`), with
/// `*` not crossing `/` as everywhere in a pack.
pub(crate) fn protected_set<S: AsRef<str>>(patterns: &[S]) -> Result<GlobSet, globset::Error> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(
            GlobBuilder::new(p.as_ref())
                .case_insensitive(true)
                .literal_separator(true)
                .backslash_escape(true)
                .build()?,
        );
    }
    set.build()
}

/// Whether a rule's `operations` entry names this intent's operation, spelled any way
/// [`read_operation`] reads (`force-push` names a forced push, `delete` names `branch_delete`);
/// `unknown` names every operation cavra does not recognise.
pub(crate) fn operation_matches(wanted: &str, intent: &GitIntent) -> bool {
    let want = read_operation(wanted);
    if !want.known {
        return if want.name == "unknown" {
            !intent.is_known_operation()
        } else {
            want.name == intent.operation
        };
    }
    want.name == intent.operation && (!want.force || intent.force) && (!want.all_branches || intent.all_branches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::analyse;

    fn main() -> Vec<String> {
        vec!["main".to_owned()]
    }

    fn intent(line: &str) -> GitIntent {
        from_command(&analyse(line, None).commands[0]).unwrap()
    }

    /// Every spelling of main is main.
    #[test]
    fn branch_spellings() {
        for r in [
            "main",
            "refs/heads/main",
            "heads/main",
            "origin/main",
            "+main",
            "remotes/origin/main",
            "main~0",
        ] {
            assert_eq!(branch_name(r), "main", "{r}");
        }
        assert_eq!(branch_name("release/1.2"), "release/1.2");
        assert_eq!(from_action("origin HEAD:main", "push").branches, main());
        assert_eq!(from_action("origin/main", "push").branches, main());
    }

    /// Force pushes are recognised in all spellings; a lease is not a force.
    #[test]
    fn force_pushes() {
        assert!(intent("git push -f origin feature").force);
        assert!(intent("git push --force origin feature").force);
        assert!(intent("git push origin +feature").force);
        assert!(!intent("git push --force-with-lease origin feature").force);
        assert_eq!(intent("git push origin HEAD:refs/heads/main").branches, main());
        assert_eq!(intent("git push origin --delete main").operation, "branch_delete");
        assert!(intent("git push --all origin").all_branches);
    }

    /// The shell's command is read from its raw arguments: global options and aliases included.
    #[test]
    fn commands_through_global_options_and_aliases() {
        for line in [
            "git -c alias.p=push p --force origin main",
            "git --config-env k.v=V push --force origin main",
            "git --attr-source HEAD push --force origin main",
            "git -C sub --no-pager push -uf origin HEAD:heads/main",
            "/usr/bin/git push -f upstream main",
            "git-push -f origin main",
            "sudo git push -f origin main",
        ] {
            let i = intent(line);
            assert_eq!(
                (i.operation.as_str(), i.force, &i.branches),
                ("push", true, &main()),
                "{line}"
            );
        }
        assert!(from_command(&analyse("ls -la", None).commands[0]).is_none());
        assert!(from_command(&analyse("git status", None).commands[0]).is_none());
        let all = from_command_all(&analyse("git push origin +feature :main", None).commands[0]);
        assert_eq!(all.len(), 2);
        assert_eq!(intent("git push origin +feature :main").operation, "branch_delete");
    }

    /// Local deletions and rewrites of refs are intents too.
    #[test]
    fn local_ref_commands() {
        let i = intent("git branch -D main");
        assert_eq!(
            (i.operation.as_str(), i.force, &i.branches),
            ("branch_delete", true, &main())
        );
        let i = intent("git update-ref -d refs/heads/main");
        assert_eq!((i.operation.as_str(), &i.branches), ("branch_delete", &main()));
        let i = intent("git tag -d v1");
        assert_eq!(
            (i.operation.as_str(), i.tags.clone()),
            ("tag_delete", vec!["v1".to_owned()])
        );
        assert!(from_command(&analyse("git merge feature", None).commands[0]).is_none());
    }

    /// A target's first word is the remote, whatever it is called, and URLs are remotes.
    #[test]
    fn action_targets_with_remotes() {
        for (target, remote) in [
            ("origin main", "origin"),
            ("upstream main", "upstream"),
            ("fork HEAD:main", "fork"),
            ("github heads/main", "github"),
            ("git@github.com:org/repo.git main", "git@github.com:org/repo.git"),
            ("https://github.com/org/repo main", "https://github.com/org/repo"),
            (
                "https://github.com/org/repo HEAD:refs/heads/main",
                "https://github.com/org/repo",
            ),
        ] {
            let i = from_action(target, "push");
            assert_eq!((i.remote.as_deref(), &i.branches), (Some(remote), &main()), "{target}");
        }
        let i = from_action("https://github.com/org/repo", "push");
        assert!(i.branches.is_empty());
    }

    /// A first word that may be a remote or a branch counts as both, so `main develop` reaches main.
    #[test]
    fn action_targets_ambiguous_first_word() {
        assert!(
            from_action("myremote main", "push")
                .branches
                .contains(&"main".to_owned())
        );
        assert!(
            from_action("main develop", "push")
                .branches
                .contains(&"main".to_owned())
        );
        assert!(
            from_action("main, develop", "merge")
                .branches
                .contains(&"main".to_owned())
        );
        assert_eq!(
            from_action("feature into main", "merge").branches.last(),
            Some(&"main".to_owned())
        );
    }

    /// Single-word targets in every spelling reach main.
    #[test]
    fn action_target_spellings() {
        for target in [
            "main",
            "MAIN",
            "heads/main",
            "refs/heads/main",
            "origin/main",
            "upstream/main",
            "remotes/origin/main",
            "HEAD:heads/main",
            "HEAD:refs/heads/main",
            "@:main",
            "main~0:main",
            "+HEAD:main",
        ] {
            let i = from_action(target, "push");
            assert!(
                i.branches.iter().any(|b| b.eq_ignore_ascii_case("main")),
                "{target}: {i:?}"
            );
        }
        assert!(from_action("+HEAD:main", "push").force);
    }

    /// Wildcards, `--all`, `--mirror` and the matching refspec reach every branch.
    #[test]
    fn action_every_branch() {
        assert!(from_action("origin refs/heads/*:refs/heads/*", "push").all_branches);
        let i = from_action("+refs/heads/*:refs/heads/*", "push");
        assert!(i.all_branches && i.force);
        assert!(from_action("origin --all", "push").all_branches);
        let i = from_action("--mirror origin", "push");
        assert!(i.all_branches && i.force);
        let i = from_action("origin", "mirror");
        assert!(i.all_branches && i.force);
        assert!(from_action("origin :", "push").all_branches);
        let i = from_action("origin --tags", "push");
        assert!(!i.all_branches && i.branches.is_empty());
    }

    /// Deletions through the target or the operation, of branches and of tags.
    #[test]
    fn action_deletions() {
        for (target, op) in [
            (":main", "push"),
            ("origin :main", "push"),
            ("origin --delete main", "push"),
            ("origin -d main", "push"),
            ("origin main", "delete"),
            ("main", "Delete-Branch"),
            ("upstream main", "push_delete"),
            ("main", "push --delete"),
        ] {
            let i = from_action(target, op);
            assert_eq!(
                (i.operation.as_str(), &i.branches),
                ("branch_delete", &main()),
                "{target} / {op}"
            );
        }
        let i = from_action("origin tag v1", "delete");
        assert_eq!(
            (i.operation.as_str(), i.tags.clone()),
            ("tag_delete", vec!["v1".to_owned()])
        );
        let i = from_action("origin :refs/tags/v1", "push");
        assert_eq!(i.operation, "tag_delete");
        let i = from_action("origin tag v1", "push");
        assert_eq!((i.operation.as_str(), i.branches.len()), ("push", 0));
        let i = from_action("v1.4.0", "tag");
        assert_eq!(
            (i.operation.as_str(), i.tags.clone()),
            ("tag", vec!["v1.4.0".to_owned()])
        );
    }

    /// Operation spellings and flags in either field decide force.
    #[test]
    fn action_force() {
        for (target, op) in [
            ("origin main", "force-push"),
            ("origin main", "Force_Push"),
            ("origin main", "FORCE PUSH"),
            ("origin main", "force"),
            ("origin main", "push --force"),
            ("origin main --force", "push"),
            ("-f origin main", "push"),
            ("origin +main", "Push"),
        ] {
            let i = from_action(target, op);
            assert_eq!(
                (i.operation.as_str(), i.force, &i.branches),
                ("push", true, &main()),
                "{target} / {op}"
            );
        }
        let i = from_action("origin main", "push --force-with-lease");
        assert!(!i.force);
    }

    /// A whole git command line as the target is read as one.
    #[test]
    fn action_target_as_command() {
        let i = from_action("git merge main", "merge");
        assert_eq!((i.operation.as_str(), &i.branches), ("merge", &main()));
        let i = from_action("git -c alias.m=merge m main", "merge");
        assert_eq!(i.branches, main());
        let i = from_action("git -c alias.m='merge --no-ff a b c d' m main", "merge");
        assert!(i.branches.contains(&"main".to_owned()));
        let i = from_action("git push --force origin main", "push");
        assert_eq!((i.operation.as_str(), i.force, &i.branches), ("push", true, &main()));
        let i = from_action("git -c alias.p=push p -f upstream HEAD:main", "push");
        assert!(i.force);
    }

    /// An unknown operation keeps its name and its branches, and stays visible to rules.
    #[test]
    fn action_unknown_operations() {
        let i = from_action("origin main", "Overwrite");
        assert_eq!((i.operation.as_str(), &i.branches), ("overwrite", &main()));
        assert!(!i.is_known_operation());
        assert!(operation_matches("unknown", &i));
        assert!(!operation_matches("push", &i));
        assert!(from_action("origin main", "push").is_known_operation());
    }

    /// Rule operation names are read like action ones.
    #[test]
    fn rule_operation_names() {
        let forced = from_action("origin main", "push -f");
        let plain = from_action("origin main", "push");
        assert!(operation_matches("force-push", &forced));
        assert!(operation_matches("Force_Push", &forced));
        assert!(!operation_matches("force_push", &plain));
        assert!(operation_matches("push", &forced));
        assert!(operation_matches("PUSH", &plain));
        assert!(!operation_matches("unknown", &plain));
        let deleted = from_action("origin main", "delete");
        assert!(operation_matches("delete", &deleted));
        assert!(operation_matches("branch_delete", &deleted));
        assert!(operation_matches("delete-branch", &deleted));
        assert!(operation_matches("pr", &from_action("main", "pull_request")));
    }

    /// Protected patterns match in any case, and `*` stays within one path segment.
    #[test]
    fn protected_patterns() {
        let set = protected_set(&["main", "master", "release/*"]).unwrap();
        for b in ["main", "MAIN", "Main", "master", "release/1.2", "Release/1.2"] {
            assert!(set.is_match(b), "{b}");
        }
        for b in ["feature/main", "mainline", "release/a/b", "develop"] {
            assert!(!set.is_match(b), "{b}");
        }
        assert!(protected_set(&["["]).is_err());
    }
}
