"""``results.json``: the contract other tools read (schema ``xinde.results/1``).

Field names are stable; fields may be added. A breaking change bumps the
schema version in :data:`pipeline.essay.SCHEMA`.

Layout (the contract is the parsed data, not the whitespace): one top-level
field per line; a top-level list (``essays``, ``skipped``, ``clusters`` …)
has one element per line; every value is compact JSON (``,``/``:`` without
spaces, UTF-8, not ASCII-escaped). One essay per line lets the whole document
be produced by the C JSON encoder, and lets line-oriented tools read essays
one at a time.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from .. import __version__
from ..essay import SCHEMA, SpanList
from .atomic import AtomicFile

#: Types passed through unchanged by :func:`_jsonable` (exact types, not subclasses).
_SCALARS = frozenset({str, int, bool, type(None)})
#: Compact JSON, C encoder (no ``indent``), Chinese kept readable.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode


def _jsonable(obj):
    """Plain JSON data for ``obj``: fresh dicts/lists, floats rounded to 6 places.

    Dict keys become ``str``; tuples become lists; objects with ``to_dict``
    are converted through it; numpy scalars become Python scalars via
    ``.item()`` (not rounded). Exact built-in types are dispatched first
    (``type(x) is ...``) since the document holds millions of them.

    Args:
        obj: Any nesting of dicts, lists, tuples, scalars and ``to_dict`` objects.

    Returns:
        The same data as plain Python containers and scalars.
    """
    t = type(obj)
    if t in _SCALARS:
        return obj
    if t is float:
        return round(obj, 6)
    if t is dict or isinstance(obj, dict):
        return {(k if type(k) is str else str(k)):
                (v if type(v) in _SCALARS else _jsonable(v)) for k, v in obj.items()}
    if t is list or t is tuple or isinstance(obj, (list, tuple)):
        return [v if type(v) in _SCALARS else _jsonable(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return _jsonable(obj.to_dict())
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, float):
        return round(obj, 6)
    return obj


#: Settings that change how a run executes but never what it finds: left out of
#: results.json so runs differing only in these are byte-identical.
OPERATIONAL_SETTINGS = frozenset({"jobs", "engine", "scheduler", "cache_dir", "chunk_size",
                                  "compact_tokens"})
#: Path settings are recorded by file name only (no machine-specific absolute paths).
PATH_SETTINGS = frozenset({"templates", "index", "policy"})


def result_settings(settings) -> dict:
    """The settings that shape the results, as recorded in results.json."""
    out = {}
    for k, v in settings.as_dict().items():
        if k in OPERATIONAL_SETTINGS:
            continue
        out[k] = (Path(v).name if v else None) if k in PATH_SETTINGS else v
    return out


def _head(result) -> dict:
    """The top-level fields before ``essays``."""
    return {
        "schema": SCHEMA,
        "generator": f"xinde {__version__}",
        "input": {"n_files": result.n_files, "n_essays": len(result.essays),
                  "n_skipped": len(result.skipped)},
        "settings": result_settings(result.settings),
    }


def _tail(result, taken) -> dict:
    """The top-level fields after ``essays``: ``skipped``, then the cohort's keys
    (sorted) not already in ``taken``."""
    doc = {"skipped": [s.to_dict() for s in result.skipped]}
    cohort = _jsonable(result.cohort)
    doc.update({k: v for k, v in sorted(cohort.items()) if k not in taken and k not in doc})
    return doc


def results_dict(result) -> dict:
    """The whole results document as plain JSON data (deterministic order)."""
    doc = _head(result)
    doc["essays"] = [_jsonable(e.to_dict()) for e in result.essays]
    doc.update(_tail(result, doc))
    return doc


def _field(key: str, value) -> str:
    """One top-level field: ``"key":value`` on one line, or for a non-empty list
    the opening bracket, one element per line and the closing bracket."""
    if isinstance(value, list):
        return _list_field(key, [_ENCODE(v) for v in value])
    return f" {_ENCODE(key)}:{_ENCODE(value)}"


def _list_field(key: str, items: list[str]) -> str:
    """A top-level list field from its already encoded elements."""
    return "".join(_list_parts(key, items))


def _list_parts(key: str, items: Iterable[str]) -> Iterator[str]:
    """:func:`_list_field` as pieces, consuming ``items`` one at a time."""
    first = True
    for item in items:
        yield (f" {_ENCODE(key)}:[\n  " if first else ",\n  ") + item
        first = False
    yield f" {_ENCODE(key)}:[]" if first else "\n ]"


def essay_line(essay) -> str:
    """One essay's entry of ``results.json`` as compact JSON (its line in the file).

    The sentence list of a compact essay (a :class:`~pipeline.essay.SpanList`:
    plain ints from an array) is already plain JSON data, so it skips the
    :func:`_jsonable` walk (about half of an essay's dicts); the line is the same.
    """
    d = essay.to_dict()
    if type(essay.sentences) is SpanList and type(d.get("sentences")) is list:
        sentences, d["sentences"] = d["sentences"], None
        d = _jsonable(d)
        d["sentences"] = sentences
        return _ENCODE(d)
    return _ENCODE(_jsonable(d))


def results_parts(result, essay_lines: Iterable[str] | None = None) -> Iterator[str]:
    """The text of ``results.json`` in pieces (see the module docstring for the layout).

    ``"".join`` of them is :func:`results_text`; :func:`write_results` streams
    them to disk, so the whole document is never held in memory.

    Args:
        result: The run's :class:`~pipeline.runner.RunResult`.
        essay_lines: :func:`essay_line` of every essay, in order, if already
            computed (e.g. in worker processes; may be a lazy iterable, read
            once); computed here otherwise.
    """
    head = _head(result)
    if essay_lines is None:
        essay_lines = (essay_line(e) for e in result.essays)
    yield "{\n"
    for k, v in head.items():
        yield _field(k, v) + ",\n"
    yield from _list_parts("essays", essay_lines)
    for k, v in _tail(result, {**head, "essays": None}).items():
        yield ",\n" + _field(k, v)
    yield "\n}\n"


def results_text(result, essay_lines: Iterable[str] | None = None) -> str:
    """The text of ``results.json`` (see the module docstring for the layout).

    ``json.loads`` of it equals :func:`results_dict`.
    """
    return "".join(results_parts(result, essay_lines))


def write_results(result, out_dir: Path, essay_lines: Iterable[str] | None = None,
                  commit: bool = True) -> Path | AtomicFile:
    """Write ``results.json`` atomically, streaming; byte-identical for identical input.

    Args:
        result: The run's :class:`~pipeline.runner.RunResult`.
        out_dir: The output folder.
        essay_lines: Precomputed :func:`essay_line` values (see :func:`results_parts`).
        commit: ``False`` returns the closed, not yet renamed
            :class:`~pipeline.report.atomic.AtomicFile` (the caller commits it).

    Returns:
        The path written, or the pending file when ``commit`` is ``False``.
    """
    f = AtomicFile(Path(out_dir) / "results.json")
    try:
        buf: list[str] = []
        size = 0
        for part in results_parts(result, essay_lines):
            buf.append(part)
            size += len(part)
            if size >= 1 << 20:  # write about a megabyte at a time
                f.write("".join(buf).encode("utf-8"))
                buf, size = [], 0
        f.write("".join(buf).encode("utf-8"))
        f.close()
    except BaseException:
        f.discard()
        raise
    return f.commit() if commit else f
