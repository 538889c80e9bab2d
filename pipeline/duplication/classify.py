"""What a shared passage *is*: submission, template, boilerplate or quote.

* **quote** — a passage of the studied policy document (``--policy``), or an
  entry of the curated quotation list (``models/quotes.txt``); when such a
  match lies inside “…” the whole quotation is marked. Never copying.
* **boilerplate** — stock phrases: k-grams that occur in many essays of the
  cohort (document frequency ≥ ``max(min_df, df_ratio·N)``, capped at
  ``max_df_abs``) in runs no longer than ``max_run`` (a longer run shared by
  many essays is a copied passage, not a phrase), plus entries of the curated
  套话 list ``models/taohua.txt``. Kept apart from copying one source.
* **submission** / **template** — passages aligned with another essay of the
  run / with a reference document (:func:`pair_kind`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ConfigError
from .normalize import NormText, normalize_phrase

_QUOTED = re.compile(r"“([^“”\n]{2,300})”")


def read_phrase_list(path: Path | str) -> list[str]:
    """Entries of a one-per-line list file ('#' comments and blank lines skipped).

    Raises:
        ConfigError: X132 if the file cannot be read as UTF-8.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError("X132", path=p, detail=str(e)) from None
    out = []
    for ln in lines:
        s = ln.strip()
        if s and not s.startswith("#"):
            out.append(s)
    return out


def read_policy(path: Path | str) -> str:
    """The policy text without its ``#`` comment lines.

    Raises:
        ConfigError: X130 if nothing but comments is left.
    """
    text = "\n".join(read_phrase_list(path))
    if not text.strip():
        raise ConfigError("X130", path=path)
    return text


_TITLE = re.compile(r"《([^《》\n]{4,80})》")


def policy_titles(path: Path | str) -> list[str]:
    """Document names in 《…》 on the policy file's ``#`` comment lines (quoting them is quoting)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out: list[str] = []
    for ln in lines:
        if ln.lstrip().startswith("#"):
            out.extend(t for t in _TITLE.findall(ln) if t not in out)
    return out


class PhraseMatcher:
    """Exact lookup of list phrases in normalised text (Aho–Corasick).

    Args:
        phrases: The list entries (original spelling; normalised here).
        min_len: Entries shorter than this after normalisation are ignored.
    """

    def __init__(self, phrases: Sequence[str], min_len: int = 4):
        if min_len < 1:
            raise ValueError(f"min_len must be ≥ 1, got {min_len}")
        import ahocorasick

        self.phrases = list(phrases)
        self.min_len = min_len
        self._auto = ahocorasick.Automaton()
        self._n = 0
        for i, p in enumerate(self.phrases):
            key = normalize_phrase(p)
            if len(key) >= min_len and key not in self._auto:
                self._auto.add_word(key, (i, len(key)))
                self._n += 1
        if self._n:
            self._auto.make_automaton()

    def __len__(self) -> int:
        return self._n

    def find(self, norm: NormText) -> list[tuple[int, int, int]]:
        """Non-overlapping ``(ns, ne, phrase_index)`` hits, longest first, sorted by ``ns``."""
        if not self._n or not norm.text:
            return []
        hits = [(end + 1 - ln, end + 1, i) for end, (i, ln) in self._auto.iter(norm.text)]
        hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
        taken = np.zeros(len(norm.text), dtype=bool)
        out = []
        for s, e, i in hits:
            if not taken[s:e].any():
                taken[s:e] = True
                out.append((s, e, i))
        return sorted(out)


def quoted_segments(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of every “…” quotation in ``text``, marks included."""
    return [m.span() for m in _QUOTED.finditer(text)]


def widen_to_quotation(spans: list[tuple[int, int]], text: str,
                       min_share: float = 0.5) -> list[tuple[int, int]]:
    """Widen quote spans to the whole “…” they mostly fill."""
    segs = quoted_segments(text)
    out = []
    for s, e in spans:
        for qs, qe in segs:
            inner = max(1, qe - qs - 2)
            ov = max(0, min(e, qe - 1) - max(s, qs + 1))
            if ov >= min_share * inner and s >= qs and e <= qe + 1:
                s, e = min(s, qs), max(e, qe)
                break
        out.append((s, e))
    return out


def df_threshold(n_docs: int, min_df: int = 3, df_ratio: float = 0.3,
                 max_df_abs: int = 20) -> int:
    """Document frequency from which a k-gram counts as boilerplate."""
    return max(2, min(max(min_df, math.ceil(df_ratio * n_docs)), max_df_abs))


@dataclass
class BoilerplateRuns:
    """Per-document boilerplate k-gram masks and the phrase runs they form.

    Attributes:
        masks: Per document, True at k-gram positions that are boilerplate.
        runs: Per document, ``(ns, ne)`` normalised ranges of boilerplate phrases.
    """

    masks: list[np.ndarray]
    runs: list[list[tuple[int, int]]]


def boilerplate_runs(hashes: Sequence[np.ndarray], k: int, threshold: int,
                     max_run: int = 80, run_gap: int = 2,
                     n_count: int | None = None) -> BoilerplateRuns:
    """Find stock phrases by document frequency of k-grams.

    :func:`frequent_kgrams` over the counted documents, then
    :func:`doc_boilerplate` per document (the stage runs the latter on its
    engine, one document at a time).

    Args:
        hashes: Per document, its k-gram hashes (:func:`~.fingerprint.kgram_hashes`).
        k: The k-gram length.
        threshold: Minimum number of documents holding a k-gram.
        max_run: Runs longer than this (normalised chars) are copied passages,
            not phrases, and are left unmasked.
        run_gap: High-df k-grams at most this far apart form one run.
        n_count: Count document frequency over the first ``n_count`` documents
            only (the essays; reference documents are masked but not counted).
    """
    n_count = len(hashes) if n_count is None else n_count
    common = KgramSet(frequent_kgrams(hashes[:n_count], threshold))
    found = [doc_boilerplate(h, common, k, max_run, run_gap) for h in hashes]
    return BoilerplateRuns([m for m, _ in found], [r for _, r in found])


class KgramSet:
    """A sorted set of k-gram hashes with a bucket table for fast membership tests.

    Args:
        values: Sorted distinct hashes (:func:`frequent_kgrams`).
    """

    _BITS = 20
    _SHIFT = np.uint64(64 - _BITS)

    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values, dtype=np.uint64)
        self._table = np.zeros(1 << self._BITS, dtype=bool)
        self._table[(self.values >> self._SHIFT).view(np.int64)] = True

    def __len__(self) -> int:
        return len(self.values)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """``np.isin(hashes, values)``: the bucket table first, an exact lookup of its hits."""
        out = self._table[(hashes >> self._SHIFT).view(np.int64)]
        cand = np.flatnonzero(out)
        if len(cand):
            h = hashes[cand]
            loc = np.searchsorted(self.values, h)
            loc[loc == len(self.values)] = 0
            out[cand] = self.values[loc] == h
        return out


def doc_boilerplate(hashes: np.ndarray, common: KgramSet, k: int, max_run: int = 80,
                    run_gap: int = 2) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Boilerplate mask and phrase runs of one document.

    Args:
        hashes: The document's k-gram hashes.
        common: The frequent k-grams (:func:`frequent_kgrams`).
        k, max_run, run_gap: As for :func:`boilerplate_runs`.

    Returns:
        ``(mask, runs)``: True at k-gram positions inside a kept run, and the
        runs as ``(ns, ne)`` normalised ranges.
    """
    if len(common) == 0 or len(hashes) == 0:
        return np.zeros(len(hashes), dtype=bool), []
    hit = np.flatnonzero(common.contains(hashes))
    mask = np.zeros(len(hashes), dtype=bool)
    if len(hit) == 0:
        return mask, []
    gaps = np.flatnonzero(hit[1:] - hit[:-1] > run_gap).tolist()
    pos = hit.tolist()
    runs = []
    for a, b in zip([0] + [g + 1 for g in gaps], gaps + [len(pos) - 1]):
        s, e = pos[a], pos[b]
        if e + k - s <= max_run:
            mask[s:e + 1] = True
            runs.append((s, e + k))
    return mask, runs


#: Bucket table of the first filtering level: ``_MIN_BITS`` to ``_MAX_BITS`` bits, about
#: threshold / 2 k-grams a bucket (a small table counts fast, a fuller one lets too many
#: through); the next levels use 20 bits each.
_MIN_BITS, _MAX_BITS, _LEVEL_BITS = 16, 24, 20


def _bucket_ids(h: np.ndarray, shift: int, bits: int) -> np.ndarray:
    """``bits`` bits of every hash starting at bit ``shift``, as int64 bucket numbers."""
    b = h >> np.uint64(shift)
    if shift + bits < 64:
        b &= np.uint64((1 << bits) - 1)
    return b.view(np.int64)


def _doc_chunks(lens: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Consecutive document ranges holding about ``size`` k-grams each."""
    out, a, acc = [], 0, 0
    for i, n in enumerate(lens.tolist()):
        acc += n
        if acc >= size:
            out.append((a, i + 1))
            a, acc = i + 1, 0
    if a < len(lens):
        out.append((a, len(lens)))
    return out


def frequent_kgrams(hashes: Sequence[np.ndarray], threshold: int,
                    chunk: int = 1 << 19, lens: np.ndarray | None = None) -> np.ndarray:
    """Sorted distinct hashes held by at least ``threshold`` of the documents.

    Bucket counts (occurrences, not documents) bound every hash's document
    frequency from above. The first level counts the top hash bits over the
    documents chunk by chunk (never all hashes concatenated at once) and keeps
    the occurrences in buckets reaching ``threshold``; two more levels on
    other bits of the survivors thin them out further; only what is left is
    sorted and counted exactly by ``(hash, document)``.

    Args:
        hashes: Per document, its k-gram hashes.
        threshold: Minimum document frequency.
        chunk: k-grams concatenated at a time in the first level.
        lens: ``len(h)`` of every array, when known without reading ``hashes``
            (a lazy sequence such as :class:`~.store.StoredHashes`).
    """
    if lens is None:
        lens = np.fromiter((len(h) for h in hashes), dtype=np.int64, count=len(hashes))
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    if total == 0 or len(hashes) < threshold:
        return np.zeros(0, dtype=np.uint64)
    bits = min(_MAX_BITS, max(_MIN_BITS, round(float(np.log2(2 * total / threshold)))))
    shift = 64 - bits
    parts = _doc_chunks(lens, max(chunk, 1 << (bits - 1)))  # a table add per chunk

    def concat(a: int, b: int) -> np.ndarray:
        return np.concatenate([np.asarray(h, dtype=np.uint64) for h in hashes[a:b]])

    counts = np.zeros(1 << bits, dtype=np.int64)
    for a, b in parts:
        counts += np.bincount(_bucket_ids(concat(a, b), shift, bits), minlength=1 << bits)
    hot = counts >= threshold
    del counts
    if not hot.any():
        return np.zeros(0, dtype=np.uint64)
    keep_h, keep_d = [], []
    for a, b in parts:
        cat = concat(a, b)
        sel = np.flatnonzero(hot[_bucket_ids(cat, shift, bits)])
        if len(sel):
            keep_h.append(cat[sel])
            keep_d.append(a + np.searchsorted(np.cumsum(lens[a:b]), sel, "right"))
    del hot
    h, doc = np.concatenate(keep_h), np.concatenate(keep_d)
    for level in (1, 2):  # the next 20-bit slices, counted over the survivors only
        if len(h) < threshold:
            return np.zeros(0, dtype=np.uint64)
        b = _bucket_ids(h, shift - level * _LEVEL_BITS, _LEVEL_BITS)
        sel = np.bincount(b, minlength=1 << _LEVEL_BITS)[b] >= threshold
        h, doc = h[sel], doc[sel]
    if len(h) == 0:
        return np.zeros(0, dtype=np.uint64)
    order = np.lexsort((doc, h))
    h, doc = h[order], doc[order]
    pair = np.r_[True, (h[1:] != h[:-1]) | (doc[1:] != doc[:-1])]  # one per (hash, doc)
    hu = h[pair]
    starts = np.flatnonzero(np.r_[True, hu[1:] != hu[:-1]])
    df = np.diff(np.r_[starts, len(hu)])
    return hu[starts[df >= threshold]]


def common_hashes(allh: np.ndarray, offsets: np.ndarray, threshold: int) -> np.ndarray:
    """:func:`frequent_kgrams` of documents concatenated in ``allh``.

    Args:
        allh: The documents' hash arrays, concatenated.
        offsets: ``len(docs) + 1`` boundaries of the documents in ``allh``.
        threshold: Minimum document frequency.
    """
    bounds = np.asarray(offsets).tolist()
    return frequent_kgrams([allh[a:b] for a, b in zip(bounds[:-1], bounds[1:])], threshold)


def span_mask(n_kgrams: int, spans: Sequence[tuple[int, int]], k: int) -> np.ndarray:
    """k-gram positions overlapping any normalised span (for masking seeds)."""
    m = np.zeros(max(0, n_kgrams), dtype=bool)
    for ns, ne in spans:
        lo, hi = max(0, ns - k + 1), min(n_kgrams, ne)
        if lo < hi:
            m[lo:hi] = True
    return m


def pair_kind(group_a: int, group_b: int) -> str | None:
    """Kind of a pair of documents by group (0 = essay, 1 = reference template)."""
    if group_a == 0 and group_b == 0:
        return "submission"
    if {group_a, group_b} == {0, 1}:
        return "template"
    return None
