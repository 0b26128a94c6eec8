#!/usr/bin/env bash
# The whole system on 127.0.0.1 behind the local mesh (mesh/):
#
#   scripts/mesh.sh up              infrastructure, every service as its own
#                                   process behind its sidecar, the ingress,
#                                   demo traffic; a process that dies is
#                                   started again; ctrl-c stops it all
#   scripts/mesh.sh token           prints an access token (admin / admin),
#                                   the same one while it has 5 min left
#   scripts/mesh.sh canary <pct>    sends <pct> % of query traffic to analytics v2
#   scripts/mesh.sh chaos on|off    the fault drill of mesh/chaos.env
#   scripts/mesh.sh regress KEY=VALUE ...|off
#                                   changes the demo's checkout v2 while it
#                                   runs: v2=same|release, v2-slowdown=1.2,
#                                   v2-extra-errors=0.01, v2-error-log=on
#                                   (docs/delta.md)
#   scripts/mesh.sh status          canary weights and fault injection in
#                                   force, upstreams' health, processes
#
# What runs where:
#   ingress     127.0.0.1:8080 API (gRPC, gRPC-Web, UI)  127.0.0.1:4317 OTLP
#               admin 127.0.0.1:9901
#   gateway     sidecar 15330 (admin 15001)
#   receiver    sidecar 15317 (admin 15002);  loader (no port)
#   analytics   v1 sidecar 15320 (admin 15003), v2 sidecar 15321 (admin 15004)
#   aiops       sidecar 15350 (admin 15005)
#   delta       sidecar 15360 (admin 15006): gRPC from the ingress, and the
#               rollout endpoints (/rollout/v1/) for the mesh identity
#               "rollouts" ($AIRIS_MESH_STATE/certs/rollouts.crt; docs/canary.md)
#   search      sidecar 15370 (admin 15007); its calls to the query service
#               ListAnomalies and Compare (Ask) leave through its outbound sidecar
#               (mesh/outbound.yaml, admin 15008) as the mesh identity "search"
# AIRIS_MESH_INGRESS_PORT, AIRIS_MESH_OTLP_PORT and AIRIS_MESH_ADMIN_PORT move
# the ingress; AIRIS_MESH_PORT_BASE (15000) moves the sidecars (base + 330,
# 317, 320, 321, 350, 360, 370; admin base + 1..8); AIRIS_MESH_STATE
# (.cache/state/mesh) moves certificates, logs and the token;
# AIRIS_MESH_BINARY runs that airis binary instead of building
# target/release/airis, AIRIS_MESH_CANARY_BINARY that one as analytics v2;
# AIRIS_MESH_UI_DIR serves that built UI instead of building web/dist
# (scripts/web.sh build).
# The services themselves listen on Unix sockets in a private temporary
# directory (config/mesh.toml: no static tokens) and trust the tenant and
# role headers the ingress sets; sidecars accept only the ingress's
# certificate (delta's also the rollout controllers' on /rollout/, and
# analytics' search's on the query service's paths).
set -euo pipefail
cd "$(dirname "$0")/.."

INGRESS_PORT="${AIRIS_MESH_INGRESS_PORT:-8080}"
OTLP_PORT="${AIRIS_MESH_OTLP_PORT:-4317}"
ADMIN_PORT="${AIRIS_MESH_ADMIN_PORT:-9901}"
PORT_BASE="${AIRIS_MESH_PORT_BASE:-15000}"
admin="http://127.0.0.1:$ADMIN_PORT"
# The gateway signs with these and the ingress checks them: one source.
ISSUER=airis-gateway
AUDIENCE=airis
config=config/mesh.toml
# The account `token` signs in with (config/mesh.toml).
LOGIN_TENANT=demo
LOGIN_USER=admin
LOGIN_PASSWORD=admin

state="${AIRIS_MESH_STATE:-${AIRIS_STATE:-${AIRIS_CACHE:-$PWD/.cache}/state}/mesh}"
logs="$state/logs"
certs="$state/certs"
# Pids, restarts and sidecars of the running platform, for `status`.
run="$state/run"
# What `regress` sets; the demo reads it every second.
demo_control="$state/demo-control"
token_file="$state/token"

die() { echo "mesh: $*" >&2; exit 1; }
# oneline: standard input on one line (grpcurl's multi-line errors)
oneline() { tr -s ' \n' ' ' | sed 's/ *$//'; }
envoy_runtime() {
  curl -fsS -X POST "$admin/runtime_modify?$1" >/dev/null \
    || die "the ingress admin ($admin) did not take $1; is 'scripts/mesh.sh up' running?"
}

# call <method> <json> [grpcurl options...]: one AuthService call
# through the ingress; the answer (JSON) on stdout, grpcurl's error on stderr.
call() {
  local method="$1" data="$2"
  shift 2
  grpcurl -plaintext -import-path proto -proto airis/gateway/v1/auth.proto "$@" \
    -d "$data" "127.0.0.1:$INGRESS_PORT" "airis.gateway.v1.AuthService/$method"
}

# json_field <name>: the top-level field <name> of the JSON on stdin.
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"
}

# fresh <jwt>: whether the token expires more than 5 minutes from now, so
# whoever asked for it has time to use it.
fresh() {
  python3 - "$1" <<'PY'
import base64, json, sys, time
try:
    payload = sys.argv[1].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    sys.exit(0 if claims.get("exp", 0) > time.time() + 300 else 1)
except (IndexError, ValueError, AttributeError, TypeError):
    sys.exit(1)
PY
}

# token: an access token for $LOGIN_USER. Every Login is a token the gateway
# tracks, so one still fresh and still accepted by the ingress (not
# revoked) is reused from $token_file, readable by this user only.
token() {
  eval "$(scripts/infra.sh env)"
  local cached answer access
  if [ -s "$token_file" ]; then
    cached="$(cat "$token_file")"
    if fresh "$cached" && call ListTokens '{}' -H "authorization: Bearer $cached" >/dev/null 2>&1; then
      echo "$cached"
      return 0
    fi
  fi
  answer="$(call Login "{\"tenant\":\"$LOGIN_TENANT\",\"username\":\"$LOGIN_USER\",\"password\":\"$LOGIN_PASSWORD\"}" 2>&1)" \
    || die "login as $LOGIN_USER (tenant $LOGIN_TENANT) through 127.0.0.1:$INGRESS_PORT failed: $(oneline <<<"$answer")"
  access="$(json_field accessToken <<<"$answer")"
  [ -n "$access" ] || die "login answered without an access token: $answer"
  mkdir -p "$state"
  (umask 077 && printf '%s\n' "$access" >"$token_file.$$" && mv -f "$token_file.$$" "$token_file")
  echo "$access"
}

case "${1:-}" in
  token) token; exit 0 ;;
  canary)
    pct="${2:-}"
    [[ "$pct" =~ ^[0-9]{1,3}$ ]] && pct=$((10#$pct)) && [ "$pct" -le 100 ] \
      || die "usage: $0 canary <0..100>"
    weights="routing.analytics.analytics_v1=$((100 - pct))&routing.analytics.analytics_v2=$pct"
    envoy_runtime "$weights"
    # The search service's calls to the query service split the same way,
    # as Istio's analytics VirtualService for mesh traffic does.
    curl -fsS -X POST "http://127.0.0.1:$((PORT_BASE + 8))/runtime_modify?$weights" >/dev/null \
      || echo "mesh: search's outbound sidecar (admin $((PORT_BASE + 8))) did not take the weights; Ask keeps the old split" >&2
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
  regress)
    shift
    [ "$#" -gt 0 ] || die "usage: $0 regress v2=same|release v2-slowdown=F v2-extra-errors=P v2-error-log=on|off ... | off"
    mkdir -p "$state"
    if [ "$*" = off ]; then
      rm -f "$demo_control"
      echo "demo checkout v2: as started"
      exit 0
    fi
    for setting in "$@"; do
      case "$setting" in
        v2=same|v2=release|v2-error-log=on|v2-error-log=off) ;;
        v2-slowdown=*|v2-extra-errors=*) [[ "${setting#*=}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "not a number: $setting" ;;
        *) die "unknown setting $setting (v2=same|release, v2-slowdown=F, v2-extra-errors=P, v2-error-log=on|off)" ;;
      esac
    done
    printf '%s\n' "$@" >"$demo_control.$$" && mv -f "$demo_control.$$" "$demo_control"
    echo "demo checkout v2: $* (within a second; the demo's log says if a value is out of range)"
    exit 0 ;;
  status)
    if ! curl -fsS "$admin/ready" >/dev/null 2>&1; then
      [ -d "$run" ] && die "the ingress admin ($admin) does not answer; is the ingress restarting? (log: $logs/envoy-ingress.log)"
      die "the ingress admin ($admin) does not answer; is 'scripts/mesh.sh up' running?"
    fi
    eval "$(scripts/infra.sh env)"
    exec python3 scripts/mesh_status.py --admin "$admin" --run "$run" --certs "$certs" ;;
  up) ;;
  *) sed -n '2,/^set -euo pipefail/{/^#/p}' "$0" >&2; exit 2 ;;
esac

scripts/infra.sh start
eval "$(scripts/infra.sh env)"
if [ -n "${AIRIS_MESH_BINARY:-}" ]; then
  airis="$AIRIS_MESH_BINARY"
else
  scripts/rust-toolchain.sh
  cargo build --locked --release --bin airis
  airis="$(pwd)/target/release/airis"
  # `airis` on the PATH that `scripts/infra.sh env` sets, for the commands
  # of README.md and docs/.
  ln -sfn "$airis" "$AIRIS_CACHE/bin/airis"
fi
# The UI the gateway serves at /.
if [ -n "${AIRIS_MESH_UI_DIR:-}" ]; then
  ui="$AIRIS_MESH_UI_DIR"
else
  scripts/web.sh build
  ui="$(pwd)/web/dist"
fi
[ -f "$ui/index.html" ] || die "no UI in $ui (index.html missing)"

mkdir -p "$logs"
rm -rf "$run"
mkdir -p "$run"
# "rollouts" is the rollout controllers' identity (Flagger, Argo Rollouts
# in Kubernetes), for calling the delta service's rollout endpoints.
mesh/dev-ca.sh "$certs" ingress gateway receiver analytics aiops delta search rollouts
# A signing key kept across restarts, so minted ingest tokens stay valid.
[ -s "$state/signing.key" ] || (umask 077 && openssl rand -hex 32 >"$state/signing.key")

pids=()
sockets=""
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$sockets" ] && rm -rf "$sockets"
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# why <status>: how a process ended, from its wait status.
why() {
  if [ "$1" -gt 128 ]; then
    echo "killed by SIG$(kill -l "$(($1 - 128))" 2>/dev/null || echo "$(($1 - 128))")"
  else
    echo "exited with status $1"
  fi
}

# run <name> <command...>: runs the command in the background, its output
# appended to $logs/<name>.log, and starts it again whenever it ends, as the
# kubelet restarts a container: after 1 s, doubling up to 30 s while it
# keeps dying within a minute of its start. Each restart is noted in the
# log and in $run/<name>.restarts; the current pid is in $run/<name>.pid.
# SIGTERM, or SIGINT (ctrl-c reaches the whole process group), stops the
# command and the restarting.
run() {
  local name="$1"
  shift
  : >"$logs/$name.log"
  (
    child=""
    # The child is waited for until it is gone: a second signal (ctrl-c
    # reaches the group, then cleanup's TERM) interrupts a plain wait, and
    # the supervisor must not end before what it supervises.
    trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
          while [ -n "$child" ] && kill -0 "$child" 2>/dev/null; do wait "$child" 2>/dev/null || true; done
          wait; exit 0' TERM INT
    delay=1
    restarts=0
    while :; do
      started=$SECONDS
      "$@" >>"$logs/$name.log" 2>&1 &
      child=$!
      echo "$child" >"$run/$name.pid"
      status=0
      wait "$child" || status=$?
      [ $((SECONDS - started)) -lt 60 ] || delay=1
      restarts=$((restarts + 1))
      note="$(date '+%F %T') $name $(why "$status") after $((SECONDS - started)) s; restart $restarts in $delay s"
      echo "$note" >>"$run/$name.restarts"
      echo "== mesh: $note" >>"$logs/$name.log"
      echo "mesh: $note (log: $logs/$name.log)" >&3
      sleep "$delay" &
      child=$!
      wait "$child" || true
      delay=$((delay * 2 > 30 ? 30 : delay * 2))
    done
    # Its notes to fd 3, our stderr; bash's own job reports ("Killed") go.
  ) 3>&2 2>/dev/null &
  pids+=("$!")
}

envoy_up() {
  # envoy_up <name> <config>
  run "envoy-$1" envoy -c "$2" --use-dynamic-base-id --log-level warn --concurrency 1
}

render() {
  # render <template> <out> NAME=value...: the one renderer, in the binary
  # this script runs anyway (airis_runtime::mesh)
  local template="$1" out="$2"
  shift 2
  "$airis" mesh render "mesh/$template" "$out" "$@" || die "cannot render mesh/$template"
}

"$airis" --config "$config" migrate >"$logs/migrate.log" 2>&1 \
  || die "migrate failed; see $logs/migrate.log"

# The services listen on Unix sockets in a directory only this user may
# enter (mktemp -d: mode 0700), so nothing but their sidecars reaches them
# and the claim headers they trust come from the ingress.
sockets="$(mktemp -d "${TMPDIR:-/tmp}/airis-mesh.XXXXXX")"
sock() { echo "unix:$sockets/$1.sock"; }
run gateway env AIRIS_GATEWAY__LISTEN="$(sock gateway)" AIRIS_GATEWAY__HTTP_LISTEN="$(sock gateway-http)" \
  AIRIS_GATEWAY__SIGNING_KEY_FILE="$state/signing.key" AIRIS_GATEWAY__UI_DIR="$ui" \
  AIRIS_GATEWAY__ISSUER="$ISSUER" AIRIS_GATEWAY__AUDIENCE="$AUDIENCE" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-gateway \
  "$airis" --config "$config" serve gateway
run receiver env AIRIS_INGESTION__RECEIVER__LISTEN="$(sock receiver)" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-receiver \
  "$airis" --config "$config" serve receiver
run loader env AIRIS_TELEMETRY__SERVICE_NAME=airis-loader \
  "$airis" --config "$config" serve loader
run analytics-v1 env AIRIS_ANALYTICS__LISTEN="$(sock analytics-v1)" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-analytics-v1 \
  "$airis" --config "$config" serve analytics
run analytics-v2 env AIRIS_ANALYTICS__LISTEN="$(sock analytics-v2)" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-analytics-v2 \
  "${AIRIS_MESH_CANARY_BINARY:-$airis}" --config "$config" serve analytics
run aiops env AIRIS_AIOPS__LISTEN="$(sock aiops)" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-aiops \
  "$airis" --config "$config" serve aiops
run delta env AIRIS_DELTA__LISTEN="$(sock delta)" AIRIS_DELTA__HTTP_LISTEN="$(sock delta-http)" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-delta \
  "$airis" --config "$config" serve delta
run search env AIRIS_SEARCH__LISTEN="$(sock search)" \
  AIRIS_SEARCH__QUERY_ENDPOINT="$(sock search-outbound)" \
  AIRIS_SEARCH__AIOPS_ENDPOINT="$(sock search-outbound)" \
  AIRIS_SEARCH__DELTA_ENDPOINT="$(sock search-outbound)" \
  AIRIS_TELEMETRY__SERVICE_NAME=airis-search \
  "$airis" --config "$config" serve search

# One sidecar per service instance, then the ingress.
sidecar() {
  # sidecar <name> <identity> <inbound> <admin> <grpc socket> <http socket>
  render sidecar.yaml "$state/$1.yaml" SERVICE="$2" INBOUND_PORT="$3" ADMIN_PORT="$4" \
    APP_GRPC_ADDRESS="$(sock "$5")" APP_HTTP_ADDRESS="$(sock "$6")" CERT_DIR="$certs"
  envoy_up "$1" "$state/$1.yaml"
  echo "$1 $2 $3" >>"$run/sidecars"
}
sidecar gateway gateway $((PORT_BASE + 330)) $((PORT_BASE + 1)) gateway gateway-http
sidecar receiver receiver $((PORT_BASE + 317)) $((PORT_BASE + 2)) receiver receiver
sidecar analytics-v1 analytics $((PORT_BASE + 320)) $((PORT_BASE + 3)) analytics-v1 analytics-v1
sidecar analytics-v2 analytics $((PORT_BASE + 321)) $((PORT_BASE + 4)) analytics-v2 analytics-v2
sidecar aiops aiops $((PORT_BASE + 350)) $((PORT_BASE + 5)) aiops aiops
sidecar delta delta $((PORT_BASE + 360)) $((PORT_BASE + 6)) delta delta-http
sidecar search search $((PORT_BASE + 370)) $((PORT_BASE + 7)) search search
# The search service's calls out: to the query service, ListAnomalies and Compare only.
render outbound.yaml "$state/search-outbound.yaml" SERVICE=search ADMIN_PORT=$((PORT_BASE + 8)) \
  OUTBOUND_ADDRESS="$(sock search-outbound)" CERT_DIR="$certs" \
  ANALYTICS_V1_ENDPOINTS="127.0.0.1:$((PORT_BASE + 320))" \
  ANALYTICS_V2_ENDPOINTS="127.0.0.1:$((PORT_BASE + 321))" \
  AIOPS_ENDPOINTS="127.0.0.1:$((PORT_BASE + 350))" \
  DELTA_ENDPOINTS="127.0.0.1:$((PORT_BASE + 360))"
envoy_up search-outbound "$state/search-outbound.yaml"
render ingress.yaml "$state/ingress.yaml" ADMIN_PORT="$ADMIN_PORT" INGRESS_PORT="$INGRESS_PORT" \
  OTLP_PORT="$OTLP_PORT" CERT_DIR="$certs" ISSUER="$ISSUER" AUDIENCE="$AUDIENCE" \
  ANALYTICS_V1_ENDPOINTS="127.0.0.1:$((PORT_BASE + 320))" \
  ANALYTICS_V2_ENDPOINTS="127.0.0.1:$((PORT_BASE + 321))" \
  GATEWAY_ENDPOINTS="127.0.0.1:$((PORT_BASE + 330))" \
  RECEIVER_ENDPOINTS="127.0.0.1:$((PORT_BASE + 317))" \
  AIOPS_ENDPOINTS="127.0.0.1:$((PORT_BASE + 350))" \
  DELTA_ENDPOINTS="127.0.0.1:$((PORT_BASE + 360))" \
  SEARCH_ENDPOINTS="127.0.0.1:$((PORT_BASE + 370))"
envoy_up ingress "$state/ingress.yaml"

# A process that dies before the mesh answers is a broken setup, not a
# crash to ride out: stop and show its log.
startup_failed() {
  local f
  for f in "$run"/*.restarts; do
    [ -e "$f" ] || continue
    f="$(basename "$f" .restarts)"
    echo "mesh: $f died while starting; last lines of $logs/$f.log:" >&2
    tail -n 15 "$logs/$f.log" >&2
    return 0
  done
  return 1
}

echo "waiting for the mesh (logs: $logs)"
access=""
for _ in $(seq 1 120); do
  startup_failed && exit 1
  access="$(token 2>/dev/null)" || access=""
  [ -n "$access" ] && break
  sleep 1
done
[ -n "$access" ] || die "no login through the ingress after 120 s; see $logs"

# Demo traffic with an ingest token minted through the ingress.
answer="$(call MintIngestToken '{"description":"demo traffic","ttl_days":30}' \
  -H "authorization: Bearer $access" 2>&1)" \
  || die "MintIngestToken through the ingress failed: $(oneline <<<"$answer")"
ingest="$(json_field token <<<"$answer")"
[ -n "$ingest" ] || die "MintIngestToken answered without a token: $answer"
rm -f "$demo_control"
run demo "$airis" demo --endpoint "http://127.0.0.1:$OTLP_PORT" --token "$ingest" --rate 20 \
  --control "$demo_control"

cat <<TXT

AIRIS-MON is up behind the local mesh.
  API (gRPC, gRPC-Web), UI   http://127.0.0.1:$INGRESS_PORT
  OTLP/gRPC ingest           127.0.0.1:$OTLP_PORT  (authorization: Bearer <ingest token>)
  ingress admin              $admin
  ClickHouse HTTP            http://127.0.0.1:8123   database "airis"
  logs                       $logs

Try:
  eval "\$(scripts/infra.sh env)"     # grpcurl and airis on PATH
  TOKEN=\$(scripts/mesh.sh token)     # admin / admin, tenant "demo"
  NOW=\$(date +%s)
  grpcurl -plaintext -import-path proto -proto airis/analytics/v1/query.proto \\
    -H "authorization: Bearer \$TOKEN" \\
    -d "{\"time_range\":{\"start_unix_nano\":\$(( (NOW - 3600) * 1000000000 )),\"end_unix_nano\":\$(( NOW * 1000000000 ))}}" \\
    127.0.0.1:$INGRESS_PORT airis.analytics.v1.QueryService/ListServices
  scripts/mesh.sh canary 50          # half the queries to analytics v2
  scripts/mesh.sh chaos on           # 20 % aborts, 10 % 2 s delays on queries
  scripts/mesh.sh regress v2-slowdown=1.2   # the demo's checkout v2 20 % slower
  scripts/mesh.sh status

A process that dies is started again (its log goes on in $logs).
Ctrl-c stops the services, the mesh and the demo traffic.
TXT
# The processes are restarted, never gone: wait until a signal stops us.
wait
