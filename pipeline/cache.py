"""Run cache: reuse per-essay results across runs (``--cache DIR``).

An entry holds what the leading block of per-essay stages (clean → … → segment
→ per-essay analysis, up to the first cohort stage) made of one essay. Its key
is the SHA-256 of

* the essay content: title and raw body (not its file name or position, so
  renamed or re-ordered files still hit);
* the *block fingerprint*: the cache format, the package version, every
  setting that can change results (all but ``jobs``/``engine``/``scheduler``/
  ``cache_dir``/``chunk_size``), each stage's class, ``version`` attribute and
  module source, and the content of the data files under ``models/``.

So editing a stage's code, a dictionary or a setting invalidates exactly what
it should. Cohort stages (duplication, topics) always re-run, on all essays;
a cohort stage may keep results of its own steps in the *memo* table
(:meth:`RunCache.memo_get`/:meth:`RunCache.memo_put`): the duplication stage
stores each aligned candidate pair there, keyed by both documents' content,
masks and the alignment code, so a re-run re-aligns only the pairs that new or
changed essays touch.

Entries live in one SQLite file (``DIR/xinde-cache.sqlite``, WAL journal) and
each is committed as soon as its essay is done, so an interrupted run loses
nothing already computed: running it again picks up where it stopped.
Skipped essays are not cached (they are cheap and their reason names the file).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
import pickle
import sqlite3
import zlib
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import ConfigError
from .essay import Essay

log = logging.getLogger(__name__)

#: 2: stage-written meta cached; 3: compact spans, char map, tokens; 4: tokens as a bitmap;
#: 5: engagement text features in one packed array
CACHE_FORMAT = "xinde.cache/5"
FILENAME = "xinde-cache.sqlite"
#: Settings that never change an essay's results.
RUN_ONLY_SETTINGS = frozenset({"jobs", "engine", "scheduler", "cache_dir", "chunk_size"})
#: Essay fields that identify the submission; restored from the current run, never cached.
IDENTITY_FIELDS = ("id", "source", "raw", "title", "source_offset", "meta")
#: Essay fields a cached entry restores.
RESULT_FIELDS = ("text", "char_map", "sentences", "tokens", "themes", "topics", "matches",
                 "copied_ratio", "engagement", "warnings", "extra", "features")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _module_digest(obj) -> str:
    try:
        src = inspect.getsourcefile(type(obj))
    except TypeError:
        src = None
    return _file_digest(Path(src)) if src and Path(src).is_file() else ""


def block_fingerprint(stages: Sequence, settings) -> str:
    """Hash of everything besides the essay itself that a block's output depends on."""
    h = hashlib.sha256()
    s = {k: v for k, v in settings.as_dict().items() if k not in RUN_ONLY_SETTINGS}
    for name in ("templates", "policy", "index"):
        p = getattr(settings, name, None)
        if p is not None and Path(p).is_file():
            s[name + "_sha256"] = _file_digest(Path(p))
    h.update(json.dumps([CACHE_FORMAT, __version__, s], sort_keys=True,
                        ensure_ascii=False, default=str).encode())
    for st in stages:
        cls = type(st)
        h.update(f"{cls.__module__}.{cls.__qualname__}:{getattr(st, 'version', '')}:"
                 f"{_module_digest(st)}\n".encode())
    models = Path(settings.models_dir)
    if models.is_dir():
        for p in sorted(models.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(models).as_posix()}:{_file_digest(p)}\n".encode())
    return h.hexdigest()


def essay_key(essay: Essay, fingerprint: str) -> str:
    """Cache key of ``essay`` under a block fingerprint."""
    h = hashlib.sha256(fingerprint.encode())
    h.update(b"\0")
    h.update(essay.title.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(essay.raw.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class RunCache:
    """Per-essay results of earlier runs, in ``folder/xinde-cache.sqlite``.

    Args:
        folder: Cache folder (created if missing).

    Raises:
        ConfigError: X104 when the folder or its database cannot be used.

    Attributes:
        hits, misses, writes: Counters for the current process.
    """

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.folder / FILENAME, isolation_level=None,
                                       timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS entries "
                             "(key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS memo "
                             "(key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        except (OSError, sqlite3.Error) as e:
            raise ConfigError("X104", name="cache_dir", value=str(folder),
                              detail=f"cannot use it as a cache: {e}") from None
        self.hits = self.misses = self.writes = 0

    # -- entries -------------------------------------------------------------------
    def get(self, key: str) -> dict | None:
        """The cached result fields for ``key``, or ``None``."""
        row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        try:
            fields = pickle.loads(zlib.decompress(row[0]))
        except Exception:  # a damaged entry is a miss, never an error
            log.warning("damaged cache entry %s ignored", key[:12])
            self.misses += 1
            return None
        self.hits += 1
        return fields

    def put(self, key: str, essay: Essay, meta_keys: Sequence[str] = ()) -> None:
        """Store (and commit) the result fields of ``essay`` under ``key``.

        Args:
            key: From :func:`essay_key`.
            essay: The essay as the block left it.
            meta_keys: ``essay.meta`` keys the block's stages added (e.g. the
                cleaner's ``hidden_gaps``): cached with the results and merged back
                into the current run's meta on a hit (the rest of ``meta`` comes
                from ingest and is never cached).
        """
        fields = {f: getattr(essay, f) for f in RESULT_FIELDS}
        fields["stage_meta"] = {k: essay.meta[k] for k in meta_keys if k in essay.meta}
        blob = zlib.compress(pickle.dumps(fields, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self._db.execute("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", (key, blob))
        self.writes += 1

    @staticmethod
    def restore(essay: Essay, fields: dict) -> Essay:
        """``essay`` (its identity fields kept) with the cached result fields."""
        for f in RESULT_FIELDS:
            if f in fields:
                setattr(essay, f, fields[f])
        if fields.get("stage_meta"):
            essay.meta = {**essay.meta, **fields["stage_meta"]}
        return essay

    # -- memo: results of cohort-stage steps (e.g. aligned candidate pairs) ----------
    def memo_get(self, keys: Sequence[str]) -> dict[str, object]:
        """Values stored by :meth:`memo_put` under any of ``keys`` (absent keys are
        left out; a damaged value counts as absent, never as an error)."""
        out: dict[str, object] = {}
        keys = list(keys)
        for a in range(0, len(keys), 500):  # stay under SQLite's host-parameter limit
            part = keys[a:a + 500]
            q = f"SELECT key, value FROM memo WHERE key IN ({','.join('?' * len(part))})"
            for key, blob in self._db.execute(q, part):
                try:
                    out[key] = pickle.loads(zlib.decompress(blob))
                except Exception:
                    log.warning("damaged memo entry %s ignored", key[:12])
        return out

    def memo_put(self, items: dict[str, object]) -> None:
        """Store ``key → value`` pairs (any picklable values) in one transaction."""
        if not items:
            return
        rows = [(k, zlib.compress(pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL), 1))
                for k, v in items.items()]
        with self._db:  # one transaction (the connection is otherwise in autocommit)
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO memo (key, value) VALUES (?, ?)", rows)

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "RunCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
