"""Atomic file writes: write to a temporary sibling, fsync, then rename.

A crash or Ctrl-C never leaves a half-written results.json behind: readers see
either the old file or the new one. :class:`AtomicFile` streams a large file
to disk (nothing held in memory) and can defer the rename, so outputs written
early still appear in a fixed order.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


class AtomicFile:
    """A binary file written under a temporary name and renamed on :meth:`commit`.

    Used as a context manager it commits when the block ends normally and
    discards the temporary file when it raises. Call :meth:`close` to finish
    writing without renaming yet (e.g. to publish several files in order), then
    :meth:`commit` later; :meth:`discard` removes the temporary file.

    Args:
        path: The final path; its folder is created if needed.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        self.tmp = Path(tmp)
        self.file = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def close(self) -> None:
        """Flush and fsync the data; the file keeps its temporary name."""
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()

    def commit(self) -> Path:
        """Close (if needed) and rename the file into place; returns the final path."""
        try:
            self.close()
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self._done = True
        return self.path

    def discard(self) -> None:
        """Drop the temporary file (no-op once committed)."""
        if self._done:
            return
        try:
            self.file.close()
        except OSError:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        self._done = True

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    with AtomicFile(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))
