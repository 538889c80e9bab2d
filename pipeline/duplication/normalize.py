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

import numpy as np

#: Kept characters: CJK unified ideographs (+ ext. A, compatibility) and digits.
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


_FILLER_CP = np.array(sorted(ord(c) for c in FILLER_CHARS), dtype=np.uint32)


@dataclass(frozen=True, eq=False)
class NormText:
    """A normalised string and, per char, its index in the original text.

    Attributes:
        text: The normalised characters.
        index: ``len(text)`` ints (numpy int32); ``text[i]`` stands for
            ``orig[index[i]]`` (a folded synonym maps its first char to the
            variant's first char and the rest to the variant's last chars).
        n_orig: Length of the original text.
    """

    text: str
    index: np.ndarray
    n_orig: int

    def __len__(self) -> int:
        return len(self.text)

    def __reduce__(self):  # pickles as a plain tuple (engine results): ~2× faster to load
        return NormText, (self.text, self.index, self.n_orig)

    def span(self, ns: int, ne: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering normalised ``[ns, ne)`` (``ne > ns``)."""
        if not 0 <= ns < ne <= len(self.text):
            raise ValueError(f"bad normalised range [{ns}, {ne}) of {len(self.text)}")
        return int(self.index[ns]), int(self.index[ne - 1]) + 1

    def norm_pos(self, pos: int) -> int:
        """First normalised index whose original index is ≥ ``pos``."""
        return int(np.searchsorted(self.index, pos, "left"))


def _t2s_text(text: str) -> str:
    from ..clean import _t2s_char

    return "".join(_t2s_char(c) if ord(c) > 0x3400 else c for c in text)


def normalize(text: str, *, t2s: bool = False) -> NormText:
    """Normalise ``text`` for matching (vectorised; ~linear in ``len(text)``).

    Kept chars are selected with numpy; synonyms are then folded on the kept
    string, so a variant split by punctuation or noise still folds.

    Args:
        text: Usually ``essay.text`` (already cleaned and Simplified).
        t2s: Also convert Traditional → Simplified char by char (offsets stay 1:1).

    Returns:
        The :class:`NormText`; its ``index`` maps back into ``text``.
    """
    src = _t2s_text(text) if t2s else text
    cp = np.frombuffer(src.encode("utf-32-le"), dtype=np.uint32)
    keep = (((cp >= 0x4E00) & (cp <= 0x9FFF)) | ((cp >= 0x3400) & (cp <= 0x4DBF))
            | ((cp >= 0xF900) & (cp <= 0xFAFF)) | ((cp >= 48) & (cp <= 57)))
    keep &= ~np.isin(cp, _FILLER_CP)
    idx = np.flatnonzero(keep).astype(np.int32)
    kept = cp[idx].tobytes().decode("utf-32-le")
    matches = list(_SYN_RE.finditer(kept))
    if not matches:
        return NormText(kept, idx, len(text))
    chars: list[str] = []
    parts: list[np.ndarray] = []
    last = 0
    for m in matches:
        a, b = m.span()
        chars.append(kept[last:a])
        parts.append(idx[last:a])
        repl = SYNONYMS[m.group()]
        if repl:
            pos = [int(idx[a])] + [int(idx[b - len(repl) + i]) for i in range(1, len(repl))]
            chars.append(repl)
            parts.append(np.array(pos, dtype=np.int32))
        last = b
    chars.append(kept[last:])
    parts.append(idx[last:])
    return NormText("".join(chars), np.concatenate(parts), len(text))


def normalize_phrase(text: str) -> str:
    """Normalised string of a list entry (quote, 套话) for exact lookup."""
    return normalize(text, t2s=True).text
