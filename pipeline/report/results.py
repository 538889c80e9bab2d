"""``results.json``: the contract other tools read (schema ``xinde.results/1``).

Field names are stable; fields may be added. A breaking change bumps the
schema version in :data:`pipeline.essay.SCHEMA`.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ..essay import SCHEMA
from .atomic import atomic_write_text


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
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


def results_dict(result) -> dict:
    """The whole results document as plain JSON data (deterministic order)."""
    cohort = _jsonable(result.cohort)
    doc = {
        "schema": SCHEMA,
        "generator": f"xinde {__version__}",
        "input": {"n_files": result.n_files, "n_essays": len(result.essays),
                  "n_skipped": len(result.skipped)},
        "settings": result_settings(result.settings),
        "essays": [_jsonable(e.to_dict()) for e in result.essays],
        "skipped": [s.to_dict() for s in result.skipped],
    }
    doc.update({k: v for k, v in sorted(cohort.items()) if k not in doc})
    return doc


def write_results(result, out_dir: Path) -> Path:
    """Write ``results.json`` atomically; byte-identical for identical input."""
    text = json.dumps(results_dict(result), ensure_ascii=False, indent=1, sort_keys=False)
    return atomic_write_text(Path(out_dir) / "results.json", text + "\n")
