"""Dependencies shared by the routes, as ``Annotated`` aliases so routes read as prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from ballsy.config import Settings
from ballsy.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.services.settings
    return settings


def get_client_id(
    client_id: Annotated[
        str | None,
        Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$"),
    ] = None,
    x_client_id: Annotated[
        str | None,
        Header(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$"),
    ] = None,
) -> str:
    """Until authentication is configured, the client names itself; default is local."""
    return client_id or x_client_id or "local"


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientIdDep = Annotated[str, Depends(get_client_id)]
