#!/usr/bin/env bash
# Runs every test against real infrastructure: installs and starts Kafka,
# the ClickHouse engine, Redis and the tools (idempotent), builds, tests.
# Extra arguments go to `cargo test`, e.g. scripts/test.sh -p airis-ingestion.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/infra.sh start
eval "$(scripts/infra.sh env)"

buf lint
# The end-to-end tests start the `airis` binary as a child process.
cargo build --locked --workspace --bins
# istio/ against the Kubernetes and Istio schemas, mesh/'s numbers, and
# this binary's configuration keys.
scripts/check-istio.sh --airis target/debug/airis

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked --workspace --lib --bins --tests "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;/) p += $(i-1); if ($(i) ~ /^failed;/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
