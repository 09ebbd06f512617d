#!/usr/bin/env bash
# The logic of the tuskguard GitHub Action (action.yml runs it). Kept in a script so the
# integration tests can run it with a simulated GitHub environment and a fake tuskguard.
#
# Reads the action inputs from INPUT_* variables (action.yml maps every input explicitly),
# GitHub's GITHUB_EVENT_NAME / GITHUB_EVENT_PATH / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY, and
# TUSKGUARD_BIN (default: tuskguard on PATH).
#
# Exit code: tuskguard's (0 clean, 1 findings at or above fail-on, 2 error); 2 as well when the
# range cannot be scanned completely (a shallow checkout), never a silent partial scan.
set -euo pipefail

tuskguard="${TUSKGUARD_BIN:-tuskguard}"
event="${GITHUB_EVENT_NAME:-}"
event_path="${GITHUB_EVENT_PATH:-}"
mode="${INPUT_MODE:-}"
scan_path="${INPUT_PATH:-.}"
fail_on="${INPUT_FAIL_ON:-low}"
baseline="${INPUT_BASELINE:-}"
sarif_file="${INPUT_SARIF_FILE:-}"
verify="${INPUT_VERIFY:-false}"
extra_args="${INPUT_ARGS:-}"
zero_sha="0000000000000000000000000000000000000000"

log() { printf 'tuskguard-action: %s\n' "$*" >&2; }

set_output() {
    if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
        printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
    fi
}

summary() {
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        printf '%s\n' "$*" >>"$GITHUB_STEP_SUMMARY"
    fi
}

# A workflow-command error (an annotation), the same words in the summary, and exit 2.
fail() {
    local message="$1" escaped
    escaped="${message//'%'/%25}"
    escaped="${escaped//$'\r'/%0D}"
    escaped="${escaped//$'\n'/%0A}"
    printf '::error title=tuskguard::%s\n' "$escaped"
    summary "### tuskguard: not run" "" "$message" ""
    log "$message"
    set_output findings ""
    set_output exit-code 2
    exit 2
}

# Reads a dotted field (e.g. pull_request.base.sha) from the event payload; empty if absent.
event_field() {
    [[ -n "$event_path" && -f "$event_path" ]] || return 0
    python3 - "$event_path" "$1" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        value = json.load(f)
    for part in sys.argv[2].split("."):
        value = value.get(part) if isinstance(value, dict) else None
except (OSError, ValueError):
    value = None
print(value if isinstance(value, str) else "")
PY
}

have_commit() { git -C "$scan_path" cat-file -e "$1^{commit}" 2>/dev/null; }

is_shallow() { [[ "$(git -C "$scan_path" rev-parse --is-shallow-repository 2>/dev/null)" == "true" ]]; }

too_shallow() {
    fail "The checkout does not hold the history tuskguard must scan ($1). A partial scan could miss a leaked key, so nothing was scanned. Set \`fetch-depth: 0\` on actions/checkout (with: fetch-depth: 0), or use mode: tree."
}

case "$mode" in
"")
    case "$event" in
    push | pull_request | pull_request_target) mode="diff" ;;
    *) mode="tree" ;;
    esac
    ;;
tree | diff | history) ;;
*) fail "Unknown mode '$mode': use tree, diff or history." ;;
esac
case "$verify" in
true | false) ;;
*) fail "Input verify must be true or false, not '$verify'." ;;
esac

range=""
scope=""
if [[ "$mode" == diff ]]; then
    git -C "$scan_path" rev-parse --git-dir >/dev/null 2>&1 ||
        fail "mode: diff needs a git checkout at '$scan_path'; use mode: tree for a plain directory."
    command -v python3 >/dev/null ||
        fail "mode: diff reads the event payload with python3, which is not on PATH."
    case "$event" in
    push)
        before="$(event_field before)"
        after="$(event_field after)"
        [[ -n "$after" ]] || after="${GITHUB_SHA:-}"
        if [[ "$after" == "$zero_sha" ]]; then
            log "the push deleted a branch: nothing to scan"
            summary "### tuskguard: nothing to scan (branch deleted)" ""
            set_output mode "$mode"
            set_output findings 0
            set_output exit-code 0
            exit 0
        fi
        [[ -n "$after" ]] || fail "The push event names no 'after' commit (GITHUB_EVENT_PATH: '$event_path')."
        have_commit "$after" || too_shallow "pushed commit $after is missing"
        if [[ -z "$before" || "$before" == "$zero_sha" ]]; then
            # A new branch: no previous tip to diff against, so every commit it holds is new to us.
            is_shallow && too_shallow "a new branch needs its full history"
            scope="new branch: full history"
        elif ! have_commit "$before"; then
            is_shallow && too_shallow "previous tip $before is missing"
            # A force push dropped the old tip; the whole history is the only complete answer.
            log "previous tip $before is not in the repository (force push?): scanning the full history"
            scope="previous tip $before unknown (force push): full history"
        elif is_shallow && ! git -C "$scan_path" merge-base --is-ancestor "$before" "$after" 2>/dev/null; then
            too_shallow "the history between $before and $after is cut"
        else
            range="$before..$after"
            scope="push $range"
        fi
        ;;
    pull_request | pull_request_target)
        base="$(event_field pull_request.base.sha)"
        head="$(event_field pull_request.head.sha)"
        [[ -n "$base" && -n "$head" ]] ||
            fail "The pull_request event names no base/head commits (GITHUB_EVENT_PATH: '$event_path')."
        have_commit "$base" || too_shallow "base commit $base is missing"
        have_commit "$head" || too_shallow "head commit $head is missing"
        if is_shallow && ! git -C "$scan_path" merge-base "$base" "$head" >/dev/null 2>&1; then
            too_shallow "no common ancestor of $base and $head is in the checkout"
        fi
        range="$base..$head"
        scope="pull request $range"
        ;;
    *)
        fail "mode: diff needs a push or pull_request event (this is '${event:-none}'); use mode: tree or history."
        ;;
    esac
fi

if [[ -z "$sarif_file" ]]; then
    sarif_file="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tuskguard.sarif"
fi
rm -f "$sarif_file"

case "$mode" in
tree) cmd=(scan "$scan_path") ;;
history) cmd=(history "$scan_path") ;;
diff)
    cmd=(history "$scan_path")
    [[ -n "$range" ]] && cmd+=(--since "$range")
    ;;
esac
cmd+=(--format github --sarif-output "$sarif_file" --fail-on "$fail_on")
[[ -n "$baseline" ]] && cmd+=(--baseline "$baseline")
[[ "$verify" == true ]] && cmd+=(--verify)
if [[ -n "$extra_args" ]]; then
    # Split on whitespace (newlines too), no shell evaluation: inputs are data, not code.
    read -r -d '' -a extra <<<"$extra_args" || true
    cmd+=("${extra[@]}")
fi

if [[ -n "$scope" ]]; then
    summary "Scope: $scope"
    summary ""
fi
log "running: $tuskguard ${cmd[*]}"
set +e
"$tuskguard" "${cmd[@]}"
status=$?
set -e

set_output mode "$mode"
set_output range "$range"
set_output exit-code "$status"
if [[ -s "$sarif_file" ]]; then
    set_output sarif-file "$sarif_file"
    findings="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["properties"]["findings"])' "$sarif_file" 2>/dev/null || true)"
    set_output findings "$findings"
else
    set_output sarif-file ""
    set_output findings ""
    log "no SARIF was written (tuskguard exited $status)"
fi
exit "$status"
