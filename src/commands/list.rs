//! `deal list`: one row per deal.

use crate::board::{Row, money};
use crate::cli::{ListArgs, ListFormat};
use crate::commands::Ctx;
use crate::criteria::Evaluator;
use crate::deal::{Place, lookup, scalar_text};
use crate::error::Error;
use crate::output;
use crate::pipeline::Pipeline;

/// The `--sort` keys that are columns rather than front-matter fields.
const SORT_COLUMNS: [&str; 7] = ["slug", "stage", "owner", "value", "days", "criteria", "due"];

/// Refuses a `--sort` key that is neither a column, a known field, nor a
/// front-matter field any deal has: a typo must not sort silently by nothing.
fn check_sort_key(p: &Pipeline, key: &str) -> Result<(), Error> {
    const KNOWN: [&str; 12] = [
        "title",
        "company",
        "currency",
        "source",
        "created",
        "first_contact",
        "engaged",
        "expected_close",
        "last_activity",
        "next_step.due",
        "kickoff_on",
        "delivery_owner",
    ];
    if SORT_COLUMNS.contains(&key)
        || KNOWN.contains(&key)
        || p.deals.iter().any(|d| lookup(&d.fm, key).is_some())
    {
        return Ok(());
    }
    let mut fields: Vec<String> = p
        .deals
        .iter()
        .flat_map(|d| d.fm.keys().filter_map(scalar_text))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    fields.truncate(20);
    Err(Error::usage(
        format!("cannot sort by `{key}`: it is not a column, and no deal has that field"),
        format!(
            "sort by {}, or a front-matter field (dotted paths work): {}",
            SORT_COLUMNS.join(", "),
            if fields.is_empty() {
                KNOWN.join(", ")
            } else {
                fields.join(", ")
            }
        ),
    ))
}

pub fn run(ctx: &Ctx, a: ListArgs) -> Result<i32, Error> {
    let p = Pipeline::open(&ctx.start)?;
    ctx.trace_pipeline(&p, "work tree");
    p.warn_unreadable();
    let cfg = &p.cfg;
    let stage = match &a.stage {
        None => None,
        Some(s) => Some(Place::parse(s, cfg).ok_or_else(|| {
            let ids: Vec<&str> = cfg.stages.iter().map(|s| s.id.as_str()).collect();
            Error::usage(
                format!("no stage `{s}`"),
                format!("stages are {}, won and lost", ids.join(", ")),
            )
        })?),
    };
    if let Some(o) = &a.owner
        && !cfg.team.is_empty()
        && !cfg.team.contains_key(o)
    {
        let handles: Vec<&str> = cfg.team.keys().map(String::as_str).collect();
        return Err(Error::usage(
            format!("no team member `{o}`"),
            format!("the team is {}", handles.join(", ")),
        ));
    }
    let ev = Evaluator::worktree(cfg, &p.root);
    let mut deals: Vec<_> = p
        .deals
        .iter()
        .filter(|d| stage.is_none_or(|s| d.place == s))
        .filter(|d| {
            a.owner
                .as_deref()
                .is_none_or(|o| d.fields.owner.as_deref() == Some(o))
        })
        .map(|d| (d, Row::of(cfg, &ev, d, ctx.now)))
        .filter(|(_, r)| !a.rotting || r.rotting)
        .collect();
    let key = a.sort.as_str();
    check_sort_key(&p, key)?;
    deals.sort_by(|(da, ra), (db, rb)| {
        let by = match key {
            "slug" => ra.slug.cmp(&rb.slug),
            "stage" => da.place.ordinal(cfg).cmp(&db.place.ordinal(cfg)),
            "owner" => ra.owner.cmp(&rb.owner),
            "value" => rb.value.unwrap_or(0.0).total_cmp(&ra.value.unwrap_or(0.0)),
            "days" => rb
                .days_in_stage
                .unwrap_or(0.0)
                .total_cmp(&ra.days_in_stage.unwrap_or(0.0)),
            "criteria" => ra.criteria_met.cmp(&rb.criteria_met),
            "due" => ra
                .next_step_due
                .is_none()
                .cmp(&rb.next_step_due.is_none())
                .then(ra.next_step_due.cmp(&rb.next_step_due)),
            field => {
                let va = lookup(&da.fm, field);
                let vb = lookup(&db.fm, field);
                match (va.and_then(|v| v.as_f64()), vb.and_then(|v| v.as_f64())) {
                    (Some(x), Some(y)) => y.total_cmp(&x),
                    _ => vb
                        .is_none()
                        .cmp(&va.is_none())
                        .reverse()
                        .then_with(|| va.and_then(scalar_text).cmp(&vb.and_then(scalar_text))),
                }
            }
        };
        by.then_with(|| ra.slug.cmp(&rb.slug))
    });
    let rows: Vec<Row> = deals.into_iter().map(|(_, r)| r).collect();
    match a.format {
        ListFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
        }
        ListFormat::Csv => {
            println!(
                "slug,stage,owner,value,currency,days_in_stage,criteria,next_step_due,rotting,overdue,path"
            );
            for r in &rows {
                let cells = [
                    r.slug.clone(),
                    r.stage.clone(),
                    r.owner.clone(),
                    r.value.map(|v| v.to_string()).unwrap_or_default(),
                    r.currency.clone(),
                    r.days_in_stage.map(|v| v.to_string()).unwrap_or_default(),
                    r.criteria_text(),
                    r.next_step_due.clone().unwrap_or_default(),
                    r.rotting.to_string(),
                    r.overdue.to_string(),
                    r.path.clone(),
                ];
                let esc: Vec<String> = cells
                    .iter()
                    .map(|c| {
                        if c.contains([',', '"', '\n']) {
                            format!("\"{}\"", c.replace('"', "\"\""))
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                println!("{}", esc.join(","));
            }
        }
        ListFormat::Table => {
            if rows.is_empty() {
                if !ctx.quiet {
                    println!("no deals match");
                }
                return Ok(0);
            }
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut due = r.next_step_due.clone().unwrap_or_else(|| "-".into());
                    if r.overdue {
                        due.push_str(" overdue");
                    }
                    let mut days = r
                        .days_in_stage
                        .map(|d| format!("{d:.1}"))
                        .unwrap_or_else(|| "-".into());
                    if r.rotting {
                        days.push_str(" rotting");
                    }
                    vec![
                        r.slug.clone(),
                        r.stage.clone(),
                        r.owner.clone(),
                        r.value
                            .map(|v| {
                                let m = money(v);
                                if r.currency != cfg.currency {
                                    format!("{m} {}", r.currency)
                                } else {
                                    m
                                }
                            })
                            .unwrap_or_else(|| "-".into()),
                        days,
                        r.criteria_text(),
                        due,
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(
                    &[
                        "SLUG", "STAGE", "OWNER", "VALUE", "DAYS", "CRITERIA", "NEXT DUE"
                    ],
                    &body,
                    output::term_width()
                )
            );
        }
    }
    Ok(0)
}
