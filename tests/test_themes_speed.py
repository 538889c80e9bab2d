"""Theme detector fast paths give exactly what the plain scans give.

* :class:`~pipeline.themes.cues._LiteralIndex` finds every occurrence a naive
  ``str.startswith`` scan finds;
* a pattern tried only near its anchor (:func:`~pipeline.themes.cues._finditer_near`)
  gives the spans of ``rx.finditer``;
* the stage, which decides only sentences with cue hits, gives the results of
  deciding every sentence (:meth:`ThemeDetector.decisions`).
"""
from __future__ import annotations

import math
import random
import re
from pathlib import Path

import pytest

from pipeline.essay import ThemeResult
from pipeline.themes.cues import _LiteralIndex, _anchor, _finditer_near, _scan_safe
from pipeline.themes.detect import _LIST_RUN, ThemeDetector
from pipeline.themes.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def detector():
    return ThemeDetector("zhengji-kaohe")


def _naive_find(keys, text):
    return sorted((i, k) for k in keys for i in range(len(text)) if text.startswith(k, i))


def test_literal_index_finds_every_occurrence():
    rng = random.Random(7)
    keys = ["政治", "政治能力", "政治上", "和", "盼", "能力", "力", "𠀋字", "字𠀋", "ab", "abc", "b",
            "考核结果", "结果运用", "果"]
    alphabet = "政治能力上和盼考核结果运用字𠀋abc，。 \n"
    ix = _LiteralIndex({k: k.upper() for k in keys})
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        got = ix.find(text)
        assert sorted((i, k) for i, k, _ in got) == _naive_find(keys, text), text
        assert [i for i, _, _ in got] == sorted(i for i, _, _ in got)  # by start
        assert all(v == k.upper() for _, k, v in got)
    assert _LiteralIndex({"甲乙": 1}).find("") == []
    assert _LiteralIndex({"乙": 1}).find("甲乙") == [(1, "乙", 1)]  # the last char


def _profile_patterns():
    prof = load_profile("zhengji-kaohe")
    return [c.text for t in prof.themes for c in t.cues if c.kind == "pattern"]


TRICKY = [
    "(推动)?高质量发展的?(政绩|考核|综合绩效)",
    "(两个确立.{0,24})?四个意识.{0,8}四个自信.{0,8}两个维护(.{0,40}保持高度一致)?",
    "(始终|要)?做到对党忠诚.{0,4}坚决贯彻落实党中央决策部署",
    "(?:结果)?运用",
    "(a|ab)c",
    "a.{0,3}b.{2,5}c",
    "[ab]{1,3}c",
    "x?y?z",
    "(与|同|和).{0,12}(选拔任用|提拔).{0,4}挂钩",
]


def _texts(pattern: str, rng: random.Random, n: int):
    """Random texts over the pattern's own chars (plus a few others): many near-misses."""
    chars = sorted({c for c in pattern if c not in "()[]{}.?*+|:,0123456789\\"} | set("，。x"))
    for _ in range(n):
        yield "".join(rng.choice(chars) for _ in range(rng.randint(0, 60)))


@pytest.mark.parametrize("pattern", TRICKY + _profile_patterns())
def test_pattern_tried_near_its_anchor_gives_finditer(pattern):
    rx = re.compile(pattern)
    anchor = _anchor(rx)
    assert _scan_safe(rx) and anchor is not None
    strings, lo, hi = anchor
    ix = _LiteralIndex({s: None for s in strings})
    rng = random.Random(pattern)
    for text in _texts(pattern, rng, 150):
        near = [(i - hi, i - lo) for i, _, _ in ix.find(text)]
        assert _finditer_near(rx, text, near) == [m.span() for m in rx.finditer(text)], text


def test_anchor_is_the_narrowest_literal_run():
    assert _anchor(re.compile("(推动)?高质量发展的?(政绩|考核)")) == (frozenset({"高质量发展"}), 0, 2)
    assert _anchor(re.compile("论英雄")) == (frozenset({"论英雄"}), 0, 0)
    strings, lo, hi = _anchor(re.compile("(群众|居民).{0,8}满意"))
    assert strings == {"群众", "居民"} and (lo, hi) == (0, 0)
    for p in (".{0,60}x", "[^。]+", r"\d+年", "(?i)abc"):  # no bounded literal: scanned whole
        assert _anchor(re.compile(p)) is None, p


def test_list_runs_scanned_near_the_commas_only(detector):
    rng = random.Random(3)
    chars = "甲" * 30 + "乙" * 20 + "、" * 6 + "，。“”"  # runs up to and past 14 chars
    for _ in range(1000):
        s = "".join(rng.choice(chars) for _ in range(rng.randint(0, 90)))
        k = detector.profile.list_min_items
        full = sorted([m.span() for m in _LIST_RUN.finditer(s) if m.group().count("、") + 1 >= k]
                      + [r for r in _quote_runs(s, k)])
        assert detector.list_runs(s) == full, s


def _quote_runs(s, k):
    from pipeline.themes.detect import _QUOTE_RUN

    return [m.span() for m in _QUOTE_RUN.finditer(s) if m.group().count("“") >= k]


def _reference(det: ThemeDetector, essay) -> dict[str, ThemeResult]:
    """The stage's results from the decisions of *every* sentence (the plain way)."""
    out = {}
    decs = det.decisions(essay)
    for theme in det.profile.themes:
        ev, weights, cues = [], [], {}
        for d in decs:
            if d.excluded:
                continue
            sc = d.scores.get(theme.id, 0.0)
            if sc < theme.threshold and theme.id not in d.carried:
                continue
            ev.append(d.span)
            weights.append(sc)
            for h in d.hits[theme.id]:
                cues.setdefault(h.cue.text if h.cue.kind == "term"
                                else essay.text[d.span.start + h.start:d.span.start + h.end])
        w = sum(min(x, det.profile.max_evidence_weight) for x in weights)
        out[theme.id] = ThemeResult(round(1.0 - math.exp(-w / det.profile.saturation), 4), ev,
                                    extra={"label": theme.label, "n_sentences": len(ev),
                                           "cues": list(cues)[:12]})
    return out


def _results(essay):
    return {k: v.to_dict() for k, v in essay.themes.items()}


def test_stage_equals_deciding_every_sentence(detector, essay_factory):
    sample = sorted((ROOT / "corpora" / "sample").glob("*.txt"))[:12]
    texts = [p.read_text(encoding="utf-8") for p in sample]
    texts.append("我们把考核结果和干部选拔任用挂钩，能上能下。今天天气很好。这一点我深有体会，"
                 "考核结果要用好。\n\n考核结果。")
    for i, text in enumerate(texts):
        e = essay_factory(text, id=f"E{i:04d}")
        want = {k: v.to_dict() for k, v in _reference(detector, e).items()}
        assert _results(detector(e)) == want


def test_context_is_not_carried_across_a_sentence_without_hits(detector, essay_factory):
    # 考核结果 alone (0.6) continues the point only right next to the evidence sentence
    near = essay_factory("我们把考核结果和干部选拔任用挂钩，做到能上能下。考核结果让大家服气。")
    far = essay_factory("我们把考核结果和干部选拔任用挂钩，做到能上能下。今天天气很好。考核结果让大家服气。")
    assert detector(near).themes["result_use"].extra["n_sentences"] == 2
    assert detector(far).themes["result_use"].extra["n_sentences"] == 1
    assert _results(far) == {k: v.to_dict() for k, v in _reference(detector, far).items()}
