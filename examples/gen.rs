//! Writes a synthetic pipeline for benchmarks: N valid deals spread over the
//! stages, and optionally a git history of M commits.
//!
//! ```text
//! cargo run --release --example gen -- DIR --deals 10000 [--commits 20000]
//! ```
//!
//! Deals meet the exit criteria of the stages they passed, so `deal check`
//! does the full work (bodies parsed for section criteria) and finds no
//! errors. History is streamed into `git fast-import` and made of real
//! moves: commit 1 adds every deal up to two stages before where it ends,
//! then each deal is moved forward one stage per commit (a rename, the
//! `stages` entry written, `deal move`'s trailers), into `won` or `lost` for
//! closed deals; the remaining commits touch one deal's `last_activity`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const STAGES: [&str; 7] = [
    "prospecting",
    "outreach",
    "qualification",
    "discovery",
    "proposal",
    "negotiation",
    "close",
];
const OWNERS: [&str; 5] = ["alice", "bob", "carol", "dana", "erik"];
const WORDS: [&str; 12] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Massive",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn date(day: u64) -> String {
    // Day 0 is 2025-01-01; a plain calendar walk keeps the generator dependency-free.
    let mut y = 2025;
    let mut d = day;
    loop {
        let len = if y % 4 == 0 { 366 } else { 365 };
        if d < len {
            break;
        }
        d -= len;
        y += 1;
    }
    let months = [
        31,
        if y % 4 == 0 { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut m = 0;
    while d >= months[m] {
        d -= months[m];
        m += 1;
    }
    format!("{y}-{:02}-{:02}", m + 1, d + 1)
}

fn config() -> String {
    let text = include_str!("../templates/pipeline.yaml");
    let mut team = String::from("team:\n");
    for o in OWNERS {
        team.push_str(&format!(
            "  {o}: {{ name: {o}, email: {o}@example.com, roles: [sdr, ae, delivery] }}\n"
        ));
    }
    text.replace("{{ team }}\n", &team)
        .replace("{{ qualification }}", "bant")
}

/// Places: 0..=6 the stages, 7 won, 8 lost.
const WON: usize = 7;
const LOST: usize = 8;

fn folder(place: usize) -> String {
    match place {
        WON => "won".to_string(),
        LOST => "lost".to_string(),
        p => format!("{:02}-{}", p + 1, STAGES[p]),
    }
}

fn place_id(place: usize) -> &'static str {
    match place {
        WON => "won",
        LOST => "lost",
        p => STAGES[p],
    }
}

/// One deal's text with `last_activity` set to `activity` (a day number).
/// A lost deal (`place` 8) was lost from stage `lost_from`.
fn deal_text(i: usize, place: usize, start: u64, activity: u64, rng_seed: u64) -> String {
    let lost_from = (rng_seed % 7) as usize;
    let (place, lost) = if place == LOST {
        (lost_from, true)
    } else {
        (place, false)
    };
    let mut r = Rng(rng_seed);
    let company = format!("{} {}", WORDS[i % WORDS.len()], i);
    let owner = OWNERS[r.below(5) as usize];
    let mut fm = String::new();
    let _ = write!(
        fm,
        "title: {company}, platform project\ncompany: {company}\nowner: {owner}\nvalue: {}\nsource: outbound\ncreated: {}\n",
        1000 * (5 + r.below(200)),
        date(start)
    );
    let _ = write!(
        fm,
        "contact:\n  name: Contact {i}\n  email: contact{i}@example.com\n"
    );
    let passed = |s: usize| place > s;
    if passed(1) {
        let _ = writeln!(fm, "engaged: {}", date(start + 3));
    }
    if passed(3) {
        let _ = write!(
            fm,
            "problem:\n  confirmed_by: Contact {i}\n  confirmed_on: {}\n",
            date(start + 10)
        );
    }
    if passed(4) {
        let _ = write!(fm, "proposal:\n  reviewed_on: {}\n", date(start + 14));
    }
    if place >= 4 {
        let _ = write!(
            fm,
            "next_step:\n  action: Follow up\n  due: {}\n",
            date(start + 40)
        );
    }
    if passed(5) {
        let _ = write!(
            fm,
            "objections:\n  - objection: Price\n    response: Phased plan\n    resolved: true\nverbal_agreement_on: {}\n",
            date(start + 20)
        );
    }
    if passed(6) {
        let _ = write!(
            fm,
            "contract: https://sign.example.com/{i}\nkickoff_on: {}\ndelivery_owner: dana\n",
            date(start + 30)
        );
    }
    let _ = writeln!(fm, "last_activity: {}", date(activity));
    fm.push_str("stages:\n");
    let visited = place.min(6) + 1;
    for (k, s) in STAGES.iter().enumerate().take(visited) {
        let _ = writeln!(fm, "  {s}: {}", date(start + 3 * k as u64));
    }
    if place == WON {
        let _ = writeln!(fm, "  won: {}", date(start + 25));
    }
    if lost {
        let _ = writeln!(fm, "  lost: {}", date(start + 26));
        let _ = write!(
            fm,
            "lost:\n  reason: no budget\n  stage: {}\n  at: {}\n",
            STAGES[lost_from],
            date(start + 26)
        );
    }
    let mut body = format!("# {company}\n\nNotes on {company}.\n\n");
    if passed(2) {
        body.push_str("## Qualification (BANT)\n### Budget\nApproved.\n### Authority\nThe CFO signs.\n### Need\nFaster releases.\n### Timeline\nNext quarter.\n\n");
    }
    if passed(3) {
        body.push_str("## Problem statement\n### In their words\n\"Too slow.\"\n### Impact\nTwo engineers.\n### Integration requirements\nSSO.\n### Compliance constraints\nISO 27001.\n### Budget approval chain\nCTO, CFO.\n\n");
    }
    if passed(6) {
        body.push_str("## Handoff\n### Agreed scope\nAs signed.\n### What delivery needs to know\nChange freezes.\n### Kickoff\nOn site.\n");
    }
    format!("---\n{fm}---\n{body}")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut deals = 10_000usize;
    let mut commits = 0usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--deals" => deals = args.next().and_then(|v| v.parse().ok()).expect("--deals N"),
            "--commits" => {
                commits = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--commits M")
            }
            "-h" | "--help" => {
                println!("usage: gen DIR [--deals N] [--commits M]");
                return;
            }
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let dir = dir.expect("usage: gen DIR [--deals N] [--commits M]");
    std::fs::create_dir_all(&dir).expect("create DIR");
    let mut rng = Rng(42);
    // (final place, start day, seed, last activity day)
    let mut ds: Vec<(usize, u64, u64, u64)> = (0..deals)
        .map(|_| {
            let place = rng.below(9) as usize; // 0..=6 stages, 7 won, 8 lost
            let start = 600 + rng.below(100);
            let seed = rng.next();
            (place, start, seed, start + 20)
        })
        .collect();
    let path = |i: usize, place: usize| format!("deals/{}/deal-{i:05}.md", folder(place));
    // The path of stages a deal walks to its final place.
    let walk = |seed: u64, place: usize| -> Vec<usize> {
        match place {
            LOST => vec![(seed % 7) as usize, LOST],
            WON => vec![6, WON],
            p => (0..=p).collect(),
        }
    };
    let cfg = config();
    if commits > 0 {
        let mut gi = Command::new("git")
            .args(["init", "-q"])
            .current_dir(&dir)
            .status()
            .expect("git init");
        assert!(gi.success());
        let mut child = Command::new("git")
            .args(["fast-import", "--quiet", "--done"])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .spawn()
            .expect("git fast-import");
        let mut w = std::io::BufWriter::new(child.stdin.take().expect("stdin"));
        let blob = |w: &mut dyn std::io::Write, path: &str, text: &str| {
            write!(w, "M 100644 inline {path}\ndata {}\n{text}\n", text.len()).expect("write");
        };
        // Each deal starts at most two steps before its final place.
        let mut at: Vec<usize> = ds
            .iter()
            .map(|d| {
                let w = walk(d.2, d.0);
                w.len().saturating_sub(3)
            })
            .collect();
        // The moves, round by round, so deals move in an interleaved order.
        let mut moves: Vec<usize> = Vec::new();
        let mut planned = vec![0usize; ds.len()];
        for _round in 0..2 {
            for (i, d) in ds.iter().enumerate() {
                if at[i] + 1 + planned[i] < walk(d.2, d.0).len() {
                    planned[i] += 1;
                    moves.push(i);
                }
            }
        }
        // Commits start on day 600 (2026-08-24, where deals start) and come
        // ten minutes apart, so commit times and stage dates share an era.
        let mut t = 1_735_689_600u64 + 600 * 86_400;
        let mut next_move = 0usize;
        for c in 0..commits {
            t += 600;
            let moving = c > 0 && next_move < moves.len();
            let msg = if c == 0 {
                "pipeline".to_string()
            } else if moving {
                let i = moves[next_move];
                let w = walk(ds[i].2, ds[i].0);
                let (from, to) = (place_id(w[at[i]]), place_id(w[at[i] + 1]));
                let owner = OWNERS[(ds[i].2 % 5) as usize];
                format!(
                    "deal(deal-{i:05}): {from} -> {to}\n\nDeal: deal-{i:05}\nFrom-Stage: {from}\nTo-Stage: {to}\nOwner: {owner} <{owner}@example.com>"
                )
            } else {
                format!("deal(deal-{:05}): activity", c % deals)
            };
            write!(w, "commit refs/heads/main\nauthor Gen <gen@example.com> {t} +0000\ncommitter Gen <gen@example.com> {t} +0000\ndata {}\n{msg}\n", msg.len()).expect("write");
            if c == 0 {
                blob(&mut w, "pipeline.yaml", &cfg);
                for (i, d) in ds.iter().enumerate() {
                    let p = walk(d.2, d.0)[at[i]];
                    blob(&mut w, &path(i, p), &deal_text(i, p, d.1, d.3, d.2));
                }
            } else if moving {
                let i = moves[next_move];
                next_move += 1;
                let d = ds[i];
                let wk = walk(d.2, d.0);
                writeln!(w, "D {}", path(i, wk[at[i]])).expect("write");
                at[i] += 1;
                let p = wk[at[i]];
                blob(&mut w, &path(i, p), &deal_text(i, p, d.1, d.3, d.2));
            } else {
                let i = c % deals;
                ds[i].3 += 1;
                let d = ds[i];
                let p = walk(d.2, d.0)[at[i]];
                blob(&mut w, &path(i, p), &deal_text(i, p, d.1, d.3, d.2));
            }
        }
        writeln!(w, "done").expect("write");
        drop(w);
        assert!(child.wait().expect("fast-import").success());
        gi = Command::new("git")
            .args(["checkout", "-q", "-f", "main"])
            .current_dir(&dir)
            .status()
            .expect("checkout");
        assert!(gi.success());
    } else {
        std::fs::write(dir.join("pipeline.yaml"), &cfg).expect("write");
        for (i, d) in ds.iter().enumerate() {
            let p = dir.join(path(i, d.0));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, deal_text(i, d.0, d.1, d.3, d.2)).expect("write");
        }
    }
    eprintln!(
        "wrote {deals} deals{} to {}",
        if commits > 0 {
            format!(" with {commits} commits")
        } else {
            String::new()
        },
        dir.display()
    );
}
