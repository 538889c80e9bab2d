"""Splitting compiled files into essays, titles kept apart from bodies."""
from __future__ import annotations

from pipeline.split import split_text

P1 = ("近日，中共中央组织部印发《关于改进推动高质量发展的政绩考核的通知》，我们社区党委组织了三次集中学习。"
      "在学习中我对照自己的工作，发现去年对网格员的考核只看台账数量，没有问居民满不满意。")
P2 = ("作为乡镇干部，我最深的体会是考核结果一定要用起来。今年我们镇把年度考核排名后两位的站所负责人"
      "调整了岗位，把连续两年优秀的三名年轻干部提拔到了中层，干部队伍的精气神明显不一样了。")
P3 = ("学校的政绩观就是育人观。我们学校以前把升学率当成唯一指标，今年起把学生体质达标率、"
      "家长满意度也写进了中层干部的考核表，每学期公开一次结果。")


def test_numbered_titles_glued_to_previous_paragraph_and_to_body():
    text = ("学习《关于改进推动高质量发展的政绩考核的通知》心得体会3篇\n"
            "学习《关于改进推动高质量发展的政绩考核的通知》心得体会一" + P1 + "\n"
            + P2[:20] + "\n" + P2[20:] + "学习《关于改进推动高质量发展的政绩考核的通知》心得体会二\n"
            + P3 + "\n")
    parts = split_text(text)
    assert [p.title for p in parts] == [
        "学习《关于改进推动高质量发展的政绩考核的通知》心得体会一",
        "学习《关于改进推动高质量发展的政绩考核的通知》心得体会二"]
    assert parts[0].body.startswith("近日") and parts[0].body.endswith("精气神明显不一样了。")
    assert parts[1].body.strip() == P3
    for p in parts:  # offsets point into the document
        assert text[p.start:p.start + len(p.body)] == p.body


def test_di_yi_pian_headings_with_subtitle_lines():
    text = ("第一篇:组工干部学习通知心得\n组工干部学习《通知》心得 体会\n" + P1 + "\n"
            "第二篇：乡镇干部谈考核结果运用\n" + P2 + "\n")
    parts = split_text(text)
    assert len(parts) == 2
    assert parts[0].title == "组工干部学习《通知》心得体会"  # innermost title, PDF gap removed
    assert parts[1].title == "乡镇干部谈考核结果运用"
    assert "第二篇" not in parts[0].body


def test_bracket_marks_take_collection_title():
    text = "《政绩考核通知》心得5篇\n【篇一】\n" + P2 + "\n【篇二】\n" + P3
    parts = split_text(text)
    assert [p.title for p in parts] == ["《政绩考核通知》心得5篇 【篇一】", "《政绩考核通知》心得5篇 【篇二】"]


def test_plain_essay_is_one_part_with_title():
    text = "我对正确政绩观的认识\n" + P3 + "\n" + P2
    parts = split_text(text)
    assert len(parts) == 1 and parts[0].title == "我对正确政绩观的认识"
    assert parts[0].body.startswith("学校的政绩观")


def test_sentence_mentioning_xinde_is_not_a_heading():
    text = P1 + "大家交流了学习《通知》的心得体会，一致认为要把群众评价放在突出位置。" + P2
    assert len(split_text(text)) == 1


def test_seed_compilation_yields_ten_essays_with_titles(seed_text):
    parts = split_text(seed_text)
    assert len(parts) in (10, 11)
    assert all(p.title for p in parts)
    titles = [p.title for p in parts]
    assert sum("心得体会" in t and t[-1] in "一二三四五" for t in titles) == 5
    assert sum("【篇" in t for t in titles) == 2
    for p in parts:
        assert seed_text[p.start:p.start + len(p.body)] == p.body
        assert "第一篇" not in p.body and "【篇" not in p.body
    # bodies never overlap
    spans = sorted((p.start, p.start + len(p.body)) for p in parts)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_numbered_heading_hint_is_in_every_numbered_heading():
    """``_NUMBERED_HINT`` gates ``_HEAD_NUMBERED``: it must occur in each of its matches."""
    from hypothesis import given, settings as hsettings, strategies as st

    from pipeline import split as S

    pieces = st.sampled_from(["学习", "《通知》", "《关于改进政绩考核的通知》", "心得", "体会", "之", "（", "(",
                              "）", "一", "二", "十", "篇", "1", " ", "\n", "。", "心得体会三", "范文"])

    @hsettings(max_examples=400, deadline=None)
    @given(st.lists(pieces, max_size=14))
    def check(parts):
        text = "".join(parts)
        for m in S._HEAD_NUMBERED.finditer(text):
            assert S._NUMBERED_HINT.search(m.group()), text
        if S._HEAD_NUMBERED.search(text):
            assert S._NUMBERED_HINT.search(text)

    check()
    assert S._HEAD_NUMBERED.search("学习《通知》心得体会（二）")
