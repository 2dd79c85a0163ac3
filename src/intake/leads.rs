//! Lead capture: the `intake` mapping of a form or webhook payload, `icp`
//! scoring and `routing` of new leads (docs/reference.md, "pipeline.yaml").
//!
//! **intake** maps payload keys to front-matter paths; `body` means the
//! deal's notes. Without it: `name` → `contact.name`, `email` →
//! `contact.email`, `company` → `company`, `phone` → `contact.phone`,
//! `message` → body, `source` → `source`, `title` → `title`, `value` →
//! `value`. Payload keys the mapping does not name are kept, never dropped,
//! under `form.<key>`.
//!
//! **icp** scores a lead from 0 to 100:
//! `icp_score = round(100 × Σ weight of the rules that match ÷ Σ weights)`,
//! over up to four rules, each `{ weight: N, … }`:
//! - `industry: { weight, in: [..] }` matches `icp.industry` (any case);
//! - `headcount: { weight, min, max }` matches `icp.headcount` in range;
//! - `tech: { weight, any: [..] }` matches when `icp.tech` (a list, or a
//!   comma-separated string) names any of them;
//! - `budget: { weight, min, max }` matches `value` in range.
//!
//! A missing field matches nothing. `deal new` and `deal import` write the
//! score; `deal list --sort icp_score` ranks leads by it.
//!
//! **routing** picks the owner of a new lead without `--owner`:
//! `rules: [{ field, equals, owner }]` (the first match wins; `equals` is a
//! value or a list), then `round_robin: ROLE`: the member with that role
//! who comes after the owner of the most recently created deal owned by
//! that role's members, in team order. It reads only the pipeline's files,
//! so it works across machines without a state file.

use serde_yaml::{Mapping, Value};

use crate::base::error::Error;
use crate::model::config::{Config, IcpKind};
use crate::model::deal::Deal;
use crate::yaml::mapping::{lookup, scalar_text};

/// The intake mapping: payload key → front-matter path (or `body`).
pub fn intake(cfg: &Config) -> Vec<(String, String)> {
    match &cfg.intake {
        Some(m) => m.clone(),
        None => [
            ("title", "title"),
            ("name", "contact.name"),
            ("email", "contact.email"),
            ("company", "company"),
            ("phone", "contact.phone"),
            ("message", "body"),
            ("source", "source"),
            ("value", "value"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
    }
}

/// A lead read from a payload: front-matter assignments and the body text.
pub struct Lead {
    pub sets: Vec<(String, String)>,
    pub body: Option<String>,
    pub title: String,
    pub unmapped: Vec<String>,
}

/// Reads a JSON payload through the intake mapping. Refuses, naming the
/// reason, a payload that is not a JSON object, a structured value where a
/// field belongs, a bad email, or one with nothing to name the lead by.
pub fn read_payload(cfg: &Config, text: &str) -> Result<Lead, Error> {
    let refuse = |m: String| Error::usage(format!("bad payload: {m}"), "nothing was written");
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| refuse(format!("not JSON ({e})")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| refuse("a JSON object of fields is expected".into()))?;
    let map = intake(cfg);
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut body = None;
    let mut unmapped = Vec::new();
    let text_of = |k: &str, v: &serde_json::Value| -> Result<Option<String>, Error> {
        match v {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => {
                Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
            }
            serde_json::Value::Number(n) => Ok(Some(n.to_string())),
            serde_json::Value::Bool(b) => Ok(Some(b.to_string())),
            _ => Err(refuse(format!(
                "`{k}` holds a list or an object; a single value is expected"
            ))),
        }
    };
    for (k, val) in obj {
        match map.iter().find(|(pk, _)| pk == k) {
            Some((_, path)) => {
                let Some(t) = text_of(k, val)? else { continue };
                if path == "body" {
                    body = Some(t);
                } else {
                    sets.push((path.clone(), t));
                }
            }
            None => {
                let t = match val {
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        Some(val.to_string())
                    }
                    other => text_of(k, other)?,
                };
                let mut key: String = k
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                // Form builders send numbered and empty keys (`"0"`, `""`):
                // a number would be read as a list index and an empty key
                // as no key, so they are kept as `form._0` and `form._`.
                if key.is_empty() || key.bytes().all(|b| b.is_ascii_digit()) {
                    key.insert(0, '_');
                }
                // Two keys that come out the same (`a b`, `a_b`) stay two.
                let base = key.clone();
                let mut n = 2;
                while sets.iter().any(|(p, _)| *p == format!("form.{key}")) {
                    key = format!("{base}_{n}");
                    n += 1;
                }
                if let Some(t) = t {
                    sets.push((format!("form.{key}"), t));
                    unmapped.push(k.clone());
                }
            }
        }
    }
    if let Some((_, e)) = sets.iter().find(|(p, _)| p == "contact.email")
        && !crate::rules::criteria::is_email(e)
    {
        return Err(refuse(format!("`{e}` is not an email address")));
    }
    let get = |p: &str| sets.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone());
    let title = get("title")
        .or_else(|| get("company"))
        .or_else(|| get("contact.name"))
        .or_else(|| get("contact.email"))
        .ok_or_else(|| refuse("no title, company, name or email to name the lead by".into()))?;
    sets.retain(|(k, _)| k != "title");
    Ok(Lead {
        sets,
        body,
        title,
        unmapped,
    })
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The ICP score of a front-matter, if `icp` rules are set.
pub fn icp_score(cfg: &Config, fm: &Mapping) -> Option<u32> {
    let rules = cfg.icp.as_ref()?;
    let in_range = |v: Option<f64>, min: Option<f64>, max: Option<f64>| {
        v.is_some_and(|v| v >= min.unwrap_or(f64::MIN) && v <= max.unwrap_or(f64::MAX))
    };
    let mut total = 0.0f64;
    let mut got = 0.0f64;
    for r in rules {
        let hit = match &r.kind {
            IcpKind::Industry(list) => lookup(fm, "icp.industry")
                .and_then(scalar_text)
                .is_some_and(|i| list.contains(&i.to_lowercase())),
            IcpKind::Headcount { min, max } => {
                in_range(lookup(fm, "icp.headcount").and_then(num), *min, *max)
            }
            IcpKind::Budget { min, max } => in_range(lookup(fm, "value").and_then(num), *min, *max),
            IcpKind::Tech(want) => {
                let have: Vec<String> = match lookup(fm, "icp.tech") {
                    Some(Value::Sequence(s)) => s.iter().filter_map(scalar_text).collect(),
                    Some(v) => scalar_text(v)
                        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                have.iter().any(|h| want.contains(&h.to_lowercase()))
            }
        };
        total += r.weight;
        if hit {
            got += r.weight;
        }
    }
    (total > 0.0).then(|| (100.0 * got / total).round() as u32)
}

/// The edit that writes `icp_score` into a deal's text, when `icp` rules
/// are set (an unparsable front-matter scores as empty).
pub fn icp_op(cfg: &Config, text: &str) -> Option<crate::yaml::edit::Op> {
    cfg.icp.as_ref()?;
    let fm = crate::yaml::edit::mapping_of(text).unwrap_or_default();
    icp_score(cfg, &fm).map(|s| crate::yaml::edit::Op::set("icp_score", s.to_string()))
}

/// The owner `routing` picks for a new lead, if any.
pub fn route(cfg: &Config, fm: &Mapping, deals: &[Deal]) -> Option<String> {
    let r = cfg.routing.as_ref()?;
    for rule in &r.rules {
        let have = lookup(fm, &rule.field).and_then(scalar_text);
        if have.is_some_and(|h| rule.equals.iter().any(|w| w.eq_ignore_ascii_case(&h))) {
            return Some(rule.owner.clone());
        }
    }
    let role = r.round_robin.as_ref()?;
    let members: Vec<&String> = cfg
        .team
        .iter()
        .filter(|(_, m)| m.roles.iter().any(|x| x == role))
        .map(|(h, _)| h)
        .collect();
    if members.is_empty() {
        return None;
    }
    let last = deals
        .iter()
        .filter(|d| {
            d.fields
                .owner
                .as_ref()
                .is_some_and(|o| members.contains(&o))
        })
        .filter_map(|d| {
            d.fields
                .created
                .map(|c| (c, d.slug.clone(), d.fields.owner.clone()))
        })
        .max();
    let next = match last.and_then(|(_, _, o)| o) {
        Some(o) => {
            let i = members.iter().position(|m| **m == o).unwrap_or(0);
            members[(i + 1) % members.len()]
        }
        None => members[0],
    };
    Some(next.clone())
}
