"""Find the input files under a folder, safely (symlink loops, escapes, hidden files)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import Errors, InputError
from ..essay import Skipped

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".csv", ".xlsx")
#: Files that are never essays: ignored silently rather than reported as skipped.
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini", "README.md", "LABELS.md",
                 "truth.json"}


def safe_name(name: str) -> str:
    """``name`` as printable Unicode.

    File names that are not valid UTF-8 (e.g. GBK names from a Windows zip) come
    from the OS with lone surrogates, which cannot be written to UTF-8 output:
    decode their bytes as GB18030, showing undecodable bytes as ``\\xNN``.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    return raw.decode("gb18030", "backslashreplace")


def _relative(path: Path, root: Path) -> str:
    try:
        return safe_name(path.relative_to(root).as_posix())
    except ValueError:
        return safe_name(path.name)


def source_name(path: Path, root: Path) -> str:
    """The ``source`` of an input file: its path relative to ``root``, printable."""
    return _relative(path, root)


def discover(path: Path) -> tuple[Path, list[Path], list[Skipped]]:
    """List the files to read.

    Args:
        path: A folder (walked recursively, in sorted order) or one file.

    Returns:
        ``(root, files, skipped)``: the root that sources are relative to, the
        files in a deterministic order, and entries skipped while walking
        (symlink loops, links leaving the input folder).

    Raises:
        InputError: ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InputError("X101", path=path)
    if path.is_symlink() and not path.is_dir():
        try:
            path.resolve(strict=True)
        except (OSError, RuntimeError):  # a looping or dangling link given as the input
            name = safe_name(path.name)
            return path.parent, [], [Skipped(name, "[X013] " + Errors.X013.format(path=name),
                                             "X013")]
    if path.is_file():
        return path.parent, [path], []
    root = path.resolve()
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen_dirs = {root}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        d = Path(dirpath)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            sub = d / name
            real = sub.resolve()
            if real in seen_dirs or (root not in real.parents and real != root):
                skipped.append(Skipped(_relative(sub, root), "[X013] " + Errors.X013.format(
                    path=_relative(sub, root)), "X013"))
                continue
            seen_dirs.add(real)
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith(".") or name in IGNORED_NAMES or name.startswith("~$"):
                continue
            f = d / name
            if f.is_symlink():
                try:
                    real = f.resolve(strict=True)
                except (OSError, RuntimeError):
                    skipped.append(Skipped(_relative(f, root), "[X013] " + Errors.X013.format(
                        path=_relative(f, root)), "X013"))
                    continue
                if root not in real.parents:
                    skipped.append(Skipped(_relative(f, root), "[X013] " + Errors.X013.format(
                        path=_relative(f, root)), "X013"))
                    continue
            files.append(f)
    files.sort(key=lambda p: _relative(p, root))
    return root, files, skipped
