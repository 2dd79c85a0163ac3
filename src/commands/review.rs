//! `deal review BASE[..HEAD]`: the pull request's deal changes, judged by
//! the base's rules, as Markdown for a PR comment or as JSON.
//!
//! Its cost follows the pull request: one tree diff of the deals folder
//! between the merge-base and HEAD (pruned by subtree id), the blobs of the
//! slugs it touched, and the names of HEAD's other files.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use crate::cli::{ReviewArgs, ReviewFormat};
use crate::commands::Ctx;
use crate::criteria::Evaluator;
use crate::error::Error;
use crate::history::{self, TreeFile};
use crate::pipeline::{Content, Entry, MAX_DEAL_BYTES, Pipeline, find_root, slug_of};
use crate::repo::Repo;
use crate::review::{self, Sides, slug_key};

/// A deal file name: `.md` (any case) under the deals folder, not hidden.
fn deal_name(path: &str, dir_slash: &str) -> bool {
    path.starts_with(dir_slash)
        && path.to_ascii_lowercase().ends_with(".md")
        && !path[dir_slash.len()..]
            .split('/')
            .any(|s| s.starts_with('.'))
}

pub fn run(ctx: &Ctx, a: ReviewArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let repo = Repo::require(&root, "deal review compares commits")?;
    let (base, head) = match a
        .range
        .split_once("...")
        .or_else(|| a.range.split_once(".."))
    {
        Some((b, h)) => (b, if h.is_empty() { "HEAD" } else { h }),
        None => (a.range.as_str(), "HEAD"),
    };
    let b = repo.commit_of(base)?;
    let h = repo.commit_of(head)?;
    let mb = repo.merge_base(b, h)?;
    let git = repo.git();
    let base_cfg = Pipeline::config_at(&repo, &root, mb)?;
    let head_cfg = Pipeline::config_at(&repo, &root, h).map_err(|e| e.to_string());
    let base_root = repo.tree_at(mb, &root)?;
    let head_root = repo.tree_at(h, &root)?;
    let dd = base_cfg.deals_dir.trim_end_matches('/').to_string();
    let dir_slash = format!("{dd}/");
    let changed = history::diff(
        git,
        history::subtree(git, &base_root, &dd).as_ref(),
        history::subtree(git, &head_root, &dd).as_ref(),
    );
    // Every file at HEAD: names only, for duplicate slugs and `file` criteria.
    let head_files = history::list(&head_root);
    let mut by_slug: BTreeMap<String, Vec<&TreeFile>> = BTreeMap::new();
    for f in &head_files {
        if deal_name(&f.path, &dir_slash) {
            by_slug
                .entry(slug_key(&slug_of(std::path::Path::new(&f.path))))
                .or_default()
                .push(f);
        }
    }
    let duplicates: Vec<(String, Vec<PathBuf>)> = by_slug
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| {
            (
                k.clone(),
                v.iter().map(|f| PathBuf::from(&f.path)).collect(),
            )
        })
        .collect();
    // The slugs the pull request touched, and their files on each side.
    let touched: HashSet<String> = changed
        .iter()
        .map(|c| format!("{dir_slash}{}", c.path))
        .filter(|p| deal_name(p, &dir_slash))
        .map(|p| slug_key(&slug_of(std::path::Path::new(&p))))
        .collect();
    let entry = |f: &TreeFile, path: String| Entry {
        rel: PathBuf::from(path),
        content: if f.is_symlink() {
            Content::Symlink
        } else {
            repo.blob(f.id, MAX_DEAL_BYTES as usize)
        },
    };
    let changed_paths: HashSet<String> = changed
        .iter()
        .map(|c| format!("{dir_slash}{}", c.path))
        .collect();
    let mut head_entries = Vec::new();
    let mut base_entries = Vec::new();
    for key in &touched {
        for f in by_slug.get(key).into_iter().flatten() {
            head_entries.push(entry(f, f.path.clone()));
            if !changed_paths.contains(&f.path) {
                // Unchanged: the same file is at the merge-base.
                base_entries.push(entry(f, f.path.clone()));
            }
        }
    }
    for c in &changed {
        let path = format!("{dir_slash}{}", c.path);
        if let Some(old) = &c.old
            && deal_name(&path, &dir_slash)
        {
            base_entries.push(entry(old, path));
        }
    }
    let base_p = Pipeline::from_entries(root.clone(), base_cfg.clone(), base_entries);
    let head_p = Pipeline::from_entries(root.clone(), base_cfg.clone(), head_entries);
    let files: HashSet<String> = head_files.into_iter().map(|f| f.path).collect();
    let ev = Evaluator::with_files(&base_cfg, files);
    let commits = history::range(git, h, mb);
    let r = review::review(
        Sides {
            base_cfg: &base_cfg,
            head_cfg: head_cfg.as_ref().map_err(Clone::clone),
            base: &base_p.deals,
            head: &head_p.deals,
            head_problems: &head_p.problems,
            duplicates: &duplicates,
            base_id: mb.to_string(),
            head_id: h.to_string(),
        },
        &ev,
        &commits,
    );
    match a.format {
        ReviewFormat::Markdown => print!("{}", review::markdown(&r)),
        ReviewFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&r).unwrap_or_else(|_| "{}".into())
        ),
    }
    Ok(if r.violations > 0 { 1 } else { 0 })
}
