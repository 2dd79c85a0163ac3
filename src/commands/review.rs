//! `deal review BASE[..HEAD]`: the pull request's deal changes, judged by
//! the base's rules, as Markdown for a PR comment or as JSON.

use crate::cli::{ReviewArgs, ReviewFormat};
use crate::commands::Ctx;
use crate::criteria::Evaluator;
use crate::error::Error;
use crate::pipeline::{Pipeline, find_root};
use crate::repo::Repo;
use crate::review::{self, Sides};

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
    let base_cfg = Pipeline::config_at(&repo, &root, mb)?;
    let head_cfg = Pipeline::config_at(&repo, &root, h)?;
    let (base_p, _) = Pipeline::at_commit_with(&repo, &root, mb, base_cfg.clone())?;
    let (head_p, files) = Pipeline::at_commit_with(&repo, &root, h, base_cfg.clone())?;
    head_p.warn_unreadable();
    let ev = Evaluator::with_files(&base_cfg, files);
    let commits = repo.commits(h, Some(mb), None)?;
    let r = review::review(
        Sides {
            base_cfg: &base_cfg,
            head_cfg: &head_cfg,
            base: &base_p.deals,
            head: &head_p.deals,
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
