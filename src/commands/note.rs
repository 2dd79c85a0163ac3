//! `deal note DEAL KIND [--print]`: append a scaffolded section from a template.

use crate::cli::NoteArgs;
use crate::commands::Ctx;
use crate::edit;
use crate::error::Error;
use crate::notes::{NoteContext, NoteKind, Templates};
use crate::pipeline::Pipeline;
use crate::time::{format_date, format_ts};

/// The front-matter signals a note adds when they are missing.
pub fn signal_keys(kind: NoteKind) -> &'static [&'static str] {
    match kind {
        NoteKind::Qualification | NoteKind::Call | NoteKind::Objections => &[],
        NoteKind::Problem => &["problem.confirmed_by", "problem.confirmed_on"],
        NoteKind::Proposal => &["proposal.reviewed_on", "next_step.action", "next_step.due"],
        NoteKind::Handoff => &["delivery_owner", "kickoff_on"],
    }
}

pub fn run(ctx: &Ctx, a: NoteArgs) -> Result<i32, Error> {
    let p = Pipeline::open_for(&ctx.start, &a.deal)?;
    let cfg = &p.cfg;
    let d = p.resolve(&a.deal)?;
    let templates = Templates::new(&p.root);
    let values = NoteContext {
        slug: d.slug.clone(),
        title: d.fields.title.clone().unwrap_or_default(),
        company: d.fields.company.clone().unwrap_or_default(),
        owner: d.fields.owner.clone().unwrap_or_default(),
        today: format_date(ctx.now),
        now: format_ts(ctx.now),
    };
    let section = templates.render(&a.kind.template(cfg.qualification), &values)?;
    let keys = signal_keys(a.kind);
    if a.print {
        print!("{section}");
        if !keys.is_empty() && !ctx.quiet {
            eprintln!("front-matter keys added when missing: {}", keys.join(", "));
        }
        return Ok(0);
    }
    let shown = crate::diag::display_path(&p.root.join(&d.rel));
    if a.kind != NoteKind::Call {
        let o = d.outline();
        if let Some(&i) = o.find(a.kind.heading()).first() {
            let line = d.split.body_line + d.body()[..o.headings[i].at].matches('\n').count();
            if !ctx.quiet {
                println!(
                    "{shown}:{line} already has a \"{}\" section; nothing changed",
                    o.headings[i].text
                );
            }
            return Ok(0);
        }
    }
    let refuse = |e: edit::EditError| {
        Error::usage(
            format!("{shown}: {e}"),
            "edit the file by hand, then run `deal check`",
        )
    };
    let (mut text, mut added) = edit::add_missing_keys(&d.text, keys).map_err(refuse)?;
    if a.kind == NoteKind::Objections && !d.fm.contains_key("objections") {
        text = edit::set_top_scalar(&text, "objections", "[]").map_err(refuse)?;
        added.push("objections".into());
    }
    if a.kind == NoteKind::Call {
        text = edit::set_top_scalar(&text, "last_activity", &format_ts(ctx.now)).map_err(refuse)?;
    }
    let text = edit::append_body(&text, &section);
    crate::worktree::write_atomic(&p.root.join(&d.rel), text.as_bytes())?;
    if !ctx.quiet {
        let heading = section
            .lines()
            .find(|l| l.starts_with('#'))
            .unwrap_or("")
            .trim_start_matches('#')
            .trim();
        println!("Added \"{heading}\" to {shown}.");
        if !added.is_empty() {
            println!("Front-matter keys added: {}.", added.join(", "));
        }
        if a.kind == NoteKind::Call {
            println!("last_activity set to {}.", format_ts(ctx.now));
        }
        println!(
            "Each heading has a prompt in an HTML comment; write under each, then `deal check`."
        );
    }
    Ok(0)
}
