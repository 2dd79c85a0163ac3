//! `deal list`: one row per deal.

use clap::{Args, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::WideFlag;
use crate::cli::output;
use crate::model::deal::Place;
use crate::reports::board::Row;
use crate::rules::criteria::Evaluator;
use crate::store::pipeline::Pipeline;
use crate::yaml::mapping::{lookup, scalar_text};

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only deals in this stage (a stage id, `won` or `lost`)
    #[arg(long, add = ArgValueCandidates::new(crate::cli::complete::stages))]
    pub stage: Option<String>,
    /// Only deals owned by this team handle
    #[arg(long, add = ArgValueCandidates::new(crate::cli::complete::handles))]
    pub owner: Option<String>,
    /// Only deals idle past their stage's rot_after_days
    #[arg(long)]
    pub rotting: bool,
    /// Sort by slug, stage, owner, value, days, criteria, due, or any front-matter field
    #[arg(long, default_value = "stage")]
    pub sort: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    #[command(flatten)]
    pub wide: WideFlag,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
}

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
    let stage = filters(cfg, &a)?;
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
    deals.sort_by(|x, y| compare(key, x, y));
    let rows: Vec<Row> = deals.into_iter().map(|i| i.row).collect();
    print_rows(ctx, &a, cfg, &rows);
    Ok(0)
}

/// The `--stage` to keep (None for all), after checking it and `--owner`
/// against pipeline.yaml.
fn filters(cfg: &crate::model::config::Config, a: &ListArgs) -> Result<Option<Place>, Error> {
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
    Ok(stage)
}

/// The order of two listed deals by the `--sort` key, the slug breaking
/// ties: value and days largest first, deals without a due date last, and
/// a front-matter field as numbers (largest first) or else as text, the
/// deals without it last.
fn compare(key: &str, x: &Item, y: &Item) -> std::cmp::Ordering {
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
}

/// Prints the rows in the `--format` asked for.
fn print_rows(ctx: &Ctx, a: &ListArgs, cfg: &crate::model::config::Config, rows: &[Row]) {
    match a.format {
        ListFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
        }
        ListFormat::Csv => {
            for line in csv_lines(rows) {
                println!("{line}");
            }
        }
        ListFormat::Table => {
            if rows.is_empty() {
                if !ctx.quiet {
                    println!("no deals match");
                }
                return;
            }
            print!(
                "{}",
                output::table(
                    &[
                        "SLUG", "STAGE", "OWNER", "VALUE", "DAYS", "CRITERIA", "NEXT DUE"
                    ],
                    &table_body(rows, &cfg.currency),
                    output::table_width(a.wide.wide)
                )
            );
        }
    }
}

/// `--format csv`: the header line, then one line per row, a cell with a
/// comma, quote or line break quoted.
fn csv_lines(rows: &[Row]) -> Vec<String> {
    let mut out = vec![
        "slug,stage,owner,value,currency,days_in_stage,criteria,next_step_due,rotting,overdue,path"
            .to_string(),
    ];
    for r in rows {
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
        out.push(esc.join(","));
    }
    out
}

/// The table's cells: `-` for what a deal lacks, `rotting` and `overdue`
/// said beside the days and the due date, values in the pipeline's
/// `currency` shown bare.
fn table_body(rows: &[Row], currency: &str) -> Vec<Vec<String>> {
    rows.iter()
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
                    .map(|v| crate::base::money::in_table(v, Some(&r.currency), currency))
                    .unwrap_or_else(|| "-".into()),
                days,
                r.criteria_text(),
                due,
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(slug: &str, value: Option<i64>, due: Option<&str>, sort: Option<&str>) -> Item {
        Item {
            ordinal: 0,
            row: Row {
                slug: slug.into(),
                title: slug.into(),
                company: None,
                stage: "outreach".into(),
                owner: "bob".into(),
                value: value.map(crate::base::money::Amount::from),
                currency: "EUR".into(),
                days_in_stage: Some(3.25),
                criteria_met: Some(1),
                criteria_total: Some(2),
                next_step: None,
                next_step_due: due.map(str::to_string),
                rotting: false,
                overdue: false,
                path: format!("deals/02-outreach/{slug}.md"),
            },
            sort: sort.map(|s| serde_yaml::from_str(s).unwrap()),
        }
    }

    fn sorted(key: &str, mut items: Vec<Item>) -> Vec<String> {
        items.sort_by(|x, y| compare(key, x, y));
        items.into_iter().map(|i| i.row.slug).collect()
    }

    #[test]
    fn value_sorts_largest_first_and_the_slug_breaks_ties() {
        let items = vec![
            item("c", Some(10), None, None),
            item("b", Some(500), None, None),
            item("a", Some(10), None, None),
            item("d", None, None, None),
        ];
        assert_eq!(sorted("value", items), ["b", "a", "c", "d"]);
    }

    #[test]
    fn due_sorts_soonest_first_and_undated_deals_last() {
        let items = vec![
            item("a", None, None, None),
            item("b", None, Some("2026-04-01"), None),
            item("c", None, Some("2026-03-01"), None),
        ];
        assert_eq!(sorted("due", items), ["c", "b", "a"]);
    }

    #[test]
    fn a_field_sorts_numbers_largest_first_and_deals_without_it_last() {
        let items = vec![
            item("a", None, None, None),
            item("b", None, None, Some("3")),
            item("c", None, None, Some("40")),
        ];
        assert_eq!(sorted("icp_score", items), ["c", "b", "a"]);
        let text = vec![
            item("a", None, None, None),
            item("b", None, None, Some("web")),
            item("c", None, None, Some("referral")),
        ];
        assert_eq!(sorted("source", text), ["c", "b", "a"]);
    }

    #[test]
    fn csv_quotes_a_cell_with_a_comma_or_a_quote() {
        let mut odd = item("acme", Some(1200), None, None).row;
        odd.owner = "Smith, \"J\"".into();
        let lines = csv_lines(&[odd]);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("slug,stage,owner,value,"));
        assert_eq!(
            lines[1],
            "acme,outreach,\"Smith, \"\"J\"\"\",1200,EUR,3.25,1/2,,false,false,deals/02-outreach/acme.md"
        );
    }

    #[test]
    fn the_table_says_rotting_and_overdue_beside_days_and_due() {
        let mut r = item("acme", None, Some("2026-03-01"), None).row;
        r.rotting = true;
        r.overdue = true;
        let mut usd = item("globex", Some(5000), None, None).row;
        usd.currency = "USD".into();
        let body = table_body(&[r, usd], "EUR");
        assert_eq!(
            body[0],
            [
                "acme",
                "outreach",
                "bob",
                "-",
                "3.2 rotting",
                "1/2",
                "2026-03-01 overdue"
            ]
        );
        assert_eq!(body[1][3], "5,000 USD");
        assert_eq!(body[1][6], "-");
    }
}
