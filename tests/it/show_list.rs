//! `deal show` and `deal list`.

use crate::{Test, good_deal};

const STAGES: &str = "  prospecting: 2026-11-02T09:14:00Z\n  outreach: 2026-11-02T09:17:00Z\n  qualification: 2026-11-05\n  discovery: 2026-11-10\n  proposal: 2026-11-20T12:00:00Z\n";

#[test]
fn show_prints_the_checklist() {
    let text = good_deal(STAGES, "").replace("proposal:\n  reviewed_on: 2026-11-20\n", "");
    Test::new()
        .deal("05-proposal/acme-corp.md", &text)
        .args(&["show", "acme"])
        .run()
        .code(0)
        .stdout(
            "acme-corp  Acme Corp, Kubernetes migration
  file      deals/05-proposal/acme-corp.md
  stage     proposal, for 7.0 days (since 2026-11-20) → next: negotiation
  owner     bob (Bob Jones)
  value     48,000 EUR
  company   Acme Corp
  age       25.1 days (since 2026-11-02)
  close     2026-12-20 · forecast: best case (from the stage)
  contact   Jane Doe, jane@acme.example

Exit criteria of proposal (Proposal):
  ✖ Proposal reviewed with the prospect — `proposal.reviewed_on` is missing
      fix: run `deal set acme-corp proposal.reviewed_on=today`
  ✔ Clear next step with a date

Next step: Send SOW draft, due 2026-11-30

History:
  2026-11-02 09:14  prospecting
  2026-11-02 09:17  outreach
  2026-11-05 00:00  qualification
  2026-11-10 00:00  discovery
  2026-11-20 12:00  proposal

Other fields:
  engaged: 2026-11-03
  problem: confirmed_by: Jane Doe confirmed_on: 2026-11-12
",
        );
}

#[test]
fn show_unknown_deal_is_exit_2() {
    Test::new()
        .args(&["show", "nope"])
        .run()
        .code(2)
        .stderr_has("no deal `nope`");
}

#[test]
fn list_table_and_json() {
    let t = Test::new()
        .deal("05-proposal/acme-corp.md", &good_deal(STAGES, ""))
        .deal("01-prospecting/globex.md", "---\ntitle: Globex\nowner: alice\nvalue: 12000\nstages: {prospecting: 2026-11-01}\n---\n");
    t.args(&["list"]).run().code(0).stdout(
        "SLUG       STAGE        OWNER  VALUE   DAYS          CRITERIA  NEXT DUE
globex     prospecting  alice  12,000  26.5 rotting  0/1       -
acme-corp  proposal     bob    48,000  7.0           2/2       2026-11-30
",
    );
    let out = Test::new()
        .deal("05-proposal/acme-corp.md", &good_deal(STAGES, ""))
        .args(&["list", "--format", "json", "--owner", "bob"])
        .run()
        .code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[0]["slug"], "acme-corp");
    assert_eq!(v[0]["criteria_met"], 2);
    assert_eq!(v[0]["days_in_stage"], 7.0);
    assert_eq!(v.as_array().unwrap().len(), 1);
}

/// A deal whose slug, next step and FIX command are longer than a narrow
/// terminal: past due, overdue, in proposal.
fn long_deal_test() -> Test {
    let stages = "  prospecting: 2026-11-02T09:14:00Z\n  outreach: 2026-11-02T09:17:00Z\n  qualification: 2026-11-05\n  discovery: 2026-11-10\n  proposal: 2026-11-20\n";
    let text = good_deal(stages, "")
        .replace("expected_close: 2026-12-20", "expected_close: 2026-11-01")
        .replace(
            "action: Send SOW draft\n  due: 2026-11-30",
            "action: Send the statement of work draft to the procurement team\n  due: 2026-11-25",
        );
    Test::new()
        .deal(
            "05-proposal/kettle-ci-test-analytics-platform-renewal.md",
            &text,
        )
        .repo()
}

#[test]
fn piped_tables_print_whole_cells() {
    let t = long_deal_test();
    let slug = "kettle-ci-test-analytics-platform-renewal";
    let narrow = [("COLUMNS", "40")];
    for args in [
        &["list"][..],
        &["due"],
        &["forecast"],
        &["stats"],
        &["trend", "--last", "2"],
        &["audit"],
    ] {
        let out = t.cmd_env(&narrow, args).code(0);
        assert!(
            !out.stdout.contains('…'),
            "{args:?} cut a cell:\n{}",
            out.stdout
        );
        if !["stats", "trend", "audit"].contains(&args[0]) {
            assert!(out.stdout.contains(slug), "{args:?}:\n{}", out.stdout);
        }
    }
    t.cmd_env(&narrow, &["due"])
        .stdout_has("Send the statement of work draft to the procurement team");
    t.cmd_env(&narrow, &["forecast"])
        .stdout_has(&format!("deal set {slug} expected_close=YYYY-MM-DD"));
    let listed = t.cmd_env(&narrow, &["list"]).stdout;
    assert!(
        listed.lines().any(|l| l.starts_with(slug)),
        "grep finds the whole slug:\n{listed}"
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`), tables fit
/// its width; `--wide` prints whole cells there too.
#[test]
fn terminal_tables_fit_the_width_unless_wide() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED terminal_tables_fit_the_width_unless_wide: no `script`");
        return;
    }
    let t = long_deal_test();
    let on_tty = |args: &str| {
        let out = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("{} {args}", env!("CARGO_BIN_EXE_deal")),
                "/dev/null",
            ])
            .current_dir(t.path())
            .envs(t.env_vars())
            .env("COLUMNS", "60")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let fit = on_tty("list");
    assert!(fit.contains('…'), "{fit}");
    assert!(fit.lines().all(|l| l.chars().count() <= 60), "{fit}");
    let wide = on_tty("list --wide");
    assert!(!wide.contains('…'), "{wide}");
    assert!(
        wide.contains("kettle-ci-test-analytics-platform-renewal"),
        "{wide}"
    );
}

/// A terminal 60 columns wide: every table row fits it, counting a wide
/// (CJK) character as two columns; an amount is never cut; hidden
/// characters from a deal are shown escaped.
#[test]
fn terminal_tables_fit_wide_characters_and_keep_numbers_whole() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED terminal_tables_fit_wide_characters_and_keep_numbers_whole: no `script`"
        );
        return;
    }
    let stages = "  prospecting: 2026-11-02T09:14:00Z\n  outreach: 2026-11-02T09:17:00Z\n  qualification: 2026-11-05\n  discovery: 2026-11-10\n  proposal: 2026-11-20\n";
    let text = good_deal(stages, "")
        .replace("value: 48000", "value: 1234567")
        .replace(
            "action: Send SOW draft\n  due: 2026-11-30",
            "action: \"東京本社で見積もりを再送し、調達チームと打ち合わせ \u{202e}evil\"\n  due: 2026-11-25",
        );
    assert!(text.contains("value: 1234567"), "{text}");
    let t = Test::new()
        .deal("05-proposal/kettle-ci-test-analytics.md", &text)
        .repo();
    let on_tty = |args: &str| {
        let out = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("{} {args}", env!("CARGO_BIN_EXE_deal")),
                "/dev/null",
            ])
            .current_dir(t.path())
            .envs(t.env_vars())
            .env("COLUMNS", "60")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let cols = |l: &str| unicode_width::UnicodeWidthStr::width(l);
    for args in ["list", "due", "stats", "forecast"] {
        let out = on_tty(args);
        // Table rows (prose lines wrap as the terminal wraps them).
        for l in out.lines().filter(|l| l.contains("  ")) {
            assert!(cols(l) <= 60, "{args}: {} columns:\n{l}\n{out}", cols(l));
        }
        assert!(!out.contains("1,234,5…"), "{args}:\n{out}");
    }
    assert!(on_tty("list").contains("1,234,567"));
    let due = on_tty("due --wide");
    assert!(due.contains("\\u{202e}evil"), "{due}");
    let show = on_tty("show kettle-ci-test-analytics");
    assert!(
        show.contains("\\u{202e}evil") && !show.contains('\u{202e}'),
        "{show}"
    );
}
