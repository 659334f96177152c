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

/// The intents of a git command line already read by [`super::read_git_argv`]: empty when it
/// neither pushes, deletes nor rewrites a ref (`git status`, `git merge x`, `git push --dry-run`).
pub(crate) fn intents(argv: &GitArgv) -> Vec<GitIntent> {
    let _ = argv;
    Vec::new()
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
        let found = all("push --mirror origin");
        assert!(
            found.iter().any(|i| i.operation == "push" && i.force && i.all_branches),
            "{found:?}"
        );
        assert!(
            found.iter().any(|i| i.operation == "branch_delete" && i.all_branches),
            "{found:?}"
        );
        let found = all("push --prune origin refs/heads/*:refs/heads/*");
        assert!(
            found.iter().any(|i| i.operation == "branch_delete" && i.all_branches),
            "{found:?}"
        );
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
        let found = all("-c remote.origin.mirror=true push origin");
        assert!(found.iter().any(|i| i.force && i.all_branches), "{found:?}");
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
