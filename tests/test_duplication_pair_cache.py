"""Incremental duplication: aligned candidate pairs are memoised in the run cache."""
from __future__ import annotations

import shutil

from pipeline.config import Settings
from pipeline.runner import default_stages, run

from conftest import ROOT

SAMPLE = ROOT / "corpora" / "sample"


def _run(folder, cache):
    settings = Settings(cache_dir=cache)
    stages = default_stages(settings)
    dup = next(s for s in stages if s.name == "duplication")
    return run(folder, settings, stages=stages), dup


def _copy_txt(dst):
    dst.mkdir()
    for p in sorted(SAMPLE.glob("*.txt")):
        shutil.copy(p, dst / p.name)


def test_rerun_reuses_every_pair_and_gives_the_same_matches(tmp_path):
    essays = tmp_path / "essays"
    _copy_txt(essays)
    cold, dup = _run(essays, tmp_path / "cache")
    assert dup.pairs_aligned_ > 0 and dup.pairs_reused_ == 0
    warm, dup2 = _run(essays, tmp_path / "cache")
    assert dup2.pairs_aligned_ == 0 and dup2.pairs_reused_ == dup.pairs_aligned_
    assert [e.to_dict() for e in warm.essays] == [e.to_dict() for e in cold.essays]
    assert warm.cohort == cold.cohort


def test_new_essay_aligns_only_the_pairs_it_touches(tmp_path):
    essays = tmp_path / "essays"
    _copy_txt(essays)
    _, dup = _run(essays, tmp_path / "cache")
    n_before = dup.pairs_aligned_
    # a new submission copying most of an existing one
    src = sorted(essays.glob("*.txt"))[0].read_text(encoding="utf-8")
    (essays / "zz_new_copy.txt").write_text(src[: len(src) * 3 // 4], encoding="utf-8")
    warm, dup2 = _run(essays, tmp_path / "cache")
    fresh, dup3 = _run(essays, None)  # no cache: the reference result
    assert 1 <= dup2.pairs_aligned_ < n_before
    assert dup2.pairs_aligned_ + dup2.pairs_reused_ == dup3.pairs_aligned_
    new = next(e for e in warm.essays if e.source == "zz_new_copy.txt")
    assert any(m.kind == "submission" for m in new.matches)
    assert [e.to_dict() for e in warm.essays] == [e.to_dict() for e in fresh.essays]
