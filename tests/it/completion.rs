//! Dynamic completion, through bash's own completion function: the
//! registration `deal completions bash` prints is sourced, and the function
//! it registers is fed the words a person types (COMP_WORDS, COMP_CWORD),
//! as bash does on TAB; COMPREPLY is what bash would offer.

use crate::{Test, good_deal};

/// What bash offers for `line` (words split on spaces; a trailing space
/// means a new, empty word), run in the test's pipeline.
fn offers(t: &Test, cwd: &str, line: &str) -> Vec<String> {
    offers_in(t, &t.path().join(cwd), line)
}

/// [`offers`], run in `dir`.
fn offers_in(t: &Test, dir: &std::path::Path, line: &str) -> Vec<String> {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_deal"))
        .parent()
        .unwrap();
    let script = r#"
source <(deal completions bash) || exit 9
read -r -a COMP_WORDS <<< "$LINE"
case "$LINE" in *" ") COMP_WORDS+=("") ;; esac
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$LINE"
COMP_POINT=${#LINE}
_clap_complete_deal deal "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .envs(t.env_vars())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("LINE", line)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn has(offered: &[String], want: &[&str]) {
    for w in want {
        assert!(offered.iter().any(|o| o == w), "no {w:?} in {offered:?}");
    }
}

#[test]
fn bash_completes_slugs_stages_handles_reasons_and_note_kinds() {
    let stages = "  prospecting: 2026-11-02\n  outreach: 2026-11-03\n";
    let t = Test::new()
        .deal("02-outreach/orbital-systems.md", &good_deal(stages, ""))
        .deal("02-outreach/orchid-health.md", &good_deal(stages, ""))
        .deal(
            "01-prospecting/pebble.md",
            &good_deal("  prospecting: 2026-11-02\n", ""),
        )
        .repo();
    // `deal move orb<TAB>`: the one slug.
    assert_eq!(offers(&t, "", "deal move orb"), ["orbital-systems"]);
    let both = offers(&t, "", "deal show or");
    assert_eq!(both, ["orbital-systems", "orchid-health"]);
    // `deal move orbital-systems <TAB>`: stage ids, won, lost.
    has(
        &offers(&t, "", "deal move orbital-systems "),
        &["prospecting", "discovery", "close", "won", "lost"],
    );
    // Team handles wherever an owner goes.
    has(
        &offers(&t, "", "deal assign pebble "),
        &["alice", "bob", "dana"],
    );
    has(
        &offers(&t, "", "deal list --owner "),
        &["alice", "bob", "dana"],
    );
    assert_eq!(
        offers(&t, "", "deal move pebble outreach --owner d"),
        ["dana"]
    );
    // Lost reasons after `lost --reason`.
    // A reason with a space is one word in the line: bash inserts
    // COMPREPLY as it is, so the space comes escaped.
    has(
        &offers(&t, "", "deal move pebble lost --reason "),
        &["no\\ budget", "competitor", "went\\ dark"],
    );
    assert_eq!(
        offers(&t, "", "deal move pebble lost --reason we"),
        ["went\\ dark"]
    );
    // Note kinds.
    has(
        &offers(&t, "", "deal note pebble "),
        &[
            "qualification",
            "problem",
            "proposal",
            "objections",
            "handoff",
            "call",
        ],
    );
    // check, set, unset, edit take slugs too; from a subfolder as well.
    assert_eq!(offers(&t, "", "deal check peb"), ["pebble"]);
    assert_eq!(offers(&t, "deals", "deal edit peb"), ["pebble"]);
    assert_eq!(offers(&t, "", "deal unset peb"), ["pebble"]);
    // -C DIR: the pipeline there, as `deal` will run.
    let root = t.path().display().to_string();
    assert_eq!(
        offers_in(&t, t.home.path(), &format!("deal -C {root} move orb")),
        ["orbital-systems"]
    );
    assert!(offers_in(&t, t.home.path(), "deal move orb").is_empty());
    // `~` and `$HOME` as the shell will expand them when deal runs.
    std::os::unix::fs::symlink(t.path(), t.home.path().join("p")).unwrap();
    for dir in ["~/p", "$HOME/p", "${HOME}/p"] {
        assert_eq!(
            offers_in(&t, t.home.path(), &format!("deal -C {dir} move orb")),
            ["orbital-systems"],
            "{dir}"
        );
    }
    // A -C that leads nowhere: nothing, not the current folder's slugs.
    assert!(offers(&t, "", "deal -C /no/such/folder move orb").is_empty());
    assert!(offers(&t, "", "deal -C ~nobody-here/x move orb").is_empty());
}

#[test]
fn completions_print_a_registration_for_each_shell() {
    let t = Test::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = t.cmd(&["completions", shell]).code(0);
        assert!(out.stdout.contains("COMPLETE"), "{shell}: {}", out.stdout);
        assert!(out.stdout.contains("deal"), "{shell}: {}", out.stdout);
    }
    // Outside any pipeline, completion offers subcommands and no error.
    let empty = Test::empty();
    has(&offers(&empty, "", "deal mo"), &["move"]);
    assert!(
        offers(&empty, "", "deal move ")
            .iter()
            .all(|o| o.starts_with('-'))
    );
}

#[test]
fn zsh_and_fish_get_reasons_with_spaces_as_they_are() {
    let t = Test::new().repo();
    for (shell, want) in [("zsh", "went dark"), ("fish", "went dark")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_deal"))
            .args(["--", "deal", "move", "x", "lost", "--reason", "we"])
            .current_dir(t.path())
            .envs(t.env_vars())
            .env("COMPLETE", shell)
            .env("_CLAP_COMPLETE_INDEX", "5")
            .env("_CLAP_IFS", "\n")
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout);
        assert!(
            got.lines()
                .any(|l| l.split(['\t', ':']).next() == Some(want)),
            "{shell}: {got:?}"
        );
    }
}
