//! `deal import FILE.csv --preset hubspot|pipedrive|salesforce|generic|deal`:
//! one deal per row, one commit with an `Imported: N` trailer; idempotent on
//! `slug` (a `slug` column) and `source_id` (docs/reference.md, "Import").
//! `deal export`: every deal as CSV or JSON, in a shape `import` reads back.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use indexmap::IndexMap;

use crate::base::error::Error;
use crate::base::slug::slugify;
use crate::cli::ctx::Ctx;
use crate::cli::flags::CommitFlag;
use crate::cli::record::{FileEdit, message, record_files};
use crate::intake::import::RowDeal;
use crate::intake::import::{
    DateOrder, Plan, Reading, RowProblem, Slugs, Target, deal_text, read_row,
};
use crate::model::config::{self, Config};
use crate::model::deal::{Deal, Place};
use crate::store::pipeline::{Pipeline, find_root};
use crate::yaml::edit::{self, Op};
use crate::yaml::emit::yaml_scalar;
use crate::yaml::mapping::scalar_text;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file
    pub file: PathBuf,
    /// Which export the headers come from
    #[arg(long, value_enum, default_value_t = crate::intake::import::Preset::Generic)]
    pub preset: crate::intake::import::Preset,
    /// Map a column to a field (repeatable)
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
    /// Translate a stage value (repeatable)
    #[arg(long = "stage-map", value_name = "VALUE=STAGE")]
    pub stage_map: Vec<String>,
    /// Map a CRM owner to a team handle (repeatable)
    #[arg(long = "owner-map", value_name = "NAME=HANDLE")]
    pub owner_map: Vec<String>,
    /// Leave a column out (repeatable); every other column is mapped or kept under crm:
    #[arg(long = "skip", value_name = "COLUMN")]
    pub skip: Vec<String>,
    /// The order of dates that are not ISO 8601, e.g. D/M/YYYY (default M/D/YYYY)
    #[arg(long = "date-format", value_name = "F")]
    pub date_format: Option<String>,
    /// Amounts use a decimal comma (12.400,50)
    #[arg(long)]
    pub decimal_comma: bool,
    /// Show what would be imported, and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Import nothing if any row has a problem
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub commit: CommitFlag,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// New team members found in the file: handle → (name, email).
type NewMembers = IndexMap<String, (String, Option<String>)>;

/// CRM owners → team handles, looked up in constant time: `--owner-map`,
/// then a team handle, name or email, then an owner this run added.
struct Owners<'a> {
    cfg: &'a Config,
    /// Lower-cased CRM name → handle (`--owner-map`).
    map: HashMap<String, String>,
    /// Lower-cased handle, name or email of a team member → handle.
    team: HashMap<String, String>,
    new: NewMembers,
    /// Lower-cased name or email of a new member → handle.
    new_by: HashMap<String, String>,
    default: String,
}

impl<'a> Owners<'a> {
    fn new(cfg: &'a Config, map: &[(String, String)], default: String) -> Result<Self, Error> {
        let mut team = HashMap::new();
        for (h, m) in &cfg.team {
            for k in [m.email.as_deref(), m.name.as_deref(), Some(h.as_str())]
                .into_iter()
                .flatten()
            {
                team.insert(k.to_lowercase(), h.clone());
            }
        }
        let mut by = HashMap::new();
        for (name, handle) in map {
            if !cfg.team.contains_key(handle) {
                return Err(Error::usage(
                    format!("--owner-map \"{name}={handle}\": `{handle}` is not in team"),
                    format!(
                        "map to a handle from pipeline.yaml's team ({}), or leave the owner out to add them with no roles",
                        cfg.team.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            by.insert(name.trim().to_lowercase(), handle.clone());
        }
        Ok(Owners {
            cfg,
            map: by,
            team,
            new: NewMembers::new(),
            new_by: HashMap::new(),
            default,
        })
    }

    /// The handle `resolve` gives an owner who is in the team, the map,
    /// or already added by this run (None for one it would add).
    fn known(&self, raw: Option<&str>) -> Option<String> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Some(self.default.clone());
        };
        let key = raw.to_lowercase();
        self.map
            .get(&key)
            .or_else(|| self.team.get(&key))
            .or_else(|| self.new_by.get(&key))
            .cloned()
    }

    fn resolve(&mut self, raw: Option<&str>) -> String {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return self.default.clone();
        };
        let key = raw.to_lowercase();
        if let Some(h) = self
            .map
            .get(&key)
            .or_else(|| self.team.get(&key))
            .or_else(|| self.new_by.get(&key))
        {
            return h.clone();
        }
        let is_email = raw.contains('@');
        let name = if is_email {
            raw.split('@').next().unwrap_or(raw)
        } else {
            raw
        };
        let base = match slugify(name) {
            b if b.is_empty() => "owner".to_string(),
            b => b,
        };
        let mut h = base.clone();
        let mut n = 2;
        while self.cfg.team.contains_key(&h) || self.new.contains_key(&h) {
            h = format!("{base}-{n}");
            n += 1;
        }
        self.new.insert(
            h.clone(),
            (name.to_string(), is_email.then(|| raw.to_string())),
        );
        self.new_by.insert(key, h.clone());
        h
    }
}

fn parse_pairs(
    items: &[String],
    what: &str,
    example: &str,
) -> Result<Vec<(String, String)>, Error> {
    items
        .iter()
        .map(|s| {
            s.split_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .ok_or_else(|| {
                    Error::usage(
                        format!("`{s}` is not {what}"),
                        format!("write e.g. {example}"),
                    )
                })
        })
        .collect()
}

/// A planned deal, for the summary and `--dry-run`.
struct Planned {
    slug: String,
    stage: String,
    owner: String,
    value: String,
    expected_close: String,
}

/// The mapping flags, checked: `--map`, `--stage-map`, `--owner-map`, and
/// how cells are read (`--decimal-comma`, `--date-format`).
struct Flags {
    maps: Vec<(String, Target)>,
    stage_maps: Vec<(String, String)>,
    owner_map: Vec<(String, String)>,
    reading: Reading,
}

impl Flags {
    /// Reads the flags, refusing a pair without `=`, an unknown field, a
    /// stage map to no stage and a date format it cannot read.
    fn parse(a: &ImportArgs, cfg: &Config) -> Result<Flags, Error> {
        let maps: Vec<(String, Target)> =
            parse_pairs(&a.map, "COLUMN=FIELD", "--map \"Deal Name=title\"")?
                .into_iter()
                .map(|(c, f)| {
                    Target::parse(&f)
                        .map(|t| (c, t))
                        .map_err(|e| Error::usage(e, ""))
                })
                .collect::<Result<_, _>>()?;
        let stage_maps = parse_pairs(
            &a.stage_map,
            "VALUE=STAGE",
            "--stage-map \"Demo Scheduled=discovery\"",
        )?;
        for (v, s) in &stage_maps {
            if Place::parse(s, cfg).is_none() {
                return Err(Error::usage(
                    format!("--stage-map {v}={s}: `{s}` is not a stage"),
                    cfg.stage_hint(),
                ));
            }
        }
        let owner_map = parse_pairs(
            &a.owner_map,
            "NAME=HANDLE",
            "--owner-map \"Jordan Blake=alice\"",
        )?;
        let dates = match &a.date_format {
            Some(f) => {
                DateOrder::parse(f).map_err(|e| Error::usage(e, "e.g. --date-format D/M/YYYY"))?
            }
            None => DateOrder::Mdy,
        };
        Ok(Flags {
            maps,
            stage_maps,
            owner_map,
            reading: Reading {
                decimal_comma: a.decimal_comma,
                dates,
            },
        })
    }
}

/// The header row's names, trimmed (a byte-order mark before the first
/// too); `shown` names the file in the refusal of an unreadable header.
fn read_headers(reader: &mut csv::Reader<&[u8]>, shown: &str) -> Result<Vec<String>, Error> {
    Ok(reader
        .headers()
        .map_err(|e| {
            Error::usage(
                format!("{shown}:1: {e}"),
                "the first row must name the columns",
            )
        })?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i == 0 {
                h.trim_start_matches('\u{feff}').trim().to_string()
            } else {
                h.trim().to_string()
            }
        })
        .collect())
}

/// The column plan of the header row, refused when no column gives a title.
fn column_plan(
    a: &ImportArgs,
    flags: &Flags,
    headers: &[String],
    shown: &str,
) -> Result<Plan, Error> {
    let plan = Plan::new(
        a.preset,
        headers,
        &flags.maps,
        &flags.stage_maps,
        &a.skip,
        flags.reading,
    )
    .map_err(|e| Error::usage(format!("{shown}:1: {}", e.message), e.help))?;
    if !plan.has_title() {
        return Err(Error::usage(
            format!("{shown}: no column gives a deal's title"),
            "pass --map \"<column>=title\" (or choose the right --preset)",
        ));
    }
    Ok(plan)
}

/// The physical line each record starts on, from its byte offset in
/// `data`: one pass over the file, the records being in order (csv's own
/// line count drifts over blank lines and line breaks inside quoted cells).
fn record_lines(data: &[u8], records: &[csv::Result<csv::StringRecord>]) -> Vec<Option<u64>> {
    let (mut line, mut at) = (1u64, 0usize);
    records
        .iter()
        .map(|r| {
            let pos = match r {
                Ok(rec) => rec.position(),
                Err(e) => e.position(),
            }?;
            // csv's offset is where the previous record ended: the line
            // ends and blank lines after it (skipped by csv) come first.
            let mut b = usize::try_from(pos.byte()).ok()?.min(data.len());
            while matches!(data.get(b), Some(b'\r' | b'\n')) {
                b += 1;
            }
            if b >= at {
                line += data[at..b].iter().filter(|&&c| c == b'\n').count() as u64;
                at = b;
            }
            Some(line)
        })
        .collect()
}

/// A progress bar on a terminal for an import of more than 500 rows.
fn progress_bar(rows: usize, quiet: bool) -> Option<indicatif::ProgressBar> {
    (std::io::stderr().is_terminal() && rows > 500 && !quiet).then(|| {
        let b = indicatif::ProgressBar::new(rows as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("importing {bar:40} {pos}/{len} rows")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

/// Deal files an interrupted import of today left whole (in the work
/// tree, staged or not, and not in HEAD), by their text: a rerun records
/// them as they are rather than skipping their rows as imported or
/// writing them again as `<slug>-2` (docs/safety.md, "No window for half
/// a file"). Looked up by text, so rows sharing a name cost no probing.
fn leftovers(
    repo: Option<&crate::store::repo::Repo>,
    root: &std::path::Path,
    deals: &[Deal],
    today: &str,
) -> HashMap<String, Vec<PathBuf>> {
    let mut leftovers: HashMap<String, Vec<PathBuf>> = HashMap::new();
    let Some(repo) = repo else {
        return leftovers;
    };
    for d in deals {
        let today_import = d
            .fields
            .imported
            .as_ref()
            .and_then(|im| im.at)
            .is_some_and(|at| crate::base::time::format_date(at) == today);
        if today_import
            && repo
                .rel(&root.join(&d.rel))
                .is_ok_and(|r| repo.left_new(&r, d.text.as_bytes()))
        {
            leftovers
                .entry(d.text.clone())
                .or_default()
                .push(d.rel.clone());
        }
    }
    leftovers
}

/// Reads every record into a row, on every core: a record csv could not
/// read, or with another number of fields than the header, is a problem.
fn read_rows(
    cfg: &Config,
    plan: &Plan,
    headers: &[String],
    records: Vec<csv::Result<csv::StringRecord>>,
    lines: Vec<Option<u64>>,
    bar: Option<&indicatif::ProgressBar>,
) -> Vec<Result<RowDeal, RowProblem>> {
    use rayon::prelude::*;
    records
        .into_par_iter()
        .zip(lines)
        .enumerate()
        .map(|(n, (rec, at_line))| {
            if let Some(b) = bar {
                b.inc(1);
            }
            let rec = rec.map_err(|e| RowProblem {
                line: at_line.unwrap_or(n as u64 + 2),
                message: format!("unreadable row: {e}"),
            })?;
            let line = at_line.unwrap_or(n as u64 + 2);
            if rec.len() != headers.len() {
                return Err(RowProblem {
                    line,
                    message: format!(
                        "the row has {} fields; the header has {}",
                        rec.len(),
                        headers.len()
                    ),
                });
            }
            read_row(cfg, plan, &rec, line)
        })
        .collect()
}

/// The text of a row's deal file as written on `today`, its ICP score in.
fn row_text(cfg: &Config, row: &RowDeal, owner: &str, today: &str) -> String {
    let text = deal_text(row, owner, cfg, today);
    match crate::intake::leads::icp_op(cfg, &text) {
        Some(op) => edit::apply(&text, &[op]).unwrap_or(text),
        None => text,
    }
}

/// What an import does with each row, decided in file order: what rows
/// share (skips, owners, slugs) is settled here, one row at a time.
struct Batch<'a> {
    cfg: &'a Config,
    today: String,
    /// The source ids of the deals there, and of the rows taken so far.
    known_ids: HashSet<String>,
    existing_slugs: HashSet<&'a str>,
    slugs: Slugs,
    owners: Owners<'a>,
    /// See [`leftovers`].
    leftovers: HashMap<String, Vec<PathBuf>>,
    /// The rows to write as new deals: the row, its owner and its slug.
    todo: Vec<(RowDeal, String, String)>,
    /// The files an interrupted import left, recorded as they are.
    files: Vec<FileEdit>,
    completed: HashSet<PathBuf>,
    problems: Vec<RowProblem>,
    /// Rows already imported (same slug or source_id).
    skipped: usize,
    /// The `crm:` keys rows wrote: a second column of one field is kept
    /// there only in rows where the first gives it.
    crm_used: HashSet<String>,
}

impl<'a> Batch<'a> {
    /// An empty batch for the pipeline `p` (its deals and unreadable
    /// files take their slugs and source ids).
    fn new(
        p: &'a Pipeline,
        owners: Owners<'a>,
        leftovers: HashMap<String, Vec<PathBuf>>,
        today: String,
    ) -> Batch<'a> {
        Batch {
            cfg: &p.cfg,
            today,
            known_ids: p
                .deals
                .iter()
                .filter_map(|d| d.fields.source_id.clone())
                .collect(),
            existing_slugs: p.deals.iter().map(|d| d.slug.as_str()).collect(),
            slugs: Slugs::new(
                p.deals
                    .iter()
                    .map(|d| d.slug.clone())
                    .chain(p.problems.iter().map(|x| x.slug.clone())),
            ),
            owners,
            leftovers,
            todo: Vec::new(),
            files: Vec::new(),
            completed: HashSet::new(),
            problems: Vec::new(),
            skipped: 0,
            crm_used: HashSet::new(),
        }
    }

    /// Decides one row: a problem, a file an interrupted import left, a
    /// skip (its deal is there), or a new deal with an owner and a slug.
    fn take(&mut self, row: Result<RowDeal, RowProblem>) {
        let row = match row {
            Ok(r) => r,
            Err(pb) => {
                self.problems.push(pb);
                return;
            }
        };
        for (k, _) in &row.crm {
            if !self.crm_used.contains(k) {
                self.crm_used.insert(k.clone());
            }
        }
        if self.resume(&row) {
            return;
        }
        // A row with a `slug` column (`deal export`'s, whatever the preset)
        // names its deal: one that exists is not new.
        if let Some(slug) = &row.slug_hint
            && self.existing_slugs.contains(slug.as_str())
        {
            self.skipped += 1;
            return;
        }
        if let Some(id) = &row.source_id {
            if self.known_ids.contains(id) {
                self.skipped += 1;
                return;
            }
            self.known_ids.insert(id.clone());
        }
        let owner = self.owners.resolve(row.owner_raw.as_deref());
        let slug = self.slugs.unique(row.slug_hint.as_deref(), &row.title);
        self.todo.push((row, owner, slug));
    }

    /// Whether the row is one an interrupted import wrote whole, with this
    /// text, under its slug or a `-N` one: then it is recorded as it is.
    fn resume(&mut self, row: &RowDeal) -> bool {
        if self.leftovers.is_empty() {
            return false;
        }
        let Some(owner) = self.owners.known(row.owner_raw.as_deref()) else {
            return false;
        };
        let text = row_text(self.cfg, row, &owner, &self.today);
        let base = crate::intake::import::base_slug(row.slug_hint.as_deref(), &row.title);
        let ours = |rel: &PathBuf| {
            let stem = crate::store::pipeline::slug_of(rel);
            stem == base
                || stem
                    .strip_prefix(&base)
                    .and_then(|r| r.strip_prefix('-'))
                    .is_some_and(|n| n.parse::<u64>().is_ok())
        };
        let Some(rels) = self.leftovers.get_mut(&text) else {
            return false;
        };
        let Some(i) = rels.iter().position(ours) else {
            return false;
        };
        let rel = rels.swap_remove(i);
        if let Some(id) = &row.source_id {
            self.known_ids.insert(id.clone());
        }
        self.completed.insert(rel.clone());
        self.files.push(FileEdit {
            old_rel: Some(rel.clone()),
            old_text: Some(text.clone()),
            new_rel: rel,
            new_text: text,
            gone: Vec::new(),
        });
        true
    }

    /// Writes the new deals' files, on every core, keeping the problems;
    /// returns the `--dry-run` table's lines when `dry_run`.
    fn make_files(&mut self, dry_run: bool) -> Vec<Planned> {
        use rayon::prelude::*;
        let made: Vec<Result<(FileEdit, Option<Planned>), RowProblem>> =
            std::mem::take(&mut self.todo)
                .into_par_iter()
                .map(|t| make_file(self.cfg, &self.today, dry_run, t))
                .collect();
        let mut planned: Vec<Planned> = Vec::new();
        for m in made {
            match m {
                Ok((f, pl)) => {
                    self.files.push(f);
                    planned.extend(pl);
                }
                Err(pb) => self.problems.push(pb),
            }
        }
        planned
    }

    /// Says each problem row on stderr, by line, as `file:line: message`.
    fn report_problems(&mut self, file_shown: &str) {
        self.problems.sort_by_key(|p| p.line);
        for pb in &self.problems {
            eprintln!("{file_shown}:{}: {}", pb.line, pb.message);
        }
    }
}

/// The owner of a row that names none: the git user's team member, else
/// the team's first, else `unassigned`.
fn default_owner(cfg: &Config, root: &std::path::Path) -> String {
    crate::store::repo::identity(root)
        .and_then(|(_, e)| cfg.member_by_email(&e).map(str::to_string))
        .or_else(|| cfg.team.keys().next().cloned())
        .unwrap_or_else(|| "unassigned".into())
}

/// The import's commit message: its subject names the count and the file,
/// its `Imported: N` trailer the count.
fn import_message(n: usize, file: &std::path::Path) -> String {
    let name = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    message(
        &format!(
            "deal: import {n} deal{} from {name}",
            if n == 1 { "" } else { "s" }
        ),
        None,
        &[("Imported", n.to_string())],
    )
}

/// The new deal file of a row, with its line in the `--dry-run` table
/// when `dry_run`: refused when it is too big for deal to read or does
/// not parse back as a deal.
fn make_file(
    cfg: &Config,
    today: &str,
    dry_run: bool,
    (row, owner, slug): (RowDeal, String, String),
) -> Result<(FileEdit, Option<Planned>), RowProblem> {
    let text = row_text(cfg, &row, &owner, today);
    let rel = PathBuf::from(&cfg.deals_dir)
        .join(row.place.dir(cfg))
        .join(format!("{slug}.md"));
    if text.len() as u64 > crate::store::pipeline::MAX_DEAL_BYTES {
        return Err(RowProblem {
            line: row.line,
            message: format!(
                "the row makes a deal file of {:.1} MB, and deal reads none over {} MB",
                text.len() as f64 / (1024.0 * 1024.0),
                crate::store::pipeline::MAX_DEAL_BYTES / (1024 * 1024)
            ),
        });
    }
    let deal = Deal::parse(
        slug.clone(),
        rel.clone(),
        row.place,
        text.clone().into_bytes(),
        cfg,
    )
    .map_err(|pb| RowProblem {
        line: row.line,
        message: format!("the row does not make a valid deal: {}", pb.message),
    })?;
    let planned = dry_run.then(|| Planned {
        slug,
        stage: row.place.id(cfg).to_string(),
        owner,
        value: deal
            .fields
            .value
            .map(|v| {
                crate::base::money::in_table(v, deal.fields.currency.as_deref(), &cfg.currency)
            })
            .unwrap_or_else(|| "-".into()),
        expected_close: deal
            .fields
            .expected_close
            .map(crate::base::time::format_date)
            .unwrap_or_else(|| "-".into()),
    });
    Ok((
        FileEdit {
            old_rel: None,
            old_text: None,
            new_rel: rel,
            new_text: text,
            gone: Vec::new(),
        },
        planned,
    ))
}

/// pipeline.yaml's edits for the new team members, with no roles (so
/// routing gives none of them a lead).
fn team_ops(new_members: &NewMembers) -> Vec<Op> {
    let mut ops = Vec::new();
    for (h, (name, email)) in new_members {
        let mut v = format!("{{ name: {}", yaml_scalar(name));
        if let Some(e) = email {
            v.push_str(&format!(", email: {}", yaml_scalar(e)));
        }
        v.push_str(", roles: [] }");
        ops.push(Op::Set(vec!["team".into(), h.clone()], v));
    }
    ops
}

/// What the summary line of an import says.
struct Summary<'a> {
    /// Deals imported.
    n: usize,
    file_shown: &'a str,
    /// Rows already imported.
    skipped: usize,
    /// Whether a `slug` column matched rows to deals too.
    by_slug: bool,
    problems: usize,
    new_members: &'a NewMembers,
    /// The columns kept under `crm:`, and those `--skip` left out.
    kept: Vec<&'a str>,
    skipped_cols: Vec<&'a str>,
}

impl<'a> Summary<'a> {
    /// The summary of `batch`'s `n` deals, the columns named from `plan`.
    fn of(plan: &'a Plan, batch: &'a Batch, n: usize, file_shown: &'a str) -> Summary<'a> {
        Summary {
            n,
            file_shown,
            skipped: batch.skipped,
            by_slug: plan.columns.iter().any(|c| c.target == Target::Slug),
            problems: batch.problems.len(),
            new_members: &batch.owners.new,
            kept: plan
                .columns
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    matches!(c.target, Target::Crm(_))
                        || (plan.earlier_claim(*i).is_some() && batch.crm_used.contains(&c.header))
                })
                .map(|(_, c)| c.header.as_str())
                .collect(),
            skipped_cols: plan
                .columns
                .iter()
                .filter(|c| c.target == Target::Skip)
                .map(|c| c.header.as_str())
                .collect(),
        }
    }

    /// The summary, opening with `verb` ("Imported", "Would import").
    fn line(&self, verb: &str) -> String {
        let n = self.n;
        let mut s = format!(
            "{verb} {n} deal{} from {}",
            if n == 1 { "" } else { "s" },
            self.file_shown
        );
        if self.skipped > 0 {
            let by = if self.by_slug {
                "same slug or source_id"
            } else {
                "same source_id"
            };
            s.push_str(&format!(
                "; {} already imported ({by}), skipped",
                self.skipped
            ));
        }
        if self.problems > 0 {
            s.push_str(&format!("; {} problem row(s), not imported", self.problems));
        }
        s.push('.');
        if !self.new_members.is_empty() {
            s.push_str(&format!(
                "\nNew team members, with no roles: {}.",
                self.new_members
                    .iter()
                    .map(|(h, (name, _))| format!("{h} ({name})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.kept.is_empty() {
            s.push_str(&format!("\nKept under crm: {}.", list_cols(&self.kept)));
        }
        if !self.skipped_cols.is_empty() {
            s.push_str(&format!(
                "\nSkipped (--skip): {}.",
                list_cols(&self.skipped_cols)
            ));
        }
        s
    }
}

/// `--dry-run`'s report: the planned deals, what each column became, and
/// the summary.
fn print_dry_run(planned: Vec<Planned>, plan: &Plan, summary: &Summary) {
    let rows: Vec<Vec<String>> = planned
        .into_iter()
        .map(|p| vec![p.slug, p.stage, p.owner, p.value, p.expected_close])
        .collect();
    print!(
        "{}",
        crate::cli::output::table(
            &["SLUG", "STAGE", "OWNER", "VALUE", "EXPECTED CLOSE"],
            &rows,
            usize::MAX
        )
    );
    println!("\nColumns:");
    for (i, c) in plan.columns.iter().enumerate() {
        println!("  {:?} {}", c.header, plan.describe(i));
    }
    println!(
        "\n{} (dry run: nothing written)",
        summary.line("Would import")
    );
}

/// pipeline.yaml's part of the commit: with `ops`, the file with the new
/// team members added; without, when the rerun completes an interrupted
/// import, the file as that run left it (its new team members,
/// `enforce_from`), in the work tree or staged.
fn config_edit(
    root: &std::path::Path,
    repo: Option<&crate::store::repo::Repo>,
    ops: &[Op],
    resumed: bool,
) -> Result<Option<FileEdit>, Error> {
    let path = root.join(config::FILE);
    let edit = |old: String, new: String| FileEdit {
        old_rel: Some(PathBuf::from(config::FILE)),
        old_text: Some(old),
        new_rel: PathBuf::from(config::FILE),
        new_text: new,
        gone: Vec::new(),
    };
    if ops.is_empty() {
        let Some(repo) = repo.filter(|_| resumed) else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        if !repo.left_change(&repo.rel(&path)?, text.as_bytes()) {
            return Ok(None);
        }
        return Ok(Some(edit(text.clone(), text)));
    }
    let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let new = edit::apply_yaml(&old, ops).map_err(|e| {
        Error::usage(
            format!(
                "{}: cannot add the new team members: {e}",
                crate::base::diag::display_path(&path)
            ),
            "add them by hand, then import again (it skips rows already imported)",
        )
    })?;
    Ok(Some(edit(old, new)))
}

pub fn run_import(ctx: &Ctx, a: ImportArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let p = Pipeline::load(&root)?;
    let cfg = &p.cfg;
    // Read: the flags, then the file whole (the records are held anyway),
    // so each problem row is named by the physical line it starts on.
    let flags = Flags::parse(&a, cfg)?;
    let file_shown = a.file.display().to_string();
    let data = std::fs::read(&a.file).map_err(|e| {
        Error::usage(
            format!("{file_shown}: {e}"),
            "give a CSV file with a header row",
        )
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(data.as_slice());
    let headers = read_headers(&mut reader, &file_shown)?;
    // Map: what each column becomes.
    let plan = column_plan(&a, &flags, &headers, &file_shown)?;
    let records: Vec<csv::Result<csv::StringRecord>> = reader.records().collect();
    let lines = record_lines(&data, &records);
    let bar = progress_bar(records.len(), ctx.quiet);
    let owners = Owners::new(cfg, &flags.owner_map, default_owner(cfg, &root))?;
    let today = crate::base::time::format_date(ctx.now);
    let repo = crate::store::repo::Repo::open(&root);
    let left = leftovers(repo.as_ref(), &root, &p.deals, &today);
    // Plan, in three passes, so the work of a row (reading, writing its
    // file, parsing it back) runs on every core, and what rows share
    // (skips, owners, slugs) is decided in order: linear in rows and columns.
    let mut batch = Batch::new(&p, owners, left, today);
    for row in read_rows(cfg, &plan, &headers, records, lines, bar.as_ref()) {
        batch.take(row);
    }
    let planned = batch.make_files(a.dry_run);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Write: the problems said, then the deals and pipeline.yaml committed.
    batch.report_problems(&file_shown);
    if a.strict && !batch.problems.is_empty() {
        eprintln!(
            "{} problem row(s); with --strict nothing was imported (fix the rows, or drop --strict to import the others)",
            batch.problems.len()
        );
        return Ok(1);
    }
    let ops = team_ops(&batch.owners.new);
    let mut files = std::mem::take(&mut batch.files);
    let n = files.len();
    let summary = Summary::of(&plan, &batch, n, &file_shown);
    let code = if batch.problems.is_empty() { 0 } else { 1 };
    if a.dry_run {
        if !ctx.quiet {
            print_dry_run(planned, &plan, &summary);
        }
        return Ok(code);
    }
    if ctx.verbose {
        for (i, c) in plan.columns.iter().enumerate() {
            eprintln!("{file_shown}: column {:?} {}", c.header, plan.describe(i));
        }
    }
    if n == 0 {
        if !ctx.quiet {
            println!("{}", summary.line("Imported"));
        }
        return Ok(code);
    }
    files.extend(config_edit(
        &root,
        repo.as_ref(),
        &ops,
        !batch.completed.is_empty(),
    )?);
    let msg = import_message(n, &a.file);
    let done = record_files(&root, cfg, &files, &msg, a.commit.no_commit)?;
    if !ctx.quiet {
        println!(
            "{}{}",
            summary.line("Imported"),
            crate::cli::record::outcome(&done)
        );
    }
    Ok(code)
}

/// Column headers for a summary line: all of a few, the first of many.
fn list_cols(cols: &[&str]) -> String {
    const SHOWN: usize = 20;
    let mut s = cols
        .iter()
        .take(SHOWN)
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if cols.len() > SHOWN {
        s.push_str(&format!(
            " and {} more (--dry-run lists them)",
            cols.len() - SHOWN
        ));
    }
    s
}

/// Flattens a front-matter value into `path → text` cells.
/// A deal's cells in `deal export`'s CSV: its front-matter flattened, with
/// `value` exact (its written digits, not the float YAML reads).
fn export_cells(d: &Deal) -> IndexMap<String, String> {
    let mut m = IndexMap::new();
    flatten("", &serde_yaml::Value::Mapping(d.fm.clone()), &mut m);
    if let (Some(v), Some(cell)) = (d.fields.value, m.get_mut("value")) {
        *cell = v.to_string();
    }
    m
}

fn flatten(prefix: &str, v: &serde_yaml::Value, out: &mut IndexMap<String, String>) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, sub) in m {
                let Some(k) = scalar_text(k) else { continue };
                let path = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, sub, out);
            }
        }
        serde_yaml::Value::Sequence(_) => {
            out.insert(
                prefix.to_string(),
                serde_json::to_string(v).unwrap_or_default(),
            );
        }
        serde_yaml::Value::Null => {}
        other => {
            out.insert(prefix.to_string(), scalar_text(other).unwrap_or_default());
        }
    }
}

/// A CSV writer's error on stdout, keeping an I/O error's kind (a closed
/// pipe ends the command quietly).
fn csv_out_err(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io("-", io),
        other => Error::io("-", std::io::Error::other(format!("{other:?}"))),
    }
}

pub fn run_export(ctx: &Ctx, a: ExportArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let p = Pipeline::load(&root)?;
    // `export` promises every deal: one it cannot read makes it exit 1.
    let unreadable = p.warn_unreadable();
    let cfg = &p.cfg;
    let mut deals: Vec<&Deal> = p.deals.iter().collect();
    deals.sort_by(|x, y| {
        x.place
            .ordinal(cfg)
            .cmp(&y.place.ordinal(cfg))
            .then(x.slug.cmp(&y.slug))
    });
    match a.format {
        ExportFormat::Json => {
            let rows: Vec<serde_json::Value> = deals
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "slug": d.slug,
                        "stage": d.place.id(cfg),
                        "owner": d.fields.owner,
                        "value": d.fields.value.map(crate::base::money::json),
                        "front_matter": serde_json::to_value(&d.fm).unwrap_or_default(),
                        "stages": d.fields.stages.iter().map(|(k, t)| (k.clone(), crate::base::time::format_ts(*t))).collect::<std::collections::BTreeMap<_, _>>(),
                        "path": d.rel.display().to_string(),
                        "body": d.body(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
            );
        }
        ExportFormat::Csv => {
            let flat: Vec<IndexMap<String, String>> =
                deals.iter().map(|d| export_cells(d)).collect();
            let first = ["title", "owner", "company", "value", "currency"];
            let mut cols: Vec<String> = first.iter().map(|s| s.to_string()).collect();
            let mut rest: Vec<String> = flat
                .iter()
                .flat_map(|m| m.keys().cloned())
                .filter(|k| !first.contains(&k.as_str()))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            // Stage dates in process order, after the other fields.
            let order = |k: &str| {
                k.strip_prefix("stages.").map(|s| {
                    Place::parse(s, cfg)
                        .map(|p| p.ordinal(cfg))
                        .unwrap_or(usize::MAX)
                })
            };
            rest.sort_by(|x, y| match (order(x), order(y)) {
                (Some(a), Some(b)) => a.cmp(&b),
                (Some(_), None) => std::cmp::Ordering::Greater,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (None, None) => x.cmp(y),
            });
            cols.extend(rest);
            let mut w = csv::Writer::from_writer(std::io::stdout());
            let mut header = vec!["slug".to_string(), "stage".to_string()];
            header.extend(cols.iter().cloned());
            header.push("body".into());
            let guard = |row: &[String]| -> Vec<String> {
                row.iter()
                    .map(|c| crate::intake::import::csv_guard(c).into_owned())
                    .collect()
            };
            w.write_record(guard(&header)).map_err(csv_out_err)?;
            for (d, m) in deals.iter().zip(&flat) {
                let mut row = vec![d.slug.clone(), d.place.id(cfg).to_string()];
                row.extend(cols.iter().map(|c| m.get(c).cloned().unwrap_or_default()));
                row.push(d.body().trim_start_matches('\n').to_string());
                w.write_record(guard(&row)).map_err(csv_out_err)?;
            }
            w.flush().map_err(|e| Error::io("-", e))?;
        }
    }
    Ok(if unreadable > 0 { 1 } else { 0 })
}

/// Unit tests; `cfg` is also the pipeline the other commands' tests use.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::intake::import::{Plan, Preset, Reading, read_row};
    use proptest::prelude::*;

    /// The default pipeline.yaml, with one team member: bob (Bob).
    pub(crate) fn cfg() -> Config {
        crate::model::config::parse(
            &crate::model::config::default_yaml(
                &[("bob".into(), "Bob".into(), "bob@example.com".into())],
                crate::model::notes::Qualification::Bant,
            ),
            std::path::Path::new("pipeline.yaml"),
            &crate::model::notes::Templates::builtin_only(),
        )
        .unwrap()
    }

    fn parse(cfg: &Config, text: &str) -> Deal {
        Deal::parse(
            "acme".into(),
            PathBuf::from("deals/01-prospecting/acme.md"),
            Place::Stage(0),
            text.as_bytes().to_vec(),
            cfg,
        )
        .unwrap()
    }

    fn rows(cfg: &Config, headers: &[&str], cells: &[&[&str]]) -> Vec<Result<RowDeal, RowProblem>> {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let plan = Plan::new(Preset::Generic, &headers, &[], &[], &[], Reading::default()).unwrap();
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                read_row(
                    cfg,
                    &plan,
                    &csv::StringRecord::from(c.to_vec()),
                    i as u64 + 2,
                )
            })
            .collect()
    }

    fn pipeline(cfg: &Config, deals: Vec<Deal>) -> Pipeline {
        Pipeline {
            root: PathBuf::from("/pipe"),
            cfg: cfg.clone(),
            deals,
            problems: Vec::new(),
            unparsed: Vec::new(),
        }
    }

    #[test]
    fn record_lines_count_blank_lines_and_breaks_inside_quotes() {
        let data = b"title,x\nA,1\n\nB,2\n\"C\nD\",3\nE,4\n";
        let records: Vec<_> = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&data[..])
            .records()
            .collect();
        assert_eq!(
            record_lines(data, &records),
            vec![Some(2), Some(4), Some(5), Some(7)]
        );
    }

    #[test]
    fn the_batch_skips_known_source_ids_and_gives_new_owners_and_slugs() {
        let cfg = cfg();
        let there = parse(&cfg, "---\ntitle: Old\nowner: bob\nsource_id: \"9\"\n---\n");
        let p = pipeline(&cfg, vec![there]);
        let owners = Owners::new(&cfg, &[], "bob".into()).unwrap();
        let mut batch = Batch::new(&p, owners, HashMap::new(), "2026-03-10".into());
        let read = rows(
            &cfg,
            &["title", "owner", "source_id"],
            &[
                &["Acme", "bob", "1"],
                &["Acme", "Jordan Blake", "2"],
                &["Globex", "", "1"],
                &["Again", "bob", "9"],
            ],
        );
        for r in read {
            batch.take(r);
        }
        let todo: Vec<(&str, &str)> = batch
            .todo
            .iter()
            .map(|(_, owner, slug)| (slug.as_str(), owner.as_str()))
            .collect();
        assert_eq!(todo, [("acme-2", "bob"), ("acme-3", "jordan-blake")]);
        assert_eq!(batch.skipped, 2);
        assert!(batch.problems.is_empty());
        assert_eq!(
            batch.owners.new.get("jordan-blake"),
            Some(&("Jordan Blake".to_string(), None))
        );
    }

    #[test]
    fn a_row_that_cannot_be_read_is_a_problem_not_a_deal() {
        let cfg = cfg();
        let p = pipeline(&cfg, Vec::new());
        let owners = Owners::new(&cfg, &[], "bob".into()).unwrap();
        let mut batch = Batch::new(&p, owners, HashMap::new(), "2026-03-10".into());
        batch.take(Err(RowProblem {
            line: 7,
            message: "unreadable row".into(),
        }));
        assert!(batch.todo.is_empty());
        assert_eq!(batch.problems.len(), 1);
        assert_eq!(batch.problems[0].line, 7);
    }

    #[test]
    fn a_planned_deal_lands_in_its_stage_folder_with_its_table_line() {
        let cfg = cfg();
        let mut read = rows(&cfg, &["title", "value"], &[&["Acme", "1200"]]);
        let row = read.remove(0).unwrap();
        let (file, planned) =
            make_file(&cfg, "2026-03-10", true, (row, "bob".into(), "acme".into())).unwrap();
        assert_eq!(file.new_rel, PathBuf::from("deals/01-prospecting/acme.md"));
        assert!(file.old_rel.is_none());
        assert!(file.new_text.contains("title: Acme\n"), "{}", file.new_text);
        let planned = planned.unwrap();
        assert_eq!(
            [
                planned.stage,
                planned.owner,
                planned.value,
                planned.expected_close
            ],
            ["prospecting", "bob", "1,200", "-"]
        );
    }

    #[test]
    fn new_members_go_into_the_team_with_no_roles() {
        let mut new = NewMembers::new();
        new.insert(
            "jordan".into(),
            ("Jordan Blake".into(), Some("j@x.example".into())),
        );
        new.insert("sam".into(), ("Sam".into(), None));
        assert_eq!(
            team_ops(&new),
            vec![
                Op::Set(
                    vec!["team".into(), "jordan".into()],
                    "{ name: Jordan Blake, email: j@x.example, roles: [] }".into()
                ),
                Op::Set(
                    vec!["team".into(), "sam".into()],
                    "{ name: Sam, roles: [] }".into()
                ),
            ]
        );
    }

    #[test]
    fn the_summary_names_skips_problems_members_and_kept_columns() {
        let mut new = NewMembers::new();
        new.insert("sam".into(), ("Sam".into(), None));
        let summary = Summary {
            n: 1,
            file_shown: "deals.csv",
            skipped: 2,
            by_slug: false,
            problems: 1,
            new_members: &new,
            kept: vec!["Deal Stage"],
            skipped_cols: Vec::new(),
        };
        assert_eq!(
            summary.line("Imported"),
            "Imported 1 deal from deals.csv; 2 already imported (same source_id), skipped; \
             1 problem row(s), not imported.\nNew team members, with no roles: sam (Sam).\n\
             Kept under crm: \"Deal Stage\"."
        );
    }

    proptest! {
        /// A value goes out through `deal export`'s CSV cell and back in
        /// through `import --preset deal` as the same number, shown the
        /// same way.
        #[test]
        fn money_round_trips_through_export_and_import(
            whole in 0u64..1_000_000_000_000_000,
            frac in proptest::option::of(0u32..1000),
        ) {
            let cfg = cfg();
            let written = match frac {
                Some(f) => format!("{whole}.{f:03}"),
                None => whole.to_string(),
            };
            let d = parse(&cfg, &format!("---\ntitle: Acme\nowner: bob\nvalue: {written}\n---\n"));
            let Some(v) = d.fields.value else {
                // Only a float past f64's exact digits can fail to read.
                prop_assert!(frac.is_some());
                return Ok(());
            };
            let cells = export_cells(&d);
            let cell = crate::intake::import::csv_guard(&cells["value"]).into_owned();
            let headers = vec!["title".to_string(), "value".to_string()];
            let plan = Plan::new(Preset::Deal, &headers, &[], &[], &[], Reading::default()).unwrap();
            let rec = csv::StringRecord::from(vec!["Acme".to_string(), cell]);
            let row = read_row(&cfg, &plan, &rec, 2).unwrap();
            let back = parse(&cfg, &deal_text(&row, "bob", &cfg, "2026-11-27"));
            prop_assert_eq!(back.fields.value, Some(v));
            prop_assert_eq!(
                crate::base::money::format(back.fields.value.unwrap(), 2),
                crate::base::money::format(v, 2)
            );
        }
    }
}
