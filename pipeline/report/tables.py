"""Tables for spreadsheets: ``essays.csv``, ``matches.csv``, ``themes.csv`` and ``report.xlsx``.

CSV files are UTF-8 with a BOM so Excel/WPS open Chinese correctly, CRLF line
ends, one header row of stable English column names (other tools read them).
``report.xlsx`` (XlsxWriter, constant-memory mode) holds the same three sheets
plus ``skipped``. Every table is streamed to disk row by row: nothing the size
of the cohort is built in memory, and ``report.xlsx`` is byte-identical for
identical input (fixed creation date).
Cells that a spreadsheet would evaluate as a formula (``=``, ``+``, ``-``,
``@`` …) are prefixed with ``'`` in both formats: essay text is untrusted.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import re
from pathlib import Path
from typing import Iterable, Iterator

from .atomic import AtomicFile

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


def _csv_chunks(header: list[str], rows: Iterable[list], every: int = 2000) -> Iterator[bytes]:
    """A CSV file (BOM, CRLF) as UTF-8 byte chunks of about ``every`` rows."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for k, r in enumerate(rows, 1):
        w.writerow(["" if v is None else _safe_cell(v) for v in r])
        if k % every == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


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


def essay_rows(result) -> Iterator[list]:
    """One row per essay, columns :data:`ESSAY_COLUMNS` (a generator)."""
    cluster = _clusters(result)
    for e in result.essays:
        covered = [t for t, r in sorted(e.themes.items()) if _covered(r)]
        yield [e.id, e.source, e.title, e.meta.get("author", ""), e.meta.get("unit", ""),
               len(e.text), len(e.sentences),
               round(e.engagement.score, 1) if e.engagement else "",
               round(e.copied_ratio, 4), largest_source(e), " ".join(covered),
               " | ".join(e.warnings), cluster.get(e.id, ""), len(e.matches)]


class _SourceTitles:
    """Titles of match sources, with the cohort's lookups built once (not per match)."""

    def __init__(self, result):
        self.essays = {e.id: e for e in result.essays}
        self.templates: dict[str, str] = {}
        for t in (result.cohort or {}).get("templates") or []:
            if isinstance(t, dict):
                self.templates.setdefault(t.get("id"), str(t.get("title") or ""))

    def __call__(self, m) -> str:
        if m.extra.get("source_title"):
            return str(m.extra["source_title"])
        if m.kind == "submission":
            src = self.essays.get(m.source_id)
            return (src.title or src.source) if src else ""
        if m.kind == "template":
            return self.templates.get(m.source_id, "")
        return ""


def match_rows(result) -> Iterator[list]:
    """One row per match, columns :data:`MATCH_COLUMNS`, in essay and text order (a generator)."""
    title = _SourceTitles(result)
    for e in result.essays:
        for m in sorted(e.matches, key=lambda m: (m.start, m.end, m.kind, m.source_id)):
            yield [e.id, m.start, m.end, m.kind, m.source_id, title(m),
                   m.source_start, m.source_end, round(float(m.similarity), 4),
                   e.text[m.start:m.end], str(m.extra.get("source_text") or "")]


def theme_rows(result) -> Iterator[list]:
    """One row per essay × theme, columns :data:`THEME_COLUMNS` (a generator)."""
    labels = _theme_labels(result)
    for e in result.essays:
        for tid, r in sorted(e.themes.items()):
            ev = " | ".join(e.text[s.start:s.end] for s in r.evidence)
            yield [e.id, tid, labels.get(tid) or r.extra.get("label") or tid,
                   round(float(r.score), 4), int(_covered(r)), len(r.evidence), ev]


def skipped_rows(result) -> Iterator[list]:
    return ([s.source, s.code, s.reason] for s in result.skipped)


#: Sheets as ``(name, columns, rows function, row count function)``, in file order.
_SHEETS = (
    ("essays", ESSAY_COLUMNS, essay_rows, lambda r: len(r.essays)),
    ("matches", MATCH_COLUMNS, match_rows, lambda r: sum(len(e.matches) for e in r.essays)),
    ("themes", THEME_COLUMNS, theme_rows, lambda r: sum(len(e.themes) for e in r.essays)),
    ("skipped", SKIPPED_COLUMNS, skipped_rows, lambda r: len(r.skipped)),
)
#: The sheets that also get a CSV file.
CSV_SHEETS = ("essays", "matches", "themes")


def _write_xlsx(f, sheets: list[tuple[str, list[str], int, Iterable[list]]]) -> None:
    """Write an .xlsx of ``(name, header, n_rows, rows)`` sheets to the binary file ``f``.

    XlsxWriter in constant-memory mode streams each row to a temporary file;
    strings are always written as strings (never as formulas or links). A sheet
    longer than Excel's row limit is cut there, with a last row saying so (the
    CSV files always hold everything).
    """
    import xlsxwriter

    wb = xlsxwriter.Workbook(f, {"constant_memory": True, "strings_to_numbers": False,
                                 "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": _dt.datetime(2000, 1, 1), "author": "xinde"})
    bold = wb.add_format({"bold": True})
    for name, header, n_rows, rows in sheets:
        ws = wb.add_worksheet(name)
        ws.freeze_panes(1, 0)
        for i, col in enumerate(header):
            ws.set_column(i, i, _WIDTHS.get(col, max(10, len(col) + 2)))
        for i, col in enumerate(header):
            ws.write_string(0, i, col, bold)
        for k, r in enumerate(rows, 1):
            if k >= XLSX_MAX_ROWS - 1:
                ws.write_string(k, 0, f"… {n_rows - k + 1} more rows: see {name}.csv")
                break
            for i, v in enumerate(r):
                v = _xlsx_cell(v)
                if v is None or v == "":
                    continue
                if isinstance(v, (int, float)) and math.isfinite(v):
                    ws.write_number(k, i, v)
                else:
                    ws.write_string(k, i, str(v))
    wb.close()


def _xlsx_cell(v):
    if v is None:
        return None
    if isinstance(v, str):
        v = _ILLEGAL_XML.sub("", v)
        if len(v) > _XLSX_MAX:
            v = v[:_XLSX_MAX - 1] + "…"
        return _safe_cell(v)
    if isinstance(v, bool):
        return int(v)
    return v


def prepare_tables(result, out_dir: Path) -> list[AtomicFile]:
    """Write the CSV files and ``report.xlsx`` under temporary names, streaming.

    Returns:
        The pending files (closed, not yet renamed) in publication order:
        call ``commit()`` on each to put it in place, or ``discard()``.
    """
    out = Path(out_dir)
    pending: list[AtomicFile] = []
    try:
        for name, header, rows, _ in _SHEETS:
            if name not in CSV_SHEETS:
                continue
            f = AtomicFile(out / f"{name}.csv")
            pending.append(f)
            for chunk in _csv_chunks(header, rows(result)):
                f.write(chunk)
            f.close()
        counts = {name: count(result) for name, _, _, count in _SHEETS}
        big = sum(len(h) * counts[n] for n, h, _, _ in _SHEETS) > XLSX_MAX_CELLS
        sheets = []
        for name, header, rows, _ in _SHEETS:
            if big and name not in ("essays", "skipped"):  # keep the workbook to the per-essay sheet
                note = [[f"too large for the workbook: see {name}.csv ({counts[name]} rows)"]]
                sheets.append((name, header, 1, note))
            else:
                sheets.append((name, header, counts[name], rows(result)))
        f = AtomicFile(out / "report.xlsx")
        pending.append(f)
        _write_xlsx(f.file, sheets)
        f.close()
    except BaseException:
        for f in pending:
            f.discard()
        raise
    return pending


def write_tables(result, out_dir: Path) -> list[Path]:
    """Write the CSV files and ``report.xlsx``; returns their paths."""
    return [f.commit() for f in prepare_tables(result, out_dir)]
