"""The realtime wire protocols (native ``/ws/voice``, OpenAI ``/v1/realtime``) and what
every socket shares: its outbox and its lifetime."""
