"""Cleaning: PDF line breaks, noise, punctuation, T→S, with a char map back to the raw text."""
from __future__ import annotations

import pytest

from pipeline.clean import clean_text

RAW = ("近日,中共中央组织部印发《关于改进推动高质量发展的政绩考核的通知》,强调要把人民群众的获得感、幸福感、安全感作为评判领导\n"
       "干部推动高质量发展政绩的重要标准。\n"
       "一、把群众评价挺在前面\n"
       "我们社区今年收集居民意见 326 条,办结率 97%。\n")


def test_pdf_line_breaks_joined_headings_kept():
    c = clean_text(RAW)
    assert "评判领导干部推动" in c.text           # broken line joined
    assert "\n一、把群众评价挺在前面\n" in c.text  # short heading line kept


def test_punctuation_normalised_next_to_chinese_only():
    c = clean_text(RAW)
    assert "近日，中共中央" in c.text and "》，强调" in c.text
    assert "326 条，办结率 97%" in c.text
    assert clean_text("居民 3,500 户").text == "居民 3,500 户"  # number comma kept


def test_char_map_points_back_to_raw():
    c = clean_text(RAW)
    assert len(c.char_map) == len(c.text) + 1
    assert all(a <= b for a, b in zip(c.char_map, c.char_map[1:]))
    i = c.text.index("干部推动")
    assert RAW[c.char_map[i]:c.char_map[i] + 4] == "干部推动"
    j = c.text.index("，强调")
    assert RAW[c.char_map[j]] == ","


def test_hidden_content_marker_and_page_noise_removed():
    raw = ("人民群众在意的，就是各级领\n…………………………此处隐藏部分文章内容……………………………\n"
           "“破”与“立”是对立统一的辩证关系。\n第 3 页 共 9 页\n- 4 -\n形式主义问题不除，必成祸患。")
    c = clean_text(raw)
    assert "隐藏" not in c.text and "第 3 页" not in c.text and "- 4 -" not in c.text
    assert c.hidden_gaps == 1
    assert "就是各级领\n“破”" in c.text
    assert "形式主义问题不除" in c.text


def test_traditional_to_simplified_and_pinyin_glosses():
    c = clean_text("樹立正確政績(jī)觀，堅持「以人民為中心」的發展思想。")
    assert c.text == "树立正确政绩观，坚持“以人民为中心”的发展思想。"


def test_spaces_inside_chinese_and_fullwidth_digits():
    c = clean_text("心得 体会：全年走访１２０户，　解决问题　３５件。")
    # spaces between Chinese characters are PDF artefacts; one before a number is kept
    assert c.text == "心得体会：全年走访120户，解决问题 35件。"


def test_invisible_characters_dropped():
    c = clean_text("政\u200b绩\u200d观\ufeff要正确。")
    assert c.text == "政绩观要正确。"


def test_idempotent():
    once = clean_text(RAW).text
    assert clean_text(once).text == once


def test_hidden_marker_keeps_the_full_stop_before_it():
    c = clean_text("第一段讲群众评价。\n……此处隐藏部分文章内容……\n第二段讲结果运用。")
    assert c.text == "第一段讲群众评价。\n第二段讲结果运用。"


# -- the rules skipped when their trigger chars are absent give the same result ------
def _every_rule_once(raw):
    """The cleaning pass with every rule applied unconditionally (no fast paths)."""
    import pipeline.clean as c

    t = c.MappedText.of(raw).sub(c._CRLF, lambda m: "\n")
    t = t.sub(c._INVISIBLE, lambda m: "")
    t = t.sub(c._NBSP, lambda m: " ")
    gaps = len(c.HIDDEN_MARKER.findall(t.text))
    t = t.sub(c.HIDDEN_MARKER, lambda m: "\n")
    t = t.sub(c._PAGE_NOISE, lambda m: "")
    if any(ord(ch) > 0x3400 for ch in t.text):
        conv = c._t2s().convert(t.text)
        t = (c.MappedText(conv, t.map, t.n_orig) if len(conv) == len(t.text)
             else t.translate(c._t2s_char))
    t = t.sub(c._PINYIN, lambda m: "")
    t = t.sub(c._CORNER_QUOTES, lambda m: c._QUOTE_MAP[m.group()])
    t = t.sub(c._FW_ALNUM, lambda m: chr(ord(m.group()) - 0xFEE0))
    for _ in range(8):
        before, t = t, t.sub(c._PUNCT_NEAR_CJK, lambda m: c._ASCII_PUNCT[m.group()])
        if t is before:
            break
    for rx, rep in ((c._CJK_SPACE, ""), (c._SPACE_RUN, " "), (c._LINE_EDGE, ""),
                    (c._BLANK_LINES, "\n")):
        t = t.sub(rx, lambda m, rep=rep: rep)
    n = len(t.text)
    t = c._join_broken_lines(t)
    lead, trail = len(t.text) - len(t.text.lstrip()), len(t.text.rstrip())
    cmap = t.map[lead:trail] + [t.map[trail] if trail < len(t.map) else t.n_orig]
    return c.Cleaned(t.text[lead:trail], cmap, gaps), len(t.text) != n


_PIECES = ["学习体会群众", "政績(jī)觀", "（zhèng）", "\r\n", "\n\n", "  ", "\u3000", "中 文", "a,b",
           "群众,满意", "一):", "此处隐藏部分文章内容", "……请下载后查看完整内容……", "登录阅读全文",
           "\n第 3 页 共 9 页\n", "「以人民為中心」", "１２０户", "\u200b", "。", "，", "\n一、", "x"]


@pytest.mark.parametrize("seed", range(40))
def test_fast_paths_equal_every_rule_applied(seed, monkeypatch):
    import random

    import pipeline.clean as c

    rnd = random.Random(seed)
    raw = "".join(rnd.choice(_PIECES) for _ in range(rnd.randint(1, 40)))
    got = clean_text(raw)
    monkeypatch.setattr(c, "_clean_once", _every_rule_once)
    assert got == clean_text(raw)


# -- the fast forms of the look-behind rules find what the rules find ------------------
from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

_RULE_CHARS = "中文群众，。》“”「『（）《 ,:;?!()\n abjī"


@hsettings(max_examples=500, deadline=None)
@given(st.text(alphabet=_RULE_CHARS, max_size=40))
def test_fast_rule_regexes_match_the_rules(s):
    import pipeline.clean as c

    for slow, fast in ((c._PUNCT_NEAR_CJK, c._PUNCT_NEAR_CJK_FAST),
                       (c._CJK_SPACE, c._CJK_SPACE_FAST)):
        assert [m.span() for m in fast.finditer(s)] == [m.span() for m in slow.finditer(s)]
    if c._PINYIN.search(s):
        assert c._PINYIN_HINT.search(s)


def test_fast_rule_regexes_on_examples():
    import pipeline.clean as c

    for s in ("中,a", "a,中", "中(文)", "中 文", "中  ，", "中 ( 文", "中a(b中)", "》,强调", "政績(jī)觀",
              "中 (zhèng)"):
        for slow, fast in ((c._PUNCT_NEAR_CJK, c._PUNCT_NEAR_CJK_FAST),
                           (c._CJK_SPACE, c._CJK_SPACE_FAST)):
            assert [m.span() for m in fast.finditer(s)] == [m.span() for m in slow.finditer(s)], s
        assert bool(c._PINYIN.search(s)) <= bool(c._PINYIN_HINT.search(s))
