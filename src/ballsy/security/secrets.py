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
from urllib.parse import unquote_plus, urlsplit, urlunsplit

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


# Query (and fragment) parameters whose value is a credential: tokens, API keys and
# the signatures of pre-signed URLs (S3 X-Amz-Signature, GCS X-Goog-Signature, Azure sig).
_SECRET_NAMES = frozenset({"key", "sig", "pwd", "pass", "code", "session", "jwt"})
_SECRET_PARTS = ("token", "secret", "passw", "signature", "credential", "auth", "apikey")
_PARAM = re.compile(r"(?P<sep>^|[&;])(?P<name>[^&;=]*)=(?P<value>[^&;]*)")


def _is_secret_name(name: str) -> bool:
    lowered = unquote_plus(name).strip().lower()
    return (
        lowered in _SECRET_NAMES
        or lowered.endswith(("key", "sig", "_id_token"))
        or any(part in lowered for part in _SECRET_PARTS)
    )


def _redact_params(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if not match["value"] or not _is_secret_name(match["name"]):
            return match[0]
        return f"{match['sep']}{match['name']}=***"

    return _PARAM.sub(one, text)


def redact_url(url: str | None) -> str | None:
    """A URL safe to log: its password and any secret query parameter become ``***``.

    The user info is split at the *last* ``@`` and the *first* ``:``, as URL parsers
    do, so a password holding ``:`` or ``@`` is hidden whole.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL we can take apart: hide it all
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if colon else netloc
    return urlunsplit(
        parts._replace(
            netloc=netloc,
            query=_redact_params(parts.query),
            fragment=_redact_params(parts.fragment),
        )
    )
