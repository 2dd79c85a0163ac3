//! The history's tree diff against git's own: on a repository made with the
//! `git` command, `history::diff` of two commits' subtrees lists the same
//! changed files as `git diff-tree`.

use std::path::Path;

/// Runs `git` in `dir` with a fixed identity and dates, no system or user
/// configuration (HOME is `home`); asserts success and returns stdout.
fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Alice Smith",
            "-c",
            "user.email=alice@example.com",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("GIT_AUTHOR_DATE", "2026-11-27T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-27T12:00:00Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `text` to `rel` under `dir`, creating its folders.
fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn the_tree_diff_agrees_with_git_diff_tree() {
    // Names whose git order differs from plain byte order (`a.md` < `a/`),
    // a file that becomes a folder, nested folders, deletions and additions.
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let d = dir.path();
    let git = |args: &[&str]| git(d, home.path(), args);
    git(&["init", "-q", "-b", "main"]);
    for rel in ["x/a.md", "x/a-b.md", "x/a/b.md", "x/keep/same.md", "x/z.md"] {
        write(d, rel, "1");
    }
    write(d, "x/t", "file");
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "start"]);
    let a = git(&["rev-parse", "HEAD"]);
    std::fs::write(d.join("x/a.md"), "2").unwrap();
    std::fs::write(d.join("x/a/b.md"), "2").unwrap();
    std::fs::remove_file(d.join("x/z.md")).unwrap();
    std::fs::remove_file(d.join("x/t")).unwrap();
    std::fs::create_dir_all(d.join("x/t")).unwrap();
    std::fs::write(d.join("x/t/inner.md"), "3").unwrap();
    std::fs::write(d.join("x/a0.md"), "new").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "change"]);
    let b = git(&["rev-parse", "HEAD"]);
    let want = git(&[
        "diff-tree",
        "-r",
        "--name-only",
        "--no-renames",
        a.trim(),
        b.trim(),
        "--",
        "x",
    ]);
    let mut want: Vec<&str> = want
        .lines()
        .map(|l| l.strip_prefix("x/").unwrap())
        .collect();
    want.sort();
    let repo = git2::Repository::open(d).unwrap();
    let tree = |c: &str| {
        repo.find_commit(git2::Oid::from_str(c.trim()).unwrap())
            .unwrap()
            .tree()
            .unwrap()
    };
    let (ta, tb) = (tree(&a), tree(&b));
    let (sa, sb) = (
        crate::store::history::subtree(&repo, &ta, "x").unwrap(),
        crate::store::history::subtree(&repo, &tb, "x").unwrap(),
    );
    let got = crate::store::history::diff(&repo, Some(&sa), Some(&sb));
    let got: Vec<&str> = got.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(got, want);
    assert_eq!(want, ["a.md", "a/b.md", "a0.md", "t", "t/inner.md", "z.md"]);
}
