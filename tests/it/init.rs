//! `deal init`.

use crate::{Test, git_in, run_deal};

fn init_env(home: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("HOME".into(), home.display().to_string()),
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("SOURCE_DATE_EPOCH".into(), crate::NOW.into()),
    ]
}

#[test]
fn init_then_check_passes_and_a_second_init_changes_nothing() {
    let t = Test::empty();
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join(".gitconfig"),
        "[user]\n\tname = Ann Example\n\temail = ann@example.com\n",
    )
    .unwrap();
    let env = init_env(&home);
    let out = run_deal(t.path(), &["init".into(), "sales".into()], &env).code(0);
    assert!(
        out.stdout
            .contains("Team: ann (Ann Example <ann@example.com>) with every role."),
        "{}",
        out.stdout
    );
    let root = t.path().join("sales");
    assert!(root.join(".git").is_dir(), "git init ran");
    for d in ["01-prospecting", "04-discovery", "07-close", "won", "lost"] {
        assert!(root.join("deals").join(d).join(".gitkeep").is_file(), "{d}");
    }
    assert!(
        std::fs::read_to_string(root.join(".gitignore"))
            .unwrap()
            .contains("/report/")
    );
    let yaml = std::fs::read_to_string(root.join("pipeline.yaml")).unwrap();
    assert!(
        yaml.contains(
            "ann: { name: Ann Example, email: ann@example.com, roles: [sdr, ae, delivery] }"
        ),
        "{yaml}"
    );
    run_deal(&root, &["check".into()], &env)
        .code(0)
        .stdout("ok: 0 deals checked, no problems\n");

    let before = git_in(&root, &["status", "--porcelain", "--untracked-files=all"]);
    let out = run_deal(t.path(), &["init".into(), "sales".into()], &env).code(2);
    assert!(
        out.stderr
            .contains("pipeline.yaml exists already; nothing was changed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(root.join("pipeline.yaml")).unwrap(),
        yaml
    );
    assert_eq!(
        git_in(&root, &["status", "--porcelain", "--untracked-files=all"]),
        before
    );
}

#[test]
fn init_inside_a_repository_does_not_nest_one() {
    let t = Test::empty();
    t.git(&["init", "-q"]);
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    run_deal(
        t.path(),
        &[
            "init".into(),
            "pipe".into(),
            "--qualification".into(),
            "meddic".into(),
        ],
        &init_env(&home),
    )
    .code(0);
    assert!(!t.path().join("pipe/.git").exists());
    let yaml = std::fs::read_to_string(t.path().join("pipe/pipeline.yaml")).unwrap();
    assert!(yaml.contains("qualification: meddic"));
}

#[test]
fn init_example_gives_a_pipeline_that_checks() {
    let t = Test::empty();
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let env = init_env(&home);
    run_deal(
        t.path(),
        &["init".into(), "demo".into(), "--example".into()],
        &env,
    )
    .code(0);
    let demo = t.path().join("demo");
    let out = run_deal(&demo, &["check".into()], &env).code(0);
    assert!(
        out.stdout.contains("34 deals checked: 0 errors"),
        "{}",
        out.stdout
    );
    // A history: the work tree is clean, the commits are dated over the
    // weeks before now, moves carry deal's trailers, and one commit changed
    // a criterion with its reason.
    let git = |args: &[&str]| crate::git_in(&demo, args);
    assert_eq!(git(&["status", "--porcelain"]), "");
    git(&["fsck", "--no-progress"]);
    let n: usize = git(&["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .unwrap();
    assert!(n > 34, "{n} commits");
    let dates = git(&["log", "--format=%cs"]);
    let days: std::collections::BTreeSet<&str> = dates.lines().collect();
    assert!(days.len() > 20, "{days:?}");
    assert!(days.iter().all(|d| *d <= "2026-11-27"), "{days:?}");
    let moves = git(&["log", "--format=%(trailers:key=To-Stage,valueonly)"]);
    assert!(
        moves.lines().filter(|l| *l == "won").count() >= 4,
        "{moves}"
    );
    let reasons = git(&["log", "--format=%(trailers:key=Criteria-Change,valueonly)"]);
    assert_eq!(
        reasons.trim(),
        "deals stalled after demos with no agreed next step"
    );
    // trend and audit have something to show on day one.
    let trend = run_deal(
        &demo,
        &["trend".into(), "--format".into(), "json".into()],
        &env,
    )
    .code(0);
    let v: serde_json::Value = serde_json::from_str(&trend.stdout).unwrap();
    let snaps = v["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 12);
    assert_eq!(snaps[11]["open"], 26, "{}", trend.stdout);
    assert!(snaps.iter().filter(|s| s["commit"].is_string()).count() >= 10);
    assert_eq!(v["criteria_changes"].as_array().unwrap().len(), 1);
    let audit = run_deal(&demo, &["audit".into()], &env).code(0);
    assert!(audit.stdout.contains("won on"), "{}", audit.stdout);
}

#[test]
fn the_example_pipeline_checks_clean_with_warnings_and_uses_the_note_shapes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-pipeline");
    let env = vec![("SOURCE_DATE_EPOCH".to_string(), crate::NOW.to_string())];
    let out = run_deal(&root, &["check".into()], &env).code(0);
    assert!(
        out.stdout
            .ends_with("34 deals checked: 0 errors, 12 warnings\n"),
        "{}",
        out.stdout
    );
    for rule in [
        "rotting",
        "next-step-overdue",
        "speed-to-lead",
        "close-date-passed",
    ] {
        assert!(out.stdout.contains(&format!("warning[{rule}]")), "{rule}");
    }
    // Notes follow the templates' headings (sections with `filled: all` are
    // covered by the check above; objections have no such criterion).
    for e in walkdir::WalkDir::new(root.join("deals"))
        .into_iter()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        if let Some(i) = text.find("## Objections\n") {
            let sec = &text[i..];
            let sec = &sec[..sec[3..].find("\n## ").map(|j| j + 3).unwrap_or(sec.len())];
            for h in ["### Pricing\n", "### Scope\n", "### Timing\n"] {
                assert!(sec.contains(h), "{}: {h}", e.path().display());
            }
        }
    }
    // One forced move, recorded with its waiver.
    let shown = run_deal(&root, &["show".into(), "orchid-health".into()], &env).code(0);
    assert!(
        shown
            .stdout
            .contains("Waived:\n  qualification: Referral from their CTO"),
        "{}",
        shown.stdout
    );
}

#[test]
fn init_makes_the_first_commit_and_says_so() {
    let t = Test::empty();
    let out = t.cmd(&["init", "sales"]).code(0);
    assert!(
        out.stdout.contains("Committed them as the first commit ("),
        "{}",
        out.stdout
    );
    let root = t.path().join("sales");
    assert_eq!(
        git_in(&root, &["log", "--format=%s"]).trim(),
        "deal: a new pipeline"
    );
    assert_eq!(
        git_in(&root, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    let files = git_in(&root, &["ls-tree", "-r", "--name-only", "HEAD"]);
    for f in [
        ".gitignore",
        "pipeline.yaml",
        "deals/01-prospecting/.gitkeep",
        "deals/won/.gitkeep",
    ] {
        assert!(files.lines().any(|l| l == f), "{f} not committed:\n{files}");
    }
    // History reads work from the first minute.
    run_deal(&root, &["review".into(), "HEAD".into()], &t.env_vars()).code(0);
    // A repository with no commits (just `git init`) gets the first commit too,
    // holding only the pipeline's files.
    let t = Test::empty().file("notes.txt", "mine\n");
    t.git(&["init", "-q"]);
    let out = t.cmd(&["init", "pipe"]).code(0);
    assert!(out.stdout.contains("as the first commit"), "{}", out.stdout);
    let files = t.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(files.lines().all(|l| l.starts_with("pipe/")), "{files}");
    assert_eq!(
        t.git(&["status", "--porcelain", "--untracked-files=all"]),
        "?? notes.txt\n"
    );
    // A repository with commits of its own: nothing committed for it.
    let t = Test::empty().file("README", "outer\n").repo();
    let out = t.cmd(&["init", "sales"]).code(0);
    assert!(
        out.stdout
            .contains("Not committed (the repository has commits of its own)")
    );
    assert_eq!(t.git(&["rev-list", "--count", "HEAD"]).trim(), "1");
}

#[test]
fn init_without_a_git_identity_writes_the_files_and_says_how_to_commit() {
    let t = Test::empty();
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = run_deal(t.path(), &["init".into(), "sales".into()], &init_env(&home)).code(0);
    assert!(
        out.stdout.contains("Not committed: git has no identity"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("git config --global user.name"),
        "{}",
        out.stdout
    );
    let root = t.path().join("sales");
    assert!(root.join("pipeline.yaml").is_file());
    let head = std::process::Command::new("git")
        .args(["rev-parse", "-q", "--verify", "HEAD"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(!head.status.success(), "no commit");
}

#[test]
fn init_commits_with_an_identity_given_only_in_the_environment() {
    let t = Test::empty();
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut env = init_env(&home);
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "Erin Env"),
        ("GIT_AUTHOR_EMAIL", "erin@example.com"),
        ("GIT_COMMITTER_NAME", "Erin Env"),
        ("GIT_COMMITTER_EMAIL", "erin@example.com"),
    ] {
        env.push((k.into(), v.into()));
    }
    let out = run_deal(t.path(), &["init".into(), "sales".into()], &env).code(0);
    assert!(
        out.stdout.contains("Committed them as the first commit"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Team: erin (Erin Env <erin@example.com>)"),
        "{}",
        out.stdout
    );
    let root = t.path().join("sales");
    assert_eq!(
        git_in(&root, &["log", "-1", "--format=%an <%ae>"]).trim(),
        "Erin Env <erin@example.com>"
    );
}
