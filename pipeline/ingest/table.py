"""Spreadsheet reader: each row of a .csv/.xlsx is one submission.

The text column is chosen with ``--text-column``; without it, a column with a
known name (正文, 内容, 心得体会, text …) or else the column with the longest
average cell is used. Author and unit columns are optional.
"""
from __future__ import annotations

import csv
import io
import warnings

from ..errors import SkipFile
from .documents import RawDocument
from .text import decode_bytes

TEXT_NAMES = ("text", "正文", "内容", "心得", "心得体会", "essay", "content", "文章", "全文",
              "full_text")
AUTHOR_NAMES = ("author", "姓名", "作者", "name", "提交人")
UNIT_NAMES = ("unit", "单位", "部门", "支部", "所在单位")

csv.field_size_limit(64 * 1024 * 1024)


def _rows_csv(data: bytes, path: str) -> list[list[str]]:
    text, _ = decode_bytes(data, path)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        return [row for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as e:
        raise SkipFile("X015", path=path, detail=str(e)) from None


def _rows_xlsx(data: bytes, path: str) -> list[list[str]]:
    import openpyxl

    try:  # read-only mode parses rows lazily: damaged sheet XML fails while iterating
        with warnings.catch_warnings():  # damaged files make openpyxl warn on stderr
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not wb.worksheets:
                raise ValueError("the workbook has no worksheet")
            rows = [["" if v is None else str(v) for v in row]
                    for row in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    except Exception as e:  # openpyxl raises zipfile/KeyError/ParseError/InvalidFileException
        raise SkipFile("X015", path=path, detail=type(e).__name__ + ": " + str(e)[:120]) from None
    return rows


def _pick(header: list[str], wanted: str | None, names: tuple[str, ...]) -> int | None:
    low = [h.strip().lower() for h in header]
    if wanted:
        return low.index(wanted.strip().lower()) if wanted.strip().lower() in low else None
    for n in names:
        if n in low:
            return low.index(n)
    return None


def read_table(data: bytes, path: str, suffix: str, text_column: str | None = None,
               author_column: str | None = None, unit_column: str | None = None,
               ) -> tuple[list[RawDocument], list[tuple[str, str, str]]]:
    """Read rows into documents.

    Returns:
        ``(documents, skipped_rows)`` where each skipped row is ``(source, reason, code)``.

    Raises:
        SkipFile: the file cannot be read or has no usable text column.
    """
    rows = _rows_xlsx(data, path) if suffix == ".xlsx" else _rows_csv(data, path)
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise SkipFile("X001", path=path)
    header, body = [c.strip() for c in rows[0]], rows[1:]
    ti = _pick(header, text_column, TEXT_NAMES)
    if ti is None:
        if text_column:
            raise SkipFile("X010", path=path, columns=header)
        widths = [sum(len(r[i]) for r in body if i < len(r)) for i in range(len(header))]
        ti = max(range(len(header)), key=lambda i: widths[i])
        if widths[ti] / max(1, len(body)) < 20:
            raise SkipFile("X010", path=path, columns=header)
    ai = _pick(header, author_column, AUTHOR_NAMES)
    ui = _pick(header, unit_column, UNIT_NAMES)
    docs, skipped = [], []
    for n, row in enumerate(body, start=2):  # row 1 is the header, as in Excel
        source = f"{path}#row{n}"
        text = row[ti] if ti < len(row) else ""
        if not text.strip():
            from ..errors import Errors
            skipped.append((source, "[X011] " + Errors.X011.format(path=path, row=n), "X011"))
            continue
        meta = {"row": n}
        if ai is not None and ai < len(row) and row[ai].strip():
            meta["author"] = row[ai].strip()
        if ui is not None and ui < len(row) and row[ui].strip():
            meta["unit"] = row[ui].strip()
        docs.append(RawDocument(source, text, kind="table", meta=meta, splittable=False))
    return docs, skipped
