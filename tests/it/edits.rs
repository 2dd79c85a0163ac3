//! Everyday edits: `deal set` on flow-style front-matter and list items, and
//! `deal objection add|resolve|list`; each one commit whose diff holds only
//! the edited lines.

use crate::Test;

/// The last commit's changed lines, `-old` and `+new`, without hunk headers.
fn changed_lines(t: &Test) -> Vec<String> {
    t.git(&["show", "--format=", "-U0", "HEAD"])
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .map(str::to_string)
        .collect()
}

fn commits(t: &Test) -> usize {
    t.git(&["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .unwrap()
}

/// The README's deal, in flow style (`next_step: { action: …, due: … }`).
const FLOW_DEAL: &str = "\
---
title: Acme Corp, Kubernetes migration     # required
owner: bob                                 # required: a handle from `team`
value: 48000
contact: { name: Jane Doe, email: jane@acme.example, phone: \"+1 555 0100\" }
engaged: 2026-11-03
next_step: { action: Send SOW draft, due: 2026-11-30 }
objections:
  - { objection: Price, response: Phased plan, resolved: false }   # real booleans
tags: [k8s, eu-only]
stages:
  prospecting: 2026-11-02T09:14:00Z
---
# Acme Corp
";

#[test]
fn set_edits_flow_mappings_and_flow_list_items_in_place() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let before = commits(&t);
    t.cmd(&[
        "set",
        "acme",
        "next_step.due=2026-12-01",
        "next_step.action=Send the SOW, then call",
    ])
    .code(0)
    .stdout_has("Set next_step.due, next_step.action on acme");
    assert_eq!(
        changed_lines(&t),
        [
            "-next_step: { action: Send SOW draft, due: 2026-11-30 }",
            "+next_step: { action: \"Send the SOW, then call\", due: 2026-12-01 }",
        ]
    );
    t.cmd(&["set", "acme", "objections.0.resolved=true"])
        .code(0);
    assert_eq!(
        changed_lines(&t),
        [
            "-  - { objection: Price, response: Phased plan, resolved: false }   # real booleans",
            "+  - { objection: Price, response: Phased plan, resolved: true }   # real booleans",
        ]
    );
    t.cmd(&["set", "acme", "tags.+=fintech", "contact.role=CTO"])
        .code(0);
    assert_eq!(
        changed_lines(&t),
        [
            "-contact: { name: Jane Doe, email: jane@acme.example, phone: \"+1 555 0100\" }",
            "+contact: { name: Jane Doe, email: jane@acme.example, phone: \"+1 555 0100\", role: CTO }",
            "-tags: [k8s, eu-only]",
            "+tags: [k8s, eu-only, fintech]",
        ]
    );
    assert_eq!(commits(&t), before + 3, "one commit per set");
    // A new objection in a block list of flow items is a flow item too.
    t.cmd(&[
        "set",
        "acme",
        "objections.+.objection=Timing",
        "objections.-1.resolved=false",
    ])
    .code(0);
    assert_eq!(
        changed_lines(&t),
        ["+  - { objection: Timing, resolved: false }"]
    );
    t.cmd(&["check", "deals/02-outreach/acme.md"]).code(0);
    // Refusals change nothing.
    let state = t.state();
    t.cmd(&["set", "acme", "objections.5.resolved=true"])
        .code(2)
        .stderr_has("there is no item 5 (the list has 2)");
    t.cmd(&["set", "acme", "next_step.due.x=1"])
        .code(2)
        .stderr_has("holds a single value");
    t.cmd(&["set", "acme", "objections.+=loose"])
        .code(2)
        .stderr_has("each objection must be a mapping");
    assert_eq!(t.state(), state);
}

#[test]
fn set_help_documents_the_path_syntax() {
    let out = Test::new().cmd(&["set", "--help"]).code(0);
    for part in [
        "objections.+.objection",
        "-1 is the last item",
        "flow style",
    ] {
        assert!(out.stdout.contains(part), "set --help lacks {part:?}");
    }
}

#[test]
fn objections_are_added_listed_and_resolved_one_commit_each() {
    let t = Test::new()
        .deal(
            "06-negotiation/acme.md",
            "---\ntitle: Acme\nowner: bob\nverbal_agreement_on: 2026-11-20\n---\n# Acme\n",
        )
        .repo();
    // `deal note … objections` seeds `objections: []`; commit it as a user would.
    t.cmd(&["note", "acme", "objections"]).code(0);
    t.git(&["commit", "-qam", "objections note"]);
    let before = commits(&t);
    t.cmd(&["objection", "add", "acme", "Price is above budget"])
        .code(0)
        .stdout_has("Added objection 1 to acme: Price is above budget (commit ");
    assert_eq!(
        changed_lines(&t),
        [
            "-objections: []",
            "+objections:",
            "+  - objection: Price is above budget",
            "+    resolved: false",
        ]
    );
    t.cmd(&["objection", "add", "acme", "Timing: go-live in Q3"])
        .code(0);
    assert_eq!(
        changed_lines(&t),
        [
            "+  - objection: \"Timing: go-live in Q3\"",
            "+    resolved: false",
        ]
    );
    t.cmd(&["objection", "list", "acme"])
        .code(0)
        .stdout_has("1. ✖ open      Price is above budget")
        .stdout_has("2. ✖ open      Timing: go-live in Q3");
    // Open objections: the negotiation exit criterion is not met, and show
    // names the command that resolves each.
    t.cmd(&["show", "acme"])
        .code(0)
        .stdout_has("Objections (2 open of 2):")
        .stdout_has("resolve: `deal objection resolve acme 2 --response \"…\"`")
        .stdout_has("fix: settle each objection, then `deal objection resolve acme 1");
    t.cmd(&["move", "acme", "close", "--owner", "bob"]).code(1);
    t.cmd(&[
        "objection",
        "resolve",
        "acme",
        "1",
        "--response",
        "Phased plan: half now",
    ])
    .code(0)
    .stdout_has("Resolved objection 1 of acme: Price is above budget");
    assert_eq!(
        changed_lines(&t),
        [
            "-    resolved: false",
            "+    resolved: true",
            "+    response: \"Phased plan: half now\"",
        ]
    );
    // By a piece of its text.
    t.cmd(&["objection", "resolve", "acme", "go-live"]).code(0);
    assert_eq!(
        changed_lines(&t),
        ["-    resolved: false", "+    resolved: true"]
    );
    assert_eq!(commits(&t), before + 4, "one commit per add and resolve");
    let log = t.git(&[
        "log",
        "-4",
        "--format=%s|%(trailers:key=Deal,valueonly,separator=)",
    ]);
    assert_eq!(
        log,
        "deal(acme): resolve objection 2|acme\ndeal(acme): resolve objection 1|acme\ndeal(acme): add objection 2|acme\ndeal(acme): add objection 1|acme\n"
    );
    t.cmd(&["objection", "resolve", "acme", "1"])
        .code(0)
        .stdout_has("resolved already; nothing changed");
    let state = t.state();
    t.cmd(&["objection", "resolve", "acme", "3"])
        .code(2)
        .stderr_has("acme has objections 1 to 2, not 3");
    t.cmd(&["objection", "resolve", "acme", "legal"])
        .code(2)
        .stderr_has("no objection of acme says \"legal\"");
    t.cmd(&["objection", "add", "acme", "  "])
        .code(2)
        .stderr_has("the objection is empty");
    assert_eq!(t.state(), state);
    // Every objection resolved: the deal may move on.
    t.cmd(&["show", "acme"])
        .code(0)
        .stdout_has("Objections (0 open of 2):");
    t.cmd(&["move", "acme", "close", "--owner", "bob"]).code(0);
    t.git(&["fsck", "--no-progress"]);
}

#[test]
fn set_edits_the_readme_deal_example_as_written() {
    let readme = include_str!("../../README.md");
    let example = readme
        .split("### A deal\n\n```markdown\n")
        .nth(1)
        .and_then(|r| r.split("\n```").next())
        .expect("README has a deal example");
    assert!(example.contains("next_step: { action: "), "{example}");
    let t = Test::new()
        .deal("05-proposal/acme.md", &format!("{example}\n"))
        .repo();
    t.cmd(&[
        "set",
        "acme",
        "next_step.due=2026-12-04",
        "objections.0.resolved=false",
    ])
    .code(0);
    let changed = changed_lines(&t);
    assert_eq!(changed.len(), 4, "{changed:?}");
    assert!(changed[0].starts_with("-next_step: { action: Send SOW draft, due: 2026-11-30 }"));
    assert_eq!(
        changed[1],
        "+next_step: { action: Send SOW draft, due: 2026-12-04 }"
    );
    assert!(changed[3].contains("{ objection: Price, response: Phased plan, resolved: false }"));
}

#[test]
fn set_refuses_stage_and_near_misses_and_writes_null_for_an_empty_value() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let before = t.state();
    t.cmd(&["set", "acme", "stage=won"])
        .code(2)
        .stderr_has("there is no `stage` field")
        .stderr_has("deal move acme STAGE");
    t.cmd(&["set", "acme", "vaule=5000"])
        .code(2)
        .stderr_has("`vaule` is not a known field: did you mean `value`?")
        .stderr_has("--new-field");
    t.cmd(&["set", "acme", "next_step.dve=2026-12-01"])
        .code(2)
        .stderr_has("did you mean `next_step.due`?");
    assert_eq!(t.state(), before, "a refused set changes nothing");
    // A field of one's own, far from every known one, needs no flag.
    t.cmd(&["set", "acme", "renewal_date=2027-01-01"]).code(0);
    // --new-field insists; a key the deal has is no typo.
    t.cmd(&["set", "acme", "ownr=x", "--new-field"]).code(0);
    assert!(changed_lines(&t).contains(&"+ownr: x".to_string()));
    t.cmd(&["set", "acme", "ownr=y"]).code(0);
    // KEY= writes null.
    t.cmd(&["set", "acme", "engaged="]).code(0);
    assert_eq!(
        changed_lines(&t),
        ["-engaged: 2026-11-03", "+engaged:"],
        "only the one line changes"
    );
}

#[test]
fn unset_removes_keys_losslessly_in_one_commit() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let before = commits(&t);
    t.cmd(&["unset", "acme", "tags", "contact.phone", "objections.0"])
        .code(0)
        .stdout_has("Removed tags, contact.phone, objections.0 from acme (commit ");
    assert_eq!(commits(&t), before + 1);
    assert_eq!(
        t.git(&["log", "-1", "--format=%s"]).trim(),
        "deal(acme): unset tags, contact.phone, objections.0"
    );
    let text = std::fs::read_to_string(t.path().join("deals/02-outreach/acme.md")).unwrap();
    assert!(!text.contains("tags:"), "{text}");
    assert!(
        text.contains("contact: { name: Jane Doe, email: jane@acme.example }\n"),
        "the flow mapping loses only the phone: {text}"
    );
    assert!(!text.contains("Phased plan"), "{text}");
    // Everything else byte for byte: comments and flow style kept.
    assert!(text.contains("title: Acme Corp, Kubernetes migration     # required\n"));
    assert!(text.contains("next_step: { action: Send SOW draft, due: 2026-11-30 }\n"));
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    // A key the deal lacks changes nothing.
    t.cmd(&["unset", "acme", "tags"])
        .code(0)
        .stdout_has("acme has no `tags`; nothing changed");
    assert_eq!(commits(&t), before + 1);
    // A required field cannot go: the same judgement as `set`.
    let state = t.state();
    t.cmd(&["unset", "acme", "owner"])
        .code(2)
        .stderr_has("nothing was written");
    assert_eq!(t.state(), state);
}

/// An executable script in the test's HOME, to run as `$EDITOR`.
fn editor(t: &Test, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let p = t.home.path().join(name);
    std::fs::write(&p, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

const ACME: &str = "deals/02-outreach/acme.md";

#[test]
fn edit_commits_what_the_editor_saved_once() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let before = commits(&t);
    let ed = editor(
        &t,
        "ed.sh",
        "sed -i -e 's/^value: 48000/value: 52000/' -e 's/^# Acme Corp/# Acme Corp\\n\\nCalled Jane./' \"$1\"",
    );
    // VISUAL wins over EDITOR, as for git.
    t.cmd_env(&[("VISUAL", &ed), ("EDITOR", "false")], &["edit", "acme"])
        .code(0)
        .stdout_has("Edited acme (commit ");
    assert_eq!(commits(&t), before + 1);
    assert_eq!(
        t.git(&["log", "-1", "--format=%s"]).trim(),
        "deal(acme): edit"
    );
    assert!(t.git(&["log", "-1", "--format=%b"]).contains("Deal: acme"));
    assert_eq!(
        changed_lines(&t),
        ["-value: 48000", "+value: 52000", "+", "+Called Jane."]
    );
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(
        !t.path().join(".git/deal-edit/acme.md").exists(),
        "the copy is gone"
    );
    // Closing the editor without a change commits nothing.
    t.cmd_env(&[("EDITOR", "true")], &["edit", "acme"])
        .code(0)
        .stdout_has("acme unchanged; nothing to commit");
    assert_eq!(commits(&t), before + 1);
}

#[test]
fn edit_never_writes_a_broken_text_and_reopens_the_copy() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let state = t.state();
    // The owner line goes: a schema error the deal did not have.
    let breaks = editor(
        &t,
        "break.sh",
        "sed -i -e '/^owner:/d' -e 's/^value: 48000/value: 7/' \"$1\"",
    );
    t.cmd_env(&[("EDITOR", &breaks)], &["edit", "acme"])
        .code(1)
        .stderr_has("owner")
        .stderr_has("nothing was written")
        .stderr_has(".git/deal-edit/acme.md")
        .stderr_has("`deal edit acme` reopens it");
    assert_eq!(t.state(), state, "nothing written, nothing committed");
    let copy = std::fs::read_to_string(t.path().join(".git/deal-edit/acme.md")).unwrap();
    assert!(
        copy.contains("value: 7") && !copy.contains("owner:"),
        "{copy}"
    );
    // A YAML error: refused too, the copy kept.
    let garbles = editor(
        &t,
        "garble.sh",
        "printf -- '---\\ntitle: [oops\\n---\\n' > \"$1\"",
    );
    let t2 = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    t2.cmd_env(&[("EDITOR", &garbles)], &["edit", "acme"])
        .code(1)
        .stderr_has("nothing was written");
    // Again: the editor gets the kept copy (value 7, no owner), fixes it.
    let fixes = editor(
        &t,
        "fix.sh",
        "grep -q '^value: 7' \"$1\"\nsed -i 's/^title: /owner: bob\\ntitle: /' \"$1\"",
    );
    t.cmd_env(&[("EDITOR", &fixes)], &["edit", "acme"])
        .code(0)
        .stderr_has("reopening your copy")
        .stdout_has("Edited acme");
    let text = std::fs::read_to_string(t.path().join(ACME)).unwrap();
    assert!(
        text.contains("value: 7\n") && text.contains("owner: bob\n"),
        "{text}"
    );
    assert!(!t.path().join(".git/deal-edit/acme.md").exists());
}

#[test]
fn edit_refuses_a_deal_changed_while_the_editor_was_open() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let deal = env!("CARGO_BIN_EXE_deal");
    // While the editor is open, another writer commits (the lock is not
    // held yet), then the editor saves its own change.
    let races = editor(
        &t,
        "race.sh",
        &format!(
            "\"{deal}\" set acme engaged=2026-11-20 >/dev/null\nsed -i 's/^value: 48000/value: 1/' \"$1\""
        ),
    );
    t.cmd_env(&[("EDITOR", &races)], &["edit", "acme"])
        .code(1)
        .stderr_has("changed since you opened it")
        .stderr_has("nothing was written")
        .stderr_has(".git/deal-edit/acme.md");
    let text = std::fs::read_to_string(t.path().join(ACME)).unwrap();
    assert!(
        text.contains("engaged: 2026-11-20") && text.contains("value: 48000"),
        "{text}"
    );
    assert_eq!(
        t.git(&["log", "-1", "--format=%s"]).trim(),
        "deal(acme): set engaged"
    );
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(
        t.path().join(".git/deal-edit/acme.md").exists(),
        "the copy is kept"
    );
    // Again: the kept copy reopens, with word that the deal changed; the
    // user brings the other change in, and the copy is written.
    let merges = editor(
        &t,
        "merge.sh",
        "grep -q '^value: 1$' \"$1\"\nsed -i 's/^engaged: .*/engaged: 2026-11-20/' \"$1\"",
    );
    t.cmd_env(&[("EDITOR", &merges)], &["edit", "acme"])
        .code(0)
        .stderr_has("changed since your copy was made")
        .stdout_has("Edited acme");
    let text = std::fs::read_to_string(t.path().join(ACME)).unwrap();
    assert!(
        text.contains("engaged: 2026-11-20") && text.contains("value: 1\n"),
        "{text}"
    );
}

/// Leaves a kept copy of acme with `value: 7` and no owner (refused).
fn kept_copy(t: &Test) {
    let breaks = editor(
        t,
        "break.sh",
        "sed -i -e '/^owner:/d' -e 's/^value: 48000/value: 7/' \"$1\"",
    );
    t.cmd_env(&[("EDITOR", &breaks)], &["edit", "acme"])
        .code(1)
        .stderr_has("nothing was written");
}

/// Puts the owner line back (the kept copy's problem).
const FIX_OWNER: &str = "sed -i 's/^title: /owner: bob\\ntitle: /' \"$1\"";

#[test]
fn edit_reopens_a_kept_copy_merged_with_a_commit_made_since() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    kept_copy(&t);
    t.cmd(&["set", "acme", "engaged=2026-11-20"]).code(0);
    let fixes = editor(
        &t,
        "fix.sh",
        &format!("grep -q '^engaged: 2026-11-20' \"$1\"\n{FIX_OWNER}"),
    );
    t.cmd_env(&[("EDITOR", &fixes)], &["edit", "acme"])
        .code(0)
        .stderr_has("changed since your copy was made")
        .stderr_has("merged in")
        .stdout_has("Edited acme");
    let text = std::fs::read_to_string(t.path().join(ACME)).unwrap();
    assert!(
        text.contains("value: 7\n") && text.contains("engaged: 2026-11-20\n"),
        "both changes kept: {text}"
    );
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn edit_reopens_a_kept_copy_merged_with_uncommitted_hand_edits() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    kept_copy(&t);
    let p = t.path().join(ACME);
    let hand = std::fs::read_to_string(&p)
        .unwrap()
        .replace("# Acme Corp\n", "# Acme Corp\n\nHand-written note.\n");
    std::fs::write(&p, hand).unwrap();
    let fixes = editor(&t, "fix.sh", FIX_OWNER);
    t.cmd_env(&[("EDITOR", &fixes)], &["edit", "acme"])
        .code(0)
        .stdout_has("Edited acme");
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(
        text.contains("value: 7\n") && text.contains("Hand-written note."),
        "{text}"
    );
}

#[test]
fn edit_reopens_a_conflicting_copy_with_markers_and_never_writes_them() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    kept_copy(&t);
    t.cmd(&["set", "acme", "value=9000"]).code(0);
    let state = t.state();
    // The editor saves the markers as they are.
    let out = t
        .cmd_env(&[("EDITOR", "true")], &["edit", "acme"])
        .code(1)
        .stderr_has("nothing was written");
    let err = out.stderr.clone();
    // Said again after the editor closed: the last word before the refusal.
    let conflict_at = err.rfind("conflict with yours").expect(&err);
    assert!(
        conflict_at < err.find("nothing was written").unwrap(),
        "the conflict is named after the editor: {err}"
    );
    assert_eq!(t.state(), state, "nothing written");
    let copy = std::fs::read_to_string(t.path().join(".git/deal-edit/acme.md")).unwrap();
    assert!(
        copy.contains("<<<<<<< your copy")
            && copy.contains("value: 7")
            && copy.contains("value: 9000")
            && copy.contains(">>>>>>> the deal now"),
        "{copy}"
    );
    // The user resolves it: kept 7, brought the owner back.
    let resolves = editor(
        &t,
        "resolve.sh",
        &format!("sed -i -e '/^<<<<<<< /d' -e '/^=======/,/^>>>>>>> /d' \"$1\"\n{FIX_OWNER}"),
    );
    t.cmd_env(&[("EDITOR", &resolves)], &["edit", "acme"])
        .code(0)
        .stdout_has("Edited acme");
    let text = std::fs::read_to_string(t.path().join(ACME)).unwrap();
    assert!(
        text.contains("value: 7\n") && text.contains("owner: bob\n"),
        "{text}"
    );
}

#[test]
fn edit_never_writes_an_old_copy_over_a_moved_deal() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    kept_copy(&t);
    std::fs::create_dir_all(t.path().join("deals/03-qualification")).unwrap();
    t.git(&["mv", ACME, "deals/03-qualification/acme.md"]);
    t.git(&["commit", "-qm", "moved by hand"]);
    let state = t.state();
    t.cmd_env(&[("EDITOR", "true")], &["edit", "acme"])
        .code(1)
        .stderr_has("moved since")
        .stderr_has(".git/deal-edit/acme.md");
    assert_eq!(t.state(), state);
    assert!(t.path().join(".git/deal-edit/acme.md").exists());
    // Moved while the editor is open: refused too, the copy kept.
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let moves = editor(
        &t,
        "move.sh",
        &format!(
            "mkdir -p deals/03-qualification\ngit mv {ACME} deals/03-qualification/acme.md\ngit commit -qm moved\nsed -i 's/^value: 48000/value: 1/' \"$1\""
        ),
    );
    t.cmd_env(&[("EDITOR", &moves)], &["edit", "acme"])
        .code(1)
        .stderr_has("moved or removed since you opened it");
    let copy = std::fs::read_to_string(t.path().join(".git/deal-edit/acme.md")).unwrap();
    assert!(copy.contains("value: 1\n"), "{copy}");
    let text = std::fs::read_to_string(t.path().join("deals/03-qualification/acme.md")).unwrap();
    assert!(text.contains("value: 48000\n"), "{text}");
}

#[test]
fn edit_copies_of_two_pipelines_in_one_repository_stay_apart() {
    let cfg = crate::default_config();
    let t = Test::empty()
        .file("a/pipeline.yaml", &cfg)
        .file("b/pipeline.yaml", &cfg)
        .file("a/deals/02-outreach/acme.md", FLOW_DEAL)
        .file("b/deals/02-outreach/acme.md", FLOW_DEAL)
        .repo();
    let env = |ed: &str| {
        let mut e = t.env_vars();
        e.push(("EDITOR".into(), ed.into()));
        e
    };
    let args = ["edit".to_string(), "acme".to_string()];
    let breaks = editor(
        &t,
        "break.sh",
        "sed -i -e '/^owner:/d' -e 's/^value: 48000/value: 7/' \"$1\"",
    );
    crate::run_deal(&t.path().join("a"), &args, &env(&breaks)).code(1);
    // b's edit starts from b's deal, not a's kept copy.
    let edits_b = editor(
        &t,
        "b.sh",
        "grep -q '^owner: bob' \"$1\"\nsed -i 's/^value: 48000/value: 5/' \"$1\"",
    );
    crate::run_deal(&t.path().join("b"), &args, &env(&edits_b))
        .code(0)
        .stdout_has("Edited acme");
    let b = std::fs::read_to_string(t.path().join("b/deals/02-outreach/acme.md")).unwrap();
    assert!(b.contains("value: 5\n") && b.contains("owner: bob "), "{b}");
    // a's copy is still there, and reopens in a.
    let fixes = editor(
        &t,
        "fix.sh",
        &format!("grep -q '^value: 7' \"$1\"\n{FIX_OWNER}"),
    );
    crate::run_deal(&t.path().join("a"), &args, &env(&fixes))
        .code(0)
        .stderr_has("reopening your copy");
}

#[test]
fn a_second_edit_of_the_same_deal_refuses_while_the_first_is_open() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let deal = env!("CARGO_BIN_EXE_deal");
    let out = t.home.path().join("second.txt");
    // While the first editor is open, a second `deal edit acme` runs.
    let first = editor(
        &t,
        "first.sh",
        &format!(
            "code=0; EDITOR=true \"{deal}\" edit acme 2>\"{o}\" || code=$?\necho \"exit $code\" >>\"{o}\"\nsed -i 's/^value: 48000/value: 3/' \"$1\"",
            o = out.display()
        ),
    );
    t.cmd_env(&[("EDITOR", &first)], &["edit", "acme"])
        .code(0)
        .stdout_has("Edited acme");
    let second = std::fs::read_to_string(&out).unwrap();
    assert!(
        second.contains("another `deal edit acme` is open (process ") && second.contains("exit 2"),
        "{second}"
    );
    let text = std::fs::read_to_string(t.path().join(ACME)).unwrap();
    assert!(text.contains("value: 3\n"), "{text}");
    // A session that died leaves no hold: its marker is only a file.
    std::fs::write(t.path().join(".git/deal-edit/acme.lock"), "999999\n").unwrap();
    let ed = editor(&t, "ed.sh", "sed -i 's/^value: 3/value: 4/' \"$1\"");
    t.cmd_env(&[("EDITOR", &ed)], &["edit", "acme"]).code(0);
}

#[test]
fn edit_without_a_git_identity_refuses_before_the_editor_opens() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let ran = t.home.path().join("ran");
    let ed = editor(&t, "ed.sh", &format!("touch \"{}\"", ran.display()));
    let out = t
        .cmd_env(
            &[("EDITOR", &ed), ("GIT_CONFIG_GLOBAL", "/dev/null")],
            &["edit", "acme"],
        )
        .code(2)
        .stderr_has("git has no identity")
        .stderr_has("git config --global user.name");
    assert!(!out.stderr.contains("--no-commit"), "{}", out.stderr);
    assert!(!ran.exists(), "the editor never opened");
}

#[test]
fn edit_and_new_refuse_a_stage_key_and_near_misses_as_set_does() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    let state = t.state();
    let ed = editor(
        &t,
        "ed.sh",
        "sed -i 's/^value: 48000/value: 1\\nstage: won/' \"$1\"",
    );
    t.cmd_env(&[("EDITOR", &ed)], &["edit", "acme"])
        .code(1)
        .stderr_has("there is no `stage` field")
        .stderr_has("nothing was written");
    assert_eq!(t.state(), state);
    t.cmd(&["new", "Orbital", "--set", "stage=won"])
        .code(2)
        .stderr_has("there is no `stage` field")
        .stderr_has("deal move orbital STAGE");
    t.cmd(&["new", "Orbital", "--set", "vaule=1"])
        .code(2)
        .stderr_has("`vaule` is not a known field: did you mean `value`?");
    assert_eq!(t.state(), state);
    t.cmd(&["new", "Orbital", "--set", "vaule=1", "--new-field"])
        .code(0);
}

#[test]
fn unset_and_set_name_what_they_do_truthfully() {
    let deal = FLOW_DEAL.replace(
        "objections:\n",
        "objections:\n  - { objection: Timing, resolved: true }\n  - { objection: Legal, resolved: true }\n",
    );
    let t = Test::new().deal("02-outreach/acme.md", &deal).repo();
    let state = t.state();
    t.cmd(&["unset", "acme", "vaule"])
        .code(2)
        .stderr_has("acme has no `vaule`: did you mean `value`?");
    t.cmd(&["set", "acme", "contact="])
        .code(2)
        .stderr_has("deal unset acme contact");
    assert_eq!(t.state(), state);
    // The same item named twice is one item; numbers name the items as
    // they are before the command.
    t.cmd(&[
        "unset",
        "acme",
        "objections.0",
        "objections.0",
        "objections.2",
    ])
    .code(0)
    .stdout_has("Removed objections.0, objections.2 from acme");
    let text = std::fs::read_to_string(t.path().join(ACME)).unwrap();
    assert!(
        !text.contains("Timing") && text.contains("Legal") && !text.contains("Price"),
        "{text}"
    );
    t.cmd(&["unset", "acme", "objections.-1"])
        .code(0)
        .stdout_has("Removed objections.0 from acme");
    t.cmd(&["new", "Console", "--slug", "con"])
        .code(2)
        .stderr_has("`con` is reserved on Windows");
}

#[test]
fn edit_never_throws_away_a_copy_that_lost_its_note() {
    let t = Test::new().deal("02-outreach/acme.md", FLOW_DEAL).repo();
    kept_copy(&t);
    std::fs::remove_file(t.path().join(".git/deal-edit/acme.base")).unwrap();
    t.cmd_env(&[("EDITOR", "true")], &["edit", "acme"])
        .code(0)
        .stderr_has("acme.without-base.md");
    let kept =
        std::fs::read_to_string(t.path().join(".git/deal-edit/acme.without-base.md")).unwrap();
    assert!(kept.contains("value: 7"), "{kept}");
}
