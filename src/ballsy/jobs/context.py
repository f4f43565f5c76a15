"""What running a job needs, built once by the JobService and shared by its runners
and its worker."""

from __future__ import annotations

from dataclasses import dataclass

from ballsy.config import Settings
from ballsy.jobs.events import ProgressBus
from ballsy.jobs.lane import BatchLane
from ballsy.jobs.storage.base import JobStorage
from ballsy.store.db import Database


@dataclass(frozen=True, slots=True)
class JobContext:
    settings: Settings
    database: Database
    media: JobStorage
    """Uploaded recordings (and files named by storage URL)."""
    outputs: JobStorage
    """Rendered transcripts."""
    lane: BatchLane
    """The low-priority threads and model slots jobs run on."""
    bus: ProgressBus
    """Progress events of this process's jobs, for the SSE streams."""
