//! What a script or a build task says about itself. cavra cannot read the code that `python
//! jobs/backfill_users.py --env prod`, `./mvnw flyway:clean -Dflyway.url=jdbc:postgresql://db.prod…`
//! or `./gradlew publishReleaseBundle --track production` run, but the name says what it is for
//! and the options say where it acts:
//!
//! - **names**: a build tool's goals and tasks (`programs/verbs.yaml` `build_tools`), an npm-family
//!   `run` script, the script file an interpreter runs, or a program run by its path. A name that
//!   ships (`publish`, `deploy`, `backfill`) or holds a strong verb changes what it reaches; a
//!   database tool's word with a destroying one (`flyway:clean`, `liquibaseDropAll`) destroys;
//!   a script named for deleting changes (cavra cannot tell how much); a name that only reads
//!   (`check_replication.py`) reads.
//! - **places**: options that name an environment (`--env prod`, `--track production`), build
//!   properties that hold an address or profile (`-Dflyway.url=…`, `-Pprod`), and plain names.
//! - **fail closed**: a script pointed somewhere by an option, whose name says nothing, may change
//!   it; and a command run on another machine (`ssh host …`, `kubectl exec`) that is neither an
//!   inspector nor read as a read is taken to change it (`verbs.yaml` `inspectors`).

use super::flags::ParsedArgs;
use super::model::{Effect, model, places, verbs};

/// What a script or task's name and options say.
#[derive(Debug, Default)]
pub(super) struct Reading {
    /// Words naming where it acts.
    pub places: Vec<String>,
    pub effect: Option<Effect>,
}

/// How the command names what it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Build goals and tasks (`mvn`, `gradle`), npm-family `run` scripts.
    Task,
    /// A script file or a program run by its path.
    Script,
}

/// Interpreters of script files, by the extensions of the files they run.
const SCRIPT_EXTENSIONS: &[&str] = &[
    "py", "js", "mjs", "cjs", "ts", "mts", "rb", "php", "pl", "sh", "bash", "zsh", "exs", "ex", "lua", "r", "R", "ps1",
    "kts", "groovy",
];

/// Switches that make a script only show what it would do.
const SCRIPT_PREVIEWS: &[&str] = &[
    "dry-run", "dryrun", "dry_run", "noop", "no-op", "preview", "what-if", "whatif",
];

/// Reads the name and options of a script or task, when the command runs one.
pub(super) fn read(program: &str, first: &str, args: &[String], parsed: &ParsedArgs) -> Option<Reading> {
    let verbs = verbs();
    let (kind, names, rest): (Kind, Vec<&str>, &[String]) = if verbs.build_tool(program) {
        let names = parsed
            .positionals
            .iter()
            .map(String::as_str)
            .filter(|w| !w.starts_with('-'))
            .collect();
        (Kind::Task, names, args)
    } else if matches!(program, "npm" | "pnpm" | "yarn" | "bun")
        && matches!(
            parsed.positionals.first().map(String::as_str),
            Some("run" | "run-script")
        )
    {
        let name = parsed.positionals.get(1)?;
        let at = args.iter().position(|a| a == name)?;
        (Kind::Task, vec![name.as_str()], &args[at + 1..])
    } else if let Some(script) = script_file(parsed).filter(|f| f.contains('/') || model().get(f).is_none()) {
        // (`python manage.py …` in the working directory is described by the model: its own verbs
        // say what it does. A described name elsewhere, `ops/console`, is just a script.)
        let at = args.iter().position(|a| a == script)?;
        (Kind::Script, vec![stem(script)], &args[at + 1..])
    } else if first.contains('/') && model().get(program).is_none() {
        (Kind::Script, vec![stem(program)], args)
    } else {
        return None;
    };
    let mut reading = Reading::default();
    let (given, operands) = option_places(rest, kind);
    let mut words: Vec<String> = names.iter().flat_map(|n| split_name(n)).collect();
    if kind == Kind::Script {
        // A script's own switches say what it is asked to do too (`report.sh --purge-all`).
        words.extend(
            rest.iter()
                .filter_map(|w| w.strip_prefix("--"))
                .map(|o| o.split_once('=').map_or(o, |(n, _)| n))
                .flat_map(split_name)
                .filter(|w| verbs.classify(w).is_some_and(|e| e > Effect::Read)),
        );
    }
    let destroys = words.iter().any(|w| verbs.classify(w) == Some(Effect::Destroy));
    let database = words.iter().any(|w| verbs.database(w));
    let strong = words
        .iter()
        .any(|w| verbs.ships(w) || verbs.classify_strong(w) == Some(Effect::Mutate) && (database || !is_local_verb(w)));
    reading.effect = if destroys && database {
        Some(Effect::Destroy)
    } else if strong || destroys && kind == Kind::Script {
        Some(Effect::Mutate)
    } else if words.iter().any(|w| verbs.classify(w) == Some(Effect::Read)) {
        Some(Effect::Read)
    } else if kind == Kind::Script && !given.is_empty() {
        // Pointed somewhere by an option, with a name that says nothing: it may change it.
        Some(Effect::Mutate)
    } else {
        None
    };
    if kind == Kind::Script
        && let [verb, code, ..] = rest
        && matches!(verb.as_str(), "rpc" | "eval")
    {
        // An Elixir release's `bin/app rpc 'Repo.delete_all(Session)'`: code run inside the live
        // system, judged like any ORM code, and taken to change it when it says nothing.
        reading.effect = reading.effect.max(super::place::orm(code).or(Some(Effect::Mutate)));
    }
    // Switches after `--` are the script's; before it, npm's own (`npm run deploy --check`).
    let script_words = if kind == Kind::Task && !verbs.build_tool(program) {
        rest.iter()
            .position(|w| w == "--")
            .map_or(&[][..], |at| &rest[at + 1..])
    } else {
        rest
    };
    if reading.effect.is_some_and(|e| e > Effect::Read) && previews(script_words) {
        reading.effect = Some(Effect::Read);
    }
    if strong || destroys {
        // `deploy:prod`, `deploy_production.sh`: a name that acts says where too.
        reading.places.extend(words.iter().cloned());
    }
    reading.places.extend(given);
    reading.places.extend(operands);
    Some(reading)
}

/// Whether a command runs on another machine or in a container: through `ssh` and its kin (the
/// `on HOST` step) or a container or platform console.
pub(super) fn remote(via: &[String]) -> bool {
    via.iter().any(|v| {
        v.starts_with("on ")
            || matches!(
                v.split_whitespace().next().unwrap_or_default(),
                "kubectl"
                    | "oc"
                    | "ansible"
                    | "docker"
                    | "podman"
                    | "nerdctl"
                    | "crictl"
                    | "fly"
                    | "flyctl"
                    | "heroku"
                    | "railway"
                    | "gcloud"
                    | "az"
                    | "tsh"
            )
    })
}

/// What an HTTP client's request does to the service it reaches, by its method: `GET` and `HEAD`
/// read, `DELETE` destroys, any other method or a request body changes (`curl -X PATCH …`,
/// `curl -d @x.json …`, `wget --post-data …`, `http DELETE …`). `None` for other programs.
pub(super) fn http_effect(program: &str, parsed: &ParsedArgs) -> Option<Effect> {
    let value = |names: &[&str]| {
        parsed
            .flags
            .iter()
            .find(|f| names.contains(&f.name.as_str()))
            .and_then(|f| f.value.clone())
    };
    let has = |names: &[&str]| parsed.flags.iter().any(|f| names.contains(&f.name.as_str()));
    let method = match program {
        "curl" | "curlie" => value(&["request"]).or_else(|| {
            has(&[
                "data",
                "data-binary",
                "data-raw",
                "data-ascii",
                "data-urlencode",
                "json",
                "form",
                "form-string",
            ])
            .then(|| "POST".to_owned())
            .or_else(|| has(&["upload-file"]).then(|| "PUT".to_owned()))
        }),
        "wget" => value(&["method"])
            .or_else(|| has(&["post-data", "post-file", "body-data", "body-file"]).then(|| "POST".to_owned())),
        // `grpcurl -d '{…}' host:443 pkg.Service/AdjustStock`: the method's name says what it does.
        "grpcurl" | "grpc_cli" | "evans" | "buf" => {
            let method = parsed
                .positionals
                .iter()
                .rev()
                .find(|p| p.contains('/') && !p.contains("://"))?;
            let name = method.rsplit(['/', '.']).next().unwrap_or(method);
            let first = split_name(name).into_iter().next()?;
            return Some(match verbs().classify(&first) {
                Some(Effect::Read) => Effect::Read,
                Some(Effect::Destroy) => Effect::Destroy,
                _ => Effect::Mutate,
            });
        }
        "http" | "https" | "httpie" | "xh" | "xhs" => parsed
            .positionals
            .first()
            .filter(|m| m.chars().all(|c| c.is_ascii_alphabetic()) && m.len() <= 7)
            .cloned()
            .or_else(|| {
                parsed
                    .positionals
                    .iter()
                    .skip(1)
                    .any(|i| i.contains('='))
                    .then(|| "POST".to_owned())
            }),
        _ => return None,
    };
    Some(match method.map(|m| m.to_ascii_uppercase()).as_deref() {
        None | Some("GET" | "HEAD" | "OPTIONS") => Effect::Read,
        Some("DELETE") => Effect::Destroy,
        Some(_) => Effect::Mutate,
    })
}

/// Verbs that, in a build task's name, act on the working copy only (`gradle clean`, `mvn
/// install`, `npm run test:update`).
fn is_local_verb(word: &str) -> bool {
    matches!(
        word,
        "update" | "create" | "patch" | "import" | "generate" | "format" | "fix"
    )
}

/// The script file an interpreter is given (`python jobs/x.py`, `node scripts/y.mjs`), unless
/// it runs code or a module instead (`python -c`, `python -m`).
fn script_file(parsed: &ParsedArgs) -> Option<&str> {
    let code = parsed.chain.iter().rev().find_map(|s| s.code.as_ref())?;
    if !code.script
        || parsed
            .flags
            .iter()
            .any(|f| code.options.contains(&f.name) || code.stops.contains(&f.name))
    {
        return None;
    }
    let file = parsed.positionals.first()?;
    let extension = file.rsplit_once('.').map(|(_, e)| e);
    (file.contains('/') || extension.is_some_and(|e| SCRIPT_EXTENSIONS.contains(&e))).then_some(file.as_str())
}

/// A file's name without its directory and extension.
fn stem(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    // Only a script's own extension goes (`deploy.production.sh` keeps `deploy.production`).
    match name.rsplit_once('.') {
        Some((s, extension)) if !s.is_empty() && SCRIPT_EXTENSIONS.contains(&extension) => s,
        _ => name,
    }
}

/// A name's words, lower-case: `publishReleaseBundle` → publish, release, bundle; `flyway:clean`
/// → flyway, clean; `backfill_user_country` → backfill, user, country.
fn split_name(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The places a script or task's options name (`--env prod`, `--stage=live`, `--track
/// production`, `-Dflyway.url=jdbc:…`, `-Dspring.profiles.active=prod`, `-Pprod`), and apart, a
/// script's operands that are plain names (`deploy.sh production`).
fn option_places(rest: &[String], kind: Kind) -> (Vec<String>, Vec<String>) {
    let places = places();
    let named = |name: &str| name == "track" || places.options.iter().any(|o| o == name);
    let mut out = Vec::new();
    let mut operands = Vec::new();
    let mut words = rest.iter().peekable();
    while let Some(word) = words.next() {
        if word == "--" {
            continue;
        }
        if let Some(property) = word.strip_prefix("-D") {
            let (key, value) = property.split_once('=').unwrap_or((property, ""));
            let key = key.to_ascii_lowercase();
            if !value.is_empty()
                && [
                    "url", "uri", "host", "env", "profile", "stage", "target", "dsn", "server", "database",
                ]
                .iter()
                .any(|k| key.contains(k))
            {
                out.push(value.to_owned());
            }
            continue;
        }
        if let Some(profile) = word.strip_prefix("-P").filter(|p| !p.is_empty() && kind == Kind::Task) {
            out.extend(profile.split(',').map(str::to_owned));
            continue;
        }
        if let Some(option) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) {
            match option.split_once('=') {
                Some((name, value)) if named(name) => out.push(value.to_owned()),
                Some(_) => {}
                None if named(option) => {
                    if let Some(value) = words.next_if(|w| !w.starts_with('-')) {
                        out.push(value.clone());
                    }
                }
                None => {}
            }
            continue;
        }
        if kind == Kind::Script
            && !word.contains(['/', '=', '@', ' ', '$'])
            && !word.starts_with('.')
            && word.chars().any(char::is_alphabetic)
        {
            operands.push(word.clone());
        }
    }
    out.retain(|w| !w.is_empty());
    (out, operands)
}

/// Whether a script is only asked to show what it would do (`--dry-run`, `-n`).
fn previews(rest: &[String]) -> bool {
    rest.iter().any(|w| {
        let Some(option) = w.strip_prefix("--").or_else(|| w.strip_prefix('-')) else {
            return false;
        };
        match option.split_once('=') {
            Some((name, value)) => SCRIPT_PREVIEWS.contains(&name) && super::place::previews_with(value),
            None => SCRIPT_PREVIEWS.contains(&option),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(split_name("publishReleaseBundle"), ["publish", "release", "bundle"]);
        assert_eq!(split_name("flyway:clean"), ["flyway", "clean"]);
        assert_eq!(split_name("backfill_user_country"), ["backfill", "user", "country"]);
        assert_eq!(split_name("liquibaseDropAll"), ["liquibase", "drop", "all"]);
        assert_eq!(split_name("build:prod"), ["build", "prod"]);
    }

    #[test]
    fn stems_drop_directory_and_extension() {
        assert_eq!(stem("jobs/backfill/backfill_user_country.py"), "backfill_user_country");
        assert_eq!(stem("./deploy.sh"), "deploy");
        assert_eq!(stem("scripts/deploy.production.sh"), "deploy.production");
        assert_eq!(stem(".envrc"), ".envrc");
    }

    #[test]
    fn options_name_places() {
        let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let given = |s: &str, kind| option_places(&words(s), kind).0;
        assert_eq!(given("--env prod --start 2023-01-01", Kind::Script), ["prod"]);
        assert_eq!(given("--track production", Kind::Task), ["production"]);
        assert_eq!(
            given(
                "-Dflyway.url=jdbc:postgresql://db.prod.x:5432/inv -Dflyway.user=f",
                Kind::Task
            ),
            ["jdbc:postgresql://db.prod.x:5432/inv"]
        );
        assert_eq!(given("-Pprod,metrics clean", Kind::Task), ["prod", "metrics"]);
        assert!(given("--epochs 10", Kind::Script).is_empty());
        assert_eq!(
            option_places(&words("production 10 ./out"), Kind::Script).1,
            ["production"]
        );
    }
}
