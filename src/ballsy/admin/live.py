"""The voice connections open right now: this process's sockets, and the session
count across every instance (the ``MAX_CONCURRENT_SESSIONS`` slots)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ballsy.realtime.connections import ConnectionRegistry
from ballsy.security.guard import PRINCIPAL_STATE
from ballsy.security.principal import Principal


@dataclass(frozen=True, slots=True)
class LiveConnection:
    endpoint: str
    path: str
    user_id: str | None
    user: str | None
    auth: str | None
    client_ip: str | None
    opened_at: float
    seconds: float


def live_connections(registry: ConnectionRegistry) -> list[LiveConnection]:
    now = time.time()
    result = []
    for entry in registry.snapshot():
        websocket = entry.websocket
        # Set by the guard or by first-message auth before the connection registers.
        principal: Principal | None = getattr(websocket.state, PRINCIPAL_STATE, None)
        result.append(
            LiveConnection(
                endpoint=entry.endpoint,
                path=websocket.url.path,
                user_id=principal.user_id if principal else None,
                user=principal.name if principal else None,
                auth=principal.via if principal else None,
                client_ip=websocket.client.host if websocket.client else None,
                opened_at=entry.opened_at,
                seconds=round(now - entry.opened_at, 1),
            )
        )
    return result
