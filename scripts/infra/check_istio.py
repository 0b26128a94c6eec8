#!/usr/bin/env python3
"""Offline checks of istio/ (run by scripts/check-istio.sh).

1. Renders every overlay with kustomize.
2. Validates every rendered object: Kubernetes kinds against the strict
   schemas of kubernetes-validate, Istio kinds against istio.io/api's CRD
   schemas (structure, unknown fields, CEL rules); the EnvoyFilter patch
   with Envoy itself; the mesh config of istio/install/ with istio.io/api's
   MeshConfig message.
3. Checks the deployment against itself: the objects that must exist, the
   references between them (services, subsets, service accounts, config),
   workload hygiene, and who may talk to whom under the NetworkPolicies and
   under the AuthorizationPolicies, flow by flow.
4. Compares the policy numbers with mesh/ingress.yaml and mesh/chaos.env:
   route timeouts and retries, canary weights, pool limits, outlier
   detection, fault injection, the edge's token rules and revocation check.

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
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import k8s_schemas  # noqa: E402

OVERLAYS = ["dev", "prod", "chaos"]
ISTIO_GROUPS = {"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"}
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

    def same(self, what: str, mesh: Any, istio: Any, norm: Callable[[Any], Any] = lambda x: x) -> bool:
        """One mesh-vs-istio comparison, printed either way."""
        try:
            equal = mesh is not None and istio is not None and norm(mesh) == norm(istio)
        except (TypeError, ValueError):
            equal = False
        line = f"{what}: mesh {show(mesh)} == istio {show(istio)}"
        if equal:
            self.ok(line)
        else:
            self.fail(f"{what}: mesh/ has {show(mesh)} but istio/ has {show(istio)}")
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


def render(kustomize: str, istio_dir: Path, overlay: str, report: Report) -> Rendered | None:
    path = istio_dir / "overlays" / overlay
    proc = subprocess.run([kustomize, "build", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        report.fail(f"kustomize build {path}: {proc.stderr.strip()}")
        return None
    objects = [d for d in yaml.safe_load_all(proc.stdout) if d]
    report.check(len(objects) > 0, f"kustomize build istio/overlays/{overlay}: {len(objects)} objects")
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
                    report.check(proc.returncode == 0,
                                 f"{kind} {w['metadata']['name']}: `airis config` accepts airis.toml and its AIRIS_* environment",
                                 (proc.stderr or proc.stdout).strip()[-600:])


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
    "ui": ("Deployment", "airis", ["serve", "ui"], "ui"),
    "airis-migrate": ("Job", "airis", ["migrate"], "migrate"),
    "clickhouse": ("StatefulSet", "airis-data", None, "clickhouse"),
    "clickhouse-keeper": ("StatefulSet", "airis-data", None, "clickhouse-keeper"),
    "kafka": ("StatefulSet", "airis-data", None, "kafka"),
    "redis": ("StatefulSet", "airis-data", None, "redis"),
    "clickhouse-backup": ("CronJob", "airis-data", None, "clickhouse-backup"),
}
# HPA name -> (target, min replicas per overlay, max)
EXPECTED_HPAS = {
    "gateway": ("gateway", {"dev": 1, "prod": 2, "chaos": 2}, 10),
    "receiver": ("receiver", {"dev": 1, "prod": 1, "chaos": 1}, 5),
    "ui": ("ui", {"dev": 1, "prod": 2, "chaos": 2}, 8),
}
EXPECTED_REPLICAS = {
    "loader": {"dev": 1, "prod": 3, "chaos": 3},
    "analytics-v1": {"dev": 1, "prod": 2, "chaos": 2},
    "analytics-v2": {"dev": 1, "prod": 1, "chaos": 1},
    "clickhouse": {"dev": 3, "prod": 3, "chaos": 3},
    "clickhouse-keeper": {"dev": 3, "prod": 3, "chaos": 3},
    "kafka": {"dev": 3, "prod": 3, "chaos": 3},
    "redis": {"dev": 1, "prod": 1, "chaos": 1},
}
EXPECTED_PDB_MIN = {"clickhouse": 2, "clickhouse-keeper": 2, "kafka": 2}
EXPECTED_STORAGE = {"clickhouse": "fast-ssd", "kafka": "fast-ssd", "redis": "standard-ssd", "clickhouse-keeper": "standard-ssd"}

# Who may talk to whom (source workload -> destination workload: ports).
# Everything else between these workloads must be refused, by the
# NetworkPolicies and by the AuthorizationPolicies alike.
ALLOWED_FLOWS = {
    ("istio-ingressgateway", "gateway"): {4330, 4331},
    ("istio-ingressgateway", "receiver"): {4317},
    ("istio-ingressgateway", "analytics-v1"): {4320},
    ("istio-ingressgateway", "analytics-v2"): {4320},
    ("istio-ingressgateway", "ui"): {4340},
    ("receiver", "kafka"): {9092},
    ("loader", "kafka"): {9092},
    ("loader", "clickhouse"): {8123},
    ("analytics-v1", "clickhouse"): {8123},
    ("analytics-v2", "clickhouse"): {8123},
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
            if not re.fullmatch(r"airis-mon/airis:[A-Za-z0-9._-]+", image):
                report.fail(f"{kind} {name}: image {image!r} is not airis-mon/airis:<tag>")
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
    for name, n in EXPECTED_PDB_MIN.items():
        p = r.get("PodDisruptionBudget", name, "airis-data")
        got = dig(p, "spec", "minAvailable")
        ok = p is not None and got == n and any(selects(p["spec"]["selector"], w.labels)
                                                for w in ws.values() if w.name == name)
        report.check(ok, f"PodDisruptionBudget {name}: minAvailable {got}, selects its pods", f"expected minAvailable {n}")
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
    for key in ("ingestion.receiver.listen", "analytics.listen", "gateway.listen", "gateway.http_listen", "ui.listen"):
        v = dig(cfg, *key.split("."))
        report.check(isinstance(v, str) and v.startswith("0.0.0.0:"), f"airis.toml {key} = {v!r} (all addresses: Istio forwards to the pod IP)")
    report.check(dig(cfg, "auth", "tenant_header") == "x-airis-tenant" and dig(cfg, "auth", "role_header") == "x-airis-role",
                 f"airis.toml auth.tenant_header / role_header = {dig(cfg, 'auth', 'tenant_header')!r} / {dig(cfg, 'auth', 'role_header')!r}")
    # the ports the services listen on are the ports their Deployments expose
    ports = {"ingestion.receiver.listen": "receiver", "analytics.listen": "analytics-v1",
             "gateway.listen": "gateway", "gateway.http_listen": "gateway", "ui.listen": "ui"}
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
        users = ET.fromstring(users_xml).find("users")
        env_users = {}
        for w in workloads(r):
            for c in w.pod["spec"]["containers"]:
                for e in c.get("env", []):
                    if e["name"] == "AIRIS_CLICKHOUSE__USER":
                        env_users[w.name] = e["value"]
        for wname, user in sorted(env_users.items()):
            report.check(users is not None and users.find(user) is not None, f"{wname} signs in to ClickHouse as {user}, a defined user")
        reader = env_users.get("analytics-v1")
        if reader and users is not None and users.find(reader) is not None:
            profile = users.find(reader).findtext("profile")
            ro = ET.fromstring(users_xml).findtext(f"profiles/{profile}/readonly")
            report.check(ro == "2", f"ClickHouse user {reader}: profile {profile} readonly={ro} (reads only; per-query limits allowed)")
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
    for key in ("clickhouse.url", "analytics.cache.redis_url", "gateway.redis_url"):
        url = dig(cfg, *key.split("."), default="")
        m = re.match(r"^\w+://([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$", url)
        svc = m and r.get("Service", m.group(1), m.group(2))
        report.check(bool(svc) and int(m.group(3)) in [p["port"] for p in svc["spec"]["ports"]],
                     f"{key} {url} is a Service port")


# -- who may talk to whom ------------------------------------------------------


def namespace_labels(r: Rendered) -> dict[str, dict]:
    out = {"istio-system": {"kubernetes.io/metadata.name": "istio-system"},
           "kube-system": {"kubernetes.io/metadata.name": "kube-system"}}
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


def ap_rule_matches(rule: dict, principal: str, namespace: str, port: int) -> bool:
    """L4 view of an AuthorizationPolicy rule: source identity and port.
    HTTP conditions (paths, methods) are taken as satisfiable."""
    froms = rule.get("from")
    if froms:
        def src_ok(s: dict) -> bool:
            s = s.get("source", {})
            if "principals" in s and not any(ap_value_matches(p, principal) for p in s["principals"]):
                return False
            if any(ap_value_matches(p, principal) for p in s.get("notPrincipals", [])):
                return False
            if "namespaces" in s and not any(ap_value_matches(n, namespace) for n in s["namespaces"]):
                return False
            return True
        if not any(src_ok(f) for f in froms):
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


def check_flows(r: Rendered, report: Report) -> None:
    ws = [w for w in workloads(r)]
    nslabels = namespace_labels(r)
    sources = ws + [INGRESS]
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
    sas = {f"cluster.local/ns/{s['metadata']['namespace']}/sa/{s['metadata']['name']}" for s in r.all("ServiceAccount")} | {INGRESS_SA}
    named = {p for ap in r.all("AuthorizationPolicy") for ru in (ap.get("spec") or {}).get("rules", [])
             for f in ru.get("from", []) for p in f.get("source", {}).get("principals", [])}
    report.check(named and named <= sas, f"AuthorizationPolicies name {len(named)} principals, all existing service accounts",
                 "unknown: " + ", ".join(sorted(named - sas)))
    for ap in r.all("AuthorizationPolicy"):
        sel = dig(ap, "spec", "selector")
        if sel and ap["metadata"]["namespace"] != "istio-system" and not any(
                selects(sel, w.labels) for w in ws if w.namespace == ap["metadata"]["namespace"]):
            report.fail(f"AuthorizationPolicy {ap['metadata']['name']}: selector {sel} selects no pods")


# -- the edge ------------------------------------------------------------------


def istio_path_matches(pattern: str, path: str) -> bool:
    return ap_value_matches(pattern, path)


def istio_edge(r: Rendered, listener: str, path: str, grpc: bool) -> dict:
    """What the Istio ingress does with one request: destination, whether a
    token is required, whether the revocation check runs."""
    port = {"https": 443, "otlp": 4317}[listener]
    dest = None
    root = r.get("VirtualService", "airis-ingress", "airis")
    headers = {"content-type": "application/grpc" if grpc else "text/html"}
    for route in dig(root, "spec", "http", default=[]) or []:
        if not any(m.get("port", port) == port and uri_matches(m.get("uri"), path)
                   and all(uri_matches(v, headers.get(k, "")) for k, v in (m.get("headers") or {}).items())
                   for m in route.get("match", [{}])):
            continue
        if "directResponse" in route:
            dest = [("direct response", route["directResponse"].get("status"))]
            break
        d = route.get("delegate")
        vs = r.get("VirtualService", d["name"], d.get("namespace", "airis")) if d else root
        for sub in dig(vs, "spec", "http", default=[]) or []:
            if all(uri_matches(m.get("uri"), path) for m in sub.get("match", [{}])[:1]):
                dest = [(x["destination"]["host"].split(".")[0], dig(x, "destination", "port", "number"),
                         x["destination"].get("subset")) for x in sub["route"]]
                break
        break
    needs_token = revocation = False
    for ap in r.all("AuthorizationPolicy", "istio-system"):
        for rule in dig(ap, "spec", "rules", default=[]) or []:
            ops = [t.get("operation", {}) for t in rule.get("to", [])] or [{}]
            hit = any((not op.get("paths") or any(istio_path_matches(p, path) for p in op["paths"]))
                      and not any(istio_path_matches(p, path) for p in op.get("notPaths", [])) for op in ops)
            if not hit:
                continue
            if ap["spec"].get("action") == "DENY" and any(
                    "notRequestPrincipals" in f.get("source", {}) for f in rule.get("from", [])):
                needs_token = True
            if ap["spec"].get("action") == "CUSTOM":
                revocation = True
    return {"route": dest, "token": needs_token, "revocation": revocation}


def uri_matches(uri: dict | None, path: str) -> bool:
    if not uri:
        return True
    if "prefix" in uri:
        return path.startswith(uri["prefix"])
    if "exact" in uri:
        return path == uri["exact"]
    if "regex" in uri:
        return re.fullmatch(uri["regex"], path) is not None
    return False


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

    def routes(self, listener: str) -> list[dict]:
        hcm = self.hcm(listener) or {}
        out = []
        for vh in dig(hcm, "route_config", "virtual_hosts", default=[]) or []:
            out.extend(vh.get("routes", []))
        return out

    def route_for(self, listener: str, path: str, grpc: bool) -> dict | None:
        for rt in self.routes(listener):
            m = rt.get("match", {})
            if "grpc" in m and not grpc:
                continue
            if ("prefix" in m and path.startswith(m["prefix"])) or m.get("path") == path:
                return rt
        return None

    def route_by_prefix(self, listener: str, prefix: str) -> dict | None:
        """The forwarding route with this prefix (not a direct response)."""
        for rt in self.routes(listener):
            if rt.get("match", {}).get("prefix") == prefix and "route" in rt:
                return rt
        return None

    def filter(self, listener: str, name: str) -> dict | None:
        for f in (self.hcm(listener) or {}).get("http_filters", []):
            if f.get("name") == name:
                return f.get("typed_config", {})
        return None

    def edge(self, listener: str, path: str, grpc: bool) -> dict:
        rt = self.route_for(listener, path, grpc)
        if rt is None:
            return {"route": None, "token": False, "revocation": False}
        jwt = self.filter(listener, "envoy.filters.http.jwt_authn") or {}
        needs = False
        for rule in jwt.get("rules", []):
            m = rule.get("match", {})
            if ("prefix" in m and path.startswith(m["prefix"])) or m.get("path") == path:
                needs = "requires" in rule
                break
        has_authz = self.filter(listener, "envoy.filters.http.ext_authz") is not None
        disabled = dig(rt, "typed_per_filter_config", "envoy.filters.http.ext_authz", "disabled", default=False)
        route = rt.get("route", {})
        if "direct_response" in rt:
            dest = [("direct response", rt["direct_response"].get("status"))]
        elif "weighted_clusters" in route:
            dest = [(c["name"], c.get("weight")) for c in route["weighted_clusters"]["clusters"]]
        else:
            dest = [(route.get("cluster"), None)]
        return {"route": dest, "token": needs, "revocation": has_authz and not disabled}


# The local mesh's clusters and the Kubernetes destinations they stand for.
CLUSTER_TO_K8S = {
    "analytics_v1": ("analytics", 4320, "v1"),
    "analytics_v2": ("analytics", 4320, "v2"),
    "gateway_grpc": ("gateway", 4330, None),
    "gateway_http": ("gateway", 4331, None),  # the JWKS; the UI files are "ui" in k8s
    "receiver": ("receiver", 4317, None),
}

# (mesh listener, mesh route prefix, istio delegate VirtualService, its route prefix)
ROUTES = [
    ("ingress", "/airis.analytics.v1.QueryService/", "analytics", "/airis.analytics.v1.QueryService/"),
    ("ingress", "/airis.gateway.v1.AuthService/", "gateway", "/airis.gateway.v1.AuthService/"),
    ("otlp", "/opentelemetry.proto.collector.", "receiver", "/opentelemetry.proto.collector."),
    ("ingress", "/", "ui", "/"),
    ("ingress", "/", "gateway-http", "/.well-known/"),
]

# (mesh cluster, istio DestinationRule)
POOLS = [
    ("analytics_v1", "analytics"),
    ("analytics_v2", "analytics"),
    ("gateway_grpc", "gateway"),
    ("gateway_http", "ui"),
    ("gateway_http", "gateway"),
    ("receiver", "receiver"),
]

# (listener, path, gRPC?) -- the kinds of request the edge sees
EDGE_REQUESTS = [
    ("https", "/airis.gateway.v1.AuthService/Login", True),
    ("https", "/airis.gateway.v1.AuthService/MintIngestToken", True),
    ("https", "/airis.analytics.v1.QueryService/GetTrace", True),
    ("https", "/airis.nothing.v1.NoService/Call", True),
    ("https", "/.well-known/jwks.json", False),
    ("https", "/", False),
    ("https", "/traces/0af7651916cd43dd8448eb211c80319c", False),
    ("otlp", "/opentelemetry.proto.collector.trace.v1.TraceService/Export", True),
]


def compare_mesh(r: Rendered, mesh: Mesh, meshcfg: dict | None, report: Report) -> None:
    # routes: timeouts and retries
    for listener, mprefix, vsname, iprefix in ROUTES:
        mrt = mesh.route_by_prefix(listener, mprefix)
        vs = r.get("VirtualService", vsname, "airis")
        irt = next((h for h in dig(vs, "spec", "http", default=[]) or []
                    if dig(h, "match", 0, "uri", "prefix") == iprefix), None)
        label = f"route {iprefix} ({vsname})"
        if mrt is None:
            report.fail(f"{label}: mesh/ingress.yaml has no route with prefix {mprefix} on listener {listener}")
            continue
        if irt is None:
            report.fail(f"{label}: istio/ has no VirtualService {vsname} route with prefix {iprefix}")
            continue
        mr, rp, ir = mrt.get("route", {}), dig(mrt, "route", "retry_policy", default={}), irt.get("retries", {})
        report.same(f"{label} timeout", mr.get("timeout"), irt.get("timeout"), seconds)
        report.same(f"{label} retries", rp.get("num_retries"), ir.get("attempts"))
        report.same(f"{label} per-try timeout", rp.get("per_try_timeout"), ir.get("perTryTimeout"), seconds)
        report.same(f"{label} retry on", rp.get("retry_on"), ir.get("retryOn"), token_set)
    # Login: the same route policy as the rest of AuthService
    login = mesh.route_for("ingress", "/airis.gateway.v1.AuthService/Login", grpc=True)
    gw = dig(r.get("VirtualService", "gateway", "airis"), "spec", "http", 0, default={})
    if login:
        report.same("route /airis.gateway.v1.AuthService/Login timeout", dig(login, "route", "timeout"), gw.get("timeout"), seconds)
        report.same("route /airis.gateway.v1.AuthService/Login retries", dig(login, "route", "retry_policy", "num_retries"),
                    dig(gw, "retries", "attempts"))

    # canary weights
    mrt = mesh.route_by_prefix("ingress", "/airis.analytics.v1.QueryService/")
    mw = {c["name"]: c.get("weight") for c in dig(mrt, "route", "weighted_clusters", "clusters", default=[]) or []}
    iw = {d["destination"].get("subset"): d.get("weight")
          for d in dig(r.get("VirtualService", "analytics", "airis"), "spec", "http", 0, "route", default=[]) or []}
    for cluster, (_, _, subset) in CLUSTER_TO_K8S.items():
        if subset:
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
        od, iod = c.get("outlier_detection", {}), tp.get("outlierDetection", {})
        label = f"{cluster} / DestinationRule {drname}"
        report.same(f"{label} max connections", th.get("max_connections"), dig(cp, "tcp", "maxConnections"))
        report.same(f"{label} max requests (http2MaxRequests)", th.get("max_requests"), dig(cp, "http", "http2MaxRequests"))
        report.same(f"{label} max pending (http1MaxPendingRequests)", th.get("max_pending_requests"), dig(cp, "http", "http1MaxPendingRequests"))
        report.same(f"{label} max retries", th.get("max_retries"), dig(cp, "http", "maxRetries"))
        report.same(f"{label} consecutive 5xx", od.get("consecutive_5xx"), iod.get("consecutive5xxErrors"))
        report.same(f"{label} ejection interval", od.get("interval"), iod.get("interval"), seconds)
        report.same(f"{label} base ejection time", od.get("base_ejection_time"), iod.get("baseEjectionTime"), seconds)
        report.same(f"{label} max ejection percent", od.get("max_ejection_percent"), iod.get("maxEjectionPercent"))
        if "enforcing_success_rate" in od:
            # Istio never enables success-rate ejection
            report.same(f"{label} success-rate ejection", od["enforcing_success_rate"], 0)
        report.check(dig(tp, "tls", "mode") == "ISTIO_MUTUAL" and "transport_socket" in c,
                     f"{label} mTLS: mesh transport_socket tls, istio {dig(tp, 'tls', 'mode')}")

    # fault injection: the drill's values in the chaos overlay, off elsewhere
    fault = dig(mrt, "typed_per_filter_config", "envoy.filters.http.fault")
    vfault = dig(r.get("VirtualService", "analytics", "airis"), "spec", "http", 0, "fault")
    if fault is None:
        report.fail("fault: mesh/ingress.yaml's analytics route has no envoy.filters.http.fault config")
    elif r.name == "chaos":
        if not report.check(vfault is not None, "fault: the chaos overlay injects faults on the analytics route"):
            vfault = {}
        status = dig(vfault, "abort", "grpcStatus")
        report.same("fault abort status (gRPC)", dig(fault, "abort", "grpc_status"), GRPC_CODES.get(status, status))
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
    hm = mesh.filter("ingress", "envoy.filters.http.header_mutation") or {}
    ef = r.get("EnvoyFilter", "airis-ingress-filters", "istio-system")
    patches = {dig(cp, "patch", "value", "name"): cp for cp in dig(ef, "spec", "configPatches", default=[]) or []
               if cp.get("applyTo") == "HTTP_FILTER"}
    efv = dig(patches.get("envoy.filters.http.header_mutation"), "patch", "value", "typed_config", default={})
    report.same("client-sent claim headers removed",
                {m.get("remove") for m in dig(hm, "mutations", "request_mutations", default=[])},
                {m.get("remove") for m in dig(efv, "mutations", "request_mutations", default=[])})
    names = [f.get("name") for f in (mesh.hcm("ingress") or {}).get("http_filters", [])]

    def before_jwt_mesh(name: str) -> bool:
        return name in names and "envoy.filters.http.jwt_authn" in names and \
            names.index(name) < names.index("envoy.filters.http.jwt_authn")

    def before_jwt_istio(name: str) -> bool:
        cp = patches.get(name)
        return cp is not None and dig(cp, "patch", "operation") == "INSERT_BEFORE" \
            and dig(cp, "match", "context") == "GATEWAY" \
            and dig(cp, "match", "listener", "filterChain", "filter", "subFilter", "name") == "envoy.filters.http.jwt_authn"

    report.same("client-sent claim headers removed before jwt_authn",
                before_jwt_mesh("envoy.filters.http.header_mutation"), before_jwt_istio("envoy.filters.http.header_mutation"))
    report.same("gRPC-Web translated at the edge, before jwt_authn",
                before_jwt_mesh("envoy.filters.http.grpc_web"), before_jwt_istio("envoy.filters.http.grpc_web"))
    order = [n for n in names if n in patches]
    report.same("order of the added filters", order, [n for n in patches])

    # one spelling of each path, on every listener
    hcm_patch = next((dig(cp, "patch", "value", "typed_config", default={}) for cp in dig(ef, "spec", "configPatches", default=[]) or []
                      if cp.get("applyTo") == "NETWORK_FILTER" and dig(cp, "patch", "operation") == "MERGE"), {})
    for key in ("normalize_path", "merge_slashes", "path_with_escaped_slashes_action"):
        for listener in ("ingress", "otlp"):
            report.same(f"listener {listener}: {key}", (mesh.hcm(listener) or {}).get(key), hcm_patch.get(key))

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

    # the same request, the same treatment
    for listener, path, grpc in EDGE_REQUESTS:
        m = mesh.edge({"https": "ingress", "otlp": "otlp"}[listener], path, grpc)
        i = istio_edge(r, listener, path, grpc)
        where = f"{'443' if listener == 'https' else '4317'} {'gRPC ' if grpc else 'GET '}{path}"
        report.same(f"edge {where}: token required", m["token"], i["token"])
        report.same(f"edge {where}: revocation checked", m["revocation"], i["revocation"])
        report.same(f"edge {where}: routed to", k8s_dest(m["route"], path), i["route"], lambda d: sorted(map(str, d)))


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
        rprefix = dig(route, "match", 0, "uri", "prefix", default="")
        for h in vs["spec"]["http"]:
            if not dig(h, "match", 0, "uri", "prefix", default="").startswith(rprefix):
                report.fail(f"VirtualService {vs['metadata']['name']}: route prefix is outside the root's {rprefix}")
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
    report.check(n >= 6, f"{n} route destinations resolve to Service ports, subsets to pods")
    for host in ("analytics", "gateway", "receiver", "ui"):
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
    ap.add_argument("--istio-version", default="?")
    ap.add_argument("--kubernetes", default="1.29.0,1.37.0", help="comma-separated Kubernetes versions to validate against")
    ap.add_argument("--envoy")
    ap.add_argument("--meshconfig-check")
    ap.add_argument("--airis", help="an airis binary: also load each service's configuration with it")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every passing check")
    args = ap.parse_args()
    istio_dir = args.istio_dir or args.repo / "istio"
    mesh_dir = args.mesh_dir or args.repo / "mesh"
    report = Report(args.verbose)

    report.section("render (kustomize)")
    rendered = [x for x in (render(args.kustomize, istio_dir, o, report) for o in OVERLAYS) if x]

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
        for check in (check_objects, check_pods, check_config, check_istio_internal):
            guarded(check, r, report)
        report.section(f"istio/overlays/{r.name}: who may talk to whom (NetworkPolicy and AuthorizationPolicy, flow by flow)")
        guarded(check_flows, r, report)
        if mesh is not None:
            # dev has prod's numbers; they are listed once, for prod and chaos
            report.section(f"istio/overlays/{r.name} == mesh/ingress.yaml + mesh/chaos.env", quiet=r.name == "dev")
            guarded(compare_mesh, r, mesh, meshcfg, report)
    report.flush()
    report.context = ""

    print()
    if len(rendered) != len(OVERLAYS):
        report.fail("not every overlay rendered")
    if report.failed:
        print(f"check-istio: {len(report.failed)} FAILED, {report.passed} ok:")
        for f in report.failed:
            print(f"  - {f}")
        return 1
    print(f"check-istio: all {report.passed} checks ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
