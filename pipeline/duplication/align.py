"""Align a candidate pair: seeds → passages (one copied passage = one match).

Seed-and-extend in the manner of the best PAN text-alignment systems
(Sanchez-Perez et al. 2014):

1. **Seeds** — every pair of positions ``(i, j)`` where the two normalised
   texts share a k-gram (positions masked as boilerplate/quotation and k-grams
   repeated more than ``max_occ`` times are left out).
2. **Clustering** — seeds are split recursively wherever consecutive seeds
   (sorted by ``i``, then by ``j``) are more than ``gap`` chars apart, until no
   split happens. A passage whose sentences were reordered or whose words were
   lightly edited stays one cluster, because its seeds are dense in both texts.
3. **Merging** — neighbouring clusters closer than ``merge_gap`` on *both*
   sides are merged (paragraphs moved together, a masked stock phrase inside a
   copied passage), so that one copied passage comes back as one match
   (PAN granularity ≈ 1).
4. **Filtering** — passages shorter than ``min_len`` normalised chars on
   either side, or whose seeds cover less than ``min_density`` of them, are
   dropped (a shared 13-char notice title is never a copy).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Passage:
    """A shared passage in normalised coordinates (half-open ranges).

    Attributes:
        a_start, a_end: Range in the first text.
        b_start, b_end: Range in the second text.
        covered: Normalised chars of the first range covered by seeds.
    """

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    covered: int

    @property
    def a_len(self) -> int:
        return self.a_end - self.a_start

    @property
    def b_len(self) -> int:
        return self.b_end - self.b_start


class SortedHashes:
    """A k-gram hash array prepared for lookups (sorted once, reused for every pair).

    Masked k-grams (boilerplate, quotations) are left out *and* squeezed out of
    the coordinates used for clustering: seeds are numbered by their rank among
    unmasked k-grams (``real`` maps a rank back to the k-gram position), so a
    stock phrase or quotation inside a copied passage does not split it.
    """

    def __init__(self, hashes: np.ndarray, mask: np.ndarray | None = None,
                 order: np.ndarray | None = None):
        """Args:
            hashes: k-gram hashes of one normalised text.
            mask: Optional, True at k-gram positions to leave out.
            order: Optional ``np.argsort(hashes, kind="stable")`` computed beforehand
                (the masked order is then derived from it without sorting again).
        """
        if order is None:
            order = np.argsort(hashes, kind="stable")
        order = order.astype(np.int32, copy=False)
        if mask is not None and mask.any():
            keep = ~mask
            self.real = np.flatnonzero(keep).astype(np.int32)
            rank = np.cumsum(keep, dtype=np.int32) - 1  # rank among unmasked k-grams
            order = order[keep[order]]  # a stable filter of a sorted order stays sorted
            self.pos = rank[order]
        else:
            self.real = np.arange(len(hashes), dtype=np.int32)
            self.pos = order  # rank among unmasked k-grams, in hash order
        self.hashes = hashes[order]
        self.n = len(self.hashes)
        self.uniq = _uniq(self.hashes)


def _uniq(sorted_h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values of a sorted array, the index of each one's first copy, and its count."""
    if len(sorted_h) == 0:
        z = np.zeros(0, dtype=np.int64)
        return sorted_h, z, z
    first = np.empty(len(sorted_h), dtype=bool)
    first[0] = True
    np.not_equal(sorted_h[1:], sorted_h[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(starts, append=len(sorted_h))
    return sorted_h[starts], starts, counts


def seeds(a: SortedHashes, b: SortedHashes, max_occ: int = 4) -> np.ndarray:
    """All ``(i, j)`` (unmasked ranks) where ``a`` and ``b`` share a k-gram, shape ``(n, 2)``."""
    if a.n == 0 or b.n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    ua, sa, ca = a.uniq
    ub, sb, cb = b.uniq
    loc = np.searchsorted(ub, ua)
    loc[loc >= len(ub)] = len(ub) - 1
    hit = ub[loc] == ua
    if not hit.any():
        return np.zeros((0, 2), dtype=np.int64)
    la, na = sa[hit], ca[hit]
    lb, nb = sb[loc[hit]], cb[loc[hit]]
    ok = (na <= max_occ) & (nb <= max_occ)
    la, na, lb, nb = la[ok], na[ok], lb[ok], nb[ok]
    tot = na * nb
    if len(tot) and tot.max() == 1:  # every shared k-gram once on each side: no products
        s = np.stack([a.pos[la], b.pos[lb]], axis=1)
        return s[np.lexsort((s[:, 1], s[:, 0]))]
    rep_a, rep_b = np.repeat(la, tot), np.repeat(lb, tot)
    off = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
    nbr = np.repeat(nb, tot)
    s = np.stack([a.pos[rep_a + off // nbr], b.pos[rep_b + off % nbr]], axis=1)
    return s[np.lexsort((s[:, 1], s[:, 0]))]


def _split(s: np.ndarray, col: int, gap: int) -> list[np.ndarray]:
    """Seeds sorted (stably) by column ``col``, cut where it jumps by more than ``gap``."""
    d = np.diff(s[:, col])
    if (d < 0).any():  # not sorted yet (a stable sort of a sorted column is a no-op)
        s = s[np.argsort(s[:, col], kind="stable")]
        d = np.diff(s[:, col])
    breaks = np.flatnonzero(d > gap) + 1
    if len(breaks) == 0:
        return [s]
    bounds = [0, *breaks.tolist(), len(s)]
    return [s[x:y] for x, y in zip(bounds[:-1], bounds[1:])]


def cluster_seeds(s: np.ndarray, gap: int) -> list[np.ndarray]:
    """Split seeds until they are dense (≤ ``gap`` apart) in both texts."""
    if len(s) == 0:
        return []
    out, stack = [], [s]
    while stack:
        c = stack.pop()
        parts = _split(c, 0, gap)
        if len(parts) == 1:
            parts = _split(c, 1, gap)
            if len(parts) == 1:
                out.append(parts[0])
                continue
        stack.extend(parts)
    out.sort(key=lambda c: (int(c[:, 0].min()), int(c[:, 1].min())))
    return out


def _covered(points: np.ndarray, k: int) -> int:
    """Number of chars covered by k-grams starting at ``points`` (repeats allowed)."""
    if len(points) == 0:
        return 0
    p = np.sort(points)
    # union length of [p, p+k): sum of min(k, gap to next start); a repeated start adds 0
    gaps = np.empty(len(p), dtype=np.int64)
    np.subtract(p[1:], p[:-1], out=gaps[:-1])
    gaps[-1] = k
    return int(np.minimum(gaps, k).sum())


@dataclass
class _Cl:
    a0: int
    a1: int
    b0: int
    b1: int
    ia: np.ndarray
    jb: np.ndarray


def _to_cl(c: np.ndarray, k: int) -> _Cl:
    return _Cl(int(c[:, 0].min()), int(c[:, 0].max()) + k, int(c[:, 1].min()),
               int(c[:, 1].max()) + k, c[:, 0], c[:, 1])


def _dist(x0: int, x1: int, y0: int, y1: int) -> int:
    """Gap between two ranges (0 if they overlap)."""
    return max(0, max(x0, y0) - min(x1, y1))


def _dense(o: _Cl, c: _Cl, k: int, min_density: float) -> bool:
    """Would the union of two clusters still be dense enough on both sides?"""
    a0, a1, b0, b1 = min(o.a0, c.a0), max(o.a1, c.a1), min(o.b0, c.b0), max(o.b1, c.b1)
    ca = _covered(np.r_[o.ia, c.ia], k)
    cb = _covered(np.r_[o.jb, c.jb], k)
    return ca >= min_density * (a1 - a0) and cb >= min_density * (b1 - b0)


def _overlap(x0: int, x1: int, y0: int, y1: int) -> int:
    return max(0, min(x1, y1) - max(x0, y0))


def _parallel(o: _Cl, c: _Cl) -> bool:
    """Two clusters mostly over the same text on one side are alternatives, not fragments
    (the source repeats itself): never merge them."""
    oa = _overlap(o.a0, o.a1, c.a0, c.a1)
    ob = _overlap(o.b0, o.b1, c.b0, c.b1)
    return (oa > 0.5 * min(o.a1 - o.a0, c.a1 - c.a0)
            or ob > 0.5 * min(o.b1 - o.b0, c.b1 - c.b0))


def _drop_dominated(ps: list[Passage]) -> list[Passage]:
    """Of passages mostly over the same text of either document, keep the best covered."""
    keep: list[Passage] = []
    for p in sorted(ps, key=lambda p: (-p.covered, p.a_start, p.b_start)):
        if all(_overlap(p.a_start, p.a_end, q.a_start, q.a_end) <= 0.5 * p.a_len
               and _overlap(p.b_start, p.b_end, q.b_start, q.b_end) <= 0.5 * p.b_len
               for q in keep):
            keep.append(p)
    return sorted(keep, key=lambda p: (p.a_start, p.b_start))


def merge_clusters(cls: list[_Cl], merge_gap: int, k: int = 6,
                   min_density: float = 0.0) -> list[_Cl]:
    """Merge clusters close on both sides (keeping the union dense) until stable."""
    cls = sorted(cls, key=lambda c: (c.a0, c.b0))
    changed = True
    while changed and len(cls) > 1:
        changed = False
        out: list[_Cl] = []
        for c in cls:
            for o in out:
                if (_dist(o.a0, o.a1, c.a0, c.a1) <= merge_gap
                        and _dist(o.b0, o.b1, c.b0, c.b1) <= merge_gap
                        and not _parallel(o, c)
                        and (min_density <= 0 or _dense(o, c, k, min_density))):
                    o.a0, o.a1 = min(o.a0, c.a0), max(o.a1, c.a1)
                    o.b0, o.b1 = min(o.b0, c.b0), max(o.b1, c.b1)
                    o.ia = np.r_[o.ia, c.ia]
                    o.jb = np.r_[o.jb, c.jb]
                    changed = True
                    break
            else:
                out.append(c)
        cls = sorted(out, key=lambda c: (c.a0, c.b0))
    return cls


def align(a: SortedHashes, b: SortedHashes, *, k: int, gap: int = 24, merge_gap: int = 60,
          min_len: int = 25, min_density: float = 0.4, max_occ: int = 4,
          ) -> list[Passage]:
    """Shared passages of two documents, in normalised coordinates.

    Args:
        a, b: Prepared k-gram hashes of the two normalised texts.
        k: The k-gram length the hashes were built with.
        gap: Max distance between neighbouring seeds of one cluster.
        merge_gap: Max distance (on both sides) for merging clusters.
        min_len: Minimum passage length (normalised chars) on both sides.
        min_density: Minimum share of each side covered by seeds.
        max_occ: k-grams occurring more often in either text are not seeds.
    """
    s = seeds(a, b, max_occ)
    if len(s) == 0:
        return []
    cls = [_to_cl(c, k) for c in cluster_seeds(s, gap)]
    # tiny clusters (a repeated short phrase) are noise; drop them before merging so
    # they cannot bridge or stretch passages
    small = min(min_len, max(2 * k, 16))
    cls = [c for c in cls if min(_covered(c.ia, k), _covered(c.jb, k)) >= small]
    cls = merge_clusters(cls, merge_gap, k, min_density)
    out = []
    for c in cls:
        la, lb = c.a1 - c.a0, c.b1 - c.b0
        if la < min_len or lb < min_len:
            continue
        cov_a, cov_b = _covered(c.ia, k), _covered(c.jb, k)
        if min(cov_a, cov_b) < min_len:  # the shared chars themselves, not the extent
            continue
        if cov_a < min_density * la or cov_b < min_density * lb:
            continue
        out.append(Passage(int(a.real[c.a0]), int(a.real[c.a1 - k]) + k,
                           int(b.real[c.b0]), int(b.real[c.b1 - k]) + k, cov_a))
    return _drop_dominated(out)
