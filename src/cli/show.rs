//! `deal show DEAL`: stage, owner, age, the exit checklist, next step, history.

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::base::time::{days_between, format_date};
use crate::cli::ctx::Ctx;
use crate::cli::output::Style;
use crate::model::config::Config;
use crate::model::deal::Deal;
use crate::model::deal::Place;
use crate::rules::criteria::{self, Evaluator};
use crate::store::pipeline::Pipeline;
use crate::yaml::mapping::{lookup, scalar_text};
use chrono::{DateTime, Utc};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Slug, unique prefix, or path
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub deal: String,
}

/// The `close` line: the expected close date (red when it has passed) and
/// where the forecast category comes from.
struct Close {
    when: String,
    past_due: bool,
    category: String,
}

/// One exit criterion of the current stage, judged.
struct Check {
    label: String,
    met: bool,
    /// ` — why`, or empty.
    detail: String,
    /// How to meet it (empty when met).
    fix: String,
}

/// An unmet criterion of an earlier stage.
struct Unmet {
    stage: String,
    label: String,
    /// ` — why`, or empty.
    detail: String,
    fix: String,
}

/// The current stage's checklist under its heading.
struct Checklist {
    id: String,
    name: String,
    checks: Vec<Check>,
}

/// The `Next step:` line: the step as set, a hint to set one on an open
/// deal, or nothing for a closed deal without one.
enum NextStep {
    Set {
        action: String,
        due: Option<String>,
        overdue: bool,
    },
    Missing,
    Closed,
}

/// What `deal show` says about one deal, worked out from the deal and the
/// pipeline before any colour is chosen: one field per part of the page.
struct View {
    slug: String,
    title: String,
    /// The labelled lines above `close`, in order: file, stage, owner,
    /// value, company, age.
    facts: Vec<(&'static str, String)>,
    close: Option<Close>,
    contact: Option<String>,
    checklist: Option<Checklist>,
    gaps: Vec<Unmet>,
    /// The objections in file order: resolved, text.
    objections: Vec<(bool, String)>,
    /// `stage: reason (forced by … on …)` per waiver.
    waived: Vec<String>,
    next: NextStep,
    /// `YYYY-MM-DD HH:MM  stage`, oldest first.
    history: Vec<String>,
    /// The fields `show` has no line of its own for: key, text.
    custom: Vec<(String, String)>,
}

pub fn run(ctx: &Ctx, a: ShowArgs) -> Result<i32, Error> {
    // Only the files that DEAL can name are read, not the whole pipeline.
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    ctx.trace_pipeline(&p, "work tree");
    p.warn_unreadable();
    let d = p.resolve(&a.deal)?;
    let ev = Evaluator::worktree(&p.cfg, &p.root);
    let view = View::of(&p.cfg, &ev, &p.root, d, ctx.now);
    let s = ctx.style;
    // Values come from the deal: hidden characters shown as escapes, only
    // deal's own colours kept (docs/safety.md, "Odd files and odd text").
    print!("{}", s.visible(&view.render(&s)));
    Ok(0)
}

impl View {
    /// The view of deal `d` in the pipeline at `root`, as of `now`.
    fn of(
        cfg: &Config,
        ev: &Evaluator,
        root: &std::path::Path,
        d: &Deal,
        now: DateTime<Utc>,
    ) -> View {
        let contact: Vec<String> = ["name", "role", "email", "phone"]
            .iter()
            .filter_map(|k| lookup(&d.fm, &format!("contact.{k}")).and_then(scalar_text))
            .collect();
        View {
            slug: d.slug.clone(),
            title: d
                .fields
                .title
                .as_deref()
                .unwrap_or("(no title)")
                .to_string(),
            facts: facts(cfg, root, d, now),
            close: close(cfg, d, now),
            contact: (!contact.is_empty()).then(|| contact.join(", ")),
            checklist: checklist(cfg, ev, d),
            gaps: earlier_gaps(cfg, ev, d),
            objections: crate::model::objection::list(&d.fm)
                .into_iter()
                .map(|o| (o.resolved, o.objection))
                .collect(),
            waived: waived(d),
            next: next_step(d, now),
            history: history(cfg, d),
            custom: custom_fields(d),
        }
    }

    /// The page, coloured with `s`, hidden characters not yet escaped.
    fn render(&self, s: &Style) -> String {
        let mut out = format!("{}  {}\n", s.bold(&self.slug), self.title);
        self.render_facts(s, &mut out);
        self.render_checks(s, &mut out);
        self.render_objections(s, &mut out);
        if !self.waived.is_empty() {
            out.push_str(&format!("\n{}\n", s.bold("Waived:")));
            for w in &self.waived {
                out.push_str(&format!("  {w}\n"));
            }
        }
        self.render_next(s, &mut out);
        if !self.history.is_empty() {
            out.push_str(&format!("\n{}\n", s.bold("History:")));
            for h in &self.history {
                out.push_str(&format!("  {h}\n"));
            }
        }
        self.render_custom(s, &mut out);
        out
    }

    /// The labelled lines under the title, `close` and `contact` last.
    fn render_facts(&self, s: &Style, out: &mut String) {
        let row = |k: &str, v: &str| format!("  {k:<9} {v}\n");
        for (k, v) in &self.facts {
            out.push_str(&row(k, v));
        }
        if let Some(c) = &self.close {
            let when = if c.past_due {
                s.red(&c.when)
            } else {
                c.when.clone()
            };
            out.push_str(&row("close", &format!("{when}{}", c.category)));
        }
        if let Some(c) = &self.contact {
            out.push_str(&row("contact", c));
        }
    }

    /// The current stage's checklist, then what earlier stages lack.
    fn render_checks(&self, s: &Style, out: &mut String) {
        if let Some(list) = &self.checklist {
            out.push_str(&format!(
                "\n{}\n",
                s.bold(&format!("Exit criteria of {} ({}):", list.id, list.name))
            ));
            if list.checks.is_empty() {
                out.push_str("  (none: the deal may move on)\n");
            }
            for c in &list.checks {
                if c.met {
                    out.push_str(&format!("  {} {}\n", s.green("✔"), c.label));
                } else {
                    out.push_str(&format!(
                        "  {} {}{}\n",
                        s.red("✖"),
                        c.label,
                        s.dim(&c.detail)
                    ));
                    out.push_str(&format!("      fix: {}\n", c.fix));
                }
            }
        }
        if !self.gaps.is_empty() {
            out.push_str(&format!("\n{}\n", s.bold("Earlier stages not met:")));
            for g in &self.gaps {
                out.push_str(&format!(
                    "  {} {}: {}{}\n",
                    s.red("✖"),
                    g.stage,
                    g.label,
                    s.dim(&g.detail)
                ));
                out.push_str(&format!("      fix: {}\n", g.fix));
            }
        }
    }

    /// The objections, each open one with the command that resolves it.
    fn render_objections(&self, s: &Style, out: &mut String) {
        if self.objections.is_empty() {
            return;
        }
        let open = self.objections.iter().filter(|(r, _)| !r).count();
        out.push_str(&format!(
            "\n{}\n",
            s.bold(&format!(
                "Objections ({open} open of {}):",
                self.objections.len()
            ))
        ));
        for (i, (resolved, text)) in self.objections.iter().enumerate() {
            if *resolved {
                out.push_str(&format!("  {} {}. {}\n", s.green("✔"), i + 1, text));
            } else {
                out.push_str(&format!("  {} {}. {}\n", s.red("✖"), i + 1, text));
                out.push_str(&format!(
                    "      resolve: `deal objection resolve {} {} --response \"…\"`\n",
                    self.slug,
                    i + 1
                ));
            }
        }
    }

    /// The next step, or how to set one.
    fn render_next(&self, s: &Style, out: &mut String) {
        match &self.next {
            NextStep::Set {
                action,
                due,
                overdue,
            } => out.push_str(&format!(
                "\n{} {action}{}{}\n",
                s.bold("Next step:"),
                due.as_ref()
                    .map(|t| format!(", due {t}"))
                    .unwrap_or_default(),
                if *overdue {
                    s.red(" (overdue)")
                } else {
                    String::new()
                }
            )),
            NextStep::Missing => out.push_str(&format!(
                "\n{} none — `deal set {} next_step.action=\"…\" next_step.due=YYYY-MM-DD`\n",
                s.bold("Next step:"),
                self.slug
            )),
            NextStep::Closed => {}
        }
    }

    /// The other front-matter fields, each clipped to the terminal.
    fn render_custom(&self, s: &Style, out: &mut String) {
        if self.custom.is_empty() {
            return;
        }
        let lines: Vec<String> = self
            .custom
            .iter()
            .map(|(k, text)| {
                format!(
                    "  {k}: {}",
                    crate::cli::output::clip(
                        text,
                        crate::cli::output::term_width().saturating_sub(k.len() + 4)
                    )
                )
            })
            .collect();
        out.push_str(&format!(
            "\n{}\n{}\n",
            s.bold("Other fields:"),
            lines.join("\n")
        ));
    }
}

/// The labelled lines from `file` to `age`, those the deal has.
fn facts(
    cfg: &Config,
    root: &std::path::Path,
    d: &Deal,
    now: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let f = &d.fields;
    let mut out = vec![
        ("file", crate::base::diag::display_path(&root.join(&d.rel))),
        ("stage", stage_line(cfg, d, now)),
    ];
    if let Some(o) = &f.owner {
        let name = cfg
            .team
            .get(o)
            .and_then(|m| m.name.clone())
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        out.push(("owner", format!("{o}{name}")));
    }
    if let Some(v) = f.value {
        let cur = f.currency.as_deref().unwrap_or(&cfg.currency);
        out.push((
            "value",
            format!(
                "{} {cur}",
                crate::base::money::format(v, crate::base::money::minor_unit(cur))
            ),
        ));
    }
    if let Some(c) = f.company.as_deref() {
        out.push(("company", c.to_string()));
    }
    let start = [f.created]
        .into_iter()
        .flatten()
        .chain(f.stages.values().copied())
        .min();
    if let Some(t) = start {
        out.push((
            "age",
            format!(
                "{:.1} days (since {})",
                days_between(t, now),
                format_date(t)
            ),
        ));
    }
    out
}

/// Where the deal is, for how long, and what comes next (or why it was lost).
fn stage_line(cfg: &Config, d: &Deal, now: DateTime<Utc>) -> String {
    let since = d
        .entered_current(cfg)
        .map(|t| {
            format!(
                ", for {:.1} days (since {})",
                days_between(t, now),
                format_date(t)
            )
        })
        .unwrap_or_default();
    match d.place {
        Place::Stage(i) => {
            let next = cfg
                .stages
                .get(i + 1)
                .map(|s| s.id.as_str())
                .unwrap_or("won");
            format!("{}{since} → next: {next}", cfg.stages[i].id)
        }
        Place::Won => format!("won{since}"),
        Place::Lost => format!(
            "lost{since}{}",
            d.fields
                .lost_reason
                .as_deref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default()
        ),
    }
}

/// The `close` line of an open deal, or of a closed one with a close date.
fn close(cfg: &Config, d: &Deal, now: DateTime<Utc>) -> Option<Close> {
    let f = &d.fields;
    if !d.place.is_open() && f.expected_close.is_none() {
        return None;
    }
    let (when, past_due) = match f.expected_close {
        Some(c) if d.close_date_passed(now) => {
            let late = (now.date_naive() - c.date_naive()).num_days();
            let when = format!(
                "{}, past due ({late} day{} ago)",
                format_date(c),
                if late == 1 { "" } else { "s" }
            );
            (when, true)
        }
        Some(c) => (format_date(c), false),
        None => ("none set".into(), false),
    };
    let category = d
        .category(cfg)
        .map(|c| {
            let from = if f.forecast.is_some() {
                "set on the deal"
            } else {
                "from the stage"
            };
            format!(" · forecast: {} ({from})", c.label())
        })
        .unwrap_or_default();
    Some(Close {
        when,
        past_due,
        category,
    })
}

/// The exit criteria of the deal's stage, each judged (None out of a stage).
fn checklist(cfg: &Config, ev: &Evaluator, d: &Deal) -> Option<Checklist> {
    let Place::Stage(i) = d.place else {
        return None;
    };
    let st = &cfg.stages[i];
    let checks = st
        .exit
        .iter()
        .map(|c| {
            let o = ev.eval(c, d);
            Check {
                label: c.label.clone(),
                met: o.met,
                detail: o.detail.map(|x| format!(" — {x}")).unwrap_or_default(),
                fix: if o.met {
                    String::new()
                } else {
                    criteria::fix_hint(c, d, &cfg.prompts)
                },
            }
        })
        .collect();
    Some(Checklist {
        id: st.id.clone(),
        name: st.name.clone(),
        checks,
    })
}

/// The criteria of earlier stages the deal does not meet.
fn earlier_gaps(cfg: &Config, ev: &Evaluator, d: &Deal) -> Vec<Unmet> {
    criteria::gaps(ev, d)
        .into_iter()
        .flat_map(|g| {
            g.missing.into_iter().map(move |m| Unmet {
                stage: cfg.stages[g.stage].id.clone(),
                label: m.label,
                detail: m.detail.map(|x| format!(" — {x}")).unwrap_or_default(),
                fix: m.help,
            })
        })
        .collect()
}

/// Each waived stage with its reason and who forced it, when.
fn waived(d: &Deal) -> Vec<String> {
    d.fields
        .waived
        .iter()
        .map(|(st, w)| {
            let mut who = String::new();
            if let Some(by) = &w.by {
                who = format!(" (forced by {by}");
                if let Some(at) = w.at {
                    who.push_str(&format!(" on {}", crate::base::time::format_date(at)));
                }
                who.push(')');
            }
            format!("{st}: {}{who}", w.reason)
        })
        .collect()
}

/// The deal's next step as of `now`.
fn next_step(d: &Deal, now: DateTime<Utc>) -> NextStep {
    let f = &d.fields;
    if f.next_action.is_some() || f.next_due.is_some() {
        NextStep::Set {
            action: f
                .next_action
                .clone()
                .unwrap_or_else(|| "(no action)".into()),
            due: f.next_due.map(format_date),
            overdue: d.next_step_overdue(now),
        }
    } else if d.place.is_open() {
        NextStep::Missing
    } else {
        NextStep::Closed
    }
}

/// The stage dates, oldest first (a tie in process order).
fn history(cfg: &Config, d: &Deal) -> Vec<String> {
    let mut h: Vec<_> = d.fields.stages.iter().collect();
    h.sort_by_key(|(id, t)| (**t, Place::parse(id, cfg).map(|p| p.ordinal(cfg))));
    h.into_iter()
        .map(|(id, t)| format!("{}  {id}", t.format("%Y-%m-%d %H:%M")))
        .collect()
}

/// The front-matter fields `show` gives no line of its own, as text (a
/// mapping or list as one line of YAML).
fn custom_fields(d: &Deal) -> Vec<(String, String)> {
    d.fm.iter()
        .filter_map(|(k, v)| {
            let k = k.as_str()?;
            if crate::model::fields::shown_apart(crate::model::fields::View::Show, k) {
                return None;
            }
            let text = match scalar_text(v) {
                Some(t) => t,
                None => serde_yaml::to_string(v).ok()?.trim().replace('\n', " "),
            };
            Some((k.to_string(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    use crate::cli::import::tests::cfg;

    fn deal(cfg: &Config, place: Place, dir: &str, fm: &str) -> Deal {
        Deal::parse(
            "acme".into(),
            PathBuf::from(format!("deals/{dir}/acme.md")),
            place,
            format!("---\n{fm}---\n\n# Acme\n").into_bytes(),
            cfg,
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-03-10T12:00:00Z".parse().unwrap()
    }

    /// The view of a deal `acme` at `place` (in folder `dir`) with the
    /// front matter `fm`, on 2026-03-10 at noon.
    fn view(place: Place, dir: &str, fm: &str) -> View {
        let cfg = cfg();
        let d = deal(&cfg, place, dir, fm);
        let ev = Evaluator::with_files(&cfg, Default::default());
        View::of(&cfg, &ev, Path::new("/pipe"), &d, now())
    }

    #[test]
    fn a_prospect_without_contact_fails_its_one_criterion_with_a_fix() {
        let v = view(
            Place::Stage(0),
            "01-prospecting",
            "title: Acme\nowner: bob\nstages:\n  prospecting: 2026-03-01T00:00:00Z\n",
        );
        let list = v.checklist.as_ref().unwrap();
        assert_eq!(list.id, "prospecting");
        assert_eq!(list.checks.len(), 1);
        assert!(!list.checks[0].met);
        assert!(!list.checks[0].fix.is_empty());
        assert!(matches!(v.next, NextStep::Missing));
        let page = v.render(&Style { color: false });
        assert!(page.starts_with("acme  Acme\n"), "{page}");
        assert!(page.contains("  owner     bob (Bob)\n"), "{page}");
        assert!(
            page.contains(
                "  stage     prospecting, for 9.5 days (since 2026-03-01) → next: outreach\n"
            ),
            "{page}"
        );
        assert!(page.contains("✖ Qualified contact"), "{page}");
        assert!(
            page.contains("\nNext step: none — `deal set acme next_step."),
            "{page}"
        );
    }

    #[test]
    fn a_won_deal_has_no_checklist_and_no_next_step_line() {
        let v = view(
            Place::Won,
            "won",
            "title: Acme\nowner: bob\nstages:\n  won: 2026-03-05T00:00:00Z\n",
        );
        assert!(v.checklist.is_none());
        assert!(v.close.is_none());
        assert!(matches!(v.next, NextStep::Closed));
        let stage = v.facts.iter().find(|(k, _)| *k == "stage").unwrap();
        assert_eq!(stage.1, "won, for 5.5 days (since 2026-03-05)");
        assert!(!v.render(&Style { color: false }).contains("Next step:"));
    }

    #[test]
    fn a_close_date_gone_by_is_past_due_and_red() {
        let v = view(
            Place::Stage(1),
            "02-outreach",
            "title: Acme\nexpected_close: 2026-03-07\n",
        );
        let c = v.close.as_ref().unwrap();
        assert!(c.past_due);
        assert_eq!(c.when, "2026-03-07, past due (3 days ago)");
        assert!(c.category.ends_with("(from the stage)"), "{}", c.category);
        let coloured = v.render(&Style { color: true });
        assert!(coloured.contains("\x1b[1;31m2026-03-07, past due (3 days ago)\x1b[0m"));
    }

    #[test]
    fn objections_count_the_open_ones_and_say_how_to_resolve_them() {
        let v = view(
            Place::Stage(1),
            "02-outreach",
            "title: Acme\nobjections:\n  - objection: Too dear\n    resolved: true\n  - objection: No time\n",
        );
        assert_eq!(
            v.objections,
            vec![
                (true, "Too dear".to_string()),
                (false, "No time".to_string())
            ]
        );
        let page = v.render(&Style { color: false });
        assert!(
            page.contains("Objections (1 open of 2):\n  ✔ 1. Too dear\n  ✖ 2. No time\n"),
            "{page}"
        );
        assert!(
            page.contains("deal objection resolve acme 2 --response"),
            "{page}"
        );
    }

    #[test]
    fn history_lists_stage_dates_oldest_first() {
        let cfg = cfg();
        let d = deal(
            &cfg,
            Place::Stage(1),
            "02-outreach",
            "title: Acme\nstages:\n  outreach: 2026-03-04T09:30:00Z\n  prospecting: 2026-03-01T08:00:00Z\n",
        );
        assert_eq!(
            history(&cfg, &d),
            vec![
                "2026-03-01 08:00  prospecting".to_string(),
                "2026-03-04 09:30  outreach".to_string()
            ]
        );
    }
}
