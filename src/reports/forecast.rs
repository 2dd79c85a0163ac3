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
        let mut tally = Tally::new(by, now.date_naive(), periods);
        let mut mine: Vec<&Deal> = deals
            .iter()
            .filter(|d| owner.is_none_or(|o| d.fields.owner.as_deref() == Some(o)))
            .collect();
        mine.sort_by(|a, b| a.slug.cmp(&b.slug).then(a.rel.cmp(&b.rel)));
        for d in mine {
            tally.add(cfg, d);
        }
        tally.finish(cfg)
    }
}

/// A period with nothing counted yet, starting on `start`.
fn empty_period(by: By, start: NaiveDate) -> Period {
    Period {
        label: by.label(start),
        start: start.format("%Y-%m-%d").to_string(),
        end: (by.next(start) - Duration::days(1))
            .format("%Y-%m-%d")
            .to_string(),
        won: 0.0,
        commit: 0.0,
        best_case: 0.0,
        pipeline: 0.0,
        weighted: 0.0,
        deals: Vec::new(),
        other_currencies: BTreeMap::new(),
    }
}

/// What `d` adds to the sums: its value in the pipeline's currency, else 0.
fn counted_value(cfg: &Config, d: &Deal) -> f64 {
    if in_currency(cfg, d) {
        d.fields
            .value
            .map(crate::base::money::to_f64)
            .unwrap_or(0.0)
    } else {
        0.0
    }
}

/// A deal in another currency: its code (upper case) and exact value.
fn other_currency(cfg: &Config, d: &Deal) -> Option<(String, Amount)> {
    (!in_currency(cfg, d)).then(|| {
        (
            d.fields
                .currency
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_ascii_uppercase(),
            d.fields.value.unwrap_or_default(),
        )
    })
}

/// A forecast being added up, one deal at a time.
struct Tally {
    by: By,
    today: NaiveDate,
    /// Each period's first day, oldest first.
    starts: Vec<NaiveDate>,
    periods: Vec<Period>,
    past_due: Bucket,
    no_close_date: Bucket,
}

impl Tally {
    /// `n` empty periods (at least one) from the one holding `today`.
    fn new(by: By, today: NaiveDate, n: usize) -> Tally {
        let mut starts = vec![by.start_of(today)];
        for _ in 1..n.max(1) {
            let last = *starts.last().unwrap_or(&today);
            starts.push(by.next(last));
        }
        Tally {
            by,
            today,
            periods: starts.iter().map(|s| empty_period(by, *s)).collect(),
            starts,
            past_due: Bucket::default(),
            no_close_date: Bucket::default(),
        }
    }

    /// The period holding day `d`, if one does.
    fn index_of(&self, d: NaiveDate) -> Option<usize> {
        self.starts
            .iter()
            .position(|s| *s <= d && d < self.by.next(*s))
            .filter(|_| d >= self.starts[0])
    }

    /// Counts `d` where it belongs: a win in its period, an open deal in
    /// its period's category or a bucket; a lost deal nowhere.
    fn add(&mut self, cfg: &Config, d: &Deal) {
        let value = counted_value(cfg, d);
        let other = other_currency(cfg, d);
        match d.place {
            Place::Won => self.add_won(d, value, other),
            Place::Lost => {}
            Place::Stage(k) => self.add_open(cfg, d, k, value, other),
        }
    }

    /// A won deal's value, in the period its `stages.won` falls in.
    fn add_won(&mut self, d: &Deal, value: f64, other: Option<(String, Amount)>) {
        let Some(i) = d
            .fields
            .stages
            .get(crate::model::config::WON)
            .and_then(|t| self.index_of(t.date_naive()))
        else {
            return;
        };
        match other {
            Some((c, v)) => self.periods[i].other_currencies.entry(c).or_default().won += v,
            None => self.periods[i].won += value,
        }
    }

    /// An open deal in stage `k`: without a close date or past due in
    /// that bucket, else in its period under its category (an `omitted`
    /// one nowhere).
    fn add_open(
        &mut self,
        cfg: &Config,
        d: &Deal,
        k: usize,
        value: f64,
        other: Option<(String, Amount)>,
    ) {
        let Some(close) = d.fields.expected_close else {
            self.no_close_date.add(d, value, other);
            return;
        };
        let day = close.date_naive();
        if day < self.today {
            self.past_due.add(d, value, other);
            return;
        }
        let Some(i) = self.index_of(day) else { return };
        let p = &mut self.periods[i];
        let category = d.category(cfg).unwrap_or(Category::Pipeline);
        if category == Category::Omitted {
            return;
        }
        if let Some((c, v)) = other {
            let o = p.other_currencies.entry(c).or_default();
            o.open += v;
            o.deals.push(d.slug.clone());
            return;
        }
        match category {
            Category::Omitted => return,
            Category::Commit => p.commit += value,
            Category::BestCase => p.best_case += value,
            Category::Pipeline => p.pipeline += value,
        }
        p.weighted += value * cfg.stages[k].probability;
        p.deals.push(d.slug.clone());
    }

    /// The forecast, every sum rounded to cents.
    fn finish(mut self, cfg: &Config) -> Forecast {
        for p in &mut self.periods {
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
        self.past_due.value = round2(self.past_due.value);
        self.no_close_date.value = round2(self.no_close_date.value);
        Forecast {
            currency: cfg.currency.clone(),
            as_of: self.today.format("%Y-%m-%d").to_string(),
            by: self.by,
            periods: self.periods,
            past_due: self.past_due,
            no_close_date: self.no_close_date,
            unreadable: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::testkit::{deals, three_stages};

    fn now() -> DateTime<Utc> {
        crate::base::time::parse_timestamp("2026-11-27T12:00:00Z").unwrap()
    }

    /// Each period's label, won, commit, best case, pipeline, weighted and
    /// deals.
    type Row = (String, f64, f64, f64, f64, f64, Vec<String>);

    fn rows(f: &Forecast) -> Vec<Row> {
        f.periods
            .iter()
            .map(|p| {
                (
                    p.label.clone(),
                    p.won,
                    p.commit,
                    p.best_case,
                    p.pipeline,
                    p.weighted,
                    p.deals.clone(),
                )
            })
            .collect()
    }

    fn row(label: &str, sums: [f64; 5], deals: &[&str]) -> Row {
        let [won, commit, best, pipe, weighted] = sums;
        let deals = deals.iter().map(|s| s.to_string()).collect();
        (label.into(), won, commit, best, pipe, weighted, deals)
    }

    /// Open deals of every category (lead: pipeline, proposal: best case,
    /// negotiation: commit) across three months, and the deals no period
    /// holds.
    fn ten_deals() -> Vec<Deal> {
        // b closes today: this period, not past due.
        let at = "a:lead b:proposal c:negotiation d:proposal e:negotiation f:lead g:lead \
                  h:negotiation w:won l:lost";
        let yaml = [
            "owner: bob\nvalue: 1000\nexpected_close: 2026-12-10\n",
            "value: 2000\nexpected_close: 2026-11-27\n",
            "owner: bob\nvalue: 3000\nexpected_close: 2026-11-30\n",
            "value: 4000\nexpected_close: 2027-01-05\nforecast: commit\n",
            "value: 5000\nexpected_close: 2026-12-01\nforecast: omitted\n",
            "owner: bob\nvalue: 600\nexpected_close: 2026-11-20\n",
            "value: 700\n",
            "value: 800\nexpected_close: 2027-03-01\n",
            "value: 900\nstages: {won: 2026-11-03}\n",
            "value: 50\nexpected_close: 2026-11-01\n",
        ];
        deals(&three_stages(), at, &yaml)
    }

    #[test]
    fn open_deals_fall_in_their_close_months_by_category() {
        let f = Forecast::compute(&three_stages(), &ten_deals(), now(), By::Month, 3, None);
        assert_eq!(
            rows(&f),
            vec![
                row("2026-11", [900.0, 3000.0, 2000.0, 0.0, 3400.0], &["b", "c"]),
                row("2026-12", [0.0, 0.0, 0.0, 1000.0, 100.0], &["a"]),
                row("2027-01", [0.0, 4000.0, 0.0, 0.0, 2000.0], &["d"]),
            ]
        );
        assert_eq!(
            (f.as_of.as_str(), f.periods[0].end.as_str()),
            ("2026-11-27", "2026-11-30")
        );
        assert_eq!((f.past_due.count, f.past_due.value), (1, 600.0));
        assert_eq!(f.past_due.deals, vec!["f".to_string()]);
        assert_eq!((f.no_close_date.count, f.no_close_date.value), (1, 700.0));
    }

    #[test]
    fn quarters_hold_three_months_and_one_owner_sees_only_their_deals() {
        let f = Forecast::compute(
            &three_stages(),
            &ten_deals(),
            now(),
            By::Quarter,
            2,
            Some("bob"),
        );
        assert_eq!(
            rows(&f),
            vec![
                row("2026-Q4", [0.0, 3000.0, 0.0, 1000.0, 2500.0], &["a", "c"]),
                row("2027-Q1", [0.0; 5], &[]),
            ]
        );
        assert_eq!(
            (f.periods[1].start.as_str(), f.periods[1].end.as_str()),
            ("2027-01-01", "2027-03-31")
        );
        assert_eq!(f.past_due.deals, vec!["f".to_string()]);
        assert_eq!(f.no_close_date.count, 0);
        // No period count still gives the current one.
        let one = Forecast::compute(&three_stages(), &ten_deals(), now(), By::Month, 0, None);
        assert_eq!(one.periods.len(), 1);
    }

    #[test]
    fn other_currencies_are_left_out_of_the_sums_and_said_so() {
        let cfg = three_stages();
        let at = "m:proposal x:won y:lead z:lead";
        let yaml = [
            "value: 1000\ncurrency: usd\nexpected_close: 2026-12-20\n",
            "value: 500\ncurrency: USD\nstages: {won: 2026-11-10}\n",
            "value: 300\ncurrency: GBP\n",
            "value: 10\nexpected_close: 2026-12-01\n",
        ];
        let deals = deals(&cfg, at, &yaml);
        let f = Forecast::compute(&cfg, &deals, now(), By::Month, 2, None);
        assert_eq!(
            rows(&f),
            vec![
                row("2026-11", [0.0; 5], &[]),
                row("2026-12", [0.0, 0.0, 0.0, 10.0, 1.0], &["z"]),
            ]
        );
        let dec = &f.periods[1].other_currencies["USD"];
        assert_eq!(
            (dec.open, dec.deals.clone()),
            (Amount::from(1000), vec!["m".to_string()])
        );
        assert_eq!(f.periods[0].other_currencies["USD"].won, Amount::from(500));
        // Without a close date: counted and listed, not in the value.
        let gbp = &f.no_close_date.other_currencies["GBP"];
        assert_eq!((f.no_close_date.count, f.no_close_date.value), (1, 0.0));
        assert_eq!((gbp.count, gbp.value), (1, Amount::from(300)));
        assert_eq!(
            f.left_out(),
            vec![
                "2026-11: 500 USD won".to_string(),
                "2026-12: 1,000 USD open (m)".to_string()
            ]
        );
    }

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
