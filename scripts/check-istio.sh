#!/usr/bin/env bash
# Validates istio/ offline: renders every overlay and the rollout
# controllers' examples (istio/rollouts/) with kustomize, checks every
# object against the Kubernetes, Istio (istio.io/api CRD), Flagger and Argo
# Rollouts (their CRDs) schemas, checks references, workloads and who may
# talk to whom (the controllers' calls of the delta service among them),
# and compares the policy numbers with mesh/ingress.yaml and mesh/chaos.env.
#
#   scripts/check-istio.sh [--verbose] [--airis target/debug/airis]
#   scripts/check-istio.sh --self-test   # mutates copies of istio/ and mesh/: each must fail
#
# --airis loads each service's configuration (airis.toml + its AIRIS_*
# environment) with that binary, which refuses unknown keys; use a binary
# built from the same sources.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/infra.sh install tools k8s
eval "$(scripts/infra.sh env)"

args=(
  --kustomize "$AIRIS_CACHE/bin/kustomize"
  --crds "$AIRIS_CACHE/k8s/istio-crds.yaml"
  --rollout-crds "$AIRIS_CACHE/k8s/rollouts-crds.yaml"
  --istio-version "$(cat "$AIRIS_CACHE/k8s/istio-api.version")"
  --envoy "$AIRIS_CACHE/bin/envoy"
  --meshconfig-check "$AIRIS_CACHE/bin/meshconfig-check"
)
if [ "${1:-}" = --self-test ]; then
  shift
  export CHECK_ISTIO_ARGS="${args[*]}"
  exec "$AIRIS_PYTHON" -m pytest -q -p no:cacheprovider scripts/infra/test_check_istio.py "$@"
fi
exec "$AIRIS_PYTHON" scripts/infra/check_istio.py "${args[@]}" "$@"
