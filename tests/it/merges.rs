//! Pull requests and merges as a team makes them: branches that move the
//! same deal, half-merged files, forced moves and losses in review, weakened
//! criteria, hostile owner names, and audit over merged history.

use crate::{Test, good_deal};

/// A qualified deal in `03-qualification`, and a plain one in outreach.
fn base() -> Test {
    Test::new()
        .deal(
            "03-qualification/acme.md",
            &good_deal("  qualification: 2026-11-05\n", ""),
        )
        .deal(
            "02-outreach/beta.md",
            "---\ntitle: Beta\nowner: bob\ncontact:\n  email: b@beta.example\nengaged: 2026-11-03\nstages:\n  outreach: 2026-11-03\n---\n# Beta\n",
        )
        .repo()
}

/// `n` lines of notes unique to `tag`, so that git sees no rename.
fn notes(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("- {tag} note {i}: talked about item {i} with the {tag} team\n"))
        .collect()
}

pub(crate) fn json(out: &crate::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

pub(crate) fn change<'a>(j: &'a serde_json::Value, slug: &str) -> &'a serde_json::Value {
    j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == slug)
        .unwrap_or_else(|| panic!("no change for {slug}: {j:#}"))
}

fn rules(c: &serde_json::Value) -> Vec<String> {
    c["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert!(
                !v["help"].as_str().unwrap_or("").is_empty(),
                "a violation without help: {v}"
            );
            v["rule"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_typo_and_conflict_markers_are_unreadable_never_removed() {
    let t = base();
    t.git(&["checkout", "-q", "-b", "pr"]);
    let acme = t.path().join("deals/03-qualification/acme.md");
    let text = std::fs::read_to_string(&acme).unwrap();
    std::fs::write(&acme, text.replace("title: Acme Corp", "title: [Acme Corp")).unwrap();
    let beta = t.path().join("deals/02-outreach/beta.md");
    let text = std::fs::read_to_string(&beta).unwrap();
    let conflicted = text.replace(
        "engaged: 2026-11-03\n",
        "<<<<<<< HEAD\nengaged: 2026-11-03\n=======\nengaged: 2026-11-04\n>>>>>>> other\n",
    );
    std::fs::write(&beta, &conflicted).unwrap();
    t.git(&["commit", "-q", "-am", "broken edits"]);

    let out = t.cmd(&["review", "main", "--format", "json"]).code(1);
    let j = json(&out);
    let a = change(&j, "acme");
    assert_eq!(a["change"], "unreadable", "{j:#}");
    assert_eq!(rules(a), ["unreadable"]);
    let b = change(&j, "beta");
    assert_eq!(b["change"], "unreadable", "{j:#}");
    assert_eq!(rules(b), ["conflict"]);
    assert!(
        b["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deals/02-outreach/beta.md:6"),
        "{j:#}"
    );
    assert_eq!(j["unreadable"].as_array().unwrap().len(), 2, "{j:#}");
    let md = t.cmd(&["review", "main"]).code(1).stdout;
    assert!(md.contains("| beta | unreadable |"), "{md}");
    assert!(!md.contains("removed"), "{md}");

    // check names the conflict's line and how to resolve it.
    let out = t.cmd(&["check", "--format", "json"]).code(1);
    let j = json(&out);
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "conflict")
        .unwrap_or_else(|| panic!("{j:#}"));
    assert_eq!(f["path"], "deals/02-outreach/beta.md");
    assert_eq!(f["line"], 6);
    assert!(f["help"].as_str().unwrap().contains("deal resolve"), "{f}");
    // A setext heading's lone ======= is not a conflict.
    std::fs::write(&beta, text.replace("# Beta\n", "Beta\n=======\n\nNotes.\n")).unwrap();
    let out = t.cmd(&["check", "deals/02-outreach/beta.md"]);
    assert!(!out.stdout.contains("conflict"), "{}", out.stdout);

    // Conflict markers in pipeline.yaml: exit 2 at their line.
    let p = t.path().join("pipeline.yaml");
    let cfg = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        cfg.replacen(
            "version: 1\n",
            "<<<<<<< HEAD\nversion: 1\n=======\nversion: 1\n>>>>>>> x\n",
            1,
        ),
    )
    .unwrap();
    let line = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("<<<<<<<"))
        .unwrap()
        + 1;
    t.cmd(&["check"])
        .code(2)
        .stderr_has(&format!("pipeline.yaml:{line}:1"))
        .stderr_has("merge-conflict markers");
}

/// Two branches move the same deal, each rewriting it enough that git sees
/// no rename: the merge is clean for git and leaves the deal in two places.
fn diverged() -> Test {
    let t = base();
    t.git(&["checkout", "-q", "-b", "ahead"]);
    t.cmd(&["move", "acme", "discovery"]).code(0);
    let p = t.path().join("deals/04-discovery/acme.md");
    let mut s = std::fs::read_to_string(&p).unwrap();
    s.push_str(&notes("discovery", 40));
    std::fs::write(&p, s).unwrap();
    t.git(&["commit", "-q", "-am", "discovery notes"]);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["checkout", "-q", "-b", "back"]);
    t.cmd(&["move", "acme", "outreach"]).code(0);
    let p = t.path().join("deals/02-outreach/acme.md");
    let mut s = std::fs::read_to_string(&p).unwrap();
    s.push_str(&notes("requalify", 40));
    std::fs::write(&p, s).unwrap();
    t.git(&["commit", "-q", "-am", "requalify notes"]);
    t
}

#[test]
fn a_merge_that_leaves_a_deal_in_two_places_is_refused_or_resolved() {
    let t = diverged();
    // With deal's hooks, git's own clean merge is refused.
    t.cmd(&["hook", "install"])
        .code(0)
        .stdout_has("pre-merge-commit");
    let before = t.git(&["rev-parse", "HEAD"]);
    let out = t.git_cmd(t.path(), &["merge", "--no-edit", "ahead"], None);
    assert_ne!(
        out.code, 0,
        "the merge went through: {}{}",
        out.stdout, out.stderr
    );
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("duplicate-slug"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(t.git(&["rev-parse", "HEAD"]), before);
    // `git commit` to finish it runs the pre-commit hook: refused too.
    let out = t.git_cmd(t.path(), &["commit", "--no-edit"], None);
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), before);
    t.git(&["merge", "--abort"]);
    t.cmd(&["hook", "uninstall"]).code(0);

    // Without hooks git merges cleanly and the deal is in two folders.
    let out = t.git_cmd(t.path(), &["merge", "--no-edit", "ahead"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let files = t.git(&["ls-files", "deals"]);
    assert!(files.contains("deals/04-discovery/acme.md"), "{files}");
    assert!(files.contains("deals/02-outreach/acme.md"), "{files}");

    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(1));
    let a = change(&j, "acme");
    assert_eq!(a["change"], "duplicated", "{j:#}");
    assert!(rules(a).contains(&"duplicate-slug".to_string()), "{j:#}");
    assert!(
        a["violations"][0]["help"]
            .as_str()
            .unwrap()
            .contains("deal resolve acme --keep"),
        "{j:#}"
    );
    let out = t.cmd(&["check"]).code(1);
    assert!(out.stdout.contains("duplicate-slug"), "{}", out.stdout);
    assert!(
        out.stdout.contains("deal resolve acme --keep"),
        "{}",
        out.stdout
    );
    // Commands that take one deal name both copies and the fix.
    t.cmd(&["show", "acme"])
        .code(2)
        .stderr_has("deals/02-outreach/acme.md")
        .stderr_has("deals/04-discovery/acme.md")
        .stderr_has("deal resolve acme --keep");
    t.cmd(&["show", "acm"]).code(2).stderr_has("deal resolve");
    let before = t.state();
    t.cmd(&["move", "acme", "proposal"])
        .code(2)
        .stderr_has("deal resolve acme --keep");
    t.cmd(&["set", "acme", "value=1"])
        .code(2)
        .stderr_has("deal resolve acme --keep");
    // A bad --keep changes nothing.
    t.cmd(&["resolve", "acme", "--keep", "won"])
        .code(2)
        .stderr_has("names none of the copies");
    assert_eq!(t.state(), before);

    t.cmd(&["resolve", "acme", "--keep", "discovery"])
        .code(0)
        .stdout_has("Kept deals/04-discovery/acme.md");
    let files = t.git(&["ls-files", "deals"]);
    assert!(files.contains("deals/04-discovery/acme.md"), "{files}");
    assert!(!files.contains("deals/02-outreach/acme.md"), "{files}");
    assert!(!t.path().join("deals/02-outreach/acme.md").exists());
    assert_eq!(
        t.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(
        t.git(&["log", "-1", "--format=%(trailers:only,unfold)"]),
        "Deal: acme\nResolved: deals/04-discovery/acme.md\nOwner: bob <bob@example.com>\n\n"
    );
    let parsed = t.git_cmd(
        t.path(),
        &["interpret-trailers", "--parse"],
        Some(&t.git(&["log", "-1", "--format=%B"])),
    );
    assert!(
        parsed
            .stdout
            .contains("Resolved: deals/04-discovery/acme.md")
    );
    t.git(&["fsck", "--strict"]);
    let out = t.cmd(&["check"]);
    assert!(!out.stdout.contains("duplicate-slug"), "{}", out.stdout);
    t.cmd(&["review", "main"]).code(0);
    // Not duplicated any more: exit 2.
    t.cmd(&["resolve", "acme", "--keep", "discovery"])
        .code(2)
        .stderr_has("is not duplicated");
}

#[test]
fn merging_main_never_fails_over_someone_elses_old_deal() {
    // An old deal on main breaks its criteria; a merge that does not touch
    // it passes the hook.
    let t = Test::new()
        .deal("05-proposal/old.md", "---\ntitle: Old\nowner: bob\n---\n# Old\n")
        .deal(
            "02-outreach/beta.md",
            "---\ntitle: Beta\nowner: bob\ncontact:\n  email: b@beta.example\nengaged: 2026-11-03\nstages:\n  outreach: 2026-11-03\n---\n# Beta\n",
        )
        .repo();
    t.cmd(&["hook", "install"]).code(0);
    t.git(&["checkout", "-q", "-b", "feature"]);
    t.cmd(&["set", "beta", "value=1000"]).code(0);
    t.git(&["checkout", "-q", "main"]);
    t.cmd(&["set", "old", "value=5"]).code(0);
    t.git(&["checkout", "-q", "feature"]);
    let out = t.git_cmd(t.path(), &["merge", "--no-edit", "main"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(t.git(&["log", "-1", "--format=%p"]).split(' ').count(), 2);
}

#[test]
fn forced_moves_waivers_and_losses_reach_the_reviewer() {
    let t = base();
    t.git(&["checkout", "-q", "-b", "pr"]);
    t.cmd(&[
        "move",
        "beta",
        "proposal",
        "--force",
        "--reason",
        "CFO waived the written summary",
        "--owner",
        "bob",
    ])
    .code(0);
    t.cmd(&["move", "acme", "lost", "--reason", "competitor"])
        .code(0);
    let out = t.cmd(&["review", "main"]).code(0);
    assert!(
        out.stdout.contains("**forced**; waived qualification: CFO waived the written summary; waived discovery: CFO waived the written summary"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("lost reason: competitor"),
        "{}",
        out.stdout
    );
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(0));
    let b = change(&j, "beta");
    assert_eq!(b["forced"], true);
    assert_eq!(
        b["waived"],
        serde_json::json!([
            { "stage": "qualification", "reason": "CFO waived the written summary" },
            { "stage": "discovery", "reason": "CFO waived the written summary" }
        ])
    );
    assert_eq!(b["lost_reason"], serde_json::Value::Null);
    let a = change(&j, "acme");
    assert_eq!(a["change"], "lost");
    assert_eq!(a["forced"], false);
    assert_eq!(a["lost_reason"], "competitor");
    assert_eq!(a["waived"], serde_json::json!([]));
}

#[test]
fn new_deals_past_the_first_stage_and_hand_written_waivers_are_judged() {
    let t = base();
    t.git(&["checkout", "-q", "-b", "pr"]);
    std::fs::create_dir_all(t.path().join("deals/05-proposal")).unwrap();
    std::fs::write(
        t.path().join("deals/05-proposal/newco.md"),
        "---\ntitle: NewCo\nowner: bob\nwaived:\n  outreach: trust me\nsource_id: \"77\"\n---\n# NewCo\n",
    )
    .unwrap();
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "a deal by hand"]);
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(1));
    let n = change(&j, "newco");
    assert_eq!(n["change"], "added");
    let r = rules(n);
    assert!(r.contains(&"exit-criteria".to_string()), "{j:#}");
    assert!(r.contains(&"hand-waiver".to_string()), "{j:#}");
    assert!(r.contains(&"hand-source-id".to_string()), "{j:#}");
    let msgs = n["violations"].to_string();
    assert!(msgs.contains("prospecting exit criteria not met"), "{msgs}");
    assert!(!msgs.contains("outreach exit criteria"), "waived: {msgs}");
}

fn weakened(from: &str, to: &str) -> Test {
    let t = base();
    t.git(&["checkout", "-q", "-b", "pr"]);
    let p = t.path().join("pipeline.yaml");
    let cfg = std::fs::read_to_string(&p).unwrap();
    let new = cfg.replace(from, to);
    assert_ne!(cfg, new, "the fixture must change pipeline.yaml");
    std::fs::write(&p, new).unwrap();
    t.git(&["commit", "-q", "-am", "tune the process"]);
    t
}

fn pipeline_row(t: &Test, code: i32) -> serde_json::Value {
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(code));
    change(&j, "pipeline.yaml").clone()
}

#[test]
fn weakenings_need_a_criteria_change_with_a_reason() {
    // Emptied lost_reasons.
    let cfg = crate::default_config();
    let line = cfg
        .lines()
        .find(|l| l.starts_with("lost_reasons:"))
        .unwrap()
        .to_string();
    let t = weakened(&line, "lost_reasons: []");
    let row = pipeline_row(&t, 1);
    assert_eq!(row["change"], "weakened");
    assert_eq!(rules(&row), ["weakened-criteria"]);
    assert!(
        row["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("emptied")
    );
    assert!(
        row["violations"][0]["help"].as_str().unwrap().contains(
            "git commit --allow-empty -m \"Relax the process\" --trailer \"Criteria-Change: <why>\""
        ),
        "{row}"
    );

    // An added `any:` alternative.
    let t = weakened(
        "          - { field: contact.phone, format: phone }\n",
        "          - { field: contact.phone, format: phone }\n          - { field: contact.name }\n",
    );
    let row = pipeline_row(&t, 1);
    assert!(
        row["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("given another `any:` alternative"),
        "{row}"
    );

    // An empty Criteria-Change: trailer excuses nothing.
    t.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "Relax\n\nCriteria-Change:",
    ]);
    let row = pipeline_row(&t, 1);
    assert_eq!(row["change"], "weakened");
    assert!(
        row["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("says nothing"),
        "{row}"
    );
    // A real one does.
    t.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "Relax",
        "--trailer",
        "Criteria-Change: a name is enough for inbound leads",
    ]);
    let row = pipeline_row(&t, 0);
    assert_eq!(row["change"], "criteria-change");
    assert_eq!(row["violations"], serde_json::json!([]));

    // Extending lost_reasons is a weakening too; tightening is not.
    let t = weakened("went dark]", "went dark, other]");
    assert!(
        pipeline_row(&t, 1)["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("extended with \"other\"")
    );
}

#[test]
fn text_from_deals_renders_as_text_in_the_pull_request_comment() {
    let evil = "![pwned](https://evil.example/x.png) <img src=x onerror=alert(1)> | [link](https://evil.example) @everyone";
    let t = Test::new()
        .config_replace(
            "lost_reasons: [",
            "lost_reasons: [\"<b>bold</b> | ![i](https://evil.example/i.png)\", ",
        )
        .deal(
            "02-outreach/beta.md",
            &format!(
                "---\ntitle: Beta\nowner: \"{}\"\nstages:\n  outreach: 2026-11-03\n---\n# Beta\n",
                evil.replace('"', "\\\"")
            ),
        )
        .repo();
    t.git(&["checkout", "-q", "-b", "pr"]);
    let p = t.path().join("deals/02-outreach/beta.md");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::create_dir_all(t.path().join("deals/lost")).unwrap();
    std::fs::write(
        t.path().join("deals/lost/beta.md"),
        text.replace(
            "stages:",
            "lost:\n  reason: \"<b>bold</b> | ![i](https://evil.example/i.png)\"\n  stage: outreach\nstages:",
        ),
    )
    .unwrap();
    std::fs::remove_file(&p).unwrap();
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "lose it"]);
    let md = t.cmd(&["review", "main"]).stdout;
    let row = md
        .lines()
        .find(|l| l.starts_with("| beta |"))
        .unwrap_or_else(|| panic!("{md}"));
    // One table row: 11 unescaped pipes for 10 cells.
    let cells = row.replace("\\|", "").matches('|').count();
    assert_eq!(cells, 11, "{row}");
    for bad in ["![", "<img", "<b>", "](http", "[link]", " @everyone"] {
        assert!(!md.contains(bad), "{bad} survived: {md}");
    }
    assert!(
        row.contains("&lt;img src=x onerror=alert\\(1\\)&gt;"),
        "{row}"
    );
    assert!(
        row.contains("&lt;b&gt;bold&lt;/b&gt; \\| \\!\\[i\\]"),
        "{row}"
    );
    // A Markdown renderer shows it as text: no tag, no link, no image.
    let html = {
        let mut s = String::new();
        pulldown_cmark::html::push_html(
            &mut s,
            pulldown_cmark::Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES),
        );
        s
    };
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<a "), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;img src=x"), "{html}");
}

/// `git` as of `date` (midnight UTC).
fn git_on(t: &Test, date: &str, args: &[&str]) {
    t.git_at(&format!("{date}T00:00:00Z"), args);
}

#[test]
fn audit_follows_the_main_line_and_credits_forced_moves_to_their_own_commit() {
    let deal = |title: &str| {
        format!(
            "---\ntitle: {title}\nowner: bob\ncontact:\n  email: x@example.com\nengaged: 2026-10-02\nstages:\n  prospecting: 2026-10-01\n  outreach: 2026-10-02\n---\n# {title}\n"
        )
    };
    let t = Test::new()
        .deal("02-outreach/acme.md", &deal("Acme"))
        .deal("02-outreach/beta.md", &deal("Beta"))
        .env("GIT_AUTHOR_DATE", "2026-10-03T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-10-03T00:00:00Z")
        .repo();
    // A branch moves acme on, then bob (who owns it) forces it past
    // discovery.
    git_on(&t, "2026-10-04", &["checkout", "-q", "-b", "fast"]);
    crate::at(&t, "2026-10-05", &["move", "acme", "qualification"]).code(0);
    crate::at_as(
        &t,
        "Bob Jones",
        "bob@example.com",
        "2026-10-08",
        &[
            "move",
            "acme",
            "proposal",
            "--force",
            "--reason",
            "exec sponsor",
        ],
    )
    .code(0);
    // Another branch forces beta, and the merge throws that away.
    git_on(&t, "2026-10-04", &["checkout", "-q", "main"]);
    git_on(&t, "2026-10-04", &["checkout", "-q", "-b", "discarded"]);
    crate::at(
        &t,
        "2026-10-06",
        &[
            "move",
            "beta",
            "proposal",
            "--force",
            "--reason",
            "thrown away",
        ],
    )
    .code(0);
    git_on(&t, "2026-10-07", &["checkout", "-q", "main"]);
    git_on(
        &t,
        "2026-10-09",
        &["merge", "-q", "--no-ff", "--no-edit", "fast"],
    );
    git_on(
        &t,
        "2026-10-10",
        &["merge", "-q", "-s", "ours", "--no-edit", "discarded"],
    );
    // On main: acme changes hands, then both are lost.
    crate::at(&t, "2026-10-12", &["assign", "acme", "dana"]).code(0);
    crate::at(
        &t,
        "2026-10-15",
        &["move", "acme", "lost", "--reason", "competitor"],
    )
    .code(0);
    crate::at(
        &t,
        "2026-10-16",
        &["move", "beta", "lost", "--reason", "no budget"],
    )
    .code(0);

    let j: serde_json::Value = serde_json::from_str(
        &crate::at(&t, "2026-10-20", &["audit", "--format", "json"])
            .code(0)
            .stdout,
    )
    .unwrap();
    let find = |slug: &str| {
        j["deals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["slug"] == slug)
            .unwrap_or_else(|| panic!("{j:#}"))
            .clone()
    };
    let acme = find("acme");
    // The merge brought in qualification and proposal, each dated by its
    // own move (not the merge's day), then lost on the main line.
    let stages: Vec<(String, String, serde_json::Value)> = acme["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_string(),
                s["entered"].as_str().unwrap().to_string(),
                s["owner"].clone(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        vec![
            (
                "prospecting".into(),
                "2026-10-01".into(),
                serde_json::Value::Null
            ),
            (
                "outreach".into(),
                "2026-10-02".into(),
                serde_json::Value::Null
            ),
            ("qualification".into(), "2026-10-05".into(), "bob".into()),
            ("proposal".into(), "2026-10-08".into(), "bob".into()),
            ("lost".into(), "2026-10-15".into(), "dana".into()),
        ],
        "{acme:#}"
    );
    assert_eq!(acme["owner"], "dana");
    assert_eq!(
        acme["forced_moves"].as_array().unwrap().len(),
        1,
        "{acme:#}"
    );
    assert_eq!(acme["forced_moves"][0]["by"], "bob");
    assert_eq!(acme["forced_moves"][0]["reason"], "exec sponsor");
    assert_eq!(
        acme["owner_changes"],
        serde_json::json!(["2026-10-12: bob → dana"])
    );
    // beta's forced move was thrown away by the merge: not counted.
    let beta = find("beta");
    assert_eq!(beta["forced_moves"], serde_json::json!([]), "{beta:#}");
    assert!(!beta["stages"].to_string().contains("proposal"), "{beta:#}");
    // Forced moves per owner: bob's, not dana's (who owned acme at the close).
    let by: Vec<(String, u64)> = j["forced_by_owner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["owner"].as_str().unwrap().to_string(),
                o["forced"].as_u64().unwrap(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(by, vec![("bob".to_string(), 1)], "{j:#}");
}

// ------------------------------------------------ found by a hostile tester

#[test]
fn commit_a_and_a_merge_finished_with_commit_a_are_checked() {
    let t = base();
    t.cmd(&["hook", "install"]).code(0);
    // `git commit -a` runs the hook on a temporary index.
    let p = t.path().join("deals/02-outreach/beta.md");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replace("owner: bob", "owner bob")).unwrap();
    let head = t.git(&["rev-parse", "HEAD"]);
    let out = t.git_cmd(t.path(), &["commit", "-qam", "broken"], None);
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("parse"), "{}", out.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    std::fs::write(&p, &text).unwrap();

    // Both branches append to beta; the conflicted merge is finished with
    // `git commit -a` while the markers are still in the file.
    t.git(&["checkout", "-q", "-b", "one"]);
    std::fs::write(&p, format!("{text}One.\n")).unwrap();
    t.git(&["commit", "-qam", "one"]);
    t.git(&["checkout", "-q", "main"]);
    std::fs::write(&p, format!("{text}Main.\n")).unwrap();
    t.git(&["commit", "-qam", "main"]);
    let out = t.git_cmd(t.path(), &["merge", "one"], None);
    assert_ne!(out.code, 0, "the merge should conflict");
    let head = t.git(&["rev-parse", "HEAD"]);
    let out = t.git_cmd(t.path(), &["commit", "-a", "--no-edit"], None);
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("conflict"), "{}", out.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    // deal's own writes wait for the merge to end.
    t.cmd(&["set", "acme", "value=1"])
        .code(2)
        .stderr_has("a merge is in progress");
}

#[test]
fn a_rename_rename_conflict_is_a_conflict_not_a_yaml_error() {
    let t = base();
    t.cmd(&["hook", "install"]).code(0);
    let f = "deals/02-outreach/beta.md";
    t.git(&["checkout", "-q", "-b", "a"]);
    std::fs::create_dir_all(t.path().join("deals/03-qualification")).unwrap();
    t.git(&["mv", f, "deals/03-qualification/beta.md"]);
    let p = t.path().join("deals/03-qualification/beta.md");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replace("title: Beta", "title: Beta A")).unwrap();
    t.git(&["commit", "-qam", "a"]);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["checkout", "-q", "-b", "b"]);
    std::fs::create_dir_all(t.path().join("deals/01-prospecting")).unwrap();
    t.git(&["mv", f, "deals/01-prospecting/beta.md"]);
    let p = t.path().join("deals/01-prospecting/beta.md");
    std::fs::write(&p, text.replace("title: Beta", "title: Beta B")).unwrap();
    t.git(&["commit", "-qam", "b"]);
    t.git(&["checkout", "-q", "a"]);
    let out = t.git_cmd(t.path(), &["merge", "--no-edit", "b"], None);
    assert_ne!(out.code, 0, "git should report a rename/rename conflict");
    let marked = t.git(&["grep", "-l", "^<<<<<<<<", "--", "deals"]);
    assert!(!marked.is_empty(), "git wrote no 8-character markers");
    let out = t.cmd(&["check", "--format", "json"]).code(1);
    assert!(
        out.stdout.contains("\"rule\": \"conflict\""),
        "{}",
        out.stdout
    );
    t.git(&["add", "-A"]);
    let out = t.git_cmd(t.path(), &["commit", "--no-edit"], None);
    assert_ne!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn reordered_stages_and_moved_folders_are_seen() {
    // Swapping outreach and qualification lets a deal skip outreach's check.
    let cfg = crate::default_config();
    let a = cfg.find("  - id: outreach").unwrap();
    let b = cfg.find("  - id: qualification").unwrap();
    let c = cfg.find("  - id: discovery").unwrap();
    let swapped = format!("{}{}{}{}", &cfg[..a], &cfg[b..c], &cfg[a..b], &cfg[c..]);
    let t = base();
    t.git(&["checkout", "-q", "-b", "pr"]);
    std::fs::write(t.path().join("pipeline.yaml"), &swapped).unwrap();
    t.git(&["commit", "-qam", "swap"]);
    let row = pipeline_row(&t, 1);
    assert!(
        row["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("reordered"),
        "{row}"
    );

    // A new deals_dir: the deals are read where HEAD keeps them, and a hand
    // move inside it is still judged; nothing shows as removed.
    let t = base();
    t.git(&["checkout", "-q", "-b", "pr"]);
    t.git(&["mv", "deals", "sales"]);
    let p = t.path().join("pipeline.yaml");
    let cfg = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, cfg.replace("deals_dir: deals", "deals_dir: sales")).unwrap();
    std::fs::create_dir_all(t.path().join("sales/05-proposal")).unwrap();
    t.git(&[
        "mv",
        "sales/02-outreach/beta.md",
        "sales/05-proposal/beta.md",
    ]);
    t.git(&["add", "-A"]);
    t.git(&["commit", "-qm", "reorganise"]);
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(1));
    assert!(!j.to_string().contains("\"removed\""), "{j:#}");
    assert_eq!(change(&j, "beta")["change"], "moved", "{j:#}");
    assert!(rules(change(&j, "beta")).contains(&"exit-criteria".to_string()));
    assert_eq!(change(&j, "pipeline.yaml")["change"], "edited", "{j:#}");
    assert!(
        j["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["slug"] != "acme"),
        "{j:#}"
    );
}

#[test]
fn a_reason_must_say_something_and_odd_names_are_flagged() {
    let t = weakened("went dark]", "went dark, other]");
    t.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "Relax",
        "--trailer",
        "Criteria-Change: -",
    ]);
    assert_eq!(pipeline_row(&t, 1)["change"], "weakened");
    // Files under deals/ not named <slug>.md are rows of their own.
    std::fs::write(t.path().join("deals/02-outreach/notes.txt"), "x").unwrap();
    t.git(&["add", "-A"]);
    t.git(&["commit", "-qm", "notes"]);
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(1));
    let row = change(&j, "deals/02-outreach/notes.txt");
    assert_eq!(rules(row), ["bad-file-name"]);
}

#[test]
fn resolve_never_drops_uncommitted_edits_and_finds_every_copy() {
    let t = diverged();
    t.git_cmd(t.path(), &["merge", "--no-edit", "ahead"], None);
    let other = t.path().join("deals/02-outreach/acme.md");
    let mut s = std::fs::read_to_string(&other).unwrap();
    s.push_str("IMPORTANT\n");
    std::fs::write(&other, &s).unwrap();
    let before = t.state();
    t.cmd(&["resolve", "acme", "--keep", "discovery"])
        .code(2)
        .stderr_has("not committed");
    assert_eq!(t.state(), before);
}

#[test]
fn audit_credits_each_forced_moves_waivers_to_its_own_owner() {
    let t = Test::new()
        .deal(
            "01-prospecting/fox.md",
            "---\ntitle: Fox\nowner: carol\ncontact:\n  email: f@f.example\nstages:\n  prospecting: 2026-10-01\n---\n# Fox\n",
        )
        .config_replace("  dana:", "  carol: { name: Carol, email: carol@example.com, roles: [sdr, ae, delivery] }\n  dana:")
        .repo();
    // Each forces a move on their own machine (their own git identity).
    crate::at_as(
        &t,
        "Carol",
        "carol@example.com",
        "2026-10-02",
        &[
            "move",
            "fox",
            "proposal",
            "--force",
            "--reason",
            "carol skip",
        ],
    )
    .code(0);
    crate::at(&t, "2026-10-03", &["assign", "fox", "dana"]).code(0);
    crate::at_as(
        &t,
        "Dana Lee",
        "dana@example.com",
        "2026-10-04",
        &["move", "fox", "won", "--force", "--reason", "dana close"],
    )
    .code(0);
    let j: serde_json::Value = serde_json::from_str(
        &crate::at(&t, "2026-10-05", &["audit", "--format", "json"])
            .code(0)
            .stdout,
    )
    .unwrap();
    let by: Vec<(String, u64, u64)> = j["forced_by_owner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["owner"].as_str().unwrap().to_string(),
                o["forced"].as_u64().unwrap(),
                o["waivers"].as_u64().unwrap(),
            )
        })
        .filter(|(_, f, w)| f + w > 0)
        .collect();
    // carol's move waived outreach, qualification and discovery; dana's the
    // rest (proposal, negotiation, close).
    assert_eq!(
        by,
        vec![("carol".into(), 1, 3), ("dana".into(), 1, 3)],
        "{j:#}"
    );
}

#[test]
fn a_hook_with_the_users_own_lines_is_never_removed() {
    let t = base();
    t.cmd(&["hook", "install"]).code(0);
    let hook = t.path().join(".git/hooks/pre-commit");
    let mut s = std::fs::read_to_string(&hook).unwrap();
    s = s.replacen("\n", "\nmake lint\n", 1);
    std::fs::write(&hook, &s).unwrap();
    t.cmd(&["hook", "uninstall"])
        .code(2)
        .stderr_has("lines deal did not write");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), s);
    t.cmd(&["hook", "install"]).code(2);
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), s);
}

#[test]
fn the_merge_base_agrees_with_git_merge_base() {
    // main and a branch diverge, the branch merges main in, both go on.
    let t = base();
    let commit = |msg: &str, file: &str| {
        std::fs::write(t.path().join(file), msg).unwrap();
        t.git(&["add", "-A"]);
        t.git(&["commit", "-q", "-m", msg]);
    };
    t.git(&["checkout", "-q", "-b", "topic"]);
    commit("t1", "t.txt");
    commit("t2", "t.txt");
    t.git(&["checkout", "-q", "main"]);
    commit("m1", "m.txt");
    t.git(&["checkout", "-q", "topic"]);
    t.git(&["merge", "-q", "--no-edit", "main"]);
    commit("t3", "t.txt");
    t.git(&["checkout", "-q", "main"]);
    commit("m2", "m.txt");
    for (a, b) in [
        ("main", "topic"),
        ("topic", "main"),
        ("main~1", "topic"),
        ("main", "main"),
        ("topic~1", "topic"),
    ] {
        let want = t.git(&["merge-base", a, b]);
        let out = t.cmd(&["review", &format!("{a}..{b}"), "--format", "json"]);
        let j: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        assert_eq!(j["base"].as_str().unwrap(), want.trim(), "{a}..{b}");
    }
}

#[test]
fn review_uses_gits_merge_base_even_with_skewed_commit_dates() {
    // A future-dated commit Y, an older hand move on main, a branch with
    // one valid move, then main merges Y (dated in the past).
    let t = base();
    t.cmd_env(
        &[("GIT_COMMITTER_DATE", "2040-01-01T00:00:00Z")],
        &["set", "acme", "value=5"],
    )
    .code(0);
    let y = t.git(&["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(t.path().join("notes.txt"), "x").unwrap();
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "an unrelated commit on main"]);
    t.git(&["checkout", "-q", "-b", "feat"]);
    t.cmd(&["move", "beta", "qualification"]).code(0);
    t.git(&["checkout", "-q", "main"]);
    let merge = t
        .git_cmd(
            t.path(),
            &[
                "commit-tree",
                "HEAD^{tree}",
                "-p",
                "HEAD",
                "-p",
                &y,
                "-m",
                "merge old",
            ],
            None,
        )
        .stdout;
    t.git(&["reset", "-q", "--hard", merge.trim()]);
    let want = t.git(&["merge-base", "main", "feat"]);
    let out = t.cmd(&["review", "main..feat", "--format", "json"]).code(0);
    let j = json(&out);
    assert_eq!(j["base"].as_str().unwrap(), want.trim());
    let slugs: Vec<&str> = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["beta"], "{j:#}");
}
