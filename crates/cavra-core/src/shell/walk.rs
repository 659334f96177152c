//! The AST walker: turns brush-parser's program into [`SimpleCommand`]s, tracking `cd`,
//! pipelines and self-calling functions.
//!
//! Every walk function returns the programs it reached, so a pipeline can record what each
//! stage runs (`curl ... | sudo bash` is a `curl` stage feeding a `bash` stage).

use brush_parser::ParserOptions;
use brush_parser::ast::{
    self, Command, CommandPrefixOrSuffixItem, CompoundCommand, IoFileRedirectKind, IoFileRedirectTarget, IoRedirect,
};

use std::collections::HashSet;

use crate::hash::{FastMap, FastSet};

use super::words::{expand, expand_braces, substitutions_in};
use super::{Access, CommandLine, Construct, MAX_DEPTH, Stage};
use crate::path;

/// Work units one command line may cost (a word, a command, 32 bytes of script are one each);
/// past this the line is `too_complex` and analysis stops, so no input takes more than a few
/// milliseconds (issue 14's budget, proven by the `evaluate_budget` fuzz target).
pub(crate) const MAX_WORK: usize = 12_000;

/// Programs that turn unreadable text into readable text: a name or command they produce was
/// hidden from whoever reads the line.
const DECODERS: [&str; 14] = [
    "base64", "base32", "basenc", "xxd", "openssl", "rev", "tr", "gunzip", "zcat", "uudecode", "od", "printf",
    "python3", "perl",
];

/// What a file written earlier in the same line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Written {
    /// Text the line put there (`printf '...' > f`, `cat > f <<EOF`).
    Text(String),
    /// A download, by the program that fetched it (`curl -o f URL`).
    Download(String),
}

/// `NAME=value` pairs, in order.
pub(super) type Assignments = Vec<(String, String)>;

/// Words a shell would not treat specially: no quotes, expansions, operators, globs or comments.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b' ' | b'\t' | b'_' | b'.' | b'/' | b':' | b',' | b'@' | b'%' | b'+' | b'=' | b'-'
        )
}

/// Reserved words that start compound commands; a line starting with one needs the grammar.
const RESERVED: [&str; 14] = [
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "function", "time",
];

/// The fast path for the most common line, a single simple command of plain words: the grammar
/// would yield exactly these words, so the parser is skipped. Leading `NAME=value` assignments
/// come back apart, as the grammar would treat them. `None` when the full parser is needed.
pub(super) fn plain_words(text: &str) -> Option<(Assignments, Vec<String>)> {
    if !text.bytes().all(is_plain_byte) {
        return None;
    }
    let mut words = text.split_ascii_whitespace().peekable();
    let mut env = Vec::new();
    while let Some(w) = words.peek() {
        let assignment = w.split_once('=').filter(|(name, _)| {
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit()
        });
        let Some((name, value)) = assignment else {
            break;
        };
        env.push((name.to_owned(), value.to_owned()));
        words.next();
    }
    let argv: Vec<String> = words.map(str::to_owned).collect();
    match argv.first() {
        Some(first) if RESERVED.contains(&first.as_str()) => None,
        _ => Some((env, argv)),
    }
}

/// Whether `text` has `(` then blanks then `(`, or `)` then blanks then `)`: to bash, nested
/// subshells rather than `(( arithmetic ))`.
fn has_spaced_parens(text: &str) -> bool {
    [b'(', b')'].into_iter().any(|paren| {
        text.bytes().enumerate().filter(|(_, b)| *b == paren).any(|(i, _)| {
            let rest = text[i + 1..].trim_start_matches([' ', '\t', '\n']);
            rest.len() < text.len() - i - 1 && rest.as_bytes().first() == Some(&paren)
        })
    })
}

/// Whether a command substitution opens straight into `((`: `$( (( 1 )) )`.
fn has_nested_arithmetic(text: &str) -> bool {
    text.match_indices("$(")
        .any(|(i, _)| text[i + 2..].trim_start_matches([' ', '\t', '\n']).starts_with("(("))
}

/// How many here-document operators (`<<`, `<<-`, not `<<<`) the text has.
fn heredoc_operators(text: &str) -> usize {
    text.match_indices("<<")
        .filter(|(i, _)| text.as_bytes().get(i + 2) != Some(&b'<') && (*i == 0 || text.as_bytes()[i - 1] != b'<'))
        .count()
}

/// The operand words of a `[[ ... ]]` test.
fn test_words(expr: &ast::ExtendedTestExpr, out: &mut Vec<String>) {
    match expr {
        ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
            test_words(a, out);
            test_words(b, out);
        }
        ast::ExtendedTestExpr::Not(e) | ast::ExtendedTestExpr::Parenthesized(e) => test_words(e, out),
        ast::ExtendedTestExpr::UnaryTest(_, w) => out.push(w.value.clone()),
        ast::ExtendedTestExpr::BinaryTest(_, a, b) => {
            out.push(a.value.clone());
            out.push(b.value.clone());
        }
    }
}

/// Longest line handed to the grammar; longer ones are split plainly (and flagged).
const MAX_GRAMMAR_BYTES: usize = 16 * 1024;

/// Deepest `{`/`[` nesting handed to the grammar.
const MAX_NESTING: usize = 24;

/// Deepest `(` nesting handed to the grammar, whose backtracking time doubles with each level.
const MAX_PAREN_NESTING: usize = 12;

/// Checks that `text` is safe to hand to the grammar in bounded time: not too long, not nested
/// too deep, and every here-document delimiter an ordinary word (odd delimiters have sent the
/// tokenizer into an endless loop). The fallback split still analyses what is refused here.
fn fit_for_grammar(text: &str) -> Result<(), Construct> {
    if text.len() > MAX_GRAMMAR_BYTES {
        return Err(Construct::Unparseable);
    }
    // Each kind of bracket on its own: a `]` must not cancel an open `(`.
    let mut depth = [0usize; 3];
    let mut deepest = [0usize; 3];
    for b in text.bytes() {
        let (kind, open) = match b {
            b'(' => (0, true),
            b')' => (0, false),
            b'{' => (1, true),
            b'}' => (1, false),
            b'[' => (2, true),
            b']' => (2, false),
            _ => continue,
        };
        if open {
            depth[kind] += 1;
            deepest[kind] = deepest[kind].max(depth[kind]);
        } else {
            depth[kind] = depth[kind].saturating_sub(1);
        }
    }
    if deepest[0] > MAX_PAREN_NESTING || deepest[1] > MAX_NESTING || deepest[2] > MAX_NESTING {
        return Err(Construct::TooDeep);
    }
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(found) = text[at..].find("<<") {
        let mut i = at + found + 2;
        at = i;
        if bytes.get(i) == Some(&b'<') {
            at = i + 1;
            continue;
        }
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let quote = match bytes.get(i) {
            Some(q @ (b'\'' | b'"')) => {
                i += 1;
                Some(*q)
            }
            _ => None,
        };
        let start = i;
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            i += 1;
        }
        let closed = quote.is_none_or(|q| bytes.get(i) == Some(&q));
        let ends = quote.map_or(i, |_| i + 1);
        let boundary = bytes
            .get(ends)
            .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b';' | b'|' | b'&' | b')'));
        if i == start || !closed || !boundary {
            return Err(Construct::Unparseable);
        }
    }
    Ok(())
}

/// Whether `line` alone reads as shell, within the grammar's limits.
fn lines_parse(line: &str, options: &ParserOptions) -> bool {
    if fit_for_grammar(line).is_err() {
        return false;
    }
    std::panic::catch_unwind(|| {
        brush_parser::uncached_tokenize_str(line, &options.tokenizer_options())
            .ok()
            .and_then(|tokens| brush_parser::parse_tokens(&tokens, options).ok())
            .is_some()
    })
    .unwrap_or(false)
}

/// Walks one command line; see the module docs.
pub(crate) struct Walker {
    pub(super) options: ParserOptions,
    /// The working directory in force, moved by `cd`.
    pub(super) cwd: Option<String>,
    pub(super) out: CommandLine,
    /// Functions being defined, innermost last, with how often each body calls itself.
    functions: Vec<(String, usize)>,
    /// The script being walked has `( (` with a blank between: nested subshells, not arithmetic.
    spaced_parens: bool,
    /// Here-documents the grammar produced so far.
    heredocs_seen: usize,
    /// Variables assigned literal text earlier in the line (`X=rm; $X -rf /`).
    pub(super) vars: FastMap<String, String>,
    /// Aliases defined earlier in the line.
    pub(super) aliases: FastMap<String, String>,
    /// Files written earlier in the line, by resolved path.
    pub(super) written: FastMap<String, Written>,
    /// Words that were unquoted globs, which a program word must not be taken literally from.
    pub(super) glob_words: FastSet<String>,
    /// Commands already recorded (by [`super::SimpleCommand::key`]), so repeats are dropped in
    /// constant time.
    pub(super) seen: FastSet<u64>,
    /// `NAME=value` assignments given to the command being unwrapped (`env A=1 cmd`).
    pub(super) env: Vec<(String, String)>,
    /// Variables exported earlier in the line (`export RAILS_ENV=production; rails db:migrate`),
    /// which every later command inherits.
    pub(super) exported: Vec<(String, String)>,
    /// The command being unwrapped runs its standard input as code.
    pub(super) stdin_runs: bool,
    /// Where the wrappers being unwrapped act (`kubectl --context prod exec ...`), inherited by
    /// the commands they run.
    pub(super) outer_reaches: Vec<String>,
    /// Work units spent, against [`MAX_WORK`].
    work: usize,
    /// Variables whose value a decoder produced (`x=$(echo ... | base64 -d)`): any word that uses
    /// one names something nobody can read beforehand.
    pub(super) hidden_vars: FastSet<String>,
    /// What the `find` just run prints, as a path pattern (`src/**/__pycache__` for `find src
    /// -name __pycache__`), when it has one plain `-name` filter and runs nothing itself.
    pub(super) find_prints: Vec<String>,
    /// What the previous stage of the pipeline being walked prints, as above: the names `xargs`
    /// appends to its command (`find . -name __pycache__ | xargs rm -rf`).
    pub(super) piped_paths: Vec<String>,
    /// Functions defined so far, with what each calls and whether it calls it concurrently.
    calls: FastMap<String, Vec<(String, bool)>>,
    /// Tests only: skip the plain-word fast path.
    #[cfg(test)]
    pub(super) force_grammar: bool,
}

/// What one simple command brings besides its words.
#[derive(Debug, Clone, Default)]
pub(super) struct Extras {
    /// `NAME=value` assignments before the program.
    pub env: Vec<(String, String)>,
    /// Files named by redirections.
    pub files: Vec<(Access, String)>,
    /// A here-document or here-string: the command's standard input, as text.
    pub stdin: Option<String>,
    /// Programs of substitutions in the command's words, which feed it text.
    pub fed: Vec<String>,
}

impl Walker {
    pub(crate) fn new(cwd: Option<&str>) -> Walker {
        Walker {
            options: ParserOptions::default(),
            cwd: cwd.map(path::lexical),
            out: CommandLine::default(),
            functions: Vec::new(),
            spaced_parens: false,
            heredocs_seen: 0,
            vars: Default::default(),
            aliases: Default::default(),
            written: Default::default(),
            glob_words: Default::default(),
            seen: Default::default(),
            env: Vec::new(),
            exported: Vec::new(),
            stdin_runs: false,
            work: 0,
            calls: Default::default(),
            hidden_vars: Default::default(),
            find_prints: Vec::new(),
            piped_paths: Vec::new(),
            outer_reaches: Vec::new(),
            #[cfg(test)]
            force_grammar: false,
        }
    }

    pub(crate) fn run(mut self, line: &str) -> CommandLine {
        self.script(line, 0, &[]);
        if self.recursive_spawn() {
            self.construct(Construct::ForkBomb);
        }
        self.out
    }

    /// Spends `units` of the line's budget; `false` (and the `too_complex` construct) once it
    /// is exhausted.
    pub(super) fn spend(&mut self, units: usize) -> bool {
        self.work = self.work.saturating_add(units);
        if self.work > MAX_WORK {
            self.construct(Construct::TooComplex);
            return false;
        }
        true
    }

    /// Functions that call each other in a cycle with at least one concurrent call
    /// (`a(){ b|b& }; b(){ a|a& }; a`): a fork bomb spread over several names.
    fn recursive_spawn(&self) -> bool {
        self.calls.keys().any(|start| {
            // Depth-first over calls, remembering whether a concurrent edge was taken.
            let mut stack = vec![(start.as_str(), false)];
            let mut visited: HashSet<(&str, bool)> = HashSet::new();
            while let Some((f, concurrent)) = stack.pop() {
                if !visited.insert((f, concurrent)) {
                    continue;
                }
                for (callee, c) in self.calls.get(f).into_iter().flatten() {
                    let concurrent = concurrent || *c;
                    if callee == start && concurrent {
                        return true;
                    }
                    if self.calls.contains_key(callee) {
                        stack.push((callee.as_str(), concurrent));
                    }
                }
            }
            false
        })
    }

    pub(super) fn construct(&mut self, c: Construct) {
        if !self.out.constructs.contains(&c) {
            self.out.constructs.push(c);
        }
    }

    /// Parses and walks `text` as a shell script.
    pub(super) fn script(&mut self, text: &str, depth: usize, via: &[String]) -> Vec<String> {
        if depth > MAX_DEPTH {
            self.construct(Construct::TooDeep);
            return Vec::new();
        }
        if !self.spend(text.len() / 32 + 1) {
            return Vec::new();
        }
        #[cfg(test)]
        let fast = !self.force_grammar;
        #[cfg(not(test))]
        let fast = true;
        if let Some((env, argv)) = plain_words(text).filter(|_| fast) {
            if argv.is_empty() {
                for (name, value) in env {
                    self.vars.insert(name, value);
                }
                return Vec::new();
            }
            for (name, _) in &env {
                self.vars.remove(name);
            }
            let extras = Extras {
                env,
                ..Extras::default()
            };
            return self.invoke(argv, extras, depth, via);
        }
        if let Err(why) = fit_for_grammar(text) {
            self.construct(why);
            return self.fallback(text, depth, via);
        }
        let options = &self.options;
        // The grammar is a dependency: a panic inside it must not take evaluation down.
        let parsed = std::panic::catch_unwind(|| {
            brush_parser::uncached_tokenize_str(text, &options.tokenizer_options())
                .ok()
                .and_then(|tokens| brush_parser::parse_tokens(&tokens, options).ok())
        });
        match parsed {
            Ok(Some(program)) => {
                let outer = self.spaced_parens;
                self.spaced_parens = has_spaced_parens(text);
                let heredocs_before = self.heredocs_seen;
                let mut programs = Vec::new();
                for complete in &program.complete_commands {
                    programs.extend(self.compound_list(complete, depth, via));
                }
                self.spaced_parens = outer;
                // The grammar has been seen to lose a here-document (after `$( (( ... )) )`); if
                // it found fewer than the text has, or the text has that shape, the line is also
                // read plainly, line by line.
                let operators = heredoc_operators(text);
                if self.heredocs_seen - heredocs_before < operators || (operators > 0 && has_nested_arithmetic(text)) {
                    self.construct(Construct::Unparseable);
                    programs.extend(self.fallback(text, depth, via));
                }
                programs
            }
            Ok(None) | Err(_) => {
                self.construct(Construct::Unparseable);
                self.fallback(text, depth, via)
            }
        }
    }

    /// A text the grammar rejects as a whole is read line by line, the way bash runs it: every
    /// line the grammar accepts is walked with every check (pipelines, functions, wrappers);
    /// a line it rejects is split on operators and blanks, quotes dropped, its pipes kept as
    /// pipelines. The caller has already flagged the text, so the line needs approval at least.
    fn fallback(&mut self, text: &str, depth: usize, via: &[String]) -> Vec<String> {
        let mut programs = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for line in lines {
            if line.trim().is_empty() {
                continue;
            }
            if lines_parse(line, &self.options) && line.len() < text.len() {
                programs.extend(self.script(line, depth, via));
                continue;
            }
            for segment in line.split([';', '&', '\n', '(', ')', '`', '{', '}']) {
                let mut stages = Vec::new();
                let mut fed_programs = Vec::new();
                for stage in segment.split('|') {
                    let mut argv: Vec<String> = stage
                        .split_whitespace()
                        .map(|w| w.chars().filter(|c| !matches!(c, '\'' | '"' | '\\')).collect())
                        .filter(|w: &String| !w.is_empty())
                        .collect();
                    // `do rm -rf ~`, `then curl ... `: reserved words lead into the command.
                    let lead = argv
                        .iter()
                        .take_while(|w| RESERVED.contains(&w.as_str()) || matches!(w.as_str(), "!" | "{" | "}"))
                        .count();
                    argv.drain(..lead);
                    let start = self.out.commands.len();
                    let reached = self.invoke(argv, Extras::default(), depth, via);
                    let runs_input = self.out.commands[start..].iter().any(|c| c.runs_stdin);
                    fed_programs.extend(reached.iter().cloned());
                    stages.push(Stage {
                        programs: reached,
                        runs_input,
                    });
                }
                if stages.len() > 1 {
                    self.out.pipelines.push(stages);
                }
                programs.extend(fed_programs);
            }
        }
        programs
    }

    fn compound_list(&mut self, list: &ast::CompoundList, depth: usize, via: &[String]) -> Vec<String> {
        let mut programs = Vec::new();
        for ast::CompoundListItem(and_or, separator) in &list.0 {
            let background = matches!(separator, ast::SeparatorOperator::Async);
            programs.extend(self.pipeline(&and_or.first, background, depth, via));
            for next in &and_or.additional {
                let (ast::AndOr::And(p) | ast::AndOr::Or(p)) = next;
                programs.extend(self.pipeline(p, background, depth, via));
            }
        }
        programs
    }

    fn pipeline(&mut self, p: &ast::Pipeline, background: bool, depth: usize, via: &[String]) -> Vec<String> {
        let concurrent = background || p.seq.len() > 1;
        let mut stages: Vec<Stage> = Vec::with_capacity(p.seq.len());
        // Commands each stage added, to see what it runs and what it prints.
        let mut ranges = Vec::with_capacity(p.seq.len());
        let mut printed: Vec<String> = Vec::new();
        for cmd in &p.seq {
            let start = self.out.commands.len();
            self.piped_paths = std::mem::take(&mut printed);
            self.find_prints.clear();
            let programs = self.command(cmd, concurrent, depth, via);
            printed = std::mem::take(&mut self.find_prints);
            self.piped_paths.clear();
            let end = self.out.commands.len();
            let runs_input = self.out.commands[start..end].iter().any(|c| c.runs_stdin);
            ranges.push(start..end);
            stages.push(Stage { programs, runs_input });
        }
        if stages.len() > 1 {
            self.literal_scripts(&stages, &ranges, depth, via);
            self.out.pipelines.push(stages.clone());
        }
        stages.into_iter().flat_map(|s| s.programs).collect()
    }

    /// `echo 'rm -rf /' | sh`: text printed into a stage that runs its input is analysed as the
    /// script it is.
    fn literal_scripts(&mut self, stages: &[Stage], ranges: &[std::ops::Range<usize>], depth: usize, via: &[String]) {
        for i in 1..stages.len() {
            if !stages[i].runs_input {
                continue;
            }
            let printed: Vec<String> = self.out.commands[ranges[i - 1].clone()]
                .iter()
                .filter(|c| c.program == "echo" || c.program == "printf")
                .map(|c| c.positionals.join(" ").replace("\\n", "\n"))
                .collect();
            self.sql_fed(&printed, ranges[i].clone());
            for script in printed {
                let mut via = via.to_vec();
                via.push("echo | sh".to_owned());
                self.script(&script, depth + 1, &via);
            }
        }
    }

    /// `echo 'TRUNCATE t' | fly postgres connect`, `cat patch.sql | psql`: a database console fed
    /// by a pipe does what the SQL printed into it does — and a script it cannot read (a file, a
    /// download) at least changes the database.
    fn sql_fed(&mut self, printed: &[String], consumers: std::ops::Range<usize>) {
        for c in &mut self.out.commands[consumers] {
            if !c.runs_stdin {
                continue;
            }
            let parsed = super::flags::parse_args(&c.program, &c.args);
            let Some(code) = parsed.chain.iter().rev().find_map(|s| s.code.as_ref()) else {
                continue;
            };
            if code.language != "sql" {
                continue;
            }
            let found = if printed.is_empty() {
                Some(super::model::Effect::Mutate)
            } else {
                printed.iter().filter_map(|t| super::place::sql(t)).max()
            };
            c.effect = c.effect.max(found);
            if c.input.is_none() && !printed.is_empty() {
                c.input = Some(printed.join("\n"));
            }
        }
    }

    fn command(&mut self, cmd: &Command, concurrent: bool, depth: usize, via: &[String]) -> Vec<String> {
        match cmd {
            Command::Simple(simple) => {
                let programs = self.simple(simple, depth, via);
                self.note_self_calls(&programs, concurrent);
                programs
            }
            Command::Compound(compound, redirects) => {
                let mut programs = self.compound(compound, depth, via);
                if let Some(list) = redirects {
                    let mut extras = Extras::default();
                    for r in &list.0 {
                        programs.extend(self.redirect(r, &mut extras, depth, via));
                    }
                    if !extras.files.is_empty() {
                        programs.extend(self.invoke(vec![":".to_owned()], extras, depth, via));
                    }
                }
                programs
            }
            Command::Function(def) => {
                self.functions.push((def.fname.value.clone(), 0));
                self.compound(&def.body.0, depth, via);
                if let Some((_, self_calls)) = self.functions.pop()
                    && self_calls >= 2
                {
                    self.construct(Construct::ForkBomb);
                }
                Vec::new()
            }
            Command::ExtendedTest(test, _) => {
                let mut raw = Vec::new();
                test_words(&test.expr, &mut raw);
                raw.iter()
                    .flat_map(|w| self.word_substitutions(w, depth, via))
                    .collect()
            }
        }
    }

    /// Counts calls of the function being defined; a self-call in a pipeline or in the
    /// background counts double, since one is enough to multiply processes.
    fn note_self_calls(&mut self, programs: &[String], concurrent: bool) {
        if let Some((name, calls)) = self.functions.last_mut() {
            let n = programs.iter().filter(|p| *p == name).count();
            *calls += if concurrent { 2 * n } else { n };
            let edges = self.calls.entry(name.clone()).or_default();
            for p in programs {
                if edges.len() < 64 && !edges.iter().any(|(q, c)| q == p && *c == concurrent) {
                    edges.push((p.clone(), concurrent));
                }
            }
        }
    }

    fn compound(&mut self, cc: &CompoundCommand, depth: usize, via: &[String]) -> Vec<String> {
        match cc {
            CompoundCommand::BraceGroup(g) => self.compound_list(&g.list, depth, via),
            CompoundCommand::Subshell(s) => {
                let saved = self.cwd.clone();
                let programs = self.compound_list(&s.list, depth, via);
                self.cwd = saved;
                programs
            }
            CompoundCommand::ForClause(f) => {
                let mut programs = Vec::new();
                let mut values = Vec::new();
                for w in f.values.iter().flatten() {
                    programs.extend(self.word_substitutions(&w.value, depth, via));
                    let mut extras = Extras::default();
                    self.word(&w.value, &mut values, &mut extras, depth, via);
                }
                // `for h in db-prod-{1..3}; do ssh $h ...`: the loop variable stands for its
                // values (all of them, as one word: where the body acts).
                if !values.is_empty() {
                    self.vars.insert(f.variable_name.clone(), values.join(" "));
                }
                programs.extend(self.compound_list(&f.body.list, depth, via));
                programs
            }
            CompoundCommand::ArithmeticForClause(f) => {
                let mut programs = Vec::new();
                for e in [&f.initializer, &f.condition, &f.updater].into_iter().flatten() {
                    programs.extend(self.text_substitutions(&e.value, depth, via));
                }
                programs.extend(self.compound_list(&f.body.list, depth, via));
                programs
            }
            CompoundCommand::CaseClause(c) => {
                let mut programs = self.word_substitutions(&c.value.value, depth, via);
                for item in &c.cases {
                    // bash expands case patterns too.
                    for pattern in &item.patterns {
                        programs.extend(self.word_substitutions(&pattern.value, depth, via));
                    }
                    if let Some(list) = &item.cmd {
                        programs.extend(self.compound_list(list, depth, via));
                    }
                }
                programs
            }
            CompoundCommand::IfClause(i) => {
                let mut programs = self.compound_list(&i.condition, depth, via);
                programs.extend(self.compound_list(&i.then, depth, via));
                for e in i.elses.iter().flatten() {
                    if let Some(cond) = &e.condition {
                        programs.extend(self.compound_list(cond, depth, via));
                    }
                    programs.extend(self.compound_list(&e.body, depth, via));
                }
                programs
            }
            CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
                let mut programs = self.compound_list(&w.0, depth, via);
                programs.extend(self.compound_list(&w.1.list, depth, via));
                programs
            }
            CompoundCommand::Coprocess(c) => self.command(&c.body, true, depth, via),
            CompoundCommand::Arithmetic(a) => {
                let mut programs = self.text_substitutions(&a.expr.value, depth, via);
                // `( ( rm -rf / ) )` is two subshells to bash, but the grammar reads it as
                // `(( ... ))`; when the line spells parentheses apart, the inside is analysed as
                // the commands it would be.
                if self.spaced_parens {
                    programs.extend(self.script(&a.expr.value, depth + 1, via));
                }
                programs
            }
        }
    }

    /// Walks the command substitutions inside raw text that is not a word (arithmetic).
    fn text_substitutions(&mut self, text: &str, depth: usize, via: &[String]) -> Vec<String> {
        let subs = substitutions_in(text, &self.options);
        subs.iter().flat_map(|sub| self.script(sub, depth + 1, via)).collect()
    }

    /// Walks the command substitutions inside one raw word; returns their programs.
    fn word_substitutions(&mut self, raw: &str, depth: usize, via: &[String]) -> Vec<String> {
        let expanded = expand(raw, &self.options);
        let mut programs = Vec::new();
        for sub in expanded.substitutions {
            programs.extend(self.script(&sub, depth + 1, via));
        }
        programs
    }

    /// Expands one word: its text goes to `argv` (variables this line assigned substituted,
    /// unquoted braces expanded), its substitutions are walked.
    fn word(&mut self, raw: &str, argv: &mut Vec<String>, extras: &mut Extras, depth: usize, via: &[String]) {
        let expanded = expand(raw, &self.options);
        for sub in &expanded.substitutions {
            let programs = self.script(sub, depth + 1, via);
            extras.fed.extend(programs);
        }
        let text = self.substitute(&expanded.text);
        if expanded.unquoted_glob {
            self.glob_words.insert(text.clone());
        }
        if expanded.unquoted_braces
            && let Some(words) = expand_braces(&text)
        {
            argv.extend(words);
            return;
        }
        argv.push(text);
    }

    /// Whether `text` uses a variable a decoder produced.
    pub(super) fn uses_hidden(&self, text: &str) -> bool {
        !self.hidden_vars.is_empty()
            && text.contains('$')
            && self
                .hidden_vars
                .iter()
                .any(|v| text.contains(&format!("${v}")) || text.contains(&format!("${{{v}")))
    }

    /// `$NAME` replaced by what this line assigned to NAME, when it assigned literal text.
    fn substitute(&self, text: &str) -> String {
        if self.vars.is_empty() || !text.contains('$') {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            match self.vars.get(&after[..len]).filter(|_| len > 0) {
                Some(value) => out.push_str(value),
                None => {
                    out.push('$');
                    out.push_str(&after[..len]);
                }
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }

    /// Records `NAME=value` as this line's value of NAME; literal text that holds a command
    /// substitution is analysed as the command it may become (arithmetic and indirect
    /// expansion, `eval`, `printf -v` all turn such data into code).
    pub(super) fn assign(&mut self, name: &str, value: &str, depth: usize, via: &[String]) {
        if value.contains("$(") || value.contains('`') {
            let mut via = via.to_vec();
            via.push(format!("value of {name}"));
            for sub in substitutions_in(value, &self.options) {
                self.script(&sub, depth + 1, &via);
            }
            if value.contains('`') && !value.contains("$(") {
                let inner: String = value.split('`').skip(1).step_by(2).collect::<Vec<_>>().join(";");
                self.script(&inner, depth + 1, &via);
            }
        }
        self.vars.insert(name.to_owned(), value.to_owned());
    }

    fn redirect(&mut self, r: &IoRedirect, extras: &mut Extras, depth: usize, via: &[String]) -> Vec<String> {
        match r {
            IoRedirect::File(_, kind, target) => match target {
                IoFileRedirectTarget::Filename(w) => {
                    let mut argv = Vec::new();
                    self.word(&w.value, &mut argv, extras, depth, via);
                    // `>& file` (not a descriptor number) sends both outputs to the file.
                    let names_file = argv
                        .last()
                        .is_some_and(|w| !w.is_empty() && w != "-" && !w.bytes().all(|b| b.is_ascii_digit()));
                    let access = match kind {
                        IoFileRedirectKind::Read => Some(Access::Read),
                        IoFileRedirectKind::Write
                        | IoFileRedirectKind::Append
                        | IoFileRedirectKind::Clobber
                        | IoFileRedirectKind::ReadAndWrite => Some(Access::Write),
                        IoFileRedirectKind::DuplicateOutput if names_file => Some(Access::Write),
                        IoFileRedirectKind::DuplicateInput if names_file => Some(Access::Read),
                        IoFileRedirectKind::DuplicateInput | IoFileRedirectKind::DuplicateOutput => None,
                    };
                    if let (Some(access), Some(file)) = (access, argv.pop()) {
                        extras.files.push((access, file));
                    }
                    Vec::new()
                }
                IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                    let programs = self.compound_list(&sub.list, depth + 1, via);
                    extras.fed.extend(programs.iter().cloned());
                    programs
                }
                IoFileRedirectTarget::Duplicate(w) => {
                    // `>& /dev/tcp/h/p`: a word that is not a descriptor is a file for both
                    // outputs (or the input, for `<&`).
                    let mut argv = Vec::new();
                    self.word(&w.value, &mut argv, extras, depth, via);
                    if let Some(file) = argv
                        .pop()
                        .filter(|f| !f.is_empty() && f != "-" && !f.bytes().all(|b| b.is_ascii_digit()))
                    {
                        let access = if matches!(kind, IoFileRedirectKind::DuplicateInput) {
                            Access::Read
                        } else {
                            Access::Write
                        };
                        extras.files.push((access, file));
                    }
                    Vec::new()
                }
                IoFileRedirectTarget::Fd(_) => Vec::new(),
            },
            IoRedirect::HereDocument(_, doc) => {
                self.heredocs_seen += 1;
                extras.stdin = Some(doc.doc.value.clone());
                // An unquoted delimiter means the body is expanded: its substitutions run.
                if doc.requires_expansion {
                    self.text_substitutions(&doc.doc.value, depth, via)
                } else {
                    Vec::new()
                }
            }
            IoRedirect::HereString(_, w) => {
                let mut argv = Vec::new();
                self.word(&w.value, &mut argv, extras, depth, via);
                extras.stdin = argv.pop();
                Vec::new()
            }
            IoRedirect::OutputAndError(w, _) => {
                let mut argv = Vec::new();
                self.word(&w.value, &mut argv, extras, depth, via);
                if let Some(file) = argv.pop() {
                    extras.files.push((Access::Write, file));
                }
                Vec::new()
            }
        }
    }

    fn simple(&mut self, sc: &ast::SimpleCommand, depth: usize, via: &[String]) -> Vec<String> {
        let mut argv = Vec::new();
        let mut extras = Extras::default();
        let mut programs = Vec::new();
        let items = sc.prefix.iter().flat_map(|p| p.0.iter());
        let names: Vec<CommandPrefixOrSuffixItem> = sc
            .word_or_name
            .iter()
            .cloned()
            .map(CommandPrefixOrSuffixItem::Word)
            .collect();
        let suffix = sc.suffix.iter().flat_map(|s| s.0.iter());
        for item in items.chain(names.iter()).chain(suffix) {
            match item {
                CommandPrefixOrSuffixItem::Word(w) => {
                    self.word(&w.value, &mut argv, &mut extras, depth, via);
                }
                CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
                    // `A=$(cmd) prog` runs cmd; after the program name it is an argument.
                    let mut scratch = Vec::new();
                    let fed_before = extras.fed.len();
                    self.word(&w.value, &mut scratch, &mut extras, depth, via);
                    if argv.is_empty()
                        && extras.fed[fed_before..].iter().any(|p| DECODERS.contains(&p.as_str()))
                        && let Some((name, _)) = w.value.split_once('=')
                    {
                        self.hidden_vars.insert(name.trim_end_matches('+').to_owned());
                    }
                    if !argv.is_empty() {
                        argv.extend(scratch);
                    } else if let Some((name, value)) = scratch.concat().split_once('=') {
                        let name = name.trim_end_matches('+').to_owned();
                        let raw_value = w.value.split_once('=').map_or("", |(_, v)| v);
                        // Single-quoted `$(...)` stays text in the expansion; look at the raw too.
                        if raw_value.contains("$(") || raw_value.contains('`') {
                            self.assign(&name, raw_value.trim_matches(['\'', '"']), depth, via);
                            self.vars.insert(name.clone(), value.to_owned());
                        } else {
                            self.vars.insert(name.clone(), value.to_owned());
                        }
                        if extras.fed.len() > fed_before {
                            // Assigned what a command printed: the value is not known here.
                            self.vars.remove(&name);
                        }
                        if name == "IFS" && sc.word_or_name.is_none() {
                            // Word splitting changed: how later words split is not what they read.
                            self.construct(Construct::DynamicProgram);
                        }
                        extras.env.push((name, value.to_owned()));
                    }
                }
                CommandPrefixOrSuffixItem::IoRedirect(r) => {
                    programs.extend(self.redirect(r, &mut extras, depth, via));
                }
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
                    let start = self.out.commands.len();
                    let fed = self.compound_list(&sub.list, depth + 1, via);
                    // `. <(echo 'cmd')`, `bash <(printf 'cmd')`: text printed into a file that is
                    // then run as a script is that script.
                    let printed: Vec<String> = self.out.commands[start..]
                        .iter()
                        .filter(|c| c.program == "echo" || c.program == "printf")
                        .map(|c| c.positionals.join(" ").replace("\\n", "\n"))
                        .collect();
                    if !printed.is_empty() {
                        self.written
                            .insert("/dev/fd/63".to_owned(), Written::Text(printed.join("\n")));
                    }
                    extras.fed.extend(fed.iter().cloned());
                    programs.extend(fed);
                    argv.push("/dev/fd/63".to_owned());
                }
            }
        }
        // Substitutions run as their own commands; `programs` so far holds theirs.
        programs.extend(extras.fed.iter().cloned());
        if argv.is_empty() {
            if extras.files.is_empty() {
                return programs;
            }
            argv.push(":".to_owned());
        } else {
            // Assignments before a program are its environment, not this line's variables.
            for (name, _) in &extras.env {
                self.vars.remove(name);
            }
        }
        programs.extend(self.invoke(argv, extras, depth, via));
        programs
    }
}
