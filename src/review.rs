//! `deal review BASE[..HEAD]` (SPEC §4 "Review"): every deal change in a
//! pull request, judged by the base's `pipeline.yaml`.
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
//!   that carries `Forced:` (with `Deal: <slug>`) or `Imported:`;
//! - `unreadable` / `conflict`: a deal file at HEAD that cannot be read
//!   (its change is `unreadable`, never `removed`);
//! - `duplicate-slug`: a slug in two places at HEAD, however it got there;
//! - `weakened-criteria`: a `pipeline.yaml` change under which a deal could
//!   pass that the base would refuse, unless a commit in the range carries a
//!   `Criteria-Change:` trailer with a reason.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::config::Config;
use crate::criteria::{Evaluator, unmet};
use crate::deal::{Deal, Place};
use crate::history::Commit;
use crate::pipeline::{FileProblem, Problem};

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
    /// Waivers this change adds (every waiver, for a new deal).
    pub waived: Vec<Waiver>,
    /// Whether a commit in the range forced a move of this deal (`Forced:`
    /// beside `Deal: <slug>`).
    pub forced: bool,
    pub lost_reason: Option<String>,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub base: String,
    pub head: String,
    pub violations: usize,
    pub changes: Vec<ReviewChange>,
    /// Deal files at HEAD that cannot be read (each is also a change).
    pub unreadable: Vec<crate::pipeline::Unreadable>,
    /// Every change to `triggers` in pipeline.yaml, one line each
    /// ([`crate::notify::trigger_changes`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<String>,
}

/// A criterion's content, for telling a changed one from an unchanged one.
fn signature(c: &crate::config::Criterion) -> String {
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
                (crate::config::Kind::Any(a), Some(crate::config::Kind::Any(b)))
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
            crate::time::format_date(t)
        )),
        (Some(a), Some(b)) if b > a => out.push(format!(
            "`enforce_from` moved later, to {}",
            crate::time::format_date(b)
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
    if d.place == Place::Lost {
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
                help: format!("rename it: `{}`", crate::pipeline::rename_fix(&p.rel)),
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
    let forced: HashSet<String> = commits
        .iter()
        .filter(|c| c.trailer("Forced").is_some())
        .filter_map(|c| c.trailer("Deal").map(slug_key))
        .collect();
    let imported = commits.iter().any(|c| c.trailer("Imported").is_some());
    let mut base: BTreeMap<String, Vec<&Deal>> = BTreeMap::new();
    for d in sides.base {
        base.entry(slug_key(&d.slug)).or_default().push(d);
    }
    let mut head: BTreeMap<String, Vec<&Deal>> = BTreeMap::new();
    for d in sides.head {
        head.entry(slug_key(&d.slug)).or_default().push(d);
    }
    let mut broken: BTreeMap<String, Vec<&FileProblem>> = BTreeMap::new();
    for p in sides.head_problems {
        broken.entry(slug_key(&p.slug)).or_default().push(p);
    }
    let dups: BTreeMap<&str, &Vec<PathBuf>> = sides
        .duplicates
        .iter()
        .map(|(s, v)| (s.as_str(), v))
        .collect();
    let keys: BTreeSet<&String> = base
        .keys()
        .chain(head.keys())
        .chain(broken.keys())
        .chain(sides.duplicates.iter().map(|(s, _)| s))
        .collect();
    let mut changes = Vec::new();
    for key in keys {
        let b = base.get(key).and_then(|v| v.first().copied());
        let hs: &[&Deal] = head.get(key).map(|v| v.as_slice()).unwrap_or(&[]);
        let h = hs.first().copied();
        let place = |d: Option<&Deal>| d.map(|d| d.place.id(cfg).to_string());
        let owner = |d: Option<&Deal>| d.and_then(|d| d.fields.owner.clone());
        let mut ch = ReviewChange {
            slug: b
                .or(h)
                .map(|d| d.slug.clone())
                .unwrap_or_else(|| key.clone()),
            change: String::new(),
            from: place(b),
            to: place(h),
            owner_from: owner(b),
            owner_to: owner(h),
            waived: Vec::new(),
            forced: forced.contains(key),
            lost_reason: h
                .filter(|d| d.place == Place::Lost)
                .and_then(|d| d.fields.lost_reason.clone()),
            violations: Vec::new(),
        };
        if let Some(paths) = dups.get(key.as_str()) {
            ch.change = "duplicated".into();
            ch.to = Some(
                paths
                    .iter()
                    .map(|p| match crate::pipeline::place_of(p, cfg) {
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
                help: crate::check::duplicate_help(cfg, &ch.slug, paths),
            });
            for p in broken.get(key).into_iter().flatten() {
                ch.violations.push(problem_violation(p).0);
            }
            changes.push(ch);
            continue;
        }
        if let Some(ps) = broken.get(key) {
            ch.change = "unreadable".into();
            if let Some(p) = ps.first() {
                ch.to = crate::pipeline::place_of(&p.rel, cfg).map(|pl| pl.id(cfg).to_string());
            }
            for p in ps {
                // A bad name has its own `bad-file-name` row.
                if !matches!(p.problem, Problem::BadName) {
                    ch.violations.push(problem_violation(p).0);
                }
            }
            changes.push(ch);
            continue;
        }
        match (b, h) {
            (None, Some(h)) => {
                ch.change = "added".into();
                ch.waived = waivers(cfg, h, None);
                ch.violations = criteria_violations(ev, cfg, None, h);
                if !h.fields.waived.is_empty() && !forced.contains(key) && !imported {
                    ch.violations.push(hand_waiver(h, &ch.waived, true));
                }
                if h.fields.source_id.is_some() && !imported {
                    ch.violations.push(hand_source_id(h, true));
                }
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
                ch.waived = waivers(cfg, h, Some(b));
                if b.place != h.place && h.place != Place::Lost {
                    let forward = h.place == Place::Won || ordinal(cfg, h) > ordinal(cfg, b);
                    if forward {
                        ch.violations = criteria_violations(ev, cfg, Some(b), h);
                    }
                } else if h.place == Place::Lost && b.place != Place::Lost {
                    ch.violations = criteria_violations(ev, cfg, Some(b), h);
                }
                if !ch.waived.is_empty() && !forced.contains(key) {
                    ch.violations.push(hand_waiver(h, &ch.waived, false));
                }
                if h.fields.source_id.is_some() && b.fields.source_id.is_none() && !imported {
                    ch.violations.push(hand_source_id(h, false));
                }
                if ch.change == "edited"
                    && ch.violations.is_empty()
                    && !ch.forced
                    && ch.waived.is_empty()
                {
                    continue;
                }
            }
            (None, None) => continue,
        }
        changes.push(ch);
    }
    for p in sides.bad_names {
        let mut row = config_row("bad-file-name");
        row.slug = p.display().to_string();
        row.to = crate::pipeline::place_of(p, cfg).map(|pl| pl.id(cfg).to_string());
        row.violations.push(Violation {
            rule: "bad-file-name",
            message: format!(
                "{} is not named `<slug>.md` (lower-case letters, digits and `-`)",
                p.display()
            ),
            help: format!("`{}`", crate::pipeline::rename_fix(p)),
        });
        changes.push(row);
    }
    let mut triggers = Vec::new();
    match sides.head_cfg {
        Err(why) => changes.push(ReviewChange {
            violations: vec![Violation {
                rule: if why.contains("[conflict]") {
                    "conflict"
                } else {
                    "unreadable"
                },
                message: why,
                help: "fix pipeline.yaml so that `deal check` loads it".into(),
            }],
            ..config_row("unreadable")
        }),
        Ok(head_cfg) => {
            triggers = crate::notify::trigger_changes(&cfg.triggers, &head_cfg.triggers);
            let weak = weakenings(cfg, head_cfg);
            let reasons: Vec<&str> = commits
                .iter()
                .filter_map(|c| c.trailer("Criteria-Change"))
                .collect();
            // A reason says something: `""` or `-` does not.
            let explained = reasons.iter().any(|r| r.chars().any(char::is_alphanumeric));
            if !weak.is_empty() {
                let mut row = config_row(if explained {
                    "criteria-change"
                } else {
                    "weakened"
                });
                if !explained {
                    let empty = if reasons.is_empty() {
                        ""
                    } else {
                        " (a `Criteria-Change:` trailer is there, but says nothing: it needs a reason)"
                    };
                    row.violations = weak
                        .into_iter()
                        .map(|w| Violation {
                            rule: "weakened-criteria",
                            message: format!("{w}{empty}"),
                            help: "if the change is meant, say why in the pull request: `git commit --allow-empty -m \"Relax the process\" --trailer \"Criteria-Change: <why>\"`".into(),
                        })
                        .collect();
                }
                changes.push(row);
            } else if sides.config_changed {
                changes.push(config_row("edited"));
            }
        }
    }
    let violations = changes.iter().map(|c| c.violations.len()).sum();
    let unreadable = sides
        .head_problems
        .iter()
        .map(|p| {
            let (v, line) = problem_violation(p);
            crate::pipeline::Unreadable {
                path: p.rel.display().to_string(),
                line,
                message: v.message,
            }
        })
        .collect();
    Review {
        base: sides.base_id,
        head: sides.head_id,
        violations,
        changes,
        unreadable,
        triggers,
    }
}

fn config_row(change: &str) -> ReviewChange {
    ReviewChange {
        slug: crate::config::FILE.into(),
        change: change.into(),
        from: None,
        to: None,
        owner_from: None,
        owner_to: None,
        waived: Vec::new(),
        forced: false,
        lost_reason: None,
        violations: Vec::new(),
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
            "source_id {} by hand, without an import",
            if new {
                "written into a new deal"
            } else {
                "added"
            }
        ),
        help: format!(
            "remove `source_id` from {}: it is set by `deal import`, which marks its commit `Imported:`",
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
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    format!("{fence} {s} {fence}")
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
            "| Deal | Change | From | To | Owner | Notes | Verdict |\n|---|---|---|---|---|---|---|\n",
        );
        for c in &r.changes {
            let owner = match (&c.owner_from, &c.owner_to) {
                (Some(a), Some(b)) if a != b => format!("{} → {}", md_text(a), md_text(b)),
                (_, Some(b)) => md_text(b),
                (Some(a), None) => md_text(a),
                (None, None) => String::new(),
            };
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
            let verdict = if c.violations.is_empty() {
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
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                md_text(&c.slug),
                c.change,
                md_text(c.from.as_deref().unwrap_or("")),
                md_text(c.to.as_deref().unwrap_or("")),
                owner,
                notes.join("; "),
                verdict
            ));
        }
        let mut helps: Vec<String> = r
            .changes
            .iter()
            .flat_map(|c| {
                c.violations.iter().map(move |v| {
                    format!("- {} `{}`: {}", md_text(&c.slug), v.rule, md_code(&v.help))
                })
            })
            .collect();
        helps.dedup();
        if !helps.is_empty() {
            out.push_str("\n**How to fix**\n\n");
            for h in helps {
                out.push_str(&h);
                out.push('\n');
            }
        }
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

#[cfg(test)]
mod tests {
    use super::md_text;

    #[test]
    fn deal_text_never_becomes_markup() {
        assert_eq!(
            md_text("![x](http://e.x/a.png) <img src=x> | a"),
            "\\!\\[x\\]\\(http\\://e\\.x/a\\.png\\) &lt;img src=x&gt; \\| a"
        );
        assert_eq!(md_text("a\nb"), "a b");
        assert_eq!(super::md_code("a `b` c"), "`` a `b` c ``");
    }
}
