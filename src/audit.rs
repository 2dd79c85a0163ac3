//! `deal audit [--last N]`: the last N closed deals, from git history —
//! where they stalled, who owned each step, and whether a stall looks like
//! a process gap or a training gap.
//!
//! Sources. A deal's history is HEAD's first-parent line (SPEC §4 "Audit on
//! merged history"): each main-line commit whose tree diff of the deals
//! folder touches the deal's file, oldest first. The folder the file sits
//! in after each such commit gives the stage it entered; a stage the history
//! does not show is taken from the `stages` front-matter (the fallback, e.g.
//! for imported deals). `Owner:`, `Previous-Owner:` and `Forced:` trailers
//! give owners and forced moves. When the main-line commit is a merge, the
//! trailers come from the commits it brought in: the one that moved the deal
//! into the stage the merge left it in supplies the owner and the time, and
//! a forced move counts only if the merge kept it (its waivers survive in
//! the merged file). A forced move is credited to the `Owner:` of its own
//! commit, never to whoever owns the deal when it closes.
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

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use git2::{Oid, Repository};
use serde::Serialize;

use crate::config::Config;
use crate::deal::{Deal, Place};
use crate::history::{self, Commit};
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

/// A forced move, credited to the owner its own commit records.
#[derive(Debug, Clone, Serialize)]
pub struct ForcedMove {
    pub date: String,
    pub owner: Option<String>,
    pub reason: String,
    /// The stages it waived.
    pub waived: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DealAudit {
    pub slug: String,
    pub outcome: String,
    pub closed: Option<String>,
    /// The close to the second, for ordering deals closed the same day.
    #[serde(skip)]
    pub closed_at: Option<DateTime<Utc>>,
    pub owner: String,
    pub stages: Vec<StageSpan>,
    pub longest_stall_days: Option<f64>,
    pub stall_stage: Option<String>,
    pub owner_changes: Vec<String>,
    pub unowned_stages: Vec<String>,
    pub skipped: Vec<String>,
    pub forced: Vec<String>,
    pub forced_moves: Vec<ForcedMove>,
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
    /// Deal files that could not be read, left out of the audit.
    pub unreadable: Vec<crate::pipeline::Unreadable>,
}

fn ts(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

/// `bob <bob@example.com>` → `bob`.
fn handle(v: &str) -> String {
    v.split('<').next().unwrap_or(v).trim().to_string()
}

/// One main-line event of a deal: a commit that changed its file (with the
/// place the file sits in after it), or a commit a merge brought in that
/// carries the deal's trailers.
#[derive(Debug, Clone, Default)]
pub struct Touch {
    pub time: i64,
    /// Where the file sits after this main-line commit.
    pub place: Option<Place>,
    /// The `Owner:` of the commit that made the change.
    pub owner: Option<String>,
    pub previous_owner: Option<String>,
    /// A counted forced move's reason.
    pub forced: Option<String>,
    /// How many stages that forced move waived (its commit's `waived`
    /// entries that its parent did not have).
    pub waived: usize,
}

/// `waived` keys of a deal file's front-matter, if it parses.
fn waived_keys(bytes: &[u8]) -> Option<HashSet<String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let split = crate::frontmatter::split(text).ok()?;
    let v: serde_yaml::Value = serde_yaml::from_str(&text[split.yaml]).ok()?;
    Some(
        v.get("waived")
            .and_then(|w| w.as_mapping())
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// The bytes of the file `slug.md` in any stage folder of `commit`'s deals
/// folder, preferring `place`'s.
fn deal_blob(
    repo: &Repository,
    commit: Oid,
    deals: &str,
    cfg: &Config,
    slug: &str,
    place: Option<Place>,
) -> Option<Vec<u8>> {
    let tree = repo.find_commit(commit).ok()?.tree().ok()?;
    let dirs = place
        .map(|p| p.dir(cfg).to_string())
        .into_iter()
        .chain(cfg.stages.iter().map(|s| s.dir.clone()))
        .chain([
            crate::config::WON.to_string(),
            crate::config::LOST.to_string(),
        ]);
    for dir in dirs {
        let path = format!("{deals}{dir}/{slug}.md");
        if let Ok(e) = tree.get_path(std::path::Path::new(&path))
            && let Ok(b) = repo.find_blob(e.id())
        {
            return Some(b.content().to_vec());
        }
    }
    None
}

/// How many `waived` entries commit `c` added to the deal (against its
/// first parent).
fn waivers_added(repo: &Repository, c: &Commit, deals: &str, cfg: &Config, slug: &str) -> usize {
    let to = c.trailer("To-Stage").and_then(|t| Place::parse(t, cfg));
    let now = deal_blob(repo, c.id, deals, cfg, slug, to)
        .and_then(|b| waived_keys(&b))
        .unwrap_or_default();
    let before = c
        .parents
        .first()
        .and_then(|p| deal_blob(repo, *p, deals, cfg, slug, None))
        .and_then(|b| waived_keys(&b))
        .unwrap_or_default();
    now.difference(&before).count()
}

/// Every main-line event of the deals in `slugs`, oldest first: HEAD's
/// first-parent history, each commit diffed against its first parent
/// within `deals` (the deals folder's path in the repository, with a
/// trailing `/`), pruned by subtree id.
pub fn touches(
    repo: &Repository,
    head: Oid,
    deals: &str,
    cfg: &Config,
    slugs: &HashSet<String>,
) -> HashMap<String, Vec<Touch>> {
    let mut out: HashMap<String, Vec<Touch>> = HashMap::new();
    let line = history::first_parent(repo, head);
    let sub = |id: Option<Oid>| {
        let tree = repo.find_commit(id?).ok()?.tree().ok()?;
        history::subtree(repo, &tree, deals)
    };
    // Oldest first: each commit's first parent is the one before it, whose
    // deals folder was read on the previous turn.
    let mut prev: Option<git2::Tree> = None;
    for c in line.iter().rev() {
        let new = sub(Some(c.id));
        let old = prev.take();
        prev = new.clone();
        if new.as_ref().map(|t| t.id()) == old.as_ref().map(|t| t.id()) {
            continue;
        }
        let changed = history::diff(repo, old.as_ref(), new.as_ref());
        // This commit's deals, each with the place it sits in afterwards.
        let mut mine: BTreeMap<String, Option<Place>> = BTreeMap::new();
        for ch in &changed {
            let rel = std::path::Path::new(&ch.path);
            let slug = crate::pipeline::slug_of(rel);
            if !slugs.contains(&slug) || !ch.path.ends_with(".md") {
                continue;
            }
            let full = std::path::Path::new(&cfg.deals_dir).join(rel);
            let place = ch
                .new
                .as_ref()
                .and_then(|_| crate::pipeline::place_of(&full, cfg));
            let e = mine.entry(slug).or_insert(None);
            if place.is_some() {
                *e = place;
            }
        }
        if mine.is_empty() {
            continue;
        }
        let side: Vec<Commit> = if c.is_merge() {
            history::brought_in(repo, c)
        } else {
            Vec::new()
        };
        for (slug, place) in mine {
            let list = out.entry(slug.clone()).or_default();
            if !c.is_merge() {
                let forced = c.trailer("Forced").map(str::to_string);
                list.push(Touch {
                    time: c.time,
                    place,
                    owner: c.trailer("Owner").map(handle),
                    previous_owner: c.trailer("Previous-Owner").map(handle),
                    waived: if forced.is_some() {
                        waivers_added(repo, c, deals, cfg, &slug)
                    } else {
                        0
                    },
                    forced,
                });
                continue;
            }
            let theirs: Vec<&Commit> = side
                .iter()
                .filter(|s| s.trailer("Deal") == Some(slug.as_str()))
                .collect();
            let merged_waivers = deal_blob(repo, c.id, deals, cfg, &slug, place)
                .and_then(|b| waived_keys(&b))
                .unwrap_or_default();
            for s in &theirs {
                let kept_force = s.trailer("Forced").filter(|_| {
                    let to = s.trailer("To-Stage").and_then(|t| Place::parse(t, cfg));
                    match deal_blob(repo, s.id, deals, cfg, &slug, to).and_then(|b| waived_keys(&b))
                    {
                        Some(w) if !w.is_empty() => w.is_subset(&merged_waivers),
                        _ => to.is_some() && to == place,
                    }
                });
                if kept_force.is_some() || s.trailer("Previous-Owner").is_some() {
                    list.push(Touch {
                        time: s.time,
                        place: None,
                        owner: s.trailer("Owner").map(handle),
                        previous_owner: s.trailer("Previous-Owner").map(handle),
                        waived: if kept_force.is_some() {
                            waivers_added(repo, s, deals, cfg, &slug)
                        } else {
                            0
                        },
                        forced: kept_force.map(str::to_string),
                    });
                }
            }
            // The commit that moved the deal where the merge left it.
            let mover = place.and_then(|p| {
                theirs
                    .iter()
                    .rev()
                    .find(|s| s.trailer("To-Stage") == Some(p.id(cfg)))
            });
            list.push(Touch {
                time: mover.map_or(c.time, |m| m.time),
                place,
                owner: mover.and_then(|m| m.trailer("Owner")).map(handle),
                ..Touch::default()
            });
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|t| t.time);
    }
    out
}

/// Audits one closed deal from its main-line events, oldest first.
pub fn audit_deal(cfg: &Config, d: &Deal, mine: &[Touch]) -> DealAudit {
    // Stage entries: from history, then the front-matter for the rest.
    let mut entries: Vec<(DateTime<Utc>, Place, Option<String>)> = Vec::new();
    let mut last: Option<Place> = None;
    for (n, c) in mine.iter().enumerate() {
        if let Some(p) = c.place
            && Some(p) != last
        {
            last = Some(p);
            // The commit that first adds the file says when it was added,
            // not when the deal entered that stage (an import, a first
            // commit of an existing pipeline): the front-matter knows better.
            let when = match d.fields.stages.get(p.id(cfg)) {
                Some(t) if n == 0 => *t,
                _ => ts(c.time),
            };
            entries.push((when, p, c.owner.clone()));
        }
    }
    // The front-matter fills in only what git lacks: stages entered before
    // the main line first saw the deal. A later entry the main line did not
    // see happened on a merged branch, and stays off the main-line sequence.
    let first_seen = mine.iter().find(|c| c.place.is_some()).map(|c| ts(c.time));
    for (id, t) in &d.fields.stages {
        let Some(p) = Place::parse(id, cfg) else {
            continue;
        };
        let before_history = first_seen.is_none_or(|f| *t <= f);
        if before_history && !entries.iter().any(|(_, q, _)| *q == p) {
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
        .map(|c| ts(c.time))
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
    for c in mine {
        if let (Some(prev), Some(now)) = (&c.previous_owner, &c.owner) {
            owner_changes.push(format!(
                "{}: {prev} → {now}",
                crate::time::format_date(ts(c.time)),
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
    let forced_moves: Vec<ForcedMove> = mine
        .iter()
        .filter_map(|c| {
            c.forced.as_ref().map(|r| ForcedMove {
                date: crate::time::format_date(ts(c.time)),
                owner: c.owner.clone(),
                reason: r.clone(),
                waived: c.waived,
            })
        })
        .collect();
    let mut forced: Vec<String> = forced_moves
        .iter()
        .map(|f| format!("forced move: {}", f.reason))
        .collect();
    for (stage, w) in &d.fields.waived {
        forced.push(format!("waived {stage}: {}", w.reason));
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
        .filter(|c| c.forced.is_some())
        .map(|c| ts(c.time))
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
        closed_at: closed,
        owner: d.fields.owner.clone().unwrap_or_default(),
        stages,
        longest_stall_days: stall_days,
        stall_stage,
        owner_changes,
        unowned_stages,
        skipped,
        forced,
        forced_moves,
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
    touches: &HashMap<String, Vec<Touch>>,
    n: usize,
) -> Audit {
    let mut all: Vec<DealAudit> = deals
        .iter()
        .filter(|d| !d.place.is_open())
        .map(|d| {
            audit_deal(
                cfg,
                d,
                touches.get(&d.slug).map(Vec::as_slice).unwrap_or(&[]),
            )
        })
        .collect();
    all.sort_by(|a, b| b.closed_at.cmp(&a.closed_at).then(a.slug.cmp(&b.slug)));
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
    // A forced move, and the stages it waived, are credited to the owner
    // its own commit records; waivers no forced move accounts for (written
    // by hand, imported) to the deal's owner.
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for a in &all {
        let mut credited = 0;
        for f in &a.forced_moves {
            let who = f.owner.clone().unwrap_or_else(|| a.owner.clone());
            let e = by.entry(who).or_default();
            e.0 += 1;
            e.1 += f.waived;
            credited += f.waived;
        }
        let waivers = a.forced.iter().filter(|f| f.starts_with("waived")).count();
        by.entry(a.owner.clone()).or_default().1 += waivers.saturating_sub(credited);
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
        unreadable: Vec::new(),
    }
}
