//! `deal audit [--last N]`: the last N closed deals, from git history.

use clap::Args;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::{StatsFormat, WideFlag};
use crate::reports::audit::{self, TRAINING_WINDOW_DAYS};
use crate::store::pipeline::{Pipeline, find_root};
use crate::store::repo::Repo;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How many closed deals
    #[arg(long, default_value_t = 30)]
    pub last: usize,
    /// Output format
    #[arg(long, value_enum, default_value_t = StatsFormat::Human)]
    pub format: StatsFormat,
    #[command(flatten)]
    pub wide: WideFlag,
}

pub fn run(ctx: &Ctx, a: AuditArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let p = Pipeline::load_slim(&root)?;
    p.warn_unreadable();
    let repo = Repo::require(&root, "deal audit reads git history")?;
    let prefix = repo.rel(&root)?;
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let closed = audit::candidates(&p.deals, a.last);
    let deals = format!("{prefix}{}/", p.cfg.deals_dir.trim_end_matches('/'));
    let touches = match repo.commit_of("HEAD") {
        Ok(head) => audit::touches(repo.git(), head, &deals, &p.cfg, &closed),
        Err(_) => Default::default(),
    };
    let mut r = audit::audit(&p.cfg, &p.deals, &touches, a.last);
    r.unreadable = p.unreadable();
    if a.format == StatsFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).unwrap_or_else(|_| "{}".into())
        );
        return Ok(0);
    }
    print!("{}", text(&r));
    Ok(0)
}

/// The audit as the terminal shows it: the heading, each deal's block,
/// then the summary.
fn text(r: &audit::Audit) -> String {
    let mut out = format!(
        "The last {} closed deal{} (newest first):\n",
        r.deals.len(),
        if r.deals.len() == 1 { "" } else { "s" }
    );
    for d in &r.deals {
        out.push_str(&deal_block(d));
    }
    out.push_str(&summary(r));
    out
}

/// One closed deal: its headline, a row per stage it passed, then its
/// stall, owner changes, skipped stages and forced moves when it has any.
fn deal_block(d: &audit::DealAudit) -> String {
    let mut out = format!(
        "\n{} — {}{}, owner {}{}\n",
        d.slug,
        d.outcome,
        d.closed
            .as_deref()
            .map(|c| format!(" on {c}"))
            .unwrap_or_default(),
        d.owner,
        match (&d.lost_reason, &d.lost_stage) {
            (Some(r), Some(s)) => format!(", lost at {s}: {r}"),
            (Some(r), None) => format!(", lost: {r}"),
            _ => String::new(),
        }
    );
    for s in &d.stages {
        out.push_str(&format!(
            "  {:<14} {}  {:>8}  {}\n",
            s.stage,
            s.entered,
            s.days.map(|x| format!("{x:.1} d")).unwrap_or_default(),
            s.owner.as_deref().unwrap_or("(no recorded owner)")
        ));
    }
    if let Some(g) = d.longest_stall_days {
        out.push_str(&format!(
            "  longest stall: {g:.1} days in {}{}\n",
            d.stall_stage.as_deref().unwrap_or("?"),
            if d.process_gap { "  [process gap]" } else { "" }
        ));
    }
    if !d.owner_changes.is_empty() {
        out.push_str(&format!(
            "  owner changes: {}\n",
            d.owner_changes.join("; ")
        ));
    }
    if !d.skipped.is_empty() {
        out.push_str(&format!("  skipped: {}\n", d.skipped.join(", ")));
    }
    if !d.forced.is_empty() {
        out.push_str(&forced_line(d));
    }
    out
}

/// A deal's forced moves, each with whoever forced it, then its waivers;
/// marked when the deal was lost soon after (a training gap).
fn forced_line(d: &audit::DealAudit) -> String {
    let said: Vec<String> = d
        .forced_moves
        .iter()
        .map(|f| match &f.by {
            Some(by) => format!("forced move by {by}: {}", f.reason),
            None => format!("forced move: {}", f.reason),
        })
        .chain(
            d.forced
                .iter()
                .filter(|f| !f.starts_with("forced move"))
                .cloned(),
        )
        .collect();
    format!(
        "  {}{}\n",
        said.join("; "),
        if d.training_gap {
            "  [training gap]"
        } else {
            ""
        }
    )
}

/// The closing summary: where deals stalled and were lost from, who
/// forced or waived, and the count of process and training gaps.
fn summary(r: &audit::Audit) -> String {
    let mut out = String::from("\nSummary\n");
    out.push_str(&format!(
        "  most deals stalled in: {}\n",
        r.most_stalled_stage.as_deref().unwrap_or("–")
    ));
    out.push_str(&format!(
        "  most lost deals left from: {}\n",
        r.most_lost_from.as_deref().unwrap_or("–")
    ));
    let per: Vec<String> = r
        .forced_by_owner
        .iter()
        .filter(|o| o.forced + o.waivers > 0)
        .map(|o| format!("{} {} forced, {} waived", o.owner, o.forced, o.waivers))
        .collect();
    out.push_str(&format!(
        "  forced moves and waivers: {}\n",
        if per.is_empty() {
            "none".to_string()
        } else {
            per.join("; ")
        }
    ));
    out.push_str(&format!(
        "  process gaps: {} (a stall with no activity longer than the stage's rot_after_days)\n",
        r.process_gaps
    ));
    out.push_str(&format!(
        "  training gaps: {} (lost within {TRAINING_WINDOW_DAYS:.0} days of a forced or waived stage)\n",
        r.training_gaps
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed deal with nothing remarkable: won, one stage, no stall.
    fn plain(slug: &str) -> audit::DealAudit {
        audit::DealAudit {
            slug: slug.into(),
            outcome: "won".into(),
            closed: Some("2024-03-01".into()),
            closed_at: None,
            owner: "ana".into(),
            stages: vec![audit::StageSpan {
                stage: "qualify".into(),
                entered: "2024-02-01".into(),
                days: Some(29.0),
                owner: None,
            }],
            longest_stall_days: None,
            stall_stage: None,
            owner_changes: Vec::new(),
            unowned_stages: Vec::new(),
            skipped: Vec::new(),
            forced: Vec::new(),
            forced_moves: Vec::new(),
            waivers: Vec::new(),
            lost_reason: None,
            lost_stage: None,
            process_gap: false,
            training_gap: false,
        }
    }

    fn report(deals: Vec<audit::DealAudit>) -> audit::Audit {
        audit::Audit {
            deals,
            most_stalled_stage: None,
            most_lost_from: None,
            forced_by_owner: Vec::new(),
            process_gaps: 0,
            training_gaps: 0,
            unreadable: Vec::new(),
        }
    }

    #[test]
    fn a_plain_deal_is_a_headline_and_its_stage_rows() {
        assert_eq!(
            deal_block(&plain("acme")),
            "\nacme — won on 2024-03-01, owner ana\n  qualify        2024-02-01    29.0 d  (no recorded owner)\n"
        );
    }

    #[test]
    fn a_lost_deal_names_where_and_why_it_was_lost() {
        let mut d = plain("acme");
        d.outcome = "lost".into();
        d.stages.clear();
        d.lost_reason = Some("budget".into());
        d.lost_stage = Some("propose".into());
        assert_eq!(
            deal_block(&d),
            "\nacme — lost on 2024-03-01, owner ana, lost at propose: budget\n"
        );
        d.lost_stage = None;
        assert!(deal_block(&d).ends_with(", lost: budget\n"));
    }

    #[test]
    fn forced_moves_come_before_the_waivers_and_name_who_forced() {
        let mut d = plain("acme");
        d.training_gap = true;
        d.forced = vec!["forced move: rush".into(), "waived demo: none".into()];
        d.forced_moves = vec![audit::ForcedMove {
            date: None,
            by: Some("bob".into()),
            owner: None,
            reason: "rush".into(),
            waived: 0,
        }];
        assert_eq!(
            forced_line(&d),
            "  forced move by bob: rush; waived demo: none  [training gap]\n"
        );
    }

    #[test]
    fn the_summary_says_none_when_nobody_forced_or_waived() {
        let mut r = report(Vec::new());
        r.forced_by_owner = vec![audit::OwnerForced {
            owner: "ana".into(),
            forced: 0,
            waivers: 0,
        }];
        let s = summary(&r);
        assert!(s.starts_with("\nSummary\n  most deals stalled in: –\n"));
        assert!(s.contains("  forced moves and waivers: none\n"));
        r.forced_by_owner[0].forced = 2;
        assert!(summary(&r).contains("  forced moves and waivers: ana 2 forced, 0 waived\n"));
    }

    #[test]
    fn the_heading_counts_the_deals_in_the_singular_for_one() {
        assert!(
            text(&report(vec![plain("a")])).starts_with("The last 1 closed deal (newest first):\n")
        );
        assert!(
            text(&report(vec![plain("a"), plain("b")]))
                .starts_with("The last 2 closed deals (newest first):\n")
        );
    }
}
