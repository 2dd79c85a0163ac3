//! Trends (SPEC §5 "Trends"): how the pipeline changed, read from git
//! history, one snapshot at the end of each of the last N weeks or months.
//!
//! - Periods end at Monday 00:00 UTC (weeks) or the 1st 00:00 UTC
//!   (months); the last period ends now. A period runs from the previous
//!   period's end (excluded) to its own end (included).
//! - A snapshot is taken at the last commit on HEAD's first-parent line made
//!   (committer date) at or before its end: the first one met walking from
//!   HEAD. Before the pipeline existed (no commit yet, or no
//!   `pipeline.yaml` in it) its `commit` and every figure are null.
//! - `open`, `open_value`, `weighted` and `stages` are `deal stats`'s
//!   figures ([`crate::stats::open_figures`]) on that commit's files, judged by that commit's `pipeline.yaml`.
//! - `new`, `won`, `lost`: deals in the snapshot whose `stages.<first
//!   stage>`, `stages.won` or `stages.lost` falls in the period; the values
//!   sum those in the pipeline's currency.
//! - `criteria_changes`: commits on the first-parent line in the window whose
//!   `pipeline.yaml` differs from their first parent's in a stage's `exit`
//!   criteria (the commit that creates it is not one), with the
//!   `Criteria-Change:` trailer of the commit or of a commit a merge brought
//!   in, else the subject, as `summary`.
//!
//! Snapshots are built incrementally: the oldest is loaded from its tree;
//! each later one applies the tree diff of the deals folder (pruned by
//! subtree id), parsing only the files that changed. A change to
//! `pipeline.yaml` reloads the snapshot whole, under the new rules.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use git2::Oid;
use indexmap::IndexMap;
use serde::Serialize;

use crate::config;
use crate::error::Error;
use crate::forecast::Unreadable;
use crate::history;
use crate::pipeline::{Content, Entry, MAX_DEAL_BYTES, Pipeline};
use crate::repo::Repo;
use crate::stats::{in_currency, num};

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Every {
    Week,
    Month,
}

impl Every {
    pub fn as_str(self) -> &'static str {
        match self {
            Every::Week => "week",
            Every::Month => "month",
        }
    }
}

/// The end moments of the last `n` periods ending at or before `now`,
/// oldest first, and the start of the oldest.
pub fn period_ends(
    every: Every,
    n: usize,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, Vec<DateTime<Utc>>) {
    let n = n.max(1);
    let day0 =
        |d: chrono::NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
    let today = now.date_naive();
    let step_back = |t: DateTime<Utc>| match every {
        Every::Week => t - Duration::days(7),
        Every::Month => day0(
            t.date_naive()
                .checked_sub_months(chrono::Months::new(1))
                .unwrap_or(t.date_naive()),
        ),
    };
    // The latest boundary strictly before now.
    let mut b = match every {
        Every::Week => day0(today - Duration::days(today.weekday().num_days_from_monday() as i64)),
        Every::Month => day0(today.with_day(1).unwrap_or(today)),
    };
    if b >= now {
        b = step_back(b);
    }
    let mut ends = vec![now];
    while ends.len() < n {
        ends.push(b);
        b = step_back(b);
    }
    ends.reverse();
    // The oldest period starts one period before its end, on a boundary.
    (step_back(ends[0]), ends)
}

#[derive(Debug, Clone, Serialize)]
pub struct StageFigure {
    pub open: usize,
    #[serde(serialize_with = "num")]
    pub value: f64,
}

/// One snapshot; every figure is null before the pipeline existed.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The period's start (excluded), RFC 3339.
    pub start: String,
    /// The period's end (included), RFC 3339.
    pub end: String,
    pub commit: Option<String>,
    pub open: Option<usize>,
    #[serde(serialize_with = "opt_num")]
    pub open_value: Option<f64>,
    #[serde(serialize_with = "opt_num")]
    pub weighted: Option<f64>,
    pub stages: Option<IndexMap<String, StageFigure>>,
    pub new: Option<usize>,
    pub won: Option<usize>,
    #[serde(serialize_with = "opt_num")]
    pub won_value: Option<f64>,
    pub lost: Option<usize>,
    #[serde(serialize_with = "opt_num")]
    pub lost_value: Option<f64>,
}

fn opt_num<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(v) => num(v, s),
        None => s.serialize_none(),
    }
}

/// A commit that changed a criterion.
#[derive(Debug, Clone, Serialize)]
pub struct CriteriaChange {
    pub commit: String,
    /// Committer date, RFC 3339.
    pub date: String,
    pub summary: String,
}

/// `deal trend --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub every: Every,
    pub snapshots: Vec<Snapshot>,
    pub criteria_changes: Vec<CriteriaChange>,
    /// Deal files of the newest snapshot that could not be read.
    pub unreadable: Vec<Unreadable>,
}

/// A commit on the first-parent line.
struct Link {
    id: Oid,
    time: i64,
    first_parent: Option<Oid>,
    merge: bool,
}

/// The pipeline at the last snapshot, kept to apply the next diff to.
struct State {
    cfg_blob: Oid,
    deals_tree: Option<Oid>,
    p: Pipeline,
}

fn ts(t: DateTime<Utc>) -> String {
    crate::time::format_ts(t)
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn blob_id(tree: &git2::Tree, rel: &str) -> Option<Oid> {
    tree.get_path(Path::new(rel))
        .ok()
        .filter(|e| e.kind() == Some(git2::ObjectType::Blob))
        .map(|e| e.id())
}

/// The deal files among `files` (paths under the deals folder) as pipeline
/// entries, their blobs read in parallel: inflating thousands of packed
/// blobs is most of a snapshot's cost, and a git2 repository serves one
/// thread, so each worker opens its own. Not `.md`, or hidden: not a deal.
fn entries(repo: &Repo, deals_dir: &str, files: Vec<&history::TreeFile>) -> Vec<Entry> {
    use rayon::prelude::*;
    let files: Vec<&history::TreeFile> = files
        .into_iter()
        .filter(|f| f.path.ends_with(".md") && !f.path.split('/').any(|s| s.starts_with('.')))
        .collect();
    let git_dir = repo.git().path().to_path_buf();
    let chunk = files
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(256);
    files
        .par_chunks(chunk)
        .flat_map_iter(|part| {
            let own = git2::Repository::open(&git_dir).ok();
            part.iter()
                .map(|f| {
                    let rel = Path::new(deals_dir).join(&f.path);
                    let content = if f.is_symlink() {
                        Content::Symlink
                    } else {
                        match own.as_ref().map(|r| r.find_blob(f.id)) {
                            Some(Ok(b)) if b.size() > MAX_DEAL_BYTES as usize => {
                                Content::TooBig(b.size() as u64)
                            }
                            Some(Ok(b)) => Content::Bytes(b.content().to_vec()),
                            _ => Content::TooBig(0),
                        }
                    };
                    Entry { rel, content }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

impl State {
    /// The pipeline at `commit`, from the previous state when the rules are
    /// the same (applying the deals folder's diff), else loaded whole.
    /// `None` before the pipeline existed.
    fn advance(prev: Option<State>, repo: &Repo, root: &Path, commit: Oid) -> Option<State> {
        let tree = repo.tree_at(commit, root).ok()?;
        let cfg_blob = blob_id(&tree, config::FILE)?;
        let git = repo.git();
        match prev {
            Some(mut s) if s.cfg_blob == cfg_blob => {
                let new = history::subtree(git, &tree, &s.p.cfg.deals_dir);
                let new_id = new.as_ref().map(|t| t.id());
                if new_id == s.deals_tree {
                    return Some(s);
                }
                let old = s.deals_tree.and_then(|id| git.find_tree(id).ok());
                let changed = history::diff(git, old.as_ref(), new.as_ref());
                let deals_dir = s.p.cfg.deals_dir.clone();
                let gone: HashSet<PathBuf> = changed
                    .iter()
                    .map(|c| Path::new(&deals_dir).join(&c.path))
                    .collect();
                s.p.deals.retain(|d| !gone.contains(&d.rel));
                s.p.problems.retain(|f| !gone.contains(&f.rel));
                let fresh = Pipeline::slim(
                    root.to_path_buf(),
                    s.p.cfg.clone(),
                    entries(
                        repo,
                        &deals_dir,
                        changed.iter().filter_map(|c| c.new.as_ref()).collect(),
                    ),
                );
                s.p.deals.extend(fresh.deals);
                s.p.problems.extend(fresh.problems);
                s.deals_tree = new_id;
                Some(s)
            }
            _ => {
                let cfg = Pipeline::config_at(repo, root, commit).ok()?;
                let sub = history::subtree(git, &tree, &cfg.deals_dir);
                let files = sub.as_ref().map(history::list).unwrap_or_default();
                let deals_dir = cfg.deals_dir.clone();
                let p = Pipeline::slim(
                    root.to_path_buf(),
                    cfg,
                    entries(repo, &deals_dir, files.iter().collect()),
                );
                Some(State {
                    cfg_blob,
                    deals_tree: sub.map(|t| t.id()),
                    p,
                })
            }
        }
    }
}

/// Figures of one snapshot of `p`, for the period (`start`, `end`].
fn figures(p: &Pipeline, start: DateTime<Utc>, end: DateTime<Utc>, snap: &mut Snapshot) {
    // The open figures only: the rest of `stats` (medians, conversion,
    // owners) is not part of a snapshot, and was most of its cost.
    let f = crate::stats::open_figures(&p.cfg, &p.deals);
    snap.open = Some(f.open);
    snap.open_value = Some(f.open_value);
    snap.weighted = Some(f.weighted);
    snap.stages = Some(
        p.cfg
            .stages
            .iter()
            .zip(&f.stages)
            .map(|(st, (open, value))| {
                (
                    st.id.clone(),
                    StageFigure {
                        open: *open,
                        value: *value,
                    },
                )
            })
            .collect(),
    );
    period_figures(p, start, end, snap);
}

/// `new`, `won` and `lost` of the period (`start`, `end`].
fn period_figures(p: &Pipeline, start: DateTime<Utc>, end: DateTime<Utc>, snap: &mut Snapshot) {
    let cfg = &p.cfg;
    let within = |key: &str| -> Vec<&crate::deal::Deal> {
        p.deals
            .iter()
            .filter(|d| {
                d.fields
                    .stages
                    .get(key)
                    .is_some_and(|t| *t > start && *t <= end)
            })
            .collect()
    };
    let value = |d: &&crate::deal::Deal| {
        if in_currency(cfg, d) {
            d.fields.value.unwrap_or(0.0)
        } else {
            0.0
        }
    };
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    snap.new = Some(cfg.stages.first().map_or(0, |f| within(&f.id).len()));
    let won = within(config::WON);
    snap.won = Some(won.len());
    snap.won_value = Some(round2(won.iter().map(value).sum()));
    let lost = within(config::LOST);
    snap.lost = Some(lost.len());
    snap.lost_value = Some(round2(lost.iter().map(value).sum()));
}

/// Each stage's exit criteria, as written, from a `pipeline.yaml` text.
fn criteria_of(src: &[u8]) -> Option<Vec<(String, serde_yaml::Value)>> {
    let v: serde_yaml::Value = serde_yaml::from_slice(src).ok()?;
    let stages = v.get("stages")?.as_sequence()?;
    Some(
        stages
            .iter()
            .map(|s| {
                let id = s
                    .get("id")
                    .and_then(|i| i.as_str())
                    .unwrap_or_default()
                    .to_string();
                let exit = s.get("exit").cloned().unwrap_or(serde_yaml::Value::Null);
                (id, exit)
            })
            .collect(),
    )
}

/// A commit that changed a criterion, with its reason: its own
/// `Criteria-Change:` trailer, else one from a commit a merge brought in,
/// else its subject.
fn criteria_change(git: &git2::Repository, c: &Link) -> CriteriaChange {
    let full = history::commit(git, c.id);
    let reason = full.as_ref().and_then(|full| {
        let own = full
            .trailer("Criteria-Change")
            .filter(|r| !r.trim().is_empty())
            .map(str::to_string);
        own.or_else(|| {
            if !c.merge {
                return None;
            }
            history::brought_in(git, full).iter().rev().find_map(|s| {
                s.trailer("Criteria-Change")
                    .filter(|r| !r.trim().is_empty())
                    .map(str::to_string)
            })
        })
    });
    let summary = reason.unwrap_or_else(|| {
        git.find_commit(c.id)
            .ok()
            .and_then(|k| k.summary().ok().flatten().map(str::to_string))
            .unwrap_or_default()
    });
    CriteriaChange {
        commit: c.id.to_string(),
        date: ts(at(c.time)),
        summary,
    }
}

/// The trend of the pipeline at `root`, for HEAD's first-parent history.
pub fn compute(root: &Path, every: Every, last: usize, now: DateTime<Utc>) -> Result<Trend, Error> {
    let repo = Repo::require(
        root,
        "trends are read from git history; commit the pipeline first",
    )?;
    let (window_start, ends) = period_ends(every, last, now);
    let git = repo.git();
    // HEAD's first-parent line, newest first, back to the first commit at
    // or before the window's start (older ones are never needed).
    // Only ids, times and parents: trailers are read for the few commits
    // that changed a criterion.
    let mut line: Vec<Link> = Vec::new();
    let mut next = git
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id());
    while let Some(id) = next {
        let Ok(c) = git.find_commit(id) else { break };
        next = c.parent_id(0).ok();
        let time = c.time().seconds();
        line.push(Link {
            id,
            time,
            first_parent: next,
            merge: c.parent_count() > 1,
        });
        if time <= window_start.timestamp() {
            break;
        }
    }
    let mut snapshots = Vec::new();
    let mut state: Option<State> = None;
    let mut start = window_start;
    // The figures of the last snapshot's commit: a week without commits
    // shows the same pipeline, so they are computed once.
    let mut last: Option<(Oid, Snapshot)> = None;
    let mut newest: Option<Pipeline> = None;
    for (i, end) in ends.iter().enumerate() {
        let mut snap = Snapshot {
            start: ts(start),
            end: ts(*end),
            commit: None,
            open: None,
            open_value: None,
            weighted: None,
            stages: None,
            new: None,
            won: None,
            won_value: None,
            lost: None,
            lost_value: None,
        };
        let c = line.iter().find(|c| c.time <= end.timestamp());
        let same = matches!((c, &last), (Some(c), Some((id, _))) if c.id == *id);
        if !same {
            state = match c {
                Some(c) => State::advance(state.take(), &repo, root, c.id),
                None => None,
            };
        }
        if let (Some(c), Some(s)) = (c, &state) {
            snap.commit = Some(c.id.to_string());
            match &last {
                Some((id, prev)) if *id == c.id => {
                    snap.open = prev.open;
                    snap.open_value = prev.open_value;
                    snap.weighted = prev.weighted;
                    snap.stages = prev.stages.clone();
                    period_figures(&s.p, start, *end, &mut snap);
                }
                _ => figures(&s.p, start, *end, &mut snap),
            }
            last = Some((c.id, snap.clone()));
        }
        if i + 1 == ends.len() {
            newest = state.take().map(|s| s.p);
        }
        snapshots.push(snap);
        start = *end;
    }
    // pipeline.yaml's blob id at each commit of the window (and the one
    // before it), so each tree is read once.
    let yaml_at = |id: Oid| {
        repo.tree_at(id, root)
            .ok()
            .and_then(|t| blob_id(&t, config::FILE).map(|b| (b, t.id())))
    };
    let mut criteria_changes = Vec::new();
    let mut newer: Option<(Option<(Oid, Oid)>, &Link)> = None;
    for c in line.iter().filter(|c| c.time <= now.timestamp()) {
        let here = yaml_at(c.id);
        if let Some((after, child)) = newer
            && child.time > window_start.timestamp()
            && child.first_parent == Some(c.id)
            && let (Some((a, old_tree)), Some((b, new_tree))) = (here, after)
            && a != b
        {
            let read = |tree: Oid| {
                git.find_tree(tree)
                    .ok()
                    .and_then(|t| repo.blob_in(&t, config::FILE))
                    .and_then(|s| criteria_of(&s))
            };
            if read(old_tree) != read(new_tree) {
                criteria_changes.push(criteria_change(git, child));
            }
        }
        newer = Some((here, c));
    }
    criteria_changes.reverse();
    let unreadable = newest
        .as_ref()
        .map(crate::forecast::unreadable)
        .unwrap_or_default();
    Ok(Trend {
        every,
        snapshots,
        criteria_changes,
        unreadable,
    })
}

/// A figure for a table: `–` when null.
pub fn cell<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_else(|| "–".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::time::parse_timestamp(s).unwrap()
    }

    #[test]
    fn weeks_end_on_mondays_and_now() {
        // 2026-11-27 is a Friday.
        let (start, ends) = period_ends(Every::Week, 3, t("2026-11-27T12:00:00Z"));
        assert_eq!(start, t("2026-11-09T00:00:00Z"));
        assert_eq!(
            ends,
            vec![
                t("2026-11-16T00:00:00Z"),
                t("2026-11-23T00:00:00Z"),
                t("2026-11-27T12:00:00Z")
            ]
        );
        // At Monday 00:00 exactly, the last period is the whole week before.
        let (_, ends) = period_ends(Every::Week, 2, t("2026-11-23T00:00:00Z"));
        assert_eq!(
            ends,
            vec![t("2026-11-16T00:00:00Z"), t("2026-11-23T00:00:00Z")]
        );
    }

    #[test]
    fn months_end_on_the_first() {
        let (start, ends) = period_ends(Every::Month, 2, t("2026-11-27T12:00:00Z"));
        assert_eq!(start, t("2026-10-01T00:00:00Z"));
        assert_eq!(
            ends,
            vec![t("2026-11-01T00:00:00Z"), t("2026-11-27T12:00:00Z")]
        );
    }
}
