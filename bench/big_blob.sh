#!/usr/bin/env bash
# Peak memory of `tuskguard history --max-file-size 1M` on a repository holding one packed blob of
# about 222 MiB: the size limit must apply before the blob is inflated, so peak RSS stays far
# below the blob's size and the report counts it as too large.
#
# usage: bench/big_blob.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || (apt-get update -qq && apt-get install -y -qq time) >/dev/null
out=$PWD/bench/out
repo=$out/big-blob
mkdir -p "$out"
if [ ! -d "$repo" ]; then
  git init -q "$repo.tmp"
  python3 -c "
with open('$repo.tmp/big.txt', 'w') as f:
    for i in range(6_000_000): f.write(f'line {i} of a large generated file\n')
"
  git -C "$repo.tmp" add big.txt
  git -C "$repo.tmp" -c user.name=bench -c user.email=bench@example.com commit -qm big
  git -C "$repo.tmp" repack -adq
  rm "$repo.tmp/big.txt"
  mv "$repo.tmp" "$repo"
fi
cargo build --release --quiet
/usr/bin/time -f "%M" -o "$out/big-blob-rss.txt" target/release/tuskguard history "$repo" \
  --max-file-size 1M --format json -q --output "$out/big-blob.json" || [ $? -eq 1 ]
python3 - "$out/big-blob.json" "$out/big-blob-rss.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
print(f"RESULT big blob: skipped too-large {s['skipped'].get('too-large', 0)}, peak RSS {rss:.0f} MiB")
PY
