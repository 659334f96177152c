//! The reference system's section format, converted to rules on load.
//!
//! Its users' packs keep working, with cavra's semantics: command patterns are analysed as
//! commands (program, flags, leading arguments), not matched as whole strings, and the rules are
//! ordered block → approval → allow so that an allow pattern such as `git*` can never shadow a
//! block. Unknown sections and keys are errors, never silently ignored.

use saphyr::MarkedYaml;

use super::is_valid_pack_id;
use super::model::{CommandMatch, FileAccess, FileMatch, GitMatch, Matcher, McpMatch, PipelineMatch, PolicyPack, Rule};
use super::yaml::{Entries, Reader};
use crate::decision::{Outcome, Severity};
use crate::shell;

pub(super) fn convert(r: &mut Reader<'_>, root: &MarkedYaml<'_>, entries: &Entries<'_, '_>) -> Option<PolicyPack> {
    r.only_keys(
        root,
        entries,
        &["metadata", "filesystem", "commands", "mcp"],
        "a section-format pack",
    );
    let mut pack = PolicyPack::empty(r.file, root.span.start.line());
    let mut blocks = Vec::new();
    let mut approvals = Vec::new();
    let mut allows = Vec::new();
    for (key, value) in entries {
        match *key {
            "metadata" => metadata(r, value, &mut pack),
            "filesystem" => {
                let Some(fs) = r.map(value, "`filesystem`") else {
                    continue;
                };
                r.only_keys(
                    value,
                    &fs,
                    &["block_read", "block_write", "require_approval_write"],
                    "`filesystem`",
                );
                for (section, node) in fs {
                    let (access, outcome, severity, verb) = match section {
                        "block_read" => (FileAccess::Read, Outcome::Block, Severity::High, "reading"),
                        "block_write" => (FileAccess::Write, Outcome::Block, Severity::High, "writing"),
                        "require_approval_write" => {
                            (FileAccess::Write, Outcome::RequireApproval, Severity::Medium, "writing")
                        }
                        _ => continue,
                    };
                    let paths = r.globs(node, &format!("`filesystem.{section}`"));
                    let rule = Rule {
                        id: format!("filesystem.{section}"),
                        description: format!("converted from `filesystem.{section}`"),
                        matcher: Matcher::File(FileMatch {
                            paths: paths.clone(),
                            access,
                            ..FileMatch::default()
                        }),
                        decision: outcome,
                        severity,
                        reason: format!("The pack does not allow {verb} {}.", paths.join(", ")),
                        suggestion: None,
                        approver_group: None,
                        fallback: false,
                        line: node.span.start.line(),
                    };
                    if outcome == Outcome::Block {
                        blocks.push(rule)
                    } else {
                        approvals.push(rule)
                    }
                }
            }
            "commands" => {
                let Some(cmds) = r.map(value, "`commands`") else {
                    continue;
                };
                r.only_keys(value, &cmds, &["block", "allow", "require_approval"], "`commands`");
                for (section, node) in cmds {
                    let (outcome, severity) = match section {
                        "block" => (Outcome::Block, Severity::High),
                        "require_approval" => (Outcome::RequireApproval, Severity::Medium),
                        "allow" => (Outcome::Allow, Severity::Low),
                        _ => continue,
                    };
                    let patterns = r.strings(node, &format!("`commands.{section}`"));
                    for (i, pattern) in patterns.iter().enumerate() {
                        let Some(matcher) = command_pattern(pattern) else {
                            r.err(
                                node,
                                format!("`commands.{section}`: pattern `{pattern}` names no command"),
                            );
                            continue;
                        };
                        for g in matcher_globs(&matcher) {
                            if let Err(e) = globset::Glob::new(g) {
                                r.err(
                                    node,
                                    format!("invalid pattern `{pattern}` in `commands.{section}`: {}", e.kind()),
                                );
                            }
                        }
                        let verb = match outcome {
                            Outcome::Block => "blocks",
                            Outcome::RequireApproval => "requires approval for",
                            _ => "allows",
                        };
                        let rule = Rule {
                            id: format!("commands.{section}.{}", i + 1),
                            description: format!("converted from `commands.{section}`: `{pattern}`"),
                            matcher,
                            decision: outcome,
                            severity,
                            reason: format!("The pack {verb} `{pattern}`."),
                            suggestion: None,
                            approver_group: None,
                            fallback: false,
                            line: node.span.start.line(),
                        };
                        match outcome {
                            Outcome::Block => blocks.push(rule),
                            Outcome::RequireApproval => approvals.push(rule),
                            _ => allows.push(rule),
                        }
                    }
                }
            }
            "mcp" => mcp(r, value, &mut blocks, &mut allows),
            _ => {}
        }
    }
    if pack.id.is_empty() {
        let stem = std::path::Path::new(r.file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("");
        if is_valid_pack_id(stem) {
            pack.id = stem.to_owned();
        } else {
            r.err(
                root,
                "a section-format pack needs `metadata.id` (lowercase letters, digits and `-`)",
            );
        }
    }
    // The reference system always guarded protected branches; converted packs keep that, as
    // branch rules (an allow pattern like `git*` decides the command part, not the push).
    let git_rules = [
        (
            "git.force-push",
            GitMatch {
                operations: vec!["push".to_owned()],
                force: Some(true),
                ..GitMatch::default()
            },
            "A force push rewrites history other people have pulled.",
            Some("`git push --force-with-lease`, which refuses when the remote moved."),
        ),
        (
            "git.protected-push",
            GitMatch {
                operations: vec!["push".to_owned(), "merge".to_owned(), "branch_delete".to_owned()],
                protected: Some(true),
                ..GitMatch::default()
            },
            "Protected branches change only through reviewed pull requests.",
            Some("Push to a feature branch and open a pull request."),
        ),
    ];
    let guards = git_rules.into_iter().map(|(id, m, reason, suggestion)| Rule {
        id: id.to_owned(),
        description: "protected-branch guard kept from the section format".to_owned(),
        matcher: Matcher::Git(m),
        decision: Outcome::Block,
        severity: Severity::High,
        reason: reason.to_owned(),
        suggestion: suggestion.map(str::to_owned),
        approver_group: None,
        fallback: false,
        line: root.span.start.line(),
    });
    pack.rules = guards.chain(blocks).chain(approvals).chain(allows).collect();
    Some(pack)
}

fn metadata(r: &mut Reader<'_>, node: &MarkedYaml<'_>, pack: &mut PolicyPack) {
    let Some(meta) = r.map(node, "`metadata`") else {
        return;
    };
    r.only_keys(
        node,
        &meta,
        &["id", "name", "title", "description", "version", "owner", "tags"],
        "`metadata`",
    );
    for (key, value) in &meta {
        match *key {
            "id" => {
                if let Some(id) = r.string(value, "`metadata.id`") {
                    if !is_valid_pack_id(&id) {
                        r.err(
                            value,
                            format!("pack id `{id}` must be lowercase letters, digits and `-`"),
                        );
                    }
                    pack.id = id;
                }
            }
            "name" => {
                let name = r.string(value, "`metadata.name`").unwrap_or_default();
                if pack.id.is_empty() && is_valid_pack_id(&name) {
                    pack.id = name.clone();
                }
                if pack.title.is_empty() {
                    pack.title = name;
                }
            }
            "title" => pack.title = r.string(value, "`metadata.title`").unwrap_or_default(),
            "description" => pack.description = r.string(value, "`metadata.description`").unwrap_or_default(),
            "version" => pack.version = r.string(value, "`metadata.version`").unwrap_or_default(),
            _ => {
                let _ = r.strings(value, "`metadata`");
            }
        }
    }
}

fn mcp(r: &mut Reader<'_>, node: &MarkedYaml<'_>, blocks: &mut Vec<Rule>, allows: &mut Vec<Rule>) {
    let Some(entries) = r.map(node, "`mcp`") else {
        return;
    };
    r.only_keys(
        node,
        &entries,
        &["allowed_servers", "blocked_servers", "block_unknown_servers"],
        "`mcp`",
    );
    let mut allowed = Vec::new();
    let mut block_unknown = None;
    for (key, value) in &entries {
        match *key {
            "allowed_servers" => allowed = r.globs(value, "`mcp.allowed_servers`"),
            "blocked_servers" => {
                let servers = r.globs(value, "`mcp.blocked_servers`");
                blocks.push(Rule {
                    id: "mcp.blocked_servers".to_owned(),
                    description: "converted from `mcp.blocked_servers`".to_owned(),
                    matcher: Matcher::Mcp(McpMatch {
                        servers,
                        ..McpMatch::default()
                    }),
                    decision: Outcome::Block,
                    severity: Severity::High,
                    reason: "This MCP server is blocked by policy.".to_owned(),
                    suggestion: None,
                    approver_group: None,
                    fallback: false,
                    line: value.span.start.line(),
                });
            }
            "block_unknown_servers" => {
                block_unknown = r
                    .boolean(value, "`mcp.block_unknown_servers`")
                    .map(|b| (b, value.span.start.line()))
            }
            _ => {}
        }
    }
    if !allowed.is_empty() {
        allows.push(Rule {
            id: "mcp.allowed_servers".to_owned(),
            description: "converted from `mcp.allowed_servers`".to_owned(),
            matcher: Matcher::Mcp(McpMatch {
                servers: allowed.clone(),
                ..McpMatch::default()
            }),
            decision: Outcome::Allow,
            severity: Severity::Low,
            reason: "This MCP server is on the pack's allow-list.".to_owned(),
            suggestion: None,
            approver_group: None,
            fallback: false,
            line: node.span.start.line(),
        });
    }
    if let Some((true, line)) = block_unknown {
        blocks.push(Rule {
            id: "mcp.block_unknown_servers".to_owned(),
            description: "converted from `mcp.block_unknown_servers`".to_owned(),
            matcher: Matcher::Mcp(McpMatch {
                servers_not: allowed,
                ..McpMatch::default()
            }),
            decision: Outcome::Block,
            severity: Severity::High,
            reason: "This MCP server is not on the pack's allow-list.".to_owned(),
            suggestion: Some("Ask a platform admin to review and allow-list the server.".to_owned()),
            approver_group: None,
            fallback: false,
            line,
        });
    }
}

/// A whole-command glob as a matcher, with cavra's semantics: `terraform apply*` is the program
/// `terraform` with first argument `apply*`; `rm -rf /` is `rm` with its flags normalised and
/// first argument `/`; a trailing `*` argument means "any arguments"; `curl * | bash` is a
/// pipeline from `curl` into `bash`.
fn command_pattern(pattern: &str) -> Option<Matcher> {
    let line = shell::analyse(pattern, None);
    if let Some(stages) = line.pipelines.first() {
        let from = stages.first()?.programs.clone();
        let to = stages.last()?.programs.clone();
        return Some(Matcher::Pipeline(PipelineMatch {
            from,
            to,
            executes: false,
        }));
    }
    let cmd = line.commands.into_iter().next()?;
    let mut args = cmd.positionals;
    while args.last().is_some_and(|a| a == "*") {
        args.pop();
    }
    Some(Matcher::Command(Box::new(CommandMatch {
        program: vec![cmd.program],
        args,
        flags: cmd
            .flags
            .into_iter()
            .map(|f| f.name.trim_end_matches('*').to_owned())
            .filter(|f| !f.is_empty())
            .collect(),
        ..CommandMatch::default()
    })))
}

fn matcher_globs(m: &Matcher) -> Vec<&String> {
    match m {
        Matcher::Command(c) => c.program.iter().chain(&c.args).collect(),
        Matcher::Pipeline(p) => p.from.iter().chain(&p.to).collect(),
        _ => Vec::new(),
    }
}
