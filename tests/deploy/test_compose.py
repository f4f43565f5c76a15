"""deploy/compose.yaml: the local mirror of production, checked without Docker."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY, unknown_env

COMPOSE = DEPLOY / "compose.yaml"
BALLSY_SERVICES = ("migrate", "api", "realtime", "worker")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def test_the_production_topology_in_miniature() -> None:
    services = compose()["services"]
    assert set(services) == {"proxy", *BALLSY_SERVICES, "postgres", "redis"}
    assert services["api"]["command"] == ["serve", "--role", "api"]
    assert services["realtime"]["command"] == ["serve", "--role", "realtime"]
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["migrate"]
    assert re.fullmatch(r"postgres:15[.\-\w]*", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7[.\-\w]*", services["redis"]["image"])
    for name in BALLSY_SERVICES:
        assert services[name]["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        assert (DEPLOY / services[name]["build"]["context"] / "pyproject.toml").exists()


def test_every_variable_set_for_ballsy_is_a_setting() -> None:
    services = compose()["services"]
    for name in BALLSY_SERVICES:
        environment = services[name]["environment"]
        assert environment, name
        assert not unknown_env(set(environment)), (name, unknown_env(set(environment)))
    env = services["api"]["environment"]
    assert env["JOB_QUEUE"] == "redis", "a separate worker needs the Redis queue"
    assert env["DATABASE_URL"].startswith("postgresql://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["ENVIRONMENT"] == "production" and env["AUTH_MODE"] != "none"


def test_health_checks_and_start_order() -> None:
    services = compose()["services"]
    for name in ("api", "realtime", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])
    # The worker serves no HTTP: the image's /health check would mark it unhealthy.
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "realtime", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_volumes_persist_state_and_share_job_files() -> None:
    data = compose()
    services = data["services"]
    assert set(data["volumes"]) == {"ballsy-data", "postgres-data", "redis-data"}
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]
    # JOB_STORAGE=local: the worker reads what the api stored.
    for name in ("api", "worker"):
        assert "ballsy-data:/var/lib/ballsy" in services[name]["volumes"]


def test_proxy_routes_like_the_load_balancer() -> None:
    caddyfile = (DEPLOY / "compose" / "Caddyfile").read_text(encoding="utf-8")
    assert "@realtime path /ws/* /v1/realtime" in caddyfile
    assert "reverse_proxy @realtime realtime:8080" in caddyfile
    assert re.search(r"^\s*reverse_proxy api:8080$", caddyfile, re.M)
    assert (
        "./compose/Caddyfile:/etc/caddy/Caddyfile:ro" in compose()["services"]["proxy"]["volumes"]
    )
