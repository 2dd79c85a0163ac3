#!/usr/bin/env python3
"""Prints benches/bench.sh's results: each speed target with its peer, the
medians, their spread (min-max over the runs) and the ratio against the
target, then the growth from 1,000 to 10,000 to 100,000 deals."""
import json
import os
import sys

out = sys.argv[1]
r = {}
for name in os.listdir(out):
    if name.endswith(".json"):
        for x in json.load(open(os.path.join(out, name)))["results"]:
            r[x["command"]] = x
rss = {}
if os.path.exists(os.path.join(out, "rss.jsonl")):
    for line in open(os.path.join(out, "rss.jsonl")):
        x = json.loads(line)
        rss[x["label"].split("/")[-1]] = x["kb"] / 1024


def ms(x):
    return f"{x['median'] * 1000:,.0f} ms ({x['min'] * 1000:,.0f}-{x['max'] * 1000:,.0f})"


rows = [
    ("deal check", "cat", 1.5),
    ("deal list", "cat", 1.5),
    ("deal stats", "cat", 1.5),
    ("deal check --staged", "deal check", 1.5),
    ("deal move", "git mv + git commit", 0.5),
    ("deal review", "git diff --name-status", 5.0),
    ("deal audit", "git log --name-status", 1.5),
    # The peer timed in the same hyperfine call, not the read section's.
    ("deal trend", "deal stats, same call", 2.0),
    ("deal report", "hugo", 1 / 3),
    ("deal import 44000", "write files + git add -A && git commit", 1.5),
    ("deal import maven x5", "maven x5: write files + git add -A && git commit", 1.5),
    ("deal notify --dry-run", "git log --name-status, same range", 2.0),
]
print()
print(f"{'row':<22}{'deal, median (min-max)':>28}{'peer':>42}{'ratio':>9}{'target':>9}  ok")
ok_all = True
for name, peer, target in rows:
    if name not in r or peer not in r:
        print(f"{name:<22} (not run)")
        continue
    a, b = r[name], r[peer]
    ratio = a["median"] / b["median"]
    ok = ratio <= target
    ok_all &= ok
    print(f"{name:<22}{ms(a):>28}{peer + ': ' + ms(b):>42}{ratio:>8.2f}x{'<= ' + format(target, '.2f') + 'x':>9}  {'yes' if ok else 'NO'}")
if "deal import 8800" in r and "deal import 44000" in r:
    g = r["deal import 44000"]["median"] / r["deal import 8800"]["median"]
    print(f"{'import linearity':<22}{'44,000 rows / 8,800 rows':>28}{'':>42}{g:>8.2f}x{'<= 5.00x':>9}  {'yes' if g <= 5.5 else 'NO'}")
if "deal import maven x1" in r and "deal import maven x10" in r:
    g = r["deal import maven x10"]["median"] / r["deal import maven x1"]["median"]
    print(f"{'maven linearity':<22}{'x10 rows / x1 rows':>28}{'':>42}{g:>8.2f}x{'<= 11.00x':>9}  {'yes' if g <= 11 else 'NO'}")
    cpu = lambda x: x["user"] + x["system"]
    c = cpu(r["deal import maven x10"]) / cpu(r["deal import maven x1"])
    print(f"{'  the same, CPU time':<22}{'x10 / x1, user + system (mean)':>28}{'':>42}{c:>8.2f}x{'<= 11.00x':>9}  {'yes' if c <= 11 else 'NO'}")
if "serve drag" in r and "deal move, same call" in r:
    a, b = r["serve drag"], r["deal move, same call"]
    d = (a["median"] - b["median"]) * 1000
    print(f"{'deal serve drag':<22}{ms(a):>28}{'deal move, same call: ' + ms(b):>42}{d:>+7.0f}ms{'<= +20ms':>9}  {'yes' if d <= 20 else 'NO'}")
if "serve board" in r:
    a = r["serve board"]
    print(f"{'deal serve board':<22}{ms(a):>28}{'':>42}{'':>9}{'< 1 s':>9}  {'yes' if a['median'] < 1 else 'NO'}")
print()
for label, kb in sorted(rss.items()):
    limit = 100 if any(k in label for k in ("check", "list", "stats")) else None
    verdict = "" if limit is None else ("  yes" if kb < limit else "  NO")
    print(f"peak RSS {label:<34}{kb:>8.0f} MB" + (f"  (< {limit} MB){verdict}" if limit else ""))

sizes = [1000, 10000, 100000]
found = {}
for n in sizes:
    for cmd in ("deal check", "deal list", "deal stats", "deal report", "cat"):
        key = cmd if n == 10000 else f"{cmd} {n}"
        if n == 10000 and cmd == "deal report":
            key = "deal report"
        if key in r:
            found[(cmd, n)] = r[key]["median"]
if any(n != 10000 for (_, n) in found):
    print("\ngrowth (median):")
    for cmd in ("deal check", "deal list", "deal stats", "deal report", "cat"):
        t = [found.get((cmd, n)) for n in sizes]
        if None in t:
            continue
        g = t[2] / t[1]
        ok = g <= 12 or cmd == "cat"
        print(f"  {cmd:<12} 1k {t[0]*1000:>8.0f} ms  10k {t[1]*1000:>8.0f} ms  100k {t[2]*1000:>9.0f} ms"
              f"   10k/1k {t[1]/t[0]:>5.1f}x   100k/10k {g:>5.1f}x (<= 12x) {'yes' if ok else 'NO'}")
before = sorted(k[len("before: "):] for k in r if k.startswith("before: ") and "after: " + k[len("before: "):] in r)
if before:
    print("\nbefore and after (one hyperfine call each pair; after/before, 1.00x = no change):")
    for name in before:
        a, b = r["after: " + name], r["before: " + name]
        ratio = a["median"] / b["median"]
        print(f"  {name:<22}{'before ' + ms(b):>30}{'after ' + ms(a):>30}{ratio:>8.2f}x")
print("\nverdict:", "every ratio met" if ok_all else "NOT every ratio met (see NO above)")
