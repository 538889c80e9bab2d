"""What the stages store on an essay: matches, theme results, topic mixes, engagement.

Every essay stays in memory for the whole run, so the per-essay results are
compact (:class:`ThemeResult` in slots with a live :class:`ThemeExtra` view,
:class:`TopicMix`, :class:`SubScores`); each reads back equal to the plain
dicts/lists it replaces and ``to_dict()`` writes exactly those. Re-exported by
:mod:`pipeline.essay`.
"""
from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any


from .spans import EMPTY_SPANS, Span, SpanList, packed_ints, span_dicts

MATCH_KINDS = ("submission", "template", "boilerplate", "quote")


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


