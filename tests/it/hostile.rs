//! docs/safety.md, round 3: git's own rules for what it stores, only what
//! deal wrote, no window for half a file, odd files and odd text.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::safety::{LEAD, deal_cmd, output_of};
use crate::{Output, Test};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

// ------------------------------------------------------ only what deal wrote

#[test]
fn report_replaces_and_deletes_only_its_own_pages() {
    let t = Test::new()
        .deal("01-prospecting/a.md", LEAD)
        .deal("01-prospecting/b.md", &LEAD.replace("Acme", "Beta"))
        .repo();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    // A file of the user's beside where the pages go: never touched.
    std::fs::create_dir_all(out.path().join("deals")).unwrap();
    std::fs::write(out.path().join("deals/mine.html"), "mine").unwrap();
    t.cmd(&["report", "-o", o]).code(0);
    assert_eq!(
        read(&out.path().join(".deal-report")),
        "deals/a.html\ndeals/b.html\nindex.html\n"
    );
    // A deal gone: its page (the report's own) goes; the user's stays.
    std::fs::remove_file(t.path().join("deals/01-prospecting/b.md")).unwrap();
    t.cmd(&["report", "-o", o]).code(0);
    assert!(!out.path().join("deals/b.html").exists());
    assert_eq!(read(&out.path().join("deals/mine.html")), "mine");
    // A page in the way that the report did not write: an error naming it,
    // and nothing overwritten.
    std::fs::write(
        t.path().join("deals/01-prospecting/b.md"),
        LEAD.replace("Acme", "Beta"),
    )
    .unwrap();
    std::fs::write(out.path().join("deals/b.html"), "user's b").unwrap();
    t.cmd(&["report", "-o", o])
        .code(2)
        .stderr_has("deals/b.html is in the way");
    assert_eq!(read(&out.path().join("deals/b.html")), "user's b");
    // A planted manifest line naming another file deletes nothing.
    std::fs::remove_file(out.path().join("deals/b.html")).unwrap();
    std::fs::write(
        out.path().join(".deal-report"),
        "index.html\ndeals/a.html\ndeals/mine.html/../../keep.html\n../keep.html\n.x.html\n",
    )
    .unwrap();
    std::fs::write(out.path().join("keep.html"), "keep").unwrap();
    t.cmd(&["report", "-o", o]).code(0);
    assert_eq!(read(&out.path().join("keep.html")), "keep");
    // A report made before the manifest existed (its pages name deal as
    // their generator) is taken over once; a user's page still is not.
    std::fs::remove_file(out.path().join(".deal-report")).unwrap();
    t.cmd(&["report", "-o", o]).code(0);
    assert!(out.path().join(".deal-report").exists());
    std::fs::remove_file(out.path().join(".deal-report")).unwrap();
    std::fs::write(out.path().join("index.html"), "<p>mine</p>").unwrap();
    t.cmd(&["report", "-o", o])
        .code(2)
        .stderr_has("index.html is in the way");
}

#[test]
fn report_into_the_pipeline_root_touches_no_committed_or_user_file() {
    let t = Test::new()
        .deal("01-prospecting/a.md", LEAD)
        .file("index.html", "<p>my own page</p>")
        .file("deals/old.html", "committed")
        .repo();
    let before = t.state();
    // The root's deals/ is the deals folder: refused before anything.
    t.cmd(&["report", "-o", "."])
        .code(2)
        .stderr_has("would land in the deals folder");
    assert_eq!(t.state(), before);
    // Under a folder beside deals/, the user's own index.html is in the way.
    std::fs::create_dir_all(t.path().join("site")).unwrap();
    std::fs::write(t.path().join("site/index.html"), "<p>mine</p>").unwrap();
    t.cmd(&["report", "-o", "site"])
        .code(2)
        .stderr_has("index.html is in the way");
    assert_eq!(read(&t.path().join("site/index.html")), "<p>mine</p>");
    assert_eq!(read(&t.path().join("deals/old.html")), "committed");
    assert_eq!(t.git(&["status", "--porcelain", "deals/old.html"]), "");
}

/// `-o` where the pages would land in the deals folder (read back as deals
/// and stage folders by `check`) or in `.git` is refused, writing nothing.
#[test]
fn report_into_the_deals_folder_or_git_is_refused() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    let before = t.state();
    for o in [
        ".",
        "deals",
        "deals/01-prospecting",
        ".git",
        ".git/x",
        "./deals/../.git",
    ] {
        let out = t.cmd(&["report", "-o", o]).code(2);
        assert!(out.stderr.contains("would land in"), "{o}: {out:?}");
        assert_eq!(t.state(), before, "{o}");
    }
    assert!(!t.path().join(".git/x").exists());
    assert!(!t.path().join(".git/index.html").exists());
    t.cmd(&["check"]).code(0);
    t.cmd(&["report", "-o", "site"]).code(0);
}

// ------------------------------------------------- no window for half a file

/// The one file under `deals/` named `name`, if any.
fn find_deal(t: &Test, name: &str) -> Option<std::path::PathBuf> {
    walkdir::WalkDir::new(t.path().join("deals"))
        .into_iter()
        .flatten()
        .find(|e| e.file_name() == name)
        .map(|e| e.path().to_path_buf())
}

#[test]
fn new_killed_anywhere_leaves_no_half_file_and_a_rerun_commits_it() {
    for step in ["tmp", "objects", "worktree", "index", "head"] {
        let t = Test::new().repo();
        let args = ["new", "Acme Corp", "--owner", "alice", "--value", "5000"];
        let mut cmd = deal_cmd(&t, &args);
        cmd.env("DEAL_TEST_KILL_AT", step)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = cmd.status().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{step}: not killed"
        );
        // Absent, or whole.
        if let Some(f) = find_deal(&t, "acme-corp.md") {
            let text = read(&f);
            assert!(
                text.starts_with("---\n") && text.ends_with("# Acme Corp\n"),
                "{step}: half a file: {text:?}"
            );
        }
        let rerun = output_of(deal_cmd(&t, &args).output().unwrap());
        if step == "head" {
            // Committed already: the slug is taken.
            assert_eq!(rerun.code, 2, "{step}: {rerun:?}");
            assert!(rerun.stderr.contains("exists already"), "{rerun:?}");
        } else {
            assert_eq!(rerun.code, 0, "{step}: {rerun:?}");
        }
        assert!(find_deal(&t, "acme-corp-2.md").is_none(), "{step}");
        let f = find_deal(&t, "acme-corp.md").expect("the deal");
        let rel = f.strip_prefix(t.path()).unwrap().to_str().unwrap();
        assert_eq!(t.git(&["show", &format!("HEAD:{rel}")]), read(&f), "{step}");
        assert_eq!(
            t.git(&["status", "--porcelain", "--untracked-files=all"]),
            "",
            "{step}"
        );
        let log = t.git(&["log", "-1", "--format=%B"]);
        assert!(log.contains("Deal: acme-corp\n"), "{step}: {log}");
        assert!(log.contains("Owner: alice"), "{step}: {log}");
    }
    // Another lead's file in the way is still refused.
    let t = Test::new().repo();
    t.cmd(&["new", "Acme Corp", "--owner", "alice", "--no-commit"])
        .code(0);
    t.cmd(&["new", "Acme Corp", "--owner", "bob"])
        .code(2)
        .stderr_has("exists already");
}

#[test]
fn import_killed_anywhere_is_completed_by_its_rerun() {
    // Two rows with one title (two slugs), a new owner (a pipeline.yaml
    // change), no source ids.
    let sheet = "Name,Rep,Step\nSoylent,bob,discovery\nSoylent,zoe@x.example,prospecting\nMassive,dana,won\n";
    let args = [
        "import",
        "sheet.csv",
        "--map",
        "Name=title",
        "--map",
        "Rep=owner",
        "--map",
        "Step=stage",
    ];
    for step in ["tmp", "objects", "worktree", "index"] {
        let t = Test::new().file("sheet.csv", sheet).repo();
        let mut cmd = deal_cmd(&t, &args);
        cmd.env("DEAL_TEST_KILL_AT", step)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = cmd.status().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{step}: not killed"
        );
        for name in ["soylent.md", "soylent-2.md", "massive.md"] {
            if let Some(f) = find_deal(&t, name) {
                assert!(read(&f).contains("title:"), "{step}: half a file {name}");
            }
        }
        let rerun = output_of(deal_cmd(&t, &args).output().unwrap());
        assert_eq!(rerun.code, 0, "{step}: {rerun:?}");
        assert!(find_deal(&t, "soylent-3.md").is_none(), "{step}: {rerun:?}");
        assert!(find_deal(&t, "massive-2.md").is_none(), "{step}: {rerun:?}");
        assert_eq!(
            t.git(&["status", "--porcelain", "--untracked-files=all"]),
            "",
            "{step}"
        );
        let files = t.git(&["ls-tree", "-r", "--name-only", "HEAD", "deals"]);
        for name in ["soylent.md", "soylent-2.md", "massive.md"] {
            assert!(files.contains(name), "{step}: {files}");
        }
        assert!(
            t.git(&["show", "HEAD:pipeline.yaml"])
                .contains("zoe@x.example")
        );
    }
}

#[test]
fn a_deal_file_over_4_mb_is_refused_before_anything_is_written() {
    let big = "x".repeat(5 << 20);
    // deal new --json with a 5 MB message.
    let t = Test::new().repo();
    let before = t.state();
    let payload = format!(
        r#"{{"name": "Jane", "email": "j@acme.example", "company": "Acme", "message": "{big}"}}"#
    );
    for extra in [&[][..], &["--dry-run"][..]] {
        let out = t.cmd_stdin(
            &[&["new", "--json", "-", "--owner", "alice"][..], extra].concat(),
            &payload,
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("over 4 MB"), "{}", out.stderr);
        assert_eq!(t.state(), before);
    }
    // deal set of a 100 KB value on a deal just under 4 MB.
    let t = Test::new()
        .deal(
            "01-prospecting/acme.md",
            &format!("{LEAD}{}\n", "y".repeat((4 << 20) - 50_000)),
        )
        .repo();
    let before = t.state();
    t.cmd(&["set", "acme", &format!("notes={}", "z".repeat(100_000))])
        .code(2)
        .stderr_has("over 4 MB");
    assert_eq!(t.state(), before);
    // deal import of a 5 MB cell: that row is a problem, the others come in.
    let sheet = format!("Name,Notes\nSmall,hi\nHuge,{big}\n");
    let t = Test::new().file("sheet.csv", &sheet).repo();
    let out = t.cmd(&[
        "import",
        "sheet.csv",
        "--map",
        "Name=title",
        "--map",
        "Notes=notes",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("sheet.csv:3: the row makes a deal file of 5.0 MB"),
        "{}",
        out.stderr
    );
    assert!(find_deal(&t, "small.md").is_some());
    assert!(find_deal(&t, "huge.md").is_none());
}

// ------------------------------------------------------------------- pipes

/// Runs deal with stdout and stderr both a pipe whose reader is gone
/// (`deal … 2>&1 | head` after head has quit); returns the exit code.
fn closed_pipes(t: &Test, args: &[&str]) -> Option<i32> {
    let (r, w) = std::io::pipe().unwrap();
    drop(r);
    let mut cmd = deal_cmd(t, args);
    cmd.stdout(w.try_clone().unwrap()).stderr(w);
    cmd.status().unwrap().code()
}

#[test]
fn a_closed_stderr_ends_quietly_with_the_commands_own_code() {
    // An unreadable deal: every reader warns on stderr.
    let t = Test::new()
        .deal("01-prospecting/acme.md", LEAD)
        .deal("01-prospecting/bad.md", "---\n: [\n---\n")
        .repo();
    assert_eq!(closed_pipes(&t, &["list"]), Some(0));
    assert_eq!(closed_pipes(&t, &["show", "acme"]), Some(0));
    assert_eq!(
        closed_pipes(&t, &["new", "Foo", "--owner", "alice", "--dry-run"]),
        Some(0)
    );
    assert_eq!(closed_pipes(&t, &["due"]), Some(0));
    // An error keeps its exit code.
    assert_eq!(closed_pipes(&t, &["show", "nosuch"]), Some(2));
    assert_eq!(closed_pipes(&t, &["set", "acme", "value=x y"]), Some(2));
}

// ---------------------------------------------------- odd files and odd text

/// Runs deal, failing the test if it takes over 20 s (a blocked read).
fn bounded(t: &Test, args: &[&str]) -> Output {
    let mut cmd = deal_cmd(t, args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("deal {args:?} hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    output_of(child.wait_with_output().unwrap())
}

#[test]
fn a_fifo_named_md_is_never_opened_and_always_named() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    let fifo = t.path().join("deals/01-prospecting/pipe.md");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let out = bounded(&t, &["check"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("error[bad-file-name]")
            && out
                .stdout
                .contains("`pipe.md` is a FIFO (named pipe), not a deal file"),
        "{}",
        out.stdout
    );
    let out = bounded(&t, &["check", "deals/01-prospecting/pipe.md"]);
    assert_eq!(out.code, 1, "{out:?}");
    for args in [&["list"][..], &["due"][..], &["stats"][..]] {
        let out = bounded(&t, args);
        assert_eq!(out.code, 0, "{args:?} {out:?}");
        assert!(
            out.stderr.contains("pipe.md:1: left out") && out.stderr.contains("FIFO"),
            "{args:?} {}",
            out.stderr
        );
    }
    let out = bounded(&t, &["export"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("pipe.md"), "{}", out.stderr);
    let out = bounded(&t, &["show", "pipe"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("pipe.md"), "{}", out.stderr);
}

#[test]
fn hidden_characters_are_shown_escaped() {
    let t = Test::new()
        .deal(
            "01-prospecting/acme.md",
            &LEAD.replace("title: Acme", "title: \"Acme\\u202Egnp.exe\""),
        )
        .deal("01-prospecting/evil\u{202e}dm.md", LEAD)
        .deal("01-prospecting/zero\u{200b}width.md", LEAD)
        .repo();
    let out = t.cmd(&["check"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("evil\\u{202e}dm.md"), "{}", out.stdout);
    assert!(
        out.stdout.contains("zero\\u{200b}width.md"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains('\u{202e}') && !out.stdout.contains('\u{200b}'),
        "{}",
        out.stdout
    );
    let shown = t.cmd(&["show", "acme"]).code(0).stdout;
    assert!(shown.contains("Acme\\u{202e}gnp.exe"), "{shown}");
    assert!(!shown.contains('\u{202e}'));
    // The report shows the codes, visibly.
    let dir = tempfile::tempdir().unwrap();
    t.cmd(&["report", "-o", dir.path().to_str().unwrap()])
        .code(0);
    let page = read(&dir.path().join("deals/acme.html"));
    assert!(page.contains("Acme\\u{202e}gnp.exe"), "{page}");
    assert!(!page.contains('\u{202e}'));
}

#[test]
fn a_payload_with_numbered_and_empty_keys_is_kept_under_form() {
    let t = Test::new().repo();
    let payload = r#"{"name": "Jane Doe", "email": "jane@acme.example", "company": "Acme",
        "0": "first answer", "1": "second", "": "no label", "a b": "x", "a_b": "y"}"#;
    let out = t.cmd_stdin(&["new", "--json", "-", "--owner", "alice"], payload);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = read(&find_deal(&t, "acme.md").unwrap());
    for line in [
        "  _0: first answer\n",
        "  _1: second\n",
        "  _: no label\n",
        "  a_b: x\n",
        "  a_b_2: y\n",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
}

#[test]
fn due_and_check_give_the_same_idle_days() {
    let deal = "---\ntitle: A\nowner: alice\ncreated: 2026-11-01T00:00:00Z\nstages:\n  prospecting: 2026-11-01T00:00:00Z\n  outreach: 2026-11-13T00:00:00Z\n---\n# A\n";
    let t = Test::new().deal("02-outreach/a.md", deal).repo();
    t.cmd(&["check"])
        .stdout_has("idle for 14.5 days in outreach (rots after 7)");
    let due: serde_json::Value =
        serde_json::from_str(&t.cmd(&["due", "--format", "json"]).code(0).stdout).unwrap();
    let what: Vec<&str> = due
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["what"].as_str())
        .collect();
    assert!(what.contains(&"idle 14.5 days (rots after 7)"), "{what:?}");
}

#[test]
fn hook_install_never_writes_through_a_link() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("owned");
    for dangling in [true, false] {
        let t = Test::new().repo();
        if !dangling {
            std::fs::write(&target, "theirs").unwrap();
        } else {
            let _ = std::fs::remove_file(&target);
        }
        let hook = t.path().join(".git/hooks/pre-commit");
        let _ = std::fs::remove_file(&hook);
        std::os::unix::fs::symlink(&target, &hook).unwrap();
        t.cmd(&["hook", "install"])
            .code(2)
            .stderr_has("pre-commit: a symbolic link");
        if dangling {
            assert!(!target.exists(), "written through a dangling link");
        } else {
            assert_eq!(read(&target), "theirs");
        }
        assert!(!t.path().join(".git/hooks/pre-merge-commit").exists());
    }
}

// ------------------------------------------------- git's own rules: discovery

#[test]
fn git_dir_and_git_work_tree_are_honoured() {
    let t = Test::empty();
    let store = tempfile::tempdir().unwrap();
    let gd = store.path().join("store.git");
    t.git_in(store.path(), &["init", "-q", "--bare", "store.git"]);
    t.git_in(&gd, &["config", "core.bare", "false"]);
    let gd = gd.to_str().unwrap();
    let wt = t.path().to_str().unwrap();
    let env = [("GIT_DIR", gd), ("GIT_WORK_TREE", wt)];
    t.cmd_env(&env, &["init", "."]).code(0);
    assert!(!t.path().join(".git").exists(), "a second .git");
    let git = |args: &[&str]| {
        let mut all = vec!["--git-dir", gd, "--work-tree", wt];
        all.extend(args);
        t.git(&all)
    };
    // init made the first commit, into GIT_DIR.
    assert!(git(&["log", "-1", "--format=%s"]).contains("deal: a new pipeline"));
    t.cmd_env(&env, &["new", "Acme", "--owner", "alice"])
        .code(0);
    assert!(git(&["log", "-1", "--format=%B"]).contains("Deal: acme"));
    assert_eq!(git(&["status", "--porcelain"]), "");
    // GIT_DIR relative to where deal runs, as for git.
    let rel = t.cmd_env(
        &[
            ("GIT_DIR", &format!("{}/../{}", wt, "x")),
            ("GIT_WORK_TREE", wt),
        ],
        &["new", "Beta", "--owner", "alice"],
    );
    assert_ne!(rel.code, 0, "a GIT_DIR that is no repository: {rel:?}");
    assert!(find_deal(&t, "beta.md").is_none());
}

#[test]
fn sha256_and_reftable_repositories_are_refused_up_front() {
    for (flag, ext) in [
        ("--object-format=sha256", "extensions.objectFormat = sha256"),
        ("--ref-format=reftable", "extensions.refStorage = reftable"),
    ] {
        let t = Test::empty();
        let out = t.git_cmd(t.path(), &["init", "-q", flag], None);
        if out.code != 0 {
            eprintln!("SKIPPED {flag}: this git cannot make one ({})", out.stderr);
            continue;
        }
        t.cmd(&["init", "."]).code(2).stderr_has(ext);
        let left: Vec<_> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from(".git")], "{flag}");
    }
}

#[test]
fn a_repository_of_dubious_ownership_gets_gits_message_and_no_write() {
    // Only root can give a folder to another user.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED a_repository_of_dubious_ownership: needs root to chown");
        return;
    }
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    let chown = |who: &str| {
        let s = Command::new("chown")
            .args(["-R", who])
            .arg(t.path())
            .status()
            .unwrap();
        assert!(s.success());
    };
    let before = t.state();
    chown("65534");
    for args in [
        &["new", "Beta", "--owner", "alice", "--no-commit"][..],
        &["set", "acme", "value=5", "--no-commit"][..],
        &["new", "Beta", "--owner", "alice"][..],
    ] {
        let out = t.cmd(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("dubious ownership")
                && out
                    .stderr
                    .contains("git config --global --add safe.directory"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("not in a git repository"));
    }
    chown("0");
    assert_eq!(t.state(), before);
}

#[test]
fn deals_dir_in_git_or_at_a_file_is_a_configuration_error() {
    let t = Test::new()
        .config_replace("deals_dir: deals", "deals_dir: .git/deals")
        .repo();
    t.cmd(&["check"]).code(2).stderr_has("inside `.git`");
    let t = Test::new()
        .config_replace(
            "  - id: prospecting\n",
            "  - id: prospecting\n    dir: .GIT/x\n",
        )
        .repo();
    t.cmd(&["list"]).code(2).stderr_has("inside `.git`");
    let t = Test::new()
        .config_replace("deals_dir: deals", "deals_dir: notes.txt")
        .file("notes.txt", "x")
        .repo();
    t.cmd(&["list"]).code(2).stderr_has("notes.txt is a file");
    t.cmd(&["new", "Acme", "--owner", "alice"])
        .code(2)
        .stderr_has("notes.txt is a file");
}

// ------------------------------------- git's own rules for what it stores

const ROT13: &str = "tr A-Za-z N-ZA-Mn-za-m";

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a' + 13) % 26) + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A' + 13) % 26) + b'A') as char,
            _ => c,
        })
        .collect()
}

#[test]
fn a_clean_filter_is_applied_as_git_add_applies_it() {
    // A filter driver as git-crypt installs one: what git stores is not
    // what the work tree holds.
    let t = Test::new()
        .deal("01-prospecting/acme.md", LEAD)
        .file(".gitattributes", "deals/** filter=rot13\n");
    t.git(&["init", "-q"]);
    t.git(&["config", "filter.rot13.clean", ROT13]);
    t.git(&["config", "filter.rot13.smudge", ROT13]);
    t.git(&["add", "-A"]);
    t.git(&["commit", "-qm", "seed"]);
    let rel = "deals/01-prospecting/acme.md";
    assert_eq!(t.git(&["show", &format!("HEAD:{rel}")]), rot13(LEAD));
    t.cmd(&["set", "acme", "company=Acme Corp"]).code(0);
    t.cmd(&["new", "Beta", "--owner", "alice"]).code(0);
    assert_eq!(
        t.git(&["status", "--porcelain"]),
        "",
        "status after deal's commits"
    );
    let now = read(&t.path().join(rel));
    assert!(now.contains("company: Acme Corp\n"));
    assert_eq!(t.git(&["show", &format!("HEAD~1:{rel}")]), rot13(&now));
    let beta = "deals/01-prospecting/beta.md";
    assert_eq!(
        t.git(&["show", &format!("HEAD:{beta}")]),
        rot13(&read(&t.path().join(beta)))
    );
    assert_eq!(t.git(&["diff", "HEAD~1", "--numstat", "--", rel]), "");
    // A staged change is read as the work tree has it, not as stored.
    t.cmd(&["set", "acme", "company=Acme Two", "--no-commit"])
        .code(0);
    let staged = t.cmd(&["check", "--staged", "--format", "json"]);
    // (Read as stored, the deal would have no `title` and no `owner`.)
    assert!(
        staged.stdout.contains("\"errors\": 0") && !staged.stdout.contains("missing"),
        "{}",
        staged.stdout
    );
    t.git(&["commit", "-qm", "two"]);
    // A filter that fails: refused, naming the attribute, nothing changed.
    let before = t.state();
    t.git(&["config", "filter.rot13.clean", "false"]);
    t.git(&["config", "filter.rot13.required", "true"]);
    t.cmd(&["set", "acme", "company=Other"])
        .code(2)
        .stderr_has("filter=rot13");
    t.git(&["config", "filter.rot13.clean", ROT13]);
    assert_eq!(t.state(), before);
}

#[test]
fn autocrlf_stores_lf_and_a_one_field_set_changes_one_line() {
    let crlf = LEAD.replace('\n', "\r\n");
    let t = Test::new().deal("01-prospecting/acme.md", &crlf);
    t.git(&["init", "-q"]);
    t.git(&["config", "core.autocrlf", "true"]);
    t.git(&["add", "-A"]);
    t.git(&["commit", "-qm", "seed"]);
    let rel = "deals/01-prospecting/acme.md";
    t.cmd(&["set", "acme", "owner=bob"]).code(0);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert_eq!(
        t.git(&["diff", "HEAD~1", "HEAD", "--numstat", "--", rel]),
        format!("1\t1\t{rel}\n")
    );
    assert!(!t.git(&["show", &format!("HEAD:{rel}")]).contains('\r'));
    // The work tree keeps its CRLF.
    assert!(read(&t.path().join(rel)).contains("owner: bob\r\n"));
    // And an eol attribute without autocrlf.
    let t = Test::new()
        .deal("01-prospecting/acme.md", &crlf)
        .file(".gitattributes", "*.md text eol=crlf\n");
    t.git(&["init", "-q"]);
    t.git(&["add", "-A"]);
    t.git(&["commit", "-qm", "seed"]);
    t.cmd(&["set", "acme", "owner=bob"]).code(0);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert_eq!(
        t.git(&["diff", "HEAD~1", "HEAD", "--numstat", "--", rel]),
        format!("1\t1\t{rel}\n")
    );
}

#[test]
fn init_that_cannot_finish_leaves_nothing_behind() {
    // A file where a stage folder goes: init fails after it began writing.
    let t = Test::empty().file("deals/01-prospecting", "not a folder");
    let out = t.cmd(&["init", "."]);
    assert_ne!(out.code, 0, "{out:?}");
    let mut left: Vec<String> = crate::walk(t.path())
        .iter()
        .map(|p| p.strip_prefix(t.path()).unwrap().display().to_string())
        .collect();
    left.sort();
    assert_eq!(left, vec!["deals", "deals/01-prospecting"], "{out:?}");
}

/// Round-robin routing does not count the file an interrupted `deal new`
/// left staged: the rerun picks the same owner and commits that file.
#[test]
fn a_killed_routed_lead_is_finished_by_its_rerun() {
    let t = Test::new()
        .config_replace(
            "Bob Jones, email: bob@example.com, roles: [sdr, ae, delivery]",
            "Bob Jones, email: bob@example.com, roles: [ae]",
        )
        .config_replace(
            "  dana: { name: Dana Lee, email: dana@example.com, roles: [sdr, ae, delivery] }\n",
            "  dana: { name: Dana Lee, email: dana@example.com, roles: [delivery] }\n  erik: { name: Erik Sand, email: erik@example.com, roles: [sdr] }\n",
        )
        .config_replace("version: 1\n", "version: 1\nrouting:\n  round_robin: sdr\n")
        .file(
            "z.json",
            r#"{"name":"Ann","email":"a@a.co","company":"Zeta"}"#,
        )
        .repo();
    t.cmd(&["new", "First"])
        .code(0)
        .stdout_has("owned by alice");
    t.cmd(&["new", "--json", "z.json"])
        .code(0)
        .stdout_has("owned by erik");
    // Killed after the index, before HEAD.
    t.git(&["reset", "-q", "--soft", "HEAD~1"]);
    t.cmd(&["new", "--json", "z.json"])
        .code(0)
        .stdout_has("owned by erik");
    let log = t.git(&["log", "-1", "--format=%B"]);
    assert!(log.contains("Deal: zeta\n"), "{log}");
    assert!(log.contains("Owner: erik <erik@example.com>"), "{log}");
    assert_eq!(t.git(&["status", "--porcelain", "deals"]), "");
}

/// A manifest planted (or committed) beside the user's own files hands
/// them over to nothing: only pages deal wrote are replaced or deleted.
#[test]
fn a_planted_manifest_never_hands_over_a_users_file() {
    let t = Test::new()
        .deal("01-prospecting/a.md", LEAD)
        .file("site/.deal-report", "index.html\ndeals/faq.html\n")
        .file("site/index.html", "<p>my own page</p>")
        .file("site/deals/faq.html", "<p>faq</p>")
        .repo();
    t.cmd(&["report", "-o", "site"])
        .code(2)
        .stderr_has("index.html is in the way");
    assert_eq!(
        read(&t.path().join("site/index.html")),
        "<p>my own page</p>"
    );
    assert_eq!(read(&t.path().join("site/deals/faq.html")), "<p>faq</p>");
    std::fs::remove_file(t.path().join("site/index.html")).unwrap();
    t.cmd(&["report", "-o", "site"]).code(0);
    assert_eq!(read(&t.path().join("site/deals/faq.html")), "<p>faq</p>");
    assert_eq!(t.git(&["status", "--porcelain", "site/deals/faq.html"]), "");
}

/// A `GIT_DIR` that is no repository is git's error for readers and
/// writers alike, never "not a git repository, written anyway".
#[test]
fn a_git_dir_that_is_no_repository_is_an_error() {
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    let before = t.state();
    let env = [("GIT_DIR", "/nonexistent")];
    for args in [
        &["set", "acme", "value=7", "--no-commit"][..],
        &["list"],
        &["check"],
    ] {
        t.cmd_env(&env, args)
            .code(2)
            .stderr_has("GIT_DIR is '/nonexistent'");
    }
    assert_eq!(t.state(), before);
}

/// A payload's unmapped answers stay the strings the form sent.
#[test]
fn payload_form_values_stay_strings() {
    let t = Test::new().repo();
    let payload = r#"{"email": "jane@acme.example", "company": "Acme",
        "code": "0x1F", "size": "1e3", "agree": "true", "n": "007", "none": "null"}"#;
    let out = t.cmd_stdin(&["new", "--json", "-", "--owner", "alice"], payload);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = read(&find_deal(&t, "acme.md").unwrap());
    let fm: serde_yaml::Value = serde_yaml::from_str(text.split("---\n").nth(1).unwrap()).unwrap();
    for (k, v) in [
        ("code", "0x1F"),
        ("size", "1e3"),
        ("agree", "true"),
        ("n", "007"),
        ("none", "null"),
    ] {
        assert_eq!(fm["form"][k].as_str(), Some(v), "{k} in {text}");
    }
}

/// `safe.directory` given as git takes it from the environment
/// (`GIT_CONFIG_COUNT`…, `GIT_CONFIG_PARAMETERS`) lets deal work where git
/// works.
#[test]
fn safe_directory_from_the_environment_is_honoured() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED safe_directory_from_the_environment: needs root to chown");
        return;
    }
    let t = Test::new().deal("01-prospecting/acme.md", LEAD).repo();
    let chown = |who: &str| {
        let s = Command::new("chown")
            .args(["-R", who])
            .arg(t.path())
            .status()
            .unwrap();
        assert!(s.success());
    };
    chown("65534");
    let envs: [&[(&str, &str)]; 2] = [
        &[
            ("GIT_CONFIG_COUNT", "1"),
            ("GIT_CONFIG_KEY_0", "safe.directory"),
            ("GIT_CONFIG_VALUE_0", "*"),
        ],
        &[("GIT_CONFIG_PARAMETERS", "'safe.directory'='*'")],
    ];
    let mut results = Vec::new();
    for (i, env) in envs.iter().enumerate() {
        let v = format!("value={}", i + 5);
        results.push(t.cmd_env(env, &["set", "acme", &v]));
        results.push(t.cmd_env(env, &["list"]));
    }
    chown("0");
    for out in &results {
        assert_eq!(out.code, 0, "{out:?}");
        assert!(!out.stderr.contains("dubious"), "{out:?}");
    }
    assert!(
        t.git(&["show", "HEAD:deals/01-prospecting/acme.md"])
            .contains("value: 6")
    );
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

/// Messages name what is wrong: a file in the way of the report's folders,
/// a template name that climbs out, a hooks folder that is a link.
#[test]
fn odd_paths_get_messages_that_name_them() {
    let t = Test::new()
        .deal("01-prospecting/acme.md", LEAD)
        .file("site/deals", "a file")
        .repo();
    for (o, named) in [("site", "site/deals"), ("pipeline.yaml", "pipeline.yaml")] {
        let out = t.cmd(&["report", "-o", o]).code(2);
        assert!(
            out.stderr.contains(&format!("{named} is in the way"))
                && !out.stderr.contains("os error"),
            "{o}: {}",
            out.stderr
        );
    }
    let t = Test::new()
        .deal("01-prospecting/acme.md", LEAD)
        .file(
            "templates/report/index.html",
            "{% include \"../../../secret.txt\" %}",
        )
        .repo();
    let out = t.cmd(&["report", "-o", "site"]).code(2);
    assert!(
        out.stderr.contains("leaves the templates folder") && !out.stderr.contains("symbolic link"),
        "{}",
        out.stderr
    );
    // .git/hooks itself a link: refused, nothing written where it points.
    let t = Test::new().repo();
    let outside = tempfile::tempdir().unwrap();
    let hooks = t.path().join(".git/hooks");
    std::fs::remove_dir_all(&hooks).unwrap();
    std::os::unix::fs::symlink(outside.path(), &hooks).unwrap();
    t.cmd(&["hook", "install"])
        .code(2)
        .stderr_has("hooks: a symbolic link");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

/// forecast's "No close date" list and review's table show hidden
/// characters escaped, as every other terminal output does.
#[test]
fn forecast_and_review_show_hidden_characters_escaped() {
    let t = Test::new()
        .deal("01-prospecting/evil\u{202e}dm.md", LEAD)
        .repo();
    let out = t.cmd(&["forecast"]);
    assert!(out.stdout.contains("evil\\u{202e}dm ("), "{}", out.stdout);
    assert!(!out.stdout.contains('\u{202e}'), "{}", out.stdout);
    t.git(&["checkout", "-q", "-b", "pr"]);
    std::fs::write(t.path().join("deals/01-prospecting/b\u{202e}x.md"), LEAD).unwrap();
    t.git(&["add", "."]);
    t.git(&["commit", "-qm", "b"]);
    let md = t.cmd(&["review", "main"]).stdout;
    assert!(md.contains("\\\\u\\{202e\\}"), "{md}");
    assert!(!md.contains('\u{202e}') && !md.contains('\u{200b}'), "{md}");
}

/// `deal check 2>&1 | head -c1` ends the same way every run: the findings
/// go out in one write, so the reader cannot quit between two of them and
/// turn the exit code into a closed pipe's 0 at random.
#[test]
fn check_into_a_reader_that_quits_ends_the_same_way_each_run() {
    let t = Test::new()
        .deal("01-prospecting/a.md", "---\ntitle: A\n---\n# A\n")
        .repo();
    let deal = env!("CARGO_BIN_EXE_deal");
    let mut codes = std::collections::BTreeMap::new();
    for _ in 0..40 {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{deal}' check 2>&1 | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}"
            ))
            .current_dir(t.path())
            .envs(t.env_vars())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
        *codes.entry(code).or_insert(0) += 1;
    }
    assert_eq!(codes.keys().collect::<Vec<_>>(), ["1"], "{codes:?}");
}
