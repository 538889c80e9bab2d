"""`xinde check FILE --index IDX` from a cold process, against an index of a big cohort.

Builds the index once with ``xinde index COHORT --out IDX`` (timed), then runs
``xinde check`` ``repeat`` times, each in a new process, and reports the median
wall time (process start to exit), with and without the index.

"Cold" means a new process every time (imports, dictionaries and the index are
loaded afresh), with Python's bytecode already compiled as it is in any
installed copy: the checks run with ``PYTHONDONTWRITEBYTECODE`` removed from the
environment after one uncounted warm-up run, since with it set (as in some
sandboxes) every edited module would be recompiled from source on each start.

    python bench/bench_check.py COHORT_DIR [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
XINDE = ROOT / ".venv" / "bin" / "xinde"


_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(cmd: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=_ENV)
    dt = time.perf_counter() - t0
    if p.returncode not in (0, 3):
        sys.stderr.write(p.stderr[-2000:])
    return dt, p.returncode


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort", type=Path, help="folder of essays (the …/essays folder)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--index", type=Path, help="index file (built if missing)")
    a = ap.parse_args(argv)
    essays = sorted(a.cohort.rglob("*.txt"))
    idx = a.index or a.cohort.parent / "index.xinde.gz"
    out: dict = {"n_index_essays": len(essays), "repeat": a.repeat}
    if not idx.exists():
        dt, rc = _wall([str(XINDE), "index", str(a.cohort), "--out", str(idx)])
        out["index_build_s"] = round(dt, 2)
        out["index_build_rc"] = rc
    out["index_mb"] = round(idx.stat().st_size / 1e6, 1) if idx.exists() else None
    probe = essays[len(essays) // 2]
    for name, cmd in (("check_no_index", [str(XINDE), "check", str(probe)]),
                      ("check_with_index", [str(XINDE), "check", str(probe), "--index", str(idx)])):
        runs = []
        _wall(cmd)  # warm-up, not counted: writes any missing bytecode
        for _ in range(a.repeat):
            dt, rc = _wall(cmd)
            runs.append(dt)
        out[name + "_median_s"] = round(statistics.median(runs), 3)
        out[name + "_runs_s"] = [round(r, 3) for r in runs]
        out[name + "_rc"] = rc
    print(json.dumps(out, ensure_ascii=False))
    return out


if __name__ == "__main__":
    main()
