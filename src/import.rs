//! Turning CRM export rows into deal files (SPEC §4 "Import"): presets for
//! HubSpot and Pipedrive headers, a generic mapping, and the value rules
//! (ISO or M/D/YYYY dates, amounts like `$12,400.00`, stage dates never
//! invented, `lost.stage` = the last stage the row dates).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::config::{Config, yaml_scalar};
use crate::deal::Place;
use crate::slug::slugify;

/// What a column feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A front-matter path (`title`, `contact.email`, `stages.outreach`).
    Field(String),
    /// The row's stage, through the stage map.
    Stage,
    /// Pipedrive's `open` / `won` / `lost` status, which overrides the stage.
    Status,
    /// When the deal was won or lost.
    Closed,
    LostReason,
    SourceId,
    Slug,
    /// The Markdown body.
    Body,
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
            f if is_path(f) => Target::Field(f.to_string()),
            f => {
                return Err(format!(
                    "`{f}` is not a field: use a front-matter path (title, owner, value, contact.email, stages.outreach, …) or stage, closed, lost_reason, source_id, slug, body"
                ));
            }
        })
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
    Hubspot,
    Pipedrive,
    Generic,
    /// `deal export`'s own CSV: its columns are front-matter paths and
    /// `slug`, `stage`, `body`; the formula guard is removed; rows are
    /// matched to deals by slug, then source_id.
    Deal,
}

/// A CSV cell made safe for a spreadsheet (SPEC §4 "CSV export"): a cell
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
    /// The preset's columns (compared by [`norm`]).
    pub fn columns(self) -> Vec<(&'static str, Target)> {
        let f = |s: &str| Target::Field(s.to_string());
        match self {
            Preset::Hubspot => vec![
                ("Record ID", Target::SourceId),
                ("Deal Name", f("title")),
                ("Deal Stage", Target::Stage),
                ("Close Date", Target::Closed),
                ("Deal owner", f("owner")),
                ("Amount", f("value")),
                ("Create Date", f("created")),
                ("Currency", f("currency")),
                ("Deal currency code", f("currency")),
                ("Associated Company", f("company")),
                ("Company", f("company")),
                ("Company name", f("company")),
                ("Closed Lost Reason", Target::LostReason),
                ("Lost Reason", Target::LostReason),
                ("Deal source", f("source")),
                ("Original Source Type", f("source")),
                ("Next step", f("next_step.action")),
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
            Preset::Generic | Preset::Deal => Vec::new(),
        }
    }

    /// The preset's stage names → stage ids of the default pipeline.
    pub fn stages(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Preset::Hubspot => vec![
                ("appointmentscheduled", "qualification"),
                ("qualifiedtobuy", "discovery"),
                ("presentationscheduled", "proposal"),
                ("decisionmakerboughtin", "negotiation"),
                ("contractsent", "close"),
                ("closedwon", "won"),
                ("closedlost", "lost"),
            ],
            Preset::Pipedrive => vec![
                ("leadin", "prospecting"),
                ("contactmade", "outreach"),
                ("qualified", "qualification"),
                ("needsdefined", "discovery"),
                ("demoscheduled", "discovery"),
                ("proposalmade", "proposal"),
                ("negotiationsstarted", "negotiation"),
            ],
            Preset::Generic | Preset::Deal => Vec::new(),
        }
    }
}

/// Parses a date: ISO 8601 / RFC 3339 (`2026-11-02`, `2026-11-02 09:14`,
/// `2026-11-02T09:14:00Z`) or US `M/D/YYYY` (with an optional `H:MM`).
/// Times without a zone are UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(t) = crate::time::parse_timestamp(s) {
        return Some(t);
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(s, "%m/%d/%Y")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

/// Parses an amount: `$12,400.00`, `12400`, `EUR 1.250,50`, `1 250`.
pub fn parse_amount(s: &str) -> Option<f64> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ',' || *c == '-')
        .collect();
    if t.is_empty() || !t.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let (dot, comma) = (t.rfind('.'), t.rfind(','));
    let normal = match (dot, comma) {
        (Some(d), Some(c)) if c > d => t.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => t.replace(',', ""),
        (None, Some(c)) if t.len() - c - 1 == 2 && t.matches(',').count() == 1 => {
            t.replace(',', ".")
        }
        (None, Some(_)) => t.replace(',', ""),
        _ => t,
    };
    normal.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Formats a timestamp: a plain date at midnight, RFC 3339 otherwise.
pub fn date_text(t: DateTime<Utc>) -> String {
    if t.time() == chrono::NaiveTime::MIN {
        crate::time::format_date(t)
    } else {
        crate::time::format_ts(t)
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
    pub body: Option<String>,
}

/// Column mapping and stage map, resolved against a header row.
pub struct Plan {
    pub columns: Vec<(usize, Target)>,
    pub stage_map: HashMap<String, String>,
    /// Remove [`csv_guard`]'s `'` from cells (`--preset deal`).
    pub unguard: bool,
}

impl Plan {
    /// Maps each header to its target: `--map` first, then the preset, then
    /// (generic, or any preset) headers that are field paths or special names.
    pub fn new(
        preset: Preset,
        headers: &[String],
        maps: &[(String, Target)],
        stage_maps: &[(String, String)],
    ) -> Plan {
        let preset_cols = preset.columns();
        let mut columns = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let n = norm(h);
            let t = maps
                .iter()
                .find(|(c, _)| norm(c) == n)
                .map(|(_, t)| t.clone())
                .or_else(|| {
                    preset_cols
                        .iter()
                        .find(|(c, _)| norm(c) == n)
                        .map(|(_, t)| t.clone())
                })
                .or_else(|| {
                    matches!(preset, Preset::Generic | Preset::Deal)
                        .then(|| Target::parse(h.trim()).ok())
                        .flatten()
                });
            if let Some(t) = t {
                columns.push((i, t));
            }
        }
        let mut stage_map: HashMap<String, String> = preset
            .stages()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in stage_maps {
            stage_map.insert(norm(k), v.clone());
        }
        Plan {
            columns,
            stage_map,
            unguard: preset == Preset::Deal,
        }
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
/// dates and amounts in the import's accepted forms.
fn typed(cfg: &Config, path: &str, raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let is_date = crate::fields::kind(path) == Some(crate::fields::Kind::Timestamp);
    if is_date {
        return parse_date(raw)
            .map(date_text)
            .ok_or_else(|| format!("`{raw}` in {path} is not a date (YYYY-MM-DD or M/D/YYYY)"));
    }
    if path == "value" {
        return parse_amount(raw)
            .filter(|v| *v >= 0.0)
            .map(|v| {
                if v.fract() == 0.0 {
                    format!("{}", v as i64)
                } else {
                    format!("{v}")
                }
            })
            .ok_or_else(|| format!("`{raw}` in value is not an amount"));
    }
    if (raw.starts_with('[') && raw.ends_with(']')) || (raw.starts_with('{') && raw.ends_with('}'))
    {
        // A structure from `deal export`: JSON is YAML flow style.
        if serde_json::from_str::<serde_json::Value>(raw).is_ok() {
            return Ok(raw.to_string());
        }
    }
    crate::fields::typed_value(cfg, path, raw, Utc::now())
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())
}

/// Reads one CSV record into a deal, or says why not.
pub fn read_row(
    cfg: &Config,
    plan: &Plan,
    rec: &csv::StringRecord,
    line: u64,
) -> Result<RowDeal, RowProblem> {
    let problem = |m: String| RowProblem { line, message: m };
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut stage: Option<Place> = None;
    let mut status: Option<String> = None;
    let mut closed = None;
    let mut lost_reason = None;
    let mut source_id = None;
    let mut slug_hint = None;
    let mut body = None;
    let mut owner_raw = None;
    for (i, t) in &plan.columns {
        let cell = rec.get(*i).unwrap_or("");
        let cell = if plan.unguard {
            csv_unguard(cell)
        } else {
            cell
        };
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match t {
            Target::Stage => {
                stage = Some(plan.stage_of(cfg, cell).ok_or_else(|| {
                    problem(format!(
                        "unknown stage \"{cell}\": pass --stage-map \"{cell}=<stage id>\""
                    ))
                })?)
            }
            Target::Status => status = Some(norm(cell)),
            Target::Closed => {
                closed = Some(parse_date(cell).ok_or_else(|| {
                    problem(format!("`{cell}` is not a date (YYYY-MM-DD or M/D/YYYY)"))
                })?)
            }
            Target::LostReason => lost_reason = Some(cell.to_string()),
            Target::SourceId => source_id = Some(cell.to_string()),
            Target::Slug => slug_hint = Some(cell.to_string()),
            Target::Body => body = Some(cell.replace("\r\n", "\n")),
            Target::Field(p) if p == "owner" => owner_raw = Some(cell.to_string()),
            Target::Field(p) => {
                if fields.iter().any(|(k, _)| k == p) {
                    continue; // two columns for one field: the first wins
                }
                let v = typed(cfg, p, cell).map_err(problem)?;
                fields.push((p.clone(), v));
            }
        }
    }
    // The stage column of a lost row (Pipedrive keeps the stage a deal was
    // lost at, and says `lost` in its status).
    let stage_col = stage.filter(|p| p.is_open());
    match status.as_deref() {
        Some("won") => stage = Some(Place::Won),
        Some("lost") => stage = Some(Place::Lost),
        _ => {}
    }
    let title = fields
        .iter()
        .find(|(k, _)| k == "title")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            fields
                .iter()
                .find(|(k, _)| k == "company")
                .map(|(_, v)| v.clone())
        });
    let Some(title_yaml) = title else {
        return Err(problem(
            "no title: the row has no deal name or company".into(),
        ));
    };
    let title: String = serde_yaml::from_str::<serde_yaml::Value>(&title_yaml)
        .ok()
        .and_then(|v| crate::deal::scalar_text(&v))
        .unwrap_or(title_yaml.clone());
    if !fields.iter().any(|(k, _)| k == "title") {
        fields.insert(0, ("title".into(), title_yaml));
    }
    let place = stage.unwrap_or(Place::Stage(0));
    let id = |p: Place| p.id(cfg).to_string();
    if let Some(t) = closed {
        match place {
            Place::Won | Place::Lost => {
                let k = format!("stages.{}", id(place));
                if !fields.iter().any(|(f, _)| *f == k) {
                    fields.push((k, date_text(t)));
                }
            }
            _ => {}
        }
    }
    if let Some(src) = &source_id {
        fields.push(("source_id".into(), yaml_scalar(src)));
    }
    if place == Place::Lost {
        if let Some(r) = &lost_reason {
            let canonical = cfg
                .lost_reasons
                .iter()
                .find(|l| l.eq_ignore_ascii_case(r) || norm(l) == norm(r))
                .cloned()
                .unwrap_or_else(|| r.clone());
            fields.push(("lost.reason".into(), yaml_scalar(&canonical)));
        }
        // The last stage the row dates.
        let last = fields
            .iter()
            .filter_map(|(k, v)| {
                let s = k.strip_prefix("stages.")?;
                let i = cfg.stage_index(s)?;
                Some((crate::time::parse_timestamp(v)?, i))
            })
            .max();
        // The last stage the row dates; else the stage the row names.
        let lost_at = last.map(|(_, i)| i).or(match stage_col {
            Some(Place::Stage(i)) => Some(i),
            _ => None,
        });
        if let Some(i) = lost_at {
            fields.push(("lost.stage".into(), yaml_scalar(&cfg.stages[i].id)));
        }
        if let Some(t) = closed {
            fields.push(("lost.at".into(), date_text(t)));
        }
    }
    Ok(RowDeal {
        line,
        slug_hint,
        title,
        place,
        owner_raw,
        source_id,
        fields,
        body,
    })
}

/// A tree of front-matter keys, written in first-seen order.
#[derive(Default)]
struct Tree(Vec<(String, Node)>);

enum Node {
    Leaf(String),
    Map(Tree),
}

impl Tree {
    fn insert(&mut self, path: &[&str], v: String) {
        let (first, rest) = (path[0], &path[1..]);
        if rest.is_empty() {
            if !self.0.iter().any(|(k, _)| k == first) {
                self.0.push((first.to_string(), Node::Leaf(v)));
            }
            return;
        }
        if !self.0.iter().any(|(k, _)| k == first) {
            self.0.push((first.to_string(), Node::Map(Tree::default())));
        }
        if let Some((_, Node::Map(t))) = self.0.iter_mut().find(|(k, _)| k == first) {
            t.insert(rest, v);
        }
    }

    fn write(&self, out: &mut String, indent: usize) {
        for (k, n) in &self.0 {
            out.push_str(&" ".repeat(indent));
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

/// The deal file for a row, with its resolved owner and the import date
/// (`imported`, which marks the deal's undated history as history).
pub fn deal_text(row: &RowDeal, owner: &str, today: &str) -> String {
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
    tree.insert(&["imported"], today.to_string());
    let mut fm = String::new();
    tree.write(&mut fm, 0);
    let body = match &row.body {
        Some(b) if !b.trim().is_empty() => format!("{}\n", b.trim_end()),
        _ => format!("# {}\n", row.title),
    };
    format!("---\n{fm}---\n\n{body}")
}

/// The slug a row wishes for: its hint (slugified unless it is one), else
/// its title's; `deal` when neither gives one.
pub fn base_slug(hint: Option<&str>, title: &str) -> String {
    let base = match hint {
        Some(h) if crate::slug::is_slug(h) => h.to_string(),
        Some(h) => slugify(h),
        None => slugify(title),
    };
    if base.is_empty() {
        "deal".to_string()
    } else {
        base
    }
}

/// A unique slug for a title (or the row's own slug), against `taken`.
pub fn unique_slug(
    hint: Option<&str>,
    title: &str,
    taken: &mut std::collections::HashSet<String>,
) -> String {
    let base = base_slug(hint, title);
    let mut s = base.clone();
    let mut n = 2;
    while taken.contains(&s) {
        s = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(s.clone());
    s
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
        assert_eq!(parse_amount("$12,400.00"), Some(12400.0));
        assert_eq!(parse_amount("12400"), Some(12400.0));
        assert_eq!(parse_amount("EUR 1.250,50"), Some(1250.5));
        assert_eq!(parse_amount("1,250"), Some(1250.0));
        assert_eq!(parse_amount("12,50"), Some(12.5));
        assert_eq!(parse_amount("n/a"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(date_text(parse_date("11/2/2026").unwrap()), "2026-11-02");
        assert_eq!(date_text(parse_date("2026-11-02").unwrap()), "2026-11-02");
        assert_eq!(
            date_text(parse_date("2026-11-02 09:14").unwrap()),
            "2026-11-02T09:14:00Z"
        );
        assert!(parse_date("13/45/2026").is_none());
    }
}
