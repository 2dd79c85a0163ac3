//! `deal set DEAL KEY=VALUE...`: update front-matter fields, nested paths
//! included, with a lossless edit, and commit.

use clap::Args;
use clap_complete::ArgValueCandidates;

use crate::cli::ctx::Ctx;
use crate::cli::flags::{CommitFlag, ForceArgs};
use crate::cli::record::outcome;
use crate::cli::record::{Recording, owner_trailers, record, refuse_new_errors};

use crate::base::error::Error;
use crate::model::deal::Deal;
use crate::store::pipeline::Pipeline;
use crate::yaml::edit::{self, Op};

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Slug, unique prefix, or path
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub deal: String,
    /// Fields to set: KEY=VALUE, KEY a dotted path (next_step.due=2026-12-01); KEY= sets null
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub assignments: Vec<String>,
    #[command(flatten)]
    pub force: ForceArgs,
    /// Add a field of your own although its name is within two edits of a known field
    #[arg(long)]
    pub new_field: bool,
    #[command(flatten)]
    pub commit: CommitFlag,
}

#[derive(Debug, Args)]
pub struct UnsetArgs {
    /// Slug, unique prefix, or path
    #[arg(add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub deal: String,
    /// Keys to remove, dotted paths (next_step, contact.phone, objections.0)
    #[arg(required = true, value_name = "KEY")]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub force: ForceArgs,
    #[command(flatten)]
    pub commit: CommitFlag,
}

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

use crate::model::fields::typed_value;

pub fn run(ctx: &Ctx, a: SetArgs) -> Result<i32, Error> {
    write_deal(ctx, &a.deal, a.commit.no_commit, |p, d| {
        let guard = Guard {
            force: a.force.force,
            reason: a.force.reason.clone(),
        };
        assignments(p, d, &a.assignments, a.new_field, guard, ctx.now)
    })
}

/// The change `deal set DEAL KEY=VALUE...` plans (also `deal serve`'s deal
/// form): each key checked (`stage` and near misses of known fields
/// refused unless `new_field`; `KEY=` on a block points to `deal unset`),
/// each value typed, under `guard` for the stages the deal has left.
pub fn assignments(
    p: &Pipeline,
    d: &Deal,
    args: &[String],
    new_field: bool,
    guard: Guard,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Change, Error> {
    let mut ops = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for arg in args {
        let (k, v) = parse_assignment(arg)?;
        refuse_odd_key(&k, &d.slug, Some(&d.fm), new_field)?;
        if k == "waived" || k.starts_with("waived.") {
            return Err(Error::usage(
                format!("`{k}`: a waiver is written by a forced change, not set by hand"),
                format!(
                    "waive a stage with `deal move {} STAGE --force --reason \"…\"` (or `deal set … --force --reason` when an edit breaks a stage it has left); `deal unset {} {k}` removes one when its criteria hold again",
                    d.slug, d.slug
                ),
            ));
        }
        if v.trim().is_empty()
            && let Some(serde_yaml::Value::Mapping(_) | serde_yaml::Value::Sequence(_)) =
                crate::yaml::mapping::lookup(&d.fm, &k)
        {
            return Err(Error::usage(
                format!(
                    "`{k}=` would replace all of `{k}` (it holds a block of fields or a list) with null; nothing was changed"
                ),
                format!("to remove it, run `deal unset {} {k}`", d.slug),
            ));
        }
        let yaml = typed_value(&p.cfg, &k, &v, now)?;
        if k == "value"
            && let Some(named) = crate::model::fields::amount_currency(&v)
        {
            // The deal's currency after this change: the one these
            // assignments set, else its own, else the pipeline's.
            let set_too = args
                .iter()
                .filter_map(|a| parse_assignment(a).ok())
                .filter(|(k, _)| k == "currency")
                .map(|(_, c)| c)
                .next_back();
            let theirs = set_too
                .or_else(|| d.fields.currency.clone())
                .unwrap_or_else(|| p.cfg.currency.clone());
            if !named.agrees(&theirs) {
                let code = named.code_in(&theirs);
                return Err(Error::usage(
                    format!(
                        "`value={}` is an amount in {code} but {} is in {}; nothing was changed",
                        v.trim(),
                        d.slug,
                        theirs.trim()
                    ),
                    format!(
                        "to change its currency too, run `deal set {} value={} currency={code}`",
                        d.slug,
                        crate::base::money::parse(&v, false)
                            .map(|(n, _)| n.to_string())
                            .unwrap_or_default()
                    ),
                ));
            }
        }
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
        guard: Some(guard),
    })
}

/// How an edit treats the stages the deal has left (docs/reference.md,
/// "deal set"): a change under which one of their criteria that held in
/// the deal as committed at HEAD fails is refused, unless forced with a
/// reason, which records the waiver as a forced move does.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub force: bool,
    pub reason: Option<String>,
}

/// The deal as committed at HEAD (the working tree's file when it is not
/// in git, or not committed).
fn committed(p: &Pipeline, d: &Deal) -> Option<Deal> {
    let repo = crate::store::repo::Repo::open(&p.root)?;
    let head = repo.git().head().ok()?.peel_to_commit().ok()?.id();
    let tree = repo.tree_at(head, &p.root).ok()?;
    let bytes = repo.blob_in(&tree, &d.rel.to_string_lossy())?;
    Deal::parse(d.slug.clone(), d.rel.clone(), d.place, bytes, &p.cfg).ok()
}

/// The criteria (stage index, label) of stages the deal has left, that
/// "When criteria apply" enforces, which held in `before` and fail in
/// `after`. A criterion that failed already, or a waived stage, is none.
pub fn broken_left_stages(
    ev: &crate::rules::criteria::Evaluator,
    before: &Deal,
    after: &Deal,
) -> Vec<(usize, String)> {
    let cfg = ev.cfg;
    let was: std::collections::HashSet<usize> =
        crate::rules::criteria::applicable_stages(cfg, before)
            .into_iter()
            .collect();
    let mut out = Vec::new();
    // A stage enforced after the change whose criterion fails there, and
    // either held before or was not enforced before (its waiver, or its
    // import, removed by the change): `deal check` would now fail it.
    for i in crate::rules::criteria::applicable_stages(cfg, after) {
        for c in &cfg.stages[i].exit {
            if !ev.eval(c, after).met && (!was.contains(&i) || ev.eval(c, before).met) {
                out.push((i, c.label.clone()));
            }
        }
    }
    out
}

/// Commit trailers, key and value.
pub type Trailers = Vec<(&'static str, String)>;

/// Applies [`Guard`] to an edited text: `Ok` with the waiver's extra ops
/// and trailers (none when nothing broke), or the refusal.
pub fn guard_left_stages(
    p: &Pipeline,
    d: &Deal,
    text: &str,
    g: &Guard,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<Op>, Trailers), Error> {
    let cfg = &p.cfg;
    let Ok(after) = Deal::parse(
        d.slug.clone(),
        d.rel.clone(),
        d.place,
        text.as_bytes().to_vec(),
        cfg,
    ) else {
        // refuse_new_errors names a text that does not parse.
        return Ok((Vec::new(), Vec::new()));
    };
    let head = committed(p, d);
    let before = head.as_ref().unwrap_or(d);
    let ev = crate::rules::criteria::Evaluator::worktree(cfg, &p.root);
    let broken = broken_left_stages(&ev, before, &after);
    if broken.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let listed: Vec<String> = broken
        .iter()
        .map(|(i, label)| format!("{}: {label}", cfg.stages[*i].id))
        .collect();
    let reason = g
        .reason
        .as_deref()
        .map(crate::base::diag::one_line)
        .filter(|r| !r.trim().is_empty());
    let (true, Some(reason)) = (g.force, reason) else {
        return Err(Error::Refused {
            message: format!(
                "{}: the change breaks {} of {} the deal has already left; nothing was written:\n  {}",
                d.slug,
                if broken.len() == 1 {
                    "a criterion".to_string()
                } else {
                    format!("{} criteria", broken.len())
                },
                if broken.iter().all(|(i, _)| *i == broken[0].0) {
                    "a stage"
                } else {
                    "stages"
                },
                listed.join("\n  ")
            ),
            help: "keep the evidence, or pass --force --reason \"…\" to waive the stage (recorded as waived.<stage>, with who and when, and a Forced: trailer)".into(),
        });
    };
    let mut stages: Vec<usize> = broken.iter().map(|(i, _)| *i).collect();
    stages.dedup();
    let ids: Vec<String> = stages.iter().map(|i| cfg.stages[*i].id.clone()).collect();
    let by = crate::cli::record::forcer(&p.root, cfg);
    let ops: Vec<Op> = ids
        .iter()
        .flat_map(|id| crate::rules::transition::waiver_ops(id, &reason, by.as_deref(), now))
        .collect();
    let mut trailers = vec![("Forced", reason)];
    if let Some(b) = by {
        trailers.push(("Forced-By", b));
    }
    Ok((ops, trailers))
}

/// The refusal of a `stage` key: the folder a deal sits in is its stage.
fn no_stage_field(slug: &str) -> Error {
    Error::usage(
        "there is no `stage` field: the folder a deal sits in is its stage",
        format!(
            "to change the stage, run `deal move {slug} STAGE` (it checks the exit criteria and records the move)"
        ),
    )
}

/// Refuses `stage` (the folder is the stage) and, unless `new_field`, a key
/// the deal (`fm`, none for a new deal) does not have that is within two
/// edits of a known field (a typo such as `vaule` would otherwise add a
/// field nothing reads). The one check of a key `deal set`, `deal unset`
/// and `deal new --set` name.
pub fn refuse_odd_key(
    key: &str,
    slug: &str,
    fm: Option<&serde_yaml::Mapping>,
    new_field: bool,
) -> Result<(), Error> {
    if key == "stage" || key.starts_with("stage.") {
        return Err(no_stage_field(slug));
    }
    if new_field || fm.is_some_and(|fm| crate::yaml::mapping::lookup(fm, key).is_some()) {
        return Ok(());
    }
    match crate::model::fields::near_miss(key) {
        Some(known) => Err(Error::usage(
            format!("`{key}` is not a known field: did you mean `{known}`?"),
            format!(
                "write `{known}=…`, or pass --new-field to add `{key}` as a field of your own (the fields: docs/reference.md)"
            ),
        )),
        None => Ok(()),
    }
}

/// `deal unset DEAL KEY...`: removes keys (with their blocks) by a lossless
/// edit, through the same write path as `set`.
pub fn run_unset(ctx: &Ctx, a: UnsetArgs) -> Result<i32, Error> {
    write_deal(ctx, &a.deal, a.commit.no_commit, |_, d| {
        // Keys as named, each resolved against the deal as it is (`-1` to
        // the last item's number), so `objections.0 objections.0` removes
        // one item and `objections.0 objections.1` the first two: what the
        // commit's subject says is what goes.
        let mut keys: Vec<String> = Vec::new();
        let mut absent: Vec<String> = Vec::new();
        for k in &a.keys {
            let (k, _) = parse_assignment(&format!("{k}="))?;
            if k == "stage" || k.starts_with("stage.") {
                return Err(no_stage_field(&d.slug));
            }
            if k.split('.').any(|seg| seg == edit::APPEND) {
                return Err(Error::usage(
                    format!("`{k}` names no key to remove (`+` appends)"),
                    "name an item by its number, e.g. `objections.0`, or `-1` for the last",
                ));
            }
            let k = resolve_last(&d.fm, &k);
            if crate::yaml::mapping::lookup(&d.fm, &k).is_none() {
                if let Some(known) = crate::model::fields::near_miss(&k) {
                    return Err(Error::usage(
                        format!("{} has no `{k}`: did you mean `{known}`?", d.slug),
                        format!("name `{known}` instead; nothing was changed"),
                    ));
                }
                absent.push(k.clone());
            }
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        // Later items first, so each number still names the item it named.
        let mut order: Vec<&String> = keys.iter().collect();
        order.sort_by_key(|k| std::cmp::Reverse(key_order(k)));
        let ops = order.into_iter().map(|k| Op::remove(k)).collect();
        Ok(Change {
            ops,
            subject: format!("deal({}): unset {}", d.slug, keys.join(", ")),
            trailers: Vec::new(),
            done: format!("Removed {} from {}", keys.join(", "), d.slug),
            unchanged: format!(
                "{} has no {}; nothing changed",
                d.slug,
                absent
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            guard: Some(Guard {
                force: a.force.force,
                reason: a.force.reason.clone(),
            }),
        })
    })
}

/// `key` with each `-1` segment replaced by the number of the last item
/// of the list it indexes in `fm` (left as it is where there is none).
fn resolve_last(fm: &serde_yaml::Mapping, key: &str) -> String {
    let segs: Vec<&str> = key.split('.').collect();
    let mut out: Vec<String> = Vec::new();
    for seg in segs {
        if seg == "-1"
            && let Some(serde_yaml::Value::Sequence(items)) =
                crate::yaml::mapping::lookup(fm, &out.join("."))
            && !items.is_empty()
        {
            out.push((items.len() - 1).to_string());
        } else {
            out.push(seg.to_string());
        }
    }
    out.join(".")
}

/// A key path ordered segment by segment, numbers as numbers.
fn key_order(key: &str) -> Vec<(u64, String)> {
    key.split('.')
        .map(|s| match s.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, s.to_string()),
        })
        .collect()
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
    /// Whether (and how) the edit may break a stage the deal has left:
    /// `deal set` guards it; an objection, which is news, is never refused.
    pub guard: Option<Guard>,
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

/// What a front-matter write did: the line `deal set` prints.
pub struct Written {
    pub message: String,
}

/// [`write_deal`] without the printing, for `deal serve`.
pub fn write_deal_with(
    ctx: &Ctx,
    query: &str,
    no_commit: bool,
    plan: impl FnOnce(&Pipeline, &Deal) -> Result<Change, Error>,
) -> Result<Written, Error> {
    if !no_commit {
        crate::store::repo::prefetch_vars(&ctx.start);
    }
    crate::store::repo::cache_big_trees();
    let p = Pipeline::open_for(&ctx.start, query)?;
    let d = p.one(query)?;
    let shown = crate::base::diag::display_path(&p.root.join(&d.rel));
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
    let apply = |ops: &[Op]| {
        edit::apply(&d.text, ops).map_err(|e| {
            Error::usage(
                format!("{shown}: {e}"),
                "edit the file by hand, then run `deal check`",
            )
        })
    };
    let text = apply(&change.ops)?;
    if text == d.text {
        return Ok(Written {
            message: change.unchanged,
        });
    }
    let mut change = change;
    let (text, forced) = judge(ctx, &p, d, &text, change.guard.as_ref())?;
    change.trailers.extend(forced);
    commit_text(&p, d, &text, change, no_commit)
}

/// Judges a deal's new text as every one-deal write does (`set`, `unset`,
/// `edit`, `objection`): it must parse, add no error the deal did not have
/// (schema, owners, lost reason), and, under a [`Guard`], break no
/// criterion of a stage the deal has left unless forced with a reason.
/// The one place this refusal lives. Gives the text to record (with the
/// waiver a forced change adds) and the trailers the waiver adds.
pub fn judge(
    ctx: &Ctx,
    p: &Pipeline,
    d: &Deal,
    text: &str,
    guard: Option<&Guard>,
) -> Result<(String, Trailers), Error> {
    let has_stage = |t: &str| {
        edit::mapping_of(t)
            .ok()
            .is_some_and(|m| m.contains_key("stage"))
    };
    if has_stage(text) && !has_stage(&d.text) {
        return Err(no_stage_field(&d.slug));
    }
    let mut text = text.to_string();
    let mut forced = Vec::new();
    if let Some(g) = guard {
        let (ops, trailers) = guard_left_stages(p, d, &text, g, ctx.now)?;
        if !ops.is_empty() {
            text = edit::apply(&text, &ops).map_err(|e| {
                Error::usage(
                    format!(
                        "{}: {e}",
                        crate::base::diag::display_path(&p.root.join(&d.rel))
                    ),
                    "edit the file by hand, then run `deal check`",
                )
            })?;
            forced = trailers;
        }
    }
    refuse_new_errors(&p.cfg, &p.root, Some(d), &d.rel, &text, ctx.now)?;
    Ok((text, forced))
}

/// Records a judged new text of `d` as one commit (or stages it), with
/// `Deal:` and owner trailers; gives the line to print (`change.done` and
/// the commit).
pub fn commit_text(
    p: &Pipeline,
    d: &Deal,
    text: &str,
    change: Change,
    no_commit: bool,
) -> Result<Written, Error> {
    let cfg = &p.cfg;
    let old_owner = d.fields.owner.clone().unwrap_or_default();
    let new_owner = edited_owner(text).unwrap_or_else(|| old_owner.clone());
    let mut trailers = vec![("Deal", d.slug.clone())];
    trailers.extend(change.trailers);
    trailers.extend(owner_trailers(cfg, &old_owner, &new_owner));
    let done = record(Recording {
        root: &p.root,
        cfg,
        old_rel: Some(&d.rel),
        old_text: Some(&d.text),
        new_rel: &d.rel,
        new_text: text,
        subject: change.subject,
        body: None,
        trailers,
        no_commit,
    })?;
    Ok(Written {
        message: format!("{}{}.", change.done, outcome(&done)),
    })
}

/// The owner written in a deal's text, if it parses.
pub fn edited_owner(text: &str) -> Option<String> {
    let m = edit::mapping_of(text).ok()?;
    crate::yaml::mapping::lookup(&m, "owner").and_then(crate::yaml::mapping::scalar_text)
}
