"""deploy/k8s: schema-valid offline, and consistent with the app's real behaviour
(routes per role, probes, shutdown timing, settings)."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from ballsy.capacity.plan import CPU_TARGET, MEMORY_TARGET
from ballsy.config import Settings
from ballsy.realtime.connections import ConnectionRegistry
from tests.deploy.conftest import DEPLOY, unknown_env, yaml_documents

K8S = DEPLOY / "k8s"
# The oldest Kubernetes still in common support, and the newest schemas available.
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SERVICES_CLOSE_SECONDS = 10  # Services.close after the drain: pools, models, state


def manifests() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for document in yaml_documents(path):
                yield path, document


def find(kind: str, name: str) -> dict[str, Any]:
    for _, document in manifests():
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise LookupError(f"{kind}/{name}")


def container(name: str, kind: str = "Deployment") -> dict[str, Any]:
    spec = find(kind, name)["spec"]["template"]["spec"]
    (only,) = spec["containers"]
    return dict(only)


def config_env() -> dict[str, str]:
    return dict(find("ConfigMap", "ballsy-config")["data"])


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_schema_valid(version: str) -> None:
    checked = 0
    for path, document in manifests():
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name} {document['kind']}: {exc.message}")
        checked += 1
    assert checked >= 15


def test_kustomization_lists_every_file_and_builds() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return
    built = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    images = {
        c["image"]
        for doc in yaml.safe_load_all(built.stdout)
        if doc["kind"] in {"Deployment", "Job"}
        for c in doc["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"europe-west1-docker.pkg.dev/my-project/ballsy/ballsy:0.1.0"}


def test_roles_run_the_right_commands() -> None:
    assert container("ballsy-api")["args"] == ["serve", "--role", "api"]
    assert container("ballsy-realtime")["args"] == ["serve", "--role", "realtime"]
    assert container("ballsy-worker")["args"] == ["worker"]
    assert container("ballsy-migrate", "Job")["args"] == ["migrate"]


def test_every_variable_is_a_setting() -> None:
    names = set(config_env()) | set(find("Secret", "ballsy-secrets")["stringData"])
    for _, document in manifests():
        if document["kind"] in {"Deployment", "Job"}:
            for item in document["spec"]["template"]["spec"]["containers"][0].get("env", []):
                names.add(item["name"])
    assert not unknown_env(names), unknown_env(names)
    env = config_env()
    assert env["JOB_QUEUE"] == "redis" and env["ENVIRONMENT"] == "production"
    assert env["AUTH_MODE"] in {"apikey", "jwt"}


def test_placeholder_secret_is_refused_in_production() -> None:
    values = find("Secret", "ballsy-secrets")["stringData"]
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(_env_file=None, **{k.lower(): v for k, v in (config_env() | values).items()
                                    if k != "FORWARDED_ALLOW_IPS"})  # fmt: skip


@pytest.mark.parametrize("name", ["ballsy-api", "ballsy-realtime"])
def test_probes_hit_the_apps_endpoints(name: str) -> None:
    spec = container(name)
    assert spec["startupProbe"]["httpGet"]["path"] == "/ready"
    assert spec["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert spec["livenessProbe"]["httpGet"]["path"] == "/health"
    # /ready runs each check with a 5 s timeout (ballsy.api.health.CHECK_TIMEOUT).
    from ballsy.api.health import CHECK_TIMEOUT

    assert spec["readinessProbe"]["timeoutSeconds"] > CHECK_TIMEOUT


@pytest.mark.parametrize("name", ["ballsy-api", "ballsy-realtime"])
def test_termination_grace_covers_prestop_and_the_apps_shutdown(name: str) -> None:
    pod = find("Deployment", name)["spec"]["template"]["spec"]
    prestop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert prestop[0] == "sleep"
    registry = ConnectionRegistry()
    needed = (
        int(prestop[1])
        + registry.hook_timeout
        + registry.leave_timeout
        + float(config_env()["SHUTDOWN_GRACE_SECONDS"])
        + SERVICES_CLOSE_SECONDS
    )
    assert pod["terminationGracePeriodSeconds"] >= math.ceil(needed), needed


def test_hpa_targets_cpu_70_and_memory_80() -> None:
    for name in ("ballsy-api", "ballsy-realtime", "ballsy-worker"):
        hpa = find("HorizontalPodAutoscaler", name)["spec"]
        targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["metrics"]}
        assert targets["cpu"]["averageUtilization"] == round(CPU_TARGET * 100) == 70
        assert targets["memory"]["averageUtilization"] == round(MEMORY_TARGET * 100) == 80
        assert hpa["scaleTargetRef"]["name"] == name
    realtime = find("HorizontalPodAutoscaler", "ballsy-realtime")["spec"]
    assert realtime["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    fleet = realtime["maxReplicas"] * 15
    assert int(config_env()["MAX_CONCURRENT_SESSIONS"]) == fleet


def test_disruption_budgets_cover_every_deployment() -> None:
    for name in ("ballsy-api", "ballsy-realtime", "ballsy-worker"):
        budget = find("PodDisruptionBudget", name)["spec"]
        labels = find("Deployment", name)["spec"]["selector"]["matchLabels"]
        assert budget["selector"]["matchLabels"] == labels


def test_ingress_routes_websockets_to_realtime_with_long_timeouts() -> None:
    realtime, api = find("Ingress", "ballsy-realtime"), find("Ingress", "ballsy-api")

    def routes(ingress: dict[str, Any]) -> dict[str, tuple[str, str]]:
        (rule,) = ingress["spec"]["rules"]
        return {
            p["path"]: (p["pathType"], p["backend"]["service"]["name"])
            for p in rule["http"]["paths"]
        }

    assert routes(realtime) == {
        "/ws": ("Prefix", "ballsy-realtime"),
        "/v1/realtime": ("Exact", "ballsy-realtime"),
    }
    assert routes(api) == {
        "/api": ("Prefix", "ballsy-api"),
        "/v1": ("Prefix", "ballsy-api"),
        "/": ("Prefix", "ballsy-api"),
    }
    notes = realtime["metadata"]["annotations"]
    session_limit = Settings(_env_file=None).realtime_max_session_seconds
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(notes[f"nginx.ingress.kubernetes.io/{key}"]) >= session_limit
    assert int(api["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > (
        Settings(_env_file=None).request_timeout
    )


def test_network_policy_denies_by_default() -> None:
    deny = find("NetworkPolicy", "ballsy-default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    allow = find("NetworkPolicy", "ballsy-allow-http")["spec"]
    assert [p["port"] for p in allow["ingress"][0]["ports"]] == [8080]
    # The internal port (/metrics, /docs …) is the monitoring namespace's alone.
    config = find("ConfigMap", "ballsy-config")["data"]
    internal = int(config["INTERNAL_PORT"])
    scrape = allow["ingress"][1]
    assert [p["port"] for p in scrape["ports"]] == [internal] != [8080]
    assert [rule["namespaceSelector"]["matchLabels"] for rule in scrape["from"]] == [
        {"kubernetes.io/metadata.name": "monitoring"}
    ]
    assert all("monitoring" not in str(rule) for rule in allow["ingress"][0]["from"]), (
        "Prometheus needs no access to the public port"
    )
    scraped = 0
    for _, document in manifests():
        template = document.get("spec", {}).get("template", {})
        notes = template.get("metadata", {}).get("annotations", {})
        if notes.get("prometheus.io/scrape") == "true":
            scraped += 1
            assert int(notes["prometheus.io/port"]) == internal
            ports = {p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
            assert internal in ports
    assert scraped == 2  # api and realtime
    egress_ports = {
        port["port"]
        for rule in find("NetworkPolicy", "ballsy-allow-egress")["spec"]["egress"]
        for port in rule["ports"]
    }
    assert egress_ports == {53, 5432, 6379, 443}


def test_pods_are_locked_down() -> None:
    for _, document in manifests():
        if document["kind"] not in {"Deployment", "Job"}:
            continue
        pod = document["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        for spec in pod["containers"]:
            context = spec["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert spec["resources"]["limits"] and spec["resources"]["requests"]
            mounts = {m["mountPath"] for m in spec["volumeMounts"]}
            assert "/tmp" in mounts


def test_migration_job_runs_once_and_cleans_up() -> None:
    job = find("Job", "ballsy-migrate")["spec"]
    assert job["backoffLimit"] <= 3 and job["ttlSecondsAfterFinished"] > 0
    assert job["template"]["spec"]["restartPolicy"] == "Never"
