//! Golden tests: one fixture per rule id of docs/reference.md, "Check rules", with the exact
//! human output; plus JSON, GitHub, waivers, enforce_from and scopes.

use crate::{Test, good_deal};

const PROPOSAL_STAGES: &str = "  prospecting: 2026-11-02T09:14:00Z\n  outreach: 2026-11-02T09:17:00Z\n  qualification: 2026-11-05\n  discovery: 2026-11-10\n  proposal: 2026-11-20\n";

#[test]
fn a_good_deal_passes() {
    Test::new()
        .deal("05-proposal/acme-corp.md", &good_deal(PROPOSAL_STAGES, ""))
        .args(&["check"])
        .run()
        .code(0)
        .stdout("ok: 1 deal checked, no problems\n");
}

#[test]
fn rule_parse() {
    Test::new()
        .deal("01-prospecting/broken.md", "---\ntitle: Broken\nowner: alice\ncontact: {name: a: b}\n---\n")
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[parse]: deals/01-prospecting/broken.md:4:18: invalid YAML: did not find expected ',' or '}'
  |
4 | contact: {name: a: b}
  |                  ^
   = help: fix the YAML; quote values that hold `: ` or start with a special character
1 deal checked: 1 error, 0 warnings
",
        );
}

#[test]
fn rule_schema() {
    Test::new()
        .deal(
            "06-negotiation/acme.md",
            &good_deal(
                PROPOSAL_STAGES,
                "objections:\n  - objection: Price\n    resolved: no\nverbal_agreement_on: 2026-13-01\n",
            )
            .replace("value: 48000", "value: lots"),
        )
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[schema]: deals/06-negotiation/acme.md:5:1: `value` must be a number, not `lots`
  |
5 | value: lots
  | ^
   = help: write the amount without quotes, units or separators, e.g. `value: 48000`
error[schema]: deals/06-negotiation/acme.md:27:5: `resolved` must be true or false, not `no`
   |
27 |     resolved: no
   |     ^
   = help: write `resolved: false` (yes/no are not booleans here)
error[schema]: deals/06-negotiation/acme.md:28:1: `verbal_agreement_on` is not a valid date: `2026-13-01`
   |
28 | verbal_agreement_on: 2026-13-01
   | ^
   = help: write a date such as `verbal_agreement_on: 2026-11-30` or an RFC 3339 timestamp
1 deal checked: 3 errors, 0 warnings
",
        );
}

#[test]
fn rule_schema_missing_title_and_owner() {
    Test::new()
        .deal("01-prospecting/x.md", "---\ncompany: X\n---\n")
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[schema]: deals/01-prospecting/x.md: missing `title`
   = help: add `title: <what the deal is>` to the front-matter
error[schema]: deals/01-prospecting/x.md: missing `owner`
   = help: add `owner: <team handle>` to the front-matter
1 deal checked: 2 errors, 0 warnings
",
        );
}

#[test]
fn rule_unknown_stage_folder() {
    Test::new()
        .deal("05-proposals/acme.md", "---\ntitle: A\nowner: bob\n---\n")
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[unknown-stage-folder]: deals/05-proposals/acme.md: `deals/05-proposals` is not a stage or outcome folder
   = help: move the file into one of deals/{01-prospecting,02-outreach,03-qualification,04-discovery,05-proposal,06-negotiation,07-close,won,lost}, or add the stage to pipeline.yaml
1 deal checked: 1 error, 0 warnings
",
        );
}

#[test]
fn rule_symlink() {
    let t = Test::new().file("outside.md", "---\ntitle: A\nowner: bob\n---\n");
    std::fs::create_dir_all(t.path().join("deals/01-prospecting")).unwrap();
    std::os::unix::fs::symlink(
        t.path().join("outside.md"),
        t.path().join("deals/01-prospecting/link.md"),
    )
    .unwrap();
    t.args(&["check"]).run().code(1).stdout(
        "error[symlink]: deals/01-prospecting/link.md: the deal file is a symbolic link; it is not followed
   = help: replace the link with the file itself
1 deal checked: 1 error, 0 warnings
",
    );
}

#[test]
fn rule_duplicate_slug() {
    let d = "---\ntitle: A\nowner: bob\ncontact: {email: a@b.example}\nstages: {prospecting: 2026-11-26}\n---\n";
    Test::new()
        .deal("01-prospecting/acme.md", d)
        .deal("02-outreach/acme.md", d)
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[duplicate-slug]: deals/01-prospecting/acme.md: the slug `acme` is also used by deals/02-outreach/acme.md
   = help: if it is one deal in two places (two branches moved it), keep the right copy with `deal resolve acme --keep <prospecting|outreach>`; if they are two deals, rename one file with `git mv`
error[duplicate-slug]: deals/02-outreach/acme.md: the slug `acme` is also used by deals/01-prospecting/acme.md
   = help: if it is one deal in two places (two branches moved it), keep the right copy with `deal resolve acme --keep <prospecting|outreach>`; if they are two deals, rename one file with `git mv`
2 deals checked: 2 errors, 0 warnings
",
        );
}

#[test]
fn rule_exit_criteria() {
    let text = good_deal(PROPOSAL_STAGES, "")
        .replace("The CTO signs; procurement can veto.", "<!-- who signs -->");
    Test::new()
        .deal("05-proposal/acme-corp.md", &text)
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[exit-criteria]: deals/05-proposal/acme-corp.md: in proposal, but the exit criteria of qualification are not met
   = missing: Written qualification summary (no content under \"Authority\")
   = help: in the \"Qualification\" section of deals/05-proposal/acme-corp.md, write under \"Authority\"
1 deal checked: 1 error, 0 warnings
",
        );
}

#[test]
fn rule_missing_lost_reason() {
    Test::new()
        .deal("lost/a.md", "---\ntitle: A\nowner: bob\nstages: {lost: 2026-11-20}\n---\n")
        .deal("lost/b.md", "---\ntitle: B\nowner: bob\nstages: {lost: 2026-11-20}\nlost:\n  reason: they hated us\n---\n")
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[missing-lost-reason]: deals/lost/a.md: lost, with no `lost.reason`
   = help: add the reason: `deal set a lost.reason=\"no budget\"`
error[missing-lost-reason]: deals/lost/b.md:6:3: lost reason `they hated us` is not one of `lost_reasons`
  |
6 |   reason: they hated us
  |   ^
   = help: use one of: no budget, no decision, competitor, bad timing, failed qualification, went dark
2 deals checked: 2 errors, 0 warnings
",
        );
}

#[test]
fn rule_unknown_owner() {
    Test::new()
        .deal(
            "01-prospecting/a.md",
            "---\ntitle: A\nowner: zed\nstages: {prospecting: 2026-11-26}\n---\n",
        )
        .args(&["check"])
        .run()
        .code(1)
        .stdout(
            "error[unknown-owner]: deals/01-prospecting/a.md:3:1: owner `zed` is not in the team
  |
3 | owner: zed
  | ^
   = help: use one of alice, bob, dana, or add `zed` to `team` in pipeline.yaml
1 deal checked: 1 error, 0 warnings
",
        );
}

#[test]
fn rule_rotting() {
    Test::new()
        .deal(
            "02-outreach/a.md",
            "---\ntitle: A\nowner: alice\ncontact: {email: a@b.example}\nstages:\n  prospecting: 2026-11-01\n  outreach: 2026-11-10\nlast_activity: 2026-11-15T12:00:00Z\n---\n",
        )
        .args(&["check"])
        .run()
        .code(0)
        .stdout(
            "warning[rotting]: deals/02-outreach/a.md: idle for 12.0 days in outreach (rots after 7)
   = help: log the last touch with `deal note a call`, or move the deal on
1 deal checked: 0 errors, 1 warning
",
        );
}

#[test]
fn rule_next_step_missing() {
    let text = good_deal(PROPOSAL_STAGES, "").replace(
        "next_step:\n  action: Send SOW draft\n  due: 2026-11-30\n",
        "",
    );
    Test::new()
        .deal("05-proposal/acme.md", &text)
        .args(&["check", "--deny-warnings"])
        .run()
        .code(1)
        .stdout(
            "warning[next-step-missing]: deals/05-proposal/acme.md: in proposal with no next step
   = help: `deal set acme next_step.action=\"…\" next_step.due=YYYY-MM-DD`
1 deal checked: 0 errors, 1 warning
",
        );
}

#[test]
fn rule_next_step_overdue() {
    let text = good_deal(PROPOSAL_STAGES, "").replace("due: 2026-11-30", "due: 2026-11-20");
    Test::new()
        .deal("05-proposal/acme.md", &text)
        .args(&["check"])
        .run()
        .code(0)
        .stdout(
            "warning[next-step-overdue]: deals/05-proposal/acme.md:17:3: next step \"Send SOW draft\" was due 2026-11-20 (7 days ago)
   |
17 |   due: 2026-11-20
   |   ^
   = help: do it, or set a new date: `deal set acme next_step.due=YYYY-MM-DD`
1 deal checked: 0 errors, 1 warning
",
        );
}

/// Only a lead still waiting is a finding: `slow`, contacted 47 minutes
/// late, is history (stats and the report count it), so `--deny-warnings`
/// can pass once every lead has been answered.
#[test]
fn rule_speed_to_lead() {
    Test::new()
        .deal(
            "02-outreach/slow.md",
            "---\ntitle: Slow\nowner: alice\nsource: inbound-form\ncontact: {email: a@b.example}\ncreated: 2026-11-26T09:00:00Z\nfirst_contact: 2026-11-26T09:47:00Z\nstages: {prospecting: 2026-11-26T09:00:00Z, outreach: 2026-11-26T09:47:00Z}\n---\n",
        )
        .deal(
            "02-outreach/fast.md",
            "---\ntitle: Fast\nowner: alice\nsource: inbound-form\ncontact: {email: a@b.example}\ncreated: 2026-11-26T09:00:00Z\nfirst_contact: 2026-11-26T09:03:00Z\nstages: {prospecting: 2026-11-26T09:00:00Z, outreach: 2026-11-26T09:03:00Z}\n---\n",
        )
        .deal(
            "01-prospecting/waiting.md",
            "---\ntitle: Waiting\nowner: alice\nsource: chat\ncreated: 2026-11-27T09:00:00Z\nstages: {prospecting: 2026-11-27T09:00:00Z}\n---\n",
        )
        .args(&["check"])
        .run()
        .code(0)
        .stdout(
            "warning[speed-to-lead]: deals/01-prospecting/waiting.md: inbound lead not contacted yet, 3.0 hours after it came in (target: 5 min)
   = help: contact them now, then `deal move waiting outreach` records first_contact
3 deals checked: 0 errors, 1 warning
",
        );
    // Once the waiting lead is answered, --deny-warnings passes.
    let answered = "---\ntitle: Waiting\nowner: alice\nsource: chat\ncreated: 2026-11-27T09:00:00Z\nfirst_contact: 2026-11-27T11:00:00Z\nstages: {prospecting: 2026-11-27T09:00:00Z}\n---\n";
    Test::new()
        .deal("01-prospecting/waiting.md", answered)
        .args(&["check", "--deny-warnings"])
        .run()
        .code(0);
}

#[test]
fn rule_currency_mismatch() {
    Test::new()
        .deal("01-prospecting/a.md", "---\ntitle: A\nowner: alice\nvalue: 1000\ncurrency: USD\nstages: {prospecting: 2026-11-26}\n---\n")
        .args(&["check"])
        .run()
        .code(0)
        .stdout(
            "warning[currency-mismatch]: deals/01-prospecting/a.md:5:1: value in USD, but the pipeline counts in EUR; it is left out of the sums
  |
5 | currency: USD
  | ^
   = help: convert the value to EUR and remove `currency`, or keep it out of the sums
1 deal checked: 0 errors, 1 warning
",
        );
}

#[test]
fn waivers_exempt_a_stage() {
    let text = good_deal(
        PROPOSAL_STAGES,
        "waived:\n  qualification: CEO intro, qualified on the golf course\n",
    )
    .replace("### Authority\nThe CTO signs; procurement can veto.\n", "");
    Test::new()
        .deal("05-proposal/acme.md", &text)
        .args(&["check"])
        .run()
        .code(0)
        .stdout("ok: 1 deal checked, no problems\n");
}

#[test]
fn enforce_from_exempts_older_exits_only() {
    let text = good_deal(PROPOSAL_STAGES, "")
        .replace("### Authority\nThe CTO signs; procurement can veto.\n", "");
    // Qualification was left on 2026-11-10 (entry into discovery).
    Test::new()
        .config_replace("# enforce_from: 2026-11-01", "enforce_from: 2026-11-11")
        .deal("05-proposal/acme.md", &text)
        .args(&["check"])
        .run()
        .code(0);
    Test::new()
        .config_replace("# enforce_from: 2026-11-01", "enforce_from: 2026-11-09")
        .deal("05-proposal/acme.md", &text)
        .args(&["check"])
        .run()
        .code(1)
        .stdout_has("the exit criteria of qualification are not met");
}

#[test]
fn json_output() {
    Test::new()
        .deal(
            "lost/a.md",
            "---\ntitle: A\nowner: bob\nstages: {lost: 2026-11-20}\n---\n",
        )
        .args(&["check", "--format", "json"])
        .run()
        .code(1)
        .stdout(
            r#"{
  "errors": 1,
  "warnings": 0,
  "findings": [
    {
      "rule": "missing-lost-reason",
      "severity": "error",
      "path": "deals/lost/a.md",
      "line": 1,
      "message": "lost, with no `lost.reason`",
      "help": "add the reason: `deal set a lost.reason=\"no budget\"`"
    }
  ]
}
"#,
        );
}

#[test]
fn github_output_uses_repository_paths() {
    let t = Test::empty();
    let sub = t.path().join("sales");
    std::fs::create_dir_all(&sub).unwrap();
    let t = t
        .file("sales/pipeline.yaml", &crate::default_config())
        .file(
            "sales/deals/01-prospecting/a.md",
            "---\ntitle: A\nowner: zed\nstages: {prospecting: 2026-11-26}\n---\n",
        );
    t.git(&["init", "-q"]);
    t.args(&["-C", "sales", "check", "--format", "github"]).run().code(1).stdout(
        "::error file=sales/deals/01-prospecting/a.md,line=3,col=1,title=unknown-owner::owner `zed` is not in the team%0Ahelp: use one of alice, bob, dana, or add `zed` to `team` in pipeline.yaml\n",
    );
}

#[test]
fn paths_limit_the_scope() {
    let bad = "---\ntitle: A\nowner: zed\n---\n";
    Test::new()
        .deal("01-prospecting/a.md", bad)
        .deal("02-outreach/b.md", bad)
        .args(&["check", "deals/02-outreach"])
        .run()
        .code(1)
        .stdout_has("deals/02-outreach/b.md")
        .stdout_has("1 deal checked: ");
}

#[test]
fn slugs_and_unique_prefixes_limit_the_scope_like_paths() {
    let bad = "---\ntitle: A\nowner: zed\n---\n";
    let t = Test::new()
        .deal("01-prospecting/pebble.md", bad)
        .deal("02-outreach/pearl.md", bad)
        .deal("02-outreach/quasar.md", bad);
    t.cmd(&["check", "pebble"])
        .code(1)
        .stdout_has("deals/01-prospecting/pebble.md")
        .stdout_has("1 deal checked: ");
    let out = t.cmd(&["check", "peb", "quasar"]).code(1);
    assert!(!out.stdout.contains("pearl"), "{}", out.stdout);
    assert!(out.stdout.contains("2 deals checked: "), "{}", out.stdout);
    // From a subfolder too, as a path would be read.
    t.cmd_env(&[], &["-C", "deals", "check", "quasar"])
        .code(1)
        .stdout_has("1 deal checked: ");
    t.cmd(&["check", "pe"])
        .code(2)
        .stderr_has("`pe` is the start of 2 slugs: `pearl`, `pebble`");
    t.cmd(&["check", "nothing"])
        .code(2)
        .stderr_has("nothing: no such deal, file or folder");
}

#[test]
fn human_paths_are_relative_to_the_current_folder() {
    Test::new()
        .deal("01-prospecting/a.md", "---\ntitle: A\nowner: zed\n---\n")
        .cwd("deals")
        .args(&["check", "-q"])
        .run()
        .code(1)
        .stdout_has("error[unknown-owner]: 01-prospecting/a.md:3:1:");
}

#[test]
fn rule_close_date_passed_and_missing() {
    // Now is 2026-11-27. acme's close date passed a week ago; beta, in
    // negotiation, has none; gamma closes today (not past due); delta, in
    // qualification (before proposal), needs none; won deals are closed.
    let past = good_deal(PROPOSAL_STAGES, "")
        .replace("expected_close: 2026-12-20", "expected_close: 2026-11-20");
    let none = good_deal(PROPOSAL_STAGES, "").replace("expected_close: 2026-12-20\n", "");
    let today = good_deal(PROPOSAL_STAGES, "")
        .replace("expected_close: 2026-12-20", "expected_close: 2026-11-27");
    let t = Test::new()
        .deal("05-proposal/acme.md", &past)
        .deal(
            "06-negotiation/beta.md",
            &none.replace(
                "---\n# Acme",
                "objections: []\nverbal_agreement_on: 2026-11-25\n---\n# Acme",
            ),
        )
        .deal("05-proposal/gamma.md", &today)
        .deal(
            "03-qualification/delta.md",
            "---\ntitle: D\nowner: bob\ncontact: {email: d@d.example}\nengaged: 2026-11-20\nstages: {qualification: 2026-11-26}\n---\n",
        )
        .deal(
            "lost/epsilon.md",
            "---\ntitle: E\nowner: bob\nexpected_close: 2026-10-01\nlost: {reason: no budget, stage: proposal}\n---\n",
        );
    let out = t.cmd(&["check", "--format", "json"]).code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let got: Vec<(String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "close-date-passed".into(),
                "deals/05-proposal/acme.md".into(),
                18
            ),
            (
                "close-date-missing".into(),
                "deals/06-negotiation/beta.md".into(),
                1
            ),
        ],
        "{}",
        out.stdout
    );
    t.cmd(&["check"])
        .code(0)
        .stdout_has("warning[close-date-passed]: deals/05-proposal/acme.md:18:1: expected to close on 2026-11-20 (7 days ago); the forecast counts it as past due")
        .stdout_has("help: set the date it will close: `deal set acme expected_close=YYYY-MM-DD`, or move it to won or lost")
        .stdout_has("warning[close-date-missing]: deals/06-negotiation/beta.md: in negotiation with no expected_close");
    // `deal due` lists the past-due close date with the other follow-ups.
    let due = t.cmd(&["due", "--format", "json"]).code(0);
    let items: serde_json::Value = serde_json::from_str(&due.stdout).unwrap();
    let passed: Vec<&serde_json::Value> = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "close-date-passed")
        .collect();
    assert_eq!(passed.len(), 1, "{}", due.stdout);
    assert_eq!(passed[0]["slug"], "acme");
    assert_eq!(passed[0]["date"], "2026-11-20");
    // --deny-warnings makes them fail the run.
    t.cmd(&["check", "--deny-warnings"]).code(1);
}

/// A criterion on a file (the close stage's `contract`, `format:
/// file-or-url`): the fix is to add the file, not a `deal set` that points
/// at nothing.
#[test]
fn a_missing_contract_file_says_to_add_the_file() {
    let stages = format!("{PROPOSAL_STAGES}  negotiation: 2026-11-22\n  close: 2026-11-24\n");
    let t = Test::new()
        .deal(
            "07-close/acme-corp.md",
            &good_deal(&stages, "contract: contracts/acme-corp.pdf\n"),
        )
        .deal("07-close/globex.md", &good_deal(&stages, ""));
    let out = t.cmd(&["show", "acme-corp"]).code(0);
    assert!(
        !out.stdout.contains("deal set acme-corp contract"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("add the file `contracts/acme-corp.pdf` to the pipeline and commit it"),
        "{}",
        out.stdout
    );
    let out = t.cmd(&["show", "globex"]).code(0);
    assert!(
        out.stdout
            .contains("add the file to the pipeline (e.g. `contracts/globex.pdf`) and commit it"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_folder_beside_the_deals_never_hides_a_slug_nor_passes_with_nothing_checked() {
    let bad = "---\ntitle: A\nowner: zed\n---\n";
    let t = Test::new()
        .deal("01-prospecting/orbital.md", bad)
        .file("orbital/notes.txt", "x")
        .file("empty/.keep", "");
    std::fs::create_dir_all(t.path().join("deals/03-qualification")).unwrap();
    t.cmd(&["check", "orbital"])
        .code(1)
        .stdout_has("deals/01-prospecting/orbital.md")
        .stdout_has("1 deal checked: ");
    t.cmd(&["check", "empty"])
        .code(2)
        .stderr_has("empty: no deal file there");
    t.cmd(&["check", "orbital/notes.txt"]).code(2);
    // An empty stage folder is 0 deals; pipeline.yaml is no error of
    // usage (with no commit yet, every finding is one it causes).
    t.cmd(&["check", "deals/03-qualification"])
        .code(0)
        .stdout_has("0 deals");
    t.cmd(&["check", "pipeline.yaml"])
        .code(1)
        .stdout_has("owner `zed` is not in the team");
}
