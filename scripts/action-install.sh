#!/usr/bin/env bash
# Installs tuskguard for the GitHub Action into $TUSKGUARD_ROOT/bin.
#
# With a release that matches (the `version` input, else the action's own ref when it is a
# version tag such as v0.2.0), it downloads the binary for this runner from the GitHub release,
# checks it against the release's SHA256SUMS and installs it: seconds instead of a build.
# A checksum that does not match is refused (exit 1, an ::error annotation): that binary never runs.
# With no release for the ref (a branch, a commit), no asset for this platform, or no SHA256SUMS,
# it builds from source with cargo, as before, and says why.
#
# Environment: TUSKGUARD_ROOT (required), TUSKGUARD_VERSION (the `version` input),
# TUSKGUARD_ACTION_REF (github.action_ref), RUNNER_OS, RUNNER_ARCH, GITHUB_ACTION_PATH,
# TUSKGUARD_RELEASES_URL (default: the project's GitHub releases; tests point it at 127.0.0.1),
# TUSKGUARD_REPO_URL (the git URL a tagged source build uses).
set -euo pipefail

root="${TUSKGUARD_ROOT:?TUSKGUARD_ROOT is not set}"
version="${TUSKGUARD_VERSION:-}"
action_ref="${TUSKGUARD_ACTION_REF:-}"
releases_url="${TUSKGUARD_RELEASES_URL:-https://github.com/tuskguard/tuskguard/releases/download}"
repo_url="${TUSKGUARD_REPO_URL:-https://github.com/tuskguard/tuskguard}"

log() { printf 'tuskguard-install: %s\n' "$*"; }

# The release tag to look for, or nothing: the `version` input wins, else the action's ref when
# it names an exact version (a branch or a commit has no release).
release_tag() {
  if [[ -n "$version" ]]; then
    printf 'v%s\n' "${version#v}"
  elif [[ "$action_ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
    printf '%s\n' "$action_ref"
  fi
}

# The Rust target of the release asset for this runner, or nothing when none is published.
runner_target() {
  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Downloads $1 to $2. Exit status 0: downloaded; 4: not there (HTTP 404); anything else: an error.
fetch() {
  local status
  status="$(curl --silent --show-error --location --retry 3 --output "$2" --write-out '%{http_code}' "$1")" || return 1
  case "$status" in
    200) return 0 ;;
    404) return 4 ;;
    *) log "GET $1 answered HTTP $status"; return 1 ;;
  esac
}

build_from_source() {
  log "building tuskguard from source ($1); this takes a few minutes"
  if [[ -n "$version" ]]; then
    cargo install --locked --root "$root" --git "$repo_url" --tag "v${version#v}" tuskguard
  else
    cargo install --locked --root "$root" --path "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
  fi
}

tag="$(release_tag)"
target="$(runner_target)"
if [[ -z "$tag" ]]; then
  build_from_source "the action ref '${action_ref:-unknown}' is not a release tag and no version input is set"
  exit 0
fi
if [[ -z "$target" ]]; then
  build_from_source "no release binary is published for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"
  exit 0
fi

asset="tuskguard-${tag}-${target}.tar.gz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Downloads release file $1 into $work; when the release lacks it, builds from source (reason $2)
# and ends the script; any other download failure fails the step.
fetch_from_release() {
  local status=0
  fetch "$releases_url/$tag/$1" "$work/$1" || status=$?
  if [[ $status -eq 4 ]]; then
    build_from_source "$2"
    exit 0
  elif [[ $status -ne 0 ]]; then
    echo "::error title=tuskguard install::could not download $releases_url/$tag/$1"
    exit 1
  fi
}

fetch_from_release "$asset" "release $tag has no asset $asset"
fetch_from_release SHA256SUMS "release $tag has no SHA256SUMS, so $asset cannot be verified and is not used"

expected="$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$work/SHA256SUMS")"
actual="$(sha256_of "$work/$asset")"
if [[ -z "$expected" ]]; then
  echo "::error title=tuskguard install::SHA256SUMS of release $tag lists no checksum for $asset; refusing to run an unverified binary"
  exit 1
fi
if [[ "$expected" != "$actual" ]]; then
  echo "::error title=tuskguard install::checksum mismatch for $asset from release $tag: SHA256SUMS says $expected, the download is $actual. Refusing to run it (a damaged or tampered download); re-run the job, and report it if it persists"
  exit 1
fi

tar -xzf "$work/$asset" -C "$work"
binary="tuskguard"
[[ "$target" == *windows* ]] && binary="tuskguard.exe"
if [[ ! -f "$work/$binary" ]]; then
  echo "::error title=tuskguard install::$asset holds no $binary"
  exit 1
fi
mkdir -p "$root/bin"
install -m 0755 "$work/$binary" "$root/bin/$binary"
log "installed tuskguard $tag ($target) from the release, checksum verified: $root/bin/$binary"
