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
exactly what :meth:`CueMatcher.hits` gives for that sentence alone, but runs the
automaton and each pattern once over the whole text instead of once per
sentence (see :func:`_scan_safe` for when a whole-text pattern scan can stand
in for the per-sentence ones).
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

try:  # Python 3.11+
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

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


@dataclass(frozen=True)
class Hit:
    """One cue occurrence: ``text[start:end]`` matched ``cue`` of ``theme``."""

    theme: str
    cue: Cue
    start: int
    end: int


def _scan_whole(rx: re.Pattern, text: str, starts: list[int], ends: list[int]
                ) -> list[tuple[int, int, int]]:
    """``(k, start, end)`` of ``rx.finditer(span k's text)`` for every span, from one scan.

    For a scan-safe pattern (:func:`_scan_safe`), a whole-text scan finds the
    same matches in a span as a scan of the span alone, as long as no whole-text
    match crosses one of the span's edges: such "dirty" spans are scanned again
    on their own. Offsets are relative to the span's start; spans are sorted and
    do not overlap.
    """
    found: list[tuple[int, int, int]] = []
    dirty: set[int] = set()
    n, k = len(starts), 0
    for m in rx.finditer(text):
        a, b = m.span()
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
        raw: list[list[Hit]] = [[] for _ in spans]
        if self._has_terms:
            self._term_hits(text, starts, ends, raw)
        for (theme_id, cue, rx), safe in zip(self._patterns, self._safe):
            found = (_scan_whole(rx, text, starts, ends) if safe
                     else [(k, m.start(), m.end()) for k, (s, e) in enumerate(zip(starts, ends))
                           for m in rx.finditer(text[s:e])])
            for k, a, b in found:
                if b > a:
                    raw[k].append(Hit(theme_id, cue, a, b))
        for hs in raw:
            if len(hs) > 1:
                hs.sort(key=_hit_order)
        return [self._select(hs) if hs else {} for hs in raw]

    def _term_hits(self, text: str, starts: list[int], ends: list[int],
                   raw: list[list[Hit]]) -> None:
        """Automaton hits of ``text`` lying inside a span, relative to its start."""
        for end_idx, (term, owners) in self._auto.iter(text):
            end = end_idx + 1
            start = end - len(term)
            k = bisect_right(starts, start) - 1
            if k >= 0 and end <= ends[k]:
                s0 = starts[k]
                for theme_id, cue in owners:
                    raw[k].append(Hit(theme_id, cue, start - s0, end - s0))

    @staticmethod
    def _select(raw: list[Hit]) -> dict[str, tuple[list[Hit], float]]:
        """Group sorted raw hits by theme; keep the longest of overlapping positives."""
        by_theme: dict[str, list[Hit]] = {}
        for h in raw:
            by_theme.setdefault(h.theme, []).append(h)
        out = {}
        for tid in sorted(by_theme):
            hs = by_theme[tid]
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
