#!/usr/bin/env bash
# History and pre-commit benchmark.
#
# usage: bench/history.sh [COMMITS] [--repo PATH] [--runs N] [-- EXTRA HISTORY ARGS]
#   COMMITS     commits in the generated repository (default 5000)
#   --repo PATH also audit an existing local repository (read only)
#   --runs N    hyperfine runs per command (default 5; 3 is plenty for git/git-sized repositories)
#   -- ARGS     extra arguments for `tuskguard history` (e.g. `-- --memory-budget 256`)
#
# 1. `tuskguard history` vs `git cat-file --batch` over every blob (the issue's yardstick: every
#    blob inflated once on one core; the blob list is made before timing) and over every object
#    (`--batch-all-objects`), on a repository generated with git fast-import and repacked with
#    deltas, plus peak memory (GNU time) and the load average around each measurement.
# 2. `tuskguard scan --staged` in a generated repository with 100,000 tracked files and one
#    staged change.
# Whole-process timings with hyperfine (installed from the distribution if missing), warm cache.
set -euo pipefail
cd "$(dirname "$0")/.."
commits=5000
extra_repo=
runs=5
history_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) extra_repo=$(cd "$2" && pwd); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --) shift; history_args=("$@"); break ;;
    *) commits=$1; shift ;;
  esac
done

need() {
  command -v "$1" >/dev/null && return
  echo "installing $2 from the package registry…" >&2
  (apt-get update -qq && apt-get install -y -qq "$2") >/dev/null
}
need hyperfine hyperfine
[ -x /usr/bin/time ] || need /usr/bin/time time

out=$PWD/bench/out
mkdir -p "$out"
quiet_git() { git -c gc.auto=0 -c init.defaultBranch=main "$@" >/dev/null 2>&1; }

history_repo=$out/history-${commits}
if [ ! -d "$history_repo" ]; then
  echo "generating $history_repo ($commits commits)…" >&2
  quiet_git init -q --bare "$history_repo.tmp"
  python3 bench/gen_history.py "$commits" 2000 3000 3 | git -C "$history_repo.tmp" fast-import --quiet
  git -C "$history_repo.tmp" repack -adq --depth=50 --window=10
  mv "$history_repo.tmp" "$history_repo"
fi

staged_repo=$out/staged-100k
if [ ! -d "$staged_repo" ]; then
  echo "generating $staged_repo (100,000 files)…" >&2
  quiet_git init -q "$staged_repo.tmp"
  python3 bench/gen_history.py 1 100000 120 0 | git -C "$staged_repo.tmp" fast-import --quiet
  git -C "$staged_repo.tmp" checkout -q -f main
  mv "$staged_repo.tmp" "$staged_repo"
fi
# One staged change, as in a normal commit.
echo "const changed = true;" >> "$staged_repo/src/mod000/pkg00/file000000.js"
git -C "$staged_repo" add src/mod000/pkg00/file000000.js

cargo build --release --quiet
bin=$PWD/target/release/tuskguard

audit() { # name repo
  local name=$1 repo=$2
  # Exit 2 is an incomplete audit (a partial clone's missing blobs): still a full measurement.
  "$bin" history "$repo" "${history_args[@]}" --allow-incomplete --format json \
    --output "$out/$name-report.json" || [ $? -eq 1 ]
  python3 - "$out/$name-report.json" "$repo" <<'PY'
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
objects = subprocess.run(["git", "-C", sys.argv[2], "count-objects", "-v"], capture_output=True, text=True).stdout
print(f"{sys.argv[2]}: {s['commits_scanned']} commits, {s['files_scanned']} unique blobs, "
      f"{s['bytes_scanned']/1048576:.0f} MiB scanned, {len(r['findings'])} findings")
print("  " + " ".join(l for l in objects.splitlines() if l.startswith(("count", "in-pack", "size-pack"))))
PY
  git -C "$repo" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectname)' |
    awk '$1 == "blob" { print $2 }' > "$out/$name-blobs.txt"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  hyperfine --warmup 1 --runs "$runs" --ignore-failure --export-json "$out/$name.json" \
    -n "git cat-file (blobs)" "git -C $repo cat-file --batch < $out/$name-blobs.txt > /dev/null" \
    -n "git cat-file (all objects)" "git -C $repo cat-file --batch-all-objects --batch > /dev/null" \
    -n "tuskguard history" "$bin history $repo ${history_args[*]} --format json > /dev/null"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -v "$bin" history "$repo" "${history_args[@]}" --format json 2> "$out/$name-time.txt" > /dev/null || true
  python3 - "$out/$name.json" "$out/$name-time.txt" <<'PY'
import json, re, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
blobs, every = runs["git cat-file (blobs)"]["mean"], runs["git cat-file (all objects)"]["mean"]
tg = runs["tuskguard history"]["mean"]
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[2]).read())
peak = f"{int(rss.group(1)) / 1024:.0f} MiB" if rss else "unknown"
print(f"RESULT history: tuskguard {tg*1000:.0f} ms, peak RSS {peak}; "
      f"cat-file blobs {blobs*1000:.0f} ms -> ratio {tg/blobs:.2f}x (target <= 0.3x); "
      f"cat-file all objects {every*1000:.0f} ms -> ratio {tg/every:.2f}x")
PY
}

audit history "$history_repo"
[ -n "$extra_repo" ] && audit extra "$extra_repo"

(cd "$staged_repo" && "$bin" scan --staged --format json > "$out/staged-report.json")
(cd "$staged_repo" && hyperfine -N --warmup 3 --runs 30 --export-json "$out/staged.json" \
  -n "tuskguard scan --staged" "$bin scan --staged --format json")
python3 - "$out/staged.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"RESULT staged (100,000 tracked files, 1 staged change): mean {r['mean']*1000:.1f} ms, "
      f"min {r['min']*1000:.1f} ms (target <= 20 ms)")
PY
