//! `deal import FILE.csv --preset hubspot|pipedrive|generic`: one deal per
//! row, one commit with an `Imported: N` trailer; idempotent on `source_id`.
//! `deal export`: every deal as CSV or JSON, in a shape `import` reads back.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;

use indexmap::IndexMap;

use crate::cli::{ExportArgs, ExportFormat, ImportArgs};
use crate::commands::Ctx;
use crate::commands::record::{FileEdit, message, record_files};
use crate::config::{self, Config, yaml_scalar};
use crate::deal::{Deal, Place, scalar_text};
use crate::edit::{self, Op};
use crate::error::Error;
use crate::import::{Plan, RowProblem, Target, deal_text, read_row, unique_slug};
use crate::pipeline::{Pipeline, find_root};
use crate::slug::slugify;

/// New team members found in the file: handle → (name, email).
type NewMembers = IndexMap<String, (String, Option<String>)>;

fn resolve_owner(cfg: &Config, raw: Option<&str>, new: &mut NewMembers, default: &str) -> String {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return default.to_string();
    };
    if cfg.team.contains_key(raw) {
        return raw.to_string();
    }
    let is_email = raw.contains('@');
    for (h, m) in &cfg.team {
        let by_name = m
            .name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(raw));
        let by_email = m
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(raw));
        if by_name || by_email {
            return h.clone();
        }
    }
    for (h, (name, email)) in new.iter() {
        if name.eq_ignore_ascii_case(raw)
            || email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(raw))
        {
            return h.clone();
        }
    }
    let base = if is_email {
        slugify(raw.split('@').next().unwrap_or(raw))
    } else {
        slugify(raw)
    };
    let base = if base.is_empty() {
        "owner".to_string()
    } else {
        base
    };
    let mut h = base.clone();
    let mut n = 2;
    while cfg.team.contains_key(&h) || new.contains_key(&h) {
        h = format!("{base}-{n}");
        n += 1;
    }
    let name = if is_email {
        raw.split('@').next().unwrap_or(raw).to_string()
    } else {
        raw.to_string()
    };
    new.insert(h.clone(), (name, is_email.then(|| raw.to_string())));
    h
}

/// The text of the deal file at `rel` (root-relative) when an interrupted
/// import left it whole for this row: the bytes the row makes, in a file
/// HEAD lacks, staged as they are or not at all.
fn left_row(
    repo: &crate::repo::Repo,
    root: &std::path::Path,
    rel: &std::path::Path,
    cfg: &Config,
    row: &crate::import::RowDeal,
    owner: &str,
    today: &str,
) -> Option<String> {
    let abs = root.join(rel);
    if !std::fs::symlink_metadata(&abs).ok()?.is_file() {
        return None;
    }
    let mut text = deal_text(row, owner, today);
    if let Some(op) = crate::leads::icp_op(cfg, &text) {
        text = edit::apply(&text, &[op]).unwrap_or(text);
    }
    let on_disk = std::fs::read(&abs).ok()?;
    if on_disk != text.as_bytes() {
        return None;
    }
    repo.left_new(&repo.rel(&abs).ok()?, &on_disk)
        .then_some(text)
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
    let file_shown = a.file.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&a.file)
        .map_err(|e| {
            Error::usage(
                format!("{file_shown}: {e}"),
                "give a CSV file with a header row",
            )
        })?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            Error::usage(
                format!("{file_shown}:1: {e}"),
                "the first row must name the columns",
            )
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let plan = Plan::new(a.preset, &headers, &maps, &stage_maps);
    if !plan
        .columns
        .iter()
        .any(|(_, t)| matches!(t, Target::Field(f) if f == "title" || f == "company"))
    {
        return Err(Error::usage(
            format!("{file_shown}: no column gives a deal's title"),
            "pass --map \"<column>=title\" (or choose the right --preset)",
        ));
    }
    let records: Vec<csv::Result<csv::StringRecord>> = reader.records().collect();
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
    let mut taken: HashSet<String> = p
        .deals
        .iter()
        .map(|d| d.slug.clone())
        .chain(p.problems.iter().map(|x| x.slug.clone()))
        .collect();
    let default_owner = crate::repo::identity(&root)
        .and_then(|(_, e)| cfg.member_by_email(&e).map(str::to_string))
        .or_else(|| cfg.team.keys().next().cloned())
        .unwrap_or_else(|| "unassigned".into());
    let mut new_members = NewMembers::new();
    let today = crate::time::format_date(ctx.now);
    let mut problems: Vec<RowProblem> = Vec::new();
    let mut files: Vec<FileEdit> = Vec::new();
    let repo = crate::repo::Repo::open(&root);
    let mut completed: HashSet<PathBuf> = HashSet::new();
    let mut skipped = 0usize;
    for (n, rec) in records.into_iter().enumerate() {
        if let Some(b) = &bar {
            b.inc(1);
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(n as u64 + 2);
                problems.push(RowProblem {
                    line,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(n as u64 + 2);
        if rec.len() != headers.len() {
            problems.push(RowProblem {
                line,
                message: format!(
                    "the row has {} fields; the header has {}",
                    rec.len(),
                    headers.len()
                ),
            });
            continue;
        }
        let row = match read_row(cfg, &plan, &rec, line) {
            Ok(r) => r,
            Err(pb) => {
                problems.push(pb);
                continue;
            }
        };
        // `deal export`'s rows name their deal: one that exists is not new.
        // A row an interrupted import wrote whole (left staged, or in the
        // work tree only): recorded as it is, not skipped as imported nor
        // written again as `<slug>-2` (docs/safety.md, "No window for half
        // a file").
        if let Some(repo) = &repo {
            let mut scratch = new_members.clone();
            let owner = resolve_owner(cfg, row.owner_raw.as_deref(), &mut scratch, &default_owner);
            let base = crate::import::base_slug(row.slug_hint.as_deref(), &row.title);
            // The slugs the earlier run may have given it: `base`, then
            // `base-2`, … as long as they are taken.
            let mut slug = base.clone();
            let mut k = 2;
            let mut found = None;
            while scratch.len() == new_members.len() && taken.contains(&slug) {
                let rel = PathBuf::from(&cfg.deals_dir)
                    .join(row.place.dir(cfg))
                    .join(format!("{slug}.md"));
                if !completed.contains(&rel)
                    && let Some(text) = left_row(repo, &root, &rel, cfg, &row, &owner, &today)
                {
                    found = Some((rel, text));
                    break;
                }
                slug = format!("{base}-{k}");
                k += 1;
            }
            if let Some((rel, text)) = found {
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
        if a.preset == crate::import::Preset::Deal
            && let Some(slug) = &row.slug_hint
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
        let owner = resolve_owner(
            cfg,
            row.owner_raw.as_deref(),
            &mut new_members,
            &default_owner,
        );
        let slug = unique_slug(row.slug_hint.as_deref(), &row.title, &mut taken);
        let mut text = deal_text(&row, &owner, &today);
        if let Some(op) = crate::leads::icp_op(cfg, &text) {
            text = edit::apply(&text, &[op]).unwrap_or(text);
        }
        let rel = PathBuf::from(&cfg.deals_dir)
            .join(row.place.dir(cfg))
            .join(format!("{slug}.md"));
        if text.len() as u64 > crate::pipeline::MAX_DEAL_BYTES {
            problems.push(RowProblem {
                line,
                message: format!(
                    "the row makes a deal file of {:.1} MB, and deal reads none over {} MB",
                    text.len() as f64 / (1024.0 * 1024.0),
                    crate::pipeline::MAX_DEAL_BYTES / (1024 * 1024)
                ),
            });
            continue;
        }
        if let Err(pb) = Deal::parse(slug, rel.clone(), row.place, text.clone().into_bytes(), cfg) {
            problems.push(RowProblem {
                line,
                message: format!("the row does not make a valid deal: {}", pb.message),
            });
            continue;
        }
        files.push(FileEdit {
            old_rel: None,
            old_text: None,
            new_rel: rel,
            new_text: text,
            gone: Vec::new(),
        });
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    problems.sort_by_key(|p| p.line);
    for pb in &problems {
        eprintln!("{file_shown}:{}: {}", pb.line, pb.message);
    }
    if a.strict && !problems.is_empty() {
        return Err(Error::usage(
            format!(
                "{} problem row(s); with --strict nothing was imported",
                problems.len()
            ),
            "fix the rows, or drop --strict to import the others",
        ));
    }

    // pipeline.yaml: new team members, and enforce_from when unset.
    let mut ops = Vec::new();
    for (h, (name, email)) in &new_members {
        let mut v = format!("{{ name: {}", yaml_scalar(name));
        if let Some(e) = email {
            v.push_str(&format!(", email: {}", yaml_scalar(e)));
        }
        v.push_str(", roles: [sdr, ae, delivery] }");
        ops.push(Op::Set(vec!["team".into(), h.clone()], v));
    }
    if cfg.enforce_from.is_none() && !files.is_empty() {
        ops.push(Op::set("enforce_from", today.clone()));
    }
    let n = files.len();
    let summary = |verb: &str| {
        let mut s = format!(
            "{verb} {n} deal{} from {file_shown}",
            if n == 1 { "" } else { "s" }
        );
        if skipped > 0 {
            let by = if a.preset == crate::import::Preset::Deal {
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
                "\nNew team members: {}.",
                new_members
                    .iter()
                    .map(|(h, (name, _))| format!("{h} ({name})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if cfg.enforce_from.is_none() && n > 0 {
            s.push_str(&format!(
                "\nenforce_from set to {today}: older stage exits are history, not checked."
            ));
        }
        s
    };
    let code = if problems.is_empty() { 0 } else { 1 };
    if a.dry_run {
        if !ctx.quiet {
            println!("{} (dry run: nothing written)", summary("Would import"));
        }
        return Ok(code);
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
                    crate::diag::display_path(&path)
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
            crate::commands::set::outcome(&done)
        );
    }
    Ok(code)
}

/// Flattens a front-matter value into `path → text` cells.
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
                        "value": d.fields.value,
                        "front_matter": serde_json::to_value(&d.fm).unwrap_or_default(),
                        "stages": d.fields.stages.iter().map(|(k, t)| (k.clone(), crate::time::format_ts(*t))).collect::<std::collections::BTreeMap<_, _>>(),
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
            let flat: Vec<IndexMap<String, String>> = deals
                .iter()
                .map(|d| {
                    let mut m = IndexMap::new();
                    flatten("", &serde_yaml::Value::Mapping(d.fm.clone()), &mut m);
                    m
                })
                .collect();
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
                    .map(|c| crate::import::csv_guard(c).into_owned())
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
