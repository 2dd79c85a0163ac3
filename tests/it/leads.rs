//! Lead capture (`new --json`), routing, ICP scoring and `deal due`.

use crate::Test;

const NOW_TS: &str = "2026-11-27T12:00:00Z";

/// alice and erik are SDRs, bob an AE, dana delivery.
fn team() -> Test {
    Test::new()
        .config_replace(
            "Alice Smith, email: alice@example.com, roles: [sdr, ae, delivery]",
            "Alice Smith, email: alice@example.com, roles: [sdr]",
        )
        .config_replace(
            "Bob Jones, email: bob@example.com, roles: [sdr, ae, delivery]",
            "Bob Jones, email: bob@example.com, roles: [ae]",
        )
        .config_replace(
            "  dana: { name: Dana Lee, email: dana@example.com, roles: [sdr, ae, delivery] }\n",
            "  dana: { name: Dana Lee, email: dana@example.com, roles: [delivery] }\n  erik: { name: Erik Sand, email: erik@example.com, roles: [sdr] }\n",
        )
}

#[test]
fn a_good_payload_becomes_a_lead() {
    let t = team().repo();
    let payload = r#"{"name": "Jane Doe", "email": "jane@acme.example", "company": "Acme Corp",
        "phone": "+1 555 0100", "message": "We need help moving to Kubernetes.", "source": "website"}"#;
    let out = t.cmd_stdin(&["new", "--json", "-"], payload);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("Created acme-corp in prospecting, owned by alice (commit "),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("deals/01-prospecting/acme-corp.md")).unwrap(),
        format!(
            "---\ntitle: Acme Corp\nowner: alice\ncreated: {NOW_TS}\nstages:\n  prospecting: {NOW_TS}\n\
contact:\n  name: Jane Doe\n  email: jane@acme.example\n  phone: +1 555 0100\ncompany: Acme Corp\nsource: website\n---\n\n\
# Acme Corp\n\n## Inbound message\nWe need help moving to Kubernetes.\n"
        )
    );
    assert!(
        t.git(&["log", "-1", "--format=%s"])
            .contains("deal(acme-corp): new lead")
    );
    // An inbound source: speed-to-lead applies, and `due` lists the lead
    // until someone makes first contact.
    let later = t
        .cmd_env(
            &[("SOURCE_DATE_EPOCH", "1795781400")],
            &["due", "--format", "json"],
        )
        .code(0);
    assert!(
        later.stdout.contains("\"kind\": \"uncontacted\""),
        "{}",
        later.stdout
    );
}

#[test]
fn a_bad_payload_is_refused_and_nothing_is_written() {
    let t = team().repo();
    let before = t.state();
    for (payload, says) in [
        (
            r#"{"email": "not-an-email", "company": "X"}"#,
            "bad payload: `not-an-email` is not an email address",
        ),
        ("name=Jane", "bad payload: not JSON"),
        (
            r#"["Jane"]"#,
            "bad payload: a JSON object of fields is expected",
        ),
        (
            r#"{"company": {"name": "X"}}"#,
            "bad payload: `company` holds a list or an object",
        ),
        (
            r#"{"message": "hello"}"#,
            "bad payload: no title, company, name or email",
        ),
    ] {
        let out = t.cmd_stdin(&["new", "--json", "-"], payload);
        assert_eq!(out.code, 2, "{payload}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{payload}: {}", out.stderr);
        assert!(out.stderr.contains("nothing was written"));
    }
    assert_eq!(t.state(), before);
}

/// `--email` is judged by the same rule as a payload's email: what one
/// refuses, the other refuses too.
#[test]
fn new_email_flag_is_judged_like_the_json_payload() {
    let t = team().repo();
    let before = t.state();
    for bad in ["bad-email", "jane@acme", "jane doe@acme.example"] {
        let flag = t.cmd(&["new", "Acme", "--owner", "bob", "--email", bad]);
        assert_eq!(flag.code, 2, "{bad}: {}", flag.stderr);
        assert!(
            flag.stderr.contains("is not an email address"),
            "{}",
            flag.stderr
        );
        assert!(
            flag.stderr.contains("nothing was written"),
            "{}",
            flag.stderr
        );
        let json = t.cmd_stdin(
            &["new", "--json", "-"],
            &format!(r#"{{"company": "Acme", "email": "{bad}"}}"#),
        );
        assert_eq!(json.code, 2, "{bad}: {}", json.stderr);
        assert!(json.stderr.contains("is not an email address"));
    }
    assert_eq!(t.state(), before);
    t.cmd(&[
        "new",
        "Acme",
        "--owner",
        "bob",
        "--email",
        "jane@acme.example",
    ])
    .code(0);
}

#[test]
fn unmapped_payload_keys_are_kept_under_form() {
    let t = team().repo();
    let out = t.cmd_stdin(&["new", "--json", "-", "--dry-run"],
        r#"{"company": "Acme", "email": "a@acme.example", "utm campaign": "spring", "tags": ["k8s"]}"#,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "---\ntitle: Acme\nowner: alice\ncreated: {NOW_TS}\nstages:\n  prospecting: {NOW_TS}\n\
company: Acme\ncontact:\n  email: a@acme.example\nform:\n  utm_campaign: spring\n  tags: \"[\\\"k8s\\\"]\"\n---\n\n# Acme\n"
        )
    );
    assert_eq!(
        out.stderr,
        "note: payload keys that intake does not map were kept under form: utm campaign, tags\n(dry run: would create deals/01-prospecting/acme.md)\n"
    );
    // A custom intake mapping.
    let t = t.config_replace("version: 1\n", "version: 1\nintake:\n  Full Name: contact.name\n  Work Email: contact.email\n  Org: company\n");
    let out = t.cmd_stdin(
        &["new", "--json", "-", "--dry-run"],
        r#"{"Full Name": "Jo", "Work Email": "jo@org.example", "Org": "Org Inc"}"#,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("title: Org Inc\n"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("contact:\n  name: Jo\n  email: jo@org.example\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn round_robin_routing_over_five_leads() {
    let t = team()
        .config_replace("version: 1\n", "version: 1\nrouting:\n  round_robin: sdr\n")
        .repo();
    let mut owners = Vec::new();
    for (i, name) in ["One", "Two", "Three", "Four", "Five"].iter().enumerate() {
        let epoch = (1795780800 + 60 * i as i64).to_string();
        let out = t
            .cmd_env(&[("SOURCE_DATE_EPOCH", &epoch)], &["new", name])
            .code(0);
        owners.push(
            out.stdout
                .split("owned by ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(owners, ["alice", "erik", "alice", "erik", "alice"]);
    // --owner still wins.
    t.cmd(&["new", "Six", "--owner", "bob"])
        .code(0)
        .stdout_has("owned by bob");
}

#[test]
fn rule_based_routing_then_round_robin() {
    let t = team()
        .config_replace(
            "version: 1\n",
            "version: 1\nrouting:\n  rules:\n    - { field: icp.region, equals: [emea, apac], owner: bob }\n    - { field: source, equals: partner, owner: dana }\n  round_robin: sdr\n",
        )
        .repo();
    t.cmd(&["new", "Emea Co", "--set", "icp.region=EMEA"])
        .code(0)
        .stdout_has("owned by bob");
    t.cmd(&["new", "Partner Co", "--source", "partner"])
        .code(0)
        .stdout_has("owned by dana");
    t.cmd(&["new", "Other Co", "--set", "icp.region=amer"])
        .code(0)
        .stdout_has("owned by alice");
    let bad = team().config_replace(
        "version: 1\n",
        "version: 1\nrouting:\n  rules:\n    - { field: source, equals: x, owner: zed }\n",
    );
    bad.cmd(&["new", "X"])
        .code(2)
        .stderr_has("pipeline.yaml:5:35: routing.rules[0].owner: owner `zed` is not in team");
}

#[test]
fn icp_routing_and_intake_are_checked_when_pipeline_yaml_loads() {
    // Every command refuses a malformed icp, routing or intake, with the
    // file, line, column and key: not only `deal new` when it trips on it.
    for (block, line_col, key) in [
        (
            "icp:\n  industry: { weight: -1, in: [x] }\n",
            "4:15",
            "icp.industry.weight",
        ),
        ("icp:\n  size: { weight: 1 }\n", "4:3", "icp.size"),
        (
            "icp:\n  headcount: { weight: 1, max: lots }\n",
            "4:27",
            "icp.headcount.max",
        ),
        (
            "icp:\n  tech: { weight: 1, any: kubernetes }\n",
            "4:22",
            "icp.tech.any",
        ),
        (
            "routing:\n  round_robin: closer\n",
            "4:3",
            "routing.round_robin",
        ),
        (
            "routing:\n  rules: [{ field: source, owner: bob }]\n",
            "4:11",
            "routing.rules[0]",
        ),
        ("routing:\n  rule: []\n", "4:3", "routing.rule"),
        ("intake: [email]\n", "3:1", "intake"),
    ] {
        let t = team().config_replace("version: 1\n", &format!("version: 1\n{block}"));
        t.cmd(&["list"])
            .code(2)
            .stderr_has(&format!("pipeline.yaml:{line_col}: {key}:"));
    }
}

#[test]
fn icp_scores_new_leads_and_ranks_them() {
    let t = team()
        .config_replace(
            "version: 1\n",
            "version: 1\nicp:\n  industry: { weight: 40, in: [logistics, fintech] }\n  headcount: { weight: 20, min: 50, max: 1000 }\n  tech: { weight: 20, any: [kubernetes] }\n  budget: { weight: 20, min: 10000 }\n",
        )
        .repo();
    // industry 40 + headcount 20 + tech 20 + budget 20 = 100
    t.cmd(&[
        "new",
        "Fit",
        "--value",
        "20000",
        "--set",
        "icp.industry=Logistics",
        "--set",
        "icp.headcount=250",
        "--set",
        "icp.tech=Kubernetes, Vault",
    ])
    .code(0);
    // industry 40 only = 40
    t.cmd(&[
        "new",
        "Half",
        "--value",
        "500",
        "--set",
        "icp.industry=fintech",
    ])
    .code(0);
    // nothing: 0
    t.cmd(&["new", "Poor"]).code(0);
    let fit = std::fs::read_to_string(t.path().join("deals/01-prospecting/fit.md")).unwrap();
    assert!(fit.contains("icp_score: 100\n"), "{fit}");
    let list: serde_json::Value = serde_json::from_str(
        &t.cmd(&["list", "--sort", "icp_score", "--format", "json"])
            .code(0)
            .stdout,
    )
    .unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["fit", "half", "poor"]);
    let half = std::fs::read_to_string(t.path().join("deals/01-prospecting/half.md")).unwrap();
    assert!(half.contains("icp_score: 40\n"), "{half}");
}

/// Deals with known dates; "now" is 2026-11-27T12:00Z.
fn due_test() -> Test {
    Test::new()
        .deal("05-proposal/late.md", "---\ntitle: Late\ncompany: Late Co\nowner: bob\nnext_step:\n  action: Send SOW\n  due: 2026-11-20\nstages:\n  proposal: 2026-11-25\n---\n")
        .deal("06-negotiation/soon.md", "---\ntitle: Soon\ncompany: Soon Co\nowner: bob\nnext_step:\n  action: Call the CFO, then legal\n  due: 2026-12-01\nstages:\n  negotiation: 2026-11-26\n---\n")
        .deal("06-negotiation/far.md", "---\ntitle: Far\nowner: bob\nnext_step:\n  action: Renewal talk\n  due: 2027-01-15\nstages:\n  negotiation: 2026-11-26\n---\n")
        .deal("05-proposal/nostep.md", "---\ntitle: No Step\nowner: alice\nstages:\n  proposal: 2026-11-24\n---\n")
        .deal("02-outreach/stale.md", "---\ntitle: Stale\nowner: alice\nstages:\n  outreach: 2026-11-10\n---\n")
        .deal("01-prospecting/inbound.md", "---\ntitle: Inbound\nowner: alice\nsource: website\ncreated: 2026-11-27T11:00:00Z\nstages:\n  prospecting: 2026-11-27T11:00:00Z\n---\n")
        .deal("07-close/kick.md", "---\ntitle: Kick\nowner: dana\ndelivery_owner: dana\nkickoff_on: 2026-12-07\nnext_step:\n  action: Kickoff; agenda, people\n  due: 2026-12-03\nstages:\n  close: 2026-11-26\n---\n")
        .deal("won/done.md", "---\ntitle: Done\nowner: bob\nnext_step:\n  action: Old\n  due: 2026-10-01\nstages:\n  won: 2026-10-01\n---\n")
}

#[test]
fn due_lists_what_needs_doing() {
    let t = due_test();
    let json: serde_json::Value =
        serde_json::from_str(&t.cmd(&["due", "--format", "json"]).code(0).stdout).unwrap();
    let got: Vec<(String, String, String)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["slug"].as_str().unwrap().to_string(),
                i["date"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("overdue", "late", "2026-11-20"),
        ("uncontacted", "inbound", "2026-11-27"),
        ("no-next-step", "nostep", "2026-11-24"),
        ("rotting", "stale", "2026-11-10"),
        ("upcoming", "soon", "2026-12-01"),
        ("upcoming", "kick", "2026-12-03"),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(json[0]["what"], "Send SOW (7 days late)");
    assert_eq!(
        json[1]["what"],
        "inbound lead not contacted for 60 min (target 5 min)"
    );
    assert_eq!(json[3]["what"], "idle 17.5 days (rots after 7)");
    // Far is beyond 7 days, but within 60.
    let wide = t
        .cmd(&["due", "--days", "60", "--format", "json"])
        .code(0)
        .stdout;
    assert!(wide.contains("\"slug\": \"far\""));
    // By owner, as a table.
    let table = t.cmd(&["due", "--owner", "alice"]).code(0).stdout;
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(table.lines().next().unwrap().starts_with("KIND"));
}

/// Unfolds an iCalendar text and returns its events as key → value maps.
fn events(ics: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "a line longer than 75 octets: {line}");
    }
    let unfolded = ics.replace("\r\n ", "");
    let mut out = Vec::new();
    let mut cur: Option<std::collections::BTreeMap<String, String>> = None;
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        match line {
            "BEGIN:VEVENT" => cur = Some(Default::default()),
            "END:VEVENT" => out.push(cur.take().expect("END without BEGIN")),
            _ => {
                let (k, v) = line.split_once(':').expect("name:value");
                if let Some(c) = cur.as_mut() {
                    c.insert(k.to_string(), v.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn due_ics_is_a_calendar_of_next_steps_and_kickoffs() {
    let t = due_test();
    let ics = t.cmd(&["due", "--format", "ics"]).code(0).stdout;
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
    let ev = events(&ics);
    let summary: Vec<(&str, &str)> = ev
        .iter()
        .map(|e| (e["DTSTART;VALUE=DATE"].as_str(), e["SUMMARY"].as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("20261120", "Late Co: Send SOW"),
            ("20261201", "Soon Co: Call the CFO\\, then legal"),
            ("20261203", "Kick: Kickoff\\; agenda\\, people"),
            ("20261207", "Kickoff: Kick"),
            ("20270115", "Far: Renewal talk"),
        ]
    );
    let kick = ev.iter().find(|e| e["UID"] == "kickoff-kick@deal").unwrap();
    assert_eq!(kick["DTEND;VALUE=DATE"], "20261208");
    assert_eq!(kick["DTSTAMP"], "20261127T120000Z");
    assert!(kick["DESCRIPTION"].contains("Delivery: dana"));
}
