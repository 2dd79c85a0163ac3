//! `deal assign DEAL OWNER [--reason TEXT]`: hand a deal to another owner,
//! and commit with `Owner` and `Previous-Owner` trailers.

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::CommitFlag;
use crate::cli::record::outcome;
use crate::cli::record::{Recording, owner_trailers, record, refuse_new_errors};
use crate::model::deal::Place;
use crate::model::fields::check_member;
use crate::store::pipeline::Pipeline;
use crate::yaml::edit::{self, Op};
use crate::yaml::emit::yaml_scalar;

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Slug, unique prefix, or path
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub deal: String,
    /// Team handle of the new owner
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::handles))]
    pub owner: String,
    /// Why (recorded as a Reason: trailer)
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub commit: CommitFlag,
}

pub fn run(ctx: &Ctx, a: AssignArgs) -> Result<i32, Error> {
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    let cfg = &p.cfg;
    let d = p.one(&a.deal)?;
    check_member(cfg, &a.owner, "OWNER")?;
    let old = d.fields.owner.clone().unwrap_or_default();
    if old == a.owner {
        if !ctx.quiet {
            println!("{} is owned by {} already; nothing to do", d.slug, a.owner);
        }
        return Ok(0);
    }
    let shown = crate::base::diag::display_path(&p.root.join(&d.rel));
    let text = edit::apply(&d.text, &[Op::set("owner", yaml_scalar(&a.owner))])
        .map_err(|e| Error::usage(format!("{shown}: {e}"), "edit the file by hand"))?;
    refuse_new_errors(cfg, &p.root, Some(d), &d.rel, &text, ctx.now)?;
    let mut trailers = vec![("Deal", d.slug.clone())];
    trailers.extend(owner_trailers(cfg, &old, &a.owner));
    if let Some(r) = a.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        trailers.push(("Reason", r.to_string()));
    }
    let done = record(Recording {
        root: &p.root,
        cfg,
        old_rel: Some(&d.rel),
        old_text: Some(&d.text),
        new_rel: &d.rel,
        new_text: &text,
        subject: format!(
            "deal({}): assign {} -> {}",
            d.slug,
            if old.is_empty() { "nobody" } else { &old },
            a.owner
        ),
        body: None,
        trailers,
        no_commit: a.commit.no_commit,
    })?;
    if !ctx.quiet {
        println!("Assigned {} to {}{}.", d.slug, a.owner, outcome(&done));
    }
    if let Place::Stage(i) = d.place
        && let Some(role) = &cfg.stages[i].owner_role
        && cfg
            .team
            .get(&a.owner)
            .is_some_and(|m| !m.roles.iter().any(|r| r == role))
    {
        eprintln!(
            "warning: {} owns a deal in {}, whose owner role is `{role}`, which {} does not have",
            a.owner, cfg.stages[i].id, a.owner
        );
    }
    Ok(0)
}
