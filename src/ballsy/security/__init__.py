"""Who is calling and what they may do.

API keys (hashed at rest, shown once, revocable), JWT access and refresh tokens,
Argon2 passwords, the user/admin roles, the ``AUTH_MODE`` switch, WebSocket tickets,
spend caps for paid LLM providers, HTTP hygiene middleware (security headers, body
caps, request timeouts) and optional Google Secret Manager references.
"""
