//! The known front-matter fields of a deal (docs/reference.md), declared
//! once: their paths, kinds and meanings, and for the fields a parsed deal
//! keeps, the member of [`Fields`] that holds each and how it is typed.
//! `deal set` and `deal import` type values by this table, `deal list`
//! sorts by its scalar fields, deal parsing (`deal::type_fields`) fills
//! [`Fields`] from it, and tests hold parsing and the user reference to
//! it, so a new field is one row of [`known_fields!`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::base::error::Error;
use crate::base::money::Amount;
use crate::base::time::{format_date, format_ts, parse_timestamp};
use crate::model::config::Config;
use crate::model::config::{Category, LOST, WON};
use crate::yaml::emit::yaml_scalar;

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

/// How deal parsing reads a field at its path: the value, or `None` when
/// it is absent or null, or of the wrong type (then it records an issue
/// naming the path).
pub trait Reader {
    fn text(&mut self, path: &str) -> Option<String>;
    fn timestamp(&mut self, path: &str) -> Option<DateTime<Utc>>;
}

/// Declares the known fields, once. Each row is a path, its [`Kind`] and
/// its meaning; a field deal parsing keeps adds the [`Fields`] member that
/// holds it and how it is typed: `read` (by its kind, from its own path,
/// in the order of the rows, by [`Fields::read_plain`]) or `own` (by its
/// own step of `deal::type_fields_in`, for a value with more to check).
/// The rows give [`FIELDS`] (in their order), [`Fields`] and the typing.
macro_rules! known_fields {
    ($(
        $path:literal, $kind:ident, $meaning:literal
        $(=> $how:ident $member:ident: $ty:ty)?;
    )*) => {
        /// Every known field.
        pub const FIELDS: &[Field] = &[$(f($path, Kind::$kind, $meaning)),*];

        /// The typed known fields (docs/reference.md). Absent or null
        /// fields are `None` (or empty).
        #[derive(Debug, Clone, Default)]
        pub struct Fields {
            $($(
                #[doc = concat!("`", $path, "`: ", $meaning, ".")]
                pub $member: $ty,
            )?)*
        }

        impl Fields {
            /// Reads the rows typed by their kind into their members.
            pub fn read_plain(&mut self, r: &mut impl Reader) {
                $($(known_fields!(@$how r, self.$member, $kind, $path);)?)*
            }
        }
    };
    (@read $r:ident, $slot:expr, Text, $path:literal) => { $slot = $r.text($path) };
    (@read $r:ident, $slot:expr, Handle, $path:literal) => { $slot = $r.text($path) };
    (@read $r:ident, $slot:expr, Timestamp, $path:literal) => { $slot = $r.timestamp($path) };
    (@own $($rest:tt)*) => {};
}

// `source_id`, `contract` and `delivery_owner` are typed by their own
// step, after the dates, so their issues keep the place they always had.
known_fields! {
    "title", Text, "what the deal is (required)" => read title: Option<String>;
    "owner", Handle, "who owns the deal (required)" => read owner: Option<String>;
    "company", Text, "the customer" => read company: Option<String>;
    "value", Amount, "the deal's value, in `currency`" => own value: Option<Amount>;
    "currency", Text, "default: the pipeline's" => read currency: Option<String>;
    "source", Text, "where the lead came from" => read source: Option<String>;
    "source_id", Text, "the record id in the CRM it was imported from"
        => own source_id: Option<String>;
    "created", Timestamp, "when the lead was captured" => read created: Option<DateTime<Utc>>;
    "first_contact", Timestamp, "the first reply to the lead"
        => read first_contact: Option<DateTime<Utc>>;
    "engaged", Timestamp, "the prospect replied, accepted a call or engaged"
        => read engaged: Option<DateTime<Utc>>;
    "kickoff_on", Timestamp, "the delivery kickoff" => read kickoff_on: Option<DateTime<Utc>>;
    "verbal_agreement_on", Timestamp, "verbal agreement to move to contract"
        => read verbal_agreement_on: Option<DateTime<Utc>>;
    "last_activity", Timestamp, "the last touch; idle time counts from it"
        => read last_activity: Option<DateTime<Utc>>;
    "expected_close", Timestamp, "when the owner expects it to close"
        => read expected_close: Option<DateTime<Utc>>;
    "forecast", Category, "overrides the stage's forecast category"
        => own forecast: Option<Category>;
    "contact", Block, "name, email, phone, role";
    "contact.name", Text, "the contact's name";
    "contact.email", Text, "the contact's email";
    "contact.phone", Text, "the contact's direct dial";
    "contact.role", Text, "the contact's role";
    "next_step", Block, "action and due date";
    "next_step.action", Text, "what happens next" => own next_action: Option<String>;
    "next_step.due", Timestamp, "by when" => own next_due: Option<DateTime<Utc>>;
    "stages", Block, "stage id, won or lost → when the deal last entered it"
        => own stages: BTreeMap<String, DateTime<Utc>>;
    "stages.*", Timestamp, "when the deal last entered that stage";
    "lost", Block, "reason, stage, at: written when a deal is lost";
    "lost.reason", Text, "why it was lost" => own lost_reason: Option<String>;
    "lost.stage", Text, "the stage it was lost from" => own lost_stage: Option<String>;
    "lost.at", Timestamp, "when it was lost" => own lost_at: Option<DateTime<Utc>>;
    "imported", Block, "at, stage: written by `deal import`" => own imported: Option<Imported>;
    "imported.at", Timestamp, "when the deal was imported";
    "imported.stage", Text, "where it came in: the criteria of earlier stages are not enforced";
    "crm", Block, "the CRM's columns kept verbatim by `deal import`, keyed by header";
    "crm.*", Text, "a CRM column's value, verbatim";
    "waived", Block, "stage id → {reason, by, at}, written by a forced move"
        => own waived: BTreeMap<String, Waiver>;
    "waived.*", Text, "why that stage's criteria were waived (the older form: the reason alone)";
    "waived.*.reason", Text, "why that stage's criteria were waived";
    "waived.*.by", Text, "who forced the move: a team handle, or `Name <email>`";
    "waived.*.at", Timestamp, "when the move was forced";
    "objections", Block, "a list of {objection, response, resolved}";
    "objections.*.objection", Text, "the objection, in the prospect's words";
    "objections.*.response", Text, "how it was answered";
    "objections.*.resolved", Bool, "whether it is settled";
    "problem", Block, "confirmed_by, confirmed_on";
    "problem.confirmed_by", Text, "who confirmed the problem statement";
    "problem.confirmed_on", Timestamp, "when";
    "proposal", Block, "reviewed_on";
    "proposal.reviewed_on", Timestamp, "when the proposal was reviewed with the prospect";
    "contract", Text, "a path inside the pipeline, or an http(s) URL"
        => own contract: Option<String>;
    "delivery_owner", Handle, "who delivers once won" => own delivery_owner: Option<String>;
    "icp", Block, "the lead's profile, scored by pipeline.yaml's icp";
}

/// A stage's waiver (`waived.<stage>`): `{reason, by, at}` as `deal move
/// --force` writes it, or the older bare reason (no `by` or `at`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waiver {
    pub reason: String,
    /// Who forced it: a team handle, or `Name <email>`.
    pub by: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// Where and when `deal import` brought a deal in (`imported`): the
/// criteria of the stages before `stage` are its CRM's history
/// (docs/reference.md, "Import"). An older import wrote the date alone
/// (no stage).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub at: Option<DateTime<Utc>>,
    /// A stage id, `won` or `lost`.
    pub stage: Option<String>,
}

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
    // A stage id, `won` or `lost`: the places a deal enters.
    if parts.len() == 2
        && parts[0] == "stages"
        && ![WON, LOST].contains(&parts[1])
        && cfg.stage_index(parts[1]).is_none()
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
            check_member(cfg, raw, &format!("{key}="))?;
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

/// Checks that `handle` is a team member (when there is a team): a
/// [`Kind::Handle`] value, and the handle of an `--owner` flag; `flag`
/// names where it was given.
pub fn check_member(cfg: &Config, handle: &str, flag: &str) -> Result<(), Error> {
    if cfg.team.is_empty() || cfg.team.contains_key(handle) {
        return Ok(());
    }
    Err(Error::usage(
        format!("`{handle}` is not in pipeline.yaml's team"),
        format!(
            "pass {flag} with one of: {}",
            cfg.team.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    ))
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
    use crate::model::notes::Qualification;

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
            &crate::model::config::default_yaml(&[], crate::model::notes::Qualification::Bant),
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

    fn cfg() -> Config {
        let team = [("ann".into(), "Ann".into(), "ann@example.com".into())];
        let yaml = crate::model::config::default_yaml(&team, Qualification::Bant);
        crate::model::deal::fixtures::config(&yaml)
    }

    fn typed(yaml: &str) -> (Fields, Vec<crate::model::deal::SchemaIssue>) {
        let m: serde_yaml::Mapping = serde_yaml::from_str(yaml).unwrap();
        crate::model::deal::type_fields(&m, &cfg())
    }

    #[test]
    fn each_path_is_declared_once() {
        let mut paths: Vec<&str> = FIELDS.iter().map(|f| f.path).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), FIELDS.len());
    }

    #[test]
    fn the_sortable_fields_are_the_scalar_rows_in_table_order() {
        let sortable: Vec<&str> = sortable().collect();
        assert_eq!(
            sortable[..8],
            [
                "title",
                "owner",
                "company",
                "value",
                "currency",
                "source",
                "source_id",
                "created"
            ]
        );
        assert!(sortable.contains(&"next_step.due") && !sortable.contains(&"next_step"));
        assert!(!sortable.iter().any(|p| p.contains('*')));
        assert_eq!(sortable.last(), Some(&"delivery_owner"));
    }

    #[test]
    fn the_rows_read_by_their_kind_fill_their_members() {
        let (f, issues) = typed(
            "title: Acme\nowner: ann\ncompany: Acme Inc\ncurrency: USD\nsource: web\n\
             created: 2026-01-02\nfirst_contact: 2026-01-03\nengaged: 2026-01-04\n\
             kickoff_on: 2026-01-05\nverbal_agreement_on: 2026-01-06\n\
             last_activity: 2026-01-07\nexpected_close: 2026-01-08\n",
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(f.title.as_deref(), Some("Acme"));
        assert_eq!(f.owner.as_deref(), Some("ann"));
        assert_eq!(f.company.as_deref(), Some("Acme Inc"));
        assert_eq!(f.currency.as_deref(), Some("USD"));
        assert_eq!(f.source.as_deref(), Some("web"));
        let days: Vec<String> = [
            f.created,
            f.first_contact,
            f.engaged,
            f.kickoff_on,
            f.verbal_agreement_on,
            f.last_activity,
            f.expected_close,
        ]
        .iter()
        .map(|t| t.map(format_date).unwrap_or_default())
        .collect();
        assert_eq!(
            days,
            (2..=8).map(|d| format!("2026-01-0{d}")).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_row_of_the_wrong_type_is_an_issue_naming_its_path() {
        let (f, issues) = typed("title: Acme\nowner: ann\ncompany: [a, b]\nengaged: true\n");
        assert!(f.company.is_none() && f.engaged.is_none());
        let said: Vec<(&str, &str)> = issues
            .iter()
            .map(|i| (i.key.as_str(), i.message.as_str()))
            .collect();
        assert_eq!(
            said,
            vec![
                ("company", "`company` must be text, not a list"),
                ("engaged", "`engaged` must be a date, not a boolean"),
            ]
        );
    }

    #[test]
    fn issues_come_in_the_order_of_the_typing_steps() {
        // The dates before `source_id`, `contract` and `delivery_owner`,
        // though the table lists `source_id` first; then the checks.
        let (_, issues) = typed(
            "owner: ann\nsource_id: [1]\ncreated: soon\ncontract: {a: 1}\n\
             delivery_owner: [b]\nvalue: lots\n",
        );
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "created",
                "delivery_owner",
                "contract",
                "source_id",
                "title",
                "value"
            ]
        );
    }

    #[test]
    fn a_handle_must_be_in_the_team_and_a_stage_in_the_pipeline() {
        let c = cfg();
        let now = chrono::Utc::now();
        assert_eq!(typed_value(&c, "owner", "ann", now).unwrap(), "ann");
        let e = typed_value(&c, "delivery_owner", "zed", now).unwrap_err();
        assert!(
            e.to_string()
                .contains("`zed` is not in pipeline.yaml's team")
        );
        assert!(check_member(&c, "zed", "--owner").is_err());
        assert!(typed_value(&c, "stages.won", "2026-01-02", now).is_ok());
        let e = typed_value(&c, "stages.nowhere", "2026-01-02", now).unwrap_err();
        assert!(e.to_string().contains("`nowhere` is not a stage"));
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
