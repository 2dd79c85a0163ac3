//! The pipeline's numbers (docs/reference.md, "Stats and the report"): one computation behind `deal stats` and
//! `deal report`.
//!
//! Definitions, exactly as the report and the JSON use them:
//! - **Days** are elapsed seconds ÷ 86,400, rounded to one decimal in the
//!   output. The median of an even count is the mean of the middle two.
//! - **Sums** (`value`, `won_value`, `weighted_pipeline`, owners' values) count
//!   only deals in the pipeline's `currency` (a deal without `currency` is
//!   in it). The others are listed in `currency_mismatch`, and counted
//!   everywhere a count is taken.
//! - `win_rate` = won ÷ (won + lost); `null` when there is neither.
//! - `avg_won_value` = `won_value` ÷ the number of won deals that `won_value`
//!   sums (those in the pipeline's currency); `null` without such wins.
//! - `cycle_days_median`: over won deals with `stages.won`, the median of the
//!   days from the earliest recorded date (`created` or any other `stages`
//!   entry) to `stages.won`, where a cycle shorter than a day counts as one
//!   day (a deal won the day it was created took a day); a deal with no
//!   earlier date is left out (its cycle is unknown, not zero); `null`
//!   without such deals.
//! - A deal **entered** stage i if it has `stages.<i>`, sits in stage i or a
//!   later stage or in `won`, or is lost with `lost.stage` at or after i.
//!   (the reference says "a later stage"; a deal sitting in i has entered i even
//!   when its `stages.<i>` entry is missing, so it counts too.)
//! - `conversion` of stage i = (deals that entered i and also entered a
//!   later stage or `won`) ÷ (deals that entered i); `null` when none did.
//! - `median_days` of stage i: over deals that left i, the median time from
//!   `stages.<i>` to their next stage entry (the earliest entry of a later
//!   stage, `won` or `lost` that is not before it); `null` when none left.
//! - `went_on` of stage i: deals that entered i and also entered a later
//!   stage or `won` (the numerator of `conversion`).
//! - `lost_here`: lost deals whose `lost.stage` is i. Only these "dropped"
//!   at i: a deal still open in i (`open`) has not dropped.
//! - `weighted_pipeline` = Σ over open deals of `value` × the stage's
//!   `probability`.
//! - `velocity_per_day` = open deals × `win_rate` × `avg_won_value` ÷
//!   `cycle_days_median` (at least a day, as above), so it never exceeds
//!   open deals × `avg_won_value` per day; `null` when any of those is `null`.
//! - `speed_to_lead_minutes_median`: over inbound leads (`source` in
//!   `inbound_sources`) with `created` and `first_contact`, the median of the
//!   minutes between them; `null` when there are none.
//! - People: `forced` counts the forced moves a person made, whoever owns
//!   the deal: one per deal and distinct `waived.<stage>.at` among the
//!   waivers whose `by` names them (a team handle, or `Name <email>`
//!   matched to the team by email); `waivers` the waived stages those
//!   name. Older waivers (`waived.<stage>: reason`) name nobody: they count
//!   under "(not recorded)", one forced move per deal.

use crate::base::money::Amount;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::base::time::days_between;
use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::model::fields::Fields;
use crate::reports::board::{Row, round1};
use crate::rules::criteria::{Evaluator, exit_time};
use crate::store::pipeline::Pipeline;

#[derive(Debug, Clone, Serialize)]
pub struct StageStats {
    pub id: String,
    pub name: String,
    pub open: usize,
    #[serde(serialize_with = "num")]
    pub value: f64,
    #[serde(serialize_with = "num")]
    pub weighted_value: f64,
    pub entered: usize,
    #[serde(serialize_with = "opt_num")]
    pub conversion: Option<f64>,
    #[serde(serialize_with = "opt_num")]
    pub median_days: Option<f64>,
    pub went_on: usize,
    pub lost_here: usize,
    #[serde(serialize_with = "num")]
    pub probability: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LostReason {
    pub stage: String,
    pub reason: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct OwnerStats {
    pub owner: String,
    pub name: Option<String>,
    pub open: usize,
    #[serde(serialize_with = "num")]
    pub value: f64,
    pub won: usize,
    pub lost: usize,
    pub forced: usize,
    pub waivers: usize,
    pub rotting: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpeedToLead {
    /// Inbound leads (source in `inbound_sources`).
    pub inbound: usize,
    /// Of those, with `first_contact`.
    pub contacted: usize,
    /// Contacted within `speed_to_lead_minutes`.
    pub within_target: usize,
    pub target_minutes: u32,
    #[serde(serialize_with = "opt_num")]
    pub median_minutes: Option<f64>,
    /// Counts per bucket: ≤5 min, ≤1 h, ≤1 day, more, never.
    pub buckets: Vec<(String, usize)>,
}

/// Everything `deal stats` prints and the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub currency: String,
    pub deals: usize,
    pub open: usize,
    pub won: usize,
    pub lost: usize,
    #[serde(serialize_with = "opt_num")]
    pub win_rate: Option<f64>,
    #[serde(serialize_with = "num")]
    pub won_value: f64,
    #[serde(serialize_with = "opt_num")]
    pub avg_won_value: Option<f64>,
    #[serde(serialize_with = "opt_num")]
    pub cycle_days_median: Option<f64>,
    #[serde(serialize_with = "num")]
    pub weighted_pipeline: f64,
    #[serde(serialize_with = "num")]
    pub open_value: f64,
    #[serde(serialize_with = "opt_num")]
    pub velocity_per_day: Option<f64>,
    #[serde(serialize_with = "opt_num")]
    pub speed_to_lead_minutes_median: Option<f64>,
    pub stages: Vec<StageStats>,
    pub lost_reasons: Vec<LostReason>,
    pub owners: Vec<OwnerStats>,
    pub speed_to_lead: SpeedToLead,
    /// Slugs of deals in another currency, left out of the sums.
    pub currency_mismatch: Vec<String>,
}

/// Writes a whole number as an integer (`312000`, not `312000.0`).
pub fn num<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        s.serialize_i64(*x as i64)
    } else {
        s.serialize_f64(*x)
    }
}

fn opt_num<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(v) => num(v, s),
        None => s.serialize_none(),
    }
}

/// The median; the mean of the middle two for an even count.
pub fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// Whether the deal's value counts in the sums.
pub fn in_currency(cfg: &Config, d: &Deal) -> bool {
    fields_in_currency(cfg, &d.fields)
}

/// [`in_currency`] of a deal's typed fields.
pub fn fields_in_currency(cfg: &Config, f: &Fields) -> bool {
    f.currency
        .as_deref()
        .is_none_or(|c| c.eq_ignore_ascii_case(&cfg.currency))
}

/// `d`'s value when it is in the pipeline's currency, else 0: what the
/// open figures add up.
pub fn summed(cfg: &Config, d: &Deal) -> Amount {
    fields_summed(cfg, &d.fields)
}

/// [`summed`] of a deal's typed fields.
pub fn fields_summed(cfg: &Config, f: &Fields) -> Amount {
    if fields_in_currency(cfg, f) {
        f.value.unwrap_or_default()
    } else {
        Amount::ZERO
    }
}

/// A sum of amounts as a figure: exact, rounded half away from zero to
/// cents (docs/reference.md, "Money"), so the JSON, the tables and the
/// report show one number.
pub fn cents(x: Amount) -> f64 {
    crate::base::money::to_f64(
        x.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
    )
}

/// A stage's probability as a decimal factor (its shortest decimal text).
fn factor(p: f64) -> Amount {
    crate::base::money::from_f64(p).unwrap_or_default()
}

/// The open pipeline's figures: what a trend snapshot needs, computed the
/// one way [`Stats::compute`] uses too.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenFigures {
    pub open: usize,
    /// Σ value of open deals in the pipeline's currency, rounded to cents.
    pub open_value: f64,
    /// Σ value × stage probability over them, rounded to cents.
    pub weighted: f64,
    /// Per stage, in order: open deals and their value (rounded to cents).
    pub stages: Vec<(usize, f64)>,
}

/// [`OpenFigures`] of `deals`, in one pass.
pub fn open_figures(cfg: &Config, deals: &[Deal]) -> OpenFigures {
    open_figures_of(cfg, deals.iter().map(|d| (d.place, summed(cfg, d))))
}

/// [`OpenFigures`] of deals given as their place and [`summed`] value (a
/// trend snapshot keeps only these).
pub fn open_figures_of(cfg: &Config, deals: impl Iterator<Item = (Place, Amount)>) -> OpenFigures {
    let mut stages = vec![(0usize, Amount::ZERO); cfg.stages.len()];
    let (mut open, mut value, mut weighted) = (0, Amount::ZERO, Amount::ZERO);
    let factors: Vec<Amount> = cfg.stages.iter().map(|s| factor(s.probability)).collect();
    for (place, v) in deals {
        if let Place::Stage(i) = place {
            open += 1;
            value += v;
            weighted += v * factors[i];
            stages[i].0 += 1;
            stages[i].1 += v;
        }
    }
    OpenFigures {
        open,
        open_value: cents(value),
        weighted: cents(weighted),
        stages: stages.into_iter().map(|(n, v)| (n, cents(v))).collect(),
    }
}

/// Whether `d` entered stage `i` (see the module docs).
pub fn entered(cfg: &Config, d: &Deal, i: usize) -> bool {
    if d.fields.stages.contains_key(&cfg.stages[i].id) {
        return true;
    }
    match d.place {
        Place::Stage(k) => k >= i,
        Place::Won => true,
        Place::Lost => d
            .fields
            .lost_stage
            .as_deref()
            .and_then(|s| cfg.stage_index(s))
            .is_some_and(|k| k >= i),
    }
}

fn entered_later(cfg: &Config, d: &Deal, i: usize) -> bool {
    d.place == Place::Won
        || d.fields.stages.contains_key(crate::model::config::WON)
        || (i + 1..cfg.stages.len()).any(|j| entered(cfg, d, j))
}

impl Stats {
    pub fn compute(p: &Pipeline, now: DateTime<Utc>) -> Stats {
        let cfg = &p.cfg;
        let deals = &p.deals;
        let open_n = deals.iter().filter(|d| d.place.is_open()).count();
        let w = Wins::of(cfg, deals);
        let of = open_figures(cfg, deals);
        let velocity_per_day = match (w.win_rate, w.avg_won_value, w.cycle_days_median) {
            (Some(r), Some(a), Some(c)) if c > 0.0 => Some(open_n as f64 * r * a / c),
            _ => None,
        };
        let speed_to_lead = speed_to_lead(cfg, deals);
        Stats {
            currency: cfg.currency.clone(),
            deals: deals.len(),
            open: open_n,
            won: w.won,
            lost: w.lost,
            win_rate: w.win_rate,
            won_value: round(w.won_value, 2),
            avg_won_value: w.avg_won_value.map(|v| round(v, 2)),
            cycle_days_median: w.cycle_days_median.map(round1),
            weighted_pipeline: of.weighted,
            open_value: of.open_value,
            velocity_per_day: velocity_per_day.map(|v| round(v, 2)),
            speed_to_lead_minutes_median: speed_to_lead.median_minutes,
            stages: stage_stats(cfg, deals, &of),
            lost_reasons: lost_reasons(cfg, deals),
            owners: owner_stats(cfg, deals, now),
            speed_to_lead,
            currency_mismatch: currency_mismatch(cfg, deals),
        }
    }
}

/// The closed deals' figures: counts, win rate, won value and the sales
/// cycle, unrounded but for the win rate (see the module docs).
struct Wins {
    won: usize,
    lost: usize,
    win_rate: Option<f64>,
    won_value: f64,
    avg_won_value: Option<f64>,
    cycle_days_median: Option<f64>,
}

impl Wins {
    /// Counts the won and lost deals among `deals` and sums the wins in the
    /// pipeline's currency.
    fn of(cfg: &Config, deals: &[Deal]) -> Wins {
        let won: Vec<&Deal> = deals.iter().filter(|d| d.place == Place::Won).collect();
        let lost = deals.iter().filter(|d| d.place == Place::Lost).count();
        let win_rate =
            (won.len() + lost > 0).then(|| round(won.len() as f64 / (won.len() + lost) as f64, 4));
        let won_in: Vec<&&Deal> = won.iter().filter(|d| in_currency(cfg, d)).collect();
        let won_value = cents(won_in.iter().filter_map(|d| d.fields.value).sum::<Amount>());
        let avg_won_value = (!won_in.is_empty()).then(|| won_value / won_in.len() as f64);
        Wins {
            won: won.len(),
            lost,
            win_rate,
            won_value,
            avg_won_value,
            cycle_days_median: median(won.iter().filter_map(|d| cycle_days(d)).collect()),
        }
    }
}

/// A won deal's sales cycle in days, at least one: from its earliest
/// recorded date to `stages.won`; `None` without both.
fn cycle_days(d: &Deal) -> Option<f64> {
    let won = crate::model::config::WON;
    let end = *d.fields.stages.get(won)?;
    let earlier = d
        .fields
        .stages
        .iter()
        .filter(|(k, _)| k.as_str() != won)
        .map(|(_, t)| *t);
    let start = d.fields.created.into_iter().chain(earlier).min()?;
    Some(days_between(start, end).max(1.0))
}

/// Each stage's funnel figures: open deals and their value (from `of`),
/// entered, conversion, median days in it and lost there.
fn stage_stats(cfg: &Config, deals: &[Deal], of: &OpenFigures) -> Vec<StageStats> {
    cfg.stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let value = of.stages[i].1;
            let entered_n = deals.iter().filter(|d| entered(cfg, d, i)).count();
            let moved_on = deals
                .iter()
                .filter(|d| entered(cfg, d, i) && entered_later(cfg, d, i))
                .count();
            let spans: Vec<f64> = deals
                .iter()
                .filter_map(|d| {
                    let from = *d.fields.stages.get(&s.id)?;
                    let to = exit_time(cfg, d, i)?;
                    Some(days_between(from, to))
                })
                .collect();
            StageStats {
                id: s.id.clone(),
                name: s.name.clone(),
                open: deals.iter().filter(|d| d.place == Place::Stage(i)).count(),
                value,
                weighted_value: round(value * s.probability, 2),
                entered: entered_n,
                conversion: (entered_n > 0).then(|| round(moved_on as f64 / entered_n as f64, 4)),
                median_days: median(spans).map(round1),
                went_on: moved_on,
                lost_here: deals
                    .iter()
                    .filter(|d| d.place == Place::Lost)
                    .filter(|d| d.fields.lost_stage.as_deref() == Some(s.id.as_str()))
                    .count(),
                probability: s.probability,
            }
        })
        .collect()
}

/// The lost deals counted by stage and reason: stages in process order
/// (an unknown one last), then the most common reason first.
fn lost_reasons(cfg: &Config, deals: &[Deal]) -> Vec<LostReason> {
    let mut reasons: BTreeMap<(usize, String, String), usize> = BTreeMap::new();
    for d in deals.iter().filter(|d| d.place == Place::Lost) {
        let stage = d
            .fields
            .lost_stage
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let ord = cfg.stage_index(&stage).unwrap_or(usize::MAX);
        let reason = d
            .fields
            .lost_reason
            .clone()
            .unwrap_or_else(|| "(no reason)".into());
        *reasons.entry((ord, stage, reason)).or_default() += 1;
    }
    let mut lost_reasons: Vec<LostReason> = reasons
        .into_iter()
        .map(|((_, stage, reason), count)| LostReason {
            stage,
            reason,
            count,
        })
        .collect();
    // By stage in process order, then the most common reason first.
    lost_reasons.sort_by(|a, b| {
        let oa = cfg.stage_index(&a.stage).unwrap_or(usize::MAX);
        let ob = cfg.stage_index(&b.stage).unwrap_or(usize::MAX);
        oa.cmp(&ob)
            .then(b.count.cmp(&a.count))
            .then(a.reason.cmp(&b.reason))
    });
    lost_reasons
}

/// A person's forced moves, as (deal, `at`), and the waivers naming them.
type Forced<'d> = (
    std::collections::BTreeSet<(&'d str, Option<DateTime<Utc>>)>,
    usize,
);

/// Forced moves and waivers by whoever forced them (`waived.<stage>.by`),
/// whoever owns the deal: one forced move per deal and distinct `at`; the
/// older waivers, which name nobody, go to "(not recorded)", one forced
/// move per deal.
fn forcers<'d>(cfg: &Config, deals: &'d [Deal]) -> BTreeMap<String, Forced<'d>> {
    let mut forcers: BTreeMap<String, Forced> = BTreeMap::new();
    for d in deals {
        for w in d.fields.waived.values() {
            let who = match &w.by {
                Some(b) => cfg.who(b),
                None => crate::model::deal::NOT_RECORDED.to_string(),
            };
            let e = forcers.entry(who).or_default();
            e.0.insert((d.slug.as_str(), w.at.filter(|_| w.by.is_some())));
            e.1 += 1;
        }
    }
    forcers
}

/// One row per person: the team in its order, then every other owner or
/// forcer by name.
fn owner_stats(cfg: &Config, deals: &[Deal], now: DateTime<Utc>) -> Vec<OwnerStats> {
    // Each owner's deals, grouped in one pass (a search per owner was
    // quadratic when every deal has its own owner).
    let mut by_owner: std::collections::HashMap<&str, Vec<&Deal>> =
        std::collections::HashMap::new();
    for d in deals {
        if let Some(o) = d.fields.owner.as_deref() {
            by_owner.entry(o).or_default().push(d);
        }
    }
    let forcers = forcers(cfg, deals);
    let mut handles: Vec<String> = cfg.team.keys().cloned().collect();
    let mut others: Vec<String> = by_owner
        .keys()
        .filter(|o| !cfg.team.contains_key(**o))
        .map(|o| o.to_string())
        .chain(
            forcers
                .keys()
                .filter(|f| !cfg.team.contains_key(*f) && !by_owner.contains_key(f.as_str()))
                .cloned(),
        )
        .collect();
    others.sort();
    handles.extend(others);
    handles
        .into_iter()
        .map(|h| {
            let mine: Vec<&Deal> = by_owner.get(h.as_str()).cloned().unwrap_or_default();
            let open_mine: Vec<&&Deal> = mine.iter().filter(|d| d.place.is_open()).collect();
            OwnerStats {
                name: cfg.team.get(&h).and_then(|m| m.name.clone()),
                open: open_mine.len(),
                value: cents(open_mine.iter().map(|d| summed(cfg, d)).sum()),
                won: mine.iter().filter(|d| d.place == Place::Won).count(),
                lost: mine.iter().filter(|d| d.place == Place::Lost).count(),
                forced: forcers.get(&h).map_or(0, |f| f.0.len()),
                waivers: forcers.get(&h).map_or(0, |f| f.1),
                rotting: open_mine
                    .iter()
                    .filter(|d| d.rotting(cfg, now).is_some())
                    .count(),
                owner: h,
            }
        })
        .collect()
}

/// How soon inbound leads were first contacted: counts, the median and
/// the buckets.
fn speed_to_lead(cfg: &Config, deals: &[Deal]) -> SpeedToLead {
    let inbound: Vec<&Deal> = deals
        .iter()
        .filter(|d| cfg.is_inbound(d.fields.source.as_deref()))
        .collect();
    let minutes: Vec<f64> = inbound
        .iter()
        .filter_map(|d| {
            let (c, f) = (d.fields.created?, d.fields.first_contact?);
            Some((f - c).num_seconds() as f64 / 60.0)
        })
        .collect();
    let bucket = |lo: f64, hi: f64| minutes.iter().filter(|m| **m > lo && **m <= hi).count();
    let target = cfg.speed_to_lead_minutes as f64;
    SpeedToLead {
        inbound: inbound.len(),
        contacted: minutes.len(),
        within_target: minutes.iter().filter(|m| **m <= target).count(),
        target_minutes: cfg.speed_to_lead_minutes,
        median_minutes: median(minutes.clone()).map(round1),
        buckets: vec![
            ("≤ 5 min".into(), bucket(f64::NEG_INFINITY, 5.0)),
            ("≤ 1 hour".into(), bucket(5.0, 60.0)),
            ("≤ 1 day".into(), bucket(60.0, 1440.0)),
            ("> 1 day".into(), bucket(1440.0, f64::INFINITY)),
            ("never".into(), inbound.len() - minutes.len()),
        ],
    }
}

/// The slugs of deals in another currency, sorted.
fn currency_mismatch(cfg: &Config, deals: &[Deal]) -> Vec<String> {
    let mut slugs: Vec<String> = deals
        .iter()
        .filter(|d| !in_currency(cfg, d))
        .map(|d| d.slug.clone())
        .collect();
    slugs.sort();
    slugs
}

/// The board: one column per stage, with its cards in order (most days in
/// stage first).
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub id: String,
    pub name: String,
    pub count: usize,
    #[serde(serialize_with = "num")]
    pub value: f64,
    #[serde(serialize_with = "num")]
    pub weighted_value: f64,
    /// Deals in other currencies: counted in `count`, not in the sums.
    pub other_currencies: usize,
    pub cards: Vec<Row>,
}

pub fn board(p: &Pipeline, ev: &Evaluator, stats: &Stats, now: DateTime<Utc>) -> Vec<Column> {
    let cfg = &p.cfg;
    let mut cols: Vec<Column> = stats
        .stages
        .iter()
        .map(|s| Column {
            id: s.id.clone(),
            name: s.name.clone(),
            count: s.open,
            value: s.value,
            weighted_value: s.weighted_value,
            other_currencies: 0,
            cards: Vec::new(),
        })
        .collect();
    for d in &p.deals {
        if let Place::Stage(i) = d.place {
            cols[i].cards.push(Row::of(cfg, ev, d, now));
            if !in_currency(cfg, d) {
                cols[i].other_currencies += 1;
            }
        }
    }
    for c in &mut cols {
        c.cards.sort_by(|a, b| {
            b.days_in_stage
                .unwrap_or(0.0)
                .total_cmp(&a.days_in_stage.unwrap_or(0.0))
                .then(a.slug.cmp(&b.slug))
        });
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::testkit::{deal, deals, pipeline, three_stages};

    fn now() -> DateTime<Utc> {
        crate::base::time::parse_timestamp("2026-11-27T12:00:00Z").unwrap()
    }

    /// Two open deals (lead 1,000, proposal 2,000), two won (3,000 EUR in
    /// 20 days, 5,000 USD in 10), one lost in proposal.
    fn five_deals() -> Pipeline {
        let cfg = three_stages();
        let at = "a:lead b:proposal c:won d:won e:lost";
        let yaml = [
            "value: 1000\nstages: {lead: 2026-11-01}\n",
            "value: 2000\nstages: {lead: 2026-11-01, proposal: 2026-11-05}\n",
            "value: 3000\ncreated: 2026-10-01\nstages: {lead: 2026-10-01, proposal: 2026-10-11, won: 2026-10-21}\n",
            "value: 5000\ncurrency: USD\nstages: {proposal: 2026-11-01, won: 2026-11-11}\n",
            "value: 4000\nstages: {lead: 2026-11-01}\nlost: {reason: no budget, stage: proposal}\n",
        ];
        let deals = deals(&cfg, at, &yaml);
        pipeline(cfg, deals)
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn win_rate_counts_every_close_and_won_value_only_the_pipelines_currency() {
        let s = Stats::compute(&five_deals(), now());
        assert_eq!((s.deals, s.open, s.won, s.lost), (5, 2, 2, 1));
        assert_eq!(s.win_rate, Some(0.6667));
        assert_eq!(s.won_value, 3000.0);
        assert_eq!(s.avg_won_value, Some(3000.0));
        assert_eq!(s.currency_mismatch, vec!["d".to_string()]);
        assert_eq!((s.open_value, s.weighted_pipeline), (3000.0, 1100.0));
    }

    #[test]
    fn the_sales_cycle_is_the_median_from_the_first_record_to_won() {
        let s = Stats::compute(&five_deals(), now());
        // c: 2026-10-01 → 10-21, 20 days; d: 11-01 → 11-11, 10 days.
        assert_eq!(s.cycle_days_median, Some(15.0));
        // 2 open × 0.6667 × 3,000 ÷ 15 days.
        assert_eq!(s.velocity_per_day, Some(266.68));
    }

    #[test]
    fn a_deal_won_the_day_it_was_created_took_a_day_and_one_without_dates_is_left_out() {
        let cfg = three_stages();
        let yaml = "created: 2026-11-02T09:00:00Z\nstages: {won: 2026-11-02T15:00:00Z}\n";
        let same_day = deal(&cfg, "s", Place::Won, yaml);
        assert_eq!(cycle_days(&same_day), Some(1.0));
        let undated = deal(&cfg, "u", Place::Won, "stages: {won: 2026-11-02}\n");
        assert_eq!(cycle_days(&undated), None);
        let w = Wins::of(&cfg, &[undated]);
        assert_eq!((w.won, w.cycle_days_median), (1, None));
    }

    #[test]
    fn conversion_is_the_share_of_entrants_that_went_on() {
        let s = Stats::compute(&five_deals(), now());
        let by_stage: Vec<(usize, usize, Option<f64>, usize, usize)> = s
            .stages
            .iter()
            .map(|st| (st.entered, st.went_on, st.conversion, st.lost_here, st.open))
            .collect();
        assert_eq!(
            by_stage,
            vec![
                // lead: all five entered; a is still there.
                (5, 4, Some(0.8), 0, 1),
                // proposal: b, c, d and e (lost there); c and d went on.
                (4, 2, Some(0.5), 1, 1),
                // negotiation: the two won deals passed it.
                (2, 2, Some(1.0), 0, 0),
            ]
        );
        // Days in lead: b 4, c 10; in proposal: c 10, d 10.
        assert_eq!(s.stages[0].median_days, Some(7.0));
        assert_eq!(s.stages[1].median_days, Some(10.0));
        assert_eq!(s.stages[2].median_days, None);
        assert_eq!(s.stages[1].weighted_value, 1000.0);
    }

    #[test]
    fn lost_reasons_go_by_stage_then_the_most_common_first() {
        let cfg = three_stages();
        let lost = |slug: &str, lost: &str| deal(&cfg, slug, Place::Lost, lost);
        let deals = vec![
            lost("a", "lost: {reason: timing, stage: proposal}\n"),
            lost("b", "lost: {reason: price, stage: proposal}\n"),
            lost("c", "lost: {reason: price, stage: proposal}\n"),
            lost("d", "lost: {reason: silence, stage: lead}\n"),
            lost("e", "title: E\n"),
        ];
        let got: Vec<(String, String, usize)> = lost_reasons(&cfg, &deals)
            .into_iter()
            .map(|r| (r.stage, r.reason, r.count))
            .collect();
        let want = [
            ("lead", "silence", 1),
            ("proposal", "price", 2),
            ("proposal", "timing", 1),
            ("unknown", "(no reason)", 1),
        ];
        let want: Vec<(String, String, usize)> = want
            .iter()
            .map(|(s, r, n)| (s.to_string(), r.to_string(), *n))
            .collect();
        assert_eq!(got, want);
    }
}
