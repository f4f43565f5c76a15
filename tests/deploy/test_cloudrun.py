"""Cloud Run: the service YAMLs (per role), their consistency with the app and the
planner, and ``deploy.sh --dry-run``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ballsy.capacity.plan import ROLE_SHAPES
from ballsy.config import Settings
from ballsy.realtime.connections import ConnectionRegistry
from tests.deploy.conftest import DEPLOY, unknown_env, yaml_documents

CLOUDRUN = DEPLOY / "cloudrun"
CLOUD_RUN_KILL_SECONDS = 10  # SIGTERM, then SIGKILL 10 s later
SECRETS = {"DATABASE_URL": "ballsy-database-url", "REDIS_URL": "ballsy-redis-url"}


def service(role: str) -> dict[str, Any]:
    (document,) = yaml_documents(CLOUDRUN / f"{role}.yaml")
    assert document["kind"] == "Service" and document["metadata"]["name"] == f"ballsy-{role}"
    return document


def template(role: str) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    spec = service(role)["spec"]["template"]
    (container,) = spec["spec"]["containers"]
    return spec["metadata"]["annotations"], spec["spec"], container


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_api_and_realtime_differ_as_designed() -> None:
    api_notes, api_spec, api = template("api")
    rt_notes, rt_spec, realtime = template("realtime")
    assert (api_spec["containerConcurrency"], rt_spec["containerConcurrency"]) == (80, 15)
    assert (api_spec["timeoutSeconds"], rt_spec["timeoutSeconds"]) == (300, 3600)
    assert api_notes["autoscaling.knative.dev/minScale"] == "0"
    assert rt_notes["autoscaling.knative.dev/minScale"] == "1"
    assert api_notes["run.googleapis.com/cpu-throttling"] == "true"
    assert rt_notes["run.googleapis.com/cpu-throttling"] == "false", "CPU always allocated"
    assert rt_notes["run.googleapis.com/sessionAffinity"] == "true"
    assert api["args"] == ["serve", "--role", "api"]
    assert realtime["args"] == ["serve", "--role", "realtime"]


@pytest.mark.parametrize("role", ["api", "realtime", "worker"])
def test_each_service_is_wired_like_production(role: str) -> None:
    notes, spec, container = template(role)
    metadata = service(role)["metadata"]["annotations"]
    assert metadata["run.googleapis.com/ingress"] in {
        "internal",
        "internal-and-cloud-load-balancing",
    }
    assert notes["run.googleapis.com/cloudsql-instances"] == "${SQL_CONNECTION}"
    assert notes["run.googleapis.com/vpc-access-egress"] == "private-ranges-only"
    assert spec["serviceAccountName"] == f"ballsy-{role}@${{PROJECT_ID}}.iam.gserviceaccount.com"
    env = env_of(container)
    assert not unknown_env(set(env)), unknown_env(set(env))
    for name, secret in SECRETS.items():
        assert env[name] == {"secretKeyRef": {"name": secret, "key": "latest"}}
    assert env["JWT_SECRET"]["secretKeyRef"]["name"] == "ballsy-jwt-secret"
    assert env["ENVIRONMENT"] == "production" and env["AUTH_MODE"] == "jwt"
    assert container["startupProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["ports"] == [{"name": "http1", "containerPort": 8080}]


@pytest.mark.parametrize("role", ["api", "realtime", "worker"])
def test_shutdown_fits_cloud_runs_kill_timer(role: str) -> None:
    grace = float(env_of(template(role)[2])["SHUTDOWN_GRACE_SECONDS"])
    registry = ConnectionRegistry()
    worst = registry.hook_timeout + registry.leave_timeout + grace
    assert worst + 1 <= CLOUD_RUN_KILL_SECONDS, worst


@pytest.mark.parametrize("role", ["api", "realtime", "worker"])
def test_shapes_are_the_planners(role: str) -> None:
    notes, spec, container = template(role)
    shape = ROLE_SHAPES[role]  # type: ignore[index]
    limits = container["resources"]["limits"]
    assert float(limits["cpu"]) == shape.vcpu
    assert limits["memory"] == f"{shape.memory_gib:g}Gi"
    assert int(notes["autoscaling.knative.dev/minScale"]) == shape.min_instances
    assert int(notes["autoscaling.knative.dev/maxScale"]) == shape.max_instances
    assert (notes["run.googleapis.com/cpu-throttling"] == "false") == shape.cpu_always_allocated
    if role != "worker":
        assert spec["containerConcurrency"] == shape.concurrency
        assert spec["timeoutSeconds"] == shape.timeout_s


def test_session_cap_is_the_realtime_fleet() -> None:
    notes, spec, container = template("realtime")
    fleet = int(notes["autoscaling.knative.dev/maxScale"]) * spec["containerConcurrency"]
    assert int(env_of(container)["MAX_CONCURRENT_SESSIONS"]) == fleet
    assert float(env_of(container)["REALTIME_MAX_SESSION_SECONDS"]) <= spec["timeoutSeconds"]


def test_worker_runs_jobs_in_process_and_is_internal() -> None:
    env = env_of(template("worker")[2])
    assert service("worker")["metadata"]["annotations"]["run.googleapis.com/ingress"] == "internal"
    assert env["JOB_WORKER_IN_PROCESS"] == "true" and env["JOB_QUEUE"] == "redis"
    assert Settings(_env_file=None, job_queue="redis", job_worker_in_process=True).runs_job_worker


def test_migration_job() -> None:
    (job,) = yaml_documents(CLOUDRUN / "migrate-job.yaml")
    spec = job["spec"]["template"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"] == ["migrate"]
    env = env_of(container)
    assert not unknown_env(set(env))
    assert env["DATABASE_URL"]["secretKeyRef"]["name"] == "ballsy-database-url"
    assert set(env) == {"ENVIRONMENT", "AUTH_MODE", "DATABASE_URL"}, "least privilege"


def test_database_connections_fit_max_connections() -> None:
    """Pools x max instances per role stay below production's max_connections."""
    total = 0
    for role in ("api", "realtime", "worker"):
        notes, _, container = template(role)
        env = env_of(container)
        pool = int(env["DATABASE_POOL_SIZE"]) + int(env["DATABASE_MAX_OVERFLOW"])
        total += pool * int(notes["autoscaling.knative.dev/maxScale"])
    production = (DEPLOY / "terraform/envs/production/main.tf").read_text(encoding="utf-8")
    max_connections = int(re.search(r"sql_max_connections\s*=\s*(\d+)", production)[1])  # type: ignore[index]
    assert total + 10 <= max_connections, (total, max_connections)


def dry_run(tmp_path: Path, *extra: str) -> list[str]:
    result = subprocess.run(
        [str(CLOUDRUN / "deploy.sh"), "--project", "demo-project", "--region", "europe-west4",
         "--tag", "v1.2.3", "--dry-run", "--out", str(tmp_path), *extra],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return [line[2:] for line in result.stdout.splitlines() if line.startswith("+ ")]


def test_deploy_dry_run_prints_build_migrate_deploy(tmp_path: Path) -> None:
    image = "europe-west4-docker.pkg.dev/demo-project/ballsy/ballsy:v1.2.3"
    gcloud = "gcloud --project demo-project"
    assert dry_run(tmp_path) == [
        f"{gcloud} builds submit {CLOUDRUN.parents[1]} --region europe-west4 "
        f"--config {CLOUDRUN}/cloudbuild.yaml --substitutions _IMAGE={image}",
        f"{gcloud} run jobs replace {tmp_path}/migrate-job.yaml --region europe-west4",
        f"{gcloud} run jobs execute ballsy-migrate --region europe-west4 --wait",
        f"{gcloud} run services replace {tmp_path}/worker.yaml --region europe-west4",
        f"{gcloud} run services replace {tmp_path}/realtime.yaml --region europe-west4",
        f"{gcloud} run services replace {tmp_path}/api.yaml --region europe-west4",
    ]
    for rendered in tmp_path.glob("*.yaml"):
        text = rendered.read_text(encoding="utf-8")
        assert "${" not in text, rendered
        for document in yaml_documents(rendered):
            assert document["metadata"]["name"].startswith("ballsy-")
    (api,) = yaml_documents(tmp_path / "api.yaml")
    assert api["spec"]["template"]["spec"]["containers"][0]["image"] == image
    notes = api["spec"]["template"]["metadata"]["annotations"]
    assert notes["run.googleapis.com/cloudsql-instances"] == "demo-project:europe-west4:ballsy-pg"


def test_deploy_skip_build_and_bad_usage(tmp_path: Path) -> None:
    commands = dry_run(tmp_path, "--skip-build")
    assert not any("builds submit" in command for command in commands)
    missing = subprocess.run(
        [str(CLOUDRUN / "deploy.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert missing.returncode == 2 and "--project" in missing.stderr


def test_cloudbuild_builds_the_dockerfile() -> None:
    (build,) = yaml_documents(CLOUDRUN / "cloudbuild.yaml")
    (step,) = build["steps"]
    assert "--file=deploy/docker/Dockerfile" in step["args"] and "${_IMAGE}" in build["images"]


def test_shell_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    scripts = sorted(DEPLOY.rglob("*.sh"))
    assert len(scripts) >= 3
    result = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def deploy_scaling() -> dict[tuple[str, str], tuple[int, int]]:
    script = (CLOUDRUN / "deploy.sh").read_text(encoding="utf-8")
    rows = re.findall(r'^\s+(\w+)/(\w+)\) echo "(\d+) (\d+)" ;;$', script, re.M)
    return {(env, role): (int(low), int(high)) for env, role, low, high in rows}


def test_deploy_scaling_matches_the_terraform_environments() -> None:
    table = deploy_scaling()
    assert len(table) == 9
    for env in ("dev", "staging", "production"):
        main = (DEPLOY / "terraform" / "envs" / env / "main.tf").read_text(encoding="utf-8")
        values = {k: int(v) for k, v in re.findall(r"^\s+(\w+_instances)\s+=\s+(\d+)$", main, re.M)}
        assert table[(env, "api")] == (values["api_min_instances"], values["api_max_instances"])
        assert table[(env, "realtime")] == (
            values["realtime_min_instances"],
            values["realtime_max_instances"],
        )
        assert table[(env, "worker")] == (1, values["worker_max_instances"])
    for role in ("api", "realtime", "worker"):
        notes = template(role)[0]
        assert table[("production", role)] == (
            int(notes["autoscaling.knative.dev/minScale"]),
            int(notes["autoscaling.knative.dev/maxScale"]),
        )


def test_deploy_to_a_smaller_environment_rescales(tmp_path: Path) -> None:
    dry_run(tmp_path, "--env", "dev", "--skip-build")
    (realtime,) = yaml_documents(tmp_path / "realtime.yaml")
    notes = realtime["spec"]["template"]["metadata"]["annotations"]
    low, high = deploy_scaling()[("dev", "realtime")]
    assert notes["autoscaling.knative.dev/minScale"] == str(low)
    assert notes["autoscaling.knative.dev/maxScale"] == str(high)
    env = env_of(realtime["spec"]["template"]["spec"]["containers"][0])
    assert env["MAX_CONCURRENT_SESSIONS"] == str(high * 15)
