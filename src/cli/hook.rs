//! `deal hook install|uninstall`: git `pre-commit` and `pre-merge-commit`
//! hooks that run `deal -C <pipeline root> check --staged`.

use crate::base::error::Error;
use crate::cli::args::{HookAction, HookArgs};
use crate::cli::ctx::Ctx;
use crate::store::pipeline::find_root;
use crate::store::repo::Repo;

/// The line that marks a hook as deal's own.
const MARK: &str = "# installed by `deal hook install`";

fn script(prefix: &str, exe: &str) -> String {
    let dir = if prefix.is_empty() {
        "\"$top\"".to_string()
    } else {
        format!("\"$top/{prefix}\"")
    };
    format!(
        "#!/bin/sh\n\
{MARK}; `deal hook uninstall` removes it.\n\
# Refuses a commit or merge whose staged deals break their exit criteria,\n\
# sit in two places, or hold merge-conflict markers.\n\
top=$(git rev-parse --show-toplevel) || exit 1\n\
if command -v deal >/dev/null 2>&1; then deal=deal; else deal='{exe}'; fi\n\
if ! command -v \"$deal\" >/dev/null 2>&1; then\n\
  echo \"$(basename \"$0\"): deal is not installed; install it, or run git commit --no-verify\" >&2\n\
  exit 1\n\
fi\n\
exec \"$deal\" -C {dir} check --staged\n"
    )
}

/// Whether a hook of deal's holds only what deal writes (the deal path and
/// pipeline folder may differ): a user who added lines to it keeps them.
fn pristine(text: &str) -> bool {
    let norm = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| {
                if l.starts_with("if command -v deal ") {
                    "<find deal>".to_string()
                } else if l.starts_with("exec \"$deal\" -C ") {
                    "<run deal>".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect()
    };
    norm(text) == norm(&script("", "deal"))
}

/// The hooks deal installs: a commit, and a merge that git completes by
/// itself (two branches that moved the same deal can merge cleanly and
/// leave it in two folders).
const HOOKS: [&str; 2] = ["pre-commit", "pre-merge-commit"];

pub fn run(ctx: &Ctx, a: HookArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let repo = Repo::require(&root, "run `git init` first")?;
    let dir = repo.hooks_dir();
    let prefix = repo.rel(&root)?;
    // Each hook: its path, what it holds now, and whether that is deal's.
    let hooks: Vec<(std::path::PathBuf, Option<String>, bool)> = HOOKS
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let existing = std::fs::read_to_string(&path).ok();
            let ours = existing.as_deref().is_some_and(|s| s.contains(MARK));
            (path, existing, ours)
        })
        .collect();
    let foreign: Vec<String> = hooks
        .iter()
        .filter(|(_, e, ours)| e.is_some() && !ours)
        .map(|(p, _, _)| crate::base::diag::display_path(p))
        .collect();
    // deal's hook with lines the user added: neither replaced nor removed.
    let edited: Vec<String> = hooks
        .iter()
        .filter(|(_, e, ours)| *ours && e.as_deref().is_some_and(|t| !pristine(t)))
        .map(|(p, _, _)| crate::base::diag::display_path(p))
        .collect();
    if !edited.is_empty() {
        return Err(Error::usage(
            format!(
                "{} {} lines deal did not write; nothing was changed",
                edited.join(" and "),
                if edited.len() == 1 { "has" } else { "have" }
            ),
            "edit it by hand: keep your lines, and add or remove the `deal … check --staged` line yourself",
        ));
    }
    match a.action {
        HookAction::Install => {
            // A link in the hooks folder (dangling or not) is never written
            // through: it could point anywhere (docs/safety.md). Nor is git's
            // own hooks folder when it is a link (a `core.hooksPath` the user
            // set is theirs to point where they like).
            if dir == repo.git().commondir().join("hooks")
                && std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_symlink())
            {
                return Err(crate::base::safepath::link_error(&dir));
            }
            if let Some((link, _, _)) = hooks
                .iter()
                .find(|(p, _, _)| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink()))
            {
                return Err(crate::base::safepath::link_error(link));
            }
            if !foreign.is_empty() {
                return Err(Error::usage(
                    format!(
                        "{} exist{} and {} not deal's; nothing was changed",
                        foreign.join(" and "),
                        if foreign.len() == 1 { "s" } else { "" },
                        if foreign.len() == 1 { "is" } else { "are" }
                    ),
                    format!(
                        "to chain, add this line to each of them: deal -C \"$(git rev-parse --show-toplevel){}\" check --staged || exit 1",
                        if prefix.is_empty() {
                            String::new()
                        } else {
                            format!("/{prefix}")
                        }
                    ),
                ));
            }
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "deal".into())
                .replace('\'', "");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            for (hook, _, _) in &hooks {
                // O_NOFOLLOW: a link planted since the check is an error.
                {
                    use std::io::Write as _;
                    use std::os::unix::fs::OpenOptionsExt as _;
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .custom_flags(libc::O_NOFOLLOW)
                        .open(hook)
                        .and_then(|mut f| f.write_all(script(&prefix, &exe).as_bytes()))
                        .map_err(|e| Error::io(hook, e))?;
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(hook, std::fs::Permissions::from_mode(0o755))
                        .map_err(|e| Error::io(hook, e))?;
                }
            }
            let attributes = register_merge_driver(&repo, &root, &exe)?;
            if !ctx.quiet {
                let updated = hooks.iter().any(|(_, _, ours)| *ours);
                let shown: Vec<String> = hooks
                    .iter()
                    .map(|(p, _, _)| crate::base::diag::display_path(p))
                    .collect();
                println!(
                    "{} {}: each commit and each merge now runs `deal check --staged`.",
                    if updated { "Updated" } else { "Installed" },
                    shown.join(" and ")
                );
                println!(
                    "Registered the merge driver for deal files (merge.deal.driver; {}): commit it, so every clone's merges use it.",
                    attributes
                );
            }
            Ok(0)
        }
        HookAction::Uninstall => {
            if !foreign.is_empty() {
                return Err(Error::usage(
                    format!(
                        "{} {} not deal's; nothing was changed",
                        foreign.join(" and "),
                        if foreign.len() == 1 { "is" } else { "are" }
                    ),
                    "remove the `deal … check --staged` line from it by hand, if you added one",
                ));
            }
            unregister_merge_driver(&repo, &root)?;
            let mut removed = Vec::new();
            for (hook, _, ours) in &hooks {
                if *ours {
                    std::fs::remove_file(hook).map_err(|e| Error::io(hook, e))?;
                    removed.push(crate::base::diag::display_path(hook));
                }
            }
            if !ctx.quiet {
                if removed.is_empty() {
                    println!(
                        "No deal hook in {}; nothing to do.",
                        crate::base::diag::display_path(&dir)
                    );
                } else {
                    println!("Removed {}.", removed.join(" and "));
                }
            }
            Ok(0)
        }
    }
}

/// The `.gitattributes` line that sends deal files to deal's merge driver.
fn attributes_line(cfg: &crate::model::config::Config) -> String {
    format!("{}/**/*.md merge=deal", cfg.deals_dir.trim_end_matches('/'))
}

/// Registers deal's merge driver (README, "Merging deal files"):
/// `merge.deal.driver` in the repository's config, and the `merge=deal`
/// line in the pipeline's `.gitattributes` (added once, the file's other
/// lines kept). Returns the attributes file as shown to the user.
fn register_merge_driver(repo: &Repo, root: &std::path::Path, exe: &str) -> Result<String, Error> {
    let cfg = crate::model::config::load(root)?;
    let quoted = format!("'{}'", exe.replace('\'', ""));
    let mut config = repo
        .git()
        .config()
        .map_err(|e| Error::git(format!("cannot open the repository's config: {e}"), ""))?;
    let set = |c: &mut git2::Config, k: &str, v: &str| {
        c.set_str(k, v)
            .map_err(|e| Error::git(format!("cannot set {k}: {e}"), "check .git/config"))
    };
    set(
        &mut config,
        "merge.deal.name",
        "deal: merges deal files by front-matter key",
    )?;
    set(
        &mut config,
        "merge.deal.driver",
        &format!("{quoted} merge-driver %O %A %B --marker-size %L --path %P"),
    )?;
    let path = root.join(".gitattributes");
    let line = attributes_line(&cfg);
    let old = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::usage(
                format!(
                    "{} is a symbolic link; deal never follows one",
                    crate::base::diag::display_path(&path)
                ),
                format!("replace it with a file, and add the line `{line}`"),
            ));
        }
        Ok(_) => std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?,
        Err(_) => String::new(),
    };
    if !old.lines().any(|l| l.trim() == line) {
        let mut text = old;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(crate::base::diag::display_path(&path))
}

/// Undoes [`register_merge_driver`]: the config section, and the line.
fn unregister_merge_driver(repo: &Repo, root: &std::path::Path) -> Result<(), Error> {
    if let Ok(mut config) = repo.git().config() {
        let _ = config.remove("merge.deal.driver");
        let _ = config.remove("merge.deal.name");
    }
    let path = root.join(".gitattributes");
    let Ok(cfg) = crate::model::config::load(root) else {
        return Ok(());
    };
    let line = attributes_line(&cfg);
    if let Ok(m) = std::fs::symlink_metadata(&path)
        && m.is_file()
        && let Ok(old) = std::fs::read_to_string(&path)
        && old.lines().any(|l| l.trim() == line)
    {
        let kept: String = old
            .lines()
            .filter(|l| l.trim() != line)
            .map(|l| format!("{l}\n"))
            .collect();
        if kept.trim().is_empty() {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        } else {
            std::fs::write(&path, kept).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}
