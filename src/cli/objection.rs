//! `deal objection add|resolve|list`: the negotiation stage's named
//! objections. Writes go through `set::write_deal`, the path `deal set`
//! takes: one lossless edit, one commit.

use clap::{Args, Subcommand};
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::flags::CommitFlag;
use crate::cli::set::{Change, write_deal};
use crate::model::objection::{self, NotFound, Objection};
use crate::store::pipeline::Pipeline;
use crate::yaml::edit::{APPEND, Op};
use crate::yaml::emit::yaml_scalar;

#[derive(Debug, Args)]
pub struct ObjectionArgs {
    #[command(subcommand)]
    pub action: ObjectionAction,
}

#[derive(Debug, Subcommand)]
pub enum ObjectionAction {
    /// Add a named objection (resolved: false), and commit
    Add {
        /// Slug, unique prefix, or path
        #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
        deal: String,
        /// The objection, in the prospect's words
        text: String,
        #[command(flatten)]
        commit: CommitFlag,
    },
    /// Mark an objection resolved, with the response that settled it, and commit
    Resolve {
        /// Slug, unique prefix, or path
        #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
        deal: String,
        /// Its number in `deal objection list` (from 1), or its text (a unique piece is enough)
        #[arg(value_name = "N|TEXT")]
        which: String,
        /// How it was answered; kept as `response`
        #[arg(long, value_name = "TEXT")]
        response: Option<String>,
        #[command(flatten)]
        commit: CommitFlag,
    },
    /// List the objections, numbered from 1
    List {
        /// Slug, unique prefix, or path
        #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
        deal: String,
    },
}

pub fn run(ctx: &Ctx, a: ObjectionArgs) -> Result<i32, Error> {
    match a.action {
        ObjectionAction::Add { deal, text, commit } => add(ctx, &deal, &text, commit.no_commit),
        ObjectionAction::Resolve {
            deal,
            which,
            response,
            commit,
        } => resolve(ctx, &deal, &which, response.as_deref(), commit.no_commit),
        ObjectionAction::List { deal } => list(ctx, &deal),
    }
}

/// A one-line text: objections and responses are single YAML scalars.
pub fn one_line(what: &str, text: &str) -> Result<String, Error> {
    let t = crate::base::diag::one_line(text);
    if t.trim().is_empty() {
        return Err(Error::usage(
            format!("the {what} is empty"),
            format!("give the {what} as text, in quotes when it has spaces"),
        ));
    }
    Ok(t.trim().to_string())
}

fn add(ctx: &Ctx, deal: &str, text: &str, no_commit: bool) -> Result<i32, Error> {
    let text = one_line("objection", text)?;
    write_deal(ctx, deal, no_commit, |_, d| Ok(add_change(d, &text)))
}

/// The change `deal objection add` plans (also `deal serve`'s form), for a
/// one-line text.
pub fn add_change(d: &crate::model::deal::Deal, text: &str) -> Change {
    let n = objection::list(&d.fm).len() + 1;
    Change {
        ops: vec![
            Op::set(&format!("objections.{APPEND}.objection"), yaml_scalar(text)),
            Op::set("objections.-1.resolved", "false"),
        ],
        subject: format!("deal({}): add objection {n}", d.slug),
        trailers: vec![("Objection", text.to_string())],
        done: format!("Added objection {n} to {}: {text}", d.slug),
        guard: None,
        unchanged: String::new(),
    }
}

fn resolve(
    ctx: &Ctx,
    deal: &str,
    which: &str,
    response: Option<&str>,
    no_commit: bool,
) -> Result<i32, Error> {
    let response = response.map(|r| one_line("response", r)).transpose()?;
    write_deal(ctx, deal, no_commit, |_, d| {
        resolve_change(d, which, response.as_deref())
    })
}

/// The change `deal objection resolve` plans (also `deal serve`'s form).
pub fn resolve_change(
    d: &crate::model::deal::Deal,
    which: &str,
    response: Option<&str>,
) -> Result<Change, Error> {
    let items = objection::list(&d.fm);
    let i = find(&items, which, &d.slug)?;
    let o = &items[i];
    let n = i + 1;
    let mut ops = vec![Op::set(&format!("objections.{i}.resolved"), "true")];
    if let Some(r) = response {
        ops.push(Op::set(&format!("objections.{i}.response"), yaml_scalar(r)));
    }
    Ok(Change {
        ops,
        subject: format!("deal({}): resolve objection {n}", d.slug),
        trailers: vec![("Objection", o.objection.clone())],
        done: format!("Resolved objection {n} of {}: {}", d.slug, o.objection),
        guard: None,
        unchanged: format!(
            "Objection {n} of {} is resolved already; nothing changed",
            d.slug
        ),
    })
}

/// The objection `which` names, or a usage error that lists them.
fn find(items: &[Objection], which: &str, slug: &str) -> Result<usize, Error> {
    let see = format!("`deal objection list {slug}` numbers them");
    objection::find(items, which).map_err(|e| match e {
        NotFound::Number { n, len: 0 } => Error::usage(
            format!("{slug} has no objections, so there is no number {n}"),
            format!("add one: `deal objection add {slug} \"…\"`"),
        ),
        NotFound::Number { n, len } => {
            Error::usage(format!("{slug} has objections 1 to {len}, not {n}"), see)
        }
        NotFound::Text => Error::usage(format!("no objection of {slug} says \"{which}\""), see),
        NotFound::Ambiguous(ns) => Error::usage(
            format!(
                "\"{which}\" is in objections {} of {slug}",
                ns.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "give the number instead",
        ),
    })
}

fn list(ctx: &Ctx, deal: &str) -> Result<i32, Error> {
    let p = Pipeline::open_for(&ctx.start, deal)?;
    let d = p.one(deal)?;
    let items = objection::list(&d.fm);
    let s = &ctx.style;
    if items.is_empty() {
        println!(
            "{} has no named objections. Add one: `deal objection add {} \"…\"`",
            d.slug, d.slug
        );
        return Ok(0);
    }
    for (i, o) in items.iter().enumerate() {
        let mark = if o.resolved {
            s.green("✔ resolved")
        } else {
            s.red("✖ open    ")
        };
        println!("{:>3}. {mark}  {}", i + 1, o.objection);
        if let Some(r) = &o.response {
            println!("{:>17}response: {r}", "");
        }
    }
    let open = items.iter().filter(|o| !o.resolved).count();
    if open > 0 && !ctx.quiet {
        println!(
            "{open} open. Resolve one: `deal objection resolve {} N --response \"…\"`",
            d.slug
        );
    }
    Ok(0)
}
