//! Flag normalisation: `-rf`, `-fr`, `-r -f` and `--recursive --force` are the same flags.
//!
//! Each program (and, for `git`, each subcommand) has a small table of short-flag aliases and of
//! options that take a value, so that `kubectl --context prod delete` still sees `delete` as the
//! first positional. Programs with single-dash long options (`terraform -auto-approve`, `find
//! -delete`) are never split into letters.

/// One normalised flag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flag {
    /// Canonical name without dashes: `recursive`, `force`, `auto-approve`, `D`.
    pub name: String,
    /// The value given with `=` or as the next word, for options that take one.
    pub value: Option<String>,
}

/// The result of reading one command's arguments.
#[derive(Debug, Default)]
pub(crate) struct ParsedArgs {
    pub flags: Vec<Flag>,
    pub positionals: Vec<String>,
    /// Values of options (`--output=x`, `-f x`), which may be file paths too.
    pub values: Vec<String>,
}

/// Programs whose single-dash options are whole words.
fn single_dash_long(program: &str) -> bool {
    matches!(
        program,
        "terraform" | "tofu" | "terragrunt" | "find" | "java" | "go" | "dd"
    )
}

/// Short-flag aliases: letter → canonical names.
fn short_alias(program: &str, sub: &str, letter: char) -> Option<&'static [&'static str]> {
    let names: &'static [&'static str] = match (program, sub, letter) {
        ("rm" | "cp" | "rsync" | "scp" | "grep" | "ls" | "chmod" | "chown" | "chgrp", _, 'R') => &["recursive"],
        ("rm" | "cp" | "rsync" | "grep" | "zip", _, 'r') => &["recursive"],
        ("rm" | "cp" | "mv" | "ln" | "shred", _, 'f') => &["force"],
        ("rm", _, 'd') => &["dir"],
        ("cp" | "rsync", _, 'a') => &["archive"],
        ("ln", _, 's') => &["symbolic"],
        ("sed", _, 'i') => &["in-place"],
        ("shred", _, 'u') => &["remove"],
        ("curl", _, 'o') => &["output"],
        ("curl", _, 'k') => &["insecure"],
        ("curl", _, 'X') => &["request"],
        ("curl", _, 'd') => &["data"],
        ("curl", _, 'T') => &["upload-file"],
        ("wget", _, 'O') => &["output-document"],
        ("kubectl" | "helm", _, 'n') => &["namespace"],
        ("kubectl", _, 'A') => &["all-namespaces"],
        ("kubectl", _, 'f') => &["filename"],
        ("kubectl", _, 'l') => &["selector"],
        ("kubectl" | "oc", _, 'o') => &["output"],
        ("kubectl" | "oc", _, 'c') => &["container"],
        ("gh", "api", 'X') => &["method"],
        ("gh", "api", 'H') => &["header"],
        ("gh", "api", 'f') => &["raw-field"],
        ("gh", "api", 'F') => &["field"],
        ("git", "push", 'f') => &["force"],
        ("git", "push", 'd') => &["delete"],
        ("git", "push", 'u') => &["set-upstream"],
        ("git", "branch", 'd') => &["delete"],
        ("git", "branch", 'D') => &["delete", "force"],
        ("git", "branch", 'f') => &["force"],
        ("git", "branch", 'm') => &["move"],
        ("git", "branch", 'M') => &["move", "force"],
        ("git", "clean", 'f') => &["force"],
        ("git", "clean", 'd') => &["directories"],
        ("git", "checkout" | "switch", 'f') => &["force"],
        ("git", "tag", 'd') => &["delete"],
        ("git", "tag", 'f') => &["force"],
        ("docker" | "podman", _, 'f') => &["force"],
        ("chmod", _, 'f') => &["silent"],
        _ => return None,
    };
    Some(names)
}

/// Long options of the GNU tools that accept unambiguous abbreviations (`--rec` is
/// `--recursive`), for the options rules care about.
fn gnu_long_options(program: &str) -> &'static [&'static str] {
    match program {
        "rm" => &[
            "recursive",
            "force",
            "no-preserve-root",
            "interactive",
            "dir",
            "verbose",
            "preserve-root",
            "one-file-system",
        ],
        "cp" | "mv" => &[
            "recursive",
            "force",
            "archive",
            "interactive",
            "verbose",
            "no-clobber",
            "target-directory",
        ],
        "chmod" | "chown" | "chgrp" => &["recursive", "reference", "verbose", "silent", "quiet", "changes"],
        "shred" => &["remove", "zero", "force", "iterations", "verbose"],
        _ => &[],
    }
}

/// Long-flag aliases: spelling → canonical name. GNU abbreviations are expanded when they name
/// one option only.
fn long_alias<'a>(program: &str, name: &'a str) -> &'a str {
    let known = gnu_long_options(program);
    if !known.contains(&name) && name.len() >= 2 {
        let mut matches = known.iter().filter(|o| o.starts_with(name));
        if let (Some(only), None) = (matches.next(), matches.next()) {
            return only;
        }
    }
    name
}

/// Options that take a value, by canonical name.
fn takes_value(program: &str, sub: &str, name: &str) -> bool {
    match program {
        "git" => match name {
            "C" | "c" | "git-dir" | "work-tree" | "namespace" | "exec-path" => true,
            _ => match sub {
                "commit" => matches!(name, "m" | "F" | "file" | "author" | "date" | "message"),
                "push" => matches!(name, "o" | "push-option" | "repo" | "receive-pack"),
                "tag" => matches!(name, "m" | "F" | "message" | "u"),
                "checkout" | "switch" => matches!(name, "b" | "B" | "c" | "C"),
                "reset" | "clean" => matches!(name, "e" | "exclude"),
                _ => false,
            },
        },
        "kubectl" | "oc" => matches!(
            name,
            "namespace"
                | "context"
                | "kubeconfig"
                | "cluster"
                | "user"
                | "s"
                | "server"
                | "filename"
                | "selector"
                | "o"
                | "output"
                | "c"
                | "container"
                | "token"
                | "as"
                | "field-selector"
                | "timeout"
                | "grace-period"
        ),
        "helm" => matches!(
            name,
            "namespace"
                | "kube-context"
                | "kubeconfig"
                | "f"
                | "values"
                | "set"
                | "set-string"
                | "version"
                | "repo"
                | "timeout"
        ),
        "aws" => matches!(
            name,
            "profile"
                | "region"
                | "output"
                | "endpoint-url"
                | "query"
                | "ca-bundle"
                | "color"
                | "cli-read-timeout"
                | "cli-connect-timeout"
        ),
        "gcloud" => matches!(
            name,
            "project" | "account" | "configuration" | "format" | "member" | "role"
        ),
        "az" => matches!(name, "subscription" | "output" | "o" | "query"),
        "gh" => matches!(
            name,
            "R" | "repo"
                | "visibility"
                | "b"
                | "body"
                | "t"
                | "title"
                | "base"
                | "method"
                | "header"
                | "raw-field"
                | "field"
                | "input"
                | "jq"
                | "q"
        ),
        "terraform" | "tofu" | "terragrunt" => matches!(
            name,
            "var" | "var-file" | "target" | "out" | "state" | "backend-config" | "replace"
        ),
        "curl" => matches!(
            name,
            "output"
                | "H"
                | "header"
                | "data"
                | "request"
                | "u"
                | "user"
                | "A"
                | "user-agent"
                | "e"
                | "referer"
                | "upload-file"
                | "F"
                | "form"
                | "x"
                | "proxy"
                | "data-binary"
                | "data-raw"
                | "m"
                | "max-time"
        ),
        "wget" => matches!(name, "output-document" | "P" | "directory-prefix" | "header" | "U"),
        "tar" => matches!(name, "f" | "file" | "C" | "directory"),
        "ssh" | "scp" | "sftp" => matches!(
            name,
            "b" | "c"
                | "D"
                | "E"
                | "e"
                | "F"
                | "I"
                | "i"
                | "J"
                | "L"
                | "l"
                | "m"
                | "O"
                | "o"
                | "p"
                | "P"
                | "Q"
                | "R"
                | "S"
                | "W"
                | "w"
        ),
        "docker" | "podman" => matches!(
            name,
            "H" | "host"
                | "context"
                | "e"
                | "env"
                | "v"
                | "volume"
                | "p"
                | "publish"
                | "name"
                | "u"
                | "user"
                | "w"
                | "workdir"
                | "entrypoint"
                | "network"
                | "mount"
                | "t"
                | "tag"
                | "env-file"
        ),
        "grep" | "rg" => matches!(name, "e" | "regexp" | "m" | "max-count" | "A" | "B" | "C"),
        "chown" | "chmod" => matches!(name, "reference"),
        _ => false,
    }
}

/// The subcommand used to pick alias tables: the first word that is not an option (or a value
/// of a program-level option).
fn subcommand<'a>(program: &str, args: &'a [String]) -> &'a str {
    let mut skip_next = false;
    for arg in args {
        if skip_next {
            skip_next = false;
            continue;
        }
        if let Some(name) = arg.strip_prefix("--") {
            if !name.contains('=') && takes_value(program, "", name) {
                skip_next = true;
            }
        } else if let Some(name) = arg.strip_prefix('-').filter(|n| !n.is_empty()) {
            skip_next = name.len() == 1 && takes_value(program, "", name);
        } else {
            return arg;
        }
    }
    ""
}

/// The canonical names a rule's flag spelling stands for, for `program` (and its subcommand).
pub(crate) fn canonical(program: &str, sub: &str, spelling: &str) -> Vec<String> {
    // A rule written `-rf` means the cluster, as the command line would: `r` and `f`.
    if let Some(cluster) = spelling
        .strip_prefix('-')
        .filter(|c| !c.starts_with('-') && c.len() > 1)
        && !single_dash_long(program)
        && cluster.chars().all(|c| c.is_ascii_alphabetic())
    {
        return cluster
            .chars()
            .flat_map(|c| canonical(program, sub, &c.to_string()))
            .collect();
    }
    let bare = spelling.trim_start_matches('-');
    let mut chars = bare.chars();
    if let (Some(letter), None) = (chars.next(), chars.next())
        && let Some(names) = short_alias(program, sub, letter)
    {
        return names.iter().map(|n| (*n).to_owned()).collect();
    }
    vec![long_alias(program, bare).to_owned()]
}

/// Reads `args` of `program` into flags, positionals and option values.
pub(crate) fn parse_args(program: &str, args: &[String]) -> ParsedArgs {
    let sub = subcommand(program, args);
    let whole_words = single_dash_long(program);
    let mut out = ParsedArgs::default();
    let mut end_of_flags = false;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if end_of_flags || arg.len() < 2 || !arg.starts_with('-') {
            out.positionals.push(arg.clone());
            continue;
        }
        if arg == "--" {
            end_of_flags = true;
            continue;
        }
        let long = arg.strip_prefix("--");
        let body = long.unwrap_or(&arg[1..]);
        if long.is_some() || whole_words || body.starts_with(|c: char| c.is_ascii_digit()) {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let name = long_alias(program, name).to_owned();
            let value = match inline {
                Some(v) => Some(v),
                None if takes_value(program, sub, &name) && i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => None,
            };
            if let Some(v) = &value {
                out.values.push(v.clone());
            }
            out.flags.push(Flag { name, value });
            continue;
        }
        // A cluster of short flags: `-rf`, `-n prod`, `-nprod`.
        for (at, letter) in body.char_indices() {
            let key = letter.to_string();
            let names: Vec<String> = match short_alias(program, sub, letter) {
                Some(names) => names.iter().map(|n| (*n).to_owned()).collect(),
                None => vec![key.clone()],
            };
            let wants_value = names.iter().any(|n| takes_value(program, sub, n)) || takes_value(program, sub, &key);
            if wants_value {
                let rest = &body[at + letter.len_utf8()..];
                let value = if !rest.is_empty() {
                    Some(rest.to_owned())
                } else if i < args.len() {
                    i += 1;
                    Some(args[i - 1].clone())
                } else {
                    None
                };
                if let Some(v) = &value {
                    out.values.push(v.clone());
                }
                for name in names {
                    out.flags.push(Flag {
                        name,
                        value: value.clone(),
                    });
                }
                break;
            }
            for name in names {
                out.flags.push(Flag { name, value: None });
            }
        }
    }
    out
}

/// The subcommand of a parsed command, for alias lookups from rules.
pub(crate) fn first_positional(positionals: &[String]) -> &str {
    positionals.first().map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(program: &str, args: &[&str]) -> Vec<String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let mut n: Vec<String> = parse_args(program, &args).flags.into_iter().map(|f| f.name).collect();
        n.sort();
        n.dedup();
        n
    }

    /// Every spelling of recursive-force deletion normalises to the same two flags.
    #[test]
    fn rm_spellings_agree() {
        let want = vec!["force".to_owned(), "recursive".to_owned()];
        for args in [
            &["-rf", "x"][..],
            &["-fr", "x"],
            &["-r", "-f", "x"],
            &["--recursive", "--force", "x"],
            &["-R", "-f", "x"],
        ] {
            assert_eq!(names("rm", args), want, "{args:?}");
        }
    }

    /// GNU tools accept unambiguous abbreviations of long options.
    #[test]
    fn gnu_abbreviations() {
        assert_eq!(names("rm", &["--rec", "--for", "/"]), vec!["force", "recursive"]);
        assert_eq!(names("rm", &["--no-pres", "/"]), vec!["no-preserve-root"]);
        assert_eq!(names("rm", &["--re", "/"]), vec!["recursive"]);
        assert_eq!(names("cp", &["--xyz", "a", "b"]), vec!["xyz"]);
    }

    /// Single-dash long options stay whole for terraform.
    #[test]
    fn terraform_flags_stay_whole() {
        assert_eq!(names("terraform", &["apply", "-auto-approve"]), vec!["auto-approve"]);
        assert_eq!(names("terraform", &["apply", "--auto-approve"]), vec!["auto-approve"]);
    }

    /// Values of known options are not positionals.
    #[test]
    fn option_values_are_consumed() {
        let args: Vec<String> = ["--context", "prod", "delete", "ns", "x"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let p = parse_args("kubectl", &args);
        assert_eq!(p.positionals, vec!["delete", "ns", "x"]);
        assert_eq!(p.flags[0].value.as_deref(), Some("prod"));
        let args: Vec<String> = ["-nprod", "get", "pods"].iter().map(|s| (*s).to_owned()).collect();
        let p = parse_args("kubectl", &args);
        assert_eq!(p.flags[0].name, "namespace");
        assert_eq!(p.flags[0].value.as_deref(), Some("prod"));
    }

    /// A rule's `-rf` is the cluster it would be on a command line.
    #[test]
    fn rule_clusters_split() {
        assert_eq!(canonical("rm", "", "-rf"), vec!["recursive", "force"]);
        assert_eq!(canonical("terraform", "apply", "-auto-approve"), vec!["auto-approve"]);
        assert_eq!(canonical("rm", "", "recursive"), vec!["recursive"]);
    }

    /// `git branch -D` is a forced delete.
    #[test]
    fn git_branch_capital_d() {
        assert_eq!(names("git", &["branch", "-D", "x"]), vec!["delete", "force"]);
        assert_eq!(canonical("git", "branch", "-D"), vec!["delete", "force"]);
    }
}
