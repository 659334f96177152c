//! Quote removal for one shell word, and the command substitutions hidden inside it.
//!
//! Parameter expansions cannot be resolved without an environment, so they become their own
//! canonical text (`${HOME}` and `"$HOME"` are both `$HOME`), which rules can name.

use brush_parser::ParserOptions;
use brush_parser::word::{self, Parameter, ParameterExpr, TildeExpr, WordPiece};

/// A word after quote removal.
#[derive(Debug, Default)]
pub(crate) struct Expanded {
    /// The text the word stands for, as far as it can be known.
    pub text: String,
    /// Command substitutions inside the word (`$(...)`, backticks), to analyse as commands.
    pub substitutions: Vec<String>,
    /// Unquoted `*`, `?` or `[`: the shell would expand the word as a pattern.
    pub unquoted_glob: bool,
    /// Unquoted `{a,b}`: the shell would expand the word into several.
    pub unquoted_braces: bool,
}

/// Whether unquoted text would be expanded as a pattern, or by braces.
fn note_unquoted(t: &str, out: &mut Expanded) {
    out.unquoted_glob |= t.contains(['*', '?', '[']);
    out.unquoted_braces |= t.contains('{') && t.contains('}') && (t.contains(',') || t.contains(".."));
}

/// Most words one brace expansion may produce; a longer one is left as written.
const MAX_BRACE_WORDS: usize = 64;

/// Bash's brace expansion of one word (`{rm,-rf,~}` is three words, `a{b,c}d` two), or `None`
/// when the word has no brace group or would expand past [`MAX_BRACE_WORDS`].
pub(crate) fn expand_braces(word: &str) -> Option<Vec<String>> {
    let mut done = Vec::new();
    let mut todo = vec![word.to_owned()];
    let mut expanded = false;
    while let Some(w) = todo.pop() {
        match first_brace_group(&w) {
            Some((start, end, alternatives)) => {
                expanded = true;
                for alternative in alternatives.iter().rev() {
                    todo.push(format!("{}{alternative}{}", &w[..start], &w[end..]));
                }
                if todo.len() + done.len() > MAX_BRACE_WORDS {
                    return None;
                }
            }
            None => done.push(w),
        }
    }
    (expanded && !done.is_empty()).then_some(done)
}

/// The first `{a,b}` group (or `{1..3}` sequence) in `w`: its byte range and alternatives.
fn first_brace_group(w: &str) -> Option<(usize, usize, Vec<String>)> {
    let bytes = w.as_bytes();
    for start in memchr::memchr_iter(b'{', bytes) {
        let mut depth = 0usize;
        let mut from = start + 1;
        let mut alternatives = Vec::new();
        for (i, &b) in bytes.iter().enumerate().skip(start + 1) {
            match b {
                b'{' => depth += 1,
                b'}' if depth > 0 => depth -= 1,
                b'}' => {
                    alternatives.push(w[from..i].to_owned());
                    if alternatives.len() > 1 {
                        return Some((start, i + 1, alternatives));
                    }
                    if let Some((a, b)) = w[start + 1..i].split_once("..")
                        && let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>())
                        && (a - b).abs() < MAX_BRACE_WORDS as i64
                    {
                        let seq: Vec<String> = if a <= b {
                            (a..=b).map(|n| n.to_string()).collect()
                        } else {
                            (b..=a).rev().map(|n| n.to_string()).collect()
                        };
                        return Some((start, i + 1, seq));
                    }
                    break;
                }
                b',' if depth == 0 => {
                    alternatives.push(w[from..i].to_owned());
                    from = i + 1;
                }
                _ => {}
            }
        }
    }
    None
}

/// Characters after which a word needs the full word parser.
fn is_plain(raw: &str) -> bool {
    !raw.bytes()
        .any(|b| matches!(b, b'\'' | b'"' | b'\\' | b'$' | b'`' | b'~'))
}

/// Removes quotes from `raw` and collects its command substitutions.
pub(crate) fn expand(raw: &str, options: &ParserOptions) -> Expanded {
    if is_plain(raw) {
        let mut out = Expanded {
            text: raw.to_owned(),
            ..Expanded::default()
        };
        note_unquoted(raw, &mut out);
        return out;
    }
    let mut out = Expanded::default();
    // The word parser is a dependency: a panic inside it must not take evaluation down.
    match std::panic::catch_unwind(|| word::parse(raw, options)) {
        Ok(Ok(pieces)) => {
            for piece in pieces {
                push_piece(raw, piece.piece, piece.start_index, piece.end_index, &mut out);
            }
        }
        // The grammar accepted the line but not this word: fall back to a plain unquote.
        Ok(Err(_)) | Err(_) => out.text = brush_parser::unquote_str(raw),
    }
    // Old-style `$[ ... ]` arithmetic is not parsed as such; its substitutions still run.
    for (at, _) in raw.match_indices("$[") {
        let inner = &raw[at + 2..];
        let inner = inner.rfind(']').map_or(inner, |end| &inner[..end]);
        out.substitutions.extend(substitutions_in(inner, options));
    }
    out
}

fn push_piece(raw: &str, piece: WordPiece, start: usize, end: usize, out: &mut Expanded) {
    match piece {
        WordPiece::Text(t) => {
            note_unquoted(&t, out);
            out.text.push_str(&t);
        }
        WordPiece::SingleQuotedText(t) => out.text.push_str(&t),
        WordPiece::AnsiCQuotedText(t) => out.text.push_str(&ansi_c(&t)),
        WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
            for p in inner {
                push_piece(raw, p.piece, p.start_index, p.end_index, out);
            }
        }
        WordPiece::EscapeSequence(s) => out.text.push_str(s.strip_prefix('\\').unwrap_or(&s)),
        WordPiece::TildeExpansion(t) => match t {
            TildeExpr::Home => out.text.push('~'),
            TildeExpr::UserHome(user) => {
                out.text.push('~');
                out.text.push_str(&user);
            }
            _ => out.text.push_str(raw.get(start..end).unwrap_or("~")),
        },
        WordPiece::ParameterExpansion(expr) => match expr {
            ParameterExpr::Parameter {
                parameter: Parameter::Named(name),
                indirect: false,
            } => {
                out.text.push('$');
                out.text.push_str(&name);
            }
            _ => {
                let slice = raw.get(start..end).unwrap_or("$?");
                out.text.push_str(slice);
                inner_substitutions(slice, "${", "}", out);
            }
        },
        WordPiece::CommandSubstitution(cmd) => {
            out.text.push_str(raw.get(start..end).unwrap_or("$(...)"));
            out.substitutions.push(cmd);
        }
        WordPiece::BackquotedCommandSubstitution(cmd) => {
            out.text.push_str(raw.get(start..end).unwrap_or("`...`"));
            // Inside backticks bash drops the backslash before `` ` ``, `$` and `\`, so an
            // escaped backtick there opens the next level of substitution.
            out.substitutions.push(unescape_backticks(&cmd));
        }
        WordPiece::ArithmeticExpression(_) => {
            let slice = raw.get(start..end).unwrap_or("$((...))");
            out.text.push_str(slice);
            inner_substitutions(slice, "$((", "))", out);
        }
    }
}

/// The command inside backticks as bash reads it: `\``, `\$` and `\\` lose their backslash.
fn unescape_backticks(cmd: &str) -> String {
    if !cmd.contains('\\') {
        return cmd.to_owned();
    }
    let mut out = String::with_capacity(cmd.len());
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && matches!(next, '`' | '$' | '\\')
        {
            out.push(next);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// The text of `$'...'` quoting with its escapes decoded, the way bash decodes them (`\x72`,
/// `\162`, `\u0072`, `\n`, ...), in case the grammar hands it over undecoded.
fn ansi_c(t: &str) -> String {
    if !t.contains('\\') {
        return t.to_owned();
    }
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        let mut number = |radix: u32, max: usize, first: Option<char>| {
            let mut digits: String = first.into_iter().collect();
            while digits.len() < max
                && let Some(d) = chars.peek().filter(|d| d.is_digit(radix))
            {
                digits.push(*d);
                chars.next();
            }
            u32::from_str_radix(&digits, radix).ok().and_then(char::from_u32)
        };
        let decoded = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'e' | 'E' => Some('\u{1b}'),
            'f' => Some('\u{c}'),
            'v' => Some('\u{b}'),
            '\\' | '\'' | '"' | '?' => Some(e),
            'x' => number(16, 2, None),
            'u' => number(16, 4, None),
            'U' => number(16, 8, None),
            '0'..='7' => number(8, 3, Some(e)),
            _ => None,
        };
        match decoded {
            Some(d) => out.push(d),
            None => {
                out.push('\\');
                out.push(e);
            }
        }
    }
    out
}

/// Substitutions hidden inside `${x:-$(cmd)}` or `$(( $(cmd) ))`: the inside is read as a word.
fn inner_substitutions(slice: &str, open: &str, close: &str, out: &mut Expanded) {
    let inner = slice
        .strip_prefix(open)
        .and_then(|s| s.strip_suffix(close))
        .unwrap_or("");
    if inner.contains("$(") || inner.contains('`') {
        let nested = expand(inner, &ParserOptions::default());
        out.substitutions.extend(nested.substitutions);
    }
}

/// Command substitutions anywhere in a piece of raw text that is not a word of its own (a
/// here-document body, an arithmetic command): quotes there are literal, `$(...)` still runs.
pub(crate) fn substitutions_in(text: &str, options: &ParserOptions) -> Vec<String> {
    if !(text.contains("$(") || text.contains('`')) {
        return Vec::new();
    }
    let mut out = Expanded::default();
    if let Ok(Ok(pieces)) = std::panic::catch_unwind(|| word::parse_heredoc(text, options)) {
        for piece in pieces {
            push_piece(text, piece.piece, piece.start_index, piece.end_index, &mut out);
        }
    }
    out.substitutions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        expand(raw, &ParserOptions::default()).text
    }

    /// Every quoting spelling of `rm` is `rm`.
    #[test]
    fn quotes_are_removed() {
        assert_eq!(text("r''m"), "rm");
        assert_eq!(text(r#""rm""#), "rm");
        assert_eq!(text(r"\rm"), "rm");
        assert_eq!(text("'r'\"m\""), "rm");
    }

    /// `${HOME}`, `$HOME` and `"$HOME"` share one spelling.
    #[test]
    fn parameters_are_canonical() {
        assert_eq!(text("${HOME}"), "$HOME");
        assert_eq!(text("\"$HOME\""), "$HOME");
        assert_eq!(text("~/x"), "~/x");
    }

    /// Substitutions are found inside parameter defaults and arithmetic.
    #[test]
    fn nested_substitutions() {
        let e = expand("${x:-$(rm -rf /)}", &ParserOptions::default());
        assert_eq!(e.substitutions, vec!["rm -rf /".to_owned()]);
        let e = expand("$(( $(rm -rf /) + 1 ))", &ParserOptions::default());
        assert_eq!(e.substitutions, vec!["rm -rf /".to_owned()]);
        assert_eq!(
            substitutions_in(" $( rm -rf / ) ", &ParserOptions::default()),
            vec![" rm -rf / ".to_owned()]
        );
        let subs = substitutions_in(" $( bash -c \"rm -rf /\" ) ", &ParserOptions::default());
        assert_eq!(subs, vec![" bash -c \"rm -rf /\" ".to_owned()]);
    }

    /// Substitutions are found inside double quotes and backticks.
    #[test]
    fn substitutions_are_collected() {
        let e = expand("\"$(cat .env)\"", &ParserOptions::default());
        assert_eq!(e.substitutions, vec!["cat .env".to_owned()]);
        let e = expand("`whoami`", &ParserOptions::default());
        assert_eq!(e.substitutions, vec!["whoami".to_owned()]);
    }
}
