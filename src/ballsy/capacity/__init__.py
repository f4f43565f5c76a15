"""Capacity and cost: plan a fleet from what a session costs in this build.

- :mod:`ballsy.capacity.plan` (``ballsy plan``) turns measured figures, a workload and
  the ``PLAN_*`` prices (:class:`~ballsy.capacity.plan.PlanPrices`) into instance counts
  per role and a monthly cost;
- :mod:`ballsy.capacity.cli` holds the ``ballsy plan`` and ``ballsy bench capacity``
  commands. The measuring itself (:mod:`ballsy.testing.capacity_bench`) is a client of
  the server, so it lives in :mod:`ballsy.testing`, imported only when the bench runs.
"""
