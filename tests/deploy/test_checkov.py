"""checkov over the Terraform, the Kubernetes manifests and the Dockerfile, in one run.

No finding may fail. Each accepted one is skipped inline next to the resource with a
reason (``checkov:skip=ID:reason``, or a ``checkov.io/skipN`` annotation), and is listed
in docs/deploy.md's table, which this test keeps in step with the code. checkov lives
in its own venv (.venv-tools, made by scripts/tools.sh) because its pins clash with ours.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from tests.deploy.conftest import DEPLOY, ROOT

CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"
FRAMEWORKS = {"terraform", "kubernetes", "dockerfile"}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run scripts/tools.sh (make test does)")
    result = subprocess.run(
        [
            str(CHECKOV), "--directory", str(DEPLOY),
            # Cloud Run's Knative YAMLs look like Kubernetes objects but are not.
            "--skip-path", "deploy/cloudrun",
            "--framework", *sorted(FRAMEWORKS),
            "--output", "json", "--skip-download", "--no-fail-on-crash",
        ],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-3000:]
    parsed = json.loads(result.stdout)
    items = parsed if isinstance(parsed, list) else [parsed]
    return {item["check_type"]: item for item in items}


def test_every_framework_was_scanned_without_parse_errors(
    reports: dict[str, dict[str, Any]],
) -> None:
    assert set(reports) == FRAMEWORKS
    for framework, report in reports.items():
        assert report["summary"]["parsing_errors"] == 0, framework
        assert report["summary"]["passed"] > 20, framework


def test_no_check_fails(reports: dict[str, dict[str, Any]]) -> None:
    failed = [
        f"{c['check_id']} {c['file_path']} {c['resource']}: {c['check_name']}"
        for report in reports.values()
        for c in report["results"].get("failed_checks", [])
    ]
    assert not failed, "\n".join(failed)


def test_every_skip_has_a_reason_and_is_documented(reports: dict[str, dict[str, Any]]) -> None:
    skipped = [c for r in reports.values() for c in r["results"].get("skipped_checks", [])]
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{check['check_id']} in {check['file_path']} has no reason"
    table = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(CKV2?_[A-Z0-9_]+)` \|[^\n]*\| accepted \|", table, re.M))
    assert {check["check_id"] for check in skipped} == documented
