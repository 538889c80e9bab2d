"""Tables for spreadsheets: ``essays.csv``, ``matches.csv``, ``themes.csv`` and ``report.xlsx``.

CSV files are UTF-8 with a BOM so Excel/WPS open Chinese correctly, CRLF line
ends, one header row of stable English column names (other tools read them).
``report.xlsx`` (openpyxl) holds the same three sheets plus ``skipped``.
Cells that a spreadsheet would evaluate as a formula (``=``, ``+``, ``-``,
``@`` …) are prefixed with ``'`` in both formats: essay text is untrusted.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from pathlib import Path

from .atomic import atomic_write_bytes

ESSAY_COLUMNS = ["id", "source", "title", "author", "unit", "n_chars", "n_sentences",
                 "engagement", "copied_ratio", "largest_source", "themes", "warnings",
                 "cluster", "n_matches"]
MATCH_COLUMNS = ["essay_id", "start", "end", "kind", "source_id", "source_title",
                 "source_start", "source_end", "similarity", "text", "source_text"]
THEME_COLUMNS = ["essay_id", "theme", "label", "score", "covered", "n_evidence", "evidence"]
SKIPPED_COLUMNS = ["source", "code", "reason"]

#: Excel refuses cells longer than this …
_XLSX_MAX = 32767
#: … and sheets longer than this.
XLSX_MAX_ROWS = 1_048_576
#: Above this many cells report.xlsx holds only the essays and skipped sheets
#: (the matches/themes sheets name their CSV file instead).
XLSX_MAX_CELLS = 600_000
_WIDTHS = {"text": 60, "source_text": 60, "evidence": 60, "reason": 70, "title": 30,
           "source": 30, "warnings": 30, "source_title": 30}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _safe_cell(v):
    """Neutralise spreadsheet formula injection (=, +, -, @ at the start)."""
    if isinstance(v, str) and v[:1] in _FORMULA_START:
        return "'" + v
    return v


def _csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else _safe_cell(v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def largest_source(essay) -> str:
    """Id of the essay's largest source: ``essay.extra["largest_source"]`` when the
    duplication stage set it, else the source sharing the most characters
    (submission/template matches only); '' when nothing was copied."""
    ls = essay.extra.get("largest_source")
    if isinstance(ls, dict):
        return str(ls.get("source_id") or ls.get("id") or "")
    if ls:
        return str(ls)
    share: dict[str, int] = {}
    for m in essay.matches:
        if m.kind in ("submission", "template"):
            share[m.source_id] = share.get(m.source_id, 0) + (m.end - m.start)
    if not share:
        return ""
    return max(sorted(share), key=lambda k: share[k])


def _theme_labels(result) -> dict[str, str]:
    prof = (result.cohort or {}).get("profile") or {}
    return {t["id"]: t.get("label") or t["id"] for t in prof.get("themes") or []
            if isinstance(t, dict) and t.get("id")}


def _covered(res) -> bool:
    cov = res.extra.get("covered")
    return bool(cov) if cov is not None else bool(res.evidence)


def _clusters(result) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in (result.cohort or {}).get("clusters") or []:
        for eid in c.get("essays") or []:
            out.setdefault(eid, str(c.get("id", "")))
    return out


def essay_rows(result) -> list[list]:
    """One row per essay, columns :data:`ESSAY_COLUMNS`."""
    cluster = _clusters(result)
    rows = []
    for e in result.essays:
        covered = [t for t, r in sorted(e.themes.items()) if _covered(r)]
        rows.append([e.id, e.source, e.title, e.meta.get("author", ""), e.meta.get("unit", ""),
                     len(e.text), len(e.sentences),
                     round(e.engagement.score, 1) if e.engagement else "",
                     round(e.copied_ratio, 4), largest_source(e), " ".join(covered),
                     " | ".join(e.warnings), cluster.get(e.id, ""), len(e.matches)])
    return rows


def _source_title(result, m) -> str:
    if m.extra.get("source_title"):
        return str(m.extra["source_title"])
    if m.kind == "submission":
        src = result.by_id.get(m.source_id)
        return (src.title or src.source) if src else ""
    for t in (result.cohort or {}).get("templates") or []:
        if m.kind == "template" and t.get("id") == m.source_id:
            return str(t.get("title") or "")
    return ""


def match_rows(result) -> list[list]:
    """One row per match, columns :data:`MATCH_COLUMNS`, in essay and text order."""
    rows = []
    for e in result.essays:
        for m in sorted(e.matches, key=lambda m: (m.start, m.end, m.kind, m.source_id)):
            rows.append([e.id, m.start, m.end, m.kind, m.source_id, _source_title(result, m),
                         m.source_start, m.source_end, round(float(m.similarity), 4),
                         e.text[m.start:m.end], str(m.extra.get("source_text") or "")])
    return rows


def theme_rows(result) -> list[list]:
    """One row per essay × theme, columns :data:`THEME_COLUMNS`."""
    labels = _theme_labels(result)
    rows = []
    for e in result.essays:
        for tid, r in sorted(e.themes.items()):
            ev = " | ".join(e.text[s.start:s.end] for s in r.evidence)
            rows.append([e.id, tid, labels.get(tid) or r.extra.get("label") or tid,
                         round(float(r.score), 4), int(_covered(r)), len(r.evidence), ev])
    return rows


def skipped_rows(result) -> list[list]:
    return [[s.source, s.code, s.reason] for s in result.skipped]


def _xlsx_bytes(sheets: list[tuple[str, list[str], list[list]]]) -> bytes:
    """An .xlsx of ``(name, header, rows)`` sheets (openpyxl, write-only: streams rows).

    A sheet longer than Excel's row limit is cut there, with a last row saying
    so (the CSV files always hold everything).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    fixed = _dt.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "xinde"
    bold = Font(bold=True)
    for name, header, rows in sheets:
        ws = wb.create_sheet(name)
        ws.freeze_panes = "A2"
        for i, col in enumerate(header):
            letter = _column_letter(i)
            ws.column_dimensions[letter].width = _WIDTHS.get(col, max(10, len(col) + 2))
        head = []
        for col in header:
            c = WriteOnlyCell(ws, value=col)
            c.font = bold
            head.append(c)
        ws.append(head)
        for k, r in enumerate(rows):
            if k >= XLSX_MAX_ROWS - 2:
                ws.append([f"… {len(rows) - k} more rows: see {name}.csv"])
                break
            ws.append([_xlsx_cell(v) for v in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _xlsx_cell(v):
    if v is None:
        return None
    if isinstance(v, str):
        v = _ILLEGAL_XML.sub("", v)
        if len(v) > _XLSX_MAX:
            v = v[:_XLSX_MAX - 1] + "…"
        return _safe_cell(v)
    return v


def table_files(result) -> list[tuple[str, bytes]]:
    """The bytes of the CSV files and ``report.xlsx``, as ``(file name, bytes)``."""
    sheets = [("essays", ESSAY_COLUMNS, essay_rows(result)),
              ("matches", MATCH_COLUMNS, match_rows(result)),
              ("themes", THEME_COLUMNS, theme_rows(result))]
    files = [(f"{name}.csv", _csv_bytes(header, rows)) for name, header, rows in sheets]
    xl = sheets + [("skipped", SKIPPED_COLUMNS, skipped_rows(result))]
    if sum(len(h) * len(r) for _, h, r in xl) > XLSX_MAX_CELLS:
        # openpyxl writes ~30k cells/s: keep the workbook to the per-essay sheet
        xl = [(n, h, r if n in ("essays", "skipped") else
               [[f"too large for the workbook: see {n}.csv ({len(r)} rows)"]])
              for n, h, r in xl]
    files.append(("report.xlsx", _xlsx_bytes(xl)))
    return files


def write_files(files: list[tuple[str, bytes]], out_dir: Path) -> list[Path]:
    """Write ``(file name, bytes)`` pairs into ``out_dir`` atomically; returns the paths."""
    out = Path(out_dir)
    return [atomic_write_bytes(out / name, data) for name, data in files]


def write_tables(result, out_dir: Path) -> list[Path]:
    """Write the CSV files and ``report.xlsx``; returns their paths."""
    return write_files(table_files(result), out_dir)
