//! The forecast by close date (docs/reference.md, "Forecast"): open deals grouped by
//! the month or quarter of `expected_close`, each period with its won value
//! and its commit, best-case and pipeline values.
//!
//! Definitions:
//! - A deal's **category** is its `forecast` field, else its stage's
//!   `forecast:`, else by the stage's probability: ≥ 0.7 `commit`, ≥ 0.4
//!   `best_case`, below `pipeline` ([`crate::model::config::Stage::category`]).
//! - **Periods** run from the current month (or quarter) on, for `periods`
//!   periods, in UTC: a period holds the days from its `start` to its `end`,
//!   both included. A deal whose close date is today is in the current period.
//! - `won`: the value of deals in `won` whose `stages.won` falls in the period.
//! - `commit`, `best_case`, `pipeline`: the value of open deals of that
//!   category whose `expected_close` falls in the period; `omitted` deals are
//!   left out; `deals` lists the slugs counted.
//! - `weighted`: Σ value × stage probability over the deals counted.
//! - `past_due`: open deals whose `expected_close` is before today, in no
//!   period; `no_close_date`: open deals without one. Both list every such
//!   deal, `omitted` ones included.
//! - Sums count only deals in the pipeline's currency (as `stats`); the
//!   others are left out and said so: a period's `deals` lists only the
//!   deals it counts, and `other_currencies` (per period, past due and no
//!   close date; absent when empty) gives, per currency, what was left out.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::base::money::Amount;
use crate::model::config::{Category, Config};
use crate::model::deal::{Deal, Place};
use crate::reports::stats::{in_currency, num};

/// How periods are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Month,
    Quarter,
}

impl By {
    pub fn as_str(self) -> &'static str {
        match self {
            By::Month => "month",
            By::Quarter => "quarter",
        }
    }

    fn months(self) -> u32 {
        match self {
            By::Month => 1,
            By::Quarter => 3,
        }
    }

    /// The first day of the period holding `d`.
    pub fn start_of(self, d: NaiveDate) -> NaiveDate {
        let m0 = (d.month0() / self.months()) * self.months();
        NaiveDate::from_ymd_opt(d.year(), m0 + 1, 1).unwrap_or(d)
    }

    /// The first day of the period after the one starting at `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        start
            .checked_add_months(chrono::Months::new(self.months()))
            .unwrap_or(NaiveDate::MAX)
    }

    /// `2026-11` or `2026-Q4`.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            By::Month => start.format("%Y-%m").to_string(),
            By::Quarter => format!("{}-Q{}", start.year(), start.month0() / 3 + 1),
        }
    }
}

/// One period of the forecast.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub label: String,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day (included), `YYYY-MM-DD`.
    pub end: String,
    #[serde(serialize_with = "num")]
    pub won: f64,
    #[serde(serialize_with = "num")]
    pub commit: f64,
    #[serde(serialize_with = "num")]
    pub best_case: f64,
    #[serde(serialize_with = "num")]
    pub pipeline: f64,
    #[serde(serialize_with = "num")]
    pub weighted: f64,
    /// The open deals counted, by slug.
    pub deals: Vec<String>,
    /// Deals in other currencies, left out of the figures above.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub other_currencies: BTreeMap<String, OtherPeriod>,
}

/// A period's deals in one other currency: won value, open value (the
/// deals the period's categories would count), and those open deals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OtherPeriod {
    #[serde(serialize_with = "crate::base::money::serialize")]
    pub won: Amount,
    #[serde(serialize_with = "crate::base::money::serialize")]
    pub open: Amount,
    pub deals: Vec<String>,
}

/// A bucket's deals in one other currency, left out of its value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OtherBucket {
    pub count: usize,
    #[serde(serialize_with = "crate::base::money::serialize")]
    pub value: Amount,
    pub deals: Vec<String>,
}

/// A list of deals outside the periods: count, value, slugs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bucket {
    pub count: usize,
    #[serde(serialize_with = "num")]
    pub value: f64,
    pub deals: Vec<String>,
    /// Deals in other currencies: in `count` and `deals`, not in `value`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub other_currencies: BTreeMap<String, OtherBucket>,
}

impl Bucket {
    fn add(&mut self, d: &Deal, value: f64, other: Option<(String, Amount)>) {
        self.count += 1;
        self.value += value;
        self.deals.push(d.slug.clone());
        if let Some((c, v)) = other {
            let o = self.other_currencies.entry(c).or_default();
            o.count += 1;
            o.value += v;
            o.deals.push(d.slug.clone());
        }
    }
}

/// A file that could not be read as a deal (docs/safety.md, "Nothing vanishes silently").
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// The forecast: `deal forecast --format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    pub currency: String,
    /// Today, `YYYY-MM-DD` (UTC).
    pub as_of: String,
    pub by: By,
    pub periods: Vec<Period>,
    pub past_due: Bucket,
    pub no_close_date: Bucket,
    /// Set by the command; absent inside `stats`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<Vec<Unreadable>>,
}

/// The files of `p` that could not be read as deals, as JSON objects list them.
pub fn unreadable(p: &crate::store::pipeline::Pipeline) -> Vec<Unreadable> {
    unreadable_of(&p.cfg, &p.problems)
}

/// [`unreadable`] of a list of file problems.
pub fn unreadable_of(
    cfg: &crate::model::config::Config,
    problems: &[crate::store::pipeline::FileProblem],
) -> Vec<Unreadable> {
    problems
        .iter()
        .map(|fp| {
            let f = crate::rules::check::problem_finding(fp, cfg);
            Unreadable {
                path: f.path.to_string_lossy().replace('\\', "/"),
                line: f.line,
                message: f.message,
            }
        })
        .collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Forecast {
    /// What the periods' totals leave out, one phrase per period and other
    /// currency (`2026-11: 99,999 USD open (yankee)`, `2026-12: 5,000 USD
    /// won`), for the table and the report to say.
    pub fn left_out(&self) -> Vec<String> {
        let mut left = Vec::new();
        for x in &self.periods {
            for (c, o) in &x.other_currencies {
                let shown = |v| crate::base::money::format(v, crate::base::money::minor_unit(c));
                if !o.won.is_zero() {
                    left.push(format!("{}: {} {c} won", x.label, shown(o.won)));
                }
                if !o.deals.is_empty() {
                    left.push(format!(
                        "{}: {} {c} open ({})",
                        x.label,
                        shown(o.open),
                        o.deals.join(", ")
                    ));
                }
            }
        }
        left
    }

    /// The forecast of `deals` (optionally one owner's) for `periods`
    /// periods from the one holding `now`.
    pub fn compute(
        cfg: &Config,
        deals: &[Deal],
        now: DateTime<Utc>,
        by: By,
        periods: usize,
        owner: Option<&str>,
    ) -> Forecast {
        let today = now.date_naive();
        let mut starts = vec![by.start_of(today)];
        for _ in 1..periods.max(1) {
            let last = *starts.last().unwrap_or(&today);
            starts.push(by.next(last));
        }
        let mut out: Vec<Period> = starts
            .iter()
            .map(|s| Period {
                label: by.label(*s),
                start: s.format("%Y-%m-%d").to_string(),
                end: (by.next(*s) - Duration::days(1))
                    .format("%Y-%m-%d")
                    .to_string(),
                won: 0.0,
                commit: 0.0,
                best_case: 0.0,
                pipeline: 0.0,
                weighted: 0.0,
                deals: Vec::new(),
                other_currencies: BTreeMap::new(),
            })
            .collect();
        let index_of = |d: NaiveDate| -> Option<usize> {
            starts
                .iter()
                .position(|s| *s <= d && d < by.next(*s))
                .filter(|_| d >= starts[0])
        };
        let mut past_due = Bucket::default();
        let mut no_close_date = Bucket::default();
        let mut mine: Vec<&Deal> = deals
            .iter()
            .filter(|d| owner.is_none_or(|o| d.fields.owner.as_deref() == Some(o)))
            .collect();
        mine.sort_by(|a, b| a.slug.cmp(&b.slug).then(a.rel.cmp(&b.rel)));
        for d in mine {
            let value = if in_currency(cfg, d) {
                d.fields
                    .value
                    .map(crate::base::money::to_f64)
                    .unwrap_or(0.0)
            } else {
                0.0
            };
            // Another currency's deal: its code and exact value.
            let other = (!in_currency(cfg, d)).then(|| {
                (
                    d.fields
                        .currency
                        .as_deref()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_uppercase(),
                    d.fields.value.unwrap_or_default(),
                )
            });
            match d.place {
                Place::Won => {
                    if let Some(i) = d
                        .fields
                        .stages
                        .get(crate::model::config::WON)
                        .and_then(|t| index_of(t.date_naive()))
                    {
                        match other {
                            Some((c, v)) => out[i].other_currencies.entry(c).or_default().won += v,
                            None => out[i].won += value,
                        }
                    }
                }
                Place::Lost => {}
                Place::Stage(k) => {
                    let Some(close) = d.fields.expected_close else {
                        no_close_date.add(d, value, other);
                        continue;
                    };
                    let day = close.date_naive();
                    if day < today {
                        past_due.add(d, value, other);
                        continue;
                    }
                    let Some(i) = index_of(day) else { continue };
                    let p = &mut out[i];
                    let category = d.category(cfg).unwrap_or(Category::Pipeline);
                    if category == Category::Omitted {
                        continue;
                    }
                    if let Some((c, v)) = other {
                        let o = p.other_currencies.entry(c).or_default();
                        o.open += v;
                        o.deals.push(d.slug.clone());
                        continue;
                    }
                    match category {
                        Category::Omitted => continue,
                        Category::Commit => p.commit += value,
                        Category::BestCase => p.best_case += value,
                        Category::Pipeline => p.pipeline += value,
                    }
                    p.weighted += value * cfg.stages[k].probability;
                    p.deals.push(d.slug.clone());
                }
            }
        }
        for p in &mut out {
            for x in [
                &mut p.won,
                &mut p.commit,
                &mut p.best_case,
                &mut p.pipeline,
                &mut p.weighted,
            ] {
                *x = round2(*x);
            }
        }
        past_due.value = round2(past_due.value);
        no_close_date.value = round2(no_close_date.value);
        Forecast {
            currency: cfg.currency.clone(),
            as_of: today.format("%Y-%m-%d").to_string(),
            by,
            periods: out,
            past_due,
            no_close_date,
            unreadable: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::By;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods() {
        assert_eq!(By::Month.start_of(d("2026-11-27")), d("2026-11-01"));
        assert_eq!(By::Month.next(d("2026-12-01")), d("2027-01-01"));
        assert_eq!(By::Quarter.start_of(d("2026-11-27")), d("2026-10-01"));
        assert_eq!(By::Quarter.next(d("2026-10-01")), d("2027-01-01"));
        assert_eq!(By::Quarter.label(d("2026-10-01")), "2026-Q4");
        assert_eq!(By::Month.label(d("2027-01-01")), "2027-01");
    }
}
