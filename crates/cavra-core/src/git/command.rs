//! What a git command line does to branches and tags: `push` (and `send-pack`), `branch -d/-D/-f/-M`,
//! `tag -d` and `update-ref`.
//!
//! Each subcommand's options are read with git's parse-options rules: options may come after the
//! positionals, short options cluster (`-fu`), long options may be abbreviated to any unique prefix
//! (`--del`, `--mirr`), `--no-X` negates, `--` ends the options, and some options take the next word
//! as their value (`-o ci.skip`, `--repo origin`). The one design decision: one command can yield
//! several intents (`git push origin +feature :main` forces `feature` and deletes `main`), ordered
//! most destructive first, so a single-intent reader still sees the worst of them.

use super::GitIntent;
use super::argv::GitArgv;
use super::refs::{self, Ref};

/// How an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Takes {
    /// No value.
    Nothing,
    /// A required value: the next word, or after `=` (long) or attached (short).
    Next,
    /// An optional value, only after `=` (long) or attached (short).
    Attached,
}

/// One option of a subcommand.
#[derive(Debug, Clone, Copy)]
pub(super) struct Opt {
    /// The long name (`force`), or a name for a short-only option (`-D` is `delete-force`).
    pub name: &'static str,
    /// Whether `--<name>` may be typed (false for short-only options).
    pub long: bool,
    /// The short letter, if any.
    pub short: Option<char>,
    /// How it takes a value.
    pub takes: Takes,
}

pub(super) const fn opt(name: &'static str, short: Option<char>, takes: Takes) -> Opt {
    Opt {
        name,
        long: true,
        short,
        takes,
    }
}

pub(super) const fn short_only(name: &'static str, short: char) -> Opt {
    Opt {
        name,
        long: false,
        short: Some(short),
        takes: Takes::Nothing,
    }
}

/// One argument read with parse-options rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arg {
    /// A known option (`negated` for `--no-<name>`) and its value, if it took one.
    Opt {
        name: &'static str,
        negated: bool,
        value: Option<String>,
    },
    /// A word that is not an option.
    Positional(String),
}

/// Finds the long option `given` (without `--` and `=value`): an exact name, `no-<name>`, or a
/// unique prefix of either. `None` when unknown or ambiguous (git refuses both).
pub(super) fn find_long<'t>(table: &'t [Opt], given: &str) -> Option<(&'t Opt, bool)> {
    let longs = || table.iter().filter(|o| o.long);
    if let Some(o) = longs().find(|o| o.name == given) {
        return Some((o, false));
    }
    let negated = given.strip_prefix("no-");
    if let Some(rest) = negated
        && let Some(o) = longs().find(|o| o.name == rest)
    {
        return Some((o, true));
    }
    let mut found = longs().filter(|o| o.name.starts_with(given)).map(|o| (o, false));
    let mut found_negated = negated
        .into_iter()
        .flat_map(|rest| longs().filter(move |o| o.name.starts_with(rest)))
        .map(|o| (o, true));
    let first = found.next().or_else(|| found_negated.next())?;
    let unique = found.next().is_none() && found_negated.next().is_none();
    unique.then_some(first)
}

/// Reads arguments with git's parse-options rules: options anywhere, `--` ends them, short options
/// cluster, long ones abbreviate. Unknown options are dropped (git refuses them, so nothing runs).
pub(super) fn parse(table: &[Opt], args: &[String]) -> Vec<Arg> {
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while let Some(word) = args.get(i) {
        i += 1;
        if word == "--" {
            out.extend(args[i..].iter().cloned().map(Arg::Positional));
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (given, inline) = match long.split_once('=') {
                Some((g, v)) => (g, Some(v)),
                None => (long, None),
            };
            let Some((o, negated)) = find_long(table, given) else {
                continue;
            };
            let value = match (o.takes, inline) {
                (Takes::Nothing, Some(_)) => continue,
                (Takes::Next, None) if !negated => {
                    i += 1;
                    args.get(i - 1).cloned()
                }
                (_, inline) => inline.map(str::to_owned),
            };
            out.push(Arg::Opt {
                name: o.name,
                negated,
                value,
            });
            continue;
        }
        match word.strip_prefix('-') {
            Some(cluster) if !cluster.is_empty() => {
                for (at, c) in cluster.char_indices() {
                    let Some(o) = table.iter().find(|o| o.short == Some(c)) else {
                        continue;
                    };
                    if o.takes == Takes::Nothing {
                        out.push(Arg::Opt {
                            name: o.name,
                            negated: false,
                            value: None,
                        });
                        continue;
                    }
                    // The rest of the cluster is the value; a required one may be the next word.
                    let attached = &cluster[at + c.len_utf8()..];
                    let value = if !attached.is_empty() {
                        Some(attached.to_owned())
                    } else if o.takes == Takes::Next {
                        i += 1;
                        args.get(i - 1).cloned()
                    } else {
                        None
                    };
                    out.push(Arg::Opt {
                        name: o.name,
                        negated: false,
                        value,
                    });
                    break;
                }
            }
            _ => out.push(Arg::Positional(word.clone())),
        }
    }
    out
}

/// `git push` options (git 2.47 `git push -h`).
pub(super) const PUSH: &[Opt] = &[
    opt("verbose", Some('v'), Takes::Nothing),
    opt("quiet", Some('q'), Takes::Nothing),
    opt("repo", None, Takes::Next),
    opt("all", None, Takes::Nothing),
    opt("branches", None, Takes::Nothing),
    opt("mirror", None, Takes::Nothing),
    opt("delete", Some('d'), Takes::Nothing),
    opt("tags", None, Takes::Nothing),
    opt("dry-run", Some('n'), Takes::Nothing),
    opt("porcelain", None, Takes::Nothing),
    opt("force", Some('f'), Takes::Nothing),
    opt("force-with-lease", None, Takes::Attached),
    opt("force-if-includes", None, Takes::Nothing),
    opt("recurse-submodules", None, Takes::Next),
    opt("thin", None, Takes::Nothing),
    opt("receive-pack", None, Takes::Next),
    opt("exec", None, Takes::Next),
    opt("set-upstream", Some('u'), Takes::Nothing),
    opt("progress", None, Takes::Nothing),
    opt("prune", None, Takes::Nothing),
    opt("verify", None, Takes::Nothing),
    opt("follow-tags", None, Takes::Nothing),
    opt("signed", None, Takes::Attached),
    opt("atomic", None, Takes::Nothing),
    opt("push-option", Some('o'), Takes::Next),
    opt("ipv4", Some('4'), Takes::Nothing),
    opt("ipv6", Some('6'), Takes::Nothing),
];

/// `git send-pack` options.
pub(super) const SEND_PACK: &[Opt] = &[
    opt("verbose", Some('v'), Takes::Nothing),
    opt("quiet", Some('q'), Takes::Nothing),
    opt("receive-pack", None, Takes::Next),
    opt("exec", None, Takes::Next),
    opt("remote", None, Takes::Next),
    opt("all", None, Takes::Nothing),
    opt("dry-run", Some('n'), Takes::Nothing),
    opt("mirror", None, Takes::Nothing),
    opt("force", Some('f'), Takes::Nothing),
    opt("force-with-lease", None, Takes::Attached),
    opt("force-if-includes", None, Takes::Nothing),
    opt("thin", None, Takes::Nothing),
    opt("atomic", None, Takes::Nothing),
    opt("signed", None, Takes::Attached),
    opt("push-option", None, Takes::Next),
    opt("progress", None, Takes::Nothing),
    opt("stateless-rpc", None, Takes::Nothing),
    opt("stdin", None, Takes::Nothing),
    opt("helper-status", None, Takes::Nothing),
];

/// `git branch` options.
const BRANCH: &[Opt] = &[
    opt("verbose", Some('v'), Takes::Nothing),
    opt("quiet", Some('q'), Takes::Nothing),
    opt("track", Some('t'), Takes::Attached),
    opt("set-upstream-to", Some('u'), Takes::Next),
    opt("unset-upstream", None, Takes::Nothing),
    opt("color", None, Takes::Attached),
    opt("remotes", Some('r'), Takes::Nothing),
    opt("contains", None, Takes::Next),
    opt("no-contains", None, Takes::Next),
    opt("abbrev", None, Takes::Attached),
    opt("all", Some('a'), Takes::Nothing),
    opt("delete", Some('d'), Takes::Nothing),
    short_only("delete-force", 'D'),
    opt("move", Some('m'), Takes::Nothing),
    short_only("move-force", 'M'),
    opt("omit-empty", None, Takes::Nothing),
    opt("copy", Some('c'), Takes::Nothing),
    short_only("copy-force", 'C'),
    opt("list", Some('l'), Takes::Nothing),
    opt("show-current", None, Takes::Nothing),
    opt("create-reflog", None, Takes::Nothing),
    opt("edit-description", None, Takes::Nothing),
    opt("force", Some('f'), Takes::Nothing),
    opt("merged", None, Takes::Next),
    opt("no-merged", None, Takes::Next),
    opt("column", None, Takes::Attached),
    opt("sort", None, Takes::Next),
    opt("points-at", None, Takes::Next),
    opt("ignore-case", Some('i'), Takes::Nothing),
    opt("recurse-submodules", None, Takes::Nothing),
    opt("format", None, Takes::Next),
];

/// `git tag` options.
const TAG: &[Opt] = &[
    opt("list", Some('l'), Takes::Nothing),
    Opt {
        name: "n",
        long: false,
        short: Some('n'),
        takes: Takes::Attached,
    },
    opt("delete", Some('d'), Takes::Nothing),
    opt("verify", Some('v'), Takes::Nothing),
    opt("annotate", Some('a'), Takes::Nothing),
    opt("message", Some('m'), Takes::Next),
    opt("file", Some('F'), Takes::Next),
    opt("trailer", None, Takes::Next),
    opt("edit", Some('e'), Takes::Nothing),
    opt("sign", Some('s'), Takes::Nothing),
    opt("cleanup", None, Takes::Next),
    opt("local-user", Some('u'), Takes::Next),
    opt("force", Some('f'), Takes::Nothing),
    opt("create-reflog", None, Takes::Nothing),
    opt("column", None, Takes::Attached),
    opt("contains", None, Takes::Next),
    opt("no-contains", None, Takes::Next),
    opt("merged", None, Takes::Next),
    opt("no-merged", None, Takes::Next),
    opt("omit-empty", None, Takes::Nothing),
    opt("sort", None, Takes::Next),
    opt("points-at", None, Takes::Next),
    opt("format", None, Takes::Next),
    opt("color", None, Takes::Attached),
    opt("ignore-case", Some('i'), Takes::Nothing),
];

/// `git update-ref` options.
const UPDATE_REF: &[Opt] = &[
    Opt {
        name: "m",
        long: false,
        short: Some('m'),
        takes: Takes::Next,
    },
    short_only("d", 'd'),
    opt("no-deref", None, Takes::Nothing),
    opt("deref", None, Takes::Nothing),
    short_only("z", 'z'),
    opt("stdin", None, Takes::Nothing),
    opt("create-reflog", None, Takes::Nothing),
];

/// The intents of a git command line already read by [`super::read_git_argv`]: empty when it
/// neither pushes, deletes nor rewrites a ref (`git status`, `git merge x`, `git push --dry-run`).
pub(crate) fn intents(argv: &GitArgv) -> Vec<GitIntent> {
    let Some(sub) = argv.subcommand() else {
        return Vec::new();
    };
    // git's command names are case-sensitive, but a case-insensitive file system finds `git-PUSH`.
    let rest = argv.args.get(1..).unwrap_or_default();
    match sub.to_ascii_lowercase().as_str() {
        "push" => push(&parse(PUSH, rest), argv),
        "send-pack" => push(&parse(SEND_PACK, rest), argv),
        "branch" => branch(&parse(BRANCH, rest)),
        "tag" => tag(&parse(TAG, rest)),
        "update-ref" => update_ref(&parse(UPDATE_REF, rest)),
        _ => Vec::new(),
    }
}

/// Switches that are set by their option and cleared by its `--no-` form; the last one wins.
pub(super) fn switch(args: &[Arg], names: &[&str]) -> bool {
    args.iter().fold(false, |on, a| match a {
        Arg::Opt { name, negated, .. } if names.contains(name) => !negated,
        _ => on,
    })
}

pub(super) fn positionals(args: &[Arg]) -> Vec<&str> {
    args.iter()
        .filter_map(|a| match a {
            Arg::Positional(p) => Some(p.as_str()),
            Arg::Opt { .. } => None,
        })
        .collect()
}

/// What one push touches, grouped the way rules see it.
#[derive(Default)]
struct Group {
    present: bool,
    branches: Vec<String>,
    tags: Vec<String>,
    all: bool,
}

impl Group {
    fn add(&mut self, dst: Ref) {
        self.present = true;
        match dst {
            Ref::Branch(b) => self.branches.push(b),
            Ref::Tag(t) => self.tags.push(t),
            Ref::AllBranches => self.all = true,
            Ref::AllTags | Ref::Current | Ref::Other(_) => {}
        }
    }

    fn intent(self, operation: &str, remote: Option<&str>, force: bool) -> Option<GitIntent> {
        self.present.then(|| GitIntent {
            operation: operation.to_owned(),
            remote: remote.map(str::to_owned),
            branches: self.branches,
            tags: self.tags,
            force,
            all_branches: self.all,
        })
    }
}

/// `git push [<options>] [<repository> [<refspec>...]]`, and `git send-pack`, which reads the same.
fn push(args: &[Arg], argv: &GitArgv) -> Vec<GitIntent> {
    if switch(args, &["dry-run"]) {
        return Vec::new();
    }
    let force = switch(args, &["force"]);
    let delete = switch(args, &["delete"]);
    let all = switch(args, &["all", "branches"]);
    let prune = switch(args, &["prune"]);
    let words = positionals(args);
    let remote = words.first().copied();
    let mut specs = Vec::new();
    let mut refspecs = words.iter().skip(1);
    while let Some(word) = refspecs.next() {
        // `tag <name>` is `refs/tags/<name>:refs/tags/<name>`.
        if *word == "tag"
            && let Some(name) = refspecs.next()
        {
            specs.push(refs::Refspec {
                force: false,
                delete,
                dst: Ref::Tag((*name).to_owned()),
            });
            continue;
        }
        if let Some(mut spec) = refs::parse_refspec(word) {
            spec.delete |= delete;
            specs.push(spec);
        }
    }
    if delete {
        // `git push origin --delete $BRANCH`, or names fed by `xargs`: which branches go is not
        // known here, so any of them may (git refuses `--delete` with no ref at all, which
        // only `xargs` makes sense of).
        for spec in &mut specs {
            if matches!(&spec.dst, Ref::Branch(b) if b.contains(['$', '`'])) {
                spec.dst = Ref::AllBranches;
            }
        }
        if specs.is_empty() {
            specs.push(refs::Refspec {
                force: false,
                delete: true,
                dst: Ref::AllBranches,
            });
        }
    }
    let mut mirror = switch(args, &["mirror"]);
    if specs.is_empty() && !all && !mirror {
        // No refspec: what configuration says, else the current branch (not known here).
        mirror = argv
            .config
            .iter()
            .any(|(k, v)| k.starts_with("remote.") && k.ends_with(".mirror") && is_true(v));
        specs.extend(
            argv.config
                .iter()
                .filter(|(k, _)| k.starts_with("remote.") && k.ends_with(".push"))
                .filter_map(|(_, v)| refs::parse_refspec(v)),
        );
        if specs.is_empty()
            && argv
                .config_value("push.default")
                .is_some_and(|v| v.eq_ignore_ascii_case("matching"))
        {
            specs.push(refs::Refspec {
                force: false,
                delete: false,
                dst: Ref::AllBranches,
            });
        }
    }
    let (mut deleted, mut forced, mut plain) = (Group::default(), Group::default(), Group::default());
    let wildcard = specs.iter().any(|s| s.dst == Ref::AllBranches);
    let force_delete = force || specs.iter().any(|s| s.delete && s.force);
    for spec in specs {
        if spec.delete {
            deleted.add(spec.dst);
        } else if spec.force || force {
            forced.add(spec.dst);
        } else {
            plain.add(spec.dst);
        }
    }
    if mirror {
        // Every ref overwritten (remote refs missing here go too, but a forced push of every branch
        // is already the worst reading).
        forced.add(Ref::AllBranches);
    } else {
        let nothing_named = !deleted.present && !forced.present && !plain.present;
        let group = if force { &mut forced } else { &mut plain };
        if all {
            group.add(Ref::AllBranches);
        } else if nothing_named {
            group.add(Ref::Current);
        }
        if prune && (all || wildcard) {
            deleted.add(Ref::AllBranches);
        }
    }
    // Tag deletions are their own intent: `tag_delete`, not `branch_delete`.
    let mut tag_deleted = Group::default();
    if !deleted.tags.is_empty() {
        tag_deleted.present = true;
        tag_deleted.tags = std::mem::take(&mut deleted.tags);
        deleted.present = deleted.all || !deleted.branches.is_empty();
    }
    [
        deleted.intent("branch_delete", remote, force_delete),
        forced.intent("push", remote, true),
        tag_deleted.intent("tag_delete", remote, force_delete),
        plain.intent("push", remote, false),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `git branch -d/-D` deletes; `-f`, `-M`, `-C` overwrite a branch.
fn branch(args: &[Arg]) -> Vec<GitIntent> {
    let force = switch(args, &["force"]);
    let has = |n: &str| {
        args.iter()
            .any(|a| matches!(a, Arg::Opt { name, negated: false, .. } if *name == n))
    };
    let delete = switch(args, &["delete"]) || has("delete-force");
    let words = positionals(args);
    if delete {
        let remotes = has("remotes");
        let mut intent = GitIntent {
            operation: "branch_delete".to_owned(),
            force: force || has("delete-force"),
            ..GitIntent::default()
        };
        for word in &words {
            // `-r origin/main` deletes the remote-tracking branch of `main`.
            let (remote, name) = match word.split_once('/') {
                Some((r, n)) if remotes => (Some(r), n),
                _ => (None, *word),
            };
            if let Some(r) = remote {
                intent.remote = Some(r.to_owned());
            }
            if let Ref::Branch(b) = refs::resolve(name) {
                intent.branches.push(b);
            }
        }
        return if words.is_empty() { Vec::new() } else { vec![intent] };
    }
    // `-M`/`-C`, or `-f` with anything: an existing branch is overwritten.
    let overwrite = force || has("move-force") || has("copy-force");
    // `-m/-M/-c/-C [<old>] <new>` writes the last name; `-f <name> [<start>]` the first.
    let target = if has("move") || has("move-force") || has("copy") || has("copy-force") {
        words.last()
    } else {
        words.first()
    };
    match (overwrite, target) {
        (true, Some(name)) => match refs::resolve(name) {
            Ref::Branch(b) => vec![GitIntent {
                operation: "branch_update".to_owned(),
                branches: vec![b],
                force: true,
                ..GitIntent::default()
            }],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `git tag -d <name>...`.
fn tag(args: &[Arg]) -> Vec<GitIntent> {
    let words = positionals(args);
    if !switch(args, &["delete"]) || words.is_empty() {
        return Vec::new();
    }
    vec![GitIntent {
        operation: "tag_delete".to_owned(),
        tags: words.iter().map(|w| (*w).to_owned()).collect(),
        ..GitIntent::default()
    }]
}

/// `git update-ref [-d] <ref> [<new>] [<old>]` and `--stdin`: no checks at all, so forced.
fn update_ref(args: &[Arg]) -> Vec<GitIntent> {
    let forced = |operation: &str| GitIntent {
        operation: operation.to_owned(),
        force: true,
        ..GitIntent::default()
    };
    if switch(args, &["stdin"]) {
        // Commands read from stdin may delete or move any ref.
        return vec![GitIntent {
            all_branches: true,
            ..forced("branch_delete")
        }];
    }
    let delete = args.iter().any(|a| matches!(a, Arg::Opt { name: "d", .. }));
    let Some(name) = positionals(args).first().copied() else {
        return Vec::new();
    };
    let intent = match (delete, refs::resolve(name)) {
        (true, Ref::Branch(b)) => GitIntent {
            branches: vec![b],
            ..forced("branch_delete")
        },
        (true, Ref::Tag(t)) => GitIntent {
            tags: vec![t],
            ..forced("tag_delete")
        },
        (true, Ref::Current) => forced("branch_delete"),
        (false, Ref::Branch(b)) => GitIntent {
            branches: vec![b],
            ..forced("branch_update")
        },
        (false, Ref::Current) => forced("branch_update"),
        _ => return Vec::new(),
    };
    vec![intent]
}

/// A value git reads as boolean true.
fn is_true(value: &str) -> bool {
    ["true", "yes", "on"].iter().any(|b| value.eq_ignore_ascii_case(b)) || value.parse::<i64>().is_ok_and(|n| n != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::read_git_argv;

    fn all(line: &str) -> Vec<GitIntent> {
        let words: Vec<String> = line.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
        intents(&read_git_argv(&words))
    }

    fn one(line: &str) -> GitIntent {
        let found = all(line);
        assert_eq!(found.len(), 1, "{line}: {found:?}");
        found.into_iter().next().unwrap()
    }

    fn branches(line: &str) -> Vec<String> {
        one(line).branches
    }

    fn main() -> Vec<String> {
        vec!["main".to_owned()]
    }

    /// Every push refspec spelling of the brief reaches `main`, whatever the remote is called.
    #[test]
    fn pushes_to_main() {
        for line in [
            "push origin main",
            "push origin heads/main",
            "push origin refs/heads/main",
            "push upstream HEAD:heads/main",
            "push fork HEAD:refs/heads/main",
            "push github @:main",
            "push anyname main~0:main",
            "push origin origin/main",
            "push origin remotes/origin/main",
            "push git@github.com:org/repo.git main",
            "push https://github.com/org/repo HEAD:main",
            "push origin main --verbose",
            "push -o ci.skip origin main",
            "push -oci.skip origin main",
            "push --push-option ci.skip origin main",
            "push --repo origin origin main",
            "push --receive-pack git-receive-pack origin main",
            "push --recurse-submodules check origin main",
            "push origin -- main",
            "PUSH origin main",
        ] {
            let i = one(line);
            assert_eq!(
                (i.operation.as_str(), i.force, &i.branches),
                ("push", false, &main()),
                "{line}"
            );
        }
        assert_eq!(one("push upstream main").remote.as_deref(), Some("upstream"));
        assert_eq!(
            one("push git@github.com:org/repo.git main").remote.as_deref(),
            Some("git@github.com:org/repo.git")
        );
    }

    /// `-f`, `--force`, clusters and `+refspec` force; a lease or `--force-if-includes` does not.
    #[test]
    fn force_spellings() {
        for line in [
            "push -f origin main",
            "push --force origin main",
            "push origin main --force",
            "push -uf origin main",
            "push -fu origin main",
            "push -vfu origin main",
            "push origin +main",
            "push origin +HEAD:main",
            "push --no-force --force origin main",
            "push --force-with-lease --force origin main",
        ] {
            let i = one(line);
            assert_eq!(
                (i.operation.as_str(), i.force, &i.branches),
                ("push", true, &main()),
                "{line}"
            );
        }
        for line in [
            "push --force-with-lease origin main",
            "push --force-with-lease=main:abc123 origin main",
            "push --force-if-includes origin main",
            "push --force-with-lease --force-if-includes origin main",
            "push -f --no-force origin main",
            "push --force-w origin main",
        ] {
            assert!(!one(line).force, "{line}");
        }
    }

    /// Wildcard and matching refspecs, `--all` and `--mirror` reach every branch.
    #[test]
    fn every_branch() {
        let i = one("push origin refs/heads/*:refs/heads/*");
        assert!(i.all_branches && !i.force);
        let i = one("push origin +refs/heads/*:refs/heads/*");
        assert!(i.all_branches && i.force);
        assert!(one("push origin :").all_branches);
        assert!(one("push --all origin").all_branches);
        assert!(one("push --branches origin").all_branches);
        assert!(one("push --al origin").all_branches);
        let i = one("push --mirror origin");
        assert!(i.operation == "push" && i.force && i.all_branches, "{i:?}");
        let found = all("push --prune origin refs/heads/*:refs/heads/*");
        assert!(
            found.iter().any(|i| i.operation == "branch_delete" && i.all_branches),
            "{found:?}"
        );
    }

    /// A deletion whose branches are not known here (a variable, names fed by `xargs`) may hit any.
    #[test]
    fn unknown_deletions_may_hit_any_branch() {
        for line in [
            "push origin --delete",
            "push origin --delete $BRANCH",
            "push -d origin `cat b`",
        ] {
            let i = one(line);
            assert!(i.operation == "branch_delete" && i.all_branches, "{line}: {i:?}");
        }
        let i = one("push origin --delete feature-x");
        assert!(!i.all_branches && i.branches == vec!["feature-x".to_owned()], "{i:?}");
    }

    /// Tags are not branches.
    #[test]
    fn tags_are_not_branches() {
        let i = one("push --tags origin");
        assert!(i.branches.is_empty() && !i.all_branches);
        let i = one("push origin tag v1");
        assert_eq!((i.branches.len(), i.tags.clone()), (0, vec!["v1".to_owned()]));
        let i = one("push origin refs/tags/v1");
        assert_eq!(i.tags, vec!["v1".to_owned()]);
        assert!(!one("push origin refs/tags/*:refs/tags/*").all_branches);
    }

    /// Deletions in every spelling: `:main`, `--delete`, `-d`, abbreviated `--del`.
    #[test]
    fn branch_deletions() {
        for line in [
            "push origin :main",
            "push origin :refs/heads/main",
            "push origin --delete main",
            "push --delete origin main",
            "push -d origin main",
            "push --del origin main",
            "push anyremote --delete heads/main",
            "push --delete origin :main",
        ] {
            let i = one(line);
            assert_eq!(
                (i.operation.as_str(), &i.branches),
                ("branch_delete", &main()),
                "{line}"
            );
        }
    }

    /// Tag deletions are `tag_delete`, not branch deletions.
    #[test]
    fn tag_deletions() {
        for line in [
            "push origin --delete tag v1",
            "push --delete origin tag v1",
            "push origin :refs/tags/v1",
            "push -d origin refs/tags/v1",
            "tag -d v1",
            "tag --delete v1",
            "update-ref -d refs/tags/v1",
        ] {
            let i = one(line);
            assert_eq!(
                (i.operation.as_str(), i.tags.clone()),
                ("tag_delete", vec!["v1".to_owned()]),
                "{line}"
            );
            assert!(i.branches.is_empty(), "{line}");
        }
    }

    /// A push that both forces and deletes yields both intents, the deletion first.
    #[test]
    fn mixed_refspecs_split() {
        let found = all("push origin +feature :main docs");
        let ops: Vec<(&str, bool, Vec<String>)> = found
            .iter()
            .map(|i| (i.operation.as_str(), i.force, i.branches.clone()))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("branch_delete", false, main()),
                ("push", true, vec!["feature".to_owned()]),
                ("push", false, vec!["docs".to_owned()]),
            ]
        );
    }

    /// A dry run pushes nothing.
    #[test]
    fn dry_runs() {
        for line in [
            "push -n -f origin main",
            "push --dry-run -f origin main",
            "push -fn origin main",
            "push --dry origin main",
        ] {
            assert!(all(line).is_empty(), "{line}");
        }
        assert_eq!(all("push --dry-run --no-dry-run origin main").len(), 1);
    }

    /// Without a refspec the current branch is pushed: no branch is known, unless configuration says so.
    #[test]
    fn configured_pushes() {
        assert!(branches("push").is_empty());
        assert!(branches("push origin").is_empty());
        assert!(branches("push origin HEAD").is_empty());
        assert!(one("-c push.default=matching push origin").all_branches);
        let i = one("-c remote.origin.push=+refs/heads/*:refs/heads/* push origin");
        assert!(i.all_branches && i.force);
        assert_eq!(one("-c remote.origin.push=HEAD:main push").branches, main());
        let i = one("-c remote.origin.mirror=true push origin");
        assert!(i.force && i.all_branches, "{i:?}");
    }

    /// Global options and aliases do not hide a push.
    #[test]
    fn hidden_pushes() {
        for line in [
            "-C /repo push -f origin main",
            "-c alias.p=push p -f origin main",
            "--config-env k.v=ENV push -f origin main",
            "--attr-source HEAD push -f origin main",
            "--no-pager --git-dir .git --work-tree . push -f origin main",
            "-c alias.a=b -c alias.b=push a -f origin main",
        ] {
            let i = one(line);
            assert_eq!((i.force, &i.branches), (true, &main()), "{line}");
        }
    }

    /// `send-pack` pushes like `push`.
    #[test]
    fn send_pack() {
        let i = one("send-pack --force origin main");
        assert_eq!((i.operation.as_str(), i.force, &i.branches), ("push", true, &main()));
    }

    /// `git branch -d/-D` deletes, forced with `-D` or `-f`; `-r` names the remote-tracking branch.
    #[test]
    fn git_branch_deletions() {
        let i = one("branch -D main");
        assert_eq!(
            (i.operation.as_str(), i.force, &i.branches),
            ("branch_delete", true, &main())
        );
        let i = one("branch -d feature");
        assert_eq!((i.operation.as_str(), i.force), ("branch_delete", false));
        for line in [
            "branch --delete --force main",
            "branch -df main",
            "branch -fd main",
            "branch --del -f main",
        ] {
            let i = one(line);
            assert_eq!((i.force, &i.branches), (true, &main()), "{line}");
        }
        let i = one("branch -rd origin/main");
        assert_eq!((&i.branches, i.remote.as_deref()), (&main(), Some("origin")));
        let i = one("branch -d a b");
        assert_eq!(i.branches.len(), 2);
    }

    /// `git branch -f/-M/-C` onto a branch overwrites it: a forced `branch_update`.
    #[test]
    fn git_branch_overwrites() {
        for line in [
            "branch -f main HEAD~3",
            "branch -M main",
            "branch -M old main",
            "branch -C x main",
            "branch --force main abc",
        ] {
            let i = one(line);
            assert_eq!(
                (i.operation.as_str(), i.force, &i.branches),
                ("branch_update", true, &main()),
                "{line}"
            );
        }
        for line in [
            "branch feature",
            "branch --list",
            "branch -a",
            "branch -m old new",
            "branch --contains main",
        ] {
            assert!(all(line).is_empty(), "{line}");
        }
    }

    /// `git update-ref` deletes or moves refs without any check: forced.
    #[test]
    fn update_ref() {
        let i = one("update-ref -d refs/heads/main");
        assert_eq!(
            (i.operation.as_str(), i.force, &i.branches),
            ("branch_delete", true, &main())
        );
        let i = one("update-ref -m why -d refs/heads/main abc");
        assert_eq!(i.branches, main());
        let i = one("update-ref refs/heads/main abc123");
        assert_eq!(
            (i.operation.as_str(), i.force, &i.branches),
            ("branch_update", true, &main())
        );
        let i = one("update-ref --stdin");
        assert!(i.all_branches && i.force);
    }

    /// Commands that change no remote or named ref yield nothing.
    #[test]
    fn no_intent() {
        for line in [
            "status",
            "merge feature",
            "tag v1",
            "log main",
            "fetch origin main",
            "",
            "commit -m x",
        ] {
            assert!(all(line).is_empty(), "{line}");
        }
    }
}
