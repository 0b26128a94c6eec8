#!/usr/bin/env bash
# Brings AIRIS-MON up on this machine: infrastructure, every service behind
# its Envoy sidecar, the Envoy ingress on 127.0.0.1:8080 (API, gRPC-Web, UI)
# and 127.0.0.1:4317 (OTLP), and demo traffic sent with a minted ingest
# token. Ctrl-c stops the platform and the traffic; `scripts/infra.sh stop`
# stops the infrastructure. See scripts/mesh.sh for what runs where and for
# canary and chaos switches.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/mesh.sh up "$@"
