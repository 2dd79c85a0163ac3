//! Bad input: every case gives a clear error naming the file, and nothing
//! panics. Exit 1 for a bad deal, 2 for a bad pipeline.yaml.

use crate::Test;

fn check_one(rel: &str, data: &[u8]) -> crate::Output {
    Test::new()
        .bytes(&format!("deals/{rel}"), data)
        .args(&["check"])
        .run()
}

fn assert_parse_error(data: &[u8], message: &str) {
    let out = check_one("01-prospecting/x.md", data).code(1);
    assert!(
        out.stdout
            .contains("error[parse]: deals/01-prospecting/x.md"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(message),
        "want {message:?} in\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("= help: "), "{}", out.stdout);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn no_front_matter() {
    assert_parse_error(
        b"# Acme\n\nJust notes.\n",
        "no front-matter: the file must start with a `---` line",
    );
}

#[test]
fn unterminated_front_matter() {
    assert_parse_error(
        b"---\ntitle: A\nowner: bob\n\n# Body\n",
        "the front-matter opened with `---` is never closed",
    );
}

#[test]
fn invalid_yaml() {
    assert_parse_error(b"---\ntitle: [unclosed\n---\n", "invalid YAML");
}

#[test]
fn non_mapping_front_matter() {
    assert_parse_error(
        b"---\n- a\n- b\n---\n",
        "the front-matter is a list, not a mapping",
    );
    assert_parse_error(
        b"---\njust a string\n---\n",
        "the front-matter is a string, not a mapping",
    );
}

#[test]
fn duplicate_keys() {
    let out = check_one(
        "01-prospecting/x.md",
        b"---\ntitle: A\nowner: bob\ntitle: B\n---\n",
    )
    .code(1);
    assert!(
        out.stdout
            .contains("deals/01-prospecting/x.md:4:1: duplicate key `title` (first on line 2)"),
        "{}",
        out.stdout
    );
}

#[test]
fn empty_file() {
    assert_parse_error(b"", "the file is empty");
}

#[test]
fn binary_and_non_utf8_files() {
    assert_parse_error(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary file");
    assert_parse_error(
        b"---\ntitle: caf\xe9\nowner: bob\n---\n",
        "not valid UTF-8 (first bad byte on line 2)",
    );
}

#[test]
fn a_50_mb_file_is_refused_unread() {
    let mut big = b"---\ntitle: Big\nowner: bob\n---\n".to_vec();
    big.resize(50 * 1024 * 1024, b'x');
    assert_parse_error(&big, "the file is 50.0 MB; deal files are limited to 4 MB");
}

#[test]
fn yaml_alias_bomb() {
    let mut y = String::from(
        "---\ntitle: Bomb\nowner: bob\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (n, p) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        y.push_str(&format!(
            "{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        ));
    }
    y.push_str("---\n");
    assert_parse_error(y.as_bytes(), "the YAML expands too far");
}

#[test]
fn bom_and_crlf_are_accepted() {
    let text = "\u{feff}---\r\ntitle: A\r\nowner: alice\r\ncontact:\r\n  email: a@b.example\r\nstages:\r\n  prospecting: 2026-11-26\r\n---\r\n# A\r\n";
    check_one("01-prospecting/a.md", text.as_bytes())
        .code(0)
        .stdout("ok: 1 deal checked, no problems\n");
}

fn config_error(yaml_change: (&str, &str), want_loc: &str, want_msg: &str) {
    let out = Test::new()
        .config_replace(yaml_change.0, yaml_change.1)
        .args(&["check"])
        .run()
        .code(2);
    assert!(
        out.stderr.starts_with(&format!("error: {want_loc}")),
        "want {want_loc:?}:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(want_msg),
        "want {want_msg:?}:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(" ^\n"),
        "an excerpt with a caret:\n{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing else ran:\n{}", out.stdout);
}

#[test]
fn malformed_pipeline_unknown_key() {
    config_error(
        ("speed_to_lead_minutes: 5", "speed_to_lead_minuts: 5"),
        "pipeline.yaml:8:1: unknown field `speed_to_lead_minuts`",
        "expected one of",
    );
}

#[test]
fn malformed_pipeline_unknown_criterion_kind() {
    config_error(
        ("        field: engaged\n", "        feild: engaged\n"),
        "pipeline.yaml:",
        "stages[1].exit[0]: unknown field `feild`",
    );
}

#[test]
fn malformed_pipeline_duplicate_stage_id() {
    config_error(
        ("  - id: outreach", "  - id: prospecting"),
        "pipeline.yaml:",
        "stages[1].id: duplicate stage id `prospecting` (also stages[0])",
    );
}

#[test]
fn malformed_pipeline_bad_expression() {
    config_error(
        (
            "\"objections | rejectattr('resolved') | list | length == 0\"",
            "\"objections | rejectattr('resolved') | \"",
        ),
        "pipeline.yaml:",
        "stages[5].exit[0].expr: invalid expression: syntax error",
    );
}

#[test]
fn malformed_pipeline_bad_regex() {
    config_error(
        (
            "        field: engaged\n",
            "        field: engaged\n        matches: \"[0-9\"\n",
        ),
        "pipeline.yaml:",
        "stages[1].exit[0].matches: invalid regex",
    );
}

#[test]
fn malformed_pipeline_dir_leaves_root() {
    config_error(
        (
            "    name: Outreach\n",
            "    name: Outreach\n    dir: ../../elsewhere\n",
        ),
        "pipeline.yaml:",
        "stages[1].dir: `../../elsewhere` leaves the pipeline root",
    );
    config_error(
        ("deals_dir: deals", "deals_dir: /etc"),
        "pipeline.yaml:4:1: deals_dir",
        "`/etc` leaves the pipeline root",
    );
}

#[test]
fn malformed_pipeline_invalid_yaml() {
    let out = Test::new()
        .config_replace("currency: EUR", "currency: [EUR")
        .args(&["check"])
        .run()
        .code(2);
    assert!(out.stderr.contains("pipeline.yaml:"), "{}", out.stderr);
    assert!(out.stderr.contains("invalid YAML"), "{}", out.stderr);
}

#[test]
fn no_pipeline_is_a_usage_error() {
    let out = Test::empty().args(&["check"]).run().code(2);
    assert!(out.stderr.contains("no pipeline.yaml in"), "{}", out.stderr);
    assert!(out.stderr.contains("run `deal init`"), "{}", out.stderr);
}
