//! A deal: one Markdown file with YAML front-matter, in a stage folder.
//!
//! The front-matter is kept as a YAML mapping (unknown keys are the users'
//! custom fields and are kept), and the known fields (declared once in
//! [`crate::model::fields`]) are typed into [`Fields`]. A wrong type is a
//! [`SchemaIssue`], never a panic.

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_yaml::{Mapping, Value};

use crate::base::time::parse_timestamp;
use crate::model::body::{self, Outline};
use crate::model::config::{Config, LOST, WON};
use crate::model::fields::{Fields, Imported, Waiver};
use crate::yaml::frontmatter::{self, Split, SplitError};
use crate::yaml::mapping::{ParseProblem, kind_name, lookup, parse_mapping, scalar_text};

/// Where a deal sits: a stage (by index) or an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    Stage(usize),
    Won,
    Lost,
}

impl Place {
    /// The id shown to users: the stage id, `won` or `lost`.
    pub fn id(self, cfg: &Config) -> &str {
        match self {
            Place::Stage(i) => &cfg.stages[i].id,
            Place::Won => WON,
            Place::Lost => LOST,
        }
    }

    /// Parses a stage id or outcome.
    pub fn parse(id: &str, cfg: &Config) -> Option<Place> {
        match id {
            WON => Some(Place::Won),
            LOST => Some(Place::Lost),
            _ => cfg.stage_index(id).map(Place::Stage),
        }
    }

    /// The folder, relative to `deals_dir`.
    pub fn dir(self, cfg: &Config) -> &str {
        match self {
            Place::Stage(i) => &cfg.stages[i].dir,
            Place::Won => WON,
            Place::Lost => LOST,
        }
    }

    /// Position in the process: stages in order, then won, then lost.
    pub fn ordinal(self, cfg: &Config) -> usize {
        match self {
            Place::Stage(i) => i,
            Place::Won => cfg.stages.len(),
            Place::Lost => cfg.stages.len() + 1,
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, Place::Stage(_))
    }
}

/// A front-matter problem with a known field.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaIssue {
    /// The key path, e.g. `objections[1].resolved`.
    pub key: String,
    pub message: String,
    pub help: String,
}

/// Who forced a move or wrote a waiver, when nothing says (the older
/// waivers, `waived.<stage>: reason`), as `stats` and `audit` list them.
pub const NOT_RECORDED: &str = "(not recorded)";

/// A parsed deal file.
#[derive(Debug)]
pub struct Deal {
    pub slug: String,
    /// Path relative to the pipeline root.
    pub rel: PathBuf,
    pub place: Place,
    pub text: String,
    pub split: Split,
    pub fm: Mapping,
    pub fields: Fields,
    pub issues: Vec<SchemaIssue>,
    outline: OnceLock<Outline>,
}

impl Deal {
    /// Parses a deal file's bytes. `Err` when it has no usable front-matter.
    pub fn parse(
        slug: String,
        rel: PathBuf,
        place: Place,
        bytes: Vec<u8>,
        cfg: &Config,
    ) -> Result<Deal, ParseProblem> {
        let problem = |e: SplitError| {
            let (message, help) = e.describe();
            ParseProblem {
                line: e.line(),
                col: None,
                message,
                help: help.into(),
                excerpt: None,
            }
        };
        frontmatter::as_text(&bytes).map_err(problem)?;
        let text =
            String::from_utf8(bytes).map_err(|_| problem(SplitError::NotUtf8 { line: 1 }))?;
        let split = frontmatter::split(&text).map_err(problem)?;
        let fm = parse_mapping(&text[split.yaml.clone()], split.yaml_line).map_err(|mut p| {
            if let Some(c) = p.col {
                p.excerpt = crate::base::diag::line_of(&text, p.line)
                    .map(|l| crate::base::diag::excerpt(p.line, l, c));
            }
            p
        })?;
        let (fields, issues) = type_fields_in(&fm, Some(&text[split.yaml.clone()]), cfg);
        Ok(Deal {
            slug,
            rel,
            place,
            text,
            split,
            fm,
            fields,
            issues,
            outline: OnceLock::new(),
        })
    }

    /// The typed `value`, `currency` and `stages` of a deal file, read by
    /// [`crate::yaml::quick`] without the YAML parser: `None` unless the file
    /// is text with a front-matter in that module's plain subset, and so
    /// one [`Deal::parse`] reads without error. The other fields are left
    /// unset: this is for summaries over many file versions (`deal trend`).
    pub fn quick_fields(bytes: &[u8], cfg: &Config) -> Option<Fields> {
        let text = frontmatter::as_text(bytes).ok()?;
        let split = frontmatter::split(text).ok()?;
        let wanted = crate::yaml::quick::scan(&text[split.yaml], &["value", "currency", "stages"])?;
        Some(type_summary_fields(&wanted, cfg))
    }

    /// The front-matter's YAML text.
    pub fn yaml(&self) -> &str {
        self.text.get(self.split.yaml.clone()).unwrap_or("")
    }

    /// The Markdown body (empty once [`Deal::shrink`] dropped the text).
    pub fn body(&self) -> &str {
        self.text.get(self.split.body..).unwrap_or("")
    }

    /// Keeps only the typed fields, place and names: the text, the raw
    /// front-matter and the outline are dropped. For commands that hold
    /// every deal but read only typed fields (`deal stats`), so a large
    /// pipeline's memory stays small.
    pub fn shrink(&mut self) {
        self.text = String::new();
        self.fm = Mapping::new();
        self.outline = OnceLock::new();
    }

    /// The body's outline, parsed on first use.
    pub fn outline(&self) -> &Outline {
        self.outline.get_or_init(|| body::outline(self.body()))
    }

    /// The file line of a front-matter key, or of the opening fence.
    pub fn line_of(&self, key: &str) -> (usize, Option<usize>) {
        match crate::yaml::positions::locate(self.yaml(), &crate::yaml::positions::parse_path(key))
        {
            Some(p) => (p.line + self.split.yaml_line - 1, Some(p.col)),
            None => (1, None),
        }
    }

    /// A display name: company, else title, else slug.
    pub fn name(&self) -> &str {
        self.fields
            .company
            .as_deref()
            .or(self.fields.title.as_deref())
            .unwrap_or(&self.slug)
    }

    /// When the deal entered its current place, if recorded.
    pub fn entered_current(&self, cfg: &Config) -> Option<DateTime<Utc>> {
        self.fields.stages.get(self.place.id(cfg)).copied()
    }

    /// For an open deal whose stage rots and that has gone idle past
    /// `rot_after_days`: (days idle, rot_after_days). Idle time runs from the
    /// later of `stages.<current>` and `last_activity`.
    pub fn rotting(&self, cfg: &Config, now: DateTime<Utc>) -> Option<(f64, f64)> {
        let Place::Stage(i) = self.place else {
            return None;
        };
        let rot = cfg.stages[i].rot_after_days?;
        let since = [self.entered_current(cfg), self.fields.last_activity]
            .into_iter()
            .flatten()
            .max()?;
        let idle = crate::base::time::days_between(since, now);
        (idle > rot).then_some((idle, rot))
    }

    /// The forecast category: the `forecast` field, else the stage's.
    /// `None` for closed deals.
    pub fn category(&self, cfg: &Config) -> Option<crate::model::config::Category> {
        match self.place {
            Place::Stage(i) => Some(self.fields.forecast.unwrap_or(cfg.stages[i].category())),
            _ => None,
        }
    }

    /// Whether an open deal's `expected_close` is before today (UTC).
    pub fn close_date_passed(&self, now: DateTime<Utc>) -> bool {
        self.place.is_open()
            && self
                .fields
                .expected_close
                .is_some_and(|c| c.date_naive() < now.date_naive())
    }

    /// Whether an open deal's `next_step.due` is before today.
    pub fn next_step_overdue(&self, now: DateTime<Utc>) -> bool {
        self.place.is_open()
            && self
                .fields
                .next_due
                .is_some_and(|due| due.date_naive() < now.date_naive())
    }
}

struct Typer<'a> {
    m: &'a Mapping,
    /// The front-matter's text, when known: `value` is read from it exactly.
    yaml: Option<&'a str>,
    issues: Vec<SchemaIssue>,
}

impl Typer<'_> {
    fn issue(&mut self, key: &str, message: String, help: impl Into<String>) {
        self.issues.push(SchemaIssue {
            key: key.to_string(),
            message,
            help: help.into(),
        });
    }

    fn string_at(&mut self, key: &str, v: Option<&Value>) -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                let k = kind_name(other);
                self.issue(
                    key,
                    format!("`{key}` must be text, not a {k}"),
                    format!("write `{key}: some text`"),
                );
                None
            }
        }
    }

    fn string(&mut self, key: &str) -> Option<String> {
        let v = lookup(self.m, key);
        self.string_at(key, v)
    }

    fn ts_at(&mut self, key: &str, v: Option<&Value>) -> Option<DateTime<Utc>> {
        match v? {
            Value::String(s) => {
                let t = parse_timestamp(s);
                if t.is_none() {
                    self.issue(
                        key,
                        format!("`{key}` is not a valid date: `{s}`"),
                        format!(
                            "write a date such as `{key}: 2026-11-30` or an RFC 3339 timestamp"
                        ),
                    );
                }
                t
            }
            other => {
                let k = kind_name(other);
                self.issue(
                    key,
                    format!("`{key}` must be a date, not a {k}"),
                    format!("write a date such as `{key}: 2026-11-30`"),
                );
                None
            }
        }
    }

    fn ts(&mut self, key: &str) -> Option<DateTime<Utc>> {
        let v = lookup(self.m, key);
        self.ts_at(key, v)
    }

    fn mapping(&mut self, key: &str, fields: &str) -> Option<&Mapping> {
        match lookup(self.m, key)? {
            Value::Mapping(mm) => Some(mm),
            other => {
                let k = kind_name(other);
                self.issue(
                    key,
                    format!("`{key}` must be a mapping with {fields}, not a {k}"),
                    format!("write `{key}:` and the keys indented under it"),
                );
                None
            }
        }
    }
}

impl crate::model::fields::Reader for Typer<'_> {
    fn text(&mut self, path: &str) -> Option<String> {
        self.string(path)
    }

    fn timestamp(&mut self, path: &str) -> Option<DateTime<Utc>> {
        self.ts(path)
    }
}

// `value` and `stages`, the fields a summary of many versions reads with
// `currency` ([`Deal::quick_fields`]): typed here for both paths.

fn type_value(t: &mut Typer, f: &mut Fields) {
    match lookup(t.m, "value") {
        None => {}
        Some(Value::Number(n)) => {
            let read = if let Some(i) = n.as_u64() {
                crate::base::money::from_i128(i.into())
            } else if let Some(i) = n.as_i64() {
                crate::base::money::from_i128(i.into())
            } else {
                let x = n.as_f64().unwrap_or(f64::NAN);
                // The digits as written, when they are the number YAML read.
                match t
                    .yaml
                    .and_then(value_digits)
                    .filter(|d| d.parse::<f64>() == Ok(x))
                    .and_then(|d| d.parse::<crate::base::money::Amount>().ok())
                {
                    Some(exact) => crate::base::money::check_range(exact),
                    None => crate::base::money::from_f64(x),
                }
            };
            match read {
                Ok(v) => f.value = Some(v),
                Err(why) => t.issue(
                    "value",
                    format!("`value` must be a number ≥ 0 and below 10^15, not {n} ({why})"),
                    "write the amount, e.g. `value: 48000`",
                ),
            }
        }
        Some(other) => {
            let shown = scalar_text(other).unwrap_or_else(|| kind_name(other).to_string());
            t.issue(
                "value",
                format!("`value` must be a number, not `{shown}`"),
                "write the amount without quotes, units or separators, e.g. `value: 48000`",
            );
        }
    }
}

/// The digits of a top-level `value:` written as a plain decimal number
/// (`value: 12345678901234.567`, a comment after it allowed), if exactly
/// one line says so.
fn value_digits(yaml: &str) -> Option<&str> {
    let mut found = yaml.lines().filter_map(|l| {
        let rest = l.strip_prefix("value:")?;
        let rest = rest.split(" #").next().unwrap_or(rest).trim();
        let digits = rest.strip_prefix('+').unwrap_or(rest);
        (!digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            && digits.chars().filter(|c| *c == '.').count() <= 1
            && digits.chars().any(|c| c.is_ascii_digit()))
        .then_some(digits)
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn type_stages(t: &mut Typer, cfg: &Config, f: &mut Fields) {
    if let Some(st) = t.mapping("stages", "stage ids and dates").cloned() {
        for (k, v) in &st {
            let Some(id) = k.as_str() else { continue };
            let key = format!("stages.{id}");
            if Place::parse(id, cfg).is_none() {
                t.issue(
                    &key,
                    format!("`{id}` is not a stage of this pipeline"),
                    cfg.stage_hint(),
                );
                continue;
            }
            if let Some(ts) = t.ts_at(&key, (!v.is_null()).then_some(v)) {
                f.stages.insert(id.to_string(), ts);
            }
        }
    }
}

/// [`type_fields_in`] of `currency`, `value` and `stages` alone, its
/// issues dropped.
pub fn type_summary_fields(m: &Mapping, cfg: &Config) -> Fields {
    let mut t = Typer {
        m,
        yaml: None,
        issues: Vec::new(),
    };
    let mut f = Fields {
        currency: t.string("currency"),
        ..Fields::default()
    };
    type_value(&mut t, &mut f);
    type_stages(&mut t, cfg, &mut f);
    f
}

/// Types the known fields of a front-matter mapping.
#[cfg(test)]
pub fn type_fields(m: &Mapping, cfg: &Config) -> (Fields, Vec<SchemaIssue>) {
    type_fields_in(m, None, cfg)
}

/// [`type_fields`] of a mapping parsed from `yaml`: a fractional `value`
/// is read from its written digits, exactly (`999999999999999.99`, which
/// a float would make 10^15), not from the float YAML parsed it into.
/// The steps run in this order, which is the order of the issues.
pub fn type_fields_in(m: &Mapping, yaml: Option<&str>, cfg: &Config) -> (Fields, Vec<SchemaIssue>) {
    let mut t = Typer {
        m,
        yaml,
        issues: Vec::new(),
    };
    let mut f = Fields::default();
    f.read_plain(&mut t);
    type_late_text(&mut t, &mut f);
    require_title_and_owner(&mut t, &f);
    type_value(&mut t, &mut f);
    type_forecast(&mut t, &mut f);
    type_contact_and_next_step(&mut t, &mut f);
    type_imported(&mut t, cfg, &mut f);
    type_stages(&mut t, cfg, &mut f);
    type_lost(&mut t, cfg, &mut f);
    type_waived(&mut t, cfg, &mut f);
    check_objections(&mut t);
    check_problem_and_proposal(&mut t);
    check_contract(&mut t, &f);
    (f, t.issues)
}

/// `delivery_owner`, `contract` and `source_id`, read as text right after
/// the rows [`Fields::read_plain`] reads.
fn type_late_text(t: &mut Typer, f: &mut Fields) {
    f.delivery_owner = t.string("delivery_owner");
    f.contract = t.string("contract");
    f.source_id = t.string("source_id");
}

/// An issue for a missing or blank `title` or `owner`.
fn require_title_and_owner(t: &mut Typer, f: &Fields) {
    if f.title.as_deref().is_none_or(|s| s.trim().is_empty()) {
        t.issue(
            "title",
            "missing `title`".into(),
            "add `title: <what the deal is>` to the front-matter",
        );
    }
    if f.owner.as_deref().is_none_or(|s| s.trim().is_empty()) {
        t.issue(
            "owner",
            "missing `owner`".into(),
            "add `owner: <team handle>` to the front-matter",
        );
    }
}

/// `forecast`: one of the forecast categories.
fn type_forecast(t: &mut Typer, f: &mut Fields) {
    if let Some(v) = lookup(t.m, "forecast") {
        let text = scalar_text(v);
        match text
            .as_deref()
            .and_then(crate::model::config::Category::parse)
        {
            Some(c) => f.forecast = Some(c),
            None => t.issue(
                "forecast",
                format!(
                    "`forecast` must be commit, best_case, pipeline or omitted, not `{}`",
                    text.unwrap_or_else(|| kind_name(v).to_string())
                ),
                "write e.g. `forecast: best_case`, or remove it to use the stage's category",
            ),
        }
    }
}

/// `contact` (its keys checked as text) and `next_step` (its action and
/// due date kept).
fn type_contact_and_next_step(t: &mut Typer, f: &mut Fields) {
    if t.mapping("contact", "name, email, phone and role")
        .is_some()
    {
        for k in ["name", "email", "phone", "role"] {
            t.string(&format!("contact.{k}"));
        }
    }
    if t.mapping("next_step", "action and due").is_some() {
        f.next_action = t.string("next_step.action");
        f.next_due = t.ts("next_step.due");
    }
}

/// `imported`: `{at, stage}`, or the older bare date.
fn type_imported(t: &mut Typer, cfg: &Config, f: &mut Fields) {
    match lookup(t.m, "imported") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(_)) => {
            let stage = t.string("imported.stage");
            if let Some(s) = &stage
                && Place::parse(s, cfg).is_none()
            {
                t.issue(
                    "imported.stage",
                    format!("`{s}` is not a stage of this pipeline"),
                    "name the stage the deal was imported into (a stage id, won or lost)",
                );
            }
            f.imported = Some(Imported {
                at: t.ts("imported.at"),
                stage,
            });
        }
        Some(_) => {
            f.imported = Some(Imported {
                at: t.ts("imported"),
                stage: None,
            });
        }
    }
}

/// `lost`: its reason, the stage it was lost from (a stage of this
/// pipeline) and when.
fn type_lost(t: &mut Typer, cfg: &Config, f: &mut Fields) {
    if t.mapping("lost", "reason, stage and at").is_some() {
        f.lost_reason = t.string("lost.reason");
        f.lost_stage = t.string("lost.stage");
        if let Some(s) = &f.lost_stage
            && cfg.stage_index(s).is_none()
        {
            t.issue(
                "lost.stage",
                format!("`{s}` is not a stage of this pipeline"),
                "name the stage the deal was lost from",
            );
        }
        f.lost_at = t.ts("lost.at");
    }
}

/// `waived`: stage id → a waiver, each id a stage of this pipeline.
fn type_waived(t: &mut Typer, cfg: &Config, f: &mut Fields) {
    let Some(w) = t.mapping("waived", "stage ids and reasons").cloned() else {
        return;
    };
    for (k, v) in &w {
        let Some(id) = k.as_str() else { continue };
        let key = format!("waived.{id}");
        if cfg.stage_index(id).is_none() {
            t.issue(
                &key,
                format!("`{id}` is not a stage of this pipeline"),
                "waivers name the stage whose criteria were waived",
            );
            continue;
        }
        if let Some(waiver) = waiver_at(t, &key, v) {
            f.waived.insert(id.to_string(), waiver);
        }
    }
}

/// The waiver at `key` (`waived.<stage>`): `{reason, by, at}` as `deal
/// move --force` writes it (an issue when the reason is missing), or the
/// older bare reason.
fn waiver_at(t: &mut Typer, key: &str, v: &Value) -> Option<Waiver> {
    if let Value::Mapping(_) = v {
        let reason = t.string(&format!("{key}.reason"));
        let by = t.string(&format!("{key}.by"));
        let at = t.ts(&format!("{key}.at"));
        if reason.is_none() {
            t.issue(
                key,
                format!("`{key}` has no `reason`"),
                format!("write `{key}.reason: why the criteria were waived`"),
            );
        }
        return Some(Waiver {
            reason: reason.unwrap_or_default(),
            by: by.filter(|b| !b.trim().is_empty()),
            at,
        });
    }
    let r = t.string_at(key, (!v.is_null()).then_some(v))?;
    Some(Waiver {
        reason: r,
        ..Waiver::default()
    })
}

/// `objections`: a list of mappings, each checked by [`check_objection`].
fn check_objections(t: &mut Typer) {
    match lookup(t.m, "objections") {
        None => {}
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_objection(t, &format!("objections[{i}]"), item);
            }
        }
        Some(other) => {
            let k = kind_name(other);
            t.issue(
                "objections",
                format!("`objections` must be a list, not a {k}"),
                "write `objections:` then `- { objection: …, resolved: false }` items",
            );
        }
    }
}

/// One objection at `key` (`objections[1]`): a mapping whose `resolved`
/// is a boolean and whose `objection` and `response` are text.
fn check_objection(t: &mut Typer, key: &str, item: &Value) {
    let Value::Mapping(o) = item else {
        t.issue(
            key,
            "each objection must be a mapping with objection, response and resolved".into(),
            "write `- { objection: …, response: …, resolved: false }`",
        );
        return;
    };
    match o.get("resolved") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => {}
        Some(other) => {
            let shown = scalar_text(other).unwrap_or_else(|| kind_name(other).to_string());
            let hint = match shown.to_lowercase().as_str() {
                "yes" | "y" | "on" | "true" => {
                    "write `resolved: true` (yes/no are not booleans here)"
                }
                "no" | "n" | "off" | "false" => {
                    "write `resolved: false` (yes/no are not booleans here)"
                }
                _ => "write `resolved: true` or `resolved: false`",
            };
            t.issue(
                &format!("{key}.resolved"),
                format!("`resolved` must be true or false, not `{shown}`"),
                hint,
            );
        }
    }
    for k in ["objection", "response"] {
        let v = o.get(k).filter(|v| !v.is_null());
        t.string_at(&format!("{key}.{k}"), v);
    }
}

/// `problem` and `proposal`: mappings whose keys have their types.
fn check_problem_and_proposal(t: &mut Typer) {
    if t.mapping("problem", "confirmed_by and confirmed_on")
        .is_some()
    {
        t.string("problem.confirmed_by");
        t.ts("problem.confirmed_on");
    }
    if t.mapping("proposal", "reviewed_on").is_some() {
        t.ts("proposal.reviewed_on");
    }
}

/// `contract`: a path inside the pipeline or an http(s) URL.
fn check_contract(t: &mut Typer, f: &Fields) {
    if let Some(c) = &f.contract
        && !(c.starts_with("http://") || c.starts_with("https://"))
        && !crate::model::config::stays_inside(c)
    {
        t.issue(
            "contract",
            format!("`contract` must be a path inside the pipeline or an http(s) URL, not `{c}`"),
            "write a relative path such as `contracts/acme.pdf`, or a URL",
        );
    }
}

/// Whether a value counts as "present and not empty" for criteria.
pub fn is_filled(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Sequence(s) => !s.is_empty(),
        Value::Mapping(m) => !m.is_empty(),
        _ => true,
    }
}

/// Builders for the unit tests of the modules that read deals: a config
/// from its YAML, a deal from its front-matter lines.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Config, Deal, Place};

    /// The config `yaml` says, with the built-in note templates.
    pub fn config(yaml: &str) -> Config {
        let templates = crate::model::notes::Templates::builtin_only();
        crate::model::config::parse(yaml, std::path::Path::new("pipeline.yaml"), &templates)
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"))
    }

    /// The deal `acme` in `place`: `title: Acme`, then the lines `front`.
    pub fn deal(cfg: &Config, place: Place, front: &str) -> Deal {
        let text = format!("---\ntitle: Acme\n{front}---\n");
        let rel = std::path::PathBuf::from("deals/acme.md");
        Deal::parse("acme".into(), rel, place, text.into_bytes(), cfg).unwrap()
    }
}
