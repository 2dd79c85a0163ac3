//! `deal review BASE[..HEAD]` (docs/reference.md, "Review: the plan of a
//! pull request"): every deal change in a pull request, edits included,
//! judged by the base's `pipeline.yaml`, with what the merge does to the
//! pipeline's numbers.
//!
//! The command reads only what the pull request touched: the deal files
//! whose paths differ between the merge-base and HEAD (a tree diff), plus
//! the other files of the same slugs; every other deal is known by name
//! only, which is enough to find duplicate slugs. Deals are paired by slug
//! (case folded), so a move made by hand (`git mv`, no trailers, the file
//! rewritten) is found like any other.
//!
//! The rules (each violation is `{rule, message, help}`):
//! - `exit-criteria`: a forward move (a skip included), a win, or a new deal
//!   past the first stage (judged as a move from the first stage) must meet
//!   the base's exit criteria of every stage it leaves or skips, unless the
//!   stage is in the deal's `waived` with a reason;
//! - `missing-lost-reason`: a lost deal needs a reason, from the base's
//!   `lost_reasons` when that list is not empty;
//! - `hand-waiver` / `hand-source-id`: `waived` or `source_id` added to an
//!   existing deal, or present in a new one, without a commit in the range
//!   that carries `Forced:` (with `Deal: <slug>`) or `Imported:`, in its own
//!   trailers or a trailer block a squash copied into its body;
//! - `evidence-removed`: a criterion of a stage the deal had already left
//!   that held at the base and fails at HEAD, the stage not waived;
//! - `unreadable` / `conflict`: a deal file at HEAD that cannot be read
//!   (its change is `unreadable`, never `removed`);
//! - `duplicate-slug`: a slug in two places at HEAD, however it got there;
//! - `weakened-criteria`: a `pipeline.yaml` change under which a deal could
//!   pass that the base would refuse, unless a commit in the range carries a
//!   `Criteria-Change:` trailer with a reason whose own `pipeline.yaml`
//!   already holds the weakening (a trailer excuses its own and earlier
//!   commits, never a later one).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::base::money::Amount;
use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::rules::criteria::{Evaluator, unmet};
use crate::store::history::Commit;
use crate::store::pipeline::{FileProblem, Problem};

/// One broken rule, with how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub message: String,
    pub help: String,
}

/// A stage waived by a forced move, with its reason.
#[derive(Debug, Clone, Serialize)]
pub struct Waiver {
    pub stage: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewChange {
    pub slug: String,
    pub change: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub owner_from: Option<String>,
    pub owner_to: Option<String>,
    /// The top-level front-matter keys whose values differ.
    pub fields: Vec<String>,
    #[serde(serialize_with = "crate::base::money::serialize_opt")]
    pub value_from: Option<Amount>,
    #[serde(serialize_with = "crate::base::money::serialize_opt")]
    pub value_to: Option<Amount>,
    /// The deal's currency (the pipeline's when it names none).
    pub currency: Option<String>,
    /// `Name <email>` of the last commit in the range that touched the file.
    pub author: Option<String>,
    /// Every author of such a commit, oldest first.
    pub authors: Vec<String>,
    /// Waivers this change adds (every waiver, for a new deal).
    pub waived: Vec<Waiver>,
    /// Whether a commit in the range forced a move of this deal (`Forced:`
    /// beside `Deal: <slug>`).
    pub forced: bool,
    pub lost_reason: Option<String>,
    pub violations: Vec<Violation>,
    /// On the `pipeline.yaml` row: each weakening, with the reason that
    /// excuses it (`None`: no reason given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weakenings: Vec<Weakening>,
}

/// One weakening of the process, and the `Criteria-Change:` reason that
/// excuses it, if any.
#[derive(Debug, Clone, Serialize)]
pub struct Weakening {
    pub what: String,
    pub reason: Option<String>,
}

/// Figures of one currency: the change in the open pipeline between the
/// merge-base and HEAD, and what the range won and lost.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    #[serde(serialize_with = "crate::base::money::serialize")]
    pub open_value_delta: Amount,
    #[serde(serialize_with = "crate::base::money::serialize")]
    pub weighted_delta: Amount,
    #[serde(serialize_with = "crate::base::money::serialize")]
    pub won_value: Amount,
    #[serde(serialize_with = "crate::base::money::serialize")]
    pub lost_value: Amount,
}

/// What the merge does to the pipeline's numbers (docs/reference.md,
/// "deal review"): the pipeline's currency, and every other one apart.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub changes: usize,
    #[serde(flatten)]
    pub figures: Figures,
    pub currency: String,
    pub other_currencies: BTreeMap<String, Figures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub base: String,
    pub head: String,
    pub violations: usize,
    pub summary: Summary,
    pub changes: Vec<ReviewChange>,
    /// Deal files at HEAD that cannot be read (each is also a change).
    pub unreadable: Vec<crate::store::pipeline::Unreadable>,
    /// Every change to `triggers` in pipeline.yaml, one line each
    /// ([`crate::reports::notify::trigger_changes`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<String>,
}

/// A criterion's content, for telling a changed one from an unchanged one.
fn signature(c: &crate::model::config::Criterion) -> String {
    format!("{:?}", c.kind)
}

/// Weakenings of the base's process in the head's `pipeline.yaml`.
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
            let same_label = hs.exit.iter().find(|h| h.label == c.label);
            let what = match (&c.kind, same_label.map(|h| &h.kind)) {
                (crate::model::config::Kind::Any(a), Some(crate::model::config::Kind::Any(b)))
                    if b.len() > a.len() =>
                {
                    "given another `any:` alternative"
                }
                (_, Some(_)) => "changed",
                (_, None) => "removed",
            };
            out.push(format!(
                "the {} criterion \"{}\" was {what}",
                bs.id, c.label
            ));
        }
    }
    // The relative order of the stages both keep: moving a stage earlier
    // lets a deal leave the stages now after it without their criteria.
    let kept: Vec<&str> = base
        .stages
        .iter()
        .map(|s| s.id.as_str())
        .filter(|id| head.stages.iter().any(|h| h.id == *id))
        .collect();
    let head_order: Vec<&str> = head
        .stages
        .iter()
        .map(|s| s.id.as_str())
        .filter(|id| kept.contains(id))
        .collect();
    if kept != head_order {
        out.push(format!(
            "the stages were reordered ({} → {}): a deal can now reach a stage without the exit criteria of the stages that came before it",
            kept.join(", "),
            head_order.join(", ")
        ));
    }
    match (base.enforce_from, head.enforce_from) {
        (None, Some(t)) => out.push(format!(
            "`enforce_from: {}` was added: older stage exits are no longer checked",
            crate::base::time::format_date(t)
        )),
        (Some(a), Some(b)) if b > a => out.push(format!(
            "`enforce_from` moved later, to {}",
            crate::base::time::format_date(b)
        )),
        _ => {}
    }
    if !base.lost_reasons.is_empty() {
        if head.lost_reasons.is_empty() {
            out.push("`lost_reasons` was emptied: any text now counts as a lost reason".into());
        } else {
            let added: Vec<&str> = head
                .lost_reasons
                .iter()
                .filter(|r| !base.lost_reasons.iter().any(|b| b.eq_ignore_ascii_case(r)))
                .map(String::as_str)
                .collect();
            if !added.is_empty() {
                out.push(format!(
                    "`lost_reasons` was extended with {}",
                    added
                        .iter()
                        .map(|r| format!("\"{r}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
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
/// `from` (None: a new deal, judged from the first stage), less those waived
/// with a reason.
fn required(cfg: &Config, from: Option<&Deal>, d: &Deal) -> Vec<usize> {
    let start = from.map(|f| ordinal(cfg, f)).unwrap_or(0);
    let end = match d.place {
        Place::Stage(i) => i,
        Place::Won => cfg.stages.len(),
        Place::Lost => return Vec::new(),
    };
    let start = if d.place == Place::Won { 0 } else { start };
    (start..end)
        .filter(|&i| !crate::rules::criteria::before_import(cfg, d, i))
        .filter(|&i| {
            d.fields
                .waived
                .get(&cfg.stages[i].id)
                .is_none_or(|r| r.reason.trim().is_empty())
        })
        .collect()
}

fn criteria_violations(
    ev: &Evaluator,
    cfg: &Config,
    from: Option<&Deal>,
    d: &Deal,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let to = d.place.id(cfg);
    for i in required(cfg, from, d) {
        let missing = unmet(ev, i, d);
        if missing.is_empty() {
            continue;
        }
        let labels: Vec<String> = missing.iter().map(|m| m.label.clone()).collect();
        let stage = &cfg.stages[i].id;
        out.push(Violation {
            rule: "exit-criteria",
            message: format!(
                "{stage} exit criteria not met{}: {}",
                if from.is_none() && i == 0 {
                    " (a new deal is judged as a move from the first stage)"
                } else {
                    ""
                },
                labels.join("; ")
            ),
            help: format!(
                "meet them (`deal show {}` lists what is missing), or record a waiver: `deal move {} {to} --force --reason \"…\"`",
                d.slug, d.slug
            ),
        });
    }
    if d.place == Place::Lost && crate::rules::criteria::needs_lost_reason(d) {
        let listed = if cfg.lost_reasons.is_empty() {
            "a reason".to_string()
        } else {
            format!("one of: {}", cfg.lost_reasons.join(", "))
        };
        match d.fields.lost_reason.as_deref().map(str::trim) {
            None | Some("") => out.push(Violation {
                rule: "missing-lost-reason",
                message: "lost without a reason".into(),
                help: format!("`deal set {} lost.reason=\"…\"` with {listed}", d.slug),
            }),
            Some(r)
                if !cfg.lost_reasons.is_empty()
                    && !cfg.lost_reasons.iter().any(|l| l.eq_ignore_ascii_case(r)) =>
            {
                out.push(Violation {
                    rule: "missing-lost-reason",
                    message: format!("lost reason \"{r}\" is not in lost_reasons"),
                    help: format!("`deal set {} lost.reason=\"…\"` with {listed}", d.slug),
                })
            }
            _ => {}
        }
    }
    out
}

/// What a review compares: the deals the pull request touched, on each side.
pub struct Sides<'a> {
    pub base_cfg: &'a Config,
    /// HEAD's `pipeline.yaml`, or why it cannot be read.
    pub head_cfg: Result<&'a Config, String>,
    /// The touched slugs' deals at the merge-base.
    pub base: &'a [Deal],
    /// The touched slugs' deals at HEAD, read with the base's config.
    pub head: &'a [Deal],
    /// The touched slugs' files at HEAD that cannot be read.
    pub head_problems: &'a [FileProblem],
    /// Slugs (case folded) in two places at HEAD, with their paths.
    pub duplicates: &'a [(String, Vec<PathBuf>)],
    /// Whether `pipeline.yaml` differs between the merge-base and HEAD.
    pub config_changed: bool,
    /// Changed files under the deals folder at HEAD whose name is not
    /// `<slug>.md`.
    pub bad_names: &'a [PathBuf],
    pub base_id: String,
    pub head_id: String,
    /// Slug key (or `pipeline.yaml`) → the `Name <email>` of each commit in
    /// the range that touched it, oldest first.
    pub authors: &'a HashMap<String, Vec<String>>,
    /// Each commit in the range with a `Criteria-Change:` reason that says
    /// something, oldest first: the reason, and the weakenings of the base
    /// that its own tree holds (those it excuses: its own and earlier ones).
    pub excusals: &'a [(String, Vec<String>)],
    /// Per currency, what HEAD's stage probabilities change in the weighted
    /// value of the open deals the pull request did not touch (empty unless
    /// `pipeline.yaml` changed a probability).
    pub reweighted: &'a BTreeMap<String, Amount>,
    /// Each base stage's probability as HEAD's `pipeline.yaml` has it (the
    /// base's own where HEAD has no such stage).
    pub head_probability: &'a [f64],
}

/// The fold used to pair slugs: `Acme.md` and `acme.md` are one deal.
pub fn slug_key(slug: &str) -> String {
    slug.to_lowercase()
}

fn problem_violation(p: &FileProblem) -> (Violation, usize) {
    let shown = p.rel.display();
    match &p.problem {
        Problem::Conflict(c) => (
            Violation {
                rule: "conflict",
                message: format!("{shown}:{}: {}", c.start, c.message()),
                help: c.help(),
            },
            c.start,
        ),
        Problem::Parse(pp) => (
            Violation {
                rule: "unreadable",
                message: format!("{shown}:{}: {}", pp.line, pp.message),
                help: format!(
                    "{}; `deal check {shown}` shows the line",
                    if pp.help.is_empty() {
                        "fix the front-matter"
                    } else {
                        pp.help.as_str()
                    }
                ),
            },
            pp.line,
        ),
        Problem::Special(kind) => (
            Violation {
                rule: "unreadable",
                message: format!("{shown} is {kind}, not a file; deal never opens one"),
                help: "remove it".into(),
            },
            1,
        ),
        Problem::Symlink => (
            Violation {
                rule: "unreadable",
                message: format!("{shown} is a symbolic link; deal never follows one"),
                help: "replace the link with the file itself".into(),
            },
            1,
        ),
        Problem::UnknownFolder => (
            Violation {
                rule: "unreadable",
                message: format!("{shown} is not in a stage or outcome folder"),
                help: "move it into a stage folder with `git mv`".into(),
            },
            1,
        ),
        Problem::BadName => (
            Violation {
                rule: "bad-file-name",
                message: format!("{shown} is not named `<slug>.md`"),
                help: format!(
                    "rename it: `{}`",
                    crate::store::pipeline::rename_fix(&p.rel)
                ),
            },
            1,
        ),
        Problem::Unreadable(e) => (
            Violation {
                rule: "unreadable",
                message: format!("{shown}: {e}"),
                help: "fix the file so `deal check` reads it".into(),
            },
            1,
        ),
    }
}

/// Judges the changes between the merge-base and HEAD, with the commits
/// in between.
pub fn review(sides: Sides, ev: &Evaluator, commits: &[Commit]) -> Review {
    let cfg = sides.base_cfg;
    let range = RangeFacts::of(commits);
    let paired = Paired::of(&sides);
    let judge = Judge {
        cfg,
        ev,
        range: &range,
        authors: sides.authors,
    };
    let mut changes = judge.changes(&paired, sides.duplicates);
    let (main, other_currencies) = summary_figures(cfg, &sides, &paired);
    changes.extend(sides.bad_names.iter().map(|p| bad_name_row(cfg, p)));
    let (config_row, triggers) = config_change(cfg, &sides, &range);
    changes.extend(config_row);
    let violations = changes.iter().map(|c| c.violations.len()).sum();
    let unreadable = unreadable_files(sides.head_problems);
    credit_config_authors(&mut changes, sides.authors);
    Review {
        base: sides.base_id,
        head: sides.head_id,
        violations,
        summary: Summary {
            changes: changes.len(),
            figures: main,
            currency: cfg.currency.clone(),
            other_currencies,
        },
        changes,
        unreadable,
        triggers,
    }
}

/// What the commits of the range say besides their changes, read from
/// their own trailers and the trailer blocks wherever a squash put them
/// (`history::deal_blocks`).
struct RangeFacts {
    /// The slugs (case folded) a `Forced:` block names with `Deal:`.
    forced: HashSet<String>,
    /// Whether a commit is an import (`Imported:`).
    imported: bool,
    /// Whether a `Criteria-Change:` trailer says nothing.
    empty_trailer: bool,
}

impl RangeFacts {
    /// Reads the trailers and blocks of `commits`.
    fn of(commits: &[Commit]) -> RangeFacts {
        let blocks = || commits.iter().flat_map(|c| c.blocks.iter());
        RangeFacts {
            forced: blocks()
                .filter(|b| b.get("Forced").is_some())
                .filter_map(|b| b.get("Deal").map(slug_key))
                .collect(),
            imported: commits.iter().any(|c| c.trailer("Imported").is_some())
                || blocks().any(|b| b.get("Imported").is_some()),
            empty_trailer: commits
                .iter()
                .filter_map(|c| c.trailer("Criteria-Change"))
                .chain(blocks().filter_map(|b| b.get("Criteria-Change")))
                .any(|r| !says_something(r)),
        }
    }
}

/// The touched deals of each side and HEAD's unreadable files, grouped by
/// slug key.
struct Paired<'a> {
    base: BTreeMap<String, Vec<&'a Deal>>,
    head: BTreeMap<String, Vec<&'a Deal>>,
    broken: BTreeMap<String, Vec<&'a FileProblem>>,
}

impl<'a> Paired<'a> {
    /// Groups the sides' deals and problems by [`slug_key`].
    fn of(sides: &Sides<'a>) -> Paired<'a> {
        Paired {
            base: by_slug(sides.base, |d| &d.slug),
            head: by_slug(sides.head, |d| &d.slug),
            broken: by_slug(sides.head_problems, |p| &p.slug),
        }
    }

    /// The first deal of `key` on the base side and on HEAD's.
    fn sides(&self, key: &str) -> (Option<&'a Deal>, Option<&'a Deal>) {
        let first =
            |m: &BTreeMap<String, Vec<&'a Deal>>| m.get(key).and_then(|v| v.first().copied());
        (first(&self.base), first(&self.head))
    }
}

/// `items` grouped by the key of their slug, each group in list order.
fn by_slug<T>(items: &[T], slug: impl Fn(&T) -> &str) -> BTreeMap<String, Vec<&T>> {
    let mut out: BTreeMap<String, Vec<&T>> = BTreeMap::new();
    for x in items {
        out.entry(slug_key(slug(x))).or_default().push(x);
    }
    out
}

/// What judging one slug's change needs: the base's rules and what the
/// range's commits say.
struct Judge<'a> {
    cfg: &'a Config,
    ev: &'a Evaluator<'a>,
    range: &'a RangeFacts,
    authors: &'a HashMap<String, Vec<String>>,
}

impl Judge<'_> {
    /// A row for every slug either side, a problem or a duplicate names, in
    /// slug-key order.
    fn changes(&self, paired: &Paired, duplicates: &[(String, Vec<PathBuf>)]) -> Vec<ReviewChange> {
        let dups: BTreeMap<&str, &Vec<PathBuf>> =
            duplicates.iter().map(|(s, v)| (s.as_str(), v)).collect();
        let keys: BTreeSet<&String> = paired
            .base
            .keys()
            .chain(paired.head.keys())
            .chain(paired.broken.keys())
            .chain(duplicates.iter().map(|(s, _)| s))
            .collect();
        keys.into_iter()
            .filter_map(|key| self.change(key, paired, &dups))
            .collect()
    }

    /// The change of one slug: duplicated and unreadable first, then
    /// added, removed, or changed.
    fn change(
        &self,
        key: &str,
        paired: &Paired,
        dups: &BTreeMap<&str, &Vec<PathBuf>>,
    ) -> Option<ReviewChange> {
        let (b, h) = paired.sides(key);
        let mut ch = self.row(key, b, h);
        let broken = paired.broken.get(key);
        if let Some(paths) = dups.get(key) {
            self.duplicated(&mut ch, paths, broken.map(Vec::as_slice).unwrap_or(&[]));
            return Some(ch);
        }
        if let Some(ps) = broken {
            self.unreadable(&mut ch, ps);
            return Some(ch);
        }
        match (b, h) {
            (None, Some(h)) => self.added(&mut ch, key, h),
            (Some(_), None) => ch.change = "removed".into(),
            (Some(b), Some(h)) => self.changed(&mut ch, key, b, h),
            (None, None) => return None,
        }
        Some(ch)
    }

    /// What both sides tell of the slug: its places, owners, values and
    /// currency, the range's authors, the lost reason and the fields that
    /// differ; no change or verdict yet.
    fn row(&self, key: &str, b: Option<&Deal>, h: Option<&Deal>) -> ReviewChange {
        let cfg = self.cfg;
        let place = |d: Option<&Deal>| d.map(|d| d.place.id(cfg).to_string());
        let owner = |d: Option<&Deal>| d.and_then(|d| d.fields.owner.clone());
        let authors = self.authors.get(key).cloned().unwrap_or_default();
        ReviewChange {
            slug: b
                .or(h)
                .map(|d| d.slug.clone())
                .unwrap_or_else(|| key.to_string()),
            change: String::new(),
            from: place(b),
            to: place(h),
            owner_from: owner(b),
            owner_to: owner(h),
            waived: Vec::new(),
            fields: changed_fields(b, h),
            value_from: b.and_then(|d| d.fields.value),
            value_to: h.and_then(|d| d.fields.value),
            currency: h.or(b).map(|d| currency_of(cfg, d)),
            author: authors.last().cloned(),
            authors,
            forced: self.range.forced.contains(key),
            lost_reason: h
                .filter(|d| d.place == Place::Lost)
                .and_then(|d| d.fields.lost_reason.clone()),
            violations: Vec::new(),
            weakenings: Vec::new(),
        }
    }

    /// A slug in two places at HEAD: `duplicated`, the places joined by
    /// `+`, a `duplicate-slug` violation, and one for each unreadable file.
    fn duplicated(&self, ch: &mut ReviewChange, paths: &[PathBuf], broken: &[&FileProblem]) {
        let cfg = self.cfg;
        ch.change = "duplicated".into();
        ch.to = Some(
            paths
                .iter()
                .map(|p| match crate::store::pipeline::place_of(p, cfg) {
                    Some(pl) => pl.id(cfg).to_string(),
                    None => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(" + "),
        );
        ch.violations.push(Violation {
            rule: "duplicate-slug",
            message: format!(
                "the deal sits in {} places at HEAD: {}",
                paths.len(),
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            help: crate::rules::check::duplicate_help(cfg, &ch.slug, paths),
        });
        for p in broken {
            ch.violations.push(problem_violation(p).0);
        }
    }

    /// A slug whose file at HEAD cannot be read: `unreadable`, where its
    /// first file sits, and why each cannot be read.
    fn unreadable(&self, ch: &mut ReviewChange, ps: &[&FileProblem]) {
        let cfg = self.cfg;
        ch.change = "unreadable".into();
        if let Some(p) = ps.first() {
            ch.to = crate::store::pipeline::place_of(&p.rel, cfg).map(|pl| pl.id(cfg).to_string());
        }
        for p in ps {
            // A bad name has its own `bad-file-name` row.
            if !matches!(p.problem, Problem::BadName) {
                ch.violations.push(problem_violation(p).0);
            }
        }
    }

    /// A new deal: judged as a move from the first stage; waivers and
    /// import fields need a forced move or an import in the range.
    fn added(&self, ch: &mut ReviewChange, key: &str, h: &Deal) {
        let (cfg, range) = (self.cfg, self.range);
        ch.change = "added".into();
        ch.waived = waivers(cfg, h, None);
        ch.violations = criteria_violations(self.ev, cfg, None, h);
        if !h.fields.waived.is_empty() && !range.forced.contains(key) && !range.imported {
            ch.violations.push(hand_waiver(h, &ch.waived, true));
        }
        if (h.fields.source_id.is_some() || h.fields.imported.is_some()) && !range.imported {
            ch.violations.push(hand_source_id(h, true));
        }
    }

    /// A deal on both sides: what kind of change, the exit criteria of a
    /// forward move or a loss, waivers and import fields added by hand,
    /// and evidence removed.
    fn changed(&self, ch: &mut ReviewChange, key: &str, b: &Deal, h: &Deal) {
        let (cfg, range) = (self.cfg, self.range);
        ch.change = change_kind(b.place, h.place, ch.owner_from != ch.owner_to).into();
        ch.waived = waivers(cfg, h, Some(b));
        if judged_as_move(cfg, b, h) {
            ch.violations = criteria_violations(self.ev, cfg, Some(b), h);
        }
        if !ch.waived.is_empty() && !range.forced.contains(key) {
            ch.violations.push(hand_waiver(h, &ch.waived, false));
        }
        if ((h.fields.source_id.is_some() && b.fields.source_id.is_none())
            || (h.fields.imported.is_some() && h.fields.imported != b.fields.imported))
            && !range.imported
        {
            ch.violations.push(hand_source_id(h, false));
        }
        ch.violations.extend(evidence_removed(self.ev, cfg, b, h));
    }
}

/// The name of a change between two places of one deal: `reassigned` or
/// `edited` in place, else `won`, `lost`, `reopened` or `moved`.
fn change_kind(from: Place, to: Place, owner_changed: bool) -> &'static str {
    match (from, to) {
        (x, y) if x == y => {
            if owner_changed {
                "reassigned"
            } else {
                "edited"
            }
        }
        (_, Place::Won) => "won",
        (_, Place::Lost) => "lost",
        (Place::Lost, _) => "reopened",
        _ => "moved",
    }
}

/// Whether the base's exit criteria judge the change: a move forward (a
/// skip and a win included) or into lost; never a move back or an edit.
fn judged_as_move(cfg: &Config, b: &Deal, h: &Deal) -> bool {
    match (b.place, h.place) {
        (x, y) if x == y => false,
        (_, Place::Lost | Place::Won) => true,
        _ => ordinal(cfg, h) > ordinal(cfg, b),
    }
}

/// The summary's figures over the touched deals, plus what HEAD's
/// probabilities change in the weighted value of the untouched ones.
fn summary_figures(
    cfg: &Config,
    sides: &Sides,
    paired: &Paired,
) -> (Figures, BTreeMap<String, Figures>) {
    let mut out = figures(
        cfg,
        sides.head_probability,
        &paired.base,
        &paired.head,
        &paired.broken,
    );
    for (cur, w) in sides.reweighted {
        let f = if *cur == cfg.currency {
            &mut out.0
        } else {
            out.1.entry(cur.clone()).or_default()
        };
        f.weighted_delta = round_cents(f.weighted_delta + *w).normalize();
    }
    out
}

/// The row of a changed file under the deals folder not named
/// `<slug>.md`.
fn bad_name_row(cfg: &Config, p: &std::path::Path) -> ReviewChange {
    let mut row = config_row("bad-file-name");
    row.slug = p.display().to_string();
    row.to = crate::store::pipeline::place_of(p, cfg).map(|pl| pl.id(cfg).to_string());
    row.violations.push(Violation {
        rule: "bad-file-name",
        message: format!(
            "{} is not named `<slug>.md` (lower-case letters, digits and `-`)",
            p.display()
        ),
        help: format!("`{}`", crate::store::pipeline::rename_fix(p)),
    });
    row
}

/// The `pipeline.yaml` row, if any (unreadable at HEAD, weakened or
/// excused, or merely edited), and the changes to its triggers.
fn config_change(
    cfg: &Config,
    sides: &Sides,
    range: &RangeFacts,
) -> (Option<ReviewChange>, Vec<String>) {
    match &sides.head_cfg {
        Err(why) => (
            Some(ReviewChange {
                violations: vec![Violation {
                    rule: if why.contains("[conflict]") {
                        "conflict"
                    } else {
                        "unreadable"
                    },
                    message: why.clone(),
                    help: "fix pipeline.yaml so that `deal check` loads it".into(),
                }],
                ..config_row("unreadable")
            }),
            Vec::new(),
        ),
        Ok(head_cfg) => {
            let triggers =
                crate::reports::notify::trigger_changes(&cfg.triggers, &head_cfg.triggers);
            let named = excused(weakenings(cfg, head_cfg), sides.excusals);
            let row = if !named.is_empty() {
                Some(weakened_row(named, sides.excusals, range.empty_trailer))
            } else if sides.config_changed {
                Some(config_row("edited"))
            } else {
                None
            };
            (row, triggers)
        }
    }
}

/// Each weakening with the reason of the first `Criteria-Change:` commit
/// whose tree holds it.
fn excused(weak: Vec<String>, excusals: &[(String, Vec<String>)]) -> Vec<Weakening> {
    weak.into_iter()
        .map(|w| Weakening {
            reason: excusals
                .iter()
                .find(|(_, ws)| ws.contains(&w))
                .map(|(r, _)| r.clone()),
            what: w,
        })
        .collect()
}

/// The `pipeline.yaml` row of weakenings: `criteria-change` when every one
/// is excused, else `weakened` with a violation for each that is not.
fn weakened_row(
    named: Vec<Weakening>,
    excusals: &[(String, Vec<String>)],
    empty_trailer: bool,
) -> ReviewChange {
    let all_excused = named.iter().all(|w| w.reason.is_some());
    let mut row = config_row(if all_excused {
        "criteria-change"
    } else {
        "weakened"
    });
    let why = if !excusals.is_empty() {
        " (made after the last `Criteria-Change:` trailer, which excuses only its own and earlier commits)"
    } else if empty_trailer {
        " (a `Criteria-Change:` trailer is there, but says nothing: it needs a reason)"
    } else {
        ""
    };
    row.violations = named
        .iter()
        .filter(|w| w.reason.is_none())
        .map(|w| Violation {
            rule: "weakened-criteria",
            message: format!("{}{why}", w.what),
            help: "if the change is meant, say why in the pull request: `git commit --allow-empty -m \"Relax the process\" --trailer \"Criteria-Change: <why>\"`".into(),
        })
        .collect();
    row.weakenings = named;
    row
}

/// HEAD's unreadable deal files, each with its line and message.
fn unreadable_files(problems: &[FileProblem]) -> Vec<crate::store::pipeline::Unreadable> {
    problems
        .iter()
        .map(|p| {
            let (v, line) = problem_violation(p);
            crate::store::pipeline::Unreadable {
                path: p.rel.display().to_string(),
                line,
                message: v.message,
            }
        })
        .collect()
}

/// The authors of the range's `pipeline.yaml` commits, on its row.
fn credit_config_authors(changes: &mut [ReviewChange], authors: &HashMap<String, Vec<String>>) {
    for row in changes
        .iter_mut()
        .filter(|c| c.slug == crate::model::config::FILE)
    {
        row.authors = authors
            .get(crate::model::config::FILE)
            .cloned()
            .unwrap_or_default();
        row.author = row.authors.last().cloned();
    }
}

/// A `Criteria-Change:` reason says something: `""` or `-` does not.
pub fn says_something(reason: &str) -> bool {
    reason.chars().any(char::is_alphanumeric)
}

/// A deal's currency as the sums group it: its own, upper-cased, or the
/// pipeline's.
/// The currency a deal's value counts in: the pipeline's, or its own code.
pub fn currency_of(cfg: &Config, d: &Deal) -> String {
    if crate::reports::stats::in_currency(cfg, d) {
        cfg.currency.clone()
    } else {
        d.fields
            .currency
            .as_deref()
            .unwrap_or_default()
            .to_uppercase()
    }
}

/// The top-level front-matter keys whose values differ between the two
/// sides (every key of a new or removed deal), in the file's order.
fn changed_fields(b: Option<&Deal>, h: Option<&Deal>) -> Vec<String> {
    let empty = serde_yaml::Mapping::new();
    let bm = b.map(|d| &d.fm).unwrap_or(&empty);
    let hm = h.map(|d| &d.fm).unwrap_or(&empty);
    let mut out: Vec<String> = Vec::new();
    for k in hm.keys().chain(bm.keys()) {
        let Some(name) = k.as_str() else { continue };
        let differs = match (bm.get(k), hm.get(k)) {
            (Some(x), Some(y)) => x != y,
            _ => true,
        };
        if differs && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

fn round_cents(x: Amount) -> Amount {
    x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// The summary's figures over the touched deals (an untouched deal adds
/// nothing to a difference but through a changed probability, which the
/// caller adds): per currency, open value and weighted value (value × the
/// stage's `probability`, as the report's weighted pipeline: the base's at
/// the merge-base, HEAD's at HEAD) at HEAD less the merge-base, and the
/// value of deals that became won or lost. A deal unreadable at HEAD counts
/// on neither side.
fn figures(
    cfg: &Config,
    head_probability: &[f64],
    base: &BTreeMap<String, Vec<&Deal>>,
    head: &BTreeMap<String, Vec<&Deal>>,
    broken: &BTreeMap<String, Vec<&FileProblem>>,
) -> (Figures, BTreeMap<String, Figures>) {
    let mut by: BTreeMap<String, Figures> = BTreeMap::new();
    let weighed = |d: &Deal, at_head: bool| match d.place {
        Place::Stage(i) => {
            let v = d.fields.value.unwrap_or_default();
            let p = if at_head {
                head_probability
                    .get(i)
                    .copied()
                    .unwrap_or(cfg.stages[i].probability)
            } else {
                cfg.stages[i].probability
            };
            (v, v * crate::base::money::from_f64(p).unwrap_or_default())
        }
        _ => (Amount::ZERO, Amount::ZERO),
    };
    let keys: BTreeSet<&String> = base.keys().chain(head.keys()).collect();
    for key in keys {
        if broken.contains_key(key) {
            continue;
        }
        let b = base.get(key).and_then(|v| v.first().copied());
        let h = head.get(key).and_then(|v| v.first().copied());
        if let Some(b) = b {
            let f = by.entry(currency_of(cfg, b)).or_default();
            let (v, w) = weighed(b, false);
            f.open_value_delta -= v;
            f.weighted_delta -= w;
        }
        if let Some(h) = h {
            let f = by.entry(currency_of(cfg, h)).or_default();
            let (v, w) = weighed(h, true);
            f.open_value_delta += v;
            f.weighted_delta += w;
            let was = b.map(|b| b.place);
            let value = h.fields.value.unwrap_or_default();
            if h.place == Place::Won && was != Some(Place::Won) {
                f.won_value += value;
            }
            if h.place == Place::Lost && was != Some(Place::Lost) {
                f.lost_value += value;
            }
        }
    }
    for f in by.values_mut() {
        for x in [
            &mut f.open_value_delta,
            &mut f.weighted_delta,
            &mut f.won_value,
            &mut f.lost_value,
        ] {
            *x = round_cents(*x).normalize();
            if x.is_zero() {
                *x = Amount::ZERO; // no `-0`
            }
        }
    }
    let main = by.remove(&cfg.currency).unwrap_or_default();
    by.retain(|_, f| *f != Figures::default());
    (main, by)
}

/// `evidence-removed`: a criterion of a stage the deal had already left at
/// the base (and still has left, unwaived, at HEAD) that held at the base
/// and fails at HEAD. Stages entered in the range are the move's to judge.
fn evidence_removed(ev: &Evaluator, cfg: &Config, b: &Deal, h: &Deal) -> Vec<Violation> {
    if h.place == Place::Lost || b.place == Place::Lost {
        return Vec::new();
    }
    let at_head: HashSet<usize> = crate::rules::criteria::applicable_stages(cfg, h)
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for i in crate::rules::criteria::applicable_stages(cfg, b) {
        if !at_head.contains(&i) {
            continue;
        }
        let stage = &cfg.stages[i];
        for c in &stage.exit {
            if ev.eval(c, b).met && !ev.eval(c, h).met {
                out.push(Violation {
                    rule: "evidence-removed",
                    message: format!(
                        "the {} criterion \"{}\" held at the base and fails at HEAD, though the deal has left {}",
                        stage.id, c.label, stage.id
                    ),
                    help: format!(
                        "restore it ({}), or waive the stage: `deal set {} <key>=<value> --force --reason \"…\"`",
                        crate::rules::criteria::fix_hint(c, h, &cfg.prompts),
                        h.slug
                    ),
                });
            }
        }
    }
    out
}

fn config_row(change: &str) -> ReviewChange {
    ReviewChange {
        slug: crate::model::config::FILE.into(),
        change: change.into(),
        from: None,
        to: None,
        owner_from: None,
        owner_to: None,
        waived: Vec::new(),
        fields: Vec::new(),
        value_from: None,
        value_to: None,
        currency: None,
        author: None,
        authors: Vec::new(),
        forced: false,
        lost_reason: None,
        violations: Vec::new(),
        weakenings: Vec::new(),
    }
}

/// Waivers at HEAD that the base did not have.
fn waivers(cfg: &Config, h: &Deal, b: Option<&Deal>) -> Vec<Waiver> {
    let mut out: Vec<Waiver> = h
        .fields
        .waived
        .iter()
        .filter(|(k, v)| b.is_none_or(|b| b.fields.waived.get(*k) != Some(*v)))
        .map(|(k, v)| Waiver {
            stage: k.clone(),
            reason: v.reason.clone(),
        })
        .collect();
    out.sort_by_key(|w| cfg.stage_index(&w.stage).unwrap_or(usize::MAX));
    out
}

fn hand_waiver(d: &Deal, w: &[Waiver], new: bool) -> Violation {
    Violation {
        rule: "hand-waiver",
        message: format!(
            "waived.{} {} by hand, without a forced move",
            w.iter()
                .map(|w| w.stage.as_str())
                .collect::<Vec<_>>()
                .join(", waived."),
            if new {
                "written into a new deal"
            } else {
                "added"
            }
        ),
        help: format!(
            "remove the `waived` lines and move with `deal move {} <stage> --force --reason \"…\"`, which records who waived what",
            d.slug
        ),
    }
}

fn hand_source_id(d: &Deal, new: bool) -> Violation {
    Violation {
        rule: "hand-source-id",
        message: format!(
            "source_id or imported {} by hand, without an import",
            if new {
                "written into a new deal"
            } else {
                "added"
            }
        ),
        help: format!(
            "remove `source_id` and `imported` from {}: they are set by `deal import`, which marks its commit `Imported:`",
            d.rel.display()
        ),
    }
}

/// Escapes text from a deal for a Markdown table cell: `<`, `>` and `&` as
/// HTML entities, Markdown punctuation (and `:` and `.`, which autolinks
/// need) behind a backslash, and line breaks as spaces, so a pull-request
/// comment never renders an image, a link, HTML, a mention or a broken
/// table from a deal.
pub fn md_text(s: &str) -> String {
    const PUNCT: &str = "\\`*_{}[]()#+!|~:.@";
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if PUNCT.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            // Zero-width and bidirectional-override characters shown as
            // visible codes (`\u{202e}`), their `\`, `{`, `}` escaped.
            c if !c.is_ascii() => match crate::base::diag::escape(c.encode_utf8(&mut [0; 4])) {
                std::borrow::Cow::Owned(e) => {
                    for x in e.chars() {
                        if PUNCT.contains(x) {
                            out.push('\\');
                        }
                        out.push(x);
                    }
                }
                std::borrow::Cow::Borrowed(_) => out.push(c),
            },
            c => out.push(c),
        }
    }
    out
}

/// Text as one Markdown code span, fenced by more backticks than it holds,
/// so nothing in it is read as Markdown or HTML.
pub fn md_code(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // Hidden characters as visible codes (a code span shows `\` as is).
    let s = crate::base::diag::escape(&s).into_owned();
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    format!("{fence} {s} {fence}")
}

/// The line a workflow looks for to edit its own earlier comment.
pub const MARKER: &str = "<!-- deal-review -->";

/// `n` things, singular or plural: `1 change`, `3 changes`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A difference with its sign: `+11,000`, `-6,000`, `0`.
fn signed(v: Amount, cur: &str) -> String {
    let shown = crate::base::money::format(v, crate::base::money::minor_unit(cur));
    if v.is_sign_positive() && !v.is_zero() {
        format!("+{shown}")
    } else {
        shown
    }
}

/// One currency's figures for the summary line.
fn figures_line(f: &Figures, cur: &str) -> String {
    let amount = |v: Amount| {
        if v.is_zero() {
            "0".to_string()
        } else {
            format!(
                "{} {cur}",
                crate::base::money::format(v, crate::base::money::minor_unit(cur))
            )
        }
    };
    let delta = |v: Amount| {
        if v.is_zero() {
            "0".to_string()
        } else {
            format!("{} {cur}", signed(v, cur))
        }
    };
    format!(
        "open pipeline {} · weighted {} · won {} · lost {}",
        delta(f.open_value_delta),
        delta(f.weighted_delta),
        amount(f.won_value),
        amount(f.lost_value)
    )
}

/// The name of `Name <email>` (the whole text when it has no email).
fn name_of(who: &str) -> &str {
    who.split_once(" <").map_or(who, |(n, _)| n)
}

/// The review as a Markdown plan, ready for a pull-request comment: the
/// marker line, the verdict, a one-line summary of what the merge does to
/// the pipeline's numbers, a table of every change, every weakening of the
/// process with its reason, and how to fix each violation.
pub fn markdown(r: &Review) -> String {
    let mut out = String::new();
    out.push_str(MARKER);
    out.push('\n');
    let verdict = match r.violations {
        0 => "✅ no violations".to_string(),
        n => format!("❌ {}", count(n, "violation", "violations")),
    };
    out.push_str(&format!("### deal review: {verdict}\n\n"));
    out.push_str(&summary_line(&r.summary));
    out.push_str("\n\n");
    if r.changes.is_empty() {
        out.push_str("No deal changed.\n");
    } else {
        out.push_str(
            "| Deal | Change | From | To | Value | Fields | Owner | Author | Notes | Verdict |\n|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for c in &r.changes {
            out.push_str(&table_row(c, &r.summary.currency));
        }
        out.push_str(&process_changes(r));
        out.push_str(&how_to_fix(r));
    }
    if !r.triggers.is_empty() {
        out.push_str(
            "\n**Automation triggers changed** (what `deal notify` will send, and where)\n\n",
        );
        for t in &r.triggers {
            out.push_str(&format!("- {}\n", md_text(t)));
        }
    }
    out.push_str(&format!(
        "\nJudged by pipeline.yaml at the merge-base `{}`; head `{}`.\n",
        &r.base[..r.base.len().min(7)],
        &r.head[..r.head.len().min(7)]
    ));
    out
}

/// The plan's summary line: how many changes, then the pipeline's
/// currency's figures and each other currency's.
fn summary_line(sum: &Summary) -> String {
    let mut line = format!(
        "{} · {}",
        count(sum.changes, "change", "changes"),
        figures_line(&sum.figures, &md_text(&sum.currency))
    );
    for (cur, f) in &sum.other_currencies {
        line.push_str(&format!(
            " · {}: {}",
            md_text(cur),
            figures_line(f, &md_text(cur))
        ));
    }
    line
}

/// One change as a row of the plan's table; `main`: the pipeline's
/// currency, which values in it do not name.
fn table_row(c: &ReviewChange, main: &str) -> String {
    let fields = c
        .fields
        .iter()
        .map(|f| md_text(f))
        .collect::<Vec<_>>()
        .join(", ");
    let author = c
        .authors
        .iter()
        .map(|a| md_text(name_of(a)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        md_text(&c.slug),
        c.change,
        md_text(c.from.as_deref().unwrap_or("")),
        md_text(c.to.as_deref().unwrap_or("")),
        value_cell(c, main),
        fields,
        owner_cell(c),
        author,
        notes_cell(c),
        verdict_cell(c)
    )
}

/// The owner, or `before → after` when it changed.
fn owner_cell(c: &ReviewChange) -> String {
    match (&c.owner_from, &c.owner_to) {
        (Some(a), Some(b)) if a != b => format!("{} → {}", md_text(a), md_text(b)),
        (_, Some(b)) => md_text(b),
        (Some(a), None) => md_text(a),
        (None, None) => String::new(),
    }
}

/// The value, or `before → after` (`–` for none) when it changed, in the
/// deal's currency's minor unit, naming a currency other than `main`.
fn value_cell(c: &ReviewChange, main: &str) -> String {
    let cur = match &c.currency {
        Some(cur) if *cur != main => format!(" {}", md_text(cur)),
        _ => String::new(),
    };
    let minor = crate::base::money::minor_unit(c.currency.as_deref().unwrap_or(main));
    let shown = |v: Amount| crate::base::money::format(v, minor);
    let value = match (c.value_from, c.value_to) {
        (Some(a), Some(b)) if a == b => shown(b),
        (None, None) => String::new(),
        (a, b) => format!(
            "{} → {}",
            a.map(shown).unwrap_or_else(|| "–".into()),
            b.map(shown).unwrap_or_else(|| "–".into())
        ),
    };
    if value.is_empty() {
        value
    } else {
        format!("{value}{cur}")
    }
}

/// A forced move, the waivers with their reasons, and a lost reason.
fn notes_cell(c: &ReviewChange) -> String {
    let mut notes = Vec::new();
    if c.forced {
        notes.push("**forced**".to_string());
    }
    for w in &c.waived {
        notes.push(format!(
            "waived {}: {}",
            md_text(&w.stage),
            md_text(&w.reason)
        ));
    }
    if let Some(r) = &c.lost_reason {
        notes.push(format!("lost reason: {}", md_text(r)));
    }
    notes.join("; ")
}

/// `✅`, or `❌` with each violation's rule and message.
fn verdict_cell(c: &ReviewChange) -> String {
    if c.violations.is_empty() {
        "✅".to_string()
    } else {
        format!(
            "❌ {}",
            c.violations
                .iter()
                .map(|v| format!("`{}` {}", v.rule, md_text(&v.message)))
                .collect::<Vec<_>>()
                .join("; ")
        )
    }
}

/// The "Process changes" list: each weakening and the reason that excuses
/// it, or that none was given; empty when there are none.
fn process_changes(r: &Review) -> String {
    let weakenings: Vec<&Weakening> = r.changes.iter().flat_map(|c| &c.weakenings).collect();
    if weakenings.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n**Process changes (pipeline\\.yaml)**\n\n");
    for w in weakenings {
        let why = match &w.reason {
            Some(r) => format!("✅ `Criteria-Change:` {}", md_text(r)),
            None => "❌ no reason given".to_string(),
        };
        out.push_str(&format!("- {}: {why}\n", md_text(&w.what)));
    }
    out
}

/// The "How to fix" list: each violation's help as a code span, a line
/// the one before repeats given once; empty without violations.
fn how_to_fix(r: &Review) -> String {
    let mut helps: Vec<String> = r
        .changes
        .iter()
        .flat_map(|c| {
            c.violations
                .iter()
                .map(move |v| format!("- {} `{}`: {}", md_text(&c.slug), v.rule, md_code(&v.help)))
        })
        .collect();
    helps.dedup();
    if helps.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n**How to fix**\n\n");
    for h in helps {
        out.push_str(&h);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const PIPELINE: &str = "currency: EUR\nstages:\n  - id: lead\n    probability: 0.1\n    exit:\n      - label: An email\n        field: email\n  - id: talk\n    probability: 0.5\n  - id: offer\n    probability: 0.8\n";

    fn config(src: &str) -> Config {
        let templates = crate::model::notes::Templates::builtin_only();
        crate::model::config::parse(src, Path::new("pipeline.yaml"), &templates).unwrap()
    }

    fn deal(cfg: &Config, slug: &str, place: Place, fm: &str) -> Deal {
        let rel = PathBuf::from(format!("{}/{slug}.md", place.dir(cfg)));
        let bytes = format!("---\n{fm}---\n").into_bytes();
        Deal::parse(slug.into(), rel, place, bytes, cfg).unwrap()
    }

    /// The review of `base` → `head` with no commits in between.
    fn judged(
        (cfg, head_cfg): (&Config, &Config),
        base: &[Deal],
        head: &[Deal],
        excusals: &[(String, Vec<String>)],
    ) -> Review {
        let authors = HashMap::new();
        let reweighted = BTreeMap::new();
        let probability: Vec<f64> = cfg.stages.iter().map(|s| s.probability).collect();
        let sides = Sides {
            base_cfg: cfg,
            head_cfg: Ok(head_cfg),
            base,
            head,
            head_problems: &[],
            duplicates: &[],
            config_changed: cfg.stages.len() != head_cfg.stages.len(),
            bad_names: &[],
            base_id: "a".repeat(40),
            head_id: "b".repeat(40),
            authors: &authors,
            excusals,
            reweighted: &reweighted,
            head_probability: &probability,
        };
        let ev = Evaluator::worktree(cfg, Path::new("."));
        review(sides, &ev, &[])
    }

    fn rules(c: &ReviewChange) -> Vec<&str> {
        c.violations.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn deal_text_never_becomes_markup() {
        assert_eq!(
            md_text("![x](http://e.x/a.png) <img src=x> | a"),
            "\\!\\[x\\]\\(http\\://e\\.x/a\\.png\\) &lt;img src=x&gt; \\| a"
        );
        assert_eq!(md_text("a\nb"), "a b");
        assert_eq!(super::md_code("a `b` c"), "`` a `b` c ``");
    }

    #[test]
    fn hidden_characters_show_as_escaped_codes_and_mentions_stay_plain() {
        assert_eq!(md_text("@team"), "\\@team");
        assert_eq!(md_text("a\u{202e}b"), "a\\\\u\\{202e\\}b");
        assert_eq!(md_code("x ```` y\u{7}"), "````` x ```` y  `````");
    }

    #[test]
    fn each_change_between_two_places_has_its_name() {
        let (s0, s1) = (Place::Stage(0), Place::Stage(1));
        assert_eq!(change_kind(s0, s0, false), "edited");
        assert_eq!(change_kind(s0, s0, true), "reassigned");
        assert_eq!(change_kind(Place::Lost, Place::Lost, false), "edited");
        assert_eq!(change_kind(s0, Place::Won, false), "won");
        assert_eq!(change_kind(s1, Place::Lost, true), "lost");
        assert_eq!(change_kind(Place::Lost, s0, false), "reopened");
        assert_eq!(change_kind(s1, s0, false), "moved");
    }

    #[test]
    fn a_move_past_an_unmet_exit_criterion_is_a_violation_and_a_move_back_is_not() {
        let cfg = config(PIPELINE);
        let at = |p: Place| vec![deal(&cfg, "acme", p, "title: Acme\n")];
        let forward = judged(
            (&cfg, &cfg),
            &at(Place::Stage(0)),
            &at(Place::Stage(2)),
            &[],
        );
        let ch = &forward.changes[0];
        assert_eq!(
            (ch.change.as_str(), rules(ch)),
            ("moved", vec!["exit-criteria"])
        );
        assert_eq!(
            ch.violations[0].message,
            "lead exit criteria not met: An email"
        );
        assert_eq!(forward.violations, 1);
        let back = judged(
            (&cfg, &cfg),
            &at(Place::Stage(2)),
            &at(Place::Stage(1)),
            &[],
        );
        assert_eq!(back.changes[0].change, "moved");
        assert!(back.changes[0].violations.is_empty());
        let new = judged((&cfg, &cfg), &[], &at(Place::Stage(1)), &[]);
        assert_eq!(
            (new.changes[0].change.as_str(), rules(&new.changes[0])),
            ("added", vec!["exit-criteria"])
        );
        assert!(
            new.changes[0].violations[0]
                .message
                .contains("judged as a move from the first stage")
        );
    }

    #[test]
    fn evidence_that_held_at_the_base_and_fails_at_head_is_named() {
        let cfg = config(PIPELINE);
        let base = [deal(&cfg, "acme", Place::Stage(1), "email: a@b.example\n")];
        let head = [deal(&cfg, "acme", Place::Stage(1), "title: Acme\n")];
        let r = judged((&cfg, &cfg), &base, &head, &[]);
        let ch = &r.changes[0];
        assert_eq!(ch.change, "edited");
        assert_eq!(ch.fields, vec!["title".to_string(), "email".to_string()]);
        assert_eq!(rules(ch), vec!["evidence-removed"]);
        assert!(
            ch.violations[0]
                .message
                .starts_with("the lead criterion \"An email\" held at the base")
        );
    }

    #[test]
    fn a_removed_criterion_is_weakened_unless_a_trailer_before_it_excuses_it() {
        let cfg = config(PIPELINE);
        let head_cfg = config(&PIPELINE.replace(
            "    exit:\n      - label: An email\n        field: email\n",
            "",
        ));
        let what = "the lead criterion \"An email\" was removed".to_string();
        let r = judged((&cfg, &head_cfg), &[], &[], &[]);
        let row = &r.changes[0];
        assert_eq!(
            (row.slug.as_str(), row.change.as_str()),
            ("pipeline.yaml", "weakened")
        );
        assert_eq!(rules(row), vec!["weakened-criteria"]);
        assert_eq!(row.violations[0].message, what);
        let excusals = [(
            "stricter checks moved to CI".to_string(),
            vec![what.clone()],
        )];
        let r = judged((&cfg, &head_cfg), &[], &[], &excusals);
        let row = &r.changes[0];
        assert_eq!(row.change, "criteria-change");
        assert!(row.violations.is_empty());
        assert_eq!(
            row.weakenings[0].reason.as_deref(),
            Some("stricter checks moved to CI")
        );
    }

    #[test]
    fn the_summary_sums_open_weighted_won_and_lost_per_currency() {
        let cfg = config(PIPELINE);
        let base = [deal(&cfg, "acme", Place::Stage(1), "value: 1000\n")];
        let head = [
            deal(&cfg, "acme", Place::Won, "value: 1000\n"),
            deal(&cfg, "beta", Place::Stage(0), "value: 500\ncurrency: USD\n"),
        ];
        let sum = judged((&cfg, &cfg), &base, &head, &[]).summary;
        assert_eq!(sum.changes, 2);
        let eur = &sum.figures;
        assert_eq!(eur.open_value_delta, Amount::from(-1000));
        assert_eq!(eur.weighted_delta, Amount::from(-500));
        assert_eq!(
            (eur.won_value, eur.lost_value),
            (Amount::from(1000), Amount::ZERO)
        );
        let usd = &sum.other_currencies["USD"];
        assert_eq!(
            (usd.open_value_delta, usd.weighted_delta),
            (Amount::from(500), Amount::from(50))
        );
        assert_eq!(
            summary_line(&sum),
            "2 changes · open pipeline -1,000 EUR · weighted -500 EUR · won 1,000 EUR · lost 0 · USD: open pipeline +500 USD · weighted +50 USD · won 0 · lost 0"
        );
    }

    #[test]
    fn the_plan_escapes_deal_text_in_its_table_and_gives_each_fix_once() {
        let v = Violation {
            rule: "missing-lost-reason",
            message: "lost without a reason".into(),
            help: "`deal set x lost.reason=\"…\"`".into(),
        };
        let change = ReviewChange {
            slug: "a|b".into(),
            change: "lost".into(),
            from: Some("talk".into()),
            to: Some("lost".into()),
            owner_from: Some("bob".into()),
            owner_to: Some("<al>".into()),
            value_from: Some(Amount::from(5)),
            value_to: Some(Amount::from(5)),
            currency: Some("USD".into()),
            authors: vec!["Bob B <bob@x.example>".into()],
            forced: true,
            violations: vec![v.clone(), v],
            ..config_row("x")
        };
        let r = Review {
            base: "0123456789".into(),
            head: "abc".into(),
            violations: 2,
            summary: Summary {
                changes: 1,
                figures: Figures::default(),
                currency: "EUR".into(),
                other_currencies: BTreeMap::new(),
            },
            changes: vec![change],
            unreadable: Vec::new(),
            triggers: Vec::new(),
        };
        let md = markdown(&r);
        assert!(md.starts_with("<!-- deal-review -->\n### deal review: ❌ 2 violations\n"));
        assert!(md.contains("| a\\|b | lost | talk | lost | 5 USD |  | bob → &lt;al&gt; | Bob B | **forced** | ❌ `missing-lost-reason` lost without a reason; `missing-lost-reason` lost without a reason |\n"), "{md}");
        assert_eq!(
            md.matches("- a\\|b `missing-lost-reason`: `` `deal set x lost.reason=\"…\"` ``\n")
                .count(),
            1,
            "{md}"
        );
        assert!(md.ends_with("merge-base `0123456`; head `abc`.\n"));
    }
}
