"""Run blocks of per-essay stages over many essays, in worker processes.

The stage list is cut into *blocks*: maximal runs of consecutive
``scope = "essay"`` stages, separated by cohort stages. A block is applied to
each essay independently (stage after stage, stopping at the first skip), so
essays can be spread over processes in chunks. Results always come back in
input order and every stage is deterministic per essay, so the output is the
same whatever the number of processes.

Workers receive the stages once (inherited through ``fork`` where available,
pickled otherwise — :class:`~pipeline.segment.Segmenter` rebuilds its jieba on
unpickling) and then only chunks of essays. Essays travel cheaply because
:class:`~pipeline.segment.TokenList` pickles as an offset array.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Iterable, Sequence

from .essay import Essay, Skipped

#: Below this many essays a block runs in the calling process (a pool costs ~1 s).
MIN_PARALLEL = 64

Result = Essay | Skipped
OnResult = Callable[[int, Result], None]


def scope_of(stage) -> str:
    """``"essay"`` or ``"cohort"``."""
    return getattr(stage, "scope", "essay")


def split_blocks(stages: Sequence) -> list[tuple[str, list]]:
    """``[(scope, [stages...]), ...]``: consecutive essay stages grouped, cohort stages alone."""
    blocks: list[tuple[str, list]] = []
    for st in stages:
        if scope_of(st) == "essay" and blocks and blocks[-1][0] == "essay":
            blocks[-1][1].append(st)
        else:
            blocks.append((scope_of(st), [st]))
    return blocks


def apply_block(stages: Sequence, essay: Essay, times: dict[str, float] | None = None) -> Result:
    """Apply ``stages`` to one essay; returns the essay or the :class:`Skipped` entry."""
    from .runner import _apply
    from .segment import release_tokens

    r: Result = essay
    for st in stages:
        t0 = time.perf_counter()
        r = _apply(st, r)
        if times is not None:
            times[st.name] = times.get(st.name, 0.0) + time.perf_counter() - t0
        if isinstance(r, Skipped):
            return r
    release_tokens(r)
    return r


def run_chunk(stages: Sequence, essays: Sequence[Essay]) -> tuple[list[Result], dict[str, float]]:
    """Apply a block to a chunk of essays (the unit of work sent to a worker)."""
    times: dict[str, float] = {}
    return [apply_block(stages, e, times) for e in essays], times


def chunk_size_for(n: int, workers: int, requested: int = 0) -> int:
    """Essays per task: ``requested`` or ~8 tasks per worker, 8–256 essays each."""
    if requested > 0:
        return requested
    return max(8, min(256, math.ceil(n / max(1, workers * 8))))


def chunks(n: int, size: int) -> list[range]:
    """Index ranges ``[0, size), [size, 2 size) …`` covering ``n`` items."""
    return [range(i, min(n, i + size)) for i in range(0, n, size)]


# -- process pool ------------------------------------------------------------------
_WORKER_STAGES: Sequence | None = None


def _init_worker(stages: Sequence) -> None:
    global _WORKER_STAGES
    _WORKER_STAGES = stages


def _worker_chunk(essays: Sequence[Essay]):
    return run_chunk(_WORKER_STAGES, essays)


def _mp_context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def merge_times(into: dict[str, float], part: dict[str, float]) -> None:
    for k, v in part.items():
        into[k] = into.get(k, 0.0) + v


def map_block(stages: Sequence, essays: Sequence[Essay], jobs: int = 1, chunk_size: int = 0,
              on_result: OnResult | None = None) -> tuple[list[Result], dict[str, float]]:
    """Apply a block of essay stages to ``essays`` with ``jobs`` processes.

    Args:
        stages: Consecutive ``scope="essay"`` stages.
        essays: The essays, in output order.
        jobs: Worker processes (1 = in this process).
        chunk_size: Essays per task (0 = automatic).
        on_result: Called as ``on_result(i, result)`` as soon as essay ``i`` is
            done (in completion order) — the run cache writes entries here.

    Returns:
        ``(results, stage_seconds)``: one result per input essay, in input
        order, and the seconds each stage took summed over essays (CPU time of
        all workers together, not wall time).
    """
    n = len(essays)
    times: dict[str, float] = {}
    if jobs <= 1 or n < MIN_PARALLEL:
        out: list[Result] = []
        for i, e in enumerate(essays):
            r = apply_block(stages, e, times)
            if on_result is not None:
                on_result(i, r)
            out.append(r)
        return out, times
    size = chunk_size_for(n, jobs, chunk_size)
    results: list[Result | None] = [None] * n
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(),
                             initializer=_init_worker, initargs=(list(stages),)) as pool:
        futs = {pool.submit(_worker_chunk, [essays[i] for i in rg]): rg for rg in chunks(n, size)}
        for fut in as_completed(futs):
            rg = futs[fut]
            part, t = fut.result()
            merge_times(times, t)
            for i, r in zip(rg, part):
                results[i] = r
                if on_result is not None:
                    on_result(i, r)
    return results, times  # type: ignore[return-value]


def map_items(fn: Callable, items: Sequence, jobs: int = 1, chunk_size: int = 0) -> list:
    """``[fn(x) for x in items]`` over ``jobs`` processes, in order.

    Where ``fork`` is available, ``fn`` and ``items`` reach the workers by
    inheritance (:func:`map_shared`: nothing is pickled on the way in, only the
    results on the way back); elsewhere both are pickled in chunks.
    """
    n = len(items)
    if jobs <= 1 or n < MIN_PARALLEL:
        return [fn(x) for x in items]
    if "fork" in mp.get_all_start_methods():
        return map_shared(fn, items, jobs, chunk_size)
    size = chunk_size_for(n, jobs, chunk_size)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context()) as pool:
        parts = pool.map(_map_list, [fn] * len(chunks(n, size)),
                         [[items[i] for i in rg] for rg in chunks(n, size)])
        return [y for part in parts for y in part]


# -- fork-shared map ------------------------------------------------------------------
_SHARED: tuple[Callable, Sequence] | None = None  # set in the parent right before forking


def _shared_range(bounds: tuple[int, int]) -> list:
    assert _SHARED is not None, "map_shared worker started without shared state"
    fn, items = _SHARED
    return [fn(items[i]) for i in range(*bounds)]


def map_shared(fn: Callable, items: Sequence, jobs: int, chunk_size: int = 0) -> list:
    """``[fn(x) for x in items]`` in ``jobs`` forked processes that *inherit* ``fn``
    and ``items`` (copy-on-write), so neither is pickled: only index ranges go
    out and results come back. For cohort stages whose per-item work reads large
    shared state (all essays, fingerprint tables). Falls back to one process
    below :data:`MIN_PARALLEL` items or where ``fork`` is unavailable.
    Results are in input order, so the output does not depend on ``jobs``.
    """
    global _SHARED
    n = len(items)
    if jobs <= 1 or n < MIN_PARALLEL or "fork" not in mp.get_all_start_methods():
        return [fn(x) for x in items]
    if _SHARED is not None:  # nested use (a worker mapping again): stay in process
        return [fn(x) for x in items]
    size = chunk_size_for(n, jobs, chunk_size)
    _SHARED = (fn, items)
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("fork")) as pool:
            parts = pool.map(_shared_range, [(rg.start, rg.stop) for rg in chunks(n, size)])
            return [y for part in parts for y in part]
    finally:
        _SHARED = None


def _map_list(fn: Callable, xs: Iterable) -> list:
    return [fn(x) for x in xs]
