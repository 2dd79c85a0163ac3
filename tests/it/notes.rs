//! `deal note`: scaffolds, lossless appends, the `section` criterion on
//! scaffolded notes, and template overrides.

use crate::Test;

const BASE: &str = "---\ntitle: Acme Corp   # from the web form\nowner: bob\nproblem:\n  confirmed_by: 'Jane Doe'\ncontact: {email: jane@acme.example}\nstages:\n  prospecting: 2026-11-02\n---\n# Acme\n\nIntro call went well.\n";

fn noted(kind: &str, framework: Option<&str>) -> (Test, String) {
    let mut t = Test::new().deal("03-qualification/acme.md", BASE);
    if let Some(f) = framework {
        t = t.config_replace("qualification: bant", &format!("qualification: {f}"));
    }
    let out = t.cmd(&["note", "acme", kind]).code(0);
    assert!(out.stdout.starts_with("Added \""), "{}", out.stdout);
    let text = std::fs::read_to_string(t.path().join("deals/03-qualification/acme.md")).unwrap();
    (t, text)
}

/// BASE with `keys` lines added at the end of the front-matter, then `section`.
fn expected(keys: &str, section: &str) -> String {
    let (fm, body) = BASE.split_once("---\n# Acme").unwrap();
    let fm = fm.replace(
        "  confirmed_by: 'Jane Doe'\n",
        &format!(
            "  confirmed_by: 'Jane Doe'\n{}",
            keys.split_once("|").map(|x| x.0).unwrap_or("")
        ),
    );
    let tail = keys.split_once("|").map(|x| x.1).unwrap_or(keys);
    format!("{fm}{tail}---\n# Acme{body}\n{section}")
}

#[test]
fn qualification_bant_snapshot() {
    let (_, text) = noted("qualification", None);
    assert_eq!(
        text,
        expected(
            "",
            "## Qualification (BANT)
<!-- Logged right after the discovery call: one or two sentences per heading, in the prospect's words where you can. -->

### Budget
<!-- Budget: is money set aside, how much, in which budget, and who holds it? -->

### Authority
<!-- Authority: who signs, who can veto? -->

### Need
<!-- Need: which problem, and what does it cost them today? -->

### Timeline
<!-- Timeline: by when must it be solved, and what drives that date? -->
"
        )
    );
}

#[test]
fn qualification_meddic_and_meddpicc_snapshots() {
    let (_, text) = noted("qualification", Some("meddic"));
    assert_eq!(
        text,
        expected(
            "",
            include_str!("../../templates/notes/qualification-meddic.md")
        )
    );
    let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("### ")).collect();
    assert_eq!(
        headings,
        [
            "### Metrics",
            "### Economic buyer",
            "### Decision criteria",
            "### Decision process",
            "### Identify pain",
            "### Champion"
        ]
    );
    let (_, text) = noted("qualification", Some("meddpicc"));
    assert_eq!(
        text,
        expected(
            "",
            include_str!("../../templates/notes/qualification-meddpicc.md")
        )
    );
    assert!(text.contains("### Paper process\n") && text.contains("### Competition\n"));
}

#[test]
fn problem_snapshot_adds_the_missing_confirmation_key() {
    let (_, text) = noted("problem", None);
    assert_eq!(
        text,
        expected(
            "  confirmed_on:\n|",
            include_str!("../../templates/notes/problem.md")
        )
    );
}

#[test]
fn proposal_objections_handoff_snapshots() {
    let (_, text) = noted("proposal", None);
    assert_eq!(
        text,
        expected(
            "|proposal:\n  reviewed_on:\nnext_step:\n  action:\n  due:\n",
            include_str!("../../templates/notes/proposal.md")
        )
    );
    let (_, text) = noted("objections", None);
    assert_eq!(
        text,
        expected(
            "|objections: []\n",
            include_str!("../../templates/notes/objections.md")
        )
    );
    let (_, text) = noted("handoff", None);
    assert_eq!(
        text,
        expected(
            "|delivery_owner:\nkickoff_on:\n",
            include_str!("../../templates/notes/handoff.md")
        )
    );
}

#[test]
fn call_snapshot_repeats_and_sets_last_activity() {
    let (t, text) = noted("call", None);
    let section =
        include_str!("../../templates/notes/call.md").replace("{{ today }}", "2026-11-27");
    assert_eq!(
        text,
        expected("|last_activity: 2026-11-27T12:00:00Z\n", &section)
    );
    t.cmd(&["note", "acme", "call"]).code(0);
    let again = std::fs::read_to_string(t.path().join("deals/03-qualification/acme.md")).unwrap();
    assert_eq!(again.matches("## Call 2026-11-27").count(), 2);
    assert_eq!(again.matches("last_activity:").count(), 1);
}

#[test]
fn rerunning_is_a_no_op_with_a_message() {
    let (t, text) = noted("qualification", None);
    t.cmd(&["note", "acme", "qualification"])
        .code(0)
        .stdout("deals/03-qualification/acme.md:14 already has a \"Qualification (BANT)\" section; nothing changed\n");
    assert_eq!(
        std::fs::read_to_string(t.path().join("deals/03-qualification/acme.md")).unwrap(),
        text
    );
}

#[test]
fn print_writes_nothing() {
    let t = Test::new().deal("03-qualification/acme.md", BASE);
    t.cmd(&["note", "acme", "handoff", "--print"])
        .code(0)
        .stdout(include_str!("../../templates/notes/handoff.md"))
        .stderr("front-matter keys added when missing: delivery_owner, kickoff_on\n");
    assert_eq!(
        std::fs::read_to_string(t.path().join("deals/03-qualification/acme.md")).unwrap(),
        BASE
    );
}

fn fill(text: &str, heading: &str, sentence: &str) -> String {
    let h = format!("### {heading}\n");
    let i = text.find(&h).unwrap_or_else(|| panic!("no {heading}")) + h.len();
    let end = text[i..].find('\n').map(|e| i + e + 1).unwrap();
    format!("{}{sentence}\n{}", &text[..end], &text[end..])
}

#[test]
fn the_qualification_criterion_on_three_states() {
    let t = Test::new().deal(
        "04-discovery/acme.md",
        &BASE
            .replace(
                "  prospecting: 2026-11-02\n",
                "  prospecting: 2026-11-02\n  discovery: 2026-11-20\n",
            )
            .replace(
                "problem:\n  confirmed_by: 'Jane Doe'\n",
                "engaged: 2026-11-03\n",
            ),
    );
    let path = t.path().join("deals/04-discovery/acme.md");
    t.cmd(&["note", "acme", "qualification"]).code(0);
    // 1. A fresh scaffold fails: prompts are not content.
    let check = || t.cmd(&["check", "-q"]);
    check().code(1).stdout(
        "error[exit-criteria]: deals/04-discovery/acme.md: in discovery, but the exit criteria of qualification are not met
   = missing: Written qualification summary (no content under \"Budget\", \"Authority\", \"Need\", \"Timeline\")
   = help: in the \"Qualification\" section of deals/04-discovery/acme.md, write under \"Budget\", \"Authority\", \"Need\", \"Timeline\"
",
    );
    // 2. Partly filled: names the empty headings.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = fill(&text, "Budget", "80k EUR approved for FY27.");
    text = fill(&text, "Need", "Audits fail on the current clusters.");
    std::fs::write(&path, &text).unwrap();
    check()
        .code(1)
        .stdout_has("(no content under \"Authority\", \"Timeline\")");
    // 3. Fully filled: passes.
    text = fill(&text, "Authority", "The CTO signs; procurement can veto.");
    text = fill(&text, "Timeline", "TBD");
    std::fs::write(&path, &text).unwrap();
    check()
        .code(1)
        .stdout_has("(no content under \"Timeline\")");
    let full = text.replace("### Timeline\n", "### Timeline\nBefore the March audit.\n");
    std::fs::write(&path, &full).unwrap();
    check().code(0).stdout("");
    // A deleted heading fails even when the rest is filled.
    let i = full.find("### Authority\n").unwrap();
    let j = full.find("### Need\n").unwrap();
    std::fs::write(&path, format!("{}{}", &full[..i], &full[j..])).unwrap();
    check().code(1).stdout_has("(no heading \"Authority\")");
}

#[test]
fn template_overrides_are_used() {
    let t = Test::new().deal("03-qualification/acme.md", BASE).file(
        "templates/notes/handoff.md",
        "## Handoff\n### Scope as signed for {{ company or slug }}\n### Kickoff\n",
    );
    t.cmd(&["note", "acme", "handoff", "--print"])
        .code(0)
        .stdout("## Handoff\n### Scope as signed for acme\n### Kickoff\n");
}

#[test]
fn a_broken_override_names_its_file_and_line() {
    let t = Test::new().deal("03-qualification/acme.md", BASE).file(
        "templates/notes/problem.md",
        "## Problem statement\n### In their words\n{{ slug | nope }}\n",
    );
    let out = t.cmd(&["note", "acme", "problem"]).code(2);
    assert!(
        out.stderr
            .contains("templates/notes/problem.md:3: template error: unknown filter"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("3 | {{ slug | nope }}"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("deals/03-qualification/acme.md")).unwrap(),
        BASE
    );
}

#[test]
fn git_diff_after_a_note_shows_only_added_lines() {
    let t = Test::new().deal("03-qualification/acme.md", BASE);
    t.git(&["init", "-q"]);
    t.git(&["add", "-A"]);
    t.git(&[
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-qm",
        "init",
    ]);
    for kind in [
        "qualification",
        "problem",
        "proposal",
        "objections",
        "handoff",
    ] {
        t.cmd(&["note", "acme", kind]).code(0);
    }
    let numstat = t.git(&["diff", "--numstat"]);
    let cols: Vec<&str> = numstat.split_whitespace().collect();
    assert_eq!(cols[1], "0", "no deleted lines: {numstat}");
    assert!(cols[0].parse::<u32>().unwrap() > 50, "{numstat}");
    let diff = t.git(&["diff", "-U0"]);
    assert!(
        !diff
            .lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "{diff}"
    );
}
