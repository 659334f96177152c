//! `git_operation` names read the way a person meant them.
//!
//! Agents spell one operation many ways: `force_push`, `force-push`, `Force Push`, `forcePush`,
//! `push --force`. A name is split into words (at `-`, `_`, spaces, dots, case changes and known
//! glued words such as `forcepush`), lower-cased, and classified by the words it contains; options
//! in it (`push -f`, `branch -D`) are read like git's. The one design decision: a name cavra does
//! not recognise is kept (normalised) and marked unknown, never mapped to something harmless, so a
//! rule can catch it (`operations: [unknown]`, or no `operations` at all with `protected: true`).

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

/// Classifies an operation name (`force-push`, `Delete Branch`, `push --force`, `PR`).
pub(crate) fn read_operation(name: &str) -> Operation {
    let _ = name;
    Operation::default()
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
        let _ = word;
    }
}

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
