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
use crate::reports::trend::Snapshot;
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
    let axis = Axis::of(snaps);
    let max_value = snaps
        .iter()
        .filter_map(|s| s.open_value)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let max_open = snaps
        .iter()
        .filter_map(|s| s.open)
        .max()
        .unwrap_or(0)
        .max(1);
    TrendView {
        every: t.every.as_str(),
        any: snaps.iter().any(|s| s.commit.is_some()),
        first: snaps.first().map(|s| end_label(&s.end)).unwrap_or_default(),
        last: snaps.last().map(|s| end_label(&s.end)).unwrap_or_default(),
        max_value: money(max_value),
        max_open,
        open_line: value_line(snaps, &axis.xs, max_value, |s| s.open_value),
        weighted_line: value_line(snaps, &axis.xs, max_value, |s| s.weighted),
        stage_names: stage_names.iter().map(|(_, n)| n.clone()).collect(),
        areas: stage_areas(snaps, &axis.xs, stage_names, max_open),
        rules: rules(t, &axis),
        rows: snaps.iter().map(|s| trend_row(s, stage_names)).collect(),
    }
}

/// Where the snapshots sit across the chart: by their end times, the
/// first at 0 and the last at 100.
struct Axis {
    /// The first snapshot's end, in seconds.
    t0: i64,
    /// Seconds from the first end to the last (at least one).
    span: f64,
    /// Each snapshot's x; a lone snapshot sits in the middle.
    xs: Vec<f64>,
}

impl Axis {
    /// The axis of `snaps`, spread by their end times.
    fn of(snaps: &[Snapshot]) -> Axis {
        let times: Vec<i64> = snaps
            .iter()
            .map(|s| parse(&s.end).map_or(0, |d| d.timestamp()))
            .collect();
        let (t0, t1) = (
            times.first().copied().unwrap_or(0),
            times.last().copied().unwrap_or(0),
        );
        let mut axis = Axis {
            t0,
            span: (t1 - t0).max(1) as f64,
            xs: Vec::new(),
        };
        axis.xs = times
            .iter()
            .map(|t| if snaps.len() == 1 { 50.0 } else { axis.x(*t) })
            .collect();
        axis
    }

    /// The x of moment `at` (seconds).
    fn x(&self, at: i64) -> f64 {
        (at - self.t0) as f64 / self.span * 100.0
    }
}

/// A line's points (`x,y x,y …`) through the snapshots where `get` has a
/// value, `max_value` at the top; a snapshot without one is skipped.
fn value_line(
    snaps: &[Snapshot],
    xs: &[f64],
    max_value: f64,
    get: impl Fn(&Snapshot) -> Option<f64>,
) -> String {
    snaps
        .iter()
        .zip(xs)
        .filter_map(|(s, x)| {
            get(s).map(|v| format!("{},{}", c(*x), c(100.0 - v / max_value * 100.0)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stacked areas of open deals by stage: each stage's band sits on the
/// ones before it, `max_open` at the top; a stage never open has none.
fn stage_areas(
    snaps: &[Snapshot],
    xs: &[f64],
    stage_names: &[(String, String)],
    max_open: usize,
) -> Vec<Area> {
    let present: Vec<(f64, &Snapshot)> = xs
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
    areas
}

/// A numbered rule for each criteria change, where its date falls.
fn rules(t: &Trend, axis: &Axis) -> Vec<Rule> {
    t.criteria_changes
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let at = parse(&ch.date).map_or(axis.t0, |d| d.timestamp());
            Rule {
                n: i + 1,
                x: c(axis.x(at)),
                date: ch.date.get(..10).unwrap_or(&ch.date).to_string(),
                commit: ch.commit.get(..7).unwrap_or(&ch.commit).to_string(),
                summary: ch.summary.clone(),
            }
        })
        .collect()
}

/// A snapshot's row of the table: `–` for each null figure.
fn trend_row(s: &Snapshot, stage_names: &[(String, String)]) -> TrendRow {
    let cell = |x: Option<String>| x.unwrap_or_else(|| "–".into());
    TrendRow {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::trend::{Every, StageFigure};

    /// A snapshot ending at `end`, with its open value and open deals per
    /// stage when it has figures.
    fn snap(end: &str, figures: Option<(f64, &[(&str, usize)])>) -> Snapshot {
        let stages = figures.map(|(_, st)| {
            st.iter()
                .map(|(id, open)| {
                    let f = StageFigure {
                        open: *open,
                        value: 0.0,
                    };
                    (id.to_string(), f)
                })
                .collect()
        });
        Snapshot {
            start: String::new(),
            end: end.into(),
            commit: figures.map(|_| "0123456789abcdef".into()),
            open: figures.map(|(_, st)| st.iter().map(|(_, n)| n).sum()),
            open_value: figures.map(|(v, _)| v),
            weighted: figures.map(|(v, _)| v / 2.0),
            stages,
            new: None,
            won: None,
            won_value: None,
            lost: None,
            lost_value: None,
        }
    }

    #[test]
    fn coordinates_are_clamped_to_the_box_with_two_decimals() {
        assert_eq!(c(33.333), "33.33");
        assert_eq!(c(-4.0), "0.00");
        assert_eq!(c(250.0), "100.00");
        assert_eq!(c(f64::NAN), "0.00");
    }

    #[test]
    fn a_period_end_at_midnight_is_labelled_by_its_date_alone() {
        assert_eq!(end_label("2026-11-23T00:00:00Z"), "2026-11-23");
        assert_eq!(end_label("2026-11-27T12:30:00Z"), "2026-11-27 12:30");
        assert_eq!(end_label("not a time"), "not a time");
    }

    #[test]
    fn snapshots_sit_by_their_end_times_and_a_lone_one_in_the_middle() {
        let snaps = [
            snap("2026-11-01T00:00:00Z", None),
            snap("2026-11-02T00:00:00Z", None),
            snap("2026-11-05T00:00:00Z", None),
        ];
        let axis = Axis::of(&snaps);
        assert_eq!(axis.xs, vec![0.0, 25.0, 100.0]);
        assert_eq!(axis.x(axis.t0 + 2 * 86_400), 50.0);
        assert_eq!(Axis::of(&snaps[1..2]).xs, vec![50.0]);
    }

    #[test]
    fn a_value_line_skips_snapshots_without_figures_and_puts_the_top_value_at_zero() {
        let snaps = [
            snap("2026-11-01T00:00:00Z", Some((200.0, &[]))),
            snap("2026-11-02T00:00:00Z", None),
            snap("2026-11-03T00:00:00Z", Some((50.0, &[]))),
        ];
        let xs = [0.0, 50.0, 100.0];
        assert_eq!(
            value_line(&snaps, &xs, 200.0, |s| s.open_value),
            "0.00,0.00 100.00,75.00"
        );
        assert_eq!(
            value_line(&snaps, &xs, 200.0, |s| s.weighted),
            "0.00,50.00 100.00,87.50"
        );
    }

    #[test]
    fn stage_areas_stack_each_band_on_the_ones_before() {
        let snaps = [
            snap("2026-11-01T00:00:00Z", Some((0.0, &[("a", 1), ("b", 1)]))),
            snap("2026-11-02T00:00:00Z", Some((0.0, &[("a", 2), ("b", 2)]))),
        ];
        let names: Vec<(String, String)> = ["a", "b", "never"]
            .iter()
            .map(|id| (id.to_string(), id.to_uppercase()))
            .collect();
        let areas = stage_areas(&snaps, &[0.0, 100.0], &names, 4);
        let got: Vec<(&str, &str, &str)> = areas
            .iter()
            .map(|a| (a.class.as_str(), a.name.as_str(), a.points.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                // Top edge forwards, then the bottom edge back.
                (
                    "s0",
                    "A",
                    "0.00,75.00 100.00,50.00 100.00,100.00 0.00,100.00"
                ),
                ("s1", "B", "0.00,50.00 100.00,0.00 100.00,50.00 0.00,75.00"),
            ]
        );
    }

    #[test]
    fn a_criteria_change_is_ruled_where_its_date_falls() {
        let t = Trend {
            every: Every::Week,
            snapshots: vec![
                snap("2026-11-01T00:00:00Z", None),
                snap("2026-11-05T00:00:00Z", None),
            ],
            criteria_changes: vec![crate::reports::trend::CriteriaChange {
                commit: "fedcba9876543210".into(),
                date: "2026-11-04T00:00:00Z".into(),
                summary: "Stricter proposal".into(),
            }],
            unreadable: Vec::new(),
            history_cut: None,
            problems: Vec::new(),
        };
        let v = trend(&t, &[]);
        let r = &v.rules[0];
        let got = (r.n, r.x.as_str(), r.date.as_str(), r.commit.as_str());
        assert_eq!(got, (1, "75.00", "2026-11-04", "fedcba9"));
        assert!(!v.any);
        assert_eq!(
            (v.first.as_str(), v.last.as_str()),
            ("2026-11-01", "2026-11-05")
        );
        assert_eq!(v.rows[0].open, "–");
    }
}
