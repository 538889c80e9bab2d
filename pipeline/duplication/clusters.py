"""Clusters of near-identical submissions (connected components of close pairs).

The similarity of two essays is the mean of the shares of each essay's text
covered by passages shared with the other (1.0 = same text, 0.5 = e.g. one
essay wholly inside another twice its length … or both half-shared). Pairs at
or above ``threshold`` are linked; each connected component with ≥ 2 essays is
a cluster ``{"id": "C1", "essays": [...], "pairs": [{"a", "b", "similarity"}]}``.
"""
from __future__ import annotations

from typing import Iterable


def union_length(spans: Iterable[tuple[int, int]]) -> int:
    """Total length of the union of half-open spans."""
    total, cur_s, cur_e = 0, None, None
    for s, e in sorted(spans):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def subtract_spans(spans: Iterable[tuple[int, int]], holes: Iterable[tuple[int, int]],
                   ) -> list[tuple[int, int]]:
    """``spans`` minus ``holes`` (both half-open), as disjoint sorted spans."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        elif e > s:
            merged.append([s, e])
    hs = sorted(h for h in holes if h[1] > h[0])
    out = []
    for s, e in merged:
        cur = s
        for hs_, he in hs:
            if he <= cur or hs_ >= e:
                continue
            if hs_ > cur:
                out.append((cur, hs_))
            cur = max(cur, he)
            if cur >= e:
                break
        if cur < e:
            out.append((cur, e))
    return out


def pair_similarity(cov_a: int, len_a: int, cov_b: int, len_b: int) -> float:
    """Mean share of the two essays covered by their shared passages."""
    ra = cov_a / len_a if len_a else 0.0
    rb = cov_b / len_b if len_b else 0.0
    return (ra + rb) / 2


def build_clusters(pairs: Iterable[tuple[str, str, float]], threshold: float = 0.6,
                   ) -> list[dict]:
    """Connected components of pairs with similarity ≥ ``threshold``.

    Args:
        pairs: ``(id_a, id_b, similarity)``.
        threshold: Minimum similarity to link two essays.

    Returns:
        Clusters sorted by their first essay id, ids ``C1`` …, pairs sorted.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    kept = []
    for a, b, sim in pairs:
        if sim < threshold:
            continue
        a, b = min(a, b), max(a, b)
        kept.append((a, b, sim))
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    comps = sorted((sorted(v) for v in groups.values() if len(v) > 1), key=lambda v: v[0])
    out = []
    for n, members in enumerate(comps, 1):
        ms = set(members)
        ps = sorted((a, b, s) for a, b, s in kept if a in ms)
        out.append({"id": f"C{n}", "essays": members,
                    "pairs": [{"a": a, "b": b, "similarity": round(float(s), 4)}
                              for a, b, s in ps]})
    return out
