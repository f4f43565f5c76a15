"""Dependencies shared by the routes, as ``Annotated`` aliases so routes read as prose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from starlette.requests import HTTPConnection

from ballsy.config import Settings
from ballsy.errors import Forbidden
from ballsy.names import ClientId
from ballsy.notices.live import LiveListeners
from ballsy.realtime.session.adapters import session_ports
from ballsy.realtime.session.observer import observe_session_event
from ballsy.realtime.session.ports import SessionPorts
from ballsy.realtime.wire.lifetime import SocketServices
from ballsy.security.guard import PRINCIPAL_STATE, current_principal
from ballsy.security.principal import Principal
from ballsy.security.service import AuthService
from ballsy.services import Services
from ballsy.speech.service import SpeechService


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


# --- Realtime sockets and the web client -----------------------------------------------
# The voice sockets (ballsy.realtime.wire) and the web page shells (ballsy.web) get
# these records from their route's dependency, never the container itself.


@dataclass(frozen=True, slots=True)
class RealtimeServices:
    """What a realtime socket route uses of the process, for one connection."""

    auth: AuthService
    """First-message authentication (:func:`ballsy.security.websocket.authenticate_websocket`)."""
    settings: Settings
    speech: SpeechService
    """The voices a client may choose."""
    ports: SessionPorts
    """The engine's ports on the shared models, assistant and limits."""
    listeners: LiveListeners
    """Due timers and reminders, spoken on the user's open socket."""
    lifetime: SocketServices
    """What :func:`ballsy.realtime.wire.lifetime.serve_connection` needs."""


def realtime_services(conn: HTTPConnection) -> RealtimeServices:
    services: Services = conn.app.state.services
    settings = services.settings
    return RealtimeServices(
        auth=services.auth,
        settings=settings,
        speech=services.speech,
        ports=session_ports(
            speech=services.speech,
            assistant=services.assistant,
            limits=services.limits,
            observe=observe_session_event,
            max_command_length=settings.max_command_length,
            playout_lead_s=settings.realtime_playout_lead,
        ),
        listeners=services.listeners,
        lifetime=SocketServices(
            services.sessions, services.connections, settings, services.overruns
        ),
    )


@dataclass(frozen=True, slots=True)
class WebPageServices:
    """What the web client's page shells show of the process (limits, voices)."""

    settings: Settings
    speech: SpeechService


def web_page_services(conn: HTTPConnection) -> WebPageServices:
    services: Services = conn.app.state.services
    return WebPageServices(services.settings, services.speech)


RealtimeDep = Annotated[RealtimeServices, Depends(realtime_services)]
WebPageDep = Annotated[WebPageServices, Depends(web_page_services)]
