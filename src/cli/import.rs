//! `deal import FILE.csv --preset hubspot|pipedrive|salesforce|generic|deal`:
//! one deal per row, one commit with an `Imported: N` trailer; idempotent on
//! `slug` (a `slug` column) and `source_id` (docs/reference.md, "Import").
//! `deal export`: every deal as CSV or JSON, in a shape `import` reads back.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;

use indexmap::IndexMap;

use crate::base::error::Error;
use crate::base::slug::slugify;
use crate::cli::args::{ExportArgs, ExportFormat, ImportArgs};
use crate::cli::ctx::Ctx;
use crate::cli::record::{FileEdit, message, record_files};
use crate::intake::import::{
    DateOrder, Plan, Reading, RowProblem, Slugs, Target, deal_text, read_row,
};
use crate::model::config::{self, Config, yaml_scalar};
use crate::model::deal::{Deal, Place, scalar_text};
use crate::store::pipeline::{Pipeline, find_root};
use crate::yaml::edit::{self, Op};

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

pub fn run_import(ctx: &Ctx, a: ImportArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let p = Pipeline::load(&root)?;
    let cfg = &p.cfg;
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
    let reading = Reading {
        decimal_comma: a.decimal_comma,
        dates,
    };
    let file_shown = a.file.display().to_string();
    // Read whole (the records are held anyway), so each problem row is
    // named by the physical line it starts on (csv's own line count drifts
    // over blank lines and line breaks inside quoted cells).
    let data = std::fs::read(&a.file).map_err(|e| {
        Error::usage(
            format!("{file_shown}: {e}"),
            "give a CSV file with a header row",
        )
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(data.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            Error::usage(
                format!("{file_shown}:1: {e}"),
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
        .collect();
    let plan = Plan::new(a.preset, &headers, &maps, &stage_maps, &a.skip, reading)
        .map_err(|e| Error::usage(format!("{file_shown}:1: {}", e.message), e.help))?;
    if !plan.has_title() {
        return Err(Error::usage(
            format!("{file_shown}: no column gives a deal's title"),
            "pass --map \"<column>=title\" (or choose the right --preset)",
        ));
    }
    let records: Vec<csv::Result<csv::StringRecord>> = reader.records().collect();
    // The physical line each record starts on, from its byte offset: one
    // pass over the file, the records being in order.
    let (mut line, mut at) = (1u64, 0usize);
    let lines: Vec<Option<u64>> = records
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
        .collect();
    let bar = (std::io::stderr().is_terminal() && records.len() > 500 && !ctx.quiet).then(|| {
        let b = indicatif::ProgressBar::new(records.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("importing {bar:40} {pos}/{len} rows")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });

    let mut known_ids: HashSet<String> = p
        .deals
        .iter()
        .filter_map(|d| d.fields.source_id.clone())
        .collect();
    let existing_slugs: HashSet<&str> = p.deals.iter().map(|d| d.slug.as_str()).collect();
    let mut slugs = Slugs::new(
        p.deals
            .iter()
            .map(|d| d.slug.clone())
            .chain(p.problems.iter().map(|x| x.slug.clone())),
    );
    let default_owner = crate::store::repo::identity(&root)
        .and_then(|(_, e)| cfg.member_by_email(&e).map(str::to_string))
        .or_else(|| cfg.team.keys().next().cloned())
        .unwrap_or_else(|| "unassigned".into());
    let mut owners = Owners::new(cfg, &owner_map, default_owner)?;
    let today = crate::base::time::format_date(ctx.now);
    let mut problems: Vec<RowProblem> = Vec::new();
    let mut files: Vec<FileEdit> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    let repo = crate::store::repo::Repo::open(&root);
    // Deal files an interrupted import of today left whole (in the work
    // tree, staged or not, and not in HEAD), by their text: a rerun records
    // them as they are rather than skipping their rows as imported or
    // writing them again as `<slug>-2` (docs/safety.md, "No window for half
    // a file"). Looked up by text, so rows sharing a name cost no probing.
    let mut leftovers: HashMap<String, Vec<PathBuf>> = HashMap::new();
    if let Some(repo) = &repo {
        for d in &p.deals {
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
    }
    let mut completed: HashSet<PathBuf> = HashSet::new();
    let mut skipped = 0usize;
    // Three passes, so the work of a row (reading, writing its file,
    // parsing it back) runs on every core, and what rows share (skips,
    // owners, slugs) is decided in order: linear in rows and columns.
    use rayon::prelude::*;
    let read: Vec<Result<crate::intake::import::RowDeal, RowProblem>> = records
        .into_par_iter()
        .zip(lines)
        .enumerate()
        .map(|(n, (rec, at_line))| {
            if let Some(b) = &bar {
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
            read_row(cfg, &plan, &rec, line)
        })
        .collect();
    let mut todo: Vec<(crate::intake::import::RowDeal, String, String)> = Vec::new();
    // The `crm:` keys rows wrote: a second column of one field is kept
    // there only in rows where the first gives it.
    let mut crm_used: HashSet<String> = HashSet::new();
    for row in read {
        let row = match row {
            Ok(r) => r,
            Err(pb) => {
                problems.push(pb);
                continue;
            }
        };
        for (k, _) in &row.crm {
            if !crm_used.contains(k) {
                crm_used.insert(k.clone());
            }
        }
        // A row an interrupted import wrote whole: recorded as it is.
        if !leftovers.is_empty()
            && let Some(owner) = owners.known(row.owner_raw.as_deref())
        {
            let mut text = deal_text(&row, &owner, cfg, &today);
            if let Some(op) = crate::intake::leads::icp_op(cfg, &text) {
                text = edit::apply(&text, &[op]).unwrap_or(text);
            }
            let base = crate::intake::import::base_slug(row.slug_hint.as_deref(), &row.title);
            let ours = |rel: &PathBuf| {
                let stem = crate::store::pipeline::slug_of(rel);
                stem == base
                    || stem
                        .strip_prefix(&base)
                        .and_then(|r| r.strip_prefix('-'))
                        .is_some_and(|n| n.parse::<u64>().is_ok())
            };
            if let Some(rels) = leftovers.get_mut(&text)
                && let Some(i) = rels.iter().position(ours)
            {
                let rel = rels.swap_remove(i);
                if let Some(id) = &row.source_id {
                    known_ids.insert(id.clone());
                }
                completed.insert(rel.clone());
                files.push(FileEdit {
                    old_rel: Some(rel.clone()),
                    old_text: Some(text.clone()),
                    new_rel: rel,
                    new_text: text,
                    gone: Vec::new(),
                });
                continue;
            }
        }
        // A row with a `slug` column (`deal export`'s, whatever the preset)
        // names its deal: one that exists is not new.
        if let Some(slug) = &row.slug_hint
            && existing_slugs.contains(slug.as_str())
        {
            skipped += 1;
            continue;
        }
        if let Some(id) = &row.source_id {
            if known_ids.contains(id) {
                skipped += 1;
                continue;
            }
            known_ids.insert(id.clone());
        }
        let owner = owners.resolve(row.owner_raw.as_deref());
        let slug = slugs.unique(row.slug_hint.as_deref(), &row.title);
        todo.push((row, owner, slug));
    }
    let made: Vec<Result<(FileEdit, Option<Planned>), RowProblem>> = todo
        .into_par_iter()
        .map(|(row, owner, slug)| {
            let mut text = deal_text(&row, &owner, cfg, &today);
            if let Some(op) = crate::intake::leads::icp_op(cfg, &text) {
                text = edit::apply(&text, &[op]).unwrap_or(text);
            }
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
            let planned = a.dry_run.then(|| Planned {
                slug,
                stage: row.place.id(cfg).to_string(),
                owner,
                value: deal
                    .fields
                    .value
                    .map(|v| {
                        crate::base::money::in_table(
                            v,
                            deal.fields.currency.as_deref(),
                            &cfg.currency,
                        )
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
        })
        .collect();
    for m in made {
        match m {
            Ok((f, pl)) => {
                files.push(f);
                planned.extend(pl);
            }
            Err(pb) => problems.push(pb),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    problems.sort_by_key(|p| p.line);
    for pb in &problems {
        eprintln!("{file_shown}:{}: {}", pb.line, pb.message);
    }
    if a.strict && !problems.is_empty() {
        eprintln!(
            "{} problem row(s); with --strict nothing was imported (fix the rows, or drop --strict to import the others)",
            problems.len()
        );
        return Ok(1);
    }
    let new_members = &owners.new;

    // pipeline.yaml: the new team members, with no roles (so routing
    // gives none of them a lead).
    let mut ops = Vec::new();
    for (h, (name, email)) in new_members {
        let mut v = format!("{{ name: {}", yaml_scalar(name));
        if let Some(e) = email {
            v.push_str(&format!(", email: {}", yaml_scalar(e)));
        }
        v.push_str(", roles: [] }");
        ops.push(Op::Set(vec!["team".into(), h.clone()], v));
    }
    let n = files.len();
    let kept: Vec<&str> = plan
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            matches!(c.target, Target::Crm(_))
                || (plan.earlier_claim(*i).is_some() && crm_used.contains(&c.header))
        })
        .map(|(_, c)| c.header.as_str())
        .collect();
    let skipped_cols: Vec<&str> = plan
        .columns
        .iter()
        .filter(|c| c.target == Target::Skip)
        .map(|c| c.header.as_str())
        .collect();
    let summary = |verb: &str| {
        let mut s = format!(
            "{verb} {n} deal{} from {file_shown}",
            if n == 1 { "" } else { "s" }
        );
        if skipped > 0 {
            let by = if plan.columns.iter().any(|c| c.target == Target::Slug) {
                "same slug or source_id"
            } else {
                "same source_id"
            };
            s.push_str(&format!("; {skipped} already imported ({by}), skipped"));
        }
        if !problems.is_empty() {
            s.push_str(&format!(
                "; {} problem row(s), not imported",
                problems.len()
            ));
        }
        s.push('.');
        if !new_members.is_empty() {
            s.push_str(&format!(
                "\nNew team members, with no roles: {}.",
                new_members
                    .iter()
                    .map(|(h, (name, _))| format!("{h} ({name})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !kept.is_empty() {
            s.push_str(&format!("\nKept under crm: {}.", list_cols(&kept)));
        }
        if !skipped_cols.is_empty() {
            s.push_str(&format!(
                "\nSkipped (--skip): {}.",
                list_cols(&skipped_cols)
            ));
        }
        s
    };
    let code = if problems.is_empty() { 0 } else { 1 };
    if a.dry_run {
        if !ctx.quiet {
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
            println!("\n{} (dry run: nothing written)", summary("Would import"));
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
            println!("{}", summary("Imported"));
        }
        return Ok(code);
    }
    // pipeline.yaml as the interrupted run left it (its new team members,
    // `enforce_from`), in the work tree or staged, goes into the commit with its deals.
    if ops.is_empty()
        && !completed.is_empty()
        && let Some(repo) = &repo
    {
        let path = root.join(config::FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        if repo.left_change(&repo.rel(&path)?, text.as_bytes()) {
            files.push(FileEdit {
                old_rel: Some(PathBuf::from(config::FILE)),
                old_text: Some(text.clone()),
                new_rel: PathBuf::from(config::FILE),
                new_text: text,
                gone: Vec::new(),
            });
        }
    }
    if !ops.is_empty() {
        let path = root.join(config::FILE);
        let old = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let new = edit::apply_yaml(&old, &ops).map_err(|e| {
            Error::usage(
                format!(
                    "{}: cannot add the new team members: {e}",
                    crate::base::diag::display_path(&path)
                ),
                "add them by hand, then import again (it skips rows already imported)",
            )
        })?;
        files.push(FileEdit {
            old_rel: Some(PathBuf::from(config::FILE)),
            old_text: Some(old),
            new_rel: PathBuf::from(config::FILE),
            new_text: new,
            gone: Vec::new(),
        });
    }
    let name = a
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let msg = message(
        &format!(
            "deal: import {n} deal{} from {name}",
            if n == 1 { "" } else { "s" }
        ),
        None,
        &[("Imported", n.to_string())],
    );
    let done = record_files(&root, cfg, &files, &msg, a.commit.no_commit)?;
    if !ctx.quiet {
        println!(
            "{}{}",
            summary("Imported"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::import::{Plan, Preset, Reading, read_row};
    use proptest::prelude::*;

    fn cfg() -> Config {
        crate::model::config::parse(
            &crate::model::config::default_yaml(
                &[("bob".into(), "Bob".into(), "bob@example.com".into())],
                crate::model::config::Qualification::Bant,
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
