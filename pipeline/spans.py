"""Char-offset spans over an essay's text and their compact containers.

:class:`Span`/:class:`Token` are half-open ``[start, end)`` offsets into
:attr:`pipeline.essay.Essay.text`. :class:`SpanList` keeps many spans in one
array and :class:`CharMap` the cleaned → raw offset map as runs; both read back
as the plain lists they replace (``==``, index, slice). Re-exported by
:mod:`pipeline.essay`.
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Iterator



@dataclass(frozen=True, slots=True)
class Span:
    """A half-open ``[start, end)`` char range of :attr:`Essay.text`."""

    start: int
    end: int

    def __post_init__(self):
        if not (0 <= self.start <= self.end):
            raise ValueError(f"bad span [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Token(Span):
    """A word from the segmenter; ``text`` equals ``essay.text[start:end]``."""

    text: str = ""


_new = object.__new__
_set_start, _set_end = Span.start.__set__, Span.end.__set__
_set_text = Token.text.__set__


def make_span(start: int, end: int) -> Span:
    """``Span(start, end)`` for offsets known to be valid, without the checks of
    ``__init__`` (twice as fast: compact containers build spans on every access)."""
    s = _new(Span)
    _set_start(s, start)
    _set_end(s, end)
    return s


def make_token(start: int, end: int, text: str) -> Token:
    """``Token(start, end, text)`` for offsets known to be valid (see :func:`make_span`)."""
    t = _new(Token)
    _set_start(t, start)
    _set_end(t, end)
    _set_text(t, text)
    return t


def find_sorted(n: int, start_of, end_of, pos: int) -> int:
    """Index ``k < n`` of the span ``[start_of(k), end_of(k))`` containing ``pos``, for
    sorted, disjoint spans (binary search); -1 if none."""
    k = bisect_right(range(n), pos, key=start_of) - 1
    return k if k >= 0 and pos < end_of(k) else -1


def packed_ints(values) -> array:
    """``values`` (ints) in an ``array`` of the smallest type that holds them all:
    ``"H"`` (2 bytes) when they lie in ``[0, 65535]``, else ``"i"``."""
    try:
        return array("H", values)
    except OverflowError:
        return array("i", values)


class SpanList(Sequence):
    """Spans stored as one array of offsets ``[start0, end0, start1, end1, …]``.

    Behaves as a read-only ``list[Span]`` (``len``, iterate, index, slice — a
    slice is a plain list —, ``==`` with a list of spans). :class:`Span` objects
    are built on access and not kept: 29 sentences cost ~0.2 KB instead of
    ~7 KB of objects, and pickle as a few bytes. Modelled on
    :class:`~pipeline.segment.TokenList`.
    """

    __slots__ = ("_o",)

    def __init__(self, offsets: array | None = None):
        self._o = offsets if offsets is not None else array("H")

    @classmethod
    def of(cls, spans) -> "SpanList":
        """A :class:`SpanList` of ``spans`` (any iterable of objects with start/end)."""
        if isinstance(spans, SpanList):
            return spans
        flat = []
        for s in spans:
            flat.append(s.start)
            flat.append(s.end)
        return cls.from_offsets(flat)

    @classmethod
    def from_offsets(cls, flat) -> "SpanList":
        """From ``[start0, end0, start1, …]`` (each span valid, as :class:`Span` requires)."""
        return cls(packed_ints(flat)) if len(flat) else EMPTY_SPANS

    def offsets(self) -> array:
        """``array("i")`` of ``[start0, end0, start1, …]`` (a copy)."""
        return array("i", self._o)

    def to_dicts(self) -> list[dict]:
        """``[s.to_dict() for s in self]`` without building :class:`Span` objects."""
        o = self._o
        return [{"start": o[k], "end": o[k + 1]} for k in range(0, len(o), 2)]

    def within(self, n: int) -> bool:
        """Every span satisfies ``0 <= start <= end <= n``."""
        o = self._o
        return all(0 <= a <= b <= n for a, b in zip(o[0::2], o[1::2]))

    def find(self, pos: int) -> int:
        """Index of the span containing ``pos`` when the spans are sorted and
        disjoint (as sentences are); -1 if none."""
        o = self._o
        return find_sorted(len(o) // 2, lambda k: o[2 * k], lambda k: o[2 * k + 1], pos)

    def __len__(self) -> int:
        return len(self._o) // 2

    def __getitem__(self, i):
        o = self._o
        n = len(o) // 2
        if isinstance(i, slice):
            return [make_span(o[2 * k], o[2 * k + 1]) for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("span index out of range")
        return make_span(o[2 * i], o[2 * i + 1])

    def __iter__(self):
        o, new, set_start, set_end = self._o, _new, _set_start, _set_end
        for k in range(0, len(o), 2):  # make_span, inlined
            s = new(Span)
            set_start(s, o[k])
            set_end(s, o[k + 1])
            yield s

    def __eq__(self, other) -> bool:
        if isinstance(other, SpanList):
            return list(self._o) == list(other._o)
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # like a list

    def __repr__(self) -> str:
        return f"SpanList({list(self)!r})"

    def __reduce__(self):
        if not self._o:
            return (_empty_spans, ())
        return (_span_list, (self._o.typecode, self._o.tobytes()))


def _span_list(typecode: str, data: bytes) -> SpanList:
    o = array(typecode)
    o.frombytes(data)
    return SpanList(o)


def _empty_spans() -> SpanList:
    return EMPTY_SPANS


#: The one empty :class:`SpanList` (immutable, so shared: most themes have no evidence).
EMPTY_SPANS = SpanList()


def span_dicts(spans) -> list[dict]:
    """``[s.to_dict() for s in spans]``, fast for a :class:`SpanList`."""
    if isinstance(spans, SpanList):
        return spans.to_dicts()
    return [s.to_dict() for s in spans]


class CharMap(Sequence):
    """:attr:`Essay.char_map` stored as runs (~0.2 KB instead of 4 bytes a char).

    The map is piecewise ``raw = text + constant`` (cleaning deletes and
    replaces a few stretches), so only the *breakpoints* are kept: the text
    offsets ``at[k]`` where the map is not the previous value + 1, and the raw
    offsets ``to[k]`` there. ``char_map[i] == to[k] + (i - at[k])`` with ``k``
    the last breakpoint ``<= i`` (bisection). Behaves as a read-only
    ``list[int]`` of ``len(text) + 1`` entries (index, slice — a list —,
    iterate, ``==`` with a list or array).
    """

    __slots__ = ("_n", "_at", "_to")

    def __init__(self, n: int, at: array, to: array):
        self._n, self._at, self._to = n, at, to

    @classmethod
    def of(cls, values) -> "CharMap":
        """The :class:`CharMap` of ``values`` (a list or array of ints, or a CharMap)."""
        if isinstance(values, CharMap):
            return values
        import numpy as np

        a = values if isinstance(values, array) and values.typecode == "i" else array("i", values)
        if not a:
            return cls(0, array("H"), array("H"))
        v = np.frombuffer(a, dtype=np.intc)
        at = [0, *(np.flatnonzero(v[1:] - v[:-1] != 1) + 1).tolist()]
        return cls(len(a), packed_ints(at), packed_ints([a[i] for i in at]))

    @property
    def n_runs(self) -> int:
        """Number of runs (breakpoints)."""
        return len(self._at)

    def __len__(self) -> int:
        return self._n

    def _get(self, i: int) -> int:
        k = bisect_right(self._at, i) - 1
        return self._to[k] + (i - self._at[k])

    def __getitem__(self, i):
        n = self._n
        if isinstance(i, slice):
            return [self._get(k) for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("char_map index out of range")
        return self._get(i)

    def __iter__(self):
        at, to, n = self._at, self._to, self._n
        for k in range(len(at)):
            end = at[k + 1] if k + 1 < len(at) else n
            yield from range(to[k], to[k] + end - at[k])

    def tolist(self) -> list[int]:
        """The map as a plain list (``len(text) + 1`` ints)."""
        return list(self)

    def runs(self) -> Iterator[tuple[int, int, int]]:
        """``(start, end, raw_start)``: ``char_map[i] == raw_start + i - start`` for
        ``start <= i < end``; the runs cover ``[0, len(self))`` in order."""
        at, to, n = self._at, self._to, self._n
        for k in range(len(at)):
            yield at[k], (at[k + 1] if k + 1 < len(at) else n), to[k]

    def __eq__(self, other) -> bool:
        if isinstance(other, CharMap):
            return (self._n == other._n and list(self._at) == list(other._at)
                    and list(self._to) == list(other._to))
        if isinstance(other, (list, tuple, array)):
            return len(other) == self._n and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # like a list

    def __repr__(self) -> str:
        return f"CharMap({self._n} entries, {len(self._at)} runs)"

    def __reduce__(self):
        return (_char_map, (self._n, self._at.typecode, self._at.tobytes(),
                            self._to.typecode, self._to.tobytes()))


def _char_map(n: int, at_type: str, at: bytes, to_type: str, to: bytes) -> CharMap:
    a, b = array(at_type), array(to_type)
    a.frombytes(at)
    b.frombytes(to)
    return CharMap(n, a, b)


