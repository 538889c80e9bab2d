"""The Dask engine: per-essay stages and cohort preparation on a dask.distributed cluster.

``xinde run DIR --engine dask --scheduler tcp://HOST:8786`` connects to a
running scheduler (``dask scheduler`` / ``dask worker tcp://HOST:8786`` on each
machine, every worker with the same xinde version installed). The stages are
sent to every worker once (``Client.scatter(broadcast=True)``); essays go in
chunks; results come back in input order, so the output is identical to the
local engine's. The input files are read and the report written on the
machine that runs ``xinde``.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

from ..errors import ConfigError
from ..parallel import OnResult, _map_list, chunk_size_for, chunks, merge_times, run_chunk


class DaskEngine:
    """Run per-essay work on a Dask cluster.

    Args:
        scheduler: Scheduler address (``tcp://host:8786``), or an existing
            ``distributed.Client`` / ``LocalCluster`` (tests).
        chunk_size: Essays per task (0 = automatic).
        timeout: Seconds to wait for the scheduler.

    Raises:
        ConfigError: X104 when dask.distributed is missing or the scheduler
            cannot be reached.
    """

    name = "dask"

    def __init__(self, scheduler, chunk_size: int = 0, timeout: float = 30.0):
        if not scheduler:
            raise ConfigError("X104", name="scheduler", value=scheduler,
                              detail="--engine dask needs --scheduler ADDRESS")
        if chunk_size < 0:
            raise ConfigError("X104", name="chunk_size", value=chunk_size, detail="must be ≥ 0")
        self.scheduler = scheduler
        self.chunk_size = chunk_size
        self.timeout = timeout
        self._client = None
        self._own_client = False

    @property
    def client(self):
        if self._client is None:
            try:
                from distributed import Client
            except ImportError:
                raise ConfigError("X104", name="engine", value="dask",
                                  detail="dask.distributed is not installed "
                                         "(pip install 'xinde[dask]')") from None
            if hasattr(self.scheduler, "submit"):  # already a Client
                self._client = self.scheduler
            else:
                try:
                    self._client = Client(self.scheduler, timeout=self.timeout,
                                          set_as_default=False)
                except (OSError, TimeoutError) as e:
                    raise ConfigError("X104", name="scheduler", value=str(self.scheduler),
                                      detail=f"cannot reach the Dask scheduler: {e}") from None
                self._own_client = True
        return self._client

    def _workers(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # pragma: no cover - informational only
            return 1

    def map_block(self, stages: Sequence, essays: Sequence, on_result: OnResult | None = None):
        from distributed import as_completed

        n = len(essays)
        times: dict[str, float] = {}
        if n == 0:
            return [], times
        client = self.client
        [stages_f] = client.scatter([list(stages)], broadcast=True, hash=False)
        size = chunk_size_for(n, self._workers(), self.chunk_size)
        futs = {}
        for k, rg in enumerate(chunks(n, size)):
            f = client.submit(run_chunk, stages_f, [essays[i] for i in rg], pure=False,
                              key=f"xinde-block-{time.monotonic_ns()}-{k}")
            futs[f.key] = (f, rg)
        results = [None] * n
        for f in as_completed([f for f, _ in futs.values()], loop=client.loop):
            part, t = f.result()
            rg = futs[f.key][1]
            merge_times(times, t)
            for i, r in zip(rg, part):
                results[i] = r
                if on_result is not None:
                    on_result(i, r)
        return results, times

    def map(self, fn: Callable, items: Sequence) -> list:
        n = len(items)
        if n == 0:
            return []
        client = self.client
        # ``fn`` often closes over large shared state (a cohort's prepared documents):
        # send it to every worker once, not with every chunk
        [fn_f] = client.scatter([fn], broadcast=True, hash=False)
        size = chunk_size_for(n, self._workers(), self.chunk_size)
        futs = [client.submit(_map_list, fn_f, [items[i] for i in rg], pure=False)
                for rg in chunks(n, size)]
        return [y for part in client.gather(futs) for y in part]

    def close(self) -> None:
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None

    def __repr__(self) -> str:
        return f"DaskEngine({self.scheduler!r})"
