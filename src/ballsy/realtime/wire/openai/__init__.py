"""``/v1/realtime``: the OpenAI Realtime API over Ballsy's conversation engine.

:mod:`.protocol` parses client events and builds server events, :mod:`.session_config`
holds the session object, :mod:`.conversation` is the one state machine (items,
responses, pending input) and :mod:`.socket` the route that parses and dispatches.
"""
