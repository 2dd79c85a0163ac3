//! `deal audit [--last N]`: the last N closed deals, from git history.

use crate::base::error::Error;
use crate::cli::args::{AuditArgs, StatsFormat};
use crate::cli::ctx::Ctx;
use crate::reports::audit::{self, TRAINING_WINDOW_DAYS};
use crate::store::pipeline::{Pipeline, find_root};
use crate::store::repo::Repo;

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
    let mut out = format!(
        "The last {} closed deal{} (newest first):\n",
        r.deals.len(),
        if r.deals.len() == 1 { "" } else { "s" }
    );
    for d in &r.deals {
        out.push_str(&format!(
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
        ));
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
            // Each forced move with whoever forced it, then the waivers.
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
            out.push_str(&format!(
                "  {}{}\n",
                said.join("; "),
                if d.training_gap {
                    "  [training gap]"
                } else {
                    ""
                }
            ));
        }
    }
    out.push_str("\nSummary\n");
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
    print!("{out}");
    Ok(0)
}
