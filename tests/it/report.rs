//! `deal report` and `deal stats`: metrics worked out by hand, escaping,
//! reproducibility, `--rev`, and the page as a person sees it in a real
//! headless browser.

use serde_json::{Value, json};

use crate::{Test, assert_subset};

/// A pipeline whose every figure is worked out by hand below.
/// "Now" is 2026-11-27T12:00:00Z; inbound sources are inbound-form, website
/// and chat; probabilities are 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9.
fn metrics_test() -> Test {
    let d = |stages: &str, extra: &str| {
        format!("---\ntitle: T\n{extra}stages:\n{stages}---\n# Notes\n")
    };
    Test::new()
        // open, prospecting: inbound, contacted after 4 minutes
        .deal("01-prospecting/a.md", &d("  prospecting: 2026-11-20\n",
            "company: Alpha\nowner: alice\nvalue: 10000\nsource: inbound-form\ncreated: 2026-11-20T00:00:00Z\nfirst_contact: 2026-11-20T00:04:00Z\n"))
        // open, outreach: inbound, contacted after 10 minutes
        .deal("02-outreach/b.md", &d("  prospecting: 2026-11-01\n  outreach: 2026-11-05\n",
            "company: Beta\nowner: alice\nvalue: 20000\nsource: website\ncreated: 2026-11-01T00:00:00Z\nfirst_contact: 2026-11-01T00:10:00Z\n"))
        // open, proposal, in USD: counted, left out of every sum
        .deal("05-proposal/c.md", &d("  prospecting: 2026-10-01\n  qualification: 2026-10-11\n  proposal: 2026-10-21\n",
            "company: Gamma\nowner: bob\nvalue: 40000\ncurrency: USD\n"))
        // won after 30 days (created 09-01), with a waiver: a forced move
        .deal("won/w1.md", &d("  prospecting: 2026-09-01\n  outreach: 2026-09-03\n  qualification: 2026-09-08\n  won: 2026-10-01\n",
            "company: Won One\nowner: bob\nvalue: 30000\ncreated: 2026-09-01T00:00:00Z\nwaived:\n  discovery: signed early\n"))
        // won after 50 days (no created: the earliest stage date counts)
        .deal("won/w2.md", &d("  prospecting: 2026-08-01\n  close: 2026-09-10\n  won: 2026-09-20\n",
            "company: Won Two\nowner: bob\nvalue: 50000\n"))
        .deal("lost/l1.md", &d("  prospecting: 2026-10-01\n  outreach: 2026-10-02\n  lost: 2026-10-20\n",
            "company: Lost One\nowner: alice\nvalue: 15000\nlost:\n  reason: no budget\n  stage: outreach\n  at: 2026-10-20\n"))
        // inbound, never contacted
        .deal("lost/l2.md", &d("  prospecting: 2026-10-05\n  lost: 2026-10-06\n",
            "company: Lost Two\nowner: alice\nvalue: 5000\nsource: chat\ncreated: 2026-10-05T00:00:00Z\nlost:\n  reason: no budget\n  stage: prospecting\n"))
        .deal("lost/l3.md", &d("  outreach: 2026-10-10\n  lost: 2026-10-12\n",
            "company: Lost Three\nowner: dana\nlost:\n  reason: competitor\n  stage: outreach\n"))
}

/// Every key of the stats JSON (docs/reference.md, "Stats and the report"), worked out by hand.
fn expected() -> Value {
    json!({
        // a, b, c open; w1, w2 won; l1, l2, l3 lost
        "deals": 8, "open": 3, "won": 2, "lost": 3,
        // 2 ÷ (2 + 3)
        "win_rate": 0.4,
        // 30,000 + 50,000; ÷ 2
        "won_value": 80000, "avg_won_value": 40000,
        // w1: 09-01 → 10-01 = 30 d; w2: 08-01 → 09-20 = 50 d; median 40
        "cycle_days_median": 40.0,
        // a 10,000 × 0.05 + b 20,000 × 0.1; c is in USD
        "weighted_pipeline": 2500,
        // 3 open × 0.4 × 40,000 ÷ 40
        "velocity_per_day": 1200,
        // a 4 min, b 10 min (l2 never contacted): (4 + 10) ÷ 2
        "speed_to_lead_minutes_median": 7.0,
        "stages": [
            // entered: all 8 (l3 is lost at outreach, after prospecting).
            // went on: b, c, w1, w2, l1, l3 = 6 of 8.
            // left: b 4 d, c 10 d, w1 2 d, w2 40 d, l1 1 d, l2 1 d → median (2 + 4) ÷ 2 = 3
            { "id": "prospecting", "open": 1, "value": 10000, "entered": 8, "conversion": 0.75, "median_days": 3.0, "lost_here": 1 },
            // entered: b, c, w1, w2, l1, l3; went on: c, w1, w2 = 3 of 6.
            // left: w1 5 d, l1 18 d, l3 2 d → 5
            { "id": "outreach", "open": 1, "value": 20000, "entered": 6, "conversion": 0.5, "median_days": 5.0, "lost_here": 2 },
            // entered: c, w1, w2, all went on. left: c 10 d, w1 23 d → 16.5
            { "id": "qualification", "open": 0, "value": 0, "entered": 3, "conversion": 1.0, "median_days": 16.5, "lost_here": 0 },
            // nobody has stages.discovery: no median
            { "id": "discovery", "open": 0, "value": 0, "entered": 3, "conversion": 1.0, "median_days": null, "lost_here": 0 },
            // c sits here (USD: value 0 in sums); w1, w2 went on: 2 of 3
            { "id": "proposal", "open": 1, "value": 0, "entered": 3, "conversion": 0.6667, "median_days": null, "lost_here": 0 },
            { "id": "negotiation", "open": 0, "value": 0, "entered": 2, "conversion": 1.0, "median_days": null, "lost_here": 0 },
            // w2: close 09-10 → won 09-20
            { "id": "close", "open": 0, "value": 0, "entered": 2, "conversion": 1.0, "median_days": 10.0, "lost_here": 0 }
        ],
        "lost_reasons": [
            { "stage": "prospecting", "reason": "no budget", "count": 1 },
            { "stage": "outreach", "reason": "competitor", "count": 1 },
            { "stage": "outreach", "reason": "no budget", "count": 1 }
        ],
        "owners": [
            { "owner": "alice", "open": 2, "value": 30000, "won": 0, "lost": 2, "forced": 0 },
            // w1's waiver is in the older form (the reason alone): it
            // names nobody, so it counts under "(not recorded)", not bob.
            { "owner": "bob", "open": 1, "value": 0, "won": 2, "lost": 0, "forced": 0 },
            { "owner": "dana", "open": 0, "value": 0, "won": 0, "lost": 1, "forced": 0 },
            { "owner": "(not recorded)", "open": 0, "value": 0, "won": 0, "lost": 0, "forced": 1, "waivers": 1 }
        ]
    })
}

#[test]
fn stats_json_matches_the_hand_worked_figures() {
    let t = metrics_test();
    let out = t.cmd(&["stats", "--format", "json"]).code(0);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_subset(&expected(), &got, "stats");
    assert_eq!(got["currency_mismatch"], json!(["c"]));
}

#[test]
fn the_null_cases() {
    // No closed deals: no win rate, no average, no cycle, no velocity, no
    // speed to lead; no deal left any stage.
    let t = Test::new().deal(
        "01-prospecting/a.md",
        "---\ntitle: A\nowner: alice\nvalue: 100\nstages:\n  prospecting: 2026-11-20\n---\n",
    );
    let out = t.cmd(&["stats", "--format", "json"]).code(0);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    for k in [
        "win_rate",
        "avg_won_value",
        "cycle_days_median",
        "velocity_per_day",
        "speed_to_lead_minutes_median",
    ] {
        assert_eq!(got[k], Value::Null, "{k}");
    }
    assert_eq!(got["stages"][0]["median_days"], Value::Null);
    assert_eq!(got["stages"][0]["conversion"].as_f64(), Some(0.0));
    assert_eq!(
        got["stages"][1]["conversion"],
        Value::Null,
        "nobody entered outreach"
    );
    // An empty pipeline.
    let t = Test::new();
    let got: Value =
        serde_json::from_str(&t.cmd(&["stats", "--format", "json"]).code(0).stdout).unwrap();
    assert_eq!(got["deals"], json!(0));
    assert_eq!(got["weighted_pipeline"], json!(0));
}

fn read(t: &Test, rel: &str) -> String {
    std::fs::read_to_string(t.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn the_report_shows_the_same_figures() {
    let t = metrics_test();
    t.cmd(&["report"])
        .code(0)
        .stdout_has("Wrote report/index.html and 8 deal pages.");
    // The cells, without the phone layout's column names and row headers.
    let html = read(&t, "report/index.html");
    let html = regex::Regex::new(r#" data-label="[^"]*""#)
        .unwrap()
        .replace_all(&html, "");
    let html = regex::Regex::new(r#"<th scope="row">([^<]*)</th>"#)
        .unwrap()
        .replace_all(&html, "<td>$1</td>")
        .into_owned();
    for want in [
        // Key figures
        r#"data-kpi="Open deals">3<"#,
        r#"data-kpi="Weighted pipeline">2,500 EUR<"#,
        r#"data-kpi="Win rate">40.0%<"#,
        r#"data-kpi="Average won deal">40,000 EUR<"#,
        r#"data-kpi="Sales cycle">40.0 d<"#,
        r#"data-kpi="Velocity">1,200 EUR&#x2f;day<"#,
        r#"data-kpi="Speed to lead">7 min<"#,
        r#"Win rate <strong data-figure="win-rate">40.0%</strong> (2 won, 3 lost)"#,
        // Stages: open, value, weighted, entered, went on, conversion, median days, lost here
        r#"<td>Prospecting</td><td class="num">1</td><td class="num">10,000</td><td class="num">500</td><td class="num">8</td><td class="num">6</td><td class="num">75.0%</td><td class="num">3.0 d</td><td class="num">1</td>"#,
        r#"<td>Outreach</td><td class="num">1</td><td class="num">20,000</td><td class="num">2,000</td><td class="num">6</td><td class="num">3</td><td class="num">50.0%</td><td class="num">5.0 d</td><td class="num">2</td>"#,
        r#"<td>Qualification</td><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">3</td><td class="num">3</td><td class="num">100.0%</td><td class="num">16.5 d</td><td class="num">0</td>"#,
        r#"<td>Discovery</td><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">3</td><td class="num">3</td><td class="num">100.0%</td><td class="num">–</td><td class="num">0</td>"#,
        r#"<td>Proposal</td><td class="num">1</td><td class="num">0</td><td class="num">0</td><td class="num">3</td><td class="num">2</td><td class="num">66.7%</td><td class="num">–</td><td class="num">0</td>"#,
        r#"<td>Close</td><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">2</td><td class="num">2</td><td class="num">100.0%</td><td class="num">10.0 d</td><td class="num">0</td>"#,
        // Lost reasons by stage
        r#"<tr><td>prospecting</td><td>no budget</td><td class="num">1</td></tr>"#,
        r#"<tr><td>outreach</td><td>competitor</td><td class="num">1</td></tr>"#,
        r#"<tr><td>outreach</td><td>no budget</td><td class="num">1</td></tr>"#,
        // Owners: open, value, won, lost, rotting, forced, waived. Rotting:
        // b (22 days in outreach, rots after 7) and c (37 days in proposal,
        // rots after 14); a (7 days in prospecting, 14) is not.
        r#"<td>Alice Smith <span class="muted">alice</span></td><td class="num">2</td><td class="num">30,000</td><td class="num">0</td><td class="num">2</td><td class="num">1</td><td class="num">0</td><td class="num">0</td>"#,
        r#"<td>Bob Jones <span class="muted">bob</span></td><td class="num">1</td><td class="num">0</td><td class="num">2</td><td class="num">0</td><td class="num">1</td><td class="num">0</td><td class="num">0</td>"#,
        // w1's older waiver names nobody.
        r#"<td>(not recorded) <span class="muted">(not recorded)</span></td><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">1</td><td class="num">1</td>"#,
        r#"<td>Dana Lee <span class="muted">dana</span></td><td class="num">0</td><td class="num">0</td><td class="num">0</td><td class="num">1</td><td class="num">0</td><td class="num">0</td><td class="num">0</td>"#,
        "Left out of the sums (another currency): c.",
        // The funnel: only lost deals dropped; open ones are still open.
        "6 went on (75.0%) · 1 lost here (12.5% dropped) · 1 still open",
        "2 went on (66.7%) · none lost here · 1 still open",
    ] {
        assert!(html.contains(want), "index.html lacks {want}");
    }
    for slug in ["a", "b", "c", "w1", "w2", "l1", "l2", "l3"] {
        assert!(t.path().join(format!("report/deals/{slug}.html")).exists());
    }
}

#[test]
fn nothing_from_a_deal_survives_as_markup() {
    let t = Test::new()
        .config_replace(
            "name: Dana Lee",
            r#"name: "Dana \"the closer\" <b>Lee</b>""#,
        )
        .deal(
            "05-proposal/evil.md",
            r#"---
title: "<script>alert('title')</script>"
company: "<img src=x onerror=alert('company')>"
owner: dana
contract: "javascript:alert('contract')"
contact:
  email: "\"><script>alert('email')</script>"
  url: "javascript:alert('contact url')"
  profile: "https://example.com/jane"
custom: "<svg onload=alert('custom')>"
stages:
  proposal: 2026-11-20
---
# Body

<img src=x onerror="alert('body img')">

<script>alert('body script')</script>

[click](javascript:alert('link')) and [ok](https://example.com) and
![pic](javascript:alert('image')) and <a href="javascript:alert('raw')">raw</a>
"#,
        );
    t.cmd(&["report"]).code(0);
    for page in ["report/index.html", "report/deals/evil.html"] {
        let html = read(&t, page);
        // Every tag in the page is one of ours: no script, image, event
        // handler or javascript: target came through from the data.
        for tag in tags(&html) {
            let t = tag.to_lowercase();
            for bad in [
                "<script",
                "<img",
                "<svg onload",
                "onerror",
                "onload",
                "javascript:",
                "<b>",
            ] {
                assert!(!t.contains(bad), "{page} holds the tag {tag}");
            }
        }
    }
    let deal = read(&t, "report/deals/evil.html");
    // Shown as text, escaped.
    for text in [
        "&lt;script&gt;alert(&#x27;title&#x27;)&lt;&#x2f;script&gt;",
        "&lt;img src=x onerror=\"alert('body img')\"&gt;",
        "&lt;script&gt;alert('body script')&lt;/script&gt;",
        "Dana &quot;the closer&quot; &lt;b&gt;Lee&lt;&#x2f;b&gt;",
        r#"<a href="https://example.com">ok</a>"#,
        r#"<dt>Contact url</dt><dd>javascript:alert(&#x27;contact url&#x27;)</dd>"#,
        r#"<a href="https:&#x2f;&#x2f;example.com&#x2f;jane">https:&#x2f;&#x2f;example.com&#x2f;jane</a>"#,
    ] {
        assert!(deal.contains(text), "evil.html lacks {text}\n{deal}");
    }
    // The unsafe link keeps its text, not its target.
    assert!(deal.contains("click and"), "{deal}");
    // The page cannot run or load anything, even if a filter were wrong.
    assert!(deal.contains("Content-Security-Policy"));
}

/// The tags of an HTML page: every `<…>`.
fn tags(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(a) = rest.find('<') {
        let Some(b) = rest[a..].find('>') else { break };
        out.push(&rest[a..a + b + 1]);
        rest = &rest[a + b + 1..];
    }
    out
}

fn hashes(dir: &std::path::Path) -> Vec<(String, u64)> {
    use std::hash::{Hash, Hasher};
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let bytes = std::fs::read(e.path()).unwrap();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            out.push((
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                h.finish(),
            ));
        }
    }
    out
}

#[test]
fn two_runs_are_byte_identical() {
    let t = metrics_test();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    t.cmd(&["report", "-o", a.path().to_str().unwrap()]).code(0);
    t.cmd(&["report", "-o", b.path().to_str().unwrap()]).code(0);
    let (ha, hb) = (hashes(a.path()), hashes(b.path()));
    assert_eq!(ha.len(), 10, "nine pages and the manifest (.deal-report)");
    assert_eq!(ha, hb);
    // A different "now" changes the output: the comparison can fail.
    let c = tempfile::tempdir().unwrap();
    t.cmd_env(
        &[("SOURCE_DATE_EPOCH", "1795867200")],
        &["report", "-o", c.path().to_str().unwrap()],
    )
    .code(0);
    assert_ne!(ha, hashes(c.path()));
}

#[test]
fn a_rerun_rewrites_only_the_pages_that_changed() {
    let t = metrics_test();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    t.cmd(&["report", "-o", o]).code(0);
    let first = hashes(out.path());
    // Age every page, then change one deal, shrink another's page by hand
    // (a stale, longer file), and plant a stray byte in a third.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for e in walkdir::WalkDir::new(out.path()) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let f = std::fs::File::options().write(true).open(e.path()).unwrap();
            f.set_modified(old).unwrap();
        }
    }
    let page = |slug: &str| out.path().join(format!("deals/{slug}.html"));
    let a = std::fs::read_to_string(t.path().join("deals/01-prospecting/a.md")).unwrap();
    std::fs::write(
        t.path().join("deals/01-prospecting/a.md"),
        a.replace("company: Alpha", "company: Alpha Two"),
    )
    .unwrap();
    let longer = format!(
        "{}<!-- stale tail -->",
        std::fs::read_to_string(page("b")).unwrap()
    );
    std::fs::write(page("b"), longer).unwrap();
    let mut c = std::fs::read(page("c")).unwrap();
    c[0] = b'X';
    std::fs::write(page("c"), &c).unwrap();
    let old_b = std::fs::File::options()
        .write(true)
        .open(page("b"))
        .unwrap();
    old_b.set_modified(old).unwrap();
    t.cmd(&["report", "-o", o]).code(0);
    let mtime = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    // Pages whose bytes are the same keep their time; the rest are rewritten.
    assert_eq!(mtime(&page("w1")), old);
    assert_ne!(mtime(&page("a")), old);
    assert_ne!(mtime(&page("b")), old);
    assert!(
        std::fs::read_to_string(page("a"))
            .unwrap()
            .contains("Alpha Two")
    );
    // Every page equals a report written into an empty folder.
    let fresh = tempfile::tempdir().unwrap();
    t.cmd(&["report", "-o", fresh.path().to_str().unwrap()])
        .code(0);
    assert_eq!(hashes(out.path()), hashes(fresh.path()));
    assert_ne!(hashes(out.path()), first);
    // Something that is not a file where a page goes: refused by name.
    std::fs::remove_file(page("w2")).unwrap();
    std::fs::create_dir(page("w2")).unwrap();
    t.cmd(&["report", "-o", o]).code(2).stderr_has("w2.html");
}

#[test]
fn rev_renders_an_older_pipeline_without_touching_the_work_tree() {
    let deal = |t: &str| {
        format!(
            "---\ntitle: {t}\nowner: alice\ncompany: {t}\nstages:\n  prospecting: 2026-11-20\n---\n"
        )
    };
    let t = Test::new()
        .deal("01-prospecting/one.md", &deal("One Corp"))
        .repo();
    for (i, name) in ["two", "three", "four"].iter().enumerate() {
        std::fs::write(
            t.path().join(format!("deals/01-prospecting/{name}.md")),
            deal(name),
        )
        .unwrap();
        t.git(&["add", "-A"]);
        t.git(&["commit", "-q", "-m", &format!("add {name} ({i})")]);
    }
    // Uncommitted work in progress.
    std::fs::write(t.path().join("deals/01-prospecting/five.md"), deal("five")).unwrap();
    let before = t.state();
    let out = tempfile::tempdir().unwrap();
    t.cmd(&[
        "report",
        "--rev",
        "HEAD~3",
        "-o",
        out.path().to_str().unwrap(),
    ])
    .code(0);
    assert_eq!(t.state(), before);
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(
        html.contains(r#"aria-label="Prospecting: 1 deal""#),
        "{html}"
    );
    assert!(html.contains("One Corp"));
    let now = tempfile::tempdir().unwrap();
    t.cmd(&["report", "-o", now.path().to_str().unwrap()])
        .code(0);
    let html = std::fs::read_to_string(now.path().join("index.html")).unwrap();
    assert!(html.contains(r#"aria-label="Prospecting: 5 deals""#));
    // What changed since then.
    t.cmd(&[
        "report",
        "--since",
        "HEAD~2",
        "-o",
        now.path().to_str().unwrap(),
    ])
    .code(0);
    let html = std::fs::read_to_string(now.path().join("index.html")).unwrap();
    assert!(html.contains("What changed since HEAD~2"));
    assert!(html.contains("<h3>New (3)</h3>"), "{html}");
    t.cmd(&["report", "--rev", "nope"])
        .code(2)
        .stderr_has("`nope` is not a commit here");
}

/// Starts a proxy on loopback that records the first line of every request
/// sent to it, so the test can see any network access the page makes.
///
/// A request is bytes sent: Chromium also opens connections it never uses
/// (a preconnect, a socket it closes when the page is done), and such a
/// connection, which sends nothing, is not a request. Each connection is
/// read on its own thread until its first line is complete, so one silent
/// connection never delays another's line past the check.
fn recording_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                if let Some(line) = first_line(s) {
                    log.lock().unwrap().push(line);
                }
            });
        }
    });
    (port, seen)
}

/// The first line a connection sends (what it sent, if it closes before a
/// line ends), or `None` when it sends nothing at all.
fn first_line(mut s: std::net::TcpStream) -> Option<String> {
    use std::io::Read;
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.contains(&b'\n') && got.len() < 4096 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    if got.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&got);
    Some(text.lines().next().unwrap_or("").to_string())
}

#[test]
fn a_connection_that_sends_nothing_is_not_a_request() {
    let (port, seen) = recording_proxy();
    // Silent: opened and closed; opened and left open past the check.
    drop(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A request sent in two pieces is one request, with its whole line.
    {
        use std::io::Write;
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.write_all(b"GET http://example.invalid/").unwrap();
        c.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        c.write_all(b"x HTTP/1.1\r\nHost: example.invalid\r\n\r\n")
            .unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        *seen.lock().unwrap(),
        vec!["GET http://example.invalid/x HTTP/1.1".to_string()]
    );
}

/// Requests Chromium makes on its own (clock, component updates, accounts),
/// whatever page it shows.
fn browser_own(line: &str) -> bool {
    ["google.com", "googleapis.com", "gvt1.com", "gstatic.com"]
        .iter()
        .any(|h| {
            line.contains(&format!(".{h}"))
                || line.contains(&format!("//{h}"))
                || line.contains(&format!(" {h}"))
        })
}

fn chromium(args: &[String]) -> String {
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .args(args)
        .output()
        .expect("chromium runs (Debian package `chromium`; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's DOM, loaded from file:// through a recording proxy; returns
/// the DOM and the page's own requests.
fn load(url: &str) -> (String, Vec<String>) {
    let (port, seen) = recording_proxy();
    let dom = chromium(&[
        format!("--proxy-server=http://127.0.0.1:{port}"),
        "--proxy-bypass-list=<-loopback>".into(),
        "--virtual-time-budget=3000".into(),
        "--dump-dom".into(),
        url.into(),
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let requests = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|l| !browser_own(l))
        .cloned()
        .collect();
    (dom, requests)
}

/// The text a person reads: the DOM without tags, styles or scripts,
/// entities decoded, whitespace collapsed.
fn visible_text(dom: &str) -> String {
    let mut s = dom.to_string();
    for tag in ["style", "script"] {
        while let (Some(a), Some(b)) = (s.find(&format!("<{tag}")), s.find(&format!("</{tag}>"))) {
            if b < a {
                break;
            }
            s.replace_range(a..b + tag.len() + 3, " ");
        }
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_person_sees_the_board_in_a_real_browser() {
    if !crate::have_tool(
        "chromium",
        "report::a_person_sees_the_board_in_a_real_browser",
        "apt-get install chromium",
    ) {
        return;
    }
    let t = metrics_test();
    t.cmd(&["report"]).code(0);
    let index = t.path().join("report/index.html");
    let url = format!("file://{}", index.display());
    let (dom, requests) = load(&url);
    assert!(
        requests.is_empty(),
        "the report made network requests: {requests:?}"
    );
    let text = visible_text(&dom);
    // Each stage column, with its count.
    for (name, n) in [
        ("Prospecting", 1),
        ("Outreach", 1),
        ("Qualification", 0),
        ("Discovery", 0),
        ("Proposal", 1),
        ("Negotiation", 0),
        ("Close", 0),
    ] {
        let label = format!(
            "aria-label=\"{name}: {n} deal{}\"",
            if n == 1 { "" } else { "s" }
        );
        assert!(dom.contains(&label), "no column {label}");
    }
    assert!(
        text.contains("Prospecting 1 10,000 · weighted 500"),
        "{text}"
    );
    // A known deal's card: company, owner, value, days in stage, criteria.
    assert!(
        text.contains("Beta alice 20,000 22.5 d in stage ✖ 0/1"),
        "Beta's card is not shown as expected:\n{text}"
    );
    // The win rate figure.
    assert!(text.contains("Win rate 40.0% (2 won, 3 lost)"), "{text}");
    // A screenshot, for people.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    chromium(&[
        "--window-size=1400,1800".into(),
        format!("--screenshot={}", shot.display()),
        url,
    ]);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
}

#[test]
fn the_network_check_can_fail() {
    if !crate::have_tool(
        "chromium",
        "report::the_network_check_can_fail",
        "apt-get install chromium",
    ) {
        return;
    }
    // A page that loads an image from the network is caught.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("p.html");
    std::fs::write(
        &page,
        "<p>x</p><img src=\"http://example.invalid/pixel.png\">",
    )
    .unwrap();
    let (_, requests) = load(&format!("file://{}", page.display()));
    assert!(
        requests.iter().any(|r| r.contains("example.invalid")),
        "{requests:?}"
    );
}

#[test]
fn a_same_minute_win_takes_a_day_and_open_deals_have_not_dropped() {
    // One deal won three minutes after it was created; two deals open in
    // proposal, none lost anywhere.
    let d = |stages: &str, extra: &str| {
        format!("---\ntitle: T\nowner: bob\n{extra}stages:\n{stages}---\n# Notes\n")
    };
    let t = Test::new()
        .deal(
            "won/fast.md",
            &d(
                "  prospecting: 2026-11-20T12:00:00Z\n  won: 2026-11-20T12:03:00Z\n",
                "value: 48000\ncreated: 2026-11-20T12:00:00Z\n",
            ),
        )
        .deal(
            "05-proposal/p1.md",
            &d("  proposal: 2026-11-10\n", "value: 10000\n"),
        )
        .deal(
            "05-proposal/p2.md",
            &d("  proposal: 2026-11-12\n", "value: 20000\n"),
        );
    let out = t.cmd(&["stats", "--format", "json"]).code(0);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    // The cycle counts as a day, so velocity is open × win rate × average
    // won ÷ 1 = 2 × 1.0 × 48,000, not 48,000 ÷ (3 / 1440).
    assert_subset(
        &json!({"cycle_days_median": 1.0, "velocity_per_day": 96000.0, "win_rate": 1.0}),
        &got,
        "stats",
    );
    let proposal = &got["stages"][4];
    assert_subset(
        &json!({"id": "proposal", "open": 2, "entered": 3, "went_on": 1, "lost_here": 0}),
        proposal,
        "proposal",
    );
    t.cmd(&["stats"])
        .code(0)
        .stdout_has("Sales cycle 1.0 days (median). Velocity 96,000 EUR/day.");
    t.cmd(&["report"]).code(0);
    let html = read(&t, "report/index.html");
    // Proposal: one went on (the win), two are still open, none dropped.
    assert!(
        html.contains("1 went on (33.3%) · none lost here · 2 still open"),
        "{html}"
    );
    assert!(
        !html.contains("% dropped"),
        "nobody was lost, nobody dropped"
    );
}

#[test]
fn deal_pages_drop_prompts_and_show_objections_as_a_table() {
    let t = Test::new()
        .deal(
            "06-negotiation/acme.md",
            "---\ntitle: Acme\nowner: bob\nobjections:\n  - { objection: Price <b>high</b>, response: Phased plan, resolved: true }\n  - objection: Timing\n    resolved: false\nmilestones:\n  - { name: Pilot, due: 2026-12-01 }\n  - { name: Rollout }\ntags: [k8s, eu]\n---\n# Acme\n",
        )
        .repo();
    // A scaffolded note, left unfilled: its prompts are HTML comments.
    t.cmd(&["note", "acme", "qualification"]).code(0);
    t.cmd(&["note", "acme", "call"]).code(0);
    let deal = std::fs::read_to_string(t.path().join("deals/06-negotiation/acme.md")).unwrap();
    assert!(deal.contains("<!-- "), "the scaffold has prompts: {deal}");
    t.cmd(&["report"]).code(0);
    let page = read(&t, "report/deals/acme.html");
    assert!(!page.contains("&lt;!--"), "a prompt shown as text:\n{page}");
    assert!(
        !page.contains("is money set aside"),
        "a prompt's words:\n{page}"
    );
    assert!(page.contains("<h3>Budget</h3>"), "{page}");
    // Objections: a table of objection, response, resolved; escaped.
    let table = page
        .split("<table class=\"stack\" data-table=\"objections\">")
        .nth(1)
        .and_then(|r| r.split("</table>").next())
        .unwrap_or_else(|| panic!("no objections table:\n{page}"));
    assert!(
        table.contains("<th>objection</th><th>response</th><th>resolved</th>"),
        "{table}"
    );
    assert!(
        table.contains(
            "<td data-label=\"objection\">Price &lt;b&gt;high&lt;&#x2f;b&gt;</td><td data-label=\"response\">Phased plan</td><td data-label=\"resolved\">✔ yes</td>"
        ),
        "{table}"
    );
    assert!(
        table.contains("<td data-label=\"objection\">Timing</td><td data-label=\"response\"></td><td data-label=\"resolved\">✖ no</td>"),
        "{table}"
    );
    // Another list of mappings is a table too; a list of scalars is a line.
    assert!(
        page.contains("<table class=\"stack\" data-table=\"milestones\"><thead><tr><th>name</th><th>due</th></tr>"),
        "{page}"
    );
    assert!(page.contains("<dt>tags</dt><dd>k8s, eu</dd>"), "{page}");
    assert!(!page.contains("{&quot;"), "JSON on the page:\n{page}");
}

/// The report of the dated history in `forecast::history`, plus deals that
/// give the forecast every category and a past-due deal.
fn history_report() -> (crate::Test, std::path::PathBuf) {
    let (t, _) = crate::forecast::history();
    std::fs::write(
        t.path().join("deals/01-prospecting/c.md"),
        "---\ntitle: \"<script>alert(1)</script>\"\nowner: bob\nvalue: 30000\nexpected_close: 2026-11-20\nstages:\n  prospecting: 2026-11-17T09:00:00Z\n---\n",
    )
    .unwrap();
    std::fs::create_dir_all(t.path().join("deals/07-close")).unwrap();
    std::fs::write(
        t.path().join("deals/07-close/z.md"),
        "---\ntitle: Z\ncompany: Zeta\nowner: alice\nvalue: 12000\nexpected_close: 2026-12-10\n---\n",
    )
    .unwrap();
    t.cmd(&["report"]).code(0);
    let index = t.path().join("report/index.html");
    (t, index)
}

#[test]
fn the_report_has_forecast_and_trends_sections_with_svg_charts() {
    let (t, index) = history_report();
    let html = std::fs::read_to_string(&index).unwrap();
    let section = |id: &str| -> String {
        let start = html
            .find(&format!("<h2 id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no {id} section"));
        let end = html[start..].find("</section>").unwrap() + start;
        html[start..end].to_string()
    };
    let f = section("forecast");
    // One stacked bar per month: November has b's win (20,000, the
    // longest bar); December z (close: commit, 12,000, so 60% of it); c is
    // past due; d and e (no date) have none.
    assert_eq!(f.matches("<li data-period=").count(), 3, "{f}");
    assert!(f.contains("<svg class=\"track\""), "{f}");
    assert!(
        f.contains("<rect class=\"won\" x=\"0.00\" y=\"0\" height=\"10\" width=\"100.00\">"),
        "{f}"
    );
    assert!(
        f.contains("<rect class=\"commit\" x=\"0.00\" y=\"0\" height=\"10\" width=\"60.00\">"),
        "{f}"
    );
    assert!(
        f.contains(
            "<th scope=\"row\" data-label=\"Period\">2026-12</th><td class=\"num\" data-label=\"Won\">0</td><td class=\"num\" data-label=\"Commit\">12,000</td>"
        ),
        "{f}"
    );
    // The past-due deal, its owner and date; its title escaped.
    assert!(f.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</a> <span class=\"muted\">bob · expected 2026-11-20 · 30,000</span>"), "{f}");
    assert!(!html.contains("<script"), "a deal's title ran as markup");
    let tr = section("trends");
    assert_eq!(tr.matches("<svg class=\"area\"").count(), 2, "{tr}");
    assert!(tr.contains("<polyline class=\"lineopen\""), "{tr}");
    assert!(tr.contains("<polyline class=\"lineweighted\""), "{tr}");
    assert!(tr.contains("<polygon class=\"s0\""), "{tr}");
    // The criteria change: a vertical rule in both charts, numbered, and
    // listed with its reason.
    assert_eq!(tr.matches("<line class=\"rule\"").count(), 2, "{tr}");
    assert!(tr.contains("proposals need no review for now"), "{tr}");
    // The numbers for screen readers: a table row per week.
    assert_eq!(
        tr.matches("<tr><th scope=\"row\" data-label=\"End\">")
            .count(),
        12,
        "{tr}"
    );
    // Trends read commits, not the work tree: the last week is C6's.
    assert!(tr.contains("<tr><th scope=\"row\" data-label=\"End\">2026-11-27 12:00</th><td class=\"num\" data-label=\"Open\">2</td><td class=\"num\" data-label=\"Open value\">35,000</td>"), "{tr}");

    // Text stays 12 px or more at any width: no text is drawn inside an
    // SVG (which scales with its width), and every CSS size is ≥ 12 px.
    for svg in html.split("<svg").skip(1) {
        let body = &svg[..svg.find("</svg>").unwrap()];
        assert!(!body.contains("<text"), "text inside an SVG: {body}");
    }
    let sizes = regex::Regex::new(r"font(?:-size)?:\s*(?:[a-z ]*\s)?(\d+(?:\.\d+)?)px").unwrap();
    let mut seen = 0;
    for c in sizes.captures_iter(&html) {
        let px: f64 = c[1].parse().unwrap();
        assert!(px >= 12.0, "font size {px}px: {}", &c[0]);
        seen += 1;
    }
    assert!(seen > 10, "the check read the stylesheet ({seen} sizes)");

    // Byte-identical for a fixed SOURCE_DATE_EPOCH.
    let a = tempfile::tempdir().unwrap();
    t.cmd(&["report", "-o", a.path().to_str().unwrap()]).code(0);
    assert_eq!(hashes(a.path()), hashes(&t.path().join("report")));
}

#[test]
fn a_phone_sized_browser_shows_the_forecast_and_trends() {
    if !crate::have_tool(
        "chromium",
        "report::a_phone_sized_browser_shows_the_forecast_and_trends",
        "apt-get install chromium",
    ) {
        return;
    }
    let (_t, index) = history_report();
    let url = format!("file://{}", index.display());
    let (dom, requests) = load(&url);
    assert!(requests.is_empty(), "network requests: {requests:?}");
    // The browser parsed the charts as SVG: the shapes sit inside their svg.
    for want in [
        "<h2 id=\"forecast\">Forecast</h2>",
        "<h2 id=\"trends\">Trends</h2>",
        "<rect class=\"commit\"",
        "<polyline class=\"lineopen\"",
        "<polygon class=\"s0\"",
        "<span class=\"rulemark\" style=\"left: ",
    ] {
        assert!(dom.contains(want), "the DOM lacks {want}");
    }
    let text = visible_text(&dom);
    assert!(text.contains("Past due (1, 30,000 EUR)"), "{text}");
    assert!(
        text.contains("Criteria changes 2026-11-18 · ")
            && text.contains("proposals need no review for now"),
        "{text}"
    );
    // Screenshots at phone width and at desktop width, for people.
    for (w, h) in [(390, 2400), (1400, 1800)] {
        let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("report-trends-{w}.png"));
        chromium(&[
            format!("--window-size={w},{h}"),
            format!("--screenshot={}", shot.display()),
            url.clone(),
        ]);
        assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    }
}

/// Runs the Nu HTML checker on `files`; returns its error messages.
pub fn vnu(files: &[std::path::PathBuf]) -> Vec<String> {
    let out = std::process::Command::new("vnu")
        .args(["--errors-only", "--format", "json"])
        .args(files)
        .output()
        .expect("vnu runs (npm install -g vnu-jar; needs Java)");
    // vnu writes its JSON report to stderr.
    let text = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}:{}: {}",
                m["url"].as_str().unwrap_or(""),
                m["lastLine"],
                m["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn the_nu_html_checker_finds_no_errors_in_the_report() {
    if !crate::have_tool(
        "vnu",
        "report::the_nu_html_checker_finds_no_errors_in_the_report",
        "npm install -g vnu-jar, with Java",
    ) {
        return;
    }
    let (t, index) = history_report();
    let mut files = vec![index];
    for e in std::fs::read_dir(t.path().join("report/deals")).unwrap() {
        files.push(e.unwrap().path());
    }
    files.sort();
    assert!(files.len() >= 5);
    let errors = vnu(&files);
    assert!(errors.is_empty(), "{errors:#?}");
    // The check can fail: a page with an error is reported.
    let bad = t.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!doctype html><html lang=en><title>x</title><p><div></p>",
    )
    .unwrap();
    assert!(!vnu(&[bad]).is_empty());
}

/// The example's report as a person sees it at 1280 and 390 px, measured in
/// a real browser: at 1280 all seven stage columns fit without scrolling;
/// at 390 they are reachable by scrolling the board; at both, no table
/// reaches past its panel (the Stages table's "Lost here" was clipped).
/// Screenshots of both land in the target folder, for people.
#[test]
fn the_example_report_fits_1280_and_390_px() {
    if !crate::have_tool(
        "chromium",
        "report::the_example_report_fits_1280_and_390_px",
        "apt-get install chromium",
    ) {
        return;
    }
    let t = crate::Test::empty();
    t.cmd(&["init", "demo", "--example"]).code(0);
    let demo = t.path().join("demo");
    crate::run_deal(&demo, &["report".into()], &t.env_vars()).code(0);
    let index = demo.join("report/index.html");
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (width, fits) in [(1280, true), (390, false)] {
        // A page of our own frames the report (whose policy forbids
        // scripts) and measures it.
        let wrapper = t.home.path().join(format!("measure-{width}.html"));
        std::fs::write(
            &wrapper,
            format!(
                r#"<!doctype html><html><body style="margin:0">
<iframe id="f" src="file://{}" style="width:{width}px;height:3000px;border:0"></iframe>
<pre id="out">pending</pre>
<script>
document.getElementById('f').onload = () => {{
  const d = document.getElementById('f').contentDocument;
  const b = d.querySelector('.board');
  const clipped = [...d.querySelectorAll('table')].filter(t =>
    t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1
  ).map(t => (t.closest('section') || t).getAttribute('aria-labelledby') || 'a table');
  document.getElementById('out').textContent = 'MEASURED ' + JSON.stringify({{
    columns: d.querySelectorAll('.column').length,
    overflow: b.scrollWidth - b.clientWidth,
    clipped }});
}};
</script></body></html>"#,
                index.display()
            ),
        )
        .unwrap();
        let dom = chromium(&[
            "--allow-file-access-from-files".into(),
            "--virtual-time-budget=5000".into(),
            format!("--window-size={},3000", width + 20),
            "--dump-dom".into(),
            format!("file://{}", wrapper.display()),
        ]);
        let json = dom
            .split("MEASURED ")
            .nth(1)
            .and_then(|r| r.split("</pre>").next())
            .unwrap_or_else(|| panic!("nothing measured at {width} px:\n{dom}"));
        let m: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(m["columns"], 7, "{width} px: {m}");
        assert_eq!(m["clipped"], serde_json::json!([]), "{width} px: {m}");
        let overflow = m["overflow"].as_i64().unwrap();
        if fits {
            assert!(overflow <= 0, "{width} px: the board scrolls: {m}");
        } else {
            assert!(
                overflow > 0,
                "{width} px: the board scrolls to every column: {m}"
            );
        }
        let shot = shots.join(format!("example-report-{width}.png"));
        chromium(&[
            format!("--window-size={width},2400"),
            format!("--screenshot={}", shot.display()),
            format!("file://{}", index.display()),
        ]);
        assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    }
}

/// Words as a person reads them: a card's criteria mark says ✖ when not
/// all are met, and its tooltip says of which stage; durations in hours and
/// minutes; dates without RFC 3339's `T…Z`; a field named in backticks is
/// code, not literal backticks.
#[test]
fn the_report_speaks_in_a_persons_words() {
    let stages = "  prospecting: 2026-11-02T09:14:00Z\n  outreach: 2026-11-02T09:17:00Z\n  qualification: 2026-11-05\n  discovery: 2026-11-10\n  proposal: 2026-11-20\n  negotiation: 2026-11-22T08:30:00Z\n";
    let t = Test::new()
        .deal(
            "06-negotiation/acme.md",
            &crate::good_deal(stages, "objections: []\n"),
        )
        .deal(
            "02-outreach/late.md",
            "---\ntitle: Late\nowner: alice\nsource: inbound-form\ncreated: 2026-11-20T08:00:00Z\nfirst_contact: 2026-11-21T04:23:00Z\nstages: {prospecting: 2026-11-20T08:00:00Z, outreach: 2026-11-21T04:23:00Z}\n---\n",
        );
    t.cmd(&["report"]).code(0);
    let index = read(&t, "report/index.html");
    assert!(
        index.contains(r#"data-kpi="Speed to lead">20 h 23 min<"#),
        "{index}"
    );
    assert!(
        index.contains("generated 27 Nov 2026, 12:00 UTC"),
        "{index}"
    );
    assert!(
        index.contains(
            r#"<span class="no" title="1 of 2 exit criteria of Negotiation met">✖ 1/2</span>"#
        ),
        "{index}"
    );
    assert!(!index.contains("exit criteria met\">✔ 0"), "{index}");
    let page = read(&t, "report/deals/acme.html");
    assert!(
        page.contains("<code>verbal_agreement_on</code> is missing"),
        "{page}"
    );
    assert!(!page.contains("`verbal_agreement_on`"), "{page}");
    assert!(
        page.contains("<td>negotiation</td><td>22 Nov 2026, 08:30 UTC</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td>proposal</td><td>20 Nov 2026</td>"),
        "{page}"
    );
    assert!(!page.contains("T09:14:00Z"), "{page}");
}
