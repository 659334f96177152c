//! A git command line read the way git reads it: global options first, then the subcommand,
//! with `-c alias.X=…` aliases expanded.
//!
//! git takes its own options before the subcommand (`git -C dir -c k=v --no-pager push …`), and
//! some of them take a value in the next word, so the first word that is not an option is not
//! always the subcommand. The one design decision: an option cavra does not know is read as taking
//! no value, unless the word after it is not a git command and the one after that is (git itself
//! refuses unknown global options, so the only cost of a wrong guess is a command that never runs).

use std::collections::HashMap;

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
    /// The subcommand as typed, after alias expansion (`push`), if there is one.
    pub(crate) fn subcommand(&self) -> Option<&str> {
        None
    }

    /// The shell text a `!`-alias runs: git runs `sh -c '<script> "$@"'` with the remaining
    /// arguments, so this is the script followed by those arguments, quoted.
    pub(crate) fn alias_shell_text(&self) -> Option<String> {
        None
    }

    /// The last value given for a configuration key (already normalised, e.g. `remote.origin.push`).
    pub(crate) fn config_value(&self, key: &str) -> Option<&str> {
        let _ = key;
        None
    }
}

/// Reads git's own global options and expands aliases. `args` is what follows the program name
/// `git`.
pub(crate) fn read_git_argv(args: &[String]) -> GitArgv {
    let _ = args;
    GitArgv::default()
}

/// A configuration key as git compares it: the section and the last part lower-cased, a middle
/// subsection (`diff.<driver>.textconv`, `remote.<name>.url`) kept as written.
pub(crate) fn normalise_key(key: &str) -> String {
    key.to_owned()
}

/// Whether `word` is one of git's own commands (builtins and the programs shipped with git), which
/// an alias cannot override.
pub(crate) fn is_git_command(word: &str) -> bool {
    let _ = word;
    false
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
        let a = read(
            "-c Core.SSHCommand=ssh -cuser.name=a=b --config-env=Core.Pager=PAGER --config-env Diff.MyDrv.TextConv=T -c core.bare log",
        );
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
