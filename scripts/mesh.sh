#!/usr/bin/env bash
# The whole system on 127.0.0.1 behind the local mesh (mesh/):
#
#   scripts/mesh.sh up              infrastructure, every service as its own
#                                   process behind its sidecar, the ingress,
#                                   demo traffic; ctrl-c stops it all
#   scripts/mesh.sh token           prints an access token (admin / admin)
#   scripts/mesh.sh canary <pct>    sends <pct> % of query traffic to analytics v2
#   scripts/mesh.sh chaos on|off    the fault drill of mesh/chaos.env
#   scripts/mesh.sh status          the ingress's view of its upstreams
#
# What runs where (AIRIS_MESH_INGRESS_PORT, AIRIS_MESH_OTLP_PORT and
# AIRIS_MESH_ADMIN_PORT move the ingress; the ports behind it are fixed):
#   ingress     127.0.0.1:8080 API (gRPC, gRPC-Web, UI)  127.0.0.1:4317 OTLP
#               admin 127.0.0.1:9901
#   gateway     sidecar 15330 (admin 15001)
#   receiver    sidecar 15317 (admin 15002);  loader (no port)
#   analytics   v1 sidecar 15320 (admin 15003), v2 sidecar 15321 (admin 15004)
# The services themselves listen on Unix sockets in a private temporary
# directory (config/mesh.toml: no static tokens) and trust the tenant and
# role headers the ingress sets; sidecars accept only the ingress's
# certificate.
set -euo pipefail
cd "$(dirname "$0")/.."

INGRESS_PORT="${AIRIS_MESH_INGRESS_PORT:-8080}"
OTLP_PORT="${AIRIS_MESH_OTLP_PORT:-4317}"
ADMIN_PORT="${AIRIS_MESH_ADMIN_PORT:-9901}"
admin="http://127.0.0.1:$ADMIN_PORT"
# The gateway signs with these and the ingress checks them: one source.
ISSUER=airis-gateway
AUDIENCE=airis
config=config/mesh.toml
proto=(-import-path proto)

die() { echo "mesh: $*" >&2; exit 1; }
envoy_runtime() {
  curl -fsS -X POST "$admin/runtime_modify?$1" >/dev/null \
    || die "the ingress admin ($admin) did not take $1; is 'scripts/mesh.sh up' running?"
}

token() {
  eval "$(scripts/infra.sh env)"
  grpcurl -plaintext "${proto[@]}" -proto airis/gateway/v1/auth.proto \
    -d '{"tenant":"demo","username":"admin","password":"admin"}' \
    "127.0.0.1:$INGRESS_PORT" airis.gateway.v1.AuthService/Login \
    | sed -n 's/.*"accessToken": "\([^"]*\)".*/\1/p'
}

case "${1:-}" in
  token) token; exit 0 ;;
  canary)
    pct="${2:-}"
    [[ "$pct" =~ ^[0-9]{1,3}$ ]] && pct=$((10#$pct)) && [ "$pct" -le 100 ] \
      || die "usage: $0 canary <0..100>"
    envoy_runtime "routing.analytics.analytics_v1=$((100 - pct))&routing.analytics.analytics_v2=$pct"
    echo "analytics: v1 $((100 - pct)) %, v2 $pct %"
    exit 0 ;;
  chaos)
    case "${2:-}" in
      on) keys="$(grep -v '^#' mesh/chaos.env | paste -sd '&')" ;;
      off) keys="$(grep -v '^#' mesh/chaos.env | sed 's/=.*/=0/' | paste -sd '&')" ;;
      *) die "usage: $0 chaos on|off" ;;
    esac
    envoy_runtime "$keys"
    echo "fault injection: ${keys//&/, }"
    exit 0 ;;
  status)
    curl -fsS "$admin/clusters" | grep -E '::(health_flags|cx_active|rq_success|rq_error)::' || true
    curl -fsS "$admin/runtime" | grep -E '"(routing|fault)\.' || true
    exit 0 ;;
  up) ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac

scripts/infra.sh start
eval "$(scripts/infra.sh env)"
cargo build --locked --release --bin airis
airis="$(pwd)/target/release/airis"

state="${AIRIS_STATE:-${AIRIS_CACHE:-$PWD/.cache}/state}/mesh"
logs="$state/logs"
certs="$state/certs"
mkdir -p "$logs"
mesh/dev-ca.sh "$certs" ingress gateway receiver analytics
# A signing key kept across restarts, so minted ingest tokens stay valid.
[ -s "$state/signing.key" ] || (umask 077 && openssl rand -hex 32 >"$state/signing.key")

pids=()
sockets=""
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$sockets" ] && rm -rf "$sockets"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run <name> <command...>: in the background, logging to $logs/<name>.log.
run() {
  local name="$1"
  shift
  "$@" >"$logs/$name.log" 2>&1 &
  pids+=("$!")
}

# render <template> <out> NAME=value...: fills mesh/<template>'s placeholders.
render() {
  local template="$1" out="$2"
  shift 2
  local text
  text="$(cat "mesh/$template")"
  for pair in "$@"; do
    text="${text//"{{${pair%%=*}}}"/"${pair#*=}"}"
  done
  if grep -q '{{' <<<"$text"; then
    die "mesh/$template: placeholder left: $(grep -o '{{[A-Z0-9_]*}}' <<<"$text" | head -n1)"
  fi
  printf '%s\n' "$text" >"$out"
}

endpoints() {
  local list="" port
  for port in "$@"; do
    list="${list:+$list, }{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $port}}}}"
  done
  echo "[$list]"
}

envoy_up() {
  # envoy_up <name> <config>
  run "envoy-$1" envoy -c "$2" --use-dynamic-base-id --log-level warn --concurrency 1
}

"$airis" --config "$config" migrate >"$logs/migrate.log" 2>&1 \
  || die "migrate failed; see $logs/migrate.log"

# The services listen on Unix sockets in a directory only this user may
# enter (mktemp -d: mode 0700), so nothing but their sidecars reaches them
# and the claim headers they trust come from the ingress.
sockets="$(mktemp -d "${TMPDIR:-/tmp}/airis-mesh.XXXXXX")"
sock() { echo "unix:$sockets/$1.sock"; }
pipe() { echo "{ pipe: { path: \"$sockets/$1.sock\" } }"; }
run gateway env AIRIS_GATEWAY__LISTEN="$(sock gateway)" AIRIS_GATEWAY__HTTP_LISTEN="$(sock gateway-http)" \
  AIRIS_GATEWAY__SIGNING_KEY_FILE="$state/signing.key" \
  AIRIS_GATEWAY__ISSUER="$ISSUER" AIRIS_GATEWAY__AUDIENCE="$AUDIENCE" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-gateway \
  "$airis" --config "$config" serve gateway
run receiver env AIRIS_INGESTION__RECEIVER__LISTEN="$(sock receiver)" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-receiver \
  "$airis" --config "$config" serve receiver
run loader env AIRIS_TELEMETRY__SERVICE_NAME=airis-loader \
  "$airis" --config "$config" serve loader
for v in 1 2; do
  run "analytics-v$v" env AIRIS_ANALYTICS__LISTEN="$(sock "analytics-v$v")" \
    AIRIS_TELEMETRY__SERVICE_NAME="airis-analytics-v$v" \
    "$airis" --config "$config" serve analytics
done

# One sidecar per service instance, then the ingress.
sidecar() {
  # sidecar <name> <identity> <inbound> <admin> <grpc socket> <http socket>
  render sidecar.yaml "$state/$1.yaml" SERVICE="$2" INBOUND_PORT="$3" ADMIN_PORT="$4" \
    APP_GRPC_ADDRESS="$(pipe "$5")" APP_HTTP_ADDRESS="$(pipe "$6")" CERT_DIR="$certs"
  envoy_up "$1" "$state/$1.yaml"
}
sidecar gateway gateway 15330 15001 gateway gateway-http
sidecar receiver receiver 15317 15002 receiver receiver
sidecar analytics-v1 analytics 15320 15003 analytics-v1 analytics-v1
sidecar analytics-v2 analytics 15321 15004 analytics-v2 analytics-v2
render ingress.yaml "$state/ingress.yaml" ADMIN_PORT="$ADMIN_PORT" INGRESS_PORT="$INGRESS_PORT" \
  OTLP_PORT="$OTLP_PORT" CERT_DIR="$certs" ISSUER="$ISSUER" AUDIENCE="$AUDIENCE" \
  ANALYTICS_V1_ENDPOINTS="$(endpoints 15320)" ANALYTICS_V2_ENDPOINTS="$(endpoints 15321)" \
  GATEWAY_ENDPOINTS="$(endpoints 15330)" RECEIVER_ENDPOINTS="$(endpoints 15317)"
envoy_up ingress "$state/ingress.yaml"

echo "waiting for the mesh (logs: $logs)"
access=""
for _ in $(seq 1 120); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && continue
    echo "a process exited; last lines of its log:" >&2
    for f in "$logs"/*.log; do echo "== $f" >&2; tail -n 5 "$f" >&2; done
    exit 1
  done
  access="$(token 2>/dev/null || true)"
  [ -n "$access" ] && break
  sleep 1
done
[ -n "$access" ] || die "no login through the ingress after 120 s; see $logs"

# Demo traffic with an ingest token minted through the ingress.
ingest="$(grpcurl -plaintext "${proto[@]}" -proto airis/gateway/v1/auth.proto \
  -H "authorization: Bearer $access" -d '{"description":"demo traffic","ttl_days":30}' \
  "127.0.0.1:$INGRESS_PORT" airis.gateway.v1.AuthService/MintIngestToken \
  | sed -n 's/.*"token": "\([^"]*\)".*/\1/p')"
[ -n "$ingest" ] || die "MintIngestToken through the ingress failed"
run demo "$airis" demo --endpoint "http://127.0.0.1:$OTLP_PORT" --token "$ingest" --rate 20

cat <<TXT

AIRIS-MON is up behind the local mesh.
  API (gRPC, gRPC-Web), UI   http://127.0.0.1:$INGRESS_PORT
  OTLP/gRPC ingest           127.0.0.1:$OTLP_PORT  (authorization: Bearer <ingest token>)
  ingress admin              $admin
  ClickHouse HTTP            http://127.0.0.1:8123   database "airis"
  logs                       $logs

Try:
  TOKEN=\$(scripts/mesh.sh token)     # admin / admin, tenant "demo"
  NOW=\$(date +%s)
  grpcurl -plaintext -import-path proto -proto airis/analytics/v1/query.proto \\
    -H "authorization: Bearer \$TOKEN" \\
    -d "{\"time_range\":{\"start_unix_nano\":\$(( (NOW - 3600) * 1000000000 )),\"end_unix_nano\":\$(( NOW * 1000000000 ))}}" \\
    127.0.0.1:$INGRESS_PORT airis.analytics.v1.QueryService/ListServices
  scripts/mesh.sh canary 50          # half the queries to analytics v2
  scripts/mesh.sh chaos on           # 20 % aborts, 10 % 2 s delays on queries
  scripts/mesh.sh status

Ctrl-c stops the services, the mesh and the demo traffic.
TXT
wait -n "${pids[@]}" || true
echo "a process exited; stopping (logs: $logs)" >&2
exit 1
