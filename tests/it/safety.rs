//! docs/safety.md, "Reading and writing safely": parallel writers, kills at every
//! step, symlinks planted in a cloned repository, pathological input,
//! closed pipes, unreadable deals, file names, CSV formulas, identity.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{GOOD_BODY, Output, Test, good_deal};

pub(crate) const LEAD: &str =
    "---\ntitle: Acme\nowner: alice\ncontact:\n  email: a@acme.example\n---\n# Acme\n";

/// `deal` with the test's environment, not yet run.
pub(crate) fn deal_cmd(t: &Test, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deal"));
    cmd.args(args)
        .current_dir(t.path())
        .env_remove("NO_COLOR")
        .envs(t.env_vars())
        .stdin(Stdio::null());
    cmd
}

pub(crate) fn output_of(out: std::process::Output) -> Output {
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// `git fsck` and `git status` are clean.
fn assert_clean(t: &Test) {
    let fsck = t.git_cmd(t.path(), &["fsck", "--no-progress"], None);
    assert_eq!(fsck.code, 0, "git fsck: {}{}", fsck.stdout, fsck.stderr);
    assert!(
        !fsck.stdout.contains("error") && !fsck.stderr.contains("error"),
        "{fsck:?}"
    );
    assert_eq!(
        t.git(&["status", "--porcelain"]),
        "",
        "git status is not clean"
    );
}

// ---------------------------------------------------------------- writers

#[test]
fn parallel_sets_and_news_keep_every_value() {
    // Twenty debug builds queue for the lock on a busy 2-core machine: wait
    // longer than the 10 s a user gets, so the test checks what is kept,
    // not the machine's speed.
    let t = Test::new()
        .deal("01-prospecting/acme.md", LEAD)
        .repo()
        .env("DEAL_TEST_LOCK_WAIT_MS", "120000");
    for round in 0..3 {
        let mut children = Vec::new();
        for i in 0..10 {
            let kv = format!("field_{round}_{i}=value {round} {i}");
            children.push((
                format!("set {i}"),
                deal_cmd(&t, &["set", "acme", &kv])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            ));
            let title = format!("Lead {round} {i}");
            children.push((
                format!("new {i}"),
                deal_cmd(&t, &["new", &title, "--owner", "bob"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            ));
        }
        for (what, c) in children {
            let out = output_of(c.wait_with_output().unwrap());
            // Every command is acknowledged: none gives up on the lock.
            assert_eq!(out.code, 0, "round {round}, {what}: {}", out.stderr);
        }
        let acme = t.git(&["show", "HEAD:deals/01-prospecting/acme.md"]);
        for i in 0..10 {
            assert!(
                acme.contains(&format!("field_{round}_{i}: value {round} {i}")),
                "round {round}: field {i} is lost:\n{acme}"
            );
            let slug = format!("lead-{round}-{i}");
            assert!(
                t.path()
                    .join(format!("deals/01-prospecting/{slug}.md"))
                    .exists()
            );
            t.git(&[
                "cat-file",
                "-e",
                &format!("HEAD:deals/01-prospecting/{slug}.md"),
            ]);
        }
        // Twenty commits, one per command; nothing staged, nothing deleted.
        let n: usize = t
            .git(&["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .unwrap();
        assert_eq!(n, 1 + 20 * (round + 1));
        assert_clean(&t);
    }
}

#[test]
fn a_held_lock_names_its_holder_and_readers_do_not_wait() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    let path = t.path().join(".git/deal.lock");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(&path)
        .unwrap();
    f.lock().unwrap();
    use std::io::Write as _;
    writeln!(f, "pid 4242 (deal set acme held-by-the-test)").unwrap();
    let before = t.state();
    t.cmd_env(
        &[("DEAL_TEST_LOCK_WAIT_MS", "300")],
        &["set", "acme", "value=1"],
    )
    .code(2)
    .stderr_has("pid 4242 (deal set acme held-by-the-test)")
    .stderr_has("deal.lock");
    assert_eq!(t.state(), before);
    // Readers never lock.
    t.cmd(&["list"]).code(0).stdout_has("acme");
    t.cmd(&["check"]).code(0);
    // Released: the writer goes through.
    f.unlock().unwrap();
    t.cmd(&["set", "acme", "value=1"]).code(0);
}

#[test]
fn a_stale_index_lock_says_how_to_remove_it() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    std::fs::write(t.path().join(".git/index.lock"), "").unwrap();
    let before = t.state();
    let out = t.cmd(&["set", "acme", "value=1"]).code(2);
    assert!(
        out.stderr.contains("the git index is locked"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "rm {}",
            t.path().join(".git/index.lock").display()
        )) || out.stderr.contains("rm /"),
        "{}",
        out.stderr
    );
    assert_eq!(t.state(), before);
}

/// A pipeline with `n` committed deals in prospecting, each able to move
/// to outreach.
fn large_pipeline(n: usize) -> Test {
    let t = Test::new();
    let dir = t.path().join("deals/01-prospecting");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("lead-{i:04}.md")),
            format!("---\ntitle: Lead {i}\nowner: alice\ncontact:\n  email: l{i}@x.example\n---\n# Lead {i}\n"),
        )
        .unwrap();
    }
    t.repo()
}

#[test]
fn a_move_killed_anywhere_never_leaves_a_head_the_index_undoes() {
    let t = large_pipeline(1500);
    let steps = ["objects", "renamed", "worktree", "index", "head"];
    let (mut nothing, mut staged, mut committed) = (0, 0, 0);
    for run in 0..50 {
        let slug = format!("lead-{run:04}");
        let old = format!("deals/01-prospecting/{slug}.md");
        let new = format!("deals/02-outreach/{slug}.md");
        let head_before = t.git(&["rev-parse", "HEAD"]);
        let mut cmd = deal_cmd(&t, &["move", &slug, "outreach"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        if run < 25 {
            // A kill right after each step, in turn.
            cmd.env("DEAL_TEST_KILL_AT", steps[run % steps.len()]);
            let status = cmd.status().unwrap();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(9),
                "run {run}: not killed"
            );
        } else {
            // A kill at a moment spread over the whole write.
            cmd.env("DEAL_TEST_STEP_DELAY_MS", "15");
            let mut child = cmd.spawn().unwrap();
            std::thread::sleep(Duration::from_millis(((run - 25) * 4) as u64));
            let _ = child.kill();
            let _ = child.wait();
        }
        let moved = t.git(&["rev-parse", "HEAD"]) != head_before;
        let cached = t.git(&["diff", "--cached", "--name-status"]);
        let in_head_new = t
            .git_cmd(t.path(), &["cat-file", "-e", &format!("HEAD:{new}")], None)
            .code
            == 0;
        if moved {
            // The commit holds the move, and the index agrees with it.
            assert!(in_head_new, "run {run}: HEAD moved without the move");
            assert_eq!(cached, "", "run {run}: the index undoes HEAD's move");
            committed += 1;
        } else if cached.is_empty() {
            nothing += 1;
        } else {
            // Staged, not committed: the whole rename, never half of it.
            assert!(
                cached.contains(&new) && cached.contains(&old),
                "run {run}: {cached}"
            );
            staged += 1;
        }
        // Never a deal in two places in the index, nor in the work tree,
        // nor an empty one.
        let ls = t.git(&["ls-files", &old, &new]);
        assert_eq!(ls.lines().count(), 1, "run {run}: {ls}");
        let copies: Vec<u64> = [&old, &new]
            .iter()
            .filter_map(|p| std::fs::metadata(t.path().join(p)).ok())
            .map(|m| m.len())
            .collect();
        assert!(
            copies.len() == 1 && copies[0] > 0,
            "run {run}: work tree copies {copies:?}"
        );
        // Clean up for the next run: a kill mid index write leaves its lock,
        // and one mid ref update the branch's. deal names both, with the rm.
        if t.path().join(".git/refs/heads/main.lock").exists() {
            t.cmd(&["set", &format!("lead-{:04}", run + 1), "value=1"])
                .code(2)
                .stderr_has("refs/heads/main.lock");
        }
        let _ = std::fs::remove_file(t.path().join(".git/index.lock"));
        let _ = std::fs::remove_file(t.path().join(".git/refs/heads/main.lock"));
        t.git(&["reset", "-q", "--hard", "HEAD"]);
        t.git(&["clean", "-qfd"]);
    }
    assert!(
        nothing > 0 && staged > 0 && committed > 0,
        "{nothing}/{staged}/{committed}"
    );
    let fsck = t.git_cmd(t.path(), &["fsck", "--no-progress"], None);
    assert_eq!(fsck.code, 0, "{fsck:?}");
}

#[test]
fn identity_comes_from_gits_own_config_resolution() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    // GIT_CONFIG_GLOBAL replaces ~/.gitconfig (Alice), and its include
    // gives the identity.
    let inc = t.home.path().join("identity.inc");
    std::fs::write(
        &inc,
        "[user]\n\tname = Gina Global\n\temail = gina@example.com\n",
    )
    .unwrap();
    let global = t.home.path().join("global.gitconfig");
    std::fs::write(&global, format!("[include]\n\tpath = {}\n", inc.display())).unwrap();
    let g = global.display().to_string();
    let t = t.env("GIT_CONFIG_GLOBAL", &g);
    t.cmd(&["set", "acme", "value=1"]).code(0);
    assert_eq!(
        t.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>"]).trim(),
        "Gina Global <gina@example.com>|Gina Global <gina@example.com>"
    );
    // GIT_AUTHOR_* win over config, as with git commit.
    t.cmd_env(
        &[
            ("GIT_AUTHOR_NAME", "Ann Author"),
            ("GIT_AUTHOR_EMAIL", "ann@example.com"),
        ],
        &["set", "acme", "value=2"],
    )
    .code(0);
    assert_eq!(
        t.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>"]).trim(),
        "Ann Author <ann@example.com>|Gina Global <gina@example.com>"
    );
    // A global config without identity: git would refuse, so deal does.
    std::fs::write(&global, "[init]\n\tdefaultBranch = main\n").unwrap();
    let before = t.state();
    t.cmd(&["set", "acme", "value=3"])
        .code(2)
        .stderr_has("git has no identity");
    assert_eq!(t.state(), before);
}

// --------------------------------------------------------------- symlinks

/// A file outside the repository, and a test pipeline with one deal.
fn outside() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bashrc");
    std::fs::write(&f, "SECRET-OUTSIDE {{ 7 * 6 }}\n").unwrap();
    (d, f)
}

fn link(target: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

fn unchanged(f: &Path) {
    assert_eq!(
        std::fs::read_to_string(f).unwrap(),
        "SECRET-OUTSIDE {{ 7 * 6 }}\n",
        "the outside file changed"
    );
}

#[test]
fn report_never_writes_through_a_link() {
    let (_o, f) = outside();
    // A committed report/index.html pointing at ~/.bashrc.
    let t = Test::new().deal("01-prospecting/acme.md", LEAD);
    link(&f, &t.path().join("report/index.html"));
    t.cmd(&["report"])
        .code(2)
        .stderr_has("report/index.html: a symbolic link");
    unchanged(&f);
    // report/deals as a link to an outside folder.
    std::fs::remove_file(t.path().join("report/index.html")).unwrap();
    link(f.parent().unwrap(), &t.path().join("report/deals"));
    t.cmd(&["report"])
        .code(2)
        .stderr_has("report/deals: a symbolic link");
    unchanged(&f);
    assert!(!f.parent().unwrap().join("acme.html").exists());
    // report/ itself is inside the pipeline: a link there counts too.
    std::fs::remove_dir_all(t.path().join("report")).unwrap();
    link(f.parent().unwrap(), &t.path().join("report"));
    t.cmd(&["report"]).code(2).stderr_has("a symbolic link");
    assert!(!f.parent().unwrap().join("index.html").exists());
    unchanged(&f);
    // Below -o, too; the -o folder itself may be reached through a link.
    let out = tempfile::tempdir().unwrap();
    link(&f, &out.path().join("deals/acme.html"));
    let o = out.path().display().to_string();
    t.cmd(&["report", "-o", &o])
        .code(2)
        .stderr_has("deals/acme.html: a symbolic link");
    unchanged(&f);
    std::fs::remove_file(out.path().join("deals/acme.html")).unwrap();
    let via = tempfile::tempdir().unwrap();
    link(out.path(), &via.path().join("out"));
    let v = via.path().join("out").display().to_string();
    t.cmd(&["report", "-o", &v]).code(0);
    assert!(out.path().join("index.html").is_file());
    assert!(out.path().join("deals/acme.html").is_file());
}

#[test]
fn templates_are_never_read_through_a_link() {
    let (o, f) = outside();
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    std::fs::create_dir_all(o.path().join("report")).unwrap();
    std::fs::create_dir_all(o.path().join("notes")).unwrap();
    std::fs::copy(&f, o.path().join("report/index.html")).unwrap();
    std::fs::copy(&f, o.path().join("notes/call.md")).unwrap();
    link(o.path(), &t.path().join("templates"));
    let before = t.state();
    let out = t.cmd(&["note", "acme", "call"]).code(2);
    assert!(
        out.stderr.contains("templates: a symbolic link"),
        "{}",
        out.stderr
    );
    assert_eq!(t.state(), before);
    t.cmd(&["report"])
        .code(2)
        .stderr_has("templates: a symbolic link");
    assert!(!t.path().join("report/index.html").exists());
    // A link to one template, inside a real folder.
    std::fs::remove_file(t.path().join("templates")).unwrap();
    link(
        &o.path().join("notes/call.md"),
        &t.path().join("templates/notes/call.md"),
    );
    t.cmd(&["note", "acme", "call"])
        .code(2)
        .stderr_has("templates/notes/call.md: a symbolic link");
    let acme = std::fs::read_to_string(t.path().join("deals/01-prospecting/acme.md")).unwrap();
    assert!(!acme.contains("SECRET-OUTSIDE") && !acme.contains("42"));
    unchanged(&f);
}

#[test]
fn links_to_pipeline_yaml_and_stage_folders_are_errors() {
    let (o, f) = outside();
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    // A stage folder that is a link: a move would write outside.
    std::fs::remove_dir_all(t.path().join("deals/02-outreach")).unwrap_or(());
    link(o.path(), &t.path().join("deals/02-outreach"));
    for args in [
        &["move", "acme", "outreach"][..],
        &["list"],
        &["check"],
        &["new", "Hooli", "--owner", "bob"],
    ] {
        t.cmd(args)
            .code(2)
            .stderr_has("deals/02-outreach: a symbolic link");
    }
    assert_eq!(std::fs::read_dir(o.path()).unwrap().count(), 1);
    std::fs::remove_file(t.path().join("deals/02-outreach")).unwrap();
    // deals/ itself.
    let real = t.path().join("real-deals");
    std::fs::rename(t.path().join("deals"), &real).unwrap();
    link(&real, &t.path().join("deals"));
    t.cmd(&["list"])
        .code(2)
        .stderr_has("deals: a symbolic link");
    std::fs::remove_file(t.path().join("deals")).unwrap();
    std::fs::rename(&real, t.path().join("deals")).unwrap();
    // pipeline.yaml.
    let cfg = o.path().join("pipeline.yaml");
    std::fs::rename(t.path().join("pipeline.yaml"), &cfg).unwrap();
    link(&cfg, &t.path().join("pipeline.yaml"));
    t.cmd(&["list"])
        .code(2)
        .stderr_has("pipeline.yaml: a symbolic link");
    t.cmd(&["set", "acme", "value=1"])
        .code(2)
        .stderr_has("pipeline.yaml: a symbolic link");
    unchanged(&f);
}

#[test]
fn init_never_writes_through_a_link_nor_into_a_bare_repository() {
    let (_o, f) = outside();
    // pipeline.yaml as a dangling link to a file outside.
    let t = Test::empty();
    let target = f.parent().unwrap().join("created-by-deal.yaml");
    link(&target, &t.path().join("pipeline.yaml"));
    t.cmd(&["init"])
        .code(2)
        .stderr_has("pipeline.yaml: a symbolic link");
    assert!(!target.exists());
    // .gitignore as a link to ~/.bashrc.
    let t = Test::empty();
    link(&f, &t.path().join(".gitignore"));
    t.cmd(&["init"])
        .code(2)
        .stderr_has(".gitignore: a symbolic link");
    assert!(!t.path().join("pipeline.yaml").exists());
    unchanged(&f);
    // A bare repository.
    let t = Test::empty();
    t.git(&["init", "-q", "--bare"]);
    let before: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    t.cmd(&["init"]).code(2).stderr_has("a bare git repository");
    let after: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn a_root_reached_through_a_link_keeps_working() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    let via = tempfile::tempdir().unwrap();
    let root = via.path().join("sales");
    link(t.path(), &root);
    let r = root.display().to_string();
    t.cmd(&["-C", &r, "list"]).code(0).stdout_has("acme");
    t.cmd(&["-C", &r, "set", "acme", "value=5"]).code(0);
    t.cmd(&["-C", &r, "report"]).code(0);
    assert!(t.path().join("report/index.html").is_file());
    assert_eq!(t.git(&["status", "--porcelain", "-uno"]), "");
}

// ------------------------------------------------------------ bounded work

/// Runs `deal` with `args` (as `Test::cmd` does) and checks the CPU time
/// (user + system) the process used, as wait4(2) reports it: a busy
/// machine stretches the wall clock, not the work, and a quadratic blow-up
/// still shows (docs/safety.md, "Bounded work").
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its CPU time
fn within(limit: Duration, t: &Test, args: &[&str]) -> Output {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut child = deal_cmd(t, args)
        .env("COLUMNS", "120")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deal runs");
    let mut out_pipe = child.stdout.take().expect("a stdout pipe");
    let mut err_pipe = child.stderr.take().expect("a stderr pipe");
    let errs = std::thread::spawn(move || {
        let mut b = Vec::new();
        err_pipe.read_to_end(&mut b).ok();
        b
    });
    let mut stdout = Vec::new();
    out_pipe.read_to_end(&mut stdout).ok();
    let stderr = errs.join().expect("stderr read");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is this process's own unreaped child.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
    let out = Output {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        code: std::process::ExitStatus::from_raw(status)
            .code()
            .unwrap_or(-1),
    };
    assert!(
        cpu < limit,
        "{args:?} took {cpu:?} of CPU time: {}",
        out.stderr
    );
    out
}

/// The debug build parses Markdown about 10x slower than release, where
/// each of these takes well under a second (docs/safety.md has the
/// figures); the bound here is generous so it never flakes on a busy
/// machine, and still catches a quadratic blow-up (which took 14 to 30+ s
/// in release).
const BOUND: Duration = Duration::from_secs(5);

#[test]
fn pathological_deals_finish_quickly_with_a_clear_error() {
    let deep = format!(
        "---\ntitle: Deep\nowner: alice\ntags: {}\n---\n",
        "[".repeat(100_000)
    );
    let deep_map = format!(
        "---\ntitle: Deep\nowner: alice\ntags: {}\n---\n",
        "{a: ".repeat(100_000)
    );
    // Past qualification, so `section` criteria read the outline.
    let headings = format!(
        "{}{}",
        good_deal("  prospecting: 2026-11-01\n  discovery: 2026-11-10\n", ""),
        "## Qualification\n".repeat(100_000)
    );
    let mut big = good_deal("  prospecting: 2026-11-01\n  discovery: 2026-11-10\n", "");
    while big.len() < 4 * 1024 * 1024 - 200 {
        big.push_str("Notes from the call, in many words, over and over again.\n");
    }
    // Block nesting without indenting: `- - - …` and `? ? ? …`.
    let dashes = format!(
        "---\ntitle: Deep\nowner: alice\ntags:\n{}x\n---\n",
        "- ".repeat(20_000)
    );
    let keys = format!(
        "---\ntitle: Deep\nowner: alice\n{}x\n---\n",
        "? ".repeat(20_000)
    );
    let t = Test::new()
        .deal("01-prospecting/deep.md", &deep)
        .deal("01-prospecting/deep-map.md", &deep_map)
        .deal("01-prospecting/dashes.md", &dashes)
        .deal("01-prospecting/keys.md", &keys)
        .deal("04-discovery/headings.md", &headings)
        .deal("04-discovery/big.md", &big);
    for slug in ["deep", "deep-map"] {
        let rel = format!("deals/01-prospecting/{slug}.md");
        within(BOUND, &t, &["check", &rel])
            .code(1)
            .stdout_has(&format!("{rel}:4:"))
            .stdout_has("nest deeper than 64 levels");
    }
    for (slug, line) in [("dashes", 5), ("keys", 4)] {
        let rel = format!("deals/01-prospecting/{slug}.md");
        within(BOUND, &t, &["check", &rel])
            .code(1)
            .stdout_has(&format!("{rel}:{line}:129:"))
            .stdout_has("block collections nest deeper than 64 levels");
    }
    within(BOUND, &t, &["check", "deals/04-discovery/headings.md"]);
    within(BOUND, &t, &["show", "headings"]).code(0);
    within(BOUND, &t, &["check", "deals/04-discovery/big.md"]).code(0);
    within(BOUND, &t, &["show", "big"]).code(0);
    within(BOUND, &t, &["list"]).code(0);
    within(BOUND, &t, &["report"]).code(0);
    within(BOUND, &t, &["stats"]).code(0);
}

#[test]
fn deep_expressions_and_flow_in_pipeline_yaml_are_errors() {
    for (expr, what) in [
        (format!("{}x", "not ".repeat(50_000)), "not"),
        (vec!["x"; 50_000].join(" and "), "and"),
        (
            format!("{}1{}", "(".repeat(50_000), ")".repeat(50_000)),
            "paren",
        ),
    ] {
        let t = Test::new().config_replace(
            "      - label: Prospect replied, accepted a call or engaged\n        field: engaged\n        format: date\n",
            &format!("      - label: Deep\n        expr: \"{expr}\"\n"),
        );
        within(BOUND, &t, &["check"])
            .code(2)
            .stderr_has("pipeline.yaml:")
            .stderr_has("deeper than 64 levels");
        let _ = what;
    }
    let t = Test::new().config_replace(
        "lost_reasons: [",
        &format!("lost_reasons: {}[", "[".repeat(100_000)),
    );
    within(BOUND, &t, &["list"])
        .code(2)
        .stderr_has("pipeline.yaml:")
        .stderr_has("nest deeper than 64 levels");
}

// ----------------------------------------------------------------- pipes

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut t = Test::new()
        .deal(
            "05-proposal/acme.md",
            &good_deal("  prospecting: 2026-10-01\n  proposal: 2026-10-05\n", ""),
        )
        .deal("lost/initech.md", "---\ntitle: Initech\nowner: bob\nlost:\n  reason: no budget\nstages:\n  prospecting: 2026-10-01\n  lost: 2026-11-01\n---\n")
        .repo();
    for i in 0..300 {
        t = t.deal(&format!("01-prospecting/lead-{i}.md"), LEAD);
    }
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "more"]);
    for args in [
        &["list"][..],
        &["list", "--format", "json"],
        &["export"],
        &["export", "--format", "json"],
        &["review", "HEAD~1"],
        &["review", "HEAD~1", "--format", "json"],
        &["audit"],
        &["due"],
        &["due", "--format", "ics"],
        &["stats"],
        &["check"],
        &["show", "acme"],
    ] {
        let mut child = deal_cmd(&t, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before deal writes anything.
        drop(child.stdout.take());
        let out = output_of(child.wait_with_output().unwrap());
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
        assert!(
            !out.stderr.contains("Broken pipe"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

// ------------------------------------------------------ nothing vanishes

#[test]
fn unreadable_deals_are_named_by_every_reader() {
    let t = Test::new()
        .deal("01-prospecting/acme.md", LEAD)
        .deal(
            "01-prospecting/broken.md",
            "---\ntitle: Broken\nowner: [alice\n---\n",
        )
        .repo();
    let warn = "deals/01-prospecting/broken.md:4:";
    for args in [
        &["list"][..],
        &["list", "--format", "json"],
        &["stats"],
        &["due"],
        &["report"],
        &["audit"],
        &["forecast"],
        &["trend"],
    ] {
        t.cmd(args).code(0).stderr_has(warn);
    }
    // show reads only the deal it names: that one, when broken, is named
    // with its line.
    t.cmd(&["show", "broken"])
        .code(2)
        .stderr_has("deals/01-prospecting/broken.md");
    // review reads only what the pull request changed: a broken deal in it
    // is named, and is a violation.
    let p = t.path().join("deals/01-prospecting/broken.md");
    std::fs::write(&p, "---\ntitle: Broken again\nowner: [alice\n---\n").unwrap();
    t.git(&["commit", "-qam", "still broken"]);
    t.cmd(&["review", "HEAD~1"]).code(1).stderr_has(warn);
    let out = t.cmd(&["export"]).code(1).stderr_has(warn);
    assert!(out.stdout.contains("acme"), "{}", out.stdout);
    t.cmd(&["export", "--format", "json"])
        .code(1)
        .stderr_has(warn);
    let stats: serde_json::Value =
        serde_json::from_str(&t.cmd(&["stats", "--format", "json"]).code(0).stdout).unwrap();
    assert_eq!(
        stats["unreadable"][0]["path"],
        "deals/01-prospecting/broken.md"
    );
    assert_eq!(stats["unreadable"][0]["line"], 4);
    assert!(
        stats["unreadable"][0]["message"]
            .as_str()
            .unwrap()
            .contains("YAML")
    );
    let html = std::fs::read_to_string(t.path().join("report/index.html")).unwrap();
    assert!(html.contains("id=\"unreadable\""), "no banner");
    assert!(html.contains("broken.md:4</code>"), "{html}");
}

// ------------------------------------------------------------ file names

#[test]
fn bad_file_names_are_reported_with_the_git_mv_that_fixes_them() {
    let t = Test::new()
        .deal("01-prospecting/acme.md", LEAD)
        .deal("01-prospecting/Acme.md", LEAD)
        .deal("01-prospecting/x.MD", LEAD)
        .deal("01-prospecting/.hidden.md", LEAD)
        .deal("01-prospecting/Big Deal.md", LEAD)
        .deal("01-prospecting/.gitkeep", "");
    let out = t.cmd(&["check", "--format", "json"]).code(1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let found: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["help"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |rule: &str, path: &str, help: &str| {
        assert!(
            found
                .iter()
                .any(|(r, p, h)| r == rule && p == path && h.contains(help)),
            "no {rule} on {path} with {help:?}: {found:#?}"
        )
    };
    let d = "deals/01-prospecting";
    has(
        "bad-file-name",
        &format!("{d}/Acme.md"),
        &format!("git mv {d}/Acme.md {d}/acme.md"),
    );
    has(
        "bad-file-name",
        &format!("{d}/x.MD"),
        &format!("git mv {d}/x.MD {d}/x.md"),
    );
    has(
        "bad-file-name",
        &format!("{d}/.hidden.md"),
        &format!("git mv {d}/.hidden.md {d}/hidden.md"),
    );
    has(
        "bad-file-name",
        &format!("{d}/Big Deal.md"),
        &format!("git mv '{d}/Big Deal.md' {d}/big-deal.md"),
    );
    // Case twins are one file on macOS and Windows.
    has("duplicate-slug", &format!("{d}/Acme.md"), "");
    has("duplicate-slug", &format!("{d}/acme.md"), "");
    assert!(
        !found.iter().any(|(_, p, _)| p.ends_with(".gitkeep")),
        "{found:#?}"
    );
    // Named explicitly, a bad name is checked, not skipped.
    t.cmd(&["check", &format!("{d}/.hidden.md")])
        .code(1)
        .stdout_has("bad-file-name");
    t.cmd(&["check", &format!("{d}/x.MD")])
        .code(1)
        .stdout_has("bad-file-name");
}

#[test]
fn new_refuses_a_case_twin() {
    let t = Test::new().deal("02-outreach/Acme.md", LEAD).repo();
    let before = t.state();
    t.cmd(&["new", "acme", "--owner", "bob"])
        .code(2)
        .stderr_has("a deal with the slug `acme` exists already: deals/02-outreach/Acme.md");
    assert_eq!(t.state(), before);
}

#[test]
fn windows_reserved_names_get_a_suffix() {
    let t = Test::new().repo();
    t.cmd(&["new", "CON", "--owner", "bob"]).code(0);
    assert!(t.path().join("deals/01-prospecting/con-deal.md").is_file());
    assert!(!t.path().join("deals/01-prospecting/con.md").exists());
}

#[test]
fn an_unknown_sort_key_lists_the_valid_ones() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD);
    t.cmd(&["list", "--sort", "nosuchfield"])
        .code(2)
        .stderr_has("cannot sort by `nosuchfield`")
        .stderr_has("slug, stage, owner, value, days, criteria, due");
    t.cmd(&["list", "--sort", "contact.email"]).code(0);
    t.cmd(&["list", "--sort", "value"]).code(0);
}

// ------------------------------------------------------- export / import

#[test]
fn export_guards_formulas_and_import_preset_deal_round_trips() {
    let evil = "---\ntitle: \"=HYPERLINK(\\\"http://evil.example\\\",\\\"x\\\")\"\nowner: bob\ncompany: \"@SUM(A1)\"\ncontact:\n  phone: \"+49 30 1234-567\"\n  name: \"-2+3+cmd|' /C calc'!A0\"\nvalue: 1200\nstages:\n  prospecting: 2026-11-01T09:00:00Z\n---\n# Evil\n";
    let t = Test::new()
        .deal("01-prospecting/evil.md", evil)
        .deal(
            "05-proposal/acme.md",
            &good_deal("  prospecting: 2026-10-01\n  proposal: 2026-10-05\n", ""),
        )
        .repo();
    let csv = t.cmd(&["export"]).code(0).stdout;
    assert!(csv.contains("'=HYPERLINK("), "{csv}");
    assert!(csv.contains("'@SUM(A1)"), "{csv}");
    assert!(csv.contains("'-2+3+cmd"), "{csv}");
    assert!(csv.contains(",+49 30 1234-567,"), "{csv}");
    assert!(!csv.contains(",=") && !csv.contains(",@"), "{csv}");

    let fresh = Test::new().file("export.csv", &csv).repo();
    fresh
        .cmd(&["import", "export.csv", "--preset", "deal"])
        .code(0)
        .stdout_has("Imported 2 deals");
    let list = |t: &Test| t.cmd(&["list", "--format", "json"]).code(0).stdout;
    assert_eq!(list(&fresh), list(&t));
    let back = std::fs::read_to_string(fresh.path().join("deals/01-prospecting/evil.md")).unwrap();
    let fm: serde_yaml::Value = serde_yaml::from_str(back.split("---\n").nth(1).unwrap()).unwrap();
    assert_eq!(fm["title"], "=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(fm["company"], "@SUM(A1)");
    assert_eq!(fm["contact"]["name"], "-2+3+cmd|' /C calc'!A0");
    assert_eq!(fm["contact"]["phone"], "+49 30 1234-567");
    // The second import creates nothing.
    let head = fresh.git(&["rev-parse", "HEAD"]);
    let before = fresh.state();
    fresh
        .cmd(&["import", "export.csv", "--preset", "deal"])
        .code(0)
        .stdout_has("Imported 0 deals")
        .stdout_has("2 already imported (same slug or source_id)");
    assert_eq!(fresh.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(fresh.state(), before);
    let _ = GOOD_BODY;
}

// ------------------------------------------------ found by a hostile tester

#[test]
fn a_move_left_in_the_work_tree_only_can_be_moved_back() {
    // What a kill after the work-tree step leaves: the file moved on disk,
    // the index and HEAD still at the old place.
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    std::fs::create_dir_all(t.path().join("deals/02-outreach")).unwrap();
    std::fs::rename(
        t.path().join("deals/01-prospecting/acme.md"),
        t.path().join("deals/02-outreach/acme.md"),
    )
    .unwrap();
    t.cmd(&["move", "acme", "prospecting"]).code(0);
    assert_eq!(
        t.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(
        t.git(&["ls-files", "deals"]),
        "deals/01-prospecting/acme.md\n"
    );
}

#[test]
fn init_in_a_bare_repository_leaves_nothing_behind() {
    let t = Test::empty();
    t.git(&["init", "-q", "--bare", "bare.git"]);
    let bare = t.path().join("bare.git");
    let before = std::fs::read_dir(&bare).unwrap().count();
    let out = crate::run_deal(&bare, &["init".into(), "sub".into()], &t.env_vars());
    assert_eq!(out.code, 2, "{out:?}");
    assert!(!bare.join("sub").exists());
    assert_eq!(std::fs::read_dir(&bare).unwrap().count(), before);
}

#[test]
fn a_file_named_inside_a_hidden_folder_is_checked() {
    let t = Test::new()
        .deal("02-outreach/.hid/inner.md", "---\ntitle: [broken\n---\n")
        .repo();
    let out = t.cmd(&["check", "deals/02-outreach/.hid/inner.md"]).code(1);
    assert!(
        out.stdout.contains("deals/02-outreach/.hid/inner.md"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_stale_branch_lock_is_named_with_the_command_that_clears_it() {
    // What a kill in the middle of a ref update leaves behind.
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    std::fs::write(t.path().join(".git/refs/heads/main.lock"), "").unwrap();
    let before = t.state();
    t.cmd(&["set", "acme", "value=7"])
        .code(2)
        .stderr_has("refs/heads/main.lock")
        .stderr_has("remove the stale lock: rm ");
    assert_eq!(t.state(), before);
}
