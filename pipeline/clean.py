"""Clean an essay body, keeping a char map back to the raw text.

Steps (in order; each is a rewrite of a :class:`MappedText`, so every output
char knows the raw char it came from):

1. drop invisible characters (zero-width, soft hyphen, BOM, control chars);
2. drop template-site markers and page noise (``此处隐藏部分文章内容`` gaps,
   ``第 3 页 共 9 页``, page numbers, site URLs, "下载/打印" chrome);
3. Traditional → Simplified (OpenCC ``t2s``, char by char so offsets stay 1:1),
   corner quotes 「」『』 → “”‘’;
4. strip pinyin glosses injected by template mirrors (``政績(jī)觀``);
5. full-width ASCII letters/digits → half-width; ASCII punctuation next to
   Chinese → full-width (``,`` → ``，``);
6. remove spaces between Chinese characters (PDF artefacts), collapse runs;
7. join lines broken inside a sentence (PDF line breaks); keep real paragraphs.

Cleaning is idempotent: ``clean(clean(x).text).text == clean(x).text``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")
SENT_END = "。！？；：…”’」』）)!?;"


@dataclass
class MappedText:
    """Text plus, for each char, its index in the original text."""

    text: str
    map: list[int]
    n_orig: int

    @classmethod
    def of(cls, text: str) -> "MappedText":
        return cls(text, list(range(len(text))), len(text))

    def sub(self, pattern: re.Pattern, repl) -> "MappedText":
        """Regex substitution that keeps the map.

        ``repl`` is a string or a function of the match. Replacement chars of
        equal length map 1:1; otherwise they all map to the match start.
        """
        out, omap, last = [], [], 0
        fixed = None if callable(repl) or "\\" in repl else repl  # no group references
        for m in pattern.finditer(self.text):
            s, e = m.span()
            r = fixed if fixed is not None else repl(m) if callable(repl) else m.expand(repl)
            out.append(self.text[last:s])
            omap.extend(self.map[last:s])
            out.append(r)
            if len(r) == e - s:
                omap.extend(self.map[s:e])
            else:
                anchor = self.map[s] if s < len(self.map) else self.n_orig
                omap.extend([anchor] * len(r))
            last = e
        if last == 0 and not out:
            return self
        out.append(self.text[last:])
        omap.extend(self.map[last:])
        return MappedText("".join(out), omap, self.n_orig)

    def translate(self, fn) -> "MappedText":
        """Char-by-char rewrite; ``fn(c)`` must return exactly one char."""
        new = "".join(fn(c) for c in self.text)
        assert len(new) == len(self.text)
        return MappedText(new, self.map, self.n_orig)

    def full_map(self) -> list[int]:
        return self.map + [self.n_orig]


# -- rules ---------------------------------------------------------------
_INVISIBLE = re.compile("[\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff\u00ad"
                        "\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CRLF = re.compile(r"\r\n?")
_NBSP = re.compile("[\u00a0\u3000\u2002-\u200a\t\r\f\v]")
# Template sites hide the middle of an essay behind a line of dots and a marker.
HIDDEN_MARKER = re.compile(
    r"[.…·\-—_=*＊ \t]*(?:此处)?隐藏(?:了)?部分(?:文章)?内容[.。…·\-—_=*＊]*[ \t]*\n?"
    r"|[.…·\-—_]*(?:完整版|全文)?(?:请|需)?(?:下载|登录|付费|开通会员)(?:后)?(?:查看|阅读)"
    r"(?:完整|全部|全文)?(?:内容)?[.…·\-—_]*\n?")
_PAGE_NOISE = re.compile(
    r"(?m)^[ \t]*(?:第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|[-—–]\s*\d+\s*[-—–]|\d+\s*/\s*\d+"
    r"|Page\s+\d+(?:\s+of\s+\d+)?|(?:https?://|www\.)\S+|(?:下载|打印|字号|关闭窗口|收藏本文"
    r"|分享到|扫一扫|返回顶部)(?:[\s|：:\[\]【】大中小]*(?:下载|打印|字号|关闭|大|中|小))*)[ \t]*$\n?")
_PINYIN = re.compile(rf"(?<=[{CJK}])(?:[ ]*[(（]\s*[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{{1,6}}\s*[)）])+")
# Taiwan/HK-style corner quotes → mainland quotes (mirrors convert them to defeat matching).
_QUOTE_MAP = {"「": "“", "」": "”", "『": "‘", "』": "’"}
_CORNER_QUOTES = re.compile("[「」『』]")
_FW_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_ASCII_PUNCT = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}
_PUNCT_NEAR_CJK = re.compile(
    rf"(?<=[{CJK}》”」』）])[,:;?!)]|[,:;?!(](?=[{CJK}《“「『（])|(?<=[{CJK}])\((?=[^)\n]*[{CJK}])")
_CJK_SPACE = re.compile(rf"(?<=[{CJK}，。！？；：、“”《》（）])[ ]+(?=[{CJK}，。！？；：、“”《》（）])")
# The two rules above start with a look-behind, so ``re`` tries them at every position.
# These equivalents start with the character they consume (``re`` skips to it in C) and
# check what precedes it with a look-behind that includes it: the same matches (tested).
_PUNCT_NEAR_CJK_FAST = re.compile(
    rf"[,:;?!()](?:(?<=[{CJK}》”」』）][,:;?!)])|(?<=[,:;?!(])(?=[{CJK}《“「『（])"
    rf"|(?<=[{CJK}]\()(?=[^)\n]*[{CJK}]))")
_CJK_SPACE_FAST = re.compile(rf"[ ](?<=[{CJK}，。！？；：、“”《》（）][ ])[ ]*(?=[{CJK}，。！？；：、“”《》（）])")
#: Every ``_PINYIN`` match has an opening bracket followed (after spaces) by a pinyin letter.
_PINYIN_HINT = re.compile(r"[(（]\s*[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]")
_SPACE_RUN = re.compile(r"[ ]{2,}")
_LINE_EDGE = re.compile(r"(?m)^[ ]+|[ ]+$")
_BLANK_LINES = re.compile(r"\n{2,}")
#: A line shorter than this with no end punctuation is a heading, not a broken line.
HEADING_MAX = 24


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def _t2s_char(c: str) -> str:
    r = _t2s().convert(c)
    return r if len(r) == 1 else c


_ABOVE_3400 = re.compile("[\u3401-\U0010ffff]")
#: Only ASCII punctuation can be made full-width.
_ASCII_PUNCT_ANY = re.compile(r"[,:;?!()]")
_HIDDEN_WORDS = ("隐藏", "下载", "登录", "付费", "开通会员")  # each HIDDEN_MARKER match has one


def _to_simplified(t: MappedText) -> MappedText:
    if not _ABOVE_3400.search(t.text):
        return t
    conv = _t2s().convert(t.text)
    if len(conv) == len(t.text):
        return MappedText(conv, t.map, t.n_orig)
    return t.translate(_t2s_char)


def _join_broken_lines(t: MappedText) -> MappedText:
    """Remove a newline when the line before it ends mid-sentence.

    A line is "broken" when it does not end with sentence punctuation and is
    long enough to be running text (short unpunctuated lines are headings), and
    the next line does not start a new list item. "Line" means the output line
    built so far (earlier pieces already joined), so one pass joins a whole run
    of broken lines and cleaning stays idempotent.
    """
    lines = t.text.split("\n")
    if len(lines) < 2:
        return t
    out, omap, pos = [], [], 0
    cur_len, cur_last = 0, ""  # length and last non-space char of the output line
    for i, line in enumerate(lines):
        out.append(line)
        omap.extend(t.map[pos:pos + len(line)])
        pos += len(line)
        if i == len(lines) - 1:
            break
        nxt = lines[i + 1]
        stripped = line.rstrip()
        if stripped:
            cur_len, cur_last = cur_len + len(line), stripped[-1]
        join = (cur_last and nxt.strip() and cur_last not in SENT_END
                and cur_len >= HEADING_MAX and not _NEW_ITEM.match(nxt))
        if not join:
            out.append("\n")
            omap.append(t.map[pos])
            cur_len, cur_last = 0, ""
        pos += 1  # the newline itself
    return MappedText("".join(out), omap, t.n_orig)


_NEW_ITEM = re.compile(r"\s*(?:[一二三四五六七八九十]+[、.．]|\d+[、.．]|[（(][一二三四五六七八九十\d]+[）)]"
                       r"|第[一二三四五六七八九十\d]+[篇章部分条]|【)")


@dataclass
class Cleaned:
    """Result of :func:`clean_text`."""

    text: str
    char_map: list[int]
    hidden_gaps: int = 0


def clean_text(raw: str) -> Cleaned:
    """Clean ``raw`` and return the text with its map back to ``raw``.

    Joining broken lines can create new context for earlier rules (a longer line
    that is now itself "broken", ``中,a`` that now needs full-width punctuation),
    so when lines were joined the cleaned text is cleaned again, maps composed,
    until it is stable: cleaning is idempotent.
    """
    c, joined = _clean_once(raw)
    for _ in range(4):
        if not joined:
            break
        again, joined = _clean_once(c.text)
        if again.text == c.text:
            break
        c = Cleaned(again.text, [c.char_map[j] for j in again.char_map],
                    c.hidden_gaps + again.hidden_gaps)
    return c


def _clean_once(raw: str) -> tuple[Cleaned, bool]:
    # Each rule runs only when the text has a character its matches need: a
    # regex that starts with a lookbehind or an optional run is slow to find
    # nothing in a clean essay.
    t = MappedText.of(raw)
    if "\r" in raw:
        t = t.sub(_CRLF, "\n")
    t = t.sub(_INVISIBLE, "")
    t = t.sub(_NBSP, " ")
    gaps = 0
    if any(w in t.text for w in _HIDDEN_WORDS):
        gaps = len(HIDDEN_MARKER.findall(t.text))
        t = t.sub(HIDDEN_MARKER, "\n")
    t = t.sub(_PAGE_NOISE, "")
    t = _to_simplified(t)
    if ("(" in t.text or "（" in t.text) and _PINYIN_HINT.search(t.text):
        t = t.sub(_PINYIN, "")
    t = t.sub(_CORNER_QUOTES, lambda m: _QUOTE_MAP[m.group()])
    t = t.sub(_FW_ALNUM, lambda m: chr(ord(m.group()) - 0xFEE0))
    for _ in range(8):  # runs like "一):" convert one char per pass
        if not _ASCII_PUNCT_ANY.search(t.text):
            break
        before, t = t, t.sub(_PUNCT_NEAR_CJK_FAST, lambda m: _ASCII_PUNCT[m.group()])
        if t is before:
            break
    if " " in t.text:
        t = t.sub(_CJK_SPACE_FAST, "")
        t = t.sub(_SPACE_RUN, " ")
        t = t.sub(_LINE_EDGE, "")
    t = t.sub(_BLANK_LINES, "\n")  # before joining: the join must see the final lines
    n_before_join = len(t.text)
    t = _join_broken_lines(t)
    joined = len(t.text) != n_before_join
    # trim
    lead = len(t.text) - len(t.text.lstrip())
    trail = len(t.text.rstrip())
    text = t.text[lead:trail]
    cmap = t.map[lead:trail] + [t.map[trail] if trail < len(t.map) else t.n_orig]
    return Cleaned(text, cmap, gaps), joined


def cjk_count(text: str) -> int:
    return len(_CJK_RE.findall(text))


class Cleaner:
    """Pipeline stage: fills ``essay.text`` and ``essay.char_map`` from ``essay.raw``."""

    name = "clean"

    def __call__(self, essay):
        c = clean_text(essay.raw)
        essay.text, essay.char_map = c.text, c.char_map
        if c.hidden_gaps:
            essay.warnings.append(f"原文有 {c.hidden_gaps} 处被隐藏的内容缺口（范文网站的“此处隐藏部分文章内容”）")
            essay.meta["hidden_gaps"] = c.hidden_gaps
        return essay
