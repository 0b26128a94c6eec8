#!/usr/bin/env bash
# Brings AIRIS-MON up on this machine: infrastructure, the all-in-one
# process, and demo traffic from a real OpenTelemetry SDK. Ctrl-c stops the
# platform and the traffic; `scripts/infra.sh stop` stops the infrastructure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/infra.sh start
eval "$(scripts/infra.sh env)"
cargo build --locked --release --bin airis

state="${AIRIS_STATE:-${AIRIS_CACHE:-$PWD/.cache}/state}"
mkdir -p "$state"
log="$state/airis.log"
target/release/airis --config config/local.toml all-in-one >"$log" 2>&1 &
airis_pid=$!
demo_pid=""
cleanup() {
  [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null || true
  kill -TERM "$airis_pid" 2>/dev/null || true
  wait "$airis_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "waiting for airis (log: $log)"
for _ in $(seq 1 120); do
  if grpcurl -plaintext 127.0.0.1:4317 grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; then
    break
  fi
  if ! kill -0 "$airis_pid" 2>/dev/null; then
    echo "airis exited; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  sleep 1
done

# Demo traffic: a web shop's checkout traces, logs and metrics every few
# seconds, through the official Python OpenTelemetry SDK.
(
  i=0
  while true; do
    i=$((i + 1))
    "$AIRIS_CACHE/venv/bin/python" tests/sdk/otel_export.py --endpoint 127.0.0.1:4317 --insecure \
      --header "authorization=Bearer dev-token" --service checkout \
      --traces 20 --logs 20 --run-id "demo-$i" >/dev/null 2>>"$state/demo.log" || true
    sleep 5
  done
) &
demo_pid=$!

cat <<TXT

AIRIS-MON is up.
  OTLP/gRPC ingest   127.0.0.1:4317   (header: authorization=Bearer dev-token, tenant "demo")
  ClickHouse HTTP    http://127.0.0.1:8123   database "airis"
  Kafka              127.0.0.1:9092
  Redis              127.0.0.1:6379
  logs               $log

Try:
  grpcurl -plaintext 127.0.0.1:4317 list
  curl -s 'http://127.0.0.1:8123/?database=airis' --data-binary \\
    "SELECT ServiceName, count() FROM otel_traces GROUP BY ServiceName"

Ctrl-c stops airis and the demo traffic.
TXT
wait "$airis_pid"
