"""Where per-essay work runs: this machine (``local``) or a Dask cluster (``dask``).

An engine offers two operations, both returning results in input order so the
output never depends on where the work ran:

* ``map_block(stages, essays, on_result=None) -> (results, stage_seconds)`` —
  a block of ``scope="essay"`` stages over essays (see :mod:`pipeline.parallel`);
* ``map(fn, items) -> list`` — any picklable top-level function over items, for
  cohort stages that want their per-essay preparation (e.g. duplication's
  normalisation and fingerprints, the candidate generation) spread out. The
  runner puts the engine in ``context["engine"]`` for them.
"""
from __future__ import annotations

from .local import LocalEngine


def make_engine(settings):
    """The engine ``settings.engine`` names (a Dask client connects lazily)."""
    if settings.engine == "dask":
        from .dask import DaskEngine

        return DaskEngine(settings.scheduler, chunk_size=settings.chunk_size)
    return LocalEngine(jobs=settings.jobs, chunk_size=settings.chunk_size)


__all__ = ["LocalEngine", "make_engine"]
