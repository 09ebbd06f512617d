#!/usr/bin/env bash
# Working-tree benchmark: tuskguard scan vs ripgrep searching the literal `tsk_` on the same tree.
#
# usage: bench/tree.sh [MEGABYTES]   (default 300)
#
# Generates a deterministic corpus under bench/out/ (git-ignored), builds tuskguard in release
# mode, warms the page cache, then times whole processes with hyperfine (installed from Debian's
# packages if missing, like ripgrep). Prints both means and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-300}
corpus=bench/out/corpus-${size_mb}mb

need() {
  command -v "$1" >/dev/null && return
  echo "installing $2 from the package registry…" >&2
  (apt-get update -qq && apt-get install -y -qq "$2") >/dev/null
}
need rg ripgrep
need hyperfine hyperfine

if [ ! -d "$corpus" ]; then
  python3 bench/gen_corpus.py "$corpus" "$size_mb"
fi
cargo build --release --quiet
bin=target/release/tuskguard

# Both tools must see the same files: the corpus is no git repo, so neither applies .gitignore.
"$bin" scan "$corpus" --format json --output bench/out/tree-report.json || [ $? -eq 1 ]
python3 - <<'PY'
import json
r = json.load(open("bench/out/tree-report.json"))
s = r["summary"]
print(f"tuskguard: {s['files_scanned']} files, {s['bytes_scanned']/1048576:.0f} MiB, {len(r['findings'])} findings")
PY

hyperfine --warmup 2 --runs 10 --ignore-failure --export-json bench/out/tree.json \
  -n "rg -uu -c tsk_" "rg -uu -c tsk_ $corpus > /dev/null" \
  -n "tuskguard scan" "$bin scan $corpus --format json > /dev/null"

python3 - <<'PY'
import json
runs = {r["command"]: r for r in json.load(open("bench/out/tree.json"))["results"]}
rg, tg = runs["rg -uu -c tsk_"]["mean"], runs["tuskguard scan"]["mean"]
print(f"ripgrep {rg*1000:.0f} ms, tuskguard {tg*1000:.0f} ms, ratio {tg/rg:.2f}x (target <= 1.3x)")
PY
