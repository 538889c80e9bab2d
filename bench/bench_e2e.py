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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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
    result = run(a.cohort, settings, stages=stages)
    t_run = time.perf_counter() - t0
    t_report = 0.0
    if not a.no_report:
        with tempfile.TemporaryDirectory() as out:
            t1 = time.perf_counter()
            write_all(result, Path(out))
            t_report = time.perf_counter() - t1
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
