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

/// Replaces commit ids in review output, which differ on every run.
fn mask_ids(s: &str) -> String {
    let re = regex::Regex::new(r"`[0-9a-f]{7}`").unwrap();
    re.replace_all(s, "`<id>`").into_owned()
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it.
fn golden(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(got, want, "differs from {}", path.display());
}

/// A base branch, then a pull request holding every kind of change.
fn review_test() -> Test {
    let body = GOOD_BODY;
    let engaged = "contact:\n  email: x@example.com\nengaged: 2026-11-03\n";
    let t = Test::new()
        .deal("02-outreach/fwd.md", &format!("---\ntitle: Forward\nowner: bob\n{engaged}stages:\n  outreach: 2026-11-03\n---\n{body}"))
        .deal("02-outreach/hand.md", &format!("---\ntitle: By hand\nowner: bob\n{engaged}stages:\n  outreach: 2026-11-03\n---\n{body}"))
        .deal("01-prospecting/skip.md", "---\ntitle: Skipper\nowner: alice\ncontact:\n  email: s@example.com\nstages:\n  prospecting: 2026-11-01\n---\n# Skipper\n")
        .deal("02-outreach/forced.md", &format!("---\ntitle: Forced\nowner: bob\n{engaged}stages:\n  outreach: 2026-11-03\n---\n# Forced\n"))
        .deal("03-qualification/gone.md", &format!("---\ntitle: Gone\nowner: bob\n{engaged}stages:\n  qualification: 2026-11-05\n---\n{body}"))
        .deal("02-outreach/handover.md", &format!("---\ntitle: Handover\nowner: bob\n{engaged}stages:\n  outreach: 2026-11-03\n---\n# Handover\n"))
        .repo();
    t.git(&["checkout", "-q", "-b", "pr"]);
    // A forward move with trailers.
    t.cmd(&["move", "fwd", "qualification"]).code(0);
    // A hand `git mv`, no trailers, the file heavily rewritten.
    std::fs::create_dir_all(t.path().join("deals/03-qualification")).unwrap();
    t.git(&[
        "mv",
        "deals/02-outreach/hand.md",
        "deals/03-qualification/hand.md",
    ]);
    std::fs::write(
        t.path().join("deals/03-qualification/hand.md"),
        format!("---\ntitle: By hand, rewritten\nowner: bob\nvalue: 12000\n{engaged}stages:\n  outreach: 2026-11-03\n  qualification: 2026-11-20\n---\n{body}\n## More notes\nLots of new text.\n"),
    )
    .unwrap();
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "hand move"]);
    // A skip with unmet criteria, by hand.
    std::fs::create_dir_all(t.path().join("deals/04-discovery")).unwrap();
    t.git(&[
        "mv",
        "deals/01-prospecting/skip.md",
        "deals/04-discovery/skip.md",
    ]);
    t.git(&["commit", "-q", "-m", "skip ahead"]);
    // A forced move with a reason.
    t.cmd(&[
        "move",
        "forced",
        "qualification",
        "--force",
        "--reason",
        "met at the trade fair",
    ])
    .code(0);
    // A lost deal, and a reassignment.
    t.cmd(&["move", "gone", "lost", "--reason", "competitor"])
        .code(0);
    t.cmd(&["assign", "handover", "dana", "--reason", "territory change"])
        .code(0);
    // A weakening: the outreach criterion goes, with no Criteria-Change trailer.
    let p = t.path().join("pipeline.yaml");
    let cfg = std::fs::read_to_string(&p).unwrap();
    let weaker = cfg.replace(
        "        field: engaged\n        format: date\n",
        "        field: engaged\n",
    );
    assert_ne!(cfg, weaker, "the fixture must change the criterion");
    std::fs::write(&p, weaker).unwrap();
    t.git(&["commit", "-q", "-am", "relax outreach"]);
    t
}

#[test]
fn review_judges_every_change_by_the_base_rules() {
    let t = review_test();
    let out = t.cmd(&["review", "main"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    golden("review.md", &mask_ids(&out.stdout));
    let json: serde_json::Value = serde_json::from_str(
        &t.cmd(&["review", "main", "--format", "json"])
            .code(1)
            .stdout,
    )
    .unwrap();
    assert_eq!(json["violations"], 3, "{json:#}");
    assert_eq!(json["base"].as_str().unwrap().len(), 40);
    let skip = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == "skip")
        .unwrap();
    assert_eq!(skip["change"], "moved");
    assert_eq!(skip["from"], "prospecting");
    assert_eq!(skip["to"], "discovery");

    // A Criteria-Change trailer explains the weakening; undoing the skip
    // leaves nothing to object to.
    t.git(&[
        "mv",
        "deals/04-discovery/skip.md",
        "deals/01-prospecting/skip.md",
    ]);
    t.git(&["commit", "-q", "-m", "undo the skip"]);
    t.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "Explain\n\nCriteria-Change: engaged may be any value, not only a date",
    ]);
    let out = t.cmd(&["review", "main..HEAD"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("| pipeline.yaml | criteria-change |"),
        "{}",
        out.stdout
    );
}
