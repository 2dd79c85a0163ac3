//! Per-deal status as shown on a board card or a `deal list` row: days in
//! stage, criteria met / total, next step, rotting and overdue marks.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::criteria::Evaluator;
use crate::deal::{Deal, Place};
use crate::time::{days_between, format_date};

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub slug: String,
    pub title: String,
    pub company: Option<String>,
    pub stage: String,
    pub owner: String,
    pub value: Option<f64>,
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
    #[serde(skip)]
    pub place: Place,
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
            place: d.place,
        }
    }

    pub fn criteria_text(&self) -> String {
        match (self.criteria_met, self.criteria_total) {
            (Some(m), Some(t)) => format!("{m}/{t}"),
            _ => "-".into(),
        }
    }
}

/// Formats an amount with thousands separators: `48,000`, `1,250.5`.
pub fn money(v: f64) -> String {
    let neg = v < 0.0;
    let whole = v.abs().trunc() as u64;
    let frac = ((v.abs() - v.abs().trunc()) * 100.0).round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if frac > 0 {
        out.push_str(&format!(".{frac:02}"));
    }
    if neg { format!("-{out}") } else { out }
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
