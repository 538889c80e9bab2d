"""Dispatch one file to its reader, turning OS errors into :class:`SkipFile`."""
from __future__ import annotations

import stat
from pathlib import Path

from ..errors import SkipFile
from .documents import RawDocument
from .discover import SUPPORTED_SUFFIXES
from .office import read_docx, read_pdf
from .table import read_table
from .text import decode_bytes


def read_file(path: Path, source: str, *, max_mb: float = 20.0, text_column: str | None = None,
              author_column: str | None = None, unit_column: str | None = None,
              ) -> tuple[list[RawDocument], list[tuple[str, str, str]]]:
    """Read one input file.

    Args:
        path: File to read.
        source: Its name relative to the input root (used in messages and results).
        max_mb: Size limit; larger files are skipped (X004).

    Returns:
        ``(documents, skipped_parts)``; parts are skipped spreadsheet rows.

    Raises:
        SkipFile: the whole file cannot be used; the message names it and the fix.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkipFile("X009", path=source, suffix=path.suffix or "(none)",
                       supported=" ".join(SUPPORTED_SUFFIXES))
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO/device named .txt would block read_bytes()
            raise SkipFile("X016", path=source)
        size = st.st_size
        if size > max_mb * 2**20:
            raise SkipFile("X004", path=source, size_mb=size / 2**20, limit_mb=max_mb)
        data = path.read_bytes()
    except SkipFile:
        raise
    except OSError as e:
        raise SkipFile("X005", path=source, detail=e.strerror or type(e).__name__) from None
    if not data.strip():
        raise SkipFile("X001", path=source)
    if suffix in (".txt", ".md"):
        text, enc = decode_bytes(data, source)
        return [RawDocument(source, text, kind="text", meta={"encoding": enc})], []
    if suffix == ".docx":
        return [RawDocument(source, read_docx(data, source), kind="docx")], []
    if suffix == ".pdf":
        return [RawDocument(source, read_pdf(data, source), kind="pdf")], []
    return read_table(data, source, suffix, text_column, author_column, unit_column)
