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


def results_dict(result) -> dict:
    """The whole results document as plain JSON data (deterministic order)."""
    cohort = _jsonable(result.cohort)
    doc = {
        "schema": SCHEMA,
        "generator": f"xinde {__version__}",
        "input": {"n_files": result.n_files, "n_essays": len(result.essays),
                  "n_skipped": len(result.skipped)},
        "settings": {k: v for k, v in result.settings.as_dict().items()
                     if k not in ("templates", "index", "policy")} | {
            k: (Path(v).name if v else None) for k, v in result.settings.as_dict().items()
            if k in ("templates", "index", "policy")},
        "essays": [_jsonable(e.to_dict()) for e in result.essays],
        "skipped": [s.to_dict() for s in result.skipped],
    }
    doc.update({k: v for k, v in sorted(cohort.items()) if k not in doc})
    return doc


def write_results(result, out_dir: Path) -> Path:
    """Write ``results.json`` atomically; byte-identical for identical input."""
    text = json.dumps(results_dict(result), ensure_ascii=False, indent=1, sort_keys=False)
    return atomic_write_text(Path(out_dir) / "results.json", text + "\n")
