//! Lexical path normalisation, so `./.env`, `/repo/.env` and `sub/../.env` are all `.env`.
//!
//! Purely textual: no file system access, no symlink resolution (evaluation does no I/O). A
//! leading `~` is kept as a component of its own, so rules can name `~/.ssh`.

/// Collapses `.`, `..`, repeated and trailing slashes. `..` above the root stays at the root;
/// `..` at the start of a relative path is kept.
pub fn lexical(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." && last != "~" => {
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

/// Whether `path` does not depend on the working directory.
pub fn is_anchored(path: &str) -> bool {
    path.starts_with('/') || path == "~" || path.starts_with("~/") || path.starts_with('$')
}

/// `path` resolved against `base` (itself already normalised), lexically.
pub fn join(base: Option<&str>, path: &str) -> String {
    match base {
        Some(base) if !is_anchored(path) && base != "." => lexical(&format!("{base}/{path}")),
        _ => lexical(path),
    }
}

/// A file path in the two spellings rules are matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath {
    /// The path resolved against the working directory.
    pub full: String,
    /// The same path relative to the repository root (the action's `cwd`), when it lies inside.
    pub relative: Option<String>,
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
    NormalPath { full, relative }
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
}
