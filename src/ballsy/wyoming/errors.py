"""Every failure a Wyoming client is told about, as one ``error`` event.

Ballsy's typed errors keep their stable code (``invalid_input``, ``busy``,
``unknown_model``, …) and message; :class:`RequestFailed` carries a code from
elsewhere (a failed turn of the engine); anything else is an ``internal_error`` whose
details stay in the log. This is the one place exceptions become Wyoming events.
"""

from __future__ import annotations

from typing import TypeVar

from wyoming.error import Error
from wyoming.event import Event, Eventable

from ballsy.errors import BallsyError

E = TypeVar("E", bound=Eventable)


class RequestFailed(Exception):
    """A request failed with ``code`` (and a message fit for the client)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ProtocolViolation(BallsyError):
    """A well-formed event that makes no sense here (``audio-chunk`` before ``audio-start``)."""

    status_code = 400
    code = "unexpected_event"


class UnknownEvent(BallsyError):
    status_code = 400
    code = "unknown_event"


class InvalidEvent(BallsyError):
    """An event whose fields are missing or of the wrong type."""

    status_code = 400
    code = "invalid_event"


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(code, message) to send for ``exc`` (never raw exception text for unknown errors)."""
    if isinstance(exc, BallsyError | RequestFailed):
        return exc.code, exc.message
    return "internal_error", "the request failed; see the server log"


def error_event(code: str, message: str) -> Event:
    return Error(text=message, code=code).event()


def parse(kind: type[E], event: Event) -> E:
    """The typed event, or :class:`InvalidEvent` naming what is wrong with it."""
    try:
        parsed = kind.from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidEvent(f"ill-formed {event.type} event ({type(exc).__name__}: {exc})") from None
    assert isinstance(parsed, kind)
    return parsed


def text_field(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidEvent(f"{what} must be a string")
    return value
