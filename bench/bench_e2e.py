"""One end-to-end run over a cohort folder, measured; prints one JSON object.

Run in a fresh process per measurement (``run_bench.py`` does) so peak RSS is
that run's own: ``ru_maxrss`` of this process and, separately, the largest
worker process (``RUSAGE_CHILDREN``).

    python bench/bench_e2e.py COHORT_DIR [--jobs 2] [--cache DIR] [--tokenizer auto]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class RssSampler:
    """Samples this process's RSS every ``every`` seconds in a daemon thread, and the
    peak between named marks (``mark(name)`` starts a phase), so a run shows which
    stage its peak memory belongs to. Linux only (``/proc/self/statm``); elsewhere empty.
    """

    def __init__(self, every: float = 0.25):
        import os

        self.every, self.page = every, os.sysconf("SC_PAGE_SIZE")
        self.phase, self.peaks = "start", {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self.page
        except OSError:
            return 0

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        rss = self._rss()
        if rss:
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def mark(self, phase: str) -> None:
        self.sample()  # the end of the previous phase counts for it
        self.phase = phase
        self.sample()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self.sample()
        return {k: round(v / 2**20, 1) for k, v in self.peaks.items()}


def _mark_cohort_stages(stages: list, rss: RssSampler) -> None:
    """Wrap each cohort stage's ``process`` so the sampler knows which stage runs; the
    phase before the first cohort stage is ingest + the per-essay block."""
    for st in stages:
        if getattr(st, "scope", "essay") != "cohort":
            continue
        inner = st.process

        def process(essays, context, _inner=inner, _name=st.name):
            rss.mark(_name)
            try:
                return _inner(essays, context)
            finally:
                rss.mark(f"after {_name}")

        st.process = process


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort", type=Path)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--tokenizer", default="auto")
    ap.add_argument("--no-report", action="store_true", help="skip writing the report")
    a = ap.parse_args(argv)

    t_start = time.perf_counter()
    from pipeline.config import Settings
    from pipeline.report import write_all
    from pipeline.runner import default_stages, run

    t_import = time.perf_counter() - t_start
    settings = Settings(jobs=a.jobs, cache_dir=a.cache, tokenizer=a.tokenizer)
    t0 = time.perf_counter()
    stages = default_stages(settings)
    rss = RssSampler().start()
    rss.mark("ingest + per-essay block")
    _mark_cohort_stages(stages, rss)
    result = run(a.cohort, settings, stages=stages)
    t_run = time.perf_counter() - t0
    t_report = 0.0
    if not a.no_report:
        with tempfile.TemporaryDirectory() as out:
            t1 = time.perf_counter()
            rss.mark("report")
            write_all(result, Path(out))
            t_report = time.perf_counter() - t1
    peaks = rss.stop()
    timings = dict(result.timings)
    timings["report"] = t_report
    n = len(result.essays)
    chars = sum(len(e.text) for e in result.essays)
    out = {
        "n_essays": n, "n_skipped": len(result.skipped), "chars": chars, "jobs": a.jobs,
        "tokenizer": a.tokenizer, "cache": bool(a.cache),
        "import_s": round(t_import, 3), "run_s": round(t_run, 3),
        "end_to_end_s": round(t_run + t_report, 3),
        "stages_s": {k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_worker_mb": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        # main-process RSS peak per phase, sampled every 0.25 s ("after X": the time
        # between cohort stage X and the next phase)
        "peak_rss_by_phase_mb": peaks,
        "n_submission_matches": sum(1 for e in result.essays for m in e.matches
                                    if m.kind == "submission"),
        "n_clusters": len(result.cohort.get("clusters", [])),
    }
    dup = next((st for st in stages if getattr(st, "name", "") == "duplication"), None)
    if dup is not None and hasattr(dup, "pairs_aligned_"):
        out["dup_pairs_aligned"] = dup.pairs_aligned_
        out["dup_pairs_reused"] = dup.pairs_reused_
    print(json.dumps(out, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
