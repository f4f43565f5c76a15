"""Shared state: voice sessions, rate limits, tickets and the response cache.

One protocol (:class:`ballsy.state.base.StateBackend`) with two backends: in-process
memory (the embedded shape, and the fallback) and Redis (several instances). The
:class:`ballsy.state.failover.FailoverState` in front of them switches to memory when
Redis stops answering and back when it returns; ``Services.state`` is that object.
"""
