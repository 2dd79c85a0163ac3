//! The README's five-minute tour, run as written: every line of its `sh`
//! block in one shell, from an empty folder, each line's exit code checked
//! against what its comment says ("refused (exit 1)", else 0). Editing the
//! README or changing behaviour so that they disagree fails this test.

use std::process::Command;

/// One tour step: the command (continuation lines joined), the exit code
/// its comment promises, and the comment.
#[derive(Debug)]
struct Step {
    command: String,
    code: i32,
    comment: String,
}

/// The first `sh` block under "## A five-minute tour" in README.md.
fn tour() -> Vec<Step> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## A five-minute tour")
        .nth(1)
        .expect("README has a \"## A five-minute tour\" section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the tour has a ```sh block");
    let exit = regex::Regex::new(r"\(exit (\d+)\)").unwrap();
    let mut steps = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        if line.trim().is_empty() {
            continue;
        }
        // A comment starts at the first ` # ` (no tour command has one).
        let (code_part, comment) = match line.find(" # ") {
            Some(i) => (&line[..i], line[i + 3..].trim()),
            None => (line, ""),
        };
        let code_part = code_part.trim_end();
        if let Some(head) = code_part.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        let command = format!("{pending}{}", code_part.trim());
        pending.clear();
        let code = exit.captures(comment).map_or(0, |c| c[1].parse().unwrap());
        assert!(
            !comment.is_empty(),
            "README tour line `{command}` has no comment stating its outcome"
        );
        assert_eq!(
            comment.contains("refused"),
            code != 0,
            "README tour line `{command}`: a refused step says \"refused (exit N)\", and only it: {comment}"
        );
        steps.push(Step {
            command,
            code,
            comment: comment.to_string(),
        });
    }
    assert!(pending.is_empty(), "the tour ends in a continuation line");
    steps
}

#[test]
fn the_readme_tour_runs_as_written_in_an_empty_folder() {
    let steps = tour();
    assert!(steps.len() > 10, "the tour has {} steps", steps.len());
    assert!(
        steps.iter().any(|s| s.code == 1),
        "the tour shows a refusal"
    );
    let t = crate::Test::empty();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_deal"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // One shell, so `cd` carries over; each step's status goes to a file.
    let status = t.home.path().join("tour-status");
    let mut script = String::from("exec 3>\"$TOUR_STATUS\"\n");
    for (i, s) in steps.iter().enumerate() {
        script.push_str(&format!(
            "echo \"=== step {i}: $(pwd)\"\n{}\necho \"{i} $?\" >&3\n",
            s.command
        ));
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(t.path())
        .envs(t.env_vars())
        .env("PATH", &path)
        .env("TOUR_STATUS", &status)
        .env("COLUMNS", "120")
        .env_remove("NO_COLOR")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("bash runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let codes: Vec<i32> = std::fs::read_to_string(&status)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(codes.len(), steps.len(), "not every step ran:\n{said}");
    for (s, got) in steps.iter().zip(&codes) {
        assert_eq!(
            *got, s.code,
            "README tour step `{}` (\"{}\") exited {got}, not {}:\n{said}",
            s.command, s.comment, s.code
        );
    }
    // The empty folder stayed empty: the tour made its own, with its own repositories.
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
    let tour = t.home.path().join("deal-tour");
    for repo in ["sales", "demo"] {
        assert!(
            tour.join(repo).join(".git").is_dir(),
            "{repo} has no repository"
        );
    }
    // What the comments promise, spot-checked.
    let sales = tour.join("sales");
    let log = crate::git_in(&sales, &["log", "--format=%s"]);
    for subject in [
        "deal(acme-corp-kubernetes-migration): resolve objection 1",
        "deal(acme-corp-kubernetes-migration): add objection 1",
        "deal(acme-corp-kubernetes-migration): outreach -> qualification",
        "deal(acme-corp-kubernetes-migration): new lead",
    ] {
        assert!(log.contains(subject), "no commit {subject:?}:\n{log}");
    }
    assert!(sales.join("report/index.html").is_file());
    assert!(sales.join(".git/hooks/pre-commit").is_file());
    assert!(said.contains("granite-bank"), "{said}");
}

#[test]
fn help_and_errors_point_at_the_reference_never_at_spec() {
    use clap::CommandFactory;
    let t = crate::Test::new();
    let top = t.cmd(&["--help"]).code(0);
    assert!(top.stdout.contains("docs/reference.md"), "{}", top.stdout);
    let mut names: Vec<String> = deal::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    names.push("objection add".into());
    for name in names {
        let mut args: Vec<&str> = name.split(' ').collect();
        args.push("--help");
        let out = t.cmd(&args).code(0);
        assert!(
            !out.stdout.contains("SPEC"),
            "`deal {name} --help` cites SPEC"
        );
    }
    // A malformed pipeline.yaml's help names the reference.
    let bad =
        crate::Test::new().config_replace("        field: engaged\n", "        fieldz: engaged\n");
    bad.cmd(&["check"]).code(2).stderr_has("docs/reference.md");
    // The reference documents every rule `deal check` runs.
    let reference = include_str!("../../docs/reference.md");
    let help = t_help_check();
    for rule in deal::RULES {
        assert!(
            reference.contains(&format!("| `{rule}` |")),
            "docs/reference.md lacks rule {rule}"
        );
        assert!(
            help.split(|c: char| !(c.is_ascii_lowercase() || c == '-'))
                .any(|w| w == *rule),
            "`deal check --help` lacks rule {rule}"
        );
    }
}

#[test]
fn verbose_says_what_was_read_and_which_rules_ran() {
    let t = crate::Test::new().deal("02-outreach/acme.md", "---\ntitle: Acme\nowner: bob\n---\n");
    let out = t.cmd(&["-v", "check"]).code(1);
    for part in [
        "read pipeline.yaml (7 stages, 3 team members, qualification bant); 1 deal files from deals/ in the work tree",
        "rules run: parse, schema,",
        "findings by rule: exit-criteria 1",
    ] {
        assert!(
            out.stderr.contains(part),
            "-v lacks {part:?}:\n{}",
            out.stderr
        );
    }
    assert!(!t.cmd(&["check"]).code(1).stderr.contains("rules run"));
}

#[test]
fn init_inside_another_repository_says_where_commits_go() {
    let t = crate::Test::empty().file("README", "outer\n").repo();
    let out = t.cmd(&["init", "sales"]).code(0);
    assert!(
        out.stdout.contains("sales is inside the git repository at")
            && out.stdout.contains("`cd sales && git init`"),
        "{}",
        out.stdout
    );
    assert!(!t.path().join("sales/.git").exists());
    // Outside any repository, init makes one.
    let t = crate::Test::empty();
    let out = t.cmd(&["init", "sales"]).code(0);
    assert!(t.path().join("sales/.git").is_dir());
    assert!(!out.stdout.contains("inside the git repository"));
}

#[test]
fn an_existing_section_gets_which_headings_to_write_not_the_scaffold() {
    let t = crate::Test::new().deal(
        "04-discovery/acme.md",
        "---\ntitle: Acme\nowner: bob\ncontact:\n  email: j@acme.example\nengaged: 2026-11-03\n---\n# Acme\n\n## Qualification (BANT)\n### Budget\n<!-- Budget: is money set aside? -->\n### Authority\nThe CTO.\n### Need\nAudits.\n",
    );
    let out = t.cmd(&["check"]).code(1);
    assert!(
        out.stdout.contains("help: in the \"Qualification\" section of deals/04-discovery/acme.md, write under \"Budget\" and add the heading \"Timeline\""),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("deal note acme qualification"),
        "{}",
        out.stdout
    );
    // Without the section, the scaffold is the fix.
    let t = crate::Test::new().deal(
        "04-discovery/acme.md",
        "---\ntitle: Acme\nowner: bob\ncontact:\n  email: j@acme.example\nengaged: 2026-11-03\n---\n# Acme\n",
    );
    t.cmd(&["check"])
        .code(1)
        .stdout_has("run `deal note acme qualification`, fill it in");
}

/// `deal check --help`, as a person reads it.
fn t_help_check() -> String {
    crate::Test::new().cmd(&["check", "--help"]).code(0).stdout
}
