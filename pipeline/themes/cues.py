"""Character-level cue matching for a :class:`~.profile.Profile`.

Terms are matched with one Aho–Corasick automaton (``pyahocorasick``) over the
characters of the text, not over jieba words: a cue like 能上能下 or 好差评 is
found wherever its characters occur, whatever the segmenter made of them (a
jieba user dictionary of overlapping cue terms cut recall to 68%). Patterns are
Python regular expressions. Every hit keeps its char offsets.

Within one theme, overlapping hits keep the longest (正确政绩观 counts once, not
also as 政绩观); a positive hit overlapping a negative cue of its theme is
dropped.

Speed: :meth:`CueMatcher.hits_in_spans` gives, for every sentence of an essay,
exactly what :meth:`CueMatcher.hits` gives for that sentence alone, but scans the
whole text once instead of once per sentence (see :func:`_scan_safe` for when a
whole-text pattern scan can stand in for the per-sentence ones). That scan is a
:class:`_LiteralIndex`: one vectorised pass over the text's code points finds
every term *and* every pattern's *anchor* (a literal every match contains at a
bounded offset, :func:`_anchor`); a pattern is then tried only at the few
positions its anchor allows (:func:`_finditer_near`), which gives the matches
``rx.finditer`` gives without the regex engine trying every position (the
profile's patterns that start with an optional group cost the most that way).
The per-sentence :meth:`CueMatcher.hits` keeps the Aho–Corasick automaton and
plain ``finditer``: the reference the whole-text path is tested against.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

try:  # Python 3.11+
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

import numpy as np

from .profile import Cue, Profile

#: Book-title brackets: the notice's name 《关于改进推动高质量发展的政绩考核的通知》
#: contains 高质量发展 and 政绩考核, which must not count as discussing them.
_TITLE = re.compile(r"《[^《》\n]{0,80}》")
MASK = "□"


def mask_titles(text: str) -> str:
    """``text`` with the inside of every 《…》 replaced by :data:`MASK` (same length)."""
    if "《" not in text:
        return text
    return _TITLE.sub(lambda m: "《" + MASK * (len(m.group()) - 2) + "》", text)


#: Regex nodes whose success depends only on the characters they consume.
_CONSUMING = {_sre_parse.LITERAL, _sre_parse.NOT_LITERAL, _sre_parse.ANY, _sre_parse.IN,
              _sre_parse.BRANCH, _sre_parse.SUBPATTERN, _sre_parse.MAX_REPEAT,
              _sre_parse.MIN_REPEAT}


def _only_consuming(tree) -> bool:
    for op, av in tree:
        if op not in _CONSUMING:
            return False
        if op is _sre_parse.BRANCH and not all(_only_consuming(b) for b in av[1]):
            return False
        if op is _sre_parse.SUBPATTERN and not _only_consuming(av[-1]):
            return False
        if op in (_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT) and not _only_consuming(av[2]):
            return False
    return True


def _scan_safe(rx: re.Pattern) -> bool:
    """Whether one scan of ``rx`` over a whole text can replace scans of its pieces.

    True when the pattern never matches the empty string and has no anchors,
    word boundaries, lookarounds, back-references, atomic groups or possessive
    repeats: whether it matches at a position then depends only on the chars it
    consumes, so a match inside a piece is also a match at the same place in the
    whole text, and a whole-text match that ends inside the piece it started in
    is the match a scan of that piece finds (see :meth:`CueMatcher.hits_in_spans`).
    """
    try:
        tree = _sre_parse.parse(rx.pattern, rx.flags)
        return tree.getwidth()[0] > 0 and _only_consuming(tree)
    except Exception:  # an unusual pattern: scan piece by piece
        return False


#: Literal strings an anchor node may stand for (more: the node is no anchor).
_MAX_ANCHOR_STRINGS = 64
#: Widest range of offsets between a match's start and its anchor.
_MAX_ANCHOR_WINDOW = 48


def _literal_strings(nodes) -> set[str] | None:
    """The finite set of strings a sequence of parsed regex nodes can match, when it
    is made of literals only (characters, ``[abc]`` sets, ``a|b`` alternations and
    flag-free groups of those); ``None`` otherwise or when there are too many."""
    out = {""}
    for op, av in nodes:
        if op is _sre_parse.LITERAL:
            alts = {chr(av)}
        elif op is _sre_parse.IN and av and all(o is _sre_parse.LITERAL for o, _ in av):
            alts = {chr(c) for _, c in av}
        elif op is _sre_parse.BRANCH:
            alts = set()
            for b in av[1]:
                sub = _literal_strings(b)
                if sub is None:
                    return None
                alts |= sub
        elif op is _sre_parse.SUBPATTERN and not av[1] and not av[2]:  # no (?i:…) flags
            alts = _literal_strings(av[-1])
            if alts is None:
                return None
        else:
            return None
        out = {a + b for a in out for b in alts}
        if len(out) > _MAX_ANCHOR_STRINGS:
            return None
    return out


def _anchor(rx: re.Pattern) -> tuple[frozenset[str], int, int] | None:
    """``(strings, lo, hi)``: every match of ``rx`` starting at ``q`` has one of
    ``strings`` at an offset in ``[q + lo, q + hi]``; ``None`` when no such anchor.

    Looks at the pattern's top-level sequence of nodes: a run of literal nodes
    (:func:`_literal_strings`, no empty string) preceded by nodes whose width is
    between ``lo`` and ``hi`` characters (``(推动)?高质量发展…``: 高质量发展 at
    offset 0–2). Of the candidates the narrowest window wins, then multi-char
    strings (rarer than single chars), then the longest shortest string.
    Only meaningful for scan-safe patterns (:func:`_scan_safe`) without
    case-insensitive matching.
    """
    if rx.flags & re.IGNORECASE:
        return None
    try:
        tree = _sre_parse.parse(rx.pattern, rx.flags)
    except Exception:  # pragma: no cover - compiled already
        return None
    data = list(tree.data)
    best, best_cost = None, None
    for j in range(len(data)):
        lo, hi = _sre_parse.SubPattern(tree.state, data[:j]).getwidth()
        if hi - lo > _MAX_ANCHOR_WINDOW:
            break  # later nodes only get wider windows
        strings = None
        for k in range(len(data), j, -1):  # the longest literal run starting at j
            strings = _literal_strings(data[j:k])
            if strings is not None:
                break
        if not strings or "" in strings:
            continue
        shortest = min(map(len, strings))
        cost = ((hi - lo + 1) * (1 if shortest >= 2 else 8), -shortest)
        if best_cost is None or cost < best_cost:
            best, best_cost = (frozenset(strings), lo, hi), cost
    return best


def _finditer_near(rx: re.Pattern, text: str, anchors) -> list[tuple[int, int]]:
    """The spans ``rx.finditer(text)`` gives, trying ``rx`` only near its anchor.

    ``anchors``: ascending positions of the pattern's anchor strings in ``text``
    (:func:`_anchor` gives ``lo``/``hi`` as ``anchors`` items ``(i - hi, i - lo)``).
    Every match starts inside one of these ranges, and a scan-safe pattern matches
    at ``q`` whatever precedes ``q``, so trying ``rx.match`` at the candidates in
    ascending order, from the end of the previous match on, finds the same
    leftmost, non-overlapping matches as ``finditer``.
    """
    out: list[tuple[int, int]] = []
    nxt = 0  # candidates below this were tried or are covered by a match
    match = rx.match
    for a, b in anchors:
        q = a if a > nxt else nxt
        while q <= b:
            m = match(text, q)
            if m is None:
                q += 1
            else:
                e = m.end()
                out.append((q, e))
                q = e
        if q > nxt:
            nxt = q
    return out


_MUL, _BUCKETS, _LOW16 = np.uint32(1031), np.uint32((1 << 16) - 1), np.uint32(0xFFFF)


def _hash2(first, second):
    """Bucket of pairs of code points (uint32 numpy arrays), for :class:`_LiteralIndex`."""
    h = first * _MUL
    h += second
    h &= _BUCKETS
    return h


class _LiteralIndex:
    """Every occurrence of a fixed set of strings in a text, in one vectorised pass.

    A text position is a candidate when the bucket of its first two code points
    (or, for one-char strings, its first code point) is one a string starts
    with; only candidates are checked, by looking up the text's slice of each
    length the strings starting with those two chars have. Exact: hashing only
    makes candidates, never drops an occurrence.

    Args:
        entries: String → payload (non-empty strings).
    """

    def __init__(self, entries: dict[str, object]):
        by2: dict[str, dict[int, dict[str, object]]] = {}
        self._by1: dict[str, object] = {}
        for key in sorted(entries):
            if len(key) >= 2:
                by2.setdefault(key[:2], {}).setdefault(len(key), {})[key] = entries[key]
            else:
                self._by1[key] = entries[key]
        #: first two chars → ((length, {string: payload}), …), shortest first
        self._by2 = {k: tuple(sorted(v.items())) for k, v in by2.items()}
        self._tab2 = np.zeros(int(_BUCKETS) + 1, dtype=bool)
        self._tab1 = None
        if by2:
            pairs = np.array([[ord(k[0]), ord(k[1])] for k in by2], dtype=np.uint32)
            self._tab2[_hash2(pairs[:, 0], pairs[:, 1])] = True
        if self._by1:
            self._tab1 = np.zeros(0x10000, dtype=bool)
            self._tab1[[ord(k) & 0xFFFF for k in self._by1]] = True

    def find(self, text: str) -> list[tuple[int, str, object]]:
        """``(start, string, payload)`` of every occurrence, by start (overlaps included)."""
        if not text:
            return []
        codes = np.frombuffer((text + "\0").encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        first = codes[:-1]
        cand = self._tab2.take(_hash2(first, codes[1:]))
        one: set[int] = set()
        if self._tab1 is not None:
            cand1 = self._tab1.take(first & _LOW16)
            one = set(cand1.nonzero()[0].tolist())
            cand |= cand1
        out = []
        by2, by1 = self._by2, self._by1
        for i in cand.nonzero()[0].tolist():
            group = by2.get(text[i:i + 2])
            if group:
                for n, table in group:
                    key = text[i:i + n]
                    if key in table:
                        out.append((i, key, table[key]))
            if i in one:
                key = text[i]
                if key in by1:
                    out.append((i, key, by1[key]))
        return out


@dataclass(frozen=True)
class Hit:
    """One cue occurrence: ``text[start:end]`` matched ``cue`` of ``theme``."""

    theme: str
    cue: Cue
    start: int
    end: int


def _scan_whole(rx: re.Pattern, text: str, starts: list[int], ends: list[int],
                matches=None) -> list[tuple[int, int, int]]:
    """``(k, start, end)`` of ``rx.finditer(span k's text)`` for every span, from one scan.

    ``matches``: the ``(start, end)`` spans of ``rx.finditer(text)`` when already
    known (:func:`_finditer_near`).

    For a scan-safe pattern (:func:`_scan_safe`), a whole-text scan finds the
    same matches in a span as a scan of the span alone, as long as no whole-text
    match crosses one of the span's edges: such "dirty" spans are scanned again
    on their own. Offsets are relative to the span's start; spans are sorted and
    do not overlap.
    """
    found: list[tuple[int, int, int]] = []
    dirty: set[int] = set()
    n, k = len(starts), 0
    if matches is None:
        matches = (m.span() for m in rx.finditer(text))
    for a, b in matches:
        while k < n and ends[k] <= a:
            k += 1
        if k == n:
            break
        j = k
        if starts[k] <= a:  # the match starts inside span k
            if b <= ends[k]:
                found.append((k, a - starts[k], b - starts[k]))
            else:
                dirty.add(k)
            j = k + 1
        while j < n and starts[j] < b:  # spans whose start the match crosses
            dirty.add(j)
            j += 1
    if not dirty:
        return found
    found = [f for f in found if f[0] not in dirty]
    for k in sorted(dirty):
        found.extend((k, m.start(), m.end()) for m in rx.finditer(text[starts[k]:ends[k]]))
    found.sort(key=lambda f: f[0])  # stable: each span's matches stay in order
    return found


def _hit_order(h: Hit):
    return (h.start, -(h.end - h.start), h.theme, h.cue.text)


class CueMatcher:
    """Find every theme's cue hits in a text.

    Args:
        profile: A validated profile.
    """

    def __init__(self, profile: Profile):
        import ahocorasick

        if not isinstance(profile, Profile):
            raise TypeError(f"profile must be a Profile, got {type(profile).__name__}")
        self.profile = profile
        self._auto = ahocorasick.Automaton()
        table: dict[str, list[tuple[str, Cue]]] = {}
        self._patterns: list[tuple[str, Cue, re.Pattern]] = []
        for theme in profile.themes:
            for cue in theme.cues:
                if cue.kind == "term":
                    table.setdefault(cue.text, []).append((theme.id, cue))
                else:
                    self._patterns.append((theme.id, cue, re.compile(cue.text)))
        self._safe = [_scan_safe(rx) for _, _, rx in self._patterns]
        for term in sorted(table):
            self._auto.add_word(term, (term, tuple(table[term])))
        self._has_terms = bool(table)
        if self._has_terms:
            self._auto.make_automaton()
        # whole-text path: one literal index for the terms and the patterns' anchors
        entries: dict[str, tuple[tuple, list]] = {t: (tuple(o), []) for t, o in table.items()}
        self._unanchored: set[int] = set()  # patterns scanned in full
        for p, (safe, (_, _, rx)) in enumerate(zip(self._safe, self._patterns)):
            anchor = _anchor(rx) if safe else None
            if anchor is None:
                self._unanchored.add(p)
            else:
                strings, lo, hi = anchor
                for a in strings:
                    entries.setdefault(a, ((), []))[1].append((p, lo, hi))
        self._index = _LiteralIndex(entries)

    def raw_hits(self, text: str) -> list[Hit]:
        """All hits, overlapping ones included, sorted by position."""
        out: list[Hit] = []
        if self._has_terms:
            for end_idx, (term, owners) in self._auto.iter(text):
                start = end_idx - len(term) + 1
                for theme_id, cue in owners:
                    out.append(Hit(theme_id, cue, start, end_idx + 1))
        for theme_id, cue, rx in self._patterns:
            for m in rx.finditer(text):
                if m.end() > m.start():
                    out.append(Hit(theme_id, cue, m.start(), m.end()))
        out.sort(key=_hit_order)
        return out

    def hits(self, text: str) -> dict[str, tuple[list[Hit], float]]:
        """Per theme: the kept positive hits and the total negative penalty.

        Returns:
            ``{theme_id: (hits, penalty)}`` for themes with any hit.
        """
        return self._select(self.raw_hits(text))

    def hits_in_spans(self, text: str, spans) -> list[dict[str, tuple[list[Hit], float]]]:
        """``[self.hits(text[s.start:s.end]) for s in spans]``, computed in one pass.

        Args:
            text: The whole text.
            spans: Sorted, non-overlapping spans of ``text`` (an essay's sentences).

        Returns:
            One ``hits`` result per span, offsets relative to the span's start.
        """
        spans = list(spans)
        if any(b.start < a.end for a, b in zip(spans, spans[1:])):
            return [self.hits(text[s.start:s.end]) for s in spans]
        starts = [s.start for s in spans]
        ends = [s.end for s in spans]
        raw: dict[int, list[Hit]] = {}
        near: dict[int, list[tuple[int, int]]] = {}  # pattern → candidate start ranges
        for start, key, (owners, anchors) in self._index.find(text):
            for p, lo, hi in anchors:
                if p in near:
                    near[p].append((start - hi, start - lo))
                else:
                    near[p] = [(start - hi, start - lo)]
            if owners:  # a term: kept when inside a span, relative to its start
                k = bisect_right(starts, start) - 1
                end = start + len(key)
                if k >= 0 and end <= ends[k]:
                    s0 = starts[k]
                    hs = raw.setdefault(k, [])
                    for theme_id, cue in owners:
                        hs.append(Hit(theme_id, cue, start - s0, end - s0))
        # in profile order (ties in the hit order keep it); an anchored pattern whose
        # anchor is nowhere cannot match
        todo = sorted(near.keys() | self._unanchored) if self._unanchored else sorted(near)
        for p in todo:
            theme_id, cue, rx = self._patterns[p]
            if p in near:
                found = _scan_whole(rx, text, starts, ends, _finditer_near(rx, text, near[p]))
            elif self._safe[p]:
                found = _scan_whole(rx, text, starts, ends)
            else:
                found = [(k, m.start(), m.end()) for k, (s, e) in enumerate(zip(starts, ends))
                         for m in rx.finditer(text[s:e])]
            for k, a, b in found:
                if b > a:
                    raw.setdefault(k, []).append(Hit(theme_id, cue, a, b))
        out: list[dict] = [{} for _ in spans]
        for k, hs in raw.items():
            if len(hs) > 1:
                hs.sort(key=_hit_order)
            out[k] = self._select(hs)
        return out

    @staticmethod
    def _select(raw: list[Hit]) -> dict[str, tuple[list[Hit], float]]:
        """Group sorted raw hits by theme; keep the longest of overlapping positives."""
        by_theme: dict[str, list[Hit]] = {}
        for h in raw:
            by_theme.setdefault(h.theme, []).append(h)
        out = {}
        for tid in sorted(by_theme):
            hs = by_theme[tid]
            if len(hs) == 1 and not hs[0].cue.negative:  # the common case, same result
                out[tid] = (hs, 0)
                continue
            neg = [h for h in hs if h.cue.negative]
            pos = [h for h in hs if not h.cue.negative
                   and not any(h.start < n.end and n.start < h.end for n in neg)]
            kept: list[Hit] = []
            # longest first, then leftmost: nested/overlapping hits count once
            for h in sorted(pos, key=lambda h: (-(h.end - h.start), h.start, h.cue.text)):
                if not any(h.start < k.end and k.start < h.end for k in kept):
                    kept.append(h)
            kept.sort(key=lambda h: (h.start, h.end))
            penalty = sum(h.cue.weight for h in neg)
            if kept or penalty:
                out[tid] = (kept, penalty)
        return out

    @staticmethod
    def score(hits: list[Hit], penalty: float = 0.0) -> float:
        """Sentence score: summed weight of *distinct* cues hit, minus the penalty."""
        seen: dict[str, float] = {}
        for h in hits:
            seen[h.cue.text] = max(seen.get(h.cue.text, 0.0), h.cue.weight)
        return sum(seen.values()) - penalty
