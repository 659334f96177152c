//! The page frame and the small pieces every view shows the same way: outcome and severity
//! badges, counts, instants, durations.

use axum::response::Html;
use cavra_core::{Outcome, Severity};
use maud::{DOCTYPE, Markup, html};

use crate::auth::Principal;

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The overview.
    Overview,
    /// The sessions table or a timeline.
    Sessions,
    /// The decisions table or a decision.
    Decisions,
    /// None (sign-in, errors).
    None,
}

/// A whole page: header with navigation, `body` in the main landmark.
pub fn frame(title: &str, nav: Nav, viewer: Option<&Principal>, body: Markup) -> Html<String> {
    let link = |href: &str, label: &str, this: Nav| {
        html! {
            @if nav == this {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · cavra" }
                link rel="stylesheet" href=(format!("/console/assets/console.css?v={}", env!("CARGO_PKG_VERSION")));
                script src=(format!("/console/assets/console.js?v={}", env!("CARGO_PKG_VERSION"))) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console" {
                        span.mark aria-hidden="true" { "◆" }
                        " cavra "
                        span.sub { "Activity Explorer" }
                    }
                    nav aria-label="Main" {
                        (link("/console", "Overview", Nav::Overview))
                        (link("/console/sessions", "Sessions", Nav::Sessions))
                        (link("/console/decisions", "Decisions", Nav::Decisions))
                    }
                    div.who {
                        @match viewer {
                            Some(Principal::Token { id, role, .. }) => {
                                span { (role.as_str()) " · " code { (id) } }
                                form method="post" action="/console/sign-out" {
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                            Some(Principal::Local) => span title="No API tokens are configured; this server answers loopback requests only" { "local access" },
                            None => {}
                        }
                    }
                }
                div.busy-bar aria-hidden="true" {}
                main #main { (body) }
                footer.foot {
                    "cavra " (env!("CARGO_PKG_VERSION")) " · times in UTC · "
                    a href="/openapi.json" { "API" }
                }
            }
        }
    };
    Html(page.into_string())
}

/// A person's name for an outcome.
pub fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "Allow",
        Outcome::AuditOnly => "Audit only",
        Outcome::Warn => "Warn",
        Outcome::AllowWithAttestation => "Attested",
        Outcome::RequireApproval => "Needs approval",
        Outcome::Block => "Block",
    }
}

/// Outcomes as stacked in charts and listed in legends: most severe last (on top).
pub const STACK: [Outcome; 6] = [
    Outcome::Allow,
    Outcome::AuditOnly,
    Outcome::AllowWithAttestation,
    Outcome::Warn,
    Outcome::RequireApproval,
    Outcome::Block,
];

/// The outcome as a coloured badge.
pub fn outcome(o: Outcome) -> Markup {
    html! { span class=(format!("badge o-{}", o.as_str())) title=(o.as_str()) { (outcome_label(o)) } }
}

/// The severity as a badge.
pub fn severity(s: Severity) -> Markup {
    html! { span class=(format!("sev s-{}", s.as_str())) { (s.as_str()) } }
}

/// A count with thousands separators.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An RFC 3339 instant as `2026-11-25 14:03:07` (UTC, seconds), with the full value on hover.
pub fn instant(ts: &str) -> Markup {
    let short = chrono::DateTime::parse_from_rfc3339(ts)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| ts.to_owned());
    html! { time datetime=(ts) title=(ts) { (short) } }
}

/// How long ago `ts` was, relative to `now_us`: `just now`, `5 min ago`, `3 h ago`, `2 d ago`.
pub fn ago(ts: &str, now_us: i64) -> String {
    match cavra_store::model::parse_timestamp(ts) {
        Ok(t) if now_us.saturating_sub(t) < 1_000_000 => "just now".to_owned(),
        Ok(t) => format!("{} ago", duration(now_us.saturating_sub(t))),
        Err(_) => String::new(),
    }
}

/// A duration in microseconds, short: `850 ms`, `12 s`, `4 min`, `3 h 5 min`, `2 d 4 h`.
pub fn duration(us: i64) -> String {
    let ms = us / 1000;
    let s = ms / 1000;
    if us < 1000 {
        format!("{us} µs")
    } else if ms < 1000 {
        format!("{ms} ms")
    } else if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} d {} h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// The first characters of a hash, with the whole on hover.
pub fn short_hash(hash: Option<&str>) -> Markup {
    match hash {
        Some(h) => html! { code.hash title=(h) { (h.get(..12).unwrap_or(h)) "…" } },
        None => html! { span.muted { "none" } },
    }
}

/// The current time in microseconds since the epoch.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts get thousands separators.
    #[test]
    fn counts_are_grouped() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    /// Durations read short at every scale.
    #[test]
    fn durations_are_short() {
        assert_eq!(duration(500), "500 µs");
        assert_eq!(duration(12_000_000), "12 s");
        assert_eq!(duration(3_700_000_000), "1 h 1 min");
    }
}
