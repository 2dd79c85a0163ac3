//! `deal import` (HubSpot, Pipedrive, generic) and `deal export`, on
//! hand-written fixtures; figures checked with `deal stats`.

use serde_json::{Value, json};

use crate::{Test, assert_subset};

/// HubSpot-style: won and lost rows, blank cells, odd amounts, owners by
/// name, by email and unknown, a bad date and a row with too many fields.
const HUBSPOT: &str = "\
Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Create Date,Associated Company,Closed Lost Reason
101,Acme Kubernetes,Closed Won,2026-10-15,Bob Jones,\"$12,400.00\",2026-09-01,Acme,
102,Globex renewal,closedlost,10/20/2026,Hubert Farnsworth,\"$8,000\",9/10/2026,Globex,No budget
103,Initech pilot,Contract Sent,,Bob Jones,\"15,000.50\",2026-10-01,Initech,
104,Hooli expansion,Appointment Scheduled,,,,2026-11-01,Hooli,
105,Broken row,Closed Won,not-a-date,Bob Jones,100,2026-10-01,Broken,
106,\"Umbrella, Ltd\",Qualified To Buy,,bob@example.com,\"  $3,000 \",2026-10-05,Umbrella,
107,Too,many,fields,here,1,2,3,4,5
";

/// Pipedrive-style: status won/lost with times, a European amount, an
/// unknown owner, a blank value and another currency.
const PIPEDRIVE: &str = "\
Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Stage,Deal - Status,Deal - Won time,Deal - Lost time,Deal - Lost reason,Deal - Owner,Deal - Organization,Deal - Deal created
7,Stark upgrade,\"25,000\",EUR,Negotiations Started,won,2026-10-30 14:00:00,,,Dana Lee,Stark,2026-08-15 09:00:00
8,Wayne security,\"1.250,50\",EUR,Proposal Made,lost,,2026-11-02 10:00:00,Went dark,Dana Lee,Wayne,2026-09-01 09:00:00
9,Tyrell replicants,,EUR,Lead In,open,,,,Carol Reyes,Tyrell,2026-11-20 08:00:00
10,Cyberdyne,900,USD,Demo Scheduled,open,,,,dana,Cyberdyne,2026-10-10 08:00:00
";

/// `deal import` of the generic sheet, with its column maps.
const SHEET_IMPORT: &[&str] = &[
    "import",
    "sheet.csv",
    "--map",
    "Name=title",
    "--map",
    "Rep=owner",
    "--map",
    "Step=stage",
    "--map",
    "Amount=value",
    "--map",
    "Email=contact.email",
];

fn stats(t: &Test) -> Value {
    serde_json::from_str(&t.cmd(&["stats", "--format", "json"]).code(0).stdout).unwrap()
}

#[test]
fn hubspot_import() {
    let t = Test::new().file("hubspot.csv", HUBSPOT).repo();
    let head = t.git(&["rev-parse", "HEAD"]);
    let out = t
        .cmd(&["import", "hubspot.csv", "--preset", "hubspot"])
        .code(1);
    assert!(
        out.stdout
            .starts_with("Imported 5 deals from hubspot.csv; 2 problem row(s), not imported."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("New team members: hubert-farnsworth (Hubert Farnsworth)."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("enforce_from set to 2026-11-27"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr,
        "hubspot.csv:6: `not-a-date` is not a date (YYYY-MM-DD or M/D/YYYY)\n\
hubspot.csv:8: the row has 10 fields; the header has 9\n"
    );
    // One commit, with the trailer, holding the deals and pipeline.yaml.
    assert_eq!(t.git(&["rev-parse", "HEAD~1"]), head);
    assert_eq!(
        t.git(&["log", "-1", "--format=%(trailers:key=Imported,valueonly)"])
            .trim(),
        "5"
    );
    let files = t.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        files,
        "deals/04-discovery/umbrella-ltd.md\ndeals/03-qualification/hooli-expansion.md\ndeals/07-close/initech-pilot.md\ndeals/lost/globex-renewal.md\ndeals/won/acme-kubernetes.md\npipeline.yaml\n"
            .lines()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    // pipeline.yaml gains two lines (the new member, enforce_from), and loses none.
    assert_eq!(
        t.git(&["diff", "HEAD~1", "HEAD", "--numstat", "--", "pipeline.yaml"]),
        "2\t0\tpipeline.yaml\n"
    );
    // The values, as written.
    let lost = std::fs::read_to_string(t.path().join("deals/lost/globex-renewal.md")).unwrap();
    assert_eq!(
        lost,
        "---\ntitle: Globex renewal\nowner: hubert-farnsworth\nvalue: 8000\ncreated: 2026-09-10\ncompany: Globex\nstages:\n  lost: 2026-10-20\nsource_id: \"102\"\nlost:\n  reason: no budget\n  at: 2026-10-20\nimported: 2026-11-27\n---\n\n# Globex renewal\n"
    );
    let hooli = std::fs::read_to_string(t.path().join("deals/03-qualification/hooli-expansion.md"))
        .unwrap();
    assert!(
        hooli.contains("owner: alice\n"),
        "a blank owner is the importing user: {hooli}"
    );
    assert!(
        !hooli.contains("value"),
        "a blank amount is left out: {hooli}"
    );

    t.cmd(&["check"]).code(0);
    assert_subset(
        &json!({
            "deals": 5, "open": 3, "won": 1, "lost": 1,
            "win_rate": 0.5,
            "won_value": 12400, "avg_won_value": 12400,
            // Acme: created 09-01, won 10-15
            "cycle_days_median": 44.0,
            // Initech 15,000.50 × 0.9 in close + Umbrella 3,000 × 0.35 in discovery
            "weighted_pipeline": 14550.45,
            // 3 open × 0.5 × 12,400 ÷ 44
            "velocity_per_day": 422.73,
            "lost_reasons": [ { "stage": "unknown", "reason": "no budget", "count": 1 } ],
            "owners": [
                { "owner": "alice", "open": 1, "value": 0, "won": 0, "lost": 0 },
                { "owner": "bob", "open": 2, "value": 18000.5, "won": 1, "lost": 0 },
                { "owner": "dana", "open": 0, "value": 0, "won": 0, "lost": 0 },
                { "owner": "hubert-farnsworth", "open": 0, "value": 0, "won": 0, "lost": 1 }
            ]
        }),
        &stats(&t),
        "stats",
    );

    // Importing the same file again changes nothing.
    let head = t.git(&["rev-parse", "HEAD"]);
    let before = t.state();
    let out = t
        .cmd(&["import", "hubspot.csv", "--preset", "hubspot"])
        .code(1);
    assert!(
        out.stdout.starts_with(
            "Imported 0 deals from hubspot.csv; 5 already imported (same source_id), skipped"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(t.state(), before);

    // --strict refuses the whole file.
    let t2 = Test::new().file("hubspot.csv", HUBSPOT).repo();
    let before = t2.state();
    t2.cmd(&["import", "hubspot.csv", "--preset", "hubspot", "--strict"])
        .code(2)
        .stderr_has("2 problem row(s); with --strict nothing was imported");
    assert_eq!(t2.state(), before);
}

#[test]
fn pipedrive_import() {
    let t = Test::new().file("pipedrive.csv", PIPEDRIVE).repo();
    t.cmd(&["import", "pipedrive.csv", "--preset", "pipedrive"])
        .code(0)
        .stdout_has(
            "Imported 4 deals from pipedrive.csv.\nNew team members: carol-reyes (Carol Reyes).",
        );
    let wayne = std::fs::read_to_string(t.path().join("deals/lost/wayne-security.md")).unwrap();
    assert!(wayne.contains("value: 1250.5\n"), "{wayne}");
    assert!(
        wayne.contains(
            "lost:\n  reason: went dark\n  stage: proposal\n  at: 2026-11-02T10:00:00Z\n"
        ),
        "{wayne}"
    );
    t.cmd(&["check"]).code(0);
    assert_subset(
        &json!({
            "deals": 4, "open": 2, "won": 1, "lost": 1,
            "win_rate": 0.5,
            "won_value": 25000, "avg_won_value": 25000,
            // created 08-15 09:00 → won 10-30 14:00: 76 days 5 hours
            "cycle_days_median": 76.2,
            // Tyrell has no value; Cyberdyne is in USD
            "weighted_pipeline": 0,
            // 2 open × 0.5 × 25,000 ÷ 76.2083
            "velocity_per_day": 328.05,
            "lost_reasons": [ { "stage": "proposal", "reason": "went dark", "count": 1 } ],
            "owners": [
                { "owner": "alice", "open": 0, "won": 0, "lost": 0 },
                { "owner": "bob", "open": 0, "won": 0, "lost": 0 },
                { "owner": "dana", "open": 1, "value": 0, "won": 1, "lost": 1 },
                { "owner": "carol-reyes", "open": 1, "value": 0, "won": 0, "lost": 0 }
            ],
            "currency_mismatch": ["cyberdyne"]
        }),
        &stats(&t),
        "stats",
    );
}

#[test]
fn generic_import_with_maps_and_export_round_trip() {
    let sheet = "Name,Rep,Step,Amount,Email\nSoylent,bob,Demo,\"€4,500\",s@soylent.example\nMassive,dana,won,100,\nSoylent,bob,prospecting,1,\n";
    let t = Test::new().file("sheet.csv", sheet).repo();
    t.cmd(&[SHEET_IMPORT, &["--dry-run"]].concat())
        .code(1)
        .stdout_has("Would import 2 deals from sheet.csv; 1 problem row(s), not imported.")
        .stderr("sheet.csv:2: unknown stage \"Demo\": pass --stage-map \"Demo=<stage id>\"\n");
    let out = t.cmd(
        &[
            SHEET_IMPORT,
            &["--stage-map", "Demo=discovery", "--dry-run"],
        ]
        .concat(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("Would import 3 deals"),
        "{}",
        out.stdout
    );
    t.cmd(&[SHEET_IMPORT, &["--stage-map", "Demo=discovery"]].concat())
        .code(0);
    // Two rows with one title get two slugs.
    assert!(t.path().join("deals/01-prospecting/soylent-2.md").exists());
    let soylent = std::fs::read_to_string(t.path().join("deals/04-discovery/soylent.md")).unwrap();
    assert!(
        soylent.contains("value: 4500\ncontact:\n  email: s@soylent.example\n"),
        "{soylent}"
    );

    // Add the HubSpot deals too, then export and import into a fresh pipeline.
    let t = t.file("hubspot.csv", HUBSPOT);
    t.cmd(&["import", "hubspot.csv", "--preset", "hubspot"])
        .code(1);
    let csv = t.cmd(&["export"]).code(0).stdout;
    assert!(
        csv.starts_with("slug,stage,title,owner,company,value,currency,"),
        "{csv}"
    );
    let json: Value =
        serde_json::from_str(&t.cmd(&["export", "--format", "json"]).code(0).stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 8);
    assert_eq!(json[0]["slug"], "soylent-2");
    let fresh = Test::new().file("export.csv", &csv).repo();
    fresh
        .cmd(&["import", "export.csv"])
        .code(0)
        .stdout_has("Imported 8 deals");
    let list = |t: &Test| t.cmd(&["list", "--format", "json"]).code(0).stdout;
    assert_eq!(list(&fresh), list(&t));
    fresh.cmd(&["check"]).code(0);
    // And the files themselves carry the same data.
    for slug in [
        "deals/won/acme-kubernetes.md",
        "deals/04-discovery/soylent.md",
        "deals/lost/globex-renewal.md",
    ] {
        let a: Value = serde_json::to_value(front(&t, slug)).unwrap();
        let b: Value = serde_json::to_value(front(&fresh, slug)).unwrap();
        assert_eq!(a, b, "{slug}");
    }
}

fn front(t: &Test, rel: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(t.path().join(rel)).unwrap();
    let s = deal::frontmatter::split(&text).unwrap();
    serde_yaml::from_str(&text[s.yaml]).unwrap()
}

#[test]
fn a_large_import_writes_its_blobs_in_one_pack_and_stages_exactly_them() {
    // From 64 files on, blobs go through one `git fast-import`.
    let mut csv = String::from("Record ID,Deal Name,Deal Stage,Deal owner,Amount\n");
    for i in 0..150 {
        csv.push_str(&format!(
            "{},Bulk {i},appointmentscheduled,Bob Jones,{}\n",
            5000 + i,
            100 + i
        ));
    }
    let t = Test::new().file("hubspot.csv", &csv).repo();
    let packs_before = std::fs::read_dir(t.path().join(".git/objects/pack"))
        .map(|d| d.count())
        .unwrap_or(0);
    t.cmd(&["import", "hubspot.csv", "--preset", "hubspot"])
        .code(0);
    let packs_after = std::fs::read_dir(t.path().join(".git/objects/pack"))
        .unwrap()
        .count();
    assert!(packs_after > packs_before, "no pack was written");
    assert_eq!(
        t.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    let files = t.git(&["ls-files", "deals"]);
    assert_eq!(files.lines().filter(|l| l.ends_with(".md")).count(), 150);
    // Every staged blob is the file's own bytes, and the repository is whole.
    t.git(&["diff", "--exit-code"]);
    t.git(&["fsck", "--strict"]);
    let one = files
        .lines()
        .find(|l| l.ends_with("bulk-7.md"))
        .unwrap()
        .to_string();
    let show = t.git(&["show", &format!("HEAD:{one}")]);
    assert_eq!(show, std::fs::read_to_string(t.path().join(&one)).unwrap());
}
