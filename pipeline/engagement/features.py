"""Surface features of engagement, sentence by sentence, with the evidence behind them.

Every feature is a *density* or a *saturating count* so that length alone buys
nothing and padding an essay with stock text lowers (never raises) it:

* **specific facts** — Arabic numbers, counted Chinese numerals with a unit,
  dates and periods, place and organisation names, named programmes
  (“最多跑一次”改革), worked cases (例如/比如/以…为例/有一次);
* **personal action** — first person (我/我们/本人/我局…) doing or finding
  something (走访/整改/发现…) or criticising itself (对照/差距/不足…), not the
  exhortation ``我们要…`` / ``我们必须…``; plus a reference to one's own unit/role;
* **commitments** — next steps (下一步/今后/我将/计划/力争), *concrete* when they
  carry a number, a deadline or a measurable target;
* **slogans** — stock phrases from ``models/taohua.txt`` (metaphors such as
  指挥棒/风向标 are in that list), 排比 of ``要…，要…，要…``, quote stacking;
  a sentence that carries a slogan but no fact and no personal action is a
  *slogan sentence*;
* **MTLD** lexical diversity (McCarthy & Jarvis 2010) on jieba word tokens.

:func:`extract` returns an :class:`EssayFeatures`; nothing here scores. The word lists
and patterns, and the scans that apply them quickly, are in :mod:`.patterns`.
"""
from __future__ import annotations

import re
import zlib
from bisect import bisect_right
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..essay import Essay, Span, SpanList, nonspace_len, packed_ints
from ..segment import token_offsets, token_texts
from .patterns import (  # noqa: F401 - re-exported: tests and scorer read them here
    ACTION_VERBS, CJK, FIRST_PERSON, FUTURE, MEASURABLE, MODAL_AFTER, OWN_ROLE, PAIBI_ITEMS,
    PAIBI_LEADS, SELF_CRITIC, SPECIFIC_PATTERNS, SPECIFIC_STOP, _BIGRAM_STOP, _BRACKETED,
    _CJK_BIGRAMS, _CLAUSE, _CURLY_QUOTE, _FIRST_PERSON_HINT, _LEADS_BY_FIRST, _LONG_LEADS,
    _LONG_LEAD_STARTS, _NON_WORD, _NUMBER_STOP, _SCAN_PLAN, _WORD, _anchored, _finditer,
    load_taohua, phrase_regex,
)



# -- spans helpers ---------------------------------------------------------------
def merge_spans(spans) -> list[tuple[int, int]]:
    """Union of ``(start, end)`` ranges, sorted and merged."""
    out: list[list[int]] = []
    spans = [(int(a), int(b)) for a, b in spans if b > a]
    if not spans:
        return []
    spans.sort()
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def covered(merged: list[tuple[int, int]], start: int, end: int) -> int:
    """Characters of ``[start, end)`` inside the merged ranges."""
    n = 0
    for s, e in merged:
        if e <= start:
            continue
        if s >= end:
            break
        n += min(e, end) - max(s, start)
    return n


def mtld(words: list[str], threshold: float = 0.72) -> float:
    """Measure of Textual Lexical Diversity, mean of forward and backward passes.

    Length-independent by construction (unlike the type-token ratio).
    """
    if not words:
        return 0.0
    return (_mtld_pass(words, threshold) + _mtld_pass(words[::-1], threshold)) / 2


def _mtld_pass(seq: list[str], threshold: float) -> float:
    """One MTLD pass: the number of words per factor (a run whose TTR fell to ``threshold``).

    Each word's previous occurrence is looked up once; the factors are counted by
    :func:`_repeat_pass`, the one implementation of the pass (also behind
    :func:`mtld_of_ids`).
    """
    last: dict[str, int] = {}
    at: list[int] = []
    prev: list[int] = []
    for i, w in enumerate(seq):
        p = last.get(w)
        if p is not None:
            at.append(i)
            prev.append(p)
        last[w] = i
    return _repeat_pass(len(seq), at, prev, threshold)


def mtld_of_ids(ids, threshold: float = 0.72) -> float:
    """:func:`mtld` of words given as integers (``np.ndarray`` or list), without sets.

    A word is a repeat within the current factor when its previous occurrence lies in it,
    so each pass only visits the words that occurred before (found once by sorting); the
    type-token ratios are the same integer quotients, so the result is bit-identical.
    """
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    if not n:
        return 0.0
    order = np.argsort(ids, kind="stable")
    same = ids[order[1:]] == ids[order[:-1]]
    later, earlier = order[1:][same], order[:-1][same]  # consecutive occurrences of a word
    fwd = np.argsort(later, kind="stable")
    bwd = np.argsort(-earlier, kind="stable")
    forward = _repeat_pass(n, later[fwd].tolist(), earlier[fwd].tolist(), threshold)
    # backwards, position i is n - 1 - i and a word's previous occurrence its next one
    backward = _repeat_pass(n, (n - 1 - earlier[bwd]).tolist(), (n - 1 - later[bwd]).tolist(),
                            threshold)
    return (forward + backward) / 2


def _repeat_pass(n: int, at: list[int], prev: list[int], threshold: float) -> float:
    """:func:`_mtld_pass` over ``n`` words whose repeats are at ``at`` (ascending), each
    word's previous occurrence at ``prev``."""
    factors, start, reps = 0.0, 0, 0
    for i, p in zip(at, prev):
        if p >= start:  # the word is already a type of this factor
            reps += 1
            count = i - start + 1
            if (count - reps) / count <= threshold:
                factors += 1
                start, reps = i + 1, 0
    count = n - start
    if count:
        ttr = (count - reps) / count
        factors += (1 - ttr) / (1 - threshold) if ttr < 1 else 0.0
    return n / factors if factors else float(n)


# -- per-sentence analysis -------------------------------------------------------
#: A sentence this much inside quotations (quote stacking) or cohort boilerplate is stock text.
QUOTE_STOCK = 0.5
BOILERPLATE_STOCK = 0.3

@dataclass(slots=True)
class SentenceInfo:
    """What one sentence contributes."""

    span: Span
    n_chars: int
    specific: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    personal_action: bool = False
    self_critic: bool = False
    own_role: bool = False
    commitment: bool = False
    concrete_commitment: bool = False
    slogan_hits: list[str] = field(default_factory=list)
    paibi: bool = False
    quote_share: float = 0.0
    boilerplate_share: float = 0.0
    repeat: bool = False  # the same sentence already occurred earlier in the essay

    @property
    def is_specific(self) -> bool:
        return bool(self.specific)

    @property
    def is_personal(self) -> bool:
        return self.personal_action or self.self_critic

    @property
    def is_slogan(self) -> bool:
        """Stock text with no fact and no personal action in it."""
        if self.repeat:
            return True
        stocky = (bool(self.slogan_hits) or self.paibi or self.quote_share >= QUOTE_STOCK
                  or self.boilerplate_share >= BOILERPLATE_STOCK)
        return stocky and not self.is_specific and not self.is_personal


class Tally(NamedTuple):
    """Per-essay sums over the sentences: everything the scorer reads.

    ``n_chars``, ``mtld`` and ``n_words`` are the essay's (:class:`EssayFeatures`);
    ``*_chars`` are characters of the sentences with the property (``chars``: all
    sentences); ``*_spans`` the first :data:`SPAN_LIMIT` such sentences as ``(start, end)``;
    ``grounded`` is ``(start, end, carries a fact or a personal action and is no repeat)``
    per sentence. Made by :meth:`EssayFeatures.tally` or, without building sentence
    objects, :func:`tally`.
    """

    n_chars: int
    mtld: float
    n_words: int
    chars: int
    specific_chars: int
    personal_chars: int
    substantive_chars: int  # specific or personal
    slogan_chars: int
    n_specific: int
    n_personal: int
    n_concrete: int
    n_vague: int
    own_role: bool
    specific_spans: list[tuple[int, int]]
    personal_spans: list[tuple[int, int]]  # personal or naming one's own role
    commitment_spans: list[tuple[int, int]]
    slogan_spans: list[tuple[int, int]]
    grounded: list[tuple[int, int, bool]]

    def share(self, chars: int) -> float:
        """``chars`` as a share of all sentence characters (0 for an empty essay)."""
        return chars / self.chars if self.chars else 0.0


#: Evidence spans kept per property.
SPAN_LIMIT = 20


@dataclass
class EssayFeatures:
    """Sentence analyses plus essay-level figures (see module docstring)."""

    n_chars: int
    sentences: list[SentenceInfo]
    mtld: float
    n_words: int

    def share(self, pred) -> float:
        """Char-weighted share of sentences for which ``pred(sentence)`` holds."""
        tot = sum(s.n_chars for s in self.sentences)
        return sum(s.n_chars for s in self.sentences if pred(s)) / tot if tot else 0.0

    def count(self, pred) -> int:
        return sum(1 for s in self.sentences if pred(s))

    def spans(self, pred, limit: int = SPAN_LIMIT) -> list[Span]:
        return [s.span for s in self.sentences if pred(s)][:limit]

    def tally(self) -> Tally:
        """Every count, share and evidence list the scorer reads, in one pass."""
        return _tally(self.n_chars, self.mtld, self.n_words,
                      ((s.span.start, s.span.end, s.n_chars, s.repeat, s.is_specific,
                        s.is_personal, s.own_role, s.commitment, s.concrete_commitment,
                        s.is_slogan) for s in self.sentences))


def _tally(n_chars: int, mtld_: float, n_words: int, rows) -> Tally:
    """The :class:`Tally` of an essay's figures and ``(start, end, n_chars, repeat, specific,
    personal, own_role, commitment, concrete, slogan)`` rows, one per sentence."""
    chars = spec_c = pers_c = subst_c = slog_c = 0
    n_spec = n_pers = n_conc = n_vague = 0
    role = False
    spec_sp: list = []
    pers_sp: list = []
    comm_sp: list = []
    slog_sp: list = []
    grounded: list = []
    for a, b, n, repeat, spec, pers, own, comm, conc, slog in rows:
        chars += n
        if spec:
            spec_c += n
            n_spec += 1
            spec_sp.append((a, b))
        if pers:
            pers_c += n
            n_pers += 1
        if spec or pers:
            subst_c += n
        if pers or own:
            pers_sp.append((a, b))
            role = role or own
        if comm:
            comm_sp.append((a, b))
            if conc:
                n_conc += 1
            else:
                n_vague += 1
        if slog:
            slog_c += n
            slog_sp.append((a, b))
        grounded.append((a, b, (spec or pers) and not repeat))
    return Tally(n_chars, mtld_, n_words, chars, spec_c, pers_c, subst_c, slog_c, n_spec, n_pers, n_conc, n_vague, role,
                 spec_sp[:SPAN_LIMIT], pers_sp[:SPAN_LIMIT], comm_sp[:SPAN_LIMIT],
                 slog_sp[:SPAN_LIMIT], grounded)


def _specific_items(sent: str) -> list[tuple[str, str]]:
    items = []
    for kind, pat, anchors in _SCAN_PLAN:
        for m in _anchored(pat, anchors, sent) if anchors is not None else pat.finditer(sent):
            t = m.group()
            if kind in ("place", "org") and SPECIFIC_STOP.match(t):
                continue
            if kind == "number" and t in _NUMBER_STOP:
                continue
            items.append((kind, t))
    return items


def _personal(sent: str, window: int = 24) -> tuple[bool, bool]:
    """(personal action, self-criticism) for first-person, non-exhortative use.

    The verb must follow the first person within ``window`` chars; titles in
    《》 and quoted words do not count.
    """
    if _FIRST_PERSON_HINT.search(sent) is None:  # removing brackets cannot create one
        return False, False
    sent = _BRACKETED.sub("…", sent)
    action = critic = False
    for m in FIRST_PERSON.finditer(sent):
        after = sent[m.end():m.end() + 6]
        if MODAL_AFTER.match(after):
            continue
        rest = sent[m.start():m.start() + window]
        if ACTION_VERBS.search(rest):
            action = True
        if SELF_CRITIC.search(sent):
            critic = True
    return action, critic


def _paibi(sent: str, long_leads: tuple[str, ...] | None = None, shared: bool = True,
           leads: bool = True) -> bool:
    """Parallelism: ≥3 clauses with one lead (要…，要…，要…), or ≥3 short items sharing a bigram.

    Args:
        sent: The sentence.
        long_leads: The long leads that can occur 3 times (``None``: any of them).
        shared: ``False`` when no bigram can be shared by 3 items (no CJK bigram outside
            ``_BIGRAM_STOP`` occurs 3 times in ``sent``: :func:`_shared_bigram_rows`).
        leads: ``False`` when fewer than 3 clauses can start with a lead (:func:`_lead_rows`).
    """
    if not (leads or shared):  # only a long lead occurring 3 times is left to find
        if long_leads is None:
            long_leads = _LONG_LEADS if len(_LONG_LEAD_STARTS.findall(sent)) >= 3 else ()
        return any(sent.count(lead) >= 3 for lead in long_leads)
    clauses = list(filter(None, map(str.strip, _CLAUSE.split(sent))))
    if len(clauses) >= 3:
        starts: dict[str, int] = {}
        for c in clauses:
            leads = _LEADS_BY_FIRST.get(c[0])
            if leads is not None:
                for lead in leads:
                    if c.startswith(lead):
                        starts[lead] = starts.get(lead, 0) + 1
        if starts and max(starts.values()) >= 3:
            return True
    if long_leads is None:
        # else no long lead occurs 3 times
        long_leads = _LONG_LEADS if len(_LONG_LEAD_STARTS.findall(sent)) >= 3 else ()
    for lead in long_leads:
        if sent.count(lead) >= 3:
            return True
    items = [c for c in clauses if 2 <= len(c) <= 14]
    if len(items) < PAIBI_ITEMS:
        return False
    if not shared:
        return False
    bigrams = _CJK_BIGRAMS.findall("\n".join(items))  # counts ≥ once-per-item counts
    if len(bigrams) - len(set(bigrams)) < PAIBI_ITEMS - 1:  # no bigram occurs PAIBI_ITEMS times
        return False
    total = Counter(bigrams)
    if max(total.values(), default=0) < PAIBI_ITEMS or all(
            v < PAIBI_ITEMS or bg in _BIGRAM_STOP for bg, v in total.items()):
        return False
    seen: Counter = Counter()
    for c in items:  # each item counts a bigram once
        seen.update(set(_CJK_BIGRAMS.findall(c)) - _BIGRAM_STOP)
    return max(seen.values(), default=0) >= PAIBI_ITEMS


# -- the match-independent part, computed once per essay ------------------------------------
#: Sentence flags of :class:`TextFeatures` rows.
REPEAT, ACTION, CRITIC, ROLE, COMMIT, CONCRETE, PAIBI = 1, 2, 4, 8, 16, 32, 64
KINDS = tuple(SPECIFIC_PATTERNS)
_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
_NUMBER_KIND = _KIND_INDEX["number"]


class TextFeatures:
    """Everything :func:`extract` reads of an essay's own text, before duplication ran.

    Compact (no strings: texts are offsets into ``essay.text``) because it travels
    between processes, into the run cache, and stays on every essay for the whole run:
    the four int sequences below are kept in one array of the smallest type that holds
    them (:func:`~pipeline.essay.packed_ints`: 2 bytes an int for essays under 64 Ki
    chars), ``[len(rows), len(items), len(hits), *rows, *items, *hits, *curly]``, and read
    back as array slices (~0.7 KB an essay instead of ~1.7 KB in four ``array("i")``).
    :func:`resolve` adds the duplication matches (quotations, boilerplate) to make the
    :class:`EssayFeatures`. Compares equal field by field (arrays by value, whatever
    their type) and iterates over its eight fields, like the named tuple it was.

    Attributes:
        key: :func:`slogan_key` of the stock-phrase regex used (a mismatch means stale).
        n_chars: Non-space characters of the essay.
        mtld: MTLD of the essay's words.
        n_words: Words with a letter, digit or CJK character.
        rows: ``start, end, n_chars, flags`` per sentence with text (flags: ``REPEAT`` …).
        items: ``row, kind, start, end`` per specific item (kind indexes :data:`KINDS`;
            the span is the item's first occurrence in its sentence).
        hits: ``row, start, end`` per stock-phrase match.
        curly: ``start, end`` inside each “…” of 8+ characters (a quotation).
    """

    __slots__ = ("key", "n_chars", "mtld", "n_words", "_data")
    _fields = ("key", "n_chars", "mtld", "n_words", "rows", "items", "hits", "curly")

    def __init__(self, key: int, n_chars: int, mtld: float, n_words: int, rows, items,
                 hits, curly):
        self.key, self.n_chars, self.mtld, self.n_words = key, n_chars, mtld, n_words
        self._data = packed_ints([len(rows), len(items), len(hits), *rows, *items, *hits,
                                  *curly])

    @property
    def rows(self) -> array:
        d = self._data
        return d[3:3 + d[0]]

    @property
    def items(self) -> array:
        d = self._data
        a = 3 + d[0]
        return d[a:a + d[1]]

    @property
    def hits(self) -> array:
        d = self._data
        a = 3 + d[0] + d[1]
        return d[a:a + d[2]]

    @property
    def curly(self) -> array:
        d = self._data
        return d[3 + d[0] + d[1] + d[2]:]

    def __iter__(self):
        return iter((self.key, self.n_chars, self.mtld, self.n_words, self.rows, self.items,
                     self.hits, self.curly))

    def __eq__(self, other) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(self) == tuple(other)

    __hash__ = None  # holds arrays

    def __repr__(self) -> str:
        return "TextFeatures(" + ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self)) + ")"

    def __reduce__(self):
        d = self._data
        return (_text_features, (self.key, self.n_chars, self.mtld, self.n_words, d.typecode,
                                 d.tobytes()))


def _text_features(key: int, n_chars: int, mtld_: float, n_words: int, typecode: str,
                   data: bytes) -> TextFeatures:
    tf = TextFeatures.__new__(TextFeatures)
    tf.key, tf.n_chars, tf.mtld, tf.n_words = key, n_chars, mtld_, n_words
    tf._data = array(typecode)
    tf._data.frombytes(data)
    return tf


def slogan_key(slogans: re.Pattern | None) -> int:
    """A stable id of the stock-phrase regex (0 for none), stored with the features."""
    return zlib.crc32(slogans.pattern.encode("utf-8")) if slogans is not None else 0


def _long_leads(text: str) -> tuple[str, ...]:
    """The long 排比 leads that occur 3 times in ``text`` (a sentence holds no more
    non-overlapping occurrences of a string than its essay)."""
    return tuple(ld for ld in _LONG_LEADS if text.count(ld) >= 3)


#: ``_BIGRAM_STOP`` as :func:`_shared_bigram_rows` keys.
_STOP_KEYS = frozenset((ord(bg[0]) << 21) | ord(bg[1]) for bg in _BIGRAM_STOP if len(bg) == 2)
_KEY_MASK = (1 << 42) - 1


def _shared_bigram_rows(cp: np.ndarray, starts: list[int], ends: list[int]) -> set[int]:
    """Indices of the sentences in which some CJK bigram outside ``_BIGRAM_STOP`` occurs
    :data:`PAIBI_ITEMS` times (``cp``: the essay's code points). Only these can have
    :data:`PAIBI_ITEMS` items (disjoint parts of the sentence) sharing one."""
    if len(cp) < 2 or not starts:
        return set()
    cjk = (cp >= 0x4E00) & (cp <= 0x9FFF)
    at = np.flatnonzero(cjk[:-1] & cjk[1:])
    row = np.searchsorted(np.array(starts), at, side="right") - 1
    inside = (row >= 0) & (at + 2 <= np.array(ends)[row])
    at = at[inside]
    both = np.sort((row[inside] << 42) | (cp[at] << 21) | cp[at + 1])  # a key is < 2**42
    n = PAIBI_ITEMS - 1
    return {x >> 42 for x in both[n:][both[n:] == both[:-n]].tolist()
            if x & _KEY_MASK not in _STOP_KEYS}


def _sentence_flags(s: str, long_leads: tuple[str, ...] | None = None, shared: bool = True,
                    leads: bool = True) -> int:
    """The flags of a sentence (:func:`_paibi` takes the essay's prefilters)."""
    action, critic = _personal(s)
    flags = ACTION * action | CRITIC * critic
    if ("我" in s or "作为" in s) and OWN_ROLE.search(s):  # every OWN_ROLE match has one
        flags |= ROLE
    if FUTURE.search(s):
        flags |= COMMIT | (CONCRETE if MEASURABLE.search(s) else 0)
    if _paibi(s, long_leads, shared, leads):
        flags |= PAIBI
    return flags


#: Code points (below U+10000) that start a 排比 lead, and the clause separators (:data:`_CLAUSE`).
_LEAD_FIRST = np.zeros(0x10001, dtype=bool)
_LEAD_FIRST[[ord(c) for c in _LEADS_BY_FIRST]] = True
_CLAUSE_SEP = np.zeros(0x10001, dtype=bool)
_CLAUSE_SEP[[ord(c) for c in "，；,;：:、"]] = True


def _lead_rows(cp: np.ndarray, space: np.ndarray, starts: list[int], ends: list[int]) -> set[int]:
    """Indices of the sentences where at least 3 clauses can start with a 排比 lead.

    A clause's first character (after ``strip``) follows the sentence start, a clause
    separator or whitespace; counting such positions that hold a lead's first character
    over-counts, never under-counts, the clauses :func:`_paibi` finds with one lead.
    """
    if not starts or not len(cp):
        return set()
    c = np.minimum(cp, 0x10000)
    at = _LEAD_FIRST[c]
    at[1:] &= _CLAUSE_SEP[c[:-1]] | space[:-1]
    s = np.array(starts, dtype=np.intp)
    s = s[s < len(cp)]
    at[s] = _LEAD_FIRST[c[s]]
    seen = np.zeros(len(cp) + 1, dtype=np.int64)
    np.cumsum(at, out=seen[1:])
    n = seen[np.array(ends, dtype=np.intp)] - seen[np.array(starts, dtype=np.intp)]
    return set(np.flatnonzero(n >= 3).tolist())


def _sentence_of(st: int, en: int, starts: list[int], ends: list[int], dirty: set[int]) -> int:
    """Index of the sentence holding the text match ``[st, en)``, or ``-1``.

    A match across a sentence edge belongs to no sentence and marks every sentence it
    overlaps ``dirty`` (their matches are found again on their own text); one between
    sentences (in the whitespace) is dropped.
    """
    k = bisect_right(starts, st) - 1
    if k >= 0 and en <= ends[k]:
        return k
    j = k if k >= 0 and st < ends[k] else k + 1
    while j < len(starts) and starts[j] < en:
        dirty.add(j)
        j += 1
    return -1


def _text_scans(text: str, starts: list[int], ends: list[int], slogans: re.Pattern | None):
    """Specific items and stock-phrase matches of every sentence from one scan of the text.

    A sentence's own ``finditer`` gives exactly the text's matches inside it unless a text
    match crosses one of its edges: none of the patterns looks behind, and the only character
    past a match they read (the one-char ``(?!…)`` of a name) is consumed when the path goes
    on, so a match that differs on the sentence alone reaches past its end. Such sentences
    come back in ``dirty``; the caller scans them alone.

    Returns:
        ``(items, hits, dirty)``: per sentence index, ``(kind index, text)`` in
        :data:`SPECIFIC_PATTERNS` order and ``(start, end)`` of stock phrases.
    """
    items: dict[int, list[tuple[int, str]]] = {}
    hits: dict[int, list[tuple[int, int]]] = {}
    dirty: set[int] = set()
    for ki, (kind, pat, anchors) in enumerate(_SCAN_PLAN):
        stop = SPECIFIC_STOP if kind in ("place", "org") else None
        for m in _anchored(pat, anchors, text) if anchors is not None else pat.finditer(text):
            t = m.group()
            if stop is not None and stop.match(t) or ki == _NUMBER_KIND and t in _NUMBER_STOP:
                continue
            k = _sentence_of(m.start(), m.end(), starts, ends, dirty)
            if k >= 0:
                items.setdefault(k, []).append((ki, t))
    if slogans is not None:
        for m in slogans.finditer(text):
            st, en = m.span()
            k = _sentence_of(st, en, starts, ends, dirty)
            if k >= 0:
                hits.setdefault(k, []).append((st, en))
    return items, hits, dirty


def analyse(essay: Essay, slogans: re.Pattern | None, key: int | None = None) -> TextFeatures:
    """The :class:`TextFeatures` of ``essay`` (needs ``sentences`` and ``tokens``).

    Args:
        essay: A segmented essay.
        slogans: The stock-phrase regex (:func:`phrase_regex`), or ``None``.
        key: ``slogan_key(slogans)`` when the caller has it.
    """
    text = essay.text
    rows, items, hits, curly = array("i"), array("i"), array("i"), array("i")
    for m in _CURLY_QUOTE.finditer(text):
        curly.extend((m.start(1), m.end(1)))
    starts, ends = _sentence_bounds(essay.sentences or [Span(0, len(text))] if text else [])
    if slogans is not None and slogans.match("") is not None:  # empty matches: scan alone
        found, sl_found, dirty = _text_scans(text, starts, ends, None)
        dirty = set(range(len(starts)))
    else:
        found, sl_found, dirty = _text_scans(text, starts, ends, slogans)
    cp = _code_points(text)
    long_leads = _long_leads(text)
    shared = _shared_bigram_rows(cp, starts, ends)
    prev_leads: list[str] = []
    seen: set[str] = set()
    texts = [text[a:b] for a, b in zip(starts, ends)]
    word = _word_chars(cp)
    space = _IS_SPACE[np.minimum(cp, _SPACE_LIMIT)]
    norms, lengths = _norms_and_lengths(cp, word, space, starts, ends)
    lead_rows = _lead_rows(cp, space, starts, ends)
    for k, (a, b) in enumerate(zip(starts, ends)):
        s = texts[k]
        n = lengths[k]
        if not n:
            continue
        r = len(rows) // 4
        norm = norms[k]
        if len(norm) >= 8 and norm in seen:  # a repeated sentence earns nothing twice
            rows.extend((a, b, n, REPEAT))
            continue
        seen.add(norm)
        if k in dirty:
            for kind, t in _specific_items(s):
                p = a + s.find(t)
                items.extend((r, _KIND_INDEX[kind], p, p + len(t)))
            if slogans is not None:
                for m in slogans.finditer(s):
                    hits.extend((r, a + m.start(), a + m.end()))
        else:
            for ki, t in found.get(k, ()):
                p = a + s.find(t)
                items.extend((r, ki, p, p + len(t)))
            for st, en in sl_found.get(k, ()):
                hits.extend((r, st, en))
        flags = _sentence_flags(s, long_leads, k in shared, k in lead_rows)
        lead = ""
        for ld in _LEADS_BY_FIRST.get(s[0], ()):
            if s.startswith(ld):
                lead = ld
                break
        prev_leads.append(lead)
        if lead and prev_leads[-3:] == [lead] * 3:  # 要…。要…。要…。 across sentences
            for j in range(max(0, r - 2), r):
                rows[4 * j + 3] |= PAIBI
            flags |= PAIBI
        rows.extend((a, b, n, flags))
    words = _word_ids(essay.tokens, text, cp, word)
    return TextFeatures(slogan_key(slogans) if key is None else key, len(text) - int(space.sum()),
                        mtld_of_ids(words) if isinstance(words, np.ndarray) else mtld(words),
                        len(words), rows, items, hits, curly)


def _sentence_bounds(sents) -> tuple[list[int], list[int]]:
    """``(starts, ends)`` of the sentences (a :class:`SpanList`'s without building spans)."""
    if isinstance(sents, SpanList):
        o = sents.offsets()
        return o[0::2].tolist(), o[1::2].tolist()
    return [sp.start for sp in sents], [sp.end for sp in sents]


#: Every whitespace character (``str.isspace``, i.e. what ``\s`` and
#: :func:`~pipeline.essay.nonspace_len` skip) is below U+3001 (tested).
_SPACE_LIMIT = 0x3001
_IS_SPACE = np.array([chr(c).isspace() for c in range(_SPACE_LIMIT)] + [False])


def _word_chars(cp: np.ndarray) -> np.ndarray:
    """Which code points are word characters: CJK, ASCII digits and letters (:data:`_WORD`)."""
    return ((cp >= 0x4E00) & (cp <= 0x9FFF)) | ((cp >= 48) & (cp <= 57)) | (
        ((cp | 32) >= 97) & ((cp | 32) <= 122))


def _norms_and_lengths(cp: np.ndarray, word: np.ndarray, space: np.ndarray, starts: list[int],
                       ends: list[int]) -> tuple[list[str], list[int]]:
    """Per sentence, its word characters (``_NON_WORD.sub("", s)``: the repeat key) and its
    non-space length (:func:`~pipeline.essay.nonspace_len`), from the essay's code points."""
    if not starts:
        return [], []
    at = np.array(starts + ends, dtype=np.intp)
    k = len(starts)
    seen = np.zeros(len(cp) + 1, dtype=np.int64)
    np.cumsum(word, out=seen[1:])
    kept = cp[word].astype("<u4").tobytes().decode("utf-32-le")
    w = seen[at].tolist()
    norms = [kept[x:y] for x, y in zip(w[:k], w[k:])]
    spaces = np.zeros(len(cp) + 1, dtype=np.int64)
    np.cumsum(space, out=spaces[1:])
    sp = spaces[at].tolist()
    lengths = [(b - a) - (y - x) for a, b, x, y in zip(starts, ends, sp[:k], sp[k:])]
    return norms, lengths


def _code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as ``int64`` (lone surrogates included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)


def _word_ids(tokens, text: str = "", cp: np.ndarray | None = None,
              word: np.ndarray | None = None) -> np.ndarray | list:
    """The tokens with a letter, digit or CJK character (:data:`_WORD`), as MTLD needs them:
    equal words by equal values.

    For a compact :class:`~pipeline.segment.TokenList` a word of up to three characters is
    the int of its code points (+1, 21 bits each: one int per distinct word) and a longer
    one a negative int (its rank of first occurrence), computed with numpy instead of
    building a string per token (an ``int64`` array); other token lists give the strings.
    """
    offsets = token_offsets(tokens)  # a compact TokenList: (start, end) pairs
    if offsets is None:
        return list(filter(_WORD.search, token_texts(tokens)))
    if not offsets:
        return np.zeros(0, dtype=np.int64)
    if cp is None or not tokens.over(text):  # ``cp``: the code points of ``text``
        text = tokens.text
        cp = _code_points(text)
        word = None
    o = np.frombuffer(offsets, dtype=np.intc)
    s, e = o[0::2].astype(np.intp), o[1::2].astype(np.intp)
    seen = np.zeros(len(cp) + 1, dtype=np.int64)
    np.cumsum(_word_chars(cp) if word is None else word, out=seen[1:])
    keep = seen[e] > seen[s]
    s, e = s[keep], e[keep]
    n = e - s
    c = np.zeros(len(cp) + 2, dtype=np.int64)
    c[:len(cp)] = cp + 1
    ids = c[s] + (c[s + 1] << 21) * (n >= 2) + (c[s + 2] << 42) * (n >= 3)
    long_ = np.flatnonzero(n > 3)
    if len(long_):
        rank: dict[str, int] = {}
        for i, a, b in zip(long_.tolist(), s[long_].tolist(), e[long_].tolist()):
            ids[i] = -1 - rank.setdefault(text[a:b], len(rank))
    return ids


def resolve(essay: Essay, tf: TextFeatures) -> EssayFeatures:
    """The :class:`EssayFeatures` of ``essay`` from its :class:`TextFeatures` and matches.

    Quote and boilerplate matches from the duplication stage, when present,
    mark quoted and stock passages; specific items inside a quote are not the
    writer's own facts and are ignored.
    """
    text = essay.text
    quotes, boiler = _quotes_and_boilerplate(essay, tf)
    items, hits = tf.items, tf.hits
    ii = hi = 0
    infos: list[SentenceInfo] = []
    rows = tf.rows
    for r, (a, b, n, f) in enumerate(zip(rows[0::4], rows[1::4], rows[2::4], rows[3::4])):
        if f & REPEAT:
            infos.append(SentenceInfo(Span(a, b), n, repeat=True, paibi=bool(f & PAIBI)))
            continue
        specific = []
        while ii < len(items) and items[ii] == r:
            p, e = items[ii + 2], items[ii + 3]
            if covered(quotes, p, e) != e - p:  # facts outside quotations only
                specific.append((KINDS[items[ii + 1]], text[p:e]))
            ii += 4
        found = []
        while hi < len(hits) and hits[hi] == r:
            found.append(text[hits[hi + 1]:hits[hi + 2]])
            hi += 3
        w = max(1, b - a)
        infos.append(SentenceInfo(
            Span(a, b), n, specific, bool(f & ACTION), bool(f & CRITIC), bool(f & ROLE),
            bool(f & COMMIT), bool(f & CONCRETE), found, bool(f & PAIBI),
            covered(quotes, a, b) / w, covered(boiler, a, b) / w))
    return EssayFeatures(tf.n_chars, infos, tf.mtld, tf.n_words)


def tally(essay: Essay, tf: TextFeatures) -> Tally:
    """``resolve(essay, tf).tally()`` without building sentence objects (the cohort fast path).

    The rows :func:`_tally` sums come straight from the packed features; a sentence's items
    are only looked at when a quotation overlaps it (otherwise any item makes it specific).
    """
    quotes, boiler = _quotes_and_boilerplate(essay, tf)
    rows, items = tf.rows, tf.items
    item_rows = set(items[0::4])
    hit_rows = set(tf.hits[0::3])
    nq = len(quotes)

    def sentence_rows():
        qi = 0  # first quotation not ending before the current sentence (both are in order)
        for r, (a, b, n, f) in enumerate(zip(rows[0::4], rows[1::4], rows[2::4], rows[3::4])):
            if f & REPEAT:  # stock text: no fact, no action, a slogan
                yield a, b, n, True, False, False, False, False, False, True
                continue
            while qi < nq and quotes[qi][1] <= a:
                qi += 1
            near = qi < nq and quotes[qi][0] < b  # a quotation overlaps the sentence
            spec = r in item_rows
            if spec and near:  # facts outside quotations only
                spec = any(covered(quotes, p, e) != e - p for p, e in _row_items(items, r))
            pers = bool(f & (ACTION | CRITIC))
            slog = False
            if not (spec or pers):
                w = max(1, b - a)
                slog = bool(r in hit_rows or f & PAIBI
                            or near and covered(quotes, a, b) / w >= QUOTE_STOCK
                            or bool(boiler) and covered(boiler, a, b) / w >= BOILERPLATE_STOCK)
            yield (a, b, n, False, spec, pers, bool(f & ROLE), bool(f & COMMIT),
                   bool(f & CONCRETE), slog)

    return _tally(tf.n_chars, tf.mtld, tf.n_words, sentence_rows())


def _row_items(items: array, r: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the specific items of row ``r`` (``items`` are in row order)."""
    out = []
    for i in range(0, len(items), 4):
        if items[i] == r:
            out.append((items[i + 2], items[i + 3]))
        elif items[i] > r:
            break
    return out


def _quotes_and_boilerplate(essay: Essay, tf: TextFeatures):
    """Merged quotation spans (quote matches and “…” quotes) and boilerplate spans."""
    c = tf.curly
    quotes = list(zip(c[::2], c[1::2]))
    boiler = []
    for m in essay.matches:
        if m.kind == "quote":
            quotes.append((m.start, m.end))
        elif m.kind == "boilerplate":
            boiler.append((m.start, m.end))
    return merge_spans(quotes), merge_spans(boiler)


def text_features(essay: Essay, slogans: re.Pattern | None, key: int | None = None
                  ) -> TextFeatures:
    """The essay's stored :class:`TextFeatures` if made with ``slogans``, else analysed now."""
    key = slogan_key(slogans) if key is None else key
    tf = (getattr(essay, "features", None) or {}).get(FEATURES_KEY)
    if not isinstance(tf, TextFeatures) or tf.key != key:
        tf = analyse(essay, slogans, key)
    return tf


def extract(essay: Essay, slogans: re.Pattern | None) -> EssayFeatures:
    """Analyse every sentence of ``essay`` (needs ``sentences`` and ``tokens``).

    Uses the :class:`TextFeatures` the :class:`EngagementFeatures` stage stored on the
    essay when they were made with the same ``slogans``; analyses the text otherwise.
    """
    return resolve(essay, text_features(essay, slogans))


#: Where :class:`EngagementFeatures` stores its output in ``essay.features``.
FEATURES_KEY = "engagement"


class EngagementFeatures:
    """Pipeline stage (essay scope, runs with segmentation and themes): the engagement
    features of an essay's own text, stored as ``essay.features["engagement"]``.

    Being per essay, it runs in the parallel block (``--jobs``) and its output is kept in
    the run cache; the cohort :class:`~pipeline.engagement.scorer.EngagementScorer` then
    only adds the duplication matches (:func:`resolve`) and scores.

    Args:
        taohua: Path of the stock-phrase list (``models/taohua.txt``); ``None`` disables it.
    """

    name = "engagement_features"
    scope = "essay"
    version = 1

    def __init__(self, taohua: Path | str | None = None):
        self.slogans = phrase_regex(load_taohua(taohua)) if taohua is not None else None
        self.key = slogan_key(self.slogans)

    @classmethod
    def from_settings(cls, settings) -> "EngagementFeatures":
        """The stage with the run's ``models/taohua.txt`` (as the scorer loads it)."""
        from ..config import model_path

        tao = model_path(settings, "taohua.txt")
        return cls(tao if tao.exists() else None)

    def __call__(self, essay: Essay) -> Essay:
        essay.features[FEATURES_KEY] = analyse(essay, self.slogans, self.key)
        return essay
