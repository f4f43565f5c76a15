"""Dependencies of the routes, as ``Annotated`` aliases so routes read as prose.

The one module of ``api/`` that reads the service container (``app.state.services``):
each alias hands a route the service it calls and nothing more, so no route module
names ``Services``, and what a route depends on is in its signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from ballsy.accounts.service import Accounts
from ballsy.admin.live import live_connections
from ballsy.admin.reports import AdminReports
from ballsy.assistant.preferences import PreferencesService
from ballsy.assistant.service import Assistant
from ballsy.assistant.spoken_turn import SpokenTurns
from ballsy.config import Settings
from ballsy.errors import Forbidden
from ballsy.jobs.service import JobService
from ballsy.llm.registry import LLMRegistry
from ballsy.notices.live import LiveListeners
from ballsy.realtime.session.adapters import session_ports
from ballsy.realtime.session.observer import observe_session_event
from ballsy.realtime.session.ports import SessionPorts
from ballsy.realtime.wire.lifetime import SocketServices
from ballsy.security.guard import current_principal
from ballsy.security.principal import Principal
from ballsy.security.service import AuthService
from ballsy.security.spend import SpendGuard
from ballsy.services import Services
from ballsy.speech.service import SpeechService
from ballsy.state.sessions import SessionSlots


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def require_admin(user: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not user.is_admin:
        raise Forbidden("this route is for administrators")
    return user


@dataclass(frozen=True, slots=True)
class Readiness:
    """What ``/ready`` asks: dependencies to check, the media disk, shared state."""

    checks: dict[str, Callable[[], Awaitable[Any]]]
    data_dir: Path
    min_free_disk_mb: int
    state: Callable[[], dict[str, Any]]


def get_readiness(request: Request) -> Readiness:
    services = get_services(request)
    return Readiness(
        checks={
            "database": services.database.ping,
            "llm": services.llms.default.check,
            # Loads the default STT and TTS models if they are not in memory yet, so a
            # ready instance answers its first voice turn warm.
            "speech": services.speech.preload,
        },
        data_dir=services.settings.data_dir,
        min_free_disk_mb=services.settings.ready_min_free_disk_mb,
        state=services.state.status,
    )


def get_assistant(request: Request) -> Assistant:
    return get_services(request).assistant


def get_spoken_turns(request: Request) -> SpokenTurns:
    services = get_services(request)
    return SpokenTurns(services.settings, services.speech, services.assistant, services.preferences)


def get_preferences(request: Request) -> PreferencesService:
    return get_services(request).preferences


def get_listeners(request: Request) -> LiveListeners:
    return get_services(request).listeners


def get_speech(request: Request) -> SpeechService:
    return get_services(request).speech


def get_llms(request: Request) -> LLMRegistry:
    return get_services(request).llms


def get_spend(request: Request) -> SpendGuard:
    return get_services(request).spend


def get_jobs(request: Request) -> JobService:
    return get_services(request).jobs


def get_sessions(request: Request) -> SessionSlots:
    return get_services(request).sessions


def get_settings(request: Request) -> Settings:
    return get_services(request).settings


def get_auth(request: Request) -> AuthService:
    return get_services(request).auth


def get_accounts(request: Request) -> Accounts:
    return get_services(request).users


def get_admin_reports(request: Request) -> AdminReports:
    services = get_services(request)
    return AdminReports(
        services.settings,
        services.database,
        jobs=services.jobs,
        sessions=services.sessions,
        state=services.state,
        live=lambda: live_connections(services.connections),
    )


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
SpokenTurnsDep = Annotated[SpokenTurns, Depends(get_spoken_turns)]
PreferencesDep = Annotated[PreferencesService, Depends(get_preferences)]
ListenersDep = Annotated[LiveListeners, Depends(get_listeners)]
SpeechDep = Annotated[SpeechService, Depends(get_speech)]
LLMsDep = Annotated[LLMRegistry, Depends(get_llms)]
SpendDep = Annotated[SpendGuard, Depends(get_spend)]
JobsDep = Annotated[JobService, Depends(get_jobs)]
SessionsDep = Annotated[SessionSlots, Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AuthDep = Annotated[AuthService, Depends(get_auth)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
AdminDep = Annotated[AdminReports, Depends(get_admin_reports)]
ReadinessDep = Annotated[Readiness, Depends(get_readiness)]
# The authenticated caller of this request (the app-wide guard put it there).
CurrentUser = Annotated[Principal, Depends(current_principal)]
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
