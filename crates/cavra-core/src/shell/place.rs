//! Where a command acts and what it does there (issue 15): the words that name its environment
//! (a Kubernetes context, a cloud profile, a host, a database URL, a stage) and its effect —
//! read, mutate or destroy — from the program model's verbs and from SQL it is given.
//!
//! Both are plain data on [`super::SimpleCommand`]; which words mean production is the pack's
//! business, decided at evaluation (`crate::evaluate`).

use std::collections::HashMap;
use std::sync::LazyLock;

use super::flags::ParsedArgs;
use super::model::{Effect, model, places, verbs};
use super::wrappers::program_name;

/// Other names of described programs → the name their places and verbs are listed under.
static ALIASES: LazyLock<HashMap<String, String>> = LazyLock::new(|| model().aliases());

/// The name `program` is described under (`flyctl` is `fly`).
fn canonical(program: &str) -> &str {
    ALIASES.get(program).map_or(program, String::as_str)
}

/// A program cavra has no description of, or a task runner whose targets are verbs (`make
/// deploy-prod`, `mix ecto.migrate`): its plain words say where it acts and what it does.
fn plain_words(program: &str) -> bool {
    model().get(program).is_none() || verbs().task_runner(program)
}

/// An operand that is a name, not a path, an assignment or text.
fn is_name(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with(['-', '.', '/', '~', '$'])
        && !word.contains(['/', '@'])
        && !word.contains(char::is_whitespace)
        && word.len() < 256
}

/// The words that name where the command acts, in the order found.
pub(super) fn reaches(
    program: &str,
    parsed: &ParsedArgs,
    env: &[(String, String)],
    via: &[String],
    outer: &[String],
) -> Vec<String> {
    let program = canonical(program);
    let places = places();
    let mut out: Vec<String> = outer.to_vec();
    let container = matches!(program, "docker" | "podman" | "nerdctl" | "finch" | "docker-compose");
    for f in &parsed.flags {
        match (&f.value, f.name.as_str()) {
            // `docker run -e AWS_PROFILE=prod ...`: the container's variables are read as the
            // same `NAME=value` before a command would be (`-e ENV=production` included).
            (Some(value), "e" | "env") if container => {
                if let Some((name, v)) = value.split_once('=')
                    && places.variable(name)
                {
                    out.push(v.to_owned());
                    out.extend(variable_name(v));
                }
            }
            (Some(_), "env-file" | "build-arg" | "label" | "l") if container => {}
            // `alembic -x env=prod -x db_url=$PROD_DB`: the migration's own arguments, whose
            // keys name a place. (Only here: elsewhere a `key=value` value is the agent's text.)
            (Some(value), "x") if program == "alembic" => {
                if let Some((key, v)) = value.split_once('=') {
                    let key = key.to_ascii_lowercase().replace('_', "-");
                    if !v.is_empty() && places.option(program, &key) {
                        out.push(v.to_owned());
                        out.extend(variable_name(v));
                    }
                }
            }
            (Some(value), name) if places.option(program, name) => {
                out.push(value.clone());
                out.extend(variable_name(value));
            }
            // `vercel deploy --prod`, `stripe ... --live`: a switch named as an environment.
            (None, name) if places.switch(name) => out.push(f.name.clone()),
            _ => {}
        }
    }
    for (name, value) in env {
        if places.variable(name) {
            out.push(value.clone());
            // `DATABASE_URL=$LIVE_DB_URL`: the variable's own name says where it points.
            if let Some(var) = value.strip_prefix('$') {
                out.push(var.trim_matches(['{', '}']).to_owned());
            }
        }
    }
    let operands = &parsed.positionals[parsed.subcommand_words.min(parsed.positionals.len())..];
    // `psql "$PROD_DATABASE_URL" -c ...`: a variable given as an operand says by its name where it
    // points, whatever it holds.
    out.extend(operands.iter().filter_map(|o| variable_name(o)));
    match program {
        "ssh" | "mosh" | "sftp" => out.extend(operands.first().map(|h| host(h))),
        // A database client's first operand is the database (or its URL): `dropdb shop_test`.
        p if is_sql_client(p) => out.extend(operands.first().filter(|o| !o.starts_with('$')).cloned()),
        "scp" | "rsync" => out.extend(
            operands
                .iter()
                .filter_map(|o| o.split_once(':').map(|(h, _)| h))
                .filter(|h| !h.is_empty() && !h.contains('/'))
                .map(host),
        ),
        _ => {}
    }
    out.extend(operands.iter().filter(|o| o.contains("://")).cloned());
    // `fly postgres destroy orders-prod-db`, `kubectl delete ns prod`: for a CLI that drives real
    // systems, the names it acts on say where too.
    // Containers, local clusters and services on this machine are named by their own words, which
    // say nothing about where they run (the daemon's `-H`/`--context` does).
    let local = matches!(
        program,
        "docker" | "podman" | "nerdctl" | "finch" | "crictl" | "systemctl" | "launchctl" | "minikube" | "kind"
    );
    if verbs().drives(program) && !local {
        out.extend(
            operands
                .iter()
                .filter(|o| !o.starts_with('-') && !o.contains(char::is_whitespace) && o.len() < 256)
                .cloned(),
        );
    } else if plain_words(program) {
        // Only names: paths, addresses and text an undescribed program is given say nothing.
        out.extend(operands.iter().filter(|o| is_name(o)).cloned());
    }
    // Tables and databases named in SQL it is given (`DELETE FROM analytics_prod.events`).
    if let Some(code) = parsed
        .chain
        .iter()
        .rev()
        .find_map(|s| s.code.as_ref())
        .filter(|c| c.language == "sql")
    {
        for text in code_texts(parsed, code) {
            out.extend(sql_names(text));
        }
    }
    for v in via {
        if let Some(h) = v.strip_prefix("on ") {
            out.push(host(h));
        }
    }
    out.retain(|w| !w.is_empty());
    let mut seen = std::collections::HashSet::new();
    out.retain(|w| seen.insert(w.clone()));
    out
}

/// The code a command is given by its code options (`-c`, `-e`) and, when the model says so, its
/// first operand.
fn code_texts<'a>(parsed: &'a ParsedArgs, code: &super::model::Code) -> Vec<&'a str> {
    let operands = &parsed.positionals[parsed.subcommand_words.min(parsed.positionals.len())..];
    parsed
        .flags
        .iter()
        .filter(|f| code.options.contains(&f.name))
        .filter_map(|f| f.value.as_deref())
        .chain(code.operand.then(|| operands.first().map(String::as_str)).flatten())
        .collect()
}

/// `$PROD_DATABASE_URL` or `${LIVE_DB}` is `PROD_DATABASE_URL` / `LIVE_DB`.
fn variable_name(word: &str) -> Option<String> {
    let name = word.strip_prefix('$')?.trim_start_matches('{');
    let name: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Programs that take SQL and a database as their first operand.
fn is_sql_client(program: &str) -> bool {
    matches!(
        program,
        "psql"
            | "pgcli"
            | "mysql"
            | "mariadb"
            | "mycli"
            | "dropdb"
            | "createdb"
            | "pg_dump"
            | "mysqldump"
            | "sqlcmd"
            | "usql"
            | "cockroach"
            | "clickhouse-client"
            | "mongosh"
            | "mongo"
            | "mongodump"
            | "sqlite3"
            | "sqlite"
            | "duckdb"
            | "litecli"
    )
}

/// `user@host` is `host`.
fn host(word: &str) -> String {
    word.rsplit_once('@').map_or(word, |(_, h)| h).to_owned()
}

/// What the command does: the model's declared effect, its verbs, and any SQL or database
/// script it is given.
pub(super) fn effect(program: &str, parsed: &ParsedArgs, stdin: Option<&str>) -> Option<Effect> {
    let program = canonical(program);
    let declared = parsed.chain.iter().rev().find_map(|s| s.effect);
    // A subcommand's own declaration is final; the program's is only a default.
    let mut effect =
        declared.filter(|_| parsed.chain.len() > 1 && parsed.chain.last().is_some_and(|s| s.effect.is_some()));
    let verbs = verbs();
    let driven = verbs.drives(program) || declared.is_some();
    if effect.is_none() && driven {
        let skip = usize::from(verbs.grouped(program));
        effect = parsed
            .positionals
            .iter()
            .skip(skip)
            .filter(|w| !w.contains(['/', '=', '@']) && !w.starts_with(|c: char| c.is_ascii_digit()))
            .find_map(|w| verbs.classify(w));
    }
    if effect.is_none() && driven {
        // `kafka-topics --delete`, `pg_restore --clean`, `ansible -m ping`: verbs spelled as
        // switches, or as the value of an option that names the operation.
        let verb_options: Vec<&String> = parsed.chain.iter().flat_map(|s| s.verb_options.iter()).collect();
        effect = parsed
            .flags
            .iter()
            .filter_map(|f| match &f.value {
                Some(v) if verb_options.contains(&&f.name) => verbs.classify(v),
                // A switch only says more than the program's own default (`ansible-playbook
                // --diff` still applies the playbook; previews are read below).
                None => verbs
                    .classify(&f.name)
                    .filter(|found| declared.is_none_or(|d| *found >= d)),
                Some(_) => None,
            })
            .max();
    }
    if effect.is_none()
        && let Some((verb, noun)) = program.split_once('-')
        && verb.len() > 2
        && verb.starts_with(|c: char| c.is_ascii_uppercase())
        && verb.chars().skip(1).all(|c| c.is_ascii_lowercase())
        && noun.starts_with(|c: char| c.is_ascii_uppercase())
    {
        // A PowerShell cmdlet says what it does by its approved verb (`Remove-AzResourceGroup`,
        // `Restart-AzWebApp`, `Get-AzVM`).
        effect = match verb {
            "Remove" | "Clear" | "Uninstall" | "Unregister" | "Disconnect" | "Dismount" => Some(Effect::Destroy),
            "Get" | "Find" | "Search" | "Test" | "Measure" | "Show" | "Read" | "Resolve" | "Select" | "Compare"
            | "Format" | "Out" | "Export" | "Watch" | "Trace" | "Debug" | "Confirm" | "Wait" | "ConvertTo"
            | "ConvertFrom" => Some(Effect::Read),
            _ => Some(Effect::Mutate),
        };
    }
    if effect.is_none()
        && matches!(
            program,
            "manage.py" | "django-admin" | "artisan" | "console" | "rails" | "rake"
        )
        && parsed.positionals.first().is_some_and(|w| !w.starts_with('-'))
    {
        // A framework's own or custom command whose name says nothing (`manage.py
        // backfill_currency`, `artisan orders:reconcile`) runs application code with the
        // application's rights: where it acts, it may change anything.
        effect = Some(Effect::Mutate);
    }
    if effect.is_none() && parsed.chain.iter().skip(1).any(|s| s.mutates) {
        effect = Some(Effect::Mutate);
    }
    if effect.is_none() && !driven && plain_words(program) {
        effect = parsed
            .positionals
            .iter()
            .filter(|w| is_name(w) && !w.contains('='))
            .find_map(|w| verbs.classify_strong(w));
    }
    if effect.is_none() && runs_command_module(parsed) {
        // `ansible web -m ansible.builtin.command -a 'nginx -t'`: the command it runs on the
        // hosts is judged as itself, where they are, instead of the program's default.
        return None;
    }
    effect = effect.or(declared);
    if effect.is_some_and(|e| e > Effect::Read)
        && driven
        && parsed
            .flags
            .iter()
            .any(|f| verbs.previews(&f.name) && f.value.as_deref().is_none_or(previews_with))
    {
        // `--dry-run`, `--check`, `--what-if`: the command only shows what it would do.
        effect = Some(Effect::Read);
    }
    if matches!(program, "redis-cli" | "valkey-cli")
        && let Some(text) = stdin
    {
        // Commands fed on standard input (`redis-cli -h cache.live <<EOF ... EOF`), each judged
        // by its name (and a container command's second word: `CONFIG SET`).
        for line in text.lines() {
            for word in line.split_whitespace().take(2) {
                effect = effect.max(verbs.classify(&word.to_ascii_lowercase()));
            }
        }
    }
    let code = parsed.chain.iter().rev().find_map(|s| s.code.as_ref());
    let Some(code) = code else {
        return effect;
    };
    // What the code it is given does: SQL and MongoDB statements, or application code run against
    // a database (`rails runner 'Order.where(...).delete_all'`).
    let judge: Option<fn(&str) -> Option<Effect>> = match code.language.as_str() {
        "sql" => Some(sql),
        "javascript" if is_database(program) => Some(mongo),
        "ruby" | "python" | "elixir" | "php" => Some(orm),
        _ => None,
    };
    if let Some(judge) = judge {
        for text in code_texts(parsed, code).into_iter().chain(stdin) {
            effect = effect.max(judge(text));
        }
    }
    if code.language == "sql" || code.language == "javascript" && is_database(program) {
        // `psql -f migration.sql`: a script file it runs changes what it reaches, unless read.
        if parsed
            .flags
            .iter()
            .any(|f| matches!(f.name.as_str(), "f" | "file") && f.value.is_some())
        {
            effect = effect.max(Some(Effect::Mutate));
        }
    }
    effect
}

/// Whether the operation named by a verb option is a module that runs the shell command it is
/// given as plain text (`-m shell -a 'df -h'`, `-m ansible.builtin.command -a 'nginx -t'`), so
/// that command is judged where it runs instead of the program's default. Free-form keys
/// (`cmd=`, `argv=`), JSON, `@file` arguments and Windows modules are not read, so they keep the
/// default.
fn runs_command_module(parsed: &ParsedArgs) -> bool {
    let verb_options: Vec<&String> = parsed.chain.iter().flat_map(|s| s.verb_options.iter()).collect();
    let module = parsed
        .flags
        .iter()
        .rev()
        .find(|f| verb_options.contains(&&f.name))
        .and_then(|f| f.value.as_deref());
    let shell_module = module.is_some_and(|m| {
        matches!(
            m,
            "command" | "shell" | "raw" | "ansible.builtin.command" | "ansible.builtin.shell" | "ansible.builtin.raw"
        )
    });
    let text = parsed
        .flags
        .iter()
        .rev()
        .find(|f| matches!(f.name.as_str(), "a" | "args"))
        .and_then(|f| f.value.as_deref());
    shell_module
        && text.is_some_and(|t| {
            let t = t.trim_start();
            !t.is_empty()
                && !t.starts_with(['{', '[', '@'])
                && !t.split_whitespace().any(|w| {
                    [
                        "cmd=",
                        "argv=",
                        "chdir=",
                        "creates=",
                        "removes=",
                        "executable=",
                        "stdin=",
                    ]
                    .iter()
                    .any(|k| w.starts_with(k))
                })
        })
}

fn is_database(program: &str) -> bool {
    matches!(program_name(program), "mongosh" | "mongo")
}

/// What SQL text does, statement by statement: `DROP`/`TRUNCATE` and a `DELETE` without a real
/// `WHERE` destroy; writes and schema changes mutate; queries read.
pub(crate) fn sql(text: &str) -> Option<Effect> {
    let mut effect: Option<Effect> = None;
    for statement in text.split(';') {
        let upper = statement.to_ascii_uppercase();
        let words: Vec<&str> = upper
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\\'))
            .filter(|w| !w.is_empty())
            .collect();
        let Some(first) = words.first() else { continue };
        let found = match *first {
            "DROP" | "TRUNCATE" => Effect::Destroy,
            "DELETE" => {
                let filtered = upper.find(" WHERE ").is_some_and(|at| {
                    let cond = upper[at + 7..].trim();
                    !(cond.starts_with("TRUE") || cond.starts_with("1=1") || cond.starts_with("1 = 1"))
                });
                if filtered { Effect::Mutate } else { Effect::Destroy }
            }
            "UPDATE" | "INSERT" | "ALTER" | "CREATE" | "GRANT" | "REVOKE" | "MERGE" | "REPLACE" | "UPSERT" | "COPY"
            | "CALL" | "EXEC" | "EXECUTE" | "RENAME" | "COMMENT" | "VACUUM" | "REINDEX" | "CLUSTER" | "REFRESH"
            | "LOAD" | "SET" | "DO" | "LOCK" | "IMPORT" | "UNLOAD" | "KILL" | "FLUSH" | "RESET" | "OPTIMIZE"
            | "REPAIR" | "INSTALL" | "UNINSTALL" | "SHUTDOWN" | "CHECKPOINT" | "ANALYZE" | "DISCARD" => Effect::Mutate,
            "PURGE" => Effect::Destroy,
            "SELECT" | "SHOW" | "EXPLAIN" | "DESCRIBE" | "DESC" | "WITH" | "VALUES" | "TABLE" | "USE" | "BEGIN"
            | "COMMIT" | "ROLLBACK" | "\\D" | "\\DT" | "\\L" => Effect::Read,
            _ => continue,
        };
        // `WITH ... DELETE` and friends: a data-changing word inside a query counts too, and so
        // does a function that changes the server (`SELECT pg_terminate_backend(pid) ...`).
        // `ALTER TABLE … DROP COLUMN|PARTITION`: a change that throws data away.
        let found = if first == &"ALTER"
            && words.windows(2).any(|w| {
                matches!(w[0], "DROP" | "TRUNCATE") && matches!(w[1], "COLUMN" | "PARTITION" | "DETACHED" | "TABLE")
            }) {
            Effect::Destroy
        } else {
            found
        };
        let inner = if found == Effect::Read
            && (words
                .iter()
                .any(|w| matches!(*w, "DELETE" | "UPDATE" | "INSERT" | "DROP" | "TRUNCATE"))
                || SERVER_FUNCTIONS.iter().any(|f| upper.contains(f)))
        {
            Effect::Mutate
        } else {
            found
        };
        effect = effect.max(Some(inner));
    }
    effect
}

/// Whether a preview switch's value keeps it a preview (`--dry-run=server`, `--check=true`), not
/// turns it off (`--dry-run=none`).
pub(super) fn previews_with(value: &str) -> bool {
    // Only values known to keep it a preview: `kubectl --dry-run=f` runs for real.
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "t" | "1" | "yes" | "y" | "on" | "client" | "server" | "all"
    )
}

/// Functions a query can call that change the server, not only read it: ending sessions,
/// reloading settings, moving sequences, dropping replication slots, promoting a replica.
const SERVER_FUNCTIONS: [&str; 14] = [
    "PG_TERMINATE_BACKEND",
    "PG_CANCEL_BACKEND",
    "PG_RELOAD_CONF",
    "PG_ROTATE_LOGFILE",
    "PG_SWITCH_WAL",
    "PG_PROMOTE",
    "PG_WAL_REPLAY_",
    "PG_DROP_REPLICATION_SLOT",
    "PG_CREATE_",
    "PG_REPLICATION_ORIGIN_",
    "SETVAL(",
    "SET_CONFIG(",
    "LO_UNLINK",
    "DBLINK_EXEC",
];

/// The names SQL acts on: the word after `FROM`, `INTO`, `UPDATE`, `TABLE`, `JOIN`, `DATABASE`,
/// `SCHEMA`.
fn sql_names(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| {
            matches!(
                w[0].to_ascii_uppercase().as_str(),
                "FROM" | "INTO" | "UPDATE" | "TABLE" | "JOIN" | "DATABASE" | "SCHEMA" | "EXISTS"
            ) && !matches!(w[1].to_ascii_uppercase().as_str(), "IF" | "NOT" | "EXISTS")
        })
        .map(|w| {
            w[1].trim_matches(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
                .to_owned()
        })
        .filter(|n| !n.is_empty())
        .take(16)
        .collect()
}

/// What application code does to the data it reaches through an ORM (Active Record, Django,
/// Ecto, Eloquent, SQLAlchemy): mass deletes and drops destroy, writes mutate.
pub(super) fn orm(text: &str) -> Option<Effect> {
    const DESTROYS: [&str; 12] = [
        "delete_all",
        "destroy_all",
        ".delete()",
        "drop_table",
        "truncate",
        "Repo.delete_all",
        "::truncate(",
        ".destroy!",
        "drop_collection",
        "DROP TABLE",
        "DELETE FROM",
        ".purge",
    ];
    const MUTATES: [&str; 12] = [
        "update_all",
        ".update(",
        ".save",
        "create!",
        ".create(",
        "Repo.update",
        "Repo.insert",
        ".insert(",
        "update_column",
        "bulk_create",
        "bulk_update",
        "execute(",
    ];
    if DESTROYS.iter().any(|d| text.contains(d)) {
        Some(Effect::Destroy)
    } else if MUTATES.iter().any(|m| text.contains(m)) {
        Some(Effect::Mutate)
    } else {
        None
    }
}

/// What MongoDB shell code does.
fn mongo(text: &str) -> Option<Effect> {
    let destroys = [
        "dropDatabase",
        ".drop(",
        "deleteMany",
        "remove(",
        "dropIndexes",
        "dropUser",
    ];
    let mutates = [
        "insert",
        "update",
        "replace",
        "createIndex",
        "createCollection",
        "renameCollection",
        "bulkWrite",
    ];
    if destroys.iter().any(|d| text.contains(d)) {
        Some(Effect::Destroy)
    } else if mutates.iter().any(|m| text.contains(m)) {
        Some(Effect::Mutate)
    } else {
        Some(Effect::Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQL is classified statement by statement; an unfiltered DELETE destroys.
    #[test]
    fn sql_effects() {
        assert_eq!(sql("SELECT * FROM users LIMIT 10"), Some(Effect::Read));
        assert_eq!(sql("drop table users"), Some(Effect::Destroy));
        assert_eq!(
            sql("DELETE FROM analytics_prod.events WHERE true"),
            Some(Effect::Destroy)
        );
        assert_eq!(sql("DELETE FROM events WHERE id = 4"), Some(Effect::Mutate));
        assert_eq!(
            sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle'"),
            Some(Effect::Mutate)
        );
        assert_eq!(sql("select setval('orders_id_seq', 1)"), Some(Effect::Mutate));
        assert_eq!(sql("KILL 4711"), Some(Effect::Mutate));
        assert_eq!(
            sql("ALTER TABLE events.page_views ON CLUSTER prod DROP PARTITION 202401"),
            Some(Effect::Destroy)
        );
        assert_eq!(sql("ALTER TABLE users ADD COLUMN age int"), Some(Effect::Mutate));
        assert_eq!(sql("PURGE BINARY LOGS BEFORE now()"), Some(Effect::Destroy));
        assert_eq!(sql("SELECT * FROM pg_stat_activity"), Some(Effect::Read));
        assert_eq!(sql("select 1; update t set a = 1"), Some(Effect::Mutate));
        assert_eq!(
            sql("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"),
            Some(Effect::Mutate)
        );
    }
}
