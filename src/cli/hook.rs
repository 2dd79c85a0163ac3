//! `deal hook install|uninstall`: git `pre-commit` and `pre-merge-commit`
//! hooks that run `deal -C <pipeline root> check --staged`.

use clap::{Args, ValueEnum};

use crate::base::error::Error;
use crate::cli::ctx::Ctx;
use crate::store::pipeline::find_root;
use crate::store::repo::Repo;

#[derive(Debug, Args)]
pub struct HookArgs {
    /// install or uninstall
    #[arg(value_enum)]
    pub action: HookAction,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum HookAction {
    Install,
    Uninstall,
}

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

/// One of deal's hooks as found: its path, what it holds now, and whether
/// that is deal's (it carries [`MARK`]).
struct Hook {
    path: std::path::PathBuf,
    text: Option<String>,
    ours: bool,
}

impl Hook {
    /// Reads the hook at `path` (absent: no text, not ours).
    fn read(path: std::path::PathBuf) -> Hook {
        let text = std::fs::read_to_string(&path).ok();
        let ours = text.as_deref().is_some_and(|s| s.contains(MARK));
        Hook { path, text, ours }
    }

    /// A hook someone else wrote: deal neither replaces nor removes it.
    fn foreign(&self) -> bool {
        self.text.is_some() && !self.ours
    }

    /// deal's hook with lines the user added: neither replaced nor removed.
    fn edited(&self) -> bool {
        self.ours && self.text.as_deref().is_some_and(|t| !pristine(t))
    }
}

/// The hooks of `hooks` that `which` picks, as shown to the user.
fn shown(hooks: &[Hook], which: impl Fn(&Hook) -> bool) -> Vec<String> {
    hooks
        .iter()
        .filter(|h| which(h))
        .map(|h| crate::base::diag::display_path(&h.path))
        .collect()
}

/// Refuses (exit 2) naming `hooks`: "`a` and `b` <verb> <rest>", the
/// verb as `(one, many)` says for their number; nothing to refuse when
/// there are none.
fn refuse_hooks(
    hooks: &[String],
    (one, many): (&str, &str),
    rest: &str,
    help: impl Into<String>,
) -> Result<(), Error> {
    if hooks.is_empty() {
        return Ok(());
    }
    let verb = if hooks.len() == 1 { one } else { many };
    Err(Error::usage(
        format!("{} {verb} {rest}", hooks.join(" and ")),
        help,
    ))
}

/// Refuses when one of deal's hooks holds lines deal did not write.
fn refuse_edited(edited: &[String]) -> Result<(), Error> {
    refuse_hooks(
        edited,
        ("has", "have"),
        "lines deal did not write; nothing was changed",
        "edit it by hand: keep your lines, and add or remove the `deal … check --staged` line yourself",
    )
}

/// Refuses an install over hooks that are not deal's, saying the line
/// that chains deal's check from them.
fn refuse_foreign_install(foreign: &[String], prefix: &str) -> Result<(), Error> {
    let dir = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    refuse_hooks(
        foreign,
        ("exists and is", "exist and are"),
        "not deal's; nothing was changed",
        format!(
            "to chain, add this line to each of them: deal -C \"$(git rev-parse --show-toplevel){dir}\" check --staged || exit 1"
        ),
    )
}

/// Refuses an uninstall while a hook that is not deal's is in place.
fn refuse_foreign_uninstall(foreign: &[String]) -> Result<(), Error> {
    refuse_hooks(
        foreign,
        ("is", "are"),
        "not deal's; nothing was changed",
        "remove the `deal … check --staged` line from it by hand, if you added one",
    )
}

/// Writes a hook's script, never through a link (`O_NOFOLLOW`: a link
/// planted since the check is an error), and makes it executable.
fn write_hook(hook: &std::path::Path, text: &str) -> Result<(), Error> {
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(hook)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| Error::io(hook, e))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(hook, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(hook, e))?;
    }
    Ok(())
}

/// The repository's hooks folder and deal's hooks in it, for one pipeline.
struct Site {
    root: std::path::PathBuf,
    repo: Repo,
    /// The hooks folder (git's own, or `core.hooksPath`).
    dir: std::path::PathBuf,
    /// The pipeline's folder in the repository (`""` at its root).
    prefix: String,
    hooks: Vec<Hook>,
}

impl Site {
    /// Finds the pipeline, its repository, and reads each of [`HOOKS`].
    fn open(ctx: &Ctx) -> Result<Site, Error> {
        let root = find_root(&ctx.start)?;
        let repo = Repo::require(&root, "run `git init` first")?;
        let dir = repo.hooks_dir();
        let prefix = repo.rel(&root)?;
        let hooks = HOOKS
            .iter()
            .map(|name| Hook::read(dir.join(name)))
            .collect();
        Ok(Site {
            root,
            repo,
            dir,
            prefix,
            hooks,
        })
    }

    /// Refuses a link (dangling or not) in the hooks folder: it could
    /// point anywhere (docs/safety.md). Nor is git's own hooks folder
    /// written when it is a link (a `core.hooksPath` the user set is
    /// theirs to point where they like).
    fn refuse_links(&self) -> Result<(), Error> {
        let is_link =
            |p: &std::path::Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink());
        if self.dir == self.repo.git().commondir().join("hooks") && is_link(&self.dir) {
            return Err(crate::base::safepath::link_error(&self.dir));
        }
        if let Some(h) = self.hooks.iter().find(|h| is_link(&h.path)) {
            return Err(crate::base::safepath::link_error(&h.path));
        }
        Ok(())
    }

    /// `deal hook install`: writes both hooks (replacing deal's own) and
    /// registers the merge driver.
    fn install(&self, ctx: &Ctx, foreign: &[String]) -> Result<i32, Error> {
        self.refuse_links()?;
        refuse_foreign_install(foreign, &self.prefix)?;
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "deal".into())
            .replace('\'', "");
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        for h in &self.hooks {
            write_hook(&h.path, &script(&self.prefix, &exe))?;
        }
        let attributes = register_merge_driver(&self.repo, &self.root, &exe)?;
        if !ctx.quiet {
            let updated = self.hooks.iter().any(|h| h.ours);
            println!(
                "{} {}: each commit and each merge now runs `deal check --staged`.",
                if updated { "Updated" } else { "Installed" },
                shown(&self.hooks, |_| true).join(" and ")
            );
            println!(
                "Registered the merge driver for deal files (merge.deal.driver; {}): commit it, so every clone's merges use it.",
                attributes
            );
        }
        Ok(0)
    }

    /// `deal hook uninstall`: removes deal's hooks and the merge driver.
    fn uninstall(&self, ctx: &Ctx, foreign: &[String]) -> Result<i32, Error> {
        refuse_foreign_uninstall(foreign)?;
        unregister_merge_driver(&self.repo, &self.root)?;
        let mut removed = Vec::new();
        for h in self.hooks.iter().filter(|h| h.ours) {
            std::fs::remove_file(&h.path).map_err(|e| Error::io(&h.path, e))?;
            removed.push(crate::base::diag::display_path(&h.path));
        }
        if !ctx.quiet {
            if removed.is_empty() {
                println!(
                    "No deal hook in {}; nothing to do.",
                    crate::base::diag::display_path(&self.dir)
                );
            } else {
                println!("Removed {}.", removed.join(" and "));
            }
        }
        Ok(0)
    }
}

pub fn run(ctx: &Ctx, a: HookArgs) -> Result<i32, Error> {
    let site = Site::open(ctx)?;
    let foreign = shown(&site.hooks, Hook::foreign);
    refuse_edited(&shown(&site.hooks, Hook::edited))?;
    match a.action {
        HookAction::Install => site.install(ctx, &foreign),
        HookAction::Uninstall => site.uninstall(ctx, &foreign),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(text: Option<String>) -> Hook {
        let ours = text.as_deref().is_some_and(|s| s.contains(MARK));
        Hook {
            path: "/repo/.git/hooks/pre-commit".into(),
            text,
            ours,
        }
    }

    fn message(e: Error) -> (String, String) {
        match e {
            Error::Usage { message, help, .. } => (message, help),
            other => panic!("not a usage error: {other:?}"),
        }
    }

    #[test]
    fn the_script_runs_check_staged_in_the_pipeline_folder() {
        let s = script("sales/eu", "/opt/deal");
        assert!(s.starts_with("#!/bin/sh\n# installed by `deal hook install`;"));
        assert!(s.contains("else deal='/opt/deal'; fi\n"));
        assert!(s.ends_with("exec \"$deal\" -C \"$top/sales/eu\" check --staged\n"));
        assert!(script("", "deal").ends_with("-C \"$top\" check --staged\n"));
    }

    #[test]
    fn deals_own_hook_for_another_folder_or_binary_is_still_pristine() {
        assert!(pristine(&script("sales", "/usr/local/bin/deal")));
        let mut added = script("", "deal");
        added.push_str("echo mine\n");
        assert!(!pristine(&added));
    }

    #[test]
    fn a_hook_is_foreign_edited_or_replaceable_by_what_it_holds() {
        let absent = hook(None);
        assert!(!absent.foreign() && !absent.edited());
        let theirs = hook(Some("#!/bin/sh\nmake lint\n".into()));
        assert!(theirs.foreign() && !theirs.edited());
        let ours = hook(Some(script("", "/x/deal")));
        assert!(!ours.foreign() && !ours.edited());
        let grown = hook(Some(format!("{}make lint\n", script("", "deal"))));
        assert!(!grown.foreign() && grown.edited());
    }

    #[test]
    fn an_install_over_foreign_hooks_says_the_line_that_chains_deal() {
        assert!(refuse_foreign_install(&[], "").is_ok());
        let (msg, help) = message(refuse_foreign_install(&["a".into()], "").unwrap_err());
        assert_eq!(msg, "a exists and is not deal's; nothing was changed");
        assert!(
            help.ends_with("deal -C \"$(git rev-parse --show-toplevel)\" check --staged || exit 1")
        );
        let (msg, help) =
            message(refuse_foreign_install(&["a".into(), "b".into()], "sales").unwrap_err());
        assert_eq!(msg, "a and b exist and are not deal's; nothing was changed");
        assert!(help.contains("--show-toplevel)/sales\" check"));
    }

    #[test]
    fn edited_hooks_are_refused_in_the_right_number() {
        assert!(refuse_edited(&[]).is_ok());
        let (msg, _) = message(refuse_edited(&["h".into()]).unwrap_err());
        assert_eq!(msg, "h has lines deal did not write; nothing was changed");
        let (msg, _) = message(refuse_foreign_uninstall(&["a".into(), "b".into()]).unwrap_err());
        assert_eq!(msg, "a and b are not deal's; nothing was changed");
    }
}
