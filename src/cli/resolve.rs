//! `deal resolve SLUG --keep PATH|STAGE`: after a merge left the same deal
//! in two places, keep one copy, remove the others, and commit with `Deal:`
//! and `Resolved:` trailers.

use std::path::{Path, PathBuf};

use crate::base::error::Error;
use crate::cli::args::ResolveArgs;
use crate::cli::ctx::Ctx;
use crate::cli::record::outcome;
use crate::cli::record::{FileEdit, message, person, record_files};
use crate::model::deal::Place;
use crate::store::pipeline::{Pipeline, find_root, place_of, slug_of, worktree_entries};

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
    let cfg = crate::model::config::load(&root)?;
    if let Some(repo) = crate::store::repo::Repo::open(&root)
        && repo.git().path().join("MERGE_HEAD").exists()
    {
        return mid_merge(ctx, &a, &root, &cfg, &repo);
    }
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
        .chain([crate::model::config::WON, crate::model::config::LOST])
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
                entries.push(crate::store::pipeline::Entry {
                    content: if is_link {
                        crate::store::pipeline::Content::Symlink
                    } else {
                        crate::store::pipeline::Content::Path(root.join(&rel))
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
    let shown = |f: &Path| crate::base::diag::display_path(&root.join(f));
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
                crate::store::pipeline::Problem::Conflict(c) => {
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
    if let Some(repo) = crate::store::repo::Repo::open(&root) {
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
    let kept_rel = crate::store::repo::prefix_in_repo(&root).join(kept);
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
                .map(|o| crate::store::repo::prefix_in_repo(&root)
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

/// The top-level keys the kept copy keeps whatever the other side did:
/// where the deal is, and who owns it.
const KEPT_KEYS: [&str; 4] = ["stages", "waived", "lost", "owner"];

/// `deal resolve` during a merge (README, "Merging deal files"): every
/// version of the deal comes from the index's conflict stages (never a
/// work-tree file full of markers). The copy at `--keep` keeps its own
/// `stages`, `waived`, `lost` and `owner`; the other side's other
/// front-matter merges into it by the merge driver's rules (a conflict
/// there: exit 1, nothing changed). The result is written and staged, the
/// other paths leave the index and the work tree, and `git commit`
/// concludes the merge.
fn mid_merge(
    ctx: &Ctx,
    a: &ResolveArgs,
    root: &Path,
    cfg: &crate::model::config::Config,
    repo: &crate::store::repo::Repo,
) -> Result<i32, Error> {
    let key = a.slug.to_lowercase();
    let prefix = repo.rel(root)?;
    let in_repo = |rel: &Path| crate::store::repo::Repo::under(&prefix, &rel.to_string_lossy());
    let git_err = |e: git2::Error| Error::git(format!("cannot use the git index: {e}"), "");
    let mut index = repo.git().index().map_err(git_err)?;
    // (root-relative path, stage, blob) of every index entry of the slug.
    let deals = Path::new(&cfg.deals_dir);
    let mut versions: Vec<(PathBuf, u16, git2::Oid)> = Vec::new();
    for e in index.iter() {
        let Ok(path) = String::from_utf8(e.path.clone()) else {
            continue;
        };
        let rel = match prefix.as_str() {
            "" => PathBuf::from(&path),
            p => match path.strip_prefix(&format!("{p}/")) {
                Some(r) => PathBuf::from(r),
                None => continue,
            },
        };
        if rel.starts_with(deals) && slug_of(&rel).to_lowercase() == key {
            versions.push((rel, (e.flags >> 12) & 3, e.id));
        }
    }
    let shown = |f: &Path| crate::base::diag::display_path(&root.join(f));
    let mut paths: Vec<PathBuf> = versions.iter().map(|v| v.0.clone()).collect();
    paths.sort();
    paths.dedup();
    if !versions.iter().any(|v| v.1 != 0) && paths.len() < 2 {
        return Err(Error::usage(
            format!(
                "`{}` is neither conflicted nor duplicated in this merge",
                a.slug
            ),
            "resolve is for a deal the merge left conflicted or in two places; `git status` lists the conflicts",
        ));
    }
    // The candidates: each side's path (and any clean copy).
    let candidates: Vec<&PathBuf> = paths
        .iter()
        .filter(|p| versions.iter().any(|v| &v.0 == *p && v.1 != 1))
        .collect();
    let by_place = Place::parse(&a.keep, cfg).or_else(|| {
        cfg.stages
            .iter()
            .position(|s| s.dir == a.keep)
            .map(Place::Stage)
    });
    let hits: Vec<&PathBuf> = candidates
        .iter()
        .copied()
        .filter(|p| {
            p.as_path() == Path::new(&a.keep)
                || by_place.is_some_and(|pl| place_of(p, cfg) == Some(pl))
        })
        .collect();
    let listed = candidates
        .iter()
        .map(|p| shown(p))
        .collect::<Vec<_>>()
        .join(", ");
    let [kept] = hits.as_slice() else {
        return Err(Error::usage(
            format!("--keep {} names none of the copies: {listed}", a.keep),
            "give the stage id, the stage folder, won, lost, or the path of one copy",
        ));
    };
    let kept = (*kept).clone();
    let blob = |id: git2::Oid| -> Result<String, Error> {
        let b = repo.git().find_blob(id).map_err(git_err)?;
        String::from_utf8(b.content().to_vec()).map_err(|_| {
            Error::usage(
                format!("a version of {} is not UTF-8 text", a.slug),
                "resolve it by hand",
            )
        })
    };
    // Each side's own version: the conflict stages name the paths (ours
    // 2, theirs 3, the base 1); the blobs come from HEAD, MERGE_HEAD and
    // their merge-base at those paths, since for a rename/rename git
    // leaves its own content merge at both stages. A stage's blob is the
    // fallback.
    let head = repo.commit_of("HEAD").ok();
    let theirs_commit = repo.merge_parents().first().copied();
    let base_commit = match (head, theirs_commit) {
        (Some(h), Some(t)) => repo.merge_base(h, t).ok(),
        _ => None,
    };
    let side = |stage: u16, path: Option<&PathBuf>| -> Option<git2::Oid> {
        let v = versions
            .iter()
            .find(|v| v.1 == stage && path.is_none_or(|p| &v.0 == p))?;
        let commit = match stage {
            1 => base_commit,
            2 => head,
            3 => theirs_commit,
            _ => None,
        };
        Some(
            commit
                .and_then(|c| repo.blob_id_at(c, &in_repo(&v.0)))
                .unwrap_or(v.2),
        )
    };
    // Which side the kept copy is: ours (2), theirs (3), or a clean copy.
    let (kept_id, other_id) = if let Some(id) = side(2, Some(&kept)) {
        (id, side(3, None))
    } else if let Some(id) = side(3, Some(&kept)) {
        (id, side(2, None))
    } else {
        let id = side(0, Some(&kept)).ok_or_else(|| {
            Error::usage(format!("no version of {} in the index", shown(&kept)), "")
        })?;
        (id, side(2, None).or(side(3, None)))
    };
    let kept_text = blob(kept_id)?;
    let base_text = match side(1, None) {
        Some(id) => blob(id)?,
        None => "---\n---\n".to_string(),
    };
    let merged = match other_id {
        Some(id) => {
            let other = blob(id)?;
            let labels = crate::rules::merge::Labels {
                ours: "kept",
                theirs: "other",
            };
            crate::rules::merge::merge_pinned(
                &base_text, &kept_text, &other, &KEPT_KEYS, 7, &labels,
            )
        }
        None => crate::rules::merge::Merged {
            text: kept_text.clone(),
            conflicts: 0,
        },
    };
    if merged.conflicts > 0 {
        return Err(Error::Refused {
            message: format!(
                "the other side's changes to {} conflict with the copy in {}; nothing was changed",
                a.slug,
                shown(&kept)
            ),
            help: format!(
                "merge by hand: edit {}, `git add` it, `git rm` the other copies, then `git commit`",
                shown(&kept)
            ),
        });
    }
    let abs = root.join(&kept);
    if std::fs::symlink_metadata(&abs).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::usage(
            format!(
                "{} is a symbolic link; deal never follows one",
                shown(&kept)
            ),
            "replace it with the file",
        ));
    }
    if let Some(dir) = abs.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&abs, &merged.text).map_err(|e| Error::io(&abs, e))?;
    let others: Vec<&PathBuf> = paths.iter().filter(|p| **p != kept).collect();
    for o in &others {
        let abs = root.join(o);
        if std::fs::symlink_metadata(&abs).is_ok() {
            std::fs::remove_file(&abs).map_err(|e| Error::io(&abs, e))?;
        }
        index.remove_path(Path::new(&in_repo(o))).map_err(git_err)?;
    }
    index
        .add_path(Path::new(&in_repo(&kept)))
        .map_err(git_err)?;
    index.write().map_err(git_err)?;
    if !ctx.quiet {
        println!(
            "Kept {} (merged with the other side's changes){}; staged. Conclude the merge with `git commit`.",
            shown(&kept),
            if others.is_empty() {
                String::new()
            } else {
                format!(
                    "; removed {}",
                    others
                        .iter()
                        .map(|o| shown(o))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    Ok(0)
}
