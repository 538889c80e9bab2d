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

    All documents are handled in one vectorised pass over the concatenated
    hash arrays (no per-document ``np.unique``/``np.isin``), split back by
    offsets at the end.

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
    lens = np.array([len(h) for h in hashes], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(lens)]
    total = int(offsets[-1])
    runs: list[list[tuple[int, int]]] = [[] for _ in hashes]
    n_count = len(hashes) if n_count is None else n_count
    allh = (np.concatenate([np.asarray(h, dtype=np.uint64) for h in hashes]) if total
            else np.zeros(0, dtype=np.uint64))
    common = common_hashes(allh[:int(offsets[n_count])], offsets[:n_count + 1], threshold)
    if len(common) == 0:
        return BoilerplateRuns(_split_at(np.zeros(total, dtype=bool), offsets), runs)
    hit = np.flatnonzero(_member(allh, common))
    if len(hit) == 0:
        return BoilerplateRuns(_split_at(np.zeros(total, dtype=bool), offsets), runs)
    doc = np.searchsorted(offsets, hit, "right") - 1
    local = hit - offsets[doc]
    new_run = np.r_[True, (doc[1:] != doc[:-1]) | (local[1:] - local[:-1] > run_gap)]
    first = np.flatnonzero(new_run)
    last = np.r_[first[1:], len(hit)] - 1
    keep = local[last] + k - local[first] <= max_run
    first, last = first[keep], last[keep]
    delta = np.zeros(total + 1, dtype=np.int8)
    delta[hit[first]] += 1  # run starts are distinct, and so are run ends
    delta[hit[last] + 1] -= 1
    mask = np.cumsum(delta[:-1], dtype=np.int8).astype(bool)
    for d, ns, nl in zip(doc[first].tolist(), local[first].tolist(), local[last].tolist()):
        runs[d].append((ns, nl + k))
    return BoilerplateRuns(_split_at(mask, offsets), runs)


_BUCKET_SHIFT = np.uint64(42)  # top 22 bits of a (well-mixed) k-gram hash


def _buckets(h: np.ndarray) -> np.ndarray:
    return (h >> _BUCKET_SHIFT).astype(np.intp)


def common_hashes(allh: np.ndarray, offsets: np.ndarray, threshold: int) -> np.ndarray:
    """Sorted distinct hashes held by at least ``threshold`` documents.

    Args:
        allh: The documents' hash arrays, concatenated.
        offsets: ``len(docs) + 1`` boundaries of the documents in ``allh``.
        threshold: Minimum document frequency.

    A bucket count over the top hash bits (occurrences, not documents) bounds
    every hash's document frequency from above, so only hashes in buckets
    reaching ``threshold`` are sorted and counted exactly.
    """
    if len(allh) == 0:
        return np.zeros(0, dtype=np.uint64)
    b = _buckets(allh)
    maybe = np.flatnonzero(np.bincount(b, minlength=1 << 22)[b] >= threshold)
    if len(maybe) == 0:
        return np.zeros(0, dtype=np.uint64)
    h = allh[maybe]
    doc = np.searchsorted(offsets, maybe, "right") - 1
    order = np.lexsort((doc, h))
    h, doc = h[order], doc[order]
    pair = np.r_[True, (h[1:] != h[:-1]) | (doc[1:] != doc[:-1])]  # one per (hash, doc)
    hu = h[pair]
    starts = np.flatnonzero(np.r_[True, hu[1:] != hu[:-1]])
    df = np.diff(np.r_[starts, len(hu)])
    return hu[starts[df >= threshold]]


def _member(h: np.ndarray, sorted_vals: np.ndarray) -> np.ndarray:
    """``np.isin(h, sorted_vals)`` via a bucket table, then an exact lookup of the few hits."""
    table = np.zeros(1 << 22, dtype=bool)
    table[_buckets(sorted_vals)] = True
    out = table[_buckets(h)]
    cand = np.flatnonzero(out)
    loc = np.searchsorted(sorted_vals, h[cand])
    loc[loc >= len(sorted_vals)] = 0
    out[cand] = sorted_vals[loc] == h[cand]
    return out


def _split_at(a: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Per-document views of a concatenated array."""
    return [a[s:e] for s, e in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


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
