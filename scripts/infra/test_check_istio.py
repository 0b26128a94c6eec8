"""Each check of check_istio.py must catch the mistake it is there for.

Runs the real check (the same tools as scripts/check-istio.sh, whose
--self-test passes them in CHECK_ISTIO_ARGS) on copies of istio/ and mesh/
with one deliberate mistake each, and expects a failure naming it. The
unchanged copy must pass, so a failure is the mistake's and nothing else's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "scripts" / "infra" / "check_istio.py"
ARGS = shlex.split(os.environ.get("CHECK_ISTIO_ARGS", ""))


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    if not ARGS:
        pytest.skip("run through scripts/check-istio.sh --self-test")
    shutil.copytree(REPO / "istio", tmp_path / "istio")
    shutil.copytree(REPO / "mesh", tmp_path / "mesh")
    return tmp_path


def run(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECK), *ARGS, "--istio-dir", str(tree / "istio"), "--mesh-dir", str(tree / "mesh")],
        capture_output=True, text=True,
    )


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) >= count, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def test_unchanged_copy_passes(tree: Path) -> None:
    proc = run(tree)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr


# (what is changed, file, old text, new text, what the failure must say)
MISTAKES = [
    ("mesh pool limit", "mesh/ingress.yaml", "max_requests: 64", "max_requests: 65",
     "analytics_v1 / DestinationRule analytics max requests (http2MaxRequests): mesh/ has 65 but istio/ has 64"),
    ("istio canary weight", "istio/base/mesh/virtualservices.yaml", "weight: 90\n", "weight: 80\n",
     "canary weight analytics_v1 / subset v1: mesh/ has 90 but istio/ has 80"),
    ("istio route timeout", "istio/base/mesh/virtualservices.yaml", "    timeout: 15s\n", "    timeout: 20s\n",
     "route /opentelemetry.proto.collector. (receiver) timeout: mesh/ has 15s but istio/ has 20s"),
    ("istio retryOn", "istio/base/mesh/virtualservices.yaml",
     "retryOn: reset,connect-failure,refused-stream\n", "retryOn: reset,connect-failure\n",
     "route / (ui) retry on"),
    ("istio ejection time", "istio/base/mesh/destinationrules.yaml", "baseEjectionTime: 30s", "baseEjectionTime: 60s",
     "analytics_v1 / DestinationRule analytics base ejection time: mesh/ has 30s but istio/ has 60s"),
    ("drill percentage", "mesh/chaos.env", "fault.analytics.abort_percent=20", "fault.analytics.abort_percent=25",
     "fault abort percent (mesh/chaos.env fault.analytics.abort_percent): mesh/ has 25 but istio/ has 20"),
    ("drill delay", "istio/components/chaos/kustomization.yaml", "fixedDelay: 2s", "fixedDelay: 3s",
     "fault fixed delay: mesh/ has 2s but istio/ has 3s"),
    ("reflection not routed in istio/", "istio/base/mesh/virtualservices.yaml",
     "    delegate: {name: reflection, namespace: airis}\n", "    directResponse: {status: 404}\n",
     "edge 443 gRPC /grpc.reflection.v1.ServerReflection/ServerReflectionInfo: routed to"),
    ("missing VirtualService", "istio/base/mesh/virtualservices.yaml", "  name: receiver\n  namespace: airis\n",
     "  name: receiver-old\n  namespace: airis\n", "delegates to VirtualService receiver"),
    ("unknown field in an Istio object", "istio/base/mesh/destinationrules.yaml",
     "consecutiveGatewayErrors: 3", "consecutiveGatewayError: 3", "Additional properties are not allowed ('consecutiveGatewayError'"),
    ("CEL rule of an Istio CRD", "istio/base/mesh/virtualservices.yaml", "perTryTimeout: 5s", "perTryTimeout: 0.5ms",
     "spec.http[0].retries.perTryTimeout: must be a valid duration greater than 1ms"),
    ("unknown field in a Kubernetes object", "istio/base/airis/loader.yaml",
     "terminationGracePeriodSeconds: 45", "terminationGracePeriodSecond: 45",
     "Additional properties are not allowed ('terminationGracePeriodSecond'"),
    ("Kafka reachable from the analytics service", "istio/base/mesh/security.yaml",
     "        - cluster.local/ns/airis/sa/migrate\n    to:\n    - operation: {ports: [\"9092\"]}",
     "        - cluster.local/ns/airis/sa/migrate\n        - cluster.local/ns/airis/sa/analytics\n    to:\n    - operation: {ports: [\"9092\"]}",
     "AuthorizationPolicy: the other"),
    ("migrate cut off from Kafka", "istio/base/policy/networkpolicies-airis-data.yaml",
     "values: [receiver, loader, migrate]", "values: [receiver, loader]", "airis-migrate -> kafka:9092"),
    ("cluster name", "istio/base/config/airis.toml", 'cluster = "airis"', 'cluster = "prod"',
     "ingestion.schema.cluster 'prod' == ClickHouse remote_servers ['airis']"),
    ("mesh config typo", "istio/install/istio-operator.yaml", "pathPrefix: /authz", "pathPrefx: /authz",
     'unknown field "pathPrefx"'),
    ("EnvoyFilter typo", "istio/base/mesh/envoyfilter.yaml", "request_mutations:", "request_mutation:",
     "by `envoy --mode validate` -- "),
    # the filter order: istiod puts ext_authz (the revocation check) before
    # jwt_authn, so "before jwt_authn" is after ext_authz
    ("claim headers removed after ext_authz", "istio/base/mesh/envoyfilter.yaml",
     "            name: envoy.filters.network.http_connection_manager\n    patch:\n      operation: INSERT_FIRST\n"
     "      value:\n        name: envoy.filters.http.header_mutation",
     "            name: envoy.filters.network.http_connection_manager\n            subFilter:\n"
     "              name: envoy.filters.http.jwt_authn\n    patch:\n      operation: INSERT_BEFORE\n"
     "      value:\n        name: envoy.filters.http.header_mutation",
     "client-sent claim headers removed before the token checks (ext_authz, jwt_authn, rbac set or act on them): "
     "mesh/ has True but istio/ has False"),
    ("gRPC-Web after ext_authz", "istio/base/mesh/envoyfilter.yaml",
     "              name: envoy.filters.http.header_mutation\n    patch:\n      operation: INSERT_AFTER",
     "              name: envoy.filters.http.jwt_authn\n    patch:\n      operation: INSERT_BEFORE",
     "gRPC-Web translated at the edge, before the token checks (ext_authz, jwt_authn, rbac): mesh/ has True but istio/ has False"),
    ("gRPC-Web refusals untranslated", "istio/base/mesh/envoyfilter.yaml",
     "              name: envoy.filters.http.header_mutation\n    patch:\n      operation: INSERT_AFTER",
     "              name: envoy.filters.http.jwt_authn\n    patch:\n      operation: INSERT_BEFORE",
     "edge 443 gRPC-Web /airis.analytics.v1.QueryService/GetTrace: without a token: "
     "mesh/ has HTTP 401 as gRPC-Web UNAUTHENTICATED but istio/ has HTTP 401"),
    ("filter patch that finds nothing", "istio/base/mesh/envoyfilter.yaml",
     "              name: envoy.filters.http.header_mutation\n    patch:\n      operation: INSERT_AFTER",
     "              name: envoy.filters.http.header_mutations\n    patch:\n      operation: INSERT_AFTER",
     "INSERT_AFTER envoy.filters.http.grpc_web: no filter envoy.filters.http.header_mutations in istiod's chain"),
    ("escaped slashes let through", "istio/base/mesh/envoyfilter.yaml",
     "path_with_escaped_slashes_action: REJECT_REQUEST", "path_with_escaped_slashes_action: KEEP_UNCHANGED",
     "listener ingress: path_with_escaped_slashes_action: mesh/ has REJECT_REQUEST but istio/ has KEEP_UNCHANGED"),
    ("unknown gRPC served the UI", "istio/base/mesh/virtualservices.yaml",
     "headers: {content-type: {prefix: application/grpc}}", "headers: {content-type: {prefix: application/grpc-nothing}}",
     "edge 443 gRPC GET /airis.nothing.v1.NoService/Call: routed to"),
    ("listening on loopback", "istio/base/config/airis.toml", 'listen = "0.0.0.0:4320"', 'listen = "127.0.0.1:4320"',
     "analytics.listen"),
    ("root user", "istio/base/airis/ui.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "ui: pod securityContext"),
    # outlier detection: gateway errors only
    ("istio leaves 5xx ejection on", "istio/base/mesh/destinationrules.yaml",
     "consecutiveGatewayErrors: 3, consecutive5xxErrors: 0,", "consecutiveGatewayErrors: 3,",
     "analytics_v1 / DestinationRule analytics ejection on any 5xx: mesh/ has off but istio/ has after 5 in a row, enforced 100 %"),
    ("mesh gateway-error count", "mesh/ingress.yaml", "consecutive_gateway_failure: 3", "consecutive_gateway_failure: 4",
     "analytics_v1 / DestinationRule analytics consecutive gateway errors: mesh/ has 4 but istio/ has 3"),
    # per-try timeouts: none on the API routes, on both sides
    ("istio per-try timeout on queries", "istio/base/mesh/virtualservices.yaml",
     "attempts: 3\n      retryOn:", "attempts: 3\n      perTryTimeout: 10s\n      retryOn:",
     "route /airis.analytics.v1.QueryService/ (analytics) per-try timeout: mesh/ has none but istio/ has 10s"),
    ("mesh per-try timeout on OTLP", "mesh/ingress.yaml",
     "num_retries: 2\n                    retry_host_predicate:",
     "num_retries: 2\n                    per_try_timeout: 5s\n                    retry_host_predicate:",
     "route /opentelemetry.proto.collector. (receiver) per-try timeout: mesh/ has 5s but istio/ has none"),
    # Login's rate limit
    ("istio Login bucket", "istio/base/mesh/envoyfilter.yaml", "max_tokens: 20", "max_tokens: 40",
     "Login rate limit max tokens: mesh/ has 20 but istio/ has 40"),
    ("Login route renamed", "istio/base/mesh/virtualservices.yaml", "  - name: login\n", "  - name: sign-in\n",
     "EnvoyFilter route patch targets route 'gateway-grpc-login'"),
    ("rate limit typo", "istio/base/mesh/envoyfilter.yaml", "tokens_per_fill: 10", "tokens_per_fil: 10",
     "by `envoy --mode validate` -- "),
    ("rate limit before the token checks", "istio/base/mesh/envoyfilter.yaml",
     "name: envoy.filters.http.router\n    patch:\n      operation: INSERT_BEFORE",
     "name: envoy.filters.http.router\n    patch:\n      operation: INSERT_FIRST",
     "local_ratelimit after grpc_web, jwt_authn and ext_authz: mesh/ has True but istio/ has False"),
    # where the token is read
    ("JWT locations left to Istio", "istio/base/mesh/security.yaml",
     '    fromHeaders:\n    - {name: authorization, prefix: "Bearer "}\n', "",
     "listener ingress: JWT read from headers (name, prefix), stated: mesh/ has [('authorization', 'Bearer ')] but istio/ has <missing>"),
    ("JWT from a query parameter", "istio/base/mesh/security.yaml",
     "    forwardOriginalToken: true\n", "    fromParams: [access_token]\n    forwardOriginalToken: true\n",
     "listener ingress: JWT read from query parameters or cookies: mesh/ has [] but istio/ has [?access_token]"),
    # the edge: methods, /authz, revocation only where it is served
    ("token check public", "istio/base/mesh/virtualservices.yaml",
     "  - name: authz\n    match: [{port: 443, uri: {prefix: /authz}}]\n    directResponse: {status: 404}\n", "",
     "edge 443 GET /authz/x: routed to: mesh/ has [('direct response', 404)] but istio/ has [('ui', 4340, None)]"),
    ("UI answers POST", "istio/base/mesh/virtualservices.yaml",
     'match: [{port: 443, uri: {prefix: /}, method: {regex: "^(GET|HEAD)$"}}]', "match: [{port: 443, uri: {prefix: /}}]",
     "edge 443 POST /: routed to: mesh/ has [('direct response', 404)] but istio/ has [('ui', 4340, None)]"),
    ("revocation asked for unknown services", "istio/base/mesh/security.yaml",
     "        - /airis.analytics.v1.QueryService/*\n        - /airis.gateway.v1.AuthService/*\n", "        - /airis.*\n",
     "edge 443 gRPC /airis.nothing.v1.NoService/Call: revocation checked: mesh/ has False but istio/ has True"),
    # the listeners
    ("header timeout", "istio/base/mesh/envoyfilter.yaml", "request_headers_timeout: 10s", "request_headers_timeout: 20s",
     "listener ingress: request_headers_timeout: mesh/ has 10s but istio/ has 20s"),
    # CORS
    ("mesh CORS by prefix", "mesh/ingress.yaml",
     r'- safe_regex: { regex: "^http://(localhost|127\\.0\\.0\\.1)(:[0-9]+)?$" }', '- prefix: "http://localhost"',
     "CORS: origin http://localhost.evil.example admitted: mesh/ has True but istio/ has False"),
    ("istio CORS for everyone", "istio/base/mesh/virtualservices.yaml",
     "    - destination: {host: ui.airis.svc.cluster.local, port: {number: 4340}}\n",
     "    - destination: {host: ui.airis.svc.cluster.local, port: {number: 4340}}\n"
     "    corsPolicy:\n      allowOrigins: [{regex: \".*\"}]\n",
     "CORS: origin https://airis.example.com admitted: mesh/ has False but istio/ has True"),
    # images: ClickHouse new enough for the schema, the migration on the newest release
    ("ClickHouse below 26.1", "istio/base/kustomization.yaml",
     'name: clickhouse/clickhouse-server\n  newTag: "26.9"', 'name: clickhouse/clickhouse-server\n  newTag: "25.8"',
     "clickhouse/clickhouse-server:25.8: ClickHouse 26.1 or later"),
    ("migration on the stable release during a canary", "istio/overlays/prod/kustomization.yaml",
     "- name: airis-canary\n  newName: airis-mon/airis\n  newTag: 0.1.0", "- name: airis-canary\n  newName: airis-mon/airis\n  newTag: 0.2.0",
     "Job airis-migrate runs airis-mon/airis:0.1.0, the newest release deployed (airis-mon/airis:0.2.0)"),
    ("migration image not mapped", "istio/overlays/dev/kustomization.yaml",
     "- name: airis-migrate\n  newName: airis-mon/airis\n  newTag: 0.1.0\n", "",
     "Job airis-migrate: image 'airis-migrate' is not [<registry>/]airis-mon/airis:<tag>"),
    # the backup
    ("synchronous backup", "istio/base/data/clickhouse-backup.yaml", "'${S3_SECRET_ACCESS_KEY}') ASYNC", "'${S3_SECRET_ACCESS_KEY}')",
     "backup: BACKUP ... TO S3(...) ASYNC, then system.backups polled"),
    ("backup retried", "istio/base/data/clickhouse-backup.yaml", "backoffLimit: 0", "backoffLimit: 1", "backup: backoffLimit 1"),
    ("concurrent backups", "istio/base/config/clickhouse/server.xml",
     "<allow_concurrent_backups>false<", "<allow_concurrent_backups>true<", "ClickHouse backups.allow_concurrent_backups true"),
    # the data tier
    ("volume ownership re-walked", "istio/base/data/kafka.yaml", "        fsGroupChangePolicy: OnRootMismatch\n", "",
     "StatefulSet kafka: fsGroupChangePolicy None with fsGroup 1000"),
    ("ClickHouse ready when up", "istio/base/data/clickhouse.yaml", "path: /replicas_status", "path: /ping",
     "ClickHouse readiness: httpGet /ping"),
    ("Kafka rolled without a pause", "istio/base/data/kafka.yaml", "minReadySeconds: 120", "minReadySeconds: 10",
     "StatefulSet kafka: minReadySeconds 10"),
    ("Keeper killed while replaying", "istio/base/data/clickhouse-keeper.yaml", "failureThreshold: 36", "failureThreshold: 12",
     "Keeper startupProbe: 120 s before liveness applies"),
    ("Redis maxmemory near its limit", "istio/overlays/prod/data.yaml", "--maxmemory, 2400mb", "--maxmemory, 3gb",
     "Redis maxmemory 3gb of a 4Gi limit"),
    # sizes per overlay
    ("one receiver in prod", "istio/overlays/prod/kustomization.yaml",
     "      path: /spec/minReplicas\n      value: 2", "      path: /spec/minReplicas\n      value: 1",
     "[prod] HPA receiver: 1-5 replicas -- expected 2-5"),
    # aiops: the analytics service's numbers, one version, ClickHouse only
    ("aiops pool limit", "istio/base/mesh/destinationrules.yaml",
     "  host: aiops.airis.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    connectionPool:\n"
     "      tcp: {maxConnections: 32}",
     "  host: aiops.airis.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    connectionPool:\n"
     "      tcp: {maxConnections: 16}",
     "aiops / DestinationRule aiops max connections: mesh/ has 32 but istio/ has 16"),
    ("aiops route timeout", "istio/base/mesh/virtualservices.yaml",
     "subset: v1, port: {number: 4350}}\n    timeout: 30s", "subset: v1, port: {number: 4350}}\n    timeout: 60s",
     "route /airis.aiops.v1.AnomalyService/ (aiops) timeout: mesh/ has 30s but istio/ has 60s"),
    ("aiops revocation unchecked", "istio/base/mesh/security.yaml", "        - /airis.aiops.v1.AnomalyService/*\n", "",
     "edge 443 gRPC /airis.aiops.v1.AnomalyService/ScoreSeries: revocation checked: mesh/ has True but istio/ has False"),
    # alert rules: the aiops route's numbers and checks, at both edges
    ("alert rules not routed in istio/", "istio/base/mesh/virtualservices.yaml",
     "    - {port: 443, uri: {prefix: /airis.aiops.v1.AlertService/}}\n", "",
     "edge 443 gRPC /airis.aiops.v1.AlertService/ListRules: routed to"),
    ("alert rules route timeout", "istio/base/mesh/virtualservices.yaml",
     "  - name: alerts\n    match: [{uri: {prefix: /airis.aiops.v1.AlertService/}}]\n    route:\n"
     "    - destination: {host: aiops.airis.svc.cluster.local, subset: v1, port: {number: 4350}}\n    timeout: 30s",
     "  - name: alerts\n    match: [{uri: {prefix: /airis.aiops.v1.AlertService/}}]\n    route:\n"
     "    - destination: {host: aiops.airis.svc.cluster.local, subset: v1, port: {number: 4350}}\n    timeout: 60s",
     "route /airis.aiops.v1.AlertService/ (aiops) timeout: mesh/ has 30s but istio/ has 60s"),
    ("alert rules revocation unchecked", "istio/base/mesh/security.yaml", "        - /airis.aiops.v1.AlertService/*\n", "",
     "edge 443 gRPC /airis.aiops.v1.AlertService/CreateRule: revocation checked: mesh/ has True but istio/ has False"),
    ("alert rules not routed in mesh/", "mesh/ingress.yaml",
     '- match: { prefix: "/airis.aiops.v1.AlertService/" }', '- match: { prefix: "/airis.aiops.v1.AlertsService/" }',
     "route /airis.aiops.v1.AlertService/ (aiops): mesh/ingress.yaml has no route with prefix /airis.aiops.v1.AlertService/"),
    ("aiops under another identity", "istio/base/airis/aiops.yaml",
     "serviceAccountName: aiops", "serviceAccountName: analytics",
     "aiops / DestinationRule aiops mTLS peer identity (mesh SAN / istio service account): "
     "mesh/ has [ns/airis/sa/aiops] but istio/ has [ns/airis/sa/analytics]"),
    ("Redis reachable from aiops", "istio/base/mesh/security.yaml",
     "        - cluster.local/ns/airis/sa/gateway\n        - cluster.local/ns/airis/sa/analytics\n",
     "        - cluster.local/ns/airis/sa/gateway\n        - cluster.local/ns/airis/sa/analytics\n"
     "        - cluster.local/ns/airis/sa/aiops\n",
     "aiops -> redis:6379"),
    # aiops: the WatchAnomalies stream has no route timeout at either edge
    ("WatchAnomalies cut at 30 s in istio/", "istio/base/mesh/virtualservices.yaml",
     "    match: [{uri: {exact: /airis.aiops.v1.AnomalyService/WatchAnomalies}}]\n    route:\n"
     "    - destination: {host: aiops.airis.svc.cluster.local, subset: v1, port: {number: 4350}}\n",
     "    match: [{uri: {exact: /airis.aiops.v1.AnomalyService/WatchAnomalies}}]\n    route:\n"
     "    - destination: {host: aiops.airis.svc.cluster.local, subset: v1, port: {number: 4350}}\n    timeout: 30s\n",
     "route /airis.aiops.v1.AnomalyService/WatchAnomalies (aiops) timeout: mesh/ has 0s (none) but istio/ has 30s"),
    ("WatchAnomalies on Envoy's default timeout", "mesh/ingress.yaml",
     "                  cluster: aiops\n                  timeout: 0s\n", "                  cluster: aiops\n",
     "edge 443 gRPC-Web /airis.aiops.v1.AnomalyService/WatchAnomalies: a stream, mesh/ingress.yaml routes it with "
     "no route timeout: 15s (unset)"),
    ("WatchAnomalies matched by prefix", "mesh/ingress.yaml",
     '- match: { path: "/airis.aiops.v1.AnomalyService/WatchAnomalies" }',
     '- match: { prefix: "/airis.aiops.v1.AnomalyService/WatchAnomalies" }',
     "edge 443 gRPC /airis.aiops.v1.AnomalyService/WatchAnomaliesLater: route timeout: mesh/ has 0s (none) but istio/ has 30s"),
    # aiops: one watcher, API replicas that read
    ("a second anomaly watcher", "istio/base/airis/aiops.yaml", "  replicas: 1\n", "  replicas: 2\n",
     "Deployment aiops-watch (continuous anomaly detection): replicas 2, strategy Recreate"),
    ("anomaly watcher rolled with a surge", "istio/base/airis/aiops.yaml",
     "    type: Recreate\n", "    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
     "Deployment aiops-watch (continuous anomaly detection): replicas 1, strategy RollingUpdate"),
    ("API replicas watching too", "istio/base/airis/aiops.yaml",
     '        - {name: AIRIS_AIOPS__WATCH__ENABLED, value: "false"}\n', "",
     "aiops.watch.enabled on in [aiops, aiops-watch] (one watcher)"),
    ("aiops API replicas as the writer", "istio/base/airis/aiops.yaml",
     "value: airis_aiops}", "value: airis_writer}",
     "Deployment aiops: signs in to ClickHouse as airis_writer"),
    ("a ClickHouse password variable unset", "istio/base/data/clickhouse.yaml",
     "        - name: CLICKHOUSE_AIOPS_PASSWORD\n", "        - name: CLICKHOUSE_AIOPS_PASSWORD_TYPO\n",
     "unset: ['CLICKHOUSE_AIOPS_PASSWORD']"),
    ("aiops user may write every table", "istio/base/config/clickhouse/users.xml",
     "<query>GRANT INSERT ON airis.aiops_alert_rules</query>", "<query>GRANT INSERT ON airis.*</query>",
     "aiops (write:aiops_alert_rules,aiops_silences,aiops_notification_policies): ClickHouse user airis_aiops"),
    ("aiops user read-only (rule writes refused)", "istio/base/config/clickhouse/users.xml",
     "<profile>airis_writer</profile>\n            <quota>default</quota>\n            <grants>\n"
     "                <query>GRANT SELECT ON airis.*</query>\n                <query>GRANT INSERT ON airis.aiops",
     "<profile>airis_reader</profile>\n            <quota>default</quota>\n            <grants>\n"
     "                <query>GRANT SELECT ON airis.*</query>\n                <query>GRANT INSERT ON airis.aiops",
     "aiops (write:aiops_alert_rules,aiops_silences,aiops_notification_policies): ClickHouse user airis_aiops (profile airis_reader, readonly=2"),
    ("aiops cut off from ClickHouse", "istio/base/policy/networkpolicies-airis-data.yaml",
     "values: [loader, analytics, aiops, aiops-watch, delta, search, migrate]",
     "values: [loader, analytics, aiops-watch, delta, search, migrate]",
     "aiops -> clickhouse:8123"),
    ("Kafka reachable from the anomaly watcher", "istio/base/mesh/security.yaml",
     "        - cluster.local/ns/airis/sa/migrate\n    to:\n    - operation: {ports: [\"9092\"]}",
     "        - cluster.local/ns/airis/sa/migrate\n        - cluster.local/ns/airis/sa/aiops-watch\n    to:\n"
     "    - operation: {ports: [\"9092\"]}",
     "aiops-watch -> kafka:9092"),
    # delta: the analytics service's numbers, one version, reads ClickHouse only
    ("delta pool limit", "istio/base/mesh/destinationrules.yaml",
     "  host: delta.airis.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    connectionPool:\n"
     "      tcp: {maxConnections: 32}",
     "  host: delta.airis.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    connectionPool:\n"
     "      tcp: {maxConnections: 16}",
     "delta / DestinationRule delta max connections: mesh/ has 32 but istio/ has 16"),
    ("delta route timeout", "istio/base/mesh/virtualservices.yaml",
     "subset: v1, port: {number: 4360}}\n    timeout: 30s", "subset: v1, port: {number: 4360}}\n    timeout: 60s",
     "route /airis.delta.v1.DeltaService/ (delta) timeout: mesh/ has 30s but istio/ has 60s"),
    ("delta not routed in istio/", "istio/base/mesh/virtualservices.yaml",
     "    match: [{port: 443, uri: {prefix: /airis.delta.v1.DeltaService/}}]\n",
     "    match: [{port: 443, uri: {prefix: /airis.delta.v1.DeltaServices/}}]\n",
     "edge 443 gRPC /airis.delta.v1.DeltaService/Compare: routed to"),
    ("delta not routed in mesh/", "mesh/ingress.yaml",
     '- match: { prefix: "/airis.delta.v1.DeltaService/" }', '- match: { prefix: "/airis.delta.v1.DeltaServices/" }',
     "route /airis.delta.v1.DeltaService/ (delta): mesh/ingress.yaml has no route with prefix /airis.delta.v1.DeltaService/"),
    ("delta revocation unchecked", "istio/base/mesh/security.yaml", "        - /airis.delta.v1.DeltaService/*\n", "",
     "edge 443 gRPC /airis.delta.v1.DeltaService/Compare: revocation checked: mesh/ has True but istio/ has False"),
    ("delta under another identity", "istio/base/airis/delta.yaml",
     "serviceAccountName: delta", "serviceAccountName: analytics",
     "delta / DestinationRule delta mTLS peer identity (mesh SAN / istio service account): "
     "mesh/ has [ns/airis/sa/delta] but istio/ has [ns/airis/sa/analytics]"),
    ("delta reachable from the analytics service", "istio/base/mesh/security.yaml",
     "    matchLabels: {app: delta}\n  action: ALLOW\n  rules:\n  - from:\n"
     "    - source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account]}\n",
     "    matchLabels: {app: delta}\n  action: ALLOW\n  rules:\n  - from:\n"
     "    - source: {principals: [cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account, "
     "cluster.local/ns/airis/sa/analytics]}\n",
     "analytics-v1 -> delta:4360"),
    ("delta as the writer", "istio/base/airis/delta.yaml",
     "value: airis_reader}", "value: airis_writer}",
     "Deployment delta: signs in to ClickHouse as airis_writer"),
    ("delta cut off from ClickHouse", "istio/base/policy/networkpolicies-airis-data.yaml",
     "values: [loader, analytics, aiops, aiops-watch, delta, search, migrate]",
     "values: [loader, analytics, aiops, aiops-watch, search, migrate]",
     "delta -> clickhouse:8123"),
    ("Redis reachable from delta", "istio/base/mesh/security.yaml",
     "        - cluster.local/ns/airis/sa/gateway\n        - cluster.local/ns/airis/sa/analytics\n",
     "        - cluster.local/ns/airis/sa/gateway\n        - cluster.local/ns/airis/sa/analytics\n"
     "        - cluster.local/ns/airis/sa/delta\n",
     "delta -> redis:6379"),
    ("delta listens on loopback", "istio/base/config/airis.toml",
     'listen = "0.0.0.0:4360"', 'listen = "127.0.0.1:4360"',
     "airis.toml delta.listen = '127.0.0.1:4360'"),
    ("one prod delta replica", "istio/overlays/prod/services.yaml",
     "metadata: {name: delta, namespace: airis}\nspec:\n  template:",
     "metadata: {name: delta, namespace: airis}\nspec:\n  replicas: 1\n  template:",
     "[prod] delta: 1 replicas -- expected 2"),
    # delta's rollout endpoints: the controllers' calls reach them, and nothing else does
    ("rollout webhook to the gRPC port", "istio/rollouts/flagger/canary.yaml",
     "http://delta.airis.svc.cluster.local:4361/rollout/v1/flagger", "http://delta.airis.svc.cluster.local:4360/rollout/v1/flagger",
     "Canary checkout webhook airis-delta (rollout): http://delta.airis.svc.cluster.local:4360 is the delta Service's "
     "http-rollout port -- expected http://delta.airis.svc.cluster.local:4361"),
    ("rollout paths not admitted", "istio/base/mesh/security.yaml", "paths: [/rollout/v1/*]", "paths: [/rollout/v2/*]",
     "Canary checkout webhook airis-delta (rollout): cluster.local/ns/istio-system/sa/flagger may call POST "
     "/rollout/v1/flagger on delta:4361 (AuthorizationPolicy and NetworkPolicy) -- refused"),
    ("rollout controllers admitted to every path", "istio/base/mesh/security.yaml",
     "        methods: [GET, POST]\n        paths: [/rollout/v1/*]\n", "",
     "cluster.local/ns/istio-system/sa/flagger may not call POST /airis.delta.v1.DeltaService/Compare on delta:4361"),
    ("Argo Rollouts not admitted", "istio/base/mesh/security.yaml",
     "        - cluster.local/ns/argo-rollouts/sa/argo-rollouts\n", "",
     "AuthorizationPolicy: the 36 flows of the data path are allowed -- refused: argo-rollouts -> delta:4361"),
    ("Argo Rollouts cut off from delta", "istio/base/policy/networkpolicies-airis.yaml",
     "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: argo-rollouts}}\n"
     "      podSelector: {matchLabels: {app.kubernetes.io/name: argo-rollouts}}\n", "",
     "NetworkPolicy: the 36 flows of the data path are allowed -- refused: argo-rollouts -> delta:4361"),
    ("rollout port without HTTP", "istio/base/airis/delta.yaml",
     "targetPort: http-rollout, appProtocol: http}", "targetPort: http-rollout, appProtocol: tcp}",
     "Service delta port http-rollout: 4361 -> container port http-rollout (4361) of delta, appProtocol tcp"),
    ("Flagger webhook without a baseline", "istio/rollouts/flagger/canary.yaml", "        baseline: checkout-primary\n", "",
     "Canary checkout webhook airis-delta (rollout): names tenant, service, baseline, candidate -- missing [baseline]"),
    ("Flagger webhook with a misspelt parameter", "istio/rollouts/flagger/canary.yaml", "        window: 15m\n",
     "        windows: 15m\n", "Canary checkout webhook airis-delta-promotion (confirm-promotion): parameters "
     "[attribute, baseline, candidate, service, tenant, windows] are the endpoint's, window 10m -- unknown [windows]"),
    ("Flagger webhook that gates nothing", "istio/rollouts/flagger/canary.yaml", "      type: rollout\n", "      type: event\n",
     "Canary checkout webhook airis-delta (event): a webhook type that gates the canary on the answer"),
    ("unknown field in a Canary", "istio/rollouts/flagger/canary.yaml", "maxWeight: 50", "maxWeigth: 50",
     "Additional properties are not allowed ('maxWeigth'"),
    ("inconclusive read as a failure", "istio/rollouts/argo/analysistemplate.yaml",
     "failureCondition: result == \"fail\"", "failureCondition: result != \"pass\"",
     "AnalysisTemplate airis-delta metric airis-delta: the verdict is the result"),
    ("cohorts by the wrong hash", "istio/rollouts/argo/rollout.yaml",
     "valueFrom: {podTemplateHashValue: Latest}", "valueFrom: {podTemplateHashValue: Stable}",
     "Rollout checkout analysis airis-delta: baseline and candidate by rollouts-pod-template-hash, Stable against Latest"),
    ("unknown field in an AnalysisTemplate", "istio/rollouts/argo/analysistemplate.yaml", "timeoutSeconds: 30", "timeout: 30s",
     "Additional properties are not allowed ('timeout'"),
    ("delta's HTTP side on loopback", "istio/base/config/airis.toml",
     'http_listen = "0.0.0.0:4361"', 'http_listen = "127.0.0.1:4361"', "airis.toml delta.http_listen = '127.0.0.1:4361'"),
    ("one canary pod in prod", "istio/overlays/prod/services.yaml", "  replicas: 2\n", "",
     "[prod] analytics-v2: 1 replicas -- expected 2"),
    # search lists anomalies for its caller (Ask): that one method of aiops, routed inside the mesh
    ("search not admitted to aiops", "istio/base/mesh/security.yaml",
     "        methods: [POST]\n        paths: [/airis.aiops.v1.AnomalyService/ListAnomalies]\n",
     "        methods: [POST]\n        paths: [/airis.aiops.v1.AnomalyService/Forecast]\n",
     "search -> aiops:4350 POST /airis.aiops.v1.AnomalyService/ListAnomalies: admitted"),
    ("search admitted to all of aiops", "istio/base/mesh/security.yaml",
     "        methods: [POST]\n        paths: [/airis.aiops.v1.AnomalyService/ListAnomalies]\n", "",
     "search -> aiops:4350 POST /airis.aiops.v1.AnomalyService/WatchAnomalies: refused"),
    ("aiops-mesh without a timeout", "istio/base/mesh/virtualservices.yaml",
     "ListAnomalies}}]\n    route:\n    - destination: {host: aiops.airis.svc.cluster.local, subset: v1, "
     "port: {number: 4350}}\n    timeout: 30s\n",
     "ListAnomalies}}]\n    route:\n    - destination: {host: aiops.airis.svc.cluster.local, subset: v1, "
     "port: {number: 4350}}\n",
     "aiops-mesh routes POST /airis.aiops.v1.AnomalyService/ListAnomalies as the ingress's route does"),
    # search judges comparisons for its caller (Ask): Compare of delta, gRPC only, routed inside the mesh
    ("search not admitted to delta", "istio/base/mesh/security.yaml",
     "        methods: [POST]\n        paths: [/airis.delta.v1.DeltaService/Compare]\n",
     "        methods: [POST]\n        paths: [/airis.delta.v1.DeltaService/ListChanges]\n",
     "search -> delta:4360 POST /airis.delta.v1.DeltaService/Compare: admitted"),
    ("search admitted to all of delta", "istio/base/mesh/security.yaml",
     "        methods: [POST]\n        paths: [/airis.delta.v1.DeltaService/Compare]\n", "",
     "search -> delta:4360 POST /airis.delta.v1.DeltaService/ListChanges: refused"),
    ("search admitted to delta's HTTP side", "istio/base/mesh/security.yaml",
     "        ports: [\"4360\"]\n        methods: [POST]\n        paths: [/airis.delta.v1.DeltaService/Compare]\n",
     "        ports: [\"4360\", \"4361\"]\n        methods: [POST]\n        paths: [/airis.delta.v1.DeltaService/Compare]\n",
     "search -> delta:4361 POST /airis.delta.v1.DeltaService/Compare: refused"),
    ("search cut off from delta", "istio/base/policy/networkpolicies-airis.yaml",
     "  - to:\n    - podSelector: {matchLabels: {app: delta}}\n    ports:\n    - {protocol: TCP, port: 4360}\n", "",
     "NetworkPolicy: the 36 flows of the data path are allowed -- refused: search -> delta:4360"),
    ("delta-mesh without a timeout", "istio/base/mesh/virtualservices.yaml",
     "Compare}}]\n    route:\n    - destination: {host: delta.airis.svc.cluster.local, subset: v1, "
     "port: {number: 4360}}\n    timeout: 30s\n",
     "Compare}}]\n    route:\n    - destination: {host: delta.airis.svc.cluster.local, subset: v1, "
     "port: {number: 4360}}\n",
     "delta-mesh routes POST /airis.delta.v1.DeltaService/Compare as the ingress's route does"),
    ("delta-mesh leaves the rollout controllers unrouted", "istio/base/mesh/virtualservices.yaml",
     "    match: [{port: 4361, uri: {prefix: /rollout/v1/}}]\n",
     "    match: [{port: 4361, uri: {exact: /rollout/v1/flagger}}]\n",
     "delta-mesh routes GET /rollout/v1/verdict to delta.airis.svc.cluster.local:4361, with no timeout shorter than "
     "the call's 30s -- not routed"),
    ("prod ClickHouse PDB", "istio/base/data/clickhouse.yaml", "  minAvailable: 2\n", "  minAvailable: 1\n",
     "[prod] PodDisruptionBudget clickhouse: {'minAvailable': 1}"),
    ("dev PDBs hold drains", "istio/overlays/dev/kustomization.yaml", "value: AlwaysAllow", "value: IfHealthyBudget",
     "[dev] PodDisruptionBudget clickhouse: {'maxUnavailable': 1, 'unhealthyPodEvictionPolicy': 'IfHealthyBudget'}"),
]


@pytest.mark.parametrize("what,file,old,new,expect", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_is_caught(tree: Path, what: str, file: str, old: str, new: str, expect: str) -> None:
    edit(tree / file, old, new)
    proc = run(tree)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"{what}: not caught\n{out[-3000:]}"
    assert expect in out, f"{what}: failed, but not with {expect!r}\n" + "\n".join(
        line for line in out.splitlines() if "FAIL" in line)[-3000:]
