#!/usr/bin/env bash
# Benchmarks every row of benches/README.md's targets against its peer, in one run, and prints the
# medians, their spread (min-max) and the ratios.
#
#   benches/bench.sh [DIR]        DIR: where the synthetic pipeline goes
#                                 (default target/bench-pipeline; reused while
#                                 DIR/pipeline.yaml exists)
#   GROWTH=1 benches/bench.sh     also times check, list, stats and report at
#                                 1,000 and 100,000 deals, and prints the growth
#   RUNS=N                        hyperfine runs per row (default 10)
#   ONLY=review,import            run only these sections (read, staged, move,
#                                 review, audit, trend, report, import, maven,
#                                 notify, serve, growth, before), keeping the other rows' last
#                                 results
#   BEFORE=PATH                   an older deal binary: the section "before"
#                                 times it and this build on the same rows in
#                                 one hyperfine call each (a change that must
#                                 not regress), and prints after/before
#   MAVEN=DIR                     the Maven CRM sample data (sales_pipeline.csv;
#                                 default /work/shared/data/crm-maven): imported
#                                 once, five and ten times over (ids suffixed);
#                                 the section is skipped when it is absent
#
# Needs curl (for serve), hyperfine and hugo (Debian: apt-get install hyperfine hugo), GNU time
# (/usr/bin/time) and python3. The generator (examples/gen.rs) writes DEALS
# deals (default 10,000) with a COMMITS-commit history (default 20,000) of
# real moves. "Now" is pinned an hour after the last commit, so the last 12
# weeks of `deal trend` fall inside the history.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=$PWD
DIR=${1:-target/bench-pipeline}
DEALS=${DEALS:-10000}
COMMITS=${COMMITS:-20000}
RUNS=${RUNS:-10}
OUT=${OUT:-/tmp/deal-bench}
mkdir -p "$OUT"
[ -n "${ONLY:-}" ] || rm -f "$OUT"/*.json

for tool in hyperfine hugo python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install hyperfine hugo time python3)" >&2; exit 2; }
done
cargo build --release --quiet --bin deal --example gen
DEAL=$PROJECT/target/release/deal
GEN=$PROJECT/target/release/examples/gen

gen() { # DIR DEALS COMMITS
  if [ ! -f "$1/pipeline.yaml" ]; then
    rm -rf "$1"
    "$GEN" "$1" --deals "$2" --commits "$3"
  fi
}
hf() { # NAME hyperfine-args...   (W=warmups R=runs override the defaults)
  local name=$1; shift
  hyperfine -N --style basic --warmup "${W:-2}" --runs "${R:-$RUNS}" --export-json "$OUT/$name.json" "$@" | sed 's/^/  /'
}
want() { # SECTION: run it unless ONLY (a comma list) leaves it out
  [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]
}
rss() { # command...: its peak RSS, into rss.jsonl
  /usr/bin/time -f '%M' -o "$OUT/rss.tmp" "$@" >/dev/null 2>&1 || true
  echo "{\"label\": \"$(basename "$1") $2\", \"kb\": $(tail -1 "$OUT/rss.tmp")}" >> "$OUT/rss.jsonl"
}

gen "$DIR" "$DEALS" "$COMMITS"
cd "$DIR"
SOURCE_DATE_EPOCH=$(( $(git log -1 --format=%ct) + 3600 ))
export SOURCE_DATE_EPOCH
echo "pipeline: $(find deals -name '*.md' | wc -l) deals, $(git rev-list --count HEAD) commits, $(nproc) cores"
BASE=$(git rev-parse HEAD)
[ -n "${ONLY:-}" ] || : > "$OUT/rss.jsonl"

if want read; then
echo "== check, list, stats against cat of the same files"
hf read \
  -n 'cat' "bash -c 'find deals -name \"*.md\" -exec cat {} + > /dev/null'" \
  -n 'deal check' "$DEAL check -q" \
  -n 'deal list' "$DEAL list --format json" \
  -n 'deal stats' "$DEAL stats --format json"
rss "$DEAL" check -q
rss "$DEAL" list --format json
rss "$DEAL" stats --format json
fi

if want staged; then
echo "== check --staged (one deal staged) against check"
BASE=$(git rev-parse HEAD)
ONE=$(find deals/05-proposal -name '*.md' | sort | awk 'NR==1')
echo >> "$ONE" && git add "$ONE"
hf staged -n 'deal check --staged' "$DEAL check -q --staged"
git reset -q --hard "$BASE"
fi

if want move; then
echo "== move against git mv + git commit (each run from the same commit)"
MOVE_FILE=$(basename "$(find deals/06-negotiation -name '*.md' | sort | awk 'NR==1')")
hf move --prepare "git reset -q --hard $BASE" \
  -n 'deal move' "$DEAL move -q ${MOVE_FILE%.md} proposal" \
  -n 'git mv + git commit' "sh -c 'git mv deals/06-negotiation/$MOVE_FILE deals/05-proposal/$MOVE_FILE && git commit -q -m move'"
git reset -q --hard "$BASE"
fi

if want review; then
echo "== review of a 10-deal pull request against git diff --name-status"
# The pull request's commits are dated after its base, as a real one's are.
export GIT_AUTHOR_DATE="@$SOURCE_DATE_EPOCH" GIT_COMMITTER_DATE="@$SOURCE_DATE_EPOCH"
git branch -q -D bench-pr 2>/dev/null || true
git checkout -q -b bench-pr
for f in $(find deals/06-negotiation -name '*.md' | sort | awk 'NR<=5'); do
  "$DEAL" move -q "$(basename "$f" .md)" proposal
done
for f in $(find deals/03-qualification -name '*.md' | sort | awk 'NR<=5'); do
  echo "- a note from the call" >> "$f"
  git commit -q -am "notes: $(basename "$f" .md)"
done
hf review \
  -n 'deal review' "$DEAL review $BASE..bench-pr" \
  -n 'git diff --name-status' "git diff --name-status $BASE bench-pr"
git checkout -q - && git reset -q --hard "$BASE" && git branch -q -D bench-pr
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE
fi

if want audit; then
echo "== audit over the whole history against git log --name-status"
hf audit \
  -n 'deal audit' "$DEAL audit --last 30" \
  -n 'git log --name-status' "git log --name-status"
fi

if want trend; then
echo "== trend --last 12 against stats"
hf trend \
  -n 'deal trend' "$DEAL trend --last 12" \
  -n 'deal stats, same call' "$DEAL stats --format json"
rss "$DEAL" trend --last 12
fi

if want report; then
echo "== report against Hugo on the same files (benches/hugo: the same fields)"
HUGO_SITE="$OUT/hugo-site"
rm -rf "$HUGO_SITE" && mkdir -p "$HUGO_SITE"
cp -r "$PROJECT/benches/hugo/." "$HUGO_SITE/"
cp -r deals "$HUGO_SITE/content"
hf report \
  -n 'deal report' "$DEAL report -q -o $OUT/report" \
  -n 'hugo' "hugo --quiet -s $HUGO_SITE -d $OUT/hugo-out"
rss "$DEAL" report -q -o "$OUT/report"
fi

if want import; then
echo "== import of a HubSpot export against writing the same files, then git add -A && git commit"
# On tmpfs: on this shared machine's disk, creating 44,000 files right after
# deleting others swings by 3x from run to run, for deal and git alike.
SHM=/dev/shm/deal-bench-import
python3 - "$OUT" <<'PY'
import csv, random, sys
random.seed(7)
stages = ["Appointment Scheduled", "Qualified To Buy", "Presentation Scheduled",
          "Decision Maker Bought-In", "Contract Sent", "Closed Won", "Closed Lost"]
owners = ["Alice Smith", "Bob Jones", "Carol Reyes", "Dana Lee", "Erik Sand", "Frank Ocean"]
for n in (8800, 44000):
    with open(f"{sys.argv[1]}/rows{n}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount",
                    "Create Date", "Associated Company", "Closed Lost Reason"])
        for i in range(n):
            st = random.choice(stages)
            closed = f"{random.randint(1, 12)}/{random.randint(1, 28)}/2026" if st.startswith("Closed") else ""
            w.writerow([100000 + i, f"Deal {i} for Company {i % 997}", st, closed, random.choice(owners),
                        f"${random.randint(1, 500) * 100:,}.00", f"2025-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}",
                        f"Company {i % 997}", "No budget" if st == "Closed Lost" else ""])
PY
# An identity for both sides, whatever the machine's git config says.
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
# hyperfine runs --prepare without a shell (-N), hence the sh -c.
fresh="sh -c 'rm -rf $SHM && mkdir -p $SHM && cd $SHM && $DEAL init -q .'"
# The peer writes exactly the files the import writes.
rm -rf "$SHM" && mkdir -p "$SHM" && (cd "$SHM" && "$DEAL" init -q . \
  && "$DEAL" import -q "$OUT/rows44000.csv" --preset hubspot) && rm -rf "$OUT/imported" && cp -r "$SHM" "$OUT/imported"
# One hyperfine call (one --prepare per command), so the peer runs under
# the same load as the import on this shared machine.
W=1 R=3 hf import \
  --prepare "$fresh" \
  --prepare "sh -c 'rm -rf $SHM && mkdir -p $SHM && cd $SHM && git init -q && git commit -q --allow-empty -m init'" \
  --prepare "$fresh" \
  -n 'deal import 44000' "$DEAL -C $SHM import -q $OUT/rows44000.csv --preset hubspot" \
  -n 'write files + git add -A && git commit' "sh -c 'cd $SHM && cp -r $OUT/imported/deals $OUT/imported/pipeline.yaml . && git add -A && git commit -qm import'" \
  -n 'deal import 8800' "$DEAL -C $SHM import -q $OUT/rows8800.csv --preset hubspot"
rm -rf "$SHM"
fi

if want maven; then
MAVEN=${MAVEN:-/work/shared/data/crm-maven}
if [ -f "$MAVEN/sales_pipeline.csv" ]; then
echo "== import of a real export where many rows share a name: the Maven CRM data x1, x5, x10 (ids suffixed)"
python3 - "$MAVEN/sales_pipeline.csv" "$OUT" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
for k in (1, 5, 10):
    with open(f"{sys.argv[2]}/maven{k}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(rows[0])
        for i in range(k):
            for r in rows[1:]:
                w.writerow([f"{r[0]}-{i + 1}" if k > 1 else r[0]] + r[1:])
PY
# The product names the deal (7 names over 8,800 rows: the worst case for slugs).
MAP="--map opportunity_id=source_id --map sales_agent=owner --map account=company --map product=title --map deal_stage=stage --map close_date=closed --map close_value=value --map engage_date=stages.outreach --stage-map Engaging=outreach"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
SHM=/dev/shm/deal-bench-maven
fresh="sh -c 'rm -rf $SHM && mkdir -p $SHM && cd $SHM && $DEAL init -q .'"
rm -rf "$SHM" && mkdir -p "$SHM" && (cd "$SHM" && "$DEAL" init -q . \
  && "$DEAL" import -q "$OUT/maven5.csv" $MAP) && rm -rf "$OUT/maven-imported" && cp -r "$SHM" "$OUT/maven-imported"
# One hyperfine call, so the peer runs under the same load (one --prepare
# per command, in order); x5 and its peer first, then the growth.
W=0 R=3 hf maven \
  --prepare "$fresh" \
  --prepare "sh -c 'rm -rf $SHM && mkdir -p $SHM && cd $SHM && git init -q && git commit -q --allow-empty -m init'" \
  --prepare "$fresh" --prepare "$fresh" \
  -n 'deal import maven x5' "$DEAL -C $SHM import -q $OUT/maven5.csv $MAP" \
  -n 'maven x5: write files + git add -A && git commit' "sh -c 'cd $SHM && cp -r $OUT/maven-imported/deals $OUT/maven-imported/pipeline.yaml . && git add -A && git commit -qm import'" \
  -n 'deal import maven x1' "$DEAL -C $SHM import -q $OUT/maven1.csv $MAP" \
  -n 'deal import maven x10' "$DEAL -C $SHM import -q $OUT/maven10.csv $MAP"
rm -rf "$SHM"
else
echo "== maven: $MAVEN/sales_pipeline.csv is absent; skipped"
fi
fi

if want notify; then
echo "== notify --dry-run: the events of a 100-commit range against git log --name-status over it"
# A range of 100 moves (from HEAD~10000 on), replayed on a branch whose first
# commit adds triggers (an event from a commit before its trigger fires
# nothing), made once and kept.
if ! git rev-parse -q --verify refs/heads/bench-notify >/dev/null; then
  (
    export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
    export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
    git checkout -q -b bench-notify "$BASE~10000"
    cat >> pipeline.yaml <<'YAML'
triggers:
  - { id: qualified, on: enter, stage: qualification, webhook: "https://chat.example/hook/$DEAL_HOOK" }
  - { id: proposals, on: enter, stage: proposal, owner: bob, format: full, webhook: "https://chat.example/hook/$DEAL_HOOK" }
  - { id: wins, on: won, webhook: "https://chat.example/hook/$DEAL_HOOK" }
  - { id: losses, on: lost, webhook: "https://chat.example/hook/$DEAL_HOOK" }
YAML
    git commit -q -am "triggers"
    git cherry-pick "$BASE~10000..$BASE~9900" >/dev/null
    git checkout -q main
  )
fi
git checkout -q bench-notify
echo "  $("$DEAL" notify --dry-run bench-notify~100..bench-notify | grep -c '^would send') messages from 100 commits"
hf notify \
  -n 'deal notify --dry-run' "$DEAL notify --dry-run bench-notify~100..bench-notify" \
  -n 'git log --name-status, same range' "git log --name-status bench-notify~100..bench-notify"
git checkout -q main
fi

if want serve; then
echo "== deal serve: a drag's round trip against deal move (each run from the same commit); the board's load"
MOVE_FILE=$(basename "$(find deals/06-negotiation -name '*.md' | sort | awk 'NR==1')")
MOVE_SLUG=${MOVE_FILE%.md}
MOVE_BLOB=$(git hash-object "deals/06-negotiation/$MOVE_FILE")
"$DEAL" serve --port 0 > "$OUT/serve.out" 2>/dev/null &
SERVE_PID=$!
trap 'kill $SERVE_PID 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$OUT/serve.out" ] && break; sleep 0.1; done
SERVE_URL=$(sed 's/.* at //' "$OUT/serve.out")
SERVE_PORT=$(echo "$SERVE_URL" | sed 's#http://127.0.0.1:\([0-9]*\)/.*#\1#')
SERVE_COOKIE="deal_serve_$SERVE_PORT=${SERVE_URL##*token=}"
curl -s -o "$OUT/board.html" -H "Cookie: $SERVE_COOKIE" "http://127.0.0.1:$SERVE_PORT/"
SERVE_CSRF=$(grep -m1 -o 'name="csrf" value="[0-9a-f]*"' "$OUT/board.html" | sed 's/.*value="//; s/"//')
# The drop posts the card's form; curl's answer is the 303 sent after the commit.
hf serve --prepare "git reset -q --hard $BASE" \
  -n 'serve drag' "curl -sf -o /dev/null -H 'Cookie: $SERVE_COOKIE' -H 'Origin: http://127.0.0.1:$SERVE_PORT' --data 'csrf=$SERVE_CSRF&slug=$MOVE_SLUG&blob=$MOVE_BLOB&to=proposal' http://127.0.0.1:$SERVE_PORT/move" \
  -n 'deal move, same call' "$DEAL move -q $MOVE_SLUG proposal"
git reset -q --hard "$BASE"
hf serve-board -n 'serve board' "curl -sf -o /dev/null -H 'Cookie: $SERVE_COOKIE' http://127.0.0.1:$SERVE_PORT/"
kill "$SERVE_PID"
fi

if [ -n "${BEFORE:-}" ] && want before; then
echo "== before and after: the rows above, this build against $BEFORE, each pair in one call"
B=$BEFORE
hf before-read \
  -n 'before: deal check' "$B check -q" -n 'after: deal check' "$DEAL check -q" \
  -n 'before: deal list' "$B list --format json" -n 'after: deal list' "$DEAL list --format json" \
  -n 'before: deal stats' "$B stats --format json" -n 'after: deal stats' "$DEAL stats --format json"
ONE=$(find deals/05-proposal -name '*.md' | sort | awk 'NR==1')
echo >> "$ONE" && git add "$ONE"
hf before-staged -n 'before: deal check --staged' "$B check -q --staged" -n 'after: deal check --staged' "$DEAL check -q --staged"
git reset -q --hard "$BASE"
MOVE_FILE=$(basename "$(find deals/06-negotiation -name '*.md' | sort | awk 'NR==1')")
hf before-move --prepare "git reset -q --hard $BASE" \
  -n 'before: deal move' "$B move -q ${MOVE_FILE%.md} proposal" \
  -n 'after: deal move' "$DEAL move -q ${MOVE_FILE%.md} proposal"
git reset -q --hard "$BASE"
hf before-history \
  -n 'before: deal audit' "$B audit --last 30" -n 'after: deal audit' "$DEAL audit --last 30" \
  -n 'before: deal trend' "$B trend --last 12" -n 'after: deal trend' "$DEAL trend --last 12" \
  -n 'before: deal review' "$B review $BASE~10..$BASE" -n 'after: deal review' "$DEAL review $BASE~10..$BASE"
hf before-report \
  -n 'before: deal report' "$B report -q -o $OUT/report-before" -n 'after: deal report' "$DEAL report -q -o $OUT/report"
MAVEN=${MAVEN:-/work/shared/data/crm-maven}
if [ -f "$MAVEN/sales_pipeline.csv" ]; then
  MAP="--map opportunity_id=source_id --map sales_agent=owner --map account=company --map product=title --map deal_stage=stage --map close_date=closed --map close_value=value --map engage_date=stages.outreach --stage-map Engaging=outreach"
  SHM=/dev/shm/deal-bench-before
  (
    export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
    W=1 R=${R:-5} hf before-import \
      --prepare "sh -c 'rm -rf $SHM && mkdir -p $SHM && cd $SHM && $DEAL init -q .'" \
      --prepare "sh -c 'rm -rf $SHM && mkdir -p $SHM && cd $SHM && $DEAL init -q .'" \
      -n 'before: deal import maven' "$B -C $SHM import -q $MAVEN/sales_pipeline.csv $MAP" \
      -n 'after: deal import maven' "$DEAL -C $SHM import -q $MAVEN/sales_pipeline.csv $MAP"
  )
  rm -rf "$SHM"
fi
fi

if [ "${GROWTH:-0}" = 1 ] && want growth; then
  for n in 1000 100000; do
    echo "== growth: $n deals"
    d="$PROJECT/target/bench-pipeline-$n"
    gen "$d" "$n" "$COMMITS"
    (cd "$d" && W=1 R=3 hf "growth-$n" \
      -n "deal check $n" "$DEAL check -q" \
      -n "deal list $n" "$DEAL list --format json" \
      -n "deal stats $n" "$DEAL stats --format json" \
      -n "deal report $n" "$DEAL report -q -o $OUT/report-$n" \
      -n "cat $n" "bash -c 'find deals -name \"*.md\" -exec cat {} + > /dev/null'")
  done
fi

python3 "$PROJECT/benches/summary.py" "$OUT"
