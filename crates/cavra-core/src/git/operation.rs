//! `git_operation` names read the way a person meant them.
//!
//! Agents spell one operation many ways: `force_push`, `force-push`, `Force Push`, `forcePush`,
//! `push --force`. A name is split into words (at `-`, `_`, spaces, dots, case changes and known
//! glued words such as `forcepush`), lower-cased, and classified by the words it contains; options
//! in it (`push -f`, `branch -D`) are read like git's. The one design decision: a name cavra does
//! not recognise is kept (normalised) and marked unknown, never mapped to something harmless, so a
//! rule can catch it (`operations: [unknown]`, or no `operations` at all with `protected: true`).

use super::command::{self, Arg, Opt, Takes};

/// Operations cavra recognises; any other name is unknown.
pub(crate) const KNOWN_OPERATIONS: [&str; 21] = [
    "push",
    "merge",
    "tag",
    "tag_delete",
    "branch_delete",
    "branch_create",
    "branch_update",
    "pull_request",
    "commit",
    "rebase",
    "reset",
    "checkout",
    "switch",
    "cherry_pick",
    "revert",
    "fetch",
    "pull",
    "clone",
    "stash",
    "status",
    "log",
];

/// An operation name, classified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Operation {
    /// `push`, `branch_delete`, `tag_delete`, `merge`, `pull_request`, `tag`, … or, for a name cavra
    /// does not recognise, the name's words joined by `_` (`Nuke-Main` is `nuke_main`).
    pub name: String,
    /// Whether `name` is one of [`KNOWN_OPERATIONS`].
    pub known: bool,
    /// A forced update: `force`, `-f`, `--force`, `-D`, `--mirror`.
    pub force: bool,
    /// Every branch: `--all`, `--branches`, `--mirror`, `push_all`.
    pub all_branches: bool,
    /// `--tags` (tags instead of branches).
    pub tags: bool,
    /// `--prune`: remote branches missing here are deleted.
    pub prune: bool,
}

/// Words an operation name may glue together (`forcepush`, `DeleteBranch` lower-cased, `openpr`).
const VOCABULARY: [&str; 64] = [
    "push",
    "pushed",
    "pushing",
    "pushes",
    "force",
    "forced",
    "forcing",
    "delete",
    "deleted",
    "deleting",
    "deletion",
    "del",
    "remove",
    "removed",
    "rm",
    "drop",
    "destroy",
    "erase",
    "branch",
    "branches",
    "pull",
    "request",
    "pr",
    "mr",
    "merge",
    "merged",
    "merging",
    "open",
    "create",
    "new",
    "make",
    "submit",
    "raise",
    "tag",
    "tags",
    "tagged",
    "lease",
    "with",
    "mirror",
    "all",
    "remote",
    "ref",
    "reset",
    "hard",
    "rebase",
    "commit",
    "checkout",
    "switch",
    "fetch",
    "clone",
    "stash",
    "revert",
    "cherry",
    "pick",
    "update",
    "rename",
    "move",
    "squash",
    "git",
    "status",
    "log",
    "repo",
    "repository",
    "prune",
];

/// A word reduced to the form the classifier looks for (`forced` is `force`, `rm` is `delete`).
fn base(word: &str) -> &str {
    match word {
        "pushed" | "pushing" | "pushes" => "push",
        "forced" | "forcing" => "force",
        "deleted" | "deleting" | "deletion" | "del" | "remove" | "removed" | "rm" | "drop" | "destroy" | "erase" => {
            "delete"
        }
        "merged" | "merging" => "merge",
        "tagged" => "tag",
        "branches" => "branch",
        "open" | "new" | "make" | "submit" | "raise" => "create",
        "repository" => "repo",
        other => other,
    }
}

/// Classifies an operation name (`force-push`, `Delete Branch`, `push --force`, `PR`).
pub(crate) fn read_operation(name: &str) -> Operation {
    let mut flags = Flags::default();
    let mut raw: Vec<String> = Vec::new();
    for word in name.split_whitespace() {
        if word.len() > 1 && word.starts_with('-') {
            flags.read(word);
        } else {
            raw.extend(split_words(word));
        }
    }
    raw.retain(|w| w != "git");
    // A name is a few words: only the first sixteen are read, which bounds the work.
    let words: Vec<&str> = raw.iter().take(16).flat_map(|w| segment(w)).map(base).collect();
    classify(&words, &raw, flags)
}

fn classify(words: &[&str], raw: &[String], flags: Flags) -> Operation {
    let has = |w: &str| words.contains(&w);
    let lease = flags.lease || has("lease");
    let force = flags.force || flags.mirror || has("mirror") || (has("force") && !lease);
    let pull_request = (has("pull") && has("request")) || has("pr") || has("mr");
    let merge_request = has("merge") && has("request") && !has("pull");
    let delete = flags.delete || has("delete");
    let tagged = has("tag") || has("tags");
    let name = if pull_request && has("merge") && !merge_request {
        "merge"
    } else if pull_request || merge_request {
        "pull_request"
    } else if delete && has("repo") {
        ""
    } else if delete && tagged {
        "tag_delete"
    } else if delete {
        "branch_delete"
    } else if has("push") {
        "push"
    } else if has("merge") {
        "merge"
    } else if tagged {
        "tag"
    } else if has("cherry") && has("pick") {
        "cherry_pick"
    } else if has("branch") && (has("update") || has("rename") || has("move") || has("reset") || flags.force) {
        "branch_update"
    } else if has("branch") {
        "branch_create"
    } else if let Some(verb) = [
        "reset", "rebase", "commit", "checkout", "switch", "revert", "fetch", "pull", "clone", "stash", "status", "log",
    ]
    .into_iter()
    .find(|v| has(v))
    {
        verb
    } else if has("force") || has("mirror") || lease || words.is_empty() {
        "push"
    } else {
        ""
    };
    let (name, known) = if name.is_empty() {
        (raw.join("_"), false)
    } else {
        (name.to_owned(), true)
    };
    let pushes = name == "push";
    Operation {
        known,
        force,
        all_branches: flags.all || flags.mirror || has("mirror") || (pushes && has("all")),
        tags: flags.tags || (pushes && has("tags")),
        prune: flags.prune || has("prune"),
        name,
    }
}

/// Splits one word at anything but letters and digits and at case changes (`forcePush`,
/// `PRCreate`), lower-cased.
fn split_words(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Splits a glued word into vocabulary words (`forcepush` is `force push`), the fewest parts
/// winning; a word that does not split entirely is kept whole.
fn segment(word: &str) -> Vec<&str> {
    // Operation names are short; a long word is not worth the quadratic split.
    if VOCABULARY.contains(&word) || word.len() > 32 {
        return vec![word];
    }
    // best[i]: the fewest vocabulary words spelling word[..i], with where the last one starts.
    let mut best: Vec<Option<(usize, usize)>> = vec![None; word.len() + 1];
    best[0] = Some((0, 0));
    for end in 1..=word.len() {
        for start in 0..end {
            let (Some(Some((count, _))), Some(part)) = (best.get(start), word.get(start..end)) else {
                continue;
            };
            if VOCABULARY.contains(&part) && best[end].is_none_or(|(c, _)| count + 1 < c) {
                best[end] = Some((count + 1, start));
            }
        }
    }
    let mut parts = Vec::new();
    let mut end = word.len();
    while end > 0 {
        let Some(Some((_, start))) = best.get(end).copied() else {
            return vec![word];
        };
        parts.push(&word[start..end]);
        end = start;
    }
    parts.reverse();
    parts
}

/// Flags met in an operation name or a `git_operation` target, read the way `git push` and
/// `git branch` read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    /// `-f`, `--force`, `-D`, `-M`, `-C` (last of `--force`/`--no-force` wins).
    pub force: bool,
    /// `--force-with-lease`, `--force-if-includes`: safer pushes, not forced ones.
    pub lease: bool,
    /// `-d`, `-D`, `--delete`.
    pub delete: bool,
    /// `--mirror`.
    pub mirror: bool,
    /// `--all`, `--branches`.
    pub all: bool,
    /// `--tags`.
    pub tags: bool,
    /// `--prune`.
    pub prune: bool,
}

impl Flags {
    /// Reads one word that begins with `-` (a cluster such as `-fu` included).
    pub(crate) fn read(&mut self, word: &str) {
        let words = [word.to_owned()];
        for arg in command::parse(FLAG_OPTIONS, &words) {
            let Arg::Opt { name, negated, .. } = arg else { continue };
            let on = !negated;
            match name {
                "force" => self.force = on,
                "force-with-lease" | "force-if-includes" => self.lease = on,
                "delete" => self.delete = on,
                "delete-force" => (self.delete, self.force) = (true, true),
                "move-force" | "copy-force" => self.force = true,
                "mirror" => self.mirror = on,
                "all" | "branches" => self.all = on,
                "tags" => self.tags = on,
                "prune" => self.prune = on,
                _ => {}
            }
        }
    }
}

/// Options an operation name or target may carry, read with git's rules ([`command::find_long`]).
const FLAG_OPTIONS: &[Opt] = &[
    Opt {
        name: "force",
        long: true,
        short: Some('f'),
        takes: Takes::Nothing,
    },
    Opt {
        name: "force-with-lease",
        long: true,
        short: None,
        takes: Takes::Attached,
    },
    Opt {
        name: "force-if-includes",
        long: true,
        short: None,
        takes: Takes::Nothing,
    },
    Opt {
        name: "delete",
        long: true,
        short: Some('d'),
        takes: Takes::Nothing,
    },
    Opt {
        name: "delete-force",
        long: false,
        short: Some('D'),
        takes: Takes::Nothing,
    },
    Opt {
        name: "move-force",
        long: false,
        short: Some('M'),
        takes: Takes::Nothing,
    },
    Opt {
        name: "copy-force",
        long: false,
        short: Some('C'),
        takes: Takes::Nothing,
    },
    Opt {
        name: "mirror",
        long: true,
        short: None,
        takes: Takes::Nothing,
    },
    Opt {
        name: "all",
        long: true,
        short: None,
        takes: Takes::Nothing,
    },
    Opt {
        name: "branches",
        long: true,
        short: None,
        takes: Takes::Nothing,
    },
    Opt {
        name: "tags",
        long: true,
        short: None,
        takes: Takes::Nothing,
    },
    Opt {
        name: "prune",
        long: true,
        short: None,
        takes: Takes::Nothing,
    },
    Opt {
        name: "dry-run",
        long: true,
        short: Some('n'),
        takes: Takes::Nothing,
    },
    Opt {
        name: "set-upstream",
        long: true,
        short: Some('u'),
        takes: Takes::Nothing,
    },
    Opt {
        name: "hard",
        long: true,
        short: None,
        takes: Takes::Nothing,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str) -> Operation {
        read_operation(name)
    }

    /// Every spelling of a push is a push, and none of them is forced.
    #[test]
    fn push_spellings() {
        for name in [
            "push",
            "Push",
            "PUSH",
            "git push",
            "git-push",
            "git_push",
            "pushed",
            "push_changes",
        ] {
            let o = op(name);
            assert_eq!((o.name.as_str(), o.force, o.known), ("push", false, true), "{name}");
        }
    }

    /// Every spelling of a force push is a forced push.
    #[test]
    fn force_push_spellings() {
        for name in [
            "force_push",
            "force-push",
            "Force_Push",
            "FORCE PUSH",
            "forcePush",
            "ForcePush",
            "forcepush",
            "FORCEPUSH",
            "force",
            "forced push",
            "push_force",
            "push --force",
            "push -f",
            "push -uf",
            "--force",
            "-f",
            "git push --force",
            "git push -f",
            "push --mirror",
            "mirror",
        ] {
            let o = op(name);
            assert_eq!((o.name.as_str(), o.force), ("push", true), "{name}");
        }
        assert!(op("mirror").all_branches);
        assert!(op("push --all").all_branches);
        assert!(op("push_all").all_branches);
        assert!(op("push --tags").tags);
    }

    /// A lease is the safer alternative, not a force push.
    #[test]
    fn lease_is_not_force() {
        for name in [
            "push --force-with-lease",
            "force_with_lease",
            "force-with-lease push",
            "push --force-if-includes",
            "forceWithLease",
        ] {
            let o = op(name);
            assert_eq!((o.name.as_str(), o.force), ("push", false), "{name}");
        }
        assert!(op("push --force-with-lease --force").force);
    }

    /// Every spelling of a branch deletion is `branch_delete`; `-D` and `force` make it forced.
    #[test]
    fn branch_delete_spellings() {
        for name in [
            "delete",
            "Delete",
            "delete_branch",
            "delete-branch",
            "Delete Branch",
            "deleteBranch",
            "DeleteBranch",
            "branch-delete",
            "branch_delete",
            "branchDelete",
            "push_delete",
            "push --delete",
            "push -d",
            "remove_branch",
            "branch_rm",
            "rm_branch",
            "del",
            "delete_remote_branch",
            "branch -d",
            "git branch -d",
        ] {
            let o = op(name);
            assert_eq!((o.name.as_str(), o.force), ("branch_delete", false), "{name}");
        }
        for name in [
            "branch -D",
            "force_delete",
            "force-delete-branch",
            "delete --force",
            "branch -d -f",
        ] {
            let o = op(name);
            assert_eq!((o.name.as_str(), o.force), ("branch_delete", true), "{name}");
        }
    }

    /// Tag deletions are not branch deletions.
    #[test]
    fn tag_delete_spellings() {
        for name in [
            "delete_tag",
            "tag-delete",
            "tag -d",
            "DeleteTag",
            "remove tag",
            "push --delete tag",
        ] {
            assert_eq!(op(name).name, "tag_delete", "{name}");
        }
        for name in ["tag", "create_tag", "Tag"] {
            assert_eq!(op(name).name, "tag", "{name}");
        }
    }

    /// Every spelling of opening a pull (or merge) request is `pull_request`.
    #[test]
    fn pull_request_spellings() {
        for name in [
            "pr",
            "PR",
            "pull-request",
            "pull_request",
            "PullRequest",
            "pullrequest",
            "open_pr",
            "create_pr",
            "openPR",
            "create-pull-request",
            "open pull request",
            "merge_request",
            "mr",
            "create_merge_request",
        ] {
            assert_eq!(op(name).name, "pull_request", "{name}");
        }
    }

    /// Merging, including merging a pull request, is `merge`.
    #[test]
    fn merge_spellings() {
        for name in [
            "merge",
            "Merge",
            "merge_pr",
            "merge_pull_request",
            "mergePullRequest",
            "squash_merge",
            "merged",
        ] {
            assert_eq!(op(name).name, "merge", "{name}");
        }
    }

    /// Other git verbs are known by their canonical names.
    #[test]
    fn other_known_verbs() {
        assert_eq!(op("Cherry-Pick").name, "cherry_pick");
        assert_eq!(op("reset --hard").name, "reset");
        assert_eq!(op("create_branch").name, "branch_create");
        assert_eq!(op("rebase").name, "rebase");
        assert!(op("rebase").known);
    }

    /// A name cavra does not recognise is kept, normalised, and marked unknown.
    #[test]
    fn unknown_names_are_kept() {
        let o = op("overwrite");
        assert_eq!((o.name.as_str(), o.known), ("overwrite", false));
        let o = op("Nuke-Main");
        assert_eq!((o.name.as_str(), o.known), ("nuke_main", false));
        assert_eq!(op("").name, "push");
        assert!(!op("delete_repository").known);
        assert!(!op("publish").known);
    }

    /// Flag words are read the way git reads them.
    #[test]
    fn flag_words() {
        let mut f = Flags::default();
        for w in ["-uf", "--no-force"] {
            f.read(w);
        }
        assert!(!f.force);
        let mut f = Flags::default();
        f.read("-fu");
        assert!(f.force);
        let mut f = Flags::default();
        f.read("--force-with-lease=main:abc");
        assert!(f.lease && !f.force);
        let mut f = Flags::default();
        f.read("-D");
        assert!(f.delete && f.force);
        let mut f = Flags::default();
        f.read("--del");
        f.read("--mirr");
        assert!(f.delete && f.mirror);
    }
}
