"""CSV tables (UTF-8 with BOM so Excel shows Chinese correctly)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .atomic import atomic_write_bytes

ESSAY_COLUMNS = ["id", "source", "title", "author", "unit", "n_chars", "n_sentences",
                 "engagement", "copied_ratio", "largest_source", "themes", "warnings"]


def _csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else _safe_cell(v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _safe_cell(v):
    """Neutralise spreadsheet formula injection (=, +, -, @ at the start)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def largest_source(essay) -> str:
    """Id of the source sharing the most characters with ``essay`` (copies only)."""
    share: dict[str, int] = {}
    for m in essay.matches:
        if m.kind in ("submission", "template"):
            share[m.source_id] = share.get(m.source_id, 0) + (m.end - m.start)
    if not share:
        return ""
    return max(sorted(share), key=lambda k: share[k])


def essay_rows(result) -> list[list]:
    rows = []
    for e in result.essays:
        covered = [t for t, r in sorted(e.themes.items()) if r.evidence]
        rows.append([e.id, e.source, e.title, e.meta.get("author", ""), e.meta.get("unit", ""),
                     len(e.text), len(e.sentences),
                     round(e.engagement.score, 1) if e.engagement else "",
                     round(e.copied_ratio, 4), largest_source(e), " ".join(covered),
                     " | ".join(e.warnings)])
    return rows


def write_tables(result, out_dir: Path) -> list[Path]:
    out = Path(out_dir)
    paths = [atomic_write_bytes(out / "essays.csv", _csv_bytes(ESSAY_COLUMNS, essay_rows(result)))]
    return paths
