"""`make bench`: speed and memory of xinde on synthetic cohorts (issue 7).

Steps (each measurement in a fresh process):

1. build cohorts of ``--sizes`` essays (~1,500 chars, ~5% planted copies) from
   ``../shared/corpora`` under ``/tmp/xinde-bench`` (skips cleanly if absent);
2. end to end (``bench_e2e.py``): per stage and total seconds, essays/s,
   chars/s, peak RSS (main and largest worker), ``--repeat`` runs → medians
   (sizes ≥ ``--once-from`` run once);
   growth with N (the exponent ``b`` in t ∝ Nᵇ between consecutive sizes:
   near-linear is b ≈ 1);
3. incremental: a cached run of the smallest cohort, then the same + 10 new
   essays (``--cache``);
4. segmenter and cue-scan alternatives (``bench_segment.py``);
5. ``xinde check`` cold against an index of the largest cohort (``bench_check.py``).

Writes ``bench/results/bench_*.json`` and prints a markdown table.

    python bench/run_bench.py [--sizes 1000,10000] [--jobs 2] [--repeat 3] [--skip check,segment]

100k is opt-in (``--sizes 1000,10000,100000``): about 20–30 min on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PY = sys.executable
sys.path.insert(0, str(BENCH))


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:  # pragma: no cover - non-Linux
        return float("nan")


def _json_run(args: list[str], timeout: float | None = None) -> dict | None:
    p = subprocess.run([PY, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if p.returncode != 0:
        sys.stderr.write(f"failed: {' '.join(args)}\n{p.stderr[-3000:]}\n")
        return None
    out = p.stdout.strip()
    return json.loads(out[out.index("{"):])


def _median_dicts(runs: list[dict]) -> dict:
    """Median of every numeric field (nested one level for stages_s)."""
    med = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            med[k] = statistics.median(r[k] for r in runs)
        elif isinstance(v, dict):
            med[k] = {kk: statistics.median(r[k].get(kk, 0.0) for r in runs) for kk in v}
    return med


def _write(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    p = RESULTS / f"bench_{name}.json"
    p.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return p


def bench_e2e(sizes: list[int], jobs: int, repeat: int, tokenizer: str,
              once_from: int = 10000) -> dict:
    from bench_cohort import build_cohort

    rows = []
    for n in sizes:
        t0 = time.perf_counter()
        cohort = build_cohort(n)
        print(f"cohort {n}: {cohort} ({time.perf_counter() - t0:.0f} s to build/find)",
              file=sys.stderr)
        runs = []
        n_runs = 1 if n >= once_from else repeat
        for r in range(n_runs):
            load = _load()
            print(f"  run {r + 1}/{n_runs} n={n} jobs={jobs} load={load}", file=sys.stderr)
            res = _json_run(["bench/bench_e2e.py", str(cohort / "essays"), "--jobs", str(jobs),
                             "--tokenizer", tokenizer])
            if res is None:
                break
            res["load_before"] = load
            res["load_after"] = _load()
            runs.append(res)
        if not runs:
            continue
        med = _median_dicts(runs)
        e2e = med["end_to_end_s"]
        med.update(n=n, repeat=len(runs), essays_per_s=round(med["n_essays"] / e2e, 1),
                   chars_per_s=round(med["chars"] / e2e),
                   stage_essays_per_s={k: (round(med["n_essays"] / v, 1) if v > 0 else None)
                                       for k, v in med["stages_s"].items()})
        rows.append(med)
        _write("e2e", {"jobs": jobs, "cpus": os.cpu_count(), "rows": rows})
    for a, b in zip(rows, rows[1:]):
        b["growth_exponent_vs_prev"] = round(
            math.log(b["end_to_end_s"] / a["end_to_end_s"]) / math.log(b["n"] / a["n"]), 3)
    data = {"jobs": jobs, "cpus": os.cpu_count(), "tokenizer": tokenizer, "rows": rows}
    _write("e2e", data)
    return data


def bench_incremental(n: int, jobs: int) -> dict | None:
    from bench_cohort import build_cohort

    src = sorted((build_cohort(n) / "essays").rglob("*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        inp, cache = Path(tmp) / "in", Path(tmp) / "cache"
        inp.mkdir()
        for p in src[:-10]:
            shutil.copy(p, inp / p.name)
        cold = _json_run(["bench/bench_e2e.py", str(inp), "--jobs", str(jobs), "--cache",
                          str(cache), "--no-report"])
        for p in src[-10:]:
            shutil.copy(p, inp / p.name)
        warm = _json_run(["bench/bench_e2e.py", str(inp), "--jobs", str(jobs), "--cache",
                          str(cache), "--no-report"])
        again = _json_run(["bench/bench_e2e.py", str(inp), "--jobs", str(jobs), "--cache",
                           str(cache), "--no-report"])
    if not (cold and warm and again):
        return None
    data = {"n": n, "jobs": jobs, "cold_run": cold, "plus_10_new_run": warm,
            "unchanged_rerun": again, "load": _load()}
    _write("incremental", data)
    return data


def table(e2e: dict, inc: dict | None, seg: dict | None, chk: dict | None) -> str:
    lines = ["| N essays | jobs | end-to-end s | essays/s | chars/s | peak RSS MB (main / worker) "
             "| growth b | load |", "|---|---|---|---|---|---|---|---|"]
    for r in e2e["rows"]:
        lines.append(f"| {r['n']:,} | {r['jobs']} | {r['end_to_end_s']:.1f} | {r['essays_per_s']}"
                     f" | {r['chars_per_s']:,} | {r['peak_rss_mb']:.0f} / "
                     f"{r['peak_rss_worker_mb']:.0f} | {r.get('growth_exponent_vs_prev', '–')} "
                     f"| {r['load_before']:.1f} |")
    stages = sorted({k for r in e2e["rows"] for k in r["stages_s"]},
                    key=lambda k: -max(r["stages_s"].get(k, 0) for r in e2e["rows"]))
    lines += ["", "| stage | " + " | ".join(f"{r['n']:,} s (essays/s)" for r in e2e["rows"]) + " |",
              "|---|" + "---|" * len(e2e["rows"])]
    for k in stages:
        cells = []
        for r in e2e["rows"]:
            v = r["stages_s"].get(k)
            cells.append("–" if v is None else
                         f"{v:.1f} ({r['stage_essays_per_s'].get(k) or '–'})")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    if inc:
        lines += ["", f"Incremental ({inc['n']} essays, jobs={inc['jobs']}, no report): cold "
                  f"{inc['cold_run']['run_s']:.1f} s; +10 new essays "
                  f"{inc['plus_10_new_run']['run_s']:.1f} s; unchanged re-run "
                  f"{inc['unchanged_rerun']['run_s']:.1f} s."]
    if seg:
        lines += ["", "| segmenter / scan | chars/s | identical to reference |", "|---|---|---|"]
        for r in seg["segmenters"] + seg["cue_scan"]:
            if "chars_per_s" in r:
                same = r.get("identical_to_reference", r.get("same_hits_as_automaton"))
                lines.append(f"| {r['name']} | {r['chars_per_s']:,} | {same} |")
    if chk:
        lines += ["", f"`xinde check` cold, median of {chk['repeat']}: "
                  f"{chk['check_no_index_median_s']} s without index, "
                  f"{chk['check_with_index_median_s']} s with an index of "
                  f"{chk['n_index_essays']:,} essays ({chk.get('index_mb')} MB; built in "
                  f"{chk.get('index_build_s', '?')} s)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000",
                    help="comma-separated cohort sizes (100000 is opt-in)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="end-to-end runs per size (median)")
    ap.add_argument("--once-from", type=int, default=10000,
                    help="sizes from this one up are run once (a 10k run takes minutes)")
    ap.add_argument("--tokenizer", default="auto")
    ap.add_argument("--skip", default="", help="comma list of: e2e,incremental,segment,check")
    a = ap.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    from bench_cohort import SHARED_CORPORA

    if not SHARED_CORPORA.exists():
        print(f"bench: skipped — {SHARED_CORPORA} is absent (the benchmark builds its cohorts "
              "from ../shared/corpora).")
        return 0
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    e2e = bench_e2e(sizes, a.jobs, a.repeat, a.tokenizer, a.once_from) if "e2e" not in skip else {"rows": []}
    inc = bench_incremental(min(sizes), a.jobs) if "incremental" not in skip else None
    seg = None
    if "segment" in skip and (RESULTS / "bench_segment.json").exists():  # last measured
        seg = json.loads((RESULTS / "bench_segment.json").read_text(encoding="utf-8"))
    if "segment" not in skip:
        seg = _json_run(["bench/bench_segment.py"])
        if seg:
            _write("segment", seg)
    chk = None
    if "check" not in skip:
        from bench_cohort import build_cohort

        chk = _json_run(["bench/bench_check.py", str(build_cohort(max(sizes)) / "essays")])
        if chk:
            _write("check", chk)
    print(table(e2e, inc, seg, chk))
    return 0


if __name__ == "__main__":
    sys.exit(main())
