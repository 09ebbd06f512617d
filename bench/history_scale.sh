#!/usr/bin/env bash
# Does the history audit's memory budget hold on a repository larger than git/git?
#
# usage: bench/history_scale.sh [COMMITS [CHANGES]] [-- EXTRA HISTORY ARGS]
#   COMMITS  commits in the generated repository (default 45000)
#   CHANGES  files edited per commit (default 30): with the defaults 3,055,951 objects,
#            3.6 times git/git's 849,039
#
# Generates bench/out/scale-COMMITS-CHANGES with git fast-import (bench/gen_history.py: 3,000
# files in nested directories; fast-import's own pack is kept as it is: with a
# `git repack -adq --depth=50 --window=10` after it, generation had not finished after 23 minutes
# on a loaded machine), then runs one
# `tuskguard history` under GNU time and prints the object count, the wall time and the peak RSS.
# Generating takes about 6 minutes on two cores (1.4 GiB pack); the repository is kept for reruns.
set -euo pipefail
cd "$(dirname "$0")/.."
commits=45000
changes=30
history_args=()
positional=0
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; history_args=("$@"); break ;;
    *) if [ $positional -eq 0 ]; then commits=$1; else changes=$1; fi
       positional=$((positional + 1)); shift ;;
  esac
done
[ -x /usr/bin/time ] || (apt-get update -qq && apt-get install -y -qq time) >/dev/null

out=$PWD/bench/out
mkdir -p "$out"
repo=$out/scale-${commits}-${changes}
if [ ! -d "$repo" ]; then
  echo "generating $repo ($commits commits)…" >&2
  git -c init.defaultBranch=main init -q --bare "$repo.tmp"
  python3 bench/gen_history.py "$commits" 3000 3000 "$changes" | git -C "$repo.tmp" fast-import --quiet
  mv "$repo.tmp" "$repo"
fi

cargo build --release --quiet
git -C "$repo" count-objects -v | grep -E '^(in-pack|size-pack)'
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "RESULT scale: %e s, peak RSS %M KB" target/release/tuskguard history "$repo" \
  "${history_args[@]}" --format json --output "$out/scale-report.json" || [ $? -eq 1 ]
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out/scale-report.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(f"{s['commits_scanned']} commits, {s['files_scanned']} unique blobs, "
      f"{s['bytes_scanned'] / 1048576:.0f} MiB scanned, {s['findings']} findings")
PY
