"""Notices: what Ballsy says by itself when a timer or reminder is due.

:mod:`.scheduler` fires due items exactly once across instances and delivers the
notices; :mod:`.live` is this process's registry of who is listening (open voice
sessions and event streams, by user).
"""
