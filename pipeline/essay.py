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
from dataclasses import dataclass, field
from typing import Any, Iterator

from .errors import AlignmentError

_SPACE = re.compile(r"\s+")  # \s is exactly str.isspace()


def nonspace_len(text: str) -> int:
    """Number of characters of ``text`` that are not whitespace (``str.isspace``)."""
    return len(text) - sum(map(len, _SPACE.findall(text)))

SCHEMA = "xinde.results/1"

MATCH_KINDS = ("submission", "template", "boilerplate", "quote")


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Token(Span):
    """A word from the segmenter; ``text`` equals ``essay.text[start:end]``."""

    text: str = ""


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


@dataclass
class ThemeResult:
    """Coverage of one profile theme in one essay."""

    score: float
    evidence: list[Span] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"score": round(float(self.score), 4), "evidence": [s.to_dict() for s in self.evidence]}
        d.update(self.extra)
        return d


@dataclass
class Engagement:
    """The 0–100 engagement score, its sub-scores and plain-Chinese reasons."""

    score: float
    subscores: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"score": round(float(self.score), 1), "subscores": self.subscores,
                "reasons": list(self.reasons)}


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
            unless trailing noise was dropped). ``None`` until cleaned.
        source_offset: Where ``raw`` starts in the decoded input file.
        meta: Author, unit, row number and other submission metadata.
        sentences: Sentence spans over ``text``.
        tokens: Word tokens over ``text``.
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
    char_map: list[int] | None = None
    source_offset: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    sentences: list[Span] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    themes: dict[str, ThemeResult] = field(default_factory=dict)
    topics: list[dict] = field(default_factory=list)
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
        lo, hi = 0, len(self.sentences)
        while lo < hi:
            mid = (lo + hi) // 2
            s = self.sentences[mid]
            if pos < s.start:
                hi = mid
            elif pos >= s.end:
                lo = mid + 1
            else:
                return mid
        return -1

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
        """Raise :class:`AlignmentError` if any span lies outside ``text``."""
        n = len(self.text)
        tokens = self.tokens
        fast = getattr(tokens, "misaligned", None)  # segment.TokenList: vectorised check
        groups: list[tuple[str, Any]] = [("sentence", self.sentences), ("match", self.matches)]
        if fast is None:
            groups.append(("token", tokens))
        for tid, res in self.themes.items():
            groups.append((f"theme {tid}", res.evidence))
        for what, spans in groups:
            for s in spans:
                if not (0 <= s.start <= s.end <= n):
                    raise AlignmentError("X202", what=what, start=s.start, end=s.end, n=n)
        if fast is not None:
            hit = fast(self.text)
            if hit is not None and not (0 <= hit[0] <= hit[1] <= n):
                raise AlignmentError("X202", what="token", start=hit[0], end=hit[1], n=n)
            bad = [hit] if hit is not None else []
        else:
            bad = ((t.start, t.end, t.text) for t in tokens if self.text[t.start:t.end] != t.text)
        for start, end, got in bad:
            raise AlignmentError("X201", pos=start, essay_id=self.id,
                                 expected=self.text[start:end], got=got)

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
            "sentences": [s.to_dict() for s in self.sentences],
            "themes": {k: v.to_dict() for k, v in sorted(self.themes.items())},
            "topics": self.topics,
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


@dataclass
class Skipped:
    """An input file (or part of one) that produced no essay, and why."""

    source: str
    reason: str
    code: str = ""

    def to_dict(self) -> dict:
        return {"source": self.source, "reason": self.reason, "code": self.code}
