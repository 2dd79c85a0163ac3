//! What `new`, `set`, `move` and `assign` share: checking the edited deal
//! as a pre-commit hook would, and recording the change as one commit with
//! trailers (README, "Moves and commits"), or staging it with `--no-commit`.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::base::error::Error;
use crate::model::config::Config;
use crate::model::deal::Deal;
use crate::rules::check::check_deal;
use crate::rules::criteria::Evaluator;
use crate::store::pipeline::place_of;
use crate::store::repo::{Message, Repo};
use crate::store::worktree::Change;

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

/// The `Owner:` trailer and, when the owner changes from someone,
/// `Previous-Owner:`.
pub fn owner_trailers(cfg: &Config, old: &str, new: &str) -> Vec<(&'static str, String)> {
    let mut t = vec![("Owner", person(cfg, new))];
    if new != old && !old.is_empty() {
        t.push(("Previous-Owner", person(cfg, old)));
    }
    t
}

/// The commit message: subject, optional body, then git trailers.
pub fn message(subject: &str, body: Option<&str>, trailers: &[(&str, String)]) -> String {
    let mut m = format!("{}\n\n", crate::base::diag::one_line(subject));
    if let Some(b) = body.map(str::trim).filter(|b| !b.is_empty()) {
        m.push_str(b);
        m.push_str("\n\n");
    }
    for (k, v) in trailers {
        m.push_str(&format!("{k}: {}\n", crate::base::diag::one_line(v)));
    }
    m
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
    let shown = crate::base::diag::display_path(&root.join(new_rel));
    let Some(place) = place_of(new_rel, cfg) else {
        return Err(Error::usage(
            format!("{shown} is not in a stage folder"),
            "",
        ));
    };
    let slug = crate::store::pipeline::slug_of(new_rel);
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

/// Refuses a deal file of `len` bytes that no reader would accept (over
/// 4 MB, [`crate::store::pipeline::MAX_DEAL_BYTES`]), before anything is written.
pub fn refuse_too_big(root: &Path, rel: &Path, len: usize) -> Result<(), Error> {
    let max = crate::store::pipeline::MAX_DEAL_BYTES;
    if len as u64 <= max {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{} would be {:.1} MB, and deal reads no deal file over {} MB; nothing was written",
            crate::base::diag::display_path(&root.join(rel)),
            len as f64 / (1024.0 * 1024.0),
            max / (1024 * 1024)
        ),
        "keep long text (a message, a transcript) in a file beside the deal and link to it",
    ))
}

/// Writes the change, stages it and (unless `--no-commit` or `commit:
/// false`) commits it. On failure nothing is changed.
pub fn record(r: Recording) -> Result<Recorded, Error> {
    let file = FileEdit {
        old_rel: r.old_rel.map(Path::to_path_buf),
        old_text: r.old_text.map(str::to_string),
        new_rel: r.new_rel.to_path_buf(),
        new_text: r.new_text.to_string(),
        gone: Vec::new(),
    };
    record_files(
        r.root,
        r.cfg,
        std::slice::from_ref(&file),
        &message(&r.subject, r.body.as_deref(), &r.trailers),
        r.no_commit,
    )
}

/// One file of a multi-file change (paths relative to the pipeline root).
pub struct FileEdit {
    pub old_rel: Option<std::path::PathBuf>,
    pub old_text: Option<String>,
    pub new_rel: std::path::PathBuf,
    pub new_text: String,
    /// Other copies of the deal (root-relative) that are gone from the
    /// working tree and leave the commit and the index too (`deal resolve`).
    pub gone: Vec<std::path::PathBuf>,
}

/// The deal's other possible places (same file name in another stage or
/// outcome folder) that are absent from the working tree.
fn gone_places(root: &Path, cfg: &Config, f: &FileEdit) -> Vec<std::path::PathBuf> {
    let Some(name) = f.new_rel.file_name() else {
        return Vec::new();
    };
    if f.old_rel.is_none() || f.new_rel.extension().is_none_or(|e| e != "md") {
        return Vec::new();
    }
    cfg.stages
        .iter()
        .map(|s| s.dir.as_str())
        .chain([crate::model::config::WON, crate::model::config::LOST])
        .map(|d| std::path::Path::new(&cfg.deals_dir).join(d).join(name))
        .chain(f.gone.iter().cloned())
        .filter(|rel| *rel != f.new_rel && Some(rel.as_path()) != f.old_rel.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|rel| root.join(rel))
        .filter(|abs| std::fs::symlink_metadata(abs).is_err())
        .collect()
}

/// Writes, stages and (unless `--no-commit` or `commit: false`) commits
/// several files as one commit with message `msg`. On failure nothing is
/// changed.
pub fn record_files(
    root: &Path,
    cfg: &Config,
    files: &[FileEdit],
    msg: &str,
    no_commit: bool,
) -> Result<Recorded, Error> {
    let commit = !no_commit && cfg.commit;
    for f in files {
        refuse_too_big(root, &f.new_rel, f.new_text.len())?;
    }
    let abs: Vec<(Option<std::path::PathBuf>, std::path::PathBuf)> = files
        .iter()
        .map(|f| {
            (
                f.old_rel.as_ref().map(|p| root.join(p)),
                root.join(&f.new_rel),
            )
        })
        .collect();
    for (f, (_, new_abs)) in files.iter().zip(&abs) {
        let moving = f.old_rel.as_deref() != Some(f.new_rel.as_path());
        if moving && std::fs::symlink_metadata(new_abs).is_ok() {
            return Err(Error::usage(
                format!(
                    "{} exists already; nothing was changed",
                    crate::base::diag::display_path(new_abs)
                ),
                "rename or remove that file first (two deals cannot share a slug)",
            ));
        }
    }
    let changes: Vec<Change> = files
        .iter()
        .zip(&abs)
        .map(|(f, (old_abs, new_abs))| Change {
            old: old_abs.as_deref(),
            old_bytes: f.old_text.as_deref().map(str::as_bytes),
            new: new_abs,
            new_bytes: f.new_text.as_bytes(),
            gone: gone_places(root, cfg, f),
        })
        .collect();
    let Some(repo) = Repo::open(root) else {
        if commit {
            return Err(Error::git(
                format!(
                    "{} is not in a git repository, so deal cannot commit",
                    crate::base::diag::display_path(root)
                ),
                "run `git init` there, or pass --no-commit (or set `commit: false` in pipeline.yaml)",
            ));
        }
        let mut done = Vec::new();
        for c in &changes {
            match crate::store::worktree::write_worktree(c) {
                Ok(w) => done.push(w),
                Err(e) => return Err(crate::store::worktree::undo_all(e, &done, &changes)),
            }
        }
        return Ok(Recorded {
            commit: None,
            staged: false,
        });
    };
    let ident = if commit { Some(repo.ident()?) } else { None };
    repo.check_unlocked()?;
    if commit {
        repo.check_no_merge()?;
    }
    for (f, (_, new_abs)) in files.iter().zip(&abs) {
        let moving = f.old_rel.as_deref() != Some(f.new_rel.as_path());
        let new_rel_repo = repo.rel(new_abs)?;
        if moving && repo.staged_at(&new_rel_repo) {
            return Err(Error::usage(
                format!("{new_rel_repo} is in the git index already; nothing was changed"),
                "unstage it (`git restore --staged`) or remove it first",
            ));
        }
    }
    let head = repo.head()?;
    let msg = Message {
        text: msg.to_string(),
    };
    let oid = repo.record_all(&changes, commit.then_some(&msg), &head, ident.as_ref())?;
    Ok(Recorded {
        commit: oid.map(|o| o.to_string()[..7].to_string()),
        staged: true,
    })
}

/// ` (commit abc1234)`, ` (staged, not committed)` or ` (not in git)`.
pub fn outcome(r: &crate::cli::record::Recorded) -> String {
    match (&r.commit, r.staged) {
        (Some(c), _) => format!(" (commit {c})"),
        (None, true) => " (staged, not committed)".into(),
        (None, false) => " (written; not a git repository)".into(),
    }
}

/// Whoever is forcing a move: the git author identity in effect at `root`
/// (as `git commit` resolves it), as a team handle when the email is a
/// member's, else `Name <email>`. `None` without a repository or identity.
pub fn forcer(root: &std::path::Path, cfg: &crate::model::config::Config) -> Option<String> {
    let repo = crate::store::repo::Repo::open(root)?;
    let id = repo.ident().ok()?;
    let name = String::from_utf8_lossy(id.author.name_bytes()).into_owned();
    let email = String::from_utf8_lossy(id.author.email_bytes()).into_owned();
    Some(cfg.who(&format!("{name} <{email}>")))
}
