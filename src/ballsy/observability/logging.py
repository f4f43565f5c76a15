"""The one log pipeline: structlog events and standard-library records, one format.

Ballsy's own events (``structlog``, dotted names such as
``ballsy.http.request_completed``) and every library that logs through ``logging``
(uvicorn, SQLAlchemy, Alembic, ``logging.getLogger(__name__)`` in our modules) leave
through a single handler on the root logger:

- ``json``: one object per line in the shape Google Cloud Logging reads
  (``severity``, ``message``, ``time``, ``httpRequest``,
  ``logging.googleapis.com/trace``, ``stack_trace``);
- ``console``: aligned, coloured lines for a developer's terminal.

Context bound with :func:`bound_context` / :func:`bind_context` (request id, trace,
WebSocket session id, user id) is added to every line logged while it is bound, from
either side. What a user said or heard, audio bytes and credentials never reach a
line at INFO: :func:`redact` keeps only their size.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ballsy.config import Settings

# Re-exported so callers bind context without importing structlog themselves.
bind_context = structlog.contextvars.bind_contextvars
bound_context = structlog.contextvars.bound_contextvars
clear_context = structlog.contextvars.clear_contextvars

_HANDLER_MARK = "_ballsy_log_handler"

# Loggers that libraries may have given their own handlers (uvicorn's default config
# does, with propagate=False); they are reset so that their records reach ours.
_ROUTED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "alembic")

# Credential-like keys, matched on a whole ``_``-separated suffix so that counts such
# as ``prompt_tokens`` are kept.
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:api_?key|authorization|password|passwd|secret|token|cookie|credentials?)$",
    re.IGNORECASE,
)
# What a user said or heard: only its length is logged above DEBUG.
_SPOKEN_KEYS = frozenset(
    {"text", "transcript", "reply", "prompt", "input_text", "reply_text", "content", "messages"}
)

# Added to both structlog events and foreign records; constant, so that loggers cached
# on first use stay valid when the output format is reconfigured.
_SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
]


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger whose events go through the same pipeline as ``logging``."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def _drop_terminal_styling(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    # uvicorn passes an ANSI-coloured copy of its message as an ``extra``.
    event_dict.pop("color_message", None)
    return event_dict


_PLAIN, _SECRET, _SPOKEN = 0, 1, 2
_BINARY = (bytes, bytearray, memoryview)


@functools.lru_cache(maxsize=1024)
def _key_kind(key: str) -> int:
    # Memoized: every line runs this for every key, and keys repeat.
    if _SECRET_KEY.search(key):
        return _SECRET
    return _SPOKEN if key in _SPOKEN_KEYS else _PLAIN


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace audio, credentials and (above DEBUG) spoken text by their size."""
    verbose = event_dict.get("level") == "debug"
    for key, value in event_dict.items():
        if isinstance(value, _BINARY):
            event_dict[key] = f"<{len(value)} bytes>"
            continue
        kind = _key_kind(key)
        if kind == _PLAIN or not isinstance(value, str | list):
            continue
        if kind == _SECRET:
            event_dict[key] = "[redacted]"
        elif not verbose:
            event_dict[key] = f"<{len(value)} {'chars' if isinstance(value, str) else 'items'}>"
    return event_dict


class CloudLoggingFields:
    """Rename the event's keys into Cloud Logging's special JSON fields.

    https://cloud.google.com/logging/docs/structured-logging#special-payload-fields
    """

    def __init__(self, project: str | None) -> None:
        self._trace_prefix = f"projects/{project}/traces/" if project else ""

    def __call__(self, _logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        out: EventDict = {
            "severity": str(event_dict.pop("level", method)).upper(),
            "message": event_dict.pop("event", ""),
        }
        if "timestamp" in event_dict:
            out["time"] = event_dict.pop("timestamp")
        trace_id = event_dict.pop("trace_id", None)
        if trace_id:
            out["logging.googleapis.com/trace"] = self._trace_prefix + str(trace_id)
        span_id = event_dict.pop("span_id", None)
        if span_id:
            out["logging.googleapis.com/spanId"] = span_id
        sampled = event_dict.pop("trace_sampled", None)
        if sampled is not None:
            out["logging.googleapis.com/trace_sampled"] = bool(sampled)
        if "exception" in event_dict:
            # Error Reporting groups errors by this field.
            out["stack_trace"] = event_dict.pop("exception")
        out.update(event_dict)
        return out


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


def _hand_to_stdlib(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Pass a structlog event to ``logger``'s handlers as a record carrying the dict.

    Like ``logger.info(event_dict)`` minus the standard library's caller lookup (a
    stack walk per line whose result no output uses): a third of a request line's cost.
    """
    record = logging.LogRecord(
        logger.name, _LEVELS.get(method, logging.INFO), "", 0, event_dict, None, None
    )
    record.structlog_method = method
    logger.handle(record)
    raise structlog.DropEvent


class PipelineFormatter(logging.Formatter):
    """Render any record through the processors: a structlog event's dict as it is, a
    library's record after ``foreign_chain`` has turned it into one.

    structlog's ``ProcessorFormatter`` does the same, but copies every record first so
    that other handlers see it untouched; this one never modifies the record.
    """

    def __init__(self, foreign_chain: list[Processor], processors: list[Processor]) -> None:
        super().__init__()
        self._foreign_chain = foreign_chain
        self._processors = processors

    def format(self, record: logging.LogRecord) -> str:
        method: str | None = getattr(record, "structlog_method", None)
        if method is not None and isinstance(record.msg, dict):
            event_dict: Any = dict(record.msg)
        else:
            method = record.levelname.lower()
            event_dict = {"event": record.getMessage(), "_record": record}
            if record.exc_info:
                event_dict["exc_info"] = record.exc_info
            if record.stack_info:
                event_dict["stack_info"] = record.stack_info
            for processor in self._foreign_chain:
                event_dict = processor(None, method, event_dict)
            del event_dict["_record"]
        for processor in self._processors:
            event_dict = processor(None, method, event_dict)
        if not isinstance(event_dict, str):
            raise TypeError("the last log processor must render a string")
        return event_dict


def _configure_structlog() -> None:
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            _hand_to_stdlib,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# At import, so that an app used without configure_logging (tests, embedding) sends
# structlog events to the standard library like any other library, instead of
# structlog's default of printing every event to stdout.
_configure_structlog()


def _renderers(settings: Settings, stream: TextIO) -> list[Processor]:
    if settings.resolved_log_format == "console":
        colors = bool(getattr(stream, "isatty", lambda: False)())
        return [structlog.dev.ConsoleRenderer(colors=colors)]
    return [
        structlog.processors.format_exc_info,
        CloudLoggingFields(settings.gcp_project),
        structlog.processors.JSONRenderer(),
    ]


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Route every log record of the process to one handler; return that handler.

    Safe to call again (tests, a reloaded config): the handler installed by a previous
    call is replaced, handlers others added to the root logger are left alone.
    """
    _configure_structlog()
    output = stream or sys.stdout
    formatter = PipelineFormatter(
        foreign_chain=[*_SHARED_PROCESSORS, structlog.stdlib.ExtraAdder(), _drop_terminal_styling],
        processors=[redact, *_renderers(settings, output)],
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in _ROUTED_LOGGERS:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
        routed.setLevel(logging.NOTSET)
    # SQL statements carry what users said as parameters, and the ORM narrates its
    # mapper set-up at INFO: showing either is `echo`'s job, not the log's.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # ballsy.http.request_completed replaces uvicorn's access line (and adds the id).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    return handler
