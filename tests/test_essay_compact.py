"""Compact essays: SpanList, CharMap, packed TokenList and the essay pickle.

The compact segmenter (``compact=True``, the default setting) stores sentences,
the char map and tokens in compact containers that must behave exactly like the
plain lists they replace, and a processed essay must pickle small (block results
come back from worker processes) and come back equal.
"""
from __future__ import annotations

import pickle
from array import array
from pathlib import Path

import pytest

from pipeline.clean import clean_text
from pipeline.errors import AlignmentError
from pipeline.essay import (EMPTY_SPANS, CharMap, Essay, RawPieces, Span, SpanList, ThemeResult,
                            Token, join_raw_pieces, raw_pieces)
from pipeline.segment import Segmenter, TokenList, sentence_list, split_sentences

ROOT = Path(__file__).resolve().parent.parent

RAWS = [
    # PDF line breaks, ASCII punctuation next to Chinese, spaces, page noise, a hidden gap
    ("近日,中共中央组织部印发《关于改进推动高质量发展的政绩考核的通知》,强调要把人民群众的获得感、幸福感、"
     "安全感作为评判领导\n干部推动高质量发展政绩的重要标准。\n一、把群众评价挺在前面\n"
     "我们社区今年收集居民意见 326 条,办结率 97%。\n第 3 页 共 9 页\n"
     "人民群众在意的，就是各级领\n…………………………此处隐藏部分文章内容……………………………\n"
     "“破”与“立”是对立统一的辩证关系。\n"),
    # traditional characters, pinyin glosses, full-width digits, corner quotes, invisible chars
    "\ufeff  樹立正確政績(jī)觀，「為民造福」是最大的政績。今年完成１２件實事。\u200b\r\n\r\n下一步我們要繼續努力。  ",
    "一句话。",
    "",
]


@pytest.fixture(scope="module")
def seg():
    return Segmenter(ROOT / "models" / "jieba_userdict.txt", compact=True)


@pytest.fixture(scope="module")
def plain_seg():
    return Segmenter(ROOT / "models" / "jieba_userdict.txt", compact=False)


def _essay(raw: str, segmenter) -> Essay:
    c = clean_text(raw)
    e = Essay(id="E0001", source="t.txt", raw=raw, text=c.text, char_map=c.char_map)
    return segmenter(e)


# -- SpanList ---------------------------------------------------------------------
def test_span_list_behaves_like_a_list_of_spans():
    spans = [Span(0, 3), Span(3, 9), Span(10, 70000), Span(70000, 70000)]
    sl = SpanList.of(spans)
    assert len(sl) == 4 and list(sl) == spans
    assert sl == spans and spans == sl and sl != spans[:3] and sl != "x"
    assert sl[1] == Span(3, 9) and sl[-1] == Span(70000, 70000)
    assert sl[1:3] == spans[1:3] and sl[::-1] == spans[::-1] and sl[5:] == []
    with pytest.raises(IndexError):
        sl[4]
    with pytest.raises(IndexError):
        sl[-5]
    assert sl.to_dicts() == [s.to_dict() for s in spans]
    assert [sl.find(p) for p in (0, 2, 3, 9, 10, 69999, 70000, -1)] == [0, 0, 1, -1, 2, 2, -1, -1]
    assert bool(SpanList.of([])) is False and SpanList.of([]) is EMPTY_SPANS
    assert sl.within(70000) and not sl.within(69999)


def test_span_list_pickles_small_and_equal():
    spans = [Span(i * 40, i * 40 + 39) for i in range(30)]
    sl = SpanList.of(spans)
    back = pickle.loads(pickle.dumps(sl, 5))
    assert back == sl == spans and type(back) is SpanList
    assert len(pickle.dumps(sl, 5)) < len(pickle.dumps(spans, 5)) / 2
    assert pickle.loads(pickle.dumps(SpanList.of([]))) is EMPTY_SPANS


@pytest.mark.parametrize("raw", RAWS)
def test_sentence_list_equals_split_sentences(raw):
    text = clean_text(raw).text
    assert sentence_list(text) == split_sentences(text)


def test_theme_evidence_is_compact_and_serialises_the_same():
    ev = [Span(0, 5), Span(9, 20)]
    r = ThemeResult(0.5, list(ev), {"label": "x"})
    assert isinstance(r.evidence, SpanList) and r.evidence == ev
    assert r.to_dict() == {"score": 0.5, "evidence": [s.to_dict() for s in ev], "label": "x"}
    assert ThemeResult(0.0, []).evidence is EMPTY_SPANS
    assert ThemeResult(0.5, ev) == ThemeResult(0.5, list(ev))
    tok = [Token(0, 2, "我们")]  # not plain spans: kept as given
    assert ThemeResult(0.1, tok).evidence is tok


def test_theme_extra_behaves_as_the_dict_it_replaces():
    extra = {"label": "以人民为中心", "n_sentences": 2, "cues": ["群众"]}
    r = ThemeResult(0.5, [Span(0, 5)], dict(extra))
    assert r.extra == extra and extra == r.extra and dict(r.extra) == extra
    assert list(r.extra) == list(extra) and len(r.extra) == 3 and "cues" in r.extra
    assert r.extra.get("covered") is None and r.extra.get("label") == "以人民为中心"
    r.extra["cues"].append("民生")  # the list is the result's own
    r.extra["covered"] = True  # a new key goes last
    r.extra["n_sentences"] = 3  # an existing key keeps its place
    assert list(r.extra.items()) == [("label", "以人民为中心"), ("n_sentences", 3),
                                     ("cues", ["群众", "民生"]), ("covered", True)]
    del r.extra["label"]
    r.extra["label"] = "x"  # deleted and set again: last, as in a dict
    assert list(r.extra) == ["n_sentences", "cues", "covered", "label"]
    assert r.to_dict() == {"score": 0.5, "evidence": [{"start": 0, "end": 5}], "n_sentences": 3,
                           "cues": ["群众", "民生"], "covered": True, "label": "x"}
    with pytest.raises(KeyError):
        r.extra["nope"]  # noqa: B018
    # keys in another order than the detector's stay in that order
    odd = ThemeResult(0.1, [], {"cues": [], "label": "y"})
    assert list(odd.to_dict()) == ["score", "evidence", "cues", "label"]
    empty = ThemeResult(0.0, [], {"label": "y", "n_sentences": 0, "cues": []})
    empty.extra["cues"].append("z")
    assert empty.extra["cues"] == ["z"]
    r.extra = {"label": "新"}
    assert r.extra == {"label": "新"} and repr(r.extra) == "{'label': '新'}"


def test_theme_results_pickle_small_and_share_labels_and_zero_scores():
    def result(score, cues):
        return ThemeResult(score, [], {"label": "".join(["考核", "结果运用"]), "n_sentences": 0,
                                       "cues": cues})

    a, b = (pickle.loads(pickle.dumps(result(0.0, []), 5)) for _ in range(2))
    assert a == result(0.0, []) and a.extra["cues"] == []
    assert a.extra["label"] is b.extra["label"] and a.score is b.score  # one object each
    c = pickle.loads(pickle.dumps(result(-0.0, None), 5))
    assert str(c.score) == "-0.0" and c.extra["cues"] is None
    d = ThemeResult(0.3, [Span(1, 2)], {"x": 1})
    assert pickle.loads(pickle.dumps(d, 5)) == d and "cues" not in pickle.loads(pickle.dumps(d)).extra
    assert ThemeResult(0.3, [], {"label": "a"}) != ThemeResult(0.3, [], {"label": "b"})


# -- CharMap ----------------------------------------------------------------------
@pytest.mark.parametrize("raw", RAWS)
def test_char_map_equals_the_list_it_stores(raw):
    m = clean_text(raw).char_map
    cm = CharMap.of(m)
    assert len(cm) == len(m) and list(cm) == m and cm == m and cm.tolist() == m
    assert [cm[i] for i in range(len(m))] == m
    assert [cm[-i] for i in range(1, len(m) + 1)] == [m[-i] for i in range(1, len(m) + 1)]
    assert cm[2:9] == m[2:9] and cm[::3] == m[::3]
    with pytest.raises(IndexError):
        cm[len(m)]
    back = pickle.loads(pickle.dumps(cm, 5))
    assert back == cm and back == m
    assert CharMap.of(array("i", m)) == cm and CharMap.of(cm) is cm


def test_char_map_is_stored_as_runs():
    raw = RAWS[0] * 20  # 20 copies: ~2,800 chars, a few edits per copy
    m = clean_text(raw).char_map
    cm = CharMap.of(m)
    assert cm.n_runs < len(m) / 20
    assert len(pickle.dumps(cm, 5)) < len(pickle.dumps(array("i", m), 5)) / 5
    # any sequence of ints round-trips, even one that goes down (constant anchors)
    odd = [5, 5, 5, 6, 9, 10, 3, 4, 70000, 70001, 0]
    assert list(CharMap.of(odd)) == odd


# -- TokenList packing --------------------------------------------------------------
def test_token_list_packs_differences_and_unpacks_the_offsets():
    text = "我们" + " " * 300 + "要" + "x" * 70000 + "好"
    toks = [Token(0, 2, "我们"), Token(302, 303, "要"), Token(303, 70303, "x" * 70000),
            Token(70303, 70304, "好")]
    tl = TokenList.of(text, toks)
    assert tl._d.typecode == "i" and tl == toks and tl.texts() == [t.text for t in toks]
    assert list(tl._offsets) == [0, 2, 302, 303, 303, 70303, 70303, 70304]
    small = TokenList.of(text, toks[:2])
    assert small._d.typecode == "H" and list(small) == toks[:2]
    assert TokenList.of(text, toks[:1])._d.typecode == "B"
    for t in (tl, small, TokenList.of("", [])):
        assert pickle.loads(pickle.dumps(t, 5)) == t
    assert tl.within(len(text)) and not tl.within(len(text) - 1)
    assert small.within(303) and not small.within(302)


def test_segmenter_tokens_are_a_boundary_bitmap(seg, plain_seg):
    for raw in RAWS[:2]:
        e, p = _essay(raw * 3, seg), _essay(raw * 3, plain_seg)
        assert e.tokens.packing == "bits" and e.tokens == p.tokens and len(e.tokens) == len(p.tokens)
        assert e.tokens._g, "whitespace between words: stretches that are not tokens"
        assert e.tokens.texts() == [t.text for t in p.tokens]
        assert e.tokens[3:9] == p.tokens[3:9] and e.tokens[-1] == p.tokens[-1]
        assert len(e.tokens._d) <= len(e.text) // 8 + 1  # 1 bit a char
        back = pickle.loads(pickle.dumps(e.tokens, 5))
        assert back.packing == "bits" and back == e.tokens and back.texts() == e.tokens.texts()
        assert e.tokens.within(len(e.text)) and not e.tokens.within(p.tokens[-1].end - 1)


@pytest.mark.parametrize("seed", range(40))
def test_bitmap_and_differences_give_the_same_offsets(seed):
    import random

    rng = random.Random(seed)
    n = rng.randrange(0, 60)
    text = "".join(rng.choice("我们 要\n学a1") for _ in range(n))
    cuts = sorted(rng.sample(range(n + 1), rng.randrange(0, n + 2)))
    flat = array("i")
    for a, b in zip(cuts, cuts[1:]):
        if rng.random() < 0.7:  # a token; otherwise leave a gap
            flat.extend((a, b))
    tl = TokenList(text, flat)
    assert list(tl.offsets()) == list(flat) and len(tl) == len(flat) // 2
    assert tl.texts() == [text[a:b] for a, b in zip(flat[0::2], flat[1::2])]
    assert pickle.loads(pickle.dumps(tl, 5)) == tl
    if len(flat) > (n + 8) // 8:
        assert tl.packing == "bits"


def test_offsets_a_bitmap_cannot_hold_are_kept_as_differences():
    text = "树立正确政绩观"
    for flat in ([0, 2, 1, 4], [0, 0, 0, 2, 2, 4], [0, 2, 2, 9], [3, 1, 4, 6]):
        tl = TokenList(text, array("i", flat))
        assert tl.packing == "delta" and list(tl.offsets()) == flat


def test_token_list_reads_pickles_of_the_absolute_offsets_format():
    text = "树立正确政绩观"
    old = TokenList.__new__(TokenList)
    old.__setstate__({"text": text, "offsets": array("i", [0, 2, 2, 4, 4, 7]).tobytes()})
    assert old.texts() == ["树立", "正确", "政绩观"] and old[2] == Token(4, 7, "政绩观")


# -- the essay --------------------------------------------------------------------
@pytest.mark.parametrize("raw", RAWS)
def test_compact_essay_equals_the_plain_one_and_round_trips(raw, seg, plain_seg):
    e, p = _essay(raw, seg), _essay(raw, plain_seg)
    assert isinstance(e.char_map, CharMap) and isinstance(e.sentences, SpanList)
    assert e == p  # dataclass ==: every field equal to the plain lists
    assert e.to_dict() == p.to_dict()
    back = pickle.loads(pickle.dumps(e, 5))
    assert back == e and back.raw == raw and back.features == e.features
    for pos in range(len(e.text) + 1):
        assert back.raw_offset(pos) == p.raw_offset(pos)
    for pos in range(-1, len(e.text) + 2):
        assert e.sentence_index(pos) == p.sentence_index(pos)
    e.check_offsets()


def test_processed_essay_pickles_to_less_than_half(seg, plain_seg):
    raw = "\n".join(RAWS[:2]) * 8
    e, p = _essay(raw, seg), _essay(raw, plain_seg)
    p.char_map = array("i", p.char_map)  # as compact tokens stored it before
    p.tokens = TokenList.of(p.text, p.tokens)
    assert len(pickle.dumps(e, 5)) < len(pickle.dumps(p, 5)) / 2


def test_raw_travels_as_pieces_of_text(seg):
    raw = RAWS[0] * 5
    e = _essay(raw, seg)
    pieces = raw_pieces(e.text, e.raw, e.char_map)
    assert pieces is not None and join_raw_pieces(e.text, pieces) == raw
    # what stays is what cleaning deleted: the hidden-content marker and page numbers
    assert sum(len(x) for x in pieces if isinstance(x, str)) < len(raw) / 3
    state = e.__getstate__()
    assert "raw" not in state and "_raw_pieces" in state
    # empty defaults are not sent, and come back as fresh objects
    assert "matches" not in state and "engagement" not in state
    back = pickle.loads(pickle.dumps(e, 5))
    assert back.matches == [] and back.matches is not e.matches and back.raw == raw


def test_unpickled_essay_keeps_raw_as_pieces_and_rebuilds_it(seg):
    raw = RAWS[0] * 5
    back = pickle.loads(pickle.dumps(_essay(raw, seg), 5))
    assert "raw" not in vars(back) and isinstance(vars(back)["_raw_pieces"], RawPieces)
    assert back.raw == raw and "raw" not in vars(back)  # rebuilt on access, not kept
    assert pickle.loads(pickle.dumps(back, 5)).raw == raw  # and travels on as pieces
    assert "raw" not in back.__getstate__()
    with pytest.raises(AttributeError):
        back.no_such_field  # noqa: B018
    text = back.text
    back.text = "改过的正文"  # the pieces refer to the old text: raw is kept whole first
    assert back.raw == raw and "_raw_pieces" not in vars(back)
    back.text = text
    other = pickle.loads(pickle.dumps(_essay(raw, seg), 5))
    other.raw = "新的原文"  # a new raw replaces the pieces
    assert other.raw == "新的原文" and "_raw_pieces" not in vars(other)


def test_raw_pieces_pack_and_join():
    text = "甲乙丙丁戊己庚辛壬癸" * 30
    pieces = ["前言\n", 0, 100, "中间", 120, 300, "尾"]
    packed = RawPieces.pack(pieces)
    assert packed.join(text) == join_raw_pieces(text, pieces)
    assert packed.ops.typecode == "H" and packed.lits == "前言\n中间尾"
    assert RawPieces.pack([]).join(text) == "" and RawPieces.pack(["x"]).join(text) == "x"
    assert pickle.loads(pickle.dumps(packed, 5)) == packed


def test_raw_kept_whole_when_pieces_would_not_rebuild_it(seg):
    e = _essay(RAWS[0], seg)
    e.raw = "另一段完全不同的原文" * 10  # char map no longer describes raw
    assert pickle.loads(pickle.dumps(e, 5)).raw == e.raw


def test_check_offsets_still_catches_bad_compact_spans(seg):
    e = _essay(RAWS[0], seg)
    e.sentences = SpanList.of([Span(0, 5), Span(5, len(e.text) + 1)])
    with pytest.raises(AlignmentError) as err:
        e.check_offsets()
    assert err.value.code == "X202"
    e = _essay(RAWS[0], seg)
    e.tokens = TokenList(e.text.replace("中央", "地方"), e.tokens._offsets)
    with pytest.raises(AlignmentError) as err:
        e.check_offsets()
    assert err.value.code == "X201"
