#!/usr/bin/env python3
"""Offline checks of istio/ (run by scripts/check-istio.sh).

1. Renders every overlay with kustomize, and the rollout controllers'
   examples (istio/rollouts/flagger, istio/rollouts/argo).
2. Validates every rendered object: Kubernetes kinds against the strict
   schemas of kubernetes-validate, Istio kinds against istio.io/api's CRD
   schemas (structure, unknown fields, CEL rules); the EnvoyFilter patch
   with Envoy itself; the mesh config of istio/install/ with istio.io/api's
   MeshConfig message; Flagger's Canary and Argo Rollouts' AnalysisTemplate
   and Rollout against the CRDs those projects ship.
3. Checks the deployment against itself: the objects that must exist, the
   references between them (services, subsets, service accounts, config),
   images (ClickHouse 26.1 or later, the migration on the newest release),
   workload hygiene, the data tier (volume ownership, readiness and
   minReadySeconds, Keeper's startup budget, Redis's maxmemory, PDBs, an
   asynchronous, polled, never-overlapping backup), the ClickHouse user of
   each client and what that user may do, the workloads that must never
   run twice (one replica, Recreate, no autoscaler, no Service) with
   continuous anomaly detection on in exactly those, and who may talk to
   whom under the NetworkPolicies and under the AuthorizationPolicies,
   flow by flow, the rollout controllers (Flagger, Argo Rollouts) among
   them; and that the controllers' calls in istio/rollouts/ reach the
   delta service's rollout port, on a path and method its
   AuthorizationPolicy admits for that controller, with what the
   endpoint requires; and that the search service's calls for its caller
   (the query service, ListAnomalies, Compare) are admitted on exactly
   those paths and routed inside the mesh (the <service>-mesh
   VirtualServices) as the ingress routes them, every other caller inside
   the mesh the callee admits still routed.
4. Compares the policy numbers with mesh/ingress.yaml and mesh/chaos.env:
   route timeouts (none on every streaming RPC of proto/airis/), retries
   and per-try timeouts (none on the API routes),
   canary weights, pool limits, outlier detection (gateway errors only, as
   istiod translates it), mTLS peer identities, fault injection, the
   edge's token rules (where the token is read), revocation check, Login's
   rate limit, the ingress filter order (istiod's chain, ext_authz before
   jwt_authn, with the EnvoyFilter's patches applied), the listeners' path
   handling and header timeout, CORS origins, and what the edge does with
   each kind of request (method, path, gRPC or gRPC-Web or neither; what it
   answers without a token), every service of proto/airis/ among them: each
   is routed at both edges, behind a token.

Every comparison is printed; any failure makes the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import k8s_schemas  # noqa: E402

OVERLAYS = ["dev", "prod", "chaos"]
# The rollout controllers' examples, under istio/rollouts/: not part of any
# overlay (they configure an application, and need the controllers' CRDs).
ROLLOUTS = ["flagger", "argo"]
ISTIO_GROUPS = {"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"}
ROLLOUT_GROUPS = {"flagger.app", "argoproj.io"}
INGRESS_SA = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
GRPC_CODES = {
    "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12,
    "INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}


# ---------------------------------------------------------------------------
# reporting


class Report:
    def __init__(self, verbose: bool = False) -> None:
        self.passed = 0
        self.failed: list[str] = []
        self.verbose = verbose
        self.quiet = False
        self.quiet_ok = 0
        self.context = ""  # the overlay being checked, named in failures

    def section(self, title: str, quiet: bool = False) -> None:
        """Starts a section; in a quiet one only failures and a count are printed."""
        self.flush()
        print(f"\n== {title}", flush=True)
        self.quiet = quiet and not self.verbose
        self.quiet_ok = 0

    def flush(self) -> None:
        if self.quiet and self.quiet_ok:
            print(f"  ok    {self.quiet_ok} checks passed (--verbose lists each)")
        self.quiet_ok = 0

    def ok(self, msg: str) -> None:
        self.passed += 1
        if self.quiet:
            self.quiet_ok += 1
        else:
            print(f"  ok    {msg}")

    def fail(self, msg: str) -> None:
        if self.context:
            msg = f"[{self.context}] {msg}"
        self.failed.append(msg)
        print(f"  FAIL  {msg}", flush=True)

    def check(self, cond: bool, msg: str, why: str = "") -> bool:
        if cond:
            self.ok(msg)
        else:
            self.fail(msg + (f" -- {why}" if why else ""))
        return cond

    def same(self, what: str, mesh: Any, istio: Any, norm: Callable[[Any], Any] = lambda x: x,
             absent: str | None = None, why: str = "") -> bool:
        """One mesh-vs-istio comparison, printed either way. A value missing
        on either side fails, unless `absent` names what its absence means:
        then missing on both sides is equal (and printed as such)."""
        def shown(v: Any) -> str:
            return absent if v is None and absent is not None else show(v)

        if absent is not None and mesh is None and istio is None:
            equal = True
        else:
            try:
                equal = mesh is not None and istio is not None and norm(mesh) == norm(istio)
            except (TypeError, ValueError):
                equal = False
        if equal:
            self.ok(f"{what}: mesh {shown(mesh)} == istio {shown(istio)}")
        else:
            self.fail(f"{what}: mesh/ has {shown(mesh)} but istio/ has {shown(istio)}" + (f" -- {why}" if why else ""))
        return equal


def show(v: Any) -> str:
    if v is None:
        return "<missing>"
    if isinstance(v, (list, tuple, set, frozenset)):
        return "[" + ", ".join(str(x) for x in (sorted(v) if isinstance(v, (set, frozenset)) else v)) + "]"
    return str(v)


def seconds(v: Any) -> float:
    """Envoy/Istio durations ("30s", "2.5s", "100ms", "1m") as seconds."""
    if isinstance(v, (int, float)):
        return float(v)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)\s*", str(v))
    if not m:
        raise ValueError(f"not a duration: {v!r}")
    n, unit = float(m.group(1)), m.group(2)
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


# A route's timeout when it names none: Envoy's RouteAction default, 15 s;
# istiod gives a VirtualService route without one no timeout at all (0),
# and the CRD refuses an explicit 0s (at least 1ms), so "none" is said by
# leaving it out in istio/ and by timeout: 0s in mesh/.
ENVOY_ROUTE_TIMEOUT = "15s"
ISTIO_ROUTE_TIMEOUT = "0s"


def route_timeout(given: Any, default: str) -> str:
    """A route's timeout in force, as shown: "30s", "0s (none)", "15s (unset)"."""
    value = str(given) if given is not None else default
    notes = ([] if given is not None else ["unset"]) + (["none"] if seconds(value) == 0 else [])
    return value + (f" ({': '.join(notes)})" if notes else "")


def timeout_seconds(v: Any) -> float:
    return seconds(str(v).split()[0])


def token_set(v: Any) -> frozenset:
    return frozenset(t.strip() for t in str(v).split(",") if t.strip())


def dig(obj: Any, *path: Any, default: Any = None) -> Any:
    for p in path:
        if isinstance(obj, dict) and p in obj:
            obj = obj[p]
        elif isinstance(obj, list) and isinstance(p, int) and -len(obj) <= p < len(obj):
            obj = obj[p]
        else:
            return default
    return obj


# ---------------------------------------------------------------------------
# rendered objects


@dataclass
class Rendered:
    name: str
    objects: list[dict]

    def all(self, kind: str, namespace: str | None = None) -> list[dict]:
        return [o for o in self.objects if o.get("kind") == kind
                and (namespace is None or o["metadata"].get("namespace") == namespace)]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        for o in self.all(kind, namespace):
            if o["metadata"]["name"] == name:
                return o
        return None

    def configmap_file(self, prefix: str, namespace: str, key: str) -> str | None:
        for cm in self.all("ConfigMap", namespace):
            if re.fullmatch(re.escape(prefix) + r"(-[a-z0-9]{10})?", cm["metadata"]["name"]):
                return (cm.get("data") or {}).get(key)
        return None


def render(kustomize: str, istio_dir: Path, overlay: str, report: Report, under: str = "overlays") -> Rendered | None:
    path = istio_dir / under / overlay
    proc = subprocess.run([kustomize, "build", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        report.fail(f"kustomize build {path}: {proc.stderr.strip()}")
        return None
    objects = [d for d in yaml.safe_load_all(proc.stdout) if d]
    report.check(len(objects) > 0, f"kustomize build istio/{under}/{overlay}: {len(objects)} objects")
    return Rendered(overlay, objects)


# ---------------------------------------------------------------------------
# schema validation


def validate_schemas(r: Rendered, k8s: list[k8s_schemas.KubernetesSchemas],
                     crds: dict, istio_version: str, report: Report) -> None:
    n_k8s = n_istio = rules = skipped = 0
    before = len(report.failed)
    meta = k8s[-1].object_meta_validator()
    for obj in r.objects:
        api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        ident = f"{kind}/{obj.get('metadata', {}).get('namespace', '-')}/{obj.get('metadata', {}).get('name')}"
        group = api.split("/", 1)[0] if "/" in api else ""
        if group in ISTIO_GROUPS:
            version = api.split("/", 1)[1]
            cv = crds.get((group, version, kind))
            if cv is None:
                report.fail(f"{ident}: no CRD schema for {api} {kind} in istio.io/api {istio_version}")
                continue
            if not cv.served or cv.deprecated:
                report.fail(f"{ident}: {api} is {'deprecated' if cv.deprecated else 'not served'} in Istio {istio_version}")
            res = k8s_schemas.validate_crd_object(cv, obj, meta)
            rules += res.rules_evaluated
            skipped += res.rules_skipped
            for e in res.errors:
                report.fail(f"{ident} ({api}, Istio {istio_version} CRD): {e}")
            n_istio += 1
        else:
            for s in k8s:
                errs = s.errors(obj)
                if errs is None:
                    report.fail(f"{ident}: no schema for {api} {kind} in Kubernetes {s.version}")
                    continue
                for e in errs:
                    report.fail(f"{ident} (Kubernetes {s.version}): {e}")
            n_k8s += 1
    versions = " and ".join(s.version for s in k8s)
    if len(report.failed) == before:
        report.ok(f"{n_k8s} Kubernetes objects valid against Kubernetes {versions} (kubernetes-validate, strict: unknown fields rejected)")
        report.ok(f"{n_istio} Istio objects valid against istio.io/api {istio_version} CRD schemas "
                  f"(unknown fields rejected; {rules} CEL rules evaluated, {skipped} transition rules n/a)")


def validate_rollout_schemas(r: Rendered, crds: dict | None, version: str, k8s: list[k8s_schemas.KubernetesSchemas],
                             report: Report) -> None:
    """The rollout controllers' objects against the CRDs their projects ship."""
    if crds is None:
        report.fail("no Flagger / Argo Rollouts CRDs (--rollout-crds): run scripts/infra.sh install k8s")
        return
    before, n, rules = len(report.failed), 0, 0
    meta = k8s[-1].object_meta_validator()
    for obj in r.objects:
        api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        ident = f"{kind}/{obj.get('metadata', {}).get('namespace', '-')}/{obj.get('metadata', {}).get('name')}"
        group, _, ver = api.partition("/")
        if group not in ROLLOUT_GROUPS:
            report.fail(f"istio/rollouts/{r.name}: {ident} ({api}) is not a Flagger or Argo Rollouts object")
            continue
        cv = crds.get((group, ver, kind))
        if cv is None:
            report.fail(f"{ident}: no CRD schema for {api} {kind} in {version}")
            continue
        if not cv.served or cv.deprecated:
            report.fail(f"{ident}: {api} is {'deprecated' if cv.deprecated else 'not served'} in {version}")
        res = k8s_schemas.validate_crd_object(cv, obj, meta)
        rules += res.rules_evaluated
        for e in res.errors:
            report.fail(f"{ident} ({api}, {version} CRD): {e}")
        n += 1
    if len(report.failed) == before:
        kinds = ", ".join(sorted({o.get("kind", "?") for o in r.objects}))
        report.ok(f"istio/rollouts/{r.name}: {n} objects ({kinds}) valid against the {version} CRD schemas "
                  f"(unknown fields rejected; {rules} CEL rules evaluated)")


def rollout_crds_version(path: Path) -> str:
    """"Flagger v1.41.0, Argo Rollouts v1.10.1", from the file scripts/infra.sh names."""
    m = re.search(r"flagger-(v[\w.-]+?)-argo-rollouts-(v[\w.-]+?)\.yaml$", path.resolve().name)
    return f"Flagger {m.group(1)}, Argo Rollouts {m.group(2)}" if m else f"Flagger and Argo Rollouts ({path.name})"


def deep_merge(base: dict, patch: dict) -> dict:
    out = dict(base)
    for k, v in patch.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def validate_envoyfilters(r: Rendered, envoy: str | None, report: Report, seen: set) -> None:
    """Each EnvoyFilter's patches applied to a minimal HTTP connection manager,
    checked by `envoy --mode validate` (unknown fields and bad values fail
    there as they would on the gateway)."""
    for ef in r.all("EnvoyFilter"):
        key = json.dumps(ef["spec"], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        if not envoy:
            report.fail("envoy not found: run scripts/infra.sh install tools")
            return
        hcm: dict = {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "check",
            "route_config": {"name": "r", "virtual_hosts": [{
                "name": "v", "domains": ["*"],
                "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}]}]},
        }
        filters, applied = [], []
        for i, cp in enumerate(ef["spec"].get("configPatches", [])):
            op, value = dig(cp, "patch", "operation"), dig(cp, "patch", "value", default={})
            if cp.get("applyTo") == "HTTP_FILTER" and op in ("INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "ADD"):
                filters.append(value)
                applied.append(value.get("name"))
            elif cp.get("applyTo") == "NETWORK_FILTER" and op == "MERGE" and \
                    dig(cp, "match", "listener", "filterChain", "filter", "name") == "envoy.filters.network.http_connection_manager":
                hcm = deep_merge(hcm, value.get("typed_config", {}))
                applied.append("http_connection_manager settings")
            elif cp.get("applyTo") == "HTTP_ROUTE" and op == "MERGE":
                # merged into the one route, which stands for the route matched
                vh = hcm["route_config"]["virtual_hosts"][0]
                vh["routes"][0] = deep_merge(vh["routes"][0], value)
                applied.append(f"route {dig(cp, 'match', 'routeConfiguration', 'vhost', 'route', 'name')} settings")
            else:
                report.fail(f"EnvoyFilter {ef['metadata']['name']} patch {i}: {cp.get('applyTo')} {op} is not a kind of patch this check can validate")
        hcm["http_filters"] = filters + [{
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]
        bootstrap = {"static_resources": {"listeners": [{
            "name": "check",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}],
        }]}}
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump(bootstrap, f)
        proc = subprocess.run([envoy, "--mode", "validate", "-c", f.name, "--log-level", "error"],
                              capture_output=True, text=True)
        Path(f.name).unlink()
        report.check(proc.returncode == 0,
                     f"EnvoyFilter {ef['metadata']['name']}: {', '.join(map(str, applied))} accepted by `envoy --mode validate`",
                     (proc.stdout + proc.stderr).strip()[-800:])


def validate_meshconfig(checker: str | None, install_file: Path, report: Report) -> dict | None:
    if not checker:
        report.fail("meshconfig-check not found: run scripts/infra.sh install k8s")
        return None
    proc = subprocess.run([checker, str(install_file)], capture_output=True, text=True)
    if not report.check(proc.returncode == 0,
                        f"{install_file.name}: meshConfig decodes as istio.io/api MeshConfig (unknown fields rejected)",
                        proc.stderr.strip()):
        return None
    return json.loads(proc.stdout)


# What the Secrets hold, in the documented format (docs/kubernetes.md), for
# loading the configuration without them.
SECRET_SAMPLES = {
    "AIRIS_GATEWAY__USERS": '[{ tenant = "demo", username = "admin", role = "admin", password_hash = '
                            '"$argon2id$v=19$m=19456,t=2,p=1$g3pax/pzCSMLXKZ5U2M0fw$0CMXeK8IN4HdjMo1O1sZ7YpbOJQhg+XHZmKiH4uP70s" }]',
}


def validate_airis_config(airis: str, r: Rendered, report: Report) -> None:
    """The ConfigMap's airis.toml plus each container's AIRIS_* variables,
    loaded by the airis binary itself (unknown keys and bad values fail)."""
    toml_text = r.configmap_file("airis-config", "airis", "airis.toml")
    cfg_dict = tomllib.loads(toml_text or "")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "airis.toml"
        cfg.write_text(toml_text or "")
        for kind in ("Deployment", "Job"):
            for w in r.all(kind, "airis"):
                for c in w["spec"]["template"]["spec"]["containers"]:
                    env = {"PATH": "/usr/bin:/bin"}
                    for e in c.get("env", []):
                        if not e["name"].startswith("AIRIS_") or e["name"] == "AIRIS_CONFIG":
                            continue
                        env[e["name"]] = e["value"] if "value" in e else SECRET_SAMPLES.get(e["name"], "p-secret-sample")
                    proc = subprocess.run([airis, "--config", str(cfg), "config"], env=env,
                                          capture_output=True, text=True)
                    if not report.check(proc.returncode == 0,
                                        f"{kind} {w['metadata']['name']}: `airis config` accepts airis.toml and its AIRIS_* environment",
                                        (proc.stderr or proc.stdout).strip()[-600:]):
                        continue
                    if c.get("args") == ["serve", "aiops"]:
                        # check_singletons resolves the key itself; the binary must agree
                        want = setting(cfg_dict, container_env(c), AIOPS_WATCH_KEY, AIOPS_WATCH_DEFAULT)
                        m = re.search(r"\bwatch: WatchConfig \{\s*enabled: (true|false)\b", proc.stdout)
                        got = m and m.group(1) == "true"
                        report.check(m is not None and got == want,
                                     f"{kind} {w['metadata']['name']}: `airis config` resolves {AIOPS_WATCH_KEY} to "
                                     f"{m.group(1) if m else '<not found>'}, as this check does ({str(want).lower()})",
                                     "the check's default (AIOPS_WATCH_DEFAULT) or reading of the environment is wrong"
                                     if m else "no `watch: WatchConfig { enabled: ... }` in the output of `airis config`")


# ---------------------------------------------------------------------------
# the deployment against itself


@dataclass
class Workload:
    kind: str
    name: str
    namespace: str
    labels: dict
    sa: str
    ports: dict[str, int]  # container port name -> number
    pod: dict

    @property
    def principal(self) -> str:
        return f"cluster.local/ns/{self.namespace}/sa/{self.sa}"


def pod_template(obj: dict) -> dict | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
        return obj["spec"]["template"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return None


def workloads(r: Rendered) -> list[Workload]:
    out = []
    for obj in r.objects:
        t = pod_template(obj)
        if t is None:
            continue
        ports = {}
        for c in t["spec"]["containers"]:
            for p in c.get("ports", []):
                ports[p.get("name", str(p["containerPort"]))] = p["containerPort"]
        out.append(Workload(obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"],
                            t["metadata"].get("labels", {}), t["spec"].get("serviceAccountName", "default"),
                            ports, t))
    return out


INGRESS = Workload("Deployment", "istio-ingressgateway", "istio-system",
                   {"istio": "ingressgateway", "app": "istio-ingressgateway"},
                   "istio-ingressgateway-service-account", {}, {})
# The rollout controllers, as their own installs deploy them: Flagger in
# istio-system (its Helm chart labels the pods app.kubernetes.io/name, its
# kustomization app), Argo Rollouts in argo-rollouts. They call the delta
# service's rollout endpoints (istio/rollouts/, docs/canary.md).
FLAGGER = Workload("Deployment", "flagger", "istio-system", {"app.kubernetes.io/name": "flagger"}, "flagger", {}, {})
FLAGGER_KUSTOMIZE = Workload("Deployment", "flagger (kustomization)", "istio-system", {"app": "flagger"}, "flagger", {}, {})
ARGO_ROLLOUTS = Workload("Deployment", "argo-rollouts", "argo-rollouts", {"app.kubernetes.io/name": "argo-rollouts"},
                         "argo-rollouts", {}, {})
ROLLOUT_CONTROLLERS = [FLAGGER, FLAGGER_KUSTOMIZE, ARGO_ROLLOUTS]
# What each controller asks of the delta service, on its Service's port
# DELTA_ROLLOUT_PORT_NAME (DELTA_ROLLOUT_PORT, delta.http_listen): by the
# kind of the example that configures it, the controller, and the method
# and path it calls. The parameters go in Flagger's webhook metadata and
# in Argo's query string.
DELTA_HOST = "delta.airis.svc.cluster.local"
DELTA_ROLLOUT_PORT, DELTA_ROLLOUT_PORT_NAME = 4361, "http-rollout"
ROLLOUT_CALLS = {
    "Canary": (FLAGGER, "POST", "/rollout/v1/flagger"),
    "AnalysisTemplate": (ARGO_ROLLOUTS, "GET", "/rollout/v1/verdict"),
}
ROLLOUT_REQUIRED = ("tenant", "service", "baseline", "candidate")
# How long each controller waits for an answer when its example names no
# timeout: Flagger's webhook timeout and Argo Rollouts' web metric
# timeoutSeconds both default to 10 s.
ROLLOUT_CALL_TIMEOUT_DEFAULT = 10.0
# Every parameter the endpoints take (services/delta/src/rollout.rs); any
# other is refused (400), as is a window that is not a Go duration.
ROLLOUT_PARAMETERS = ROLLOUT_REQUIRED + ("attribute", "window", "alpha", "latency_increase", "error_rate_increase",
                                         "min_samples", "signals", "operations")
GO_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ms|s|m|h))+")
# Flagger's webhook types that gate the canary on the answer (the others
# are told of events and answer nothing that counts).
FLAGGER_GATING_HOOKS = {"pre-rollout", "rollout", "confirm-promotion"}


def selects(selector: dict | None, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels / matchExpressions) against labels."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


# The policy says who runs what; these are checked against the manifests.
EXPECTED_WORKLOADS = {
    # name: (kind, namespace, role args, service account)
    "gateway": ("Deployment", "airis", ["serve", "gateway"], "gateway"),
    "receiver": ("Deployment", "airis", ["serve", "receiver"], "receiver"),
    "loader": ("Deployment", "airis", ["serve", "loader"], "loader"),
    "analytics-v1": ("Deployment", "airis", ["serve", "analytics"], "analytics"),
    "analytics-v2": ("Deployment", "airis", ["serve", "analytics"], "analytics"),
    "aiops": ("Deployment", "airis", ["serve", "aiops"], "aiops"),
    "aiops-watch": ("Deployment", "airis", ["serve", "aiops"], "aiops-watch"),
    "delta": ("Deployment", "airis", ["serve", "delta"], "delta"),
    "search": ("Deployment", "airis", ["serve", "search"], "search"),
    "ui": ("Deployment", "airis", ["serve", "ui"], "ui"),
    "airis-migrate": ("Job", "airis", ["migrate"], "migrate"),
    "clickhouse": ("StatefulSet", "airis-data", None, "clickhouse"),
    "clickhouse-keeper": ("StatefulSet", "airis-data", None, "clickhouse-keeper"),
    "kafka": ("StatefulSet", "airis-data", None, "kafka"),
    "redis": ("StatefulSet", "airis-data", None, "redis"),
    "clickhouse-backup": ("CronJob", "airis-data", None, "clickhouse-backup"),
}
# HPA name -> (target, min replicas per overlay, max). Gateway 2-10,
# ingestion (receiver) 1-5, UI 2-8; dev has floors of 1, and prod keeps two
# receivers at least (one pod's loss must not stop ingest).
EXPECTED_HPAS = {
    "gateway": ("gateway", {"dev": 1, "prod": 2, "chaos": 2}, 10),
    "receiver": ("receiver", {"dev": 1, "prod": 2, "chaos": 2}, 5),
    "ui": ("ui", {"dev": 1, "prod": 2, "chaos": 2}, 8),
}
EXPECTED_REPLICAS = {
    "loader": {"dev": 1, "prod": 3, "chaos": 3},
    "analytics-v1": {"dev": 1, "prod": 2, "chaos": 2},
    "analytics-v2": {"dev": 1, "prod": 2, "chaos": 2},
    "aiops": {"dev": 1, "prod": 2, "chaos": 2},
    "aiops-watch": {"dev": 1, "prod": 1, "chaos": 1},
    "delta": {"dev": 1, "prod": 2, "chaos": 2},
    "search": {"dev": 1, "prod": 2, "chaos": 2},
    "clickhouse": {"dev": 3, "prod": 3, "chaos": 3},
    "clickhouse-keeper": {"dev": 3, "prod": 3, "chaos": 3},
    "kafka": {"dev": 3, "prod": 3, "chaos": 3},
    "redis": {"dev": 1, "prod": 1, "chaos": 1},
}
# The data tier's PDBs: two of three members up in prod; in dev (node-local
# volumes) one member at a time, and unready members always evictable.
_PDB_DATA = {"dev": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow"},
             "prod": {"minAvailable": 2}, "chaos": {"minAvailable": 2}}
EXPECTED_PDBS = {"clickhouse": _PDB_DATA, "clickhouse-keeper": _PDB_DATA, "kafka": _PDB_DATA}
PDB_FIELDS = ("minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy")
EXPECTED_STORAGE = {"clickhouse": "fast-ssd", "kafka": "fast-ssd", "redis": "standard-ssd", "clickhouse-keeper": "standard-ssd"}

# Deployments that must never run twice, not even during a rollout (two
# would do the same work and write the same rows): one replica, no
# autoscaler, strategy Recreate, and no Service in front (nothing calls
# them). Name -> what it does.
SINGLETONS = {"aiops-watch": "continuous anomaly detection"}
# Continuous anomaly detection (aiops.watch.enabled, on unless configured
# off) runs in these Deployments of `airis serve aiops` only; the others
# (the API replicas) serve what it stores.
AIOPS_WATCHERS = {"aiops-watch"}
AIOPS_WATCH_KEY, AIOPS_WATCH_DEFAULT = "aiops.watch.enabled", True

# Who signs in to ClickHouse (HTTP) as which user, with the password from
# which key of the Secret airis-clickhouse, and what that user may do:
# "read" (profile readonly = 2: reads only, per-query limits allowed),
# "write" (INSERT, not read-only), "write:TABLE,..." (reads, and INSERT
# on those tables and their cluster-mode local tables, nothing else) or
# "admin" (ALL, for the DDL).
CLICKHOUSE_SECRET = "airis-clickhouse"
CLICKHOUSE_CLIENTS = {
    "loader": ("airis_writer", "writer-password", "write"),
    "analytics-v1": ("airis_reader", "reader-password", "read"),
    "analytics-v2": ("airis_reader", "reader-password", "read"),
    "aiops": ("airis_aiops", "aiops-password", "write:aiops_alert_rules,aiops_silences,aiops_notification_policies"),
    "aiops-watch": ("airis_writer", "writer-password", "write"),
    "delta": ("airis_reader", "reader-password", "read"),
    "search": ("airis_reader", "reader-password", "read"),
    "airis-migrate": ("airis_admin", "admin-password", "admin"),
}

# Who may talk to whom (source workload -> destination workload: ports).
# Everything else between these workloads must be refused, by the
# NetworkPolicies and by the AuthorizationPolicies alike.
ALLOWED_FLOWS = {
    ("istio-ingressgateway", "gateway"): {4330, 4331},
    ("istio-ingressgateway", "receiver"): {4317},
    ("istio-ingressgateway", "analytics-v1"): {4320},
    ("istio-ingressgateway", "analytics-v2"): {4320},
    ("istio-ingressgateway", "aiops"): {4350},
    ("istio-ingressgateway", "delta"): {4360},
    ("flagger", "delta"): {4361},
    ("flagger (kustomization)", "delta"): {4361},
    ("argo-rollouts", "delta"): {4361},
    ("istio-ingressgateway", "search"): {4370},
    # Ask: search queries analytics, lists aiops's anomalies (the API
    # replicas', not the watcher's) and has delta compare (gRPC, not the
    # rollout controllers' HTTP side), for its caller.
    ("search", "analytics-v1"): {4320},
    ("search", "analytics-v2"): {4320},
    ("search", "aiops"): {4350},
    ("search", "delta"): {4360},
    ("istio-ingressgateway", "ui"): {4340},
    ("receiver", "kafka"): {9092},
    ("loader", "kafka"): {9092},
    ("loader", "clickhouse"): {8123},
    ("analytics-v1", "clickhouse"): {8123},
    ("analytics-v2", "clickhouse"): {8123},
    ("aiops", "clickhouse"): {8123},
    ("aiops-watch", "clickhouse"): {8123},
    ("delta", "clickhouse"): {8123},
    ("search", "clickhouse"): {8123},
    ("analytics-v1", "redis"): {6379},
    ("analytics-v2", "redis"): {6379},
    ("gateway", "redis"): {6379},
    ("airis-migrate", "clickhouse"): {8123},
    ("airis-migrate", "kafka"): {9092},
    ("kafka", "kafka"): {9092, 9093},
    ("clickhouse", "clickhouse"): {9000, 9009},
    ("clickhouse", "clickhouse-keeper"): {9181},
    ("clickhouse-keeper", "clickhouse-keeper"): {9234},
    ("clickhouse-backup", "clickhouse"): {9000},
}


def check_objects(r: Rendered, report: Report) -> None:
    """Everything the design names is there, and refers to what exists."""
    ws = {w.name: w for w in workloads(r)}
    missing = []
    for name, (kind, ns, args, sa) in EXPECTED_WORKLOADS.items():
        w = ws.get(name)
        if w is None or w.kind != kind or w.namespace != ns:
            missing.append(f"{kind} {ns}/{name}")
            continue
        if sa != w.sa:
            report.fail(f"{kind} {name}: service account {w.sa}, expected {sa}")
        if r.get("ServiceAccount", w.sa, ns) is None:
            report.fail(f"{kind} {name}: service account {ns}/{w.sa} does not exist")
        if args is not None:
            c = w.pod["spec"]["containers"][0]
            image = c.get("image", "")
            if not AIRIS_IMAGE.fullmatch(image):
                report.fail(f"{kind} {name}: image {image!r} is not [<registry>/]airis-mon/airis:<tag> "
                            "(airis-stable, airis-canary and airis-migrate are mapped in the overlay's images:)")
            if c.get("command") != ["airis"] or c.get("args") != args:
                report.fail(f"{kind} {name}: runs {c.get('command')} {c.get('args')}, expected airis {' '.join(args)}")
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            if env.get("AIRIS_CONFIG") != "/etc/airis/airis.toml":
                report.fail(f"{kind} {name}: AIRIS_CONFIG is {env.get('AIRIS_CONFIG')!r}")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            vols = {v["name"]: v for v in w.pod["spec"].get("volumes", [])}
            cm = dig(vols.get(mounts.get("/etc/airis"), {}), "configMap", "name", default="")
            if not cm.startswith("airis-config"):
                report.fail(f"{kind} {name}: /etc/airis is not the airis-config ConfigMap")
        for label in ("app", "version"):
            if label not in w.labels:
                report.fail(f"{kind} {name}: pod template has no {label!r} label")
    report.check(not missing, f"all {len(EXPECTED_WORKLOADS)} workloads present with their service accounts, image and command",
                 "missing: " + ", ".join(missing))

    # The migration runs the newest release the overlay deploys: during a
    # canary the candidate's, whose migrations the candidate needs.
    job = ws.get("airis-migrate")
    releases = {w.name: w.pod["spec"]["containers"][0].get("image", "") for w in ws.values()
                if w.kind == "Deployment" and w.namespace == "airis"}
    if job is not None and releases:
        mimage = job.pod["spec"]["containers"][0].get("image", "")
        newest = max(releases.values(), key=release_key)
        report.check(release_key(mimage) >= release_key(newest),
                     f"Job airis-migrate runs {mimage}, the newest release deployed ({newest})",
                     "airis-migrate must be mapped to the newest of airis-stable and airis-canary")

    for name, want in EXPECTED_REPLICAS.items():
        obj = r.get("Deployment", name) or r.get("StatefulSet", name)
        got = dig(obj, "spec", "replicas")
        report.check(got == want[r.name], f"{name}: {got} replicas", f"expected {want[r.name]}")
    for name, (target, mins, maxr) in EXPECTED_HPAS.items():
        h = r.get("HorizontalPodAutoscaler", name, "airis")
        if not report.check(h is not None, f"HorizontalPodAutoscaler {name} exists"):
            continue
        ref = h["spec"]["scaleTargetRef"]
        report.check(ref.get("kind") == "Deployment" and r.get("Deployment", ref.get("name"), "airis") is not None
                     and ref.get("name") == target, f"HPA {name} scales Deployment {ref.get('name')}")
        lo, hi = h["spec"].get("minReplicas"), h["spec"]["maxReplicas"]
        report.check((lo, hi) == (mins[r.name], maxr), f"HPA {name}: {lo}-{hi} replicas", f"expected {mins[r.name]}-{maxr}")
        d = r.get("Deployment", target, "airis")
        if d is not None and "replicas" in d["spec"]:
            report.fail(f"Deployment {target}: sets spec.replicas although HPA {name} owns it")
    for name, per_overlay in EXPECTED_PDBS.items():
        p = r.get("PodDisruptionBudget", name, "airis-data")
        want = per_overlay[r.name]
        got = {k: dig(p, "spec", k) for k in PDB_FIELDS if dig(p, "spec", k) is not None}
        ok = p is not None and got == want and any(selects(p["spec"]["selector"], w.labels)
                                                   for w in ws.values() if w.name == name)
        report.check(ok, f"PodDisruptionBudget {name}: {got}, selects its pods", f"expected {want}")
    for pdb in r.all("PodDisruptionBudget"):
        if not any(selects(pdb["spec"]["selector"], w.labels) for w in ws.values()
                   if w.namespace == pdb["metadata"]["namespace"]):
            report.fail(f"PodDisruptionBudget {pdb['metadata']['name']} selects no pods")

    classes = {sc["metadata"]["name"] for sc in r.all("StorageClass")}
    for name, sc in EXPECTED_STORAGE.items():
        sts = r.get("StatefulSet", name, "airis-data")
        vcts = dig(sts, "spec", "volumeClaimTemplates", default=[]) or []
        got = [v["spec"].get("storageClassName") for v in vcts]
        report.check(got == [sc] and sc in classes, f"StatefulSet {name}: volumeClaimTemplates on StorageClass {got}",
                     f"expected [{sc}], defined: {sorted(classes)}")
        svc = r.get("Service", dig(sts, "spec", "serviceName", default=""), "airis-data")
        report.check(svc is not None and svc["spec"].get("clusterIP") == "None",
                     f"StatefulSet {name}: serviceName {dig(sts, 'spec', 'serviceName')} is a headless Service")

    ns = {n["metadata"]["name"]: n for n in r.all("Namespace")}
    for name in ("airis", "airis-data"):
        report.check(dig(ns.get(name), "metadata", "labels", "istio-injection") == "enabled",
                     f"Namespace {name} exists with istio-injection=enabled")

    # Services: named ports with protocol prefixes, selectors that select,
    # target ports that exist.
    bad = []
    for svc in r.all("Service"):
        sel = svc["spec"].get("selector") or {}
        targets = [w for w in ws.values() if w.namespace == svc["metadata"]["namespace"]
                   and all(w.labels.get(k) == v for k, v in sel.items())]
        if not sel or not targets:
            bad.append(f"Service {svc['metadata']['name']}: selector {sel} selects no pods")
        for p in svc["spec"]["ports"]:
            if not re.match(r"^(grpc|grpc-web|http|http2|https|tcp|tls|mongo|mysql|redis)(-|$)", p.get("name", "")):
                bad.append(f"Service {svc['metadata']['name']} port {p.get('port')}: name {p.get('name')!r} has no protocol prefix")
            if not p.get("appProtocol"):
                bad.append(f"Service {svc['metadata']['name']} port {p.get('port')}: no appProtocol")
            tp = p.get("targetPort", p["port"])
            for w in targets:
                if isinstance(tp, str) and tp not in w.ports:
                    bad.append(f"Service {svc['metadata']['name']}: targetPort {tp} is not a port of {w.name}")
                if isinstance(tp, int) and tp not in w.ports.values():
                    bad.append(f"Service {svc['metadata']['name']}: targetPort {tp} is not a port of {w.name}")
    for b in bad:
        report.fail(b)
    if not bad:
        report.ok(f"{len(r.all('Service'))} Services: protocol-prefixed port names, appProtocol, selectors and target ports resolve")


def check_pods(r: Rendered, report: Report) -> None:
    """Non-root, read-only, no capabilities, seccomp, resources, probes."""
    bad = []
    for w in workloads(r):
        spec = w.pod["spec"]
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
            bad.append(f"{w.name}: pod securityContext must set runAsNonRoot and a non-zero runAsUser")
        if dig(psc, "seccompProfile", "type") != "RuntimeDefault":
            bad.append(f"{w.name}: seccompProfile is not RuntimeDefault")
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                bad.append(f"{w.name}/{c['name']}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                bad.append(f"{w.name}/{c['name']}: allowPrivilegeEscalation is not false")
            if dig(sc, "capabilities", "drop") != ["ALL"] or dig(sc, "capabilities", "add"):
                bad.append(f"{w.name}/{c['name']}: capabilities must drop ALL and add none")
            res = c.get("resources", {})
            for k in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(res.get(k, {})):
                    bad.append(f"{w.name}/{c['name']}: resources.{k} needs cpu and memory")
            if w.kind in ("Deployment", "StatefulSet") and w.name != "loader":
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in c:
                        bad.append(f"{w.name}/{c['name']}: no {probe}")
            if w.kind == "Deployment":
                # every gRPC port serves grpc.health.v1; the probes ask it
                grpc_ports = [p["containerPort"] for p in c.get("ports", []) if p.get("name", "").startswith("grpc-")]
                for probe in ("readinessProbe", "livenessProbe"):
                    if grpc_ports and dig(c, probe, "grpc", "port") not in grpc_ports:
                        bad.append(f"{w.name}: {probe} is not a grpc probe on its gRPC port {grpc_ports}")
            if w.name == "ui" and dig(c, "readinessProbe", "httpGet", "path") != "/healthz":
                bad.append("ui: readiness probe is not httpGet /healthz")
        if w.name == "loader" and any("readinessProbe" in c or "livenessProbe" in c for c in spec["containers"]):
            bad.append("loader: has a probe, but it has no listener to probe")
        if w.kind in ("Job", "CronJob") and w.pod["metadata"].get("annotations", {}).get("sidecar.istio.io/nativeSidecar") != "true":
            bad.append(f"{w.name}: a Job's sidecar must be a native sidecar, or the Job never completes")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if w.namespace == "airis" and w.kind == "Deployment" and grace < 25:
            bad.append(f"{w.name}: terminationGracePeriodSeconds {grace} is below drain delay + timeout")
    for b in bad:
        report.fail(b)
    if not bad:
        report.ok(f"{len(workloads(r))} pod templates: non-root, read-only root, no capabilities, seccomp RuntimeDefault, "
                  "requests and limits, probes (grpc on gRPC ports; ui httpGet /healthz; loader none: no listener)")


AIRIS_IMAGE = re.compile(r"([a-z0-9.-]+(:[0-9]+)?/)?airis-mon/airis:[A-Za-z0-9._-]+")
# ClickHouse 26.1 or later: migration 4 (services/store/src/schema.rs,
# docs/schema.md) adds a projection WITH SETTINGS, which older servers refuse.
CLICKHOUSE_MIN = (26, 1)


def release_key(image: str) -> tuple:
    """An image's tag as a comparable version: 0.10.0 > 0.9.1; a tag that is
    not a version sorts below every version."""
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    m = re.fullmatch(r"v?(\d+(?:\.\d+)*)", tag)
    return (1, tuple(int(x) for x in m.group(1).split("."))) if m else (0, (), tag)


def image_tag(image: str) -> str | None:
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1].split("@", 1)[0] if ":" in last else None


def redis_bytes(v: str) -> int:
    """A Redis memory size (1k = 1000, 1kb = 1024, ... as redis.conf has it)."""
    m = re.fullmatch(r"(\d+)(b|k|kb|m|mb|g|gb)?", str(v).strip().lower())
    if not m:
        raise ValueError(f"not a Redis memory size: {v!r}")
    mult = {None: 1, "b": 1, "k": 1000, "kb": 1024, "m": 10**6, "mb": 1024**2, "g": 10**9, "gb": 1024**3}[m.group(2)]
    return int(m.group(1)) * mult


def k8s_bytes(v: Any) -> int:
    """A Kubernetes memory quantity (512Mi, 1Gi, 1G, 1000)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(v).strip())
    if not m:
        raise ValueError(f"not a memory quantity: {v!r}")
    mult = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
            "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[m.group(2)]
    return int(float(m.group(1)) * mult)


def probe_budget(probe: dict | None) -> float:
    """Seconds a probe gives a container before it counts as failed."""
    if not probe:
        return 0
    return probe.get("initialDelaySeconds", 0) + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)


def check_data_tier(r: Rendered, report: Report) -> None:
    """Versions, volumes, readiness and the backup of the stores."""
    ws = {w.name: w for w in workloads(r)}
    # ClickHouse release: the schema needs 26.1 or later
    images = sorted({c.get("image", "") for w in ws.values() for c in w.pod["spec"]["containers"]
                     if c.get("image", "").startswith(("clickhouse/clickhouse-server", "clickhouse/clickhouse-keeper"))})
    report.check(bool(images), "ClickHouse images present")
    for image in images:
        tag = image_tag(image) or ""
        m = re.match(r"(\d+)\.(\d+)", tag)
        report.check(m is not None and (int(m.group(1)), int(m.group(2))) >= CLICKHOUSE_MIN,
                     f"{image}: ClickHouse {'.'.join(map(str, CLICKHOUSE_MIN))} or later "
                     "(migration 4: ADD PROJECTION ... WITH SETTINGS)",
                     f"tag {tag or '<none>'} is not a release of {'.'.join(map(str, CLICKHOUSE_MIN))} or later")
    stss = {s["metadata"]["name"]: s for s in r.all("StatefulSet", "airis-data")}
    # volumes: ownership fixed once, not re-walked over every file at each start
    for name, sts in sorted(stss.items()):
        psc = dig(sts, "spec", "template", "spec", "securityContext", default={}) or {}
        if psc.get("fsGroup") is not None and dig(sts, "spec", "volumeClaimTemplates"):
            report.check(psc.get("fsGroupChangePolicy") == "OnRootMismatch",
                         f"StatefulSet {name}: fsGroupChangePolicy {psc.get('fsGroupChangePolicy')} with fsGroup {psc['fsGroup']}",
                         "expected OnRootMismatch")
    # rolling updates wait for a restarted member to stay ready a while
    for name in ("clickhouse", "kafka"):
        got = dig(stss.get(name), "spec", "minReadySeconds", default=0)
        report.check(got >= 60, f"StatefulSet {name}: minReadySeconds {got}", "expected 60 or more")
    ch = dig(stss.get("clickhouse"), "spec", "template", "spec", "containers", 0, default={}) or {}
    rp = dig(ch, "readinessProbe", "httpGet", default={}) or {}
    port = rp.get("port")
    report.check(rp.get("path") == "/replicas_status" and (port == 8123 or ws["clickhouse"].ports.get(port) == 8123),
                 f"ClickHouse readiness: httpGet {rp.get('path')} on {port} (ready when caught up with the other replicas)",
                 "expected /replicas_status on the HTTP port 8123")
    keeper = dig(stss.get("clickhouse-keeper"), "spec", "template", "spec", "containers", 0, default={}) or {}
    budget = probe_budget(keeper.get("startupProbe"))
    report.check(budget >= 300, f"Keeper startupProbe: {budget:g} s before liveness applies (snapshot and log replay)",
                 "expected a startupProbe of 300 s or more")
    # Redis: maxmemory about 60 % of the limit, room for the AOF rewrite's fork
    redis = dig(stss.get("redis"), "spec", "template", "spec", "containers", 0, default={}) or {}
    args = redis.get("args", [])
    maxmem = args[args.index("--maxmemory") + 1] if "--maxmemory" in args[:-1] else None
    limit = dig(redis, "resources", "limits", "memory")
    share = redis_bytes(maxmem) / k8s_bytes(limit) if maxmem and limit else None
    report.check(share is not None and 0.4 <= share <= 0.65,
                 f"Redis maxmemory {maxmem} of a {limit} limit ({share or 0:.0%}; the AOF rewrite forks)",
                 "expected about 60 % (40-65 %)")
    # the backup: asynchronous, polled, never two at once
    cj = r.get("CronJob", "clickhouse-backup", "airis-data")
    if report.check(cj is not None, "CronJob clickhouse-backup exists"):
        report.check(cj["spec"].get("concurrencyPolicy") == "Forbid", f"backup: concurrencyPolicy {cj['spec'].get('concurrencyPolicy')}",
                     "expected Forbid")
        bl = dig(cj, "spec", "jobTemplate", "spec", "backoffLimit", default=6)
        report.check(bl == 0, f"backup: backoffLimit {bl} (a retry would start a second backup)", "expected 0")
        script = " ".join(dig(cj, "spec", "jobTemplate", "spec", "template", "spec", "containers", 0, "command", default=[]) or [])
        report.check(re.search(r"BACKUP\b[^\n]*\bTO S3\([^\n]*\)\s*ASYNC\b", script) is not None
                     and "system.backups" in script and "BACKUP_CREATED" in script and "BACKUP_FAILED" in script,
                     "backup: BACKUP ... TO S3(...) ASYNC, then system.backups polled until BACKUP_CREATED or BACKUP_FAILED",
                     "a synchronous BACKUP outlasts clickhouse-client's receive_timeout (300 s)")
    server_xml = r.configmap_file("clickhouse-config", "airis-data", "server.xml")
    if server_xml:
        v = ET.fromstring(server_xml).findtext("backups/allow_concurrent_backups")
        report.check(v == "false", f"ClickHouse backups.allow_concurrent_backups {v} (one backup at a time on the cluster)",
                     "expected false")


def check_config(r: Rendered, report: Report) -> None:
    """The services' TOML against the data tier's own configuration."""
    text = r.configmap_file("airis-config", "airis", "airis.toml")
    if not report.check(text is not None, "ConfigMap airis-config has airis.toml"):
        return
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        report.fail(f"airis.toml: {e}")
        return
    for key in ("ingestion.receiver.listen", "analytics.listen", "aiops.listen", "delta.listen", "delta.http_listen",
                "search.listen", "gateway.listen", "gateway.http_listen", "ui.listen"):
        v = dig(cfg, *key.split("."))
        report.check(isinstance(v, str) and v.startswith("0.0.0.0:"), f"airis.toml {key} = {v!r} (all addresses: Istio forwards to the pod IP)")
    report.check(dig(cfg, "auth", "tenant_header") == "x-airis-tenant" and dig(cfg, "auth", "role_header") == "x-airis-role",
                 f"airis.toml auth.tenant_header / role_header = {dig(cfg, 'auth', 'tenant_header')!r} / {dig(cfg, 'auth', 'role_header')!r}")
    # the ports the services listen on are the ports their Deployments expose
    ports = {"ingestion.receiver.listen": "receiver", "analytics.listen": "analytics-v1", "aiops.listen": "aiops",
             "delta.listen": "delta", "delta.http_listen": "delta", "search.listen": "search",
             "gateway.listen": "gateway",
             "gateway.http_listen": "gateway", "ui.listen": "ui"}
    ws = {w.name: w for w in workloads(r)}
    for key, wname in ports.items():
        v = dig(cfg, *key.split("."), default="")
        port = int(v.rsplit(":", 1)[1]) if ":" in v else None
        report.check(wname in ws and port in ws[wname].ports.values(), f"{key} port {port} is a container port of {wname}")

    server_xml = r.configmap_file("clickhouse-config", "airis-data", "server.xml")
    cluster = dig(cfg, "ingestion", "schema", "cluster")
    ch = r.get("StatefulSet", "clickhouse", "airis-data")
    keeper = r.get("StatefulSet", "clickhouse-keeper", "airis-data")
    if report.check(server_xml is not None, "ConfigMap clickhouse-config has server.xml"):
        root = ET.fromstring(server_xml)
        clusters = [c.tag for c in root.find("remote_servers") or []]
        report.check(cluster is not None and clusters == [cluster],
                     f"ingestion.schema.cluster {cluster!r} == ClickHouse remote_servers {clusters}")
        replicas = [(h.findtext("host"), h.findtext("port")) for h in root.iterfind("remote_servers/*/shard/replica")]
        want = [(f"clickhouse-{i}.{ch['spec']['serviceName']}.airis-data.svc.cluster.local", "9000")
                for i in range(dig(ch, "spec", "replicas", default=0))] if ch else []
        report.check(replicas == want, f"remote_servers: one shard of {len(replicas)} replicas = the StatefulSet's pods")
        macros = root.find("macros")
        report.check(macros is not None and macros.find("shard") is not None and macros.find("replica") is not None
                     and macros.find("replica").get("from_env") == "POD_NAME",
                     "macros {shard} and {replica} (per pod, from POD_NAME)")
        nodes = [n.findtext("host") for n in root.iterfind("zookeeper/node")]
        wantk = [f"clickhouse-keeper-{i}.{keeper['spec']['serviceName']}.airis-data.svc.cluster.local"
                 for i in range(dig(keeper, "spec", "replicas", default=0))] if keeper else []
        report.check(nodes == wantk, f"ClickHouse uses the {len(nodes)} Keeper pods")
    users_xml = r.configmap_file("clickhouse-config", "airis-data", "users.xml")
    if users_xml:
        check_clickhouse_users(r, ET.fromstring(users_xml), report)
    # ClickHouse does not start when a from_env variable is unset.
    if ch:
        have = {e["name"] for c in ch["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
        for name, text in (("server.xml", server_xml), ("users.xml", users_xml)):
            wanted = {el.get("from_env") for el in ET.fromstring(text).iter() if el.get("from_env")} if text else set()
            report.check(wanted <= have, f"ClickHouse {name}: every from_env variable is set ({', '.join(sorted(wanted))})",
                         f"unset: {sorted(wanted - have)}")
    keeper_xml = r.configmap_file("clickhouse-keeper-config", "airis-data", "keeper.xml")
    if keeper_xml and keeper:
        servers = [s.findtext("hostname") for s in ET.fromstring(keeper_xml).iterfind("keeper_server/raft_configuration/server")]
        report.check(servers == wantk, f"Keeper raft configuration: {len(servers)} members = the StatefulSet's pods")
    props = r.configmap_file("kafka-config", "airis-data", "server.properties") or ""
    kafka = r.get("StatefulSet", "kafka", "airis-data")
    voters = dict(line.split("=", 1) for line in props.splitlines() if "=" in line and not line.startswith("#"))
    n = dig(kafka, "spec", "replicas", default=0)
    want_voters = ",".join(f"{i}@kafka-{i}.{kafka['spec']['serviceName']}.airis-data.svc.cluster.local:9093" for i in range(n)) if kafka else ""
    report.check(voters.get("controller.quorum.voters") == want_voters and "zookeeper.connect" not in voters
                 and voters.get("process.roles") == "broker,controller",
                 f"Kafka: KRaft, {n} combined broker/controller nodes, quorum voters = the StatefulSet's pods")
    brokers = dig(cfg, "kafka", "brokers", default="").split(",")
    report.check(brokers == [f"kafka-{i}.{kafka['spec']['serviceName']}.airis-data.svc.cluster.local:9092" for i in range(n)] if kafka else False,
                 f"kafka.brokers lists the {len(brokers)} brokers")
    report.check(dig(cfg, "kafka", "replication") == n and int(voters.get("min.insync.replicas", 0)) < n,
                 f"kafka.replication {dig(cfg, 'kafka', 'replication')} with min.insync.replicas {voters.get('min.insync.replicas')} on {n} brokers")
    loaders = dig(r.get("Deployment", "loader", "airis"), "spec", "replicas", default=0)
    report.check(loaders <= dig(cfg, "kafka", "partitions", default=0),
                 f"loader replicas {loaders} <= kafka.partitions {dig(cfg, 'kafka', 'partitions')}")
    for key in ("clickhouse.url", "analytics.cache.redis_url", "gateway.redis_url",
                "search.query_endpoint", "search.aiops_endpoint", "search.delta_endpoint"):
        url = dig(cfg, *key.split("."), default="")
        m = re.match(r"^\w+://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$", url)
        svc = m and r.get("Service", m.group(1), m.group(2))
        report.check(bool(svc) and int(m.group(3)) in [p["port"] for p in svc["spec"]["ports"]],
                     f"{key} {url} is a Service port")


def check_clickhouse_users(r: Rendered, users_root: ET.Element, report: Report) -> None:
    """Each ClickHouse client signs in as its user, with that user's
    password, and the user may do what the client needs and no more."""
    clients = {src for (src, dst), ports in ALLOWED_FLOWS.items() if dst == "clickhouse" and 8123 in ports}
    report.check(clients == set(CLICKHOUSE_CLIENTS),
                 f"every ClickHouse HTTP client has its user: {', '.join(sorted(clients))}",
                 f"flows to clickhouse:8123 from {sorted(clients)}, users for {sorted(CLICKHOUSE_CLIENTS)}")
    users = users_root.find("users")
    ws = {w.name: w for w in workloads(r)}
    for wname, w in sorted(ws.items()):
        for c in w.pod["spec"]["containers"]:
            env = {e["name"]: e for e in c.get("env", [])}
            if "AIRIS_CLICKHOUSE__USER" in env and wname not in CLICKHOUSE_CLIENTS:
                report.fail(f"{wname} signs in to ClickHouse ({env['AIRIS_CLICKHOUSE__USER'].get('value')}) "
                            "but may not reach it")
    for wname, (user, key, access) in sorted(CLICKHOUSE_CLIENTS.items()):
        w = ws.get(wname)
        if w is None:
            continue  # reported as a missing workload
        env = {e["name"]: e for c in w.pod["spec"]["containers"] for e in c.get("env", [])}
        got_user = dig(env, "AIRIS_CLICKHOUSE__USER", "value")
        got_secret = dig(env, "AIRIS_CLICKHOUSE__PASSWORD", "valueFrom", "secretKeyRef", default={}) or {}
        report.check(got_user == user and got_secret == {"name": CLICKHOUSE_SECRET, "key": key},
                     f"{w.kind} {wname}: signs in to ClickHouse as {got_user}, password from Secret "
                     f"{got_secret.get('name')} key {got_secret.get('key')}",
                     f"expected {user}, Secret {CLICKHOUSE_SECRET} key {key}")
        u = users.find(user) if users is not None else None
        if not report.check(u is not None, f"{wname} signs in to ClickHouse as {user}, a defined user"):
            continue
        profile = u.findtext("profile")
        ro = users_root.findtext(f"profiles/{profile}/readonly")
        grants = " ".join(q.text or "" for q in u.iterfind("grants/query"))
        writes = re.search(r"\b(INSERT|ALL|ALTER|CREATE|DROP|TRUNCATE|OPTIMIZE)\b", grants) is not None
        if access == "read":
            ok, want = ro == "2" and not writes, "readonly = 2 and no write grant (reads only; per-query limits allowed)"
        elif access == "write":
            ok, want = ro in (None, "0") and re.search(r"\bINSERT\b[^;]* ON airis\.\*", grants) is not None, \
                "INSERT on airis.*, not read-only"
        elif access.startswith("write:"):
            tables = access.removeprefix("write:").split(",")
            queries = sorted((q.text or "").strip() for q in u.iterfind("grants/query"))
            expected = sorted(["GRANT SELECT ON airis.*"]
                              + [f"GRANT INSERT ON airis.{t}{local}" for t in tables for local in ("", "_local")])
            ok, want = ro in (None, "0") and queries == expected, \
                f"not read-only, grants exactly {'; '.join(expected)}"
        else:
            ok, want = "GRANT ALL ON airis.*" in grants, "ALL on airis.*"
        report.check(ok, f"{wname} ({access}): ClickHouse user {user} (profile {profile}, readonly={ro}; {grants.strip()})",
                     f"expected {want}")


def container_env(c: dict) -> dict[str, str | None]:
    """A container's environment: name -> value (None when from a Secret or field)."""
    return {e["name"]: e.get("value") for e in c.get("env", [])}


def setting(cfg: dict, env: dict[str, str | None], key: str, default: Any) -> Any:
    """A configuration key as the binary resolves it: AIRIS_<SECTION>__<KEY>
    over airis.toml over the default."""
    var = "AIRIS_" + key.upper().replace(".", "__")
    if env.get(var) is not None:
        try:
            return tomllib.loads(f"v = {env[var]}")["v"]
        except tomllib.TOMLDecodeError:
            return env[var]
    return dig(cfg, *key.split("."), default=default)


def check_singletons(r: Rendered, report: Report) -> None:
    """What must never run twice runs once; continuous detection runs there only."""
    for name, what in SINGLETONS.items():
        d = r.get("Deployment", name)
        if not report.check(d is not None, f"Deployment {name} ({what}) exists"):
            continue
        replicas = d["spec"].get("replicas", 1)
        strategy = dig(d, "spec", "strategy", "type", default="RollingUpdate")
        hpas = [h["metadata"]["name"] for h in r.all("HorizontalPodAutoscaler")
                if dig(h, "spec", "scaleTargetRef", "name") == name]
        report.check(replicas == 1 and strategy == "Recreate" and not hpas,
                     f"Deployment {name} ({what}): replicas {replicas}, strategy {strategy}, autoscalers {show(hpas) if hpas else 'none'}: "
                     "never two at once",
                     "expected 1 replica, Recreate (a rolling update runs the old and the new pod together) and no "
                     "autoscaler: two would do the same work and write the same rows")
        labels = dig(d, "spec", "template", "metadata", "labels", default={}) or {}
        svcs = [s["metadata"]["name"] for s in r.all("Service", d["metadata"].get("namespace"))
                if (s["spec"].get("selector") or {}) and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())]
        report.check(not svcs, f"Deployment {name}: no Service selects its pods (nothing calls it)", f"selected by {svcs}")
    cfg = tomllib.loads(r.configmap_file("airis-config", "airis", "airis.toml") or "")
    on, off = [], []
    for d in r.all("Deployment"):
        c = d["spec"]["template"]["spec"]["containers"][0]
        if c.get("args") == ["serve", "aiops"]:
            enabled = setting(cfg, container_env(c), AIOPS_WATCH_KEY, AIOPS_WATCH_DEFAULT)
            (on if enabled is True else off).append(d["metadata"]["name"])
    report.check(set(on) == AIOPS_WATCHERS and AIOPS_WATCHERS <= set(SINGLETONS) and bool(off),
                 f"{AIOPS_WATCH_KEY} on in {show(sorted(on))} (one watcher), off in the API replicas {show(sorted(off))}",
                 f"expected on in {show(sorted(AIOPS_WATCHERS))} only: a second watcher would do the same work and write "
                 "the same rows (AIRIS_AIOPS__WATCH__ENABLED, airis.toml [aiops.watch], on by default)")


# -- who may talk to whom ------------------------------------------------------


def namespace_labels(r: Rendered) -> dict[str, dict]:
    # the namespaces of what these manifests do not deploy: Istio, DNS, the
    # rollout controllers
    out = {ns: {"kubernetes.io/metadata.name": ns} for ns in ("istio-system", "kube-system", "argo-rollouts")}
    for n in r.all("Namespace"):
        out[n["metadata"]["name"]] = {**n["metadata"].get("labels", {}), "kubernetes.io/metadata.name": n["metadata"]["name"]}
    return out


def np_peer_matches(peer: dict, policy_ns: str, w: Workload, nslabels: dict) -> bool:
    if "ipBlock" in peer:
        # Address blocks are for destinations outside the cluster (the
        # backup's object store); pod addresses are not matched here.
        return False
    ns_ok = (selects(peer["namespaceSelector"], nslabels.get(w.namespace, {}))
             if "namespaceSelector" in peer else w.namespace == policy_ns)
    pod_ok = selects(peer["podSelector"], w.labels) if "podSelector" in peer else True
    return ns_ok and pod_ok


def np_port_matches(ports: list | None, port: int, dst: Workload) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        pp = p.get("port")
        if pp is None:
            return True
        if isinstance(pp, str):
            pp = dst.ports.get(pp)
        if pp == port or (p.get("endPort") and pp <= port <= p["endPort"]):
            return True
    return False


def np_allows(r: Rendered, src: Workload, dst: Workload, port: int, nslabels: dict) -> bool:
    ingress = [p for p in r.all("NetworkPolicy", dst.namespace)
               if "Ingress" in p["spec"].get("policyTypes", ["Ingress"]) and selects(p["spec"]["podSelector"], dst.labels)]
    egress = [p for p in r.all("NetworkPolicy", src.namespace)
              if "Egress" in p["spec"].get("policyTypes", []) and selects(p["spec"]["podSelector"], src.labels)]
    in_ok = not ingress or any(
        np_port_matches(rule.get("ports"), port, dst)
        and (not rule.get("from") or any(np_peer_matches(peer, dst.namespace, src, nslabels) for peer in rule["from"]))
        for p in ingress for rule in p["spec"].get("ingress", []))
    # the ingress gateway's own egress is istio-system's business
    out_ok = src.namespace == "istio-system" or not egress or any(
        np_port_matches(rule.get("ports"), port, dst)
        and (not rule.get("to") or any(np_peer_matches(peer, src.namespace, dst, nslabels) for peer in rule["to"]))
        for p in egress for rule in p["spec"].get("egress", []))
    return in_ok and out_ok


def ap_value_matches(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return pattern == value


def ap_source_matches(rule: dict, principal: str, namespace: str) -> bool:
    """An AuthorizationPolicy rule's from: the caller's identity and namespace."""
    froms = rule.get("from")
    if not froms:
        return True

    def src_ok(s: dict) -> bool:
        s = s.get("source", {})
        if "principals" in s and not any(ap_value_matches(p, principal) for p in s["principals"]):
            return False
        if any(ap_value_matches(p, principal) for p in s.get("notPrincipals", [])):
            return False
        if "namespaces" in s and not any(ap_value_matches(n, namespace) for n in s["namespaces"]):
            return False
        return True
    return any(src_ok(f) for f in froms)


def ap_rule_matches(rule: dict, principal: str, namespace: str, port: int) -> bool:
    """L4 view of an AuthorizationPolicy rule: source identity and port.
    HTTP conditions (paths, methods) are taken as satisfiable."""
    if not ap_source_matches(rule, principal, namespace):
        return False
    tos = rule.get("to")
    if tos:
        def to_ok(t: dict) -> bool:
            op = t.get("operation", {})
            if "ports" in op and str(port) not in op["ports"]:
                return False
            if str(port) in op.get("notPorts", []):
                return False
            return True
        if not any(to_ok(t) for t in tos):
            return False
    return True


def ap_allows(r: Rendered, src: Workload, dst: Workload, port: int) -> bool:
    pols = [p for p in r.all("AuthorizationPolicy", dst.namespace)
            if "selector" not in (p.get("spec") or {}) or selects(p["spec"]["selector"], dst.labels)]
    spec = lambda p: p.get("spec") or {}  # noqa: E731
    for p in pols:
        if spec(p).get("action") == "DENY" and any(ap_rule_matches(ru, src.principal, src.namespace, port) for ru in spec(p).get("rules", [])):
            return False
    allows = [p for p in pols if spec(p).get("action", "ALLOW") == "ALLOW"]
    if not allows:
        return True
    return any(ap_rule_matches(ru, src.principal, src.namespace, port) for p in allows for ru in spec(p).get("rules", []))


def ap_operation_matches(op: dict, port: int, method: str, path: str) -> bool:
    """An AuthorizationPolicy operation against one HTTP request. Paths are
    matched without the query string, as Istio does; path templates and
    hosts are not simulated."""
    path = path.split("?", 1)[0]
    for k in ("hosts", "notHosts"):
        if k in op:
            raise ValueError(f"AuthorizationPolicy operation {k} not simulated: {op}")
    if any("{" in p for p in op.get("paths", []) + op.get("notPaths", [])):
        raise ValueError(f"AuthorizationPolicy path templates not simulated: {op}")
    if "ports" in op and str(port) not in op["ports"]:
        return False
    if str(port) in op.get("notPorts", []):
        return False
    if "methods" in op and method not in op["methods"]:
        return False
    if method in op.get("notMethods", []):
        return False
    if "paths" in op and not any(ap_value_matches(p, path) for p in op["paths"]):
        return False
    return not any(ap_value_matches(p, path) for p in op.get("notPaths", []))


def ap_allows_request(r: Rendered, src: Workload, dst: Workload, port: int, method: str, path: str) -> bool:
    """L7 view: whether the AuthorizationPolicies of dst admit one HTTP
    request from src (DENY first, then any ALLOW rule; CUSTOM is not
    used on the services)."""
    pols = [p for p in r.all("AuthorizationPolicy", dst.namespace)
            if "selector" not in (p.get("spec") or {}) or selects(p["spec"]["selector"], dst.labels)]

    def hit(rule: dict) -> bool:
        return ap_source_matches(rule, src.principal, src.namespace) and (
            not rule.get("to") or any(ap_operation_matches(t.get("operation", {}), port, method, path) for t in rule["to"]))
    for p in pols:
        spec = p.get("spec") or {}
        if spec.get("action") == "DENY" and any(hit(ru) for ru in spec.get("rules", [])):
            return False
    allows = [p.get("spec") or {} for p in pols if (p.get("spec") or {}).get("action", "ALLOW") == "ALLOW"]
    if not allows:
        return True
    return any(hit(ru) for spec in allows for ru in spec.get("rules", []))


def check_flows(r: Rendered, report: Report) -> None:
    ws = [w for w in workloads(r)]
    nslabels = namespace_labels(r)
    sources = ws + [INGRESS] + ROLLOUT_CONTROLLERS
    for layer, allows in (("NetworkPolicy", lambda s, d, p: np_allows(r, s, d, p, nslabels)),
                          ("AuthorizationPolicy", lambda s, d, p: ap_allows(r, s, d, p))):
        bad_allowed, bad_denied, n_ok, n_denied = [], [], 0, 0
        for src in sources:
            for dst in ws:
                for port in sorted(set(dst.ports.values())):
                    want = port in ALLOWED_FLOWS.get((src.name, dst.name), set())
                    got = allows(src, dst, port)
                    if want and not got:
                        bad_denied.append(f"{src.name} -> {dst.name}:{port}")
                    elif got and not want:
                        bad_allowed.append(f"{src.name} -> {dst.name}:{port}")
                    elif want:
                        n_ok += 1
                    else:
                        n_denied += 1
        report.check(not bad_denied, f"{layer}: the {n_ok} flows of the data path are allowed",
                     "refused: " + ", ".join(bad_denied))
        report.check(not bad_allowed, f"{layer}: the other {n_denied} workload-to-port flows are refused",
                     "allowed but not in the data path: " + ", ".join(bad_allowed))
    for ns in ("airis", "airis-data"):
        dd = [p for p in r.all("NetworkPolicy", ns) if p["spec"].get("podSelector") == {}
              and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
              and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        report.check(bool(dd), f"NetworkPolicy default deny (ingress and egress) in {ns}")
        an = [p for p in r.all("AuthorizationPolicy", ns) if not p.get("spec")]
        report.check(bool(an), f"AuthorizationPolicy allow-nothing default in {ns}")
        pa = [p for p in r.all("PeerAuthentication", ns) if dig(p, "spec", "mtls", "mode") == "STRICT" and "selector" not in p["spec"]]
        report.check(bool(pa), f"PeerAuthentication STRICT for all of {ns}")
    # Every principal named in a policy is a service account that exists.
    # (the ingress gateway's and the rollout controllers' are their installs')
    sas = {f"cluster.local/ns/{s['metadata']['namespace']}/sa/{s['metadata']['name']}" for s in r.all("ServiceAccount")} \
        | {INGRESS_SA} | {c.principal for c in ROLLOUT_CONTROLLERS}
    named = {p for ap in r.all("AuthorizationPolicy") for ru in (ap.get("spec") or {}).get("rules", [])
             for f in ru.get("from", []) for p in f.get("source", {}).get("principals", [])}
    report.check(named and named <= sas, f"AuthorizationPolicies name {len(named)} principals, all existing service accounts "
                 "(or the ingress gateway's and the rollout controllers')",
                 "unknown: " + ", ".join(sorted(named - sas)))
    for ap in r.all("AuthorizationPolicy"):
        sel = dig(ap, "spec", "selector")
        if sel and ap["metadata"]["namespace"] != "istio-system" and not any(
                selects(sel, w.labels) for w in ws if w.namespace == ap["metadata"]["namespace"]):
            report.fail(f"AuthorizationPolicy {ap['metadata']['name']}: selector {sel} selects no pods")


# Search's Ask: requests from search to analytics, and whether analytics
# admits them. The query service's methods, nothing else of analytics.
SEARCH_ASKS = [
    ("POST", "/airis.analytics.v1.QueryService/SearchTraces", True),
    ("POST", "/airis.analytics.v1.QueryService/TopK", True),
    ("GET", "/airis.analytics.v1.QueryService/SearchTraces", False),
    ("POST", "/grpc.health.v1.Health/Check", False),
    ("POST", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", False),
    ("POST", "/airis.analytics.v1.QueryServiceX/SearchTraces", False),
]
# What search may ask analytics for: the query service's methods.
SEARCH_ASKS_PREFIX = "/airis.analytics.v1.QueryService/"
# What search may ask aiops for: ListAnomalies, that exact path. The rest
# of the AnomalyService and the AlertService (which writes) stay the
# ingress's.
LIST_ANOMALIES = "/airis.aiops.v1.AnomalyService/ListAnomalies"
AIOPS_HOST, AIOPS_PORT = "aiops.airis.svc.cluster.local", 4350
# What search may ask delta for: Compare, that exact path, on gRPC. The
# rest of the DeltaService (ListChanges) stays the ingress's, the HTTP side
# (DELTA_ROLLOUT_PORT, which trusts no header) the rollout controllers'.
COMPARE = "/airis.delta.v1.DeltaService/Compare"
DELTA_PORT = 4360
# (port, method, path, admitted) from search to aiops.
SEARCH_LISTS_ANOMALIES = [
    (AIOPS_PORT, "POST", LIST_ANOMALIES, True),
    (AIOPS_PORT, "GET", LIST_ANOMALIES, False),
    (AIOPS_PORT, "PUT", LIST_ANOMALIES, False),
    (AIOPS_PORT, "POST", "/airis.aiops.v1.AnomalyService/ScoreSeries", False),
    (AIOPS_PORT, "POST", "/airis.aiops.v1.AnomalyService/Forecast", False),
    (AIOPS_PORT, "POST", "/airis.aiops.v1.AnomalyService/WatchAnomalies", False),
    (AIOPS_PORT, "POST", LIST_ANOMALIES + "X", False),
    (AIOPS_PORT, "POST", LIST_ANOMALIES + "/", False),
    (AIOPS_PORT, "POST", "/airis.aiops.v1.AlertService/ListAlerts", False),
    (AIOPS_PORT, "POST", "/airis.aiops.v1.AlertService/CreateRule", False),
    (AIOPS_PORT, "POST", "/grpc.health.v1.Health/Check", False),
    (AIOPS_PORT, "POST", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", False),
    (AIOPS_PORT + 1, "POST", LIST_ANOMALIES, False),
    (4320, "POST", LIST_ANOMALIES, False),
]
# (port, method, path, admitted) from search to delta.
SEARCH_COMPARES = [
    (DELTA_PORT, "POST", COMPARE, True),
    (DELTA_PORT, "GET", COMPARE, False),
    (DELTA_PORT, "PUT", COMPARE, False),
    (DELTA_PORT, "POST", "/airis.delta.v1.DeltaService/ListChanges", False),
    (DELTA_PORT, "POST", COMPARE + "X", False),
    (DELTA_PORT, "POST", COMPARE + "/", False),
    (DELTA_PORT, "POST", "/airis.delta.v1.DeltaService/", False),
    (DELTA_PORT, "POST", "/grpc.health.v1.Health/Check", False),
    (DELTA_PORT, "POST", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", False),
    (DELTA_ROLLOUT_PORT, "POST", "/rollout/v1/flagger", False),
    (DELTA_ROLLOUT_PORT, "GET", "/rollout/v1/verdict", False),
    (DELTA_ROLLOUT_PORT, "POST", COMPARE, False),
    (AIOPS_PORT, "POST", COMPARE, False),
]


@dataclass(frozen=True)
class SearchCall:
    """One method of another service that search calls for its caller
    (Ask), on that service's gRPC port: the callee (its workload, and its
    Deployment's AuthorizationPolicy, DestinationRule, ingress delegate and
    mesh/outbound.yaml cluster, all by that name), the host and port
    search.<callee>_endpoint names, the exact path; the VirtualService
    <callee>-mesh routes it inside the mesh. samples: (port, method, path,
    admitted) from search to the callee; closed: workloads behind no
    Service of the callee that must take none of it."""
    callee: str
    host: str
    port: int
    path: str
    samples: list = field(default_factory=list)
    closed: tuple[str, ...] = ()

    @property
    def mesh_vs(self) -> str:
        return f"{self.callee}-mesh"

    @property
    def endpoint_key(self) -> str:
        return f"search.{self.callee}_endpoint"


# Search's calls beyond the query service: ListAnomalies of aiops (the API
# replicas; the watcher takes no calls), Compare of delta.
SEARCH_CALLS = [
    SearchCall("aiops", AIOPS_HOST, AIOPS_PORT, LIST_ANOMALIES, SEARCH_LISTS_ANOMALIES, ("aiops-watch",)),
    SearchCall("delta", DELTA_HOST, DELTA_PORT, COMPARE, SEARCH_COMPARES),
]
# Policies here apply in every namespace (without a selector, to every pod).
ROOT_NAMESPACE = "istio-system"


def said(admitted: bool) -> str:
    return "admitted" if admitted else "refused"


def allow_rules_of(r: Rendered, dst: Workload) -> list[tuple[str, int, dict]]:
    """The ALLOW rules that apply to dst's pods, as (policy, index, rule):
    its namespace's policies and the root namespace's, each without a
    selector or selecting the pods."""
    out = []
    for p in r.all("AuthorizationPolicy"):
        spec = p.get("spec") or {}
        if p["metadata"].get("namespace") in (dst.namespace, ROOT_NAMESPACE) \
                and spec.get("action", "ALLOW") == "ALLOW" \
                and ("selector" not in spec or selects(spec["selector"], dst.labels)):
            out.extend((f"{p['metadata']['namespace']}/{p['metadata']['name']}", i, ru)
                       for i, ru in enumerate(spec.get("rules", [])))
    return out


def search_admitted_beyond(r: Rendered, search: Workload, dst: Workload, port: int,
                           path_ok: Callable[[str], bool]) -> list[str]:
    """The sampled requests cannot show that no rule admits search on a
    path nobody sampled: every ALLOW rule for dst whose source search's
    identity matches must itself confine each operation to POST, the port
    and paths path_ok accepts (a rule without `to`, or an operation without
    paths, admits everything). The operations that do not, shown."""
    loose = []
    for name, i, ru in allow_rules_of(r, dst):
        if not ap_source_matches(ru, search.principal, search.namespace):
            continue
        for op in [t.get("operation", {}) for t in ru.get("to", [])] or [{}]:
            if not (op.get("methods") and set(op["methods"]) <= {"POST"}
                    and op.get("ports") and set(op["ports"]) <= {str(port)}
                    and op.get("paths") and all(path_ok(q) for q in op["paths"])):
                loose.append(f"{name} rules[{i}] {show(op)}")
    return loose


def outbound_routes(mesh_dir: Path) -> tuple[list[dict], dict[str, dict]]:
    """mesh/outbound.yaml, search's calls out: its routes and clusters."""
    text = re.sub(r"\{\{[A-Z0-9_]+\}\}", "0", (mesh_dir / "outbound.yaml").read_text())
    doc = yaml.safe_load(text)
    routes = [rt for lst in dig(doc, "static_resources", "listeners", default=[]) or []
              for fc in lst.get("filter_chains", []) for f in fc.get("filters", [])
              for vh in dig(f, "typed_config", "route_config", "virtual_hosts", default=[]) or []
              for rt in vh.get("routes", [])]
    clusters = {c["name"]: c for c in dig(doc, "static_resources", "clusters", default=[]) or []}
    return routes, clusters


# Everything search's outbound reaches, by route match: the query service's
# paths, ListAnomalies and Compare.
OUTBOUND_MATCHES = [{"prefix": SEARCH_ASKS_PREFIX}] + [{"path": c.path} for c in SEARCH_CALLS]


def check_search_asks(r: Rendered, mesh_dir: Path, report: Report) -> None:
    """Search asks the query service for its caller (Ask): analytics admits
    it on the query service's methods only, and mesh callers of analytics
    are routed with the ingress's analytics numbers, in istio/ (the
    analytics-mesh VirtualService, equal to the analytics delegate) and in
    mesh/outbound.yaml."""
    ws = {w.name: w for w in workloads(r)}
    for dst in ("analytics-v1", "analytics-v2"):
        for method, path, want in SEARCH_ASKS:
            got = ap_allows_request(r, ws["search"], ws[dst], 4320, method, path)
            report.check(got == want, f"search -> {dst}:4320 {method} {path}: {said(want)}", said(got))
    for dst in ("analytics-v1", "analytics-v2"):
        loose = search_admitted_beyond(r, ws["search"], ws[dst], 4320, lambda q: q.startswith(SEARCH_ASKS_PREFIX))
        report.check(not loose, f"AuthorizationPolicies of {dst} admit search on POST {SEARCH_ASKS_PREFIX}* of 4320 only",
                     "admits more: " + "; ".join(loose))
    vss = {v["metadata"]["name"]: v for v in r.all("VirtualService", "airis")}
    mesh_vs, delegate = vss.get("analytics-mesh"), vss.get("analytics")
    report.check(mesh_vs is not None and dig(mesh_vs, "spec", "gateways") == ["mesh"]
                 and dig(mesh_vs, "spec", "hosts") == ["analytics.airis.svc.cluster.local"],
                 "VirtualService analytics-mesh routes the mesh's callers of analytics.airis.svc.cluster.local",
                 f"got {show(dig(mesh_vs or {}, 'spec'))}")
    # The chaos drill's faults are the ingress's (the delegate's) alone, as
    # locally mesh/chaos.env reaches the ingress and not search's outbound.
    edge_routes = [{k: v for k, v in h.items() if k != "fault"} for h in dig(delegate or {}, "spec", "http", default=[])]
    report.check(mesh_vs is not None and delegate is not None
                 and dig(mesh_vs, "spec", "http") == edge_routes,
                 "analytics-mesh has the analytics delegate's routes (weights, timeout, retries; no chaos faults)",
                 f"analytics-mesh {show(dig(mesh_vs or {}, 'spec', 'http'))} != delegate {show(dig(delegate or {}, 'spec', 'http'))}")
    if delegate is None:
        return
    # mesh/outbound.yaml: the same numbers as the delegate's.
    routes, _ = outbound_routes(mesh_dir)
    matches = [rt.get("match") for rt in routes]
    report.check(len(matches) == len(OUTBOUND_MATCHES) and all(m in matches for m in OUTBOUND_MATCHES),
                 "mesh/outbound.yaml routes the query service's paths, "
                 f"{' and '.join(c.path.rsplit('/', 1)[1] for c in SEARCH_CALLS)}, nothing else",
                 f"routes {matches}")
    out = next((rt["route"] for rt in routes if rt.get("match") == {"prefix": SEARCH_ASKS_PREFIX}), None)
    if out is None:
        return
    http = dig(delegate, "spec", "http", 0, default={})
    weights = {c["name"].replace("analytics_", ""): c["weight"]
               for c in dig(out, "weighted_clusters", "clusters", default=[])}
    want_weights = {d["destination"]["subset"]: d.get("weight", 100) for d in http.get("route", [])}
    report.check(weights == want_weights, f"mesh/outbound.yaml canary weights {weights} == istio {want_weights}",
                 f"mesh/outbound.yaml {weights}, istio {want_weights}")
    report.check(seconds(out.get("timeout")) == seconds(http.get("timeout")),
                 f"mesh/outbound.yaml route timeout {out.get('timeout')} == istio {http.get('timeout')}",
                 f"mesh/outbound.yaml {out.get('timeout')}, istio {http.get('timeout')}")
    retry = out.get("retry_policy", {})
    report.check(retry.get("num_retries") == dig(http, "retries", "attempts")
                 and token_set(retry.get("retry_on")) == token_set(dig(http, "retries", "retryOn")),
                 f"mesh/outbound.yaml retries {retry.get('num_retries')} on {retry.get('retry_on')} == istio",
                 f"mesh/outbound.yaml {retry}, istio {http.get('retries')}")


def vs_route(vs: dict | None, port: int, method: str, path: str) -> dict | None:
    """The route of a VirtualService (a mesh one, or a delegate) that a
    gRPC call takes: the first whose match its port, uri, method and
    headers satisfy."""
    headers = {":method": method, ":path": path, "content-type": GRPC}
    for h in dig(vs, "spec", "http", default=[]) or []:
        for m in h.get("match") or [{}]:
            if set(m) - ISTIO_MATCH_KEYS:
                raise ValueError(f"Istio HTTPMatchRequest fields not simulated: {sorted(set(m) - ISTIO_MATCH_KEYS)}")
            if m.get("port") in (None, port) and istio_string_matches(m.get("uri"), path) \
                    and istio_string_matches(m.get("method"), method) \
                    and all(istio_string_matches(v, headers.get(k.lower())) for k, v in (m.get("headers") or {}).items()):
                return h
    return None


def vs_routes_paths(vs: dict | None, pattern: str, port: int | None = None) -> bool:
    """Whether a VirtualService routes every path an AuthorizationPolicy
    path pattern names (exact, prefix* or *suffix) on a port (None: on any
    port) by its uri and port alone (a match with other conditions is not
    counted, nor one on another port, nor one on a port when any is
    admitted)."""
    prefix = "/" if pattern.startswith("*") else (pattern[:-1] or "/") if pattern.endswith("*") else None
    for h in dig(vs, "spec", "http", default=[]) or []:
        for m in h.get("match") or [{}]:
            uri = m.get("uri")
            if set(m) - {"name", "uri", "port"} or m.get("port") not in (None, port):
                continue
            if uri is None or (istio_string_matches(uri, pattern) if prefix is None
                               else "prefix" in uri and prefix.startswith(uri["prefix"])):
                return True
    return False


def check_search_call(r: Rendered, mesh_dir: Path, call: SearchCall, report: Report) -> None:
    """Search calls one method of another service for its caller (Ask):
    the callee admits it on POST of that path on its gRPC port and nothing
    else, the closed workloads not at all; the <callee>-mesh VirtualService
    routes that call with the numbers of the ingress's route for it, routes
    every other caller inside the mesh the callee admits and nothing
    beyond, and so does mesh/outbound.yaml for search."""
    ws = {w.name: w for w in workloads(r)}
    search, callee = ws["search"], ws[call.callee]
    for port, method, path, want in call.samples:
        got = ap_allows_request(r, search, callee, port, method, path)
        report.check(got == want, f"search -> {call.callee}:{port} {method} {path}: {said(want)}", said(got))
    for name in call.closed:
        got = ap_allows_request(r, search, ws[name], call.port, "POST", call.path)
        report.check(not got, f"search -> {name}:{call.port} POST {call.path}: refused ({name} takes no calls)", said(got))
    loose = search_admitted_beyond(r, search, callee, call.port, lambda q: q == call.path)
    report.check(not loose, f"AuthorizationPolicies of {call.callee} admit search on POST {call.path} of {call.port} only",
                 "admits more: " + "; ".join(loose))

    vsname = call.mesh_vs
    mesh_vs = next((v for v in r.all("VirtualService", "airis") if v["metadata"]["name"] == vsname), None)
    report.check(mesh_vs is not None and dig(mesh_vs, "spec", "gateways") == ["mesh"]
                 and dig(mesh_vs, "spec", "hosts") == [call.host],
                 f"VirtualService {vsname} routes the mesh's callers of {call.host}",
                 f"got {show(dig(mesh_vs or {}, 'spec'))}")
    cfg = tomllib.loads(r.configmap_file("airis-config", "airis", "airis.toml") or "")
    endpoint = dig(cfg, *call.endpoint_key.split("."))
    report.check(endpoint == f"http://{call.host}:{call.port}",
                 f"{call.endpoint_key} {endpoint!r} is the host {vsname} routes, on {call.port}")
    # A mesh VirtualService takes the host's traffic from every sidecar, on
    # every port; a path it does not route is a 404 at the caller. No
    # caller inside the mesh that the callee admits may be left without a
    # route (for delta: the rollout controllers on its HTTP side too).
    inside = workloads(r) + ROLLOUT_CONTROLLERS
    unrouted, admitted = [], []  # admitted: (port, or None for any, path pattern)
    for name, i, ru in allow_rules_of(r, callee):
        who = [w.name for w in inside if ap_source_matches(ru, w.principal, w.namespace)]
        if not who:
            continue
        for op in [t.get("operation", {}) for t in ru.get("to", [])] or [{}]:
            for port in [int(p) for p in op.get("ports") or []] or [None]:
                for q in op.get("paths") or ["*"]:
                    admitted.append((port, q))
                    if not vs_routes_paths(mesh_vs, q, port):
                        unrouted.append(f"{q}{'' if port is None else f' on {port}'} for {', '.join(who)} "
                                        f"({name} rules[{i}])")
    report.check(not unrouted,
                 f"{vsname} routes every path the {call.callee} AuthorizationPolicies admit from inside the mesh",
                 "not routed: " + "; ".join(unrouted))
    # ... and routes no more: a wider match (the whole service's prefix)
    # would give the service's other methods (a stream among them) this
    # method's timeout, and its other port's paths this port's.
    def admits(m: dict) -> bool:
        uri, port = m.get("uri"), m.get("port")
        qs = [q for p, q in admitted if port is None or p in (None, port)]
        if uri is not None and "exact" in uri:
            return any(ap_value_matches(q, uri["exact"]) for q in qs)
        prefix = "" if uri is None else uri.get("prefix")
        return prefix is not None and any(q == "*" or (q.endswith("*") and prefix.startswith(q[:-1])) for q in qs)
    wider = [show(m) for h in dig(mesh_vs, "spec", "http", default=[]) or [] for m in h.get("match") or [{}]
             if not admits(m)]
    report.check(not wider,
                 f"{vsname} matches nothing beyond what the {call.callee} AuthorizationPolicies admit from inside the mesh",
                 "also matches: " + "; ".join(wider))
    # The numbers: the route the call takes at the ingress (the callee's
    # delegate's), without the chaos drill's faults, which are the ingress's.
    edge = next((rt for rt in istio_routes(r)[0]
                 if any(istio_match_matches(m, Request("https", "POST", call.path, GRPC)) for m in rt.matches)), None)
    inner = vs_route(mesh_vs, call.port, "POST", call.path)
    if not report.check(edge is not None and edge.origin.startswith(f"VirtualService {call.callee} "),
                        f"the ingress routes POST {call.path} by the {call.callee} delegate",
                        f"by {edge.origin if edge else 'nothing'}"):
        return
    bare = lambda h, *drop: {k: v for k, v in (h or {}).items() if k not in ("name", "match", *drop)}  # noqa: E731
    report.check(inner is not None and bare(inner) == bare(edge.spec, "fault"),
                 f"{vsname} routes POST {call.path} as the ingress's route does ({edge.origin}: "
                 f"timeout {edge.spec.get('timeout')}, retries {show(edge.spec.get('retries'))}; no chaos faults)",
                 f"{vsname} {show(bare(inner) if inner else None)} != ingress {show(bare(edge.spec))}")

    # mesh/outbound.yaml: the same path, cluster and numbers.
    routes, clusters = outbound_routes(mesh_dir)
    out = next((rt for rt in routes if rt.get("match") == {"path": call.path}), None)
    if not report.check(out is not None, f"mesh/outbound.yaml routes path {call.path} exactly",
                        f"routes {[rt.get('match') for rt in routes]}"):
        return
    action, http = out.get("route", {}), edge.spec
    report.check(action.get("cluster") == call.callee and "weighted_clusters" not in action,
                 f"mesh/outbound.yaml sends {call.path} to cluster {call.callee}", f"route {show(action)}")
    report.same(f"outbound {call.path} timeout", route_timeout(action.get("timeout"), ENVOY_ROUTE_TIMEOUT),
                route_timeout(http.get("timeout"), ISTIO_ROUTE_TIMEOUT), timeout_seconds)
    retry = action.get("retry_policy", {})
    report.same(f"outbound {call.path} retries", retry.get("num_retries"), dig(http, "retries", "attempts"))
    report.same(f"outbound {call.path} retry on", retry.get("retry_on"), dig(http, "retries", "retryOn"), token_set)
    report.same(f"outbound {call.path} per-try timeout", retry.get("per_try_timeout"),
                dig(http, "retries", "perTryTimeout"), seconds, absent="none")
    dest = dig(http, "route", 0, "destination", default={})
    want = k8s_identities(r, r.get("DestinationRule", call.callee, "airis") or {}, dest.get("subset"))
    report.same(f"outbound cluster {call.callee}: the identity it accepts",
                mesh_identities(clusters.get(call.callee, {})), want)


def rollout_calls(rollouts: list[Rendered]) -> list[tuple[str, dict, str, str, str, dict]]:
    """Every call of the delta service in istio/rollouts/: (where, object,
    kind, method, url, parameters). Flagger POSTs each webhook's metadata;
    Argo Rollouts sends a web metric's method (GET unless named) to its URL."""
    out = []
    for rr in rollouts:
        for obj in rr.objects:
            kind, name = obj.get("kind"), obj["metadata"].get("name")
            if kind == "Canary":
                for hook in dig(obj, "spec", "analysis", "webhooks", default=[]) or []:
                    where = f"istio/rollouts/{rr.name}: Canary {name} webhook {hook.get('name')} ({hook.get('type') or 'rollout'})"
                    out.append((where, obj, kind, "POST", hook.get("url", ""), hook))
            elif kind == "AnalysisTemplate":
                for metric in dig(obj, "spec", "metrics", default=[]) or []:
                    web = dig(metric, "provider", "web")
                    if web is None:
                        continue
                    where = f"istio/rollouts/{rr.name}: AnalysisTemplate {name} metric {metric.get('name')}"
                    out.append((where, obj, kind, web.get("method") or "GET", web.get("url", ""), metric))
    return out


def check_rollout_calls(r: Rendered, rollouts: list[Rendered], report: Report) -> None:
    """The rollout controllers' calls (istio/rollouts/) reach the delta
    service: its Service's rollout port, a container port of its pods, a
    path and method its AuthorizationPolicy admits for that controller
    (and only there: not its gRPC port, not other paths), and what the
    endpoint requires in the request."""
    calls = rollout_calls(rollouts)
    kinds = {c[2] for c in calls}
    report.check(kinds == set(ROLLOUT_CALLS), f"istio/rollouts/ calls the delta service from {show(sorted(kinds))}",
                 f"expected a Flagger Canary webhook and an Argo Rollouts web metric ({show(sorted(ROLLOUT_CALLS))})")
    svc = r.get("Service", DELTA_HOST.split(".")[0], DELTA_HOST.split(".")[1])
    sport = next((sp for sp in dig(svc, "spec", "ports", default=[]) or [] if sp.get("name") == DELTA_ROLLOUT_PORT_NAME), None)
    delta = next((w for w in workloads(r) if w.namespace == "airis" and svc
                  and all(w.labels.get(k) == v for k, v in (svc["spec"].get("selector") or {}).items())), None)
    if not report.check(sport is not None and delta is not None,
                        f"Service delta has port {DELTA_ROLLOUT_PORT_NAME} ({dig(sport, 'port')}) and selects the delta pods",
                        "the rollout controllers' calls have nowhere to go"):
        return
    target = sport.get("targetPort", sport["port"])
    cport = delta.ports.get(target) if isinstance(target, str) else target
    report.check(sport["port"] == DELTA_ROLLOUT_PORT and cport in delta.ports.values() and sport.get("appProtocol") == "http",
                 f"Service delta port {DELTA_ROLLOUT_PORT_NAME}: {sport['port']} -> container port {target} ({cport}) "
                 f"of {delta.name}, appProtocol {sport.get('appProtocol')}",
                 f"expected {DELTA_ROLLOUT_PORT} (the controllers' contract), a container port of the delta pods and "
                 "appProtocol http (the AuthorizationPolicy names paths and methods, which the sidecar sees only on an "
                 "HTTP port)")
    nslabels = namespace_labels(r)
    # The mesh VirtualServices of delta's host (delta-mesh, for search's
    # Compare) take the controllers' calls too: their sidecars see them.
    mesh_vss = [v for v in r.all("VirtualService") if dig(v, "spec", "hosts", default=[]) == [DELTA_HOST]
                and "mesh" in (dig(v, "spec", "gateways") or ["mesh"])]
    for where, obj, kind, method, url, params in calls:
        controller, want_method, want_path = ROLLOUT_CALLS[kind]
        u = urllib.parse.urlsplit(url)
        report.check(u.scheme == "http" and u.hostname == DELTA_HOST and u.port == sport["port"],
                     f"{where}: {u.scheme}://{u.hostname}:{u.port} is the delta Service's {DELTA_ROLLOUT_PORT_NAME} port",
                     f"expected http://{DELTA_HOST}:{sport['port']} (plain HTTP: the controller's sidecar adds mTLS)")
        report.check((method, u.path) == (want_method, want_path), f"{where}: {method} {u.path}",
                     f"{controller.name} asks for a verdict with {want_method} {want_path}")
        report.check(ap_allows_request(r, controller, delta, cport, method, u.path)
                     and np_allows(r, controller, delta, cport, nslabels),
                     f"{where}: {controller.principal} may call {method} {u.path} on {delta.name}:{cport} "
                     "(AuthorizationPolicy and NetworkPolicy)",
                     "refused: the controller would count every check as failed")
        if mesh_vss:
            # Routed as without a VirtualService: to the rollout port, with
            # no timeout cutting the controller's own short.
            names = ", ".join(v["metadata"]["name"] for v in mesh_vss)
            h = next((x for x in (vs_route(v, u.port, method, u.path) for v in mesh_vss) if x), None)
            dests = [d.get("destination", {}) for d in (h or {}).get("route", [])]
            own = params.get("timeout") if kind == "Canary" else dig(params, "provider", "web", "timeoutSeconds")
            own = ROLLOUT_CALL_TIMEOUT_DEFAULT if own is None else seconds(own)
            report.check(h is not None and bool(dests)
                         and all(d.get("host") == DELTA_HOST and dig(d, "port", "number") == u.port for d in dests)
                         and (h.get("timeout") is None or seconds(h["timeout"]) >= own),
                         f"{where}: {names} routes {method} {u.path} to {DELTA_HOST}:{u.port}, with no timeout "
                         f"shorter than the call's {own:g}s",
                         "not routed (the controller's sidecar answers 404)" if h is None
                         else f"route {show({k: v for k, v in h.items() if k != 'match'})}")
        if kind == "Canary":
            meta = params.get("metadata") or {}
            report.check((params.get("type") or "rollout") in FLAGGER_GATING_HOOKS,
                         f"{where}: a webhook type that gates the canary on the answer",
                         f"type {params.get('type')!r}: Flagger does not act on its answer; expected one of "
                         f"{show(sorted(FLAGGER_GATING_HOOKS))}")
        else:
            meta = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
            declared = {a.get("name") for a in dig(obj, "spec", "args", default=[]) or []}
            used = set(re.findall(r"\{\{\s*args\.([\w-]+)\s*\}\}", url))
            report.check(used <= declared, f"{where}: the URL's arguments {show(sorted(used))} are declared",
                         f"undeclared: {show(sorted(used - declared))}")
            report.check(params.get("provider", {}).get("web", {}).get("jsonPath") == "{$.verdict}"
                         and params.get("successCondition") == 'result == "pass"'
                         and params.get("failureCondition") == 'result == "fail"',
                         f"{where}: the verdict is the result; pass succeeds, fail fails, inconclusive is neither",
                         'expected jsonPath "{$.verdict}", successCondition result == "pass", failureCondition '
                         'result == "fail"')
        missing = [k for k in ROLLOUT_REQUIRED if not str(meta.get(k) or "").strip()]
        report.check(not missing, f"{where}: names {', '.join(ROLLOUT_REQUIRED)}",
                     f"missing {show(missing)}: delta answers 400")
        unknown = sorted(set(meta) - set(ROLLOUT_PARAMETERS))
        window = str(meta.get("window", "10m"))
        report.check(not unknown and ("{{" in window or GO_DURATION.fullmatch(window) is not None),
                     f"{where}: parameters {show(sorted(meta))} are the endpoint's, window {window}",
                     (f"unknown {show(unknown)}" if unknown else f"window {window!r} is not a Go duration")
                     + ": delta answers 400")
    # only there: the controllers reach nothing else of delta's
    for controller in {c.name: c for c, _, _ in ROLLOUT_CALLS.values()}.values():
        for port, method, path in ((cport, "POST", "/airis.delta.v1.DeltaService/Compare"), (cport, "DELETE", "/rollout/v1/verdict"),
                                   (cport, "GET", "/metrics"), (delta.ports.get("grpc-delta"), "POST", "/rollout/v1/flagger")):
            report.check(not ap_allows_request(r, controller, delta, port, method, path),
                         f"{controller.principal} may not call {method} {path} on {delta.name}:{port}",
                         "the AuthorizationPolicy admits the controller beyond the rollout endpoints")
    report.check(not ap_allows_request(r, INGRESS, delta, cport, "GET", "/rollout/v1/verdict"),
                 f"the ingress gateway may not call GET /rollout/v1/verdict on {delta.name}:{cport}",
                 "verdicts are for the rollout controllers, not the outside")
    # Argo Rollouts: each Rollout's analysis names a template of its namespace and passes
    # every argument it has no value for, the cohorts by pod template hash
    templates = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o
                 for rr in rollouts for o in rr.all("AnalysisTemplate")}
    for rr in rollouts:
        for ro in rr.all("Rollout"):
            canary = dig(ro, "spec", "strategy", "canary", default={}) or {}
            analyses = [s["analysis"] for s in canary.get("steps", []) or [] if "analysis" in s] \
                + ([canary["analysis"]] if canary.get("analysis") else [])
            report.check(bool(analyses), f"istio/rollouts/{rr.name}: Rollout {ro['metadata']['name']} runs an analysis")
            for a in analyses:
                args = {x["name"]: x for x in a.get("args", []) or []}
                for ref in a.get("templates", []) or []:
                    tpl = templates.get((ro["metadata"].get("namespace"), ref.get("templateName")))
                    label = f"istio/rollouts/{rr.name}: Rollout {ro['metadata']['name']} analysis {ref.get('templateName')}"
                    if not report.check(tpl is not None, f"{label}: an AnalysisTemplate of its namespace"):
                        continue
                    need = {x["name"] for x in dig(tpl, "spec", "args", default=[]) or [] if "value" not in x and "valueFrom" not in x}
                    report.check(need <= set(args), f"{label}: passes {show(sorted(need))}", f"missing {show(sorted(need - set(args)))}")
                    url = next((dig(m, "provider", "web", "url") for m in dig(tpl, "spec", "metrics", default=[]) or []), "") or ""
                    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
                    hashes = {}
                    for side in ("baseline", "candidate"):
                        m = re.fullmatch(r"\{\{\s*args\.([\w-]+)\s*\}\}", (q.get(side) or [""])[0])
                        hashes[side] = dig(args.get(m.group(1) if m else ""), "valueFrom", "podTemplateHashValue")
                    report.check(q.get("attribute") == ["rollouts-pod-template-hash"] and hashes == {"baseline": "Stable", "candidate": "Latest"},
                                 f"{label}: baseline and candidate by rollouts-pod-template-hash, Stable against Latest",
                                 f"attribute {q.get('attribute')}, hashes {hashes}")


# -- requests at the edge ------------------------------------------------------

GRPC = "application/grpc"
GRPC_WEB = "application/grpc-web+proto"
LOGIN = "/airis.gateway.v1.AuthService/Login"
WATCH_ANOMALIES = "/airis.aiops.v1.AnomalyService/WatchAnomalies"  # a server stream
REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/"
REFLECTION_V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/"


@dataclass(frozen=True)
class Request:
    """One request as it reaches the ingress (after path normalisation)."""
    listener: str  # "https" (443) or "otlp" (4317)
    method: str
    path: str
    content_type: str | None = None

    @property
    def port(self) -> int:
        return {"https": 443, "otlp": 4317}[self.listener]

    @property
    def headers(self) -> dict[str, str]:
        h = {":method": self.method, ":path": self.path}
        if self.content_type:
            h["content-type"] = self.content_type
        return h

    def __str__(self) -> str:
        kind = {GRPC: "gRPC", GRPC_WEB: "gRPC-Web"}.get(self.content_type or "")
        if kind and self.method != "POST":
            kind += f" {self.method}"
        return f"{self.port} {kind or self.method} {self.path}"


def envoy_string_matches(sm: dict, value: str | None) -> bool:
    """An Envoy StringMatcher; a shape this check does not know fails loudly."""
    if value is None:
        return False
    fold = (lambda s: s.lower()) if sm.get("ignore_case") else (lambda s: s)
    v = fold(value)
    if "exact" in sm:
        return v == fold(sm["exact"])
    if "prefix" in sm:
        return v.startswith(fold(sm["prefix"]))
    if "suffix" in sm:
        return v.endswith(fold(sm["suffix"]))
    if "contains" in sm:
        return fold(sm["contains"]) in v
    if "safe_regex" in sm:
        return re.fullmatch(sm["safe_regex"]["regex"], value) is not None
    raise ValueError(f"Envoy string matcher not simulated: {sm}")


def envoy_header_matches(hm: dict, headers: dict[str, str]) -> bool:
    value = headers.get(hm["name"].lower())
    if "present_match" in hm:
        hit = (value is not None) == bool(hm["present_match"])
    elif "string_match" in hm:
        hit = envoy_string_matches(hm["string_match"], value)
    elif set(hm) - {"name", "invert_match"}:
        raise ValueError(f"Envoy header matcher not simulated: {hm}")
    else:
        hit = value is not None
    return hit != bool(hm.get("invert_match"))


def envoy_route_matches(m: dict, req: Request) -> bool:
    """An Envoy RouteMatch (route or jwt_authn rule) against a request."""
    unknown = set(m) - {"prefix", "path", "safe_regex", "path_separated_prefix", "headers", "grpc"}
    if unknown:
        raise ValueError(f"Envoy route match not simulated: {sorted(unknown)}")
    if "prefix" in m:
        hit = req.path.startswith(m["prefix"])
    elif "path" in m:
        hit = req.path == m["path"]
    elif "safe_regex" in m:
        hit = re.fullmatch(m["safe_regex"]["regex"], req.path) is not None
    elif "path_separated_prefix" in m:
        p = m["path_separated_prefix"]
        hit = req.path == p or req.path.startswith(p + "/")
    else:
        raise ValueError(f"Envoy route match without a path: {m}")
    if "grpc" in m:
        # Envoy's gRPC match: content-type application/grpc or application/grpc+*
        ct = req.content_type or ""
        hit = hit and (ct == GRPC or ct.startswith(GRPC + "+"))
    return hit and all(envoy_header_matches(h, req.headers) for h in m.get("headers", []))


def istio_string_matches(sm: dict | None, value: str | None) -> bool:
    """An Istio StringMatch (exact, prefix, regex: RE2, whole value)."""
    if sm is None:
        return True
    if value is None:
        return False
    if not sm:
        return True  # {}: the header is present
    if "exact" in sm:
        return value == sm["exact"]
    if "prefix" in sm:
        return value.startswith(sm["prefix"])
    if "regex" in sm:
        return re.fullmatch(sm["regex"], value) is not None
    raise ValueError(f"Istio string match not simulated: {sm}")


ISTIO_MATCH_KEYS = {"name", "port", "uri", "method", "headers"}


def istio_match_matches(m: dict, req: Request) -> bool:
    unknown = set(m) - ISTIO_MATCH_KEYS
    if unknown:
        raise ValueError(f"Istio HTTPMatchRequest fields not simulated: {sorted(unknown)}")
    return (m.get("port") in (None, req.port)
            and istio_string_matches(m.get("uri"), req.path)
            and istio_string_matches(m.get("method"), req.method)
            and all(istio_string_matches(v, req.headers.get(k.lower())) for k, v in (m.get("headers") or {}).items()))


def istio_string_match_conflict(root: dict | None, leaf: dict | None) -> bool:
    """istiod's stringMatchConflict: a delegate's match must lie within the root's."""
    if root is None or leaf is None:
        return False
    if root.get("regex"):
        if leaf.get("regex") or leaf.get("prefix") or leaf.get("exact"):
            return True
    if leaf.get("regex"):
        if root.get("regex") or root.get("prefix") or root.get("exact"):
            return True
    if root.get("exact"):
        return bool(leaf.get("prefix")) or leaf.get("exact") != root["exact"]
    if root.get("prefix"):
        if leaf.get("prefix"):
            return not leaf["prefix"].startswith(root["prefix"])
        if leaf.get("exact"):
            return not leaf["exact"].startswith(root["prefix"])
    return True


def merge_istio_matches(root: list | None, leaf: list | None) -> list | None:
    """istiod's mergeHTTPMatchRequests: a delegate route's match conditions
    merged with its root route's; None when they conflict (istiod then drops
    the delegate route)."""
    if not root:
        return leaf or []
    if not leaf:
        return root
    out = []
    for sub in leaf:
        found = False
        for rm in root:
            if any(istio_string_match_conflict(rm.get(k), sub.get(k)) for k in ("uri", "method")) or \
                    any(istio_string_match_conflict((rm.get("headers") or {}).get(h), v) for h, v in (sub.get("headers") or {}).items()) or \
                    (rm.get("port") and sub.get("port") and rm["port"] != sub["port"]):
                continue
            merged = dict(sub)
            for k in ("uri", "method", "port"):
                if merged.get(k) is None and rm.get(k) is not None:
                    merged[k] = rm[k]
            merged["headers"] = {**(rm.get("headers") or {}), **(sub.get("headers") or {})}
            out.append(merged)
            found = True
        if not found:
            return None
    return out or None


def istio_merged_name(root: str | None, leaf: str | None) -> str | None:
    """istiod names a delegate's route <root route>-<delegate route>."""
    if not leaf:
        return root
    return f"{root}-{leaf}" if root else leaf


@dataclass
class IstioRoute:
    name: str | None
    matches: list
    spec: dict  # the HTTPRoute that acts (the delegate's, or the root's own)
    origin: str  # where it comes from, for messages


def istio_routes(r: Rendered) -> tuple[list[IstioRoute], list[str]]:
    """The root VirtualService with its delegates merged in, in order, as
    istiod builds the ingress's routes; and the delegate routes it drops."""
    root = r.get("VirtualService", "airis-ingress", "airis")
    out, dropped = [], []
    for route in dig(root, "spec", "http", default=[]) or []:
        d = route.get("delegate")
        if not d:
            out.append(IstioRoute(route.get("name"), route.get("match") or [], route, f"airis-ingress/{route.get('name')}"))
            continue
        vs = r.get("VirtualService", d["name"], d.get("namespace", "airis"))
        for sub in dig(vs, "spec", "http", default=[]) or []:
            merged = merge_istio_matches(route.get("match"), sub.get("match"))
            where = f"VirtualService {d['name']} route {sub.get('name')}"
            if merged is None:
                dropped.append(f"{where}: its match is not within root route {route.get('name')}'s, so istiod drops it")
                continue
            out.append(IstioRoute(istio_merged_name(route.get("name"), sub.get("name")), merged, sub, where))
    return out, dropped


def ingress_envoyfilter_patches(r: Rendered) -> list[dict]:
    """The configPatches of every EnvoyFilter that applies to the ingress gateway."""
    out = []
    for ef in r.all("EnvoyFilter"):
        labels = dig(ef, "spec", "workloadSelector", "labels")
        if ef["metadata"].get("namespace") == "istio-system" and (labels is None or selects({"matchLabels": labels}, INGRESS.labels)):
            out.extend(cp for cp in dig(ef, "spec", "configPatches", default=[]) or [] if dig(cp, "match", "context") in ("GATEWAY", "ANY", None))
    return out


RATELIMIT = "envoy.filters.http.local_ratelimit"
HCM = "envoy.filters.network.http_connection_manager"
RBAC = "envoy.filters.http.rbac"
EXT_AUTHZ = "envoy.filters.http.ext_authz"
JWT_AUTHN = "envoy.filters.http.jwt_authn"
GRPC_WEB_FILTER = "envoy.filters.http.grpc_web"
HEADER_MUTATION = "envoy.filters.http.header_mutation"
ROUTER = "envoy.filters.http.router"
# the filters that refuse a request for its token (or the lack of one)
TOKEN_CHECKS = (RBAC, EXT_AUTHZ, JWT_AUTHN)


def applies_to_ingress(obj: dict) -> bool:
    """A security policy istiod applies to the ingress gateway: in the root
    namespace (istio-system), without a selector or selecting the gateway."""
    if obj["metadata"].get("namespace") != "istio-system":
        return False
    sel = dig(obj, "spec", "selector")
    return sel is None or selects(sel, INGRESS.labels)


def istiod_gateway_filters(r: Rendered) -> list[tuple[str, str]]:
    """The HTTP filters istiod builds for the ingress gateway's servers, in
    its order (pilot/pkg/networking/core/listener_builder.go,
    buildHTTPConnectionManager), as (name, what for): metadata exchange;
    the CUSTOM AuthorizationPolicies' filters (an rbac filter that marks
    the requests to check, then ext_authz: the authz custom builder runs
    before the authn builder); jwt_authn (when a RequestAuthentication has
    JWT rules; a request without a token passes it) and istio_authn; the
    DENY/ALLOW/AUDIT policies' rbac filter; gRPC stats, ALPN, fault, CORS,
    telemetry; the router. No grpc_web: istiod adds it only on servers of
    protocol GRPC-WEB, and the Gateway's are HTTPS."""
    aps = [ap for ap in r.all("AuthorizationPolicy") if applies_to_ingress(ap)]
    out = [("istio.metadata_exchange", "")]
    if any(dig(ap, "spec", "action") == "CUSTOM" for ap in aps):
        out += [(RBAC, "custom"), (EXT_AUTHZ, "custom")]
    if any(dig(ra, "spec", "jwtRules") for ra in r.all("RequestAuthentication") if applies_to_ingress(ra)):
        out.append((JWT_AUTHN, "authn"))
    out.append(("istio_authn", "authn"))
    if any((dig(ap, "spec", "action") or "ALLOW") in ("ALLOW", "DENY", "AUDIT") for ap in aps):
        out.append((RBAC, "authz"))
    out += [("envoy.filters.http.grpc_stats", ""), ("istio.alpn", ""), ("envoy.filters.http.fault", ""),
            ("envoy.filters.http.cors", ""), ("istio.stats", ""), (ROUTER, "")]
    return out


def istio_ingress_filters(r: Rendered) -> tuple[list[tuple[str, str]], list[str]]:
    """istiod's chain with the EnvoyFilters' HTTP_FILTER patches applied as
    istiod applies them (envoyfilter/listener_patch.go, patchHTTPFilters):
    in order; INSERT_FIRST in front; INSERT_BEFORE / INSERT_AFTER next to the
    first filter named by subFilter (without one: in front / at the end);
    ADD at the end. A patch whose subFilter names no filter in the chain is
    dropped by istiod without a word: those are returned as problems."""
    chain = istiod_gateway_filters(r)
    dropped = []
    for cp in ingress_envoyfilter_patches(r):
        if cp.get("applyTo") != "HTTP_FILTER":
            continue
        if dig(cp, "match", "listener", "filterChain", "filter", "name") not in (None, HCM):
            continue
        op, name = dig(cp, "patch", "operation"), dig(cp, "patch", "value", "name")
        sub = dig(cp, "match", "listener", "filterChain", "filter", "subFilter", "name")
        at = next((i for i, (n, _) in enumerate(chain) if n == sub), None) if sub else None
        new = (name, "patch")
        if sub and at is None and op in ("INSERT_BEFORE", "INSERT_AFTER", "REPLACE"):
            dropped.append(f"{op} {name}: no filter {sub} in istiod's chain, so istiod drops the patch")
        elif op == "ADD" or (op == "INSERT_AFTER" and not sub):
            chain.append(new)
        elif op == "INSERT_FIRST" or (op == "INSERT_BEFORE" and not sub):
            chain.insert(0, new)
        elif op == "INSERT_BEFORE":
            chain.insert(at, new)
        elif op == "INSERT_AFTER":
            chain.insert(at + 1, new)
        elif op == "REPLACE" and sub:
            chain[at] = new
        elif op == "REMOVE" and sub:
            chain = [f for f in chain if f[0] != sub]
    return chain, dropped


@dataclass(frozen=True)
class Refusal:
    """How the edge refuses a request for want of a token."""
    status: int
    encoding: str  # "gRPC", "gRPC-Web" or "HTTP"

    def __str__(self) -> str:
        if self.encoding == "HTTP":
            return f"HTTP {self.status}"
        return f"HTTP {self.status} as {self.encoding} {({401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED'}[self.status])}"


def refusal(status: int, at: int, chain: list[str], req: "Request") -> Refusal:
    """A refusal by the filter at position `at`. Envoy answers a gRPC request
    in gRPC by itself; a gRPC-Web request only when grpc_web came first (it
    turned the request into gRPC, and turns the answer back into gRPC-Web)."""
    if req.content_type == GRPC:
        return Refusal(status, "gRPC")
    if req.content_type == GRPC_WEB:
        translated = GRPC_WEB_FILTER in chain[:at]
        return Refusal(status, "gRPC-Web" if translated else "HTTP")
    return Refusal(status, "HTTP")


def istio_ratelimit(r: Rendered, route_name: str | None, port: int) -> dict | None:
    """The local rate limit config the ingress applies on a route, or None."""
    patches = ingress_envoyfilter_patches(r)
    if RATELIMIT not in [n for n, _ in istio_ingress_filters(r)[0]]:
        return None
    cfg = None
    for cp in patches:
        if cp.get("applyTo") != "HTTP_ROUTE" or dig(cp, "patch", "operation") != "MERGE":
            continue
        rc = dig(cp, "match", "routeConfiguration", default={}) or {}
        if rc.get("portNumber") not in (None, port):
            continue
        if dig(rc, "vhost", "name") is not None or set(dig(rc, "vhost", "route", default={}) or {}) - {"name"}:
            raise ValueError(f"EnvoyFilter route match not simulated: {rc}")
        name = dig(rc, "vhost", "route", "name")
        if name is not None and name != route_name:
            continue
        cfg = dig(cp, "patch", "value", "typed_per_filter_config", RATELIMIT, default=cfg)
    if cfg is None:
        cfg = next((dig(cp, "patch", "value", "typed_config") for cp in patches
                    if cp.get("applyTo") == "HTTP_FILTER" and dig(cp, "patch", "value", "name") == RATELIMIT), None)
    return cfg if cfg and "token_bucket" in cfg else None


def istio_edge(r: Rendered, req: Request) -> dict:
    """What the Istio ingress does with one request: destination, whether a
    token is required, whether the revocation check runs, the rate limit."""
    dest, name, timeout = None, None, None
    routes, _ = istio_routes(r)
    for rt in routes:
        if not any(istio_match_matches(m, req) for m in rt.matches or [{}]):
            continue
        name = rt.name
        if "directResponse" in rt.spec:
            dest = [("direct response", rt.spec["directResponse"].get("status"))]
        else:
            dest = [(x["destination"]["host"].split(".")[0], dig(x, "destination", "port", "number"),
                     x["destination"].get("subset")) for x in rt.spec.get("route", [])]
            timeout = route_timeout(rt.spec.get("timeout"), ISTIO_ROUTE_TIMEOUT)
        break
    if dest is None:
        dest = [("direct response", 404)]  # no route: Envoy answers 404 itself
    needs_token = revocation = False
    for ap in [ap for ap in r.all("AuthorizationPolicy") if applies_to_ingress(ap)]:
        for rule in dig(ap, "spec", "rules", default=[]) or []:
            ops = [t.get("operation", {}) for t in rule.get("to", [])] or [{}]
            hit = any((not op.get("paths") or any(ap_value_matches(p, req.path) for p in op["paths"]))
                      and not any(ap_value_matches(p, req.path) for p in op.get("notPaths", []))
                      and (not op.get("methods") or req.method in op["methods"])
                      and req.method not in op.get("notMethods", []) for op in ops)
            if not hit:
                continue
            if ap["spec"].get("action") == "DENY" and any(
                    "notRequestPrincipals" in f.get("source", {}) for f in rule.get("from", [])):
                needs_token = True
            if ap["spec"].get("action") == "CUSTOM":
                revocation = True
    # Without a token: the filters in istiod's order. ext_authz asks the
    # gateway, which answers 401 for a missing token; jwt_authn lets a
    # request without one pass; the DENY rbac filter answers 403.
    chain = istio_ingress_filters(r)[0]
    names = [n for n, _ in chain]
    tokenless = None
    for at, (f, role) in enumerate(chain):
        if f == EXT_AUTHZ and revocation:
            tokenless = refusal(401, at, names, req)
            break
        if f == RBAC and role == "authz" and needs_token:
            tokenless = refusal(403, at, names, req)
            break
    return {"route": dest, "token": needs_token, "revocation": revocation, "tokenless": tokenless,
            "ratelimit": istio_ratelimit(r, name, req.port), "route_name": name, "timeout": timeout}


def percent(fp: dict | None) -> float | None:
    """A RuntimeFractionalPercent's default as a percentage."""
    dv = (fp or {}).get("default_value")
    if dv is None:
        return None
    den = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000}[dv.get("denominator", "HUNDRED")]
    return dv.get("numerator", 0) * 100 / den


def bucket(cfg: dict | None) -> str:
    """A local rate limit as one comparable line."""
    if not cfg:
        return "none"
    tb = cfg.get("token_bucket", {})
    return (f"{tb.get('max_tokens')} tokens, +{tb.get('tokens_per_fill', 1)} every {seconds(tb.get('fill_interval', 0)):g}s, "
            f"enabled {percent(cfg.get('filter_enabled')) or 0:g} %, enforced {percent(cfg.get('filter_enforced')) or 0:g} %")


# ---------------------------------------------------------------------------
# mesh/


@dataclass
class Mesh:
    doc: dict
    chaos: dict[str, str]
    listeners: dict[str, dict] = field(default_factory=dict)
    clusters: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, mesh_dir: Path) -> "Mesh":
        text = (mesh_dir / "ingress.yaml").read_text()
        # The file is a template: placeholders stand for ports, paths and
        # endpoint lists. None of them carries a policy number.
        text = re.sub(r"\{\{[A-Z0-9_]+\}\}", "0", text)
        doc = yaml.safe_load(text)
        chaos = {}
        chaos_file = mesh_dir / "chaos.env"
        if chaos_file.exists():
            for line in chaos_file.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    chaos[k.strip()] = v.strip()
        m = cls(doc, chaos)
        for lst in dig(doc, "static_resources", "listeners", default=[]) or []:
            m.listeners[lst["name"]] = lst
        for c in dig(doc, "static_resources", "clusters", default=[]) or []:
            m.clusters[c["name"]] = c
        return m

    def hcm(self, listener: str) -> dict | None:
        lst = self.listeners.get(listener)
        for fc in (lst or {}).get("filter_chains", []):
            for f in fc.get("filters", []):
                if f.get("name") == "envoy.filters.network.http_connection_manager":
                    return f["typed_config"]
        return None

    def vhosts(self, listener: str) -> list[dict]:
        return dig(self.hcm(listener) or {}, "route_config", "virtual_hosts", default=[]) or []

    def routes(self, listener: str) -> list[dict]:
        return [rt for vh in self.vhosts(listener) for rt in vh.get("routes", [])]

    def route_for(self, listener: str, req: Request) -> tuple[dict, dict] | None:
        """(virtual host, route) the request takes; every host is "*"."""
        for vh in self.vhosts(listener):
            for rt in vh.get("routes", []):
                if envoy_route_matches(rt.get("match", {}), req):
                    return vh, rt
        return None

    def route_by_match(self, listener: str, key: str, value: str) -> dict | None:
        """The forwarding route whose match has this path or prefix (not a direct response)."""
        for rt in self.routes(listener):
            if rt.get("match", {}).get(key) == value and "route" in rt:
                return rt
        return None

    def filter_names(self, listener: str) -> list[str]:
        return [f.get("name") for f in (self.hcm(listener) or {}).get("http_filters", [])]

    def filter(self, listener: str, name: str) -> dict | None:
        for f in (self.hcm(listener) or {}).get("http_filters", []):
            if f.get("name") == name:
                return f.get("typed_config", {})
        return None

    def edge(self, req: Request) -> dict:
        listener = {"https": "ingress", "otlp": "otlp"}[req.listener]
        found = self.route_for(listener, req)
        jwt = self.filter(listener, "envoy.filters.http.jwt_authn") or {}
        needs = False
        for rule in jwt.get("rules", []):
            if envoy_route_matches(rule.get("match", {}), req):
                needs = "requires" in rule
                break
        has_authz = self.filter(listener, "envoy.filters.http.ext_authz") is not None
        ratelimit = None
        if RATELIMIT in self.filter_names(listener):
            ratelimit = self.filter(listener, RATELIMIT)
        chain = self.filter_names(listener)

        def tokenless(revocation: bool) -> Refusal | None:
            # the filters in order: jwt_authn refuses a missing token where
            # its rules require one, ext_authz (the gateway) wherever it runs
            for at, f in enumerate(chain):
                if (f == JWT_AUTHN and needs) or (f == EXT_AUTHZ and revocation):
                    return refusal(401, at, chain, req)
            return None

        if found is None:
            # No route: Envoy answers 404 itself; ext_authz skips such a
            # request, and only a listener-wide bucket could limit it.
            return {"route": [("direct response", 404)], "token": needs, "revocation": False,
                    "tokenless": tokenless(False), "timeout": None,
                    "ratelimit": ratelimit if ratelimit and "token_bucket" in ratelimit else None}
        vh, rt = found
        disabled = dig(rt, "typed_per_filter_config", "envoy.filters.http.ext_authz", "disabled",
                       default=dig(vh, "typed_per_filter_config", "envoy.filters.http.ext_authz", "disabled", default=False))
        if ratelimit is not None:
            ratelimit = dig(rt, "typed_per_filter_config", RATELIMIT,
                            default=dig(vh, "typed_per_filter_config", RATELIMIT, default=ratelimit))
        route = rt.get("route", {})
        timeout = None
        if "direct_response" in rt:
            dest = [("direct response", rt["direct_response"].get("status"))]
        elif "weighted_clusters" in route:
            dest = [(c["name"], c.get("weight")) for c in route["weighted_clusters"]["clusters"]]
        else:
            dest = [(route.get("cluster"), None)]
        if "route" in rt:
            timeout = route_timeout(route.get("timeout"), ENVOY_ROUTE_TIMEOUT)
        return {"route": dest, "token": needs, "revocation": has_authz and not disabled,
                "tokenless": tokenless(has_authz and not disabled), "timeout": timeout,
                "ratelimit": ratelimit if ratelimit and "token_bucket" in ratelimit else None}

    def cors_policies(self, listener: str) -> list[dict]:
        out = []
        for vh in self.vhosts(listener):
            for holder in [vh, *vh.get("routes", [])]:
                p = dig(holder, "typed_per_filter_config", "envoy.filters.http.cors")
                if p:
                    out.append(p)
            if vh.get("cors"):
                out.append(vh["cors"])
        return out


# The local mesh's clusters and the Kubernetes destinations they stand for.
CLUSTER_TO_K8S = {
    "analytics_v1": ("analytics", 4320, "v1"),
    "analytics_v2": ("analytics", 4320, "v2"),
    "aiops": ("aiops", 4350, "v1"),
    "delta": ("delta", 4360, "v1"),
    "search": ("search", 4370, "v1"),
    "gateway_grpc": ("gateway", 4330, None),
    "gateway_http": ("gateway", 4331, None),  # the JWKS; the UI files are "ui" in k8s
    "receiver": ("receiver", 4317, None),
}

# (mesh listener, mesh route match, istio delegate VirtualService, its route's uri match)
ROUTES = [
    ("ingress", ("prefix", "/airis.analytics.v1.QueryService/"), "analytics", {"prefix": "/airis.analytics.v1.QueryService/"}),
    ("ingress", ("path", WATCH_ANOMALIES), "aiops", {"exact": WATCH_ANOMALIES}),
    ("ingress", ("prefix", "/airis.aiops.v1.AnomalyService/"), "aiops", {"prefix": "/airis.aiops.v1.AnomalyService/"}),
    ("ingress", ("prefix", "/airis.aiops.v1.AlertService/"), "aiops", {"prefix": "/airis.aiops.v1.AlertService/"}),
    ("ingress", ("prefix", "/airis.delta.v1.DeltaService/"), "delta", {"prefix": "/airis.delta.v1.DeltaService/"}),
    ("ingress", ("prefix", "/airis.search.v1.SearchService/"), "search", {"prefix": "/airis.search.v1.SearchService/"}),
    ("ingress", ("path", LOGIN), "gateway", {"exact": LOGIN}),
    ("ingress", ("prefix", "/airis.gateway.v1.AuthService/"), "gateway", {"prefix": "/airis.gateway.v1.AuthService/"}),
    ("ingress", ("prefix", REFLECTION_V1), "reflection", {"prefix": REFLECTION_V1}),
    ("ingress", ("prefix", REFLECTION_V1ALPHA), "reflection", {"prefix": REFLECTION_V1ALPHA}),
    ("otlp", ("prefix", "/opentelemetry.proto.collector."), "receiver", {"prefix": "/opentelemetry.proto.collector."}),
    ("ingress", ("prefix", "/"), "ui", {"prefix": "/"}),
    ("ingress", ("prefix", "/"), "gateway-http", {"prefix": "/.well-known/"}),
]

# (mesh cluster, istio DestinationRule)
POOLS = [
    ("analytics_v1", "analytics"),
    ("analytics_v2", "analytics"),
    ("aiops", "aiops"),
    ("delta", "delta"),
    ("gateway_grpc", "gateway"),
    ("gateway_http", "ui"),
    ("gateway_http", "gateway"),
    ("receiver", "receiver"),
]

# The kinds of request the edge sees: what each side does with them must agree.
EDGE_REQUESTS = [
    Request("https", "POST", LOGIN, GRPC),
    Request("https", "POST", LOGIN, GRPC_WEB),
    Request("https", "POST", "/airis.gateway.v1.AuthService/Refresh", GRPC_WEB),
    Request("https", "POST", "/airis.gateway.v1.AuthService/Logout", GRPC_WEB),
    Request("https", "POST", "/airis.gateway.v1.AuthService/Logout", GRPC),
    Request("https", "POST", "/airis.gateway.v1.AuthService/MintIngestToken", GRPC),
    Request("https", "POST", "/airis.analytics.v1.QueryService/GetTrace", GRPC),
    Request("https", "POST", "/airis.analytics.v1.QueryService/GetTrace", GRPC_WEB),
    Request("https", "POST", "/airis.aiops.v1.AnomalyService/ScoreSeries", GRPC),
    Request("https", "POST", "/airis.aiops.v1.AnomalyService/Forecast", GRPC_WEB),
    Request("https", "POST", "/airis.aiops.v1.AnomalyService/ListAnomalies", GRPC),
    Request("https", "POST", "/airis.aiops.v1.AlertService/ListRules", GRPC),
    Request("https", "POST", "/airis.aiops.v1.AlertService/ListRules", GRPC_WEB),
    Request("https", "POST", "/airis.aiops.v1.AlertService/CreateRule", GRPC),
    Request("https", "POST", "/airis.aiops.v1.AlertService/TestRule", GRPC_WEB),
    Request("https", "POST", "/airis.delta.v1.DeltaService/Compare", GRPC),
    Request("https", "POST", "/airis.delta.v1.DeltaService/Compare", GRPC_WEB),
    Request("https", "POST", WATCH_ANOMALIES, GRPC_WEB),
    Request("https", "POST", WATCH_ANOMALIES, GRPC),
    # a method whose name merely starts like the stream's: the unary route
    Request("https", "POST", WATCH_ANOMALIES + "Later", GRPC),
    Request("https", "POST", REFLECTION_V1 + "ServerReflectionInfo", GRPC),
    Request("https", "POST", REFLECTION_V1ALPHA + "ServerReflectionInfo", GRPC),
    Request("https", "POST", REFLECTION_V1ALPHA + "ServerReflectionInfo", GRPC_WEB),
    Request("https", "POST", "/grpc.reflection.v2.ServerReflection/ServerReflectionInfo", GRPC),
    Request("https", "POST", "/grpc.health.v1.Health/Check", GRPC),
    Request("https", "POST", "/airis.nothing.v1.NoService/Call", GRPC),
    Request("https", "POST", "/airis.nothing.v1.NoService/Call", GRPC_WEB),
    Request("https", "GET", "/airis.nothing.v1.NoService/Call"),
    Request("https", "GET", "/airis.nothing.v1.NoService/Call", GRPC),
    Request("https", "POST", "/authz/airis.analytics.v1.QueryService/GetTrace", GRPC),
    Request("https", "POST", "/authz/airis.aiops.v1.AnomalyService/ScoreSeries", GRPC),
    Request("https", "POST", "/authz/airis.aiops.v1.AlertService/ListRules", GRPC),
    Request("https", "POST", "/authz/airis.delta.v1.DeltaService/Compare", GRPC),
    Request("https", "GET", "/authz/x"),
    Request("https", "POST", "/authz/airis.gateway.v1.AuthService/RevokeToken", "application/json"),
    Request("https", "GET", "/.well-known/jwks.json"),
    Request("https", "HEAD", "/.well-known/jwks.json"),
    Request("https", "POST", "/.well-known/jwks.json", "application/json"),
    Request("https", "POST", "/.well-known/jwks.json", GRPC),
    Request("https", "GET", "/"),
    Request("https", "HEAD", "/"),
    Request("https", "POST", "/", "application/x-www-form-urlencoded"),
    Request("https", "DELETE", "/traces/0af7651916cd43dd8448eb211c80319c"),
    Request("https", "GET", "/traces/0af7651916cd43dd8448eb211c80319c"),
    Request("otlp", "POST", "/opentelemetry.proto.collector.trace.v1.TraceService/Export", GRPC),
]

# Origins no CORS policy may let in (the mesh's admits the UI's dev server
# on loopback only; Kubernetes serves the UI from the API's own origin).
FOREIGN_ORIGINS = ["https://airis.example.com", "http://localhost.evil.example", "http://127.0.0.1.evil.example",
                   "http://localhost:8080.evil.example", "https://localhost:5173", "null"]
DEV_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:8080", "http://localhost"]

# Envoy's OutlierDetection defaults for the fields compared below.
ENVOY_OUTLIER_DEFAULTS = {
    "consecutive_5xx": 5, "enforcing_consecutive_5xx": 100,
    "consecutive_gateway_failure": 5, "enforcing_consecutive_gateway_failure": 0,
    "enforcing_success_rate": 100,
}


def istiod_outlier_detection(iod: dict) -> dict:
    """The Envoy OutlierDetection istiod builds from a DestinationRule's
    (pilot/pkg/networking/core/cluster_traffic_policy.go, applyOutlierDetection):
    success-rate ejection off; an explicit count turns its ejection on at
    100 %, an explicit 0 off; unset counts keep Envoy's defaults."""
    out: dict = {"enforcing_success_rate": 0}
    for src, count, enforcing in (("consecutive5xxErrors", "consecutive_5xx", "enforcing_consecutive_5xx"),
                                  ("consecutiveGatewayErrors", "consecutive_gateway_failure", "enforcing_consecutive_gateway_failure")):
        if iod.get(src) is not None:
            out[count] = iod[src]
            out[enforcing] = 100 if iod[src] > 0 else 0
    for src, dst in (("interval", "interval"), ("baseEjectionTime", "base_ejection_time")):
        if src in iod:
            out[dst] = iod[src]
    if iod.get("maxEjectionPercent", 0) > 0:
        out["max_ejection_percent"] = iod["maxEjectionPercent"]
    return out


def ejection(od: dict, kind: str) -> str:
    """How an Envoy OutlierDetection ejects on "5xx" or "gateway_failure"."""
    count = od.get(f"consecutive_{kind}", ENVOY_OUTLIER_DEFAULTS[f"consecutive_{kind}"])
    enforcing = od.get(f"enforcing_consecutive_{kind}", ENVOY_OUTLIER_DEFAULTS[f"enforcing_consecutive_{kind}"])
    return "off" if not enforcing or not count else f"after {count} in a row, enforced {enforcing} %"


def jwt_locations(headers: list, params: list, cookies: list) -> tuple[list, list]:
    """Where a JWT is read: Envoy and Istio try the Authorization header
    (Bearer) and the access_token query parameter when nothing is given."""
    if not headers and not params and not cookies:
        return [("authorization", "Bearer ")], ["access_token"]
    return headers, [f"?{p}" for p in params] + [f"cookie {c}" for c in cookies]


def proto_services(proto_dir: Path) -> list[str]:
    """Every service of the contracts (proto/airis/), fully qualified: the
    public API, which both edges must route."""
    out = []
    for f in sorted(proto_dir.glob("airis/**/*.proto")):
        text = re.sub(r"//[^\n]*", "", f.read_text())
        pkg = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.M)
        out += [f"{pkg.group(1) if pkg else ''}.{name}" for name in re.findall(r"^\s*service\s+(\w+)", text, re.M)]
    return out


def proto_streams(proto_dir: Path) -> list[str]:
    """Every streaming RPC of the contracts (proto/airis/), as its path
    /<package>.<Service>/<Method>: a call that may last as long as its
    client wants."""
    out = []
    for f in sorted(proto_dir.glob("airis/**/*.proto")):
        text = re.sub(r"//[^\n]*", "", f.read_text())
        pkg = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.M)
        for m in re.finditer(r"^\s*service\s+(\w+)\s*\{", text, re.M):
            depth, end = 1, m.end()
            while depth and end < len(text):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            for rpc in re.finditer(r"\brpc\s+(\w+)\s*\(\s*(stream\s+)?[\w.]+\s*\)\s*returns\s*\(\s*(stream\s+)?",
                                   text[m.end():end]):
                if rpc.group(2) or rpc.group(3):
                    out.append(f"/{pkg.group(1) if pkg else ''}.{m.group(1)}/{rpc.group(1)}")
    return out


def compare_mesh(r: Rendered, mesh: Mesh, meshcfg: dict | None, services: list[str], streams: list[str],
                 report: Report) -> None:
    # routes: timeouts and retries
    for listener, (mkey, mvalue), vsname, iuri in ROUTES:
        mrt = mesh.route_by_match(listener, mkey, mvalue)
        vs = r.get("VirtualService", vsname, "airis")
        irt = next((h for h in dig(vs, "spec", "http", default=[]) or []
                    if any(m.get("uri") == iuri for m in h.get("match") or [])), None)
        label = f"route {next(iter(iuri.values()))} ({vsname})"
        if mrt is None:
            report.fail(f"{label}: mesh/ingress.yaml has no route with {mkey} {mvalue} on listener {listener}")
            continue
        if irt is None:
            report.fail(f"{label}: istio/ has no VirtualService {vsname} route matching uri {iuri}")
            continue
        mr, rp, ir = mrt.get("route", {}), dig(mrt, "route", "retry_policy", default={}), irt.get("retries", {})
        report.same(f"{label} timeout", route_timeout(mr.get("timeout"), ENVOY_ROUTE_TIMEOUT),
                    route_timeout(irt.get("timeout"), ISTIO_ROUTE_TIMEOUT), timeout_seconds)
        report.same(f"{label} retries", rp.get("num_retries"), ir.get("attempts"))
        # Neither Envoy nor istiod sets a per-try timeout that is not given:
        # "none" on both sides is the policy for the API routes.
        report.same(f"{label} per-try timeout", rp.get("per_try_timeout"), ir.get("perTryTimeout"), seconds,
                    absent="none")
        report.same(f"{label} retry on", rp.get("retry_on"), ir.get("retryOn"), token_set)

    # canary weights
    mrt = mesh.route_by_match("ingress", "prefix", "/airis.analytics.v1.QueryService/")
    mw = {c["name"]: c.get("weight") for c in dig(mrt, "route", "weighted_clusters", "clusters", default=[]) or []}
    iw = {d["destination"].get("subset"): d.get("weight")
          for d in dig(r.get("VirtualService", "analytics", "airis"), "spec", "http", 0, "route", default=[]) or []}
    for cluster, (host, _, subset) in CLUSTER_TO_K8S.items():
        if host == "analytics" and subset:
            report.same(f"canary weight {cluster} / subset {subset}", mw.get(cluster), iw.get(subset))
    report.same("canary runtime keys (docs/canary.md)",
                dig(mrt, "route", "weighted_clusters", "runtime_key_prefix"), "routing.analytics")

    # pools and outlier detection
    for cluster, drname in POOLS:
        c = mesh.clusters.get(cluster)
        dr = r.get("DestinationRule", drname, "airis")
        if c is None:
            report.fail(f"cluster {cluster}: missing from mesh/ingress.yaml")
            continue
        if dr is None:
            report.fail(f"DestinationRule {drname}: missing from istio/")
            continue
        th = dig(c, "circuit_breakers", "thresholds", 0, default={})
        tp = dr["spec"].get("trafficPolicy", {})
        cp = tp.get("connectionPool", {})
        od, iod = c.get("outlier_detection"), tp.get("outlierDetection")
        label = f"{cluster} / DestinationRule {drname}"
        report.same(f"{label} max connections", th.get("max_connections"), dig(cp, "tcp", "maxConnections"))
        report.same(f"{label} max requests (http2MaxRequests)", th.get("max_requests"), dig(cp, "http", "http2MaxRequests"))
        report.same(f"{label} max pending (http1MaxPendingRequests)", th.get("max_pending_requests"), dig(cp, "http", "http1MaxPendingRequests"))
        report.same(f"{label} max retries", th.get("max_retries"), dig(cp, "http", "maxRetries"))
        if od is None or iod is None:
            report.fail(f"{label} outlier detection: mesh/ has {'none' if od is None else 'some'}, istio/ has {'none' if iod is None else 'some'}")
            continue
        eod = istiod_outlier_detection(iod)
        report.same(f"{label} consecutive gateway errors", od.get("consecutive_gateway_failure"), iod.get("consecutiveGatewayErrors"))
        report.same(f"{label} ejection on gateway errors", ejection(od, "gateway_failure"), ejection(eod, "gateway_failure"))
        report.same(f"{label} ejection on any 5xx", ejection(od, "5xx"), ejection(eod, "5xx"),
                    why="istiod keeps Envoy's default (5 consecutive 5xx, enforced) unless consecutive5xxErrors is set; 0 turns it off")
        report.same(f"{label} success-rate ejection (enforcing %)",
                    od.get("enforcing_success_rate", ENVOY_OUTLIER_DEFAULTS["enforcing_success_rate"]), eod["enforcing_success_rate"])
        report.same(f"{label} ejection interval", od.get("interval"), iod.get("interval"), seconds)
        report.same(f"{label} base ejection time", od.get("base_ejection_time"), iod.get("baseEjectionTime"), seconds)
        report.same(f"{label} max ejection percent", od.get("max_ejection_percent"), iod.get("maxEjectionPercent"))
        report.check(dig(tp, "tls", "mode") == "ISTIO_MUTUAL" and "transport_socket" in c,
                     f"{label} mTLS: mesh transport_socket tls, istio {dig(tp, 'tls', 'mode')}")
        # whom the ingress accepts at the other end: the identity in the
        # mesh's SAN (trust domain aside), the service account of the pods
        # behind the DestinationRule's host (the cluster's subset, if any).
        # The UI's files come from the gateway in mesh/, from a service of
        # their own in k8s: that pair has no identity to compare.
        if not (cluster == "gateway_http" and drname == "ui"):
            report.same(f"{label} mTLS peer identity (mesh SAN / istio service account)",
                        mesh_identities(c), k8s_identities(r, dr, CLUSTER_TO_K8S.get(cluster, (None, None, None))[2]))

    # fault injection: the drill's values in the chaos overlay, off elsewhere
    fault = dig(mrt, "typed_per_filter_config", "envoy.filters.http.fault")
    vfault = dig(r.get("VirtualService", "analytics", "airis"), "spec", "http", 0, "fault")
    if fault is None:
        report.fail("fault: mesh/ingress.yaml's analytics route has no envoy.filters.http.fault config")
    elif r.name == "chaos":
        if not report.check(vfault is not None, "fault: the chaos overlay injects faults on the analytics route"):
            vfault = {}
        report.same("fault abort HTTP status", dig(fault, "abort", "http_status"), dig(vfault, "abort", "httpStatus"))
        status = dig(vfault, "abort", "grpcStatus")
        if status is not None or dig(fault, "abort", "grpc_status") is not None:
            report.same("fault abort gRPC status", dig(fault, "abort", "grpc_status"), GRPC_CODES.get(status, status))
        report.same("fault fixed delay", dig(fault, "delay", "fixed_delay"), dig(vfault, "delay", "fixedDelay"), seconds)
        for kind, key in (("abort", "abort_percent_runtime"), ("delay", "delay_percent_runtime")):
            runtime = fault.get(key)
            value = mesh.chaos.get(runtime) if runtime else None
            if runtime and value is None:
                report.fail(f"fault {kind} percent: mesh/chaos.env has no line {runtime}=...")
            report.same(f"fault {kind} percent (mesh/chaos.env {runtime})", value,
                        dig(vfault, kind, "percentage", "value"), float)
    else:
        report.same("fault off outside drills: abort percent", dig(fault, "abort", "percentage", "numerator"),
                    0 if vfault is None else dig(vfault, "abort", "percentage", "value", default=0))
        report.same("fault off outside drills: delay percent", dig(fault, "delay", "percentage", "numerator"),
                    0 if vfault is None else dig(vfault, "delay", "percentage", "value", default=0))

    # tokens at the edge
    jwt = mesh.filter("ingress", "envoy.filters.http.jwt_authn") or {}
    prov = next(iter((jwt.get("providers") or {}).values()), {})
    ra = r.get("RequestAuthentication", "airis-jwt", "istio-system")
    rule = dig(ra, "spec", "jwtRules", 0, default={})
    report.same("JWT claims forwarded as headers",
                {(c["header_name"], c["claim_name"]) for c in prov.get("claim_to_headers", [])},
                {(c["header"], c["claim"]) for c in rule.get("outputClaimToHeaders", [])})
    report.same("JWT original token forwarded", prov.get("forward", False), rule.get("forwardOriginalToken", False))
    report.same("JWKS path", urlpath(dig(prov, "remote_jwks", "http_uri", "uri")), urlpath(rule.get("jwksUri")))
    # where the token is read: the RequestAuthentication serves both listeners
    ih = rule.get("fromHeaders")
    ih = [(h.get("name", "").lower(), h.get("prefix", "")) for h in ih] if ih else None
    iloc = jwt_locations(ih or [], rule.get("fromParams") or [], rule.get("fromCookies") or [])
    for listener in ("ingress", "otlp"):
        lj = mesh.filter(listener, "envoy.filters.http.jwt_authn") or {}
        lprov = next(iter((lj.get("providers") or {}).values()), {})
        mh = lprov.get("from_headers")
        mh = [(h.get("name", "").lower(), h.get("value_prefix", "")) for h in mh] if mh else None
        mloc = jwt_locations(mh or [], lprov.get("from_params") or [], lprov.get("from_cookies") or [])
        report.same(f"listener {listener}: JWT read from headers (name, prefix), stated", mh, ih)
        report.same(f"listener {listener}: JWT read from query parameters or cookies", mloc[1], iloc[1])
    hm = mesh.filter("ingress", "envoy.filters.http.header_mutation") or {}
    ef = r.get("EnvoyFilter", "airis-ingress-filters", "istio-system")
    patches = {dig(cp, "patch", "value", "name"): cp for cp in dig(ef, "spec", "configPatches", default=[]) or []
               if cp.get("applyTo") == "HTTP_FILTER"}
    efv = dig(patches.get("envoy.filters.http.header_mutation"), "patch", "value", "typed_config", default={})
    report.same("client-sent claim headers removed",
                {m.get("remove") for m in dig(hm, "mutations", "request_mutations", default=[])},
                {m.get("remove") for m in dig(efv, "mutations", "request_mutations", default=[])})
    # The filter order: the mesh's as written, Istio's as istiod builds it
    # (ext_authz before jwt_authn) with the EnvoyFilter's patches applied.
    names = mesh.filter_names("ingress")
    ichain, dropped = istio_ingress_filters(r)
    inames = [n for n, _ in ichain]
    report.check(not dropped, f"ingress HTTP filters, istiod's chain with the EnvoyFilter's patches: {' > '.join(inames)}",
                 "; ".join(dropped))

    def before_token_checks(chain: list[str], name: str) -> bool:
        checks = [i for i, n in enumerate(chain) if n in TOKEN_CHECKS]
        return name in chain and bool(checks) and chain.index(name) < min(checks)

    report.same("client-sent claim headers removed before the token checks (ext_authz, jwt_authn, rbac set or act on them)",
                before_token_checks(names, HEADER_MUTATION), before_token_checks(inames, HEADER_MUTATION))
    report.same("gRPC-Web translated at the edge, before the token checks (ext_authz, jwt_authn, rbac)",
                before_token_checks(names, GRPC_WEB_FILTER), before_token_checks(inames, GRPC_WEB_FILTER))
    order = [n for n in names if n in patches]
    report.same("order of the added filters", order, [n for n in inames if n in patches])

    # the rate limit: after gRPC-Web and the token checks, so a refusal reaches
    # gRPC-Web clients as a gRPC status; in Istio, right before the router
    later = (GRPC_WEB_FILTER, JWT_AUTHN, EXT_AUTHZ)

    def after_checks(chain: list[str]) -> bool:
        if RATELIMIT not in chain:
            return False
        at = chain.index(RATELIMIT)
        return all(n in chain and chain.index(n) < at for n in later) and \
            all(i < at for i, n in enumerate(chain) if n in TOKEN_CHECKS)

    rl = patches.get(RATELIMIT)
    report.same("local_ratelimit after grpc_web, jwt_authn and ext_authz", after_checks(names), after_checks(inames))
    report.same("local_ratelimit: no listener-wide bucket", dig(mesh.filter("ingress", RATELIMIT), "token_bucket"),
                dig(rl, "patch", "value", "typed_config", "token_bucket"), absent="none")
    login = Request("https", "POST", LOGIN, GRPC)
    ml, il = mesh.edge(login)["ratelimit"], istio_edge(r, login)["ratelimit"]
    for what, path, norm in (("max tokens", ("token_bucket", "max_tokens"), int),
                             ("tokens per fill", ("token_bucket", "tokens_per_fill"), int),
                             ("fill interval", ("token_bucket", "fill_interval"), seconds)):
        report.same(f"Login rate limit {what}", dig(ml, *path), dig(il, *path), norm)
    report.same("Login rate limit enabled %", percent(dig(ml, "filter_enabled")), percent(dig(il, "filter_enabled")))
    report.same("Login rate limit enforced %", percent(dig(ml, "filter_enforced")), percent(dig(il, "filter_enforced")))

    # each listener: one spelling of each path, a deadline for the headers
    hcm_patch = next((dig(cp, "patch", "value", "typed_config", default={}) for cp in dig(ef, "spec", "configPatches", default=[]) or []
                      if cp.get("applyTo") == "NETWORK_FILTER" and dig(cp, "patch", "operation") == "MERGE"), {})
    for key, norm in (("normalize_path", None), ("merge_slashes", None), ("path_with_escaped_slashes_action", None),
                      ("request_headers_timeout", seconds)):
        for listener in ("ingress", "otlp"):
            report.same(f"listener {listener}: {key}", (mesh.hcm(listener) or {}).get(key), hcm_patch.get(key),
                        norm or (lambda x: x))

    # CORS: the mesh's admits the UI's dev server only; in Kubernetes the UI
    # is same-origin, so istio/ has none (docs/kubernetes.md)
    mcors = mesh.cors_policies("ingress")
    icors = [(vs["metadata"]["name"], h.get("name"), h["corsPolicy"]) for vs in r.all("VirtualService")
             for h in dig(vs, "spec", "http", default=[]) or [] if "corsPolicy" in h]

    def mesh_allows(origin: str) -> bool:
        return any(envoy_string_matches(m, origin) for p in mcors for m in p.get("allow_origin_string_match", []))

    def istio_allows(origin: str) -> bool:
        return any(istio_string_matches(m, origin) for _, _, p in icors for m in p.get("allowOrigins", []))

    report.check(bool(mcors) and all(mesh_allows(o) for o in DEV_ORIGINS),
                 f"mesh CORS admits the UI's dev server ({', '.join(DEV_ORIGINS)})",
                 f"admitted: {[o for o in DEV_ORIGINS if mesh_allows(o)]}")
    report.check(not icors, "istio/ has no corsPolicy (the UI is served from the API's origin)",
                 f"corsPolicy on {[f'{v}/{n}' for v, n, _ in icors]}")
    for origin in FOREIGN_ORIGINS:
        report.same(f"CORS: origin {origin} admitted", mesh_allows(origin), istio_allows(origin))

    # revocation check
    authz = mesh.filter("ingress", "envoy.filters.http.ext_authz") or {}
    provs = {p["name"]: p for p in (meshcfg or {}).get("extensionProviders", [])}
    custom = [ap for ap in r.all("AuthorizationPolicy", "istio-system") if dig(ap, "spec", "action") == "CUSTOM"]
    pname = dig(custom[0], "spec", "provider", "name") if custom else None
    prov = dig(provs.get(pname), "envoyExtAuthzHttp", default={})
    report.check(bool(custom) and pname in provs, f"CUSTOM AuthorizationPolicy uses extension provider {pname!r}, defined in the mesh config",
                 f"providers defined: {sorted(provs)}")
    report.same("revocation check path prefix", dig(authz, "http_service", "path_prefix"), prov.get("pathPrefix"))
    report.same("revocation check timeout", dig(authz, "http_service", "server_uri", "timeout"), prov.get("timeout"), seconds)
    report.same("revocation check fails closed", authz.get("failure_mode_allow", False), prov.get("failOpen", False))
    report.same("revocation check request headers",
                {p.get("exact") for p in dig(authz, "allowed_headers", "patterns", default=[])},
                set(prov.get("includeRequestHeadersInCheck", [])))
    report.same("revocation check headers set upstream",
                {p.get("exact") for p in dig(authz, "http_service", "authorization_response", "allowed_upstream_headers", "patterns", default=[])},
                set(prov.get("headersToUpstreamOnAllow", [])))
    gsvc = r.get("Service", "gateway", "airis")
    report.check(prov.get("service") == "gateway.airis.svc.cluster.local"
                 and prov.get("port") in [p["port"] for p in dig(gsvc, "spec", "ports", default=[]) if p["name"].startswith("http")],
                 f"revocation provider targets {prov.get('service')}:{prov.get('port')}, the gateway's HTTP port")

    # every public service: routed at both edges (not the 404 for services
    # that are none of ours), behind a token
    report.check(bool(services), f"public services in proto/airis/: {', '.join(services)}")
    public = [Request("https", "POST", f"/{svc}/Call", GRPC) for svc in services]
    for req in public:
        for side, e in (("mesh/ingress.yaml", mesh.edge(req)), ("istio/", istio_edge(r, req))):
            report.check(e["token"] and not any(d[0] == "direct response" for d in e["route"] or []),
                         f"edge {req}: {side} routes it to a service, behind a token",
                         f"routed to {e['route']}, token required: {e['token']}")

    # every streaming RPC: routed at both edges with no route timeout, which
    # would end the stream (over gRPC and gRPC-Web alike)
    report.ok(f"streaming RPCs in proto/airis/: {', '.join(streams) or 'none'}")
    streaming = [Request("https", "POST", path, ct) for path in streams for ct in (GRPC, GRPC_WEB)]
    for req in streaming:
        for side, e in (("mesh/ingress.yaml", mesh.edge(req)), ("istio/", istio_edge(r, req))):
            report.check(e["timeout"] is not None and timeout_seconds(e["timeout"]) == 0,
                         f"edge {req}: a stream, {side} routes it with no route timeout: {e['timeout']}",
                         f"routed to {e['route']} with timeout {e['timeout']}: the stream would be cut")

    # the same request, the same treatment
    for req in dict.fromkeys(EDGE_REQUESTS + public + streaming):
        m = mesh.edge(req)
        i = istio_edge(r, req)
        report.same(f"edge {req}: token required", m["token"], i["token"])
        report.same(f"edge {req}: revocation checked", m["revocation"], i["revocation"])
        # Without a token: where the revocation check runs, both refuse with
        # 401 (the local ingress's jwt_authn, Istio's ext_authz, which istiod
        # puts first); elsewhere Istio's DENY policy answers 403 where the
        # local jwt_authn answers 401 (docs/kubernetes.md).
        want, label = m["tokenless"], f"edge {req}: without a token"
        if want is not None and want.status == 401 and i["token"] and not i["revocation"]:
            want, label = Refusal(403, want.encoding), label + " (the mesh's 401 from jwt_authn, in Istio 403 from rbac)"
        report.same(label, want, i["tokenless"], str, absent="not refused")
        report.same(f"edge {req}: routed to", k8s_dest(m["route"], req.path), i["route"], lambda d: sorted(map(str, d)))
        report.same(f"edge {req}: route timeout", m["timeout"], i["timeout"], timeout_seconds,
                    absent="none (answered at the edge)")
        report.same(f"edge {req}: rate limit", bucket(m["ratelimit"]), bucket(i["ratelimit"]))


def mesh_identities(cluster: dict) -> list[str] | None:
    """The workload identities (ns/<ns>/sa/<sa>) a mesh cluster's TLS accepts."""
    sans = dig(cluster, "transport_socket", "typed_config", "common_tls_context", "validation_context",
               "match_typed_subject_alt_names", default=[]) or []
    out = sorted({re.sub(r"^spiffe://[^/]+/", "", s) for s in (dig(m, "matcher", "exact") for m in sans) if s})
    return out or None


def k8s_identities(r: Rendered, dr: dict, subset: str | None) -> list[str] | None:
    """The identities (ns/<ns>/sa/<sa>) of the pods behind a DestinationRule's
    host, in one of its subsets if given."""
    m = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", dig(dr, "spec", "host", default=""))
    svc = m and r.get("Service", m.group(1), m.group(2))
    if not svc:
        return None
    labels = dict(svc["spec"].get("selector") or {})
    if subset:
        sub = next((s for s in dig(dr, "spec", "subsets", default=[]) or [] if s.get("name") == subset), None)
        if sub is None:
            return None
        labels.update(sub.get("labels") or {})
    out = sorted({f"ns/{w.namespace}/sa/{w.sa}" for w in workloads(r)
                  if w.namespace == m.group(2) and all(w.labels.get(k) == v for k, v in labels.items())})
    return out or None


def urlpath(u: str | None) -> str | None:
    if not u:
        return None
    return re.sub(r"^\w+://[^/]+", "", u)


def k8s_dest(route: list | None, path: str) -> list | None:
    """A mesh route's clusters as the Kubernetes destinations they stand for."""
    if route is None:
        return None
    out = []
    for cluster, _weight in route:
        if cluster == "direct response":
            out.append((cluster, _weight))
            continue
        host, port, subset = CLUSTER_TO_K8S.get(cluster, (cluster, None, None))
        if cluster == "gateway_http" and not path.startswith("/.well-known/"):
            host, port = "ui", 4340  # the UI's files have their own service in k8s
        out.append((host, port, subset))
    return out


def check_istio_internal(r: Rendered, report: Report) -> None:
    """VirtualServices, DestinationRules and the Gateway refer to what exists."""
    root = r.get("VirtualService", "airis-ingress", "airis")
    gw = r.get("Gateway", "airis-ingress", "airis")
    if not report.check(root is not None and gw is not None, "Gateway and root VirtualService airis-ingress exist"):
        return
    ports = {s["port"]["number"]: s for s in gw["spec"]["servers"]}
    report.check(dig(ports.get(443), "tls", "credentialName") and dig(ports.get(443), "port", "protocol") == "HTTPS",
                 f"Gateway: HTTPS 443 with credentialName {dig(ports.get(443), 'tls', 'credentialName')}")
    report.check(4317 in ports and dig(ports.get(4317), "tls", "credentialName"), "Gateway: OTLP port 4317 with TLS")
    report.check(root["spec"].get("gateways") == [f"airis/{gw['metadata']['name']}"], "root VirtualService is bound to the Gateway")
    drs = {d["spec"]["host"]: d for d in r.all("DestinationRule")}
    n = 0
    for route in root["spec"]["http"]:
        if "directResponse" in route:
            continue
        d = route.get("delegate")
        vs = r.get("VirtualService", d["name"], d.get("namespace")) if d else None
        if not report.check(vs is not None, f"root route {route.get('name')} delegates to VirtualService {dig(d, 'name')}"):
            continue
        if vs["spec"].get("hosts") or vs["spec"].get("gateways"):
            report.fail(f"VirtualService {vs['metadata']['name']}: a delegate must have no hosts or gateways")
        for h in vs["spec"]["http"]:
            total = sum(x.get("weight", 100 if len(h["route"]) == 1 else 0) for x in h["route"])
            if total != 100:
                report.fail(f"VirtualService {vs['metadata']['name']}: weights add up to {total}")
            for x in h["route"]:
                dest = x["destination"]
                m = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", dest["host"])
                svc = m and r.get("Service", m.group(1), m.group(2))
                if not svc or dig(dest, "port", "number") not in [p["port"] for p in svc["spec"]["ports"]]:
                    report.fail(f"VirtualService {vs['metadata']['name']}: {dest['host']}:{dig(dest, 'port', 'number')} is not a Service port")
                    continue
                if dest.get("subset"):
                    dr = drs.get(dest["host"])
                    sub = next((s for s in dig(dr, "spec", "subsets", default=[]) or [] if s["name"] == dest["subset"]), None)
                    pods = [w for w in workloads(r) if w.namespace == m.group(2)
                            and all(w.labels.get(k) == v for k, v in svc["spec"]["selector"].items())
                            and sub and all(w.labels.get(k) == v for k, v in sub["labels"].items())]
                    if not pods:
                        report.fail(f"VirtualService {vs['metadata']['name']}: subset {dest['subset']} of {dest['host']} selects no pods")
                n += 1
    report.check(n >= 7, f"{n} route destinations resolve to Service ports, subsets to pods")
    routes, dropped = istio_routes(r)
    for d in dropped:
        report.fail(d)
    report.check(not dropped, f"every delegate route's match lies within its root route's ({len(routes)} merged routes)")
    for name in {rt.name for rt in routes} - {None}:
        if sum(1 for rt in routes if rt.name == name) > 1:
            report.fail(f"ingress route name {name} is not unique: EnvoyFilter route patches could not tell the routes apart")
    for cp in ingress_envoyfilter_patches(r):
        if cp.get("applyTo") == "HTTP_ROUTE":
            rname = dig(cp, "match", "routeConfiguration", "vhost", "route", "name")
            report.check(rname in {rt.name for rt in routes},
                         f"EnvoyFilter route patch targets route {rname!r}, an ingress route (root route-delegate route)",
                         f"ingress routes: {sorted(str(rt.name) for rt in routes)}")
    for host in ("analytics", "aiops", "delta", "gateway", "receiver", "ui"):
        dr = drs.get(f"{host}.airis.svc.cluster.local")
        report.check(dr is not None and dig(dr, "spec", "trafficPolicy", "tls", "mode") == "ISTIO_MUTUAL"
                     and dig(dr, "spec", "trafficPolicy", "outlierDetection") and dig(dr, "spec", "trafficPolicy", "connectionPool"),
                     f"DestinationRule {host}: ISTIO_MUTUAL, connection pool, outlier detection")
    for dr in r.all("DestinationRule"):
        if dig(dr, "spec", "trafficPolicy", "tls", "mode") != "ISTIO_MUTUAL":
            report.fail(f"DestinationRule {dr['metadata']['name']}: tls mode is not ISTIO_MUTUAL")
    cfg = tomllib.loads(r.configmap_file("airis-config", "airis", "airis.toml") or "")
    ra = r.get("RequestAuthentication", "airis-jwt", "istio-system")
    rule = dig(ra, "spec", "jwtRules", 0, default={})
    report.check(rule.get("issuer") == dig(cfg, "gateway", "issuer") and dig(cfg, "gateway", "audience") in rule.get("audiences", []),
                 f"RequestAuthentication issuer {rule.get('issuer')!r} / audience {rule.get('audiences')} = the gateway's config")
    report.check(rule.get("jwksUri") == "http://gateway.airis.svc.cluster.local:4331/.well-known/jwks.json",
                 f"RequestAuthentication jwksUri {rule.get('jwksUri')}")
    heads = {c["header"] for c in rule.get("outputClaimToHeaders", [])}
    report.check(heads == {dig(cfg, "auth", "tenant_header"), dig(cfg, "auth", "role_header")},
                 f"claim headers {sorted(heads)} are the services' auth.tenant_header / role_header")
    vfault_elsewhere = [v["metadata"]["name"] for v in r.all("VirtualService") for h in v["spec"].get("http", [])
                        if "fault" in h and v["metadata"]["name"] != "analytics"]
    report.check(not vfault_elsewhere, "fault injection only on the analytics route", f"also on {vfault_elsewhere}")


# ---------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    ap.add_argument("--istio-dir", type=Path, help="default: <repo>/istio")
    ap.add_argument("--mesh-dir", type=Path, help="default: <repo>/mesh")
    ap.add_argument("--kustomize", required=True)
    ap.add_argument("--crds", type=Path, required=True, help="istio.io/api kubernetes/customresourcedefinitions.gen.yaml")
    ap.add_argument("--rollout-crds", type=Path,
                    help="Flagger's and Argo Rollouts' CRDs in one file (scripts/infra.sh install k8s)")
    ap.add_argument("--istio-version", default="?")
    ap.add_argument("--kubernetes", default="1.29.0,1.37.0", help="comma-separated Kubernetes versions to validate against")
    ap.add_argument("--envoy")
    ap.add_argument("--meshconfig-check")
    ap.add_argument("--airis", help="an airis binary: also load each service's configuration with it")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every passing check")
    args = ap.parse_args()
    istio_dir = args.istio_dir or args.repo / "istio"
    mesh_dir = args.mesh_dir or args.repo / "mesh"
    services = proto_services(args.repo / "proto")
    streams = proto_streams(args.repo / "proto")
    report = Report(args.verbose)

    report.section("render (kustomize)")
    rendered = [x for x in (render(args.kustomize, istio_dir, o, report) for o in OVERLAYS) if x]
    rollouts = [x for x in (render(args.kustomize, istio_dir, o, report, "rollouts") for o in ROLLOUTS) if x]

    report.section("schemas")
    k8s = [k8s_schemas.KubernetesSchemas(v) for v in args.kubernetes.split(",")]
    crds = k8s_schemas.load_crds(args.crds)
    seen: set = set()
    for r in rendered:
        print(f"  -- {r.name}")
        report.context = r.name
        validate_schemas(r, k8s, crds, args.istio_version, report)
        validate_envoyfilters(r, args.envoy, report, seen)
    report.context = ""
    rcrds = k8s_schemas.load_crds(args.rollout_crds) if args.rollout_crds else None
    rversion = rollout_crds_version(args.rollout_crds) if args.rollout_crds else "?"
    for rr in rollouts:
        print(f"  -- rollouts/{rr.name}")
        validate_rollout_schemas(rr, rcrds, rversion, k8s, report)
    meshcfg = validate_meshconfig(args.meshconfig_check, istio_dir / "install" / "istio-operator.yaml", report)
    if args.airis:
        for r in rendered:
            print(f"  -- {r.name}: configuration loaded by {args.airis}")
            report.context = r.name
            validate_airis_config(args.airis, r, report)
        report.context = ""

    mesh = None
    try:
        mesh = Mesh.load(mesh_dir)
    except (OSError, yaml.YAMLError) as e:
        report.fail(f"cannot read {mesh_dir}/ingress.yaml: {e}")
    def guarded(check: Callable, *a: Any) -> None:
        # a manifest shaped differently than expected is a failure, not a crash
        try:
            check(*a)
        except Exception as e:  # noqa: BLE001
            report.fail(f"{check.__name__} on {a[0].name}: stopped by {type(e).__name__}: {e}")

    for r in rendered:
        report.context = r.name
        report.section(f"istio/overlays/{r.name}: objects, references, workloads", quiet=True)
        for check in (check_objects, check_pods, check_data_tier, check_config, check_singletons, check_istio_internal):
            guarded(check, r, report)
        report.section(f"istio/overlays/{r.name}: who may talk to whom (NetworkPolicy and AuthorizationPolicy, flow by flow)")
        guarded(check_flows, r, report)
        guarded(check_search_asks, r, mesh_dir, report)
        for call in SEARCH_CALLS:
            guarded(check_search_call, r, mesh_dir, call, report)
        # the same calls in every overlay; listed once, for prod
        report.section(f"istio/overlays/{r.name}: the rollout controllers' calls of delta (istio/rollouts/)",
                       quiet=r.name != "prod")
        guarded(check_rollout_calls, r, rollouts, report)
        if mesh is not None:
            # dev has prod's numbers; they are listed once, for prod and chaos
            report.section(f"istio/overlays/{r.name} == mesh/ingress.yaml + mesh/chaos.env", quiet=r.name == "dev")
            guarded(compare_mesh, r, mesh, meshcfg, services, streams, report)
    report.flush()
    report.context = ""

    print()
    if len(rendered) != len(OVERLAYS):
        report.fail("not every overlay rendered")
    if len(rollouts) != len(ROLLOUTS):
        report.fail("not every istio/rollouts/ example rendered")
    if report.failed:
        print(f"check-istio: {len(report.failed)} FAILED, {report.passed} ok:")
        for f in report.failed:
            print(f"  - {f}")
        return 1
    print(f"check-istio: all {report.passed} checks ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
