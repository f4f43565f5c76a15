"""The OpenAPI document bounds every parameter and documents every error answer.

Integers beyond 64 bits used to reach the database (HTTP 500); every integer now has a
``maximum`` and every string a ``maxLength``, and each operation lists the error
statuses the middleware, the guard and its services answer, with the error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ballsy.api.openapi import ErrorBody, OpenAIErrorBody
from ballsy.app import create_app
from ballsy.security.guard import PUBLIC_PATHS
from tests.conftest import make_settings

HUGE = [
    "/api/history?before=2104121090078333776953344",
    "/api/transcriptions?offset=12569019535424921489635278848",
    "/api/voice/18446744073709551617/audio",
    "/api/history?limit=99999999999999999999999",
    "/api/admin/users?offset=99999999999999999999999",
]
_METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.mark.parametrize("url", HUGE)
async def test_integers_beyond_64_bits_are_422_not_500(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


async def test_an_overlong_path_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/transcriptions/" + "a" * 65)
    assert response.status_code == 422


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app: FastAPI = create_app(make_settings(tmp_path_factory.mktemp("schema")))
    return app.openapi()


def _unbounded(
    node: Any, components: dict[str, Any], where: str, seen: tuple[str, ...] = ()
) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded(components[name], components, where, (*seen, name))
        return
    fixed = "enum" in node or "const" in node
    if node.get("type") == "integer" and "maximum" not in node and not fixed:
        yield f"{where}: integer without maximum"
    # Files (contentMediaType) are bounded by the body limits, not by the schema.
    free_text = not fixed and not {"contentMediaType", "maxLength", "format"} & node.keys()
    if node.get("type") == "string" and free_text:
        yield f"{where}: string without maxLength"
    for name, child in node.get("properties", {}).items():
        yield from _unbounded(child, components, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        yield from _unbounded(node.get(key), components, f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for child in node.get(key, []):
            yield from _unbounded(child, components, where, seen)


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, method, operation


def test_every_integer_and_string_input_is_bounded(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    problems: list[str] = []
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            where = f"{method} {path} {parameter['in']}:{parameter['name']}"
            problems += _unbounded(parameter["schema"], components, where)
        for content in operation.get("requestBody", {}).get("content", {}).values():
            problems += _unbounded(content["schema"], components, f"{method} {path} body")
    assert not problems, "\n".join(problems)


def test_every_operation_documents_its_error_answers(schema: dict[str, Any]) -> None:
    missing: list[str] = []
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        needed = set() if path == "/health" else {"503"}
        if path not in PUBLIC_PATHS:
            needed |= {"401", "429"}
        if operation.get("parameters") or "requestBody" in operation:
            needed.add("422")
        if "requestBody" in operation:
            needed.add("413")
        if "{" in path:
            needed.add("404")
        if path.startswith("/api/admin/"):
            needed.add("403")
        if missing_here := needed - codes:
            missing.append(f"{method} {path}: {sorted(missing_here)}")
        expected = "OpenAIErrorBody" if path.startswith("/v1/") else "ErrorBody"
        for code, response in operation["responses"].items():
            if int(code) >= 400 and path != "/ready":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/" + expected), (method, path, code, ref)
    assert not missing, "\n".join(missing)
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_specific_errors_are_documented_where_services_raise_them(
    schema: dict[str, Any],
) -> None:
    paths = schema["paths"]
    assert "409" in paths["/api/transcriptions/{job_id}/result"]["get"]["responses"]
    assert "409" in paths["/api/admin/users"]["post"]["responses"]
    assert "400" in paths["/v1/audio/transcriptions"]["post"]["responses"]
    assert "403" in paths["/api/admin/users"]["get"]["responses"]
    retry = paths["/api/command"]["post"]["responses"]["429"]["headers"]
    assert "Retry-After" in retry


async def test_error_bodies_match_the_documented_schema(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    not_found = await client.get("/api/transcriptions/no-such-job")
    assert not_found.status_code == 404
    ErrorBody.model_validate(not_found.json())
    invalid = await client.get("/api/history?limit=0")
    ErrorBody.model_validate(invalid.json())
    openai = await client.post("/v1/chat/completions", json={"model": "x", "messages": []})
    assert openai.status_code == 422
    OpenAIErrorBody.model_validate(openai.json())
