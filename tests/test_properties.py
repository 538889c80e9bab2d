"""Property tests (hypothesis) for clean / split / segment: offsets always map back.

* cleaning: the char map is well formed and every kept char is its raw char or a
  known normalisation of it; cleaning is idempotent;
* splitting: every part is an exact slice of the document, parts never overlap,
  and text is dropped only as headings, title lines or tiny container segments;
  a compiled document gives back exactly the essays it was built from;
* segmenting: tokens concatenate to the text minus whitespace, sentences lie
  inside the text and cover all of it.
"""
from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pipeline.clean import HIDDEN_MARKER, _t2s_char, clean_text
from pipeline.segment import split_sentences
from pipeline.split import MIN_BODY, SUBTITLE_MAX, _TERMINAL, find_headings, split_text

# -- text strategies ----------------------------------------------------------------------
CJK_SIMPLE = "学习心得体会政绩观考核群众干部发展人民中心工作问题我们的了是在一不有这"
CJK_TRAD = "學習體會政績觀考覈群眾幹部發展為與國說這從"
PUNCT = "，。！？；：、“”‘’《》（）【】…—·"
ASCII = "abcXYZ019 ,.:;?!()-/%#@\"'"
FULLWIDTH = "ＡＢｃ０１９"
SPACES = " \t\u3000\u00a0\u2003"
INVISIBLE = "\u200b\u200d\ufeff\u00ad\x07"
FRAGMENTS = [
    "\n", "\r\n", "\r", "\n\n\n", "此处隐藏部分文章内容", "……………此处隐藏部分文章内容……\n",
    "请下载后查看完整内容", "\n第 3 页 共 9 页\n", "\n- 4 -\n", "\nhttps://www.fanwen.example/a/1.html\n",
    "政績(jī)觀", "（zhèng）", "\n一、", "\n（二）", "\n3.", "\n【篇一】\n", "\n第二篇：学习体会\n",
    "\n学习《关于政绩考核的通知》心得体会三\n", "范文一\n", "Page 2 of 5", "3,500", "１２０户",
]


def _alphabet_text(alphabet: str, max_size: int = 40):
    return st.text(alphabet=alphabet, max_size=max_size)


essay_like = st.lists(
    st.one_of(_alphabet_text(CJK_SIMPLE), _alphabet_text(CJK_TRAD, 8), _alphabet_text(PUNCT, 4),
              _alphabet_text(ASCII, 8), _alphabet_text(FULLWIDTH, 4), _alphabet_text(SPACES, 3),
              _alphabet_text(INVISIBLE, 2), st.sampled_from(FRAGMENTS)),
    max_size=30).map("".join)
any_text = st.one_of(essay_like, st.text(max_size=200))

#: Examples per property; raise it for a long run (``XINDE_PROPERTY_EXAMPLES=20000``).
N_EXAMPLES = int(os.environ.get("XINDE_PROPERTY_EXAMPLES", "300"))
PROPS = settings(max_examples=N_EXAMPLES, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Raw chars that cleaning may legitimately turn into another char.
_WS_TO_SPACE = set(" \t\r\f\v\u00a0\u3000") | {chr(c) for c in range(0x2002, 0x200b)}
_ASCII_TO_FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}
_CORNER = {"「": "“", "」": "”", "『": "‘", "』": "’"}
_MARKER_CHARS = set(".。…·-—_=*＊此处隐藏了部分文章内容完整版全文请需下载登录付费开通会员后查看阅读全部")


def _known_normalisation(raw_c: str, new_c: str) -> bool:
    if raw_c == new_c:
        return True
    if new_c == " " and raw_c in _WS_TO_SPACE:
        return True
    if new_c == "\n" and (raw_c in "\r\n" or raw_c.isspace() or raw_c in _MARKER_CHARS):
        return True
    if 0xFF10 <= ord(raw_c) <= 0xFF5A and chr(ord(raw_c) - 0xFEE0) == new_c:
        return True
    if _ASCII_TO_FULL.get(raw_c) == new_c or _CORNER.get(raw_c) == new_c:
        return True
    return _t2s_char(raw_c) == new_c or _t2s_phrase_char(raw_c, new_c)


def _t2s_phrase_char(raw_c: str, new_c: str) -> bool:
    """OpenCC converts some chars differently inside phrases; accept any 1:1 variant."""
    from pipeline.clean import _t2s

    return "\u3400" <= raw_c and "\u3400" <= new_c and len(_t2s().convert(raw_c)) == 1


# -- cleaning ----------------------------------------------------------------------------
@PROPS
@given(any_text)
@example("樹立正確政績(jī)觀，堅持以人民為中心。\r\n第 3 页 共 9 页\n")
def test_clean_char_map_maps_back(raw):
    c = clean_text(raw)
    m = c.char_map
    assert len(m) == len(c.text) + 1
    # the end sentinel lies after the last kept char (len(raw) unless trailing noise was cut)
    assert m[-1] <= len(raw) and (not c.text or m[-1] > m[-2])
    assert all(a <= b for a, b in zip(m, m[1:])), "char map must be non-decreasing"
    for i, ch in enumerate(c.text):
        j = m[i]
        assert 0 <= j < len(raw)
        assert _known_normalisation(raw[j], ch), (i, ch, j, raw[j])


@PROPS
@given(any_text)
@example("这是一行足够长的没有标点的正文内容用来测试断行合并的\n短行\n下一行文字")
@example("这是一行足够长的没有标点的正文内容用来测试断行合并的\n,a")
@example("一一一一一一一一一一一一一一一一一一一一一一一一\n\n一")  # blank line, then join
@example("一\xa0（zhèng）")  # gloss after a space
@example("一（zhèng）（zhèng）")  # repeated glosses
@example("一):")  # punctuation runs
def test_clean_is_idempotent(raw):
    once = clean_text(raw).text
    assert clean_text(once).text == once


@PROPS
@given(any_text)
def test_clean_keeps_every_chinese_char(raw):
    """Cleaning drops noise, never Chinese text outside markers, page chrome and glosses."""
    c = clean_text(raw)
    kept = {c.char_map[i] for i in range(len(c.text))}
    noise = set()
    for pat in (HIDDEN_MARKER, re.compile(r"第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?")):
        for mm in pat.finditer(raw):
            noise.update(range(mm.start(), mm.end()))
    for j, ch in enumerate(raw):
        if "\u4e00" <= ch <= "\u9fff" and j not in noise:
            assert j in kept, (j, ch)


# -- splitting ---------------------------------------------------------------------------
def _check_parts(text, parts):
    last_end = 0
    for p in parts:
        assert p.body, "empty part"
        assert text[p.start:p.start + len(p.body)] == p.body
        assert p.start >= last_end, "parts overlap (text would be duplicated)"
        last_end = p.start + len(p.body)


def _dropped_ok(text: str, gap_start: int, gap_end: int, heads) -> bool:
    """Text between bodies is only headings, title lines and tiny container segments."""
    spans = []
    for h in heads:
        if gap_start <= h.start < gap_end:
            spans.append((h.start, min(h.end, gap_end)))
    pieces, pos = [], gap_start
    for s, e in spans:
        pieces.append(text[pos:s])
        pos = max(pos, e)
    pieces.append(text[pos:gap_end])
    for piece in pieces:
        body = 0
        for line in piece.split("\n"):
            s = line.strip()
            if s and (len(s) > SUBTITLE_MAX or _TERMINAL.search(s)):
                body += sum(1 for c in s if not c.isspace())
        if body >= MIN_BODY:
            return False
    return True


@PROPS
@given(any_text)
def test_split_parts_are_exact_non_overlapping_slices(text):
    parts = split_text(text)
    _check_parts(text, parts)
    heads = find_headings(text)
    bounds = [0] + [x for p in parts for x in (p.start, p.start + len(p.body))] + [len(text)]
    for a, b in zip(bounds[0::2], bounds[1::2]):
        assert _dropped_ok(text, a, b, heads), (a, b, text[a:b])


body_sentence = st.lists(st.sampled_from([
    "通过这次学习，我对政绩观有了更深的认识。", "群众满意是考核的最高标准。",
    "我们社区今年新建了一百二十个车位。", "下一步要把整改清单向居民公开！",
    "干部要多到基层听听群众的意见？", "形式主义必须坚决纠治；", "考核“指挥棒”作用明显。"]),
    min_size=4, max_size=8).map("".join)
heading_style = st.sampled_from(["【篇{n}】\n", "\n第{n}篇：{t}\n", "\n{t}心得体会{n}\n", "\n范文{n}\n"])
NUMS = "一二三四五六七八九"


@PROPS
@given(st.lists(st.tuples(st.sampled_from(["学习《政绩考核通知》", "学习《考核办法》"]),
                          body_sentence), min_size=1, max_size=5), heading_style,
       st.sampled_from(["", "心得体会范文5篇\n", "学习心得\n\n"]))
def test_split_compiled_document_returns_each_essay_once(essays, style, preamble):
    pieces, bodies = [preamble], []
    for n, (title, body) in enumerate(essays):
        pieces.append(style.format(n=NUMS[n], t=title))
        pieces.append(body + "\n")
        bodies.append(body)
    text = "".join(pieces)
    parts = split_text(text)
    _check_parts(text, parts)
    assert [p.body for p in parts] == bodies


@PROPS
@given(body_sentence, st.lists(body_sentence, max_size=4))
def test_split_plain_essay_is_kept_whole(first, rest):
    text = "\n".join([first, *rest])
    parts = split_text(text)
    assert len(parts) == 1 and parts[0].body == text.rstrip()


# -- segmenting --------------------------------------------------------------------------
@PROPS
@given(any_text)
def test_sentences_lie_inside_text_and_cover_it(text):
    spans = split_sentences(text)
    last = 0
    for s in spans:
        assert last <= s.start < s.end <= len(text)
        seg = text[s.start:s.end]
        assert seg == seg.strip()
        last = s.end
    covered = set()
    for s in spans:
        covered.update(range(s.start, s.end))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


@settings(max_examples=max(N_EXAMPLES // 2, 1), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(essay_like, st.text(max_size=120)))
def test_tokens_concatenate_to_text_without_whitespace(segmenter, raw):
    text = clean_text(raw).text
    toks = list(segmenter.tokens(text))
    last = 0
    for t in toks:
        assert last <= t.start < t.end <= len(text)
        assert text[t.start:t.end] == t.text
        last = t.end
    assert "".join(t.text for t in toks) == "".join(c for c in text if not c.isspace())


@settings(max_examples=max(N_EXAMPLES // 5, 1), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(essay_like)
def test_segmented_essay_passes_offset_check(segmenter, raw):
    from pipeline.essay import Essay

    c = clean_text(raw)
    assume(c.text)
    e = Essay(id="E0001", source="p.txt", raw=raw, text=c.text, char_map=c.char_map)
    segmenter(e)
    e.check_offsets()
    for s in e.sentences:  # sentence offsets map back into the raw body
        assert 0 <= e.raw_offset(s.start) < e.raw_offset(s.end) <= len(raw)
