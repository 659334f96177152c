//! Secret redaction for what a decision record stores (SPEC §6): tokens, keys and passwords in
//! command lines, reasons, working directories and MCP arguments become [`MARKER`] before a
//! record can be stored or printed, and the record lists which fields were changed.
//!
//! A secret is recognised by its *context* — a secret-named variable (`GITHUB_TOKEN=…`), flag
//! (`--password …`), HTTP header (`Authorization: Bearer …`), JSON key (`"api_key": …`), URL
//! userinfo (`https://user:…@host`), a `mysql -p…` password — or by its *format*: GitHub, GitLab,
//! AWS, Slack, OpenAI/Anthropic, Stripe, Google, npm, Hugging Face tokens, JWTs, PEM private keys.
//! Only the secret itself is replaced (a known token prefix such as `ghp_` is kept), so a reviewer
//! still reads `curl -H 'Authorization: Bearer [REDACTED]' https://api.example.com`.
//!
//! Deliberately kept: variable references and substitutions (`$GITHUB_TOKEN`, `"${TOKEN}"`,
//! `$(vault read …)`), which name a secret without containing it (so a literal password that
//! starts with `$` is kept too); values that are file paths
//! (`--token-file ~/.tok`, `GOOGLE_APPLICATION_CREDENTIALS=/etc/sa.json`, `--private-key
//! ./id_rsa`); placeholders (`<token>`, `{{ secrets.X }}`); and words that merely mention secrets
//! (`grep -r password src/`, `cat tokens.md`, `--password-stdin`, `--no-password`,
//! `SSH_AUTH_SOCK=…`, `MAX_TOKENS=…`). Where the name alone is ambiguous (a bare `--secret`,
//! `--auth` or `--cookie`, a `SOMETHING_KEY` that is not an API or private key, `password: …` in
//! free text) the value must also look random before it is redacted.
//!
//! Object keys in MCP arguments are kept as they are (they name values, they are not values);
//! null, boolean and empty values under a secret-named key are kept too, since they hold nothing.
//!
//! Cost: most text contains none of the words or prefixes a secret needs, so one pass of a literal
//! pre-filter answers "nothing to do" without allocating (a byte-triple table looks first: only
//! text holding one of the hints' triples is scanned for the hints themselves); text that passes
//! it gets one pass of a [`RegexSet`] of all rules, and only the rules that match run again,
//! without capture groups, reading values by hand and always moving forward, so the work stays
//! linear in the text. The rules report byte ranges of the original text, which are merged and
//! replaced in one go, so overlapping rules (a `ghp_…` token inside a URL inside an assignment)
//! cannot interfere.

use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use regex::{Regex, RegexSet};
use serde_json::{Map, Value};

use crate::decision::DecisionRecord;

/// What a secret is replaced with.
pub const MARKER: &str = "[REDACTED]";

/// Replaces every secret in `text` with [`MARKER`]; `None` when there was none, so the common
/// case allocates nothing. Redacting already redacted text finds nothing more.
pub fn redact_text(text: &str) -> Option<String> {
    if !hinted(text) {
        return None;
    }
    let rules = match &*RULES {
        Ok(rules) => rules,
        // The patterns are constants that a unit test compiles; should they ever fail to compile,
        // fail closed: storing nothing of the text is better than storing a secret.
        Err(_) => return (!text.is_empty() && text != MARKER).then(|| MARKER.to_owned()),
    };
    let mut spans = Vec::new();
    match rules.find(text, &mut spans) {
        Ok(()) => replace_spans(text, spans),
        Err(_) => (text != MARKER).then(|| MARKER.to_owned()),
    }
}

/// Redacts a JSON value in place: under an object key whose name looks secret (`password`,
/// `api_key`, `Authorization`, …) the whole value becomes the string [`MARKER`], whatever its
/// type; every other string, at any depth, goes through [`redact_text`]. The path of each value
/// that changed, starting from `path` (e.g. `arguments.headers.Authorization`,
/// `arguments.argv[2]`), is appended to `redacted`.
pub fn redact_json(value: &mut Value, path: &str, redacted: &mut Vec<String>) {
    let mut path = path.to_owned();
    redact_value(value, &mut path, redacted);
}

/// Redacts every stored text field of `record` — `target`, `cwd`, `justification`, `reason`,
/// `suggestion`, each `matched[i].part`, and `arguments` — and adds the path of each changed
/// field to `redacted_fields`. Idempotent.
pub fn redact_record(record: &mut DecisionRecord) {
    let mut changed = Vec::new();
    // The target is replaced last: a part that is the whole target (a one-command line) takes
    // its redaction from it rather than being scanned again.
    let target = redact_text(&record.target);
    if target.is_some() {
        changed.push("target".to_owned());
    }
    if let Some(arguments) = &mut record.arguments {
        let mut path = "arguments".to_owned();
        redact_object(arguments, &mut path, &mut changed);
    }
    if let Some(cwd) = &mut record.cwd {
        redact_field(cwd, "cwd", &mut changed);
    }
    redact_field(&mut record.reason, "reason", &mut changed);
    if let Some(suggestion) = &mut record.suggestion {
        redact_field(suggestion, "suggestion", &mut changed);
    }
    for (i, rule) in record.matched.iter_mut().enumerate() {
        let redacted = if rule.part == record.target {
            target.clone()
        } else {
            redact_text(&rule.part)
        };
        if let Some(redacted) = redacted {
            rule.part = redacted;
            changed.push(format!("matched[{i}].part"));
        }
    }
    if let Some(target) = target {
        record.target = target;
    }
    if let Some(justification) = &mut record.justification {
        redact_field(justification, "justification", &mut changed);
    }
    for field in changed {
        if !record.redacted_fields.contains(&field) {
            record.redacted_fields.push(field);
        }
    }
}

/// Whether `name` — a variable, flag, header or JSON key, in any case and with `-`, `_`, `.` or
/// camelCase word breaks — names a secret: `password`, `PGPASSWORD`, `GITHUB_TOKEN`, `apiKey`,
/// `X-Api-Key`, `client_secret`, `AWS_SECRET_ACCESS_KEY`, `Authorization`, `cookie`, … but not
/// `TOKEN_FILE`, `password-stdin`, `SSH_AUTH_SOCK`, `MAX_TOKENS` or `author`.
pub fn is_secret_name(name: &str) -> bool {
    name_strength(name).is_some()
}

fn name_strength(name: &str) -> Option<Strength> {
    strength_of(name, true)
}

fn redact_field(text: &mut String, name: &str, changed: &mut Vec<String>) {
    if let Some(redacted) = redact_text(text) {
        *text = redacted;
        changed.push(name.to_owned());
    }
}

fn redact_value(value: &mut Value, path: &mut String, redacted: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Some(r) = redact_text(text) {
                *text = r;
                redacted.push(path.clone());
            }
        }
        Value::Array(items) => {
            // An argv array splits `--password` from its value: the next element is the secret.
            let mut after_secret_flag = false;
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push('[');
                path.push_str(&i.to_string());
                path.push(']');
                let hide = after_secret_flag
                    && item
                        .as_str()
                        .is_some_and(|s| !s.starts_with('-') && !is_not_a_secret(s));
                after_secret_flag = item.as_str().is_some_and(is_secret_flag);
                if hide {
                    *item = Value::String(MARKER.to_owned());
                    redacted.push(path.clone());
                } else {
                    redact_value(item, path, redacted);
                }
                path.truncate(len);
            }
        }
        Value::Object(map) => redact_object(map, path, redacted),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn redact_object(map: &mut Map<String, Value>, path: &mut String, redacted: &mut Vec<String>) {
    for (key, value) in map.iter_mut() {
        let len = path.len();
        push_key(path, key);
        if hides_whole_value(key, value) {
            *value = Value::String(MARKER.to_owned());
            redacted.push(path.clone());
        } else {
            redact_value(value, path, redacted);
        }
        path.truncate(len);
    }
}

/// Whether `arg` is a whole option word that takes a secret as the next word: `--password`,
/// `--api-key`, `-storepass` (not `--password=x`, not the ambiguous `--secret`).
fn is_secret_flag(arg: &str) -> bool {
    let Some(name) = arg.strip_prefix('-') else {
        return false;
    };
    let double = name.starts_with('-');
    let name = name.trim_start_matches('-');
    // Single-dash options glue values to letters (`-pSECRET`): only lowercase whole words count.
    (double || !name.bytes().any(|b| b.is_ascii_uppercase()))
        && name.len() >= 2
        && !name.contains('=')
        && !is_ambiguous_flag(name)
        && strength_of(name, double) == Some(Strength::Strong)
}

/// Options whose name says "secret" but whose value often only names one: `gcloud --secret=db`,
/// `--auth basic`, `curl --cookie jar.txt`.
fn is_ambiguous_flag(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "secret" | "secrets" | "auth" | "cookie"
    )
}

/// Whether the value under JSON key `key` is replaced as a whole. Null, booleans and empty
/// strings carry no secret and stay; under an ambiguous name only a random-looking string goes.
fn hides_whole_value(key: &str, value: &Value) -> bool {
    let Some(strength) = name_strength(key) else {
        return false;
    };
    match value {
        Value::Null | Value::Bool(_) => false,
        Value::String(s) if s.is_empty() || is_redacted(s) => false,
        Value::String(s) => strength == Strength::Strong || looks_random(s),
        Value::Number(_) | Value::Array(_) | Value::Object(_) => strength == Strength::Strong,
    }
}

/// Appends `.key`, or `["key"]` when the key is not a plain word (so paths stay unambiguous).
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

/// Replaces the (possibly overlapping) byte ranges `spans` of `text` with [`MARKER`].
fn replace_spans(text: &str, mut spans: Vec<Range<usize>>) -> Option<String> {
    if spans.is_empty() {
        return None;
    }
    spans.sort_by_key(|s| (s.start, s.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in merged {
        out.push_str(text.get(at..span.start)?);
        out.push_str(MARKER);
        at = span.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// How sure a name alone makes us that its value is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// `password`, `token`, `api_key`, `Authorization`: the value is a secret.
    Strong,
    /// `deploy_key`-like names outside the known lists: only a random-looking value is.
    Weak,
}

/// Words that, ending a name, make it a secret's name. A word may have a prefix glued on
/// (`PGPASSWORD`, `accessToken` after splitting is `access token`, `clientsecret`).
const SECRET_WORD_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "passwords",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "credential",
    "credentials",
    "authorization",
    "cookie",
    "storepass",
    "keypass",
];

/// Before a final `key`, words that make it a secret key (`api key`, `private key`).
const SECRET_KEY_KINDS: &[&str] = &[
    "access",
    "account",
    "admin",
    "aes",
    "api",
    "app",
    "application",
    "auth",
    "client",
    "consumer",
    "crypto",
    "deploy",
    "encryption",
    "hmac",
    "ingest",
    "jwt",
    "license",
    "licence",
    "master",
    "private",
    "recovery",
    "root",
    "secret",
    "security",
    "service",
    "session",
    "shared",
    "signing",
    "storage",
    "subscription",
    "webhook",
    "write",
];

/// Before a final `key`, words that make it something other than a secret (`sort key`).
const OTHER_KEY_KINDS: &[&str] = &[
    "cache",
    "composite",
    "dedup",
    "foreign",
    "hash",
    "idempotency",
    "index",
    "lookup",
    "map",
    "object",
    "partition",
    "primary",
    "pub",
    "public",
    "publishable",
    "range",
    "routing",
    "row",
    "s3",
    "shard",
    "sort",
    "unique",
];

/// Words before the secret word that mean the name is about a secret, not one:
/// `--no-password`, `--skip-auth`, `max_token`.
const NOT_A_SECRET_BEFORE: &[&str] = &["ask", "disable", "max", "min", "no", "num", "prompt", "skip", "without"];

/// Trailing words that still name the secret itself (`SECRET_KEY_BASE`, `token_value`).
const ENCODING_WORDS: &[&str] = &[
    "b64",
    "base",
    "base64",
    "hex",
    "plain",
    "plaintext",
    "raw",
    "str",
    "string",
    "value",
];

/// Substrings (lowercase) that every secret name contains; a cheap first check.
const NAME_HINTS: &[&str] = &["pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie"];

/// How strongly `name` names a secret. With `glued` false the secret word must be a whole word
/// (`-storepass`, not `-ppassword`, which is `mysql -p` glued to the password "password").
fn strength_of(name: &str, glued: bool) -> Option<Strength> {
    // No secret's name is this long; a run of text this long is not a name.
    if name.len() > 128 {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    if !NAME_HINTS.iter().any(|h| lower.contains(h)) {
        return None;
    }
    let mut words: Vec<&str> = word_ranges(name).into_iter().filter_map(|r| lower.get(r)).collect();
    while words.len() > 1 && words.last().is_some_and(|w| ENCODING_WORDS.contains(w)) {
        words.pop();
    }
    let last = *words.last()?;
    let before = words.len().checked_sub(2).and_then(|i| words.get(i)).copied();
    if before.is_some_and(|b| NOT_A_SECRET_BEFORE.contains(&b)) {
        return None;
    }
    if SECRET_WORD_ENDINGS
        .iter()
        .any(|w| if glued { last.ends_with(w) } else { last == *w })
    {
        return Some(Strength::Strong);
    }
    match (last, before) {
        ("pass" | "auth", _) | ("pwd", Some(_)) => Some(Strength::Strong),
        ("key", Some(kind)) if SECRET_KEY_KINDS.contains(&kind) => Some(Strength::Strong),
        ("key", Some(kind)) if !OTHER_KEY_KINDS.contains(&kind) => Some(Strength::Weak),
        _ => None,
    }
}

/// Byte ranges of the words of a name: split at anything not an ASCII letter or digit, and at
/// camelCase breaks (`XApiKey` is `X Api Key`, `accessToken` is `access Token`).
fn word_ranges(name: &str) -> Vec<Range<usize>> {
    let bytes = name.as_bytes();
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if let Some(s) = start.take() {
                words.push(s..i);
            }
            continue;
        }
        if let Some(s) = start
            && b.is_ascii_uppercase()
            && i > s
        {
            let prev = bytes[i - 1];
            let next = bytes.get(i + 1).copied().unwrap_or(b' ');
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next.is_ascii_lowercase())
            {
                words.push(s..i);
                start = Some(i);
            }
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        words.push(s..bytes.len());
    }
    words
}

/// Whether `value` looks like a random secret rather than a word, name or path: long enough and
/// mixing letters with digits, or mixing three kinds of character.
fn looks_random(value: &str) -> bool {
    if value.chars().any(char::is_whitespace) {
        return false;
    }
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for c in value.chars() {
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            _ => other = true,
        }
    }
    let kinds = [lower, upper, digit, other].into_iter().filter(|k| *k).count();
    let len = value.chars().count();
    (len >= 8 && digit && (lower || upper)) || (len >= 6 && kinds >= 3) || (len >= 24 && kinds >= 2)
}

/// Whether `value` looks like a base64 secret: long, only base64 characters, mixing upper and
/// lower case and digits (paths have dots, dashes or lowercase words).
fn is_base64_secret(value: &str) -> bool {
    value.len() >= 16
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        && value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && value.bytes().any(|b| b.is_ascii_digit())
}

/// Whether `value` is a plain word (`fix`, `Required`, `none`) rather than a possible password.
fn is_plain_word(value: &str) -> bool {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    first_ok && chars.all(|c| c.is_ascii_lowercase()) && value.len() < 16
}

/// Whether a value in a secret's place is not itself a secret: empty, already redacted, a
/// variable reference or substitution, a placeholder, masked, or a file path.
fn is_not_a_secret(v: &str) -> bool {
    const FILE_EXTENSIONS: &[&str] = &[
        ".json", ".pem", ".key", ".txt", ".yaml", ".yml", ".env", ".ini", ".cfg", ".conf", ".crt", ".p12", ".pfx",
        ".jks", ".gpg", ".asc", ".toml", ".age",
    ];
    v.is_empty()
        // A quoted value starting with a space is the end of a search pattern, not a secret:
        // `grep -- "--token " src`.
        || v.starts_with(char::is_whitespace)
        // PEM armour: the key rule redacts the body between the armour lines.
        || v.starts_with("-----")
        // No letter or digit: syntax (`{token:?}`), not a secret.
        || !v.chars().any(char::is_alphanumeric)
        || starts_redacted(v)
        // References: `$TOKEN`, `${TOKEN}`, `$(vault read …)`, `` `cmd` ``, `%TOKEN%`.
        || v.starts_with(['$', '`'])
        || (v.len() > 2 && v.starts_with('%') && v.ends_with('%'))
        // Paths, unless random-looking base64 (an AWS secret key may start with `/`).
        || ((v.starts_with(['/', '~']) || v.starts_with("./") || v.starts_with("../") || v.starts_with("file:"))
            && !is_base64_secret(v))
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.starts_with("{{") && v.ends_with("}}"))
        // Masks: `****`, `xxx`, `...`.
        || v.chars().all(|c| c == '*')
        || (v.len() >= 3 && v.chars().all(|c| matches!(c, 'x' | 'X' | '.')))
        || FILE_EXTENSIONS.iter().any(|e| v.len() > e.len() && v.ends_with(e) && !v.contains(' '))
}

/// Whether `value` is what redaction leaves behind: the marker, maybe after a token prefix.
fn is_redacted(value: &str) -> bool {
    value == MARKER || TOKEN_PREFIXES.iter().any(|p| value.strip_prefix(p) == Some(MARKER))
}

/// Whether a value begins with what redaction left behind, so that a second pass must not take
/// it for a new secret: `[REDACTED]-----END …` where a value ran into key armour, which stays.
fn starts_redacted(value: &str) -> bool {
    value.starts_with(MARKER)
        || TOKEN_PREFIXES
            .iter()
            .any(|p| value.strip_prefix(p).is_some_and(|r| r.starts_with(MARKER)))
}

/// The patterns, compiled once. Each rule's pattern finds only where a secret may begin — a
/// name and its `=`, a program and its password option, a URL's userinfo, a whole token — and
/// the value after it is read by hand. No capture groups are needed (they cost microseconds),
/// and every scan moves forward, so the cost stays linear in the text whatever it holds.
struct Rules {
    /// Every rule, in one set: which of them match at all.
    any: RegexSet,
    /// Each rule alone, for positions: compiled the first time a text it matches needs them,
    /// so a one-shot process (the agent hook) compiles only the rules its text hits.
    rules: [Lazy; RULE_COUNT],
}

/// A regex compiled on first use.
struct Lazy {
    pattern: String,
    regex: OnceLock<Result<Regex, regex::Error>>,
}

impl Lazy {
    fn new(pattern: String) -> Lazy {
        Lazy {
            pattern,
            regex: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<&Regex, &regex::Error> {
        self.regex.get_or_init(|| Regex::new(&self.pattern)).as_ref()
    }
}

static RULES: LazyLock<Result<Rules, regex::Error>> = LazyLock::new(Rules::compile);

/// Words every secret's name or program contains, in any case (`ſ` and the Kelvin sign `K`
/// count as `s` and `k`, as they do for the rules' `(?i)`: see [`folded`]).
const HINT_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "cred",
    "cookie",
    "curl",
    "mysql",
    "mariadb",
    "login",
    "hooks.slack",
    "discord",
];

/// What every other secret contains, as written, besides the [`TOKEN_PREFIXES`]: a URL's `://`,
/// key armour, a JWT's header.
const OTHER_HINTS: &[&str] = &["://", "-----BEGIN", "eyJ"];

/// The literal pre-filter: text with none of the hints holds no secret any rule could find.
/// Two small Aho-Corasick DFAs (52 literals) build in well under a millisecond, where the rules'
/// regexes take 2 ms, which a one-shot process (the agent hook) would pay on every call; a DFA
/// scans a clean line in ~0.1 µs, where the NFA forms took ~0.35 µs on every stored field.
struct Hints {
    words: AhoCorasick,
    literals: AhoCorasick,
    /// One byte triple of every hint, for a first look (see [`Trigrams`]).
    trigrams: Trigrams,
}

/// A set of byte triples, each byte compared by its low five bits (which fold ASCII case and
/// merge a few other bytes: a first look may say yes too often, never too rarely). Every hint
/// has one of its triples here, the one least likely in ordinary text (`pwd`, `adb` of
/// `mariadb`, `eyJ`), so a text without any of them holds no hint. Looking triples up in a 4 KiB
/// table costs a cycle or two a byte with no chain between bytes, where the automata above walk
/// one state per byte at a load's latency each; most stored text (reasons, suggestions, plain
/// command lines) has none of the triples and never reaches them.
struct Trigrams(Box<[u64; 512]>);

impl Trigrams {
    fn key(t: &[u8]) -> usize {
        t.iter().fold(0, |k, &b| (k << 5) | usize::from(b & 31))
    }

    /// How rare a byte is in ordinary text, higher is rarer (English letter order; the
    /// punctuation of flags and paths counts as common).
    fn rarity(b: u8) -> usize {
        const COMMON: &[u8] = b" -etaoinsrhldcumfpgwybvkxjqz";
        COMMON
            .iter()
            .position(|&c| c == (b | 0x20))
            .unwrap_or(if b.is_ascii_digit() { 14 } else { 10 })
    }

    fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Trigrams {
        let mut bits = Box::new([0u64; 512]);
        for p in patterns {
            let rarest = p
                .as_bytes()
                .windows(3)
                .max_by_key(|t| t.iter().map(|&b| Trigrams::rarity(b)).sum::<usize>());
            match rarest {
                Some(t) => {
                    let k = Trigrams::key(t);
                    bits[k / 64] |= 1 << (k % 64);
                }
                // A hint shorter than three bytes (none today) cannot be looked for this way:
                // every text passes.
                None => bits.fill(u64::MAX),
            }
        }
        Trigrams(bits)
    }

    /// Whether `text` holds any of the triples.
    fn any(&self, text: &str) -> bool {
        text.as_bytes().windows(3).any(|t| {
            let k = Trigrams::key(t);
            self.0[k / 64] & (1 << (k % 64)) != 0
        })
    }
}

static HINTS: LazyLock<Result<Hints, aho_corasick::BuildError>> = LazyLock::new(|| {
    Ok(Hints {
        words: AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(HINT_WORDS)?,
        literals: AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .build(TOKEN_PREFIXES.iter().chain(OTHER_HINTS))?,
        trigrams: Trigrams::new(HINT_WORDS.iter().chain(TOKEN_PREFIXES).chain(OTHER_HINTS).copied()),
    })
});

/// `ſ` and the Kelvin sign, which Unicode case folding (the rules' `(?i)`) reads as `s` and `k`.
const LONG_S: char = '\u{17F}';
const KELVIN: char = '\u{212A}';

/// `text` with [`LONG_S`] and [`KELVIN`] spelled `s` and `k`, when it holds either (rarely:
/// their first UTF-8 bytes are looked for with SIMD first).
fn folded(text: &str) -> Option<String> {
    memchr::memchr2(0xC5, 0xE2, text.as_bytes())?;
    text.contains([LONG_S, KELVIN])
        .then(|| text.replace(LONG_S, "s").replace(KELVIN, "k"))
}

/// Whether `text` holds any hint of a secret (true when the pre-filter failed to build).
fn hinted(text: &str) -> bool {
    match &*HINTS {
        Ok(h) => {
            (h.trigrams.any(text) && (h.literals.is_match(text) || h.words.is_match(text)))
                || folded(text).is_some_and(|f| h.words.is_match(&f))
        }
        Err(_) => true,
    }
}

/// Positions of the rules in [`Rules::any`].
const ASSIGNMENT: usize = 0;
const QUOTED_PAIR: usize = 1;
const COLON_PAIR: usize = 2;
const FLAG: usize = 3;
const CURL_USER: usize = 4;
const MYSQL_PASSWORD: usize = 5;
const LOGIN_PASSWORD: usize = 6;
const URL_USERINFO: usize = 7;
const TOKEN: usize = 8;
const PRIVATE_KEY: usize = 9;
const WEBHOOK: usize = 10;
const RULE_COUNT: usize = 11;

/// A variable, flag, key or header name with one of the [`NAME_HINTS`] in it, so that the rules
/// only stop at names that may be secret ones.
const NAME: &str = r"(?:[A-Za-z_][A-Za-z0-9_.-]*)?(?i:pass|pwd|secret|token|key|auth|cred|cookie)[A-Za-z0-9_.-]*";

/// `Authorization` schemes, kept in front of the credential they introduce.
const AUTH_SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "token",
    "digest",
    "bot",
    "apikey",
    "negotiate",
    "ntlm",
    "sso-key",
];

/// Known token prefixes, longest first: kept in front of the marker to say what was there.
const TOKEN_PREFIXES: &[&str] = &[
    "github_pat_",
    "sk-ant-",
    "sk-proj-",
    "sk_live_",
    "rk_live_",
    "sk_test_",
    "rk_test_",
    "dop_v1_",
    "glpat-",
    "gldt-",
    "glrt-",
    "glptt-",
    "glcbt-",
    "glsoat-",
    "whsec_",
    "pypi-",
    "xapp-",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "npm_",
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "AIza",
    "ya29.",
    "hf_",
    "sk-",
    "SG.",
];

impl Rules {
    fn compile() -> Result<Rules, regex::Error> {
        let mut patterns: [String; RULE_COUNT] = Default::default();
        patterns[ASSIGNMENT] = format!(r#"(?:^|[\s;&|(`'"?,{{=:]){NAME}="#);
        patterns[QUOTED_PAIR] = format!(r#"\\?["']{NAME}\\?["'][ \t]*(?::|=>?)[ \t]*\\?["']"#);
        patterns[COLON_PAIR] = format!(r#"(?:^|[\s'"{{(,]){NAME}[ \t]*:"#);
        patterns[FLAG] = format!(r#"(?:^|[\s'"(])--?{NAME}(?:=|[ \t]+)"#);
        patterns[CURL_USER] =
            r"(?-u:\b)curl(?-u:\b)[^\n;&|]*?[ \t](?:-[uU][ \t]*|--(?:proxy-)?user(?:[ \t]+|=))".to_owned();
        patterns[MYSQL_PASSWORD] = concat!(
            r"(?-u:\b)(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mysqlsh",
            r"|mysqlbinlog|mariadb|mariadb-dump|mariadb-admin|mariadb-import|mariadb-check)(?-u:\b)",
            r"[^\n;&|]*?[ \t]-p",
        )
        .to_owned();
        patterns[LOGIN_PASSWORD] = concat!(
            r"(?-u:\b)(?:sshpass|(?:docker|podman|nerdctl|buildah|skopeo|oras|az|oc|cf|helm[ \t]+registry)",
            r"[ \t]+login)(?-u:\b)[^\n;&|]*?[ \t]-p(?:[ \t]+|=)?",
        )
        .to_owned();
        patterns[URL_USERINFO] = r#"(?-u:\b)[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s/"'?#\\]*@"#.to_owned();
        patterns[TOKEN] = concat!(
            r"(?-u:\b)(?:",
            r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?-u:\b)",
            r"|gh[pousr]_[A-Za-z0-9]{30,}",
            r"|github_pat_[A-Za-z0-9_]{30,}",
            r"|gl(?:pat|dt|rt|ptt|cbt|soat)-[A-Za-z0-9_-]{20,}",
            r"|xox[abprs]-[A-Za-z0-9-]{10,}",
            r"|xapp-[A-Za-z0-9-]{10,}",
            r"|sk-[A-Za-z0-9_-]{32,}",
            r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",
            r"|whsec_[A-Za-z0-9+/=]{24,}",
            r"|AIza[A-Za-z0-9_-]{35}",
            r"|ya29\.[A-Za-z0-9_-]{30,}",
            r"|npm_[A-Za-z0-9]{36}",
            r"|hf_[A-Za-z0-9]{30,}",
            r"|pypi-AgE[A-Za-z0-9_-]{50,}",
            r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
            r"|dop_v1_[a-f0-9]{64}",
            r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
            r")",
        )
        .to_owned();
        patterns[PRIVATE_KEY] = concat!(
            r"-----BEGIN[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----(?s:.*?)",
            r"(?:-----END[A-Z0-9 ]* PRIVATE KEY(?: BLOCK)?-----|\z)",
        )
        .to_owned();
        patterns[WEBHOOK] =
            r"hooks\.slack\.com/(?:services|workflows|triggers)/|discord(?:app)?\.com/api/webhooks/[0-9]+/".to_owned();
        Ok(Rules {
            any: RegexSet::new(&patterns)?,
            rules: patterns.map(Lazy::new),
        })
    }

    /// Adds the byte range of every secret in `text` to `spans`.
    /// Fails (and the caller redacts the whole text) only if a rule's pattern does not compile.
    fn find(&self, text: &str, spans: &mut Vec<Range<usize>>) -> Result<(), &regex::Error> {
        // One pass says which rules match at all; most hinted text (a reason mentioning keys, a
        // command with a URL) matches none, and only the rules that do run again for positions,
        // in rule order (the private-key armour is cut out of what the rules before it found).
        for rule in self.any.matches(text).iter() {
            let re = self.rules[rule].get()?;
            match rule {
                ASSIGNMENT => Rules::assignments(re, text, spans),
                QUOTED_PAIR => Rules::quoted_pairs(re, text, spans),
                COLON_PAIR => Rules::colon_pairs(re, text, spans),
                FLAG => Rules::flags(re, text, spans),
                CURL_USER => Rules::curl_users(re, text, spans),
                MYSQL_PASSWORD | LOGIN_PASSWORD => {
                    for m in re.find_iter(text) {
                        let value = shell_value(text, m.end());
                        push_unless_benign(value_content(text, None, value), text, spans, |_| true);
                    }
                }
                URL_USERINFO => Rules::urls(re, text, spans),
                TOKEN => Rules::tokens(re, text, spans),
                PRIVATE_KEY => {
                    // Key armour stays readable even where another rule's value ran into it
                    // (`mysql -pX-----END …`): redacting it would leave a key block that the next
                    // pass reads differently.
                    let armour = Rules::private_keys(re, text, spans);
                    spans_outside(spans, &armour);
                }
                WEBHOOK => {
                    for m in re.find_iter(text) {
                        let end = run_end(text, m.end(), |c| {
                            c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '-')
                        });
                        if end > m.end() {
                            spans.push(m.end()..end);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn assignments(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) {
        let mut at = 0;
        while let Some(m) = re.find_at(text, at) {
            // Resume right after `=`: the value may hide another assignment (`FOO="TOKEN=x"`).
            at = m.end();
            let (name, quote) = name_in(m.as_str());
            let Some(strength) = name_strength(name.trim_end_matches('=')) else {
                continue;
            };
            let value = shell_value(text, m.end());
            let accept = |v: &str| strength == Strength::Strong || looks_random(v);
            if push_unless_benign(value_content(text, quote, value.clone()), text, spans, accept) {
                at = at.max(value.end);
            }
        }
    }

    fn quoted_pairs(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) {
        for m in re.find_iter(text) {
            let key = m.as_str().trim_start_matches(['\\', '"', '\'']);
            let name_len = key.find(|c: char| !is_name_char(c)).unwrap_or(key.len());
            let Some(strength) = key.get(..name_len).and_then(name_strength) else {
                continue;
            };
            // The value runs to its closing quote, escaped (`\"`) or not.
            let start = m.end();
            let end = match m.as_str().chars().last() {
                Some('"') => {
                    let rest = text.get(start..).unwrap_or_default();
                    let mut escaped = false;
                    let close = rest.char_indices().find(|&(i, c)| {
                        let found = (c == '"' && !escaped) || (c == '\\' && rest[i + 1..].starts_with('"'));
                        escaped = c == '\\' && !escaped;
                        found
                    });
                    close.map_or(text.len(), |(i, _)| start + i)
                }
                _ => run_end(text, start, |c| c != '\'' && c != '\\'),
            };
            push_unless_benign(start..end, text, spans, |v| {
                strength == Strength::Strong || looks_random(v)
            });
        }
    }

    fn colon_pairs(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) {
        let mut at = 0;
        while let Some(m) = re.find_at(text, at) {
            at = m.end();
            let (name, _) = name_in(m.as_str());
            let name = name.trim_end_matches(':').trim_end_matches([' ', '\t']);
            let header = name.to_ascii_lowercase();
            let mut start = run_end(text, m.end(), |c| c == ' ' || c == '\t');
            if header == "cookie" || header == "set-cookie" {
                // A cookie header starts `name=` and runs to the end of its quoted word:
                // `Cookie: a=1; b=2`. (Only then is the rest scanned, so scans stay linear.)
                let first_word = run_end(text, start, |c| !c.is_whitespace() && !matches!(c, '\'' | '"'));
                if text.get(start..first_word).is_some_and(|w| w.contains('=')) {
                    let end = run_end(text, start, |c| !matches!(c, '\'' | '"' | '\n'));
                    if push_unless_benign(start..end, text, spans, |_| true) {
                        at = end;
                    }
                }
                continue;
            }
            let Some(strength) = name_strength(name) else {
                continue;
            };
            // `Authorization: Bearer <credential>`: the scheme stays.
            let word_end = run_end(text, start, |c| c.is_ascii_alphanumeric() || c == '-');
            let after_word = run_end(text, word_end, |c| c == ' ' || c == '\t');
            let scheme = text
                .get(start..word_end)
                .is_some_and(|w| AUTH_SCHEMES.iter().any(|s| w.eq_ignore_ascii_case(s)));
            if scheme && after_word > word_end {
                start = after_word;
            }
            let value = match text.get(start..).and_then(|r| r.chars().next()) {
                // A quoted value must close, else the quote is the end of a search pattern.
                Some(q @ ('"' | '\'')) => match text.get(start + 1..).and_then(|r| r.find(q)) {
                    Some(len) => start + 1..start + 1 + len,
                    None => continue,
                },
                _ => {
                    start..run_end(text, start, |c| {
                        !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\' | ',' | ';')
                    })
                }
            };
            let always = scheme || is_secret_header(&header);
            let accept = |v: &str| {
                let scheme_only = AUTH_SCHEMES.iter().any(|s| v.eq_ignore_ascii_case(s));
                !scheme_only && (always || looks_random(v) || (strength == Strength::Strong && !is_plain_word(v)))
            };
            if push_unless_benign(value.clone(), text, spans, accept) {
                at = value.end;
            }
        }
    }

    fn flags(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) {
        let mut at = 0;
        while let Some(m) = re.find_at(text, at) {
            at = m.end();
            let key = m.as_str();
            let quote = key.chars().next().filter(|c| matches!(c, '\'' | '"'));
            let spaced = key.ends_with([' ', '\t']);
            let flag = key.trim_start_matches(|c| c != '-').trim_end_matches([' ', '\t', '=']);
            let single_dash = !flag.starts_with("--");
            let mut name = flag.trim_start_matches('-');
            // Java system properties: `-Dspring.datasource.password=x`.
            if single_dash && !spaced {
                name = name.strip_prefix('D').unwrap_or(name);
            }
            // `-p`, `-u`: single letters are program-specific and handled by their own rules.
            if name.len() < 2 {
                continue;
            }
            // Single-dash options glue values to letters (`-pSECRET`): only whole words count.
            if single_dash && name.bytes().any(|b| b.is_ascii_uppercase()) {
                continue;
            }
            let Some(strength) = strength_of(name, !single_dash) else {
                continue;
            };
            let value = shell_value(text, m.end());
            // With a space, a following flag is not the value: `--no-prompt --password -h host`.
            if spaced && text.get(value.clone()).is_some_and(|v| v.starts_with('-')) {
                continue;
            }
            let ambiguous = strength == Strength::Weak || is_ambiguous_flag(name);
            let accept = |v: &str| !ambiguous || (looks_random(v) && !v.contains("id=") && !v.contains("src="));
            if push_unless_benign(value_content(text, quote, value.clone()), text, spans, accept) {
                at = value.end;
            }
        }
    }

    fn curl_users(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) {
        for m in re.find_iter(text) {
            let quote = text
                .get(m.end()..)
                .and_then(|r| r.chars().next())
                .filter(|c| matches!(c, '\'' | '"'));
            let user_start = m.end() + quote.map_or(0, char::len_utf8);
            let user_end = run_end(text, user_start, |c| {
                !c.is_whitespace() && !matches!(c, ':' | '"' | '\'')
            });
            if !text.get(user_end..).is_some_and(|r| r.starts_with(':')) {
                continue;
            }
            let start = user_end + 1;
            let end = match quote {
                Some(q) => run_end(text, start, |c| c != q),
                None => run_end(text, start, |c| !c.is_whitespace() && !matches!(c, '"' | '\'')),
            };
            push_unless_benign(start..end, text, spans, |_| true);
        }
    }

    fn urls(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) {
        for m in re.find_iter(text) {
            let Some(scheme_len) = m.as_str().find("://") else {
                continue;
            };
            let (start, end) = (m.start() + scheme_len + 3, m.end() - 1);
            let Some(userinfo) = text.get(start..end) else {
                continue;
            };
            match userinfo.find(':') {
                Some(colon) => push_unless_benign(start + colon + 1..end, text, spans, |_| true),
                // A user with no password is a token when it looks like one (`https://TOKEN@host`).
                None => push_unless_benign(start..end, text, spans, |u| u.len() >= 20 && looks_random(u)),
            };
        }
    }

    fn tokens(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) {
        for m in re.find_iter(text) {
            let token = m.as_str();
            let keep = TOKEN_PREFIXES
                .iter()
                .find(|p| token.starts_with(*p))
                .map_or(0, |p| p.len());
            // `sk-` also starts kebab-case names (`sk-1234-fix-the-login-page`): a key mixes cases
            // and digits.
            if let Some(rest) = token.strip_prefix("sk-")
                && !rest.starts_with("ant-")
            {
                let mixed = rest.bytes().any(|b| b.is_ascii_digit())
                    && rest.bytes().any(|b| b.is_ascii_uppercase())
                    && rest.bytes().any(|b| b.is_ascii_lowercase());
                if !mixed {
                    continue;
                }
            }
            spans.push(m.start() + keep..m.end());
        }
    }

    /// The body of a PEM private key, between its armour lines (or to the end of a cut-off one).
    /// Returns the armour lines' ranges.
    fn private_keys(re: &Regex, text: &str, spans: &mut Vec<Range<usize>>) -> Vec<Range<usize>> {
        const BEGIN: &str = "-----BEGIN";
        let mut armour = Vec::new();
        for m in re.find_iter(text) {
            let block = m.as_str();
            let Some(header) = block.get(BEGIN.len()..).and_then(|r| r.find("-----")) else {
                continue;
            };
            let body_start = BEGIN.len() + header + "-----".len();
            let body_end = block
                .rfind("-----END")
                .filter(|&e| e >= body_start)
                .unwrap_or(block.len());
            let body = m.start() + body_start..m.start() + body_end;
            armour.push(m.start()..body.start);
            armour.push(body.end..m.end());
            if !body.is_empty() && !text.get(body.clone()).is_some_and(is_redacted) {
                spans.push(body);
            }
        }
        armour
    }
}

/// Cuts `holes` out of every span.
fn spans_outside(spans: &mut Vec<Range<usize>>, holes: &[Range<usize>]) {
    for hole in holes.iter().filter(|h| !h.is_empty()) {
        let mut kept = Vec::with_capacity(spans.len() + 1);
        for span in spans.drain(..) {
            if span.end <= hole.start || span.start >= hole.end {
                kept.push(span);
            } else {
                kept.extend(
                    [span.start..hole.start, hole.end..span.end]
                        .into_iter()
                        .filter(|r| r.start < r.end),
                );
            }
        }
        *spans = kept;
    }
}

/// HTTP headers whose value is a credential whatever it looks like.
fn is_secret_header(lower: &str) -> bool {
    matches!(
        lower,
        "authorization" | "proxy-authorization" | "x-api-key" | "api-key" | "apikey" | "private-token"
    ) || (lower.starts_with("x-") && name_strength(lower) == Some(Strength::Strong))
}

/// Characters of a variable, flag or key name.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The name in a matched key (`␠TOKEN=`, `'PASSWORD=`), without the character before it, and
/// that character when it is a quote: the word is quoted (`'PASSWORD=a b'`, or an argument
/// re-quoted in a part label) and an unquoted value runs to its closing quote.
fn name_in(key: &str) -> (&str, Option<char>) {
    match key.chars().next() {
        Some(c) if !is_name_char(c) => (&key[c.len_utf8()..], Some(c).filter(|q| matches!(q, '\'' | '"'))),
        _ => (key, None),
    }
}

/// The end of the run of characters from `start` that satisfy `keep`.
fn run_end(text: &str, start: usize, keep: impl Fn(char) -> bool) -> usize {
    let rest = text.get(start..).unwrap_or_default();
    rest.find(|c: char| !keep(c)).map_or(text.len(), |i| start + i)
}

/// The shell value that starts at `start`: `"…"` to its unescaped closing quote, `'…'` to its
/// closing quote (either to the end when unclosed), or a run of characters that do not end a
/// word. Empty when a word ends right there.
fn shell_value(text: &str, start: usize) -> Range<usize> {
    let rest = text.get(start..).unwrap_or_default();
    match rest.chars().next() {
        Some('"') => {
            let mut escaped = false;
            let close = rest.char_indices().skip(1).find(|&(_, c)| {
                let found = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                found
            });
            start..close.map_or(text.len(), |(i, _)| start + i + 1)
        }
        Some('\'') => {
            start
                ..rest
                    .get(1..)
                    .and_then(|r| r.find('\''))
                    .map_or(text.len(), |i| start + i + 2)
        }
        _ => {
            start..run_end(text, start, |c| {
                !c.is_whitespace() && !matches!(c, ';' | '&' | '|' | '(' | ')' | '<' | '>' | '`' | '\'' | '"')
            })
        }
    }
}

/// The secret inside a shell value: within its quotes; an unquoted value inside a quoted word
/// (`quote_before`) runs to the word's closing quote.
fn value_content(text: &str, quote_before: Option<char>, value: Range<usize>) -> Range<usize> {
    let (mut start, mut end) = (value.start, value.end);
    let raw = text.get(value).unwrap_or_default();
    match raw.chars().next() {
        Some(q @ ('"' | '\'')) => {
            start += 1;
            if end > start && raw.ends_with(q) {
                end -= 1;
            }
        }
        _ => {
            if let Some(q) = quote_before
                && let Some(close) = text.get(start..).and_then(|r| r.find(q))
            {
                end = end.max(start + close);
            }
        }
    }
    start..end
}

/// Records `range` as a secret unless its text is benign (see [`is_not_a_secret`]) or `accept`
/// rejects it; says whether it did.
fn push_unless_benign(
    range: Range<usize>,
    text: &str,
    spans: &mut Vec<Range<usize>>,
    accept: impl FnOnce(&str) -> bool,
) -> bool {
    let Some(value) = text.get(range.clone()) else {
        return false;
    };
    let secret = !is_not_a_secret(value) && accept(value);
    if secret {
        spans.push(range);
    }
    secret
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern compiles (the runtime fails closed if one does not).
    #[test]
    fn patterns_compile() {
        let rules = match &*RULES {
            Ok(rules) => rules,
            Err(e) => panic!("a redaction pattern does not compile: {e}"),
        };
        for (i, rule) in rules.rules.iter().enumerate() {
            if let Err(e) = rule.get() {
                panic!("redaction rule {i} does not compile: {e}");
            }
        }
        if let Err(e) = &*HINTS {
            panic!("the redaction pre-filter does not build: {e}");
        }
    }

    /// The literal pre-filter says yes exactly where the regex it replaced did (the regex is the
    /// specification; Unicode case folding included).
    #[test]
    fn hints_match_the_regex_they_replace() {
        let spec = Regex::new(concat!(
            r"(?i:pass|pwd|secret|token|key|auth|cred|cookie|curl|mysql|mariadb|login|hooks\.slack|discord)",
            r"|://|-----BEGIN|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|cbt|soat)-",
            r"|xox[abprs]-|xapp-|sk-|[sr]k_(?:live|test)_|whsec_|AIza|ya29\.|npm_|hf_|pypi-|SG\.|dop_v1_|eyJ",
        ))
        .unwrap();
        let mut texts: Vec<String> = [
            "cargo test --workspace",
            "PASSWORD=x",
            "pa\u{17F}\u{17F}word=x",
            "\u{212A}EY=1",
            "Hooks.Slack.com",
            "hooks-slack",
            "akia",
            "AKIA",
            "GHP_",
            "ghp_",
            "ghx_",
            "glsoat-",
            "GLSOAT-",
            "xoxz-",
            "sk_test_",
            "SK_TEST_",
            "ya29x",
            "sg.",
            "eyj",
            "ls -la /tmp",
            "",
            "Login",
            "MyS\u{212A}l",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every hint, each in lower and upper case, alone and inside other text.
        for h in HINT_WORDS.iter().chain(TOKEN_PREFIXES).chain(OTHER_HINTS) {
            for v in [h.to_string(), h.to_lowercase(), h.to_uppercase()] {
                texts.push(format!("echo {v} done"));
                texts.push(v.chars().skip(1).collect());
                texts.push(v);
            }
        }
        for text in &texts {
            assert_eq!(hinted(text), spec.is_match(text), "{text:?}");
        }
    }

    /// Secret-bearing lines and what they become.
    #[test]
    fn secrets_are_redacted_keeping_context() {
        let cases: &[(&str, &str)] = &[
            // Assignments.
            (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls",
                "AWS_SECRET_ACCESS_KEY=[REDACTED] aws s3 ls",
            ),
            (
                "export AWS_SECRET_ACCESS_KEY=/K7MDENG/bPxRfiCYEXAMPLEKEY9",
                "export AWS_SECRET_ACCESS_KEY=[REDACTED]",
            ),
            ("GITHUB_TOKEN=abc123 gh pr list", "GITHUB_TOKEN=[REDACTED] gh pr list"),
            (
                "PGPASSWORD=hunter2 psql -h db -U app",
                "PGPASSWORD=[REDACTED] psql -h db -U app",
            ),
            ("export API_KEY=\"s3cr3t value\"", "export API_KEY=\"[REDACTED]\""),
            ("export API_KEY='s3cr3t'", "export API_KEY='[REDACTED]'"),
            ("DB_PASS=x ./migrate", "DB_PASS=[REDACTED] ./migrate"),
            ("MYSQL_PWD=pw mysql -uroot", "MYSQL_PWD=[REDACTED] mysql -uroot"),
            ("echo 'API_KEY=x' >> .env", "echo 'API_KEY=[REDACTED]' >> .env"),
            ("'PASSWORD=two words' cmd", "'PASSWORD=[REDACTED]' cmd"),
            ("env FOO=\"TOKEN=abc\" run", "env FOO=\"TOKEN=[REDACTED]\" run"),
            (
                "NPM_CONFIG__AUTH=dXNlcjpwYXNz npm ci",
                "NPM_CONFIG__AUTH=[REDACTED] npm ci",
            ),
            ("SECRET_KEY_BASE=abcdef rails s", "SECRET_KEY_BASE=[REDACTED] rails s"),
            (
                "docker run -e DB_PASSWORD=pw app",
                "docker run -e DB_PASSWORD=[REDACTED] app",
            ),
            (
                "kubectl create secret generic db --from-literal=password=hunter2",
                "kubectl create secret generic db --from-literal=password=[REDACTED]",
            ),
            (
                "helm upgrade app ./chart --set db.password=hunter2",
                "helm upgrade app ./chart --set db.password=[REDACTED]",
            ),
            (
                "curl 'https://api.example.com/v1?api_key=abc123&q=1'",
                "curl 'https://api.example.com/v1?api_key=[REDACTED]&q=1'",
            ),
            (
                "curl -d 'user=bob&password=hunter2' https://x.example",
                "curl -d 'user=bob&password=[REDACTED]' https://x.example",
            ),
            // Flags.
            ("mysql --password hunter2 db", "mysql --password [REDACTED] db"),
            ("mysql --password=hunter2 db", "mysql --password=[REDACTED] db"),
            ("vault login --token s.abc123", "vault login --token [REDACTED]"),
            ("tool --api-key=k-1 run", "tool --api-key=[REDACTED] run"),
            ("tool --secret s3cretValue9 run", "tool --secret [REDACTED] run"),
            (
                "az login --client-secret abc~def",
                "az login --client-secret [REDACTED]",
            ),
            (
                "tool --access-key AK1 --secret-key SK2",
                "tool --access-key [REDACTED] --secret-key [REDACTED]",
            ),
            ("tool --auth-token \"t o k\"", "tool --auth-token \"[REDACTED]\""),
            (
                "keytool -list -storepass changeit",
                "keytool -list -storepass [REDACTED]",
            ),
            // Program-specific passwords.
            ("mysql -uroot -pSECRET app", "mysql -uroot -p[REDACTED] app"),
            (
                "mysql -h db -u root -p'SECRET' app",
                "mysql -h db -u root -p'[REDACTED]' app",
            ),
            (
                "mysqldump -u root -p\"pw\" db > d.sql",
                "mysqldump -u root -p\"[REDACTED]\" db > d.sql",
            ),
            ("sshpass -p hunter2 ssh host", "sshpass -p [REDACTED] ssh host"),
            (
                "docker login -u bob -p hunter2 ghcr.io",
                "docker login -u bob -p [REDACTED] ghcr.io",
            ),
            ("curl -u admin:hunter2 https://h", "curl -u admin:[REDACTED] https://h"),
            ("curl -uadmin:pw https://h", "curl -uadmin:[REDACTED] https://h"),
            (
                "curl --user 'admin:two words' https://h",
                "curl --user 'admin:[REDACTED]' https://h",
            ),
            // Headers.
            (
                "curl -H 'Authorization: Bearer abc.def' https://api",
                "curl -H 'Authorization: Bearer [REDACTED]' https://api",
            ),
            (
                "curl -H \"Authorization: Basic dXNlcjpwYXNz\" https://api",
                "curl -H \"Authorization: Basic [REDACTED]\" https://api",
            ),
            (
                "curl -H 'Authorization: token abc' https://api.github.com",
                "curl -H 'Authorization: token [REDACTED]' https://api.github.com",
            ),
            (
                "curl -H 'X-Api-Key: k1' https://api",
                "curl -H 'X-Api-Key: [REDACTED]' https://api",
            ),
            (
                "curl -H 'PRIVATE-TOKEN: abc' https://gl",
                "curl -H 'PRIVATE-TOKEN: [REDACTED]' https://gl",
            ),
            (
                "curl -H 'Cookie: session=abc; theme=dark' https://x",
                "curl -H 'Cookie: [REDACTED]' https://x",
            ),
            (
                "printf 'password: hunter2\\n' > c.yml",
                "printf 'password: [REDACTED]\\n' > c.yml",
            ),
            // JSON inside a command.
            (
                r#"curl -d '{"user":"bob","password":"hunter2"}' https://x"#,
                r#"curl -d '{"user":"bob","password":"[REDACTED]"}' https://x"#,
            ),
            (
                r#"curl -d "{\"token\": \"abc\"}" https://x"#,
                r#"curl -d "{\"token\": \"[REDACTED]\"}" https://x"#,
            ),
            // URLs.
            (
                "git clone https://bob:hunter2@github.com/acme/app.git",
                "git clone https://bob:[REDACTED]@github.com/acme/app.git",
            ),
            (
                "psql postgres://app:p@ss@db:5432/app",
                "psql postgres://app:[REDACTED]@db:5432/app",
            ),
            (
                "redis-cli -u redis://:pw@cache:6379",
                "redis-cli -u redis://:[REDACTED]@cache:6379",
            ),
            (
                "git clone https://0123456789abcdef0123456789abcdef01234567@github.com/a/b",
                "git clone https://[REDACTED]@github.com/a/b",
            ),
            (
                "curl -X POST https://hooks.slack.com/services/T0001/B0001/XXXXabcd1234",
                "curl -X POST https://hooks.slack.com/services/[REDACTED]",
            ),
            // Formats.
            (
                "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
                "aws configure set aws_access_key_id AKIA[REDACTED]",
            ),
            (
                "echo ghp_0123456789abcdefghijABCDEFGHIJ012345 | gh auth login --with-token",
                "echo ghp_[REDACTED] | gh auth login --with-token",
            ),
            (
                "git clone https://ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/a/b",
                "git clone https://[REDACTED]@github.com/a/b",
            ),
            (
                "git remote add o https://oauth2:glpat-abcdefghij0123456789@gitlab.com/a/b",
                "git remote add o https://oauth2:[REDACTED]@gitlab.com/a/b",
            ),
            (
                "slack-cli send xoxb-1234-5678-abcdEFGH",
                "slack-cli send xoxb-[REDACTED]",
            ),
            (
                "llm -k sk-proj-Abc123def456GHI789jkl012MNO345pqr prompt",
                "llm -k sk-proj-[REDACTED] prompt",
            ),
            (
                "claude --key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
                "claude --key sk-ant-[REDACTED]",
            ),
            (
                "stripe listen sk_live_abcdefghij0123456789",
                "stripe listen sk_live_[REDACTED]",
            ),
            (
                "curl 'https://maps.googleapis.com/x?k=AIzaSyA1234567890abcdefghijklmnopqrstuv'",
                "curl 'https://maps.googleapis.com/x?k=AIza[REDACTED]'",
            ),
            (
                "npm whoami npm_abcdefghijklmnopqrstuvwxyz0123456789",
                "npm whoami npm_[REDACTED]",
            ),
            (
                "http GET api eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sgn-abc_123",
                "http GET api [REDACTED]",
            ),
            (
                "printf -- '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\n' > k",
                "printf -- '-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----\n' > k",
            ),
            (
                "echo '-----BEGIN PRIVATE KEY-----\nMIIE",
                "echo '-----BEGIN PRIVATE KEY-----[REDACTED]",
            ),
        ];
        let mut failures = Vec::new();
        for (input, expected) in cases {
            let got = redact_text(input);
            if got.as_deref() != Some(*expected) {
                failures.push(format!("{input}\n   got {got:?}\n  want {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Ordinary lines that mention secrets without holding one stay byte for byte.
    #[test]
    fn benign_lines_are_untouched() {
        let lines = [
            "git push --force-with-lease origin feature",
            "cat tokens.md",
            "grep -r password src/",
            "grep -rn 'password:' config/",
            "export PATH=/usr/local/bin:$PATH",
            "echo $GITHUB_TOKEN",
            "export GITHUB_TOKEN=$(gh auth token)",
            "export GITHUB_TOKEN=\"${GH_TOKEN}\"",
            "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com",
            "terraform apply",
            "gh auth login --with-token < token.txt",
            "tool --token-file ~/.config/tool/token",
            "tool --token-file=/run/secrets/t",
            "docker login --password-stdin -u bob ghcr.io",
            "psql --no-password -h db app",
            "mysql -u root -p app",
            "mysql -h db -P 3306 -p",
            "rm -rf /",
            "cargo test credentials",
            "git log --grep credentials",
            "git log --grep 'auth: fix token refresh'",
            "gcloud secrets versions access latest --secret=db",
            "aws secretsmanager get-secret-value --secret-id prod/db",
            "aws kms schedule-key-deletion --key-id 1234",
            "kubectl get secret db -o jsonpath='{.data.password}'",
            "SSH_AUTH_SOCK=/tmp/agent.sock ssh host",
            "MAX_TOKENS=4096 python run.py",
            "TOKENIZERS_PARALLELISM=false pytest",
            "GOOGLE_APPLICATION_CREDENTIALS=/etc/gcp/sa.json gcloud auth list",
            "ansible-playbook site.yml --private-key ~/.ssh/deploy",
            "git push git@github.com:acme/app.git main",
            "curl https://example.com/path?page=2",
            "ssh-keygen -t ed25519 -f /tmp/k -N \"\"",
            "git checkout -b sk-1234-fix-the-login-page-and-tests",
            "git commit -m 'rotate the API key (see ticket 42)'",
            "PASSWORD= ./setup.sh",
            "echo API_KEY=<your-key> >> .env.example",
            "docker build --secret id=npmrc,src=$HOME/.npmrc .",
            "npm publish --otp=123456",
            "cat ~/.aws/credentials",
            "export OLDPWD=/tmp PWD=/home/dev",
            "python -c 'print(\"key: value\")'",
            "jq '.author' package.json",
            "curl -u bob https://h",
            "curl -H 'Accept: application/json' https://api",
            "git remote -v",
        ];
        let changed: Vec<String> = lines
            .iter()
            .filter_map(|l| redact_text(l).map(|r| format!("{l}\n   -> {r}")))
            .collect();
        assert!(changed.is_empty(), "benign lines were changed:\n{}", changed.join("\n"));
    }

    /// Secret names are recognised across spellings; lookalikes are not.
    #[test]
    fn secret_names() {
        for name in [
            "password",
            "PGPASSWORD",
            "db_pass",
            "GITHUB_TOKEN",
            "apiKey",
            "api_key",
            "X-Api-Key",
            "client-secret",
            "AWS_SECRET_ACCESS_KEY",
            "Authorization",
            "cookie",
            "session_token",
            "private_key",
            "credentials",
            "auth",
            "MYSQL_PWD",
            "accessToken",
            "SECRET_KEY_BASE",
        ] {
            assert!(is_secret_name(name), "{name} should be a secret name");
        }
        for name in [
            "PATH",
            "PWD",
            "author",
            "token_file",
            "password-stdin",
            "no-password",
            "SSH_AUTH_SOCK",
            "MAX_TOKENS",
            "tokens",
            "key",
            "sort_key",
            "public_key",
            "AWS_ACCESS_KEY_ID",
            "keyboard",
            "bypass",
            "auth_type",
        ] {
            assert!(!is_secret_name(name), "{name} should not be a secret name");
        }
    }

    /// JSON: secret-named keys lose their whole value, other strings are scanned, paths are exact.
    #[test]
    fn json_values_and_paths() {
        let mut v = serde_json::json!({
            "password": "hunter2",
            "pin": 1234,
            "token": 987654,
            "auth": {"user": "bob", "pass": "x"},
            "headers": {"Authorization": "Bearer abc", "Accept": "text/plain"},
            "argv": ["deploy", "--token", "tok123", "--api-key=k9"],
            "env": {"GITHUB_TOKEN": "ghp_0123456789abcdefghijABCDEFGHIJ012345", "HOME": "/home/dev"},
            "a.b": "AKIAIOSFODNN7EXAMPLE",
            "use_auth": true,
            "api_key": null,
            "query": "select * from users",
        });
        let mut fields = Vec::new();
        redact_json(&mut v, "arguments", &mut fields);
        assert_eq!(v["password"], "[REDACTED]");
        assert_eq!(v["pin"], 1234);
        assert_eq!(v["token"], "[REDACTED]");
        assert_eq!(v["auth"], "[REDACTED]");
        assert_eq!(v["headers"]["Authorization"], "[REDACTED]");
        assert_eq!(v["headers"]["Accept"], "text/plain");
        assert_eq!(
            v["argv"],
            serde_json::json!(["deploy", "--token", "[REDACTED]", "--api-key=[REDACTED]"])
        );
        assert_eq!(v["env"]["GITHUB_TOKEN"], "[REDACTED]");
        assert_eq!(v["a.b"], "AKIA[REDACTED]");
        assert_eq!(v["use_auth"], true);
        assert_eq!(v["api_key"], Value::Null);
        assert_eq!(v["query"], "select * from users");
        fields.sort();
        assert_eq!(
            fields,
            [
                "arguments.argv[2]",
                "arguments.argv[3]",
                "arguments.auth",
                "arguments.env.GITHUB_TOKEN",
                "arguments.headers.Authorization",
                "arguments.password",
                "arguments.token",
                "arguments[\"a.b\"]",
            ]
        );
        let mut again = Vec::new();
        redact_json(&mut v, "arguments", &mut again);
        assert!(again.is_empty(), "redacting twice finds nothing more: {again:?}");
    }

    /// A key block whose body looks like a header is redacted once, armour intact (found by the
    /// idempotence property).
    #[test]
    fn regression_key_body_like_a_header() {
        let text = "-----BEGIN RSA PRIVATE KEY-----Authorization: Bearer -----END RSA PRIVATE KEY-----";
        let once = redact_text(text);
        assert_eq!(
            once.as_deref(),
            Some("-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----")
        );
        assert_eq!(redact_text(once.as_deref().unwrap_or_default()), None);
        for text in [
            "-----BEGIN RSA PRIVATE KEY-----$mysql -pA-----END RSA PRIVATE KEY-----",
            "{\"api_key\": Authorization: Bearer é-----BEGIN RSA PRIVATE KEY-----",
            "{\"api_key\": Authorization: Bearer ghp_-----BEGIN RSA PRIVATE KEY-----",
        ] {
            let once = redact_text(text).unwrap_or_default();
            assert!(once.contains("PRIVATE KEY-----"), "{once}");
            assert_eq!(redact_text(&once), None, "{once}");
        }
        assert_eq!(
            redact_text("PRIVATE_KEY=-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY----- ./run")
                .as_deref(),
            Some("PRIVATE_KEY=-----BEGIN EC PRIVATE KEY-----[REDACTED]-----END EC PRIVATE KEY----- ./run")
        );
    }

    /// Clean text allocates nothing and redacted text is stable under a second pass.
    #[test]
    fn clean_text_is_none_and_redaction_is_idempotent() {
        assert_eq!(redact_text("cargo test --workspace"), None);
        assert_eq!(redact_text(""), None);
        let once = redact_text("curl -u a:b https://x -H 'X-Api-Key: k' ghp_0123456789abcdefghijABCDEFGHIJ012345");
        assert!(once.is_some());
        assert_eq!(redact_text(once.as_deref().unwrap_or_default()), None);
    }
}
