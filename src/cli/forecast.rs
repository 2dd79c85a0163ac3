//! `deal forecast [--by month|quarter] [--periods N] [--owner O]
//! [--format table|json|csv]`: what will close when, read like a forecast
//! sheet: one row per period, totals, then the past-due deals named with
//! their owners.

use crate::base::error::Error;
use crate::cli::args::{ForecastArgs, TableFormat};
use crate::cli::ctx::Ctx;
use crate::cli::ctx::warn_unreadable;
use crate::cli::output;
use crate::cli::output::number;
use crate::model::deal::Deal;
use crate::reports::board::money;
use crate::reports::forecast::Forecast;
use crate::store::pipeline::Pipeline;

pub fn run(ctx: &Ctx, a: ForecastArgs) -> Result<i32, Error> {
    let p = Pipeline::open(&ctx.start)?;
    ctx.trace_pipeline(&p, "work tree");
    if let Some(o) = &a.owner {
        crate::rules::transition::check_member(&p.cfg, o, "--owner")?;
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
        &rows,
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
    let find = |slug: &str| -> Option<&Deal> { p.deals.iter().find(|d| d.slug == slug) };
    let owner = |d: Option<&Deal>| {
        d.and_then(|d| d.fields.owner.clone())
            .unwrap_or_else(|| "(no owner)".into())
    };
    out.push('\n');
    if f.past_due.count == 0 {
        out.push_str("Past due: none.\n");
    } else {
        let others: usize = f.past_due.other_currencies.values().map(|o| o.count).sum();
        out.push_str(&format!(
            "Past due: {} deal{}, {} {cur}{} (expected_close before today; set a new date or close them):\n",
            f.past_due.count,
            if f.past_due.count == 1 { "" } else { "s" },
            money(f.past_due.value),
            if others > 0 {
                format!(" ({others} in other currencies, not in the total)")
            } else {
                String::new()
            }
        ));
        let rows: Vec<Vec<String>> = f
            .past_due
            .deals
            .iter()
            .map(|s| {
                let d = find(s);
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
    }
    if f.no_close_date.count > 0 {
        let names: Vec<String> = f
            .no_close_date
            .deals
            .iter()
            .map(|s| {
                format!(
                    "{} ({})",
                    crate::base::diag::escape(s),
                    crate::base::diag::escape(&owner(find(s)))
                )
            })
            .collect();
        let others: usize = f
            .no_close_date
            .other_currencies
            .values()
            .map(|o| o.count)
            .sum();
        out.push_str(&format!(
            "No close date: {} deal{}, {} {cur}{}: {}\n",
            f.no_close_date.count,
            if f.no_close_date.count == 1 { "" } else { "s" },
            money(f.no_close_date.value),
            if others > 0 {
                format!(" ({others} in other currencies, not in the total)")
            } else {
                String::new()
            },
            names.join(", ")
        ));
    }
    out
}
