"""deploy/terraform without a terraform binary: every file parses (python-hcl2), every
reference resolves, module calls match their variables, and the values that matter
match the app, the Cloud Run manifests and the design (PG15, PITR, Cloud Armor, alerts).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.deploy.conftest import DEPLOY, unknown_env, yaml_documents

TERRAFORM = DEPLOY / "terraform"
META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}
ENVIRONMENTS = ("dev", "staging", "production")


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@cache
def parse(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every block of every .tf file in ``directory``, by block type."""
    blocks: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for kind, items in hcl2.load(handle).items():
                blocks.setdefault(kind, []).extend(items)
    return blocks


def module_dirs() -> list[Path]:
    return sorted({path.parent for path in TERRAFORM.rglob("*.tf")})


def labeled(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Blocks with one label (variable, output, module) by name."""
    found: dict[str, dict[str, Any]] = {}
    for item in parse(directory).get(kind, []):
        for name, body in item.items():
            found[unquote(name)] = body
    return found


def resources(directory: Path, kind: str = "resource") -> dict[str, dict[str, Any]]:
    """``type.name`` => body of every resource (or data source)."""
    found: dict[str, dict[str, Any]] = {}
    for item in parse(directory).get(kind, []):
        for type_name, named in item.items():
            for name, body in named.items():
                found[f"{unquote(type_name)}.{unquote(name)}"] = body
    return found


def local_values(directory: Path) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for block in parse(directory).get("locals", []):
        values.update({k: v for k, v in block.items() if not k.startswith("__")})
    return values


def expressions(node: Any) -> list[str]:
    """Every string in a parsed tree (comments left out)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() if not k.startswith("__") for s in expressions(v)]
    if isinstance(node, list):
        return [s for item in node for s in expressions(item)]
    return [node] if isinstance(node, str) else []


def text_of(directory: Path) -> str:
    return "\n".join(expressions(parse(directory)))


def test_every_file_parses_and_the_layout_is_complete() -> None:
    dirs = {str(d.relative_to(TERRAFORM)) for d in module_dirs()}
    modules = {
        "network", "registry", "database", "redis", "secrets", "identities", "storage",
        "cloud_run_service", "load_balancer", "monitoring", "ballsy",
    }  # fmt: skip
    assert dirs == {f"modules/{m}" for m in modules} | {f"envs/{e}" for e in ENVIRONMENTS}
    for directory in module_dirs():
        assert parse(directory), directory
        for name, body in labeled(directory, "variable").items():
            assert unquote(body.get("description", "")), f"{directory.name}: var.{name}"


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda d: str(d.relative_to(TERRAFORM)))
def test_every_reference_resolves(directory: Path) -> None:
    text = text_of(directory)
    variables = set(labeled(directory, "variable"))
    declared = set(resources(directory))
    data = {f"data.{name}" for name in resources(directory, "data")}
    modules = labeled(directory, "module")

    missing = {f"var.{n}" for n in re.findall(r"\bvar\.(\w+)", text)} - {
        f"var.{v}" for v in variables
    }
    missing |= {f"local.{n}" for n in re.findall(r"\blocal\.(\w+)", text)} - {
        f"local.{n}" for n in local_values(directory)
    }
    missing |= {f"data.{t}.{n}" for t, n in re.findall(r"\bdata\.(\w+)\.(\w+)", text)} - data
    missing |= {
        f"{t}.{n}" for t, n in re.findall(r"(?<![\w.])((?:google|random)_\w+)\.(\w+)", text)
    } - declared
    for name, output in re.findall(r"\bmodule\.(\w+)(?:\.(\w+))?", text):
        if name not in modules:
            missing.add(f"module.{name}")
        elif output:
            target = (directory / unquote(modules[name]["source"])).resolve()
            if output not in labeled(target, "output"):
                missing.add(f"module.{name}.{output}")
    assert not missing, f"{directory}: {sorted(missing)}"
    unused = {v for v in variables if not re.search(rf"\bvar\.{v}\b", text)}
    assert not unused, f"{directory}: variables nobody reads: {sorted(unused)}"


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda d: str(d.relative_to(TERRAFORM)))
def test_module_calls_match_their_variables(directory: Path) -> None:
    for name, call in labeled(directory, "module").items():
        target = (directory / unquote(call["source"])).resolve()
        assert target.is_dir() and list(target.glob("*.tf")), f"{name}: {target}"
        variables = labeled(target, "variable")
        given = {key for key in call if not key.startswith("__")} - META_ARGUMENTS
        assert given <= set(variables), f"module {name}: unknown {given - set(variables)}"
        required = {v for v, body in variables.items() if "default" not in body}
        assert required <= given, f"module {name}: missing {required - given}"


def test_terraform_fmt_when_a_binary_is_present() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary; the HCL is checked by python-hcl2 above")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# --- what the resources say ---------------------------------------------------------


def module_dir(name: str) -> Path:
    return TERRAFORM / "modules" / name


def test_cloud_sql_is_postgres_15_with_backups_and_pitr() -> None:
    (instance,) = [
        body for key, body in resources(module_dir("database")).items()
        if key.startswith("google_sql_database_instance.")
    ]  # fmt: skip
    assert unquote(instance["database_version"]) == "POSTGRES_15"
    settings = instance["settings"][0]
    backup = settings["backup_configuration"][0]
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    network = settings["ip_configuration"][0]
    assert network["ipv4_enabled"] is False and unquote(network["ssl_mode"]) == "ENCRYPTED_ONLY"


def test_redis_requires_auth_and_stays_private() -> None:
    body = resources(module_dir("redis"))["google_redis_instance.this"]
    assert body["auth_enabled"] is True
    assert unquote(body["connect_mode"]) == "PRIVATE_SERVICE_ACCESS"


def test_secrets_are_least_privilege() -> None:
    ballsy = labeled(module_dir("ballsy"), "module")["secrets"]
    accessors = {unquote(k): [unquote(r) for r in v] for k, v in ballsy["accessors"].items()}
    assert accessors == {
        "ballsy-database-url": ["api", "realtime", "worker", "migrate"],
        "ballsy-redis-url": ["api", "realtime", "worker"],
        "ballsy-jwt-secret": ["api", "realtime", "worker"],
    }
    binding = resources(module_dir("secrets"))["google_secret_manager_secret_iam_member.accessor"]
    assert unquote(binding["role"]) == "roles/secretmanager.secretAccessor"
    project_roles = local_values(module_dir("identities"))["project_roles"]
    assert not [role for role in project_roles if "secretmanager" in role or "owner" in role]
    # The secret ids are the ones the Cloud Run manifests read.
    for role in ("api", "realtime", "worker"):
        (service,) = yaml_documents(DEPLOY / "cloudrun" / f"{role}.yaml")
        refs = {
            item["valueFrom"]["secretKeyRef"]["name"]
            for item in service["spec"]["template"]["spec"]["containers"][0]["env"]
            if "valueFrom" in item
        }
        assert refs == {k for k, roles in accessors.items() if role in roles}


def test_load_balancer_routes_by_path() -> None:
    url_map = resources(module_dir("load_balancer"))["google_compute_url_map.https"]
    matcher = url_map["path_matcher"][0]
    rules = {
        tuple(unquote(p) for p in rule["paths"]): rule["service"] for rule in matcher["path_rule"]
    }
    assert rules[("/ws/*", "/v1/realtime")].endswith('role["realtime"].id}')
    assert rules[("/api/*", "/v1/*")].endswith('role["api"].id}')
    assert matcher["default_service"].endswith('role["api"].id}')


def test_cloud_armor_bans_100_per_60_s_and_applies_owasp_rules() -> None:
    directory = module_dir("load_balancer")
    variables = labeled(directory, "variable")
    assert variables["rate_limit_count"]["default"] == 100
    assert variables["rate_limit_interval_sec"]["default"] == 60
    call = labeled(module_dir("ballsy"), "module")["load_balancer"]
    assert (call["rate_limit_count"], call["rate_limit_interval_sec"]) == (100, 60)
    policy = resources(directory)["google_compute_security_policy.this"]
    actions = [unquote(rule["action"]) for rule in policy["rule"]]
    assert "rate_based_ban" in actions
    waf = set(local_values(directory)["waf_rules"])
    for family in ("sqli", "xss", "lfi", "rfi", "rce", "scannerdetection", "protocolattack"):
        assert f'"{family}-v33-stable"' in waf or f"{family}-v33-stable" in waf
    assert "cve-canary" in json.dumps(policy)
    for backend in ("google_compute_backend_service.role",):
        assert "security_policy" in resources(directory)[backend]


def test_alerts_match_the_design_and_the_prometheus_rules() -> None:
    variables = labeled(module_dir("monitoring"), "variable")
    assert variables["error_rate_threshold"]["default"] == 0.05
    assert variables["latency_p95_ms"]["default"] == 2000
    rules = (DEPLOY / "monitoring" / "alerts.yaml").read_text(encoding="utf-8")
    assert "> 0.05" in rules and ") > 2" in rules, "the same thresholds in Prometheus"
    found = resources(module_dir("monitoring"))
    assert {
        "google_monitoring_alert_policy." + n
        for n in ("error_rate", "latency", "saturation", "uptime")
    } <= set(found)
    check = found["google_monitoring_uptime_check_config.health"]["http_check"][0]
    assert unquote(check["path"]) == "/health"
    budget = found["google_billing_budget.monthly"]
    assert [r["threshold_percent"] for r in budget["threshold_rules"]] == [0.5, 0.9, 1.0, 1.0]


def tf_service_env(call: dict[str, Any], locals_: dict[str, Any]) -> set[str]:
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", call["env"]))
    for name in re.findall(r"\blocal\.(\w+)", call["env"] + call["secret_env"]):
        names |= set(locals_[name])
    return names


@pytest.mark.parametrize("role", ["api", "realtime", "worker"])
def test_cloud_run_services_match_the_release_manifests(role: str) -> None:
    call = labeled(module_dir("ballsy"), "module")[role]
    (service,) = yaml_documents(DEPLOY / "cloudrun" / f"{role}.yaml")
    template = service["spec"]["template"]
    (container,) = template["spec"]["containers"]
    notes = template["metadata"]["annotations"]
    assert unquote(call["name"]) == service["metadata"]["name"]
    assert [unquote(a) for a in call["args"]] == container["args"]
    assert call["concurrency"] == template["spec"]["containerConcurrency"]
    assert call["timeout_seconds"] == template["spec"]["timeoutSeconds"]
    assert unquote(call["cpu"]) == container["resources"]["limits"]["cpu"]
    assert unquote(call["memory"]) == container["resources"]["limits"]["memory"]
    always = notes["run.googleapis.com/cpu-throttling"] == "false"
    assert call["cpu_always_allocated"] is always
    assert call.get("session_affinity", False) is (
        notes.get("run.googleapis.com/sessionAffinity") == "true"
    )
    yaml_env = {item["name"] for item in container["env"]}
    tf_env = tf_service_env(call, local_values(module_dir("ballsy")))
    assert tf_env == yaml_env, tf_env ^ yaml_env
    assert not unknown_env(tf_env)


def test_production_scales_like_the_manifests() -> None:
    production = labeled(TERRAFORM / "envs" / "production", "module")["ballsy"]
    for role, prefix in (("api", "api"), ("realtime", "realtime")):
        (service,) = yaml_documents(DEPLOY / "cloudrun" / f"{role}.yaml")
        notes = service["spec"]["template"]["metadata"]["annotations"]
        assert production[f"{prefix}_min_instances"] == int(
            notes["autoscaling.knative.dev/minScale"]
        )
        assert production[f"{prefix}_max_instances"] == int(
            notes["autoscaling.knative.dev/maxScale"]
        )
    assert production["sql_high_availability"] is True
    assert unquote(production["redis_tier"]) == "STANDARD_HA"
    assert production["deletion_protection"] is True


def test_environments_differ_only_in_size() -> None:
    calls = {e: labeled(TERRAFORM / "envs" / e, "module")["ballsy"] for e in ENVIRONMENTS}
    assert {unquote(c["environment"]) for c in calls.values()} == set(ENVIRONMENTS)
    assert len({frozenset(c) for c in calls.values()}) == 1, "same arguments in every env"
    assert calls["dev"]["deletion_protection"] is False
    assert calls["dev"]["monthly_budget_usd"] < calls["production"]["monthly_budget_usd"]
    for env in ENVIRONMENTS:
        backend = parse(TERRAFORM / "envs" / env)["terraform"][0]["backend"][0]
        gcs = {unquote(kind): body for kind, body in backend.items()}["gcs"]
        assert unquote(gcs["prefix"]) == f"ballsy/{env}"
