"""The optional zeroconf announcement (``_wyoming._tcp``) that Home Assistant discovers.

Off by default (``WYOMING_ZEROCONF``): announcing a service on the local network is a
choice. A loopback bind is never announced — nobody else could reach it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import TYPE_CHECKING

from ballsy import __version__
from ballsy.observability.logging import get_logger

if TYPE_CHECKING:
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

log = get_logger("ballsy.wyoming.zeroconf")

SERVICE_TYPE = "_wyoming._tcp.local."
_MDNS_GROUP = "224.0.0.251"


def announced_address(host: str) -> str | None:
    """The address to announce for a bind to ``host`` (None: do not announce)."""
    if host in ("", "0.0.0.0", "::"):
        # The address the default route leaves from: what other hosts reach us on.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.setblocking(False)
            try:
                probe.connect((_MDNS_GROUP, 1))
            except OSError:
                return None
            return str(probe.getsockname()[0])
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_loopback else str(address)


def service_name() -> str:
    label = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname()).strip("-")[:40] or "server"
    return f"ballsy-{label}"


class Announcement:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._zeroconf: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    async def start(self) -> bool:
        address = announced_address(self.host)
        if address is None:
            log.warning("ballsy.wyoming.zeroconf_skipped", host=self.host)
            return False
        from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

        name = service_name()
        self._info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{name}.{SERVICE_TYPE}",
            addresses=[ipaddress.ip_address(address).packed],
            port=self.port,
            properties={"name": "Ballsy", "version": __version__},
        )
        self._zeroconf = AsyncZeroconf()
        await self._zeroconf.async_register_service(self._info)
        log.info("ballsy.wyoming.zeroconf_announced", name=name, address=address, port=self.port)
        return True

    async def stop(self) -> None:
        if self._zeroconf is None:
            return
        try:
            if self._info is not None:
                await self._zeroconf.async_unregister_service(self._info)
        finally:
            await self._zeroconf.async_close()
            self._zeroconf = None
