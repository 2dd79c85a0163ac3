//! `deal due`: the follow-up list, so nothing relies on memory.
//!
//! Items, most urgent first:
//! 1. `overdue`: an open deal's `next_step.due` is before today;
//! 2. `uncontacted`: an inbound lead (source in `inbound_sources`) with no
//!    `first_contact`, older than `speed_to_lead_minutes`;
//! 3. `no-next-step`: an open deal at or past proposal without
//!    `next_step.action` (the "no defined next step after the demo" mistake);
//! 4. `close-date-passed`: an open deal's `expected_close` is before today
//!    (the forecast counts it as past due);
//! 5. `rotting`: idle longer than its stage's `rot_after_days`;
//! 6. `upcoming`: `next_step.due` from today to today + `--days`.
//!
//! The calendar (`--format ics`) holds each open deal's next step (on its
//! due date) and each kickoff (`kickoff_on`), as all-day events.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::base::time::format_date;
use crate::model::config::Config;
use crate::model::deal::{Deal, Place};
use crate::yaml::mapping::{lookup, scalar_text};

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: &'static str,
    pub slug: String,
    pub name: String,
    pub owner: String,
    pub stage: String,
    /// The date the item is about (due date, entry date, created).
    pub date: Option<String>,
    pub what: String,
}

fn rank(kind: &str) -> usize {
    [
        "overdue",
        "uncontacted",
        "no-next-step",
        "close-date-passed",
        "rotting",
        "upcoming",
    ]
    .iter()
    .position(|k| *k == kind)
    .unwrap_or(9)
}

/// The follow-up list for `days` ahead, optionally for one owner.
pub fn items(
    cfg: &Config,
    deals: &[Deal],
    now: DateTime<Utc>,
    days: i64,
    owner: Option<&str>,
) -> Vec<Item> {
    let today = now.date_naive();
    let mut out = Vec::new();
    for d in deals {
        if !d.place.is_open() {
            continue;
        }
        let f = &d.fields;
        let who = f.owner.clone().unwrap_or_default();
        if owner.is_some_and(|o| o != who) {
            continue;
        }
        let item = |kind, date: Option<DateTime<Utc>>, what: String| Item {
            kind,
            slug: d.slug.clone(),
            name: d.name().to_string(),
            owner: who.clone(),
            stage: d.place.id(cfg).to_string(),
            date: date.map(format_date),
            what,
        };
        let action = f.next_action.clone().unwrap_or_else(|| "next step".into());
        if let Some(due) = f.next_due {
            let dd = due.date_naive();
            if dd < today {
                let late = (today - dd).num_days();
                out.push(item(
                    "overdue",
                    Some(due),
                    format!(
                        "{action} ({late} day{} late)",
                        if late == 1 { "" } else { "s" }
                    ),
                ));
            } else if dd <= today + Duration::days(days) {
                out.push(item("upcoming", Some(due), action.clone()));
            }
        }
        let inbound = cfg.is_inbound(f.source.as_deref());
        if inbound
            && f.first_contact.is_none()
            && let Some(c) = f.created
        {
            let waited = (now - c).num_minutes();
            if waited > i64::from(cfg.speed_to_lead_minutes) {
                out.push(item(
                    "uncontacted",
                    Some(c),
                    format!(
                        "inbound lead not contacted for {} (target {} min)",
                        human_minutes(waited),
                        cfg.speed_to_lead_minutes
                    ),
                ));
            }
        }
        let past_proposal = match (d.place, cfg.stage_index("proposal")) {
            (Place::Stage(i), Some(p)) => i >= p,
            _ => false,
        };
        if past_proposal
            && lookup(&d.fm, "next_step.action")
                .and_then(scalar_text)
                .is_none()
        {
            out.push(item(
                "no-next-step",
                d.entered_current(cfg),
                "no next step: agree one with the prospect".into(),
            ));
        }
        if let Some(close) = f.expected_close
            && d.close_date_passed(now)
        {
            let late = (today - close.date_naive()).num_days();
            out.push(item(
                "close-date-passed",
                Some(close),
                format!(
                    "expected to close {late} day{} ago: set a new date or close it",
                    if late == 1 { "" } else { "s" }
                ),
            ));
        }
        if let Some((idle, rot)) = d.rotting(cfg, now) {
            out.push(item(
                "rotting",
                d.entered_current(cfg),
                format!("idle {idle:.1} days (rots after {rot})"),
            ));
        }
    }
    out.sort_by(|a, b| {
        rank(a.kind)
            .cmp(&rank(b.kind))
            .then(a.date.cmp(&b.date))
            .then(a.slug.cmp(&b.slug))
    });
    out
}

fn human_minutes(m: i64) -> String {
    if m < 120 {
        format!("{m} min")
    } else if m < 48 * 60 {
        format!("{} h", m / 60)
    } else {
        format!("{} days", m / 1440)
    }
}

/// Escapes a text value for iCalendar (RFC 5545 §3.3.11).
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
        .replace('\r', "")
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), with CRLF endings.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if n + len > 75 {
            out.push_str("\r\n ");
            n = 1;
        }
        out.push(c);
        n += len;
    }
    out.push_str("\r\n");
    out
}

/// A calendar of next steps and kickoffs.
pub fn ics(cfg: &Config, deals: &[Deal], now: DateTime<Utc>, owner: Option<&str>) -> String {
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let mut events: Vec<(String, String, String, String)> = Vec::new();
    for d in deals {
        let who = d.fields.owner.clone().unwrap_or_default();
        if owner.is_some_and(|o| o != who) {
            continue;
        }
        if d.place.is_open()
            && let Some(due) = d.fields.next_due
        {
            let action = d
                .fields
                .next_action
                .clone()
                .unwrap_or_else(|| "Next step".into());
            events.push((
                due.format("%Y%m%d").to_string(),
                format!("next-step-{}@deal", d.slug),
                format!("{}: {action}", d.name()),
                format!(
                    "Owner: {who}. Stage: {}. File: {}",
                    d.place.id(cfg),
                    d.rel.display()
                ),
            ));
        }
        if let Some(k) = lookup(&d.fm, "kickoff_on")
            .and_then(scalar_text)
            .and_then(|s| crate::base::time::parse_timestamp(&s))
        {
            events.push((
                k.format("%Y%m%d").to_string(),
                format!("kickoff-{}@deal", d.slug),
                format!("Kickoff: {}", d.name()),
                format!(
                    "Owner: {who}. Delivery: {}. File: {}",
                    d.fields.delivery_owner.clone().unwrap_or_default(),
                    d.rel.display()
                ),
            ));
        }
    }
    events.sort();
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//deal//follow-ups//EN",
        "CALSCALE:GREGORIAN",
    ] {
        out.push_str(&fold(l));
    }
    for (date, uid, summary, desc) in events {
        let next = chrono::NaiveDate::parse_from_str(&date, "%Y%m%d")
            .map(|d| (d + Duration::days(1)).format("%Y%m%d").to_string())
            .unwrap_or_else(|_| date.clone());
        for l in [
            "BEGIN:VEVENT".to_string(),
            format!("UID:{uid}"),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART;VALUE=DATE:{date}"),
            format!("DTEND;VALUE=DATE:{next}"),
            format!("SUMMARY:{}", ics_text(&summary)),
            format!("DESCRIPTION:{}", ics_text(&desc)),
            "END:VEVENT".to_string(),
        ] {
            out.push_str(&fold(&l));
        }
    }
    out.push_str(&fold("END:VCALENDAR"));
    out
}
