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
        let code = exit
            .captures(comment)
            .map_or(0, |c| c[1].parse().unwrap());
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
        assert!(tour.join(repo).join(".git").is_dir(), "{repo} has no repository");
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
