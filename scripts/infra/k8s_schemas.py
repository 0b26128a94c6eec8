"""Offline schema validation of rendered Kubernetes objects.

- Kubernetes built-in kinds: the JSON schemas bundled with the PyPI package
  kubernetes-validate (its "-strict" variants, which reject unknown
  fields), for each Kubernetes version asked for.
- Istio kinds: the openAPIV3Schema of each CRD in istio.io/api's
  kubernetes/customresourcedefinitions.gen.yaml, turned into JSON Schema
  the way the API server reads it (unknown fields rejected unless the
  schema preserves them, nullable, int-or-string), plus the CRDs'
  x-kubernetes-validations CEL rules, evaluated with cel-python. Object
  metadata is checked against Kubernetes' own ObjectMeta schema.

Nothing here is hand-written schema: every rule comes from those packages.
"""

from __future__ import annotations

import copy
import json
import logging
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import importlib_resources
import jsonschema
import referencing
import yaml

logging.getLogger("celpy").setLevel(logging.ERROR)
import celpy  # noqa: E402  (after the logger is quietened)
from celpy import celtypes  # noqa: E402


# ---------------------------------------------------------------------------
# Kubernetes built-in kinds (kubernetes-validate's bundled schemas)


class KubernetesSchemas:
    """Strict JSON schemas of one Kubernetes version, cached per kind."""

    def __init__(self, version: str):
        self.version = version
        root = importlib_resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
        self.dir = root.joinpath(f"v{version}-local-strict")
        if not self.dir.is_dir():
            have = sorted(p.name for p in root.iterdir())
            raise SystemExit(f"kubernetes-validate has no schemas for {version} (has: {', '.join(have)})")
        defs = json.loads(self.dir.joinpath("_definitions.json").read_text())
        self.definitions = defs
        self.registry = referencing.Resource.from_contents(defs) @ referencing.Registry()
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}

    @staticmethod
    def file_name(api_version: str, kind: str) -> str:
        # as kubernetes-validate names them: apps/v1 Deployment -> deployment-apps-v1.json,
        # rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
        if "/" in api_version:
            group, version = api_version.split("/", 1)
            group = group.split(".", 1)[0]
            api = f"{group}-{version}"
        else:
            api = api_version
        return f"{kind.lower()}-{api}.json"

    def validator(self, api_version: str, kind: str):
        key = (api_version, kind)
        if key not in self._validators:
            path = self.dir.joinpath(self.file_name(api_version, kind))
            if not path.is_file():
                self._validators[key] = None
            else:
                schema = json.loads(path.read_text())
                registry = referencing.Resource.from_contents(schema) @ self.registry
                self._validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self._validators[key]

    def object_meta_validator(self):
        if ("ObjectMeta", "") not in self._validators:
            schema = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": "https://kubernetes.io/api/objectmeta",
                "$ref": "/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            }
            self._validators[("ObjectMeta", "")] = jsonschema.Draft202012Validator(schema, registry=self.registry)
        return self._validators[("ObjectMeta", "")]

    def errors(self, obj: dict) -> list[str] | None:
        """Validation errors, or None when this version has no schema for the kind."""
        v = self.validator(obj.get("apiVersion", ""), obj.get("kind", ""))
        if v is None:
            return None
        return [fmt_error(e) for e in sorted(v.iter_errors(obj), key=lambda e: list(e.absolute_path))]


def fmt_error(e: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in e.absolute_path) or "(root)"
    msg = e.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"{path}: {msg}"


# ---------------------------------------------------------------------------
# Istio CRDs


@dataclass
class CrdVersion:
    group: str
    kind: str
    version: str
    served: bool
    deprecated: bool
    schema: dict  # openAPIV3Schema as in the CRD
    json_schema: dict = field(default_factory=dict)  # converted
    validator: Any = None


def load_crds(path: Path) -> dict[tuple[str, str, str], CrdVersion]:
    out: dict[tuple[str, str, str], CrdVersion] = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        for v in spec["versions"]:
            schema = v.get("schema", {}).get("openAPIV3Schema")
            if schema is None:
                continue
            cv = CrdVersion(
                group=spec["group"],
                kind=spec["names"]["kind"],
                version=v["name"],
                served=bool(v.get("served")),
                deprecated=bool(v.get("deprecated", False)),
                schema=schema,
            )
            cv.json_schema = to_json_schema(schema, top=True)
            cv.validator = jsonschema.Draft7Validator(cv.json_schema, format_checker=FORMATS)
            out[(cv.group, cv.version, cv.kind)] = cv
    if not out:
        raise SystemExit(f"no CustomResourceDefinitions in {path}")
    return out


def to_json_schema(node: Any, top: bool = False) -> Any:
    """An OpenAPI v3 structural schema as the API server applies it, in JSON Schema."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("x-kubernetes-validations", "description", "example", "externalDocs"):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(value) if isinstance(value, (dict, list)) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(v) for v in value]
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    # The API server drops (or, with kubectl's default strict field
    # validation, rejects) fields the schema does not name.
    if (
        out.get("type") == "object"
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    if top:
        props = out.setdefault("properties", {})
        for k in ("apiVersion", "kind"):
            props.setdefault(k, {"type": "string"})
        # metadata is checked against ObjectMeta separately
        props["metadata"] = {"type": "object"}
        out["required"] = sorted(set(out.get("required", [])) | {"apiVersion", "kind", "metadata"})
    return out


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("int32")
def _int32(value: Any) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("uint32")
def _uint32(value: Any) -> bool:
    return not isinstance(value, int) or 0 <= value < 2**32


@FORMATS.checks("int64")
def _int64(value: Any) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


# -- CEL (x-kubernetes-validations) -------------------------------------------

# Kubernetes' CEL environment has a few libraries beyond standard CEL; these
# are the functions Istio's rules use that cel-python lacks.


def _substring(s, start, end=None):
    s = str(s)
    return celtypes.StringType(s[int(start):] if end is None else s[int(start):int(end)])


def _is_url(s):
    p = urllib.parse.urlparse(str(s))
    return celtypes.BoolType(bool(p.scheme) and (bool(p.netloc) or p.scheme in ("file", "unix")))


def _url(s):
    p = urllib.parse.urlparse(str(s))
    if not p.scheme:
        raise ValueError(f"not a URL: {s!r}")
    return celtypes.MapType({
        celtypes.StringType("scheme"): celtypes.StringType(p.scheme),
        celtypes.StringType("host"): celtypes.StringType(p.hostname or ""),
        celtypes.StringType("port"): celtypes.StringType(str(p.port) if p.port else ""),
        celtypes.StringType("path"): celtypes.StringType(p.path),
        celtypes.StringType("query"): celtypes.StringType(p.query),
    })


def _url_part(name):
    return lambda u: u[celtypes.StringType(name)]


CEL_FUNCTIONS = {
    "substring": _substring,
    "isURL": _is_url,
    "url": _url,
    "getScheme": _url_part("scheme"),
    "getHostname": _url_part("host"),
    "getHost": _url_part("host"),
    "getPort": _url_part("port"),
    "getEscapedPath": _url_part("path"),
    "getQuery": _url_part("query"),
}

_CEL_ENV = celpy.Environment()
_CEL_CACHE: dict[str, Any] = {}


def _program(rule: str):
    if rule not in _CEL_CACHE:
        _CEL_CACHE[rule] = _CEL_ENV.program(_CEL_ENV.compile(rule), functions=CEL_FUNCTIONS)
    return _CEL_CACHE[rule]


def cel_walk(schema: Any, value: Any, path: str) -> Iterator[tuple[str, dict, Any]]:
    """(path, rule, value) for every CEL rule that applies to a present value."""
    if not isinstance(schema, dict):
        return
    for rule in schema.get("x-kubernetes-validations", []) or []:
        yield path, rule, value
    if isinstance(value, dict):
        for k, sub in (schema.get("properties") or {}).items():
            if k in value:
                yield from cel_walk(sub, value[k], f"{path}.{k}" if path else k)
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict):
            for k, v in value.items():
                yield from cel_walk(ap, v, f"{path}[{k}]")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            yield from cel_walk(schema["items"], v, f"{path}[{i}]")


@dataclass
class CrdResult:
    errors: list[str]
    rules_evaluated: int
    rules_skipped: int  # transition rules (oldSelf): no old object on create


def validate_crd_object(cv: CrdVersion, obj: dict, meta_validator) -> CrdResult:
    errors = [fmt_error(e) for e in sorted(cv.validator.iter_errors(obj), key=lambda e: list(e.absolute_path))]
    errors += ["metadata." + fmt_error(e) for e in meta_validator.iter_errors(obj.get("metadata", {}))]
    evaluated = skipped = 0
    if not errors:
        for path, rule, value in cel_walk(cv.schema, obj, ""):
            text = rule["rule"]
            if "oldSelf" in text:
                skipped += 1
                continue
            evaluated += 1
            try:
                ok = _program(text).evaluate({"self": celpy.json_to_cel(value)})
            except Exception as e:  # noqa: BLE001  -- an evaluation error is a validation error
                errors.append(f"{path or '(root)'}: CEL rule {text!r} could not be evaluated: {e}")
                continue
            if isinstance(ok, Exception) or not bool(ok):
                msg = rule.get("message") or f"failed rule: {text}"
                errors.append(f"{path or '(root)'}: {msg}")
    return CrdResult(errors, evaluated, skipped)
