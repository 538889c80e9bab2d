"""Readers for .docx (python-docx) and .pdf (pypdf, text layer only)."""
from __future__ import annotations

import io
import zipfile

from ..errors import SkipFile
from ..essay import nonspace_len

#: A .docx expanding beyond this is refused (zip bomb guard).
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024


def read_docx(data: bytes, path: str) -> str:
    """Paragraph text of a .docx, tables included, one paragraph per line."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise SkipFile("X006", path=path, detail=f"not a zip archive ({e})") from None
    if total > MAX_DOCX_UNCOMPRESSED:
        raise SkipFile("X014", path=path, size_mb=total / 2**20)
    import docx  # python-docx; imported lazily to keep start-up fast

    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises many types for broken packages
        raise SkipFile("X006", path=path, detail=type(e).__name__ + ": " + str(e)[:120]) from None
    lines = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            cells = []
            for c in row.cells:
                if c.text not in cells:  # merged cells repeat
                    cells.append(c.text)
            lines.append(" ".join(cells))
    text = "\n".join(lines)
    if not text.strip():
        raise SkipFile("X001", path=path)
    return text


def read_pdf(data: bytes, path: str) -> str:
    """Text layer of a PDF, pages joined by newlines."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise SkipFile("X007", path=path, detail="password-protected")
            except SkipFile:
                raise
            except Exception:
                raise SkipFile("X007", path=path, detail="password-protected") from None
        pages = [(p.extract_text() or "") for p in reader.pages]
    except SkipFile:
        raise
    except (PdfReadError, Exception) as e:  # pypdf raises assorted errors on bad files
        raise SkipFile("X007", path=path, detail=type(e).__name__ + ": " + str(e)[:120]) from None
    text = "\n".join(pages)
    if nonspace_len(text) < 10:
        raise SkipFile("X008", path=path)
    return text
