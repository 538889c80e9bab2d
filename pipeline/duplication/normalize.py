"""Character normalisation for copy matching, with a map back to ``essay.text``.

Matching works on a *normalised* string: only Chinese characters and digits
are kept (punctuation, spaces, Latin letters and injected noise symbols go),
the filler particles 的/地/得/了 are dropped, filler adverbs such as 切实/进一步
are dropped, and near-synonyms are folded (领导干部/党员干部 → 干部, 人民群众
→ 群众 …). Traditional → Simplified is already done by :mod:`pipeline.clean`;
:func:`normalize` does it again char by char only when asked (``t2s=True``),
for reference texts that did not go through the cleaner.

Every normalised char keeps the index of the ``text`` char it came from, so a
normalised range ``[ns, ne)`` maps back with :meth:`NormText.span`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: Kept characters: CJK unified ideographs (+ ext. A, compatibility) and digits.
_KEEP = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff0-9]+")

#: Single filler characters dropped everywhere (both sides of a comparison lose them).
FILLER_CHARS = frozenset("的地得了着")

#: Multi-char variants → canonical form ('' drops a filler word). Longest match wins.
SYNONYMS: dict[str, str] = {
    "领导干部": "干部",
    "党员干部": "干部",
    "广大干部": "干部",
    "各级干部": "干部",
    "党员领导干部": "干部",
    "人民群众": "群众",
    "广大群众": "群众",
    "老百姓": "群众",
    "百姓": "群众",
    "中共中央组织部": "中组部",
    "中央组织部": "中组部",
    "组织部门": "组织部",
    "习近平总书记": "总书记",
    "习近平同志": "总书记",
    "进一步": "",
    "切实": "",
    "认真": "",
    "不断": "",
    "始终": "",
    "更加": "",
    "真正": "",
    "务必": "要",
    "必须": "要",
    "应当": "要",
    "一定要": "要",
    "我们": "我",
    "自己": "自身",
    "工作人员": "干部",
    "政绩观念": "政绩观",
}
_SYN_RE = re.compile("|".join(sorted(map(re.escape, SYNONYMS), key=lambda s: (-len(s), s))))


@dataclass(frozen=True)
class NormText:
    """A normalised string and, per char, its index in the original text.

    Attributes:
        text: The normalised characters.
        index: ``len(text)`` ints; ``text[i]`` stands for ``orig[index[i]]``.
        n_orig: Length of the original text.
    """

    text: str
    index: tuple[int, ...]
    n_orig: int

    def __len__(self) -> int:
        return len(self.text)

    def span(self, ns: int, ne: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering normalised ``[ns, ne)`` (``ne > ns``)."""
        if not 0 <= ns < ne <= len(self.text):
            raise ValueError(f"bad normalised range [{ns}, {ne}) of {len(self.text)}")
        return self.index[ns], self.index[ne - 1] + 1

    def norm_pos(self, pos: int) -> int:
        """First normalised index whose original index is ≥ ``pos``."""
        from bisect import bisect_left

        return bisect_left(self.index, pos)


def _t2s_text(text: str) -> str:
    from ..clean import _t2s_char

    return "".join(_t2s_char(c) if ord(c) > 0x3400 else c for c in text)


def normalize(text: str, *, t2s: bool = False) -> NormText:
    """Normalise ``text`` for matching.

    Args:
        text: Usually ``essay.text`` (already cleaned and Simplified).
        t2s: Also convert Traditional → Simplified char by char (offsets stay 1:1).

    Returns:
        The :class:`NormText`; its ``index`` maps back into ``text``.
    """
    src = _t2s_text(text) if t2s else text
    chars: list[str] = []
    index: list[int] = []
    for m in _KEEP.finditer(src):
        run, base = m.group(), m.start()
        last = 0
        for sm in _SYN_RE.finditer(run):
            _emit(run, base, last, sm.start(), chars, index)
            repl = SYNONYMS[sm.group()]
            if repl:
                s, e = base + sm.start(), base + sm.end()
                for i, c in enumerate(repl):
                    chars.append(c)
                    index.append(s if i == 0 else e - len(repl) + i)
            last = sm.end()
        _emit(run, base, last, len(run), chars, index)
    return NormText("".join(chars), tuple(index), len(text))


def _emit(run: str, base: int, a: int, b: int, chars: list, index: list) -> None:
    for i in range(a, b):
        c = run[i]
        if c in FILLER_CHARS:
            continue
        chars.append(c)
        index.append(base + i)


def normalize_phrase(text: str) -> str:
    """Normalised string of a list entry (quote, 套话) for exact lookup."""
    return normalize(text, t2s=True).text
