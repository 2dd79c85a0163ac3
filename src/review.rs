//! `deal review BASE[..HEAD]` (SPEC §4 "Review"): every stage change in a
//! pull request, judged by the base's `pipeline.yaml`.
//!
//! Deals are paired by slug between the merge-base and HEAD, so a move made
//! by hand (`git mv`, no trailers, the file rewritten) is found like any
//! other. The rules:
//! - a forward move (a skip included) or a win must meet the base's exit
//!   criteria of every stage it leaves or skips, unless the stage is in the
//!   deal's `waived` with a reason;
//! - a lost deal needs a reason, from the base's `lost_reasons`;
//! - `waived` added to an existing deal without a forced move (a commit in
//!   the range with `Deal: <slug>` and `Forced:` trailers) is a violation, as
//!   is `source_id` added without an import (`Imported:` trailer);
//! - a `pipeline.yaml` change that removes or changes a criterion, removes a
//!   stage, or adds or moves `enforce_from` later is a weakening, and a
//!   violation unless a commit in the range has a `Criteria-Change:` trailer.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::config::Config;
use crate::criteria::{Evaluator, unmet};
use crate::deal::{Deal, Place};
use crate::repo::CommitInfo;

#[derive(Debug, Clone, Serialize)]
pub struct ReviewChange {
    pub slug: String,
    pub change: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub owner_from: Option<String>,
    pub owner_to: Option<String>,
    pub violations: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub base: String,
    pub head: String,
    pub violations: usize,
    pub changes: Vec<ReviewChange>,
}

/// A criterion's content, for telling a changed one from an unchanged one.
fn signature(c: &crate::config::Criterion) -> String {
    format!("{:?}", c.kind)
}

/// Weakenings of the base's criteria in the head's `pipeline.yaml`.
pub fn weakenings(base: &Config, head: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for bs in &base.stages {
        let Some(hs) = head.stages.iter().find(|s| s.id == bs.id) else {
            out.push(format!(
                "stage `{}` was removed, with its exit criteria",
                bs.id
            ));
            continue;
        };
        let head_sigs: HashSet<String> = hs.exit.iter().map(signature).collect();
        for c in &bs.exit {
            if head_sigs.contains(&signature(c)) {
                continue;
            }
            let changed = hs.exit.iter().any(|h| h.label == c.label);
            out.push(format!(
                "the {} criterion \"{}\" was {}",
                bs.id,
                c.label,
                if changed { "changed" } else { "removed" }
            ));
        }
    }
    match (base.enforce_from, head.enforce_from) {
        (None, Some(t)) => out.push(format!(
            "`enforce_from: {}` was added: older stage exits are no longer checked",
            crate::time::format_date(t)
        )),
        (Some(a), Some(b)) if b > a => out.push(format!(
            "`enforce_from` moved later, to {}",
            crate::time::format_date(b)
        )),
        _ => {}
    }
    out
}

fn ordinal(cfg: &Config, d: &Deal) -> usize {
    match d.place {
        Place::Stage(i) => i,
        Place::Won => cfg.stages.len(),
        Place::Lost => d
            .fields
            .lost_stage
            .as_deref()
            .and_then(|s| cfg.stage_index(s))
            .unwrap_or(0),
    }
}

/// The stages `d` (at HEAD) must have met to be where it is, coming from
/// `from` (None: a new deal), less those waived with a reason.
fn required(cfg: &Config, from: Option<&Deal>, d: &Deal) -> Vec<usize> {
    let start = from.map(|f| ordinal(cfg, f)).unwrap_or(0);
    let end = match d.place {
        Place::Stage(i) => i,
        Place::Won => cfg.stages.len(),
        Place::Lost => return Vec::new(),
    };
    let start = if d.place == Place::Won { 0 } else { start };
    (start..end)
        .filter(|&i| {
            d.fields
                .waived
                .get(&cfg.stages[i].id)
                .is_none_or(|r| r.trim().is_empty())
        })
        .collect()
}

fn criteria_violations(ev: &Evaluator, cfg: &Config, from: Option<&Deal>, d: &Deal) -> Vec<String> {
    let mut out = Vec::new();
    for i in required(cfg, from, d) {
        let missing = unmet(ev, i, d);
        if missing.is_empty() {
            continue;
        }
        let labels: Vec<String> = missing.iter().map(|m| m.label.clone()).collect();
        out.push(format!(
            "{} exit criteria not met: {}",
            cfg.stages[i].id,
            labels.join("; ")
        ));
    }
    if d.place == Place::Lost {
        match d.fields.lost_reason.as_deref().map(str::trim) {
            None | Some("") => out.push("lost without a reason".into()),
            Some(r)
                if !cfg.lost_reasons.is_empty()
                    && !cfg.lost_reasons.iter().any(|l| l.eq_ignore_ascii_case(r)) =>
            {
                out.push(format!("lost reason \"{r}\" is not in lost_reasons"))
            }
            _ => {}
        }
    }
    out
}

/// What a review compares.
pub struct Sides<'a> {
    pub base_cfg: &'a Config,
    pub head_cfg: &'a Config,
    pub base: &'a [Deal],
    /// HEAD's deals, read with the base's config.
    pub head: &'a [Deal],
    pub base_id: String,
    pub head_id: String,
}

/// Judges the changes between two pipelines: `base` (at the merge-base)
/// and `head` (read with the base's config), with the commits in between.
pub fn review(sides: Sides, ev: &Evaluator, commits: &[CommitInfo]) -> Review {
    let Sides {
        base_cfg,
        head_cfg,
        base,
        head,
        base_id,
        head_id,
    } = sides;
    let forced: HashSet<String> = commits
        .iter()
        .filter(|c| c.trailer("Forced").is_some())
        .filter_map(|c| c.trailer("Deal").map(str::to_string))
        .collect();
    let imported = commits.iter().any(|c| c.trailer("Imported").is_some());
    let criteria_change = commits
        .iter()
        .any(|c| c.trailer("Criteria-Change").is_some());
    let cfg = base_cfg;
    let slugs: BTreeSet<&str> = base
        .iter()
        .chain(head.iter())
        .map(|d| d.slug.as_str())
        .collect();
    let mut changes = Vec::new();
    for slug in slugs {
        let b = base.iter().find(|d| d.slug == slug);
        let h = head.iter().find(|d| d.slug == slug);
        let owner = |d: Option<&Deal>| d.and_then(|d| d.fields.owner.clone());
        let place = |d: Option<&Deal>, c: &Config| d.map(|d| d.place.id(c).to_string());
        let mut ch = ReviewChange {
            slug: slug.to_string(),
            change: String::new(),
            from: place(b, cfg),
            to: place(h, cfg),
            owner_from: owner(b),
            owner_to: owner(h),
            violations: Vec::new(),
        };
        match (b, h) {
            (None, Some(h)) => {
                ch.change = "added".into();
                ch.violations = criteria_violations(ev, cfg, None, h);
            }
            (Some(_), None) => ch.change = "removed".into(),
            (Some(b), Some(h)) => {
                ch.change = match (b.place, h.place) {
                    (x, y) if x == y => {
                        if ch.owner_from != ch.owner_to {
                            "reassigned".into()
                        } else {
                            "edited".into()
                        }
                    }
                    (_, Place::Won) => "won".into(),
                    (_, Place::Lost) => "lost".into(),
                    (Place::Lost, _) => "reopened".into(),
                    _ => "moved".into(),
                };
                if b.place != h.place && !matches!(h.place, Place::Lost) {
                    let forward = h.place == Place::Won
                        || (ordinal(cfg, h) > ordinal(cfg, b) && b.place != Place::Lost)
                        || (b.place == Place::Lost && ordinal(cfg, h) > ordinal(cfg, b));
                    if forward {
                        ch.violations = criteria_violations(ev, cfg, Some(b), h);
                    }
                } else if h.place == Place::Lost && b.place != Place::Lost {
                    ch.violations = criteria_violations(ev, cfg, Some(b), h);
                }
                let added_waivers: Vec<&String> = h
                    .fields
                    .waived
                    .keys()
                    .filter(|k| !b.fields.waived.contains_key(*k))
                    .collect();
                if !added_waivers.is_empty() && !forced.contains(slug) {
                    ch.violations.push(format!(
                        "waived.{} added by hand, without a forced move (`deal move --force --reason`)",
                        added_waivers
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", waived.")
                    ));
                }
                if h.fields.source_id.is_some() && b.fields.source_id.is_none() && !imported {
                    ch.violations
                        .push("source_id added by hand, without an import".into());
                }
                if ch.change == "edited" && ch.violations.is_empty() {
                    continue;
                }
            }
            (None, None) => continue,
        }
        changes.push(ch);
    }
    let weak = weakenings(base_cfg, head_cfg);
    if !weak.is_empty() {
        changes.push(ReviewChange {
            slug: crate::config::FILE.into(),
            change: if criteria_change {
                "criteria-change".into()
            } else {
                "weakened".into()
            },
            from: None,
            to: None,
            owner_from: None,
            owner_to: None,
            violations: if criteria_change { Vec::new() } else { weak },
        });
    }
    let violations = changes.iter().map(|c| c.violations.len()).sum();
    Review {
        base: base_id,
        head: head_id,
        violations,
        changes,
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The review as a Markdown table, ready for a pull-request comment.
pub fn markdown(r: &Review) -> String {
    let mut out = String::new();
    let verdict = match r.violations {
        0 => "no violations".to_string(),
        1 => "1 violation".to_string(),
        n => format!("{n} violations"),
    };
    out.push_str(&format!(
        "### deal review: {} changes, {verdict}\n\n",
        r.changes.len()
    ));
    if r.changes.is_empty() {
        out.push_str("No deal changed.\n");
    } else {
        out.push_str(
            "| Deal | Change | From | To | Owner | Verdict |\n|---|---|---|---|---|---|\n",
        );
        for c in &r.changes {
            let owner = match (&c.owner_from, &c.owner_to) {
                (Some(a), Some(b)) if a != b => format!("{a} → {b}"),
                (_, Some(b)) => b.clone(),
                (Some(a), None) => a.clone(),
                (None, None) => String::new(),
            };
            let verdict = if c.violations.is_empty() {
                "✅".to_string()
            } else {
                format!("❌ {}", c.violations.join("; "))
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(&c.slug),
                c.change,
                cell(c.from.as_deref().unwrap_or("")),
                cell(c.to.as_deref().unwrap_or("")),
                cell(&owner),
                cell(&verdict)
            ));
        }
    }
    out.push_str(&format!(
        "\nJudged by pipeline.yaml at the merge-base `{}`; head `{}`.\n",
        &r.base[..r.base.len().min(7)],
        &r.head[..r.head.len().min(7)]
    ));
    out
}
