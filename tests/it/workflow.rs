//! The git workflow: `check --staged` and `--rev`, the pre-commit hook
//! (deal's own and the pre-commit framework's), `review` and `audit`.

use crate::{GOOD_BODY, Output, Test, at};

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
        .stderr_has(".githooks/pre-commit exists and is not deal's; nothing was changed")
        .stderr_has("to chain, add this line to each of them: deal -C \"$(git rev-parse --show-toplevel)\" check --staged || exit 1");
    t.cmd(&["hook", "uninstall"])
        .code(2)
        .stderr_has("is not deal's; nothing was changed");
    assert_eq!(t.state(), before);
    std::fs::remove_file(t.path().join(".githooks/pre-commit")).unwrap();
    t.cmd(&["hook", "install"])
        .code(0)
        .stdout_has(".githooks/pre-commit")
        .stdout_has(".githooks/pre-merge-commit");
    assert!(!t.path().join(".git/hooks/pre-commit").exists());
    assert!(t.path().join(".githooks/pre-merge-commit").exists());
    // A foreign pre-merge-commit alone blocks the install, and changes nothing.
    t.cmd(&["hook", "uninstall"]).code(0);
    std::fs::write(t.path().join(".githooks/pre-merge-commit"), "#!/bin/sh\n").unwrap();
    let before = t.state();
    t.cmd(&["hook", "install"])
        .code(2)
        .stderr_has("pre-merge-commit exists and is not deal's");
    assert_eq!(t.state(), before);
    assert!(!t.path().join(".githooks/pre-commit").exists());
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
    if !crate::have_tool(
        "pre-commit",
        "workflow::the_pre_commit_framework_runs_the_manifest_hook",
        "pip install pre-commit",
    ) {
        return;
    }
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
    assert_eq!(hook["pass_filenames"], true);
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
    assert!(said.contains("deal check"), "{said}");
    t.git(&["commit", "-q", "-m", "acme to proposal"]);
    // A process change that breaks a deal which passed: `--all-files`, as
    // CI runs it, passes every file, `pipeline.yaml` included.
    let p = t.path().join("pipeline.yaml");
    let cfg = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        cfg.replacen(
            "        field: engaged\n        format: date\n",
            "        field: engaged\n        format: date\n      - label: Budget owner named\n        field: budget_owner\n",
            1,
        ),
    )
    .unwrap();
    t.git(&["commit", "-q", "-am", "a stricter outreach exit"]);
    let out = std::process::Command::new("pre-commit")
        .args(["run", "--all-files", "--color", "never"])
        .current_dir(t.path())
        .envs(t.env_vars())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("missing: Budget owner named"), "{said}");
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
        out.stdout.contains("| pipeline\\.yaml | criteria-change |"),
        "{}",
        out.stdout
    );
}

/// A commit made by hand with git at `date`.
fn hand_commit(t: &Test, date: &str, msg: &str) {
    let ts = format!("{date}T00:00:00Z");
    let mut env = t.env_vars();
    env.push(("GIT_AUTHOR_DATE".into(), ts.clone()));
    env.push(("GIT_COMMITTER_DATE".into(), ts));
    let out = std::process::Command::new("git")
        .args(["commit", "-q", "-m", msg])
        .current_dir(t.path())
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `deal` as of `date` (midnight UTC), run by Bob (his git identity).
fn at_as_bob(t: &Test, date: &str, args: &[&str]) -> Output {
    crate::at_as(t, "Bob Jones", "bob@example.com", date, args)
}

#[test]
fn audit_reads_stalls_owners_and_skips_from_history() {
    let t = Test::new()
        .config_replace(
            "Alice Smith, email: alice@example.com, roles: [sdr, ae, delivery]",
            "Alice Smith, email: alice@example.com, roles: [sdr]",
        )
        .repo();
    // won1: a stall of 20 days in outreach, a handoff, a skip, two forced moves.
    at(
        &t,
        "2026-09-01",
        &[
            "new",
            "Won One",
            "--slug",
            "won1",
            "--owner",
            "alice",
            "--email",
            "a@x.example",
        ],
    )
    .code(0);
    at(&t, "2026-09-03", &["move", "won1", "outreach"]).code(0);
    at(&t, "2026-09-04", &["set", "won1", "engaged=2026-09-04"]).code(0);
    at(
        &t,
        "2026-09-24",
        &[
            "move",
            "won1",
            "discovery",
            "--owner",
            "bob",
            "--force",
            "--reason",
            "CTO intro",
        ],
    )
    .code(0);
    // Bob, who owns it now, forces the win.
    at_as_bob(
        &t,
        "2026-09-30",
        &["move", "won1", "won", "--force", "--reason", "signed early"],
    )
    .code(0);
    // lost1: 10 days idle in outreach, forced on, lost 3 days later.
    at(
        &t,
        "2026-10-01",
        &[
            "new",
            "Lost One",
            "--slug",
            "lost1",
            "--owner",
            "bob",
            "--email",
            "b@x.example",
        ],
    )
    .code(0);
    at(&t, "2026-10-02", &["move", "lost1", "outreach"]).code(0);
    at_as_bob(
        &t,
        "2026-10-12",
        &[
            "move",
            "lost1",
            "qualification",
            "--force",
            "--reason",
            "hot lead",
        ],
    )
    .code(0);
    at(
        &t,
        "2026-10-15",
        &["move", "lost1", "lost", "--reason", "no budget"],
    )
    .code(0);
    // lost2: by hand, no trailers: 30 days in prospecting, then lost.
    std::fs::create_dir_all(t.path().join("deals/01-prospecting")).unwrap();
    std::fs::write(
        t.path().join("deals/01-prospecting/lost2.md"),
        "---\ntitle: Lost Two\nowner: alice\nstages:\n  prospecting: 2026-08-01\n---\n",
    )
    .unwrap();
    t.git(&["add", "-A"]);
    hand_commit(&t, "2026-08-01", "add lost2");
    std::fs::create_dir_all(t.path().join("deals/lost")).unwrap();
    t.git(&["mv", "deals/01-prospecting/lost2.md", "deals/lost/lost2.md"]);
    std::fs::write(
        t.path().join("deals/lost/lost2.md"),
        "---\ntitle: Lost Two\nowner: alice\nstages:\n  prospecting: 2026-08-01\n  lost: 2026-08-31\nlost:\n  reason: went dark\n  stage: prospecting\n---\n",
    )
    .unwrap();
    t.git(&["add", "-A"]);
    hand_commit(&t, "2026-08-31", "lost2 went dark");
    // An open deal is not audited.
    at(
        &t,
        "2026-10-20",
        &["new", "Open One", "--slug", "open1", "--owner", "alice"],
    )
    .code(0);

    let json: serde_json::Value =
        serde_json::from_str(&t.cmd(&["audit", "--format", "json"]).code(0).stdout).unwrap();
    let deals = json["deals"].as_array().unwrap();
    // Newest close first.
    let slugs: Vec<&str> = deals.iter().map(|d| d["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["lost1", "won1", "lost2"]);
    let (lost1, won1, lost2) = (&deals[0], &deals[1], &deals[2]);

    // won1: prospecting 09-01 → 09-03 (2 d), outreach → 09-24 (21 d),
    // discovery → 09-30 (6 d). Longest gap between its commits: 09-04 → 09-24.
    let days = |d: &serde_json::Value| -> Vec<(String, Option<f64>)> {
        d["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["stage"].as_str().unwrap().to_string(), s["days"].as_f64()))
            .collect()
    };
    assert_eq!(
        days(won1),
        [
            ("prospecting".into(), Some(2.0)),
            ("outreach".into(), Some(21.0)),
            ("discovery".into(), Some(6.0)),
            ("won".into(), None)
        ]
    );
    assert_eq!(won1["longest_stall_days"], 20.0);
    assert_eq!(won1["stall_stage"], "outreach");
    assert_eq!(
        won1["owner_changes"],
        serde_json::json!(["2026-09-24: alice → bob"])
    );
    // Won from discovery: every open stage after it counts as skipped too.
    assert_eq!(
        won1["skipped"],
        serde_json::json!(["qualification", "proposal", "negotiation", "close"])
    );
    assert_eq!(won1["unowned_stages"], serde_json::json!([]));
    assert_eq!(won1["forced"][0], "forced move: CTO intro");
    assert_eq!(won1["forced"][1], "forced move: signed early");
    // outreach rots after 7 days: a 20-day stall is a process gap.
    assert_eq!(won1["process_gap"], true);
    assert_eq!(won1["training_gap"], false);

    // lost1: 1 d in prospecting, 10 d in outreach, 3 d in qualification;
    // lost 3 days after a forced move: a training gap; 10 > 7: a process gap.
    assert_eq!(
        days(lost1),
        [
            ("prospecting".into(), Some(1.0)),
            ("outreach".into(), Some(10.0)),
            ("qualification".into(), Some(3.0)),
            ("lost".into(), None)
        ]
    );
    assert_eq!(lost1["longest_stall_days"], 10.0);
    assert_eq!(lost1["stall_stage"], "outreach");
    assert_eq!(lost1["training_gap"], true);
    assert_eq!(lost1["process_gap"], true);
    assert_eq!(lost1["lost_stage"], "qualification");

    // lost2: moved by hand, no trailers: 30 days idle in prospecting, and
    // no recorded owner for it.
    assert_eq!(
        days(lost2),
        [("prospecting".into(), Some(30.0)), ("lost".into(), None)]
    );
    assert_eq!(lost2["longest_stall_days"], 30.0);
    assert_eq!(lost2["unowned_stages"], serde_json::json!(["prospecting"]));
    assert_eq!(lost2["process_gap"], true);
    assert_eq!(lost2["training_gap"], false);

    // Summary: outreach holds two of the three longest stalls; lost deals
    // left from qualification and prospecting, a tie that goes to the
    // earlier stage. Forced moves go to whoever forced them, not to the
    // owner the move handed the deal to: alice forced won1's handoff to bob
    // (waiving qualification); bob forced won1's win (discovery, proposal,
    // negotiation, close) and lost1's move (outreach).
    assert_eq!(json["most_stalled_stage"], "outreach");
    assert_eq!(json["most_lost_from"], "prospecting");
    assert_eq!(
        json["forced_by_owner"],
        serde_json::json!([
            { "owner": "alice", "forced": 1, "waivers": 1 },
            { "owner": "bob", "forced": 2, "waivers": 5 }
        ])
    );
    assert_eq!(json["process_gaps"], 3);
    assert_eq!(json["training_gaps"], 1);

    let human = t.cmd(&["audit", "--last", "2"]).code(0).stdout;
    assert!(
        human.starts_with("The last 2 closed deals (newest first):"),
        "{human}"
    );
    assert!(
        human.contains("  longest stall: 20.0 days in outreach  [process gap]"),
        "{human}"
    );
    assert!(
        human.contains("  training gaps: 1 (lost within 30 days of a forced or waived stage)"),
        "{human}"
    );
}

#[test]
fn review_flags_waivers_and_source_ids_added_by_hand() {
    let t = Test::new()
        .deal("02-outreach/acme.md", &early("  outreach: 2026-11-02\n"))
        .repo();
    t.git(&["checkout", "-q", "-b", "pr"]);
    let p = t.path().join("deals/02-outreach/acme.md");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        text.replace(
            "engaged:",
            "waived:\n  qualification: trust me\nsource_id: \"42\"\nengaged:",
        ),
    )
    .unwrap();
    t.git(&["commit", "-q", "-am", "edit by hand"]);
    let out = t.cmd(&["review", "main"]).code(1);
    assert!(out.stdout.contains("| acme | edited | outreach | outreach |  | waived, source\\_id | bob | Alice Smith | waived qualification: trust me | ❌ `hand-waiver` waived\\.qualification added by hand, without a forced move; `hand-source-id` source\\_id added by hand, without an import |"), "{}", out.stdout);
}

#[test]
fn audit_trusts_front_matter_dates_over_the_commit_that_added_the_file() {
    // A pipeline committed in one go, long after its deals moved: git only
    // says when the file was added.
    let t = Test::new()
        .deal(
            "won/old.md",
            "---\ntitle: Old\nowner: bob\nstages:\n  prospecting: 2026-06-01\n  outreach: 2026-06-04\n  won: 2026-07-04\n---\n",
        )
        .repo();
    let json: serde_json::Value =
        serde_json::from_str(&t.cmd(&["audit", "--format", "json"]).code(0).stdout).unwrap();
    let d = &json["deals"][0];
    assert_eq!(d["closed"], "2026-07-04");
    assert_eq!(d["stages"][0]["days"], 3.0);
    assert_eq!(d["stages"][1]["days"], 30.0);
    assert_eq!(d["longest_stall_days"], 30.0);
    assert_eq!(d["stall_stage"], "outreach");
}
