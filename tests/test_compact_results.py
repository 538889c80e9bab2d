"""Compact cohort results: engagement sub-scores, topic mixes and engagement features.

Every essay keeps these for the whole run, so they are stored compactly
(:class:`~pipeline.essay.SubScores`, :class:`~pipeline.essay.TopicMix`, packed
:class:`~pipeline.engagement.features.TextFeatures`); each must read back equal to the
plain form it replaces, serialise the same and survive pickling.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.engagement import EngagementScorer
from pipeline.essay import Engagement, SubScores
from pipeline.runner import run

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


def _sub(label, score, weight, ev=(), detail="d"):
    return {"label": label, "score": score, "weight": weight,
            "points": round(weight * score * 100, 2),
            "evidence": [{"start": a, "end": b} for a, b in ev], "detail": detail}


PLAIN = {
    "originality": _sub("原创性", 1.0, 0.2, detail="雷同0%（范文0%、他人0%），通用套话0%"),
    "specificity": _sub("具体性", 0.8125, 0.2, [(3, 17), (40, 52), (90, 120)], "3句含具体事实"),
    "diversity": _sub("用词多样", 0.0, 0.05),
    "length": _sub("篇幅", -0.0, 0.05, [(0, 70000)], "70000字"),  # offsets past "H"
}
REASONS = ["文字为本人原创", "仅有3处具体事例"]


@pytest.fixture(scope="module")
def sample():
    return run(ROOT / "corpora" / "sample", Settings())


def test_engagement_stores_the_scorers_subscores_compactly_and_reads_them_back():
    eng = Engagement(72.34, {k: dict(v) for k, v in PLAIN.items()}, list(REASONS))
    assert isinstance(eng.subscores, SubScores)
    assert eng.subscores == PLAIN and PLAIN == eng.subscores
    assert list(eng.subscores) == list(PLAIN) and len(eng.subscores) == 4
    assert eng.subscores["specificity"] == PLAIN["specificity"]
    assert type(eng.subscores["specificity"]) is dict and "nope" not in eng.subscores
    assert [list(v) for v in eng.subscores.values()] == [list(v) for v in PLAIN.values()]
    assert eng.subscores.get("nope") is None
    with pytest.raises(KeyError):
        eng.subscores["nope"]
    assert eng.reasons == REASONS and type(eng.reasons) is list
    want = {"score": 72.3, "subscores": PLAIN, "reasons": REASONS}
    assert eng.to_dict() == want
    # same JSON text: key order of every dict kept, -0.0 and ints kept
    assert json.dumps(eng.to_dict(), ensure_ascii=False) == json.dumps(want, ensure_ascii=False)


def test_compact_engagement_pickles_equal_and_shares_strings():
    a = Engagement(50.0, {k: dict(v) for k, v in PLAIN.items()}, list(REASONS))
    b = pickle.loads(pickle.dumps(a))
    assert b == a and isinstance(b.subscores, SubScores)
    assert b.to_dict() == a.to_dict()
    assert json.dumps(b.to_dict()) == json.dumps(a.to_dict())
    # labels, names and reasons are one object whatever essay holds them
    c = Engagement(50.0, {k: dict(v) for k, v in PLAIN.items()}, ["文字为本人" + "原创"])
    assert b.reasons[0] is c.reasons[0]
    assert b.subscores._labels is c.subscores._labels and b.subscores._names is a.subscores._names


@pytest.mark.parametrize("odd", [
    {"originality": {"points": 20.0, "max": 30, "evidence": []}, "theme_depth": 10.0},
    {"x": {**_sub("l", 1.0, 0.5), "evidence": [{"end": 3, "start": 1}]}},  # key order
    {"x": _sub("l", 1, 0.5)},                                                # int score
    {"x": _sub("l", 1.0, 0.5, [(-1, 3)])},                                   # negative offset
])
def test_other_subscore_shapes_are_kept_as_given(odd):
    eng = Engagement(10.0, odd, [])
    assert eng.subscores is odd and eng.to_dict()["subscores"] is odd
    assert pickle.loads(pickle.dumps(eng)) == eng


def test_scored_engagement_equals_the_plain_one(sample, monkeypatch):
    scorer = EngagementScorer(MODELS / "engagement.toml", MODELS / "taohua.txt")
    compact = [scorer.score(e, duplication_ran=True, themes_ran=True) for e in sample.essays]
    monkeypatch.setattr(SubScores, "of", classmethod(lambda cls, d: None))
    plain = [scorer.score(e, duplication_ran=True, themes_ran=True) for e in sample.essays]
    assert all(type(p.subscores) is dict for p in plain)
    assert all(isinstance(c.subscores, SubScores) for c in compact)
    assert sum(len(v["evidence"]) for c in compact for v in c.subscores.values()) > 20
    for c, p in zip(compact, plain):
        assert c == p and c.subscores == p.subscores
        assert json.dumps(c.to_dict(), ensure_ascii=False) == json.dumps(p.to_dict(),
                                                                         ensure_ascii=False)
