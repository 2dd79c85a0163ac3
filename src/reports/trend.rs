//! Trends (docs/reference.md, "Trends"): how the pipeline changed, read from git
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
//!   figures ([`crate::reports::stats::open_figures`]) on that commit's files, judged by that commit's `pipeline.yaml`.
//! - `new`, `won`, `lost`: deals in the snapshot whose `stages.<first
//!   stage>`, `stages.won` or `stages.lost` falls in the period; the values
//!   sum those in the pipeline's currency.
//! - `criteria_changes`: commits on the first-parent line in the window whose
//!   `pipeline.yaml` differs from their first parent's in a stage's `exit`
//!   criteria (the commit that creates it is not one), with the
//!   `Criteria-Change:` reason `history::criteria_reason` reads (the
//!   commit's own, a squash's body included, else one a merge brought in),
//!   else the subject, as `summary`.
//!
//! Snapshots are built incrementally, newest first: the newest is loaded
//! from its tree; each older one applies the tree diff of the deals folder
//! back from the one after it (pruned by subtree id), so only the files
//! that differ are read. A change to `pipeline.yaml` reloads the snapshot
//! whole, under its own rules. Each file version is kept as a small
//! [`Mark`], not a parsed deal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use git2::Oid;
use indexmap::IndexMap;
use serde::Serialize;

use crate::base::error::Error;
use crate::model::config::{self, Config};
use crate::model::deal::Place;
use crate::model::fields::Fields;
use crate::reports::forecast::Unreadable;
use crate::reports::stats::{self, num};
use crate::store::files::{Content, Entry};
use crate::store::history;
use crate::store::pipeline::{self, FileProblem, MAX_DEAL_BYTES, Pipeline};
use crate::store::repo::Repo;

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
    /// Where HEAD's history ends before its root (a shallow clone): the
    /// committer date of the oldest commit there is. Snapshots before it
    /// are unknown, not empty.
    #[serde(skip)]
    pub history_cut: Option<String>,
    /// What some snapshot could not count (a `pipeline.yaml` that does not
    /// load, an older version that does not parse, a folder committed as a
    /// symlink), for stderr.
    #[serde(skip)]
    pub problems: Vec<String>,
}

/// A commit on the first-parent line.
struct Link {
    id: Oid,
    time: i64,
    tree: Oid,
}

/// What a snapshot needs of one deal file: [`stats::open_figures_of`]'s
/// place and value, and the moments `new`, `won` and `lost` count.
#[derive(Debug, Clone, Copy)]
struct Mark {
    place: Place,
    /// The value in the pipeline's currency, else 0 ([`stats::summed`]).
    value: crate::base::money::Amount,
    new_at: Option<DateTime<Utc>>,
    won_at: Option<DateTime<Utc>>,
    lost_at: Option<DateTime<Utc>>,
}

impl Mark {
    fn of(cfg: &Config, place: Place, f: &Fields) -> Mark {
        let at = |key: &str| f.stages.get(key).copied();
        Mark {
            place,
            value: stats::fields_summed(cfg, f),
            new_at: cfg.stages.first().and_then(|f| at(&f.id)),
            won_at: at(config::WON),
            lost_at: at(config::LOST),
        }
    }
}

/// How one snapshot's deal files follow from the previous snapshot's.
enum Step {
    /// Before the pipeline existed: no figures.
    Absent,
    /// Every file anew, under config `cfg` (the first snapshot, or
    /// `pipeline.yaml` changed).
    Load {
        cfg: usize,
        files: Vec<(String, usize)>,
    },
    /// The previous snapshot's files, with these paths gone and these
    /// (path, job) set.
    Apply {
        gone: Vec<String>,
        set: Vec<(String, usize)>,
    },
}

fn ts(t: DateTime<Utc>) -> String {
    crate::base::time::format_ts(t)
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// Whether a file under the deals folder is read as a deal: `.md`, not
/// hidden, not a submodule.
fn is_deal_file(f: &history::TreeFile) -> bool {
    f.path.ends_with(".md") && !f.path.split('/').any(|s| s.starts_with('.')) && !f.is_submodule()
}

/// Notes a stage or outcome folder committed as a symlink: its deals are
/// not in the snapshot, and that must not pass for an empty stage.
fn folder_link(cfg: &Config, f: &history::TreeFile, commit: Oid, problems: &mut Vec<String>) {
    let folders = cfg.stages.iter().map(|s| s.dir.as_str());
    let folder = folders
        .chain([config::WON, config::LOST])
        .any(|d| d == f.path);
    if f.is_symlink() && folder {
        problems.push(format!(
            "{}/{} is a symlink in commit {}: the deals behind it are not counted in that snapshot",
            cfg.deals_dir.trim_end_matches('/'),
            f.path,
            short(commit)
        ));
    }
}

/// A commit id as the tables show it.
fn short(id: Oid) -> String {
    id.to_string()[..7].to_string()
}

/// An error's first line (its excerpt and help left out).
fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}

/// The commits a shallow clone has without their parents (`shallow` in
/// the git folder), if any.
fn shallow_commits(git: &git2::Repository) -> std::collections::HashSet<Oid> {
    std::fs::read_to_string(git.commondir().join("shallow"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect()
}

/// Where a deal file version's bytes are: a blob, or nothing to read (a
/// symlink is refused unread).
#[derive(Clone, Copy)]
enum Source {
    Blob(Oid),
    Symlink,
}

/// A deal file version to read and parse: (job number, config, path,
/// source).
type Job = (usize, Arc<Config>, PathBuf, Source);
type Batch = Vec<Job>;
/// Each job's outcome and the blob this clone lacks, if it does; or the
/// job back, when a worker's handle could not read its blob.
type Done = Vec<Result<(usize, Outcome, Option<Oid>), Job>>;
/// A version's mark, or why it is not a readable deal.
type Outcome = Result<Mark, FileProblem>;
/// What [`with_readers`] gives back: the plan's result, the configs it
/// loaded, and each job's outcome by number.
type Read<T> = (T, Vec<Arc<Config>>, Vec<Option<Outcome>>);

/// Reads and parses a batch of deal file versions into marks: the quick
/// scan of plain front-matter ([`pipeline::quick_entry`]) when it can, the
/// full parse when it cannot. A worker (`worker`) gives back the jobs whose
/// blob its handle cannot read, for the calling thread's own handle to
/// judge.
fn parse_batch(odb: &git2::Odb, batch: Batch, worker: bool) -> Done {
    batch
        .into_iter()
        .map(|job| {
            let (n, cfg, rel, source) = &job;
            let of = |place, f: &Fields| Mark::of(cfg, place, f);
            let (content, lacks) = match *source {
                Source::Symlink => (Content::Symlink, None),
                Source::Blob(id) => {
                    match crate::store::repo::read_blob(odb, id, MAX_DEAL_BYTES as usize) {
                        Ok(blob) => match pipeline::quick_entry(cfg, rel, blob.data(), of) {
                            Some(mark) => return Ok((*n, Ok(mark), None)),
                            None => (Content::Bytes(blob.data().to_vec()), None),
                        },
                        Err(Content::Unreadable(_)) if worker => return Err(job),
                        Err(c) => {
                            let lacks = matches!(c, Content::Unreadable(_)).then_some(id);
                            (c, lacks)
                        }
                    }
                }
            };
            let entry = Entry {
                rel: rel.clone(),
                content,
            };
            let mark = pipeline::parse_entry(cfg, entry, |d| of(d.place, &d.fields));
            Ok((*n, mark, lacks))
        })
        .collect()
}

/// The deal file versions a trend needs, queued as the walk down the
/// history finds them, and read and parsed by worker threads meanwhile.
/// The walk's own reads (commits, trees) stay on the calling thread, which
/// joins the workers when it is done.
struct Readers {
    /// The configs met, newest first; jobs name them by index.
    cfgs: Vec<Arc<Config>>,
    /// Each job's (config, blob, path), so a version met twice is read once.
    seen: HashMap<(usize, Oid, String), usize>,
    count: usize,
    batch: Batch,
    tx: Option<mpsc::Sender<Batch>>,
    /// Objects the history names that this clone lacks.
    missing: Vec<Oid>,
}

impl Readers {
    const BATCH: usize = 128;

    /// The job number of `file` (a path under the deals folder) under
    /// config `cfg`, queued if new.
    fn job(&mut self, cfg: usize, file: history::TreeFile) -> usize {
        let key = (cfg, file.id, file.path.clone());
        if let Some(n) = self.seen.get(&key) {
            return *n;
        }
        let n = self.count;
        self.count += 1;
        self.seen.insert(key, n);
        let c = Arc::clone(&self.cfgs[cfg]);
        let rel = Path::new(&c.deals_dir).join(&file.path);
        let source = if file.is_symlink() {
            Source::Symlink
        } else {
            Source::Blob(file.id)
        };
        self.batch.push((n, c, rel, source));
        if self.batch.len() >= Self::BATCH {
            self.flush();
        }
        n
    }

    fn flush(&mut self) {
        if let Some(tx) = &self.tx
            && !self.batch.is_empty()
        {
            let _ = tx.send(std::mem::take(&mut self.batch));
        }
    }

    /// Sends the last batch and lets the workers stop when done.
    fn finish(&mut self) {
        self.flush();
        self.tx = None;
    }
}

/// Runs `plan` beside workers that read and parse the versions it queues;
/// when it is done, this thread reads and parses too. Returns its result,
/// the configs it loaded, and every job's outcome by job number.
///
/// Each worker reads through an object database of its own, opened on the
/// objects folder by a path spelled apart from the repository's
/// (`objects/./`). libgit2 shares an open pack between handles by its path,
/// behind locks every object read takes: a second reader on the same pack
/// doubled the walk's time on two cores (benches/README.md, "trend"). A job
/// a worker cannot read goes back to this thread, whose handle is the
/// repository's own, so only it decides that an object is missing.
fn with_readers<'r, T>(
    git: &'r git2::Repository,
    odb: &'r git2::Odb<'r>,
    plan: impl FnOnce(&mut Readers) -> T,
) -> Result<Read<T>, Error> {
    let (tx, rx) = mpsc::channel::<Batch>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let rx = Mutex::new(rx);
    // Take batches until the plan is done and the queue is empty.
    let work = |odb: &git2::Odb, worker: bool, done_tx: &mpsc::Sender<Done>| {
        loop {
            let next = rx.lock().map(|r| r.recv());
            let Ok(Ok(batch)) = next else { break };
            if done_tx.send(parse_batch(odb, batch, worker)).is_err() {
                break;
            }
        }
    };
    let objects = format!("{}/./", git.commondir().join("objects").display());
    let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(2, 8) - 1);
    std::thread::scope(|s| {
        for _ in 0..helpers {
            let done_tx = done_tx.clone();
            let (objects, work) = (&objects, &work);
            s.spawn(move || {
                // Without a handle, a worker leaves its share to this thread.
                let Ok(own) = git2::Odb::new() else { return };
                if own.add_disk_alternate(objects).is_ok() {
                    work(&own, true, &done_tx);
                }
            });
        }
        let mut readers = Readers {
            cfgs: Vec::new(),
            seen: HashMap::new(),
            count: 0,
            batch: Vec::new(),
            tx: Some(tx),
            missing: Vec::new(),
        };
        let t = plan(&mut readers);
        readers.finish();
        work(odb, false, &done_tx);
        drop(done_tx);
        let mut out: Vec<Option<Outcome>> = vec![None; readers.count];
        let mut lacking = Vec::new();
        let mut take = |done: Done, again: &mut Batch| {
            for r in done {
                match r {
                    Ok((n, outcome, lacks)) => {
                        out[n] = Some(outcome);
                        lacking.extend(lacks.map(|id| (n, id)));
                    }
                    Err(job) => again.push(job),
                }
            }
        };
        let mut again = Vec::new();
        for done in done_rx {
            take(done, &mut again);
        }
        take(parse_batch(odb, again, false), &mut Vec::new());
        // In the walk's order, so the error names the same object each run.
        lacking.sort();
        readers
            .missing
            .extend(lacking.into_iter().map(|(_, id)| id));
        if let Some(id) = readers.missing.first() {
            return Err(missing_objects(git, readers.missing.len(), *id));
        }
        Ok((t, readers.cfgs, out))
    })
}

/// The error for history objects a (partial) clone lacks: trend would
/// otherwise count those deals, or that `pipeline.yaml`, as absent.
fn missing_objects(git: &git2::Repository, n: usize, first: Oid) -> Error {
    Error::git(
        format!(
            "{n} git object{} of HEAD's history {} not in this clone (the first: {first}); a partial clone fetches them on demand, and trends read history offline",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" },
        ),
        crate::store::repo::refetch_help(git),
    )
}

/// The open figures of a snapshot's marks.
fn figures<'m>(cfg: &Config, marks: impl Iterator<Item = &'m Mark> + Clone, snap: &mut Snapshot) {
    let f = stats::open_figures_of(cfg, marks.clone().map(|m| (m.place, m.value)));
    snap.open = Some(f.open);
    snap.open_value = Some(f.open_value);
    snap.weighted = Some(f.weighted);
    snap.stages = Some(
        cfg.stages
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
}

/// `new`, `won` and `lost` of the period (`start`, `end`].
fn period_figures<'m>(
    marks: impl Iterator<Item = &'m Mark>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    snap: &mut Snapshot,
) {
    let within = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t > start && t <= end);
    let (mut new, mut won, mut lost) = (0, 0, 0);
    let zero = crate::base::money::Amount::ZERO;
    let (mut won_value, mut lost_value) = (zero, zero);
    for m in marks {
        new += usize::from(within(m.new_at));
        if within(m.won_at) {
            won += 1;
            won_value += m.value;
        }
        if within(m.lost_at) {
            lost += 1;
            lost_value += m.value;
        }
    }
    snap.new = Some(new);
    snap.won = Some(won);
    snap.won_value = Some(stats::cents(won_value));
    snap.lost = Some(lost);
    snap.lost_value = Some(stats::cents(lost_value));
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

/// A commit that changed a criterion, with its reason
/// ([`history::criteria_reason`]), else its subject.
fn criteria_change(git: &git2::Repository, c: &Link) -> CriteriaChange {
    let full = history::commit(git, c.id);
    let reason = full
        .as_ref()
        .and_then(|full| history::criteria_reason(git, full));
    let summary = reason.unwrap_or_else(|| {
        git.find_commit(c.id)
            .ok()
            .and_then(|k| k.summary().ok().flatten().map(str::to_string))
            .unwrap_or_default()
    });
    CriteriaChange {
        commit: c.id.to_string(),
        date: ts(at(c.time)),
        // A trailer folded over lines reads as one, as git unfolds it.
        summary: summary.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The commits of `line` (newest first) in the window that changed a
/// criterion, oldest first.
fn criteria_changes(
    git: &git2::Repository,
    line: &[Link],
    prefix: &str,
    window_start: i64,
    now: i64,
    missing: &mut Vec<Oid>,
) -> Vec<CriteriaChange> {
    let Ok(odb) = git.odb() else {
        return Vec::new();
    };
    let lacks = |id: Oid| !odb.exists(id);
    // pipeline.yaml's blob id at each commit of the window (and the one
    // before it), read from the raw trees: one small read a commit.
    let yaml_path = format!("{prefix}/{}", config::FILE);
    let yaml_at =
        |l: &Link, missing: &mut Vec<Oid>| history::file_id(&odb, l.tree, &yaml_path, missing);
    let read = |blob: Oid| {
        odb.read(blob)
            .ok()
            .filter(|o| o.kind() == git2::ObjectType::Blob)
            .and_then(|o| criteria_of(o.data()))
    };
    let mut out = Vec::new();
    // Oldest first. `known`: the criteria of the last pipeline.yaml that
    // parsed, so a change made while repairing a broken file still counts
    // against the version before the break; `None` while there is no file
    // (the commit that brings one is not a change).
    let mut known: Option<Vec<(String, serde_yaml::Value)>> = None;
    let mut last_blob: Option<Oid> = None;
    let commits: Vec<&Link> = line.iter().filter(|c| c.time <= now).collect();
    for c in commits.into_iter().rev() {
        let here = yaml_at(c, missing);
        let before = std::mem::replace(&mut last_blob, here);
        let Some(b) = here else {
            known = None;
            continue;
        };
        if before == Some(b) {
            continue;
        }
        if lacks(b) {
            missing.push(b);
            continue;
        }
        // A text that does not parse changes no criterion anyone could
        // read (the snapshot it falls in says so).
        let Some(now_criteria) = read(b) else {
            continue;
        };
        if before.is_some()
            && c.time > window_start
            && known.as_ref().is_some_and(|k| *k != now_criteria)
        {
            out.push(criteria_change(git, c));
        }
        known = Some(now_criteria);
    }
    out
}

/// The trend of the pipeline at `root`, for HEAD's first-parent history.
///
/// Snapshots are worked out newest first: the newest one's files are
/// queued for the readers at once, then each older one applies the tree
/// diff back from the one after it (only the files that differ are read),
/// while the walk down the history goes on. The criteria changes are found
/// while the readers finish; then each snapshot is added up.
pub fn compute(root: &Path, every: Every, last: usize, now: DateTime<Utc>) -> Result<Trend, Error> {
    let repo = Repo::require(
        root,
        "trends are read from git history; commit the pipeline first",
    )?;
    let prefix = repo.rel(root)?;
    let (window_start, ends) = period_ends(every, last, now);
    let git = repo.git();
    let odb = git.odb().map_err(|e| {
        Error::git(
            format!("cannot read the object database: {}", e.message()),
            "",
        )
    })?;

    let (planned, cfgs, read) = with_readers(git, &odb, |readers| {
        let mut walk = TrendWalk::new(&repo, root, &prefix, &odb);
        walk.plan(&ends, readers);
        readers.finish();
        // The criteria changes need the line back to the first commit at or
        // before the window's start.
        walk.reach(window_start.timestamp());
        let changes = criteria_changes(
            git,
            &walk.line,
            &prefix,
            window_start.timestamp(),
            now.timestamp(),
            &mut readers.missing,
        );
        // A commit of HEAD's line this clone cannot read is missing, unless
        // a shallow clone cut the line there.
        if let Some(id) = walk.lost_commit {
            readers.missing.insert(0, id);
        }
        walk.planned(changes)
    })?;

    // Add up each snapshot, newest first.
    let mut totals = Totals::new(&cfgs, &read, planned.problems);
    let starts = std::iter::once(window_start).chain(ends.iter().copied());
    let periods: Vec<(DateTime<Utc>, DateTime<Utc>)> = starts.zip(ends.iter().copied()).collect();
    let mut snapshots: Vec<Snapshot> = planned
        .steps
        .into_iter()
        .zip(periods.into_iter().rev())
        .map(|((c, step), (start, end))| totals.snapshot(c, step, start, end))
        .collect();
    snapshots.reverse();
    Ok(Trend {
        every,
        snapshots,
        criteria_changes: planned.criteria_changes,
        unreadable: totals.unreadable.unwrap_or_default(),
        history_cut: planned.history_cut.map(|t| ts(at(t))),
        problems: totals.problems,
    })
}

/// The rules a snapshot's files were read under: its config (an index into
/// the readers' configs), its `pipeline.yaml` blob and its deals tree.
type Rules = (usize, Oid, Option<Oid>);

/// What the walk down the history found: each period's commit and step,
/// newest first; the criteria changes; where a shallow history is cut;
/// and what some snapshot could not count.
struct Planned {
    steps: Vec<(Option<Oid>, Option<Step>)>,
    criteria_changes: Vec<CriteriaChange>,
    history_cut: Option<i64>,
    problems: Vec<String>,
}

/// The walk down HEAD's first-parent line, as far as the snapshots need,
/// planning each period's [`Step`] and queueing the deal files it reads.
struct TrendWalk<'a> {
    repo: &'a Repo,
    root: &'a Path,
    /// The pipeline's folder in the repository.
    prefix: &'a str,
    odb: &'a git2::Odb<'a>,
    /// HEAD's first-parent line, newest first, walked as far as needed.
    line: Vec<Link>,
    /// The next commit down the line, while there is one to read.
    next: Option<Oid>,
    /// The commits a shallow clone has without their parents.
    shallow: std::collections::HashSet<Oid>,
    /// The oldest commit read when a parent named could not be (a shallow
    /// clone's boundary): its time.
    cut: Option<i64>,
    /// A commit of the line this clone cannot read.
    lost_commit: Option<Oid>,
    /// Links before `from` are newer than every end still to come.
    from: usize,
    /// The commit (index in `line`) of the snapshot after.
    prev: Option<usize>,
    /// The rules of the snapshot after, while it has a pipeline.
    cur: Option<Rules>,
    /// (commit index in `line`, step) per period, newest first.
    steps: Vec<(Option<usize>, Option<Step>)>,
    /// What a snapshot could not count, for stderr.
    problems: Vec<String>,
}

impl<'a> TrendWalk<'a> {
    /// A walk from HEAD's commit, when HEAD names one (not on an unborn
    /// branch).
    fn new(repo: &'a Repo, root: &'a Path, prefix: &'a str, odb: &'a git2::Odb<'a>) -> Self {
        let git = repo.git();
        TrendWalk {
            repo,
            root,
            prefix,
            odb,
            line: Vec::new(),
            next: git
                .head()
                .ok()
                .and_then(|h| h.resolve().ok())
                .and_then(|h| h.target()),
            shallow: shallow_commits(git),
            cut: None,
            lost_commit: None,
            from: 0,
            prev: None,
            cur: None,
            steps: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Reads the next commit down the line onto `line`; false when there is
    /// none (past the root, a shallow clone's boundary, or a commit this
    /// clone cannot read).
    fn read_next(&mut self) -> bool {
        let Some(id) = self.next else {
            return false;
        };
        let Some(h) = history::header(self.odb, id) else {
            // Past a shallow clone's boundary, history is cut; any
            // other commit this clone cannot read is missing.
            match self.line.last() {
                Some(l) if self.shallow.contains(&l.id) => self.cut = Some(l.time),
                _ => self.lost_commit = Some(id),
            }
            self.next = None;
            return false;
        };
        self.next = h.parents.first().copied();
        self.line.push(Link {
            id,
            time: h.time,
            tree: h.tree,
        });
        true
    }

    /// The newest commit of the line made at or before `end` (seconds), as
    /// an index in `line`, walking down as far as needed. Ends come newest
    /// first, so the search starts where the last one was found.
    fn commit_at(&mut self, end: i64) -> Option<usize> {
        let c = loop {
            if let Some(i) = (self.from..self.line.len()).find(|&i| self.line[i].time <= end) {
                break Some(i);
            }
            self.from = self.line.len();
            if !self.read_next() {
                break None;
            }
        };
        if let Some(i) = c {
            self.from = i;
        }
        c
    }

    /// Plans each period's step, newest first: none when its commit is the
    /// period after's, else how its files follow from that one's.
    fn plan(&mut self, ends: &[DateTime<Utc>], readers: &mut Readers) {
        for end in ends.iter().rev() {
            let c = self.commit_at(end.timestamp());
            if c.is_some() && c == self.prev {
                self.steps.push((c, None));
                continue;
            }
            self.prev = c;
            let step = match c {
                Some(i) => self.step_at(i, readers),
                None => {
                    self.cur = None;
                    Step::Absent
                }
            };
            self.steps.push((c, Some(step)));
        }
    }

    /// The step to the snapshot at commit `i` of the line: nothing without
    /// a pipeline there, the diff from the snapshot after under the same
    /// `pipeline.yaml`, else every file anew.
    fn step_at(&mut self, i: usize, readers: &mut Readers) -> Step {
        let (id, root_tree) = (self.line[i].id, self.line[i].tree);
        let missing = &mut readers.missing;
        let tree = history::dir_id(self.odb, root_tree, self.prefix, missing);
        let cfg_blob = tree.and_then(|t| history::file_id(self.odb, t, config::FILE, missing));
        let (Some(tree), Some(cfg_blob)) = (tree, cfg_blob) else {
            self.cur = None;
            return Step::Absent;
        };
        match self.cur {
            Some(rules) if rules.1 == cfg_blob => self.apply(id, tree, rules, readers),
            _ if !self.odb.exists(cfg_blob) => {
                readers.missing.push(cfg_blob);
                self.cur = None;
                Step::Absent
            }
            _ => self.load(id, tree, cfg_blob, readers),
        }
    }

    /// The snapshot after's files, changed as the deals folder differs
    /// between its tree and commit `id`'s pipeline tree `tree`.
    fn apply(&mut self, id: Oid, tree: Oid, rules: Rules, readers: &mut Readers) -> Step {
        let (cfg, blob, deals_tree) = rules;
        let missing = &mut readers.missing;
        let deals = &readers.cfgs[cfg].deals_dir;
        let here_id = history::dir_id(self.odb, tree, deals, missing);
        let changed = if here_id == deals_tree {
            Vec::new()
        } else {
            history::diff_raw(self.odb, deals_tree, here_id, missing)
        };
        self.cur = Some((cfg, blob, here_id));
        let mut gone = Vec::new();
        let mut set = Vec::new();
        for ch in changed {
            match ch.new {
                Some(f) if is_deal_file(&f) => {
                    set.push((ch.path, readers.job(cfg, f)));
                }
                Some(f) => {
                    folder_link(&readers.cfgs[cfg], &f, id, &mut self.problems);
                    gone.push(ch.path);
                }
                None => gone.push(ch.path),
            }
        }
        Step::Apply { gone, set }
    }

    /// Every deal file of commit `id`'s pipeline tree `tree`, under that
    /// commit's own `pipeline.yaml`; no figures when it does not load.
    fn load(&mut self, id: Oid, tree: Oid, cfg_blob: Oid, readers: &mut Readers) -> Step {
        let loaded = match Pipeline::config_at(self.repo, self.root, id) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.problems.push(format!(
                    "the snapshot at commit {} has no figures: {}",
                    short(id),
                    one_line(&e.to_string())
                ));
                self.cur = None;
                return Step::Absent;
            }
        };
        readers.cfgs.push(Arc::new(loaded));
        let cfg = readers.cfgs.len() - 1;
        let missing = &mut readers.missing;
        let deals = &readers.cfgs[cfg].deals_dir;
        let sub = history::dir_id(self.odb, tree, deals, missing);
        let listed = sub
            .map(|t| history::list_raw(self.odb, t, missing))
            .unwrap_or_default();
        self.cur = Some((cfg, cfg_blob, sub));
        let mut files = Vec::new();
        for f in listed {
            if is_deal_file(&f) {
                files.push((f.path.clone(), readers.job(cfg, f)));
            } else {
                folder_link(&readers.cfgs[cfg], &f, id, &mut self.problems);
            }
        }
        Step::Load { cfg, files }
    }

    /// Walks on down the line to its first commit at or before `t`
    /// (seconds), or its end.
    fn reach(&mut self, t: i64) {
        while self.line.last().is_some_and(|l| l.time > t) && self.read_next() {}
    }

    /// The plan, each step's commit named by its id.
    fn planned(self, criteria_changes: Vec<CriteriaChange>) -> Planned {
        let line = &self.line;
        Planned {
            steps: self
                .steps
                .into_iter()
                .map(|(c, s)| (c.map(|i| line[i].id), s))
                .collect(),
            criteria_changes,
            history_cut: self.cut,
            problems: self.problems,
        }
    }
}

impl Snapshot {
    /// The snapshot of the period (`start`, `end`] at commit `c`, every
    /// figure null until it is counted.
    fn of_period(start: DateTime<Utc>, end: DateTime<Utc>, c: Option<Oid>) -> Snapshot {
        Snapshot {
            start: ts(start),
            end: ts(end),
            commit: c.map(|c| c.to_string()),
            open: None,
            open_value: None,
            weighted: None,
            stages: None,
            new: None,
            won: None,
            won_value: None,
            lost: None,
            lost_value: None,
        }
    }
}

/// The snapshots added up, newest first: the deal files of the one at
/// hand (path → job) under its config, and what the newer ones said.
struct Totals<'r> {
    /// The configs the walk loaded, by index.
    cfgs: &'r [Arc<Config>],
    /// Each job's outcome, by job number.
    read: &'r [Option<Outcome>],
    files: HashMap<String, usize>,
    cfg_now: Option<Arc<Config>>,
    /// The snapshot after the one at hand.
    last: Option<Snapshot>,
    /// The newest snapshot's unreadable deal files, once it is added up.
    unreadable: Option<Vec<Unreadable>>,
    /// The unreadable files' problems said already, as `path:line: message`.
    said: std::collections::HashSet<String>,
    /// What some snapshot could not count, for stderr.
    problems: Vec<String>,
}

impl<'r> Totals<'r> {
    fn new(cfgs: &'r [Arc<Config>], read: &'r [Option<Outcome>], problems: Vec<String>) -> Self {
        Totals {
            cfgs,
            read,
            files: HashMap::new(),
            cfg_now: None,
            last: None,
            unreadable: None,
            said: std::collections::HashSet::new(),
            problems,
        }
    }

    /// Job `j`'s outcome, once read.
    fn outcome(&self, j: usize) -> Option<&'r Outcome> {
        self.read.get(j).and_then(Option::as_ref)
    }

    /// The snapshot of the period (`start`, `end`] at commit `c`, its files
    /// following from the period after's by `step` (none: the same commit).
    fn snapshot(
        &mut self,
        c: Option<Oid>,
        step: Option<Step>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Snapshot {
        let mut snap = Snapshot::of_period(start, end, c);
        // No step: the same commit as the period after, whose open figures
        // it shares.
        let same = step.is_none();
        if let Some(step) = step {
            self.take(step);
        }
        match self.cfg_now.clone() {
            Some(cfg) => self.count(&cfg, same, start, end, &mut snap),
            None => snap.commit = None,
        }
        let found = self.unreadable_now();
        self.note_unreadable(found, c);
        self.last = Some(snap.clone());
        snap
    }

    /// Makes the files and config at hand the ones `step` leads to.
    fn take(&mut self, step: Step) {
        match step {
            Step::Absent => {
                self.files.clear();
                self.cfg_now = None;
            }
            Step::Load { cfg, files } => {
                self.cfg_now = self.cfgs.get(cfg).cloned();
                self.files = files.into_iter().collect();
            }
            Step::Apply { gone, set } => {
                for g in gone {
                    self.files.remove(&g);
                }
                self.files.extend(set);
            }
        }
    }

    /// The figures of the snapshot at hand: the open ones (the period
    /// after's when `same`) and the period's `new`, `won` and `lost`.
    fn count(
        &self,
        cfg: &Config,
        same: bool,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        snap: &mut Snapshot,
    ) {
        let marks = self
            .files
            .values()
            .filter_map(|j| self.outcome(*j).and_then(|r| r.as_ref().ok()));
        match &self.last {
            Some(prev) if same => {
                snap.open = prev.open;
                snap.open_value = prev.open_value;
                snap.weighted = prev.weighted;
                snap.stages = prev.stages.clone();
            }
            _ => figures(cfg, marks.clone(), snap),
        }
        period_figures(marks, start, end, snap);
    }

    /// The deal files of the snapshot at hand that could not be read, by
    /// path; none without a pipeline.
    fn unreadable_now(&self) -> Vec<Unreadable> {
        let Some(cfg) = &self.cfg_now else {
            return Vec::new();
        };
        let mut errs: Vec<FileProblem> = self
            .files
            .values()
            .filter_map(|j| self.outcome(*j).and_then(|r| r.as_ref().err().cloned()))
            .collect();
        errs.sort_by(|a, b| a.rel.cmp(&b.rel));
        crate::reports::forecast::unreadable_of(cfg, &errs)
    }

    /// The newest snapshot's unreadable deal files go in `unreadable`; an
    /// older one's (at commit `c`) are warned, each problem once, at the
    /// newest snapshot it is in.
    fn note_unreadable(&mut self, found: Vec<Unreadable>, c: Option<Oid>) {
        let key = |u: &Unreadable| format!("{}:{}: {}", u.path, u.line, u.message);
        match (self.unreadable.is_some(), c) {
            (false, _) => {
                self.said.extend(found.iter().map(key));
                self.unreadable = Some(found);
            }
            (true, Some(c)) => {
                for u in found.iter().filter(|u| self.said.insert(key(u))) {
                    self.problems.push(format!(
                        "{} (in the snapshot at commit {}; not counted there)",
                        key(u),
                        short(c)
                    ));
                }
            }
            (true, None) => {}
        }
    }
}

/// A figure for a table: `–` when null.
pub fn cell<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_else(|| "–".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::base::time::parse_timestamp(s).unwrap()
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

    fn amount(n: i64) -> crate::base::money::Amount {
        crate::base::money::Amount::from(n)
    }

    /// November 2026's day `d`, midnight.
    fn nov(d: u32) -> DateTime<Utc> {
        t(&format!("2026-11-{d:02}T00:00:00Z"))
    }

    /// A mark new on November's day `new_at`, won on `won_at`'s if any.
    fn mark(place: Place, value: i64, new_at: u32, won_at: Option<u32>) -> Mark {
        Mark {
            place,
            value: amount(value),
            new_at: Some(nov(new_at)),
            won_at: won_at.map(nov),
            lost_at: None,
        }
    }

    fn empty(start: u32, end: u32) -> Snapshot {
        Snapshot::of_period(nov(start), nov(end), None)
    }

    #[test]
    fn period_figures_count_moments_after_the_start_up_to_the_end() {
        let marks = [
            mark(Place::Stage(0), 100, 8, None),
            mark(Place::Stage(0), 200, 15, None),
            mark(Place::Won, 300, 1, Some(10)),
            mark(Place::Won, 400, 1, Some(16)),
            Mark {
                lost_at: Some(nov(9)),
                ..mark(Place::Lost, 50, 1, None)
            },
        ];
        let mut snap = empty(8, 15);
        period_figures(marks.iter(), nov(8), nov(15), &mut snap);
        // New: only the one made at the end (the start is the period before's).
        assert_eq!(
            (snap.new, snap.won, snap.won_value),
            (Some(1), Some(1), Some(300.0))
        );
        assert_eq!((snap.lost, snap.lost_value), (Some(1), Some(50.0)));
    }

    #[test]
    fn open_figures_weigh_each_open_deal_by_its_stage() {
        let cfg = crate::reports::testkit::three_stages();
        let marks = [
            mark(Place::Stage(0), 1000, 1, None),
            mark(Place::Stage(1), 2000, 1, None),
            mark(Place::Stage(1), 3000, 1, None),
            mark(Place::Won, 9000, 1, Some(2)),
        ];
        let mut snap = empty(1, 8);
        figures(&cfg, marks.iter(), &mut snap);
        assert_eq!(
            (snap.open, snap.open_value, snap.weighted),
            (Some(3), Some(6000.0), Some(2600.0))
        );
        let stages: Vec<(String, usize, f64)> = snap
            .stages
            .unwrap()
            .into_iter()
            .map(|(id, f)| (id, f.open, f.value))
            .collect();
        let want = [
            ("lead", 1, 1000.0),
            ("proposal", 2, 5000.0),
            ("negotiation", 0, 0.0),
        ];
        assert_eq!(
            stages,
            want.map(|(id, n, v)| (id.to_string(), n, v)).to_vec()
        );
    }

    #[test]
    fn a_mark_keeps_the_first_stage_won_and_lost_dates_and_the_summed_value() {
        let cfg = crate::reports::testkit::three_stages();
        let d = crate::reports::testkit::deal(
            &cfg,
            "a",
            Place::Won,
            "value: 500\nstages: {lead: 2026-11-02, proposal: 2026-11-03, won: 2026-11-04}\n",
        );
        let m = Mark::of(&cfg, d.place, &d.fields);
        assert_eq!(m.place, Place::Won);
        assert_eq!(m.value, amount(500));
        assert_eq!(m.new_at, Some(t("2026-11-02T00:00:00Z")));
        assert_eq!(
            (m.won_at, m.lost_at),
            (Some(t("2026-11-04T00:00:00Z")), None)
        );
        let usd = crate::reports::testkit::deal(
            &cfg,
            "b",
            Place::Stage(1),
            "value: 500\ncurrency: USD\n",
        );
        let m = Mark::of(&cfg, usd.place, &usd.fields);
        assert_eq!((m.value, m.new_at), (amount(0), None));
    }

    #[test]
    fn criteria_are_read_per_stage_from_a_pipeline_text() {
        let got = criteria_of(b"stages:\n  - id: a\n    exit: [x]\n  - id: b\n").unwrap();
        let x = serde_yaml::Value::Sequence(vec!["x".into()]);
        assert_eq!(
            got,
            vec![
                ("a".to_string(), x),
                ("b".to_string(), serde_yaml::Value::Null)
            ]
        );
        assert_eq!(criteria_of(b"stages: [unclosed\n"), None);
        assert_eq!(criteria_of(b"currency: EUR\n"), None);
    }

    #[test]
    fn a_deal_file_is_markdown_not_hidden_and_no_submodule() {
        let file = |path: &str, mode: i32| history::TreeFile {
            path: path.into(),
            id: Oid::ZERO_SHA1,
            mode,
        };
        assert!(is_deal_file(&file("lead/a.md", 0o100644)));
        assert!(!is_deal_file(&file("lead/a.txt", 0o100644)));
        assert!(!is_deal_file(&file("lead/.drafts/a.md", 0o100644)));
        assert!(!is_deal_file(&file("lead/a.md", 0o160000)));
    }

    #[test]
    fn a_stage_folder_committed_as_a_symlink_is_said() {
        let cfg = crate::reports::testkit::three_stages();
        let link = i32::from(git2::FileMode::Link);
        let folder = history::TreeFile {
            path: cfg.stages[0].dir.clone(),
            id: Oid::ZERO_SHA1,
            mode: link,
        };
        let commit = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let mut problems = Vec::new();
        folder_link(&cfg, &folder, commit, &mut problems);
        let other = history::TreeFile {
            path: "notes".into(),
            ..folder
        };
        folder_link(&cfg, &other, commit, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(&format!(
            "/{} is a symlink in commit 0123456:",
            cfg.stages[0].dir
        )));
    }

    #[test]
    fn totals_follow_each_step_and_a_repeated_commit_shares_its_open_figures() {
        let cfgs = vec![Arc::new(crate::reports::testkit::three_stages())];
        let read = vec![
            Some(Ok(mark(Place::Stage(0), 1000, 20, None))),
            Some(Ok(mark(Place::Stage(1), 2000, 10, None))),
            // b's older version, still in lead.
            Some(Ok(mark(Place::Stage(0), 2000, 10, None))),
        ];
        let mut totals = Totals::new(&cfgs, &read, Vec::new());
        let (c2, c1) = (Oid::from_str("22").unwrap(), Oid::from_str("11").unwrap());
        let weeks = [1, 8, 15, 22, 29].map(nov);
        let files = vec![("a.md".to_string(), 0), ("b.md".to_string(), 1)];
        let steps = [
            (Some(c2), Some(Step::Load { cfg: 0, files })),
            (Some(c2), None),
            (
                Some(c1),
                Some(Step::Apply {
                    gone: vec!["a.md".into()],
                    set: vec![("b.md".into(), 2)],
                }),
            ),
            (None, Some(Step::Absent)),
        ];
        let snaps: Vec<Snapshot> = steps
            .into_iter()
            .enumerate()
            .map(|(i, (c, step))| totals.snapshot(c, step, weeks[3 - i], weeks[4 - i]))
            .collect();
        let got: Vec<_> = snaps
            .iter()
            .map(|s| (s.commit.is_some(), s.open, s.weighted, s.new))
            .collect();
        assert_eq!(
            got,
            vec![
                (true, Some(2), Some(1100.0), Some(0)),
                // Same commit: a was new on the 20th, in this week.
                (true, Some(2), Some(1100.0), Some(1)),
                (true, Some(1), Some(200.0), Some(1)),
                (false, None, None, None),
            ]
        );
        assert_eq!(snaps[2].commit.as_deref(), Some(c1.to_string().as_str()));
        assert_eq!(
            totals.unreadable.as_deref().map(<[Unreadable]>::len),
            Some(0)
        );
        assert!(totals.problems.is_empty());
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
