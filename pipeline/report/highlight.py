"""Turn overlapping annotated spans into flat, escaped HTML.

Matches (by kind) and theme evidence overlap freely: a template passage may
contain a quote, a theme sentence may straddle a copied one. HTML spans must
nest, so :func:`segment` cuts the text at every span boundary into
non-overlapping :class:`Segment` s, each knowing every annotation covering it;
:func:`render` escapes each piece of text and wraps covered pieces in one
``<span>`` whose classes name the kinds and whose ``data-a`` lists the
annotation indices (for the side panel).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup

from .page_parts import esc

#: Visual priority when kinds overlap: the first one present colours the
#: background (``top-<kind>`` class); theme evidence is drawn as an underline.
KIND_PRIORITY = ("submission", "template", "boilerplate", "quote", "theme")


@dataclass(frozen=True)
class Annotation:
    """One span to highlight.

    Attributes:
        start, end: Half-open char range in the text.
        kind: A match kind or ``"theme"``.
    """

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Segment:
    """A maximal run of text covered by the same set of annotations."""

    start: int
    end: int
    refs: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()

    @property
    def top(self) -> str:
        """The kind that colours this segment ('' when unannotated)."""
        for k in KIND_PRIORITY:
            if k in self.kinds:
                return k
        return self.kinds[0] if self.kinds else ""


def segment(n: int, annotations: Sequence[Annotation]) -> list[Segment]:
    """Cut ``[0, n)`` into segments at every annotation boundary.

    Annotations are clipped to ``[0, n)``; empty ones are ignored. The result
    covers ``[0, n)`` exactly, in order, without overlap.

    Args:
        n: Length of the text.
        annotations: Spans to lay over the text; their list index is the
            reference a segment carries in ``refs``.

    Returns:
        Segments in text order (none when ``n == 0``).
    """
    if n < 0:
        raise ValueError(f"text length must be ≥ 0, got {n}")
    clipped: list[tuple[int, int, int]] = []
    cuts = {0, n}
    for i, a in enumerate(annotations):
        s, e = max(0, min(a.start, n)), max(0, min(a.end, n))
        if e > s:
            clipped.append((s, e, i))
            cuts.update((s, e))
    bounds = sorted(cuts)
    out: list[Segment] = []
    # sweep: annotations sorted by start; `active` holds those covering the piece
    clipped.sort()
    active: list[tuple[int, int, int]] = []
    j = 0
    for lo, hi in zip(bounds, bounds[1:]):
        while j < len(clipped) and clipped[j][0] <= lo:
            active.append(clipped[j])
            j += 1
        active = [a for a in active if a[1] > lo]
        refs = tuple(sorted(a[2] for a in active))
        kinds = tuple(sorted({annotations[r].kind for r in refs},
                             key=lambda k: (KIND_PRIORITY.index(k) if k in KIND_PRIORITY
                                            else len(KIND_PRIORITY), k)))
        if out and out[-1].refs == refs:  # merge equal neighbours
            prev = out[-1]
            out[-1] = Segment(prev.start, hi, refs, kinds)
        else:
            out.append(Segment(lo, hi, refs, kinds))
    return out


def render(text: str, annotations: Sequence[Annotation]) -> Markup:
    """Escaped HTML of ``text`` with every annotation highlighted.

    Each covered segment becomes
    ``<span class="hl k-<kind>… top-<kind>" data-a="i j" data-s="start" data-e="end">``.
    Nothing from ``text`` is ever emitted unescaped.
    """
    parts: list[str] = []
    for seg in segment(len(text), annotations):
        piece = esc(text[seg.start:seg.end])
        if not seg.refs:
            parts.append(piece)
            continue
        classes = " ".join(["hl"] + [f"k-{k}" for k in seg.kinds] + [f"top-{seg.top}"])
        refs = " ".join(str(r) for r in seg.refs)
        parts.append(f'<span class="{esc(classes)}" data-a="{refs}" '
                     f'data-s="{seg.start}" data-e="{seg.end}" tabindex="0">{piece}</span>')
    return Markup("".join(parts))

