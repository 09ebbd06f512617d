#!/usr/bin/env bash
# Plays a sequence of GitHub events against one local repository through the Action's own script
# (scripts/action-run.sh), without GitHub and without `act`, and shows for each event what the
# gate said (exit code, findings in the change) and which SARIF the Action would upload under
# which category, with the alerts code scanning would open, keep or close on the default branch.
#
#   scripts/action-replay.sh [--repo DIR] [--bin TUSKGUARD] [--out DIR] [--input NAME=VALUE]... EVENT...
#
# EVENT is one of
#   push:BEFORE..AFTER    a push that moved the branch from BEFORE to AFTER
#   push:AFTER            the first push of a new branch
#   pr:BASE..HEAD         a pull request (its upload is compared with the branch, not kept)
#   schedule              a scheduled run on the branch's last pushed commit
# Revisions may be anything `git rev-parse` understands in DIR (main~2, a tag, an id).
#
# Each event runs in a fresh clone of DIR checked out at the event's commit, with inputs given by
# --input (for example --input mode=history). The SARIF files are kept in --out (default: a
# temporary directory, printed at the end). Nothing is fetched from the network.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="."
bin="${TUSKGUARD_BIN:-tuskguard}"
out=""
inputs=()
events=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --repo) repo="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --input) inputs+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "action-replay: unknown option $1" >&2; exit 2 ;;
    *) events+=("$1"); shift ;;
    esac
done
[[ ${#events[@]} -gt 0 ]] || { echo "action-replay: no events (try --help)" >&2; exit 2; }
repo="$(cd "$repo" && git rev-parse --show-toplevel)"
[[ -n "$out" ]] || out="$(mktemp -d "${TMPDIR:-/tmp}/action-replay.XXXXXX")"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [[ "$bin" == */* ]]; then bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"; fi

resolve() { git -C "$repo" rev-parse --verify --quiet "$1^{commit}" || { echo "action-replay: '$1' is not a commit in $repo" >&2; exit 2; }; }

# Fingerprint, rule and first location of every result of a SARIF file, one per line.
results_of() {
    python3 - "$1" <<'PY'
import json, sys
try:
    run = json.load(open(sys.argv[1], encoding="utf-8"))["runs"][0]
except (OSError, ValueError, KeyError, IndexError):
    sys.exit(0)
for r in run.get("results", []):
    fp = r.get("partialFingerprints", {}).get("tuskguardFingerprint/v1", "?")
    loc = r.get("locations", [{}])[0].get("physicalLocation", {}).get("artifactLocation", {}).get("uri", "?")
    print(f"{fp} {r.get('ruleId', '?')} {loc}")
PY
}

state_dir="$out/.alerts"   # per category: the fingerprints of the last upload on the branch
mkdir -p "$state_dir"
last_pushed=""
step=0
for spec in "${events[@]}"; do
    step=$((step + 1))
    payload=""
    checkout=""
    case "$spec" in
    push:*..*)
        range="${spec#push:}"
        before="$(resolve "${range%%..*}")"
        after="$(resolve "${range##*..}")"
        name=push
        payload="{\"before\": \"$before\", \"after\": \"$after\"}"
        checkout="$after"
        ;;
    push:*)
        after="$(resolve "${spec#push:}")"
        name=push
        payload="{\"before\": \"0000000000000000000000000000000000000000\", \"after\": \"$after\"}"
        checkout="$after"
        ;;
    pr:*..*)
        range="${spec#pr:}"
        base="$(resolve "${range%%..*}")"
        head="$(resolve "${range##*..}")"
        name=pull_request
        payload="{\"pull_request\": {\"base\": {\"sha\": \"$base\"}, \"head\": {\"sha\": \"$head\"}}}"
        checkout="$head"
        ;;
    schedule)
        [[ -n "$last_pushed" ]] || last_pushed="$(resolve HEAD)"
        name=schedule
        payload="{}"
        checkout="$last_pushed"
        ;;
    *) echo "action-replay: cannot read event '$spec' (try --help)" >&2; exit 2 ;;
    esac

    work="$out/$step-$name"
    rm -rf "$work"
    mkdir -p "$work/tmp"
    git clone --quiet --no-checkout "$repo" "$work/checkout"
    git -C "$work/checkout" -c advice.detachedHead=false checkout --quiet "$checkout"
    printf '%s\n' "$payload" >"$work/event.json"
    : >"$work/output"
    : >"$work/summary.md"
    env_inputs=()
    for pair in "${inputs[@]}"; do
        input_name="${pair%%=*}"
        input_name="INPUT_$(printf '%s' "$input_name" | tr 'a-z-' 'A-Z_')"
        env_inputs+=("$input_name=${pair#*=}")
    done
    set +e
    (cd "$work/checkout" && env GITHUB_EVENT_NAME="$name" GITHUB_EVENT_PATH="$work/event.json" \
        GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary.md" RUNNER_TEMP="$work/tmp" \
        TUSKGUARD_BIN="$bin" CI=true GITHUB_ACTIONS=true ${env_inputs[@]+"${env_inputs[@]}"} \
        bash "$here/action-run.sh" >"$work/stdout.txt" 2>"$work/stderr.txt")
    code=$?
    set -e
    output() { sed -n "s/^$1=//p" "$work/output" | tail -n 1; }
    echo "== $step. $spec: gate exit $code, $(output findings) finding(s) in what the run checked (mode $(output mode))"
    sarif="$(output sarif-file)"
    category="$(output category)"
    if [[ -z "$sarif" || ! -s "$sarif" ]]; then
        echo "   upload: none"
        continue
    fi
    cp "$sarif" "$out/$step-$name.sarif"
    results_of "$sarif" >"$work/results.txt"
    echo "   upload: $out/$step-$name.sarif, category $category, $(wc -l <"$work/results.txt" | tr -d ' ') result(s)"
    state="$state_dir/$(printf '%s' "$category" | tr '/' '_')"
    touch "$state"
    if [[ "$name" == pull_request ]]; then
        words=("new in PR  " "unchanged  " "fixed by PR")
    else
        words=("alert opened" "alert kept  " "alert closed")
    fi
    while read -r fingerprint rule location; do
        if grep -q "^$fingerprint " "$state"; then
            echo "   ${words[1]} $fingerprint $rule $location"
        else
            echo "   ${words[0]} $fingerprint $rule $location"
        fi
    done <"$work/results.txt"
    while read -r fingerprint rule location; do
        grep -q "^$fingerprint " "$work/results.txt" || echo "   ${words[2]} $fingerprint $rule $location"
    done <"$state"
    if [[ "$name" != pull_request ]]; then
        # A pull request's analysis is compared with its base; it does not change the branch's alerts.
        cp "$work/results.txt" "$state"
        last_pushed="$checkout"
    else
        echo "   (a pull request's upload is compared with the branch; the branch's alerts do not change)"
    fi
done
echo "SARIF files and each run's log, outputs and step summary: $out"
