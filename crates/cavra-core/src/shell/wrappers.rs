//! Unwrapping: `sudo`, `env`, `nohup`, `time`, `command`, `exec`, `xargs`, `nice`, `timeout`,
//! `sh -c '...'`, `eval`, `ssh host '...'`, `find -exec` and friends reach the command they run.
//!
//! Script strings (`sh -c`, `eval`, `env -S`, `watch`, `ssh`) are analysed recursively as
//! shell, one level deeper each time, so the depth bound in [`super::MAX_DEPTH`] applies.

use super::flags::{self, parse_args};
use super::walk::{Extras, Walker};
use super::{Access, Construct, SimpleCommand, Stage, is_interpreter};
use crate::path;

/// The program's name: `/usr/bin/rm` and `./rm` are `rm`.
pub(crate) fn program_name(word: &str) -> &str {
    word.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or(word)
}

fn is_shell(program: &str) -> bool {
    matches!(
        program,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh" | "fish" | "busybox"
    )
}

/// Skips leading options of a wrapper; `valued` lists the short options that take a value.
/// Returns the index of the first word that is not an option.
fn skip_options(args: &[String], valued: &[&str]) -> usize {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if arg == "--" {
            return i + 1;
        }
        if !arg.starts_with('-') || arg == "-" {
            return i;
        }
        let bare = arg.trim_start_matches('-');
        i += 1;
        if !bare.contains('=') && valued.contains(&bare) && i < args.len() {
            i += 1;
        }
    }
    i
}

/// find predicates that narrow what is matched, so `-delete`/`-exec` do not hit the whole tree.
pub(crate) fn is_find_filter(arg: &str) -> bool {
    matches!(
        arg,
        "-name"
            | "-iname"
            | "-path"
            | "-ipath"
            | "-wholename"
            | "-iwholename"
            | "-regex"
            | "-iregex"
            | "-newer"
            | "-mtime"
            | "-mmin"
            | "-ctime"
            | "-cmin"
            | "-atime"
            | "-amin"
            | "-empty"
            | "-size"
            | "-user"
            | "-group"
            | "-perm"
            | "-inum"
            | "-samefile"
            | "-links"
            | "-lname"
            | "-ilname"
    )
}

/// Programs whose arguments are text, not files.
fn arguments_are_text(program: &str) -> bool {
    matches!(
        program,
        "echo"
            | "printf"
            | "true"
            | "false"
            | "test"
            | "["
            | "expr"
            | "seq"
            | "sleep"
            | "kill"
            | "exit"
            | "return"
            | "export"
            | "set"
            | "unset"
            | "alias"
            | "read"
            | "let"
            | "declare"
            | "local"
            | "typeset"
            | "which"
            | "type"
            | "hash"
            | "whoami"
            | "date"
            | "yes"
    )
}

impl Walker {
    /// Runs `argv` as a command: unwraps wrappers, recurses into script strings, and records
    /// the final simple command. Returns the programs reached.
    pub(super) fn invoke(
        &mut self,
        mut argv: Vec<String>,
        extras: Extras,
        depth: usize,
        via: &[String],
    ) -> Vec<String> {
        let mut via = via.to_vec();
        loop {
            let Some(first) = argv.first() else {
                return Vec::new();
            };
            if first.contains('$') || first.contains('`') {
                self.construct(Construct::DynamicProgram);
            }
            let program = program_name(first).to_owned();
            let args = &argv[1..];
            if is_interpreter(&program) && !is_shell(&program) && args.iter().any(|a| a == "/dev/fd/63") {
                self.record_fed(&extras, &program);
            }
            let rest_at = match program.as_str() {
                "sudo" => Some(skip_options(
                    args,
                    &["u", "g", "h", "p", "C", "D", "r", "t", "U", "T", "user", "group"],
                )),
                "doas" => Some(skip_options(args, &["u", "C"])),
                "nohup" | "setsid" | "builtin" | "unbuffer" | "caffeinate" | "time" | "busybox" | "toybox" => {
                    Some(skip_options(args, &[]))
                }
                "exec" => Some(skip_options(args, &["a"])),
                "nice" => Some(skip_options(args, &["n", "adjustment"])),
                "ionice" => Some(skip_options(args, &["c", "n", "class", "classdata"])),
                "stdbuf" => Some(skip_options(args, &["i", "o", "e"])),
                "chrt" | "taskset" => Some(skip_options(args, &[]).saturating_add(1)),
                "command" if !args.iter().any(|a| a == "-v" || a == "-V") => Some(skip_options(args, &[])),
                "timeout" => Some(skip_options(args, &["s", "k", "signal", "kill-after"]).saturating_add(1)),
                "xargs" => Some(skip_options(
                    args,
                    &[
                        "I",
                        "L",
                        "l",
                        "n",
                        "P",
                        "d",
                        "E",
                        "e",
                        "s",
                        "a",
                        "max-args",
                        "max-procs",
                        "delimiter",
                        "arg-file",
                        "replace",
                        "max-lines",
                    ],
                )),
                "flock" => {
                    if let Some(at) = args.iter().position(|a| a == "-c" || a == "--command")
                        && let Some(script) = args.get(at + 1)
                    {
                        via.push("flock -c".to_owned());
                        return self.script(script, depth + 1, &via);
                    }
                    Some(skip_options(args, &["w", "E", "timeout", "conflict-exit-code"]).saturating_add(1))
                }
                "env" => return self.env(argv, extras, depth, via),
                "eval" => {
                    let script = args.join(" ");
                    self.record_fed(&extras, &program);
                    via.push("eval".to_owned());
                    return self.script(&script, depth + 1, &via);
                }
                "watch" => {
                    let at = skip_options(args, &["n", "interval", "d", "differences"]);
                    let script = args[at.min(args.len())..].join(" ");
                    via.push("watch".to_owned());
                    return self.script(&script, depth + 1, &via);
                }
                "su" => {
                    let script = args.iter().enumerate().find_map(|(i, a)| {
                        if a == "-c" || a == "--command" {
                            args.get(i + 1).cloned()
                        } else {
                            a.strip_prefix("--command=").map(str::to_owned)
                        }
                    });
                    match script {
                        Some(script) => {
                            via.push("su -c".to_owned());
                            return self.script(&script, depth + 1, &via);
                        }
                        None => None,
                    }
                }
                "ssh" => {
                    let mut programs = self.emit(&argv, &extras, &via);
                    let valued = [
                        "b", "c", "D", "E", "e", "F", "I", "i", "J", "L", "l", "m", "O", "o", "p", "Q", "R", "S", "W",
                        "w",
                    ];
                    let at = skip_options(args, &valued);
                    if args.len() > at + 1 {
                        let script = args[at + 1..].join(" ");
                        via.push(format!("ssh {}", args[at]));
                        programs.extend(self.script(&script, depth + 1, &via));
                    }
                    return programs;
                }
                "find" => {
                    let mut programs = self.emit(&argv, &extras, &via);
                    let mut i = 0;
                    while i < args.len() {
                        if matches!(args[i].as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
                            let end = args[i + 1..]
                                .iter()
                                .position(|a| a == ";" || a == "+")
                                .map_or(args.len(), |p| i + 1 + p);
                            // Without a filter, `{}` is everything under the starting point.
                            let filtered = args[..i].iter().any(|a| is_find_filter(a));
                            let root = match args.first() {
                                Some(r) if !filtered && !r.starts_with('-') && r != "(" && r != "!" => r.as_str(),
                                _ if !filtered => ".",
                                _ => "{}",
                            };
                            let inner: Vec<String> = args[i + 1..end].iter().map(|a| a.replace("{}", root)).collect();
                            let mut inner_via = via.clone();
                            inner_via.push(format!("find {}", args[i]));
                            if depth + 1 > super::MAX_DEPTH {
                                self.construct(Construct::TooDeep);
                            } else {
                                programs.extend(self.invoke(inner, Extras::default(), depth + 1, &inner_via));
                            }
                            i = end;
                        }
                        i += 1;
                    }
                    return programs;
                }
                p if is_shell(p) => return self.shell(argv, extras, depth, via),
                "source" | "." => {
                    self.record_fed(&extras, &program);
                    None
                }
                _ => None,
            };
            match rest_at {
                Some(at) if at < args.len() => {
                    via.push(program);
                    argv = argv.split_off(at + 1);
                }
                _ => return self.emit(&argv, &extras, &via),
            }
        }
    }

    /// Records `fed programs → program` as a pipeline: text produced by a substitution is being
    /// run (`bash -c "$(curl ...)"`, `source <(curl ...)`).
    fn record_fed(&mut self, extras: &Extras, program: &str) {
        if !extras.fed.is_empty() {
            let consumer = Stage {
                programs: vec![program.to_owned()],
                runs_input: true,
            };
            self.out.pipelines.push(vec![Stage::data(extras.fed.clone()), consumer]);
        }
    }

    fn env(&mut self, argv: Vec<String>, extras: Extras, depth: usize, mut via: Vec<String>) -> Vec<String> {
        let args = &argv[1..];
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            if let Some(script) = arg.strip_prefix("--split-string=") {
                via.push("env -S".to_owned());
                return self.script(script, depth + 1, &via);
            }
            if arg == "-S" || arg == "--split-string" {
                let script = args[i + 1..].join(" ");
                via.push("env -S".to_owned());
                return self.script(&script, depth + 1, &via);
            }
            if matches!(arg, "-u" | "-C" | "--unset" | "--chdir") {
                i += 2;
            } else if arg.starts_with('-') || arg.contains('=') {
                i += 1;
            } else {
                break;
            }
        }
        if i >= args.len() {
            return self.emit(&argv, &extras, &via);
        }
        via.push("env".to_owned());
        let rest = argv[i + 1..].to_vec();
        self.invoke(rest, extras, depth, &via)
    }

    fn shell(&mut self, argv: Vec<String>, extras: Extras, depth: usize, mut via: Vec<String>) -> Vec<String> {
        let program = program_name(&argv[0]).to_owned();
        let args = &argv[1..];
        let mut command_string = false;
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            if arg == "--" {
                i += 1;
                break;
            }
            if arg == "-o" || arg == "+o" {
                i += 2;
                continue;
            }
            if (arg.starts_with('-') || arg.starts_with('+')) && arg.len() > 1 {
                if !arg.starts_with("--") && arg[1..].contains('c') {
                    command_string = true;
                }
                i += 1;
                continue;
            }
            break;
        }
        self.record_fed(&extras, &program);
        if command_string {
            if let Some(script) = args.get(i) {
                via.push(format!("{program} -c"));
                return self.script(script, depth + 1, &via);
            }
        } else if i >= args.len()
            && let Some(stdin) = &extras.stdin
        {
            via.push(format!("{program} <<"));
            let stdin = stdin.clone();
            let mut programs = self.emit(&argv, &extras, &via[..via.len() - 1]);
            programs.extend(self.script(&stdin, depth + 1, &via));
            return programs;
        }
        self.emit(&argv, &extras, &via)
    }

    /// Records the final simple command; tracks `cd`.
    pub(super) fn emit(&mut self, argv: &[String], extras: &Extras, via: &[String]) -> Vec<String> {
        let Some(first) = argv.first() else {
            return Vec::new();
        };
        let program = program_name(first).to_owned();
        let args = argv[1..].to_vec();
        let parsed = parse_args(&program, &args);
        let mut files = extras.files.clone();
        if !arguments_are_text(&program) {
            files.extend(file_arguments(&program, &parsed.positionals, &parsed.flags));
        }
        files.retain(|(_, f)| !f.is_empty() && !f.contains("://"));
        let cwd = self.cwd.clone();
        if program == "cd" {
            let target = parsed.positionals.first().map_or("~", String::as_str);
            if target != "-" {
                self.cwd = Some(path::join(self.cwd.as_deref(), target));
            }
        }
        let command = SimpleCommand {
            program: program.clone(),
            args,
            flags: parsed.flags,
            positionals: parsed.positionals,
            files,
            cwd,
            via: via.to_vec(),
        };
        if !self.out.commands.contains(&command) {
            self.out.commands.push(command);
        }
        vec![program]
    }
}

/// How many leading positionals of a file-handling program are not files (a pattern, a script),
/// or `None` when the program's arguments are not files whose contents it reads or writes.
fn file_positionals_from(program: &str, flags: &[flags::Flag]) -> Option<usize> {
    let pattern_given = flags
        .iter()
        .any(|f| matches!(f.name.as_str(), "e" | "regexp" | "f" | "file"));
    match program {
        "grep" | "egrep" | "fgrep" | "rg" | "ag" | "ack" if !pattern_given => Some(1),
        "sed" if !pattern_given => Some(1),
        "awk" | "gawk" | "mawk" | "jq" | "yq" => Some(1),
        "cat" | "tac" | "less" | "more" | "head" | "tail" | "nl" | "od" | "xxd" | "hexdump" | "strings" | "base64"
        | "base32" | "md5sum" | "sha1sum" | "sha256sum" | "sha512sum" | "wc" | "file" | "cp" | "mv" | "rm"
        | "rmdir" | "shred" | "truncate" | "touch" | "tee" | "ln" | "install" | "rsync" | "scp" | "tar" | "zip"
        | "unzip" | "gzip" | "gunzip" | "zcat" | "bzip2" | "xz" | "7z" | "vim" | "vi" | "nvim" | "nano" | "emacs"
        | "code" | "open" | "source" | "." | "diff" | "cmp" | "sort" | "uniq" | "cut" | "paste" | "column" | "grep"
        | "egrep" | "fgrep" | "rg" | "ag" | "ack" | "sed" | "gpg" | "sqlite3" | "split" | "iconv" | "dos2unix"
        | "find" | "unlink" | "wipefs" | "bat" | "view" | "pr" | "fold" | "fmt" | "xargs" | "openssl"
        | "ssh-keygen" | "ssh-add" => Some(0),
        p if p.starts_with("mkfs") => Some(0),
        _ => None,
    }
}

/// Programs that only look at or change metadata (names, modes, owners), never contents.
fn touches_metadata_only(program: &str) -> bool {
    matches!(
        program,
        "ls" | "stat"
            | "chmod"
            | "chown"
            | "chgrp"
            | "du"
            | "df"
            | "readlink"
            | "realpath"
            | "basename"
            | "dirname"
            | "cd"
            | "pushd"
            | "mkdir"
            | "test"
            | "["
            | "tree"
            | "exa"
            | "eza"
    )
}

/// Whether a word reads as a path rather than a name (`./x`, `src/y`, `.env`, `~/z`, `$HOME/w`).
fn looks_like_path(word: &str) -> bool {
    word.contains('/') || word.starts_with(['.', '~', '$'])
}

/// The file a data argument names: `@file`, `name=@file`, `name=<file` (curl, httpie, gh).
fn data_file(value: &str) -> Option<&str> {
    value
        .strip_prefix('@')
        .or_else(|| value.split_once("=@").map(|(_, f)| f))
        .or_else(|| value.split_once("=<").map(|(_, f)| f))
        .filter(|f| !f.is_empty())
}

/// Files a command reads or writes: its file arguments, output options, `@file` data and
/// path-like arguments of other programs. Branch names, patterns and messages are not files.
fn file_arguments(program: &str, positionals: &[String], flags: &[flags::Flag]) -> Vec<(Access, String)> {
    let mut files = Vec::new();
    for f in flags {
        let Some(value) = &f.value else { continue };
        if matches!(f.name.as_str(), "output" | "output-document" | "o" | "out" | "log-file") {
            files.push((Access::Write, value.clone()));
        } else if let Some(file) = data_file(value) {
            files.push((Access::Read, file.to_owned()));
        }
    }
    if program == "dd" {
        for p in positionals {
            if let Some(f) = p.strip_prefix("of=") {
                files.push((Access::Write, f.to_owned()));
            } else if let Some(f) = p.strip_prefix("if=") {
                files.push((Access::Read, f.to_owned()));
            }
        }
        return files;
    }
    if program == "git" {
        let sub = flags::first_positional(positionals);
        let cached = flags.iter().any(|f| f.name == "cached");
        let access = match sub {
            "rm" | "mv" if !cached => Access::Write,
            "add" | "restore" | "blame" | "diff" | "show" | "cat-file" | "checkout" | "apply" | "am" => Access::Read,
            _ => return files,
        };
        for p in positionals.iter().skip(1) {
            let path = if matches!(sub, "show" | "cat-file") {
                p.split_once(':').map_or(p.as_str(), |(_, f)| f)
            } else {
                p
            };
            files.push((access, path.to_owned()));
        }
        return files;
    }
    if touches_metadata_only(program) {
        return files;
    }
    if let Some(p) = positionals.iter().find_map(|p| data_file(p)) {
        files.push((Access::Read, p.to_owned()));
    }
    let in_place = flags.iter().any(|f| f.name == "in-place" || f.name == "i");
    let Some(skip) = file_positionals_from(program, flags) else {
        files.extend(
            positionals
                .iter()
                .filter(|p| looks_like_path(p))
                .map(|p| (Access::Read, p.clone())),
        );
        return files;
    };
    let count = positionals.len();
    for (i, p) in positionals.iter().enumerate().skip(skip) {
        let last = i + 1 == count && i > skip;
        let access = match program {
            "tee" | "touch" | "rm" | "rmdir" | "truncate" | "shred" | "unlink" | "wipefs" => Access::Write,
            m if m.starts_with("mkfs") => Access::Write,
            "cp" | "mv" | "install" | "ln" | "rsync" | "scp" if last => Access::Write,
            "sed" | "perl" if in_place => Access::Write,
            _ => Access::Read,
        };
        files.push((access, p.clone()));
    }
    files
}
