"""CPU time and resident memory of a process and its descendants, read from /proc (Linux).

The capacity benchmark samples the server before and after each phase: the CPU seconds
between two samples divided by the wall time between them is the vCPUs the server used,
whichever of its threads (event loop, inference pool, llama.cpp, onnxruntime) did the
work. Children are included so a process pool would be counted too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class ProcessSample:
    at: float
    """``time.monotonic()`` of the sample."""
    cpu_seconds: float
    """User + system CPU time of the whole tree so far."""
    rss_bytes: int
    """Resident memory of the whole tree now."""

    def vcpus_since(self, earlier: ProcessSample) -> float:
        """Average vCPUs used between ``earlier`` and this sample."""
        elapsed = self.at - earlier.at
        return (self.cpu_seconds - earlier.cpu_seconds) / elapsed if elapsed > 0 else 0.0


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:  # the process ended between the listing and the read
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def sample(root: int) -> ProcessSample:
    """CPU time and RSS of ``root``'s tree; raises ProcessLookupError if it is gone."""
    at = time.monotonic()
    cpu_ticks = 0
    rss_pages = 0
    found = False
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is None:
            continue
        found = True
        # After the name: state=0 ppid=1 … utime=11 stime=12 (stat(5) fields 14 and 15).
        cpu_ticks += int(fields[11]) + int(fields[12])
        try:
            rss_pages += int((_PROC / str(pid) / "statm").read_text().split()[1])
        except OSError:
            continue
    if not found:
        raise ProcessLookupError(root)
    return ProcessSample(at, cpu_ticks / _TICKS, rss_pages * _PAGE)
