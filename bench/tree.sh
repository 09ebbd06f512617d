#!/usr/bin/env bash
# Working-tree benchmark: tuskguard scan vs ripgrep searching the literal `tsk_` on the same tree.
#
# usage: bench/tree.sh [MEGABYTES]   (default 300)
#        bench/tree.sh --tree DIR     (any existing tree, e.g. ~/.cargo/registry/src: real code)
#
# Generates a deterministic corpus under bench/out/ (git-ignored), builds tuskguard in release
# mode, warms the page cache, then times whole processes with hyperfine (installed from Debian's
# packages if missing, like ripgrep). Prints both means and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--tree" ]; then
  corpus=${2:?usage: bench/tree.sh --tree DIR}
else
  size_mb=${1:-300}
  corpus=bench/out/corpus-${size_mb}mb
fi

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
mkdir -p bench/out
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

# `rg -uu` stops reading a file at its first NUL byte; tuskguard reads binary files whole (a key
# compiled into a binary is still a key), so `rg -uuu` (binary files searched too) is the
# same-work yardstick, shown beside the issue's `rg -uu` one.
hyperfine --warmup 2 --runs 10 --ignore-failure --export-json bench/out/tree.json \
  -n "rg -uu -c tsk_" "rg -uu -c tsk_ $corpus > /dev/null" \
  -n "rg -uuu -c tsk_" "rg -uuu -c tsk_ $corpus > /dev/null" \
  -n "tuskguard scan" "$bin scan $corpus --format json > /dev/null"

python3 - <<'PY'
import json
runs = {r["command"]: r for r in json.load(open("bench/out/tree.json"))["results"]}
rg, rg3, tg = (runs[n]["mean"] for n in ("rg -uu -c tsk_", "rg -uuu -c tsk_", "tuskguard scan"))
print(f"rg -uu {rg*1000:.0f} ms, rg -uuu {rg3*1000:.0f} ms, tuskguard {tg*1000:.0f} ms: "
      f"{tg/rg:.2f}x of rg -uu (target <= 1.2x), {tg/rg3:.2f}x of rg -uuu")
PY
