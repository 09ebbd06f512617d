#!/usr/bin/env python3
"""Two binaries, the same arguments, timed in alternating whole-process runs.

usage: bench/ab.py ROUNDS BIN_A BIN_B [--cwd DIR] -- ARGS...
e.g.   bench/ab.py 20 /tmp/tuskguard-before target/release/tuskguard -- scan bench/out/corpus-300mb --format json

hyperfine times one command's batch after the other, so a load that changes during the run
skews the ratio; alternating A and B (and which goes first) gives each pair the same load.
Prints both medians and the median of the per-pair ratios B/A. Exit codes 0 and 1 (findings)
count as runs; anything else stops it.
"""
import subprocess, sys, time, statistics, os
rounds = int(sys.argv[1]); a, b = sys.argv[2], sys.argv[3]
rest = sys.argv[4:]
cwd = None
if rest[0] == "--cwd":
    cwd = rest[1]; rest = rest[2:]
assert rest[0] == "--"; args = rest[1:]
def run(binary):
    t = time.perf_counter()
    r = subprocess.run([binary] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    if r.returncode not in (0, 1): sys.exit(f"{binary} exited {r.returncode}")
    return time.perf_counter() - t
run(a); run(b)
ta, tb = [], []
for i in range(rounds):
    if i % 2: tb.append(run(b)); ta.append(run(a))
    else: ta.append(run(a)); tb.append(run(b))
ratios = [y / x for x, y in zip(ta, tb)]
print(f"A {statistics.median(ta)*1000:.1f} ms  B {statistics.median(tb)*1000:.1f} ms  "
      f"B/A median paired {statistics.median(ratios):.3f} (min {min(ratios):.3f} max {max(ratios):.3f})  load {os.getloadavg()[0]:.2f}")
