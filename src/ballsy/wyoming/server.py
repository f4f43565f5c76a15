"""The Wyoming TCP server: who may connect, how many, and an orderly stop.

``ballsy serve`` starts it from the app's lifespan when ``WYOMING_PORT`` is set (roles
all and realtime), and ``ballsy wyoming`` runs a process that serves only it (role
wyoming, port 10300 by default) — in both cases on the process's own shared models,
limits and metrics. It binds to loopback unless told otherwise
(:meth:`~ballsy.config.Settings.wyoming_problems` refuses an accidental public bind),
admits only allowed client addresses, and refuses connections past
``WYOMING_MAX_CONNECTIONS`` with an ``error`` event.
"""

from __future__ import annotations

import asyncio
import contextlib

from ballsy.config import Settings
from ballsy.errors import BallsyError
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.wyoming.announce import Announcement
from ballsy.wyoming.backends import WyomingBackends
from ballsy.wyoming.connection import WyomingConnection
from ballsy.wyoming.errors import error_event
from ballsy.wyoming.limits import ClientFilter, WyomingLimits
from ballsy.wyoming.outbox import Outbox

log = get_logger("ballsy.wyoming.server")

DEFAULT_PORT = 10300
"""Where ``ballsy wyoming`` listens when ``WYOMING_PORT`` is 0 (Wyoming's usual port)."""
STOP_GRACE_S = 5.0


class WyomingConfigError(BallsyError):
    code = "wyoming_misconfigured"


def wyoming_port(settings: Settings) -> int | None:
    """The port this process serves Wyoming on, or None when it does not."""
    if settings.server_role == "wyoming":
        return settings.wyoming_port or DEFAULT_PORT
    if settings.server_role in ("all", "realtime") and settings.wyoming_port:
        return settings.wyoming_port
    return None


class WyomingServer:
    def __init__(
        self,
        backends: WyomingBackends,
        limits: WyomingLimits,
        *,
        host: str,
        port: int,
        allowed: ClientFilter,
        zeroconf: bool = False,
    ) -> None:
        self.backends = backends
        self.limits = limits
        self.host = host
        self.port = port
        self.allowed = allowed
        self.zeroconf = zeroconf
        self.closing = False
        self._server: asyncio.Server | None = None
        self._connections: dict[WyomingConnection, asyncio.Task[object] | None] = {}
        self._announcement: Announcement | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, limit=self.limits.max_event_bytes
        )
        sockets = self._server.sockets
        if sockets and not self.port:
            self.port = int(sockets[0].getsockname()[1])
        log.info("ballsy.wyoming.listening", host=self.host, port=self.port)
        if self.zeroconf:
            self._announcement = Announcement(self.host, self.port)
            try:
                await self._announcement.start()
            except Exception as exc:  # discovery is a convenience; serving goes on
                log.warning("ballsy.wyoming.zeroconf_failed", error=f"{type(exc).__name__}: {exc}")
                self._announcement = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) and peername else None
        refusal = self._refusal(peer)
        if refusal is not None:
            await self._refuse(writer, peer, *refusal)
            return
        connection = WyomingConnection(reader, writer, self.backends, self.limits, peer=peer)
        self._connections[connection] = asyncio.current_task()
        try:
            await connection.run()
        except asyncio.CancelledError:
            pass  # the server closed it; run() has cleaned up
        finally:
            self._connections.pop(connection, None)

    def _refusal(self, peer: str | None) -> tuple[str, str, str] | None:
        """(metric reason, error code, message) when ``peer`` must not be served."""
        if self.closing:
            return "closing", "server_closing", "the server is shutting down"
        if not self.allowed.allows(peer):
            return "not_allowed", "not_allowed", "this address may not use the Wyoming server"
        if len(self._connections) >= self.limits.max_connections:
            return "full", "busy", "too many Wyoming connections; try again shortly"
        return None

    async def _refuse(
        self, writer: asyncio.StreamWriter, peer: str | None, reason: str, code: str, message: str
    ) -> None:
        metrics.WYOMING_CONNECTIONS_REFUSED.labels(reason).inc()
        log.warning("ballsy.wyoming.connection_refused", peer=peer, reason=reason)
        outbox = Outbox(writer, on_failure=lambda: None)
        outbox.send(error_event(code, message))
        await outbox.close(wait_s=1.0)

    async def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop accepting, give requests in progress ``grace`` seconds, close the rest."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        if self._announcement is not None:
            with contextlib.suppress(Exception):
                await self._announcement.stop()
        for connection in [c for c in self._connections if not c.busy]:
            connection.close()
        # Requests in progress may finish (Home Assistant then hangs up by itself).
        busy = [task for c, task in self._connections.items() if c.busy and task is not None]
        if busy:
            await asyncio.wait(busy, timeout=grace)
        tasks = [task for task in self._connections.values() if task is not None]
        for connection in list(self._connections):
            connection.close()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
        log.info("ballsy.wyoming.stopped", port=self.port)


async def start_wyoming(settings: Settings, backends: WyomingBackends) -> WyomingServer | None:
    """Start the Wyoming server this process is configured for (None: it serves none)."""
    port = wyoming_port(settings)
    if port is None:
        return None
    problems = settings.wyoming_problems()  # again: the command line may have changed it
    if problems:
        raise WyomingConfigError("; ".join(problems))
    server = WyomingServer(
        backends,
        WyomingLimits.from_settings(settings),
        host=settings.wyoming_host,
        port=port,
        allowed=ClientFilter(settings.wyoming_allowed_clients),
        zeroconf=settings.wyoming_zeroconf,
    )
    await server.start()
    return server
