"""Overlapping spans → flat, escaped highlight segments."""
from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from pipeline.report.highlight import Annotation, render, segment

TEXT = "我们要提高政治站位，坚持以人民为中心，能者上、优者奖、庸者下、劣者汰。"


def test_overlapping_kinds_are_cut_at_every_boundary():
    anns = [Annotation(0, 10, "template"), Annotation(5, 19, "theme"), Annotation(19, 34, "quote")]
    segs = segment(len(TEXT), anns)
    assert [(s.start, s.end) for s in segs] == [(0, 5), (5, 10), (10, 19), (19, 34), (34, len(TEXT))]
    assert segs[1].refs == (0, 1) and segs[1].kinds == ("template", "theme")
    assert segs[1].top == "template"          # the copy colours, the theme underlines
    assert segs[2].top == "theme" and segs[3].top == "quote"
    assert segs[4].refs == () and segs[4].top == ""


def test_spans_are_clipped_and_empty_ones_dropped():
    segs = segment(10, [Annotation(8, 50, "boilerplate"), Annotation(3, 3, "quote")])
    assert [(s.start, s.end, s.refs) for s in segs] == [(0, 8, ()), (8, 10, (0,))]
    assert segment(0, [Annotation(0, 4, "quote")]) == []


def test_render_escapes_text_and_marks_each_kind():
    text = "正文<script>alert(1)</script>结尾\"><img src=x onerror=alert(1)>"
    html = render(text, [Annotation(0, 12, "submission"), Annotation(2, 30, "theme")])
    assert "<script>" not in html and "<img" not in html
    assert html.count('class="hl') == 3  # sub | sub+theme | theme
    assert 'class="hl k-submission k-theme top-submission" data-a="0 1" data-s="2" data-e="12"' in html
    # stripping the tags gives back exactly the escaped text
    plain = re.sub(r"<[^>]+>", "", str(html))
    assert plain == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace('"', "&#34;").replace("'", "&#39;")


@settings(max_examples=150, deadline=None)
@given(n=st.integers(0, 60),
       spans=st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70),
                                st.sampled_from(["submission", "template", "boilerplate",
                                                 "quote", "theme"])), max_size=8))
def test_segments_partition_the_text_and_keep_every_span(n, spans):
    anns = [Annotation(a, b, k) for a, b, k in spans]
    segs = segment(n, anns)
    pos = 0
    for s in segs:
        assert s.start == pos and s.end > s.start
        pos = s.end
    assert pos == n
    for i, a in enumerate(anns):
        lo, hi = max(0, min(a.start, n)), max(0, min(a.end, n))
        covered = [(s.start, s.end) for s in segs if i in s.refs]
        want = [] if hi <= lo else [(lo, hi)]
        merged = []
        for s, e in covered:
            if merged and merged[-1][1] == s:
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        assert merged == want
