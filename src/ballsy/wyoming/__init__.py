"""The Wyoming server: Ballsy's speech-to-text, text-to-speech and assistant for Home Assistant.

Wyoming (the ``wyoming`` package, Home Assistant's protocol for local voice services)
is TCP: one JSON header line per event, optional JSON data and an optional binary
payload. This package is one protocol adapter among the others (native WebSocket,
OpenAI Realtime): it parses events, hands the work to the process's shared models and
the realtime engine, and renders the results as Wyoming events.

- :mod:`~ballsy.wyoming.framing` reads events with hard size limits;
- :mod:`~ballsy.wyoming.connection` is one connection's state machine (dispatch,
  limits, errors), writing through :mod:`~ballsy.wyoming.outbox`;
- :mod:`~ballsy.wyoming.info` (``describe`` → ``info``), :mod:`~ballsy.wyoming.asr`,
  :mod:`~ballsy.wyoming.tts` and :mod:`~ballsy.wyoming.handle` are the three services;
- :mod:`~ballsy.wyoming.server` listens, admits clients and shuts down gracefully.

docs/home-assistant.md explains how to use it.
"""
