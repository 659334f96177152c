//! A git command line read the way git reads it: global options first, then the subcommand,
//! with `-c alias.X=…` aliases expanded.
//!
//! git takes its own options before the subcommand (`git -C dir -c k=v --no-pager push …`), and
//! some of them take a value in the next word, so the first word that is not an option is not
//! always the subcommand. The one design decision: an option cavra does not know is read as taking
//! no value, unless the word after it is not a git command and the one after that is (git itself
//! refuses unknown global options, so the only cost of a wrong guess is a command that never runs).

use std::collections::{HashMap, HashSet, VecDeque};

/// A git command line read the way git reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GitArgv {
    /// The arguments from the subcommand on: global options removed, `-c alias.X=…` aliases
    /// expanded (non-shell aliases spliced in, with the rest of the arguments after them). For a
    /// `!`-alias, the arguments git passes to the script (its `"$@"`).
    pub args: Vec<String>,
    /// Configuration given on the command line: `-c key=value`, `-ckey=value`,
    /// `--config-env=key=ENVVAR` (value: `$ENVVAR`), keys lower-cased the way git compares them
    /// (section and last part case-insensitive). `-c key` without `=` is `true`, as in git.
    pub config: Vec<(String, String)>,
    /// A `!`-alias's shell text, when the subcommand is such an alias
    /// (`git -c alias.x='!rm -rf ~' x`): analyse it as shell, with [`GitArgv::alias_shell_text`].
    pub alias_script: Option<String>,
    /// `--exec-path=DIR`: git runs its non-builtin subcommands and remote helpers (`git-remote-https`)
    /// from this directory, so whatever is there runs.
    pub exec_path: Option<String>,
}

impl GitArgv {
    /// The subcommand as typed, after alias expansion (`push`); `None` for a `!`-alias, whose
    /// arguments are the script's.
    pub(crate) fn subcommand(&self) -> Option<&str> {
        if self.alias_script.is_some() {
            return None;
        }
        self.args.first().map(String::as_str)
    }

    /// The shell text a `!`-alias runs: git runs `sh -c '<script> "$@"'` with the remaining
    /// arguments, so this is the script followed by those arguments, each single-quoted.
    pub(crate) fn alias_shell_text(&self) -> Option<String> {
        let script = self.alias_script.as_ref()?;
        let mut text = script.clone();
        for arg in &self.args {
            text.push_str(" '");
            text.push_str(&arg.replace('\'', r"'\''"));
            text.push('\'');
        }
        Some(text)
    }

    /// The last value given for a configuration key (in any case: it is normalised first).
    pub(crate) fn config_value(&self, key: &str) -> Option<&str> {
        let key = normalise_key(key);
        self.config
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads git's own global options and expands aliases. `args` is what follows the program name
/// `git`.
pub(crate) fn read_git_argv(args: &[String]) -> GitArgv {
    let mut reader = Reader::default();
    let Some(rest) = reader.globals(args) else {
        return reader.finish(Vec::new());
    };
    if reader.aliases.is_empty() || rest.first().is_none_or(|first| is_git_command(first)) {
        return reader.finish(rest);
    }
    // Each alias name is expanded once: git refuses a loop, and this bounds the work by the number
    // of aliases on the line. A deque splices an alias in front without moving what follows it, so
    // the work is linear in the line, however long the chain.
    let mut rest = VecDeque::from(rest);
    let mut expanded: HashSet<String> = HashSet::new();
    while let Some(first) = rest.front() {
        if is_git_command(first) {
            break;
        }
        let name = first.to_ascii_lowercase();
        let Some(value) = reader.aliases.get(&name).cloned() else {
            break;
        };
        if !expanded.insert(name) {
            break;
        }
        if let Some(script) = value.trim_start().strip_prefix('!') {
            reader.alias_script = Some(script.to_owned());
            rest.pop_front();
            break;
        }
        // An unclosed quote or a trailing backslash: git refuses the alias.
        let Some(words) = split_cmdline(&value) else { break };
        match reader.globals(&words) {
            Some(spliced) if !spliced.is_empty() => {
                rest.pop_front();
                for word in spliced.into_iter().rev() {
                    rest.push_front(word);
                }
            }
            // An empty alias, or one that only prints (`--version`): stop where git would.
            _ => break,
        }
    }
    reader.finish(rest.into())
}

/// The state of one read: configuration and aliases seen so far.
#[derive(Default)]
struct Reader {
    config: Vec<(String, String)>,
    aliases: HashMap<String, String>,
    alias_script: Option<String>,
    exec_path: Option<String>,
}

/// Global options whose value is the next word or follows `=`.
const WITH_VALUE: [&str; 9] = [
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--super-prefix",
    "--config-env",
    "--attr-source",
    "--shallow-file",
    "-C",
    "-c",
];

/// Global options without a value.
const WITHOUT_VALUE: [&str; 14] = [
    "-p",
    "--paginate",
    "-P",
    "--no-pager",
    "--no-replace-objects",
    "--bare",
    "--literal-pathspecs",
    "--no-literal-pathspecs",
    "--glob-pathspecs",
    "--noglob-pathspecs",
    "--icase-pathspecs",
    "--no-optional-locks",
    "--no-advice",
    "--no-lazy-fetch",
];

/// Global options after which git prints something and exits without running a command.
const PRINT_AND_EXIT: [&str; 4] = ["--exec-path", "--html-path", "--man-path", "--info-path"];

impl Reader {
    /// Reads global options from the front of `words`; the rest from the subcommand on, or `None`
    /// when git would print and exit instead of running a command.
    fn globals(&mut self, words: &[String]) -> Option<Vec<String>> {
        let mut i = 0;
        while let Some(word) = words.get(i) {
            let w = word.as_str();
            if !w.starts_with('-') {
                break;
            }
            // `--help` and `--version` are the commands `help` and `version` in disguise.
            let command = match w {
                "--help" | "-h" => Some("help"),
                "--version" | "-v" => Some("version"),
                _ => None,
            };
            if let Some(command) = command {
                let mut rest = words[i..].to_vec();
                rest[0] = command.to_owned();
                return Some(rest);
            }
            if PRINT_AND_EXIT.contains(&w) || w.starts_with("--list-cmds=") {
                return None;
            }
            if let Some(dir) = w.strip_prefix("--exec-path=") {
                self.exec_path = Some(dir.to_owned());
                i += 1;
                continue;
            }
            if WITHOUT_VALUE.contains(&w) {
                i += 1;
                continue;
            }
            if WITH_VALUE.contains(&w) {
                let Some(value) = words.get(i + 1) else {
                    return Some(Vec::new());
                };
                self.option_value(w, value);
                i += 2;
                continue;
            }
            if let Some((name, value)) = w.split_once('=')
                && name.starts_with("--")
                && WITH_VALUE.contains(&name)
            {
                self.option_value(name, value);
                i += 1;
                continue;
            }
            // `-ckey=value`: git itself refuses it, but reading the configuration costs nothing.
            if let Some(pair) = w.strip_prefix("-c")
                && !pair.is_empty()
            {
                self.option_value("-c", pair);
                i += 1;
                continue;
            }
            // An unknown option: no value, unless that would make a non-command the subcommand.
            let skips_value = words.get(i + 1).is_some_and(|next| !is_git_command(next))
                && words.get(i + 2).is_some_and(|after| is_git_command(after));
            i += if skips_value { 2 } else { 1 };
        }
        Some(words.get(i..).unwrap_or_default().to_vec())
    }

    fn option_value(&mut self, option: &str, value: &str) {
        match option {
            "-c" => {
                let (key, value) = value.split_once('=').unwrap_or((value, "true"));
                self.set(key, value.to_owned());
            }
            // `--config-env=<name>=<envvar>`: the variable may not contain `=`, the name may.
            "--config-env" => {
                if let Some((key, var)) = value.rsplit_once('=') {
                    self.set(key, format!("${var}"));
                }
            }
            _ => {}
        }
    }

    fn set(&mut self, key: &str, value: String) {
        let key = normalise_key(key);
        if let Some(name) = key.strip_prefix("alias.")
            && !name.contains('.')
        {
            self.aliases.insert(name.to_owned(), value.clone());
        }
        self.config.push((key, value));
    }

    fn finish(self, args: Vec<String>) -> GitArgv {
        GitArgv {
            args,
            config: self.config,
            alias_script: self.alias_script,
            exec_path: self.exec_path,
        }
    }
}

/// Splits an alias the way git's `split_cmdline` does: at unquoted whitespace, with `'…'` and
/// `"…"` quoting and `\` escaping outside single quotes. `None` for an unclosed quote or a
/// trailing backslash, which git refuses.
fn split_cmdline(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
            continue;
        }
        in_word = true;
        if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if c == '\\' && quote != Some('\'') {
            word.push(chars.next()?);
        } else {
            word.push(c);
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// A configuration key as git compares it: the section and the last part lower-cased, a middle
/// subsection (`diff.<driver>.textconv`, `remote.<name>.url`) kept as written.
pub(crate) fn normalise_key(key: &str) -> String {
    let key = key.trim();
    match (key.find('.'), key.rfind('.')) {
        (Some(first), Some(last)) if first != last => format!(
            "{}{}{}",
            key[..first].to_ascii_lowercase(),
            &key[first..last],
            key[last..].to_ascii_lowercase()
        ),
        _ => key.to_ascii_lowercase(),
    }
}

/// git's own commands (`git --list-cmds=builtins,main` for git 2.47), sorted. An alias cannot
/// override them.
const GIT_COMMANDS: [&str; 171] = [
    "add",
    "am",
    "annotate",
    "apply",
    "archimport",
    "archive",
    "bisect",
    "blame",
    "branch",
    "bugreport",
    "bundle",
    "cat-file",
    "check-attr",
    "check-ignore",
    "check-mailmap",
    "check-ref-format",
    "checkout",
    "checkout--worker",
    "checkout-index",
    "cherry",
    "cherry-pick",
    "clean",
    "clone",
    "column",
    "commit",
    "commit-graph",
    "commit-tree",
    "config",
    "count-objects",
    "credential",
    "credential-cache",
    "credential-cache--daemon",
    "credential-store",
    "cvsexportcommit",
    "cvsimport",
    "cvsserver",
    "daemon",
    "describe",
    "diagnose",
    "diff",
    "diff-files",
    "diff-index",
    "diff-tree",
    "difftool",
    "difftool--helper",
    "fast-export",
    "fast-import",
    "fetch",
    "fetch-pack",
    "filter-branch",
    "fmt-merge-msg",
    "for-each-ref",
    "for-each-repo",
    "format-patch",
    "fsck",
    "fsck-objects",
    "fsmonitor--daemon",
    "gc",
    "get-tar-commit-id",
    "grep",
    "hash-object",
    "help",
    "hook",
    "http-backend",
    "http-fetch",
    "http-push",
    "imap-send",
    "index-pack",
    "init",
    "init-db",
    "instaweb",
    "interpret-trailers",
    "log",
    "ls-files",
    "ls-remote",
    "ls-tree",
    "mailinfo",
    "mailsplit",
    "maintenance",
    "merge",
    "merge-base",
    "merge-file",
    "merge-index",
    "merge-octopus",
    "merge-one-file",
    "merge-ours",
    "merge-recursive",
    "merge-recursive-ours",
    "merge-recursive-theirs",
    "merge-resolve",
    "merge-subtree",
    "merge-tree",
    "mergetool",
    "mktag",
    "mktree",
    "multi-pack-index",
    "mv",
    "name-rev",
    "notes",
    "p4",
    "pack-objects",
    "pack-redundant",
    "pack-refs",
    "patch-id",
    "pickaxe",
    "prune",
    "prune-packed",
    "pull",
    "push",
    "quiltimport",
    "range-diff",
    "read-tree",
    "rebase",
    "receive-pack",
    "reflog",
    "refs",
    "remote",
    "remote-ext",
    "remote-fd",
    "remote-ftp",
    "remote-ftps",
    "remote-http",
    "remote-https",
    "repack",
    "replace",
    "replay",
    "request-pull",
    "rerere",
    "reset",
    "restore",
    "rev-list",
    "rev-parse",
    "revert",
    "rm",
    "send-email",
    "send-pack",
    "sh-i18n--envsubst",
    "shell",
    "shortlog",
    "show",
    "show-branch",
    "show-index",
    "show-ref",
    "sparse-checkout",
    "stage",
    "stash",
    "status",
    "stripspace",
    "submodule",
    "submodule--helper",
    "svn",
    "switch",
    "symbolic-ref",
    "tag",
    "unpack-file",
    "unpack-objects",
    "update-index",
    "update-ref",
    "update-server-info",
    "upload-archive",
    "upload-archive--writer",
    "upload-pack",
    "var",
    "verify-commit",
    "verify-pack",
    "verify-tag",
    "version",
    "web--browse",
    "whatchanged",
    "worktree",
    "write-tree",
];

/// Whether `word` is one of git's own commands (builtins and the programs shipped with git), which
/// an alias cannot override. Case-sensitive, as git's lookup is.
pub(crate) fn is_git_command(word: &str) -> bool {
    GIT_COMMANDS.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> GitArgv {
        let words: Vec<String> = line.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
        read_git_argv(&words)
    }

    fn read_words(words: &[&str]) -> GitArgv {
        read_git_argv(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>())
    }

    fn args(line: &str) -> Vec<String> {
        read(line).args
    }

    fn owned(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// A plain command line is its own argument list.
    #[test]
    fn plain_subcommand() {
        assert_eq!(args("push origin main"), owned(&["push", "origin", "main"]));
        assert_eq!(read("push origin").subcommand(), Some("push"));
        assert_eq!(args(""), Vec::<String>::new());
    }

    /// Global options that take a value in the next word do not hide the subcommand.
    #[test]
    fn global_options_with_values() {
        for line in [
            "-C /tmp push -f",
            "-C /tmp -C sub push -f",
            "--git-dir .git push -f",
            "--git-dir=.git push -f",
            "--work-tree /w push -f",
            "--work-tree=/w push -f",
            "--namespace ns push -f",
            "--namespace=ns push -f",
            "--super-prefix sub/ push -f",
            "--super-prefix=sub/ push -f",
            "--attr-source HEAD push -f",
            "--attr-source=HEAD push -f",
            "--shallow-file f push -f",
            "--config-env k.v=ENV push -f",
            "--config-env=k.v=ENV push -f",
            "--exec-path=/usr/lib/git-core push -f",
            "-c user.name=x push -f",
            "-cuser.name=x push -f",
        ] {
            assert_eq!(args(line), owned(&["push", "-f"]), "{line}");
        }
    }

    /// Global options without a value are skipped, in any number and order.
    #[test]
    fn global_flags() {
        let line = "-p -P --paginate --no-pager --bare --no-replace-objects --literal-pathspecs \
                    --no-literal-pathspecs --glob-pathspecs --noglob-pathspecs --icase-pathspecs \
                    --no-optional-locks --no-advice --no-lazy-fetch push --force";
        assert_eq!(args(line), owned(&["push", "--force"]));
    }

    /// An unknown global option takes no value, unless that would make a non-command the subcommand.
    #[test]
    fn unknown_global_options() {
        assert_eq!(args("--frobnicate push -f"), owned(&["push", "-f"]));
        assert_eq!(args("--frobnicate value push -f"), owned(&["push", "-f"]));
        assert_eq!(args("--frobnicate status"), owned(&["status"]));
        assert_eq!(args("-X"), Vec::<String>::new());
    }

    /// Options after the subcommand belong to it, even when they look global.
    #[test]
    fn options_after_the_subcommand_stay() {
        assert_eq!(
            args("push -C x -c y origin"),
            owned(&["push", "-C", "x", "-c", "y", "origin"])
        );
    }

    /// `-c` and `--config-env` values are collected with git's key case rules.
    #[test]
    fn configuration_on_the_command_line() {
        let a = read(concat!(
            "-c Core.SSHCommand=ssh -cuser.name=a=b --config-env=Core.Pager=PAGER ",
            "--config-env Diff.MyDrv.TextConv=T -c core.bare log"
        ));
        assert_eq!(
            a.config,
            vec![
                ("core.sshcommand".to_owned(), "ssh".to_owned()),
                ("user.name".to_owned(), "a=b".to_owned()),
                ("core.pager".to_owned(), "$PAGER".to_owned()),
                ("diff.MyDrv.textconv".to_owned(), "$T".to_owned()),
                ("core.bare".to_owned(), "true".to_owned()),
            ]
        );
        assert_eq!(a.args, owned(&["log"]));
        assert_eq!(a.config_value("core.pager"), Some("$PAGER"));
        assert_eq!(normalise_key("Remote.Origin.PUSH"), "remote.Origin.push");
        assert_eq!(
            normalise_key("includeIf.gitdir:~/X/.Path"),
            "includeif.gitdir:~/X/.path"
        );
    }

    /// `--help`, `--version` and the printing options become what git runs.
    #[test]
    fn help_version_and_printing_options() {
        assert_eq!(args("--version"), owned(&["version"]));
        assert_eq!(args("-v"), owned(&["version"]));
        assert_eq!(args("--help push"), owned(&["help", "push"]));
        assert_eq!(args("-h"), owned(&["help"]));
        assert_eq!(args("--exec-path"), Vec::<String>::new());
        assert_eq!(args("--html-path"), Vec::<String>::new());
        assert_eq!(args("--list-cmds=main push"), Vec::<String>::new());
        assert_eq!(read("--exec-path=/tmp/x push").exec_path.as_deref(), Some("/tmp/x"));
    }

    /// A value-taking option at the end of the line is not an error.
    #[test]
    fn truncated_lines() {
        for line in ["-c", "-C", "--git-dir", "--config-env", "-c alias.p=push"] {
            assert_eq!(args(line), Vec::<String>::new(), "{line}");
        }
    }

    /// An alias expands to its command, with the remaining arguments after it.
    #[test]
    fn aliases_expand() {
        assert_eq!(
            args("-c alias.p=push p --force origin main"),
            owned(&["push", "--force", "origin", "main"])
        );
        assert_eq!(args("-c Alias.P=push P -f"), owned(&["push", "-f"]));
        assert_eq!(args("-c alias.Pf=push pF"), owned(&["push"]));
        assert_eq!(
            read_words(&["-c", "alias.p=push --force", "p", "origin", "main"]).args,
            owned(&["push", "--force", "origin", "main"])
        );
        assert_eq!(
            read_words(&["-c", "alias.p=push \"--fo\"'rce'", "p"]).args,
            owned(&["push", "--force"])
        );
        assert_eq!(
            read_words(&["-c", "alias.p=push a\\ b", "p"]).args,
            owned(&["push", "a b"])
        );
    }

    /// Aliases may name aliases; the last definition of a name wins.
    #[test]
    fn alias_chains_and_redefinition() {
        let a = read_words(&["-c", "alias.a=b", "-c", "alias.b=push --force", "a", "origin", "main"]);
        assert_eq!(a.args, owned(&["push", "--force", "origin", "main"]));
        assert_eq!(args("-c alias.x=status -c alias.X=push x"), owned(&["push"]));
    }

    /// An alias may carry global options of its own; they are read, not left as arguments.
    #[test]
    fn alias_with_global_options() {
        let a = read_words(&["-c", "alias.p=-c core.pager=evil -C dir push", "p", "-f"]);
        assert_eq!(a.args, owned(&["push", "-f"]));
        assert!(a.config.contains(&("core.pager".to_owned(), "evil".to_owned())));
    }

    /// An alias loop, which git refuses, ends the expansion instead of hanging.
    #[test]
    fn alias_loops_end() {
        let a = args("-c alias.a=b -c alias.b=a a");
        assert!(a.len() == 1, "{a:?}");
        let a = args("-c alias.a=a a");
        assert_eq!(a, owned(&["a"]));
    }

    /// A long alias chain is still followed to its end.
    #[test]
    fn long_alias_chains() {
        let mut words: Vec<String> = Vec::new();
        for i in 0..300 {
            words.push("-c".to_owned());
            words.push(format!("alias.a{i}=a{}", i + 1));
        }
        words.push("-c".to_owned());
        words.push("alias.a300=push --force".to_owned());
        words.push("a0".to_owned());
        assert_eq!(read_git_argv(&words).args, owned(&["push", "--force"]));
    }

    /// A `!`-alias is shell text, not a git command; its arguments are the script's.
    #[test]
    fn shell_aliases() {
        let a = read_words(&["-c", "alias.x=!rm -rf ~", "x"]);
        assert_eq!(a.alias_script.as_deref(), Some("rm -rf ~"));
        assert!(a.args.is_empty());
        assert_eq!(a.alias_shell_text().as_deref(), Some("rm -rf ~"));
        let a = read_words(&["-c", "alias.x=!rm", "x", "-rf", "my dir"]);
        assert_eq!(a.args, owned(&["-rf", "my dir"]));
        assert_eq!(a.alias_shell_text().as_deref(), Some("rm '-rf' 'my dir'"));
        let a = read_words(&["-c", "alias.x=  !sh -c 'x'", "x"]);
        assert_eq!(a.alias_script.as_deref(), Some("sh -c 'x'"));
        let a = read_words(&["-c", "alias.y=!curl x | sh", "-c", "alias.x=y", "x"]);
        assert_eq!(a.alias_script.as_deref(), Some("curl x | sh"));
    }

    /// The command list is sorted, so the binary search finds every entry.
    #[test]
    fn command_list_is_sorted() {
        assert!(GIT_COMMANDS.windows(2).all(|w| w[0] < w[1]));
        assert!(GIT_COMMANDS.iter().all(|c| is_git_command(c)));
    }

    /// git's own commands cannot be aliased: the alias is ignored (though still configuration).
    #[test]
    fn builtins_win_over_aliases() {
        let a = read_words(&["-c", "alias.push=!rm -rf ~", "push", "origin"]);
        assert_eq!(a.args, owned(&["push", "origin"]));
        assert_eq!(a.alias_script, None);
        assert_eq!(a.config.len(), 1);
        assert!(is_git_command("push"));
        assert!(is_git_command("update-ref"));
        assert!(!is_git_command("p"));
    }
}
