#!/usr/bin/env bash
# AIRIS-MON pipeline benchmarks (docs/benchmarks.md):
#
#   scripts/bench.sh                      # receiver, loader, freshness (~4-5 minutes)
#   scripts/bench.sh receiver --duration 20
#   scripts/bench.sh freshness --rates 50000,20000
#   scripts/bench.sh --help               # every option
#   scripts/bench.sh analytics --spans 1000000 --logs 1000000
#                                         # analytics service bench (its own --help)
#   scripts/bench.sh mesh                 # what the local mesh adds per call
#   scripts/bench.sh alerts               # 10,000 alert rules judged a minute
#   scripts/bench.sh delta                # Compare on 10 M spans of an hour
#
# Starts Kafka and ClickHouse with scripts/infra.sh unless they already run (it
# honours AIRIS_STATE, AIRIS_KAFKA_PORT, AIRIS_KAFKA_CONTROLLER_PORT,
# AIRIS_CLICKHOUSE_PORT, ... for a second instance), builds the release `airis`
# binary, then runs `cargo bench -p airis-tests --bench pipeline -- ARGS`. The
# results (Markdown tables on stdout) are also written to
# target/bench/pipeline-<time>.md. Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# `analytics`, `mesh`, `alerts` or `delta` as the first argument: a
# benchmark of its own (tests/benches/<name>, its own --help) with the
# infrastructure it needs: the analytics service on loaded data (Kafka,
# ClickHouse, Redis for the cached repeats), what the local mesh adds per
# call (Redis for the gateway's revocation checks, Envoy from the tools), or
# the watcher judging alert rules, or Compare, on loaded data (Kafka,
# ClickHouse).
case "${1:-}" in
  analytics|mesh|alerts|delta)
    bench="$1"
    shift
    for arg in "$@"; do
      case "$arg" in
        -h|--help) exec cargo bench -q -p airis-tests --bench "$bench" -- --help ;;
      esac
    done
    if [ "$bench" = analytics ]; then
      scripts/infra.sh start kafka clickhouse redis
    elif [ "$bench" = alerts ] || [ "$bench" = delta ]; then
      scripts/infra.sh start kafka clickhouse
    else
      scripts/infra.sh start redis tools
    fi
    eval "$(scripts/infra.sh env)"
    cargo bench -p airis-tests --bench "$bench" --no-run
    mkdir -p target/bench
    out="target/bench/$bench-$(date +%Y%m%d-%H%M%S).md"
    cargo bench -q -p airis-tests --bench "$bench" -- "$@" | tee "$out"
    echo "bench.sh: results in $out" >&2
    exit 0 ;;
esac

for arg in "$@"; do
  case "$arg" in
    -h|--help) exec cargo bench -q -p airis-tests --bench pipeline -- --help ;;
  esac
done

scripts/infra.sh start kafka clickhouse
eval "$(scripts/infra.sh env)"

scripts/rust-toolchain.sh
cargo build --release -p airis
cargo bench -p airis-tests --bench pipeline --no-run

mkdir -p target/bench
out="target/bench/pipeline-$(date +%Y%m%d-%H%M%S).md"
cargo bench -q -p airis-tests --bench pipeline -- "$@" | tee "$out"
echo "bench.sh: results in $out" >&2
