//! Turning CRM export rows into deal files (docs/reference.md, "Import"):
//! presets for HubSpot, Pipedrive and Salesforce exports as a user
//! downloads them, `deal export`'s own CSV, and generic sheets; every
//! column mapped to a field, kept verbatim under `crm:` or skipped by
//! `--skip`; dates and amounts read strictly (what is unambiguous exactly,
//! the rest a problem row); stage dates never invented; `lost.stage` the
//! last stage the row dates; `imported: {at, stage}` on every deal.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use indexmap::IndexMap;

use crate::base::slug::slugify;
use crate::model::config::Config;
use crate::model::deal::Place;
use crate::yaml::emit::yaml_scalar;

/// What a column feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A front-matter path (`title`, `contact.email`, `stages.outreach`).
    Field(String),
    /// The row's stage, through the stage map.
    Stage,
    /// Pipedrive's `open` / `won` / `lost` status, which overrides the stage.
    Status,
    /// The CRM's close date: `expected_close` of an open deal, the won or
    /// lost date of a closed one.
    Closed,
    LostReason,
    SourceId,
    Slug,
    /// The Markdown body.
    Body,
    /// Kept verbatim under `crm:`, keyed by this header.
    Crm(String),
    /// Left out, because `--skip` says so.
    Skip,
}

impl Target {
    /// Parses a `--map COLUMN=FIELD` field name.
    pub fn parse(s: &str) -> Result<Target, String> {
        Ok(match s.trim() {
            "stage" => Target::Stage,
            "status" => Target::Status,
            "closed" => Target::Closed,
            "lost_reason" | "lost.reason" => Target::LostReason,
            "source_id" => Target::SourceId,
            "slug" => Target::Slug,
            "body" => Target::Body,
            f if is_path(f) && f != "crm" && f != "imported" => Target::Field(f.to_string()),
            f => {
                return Err(format!(
                    "`{f}` is not a field: use a front-matter path (title, owner, value, contact.email, stages.outreach, …) or stage, closed, lost_reason, source_id, slug, body"
                ));
            }
        })
    }

    /// Where the column goes, in words (the summary and `--dry-run`).
    pub fn describe(&self) -> String {
        match self {
            Target::Field(f) => format!("→ {f}"),
            Target::Stage => "→ the stage".into(),
            Target::Status => "→ the status (open, won, lost)".into(),
            Target::Closed => "→ expected_close (open), stages.won / stages.lost (closed)".into(),
            Target::LostReason => "→ lost.reason".into(),
            Target::SourceId => "→ source_id".into(),
            Target::Slug => "→ the slug".into(),
            Target::Body => "→ the body".into(),
            Target::Crm(k) => format!("kept under crm.{k:?}"),
            Target::Skip => "skipped (--skip)".into(),
        }
    }
}

fn is_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// A known export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// HubSpot's deals export.
    Hubspot,
    /// Pipedrive's deals export.
    Pipedrive,
    /// Salesforce's opportunity report.
    Salesforce,
    /// Columns named as fields (`title`, `owner`, `contact.email`, …).
    Generic,
    /// `deal export`'s own CSV: its columns are front-matter paths and
    /// `slug`, `stage`, `body`; the formula guard is removed; rows are
    /// matched to deals by slug, then source_id.
    Deal,
}

/// A CSV cell made safe for a spreadsheet (docs/safety.md, "CSV export and import"): a cell
/// that begins with `=`, `@`, a tab or a carriage return, or with `+` or
/// `-` unless it is a number or a phone number, gets a leading `'`, so no
/// spreadsheet runs it as a formula.
pub fn csv_guard(cell: &str) -> std::borrow::Cow<'_, str> {
    // A cell that already looks guarded ('=x) gets one more quote, so
    // that [`csv_unguard`] gives back exactly what was exported.
    if needs_guard(cell.trim_start_matches('\'')) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn needs_guard(cell: &str) -> bool {
    match cell.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !(is_number(cell) || is_phone(cell)),
        _ => false,
    }
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Digits, spaces, `+`, `-`, `.` and parentheses, with at least one digit.
fn is_phone(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
}

/// Undoes [`csv_guard`]: removes the `'` only where the guard put it.
pub fn csv_unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest.trim_start_matches('\'')) => rest,
        _ => cell,
    }
}

/// Lower-case letters and digits only: how headers and stage values compare.
pub fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Preset {
    /// The preset's columns (compared by [`norm`]). A column the preset
    /// lists as `Crm` is kept under `crm:` (there is no field for it).
    pub fn columns(self) -> Vec<(&'static str, Target)> {
        let f = |s: &str| Target::Field(s.to_string());
        let crm = |s: &str| Target::Crm(s.to_string());
        match self {
            Preset::Hubspot => vec![
                ("Record ID", Target::SourceId),
                ("Deal Name", f("title")),
                ("Deal Stage", Target::Stage),
                ("Amount", f("value")),
                ("Close Date", Target::Closed),
                ("Deal owner", f("owner")),
                ("Create Date", f("created")),
                ("Associated Company", f("company")),
                ("Pipeline", crm("Pipeline")),
                ("Deal probability", crm("Deal probability")),
                ("Currency", f("currency")),
                ("Deal currency code", f("currency")),
                ("Closed Lost Reason", Target::LostReason),
                ("Deal Description", Target::Body),
            ],
            Preset::Pipedrive => vec![
                ("Deal - ID", Target::SourceId),
                ("Deal - Title", f("title")),
                ("Deal - Value", f("value")),
                ("Deal - Currency", f("currency")),
                ("Deal - Stage", Target::Stage),
                ("Deal - Status", Target::Status),
                ("Deal - Won time", Target::Closed),
                ("Deal - Lost time", Target::Closed),
                ("Deal - Lost reason", Target::LostReason),
                ("Deal - Owner", f("owner")),
                ("Deal - Organization", f("company")),
                ("Deal - Contact person", f("contact.name")),
                ("Deal - Deal created", f("created")),
                ("Deal - Expected close date", f("expected_close")),
                ("Deal - Next activity date", f("next_step.due")),
                ("Deal - Source channel", f("source")),
            ],
            Preset::Salesforce => vec![
                ("Opportunity ID", Target::SourceId),
                ("Opportunity Name", f("title")),
                ("Account Name", f("company")),
                ("Opportunity Owner", f("owner")),
                ("Stage", Target::Stage),
                ("Amount", f("value")),
                ("Opportunity Currency", f("currency")),
                ("Probability (%)", crm("Probability (%)")),
                ("Close Date", Target::Closed),
                ("Created Date", f("created")),
                ("Lead Source", f("source")),
                ("Next Step", f("next_step.action")),
                ("Type", crm("Type")),
            ],
            Preset::Generic | Preset::Deal => Vec::new(),
        }
    }

    /// The preset's stage names (compared by [`norm`]) → stage ids of the
    /// default pipeline.
    pub fn stages(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Preset::Hubspot => vec![
                ("Appointment Scheduled", "outreach"),
                ("Qualified To Buy", "qualification"),
                ("Presentation Scheduled", "discovery"),
                ("Decision Maker Bought-In", "proposal"),
                ("Contract Sent", "negotiation"),
                ("Closed Won", "won"),
                ("Closed Lost", "lost"),
            ],
            Preset::Pipedrive => vec![
                ("Lead In", "prospecting"),
                ("Contact Made", "outreach"),
                ("Qualified", "qualification"),
                ("Needs Defined", "discovery"),
                ("Demo Scheduled", "discovery"),
                ("Proposal Made", "proposal"),
                ("Negotiations Started", "negotiation"),
            ],
            Preset::Salesforce => vec![
                ("Prospecting", "prospecting"),
                ("Qualification", "qualification"),
                ("Needs Analysis", "discovery"),
                ("Value Proposition", "discovery"),
                ("Id. Decision Makers", "discovery"),
                ("Perception Analysis", "discovery"),
                ("Proposal/Price Quote", "proposal"),
                ("Negotiation/Review", "negotiation"),
                ("Closed Won", "won"),
                ("Closed Lost", "lost"),
            ],
            Preset::Generic | Preset::Deal => Vec::new(),
        }
    }
}

/// The order of day, month and year in dates that are not ISO 8601.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// `M/D/YYYY`, the default (US exports).
    Mdy,
    /// `D/M/YYYY`.
    Dmy,
    /// `YYYY/M/D`.
    Ymd,
}

impl DateOrder {
    /// Reads `--date-format`: `D/M/YYYY`, `DD.MM.YYYY`, `M/D/YYYY`,
    /// `YYYY/MM/DD`. A two-digit year is refused: it would be a guess.
    pub fn parse(f: &str) -> Result<DateOrder, String> {
        let letters: String = f
            .chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let years = letters.matches('Y').count();
        let mut order = String::new();
        for c in letters.chars() {
            if !order.ends_with(c) {
                order.push(c);
            }
        }
        if years != 4 && years != 0 {
            return Err(format!(
                "`{f}`: write the year as YYYY (a two-digit year is never guessed)"
            ));
        }
        match order.as_str() {
            "MDY" => Ok(DateOrder::Mdy),
            "DMY" => Ok(DateOrder::Dmy),
            "YMD" => Ok(DateOrder::Ymd),
            _ => Err(format!(
                "`{f}` is not a date format: write D/M/YYYY, M/D/YYYY or YYYY/M/D"
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            DateOrder::Mdy => "M/D/YYYY",
            DateOrder::Dmy => "D/M/YYYY",
            DateOrder::Ymd => "YYYY/M/D",
        }
    }
}

/// Parses a date as the import reads it: ISO 8601 / RFC 3339 (`2026-11-02`,
/// `2026-11-02 09:14`, `2026-11-02T09:14:00Z`), or `order` (`M/D/YYYY` by
/// default; `/`, `-` or `.` between the parts), each with an optional time
/// (`9:14`, `09:14:00`, `9:14 PM`). Times without a zone are UTC. A
/// two-digit year, or a date that is not one, is an error, never a guess.
pub fn parse_date_in(s: &str, order: DateOrder) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "`{s}` is not a date (YYYY-MM-DD or {}; --date-format names another order)",
            order.name()
        )
    };
    if s.is_empty() {
        return Err(bad());
    }
    // A year before 1000 (`12/20/0026`) is a two-digit year padded.
    let early = |y: i32| {
        format!("`{s}` has the year {y}: write the year in full (YYYY), it is never guessed")
    };
    if s.len() >= 10
        && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && let Some(t) = crate::base::time::parse_timestamp(s)
    {
        if t.year() < 1000 {
            return Err(early(t.year()));
        }
        return Ok(t);
    }
    let (date, time) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split(['/', '-', '.']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let (y, m, d) = if parts[0].len() == 4 {
        (parts[0], parts[1], parts[2])
    } else {
        match order {
            DateOrder::Mdy => (parts[2], parts[0], parts[1]),
            DateOrder::Dmy => (parts[2], parts[1], parts[0]),
            DateOrder::Ymd => (parts[0], parts[1], parts[2]),
        }
    };
    if y.len() != 4 {
        return Err(format!(
            "`{s}` has a two-digit year: write the year in full (YYYY), it is never guessed"
        ));
    }
    if m.len() > 2 || d.len() > 2 {
        return Err(bad());
    }
    let num = |p: &str| p.parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(y), num(m), num(d)) else {
        return Err(bad());
    };
    if y < 1000 {
        return Err(early(y as i32));
    }
    let day = NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(bad)?;
    let (h, mi, sec) = match time {
        None | Some("") => (0, 0, 0),
        Some(t) => parse_time(t).ok_or_else(bad)?,
    };
    let t = day.and_hms_opt(h, mi, sec).ok_or_else(bad)?;
    Ok(Utc.from_utc_datetime(&t))
}

/// `9:14`, `09:14:00`, `09:14:00.000`, `9:14 PM`, with an optional `Z`,
/// ` UTC` or ` GMT`: hours, minutes, seconds.
fn parse_time(t: &str) -> Option<(u32, u32, u32)> {
    let mut t = t.trim();
    for z in ["Z", "UTC", "GMT"] {
        if let Some(r) = t.strip_suffix(z) {
            t = r.trim_end();
        }
    }
    let upper = t.to_ascii_uppercase();
    let (t, pm) = if let Some(r) = upper.strip_suffix("PM") {
        (r.trim_end().to_string(), Some(true))
    } else if let Some(r) = upper.strip_suffix("AM") {
        (r.trim_end().to_string(), Some(false))
    } else {
        (upper, None)
    };
    let parts: Vec<&str> = t.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let digits = |p: &str, max: usize| {
        (!p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    let mut h = digits(parts[0], 2)?;
    let m = digits(parts[1], 2)?;
    let s = match parts.get(2) {
        Some(p) => {
            let whole = p.split_once('.').map_or(*p, |(w, frac)| {
                if frac.bytes().all(|b| b.is_ascii_digit()) {
                    w
                } else {
                    "x"
                }
            });
            digits(whole, 2)?
        }
        None => 0,
    };
    if let Some(pm) = pm {
        if !(1..=12).contains(&h) {
            return None;
        }
        h = match (pm, h) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    (h < 24 && m < 60 && s < 60).then_some((h, m, s))
}

/// [`parse_date_in`] with the default order, `M/D/YYYY`.
#[cfg(test)]
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    parse_date_in(s, DateOrder::Mdy).ok()
}

/// Parses an amount as `deal import` does without `--decimal-comma`
/// ([`crate::base::money::parse`]).
#[cfg(test)]
pub fn parse_amount(s: &str) -> Option<crate::base::money::Amount> {
    crate::base::money::parse(s, false).ok().map(|(v, _)| v)
}

/// Formats a timestamp: a plain date at midnight, RFC 3339 otherwise.
pub fn date_text(t: DateTime<Utc>) -> String {
    if t.time() == chrono::NaiveTime::MIN {
        crate::base::time::format_date(t)
    } else {
        crate::base::time::format_ts(t)
    }
}

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    pub message: String,
}

/// A row, read: the front-matter pairs in order and what the import needs.
#[derive(Debug, Clone)]
pub struct RowDeal {
    pub line: u64,
    pub slug_hint: Option<String>,
    pub title: String,
    pub place: Place,
    pub owner_raw: Option<String>,
    pub source_id: Option<String>,
    /// `(path, YAML text)` in output order, owner excluded (resolved later).
    pub fields: Vec<(String, String)>,
    /// `crm:` entries: header → the cell, verbatim.
    pub crm: Vec<(String, String)>,
    pub body: Option<String>,
}

/// One source column and where it goes.
#[derive(Debug, Clone)]
pub struct Column {
    /// 0-based position in the row.
    pub index: usize,
    pub header: String,
    pub target: Target,
}

/// How values are read.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub decimal_comma: bool,
    pub dates: DateOrder,
}

impl Default for Reading {
    fn default() -> Reading {
        Reading {
            decimal_comma: false,
            dates: DateOrder::Mdy,
        }
    }
}

/// Column mapping and stage map, resolved against a header row.
pub struct Plan {
    /// Every column of the file, in order, with where it goes.
    pub columns: Vec<Column>,
    pub stage_map: HashMap<String, String>,
    /// Remove [`csv_guard`]'s `'` from cells (`--preset deal`).
    pub unguard: bool,
    pub reading: Reading,
}

/// What is wrong with a header row (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub message: String,
    pub help: String,
}

/// Each header's position; an error when two columns share one (a
/// column without a header, a spreadsheet's trailing commas, is left out:
/// it is named by its position).
fn header_positions(headers: &[String]) -> Result<HashMap<&str, usize>, PlanError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(h.as_str(), i) {
            return Err(PlanError {
                message: format!(
                    "columns {} and {} are both named {h:?}: a second column with one header would be lost",
                    first + 1,
                    i + 1
                ),
                help: "rename one of them in the header row, then import again".into(),
            });
        }
    }
    Ok(seen)
}

impl Plan {
    /// Maps each header to its target: `--skip`, then `--map`, then the
    /// preset, then (generic, deal) headers that are field paths or special
    /// names; any other column is kept under `crm:`. Two columns with the
    /// same header, or a `--map`/`--skip` naming no column, are errors.
    pub fn new(
        preset: Preset,
        headers: &[String],
        maps: &[(String, Target)],
        stage_maps: &[(String, String)],
        skips: &[String],
        reading: Reading,
    ) -> Result<Plan, PlanError> {
        let seen = header_positions(headers)?;
        let by_norm: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (norm(h), i))
            .collect();
        let find = |name: &str| -> Option<usize> {
            seen.get(name.trim())
                .copied()
                .or_else(|| by_norm.get(&norm(name)).copied())
        };
        let mut fixed: HashMap<usize, Target> = HashMap::new();
        for s in skips {
            let i = find(s).ok_or_else(|| PlanError {
                message: format!("--skip {s:?}: the file has no such column"),
                help: format!("the columns are: {}", headers.join(", ")),
            })?;
            fixed.insert(i, Target::Skip);
        }
        for (c, t) in maps {
            let i = find(c).ok_or_else(|| PlanError {
                message: format!("--map {c:?}: the file has no such column"),
                help: format!("the columns are: {}", headers.join(", ")),
            })?;
            fixed.entry(i).or_insert_with(|| t.clone());
        }
        let preset_cols: HashMap<String, Target> = preset
            .columns()
            .into_iter()
            .map(|(c, t)| (norm(c), t))
            .collect();
        let named = matches!(preset, Preset::Generic | Preset::Deal);
        let columns = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let target = fixed.remove(&i).unwrap_or_else(|| {
                    if let Some(t) = preset_cols.get(&norm(h)) {
                        return t.clone();
                    }
                    let h = h.trim();
                    if h.is_empty() {
                        return Target::Crm(format!("column {}", i + 1));
                    }
                    if named {
                        if let Some(key) = h.strip_prefix("crm.") {
                            return Target::Crm(key.to_string());
                        }
                        if let Ok(t) = Target::parse(h) {
                            return t;
                        }
                    }
                    Target::Crm(h.to_string())
                });
                Column {
                    index: i,
                    header: h.clone(),
                    target,
                }
            })
            .collect();
        let mut stage_map: HashMap<String, String> = preset
            .stages()
            .into_iter()
            .map(|(k, v)| (norm(k), v.to_string()))
            .collect();
        for (k, v) in stage_maps {
            stage_map.insert(norm(k), v.clone());
        }
        Ok(Plan {
            columns,
            stage_map,
            unguard: preset == Preset::Deal,
            reading,
        })
    }

    /// The earlier column that gives what column `i` gives, if any: then
    /// a row's cell of column `i` is kept under `crm:` whenever that
    /// column's cell is not empty (as [`read_row`] does).
    pub fn earlier_claim(&self, i: usize) -> Option<&Column> {
        // What a column claims, as read_row tells a second one apart.
        fn claim(t: &Target) -> Option<&str> {
            match t {
                Target::Field(p) => Some(p.as_str()),
                Target::Stage => Some("\0stage"),
                Target::Closed => Some("\0closed"),
                Target::LostReason => Some("\0lost_reason"),
                Target::SourceId => Some("\0source_id"),
                Target::Body => Some("\0body"),
                _ => None,
            }
        }
        let mine = claim(&self.columns.get(i)?.target)?;
        let top = mine.split('.').next().unwrap_or(mine);
        self.columns[..i].iter().find(|c| {
            claim(&c.target).is_some_and(|theirs| {
                theirs == mine || (theirs == top && !mine.starts_with('\0') && mine != "owner")
            })
        })
    }

    /// Where column `i` goes, in words (the summary, `-v` and `--dry-run`):
    /// a second column of one field says it is kept under `crm:` where the
    /// first one gives it.
    pub fn describe(&self, i: usize) -> String {
        let c = &self.columns[i];
        match self.earlier_claim(i) {
            Some(first) => format!(
                "kept under crm.{:?} where column {:?} gives it, else {}",
                c.header,
                first.header,
                c.target.describe()
            ),
            None => c.target.describe(),
        }
    }

    /// Whether some column gives the deal's title (or its company).
    pub fn has_title(&self) -> bool {
        self.columns
            .iter()
            .any(|c| matches!(&c.target, Target::Field(f) if f == "title" || f == "company"))
    }

    fn stage_of(&self, cfg: &Config, raw: &str) -> Option<Place> {
        let id = self
            .stage_map
            .get(&norm(raw))
            .cloned()
            .unwrap_or_else(|| raw.trim().to_lowercase());
        Place::parse(&id, cfg).or_else(|| {
            cfg.stages
                .iter()
                .position(|s| norm(&s.name) == norm(raw) || norm(&s.id) == norm(raw))
                .map(Place::Stage)
        })
    }
}

/// The YAML text for a field's cell: typed as `deal set` types values, with
/// dates and amounts read strictly.
fn typed(cfg: &Config, reading: Reading, path: &str, raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let kind = crate::model::fields::kind(path);
    if kind == Some(crate::model::fields::Kind::Timestamp) {
        return parse_date_in(raw, reading.dates).map(date_text);
    }
    if kind == Some(crate::model::fields::Kind::Amount) {
        return crate::base::money::parse(raw, reading.decimal_comma)
            .map(|(v, _)| v.to_string())
            .map_err(|why| format!("`{raw}` is not an amount: {why}"));
    }
    if (raw.starts_with('[') && raw.ends_with(']')) || (raw.starts_with('{') && raw.ends_with('}'))
    {
        // A structure from `deal export`: JSON is YAML flow style.
        if serde_json::from_str::<serde_json::Value>(raw).is_ok() {
            return Ok(raw.to_string());
        }
    }
    crate::model::fields::typed_value(cfg, path, raw, Utc::now())
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())
}

/// Reads one CSV record into a deal, or says why not (naming the column
/// and the value).
pub fn read_row(
    cfg: &Config,
    plan: &Plan,
    rec: &csv::StringRecord,
    line: u64,
) -> Result<RowDeal, RowProblem> {
    let mut row = Row::new(line);
    for c in &plan.columns {
        let cell = rec.get(c.index).unwrap_or("");
        let cell = if plan.unguard {
            csv_unguard(cell)
        } else {
            cell
        };
        if cell.trim().is_empty() {
            continue;
        }
        row.take_cell(cfg, plan, c, cell)?;
    }
    row.settle_currency(cfg)?;
    // The stage column of a lost row (Pipedrive keeps the stage a deal was
    // lost at, and says `lost` in its status).
    let stage_col = row.stage.filter(|p| p.is_open());
    match row.status.as_deref() {
        Some("won") => row.stage = Some(Place::Won),
        Some("lost") => row.stage = Some(Place::Lost),
        _ => {}
    }
    let title = row.title()?;
    let place = row.stage.unwrap_or(Place::Stage(0));
    row.add_closed(cfg, place);
    if let Some(src) = &row.source_id {
        row.fields.push(("source_id".into(), yaml_scalar(src)));
    }
    row.add_lost(cfg, plan, place, stage_col);
    Ok(RowDeal {
        line,
        slug_hint: row.slug_hint,
        title,
        place,
        owner_raw: row.owner_raw,
        source_id: row.source_id,
        fields: row.fields,
        crm: row.crm,
        body: row.body,
    })
}

/// What [`read_row`] has read of a row so far: the front-matter pairs in
/// order, the `crm:` entries, and what the import resolves itself.
struct Row<'a> {
    line: u64,
    fields: Vec<(String, String)>,
    /// The paths `fields` holds.
    set: HashSet<String>,
    crm: Vec<(String, String)>,
    stage: Option<Place>,
    status: Option<String>,
    closed: Option<DateTime<Utc>>,
    lost_reason: Option<String>,
    source_id: Option<String>,
    slug_hint: Option<String>,
    body: Option<String>,
    owner_raw: Option<String>,
    /// The currency the value's cell names (`USD 99,999`), with its column
    /// and cell.
    value_named: Option<(crate::base::money::Named, &'a Column, &'a str)>,
    /// The currency column and its cell.
    currency_cell: Option<(&'a Column, &'a str)>,
}

impl<'a> Row<'a> {
    fn new(line: u64) -> Row<'a> {
        Row {
            line,
            fields: Vec::new(),
            set: HashSet::new(),
            crm: Vec::new(),
            stage: None,
            status: None,
            closed: None,
            lost_reason: None,
            source_id: None,
            slug_hint: None,
            body: None,
            owner_raw: None,
            value_named: None,
            currency_cell: None,
        }
    }

    /// The problem `m` with column `c`'s cell.
    fn in_col(&self, c: &Column, m: String) -> RowProblem {
        RowProblem {
            line: self.line,
            message: format!("column {:?}: {m}", c.header),
        }
    }

    /// Takes the non-empty `cell` of column `c` where its target says; a
    /// second column for something a column gave already is kept under
    /// `crm:`.
    fn take_cell(
        &mut self,
        cfg: &Config,
        plan: &Plan,
        c: &'a Column,
        cell: &'a str,
    ) -> Result<(), RowProblem> {
        let keep = |crm: &mut Vec<(String, String)>| crm.push((c.header.clone(), cell.to_string()));
        let cell_t = cell.trim();
        match &c.target {
            Target::Skip => {}
            Target::Crm(k) => self.crm.push((k.clone(), cell.to_string())),
            Target::Stage if self.stage.is_some() => keep(&mut self.crm),
            Target::Stage => {
                self.stage = Some(plan.stage_of(cfg, cell_t).ok_or_else(|| {
                    self.in_col(
                        c,
                        format!(
                            "unknown stage \"{cell_t}\": pass --stage-map \"{cell_t}=<stage id>\""
                        ),
                    )
                })?)
            }
            Target::Status => self.status = Some(norm(cell_t)),
            Target::Closed if self.closed.is_some() => keep(&mut self.crm),
            Target::Closed => {
                self.closed =
                    Some(parse_date_in(cell_t, plan.reading.dates).map_err(|m| self.in_col(c, m))?)
            }
            Target::LostReason if self.lost_reason.is_some() => keep(&mut self.crm),
            Target::LostReason => self.lost_reason = Some(cell_t.to_string()),
            Target::SourceId if self.source_id.is_some() => keep(&mut self.crm),
            Target::SourceId => self.source_id = Some(cell_t.to_string()),
            Target::Slug => self.slug_hint = Some(cell_t.to_string()),
            Target::Body if self.body.is_some() => keep(&mut self.crm),
            Target::Body => self.body = Some(cell.replace("\r\n", "\n")),
            Target::Field(p) if p == "owner" && self.owner_raw.is_some() => keep(&mut self.crm),
            Target::Field(p) if p == "owner" => self.owner_raw = Some(cell_t.to_string()),
            Target::Field(p) => {
                if self.set.contains(p)
                    || p.split('.')
                        .next()
                        .is_some_and(|top| self.set.contains(top))
                {
                    keep(&mut self.crm);
                } else {
                    self.take_field(cfg, plan, c, p, cell_t)?;
                }
            }
        }
        Ok(())
    }

    /// Takes the cell of column `c` as front-matter path `p`, typed, noting
    /// the currency a value names and the currency column's cell.
    fn take_field(
        &mut self,
        cfg: &Config,
        plan: &Plan,
        c: &'a Column,
        p: &str,
        cell_t: &'a str,
    ) -> Result<(), RowProblem> {
        let v = typed(cfg, plan.reading, p, cell_t).map_err(|m| self.in_col(c, m))?;
        if p == "value"
            && let Ok((_, Some(named))) =
                crate::base::money::parse(cell_t, plan.reading.decimal_comma)
        {
            self.value_named = Some((named, c, cell_t));
        }
        if p == "currency" {
            self.currency_cell = Some((c, cell_t));
        }
        self.set.insert(p.to_string());
        self.fields.push((p.to_string(), v));
        Ok(())
    }

    /// The currency an amount names is the deal's: written when the row
    /// has no currency column and it is not the pipeline's, a problem row
    /// when the currency column says another.
    fn settle_currency(&mut self, cfg: &Config) -> Result<(), RowProblem> {
        let Some((named, vc, vcell)) = &self.value_named else {
            return Ok(());
        };
        match self.currency_cell {
            Some((cc, ccell)) if !named.agrees(ccell) => {
                return Err(self.in_col(
                    vc,
                    format!(
                        "`{vcell}` is an amount in {} but column {:?} says {ccell}: write the amount without a currency, or fix one of the two",
                        named.code_in(ccell),
                        cc.header
                    ),
                ));
            }
            Some(_) => {}
            None => {
                let code = named.code_in(&cfg.currency);
                if !code.eq_ignore_ascii_case(&cfg.currency) {
                    let at = self
                        .fields
                        .iter()
                        .position(|(k, _)| k == "value")
                        .map_or(self.fields.len(), |i| i + 1);
                    self.fields
                        .insert(at, ("currency".into(), yaml_scalar(&code)));
                    self.set.insert("currency".into());
                }
            }
        }
        Ok(())
    }

    /// The deal's title as text: the title's cell, else the company's
    /// (then written as `title` first); a problem row without either.
    fn title(&mut self) -> Result<String, RowProblem> {
        let title = self
            .fields
            .iter()
            .find(|(k, _)| k == "title")
            .map(|(_, v)| v.clone())
            .or_else(|| {
                self.fields
                    .iter()
                    .find(|(k, _)| k == "company")
                    .map(|(_, v)| v.clone())
            });
        let Some(title_yaml) = title else {
            return Err(RowProblem {
                line: self.line,
                message: "no title: the row has no deal name or company".into(),
            });
        };
        let title: String = serde_yaml::from_str::<serde_yaml::Value>(&title_yaml)
            .ok()
            .and_then(|v| crate::yaml::mapping::scalar_text(&v))
            .unwrap_or(title_yaml.clone());
        if !self.set.contains("title") {
            self.fields.insert(0, ("title".into(), title_yaml));
            self.set.insert("title".into());
        }
        Ok(title)
    }

    /// The close date where it belongs for a deal in `place`: the won or
    /// lost date of a closed deal, `expected_close` of an open one (unless
    /// a column gave it).
    fn add_closed(&mut self, cfg: &Config, place: Place) {
        let Some(t) = self.closed else { return };
        let k = match place {
            Place::Won | Place::Lost => format!("stages.{}", place.id(cfg)),
            Place::Stage(_) => "expected_close".to_string(),
        };
        if !self.set.contains(&k) {
            self.fields.push((k.clone(), date_text(t)));
            self.set.insert(k);
        }
    }

    /// A lost deal's `lost: {reason, stage, at}` (unless a column gave
    /// `lost`): the reason as `lost_reasons` spells it, the last stage the
    /// row dates (else the stage it names, `stage_col`), the close date.
    /// A reason on a row that is not lost is the CRM's: kept.
    fn add_lost(&mut self, cfg: &Config, plan: &Plan, place: Place, stage_col: Option<Place>) {
        if place == Place::Lost && !self.set.contains("lost") {
            if let Some(r) = &self.lost_reason {
                let canonical = cfg
                    .lost_reasons
                    .iter()
                    .find(|l| l.eq_ignore_ascii_case(r) || norm(l) == norm(r))
                    .cloned()
                    .unwrap_or_else(|| r.clone());
                self.fields
                    .push(("lost.reason".into(), yaml_scalar(&canonical)));
            }
            // The last stage the row dates; else the stage the row names.
            let last = self
                .fields
                .iter()
                .filter_map(|(k, v)| {
                    let s = k.strip_prefix("stages.")?;
                    let i = cfg.stage_index(s)?;
                    Some((crate::base::time::parse_timestamp(v)?, i))
                })
                .max();
            let lost_at = last.map(|(_, i)| i).or(match stage_col {
                Some(Place::Stage(i)) => Some(i),
                _ => None,
            });
            if let Some(i) = lost_at {
                self.fields
                    .push(("lost.stage".into(), yaml_scalar(&cfg.stages[i].id)));
            }
            if let Some(t) = self.closed {
                self.fields.push(("lost.at".into(), date_text(t)));
            }
        } else if let Some(r) = self.lost_reason.take() {
            let header = plan
                .columns
                .iter()
                .find(|c| c.target == Target::LostReason)
                .map(|c| c.header.clone())
                .unwrap_or_else(|| "lost_reason".into());
            self.crm.push((header, r));
        }
    }
}

/// A tree of front-matter keys, written in first-seen order.
#[derive(Default)]
struct Tree(IndexMap<String, Node>);

enum Node {
    Leaf(String),
    Map(Tree),
}

impl Tree {
    fn insert(&mut self, path: &[&str], v: String) {
        let (first, rest) = (path[0], &path[1..]);
        if rest.is_empty() {
            self.0
                .entry(first.to_string())
                .or_insert_with(|| Node::Leaf(v));
            return;
        }
        if let Node::Map(t) = self
            .0
            .entry(first.to_string())
            .or_insert_with(|| Node::Map(Tree::default()))
        {
            t.insert(rest, v);
        }
    }

    fn write(&self, out: &mut String, indent: usize) {
        for (k, n) in &self.0 {
            for _ in 0..indent {
                out.push(' ');
            }
            out.push_str(k);
            match n {
                Node::Leaf(v) if v.is_empty() => out.push_str(":\n"),
                Node::Leaf(v) => {
                    out.push_str(": ");
                    out.push_str(v);
                    out.push('\n');
                }
                Node::Map(t) => {
                    out.push_str(":\n");
                    t.write(out, indent + 2);
                }
            }
        }
    }
}

/// The deal file for a row, with its resolved owner and `imported: {at,
/// stage}` (the import date and where the deal came in: the criteria of
/// earlier stages are its CRM's history, docs/reference.md "Import").
pub fn deal_text(row: &RowDeal, owner: &str, cfg: &Config, today: &str) -> String {
    let mut tree = Tree::default();
    let mut owner_done = false;
    for (k, v) in &row.fields {
        let path: Vec<&str> = k.split('.').collect();
        tree.insert(&path, v.clone());
        if k == "title" && !owner_done {
            tree.insert(&["owner"], yaml_scalar(owner));
            owner_done = true;
        }
    }
    if !owner_done {
        tree.insert(&["owner"], yaml_scalar(owner));
    }
    if !row.crm.is_empty() {
        let mut crm = Tree::default();
        for (k, v) in &row.crm {
            crm.0
                .entry(yaml_key(k))
                .or_insert_with(|| Node::Leaf(yaml_scalar(v)));
        }
        tree.0.entry("crm".into()).or_insert(Node::Map(crm));
    }
    // `deal export`'s own `imported` (a round trip) is kept as it was.
    if !tree.0.contains_key("imported") {
        let mut imp = Tree::default();
        imp.insert(&["at"], today.to_string());
        imp.insert(&["stage"], yaml_scalar(row.place.id(cfg)));
        tree.0.insert("imported".into(), Node::Map(imp));
    }
    let mut fm = String::new();
    tree.write(&mut fm, 0);
    let body = match &row.body {
        Some(b) if !b.trim().is_empty() => format!("{}\n", b.trim_end()),
        _ => format!("# {}\n", row.title),
    };
    format!("---\n{fm}---\n\n{body}")
}

/// A header as a YAML key: plain when it reads back as itself, else quoted.
fn yaml_key(k: &str) -> String {
    let s = yaml_scalar(k);
    if s.contains(": ") || s.ends_with(':') || s.contains(" #") {
        serde_json::to_string(k).unwrap_or_default()
    } else {
        s
    }
}

/// The slug a row wishes for: its hint (slugified unless it is one), else
/// its title's; `deal` when neither gives one.
pub fn base_slug(hint: Option<&str>, title: &str) -> String {
    let base = match hint {
        Some(h) if crate::base::slug::is_slug(h) => h.to_string(),
        Some(h) => slugify(h),
        None => slugify(title),
    };
    if base.is_empty() {
        "deal".to_string()
    } else {
        base
    }
}

/// Slugs made unique in one pass: each base remembers the next number to
/// try, so many rows sharing a name cost no more than rows that do not
/// (no probing `-2`, `-3`, … from the start for each row).
#[derive(Default)]
pub struct Slugs {
    taken: HashSet<String>,
    next: HashMap<String, u64>,
}

impl Slugs {
    pub fn new(taken: impl IntoIterator<Item = String>) -> Slugs {
        Slugs {
            taken: taken.into_iter().collect(),
            next: HashMap::new(),
        }
    }

    /// A unique slug for a title (or the row's own slug).
    pub fn unique(&mut self, hint: Option<&str>, title: &str) -> String {
        let base = base_slug(hint, title);
        if self.taken.insert(base.clone()) {
            return base;
        }
        let n = self.next.entry(base.clone()).or_insert(2);
        loop {
            let s = format!("{base}-{n}");
            *n += 1;
            if self.taken.insert(s.clone()) {
                return s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_guarded_and_unguarded() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("+cmd", "'+cmd"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("-12.5", "-12.5"),
            ("+49 30 1234-567", "+49 30 1234-567"),
            ("+1 (555) 010-0199", "+1 (555) 010-0199"),
            ("Acme", "Acme"),
            ("'quoted'", "'quoted'"),
            ("'=", "''="),
            ("''+x", "'''+x"),
            ("", ""),
        ] {
            assert_eq!(csv_guard(cell), out, "{cell:?}");
            assert_eq!(csv_unguard(&csv_guard(cell)), cell, "{cell:?}");
        }
    }

    #[test]
    fn amounts() {
        let d = |s: &str| Some(s.parse::<crate::base::money::Amount>().unwrap());
        assert_eq!(parse_amount("$12,400.00"), d("12400"));
        assert_eq!(parse_amount("12400"), d("12400"));
        assert_eq!(parse_amount("1,250"), d("1250"));
        assert_eq!(parse_amount("12,50"), None);
        assert_eq!(parse_amount("EUR 1.250,50"), None);
        assert_eq!(
            crate::base::money::parse("EUR 1.250,50", true)
                .ok()
                .map(|(v, _)| v),
            d("1250.5")
        );
        assert_eq!(parse_amount("n/a"), None);
    }

    #[test]
    fn dates() {
        let us = |s: &str| parse_date_in(s, DateOrder::Mdy).map(date_text);
        assert_eq!(us("11/2/2026").unwrap(), "2026-11-02");
        assert_eq!(us("2026-11-02").unwrap(), "2026-11-02");
        assert_eq!(us("2026-11-02 09:14").unwrap(), "2026-11-02T09:14:00Z");
        assert_eq!(us("2026-11-02T09:14:00Z").unwrap(), "2026-11-02T09:14:00Z");
        assert_eq!(us("11/2/2026 9:14 PM").unwrap(), "2026-11-02T21:14:00Z");
        assert_eq!(us("11/2/2026 12:05 AM").unwrap(), "2026-11-02T00:05:00Z");
        assert_eq!(us("2026/11/02").unwrap(), "2026-11-02");
        assert!(us("13/45/2026").is_err());
        assert!(us("2/30/2026").is_err());
        // A two-digit year is never a guess.
        assert!(us("1/2/26").unwrap_err().contains("two-digit year"));
        assert!(us("26-1-2").is_err());
        // Nor is a padded one (`0026`): a year before 1000 is refused.
        assert!(us("12/20/0026").unwrap_err().contains("the year 26"));
        assert!(us("0026-12-20").unwrap_err().contains("the year 26"));
        assert!(us("0999-12-20").is_err());
        assert_eq!(us("1000-01-01").unwrap(), "1000-01-01");
        assert!(us("next tuesday").is_err());
        assert!(us("11/2/2026 25:00").is_err());
        let eu = |s: &str| parse_date_in(s, DateOrder::Dmy).map(date_text);
        assert_eq!(eu("2/11/2026").unwrap(), "2026-11-02");
        assert_eq!(eu("02.11.2026").unwrap(), "2026-11-02");
        assert_eq!(eu("2026-11-02").unwrap(), "2026-11-02");
        assert_eq!(DateOrder::parse("D/M/YYYY"), Ok(DateOrder::Dmy));
        assert_eq!(DateOrder::parse("dd.mm.yyyy"), Ok(DateOrder::Dmy));
        assert_eq!(DateOrder::parse("M/D/YYYY"), Ok(DateOrder::Mdy));
        assert_eq!(DateOrder::parse("YYYY/MM/DD"), Ok(DateOrder::Ymd));
        assert!(DateOrder::parse("D/M/YY").is_err());
        assert!(DateOrder::parse("Q/M/YYYY").is_err());
    }

    #[test]
    fn slugs_are_unique_without_probing_from_two() {
        let mut s = Slugs::new(["acme".to_string(), "acme-3".to_string()]);
        assert_eq!(s.unique(None, "Acme"), "acme-2");
        assert_eq!(s.unique(None, "Acme"), "acme-4");
        assert_eq!(s.unique(None, "Acme 2"), "acme-2-2");
        assert_eq!(s.unique(Some("globex"), "x"), "globex");
        assert_eq!(s.unique(None, "!!!"), "deal");
    }

    #[test]
    fn columns_without_a_header_are_kept_by_position() {
        let h: Vec<String> = ["Deal Name", "", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let plan = Plan::new(Preset::Hubspot, &h, &[], &[], &[], Reading::default()).unwrap();
        assert_eq!(plan.columns[1].target, Target::Crm("column 2".into()));
        assert_eq!(plan.columns[2].target, Target::Crm("column 3".into()));
    }

    #[test]
    fn duplicate_headers_are_refused_naming_both_positions() {
        let h: Vec<String> = ["Deal Name", "Amount", "Owner", "Amount"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = Plan::new(Preset::Hubspot, &h, &[], &[], &[], Reading::default())
            .err()
            .unwrap();
        assert!(e.message.contains("columns 2 and 4"), "{e:?}");
    }
}
