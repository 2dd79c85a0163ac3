//! `deal show DEAL`: stage, owner, age, the exit checklist, next step, history.

use crate::base::error::Error;
use crate::base::time::{days_between, format_date};
use crate::cli::args::ShowArgs;
use crate::cli::ctx::Ctx;
use crate::model::deal::{Place, lookup, scalar_text};
use crate::rules::criteria::{self, Evaluator};
use crate::store::pipeline::Pipeline;

pub fn run(ctx: &Ctx, a: ShowArgs) -> Result<i32, Error> {
    // Only the files that DEAL can name are read, not the whole pipeline.
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    ctx.trace_pipeline(&p, "work tree");
    p.warn_unreadable();
    let cfg = &p.cfg;
    let d = p.resolve(&a.deal)?;
    let f = &d.fields;
    let s = ctx.style;
    let ev = Evaluator::worktree(cfg, &p.root);
    let mut out = String::new();
    out.push_str(&format!(
        "{}  {}\n",
        s.bold(&d.slug),
        f.title.as_deref().unwrap_or("(no title)")
    ));
    let row = |k: &str, v: String| format!("  {k:<9} {v}\n");
    out.push_str(&row(
        "file",
        crate::base::diag::display_path(&p.root.join(&d.rel)),
    ));
    let since = d
        .entered_current(cfg)
        .map(|t| {
            format!(
                ", for {:.1} days (since {})",
                days_between(t, ctx.now),
                format_date(t)
            )
        })
        .unwrap_or_default();
    let stage_line = match d.place {
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
            f.lost_reason
                .as_deref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default()
        ),
    };
    out.push_str(&row("stage", stage_line));
    if let Some(o) = &f.owner {
        let name = cfg
            .team
            .get(o)
            .and_then(|m| m.name.clone())
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        out.push_str(&row("owner", format!("{o}{name}")));
    }
    if let Some(v) = f.value {
        out.push_str(&row(
            "value",
            format!(
                "{} {}",
                crate::base::money::format(
                    v,
                    crate::base::money::minor_unit(f.currency.as_deref().unwrap_or(&cfg.currency))
                ),
                f.currency.as_deref().unwrap_or(&cfg.currency)
            ),
        ));
    }
    if let Some(c) = f.company.as_deref() {
        out.push_str(&row("company", c.to_string()));
    }
    let start = [f.created]
        .into_iter()
        .flatten()
        .chain(f.stages.values().copied())
        .min();
    if let Some(t) = start {
        out.push_str(&row(
            "age",
            format!(
                "{:.1} days (since {})",
                days_between(t, ctx.now),
                format_date(t)
            ),
        ));
    }
    if d.place.is_open() || f.expected_close.is_some() {
        let when = match f.expected_close {
            Some(c) if d.close_date_passed(ctx.now) => {
                let late = (ctx.now.date_naive() - c.date_naive()).num_days();
                s.red(&format!(
                    "{}, past due ({late} day{} ago)",
                    format_date(c),
                    if late == 1 { "" } else { "s" }
                ))
            }
            Some(c) => format_date(c),
            None => "none set".into(),
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
        out.push_str(&row("close", format!("{when}{category}")));
    }
    let contact: Vec<String> = ["name", "role", "email", "phone"]
        .iter()
        .filter_map(|k| lookup(&d.fm, &format!("contact.{k}")).and_then(scalar_text))
        .collect();
    if !contact.is_empty() {
        out.push_str(&row("contact", contact.join(", ")));
    }
    // The checklist of the current stage.
    if let Place::Stage(i) = d.place {
        let st = &cfg.stages[i];
        out.push_str(&format!(
            "\n{}\n",
            s.bold(&format!("Exit criteria of {} ({}):", st.id, st.name))
        ));
        if st.exit.is_empty() {
            out.push_str("  (none: the deal may move on)\n");
        }
        for c in &st.exit {
            let o = ev.eval(c, d);
            if o.met {
                out.push_str(&format!("  {} {}\n", s.green("✔"), c.label));
            } else {
                let det = o.detail.map(|x| format!(" — {x}")).unwrap_or_default();
                out.push_str(&format!("  {} {}{}\n", s.red("✖"), c.label, s.dim(&det)));
                out.push_str(&format!(
                    "      fix: {}\n",
                    criteria::fix_hint(c, d, &cfg.prompts)
                ));
            }
        }
    }
    let gaps = criteria::gaps(&ev, d);
    if !gaps.is_empty() {
        out.push_str(&format!("\n{}\n", s.bold("Earlier stages not met:")));
        for g in gaps {
            for m in g.missing {
                let det = m.detail.map(|x| format!(" — {x}")).unwrap_or_default();
                out.push_str(&format!(
                    "  {} {}: {}{}\n",
                    s.red("✖"),
                    cfg.stages[g.stage].id,
                    m.label,
                    s.dim(&det)
                ));
                out.push_str(&format!("      fix: {}\n", m.help));
            }
        }
    }
    let objections = crate::model::objection::list(&d.fm);
    if !objections.is_empty() {
        let open = objections.iter().filter(|o| !o.resolved).count();
        out.push_str(&format!(
            "\n{}\n",
            s.bold(&format!(
                "Objections ({open} open of {}):",
                objections.len()
            ))
        ));
        for (i, o) in objections.iter().enumerate() {
            if o.resolved {
                out.push_str(&format!("  {} {}. {}\n", s.green("✔"), i + 1, o.objection));
            } else {
                out.push_str(&format!("  {} {}. {}\n", s.red("✖"), i + 1, o.objection));
                out.push_str(&format!(
                    "      resolve: `deal objection resolve {} {} --response \"…\"`\n",
                    d.slug,
                    i + 1
                ));
            }
        }
    }
    if !f.waived.is_empty() {
        out.push_str(&format!("\n{}\n", s.bold("Waived:")));
        for (st, w) in &f.waived {
            let mut who = String::new();
            if let Some(by) = &w.by {
                who = format!(" (forced by {by}");
                if let Some(at) = w.at {
                    who.push_str(&format!(" on {}", crate::base::time::format_date(at)));
                }
                who.push(')');
            }
            out.push_str(&format!("  {st}: {}{who}\n", w.reason));
        }
    }
    if f.next_action.is_some() || f.next_due.is_some() {
        let overdue = d.next_step_overdue(ctx.now);
        out.push_str(&format!(
            "\n{} {}{}{}\n",
            s.bold("Next step:"),
            f.next_action.as_deref().unwrap_or("(no action)"),
            f.next_due
                .map(|t| format!(", due {}", format_date(t)))
                .unwrap_or_default(),
            if overdue {
                s.red(" (overdue)")
            } else {
                String::new()
            }
        ));
    } else if d.place.is_open() {
        out.push_str(&format!(
            "\n{} none — `deal set {} next_step.action=\"…\" next_step.due=YYYY-MM-DD`\n",
            s.bold("Next step:"),
            d.slug
        ));
    }
    if !f.stages.is_empty() {
        out.push_str(&format!("\n{}\n", s.bold("History:")));
        let mut h: Vec<_> = f.stages.iter().collect();
        h.sort_by_key(|(id, t)| (**t, Place::parse(id, cfg).map(|p| p.ordinal(cfg))));
        for (id, t) in h {
            out.push_str(&format!("  {}  {id}\n", t.format("%Y-%m-%d %H:%M")));
        }
    }
    let custom: Vec<String> =
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
                Some(format!(
                    "  {k}: {}",
                    crate::cli::output::clip(
                        &text,
                        crate::cli::output::term_width().saturating_sub(k.len() + 4)
                    )
                ))
            })
            .collect();
    if !custom.is_empty() {
        out.push_str(&format!(
            "\n{}\n{}\n",
            s.bold("Other fields:"),
            custom.join("\n")
        ));
    }
    // Values come from the deal: hidden characters shown as escapes, only
    // deal's own colours kept (docs/safety.md, "Odd files and odd text").
    print!("{}", s.visible(&out));
    Ok(0)
}
