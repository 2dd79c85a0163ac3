//! `deal list`: one row per deal.

use crate::base::error::Error;
use crate::cli::args::{ListArgs, ListFormat};
use crate::cli::ctx::Ctx;
use crate::cli::output;
use crate::model::deal::{Place, lookup, scalar_text};
use crate::reports::board::Row;
use crate::rules::criteria::Evaluator;
use crate::store::pipeline::Pipeline;

/// The `--sort` keys that are columns rather than front-matter fields.
const SORT_COLUMNS: [&str; 7] = ["slug", "stage", "owner", "value", "days", "criteria", "due"];

/// The refusal of a `--sort` key that is neither a column, a known field,
/// nor a front-matter field any deal has: a typo must not sort silently by
/// nothing. `fields` are the top-level fields the deals have.
fn bad_sort_key(key: &str, mut fields: Vec<String>) -> Error {
    fields.sort();
    fields.dedup();
    fields.truncate(20);
    Error::usage(
        format!("cannot sort by `{key}`: it is not a column, and no deal has that field"),
        format!(
            "sort by {}, or a front-matter field (dotted paths work): {}",
            SORT_COLUMNS.join(", "),
            if fields.is_empty() {
                crate::model::fields::sortable()
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                fields.join(", ")
            }
        ),
    )
}

/// One listed deal: its row, its place, and the value of a sort field.
struct Item {
    ordinal: usize,
    row: Row,
    sort: Option<serde_yaml::Value>,
}

pub fn run(ctx: &Ctx, a: ListArgs) -> Result<i32, Error> {
    let root = crate::store::pipeline::find_root(&ctx.start)?;
    let config = crate::model::config::load(&root)?;
    let cfg = &config;
    let stage = match &a.stage {
        None => None,
        Some(s) => Some(
            Place::parse(s, cfg)
                .ok_or_else(|| Error::usage(format!("no stage `{s}`"), cfg.stage_hint()))?,
        ),
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
    let key = a.sort.as_str();
    let by_field = !SORT_COLUMNS.contains(&key);
    let ev = Evaluator::worktree(cfg, &root);
    // Each deal becomes its row as it is parsed, and is dropped.
    let entries = crate::store::pipeline::worktree_entries(&root, cfg);
    let (p, scanned) = Pipeline::scan(root.clone(), cfg.clone(), entries, |d| {
        let sort = if by_field {
            lookup(&d.fm, key).cloned()
        } else {
            None
        };
        let has = sort.is_some();
        let wanted = stage.is_none_or(|s| d.place == s)
            && a.owner
                .as_deref()
                .is_none_or(|o| d.fields.owner.as_deref() == Some(o));
        let item = wanted.then(|| Item {
            ordinal: d.place.ordinal(cfg),
            row: Row::of(cfg, &ev, &d, ctx.now),
            sort,
        });
        (item, has)
    });
    ctx.trace_pipeline(&p, "work tree");
    p.warn_unreadable();
    // A known field may be sorted by even when no deal has it yet.
    let known = crate::model::fields::sortable().any(|k| k == key);
    if by_field && !known && !scanned.iter().any(|(_, has)| *has) {
        // The error path may read the deals again, to list their fields.
        let entries = crate::store::pipeline::worktree_entries(&root, cfg);
        let (_, keys) = Pipeline::scan(root.clone(), cfg.clone(), entries, |d| {
            d.fm.keys().filter_map(scalar_text).collect::<Vec<_>>()
        });
        return Err(bad_sort_key(key, keys.into_iter().flatten().collect()));
    }
    let mut deals: Vec<Item> = scanned
        .into_iter()
        .filter_map(|(i, _)| i)
        .filter(|i| !a.rotting || i.row.rotting)
        .collect();
    deals.sort_by(|x, y| {
        let (ra, rb) = (&x.row, &y.row);
        let by = match key {
            "slug" => ra.slug.cmp(&rb.slug),
            "stage" => x.ordinal.cmp(&y.ordinal),
            "owner" => ra.owner.cmp(&rb.owner),
            "value" => rb
                .value
                .unwrap_or_default()
                .cmp(&ra.value.unwrap_or_default()),
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
            _ => {
                let (va, vb) = (x.sort.as_ref(), y.sort.as_ref());
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
    let rows: Vec<Row> = deals.into_iter().map(|i| i.row).collect();
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
                                crate::base::money::in_table(v, Some(&r.currency), &cfg.currency)
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
                    output::table_width(a.wide.wide)
                )
            );
        }
    }
    Ok(0)
}
