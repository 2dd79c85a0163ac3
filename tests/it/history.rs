//! One history, whatever the merge button (README, "Auditing the
//! pipeline"): the same branch work merged by a merge commit, a squash
//! (git's and a forge's message), a rebase, a fast-forward and cherry-picks
//! gives the same `audit`, `stats` people and `trend` reasons; forced moves
//! go to whoever forced them; a `git revert` undoes what it reverts.

use serde_json::{Value, json};

use crate::{Output, Test, at, at_as, good_deal};

const BOB: (&str, &str) = ("Bob Jones", "bob@example.com");
const CAROL: (&str, &str) = ("Carol", "carol@example.com");
const DANA: (&str, &str) = ("Dana Lee", "dana@example.com");

/// `deal` as of `date`, run by `who`.
fn by(t: &Test, who: (&str, &str), date: &str, args: &[&str]) -> Output {
    at_as(t, who.0, who.1, date, args)
}

/// `git` as of `date` (midnight UTC), as Alice.
fn git_on(t: &Test, date: &str, args: &[&str]) -> String {
    t.git_at(&format!("{date}T00:00:00Z"), args)
}

fn json_of(out: Output) -> Value {
    serde_json::from_str(&out.code(0).stdout).unwrap()
}

/// The ways the branch `work` reaches `main`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Merge,
    GitSquash,
    ForgeSquash,
    /// A forge's squash listing each message compactly: its subject as a
    /// bullet, its trailers indented right under it, no blank lines.
    CompactForgeSquash,
    /// A squash whose message kept none of the branch's messages.
    BareSquash,
    Rebase,
    FastForward,
    CherryPick,
}

const STYLES: [Style; 6] = [
    Style::Merge,
    Style::GitSquash,
    Style::ForgeSquash,
    Style::Rebase,
    Style::FastForward,
    Style::CherryPick,
];

/// The team (alice, bob, dana and carol) and three deals in prospecting,
/// committed on 2026-10-01: acme (meets every criterion up to
/// negotiation), beta and gamma (a contact email only).
fn pipeline() -> Test {
    let lead = |title: &str, owner: &str| {
        format!(
            "---\ntitle: {title}\nowner: {owner}\ncontact:\n  email: x@{owner}.example\nstages:\n  prospecting: 2026-10-01T00:00:00Z\n---\n# {title}\n"
        )
    };
    let t = Test::new()
        .config_replace(
            "  dana:",
            "  carol: { name: Carol, email: carol@example.com, roles: [sdr, ae, delivery] }\n  dana:",
        )
        .deal(
            "01-prospecting/acme.md",
            &good_deal("  prospecting: 2026-10-01T00:00:00Z\n", ""),
        )
        .deal("01-prospecting/beta.md", &lead("Beta", "bob"))
        .deal("01-prospecting/gamma.md", &lead("Gamma", "dana"));
    t.git(&["init", "-q"]);
    t.git(&["add", "-A"]);
    git_on(&t, "2026-10-01", &["commit", "-q", "-m", "seed"]);
    t
}
/// Dana forces gamma from prospecting into qualification on 2026-10-05
/// ("skip the call"); the forced move's commit.
fn force_gamma(t: &Test) -> String {
    by(
        t,
        DANA,
        "2026-10-05",
        &[
            "move",
            "gamma",
            "qualification",
            "--force",
            "--reason",
            "skip the call",
        ],
    )
    .code(0);
    t.git(&["rev-parse", "HEAD"]).trim().to_string()
}

/// Dana loses gamma on `date`, for no budget.
fn lose_gamma(t: &Test, date: &str) {
    by(
        t,
        DANA,
        date,
        &["move", "gamma", "lost", "--reason", "no budget"],
    )
    .code(0);
}

/// The branch work, on `work` from main (2026-10-02 to 10-07): acme moves
/// through three stages; bob forces beta to qualification and hands it to
/// carol; dana forces gamma past outreach; alice tightens close's
/// criteria with a reason. Returns gamma's forced commit.
fn branch_work(t: &Test) -> String {
    git_on(t, "2026-10-02", &["checkout", "-q", "-b", "work"]);
    by(t, BOB, "2026-10-02", &["move", "acme", "outreach"]).code(0);
    by(
        t,
        BOB,
        "2026-10-03",
        &[
            "move",
            "beta",
            "qualification",
            "--owner",
            "carol",
            "--force",
            "--reason",
            "warm intro from the CFO",
        ],
    )
    .code(0);
    by(t, BOB, "2026-10-04", &["move", "acme", "qualification"]).code(0);
    let gamma_forced = force_gamma(t);
    let p = t.path().join("pipeline.yaml");
    let cfg = std::fs::read_to_string(&p).unwrap();
    let tighter = cfg.replace(
        "        field: delivery_owner\n",
        "        field: delivery_owner\n      - label: Champion named\n        field: champion\n",
    );
    assert_ne!(cfg, tighter);
    std::fs::write(&p, tighter).unwrap();
    git_on(
        t,
        "2026-10-06",
        &[
            "commit",
            "-q",
            "-am",
            "Close needs a champion",
            "--trailer",
            "Criteria-Change: a named champion before the contract",
        ],
    );
    by(t, BOB, "2026-10-07", &["move", "acme", "discovery"]).code(0);
    gamma_forced
}

/// A forge's squash message: the pull request's title, then each commit's
/// message, oldest first, its first line as a `* ` bullet.
fn forge_message(t: &Test) -> String {
    let ids = t.git(&["rev-list", "--reverse", "main..work"]);
    // The pull request's description, prose that mentions deals: no block.
    let mut m = "Branch work (#7)\n\nDeal: acme is on track, says bob.\nTo-Stage: won, we hope\n\nThe Deal: gamma call went well.\n\n".to_string();
    for id in ids.lines() {
        let body = t.git(&["log", "-1", "--format=%B", id]);
        m.push_str(&format!("* {}\n\n", body.trim_end()));
    }
    m
}

/// A forge's compact squash message: each commit's subject as a `* `
/// bullet, the rest of its message indented under it, no blank lines.
fn compact_forge_message(t: &Test) -> String {
    let ids = t.git(&["rev-list", "--reverse", "main..work"]);
    let mut m = "Feat branch (#2)\n\n".to_string();
    for id in ids.lines() {
        let body = t.git(&["log", "-1", "--format=%B", id]);
        let mut lines = body.lines().filter(|l| !l.trim().is_empty());
        m.push_str(&format!("* {}\n", lines.next().unwrap()));
        for l in lines {
            m.push_str(&format!("  {l}\n"));
        }
    }
    m
}

/// The scenario, merged the `style` way on 2026-10-09, then on main: the
/// revert of gamma's forced move (10-10), gamma lost (10-12), acme forced
/// to won (10-14), beta lost (10-15).
fn scenario(style: Style) -> Test {
    let t = pipeline();
    let gamma_forced = branch_work(&t);
    git_on(&t, "2026-10-08", &["checkout", "-q", "main"]);
    if style != Style::FastForward {
        // Main moves on meanwhile (not a deal).
        std::fs::write(t.path().join("NOTES.md"), "kickoff notes\n").unwrap();
        t.git(&["add", "NOTES.md"]);
        git_on(&t, "2026-10-08", &["commit", "-q", "-m", "notes"]);
    }
    let merge_day = "2026-10-09";
    // The commit the revert names.
    let mut revert = gamma_forced.clone();
    match style {
        Style::Merge => {
            git_on(
                &t,
                merge_day,
                &["merge", "-q", "--no-ff", "--no-edit", "work"],
            );
        }
        Style::FastForward => {
            git_on(&t, merge_day, &["merge", "-q", "--ff-only", "work"]);
        }
        Style::GitSquash => {
            git_on(&t, merge_day, &["merge", "-q", "--squash", "work"]);
            let msg = std::fs::read_to_string(t.path().join(".git/SQUASH_MSG")).unwrap();
            assert!(
                msg.starts_with("Squashed commit of the following:"),
                "{msg}"
            );
            git_on(&t, merge_day, &["commit", "-q", "-F", ".git/SQUASH_MSG"]);
        }
        Style::ForgeSquash => {
            let msg = forge_message(&t);
            git_on(&t, merge_day, &["merge", "-q", "--squash", "work"]);
            git_on(&t, merge_day, &["commit", "-q", "-m", &msg]);
        }
        Style::CompactForgeSquash => {
            let msg = compact_forge_message(&t);
            git_on(&t, merge_day, &["merge", "-q", "--squash", "work"]);
            git_on(&t, merge_day, &["commit", "-q", "-m", &msg]);
        }
        Style::BareSquash => {
            git_on(&t, merge_day, &["merge", "-q", "--squash", "work"]);
            git_on(&t, merge_day, &["commit", "-q", "-m", "Branch work (#9)"]);
        }
        Style::Rebase => {
            git_on(&t, merge_day, &["rebase", "-q", "main", "work"]);
            git_on(&t, merge_day, &["checkout", "-q", "main"]);
            git_on(&t, merge_day, &["merge", "-q", "--ff-only", "work"]);
            // The team reverts the copy on the main line.
            revert = t
                .git(&["log", "--format=%H", "--grep=deal(gamma)", "-1"])
                .trim()
                .to_string();
            assert_ne!(revert, gamma_forced, "the rebase rewrote the ids");
        }
        Style::CherryPick => {
            let ids = t.git(&["rev-list", "--reverse", "main..work"]);
            let ids: Vec<&str> = ids.lines().collect();
            let mut args = vec!["cherry-pick"];
            args.extend(ids);
            git_on(&t, merge_day, &args);
        }
    }
    git_on(&t, "2026-10-10", &["revert", "--no-edit", &revert]);
    lose_gamma(&t, "2026-10-12");
    by(
        &t,
        BOB,
        "2026-10-14",
        &["move", "acme", "won", "--force", "--reason", "signed early"],
    )
    .code(0);
    by(
        &t,
        CAROL,
        "2026-10-15",
        &["move", "beta", "lost", "--reason", "competitor"],
    )
    .code(0);
    t
}

/// What must be the same whichever way the work was merged.
fn facts(t: &Test) -> Value {
    let audit = json_of(at(t, "2026-10-20", &["audit", "--format", "json"]));
    let stats = json_of(at(t, "2026-10-20", &["stats", "--format", "json"]));
    let trend = json_of(at(t, "2026-10-20", &["trend", "--format", "json"]));
    let people: Vec<Value> = stats["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| json!({"owner": o["owner"], "forced": o["forced"], "waivers": o["waivers"]}))
        .collect();
    let reasons: Vec<Value> = trend["criteria_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["summary"].clone())
        .collect();
    json!({
        "audit": {
            "deals": audit["deals"],
            "forced_by_owner": audit["forced_by_owner"],
            "process_gaps": audit["process_gaps"],
            "training_gaps": audit["training_gaps"],
        },
        "people": people,
        "reasons": reasons,
    })
}

/// Every leaf of `a` and `b`, path by path, so a difference names its field.
fn leaves(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(x, format!("{path}.{k}"), out);
            }
        }
        Value::Array(xs) => {
            out.push((format!("{path}.len"), json!(xs.len())));
            for (i, x) in xs.iter().enumerate() {
                leaves(x, format!("{path}[{i}]"), out);
            }
        }
        _ => out.push((path, v.clone())),
    }
}

/// The table worked out by hand (days: elapsed ÷ 86,400 s).
///
/// acme: seeded in prospecting 10-01 (by hand: no owner recorded), moved by
/// bob to outreach 10-02 (1.0 d), qualification 10-04 (2.0 d), discovery
/// 10-07 (3.0 d), forced by bob to won 10-14 (7.0 d) waiving negotiation
/// (no verbal agreement) and close (no contract, kickoff, delivery owner,
/// handoff, champion): it skipped proposal, negotiation and close. Longest
/// stall 7 days in discovery (rots after 21: no process gap).
///
/// beta: prospecting 10-01 (2.0 d); bob forced it to qualification on
/// 10-03, waiving outreach (no `engaged`) and handing it to carol (12.0 d);
/// lost 10-15 by carol, 12 days after the forced move: a training gap.
/// The forced move is bob's, not carol's.
///
/// gamma: dana's forced move to qualification was reverted on the main
/// line: prospecting 10-01 (11.0 d), lost 10-12: no forced move, no waiver,
/// no training gap.
///
/// People: bob forced 2 moves (acme 10-14, beta 10-03) waiving 3 stages;
/// alice, carol and dana none. The criteria change's reason is its
/// `Criteria-Change:` trailer.
fn by_hand() -> Value {
    let stage = |s: &str, d: &str, days: Value, owner: Value| json!({"stage": s, "entered": d, "days": days, "owner": owner});
    let null = Value::Null;
    let acme = json!({
        "slug": "acme", "outcome": "won", "closed": "2026-10-14", "owner": "bob",
        "stages": [
            stage("prospecting", "2026-10-01", json!(1.0), null.clone()),
            stage("outreach", "2026-10-02", json!(2.0), json!("bob")),
            stage("qualification", "2026-10-04", json!(3.0), json!("bob")),
            stage("discovery", "2026-10-07", json!(7.0), json!("bob")),
            stage("won", "2026-10-14", null.clone(), json!("bob")),
        ],
        "longest_stall_days": 7.0, "stall_stage": "discovery",
        "owner_changes": [], "unowned_stages": ["prospecting"],
        "skipped": ["proposal", "negotiation", "close"],
        "forced": [
            "forced move: signed early",
            "waived close: signed early",
            "waived negotiation: signed early",
        ],
        "forced_moves": [
            {"date": "2026-10-14", "by": "bob", "owner": "bob", "reason": "signed early", "waived": 2},
        ],
        "waivers": [
            {"stage": "close", "reason": "signed early", "by": "bob", "at": "2026-10-14T00:00:00Z"},
            {"stage": "negotiation", "reason": "signed early", "by": "bob", "at": "2026-10-14T00:00:00Z"},
        ],
        "lost_reason": null, "lost_stage": null,
        "process_gap": false, "training_gap": false,
    });
    let beta = json!({
        "slug": "beta", "outcome": "lost", "closed": "2026-10-15", "owner": "carol",
        "stages": [
            stage("prospecting", "2026-10-01", json!(2.0), null.clone()),
            stage("qualification", "2026-10-03", json!(12.0), json!("carol")),
            stage("lost", "2026-10-15", null.clone(), json!("carol")),
        ],
        "longest_stall_days": 12.0, "stall_stage": "qualification",
        "owner_changes": ["2026-10-03: bob → carol"], "unowned_stages": ["prospecting"],
        "skipped": ["outreach"],
        "forced": [
            "forced move: warm intro from the CFO",
            "waived outreach: warm intro from the CFO",
        ],
        "forced_moves": [
            {"date": "2026-10-03", "by": "bob", "owner": "carol", "reason": "warm intro from the CFO", "waived": 1},
        ],
        "waivers": [
            {"stage": "outreach", "reason": "warm intro from the CFO", "by": "bob", "at": "2026-10-03T00:00:00Z"},
        ],
        "lost_reason": "competitor", "lost_stage": "qualification",
        "process_gap": false, "training_gap": true,
    });
    let gamma = json!({
        "slug": "gamma", "outcome": "lost", "closed": "2026-10-12", "owner": "dana",
        "stages": [
            stage("prospecting", "2026-10-01", json!(11.0), null.clone()),
            stage("lost", "2026-10-12", null.clone(), json!("dana")),
        ],
        "longest_stall_days": 11.0, "stall_stage": "prospecting",
        "owner_changes": [], "unowned_stages": ["prospecting"],
        "skipped": [], "forced": [], "forced_moves": [], "waivers": [],
        "lost_reason": "no budget", "lost_stage": "prospecting",
        "process_gap": false, "training_gap": false,
    });
    json!({
        "audit": {
            "deals": [beta, acme, gamma],
            "forced_by_owner": [{"owner": "bob", "forced": 2, "waivers": 3}],
            "process_gaps": 0,
            "training_gaps": 1,
        },
        "people": [
            {"owner": "alice", "forced": 0, "waivers": 0},
            {"owner": "bob", "forced": 2, "waivers": 3},
            {"owner": "carol", "forced": 0, "waivers": 0},
            {"owner": "dana", "forced": 0, "waivers": 0},
        ],
        "reasons": ["a named champion before the contract"],
    })
}

#[test]
fn one_scenario_five_ways_gives_one_history() {
    for style in STYLES {
        assert_by_hand(style);
    }
}

/// The scenario merged the `style` way gives the table worked out by hand,
/// field by field, and stats credits the people audit does.
fn assert_by_hand(style: Style) {
    let want = by_hand();
    let mut want_leaves = Vec::new();
    leaves(&want, String::new(), &mut want_leaves);
    {
        let t = scenario(style);
        let got = facts(&t);
        let mut got_leaves = Vec::new();
        leaves(&got, String::new(), &mut got_leaves);
        for (path, w) in &want_leaves {
            let g = got_leaves
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, v)| v.clone());
            assert_eq!(
                g.as_ref(),
                Some(w),
                "{style:?}: {path} differs from the table worked by hand\n{got:#}"
            );
        }
        assert_eq!(
            got_leaves.len(),
            want_leaves.len(),
            "{style:?}: fields beyond the table\n{got:#}"
        );
        // stats (the files) and audit (history) credit the same people.
        let audit_people: Vec<(String, u64, u64)> = got["audit"]["forced_by_owner"]
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
            .collect();
        let stats_people: Vec<(String, u64, u64)> = got["people"]
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
        assert_eq!(audit_people, stats_people, "{style:?}");
    }
}

/// The audit entry of `slug`.
fn audited(t: &Test, slug: &str) -> Value {
    let j = json_of(at(t, "2026-10-20", &["audit", "--format", "json"]));
    j["deals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} not audited: {j:#}"))
        .clone()
}

/// `[stage, entered, days]` of an audited deal.
fn stages(d: &Value) -> Vec<(String, String, Value)> {
    d["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_string(),
                s["entered"].as_str().unwrap().to_string(),
                s["days"].clone(),
            )
        })
        .collect()
}

/// stats' people: (person, forced, waivers) with any.
fn people(t: &Test) -> Vec<(String, u64, u64)> {
    json_of(at(t, "2026-10-20", &["stats", "--format", "json"]))["owners"]
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
        .collect()
}

fn trailers_of(t: &Test, rev: &str) -> String {
    let body = t.git(&["log", "-1", "--format=%B", rev]);
    let out = t.git_cmd(t.path(), &["interpret-trailers", "--parse"], Some(&body));
    assert_eq!(out.code, 0);
    out.stdout
}

#[test]
fn a_forced_handoff_is_credited_to_whoever_forced_it() {
    // Bob forces beta on and hands it to carol, on a branch merged with a
    // merge commit; carol loses it.
    let t = pipeline();
    git_on(&t, "2026-10-02", &["checkout", "-q", "-b", "work"]);
    by(
        &t,
        BOB,
        "2026-10-03",
        &[
            "move",
            "beta",
            "qualification",
            "--owner",
            "carol",
            "--force",
            "--reason",
            "warm intro",
        ],
    )
    .code(0);
    // git reads the trailers: forced by bob, owned by carol from now on.
    assert_eq!(
        trailers_of(&t, "HEAD"),
        "Deal: beta\nFrom-Stage: prospecting\nTo-Stage: qualification\nOwner: carol <carol@example.com>\nPrevious-Owner: bob <bob@example.com>\nForced: warm intro\nForced-By: bob\n"
    );
    assert_eq!(
        t.git(&["log", "-1", "--format=%(trailers:key=Forced-By,valueonly)"])
            .trim(),
        "bob"
    );
    let file = std::fs::read_to_string(t.path().join("deals/03-qualification/beta.md")).unwrap();
    assert!(
        file.contains("waived:\n  outreach:\n    reason: warm intro\n    by: bob\n    at: 2026-10-03T00:00:00Z\n"),
        "{file}"
    );
    git_on(&t, "2026-10-04", &["checkout", "-q", "main"]);
    git_on(
        &t,
        "2026-10-04",
        &["merge", "-q", "--no-ff", "--no-edit", "work"],
    );
    by(
        &t,
        CAROL,
        "2026-10-10",
        &["move", "beta", "lost", "--reason", "competitor"],
    )
    .code(0);
    let beta = audited(&t, "beta");
    assert_eq!(beta["forced_moves"][0]["by"], "bob", "{beta:#}");
    assert_eq!(beta["forced_moves"][0]["owner"], "carol", "{beta:#}");
    let j = json_of(at(&t, "2026-10-20", &["audit", "--format", "json"]));
    assert_eq!(
        j["forced_by_owner"],
        json!([{"owner": "bob", "forced": 1, "waivers": 1}]),
        "{j:#}"
    );
    let human = at(&t, "2026-10-20", &["audit"]).code(0).stdout;
    assert!(
        human.contains(
            "  forced move by bob: warm intro; waived outreach: warm intro  [training gap]"
        ),
        "{human}"
    );
    assert!(
        human.contains("  forced moves and waivers: bob 1 forced, 1 waived"),
        "{human}"
    );
    // The report's people (stats) read the file: the same answer.
    assert_eq!(people(&t), [("bob".to_string(), 1, 1)]);
    // Bob's row: acme open (48,000, rotting), one forced move, one waiver;
    // carol's (beta lost) none.
    let html = {
        at(&t, "2026-10-20", &["report"]).code(0);
        std::fs::read_to_string(t.path().join("report/index.html")).unwrap()
    };
    assert!(
        html.contains(r#"<td data-label="Owner">Bob Jones <span class="muted">bob</span></td><td class="num" data-label="Open">1</td><td class="num" data-label="Value">48,000</td><td class="num" data-label="Won">0</td><td class="num" data-label="Lost">0</td><td class="num" data-label="Rotting">1</td><td class="num" data-label="Forced moves">1</td><td class="num" data-label="Waived stages">1</td>"#),
        "{html}"
    );
}

#[test]
fn forcers_outside_the_team_and_older_commits_are_named_by_identity() {
    let t = pipeline();
    // Someone outside the team: named as `Name <email>`.
    by(
        &t,
        ("Zed Outsider", "zed@elsewhere.example"),
        "2026-10-03",
        &[
            "move",
            "beta",
            "qualification",
            "--force",
            "--reason",
            "consultant",
        ],
    )
    .code(0);
    assert_eq!(
        t.git(&["log", "-1", "--format=%(trailers:key=Forced-By,valueonly)"])
            .trim(),
        "Zed Outsider <zed@elsewhere.example>"
    );
    // An older forced move: no Forced-By, the older waiver form, made by
    // dana (her email is the team's): audit credits her by the author;
    // stats, which reads files only, counts it under "(not recorded)".
    let p = t.path().join("deals/01-prospecting/gamma.md");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::create_dir_all(t.path().join("deals/03-qualification")).unwrap();
    std::fs::write(
        t.path().join("deals/03-qualification/gamma.md"),
        text.replace(
            "stages:\n",
            "waived:\n  outreach: skip the call\nstages:\n  qualification: 2026-10-05T00:00:00Z\n",
        ),
    )
    .unwrap();
    std::fs::remove_file(&p).unwrap();
    t.git(&["add", "-A"]);
    let out = t.git_cmd(
        t.path(),
        &[
            "-c", "user.name=Dana Lee", "-c", "user.email=dana@example.com", "commit", "-q", "-m",
            "deal(gamma): prospecting -> qualification\n\nDeal: gamma\nFrom-Stage: prospecting\nTo-Stage: qualification\nOwner: dana <dana@example.com>\nForced: skip the call",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        t.git(&["log", "-1", "--format=%ae %(trailers:key=Forced-By)"])
            .trim(),
        "dana@example.com"
    );
    lose_gamma(&t, "2026-10-08");
    by(
        &t,
        BOB,
        "2026-10-09",
        &["move", "beta", "lost", "--reason", "competitor"],
    )
    .code(0);
    let j = json_of(at(&t, "2026-10-20", &["audit", "--format", "json"]));
    assert_eq!(
        j["forced_by_owner"],
        json!([
            {"owner": "Zed Outsider <zed@elsewhere.example>", "forced": 1, "waivers": 1},
            {"owner": "dana", "forced": 1, "waivers": 1},
        ]),
        "{j:#}"
    );
    assert_eq!(
        people(&t),
        [
            ("(not recorded)".to_string(), 1, 1),
            ("Zed Outsider <zed@elsewhere.example>".to_string(), 1, 1),
        ]
    );
}

#[test]
fn a_merged_branch_keeps_every_stage_it_entered_with_its_own_dates() {
    let t = scenario(Style::Merge);
    // git's main line saw only the merge for acme's three moves.
    let main_line = t.git(&["log", "--first-parent", "--format=%s", "--", "deals"]);
    assert!(
        !main_line.contains("deal(acme): outreach -> qualification"),
        "{main_line}"
    );
    assert!(main_line.contains("Merge branch 'work'"), "{main_line}");
    let acme = audited(&t, "acme");
    assert_eq!(
        stages(&acme)[..4],
        [
            ("prospecting".into(), "2026-10-01".into(), json!(1.0)),
            ("outreach".into(), "2026-10-02".into(), json!(2.0)),
            ("qualification".into(), "2026-10-04".into(), json!(3.0)),
            ("discovery".into(), "2026-10-07".into(), json!(7.0)),
        ]
    );
    assert_eq!(acme["skipped"], json!(["proposal", "negotiation", "close"]));
}

#[test]
fn squashes_keep_every_blocks_trailers_and_the_criteria_reason() {
    for style in [Style::GitSquash, Style::ForgeSquash] {
        let t = scenario(style);
        let squash = t
            .git(&[
                "log",
                "--format=%H",
                "--grep=^Squashed commit\\|^Branch work",
                "-1",
            ])
            .trim()
            .to_string();
        assert!(!squash.is_empty(), "{style:?}");
        // git itself reads at most the last paragraph as the squash's own
        // trailers: beta's forced move is not among them.
        let own = trailers_of(&t, &squash);
        assert!(!own.contains("Forced-By: bob"), "{style:?}: {own}");
        let body = t.git(&["log", "-1", "--format=%B", &squash]);
        assert!(body.contains("Forced-By: bob"), "{style:?}: {body}");
        // deal reads every block: the forced handoff, its owners, its date.
        let beta = audited(&t, "beta");
        assert_eq!(beta["forced_moves"][0]["by"], "bob", "{style:?}: {beta:#}");
        assert_eq!(beta["owner_changes"], json!(["2026-10-03: bob → carol"]));
        assert_eq!(beta["unowned_stages"], json!(["prospecting"]));
        let acme = audited(&t, "acme");
        assert_eq!(
            acme["stages"][2]["entered"], "2026-10-04",
            "{style:?}: {acme:#}"
        );
        assert_eq!(acme["stages"][2]["owner"], "bob");
        // trend shows the reason, not the squash's subject.
        let trend = json_of(at(&t, "2026-10-20", &["trend", "--format", "json"]));
        assert_eq!(
            trend["criteria_changes"][0]["summary"], "a named champion before the contract",
            "{style:?}"
        );
        assert_eq!(trend["criteria_changes"][0]["commit"], squash.as_str());
    }
}

#[test]
fn rebases_and_cherry_picks_date_stages_by_the_move_not_the_merge() {
    for style in [Style::Rebase, Style::CherryPick] {
        let t = scenario(style);
        // git rewrote the committer dates to the merge day ...
        let dates = t.git(&[
            "log",
            "--format=%cs %as %s",
            "--grep=deal(acme): prospecting",
        ]);
        assert!(
            dates.starts_with("2026-10-09 2026-10-02 "),
            "{style:?}: {dates}"
        );
        // ... the stages keep the move's day.
        let acme = audited(&t, "acme");
        assert_eq!(
            stages(&acme)[..2],
            [
                ("prospecting".into(), "2026-10-01".into(), json!(1.0)),
                ("outreach".into(), "2026-10-02".into(), json!(2.0)),
            ],
            "{style:?}"
        );
    }
}

#[test]
fn a_revert_undoes_a_forced_move_and_a_revert_of_the_revert_restores_it() {
    let t = pipeline();
    let forced = force_gamma(&t);
    git_on(&t, "2026-10-06", &["revert", "--no-edit", &forced]);
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(
        msg.contains(&format!("This reverts commit {forced}.")),
        "{msg}"
    );
    // A branch that is merged later: the revert stands.
    lose_gamma(&t, "2026-10-08");
    let gamma = audited(&t, "gamma");
    assert_eq!(gamma["forced_moves"], json!([]), "{gamma:#}");
    assert_eq!(gamma["training_gap"], false);
    assert_eq!(gamma["lost_stage"], "prospecting");
    assert_eq!(
        stages(&gamma),
        [
            ("prospecting".into(), "2026-10-01".into(), json!(7.0)),
            ("lost".into(), "2026-10-08".into(), Value::Null),
        ]
    );
    assert_eq!(people(&t), []);

    // The revert reverted, before the loss: the forced move counts again.
    let t = pipeline();
    let forced = force_gamma(&t);
    git_on(&t, "2026-10-06", &["revert", "--no-edit", &forced]);
    let revert = t.git(&["rev-parse", "HEAD"]).trim().to_string();
    git_on(&t, "2026-10-07", &["revert", "--no-edit", &revert]);
    lose_gamma(&t, "2026-10-08");
    let gamma = audited(&t, "gamma");
    assert_eq!(gamma["forced_moves"][0]["by"], "dana", "{gamma:#}");
    assert_eq!(gamma["training_gap"], true);
    assert_eq!(
        stages(&gamma),
        [
            ("prospecting".into(), "2026-10-01".into(), json!(4.0)),
            ("qualification".into(), "2026-10-05".into(), json!(3.0)),
            ("lost".into(), "2026-10-08".into(), Value::Null),
        ]
    );
    assert_eq!(people(&t), [("dana".to_string(), 1, 1)]);
}

#[test]
fn a_deal_forced_to_won_skipped_every_stage_after_its_last() {
    let t = pipeline();
    by(
        &t,
        BOB,
        "2026-10-03",
        &["move", "beta", "won", "--force", "--reason", "signed"],
    )
    .code(0);
    assert!(
        trailers_of(&t, "HEAD").contains("From-Stage: prospecting\nTo-Stage: won\n"),
        "{}",
        trailers_of(&t, "HEAD")
    );
    lose_gamma(&t, "2026-10-04");
    let beta = audited(&t, "beta");
    assert_eq!(
        beta["skipped"],
        json!([
            "outreach",
            "qualification",
            "discovery",
            "proposal",
            "negotiation",
            "close"
        ]),
        "{beta:#}"
    );
    // Lost from prospecting: nothing skipped by being lost.
    assert_eq!(audited(&t, "gamma")["skipped"], json!([]));
}

#[test]
fn a_revert_of_a_commit_git_no_longer_has_is_matched_by_its_subject() {
    // The squashed branch was deleted and pruned: the id the revert names
    // is gone, and its subject says which move it undid.
    let t = pipeline();
    let forced = force_gamma(&t);
    git_on(&t, "2026-10-06", &["revert", "--no-commit", &forced]);
    let gone = "0123456789abcdef0123456789abcdef01234567";
    git_on(
        &t,
        "2026-10-06",
        &[
            "commit",
            "-q",
            "-m",
            &format!(
                "Revert \"deal(gamma): prospecting -> qualification\"\n\nThis reverts commit {gone}."
            ),
        ],
    );
    assert!(
        t.git_cmd(t.path(), &["cat-file", "-e", gone], None).code != 0,
        "the reverted id must be unknown to git"
    );
    lose_gamma(&t, "2026-10-08");
    let gamma = audited(&t, "gamma");
    assert_eq!(gamma["forced_moves"], json!([]), "{gamma:#}");
    assert_eq!(gamma["training_gap"], false);
}

#[test]
fn a_compact_forge_squash_reads_as_the_merge_does() {
    // Each bullet subject directly followed by its indented trailers.
    let t = scenario(Style::CompactForgeSquash);
    let body = t.git(&["log", "-1", "--format=%B", "--grep=^Feat branch"]);
    assert!(
        body.contains(
            "* deal(acme): prospecting -> outreach\n  Deal: acme\n  From-Stage: prospecting\n"
        ),
        "{body}"
    );
    // git reads no trailers of its own there (the last paragraph is not
    // one), deal reads every block.
    let id = t.git(&["log", "-1", "--format=%H", "--grep=^Feat branch"]);
    assert_eq!(trailers_of(&t, id.trim()), "");
    assert_by_hand(Style::CompactForgeSquash);
}

#[test]
fn a_squash_without_blocks_takes_stages_from_the_file() {
    // The squash's message kept nothing of the branch: acme's stages are
    // those its file dates.
    let t = scenario(Style::BareSquash);
    let file = t.git(&["show", "HEAD:deals/won/acme.md"]);
    assert!(
        file.contains("  outreach: 2026-10-02T00:00:00Z\n  qualification: 2026-10-04T00:00:00Z\n  discovery: 2026-10-07T00:00:00Z\n"),
        "{file}"
    );
    let acme = audited(&t, "acme");
    assert_eq!(
        stages(&acme),
        [
            ("prospecting".into(), "2026-10-01".into(), json!(1.0)),
            ("outreach".into(), "2026-10-02".into(), json!(2.0)),
            ("qualification".into(), "2026-10-04".into(), json!(3.0)),
            ("discovery".into(), "2026-10-07".into(), json!(7.0)),
            ("won".into(), "2026-10-14".into(), Value::Null),
        ],
        "{acme:#}"
    );
    assert_eq!(acme["skipped"], json!(["proposal", "negotiation", "close"]));
}

#[test]
fn a_rebase_that_resets_author_dates_keeps_the_files_stage_dates() {
    // Moves with other changes to the deal between them, rebased with
    // `--ignore-date` (every author and committer date the rebase's day),
    // then fast-forwarded.
    let t = pipeline();
    git_on(&t, "2026-10-02", &["checkout", "-q", "-b", "work"]);
    by(&t, BOB, "2026-10-02", &["move", "acme", "outreach"]).code(0);
    by(&t, BOB, "2026-10-03", &["set", "acme", "value=50000"]).code(0);
    by(&t, BOB, "2026-10-04", &["move", "acme", "qualification"]).code(0);
    by(&t, BOB, "2026-10-05", &["set", "acme", "value=52000"]).code(0);
    by(&t, BOB, "2026-10-07", &["move", "acme", "discovery"]).code(0);
    git_on(&t, "2026-10-08", &["checkout", "-q", "main"]);
    std::fs::write(t.path().join("NOTES.md"), "kickoff notes\n").unwrap();
    t.git(&["add", "NOTES.md"]);
    git_on(&t, "2026-10-08", &["commit", "-q", "-m", "notes"]);
    git_on(
        &t,
        "2026-10-09",
        &["rebase", "-q", "--ignore-date", "main", "work"],
    );
    git_on(&t, "2026-10-09", &["checkout", "-q", "main"]);
    git_on(&t, "2026-10-09", &["merge", "-q", "--ff-only", "work"]);
    // git dates every rebased commit's author on the rebase's day (the
    // clock's: `--ignore-date` takes no GIT_AUTHOR_DATE), all later than
    // the moves ...
    let dates = t.git(&["log", "--format=%as", "-5"]);
    let days: Vec<&str> = dates.lines().collect();
    assert!(
        days.iter().all(|d| *d == days[0] && *d >= "2026-10-09"),
        "{dates}"
    );
    by(
        &t,
        BOB,
        "2026-10-14",
        &["move", "acme", "won", "--force", "--reason", "signed early"],
    )
    .code(0);
    // ... the stages keep the move's day, which the file holds.
    let acme = audited(&t, "acme");
    assert_eq!(
        stages(&acme),
        [
            ("prospecting".into(), "2026-10-01".into(), json!(1.0)),
            ("outreach".into(), "2026-10-02".into(), json!(2.0)),
            ("qualification".into(), "2026-10-04".into(), json!(3.0)),
            ("discovery".into(), "2026-10-07".into(), json!(7.0)),
            ("won".into(), "2026-10-14".into(), Value::Null),
        ],
        "{acme:#}"
    );
}

/// Lands the branch `work` on main on `day` the `style` way (merges and
/// squashes only).
fn land(t: &Test, style: Style, day: &str) {
    git_on(t, day, &["checkout", "-q", "main"]);
    match style {
        Style::Merge => {
            git_on(t, day, &["merge", "-q", "--no-ff", "--no-edit", "work"]);
        }
        Style::GitSquash => {
            git_on(t, day, &["merge", "-q", "--squash", "work"]);
            git_on(t, day, &["commit", "-q", "-F", ".git/SQUASH_MSG"]);
        }
        Style::ForgeSquash | Style::CompactForgeSquash => {
            let msg = if style == Style::ForgeSquash {
                forge_message(t)
            } else {
                compact_forge_message(t)
            };
            git_on(t, day, &["merge", "-q", "--squash", "work"]);
            git_on(t, day, &["commit", "-q", "-m", &msg]);
        }
        _ => unreachable!("{style:?}"),
    }
}

#[test]
fn a_deal_moved_back_and_forth_then_squashed_keeps_every_entry() {
    for style in [
        Style::Merge,
        Style::GitSquash,
        Style::ForgeSquash,
        Style::CompactForgeSquash,
    ] {
        let t = pipeline();
        git_on(&t, "2026-10-02", &["checkout", "-q", "-b", "work"]);
        for (day, to) in [
            ("2026-10-02", "outreach"),
            ("2026-10-03", "qualification"),
            ("2026-10-05", "outreach"),
            ("2026-10-06", "qualification"),
        ] {
            by(&t, BOB, day, &["move", "acme", to]).code(0);
        }
        by(
            &t,
            BOB,
            "2026-10-08",
            &["move", "acme", "lost", "--reason", "competitor"],
        )
        .code(0);
        land(&t, style, "2026-10-09");
        // The file keeps only each stage's last date.
        let file = t.git(&["show", "HEAD:deals/lost/acme.md"]);
        assert!(
            file.contains(
                "  outreach: 2026-10-05T00:00:00Z\n  qualification: 2026-10-06T00:00:00Z\n"
            ),
            "{file}"
        );
        let acme = audited(&t, "acme");
        let got: Vec<String> = stages(&acme).into_iter().map(|s| s.0).collect();
        assert_eq!(
            got,
            [
                "prospecting",
                "outreach",
                "qualification",
                "outreach",
                "qualification",
                "lost"
            ],
            "{style:?}: {acme:#}"
        );
        let dated = stages(&acme);
        // Later visits have their own dates whatever the style; a forge's
        // squash names no date for the earlier visits (they follow the
        // entry before them), git's and a merge do.
        assert_eq!(dated[3].1, "2026-10-05", "{style:?}: {acme:#}");
        assert_eq!(dated[4].1, "2026-10-06", "{style:?}: {acme:#}");
        assert_eq!(dated[5].1, "2026-10-08", "{style:?}: {acme:#}");
        if matches!(style, Style::Merge | Style::GitSquash) {
            assert_eq!(
                dated,
                [
                    ("prospecting".into(), "2026-10-01".into(), json!(1.0)),
                    ("outreach".into(), "2026-10-02".into(), json!(1.0)),
                    ("qualification".into(), "2026-10-03".into(), json!(2.0)),
                    ("outreach".into(), "2026-10-05".into(), json!(1.0)),
                    ("qualification".into(), "2026-10-06".into(), json!(2.0)),
                    ("lost".into(), "2026-10-08".into(), Value::Null),
                ],
                "{style:?}"
            );
        }
    }
}

#[test]
fn a_forced_moves_waivers_are_those_it_wrote_after_a_stage_date_is_corrected() {
    let mut seen: Vec<(Style, Value, Value)> = Vec::new();
    for style in [
        Style::Merge,
        Style::GitSquash,
        Style::ForgeSquash,
        Style::CompactForgeSquash,
    ] {
        let t = pipeline();
        git_on(&t, "2026-10-02", &["checkout", "-q", "-b", "work"]);
        // Two forced moves by bob; then the second one's stage date is
        // corrected by hand.
        by(
            &t,
            BOB,
            "2026-10-03",
            &[
                "move",
                "beta",
                "qualification",
                "--force",
                "--reason",
                "intro",
            ],
        )
        .code(0);
        by(
            &t,
            BOB,
            "2026-10-05",
            &["move", "beta", "negotiation", "--force", "--reason", "rush"],
        )
        .code(0);
        by(
            &t,
            BOB,
            "2026-10-06",
            &["set", "beta", "stages.negotiation=2026-10-04T12:00:00Z"],
        )
        .code(0);
        land(&t, style, "2026-10-09");
        by(
            &t,
            BOB,
            "2026-10-12",
            &["move", "beta", "lost", "--reason", "competitor"],
        )
        .code(0);
        let file = t.git(&["show", "HEAD:deals/lost/beta.md"]);
        let waivers = file.matches("    by: bob\n").count();
        let beta = audited(&t, "beta");
        let moves: Vec<(Value, Value)> = beta["forced_moves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["reason"].clone(), m["waived"].clone()))
            .collect();
        let total: u64 = moves.iter().map(|m| m.1.as_u64().unwrap()).sum();
        assert_eq!(total as usize, waivers, "{style:?}: {file}\n{beta:#}");
        assert_eq!(moves[0], (json!("intro"), json!(1)), "{style:?}: {beta:#}");
        let j = json_of(at(&t, "2026-10-20", &["audit", "--format", "json"]));
        assert_eq!(
            j["forced_by_owner"],
            json!([{"owner": "bob", "forced": 2, "waivers": waivers}]),
            "{style:?}: {j:#}"
        );
        assert_eq!(people(&t), [("bob".to_string(), 2, waivers as u64)]);
        seen.push((style, json!(moves), j["forced_by_owner"].clone()));
    }
    for s in &seen[1..] {
        assert_eq!((&s.1, &s.2), (&seen[0].1, &seen[0].2), "{:?}", s.0);
    }
}

#[test]
fn a_forge_squash_with_an_impossible_stage_date_dates_the_move_by_the_commit() {
    for style in [Style::ForgeSquash, Style::CompactForgeSquash] {
        let t = pipeline();
        git_on(&t, "2026-10-02", &["checkout", "-q", "-b", "work"]);
        by(&t, BOB, "2026-10-02", &["move", "acme", "outreach"]).code(0);
        by(&t, BOB, "2026-10-03", &["move", "acme", "qualification"]).code(0);
        // A date after every commit that could have made the move.
        by(
            &t,
            BOB,
            "2026-10-04",
            &["set", "acme", "stages.qualification=2026-10-30T00:00:00Z"],
        )
        .code(0);
        land(&t, style, "2026-10-09");
        let squash = t.git(&["log", "-1", "--format=%cs %as"]);
        assert_eq!(squash.trim(), "2026-10-09 2026-10-09");
        by(
            &t,
            BOB,
            "2026-10-12",
            &["move", "acme", "lost", "--reason", "competitor"],
        )
        .code(0);
        let acme = audited(&t, "acme");
        assert_eq!(
            stages(&acme),
            [
                ("prospecting".into(), "2026-10-01".into(), json!(1.0)),
                ("outreach".into(), "2026-10-02".into(), json!(7.0)),
                ("qualification".into(), "2026-10-09".into(), json!(3.0)),
                ("lost".into(), "2026-10-12".into(), Value::Null),
            ],
            "{style:?}: {acme:#}"
        );
    }
}
