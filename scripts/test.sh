#!/usr/bin/env bash
# Every check a change must pass, cheapest first so that a mistake fails
# fast: formatting, the contracts (buf lint; buf breaking against the
# previous commit's), clippy, the UI's static checks and unit tests; then
# the infrastructure (installed and started, idempotent), the build, istio/
# against mesh/, and every test against real infrastructure, the UI's
# browser tests included.
# Extra arguments go to `cargo test`, e.g. scripts/test.sh -p airis-ingestion.
# AIRIS_BREAKING_AGAINST=<git revision> compares the contracts with another
# commit than HEAD~1 (a release tag, main).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '== %s  [%s]\n' "$*" "$(date +%T)" >&2; }

# buf breaking: proto/ as it is now against proto/ of an earlier commit. A
# shallow clone is deepened to reach it; only a repository whose first
# commit this is has nothing to compare against, and says so.
breaking() {
  local against="${AIRIS_BREAKING_AGAINST:-HEAD~1}" rev dir status
  if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "buf breaking: NOT RUN: $(pwd) is not a git work tree, so there are no earlier contracts" >&2
    return 0
  fi
  if ! git rev-parse --verify -q "$against^{commit}" >/dev/null \
     && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    echo "buf breaking: shallow clone without $against: git fetch --deepen=1" >&2
    git fetch --quiet --deepen=1 || true
  fi
  if ! rev="$(git rev-parse --verify -q "$against^{commit}")"; then
    if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
      echo "buf breaking: $against is not in this shallow clone and could not be fetched; clone with --depth 2 or more, or set AIRIS_BREAKING_AGAINST" >&2
    elif [ -z "${AIRIS_BREAKING_AGAINST:-}" ] && ! git rev-parse --verify -q HEAD^ >/dev/null; then
      echo "buf breaking: NOT RUN: HEAD is the repository's first commit, there are no earlier contracts" >&2
      return 0
    else
      echo "buf breaking: no commit $against" >&2
    fi
    return 1
  fi
  if ! git cat-file -e "$rev:proto" 2>/dev/null; then
    echo "buf breaking: NOT RUN: $against ($rev) has no proto/, there are no earlier contracts" >&2
    return 0
  fi
  step "buf breaking against $against ($(git rev-parse --short "$rev"))"
  dir="$(mktemp -d)"
  git archive "$rev" buf.yaml proto | tar -x -C "$dir"
  status=0
  buf breaking --against "$dir" || status=$?
  rm -rf "$dir"
  return "$status"
}

scripts/rust-toolchain.sh
step "cargo fmt --all --check"
cargo fmt --all --check

scripts/infra.sh install tools
eval "$(scripts/infra.sh env)"
step "buf lint"
buf lint
breaking

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings
# The UI: generated client current, tsc, ESLint, Vitest (its browser tests
# run with the other tests, tests/tests/ui.rs).
scripts/web.sh check

scripts/infra.sh start
# The notification tests forward alerts to a real Alertmanager.
scripts/infra.sh install alertmanager
# The end-to-end tests start the `airis` binary as a child process.
step "cargo build --workspace --bins"
cargo build --locked --workspace --bins
# The release binary that scripts/up.sh runs (the docs' and the browser's
# tests start it): built here so that a failure shows as this step's.
step "cargo build --release --bin airis"
cargo build --locked --release --bin airis
# istio/ against the Kubernetes and Istio schemas, mesh/'s numbers, and
# this binary's configuration keys.
step "scripts/check-istio.sh"
scripts/check-istio.sh --airis target/debug/airis

step "cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
# Each test binary's start and result lines get the time of day, so a
# slow one shows (read line by line as they come: awk would buffer them).
stamp() {
  local line now
  while IFS= read -r line; do
    case "$line" in
      *"Running "* | "test result:"*) printf -v now '%(%H:%M:%S)T' -1; printf '[%s] %s\n' "$now" "$line" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
}
cargo test --locked --workspace --lib --bins --tests "$@" 2>&1 | stamp | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary.
awk '/test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;/) p += $(i-1); if ($(i) ~ /^failed;/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
