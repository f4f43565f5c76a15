"""Secrets from Google Secret Manager, and keeping secrets out of logs.

Any setting whose value is a reference ``projects/<p>/secrets/<name>[/versions/<v>]``
is replaced by the secret's value once, at startup, when the optional
``google-cloud-secret-manager`` package is installed (its client finds credentials the
usual Google way). A reference with the package missing stops the start: sending the
reference itself as a password would fail later and more obscurely.

The header and environment values of ``MCP_SERVERS`` entries are resolved the same way,
alone or after a scheme word (``Bearer projects/p/secrets/ha-token``), since a header
usually carries its secret behind one.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from ballsy.config import SECRET_REFERENCE, McpServerSettings, Settings
from ballsy.errors import ConfigurationError
from ballsy.observability.logging import get_logger

log = get_logger("ballsy.security")
_PACKAGE = "google.cloud.secretmanager"


def _references(settings: Settings) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and SECRET_REFERENCE.match(raw):
            found[name] = raw
    return found


def _client() -> Any:
    try:
        module = importlib.import_module(_PACKAGE)
    except ImportError:
        raise ConfigurationError(
            "settings name Secret Manager references but google-cloud-secret-manager is "
            "not installed (pip install google-cloud-secret-manager)"
        ) from None
    return module.SecretManagerServiceClient()


_SCHEMED = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9._-]* +)(?P<reference>\S+)$")


def _embedded_reference(value: str) -> tuple[str, str] | None:
    """``(prefix, reference)`` when ``value`` is a reference, alone or after a scheme."""
    if SECRET_REFERENCE.match(value):
        return "", value
    match = _SCHEMED.match(value)
    if match and SECRET_REFERENCE.match(match["reference"]):
        return match["scheme"], match["reference"]
    return None


def _mcp_values(server: McpServerSettings) -> dict[str, dict[str, SecretStr]]:
    return {"headers": server.headers, "env": server.env}


def _has_mcp_references(settings: Settings) -> bool:
    return any(
        _embedded_reference(value.get_secret_value())
        for server in settings.mcp_servers
        for values in _mcp_values(server).values()
        for value in values.values()
    )


def _resolve_mcp_server(
    server: McpServerSettings, access: Callable[[str], str]
) -> McpServerSettings:
    updates: dict[str, dict[str, SecretStr]] = {}
    for part, values in _mcp_values(server).items():
        resolved = dict(values)
        for key, value in values.items():
            found = _embedded_reference(value.get_secret_value())
            if found is not None:
                prefix, reference = found
                resolved[key] = SecretStr(prefix + access(reference))
                log.info(
                    "ballsy.security.secret_resolved", setting=f"MCP_SERVERS[{server.name}].{part}"
                )
        updates[part] = resolved
    return server.model_copy(update=updates)


def resolve_secret_references(settings: Settings) -> Settings:
    """``settings`` with every Secret Manager reference replaced by its value."""
    references = _references(settings)
    in_mcp = _has_mcp_references(settings)
    if not references and not in_mcp:
        return settings
    client = _client()

    def access(reference: str) -> str:
        version = reference if "/versions/" in reference else f"{reference}/versions/latest"
        response = client.access_secret_version(request={"name": version})
        return str(response.payload.data.decode("utf-8"))

    updates: dict[str, Any] = {}
    if in_mcp:
        updates["mcp_servers"] = [
            _resolve_mcp_server(server, access) for server in settings.mcp_servers
        ]
    for name, reference in references.items():
        value = access(reference)
        current = getattr(settings, name)
        updates[name] = SecretStr(value) if isinstance(current, SecretStr) else value
        log.info("ballsy.security.secret_resolved", setting=name)
    resolved = settings.model_copy(update=updates)
    resolved.__dict__.pop("sqlalchemy_url", None)  # a cached value derived from a reference
    problems = resolved.production_problems()
    if problems:
        raise ConfigurationError("; ".join(problems))
    return resolved


def _masked_params(text: str) -> str:
    """``a=1&b=2`` → ``a=***&b=***``: names stay (they help to debug), values go.

    A name list of secret parameters is never complete (``?t=``, ``?hmac=``…), so
    every value is hidden; an item without ``=`` may be a bare token and goes whole.
    """
    items = []
    for item in text.replace(";", "&").split("&"):
        name, equals, value = item.partition("=")
        items.append(f"{name}={'***' if value else ''}" if equals else ("***" if item else ""))
    return "&".join(items)


def _authority_end(rest: str, netloc: str) -> int:
    """Where the user info ends in ``rest`` (the URL after ``//``), or -1 for none.

    ``urlsplit`` ends the host at the first ``/``, ``?`` or ``#``, but database
    drivers split the user info at the last ``@``: a password holding one of those
    characters then looks like a host and port followed by a path. When the host part
    holds ``:`` and an ``@`` comes later, everything up to the last ``@`` is taken as
    user info, so the whole password is hidden either way.
    """
    if "@" in netloc:
        return rest.rfind("@", 0, len(netloc))
    if ":" in netloc and "@" in rest[len(netloc) :]:
        return rest.rfind("@")
    return -1


def redact_url(url: str | None, *, keep_path: bool = True) -> str | None:
    """A URL safe to log: scheme, host, port and path; no password, no query values.

    A user name is kept before a password (``app:***@db``); user info without a
    password may itself be a token and becomes ``***``. Query and fragment values
    become ``***`` whatever their name, and ``;`` path parameters go whole. With
    ``keep_path=False`` the path goes too (webhook URLs such as Slack's carry their
    token in the path): ``https://hooks.slack.com/...``. What cannot be parsed is
    ``***`` whole.
    """
    if not url:
        return url
    scheme, slashes, rest = url.partition("://")
    if not slashes:
        return _redact_opaque(url)
    try:
        netloc = urlsplit(url).netloc
        end = _authority_end(rest, netloc)
        userinfo = rest[:end] if end >= 0 else None
        parts = urlsplit(f"{scheme}://{rest[end + 1 :]}")
        host = parts.netloc
        _ = parts.port  # a non-numeric port is a URL we cannot read: hide it all
    except ValueError:
        return "***"
    if not parts.hostname or "@" in host:
        return "***"
    if not keep_path:
        hidden = "/..." if parts.path.strip("/") or parts.query or parts.fragment else ""
        return f"{scheme}://{host}{hidden}"
    if userinfo is not None:
        user, colon, _password = userinfo.partition(":")
        host = f"{user}:***@{host}" if colon else f"***@{host}"
    path, semicolon, _params = parts.path.partition(";")
    redacted = f"{scheme}://{host}{path}" + (";***" if semicolon else "")
    if parts.query:
        redacted += "?" + _masked_params(parts.query)
    if parts.fragment:
        redacted += "#" + _masked_params(parts.fragment)
    return redacted


def _redact_opaque(url: str) -> str:
    """A URL without ``//`` (``media:users/a.wav``, ``mailto:``): its query values go."""
    base, question, query = url.partition("?")
    return base + ("?" + _masked_params(query) if question else "")
