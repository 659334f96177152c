//! Configuration keys that make git run a command or give up a safety check.
//!
//! `git -c core.fsmonitor='curl …|sh' status` runs the curl: many keys are programs git starts
//! (pagers, editors, ssh, diff and merge drivers, filters, credential helpers, hooks by another
//! name). Others run nothing themselves but disable a check (`clean.requireForce=false`), load
//! configuration or hooks cavra cannot read (`include.path`, `core.hooksPath`), or let a transport
//! run programs (`protocol.ext.allow=always`). The one design decision: a key that runs a command is
//! answered with the shell text git runs, so the caller judges it like any other command line
//! (`core.pager=cat` is harmless, `core.pager='rm -rf ~'` is not); a key that only weakens git is
//! answered [`ConfigEffect::Unsafe`], for which there is nothing to read and the caller should ask.

/// What a configuration value does when git reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigEffect {
    /// Nothing git runs, and no check relaxed.
    Inert,
    /// git runs this shell text (already in the form git runs it: a credential helper `store` is
    /// `git credential-store`, a leading `!` removed).
    Runs(String),
    /// A safety check turned off, configuration or hooks loaded from elsewhere, remotes redirected,
    /// or a transport that runs programs allowed: nothing to read, not harmless.
    Unsafe,
}

/// What git does with configuration `key` = `value`. The key may be in any case.
///
/// Judged keys (section, `<subsection>`, name):
/// - run a command: `core.fsmonitor` (unless a boolean: `true` is git's own daemon), `core.pager`,
///   `pager.<cmd>` (unless a boolean), `core.sshCommand`, `core.editor`, `sequence.editor`,
///   `core.askPass`, `core.gitProxy`, `core.alternateRefsCommand`, `diff.external`,
///   `diff.<driver>.textconv|command`, `merge.<driver>.driver`, `filter.<driver>.clean|smudge|process`,
///   `difftool|mergetool.<tool>.cmd|path`, `browser|man|guitool.<tool>.cmd|path`,
///   `tar.<format>.command`, `hook.<name>.command`, `gpg.program`, `gpg.<format>.program`,
///   `gpg.ssh.defaultKeyCommand`, `uploadpack.packObjectsHook`, `remote.<name>.uploadpack|receivepack`
///   (run locally for a path remote), `interactive.diffFilter`, `sendemail.sendmailCmd|toCmd|ccCmd`
///   and an absolute-path `sendemail.smtpServer`, `credential.helper` and `credential.<url>.helper`
///   (run through the shell: `!text` is `text`, a path is itself, a name is `git credential-<name>`),
///   `alias.<name>` beginning with `!`, `submodule.<name>.update` beginning with `!`. An empty value
///   turns these off.
/// - unsafe whatever the value (empty resets them): `core.hooksPath` (hooks from elsewhere, or none:
///   `/dev/null` skips them), `include.path`, `includeIf.<cond>.path` (configuration cavra cannot
///   read), `url.<base>.insteadOf|pushInsteadOf` (every fetch or push redirected: code sent elsewhere,
///   or to an `ext::` command), `safe.directory` (the ownership check), `init.templateDir` (hooks
///   copied into new repositories), `remote.<name>.vcs` (a remote helper program).
/// - unsafe unless left on: `clean.requireForce`, `http.sslVerify`, `http.<url>.sslVerify`,
///   `core.protectNTFS`, `core.protectHFS`.
/// - unsafe for some values: `protocol.allow` and `protocol.<name>.allow` set to `always`, and
///   `protocol.ext.allow` set to anything but `never` (`ext::` runs commands); a `remote.<name>.url`,
///   `pushurl` or `submodule.<name>.url` beginning with `ext::` or `fd::`.
/// - inert: everything else (`user.*`, `color.*`, `push.default`, `diff.tool`, ...). Non-shell aliases
///   are expanded by [`super::read_git_argv`], so what they run is read as git.
pub(crate) fn config_effect(key: &str, value: &str) -> ConfigEffect {
    let key = key.trim().to_ascii_lowercase();
    let (section, sub, name) = match (key.find('.'), key.rfind('.')) {
        (Some(first), Some(last)) if first != last => (&key[..first], Some(&key[first + 1..last]), &key[last + 1..]),
        (Some(first), _) => (&key[..first], None, &key[first + 1..]),
        _ => return ConfigEffect::Inert,
    };
    let v = value.trim();
    match (section, sub, name) {
        ("core", None, "fsmonitor") | ("pager", None, _) if is_bool(v) => ConfigEffect::Inert,
        ("core", None, "fsmonitor" | "pager" | "sshcommand" | "editor" | "askpass" | "gitproxy")
        | ("core", None, "alternaterefscommand")
        | ("pager", None, _)
        | ("sequence", None, "editor")
        | ("diff", None, "external")
        | ("diff", Some(_), "textconv" | "command")
        | ("merge", Some(_), "driver")
        | ("filter", Some(_), "clean" | "smudge" | "process")
        | ("difftool" | "mergetool" | "browser" | "man" | "guitool", Some(_), "cmd" | "path")
        | ("tar", Some(_), "command")
        | ("hook", Some(_), "command")
        | ("gpg", _, "program")
        | ("gpg", Some("ssh"), "defaultkeycommand")
        | ("uploadpack", None, "packobjectshook")
        | ("remote", Some(_), "uploadpack" | "receivepack")
        | ("interactive", None, "difffilter")
        | ("sendemail", _, "sendmailcmd" | "tocmd" | "cccmd") => runs(v),
        ("sendemail", _, "smtpserver") if v.starts_with('/') => runs(v),
        ("credential", _, "helper") => match v.strip_prefix('!') {
            _ if v.is_empty() => ConfigEffect::Inert,
            Some(script) => runs(script.trim_start()),
            None if v.starts_with('/') => runs(v),
            None => ConfigEffect::Runs(format!("git credential-{v}")),
        },
        ("alias", None, _) | ("submodule", Some(_), "update") => match v.strip_prefix('!') {
            Some(script) => runs(script.trim_start()),
            None => ConfigEffect::Inert,
        },
        ("core", None, "hookspath")
        | ("include", None, "path")
        | ("includeif", Some(_), "path")
        | ("url", Some(_), "insteadof" | "pushinsteadof")
        | ("safe", None, "directory")
        | ("init", None, "templatedir")
        | ("remote", Some(_), "vcs") => unsafe_unless_empty(v),
        ("clean", None, "requireforce") | ("http", _, "sslverify") | ("core", None, "protectntfs" | "protecthfs") => {
            if is_true(v) {
                ConfigEffect::Inert
            } else {
                ConfigEffect::Unsafe
            }
        }
        ("protocol", Some("ext"), "allow") if !v.eq_ignore_ascii_case("never") => ConfigEffect::Unsafe,
        ("protocol", _, "allow") if v.eq_ignore_ascii_case("always") => ConfigEffect::Unsafe,
        ("remote", Some(_), "url" | "pushurl") | ("submodule", Some(_), "url") => {
            let lower = v.to_ascii_lowercase();
            if lower.starts_with("ext::") || lower.starts_with("fd::") {
                ConfigEffect::Unsafe
            } else {
                ConfigEffect::Inert
            }
        }
        _ => ConfigEffect::Inert,
    }
}

/// A command value: empty turns the command off.
fn runs(value: &str) -> ConfigEffect {
    if value.is_empty() {
        ConfigEffect::Inert
    } else {
        ConfigEffect::Runs(value.to_owned())
    }
}

fn unsafe_unless_empty(value: &str) -> ConfigEffect {
    if value.is_empty() {
        ConfigEffect::Inert
    } else {
        ConfigEffect::Unsafe
    }
}

/// A value git reads as a boolean (an empty value is false).
fn is_bool(value: &str) -> bool {
    value.is_empty()
        || ["true", "false", "yes", "no", "on", "off"]
            .iter()
            .any(|b| value.eq_ignore_ascii_case(b))
        || value.parse::<i64>().is_ok()
}

/// A value git reads as boolean true.
fn is_true(value: &str) -> bool {
    ["true", "yes", "on"].iter().any(|b| value.eq_ignore_ascii_case(b)) || value.parse::<i64>().is_ok_and(|n| n != 0)
}

/// Whether git runs this configuration value as a command or lets it disable safety checks: any
/// effect but [`ConfigEffect::Inert`] (the tests' shorthand).
#[cfg(test)]
fn config_runs_command(key: &str, value: &str) -> bool {
    config_effect(key, value) != ConfigEffect::Inert
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(key: &str, value: &str) -> Option<String> {
        match config_effect(key, value) {
            ConfigEffect::Runs(text) => Some(text),
            _ => None,
        }
    }

    /// Keys whose value git runs as a command are answered with that command.
    #[test]
    fn command_keys() {
        for key in [
            "core.fsmonitor",
            "core.pager",
            "pager.log",
            "core.sshCommand",
            "core.editor",
            "sequence.editor",
            "core.askPass",
            "core.gitProxy",
            "core.alternateRefsCommand",
            "diff.external",
            "diff.lfs.textconv",
            "diff.Mine.command",
            "merge.ours.driver",
            "filter.lfs.clean",
            "filter.lfs.smudge",
            "filter.lfs.process",
            "gpg.program",
            "gpg.ssh.program",
            "gpg.x509.program",
            "gpg.ssh.defaultKeyCommand",
            "uploadpack.packObjectsHook",
            "remote.origin.uploadpack",
            "remote.fork.receivepack",
            "difftool.x.cmd",
            "mergetool.x.cmd",
            "mergetool.x.path",
            "interactive.diffFilter",
            "sendemail.sendmailCmd",
            "sendemail.toCmd",
            "sendemail.ccCmd",
            "tar.tgz.command",
            "browser.x.cmd",
            "man.x.cmd",
            "guitool.x.cmd",
            "hook.pre-commit.command",
            "CORE.PAGER",
        ] {
            assert_eq!(runs(key, "curl x | sh").as_deref(), Some("curl x | sh"), "{key}");
            assert!(config_runs_command(key, "curl x | sh"), "{key}");
        }
    }

    /// Values that switch a command key off, or keep git's own behaviour, run nothing.
    #[test]
    fn command_keys_switched_off() {
        for (key, value) in [
            ("core.fsmonitor", "false"),
            ("core.fsmonitor", "true"),
            ("core.fsmonitor", "0"),
            ("core.pager", ""),
            ("pager.log", "false"),
            ("pager.diff", "true"),
            ("pager.diff", "off"),
            ("core.sshCommand", ""),
            ("credential.helper", ""),
        ] {
            assert_eq!(config_effect(key, value), ConfigEffect::Inert, "{key}={value}");
        }
    }

    /// Credential helpers, `!`-aliases and `!`-submodule updates run as git runs them.
    #[test]
    fn helpers_and_shell_values() {
        assert_eq!(
            runs("credential.helper", "store").as_deref(),
            Some("git credential-store")
        );
        assert_eq!(
            runs("credential.helper", "cache --timeout 60").as_deref(),
            Some("git credential-cache --timeout 60")
        );
        assert_eq!(
            runs("credential.https://x.helper", "!f() { cat ~/.t; }; f").as_deref(),
            Some("f() { cat ~/.t; }; f")
        );
        assert_eq!(
            runs("credential.helper", "/usr/bin/helper").as_deref(),
            Some("/usr/bin/helper")
        );
        assert_eq!(runs("alias.x", "!rm -rf ~").as_deref(), Some("rm -rf ~"));
        assert_eq!(runs("Alias.X", " !rm -rf ~").as_deref(), Some("rm -rf ~"));
        assert_eq!(config_effect("alias.st", "status"), ConfigEffect::Inert);
        assert_eq!(
            runs("submodule.lib.update", "!make clean").as_deref(),
            Some("make clean")
        );
        assert_eq!(config_effect("submodule.lib.update", "rebase"), ConfigEffect::Inert);
    }

    /// Keys that weaken git without running a command themselves are unsafe, whatever their value.
    #[test]
    fn unsafe_keys() {
        for (key, value) in [
            ("core.hooksPath", "/dev/null"),
            ("core.hooksPath", ".githooks"),
            ("include.path", "/tmp/x"),
            ("includeIf.gitdir:~/w/.path", "/tmp/x"),
            ("url.https://evil.example/.insteadOf", "https://github.com/"),
            ("url.ext::sh -c x.pushInsteadOf", "origin"),
            ("safe.directory", "*"),
            ("init.templateDir", "/tmp/t"),
            ("remote.origin.vcs", "x"),
            ("remote.origin.url", "ext::sh -c x"),
            ("remote.origin.pushurl", "ext::sh -c x"),
            ("submodule.x.url", "ext::sh -c x"),
        ] {
            assert_eq!(config_effect(key, value), ConfigEffect::Unsafe, "{key}={value}");
        }
    }

    /// Safety switches are unsafe when turned off and inert when left on.
    #[test]
    fn safety_switches() {
        for off in ["false", "no", "off", "0", "", "FALSE", "$X"] {
            assert_eq!(config_effect("clean.requireForce", off), ConfigEffect::Unsafe, "{off}");
            assert_eq!(config_effect("http.sslVerify", off), ConfigEffect::Unsafe, "{off}");
            assert_eq!(config_effect("core.protectNTFS", off), ConfigEffect::Unsafe, "{off}");
            assert_eq!(config_effect("core.protectHFS", off), ConfigEffect::Unsafe, "{off}");
        }
        for on in ["true", "yes", "on", "1", "TRUE"] {
            assert_eq!(config_effect("clean.requireForce", on), ConfigEffect::Inert, "{on}");
            assert_eq!(config_effect("http.sslVerify", on), ConfigEffect::Inert, "{on}");
        }
    }

    /// Protocols are unsafe when always allowed (and `ext`, which runs commands, when allowed at all).
    #[test]
    fn protocol_allow() {
        assert_eq!(config_effect("protocol.ext.allow", "always"), ConfigEffect::Unsafe);
        assert_eq!(config_effect("protocol.ext.allow", "user"), ConfigEffect::Unsafe);
        assert_eq!(config_effect("protocol.allow", "always"), ConfigEffect::Unsafe);
        assert_eq!(config_effect("protocol.file.allow", "always"), ConfigEffect::Unsafe);
        assert_eq!(config_effect("protocol.ext.allow", "never"), ConfigEffect::Inert);
        assert_eq!(config_effect("protocol.https.allow", "user"), ConfigEffect::Inert);
        assert_eq!(config_effect("protocol.allow", "never"), ConfigEffect::Inert);
    }

    /// Everyday configuration is inert.
    #[test]
    fn everyday_keys() {
        for (key, value) in [
            ("user.name", "A"),
            ("user.email", "a@b"),
            ("color.ui", "always"),
            ("core.autocrlf", "false"),
            ("core.quotePath", "false"),
            ("push.default", "current"),
            ("commit.gpgSign", "false"),
            ("init.defaultBranch", "main"),
            ("diff.tool", "vimdiff"),
            ("merge.conflictStyle", "zdiff3"),
            ("filter.lfs.required", "true"),
            ("http.sslVerify", "true"),
            ("remote.origin.url", "https://github.com/org/repo"),
            ("advice.detachedHead", "false"),
            ("gc.auto", "0"),
        ] {
            assert_eq!(config_effect(key, value), ConfigEffect::Inert, "{key}={value}");
        }
    }
}
