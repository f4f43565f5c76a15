"""Optional OpenTelemetry tracing: a span per HTTP request and per stage of a turn.

Off by default. While off, ``opentelemetry`` is never imported and :func:`span` /
:func:`start_span` hand back one shared no-op span, so instrumented code pays a global
lookup and a call. :func:`configure` (run by the app lifespan when
``OTEL_ENABLED=true``) builds a tracer provider that batches spans to an OTLP/HTTP
exporter; the exporter reads the standard ``OTEL_EXPORTER_OTLP_*`` variables itself
(endpoint, headers, timeout), and incoming W3C ``traceparent`` headers continue the
caller's trace.

The provider is kept here rather than installed as OpenTelemetry's global one, which
can be set only once per process: tests and reloads configure and shut down freely.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from ballsy import __version__
from ballsy.config import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer


class SpanLike(Protocol):
    """What instrumented code may do with a span, enabled or not."""

    def set_attribute(self, key: str, value: Any) -> None: ...

    def record_exception(self, exception: BaseException) -> None: ...

    def end(self) -> None: ...


class _NoopSpan:
    __slots__ = ()

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def record_exception(self, exception: BaseException) -> None:
        pass

    def end(self) -> None:
        pass

    def __enter__(self) -> _NoopSpan:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


NOOP_SPAN = _NoopSpan()

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled() -> bool:
    return _tracer is not None


def span(name: str, **attributes: Any) -> AbstractContextManager[SpanLike]:
    """A span around a block, made current so that spans inside it are its children."""
    if _tracer is None:
        return NOOP_SPAN
    return _tracer.start_as_current_span(name, attributes=attributes or None)


def start_span(name: str, **attributes: Any) -> SpanLike:
    """A span to ``end()`` by hand: for work spread over an async generator's yields,
    where a current-context span would be detached in the wrong context."""
    if _tracer is None:
        return NOOP_SPAN
    return _tracer.start_span(name, attributes=attributes or None)


def request_span(method: str, carrier: Mapping[str, str]) -> AbstractContextManager[SpanLike]:
    """The server span of one HTTP request, continuing the caller's trace if any."""
    if _tracer is None:
        return NOOP_SPAN
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    return _tracer.start_as_current_span(
        method,
        context=propagate.extract(carrier),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method},
    )


def log_fields(current: SpanLike) -> dict[str, Any]:
    """The trace fields a log line needs to link to ``current`` (empty when off)."""
    get_context = getattr(current, "get_span_context", None)
    if get_context is None:
        return {}
    context = get_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "trace_sampled": context.trace_flags.sampled,
    }


def configure(settings: Settings, *, exporter: SpanExporter | None = None) -> None:
    """Start exporting spans if ``otel_enabled``; ``exporter`` replaces OTLP (tests)."""
    global _provider, _tracer
    if not settings.otel_enabled:
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError as exc:
        raise RuntimeError(
            "OTEL_ENABLED=true needs the tracing extra: pip install 'ballsy-voice[tracing]'"
        ) from exc
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    shutdown()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.otel_service_name, "service.version": __version__}
        ),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider = provider
    _tracer = provider.get_tracer("ballsy", __version__)


def shutdown() -> None:
    """Flush what is buffered and stop tracing."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()
