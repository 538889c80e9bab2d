"""Read many input files, optionally spread over worker processes.

:func:`read_files` is the reading loop of :func:`pipeline.runner.load` as a
function of its own: every file becomes documents or ``skipped`` entries,
in the order of ``files``, whatever ``map_fn`` runs the reads (the built-in
``map``, or e.g. ``lambda fn, items: pipeline.parallel.map_shared(fn, items, jobs)``:
reading is per file and independent, so it parallelises like the per-essay
stages).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from ..errors import SkipFile
from ..essay import Skipped
from .discover import source_name
from .documents import RawDocument
from .read import read_file

log = logging.getLogger("pipeline.runner")  # messages as they were when load() read files


def read_one(path: Path, root: Path, settings) -> tuple[list[RawDocument], list[Skipped]]:
    """Read one file; never raises.

    Args:
        path: The file.
        root: The input root that sources are relative to.
        settings: :class:`~pipeline.config.Settings` (``max_mb`` and the
            spreadsheet column names are used).

    Returns:
        ``(documents, skipped)``: the file's documents, and its skipped entries
        (the whole file, or spreadsheet rows).
    """
    source = source_name(path, root)
    try:
        found, parts_skipped = read_file(
            path, source, max_mb=settings.max_mb, text_column=settings.text_column,
            author_column=settings.author_column, unit_column=settings.unit_column)
    except SkipFile as e:
        return [], [Skipped(source, str(e), e.code)]
    except Exception as e:  # a reader bug must not stop the run
        log.exception("reader failed on %s", source)
        return [], [Skipped(source, f"内部错误 (internal error) reading {source}: "
                                    f"{type(e).__name__}: {e}", "X999")]
    skipped = [Skipped(s, r, c) for s, r, c in parts_skipped]
    if not found and not parts_skipped:
        skipped.append(Skipped(source, f"[X001] 文件中没有正文 (no essay text found): {source}",
                               "X001"))
    return found, skipped


def read_files(files: Sequence[Path], root: Path, settings,
               map_fn: Callable[[Callable, Sequence], Iterable] = map,
               ) -> tuple[list[RawDocument], list[Skipped]]:
    """Read ``files`` (as listed by :func:`~pipeline.ingest.discover`).

    Args:
        files: Files in input order.
        root: The input root that sources are relative to.
        settings: :class:`~pipeline.config.Settings`.
        map_fn: ``map_fn(fn, files)`` → ``[fn(f) for f in files]`` in order;
            ``fn`` is a :func:`functools.partial` of :func:`read_one`.

    Returns:
        ``(documents, skipped)`` in file order, the same whatever ``map_fn``.
    """
    docs: list[RawDocument] = []
    skipped: list[Skipped] = []
    for found, skips in map_fn(partial(read_one, root=root, settings=settings), files):
        docs.extend(found)
        skipped.extend(skips)
    return docs, skipped
