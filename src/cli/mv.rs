//! `deal move DEAL STAGE`: move a deal to another stage folder, won or
//! lost, as the README's "Moves and commits" allows, and record it as one commit.

use std::path::PathBuf;

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::CommitFlag;
use crate::cli::record::forcer;
use crate::cli::record::outcome;
use crate::cli::record::{Recording, owner_trailers, record, refuse_new_errors};
use crate::model::config::Config;
use crate::model::deal::Place;
use crate::rules::criteria::{Evaluator, StageGap};
use crate::rules::transition::{self, Refusal, Request};
use crate::store::pipeline::Pipeline;
use crate::yaml::edit;

#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Slug, unique prefix, or path
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub deal: String,
    /// Target: a stage id, won or lost (or a stage folder name)
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::stages))]
    pub stage: String,
    /// New owner, for a handoff into a stage whose owner_role the owner lacks
    #[arg(long, add = ArgValueCandidates::new(crate::cli::complete::handles))]
    pub owner: Option<String>,
    /// Why: required for lost (from lost_reasons) and with --force
    #[arg(long, add = ArgValueCandidates::new(crate::cli::complete::lost_reasons))]
    pub reason: Option<String>,
    /// Move although exit criteria are not met, waiving them (needs --reason)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub commit: CommitFlag,
    /// A paragraph for the commit message, between the subject and the trailers
    #[arg(short, long = "message", value_name = "MSG")]
    pub message: Option<String>,
}

/// Parses a stage argument: a stage id, `won`, `lost`, or a stage folder.
pub fn parse_place(cfg: &Config, arg: &str) -> Result<Place, Error> {
    let a = arg.trim().trim_end_matches('/');
    if let Some(p) = Place::parse(a, cfg) {
        return Ok(p);
    }
    if let Some(i) = cfg.stages.iter().position(|s| s.dir == a) {
        return Ok(Place::Stage(i));
    }
    Err(Error::usage(format!("no stage `{arg}`"), cfg.stage_hint()))
}

fn checklist(cfg: &Config, gaps: &[StageGap]) -> String {
    let mut s = String::new();
    for g in gaps {
        for m in &g.missing {
            s.push_str(&format!("\n  ✖ {}: {}", cfg.stages[g.stage].id, m.label));
            if let Some(d) = &m.detail {
                s.push_str(&format!(" ({d})"));
            }
            s.push_str(&format!("\n      fix: {}", m.help));
        }
    }
    s
}

/// What a move did, for the CLI to print and `deal serve` to show.
pub enum Moved {
    /// The deal is in the target place already.
    Already {
        slug: String,
        place: String,
    },
    Done(Done),
}

/// A move made (or staged).
pub struct Done {
    pub slug: String,
    pub from: String,
    pub to: String,
    pub old_owner: String,
    pub new_owner: Option<String>,
    pub waived: Vec<String>,
    pub reopened: bool,
    pub recorded: crate::cli::record::Recorded,
    /// The deal file's new path.
    pub path: PathBuf,
}

impl Done {
    /// The first line `deal move` prints, e.g. `Moved acme: lead → qualified (commit abc1234).`
    pub fn line(&self) -> String {
        let mut line = format!("Moved {}: {} → {}", self.slug, self.from, self.to);
        if let Some(o) = &self.new_owner {
            line.push_str(&format!("; owner {} → {o}", self.old_owner));
        }
        if !self.waived.is_empty() {
            line.push_str(&format!("; waived {}", self.waived.join(", ")));
        }
        if self.reopened {
            line.push_str("; reopened");
        }
        format!("{line}{}.", outcome(&self.recorded))
    }
}

pub fn run(ctx: &Ctx, a: MoveArgs) -> Result<i32, Error> {
    let moved = move_deal(ctx, &a, |_| Ok(()))?;
    if !ctx.quiet {
        match moved {
            Moved::Already { slug, place } => {
                println!("{slug} is in {place} already; nothing to do")
            }
            Moved::Done(done) => {
                println!("{}", done.line());
                println!("  {}", crate::base::diag::display_path(&done.path));
            }
        }
    }
    Ok(0)
}

/// The one move: open the deal, let `guard` refuse it as read (`deal
/// serve`'s "changed since you opened it"), plan it, edit losslessly, refuse
/// new errors, and record one commit. The caller holds the write lock.
pub fn move_deal(
    ctx: &Ctx,
    a: &MoveArgs,
    guard: impl FnOnce(&crate::model::deal::Deal) -> Result<(), Error>,
) -> Result<Moved, Error> {
    if !a.commit.no_commit {
        crate::store::repo::prefetch_vars(&ctx.start);
    }
    crate::store::repo::cache_big_trees();
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    let cfg = &p.cfg;
    let d = p.one(&a.deal)?;
    guard(d)?;
    let to = parse_place(cfg, &a.stage)?;
    let ev = Evaluator::worktree(cfg, &p.root);
    // Who forces a move is recorded (`waived.<stage>.by`, `Forced-By:`):
    // the git author this commit will carry, by team handle where the
    // email is a member's.
    let by = a.force.then(|| forcer(&p.root, cfg)).flatten();
    let req = Request {
        by: by.as_deref(),
        to,
        owner: a.owner.as_deref(),
        reason: a.reason.as_deref(),
        force: a.force,
    };
    let plan = match transition::plan(cfg, &ev, d, &req, ctx.now) {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            return Ok(Moved::Already {
                slug: d.slug.clone(),
                place: to.id(cfg).to_string(),
            });
        }
        Err(Refusal::Usage(e)) => return Err(e),
        Err(Refusal::Criteria(gaps)) => {
            let n: usize = gaps.iter().map(|g| g.missing.len()).sum();
            return Err(Error::Refused {
                message: format!(
                    "{} cannot move from {} to {}: {n} exit criteri{} not met{}",
                    d.slug,
                    d.place.id(cfg),
                    to.id(cfg),
                    if n == 1 { "on is" } else { "a are" },
                    checklist(cfg, &gaps)
                ),
                help: format!(
                    "meet them, or pass --force --reason \"…\" to waive them (recorded as waived.<stage> in {})",
                    d.rel.display()
                ),
            });
        }
    };
    let shown = crate::base::diag::display_path(&p.root.join(&d.rel));
    let text = edit::apply(&d.text, &plan.ops).map_err(|e| {
        Error::usage(
            format!("{shown}: {e}"),
            "edit the file by hand, then run the move again",
        )
    })?;
    let file = d.rel.file_name().map(PathBuf::from).unwrap_or_default();
    let new_rel = PathBuf::from(&cfg.deals_dir).join(to.dir(cfg)).join(file);
    refuse_new_errors(cfg, &p.root, Some(d), &new_rel, &text, ctx.now)?;

    let old_owner = d.fields.owner.clone().unwrap_or_default();
    let owner = plan.new_owner.clone().unwrap_or_else(|| old_owner.clone());
    let mut trailers = vec![
        ("Deal", d.slug.clone()),
        ("From-Stage", plan.from.id(cfg).to_string()),
        ("To-Stage", plan.to.id(cfg).to_string()),
    ];
    trailers.extend(owner_trailers(cfg, &old_owner, &owner));
    let reason = a.reason.clone().unwrap_or_default();
    if !plan.waived.is_empty() {
        trailers.push(("Forced", reason.clone()));
        if let Some(b) = &by {
            trailers.push(("Forced-By", b.clone()));
        }
    }
    if let Some(r) = &plan.lost_reason {
        trailers.push(("Lost-Reason", r.clone()));
    }
    if plan.waived.is_empty() && plan.lost_reason.is_none() && !reason.trim().is_empty() {
        trailers.push(("Reason", reason.clone()));
    }
    let recorded = record(Recording {
        root: &p.root,
        cfg,
        old_rel: Some(&d.rel),
        old_text: Some(&d.text),
        new_rel: &new_rel,
        new_text: &text,
        subject: format!(
            "deal({}): {} -> {}",
            d.slug,
            plan.from.id(cfg),
            plan.to.id(cfg)
        ),
        body: a.message.clone(),
        trailers,
        no_commit: a.commit.no_commit,
    })?;
    Ok(Moved::Done(Done {
        slug: d.slug.clone(),
        from: plan.from.id(cfg).to_string(),
        to: plan.to.id(cfg).to_string(),
        old_owner,
        new_owner: plan.new_owner.clone(),
        waived: plan.waived.clone(),
        reopened: plan.reopened,
        recorded,
        path: p.root.join(&new_rel),
    }))
}
