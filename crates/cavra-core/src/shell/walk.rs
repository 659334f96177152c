//! The AST walker: turns brush-parser's program into [`SimpleCommand`]s, tracking `cd`,
//! pipelines and self-calling functions.
//!
//! Every walk function returns the programs it reached, so a pipeline can record what each
//! stage runs (`curl ... | sudo bash` is a `curl` stage feeding a `bash` stage).

use brush_parser::ParserOptions;
use brush_parser::ast::{
    self, Command, CommandPrefixOrSuffixItem, CompoundCommand, IoFileRedirectKind, IoFileRedirectTarget, IoRedirect,
};

use super::words::expand;
use super::{Access, CommandLine, Construct, MAX_DEPTH, Stage, reads_code_from_stdin};
use crate::path;

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
/// are dropped as the grammar would treat them. `None` when the full parser is needed.
pub(super) fn plain_words(text: &str) -> Option<Vec<String>> {
    if !text.bytes().all(is_plain_byte) {
        return None;
    }
    let mut words = text.split_ascii_whitespace().peekable();
    while let Some(w) = words.peek() {
        let is_assignment = w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit()
        });
        if !is_assignment {
            break;
        }
        words.next();
    }
    let argv: Vec<String> = words.map(str::to_owned).collect();
    match argv.first() {
        Some(first) if RESERVED.contains(&first.as_str()) => None,
        _ => Some(argv),
    }
}

/// Walks one command line; see the module docs.
pub(crate) struct Walker {
    pub(super) options: ParserOptions,
    /// The working directory in force, moved by `cd`.
    pub(super) cwd: Option<String>,
    pub(super) out: CommandLine,
    /// Functions being defined, innermost last, with how often each body calls itself.
    functions: Vec<(String, usize)>,
    /// Tests only: skip the plain-word fast path.
    #[cfg(test)]
    pub(super) force_grammar: bool,
}

/// What one simple command brings besides its words.
#[derive(Default)]
pub(super) struct Extras {
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
            #[cfg(test)]
            force_grammar: false,
        }
    }

    pub(crate) fn run(mut self, line: &str) -> CommandLine {
        self.script(line, 0, &[]);
        self.out
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
        #[cfg(test)]
        let fast = !self.force_grammar;
        #[cfg(not(test))]
        let fast = true;
        if let Some(argv) = plain_words(text).filter(|_| fast) {
            return self.invoke(argv, Extras::default(), depth, via);
        }
        let parsed = brush_parser::uncached_tokenize_str(text, &self.options.tokenizer_options())
            .map_err(|_| ())
            .and_then(|tokens| brush_parser::parse_tokens(&tokens, &self.options).map_err(|_| ()));
        match parsed {
            Ok(program) => {
                let mut programs = Vec::new();
                for complete in &program.complete_commands {
                    programs.extend(self.compound_list(complete, depth, via));
                }
                programs
            }
            Err(()) => {
                self.construct(Construct::Unparseable);
                self.fallback(text, depth, via)
            }
        }
    }

    /// A line the grammar rejects is still split on operators and blanks, quotes dropped.
    fn fallback(&mut self, text: &str, depth: usize, via: &[String]) -> Vec<String> {
        let mut programs = Vec::new();
        for segment in text.split([';', '&', '|', '\n', '(', ')', '`']) {
            let argv: Vec<String> = segment
                .split_whitespace()
                .map(|w| w.chars().filter(|c| !matches!(c, '\'' | '"' | '\\')).collect())
                .filter(|w: &String| !w.is_empty())
                .collect();
            programs.extend(self.invoke(argv, Extras::default(), depth, via));
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
        for cmd in &p.seq {
            let start = self.out.commands.len();
            let programs = self.command(cmd, concurrent, depth, via);
            let end = self.out.commands.len();
            let runs_input = self.out.commands[start..end].iter().any(reads_code_from_stdin);
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
            for script in printed {
                let mut via = via.to_vec();
                via.push("echo | sh".to_owned());
                self.script(&script, depth + 1, &via);
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
            Command::ExtendedTest(..) => Vec::new(),
        }
    }

    /// Counts calls of the function being defined; a self-call in a pipeline or in the
    /// background counts double, since one is enough to multiply processes.
    fn note_self_calls(&mut self, programs: &[String], concurrent: bool) {
        if let Some((name, calls)) = self.functions.last_mut() {
            let n = programs.iter().filter(|p| *p == name).count();
            *calls += if concurrent { 2 * n } else { n };
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
                for w in f.values.iter().flatten() {
                    programs.extend(self.word_substitutions(&w.value, depth, via));
                }
                programs.extend(self.compound_list(&f.body.list, depth, via));
                programs
            }
            CompoundCommand::ArithmeticForClause(f) => self.compound_list(&f.body.list, depth, via),
            CompoundCommand::CaseClause(c) => {
                let mut programs = self.word_substitutions(&c.value.value, depth, via);
                for item in &c.cases {
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
            CompoundCommand::Arithmetic(_) => Vec::new(),
        }
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

    /// Expands one word: its text goes to `argv`, its substitutions are walked.
    fn word(&mut self, raw: &str, argv: &mut Vec<String>, extras: &mut Extras, depth: usize, via: &[String]) {
        let expanded = expand(raw, &self.options);
        for sub in &expanded.substitutions {
            let programs = self.script(sub, depth + 1, via);
            extras.fed.extend(programs);
        }
        argv.push(expanded.text);
    }

    fn redirect(&mut self, r: &IoRedirect, extras: &mut Extras, depth: usize, via: &[String]) -> Vec<String> {
        match r {
            IoRedirect::File(_, kind, target) => match target {
                IoFileRedirectTarget::Filename(w) => {
                    let mut argv = Vec::new();
                    self.word(&w.value, &mut argv, extras, depth, via);
                    let access = match kind {
                        IoFileRedirectKind::Read => Some(Access::Read),
                        IoFileRedirectKind::Write
                        | IoFileRedirectKind::Append
                        | IoFileRedirectKind::Clobber
                        | IoFileRedirectKind::ReadAndWrite => Some(Access::Write),
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
                IoFileRedirectTarget::Fd(_) | IoFileRedirectTarget::Duplicate(_) => Vec::new(),
            },
            IoRedirect::HereDocument(_, doc) => {
                extras.stdin = Some(doc.doc.value.clone());
                Vec::new()
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
                    self.word(&w.value, &mut scratch, &mut extras, depth, via);
                    if !argv.is_empty() {
                        argv.extend(scratch);
                    }
                }
                CommandPrefixOrSuffixItem::IoRedirect(r) => {
                    programs.extend(self.redirect(r, &mut extras, depth, via));
                }
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
                    let fed = self.compound_list(&sub.list, depth + 1, via);
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
        }
        programs.extend(self.invoke(argv, extras, depth, via));
        programs
    }
}
