"""The one object every stage annotates: :class:`Essay`, with char-offset spans.

All offsets (``start``/``end``, half-open, in Python ``str`` indices, i.e. code
points) refer to :attr:`Essay.text`, the cleaned body a reviewer sees. The
cleaning stage keeps :attr:`Essay.char_map` so any offset can be traced back to
the raw body (and, through :attr:`Essay.source_offset`, to the decoded file).

``Essay.to_dict()`` produces one entry of ``results.json`` (schema
``xinde.results/1``); field names there are a contract other tools read.
"""
from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Iterator

from .errors import AlignmentError

# the building blocks live in their own modules; every name stays importable from here
# (and pickles naming ``pipeline.essay`` keep loading)
from .annotations import (MATCH_KINDS, SUBSCORE_FIELDS, THEME_EXTRA_KEYS, Engagement,  # noqa: F401
                          Match, SubScores, ThemeExtra, ThemeResult, TopicMix, _engagement,
                          _subscores, _theme_result, _topic_mix, topic_dicts)
from .raw_pieces import (MIN_PIECE, RawPieces, _raw_pieces_of, join_raw_pieces,  # noqa: F401
                         raw_pieces)
from .spans import (EMPTY_SPANS, CharMap, Span, SpanList, Token, _char_map,  # noqa: F401
                    _empty_spans, _span_list, find_sorted, make_span, make_token, packed_ints,
                    span_dicts)

_SPACE = re.compile(r"\s+")  # \s is exactly str.isspace()


def nonspace_len(text: str) -> int:
    """Number of characters of ``text`` that are not whitespace (``str.isspace``)."""
    return len(text) - sum(map(len, _SPACE.findall(text)))


SCHEMA = "xinde.results/1"


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
