//! `deal resolve SLUG --keep PATH|STAGE`: after a merge left the same deal
//! in two places, keep one copy, remove the others, and commit with `Deal:`
//! and `Resolved:` trailers.

use std::path::{Path, PathBuf};

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::CommitFlag;
use crate::cli::record::outcome;
use crate::cli::record::{FileEdit, message, person, record_files};
use crate::model::deal::Place;
use crate::store::pipeline::{Pipeline, find_root, place_of, slug_of, worktree_entries};

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The duplicated slug
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub slug: String,
    /// The copy to keep: a stage id, a stage folder, won, lost, or a path
    #[arg(long, value_name = "PATH|STAGE", add = ArgValueCandidates::new(crate::cli::complete::stages))]
    pub keep: String,
    #[command(flatten)]
    pub commit: CommitFlag,
}

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
    let place = place_named(keep, &p.cfg)?;
    let hits: Vec<&PathBuf> = files
        .iter()
        .filter(|f| place_of(f, &p.cfg) == Some(place))
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

/// The place `keep` names: a stage id, `won`, `lost`, or a stage folder.
fn place_named(keep: &str, cfg: &crate::model::config::Config) -> Option<Place> {
    Place::parse(keep, cfg).or_else(|| {
        cfg.stages
            .iter()
            .position(|s| s.dir == keep)
            .map(Place::Stage)
    })
}

/// A root-relative path as shown to the user.
fn shown(root: &Path, f: &Path) -> String {
    crate::base::diag::display_path(&root.join(f))
}

/// `paths` as shown to the user, comma-separated.
fn listed(root: &Path, paths: &[&PathBuf]) -> String {
    paths
        .iter()
        .map(|f| shown(root, f))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The refusal of a `--keep` that names none of the copies.
fn names_none(keep: &str, listed: &str) -> Error {
    Error::usage(
        format!("--keep {keep} names none of the copies: {listed}"),
        "give the stage id, the stage folder, won, lost, or the path of one copy",
    )
}

pub fn run(ctx: &Ctx, a: ResolveArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let cfg = crate::model::config::load(&root)?;
    if let Some(repo) = crate::store::repo::Repo::open(&root)
        && repo.git().path().join("MERGE_HEAD").exists()
    {
        return mid_merge(ctx, &a, &root, &cfg, &repo);
    }
    let entries = copies(&root, &cfg, &a.slug.to_lowercase());
    let p = Pipeline::from_entries(root.clone(), cfg, entries);
    let mut files: Vec<PathBuf> = p
        .deals
        .iter()
        .map(|d| d.rel.clone())
        .chain(p.problems.iter().map(|x| x.rel.clone()))
        .collect();
    files.sort();
    if files.len() < 2 {
        return Err(Error::usage(
            match files.first() {
                Some(f) => format!(
                    "`{}` is not duplicated: it sits only in {}",
                    a.slug,
                    shown(&root, f)
                ),
                None => format!("no deal `{}`", a.slug),
            },
            "resolve is for a deal a merge left in two places; `deal check` reports those as duplicate-slug",
        ));
    }
    let Some(kept) = pick(&p, &ctx.start, &files, &a.keep) else {
        return Err(names_none(
            &a.keep,
            &listed(&root, &files.iter().collect::<Vec<_>>()),
        ));
    };
    let d = kept_deal(&p, kept)?;
    let others: Vec<&PathBuf> = files.iter().filter(|f| *f != kept).collect();
    // Like `git rm`, never throw away what is not committed.
    refuse_uncommitted(&root, &others, kept)?;
    // Remove the other copies from the working tree; recording then drops
    // them from the commit and the index. Put them back if it fails.
    let removed = Removed::take(&root, &others)?;
    let msg = resolve_message(
        &crate::store::repo::prefix_in_repo(&root),
        &p.cfg,
        d,
        kept,
        &others,
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
            removed.restore();
            return Err(e);
        }
    };
    if !ctx.quiet {
        println!(
            "Kept {}; removed {}{}.",
            shown(&root, kept),
            listed(&root, &others),
            outcome(&done)
        );
    }
    Ok(0)
}

/// Every copy of the deal `key` (its slug in lower case) in the working
/// tree, however its name is cased (`Acme.md`, `acme.MD`).
fn copies(
    root: &Path,
    cfg: &crate::model::config::Config,
    key: &str,
) -> Vec<crate::store::files::Entry> {
    let mut entries: Vec<_> = worktree_entries(root, cfg)
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
                entries.push(crate::store::files::Entry {
                    content: if is_link {
                        crate::store::files::Content::Symlink
                    } else {
                        crate::store::files::Content::Path(root.join(&rel))
                    },
                    rel,
                });
            }
        }
    }
    entries
}

/// The deal in the copy to keep; refused when that copy cannot be read
/// as a deal (merge-conflict markers, or broken front matter).
fn kept_deal<'p>(p: &'p Pipeline, kept: &Path) -> Result<&'p crate::model::deal::Deal, Error> {
    if let Some(d) = p.deals.iter().find(|d| d.rel == kept) {
        return Ok(d);
    }
    let why = p
        .problems
        .iter()
        .find(|x| x.rel == kept)
        .map(|x| match &x.problem {
            crate::store::pipeline::Problem::Conflict(c) => {
                format!("it holds merge-conflict markers at line {}", c.start)
            }
            _ => "it cannot be read as a deal".into(),
        })
        .unwrap_or_default();
    let kept = shown(&p.root, kept);
    Err(Error::usage(
        format!("the copy to keep, {kept}, {why}; nothing was changed"),
        format!("edit {kept} until `deal check {kept}` reads it, then run resolve again"),
    ))
}

/// Refuses when one of the copies to remove differs from what HEAD holds
/// (as git would store it: filters, end-of-line conversion).
fn refuse_uncommitted(root: &Path, others: &[&PathBuf], kept: &Path) -> Result<(), Error> {
    let Some(repo) = crate::store::repo::Repo::open(root) else {
        return Ok(());
    };
    let head = repo.commit_of("HEAD").ok();
    for o in others {
        let bytes = std::fs::read(root.join(o)).unwrap_or_default();
        let rel = repo.rel(&root.join(o)).unwrap_or_default();
        let id = repo.blob_id_for(&rel, &bytes).ok();
        let committed = head.and_then(|h| repo.blob_id_at(h, &rel));
        if committed.is_none() || committed != id {
            return Err(Error::usage(
                format!(
                    "{} has changes that are not committed; resolve would lose them, so nothing was changed",
                    shown(root, o)
                ),
                format!(
                    "commit or stash them first, or copy what you need into {}",
                    shown(root, kept)
                ),
            ));
        }
    }
    Ok(())
}

/// The other copies, read before they leave the working tree, so that a
/// failure can put them back.
struct Removed(Vec<(PathBuf, Vec<u8>)>);

impl Removed {
    /// Reads each of `others`, then removes them; when a removal fails,
    /// puts back what was removed.
    fn take(root: &Path, others: &[&PathBuf]) -> Result<Removed, Error> {
        let mut saved: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for o in others {
            let abs = root.join(o);
            let bytes = std::fs::read(&abs).map_err(|e| Error::io(&abs, e))?;
            saved.push((abs, bytes));
        }
        let removed = Removed(saved);
        for (abs, _) in &removed.0 {
            if let Err(e) = std::fs::remove_file(abs) {
                removed.restore();
                return Err(Error::io(abs, e));
            }
        }
        Ok(removed)
    }

    /// Writes every copy back as it was.
    fn restore(&self) {
        for (abs, bytes) in &self.0 {
            let _ = std::fs::write(abs, bytes);
        }
    }
}

/// The commit message of a resolve: the kept copy and the removed ones,
/// as paths in the repository (`prefix` is the pipeline's folder there),
/// with `Deal:`, `Resolved:` and, when the deal has an owner, `Owner:`.
fn resolve_message(
    prefix: &Path,
    cfg: &crate::model::config::Config,
    d: &crate::model::deal::Deal,
    kept: &Path,
    others: &[&PathBuf],
) -> String {
    let kept_rel = prefix.join(kept);
    let owner = d.fields.owner.clone().unwrap_or_default();
    let mut trailers = vec![
        ("Deal", d.slug.clone()),
        ("Resolved", kept_rel.display().to_string()),
    ];
    if !owner.is_empty() {
        trailers.push(("Owner", person(cfg, &owner)));
    }
    message(
        &format!("deal({}): resolve, keep {}", d.slug, kept_rel.display()),
        Some(&format!(
            "Removed {}",
            others
                .iter()
                .map(|o| prefix.join(o).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        &trailers,
    )
}

/// The top-level keys the kept copy keeps whatever the other side did:
/// where the deal is, and who owns it.
const KEPT_KEYS: [&str; 4] = ["stages", "waived", "lost", "owner"];

/// One index entry of the deal: its root-relative path, its conflict
/// stage (0 clean, 1 base, 2 ours, 3 theirs), and its blob.
struct Version {
    rel: PathBuf,
    stage: u16,
    id: git2::Oid,
}

/// An error of the git index, as the user sees it.
fn git_err(e: git2::Error) -> Error {
    Error::git(format!("cannot use the git index: {e}"), "")
}

/// An index path (relative to the repository) as a path relative to the
/// pipeline at `prefix`; `None` outside it.
fn pipeline_rel(path: &str, prefix: &str) -> Option<PathBuf> {
    match prefix {
        "" => Some(PathBuf::from(path)),
        p => path.strip_prefix(&format!("{p}/")).map(PathBuf::from),
    }
}

/// Every index entry of the deal `key` (its slug in lower case) below the
/// deals folder, at any stage.
fn index_versions(index: &git2::Index, prefix: &str, deals: &Path, key: &str) -> Vec<Version> {
    let mut versions = Vec::new();
    for e in index.iter() {
        let Ok(path) = String::from_utf8(e.path.clone()) else {
            continue;
        };
        let Some(rel) = pipeline_rel(&path, prefix) else {
            continue;
        };
        if rel.starts_with(deals) && slug_of(&rel).to_lowercase() == key {
            versions.push(Version {
                rel,
                stage: (e.flags >> 12) & 3,
                id: e.id,
            });
        }
    }
    versions
}

/// The one candidate `keep` names, by its path or by the place it is in.
fn pick_candidate<'a>(
    candidates: &[&'a PathBuf],
    keep: &str,
    cfg: &crate::model::config::Config,
) -> Option<&'a PathBuf> {
    let by_place = place_named(keep, cfg);
    let hits: Vec<&PathBuf> = candidates
        .iter()
        .copied()
        .filter(|p| {
            p.as_path() == Path::new(keep)
                || by_place.is_some_and(|pl| place_of(p, cfg) == Some(pl))
        })
        .collect();
    match hits.as_slice() {
        [kept] => Some(kept),
        _ => None,
    }
}

/// Each side's own version of the deal during the merge: the conflict
/// stages name the paths (ours 2, theirs 3, the base 1); the blobs come
/// from HEAD, MERGE_HEAD and their merge-base at those paths, since for a
/// rename/rename git leaves its own content merge at both stages. A
/// stage's blob is the fallback.
struct Sides<'a> {
    repo: &'a crate::store::repo::Repo,
    prefix: &'a str,
    versions: &'a [Version],
    head: Option<git2::Oid>,
    theirs: Option<git2::Oid>,
    base: Option<git2::Oid>,
}

impl<'a> Sides<'a> {
    /// Finds the merge's commits: HEAD, the one merged in, their base.
    fn new(repo: &'a crate::store::repo::Repo, prefix: &'a str, versions: &'a [Version]) -> Self {
        let head = repo.commit_of("HEAD").ok();
        let theirs = repo.merge_parents().first().copied();
        let base = match (head, theirs) {
            (Some(h), Some(t)) => repo.merge_base(h, t).ok(),
            _ => None,
        };
        Sides {
            repo,
            prefix,
            versions,
            head,
            theirs,
            base,
        }
    }

    /// The blob of `stage`'s version (at `path`, when given).
    fn side(&self, stage: u16, path: Option<&PathBuf>) -> Option<git2::Oid> {
        let v = self
            .versions
            .iter()
            .find(|v| v.stage == stage && path.is_none_or(|p| &v.rel == p))?;
        let commit = match stage {
            1 => self.base,
            2 => self.head,
            3 => self.theirs,
            _ => None,
        };
        let in_repo = crate::store::repo::Repo::under(self.prefix, &v.rel.to_string_lossy());
        Some(
            commit
                .and_then(|c| self.repo.blob_id_at(c, &in_repo))
                .unwrap_or(v.id),
        )
    }

    /// The kept copy's blob and the other side's: the kept copy is ours
    /// (2), theirs (3), or a clean copy (then the other is ours, else
    /// theirs).
    fn kept_and_other(
        &self,
        root: &Path,
        kept: &PathBuf,
    ) -> Result<(git2::Oid, Option<git2::Oid>), Error> {
        Ok(if let Some(id) = self.side(2, Some(kept)) {
            (id, self.side(3, None))
        } else if let Some(id) = self.side(3, Some(kept)) {
            (id, self.side(2, None))
        } else {
            let id = self.side(0, Some(kept)).ok_or_else(|| {
                Error::usage(
                    format!("no version of {} in the index", shown(root, kept)),
                    "",
                )
            })?;
            (id, self.side(2, None).or(self.side(3, None)))
        })
    }

    /// A blob's text; refused when it is not UTF-8.
    fn text(&self, id: git2::Oid, slug: &str) -> Result<String, Error> {
        let b = self.repo.git().find_blob(id).map_err(git_err)?;
        String::from_utf8(b.content().to_vec()).map_err(|_| {
            Error::usage(
                format!("a version of {slug} is not UTF-8 text"),
                "resolve it by hand",
            )
        })
    }

    /// The kept copy with the other side's front-matter merged in, its
    /// [`KEPT_KEYS`] its own; refused (exit 1) on a conflict.
    fn merged(&self, root: &Path, kept: &PathBuf, slug: &str) -> Result<String, Error> {
        let (kept_id, other_id) = self.kept_and_other(root, kept)?;
        let kept_text = self.text(kept_id, slug)?;
        let base_text = match self.side(1, None) {
            Some(id) => self.text(id, slug)?,
            None => "---\n---\n".to_string(),
        };
        let merged = match other_id {
            Some(id) => {
                let other = self.text(id, slug)?;
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
                    "the other side's changes to {slug} conflict with the copy in {}; nothing was changed",
                    shown(root, kept)
                ),
                help: format!(
                    "merge by hand: edit {}, `git add` it, `git rm` the other copies, then `git commit`",
                    shown(root, kept)
                ),
            });
        }
        Ok(merged.text)
    }
}

/// Writes the merged text to the kept copy, never through a link.
fn write_kept(root: &Path, kept: &Path, text: &str) -> Result<(), Error> {
    let abs = root.join(kept);
    if std::fs::symlink_metadata(&abs).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::usage(
            format!(
                "{} is a symbolic link; deal never follows one",
                shown(root, kept)
            ),
            "replace it with the file",
        ));
    }
    if let Some(dir) = abs.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(&abs, text).map_err(|e| Error::io(&abs, e))
}

/// Stages the result: the other paths leave the work tree and the index,
/// the kept copy is added.
fn stage_result(
    index: &mut git2::Index,
    root: &Path,
    prefix: &str,
    kept: &Path,
    others: &[&PathBuf],
) -> Result<(), Error> {
    let in_repo = |rel: &Path| crate::store::repo::Repo::under(prefix, &rel.to_string_lossy());
    for o in others {
        let abs = root.join(o);
        if std::fs::symlink_metadata(&abs).is_ok() {
            std::fs::remove_file(&abs).map_err(|e| Error::io(&abs, e))?;
        }
        index.remove_path(Path::new(&in_repo(o))).map_err(git_err)?;
    }
    index.add_path(Path::new(&in_repo(kept))).map_err(git_err)?;
    index.write().map_err(git_err)
}

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
    let prefix = repo.rel(root)?;
    let mut index = repo.git().index().map_err(git_err)?;
    let versions = index_versions(
        &index,
        &prefix,
        Path::new(&cfg.deals_dir),
        &a.slug.to_lowercase(),
    );
    let mut paths: Vec<PathBuf> = versions.iter().map(|v| v.rel.clone()).collect();
    paths.sort();
    paths.dedup();
    if !versions.iter().any(|v| v.stage != 0) && paths.len() < 2 {
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
        .filter(|p| versions.iter().any(|v| &v.rel == *p && v.stage != 1))
        .collect();
    let Some(kept) = pick_candidate(&candidates, &a.keep, cfg) else {
        return Err(names_none(&a.keep, &listed(root, &candidates)));
    };
    let kept = kept.clone();
    let merged = Sides::new(repo, &prefix, &versions).merged(root, &kept, &a.slug)?;
    write_kept(root, &kept, &merged)?;
    let others: Vec<&PathBuf> = paths.iter().filter(|p| **p != kept).collect();
    stage_result(&mut index, root, &prefix, &kept, &others)?;
    if !ctx.quiet {
        println!(
            "Kept {} (merged with the other side's changes){}; staged. Conclude the merge with `git commit`.",
            shown(root, &kept),
            if others.is_empty() {
                String::new()
            } else {
                format!("; removed {}", listed(root, &others))
            }
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> crate::model::config::Config {
        let yaml = crate::model::config::default_yaml(
            &[(
                "ana".to_string(),
                "Ana".to_string(),
                "ana@example.com".to_string(),
            )],
            crate::model::notes::Qualification::Bant,
        );
        crate::model::config::parse(
            &yaml,
            Path::new("pipeline.yaml"),
            &crate::model::notes::Templates::builtin_only(),
        )
        .unwrap()
    }

    /// `deals/<folder>/acme.md`.
    fn at(cfg: &crate::model::config::Config, folder: &str) -> PathBuf {
        Path::new(&cfg.deals_dir).join(folder).join("acme.md")
    }

    #[test]
    fn index_paths_outside_the_pipelines_folder_are_not_its_own() {
        assert_eq!(
            pipeline_rel("deals/lead/a.md", ""),
            Some(PathBuf::from("deals/lead/a.md"))
        );
        assert_eq!(
            pipeline_rel("sales/deals/lead/a.md", "sales"),
            Some(PathBuf::from("deals/lead/a.md"))
        );
        assert_eq!(pipeline_rel("salesforce/deals/a.md", "sales"), None);
    }

    #[test]
    fn keep_names_a_stage_by_id_or_folder_and_the_outcomes_by_name() {
        let c = cfg();
        let first = &c.stages[0];
        assert_eq!(place_named(&first.id, &c), Some(Place::Stage(0)));
        assert_eq!(place_named(&first.dir, &c), Some(Place::Stage(0)));
        assert_eq!(place_named("won", &c), Some(Place::Won));
        assert_eq!(place_named("nowhere", &c), None);
    }

    #[test]
    fn a_mid_merge_keep_must_name_exactly_one_candidate() {
        let c = cfg();
        let (a, b, won) = (
            at(&c, &c.stages[0].dir),
            at(&c, &c.stages[1].dir),
            at(&c, "won"),
        );
        let candidates = [&a, &b, &won];
        assert_eq!(pick_candidate(&candidates, "won", &c), Some(&won));
        assert_eq!(pick_candidate(&candidates, &c.stages[1].id, &c), Some(&b));
        assert_eq!(
            pick_candidate(&candidates, &a.display().to_string(), &c),
            Some(&a)
        );
        assert_eq!(pick_candidate(&candidates, "lost", &c), None);
        let twice = [&a, &a];
        assert_eq!(pick_candidate(&twice, &c.stages[0].id, &c), None);
    }

    #[test]
    fn the_resolve_message_names_paths_in_the_repository_and_the_owner() {
        let c = cfg();
        let kept = at(&c, &c.stages[1].dir);
        let other = at(&c, &c.stages[0].dir);
        let d = crate::model::deal::Deal::parse(
            "acme".into(),
            kept.clone(),
            Place::Stage(1),
            b"---\nowner: ana\n---\n".to_vec(),
            &c,
        )
        .unwrap();
        let msg = resolve_message(Path::new("sales"), &c, &d, &kept, &[&other]);
        let (k, o) = (
            Path::new("sales").join(&kept).display().to_string(),
            Path::new("sales").join(&other).display().to_string(),
        );
        assert_eq!(
            msg,
            format!(
                "deal(acme): resolve, keep {k}\n\nRemoved {o}\n\nDeal: acme\nResolved: {k}\nOwner: ana <ana@example.com>\n"
            )
        );
    }
}
