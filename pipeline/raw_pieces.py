"""An essay's raw body kept as pieces of its cleaned text (:class:`RawPieces`).

Cleaning changes few characters, so ``raw`` travels from the workers (and is
held) as references into ``text`` plus the stretches that differ, rebuilt
exactly on access. Re-exported by :mod:`pipeline.essay`.
"""
from __future__ import annotations

from array import array


from .spans import CharMap, packed_ints


#: A run of text shorter than this travels as raw chars: a reference costs as much.
MIN_PIECE = 8


def raw_pieces(text: str, raw: str, char_map: CharMap) -> list | None:
    """``raw`` as a list of pieces: a ``str`` is raw text as it is, two ints ``a, b``
    stand for ``text[a:b]`` — the stretches of the runs of ``char_map`` whose
    characters cleaning left unchanged (a run with a few replaced characters,
    ``,`` → ``，``, is cut around them). ``None`` when that does not rebuild
    ``raw`` exactly (checked)."""
    out: list = []
    pos, n = 0, len(text)

    def keep(a: int, b: int, c: int) -> None:
        nonlocal pos
        if c > pos:
            out.append(raw[pos:c])
        out.append(a)
        out.append(b)
        pos = c + b - a

    for a, b, c in char_map.runs():
        b = min(b, n)
        if b - a < MIN_PIECE or c < pos:
            continue
        piece = text[a:b]
        if raw.startswith(piece, c):
            keep(a, b, c)
            continue
        diff = _mismatches(piece, raw[c:c + b - a])
        if diff is None or len(diff) * MIN_PIECE > b - a:  # mostly changed (T→S): raw as is
            continue
        start = 0
        for x in (*diff, b - a):
            if x - start >= MIN_PIECE:
                keep(a + start, a + x, c + start)
            start = x + 1
    if pos < len(raw):
        out.append(raw[pos:])
    return out if join_raw_pieces(text, out) == raw else None


def _mismatches(s: str, t: str) -> list[int] | None:
    """Positions where the equally long ``s`` and ``t`` differ (``None``: lengths differ)."""
    if len(s) != len(t):
        return None
    import numpy as np

    a = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    b = np.frombuffer(t.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    return np.flatnonzero(a != b).tolist()


def join_raw_pieces(text: str, pieces: list) -> str:
    """The ``raw`` that :func:`raw_pieces` cut into ``pieces``."""
    out, i, n = [], 0, len(pieces)
    while i < n:
        p = pieces[i]
        if type(p) is str:
            out.append(p)
            i += 1
        else:
            out.append(text[p:pieces[i + 1]])
            i += 2
    return "".join(out)


class RawPieces:
    """:func:`raw_pieces` packed: the literal pieces joined in one ``str`` and, per
    piece of text, ``(literal chars before it, start, end)`` in one int array —
    ~0.2 KB for an essay's raw body instead of ~3 KB (or ~1 KB as a list of pieces).

    Attributes:
        lits: The literal pieces, concatenated.
        ops: ``[n0, a0, b0, n1, a1, b1, …]``: ``n_k`` more chars of ``lits``, then
            ``text[a_k:b_k]``; the rest of ``lits`` ends the raw body.
    """

    __slots__ = ("lits", "ops")

    def __init__(self, lits: str, ops: array):
        self.lits, self.ops = lits, ops

    @classmethod
    def pack(cls, pieces: list) -> "RawPieces":
        """From the list that :func:`raw_pieces` returns."""
        lits: list[str] = []
        ops: list[int] = []
        pending, i, n = 0, 0, len(pieces)
        while i < n:
            p = pieces[i]
            if type(p) is str:
                lits.append(p)
                pending += len(p)
                i += 1
            else:
                ops += (pending, p, pieces[i + 1])
                pending = 0
                i += 2
        return cls("".join(lits), packed_ints(ops))

    def join(self, text: str) -> str:
        """The raw body (``text`` is the essay's cleaned text)."""
        lits, o = self.lits, self.ops
        out, pos = [], 0
        for k in range(0, len(o), 3):
            m = pos + o[k]
            out.append(lits[pos:m])
            out.append(text[o[k + 1]:o[k + 2]])
            pos = m
        out.append(lits[pos:])
        return "".join(out)

    def __eq__(self, other) -> bool:
        if not isinstance(other, RawPieces):
            return NotImplemented
        return self.lits == other.lits and list(self.ops) == list(other.ops)

    __hash__ = None

    def __reduce__(self):
        return (_raw_pieces_of, (self.lits, self.ops.typecode, self.ops.tobytes()))


def _raw_pieces_of(lits: str, typecode: str, data: bytes) -> RawPieces:
    o = array(typecode)
    o.frombytes(data)
    return RawPieces(lits, o)


