#!/usr/bin/env bash
# Brings AIRIS-MON up on this machine: infrastructure, the all-in-one
# process, and demo traffic from `airis demo`. Ctrl-c stops the
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
  if [ -n "$demo_pid" ]; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
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

# Demo traffic: a synthetic web shop (frontend, checkout v1/v2, payment, cart,
# catalog, postgres, redis) sending traces, logs and metrics; see `airis demo --help`.
target/release/airis demo --endpoint http://127.0.0.1:4317 --token dev-token --rate 20 \
  2>>"$state/demo.log" &
demo_pid=$!

cat <<TXT

AIRIS-MON is up.
  OTLP/gRPC ingest   127.0.0.1:4317   (header: authorization=Bearer dev-token, tenant "demo")
  query service      127.0.0.1:4320
  gateway            127.0.0.1:4330 (gRPC), http://127.0.0.1:4331/.well-known/jwks.json
  ClickHouse HTTP    http://127.0.0.1:8123   database "airis"
  Kafka              127.0.0.1:9092
  Redis              127.0.0.1:6379
  logs               $log
  demo traffic       $state/demo.log

Try:
  grpcurl -plaintext 127.0.0.1:4317 list
  grpcurl -plaintext -d '{"tenant":"demo","username":"admin","password":"admin"}' \\
    127.0.0.1:4330 airis.gateway.v1.AuthService/Login
  curl -s 'http://127.0.0.1:8123/?database=airis' --data-binary \\
    "SELECT ServiceName, count() FROM otel_traces GROUP BY ServiceName"

Ctrl-c stops airis and the demo traffic.
TXT
wait "$airis_pid"
