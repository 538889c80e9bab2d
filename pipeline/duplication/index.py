"""Reference library of known template essays (范文): build, save, load.

A reference document is read exactly like a submission (``pipeline.runner.load``:
ingest → split → clean), so a compiled 范文合集 becomes one document per essay
and offsets in matches refer to the same cleaned text the report shows.

``xinde index DIR --out FILE`` saves the library once (gzip JSON, format
``xinde.index/1``); ``run``/``check --index FILE`` load it. Fingerprints are
recomputed at load time (cheap), so the file stays small and readable.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ConfigError

INDEX_FORMAT = "xinde.index/1"


@dataclass(frozen=True)
class RefDoc:
    """One reference document.

    Attributes:
        id: Stable id within a run (``T0001`` …).
        title: Its title ('' when none).
        source: Where it came from (path relative to the library folder).
        text: Cleaned body; template matches' ``source_start/end`` index it.
    """

    id: str
    title: str
    source: str
    text: str

    def to_context(self) -> dict:
        return {"id": self.id, "title": self.title, "source": self.source}


def read_reference_folder(path: Path | str, settings=None, prefix: str = "T",
                          start: int = 1) -> list[RefDoc]:
    """Read every template essay under ``path`` like a submission.

    Raises:
        ConfigError: X131 if no essay could be read from ``path``.
    """
    from ..clean import Cleaner
    from ..config import Settings
    from ..runner import load

    settings = settings or Settings()
    _, _, essays, _ = load(path, settings)
    cleaner = Cleaner()
    docs = []
    n = start
    for e in essays:
        cleaner(e)
        if not e.text.strip():
            continue
        docs.append(RefDoc(f"{prefix}{n:04d}", e.title, e.source, e.text))
        n += 1
    if not docs:
        raise ConfigError("X131", path=path)
    return docs


def save_index(docs: list[RefDoc], out: Path | str) -> Path:
    """Write the library to ``out`` (gzip JSON), atomically."""
    from ..report.atomic import atomic_write_bytes

    out = Path(out)
    payload = {"format": INDEX_FORMAT, "n_docs": len(docs), "docs": [asdict(d) for d in docs]}
    data = gzip.compress(json.dumps(payload, ensure_ascii=False).encode("utf-8"), mtime=0)
    atomic_write_bytes(out, data)
    return out


def load_index(path: Path | str) -> list[RefDoc]:
    """Read a library written by :func:`save_index`.

    Raises:
        ConfigError: X105 if the file is not a valid index.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
        payload = json.loads(gzip.decompress(raw).decode("utf-8"))
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as e:
        raise ConfigError("X105", path=p, detail=f"{type(e).__name__}: {e}") from None
    if not isinstance(payload, dict) or payload.get("format") != INDEX_FORMAT:
        raise ConfigError("X105", path=p, detail=f"format is not {INDEX_FORMAT!r}")
    docs = []
    try:
        for d in payload["docs"]:
            docs.append(RefDoc(str(d["id"]), str(d.get("title", "")), str(d.get("source", "")),
                               str(d["text"])))
    except (KeyError, TypeError) as e:
        raise ConfigError("X105", path=p, detail=f"bad document entry: {e}") from None
    return docs
