//! Code for other interpreters (`python -c`, `node -e`, `perl -e`, `ruby -e`, `php -r`,
//! `pwsh -c`, `osascript -e`, `awk`, ...), read for what it does to the machine.
//!
//! This is not a parser for eight languages: it looks, in linear time, for the few things that
//! matter to an authority, and judges each like its shell equivalent:
//! - processes it spawns (`os.system`, `subprocess.run([...])`, `execSync`, `system`, backticks):
//!   a literal command is analysed as the shell command (or argv) it is; anything built at run
//!   time is [`Construct::InlineCode`], which needs approval;
//! - recursive deletion (`shutil.rmtree`, `fs.rmSync(.., {recursive})`, `FileUtils.rm_rf`,
//!   `Remove-Item -Recurse`) becomes the `rm -rf` it is;
//! - fetched code that is executed (`urlopen` + `exec`, `iwr | iex`) is a download piped into an
//!   interpreter;
//! - a socket wired to a shell is [`Construct::ReverseShell`]; forking in a loop is
//!   [`Construct::ForkBomb`]; `eval`/`exec` of text that is not literal is `InlineCode`;
//! - string literals that look like paths are files it touches (written when the code writes).

use std::sync::LazyLock;

use regex::Regex;

use super::walk::{Extras, Walker};
use super::{Access, Construct, Stage};

/// What a spawning call was given.
#[derive(Debug, PartialEq, Eq)]
enum Arg {
    /// A literal string: a shell command line.
    Shell(String),
    /// A literal list: the argv of a command.
    Argv(Vec<String>),
    /// Something computed at run time; any literal prefix it starts with is kept.
    Dynamic(Option<String>),
}

#[expect(
    clippy::expect_used,
    reason = "constant patterns, every one built by the `patterns_build` test"
)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant pattern builds")
}

/// Calls that spawn a process, per language; the argument follows the match.
static SPAWN: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    vec![
        (
            "python",
            re(
                r"(?:\bos\s*\.\s*|\bsubprocess\s*\.\s*|\bsp\s*\.\s*|\bcommands\s*\.\s*|\bpty\s*\.\s*|\)\s*\.\s*|\bsh\s*\.\s*)(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?|run|call|check_call|check_output|Popen|getoutput|getstatusoutput|spawn|Command)\s*\(|\bcreate_subprocess_(?:shell|exec)\s*\(",
            ),
        ),
        (
            "javascript",
            re(
                r"(?:\b(?:child_process|cp|proc)\s*\.\s*|\)\s*\.\s*|\b)(?:execSync|exec|spawnSync|spawn|execFileSync|execFile|fork)\s*\(|\bDeno\s*\.\s*run\s*\(|\bnew\s+Deno\s*\.\s*Command\s*\(|\bBun\s*\.\s*spawn(?:Sync)?\s*\(",
            ),
        ),
        ("perl", re(r"\b(?:system|exec)\b\s*|\bqx\s*[\(\{/|!]")),
        (
            "ruby",
            re(r"\b(?:system|exec|spawn|IO\s*\.\s*popen|Open3\s*\.\s*\w+|Process\s*\.\s*spawn)\b\s*|%x[\(\{\[]"),
        ),
        (
            "php",
            re(r"\b(?:shell_exec|system|exec|passthru|popen|proc_open|pcntl_exec)\s*\("),
        ),
        ("lua", re(r"\b(?:os\s*\.\s*execute|io\s*\.\s*popen)\s*\(?")),
        ("awk", re(r"\bsystem\s*\(")),
        ("applescript", re(r"\bdo\s+shell\s+script\s+")),
        (
            "any",
            re(r"\b(?:system|shell_exec|os\.execute|Sys\.command|run|execute|shell|spawn)\s*\("),
        ),
    ]
});

static RMTREE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bshutil\s*\.\s*rmtree|\brmtree|\bremove_tree|\bFileUtils\s*\.\s*(?:rm_rf|rm_r|remove_dir|remove_entry_secure|rmtree)|(?:\bfs|\))\s*\.\s*(?:promises\s*\.\s*)?(?:rmSync|rm|rmdirSync|rmdir)|\brimraf(?:\s*\.\s*sync)?|\bDeno\s*\.\s*remove|\bfs_extra\s*\.\s*remove|\bfse?\s*\.\s*remove(?:Sync)?|\bdir\s*\.\s*delete)\s*\(",
    )
});

static UNLINK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bos\s*\.\s*(?:remove|unlink|removedirs|rmdir)\s*\(|\bunlink\b\s*\(?|\bFile\s*\.\s*(?:delete|unlink)\s*\(|\bfs\s*\.\s*(?:unlinkSync|unlink)\s*\(|\bFileUtils\s*\.\s*rm\s*\(|\bPath\s*\([^)]*\)\s*\.\s*unlink\s*\()",
    )
});

static PS_COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)<#.*?#>|#[^\n]*"));

static PS_REMOVE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:^|[;|&({\s])(?:remove-item|ri|rm|rmdir|rd|del|erase)\s+([^;|\n]*)"));

static FETCH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\burllib|\burlopen|\brequests\s*\.\s*get|\bhttpx|\bhttp\.client|\bfetch\s*\(|\bhttps?\s*\.\s*get\s*\(|require\(\s*['\x22]https?['\x22]\s*\)|\baxios|\bLWP|HTTP::Tiny|\bopen-uri|Net::HTTP|\bURI\.open|\bfile_get_contents\s*\(\s*['\x22]https?:|\bcurl_exec|\binvoke-webrequest|\biwr\b|\birm\b|\binvoke-restmethod|downloadstring|downloadfile|net\.webclient|\bwget\b|\bcurl\b",
    )
});

static EXECUTE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bexec\s*\(|\beval\b|\bcompile\s*\(|\bnew\s+Function\s*\(|\bFunction\s*\(|\bvm\s*\.\s*run|\binvoke-expression|\biex\b|\|\s*(?:ba|z|da)?sh\b|\binstance_eval|\bclass_eval|\bmodule_eval",
    )
});

static EVAL_CALL: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:exec|eval|compile|instance_eval|Function)\s*\("));

static SOCKET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bsocket\b|\bnet\s*\.\s*(?:connect|socket|createconnection)|\bio::socket|\btcpsocket|\bunixsocket|\bfsockopen|\bsocket_create|\bstream_socket_client|/dev/tcp/|\bsystem\.net\.sockets|\btcpclient",
    )
});

static SHELL_WIRING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bdup2\b|\bpty\s*\.\s*spawn|/bin/(?:ba|z|da)?sh\b|\bcmd\.exe\b|\bpowershell\b|\bexec\s*\(|\bspawn\s*\(|\bsubprocess|\bchild_process|\bproc_open|\bopen\s*\(\s*STDIN|\bstdin\s*=\s*s\b|\bfileno\s*\(",
    )
});

static FORK: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bfork\s*\(|\bfork\b\s*(?:while|until|for|;|\}|$)|\bpcntl_fork\b"));

static LOOP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\bwhile\b|\bfor\b|\buntil\b|\bloop\b|\biter\s*\(|\bitertools\s*\.\s*count|\brepeat\b|\.times\b")
});

static WRITES: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)open\s*\([^)]*,\s*['"][wax+]|\bwrite_text|\bwrite_bytes|\bwritefile|\bappendfile|\bFile\s*\.\s*write|\bIO\s*\.\s*write|\bset-content|\bout-file|\badd-content|\bfile_put_contents|\bcopy(?:file)?(?:sync)?\s*\(|\bshutil\s*\.\s*(?:copy|move)|\brename(?:sync)?\s*\(|open\s*\(\s*[A-Z]+\s*,\s*['"]?\s*>|\bsymlink"#,
    )
});

/// vim commands that run shell text: `!cmd` after `:`, a bar, or `r`/`w`/`silent`.
static VIM_BANG: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|[:|]|\b(?:silent|r|read|w|write)\s*)\s*!\s*([^|\n]+)"));

/// sed's `e` command (with its text) and the `e` flag of `s///` (no text: runs what it built).
static SED_EXEC: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|[;\n{}])\s*(?:\d+|\$|/[^/]*/)?\s*e\s+([^;\n}]*)|\bs/[^/]*/[^/]*/[gpiImM0-9]*e[gpiImM0-9]*(?:$|[;\s}])")
});

/// String literals: single, double or back quotes, with escapes.
static LITERAL: LazyLock<Regex> = LazyLock::new(|| re(r#"'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`"#));

/// Backticks (perl, ruby, php) and `$`...`` in zx scripts run their text as shell.
static BACKTICKS: LazyLock<Regex> = LazyLock::new(|| re(r"`([^`]+)`"));

/// Reads what `code` in `language` does; see the module docs.
pub(super) fn scan(w: &mut Walker, language: &str, code: &str, depth: usize, via: &[String]) -> Vec<String> {
    let mut programs = Vec::new();
    if depth > super::MAX_DEPTH {
        w.construct(Construct::TooDeep);
        return programs;
    }
    let family = family(language);
    match family {
        "powershell" => programs.extend(powershell(w, code, depth, via)),
        "shell" => return w.script(code, depth, via),
        "vim" => {
            // `:!cmd`, `:silent !cmd`, `:r !cmd`: vim runs shell text.
            for c in VIM_BANG.captures_iter(code) {
                if let Some(text) = c.get(1) {
                    programs.extend(w.script(text.as_str(), depth, via));
                }
            }
        }
        "sed" => {
            // GNU sed's `e COMMAND` runs COMMAND; the `e` flag of `s///e` runs the pattern space.
            for c in SED_EXEC.captures_iter(code) {
                match c.get(1) {
                    Some(text) if !text.as_str().trim().is_empty() => {
                        programs.extend(w.script(text.as_str(), depth, via));
                    }
                    _ => w.construct(Construct::InlineCode),
                }
            }
            return programs;
        }
        _ => {}
    }
    for (lang, pattern) in SPAWN.iter() {
        // A language's own patterns, or the generic ones for a language that has none.
        let generic = *lang == "any" && !SPAWN.iter().any(|(l, _)| *l == family);
        if *lang != family && !generic {
            continue;
        }
        for m in pattern.find_iter(code) {
            let arg = if *lang == "applescript" {
                literal_at(code, m.end())
            } else {
                argument(&code[m.end()..], family)
            };
            programs.extend(run_arg(w, arg, depth, via));
        }
    }
    if matches!(family, "perl" | "ruby" | "php" | "javascript") && code.contains('`') {
        let zx = family != "javascript" || code.contains("$`") || code.contains("zx");
        if zx {
            for c in BACKTICKS.captures_iter(code) {
                if let Some(text) = c.get(1) {
                    programs.extend(w.script(text.as_str(), depth, via));
                }
            }
        }
    }
    for m in RMTREE.find_iter(code) {
        let arg = argument(&code[m.end()..], family);
        programs.extend(delete(w, arg, &["-rf"], depth, via));
    }
    for m in UNLINK.find_iter(code) {
        let arg = argument(&code[m.end()..], family);
        programs.extend(delete(w, arg, &[], depth, via));
    }
    if FETCH.is_match(code) && EXECUTE.is_match(code) {
        w.out.pipelines.push(vec![
            Stage::data(vec!["curl".to_owned()]),
            Stage {
                programs: vec![interpreter(language).to_owned()],
                runs_input: true,
            },
        ]);
    }
    if SOCKET.is_match(code) && SHELL_WIRING.is_match(code) {
        w.construct(Construct::ReverseShell);
    }
    if FORK.is_match(code) && LOOP.is_match(code) {
        w.construct(Construct::ForkBomb);
    }
    for m in EVAL_CALL.find_iter(code) {
        match argument(&code[m.end()..], family) {
            Arg::Shell(text) => programs.extend(scan(w, language, &text, depth + 1, via)),
            Arg::Argv(_) | Arg::Dynamic(_) => w.construct(Construct::InlineCode),
        }
    }
    if family == "python"
        && code.contains("__import__")
        && !code.contains("__import__('")
        && !code.contains("__import__(\"")
    {
        w.construct(Construct::InlineCode);
    }
    programs.extend(paths(w, language, code, via));
    programs
}

/// The language family a model language belongs to.
fn family(language: &str) -> &str {
    match language {
        "python" | "javascript" | "perl" | "ruby" | "php" | "lua" | "awk" | "applescript" | "powershell" | "shell"
        | "vim" | "sed" => language,
        _ => "any",
    }
}

/// Runs what a spawning call was given.
fn run_arg(w: &mut Walker, arg: Arg, depth: usize, via: &[String]) -> Vec<String> {
    match arg {
        Arg::Shell(text) => w.script(&text, depth, via),
        Arg::Argv(argv) if !argv.is_empty() => w.invoke(argv, Extras::default(), depth, via),
        Arg::Argv(_) => Vec::new(),
        Arg::Dynamic(prefix) => {
            w.construct(Construct::InlineCode);
            prefix.map(|p| w.script(&p, depth, via)).unwrap_or_default()
        }
    }
}

/// A deletion call as the `rm` it is; a target computed at run time needs approval.
fn delete(w: &mut Walker, arg: Arg, flags: &[&str], depth: usize, via: &[String]) -> Vec<String> {
    let target = match arg {
        Arg::Shell(t) => Some(t),
        Arg::Argv(v) => v.into_iter().next(),
        Arg::Dynamic(prefix) => {
            w.construct(Construct::InlineCode);
            prefix
        }
    };
    let Some(target) = target else { return Vec::new() };
    let target = home_spelled(&target);
    let mut argv = vec!["rm".to_owned()];
    argv.extend(flags.iter().map(|f| (*f).to_owned()));
    argv.push(target);
    w.invoke(argv, Extras::default(), depth, via)
}

/// What follows a call's opening: a literal, a list of literals, or something computed.
fn argument(rest: &str, family: &str) -> Arg {
    let rest = rest.trim_start_matches([' ', '\t', '\n', '(']);
    // `unlink glob "..."` (perl), `glob.glob("...")` (python): the pattern is the target.
    let rest = ["glob.glob", "glob.iglob", "glob"]
        .iter()
        .find_map(|g| rest.strip_prefix(g).filter(|r| r.starts_with([' ', '(', '"', '\''])))
        .map_or(rest, |r| r.trim_start_matches([' ', '(']));
    if let Some(inner) = rest
        .strip_prefix('[')
        .or_else(|| rest.strip_prefix("%w[").or_else(|| rest.strip_prefix("%w(")))
    {
        return list(inner, family);
    }
    if let Some(home) = home_call(rest) {
        return Arg::Shell(home);
    }
    // `Deno.Command("rm", { args: [...] })`, perl/ruby `system "rm", "-rf", $x`.
    let (first, after) = match literal(rest) {
        Some(found) => found,
        None => return Arg::Dynamic(None),
    };
    let after = after.trim_start();
    if after.starts_with(['+', '%', '.']) || (family == "python" && after.starts_with("format")) {
        return Arg::Dynamic(Some(first));
    }
    if let Some(more) = after.strip_prefix(',') {
        let more = more.trim_start();
        if let Some(args) = more
            .strip_prefix('{')
            .and_then(|o| o.split_once("args"))
            .and_then(|(_, a)| a.split_once('['))
        {
            let mut argv = vec![first];
            match list(args.1, family) {
                Arg::Argv(v) => argv.extend(v),
                _ => return Arg::Dynamic(None),
            }
            return Arg::Argv(argv);
        }
        if more.starts_with(['\'', '"']) && matches!(family, "perl" | "ruby" | "any") {
            let mut argv = vec![first];
            let mut tail = more;
            while let Some((lit, after)) = literal(tail) {
                argv.push(lit);
                match after.trim_start().strip_prefix(',') {
                    Some(next) => tail = next.trim_start(),
                    None => return Arg::Argv(argv),
                }
            }
            return Arg::Dynamic(None);
        }
        if more.starts_with('[') && matches!(family, "javascript" | "python") {
            let listed = match list(&more[1..], family) {
                Arg::Argv(v) => v,
                _ => return Arg::Dynamic(None),
            };
            // `os.execvp('rm', ['rm', ...])`: the list is the whole argv; `spawn('rm', [...])`:
            // the list follows the program.
            if family == "python" && !listed.is_empty() {
                return Arg::Argv(listed);
            }
            let mut argv = vec![first];
            argv.extend(listed);
            return Arg::Argv(argv);
        }
    }
    Arg::Shell(first)
}

/// A path with the interpreters' spellings of the home directory (`$ENV{HOME}`, `${HOME}`,
/// `$HOME`, `%USERPROFILE%`) written as `~`.
fn home_spelled(target: &str) -> String {
    [
        "$ENV{HOME}",
        "$ENV{'HOME'}",
        "${HOME}",
        "$HOME",
        "%USERPROFILE%",
        "#{Dir.home}",
        "#{ENV['HOME']}",
    ]
    .iter()
    .find_map(|h| target.strip_prefix(h))
    .map_or_else(|| target.to_owned(), |rest| format!("~{rest}"))
}

/// `Path.home()`, `os.homedir()`, `expanduser('~')`, `Dir.home`, `$HOME`, `ENV['HOME']`.
fn home_call(rest: &str) -> Option<String> {
    const HOME: [&str; 20] = [
        "os.path.expanduser('~')",
        "os.path.expanduser(\"~\")",
        "Path.home()",
        "pathlib.Path.home()",
        "os.homedir()",
        "require('os').homedir()",
        "require(\"os\").homedir()",
        "Dir.home",
        "$ENV{HOME}",
        "$ENV{'HOME'}",
        "ENV['HOME']",
        "ENV[\"HOME\"]",
        "process.env.HOME",
        "process.env['HOME']",
        "os.environ['HOME']",
        "os.environ[\"HOME\"]",
        "os.getenv('HOME')",
        "os.getenv(\"HOME\")",
        "getenv('HOME')",
        "Deno.env.get(\"HOME\")",
    ];
    HOME.iter().find(|h| rest.starts_with(*h)).map(|_| "~".to_owned())
}

/// A literal list `[a, b, c]` (closing `]` or `)`), each element a literal.
fn list(inner: &str, family: &str) -> Arg {
    let _ = family;
    let mut argv = Vec::new();
    let mut rest = inner.trim_start();
    loop {
        if rest.starts_with([']', ')']) {
            return Arg::Argv(argv);
        }
        if let Some(home) = home_call(rest) {
            argv.push(home);
            rest = rest.split_once([',', ']']).map_or("", |(_, r)| r);
            continue;
        }
        match literal(rest) {
            Some((lit, after)) => {
                argv.push(lit);
                let after = after.trim_start();
                rest = match after.strip_prefix(',') {
                    Some(r) => r.trim_start(),
                    None if after.starts_with([']', ')']) => after,
                    None => return Arg::Dynamic(None),
                };
            }
            None => {
                // A bare word in `%w[rm -rf ~]` is a literal too.
                if let Some(end) = rest.find([']', ')'])
                    && !rest[..end].contains(['(', '$', '#', '{', '+'])
                    && inner
                        .trim_start()
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_alphanumeric() || c == '-')
                {
                    argv.extend(rest[..end].split_whitespace().map(str::to_owned));
                    return Arg::Argv(argv);
                }
                return Arg::Dynamic(None);
            }
        }
    }
}

/// A string literal at the start of `text` (after any `r`/`b`/`u` prefix), decoded, and the
/// text after it. f-strings and template literals with substitutions are not literal.
fn literal(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    let unprefixed = text.trim_start_matches(['r', 'b', 'u', 'R', 'B', 'U']);
    if text.starts_with(['f', 'F']) && text[1..].starts_with(['\'', '"']) {
        return None;
    }
    let raw = unprefixed.len() < text.len() && text.starts_with(['r', 'R']);
    let quote = unprefixed.chars().next()?;
    if !matches!(quote, '\'' | '"' | '`') {
        return None;
    }
    let triple: String = std::iter::repeat_n(quote, 3).collect();
    let (body_start, close) = if unprefixed.starts_with(&triple) {
        (3, triple.as_str())
    } else {
        (1, &unprefixed[..1])
    };
    let body = &unprefixed[body_start..];
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if body[i..].starts_with(close) {
            if quote == '`' && out.contains("${") {
                return None;
            }
            return Some((out, &body[i + close.len()..]));
        }
        if c == '\\' && !raw {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((j, 'x')) => {
                    let hex = body.get(j + 1..j + 3).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(char::from(b));
                            chars.next();
                            chars.next();
                        }
                        Err(_) => out.push('x'),
                    }
                }
                Some((_, other)) => out.push(other),
                None => return None,
            }
            continue;
        }
        out.push(c);
    }
    None
}

/// The literal after `do shell script`.
fn literal_at(code: &str, at: usize) -> Arg {
    match literal(&code[at..]) {
        Some((text, after)) if !after.trim_start().starts_with('&') => Arg::Shell(text),
        Some((text, _)) => Arg::Dynamic(Some(text)),
        None => Arg::Dynamic(None),
    }
}

/// PowerShell: recursive removal, wherever its flags stand (`Remove-Item -Recurse -Force X, Y`),
/// and every other cmdlet statement (`Set-MpPreference -DisableRealtimeMonitoring $true`,
/// `Get-Secret -Name X -AsPlainText`) judged as a command of that name.
fn powershell(w: &mut Walker, code: &str, depth: usize, via: &[String]) -> Vec<String> {
    // Comments say nothing the shell runs (`Set-ExecutionPolicy Unrestricted # -Scope Process`).
    let code = PS_COMMENT.replace_all(code, " ");
    let code = code.as_ref();
    let mut programs = Vec::new();
    for c in PS_REMOVE.captures_iter(code) {
        let Some(rest) = c.get(1) else { continue };
        let mut recursive = false;
        let mut targets: Vec<String> = Vec::new();
        let mut words = rest.as_str().split_whitespace();
        while let Some(word) = words.next() {
            let lower = word.to_ascii_lowercase();
            if let Some(flag) = lower.strip_prefix('-') {
                if !flag.is_empty() && ("recurse".starts_with(flag) || flag == "r") {
                    recursive = true;
                } else if matches!(flag, "path" | "literalpath" | "lp") {
                    targets.extend(words.next().map(str::to_owned));
                }
                continue;
            }
            if targets.is_empty() || targets.last().is_some_and(|t| t.ends_with(',')) || word.starts_with(',') {
                targets.push(word.to_owned());
            }
        }
        // `Remove-Item a, b` and `Remove-Item a,b`: a list of paths.
        let targets: Vec<String> = targets
            .iter()
            .flat_map(|t| t.split(','))
            .map(|t| t.trim().trim_matches(['\'', '"']).replace('\\', "/"))
            .filter(|t| !t.is_empty())
            .map(|t| {
                ["$HOME", "$env:USERPROFILE", "$env:HOME", "~"]
                    .iter()
                    .find_map(|h| t.strip_prefix(h))
                    .map_or(t.clone(), |rest| format!("~{rest}"))
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        let mut argv = vec!["rm".to_owned()];
        if recursive {
            argv.push("-rf".to_owned());
        }
        argv.extend(targets);
        programs.extend(w.invoke(argv, Extras::default(), depth, via));
    }
    for statement in code.split([';', '\n', '|', '{', '}', '(', ')']) {
        // `$p = Set-MpPreference …`: what an assignment runs.
        let statement = statement
            .trim_start()
            .strip_prefix('$')
            .and_then(|s| s.split_once('=').map(|(_, rest)| rest))
            .unwrap_or(statement);
        let words: Vec<String> = statement
            .split_whitespace()
            .map(|word| word.trim_matches(['\'', '"']).to_owned())
            .collect();
        let Some(first) = words.first() else { continue };
        let cmdlet = first.split_once('-').is_some_and(|(verb, noun)| {
            verb.len() > 1
                && !noun.is_empty()
                && verb.chars().all(|c| c.is_ascii_alphabetic())
                && noun.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if cmdlet && !first.eq_ignore_ascii_case("remove-item") {
            programs.extend(w.invoke(words, Extras::default(), depth, via));
        }
    }
    programs
}

/// The program that runs `language`, as rules name it.
fn interpreter(language: &str) -> &str {
    match language {
        "javascript" => "node",
        "powershell" => "pwsh",
        "applescript" => "osascript",
        "r" => "Rscript",
        other => other,
    }
}

/// String literals that look like paths are files the code touches.
fn paths(w: &mut Walker, language: &str, code: &str, via: &[String]) -> Vec<String> {
    let writes = WRITES.is_match(code);
    let mut extras = Extras::default();
    for m in LITERAL.find_iter(code) {
        let Some((text, _)) = literal(m.as_str()) else { continue };
        let looks = !text.is_empty()
            && text.len() < 512
            && !text.contains(['\n', ' ', '*', '{', '%', '$', '<', '>'])
            && !text.contains("://")
            && (text.contains('/') || text.starts_with(['.', '~']))
            && text != "."
            && text != "..";
        if looks {
            extras.files.push((Access::Read, text.clone()));
            if writes {
                extras.files.push((Access::Write, text));
            }
        }
    }
    if extras.files.is_empty() {
        return Vec::new();
    }
    w.emit(&[interpreter(language).to_owned()], &extras, via)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern builds (forcing each lazy regex; a bad one would panic here, not in use).
    #[test]
    fn patterns_build() {
        assert_eq!(SPAWN.len(), 9);
        for p in [
            &*RMTREE,
            &*UNLINK,
            &*PS_REMOVE,
            &*FETCH,
            &*EXECUTE,
            &*EVAL_CALL,
            &*SOCKET,
            &*SHELL_WIRING,
            &*FORK,
            &*LOOP,
            &*WRITES,
            &*LITERAL,
            &*BACKTICKS,
        ] {
            assert!(!p.as_str().is_empty());
        }
    }

    /// Literal arguments are read as what they say; built ones are dynamic.
    #[test]
    fn arguments() {
        assert_eq!(argument("(\"rm -rf ~\")", "python"), Arg::Shell("rm -rf ~".into()));
        assert_eq!(
            argument("(['rm', '-rf', '/'])", "python"),
            Arg::Argv(vec!["rm".into(), "-rf".into(), "/".into()])
        );
        assert_eq!(argument("(cmd)", "python"), Arg::Dynamic(None));
        assert_eq!(argument("(f'rm {x}')", "python"), Arg::Dynamic(None));
        assert_eq!(
            argument("('rm -rf ' + p)", "python"),
            Arg::Dynamic(Some("rm -rf ".into()))
        );
        assert_eq!(argument("('\\x72m -rf /')", "python"), Arg::Shell("rm -rf /".into()));
        assert_eq!(
            argument("\"rm\", \"-rf\", \"/\";", "perl"),
            Arg::Argv(vec!["rm".into(), "-rf".into(), "/".into()])
        );
        assert_eq!(
            argument("('rm', ['-rf', '/'])", "javascript"),
            Arg::Argv(vec!["rm".into(), "-rf".into(), "/".into()])
        );
    }
}
