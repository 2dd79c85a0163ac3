//! The known front-matter fields of a deal (SPEC §2), written once: their
//! paths, types and meanings. `deal set` and `deal import` type values by
//! this table, `deal list` sorts by its scalar fields, and tests hold deal
//! parsing (`deal::type_fields`) and the user reference (docs/reference.md)
//! to it, so a new field is one row here.

use chrono::{DateTime, Utc};

use crate::base::error::Error;
use crate::base::time::{format_date, format_ts, parse_timestamp};
use crate::model::config::{Config, yaml_scalar};

/// How a field's value is written and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// A timestamp (RFC 3339, or a plain date meaning that day in UTC).
    Timestamp,
    /// A number ≥ 0.
    Amount,
    /// A handle from `team`.
    Handle,
    /// `true` or `false`.
    Bool,
    /// One of `commit`, `best_case`, `pipeline`, `omitted`.
    Category,
    /// A mapping or list, set through its own paths.
    Block,
}

/// One known field.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The dotted path (`next_step.due`); `*` stands for any key or item.
    pub path: &'static str,
    pub kind: Kind,
    pub meaning: &'static str,
}

const fn f(path: &'static str, kind: Kind, meaning: &'static str) -> Field {
    Field {
        path,
        kind,
        meaning,
    }
}

/// Every known field.
pub const FIELDS: &[Field] = &[
    f("title", Kind::Text, "what the deal is (required)"),
    f("owner", Kind::Handle, "who owns the deal (required)"),
    f("company", Kind::Text, "the customer"),
    f("value", Kind::Amount, "the deal's value, in `currency`"),
    f("currency", Kind::Text, "default: the pipeline's"),
    f("source", Kind::Text, "where the lead came from"),
    f(
        "source_id",
        Kind::Text,
        "the record id in the CRM it was imported from",
    ),
    f("created", Kind::Timestamp, "when the lead was captured"),
    f(
        "first_contact",
        Kind::Timestamp,
        "the first reply to the lead",
    ),
    f(
        "engaged",
        Kind::Timestamp,
        "the prospect replied, accepted a call or engaged",
    ),
    f("kickoff_on", Kind::Timestamp, "the delivery kickoff"),
    f(
        "verbal_agreement_on",
        Kind::Timestamp,
        "verbal agreement to move to contract",
    ),
    f(
        "last_activity",
        Kind::Timestamp,
        "the last touch; idle time counts from it",
    ),
    f(
        "expected_close",
        Kind::Timestamp,
        "when the owner expects it to close",
    ),
    f(
        "forecast",
        Kind::Category,
        "overrides the stage's forecast category",
    ),
    f("contact", Kind::Block, "name, email, phone, role"),
    f("contact.name", Kind::Text, "the contact's name"),
    f("contact.email", Kind::Text, "the contact's email"),
    f("contact.phone", Kind::Text, "the contact's direct dial"),
    f("contact.role", Kind::Text, "the contact's role"),
    f("next_step", Kind::Block, "action and due date"),
    f("next_step.action", Kind::Text, "what happens next"),
    f("next_step.due", Kind::Timestamp, "by when"),
    f(
        "stages",
        Kind::Block,
        "stage id, won or lost → when the deal last entered it",
    ),
    f(
        "stages.*",
        Kind::Timestamp,
        "when the deal last entered that stage",
    ),
    f(
        "lost",
        Kind::Block,
        "reason, stage, at: written when a deal is lost",
    ),
    f("lost.reason", Kind::Text, "why it was lost"),
    f("lost.stage", Kind::Text, "the stage it was lost from"),
    f("lost.at", Kind::Timestamp, "when it was lost"),
    f(
        "imported",
        Kind::Block,
        "at, stage: written by `deal import`",
    ),
    f("imported.at", Kind::Timestamp, "when the deal was imported"),
    f(
        "imported.stage",
        Kind::Text,
        "where it came in: the criteria of earlier stages are not enforced",
    ),
    f(
        "crm",
        Kind::Block,
        "the CRM's columns kept verbatim by `deal import`, keyed by header",
    ),
    f("crm.*", Kind::Text, "a CRM column's value, verbatim"),
    f(
        "waived",
        Kind::Block,
        "stage id → {reason, by, at}, written by a forced move",
    ),
    f(
        "waived.*",
        Kind::Text,
        "why that stage's criteria were waived (the older form: the reason alone)",
    ),
    f(
        "waived.*.reason",
        Kind::Text,
        "why that stage's criteria were waived",
    ),
    f(
        "waived.*.by",
        Kind::Text,
        "who forced the move: a team handle, or `Name <email>`",
    ),
    f("waived.*.at", Kind::Timestamp, "when the move was forced"),
    f(
        "objections",
        Kind::Block,
        "a list of {objection, response, resolved}",
    ),
    f(
        "objections.*.objection",
        Kind::Text,
        "the objection, in the prospect's words",
    ),
    f("objections.*.response", Kind::Text, "how it was answered"),
    f("objections.*.resolved", Kind::Bool, "whether it is settled"),
    f("problem", Kind::Block, "confirmed_by, confirmed_on"),
    f(
        "problem.confirmed_by",
        Kind::Text,
        "who confirmed the problem statement",
    ),
    f("problem.confirmed_on", Kind::Timestamp, "when"),
    f("proposal", Kind::Block, "reviewed_on"),
    f(
        "proposal.reviewed_on",
        Kind::Timestamp,
        "when the proposal was reviewed with the prospect",
    ),
    f(
        "contract",
        Kind::Text,
        "a path inside the pipeline, or an http(s) URL",
    ),
    f("delivery_owner", Kind::Handle, "who delivers once won"),
    f(
        "icp",
        Kind::Block,
        "the lead's profile, scored by pipeline.yaml's icp",
    ),
];

/// Where a view prints a key in its own place (the others it lists
/// together): `deal show`, the report's deal page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Show,
    Page,
}

/// The keys each view prints in their own places: (key, show, page).
const APART: &[(&str, bool, bool)] = &[
    ("title", true, true),
    ("company", true, true),
    ("owner", true, true),
    ("value", true, true),
    ("currency", true, true),
    ("created", true, false),
    ("contact", true, true),
    ("next_step", true, true),
    ("stages", true, true),
    ("waived", true, true),
    ("lost", true, true),
    ("objections", true, false),
    ("expected_close", true, false),
    ("forecast", true, false),
    ("contract", false, true),
];

/// Whether `view` prints the top-level key `key` in its own place.
pub fn shown_apart(view: View, key: &str) -> bool {
    APART
        .iter()
        .any(|(k, show, page)| *k == key && if view == View::Show { *show } else { *page })
}

/// Whether a path segment stands for `pattern`'s (`*` is any key or item).
fn matches(pattern: &str, path: &str) -> bool {
    let (p, k): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), path.split('.').collect());
    p.len() == k.len() && p.iter().zip(&k).all(|(a, b)| *a == "*" || a == b)
}

/// The known field at `path`, if there is one.
pub fn get(path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| matches(f.path, path))
}

/// The kind of the field at `path`, if it is known.
pub fn kind(path: &str) -> Option<Kind> {
    get(path).map(|f| f.kind)
}

/// Known fields one may sort by: the scalar ones without a `*`.
pub fn sortable() -> impl Iterator<Item = &'static str> {
    FIELDS
        .iter()
        .filter(|f| f.kind != Kind::Block && !f.path.contains('*'))
        .map(|f| f.path)
}

/// The known field an unknown `key` is most likely a typo of: one within
/// two edits (a swap of two letters counts as one), e.g. `vaule` → `value`,
/// `next_step.dve` → `next_step.due`; a word of four letters or fewer only
/// within one, so a short field of one's own (`tags`) is not taken for a
/// known one (`stages`). `*` in a known path stands for the key's own
/// segment there. `None` for a known key or one far from all.
pub fn near_miss(key: &str) -> Option<String> {
    if get(key).is_some() {
        return None;
    }
    let segs: Vec<&str> = key.split('.').collect();
    FIELDS
        .iter()
        .filter_map(|f| {
            let pat: Vec<&str> = f.path.split('.').collect();
            if pat.len() != segs.len() {
                return None;
            }
            let mut total = 0;
            for (p, s) in pat.iter().zip(&segs) {
                if *p == "*" || p == s {
                    continue;
                }
                let d = strsim::osa_distance(p, s);
                if d > if s.chars().count() <= 4 { 1 } else { 2 } {
                    return None;
                }
                total += d;
            }
            let known: Vec<&str> = pat
                .iter()
                .zip(&segs)
                .map(|(p, s)| if *p == "*" { *s } else { *p })
                .collect();
            (total <= 2).then(|| (total, known.join(".")))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The YAML text to write for `key=raw`, typed by the table above: numbers for
/// `value`, real booleans for `objections[].resolved`, timestamps where
/// dates belong (`today` and `now` are accepted), strings where strings
/// belong (quoted when they would read as something else), team handles
/// for owners. Other keys are custom fields: numbers and booleans are
/// kept, anything else is a string. An empty value writes null.
pub fn typed_value(
    cfg: &Config,
    key: &str,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let raw = raw.trim();
    let bad = |what: &str, example: &str| {
        Error::usage(
            format!("`{key}` must be {what}, not `{raw}`"),
            format!("write e.g. `{key}={example}`"),
        )
    };
    use crate::model::fields::Kind;
    let kind = crate::model::fields::kind(key);
    if kind == Some(Kind::Block) {
        return Err(Error::usage(
            format!("`{key}` holds several fields; set them one by one"),
            match key {
                "objections" => "e.g. `objections.0.resolved=true`".to_string(),
                "stages" => "e.g. `stages.discovery=2026-11-20`; to move a deal, use `deal move`"
                    .to_string(),
                _ => format!("e.g. `{key}.<field>=…`"),
            },
        ));
    }
    if raw.is_empty() {
        return Ok(String::new());
    }
    let parts: Vec<&str> = key.split('.').collect();
    if parts.len() == 2
        && parts[0] == "stages"
        && crate::model::deal::Place::parse(parts[1], cfg).is_none()
    {
        return Err(Error::usage(
            format!("`{}` is not a stage of this pipeline", parts[1]),
            cfg.stage_hint(),
        ));
    }
    match kind {
        Some(Kind::Timestamp) => {
            return match raw {
                "today" => Ok(format_date(now)),
                "now" => Ok(format_ts(now)),
                _ if parse_timestamp(raw).is_some() => Ok(raw.to_string()),
                _ => Err(bad(
                    "a date (YYYY-MM-DD) or an RFC 3339 timestamp",
                    "2026-12-01",
                )),
            };
        }
        Some(Kind::Amount) => {
            // The amounts `deal import` reads (docs/reference.md, "Money").
            return match crate::base::money::parse(raw, false) {
                Ok((n, _)) => Ok(n.to_string()),
                Err(why) => Err(Error::usage(
                    format!("`{key}` must be a number ≥ 0 and below 10^15, not `{raw}`: {why}"),
                    format!("write e.g. `{key}=48000` or `{key}=\"$12,400.00\"`"),
                )),
            };
        }
        Some(Kind::Category) => {
            return match crate::model::config::Category::parse(raw) {
                Some(c) => Ok(c.as_str().to_string()),
                None => Err(bad("commit, best_case, pipeline or omitted", "best_case")),
            };
        }
        Some(Kind::Bool) => {
            return match raw {
                "true" | "false" => Ok(raw.to_string()),
                "no" | "n" | "off" => Err(bad("true or false", "false")),
                _ => Err(bad("true or false", "true")),
            };
        }
        Some(Kind::Handle) => {
            crate::rules::transition::check_member(cfg, raw, &format!("{key}="))?;
            return Ok(yaml_scalar(raw));
        }
        Some(Kind::Text) => return Ok(yaml_scalar(raw)),
        Some(Kind::Block) | None => {}
    }
    // A custom field: keep numbers and booleans, quote anything else that
    // YAML would read as something other than this string.
    match serde_yaml::from_str::<serde_yaml::Value>(raw) {
        Ok(serde_yaml::Value::Number(_)) | Ok(serde_yaml::Value::Bool(_)) => Ok(raw.to_string()),
        _ => Ok(yaml_scalar(raw)),
    }
}

/// The currency an amount as written names (`USD 12`, `$12`), if any: the
/// deal's currency, which `deal new` writes and `deal set` checks.
pub fn amount_currency(raw: &str) -> Option<crate::base::money::Named> {
    crate::base::money::parse(raw, false)
        .ok()
        .and_then(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_keys_and_items_find_their_row() {
        assert_eq!(kind("stages.outreach"), Some(Kind::Timestamp));
        assert_eq!(kind("objections.0.resolved"), Some(Kind::Bool));
        assert_eq!(kind("waived.discovery"), Some(Kind::Text));
        assert_eq!(kind("next_step"), Some(Kind::Block));
        assert_eq!(kind("tier"), None);
        assert_eq!(kind("stages"), Some(Kind::Block));
    }

    #[test]
    fn near_misses_name_the_known_field() {
        assert_eq!(near_miss("vaule").as_deref(), Some("value"));
        assert_eq!(near_miss("ownr").as_deref(), Some("owner"));
        assert_eq!(near_miss("next_step.dve").as_deref(), Some("next_step.due"));
        assert_eq!(
            near_miss("objections.0.resolvd").as_deref(),
            Some("objections.0.resolved")
        );
        assert_eq!(near_miss("value"), None);
        assert_eq!(near_miss("tier"), None);
        assert_eq!(near_miss("icp.industry"), None);
        assert_eq!(near_miss("renewal_date"), None);
        assert_eq!(near_miss("tags"), None);
        assert_eq!(near_miss("tags.+"), None);
        assert_eq!(
            near_miss("expected_clsoe").as_deref(),
            Some("expected_close")
        );
    }

    #[test]
    fn every_top_level_timestamp_is_typed_by_deal_parsing() {
        // A field of kind Timestamp must be read as one: a bad date is a
        // schema issue naming it.
        let cfg = crate::model::config::parse(
            &crate::model::config::default_yaml(&[], crate::model::config::Qualification::Bant),
            std::path::Path::new("pipeline.yaml"),
            &crate::model::notes::Templates::builtin_only(),
        )
        .unwrap();
        for f in FIELDS
            .iter()
            .filter(|f| f.kind == Kind::Timestamp && !f.path.contains('*'))
        {
            let yaml = f
                .path
                .split('.')
                .rev()
                .fold("not-a-date".to_string(), |v, k| format!("{{\"{k}\": {v}}}"));
            let m: serde_yaml::Mapping = serde_yaml::from_str(&yaml).unwrap();
            let (_, issues) = crate::model::deal::type_fields(&m, &cfg);
            assert!(
                issues
                    .iter()
                    .any(|i| i.key.starts_with(f.path.split('.').next().unwrap())),
                "{}: no schema issue for a bad date: {issues:?}",
                f.path
            );
        }
    }

    #[test]
    fn the_user_reference_documents_every_field() {
        let doc = include_str!("../../docs/reference.md");
        for f in FIELDS {
            // A top-level field has its own row; a nested one is named in
            // its parent's row (`contact` | `{name, email, phone, role}`).
            let segs: Vec<&str> = f.path.split('.').filter(|s| *s != "*").collect();
            let row = doc
                .lines()
                .find(|l| {
                    l.starts_with("| `")
                        && l.split(" | ")
                            .next()
                            .is_some_and(|c| c.contains(&format!("`{}`", segs[0])))
                })
                .unwrap_or_else(|| panic!("docs/reference.md has no row for `{}`", segs[0]));
            if let Some(child) = segs.get(1) {
                assert!(
                    row.contains(child),
                    "the `{}` row does not name `{child}`",
                    segs[0]
                );
            }
        }
    }
}
