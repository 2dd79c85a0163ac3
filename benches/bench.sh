#!/usr/bin/env bash
# Benchmarks SPEC §6's figures against their peers, in one run, and prints ratios.
#
#   benches/bench.sh [DIR]     (DIR: where the synthetic pipeline goes; default target/bench-pipeline)
#
# Needs hyperfine (Debian: apt-get install hyperfine) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-target/bench-pipeline}
DEALS=${DEALS:-10000}
COMMITS=${COMMITS:-20000}

command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 2; }
cargo build --release --quiet --bin deal --example gen
DEAL=$PWD/target/release/deal
if [ ! -f "$DIR/pipeline.yaml" ]; then
  rm -rf "$DIR"
  target/release/examples/gen "$DIR" --deals "$DEALS" --commits "$COMMITS"
fi
PROJECT=$PWD
cd "$DIR"
# Pin "now" near the generated dates, so the run reports few warnings.
export SOURCE_DATE_EPOCH=1789430400   # 2026-09-15
echo "pipeline: $(find deals -name '*.md' | wc -l) deals, $(git rev-list --count HEAD 2>/dev/null || echo 0) commits, $(nproc) cores"
echo

hyperfine --warmup 3 --runs 20 -N --export-json /tmp/deal-bench-check.json \
  -n 'deal check' "$DEAL check -q" \
  -n 'cat (same files)' "bash -c 'cat deals/*/*.md > /dev/null'" | sed 's/^/  /'

# deal trend --last 12 against deal stats (goal: within 2x). Twice: with "now"
# pinned as above (2026-09-15, long after the generated history: every weekly
# snapshot is HEAD, one pipeline read from git objects), and with "now" an
# hour after HEAD's commit, so the twelve weeks end inside the history: two
# snapshots before the first commit, then the snapshot of 2023-11-20 read
# whole, and two later ones built by diffing the deals folder, each re-reading
# only the deal files that changed (in this history, every deal changed in
# the last full week).
hyperfine --warmup 2 --runs 20 -N --export-json /tmp/deal-bench-trend.json \
  -n 'deal stats' "$DEAL stats" \
  -n 'deal trend --last 12' "$DEAL trend --last 12" | sed 's/^/  /'
HEAD_NOW=$(( $(git log -1 --format=%ct) + 3600 ))
SOURCE_DATE_EPOCH=$HEAD_NOW hyperfine --warmup 2 --runs 20 -N --export-json /tmp/deal-bench-trend-in.json \
  -n 'deal stats (now in history)' "$DEAL stats" \
  -n 'deal trend --last 12 (now in history)' "$DEAL trend --last 12" | sed 's/^/  /'

# deal check --staged, against deal check above: one staged deal (a usual
# commit), and every deal staged (the worst case: all 10,000 read from the index).
BASE=$(git rev-parse HEAD)
ONE=$(find deals/05-proposal -name "*.md" -print -quit)
echo >> "$ONE" && git add "$ONE"
hyperfine --warmup 3 --runs 20 -N --export-json /tmp/deal-bench-staged1.json \
  -n 'deal check --staged (1 deal staged)' "$DEAL check -q --staged" | sed 's/^/  /'
git reset -q --hard "$BASE"
find deals -name '*.md' -print0 | xargs -0 -n 1000 sh -c 'for f; do echo >> "$f"; done' _
git add -A
hyperfine --warmup 3 --runs 20 -N --export-json /tmp/deal-bench-stagedall.json \
  -n 'deal check --staged (all staged)' "$DEAL check -q --staged" | sed 's/^/  /'
git reset -q --hard "$BASE"

# deal move against git mv + git commit, on the same repository. Each run
# starts from the same commit (`--prepare` resets; not timed). The deal goes
# back from negotiation to proposal, which needs no criteria, so both do the
# same rename; deal also edits stages.proposal and writes trailers.
BASE=$(git rev-parse HEAD)
MOVE_FILE=$(basename "$(find deals/06-negotiation -name "*.md" -print -quit)")
MOVE_SLUG=${MOVE_FILE%.md}
hyperfine --warmup 2 --runs 20 -N --export-json /tmp/deal-bench-move.json \
  --prepare "git reset -q --hard $BASE" \
  -n 'deal move' "$DEAL move -q $MOVE_SLUG proposal" \
  -n 'git mv + git commit' "sh -c 'git mv deals/06-negotiation/$MOVE_FILE deals/05-proposal/$MOVE_FILE && git commit -q -m move'" | sed 's/^/  /'
git reset -q --hard "$BASE"

# deal review of a 10-deal pull request against `git diff --name-status`
# between the same commits: a branch with five moves by deal (trailers) and
# five hand edits, each its own commit.
BASE=$(git rev-parse HEAD)
git checkout -q -b bench-pr
for f in $(find deals/06-negotiation -name '*.md' | sort | head -5); do
  "$DEAL" move -q "$(basename "$f" .md)" proposal
done
for f in $(find deals/03-qualification -name '*.md' | sort | head -5); do
  echo "- a note from the call" >> "$f"
  git commit -q -am "notes: $(basename "$f" .md)"
done
hyperfine --warmup 3 --runs 30 -N --export-json /tmp/deal-bench-review.json \
  -n 'deal review (10-deal PR)' "$DEAL review $BASE..bench-pr" \
  -n 'git diff --name-status' "git diff --name-status $BASE bench-pr" | sed 's/^/  /'
git checkout -q - && git reset -q --hard "$BASE" && git branch -q -D bench-pr

# deal report against Hugo building the same 10,000 deal files as pages, with
# layouts that show the same fields (benches/hugo/). Skipped without hugo.
HUGO_SITE="$PWD/../$(basename "$PWD")-hugo"
if command -v hugo >/dev/null; then
  rm -rf "$HUGO_SITE" && mkdir -p "$HUGO_SITE"
  cp -r "$PROJECT/benches/hugo/." "$HUGO_SITE/"
  cp -r deals "$HUGO_SITE/content"
  hyperfine --warmup 1 --runs 10 -N --export-json /tmp/deal-bench-report.json \
    -n 'deal report' "$DEAL report -q -o /tmp/deal-bench-report" \
    -n 'hugo (same files)' "hugo --quiet -s $HUGO_SITE -d /tmp/deal-bench-hugo" | sed 's/^/  /'
else
  echo "hugo is missing (apt-get install hugo): deal report is not compared" >&2
  echo '{"results": []}' > /tmp/deal-bench-report.json
fi

# deal import of a 10,000-row HubSpot-style export into a fresh pipeline
# (goal: under 10 s). Each run starts from a new, committed `deal init`.
IMPORT_DIR="$PWD/../$(basename "$PWD")-import"
python3 - "$IMPORT_DIR.csv" <<'PY'
import csv, random, sys
random.seed(7)
stages = ["Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled",
          "Decision Maker Bought-In", "Contract Sent", "Closed Won", "Closed Lost"]
owners = ["Alice Smith", "Bob Jones", "Carol Reyes", "Dana Lee", "Erik Sand", "Frank Ocean"]
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount",
                "Create Date", "Associated Company", "Closed Lost Reason"])
    for i in range(10000):
        st = random.choice(stages)
        closed = f"{random.randint(1, 12)}/{random.randint(1, 28)}/2026" if st.startswith("Closed") else ""
        w.writerow([100000 + i, f"Deal {i} for Company {i % 997}", st, closed, random.choice(owners),
                    f"${random.randint(1, 500) * 100:,}.00", f"2025-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
                    f"Company {i % 997}", "No budget" if st == "Closed Lost" else ""])
PY
hyperfine --runs 3 --export-json /tmp/deal-bench-import.json \
  --prepare "rm -rf '$IMPORT_DIR' && mkdir -p '$IMPORT_DIR' && cd '$IMPORT_DIR' && $DEAL init -q . && git add -A && git -c user.name=b -c user.email=b@example.com commit -qm init" \
  -n 'deal import (10,000 rows)' "$DEAL -C '$IMPORT_DIR' import -q '$IMPORT_DIR.csv' --preset hubspot" | sed 's/^/  /'

rss_kb=$( { /usr/bin/time -f '%M' "$DEAL" check -q >/dev/null; } 2>&1 | tail -1 )
python3 - "$rss_kb" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open("/tmp/deal-bench-check.json"))["results"]}
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-move.json"))["results"]})
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-staged1.json"))["results"]})
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-stagedall.json"))["results"]})
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-report.json"))["results"]})
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-import.json"))["results"]})
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-review.json"))["results"]})
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-trend.json"))["results"]})
r.update({x["command"]: x for x in json.load(open("/tmp/deal-bench-trend-in.json"))["results"]})
d, c = r["deal check"], r["cat (same files)"]
rss = int(sys.argv[1]) / 1024
print()
print(f"{'figure':<34}{'measured':>12}{'goal':>12}{'peer':>12}{'ratio':>10}")
print(f"{'deal check, median':<34}{d['median']*1000:>10.0f}ms{'< 300ms':>12}{c['median']*1000:>10.0f}ms{d['median']/c['median']:>9.2f}x")
print(f"{'deal check, peak RSS':<34}{rss:>10.0f}MB{'< 200MB':>12}{'':>12}{'':>10}")
s1, sa = r["deal check --staged (1 deal staged)"], r["deal check --staged (all staged)"]
print(f"{'check --staged, 1 deal staged':<34}{s1['median']*1000:>10.0f}ms{'<= 1.5x':>12}{d['median']*1000:>10.0f}ms{s1['median']/d['median']:>9.2f}x")
print(f"{'check --staged, all staged':<34}{sa['median']*1000:>10.0f}ms{'<= 1.5x':>12}{d['median']*1000:>10.0f}ms{sa['median']/d['median']:>9.2f}x")
m, g = r["deal move"], r["git mv + git commit"]
print(f"{'deal move, median':<34}{m['median']*1000:>10.1f}ms{'<= peer':>12}{g['median']*1000:>10.1f}ms{m['median']/g['median']:>9.2f}x")
ok = d["median"] < 0.300 and rss < 200 and m["median"] <= g["median"] and sa["median"] <= 1.5 * d["median"]
im = r["deal import (10,000 rows)"]
print(f"{'deal import, 10,000 rows, median':<34}{im['median']:>11.2f}s{'< 10s':>12}{'':>12}{'':>10}")
ok = ok and im["median"] < 10
rv, gd = r["deal review (10-deal PR)"], r["git diff --name-status"]
print(f"{'deal review, 10-deal PR, median':<34}{rv['median']*1000:>10.1f}ms{'<= 5x':>12}{gd['median']*1000:>10.1f}ms{rv['median']/gd['median']:>9.2f}x")
ok = ok and rv["median"] <= 5 * gd["median"]
for suffix, label in (("", "trend --last 12, median"), (" (now in history)", "trend --last 12 in history")):
    tr, st = r["deal trend --last 12" + suffix], r["deal stats" + suffix]
    spread = f"{tr['min']*1000:.0f}-{tr['max']*1000:.0f}"
    print(f"{label:<34}{tr['median']*1000:>10.0f}ms{'<= 2x':>12}{st['median']*1000:>10.0f}ms{tr['median']/st['median']:>9.2f}x  (range {spread} ms)")
    ok = ok and tr["median"] <= 2 * st["median"]
if "deal report" in r:
    rp, h = r["deal report"], r["hugo (same files)"]
    print(f"{'deal report, median':<34}{rp['median']*1000:>10.0f}ms{'<= peer':>12}{h['median']*1000:>10.0f}ms{rp['median']/h['median']:>9.2f}x")
    ok = ok and rp["median"] <= h["median"]
print("\nverdict:", "goals met" if ok else "GOALS NOT MET")
PY
