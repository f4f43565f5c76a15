"""``deploy/monitoring``: the alert rules and the dashboard only use metrics we export."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

# Imported for its side effect too: every metric object is registered (the MCP client
# keeps its own, registered when the app imports it).
import ballsy.tools.mcp.metrics  # noqa: F401
from ballsy.observability.metrics import exported_sample_names

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
METRIC_NAME = re.compile(r"\bballsy_[a-z0-9_]+")
DURATION = re.compile(r"\d+[smhd]")


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [
        variable["definition"]
        for variable in dashboard["templating"]["list"]
        if "definition" in variable
    ]
    return exprs


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for char in expr:
        if char in depth:
            depth[char] += 1
        elif char in closing:
            depth[closing[char]] -= 1
            if depth[closing[char]] < 0:
                return False
    return not any(depth.values())


def test_exported_names_cover_every_kind_of_metric() -> None:
    names = exported_sample_names()
    assert {
        "ballsy_http_requests_total",
        "ballsy_http_request_duration_seconds_bucket",
        "ballsy_ws_connections_active",
        "ballsy_turn_stage_seconds_count",
        "ballsy_llm_tokens_total",
    } <= names
    assert all(name.startswith("ballsy_") for name in names)


def test_alert_rules_are_well_formed() -> None:
    rules = _rules()
    names = {rule["alert"] for rule in rules}
    assert names == {
        "BallsyHighErrorRate",
        "BallsyHighLatencyP95",
        "BallsyInstanceSaturated",
        "BallsyNotReady",
        "BallsyLLMProviderErrors",
    }
    for rule in rules:
        assert DURATION.fullmatch(rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert _balanced(rule["expr"]), rule["alert"]
    by_name = {rule["alert"]: rule for rule in rules}
    # The seeds: 5xx above 5 % and p95 above 2 s, each for 5 minutes.
    errors = by_name["BallsyHighErrorRate"]
    assert errors["for"] == "5m" and re.search(r">\s*0\.05\s*$", errors["expr"])
    assert 'status=~"5.."' in errors["expr"]
    latency = by_name["BallsyHighLatencyP95"]
    assert latency["for"] == "5m" and "histogram_quantile(0.95" in latency["expr"]
    assert re.search(r">\s*2\s*$", latency["expr"])


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_monitoring_references_only_exported_metrics(source: str) -> None:
    exprs = [rule["expr"] for rule in _rules()] if source == "alerts" else _dashboard_exprs()
    assert exprs
    exported = exported_sample_names()
    referenced = {name for expr in exprs for name in METRIC_NAME.findall(expr)}
    assert referenced, "no ballsy_ metric referenced"
    assert referenced <= exported, f"not exported: {sorted(referenced - exported)}"
    for expr in exprs:
        assert _balanced(expr), expr


def test_dashboard_shows_every_metric_family() -> None:
    referenced = {name for expr in _dashboard_exprs() for name in METRIC_NAME.findall(expr)}
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in exported_sample_names()}
    shown = {re.sub(r"_(bucket|sum|count)$", "", name) for name in referenced}
    assert families <= shown, f"no panel for: {sorted(families - shown)}"
