//! `deal resolve SLUG --keep PATH|STAGE`: after a merge left the same deal
//! in two places, keep one copy, remove the others, and commit with `Deal:`
//! and `Resolved:` trailers.

use std::path::{Path, PathBuf};

use crate::cli::ResolveArgs;
use crate::commands::Ctx;
use crate::commands::record::{FileEdit, message, person, record_files};
use crate::commands::set::outcome;
use crate::deal::Place;
use crate::error::Error;
use crate::pipeline::{Pipeline, find_root, place_of, slug_of, worktree_entries};

/// Which of `files` (root-relative) `keep` names: a path, a stage id or
/// folder, `won` or `lost`.
fn pick<'a>(p: &Pipeline, start: &Path, files: &'a [PathBuf], keep: &str) -> Option<&'a PathBuf> {
    let abs = std::fs::canonicalize(start.join(keep)).ok();
    if let Some(f) = files
        .iter()
        .find(|f| f.as_path() == Path::new(keep) || abs.as_deref() == Some(&p.root.join(f)))
    {
        return Some(f);
    }
    let place = Place::parse(keep, &p.cfg).or_else(|| {
        p.cfg
            .stages
            .iter()
            .position(|s| s.dir == keep)
            .map(Place::Stage)
    })?;
    let hits: Vec<&PathBuf> = files
        .iter()
        .filter(|f| place_of(f, &p.cfg) == Some(place))
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

pub fn run(ctx: &Ctx, a: ResolveArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let cfg = crate::config::load(&root)?;
    let key = a.slug.to_lowercase();
    // Every copy, however its name is cased (`Acme.md`, `acme.MD`).
    let mut entries: Vec<_> = worktree_entries(&root, &cfg)
        .into_iter()
        .filter(|e| slug_of(&e.rel).to_lowercase() == key)
        .collect();
    for dir in cfg
        .stages
        .iter()
        .map(|s| s.dir.as_str())
        .chain([crate::config::WON, crate::config::LOST])
    {
        let rel_dir = Path::new(&cfg.deals_dir).join(dir);
        let Ok(list) = std::fs::read_dir(root.join(&rel_dir)) else {
            continue;
        };
        for f in list.flatten() {
            let name = f.file_name().to_string_lossy().to_lowercase();
            let rel = rel_dir.join(f.file_name());
            if name == format!("{key}.md") && !entries.iter().any(|e| e.rel == rel) {
                let is_link = f.file_type().is_ok_and(|t| t.is_symlink());
                entries.push(crate::pipeline::Entry {
                    content: if is_link {
                        crate::pipeline::Content::Symlink
                    } else {
                        crate::pipeline::Content::Path(root.join(&rel))
                    },
                    rel,
                });
            }
        }
    }
    let p = Pipeline::from_entries(root.clone(), cfg, entries);
    let mut files: Vec<PathBuf> = p
        .deals
        .iter()
        .map(|d| d.rel.clone())
        .chain(p.problems.iter().map(|x| x.rel.clone()))
        .collect();
    files.sort();
    let shown = |f: &Path| crate::diag::display_path(&root.join(f));
    if files.len() < 2 {
        return Err(Error::usage(
            match files.first() {
                Some(f) => format!(
                    "`{}` is not duplicated: it sits only in {}",
                    a.slug,
                    shown(f)
                ),
                None => format!("no deal `{}`", a.slug),
            },
            "resolve is for a deal a merge left in two places; `deal check` reports those as duplicate-slug",
        ));
    }
    let listed = files
        .iter()
        .map(|f| shown(f))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(kept) = pick(&p, &ctx.start, &files, &a.keep) else {
        return Err(Error::usage(
            format!("--keep {} names none of the copies: {listed}", a.keep),
            "give the stage id, the stage folder, won, lost, or the path of one copy",
        ));
    };
    let Some(d) = p.deals.iter().find(|d| &d.rel == kept) else {
        let why = p
            .problems
            .iter()
            .find(|x| &x.rel == kept)
            .map(|x| match &x.problem {
                crate::pipeline::Problem::Conflict(c) => {
                    format!("it holds merge-conflict markers at line {}", c.start)
                }
                _ => "it cannot be read as a deal".into(),
            })
            .unwrap_or_default();
        return Err(Error::usage(
            format!(
                "the copy to keep, {}, {why}; nothing was changed",
                shown(kept)
            ),
            format!(
                "edit {} until `deal check {}` reads it, then run resolve again",
                shown(kept),
                shown(kept)
            ),
        ));
    };
    let others: Vec<&PathBuf> = files.iter().filter(|f| *f != kept).collect();
    // Like `git rm`, never throw away what is not committed.
    if let Some(repo) = crate::repo::Repo::open(&root) {
        let head = repo.commit_of("HEAD").ok();
        for o in &others {
            let bytes = std::fs::read(root.join(o)).unwrap_or_default();
            let rel = repo.rel(&root.join(o)).unwrap_or_default();
            // As git would store it (filters, end-of-line conversion).
            let id = repo.blob_id_for(&rel, &bytes).ok();
            let committed = head.and_then(|h| repo.blob_id_at(h, &rel));
            if committed.is_none() || committed != id {
                return Err(Error::usage(
                    format!(
                        "{} has changes that are not committed; resolve would lose them, so nothing was changed",
                        shown(o)
                    ),
                    format!(
                        "commit or stash them first, or copy what you need into {}",
                        shown(kept)
                    ),
                ));
            }
        }
    }
    // Remove the other copies from the working tree; recording then drops
    // them from the commit and the index. Put them back if it fails.
    let mut saved: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for o in &others {
        let abs = root.join(o);
        let bytes = std::fs::read(&abs).map_err(|e| Error::io(&abs, e))?;
        saved.push((abs, bytes));
    }
    let restore = |saved: &[(PathBuf, Vec<u8>)]| {
        for (abs, bytes) in saved {
            let _ = std::fs::write(abs, bytes);
        }
    };
    for (abs, _) in &saved {
        if let Err(e) = std::fs::remove_file(abs) {
            restore(&saved);
            return Err(Error::io(abs, e));
        }
    }
    let kept_rel = crate::repo::prefix_in_repo(&root).join(kept);
    let owner = d.fields.owner.clone().unwrap_or_default();
    let mut trailers = vec![
        ("Deal", d.slug.clone()),
        ("Resolved", kept_rel.display().to_string()),
    ];
    if !owner.is_empty() {
        trailers.push(("Owner", person(&p.cfg, &owner)));
    }
    let msg = message(
        &format!("deal({}): resolve, keep {}", d.slug, kept_rel.display()),
        Some(&format!(
            "Removed {}",
            others
                .iter()
                .map(|o| crate::repo::prefix_in_repo(&root)
                    .join(o)
                    .display()
                    .to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        &trailers,
    );
    let edit = FileEdit {
        old_rel: Some(kept.clone()),
        old_text: Some(d.text.clone()),
        new_rel: kept.clone(),
        new_text: d.text.clone(),
        gone: others.iter().map(|o| (*o).clone()).collect(),
    };
    let done = match record_files(
        &root,
        &p.cfg,
        std::slice::from_ref(&edit),
        &msg,
        a.commit.no_commit,
    ) {
        Ok(d) => d,
        Err(e) => {
            restore(&saved);
            return Err(e);
        }
    };
    if !ctx.quiet {
        println!(
            "Kept {}; removed {}{}.",
            shown(kept),
            others
                .iter()
                .map(|o| shown(o))
                .collect::<Vec<_>>()
                .join(", "),
            outcome(&done)
        );
    }
    Ok(0)
}
