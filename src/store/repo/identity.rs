//! Who commits: git's own resolution of the identities and config
//! (`git var -l`, started early), and the strict checks `git commit` makes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::Signature;

use crate::base::error::Error;

use super::repository::*;

/// `git var -l` in `dir`, its output captured.
pub(super) fn var_list(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["var", "-l"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

/// `git var -l` started ahead of need: the folder it runs in, and the
/// running process.
pub(super) static PREFETCH: std::sync::Mutex<Option<(PathBuf, std::process::Child)>> =
    std::sync::Mutex::new(None);

/// Starts `git var -l` in `dir` (a folder of the repository a command is
/// about to commit to) in the background: git's answer then arrives while
/// the command loads the deal and checks its criteria on the other core,
/// instead of after them (a tenth of `deal move`). [`Repo`] takes it when
/// it needs the identities; a command that ends first leaves it to exit.
pub fn prefetch_vars(dir: &Path) {
    let Ok(mut slot) = PREFETCH.lock() else {
        return;
    };
    if slot.is_none()
        && let Ok(dir) = std::fs::canonicalize(dir)
        && let Ok(child) = var_list(&dir).spawn()
    {
        *slot = Some((dir, child));
    }
}

/// The git identity (`user.name`, `user.email`) in effect at `path`, as
/// git resolves it (`GIT_CONFIG_GLOBAL`, `GIT_CONFIG_NOSYSTEM`, includes).
pub fn identity(path: &Path) -> Option<(String, String)> {
    let name = git_config(path, "user.name")?;
    let email = git_config(path, "user.email")?;
    Some((name, email))
}

/// The identity git would commit as in `dir`, however it is given
/// (`user.name`/`user.email`, or only `GIT_AUTHOR_*`/`GIT_COMMITTER_*`
/// or `EMAIL` in the environment), judged as [`Repo::ident`] judges it:
/// git's strict `git var` for author and committer, with an email someone
/// set (never one guessed from the host name). The author's name and email.
pub fn commit_identity(dir: &Path) -> Option<(String, String)> {
    let explicit = |who: &str, email: &str| {
        [
            std::env::var(format!("GIT_{}_EMAIL", who.to_uppercase())).ok(),
            git_config(dir, &format!("{who}.email")),
            git_config(dir, "user.email"),
            std::env::var("EMAIL").ok(),
        ]
        .into_iter()
        .flatten()
        .any(|e| e.trim() == email)
    };
    let (name, email, _) = git_var_ident(dir, "GIT_AUTHOR_IDENT").ok()?;
    let (c_name, c_email, _) = git_var_ident(dir, "GIT_COMMITTER_IDENT").ok()?;
    (!name.trim().is_empty()
        && !c_name.trim().is_empty()
        && explicit("author", &email)
        && explicit("committer", &c_email))
    .then_some((name, email))
}

/// A config value as `git config --get` resolves it in `dir` (every file git
/// reads, with its environment), or `None` when unset or git cannot run.
pub fn git_config(dir: &Path, key: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["config", "--get", key])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let v = String::from_utf8(out.stdout).ok()?;
    let v = v.trim_end_matches('\n');
    (out.status.success() && !v.trim().is_empty()).then(|| v.to_string())
}

/// `git var GIT_AUTHOR_IDENT` (or `GIT_COMMITTER_IDENT`) in `dir`: the
/// identity and date git would put on a commit, or git's refusal.
pub(super) fn git_var_ident(dir: &Path, var: &str) -> Result<(String, String, git2::Time), String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["var", var])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let fatal = err
            .lines()
            .find_map(|l| l.strip_prefix("fatal: "))
            .unwrap_or(err.trim());
        return Err(fatal.to_string());
    }
    let line = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    parse_ident(&line).ok_or_else(|| format!("git printed an identity deal cannot read: {line}"))
}

/// `Name <email> 1700000000 +0100` into its parts.
pub(super) fn parse_ident(line: &str) -> Option<(String, String, git2::Time)> {
    let lt = line.rfind('<')?;
    let gt = line.rfind('>')?;
    let name = line[..lt].trim().to_string();
    let email = line.get(lt + 1..gt)?.to_string();
    let mut rest = line[gt + 1..].split_whitespace();
    let secs: i64 = rest.next()?.parse().ok()?;
    let z = rest.next().unwrap_or("+0000");
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let d = z.trim_start_matches(['+', '-']);
    let h: i32 = d.get(..2)?.parse().ok()?;
    let m: i32 = d.get(2..4)?.parse().ok()?;
    Some((name, email, git2::Time::new(secs, sign * (h * 60 + m))))
}

/// Author and committer.
pub struct Ident {
    pub author: Signature<'static>,
    pub committer: Signature<'static>,
}

impl Repo {
    /// Author and committer exactly as `git commit` would take them: asked
    /// of git itself (`git var GIT_AUTHOR_IDENT`), so `GIT_CONFIG_GLOBAL`,
    /// `GIT_CONFIG_NOSYSTEM`, includes, conditional includes and
    /// `GIT_AUTHOR_*`/`GIT_COMMITTER_*` all count. Where git would refuse
    /// to commit for lack of identity, this refuses too.
    /// `git var -l` in the work tree: git's own resolution of the commit
    /// identities and of every config value (GIT_CONFIG_GLOBAL,
    /// GIT_CONFIG_NOSYSTEM, includes, `git -c`, GIT_AUTHOR_*), in one
    /// process: three `git var`/`git config` runs cost a third of a move.
    pub(super) fn vars(&self) -> &[(String, String)] {
        self.vars.get_or_init(|| {
            let early = PREFETCH.lock().ok().and_then(|mut slot| slot.take());
            let out = match early {
                Some((dir, child)) if dir.starts_with(&self.workdir) => child.wait_with_output(),
                other => {
                    if let Some((_, mut child)) = other {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    var_list(&self.workdir).output()
                }
            };
            match out {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                    .lines()
                    // A key with no value (`[commit] gpgsign`) has no `=`.
                    .map(|l| l.split_once('=').unwrap_or((l, "")))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                _ => Vec::new(),
            }
        })
    }

    /// The last value `git var -l` gives for `key`.
    pub(super) fn var(&self, key: &str) -> Option<&str> {
        self.vars()
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn ident(&self) -> Result<Ident, Error> {
        let sig = |var: &str| -> Result<Signature<'static>, Error> {
            // `git var -l` leaves out an identity git would refuse; then
            // `git var <VAR>` says why.
            // `git var -l` is lenient: it also prints an identity guessed
            // from the host name. Only an email someone set counts here;
            // anything else asks git's strict `git var <VAR>`.
            let who = if var == "GIT_AUTHOR_IDENT" {
                "author"
            } else {
                "committer"
            };
            let explicit = |email: &str| {
                let env = |k: &str| std::env::var(k).ok();
                [
                    env(&format!("GIT_{}_EMAIL", who.to_uppercase())),
                    self.var(&format!("{who}.email")).map(str::to_string),
                    self.var("user.email").map(str::to_string),
                    env("EMAIL"),
                ]
                .into_iter()
                .flatten()
                .any(|e| e.trim() == email)
            };
            let known = self
                .var(var)
                .and_then(parse_ident)
                .filter(|(name, email, _)| !name.trim().is_empty() && explicit(email));
            let (name, email, time) = match known {
                Some(k) => Ok(k),
                None => git_var_ident(&self.workdir, var),
            }
            .map_err(|why| {
                let what = ["user.name", "user.email"]
                    .into_iter()
                    .find(|k| git_config(&self.workdir, k).is_none())
                    .map(|k| format!("`{k}` is not set"))
                    .unwrap_or(why);
                Error::git(
                    format!("git has no identity: {what}, so deal cannot commit"),
                    "run `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`, or pass --no-commit",
                )
            })?;
            Signature::new(&name, &email, &time).map_err(|e| git_err("bad git identity", e))
        };
        Ok(Ident {
            author: sig("GIT_AUTHOR_IDENT")?,
            committer: sig("GIT_COMMITTER_IDENT")?,
        })
    }

    /// Whether `commit.gpgsign` is on, as git resolves it; a value git
    /// would refuse is refused too (never an unsigned commit by mistake).
    pub(super) fn gpgsign(&self) -> Result<bool, Error> {
        let Some(v) = self.var("commit.gpgsign") else {
            return Ok(false);
        };
        // git's booleans: a key with no value is true; integers count.
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "on" => Ok(true),
            "false" | "no" | "off" => Ok(false),
            n => n.parse::<i64>().map(|i| i != 0).map_err(|_| {
                Error::git(
                    format!("git config has a bad boolean value for commit.gpgsign: `{v}`; nothing was changed"),
                    "set it to true or false: `git config commit.gpgsign true`",
                )
            }),
        }
    }
}
