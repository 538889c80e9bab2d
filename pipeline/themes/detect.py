"""Profile themes per essay: per-sentence evidence and a coverage score.

For each sentence of ``essay.text`` the stage decides, per theme of the
profile, whether the sentence *substantively* discusses it:

1. the inside of every 《…》 is masked first, so the notice's name
   (《关于改进推动高质量发展的政绩考核的通知》) never counts as 高质量发展 or 政绩考核;
2. heading lines (a whole line, short, without a sentence-final mark) and
   short *topic lines* (一是要强化考核结果运用。/ 以“政治标尺”考忠诚。/ 要坚持人民至上。,
   see ``topic_line_patterns``) are never evidence — they name a point, the
   sentences after them discuss it;
3. a sentence that is mostly a list of 、-separated stock phrases (a *slogan
   list*) is never evidence; inside a longer sentence, cue hits in such a list
   are ignored when the list strings together cues of three or more themes;
4. the sentence's score for a theme is the summed weight of the distinct cues
   hit (:meth:`CueMatcher.score`); at or above the theme's threshold it is
   evidence;
5. context: a sentence with a partial score (≥ ``context_min``) right after or
   before an evidence sentence of the same theme continues that point and is
   evidence too (only in :meth:`ThemeDetector.decisions`, which sees the essay).

The essay's coverage of a theme is ``1 - exp(-W / saturation)``, ``W`` the
evidence weight summed over sentences (each capped at ``max_evidence_weight``):
one clear sentence gives ≈0.4, three give ≈0.8, and repeating the same point
ten times cannot push a theme far past a well-argued paragraph.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..essay import Essay, Span, ThemeResult
from .cues import CueMatcher, Hit, mask_titles
from .profile import Profile, load_profile

_FINAL = set("。！？!?…；;")
_QUOTED = "“”\"'‘’「」『』"
# an item of a 、-list: a short run without clause punctuation
_LIST_RUN = re.compile(r"[^，,。；;：:！？!?、\s（）()]{1,14}(?:、[^，,。；;：:！？!?、\s（）()]{1,14})+")
_QUOTE_RUN = re.compile(r"(?:“[^“”]{1,10}”[、，,]?){3,}")
_CONTENT = re.compile(r"[\u3400-\u9fffA-Za-z0-9□]")


_LINE_SPACE = " \t\u3000"


def _starts_line(text: str, s: int) -> bool:
    """Only spaces/tabs since the last line break, or only whitespace before ``s``."""
    i = s - 1
    while i >= 0 and text[i] in _LINE_SPACE:
        i -= 1
    if i < 0 or text[i] == "\n":
        return True
    return text[i].isspace() and not text[:i].strip()


def _ends_line(text: str, e: int) -> bool:
    """``e`` is the end of ``text`` or only spaces/tabs come before the next line break."""
    n = len(text)
    if e >= n:
        return True
    while e < n and text[e] in _LINE_SPACE:
        e += 1
    return e < n and text[e] == "\n"


def _ordered(spans) -> bool:
    """Spans sorted and not overlapping (as :func:`split_sentences` makes them)."""
    return all(a.end <= b.start for a, b in zip(spans, spans[1:]))


def _with_pieces(text: str, spans, pieces: list[str]) -> str:
    """``text`` with ``text[span]`` replaced by the same-length piece, for each
    of the ordered, non-overlapping ``spans``."""
    out, pos = [], 0
    for sp, piece in zip(spans, pieces):
        out.append(text[pos:sp.start])
        out.append(piece)
        pos = sp.end
    out.append(text[pos:])
    return "".join(out)


@dataclass
class SentenceDecision:
    """What the detector decided for one sentence (also used by the evaluation).

    Attributes:
        span: The sentence in ``essay.text``.
        excluded: ``""`` or why it cannot be evidence (``heading``, ``slogan_list``).
        scores: Theme id → sentence score (themes with any hit).
        hits: Theme id → the cue hits counted (offsets relative to the sentence).
    """

    span: Span
    excluded: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    carried: set = field(default_factory=set)

    def themes(self, profile: Profile) -> list[str]:
        """Theme ids this sentence is evidence for."""
        if self.excluded:
            return []
        return [t.id for t in profile.themes
                if self.scores.get(t.id, 0.0) >= t.threshold or t.id in self.carried]


class ThemeDetector:
    """Pipeline stage (essay scope): fills ``essay.themes`` for every profile theme.

    Args:
        profile: A :class:`Profile`, a built-in profile name or a ``.toml`` path.
        models_dir: ``models/`` folder used to resolve a profile name.

    Raises:
        ConfigError: X102/X103 from :func:`load_profile`.
    """

    name = "themes"
    scope = "essay"

    def __init__(self, profile: Profile | str | Path = "zhengji-kaohe",
                 models_dir: Path | None = None):
        if not isinstance(profile, Profile):
            profile = load_profile(profile, models_dir)
        self.profile = profile
        self.matcher = CueMatcher(profile)
        self._topic_lines = [re.compile(p) for p in profile.topic_line_patterns]
        self._thresholds = {t.id: t.threshold for t in profile.themes}
        # every threshold positive: sentences without cue hits can be skipped (validated
        # profiles always; a hand-built Profile might not)
        self._sparse = all(t.threshold > 0 for t in profile.themes)

    def __getstate__(self):
        return {"profile": self.profile}

    def __setstate__(self, state):
        self.__init__(state["profile"])

    # -- sentence level ---------------------------------------------------
    def is_heading(self, text: str, span: Span) -> bool:
        """A whole line, at most ``heading_max_chars`` long, without a final mark."""
        s, e = span.start, span.end
        if not (_starts_line(text, s) and _ends_line(text, e)):
            return False
        body = text[s:e].rstrip(_QUOTED + "）)》】 ")
        return len(body) <= self.profile.heading_max_chars and (not body or body[-1] not in _FINAL)

    def is_topic_line(self, sent: str) -> bool:
        """A short sentence that only names a point (see ``topic_line_patterns``)."""
        s = sent.strip().lstrip("“\"（(")
        for p in self._topic_lines:  # cheap: mostly anchored
            if p.search(s):
                break
        else:
            return False
        return len(_CONTENT.findall(sent)) <= self.profile.topic_line_max_chars

    def list_runs(self, sent: str) -> list[tuple[int, int]]:
        """Char ranges of slogan lists in ``sent`` (≥ ``list_min_items`` items)."""
        k = self.profile.list_min_items
        out = []
        first = sent.find("、")
        if first >= 0:  # every list run has one within its first 15 chars and ends at
            # most 14 chars after its last one: scanning only [first - 14, last + 15)
            # finds the same runs
            end = sent.rfind("、") + 15
            for m in _LIST_RUN.finditer(sent, max(0, first - 14), end):
                if m.group().count("、") + 1 >= k:
                    out.append(m.span())
        if "“" in sent:
            for m in _QUOTE_RUN.finditer(sent):
                if m.group().count("“") >= k:
                    out.append(m.span())
        return sorted(out)

    def decide(self, sent: str, heading: bool = False, span: Span | None = None
               ) -> SentenceDecision:
        """Decide one sentence (``sent`` unmasked; titles are masked here)."""
        masked = mask_titles(sent)
        return self._decide_masked(masked, self.matcher.hits(masked), heading, span)

    def _decide_masked(self, masked: str, found: dict, heading: bool, span: Span | None
                       ) -> SentenceDecision:
        """:meth:`decide` given the masked sentence and its cue hits."""
        d = SentenceDecision(span or Span(0, len(masked)))
        runs = self.list_runs(masked)
        if runs:
            n_content = len(_CONTENT.findall(masked)) or 1
            in_runs = sum(len(_CONTENT.findall(masked[a:b])) for a, b in runs)
            if in_runs / n_content >= self.profile.list_share:
                d.excluded = "slogan_list"
            else:
                found = self._drop_list_hits(found, runs)
        if heading and not d.excluded:
            d.excluded = "heading"
        if not d.excluded and self.is_topic_line(masked):
            d.excluded = "topic_line"
        for tid, (hits, penalty) in found.items():
            if hits:
                d.hits[tid] = hits
                d.scores[tid] = round(CueMatcher.score(hits, penalty), 4)
        return d

    @staticmethod
    def _drop_list_hits(found, runs):
        """Ignore hits inside a list that strings together cues of ≥ 3 themes."""
        for a, b in runs:
            inside = {tid for tid, (hs, _) in found.items()
                      for h in hs if a <= h.start and h.end <= b}
            if len(inside) >= 3:
                found = {tid: ([h for h in hs if not (a <= h.start and h.end <= b)], p)
                         for tid, (hs, p) in found.items()}
        return found

    def decisions(self, essay: Essay) -> list[SentenceDecision]:
        """One :class:`SentenceDecision` per sentence of ``essay``.

        Same as :meth:`decide` on each sentence, but titles are masked and cues
        matched over the whole essay at once (:meth:`CueMatcher.hits_in_spans`).
        """
        return self._decisions(essay, every=True)

    def _decisions(self, essay: Essay, every: bool) -> list[SentenceDecision]:
        """:meth:`decisions`; with ``every=False`` only those of sentences with cue hits.

        A sentence without hits has no score, so it is evidence for nothing and
        carries no context to its neighbours (themes need a positive threshold,
        see ``_sparse``): leaving it out changes nothing in :meth:`__call__`.
        """
        from ..segment import split_sentences

        text = essay.text
        sents = list(essay.sentences or split_sentences(text))
        if not _ordered(sents):
            out = [self.decide(text[sp.start:sp.end], self.is_heading(text, sp), sp)
                   for sp in sents]
            self._carry(text, out)
            return out
        masked = None
        whole = text
        if "《" in text:  # titles masked sentence by sentence, as decide() does
            plain = [text[sp.start:sp.end] for sp in sents]
            masked = [mask_titles(s) for s in plain]
            if any(m is not s for m, s in zip(masked, plain)):
                whole = _with_pieces(text, sents, masked)
        found = self.matcher.hits_in_spans(whole, sents)
        keep = range(len(sents)) if every else [k for k, f in enumerate(found) if f]
        out = []
        for k in keep:
            sp = sents[k]
            sent = masked[k] if masked is not None else text[sp.start:sp.end]
            out.append(self._decide_masked(sent, found[k], self.is_heading(text, sp), sp))
        self._carry(text, out, None if every else keep)
        return out

    def _carry(self, text: str, decs: list[SentenceDecision], where: list[int] | None = None
               ) -> None:
        """Context: a sentence with a partial score (≥ ``context_min``) for a theme
        right next to an evidence sentence of that theme (no blank line between)
        continues its point (这句话让我很惭愧… after the case) and is evidence too.
        Measured on the labelled calibration essays: +0.03 key-theme macro-F1 on
        the held-out half.

        ``where``: the sentence index of each decision when ``decs`` leaves out
        sentences without hits (only listed sentences can be neighbours then).
        """
        cmin = self.profile.context_min
        if cmin <= 0:
            return
        limits = self._thresholds
        # as SentenceDecision.themes: nothing carried yet (only scored themes can pass a
        # positive threshold)
        own = [set() if d.excluded else
               {tid for tid, sc in d.scores.items() if sc >= limits[tid]} | d.carried
               if self._sparse else
               {tid for tid, th in limits.items() if d.scores.get(tid, 0.0) >= th or tid in d.carried}
               for d in decs]
        n = len(decs)
        for i, d in enumerate(decs):
            if d.excluded:
                continue
            for tid, sc in d.scores.items():
                if tid in own[i] or sc < cmin:
                    continue
                for j in (i - 1, i + 1):
                    if 0 <= j < n and tid in own[j] and (
                            where is None or abs(where[j] - where[i]) == 1):
                        a, b = sorted((decs[i].span, decs[j].span), key=lambda s: s.start)
                        if self._same_block(text, a, b):
                            d.carried.add(tid)
                            break

    @staticmethod
    def _same_block(text: str, a: Span, b: Span) -> bool:
        """Adjacent sentences with no blank line between them."""
        return "\n\n" not in text[a.end:b.start]

    # -- essay level ------------------------------------------------------
    def coverage(self, weights: list[float]) -> float:
        """``1 - exp(-W / saturation)`` over capped sentence weights."""
        if not weights:
            return 0.0  # 1 - exp(0)
        w = sum(min(x, self.profile.max_evidence_weight) for x in weights)
        return 1.0 - math.exp(-w / self.profile.saturation)

    def __call__(self, essay: Essay) -> Essay:
        themes = self.profile.themes
        ev: dict[str, list[Span]] = {t.id: [] for t in themes}
        weights: dict[str, list[float]] = {t.id: [] for t in themes}
        cues: dict[str, dict[str, None]] = {t.id: {} for t in themes}
        limits = self._thresholds
        for d in self._decisions(essay, every=not self._sparse):
            if d.excluded:
                continue
            # themes without a score cannot pass a positive threshold (nor be carried)
            for tid in (d.scores if self._sparse else limits):
                sc = d.scores.get(tid, 0.0)
                if sc < limits[tid] and tid not in d.carried:
                    continue
                ev[tid].append(d.span)
                weights[tid].append(sc)
                found = cues[tid]
                for h in d.hits[tid]:
                    found.setdefault(h.cue.text if h.cue.kind == "term"
                                     else essay.text[d.span.start + h.start:d.span.start + h.end])
        for theme in themes:
            essay.themes[theme.id] = ThemeResult(
                round(self.coverage(weights[theme.id]), 4), ev[theme.id],
                extra={"label": theme.label, "n_sentences": len(ev[theme.id]),
                       "cues": list(cues[theme.id])[:12]})
        return essay
