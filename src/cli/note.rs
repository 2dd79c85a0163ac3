//! `deal note DEAL KIND [--print]`: append a scaffolded section from a template.

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::base::time::{format_date, format_ts};
use crate::cli::ctx::Ctx;
use crate::model::deal::Deal;
use crate::model::notes::{NoteContext, NoteKind, Templates};
use crate::store::pipeline::Pipeline;
use crate::yaml::edit;

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// Slug, unique prefix, or path
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub deal: String,
    /// Which note
    #[arg(value_enum)]
    pub kind: crate::model::notes::NoteKind,
    /// Print the scaffold without writing anything
    #[arg(long)]
    pub print: bool,
}

/// The front-matter signals a note adds when they are missing.
pub fn signal_keys(kind: NoteKind) -> &'static [&'static str] {
    match kind {
        NoteKind::Qualification | NoteKind::Call | NoteKind::Objections => &[],
        NoteKind::Problem => &["problem.confirmed_by", "problem.confirmed_on"],
        NoteKind::Proposal => &["proposal.reviewed_on", "next_step.action", "next_step.due"],
        NoteKind::Handoff => &["delivery_owner", "kickoff_on"],
    }
}

/// The section a note of `kind` adds to `d`, from the pipeline's templates.
fn section_for(ctx: &Ctx, p: &Pipeline, d: &Deal, kind: NoteKind) -> Result<String, Error> {
    let templates = Templates::new(&p.root);
    let values = NoteContext {
        slug: d.slug.clone(),
        title: d.fields.title.clone().unwrap_or_default(),
        company: d.fields.company.clone().unwrap_or_default(),
        owner: d.fields.owner.clone().unwrap_or_default(),
        today: format_date(ctx.now),
        now: format_ts(ctx.now),
    };
    Ok(templates.render(&kind.template(p.cfg.qualification), &values)?)
}

pub fn run(ctx: &Ctx, a: NoteArgs) -> Result<i32, Error> {
    if a.print {
        let p = Pipeline::open_for(&ctx.start, &a.deal)?;
        let d = p.resolve(&a.deal)?;
        let section = section_for(ctx, &p, d, a.kind)?;
        let keys = signal_keys(a.kind);
        print!("{section}");
        if !keys.is_empty() && !ctx.quiet {
            eprintln!("front-matter keys added when missing: {}", keys.join(", "));
        }
        return Ok(0);
    }
    let lines = scaffold(ctx, &a.deal, a.kind, |_| Ok(()))?;
    if !ctx.quiet {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(0)
}

/// Appends the note's section to the deal (and the front-matter keys it
/// signals, when missing), unless the section is there already; `guard`
/// may refuse the deal as read (`deal serve`'s "changed since you opened
/// it"). Returns the lines `deal note` prints.
pub fn scaffold(
    ctx: &Ctx,
    deal: &str,
    kind: NoteKind,
    guard: impl FnOnce(&Deal) -> Result<(), Error>,
) -> Result<Vec<String>, Error> {
    let p = Pipeline::open_for(&ctx.start, deal)?;
    let d = p.resolve(deal)?;
    guard(d)?;
    let section = section_for(ctx, &p, d, kind)?;
    let keys = signal_keys(kind);
    let shown = crate::base::diag::display_path(&p.root.join(&d.rel));
    if kind != NoteKind::Call {
        let o = d.outline();
        if let Some(&i) = o.find(kind.heading()).first() {
            let line = d.split.body_line + d.body()[..o.headings[i].at].matches('\n').count();
            return Ok(vec![format!(
                "{shown}:{line} already has a \"{}\" section; nothing changed",
                o.headings[i].text
            )]);
        }
    }
    let refuse = |e: edit::EditError| {
        Error::usage(
            format!("{shown}: {e}"),
            "edit the file by hand, then run `deal check`",
        )
    };
    let (mut text, mut added) = edit::add_missing_keys(&d.text, keys).map_err(refuse)?;
    if kind == NoteKind::Objections && !d.fm.contains_key("objections") {
        text = edit::set_top_scalar(&text, "objections", "[]").map_err(refuse)?;
        added.push("objections".into());
    }
    if kind == NoteKind::Call {
        text = edit::set_top_scalar(&text, "last_activity", &format_ts(ctx.now)).map_err(refuse)?;
    }
    let text = edit::append_body(&text, &section);
    crate::store::worktree::write_atomic(&p.root.join(&d.rel), text.as_bytes())?;
    let heading = section
        .lines()
        .find(|l| l.starts_with('#'))
        .unwrap_or("")
        .trim_start_matches('#')
        .trim();
    let mut lines = vec![format!("Added \"{heading}\" to {shown}.")];
    if !added.is_empty() {
        lines.push(format!("Front-matter keys added: {}.", added.join(", ")));
    }
    if kind == NoteKind::Call {
        lines.push(format!("last_activity set to {}.", format_ts(ctx.now)));
    }
    lines.push(
        "Each heading has a prompt in an HTML comment; write under each, then `deal check`.".into(),
    );
    Ok(lines)
}
