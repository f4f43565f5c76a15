"""Secrets from Google Secret Manager, and keeping secrets out of logs.

Any setting whose value is a reference ``projects/<p>/secrets/<name>[/versions/<v>]``
is replaced by the secret's value once, at startup, when the optional
``google-cloud-secret-manager`` package is installed (its client finds credentials the
usual Google way). A reference with the package missing stops the start: sending the
reference itself as a password would fail later and more obscurely.
"""

from __future__ import annotations

import importlib
import re
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from pydantic import SecretStr

from ballsy.config import SECRET_REFERENCE, Settings
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


def resolve_secret_references(settings: Settings) -> Settings:
    """``settings`` with every Secret Manager reference replaced by its value."""
    references = _references(settings)
    if not references:
        return settings
    client = _client()
    updates: dict[str, Any] = {}
    for name, reference in references.items():
        version = reference if "/versions/" in reference else f"{reference}/versions/latest"
        response = client.access_secret_version(request={"name": version})
        value = response.payload.data.decode("utf-8")
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
