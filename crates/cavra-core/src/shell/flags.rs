//! Flag normalisation: `-rf`, `-fr`, `-r -f` and `--recursive --force` are the same flags.
//!
//! The tables come from the program model ([`super::model`]): each program and subcommand has
//! its short-flag aliases and the options that take a value, so that `kubectl --context prod
//! delete` still sees `delete` as the first positional. Programs with single-dash long options
//! (`terraform -auto-approve`, `find -delete`) are never split into letters.

use super::model::{Spec, model};

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
    /// The descriptions in force: the program's, then each subcommand's (empty when the
    /// program is not described).
    pub chain: Vec<&'static Spec>,
    /// How many leading positionals are subcommand words.
    pub subcommand_words: usize,
    /// Where the command a wrapper runs begins, as an index into the arguments.
    pub command_at: Option<usize>,
    /// A second reading of where it begins, when an option the model does not know came just
    /// before and may have taken the first word as its value (`sudo --odd x rm -rf /`).
    pub command_alt: Option<usize>,
}

impl ParsedArgs {
    /// The innermost description: the subcommand's, else the program's.
    pub fn spec(&self) -> Option<&'static Spec> {
        self.chain.last().copied()
    }
}

/// The descriptions in force for a command: the program's, then each subcommand's.
type Chain = Vec<&'static Spec>;

/// The names `letter` stands for, innermost description first.
fn short_names(chain: &[&Spec], letter: &str) -> Option<Vec<String>> {
    chain.iter().rev().find_map(|s| s.short(letter)).map(<[String]>::to_vec)
}

/// A long option's canonical name: a GNU abbreviation expanded by the innermost description that
/// knows it.
fn long_name(chain: &[&Spec], name: &str) -> String {
    for spec in chain.iter().rev() {
        let expanded = spec.expand_long(name);
        if expanded != name {
            return expanded.to_owned();
        }
    }
    name.to_owned()
}

fn takes_value(chain: &[&Spec], name: &str) -> bool {
    chain.iter().any(|s| s.takes_value(name))
}

fn knows(chain: &[&Spec], name: &str) -> bool {
    chain.iter().any(|s| s.knows(name))
}

/// Whether one of the code options in force (`-c`, `--command`) comes later: `runuser -l dev -c
/// CMD` names a user, not a command, before it.
fn code_option_follows(chain: &[&Spec], rest: &[String]) -> bool {
    let Some(code) = chain.iter().rev().find_map(|s| s.code.as_ref()) else {
        return false;
    };
    rest.iter().any(|w| {
        let bare = w.trim_start_matches('-');
        w.starts_with('-')
            && code
                .options
                .iter()
                .any(|o| bare == o || bare.split_once('=').is_some_and(|(n, _)| n == o))
    })
}

/// Whether a word is an option (as opposed to an operand).
fn is_option(arg: &str) -> bool {
    arg.len() > 1 && arg.starts_with('-')
}

/// The canonical names a rule's flag spelling stands for, for `program` (and its subcommand).
pub(crate) fn canonical(program: &str, sub: &str, spelling: &str) -> Vec<String> {
    let mut chain: Chain = model().get(program).into_iter().collect();
    if let Some(s) = chain.first().and_then(|p| p.subcommand(sub)) {
        chain.push(s);
    }
    let whole_words = chain.iter().any(|s| s.single_dash_long);
    // A rule written `-rf` means the cluster, as the command line would: `r` and `f`.
    if let Some(cluster) = spelling
        .strip_prefix('-')
        .filter(|c| !c.starts_with('-') && c.len() > 1)
        && !whole_words
        && cluster.chars().all(|c| c.is_ascii_alphabetic())
    {
        return cluster
            .chars()
            .flat_map(|c| canonical(program, sub, &c.to_string()))
            .collect();
    }
    let bare = spelling.trim_start_matches('-');
    let mut chars = bare.chars();
    if let (Some(_), None) = (chars.next(), chars.next())
        && let Some(names) = short_names(&chain, bare)
    {
        return names;
    }
    vec![long_name(&chain, bare)]
}

/// Reads `args` of `program` into flags, positionals and option values, following the program
/// model: subcommands pick their own option tables, and a wrapper's parse stops where the command
/// it runs begins.
pub(crate) fn parse_args(program: &str, args: &[String]) -> ParsedArgs {
    let mut chain: Chain = model().get(program).into_iter().collect();
    let mut out = ParsedArgs::default();
    let mut end_of_flags = false;
    // Still looking for a subcommand at the current level.
    let mut picking = chain.last().is_some_and(|s| s.has_subcommands());
    // Operands seen after the subcommand words, for a wrapper's `skip`.
    let mut operands = 0usize;
    // The previous word was an option this model does not know, given without a value.
    let mut unknown_before = false;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let inner = chain.last().copied();
        if end_of_flags || !is_option(arg) {
            if picking && let Some(spec) = inner {
                if let Some(sub) = spec.subcommand(arg) {
                    chain.push(sub);
                    out.positionals.push(arg.clone());
                    out.subcommand_words += 1;
                    picking = sub.has_subcommands();
                    unknown_before = false;
                    continue;
                }
                // `kubectl -v 6 delete`: a word before a later subcommand, after an option this
                // model does not know, is that option's value — it cannot shift the subcommand.
                if unknown_before && args[i..].iter().any(|a| spec.subcommand(a).is_some()) {
                    if let Some(flag) = out.flags.last_mut() {
                        flag.value = Some(arg.clone());
                    }
                    out.values.push(arg.clone());
                    unknown_before = false;
                    continue;
                }
                picking = false;
            }
            if let Some(spec) = inner
                && spec.runs.is_some()
                && !code_option_follows(&chain, &args[i..])
            {
                if operands == spec.skip {
                    out.command_at = Some(i - 1);
                    // An unknown option right before may have taken this word as its value.
                    if unknown_before && i < args.len() {
                        out.command_alt = Some(i);
                    }
                    out.chain = chain;
                    return out;
                }
                operands += 1;
            }
            unknown_before = false;
            out.positionals.push(arg.clone());
            continue;
        }
        if arg == "--" {
            end_of_flags = true;
            continue;
        }
        let whole_words = chain.iter().any(|s| s.single_dash_long);
        let long = arg.strip_prefix("--");
        let body = long.unwrap_or(&arg[1..]);
        if long.is_some() || whole_words || body.starts_with(|c: char| c.is_ascii_digit()) || go_style(&chain, body) {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let name = long_name(&chain, name);
            let value = match inline {
                Some(v) => Some(v),
                None if takes_value(&chain, &name) && i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => None,
            };
            unknown_before = value.is_none() && !knows(&chain, &name);
            if let Some(v) = &value {
                out.values.push(v.clone());
            }
            out.flags.push(Flag { name, value });
            continue;
        }
        // A cluster of short flags: `-rf`, `-n prod`, `-nprod`.
        unknown_before = false;
        for (at, letter) in body.char_indices() {
            let key = letter.to_string();
            let names = short_names(&chain, &key).unwrap_or_else(|| vec![key.clone()]);
            let wants_value = names.iter().any(|n| takes_value(&chain, n)) || takes_value(&chain, &key);
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
            unknown_before = !knows(&chain, &key) && names == [key.clone()];
            for name in names {
                out.flags.push(Flag { name, value: None });
            }
        }
    }
    out.chain = chain;
    out
}

/// Whether a single-dash word of a program cavra has no description of is a Go-style long option
/// with its value (`waypoint up -workspace=prod`), not a cluster of short flags: a name of two or
/// more letters before `=`, whose first letter is not a short option that takes a value
/// (`-Dkey=value`, `-ofile=x` stay short options with attached values). Described programs say
/// so themselves (`single_dash_long`: `nomad`, `consul`); for them a cluster stays a cluster
/// (`kubectl -in=production` is `-i -n=production`).
fn go_style(chain: &[&Spec], body: &str) -> bool {
    if !chain.is_empty() {
        return false;
    }
    let Some((name, _)) = body.split_once('=') else {
        return false;
    };
    let Some(first) = name.chars().next() else {
        return false;
    };
    let key = first.to_string();
    let short_takes_value = short_names(chain, &key)
        .unwrap_or_else(|| vec![key.clone()])
        .iter()
        .any(|n| takes_value(chain, n))
        || takes_value(chain, &key);
    // `kubectl -in=production` is `-i -n=production`: letters the program knows as short
    // options stay a cluster.
    let cluster = name.chars().all(|c| {
        let letter = c.to_string();
        short_names(chain, &letter).is_some() || knows(chain, &letter)
    });
    name.len() >= 2
        && !short_takes_value
        && !cluster
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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
