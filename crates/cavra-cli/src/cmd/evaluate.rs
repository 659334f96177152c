//! `cavra evaluate`: decide one action, or a JSONL batch, and print the decision record.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use cavra_core::{Action, CompiledPack, DecisionRecord, Outcome, PackSet, evaluate};

use super::ActionArgs;
use crate::error::{CliError, EXIT_BLOCKED, EXIT_INVALID};
use crate::output::say;
use crate::packs;
use cavra_store::Stamper;

/// Decide an action against a policy pack.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cavra evaluate execute_command \"terraform plan && terraform apply -auto-approve\"\n  cavra evaluate read_file .env --json\n  cavra evaluate git_operation origin/main --operation push\n  cavra evaluate --batch actions.jsonl > decisions.jsonl"
)]
pub struct Args {
    #[command(flatten)]
    action: ActionArgs,
    /// Decide every action in a JSONL file (`-` for stdin), one decision record per line out, in
    /// order. A bad line gives an error object on its line. Exit 3 if any line was bad, else 2 if
    /// any action may not proceed, else 0.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["action_type", "target"])]
    batch: Option<PathBuf>,
    /// Print the decision record as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cavra evaluate`.
pub fn run(args: Args) -> Result<ExitCode, CliError> {
    if let Some(file) = &args.batch {
        let set = packs::load(args.action.policy_dir.as_deref())?;
        return batch(&set, file, &args.action.policy_pack);
    }
    let action = args.action.action()?;
    // One action decides with one pack: parse only what it needs and build each rule's matcher
    // when a decision first tries it, instead of compiling every built-in pack up front.
    let set = packs::load_one(args.action.policy_dir.as_deref(), action.policy_pack())?;
    let pack = packs::get(&set, action.policy_pack())?;
    let record = DecisionRecord::new(
        &action,
        evaluate(&action, &pack),
        pack.version(),
        Stamper::new().stamp(),
    );
    if args.json {
        let text = serde_json::to_string_pretty(&record).map_err(|e| CliError::Failed(e.to_string()))?;
        say!("{text}");
    } else {
        print_human(&record)?;
    }
    Ok(exit_for(record.decision))
}

fn exit_for(outcome: Outcome) -> ExitCode {
    if outcome.permits() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BLOCKED)
    }
}

fn print_human(r: &DecisionRecord) -> Result<(), CliError> {
    say!(
        "{} ({})  {}  [{} {}]",
        r.decision.as_str().to_uppercase(),
        r.severity,
        r.rule_id,
        r.policy_pack,
        r.pack_version
    );
    say!("  reason:     {}", r.reason);
    if let Some(s) = &r.suggestion {
        say!("  suggestion: {s}");
    }
    if let Some(g) = &r.approver_group {
        say!("  approver:   {g}");
    }
    for m in &r.matched {
        say!(
            "  fired:      {} → {} ({}) on `{}`",
            m.rule_id,
            m.decision,
            m.severity,
            m.part
        );
    }
    Ok(())
}

/// Decides every line of `file`, writing one JSON line per input line.
fn batch(set: &PackSet, file: &std::path::Path, default_pack: &str) -> Result<ExitCode, CliError> {
    let input: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).map_err(CliError::io(format!("cannot open `{}`", file.display())))?;
        Box::new(std::io::BufReader::with_capacity(1 << 16, f))
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut stamper = Stamper::new();
    let mut cache: Option<Arc<CompiledPack>> = None;
    let (mut any_invalid, mut any_blocked) = (false, false);
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(CliError::io(format!("cannot read `{}`", file.display())))?;
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let result = Action::from_json(&line)
            .map_err(|e| ("invalid_action", e.to_string()))
            .and_then(|mut action| {
                if action.policy_pack.is_none() {
                    action.policy_pack = Some(default_pack.to_owned());
                }
                let id = action.policy_pack();
                let pack = match &cache {
                    Some(p) if p.id() == id => Arc::clone(p),
                    _ => {
                        let p = set
                            .get(id)
                            .ok_or_else(|| ("unknown_pack", format!("unknown policy pack `{id}`")))?;
                        cache = Some(Arc::clone(&p));
                        p
                    }
                };
                let evaluation = evaluate(&action, &pack);
                Ok(DecisionRecord::new(
                    &action,
                    evaluation,
                    pack.version(),
                    stamper.stamp(),
                ))
            });
        let written = match result {
            Ok(record) => {
                any_blocked |= !record.decision.permits();
                serde_json::to_writer(&mut out, &record).map_err(std::io::Error::from)
            }
            Err((code, message)) => {
                any_invalid = true;
                let err = serde_json::json!({"error": {"code": code, "message": message, "line": number}});
                serde_json::to_writer(&mut out, &err).map_err(std::io::Error::from)
            }
        };
        written
            .and_then(|()| out.write_all(b"\n"))
            .map_err(CliError::io("cannot write output"))?;
    }
    out.flush().map_err(CliError::io("cannot write output"))?;
    Ok(if any_invalid {
        ExitCode::from(EXIT_INVALID)
    } else if any_blocked {
        ExitCode::from(EXIT_BLOCKED)
    } else {
        ExitCode::SUCCESS
    })
}
