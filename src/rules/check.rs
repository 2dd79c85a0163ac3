//! `deal check`: every rule (docs/reference.md, "Check rules"), producing [`Finding`]s.
//!
//! Rules run per deal file and report every finding in one pass. Output
//! formats (human, JSON, GitHub annotations) live in [`crate::cli::output`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::base::time::format_date;
use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::rules::criteria::{self, Evaluator};
use crate::store::pipeline::{FileProblem, Pipeline, Problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The rule ids `deal check` runs, in the order `-v` lists them.
pub const RULES: &[&str] = &[
    "parse",
    "schema",
    "unknown-stage-folder",
    "symlink",
    "duplicate-slug",
    "exit-criteria",
    "missing-lost-reason",
    "unknown-owner",
    "rotting",
    "next-step-missing",
    "next-step-overdue",
    "speed-to-lead",
    "currency-mismatch",
    "conflict",
    "close-date-passed",
    "close-date-missing",
    "bad-file-name",
];

/// One finding, with a stable rule id.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Path relative to the pipeline root.
    pub path: PathBuf,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
    /// Extra lines (`missing: …`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub help: String,
    /// A source excerpt with a caret, for human output.
    #[serde(skip)]
    pub excerpt: Option<String>,
}

/// Which deals a check reports on.
#[derive(Debug, Clone, Default)]
pub enum Scope {
    #[default]
    All,
    /// Only these files (root-relative), plus duplicate slugs involving them.
    Files(HashSet<PathBuf>),
    /// The staged files (`check --staged`), plus every duplicate slug in
    /// the index: a commit or merge never leaves a deal in two places.
    Staged(HashSet<PathBuf>),
}

impl Scope {
    pub fn includes(&self, p: &Path) -> bool {
        match self {
            Scope::All => true,
            Scope::Files(set) | Scope::Staged(set) => set.contains(p),
        }
    }
}

/// Runs every rule over the pipeline.
pub fn run(p: &Pipeline, ev: &Evaluator, scope: &Scope, now: DateTime<Utc>) -> Vec<Finding> {
    use rayon::prelude::*;
    let mut out: Vec<Finding> = p
        .deals
        .par_iter()
        .filter(|d| scope.includes(&d.rel))
        .flat_map_iter(|d| check_file(&p.cfg, ev, d, now))
        .collect();
    for fp in &p.problems {
        if scope.includes(&fp.rel) {
            out.push(problem_finding(fp, &p.cfg));
        }
    }
    for (slug, paths) in p.duplicate_slugs() {
        if !matches!(scope, Scope::Staged(_)) && !paths.iter().any(|x| scope.includes(x)) {
            continue;
        }
        for (i, path) in paths.iter().enumerate() {
            let others: Vec<String> = paths
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, o)| o.display().to_string())
                .collect();
            out.push(Finding {
                rule: "duplicate-slug",
                severity: Severity::Error,
                path: path.clone(),
                line: 1,
                column: None,
                message: format!("the slug `{slug}` is also used by {}", others.join(", ")),
                notes: vec![],
                help: duplicate_help(&p.cfg, &slug, &paths),
                excerpt: None,
            });
        }
    }
    sort(&mut out);
    out
}

/// The stable order of findings: by path and line, then as the rules ran.
pub fn sort(out: &mut [Finding]) {
    out.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
}

/// How to fix a slug that sits in several files.
pub fn duplicate_help(cfg: &Config, slug: &str, paths: &[PathBuf]) -> String {
    format!(
        "if it is one deal in two places (two branches moved it), keep the right copy with `deal resolve {slug} --keep <{}>`; if they are two deals, rename one file with `git mv`",
        crate::store::pipeline::keep_choices(cfg, paths)
    )
}

/// `bad-file-name`: a file under `deals_dir` whose name is not `<slug>.md`.
fn bad_name_finding(rel: &Path) -> Finding {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".md").unwrap_or(&name);
    let why = if !name.ends_with(".md") {
        "its extension is not `.md`".to_string()
    } else if name.starts_with('.') {
        "a hidden file (leading dot) is not read as a deal".to_string()
    } else if crate::base::slug::is_reserved(stem) {
        format!("`{stem}` is a name Windows reserves; the file cannot be checked out there")
    } else {
        "a slug is lower-case letters, digits and `-`".to_string()
    };
    Finding {
        rule: "bad-file-name",
        severity: Severity::Error,
        path: rel.to_path_buf(),
        line: 1,
        column: None,
        message: format!("`{name}` is not a deal file name (<slug>.md): {why}"),
        notes: vec![],
        help: format!(
            "rename it: `{}` (or move it out of the deals folder if it is not a deal)",
            crate::store::pipeline::rename_fix(rel)
        ),
        excerpt: None,
    }
}

pub fn problem_finding(fp: &FileProblem, cfg: &Config) -> Finding {
    let base = |rule, message: String, help: String| Finding {
        rule,
        severity: Severity::Error,
        path: fp.rel.clone(),
        line: 1,
        column: None,
        message,
        notes: vec![],
        help,
        excerpt: None,
    };
    match &fp.problem {
        Problem::Parse(pp) => Finding {
            line: pp.line,
            column: pp.col,
            excerpt: pp.excerpt.clone(),
            ..base("parse", pp.message.clone(), pp.help.clone())
        },
        Problem::Conflict(c) => Finding {
            line: c.start,
            ..base("conflict", c.message(), c.help())
        },
        Problem::Unreadable(e) => base(
            "parse",
            format!("cannot read the file: {e}"),
            "keep notes short and attachments outside the deal file; check its permissions".into(),
        ),
        Problem::BadName => bad_name_finding(&fp.rel),
        Problem::Special(kind) => base(
            "bad-file-name",
            format!(
                "`{}` is {kind}, not a deal file; deal never opens one",
                fp.rel
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            format!(
                "remove it (`rm {}`), or move it out of the deals folder",
                crate::store::pipeline::shell_quote(&fp.rel.to_string_lossy())
            ),
        ),
        Problem::Symlink => base(
            "symlink",
            "the deal file is a symbolic link; it is not followed".into(),
            "replace the link with the file itself".into(),
        ),
        Problem::UnknownFolder => {
            let mut dirs: Vec<String> = cfg.stages.iter().map(|s| s.dir.clone()).collect();
            dirs.push("won".into());
            dirs.push("lost".into());
            base(
                "unknown-stage-folder",
                format!(
                    "`{}` is not a stage or outcome folder",
                    fp.rel
                        .parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                ),
                format!(
                    "move the file into one of {}/{{{}}}, or add the stage to pipeline.yaml",
                    cfg.deals_dir,
                    dirs.join(",")
                ),
            )
        }
    }
}

fn finding(
    d: &Deal,
    rule: &'static str,
    severity: Severity,
    key: Option<&str>,
    message: String,
    help: String,
) -> Finding {
    let (line, column) = match key {
        Some(k) => d.line_of(k),
        None => (1, None),
    };
    Finding {
        rule,
        severity,
        path: d.rel.clone(),
        line,
        column,
        message,
        notes: vec![],
        help,
        excerpt: column.and_then(|c| {
            crate::base::diag::line_of(&d.text, line)
                .map(|t| crate::base::diag::excerpt(line, t, c))
        }),
    }
}

/// All findings for one deal file: its deal's, and `bad-file-name` when
/// it was read from `Acme.md` or `a b.md` (readable, but misnamed).
pub fn check_file(cfg: &Config, ev: &Evaluator, d: &Deal, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = check_deal(cfg, ev, d, now);
    if !crate::base::slug::is_slug(&d.slug) {
        out.push(bad_name_finding(&d.rel));
    }
    out
}

/// All findings for one parsed deal.
pub fn check_deal(cfg: &Config, ev: &Evaluator, d: &Deal, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = schema_findings(d);
    out.extend(owner_findings(cfg, d));
    out.extend(criteria_findings(cfg, ev, d));
    out.extend(lost_reason_finding(cfg, d));
    if let Place::Stage(k) = d.place {
        out.extend(open_deal_findings(cfg, d, k, now));
        out.extend(next_step_overdue(d, now));
    }
    if let Some(w) = speed_to_lead(cfg, d, now) {
        out.push(w);
    }
    out.extend(currency_mismatch(cfg, d));
    out
}

/// `schema`: each issue deal parsing found with a known field (a missing
/// `title` or `owner` points at the file, not at the key).
fn schema_findings(d: &Deal) -> Vec<Finding> {
    d.issues
        .iter()
        .map(|issue| {
            let key = Some(issue.key.as_str())
                .filter(|k| !matches!(*k, "title" | "owner") || d.fm.contains_key(*k));
            finding(
                d,
                "schema",
                Severity::Error,
                key,
                issue.message.clone(),
                issue.help.clone(),
            )
        })
        .collect()
}

/// `unknown-owner`: an `owner` or `delivery_owner` not in the team (when
/// there is one).
fn owner_findings(cfg: &Config, d: &Deal) -> Vec<Finding> {
    let mut out = Vec::new();
    if cfg.team.is_empty() {
        return out;
    }
    let f = &d.fields;
    for key in ["owner", "delivery_owner"] {
        let who = if key == "owner" {
            &f.owner
        } else {
            &f.delivery_owner
        };
        if let Some(o) = who.as_deref().filter(|o| !o.trim().is_empty())
            && !cfg.team.contains_key(o)
        {
            let handles: Vec<&str> = cfg.team.keys().map(String::as_str).collect();
            out.push(finding(
                d,
                "unknown-owner",
                Severity::Error,
                Some(key),
                format!("{key} `{o}` is not in the team"),
                format!(
                    "use one of {}, or add `{o}` to `team` in pipeline.yaml",
                    handles.join(", ")
                ),
            ));
        }
    }
    out
}

/// `exit-criteria`: one finding per stage passed without its criteria,
/// a note per unmet criterion and each distinct fix once.
fn criteria_findings(cfg: &Config, ev: &Evaluator, d: &Deal) -> Vec<Finding> {
    let place_name = |p: Place| match p {
        Place::Stage(i) => format!("in {}", cfg.stages[i].id),
        Place::Won => "won".to_string(),
        Place::Lost => "lost".to_string(),
    };
    let mut out = Vec::new();
    for gap in criteria::gaps(ev, d) {
        let mut fnd = finding(
            d,
            "exit-criteria",
            Severity::Error,
            None,
            format!(
                "{}, but the exit criteria of {} are not met",
                place_name(d.place),
                cfg.stages[gap.stage].id
            ),
            String::new(),
        );
        let mut helps: Vec<String> = Vec::new();
        for m in &gap.missing {
            fnd.notes.push(match &m.detail {
                Some(det) => format!("missing: {} ({det})", m.label),
                None => format!("missing: {}", m.label),
            });
            if !helps.contains(&m.help) {
                helps.push(m.help.clone());
            }
        }
        fnd.help = helps.join("\n");
        out.push(fnd);
    }
    out
}

/// `missing-lost-reason`: a lost deal (lost since `enforce_from`, not
/// imported as lost) without `lost.reason`, or with one not in
/// `lost_reasons`.
fn lost_reason_finding(cfg: &Config, d: &Deal) -> Option<Finding> {
    let f = &d.fields;
    if d.place != Place::Lost {
        return None;
    }
    let lost_at = f.stages.get("lost").copied().or(f.lost_at);
    let historic = matches!((cfg.enforce_from, lost_at), (Some(from), Some(at)) if at < from)
        || !criteria::needs_lost_reason(d);
    if historic {
        return None;
    }
    match f.lost_reason.as_deref().filter(|r| !r.trim().is_empty()) {
        None => Some(finding(
            d,
            "missing-lost-reason",
            Severity::Error,
            None,
            "lost, with no `lost.reason`".into(),
            format!(
                "add the reason: `deal set {} lost.reason=\"{}\"`",
                d.slug,
                cfg.lost_reasons.first().map(String::as_str).unwrap_or("…")
            ),
        )),
        Some(r) if !cfg.lost_reasons.is_empty() && !cfg.lost_reasons.iter().any(|x| x == r) => {
            Some(finding(
                d,
                "missing-lost-reason",
                Severity::Error,
                Some("lost.reason"),
                format!("lost reason `{r}` is not one of `lost_reasons`"),
                format!("use one of: {}", cfg.lost_reasons.join(", ")),
            ))
        }
        Some(_) => None,
    }
}

/// The warnings of a deal open in stage `k`: `rotting`, and from the
/// proposal stage on, `next-step-missing`, `close-date-passed` and
/// `close-date-missing`.
fn open_deal_findings(cfg: &Config, d: &Deal, k: usize, now: DateTime<Utc>) -> Vec<Finding> {
    let f = &d.fields;
    let stage = &cfg.stages[k];
    let mut out = Vec::new();
    if let Some((idle, rot)) = d.rotting(cfg, now) {
        out.push(finding(
            d,
            "rotting",
            Severity::Warning,
            None,
            format!("idle for {idle:.1} days in {} (rots after {rot})", stage.id),
            format!(
                "log the last touch with `deal note {} call`, or move the deal on",
                d.slug
            ),
        ));
    }
    let proposal = cfg.stage_index("proposal");
    if proposal.is_some_and(|p| k >= p) && f.next_action.is_none() && f.next_due.is_none() {
        out.push(finding(
            d,
            "next-step-missing",
            Severity::Warning,
            None,
            format!("in {} with no next step", stage.id),
            format!(
                "`deal set {} next_step.action=\"…\" next_step.due=YYYY-MM-DD`",
                d.slug
            ),
        ));
    }
    if let Some(close) = f.expected_close
        && d.close_date_passed(now)
    {
        let late = (now.date_naive() - close.date_naive()).num_days();
        out.push(finding(
            d,
            "close-date-passed",
            Severity::Warning,
            Some("expected_close"),
            format!(
                "expected to close on {} ({late} day{} ago); the forecast counts it as past due",
                format_date(close),
                if late == 1 { "" } else { "s" }
            ),
            format!(
                "set the date it will close: `deal set {} expected_close=YYYY-MM-DD`, or move it to won or lost",
                d.slug
            ),
        ));
    }
    if proposal.is_some_and(|p| k >= p) && f.expected_close.is_none() {
        out.push(finding(
            d,
            "close-date-missing",
            Severity::Warning,
            None,
            format!(
                "in {} with no expected_close; the forecast cannot place it",
                stage.id
            ),
            format!("`deal set {} expected_close=YYYY-MM-DD`", d.slug),
        ));
    }
    out
}

/// `next-step-overdue`: an open deal's `next_step.due` before today.
fn next_step_overdue(d: &Deal, now: DateTime<Utc>) -> Option<Finding> {
    let f = &d.fields;
    let due = f.next_due.filter(|_| d.next_step_overdue(now))?;
    let late = (now.date_naive() - due.date_naive()).num_days();
    Some(finding(
        d,
        "next-step-overdue",
        Severity::Warning,
        Some("next_step.due"),
        format!(
            "next step {}was due {} ({late} day{} ago)",
            f.next_action
                .as_deref()
                .map(|a| format!("\"{a}\" "))
                .unwrap_or_default(),
            format_date(due),
            if late == 1 { "" } else { "s" }
        ),
        format!(
            "do it, or set a new date: `deal set {} next_step.due=YYYY-MM-DD`",
            d.slug
        ),
    ))
}

/// `currency-mismatch`: a deal valued in another currency than the
/// pipeline's, which the sums leave out.
fn currency_mismatch(cfg: &Config, d: &Deal) -> Option<Finding> {
    let c = d.fields.currency.as_ref().filter(|c| **c != cfg.currency)?;
    Some(finding(
        d,
        "currency-mismatch",
        Severity::Warning,
        Some("currency"),
        format!(
            "value in {c}, but the pipeline counts in {}; it is left out of the sums",
            cfg.currency
        ),
        format!(
            "convert the value to {} and remove `currency`, or keep it out of the sums",
            cfg.currency
        ),
    ))
}

fn speed_to_lead(cfg: &Config, d: &Deal, now: DateTime<Utc>) -> Option<Finding> {
    let f = &d.fields;
    if !cfg.is_inbound(f.source.as_deref()) {
        return None;
    }
    let created = f.created?;
    if cfg.enforce_from.is_some_and(|from| created < from) {
        return None;
    }
    // A lead created before it was imported was answered (or not) in its CRM.
    if f.imported
        .as_ref()
        .and_then(|im| im.at)
        .is_some_and(|at| created < at)
    {
        return None;
    }
    // A late first contact is history, counted in stats and the report;
    // only a lead still waiting is something to act on.
    if f.first_contact.is_some() || !d.place.is_open() {
        return None;
    }
    let mins = (now - created).num_seconds() as f64 / 60.0;
    (mins > cfg.speed_to_lead_minutes as f64).then(|| {
        finding(
            d,
            "speed-to-lead",
            Severity::Warning,
            None,
            format!(
                "inbound lead not contacted yet, {} after it came in (target: {} min)",
                human_minutes(mins),
                cfg.speed_to_lead_minutes
            ),
            format!(
                "contact them now, then `deal move {} outreach` records first_contact",
                d.slug
            ),
        )
    })
}

fn human_minutes(m: f64) -> String {
    if m < 120.0 {
        format!("{m:.0} min")
    } else if m < 48.0 * 60.0 {
        format!("{:.1} hours", m / 60.0)
    } else {
        format!("{:.1} days", m / 1440.0)
    }
}

/// Counts of errors and warnings.
pub fn counts(f: &[Finding]) -> (usize, usize) {
    let e = f.iter().filter(|x| x.severity == Severity::Error).count();
    (e, f.len() - e)
}

#[cfg(test)]
mod rule_list_tests {
    /// Every rule id this module emits is in `RULES` (which `check --help`
    /// and docs/reference.md are held to): read from the code itself.
    #[test]
    fn rules_lists_every_rule_the_code_emits() {
        let src = include_str!("check.rs");
        let re = regex::Regex::new(
            r#"(?:rule: |\n\s*)"([a-z]+(?:-[a-z]+)*)",\s*(?:\n\s*)?(?:severity: )?Severity::"#,
        )
        .unwrap();
        let mut seen: Vec<&str> = re
            .captures_iter(src)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        seen.extend(
            regex::Regex::new(r#"rule: "([a-z]+(?:-[a-z]+)*)""#)
                .unwrap()
                .captures_iter(src)
                .map(|c| c.get(1).unwrap().as_str()),
        );
        assert!(seen.len() >= 10, "the pattern finds the rules: {seen:?}");
        for r in seen {
            assert!(super::RULES.contains(&r), "RULES lacks `{r}`");
        }
    }
}
