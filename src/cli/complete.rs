//! Dynamic shell completion (README, "Shell completion"): the values a
//! person types, read from the pipeline at hand (the current folder, as
//! `deal` itself finds it) each time the shell asks: slugs, stage ids with
//! `won` and `lost`, team handles and lost reasons. Note kinds, formats and
//! the other closed sets come from the clap definitions themselves.
//!
//! Each list is read as cheaply as it can be: slugs are file names (no deal
//! is parsed); the rest is `pipeline.yaml`. Any error yields no candidates,
//! so completion never prints an error into the shell.

use clap_complete::CompletionCandidate;

use crate::model::config::Config;

/// Set when a `-C DIR` typed cannot be resolved: then no candidate at
/// all, rather than the current folder's.
static NO_DIR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The shell asking (`COMPLETE`), read before clap_complete removes it.
static SHELL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `~`, `~/…`, `$HOME` and `${HOME}` at the start of a typed folder, as the
/// shell will expand them when the command runs (the shell hands the
/// completer the words as typed); quotes around it removed.
fn expand_dir(typed: &str) -> Option<std::path::PathBuf> {
    let t = typed
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| typed.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(typed);
    let home = || std::env::var_os("HOME").filter(|h| !h.is_empty());
    for prefix in ["${HOME}", "$HOME", "~"] {
        if let Some(rest) = t.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            let mut p = std::path::PathBuf::from(home()?);
            p.push(rest.trim_start_matches('/'));
            return Some(p);
        }
    }
    // Another `~user` or variable: not resolvable here.
    if t.starts_with('~') || t.contains('$') {
        return None;
    }
    Some(t.replace("\\ ", " ").into())
}

/// Notes the shell asking; with `-C DIR` among the words typed before the
/// one being completed,
/// completes as `deal` will run: from DIR (so its slugs, stages and team).
/// A DIR that cannot be resolved (no such folder, `~other`) gives no
/// candidates.
pub fn follow_dir_flag() {
    let _ = SHELL.set(std::env::var("COMPLETE").unwrap_or_default());
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let Some(dashes) = args.iter().position(|a| a == "--") else {
        return;
    };
    // The words typed, without the one being completed (the last).
    let typed = &args[dashes + 1..args.len().saturating_sub(1).max(dashes + 1)];
    let mut dir = None;
    for (i, a) in typed.iter().enumerate() {
        let a = a.to_string_lossy();
        if a == "-C" {
            dir = typed.get(i + 1).map(|d| d.to_string_lossy().into_owned());
        } else if let Some(rest) = a.strip_prefix("-C") {
            dir = Some(rest.to_string());
        }
    }
    if let Some(d) = dir {
        let ok = expand_dir(&d).is_some_and(|p| std::env::set_current_dir(p).is_ok());
        if !ok {
            NO_DIR.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// A candidate as the shell asking inserts it: bash puts COMPREPLY's words
/// in the line as they are, so a space or another character special to
/// the shell is escaped with `\` (`went\ dark`); zsh's `_describe` reads
/// `value:help`, so a `:` in the value is escaped; fish quotes by itself.
fn for_shell(v: String) -> String {
    match SHELL.get().map(String::as_str) {
        Some("bash") => {
            let mut out = String::with_capacity(v.len());
            for c in v.chars() {
                if !(c.is_alphanumeric() || "-_.,+@%/=:".contains(c)) {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
        Some("zsh") => v.replace(':', "\\:"),
        _ => v,
    }
}

fn config() -> Option<(std::path::PathBuf, Config)> {
    if NO_DIR.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let root = crate::store::pipeline::find_root(&cwd).ok()?;
    let cfg = crate::model::config::load(&root).ok()?;
    Some((root, cfg))
}

fn candidates(
    values: impl IntoIterator<Item = (String, Option<String>)>,
) -> Vec<CompletionCandidate> {
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|(v, _)| seen.insert(v.clone()))
        .map(|(v, help)| CompletionCandidate::new(for_shell(v)).help(help.map(Into::into)))
        .collect()
}

/// Every deal's slug, with its stage folder as help.
pub fn slugs() -> Vec<CompletionCandidate> {
    let Some((root, cfg)) = config() else {
        return Vec::new();
    };
    let mut entries: Vec<(String, Option<String>)> =
        crate::store::pipeline::worktree_entries(&root, &cfg)
            .into_iter()
            .filter(|e| e.rel.extension().is_some_and(|x| x == "md"))
            .map(|e| {
                let stage = e
                    .rel
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|s| s.to_string_lossy().into_owned());
                (crate::store::pipeline::slug_of(&e.rel), stage)
            })
            .collect();
    entries.sort();
    candidates(entries)
}

/// The stage ids, then `won` and `lost`.
pub fn stages() -> Vec<CompletionCandidate> {
    let Some((_, cfg)) = config() else {
        return Vec::new();
    };
    candidates(
        cfg.stages
            .iter()
            .map(|s| (s.id.clone(), Some(s.name.clone())))
            .chain([
                ("won".to_string(), Some("closed, won".to_string())),
                (
                    "lost".to_string(),
                    Some("closed, lost (--reason)".to_string()),
                ),
            ]),
    )
}

/// The team's handles, with names as help.
pub fn handles() -> Vec<CompletionCandidate> {
    let Some((_, cfg)) = config() else {
        return Vec::new();
    };
    candidates(
        cfg.team
            .iter()
            .map(|(h, m)| (h.clone(), m.name.clone().filter(|n| !n.is_empty()))),
    )
}

/// The pipeline's `lost_reasons`.
pub fn lost_reasons() -> Vec<CompletionCandidate> {
    let Some((_, cfg)) = config() else {
        return Vec::new();
    };
    candidates(cfg.lost_reasons.iter().map(|r| (r.clone(), None)))
}
