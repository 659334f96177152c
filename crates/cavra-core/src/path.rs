//! Lexical path normalisation, so `./.env`, `/repo/.env` and `sub/../.env` are all `.env`.
//!
//! Purely textual: no file system access, no symlink resolution (evaluation does no I/O). A
//! leading `~` is kept as a component of its own, so rules can name `~/.ssh`. Windows spellings
//! are read as the same components: a backslash is a separator and a drive letter a root
//! (`C:\Users\x` is `/c/Users/x`, as Git Bash spells it), so one rule covers both systems.

use std::borrow::Cow;

/// `path` with Windows separators and drive letters rewritten: `C:\x\y` is `/c/x/y`,
/// `\\server\share` is `//server/share`, `~\.ssh` is `~/.ssh`.
fn forward_slashes(path: &str) -> Cow<'_, str> {
    let bytes = path.as_bytes();
    let drive = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes.len() == 2 || matches!(bytes[2], b'/' | b'\\'));
    if !drive && !path.contains('\\') {
        return Cow::Borrowed(path);
    }
    let slashed = path.replace('\\', "/");
    if drive {
        let letter = char::from(bytes[0].to_ascii_lowercase());
        Cow::Owned(format!("/{letter}{}", &slashed[2..]))
    } else {
        Cow::Owned(slashed)
    }
}

/// Collapses `.`, `..`, repeated and trailing slashes. `..` above the root stays at the root;
/// `..` at the start of a relative path is kept.
pub fn lexical(path: &str) -> String {
    let path = forward_slashes(path);
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." && !last.starts_with('~') => {
                    parts.pop();
                }
                Some(_) => parts.push(".."),
                None if absolute => {}
                None => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Whether `path` does not depend on the working directory: absolute, a drive path, under a
/// home directory (`~`, `~user`), or under a variable (`$HOME`, `%USERPROFILE%`).
pub fn is_anchored(path: &str) -> bool {
    let path = forward_slashes(path);
    path.starts_with(['/', '~', '$']) || (path.starts_with('%') && path[1..].contains('%'))
}

/// The spellings of the working directory a command may start a path with.
const WORKING_DIRECTORY: [&str; 5] = ["$PWD", "${PWD}", "$(pwd)", "`pwd`", "~+"];

/// `path` resolved against `base` (itself already normalised), lexically. A path that starts
/// with the working directory's spelling (`$PWD/x`, `$(pwd)/x`) is resolved against `base` too.
pub fn join(base: Option<&str>, path: &str) -> String {
    let here = WORKING_DIRECTORY.iter().find_map(|w| {
        path.strip_prefix(w)
            .filter(|rest| rest.is_empty() || rest.starts_with(['/', '\\']))
    });
    match (base, here) {
        (Some(base), Some(rest)) => lexical(&format!("{base}/{rest}")),
        (Some(base), None) if !is_anchored(path) && base != "." => lexical(&format!("{base}/{path}")),
        _ => lexical(path),
    }
}

/// A file path in the spellings rules are matched against, and where it lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath {
    /// The path resolved against the working directory.
    pub full: String,
    /// The same path relative to the repository root (the action's `cwd`), when it lies inside.
    pub relative: Option<String>,
    /// Whether the path lies outside the repository: the root is known and the path is not under
    /// it, or the path climbs above the working directory (`../x`). A path through a variable
    /// other than the home directory (`$tmp/x`) is not known to lie anywhere, so it is not outside.
    pub outside: bool,
}

/// Resolves `path` against `cwd` (where the command runs) and relates it to `root` (the action's
/// `cwd`, standing for the repository).
pub fn resolve(path: &str, cwd: Option<&str>, root: Option<&str>) -> NormalPath {
    let full = join(cwd, path);
    let relative = match root.map(lexical) {
        Some(root) if root == full => Some(".".to_owned()),
        Some(root) => {
            let prefix = if root.ends_with('/') {
                root.clone()
            } else {
                format!("{root}/")
            };
            match full.strip_prefix(&prefix) {
                Some(rest) => Some(rest.to_owned()),
                None if is_anchored(&full) => None,
                None => Some(full.clone()),
            }
        }
        None if is_anchored(&full) => None,
        None => Some(full.clone()),
    };
    let outside = match &relative {
        Some(r) => r == ".." || r.starts_with("../"),
        None => root.is_some() && lies_somewhere(&full),
    };
    NormalPath {
        full,
        relative,
        outside,
    }
}

/// Whether an anchored path names a known place: absolute, or under a home directory.
fn lies_somewhere(full: &str) -> bool {
    full.starts_with(['/', '~'])
        || ["$HOME", "%USERPROFILE%", "%HOMEPATH%"].iter().any(|home| {
            full.strip_prefix(home)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spellings of one file agree.
    #[test]
    fn spellings_agree() {
        assert_eq!(lexical("./.env"), ".env");
        assert_eq!(lexical("sub/../.env"), ".env");
        assert_eq!(lexical("a//b/"), "a/b");
        assert_eq!(lexical("/../etc"), "/etc");
        assert_eq!(lexical("../x"), "../x");
        assert_eq!(lexical("~/.ssh/../.ssh/id_rsa"), "~/.ssh/id_rsa");
        let p = resolve("/home/dev/repo/.env", Some("/home/dev/repo"), Some("/home/dev/repo"));
        assert_eq!(p.relative.as_deref(), Some(".env"));
        let p = resolve(".", Some("/home/dev/repo"), Some("/home/dev/repo"));
        assert_eq!(p.relative.as_deref(), Some("."));
        let p = resolve("/etc/passwd", None, None);
        assert_eq!(p.relative, None);
        assert_eq!(p.full, "/etc/passwd");
    }

    /// Windows spellings resolve to the same components: backslashes are separators and a drive
    /// letter is a root (`C:\x` is `/c/x`, as Git Bash spells it).
    #[test]
    fn windows_spellings_agree() {
        assert_eq!(lexical(r"C:\Users\x\.ssh\id_rsa"), "/c/Users/x/.ssh/id_rsa");
        assert_eq!(lexical(r"c:/Users/x/.aws/credentials"), "/c/Users/x/.aws/credentials");
        assert_eq!(lexical(r"~\.ssh\id_rsa"), "~/.ssh/id_rsa");
        assert_eq!(lexical(r"sub\..\.env"), ".env");
        assert_eq!(lexical(r"\\server\share\.env"), "/server/share/.env");
        assert!(is_anchored(r"%USERPROFILE%\.ssh\id_rsa"));
        assert!(is_anchored(r"D:\keys"));
        let p = resolve(r".\config\.env", Some(r"C:\work\repo"), Some(r"C:\work\repo"));
        assert_eq!(
            (p.full.as_str(), p.relative.as_deref()),
            ("/c/work/repo/config/.env", Some("config/.env"))
        );
        let p = resolve(r"..\other\x", Some(r"C:\work\repo"), Some(r"C:\work\repo"));
        assert_eq!(p.full, "/c/work/other/x");
        assert!(p.outside);
    }

    /// Outside the repository: with a root known, any path not under it; without one, only a path
    /// that climbs above the working directory. A path through an unknown variable is not known to
    /// be outside; `$PWD` and `$(pwd)` are the working directory.
    #[test]
    fn outside_the_repository() {
        let root = Some("/home/dev/repo");
        let outside = |path: &str, cwd: Option<&str>, root: Option<&str>| resolve(path, cwd, root).outside;
        assert!(outside("/etc/hosts", root, root));
        assert!(outside("../other/x", root, root));
        assert!(outside("~/.bashrc", root, root));
        assert!(outside("$HOME/notes", root, root));
        assert!(outside("~root/.ssh/authorized_keys", root, root));
        assert!(outside("/home/dev/repo-other/x", root, root));
        assert!(outside("../x", None, None));
        assert!(outside("x", Some("/tmp"), root));
        assert!(!outside("/etc/hosts", None, None));
        assert!(!outside("src/main.rs", root, root));
        assert!(!outside("/home/dev/repo/src/../x", root, root));
        assert!(!outside("sub/../x", None, None));
        assert!(!outside("$tmp/out.txt", root, root));
        assert!(!outside("../repo/x", root, root));
        let p = resolve("$PWD/x", root, root);
        assert_eq!(
            (p.full.as_str(), p.relative.as_deref(), p.outside),
            ("/home/dev/repo/x", Some("x"), false)
        );
        for spelling in ["$(pwd)/x", "`pwd`/x", "${PWD}/x"] {
            assert_eq!(
                resolve(spelling, root, root).relative.as_deref(),
                Some("x"),
                "{spelling}"
            );
        }
        assert!(is_anchored("~root/.ssh"));
    }
}
