"""The benchmark's per-phase RSS sampler attributes memory to the phase that used it."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_e2e.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_e2e_under_test", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_peak_belongs_to_the_phase_that_allocated():
    bench = _bench()
    rss = bench.RssSampler(every=0.01).start()
    rss.mark("small")
    rss.mark("big")
    block = bytearray(80 * 2**20)  # 80 MB, touched so it is resident
    block[::4096] = b"x" * len(block[::4096])
    rss.mark("after big")
    del block
    rss.mark("small again")
    peaks = rss.stop()
    assert set(peaks) >= {"small", "big", "small again"}
    assert peaks["big"] - peaks["small"] >= 70
    assert peaks["small again"] < peaks["big"] - 70


def test_cohort_stage_wrapper_marks_and_returns():
    bench = _bench()

    class Stage:
        name, scope = "dup", "cohort"

        def process(self, essays, context):
            context["phase"] = rss.phase
            return "done"

    rss = bench.RssSampler(every=10)
    st = Stage()
    bench._mark_cohort_stages([st, type("E", (), {"name": "seg"})()], rss)
    ctx: dict = {}
    assert st.process([], ctx) == "done"
    assert ctx["phase"] == "dup" and rss.phase == "after dup"
