//! `deal audit [--last N]`: the last N closed deals, from git history —
//! where they stalled, who owned each step, and whether a stall looks like
//! a process gap or a training gap.
//!
//! Sources. A deal's history is every commit that touched a file with its
//! slug under `deals_dir`, oldest first. The folder the file sits in after
//! each commit gives the stage it entered and when (commit time); a stage
//! the history does not show is taken from the `stages` front-matter (the
//! fallback, e.g. for imported deals). `Owner:`, `Previous-Owner:` and
//! `Forced:` trailers give owners and forced moves.
//!
//! Figures:
//! - **Days in stage**: from entering a stage to entering the next one.
//! - **Longest stall**: the longest gap between two consecutive records of
//!   activity up to the close: commits that touched the deal, and the stage
//!   entries (which fill in for history git lacks); and the stage it sat in
//!   meanwhile.
//! - **Stages without a recorded owner**: stages entered by a commit with no
//!   `Owner:` trailer (a move by hand) or known only from the front-matter.
//! - **Skipped stages**: stages between two consecutive entries that the
//!   deal never entered. **Forced**: commits with a `Forced:` trailer, and
//!   stages in `waived`.
//!
//! The split of gaps (a rough guide, not a verdict):
//! - a **process gap** is a stall with no activity longer than its stage's
//!   `rot_after_days` (14 days when the stage has none): nobody did anything,
//!   so the process lacked a next step or an owner;
//! - a **training gap** is a lost deal whose loss came within 30 days after
//!   a stage that was forced or waived: the rep skipped a step, and the deal
//!   died of it.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::deal::{Deal, Place};
use crate::repo::CommitInfo;
use crate::time::days_between;

/// Days after a forced or waived stage within which a loss counts as a
/// training gap.
pub const TRAINING_WINDOW_DAYS: f64 = 30.0;
/// The stall threshold for stages without `rot_after_days`.
pub const DEFAULT_STALL_DAYS: f64 = 14.0;

#[derive(Debug, Clone, Serialize)]
pub struct StageSpan {
    pub stage: String,
    pub entered: String,
    pub days: Option<f64>,
    /// The owner the entering commit recorded, if any.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DealAudit {
    pub slug: String,
    pub outcome: String,
    pub closed: Option<String>,
    pub owner: String,
    pub stages: Vec<StageSpan>,
    pub longest_stall_days: Option<f64>,
    pub stall_stage: Option<String>,
    pub owner_changes: Vec<String>,
    pub unowned_stages: Vec<String>,
    pub skipped: Vec<String>,
    pub forced: Vec<String>,
    pub lost_reason: Option<String>,
    pub lost_stage: Option<String>,
    pub process_gap: bool,
    pub training_gap: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnerForced {
    pub owner: String,
    pub forced: usize,
    pub waivers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub deals: Vec<DealAudit>,
    pub most_stalled_stage: Option<String>,
    pub most_lost_from: Option<String>,
    pub forced_by_owner: Vec<OwnerForced>,
    pub process_gaps: usize,
    pub training_gaps: usize,
}

fn ts(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

/// `bob <bob@example.com>` → `bob`.
fn handle(v: &str) -> String {
    v.split('<').next().unwrap_or(v).trim().to_string()
}

/// The place a repository path names, if it is this deal's file.
fn place_in(cfg: &Config, prefix: &str, slug: &str, path: &str) -> Option<Place> {
    let rel = path.strip_prefix(prefix)?;
    let rel = std::path::Path::new(rel);
    (crate::pipeline::slug_of(rel) == slug)
        .then(|| crate::pipeline::place_of(rel, cfg))
        .flatten()
}

/// Audits one closed deal. `prefix` is the pipeline root's path in the
/// repository (with a trailing `/`, or empty); `history` is every commit
/// touching the deals folder, newest first.
pub fn audit_deal(cfg: &Config, d: &Deal, prefix: &str, history: &[CommitInfo]) -> DealAudit {
    // This deal's commits, oldest first, with the place after each.
    let mut mine: Vec<(&CommitInfo, Option<Place>)> = Vec::new();
    for c in history.iter().rev() {
        let touched: Vec<Option<Place>> = c
            .paths
            .iter()
            .filter(|p| {
                std::path::Path::new(p)
                    .file_stem()
                    .is_some_and(|s| s.to_string_lossy() == d.slug)
            })
            .map(|p| place_in(cfg, prefix, &d.slug, p))
            .collect();
        if touched.is_empty() && c.trailer("Deal") != Some(d.slug.as_str()) {
            continue;
        }
        // A rename lists the old path first, then the new one.
        mine.push((c, touched.last().copied().flatten()));
    }
    // Stage entries: from history, then the front-matter for the rest.
    let mut entries: Vec<(DateTime<Utc>, Place, Option<String>)> = Vec::new();
    let mut last: Option<Place> = None;
    for (n, (c, place)) in mine.iter().enumerate() {
        if let Some(p) = place
            && Some(*p) != last
        {
            last = Some(*p);
            // The commit that first adds the file says when it was added,
            // not when the deal entered that stage (an import, a first
            // commit of an existing pipeline): the front-matter knows better.
            let when = match d.fields.stages.get(p.id(cfg)) {
                Some(t) if n == 0 => *t,
                _ => ts(c.time),
            };
            entries.push((when, *p, c.trailer("Owner").map(handle)));
        }
    }
    for (id, t) in &d.fields.stages {
        let Some(p) = Place::parse(id, cfg) else {
            continue;
        };
        if !entries.iter().any(|(_, q, _)| *q == p) {
            entries.push((*t, p, None));
        }
    }
    entries.sort_by_key(|e| (e.0, e.1.ordinal(cfg)));
    let closed = entries.iter().rev().find(|e| !e.1.is_open()).map(|e| e.0);
    let stages: Vec<StageSpan> = entries
        .iter()
        .enumerate()
        .map(|(i, (t, p, owner))| StageSpan {
            stage: p.id(cfg).to_string(),
            entered: crate::time::format_date(*t),
            days: entries
                .get(i + 1)
                .map(|n| crate::board::round1(days_between(*t, n.0))),
            owner: owner.clone(),
        })
        .collect();
    // The longest gap between consecutive commits, and where the deal sat.
    let mut times: Vec<DateTime<Utc>> = mine
        .iter()
        .map(|(c, _)| ts(c.time))
        .chain(entries.iter().map(|e| e.0))
        .filter(|t| closed.is_none_or(|c| *t <= c))
        .collect();
    times.sort();
    times.dedup();
    let mut stall: Option<(f64, DateTime<Utc>)> = None;
    for w in times.windows(2) {
        let gap = days_between(w[0], w[1]);
        if stall.is_none_or(|(g, _)| gap > g) {
            stall = Some((gap, w[0]));
        }
    }
    let stall_stage = stall.and_then(|(_, at)| {
        entries
            .iter()
            .rfind(|e| e.0 <= at)
            .map(|e| e.1.id(cfg).to_string())
    });
    let mut owner_changes = Vec::new();
    for (c, _) in &mine {
        if let (Some(prev), Some(now)) = (c.trailer("Previous-Owner"), c.trailer("Owner")) {
            owner_changes.push(format!(
                "{}: {} → {}",
                crate::time::format_date(ts(c.time)),
                handle(prev),
                handle(now)
            ));
        }
    }
    let unowned_stages = entries
        .iter()
        .filter(|e| e.2.is_none() && e.1.is_open())
        .map(|e| e.1.id(cfg).to_string())
        .collect();
    let mut skipped = Vec::new();
    let open_ords: Vec<usize> = entries
        .iter()
        .filter_map(|e| match e.1 {
            Place::Stage(i) => Some(i),
            _ => None,
        })
        .collect();
    for w in open_ords.windows(2) {
        for i in w[0] + 1..w[1] {
            if !open_ords.contains(&i) {
                skipped.push(cfg.stages[i].id.clone());
            }
        }
    }
    skipped.dedup();
    let mut forced: Vec<String> = mine
        .iter()
        .filter_map(|(c, _)| c.trailer("Forced").map(|r| format!("forced move: {r}")))
        .collect();
    for (stage, reason) in &d.fields.waived {
        forced.push(format!("waived {stage}: {reason}"));
    }
    let stall_days = stall.map(|s| crate::board::round1(s.0));
    let threshold = stall_stage
        .as_deref()
        .and_then(|s| cfg.stage_index(s))
        .and_then(|i| cfg.stages[i].rot_after_days)
        .unwrap_or(DEFAULT_STALL_DAYS);
    let process_gap = stall.is_some_and(|(g, _)| g > threshold);
    // Training gap: lost within the window after a forced or waived stage.
    let forced_times: Vec<DateTime<Utc>> = mine
        .iter()
        .filter(|(c, _)| c.trailer("Forced").is_some())
        .map(|(c, _)| ts(c.time))
        .chain(d.fields.waived.keys().filter_map(|s| {
            // A waived stage was left by the forced move: its exit time.
            cfg.stage_index(s)
                .and_then(|i| crate::criteria::exit_time(cfg, d, i))
        }))
        .collect();
    let training_gap = d.place == Place::Lost
        && closed.is_some_and(|c| {
            forced_times
                .iter()
                .any(|f| *f <= c && days_between(*f, c) <= TRAINING_WINDOW_DAYS)
        });
    DealAudit {
        slug: d.slug.clone(),
        outcome: d.place.id(cfg).to_string(),
        closed: closed.map(crate::time::format_date),
        owner: d.fields.owner.clone().unwrap_or_default(),
        stages,
        longest_stall_days: stall_days,
        stall_stage,
        owner_changes,
        unowned_stages,
        skipped,
        forced,
        lost_reason: d.fields.lost_reason.clone(),
        lost_stage: d.fields.lost_stage.clone(),
        process_gap,
        training_gap,
    }
}

/// Audits the last `n` closed deals (by close date, newest first).
pub fn audit(
    cfg: &Config,
    deals: &[Deal],
    prefix: &str,
    history: &[CommitInfo],
    n: usize,
) -> Audit {
    let mut all: Vec<DealAudit> = deals
        .iter()
        .filter(|d| !d.place.is_open())
        .map(|d| audit_deal(cfg, d, prefix, history))
        .collect();
    all.sort_by(|a, b| b.closed.cmp(&a.closed).then(a.slug.cmp(&b.slug)));
    all.truncate(n);
    let most = |xs: Vec<String>| {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for x in xs {
            *count.entry(x).or_default() += 1;
        }
        let max = count.values().copied().max()?;
        // Ties: the earliest stage in the process.
        let mut tied: Vec<String> = count
            .into_iter()
            .filter(|(_, c)| *c == max)
            .map(|(s, _)| s)
            .collect();
        tied.sort_by_key(|s| cfg.stage_index(s).unwrap_or(usize::MAX));
        tied.into_iter().next()
    };
    let most_stalled_stage = most(all.iter().filter_map(|a| a.stall_stage.clone()).collect());
    let most_lost_from = most(all.iter().filter_map(|a| a.lost_stage.clone()).collect());
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for a in &all {
        let e = by.entry(a.owner.clone()).or_default();
        e.0 += a
            .forced
            .iter()
            .filter(|f| f.starts_with("forced move"))
            .count();
        e.1 += a.forced.iter().filter(|f| f.starts_with("waived")).count();
    }
    let forced_by_owner = by
        .into_iter()
        .map(|(owner, (forced, waivers))| OwnerForced {
            owner,
            forced,
            waivers,
        })
        .collect();
    Audit {
        process_gaps: all.iter().filter(|a| a.process_gap).count(),
        training_gaps: all.iter().filter(|a| a.training_gap).count(),
        deals: all,
        most_stalled_stage,
        most_lost_from,
        forced_by_owner,
    }
}
