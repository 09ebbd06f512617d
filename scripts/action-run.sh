#!/usr/bin/env bash
# The logic of the tuskguard GitHub Action (action.yml runs it). Kept in a script so the
# integration tests (and scripts/action-replay.sh) can run it with a simulated GitHub environment.
#
# Reads the action inputs from INPUT_* variables (action.yml maps every input explicitly),
# GitHub's GITHUB_EVENT_NAME / GITHUB_EVENT_PATH / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY, and
# TUSKGUARD_BIN (default: tuskguard on PATH).
#
# Two jobs, kept apart (README, "Code scanning alerts: how long they stay open"):
# - the GATE (annotations, step summary, exit code) is about what the run was asked to check:
#   the change (diff), the checkout (tree) or every commit (history);
# - the UPLOAD (the SARIF code scanning receives) is always a complete result for a stable
#   category: the whole checkout (tuskguard-tree) or the whole history (tuskguard-history). A
#   diff's SARIF is never uploaded: code scanning treats each upload as the full set of alerts
#   for its category, so a partial one would close alerts for keys that are still there.
#
# Exit code: tuskguard's (0 clean, 1 findings at or above fail-on, 2 error); 2 as well when the
# history cannot be scanned completely (a shallow checkout that cannot be deepened): never a
# silent partial scan.
set -euo pipefail

tuskguard="${TUSKGUARD_BIN:-tuskguard}"
event="${GITHUB_EVENT_NAME:-}"
event_path="${GITHUB_EVENT_PATH:-}"
mode="${INPUT_MODE:-}"
scan_path="${INPUT_PATH:-.}"
fail_on="${INPUT_FAIL_ON:-low}"
baseline="${INPUT_BASELINE:-}"
sarif_file="${INPUT_SARIF_FILE:-}"
upload="${INPUT_UPLOAD_SARIF:-true}"
verify="${INPUT_VERIFY:-false}"
extra_args="${INPUT_ARGS:-}"
zero_sha="0000000000000000000000000000000000000000"
work_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"

log() { printf 'tuskguard-action: %s\n' "$*" >&2; }

set_output() {
    if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
        printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
    fi
}

# Appends each argument as its own line (an empty argument is a blank line).
summary() {
    if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
        printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"
    fi
}

# Workflow-command data escaping: %, CR and LF.
escape_data() {
    local text="$1"
    text="${text//'%'/%25}"
    text="${text//$'\r'/%0D}"
    text="${text//$'\n'/%0A}"
    printf '%s' "$text"
}

# An error annotation, the same words in the step summary under `heading`, and exit 2.
fail_with() {
    local heading="$1" message="$2"
    printf '::error title=tuskguard::%s\n' "$(escape_data "$message")"
    summary "### tuskguard: $heading" "" "$message" ""
    log "$message"
    set_output findings ""
    set_output sarif-file ""
    set_output exit-code 2
    exit 2
}

fail() { fail_with "not run" "$1"; }

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

# The remote the checkout came from: the current branch's, else origin, else the only one.
checkout_remote() {
    local branch remote
    branch="$(git -C "$scan_path" symbolic-ref --quiet --short HEAD 2>/dev/null || true)"
    if [[ -n "$branch" ]]; then
        remote="$(git -C "$scan_path" config "branch.$branch.remote" 2>/dev/null || true)"
        [[ -n "$remote" ]] && {
            printf '%s' "$remote"
            return
        }
    fi
    if git -C "$scan_path" remote get-url origin >/dev/null 2>&1; then
        printf 'origin'
        return
    fi
    git -C "$scan_path" remote 2>/dev/null | head -n 1
}

# A shallow checkout is deepened once, from the remote it was cloned from. Returns 1 if that
# failed or left the clone shallow.
deepened=""
deepen_note=""
deepen() {
    [[ -z "$deepened" ]] || return 1
    deepened=yes
    local remote
    remote="$(checkout_remote)"
    if [[ -z "$remote" ]]; then
        deepen_note="the checkout has no remote to fetch the rest of its history from"
        return 1
    fi
    log "the checkout is shallow: fetching its full history from '$remote' (git fetch --unshallow)"
    if ! git -C "$scan_path" fetch --quiet --unshallow "$remote" >&2; then
        deepen_note="\`git fetch --unshallow $remote\` failed"
        return 1
    fi
    if is_shallow; then
        deepen_note="\`git fetch --unshallow $remote\` left the checkout shallow"
        return 1
    fi
    summary "The checkout was shallow: tuskguard fetched its full history from \`$remote\` first."
    summary ""
    return 0
}

too_shallow() {
    local why="$1"
    [[ -n "$deepen_note" ]] && why="$why; $deepen_note"
    fail "The checkout does not hold the history tuskguard must scan ($why). A partial scan could miss a leaked key or blame the wrong commit, so nothing was scanned. Set \`fetch-depth: 0\` on actions/checkout (with: fetch-depth: 0), or use mode: tree."
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
case "$upload" in
true | false) ;;
*) fail "Input upload-sarif must be true or false, not '$upload'." ;;
esac
[[ -e "$scan_path" ]] || fail "Input path '$scan_path' does not exist in the workspace."

# `path` means the same in every mode: the directory whose files are reported. For diff and
# history that is the repository holding it, with findings limited to the path inside it.
repo_dir=""
path_in_repo=""
if [[ "$mode" != tree ]]; then
    git -C "$scan_path" rev-parse --git-dir >/dev/null 2>&1 ||
        fail "mode: $mode needs a git checkout at '$scan_path'; use mode: tree for a plain directory."
    command -v python3 >/dev/null ||
        fail "mode: $mode reads the event payload and the SARIF with python3, which is not on PATH."
    path_in_repo="$(git -C "$scan_path" rev-parse --show-prefix)"
    path_in_repo="${path_in_repo%/}"
    repo_dir="$scan_path"
    [[ -z "$path_in_repo" ]] || repo_dir="$(git -C "$scan_path" rev-parse --show-toplevel)"
fi

# Sets `range` and `scope` for mode: diff. Returns 1 (with `shallow_reason`) when the checkout
# lacks commits the range needs; fails outright on anything else.
range=""
scope=""
shallow_reason=""
diff_range() {
    case "$event" in
    push)
        local before after
        before="$(event_field before)"
        after="$(event_field after)"
        [[ -n "$after" ]] || after="${GITHUB_SHA:-}"
        [[ -n "$after" ]] || fail "The push event names no 'after' commit (GITHUB_EVENT_PATH: '$event_path')."
        if ! have_commit "$after"; then
            shallow_reason="pushed commit $after is missing"
            return 1
        fi
        if [[ -z "$before" || "$before" == "$zero_sha" ]]; then
            # A new branch: no previous tip to diff against, so every commit it holds is new to us.
            if is_shallow; then
                shallow_reason="a new branch needs its full history"
                return 1
            fi
            scope="new branch: full history"
        elif ! have_commit "$before"; then
            if is_shallow; then
                shallow_reason="previous tip $before is missing"
                return 1
            fi
            # A force push dropped the old tip; the whole history is the only complete answer.
            log "previous tip $before is not in the repository (force push?): scanning the full history"
            scope="previous tip $before unknown (force push): full history"
        elif is_shallow && ! git -C "$scan_path" merge-base --is-ancestor "$before" "$after" 2>/dev/null; then
            shallow_reason="the history between $before and $after is cut"
            return 1
        else
            range="$before..$after"
            scope="push $range"
        fi
        ;;
    pull_request | pull_request_target)
        local base head
        base="$(event_field pull_request.base.sha)"
        head="$(event_field pull_request.head.sha)"
        [[ -n "$base" && -n "$head" ]] ||
            fail "The pull_request event names no base/head commits (GITHUB_EVENT_PATH: '$event_path')."
        if ! have_commit "$base"; then
            shallow_reason="base commit $base is missing"
            return 1
        fi
        if ! have_commit "$head"; then
            shallow_reason="head commit $head is missing"
            return 1
        fi
        if is_shallow && ! git -C "$scan_path" merge-base "$base" "$head" >/dev/null 2>&1; then
            shallow_reason="no common ancestor of $base and $head is in the checkout"
            return 1
        fi
        range="$base..$head"
        scope="pull request $range"
        ;;
    *)
        fail "mode: diff needs a push or pull_request event (this is '${event:-none}'); use mode: tree or history."
        ;;
    esac
    # A commit of the range whose parents the clone lacks (a merged branch older than the
    # checkout's depth) would be audited as if everything in it were new: deepen first.
    if [[ -n "$range" ]] && is_shallow && range_reaches_shallow_boundary "$range"; then
        shallow_reason="the range $range reaches commits whose parents the checkout lacks"
        return 1
    fi
}

range_reaches_shallow_boundary() {
    local shallow_file
    shallow_file="$(git -C "$scan_path" rev-parse --git-path shallow)"
    [[ "$shallow_file" == /* ]] || shallow_file="$scan_path/$shallow_file"
    [[ -s "$shallow_file" ]] || return 1
    git -C "$scan_path" rev-list "$1" 2>/dev/null | grep -qxFf "$shallow_file"
}

if [[ "$mode" == diff ]]; then
    if [[ "$event" == push && "$(event_field after)" == "$zero_sha" ]]; then
        log "the push deleted a branch: nothing to scan"
        summary "### tuskguard: nothing to scan (branch deleted)" ""
        set_output mode "$mode"
        set_output findings 0
        set_output sarif-file ""
        set_output exit-code 0
        exit 0
    fi
    if ! diff_range; then
        if deepen; then
            diff_range || too_shallow "$shallow_reason"
        else
            too_shallow "$shallow_reason"
        fi
    fi
elif [[ "$mode" == history ]] && is_shallow; then
    deepen || too_shallow "a history audit needs every commit, and this clone is shallow"
fi

extra=()
if [[ -n "$extra_args" ]]; then
    # Split on whitespace (newlines too), no shell evaluation: inputs are data, not code.
    read -r -d '' -a extra <<<"$extra_args" || true
fi
common=(--fail-on "$fail_on")
[[ -n "$baseline" ]] && common+=(--baseline "$baseline")
# A pull request's own .tuskguard.toml could switch the key rules off: tuskguard warns about it
# in the annotations and the step summary; repo-config: false refuses the file outright.
[[ "${INPUT_REPO_CONFIG:-true}" == false ]] && common+=(--no-repo-config)

# Runs tuskguard; its stderr is kept so that its own errors (exit 2) become an annotation and a
# step-summary entry, not just a line in the raw log. Sets `status`.
status=0
run_tuskguard() {
    local errors="$work_dir/tuskguard-stderr.txt"
    log "running: $tuskguard $*"
    set +e
    "$tuskguard" "$@" 2>"$errors"
    status=$?
    set -e
    cat "$errors" >&2 || true
    if [[ "$status" -ne 0 && "$status" -ne 1 ]]; then
        local message
        message="$(grep -m 1 -E '^(tuskguard: )?error:' "$errors" || true)"
        [[ -n "$message" ]] || message="$(tail -n 1 "$errors" 2>/dev/null || true)"
        [[ -n "$message" ]] || message="tuskguard exited $status without a message"
        message="${message#tuskguard: }"
        fail_with "error" "tuskguard could not run (exit $status): ${message#error: } (see the job log)"
    fi
}

# How many findings a SARIF file holds (run.properties.findings); empty if unreadable.
sarif_findings() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["properties"]["findings"])' "$1" 2>/dev/null || true
}

if [[ -z "$sarif_file" ]]; then
    sarif_file="$work_dir/tuskguard.sarif"
fi
rm -f "$sarif_file"
category=""

case "$mode" in
tree)
    category="tuskguard-tree"
    [[ "$scan_path" != "." ]] && category="tuskguard-tree/${scan_path%/}"
    cmd=(scan "$scan_path" --format github --sarif-output "$sarif_file" "${common[@]}")
    [[ "$verify" == true ]] && cmd+=(--verify)
    run_tuskguard "${cmd[@]}" "${extra[@]}"
    gate_sarif="$sarif_file"
    ;;
history)
    category="tuskguard-history"
    cmd=(history "$repo_dir" --format github --sarif-output "$sarif_file" "${common[@]}")
    if [[ -n "$path_in_repo" ]]; then
        cmd+=(--include-path "$path_in_repo")
        category="tuskguard-history/$path_in_repo"
    fi
    [[ "$verify" == true ]] && cmd+=(--verify)
    run_tuskguard "${cmd[@]}" "${extra[@]}"
    gate_sarif="$sarif_file"
    ;;
diff)
    summary "Scope: $scope" ""
    gate_sarif="$work_dir/tuskguard-diff.sarif"
    rm -f "$gate_sarif"
    cmd=(history "$repo_dir")
    [[ -n "$range" ]] && cmd+=(--since "$range")
    [[ -n "$path_in_repo" ]] && cmd+=(--include-path "$path_in_repo")
    cmd+=(--format github --sarif-output "$gate_sarif" "${common[@]}")
    [[ "$verify" == true ]] && cmd+=(--verify)
    run_tuskguard "${cmd[@]}" "${extra[@]}"
    gate_status=$status
    if [[ "$upload" == true ]]; then
        # The alerts: a complete scan of the checkout, never the diff (see the top of this file).
        category="tuskguard-tree"
        [[ "$scan_path" != "." ]] && category="tuskguard-tree/${scan_path%/}"
        run_tuskguard scan "$scan_path" --format sarif --output "$sarif_file" "${common[@]}" "${extra[@]}"
        summary "Code scanning receives a full scan of the checkout ($(sarif_findings "$sarif_file") finding(s)) under category \`$category\`: an alert stays open while its key is in the branch. The change's own findings are the annotations above; they are not uploaded."
        summary ""
    fi
    status=$gate_status
    ;;
esac

if [[ "$mode" == history && "$verify" == true && -s "$sarif_file" ]]; then
    # A key the Tusky API says is not live (revoked) is harmless: its alert may close.
    closed="$(python3 - "$sarif_file" <<'PY'
import json, sys
path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    log = json.load(f)
run = log["runs"][0]
kept = [r for r in run.get("results", []) if r.get("properties", {}).get("verification") != "not-live"]
dropped = len(run.get("results", [])) - len(kept)
run["results"] = kept
with open(path, "w", encoding="utf-8") as f:
    json.dump(log, f)
print(dropped)
PY
)"
    if [[ "$closed" != 0 ]]; then
        summary "$closed key(s) verified not live are left out of the upload: their alerts close."
        summary ""
    fi
fi

set_output mode "$mode"
set_output range "$range"
set_output exit-code "$status"
set_output findings "$(sarif_findings "$gate_sarif")"
if [[ "$upload" == true && -s "$sarif_file" ]]; then
    set_output sarif-file "$sarif_file"
    set_output category "$category"
else
    set_output sarif-file ""
    set_output category ""
    [[ "$upload" == true ]] && log "no SARIF was written (tuskguard exited $status)"
fi
exit "$status"
