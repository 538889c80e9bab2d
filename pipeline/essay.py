"""The one object every stage annotates: :class:`Essay`, with char-offset spans.

All offsets (``start``/``end``, half-open, in Python ``str`` indices, i.e. code
points) refer to :attr:`Essay.text`, the cleaned body a reviewer sees. The
cleaning stage keeps :attr:`Essay.char_map` so any offset can be traced back to
the raw body (and, through :attr:`Essay.source_offset`, to the decoded file).

``Essay.to_dict()`` produces one entry of ``results.json`` (schema
``xinde.results/1``); field names there are a contract other tools read.
"""
from __future__ import annotations

import math
import re
import sys
from array import array
from bisect import bisect_right
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Iterator

from .errors import AlignmentError

_SPACE = re.compile(r"\s+")  # \s is exactly str.isspace()


def nonspace_len(text: str) -> int:
    """Number of characters of ``text`` that are not whitespace (``str.isspace``)."""
    return len(text) - sum(map(len, _SPACE.findall(text)))

SCHEMA = "xinde.results/1"

MATCH_KINDS = ("submission", "template", "boilerplate", "quote")


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


@dataclass
class Match:
    """A passage of this essay that also occurs elsewhere.

    Attributes:
        start, end: The passage in this essay's text.
        kind: One of :data:`MATCH_KINDS`.
        source_id: Essay id (``submission``), template id (``template``),
            boilerplate phrase id (``boilerplate``) or quote id (``quote``).
        source_start, source_end: The passage in the source's text
            (``None`` when the source is a list entry, not a document).
        similarity: 0–1, how close the two passages are after normalisation.
    """

    start: int
    end: int
    kind: str
    source_id: str
    source_start: int | None = None
    source_end: int | None = None
    similarity: float = 1.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in MATCH_KINDS:
            raise ValueError(f"unknown match kind {self.kind!r}; expected one of {MATCH_KINDS}")

    def to_dict(self) -> dict:
        d = {"start": self.start, "end": self.end, "kind": self.kind,
             "source_id": self.source_id, "source_start": self.source_start,
             "source_end": self.source_end, "similarity": round(float(self.similarity), 4)}
        d.update(self.extra)
        return d


#: The keys the theme detector writes to every :attr:`ThemeResult.extra`, in its order:
#: kept in slots of the result, not in a dict of their own.
THEME_EXTRA_KEYS = ("label", "n_sentences", "cues")
_ABSENT = object()  # a slot key not in ``extra``
_NO_CUES = object()  # ``extra["cues"] == []``, the list not built yet (most themes)
_ZERO = 0.0  # one shared float for the many zero scores of unpickled results


class ThemeResult:
    """Coverage of one profile theme in one essay.

    Args:
        score: 0–1 coverage.
        evidence: Sentence spans; a list of plain :class:`Span` is kept as a
            :class:`SpanList` (read-only; equal to the list).
        extra: Fields written next to score and evidence in ``results.json``.

    ``extra`` is a live mapping (:class:`ThemeExtra`) that reads and writes the
    result itself: the detector's three keys (:data:`THEME_EXTRA_KEYS`) are kept in
    slots — a result costs ~80 bytes instead of ~320 with a dict and a list of its
    own, and an essay has one per profile theme, most of them empty. It behaves as
    the dict it replaces (same keys in the same order, ``==`` with a dict, ``get``,
    ``update``, item assignment; ``extra["cues"]`` is a list that may be appended to).
    """

    __slots__ = ("score", "evidence", "_label", "_n", "_cues", "_more")

    def __init__(self, score: float, evidence: list[Span] | None = None,
                 extra: dict | None = None):
        self.score = score
        ev = [] if evidence is None else evidence
        if type(ev) is list:
            if not ev:
                ev = EMPTY_SPANS
            elif all(type(s) is Span for s in ev):
                ev = SpanList.of(ev)
        self.evidence = ev
        self._label = self._n = self._cues = _ABSENT
        self._more = None
        if extra:
            self._set_extra(extra)

    def _set_extra(self, extra) -> None:
        keys = list(extra)
        k = 0  # the detector's keys go to slots while they come in its order
        while k < min(len(keys), 3) and keys[k] == THEME_EXTRA_KEYS[k]:
            k += 1
        if k >= 1:
            self._label = extra["label"]
        if k >= 2:
            self._n = extra["n_sentences"]
        if k >= 3:
            cues = extra["cues"]
            self._cues = _NO_CUES if type(cues) is list and not cues else cues
        if k < len(keys):
            self._more = {x: extra[x] for x in keys[k:]}

    @property
    def extra(self) -> "ThemeExtra":
        """The result's extra fields (a live :class:`ThemeExtra` mapping)."""
        return ThemeExtra(self)

    @extra.setter
    def extra(self, value) -> None:
        self._label = self._n = self._cues = _ABSENT
        self._more = None
        self._set_extra(value)

    def _items(self) -> list[tuple[str, Any]]:
        out = []
        if self._label is not _ABSENT:
            out.append(("label", self._label))
        if self._n is not _ABSENT:
            out.append(("n_sentences", self._n))
        if self._cues is not _ABSENT:
            out.append(("cues", [] if self._cues is _NO_CUES else self._cues))
        if self._more:
            out.extend(self._more.items())
        return out

    def to_dict(self) -> dict:
        d = {"score": round(float(self.score), 4), "evidence": span_dicts(self.evidence)}
        d.update(self._items())
        return d

    def __eq__(self, other) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return ((self.score, self.evidence, dict(self._items()))
                == (other.score, other.evidence, dict(other._items())))

    __hash__ = None  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (f"ThemeResult(score={self.score!r}, evidence={self.evidence!r}, "
                f"extra={dict(self._items())!r})")

    def __reduce__(self):
        label, n, cues = self._label, self._n, self._cues
        has = ((label is not _ABSENT) | (n is not _ABSENT) << 1 | (cues is not _ABSENT) << 2
               | (cues is _NO_CUES) << 3)  # which slots hold a value (sentinels do not pickle)
        return (_theme_result, (self.score, self.evidence, label if has & 1 else None,
                                n if has & 2 else None, cues if has & 4 and not has & 8 else None,
                                self._more, has))


def _theme_result(score, evidence, label, n, cues, more, has: int) -> ThemeResult:
    r = ThemeResult.__new__(ThemeResult)
    zero = type(score) is float and score == 0.0 and math.copysign(1.0, score) > 0
    r.score = _ZERO if zero else score
    r.evidence = evidence
    # labels repeat in every essay: one string each (pickles share them only per chunk)
    r._label = (sys.intern(label) if type(label) is str else label) if has & 1 else _ABSENT
    r._n = n if has & 2 else _ABSENT
    r._cues = _ABSENT if not has & 4 else _NO_CUES if has & 8 else cues
    r._more = more
    return r


class ThemeExtra(MutableMapping):
    """:attr:`ThemeResult.extra`: a dict-like view of the result's extra fields
    (reads and writes go to the result)."""

    __slots__ = ("_r",)

    def __init__(self, result: ThemeResult):
        self._r = result

    def __getitem__(self, key):
        r = self._r
        if key == "label" and r._label is not _ABSENT:
            return r._label
        if key == "n_sentences" and r._n is not _ABSENT:
            return r._n
        if key == "cues" and r._cues is not _ABSENT:
            if r._cues is _NO_CUES:  # built on access, kept: it may be appended to
                r._cues = []
            return r._cues
        if r._more is not None and key in r._more:
            return r._more[key]
        raise KeyError(key)

    def __setitem__(self, key, value) -> None:
        r = self._r
        if key == "label" and r._label is not _ABSENT:
            r._label = value
        elif key == "n_sentences" and r._n is not _ABSENT:
            r._n = value
        elif key == "cues" and r._cues is not _ABSENT:
            r._cues = value
        else:  # a new key goes last, as in a dict
            if r._more is None:
                r._more = {}
            r._more[key] = value

    def __delitem__(self, key) -> None:
        r = self._r
        if key == "label" and r._label is not _ABSENT:
            r._label = _ABSENT
        elif key == "n_sentences" and r._n is not _ABSENT:
            r._n = _ABSENT
        elif key == "cues" and r._cues is not _ABSENT:
            r._cues = _ABSENT
        elif r._more is not None and key in r._more:
            del r._more[key]
        else:
            raise KeyError(key)

    def __iter__(self):
        return iter([k for k, _ in self._r._items()])

    def __len__(self) -> int:
        r = self._r
        return ((r._label is not _ABSENT) + (r._n is not _ABSENT) + (r._cues is not _ABSENT)
                + (len(r._more) if r._more else 0))

    def __contains__(self, key) -> bool:
        r = self._r
        if key == "label":
            if r._label is not _ABSENT:
                return True
        elif key == "n_sentences":
            if r._n is not _ABSENT:
                return True
        elif key == "cues" and r._cues is not _ABSENT:
            return True
        return r._more is not None and key in r._more

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def copy(self) -> dict:
        """A plain dict of the fields (as ``dict.copy``)."""
        return dict(self._r._items())

    def __repr__(self) -> str:
        return repr(dict(self._r._items()))


#: Topic weights are rounded to 4 places: most are stored as ``round(w × 10⁴)``.
_WEIGHT_SCALE = 10000


class TopicMix(Sequence):
    """An essay's topic mix: ``[{"topic": int, "weight": float}, …]`` in one packed array.

    Behaves as the read-only list of dicts it replaces (``len``, iterate, index — each
    entry a fresh dict —, a slice is a plain list, ``==`` with a list): ~0.15 KB an
    essay instead of ~1.9 KB of dicts. Stored as ``[topic0, w0, topic1, w1, …]``: an
    ``array("H")`` with ``w = round(weight × 10⁴)`` when that gives back every weight
    exactly (``w / 10⁴ == weight``, true of any weight rounded to 4 places), else an
    ``array("d")``. :meth:`of` makes one from the list.
    """

    __slots__ = ("_o",)

    def __init__(self, pairs: array):
        self._o = pairs

    @classmethod
    def of(cls, mix) -> "TopicMix | list":
        """The compact form of ``mix`` when every entry is exactly ``{"topic": int,
        "weight": float}`` (in that order, topic ≥ 0); else ``mix`` itself (also when
        empty: the empty list is the field's default)."""
        if isinstance(mix, TopicMix) or not mix or type(mix) is not list:
            return mix
        flat, scaled = [], []
        for d in mix:
            if type(d) is not dict or tuple(d) != ("topic", "weight"):
                return mix
            t, w = d["topic"], d["weight"]
            if type(t) is not int or type(w) is not float or t < 0:
                return mix
            flat += (t, w)
            if scaled is not None and 0.0 <= w < 6.5 and math.copysign(1.0, w) > 0:
                k = round(w * _WEIGHT_SCALE)
                scaled = scaled + [t, k] if k / _WEIGHT_SCALE == w else None
            else:
                scaled = None
        if scaled is not None and all(0 <= x <= 65535 for x in scaled):
            return cls(array("H", scaled))
        if all(t < 2 ** 53 for t in flat[0::2]):
            return cls(array("d", flat))
        return mix

    def to_list(self) -> list[dict]:
        """The plain list of dicts."""
        o = self._o
        if o.typecode == "d":
            return [{"topic": int(t), "weight": w} for t, w in zip(o[0::2], o[1::2])]
        return [{"topic": t, "weight": k / _WEIGHT_SCALE} for t, k in zip(o[0::2], o[1::2])]

    def __len__(self) -> int:
        return len(self._o) // 2

    def __getitem__(self, i):
        return self.to_list()[i]  # a fresh dict; a plain list for a slice

    def __iter__(self):
        return iter(self.to_list())

    def __eq__(self, other) -> bool:
        if isinstance(other, (TopicMix, list, tuple)):
            return self.to_list() == list(other)
        return NotImplemented

    __hash__ = None  # like a list

    def __repr__(self) -> str:
        return f"TopicMix({self.to_list()!r})"

    def __reduce__(self):
        return (_topic_mix, (self._o.typecode, self._o.tobytes()))


def _topic_mix(typecode: str, data: bytes) -> TopicMix:
    o = array(typecode)
    o.frombytes(data)
    return TopicMix(o)


def topic_dicts(topics) -> list:
    """``essay.topics`` as a plain list of dicts (results.json)."""
    return topics.to_list() if isinstance(topics, TopicMix) else topics


#: The fields of a sub-score as the engagement scorer writes them, in its order.
SUBSCORE_FIELDS = ("label", "score", "weight", "points", "evidence", "detail")
_SHARED: dict[tuple, tuple] = {}  # one tuple per distinct run of sub-score names/labels
_SHARED_MAX = 256  # names and labels come from the config: a handful; never grow unbounded


def _shared(strings) -> tuple[str, ...]:
    """``strings`` as a tuple of interned strings, the same tuple for equal ones (names
    and labels repeat in every essay)."""
    t = tuple(strings)
    s = _SHARED.get(t)
    if s is None:
        s = _interned(t)
        if len(_SHARED) < _SHARED_MAX:
            _SHARED[s] = s
    return s


def _interned(strings) -> tuple[str, ...]:
    """``strings`` (``str``) as a tuple of interned strings (details and reasons repeat)."""
    return tuple(map(sys.intern, strings))


class SubScores(Mapping):
    """The engagement sub-scores of one essay, stored compactly.

    A read-only mapping ``name → {"label", "score", "weight", "points", "evidence",
    "detail"}`` (the scorer's dicts, in its key order; ``evidence`` a list of
    ``{"start", "end"}``): each value is a fresh plain dict built on access and equal
    to the one the scorer wrote. Stored as a shared tuple of names and of labels,
    one ``array("d")`` of the three numbers per sub-score, a tuple of interned
    details and one packed array of evidence offsets — ~0.6 KB an essay instead of
    ~8 KB of dicts. Made by :meth:`of` (``None`` for any other shape).
    """

    __slots__ = ("_names", "_labels", "_nums", "_details", "_ev")

    def __init__(self, names: tuple, labels: tuple, nums: array, details: tuple, ev: array):
        self._names, self._labels, self._nums = _shared(names), _shared(labels), nums
        self._details, self._ev = details, ev

    @classmethod
    def of(cls, subscores: dict) -> "SubScores | None":
        """The compact form of ``subscores`` if every value has exactly the scorer's
        fields (:data:`SUBSCORE_FIELDS`, in order) with a ``str`` label and detail,
        ``float`` numbers and ``{"start", "end"}`` evidence of non-negative ints;
        else ``None`` (keep the dict)."""
        names, labels, nums, details, bounds, flat = [], [], [], [], [], []
        for name, v in subscores.items():
            if (type(v) is not dict or tuple(v) != SUBSCORE_FIELDS or type(name) is not str
                    or type(v["label"]) is not str or type(v["detail"]) is not str):
                return None
            x = (v["score"], v["weight"], v["points"])
            if not all(type(f) is float for f in x):
                return None
            ev = v["evidence"]
            if type(ev) is not list:
                return None
            bounds.append(len(flat))
            for s in ev:
                if type(s) is not dict or tuple(s) != ("start", "end"):
                    return None
                a, b = s["start"], s["end"]
                if type(a) is not int or type(b) is not int or a < 0 or b < 0:
                    return None
                flat.append(a)
                flat.append(b)
            names.append(name)
            labels.append(v["label"])
            nums.extend(x)
            details.append(v["detail"])
        try:
            return cls.from_parts(names, labels, nums, details,
                                  [flat[a:b] for a, b in zip(bounds, bounds[1:] + [len(flat)])])
        except OverflowError:
            return None

    @classmethod
    def from_parts(cls, names, labels, nums, details, evidence) -> "SubScores":
        """From the columns: per sub-score its name, label, ``score, weight, points``
        (``nums``, three floats each, flat), detail and evidence as flat
        ``[start0, end0, …]`` offsets (non-negative ints).

        Raises:
            OverflowError: An offset does not fit an ``array("i")``.
        """
        head, flat = [], []
        n = len(evidence) + 1
        for ev in evidence:
            head.append(n + len(flat))
            flat += ev
        head.append(n + len(flat))
        return cls(names, labels, array("d", nums), _interned(details), packed_ints(head + flat))

    def _get(self, k: int) -> dict:
        nums, ev = self._nums, self._ev
        return {"label": self._labels[k], "score": nums[3 * k], "weight": nums[3 * k + 1],
                "points": nums[3 * k + 2],
                "evidence": [{"start": ev[j], "end": ev[j + 1]}
                             for j in range(ev[k], ev[k + 1], 2)],
                "detail": self._details[k]}

    def __getitem__(self, name) -> dict:
        try:
            k = self._names.index(name)
        except ValueError:
            raise KeyError(name) from None
        return self._get(k)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name) -> bool:
        return name in self._names

    def values(self):
        return [self._get(k) for k in range(len(self._names))]

    def items(self):
        return list(zip(self._names, self.values()))

    def to_dict(self) -> dict:
        """A plain dict of plain dicts (what the scorer wrote)."""
        return dict(self.items())

    def __eq__(self, other) -> bool:
        if isinstance(other, SubScores):
            return (self._names == other._names and self._labels == other._labels
                    and self._nums == other._nums and self._details == other._details
                    and list(self._ev) == list(other._ev))
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other.items())
        return NotImplemented

    __hash__ = None  # like the dict it replaces

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def __reduce__(self):
        return (_subscores, (self._names, self._labels, self._nums.tobytes(), self._details,
                             self._ev.typecode, self._ev.tobytes()))


def _subscores(names, labels, nums: bytes, details, typecode: str, ev: bytes) -> SubScores:
    n, e = array("d"), array(typecode)
    n.frombytes(nums)
    e.frombytes(ev)
    return SubScores(names, labels, n, _interned(details), e)


class Engagement:
    """The 0–100 engagement score, its sub-scores and plain-Chinese reasons.

    Args:
        score: The total.
        subscores: Name → sub-score dict. The scorer's form (see :class:`SubScores`)
            is kept compactly and read back as an equal read-only mapping; any other
            dict is kept as given.
        reasons: The reasons, kept as a tuple of interned strings (they repeat across
            essays); :attr:`reasons` reads them as a fresh list.
    """

    __slots__ = ("score", "_subs", "_reasons")

    def __init__(self, score: float, subscores: dict[str, Any] | None = None,
                 reasons: list[str] | None = None):
        self.score = score
        self.subscores = {} if subscores is None else subscores
        self.reasons = [] if reasons is None else reasons

    @property
    def subscores(self) -> "Mapping[str, Any]":
        """Name → sub-score dict (a :class:`SubScores` view, or the dict given)."""
        return self._subs

    @subscores.setter
    def subscores(self, value) -> None:
        compact = SubScores.of(value) if type(value) is dict and value else None
        self._subs = compact if compact is not None else value

    @property
    def reasons(self) -> list[str]:
        """The reasons (a fresh list)."""
        return list(self._reasons)

    @reasons.setter
    def reasons(self, value) -> None:
        value = list(value)
        self._reasons = (_interned(value) if all(type(r) is str for r in value)
                         else tuple(value))

    def to_dict(self) -> dict:
        subs = self._subs
        return {"score": round(float(self.score), 1),
                "subscores": subs.to_dict() if isinstance(subs, SubScores) else subs,
                "reasons": list(self._reasons)}

    def __eq__(self, other) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.score, self._subs, self._reasons) == (other.score, other._subs,
                                                           other._reasons)

    __hash__ = None  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (f"Engagement(score={self.score!r}, subscores={self._subs!r}, "
                f"reasons={list(self._reasons)!r})")

    def __reduce__(self):
        return (_engagement, (self.score, self._subs, self._reasons))


def _engagement(score, subs, reasons: tuple) -> Engagement:
    e = Engagement.__new__(Engagement)
    e.score, e._subs = score, subs
    e._reasons = (_interned(reasons) if all(type(r) is str for r in reasons)
                  else tuple(reasons))
    return e


@dataclass
class Essay:
    """One submission, annotated in place by the pipeline's stages.

    Attributes:
        id: Stable id, unique within a run (``E0001`` …), safe as a file name.
        source: Input path relative to the input root; ``#N`` marks the N-th
            essay of a compiled file, ``#rowN`` a spreadsheet row.
        title: The essay's title ('' when none was found); never part of ``text``.
        raw: The body as it came out of ingest/split, before cleaning.
        text: The cleaned body; all offsets refer to it.
        char_map: ``len(text) + 1`` ints, ``text[i]`` came from ``raw[char_map[i]]``
            (the last entry is the raw offset just past the cleaned text, ``len(raw)``
            unless trailing noise was dropped). ``None`` until cleaned. The compact
            segmenter stores it as a :class:`CharMap` (same values, as runs).
        source_offset: Where ``raw`` starts in the decoded input file.
        meta: Author, unit, row number and other submission metadata.
        sentences: Sentence spans over ``text`` (a :class:`SpanList` from the
            compact segmenter).
        tokens: Word tokens over ``text`` (a :class:`~pipeline.segment.TokenList`
            from the compact segmenter).
        topics: The essay's topic mix, ``[{"topic", "weight"}, …]`` by weight (the
            topic stage stores it as a :class:`TopicMix`, equal to that list).
        engagement: Score, sub-scores and reasons (sub-scores kept as :class:`SubScores`).
        features: Per-essay intermediates that a later cohort stage consumes, by stage
            (e.g. ``"engagement"``: :class:`~pipeline.engagement.features.TextFeatures`).
            Computed in the parallel, cached per-essay block; never written to
            ``results.json``.
    """

    id: str
    source: str
    raw: str
    title: str = ""
    text: str = ""
    char_map: list[int] | CharMap | None = None
    source_offset: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    sentences: list[Span] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    themes: dict[str, ThemeResult] = field(default_factory=dict)
    topics: list[dict] | TopicMix = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    copied_ratio: float = 0.0
    engagement: Engagement | None = None
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- access helpers -------------------------------------------------
    def span_text(self, span: Span) -> str:
        return self.text[span.start:span.end]

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start:s.end] for s in self.sentences]

    def words(self) -> list[str]:
        return [t.text for t in self.tokens]

    def sentence_index(self, pos: int) -> int:
        """Index of the sentence containing char ``pos`` (binary search); -1 if none."""
        sents = self.sentences
        if isinstance(sents, SpanList):
            return sents.find(pos)
        return find_sorted(len(sents), lambda k: sents[k].start, lambda k: sents[k].end, pos)

    def tokens_in(self, span: Span) -> Iterator[Token]:
        for t in self.tokens:
            if t.start >= span.end:
                break
            if t.end > span.start:
                yield t

    def raw_offset(self, pos: int) -> int:
        """Map an offset in ``text`` back to ``raw`` (identity before cleaning)."""
        if self.char_map is None:
            return pos
        return self.char_map[pos]

    def check_offsets(self) -> None:
        """Raise :class:`AlignmentError` if any span lies outside ``text`` or a token's
        string is not the text it covers (X202, X201).

        Compact lists (:class:`SpanList`, :class:`~pipeline.segment.TokenList`)
        answer both questions without building a ``Span`` per entry.
        """
        n = len(self.text)
        groups: list[tuple[str, Any]] = [("sentence", self.sentences), ("token", self.tokens),
                                         ("match", self.matches)]
        for tid, res in self.themes.items():
            groups.append((f"theme {tid}", res.evidence))
        for what, spans in groups:
            within = getattr(spans, "within", None)  # compact lists check their offsets fast
            if within is not None and within(n):
                continue
            for s in spans:
                if not (0 <= s.start <= s.end <= n):
                    raise AlignmentError("X202", what=what, start=s.start, end=s.end, n=n)
        over = getattr(self.tokens, "over", None)  # a TokenList cut from this very text
        if over is not None and over(self.text):
            return
        for t in self.tokens:
            if self.text[t.start:t.end] != t.text:
                raise AlignmentError("X201", pos=t.start, essay_id=self.id,
                                     expected=self.text[t.start:t.end], got=t.text)

    # -- serialisation --------------------------------------------------
    def to_dict(self) -> dict:
        """The essay's entry in ``results.json``."""
        d = {
            "id": self.id,
            "source": self.source,
            "title": self.title,
            "text": self.text,
            "n_chars": len(self.text),
            "meta": self.meta,
            "sentences": span_dicts(self.sentences),
            "themes": {k: v.to_dict() for k, v in sorted(self.themes.items())},
            "topics": topic_dicts(self.topics),
            "matches": [m.to_dict() for m in sorted(
                self.matches, key=lambda m: (m.start, m.end, m.kind, m.source_id))],
            "copied_ratio": round(float(self.copied_ratio), 4),
            "engagement": self.engagement.to_dict() if self.engagement else None,
            "source_offset": self.source_offset,
            "warnings": list(self.warnings),
        }
        for k, v in sorted(self.extra.items()):
            d.setdefault(k, v)
        return d

    # -- raw, kept as pieces of text once the essay came back from a worker ------
    def __getattr__(self, name: str):
        # only reached when ``name`` is not in the instance dict: ``raw`` of an unpickled
        # essay is rebuilt from its pieces on each access (~2 µs), never kept
        if name == "raw":
            pieces = self.__dict__.get("_raw_pieces")
            if pieces is not None:
                return pieces.join(self.__dict__["text"])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in ("raw", "text"):
            d = self.__dict__
            pieces = d.pop("_raw_pieces", None)
            if pieces is not None and name == "text":  # the pieces refer to the old text
                d["raw"] = pieces.join(d["text"])
        object.__setattr__(self, name, value)

    # -- pickling (block results come back from worker processes) ------
    def __getstate__(self) -> dict:
        """The fields that differ from their empty default (an essay after the
        first block has six empty ones: no need to send them). Once cleaned with a
        :class:`CharMap`, ``raw`` travels as pieces of ``text`` and the few raw
        stretches that cleaning changed (:class:`RawPieces`): ~0.2 KB, not ~3; the
        unpickled essay keeps it so and rebuilds ``raw`` on access."""
        state = {k: v for k, v in self.__dict__.items()
                 if not (k in _EMPTY_DEFAULTS and type(v) is type(_EMPTY_DEFAULTS[k])
                         and v == _EMPTY_DEFAULTS[k])}
        if isinstance(self.char_map, CharMap) and "raw" in state:
            pieces = raw_pieces(self.text, self.raw, self.char_map)
            if pieces is not None:
                del state["raw"]
                state["_raw_pieces"] = RawPieces.pack(pieces)
        return state

    def __setstate__(self, state: dict) -> None:
        d = self.__dict__
        for f in _DEFAULTED_FIELDS:
            if f.name not in state:
                d[f.name] = (f.default_factory() if f.default_factory is not MISSING
                             else f.default)
        pieces = state.get("_raw_pieces")
        if pieces is not None and not isinstance(pieces, RawPieces):  # a list: format of 0.x
            state = {**state, "_raw_pieces": RawPieces.pack(pieces)}
        d.update(state)


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


#: Essay fields with a default, and the defaults that an essay's pickle leaves out.
_DEFAULTED_FIELDS = tuple(f for f in fields(Essay)
                          if f.default is not MISSING or f.default_factory is not MISSING)
_EMPTY_DEFAULTS = {f.name: (f.default_factory() if f.default_factory is not MISSING else f.default)
                   for f in _DEFAULTED_FIELDS}


@dataclass
class Skipped:
    """An input file (or part of one) that produced no essay, and why."""

    source: str
    reason: str
    code: str = ""

    def to_dict(self) -> dict:
        return {"source": self.source, "reason": self.reason, "code": self.code}
