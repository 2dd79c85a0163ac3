//! `deal forecast` and `deal trend`: every figure worked out by hand.

use serde_json::{Value, json};

use crate::{Test, assert_subset};

/// Known deals and dates. Now is Friday 2026-11-27T12:00:00Z.
/// Probabilities (default pipeline): prospecting 0.05, outreach 0.1,
/// qualification 0.2, discovery 0.35, proposal 0.5, negotiation 0.7,
/// close 0.9. Categories by probability: close and negotiation `commit`
/// (≥ 0.7), proposal `best_case` (≥ 0.4), the others `pipeline`; the test
/// sets `forecast: best_case` on discovery (the stage key).
///
/// | deal | stage | owner | value | expected_close | category | where |
/// |---|---|---|---|---|---|---|
/// | a | close | bob | 10,000 | 2026-11-30 | commit | Nov, weighted 9,000 |
/// | b | negotiation | alice | 20,000 | 2026-11-27 (today) | commit | Nov, weighted 14,000 |
/// | c | proposal | bob | 30,000 | 2026-12-15 | best_case | Dec, weighted 15,000 |
/// | d | proposal | alice | 40,000 | 2026-12-01 | commit (field) | Dec, weighted 20,000 |
/// | e | discovery | alice | 50,000 | 2027-01-10 | best_case (stage key) | Jan, weighted 17,500 |
/// | f | qualification | alice | 60,000 | 2027-01-31 | pipeline | Jan, weighted 12,000 |
/// | g | negotiation | alice | 70,000 | 2026-11-28 | omitted (field) | nowhere |
/// | h | proposal | bob | 80,000 | 2026-11-20 | best_case | past due |
/// | i | outreach | alice | 5,000 | none | pipeline | no close date |
/// | j | negotiation | alice | 7,000 | none | omitted | no close date |
/// | k | close | alice | 9,000 | 2027-02-01 | commit | after the 3 months; Q1 by quarter, weighted 8,100 |
/// | m | proposal, USD | alice | 1,000 | 2026-12-20 | best_case | Dec, left out of the sums and `deals`, under `other_currencies` |
/// | w1 | won 2026-11-03 | alice | 15,000 | | | Nov won |
/// | w2 | won 2026-10-30 | alice | 25,000 | | | Oct: Q4 by quarter only |
/// | w3 | won 2026-11-27T08:00 | alice | 35,000 | | | Nov won |
/// | l1 | lost | bob | 99,000 | 2026-11-10 | | closed: not past due |
///
/// By month (3 periods):
/// | period | won | commit | best_case | pipeline | weighted | deals |
/// |---|---|---|---|---|---|---|
/// | 2026-11 | 50,000 | 30,000 | 0 | 0 | 23,000 | a, b |
/// | 2026-12 | 0 | 40,000 | 30,000 | 0 | 35,000 | c, d (m: 1,000 USD, left out) |
/// | 2027-01 | 0 | 0 | 50,000 | 60,000 | 29,500 | e, f |
/// past_due: 1, 80,000, [h]; no_close_date: 2, 12,000, [i, j].
fn forecast_test() -> Test {
    let d = |owner: &str, value: u32, extra: &str| {
        format!("---\ntitle: T\nowner: {owner}\nvalue: {value}\n{extra}---\n# Notes\n")
    };
    Test::new()
        .config_replace(
            "    probability: 0.35\n",
            "    probability: 0.35\n    forecast: best_case\n",
        )
        .deal(
            "07-close/a.md",
            &d("bob", 10000, "expected_close: 2026-11-30\n"),
        )
        .deal(
            "06-negotiation/b.md",
            &d("alice", 20000, "expected_close: 2026-11-27\n"),
        )
        .deal(
            "05-proposal/c.md",
            &d("bob", 30000, "expected_close: 2026-12-15\n"),
        )
        .deal(
            "05-proposal/d.md",
            &d(
                "alice",
                40000,
                "expected_close: 2026-12-01\nforecast: commit\n",
            ),
        )
        .deal(
            "04-discovery/e.md",
            &d("alice", 50000, "expected_close: 2027-01-10\n"),
        )
        .deal(
            "03-qualification/f.md",
            &d("alice", 60000, "expected_close: 2027-01-31T23:00:00Z\n"),
        )
        .deal(
            "06-negotiation/g.md",
            &d(
                "alice",
                70000,
                "expected_close: 2026-11-28\nforecast: omitted\n",
            ),
        )
        .deal(
            "05-proposal/h.md",
            &d("bob", 80000, "expected_close: 2026-11-20\n"),
        )
        .deal("02-outreach/i.md", &d("alice", 5000, ""))
        .deal(
            "06-negotiation/j.md",
            &d("alice", 7000, "forecast: omitted\n"),
        )
        .deal(
            "07-close/k.md",
            &d("alice", 9000, "expected_close: 2027-02-01\n"),
        )
        .deal(
            "05-proposal/m.md",
            &d("alice", 1000, "currency: USD\nexpected_close: 2026-12-20\n"),
        )
        .deal(
            "won/w1.md",
            &d("alice", 15000, "stages:\n  won: 2026-11-03\n"),
        )
        .deal(
            "won/w2.md",
            &d("alice", 25000, "stages:\n  won: 2026-10-30\n"),
        )
        .deal(
            "won/w3.md",
            &d("alice", 35000, "stages:\n  won: 2026-11-27T08:00:00Z\n"),
        )
        .deal(
            "lost/l1.md",
            &d(
                "bob",
                99000,
                "expected_close: 2026-11-10\nlost: {reason: no budget, stage: proposal}\n",
            ),
        )
}

fn json_of(t: &Test, args: &[&str]) -> Value {
    let out = t.cmd(args).code(0);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn forecast_matches_the_hand_worked_table() {
    let t = forecast_test();
    let got = json_of(&t, &["forecast", "--format", "json"]);
    let want = json!({
        "currency": "EUR", "as_of": "2026-11-27", "by": "month",
        "periods": [
            { "label": "2026-11", "start": "2026-11-01", "end": "2026-11-30",
              "won": 50000, "commit": 30000, "best_case": 0, "pipeline": 0,
              "weighted": 23000, "deals": ["a", "b"] },
            { "label": "2026-12", "start": "2026-12-01", "end": "2026-12-31",
              "won": 0, "commit": 40000, "best_case": 30000, "pipeline": 0,
              "weighted": 35000, "deals": ["c", "d"],
              "other_currencies": { "USD": { "won": 0, "open": 1000, "deals": ["m"] } } },
            { "label": "2027-01", "start": "2027-01-01", "end": "2027-01-31",
              "won": 0, "commit": 0, "best_case": 50000, "pipeline": 60000,
              "weighted": 29500, "deals": ["e", "f"] }
        ],
        "past_due": { "count": 1, "value": 80000, "deals": ["h"] },
        "no_close_date": { "count": 2, "value": 12000, "deals": ["i", "j"] },
        "unreadable": []
    });
    assert_eq!(got, want);

    // By quarter, two periods: Q4 2026 adds w2 (won in October) and holds
    // every deal of Nov and Dec; Q1 2027 adds k (close: commit, 9,000 ×
    // 0.9 = 8,100).
    let q = json_of(
        &t,
        &[
            "forecast",
            "--by",
            "quarter",
            "--periods",
            "2",
            "--format",
            "json",
        ],
    );
    assert_subset(
        &json!({ "by": "quarter", "periods": [
            { "label": "2026-Q4", "start": "2026-10-01", "end": "2026-12-31",
              "won": 75000, "commit": 70000, "best_case": 30000, "pipeline": 0,
              "weighted": 58000, "deals": ["a", "b", "c", "d"],
              "other_currencies": { "USD": { "won": 0, "open": 1000, "deals": ["m"] } } },
            { "label": "2027-Q1", "start": "2027-01-01", "end": "2027-03-31",
              "won": 0, "commit": 9000, "best_case": 50000, "pipeline": 60000,
              "weighted": 37600, "deals": ["e", "f", "k"] }
        ]}),
        &q,
        "quarter",
    );

    // One owner: bob has a (Nov commit), c (Dec best case), h (past due).
    let bob = json_of(&t, &["forecast", "--owner", "bob", "--format", "json"]);
    assert_subset(
        &json!({ "periods": [
            { "won": 0, "commit": 10000, "best_case": 0, "weighted": 9000, "deals": ["a"] },
            { "commit": 0, "best_case": 30000, "weighted": 15000, "deals": ["c"] },
            { "deals": [] }
        ],
        "past_due": { "count": 1, "value": 80000, "deals": ["h"] },
        "no_close_date": { "count": 0, "value": 0, "deals": [] } }),
        &bob,
        "bob",
    );
    t.cmd(&["forecast", "--owner", "zed"])
        .code(2)
        .stderr_has("zed");

    // The table reads like a forecast sheet: a row per period, the total,
    // and the past-due deal named with its owner and the fix.
    let table = t.cmd(&["forecast"]).code(0).stdout;
    for line in [
        "2026-11  50,000  30,000  0          0         23,000    2",
        "2026-12  0       40,000  30,000     0         35,000    2",
        "2027-01  0       0       50,000     60,000    29,500    2",
        "TOTAL    50,000  70,000  80,000     60,000    87,500    6",
        "Not in these totals (other currencies): 2026-12: 1,000 USD open (m).",
        "Past due: 1 deal, 80,000 EUR",
        "h     bob    2026-11-20  80,000  deal set h expected_close=YYYY-MM-DD",
        "No close date: 2 deals, 12,000 EUR: i (alice), j (alice)",
    ] {
        assert!(table.contains(line), "no `{line}` in:\n{table}");
    }

    // CSV: the periods, then past due and no close date.
    let csv = t.cmd(&["forecast", "--format", "csv"]).code(0).stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "period,start,end,won,commit,best_case,pipeline,weighted,count,value,deals"
    );
    assert_eq!(
        lines[2],
        "2026-12,2026-12-01,2026-12-31,0,40000,30000,0,35000,2,70000,c d"
    );
    assert_eq!(lines[4], "past_due,,,,,,,,1,80000,h");
    assert_eq!(lines[5], "no_close_date,,,,,,,,2,12000,i j");

    // stats --format json carries the current period's object.
    let stats = json_of(&t, &["stats", "--format", "json"]);
    assert_eq!(stats["forecast"], want["periods"][0]);
}

#[test]
fn show_set_and_the_category_field() {
    let t = forecast_test().repo();
    t.cmd(&["show", "h"]).code(0).stdout_has(
        "  close     2026-11-20, past due (7 days ago) · forecast: best case (from the stage)",
    );
    t.cmd(&["show", "d"])
        .code(0)
        .stdout_has("  close     2026-12-01 · forecast: commit (set on the deal)");
    t.cmd(&["show", "e"])
        .code(0)
        .stdout_has("forecast: best case (from the stage)");
    // expected_close is a date field: set moves h into December.
    t.cmd(&["set", "h", "expected_close=2026-12-20"]).code(0);
    let text = std::fs::read_to_string(t.path().join("deals/05-proposal/h.md")).unwrap();
    assert!(text.contains("expected_close: 2026-12-20\n"), "{text}");
    t.cmd(&["set", "h", "expected_close=soon"])
        .code(2)
        .stderr_has("a date (YYYY-MM-DD)");
    t.cmd(&["set", "c", "forecast=maybe"])
        .code(2)
        .stderr_has("commit, best_case, pipeline or omitted");
    t.cmd(&["set", "c", "forecast=commit"]).code(0);
    let got = json_of(&t, &["forecast", "--format", "json"]);
    // December: c is now commit (+30,000), h best case (80,000 × 0.5).
    assert_subset(
        &json!({ "periods": [ {}, { "commit": 70000, "best_case": 80000,
            "weighted": 75000, "deals": ["c", "d", "h"] }, {} ],
            "past_due": { "count": 0 } }),
        &got,
        "after set",
    );
    // A bad category is a schema error; a bad stage key stops everything.
    let bad = Test::new().deal(
        "05-proposal/x.md",
        "---\ntitle: X\nowner: bob\nforecast: likely\n---\n",
    );
    bad.cmd(&["check"])
        .code(1)
        .stdout_has("`forecast` must be commit, best_case, pipeline or omitted, not `likely`");
    Test::new()
        .config_replace(
            "    probability: 0.35\n",
            "    probability: 0.35\n    forecast: maybe\n",
        )
        .cmd(&["forecast"])
        .code(2)
        .stderr_has("`maybe` is not a forecast category");
}

#[test]
fn forecast_json_lists_unreadable_deals_and_warns() {
    let t = Test::new()
        .deal(
            "05-proposal/ok.md",
            "---\ntitle: OK\nowner: bob\nvalue: 10\nexpected_close: 2026-11-30\n---\n",
        )
        .deal(
            "05-proposal/broken.md",
            "---\ntitle: [unclosed\nowner: bob\n---\n",
        );
    let out = t.cmd(&["forecast", "--format", "json"]).code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["unreadable"][0]["path"], "deals/05-proposal/broken.md");
    // The line `deal check` reports for it.
    let check: Value =
        serde_json::from_str(&t.cmd(&["check", "--format", "json"]).code(1).stdout).unwrap();
    let line = check["findings"][0]["line"].as_u64().unwrap();
    assert_eq!(v["unreadable"][0]["line"], line);
    assert_eq!(
        v["unreadable"][0]["message"],
        check["findings"][0]["message"]
    );
    assert!(
        out.stderr
            .contains(&format!("warning: deals/05-proposal/broken.md:{line}: ")),
        "{}",
        out.stderr
    );
    assert_eq!(v["periods"][0]["deals"], json!(["ok"]));
}

fn write(t: &Test, rel: &str, text: &str) {
    let p = t.path().join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `git mv` that creates the target folder first.
fn mv(t: &Test, from: &str, to: &str) {
    std::fs::create_dir_all(t.path().join(to).parent().unwrap()).unwrap();
    t.git(&["mv", from, to]);
}

fn deal(value: u32, stages: &str, extra: &str) -> String {
    format!("---\ntitle: T\nowner: bob\nvalue: {value}\n{extra}stages:\n{stages}---\n")
}

/// A dated history (now: Friday 2026-11-27 12:00 UTC):
/// - C0 11-05 10:00: README only (no pipeline yet)
/// - C1 11-10 09:00: pipeline.yaml; a and b (prospecting, 10,000 and 20,000)
/// - C2 11-12 09:00: a → outreach
/// - C3 11-17 09:00: c new (prospecting, 30,000); b won
/// - branch `process`, 11-18 09:00: a criterion removed, with
///   `Criteria-Change: proposals need no review for now`; merged into main
///   at 11-18 10:00 (M4) by a merge whose own message has no trailer
/// - C5 11-20 09:00: speed_to_lead_minutes changed (not a criterion)
/// - C6 11-24 09:00: a lost; d new (prospecting, 5,000)
/// - C7 11-28 09:00 (after now): e new (never in a snapshot)
pub fn history() -> (Test, Vec<String>) {
    history_spelled(false)
}

/// A deal file as [`deal`] writes it, or (`fancy`) the same front-matter in
/// YAML's other spellings: comments, quotes, a float with an exponent, and
/// the stages as a flow mapping.
fn spelled(fancy: bool, value: u32, stages: &str, extra: &str) -> String {
    if !fancy {
        return deal(value, stages, extra);
    }
    let flow: Vec<&str> = stages.lines().map(str::trim).collect();
    format!(
        "---\n# kept by hand\ntitle: 'T'\nowner: \"bob\"   # the AE\nvalue: {}e3\n{extra}stages: {{ {} }}\n---\n",
        f64::from(value) / 1000.0,
        flow.join(", ")
    )
}

/// [`history`], its deal files written plainly or (`fancy`) with
/// [`spelled`].
fn history_spelled(fancy: bool) -> (Test, Vec<String>) {
    let deal = |value, stages: &str, extra: &str| spelled(fancy, value, stages, extra);
    let t = Test::new().file("README.md", "notes\n");
    t.git(&["init", "-q"]);
    t.git(&["add", "README.md"]);
    t.git_at("2026-11-05T10:00:00Z", &["commit", "-q", "-m", "readme"]);
    write(
        &t,
        "deals/01-prospecting/a.md",
        &deal(10000, "  prospecting: 2026-11-10T09:00:00Z\n", ""),
    );
    write(
        &t,
        "deals/01-prospecting/b.md",
        &deal(20000, "  prospecting: 2026-11-10T09:00:00Z\n", ""),
    );
    t.git(&["add", "-A"]);
    t.git_at("2026-11-10T09:00:00Z", &["commit", "-q", "-m", "pipeline"]);
    mv(&t, "deals/01-prospecting/a.md", "deals/02-outreach/a.md");
    write(
        &t,
        "deals/02-outreach/a.md",
        &deal(
            10000,
            "  prospecting: 2026-11-10T09:00:00Z\n  outreach: 2026-11-12T09:00:00Z\n",
            "",
        ),
    );
    t.git(&["add", "-A"]);
    t.git_at(
        "2026-11-12T09:00:00Z",
        &["commit", "-q", "-m", "a to outreach"],
    );
    write(
        &t,
        "deals/01-prospecting/c.md",
        &deal(30000, "  prospecting: 2026-11-17T09:00:00Z\n", ""),
    );
    mv(&t, "deals/01-prospecting/b.md", "deals/won/b.md");
    write(
        &t,
        "deals/won/b.md",
        &deal(
            20000,
            "  prospecting: 2026-11-10T09:00:00Z\n  won: 2026-11-17T09:00:00Z\n",
            "",
        ),
    );
    t.git(&["add", "-A"]);
    t.git_at(
        "2026-11-17T09:00:00Z",
        &["commit", "-q", "-m", "c new, b won"],
    );
    t.git(&["checkout", "-q", "-b", "process"]);
    let cfg = std::fs::read_to_string(t.path().join("pipeline.yaml")).unwrap();
    let weaker = cfg.replace(
        "      - label: Proposal reviewed with the prospect\n        field: proposal.reviewed_on\n        format: date\n",
        "",
    );
    assert_ne!(cfg, weaker);
    write(&t, "pipeline.yaml", &weaker);
    t.git_at(
        "2026-11-18T09:00:00Z",
        &[
            "commit",
            "-q",
            "-am",
            "drop the review",
            "--trailer",
            "Criteria-Change: proposals need no review for now",
        ],
    );
    t.git(&["checkout", "-q", "main"]);
    t.git_at(
        "2026-11-18T10:00:00Z",
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch process",
            "process",
        ],
    );
    let cfg = std::fs::read_to_string(t.path().join("pipeline.yaml")).unwrap();
    write(
        &t,
        "pipeline.yaml",
        &cfg.replace("speed_to_lead_minutes: 5", "speed_to_lead_minutes: 10"),
    );
    t.git_at(
        "2026-11-20T09:00:00Z",
        &["commit", "-q", "-am", "slower leads"],
    );
    mv(&t, "deals/02-outreach/a.md", "deals/lost/a.md");
    write(
        &t,
        "deals/lost/a.md",
        &deal(
            10000,
            "  prospecting: 2026-11-10T09:00:00Z\n  outreach: 2026-11-12T09:00:00Z\n  lost: 2026-11-24T09:00:00Z\n",
            "lost: {reason: no budget, stage: outreach}\n",
        ),
    );
    write(
        &t,
        "deals/01-prospecting/d.md",
        &deal(5000, "  prospecting: 2026-11-24T09:00:00Z\n", ""),
    );
    t.git(&["add", "-A"]);
    t.git_at(
        "2026-11-24T09:00:00Z",
        &["commit", "-q", "-m", "a lost, d new"],
    );
    write(
        &t,
        "deals/01-prospecting/e.md",
        &deal(7000, "  prospecting: 2026-11-28T09:00:00Z\n", ""),
    );
    t.git(&["add", "-A"]);
    t.git_at(
        "2026-11-28T09:00:00Z",
        &["commit", "-q", "-m", "e new, tomorrow"],
    );
    let line: Vec<String> = t
        .git(&["log", "--first-parent", "--format=%H"])
        .lines()
        .map(str::to_string)
        .collect();
    // newest first: C7, C6, C5, M4, C3, C2, C1, C0
    assert_eq!(line.len(), 8);
    (t, line)
}

#[test]
fn trend_reads_every_yaml_spelling_of_a_deal_alike() {
    // Plain front-matter is read by a quick scanner, any other spelling by
    // the YAML parser: both must give the same snapshots.
    let figures = |fancy| {
        let (t, _) = history_spelled(fancy);
        let mut v = json_of(&t, &["trend", "--last", "5", "--format", "json"]);
        for s in v["snapshots"].as_array_mut().unwrap() {
            s.as_object_mut().unwrap().remove("commit");
        }
        v.as_object_mut().unwrap().remove("criteria_changes");
        v
    };
    let plain = figures(false);
    assert_eq!(plain["snapshots"][4]["open_value"], json!(35000));
    assert_eq!(figures(true), plain);
}

#[test]
fn trend_in_a_linked_worktree_reads_the_shared_history_alike() {
    // A linked worktree keeps its objects in the main repository's folder;
    // the readers must find them there, and a repacked pack reads alike.
    let (t, _) = history();
    let want = json_of(&t, &["trend", "--last", "5", "--format", "json"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let wt = elsewhere.path().join("wt");
    t.git(&[
        "worktree",
        "add",
        "-q",
        "--detach",
        wt.to_str().unwrap(),
        "HEAD",
    ]);
    t.git(&["repack", "-a", "-d", "-q"]);
    let got: Value = serde_json::from_str(&trend_in(&t, &wt).code(0).stdout).unwrap();
    assert_eq!(got, want);
    assert_eq!(want["snapshots"][4]["open"], json!(2));
}

#[test]
fn trend_snapshots_match_the_hand_worked_history() {
    let (t, line) = history();
    let (c6, c5, m4, c2) = (&line[1], &line[2], &line[3], &line[5]);
    let got = json_of(&t, &["trend", "--last", "5", "--format", "json"]);
    let zero = json!({ "open": 0, "value": 0 });
    let nulls = |start: &str, end: &str| {
        json!({ "start": start, "end": end, "commit": null, "open": null,
            "open_value": null, "weighted": null, "stages": null, "new": null,
            "won": null, "won_value": null, "lost": null, "lost_value": null })
    };
    let want = json!({
        "every": "week",
        "snapshots": [
            // No commit yet.
            nulls("2026-10-26T00:00:00Z", "2026-11-02T00:00:00Z"),
            // C0 exists, but the pipeline does not.
            nulls("2026-11-02T00:00:00Z", "2026-11-09T00:00:00Z"),
            // C2: a in outreach (10,000 × 0.1), b in prospecting (20,000 ×
            // 0.05); a and b entered prospecting on 11-10.
            { "start": "2026-11-09T00:00:00Z", "end": "2026-11-16T00:00:00Z",
              "commit": c2, "open": 2, "open_value": 30000, "weighted": 2000,
              "stages": { "prospecting": { "open": 1, "value": 20000 },
                          "outreach": { "open": 1, "value": 10000 },
                          "qualification": zero, "discovery": zero, "proposal": zero,
                          "negotiation": zero, "close": zero },
              "new": 2, "won": 0, "won_value": 0, "lost": 0, "lost_value": 0 },
            // C5 (after the merge): a outreach, c prospecting (30,000 ×
            // 0.05 = 1,500); b won on 11-17; c new on 11-17.
            { "start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z",
              "commit": c5, "open": 2, "open_value": 40000, "weighted": 2500,
              "stages": { "prospecting": { "open": 1, "value": 30000 },
                          "outreach": { "open": 1, "value": 10000 },
                          "qualification": zero, "discovery": zero, "proposal": zero,
                          "negotiation": zero, "close": zero },
              "new": 1, "won": 1, "won_value": 20000, "lost": 0, "lost_value": 0 },
            // C6 (C7 is after now): c and d in prospecting (35,000 × 0.05);
            // a lost on 11-24; d new on 11-24.
            { "start": "2026-11-23T00:00:00Z", "end": "2026-11-27T12:00:00Z",
              "commit": c6, "open": 2, "open_value": 35000, "weighted": 1750,
              "stages": { "prospecting": { "open": 2, "value": 35000 },
                          "outreach": zero,
                          "qualification": zero, "discovery": zero, "proposal": zero,
                          "negotiation": zero, "close": zero },
              "new": 1, "won": 0, "won_value": 0, "lost": 1, "lost_value": 10000 }
        ],
        // The merge is the main line's commit; its reason comes from the
        // commit it brought in. C5 changed no criterion; C1 created the file.
        "criteria_changes": [
            { "commit": m4, "date": "2026-11-18T10:00:00Z",
              "summary": "proposals need no review for now" }
        ],
        "unreadable": []
    });
    assert_eq!(got, want);

    // Monthly: October has no commit; November ends now, at C6.
    let m = json_of(
        &t,
        &[
            "trend", "--every", "month", "--last", "2", "--format", "json",
        ],
    );
    assert_subset(
        &json!({ "every": "month", "snapshots": [
            { "end": "2026-11-01T00:00:00Z", "commit": null, "open": null },
            { "start": "2026-11-01T00:00:00Z", "commit": c6, "open": 2, "new": 4, "won": 1, "lost": 1 }
        ]}),
        &m,
        "monthly",
    );

    // The table and CSV show the same figures.
    let table = t.cmd(&["trend", "--last", "5"]).code(0).stdout;
    assert!(table.contains("2026-11-02 00:00  –"), "{table}");
    assert!(
        table.contains(&format!(
            "2026-11-27 12:00  {}  2     35,000  1,750     1    0    1",
            &c6[..7]
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "2026-11-18 {}  proposals need no review for now",
            &m4[..7]
        )),
        "{table}"
    );
    let csv = t
        .cmd(&["trend", "--last", "5", "--format", "csv"])
        .code(0)
        .stdout;
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("start,end,commit,open,open_value,weighted,new,won,won_value,lost,lost_value,prospecting.open,prospecting.value,outreach.open"), "{csv}");
    assert_eq!(
        rows[1],
        "2026-10-26T00:00:00Z,2026-11-02T00:00:00Z,,,,,,,,,,,,,,,,,,,,,,,"
    );
    assert!(
        rows[5].starts_with(&format!(
            "2026-11-23T00:00:00Z,2026-11-27T12:00:00Z,{c6},2,35000,1750,1,0,0,1,10000,2,35000,0,0"
        )),
        "{csv}"
    );
}

#[test]
fn trend_needs_git_and_reads_a_subfolder_pipeline() {
    // Outside git: a usage error that says why.
    Test::new()
        .cmd(&["trend"])
        .code(2)
        .stderr_has("not in a git repository");
    // A pipeline in a subfolder of a repository, read from there.
    let t = Test::empty()
        .file("sales/pipeline.yaml", &crate::default_config())
        .file(
            "sales/deals/01-prospecting/a.md",
            &deal(100, "  prospecting: 2026-11-20\n", ""),
        );
    t.git(&["init", "-q"]);
    t.git(&["add", "-A"]);
    t.git_at("2026-11-20T10:00:00Z", &["commit", "-q", "-m", "sales"]);
    let v = json_of(
        &t,
        &["-C", "sales", "trend", "--last", "3", "--format", "json"],
    );
    assert_subset(
        &json!({ "snapshots": [
            { "end": "2026-11-16T00:00:00Z", "commit": null },
            { "open": 1, "open_value": 100, "new": 1 },
            { "open": 1, "open_value": 100, "new": 0 } ] }),
        &v,
        "subfolder",
    );
}

#[test]
fn trend_warns_about_unreadable_deals_of_the_newest_snapshot() {
    let t = Test::new()
        .deal(
            "01-prospecting/ok.md",
            &deal(100, "  prospecting: 2026-11-20\n", ""),
        )
        .deal(
            "01-prospecting/broken.md",
            "---\ntitle: [unclosed\nowner: bob\n---\n",
        );
    t.git(&["init", "-q"]);
    t.git(&["add", "-A"]);
    t.git_at("2026-11-20T10:00:00Z", &["commit", "-q", "-m", "two deals"]);
    // A fix in the work tree does not count: trends read commits.
    std::fs::remove_file(t.path().join("deals/01-prospecting/broken.md")).unwrap();
    let out = t.cmd(&["trend", "--last", "2", "--format", "json"]).code(0);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["unreadable"][0]["path"], "deals/01-prospecting/broken.md");
    assert_eq!(v["snapshots"][1]["open"], 1);
    assert!(
        out.stderr
            .contains("warning: deals/01-prospecting/broken.md:"),
        "{}",
        out.stderr
    );
}

#[test]
fn trend_refuses_a_partial_clone_and_warns_at_a_shallow_boundary() {
    // A deal from week one, a probability change in week four.
    let t = Test::empty()
        .file("pipeline.yaml", &crate::default_config())
        .file(
            "deals/01-prospecting/a.md",
            &deal(1000, "  prospecting: 2026-11-03\n", ""),
        );
    t.git(&["init", "-q"]);
    t.git(&["add", "-A"]);
    t.git_at("2026-11-03T10:00:00Z", &["commit", "-q", "-m", "a"]);
    let yaml = std::fs::read_to_string(t.path().join("pipeline.yaml")).unwrap();
    std::fs::write(
        t.path().join("pipeline.yaml"),
        yaml.replacen("probability: 0.05", "probability: 0.5", 1),
    )
    .unwrap();
    t.git(&["add", "-A"]);
    t.git_at("2026-11-24T10:00:00Z", &["commit", "-q", "-m", "prob"]);
    t.git(&["config", "uploadpack.allowFilter", "true"]);
    let full = json_of(&t, &["trend", "--last", "4", "--format", "json"]);
    assert_eq!(full["snapshots"][0]["open"], 1, "{full}");
    let url = format!("file://{}", t.path().display());
    let clones = tempfile::tempdir().unwrap();
    // Blobless: the old versions are not here; no figure may pretend.
    let partial = clones.path().join("partial");
    t.git(&[
        "clone",
        "-q",
        "--filter=blob:none",
        &url,
        partial.to_str().unwrap(),
    ]);
    t.cmd(&["-C", partial.to_str().unwrap(), "trend", "--last", "4"])
        .code(2)
        .stderr_has("not in this clone")
        .stderr_has("git fetch --refetch");
    // Shallow: the weeks before the boundary are unknown, and it says so.
    let shallow = clones.path().join("shallow");
    t.git(&[
        "clone",
        "-q",
        "--depth",
        "1",
        &url,
        shallow.to_str().unwrap(),
    ]);
    let out = t
        .cmd(&[
            "-C",
            shallow.to_str().unwrap(),
            "trend",
            "--last",
            "4",
            "--format",
            "json",
        ])
        .code(0);
    assert!(out.stderr.contains("shallow clone"), "{}", out.stderr);
    assert!(
        out.stderr.contains("git fetch --unshallow"),
        "{}",
        out.stderr
    );
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["snapshots"][0]["commit"], Value::Null);
    assert_eq!(v["snapshots"][3]["open"], 1);
}

/// `deal trend --last 5 --format json` run in `dir` with `t`'s environment.
fn trend_in(t: &Test, dir: &std::path::Path) -> crate::Output {
    let args: Vec<String> = ["trend", "--last", "5", "--format", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    crate::run_deal(dir, &args, &t.env_vars())
}

#[test]
fn trend_in_odd_clones_is_right_or_refuses() {
    let (t, _) = history();
    t.git(&["config", "uploadpack.allowFilter", "true"]);
    let want = json_of(&t, &["trend", "--last", "5", "--format", "json"]);
    let url = format!("file://{}", t.path().display());
    let clones = tempfile::tempdir().unwrap();
    let at = |name: &str| clones.path().join(name);
    let clone = |args: &[&str], name: &str| {
        let dir = at(name);
        let mut all = vec!["clone", "-q"];
        all.extend_from_slice(args);
        all.extend([url.as_str(), dir.to_str().unwrap()]);
        t.git(&all);
        dir
    };

    // A treeless clone lacks the older commits' folders: never read as
    // empty ones.
    let treeless = clone(&["--filter=tree:1"], "treeless");
    let out = trend_in(&t, &treeless).code(2);
    assert!(out.stderr.contains("not in this clone"), "{}", out.stderr);

    // The advice given for a partial clone works as written.
    let blobless = clone(&["--filter=blob:none"], "blobless");
    let out = trend_in(&t, &blobless).code(2);
    assert!(
        out.stderr
            .contains("git config --unset remote.origin.partialclonefilter"),
        "{}",
        out.stderr
    );
    t.git_in(
        &blobless,
        &["config", "--unset", "remote.origin.partialclonefilter"],
    );
    t.git_in(&blobless, &["fetch", "-q", "--refetch", "origin"]);
    let got: Value = serde_json::from_str(&trend_in(&t, &blobless).code(0).stdout).unwrap();
    assert_eq!(got, want);

    // The advice names the remote the filter belongs to.
    let upstream = clone(&["--filter=blob:none", "-o", "upstream"], "upstream");
    let out = trend_in(&t, &upstream).code(2);
    assert!(
        out.stderr
            .contains("`git config --unset remote.upstream.partialclonefilter`, then `git fetch --refetch upstream`"),
        "{}",
        out.stderr
    );

    // `.git` a file naming the git folder: the work tree is where the file
    // is, not the git folder's parent.
    let sep = at("sep");
    let gitdir = at("sep.git");
    t.git(&[
        "clone",
        "-q",
        &format!("--separate-git-dir={}", gitdir.display()),
        &url,
        sep.to_str().unwrap(),
    ]);
    let got: Value = serde_json::from_str(&trend_in(&t, &sep).code(0).stdout).unwrap();
    assert_eq!(got, want);

    // Borrowed objects whose source went away: HEAD cannot be read, and
    // that is not "before the pipeline existed".
    let source = clone(&["--no-local"], "source");
    let shared = at("shared");
    t.git(&[
        "clone",
        "-q",
        "--shared",
        source.to_str().unwrap(),
        shared.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&source).unwrap();
    let out = trend_in(&t, &shared).code(2);
    assert!(out.stderr.contains("not in this clone"), "{}", out.stderr);
}

#[test]
fn trend_says_what_an_older_snapshot_could_not_count() {
    let (t, _) = history();
    let want = json_of(&t, &["trend", "--last", "5", "--format", "json"]);
    // Week of 11-16: a deal version that does not parse, a submodule entry
    // named like a deal, and a pipeline.yaml that does not load (C3 is
    // rewritten on a branch, then the figures compared week by week).
    t.git(&["checkout", "-q", "-b", "odd", &format!("{}~4", "main")]);
    let broken = "---\ntitle: x\nowner: bob\nvalue: 1\nvalue: 2\n---\n";
    write(&t, "deals/01-prospecting/typo.md", broken);
    let cfg = std::fs::read_to_string(t.path().join("pipeline.yaml")).unwrap();
    let weaker = cfg.replace(
        "      - label: Proposal reviewed with the prospect\n        field: proposal.reviewed_on\n        format: date\n",
        "",
    );
    assert_ne!(cfg, weaker);
    write(&t, "pipeline.yaml", &weaker);
    t.git(&["add", "-A"]);
    let head = t.git(&["rev-parse", "HEAD"]);
    t.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{},deals/02-outreach/sub.md", head.trim()),
    ]);
    t.git_at(
        "2026-11-17T10:00:00Z",
        &[
            "commit",
            "-q",
            "-m",
            "odd files\n\nCriteria-Change: first line\n  and its continuation",
        ],
    );
    let out = t.cmd(&["trend", "--last", "5", "--format", "json"]).code(0);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    // The unreadable version is named, with its line, and not counted; the
    // submodule is no deal.
    assert!(
        out.stderr
            .contains("deals/01-prospecting/typo.md:5: duplicate key `value`"),
        "{}",
        out.stderr
    );
    assert_eq!(got["snapshots"][4]["open"], want["snapshots"][3]["open"]);
    assert_eq!(
        got["snapshots"][4]["open_value"],
        want["snapshots"][3]["open_value"]
    );
    // A trailer folded over two lines is one summary.
    assert_eq!(
        got["criteria_changes"][0]["summary"],
        json!("first line and its continuation"),
        "{got}"
    );

    // A pipeline.yaml that does not load at a snapshot's commit: no
    // figures, and a warning naming the commit.
    write(&t, "pipeline.yaml", &format!("{weaker}garbage: [\n"));
    t.git(&["add", "-A"]);
    t.git_at("2026-11-25T10:00:00Z", &["commit", "-q", "-m", "broken"]);
    // The working copy is already fixed; the commit is not.
    write(&t, "pipeline.yaml", &weaker);
    let out = t.cmd(&["trend", "--last", "5", "--format", "json"]).code(0);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got["snapshots"][4]["open"], Value::Null);
    let short = &t.git(&["rev-parse", "--short=7", "HEAD"])[..7];
    assert!(
        out.stderr.contains(&format!(
            "the snapshot at commit {short} has no figures: pipeline.yaml:"
        )),
        "{}",
        out.stderr
    );
    // The older snapshot's unreadable version is still named.
    assert!(
        out.stderr
            .contains("deals/01-prospecting/typo.md:5: duplicate key `value`")
            && out.stderr.contains("(in the snapshot at commit"),
        "{}",
        out.stderr
    );
    // A pipeline.yaml that does not parse changed no criterion anyone can
    // read: the break is not listed, the earlier change still is.
    assert_eq!(
        got["criteria_changes"].as_array().unwrap().len(),
        1,
        "{got}"
    );

    // The repair changes a criterion too: that counts against the last
    // version that parsed.
    let changed = weaker.replacen("label: ", "label: Reworded ", 1);
    assert_ne!(changed, weaker);
    write(&t, "pipeline.yaml", &changed);
    t.git(&["add", "-A"]);
    t.git_at(
        "2026-11-26T10:00:00Z",
        &[
            "commit",
            "-q",
            "-m",
            "repair\n\nCriteria-Change: reworded while repairing",
        ],
    );
    let got = json_of(&t, &["trend", "--last", "5", "--format", "json"]);
    let changes = got["criteria_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{got}");
    assert_eq!(changes[1]["summary"], json!("reworded while repairing"));
}

#[test]
fn a_source_date_epoch_that_is_no_time_is_refused() {
    let t = Test::new();
    // Signs, spaces and years past 9999 are no such time either; empty is
    // unset.
    for bad in ["-1", " 123 ", "253402300800", "1e9"] {
        t.cmd_env(&[("SOURCE_DATE_EPOCH", bad)], &["list"]).code(2);
    }
    t.cmd_env(&[("SOURCE_DATE_EPOCH", "")], &["list"]).code(0);
    let out = t.cmd_env(&[("SOURCE_DATE_EPOCH", "yesterday")], &["list"]);
    let out = out.code(2);
    assert!(
        out.stderr
            .contains("SOURCE_DATE_EPOCH=\"yesterday\" is not a number of seconds"),
        "{}",
        out.stderr
    );
}

/// Totals that leave a currency out say so (docs/reference.md, "Money"):
/// the forecast's periods, past due and no close date, in the table, the
/// JSON and the report, and the report's board columns.
#[test]
fn totals_that_leave_a_currency_out_say_so() {
    let t = Test::new()
        .deal(
            "05-proposal/euro.md",
            "---\ntitle: Euro\nowner: bob\nvalue: 1000\nexpected_close: 2026-11-30\n---\n",
        )
        .deal(
            "05-proposal/yankee.md",
            "---\ntitle: Yankee\nowner: bob\nvalue: 99999\ncurrency: USD\nexpected_close: 2026-11-30\n---\n",
        )
        .deal(
            "05-proposal/late.md",
            "---\ntitle: Late\nowner: bob\nvalue: 500\ncurrency: GBP\nexpected_close: 2026-11-01\n---\n",
        )
        .deal(
            "05-proposal/someday.md",
            "---\ntitle: Someday\nowner: bob\nvalue: 700\ncurrency: USD\n---\n",
        )
        .deal(
            "won/dollar-win.md",
            "---\ntitle: Dollar win\nowner: bob\nvalue: 2500.5\ncurrency: USD\nstages:\n  won: 2026-11-20\n---\n",
        );
    let got = json_of(&t, &["forecast", "--format", "json"]);
    assert_subset(
        &json!({ "label": "2026-11", "won": 0, "best_case": 1000, "deals": ["euro"],
            "other_currencies": { "USD": { "won": 2500.5, "open": 99999, "deals": ["yankee"] } } }),
        &got["periods"][0],
        "forecast json, November",
    );
    assert_subset(
        &json!({
            "past_due": { "count": 1, "value": 0, "deals": ["late"],
                "other_currencies": { "GBP": { "count": 1, "value": 500, "deals": ["late"] } } },
            "no_close_date": { "count": 1, "value": 0, "deals": ["someday"],
                "other_currencies": { "USD": { "count": 1, "value": 700, "deals": ["someday"] } } }
        }),
        &got,
        "forecast json",
    );
    assert!(got["periods"][1].get("other_currencies").is_none(), "{got}");
    let table = t.cmd(&["forecast"]).code(0).stdout;
    for line in [
        "2026-11  0    0       1,000      0         500       1",
        "Not in these totals (other currencies): 2026-11: 2,500.50 USD won; 2026-11: 99,999 USD open (yankee).",
        "Past due: 1 deal, 0 EUR (1 in other currencies, not in the total)",
        "No close date: 1 deal, 0 EUR (1 in other currencies, not in the total): someday (bob)",
    ] {
        assert!(table.contains(line), "no `{line}` in:\n{table}");
    }
    t.cmd(&["report", "-o", "out"]).code(0);
    let html = std::fs::read_to_string(t.path().join("out/index.html")).unwrap();
    for text in [
        "Not in these totals (other currencies): 2026-11: 2,500.50 USD won; 2026-11: 99,999 USD open (yankee).",
        "Past due (1, 0 EUR; 1 in other currencies, not in the total)",
        "(0 EUR; 1 in other currencies, not in the total) have no expected close date.",
        "1,000 · weighted 500 · 3 in other currencies, not in the sums",
    ] {
        assert!(html.contains(text), "no `{text}` in the report");
    }
}
