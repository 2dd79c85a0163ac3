//! The exit-criteria engine: evaluating a criterion against a deal, and
//! deciding which stages' criteria a deal must meet (docs/reference.md,
//! "Criteria").

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_yaml::Value;

use crate::model::body::{SectionGap, check_section};
use crate::model::config::{Config, Criterion, Format, Kind};
use crate::model::deal::{Deal, Place, is_filled};
use crate::yaml::mapping::{lookup, scalar_text};

/// The result of one criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub met: bool,
    /// Why it is not met (or the evaluation error).
    pub detail: Option<String>,
}

impl Outcome {
    fn ok() -> Outcome {
        Outcome {
            met: true,
            detail: None,
        }
    }
    fn no(detail: String) -> Outcome {
        Outcome {
            met: false,
            detail: Some(detail),
        }
    }
}

/// What evaluation needs beyond the deal.
pub struct Evaluator<'a> {
    pub cfg: &'a Config,
    pub env: minijinja::Environment<'static>,
    /// Whether a path relative to the pipeline root is a regular file inside it.
    pub file_exists: Box<dyn Fn(&str) -> bool + Sync + 'a>,
}

/// Whether `s` is an email address: the one rule for `format: email`,
/// `deal new --email` and a `--json` payload's email.
pub fn is_email(s: &str) -> bool {
    email_re().is_match(s.trim())
}

fn email_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$").expect("valid regex"))
}

fn phone_ok(s: &str) -> bool {
    let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
    (7..=15).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c) || c == '/')
}

fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > 8
        && !s.contains(char::is_whitespace)
}

/// Whether a root-relative path is a regular file inside `root` (symlinks that
/// leave the root do not count).
pub fn worktree_file_exists(root: &Path, rel: &str) -> bool {
    if !crate::model::config::stays_inside(rel) {
        return false;
    }
    let p = root.join(rel);
    match std::fs::canonicalize(&p) {
        Ok(c) => c.starts_with(root) && c.is_file(),
        Err(_) => false,
    }
}

impl<'a> Evaluator<'a> {
    /// An evaluator for the working tree under `root`.
    pub fn worktree(cfg: &'a Config, root: &'a Path) -> Evaluator<'a> {
        Evaluator {
            cfg,
            env: crate::base::expr::environment(),
            file_exists: Box::new(move |rel| worktree_file_exists(root, rel)),
        }
    }

    /// An evaluator for a git tree's `files` when given, else for the
    /// working tree under `root`.
    pub fn for_files(
        cfg: &'a Config,
        root: &'a Path,
        files: Option<std::collections::HashSet<String>>,
    ) -> Evaluator<'a> {
        match files {
            Some(f) => Evaluator::with_files(cfg, f),
            None => Evaluator::worktree(cfg, root),
        }
    }

    /// An evaluator for a git tree: `files` holds every file path under the
    /// pipeline root at that commit.
    pub fn with_files(cfg: &'a Config, files: std::collections::HashSet<String>) -> Evaluator<'a> {
        Evaluator {
            cfg,
            env: crate::base::expr::environment(),
            file_exists: Box::new(move |rel| {
                crate::model::config::stays_inside(rel)
                    && files.contains(rel.trim_start_matches("./"))
            }),
        }
    }

    fn format_ok(&self, fmt: Format, v: &Value) -> bool {
        let s = scalar_text(v).unwrap_or_default();
        match fmt {
            Format::Email => is_email(&s),
            Format::Phone => phone_ok(s.trim()),
            Format::Date => {
                matches!(v, Value::String(s) if crate::base::time::parse_timestamp(s).is_some())
            }
            Format::Url => is_url(&s),
            Format::Number => v.is_number() || s.trim().parse::<f64>().is_ok(),
            Format::Bool => v.is_bool(),
            Format::File => (self.file_exists)(&s),
            Format::FileOrUrl => is_url(&s) || (self.file_exists)(&s),
        }
    }

    /// Evaluates one criterion.
    pub fn eval(&self, c: &Criterion, deal: &Deal) -> Outcome {
        match &c.kind {
            Kind::Field {
                fields,
                format,
                matches,
            } => {
                for f in fields {
                    let Some(v) = lookup(&deal.fm, f).filter(|v| is_filled(v)) else {
                        return Outcome::no(format!("`{f}` is missing"));
                    };
                    if let Some(fmt) = format
                        && !self.format_ok(*fmt, v)
                    {
                        let shown = scalar_text(v).unwrap_or_else(|| "a structure".into());
                        let what = match fmt {
                            Format::File => "a file inside the pipeline".to_string(),
                            Format::FileOrUrl => {
                                "a file inside the pipeline or an http(s) URL".to_string()
                            }
                            other => format!("a valid {}", other.as_str()),
                        };
                        return Outcome::no(format!("`{f}` is not {what}: `{shown}`"));
                    }
                    if let Some(re) = matches {
                        let s = scalar_text(v).unwrap_or_default();
                        if !re.is_match(&s) {
                            return Outcome::no(format!("`{f}` does not match `{}`", re.as_str()));
                        }
                    }
                }
                Outcome::ok()
            }
            Kind::Section {
                heading, required, ..
            } => match check_section(
                deal.outline(),
                heading,
                required.as_deref(),
                &self.cfg.prompts,
            ) {
                Ok(()) => Outcome::ok(),
                Err(gap) => Outcome::no(gap.describe(heading)),
            },
            Kind::Any(subs) => {
                let mut why = Vec::new();
                for s in subs {
                    let o = self.eval(s, deal);
                    if o.met {
                        return Outcome::ok();
                    }
                    why.extend(o.detail);
                }
                Outcome::no(format!("none holds: {}", why.join("; ")))
            }
            Kind::Expr(src) => match crate::base::expr::eval(&self.env, src, &deal.fm) {
                Ok(true) => Outcome::ok(),
                Ok(false) => Outcome::no("the expression is false".into()),
                Err(e) => Outcome::no(format!("expression error: {e}")),
            },
        }
    }
}

/// The command that fixes an unmet criterion, as shown after `help:`. It
/// looks at the file: a section that exists is to be filled in (naming its
/// empty or missing headings), not scaffolded again.
pub fn fix_hint(c: &Criterion, deal: &Deal, prompts: &HashSet<String>) -> String {
    let slug = &deal.slug;
    match &c.kind {
        Kind::Field { fields, format, .. } => {
            let missing = fields
                .iter()
                .find(|f| lookup(&deal.fm, f).is_none_or(|v| !is_filled(v)))
                .unwrap_or(&fields[0]);
            if matches!(format, Some(Format::File | Format::FileOrUrl)) {
                // What is missing is a file: the fix is to add it, not a
                // `deal set` that would point at nothing.
                let written = lookup(&deal.fm, missing)
                    .filter(|v| is_filled(v))
                    .and_then(scalar_text);
                return match written {
                    Some(path) => format!(
                        "add the file `{path}` to the pipeline and commit it (`git add {path}`), or point `{missing}` at the file that holds it"
                    ),
                    None => format!(
                        "add the file to the pipeline (e.g. `contracts/{slug}.pdf`) and commit it, then run `deal set {slug} {missing}=contracts/{slug}.pdf`{}",
                        if *format == Some(Format::FileOrUrl) {
                            " (or give an https:// URL)"
                        } else {
                            ""
                        }
                    ),
                };
            }
            let example = match format {
                // A signal that happened: `today` works; a due date: the user picks it.
                Some(Format::Date) if missing.contains("due") || missing.contains("expected") => {
                    "YYYY-MM-DD".to_string()
                }
                Some(Format::Date) => "today".to_string(),
                Some(Format::Email) => "name@example.com".to_string(),
                Some(Format::Phone) => "\"+1 555 0100\"".to_string(),
                Some(Format::Url) => "https://…".to_string(),
                Some(Format::Bool) => "true".to_string(),
                Some(Format::Number) => "0".to_string(),
                // (a file's hint is above)
                Some(Format::File | Format::FileOrUrl) | None => "…".to_string(),
            };
            format!("run `deal set {slug} {missing}={example}`")
        }
        Kind::Section {
            heading, required, ..
        } if !deal.outline().find(heading).is_empty() => {
            let file = deal.rel.display();
            match check_section(deal.outline(), heading, required.as_deref(), prompts) {
                Err(SectionGap::Headings { missing, empty }) => {
                    let quote = |v: &[String]| {
                        v.iter()
                            .map(|s| format!("\"{s}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let mut todo = Vec::new();
                    if !empty.is_empty() {
                        todo.push(format!("write under {}", quote(&empty)));
                    }
                    if !missing.is_empty() {
                        todo.push(format!("add the heading {}", quote(&missing)));
                    }
                    format!(
                        "in the \"{heading}\" section of {file}, {}",
                        todo.join(" and ")
                    )
                }
                _ => format!(
                    "write real content under \"{heading}\" in {file} (prompts, TBD and TODO do not count)"
                ),
            }
        }
        Kind::Section { note: Some(n), .. } => {
            format!("run `deal note {slug} {}`, fill it in", n.as_str())
        }
        Kind::Section { heading, .. } => {
            format!("write a \"{heading}\" section in {}", deal.rel.display())
        }
        Kind::Any(subs) => subs
            .first()
            .map(|s| fix_hint(s, deal, prompts))
            .unwrap_or_default(),
        Kind::Expr(e) if e.contains("objections") => {
            let open = crate::model::objection::list(&deal.fm)
                .iter()
                .position(|o| !o.resolved)
                .map_or("N".to_string(), |i| (i + 1).to_string());
            format!(
                "settle each objection, then `deal objection resolve {slug} {open} --response \"…\"` (`deal objection list {slug}` numbers them)"
            )
        }
        Kind::Expr(e) => format!("edit the front-matter so that `{e}` holds"),
    }
}

/// An unmet criterion of a stage the deal has passed.
#[derive(Debug, Clone)]
pub struct Missing {
    pub label: String,
    pub detail: Option<String>,
    pub help: String,
}

/// A stage whose exit criteria a deal does not meet.
#[derive(Debug, Clone)]
pub struct StageGap {
    pub stage: usize,
    pub missing: Vec<Missing>,
}

/// The unmet criteria of stage `i` for `deal`.
pub fn unmet(ev: &Evaluator, i: usize, deal: &Deal) -> Vec<Missing> {
    ev.cfg.stages[i]
        .exit
        .iter()
        .filter_map(|c| {
            let o = ev.eval(c, deal);
            (!o.met).then(|| Missing {
                label: c.label.clone(),
                detail: o.detail,
                help: fix_hint(c, deal, &ev.cfg.prompts),
            })
        })
        .collect()
}

/// When the deal left stage `i`: the entry time of the next place it entered.
pub fn exit_time(cfg: &Config, deal: &Deal, i: usize) -> Option<DateTime<Utc>> {
    let entered_i = deal.fields.stages.get(&cfg.stages[i].id).copied();
    let later = cfg.stages[i + 1..]
        .iter()
        .map(|s| s.id.as_str())
        .chain([crate::model::config::WON, crate::model::config::LOST]);
    later
        .filter_map(|id| deal.fields.stages.get(id).copied())
        .filter(|t| entered_i.is_none_or(|e| *t >= e))
        .min()
}

/// The deal's earliest recorded date: `created` or any `stages` entry.
pub fn first_record(deal: &Deal) -> Option<DateTime<Utc>> {
    deal.fields
        .created
        .into_iter()
        .chain(deal.fields.stages.values().copied())
        .min()
}

/// Whether stage `i`'s criteria are an imported deal's CRM history: a
/// stage before `imported.stage` (for a deal imported as lost, before its
/// `lost.stage`). `check`, `move`, the hooks and `review` all leave these
/// out (docs/reference.md, "When criteria apply").
pub fn before_import(cfg: &Config, deal: &Deal, i: usize) -> bool {
    let Some(stage) = deal
        .fields
        .imported
        .as_ref()
        .and_then(|im| im.stage.as_deref())
    else {
        return false;
    };
    let upto = match Place::parse(stage, cfg) {
        Some(Place::Stage(k)) => k,
        Some(Place::Won) => cfg.stages.len(),
        Some(Place::Lost) => deal
            .fields
            .lost_stage
            .as_deref()
            .and_then(|s| cfg.stage_index(s))
            .unwrap_or(0),
        None => 0,
    };
    i < upto
}

/// Whether a lost deal needs `lost.reason`: not when it was imported as
/// lost (its CRM's record is history, with or without a reason).
pub fn needs_lost_reason(deal: &Deal) -> bool {
    !(deal.place == Place::Lost
        && deal
            .fields
            .imported
            .as_ref()
            .and_then(|im| im.stage.as_deref())
            == Some(crate::model::config::LOST))
}

/// The stages whose criteria apply to `deal` where it sits now: every stage
/// before its current one (all of them in `won`), less waived stages,
/// stages left before `enforce_from` and, on an imported deal, the stages
/// before the one it came in at.
pub fn applicable_stages(cfg: &Config, deal: &Deal) -> Vec<usize> {
    let upto = match deal.place {
        Place::Stage(k) => k,
        Place::Won => cfg.stages.len(),
        Place::Lost => 0,
    };
    (0..upto)
        .filter(|&i| !deal.fields.waived.contains_key(&cfg.stages[i].id))
        .filter(|&i| !before_import(cfg, deal, i))
        .filter(|&i| match (cfg.enforce_from, exit_time(cfg, deal, i)) {
            (Some(from), Some(left)) => left >= from,
            // No record of when it left (an import that dates only some
            // stages): judge by the deal's first record instead.
            // An imported deal's unknown exits happened in the other CRM:
            // history. Otherwise judge by the deal's first record.
            (Some(from), None) => {
                let imported = deal.fields.source_id.is_some() || deal.fm.contains_key("imported");
                !imported && first_record(deal).is_none_or(|t| t >= from)
            }
            _ => true,
        })
        .collect()
}

/// Every stage the deal has passed without meeting its exit criteria.
pub fn gaps(ev: &Evaluator, deal: &Deal) -> Vec<StageGap> {
    applicable_stages(ev.cfg, deal)
        .into_iter()
        .filter_map(|i| {
            let missing = unmet(ev, i, deal);
            (!missing.is_empty()).then_some(StageGap { stage: i, missing })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails() {
        assert!(phone_ok("+1 555 0100 22"));
        assert!(!phone_ok("call me"));
        assert!(email_re().is_match("jane@acme.example"));
        assert!(!email_re().is_match("jane@acme"));
        assert!(!email_re().is_match("jane doe@acme.com"));
    }

    /// Four stages, each asking for one thing; `enforce_from` when given.
    fn cfg(enforce_from: &str) -> Config {
        let yaml = format!(
            "{enforce_from}stages:\n\
             \x20 - id: outreach\n    exit:\n      - field: contact.email\n        format: email\n\
             \x20 - id: discovery\n    exit:\n      - any:\n          - field: problem.confirmed_by\n          - expr: \"value > 1000\"\n\
             \x20 - id: proposal\n    exit:\n      - field: contract\n        matches: \"^contracts/\"\n\
             \x20 - id: negotiation\n"
        );
        crate::model::deal::fixtures::config(&yaml)
    }

    fn deal(cfg: &Config, place: Place, front: &str) -> Deal {
        crate::model::deal::fixtures::deal(cfg, place, &format!("owner: ann\n{front}"))
    }

    fn outcome(cfg: &Config, stage: usize, d: &Deal) -> Outcome {
        let ev = Evaluator::with_files(cfg, HashSet::new());
        ev.eval(&cfg.stages[stage].exit[0], d)
    }

    #[test]
    fn a_field_criterion_names_what_is_missing_or_malformed() {
        let c = cfg("");
        let missing = deal(&c, Place::Stage(1), "");
        assert_eq!(
            outcome(&c, 0, &missing).detail.as_deref(),
            Some("`contact.email` is missing")
        );
        let bad = deal(&c, Place::Stage(1), "contact: {email: jo}\n");
        assert_eq!(
            outcome(&c, 0, &bad).detail.as_deref(),
            Some("`contact.email` is not a valid email: `jo`")
        );
        let good = deal(&c, Place::Stage(1), "contact: {email: jo@acme.com}\n");
        assert_eq!(outcome(&c, 0, &good), Outcome::ok());
        let elsewhere = deal(&c, Place::Stage(3), "contract: deals/x.pdf\n");
        assert_eq!(
            outcome(&c, 2, &elsewhere).detail.as_deref(),
            Some("`contract` does not match `^contracts/`")
        );
    }

    #[test]
    fn an_any_criterion_holds_when_one_of_its_criteria_holds() {
        let c = cfg("");
        let neither = deal(&c, Place::Stage(2), "value: 10\n");
        let o = outcome(&c, 1, &neither);
        assert!(!o.met);
        assert_eq!(
            o.detail.as_deref(),
            Some("none holds: `problem.confirmed_by` is missing; the expression is false")
        );
        let big = deal(&c, Place::Stage(2), "value: 5000\n");
        assert!(outcome(&c, 1, &big).met);
        let confirmed = deal(&c, Place::Stage(2), "problem: {confirmed_by: CFO}\n");
        assert!(outcome(&c, 1, &confirmed).met);
    }

    #[test]
    fn the_stages_before_the_current_one_apply_less_the_waived() {
        let c = cfg("");
        let waived = "waived: {discovery: met at the fair}\n";
        let d = deal(&c, Place::Stage(3), waived);
        assert_eq!(applicable_stages(&c, &d), vec![0, 2]);
        let won = deal(&c, Place::Won, "");
        assert_eq!(applicable_stages(&c, &won), vec![0, 1, 2, 3]);
        let lost = deal(&c, Place::Lost, "");
        assert!(applicable_stages(&c, &lost).is_empty());
    }

    #[test]
    fn an_imported_deal_is_not_judged_on_its_crm_history() {
        let c = cfg("");
        let imported = "imported: {at: 2026-01-05, stage: proposal}\n";
        let d = deal(&c, Place::Stage(3), imported);
        assert!(before_import(&c, &d, 1));
        assert!(!before_import(&c, &d, 2));
        assert_eq!(applicable_stages(&c, &d), vec![2]);
        let front = "imported: {at: 2026-01-05, stage: lost}\nlost: {stage: discovery}\n";
        let lost = deal(&c, Place::Lost, front);
        assert!(before_import(&c, &lost, 0) && !before_import(&c, &lost, 1));
        assert!(!needs_lost_reason(&lost));
        assert!(needs_lost_reason(&deal(&c, Place::Lost, "")));
    }

    #[test]
    fn stages_left_before_enforce_from_do_not_apply() {
        let c = cfg("enforce_from: 2026-02-01\n");
        let dates = "stages: {outreach: 2026-01-02, discovery: 2026-01-10, \
                     proposal: 2026-02-03, negotiation: 2026-02-20}\n";
        let d = deal(&c, Place::Stage(3), dates);
        // Outreach was left on 01-10 and discovery on 02-03.
        assert_eq!(applicable_stages(&c, &d), vec![1, 2]);
        assert_eq!(
            exit_time(&c, &d, 0).map(crate::base::time::format_date),
            Some("2026-01-10".to_string())
        );
        // Without dates, the deal's first record decides.
        let old = deal(&c, Place::Stage(3), "created: 2026-01-02\n");
        assert!(applicable_stages(&c, &old).is_empty());
        let new = deal(&c, Place::Stage(3), "created: 2026-02-02\n");
        assert_eq!(applicable_stages(&c, &new), vec![0, 1, 2]);
    }
}
