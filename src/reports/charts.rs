//! The report's Forecast and Trends charts as data for the templates: bar
//! segments and line points in a 0–100 coordinate box, which the SVG
//! stretches to its width (`preserveAspectRatio="none"`, strokes that do not
//! scale). No text is ever drawn inside a scaled SVG: labels are HTML, so
//! they keep their CSS size (12 px or more) at any width, in print and on a
//! phone. Every number is also in a table.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::deal::Deal;
use crate::reports::board::money;
use crate::reports::forecast::Forecast;
use crate::reports::trend::Trend;

/// Two decimals are enough for a 0–100 box; fixed text keeps the report
/// byte-identical.
fn c(x: f64) -> String {
    let x = if x.is_finite() {
        x.clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!("{x:.2}")
}

#[derive(Debug, Serialize)]
pub struct Seg {
    /// CSS class: `won`, `commit`, `best`, `pipe`.
    pub class: &'static str,
    pub x: String,
    pub w: String,
}

#[derive(Debug, Serialize)]
pub struct ForecastRow {
    pub label: String,
    pub start: String,
    pub end: String,
    pub won: String,
    pub commit: String,
    pub best_case: String,
    pub pipeline: String,
    pub weighted: String,
    pub deals: usize,
    pub segs: Vec<Seg>,
    /// One line for people and screen readers.
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct DueDeal {
    pub slug: String,
    pub name: String,
    pub owner: String,
    pub date: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct ForecastView {
    pub by: &'static str,
    pub rows: Vec<ForecastRow>,
    pub past_due: Vec<DueDeal>,
    pub past_due_value: String,
    /// Past-due deals in other currencies: listed, not in the value.
    pub past_due_others: usize,
    pub no_close_date: usize,
    pub no_close_date_value: String,
    pub no_close_date_others: usize,
    /// What the periods' totals leave out ([`Forecast::left_out`]).
    pub left_out: Vec<String>,
}

pub fn forecast(f: &Forecast, deals: &[Deal]) -> ForecastView {
    let max = f
        .periods
        .iter()
        .map(|p| p.won + p.commit + p.best_case + p.pipeline)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let rows = f
        .periods
        .iter()
        .map(|p| {
            let mut x = 0.0;
            let mut segs = Vec::new();
            for (class, v) in [
                ("won", p.won),
                ("commit", p.commit),
                ("best", p.best_case),
                ("pipe", p.pipeline),
            ] {
                if v > 0.0 {
                    let w = v / max * 100.0;
                    segs.push(Seg {
                        class,
                        x: c(x),
                        w: c(w),
                    });
                    x += w;
                }
            }
            ForecastRow {
                label: p.label.clone(),
                start: p.start.clone(),
                end: p.end.clone(),
                won: money(p.won),
                commit: money(p.commit),
                best_case: money(p.best_case),
                pipeline: money(p.pipeline),
                weighted: money(p.weighted),
                deals: p.deals.len(),
                segs,
                summary: format!(
                    "won {}, commit {}, best case {}, pipeline {}",
                    money(p.won),
                    money(p.commit),
                    money(p.best_case),
                    money(p.pipeline)
                ),
            }
        })
        .collect();
    let past_due = f
        .past_due
        .deals
        .iter()
        .filter_map(|s| deals.iter().find(|d| &d.slug == s))
        .map(|d| DueDeal {
            slug: d.slug.clone(),
            name: d.name().to_string(),
            owner: d.fields.owner.clone().unwrap_or_default(),
            date: d
                .fields
                .expected_close
                .map(crate::base::time::format_date)
                .unwrap_or_default(),
            value: d
                .fields
                .value
                .map(|v| crate::base::money::in_table(v, d.fields.currency.as_deref(), &f.currency))
                .unwrap_or_default(),
        })
        .collect();
    let others =
        |b: &crate::reports::forecast::Bucket| b.other_currencies.values().map(|o| o.count).sum();
    ForecastView {
        by: f.by.as_str(),
        rows,
        past_due,
        past_due_value: money(f.past_due.value),
        past_due_others: others(&f.past_due),
        no_close_date: f.no_close_date.count,
        no_close_date_value: money(f.no_close_date.value),
        no_close_date_others: others(&f.no_close_date),
        left_out: f.left_out(),
    }
}

#[derive(Debug, Serialize)]
pub struct Area {
    pub class: String,
    pub name: String,
    pub points: String,
}

#[derive(Debug, Serialize)]
pub struct Rule {
    pub n: usize,
    pub x: String,
    pub date: String,
    pub commit: String,
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct TrendRow {
    pub end: String,
    pub commit: String,
    pub open: String,
    pub open_value: String,
    pub weighted: String,
    pub new: String,
    pub won: String,
    pub lost: String,
    pub stages: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TrendView {
    pub every: &'static str,
    /// Whether any snapshot has figures.
    pub any: bool,
    pub first: String,
    pub last: String,
    pub max_value: String,
    pub max_open: usize,
    pub open_line: String,
    pub weighted_line: String,
    pub stage_names: Vec<String>,
    pub areas: Vec<Area>,
    pub rules: Vec<Rule>,
    pub rows: Vec<TrendRow>,
}

fn parse(s: &str) -> Option<DateTime<Utc>> {
    crate::base::time::parse_timestamp(s)
}

/// `2026-11-23` for a period end at midnight, else the date and time.
fn end_label(s: &str) -> String {
    match parse(s) {
        Some(t) if t.format("%H:%M:%S").to_string() == "00:00:00" => {
            t.format("%Y-%m-%d").to_string()
        }
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => s.to_string(),
    }
}

pub fn trend(t: &Trend, stage_names: &[(String, String)]) -> TrendView {
    let snaps = &t.snapshots;
    let times: Vec<i64> = snaps
        .iter()
        .map(|s| parse(&s.end).map_or(0, |d| d.timestamp()))
        .collect();
    let (t0, t1) = (
        times.first().copied().unwrap_or(0),
        times.last().copied().unwrap_or(0),
    );
    let span = (t1 - t0).max(1) as f64;
    let xs: Vec<f64> = times
        .iter()
        .map(|t| {
            if snaps.len() == 1 {
                50.0
            } else {
                (*t - t0) as f64 / span * 100.0
            }
        })
        .collect();
    let max_value = snaps
        .iter()
        .filter_map(|s| s.open_value)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let line = |get: &dyn Fn(&crate::reports::trend::Snapshot) -> Option<f64>| -> String {
        snaps
            .iter()
            .zip(&xs)
            .filter_map(|(s, x)| {
                get(s).map(|v| format!("{},{}", c(*x), c(100.0 - v / max_value * 100.0)))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let open_line = line(&|s| s.open_value);
    let weighted_line = line(&|s| s.weighted);
    let max_open = snaps
        .iter()
        .filter_map(|s| s.open)
        .max()
        .unwrap_or(0)
        .max(1);
    // Stacked areas: each stage's band sits on the ones before it.
    let present: Vec<(f64, &crate::reports::trend::Snapshot)> = xs
        .iter()
        .copied()
        .zip(snaps.iter())
        .filter(|(_, s)| s.stages.is_some())
        .collect();
    let mut below = vec![0usize; present.len()];
    let mut areas = Vec::new();
    for (i, (id, name)) in stage_names.iter().enumerate() {
        let counts: Vec<usize> = present
            .iter()
            .map(|(_, s)| {
                s.stages
                    .as_ref()
                    .and_then(|m| m.get(id))
                    .map_or(0, |f| f.open)
            })
            .collect();
        if counts.iter().all(|n| *n == 0) {
            continue;
        }
        let y = |n: usize| c(100.0 - n as f64 / max_open as f64 * 100.0);
        let mut pts: Vec<String> = present
            .iter()
            .zip(&below)
            .zip(&counts)
            .map(|(((x, _), b), n)| format!("{},{}", c(*x), y(b + n)))
            .collect();
        for ((x, _), b) in present.iter().zip(&below).rev() {
            pts.push(format!("{},{}", c(*x), y(*b)));
        }
        for (b, n) in below.iter_mut().zip(&counts) {
            *b += n;
        }
        areas.push(Area {
            class: format!("s{}", i % 8),
            name: name.clone(),
            points: pts.join(" "),
        });
    }
    let rules = t
        .criteria_changes
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let at = parse(&ch.date).map_or(t0, |d| d.timestamp());
            Rule {
                n: i + 1,
                x: c((at - t0) as f64 / span * 100.0),
                date: ch.date.get(..10).unwrap_or(&ch.date).to_string(),
                commit: ch.commit.get(..7).unwrap_or(&ch.commit).to_string(),
                summary: ch.summary.clone(),
            }
        })
        .collect();
    let cell = |x: Option<String>| x.unwrap_or_else(|| "–".into());
    let rows = snaps
        .iter()
        .map(|s| TrendRow {
            end: end_label(&s.end),
            commit: cell(
                s.commit
                    .as_ref()
                    .map(|c| c.get(..7).unwrap_or(c).to_string()),
            ),
            open: cell(s.open.map(|x| x.to_string())),
            open_value: cell(s.open_value.map(money)),
            weighted: cell(s.weighted.map(money)),
            new: cell(s.new.map(|x| x.to_string())),
            won: cell(s.won.map(|x| x.to_string())),
            lost: cell(s.lost.map(|x| x.to_string())),
            stages: stage_names
                .iter()
                .map(|(id, _)| {
                    cell(
                        s.stages
                            .as_ref()
                            .map(|m| m.get(id).map_or(0, |f| f.open).to_string()),
                    )
                })
                .collect(),
        })
        .collect();
    TrendView {
        every: t.every.as_str(),
        any: snaps.iter().any(|s| s.commit.is_some()),
        first: snaps.first().map(|s| end_label(&s.end)).unwrap_or_default(),
        last: snaps.last().map(|s| end_label(&s.end)).unwrap_or_default(),
        max_value: money(max_value),
        max_open,
        open_line,
        weighted_line,
        stage_names: stage_names.iter().map(|(_, n)| n.clone()).collect(),
        areas,
        rules,
        rows,
    }
}
