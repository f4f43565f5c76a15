"""Dependencies shared by the routes, as ``Annotated`` aliases so routes read as prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from ballsy.config import Settings
from ballsy.errors import Forbidden
from ballsy.names import ClientId
from ballsy.security.guard import PRINCIPAL_STATE, current_principal
from ballsy.security.principal import Principal
from ballsy.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.services.settings
    return settings


def get_client_id(
    request: Request,
    client_id: Annotated[ClientId | None, Query()] = None,
    x_client_id: Annotated[ClientId | None, Header()] = None,
) -> str:
    """The caller's user name (``users.client_id``).

    With ``AUTH_MODE=none`` the client names itself with these parameters (the app
    guard already resolved them); with authentication on, the authenticated user is
    the answer and a client-supplied id is only a device label, never an identity.
    """
    principal: Principal | None = getattr(request.state, PRINCIPAL_STATE, None)
    if principal is not None:
        return principal.name
    return client_id or x_client_id or "local"


def require_admin(user: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not user.is_admin:
        raise Forbidden("this route is for administrators")
    return user


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientIdDep = Annotated[str, Depends(get_client_id)]
# The authenticated caller of this request (the app-wide guard put it there).
CurrentUser = Annotated[Principal, Depends(current_principal)]
AdminUser = Annotated[Principal, Depends(require_admin)]
