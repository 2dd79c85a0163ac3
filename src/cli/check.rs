//! `deal check [PATH...]`: validate the pipeline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::cli::output;
use crate::rules::check::{self, Scope};
use crate::rules::criteria::Evaluator;
use crate::store::pipeline::Pipeline;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Deals to check: slugs (or unique prefixes), deal files or folders (default: the whole pipeline)
    #[arg(conflicts_with_all = ["staged", "rev"], add = ArgValueCandidates::new(crate::cli::complete::slugs))]
    pub paths: Vec<PathBuf>,
    /// Check what is staged in the git index (for a pre-commit hook): only staged deal files,
    /// plus duplicate slugs and pipeline.yaml errors
    #[arg(long, conflicts_with = "rev")]
    pub staged: bool,
    /// Check the pipeline as it is at a commit
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
    Github,
}

/// Makes `p` absolute against `base` and removes `.`/`..` lexically, without
/// following a symlink in the last component.
fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = base.join(p);
    let (parent, name) = (joined.parent(), joined.file_name());
    match (parent.and_then(|d| std::fs::canonicalize(d).ok()), name) {
        (Some(d), Some(n)) if n != ".." && n != "." => d.join(n),
        _ => std::fs::canonicalize(&joined).unwrap_or(joined),
    }
}

/// The files (root-relative) that PATH arguments select, among `known`.
/// An argument outside the deals folder (other than `pipeline.yaml` and
/// the root) is a slug first (a folder `orbital/` beside the deals folder
/// does not hide the deal `orbital`); an argument that selects no deal
/// file is an error, unless it is `pipeline.yaml` or a folder in the deals
/// folder (an empty stage: 0 deals).
fn scope_of(
    root: &Path,
    deals_dir: &str,
    known: &[&Path],
    start: &Path,
    paths: &[PathBuf],
) -> Result<Scope, Error> {
    if paths.is_empty() {
        return Ok(Scope::All);
    }
    let mut set = HashSet::new();
    for arg in paths {
        let abs = absolute(start, arg);
        let Ok(meta) = std::fs::symlink_metadata(&abs) else {
            set.extend(by_slug(known, arg)?);
            continue;
        };
        let Ok(rel) = abs.strip_prefix(root) else {
            return Err(Error::usage(
                format!(
                    "{} is outside the pipeline at {}",
                    arg.display(),
                    crate::base::diag::display_path(root)
                ),
                "give paths inside the pipeline",
            ));
        };
        let config = rel == Path::new(crate::model::config::FILE);
        let in_deals = rel.starts_with(deals_dir);
        if !config
            && !in_deals
            && !rel.as_os_str().is_empty()
            && let Ok(hits) = by_slug(known, arg)
        {
            set.extend(hits);
            continue;
        }
        let mut any = false;
        for k in known {
            if k.starts_with(rel) {
                any = true;
                set.insert(k.to_path_buf());
            }
        }
        if !(any || config || (in_deals && meta.is_dir())) {
            return Err(Error::usage(
                format!(
                    "{}: no deal file there, and no deal of that slug",
                    arg.display()
                ),
                format!(
                    "give slugs, deal files or stage folders (in {deals_dir}/); `deal list` shows the slugs"
                ),
            ));
        }
    }
    Ok(Scope::Files(set))
}

/// How many findings a staged `pipeline.yaml` causes are named; the rest
/// are counted.
const NAMED: usize = 20;

/// The keys a finding is compared by across two `pipeline.yaml` versions:
/// its rule, deal and message (which names the stage), and each criterion
/// it lists as missing.
fn keys(f: &check::Finding) -> Vec<(String, PathBuf, String, String)> {
    let base = (f.rule.to_string(), f.path.clone(), f.message.clone());
    if f.notes.is_empty() {
        vec![(base.0, base.1, base.2, String::new())]
    } else {
        f.notes
            .iter()
            .map(|n| (base.0.clone(), base.1.clone(), base.2.clone(), n.clone()))
            .collect()
    }
}

/// Every finding in any deal (the same files) under `cfg`.
fn all_findings(
    root: &Path,
    cfg: &crate::model::config::Config,
    entries: Vec<crate::store::files::Entry>,
    ev: &Evaluator,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<check::Finding> {
    let (p, found) = Pipeline::scan(root.to_path_buf(), cfg.clone(), entries, |d| {
        check::check_file(cfg, ev, &d, now)
    });
    let mut out: Vec<check::Finding> = found.into_iter().flatten().collect();
    out.extend(check::run(&p, ev, &Scope::All, now));
    out
}

/// The findings, in any deal, that `new` causes and `old` did not
/// (compared by [`keys`]; a finding that lists missing criteria keeps only
/// the new ones). `entries` gives the deal files, once per pass.
fn caused_by_config(
    root: &Path,
    new: &crate::model::config::Config,
    old: Option<&crate::model::config::Config>,
    entries: impl Fn(&crate::model::config::Config) -> Vec<crate::store::files::Entry>,
    files: Option<HashSet<String>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<check::Finding> {
    // `file` criteria: the index's files, or the work tree's.
    let evaluator = |c| match &files {
        Some(f) => Evaluator::for_files(c, root, Some(f.clone())),
        None => Evaluator::worktree(c, root),
    };
    let ev_new = evaluator(new);
    let fresh = all_findings(root, new, entries(new), &ev_new, now);
    let Some(old) = old else {
        return fresh;
    };
    let ev_old = evaluator(old);
    let before: HashSet<(String, PathBuf, String, String)> =
        all_findings(root, old, entries(new), &ev_old, now)
            .iter()
            .flat_map(keys)
            .collect();
    fresh
        .into_iter()
        .filter_map(|mut f| {
            let k = keys(&f);
            if k.iter().all(|k| before.contains(k)) {
                return None;
            }
            if !f.notes.is_empty() {
                f.notes = k
                    .into_iter()
                    .filter(|k| !before.contains(k))
                    .map(|k| k.3)
                    .collect();
            }
            f.message = format!("{} (caused by this pipeline.yaml)", f.message);
            Some(f)
        })
        .collect()
}

/// `pipeline.yaml` at HEAD, when there is a repository with a commit
/// that has one: what a process change is compared with.
fn head_config(root: &Path) -> Option<crate::model::config::Config> {
    let repo = crate::store::repo::Repo::open(root)?;
    let head = repo.git().head().ok()?.peel_to_commit().ok()?.id();
    Pipeline::config_at(&repo, root, head).ok()
}

/// Adds `extra` to `findings`, leaving out any already there.
fn merge_findings(findings: &mut Vec<check::Finding>, extra: Vec<check::Finding>) {
    for f in extra {
        let same = |g: &check::Finding| {
            g.rule == f.rule
                && g.path == f.path
                && g.message == f.message.replace(" (caused by this pipeline.yaml)", "")
        };
        if !findings.iter().any(same) {
            findings.push(f);
        }
    }
}

/// The deal files an argument that is no path names as a slug, or as a
/// unique prefix of one (every copy of a duplicated slug, so its
/// `duplicate-slug` finding shows), as every other command takes a deal.
fn by_slug(known: &[&Path], arg: &Path) -> Result<Vec<PathBuf>, Error> {
    let q = arg.to_string_lossy();
    let missing = || {
        Error::usage(
            format!("{}: no such deal, file or folder", arg.display()),
            "give slugs (or unique prefixes of them), deal files or stage folders; `deal list` shows the slugs",
        )
    };
    if q.is_empty() || q.contains('/') {
        return Err(missing());
    }
    let slug_of = |k: &Path| crate::store::pipeline::slug_of(k);
    let exact: Vec<PathBuf> = known
        .iter()
        .filter(|k| slug_of(k) == q)
        .map(|k| k.to_path_buf())
        .collect();
    if !exact.is_empty() {
        return Ok(exact);
    }
    let hits: Vec<&&Path> = known
        .iter()
        .filter(|k| slug_of(k).starts_with(q.as_ref()))
        .collect();
    let mut slugs: Vec<String> = hits.iter().map(|k| slug_of(k)).collect();
    slugs.sort();
    slugs.dedup();
    match slugs.len() {
        0 => Err(missing()),
        1 => Ok(hits.iter().map(|k| k.to_path_buf()).collect()),
        n => Err(Error::usage(
            format!(
                "`{q}` is the start of {n} slugs: {}",
                slugs
                    .iter()
                    .take(10)
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "give more of the slug",
        )),
    }
}

pub fn run(ctx: &Ctx, a: CheckArgs) -> Result<i32, Error> {
    let root = crate::store::pipeline::find_root(&ctx.start)?;
    if !a.staged && a.rev.is_none() {
        // The work tree: each deal is checked as it is parsed, and dropped.
        let cfg = crate::model::config::load(&root)?;
        // `pipeline.yaml` among the paths: every finding it causes that
        // HEAD's did not (docs/reference.md, "deal check").
        let config_named = a
            .paths
            .iter()
            .any(|p| absolute(&ctx.start, p) == root.join(crate::model::config::FILE));
        let caused = if config_named {
            let old = head_config(&root);
            caused_by_config(
                &root,
                &cfg,
                old.as_ref(),
                |c| crate::store::pipeline::worktree_entries(&root, c),
                None,
                ctx.now,
            )
        } else {
            Vec::new()
        };
        let mut entries = crate::store::pipeline::worktree_entries(&root, &cfg);
        let cfg_deals = cfg.deals_dir.clone();
        // A file named on the command line is checked even where a listing
        // skips it (inside a hidden folder): never silently passed.
        for arg in &a.paths {
            let abs = absolute(&ctx.start, arg);
            let Ok(rel) = abs.strip_prefix(&root) else {
                continue;
            };
            let Ok(meta) = std::fs::symlink_metadata(&abs) else {
                continue;
            };
            if rel.starts_with(&cfg.deals_dir)
                && !meta.is_dir()
                && !entries.iter().any(|e| e.rel == rel)
            {
                entries.push(crate::store::files::Entry {
                    rel: rel.to_path_buf(),
                    content: if meta.file_type().is_symlink() {
                        crate::store::files::Content::Symlink
                    } else if let Some(kind) =
                        crate::store::pipeline::special_kind(&meta.file_type())
                    {
                        crate::store::files::Content::Special(kind)
                    } else {
                        crate::store::files::Content::Path(abs.clone())
                    },
                });
            }
        }
        let known: Vec<&Path> = entries.iter().map(|e| e.rel.as_path()).collect();
        let scope = scope_of(&root, &cfg_deals, &known, &ctx.start, &a.paths)?;
        // Deals out of scope are known by name only (for duplicate slugs).
        let (entries, skipped): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|e| scope.includes(&e.rel));
        let ev_cfg = cfg.clone();
        let ev = Evaluator::worktree(&ev_cfg, &root);
        let (mut p, found) = Pipeline::scan(root.clone(), cfg, entries, |d| {
            check::check_file(&ev_cfg, &ev, &d, ctx.now)
        });
        let checked = found.len() + p.problems.len();
        p.unparsed.extend(skipped.into_iter().map(|e| e.rel));
        let mut findings: Vec<check::Finding> = found.into_iter().flatten().collect();
        findings.extend(check::run(&p, &ev, &scope, ctx.now));
        merge_findings(&mut findings, caused);
        check::sort(&mut findings);
        return report(ctx, &a, &p, &scope, "work tree", checked, &findings);
    }
    let (p, files, staged) = if a.staged {
        let (p, files, staged) = Pipeline::staged(&root)?;
        (p, Some(files), Some(staged))
    } else {
        let rev = a.rev.as_deref().unwrap_or("HEAD");
        let (p, files) = Pipeline::at_rev(&root, rev)?;
        (p, Some(files), None)
    };
    let files_for_config = if a.staged { files.clone() } else { None };
    let ev = Evaluator::for_files(&p.cfg, &p.root, files);
    let scope = match staged {
        Some(s) => Scope::Staged(s),
        None => {
            let known: Vec<&Path> = p
                .deals
                .iter()
                .map(|d| d.rel.as_path())
                .chain(p.problems.iter().map(|x| x.rel.as_path()))
                .collect();
            scope_of(&p.root, &p.cfg.deals_dir, &known, &ctx.start, &a.paths)?
        }
    };
    let mut findings = check::run(&p, &ev, &scope, ctx.now);
    if let Some(files) = files_for_config
        && let Some(caused) = staged_config_findings(&root, &p.cfg, files, ctx.now)?
    {
        let more = caused.len().saturating_sub(NAMED);
        merge_findings(&mut findings, caused.into_iter().take(NAMED).collect());
        if more > 0 {
            eprintln!(
                "… and {more} more finding{} that the staged pipeline.yaml causes (`deal check` after staging lists them all)",
                if more == 1 { "" } else { "s" }
            );
        }
        check::sort(&mut findings);
    }
    let checked = match &scope {
        Scope::All => p.deals.len() + p.problems.len(),
        Scope::Files(s) | Scope::Staged(s) => s.len(),
    };
    let source = match &a.rev {
        Some(r) if !a.staged => format!("commit {r}"),
        _ => "index (staged)".to_string(),
    };
    report(ctx, &a, &p, &scope, &source, checked, &findings)
}

/// Prints the findings in the chosen format; returns the exit code.
fn report(
    ctx: &Ctx,
    a: &CheckArgs,
    p: &Pipeline,
    scope: &Scope,
    source: &str,
    checked: usize,
    findings: &[check::Finding],
) -> Result<i32, Error> {
    let (errors, warnings) = check::counts(findings);
    ctx.trace_pipeline(p, source);
    ctx.trace(|| {
        let by_rule: Vec<String> = check::RULES
            .iter()
            .map(|r| (r, findings.iter().filter(|f| f.rule == *r).count()))
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        format!(
            "rules run: {}; findings by rule: {}",
            check::RULES.join(", "),
            if by_rule.is_empty() {
                "none".to_string()
            } else {
                by_rule.join(", ")
            }
        )
    });
    match a.format {
        CheckFormat::Human => {
            let shown: Vec<_> = findings
                .iter()
                // -q keeps errors, and warnings when they fail the run.
                .filter(|f| !ctx.quiet || f.severity == check::Severity::Error || a.deny_warnings)
                .cloned()
                .collect();
            // One write, so `deal check | head -c1` ends the same way each
            // run: with two, the reader could quit between them and turn
            // the exit code into a closed pipe's 0 at random.
            let mut text = output::human(&shown, &p.root, ctx.style);
            if !ctx.quiet {
                let n = match scope {
                    Scope::All => checked,
                    Scope::Files(s) | Scope::Staged(s) => s.len(),
                };
                text.push_str(&output::summary(errors, warnings, n, ctx.style));
            }
            print!("{text}");
        }
        CheckFormat::Json => print!("{}", output::json(findings)),
        CheckFormat::Github => print!(
            "{}",
            output::github(findings, &crate::store::repo::prefix_in_repo(&p.root))
        ),
    }
    Ok(if errors > 0 || (a.deny_warnings && warnings > 0) {
        1
    } else {
        0
    })
}

/// With `--staged`: when the staged `pipeline.yaml` differs from HEAD's,
/// every finding, in any deal in the index, that it causes and HEAD's did
/// not. `None` when it is not staged (or there is no HEAD to compare with).
fn staged_config_findings(
    root: &Path,
    cfg: &crate::model::config::Config,
    files: HashSet<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Vec<check::Finding>>, Error> {
    let Some(repo) = crate::store::repo::Repo::open(root) else {
        return Ok(None);
    };
    let staged = repo.index_blob(root, crate::model::config::FILE)?;
    let Some(head) = repo
        .git()
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id())
    else {
        return Ok(None);
    };
    let at_head = repo
        .tree_at(head, root)
        .ok()
        .and_then(|t| repo.blob_in(&t, crate::model::config::FILE));
    if staged.is_none() || staged == at_head {
        return Ok(None);
    }
    let old = Pipeline::config_at(&repo, root, head).ok();
    let view = repo.index_view(root, &cfg.deals_dir)?;
    let entries = |_: &crate::model::config::Config| {
        view.deals
            .iter()
            .map(|(rel, id, mode)| crate::store::files::Entry {
                rel: rel.clone(),
                content: if *mode == 0o120000 {
                    crate::store::files::Content::Symlink
                } else {
                    repo.blob(*id, crate::store::pipeline::MAX_DEAL_BYTES as usize)
                },
            })
            .collect()
    };
    Ok(Some(caused_by_config(
        root,
        cfg,
        old.as_ref(),
        entries,
        Some(files),
        now,
    )))
}
