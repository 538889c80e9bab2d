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
from pipeline.engagement import scorer as scorer_module
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

    def plain_subscores(names, labels, nums, details, evidence):  # the dicts stored before
        return {k: {"label": labels[i], "score": nums[3 * i], "weight": nums[3 * i + 1],
                    "points": nums[3 * i + 2],
                    "evidence": [{"start": a, "end": b}
                                 for a, b in zip(evidence[i][0::2], evidence[i][1::2])],
                    "detail": details[i]} for i, k in enumerate(names)}

    monkeypatch.setattr(SubScores, "of", classmethod(lambda cls, d: None))
    monkeypatch.setattr(scorer_module, "_subscores", plain_subscores)
    plain = [scorer.score(e, duplication_ran=True, themes_ran=True) for e in sample.essays]
    assert all(type(p.subscores) is dict for p in plain)
    assert all(isinstance(c.subscores, SubScores) for c in compact)
    assert sum(len(v["evidence"]) for c in compact for v in c.subscores.values()) > 20
    for c, p in zip(compact, plain):
        assert c == p and c.subscores == p.subscores
        assert json.dumps(c.to_dict(), ensure_ascii=False) == json.dumps(p.to_dict(),
                                                                         ensure_ascii=False)


# -- topic mixes -----------------------------------------------------------------------------
from pipeline.essay import Essay, TopicMix  # noqa: E402

MIX = [{"topic": 3, "weight": 0.6123}, {"topic": 0, "weight": 0.3}, {"topic": 7, "weight": 0.0877}]


def test_topic_mix_behaves_as_the_list_of_dicts():
    m = TopicMix.of([dict(d) for d in MIX])
    assert isinstance(m, TopicMix)
    assert m == MIX and MIX == m and list(m) == MIX and len(m) == 3 and m
    assert m[0] == MIX[0] and m[-1] == MIX[-1] and m[1:] == MIX[1:] and type(m[0]) is dict
    assert [list(d) for d in m] == [["topic", "weight"]] * 3
    assert m != MIX[:2] and m != [{"topic": 3, "weight": 0.6124}, *MIX[1:]]
    assert sorted(m, key=lambda x: -x["weight"])[0] == MIX[0]
    back = pickle.loads(pickle.dumps(m))
    assert isinstance(back, TopicMix) and back == m and back.to_list() == MIX
    e = Essay(id="E1", source="x", raw="", topics=m)
    assert json.dumps(e.to_dict()["topics"]) == json.dumps(MIX)
    assert pickle.loads(pickle.dumps(e)).topics == MIX


@pytest.mark.parametrize("mix", [
    [{"topic": 1, "weight": 0.1234567}, {"topic": 2, "weight": 0.5}],  # not 4 places: doubles
    [{"topic": 1, "weight": -0.0}], [{"topic": 70000, "weight": 0.25}], [{"topic": 1, "weight": 9.5}],
    [{"topic": 0, "weight": 1.0}, {"topic": 5, "weight": 0.0001}, {"topic": 2, "weight": 0.0}],
])
def test_topic_mix_keeps_every_weight_exactly(mix):
    m = TopicMix.of(mix)
    assert isinstance(m, TopicMix)
    back = pickle.loads(pickle.dumps(m))
    for got in (m.to_list(), list(back)):
        assert json.dumps(got) == json.dumps(mix) and got == mix
        assert [type(d["topic"]) for d in got] == [int] * len(mix)


def test_rounded_weights_are_stored_as_two_bytes():
    m = TopicMix.of([{"topic": t, "weight": round(w / 977, 4)} for t, w in enumerate(range(977))])
    assert m._o.typecode == "H" and m == [{"topic": t, "weight": round(w / 977, 4)}
                                          for t, w in enumerate(range(977))]


@pytest.mark.parametrize("odd", [[], [{"topic": 1, "weight": 1}], [{"weight": 0.5, "topic": 1}],
                                 [{"topic": -1, "weight": 0.5}], [{"topic": 1, "weight": 0.5, "x": 1}]])
def test_other_topic_lists_are_kept_as_given(odd):
    assert TopicMix.of(odd) is odd


def test_topic_stage_stores_compact_mixes(sample):
    mixes = [e.topics for e in sample.essays]
    assert mixes and all(isinstance(m, TopicMix) for m in mixes)
    assert all(type(d) is dict and type(d["topic"]) is int and type(d["weight"]) is float
               for m in mixes for d in m)


# -- engagement text features ----------------------------------------------------------------
from array import array  # noqa: E402

from pipeline.engagement import features as F  # noqa: E402


@pytest.mark.parametrize("big", [False, True])
def test_text_features_pack_into_one_array_and_read_back(big):
    top = 70000 if big else 900
    rows, items = array("i", [0, 12, 11, 3, 12, top, 30, 64]), array("i", [0, 2, 3, 9])
    hits, curly = array("i"), array("i", [40, 52])
    tf = F.TextFeatures(123, 40, 55.5, 20, rows, items, hits, curly)
    assert (tf.rows, tf.items, tf.hits, tf.curly) == (rows, items, hits, curly)
    assert tf._data.typecode == ("i" if big else "H")
    assert list(tf) == [123, 40, 55.5, 20, rows, items, hits, curly]
    back = pickle.loads(pickle.dumps(tf))
    assert back == tf and list(back) == list(tf) and back.curly == curly
    assert tf != F.TextFeatures(123, 40, 55.5, 20, rows, items, curly, hits)


def test_stored_features_equal_a_fresh_analysis(sample):
    slogans = F.phrase_regex(F.load_taohua(MODELS / "taohua.txt"))
    n = 0
    for e in sample.essays:
        tf = e.features[F.FEATURES_KEY]
        assert tf._data.typecode == "H" and tf == F.analyse(e, slogans)
        assert F.tally(e, tf) == F.tally(e, pickle.loads(pickle.dumps(tf)))
        n += len(tf.items) + len(tf.hits)
    assert n > 0
