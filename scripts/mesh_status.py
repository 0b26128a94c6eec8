"""`scripts/mesh.sh status`: what the local mesh is doing, read from the
ingress's admin endpoint and the launcher's run directory.

- canary weights and fault injection in force: each runtime-switchable
  setting of the ingress's routes with its value from the configuration,
  replaced by a runtime override when one is set (`/config_dump`,
  `/runtime`);
- upstreams: each ingress cluster's instances as the ingress sees them
  (outlier ejection, connections, requests; `/clusters`), and each service's
  gRPC health asked through its sidecar with the ingress's certificate;
- processes: what `scripts/mesh.sh up` runs, with restarts.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

DENOMINATORS = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000}


def fetch(admin: str, path: str):
    with urllib.request.urlopen(admin + path, timeout=5) as response:
        return json.load(response)


def routes(node):
    """Every route object in a config dump, once each."""
    seen = set()

    def walk(n):
        if isinstance(n, dict):
            if "match" in n and ("route" in n or "direct_response" in n or "redirect" in n):
                key = json.dumps(n, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    yield n
                return
            for v in n.values():
                yield from walk(v)
        elif isinstance(n, list):
            for v in n:
                yield from walk(v)

    yield from walk(node)


def describe_match(match: dict) -> str:
    for kind in ("path", "prefix", "safe_regex"):
        if kind in match:
            return str(match[kind] if kind != "safe_regex" else match[kind].get("regex"))
    return json.dumps(match)


def in_force(overrides: dict, key: str | None, default: int) -> tuple[int, str]:
    """The value Envoy uses for a runtime key with a configured default."""
    if key and key in overrides:
        try:
            return int(overrides[key]), "runtime override"
        except ValueError:
            return default, f"override {overrides[key]!r} is not a number: default"
    return default, "default"


def percent(fraction: dict | None) -> tuple[int, int]:
    fraction = fraction or {}
    return int(fraction.get("numerator", 0)), DENOMINATORS.get(fraction.get("denominator", "HUNDRED"), 100)


def settings(dump: dict, overrides: dict) -> tuple[list[str], set[str]]:
    lines, keys = [], set()
    for route in routes(dump):
        where = describe_match(route.get("match", {}))
        weighted = route.get("route", {}).get("weighted_clusters")
        if weighted:
            prefix = weighted.get("runtime_key_prefix")
            shares = []
            for cluster in weighted.get("clusters", []):
                key = f"{prefix}.{cluster['name']}" if prefix else None
                weight, origin = in_force(overrides, key, int(cluster.get("weight", 0)))
                keys.add(key)
                shares.append((cluster["name"], weight, origin))
            total = sum(w for _, w, _ in shares) or 1
            lines.append(f"canary {where}")
            for name, weight, origin in shares:
                lines.append(f"  {name:<16} weight {weight:<4} {100 * weight / total:5.1f} % of calls  ({origin})")
        fault = route.get("typed_per_filter_config", {}).get("envoy.filters.http.fault")
        if fault:
            lines.append(f"fault injection {where}")
            for kind in ("abort", "delay"):
                numerator, denominator = percent(fault.get(kind, {}).get("percentage"))
                key = fault.get(f"{kind}_percent_runtime")
                value, origin = in_force(overrides, key, numerator)
                keys.add(key)
                if kind == "abort":
                    detail = f"gRPC status {fault['abort']['grpc_status']}" if "grpc_status" in fault.get("abort", {}) \
                        else f"HTTP {fault.get('abort', {}).get('http_status', '?')}"
                else:
                    detail = f"{fault.get('delay', {}).get('fixed_delay', '?')} delay"
                state = "off" if value == 0 else f"{100 * value / denominator:g} % of calls"
                lines.append(f"  {kind:<16} {state:<18} {detail}  ({origin}{', key ' + key if key else ''})")
    return lines, keys


def stat(host: dict, name: str) -> int:
    for s in host.get("stats", []):
        if s.get("name") == name:
            return int(s.get("value", 0))
    return 0


def address(host: dict) -> str:
    a = host.get("address", {})
    if "socket_address" in a:
        return f"{a['socket_address'].get('address')}:{a['socket_address'].get('port_value')}"
    if "pipe" in a:
        return "unix:" + a["pipe"].get("path", "")
    return json.dumps(a)


def health(host: dict) -> str:
    status = host.get("health_status", {})
    problems = [k.removeprefix("failed_").replace("_", " ") for k, v in status.items() if k.startswith("failed_") and v]
    eds = status.get("eds_health_status", "HEALTHY")
    if eds != "HEALTHY":
        problems.append(eds.lower())
    return "healthy" if not problems else "unhealthy: " + ", ".join(problems)


def upstreams(clusters: dict) -> list[str]:
    lines = ["upstreams (the ingress's view: connections, requests ok / failed since start)"]
    for cluster in sorted(clusters.get("cluster_statuses", []), key=lambda c: c["name"]):
        for host in cluster.get("host_statuses", []):
            lines.append(
                f"  {cluster['name']:<16} {address(host):<22} {health(host):<12} "
                f"cx {stat(host, 'cx_active'):<3} rq {stat(host, 'rq_success')} ok / {stat(host, 'rq_error')} failed")
    return lines


def service_health(run: Path, certs: Path) -> list[str]:
    sidecars = run / "sidecars"
    if not sidecars.exists():
        return []
    lines = ["services (gRPC health through their sidecars)"]
    for line in sidecars.read_text().splitlines():
        name, identity, port = line.split()
        proc = subprocess.run(
            ["grpcurl", "-max-time", "3", "-cacert", str(certs / "ca.crt"),
             "-cert", str(certs / "ingress.crt"), "-key", str(certs / "ingress.key"),
             "-servername", f"{identity}.airis.local", f"127.0.0.1:{port}", "grpc.health.v1.Health/Check"],
            capture_output=True, text=True)
        if proc.returncode == 0:
            state = json.loads(proc.stdout).get("status", "?")
        else:
            state = "no answer: " + " ".join(proc.stderr.split())[:100]
        lines.append(f"  {name:<16} sidecar 127.0.0.1:{port:<6} {state}")
    return lines


def processes(run: Path) -> list[str]:
    lines = ["processes (started again when they die)"]
    for pid_file in sorted(run.glob("*.pid")):
        name = pid_file.stem
        pid = int(pid_file.read_text().strip() or 0)
        try:
            os.kill(pid, 0)
            state = f"running  pid {pid}"
        except OSError:
            state = "not running (restart pending)"
        restarts_file = run / f"{name}.restarts"
        restarts = restarts_file.read_text().splitlines() if restarts_file.exists() else []
        last = f"; last: {restarts[-1]}" if restarts else ""
        lines.append(f"  {name:<20} {state:<32} restarts {len(restarts)}{last}")
    return lines


def main() -> int:
    # `scripts/mesh.sh status | head` ends quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin", required=True, help="the ingress's admin URL")
    parser.add_argument("--run", required=True, type=Path, help="the launcher's run directory")
    parser.add_argument("--certs", required=True, type=Path, help="the mesh's certificates")
    args = parser.parse_args()

    runtime = fetch(args.admin, "/runtime")
    overrides = {k: v.get("final_value", "") for k, v in runtime.get("entries", {}).items()}
    lines, keys = settings(fetch(args.admin, "/config_dump"), overrides)
    others = sorted(k for k in overrides if k not in keys)
    if others:
        lines.append("other runtime overrides")
        lines += [f"  {k} = {overrides[k]}" for k in others]
    lines += upstreams(fetch(args.admin, "/clusters?format=json"))
    lines += service_health(args.run, args.certs)
    if args.run.exists():
        lines += processes(args.run)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
