"""Character-level cue matching for a :class:`~.profile.Profile`.

Terms are matched with one Aho–Corasick automaton (``pyahocorasick``) over the
characters of the text, not over jieba words: a cue like 能上能下 or 好差评 is
found wherever its characters occur, whatever the segmenter made of them (a
jieba user dictionary of overlapping cue terms cut recall to 68%). Patterns are
Python regular expressions. Every hit keeps its char offsets.

Within one theme, overlapping hits keep the longest (正确政绩观 counts once, not
also as 政绩观); a positive hit overlapping a negative cue of its theme is
dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .profile import Cue, Profile

#: Book-title brackets: the notice's name 《关于改进推动高质量发展的政绩考核的通知》
#: contains 高质量发展 and 政绩考核, which must not count as discussing them.
_TITLE = re.compile(r"《[^《》\n]{0,80}》")
MASK = "□"


def mask_titles(text: str) -> str:
    """``text`` with the inside of every 《…》 replaced by :data:`MASK` (same length)."""
    return _TITLE.sub(lambda m: "《" + MASK * (len(m.group()) - 2) + "》", text)


@dataclass(frozen=True)
class Hit:
    """One cue occurrence: ``text[start:end]`` matched ``cue`` of ``theme``."""

    theme: str
    cue: Cue
    start: int
    end: int


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
        out.sort(key=lambda h: (h.start, -(h.end - h.start), h.theme, h.cue.text))
        return out

    def hits(self, text: str) -> dict[str, tuple[list[Hit], float]]:
        """Per theme: the kept positive hits and the total negative penalty.

        Returns:
            ``{theme_id: (hits, penalty)}`` for themes with any hit.
        """
        by_theme: dict[str, list[Hit]] = {}
        for h in self.raw_hits(text):
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
