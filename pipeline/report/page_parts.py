"""The repeated parts of an essay page as escaped HTML, built without Jinja.

An essay page repeats a few rows many times (sub-scores with their evidence,
the theme list, the legend, the match table). Rendered by Jinja each printed
value costs an attribute lookup, an ``escape`` and a generator step; built
here with one f-string per row they cost a fraction of that, and the page
template prints each part once. The HTML is byte-identical to what the
template loops produced (``tests/test_report_page_parts.py`` renders both).

Escaping is complete: every string that reaches the HTML goes through
:func:`markupsafe.escape` (``&``, ``<``, ``>``, ``'``, ``"``), exactly like
Jinja's autoescaping; only numbers formatted here (``%d``-like ints and
``%.Nf`` floats) are inserted as they are.
"""
from __future__ import annotations

from markupsafe import Markup, escape


def esc(value) -> str:
    """``value`` as Jinja's autoescaping prints it, as a plain ``str``.

    The same replacements as :func:`markupsafe.escape` (``&`` first), done
    with ``str.replace`` for a plain string and ``str()`` for an int, so the
    common cases build no :class:`~markupsafe.Markup` object; anything else
    (including ``Markup`` itself, which is not re-escaped) goes through
    ``markupsafe.escape``.
    """
    t = type(value)
    if t is str:
        return (value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
                .replace("'", "&#39;").replace('"', "&#34;"))
    if t is int:
        return str(value)
    return str(escape(value))


_e = esc


def subscore_rows(subs: list[dict], t: dict) -> Markup:
    """The ``<tr>`` rows of the sub-score table (one per entry of ``subs``).

    Args:
        subs: Rows as built by ``html._subscores`` (``key``, ``label``, ``note``,
            ``evidence``, ``n_evidence``, ``width``, ``neg``, ``points``, ``max``).
        t: The UI strings.
    """
    out = []
    basis = t["basis_n"]
    for s in subs:
        note = s["note"]
        evidence = s["evidence"]
        neg = s["neg"]
        parts = [f'<tr data-key="{_e(s["key"])}"><td>{_e(s["label"])}']
        if note:
            parts.append(f'<div class="ev">{_e(note)}</div>')
        if evidence:
            parts.append(f'<details class="ev"><summary>{_e(basis.format(n=s["n_evidence"]))}'
                         '</summary>')
            for ev in evidence:
                st = _e(ev["start"])
                parts.append(f'<div>· <a href="#c{st}" data-jump="{st}" data-end="{_e(ev["end"])}">'
                             f'{_e(ev["text"])}</a></div>')
            parts.append("</details>")
        parts.append("</td>\n<td>")
        if s["width"] is not None:
            parts.append(f'<span class="sbar"><i class="{"neg" if neg else ""}" '
                         f'style="width:{"%.0f" % s["width"]}%"></i></span>')
        parts.append(f'</td>\n<td class="num {"neg" if neg else "pos"}">{"%+.1f" % s["points"]}')
        if s["max"]:
            parts.append(f'<span class="muted"> / {"%.0f" % s["max"]}</span>')
        parts.append("</td></tr>\n")
        out.append("".join(parts))
    return Markup("".join(out))


def theme_items(themes: list[dict], t: dict) -> Markup:
    """The ``<li>`` items of the theme list (one per entry of ``themes``).

    Args:
        themes: Items as built by ``html._essay_context`` (``label``, ``score``,
            ``n``, ``covered``, ``first``).
        t: The UI strings.
    """
    out = []
    evidence_n = t["evidence_n"]
    for th in themes:
        label = _e(th["label"])
        first = th["first"]
        if first is not None:
            f = _e(first)
            label = f'<a href="#c{f}" data-jump="{f}">{label}</a>'
        score = th["score"]
        out.append(f'<li class="{"" if th["covered"] else "off"}"><span class="tl">{label}</span>\n'
                   f'<span class="sbar"><i style="width:{"%.0f" % (min(score, 1.0) * 100)}%;'
                   f'background:#1c6fd1"></i></span>\n'
                   f'<span class="num">{"%.2f" % score}</span> '
                   f'<span class="ev">{_e(evidence_n.format(n=th["n"]))}</span></li>\n')
    return Markup("".join(out))


def legend_spans(legend: list[dict]) -> Markup:
    """The legend's ``<span>`` swatches (``kind``, ``label``, ``n`` each)."""
    return Markup("".join(
        f'<span class="sw k-{k}" data-kind="{k}">{_e(x["label"])} ({_e(x["n"])})</span>'
        for x in legend for k in (_e(x["kind"]),)))


def match_rows(matches: list[dict], t: dict, truncate) -> Markup:
    """The ``<tr>`` rows of the match table.

    Args:
        matches: Rows as built by ``html._essay_context`` (``kind``,
            ``kind_label``, ``start``, ``text``, ``href``, ``source_id``,
            ``source_title``, ``similarity``).
        t: The UI strings.
        truncate: ``f(text) -> str`` shortening the passage (Jinja's
            ``truncate(80)`` filter).
    """
    out = []
    for m in matches:
        st = _e(m["start"])
        sid = _e(m["source_id"])
        src = f'<a href="{_e(m["href"])}">{sid}</a>' if m["href"] else sid
        sim = m["similarity"]
        sim = "%.0f%%" % (sim * 100) if sim is not None else _e(t["na"])
        out.append(f'<tr><td><span class="sw k-{_e(m["kind"])}" style="white-space:nowrap">'
                   f'{_e(m["kind_label"])}</span></td>\n'
                   f'<td><a href="#c{st}" data-jump="{st}">{_e(truncate(m["text"]))}</a></td>\n'
                   f'<td>{src} <span class="src">{_e(m["source_title"])}</span></td>\n'
                   f'<td class="num">{sim}</td></tr>\n')
    return Markup("".join(out))
