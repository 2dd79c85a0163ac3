//! `pipeline.yaml`: the process — stages, exit criteria, team and settings.
//!
//! Loading happens in three passes, each with positions for its errors:
//! 1. syntax and duplicate keys (serde_yaml, then yaml-rust2 for the line);
//! 2. shape: unknown keys and criterion kinds, wrong types (serde's
//!    `deny_unknown_fields`, whose errors carry a line and a key path);
//! 3. meaning: duplicate stage ids, bad expressions and regexes, folders that
//!    leave the pipeline root (positions from [`crate::yaml::positions`]).

use std::collections::HashSet;
use std::path::{Component, Path};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::base::diag;
use crate::model::notes::Qualification;
use crate::model::notes::{self, NoteKind, Templates};
use crate::yaml::emit::yaml_scalar;
use crate::yaml::positions as yamlpos;

/// The file name of the process definition.
pub const FILE: &str = "pipeline.yaml";

/// Ids of the two outcome folders that follow the last stage.
pub const WON: &str = "won";
pub const LOST: &str = "lost";

/// A malformed `pipeline.yaml` (or a template it depends on): declared in
/// [`crate::base::error`] beside the error that carries it, named here too.
use crate::base::error::ConfigError;

/// A team member, keyed by handle.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Member {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// A value format a `field` criterion can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Email,
    Phone,
    Date,
    Url,
    Number,
    Bool,
    File,
    FileOrUrl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Email => "email",
            Format::Phone => "phone",
            Format::Date => "date",
            Format::Url => "url",
            Format::Number => "number",
            Format::Bool => "bool",
            Format::File => "file",
            Format::FileOrUrl => "file-or-url",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Filled {
    All,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    label: Option<String>,
    field: Option<String>,
    fields: Option<Vec<String>>,
    format: Option<Format>,
    matches: Option<String>,
    section: Option<String>,
    filled: Option<Filled>,
    any: Option<Vec<RawCriterion>>,
    expr: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    id: String,
    name: Option<String>,
    dir: Option<String>,
    /// Accepted and type-checked as a string (docs/reference.md lists it);
    /// nothing reads it.
    #[serde(rename = "action")]
    _action: Option<String>,
    owner_role: Option<String>,
    probability: Option<f64>,
    rot_after_days: Option<f64>,
    forecast: Option<String>,
    #[serde(default)]
    exit: Vec<RawCriterion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    version: Option<u32>,
    currency: Option<String>,
    deals_dir: Option<String>,
    qualification: Option<Qualification>,
    commit: Option<bool>,
    enforce_from: Option<String>,
    speed_to_lead_minutes: Option<u32>,
    #[serde(default)]
    inbound_sources: Vec<String>,
    #[serde(default)]
    lost_reasons: Vec<String>,
    #[serde(default)]
    team: IndexMap<String, Member>,
    #[serde(default)]
    stages: Vec<RawStage>,
    icp: Option<serde_yaml::Value>,
    routing: Option<serde_yaml::Value>,
    intake: Option<serde_yaml::Value>,
    triggers: Option<serde_yaml::Value>,
}

/// What a criterion checks.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Every field present and not empty, optionally in a format and matching a regex.
    Field {
        fields: Vec<String>,
        format: Option<Format>,
        matches: Option<Regex>,
    },
    /// A body section with real content.
    Section {
        heading: String,
        /// `filled: all`: every sub-heading of the note template, each with content.
        required: Option<Vec<String>>,
        /// The note that scaffolds this section, if one does.
        note: Option<NoteKind>,
    },
    /// At least one holds.
    Any(Vec<Criterion>),
    /// A minijinja expression over the front-matter, truthy.
    Expr(String),
}

/// One exit criterion: a completion signal with its label.
#[derive(Debug, Clone)]
pub struct Criterion {
    pub label: String,
    pub kind: Kind,
}

/// A stage of the process.
#[derive(Debug, Clone)]
pub struct Stage {
    pub id: String,
    pub name: String,
    /// Folder under `deals_dir`.
    pub dir: String,
    pub owner_role: Option<String>,
    pub probability: f64,
    pub rot_after_days: Option<f64>,
    /// `forecast:`, else the default by probability (see [`Stage::category`]).
    pub forecast: Option<Category>,
    pub exit: Vec<Criterion>,
}

/// A forecast category (docs/reference.md, "Forecast"): a deal's `forecast` field, or
/// its stage's `forecast:`, or the default by the stage's probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Commit,
    BestCase,
    Pipeline,
    Omitted,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Commit,
        Category::BestCase,
        Category::Pipeline,
        Category::Omitted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Commit => "commit",
            Category::BestCase => "best_case",
            Category::Pipeline => "pipeline",
            Category::Omitted => "omitted",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The words for people: `best case`.
    pub fn label(self) -> &'static str {
        match self {
            Category::BestCase => "best case",
            c => c.as_str(),
        }
    }
}

impl Stage {
    /// The stage's forecast category: `forecast:`, else `commit` at a
    /// probability of 0.7 or more, `best_case` at 0.4 or more, else `pipeline`.
    pub fn category(&self) -> Category {
        self.forecast.unwrap_or(if self.probability >= 0.7 {
            Category::Commit
        } else if self.probability >= 0.4 {
            Category::BestCase
        } else {
            Category::Pipeline
        })
    }
}

/// The loaded, validated `pipeline.yaml`.
#[derive(Debug, Clone)]
pub struct Config {
    pub currency: String,
    pub deals_dir: String,
    pub qualification: Qualification,
    pub commit: bool,
    pub enforce_from: Option<DateTime<Utc>>,
    pub speed_to_lead_minutes: u32,
    pub inbound_sources: Vec<String>,
    pub lost_reasons: Vec<String>,
    pub team: IndexMap<String, Member>,
    pub stages: Vec<Stage>,
    /// ICP scoring rules (`icp`), checked when pipeline.yaml loads.
    pub icp: Option<Vec<IcpRule>>,
    /// Owner assignment for new leads (`routing`).
    pub routing: Option<Routing>,
    /// Payload key → front-matter path (or `body`) for `deal new --json`.
    pub intake: Option<Vec<(String, String)>>,
    /// Automation triggers (`triggers`), run by `deal notify`.
    pub triggers: Vec<crate::model::triggers::Trigger>,
    /// Text blocks of the note templates (prompts), which never count as content.
    pub prompts: HashSet<String>,
}

impl Config {
    /// The team handle whose `email` is `ident`'s (`Name <email>` or a bare
    /// email; case folded), if any.
    pub fn handle_by_email(&self, ident: &str) -> Option<&str> {
        let email = crate::model::team::email_of(ident);
        if email.is_empty() {
            return None;
        }
        self.team
            .iter()
            .find(|(_, m)| {
                m.email
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(&email))
            })
            .map(|(h, _)| h.as_str())
    }

    /// Who a person is in this pipeline: their team handle when their
    /// email is a member's, else `ident` (`Name <email>`) as it is. How
    /// `waived.<stage>.by` and `Forced-By:` name whoever forced a move.
    pub fn who(&self, ident: &str) -> String {
        self.handle_by_email(ident)
            .map(str::to_string)
            .unwrap_or_else(|| crate::base::diag::one_line(ident))
    }

    /// The one hint that lists where a deal can be: `stages are prospecting,
    /// outreach, …, then won or lost`.
    pub fn stage_hint(&self) -> String {
        let ids: Vec<&str> = self.stages.iter().map(|s| s.id.as_str()).collect();
        format!("stages are {}, then won or lost", ids.join(", "))
    }

    /// The index of stage `id`, if it is a stage (not an outcome).
    pub fn stage_index(&self, id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }

    /// Whether a lead from `source` is inbound: speed-to-lead applies.
    pub fn is_inbound(&self, source: Option<&str>) -> bool {
        source.is_some_and(|s| self.inbound_sources.iter().any(|i| i == s))
    }

    /// The team member whose email is `email`.
    pub fn member_by_email(&self, email: &str) -> Option<&str> {
        self.team
            .iter()
            .find(|(_, m)| {
                m.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .map(|(h, _)| h.as_str())
    }
}

struct Ctx<'a> {
    path: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>, help: impl Into<String>) -> ConfigError {
        let pos = yamlpos::locate(self.src, &yamlpos::parse_path(key));
        self.at(pos, Some(key), message, help)
    }

    fn at(
        &self,
        pos: Option<yamlpos::Pos>,
        key: Option<&str>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> ConfigError {
        let help = help.into();
        ConfigError {
            path: self.path.to_path_buf(),
            line: pos.map(|p| p.line),
            col: pos.map(|p| p.col),
            key: key.map(str::to_string),
            message: message.into(),
            help: (!help.is_empty()).then_some(help),
            excerpt: pos.and_then(|p| {
                diag::line_of(self.src, p.line).map(|l| diag::excerpt(p.line, l, p.col))
            }),
        }
    }
}

/// Whether `p` is a relative path that stays inside the folder it is joined to.
/// Whether a relative folder has a `.git` component (any case: one folder
/// on macOS and Windows), so it would be among git's own files.
fn in_git_dir(p: &str) -> bool {
    Path::new(p)
        .components()
        .any(|c| matches!(c, Component::Normal(n) if n.eq_ignore_ascii_case(".git")))
}

pub fn stays_inside(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && path.components().any(|c| matches!(c, Component::Normal(_)))
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Splits serde_yaml's "path: message at line L column C" into parts.
fn split_serde_message(msg: &str) -> (Option<String>, String) {
    let msg = match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    if let Some((k, rest)) = msg.split_once(": ")
        && !k.contains(' ')
    {
        return (Some(k.to_string()), rest.to_string());
    }
    (None, msg.to_string())
}

/// Loads `pipeline.yaml` from `root`.
pub fn load(root: &Path) -> Result<Config, ConfigError> {
    let path = root.join(FILE);
    if let Some(link) = crate::base::safepath::first_link(root, Path::new(FILE)) {
        return Err(ConfigError::symlink(link));
    }
    let bytes = std::fs::read(&path).map_err(|e| ConfigError {
        path: path.clone(),
        line: None,
        col: None,
        key: None,
        message: format!("cannot read: {e}"),
        help: Some("run `deal init` to create one".into()),
        excerpt: None,
    })?;
    let src = String::from_utf8(bytes).map_err(|_| ConfigError {
        path: path.clone(),
        line: None,
        col: None,
        key: None,
        message: "not valid UTF-8".into(),
        help: Some("re-save the file as UTF-8".into()),
        excerpt: None,
    })?;
    let templates = Templates::new(root);
    let cfg = parse(&src, &path, &templates)?;
    // The folders every command reads deals from and writes them into.
    let deals = Path::new(&cfg.deals_dir);
    let dirs = cfg.stages.iter().map(|s| s.dir.as_str()).chain([WON, LOST]);
    for rel in std::iter::once(deals.to_path_buf()).chain(dirs.map(|d| deals.join(d))) {
        if let Some(link) = crate::base::safepath::first_link(root, &rel) {
            return Err(ConfigError::symlink(link));
        }
        // A folder of deals that is a file (or a FIFO…) is a mistake in
        // pipeline.yaml, not an empty stage.
        if std::fs::symlink_metadata(root.join(&rel)).is_ok_and(|m| !m.is_dir()) {
            let key = if rel == deals { "deals_dir" } else { "stages" };
            return Err(ConfigError {
                line: yamlpos::locate(&src, &yamlpos::parse_path(key)).map(|p| p.line),
                col: None,
                key: Some(key.into()),
                message: format!(
                    "{} is a file, not a folder of deals",
                    crate::base::diag::display_path(&root.join(&rel))
                ),
                help: Some(
                    "point deals_dir and each stage's `dir` at folders, or move the file away"
                        .into(),
                ),
                excerpt: None,
                path,
            });
        }
    }
    Ok(cfg)
}

/// Parses and validates the text of a `pipeline.yaml` found at `path`.
pub fn parse(src: &str, path: &Path, templates: &Templates) -> Result<Config, ConfigError> {
    let cx = Ctx { path, src };
    if let Some(c) = crate::base::conflict::find(src) {
        return Err(cx.at(
            Some(yamlpos::Pos {
                line: c.start,
                col: 1,
            }),
            None,
            format!("[conflict] {}", c.message()),
            "edit pipeline.yaml: keep the right side between `<<<<<<<` and `>>>>>>>`, delete the three marker lines, then `git add pipeline.yaml`",
        ));
    }
    // Pass 1: syntax and duplicate keys, after a linear bound on nesting.
    if let Some((pos, why, help)) = yamlpos::nesting_problem(src) {
        return Err(cx.at(Some(pos), None, format!("YAML {why}"), help));
    }
    if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(src) {
        if let Some((key, pos, first)) = yamlpos::first_duplicate_key(src) {
            return Err(cx.at(
                Some(pos),
                Some(&key),
                format!("duplicate key (first defined on line {first})"),
                "keep one of the two",
            ));
        }
        let pos = e.location().map(|l| yamlpos::Pos {
            line: l.line(),
            col: l.column(),
        });
        let (_, msg) = split_serde_message(&e.to_string());
        return Err(cx.at(pos, None, format!("invalid YAML: {msg}"), ""));
    }
    // Pass 2: shape.
    let raw: RawConfig = serde_yaml::from_str(src).map_err(|e| {
        let pos = e.location().map(|l| yamlpos::Pos {
            line: l.line(),
            col: l.column(),
        });
        let (key, msg) = split_serde_message(&e.to_string());
        let help = if msg.contains("unknown field")
            && key.as_deref().is_some_and(|k| k.contains("exit"))
        {
            "criterion kinds are `field`, `fields`, `section`, `any` and `expr`; see docs/reference.md, \"Criteria\""
        } else if msg.contains("unknown field") {
            "check the spelling; the keys are listed in the README under \"pipeline.yaml\""
        } else {
            ""
        };
        cx.at(pos, key.as_deref(), msg, help)
    })?;
    // Pass 3: meaning.
    validate(raw, &cx, templates)
}

/// The meaning of a config of the right shape: each key checked in turn
/// (the first problem is the error), the defaults filled in.
fn validate(raw: RawConfig, cx: &Ctx, templates: &Templates) -> Result<Config, ConfigError> {
    let version = raw.version.unwrap_or(1);
    if version != 1 {
        return Err(cx.err(
            "version",
            format!("unsupported version {version}"),
            "this deal understands `version: 1`",
        ));
    }
    let deals_dir = deals_dir(raw.deals_dir.clone(), cx)?;
    let enforce_from = enforce_from(raw.enforce_from.as_deref(), cx)?;
    if raw.stages.is_empty() {
        return Err(cx.err(
            "stages",
            "no stages are defined",
            "run `deal init` in an empty folder to see the default seven stages",
        ));
    }
    let qualification = raw.qualification.unwrap_or_default();
    let mut reader = StageReader {
        cx,
        deals_dir: &deals_dir,
        env: crate::base::expr::environment(),
        templates,
        q: qualification,
        seen_ids: Vec::new(),
        seen_dirs: Vec::new(),
    };
    let mut stages = Vec::new();
    for (i, st) in raw.stages.iter().enumerate() {
        stages.push(reader.stage(i, st)?);
    }
    let lead_err = |(key, msg, help): LeadError| cx.err(&key, msg, help);
    let routing = raw
        .routing
        .as_ref()
        .map(|r| parse_routing(r, &raw.team))
        .transpose()
        .map_err(&lead_err)?;
    let ids: Vec<String> = stages.iter().map(|s: &Stage| s.id.clone()).collect();
    let mut triggers = match &raw.triggers {
        None => Vec::new(),
        Some(v) => crate::model::triggers::parse_triggers(
            v,
            &crate::model::triggers::Known {
                stages: &ids,
                outcomes: &[WON, LOST],
                team: &raw.team.keys().cloned().collect::<Vec<_>>(),
            },
        )
        .map_err(|(key, msg, help)| cx.err(&key, msg, help))?,
    };
    for (i, t) in triggers.iter_mut().enumerate() {
        t.line = yamlpos::locate(cx.src, &yamlpos::parse_path(&format!("triggers[{i}]")))
            .map(|p| p.line);
    }
    Ok(Config {
        currency: raw.currency.unwrap_or_else(|| "EUR".into()),
        deals_dir,
        qualification,
        commit: raw.commit.unwrap_or(true),
        enforce_from,
        speed_to_lead_minutes: raw.speed_to_lead_minutes.unwrap_or(5),
        inbound_sources: raw.inbound_sources,
        lost_reasons: raw.lost_reasons,
        team: raw.team,
        stages,
        icp: raw
            .icp
            .as_ref()
            .map(parse_icp)
            .transpose()
            .map_err(&lead_err)?,
        routing,
        intake: raw
            .intake
            .as_ref()
            .map(parse_intake)
            .transpose()
            .map_err(&lead_err)?,
        prompts: templates.prompts(qualification),
        triggers,
    })
}

/// `deals_dir` (default `deals`): a folder inside the pipeline root, not
/// inside `.git`.
fn deals_dir(dir: Option<String>, cx: &Ctx) -> Result<String, ConfigError> {
    let deals_dir = dir.unwrap_or_else(|| "deals".into());
    if !stays_inside(&deals_dir) {
        return Err(cx.err(
            "deals_dir",
            format!("`{deals_dir}` leaves the pipeline root"),
            "use a relative folder inside the pipeline, such as `deals`",
        ));
    }
    if in_git_dir(&deals_dir) {
        return Err(cx.err(
            "deals_dir",
            format!("`{deals_dir}` is inside `.git`, git's own folder"),
            "use a folder of the work tree, such as `deals`",
        ));
    }
    Ok(deals_dir)
}

/// `enforce_from`, when given: a date or timestamp.
fn enforce_from(s: Option<&str>, cx: &Ctx) -> Result<Option<DateTime<Utc>>, ConfigError> {
    let Some(s) = s else { return Ok(None) };
    let t = crate::base::time::parse_timestamp(s).ok_or_else(|| {
        cx.err(
            "enforce_from",
            format!("`{s}` is not a date"),
            "write a date such as `2026-11-01` or an RFC 3339 timestamp",
        )
    })?;
    Ok(Some(t))
}

/// Reads the stages in order: what each needs from the config, and the
/// ids and folders of the stages before it, which a stage may not repeat.
struct StageReader<'a> {
    cx: &'a Ctx<'a>,
    deals_dir: &'a str,
    env: minijinja::Environment<'static>,
    templates: &'a Templates,
    q: Qualification,
    seen_ids: Vec<String>,
    seen_dirs: Vec<String>,
}

impl StageReader<'_> {
    /// `stages[i]`, checked and with its defaults.
    fn stage(&mut self, i: usize, st: &RawStage) -> Result<Stage, ConfigError> {
        let key = format!("stages[{i}]");
        self.check_id(&key, st)?;
        let dir = self.dir(&key, i, st)?;
        let probability = self.probability(&key, st)?;
        let forecast = self.forecast(&key, st)?;
        let mut exit = Vec::new();
        for (j, c) in st.exit.iter().enumerate() {
            exit.push(criterion(
                c,
                &format!("{key}.exit[{j}]"),
                self.cx,
                &self.env,
                self.templates,
                self.q,
            )?);
        }
        Ok(Stage {
            id: st.id.clone(),
            name: st.name.clone().unwrap_or_else(|| title_case(&st.id)),
            dir,
            owner_role: st.owner_role.clone(),
            probability,
            rot_after_days: st.rot_after_days,
            forecast,
            exit,
        })
    }

    /// The stage's id: valid, not an outcome, not an earlier stage's.
    fn check_id(&mut self, key: &str, st: &RawStage) -> Result<(), ConfigError> {
        let cx = self.cx;
        if !is_id(&st.id) {
            return Err(cx.err(
                &format!("{key}.id"),
                format!("`{}` is not a valid stage id", st.id),
                "stage ids are lower-case letters, digits and `-`",
            ));
        }
        if st.id == WON || st.id == LOST {
            return Err(cx.err(
                &format!("{key}.id"),
                format!("`{}` is an outcome, not a stage", st.id),
                "`won` and `lost` follow the last stage by themselves; remove this stage",
            ));
        }
        if let Some(j) = self.seen_ids.iter().position(|s| *s == st.id) {
            return Err(cx.err(
                &format!("{key}.id"),
                format!("duplicate stage id `{}` (also stages[{j}])", st.id),
                "give each stage its own id",
            ));
        }
        self.seen_ids.push(st.id.clone());
        Ok(())
    }

    /// The stage's folder (default `01-<id>`, by its place): inside the
    /// pipeline, not inside `.git`, not an outcome's or an earlier stage's.
    fn dir(&mut self, key: &str, i: usize, st: &RawStage) -> Result<String, ConfigError> {
        let cx = self.cx;
        let dir = st
            .dir
            .clone()
            .unwrap_or_else(|| format!("{:02}-{}", i + 1, st.id));
        if !stays_inside(&dir) {
            return Err(cx.err(
                &format!("{key}.dir"),
                format!("`{dir}` leaves the pipeline root"),
                format!(
                    "use a folder name inside `{}`, such as `{:02}-{}`",
                    self.deals_dir,
                    i + 1,
                    st.id
                ),
            ));
        }
        if in_git_dir(&dir) {
            return Err(cx.err(
                &format!("{key}.dir"),
                format!("`{dir}` is inside `.git`, git's own folder"),
                format!("use a folder name such as `{:02}-{}`", i + 1, st.id),
            ));
        }
        if dir == WON || dir == LOST || self.seen_dirs.contains(&dir) {
            return Err(cx.err(
                &format!("{key}.dir"),
                format!("the folder `{dir}` is already used"),
                "give each stage its own folder",
            ));
        }
        self.seen_dirs.push(dir.clone());
        Ok(dir)
    }

    /// The stage's probability (default 0), between 0 and 1; and its
    /// `rot_after_days`, when given, a positive number.
    fn probability(&self, key: &str, st: &RawStage) -> Result<f64, ConfigError> {
        let probability = st.probability.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err(self.cx.err(
                &format!("{key}.probability"),
                format!("{probability} is not between 0 and 1"),
                "write the probability as a fraction, such as `0.25`",
            ));
        }
        if let Some(r) = st.rot_after_days
            && (r.is_nan() || r <= 0.0)
        {
            return Err(self.cx.err(
                &format!("{key}.rot_after_days"),
                format!("{r} is not a positive number of days"),
                "remove the key if the stage never rots",
            ));
        }
        Ok(probability)
    }

    /// The stage's forecast category, when given.
    fn forecast(&self, key: &str, st: &RawStage) -> Result<Option<Category>, ConfigError> {
        let Some(f) = st.forecast.as_deref() else {
            return Ok(None);
        };
        let c = Category::parse(f).ok_or_else(|| {
            self.cx.err(
                &format!("{key}.forecast"),
                format!("`{f}` is not a forecast category"),
                "write commit, best_case, pipeline or omitted; without the key, the probability decides (0.7 and more: commit, 0.4 and more: best_case)",
            )
        })?;
        Ok(Some(c))
    }
}

/// One `icp` rule: its kind and weight, and what it matches.
#[derive(Debug, Clone, PartialEq)]
pub struct IcpRule {
    pub kind: IcpKind,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IcpKind {
    /// `icp.industry` is one of these (lower-cased).
    Industry(Vec<String>),
    /// `icp.headcount` within the range.
    Headcount { min: Option<f64>, max: Option<f64> },
    /// `icp.tech` names any of these (lower-cased).
    Tech(Vec<String>),
    /// `value` within the range.
    Budget { min: Option<f64>, max: Option<f64> },
}

/// `routing`: rules first, then round robin over a role.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub rules: Vec<RouteRule>,
    pub round_robin: Option<String>,
}

/// `{ field, equals, owner }`: the first rule whose field equals (any case)
/// one of the values picks the owner.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteRule {
    pub field: String,
    pub equals: Vec<String>,
    pub owner: String,
}

/// A key path, a message and a help, for an error at that key.
type LeadError = (String, String, &'static str);

fn yaml_num(v: &serde_yaml::Value) -> Option<f64> {
    match v {
        serde_yaml::Value::Number(n) => n.as_f64(),
        serde_yaml::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn yaml_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

const ICP_HELP: &str = "icp rules are industry { weight, in: [..] }, headcount { weight, min, max }, tech { weight, any: [..] } and budget { weight, min, max }; see docs/reference.md";
const ROUTING_HELP: &str =
    "routing is { rules: [{ field, equals, owner }], round_robin: ROLE }; see docs/reference.md";
const INTAKE_HELP: &str =
    "intake maps payload keys to field paths: `intake: { email: contact.email, message: body }`";

fn parse_icp(v: &serde_yaml::Value) -> Result<Vec<IcpRule>, LeadError> {
    let m = v.as_mapping().ok_or_else(|| {
        (
            "icp".to_string(),
            "must be a mapping of rules".to_string(),
            ICP_HELP,
        )
    })?;
    let mut out = Vec::new();
    for (k, r) in m {
        let name = yaml_text(k).unwrap_or_default();
        let key = format!("icp.{name}");
        let r = r.as_mapping().ok_or_else(|| {
            (
                key.clone(),
                "must be a mapping with a weight".into(),
                ICP_HELP,
            )
        })?;
        let allowed: &[&str] = match name.as_str() {
            "industry" => &["weight", "in"],
            "tech" => &["weight", "any"],
            "headcount" | "budget" => &["weight", "min", "max"],
            _ => {
                return Err((
                    key,
                    "unknown rule; the rules are industry, headcount, tech and budget".into(),
                    ICP_HELP,
                ));
            }
        };
        for k in r.keys() {
            let k = yaml_text(k).unwrap_or_default();
            if !allowed.contains(&k.as_str()) {
                return Err((
                    format!("{key}.{k}"),
                    format!("unknown key; `{name}` takes {}", allowed.join(", ")),
                    ICP_HELP,
                ));
            }
        }
        let weight = r
            .get("weight")
            .and_then(yaml_num)
            .filter(|w| *w >= 0.0 && w.is_finite())
            .ok_or_else(|| {
                (
                    format!("{key}.weight"),
                    "must be a number ≥ 0".into(),
                    ICP_HELP,
                )
            })?;
        let bound = |b: &str| -> Result<Option<f64>, LeadError> {
            match r.get(b) {
                None | Some(serde_yaml::Value::Null) => Ok(None),
                Some(x) => yaml_num(x)
                    .map(Some)
                    .ok_or_else(|| (format!("{key}.{b}"), "must be a number".into(), ICP_HELP)),
            }
        };
        let list = |b: &str| -> Result<Vec<String>, LeadError> {
            match r.get(b) {
                Some(serde_yaml::Value::Sequence(s)) => s
                    .iter()
                    .map(|x| {
                        yaml_text(x).map(|t| t.to_lowercase()).ok_or_else(|| {
                            (
                                format!("{key}.{b}"),
                                "must be a list of values".into(),
                                ICP_HELP,
                            )
                        })
                    })
                    .collect(),
                _ => Err((
                    format!("{key}.{b}"),
                    "must be a list of values".into(),
                    ICP_HELP,
                )),
            }
        };
        let kind = match name.as_str() {
            "industry" => IcpKind::Industry(list("in")?),
            "tech" => IcpKind::Tech(list("any")?),
            "headcount" => IcpKind::Headcount {
                min: bound("min")?,
                max: bound("max")?,
            },
            _ => IcpKind::Budget {
                min: bound("min")?,
                max: bound("max")?,
            },
        };
        out.push(IcpRule { kind, weight });
    }
    Ok(out)
}

fn parse_routing(
    v: &serde_yaml::Value,
    team: &IndexMap<String, Member>,
) -> Result<Routing, LeadError> {
    let m = v.as_mapping().ok_or_else(|| {
        (
            "routing".to_string(),
            "must be a mapping with `rules` and/or `round_robin`".to_string(),
            ROUTING_HELP,
        )
    })?;
    for k in m.keys() {
        let k = yaml_text(k).unwrap_or_default();
        if k != "rules" && k != "round_robin" {
            return Err((
                format!("routing.{k}"),
                "unknown key; routing takes rules and round_robin".into(),
                ROUTING_HELP,
            ));
        }
    }
    let mut rules = Vec::new();
    if let Some(rs) = m.get("rules") {
        let rs = rs.as_sequence().ok_or_else(|| {
            (
                "routing.rules".to_string(),
                "must be a list of { field, equals, owner }".to_string(),
                ROUTING_HELP,
            )
        })?;
        for (i, rule) in rs.iter().enumerate() {
            let key = format!("routing.rules[{i}]");
            let text = |k: &str| {
                rule.get(k)
                    .and_then(serde_yaml::Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| (key.clone(), format!("needs `{k}`"), ROUTING_HELP))
            };
            let field = text("field")?;
            let owner = text("owner")?;
            if !team.is_empty() && !team.contains_key(&owner) {
                return Err((
                    format!("{key}.owner"),
                    format!("owner `{owner}` is not in team"),
                    "use a handle from team",
                ));
            }
            let equals: Vec<String> = match rule.get("equals") {
                Some(serde_yaml::Value::Sequence(s)) => s.iter().filter_map(yaml_text).collect(),
                Some(v) => yaml_text(v).into_iter().collect(),
                None => return Err((key, "needs `equals`".into(), ROUTING_HELP)),
            };
            rules.push(RouteRule {
                field,
                equals,
                owner,
            });
        }
    }
    let round_robin = match m.get("round_robin") {
        None => None,
        Some(r) => {
            let role = r.as_str().ok_or_else(|| {
                (
                    "routing.round_robin".to_string(),
                    "must be a role, e.g. sdr".to_string(),
                    ROUTING_HELP,
                )
            })?;
            if !team.is_empty() && !team.values().any(|m| m.roles.iter().any(|x| x == role)) {
                return Err((
                    "routing.round_robin".into(),
                    format!("no team member has the role `{role}`"),
                    "give a role that a team member has, or add it to a member's roles",
                ));
            }
            Some(role.to_string())
        }
    };
    Ok(Routing { rules, round_robin })
}

fn parse_intake(v: &serde_yaml::Value) -> Result<Vec<(String, String)>, LeadError> {
    let m = v.as_mapping().ok_or_else(|| {
        (
            "intake".to_string(),
            "must be a mapping of payload key: field path".to_string(),
            INTAKE_HELP,
        )
    })?;
    let mut out = Vec::new();
    for (k, p) in m {
        let (Some(k), Some(p)) = (yaml_text(k), p.as_str()) else {
            return Err((
                "intake".into(),
                "each entry is `payload_key: field.path`".into(),
                INTAKE_HELP,
            ));
        };
        out.push((k, p.to_string()));
    }
    Ok(out)
}

fn title_case(id: &str) -> String {
    let s = id.replace(['-', '_'], " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// The criterion `c` at `key` (`stages[2].exit[0]`): its kind checked
/// and read, its label given or made from what it asks.
fn criterion(
    c: &RawCriterion,
    key: &str,
    cx: &Ctx,
    env: &minijinja::Environment<'static>,
    templates: &Templates,
    q: Qualification,
) -> Result<Criterion, ConfigError> {
    check_criterion_keys(c, key, cx)?;
    let (kind, default_label) = if let Some(f) =
        c.field.clone().map(|f| vec![f]).or(c.fields.clone())
    {
        field_criterion(c, f, key, cx)?
    } else if let Some(h) = &c.section {
        section_criterion(c, h, key, cx, templates, q)?
    } else if let Some(list) = &c.any {
        any_criterion(list, key, cx, env, templates, q)?
    } else {
        let e = c.expr.clone().unwrap_or_default();
        crate::base::expr::check_syntax(env, &e).map_err(|m| {
            cx.err(
                &format!("{key}.expr"),
                format!("invalid expression: {m}"),
                "expressions are minijinja, e.g. `objections | rejectattr('resolved') | list | length == 0`",
            )
        })?;
        (Kind::Expr(e.clone()), format!("`{e}` holds"))
    };
    Ok(Criterion {
        label: c.label.clone().unwrap_or(default_label),
        kind,
    })
}

/// A criterion has exactly one kind, and `format`, `matches` and `filled`
/// only with the kinds they apply to.
fn check_criterion_keys(c: &RawCriterion, key: &str, cx: &Ctx) -> Result<(), ConfigError> {
    let kinds = [
        c.field.is_some(),
        c.fields.is_some(),
        c.section.is_some(),
        c.any.is_some(),
        c.expr.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if kinds != 1 {
        return Err(cx.err(
            key,
            if kinds == 0 {
                "the criterion has no kind".to_string()
            } else {
                "the criterion has more than one kind".to_string()
            },
            "give it exactly one of `field`, `fields`, `section`, `any` or `expr`",
        ));
    }
    let field_only = |what: &str, present: bool| -> Result<(), ConfigError> {
        if present && c.field.is_none() && c.fields.is_none() {
            return Err(cx.err(
                &format!("{key}.{what}"),
                format!("`{what}` applies to `field` and `fields` criteria only"),
                "move it next to a `field:`",
            ));
        }
        Ok(())
    };
    field_only("format", c.format.is_some())?;
    field_only("matches", c.matches.is_some())?;
    if c.filled.is_some() && c.section.is_none() {
        return Err(cx.err(
            &format!("{key}.filled"),
            "`filled` applies to `section` criteria only",
            "move it next to a `section:`",
        ));
    }
    Ok(())
}

/// A `field` or `fields` criterion on the paths `f`, with its `format`
/// and `matches` pattern, and its default label.
fn field_criterion(
    c: &RawCriterion,
    f: Vec<String>,
    key: &str,
    cx: &Ctx,
) -> Result<(Kind, String), ConfigError> {
    if f.is_empty() || f.iter().any(|p| p.trim().is_empty()) {
        return Err(cx.err(
            key,
            "an empty field name",
            "name a front-matter key, such as `contact.email`",
        ));
    }
    let matches = match &c.matches {
        None => None,
        Some(m) => Some(Regex::new(m).map_err(|e| {
            cx.err(
                &format!("{key}.matches"),
                format!(
                    "invalid regex: {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
                "fix the pattern; it is a Rust `regex` (no look-around)",
            )
        })?),
    };
    let label = match c.format {
        Some(fmt) => format!("{} is a valid {}", f.join(", "), fmt.as_str()),
        None => format!("{} filled in", f.join(", ")),
    };
    Ok((
        Kind::Field {
            fields: f,
            format: c.format,
            matches,
        },
        label,
    ))
}

/// A `section` criterion on heading `h`: with `filled: all`, the headings
/// its note template requires. And its default label.
fn section_criterion(
    c: &RawCriterion,
    h: &str,
    key: &str,
    cx: &Ctx,
    templates: &Templates,
    q: Qualification,
) -> Result<(Kind, String), ConfigError> {
    if h.trim().is_empty() {
        return Err(cx.err(
            &format!("{key}.section"),
            "an empty heading",
            "name the section heading",
        ));
    }
    let note = NoteKind::for_section(h);
    let required = match (c.filled, note) {
        (None, _) => None,
        (Some(Filled::All), Some(n)) => Some(templates.required_headings(n, q)?),
        (Some(Filled::All), None) => Some(Vec::new()),
    };
    Ok((
        Kind::Section {
            heading: h.to_string(),
            required,
            note,
        },
        format!("section \"{h}\" written"),
    ))
}

/// An `any` criterion: at least one criterion, each read in turn, the
/// default label theirs joined by "or".
fn any_criterion(
    list: &[RawCriterion],
    key: &str,
    cx: &Ctx,
    env: &minijinja::Environment<'static>,
    templates: &Templates,
    q: Qualification,
) -> Result<(Kind, String), ConfigError> {
    if list.is_empty() {
        return Err(cx.err(
            &format!("{key}.any"),
            "`any` needs at least one criterion",
            "",
        ));
    }
    let mut subs = Vec::new();
    for (i, s) in list.iter().enumerate() {
        subs.push(criterion(
            s,
            &format!("{key}.any[{i}]"),
            cx,
            env,
            templates,
            q,
        )?);
    }
    let label = subs
        .iter()
        .map(|s| s.label.clone())
        .collect::<Vec<_>>()
        .join(" or ");
    Ok((Kind::Any(subs), label))
}

/// The default `pipeline.yaml` written by `deal init`.
pub fn default_yaml(team: &[(String, String, String)], q: Qualification) -> String {
    let mut team_yaml = String::new();
    if team.is_empty() {
        team_yaml.push_str(
            "team: {}   # add members: handle: { name: …, email: …, roles: [sdr, ae, delivery] }\n",
        );
    } else {
        team_yaml.push_str("team:\n");
        for (handle, name, email) in team {
            team_yaml.push_str(&format!(
                "  {handle}: {{ name: {}, email: {}, roles: [sdr, ae, delivery] }}\n",
                yaml_scalar(name),
                yaml_scalar(email)
            ));
        }
    }
    notes::builtin("pipeline.yaml")
        .unwrap_or_default()
        .replace("{{ team }}\n", &team_yaml)
        .replace("{{ qualification }}", q.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> Result<Config, ConfigError> {
        parse(src, Path::new("pipeline.yaml"), &Templates::builtin_only())
    }

    #[test]
    fn default_config_loads() {
        let y = default_yaml(
            &[("ann".into(), "Ann O'Neil".into(), "ann@example.com".into())],
            Qualification::Meddic,
        );
        let c = parse_str(&y).unwrap_or_else(|e| panic!("{e}\n{y}"));
        assert_eq!(c.stages.len(), 7);
        assert_eq!(c.stages[0].dir, "01-prospecting");
        assert_eq!(c.qualification, Qualification::Meddic);
        assert_eq!(c.team["ann"].name.as_deref(), Some("Ann O'Neil"));
    }

    #[test]
    fn malformed_configs_name_line_and_key() {
        let cases = [
            (
                "stages:\n  - id: a\n    exit:\n      - fieldz: x\n",
                4,
                "unknown field `fieldz`",
            ),
            ("stages:\n  - id: a\n  - id: a\n", 3, "duplicate stage id"),
            (
                "stages:\n  - id: a\n    exit:\n      - expr: \"x |\"\n",
                4,
                "invalid expression",
            ),
            (
                "stages:\n  - id: a\n    exit:\n      - field: x\n        matches: \"(\"\n",
                5,
                "invalid regex",
            ),
            (
                "stages:\n  - id: a\n    dir: ../../etc\n",
                3,
                "leaves the pipeline root",
            ),
            (
                "colour: red\nstages:\n  - id: a\n",
                1,
                "unknown field `colour`",
            ),
            (
                "stages:\n  - id: a\ncurrency: EUR\ncurrency: USD\n",
                4,
                "duplicate key",
            ),
        ];
        for (src, line, msg) in cases {
            let e = parse_str(src).unwrap_err();
            assert_eq!(e.line, Some(line), "{src}: {e}");
            assert!(e.message.contains(msg), "{src}: {e}");
        }
    }
}
