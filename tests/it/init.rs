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
    let out = run_deal(&t.path().join("demo"), &["check".into()], &env).code(0);
    assert!(
        out.stdout.contains("34 deals checked: 0 errors"),
        "{}",
        out.stdout
    );
}
