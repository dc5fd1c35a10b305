#!/usr/bin/env python3
"""Rebuilds schemas.json: the strict JSON schemas tests/it/kubernetes.rs validates deploy/ against.

Kubernetes' own objects come from the `*-local-strict` schemas of the kubernetes-validate
package on PyPI (the yannh/kubernetes-json-schema conversion of the Kubernetes OpenAPI
document, with `additionalProperties: false` on every object, so an unknown field fails as
`kubectl apply --validate=strict` fails). ServiceMonitor and PrometheusRule come from the
`openAPIV3Schema` of the Prometheus Operator's CRDs, and ScaledObject from KEDA's, made strict
the same way: an object with `properties` accepts no other field, and `metadata` is
Kubernetes' ObjectMeta.

Only the definitions reachable from the kinds below are kept, without descriptions.

    pip download --no-deps kubernetes-validate==1.37.0 && unzip kubernetes_validate-*.whl
    python3 vendor.py kubernetes_validate/kubernetes-json-schema/v1.33.0-local-strict \\
        monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml \\
        keda.sh_scaledobjects.yaml

KEDA's CRD is config/crd/bases/keda.sh_scaledobjects.yaml of kedacore/keda at v2.20.2. To
add or refresh CRDs without rebuilding Kubernetes' part: `python3 vendor.py --add CRD...`.
"""

import json
import sys
from pathlib import Path

import yaml

KUBERNETES_VERSION = "v1.33.0"
ROOTS = [
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.core.v1.Service",
    "io.k8s.api.core.v1.ConfigMap",
    "io.k8s.api.policy.v1.PodDisruptionBudget",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
]
OBJECT_META = "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def local_ref(ref):
    return "#/$defs/" + ref.rsplit("/", 1)[-1]


def clean(node):
    """Drops descriptions and points every $ref into this file."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                continue
            if key == "$ref":
                out[key] = local_ref(value)
            else:
                out[key] = clean(value)
        return out
    if isinstance(node, list):
        return [clean(v) for v in node]
    return node


def refs(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.add(value.rsplit("/", 1)[-1])
            else:
                refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def strict_openapi(node):
    """An openAPIV3Schema as strict JSON schema."""
    if isinstance(node, list):
        return [strict_openapi(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            continue
        if key == "properties":
            out[key] = {name: strict_openapi(sub) for name, sub in value.items()}
        else:
            out[key] = strict_openapi(value)
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_schema(path):
    crd = yaml.safe_load(Path(path).read_text())
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema = strict_openapi(version["schema"]["openAPIV3Schema"])
    schema["properties"]["apiVersion"]["enum"] = [f"{group}/{version['name']}"]
    schema["properties"]["kind"]["enum"] = [kind]
    schema["properties"]["metadata"] = {"$ref": OBJECT_META}
    reverse = ".".join(reversed(group.split(".")))
    return f"{reverse}.{version['name']}.{kind}", schema


def main(kubernetes_dir, *crds):
    target = Path(__file__).with_name("schemas.json")
    if kubernetes_dir == "--add":
        kept = json.loads(target.read_text())["$defs"]
        todo = []
    else:
        defs = json.loads((Path(kubernetes_dir) / "_definitions.json").read_text())["$defs"]
        kept, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = clean(defs[name])
        found = set()
        refs(defs[name], found)
        todo.extend(found - kept.keys())
    for path in crds:
        name, schema = crd_schema(path)
        kept[name] = schema
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"Kubernetes {KUBERNETES_VERSION} strict, the Prometheus Operator's "
        "ServiceMonitor and PrometheusRule, and KEDA's ScaledObject; rebuilt by vendor.py.",
        "$defs": dict(sorted(kept.items())),
    }
    target.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    print(f"{target}: {len(kept)} definitions")


if __name__ == "__main__":
    main(*sys.argv[1:])
