//! `deal forecast [--by month|quarter] [--periods N] [--owner O]
//! [--format table|json|csv]`: what will close when, read like a forecast
//! sheet: one row per period, totals, then the past-due deals named with
//! their owners.

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::ctx::warn_unreadable;
use crate::cli::flags::{TableFormat, WideFlag};
use crate::cli::output;
use crate::cli::output::number;
use crate::model::deal::Deal;
use crate::reports::board::money;
use crate::reports::forecast::Forecast;
use crate::store::pipeline::Pipeline;

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Period length
    #[arg(long, value_enum, default_value_t = crate::reports::forecast::By::Month)]
    pub by: crate::reports::forecast::By,
    /// How many periods, from the current one
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=120))]
    pub periods: u16,
    /// Only this owner's deals
    #[arg(long, add = ArgValueCandidates::new(crate::cli::complete::handles))]
    pub owner: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    #[command(flatten)]
    pub wide: WideFlag,
}

pub fn run(ctx: &Ctx, a: ForecastArgs) -> Result<i32, Error> {
    let p = Pipeline::open(&ctx.start)?;
    ctx.trace_pipeline(&p, "work tree");
    if let Some(o) = &a.owner {
        crate::model::fields::check_member(&p.cfg, o, "--owner")?;
    }
    let mut f = Forecast::compute(
        &p.cfg,
        &p.deals,
        ctx.now,
        a.by,
        a.periods as usize,
        a.owner.as_deref(),
    );
    let unreadable = crate::reports::forecast::unreadable(&p);
    warn_unreadable(&unreadable);
    match a.format {
        TableFormat::Json => {
            f.unreadable = Some(unreadable);
            println!(
                "{}",
                serde_json::to_string_pretty(&f).unwrap_or_else(|_| "{}".into())
            );
        }
        TableFormat::Csv => print!("{}", csv(&f)),
        TableFormat::Table => print!("{}", table(&p, &f, output::table_width(a.wide.wide))),
    }
    Ok(0)
}

fn csv(f: &Forecast) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "period",
        "start",
        "end",
        "won",
        "commit",
        "best_case",
        "pipeline",
        "weighted",
        "count",
        "value",
        "deals",
    ]);
    for p in &f.periods {
        let _ = w.write_record([
            p.label.clone(),
            p.start.clone(),
            p.end.clone(),
            number(p.won),
            number(p.commit),
            number(p.best_case),
            number(p.pipeline),
            number(p.weighted),
            p.deals.len().to_string(),
            number(p.commit + p.best_case + p.pipeline),
            p.deals.join(" "),
        ]);
    }
    for (label, b) in [
        ("past_due", &f.past_due),
        ("no_close_date", &f.no_close_date),
    ] {
        let mut row = vec![String::new(); 11];
        row[0] = label.into();
        row[8] = b.count.to_string();
        row[9] = number(b.value);
        row[10] = b.deals.join(" ");
        let _ = w.write_record(row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn table(p: &Pipeline, f: &Forecast, width: usize) -> String {
    let cur = &f.currency;
    let mut out = format!(
        "Forecast by {}, in {cur}, as of {} (open deals by expected_close; won by date won)\n\n",
        f.by.as_str(),
        f.as_of
    );
    out.push_str(&output::table(
        &[
            "PERIOD",
            "WON",
            "COMMIT",
            "BEST CASE",
            "PIPELINE",
            "WEIGHTED",
            "DEALS",
        ],
        &period_rows(f),
        width,
    ));
    // What the totals leave out, said (docs/reference.md, "Money").
    let left = f.left_out();
    if !left.is_empty() {
        out.push_str(&format!(
            "Not in these totals (other currencies): {}.\n",
            left.join("; ")
        ));
    }
    out.push('\n');
    out.push_str(&past_due(&p.deals, f, width));
    out.push_str(&no_close_date(&p.deals, f));
    out
}

/// One row per period and a `TOTAL` row: the figures, then how many deals.
fn period_rows(f: &Forecast) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = f
        .periods
        .iter()
        .map(|x| {
            vec![
                x.label.clone(),
                money(x.won),
                money(x.commit),
                money(x.best_case),
                money(x.pipeline),
                money(x.weighted),
                x.deals.len().to_string(),
            ]
        })
        .collect();
    let sum =
        |g: fn(&crate::reports::forecast::Period) -> f64| f.periods.iter().map(g).sum::<f64>();
    rows.push(vec![
        "TOTAL".into(),
        money(sum(|x| x.won)),
        money(sum(|x| x.commit)),
        money(sum(|x| x.best_case)),
        money(sum(|x| x.pipeline)),
        money(sum(|x| x.weighted)),
        f.periods
            .iter()
            .map(|x| x.deals.len())
            .sum::<usize>()
            .to_string(),
    ]);
    rows
}

/// The deal of `slug` among `deals`.
fn find<'a>(deals: &'a [Deal], slug: &str) -> Option<&'a Deal> {
    deals.iter().find(|d| d.slug == slug)
}

/// The owner of a deal, or `(no owner)`.
fn owner(d: Option<&Deal>) -> String {
    d.and_then(|d| d.fields.owner.clone())
        .unwrap_or_else(|| "(no owner)".into())
}

/// ` (N in other currencies, not in the total)`, or nothing.
fn others_note(others: usize) -> String {
    if others > 0 {
        format!(" ({others} in other currencies, not in the total)")
    } else {
        String::new()
    }
}

/// The past-due deals: a line with their count and value, then a table
/// naming each with its owner, date, value and the command that fixes it.
fn past_due(deals: &[Deal], f: &Forecast, width: usize) -> String {
    let cur = &f.currency;
    if f.past_due.count == 0 {
        return "Past due: none.\n".into();
    }
    let others: usize = f.past_due.other_currencies.values().map(|o| o.count).sum();
    let mut out = format!(
        "Past due: {} deal{}, {} {cur}{} (expected_close before today; set a new date or close them):\n",
        f.past_due.count,
        if f.past_due.count == 1 { "" } else { "s" },
        money(f.past_due.value),
        others_note(others)
    );
    let rows: Vec<Vec<String>> = f
        .past_due
        .deals
        .iter()
        .map(|s| {
            let d = find(deals, s);
            vec![
                s.clone(),
                owner(d),
                d.and_then(|d| d.fields.expected_close)
                    .map(crate::base::time::format_date)
                    .unwrap_or_default(),
                d.and_then(|d| {
                    let v = d.fields.value?;
                    Some(crate::base::money::in_table(
                        v,
                        d.fields.currency.as_deref(),
                        &f.currency,
                    ))
                })
                .unwrap_or_default(),
                format!("deal set {s} expected_close=YYYY-MM-DD"),
            ]
        })
        .collect();
    out.push_str(&output::table(
        &["DEAL", "OWNER", "EXPECTED", "VALUE", "FIX"],
        &rows,
        width,
    ));
    out
}

/// The deals with no close date, named with their owners on one line
/// (nothing when there are none).
fn no_close_date(deals: &[Deal], f: &Forecast) -> String {
    if f.no_close_date.count == 0 {
        return String::new();
    }
    let names: Vec<String> = f
        .no_close_date
        .deals
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                crate::base::diag::escape(s),
                crate::base::diag::escape(&owner(find(deals, s)))
            )
        })
        .collect();
    let others: usize = f
        .no_close_date
        .other_currencies
        .values()
        .map(|o| o.count)
        .sum();
    format!(
        "No close date: {} deal{}, {} {}{}: {}\n",
        f.no_close_date.count,
        if f.no_close_date.count == 1 { "" } else { "s" },
        money(f.no_close_date.value),
        f.currency,
        others_note(others),
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::forecast::{Bucket, By, Period};

    fn period(label: &str, won: f64, commit: f64, deals: &[&str]) -> Period {
        Period {
            label: label.into(),
            start: String::new(),
            end: String::new(),
            won,
            commit,
            best_case: 0.0,
            pipeline: 1000.0,
            weighted: 250.5,
            deals: deals.iter().map(|s| s.to_string()).collect(),
            other_currencies: Default::default(),
        }
    }

    fn forecast(periods: Vec<Period>) -> Forecast {
        Forecast {
            currency: "EUR".into(),
            as_of: "2026-03-10".into(),
            by: By::Month,
            periods,
            past_due: Bucket::default(),
            no_close_date: Bucket::default(),
            unreadable: None,
        }
    }

    #[test]
    fn period_rows_end_with_a_total_of_every_column() {
        let f = forecast(vec![
            period("2026-03", 12000.0, 5000.0, &["a", "b"]),
            period("2026-04", 0.0, 48000.0, &["c"]),
        ]);
        let rows = period_rows(&f);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            ["2026-03", "12,000", "5,000", "0", "1,000", "250.50", "2"]
        );
        assert_eq!(
            rows[2],
            ["TOTAL", "12,000", "53,000", "0", "2,000", "501", "3"]
        );
    }

    #[test]
    fn no_past_due_deals_say_none_and_no_missing_dates_say_nothing() {
        let f = forecast(vec![]);
        assert_eq!(past_due(&[], &f, 100), "Past due: none.\n");
        assert_eq!(no_close_date(&[], &f), "");
        assert_eq!(
            period_rows(&f),
            vec![["TOTAL", "0", "0", "0", "0", "0", "0"]]
        );
    }

    #[test]
    fn deals_without_a_close_date_are_named_with_their_owners() {
        let mut f = forecast(vec![]);
        f.no_close_date = Bucket {
            count: 2,
            value: 7500.0,
            deals: vec!["acme".into(), "globex".into()],
            other_currencies: [(
                "USD".to_string(),
                crate::reports::forecast::OtherBucket {
                    count: 1,
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
        };
        assert_eq!(
            no_close_date(&[], &f),
            "No close date: 2 deals, 7,500 EUR (1 in other currencies, not in the total): acme ((no owner)), globex ((no owner))\n"
        );
    }
}
