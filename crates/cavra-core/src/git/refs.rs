//! Ref names and push refspecs, resolved the way git resolves them.
//!
//! git accepts many spellings of one branch: `main`, `heads/main` (git tries `refs/<name>`),
//! `refs/heads/main`, `remotes/origin/main`, a revision of it (`main~0`, `main^{commit}`) and,
//! in a push refspec, `[+]<src>:<dst>` where only the destination says what changes on the remote.
//! The one design decision: when a spelling could name a protected branch, it does. A
//! remote-tracking spelling (`origin/main`, `refs/remotes/fork/main`) counts as the branch it
//! tracks, and a wildcard destination (`refs/heads/*`) counts as every branch.

use std::borrow::Cow;

/// What a ref spelling names once git's rules are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ref {
    /// A branch: `main`, `heads/main`, `refs/heads/main`, `origin/main`, `remotes/origin/main`.
    Branch(String),
    /// A tag: `tags/v1`, `refs/tags/v1`.
    Tag(String),
    /// Every branch: a wildcard in the branch namespaces (`refs/heads/*`, `*`) or the matching
    /// refspec `:`.
    AllBranches,
    /// Every tag: `refs/tags/*`.
    AllTags,
    /// `HEAD`, `@` or a revision of them: the current branch, which evaluation cannot know.
    Current,
    /// Another namespace (`refs/notes/x`, `refs/for/main`, `refs/pull/1/head`, `FETCH_HEAD`).
    Other(String),
}

/// One push refspec: `[+]<src>[:<dst>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refspec {
    /// A leading `+`: the update is forced.
    pub force: bool,
    /// An empty source (`:main`): the destination is deleted.
    pub delete: bool,
    /// What changes on the remote.
    pub dst: Ref,
}

/// Remote names stripped from a one-word `remote/branch` spelling. Only there: in `git push REMOTE
/// REFSPEC` the remote is positional, so any name works, and `refs/remotes/X/` is stripped for any X.
const COMMON_REMOTES: [&str; 10] = [
    "origin",
    "upstream",
    "fork",
    "github",
    "gitlab",
    "bitbucket",
    "remote",
    "mine",
    "me",
    "public",
];

/// Whether `word` is one of the usual remote names (`origin`, `upstream`, `fork`, ...), in any case.
pub(crate) fn is_common_remote(word: &str) -> bool {
    COMMON_REMOTES.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// Resolves one ref spelling (not a refspec).
pub(crate) fn resolve(spelling: &str) -> Ref {
    let s = spelling.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    // A revision of a ref (`main~0`, `main^{commit}`, `main@{1}`) names that ref.
    let cut = [s.find('~'), s.find('^'), s.find("@{")].into_iter().flatten().min();
    let s = cut.map_or(s, |at| &s[..at]);
    let name = normalise_slashes(s);
    let name = name.as_ref();
    if name.is_empty() || name == "@" || name.eq_ignore_ascii_case("HEAD") {
        return Ref::Current;
    }
    if name.contains('*') {
        return wildcard(name);
    }
    if let Some(branch) = strip_prefix_ci(name, "refs/heads/").or_else(|| strip_prefix_ci(name, "heads/")) {
        return Ref::Branch(branch.to_owned());
    }
    if let Some(tag) = strip_prefix_ci(name, "refs/tags/").or_else(|| strip_prefix_ci(name, "tags/")) {
        return Ref::Tag(tag.to_owned());
    }
    if let Some(tracking) = strip_prefix_ci(name, "refs/remotes/").or_else(|| strip_prefix_ci(name, "remotes/")) {
        return match tracking.split_once('/') {
            Some((_, branch)) if !branch.is_empty() => Ref::Branch(branch.to_owned()),
            _ => Ref::Other(name.to_owned()),
        };
    }
    if strip_prefix_ci(name, "refs/").is_some() || is_pseudo_ref(name) {
        return Ref::Other(name.to_owned());
    }
    match name.split_once('/') {
        Some((remote, branch)) if !branch.is_empty() && is_common_remote(remote) => Ref::Branch(branch.to_owned()),
        _ => Ref::Branch(name.to_owned()),
    }
}

/// A wildcard ref: every tag under `refs/tags/`, another namespace under `refs/<other>/`, every
/// branch otherwise (`refs/heads/feature/*` may not reach `main`, but a pattern is not a name, and
/// wildcard pushes are rare enough that reading them as every branch costs little).
fn wildcard(name: &str) -> Ref {
    if strip_prefix_ci(name, "refs/tags/").is_some() || strip_prefix_ci(name, "tags/").is_some() {
        return Ref::AllTags;
    }
    let branch_space = ["refs/heads/", "heads/", "refs/remotes/", "remotes/"]
        .iter()
        .any(|p| strip_prefix_ci(name, p).is_some());
    match strip_prefix_ci(name, "refs/") {
        Some(rest) if !branch_space && rest.contains('/') => Ref::Other(name.to_owned()),
        _ => Ref::AllBranches,
    }
}

/// `FETCH_HEAD`, `ORIG_HEAD`, `MERGE_HEAD`, ...: all-caps names ending in `HEAD` are pseudo-refs.
fn is_pseudo_ref(name: &str) -> bool {
    name.len() > 4 && name.ends_with("_HEAD") && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// `refs//heads/main/` is `refs/heads/main`, as `git check-ref-format --normalize` has it.
fn normalise_slashes(name: &str) -> Cow<'_, str> {
    if !name.starts_with('/') && !name.ends_with('/') && !name.contains("//") {
        return Cow::Borrowed(name);
    }
    Cow::Owned(
        name.split('/')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// `prefix` stripped case-insensitively: on a case-insensitive file system `Refs/Heads/main` is
/// the loose ref `refs/heads/main`.
fn strip_prefix_ci<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &name[prefix.len()..])
}

/// Reads one push refspec; `None` for a negative refspec (`^refs/heads/x`), which only excludes.
pub(crate) fn parse_refspec(spec: &str) -> Option<Refspec> {
    let spec = spec.trim();
    let (force, spec) = match spec.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    if spec.starts_with('^') {
        return None;
    }
    // git splits at the last colon: the source may be a revision, the destination is a ref name.
    let (src, dst) = match spec.rsplit_once(':') {
        Some((src, dst)) => (src, Some(dst)),
        None => (spec, None),
    };
    if spec.is_empty() || (src.is_empty() && dst.is_some_and(str::is_empty)) {
        // `:` (or nothing): the matching refspec, every branch both sides have.
        return Some(Refspec {
            force,
            delete: false,
            dst: Ref::AllBranches,
        });
    }
    let delete = src.is_empty();
    let dst = match dst {
        Some(d) if !d.is_empty() => resolve(d),
        _ => resolve(src),
    };
    Some(Refspec { force, delete, dst })
}

/// Whether a word names a remote by URL or path rather than by name: `https://…`, `ssh://…`,
/// `git@host:org/repo.git`, `/srv/repo.git`, `../other`.
pub(crate) fn is_url(word: &str) -> bool {
    if word.contains("://") || word.starts_with(['/', '~']) || word.starts_with("./") || word.starts_with("../") {
        return true;
    }
    if word.ends_with(".git") && !word.contains(':') {
        return true;
    }
    // scp-like `user@host:path`; not a refspec such as `@:main` or `HEAD@{1}:main`.
    match word.split_once(':') {
        Some((host, path)) => {
            let at = host.find('@');
            at.is_some_and(|i| i > 0 && i + 1 < host.len()) && !host.contains(['{', '/']) && !path.is_empty()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branch(name: &str) -> Ref {
        Ref::Branch(name.to_owned())
    }

    fn dst(spec: &str) -> Ref {
        parse_refspec(spec).map_or(Ref::Other("negative".to_owned()), |r| r.dst)
    }

    /// Every single-ref spelling git resolves to the branch `main` is `main`.
    #[test]
    fn main_in_every_spelling() {
        for s in [
            "main",
            "heads/main",
            "refs/heads/main",
            "origin/main",
            "upstream/main",
            "fork/main",
            "github/main",
            "remotes/origin/main",
            "remotes/anyname/main",
            "refs/remotes/upstream/main",
            "+main",
            "main~0",
            "main^",
            "main^{commit}",
            "main@{1}",
            "main@{upstream}",
            "refs//heads/main",
            "/refs/heads/main",
            "Refs/Heads/main",
            " main ",
        ] {
            assert_eq!(resolve(s), branch("main"), "{s}");
        }
    }

    /// Names that only look like remote spellings stay whole.
    #[test]
    fn branch_namespaces_stay_whole() {
        assert_eq!(resolve("release/1.2"), branch("release/1.2"));
        assert_eq!(resolve("feature/main"), branch("feature/main"));
        assert_eq!(resolve("refs/heads/release/2.0"), branch("release/2.0"));
        assert_eq!(resolve("origin/release/2.0"), branch("release/2.0"));
    }

    /// Tags, the current branch, wildcards and other namespaces are told apart from branches.
    #[test]
    fn non_branch_refs() {
        assert_eq!(resolve("tags/v1"), Ref::Tag("v1".to_owned()));
        assert_eq!(resolve("refs/tags/v1"), Ref::Tag("v1".to_owned()));
        for s in ["HEAD", "@", "head", "HEAD~1", "@~2", "@{-1}", ""] {
            assert_eq!(resolve(s), Ref::Current, "{s}");
        }
        assert_eq!(resolve("refs/heads/*"), Ref::AllBranches);
        assert_eq!(resolve("refs/heads/feature/*"), Ref::AllBranches);
        assert_eq!(resolve("*"), Ref::AllBranches);
        assert_eq!(resolve("refs/remotes/origin/*"), Ref::AllBranches);
        assert_eq!(resolve("refs/tags/*"), Ref::AllTags);
        assert_eq!(
            resolve("refs/notes/commits"),
            Ref::Other("refs/notes/commits".to_owned())
        );
        assert_eq!(resolve("refs/for/main"), Ref::Other("refs/for/main".to_owned()));
        assert_eq!(resolve("FETCH_HEAD"), Ref::Other("FETCH_HEAD".to_owned()));
    }

    /// Refspec destinations push to `main` in every spelling of the brief.
    #[test]
    fn refspecs_to_main() {
        for s in [
            "main",
            "HEAD:main",
            "HEAD:heads/main",
            "HEAD:refs/heads/main",
            "@:main",
            "main~0:main",
            "feature:main",
            "refs/heads/feature:refs/heads/main",
            "HEAD@{1}:main",
            "origin/main",
            "HEAD:remotes/origin/main",
        ] {
            assert_eq!(dst(s), branch("main"), "{s}");
        }
        assert_eq!(dst("main:feature"), branch("feature"));
        assert_eq!(dst("HEAD"), Ref::Current);
        assert_eq!(dst("@"), Ref::Current);
    }

    /// `+` forces, an empty source deletes, `:` alone and wildcards reach every branch.
    #[test]
    fn refspec_force_delete_and_wildcards() {
        let forced = parse_refspec("+HEAD:main");
        assert_eq!(
            forced,
            Some(Refspec {
                force: true,
                delete: false,
                dst: branch("main")
            })
        );
        let deleted = parse_refspec(":main");
        assert_eq!(
            deleted,
            Some(Refspec {
                force: false,
                delete: true,
                dst: branch("main")
            })
        );
        assert!(parse_refspec(":refs/heads/main").is_some_and(|r| r.delete && r.dst == branch("main")));
        assert!(parse_refspec("+:main").is_some_and(|r| r.delete && r.force));
        assert_eq!(dst("refs/heads/*:refs/heads/*"), Ref::AllBranches);
        assert!(parse_refspec("+refs/heads/*:refs/heads/*").is_some_and(|r| r.force && r.dst == Ref::AllBranches));
        assert_eq!(dst("refs/tags/*:refs/tags/*"), Ref::AllTags);
        assert_eq!(dst(":"), Ref::AllBranches);
        assert!(parse_refspec("+:").is_some_and(|r| r.force && !r.delete && r.dst == Ref::AllBranches));
        assert_eq!(dst("HEAD:refs/tags/v1"), Ref::Tag("v1".to_owned()));
        assert_eq!(parse_refspec("^refs/heads/wip"), None);
    }

    /// URLs and paths are remotes; refspecs and revision syntax are not.
    #[test]
    fn urls_and_paths() {
        for w in [
            "https://github.com/org/repo",
            "ssh://git@host/repo.git",
            "git@github.com:org/repo.git",
            "/srv/repo.git",
            "../other",
            "./mirror",
            "~/repos/x",
            "file:///srv/x",
        ] {
            assert!(is_url(w), "{w}");
        }
        for w in [
            "origin",
            "main",
            "v1.0:main",
            "HEAD:main",
            "@:main",
            "HEAD@{1}:main",
            "main~0:main",
            "+HEAD:main",
        ] {
            assert!(!is_url(w), "{w}");
        }
    }
}
