//! What `new`, `set`, `move` and `assign` share: checking the edited deal
//! as a pre-commit hook would, and recording the change as one commit with
//! trailers (SPEC §4 "Commits"), or staging it with `--no-commit`.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::check::check_deal;
use crate::config::Config;
use crate::criteria::Evaluator;
use crate::deal::Deal;
use crate::error::Error;
use crate::pipeline::place_of;
use crate::repo::{Change, Message, Repo};

/// One deal's change, ready to record.
pub struct Recording<'a> {
    pub root: &'a Path,
    pub cfg: &'a Config,
    /// Root-relative paths.
    pub old_rel: Option<&'a Path>,
    pub old_text: Option<&'a str>,
    pub new_rel: &'a Path,
    pub new_text: &'a str,
    pub subject: String,
    /// A paragraph between the subject and the trailers (`-m`).
    pub body: Option<String>,
    pub trailers: Vec<(&'static str, String)>,
    pub no_commit: bool,
}

/// What was recorded.
pub struct Recorded {
    /// The new commit's abbreviated id; `None` when only staged or written.
    pub commit: Option<String>,
    /// Whether the change was staged in a git index.
    pub staged: bool,
}

/// `handle <email>` for a trailer, or the bare handle when the team has no email.
pub fn person(cfg: &Config, handle: &str) -> String {
    match cfg.team.get(handle).and_then(|m| m.email.as_deref()) {
        Some(e) => format!("{handle} <{e}>"),
        None => handle.to_string(),
    }
}

/// The commit message: subject, optional body, then git trailers.
pub fn message(subject: &str, body: Option<&str>, trailers: &[(&str, String)]) -> String {
    let mut m = format!("{}\n\n", one_line(subject));
    if let Some(b) = body.map(str::trim).filter(|b| !b.is_empty()) {
        m.push_str(b);
        m.push_str("\n\n");
    }
    for (k, v) in trailers {
        m.push_str(&format!("{k}: {}\n", one_line(v)));
    }
    m
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Refuses an edit that would leave the deal with errors it did not have:
/// the checks a pre-commit hook would run, since git hooks do not run for
/// deal's own commits.
pub fn refuse_new_errors(
    cfg: &Config,
    root: &Path,
    old: Option<&Deal>,
    new_rel: &Path,
    new_text: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let ev = Evaluator::worktree(cfg, root);
    let shown = crate::diag::display_path(&root.join(new_rel));
    let Some(place) = place_of(new_rel, cfg) else {
        return Err(Error::usage(
            format!("{shown} is not in a stage folder"),
            "",
        ));
    };
    let slug = crate::pipeline::slug_of(new_rel);
    let new = Deal::parse(
        slug,
        new_rel.to_path_buf(),
        place,
        new_text.as_bytes().to_vec(),
        cfg,
    )
    .map_err(|p| {
        Error::usage(
            format!(
                "{shown}:{}: the edit would break the file: {}",
                p.line, p.message
            ),
            "nothing was written; edit the file by hand",
        )
    })?;
    let judged = ["parse", "schema", "unknown-owner", "missing-lost-reason"];
    let before: Vec<(String, String)> = old
        .map(|d| {
            check_deal(cfg, &ev, d, now)
                .into_iter()
                .map(|f| (f.rule.to_string(), f.message))
                .collect()
        })
        .unwrap_or_default();
    let fresh: Vec<String> = check_deal(cfg, &ev, &new, now)
        .into_iter()
        .filter(|f| judged.contains(&f.rule))
        .filter(|f| !before.contains(&(f.rule.to_string(), f.message.clone())))
        .map(|f| format!("{shown}:{}: {} [{}]", f.line, f.message, f.rule))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "the change would add {} to the deal; nothing was written:\n  {}",
            if fresh.len() == 1 {
                "an error".to_string()
            } else {
                format!("{} errors", fresh.len())
            },
            fresh.join("\n  ")
        ),
        "fix the value and run the command again",
    ))
}

/// Writes the change, stages it and (unless `--no-commit` or `commit:
/// false`) commits it. On failure nothing is changed.
pub fn record(r: Recording) -> Result<Recorded, Error> {
    let commit = !r.no_commit && r.cfg.commit;
    let new_abs = r.root.join(r.new_rel);
    let old_abs = r.old_rel.map(|p| r.root.join(p));
    let moving = r.old_rel != Some(r.new_rel);
    if moving && std::fs::symlink_metadata(&new_abs).is_ok() {
        return Err(Error::usage(
            format!(
                "{} exists already; nothing was changed",
                crate::diag::display_path(&new_abs)
            ),
            "rename or remove that file first (two deals cannot share a slug)",
        ));
    }
    let change = Change {
        old: old_abs.as_deref(),
        old_bytes: r.old_text.map(str::as_bytes),
        new: &new_abs,
        new_bytes: r.new_text.as_bytes(),
    };
    let Some(repo) = Repo::open(r.root) else {
        if commit {
            return Err(Error::git(
                format!(
                    "{} is not in a git repository, so deal cannot commit",
                    crate::diag::display_path(r.root)
                ),
                "run `git init` there, or pass --no-commit (or set `commit: false` in pipeline.yaml)",
            ));
        }
        crate::worktree::write_worktree(&change)?;
        return Ok(Recorded {
            commit: None,
            staged: false,
        });
    };
    let ident = if commit { Some(repo.ident()?) } else { None };
    repo.check_unlocked()?;
    let new_rel_repo = repo.rel(&new_abs)?;
    if moving && repo.in_index(&new_rel_repo) {
        return Err(Error::usage(
            format!("{new_rel_repo} is in the git index already; nothing was changed"),
            "unstage it (`git restore --staged`) or remove it first",
        ));
    }
    let head = repo.head()?;
    let msg = Message {
        text: message(&r.subject, r.body.as_deref(), &r.trailers),
    };
    let oid = repo.record(&change, commit.then_some(&msg), &head, ident.as_ref())?;
    Ok(Recorded {
        commit: oid.map(|o| o.to_string()[..7].to_string()),
        staged: true,
    })
}
