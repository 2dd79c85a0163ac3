//! The integration tests: one binary, a small fluent builder, real files and
//! real git repositories in temp dirs. "Now" is pinned with SOURCE_DATE_EPOCH.

mod check;
mod completion;
mod edits;
mod errors;
mod forecast;
mod gate;
mod history;
mod hostile;
mod import;
mod init;
mod leads;
mod merges;
mod moves;
mod notes;
mod notify;
mod report;
mod safety;
mod serve;
mod show_list;
mod tour;
mod workflow;

use std::path::{Path, PathBuf};
use std::process::Command;

/// 2026-11-27T12:00:00Z.
pub const NOW: &str = "1795780800";

/// A test pipeline: a temp dir with a pipeline.yaml (the default seven
/// stages, team alice/bob/dana) and whatever deals the test adds.
pub struct Test {
    pub dir: tempfile::TempDir,
    /// HOME for deal and git: a `.gitconfig` with Alice's identity, so the
    /// machine's own git config never leaks into a test.
    pub home: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

pub fn default_config() -> String {
    let team = [
        ("alice", "Alice Smith", "alice@example.com"),
        ("bob", "Bob Jones", "bob@example.com"),
        ("dana", "Dana Lee", "dana@example.com"),
    ]
    .map(|(h, n, e)| (h.to_string(), n.to_string(), e.to_string()));
    deal::default_yaml(&team, deal::Qualification::Bant)
}

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Test {
        let t = Test::empty();
        t.file("pipeline.yaml", &default_config())
    }

    /// A temp dir with nothing in it.
    pub fn empty() -> Test {
        let home = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            home.path().join(".gitconfig"),
            "[user]\n\tname = Alice Smith\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        let h = home.path().display().to_string();
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            env: vec![
                ("SOURCE_DATE_EPOCH".into(), NOW.into()),
                ("HOME".into(), h.clone()),
                ("XDG_CONFIG_HOME".into(), format!("{h}/.config")),
                ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ],
            home,
            args: Vec::new(),
            cwd: None,
        }
    }

    /// Makes the root a git repository with everything committed.
    pub fn repo(self) -> Test {
        self.git(&["init", "-q"]);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "seed"]);
        self
    }

    /// A snapshot of HEAD, the index, `git status` and every file's bytes
    /// outside `.git`, to show that a failed command changed nothing.
    pub fn state(&self) -> String {
        let mut s = format!(
            "HEAD {}\nindex:\n{}status:\n{}files:\n",
            self.git(&["rev-parse", "--verify", "-q", "HEAD"]).trim(),
            self.git(&["ls-files", "-s"]),
            self.git(&["status", "--porcelain", "--untracked-files=all"]),
        );
        let mut files: Vec<_> = walk(self.path())
            .into_iter()
            .filter(|p| !p.starts_with(self.path().join(".git")))
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap_or_default();
            s.push_str(&format!(
                "{} {}\n",
                f.strip_prefix(self.path()).unwrap().display(),
                String::from_utf8_lossy(&bytes).replace('\n', "\\n")
            ));
        }
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (parents created), relative to the root.
    pub fn file(self, rel: &str, text: &str) -> Test {
        self.bytes(rel, text.as_bytes())
    }

    pub fn bytes(self, rel: &str, data: &[u8]) -> Test {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        self
    }

    /// Writes a deal under `deals/`.
    pub fn deal(self, rel: &str, text: &str) -> Test {
        self.file(&format!("deals/{rel}"), text)
    }

    /// Replaces a string in pipeline.yaml.
    pub fn config_replace(self, from: &str, to: &str) -> Test {
        let p = self.path().join("pipeline.yaml");
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains(from), "pipeline.yaml has no {from:?}");
        std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
        self
    }

    pub fn args(mut self, a: &[&str]) -> Test {
        self.args = a.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Test {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Runs from this folder (relative to the root) instead of the root.
    pub fn cwd(mut self, rel: &str) -> Test {
        self.cwd = Some(self.path().join(rel));
        self
    }

    /// Runs `git` in the root, with the test's HOME; asserts success.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(self.path(), args)
    }

    /// Runs `git` in `dir` with the test's HOME; asserts success.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git_cmd(dir, args, None);
        assert!(out.code == 0, "git {args:?}: {}", out.stderr);
        out.stdout
    }

    /// Runs `git` in `dir` with the test's HOME, optionally feeding stdin.
    pub fn git_cmd(&self, dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_DATE", "2026-11-27T12:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-27T12:00:00Z")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        run_with_stdin(cmd, stdin.unwrap_or(""))
    }

    /// Runs `git` in the root with its commits dated `when` (RFC 3339);
    /// asserts success.
    pub fn git_at(&self, when: &str, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(self.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("GIT_AUTHOR_DATE", when)
            .env("GIT_COMMITTER_DATE", when);
        let out = run_with_stdin(cmd, "");
        assert!(out.code == 0, "git {args:?}: {}", out.stderr);
        out.stdout
    }

    /// Runs `deal` with `a` in the root, feeding `input` on stdin.
    pub fn cmd_stdin(&self, a: &[&str], input: &str) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_deal"));
        cmd.args(a)
            .current_dir(self.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        run_with_stdin(cmd, input)
    }

    /// Runs `deal` with `a`, keeping the test for more runs.
    pub fn cmd(&self, a: &[&str]) -> Output {
        let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        run_deal(self.cwd.as_deref().unwrap_or(self.path()), &args, &self.env)
    }

    /// The environment every run gets (HOME, SOURCE_DATE_EPOCH, …).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// Runs `deal` with `a` and extra environment variables.
    pub fn cmd_env(&self, env: &[(&str, &str)], a: &[&str]) -> Output {
        let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        let mut all = self.env.clone();
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        run_deal(self.cwd.as_deref().unwrap_or(self.path()), &args, &all)
    }

    pub fn run(&self) -> Output {
        run_deal(
            self.cwd.as_deref().unwrap_or(self.path()),
            &self.args,
            &self.env,
        )
    }
}

/// Runs `cmd`, writing `input` to its stdin, and collects its output.
fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    use std::io::Write;
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("the command runs");
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(input.as_bytes())
        .expect("stdin takes the input");
    let out = child.wait_with_output().expect("the command ends");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(p.join(""));
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2026-11-27T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-27T12:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn run_deal(cwd: &Path, args: &[String], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deal"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env("COLUMNS", "120");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("deal runs");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

impl Output {
    pub fn code(self, c: i32) -> Output {
        assert_eq!(
            self.code, c,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stdout(self, want: &str) -> Output {
        assert_eq!(
            self.stdout, want,
            "stdout differs; stderr:\n{}",
            self.stderr
        );
        self
    }

    pub fn stderr(self, want: &str) -> Output {
        assert_eq!(
            self.stderr, want,
            "stderr differs; stdout:\n{}",
            self.stdout
        );
        self
    }

    pub fn stdout_has(self, part: &str) -> Output {
        assert!(
            self.stdout.contains(part),
            "stdout lacks {part:?}:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stderr_has(self, part: &str) -> Output {
        assert!(
            self.stderr.contains(part),
            "stderr lacks {part:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// A deal that meets every criterion up to (and including) `negotiation`'s
/// entry: contact, engaged, a filled BANT summary, a confirmed problem
/// statement, a reviewed proposal with a next step.
pub const GOOD_BODY: &str = "\
# Acme

## Qualification (BANT)
### Budget
50-80k EUR approved for FY27.
### Authority
The CTO signs; procurement can veto.
### Need
Their clusters are hand-built and fail audits.
### Timeline
Go-live before the March audit.

## Problem statement
### In their words
\"We cannot pass an audit with what we run today.\"
### Impact
Two engineers full time on upkeep.
### Integration requirements
GitLab CI and Vault.
### Compliance constraints
ISO 27001, EU data residency.
### Budget approval chain
CTO, then CFO above 50k.
";

/// Front-matter of a deal that has passed every stage up to proposal.
pub fn good_deal(stage_lines: &str, extra: &str) -> String {
    format!(
        "---\ntitle: Acme Corp, Kubernetes migration\ncompany: Acme Corp\nowner: bob\nvalue: 48000\n\
contact:\n  name: Jane Doe\n  email: jane@acme.example\nengaged: 2026-11-03\n\
problem:\n  confirmed_by: Jane Doe\n  confirmed_on: 2026-11-12\n\
proposal:\n  reviewed_on: 2026-11-20\nnext_step:\n  action: Send SOW draft\n  due: 2026-11-30\n\
expected_close: 2026-12-20\nstages:\n{stage_lines}{extra}---\n{GOOD_BODY}"
    )
}

/// Runs `deal` as of `date` (midnight UTC): "now" and the commit dates.
pub fn at(t: &Test, date: &str, args: &[&str]) -> Output {
    let ts = format!("{date}T00:00:00Z");
    let epoch = chrono::DateTime::parse_from_rfc3339(&ts)
        .unwrap()
        .timestamp()
        .to_string();
    t.cmd_env(
        &[
            ("SOURCE_DATE_EPOCH", &epoch),
            ("GIT_AUTHOR_DATE", &ts),
            ("GIT_COMMITTER_DATE", &ts),
        ],
        args,
    )
}

/// Runs `deal` as of `date` (midnight UTC), as the git user `name <email>`
/// (author and committer), the way a teammate's own machine would.
pub fn at_as(t: &Test, name: &str, email: &str, date: &str, args: &[&str]) -> Output {
    let ts = format!("{date}T00:00:00Z");
    let epoch = chrono::DateTime::parse_from_rfc3339(&ts)
        .unwrap()
        .timestamp()
        .to_string();
    t.cmd_env(
        &[
            ("SOURCE_DATE_EPOCH", &epoch),
            ("GIT_AUTHOR_DATE", &ts),
            ("GIT_COMMITTER_DATE", &ts),
            ("GIT_AUTHOR_NAME", name),
            ("GIT_AUTHOR_EMAIL", email),
            ("GIT_COMMITTER_NAME", name),
            ("GIT_COMMITTER_EMAIL", email),
        ],
        args,
    )
}

/// Checks that every key of `want` is in `got` with the same value.
pub fn assert_subset(want: &serde_json::Value, got: &serde_json::Value, path: &str) {
    match (want, got) {
        (serde_json::Value::Object(w), serde_json::Value::Object(g)) => {
            for (k, v) in w {
                let gv = g.get(k).unwrap_or_else(|| panic!("{path}.{k} is missing"));
                assert_subset(v, gv, &format!("{path}.{k}"));
            }
        }
        (serde_json::Value::Array(w), serde_json::Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{path}: length");
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                assert_subset(a, b, &format!("{path}[{i}]"));
            }
        }
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => {
            assert!(
                (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9,
                "{path}: want {a}, got {b}"
            );
        }
        _ => assert_eq!(want, got, "{path}"),
    }
}

/// Whether the external `tool` (chromium, pre-commit) can run. When it
/// cannot, the calling test should return early: this prints a `SKIPPED`
/// line straight to the process's stderr, which `cargo test` does not
/// capture, so the notice shows beside `... ok` for a passing test. With
/// `CI` set the tool is required, and its absence fails the test.
pub fn have_tool(tool: &str, test: &str, install: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if found {
        return true;
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: `{tool}` is required when CI is set ({install}; .ci/run installs it)");
    }
    use std::io::Write;
    // Not eprintln!: the test harness captures that for passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: `{tool}` is not on PATH ({install}); set CI=1 to require it"
    );
    false
}
