//! `deal set DEAL KEY=VALUE...`: update front-matter fields, nested paths
//! included, with a lossless edit, and commit.

use crate::cli::SetArgs;
use crate::commands::Ctx;
use crate::commands::record::{Recording, owner_trailers, record, refuse_new_errors};

use crate::deal::Deal;
use crate::edit::{self, Op};
use crate::error::Error;
use crate::pipeline::Pipeline;

/// Splits `KEY=VALUE` and checks the key's form.
pub fn parse_assignment(arg: &str) -> Result<(String, String), Error> {
    let Some((k, v)) = arg.split_once('=') else {
        return Err(Error::usage(
            format!("`{arg}` is not KEY=VALUE"),
            "write e.g. `next_step.due=2026-12-01` or `value=48000`",
        ));
    };
    let k = k.trim();
    let ok = !k.is_empty()
        && k.split('.').enumerate().all(|(i, seg)| {
            (i > 0 && seg == edit::APPEND)
                || (!seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        });
    if !ok {
        return Err(Error::usage(
            format!("`{k}` is not a front-matter key path"),
            "keys are letters, digits, `_` and `-`, nested with dots: `contact.email`, `objections.0.resolved`, `objections.+.objection` (see `deal set --help`)",
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

pub use crate::fields::typed_value;

/// Resolves DEAL to one parsed deal, refusing a slug that two files share.
pub fn one_deal<'a>(p: &'a Pipeline, query: &str) -> Result<&'a Deal, Error> {
    p.one(query)
}

pub fn run(ctx: &Ctx, a: SetArgs) -> Result<i32, Error> {
    write_deal(ctx, &a.deal, a.commit.no_commit, |p, d| {
        assignments(p, d, &a.assignments, ctx.now)
    })
}

/// The change `deal set DEAL KEY=VALUE...` plans (also `deal serve`'s deal form).
pub fn assignments(
    p: &Pipeline,
    d: &Deal,
    args: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Change, Error> {
    let mut ops = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for arg in args {
        let (k, v) = parse_assignment(arg)?;
        let yaml = typed_value(&p.cfg, &k, &v, now)?;
        keys.retain(|x| *x != k);
        keys.push(k.clone());
        ops.push(Op::set(&k, yaml));
    }
    Ok(Change {
        ops,
        subject: format!("deal({}): set {}", d.slug, keys.join(", ")),
        trailers: Vec::new(),
        done: format!("Set {} on {}", keys.join(", "), d.slug),
        unchanged: format!("{} already has those values; nothing changed", d.slug),
    })
}

/// One deal's front-matter change, as a write command plans it.
pub struct Change {
    pub ops: Vec<Op>,
    /// The commit's subject line.
    pub subject: String,
    /// Trailers after `Deal:` (and the owner trailers when the owner changes).
    pub trailers: Vec<(&'static str, String)>,
    /// Printed when done, before ` (commit …)`.
    pub done: String,
    /// Printed when the edit changes nothing (and nothing is committed).
    pub unchanged: String,
}

/// The one path every front-matter write to one deal takes (`deal set`,
/// `deal objection`): open the pipeline, resolve the deal, plan the change
/// from it, apply it as a lossless edit, refuse new errors, and record one
/// commit (or stage it, with `no_commit`).
pub fn write_deal(
    ctx: &Ctx,
    query: &str,
    no_commit: bool,
    plan: impl FnOnce(&Pipeline, &Deal) -> Result<Change, Error>,
) -> Result<i32, Error> {
    let written = write_deal_with(ctx, query, no_commit, plan)?;
    if !ctx.quiet {
        println!("{}", written.message);
    }
    Ok(0)
}

/// What a front-matter write did: the line `deal set` prints, and the
/// commit (`None` when the edit changed nothing).
pub struct Written {
    pub message: String,
    pub recorded: Option<crate::commands::record::Recorded>,
}

/// [`write_deal`] without the printing, for `deal serve`.
pub fn write_deal_with(
    ctx: &Ctx,
    query: &str,
    no_commit: bool,
    plan: impl FnOnce(&Pipeline, &Deal) -> Result<Change, Error>,
) -> Result<Written, Error> {
    if !no_commit {
        crate::repo::prefetch_vars(&ctx.start);
    }
    crate::repo::cache_big_trees();
    let p = Pipeline::open_for(&ctx.start, query)?;
    let cfg = &p.cfg;
    let d = one_deal(&p, query)?;
    let shown = crate::diag::display_path(&p.root.join(&d.rel));
    ctx.trace_pipeline(&p, "work tree");
    let change = plan(&p, d)?;
    ctx.trace(|| {
        let keys: Vec<String> = change
            .ops
            .iter()
            .map(|op| match op {
                Op::Set(path, _) | Op::Remove(path) => path.join("."),
            })
            .collect();
        format!("editing {shown}: {}", keys.join(", "))
    });
    let text = edit::apply(&d.text, &change.ops).map_err(|e| {
        Error::usage(
            format!("{shown}: {e}"),
            "edit the file by hand, then run `deal check`",
        )
    })?;
    if text == d.text {
        return Ok(Written {
            message: change.unchanged,
            recorded: None,
        });
    }
    refuse_new_errors(cfg, &p.root, Some(d), &d.rel, &text, ctx.now)?;
    let old_owner = d.fields.owner.clone().unwrap_or_default();
    let new_owner = edited_owner(&text).unwrap_or_else(|| old_owner.clone());
    let mut trailers = vec![("Deal", d.slug.clone())];
    trailers.extend(change.trailers);
    trailers.extend(owner_trailers(cfg, &old_owner, &new_owner));
    let done = record(Recording {
        root: &p.root,
        cfg,
        old_rel: Some(&d.rel),
        old_text: Some(&d.text),
        new_rel: &d.rel,
        new_text: &text,
        subject: change.subject,
        body: None,
        trailers,
        no_commit,
    })?;
    Ok(Written {
        message: format!("{}{}.", change.done, outcome(&done)),
        recorded: Some(done),
    })
}

/// The owner written in a deal's text, if it parses.
pub fn edited_owner(text: &str) -> Option<String> {
    let m = edit::mapping_of(text).ok()?;
    crate::deal::lookup(&m, "owner").and_then(crate::deal::scalar_text)
}

/// ` (commit abc1234)`, ` (staged, not committed)` or ` (not in git)`.
pub fn outcome(r: &crate::commands::record::Recorded) -> String {
    match (&r.commit, r.staged) {
        (Some(c), _) => format!(" (commit {c})"),
        (None, true) => " (staged, not committed)".into(),
        (None, false) => " (written; not a git repository)".into(),
    }
}
