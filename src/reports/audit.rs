//! `deal audit [--last N]`: the last N closed deals, from git history —
//! where they stalled, who owned each step, and whether a stall looks like
//! a process gap or a training gap.
//!
//! Sources (docs/reference.md, "Audit"): [`touches`] is the one reading of
//! a deal's history along HEAD's first-parent line, the same whatever merge
//! button was pressed: each main-line commit that changed the deal's file
//! gives the trailer blocks that name it (its own, a squash's body, the
//! commits a merge brought in), each move a stage entry dated by the deal
//! file's own `stages` entry, with its `Owner:`; a forced move is credited
//! to whoever forced it (`Forced-By:`, the file's `waived.<stage>.by`, or
//! the author's email through the team); a main-line `git revert` undoes
//! what it reverts. A stage the history does not show is taken from the
//! `stages` front-matter (stages before the history begins, e.g. imports).
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
//!   deal never entered, and for a won deal every open stage after its
//!   last. **Forced**: moves with a `Forced:` trailer, and stages in
//!   `waived`.
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

use crate::base::time::days_between;
use crate::model::config::Config;
use crate::model::deal::{Deal, NOT_RECORDED, Place};
use crate::store::history::{self, Commit};

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

/// A forced move, credited to whoever forced it.
#[derive(Debug, Clone, Serialize)]
pub struct ForcedMove {
    pub date: Option<String>,
    /// Who forced it: `Forced-By:`, else the file's `waived.<stage>.by`,
    /// else the commit's author matched to the team by email (a team
    /// handle, or `Name <email>`).
    pub by: Option<String>,
    /// The owner the move handed the deal to (or left it with).
    pub owner: Option<String>,
    pub reason: String,
    /// The stages it waived.
    pub waived: usize,
}

/// One of a deal file's waivers (`waived.<stage>`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Waived {
    pub stage: String,
    pub reason: String,
    pub by: Option<String>,
    pub at: Option<String>,
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
    /// The deal file's waivers.
    pub waivers: Vec<Waived>,
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
    pub unreadable: Vec<crate::store::pipeline::Unreadable>,
}

fn ts(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

/// `bob <bob@example.com>` → `bob`.
fn handle(v: &str) -> String {
    v.split('<').next().unwrap_or(v).trim().to_string()
}

/// One fact of a deal's history: one of `deal`'s trailer blocks that names
/// it (a commit's own, one a squash copied into its body, or one of the
/// commits a merge brought in), or a main-line commit that changed its
/// file without one (a change by hand).
#[derive(Debug, Clone, Default)]
pub struct Touch {
    /// When, seconds since the epoch: for a stage entry, the deal file's
    /// own `stages.<stage>` (which rebases, cherry-picks and squashes
    /// keep); else the squashed commit's date where the squash names it,
    /// or the writing commit's author time. `None` when unknown (a forge's
    /// squash names no dates).
    pub time: Option<i64>,
    /// The stage it entered.
    pub place: Option<Place>,
    /// `From-Stage:` and `To-Stage:` as written, for matching a revert.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The `Owner:` it records.
    pub owner: Option<String>,
    pub previous_owner: Option<String>,
    /// A forced move's reason.
    pub forced: Option<String>,
    /// Who forced it: `Forced-By:`, else the file's `waived.<stage>.by`,
    /// else the author, matched to the team by email.
    pub forced_by: Option<String>,
    /// How many stages that forced move waived.
    pub waived: usize,
    /// From an `Imported:` commit (its own block, or a change by hand in a
    /// commit that carries one): `deal notify` fires nothing for it.
    pub imported: bool,
    /// The commit that wrote it, and the main-line commit that brought it.
    origin: Option<Oid>,
    pub main: Option<Oid>,
    /// The commit whose own change it is, where history keeps one: a
    /// commit's own trailer block (on the main line, or one a merge
    /// brought in), or a change by hand in a commit that is no merge.
    /// `None` for a squash's copied blocks and a change by hand a merge
    /// brought. `deal notify` judges "was the trigger there yet" by this
    /// commit's `pipeline.yaml`, else by the main-line commit's first
    /// parent's (docs/reference.md, "Notify").
    pub written: Option<Oid>,
    /// Undone by a `git revert` on the main line.
    undone: bool,
}

/// `stages` and `waived` of a deal file at a commit.
#[derive(Debug, Clone, Default)]
struct FileFacts {
    stages: BTreeMap<String, DateTime<Utc>>,
    waived: BTreeMap<String, crate::model::fields::Waiver>,
}

/// Reading history for a set of deals: the deal files read so far, the
/// facts found, and what each main-line revert did.
struct Reader<'a> {
    repo: &'a Repository,
    deals: &'a str,
    cfg: &'a Config,
    /// The deals to read; `None`: every deal (`deal notify`).
    slugs: Option<&'a HashSet<String>>,
    files: HashMap<(Oid, String), Option<std::rc::Rc<FileFacts>>>,
    /// (slug, fact), in the order history wrote them.
    log: Vec<(String, Touch)>,
    /// Each deal's facts: their indices in `log`.
    of: HashMap<String, Vec<usize>>,
    /// A revert's effect: the facts it undid (or, for a revert of a
    /// revert, restored), and the commits it names.
    effects: HashMap<Oid, Vec<usize>>,
    reverts_of: Vec<(Oid, Vec<Oid>)>,
}

impl Reader<'_> {
    /// The deal's `stages` and `waived` in `commit`'s tree, looked for
    /// first in `hint`'s folder (where it is expected to be).
    fn facts(
        &mut self,
        commit: Oid,
        slug: &str,
        hint: Option<Place>,
    ) -> Option<std::rc::Rc<FileFacts>> {
        if let Some(f) = self.files.get(&(commit, slug.to_string())) {
            return f.clone();
        }
        let got = deal_blob(self.repo, commit, self.deals, self.cfg, slug, hint).and_then(|b| {
            let d = Deal::parse(
                slug.to_string(),
                std::path::PathBuf::new(),
                Place::Stage(0),
                b,
                self.cfg,
            )
            .ok()?;
            Some(std::rc::Rc::new(FileFacts {
                stages: d.fields.stages,
                waived: d.fields.waived,
            }))
        });
        self.files.insert((commit, slug.to_string()), got.clone());
        got
    }

    /// The standing facts of `slug`, newest first.
    fn standing(&self, slug: &str) -> impl Iterator<Item = &Touch> {
        self.of
            .get(slug)
            .into_iter()
            .flatten()
            .rev()
            .map(|&i| &self.log[i].1)
            .filter(|t| !t.undone)
    }

    /// Where `slug` stands after the facts read so far.
    fn place(&self, slug: &str) -> Option<Place> {
        self.standing(slug).find_map(|t| t.place)
    }

    /// When `slug` entered the stage it stands in: a move's file date must
    /// not be before it. Only stage entries count: a `deal set` or note
    /// that a rebase (`--ignore-date`) dated on its own day says nothing of
    /// when the next move was made.
    fn last_entry(&self, slug: &str) -> Option<i64> {
        self.standing(slug)
            .filter(|t| t.place.is_some())
            .find_map(|t| t.time)
    }

    fn push(&mut self, slug: &str, t: Touch) {
        self.of
            .entry(slug.to_string())
            .or_default()
            .push(self.log.len());
        self.log.push((slug.to_string(), t));
    }

    /// The facts of `slug` that `block` (written by `origin`, brought to
    /// the main line by `main`) records. `kept`: the file the main line
    /// ended with, for a merge (a forced move or stage entry the merge threw
    /// away does not count).
    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        slug: &str,
        block: &history::Block,
        origin: &Commit,
        main: Oid,
        own: bool,
        superseded: bool,
        kept: Option<&FileFacts>,
    ) {
        let cfg = self.cfg;
        let to = block.get("To-Stage").map(str::to_string);
        let place = to.as_deref().and_then(|t| Place::parse(t, cfg));
        let facts = self.facts(origin.id, slug, place);
        let facts = facts.as_deref();
        if let (Some(p), Some(k)) = (place, kept)
            && !k.stages.contains_key(p.id(cfg))
        {
            return;
        }
        // `superseded`: a later block of the same message enters this stage
        // again (a deal moved back and forth, then squashed); the file keeps
        // only that later date, so this entry has the date its squashed
        // commit gives, if any.
        let file = place
            .filter(|_| !superseded)
            .and_then(|p| facts?.stages.get(p.id(cfg)).copied());
        let time = entry_time(file, self.last_entry(slug), origin, block.date, own);
        let mine = forced_waivers(cfg, block, facts, time);
        let forced = block
            .get("Forced")
            .filter(|_| kept.is_none_or(|k| kept_forced(facts, k, place)))
            .map(str::to_string);
        let waived = if forced.is_none() {
            0
        } else if !mine.is_empty() {
            mine.len()
        } else {
            waivers_added(self.repo, origin, self.deals, cfg, slug)
        };
        let forced_by = forced.as_ref().map(|_| {
            block
                .get("Forced-By")
                .map(|b| cfg.who(b))
                .or_else(|| mine.iter().find_map(|w| w.by.clone()))
                .unwrap_or_else(|| cfg.who(block.author.as_deref().unwrap_or(&origin.author)))
        });
        self.push(
            slug,
            Touch {
                time,
                place,
                from: block.get("From-Stage").map(str::to_string),
                to,
                owner: block.get("Owner").map(handle),
                previous_owner: block.get("Previous-Owner").map(handle),
                forced,
                forced_by,
                waived,
                imported: block.get("Imported").is_some(),
                origin: Some(origin.id),
                main: Some(main),
                // Its own block: the commit's own trailers name the deal
                // and it has no other block (a squash copies blocks into
                // its body; those commits are gone).
                written: (own && origin.blocks.len() <= 1 && origin.trailer("Deal") == Some(slug))
                    .then_some(origin.id),
                undone: false,
            },
        );
    }

    /// The blocks, then the reverts, of one commit (`main`'s own, or one
    /// it brought in).
    fn commit(
        &mut self,
        c: &Commit,
        main: Oid,
        mine: &BTreeMap<String, Option<Place>>,
        kept: bool,
    ) {
        let own = c.blocks.len() <= 1;
        let mut blocks: Vec<&history::Block> = c.blocks.iter().collect();
        let fallback;
        if blocks.is_empty() && c.trailer("Deal").is_some() {
            fallback = history::Block {
                trailers: c.trailers.clone(),
                ..Default::default()
            };
            blocks.push(&fallback);
        }
        for (i, b) in blocks.iter().enumerate() {
            let Some(slug) = b.get("Deal") else { continue };
            let superseded = b.get("To-Stage").is_some_and(|to| {
                blocks[i + 1..]
                    .iter()
                    .any(|l| l.get("Deal") == Some(slug) && l.get("To-Stage") == Some(to))
            });
            if !mine.contains_key(slug) {
                continue;
            }
            let merged = if kept {
                self.facts(main, slug, mine.get(slug).copied().flatten())
            } else {
                None
            };
            let slug = slug.to_string();
            self.block(
                &slug,
                b,
                c,
                main,
                own,
                superseded,
                merged.as_deref().or(kept.then_some(&FileFacts::default())),
            );
        }
        if !c.reverts.is_empty() {
            self.revert(c);
        }
    }

    /// A revert: what the commits it names wrote is undone (found by id,
    /// or by content when a squash, rebase or cherry-pick changed the ids);
    /// a revert of a revert restores what that one undid.
    fn revert(&mut self, r: &Commit) {
        let mut toggled = Vec::new();
        for x in &r.reverts {
            let by_id: Vec<usize> = (0..self.log.len())
                .filter(|&i| {
                    let t = &self.log[i].1;
                    !t.undone && (t.origin == Some(*x) || t.main == Some(*x))
                })
                .collect();
            if !by_id.is_empty() {
                toggled.extend(by_id);
                continue;
            }
            if let Some(e) = self.effects.get(x) {
                toggled.extend(e.iter().copied());
                continue;
            }
            match history::commit(self.repo, *x) {
                Some(xc) if !xc.reverts.is_empty() => {
                    let mut want = xc.reverts.clone();
                    want.sort();
                    let same = self.reverts_of.iter().rev().find(|(_, t)| {
                        let mut t = t.clone();
                        t.sort();
                        t == want
                    });
                    if let Some((y, _)) = same
                        && let Some(e) = self.effects.get(y)
                    {
                        toggled.extend(e.iter().copied());
                    }
                }
                Some(xc) => {
                    for b in &xc.blocks {
                        let key = (
                            b.get("Deal"),
                            b.get("From-Stage"),
                            b.get("To-Stage"),
                            b.get("Forced"),
                        );
                        if let Some(i) = self.find(key) {
                            toggled.push(i);
                        }
                    }
                }
                None => {
                    // Gone (a branch deleted and pruned): the subject git
                    // wrote, `Revert "deal(<slug>): <from> -> <to>"`.
                    if let Some((slug, from, to)) = reverted_move(&r.subject)
                        && let Some(i) = self.find((Some(slug), Some(from), Some(to), None))
                    {
                        toggled.push(i);
                    }
                }
            }
        }
        for &i in &toggled {
            self.log[i].1.undone = !self.log[i].1.undone;
        }
        self.effects.insert(r.id, toggled);
        self.reverts_of.push((r.id, r.reverts.clone()));
    }

    /// The newest standing fact with this content (a forced reason of
    /// `None` matches any).
    fn find(&self, key: (Option<&str>, Option<&str>, Option<&str>, Option<&str>)) -> Option<usize> {
        let (slug, from, to, forced) = key;
        let ids = self.of.get(slug?)?;
        ids.iter().rev().copied().find(|&i| {
            let t = &self.log[i].1;
            !t.undone
                && t.origin.is_some()
                && t.from.as_deref() == from
                && t.to.as_deref() == to
                && (forced.is_none() || t.forced.as_deref() == forced)
        })
    }
}

/// When a block's fact happened: `file`, the deal file's date for the
/// stage it enters, unless it cannot be the move's (before `prev`, the
/// entry before it, or after `origin` was made), in which case the block's
/// own date or the commit's author time; without a file date, the block's
/// date, or for the commit's `own` block its author time.
fn entry_time(
    file: Option<DateTime<Utc>>,
    prev: Option<i64>,
    origin: &Commit,
    block_date: Option<i64>,
    own: bool,
) -> Option<i64> {
    let made = origin.time.max(origin.author_time);
    match file {
        Some(t) if prev.is_none_or(|p| t.timestamp() >= p) && t.timestamp() <= made => {
            Some(t.timestamp())
        }
        // A date the move cannot have: the commit's, as for any style.
        Some(_) => block_date.or(Some(origin.author_time)),
        None => block_date.or(own.then_some(origin.author_time)),
    }
}

/// The waivers a forced move wrote: those dated with its entry
/// (`waived.<stage>.at` equal to `time`). When none is (the stage's date
/// corrected since by a `deal set stages.<stage>=`, which a squash reads
/// only corrected), the dated waivers of the stages the move passed, from
/// `From-Stage:` up to `To-Stage:`, which a later forced move would have
/// overwritten. The older form carries no dates: none.
fn forced_waivers<'f>(
    cfg: &Config,
    block: &history::Block,
    facts: Option<&'f FileFacts>,
    time: Option<i64>,
) -> Vec<&'f crate::model::fields::Waiver> {
    let Some(f) = facts else {
        return Vec::new();
    };
    let mine: Vec<&crate::model::fields::Waiver> = f
        .waived
        .values()
        .filter(|w| w.at.is_some() && w.at.map(|a| a.timestamp()) == time)
        .collect();
    let ord = |s: &str| match Place::parse(s, cfg)? {
        Place::Stage(i) => Some(i),
        _ => Some(cfg.stages.len()),
    };
    if !mine.is_empty() || block.get("Forced").is_none() {
        return mine;
    }
    let (Some(from), Some(upto)) = (
        block.get("From-Stage").and_then(ord),
        block.get("To-Stage").and_then(ord),
    ) else {
        return mine;
    };
    f.waived
        .iter()
        .filter(|(s, w)| {
            w.at.is_some() && cfg.stage_index(s).is_some_and(|i| from <= i && i < upto)
        })
        .map(|(_, w)| w)
        .collect()
}

/// Whether a forced move survived the merge that kept file `kept`: every
/// waiver its own file had is still there (a move that wrote none counts
/// when it entered a stage).
fn kept_forced(facts: Option<&FileFacts>, kept: &FileFacts, place: Option<Place>) -> bool {
    let theirs: HashSet<&String> = facts.map(|f| f.waived.keys().collect()).unwrap_or_default();
    if theirs.is_empty() {
        place.is_some()
    } else {
        theirs.iter().all(|w| kept.waived.contains_key(*w))
    }
}

/// `Revert "deal(acme): outreach -> qualification"` → its slug and stages.
fn reverted_move(subject: &str) -> Option<(&str, &str, &str)> {
    let inner = subject.strip_prefix("Revert \"")?.strip_suffix('"')?;
    let rest = inner.strip_prefix("deal(")?;
    let (slug, rest) = rest.split_once("): ")?;
    let (from, to) = rest.split_once(" -> ")?;
    Some((slug, from.trim(), to.trim()))
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
    // Raw tree lookups (`history::file_id`), the deals folder found once:
    // no tree is parsed whole.
    let odb = repo.odb().ok()?;
    let mut missing = Vec::new();
    let tree = repo.find_commit(commit).ok()?.tree_id();
    let root = history::dir_id(&odb, tree, deals, &mut missing)?;
    let dirs = place
        .map(|p| p.dir(cfg).to_string())
        .into_iter()
        .chain(cfg.stages.iter().map(|s| s.dir.clone()))
        .chain([
            crate::model::config::WON.to_string(),
            crate::model::config::LOST.to_string(),
        ]);
    for dir in dirs {
        if let Some(id) = history::file_id(&odb, root, &format!("{dir}/{slug}.md"), &mut missing)
            && let Ok(b) = odb.read(id)
        {
            return Some(b.data().to_vec());
        }
    }
    None
}

/// `waived` keys of a deal file's front-matter, if it parses.
fn waived_keys(bytes: &[u8]) -> Option<HashSet<String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let split = crate::yaml::frontmatter::split(text).ok()?;
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

/// How many `waived` entries commit `c` added to the deal (against its
/// first parent): the older waivers, which carry no date.
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

/// The history of the deals in `slugs`, each oldest first: HEAD's
/// first-parent line (each commit diffed against its first parent within
/// `deals`, the deals folder's path in the repository with a trailing `/`,
/// pruned by subtree id), read the same whatever way work reached it
/// (README, "Auditing the pipeline"):
/// - each commit that changed a deal's file gives the trailer blocks that
///   name it, a squash's included; a merge gives those of the commits it
///   brought in, where the merged file kept them;
/// - a stage entry is dated by the file's own `stages` entry;
/// - a main-line `git revert` undoes what it reverts, found by commit id or
///   by content, and a revert of a revert restores it;
/// - a change without trailers (by hand) counts as it is: the folder its
///   file ended in, at the commit's author time.
pub fn touches(
    repo: &Repository,
    head: Oid,
    deals: &str,
    cfg: &Config,
    slugs: &HashSet<String>,
) -> HashMap<String, Vec<Touch>> {
    let Ok(odb) = repo.odb() else {
        return HashMap::new();
    };
    let (line, _) = headers(&odb, head, None);
    let log = read_line(repo, &odb, &line, None, deals, cfg, Some(slugs));
    let mut out: HashMap<String, Vec<Touch>> = HashMap::new();
    for (slug, t) in log {
        out.entry(slug).or_default().push(t);
    }
    for list in out.values_mut() {
        // By time; a fact of unknown time keeps its place after the one
        // before it.
        let mut last = i64::MIN;
        let mut keyed: Vec<(i64, Touch)> = list
            .drain(..)
            .map(|t| {
                last = t.time.unwrap_or(last);
                (last, t)
            })
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        list.extend(keyed.into_iter().map(|(_, t)| t));
    }
    out
}

/// HEAD's first-parent line from the raw commit headers, (commit, tree)
/// newest first, from `head` down to `stop` (not included) or the root;
/// and whether `stop` was reached.
fn headers(odb: &git2::Odb, head: Oid, stop: Option<Oid>) -> (Vec<(Oid, Oid)>, bool) {
    let mut line: Vec<(Oid, Oid)> = Vec::new();
    let mut next = Some(head);
    while let Some(id) = next {
        if Some(id) == stop {
            return (line, true);
        }
        let Some(h) = history::header(odb, id) else {
            break;
        };
        next = h.parents.first().copied();
        line.push((id, h.tree));
    }
    (line, false)
}

/// Every deal's facts from the main-line commits after `base` up to
/// `head`, read as [`touches`] reads them, in the order history wrote them
/// (not undone by a revert among them); `None` when `base` is not a
/// first-parent ancestor of `head`. What `deal notify BASE..HEAD` reads
/// (docs/reference.md, "Notify").
pub fn facts_between(
    repo: &Repository,
    head: Oid,
    base: Oid,
    deals: &str,
    cfg: &Config,
) -> Option<Vec<(String, Touch)>> {
    let odb = repo.odb().ok()?;
    let (line, reached) = headers(&odb, head, Some(base));
    if !reached {
        return None;
    }
    Some(read_line(repo, &odb, &line, Some(base), deals, cfg, None))
}

/// The facts of the commits of `line` (newest first; `base`: the first
/// parent of its oldest, `None` from the root), each commit diffed
/// against its first parent within `deals`.
fn read_line(
    repo: &Repository,
    odb: &git2::Odb,
    line: &[(Oid, Oid)],
    base: Option<Oid>,
    deals: &str,
    cfg: &Config,
    slugs: Option<&HashSet<String>>,
) -> Vec<(String, Touch)> {
    let mut r = Reader {
        repo,
        deals,
        cfg,
        slugs,
        files: HashMap::new(),
        log: Vec::new(),
        of: HashMap::new(),
        effects: HashMap::new(),
        reverts_of: Vec::new(),
    };
    let mut missing = Vec::new();
    // Oldest first: each commit's first parent is the one before it, whose
    // deals folder was found on the previous turn.
    let mut prev: Option<Oid> = base
        .and_then(|b| history::header(odb, b))
        .and_then(|h| history::dir_id(odb, h.tree, deals, &mut missing));
    for &(id, tree) in line.iter().rev() {
        let new = history::dir_id(odb, tree, deals, &mut missing);
        let old = prev.take();
        prev = new;
        if new == old {
            continue;
        }
        let changed = history::diff_raw(odb, old, new, &mut missing);
        let mine = r.changed_deals(&changed);
        if mine.is_empty() {
            continue;
        }
        let Some(c) = history::commit(repo, id) else {
            continue;
        };
        r.main_commit(&c, &mine);
    }
    r.log.into_iter().filter(|(_, t)| !t.undone).collect()
}

impl Reader<'_> {
    /// The deals (among those read) whose files a commit's diff of the
    /// deals folder touches, each with the place it sits in afterwards
    /// (`None`: no longer in a stage or outcome folder).
    fn changed_deals(&self, changed: &[history::Changed]) -> BTreeMap<String, Option<Place>> {
        let cfg = self.cfg;
        let mut mine: BTreeMap<String, Option<Place>> = BTreeMap::new();
        for ch in changed {
            let rel = std::path::Path::new(&ch.path);
            let slug = crate::store::pipeline::slug_of(rel);
            if self.slugs.is_some_and(|s| !s.contains(&slug)) || !ch.path.ends_with(".md") {
                continue;
            }
            let full = std::path::Path::new(&cfg.deals_dir).join(rel);
            let place = ch
                .new
                .as_ref()
                .and_then(|_| crate::store::pipeline::place_of(&full, cfg));
            let e = mine.entry(slug).or_insert(None);
            if place.is_some() {
                *e = place;
            }
        }
        mine
    }

    /// One main-line commit that changed the deals in `mine`: its blocks
    /// (a merge's: those of the commits it brought in), then, for each
    /// deal, what they do not account for.
    fn main_commit(&mut self, c: &Commit, mine: &BTreeMap<String, Option<Place>>) {
        let before = self.log.len();
        let is_import = |x: &Commit| {
            x.trailer("Imported").is_some() || x.blocks.iter().any(|b| b.get("Imported").is_some())
        };
        let mut imported = is_import(c);
        if c.is_merge() {
            for s in history::brought_in(self.repo, c) {
                imported |= is_import(&s);
                self.commit(&s, c.id, mine, true);
            }
        } else {
            self.commit(c, c.id, mine, false);
        }
        for (slug, place) in mine {
            self.by_hand(c, slug, *place, before, imported);
        }
    }

    /// What the blocks of `c` do not account for (`before`: the log's
    /// length before them): a change by hand, or a merge that left the
    /// file elsewhere than its commits did, at the file's date for the
    /// stage or the commit's author time.
    fn by_hand(
        &mut self,
        c: &Commit,
        slug: &str,
        place: Option<Place>,
        before: usize,
        imported: bool,
    ) {
        let cfg = self.cfg;
        let named = self
            .of
            .get(slug)
            .and_then(|v| v.last())
            .is_some_and(|&i| i >= before);
        let moved = place.is_some() && place != self.place(slug);
        if !moved && (named || !c.reverts.is_empty()) {
            return;
        }
        let prev = self.last_entry(slug);
        let made = c.time.max(c.author_time);
        let facts = match place {
            Some(p) if moved => self.facts(c.id, slug, Some(p)),
            _ => None,
        };
        let file = match place {
            Some(p) if moved => facts
                .as_ref()
                .and_then(|f| f.stages.get(p.id(cfg)).copied())
                .map(|t| t.timestamp())
                .filter(|t| prev.is_none_or(|p| *t >= p))
                .filter(|t| *t <= made),
            _ => None,
        };
        // A commit that names no move of a deal it moved (a squash
        // whose message kept no blocks, a move by hand): the stages
        // its file dates between the entry before and this one were
        // entered too (docs/reference.md, "Audit").
        if let (Some(f), Some(prev), Some(p), false) = (&facts, prev, place, named) {
            for (t, q) in dated_between(cfg, &f.stages, prev, file.unwrap_or(made), p) {
                self.push(
                    slug,
                    Touch {
                        time: Some(t),
                        place: Some(q),
                        imported,
                        origin: Some(c.id),
                        main: Some(c.id),
                        ..Touch::default()
                    },
                );
            }
        }
        self.push(
            slug,
            Touch {
                time: Some(file.unwrap_or(c.author_time)),
                place: if moved { place } else { None },
                imported,
                origin: Some(c.id),
                main: Some(c.id),
                written: (!c.is_merge()).then_some(c.id),
                ..Touch::default()
            },
        );
    }
}

/// The places a deal file's `stages` dates strictly after `after` and
/// before `upto`, other than `p`, in time order (the process's order for
/// a tie).
fn dated_between(
    cfg: &Config,
    stages: &BTreeMap<String, DateTime<Utc>>,
    after: i64,
    upto: i64,
    p: Place,
) -> Vec<(i64, Place)> {
    let mut between: Vec<(i64, Place)> = stages
        .iter()
        .filter_map(|(id, t)| Some((t.timestamp(), Place::parse(id, cfg)?)))
        .filter(|(t, q)| *t > after && *t < upto && *q != p)
        .collect();
    between.sort_by_key(|(t, q)| (*t, q.ordinal(cfg)));
    between
}

/// A stage entry: when, where to, and the owner its commit recorded.
type Entry = (DateTime<Utc>, Place, Option<String>);

/// Audits one closed deal from its main-line events, oldest first.
pub fn audit_deal(cfg: &Config, d: &Deal, mine: &[Touch]) -> DealAudit {
    let entries = entries(cfg, d, mine);
    let closed = entries.iter().rev().find(|e| !e.1.is_open()).map(|e| e.0);
    let stall = longest_stall(mine, &entries, closed);
    let stall_stage = stall.and_then(|(_, at)| {
        entries
            .iter()
            .rfind(|e| e.0 <= at)
            .map(|e| e.1.id(cfg).to_string())
    });
    let threshold = stall_stage
        .as_deref()
        .and_then(|s| cfg.stage_index(s))
        .and_then(|i| cfg.stages[i].rot_after_days)
        .unwrap_or(DEFAULT_STALL_DAYS);
    let forced_moves = forced_moves(mine);
    let mut forced: Vec<String> = forced_moves
        .iter()
        .map(|f| format!("forced move: {}", f.reason))
        .collect();
    for (stage, w) in &d.fields.waived {
        forced.push(format!("waived {stage}: {}", w.reason));
    }
    DealAudit {
        slug: d.slug.clone(),
        outcome: d.place.id(cfg).to_string(),
        closed: closed.map(crate::base::time::format_date),
        closed_at: closed,
        owner: d.fields.owner.clone().unwrap_or_default(),
        stages: spans(cfg, &entries),
        longest_stall_days: stall.map(|s| crate::reports::board::round1(s.0)),
        stall_stage,
        owner_changes: owner_changes(mine),
        unowned_stages: entries
            .iter()
            .filter(|e| e.2.is_none() && e.1.is_open())
            .map(|e| e.1.id(cfg).to_string())
            .collect(),
        skipped: skipped(cfg, d, &entries),
        forced,
        forced_moves,
        waivers: waivers(d),
        lost_reason: d.fields.lost_reason.clone(),
        lost_stage: d.fields.lost_stage.clone(),
        process_gap: stall.is_some_and(|(g, _)| g > threshold),
        training_gap: training_gap(cfg, d, mine, closed),
    }
}

/// The deal's stage entries in time order (ties in the process's order):
/// each change of place in history, dated by the file's own `stages` entry
/// where it has one (see [`touches`]), a fact of unknown date following
/// the one before; then, from the front-matter, only what git lacks:
/// stages entered before the main line first saw the deal (an import, the
/// first commit of an existing pipeline).
fn entries(cfg: &Config, d: &Deal, mine: &[Touch]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut last: Option<Place> = None;
    let mut last_when: Option<DateTime<Utc>> = None;
    for c in mine {
        if let Some(p) = c.place
            && Some(p) != last
        {
            last = Some(p);
            let Some(when) = c.time.map(ts).or(last_when) else {
                continue;
            };
            last_when = Some(when);
            entries.push((when, p, c.owner.clone()));
        }
    }
    let first_seen = entries.first().map(|e| e.0);
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
    entries
}

/// Each entry as a span: its stage, date, days until the next entry, and
/// owner.
fn spans(cfg: &Config, entries: &[Entry]) -> Vec<StageSpan> {
    entries
        .iter()
        .enumerate()
        .map(|(i, (t, p, owner))| StageSpan {
            stage: p.id(cfg).to_string(),
            entered: crate::base::time::format_date(*t),
            days: entries
                .get(i + 1)
                .map(|n| crate::reports::board::round1(days_between(*t, n.0))),
            owner: owner.clone(),
        })
        .collect()
}

/// The longest gap in days between two consecutive records of activity
/// (facts and stage entries) up to the close, and when it began.
fn longest_stall(
    mine: &[Touch],
    entries: &[Entry],
    closed: Option<DateTime<Utc>>,
) -> Option<(f64, DateTime<Utc>)> {
    let mut times: Vec<DateTime<Utc>> = mine
        .iter()
        .filter_map(|c| c.time.map(ts))
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
    stall
}

/// Each handover a fact records: `date: previous → owner`.
fn owner_changes(mine: &[Touch]) -> Vec<String> {
    let mut out = Vec::new();
    for c in mine {
        if let (Some(prev), Some(now)) = (&c.previous_owner, &c.owner) {
            out.push(format!(
                "{}: {prev} → {now}",
                c.time
                    .map(|t| crate::base::time::format_date(ts(t)))
                    .unwrap_or_else(|| "?".into()),
            ));
        }
    }
    out
}

/// The open stages between two consecutive entries the deal never
/// entered; a won deal also skipped every open stage after the last it
/// occupied, a lost one skipped nothing by being lost.
fn skipped(cfg: &Config, d: &Deal, entries: &[Entry]) -> Vec<String> {
    let mut skipped = Vec::new();
    let open_ords: Vec<usize> = entries
        .iter()
        .filter_map(|e| match e.1 {
            Place::Stage(i) => Some(i),
            _ => None,
        })
        .collect();
    let mut ends = open_ords.clone();
    if d.place == Place::Won && entries.iter().any(|e| e.1 == Place::Won) {
        ends.push(cfg.stages.len());
    }
    for w in ends.windows(2) {
        for i in w[0] + 1..w[1] {
            if !open_ords.contains(&i) {
                skipped.push(cfg.stages[i].id.clone());
            }
        }
    }
    skipped.dedup();
    skipped
}

/// The forced moves among the facts, each credited to whoever forced it.
fn forced_moves(mine: &[Touch]) -> Vec<ForcedMove> {
    mine.iter()
        .filter_map(|c| {
            c.forced.as_ref().map(|r| ForcedMove {
                date: c.time.map(|t| crate::base::time::format_date(ts(t))),
                by: c.forced_by.clone(),
                owner: c.owner.clone(),
                reason: r.clone(),
                waived: c.waived,
            })
        })
        .collect()
}

/// The deal file's waivers as the audit shows them.
fn waivers(d: &Deal) -> Vec<Waived> {
    d.fields
        .waived
        .iter()
        .map(|(stage, w)| Waived {
            stage: stage.clone(),
            reason: w.reason.clone(),
            by: w.by.clone(),
            at: w.at.map(crate::base::time::format_ts),
        })
        .collect()
}

/// A training gap: a lost deal closed within [`TRAINING_WINDOW_DAYS`]
/// after a forced move or a waived stage's exit.
fn training_gap(cfg: &Config, d: &Deal, mine: &[Touch], closed: Option<DateTime<Utc>>) -> bool {
    let forced_times: Vec<DateTime<Utc>> = mine
        .iter()
        .filter(|c| c.forced.is_some())
        .filter_map(|c| c.time.map(ts))
        .chain(d.fields.waived.keys().filter_map(|s| {
            // A waived stage was left by the forced move: its exit time.
            cfg.stage_index(s)
                .and_then(|i| crate::rules::criteria::exit_time(cfg, d, i))
        }))
        .collect();
    d.place == Place::Lost
        && closed.is_some_and(|c| {
            forced_times
                .iter()
                .any(|f| *f <= c && days_between(*f, c) <= TRAINING_WINDOW_DAYS)
        })
}

/// The closed deals that can be among the last `n` closed: history dates
/// a close by the file's own `stages.won` / `stages.lost` (see
/// [`touches`]), so those `n` newest by their files, those tied with the
/// last of them, and every closed deal whose file has no close date (moved
/// by hand). Only these deals' histories are read.
pub fn candidates(deals: &[Deal], n: usize) -> HashSet<String> {
    let mut dated: Vec<(DateTime<Utc>, &str)> = Vec::new();
    let mut out = HashSet::new();
    for d in deals.iter().filter(|d| !d.place.is_open()) {
        let id = if d.place == Place::Won {
            crate::model::config::WON
        } else {
            crate::model::config::LOST
        };
        match d.fields.stages.get(id) {
            Some(t) => dated.push((*t, d.slug.as_str())),
            None => {
                out.insert(d.slug.clone());
            }
        }
    }
    dated.sort_by(|a, b| b.cmp(a));
    let cut = dated.get(n.saturating_sub(1)).map(|x| x.0);
    for (i, (t, slug)) in dated.into_iter().enumerate() {
        if i < n || cut.is_some_and(|c| t >= c) {
            out.insert(slug.to_string());
        } else {
            break;
        }
    }
    out
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
    // A forced move, and the stages it waived, are credited to whoever
    // forced it; waivers no forced move accounts for (written by hand,
    // imported) to the file's `by`, else "(not recorded)", as `stats`
    // counts them.
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for a in &all {
        let mut credited: BTreeMap<String, usize> = BTreeMap::new();
        for f in &a.forced_moves {
            let who = f.by.clone().unwrap_or_else(|| NOT_RECORDED.to_string());
            *credited.entry(who.clone()).or_default() += f.waived;
            let e = by.entry(who).or_default();
            e.0 += 1;
            e.1 += f.waived;
        }
        let mut left = a
            .waivers
            .len()
            .saturating_sub(credited.values().sum::<usize>());
        let mut theirs: BTreeMap<&str, usize> = BTreeMap::new();
        for w in &a.waivers {
            if let Some(b) = &w.by {
                *theirs.entry(b).or_default() += 1;
            }
        }
        for (who, n) in theirs {
            let n = n
                .saturating_sub(credited.get(who).copied().unwrap_or(0))
                .min(left);
            if n > 0 {
                by.entry(who.to_string()).or_default().1 += n;
                left -= n;
            }
        }
        if left > 0 {
            by.entry(NOT_RECORDED.to_string()).or_default().1 += left;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const PIPELINE: &str =
        "stages:\n  - id: lead\n    rot_after_days: 5\n  - id: talk\n  - id: offer\n";

    fn config() -> Config {
        let templates = crate::model::notes::Templates::builtin_only();
        crate::model::config::parse(PIPELINE, Path::new("pipeline.yaml"), &templates).unwrap()
    }

    fn deal(cfg: &Config, place: Place, fm: &str) -> Deal {
        let rel = PathBuf::from(format!("{}/acme.md", place.dir(cfg)));
        let bytes = format!("---\n{fm}---\n").into_bytes();
        Deal::parse("acme".into(), rel, place, bytes, cfg).unwrap()
    }

    /// Seconds since the epoch of day `d` of January 2025, at noon.
    fn day(d: i64) -> i64 {
        1_735_732_800 + (d - 1) * 86_400
    }

    fn commit(time: i64, author_time: i64) -> Commit {
        Commit {
            id: Oid::ZERO_SHA1,
            time,
            trailers: Vec::new(),
            blocks: Vec::new(),
            author: "Bob <bob@x.example>".into(),
            author_time,
            reverts: Vec::new(),
            subject: String::new(),
            parents: Vec::new(),
        }
    }

    fn block(trailers: &[(&str, &str)]) -> history::Block {
        history::Block {
            trailers: trailers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    fn waiver(at: Option<i64>) -> crate::model::fields::Waiver {
        crate::model::fields::Waiver {
            reason: "urgent".into(),
            by: Some("ann".into()),
            at: at.map(ts),
        }
    }

    #[test]
    fn an_entry_takes_the_files_date_unless_the_move_cannot_have_it() {
        let c = commit(day(10), day(9));
        let file = Some(ts(day(5)));
        assert_eq!(entry_time(file, Some(day(4)), &c, None, true), Some(day(5)));
        // Before the entry before it: the block's date, else the author's.
        assert_eq!(
            entry_time(file, Some(day(6)), &c, Some(day(7)), true),
            Some(day(7))
        );
        assert_eq!(
            entry_time(file, Some(day(6)), &c, None, false),
            Some(day(9))
        );
        // After the commit was made.
        assert_eq!(
            entry_time(Some(ts(day(11))), None, &c, None, false),
            Some(day(9))
        );
        // No file date: the block's, or the author time of the commit's own.
        assert_eq!(
            entry_time(None, None, &c, Some(day(3)), false),
            Some(day(3))
        );
        assert_eq!(entry_time(None, None, &c, None, true), Some(day(9)));
        assert_eq!(entry_time(None, None, &c, None, false), None);
    }

    #[test]
    fn a_forced_moves_waivers_are_those_dated_with_it_else_those_of_the_stages_it_passed() {
        let cfg = config();
        let facts = FileFacts {
            stages: BTreeMap::new(),
            waived: [
                ("lead".to_string(), waiver(Some(day(2)))),
                ("talk".to_string(), waiver(Some(day(3)))),
                ("offer".to_string(), waiver(None)),
            ]
            .into_iter()
            .collect(),
        };
        let forced = block(&[
            ("Forced", "urgent"),
            ("From-Stage", "lead"),
            ("To-Stage", "won"),
        ]);
        assert_eq!(
            forced_waivers(&cfg, &forced, Some(&facts), Some(day(3))).len(),
            1
        );
        // Dated otherwise: the dated waivers from `lead` up to `won`.
        assert_eq!(
            forced_waivers(&cfg, &forced, Some(&facts), Some(day(9))).len(),
            2
        );
        let moved = block(&[("From-Stage", "lead"), ("To-Stage", "won")]);
        assert!(forced_waivers(&cfg, &moved, Some(&facts), Some(day(9))).is_empty());
        assert!(forced_waivers(&cfg, &forced, None, Some(day(3))).is_empty());
    }

    #[test]
    fn a_merge_keeps_a_forced_move_only_with_every_waiver_it_wrote() {
        let with = |stages: &[&str]| FileFacts {
            stages: BTreeMap::new(),
            waived: stages
                .iter()
                .map(|s| (s.to_string(), waiver(None)))
                .collect(),
        };
        let (theirs, kept) = (with(&["lead", "talk"]), with(&["lead"]));
        assert!(!kept_forced(Some(&theirs), &kept, Some(Place::Stage(2))));
        assert!(kept_forced(Some(&kept), &theirs, None));
        assert!(kept_forced(None, &kept, Some(Place::Won)));
        assert!(!kept_forced(Some(&with(&[])), &kept, None));
    }

    #[test]
    fn the_stages_a_file_dates_between_two_entries_come_in_time_order() {
        let cfg = config();
        let stages: BTreeMap<String, DateTime<Utc>> = [
            ("lead", day(1)),
            ("talk", day(4)),
            ("offer", day(3)),
            ("won", day(4)),
            ("nope", day(3)),
        ]
        .into_iter()
        .map(|(s, t)| (s.to_string(), ts(t)))
        .collect();
        let got = dated_between(&cfg, &stages, day(1), day(9), Place::Won);
        assert_eq!(
            got,
            vec![(day(3), Place::Stage(2)), (day(4), Place::Stage(1))]
        );
        assert!(dated_between(&cfg, &stages, day(4), day(9), Place::Won).is_empty());
    }

    #[test]
    fn a_revert_subject_names_the_move_it_undid() {
        assert_eq!(
            reverted_move("Revert \"deal(acme): outreach -> qualification\""),
            Some(("acme", "outreach", "qualification"))
        );
        assert_eq!(reverted_move("Revert \"fix typo\""), None);
        assert_eq!(reverted_move("deal(acme): a -> b"), None);
    }

    #[test]
    fn a_closed_deal_shows_its_stall_skips_owners_and_gaps() {
        let cfg = config();
        let d = deal(
            &cfg,
            Place::Lost,
            "owner: bob\nlost:\n  reason: price\n  stage: offer\nwaived:\n  talk: { reason: urgent, by: ann }\nstages:\n  lead: 2025-01-01T12:00:00Z\n",
        );
        let touch = |t: i64, place: Place, owner: Option<&str>| Touch {
            time: Some(day(t)),
            place: Some(place),
            owner: owner.map(str::to_string),
            ..Touch::default()
        };
        let mine = [
            touch(2, Place::Stage(0), Some("bob")),
            Touch {
                forced: Some("urgent".into()),
                forced_by: Some("ann".into()),
                previous_owner: Some("bob".into()),
                waived: 1,
                ..touch(12, Place::Stage(2), Some("cy"))
            },
            touch(20, Place::Lost, None),
        ];
        let a = audit_deal(&cfg, &d, &mine);
        let stages: Vec<(&str, Option<f64>)> = a
            .stages
            .iter()
            .map(|s| (s.stage.as_str(), s.days))
            .collect();
        assert_eq!(
            stages,
            vec![("lead", Some(10.0)), ("offer", Some(8.0)), ("lost", None)]
        );
        assert_eq!(a.closed.as_deref(), Some("2025-01-20"));
        assert_eq!(
            (a.longest_stall_days, a.stall_stage.as_deref()),
            (Some(10.0), Some("lead"))
        );
        assert!(a.process_gap, "10 days idle in lead, which rots after 5");
        assert!(a.training_gap, "lost 8 days after a forced move");
        assert_eq!(a.skipped, vec!["talk".to_string()]);
        assert_eq!(a.owner_changes, vec!["2025-01-12: bob → cy".to_string()]);
        assert_eq!(
            a.forced,
            vec![
                "forced move: urgent".to_string(),
                "waived talk: urgent".to_string()
            ]
        );
        assert_eq!(a.forced_moves[0].by.as_deref(), Some("ann"));
        assert_eq!(a.waivers[0].by.as_deref(), Some("ann"));
        assert_eq!(a.lost_stage.as_deref(), Some("offer"));
    }
}
