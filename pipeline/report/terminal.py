"""Terminal summary for ``xinde check`` (rich): score, reasons, themes, copied passages.

All essay-derived text is passed through :func:`rich.markup.escape` so a
``[bold]`` or ``[link=…]`` inside an essay prints literally.
"""
from __future__ import annotations

from .i18n import strings, subscore_label
from .tables import largest_source

_KIND_STYLE = {"submission": "bold red", "template": "bold dark_orange", "boilerplate": "grey50",
               "quote": "green"}


def _points(v):
    if isinstance(v, dict):
        for k in ("points", "weighted", "score", "value"):
            if isinstance(v.get(k), (int, float)):
                mx = v.get("max") or v.get("max_points")
                if mx is None and isinstance(v.get("weight"), (int, float)) and "points" in v:
                    mx = v["weight"] * 100
                return float(v[k]), mx
        return None, None
    if isinstance(v, (int, float)):
        return float(v), None
    return None, None


def print_check(result, console=None, lang: str | None = None) -> None:
    """Print a readable summary of every essay (and skipped file) in ``result``.

    Args:
        result: A :class:`~pipeline.runner.RunResult` (usually one essay).
        console: A :class:`rich.console.Console`; a new one on stdout if None.
        lang: ``zh`` or ``en``; defaults to ``result.settings.lang``.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    lang = lang or getattr(result.settings, "lang", "zh") or "zh"
    t = strings(lang)
    prof = (result.cohort or {}).get("profile") or {}
    labels = {x["id"]: x.get("label") or x["id"] for x in prof.get("themes") or []
              if isinstance(x, dict) and x.get("id")}
    for s in result.skipped:
        console.print(f"[yellow]{t['term_skipped']}[/] {escape(s.source)}: {escape(s.reason)}")
    for e in result.essays:
        console.rule(f"[bold]{escape(e.id)}[/] {escape(e.title or e.source)}")
        console.print(f"{t['source_file']} {escape(e.source)} · {len(e.text)}{t['unit_chars']}"
                      f" · {len(e.sentences)}{t['unit_sentences']}")
        if e.engagement is not None:
            sc = e.engagement.score
            colour = "red" if sc < 40 else ("yellow" if sc < 60 else "green")
            console.print(f"[bold]{t['term_score']}[/] [bold {colour}]{sc:.0f}[/]/100")
            rows = [(k, *_points(v)) for k, v in (e.engagement.subscores or {}).items()]
            rows = [r for r in rows if r[1] is not None]
            if rows:
                tab = Table(show_header=False, box=None, padding=(0, 2))
                for key, pts, mx in rows:
                    label = (e.engagement.subscores[key].get("label")
                             if isinstance(e.engagement.subscores[key], dict) else None)
                    tab.add_row("  " + escape(subscore_label(str(key), lang,
                                                             str(label) if label else None)),
                                f"{pts:+.1f}" + (f" / {float(mx):.0f}" if mx else ""))
                tab.add_row(f"  [bold]{t['total']}[/]", f"[bold]{sum(r[1] for r in rows):.1f}[/]")
                console.print(tab)
            for r in e.engagement.reasons:
                console.print(f"  · {escape(str(r))}")
        if e.themes:
            covered = [tid for tid, r in sorted(e.themes.items())
                       if (r.extra.get("covered") if r.extra.get("covered") is not None
                           else bool(r.evidence))]
            names = "、".join(f"{labels.get(x, x)}({e.themes[x].score:.2f})" for x in covered)
            console.print(f"[bold]{t['term_themes']}[/] " + (escape(names) if names else t["none"]))
        src = largest_source(e)
        console.print(f"[bold]{t['term_copied']}[/] {e.copied_ratio:.0%}"
                      + (f" · {t['largest_source']} {escape(src)}" if src else ""))
        copied = [m for m in sorted(e.matches, key=lambda m: (m.start, m.end))
                  if m.kind in ("submission", "template")]
        if copied:
            console.print(f"[bold]{t['term_matches']}[/]")
        for m in copied:
            title = m.extra.get("source_title") or ""
            passage = e.text[m.start:m.end]
            if len(passage) > 60:
                passage = passage[:59] + "…"
            console.print(f"  [{_KIND_STYLE[m.kind]}]{t['kind_' + m.kind]}[/] "
                          f"{escape(m.source_id)} {escape(str(title))} "
                          f"[dim]{m.start}–{m.end} · {float(m.similarity):.0%}[/]")
            console.print(f"    “{escape(passage)}”")
        others = {k: sum(1 for m in e.matches if m.kind == k) for k in ("boilerplate", "quote")}
        extra = [f"{t['kind_' + k]} {n}" for k, n in others.items() if n]
        if extra:
            console.print("[dim]" + " · ".join(extra) + "[/]")
        for w in e.warnings:
            console.print(f"[yellow]{t['warnings']}[/] {escape(w)}")
