//! `deal check [PATH...]`: validate the pipeline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::check::{self, Scope};
use crate::cli::{CheckArgs, CheckFormat};
use crate::commands::Ctx;
use crate::criteria::Evaluator;
use crate::error::Error;
use crate::output;
use crate::pipeline::Pipeline;

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
fn scope_of(root: &Path, known: &[&Path], start: &Path, paths: &[PathBuf]) -> Result<Scope, Error> {
    if paths.is_empty() {
        return Ok(Scope::All);
    }
    let mut set = HashSet::new();
    for arg in paths {
        let abs = absolute(start, arg);
        if std::fs::symlink_metadata(&abs).is_err() {
            return Err(Error::usage(
                format!("{}: no such file or folder", arg.display()),
                "give paths to deal files or stage folders",
            ));
        }
        let Ok(rel) = abs.strip_prefix(root) else {
            return Err(Error::usage(
                format!(
                    "{} is outside the pipeline at {}",
                    arg.display(),
                    crate::diag::display_path(root)
                ),
                "give paths inside the pipeline",
            ));
        };
        for k in known {
            if k.starts_with(rel) {
                set.insert(k.to_path_buf());
            }
        }
    }
    Ok(Scope::Files(set))
}

pub fn run(ctx: &Ctx, a: CheckArgs) -> Result<i32, Error> {
    let root = crate::pipeline::find_root(&ctx.start)?;
    if !a.staged && a.rev.is_none() {
        // The work tree: each deal is checked as it is parsed, and dropped.
        let cfg = crate::config::load(&root)?;
        let mut entries = crate::pipeline::worktree_entries(&root, &cfg);
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
                entries.push(crate::pipeline::Entry {
                    rel: rel.to_path_buf(),
                    content: if meta.file_type().is_symlink() {
                        crate::pipeline::Content::Symlink
                    } else if let Some(kind) = crate::pipeline::special_kind(&meta.file_type()) {
                        crate::pipeline::Content::Special(kind)
                    } else {
                        crate::pipeline::Content::Path(abs.clone())
                    },
                });
            }
        }
        let known: Vec<&Path> = entries.iter().map(|e| e.rel.as_path()).collect();
        let scope = scope_of(&root, &known, &ctx.start, &a.paths)?;
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
            scope_of(&p.root, &known, &ctx.start, &a.paths)?
        }
    };
    let findings = check::run(&p, &ev, &scope, ctx.now);
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
            print!("{}", output::human(&shown, &p.root, ctx.style));
            if !ctx.quiet {
                let n = match scope {
                    Scope::All => checked,
                    Scope::Files(s) | Scope::Staged(s) => s.len(),
                };
                print!("{}", output::summary(errors, warnings, n, ctx.style));
            }
        }
        CheckFormat::Json => print!("{}", output::json(findings)),
        CheckFormat::Github => print!(
            "{}",
            output::github(findings, &crate::repo::prefix_in_repo(&p.root))
        ),
    }
    Ok(if errors > 0 || (a.deny_warnings && warnings > 0) {
        1
    } else {
        0
    })
}
