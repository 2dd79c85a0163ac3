//! `deal hook install|uninstall`: a git pre-commit hook that runs
//! `deal -C <pipeline root> check --staged`.

use crate::cli::{HookAction, HookArgs};
use crate::commands::Ctx;
use crate::error::Error;
use crate::pipeline::find_root;
use crate::repo::Repo;

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
# Refuses a commit whose staged deals break their exit criteria.\n\
top=$(git rev-parse --show-toplevel) || exit 1\n\
if command -v deal >/dev/null 2>&1; then deal=deal; else deal='{exe}'; fi\n\
if ! command -v \"$deal\" >/dev/null 2>&1; then\n\
  echo \"pre-commit: deal is not installed; install it, or run git commit --no-verify\" >&2\n\
  exit 1\n\
fi\n\
exec \"$deal\" -C {dir} check --staged\n"
    )
}

pub fn run(ctx: &Ctx, a: HookArgs) -> Result<i32, Error> {
    let root = find_root(&ctx.start)?;
    let repo = Repo::require(&root, "run `git init` first")?;
    let dir = repo.hooks_dir();
    let hook = dir.join("pre-commit");
    let shown = crate::diag::display_path(&hook);
    let existing = std::fs::read_to_string(&hook).ok();
    let ours = existing.as_deref().is_some_and(|s| s.contains(MARK));
    let prefix = repo.rel(&root)?;
    match a.action {
        HookAction::Install => {
            if existing.is_some() && !ours {
                return Err(Error::usage(
                    format!("{shown} exists and is not deal's; it was left alone"),
                    format!(
                        "to chain, add this line to that hook: deal -C \"$(git rev-parse --show-toplevel){}\" check --staged || exit 1",
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
            std::fs::write(&hook, script(&prefix, &exe)).map_err(|e| Error::io(&hook, e))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| Error::io(&hook, e))?;
            }
            if !ctx.quiet {
                println!(
                    "{} {shown}: each commit now runs `deal check --staged`.",
                    if ours { "Updated" } else { "Installed" }
                );
            }
            Ok(0)
        }
        HookAction::Uninstall => {
            match (existing, ours) {
                (None, _) => {
                    if !ctx.quiet {
                        println!("No pre-commit hook at {shown}; nothing to do.");
                    }
                }
                (Some(_), false) => {
                    return Err(Error::usage(
                        format!("{shown} is not deal's hook; it was left alone"),
                        "remove the `deal … check --staged` line from it by hand, if you added one",
                    ));
                }
                (Some(_), true) => {
                    std::fs::remove_file(&hook).map_err(|e| Error::io(&hook, e))?;
                    if !ctx.quiet {
                        println!("Removed {shown}.");
                    }
                }
            }
            Ok(0)
        }
    }
}
