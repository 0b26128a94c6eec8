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
cargo test --locked --workspace "$@"
