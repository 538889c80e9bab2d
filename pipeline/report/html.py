"""HTML report: a self-contained cohort overview (``index.html``).

Rendered with Jinja2 with autoescaping on: essay text is untrusted and is
always escaped. No external resources (CSS inline, no fonts, no scripts from
the network), so the page works from ``file://`` on an offline machine.
"""
from __future__ import annotations

from pathlib import Path

from .atomic import atomic_write_text
from .tables import largest_source


def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def write_html(result, out_dir: Path) -> list[Path]:
    env = _env()
    rows = []
    for e in result.essays:
        rows.append({"id": e.id, "source": e.source, "title": e.title, "n_chars": len(e.text),
                     "score": e.engagement.score if e.engagement else None,
                     "copied": e.copied_ratio, "largest": largest_source(e),
                     "themes": [t for t, r in sorted(e.themes.items()) if r.evidence],
                     "warnings": e.warnings})
    html = env.get_template("index.html.j2").render(
        rows=rows, skipped=result.skipped, n_files=result.n_files, lang=result.settings.lang)
    return [atomic_write_text(Path(out_dir) / "index.html", html)]
