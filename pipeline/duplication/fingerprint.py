"""Char n-gram hashes, winnowing fingerprints and candidate-pair generation.

Candidate generation never compares all pairs: every document is reduced to
its winnowed fingerprints (Schleimer et al. 2003: the minimum k-gram hash of
each window of ``window`` consecutive k-grams, so any shared run of at least
``window + k - 1`` normalised chars shares a fingerprint), an inverted index
maps each fingerprint to the documents holding it, and only documents that
share at least ``min_shared`` fingerprints become candidate pairs. Fingerprints
held by more than ``max_df`` documents are stock phrases, not evidence of
copying one source, and are ignored, which keeps the work near-linear in the
number of documents.

:func:`candidate_pairs` is a pure function (fingerprint arrays in, pairs out)
so it can be distributed (e.g. computed per shard with Dask) without the rest
of the stage; :func:`candidates_from_texts` goes from normalised texts.

Hashes are a deterministic polynomial rolling hash over code points (uint64
arithmetic, wrapping), independent of ``PYTHONHASHSEED``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

_BASE = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def kgram_hashes(text: str, k: int) -> np.ndarray:
    """Hash of every char k-gram of ``text``: ``len(text) - k + 1`` uint64s (empty if shorter)."""
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    n = len(text) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _BASE + cp[j:j + n]
        h = (h ^ (h >> np.uint64(29))) * _MIX
    return h


def winnow(hashes: np.ndarray, window: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Winnowed fingerprints (unique, sorted) of a k-gram hash array.

    Args:
        hashes: Output of :func:`kgram_hashes`.
        window: Winnowing window (number of consecutive k-grams).
        mask: Optional boolean array, True at k-gram positions to leave out
            (boilerplate, quotations).
    """
    if window < 1:
        raise ValueError(f"window must be ≥ 1, got {window}")
    h = hashes
    if mask is not None and mask.any():
        h = h[~mask]
    if len(h) == 0:
        return np.zeros(0, dtype=np.uint64)
    if len(h) <= window:
        return h[[int(np.argmin(h))]]
    n = len(h) - window + 1
    mins = h[:n].copy()  # minimum of each window of ``window`` consecutive k-grams
    for j in range(1, window):
        np.minimum(mins, h[j:j + n], out=mins)
    return sorted_unique(mins)


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by sorting (numpy 2's hash-based unique is slow on small arrays)."""
    a = np.sort(a)
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def candidate_pairs(fingerprints: Sequence[np.ndarray], *, min_shared: int = 2,
                    max_df: int = 64, groups: Sequence[int] | None = None,
                    ) -> list[tuple[int, int, int]]:
    """Pairs of documents sharing at least ``min_shared`` fingerprints.

    Args:
        fingerprints: One array of unique fingerprints per document.
        min_shared: Minimum number of shared fingerprints for a candidate.
        max_df: Fingerprints held by more documents are ignored.
        groups: Optional group label per document; pairs within the same
            group ≠ 0 are dropped (e.g. reference documents among themselves).

    Returns:
        ``(i, j, n_shared)`` with ``i < j``, sorted by ``(i, j)``.
    """
    if min_shared < 1:
        raise ValueError(f"min_shared must be ≥ 1, got {min_shared}")
    if max_df < 2:
        raise ValueError(f"max_df must be ≥ 2, got {max_df}")
    lens = np.fromiter((len(f) for f in fingerprints), dtype=np.int64, count=len(fingerprints))
    if lens.sum() == 0:
        return []
    hs = np.concatenate([np.asarray(f, dtype=np.uint64) for f in fingerprints])
    return candidate_pairs_flat(hs, lens, min_shared=min_shared, max_df=max_df, groups=groups)


def candidate_pairs_flat(hs: np.ndarray, lens: np.ndarray, *, min_shared: int = 2,
                         max_df: int = 64, groups: Sequence[int] | None = None,
                         parts: int = 8) -> list[tuple[int, int, int]]:
    """:func:`candidate_pairs` of the documents' fingerprints concatenated in ``hs``.

    The hash space is worked through in ``parts`` slices of its top bits, so the
    temporary arrays are a fraction of ``hs``. The pair occurrences found are
    kept in ``parts`` bins by their first document and each bin is counted on
    its own, in document order: the sort and its copy hold one bin at a time,
    not every occurrence of the cohort. The result does not depend on ``parts``.

    Args:
        hs: Every document's unique fingerprints, one document after the other.
        lens: Fingerprints per document.
        parts: Slices of the hash space worked through one at a time (a power of 2).
    """
    if min_shared < 1:
        raise ValueError(f"min_shared must be ≥ 1, got {min_shared}")
    if max_df < 2:
        raise ValueError(f"max_df must be ≥ 2, got {max_df}")
    lens = np.asarray(lens, dtype=np.int64)
    if len(hs) == 0:
        return []
    ends = np.cumsum(lens)
    n = np.int64(len(lens))
    bits = min(8, max(0, int(parts).bit_length() - 1))
    if bits:  # each fingerprint's slice, computed in chunks (no full-size uint64 temporary)
        top = np.empty(len(hs), dtype=np.uint8)
        for a in range(0, len(hs), 1 << 20):
            top[a:a + (1 << 20)] = hs[a:a + (1 << 20)] >> np.uint64(64 - bits)
    nparts = max(1, int(parts))
    span = (int(n) + nparts - 1) // nparts * int(n)  # keys of one bin: first documents in a range
    bins: list[list[np.ndarray]] = [[] for _ in range(nparts)]
    for part in range(1 << bits):
        if bits:
            pos = np.flatnonzero(top == part)
            pos = pos[_shared_positions(hs[pos])]
        else:
            pos = _shared_positions(hs)  # most fingerprints belong to one document only
        if len(pos) == 0:
            continue
        h = hs[pos]
        order = np.argsort(h, kind="stable")  # equal fingerprints: documents ascending
        h, docs = h[order], np.searchsorted(ends, pos[order], "right")
        del order, pos
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        sizes = np.diff(np.r_[starts, len(h)])
        for s in sorted_unique(sizes).tolist():
            if s < 2 or s > max_df:
                continue
            st = starts[sizes == s]
            block = docs[st[:, None] + np.arange(s)[None, :]]  # (groups, s), docs ascending
            a, b = np.triu_indices(s, 1)
            keys = (block[:, a] * n + block[:, b]).ravel()
            which = keys // span
            for b_ in sorted_unique(which).tolist():
                bins[b_].append(keys[which == b_])
    out = []
    for b_ in range(nparts):  # first documents ascending: the output is in key order
        if not bins[b_]:
            continue
        allk = np.sort(np.concatenate(bins[b_]))
        bins[b_] = []
        first = np.flatnonzero(np.r_[True, allk[1:] != allk[:-1]])
        counts = np.diff(np.r_[first, len(allk)])
        sel = counts >= min_shared
        for key, c in zip(allk[first[sel]].tolist(), counts[sel].tolist()):
            i, j = divmod(key, int(n))
            if groups is not None and groups[i] != 0 and groups[i] == groups[j]:
                continue
            out.append((i, j, c))
    return out


def _shared_positions(hs: np.ndarray) -> np.ndarray:
    """Positions in ``hs`` of the values occurring there more than once (ascending)."""
    srt = np.sort(hs)
    dup = srt[1:] == srt[:-1]
    shared = srt[1:][dup]
    del srt, dup
    if len(shared) == 0:
        return np.zeros(0, dtype=np.int64)
    keep = np.empty(len(shared), dtype=bool)
    keep[0] = True
    np.not_equal(shared[1:], shared[:-1], out=keep[1:])
    shared = shared[keep]
    # membership through a bucket table of the top 20 bits, then an exact lookup of its hits
    table = np.zeros(1 << 20, dtype=bool)
    table[(shared >> _TOP20).view(np.int64)] = True
    pos = np.flatnonzero(table[(hs >> _TOP20).view(np.int64)])
    loc = np.searchsorted(shared, hs[pos])
    loc[loc == len(shared)] = 0
    return pos[shared[loc] == hs[pos]]


_TOP20 = np.uint64(44)


def candidates_from_texts(texts: Sequence[str], *, k: int = 6, window: int = 6,
                          min_shared: int = 2, max_df: int = 64,
                          masks: Sequence[np.ndarray | None] | None = None,
                          groups: Sequence[int] | None = None) -> list[tuple[int, int, int]]:
    """:func:`candidate_pairs` from normalised texts (hash → winnow → pairs)."""
    fps = []
    for i, t in enumerate(texts):
        h = kgram_hashes(t, k)
        m = masks[i] if masks is not None else None
        fps.append(winnow(h, window, m))
    return candidate_pairs(fps, min_shared=min_shared, max_df=max_df, groups=groups)
