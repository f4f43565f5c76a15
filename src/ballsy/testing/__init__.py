"""Clients and harnesses that drive a Ballsy server from outside: for tests, benchmarks
and ``ballsy bench capacity``. The server never imports this package (tests/test_layout.py).

- :mod:`ballsy.testing.voice_client`: a small client of the native voice protocol;
- :mod:`ballsy.testing.capacity_harness`: a real ``ballsy serve`` under test, and the
  idle, listening and talking clients the capacity bench runs against it;
- :mod:`ballsy.testing.capacity_bench`: ``ballsy bench capacity``, the per-session CPU
  and memory figures ``ballsy plan`` reads;
- :mod:`ballsy.testing.procstat`: a process tree's CPU time and memory from /proc.
"""
