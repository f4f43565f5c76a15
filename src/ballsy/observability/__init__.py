"""Logs, metrics and traces: how an operator sees what Ballsy is doing.

``logging`` owns the one log pipeline (structlog and the standard library alike),
``middleware`` the per-request context (request id, trace, access line, HTTP metrics),
``metrics`` the Prometheus metric objects other modules import and update, and
``tracing`` the optional OpenTelemetry spans (off, and never imported, by default).
"""
