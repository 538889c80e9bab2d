"""Inline SVG charts for the report: a score histogram and a theme × essay heatmap.

Plain SVG strings, no JavaScript library and no external resource. Every label
passes through :func:`markupsafe.escape` (theme labels and essay titles come
from user files).
"""
from __future__ import annotations

from typing import Sequence

from markupsafe import Markup, escape


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def histogram_svg(values: Sequence[float], *, lo: float = 0.0, hi: float = 100.0,
                  n_bins: int = 10, x_label: str = "", y_label: str = "",
                  width: int = 560, height: int = 220) -> Markup:
    """A bar chart of ``values`` counted in ``n_bins`` equal bins over ``[lo, hi]``.

    The top bin is closed (``hi`` falls in it); values outside the range are
    clamped into the end bins.

    Args:
        values: The numbers to count (e.g. engagement scores).
        lo, hi: Range of the x axis.
        n_bins: Number of bars.
        x_label, y_label: Axis captions.
        width, height: Size of the SVG in px.

    Returns:
        An ``<svg>`` element as :class:`~markupsafe.Markup`.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be ≥ 1, got {n_bins}")
    if not hi > lo:
        raise ValueError(f"hi must be > lo, got lo={lo}, hi={hi}")
    counts = [0] * n_bins
    for v in values:
        k = int((float(v) - lo) / (hi - lo) * n_bins)
        counts[min(max(k, 0), n_bins - 1)] += 1
    top = max(counts) if counts and max(counts) > 0 else 1
    ml, mr, mt, mb = 40, 10, 14, 40
    pw, ph = width - ml - mr, height - mt - mb
    bw = pw / n_bins
    out = [f'<svg class="chart hist" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(x_label)}">']
    # y grid: 0, top/2, top
    for frac in (0.0, 0.5, 1.0):
        y = mt + ph - frac * ph
        val = top * frac
        lab = _f(val) if val == int(val) else ""
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{_f(y)}" y2="{_f(y)}" class="grid"/>')
        if lab:
            out.append(f'<text x="{ml - 6}" y="{_f(y + 4)}" text-anchor="end">{lab}</text>')
    for i, c in enumerate(counts):
        x = ml + i * bw
        h = c / top * ph
        b_lo = lo + (hi - lo) * i / n_bins
        b_hi = lo + (hi - lo) * (i + 1) / n_bins
        out.append(f'<rect class="hbar" x="{_f(x + 2)}" y="{_f(mt + ph - h)}" '
                   f'width="{_f(bw - 4)}" height="{_f(h)}" data-count="{c}">'
                   f'<title>{_f(b_lo)}–{_f(b_hi)}: {c}</title></rect>')
        if c:
            out.append(f'<text x="{_f(x + bw / 2)}" y="{_f(mt + ph - h - 3)}" '
                       f'text-anchor="middle" class="count">{c}</text>')
        out.append(f'<text x="{_f(x)}" y="{mt + ph + 14}" text-anchor="middle">{_f(b_lo)}</text>')
    out.append(f'<text x="{ml + pw}" y="{mt + ph + 14}" text-anchor="middle">{_f(hi)}</text>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    out.append(f'<text x="{ml + pw / 2}" y="{height - 6}" text-anchor="middle" '
               f'class="axis-label">{escape(x_label)}</text>')
    out.append(f'<text x="12" y="{mt + ph / 2}" text-anchor="middle" class="axis-label" '
               f'transform="rotate(-90 12 {_f(mt + ph / 2)})">{escape(y_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _cell_colour(v: float | None) -> str:
    """White → deep blue for 0 → 1; grey for missing."""
    if v is None:
        return "#eeeeee"
    v = min(max(float(v), 0.0), 1.0)
    # interpolate #f7fbff → #08519c
    a, b = (0xf7, 0xfb, 0xff), (0x08, 0x51, 0x9c)
    r, g, bl = (round(a[i] + (b[i] - a[i]) * v) for i in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heatmap_svg(row_ids: Sequence[str], row_labels: Sequence[str], row_hrefs: Sequence[str],
                col_labels: Sequence[str], values: Sequence[Sequence[float | None]], *,
                cell_w: int = 90, cell_h: int = 22, label_w: int = 200) -> Markup:
    """A rows × columns heatmap (essays × themes) with linked row labels.

    Args:
        row_ids: Short row ids (essay ids), shown bold.
        row_labels: Longer row captions (titles), shortened to fit.
        row_hrefs: Relative link of each row (its essay page).
        col_labels: Column captions (theme labels).
        values: ``values[i][j]`` in 0–1, or ``None`` when not computed.

    Returns:
        An ``<svg>`` element as :class:`~markupsafe.Markup`.
    """
    n_rows, n_cols = len(row_ids), len(col_labels)
    if not (len(row_labels) == len(row_hrefs) == len(values) == n_rows):
        raise ValueError("row_ids, row_labels, row_hrefs and values must have the same length")
    head = 44
    width = label_w + n_cols * cell_w + 4
    height = head + n_rows * cell_h + 4
    out = [f'<svg class="chart heat" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for j, lab in enumerate(col_labels):
        x = label_w + j * cell_w + cell_w / 2
        text = str(lab)
        per = max(2, cell_w // 14)  # CJK glyphs per line at 12–13 px
        lines = [text[:per], text[per:2 * per]] if len(text) > per else [text]
        if len(text) > 2 * per:
            lines[1] = text[per:2 * per - 1] + "…"
        y0 = head - 8 - 15 * (len(lines) - 1)
        spans = "".join(f'<tspan x="{_f(x)}" y="{y0 + 15 * k}">{escape(ln)}</tspan>'
                        for k, ln in enumerate(lines))
        out.append(f'<text text-anchor="middle" class="col"><title>{escape(text)}</title>'
                   f'{spans}</text>')
    for i in range(n_rows):
        y = head + i * cell_h
        title = str(row_labels[i])
        short = title if len(title) <= 9 else title[:8] + "…"
        out.append(f'<a href="{escape(row_hrefs[i])}"><text x="4" y="{_f(y + cell_h * 0.7)}" '
                   f'class="row"><title>{escape(title)}</title>'
                   f'<tspan class="rid">{escape(row_ids[i])}</tspan> {escape(short)}</text></a>')
        row = values[i]
        if len(row) != n_cols:
            raise ValueError(f"row {i} has {len(row)} values, expected {n_cols}")
        for j, v in enumerate(row):
            x = label_w + j * cell_w
            tip = f"{row_ids[i]} · {col_labels[j]}: " + ("—" if v is None else f"{float(v):.2f}")
            out.append(f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" '
                       f'fill="{_cell_colour(v)}" class="cell"><title>{escape(tip)}</title></rect>')
            if v is not None and float(v) > 0:
                dark = float(v) > 0.55
                out.append(f'<text x="{_f(x + cell_w / 2)}" y="{_f(y + cell_h * 0.7)}" '
                           f'text-anchor="middle" class="v{" dark" if dark else ""}">'
                           f'{float(v):.2f}</text>')
    out.append("</svg>")
    return Markup("".join(out))
