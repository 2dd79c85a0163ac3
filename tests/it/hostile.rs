//! docs/safety.md, round 3: git's own rules for what it stores, only what
//! deal wrote, no window for half a file, odd files and odd text.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Output, Test};

const LEAD: &str =
    "---\ntitle: Acme\nowner: alice\ncontact:\n  email: a@acme.example\n---\n# Acme\n";

/// `deal` with the test's environment, not yet run.
fn deal_cmd(t: &Test, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deal"));
    cmd.args(args)
        .current_dir(t.path())
        .env_remove("NO_COLOR")
        .envs(t.env_vars())
        .stdin(Stdio::null());
    cmd
}

fn output_of(out: std::process::Output) -> Output {
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

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
}

#[test]
fn report_into_the_pipeline_root_touches_no_committed_or_user_file() {
    let t = Test::new()
        .deal("01-prospecting/a.md", LEAD)
        .file("index.html", "<p>my own page</p>")
        .file("deals/old.html", "committed")
        .repo();
    let before = t.state();
    t.cmd(&["report", "-o", "."])
        .code(2)
        .stderr_has("index.html is in the way");
    assert_eq!(t.state(), before);
    std::fs::remove_file(t.path().join("index.html")).unwrap();
    t.git(&["commit", "-qam", "no index"]);
    t.cmd(&["report", "-o", "."]).code(0);
    assert_eq!(read(&t.path().join("deals/old.html")), "committed");
    assert_eq!(t.git(&["status", "--porcelain", "deals/old.html"]), "");
}
