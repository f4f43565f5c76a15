"""Capacity and cost: measure what a session costs in this build, then plan a fleet.

- :mod:`ballsy.capacity.procstat` reads a process tree's CPU time and memory from /proc;
- :mod:`ballsy.capacity.bench` (``ballsy bench capacity``) runs idle, listening and
  talking voice sessions and REST calls against a real ``ballsy serve`` (started and
  driven by :mod:`ballsy.capacity.harness`) and writes the per-session figures to JSON;
- :mod:`ballsy.capacity.plan` (``ballsy plan``) turns those figures, a workload and the
  ``PLAN_*`` prices into instance counts per role and a monthly cost.
"""
