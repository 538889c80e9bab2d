"""The local engine: in this process, or a pool of ``jobs`` processes."""
from __future__ import annotations

from typing import Callable, Sequence

from ..errors import ConfigError
from ..parallel import OnResult, map_block, map_items


class LocalEngine:
    """Run per-essay work on this machine.

    Args:
        jobs: Worker processes (1 = in the calling process).
        chunk_size: Essays per task (0 = automatic).
    """

    name = "local"

    def __init__(self, jobs: int = 1, chunk_size: int = 0):
        if not isinstance(jobs, int) or jobs < 1:
            raise ConfigError("X104", name="jobs", value=jobs, detail="must be an integer ≥ 1")
        if chunk_size < 0:
            raise ConfigError("X104", name="chunk_size", value=chunk_size, detail="must be ≥ 0")
        self.jobs = jobs
        self.chunk_size = chunk_size

    def map_block(self, stages: Sequence, essays: Sequence, on_result: OnResult | None = None):
        return map_block(stages, essays, self.jobs, self.chunk_size, on_result)

    def map(self, fn: Callable, items: Sequence) -> list:
        return map_items(fn, items, self.jobs, self.chunk_size)

    def close(self) -> None:
        """Nothing to release (pools live only for one call)."""

    def __repr__(self) -> str:
        return f"LocalEngine(jobs={self.jobs})"
