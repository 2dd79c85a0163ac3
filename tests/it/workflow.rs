//! The git workflow: `check --staged` and `--rev`, the pre-commit hook
//! (deal's own and the pre-commit framework's), `review` and `audit`.

use crate::{GOOD_BODY, Output, Test};

/// Front-matter for a deal that has met prospecting and outreach.
fn early(stages: &str) -> String {
    format!(
        "---\ntitle: Acme\ncompany: Acme\nowner: bob\ncontact:\n  email: jane@acme.example\nengaged: 2026-11-03\nstages:\n{stages}---\n# Acme\n"
    )
}

/// The same deal with its qualification and problem statement filled in.
fn qualified(stages: &str) -> String {
    format!(
        "---\ntitle: Acme\ncompany: Acme\nowner: bob\ncontact:\n  email: jane@acme.example\nengaged: 2026-11-03\n\
problem:\n  confirmed_by: Jane Doe\n  confirmed_on: 2026-11-12\nstages:\n{stages}---\n{GOOD_BODY}"
    )
}

fn commit(t: &Test, msg: &str) -> Output {
    t.git_cmd(t.path(), &["commit", "-q", "-m", msg], None)
}

#[test]
fn the_pre_commit_hook_guards_exit_criteria() {
    let t = Test::new()
        .deal("02-outreach/acme.md", &early("  outreach: 2026-11-02\n"))
        // An old problem, committed before the hook: it must not block others.
        .deal("05-proposal/old.md", "---\ntitle: Old\nowner: bob\n---\n")
        .repo();
    t.cmd(&["hook", "install"])
        .code(0)
        .stdout_has("Installed .git/hooks/pre-commit");
    // Moved by hand into proposal, without a qualification summary.
    t.git(&[
        "mv",
        "deals/02-outreach/acme.md",
        "deals/05-proposal/acme.md",
    ]);
    let out = commit(&t, "acme to proposal");
    assert_ne!(out.code, 0, "the commit went through:\n{}", out.stdout);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("in proposal, but the exit criteria of qualification are not met"),
        "{said}"
    );
    assert!(
        said.contains("missing: Written qualification summary"),
        "{said}"
    );
    assert!(
        !said.contains("old.md"),
        "an unstaged old problem was reported:\n{said}"
    );
    assert_eq!(t.git(&["log", "--format=%s"]).trim(), "seed");

    // A fix in the working tree only does not let the staged file through.
    let path = t.path().join("deals/05-proposal/acme.md");
    std::fs::write(&path, qualified("  outreach: 2026-11-02\n")).unwrap();
    let out = commit(&t, "acme to proposal");
    assert_ne!(out.code, 0, "an unstaged fix rescued the commit");

    // Staged, it does.
    t.git(&["add", "deals/05-proposal/acme.md"]);
    let out = commit(&t, "acme to proposal");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    // An unrelated commit is not blocked by old.md's old problem.
    std::fs::write(t.path().join("README.md"), "hello\n").unwrap();
    t.git(&["add", "README.md"]);
    let out = commit(&t, "readme");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // ... though `deal check` still reports it.
    t.cmd(&["check"]).code(1).stdout_has("old.md");

    // The hook is deal's: a second install updates it, uninstall removes it.
    t.cmd(&["hook", "install"]).code(0).stdout_has("Updated");
    t.cmd(&["hook", "uninstall"]).code(0).stdout_has("Removed");
    assert!(!t.path().join(".git/hooks/pre-commit").exists());
}

#[test]
fn the_hook_never_clobbers_and_honours_hooks_path() {
    let t = Test::new().repo();
    std::fs::create_dir_all(t.path().join(".githooks")).unwrap();
    std::fs::write(
        t.path().join(".githooks/pre-commit"),
        "#!/bin/sh\nmake lint\n",
    )
    .unwrap();
    t.git(&["config", "core.hooksPath", ".githooks"]);
    let before = t.state();
    t.cmd(&["hook", "install"])
        .code(2)
        .stderr_has(".githooks/pre-commit exists and is not deal's; it was left alone")
        .stderr_has("to chain, add this line to that hook: deal -C \"$(git rev-parse --show-toplevel)\" check --staged || exit 1");
    t.cmd(&["hook", "uninstall"])
        .code(2)
        .stderr_has("is not deal's hook");
    assert_eq!(t.state(), before);
    std::fs::remove_file(t.path().join(".githooks/pre-commit")).unwrap();
    t.cmd(&["hook", "install"])
        .code(0)
        .stdout_has(".githooks/pre-commit");
    assert!(!t.path().join(".git/hooks/pre-commit").exists());
}

#[test]
fn check_staged_reads_the_index_and_rev_reads_a_commit() {
    let t = Test::new()
        .deal("02-outreach/acme.md", &early("  outreach: 2026-11-02\n"))
        .deal("05-proposal/old.md", "---\ntitle: Old\nowner: bob\n---\n")
        .repo();
    // Nothing staged: nothing to report, even with old.md's problem.
    t.cmd(&["check", "--staged"]).code(0);
    // A staged duplicate slug is reported with both files.
    std::fs::create_dir_all(t.path().join("deals/03-qualification")).unwrap();
    std::fs::write(
        t.path().join("deals/03-qualification/old.md"),
        "---\ntitle: Copy\nowner: bob\n---\n",
    )
    .unwrap();
    t.git(&["add", "-A"]);
    let out = t.cmd(&["check", "--staged", "--format", "json"]).code(1);
    assert!(out.stdout.contains("duplicate-slug"), "{}", out.stdout);
    t.git(&["reset", "-q"]);
    // --rev: the seed commit has old.md's problem.
    t.cmd(&["check", "--rev", "HEAD"])
        .code(1)
        .stdout_has("old.md");
    t.cmd(&["check", "--rev", "nope"]).code(2);
}

#[test]
fn the_pre_commit_framework_runs_the_manifest_hook() {
    // The hook as the manifest declares it, used from a `repo: local`.
    let manifest: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/.pre-commit-hooks.yaml"
        ))
        .unwrap(),
    )
    .unwrap();
    let hook = manifest
        .as_sequence()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "deal-check")
        .expect("a deal-check hook")
        .clone();
    assert_eq!(hook["language"], "system");
    assert_eq!(hook["pass_filenames"], false);
    let config = serde_yaml::to_string(&serde_yaml::Value::Mapping(
        [(
            "repos".into(),
            serde_yaml::Value::Sequence(vec![serde_yaml::Value::Mapping(
                [
                    ("repo".into(), "local".into()),
                    ("hooks".into(), serde_yaml::Value::Sequence(vec![hook])),
                ]
                .into_iter()
                .collect(),
            )]),
        )]
        .into_iter()
        .collect(),
    ))
    .unwrap();
    let t = Test::new()
        .deal("02-outreach/acme.md", &early("  outreach: 2026-11-02\n"))
        .file(".pre-commit-config.yaml", &config)
        .repo();
    // `deal` on PATH, as `language: system` expects.
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_deal"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let t = t.env("PATH", &path);
    let pre_commit = |t: &Test| {
        t.git_cmd(t.path(), &["status"], None); // refresh the index stat cache
        let out = std::process::Command::new("pre-commit")
            .args(["run", "--color", "never"])
            .current_dir(t.path())
            .envs(t.env_vars())
            .output()
            .expect("pre-commit runs (pip install pre-commit; .ci/run installs it)");
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    std::fs::create_dir_all(t.path().join("deals/05-proposal")).unwrap();
    t.git(&[
        "mv",
        "deals/02-outreach/acme.md",
        "deals/05-proposal/acme.md",
    ]);
    let (code, said) = pre_commit(&t);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("exit criteria of qualification are not met"),
        "{said}"
    );
    std::fs::write(
        t.path().join("deals/05-proposal/acme.md"),
        qualified("  outreach: 2026-11-02\n"),
    )
    .unwrap();
    t.git(&["add", "-A"]);
    let (code, said) = pre_commit(&t);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("deal check --staged"), "{said}");
}
