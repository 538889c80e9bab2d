"""Split compiled files (范文合集, "心得体会5篇") into single essays, titles apart.

Headings are found by a small set of patterns, each tried over the whole text
(not line by line), because PDF extraction glues headings to the end of the
previous paragraph (``…担当作为。学习《…》心得体会三``) and to the first words of
the next (``心得体会一近日,…``):

* ``第一篇:TITLE`` / ``第1篇``: a heading line;
* ``【篇一】`` / ``【第一篇】`` / ``范文一``: a numbering mark;
* ``…《TITLE》心得体会一`` … ``十``: a title ending in a Chinese numeral, starting
  at a line or sentence boundary.

A segment whose body is only title lines (a collection's own heading, such as
``第三篇:…心得体会5篇`` followed by ``心得体会一``) is a container, not an essay.
Short unpunctuated lines at the top of a body are subtitles; the innermost one
becomes the essay's title. Bodies keep their offset in the file so results can
point back to it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

NUM = "一二三四五六七八九十百零〇两"
_HEAD_LINE = re.compile(rf"(?m)^[ \t]*第[{NUM}\d]{{1,4}}\s*篇\s*[:：．.、]?[ \t]*(?P<title>[^\n]*)$")
_HEAD_MARK = re.compile(rf"【\s*(?:第\s*)?(?:篇\s*)?[{NUM}\d]{{1,3}}\s*(?:篇)?\s*】"
                        rf"|(?m:^[ \t]*(?:范文|篇)[{NUM}\d]{{1,3}}[:：]?[ \t]*$)")
_HEAD_NUMBERED = re.compile(
    rf"(?:(?<=^)|(?<=\n)|(?<=[。！？!?]))[ \t]*"
    rf"(?P<title>[^\n。！？!?“”]{{0,60}}?《[^》\n]{{2,60}}》[^\n。！？!?]{{0,12}}?心得\s*(?:体会)?"
    rf"\s*(?:之)?[（(]?[{NUM}]{{1,3}}[）)]?)(?![{NUM}篇])")
#: Every ``_HEAD_NUMBERED`` match contains this (it starts with a literal, so ``re`` finds
#: it fast, where the full pattern is tried at every position).
_NUMBERED_HINT = re.compile(rf"心得\s*(?:体会)?\s*(?:之)?[（(]?[{NUM}]")
_TERMINAL = re.compile(r"[。！？!?]")
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff》《\d])[ \t]+(?=[\u4e00-\u9fff《》\d])")
#: Body lines are at least this long or carry sentence punctuation.
SUBTITLE_MAX = 60
#: A subtitle without title words (心得, 体会, 《…》 …) is at most this long.
SUBTITLE_PLAIN_MAX = 30
_TITLE_WORDS = re.compile(r"心得|体会|感悟|《|》|篇|学习|发言|研讨|有感")
#: A segment with fewer body characters than this is a container heading.
MIN_BODY = 40


@dataclass
class Part:
    """One essay found in a document.

    Attributes:
        title: Title text ('' when none).
        body: Body text, exactly ``doc_text[start:start + len(body)]``.
        start: Offset of the body in the document text.
        subtitles: Title lines peeled off the top of the body.
    """

    title: str
    body: str
    start: int
    subtitles: tuple[str, ...] = ()


def _tidy_title(t: str) -> str:
    t = _CJK_GAP.sub("", t.strip())
    return t.strip(" \t:：,，")


@dataclass
class _Heading:
    start: int
    end: int
    title: str
    bare: bool  # a numbering mark with no title text of its own


def find_headings(text: str) -> list[_Heading]:
    """All heading matches, earliest first, overlaps removed."""
    found = []
    # each pattern runs only when the text has the words all its matches contain
    if "篇" in text and "第" in text:
        for m in _HEAD_LINE.finditer(text):
            found.append(_Heading(m.start(), m.end(), _tidy_title(m.group("title")),
                                  not m.group("title").strip()))
    if "【" in text or "篇" in text or "范文" in text:
        for m in _HEAD_MARK.finditer(text):
            found.append(_Heading(m.start(), m.end(), _tidy_title(m.group()), True))
    if "《" in text and _NUMBERED_HINT.search(text):
        for m in _HEAD_NUMBERED.finditer(text):
            found.append(_Heading(m.start("title"), m.end(), _tidy_title(m.group("title")),
                                  False))
    found.sort(key=lambda h: (h.start, -(h.end - h.start)))
    out: list[_Heading] = []
    for h in found:
        if out and h.start < out[-1].end:
            continue
        out.append(h)
    return out


def _peel_subtitles(body: str, strict: bool = False) -> tuple[list[str], int]:
    """Leading title-like lines of ``body`` and the offset where the text starts.

    ``strict`` (after a heading): long lines must read like a title, since a
    hard-wrapped PDF body line is also long and unpunctuated. At the top of a
    file any short unpunctuated first line is its title.
    """
    subs, pos = [], 0
    while pos < len(body):
        nl = body.find("\n", pos)
        line_end = len(body) if nl == -1 else nl
        line = body[pos:line_end]
        if not line.strip():
            pos = line_end + 1
            continue
        if len(line.strip()) > SUBTITLE_MAX or _TERMINAL.search(line) or nl == -1:
            break
        # A hard-wrapped PDF body line is long and unpunctuated too: only a short line,
        # or one that reads like a title (心得/体会/《…》/篇), is a subtitle.
        if strict and len(line.strip()) > SUBTITLE_PLAIN_MAX and not _TITLE_WORDS.search(line):
            break
        if line.rstrip()[-1:] in "，、；：,;:":  # a clause runs on into the next line
            break
        subs.append(_tidy_title(line))
        pos = line_end + 1
    while pos < len(body) and body[pos] in " \t\n\r":
        pos += 1
    return subs, min(pos, len(body))


def _body_chars(s: str) -> int:
    """Non-whitespace chars of ``s`` (``str.split`` splits at exactly ``str.isspace``)."""
    return sum(map(len, s.split()))


def split_text(text: str) -> list[Part]:
    """Split a document's text into essays.

    Returns at least one part when the text has any body (a document without
    headings is one essay; its first short line, if title-like, is its title).
    """
    heads = find_headings(text)
    parts: list[Part] = []
    bounds = [(h.start, h.end, h) for h in heads]
    # preamble before the first heading
    first = bounds[0][0] if bounds else len(text)
    pre = text[:first]
    subs, off = _peel_subtitles(pre)
    container_titles: list[str] = []
    if _body_chars(pre[off:]) >= MIN_BODY or not bounds:
        body = pre[off:].rstrip()
        if _body_chars(body):
            parts.append(Part(subs[-1] if subs else "", body, off, tuple(subs)))
    elif subs:
        container_titles = subs
    for i, (s, e, h) in enumerate(bounds):
        nxt = bounds[i + 1][0] if i + 1 < len(bounds) else len(text)
        seg = text[e:nxt]
        subs, off = _peel_subtitles(seg, strict=True)
        body = seg[off:].rstrip()
        if _body_chars(body) < MIN_BODY:
            # a collection heading: its titles name the essays that follow
            titles = [t for t in [h.title, *subs] if t]
            if titles:
                container_titles = titles
            continue
        if subs:
            title = subs[-1]
        elif h.bare and container_titles:
            title = f"{container_titles[-1]} {h.title}"
        else:
            title = h.title
        parts.append(Part(title, body, e + off, tuple([h.title, *subs]) if h.title else tuple(subs)))
    return parts


class Splitter:
    """Pipeline step: documents → essays (see :func:`pipeline.runner.essays_from`)."""

    name = "split"

    def __call__(self, text: str, splittable: bool = True) -> list[Part]:
        if not splittable:
            subs, off = _peel_subtitles(text)
            body = text[off:].rstrip()
            return [Part(subs[-1] if subs else "", body, off, tuple(subs))]
        return split_text(text)
