//! Per-deal status as shown on a board card or a `deal list` row: days in
//! stage, criteria met / total, next step, rotting and overdue marks.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::base::time::{days_between, format_date};
use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::rules::criteria::Evaluator;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub slug: String,
    pub title: String,
    pub company: Option<String>,
    pub stage: String,
    pub owner: String,
    /// Exact; JSON writes the number as [`crate::base::money::json`] does.
    #[serde(serialize_with = "crate::base::money::serialize_opt")]
    pub value: Option<crate::base::money::Amount>,
    pub currency: String,
    /// Days since the deal entered its current place (one decimal).
    pub days_in_stage: Option<f64>,
    /// Exit criteria of the current stage met / total (None in won or lost).
    pub criteria_met: Option<usize>,
    pub criteria_total: Option<usize>,
    pub next_step: Option<String>,
    pub next_step_due: Option<String>,
    pub rotting: bool,
    pub overdue: bool,
    pub path: String,
}

/// Rounds to one decimal, as every day figure in the output is.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Row {
    pub fn of(cfg: &Config, ev: &Evaluator, d: &Deal, now: DateTime<Utc>) -> Row {
        let f = &d.fields;
        let entered = d.entered_current(cfg);
        let days = entered.map(|t| round1(days_between(t, now)));
        let (met, total) = match d.place {
            Place::Stage(i) => {
                let exit = &cfg.stages[i].exit;
                let met = exit.iter().filter(|c| ev.eval(c, d).met).count();
                (Some(met), Some(exit.len()))
            }
            _ => (None, None),
        };
        let rotting = d.rotting(cfg, now).is_some();
        let overdue = d.next_step_overdue(now);
        Row {
            slug: d.slug.clone(),
            title: f.title.clone().unwrap_or_default(),
            company: f.company.clone(),
            stage: d.place.id(cfg).to_string(),
            owner: f.owner.clone().unwrap_or_default(),
            value: f.value,
            currency: f.currency.clone().unwrap_or_else(|| cfg.currency.clone()),
            days_in_stage: days,
            criteria_met: met,
            criteria_total: total,
            next_step: f.next_action.clone(),
            next_step_due: f.next_due.map(format_date),
            rotting,
            overdue,
            path: d.rel.display().to_string(),
        }
    }

    pub fn criteria_text(&self) -> String {
        match (self.criteria_met, self.criteria_total) {
            (Some(m), Some(t)) => format!("{m}/{t}"),
            _ => "-".into(),
        }
    }
}

/// Formats a figure as people read amounts (docs/reference.md, "Money"):
/// `48,000`, `1,250.50`, 1999.999 → `2,000`. The one formatter is
/// [`crate::base::money::format`]; this is its form for `f64` figures.
pub fn money(v: f64) -> String {
    crate::base::money::format_f64(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_groups_thousands() {
        assert_eq!(super::money(48000.0), "48,000");
        assert_eq!(super::money(1250.5), "1,250.50");
        assert_eq!(super::money(999.0), "999");
    }
}
