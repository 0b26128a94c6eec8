#!/usr/bin/env bash
# The UI (web/): its packages, build and checks.
#
#   scripts/web.sh install   npm ci from web/package-lock.json, when the lock
#                            changed since the last install
#   scripts/web.sh build     install, then web/dist (what the gateway serves)
#   scripts/web.sh check     install; the generated client is current, then
#                            tsc --noEmit, ESLint and the unit tests (Vitest)
#   scripts/web.sh e2e [...] the browser tests (Playwright, Debian's Chromium)
#                            against the running platform at $AIRIS_UI_URL
#                            (http://127.0.0.1:8080); arguments go to
#                            `playwright test`
#   scripts/web.sh bench     the UI benchmarks (web/bench) against the running
#                            platform; results in web/bench-results.md
#
# Node 20 (the machine's) is enough; see web/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '== %s\n' "$*" >&2; }
die() { echo "web: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "needs Node.js 20 or newer (node not found)"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || die "needs Node.js 20 or newer, found $(node --version)"

install() {
  local stamp=web/node_modules/.airis-lock.sha256 want
  want="$(sha256sum web/package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  step "npm ci (web/)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

# buf and the other tools of scripts/infra.sh on PATH.
tools() {
  scripts/infra.sh install tools
  eval "$(scripts/infra.sh env)"
}

case "${1:-}" in
  install) install ;;
  build)
    install
    step "npm run build (web/dist)"
    (cd web && npm run --silent build) ;;
  check)
    install
    tools
    step "generated client current (buf generate, web/src/gen)"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    (cd web && buf generate .. --template buf.gen.yaml -o "$tmp")
    diff -r web/src/gen "$tmp/src/gen" \
      || die "web/src/gen is not what proto/ generates: run (cd web && npm run gen) and commit it"
    step "tsc --noEmit (web/)"
    (cd web && npm run --silent typecheck)
    step "eslint (web/)"
    (cd web && npm run --silent lint)
    step "vitest (web/)"
    (cd web && npm run --silent test) ;;
  e2e)
    shift
    install
    scripts/infra.sh install browser tools
    step "playwright test (web/e2e) against ${AIRIS_UI_URL:-http://127.0.0.1:8080}"
    cd web
    exec npx playwright test "$@" ;;
  bench)
    shift
    install
    scripts/infra.sh install browser tools
    step "UI benchmarks (web/bench) against ${AIRIS_UI_URL:-http://127.0.0.1:8080}"
    cd web
    AIRIS_BENCH_CHROMIUM="$(/usr/bin/chromium --version 2>/dev/null | head -n1)" \
      exec npx playwright test --config playwright.bench.config.ts "$@" ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
