//! `deal notify`: automation triggers, delivered to a real HTTP server on
//! 127.0.0.1 (std's TcpListener) that receives real POSTs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Output, Test, at};

/// How the test server answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    Status500,
    /// Accepts, reads the request, and answers nothing for this long.
    Stall(u64),
    /// Records the request, then answers 200 after this long.
    Slow(u64),
}

/// A receiver: every request's path and body, answered as `mode` says.
struct Server {
    port: u16,
    got: Arc<Mutex<Vec<(String, String)>>>,
    mode: Arc<Mutex<Mode>>,
}

impl Server {
    fn start() -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Mode::Ok));
        let (g, m) = (got.clone(), mode.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let (g, m) = (g.clone(), m.clone());
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut r = BufReader::new(s.try_clone().unwrap());
                    let mut first = String::new();
                    if r.read_line(&mut first).is_err() || first.is_empty() {
                        return;
                    }
                    let mut len = 0;
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    let _ = r.read_exact(&mut body);
                    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mode = *m.lock().unwrap();
                    let answer = match mode {
                        Mode::Ok => {
                            g.lock()
                                .unwrap()
                                .push((path, String::from_utf8_lossy(&body).into_owned()));
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        }
                        Mode::Status500 => {
                            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        }
                        Mode::Stall(ms) => {
                            std::thread::sleep(Duration::from_millis(ms));
                            return;
                        }
                        Mode::Slow(ms) => {
                            g.lock()
                                .unwrap()
                                .push((path, String::from_utf8_lossy(&body).into_owned()));
                            std::thread::sleep(Duration::from_millis(ms));
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        }
                    };
                    let _ = s.write_all(answer.as_bytes());
                });
            }
        });
        Server { port, got, mode }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook/$DEAL_HOOK", self.port)
    }

    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }

    /// The bodies received so far, parsed, emptying the list.
    fn take(&self) -> Vec<serde_json::Value> {
        self.got
            .lock()
            .unwrap()
            .drain(..)
            .map(|(p, b)| {
                assert_eq!(p, "/hook/s3cret", "the $DEAL_HOOK in the URL is read");
                serde_json::from_str(&b).unwrap()
            })
            .collect()
    }

    fn texts(&self) -> Vec<String> {
        self.take()
            .iter()
            .map(|v| v["text"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A pipeline in git with `triggers` (YAML list items, indented by two).
fn pipeline(triggers: &str) -> Test {
    let t = Test::new().repo();
    add_triggers(&t, triggers);
    t
}

fn add_triggers(t: &Test, triggers: &str) {
    let p = t.path().join("pipeline.yaml");
    let mut s = std::fs::read_to_string(&p).unwrap();
    s.push_str("triggers:\n");
    s.push_str(triggers);
    std::fs::write(&p, s).unwrap();
    t.git(&["commit", "-q", "-am", "triggers"]);
}

/// The line of trigger `id` in pipeline.yaml (its `- id:` line).
fn line_of(t: &Test, id: &str) -> usize {
    let s = std::fs::read_to_string(t.path().join("pipeline.yaml")).unwrap();
    s.lines()
        .position(|l| l.trim() == format!("- id: {id}"))
        .unwrap()
        + 1
}

fn head(t: &Test) -> String {
    t.git(&["rev-parse", "HEAD"]).trim().to_string()
}

fn notify(t: &Test, args: &[&str]) -> Output {
    let mut all = vec!["notify"];
    all.extend_from_slice(args);
    t.cmd_env(&[("DEAL_HOOK", "s3cret")], &all)
}

fn notes(t: &Test) -> String {
    let out = t.git_cmd(t.path(), &["notes", "--ref", "deal-notify", "list"], None);
    out.stdout
}

#[test]
fn a_form_lead_fires_lead_once_escaped_with_owner_and_slug() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: new-lead\n    on: lead\n    source: [website, inbound-form]\n    webhook: {}\n  - id: full-lead\n    on: lead\n    format: full\n    webhook: {}\n",
        s.url(),
        s.url()
    ));
    let base = head(&t);
    let payload = r#"{"name": "Jane Doe", "email": "jane@acme.example", "company": "<!channel> & Co",
        "message": "Call me <http://evil.example|here>", "source": "website"}"#;
    let out = t.cmd_stdin(&["new", "--json", "-"], payload);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let range = format!("{base}..HEAD");
    notify(&t, &[&range])
        .code(0)
        .stdout_has("sent: trigger `new-lead`: lead channel-and-co");
    let got = s.take();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0],
        serde_json::json!({"text": "New inbound lead: &lt;!channel&gt; &amp; Co (website), owner alice"})
    );
    let full = &got[1];
    assert_eq!(full["event"], "lead");
    assert_eq!(full["trigger"], "full-lead");
    assert_eq!(full["commit"], head(&t));
    assert_eq!(full["deal"]["slug"], "channel-and-co");
    assert_eq!(full["deal"]["owner"], "alice");
    assert_eq!(full["deal"]["stage"], "prospecting");
    assert_eq!(
        full["deal"]["company"], "<!channel> & Co",
        "JSON data is not markup"
    );
    assert!(full["text"].as_str().unwrap().contains("&lt;!channel&gt;"));
    // Recorded: a rerun of the same range sends nothing.
    assert_eq!(notes(&t).lines().count(), 2);
    notify(&t, &[&range]).code(0).stdout("Nothing to send.\n");
    assert!(s.take().is_empty());
    // A dry run prints, sends and records nothing.
    let t2 = pipeline(&format!(
        "  - id: new-lead\n    on: lead\n    webhook: {}\n",
        s.url()
    ));
    let b2 = head(&t2);
    t2.cmd_stdin(&["new", "--json", "-"], payload).code(0);
    notify(&t2, &[&format!("{b2}..HEAD"), "--dry-run"])
        .code(0)
        .stdout_has("would send: trigger `new-lead`: lead channel-and-co: POST http://127.0.0.1");
    assert!(s.take().is_empty());
    assert_eq!(notes(&t2), "");
}

const MOVES: &str = "  - id: outreach-bob
    on: enter
    stage: outreach
    owner: bob
    webhook: URL
  - id: won-web
    on: won
    source: website
    webhook: URL
  - id: lost
    on: lost
    webhook: URL
  - id: forced-won
    on: forced
    stage: won
    webhook: URL
  - id: any-lead
    on: lead
    webhook: URL
";

#[test]
fn moves_wins_losses_and_forced_moves_fire_with_filters_and_imports_fire_nothing() {
    let s = Server::start();
    let t = Test::new().repo();
    // Leads created before the triggers were added fire nothing, even in
    // the range.
    let seed = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob", "--source", "website"])
        .code(0);
    t.cmd(&["new", "Initech", "--owner", "alice", "--source", "website"])
        .code(0);
    t.cmd(&["new", "Globex", "--owner", "bob", "--source", "referral"])
        .code(0);
    add_triggers(&t, &MOVES.replace("URL", &s.url()));
    let force = |slug: &str, to: &str| {
        t.cmd(&["move", slug, to, "--force", "--reason", "fast track"])
            .code(0);
    };
    force("acme", "outreach"); // bob: fires outreach-bob
    force("initech", "outreach"); // alice: the owner filter leaves it out
    t.cmd(&["move", "initech", "lost", "--reason", "no budget"])
        .code(0);
    force("acme", "won"); // source website: won-web and forced-won
    force("globex", "won"); // source referral: forced-won only
    // An import fires nothing: not `lead`, not `won`.
    std::fs::write(
        t.path().join("rows.csv"),
        "name,stage,owner,source\nUmbrella,won,bob,website\nHooli,prospecting,bob,website\n",
    )
    .unwrap();
    let imp = t.cmd(&[
        "import",
        "rows.csv",
        "--preset",
        "generic",
        "--map",
        "name=title",
    ]);
    assert_eq!(imp.code, 0, "{}{}", imp.stdout, imp.stderr);
    let out = notify(&t, &[&format!("{seed}..HEAD")]).code(0);
    let texts = s.texts();
    assert_eq!(
        texts,
        vec![
            "Acme entered Outreach, owner bob",
            "Lost: Initech (no budget), owner alice",
            "Won: Acme, owner bob",
            "Forced move: Acme to won (fast track), by alice, owner bob",
            "Forced move: Globex to won (fast track), by alice, owner bob",
        ],
        "{}",
        out.stdout
    );
}

#[test]
fn the_same_work_merged_again_by_squash_or_rebase_sends_nothing_twice() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: outreach\n    on: enter\n    stage: outreach\n    webhook: {}\n",
        s.url()
    ));
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let base = head(&t);
    t.git(&["checkout", "-q", "-b", "work"]);
    crate::at(
        &t,
        "2026-11-28",
        &["move", "acme", "outreach", "--force", "--reason", "r"],
    )
    .code(0);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["merge", "-q", "--no-ff", "-m", "merge work", "work"]);
    let range = format!("{base}..HEAD");
    notify(&t, &[&range]).code(0);
    assert_eq!(s.texts(), vec!["Acme entered Outreach, owner bob"]);
    // Undo the merge on main, then bring the same work by a squash: the
    // event is the same (the file's stages.outreach), so nothing is sent.
    t.git(&["reset", "-q", "--hard", &base]);
    t.git(&["merge", "-q", "--squash", "work"]);
    t.git(&["commit", "-q", "--no-edit"]);
    let log = t.git(&["log", "-1", "--format=%B"]);
    assert!(log.contains("Squashed commit"), "{log}");
    notify(&t, &[&range]).code(0).stdout("Nothing to send.\n");
    // And by a rebase (a cherry-pick onto main, a new commit id).
    t.git(&["reset", "-q", "--hard", &base]);
    t.git_at("2026-11-29T00:00:00Z", &["cherry-pick", "work"]);
    notify(&t, &[&range]).code(0).stdout("Nothing to send.\n");
    assert!(s.take().is_empty());
    // A reverted move is no stage entered.
    let t2 = pipeline(&format!(
        "  - id: outreach\n    on: enter\n    stage: outreach\n    webhook: {}\n",
        s.url()
    ));
    t2.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let b2 = head(&t2);
    t2.cmd(&["move", "acme", "outreach", "--force", "--reason", "r"])
        .code(0);
    t2.git(&["revert", "--no-edit", "HEAD"]);
    notify(&t2, &[&format!("{b2}..HEAD")])
        .code(0)
        .stdout("Nothing to send.\n");
    assert!(s.take().is_empty());
}

#[test]
fn a_receiver_that_refuses_fails_or_stalls_is_named_not_recorded_and_retried() {
    let s = Server::start();
    // A port with nothing listening: the connection is refused.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = pipeline(&format!(
        "  - id: good\n    on: lead\n    webhook: {}\n  - id: refused\n    on: lead\n    webhook: http://127.0.0.1:{closed}/x\n",
        s.url()
    ));
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let range = format!("{base}..HEAD");
    // The other delivery still goes out.
    let out = notify(&t, &[&range]).code(1);
    assert!(
        out.stderr.contains("pipeline.yaml:")
            && out
                .stderr
                .contains("trigger `refused`: lead acme: not delivered"),
        "{}",
        out.stderr
    );
    assert_eq!(s.texts().len(), 1);
    assert_eq!(
        notes(&t).lines().count(),
        1,
        "only the delivery that succeeded"
    );
    // 500, then a stall past the timeout: exit 1, named, not recorded.
    let t = pipeline(&format!(
        "  - id: flaky\n    on: lead\n    webhook: {}\n",
        s.url()
    ));
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let range = format!("{base}..HEAD");
    s.set(Mode::Status500);
    let out = notify(&t, &[&range]).code(1);
    assert!(out.stderr.contains("answered 500"), "{}", out.stderr);
    assert!(out.stderr.contains("after 3 tries"), "{}", out.stderr);
    assert_eq!(notes(&t), "");
    s.set(Mode::Stall(1500));
    let started = std::time::Instant::now();
    let out = t
        .cmd_env(
            &[
                ("DEAL_HOOK", "s3cret"),
                ("DEAL_TEST_NOTIFY_TIMEOUT_MS", "200"),
            ],
            &["notify", &range],
        )
        .code(1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        out.stderr
            .contains("trigger `flaky`: lead acme: not delivered"),
        "{}",
        out.stderr
    );
    assert_eq!(notes(&t), "");
    // The next run delivers it.
    s.set(Mode::Ok);
    notify(&t, &[&range]).code(0);
    assert_eq!(s.texts(), vec!["New lead: Acme, owner bob"]);
    assert_eq!(notes(&t).lines().count(), 1);
}

#[test]
fn due_sends_one_digest_per_owner_and_one_message_per_uncontacted_lead_once_a_day() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: digest\n    on: due\n    webhook: {}\n  - id: slow-lead\n    on: uncontacted\n    webhook: {}\n",
        s.url(),
        s.url()
    ));
    // Two overdue next steps for bob, one for alice; one inbound lead not
    // contacted, one contacted in time, one not inbound.
    for d in ["deals/01-prospecting", "deals/02-outreach"] {
        std::fs::create_dir_all(t.path().join(d)).unwrap();
    }
    let deal = |slug: &str, owner: &str, extra: &str| {
        std::fs::write(
            t.path().join(format!("deals/02-outreach/{slug}.md")),
            format!(
                "---\ntitle: {slug}\nowner: {owner}\nstages:\n  outreach: 2026-11-01\n{extra}---\n"
            ),
        )
        .unwrap();
    };
    deal(
        "a1",
        "bob",
        "next_step:\n  action: Call\n  due: 2026-11-20\n",
    );
    deal(
        "a2",
        "bob",
        "next_step:\n  action: Send SOW\n  due: 2026-11-21\n",
    );
    deal(
        "a3",
        "alice",
        "next_step:\n  action: Demo\n  due: 2026-11-22\n",
    );
    let lead = |slug: &str, source: &str, extra: &str| {
        std::fs::write(
            t.path().join(format!("deals/01-prospecting/{slug}.md")),
            format!("---\ntitle: {slug}\nowner: dana\nsource: {source}\ncreated: 2026-11-27T10:00:00Z\nstages:\n  prospecting: 2026-11-27T10:00:00Z\n{extra}---\n"),
        )
        .unwrap();
    };
    lead("l1", "website", "");
    lead("l2", "website", "first_contact: 2026-11-27T10:03:00Z\n");
    lead("l3", "referral", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "deals"]);
    notify(&t, &["--due"]).code(0);
    let got = s.take();
    let texts: Vec<&str> = got.iter().map(|v| v["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        vec![
            "4 follow-ups for bob:\n• a1: Call (7 days late) (2026-11-20)\n• a2: Send SOW (6 days late) (2026-11-21)\n• a1: idle 26.5 days (rots after 7) (2026-11-01)\n• a2: idle 26.5 days (rots after 7) (2026-11-01)",
            "2 follow-ups for alice:\n• a3: Demo (5 days late) (2026-11-22)\n• a3: idle 26.5 days (rots after 7) (2026-11-01)",
            "1 follow-up for dana:\n• l1: inbound lead not contacted for 2 h (target 5 min) (2026-11-27)",
            // l2 was contacted in time; l3 is not inbound.
            "Not contacted within 5 minutes: l1 (website), came in 2026-11-27T10:00:00Z, owner dana",
        ]
    );
    // Once a day: again the same day sends nothing; the next day, again.
    notify(&t, &["--due"]).code(0).stdout("Nothing to send.\n");
    assert!(s.take().is_empty());
    t.cmd_env(
        &[("DEAL_HOOK", "s3cret"), ("SOURCE_DATE_EPOCH", "1795867200")],
        &["notify", "--due"],
    )
    .code(0);
    assert_eq!(s.take().len(), 4);
}

#[test]
fn a_command_trigger_runs_only_with_allow_commands() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: hook\n    on: lead\n    webhook: {}\n  - id: script\n    on: lead\n    command: cat > \"event-$DEAL_TRIGGER-$DEAL_EVENT-$DEAL_SLUG.json\"\n",
        s.url()
    ));
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let range = format!("{base}..HEAD");
    let out = notify(&t, &[&range]).code(2);
    assert!(
        out.stderr.contains(&format!(
            "pipeline.yaml:{}: trigger `script` would run a command; nothing was sent",
            line_of(&t, "script")
        )),
        "{}",
        out.stderr
    );
    assert!(s.take().is_empty(), "nothing was sent before the refusal");
    assert!(!t.path().join("event-script-lead-acme.json").exists());
    notify(&t, &[&range, "--allow-commands"]).code(0);
    let got: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join("event-script-lead-acme.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(got["event"], "lead");
    assert_eq!(got["deal"]["slug"], "acme");
    assert_eq!(s.take().len(), 1);
}

#[test]
fn hostile_triggers_are_refused_with_file_and_line_or_made_harmless() {
    // A file: URL, $HOME and $GITHUB_TOKEN in a URL, and a command: every
    // command refuses the file (or, for the command, notify does).
    for (webhook, want) in [
        ("file:///etc/passwd", "is not an http(s) URL"),
        ("https://example.com/$HOME", "`$HOME` is not read"),
        (
            "https://example.com/x?t=${GITHUB_TOKEN}",
            "`$GITHUB_TOKEN` is not read",
        ),
    ] {
        let t = Test::new().repo();
        let p = t.path().join("pipeline.yaml");
        let mut s = std::fs::read_to_string(&p).unwrap();
        let line = s.lines().count() + 4;
        s.push_str(&format!(
            "triggers:\n  - id: x\n    on: lead\n    webhook: \"{webhook}\"\n"
        ));
        std::fs::write(&p, s).unwrap();
        for cmd in [&["check"][..], &["notify", "--due"], &["list"]] {
            let out = t.cmd(cmd).code(2);
            assert!(
                out.stderr.contains(&format!("pipeline.yaml:{line}:")) && out.stderr.contains(want),
                "{cmd:?} {webhook}: {}",
                out.stderr
            );
        }
    }
    // A template that loops: bounded by fuel, the default sentence is
    // sent, with a warning naming the trigger.
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: loop\n    on: lead\n    text: \"{{% for i in range(100000) %}}{{% for j in range(100000) %}}x{{% endfor %}}{{% endfor %}}\"\n    webhook: {}\n",
        s.url()
    ));
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let out = notify(&t, &[&format!("{base}..HEAD")]).code(0);
    assert!(
        out.stderr.contains(&format!(
            "pipeline.yaml:{}: trigger `loop`: the text template failed",
            line_of(&t, "loop")
        )),
        "{}",
        out.stderr
    );
    assert_eq!(s.texts(), vec!["New lead: Acme, owner bob"]);
    // A template's values from deals are escaped too.
    let t = pipeline(&format!(
        "  - id: tpl\n    on: lead\n    text: \"Lead {{{{ deal.title }}}} for {{{{ deal.owner }}}}\"\n    webhook: {}\n",
        s.url()
    ));
    let base = head(&t);
    t.cmd(&["new", "<!here> Acme", "--slug", "acme", "--owner", "bob"])
        .code(0);
    notify(&t, &[&format!("{base}..HEAD")]).code(0);
    assert_eq!(s.texts(), vec!["Lead &lt;!here&gt; Acme for bob"]);
}

#[test]
fn notify_refuses_bad_ranges_and_unset_variables_before_sending() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: l\n    on: lead\n    webhook: {}\n",
        s.url()
    ));
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    // Neither a range nor --due.
    t.cmd(&["notify"]).code(2);
    // BASE not a first-parent ancestor of HEAD.
    notify(&t, &[&format!("HEAD..{base}")])
        .code(2)
        .stderr_has("is not a first-parent ancestor");
    notify(&t, &["HEAD"])
        .code(2)
        .stderr_has("is not a range BASE..HEAD");
    // An unset or empty $DEAL_… variable: exit 2, nothing sent.
    for v in [None, Some("")] {
        let mut env = vec![];
        if let Some(v) = v {
            env.push(("DEAL_HOOK", v));
        }
        let out = t
            .cmd_env(&env, &["notify", &format!("{base}..HEAD")])
            .code(2);
        assert!(
            out.stderr.contains("$DEAL_HOOK is unset or empty"),
            "{}",
            out.stderr
        );
    }
    assert!(s.take().is_empty());
    assert_eq!(notes(&t), "");
}

#[test]
fn review_names_trigger_changes_with_host_and_variables() {
    let t = pipeline(
        "  - id: won\n    on: won\n    webhook: https://hooks.slack.com/services/$DEAL_SLACK\n",
    );
    t.git(&["checkout", "-q", "-b", "pr"]);
    let p = t.path().join("pipeline.yaml");
    let s = std::fs::read_to_string(&p).unwrap().replace(
        "hooks.slack.com/services/$DEAL_SLACK",
        "collector.example/x/$DEAL_SLACK/${DEAL_MORE}",
    );
    std::fs::write(
        &p,
        format!(
            "{s}  - id: script\n    on: lead\n    source: website\n    command: ./on-lead.sh\n"
        ),
    )
    .unwrap();
    t.git(&["commit", "-q", "-am", "triggers"]);
    let json: serde_json::Value =
        serde_json::from_str(&t.cmd(&["review", "main..pr", "--format", "json"]).stdout).unwrap();
    assert_eq!(
        json["triggers"],
        serde_json::json!([
            "trigger `won` changed (delivery, was webhook to host `hooks.slack.com` (reads `$DEAL_SLACK`)): on `won` → webhook to host `collector.example` (reads `$DEAL_SLACK`, `$DEAL_MORE`)",
            "trigger `script` added: on `lead`, source `website` → command `./on-lead.sh`",
        ])
    );
    let md = t.cmd(&["review", "main..pr"]).stdout;
    assert!(md.contains("**Automation triggers changed**"), "{md}");
    assert!(md.contains("collector") && md.contains("on-lead"), "{md}");
}

/// Runs one step's `run:` script of docs/deal-notify.yml as GitHub does
/// (`bash -e`), in `dir`, with `deal` on PATH.
fn step(t: &Test, dir: &std::path::Path, name: &str, env: &[(&str, &str)]) -> Output {
    let wf: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deal-notify.yml"))
            .unwrap(),
    )
    .unwrap();
    let steps = wf["jobs"]["notify"]["steps"].as_sequence().unwrap();
    let script = steps
        .iter()
        .find(|s| s["name"].as_str() == Some(name))
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("no step {name}"));
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_deal"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(dir)
        .envs(t.env_vars())
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

#[test]
fn the_workflow_sends_a_pushed_range_once_and_merges_its_record() {
    let wf: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deal-notify.yml"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(wf["on"]["push"]["branches"][0], "main");
    assert_eq!(wf["on"]["schedule"][0]["cron"], "*/15 * * * *");
    assert_eq!(wf["concurrency"]["group"], "deal-notify");
    assert_eq!(wf["concurrency"]["cancel-in-progress"], false);

    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: lead\n    on: lead\n    webhook: {}\n",
        s.url()
    ));
    let origin = tempfile::tempdir().unwrap();
    t.git_in(origin.path(), &["init", "-q", "--bare"]);
    let o = origin.path().display().to_string();
    t.git(&["remote", "add", "origin", &o]);
    t.git(&["push", "-q", "origin", "main"]);
    let before = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    t.git(&["push", "-q", "origin", "main"]);
    let after = head(&t);
    let push = [
        ("EVENT", "push"),
        ("BEFORE", before.as_str()),
        ("AFTER", after.as_str()),
        ("DEAL_HOOK", "s3cret"),
    ];
    // A runner: a fresh clone, the record fetched, the range sent, the
    // record pushed.
    let runner = |name: &str| {
        let dir = t.path().parent().unwrap().join(name);
        t.git_in(t.path().parent().unwrap(), &["clone", "-q", &o, name]);
        let fetch = step(&t, &dir, "Fetch the delivery record", &[]);
        assert_eq!(fetch.code, 0, "{}", fetch.stderr);
        dir
    };
    let r1 = runner(&format!(
        "{}-r1",
        t.path().file_name().unwrap().to_str().unwrap()
    ));
    let send = step(&t, &r1, "Send", &push);
    assert_eq!(send.code, 0, "{}{}", send.stdout, send.stderr);
    assert_eq!(s.texts(), vec!["New lead: Acme, owner bob"]);
    let up = step(&t, &r1, "Push the delivery record", &[]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    // A second runner for the same push sends nothing: the record came
    // with the fetch.
    let r2 = runner(&format!(
        "{}-r2",
        t.path().file_name().unwrap().to_str().unwrap()
    ));
    let send = step(&t, &r2, "Send", &push);
    assert_eq!(send.code, 0, "{}", send.stderr);
    assert!(send.stdout.contains("Nothing to send."), "{}", send.stdout);
    assert!(s.take().is_empty());
    // Two runs that each recorded a delivery: the second push is refused,
    // merged with cat_sort_uniq, and pushed; both records are kept.
    t.cmd(&["new", "Initech", "--owner", "bob"]).code(0);
    t.git(&["push", "-q", "origin", "main"]);
    let newer = head(&t);
    let push2 = [
        ("EVENT", "push"),
        ("BEFORE", after.as_str()),
        ("AFTER", newer.as_str()),
        ("DEAL_HOOK", "s3cret"),
    ];
    t.git_in(&r1, &["fetch", "-q", "origin", "main"]);
    t.git_in(&r2, &["fetch", "-q", "origin", "main"]);
    let scheduled = step(
        &t,
        &r2,
        "Send",
        &[("EVENT", "schedule"), ("DEAL_HOOK", "s3cret")],
    );
    assert_eq!(scheduled.code, 0, "{}", scheduled.stderr);
    assert!(step(&t, &r1, "Send", &push2).code == 0);
    t.git_in(
        &r2,
        &[
            "notes",
            "--ref",
            "deal-notify",
            "add",
            "-m",
            "from another run",
            &before,
        ],
    );
    assert_eq!(step(&t, &r2, "Push the delivery record", &[]).code, 0);
    let up = step(&t, &r1, "Push the delivery record", &[]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let remote = t.git_in(origin.path(), &["notes", "--ref", "deal-notify", "list"]);
    assert_eq!(remote.lines().count(), 3, "{remote}");
    assert_eq!(s.texts(), vec!["New lead: Initech, owner bob"]);
    let _ = std::fs::remove_dir_all(&r1);
    let _ = std::fs::remove_dir_all(&r2);
}

#[test]
fn malformed_triggers_stop_every_command_with_file_line_and_key() {
    for (trigger, key, want) in [
        (
            "  - { id: a, on: won }\n",
            "triggers[0]",
            "exactly one of `webhook` and `command`",
        ),
        (
            "  - { id: a, on: won, webhook: 'https://x/', command: 'true' }\n",
            "triggers[0]",
            "exactly one of",
        ),
        (
            "  - { id: a, on: lunch, webhook: 'https://x/' }\n",
            "triggers[0].on",
            "unknown event `lunch`",
        ),
        (
            "  - { id: a, on: enter, webhook: 'https://x/' }\n",
            "triggers[0].on",
            "`enter` needs `stage`",
        ),
        (
            "  - { id: a, on: enter, stage: nope, webhook: 'https://x/' }\n",
            "triggers[0].stage",
            "`nope` is not a stage",
        ),
        (
            "  - { id: a, on: won, stage: proposal, webhook: 'https://x/' }\n",
            "triggers[0].stage",
            "has no `stage`",
        ),
        (
            "  - { id: a, on: won, channel: x, webhook: 'https://x/' }\n",
            "triggers[0].channel",
            "unknown key",
        ),
        (
            "  - { id: a, on: won, webhook: 'https://x/' }\n  - { id: a, on: lost, webhook: 'https://x/' }\n",
            "triggers[1].id",
            "duplicate trigger id `a`",
        ),
        (
            "  - { id: a, on: won, webhook: 'https://x/', text: '{{ deal.title ' }\n",
            "triggers[0].text",
            "does not parse",
        ),
    ] {
        let t = Test::new();
        let p = t.path().join("pipeline.yaml");
        let mut s = std::fs::read_to_string(&p).unwrap();
        let line = s.lines().count() + 2 + trigger.lines().count() - 1;
        s.push_str("triggers:\n");
        s.push_str(trigger);
        std::fs::write(&p, s).unwrap();
        for cmd in [&["check"][..], &["list"]] {
            let out = t.cmd(cmd).code(2);
            assert!(
                out.stderr.contains(&format!("pipeline.yaml:{line}:"))
                    && out.stderr.contains(&format!("{key}: "))
                    && out.stderr.contains(want),
                "{trigger}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn a_squash_of_several_moves_fires_each_once_and_a_merge_of_them_after_sends_nothing() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: stages\n    on: enter\n    stage: outreach\n    webhook: {u}\n  - id: qual\n    on: enter\n    stage: qualification\n    webhook: {u}\n",
        u = s.url()
    ));
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let base = head(&t);
    t.git(&["checkout", "-q", "-b", "work"]);
    at(
        &t,
        "2026-11-28",
        &["move", "acme", "outreach", "--force", "--reason", "r"],
    )
    .code(0);
    at(
        &t,
        "2026-11-29",
        &["move", "acme", "qualification", "--force", "--reason", "r"],
    )
    .code(0);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["merge", "-q", "--squash", "work"]);
    t.git(&["commit", "-q", "--no-edit"]);
    let range = format!("{base}..HEAD");
    notify(&t, &[&range]).code(0);
    assert_eq!(
        s.texts(),
        vec![
            "Acme entered Outreach, owner bob",
            "Acme entered Qualification, owner bob"
        ]
    );
    t.git(&["reset", "-q", "--hard", &base]);
    t.git(&["merge", "-q", "--no-ff", "-m", "merge work", "work"]);
    notify(&t, &[&range]).code(0).stdout("Nothing to send.\n");
    assert!(s.take().is_empty());
}

/// Tester finding: a merge (or a squash) of a branch that made a lead and
/// then added the trigger fired the lead; events written before the
/// trigger fire nothing in any merge style.
#[test]
fn events_written_before_the_trigger_fire_nothing_in_any_merge_style() {
    let s = Server::start();
    let t = Test::new().repo();
    let base = head(&t);
    t.git(&["checkout", "-q", "-b", "f"]);
    t.cmd(&["new", "Before Trig", "--email", "b@a.example"])
        .code(0);
    add_triggers(
        &t,
        &format!("  - id: lead\n    on: lead\n    webhook: {}\n", s.url()),
    );
    t.git(&["checkout", "-q", "main"]);
    let range = format!("{base}..HEAD");
    for style in ["merge", "squash", "ff", "rebase"] {
        t.git(&["reset", "-q", "--hard", &base]);
        match style {
            "merge" => {
                t.git(&["merge", "-q", "--no-ff", "-m", "M", "f"]);
            }
            "squash" => {
                t.git(&["merge", "-q", "--squash", "f"]);
                t.git(&["commit", "-q", "--no-edit"]);
            }
            "ff" => {
                t.git(&["merge", "-q", "--ff-only", "f"]);
            }
            _ => {
                t.git_at("2026-11-29T00:00:00Z", &["cherry-pick", "main..f"]);
            }
        }
        notify(&t, &[&range, "--dry-run"]).code(0).stdout("");
        notify(&t, &[&range]).code(0).stdout("Nothing to send.\n");
    }
    assert!(s.take().is_empty());
    // A lead written after the trigger was added fires, merged or squashed.
    t.git(&["checkout", "-q", "f"]);
    t.cmd(&["new", "After Trig", "--owner", "bob"]).code(0);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["reset", "-q", "--hard", &base]);
    t.git(&["merge", "-q", "--no-ff", "-m", "M", "f"]);
    notify(&t, &[&range]).code(0);
    assert_eq!(s.texts(), vec!["New lead: After Trig, owner bob"]);
}

/// Tester finding: an event the deal file has no time for (a move by hand
/// without `stages.<stage>`, a lead without `created`) was keyed by the
/// commit's date, so a squash of the same work sent it again.
#[test]
fn an_event_without_a_time_in_the_file_is_sent_once_whatever_the_merge() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: outreach\n    on: enter\n    stage: outreach\n    webhook: {u}\n  - id: lead\n    on: lead\n    webhook: {u}\n",
        u = s.url()
    ));
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let base = head(&t);
    t.git(&["checkout", "-q", "-b", "work"]);
    std::fs::create_dir_all(t.path().join("deals/02-outreach")).unwrap();
    t.git(&[
        "mv",
        "deals/01-prospecting/acme.md",
        "deals/02-outreach/acme.md",
    ]);
    std::fs::write(
        t.path().join("deals/01-prospecting/beta.md"),
        "---\ntitle: Beta\nowner: bob\n---\n",
    )
    .unwrap();
    t.git(&["add", "-A"]);
    t.git_at("2026-11-28T09:00:00Z", &["commit", "-q", "-m", "by hand"]);
    t.git(&["checkout", "-q", "main"]);
    t.git_at(
        "2026-11-28T10:00:00Z",
        &["merge", "-q", "--no-ff", "-m", "merge work", "work"],
    );
    let range = format!("{base}..HEAD");
    notify(&t, &[&range]).code(0);
    let mut got = s.texts();
    got.sort();
    assert_eq!(
        got,
        vec![
            "Acme entered Outreach, owner bob",
            "New lead: Beta, owner bob"
        ]
    );
    // The same work squashed, at another date: nothing again.
    t.git(&["reset", "-q", "--hard", &base]);
    t.git(&["merge", "-q", "--squash", "work"]);
    t.git_at("2026-11-30T10:00:00Z", &["commit", "-q", "--no-edit"]);
    notify(&t, &[&range]).code(0).stdout("Nothing to send.\n");
    assert!(s.take().is_empty());
}

/// Tester finding: a delivery sent but not recorded (a stale lock on the
/// notes ref) exited 0 and was sent again on every run; two runs at once
/// sent everything twice.
#[test]
fn a_delivery_not_recorded_fails_the_run_and_two_runs_at_once_send_once() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: lead\n    on: lead\n    webhook: {}\n",
        s.url()
    ));
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let range = format!("{base}..HEAD");
    let stale = t.path().join(".git/refs/notes/deal-notify.lock");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "").unwrap();
    notify(&t, &[&range])
        .code(1)
        .stderr_has("trigger `lead`: lead acme: sent, but not recorded in refs/notes/deal-notify");
    assert_eq!(s.texts().len(), 1);
    std::fs::remove_file(&stale).unwrap();
    // Two runs at once, against a receiver that takes a second to answer:
    // one sends, the other finds the record.
    t.cmd(&["new", "Initech", "--owner", "bob"]).code(0);
    s.set(Mode::Slow(1000));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_deal"))
                .args(["notify", &format!("{}..HEAD", base)])
                .current_dir(t.path())
                .envs(t.env_vars())
                .env("DEAL_HOOK", "s3cret")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runs {
        let out = r.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut got = s.texts();
    got.sort();
    assert_eq!(
        got,
        vec!["New lead: Acme, owner bob", "New lead: Initech, owner bob"]
    );
}

/// Tester finding: `stage:` as a list (flow or block) was refused by every
/// command with "`` is not a stage"; filters take a value or a list.
#[test]
fn stage_filters_take_a_list_flow_or_block() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: early\n    on: enter\n    stage: [outreach, qualification]\n    webhook: {u}\n  - id: forced\n    on: forced\n    stage:\n      - outreach\n      - won\n    webhook: {u}\n",
        u = s.url()
    ));
    t.cmd(&["check"]).code(0);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let base = head(&t);
    for to in ["outreach", "qualification", "won"] {
        t.cmd(&["move", "acme", to, "--force", "--reason", "r"])
            .code(0);
    }
    notify(&t, &[&format!("{base}..HEAD")]).code(0);
    assert_eq!(
        s.texts(),
        vec![
            "Acme entered Outreach, owner bob",
            "Forced move: Acme to Outreach (r), by alice, owner bob",
            "Acme entered Qualification, owner bob",
            "Forced move: Acme to won (r), by alice, owner bob",
        ]
    );
    // A stage in the list that is not one is named.
    let t = Test::new();
    let p = t.path().join("pipeline.yaml");
    let mut y = std::fs::read_to_string(&p).unwrap();
    let line = y.lines().count() + 4;
    y.push_str("triggers:\n  - id: a\n    on: enter\n    stage: [outreach, nope]\n    webhook: https://x/\n");
    std::fs::write(&p, y).unwrap();
    let out = t.cmd(&["check"]).code(2);
    assert!(
        out.stderr.contains(&format!("pipeline.yaml:{line}:"))
            && out.stderr.contains("`nope` is not a stage"),
        "{}",
        out.stderr
    );
}

/// Tester finding: an unset `$DEAL_…` was only found when its own trigger
/// fired; every webhook's variables are checked before anything is sent.
#[test]
fn every_webhooks_variables_are_checked_before_anything_is_sent() {
    let s = Server::start();
    let t = pipeline(&format!(
        "  - id: lead\n    on: lead\n    webhook: {}\n  - id: won\n    on: won\n    webhook: http://127.0.0.1:{}/won/$DEAL_WON_HOOK\n",
        s.url(),
        s.port
    ));
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let range = format!("{base}..HEAD");
    let out = notify(&t, &[&range]).code(2);
    assert!(
        out.stderr.contains(&format!(
            "pipeline.yaml:{}: trigger `won`: the webhook's $DEAL_WON_HOOK is unset or empty; nothing was sent",
            line_of(&t, "won")
        )),
        "{}",
        out.stderr
    );
    assert!(s.take().is_empty());
    assert_eq!(notes(&t), "");
    t.cmd_env(
        &[("DEAL_HOOK", "s3cret"), ("DEAL_WON_HOOK", "w")],
        &["notify", &range],
    )
    .code(0);
    assert_eq!(s.texts(), vec!["New lead: Acme, owner bob"]);
    // Nothing to send: nothing to check.
    notify(&t, &[&range]).code(0).stdout("Nothing to send.\n");
}

/// Tester findings: a trigger with no `id:` was refused without a line;
/// an owner not in the team, an impossible port and a URL only the run's
/// parser refused passed `check`.
#[test]
fn a_missing_id_an_unknown_owner_and_a_url_delivery_cannot_parse_are_refused_with_lines() {
    for (trigger, key, want) in [
        (
            "  - on: won\n    webhook: https://x/\n",
            "triggers[0]: ",
            "a trigger needs an `id`",
        ),
        (
            "  - id: a\n    on: won\n    owner: zed\n    webhook: https://x/\n",
            "triggers[0].owner: ",
            "owner `zed` is not in team",
        ),
        (
            "  - id: a\n    on: won\n    webhook: http://127.0.0.1:99999/x\n",
            "triggers[0].webhook: ",
            "port `99999` is not one from 1 to 65535",
        ),
        (
            "  - id: a\n    on: won\n    webhook: http://127.0.0.1:18727\\@hooks.slack.com/u3\n",
            "triggers[0].webhook: ",
            "is not a URL",
        ),
    ] {
        let t = Test::new();
        let p = t.path().join("pipeline.yaml");
        let mut s = std::fs::read_to_string(&p).unwrap();
        let first = s.lines().count() + 2;
        s.push_str("triggers:\n");
        s.push_str(trigger);
        std::fs::write(&p, s).unwrap();
        // The line of the key named (the item's own for a missing id).
        let field = key.trim_end_matches(": ").rsplit('.').next().unwrap();
        let line = if field.starts_with("triggers[") {
            first
        } else {
            first
                + trigger
                    .lines()
                    .position(|l| {
                        l.trim_start()
                            .trim_start_matches("- ")
                            .starts_with(&format!("{field}:"))
                    })
                    .unwrap()
        };
        let out = t.cmd(&["check"]).code(2);
        assert!(
            out.stderr.contains(&format!("pipeline.yaml:{line}:"))
                && out.stderr.contains(key)
                && out.stderr.contains(want),
            "{trigger}: {}",
            out.stderr
        );
    }
}

/// Tester finding: a command trigger had no timeout; it is killed after
/// its bound (60 s; shortened here), named, not recorded, exit 1.
#[test]
fn a_command_that_does_not_finish_is_killed_named_and_not_recorded() {
    let t = pipeline("  - id: slow\n    on: lead\n    command: sleep 30; touch late\n");
    let base = head(&t);
    t.cmd(&["new", "Acme", "--owner", "bob"]).code(0);
    let started = std::time::Instant::now();
    let out = t
        .cmd_env(
            &[("DEAL_TEST_NOTIFY_TIMEOUT_MS", "300")],
            &["notify", &format!("{base}..HEAD"), "--allow-commands"],
        )
        .code(1);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        out.stderr.contains(&format!(
            "pipeline.yaml:{}: trigger `slow`: lead acme: not delivered: the command did not finish within 0.3 s and was killed",
            line_of(&t, "slow")
        )),
        "{}",
        out.stderr
    );
    assert_eq!(notes(&t), "");
}
