"""Reference library of known template essays (范文): build, save, load.

A reference document is read exactly like a submission (``pipeline.runner.load``:
ingest → split → clean), so a compiled 范文合集 becomes one document per essay
and offsets in matches refer to the same cleaned text the report shows.

``xinde index DIR --out FILE`` saves the library once; ``run``/``check --index
FILE`` open it. The file (format ``xinde.index/2``) stores what a check needs
precomputed, so opening it is O(1) in the library size:

* an inverted fingerprint table — the winnowed fingerprints of every document's
  normalised text (``t2s``, unmasked), as three parallel arrays sorted by hash:
  ``fp_hash`` (uint64), ``fp_doc`` (int32 document number) and ``fp_pos``
  (int32 position of the k-gram in the normalised text);
* the cleaned texts, each UTF-8 and zlib-compressed on its own, in one blob
  with ``text_off`` (int64, ``n + 1`` offsets), so only the documents a check
  needs are decompressed and decoded;
* per document a ``t2s`` flag (uint8: Traditional→Simplified changes its
  text, so normalising it needs the slow char-by-char conversion) and the
  metadata: id, title, source of every document, NUL-separated UTF-8 (fast
  to split into the run's ``context["templates"]`` entries).

Layout: ``XINDEX2\\n`` magic, a little-endian uint64 header length, a JSON
header (format, ``k``, ``window``, section offsets/dtypes/shapes), then each
section 64-byte aligned. Sections are opened with :class:`numpy.memmap`
(read-only), so the OS pages in only what a lookup touches.
:class:`ReferenceIndex` is the opened file; :class:`TemplateLibrary` is what
the duplication stage holds (index documents first, then ``--templates``
documents, numbered ``T0001`` … in that order).
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import ConfigError

INDEX_FORMAT = "xinde.index/2"
_MAGIC = b"XINDEX2\n"
_ALIGN = 64
_SECTIONS = {"fp_hash": "<u8", "fp_doc": "<i4", "fp_pos": "<i4", "text_off": "<i8",
             "text_blob": "u1", "t2s": "u1", "meta": "u1"}


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


def _fingerprints(text: str, k: int, window: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unmasked winnowed fingerprints of a reference text, their first positions, t2s flag."""
    from .fingerprint import kgram_hashes, winnow
    from .normalize import _t2s_text, normalize

    src = _t2s_text(text)
    h = kgram_hashes(normalize(src).text, k)  # == normalize(text, t2s=True): t2s is 1:1
    fps = winnow(h, window)
    if len(fps) == 0:
        return fps, np.zeros(0, dtype=np.int32), src != text
    u, first = np.unique(h, return_index=True)
    return fps, first[np.searchsorted(u, fps)].astype(np.int32), src != text


def save_index(docs: Sequence[RefDoc], out: Path | str, *, k: int = 6, window: int = 6,
               base: "ReferenceIndex | None" = None) -> Path:
    """Write the library to ``out`` (format ``xinde.index/2``), atomically.

    Args:
        docs: The reference documents, in id order.
        out: File to write.
        k, window: k-gram length and winnowing window of the stored
            fingerprints (those of :class:`~.stage.DuplicationStage`).
        base: An opened index whose documents come first, copied as they are
            (fingerprints and compressed texts are not recomputed); ``k`` and
            ``window`` are then the base's.
    """
    from ..report.atomic import atomic_write_bytes

    n0 = 0
    hs, ds, ps, encoded, meta_rows, flags = [], [], [], [], [], []
    if base is not None:
        k, window, n0 = base.k, base.window, len(base)
        hs.append(np.asarray(base.fp_hash))
        ds.append(np.asarray(base.fp_doc))
        ps.append(np.asarray(base.fp_pos))
        old_off = np.asarray(base._off)
        blob = bytes(base._blob[: int(old_off[-1])]) if n0 else b""
        encoded.extend(blob[int(old_off[i]):int(old_off[i + 1])] for i in range(n0))
        meta_rows.extend(base.read_meta())
        flags.extend(np.asarray(base._t2s).tolist())
    for i, d in enumerate(docs, n0):
        fps, pos, t2s = _fingerprints(d.text, k, window)
        flags.append(int(t2s))
        hs.append(fps)
        ps.append(pos)
        ds.append(np.full(len(fps), i, dtype=np.int32))
        encoded.append(zlib.compress(d.text.encode("utf-8"), 6))
        meta_rows.append({"id": d.id, "title": d.title, "source": d.source})
    if hs:
        h, doc, pos = np.concatenate(hs), np.concatenate(ds), np.concatenate(ps)
    else:
        h, doc, pos = (np.zeros(0, np.uint64), np.zeros(0, np.int32), np.zeros(0, np.int32))
    order = np.lexsort((doc, h))
    off = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        off[1:] = np.cumsum([len(b) for b in encoded])
    meta = "\0".join(str(m[f]).replace("\0", " ")
                      for m in meta_rows for f in ("id", "title", "source"))
    arrays = {"fp_hash": h[order], "fp_doc": doc[order], "fp_pos": pos[order], "text_off": off,
              "text_blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
              "t2s": np.asarray(flags, dtype=np.uint8),
              "meta": np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)}
    sections: dict[str, dict] = {}
    body = bytearray()
    for name, dt in _SECTIONS.items():
        a = np.ascontiguousarray(arrays[name], dtype=dt)
        body += b"\0" * (-len(body) % _ALIGN)
        sections[name] = {"offset": len(body), "dtype": dt, "shape": [int(a.shape[0])]}
        body += a.tobytes()
    positional = all(m["id"] == f"T{i:04d}" for i, m in enumerate(meta_rows, 1))
    header = {"format": INDEX_FORMAT, "n_docs": len(encoded), "k": k, "window": window,
              "normalize": "t2s", "text_codec": "zlib", "positional_ids": positional,
              "sections": sections}
    hb = json.dumps(header, ensure_ascii=False).encode("utf-8")
    start = len(_MAGIC) + 8 + len(hb)
    pad = -start % _ALIGN
    hb += b" " * pad  # JSON tolerates trailing blanks; body starts aligned
    data = _MAGIC + struct.pack("<Q", len(hb)) + hb + bytes(body)
    atomic_write_bytes(Path(out), data)
    return Path(out)


class ReferenceIndex:
    """A saved library opened read-only; texts are decoded only when asked for.

    Args:
        path: File written by :func:`save_index`.

    Attributes:
        path: The file.
        n_docs: Number of documents.
        k, window: Parameters of the stored fingerprints.
        fp_hash, fp_doc, fp_pos: The inverted table (memory-mapped).
        texts_: Lazily filled cache, document number → text (only the documents
            a run actually materialised).

    Raises:
        ConfigError: X105 if the file is missing, of an older format or corrupt.
    """

    def __init__(self, path: Path | str):
        self.path = p = Path(path)
        try:
            with open(p, "rb") as f:
                magic = f.read(len(_MAGIC))
                if magic != _MAGIC:
                    old = " (an older xinde.index/1 file)" if magic[:2] == b"\x1f\x8b" else ""
                    raise ValueError(f"not a {INDEX_FORMAT} file{old}")
                (hlen,) = struct.unpack("<Q", f.read(8))
                if hlen > 1 << 24:
                    raise ValueError("header too large")
                header = json.loads(f.read(hlen).decode("utf-8"))
            size = p.stat().st_size
            if not isinstance(header, dict) or header.get("format") != INDEX_FORMAT:
                raise ValueError(f"format is not {INDEX_FORMAT!r}")
            self.n_docs, self.k, self.window = (int(header["n_docs"]), int(header["k"]),
                                                int(header["window"]))
            self.positional_ids = bool(header.get("positional_ids", False))
            base = len(_MAGIC) + 8 + hlen
            arrays = {}
            for name, dt in _SECTIONS.items():
                s = header["sections"][name]
                if s["dtype"] != dt:
                    raise ValueError(f"section {name} has dtype {s['dtype']}")
                n, off = int(s["shape"][0]), base + int(s["offset"])
                if n < 0 or off + n * np.dtype(dt).itemsize > size:
                    raise ValueError(f"section {name} runs past the end of the file")
                arrays[name] = (np.memmap(p, dtype=dt, mode="r", offset=off, shape=(n,))
                                if n else np.zeros(0, dtype=dt))
        except ConfigError:
            raise
        except (OSError, EOFError, ValueError, KeyError, TypeError, struct.error,
                UnicodeDecodeError) as e:
            raise ConfigError("X105", path=p, detail=f"{type(e).__name__}: {e}") from None
        self.fp_hash, self.fp_doc, self.fp_pos = (arrays["fp_hash"], arrays["fp_doc"],
                                                  arrays["fp_pos"])
        self._off, self._blob, self._meta_raw = (arrays["text_off"], arrays["text_blob"],
                                                 arrays["meta"])
        self._t2s = arrays["t2s"]
        n_fp = len(self.fp_hash)
        if (len(self._t2s) != self.n_docs or len(self._off) != self.n_docs + 1
                or len(self.fp_doc) != n_fp or len(self.fp_pos) != n_fp):
            raise ConfigError("X105", path=p, detail="section sizes do not match n_docs")
        self._meta: list | None = None
        self.texts_: dict[int, str] = {}

    def __len__(self) -> int:
        return self.n_docs

    def _bad(self, detail: str) -> ConfigError:
        return ConfigError("X105", path=self.path, detail=detail)

    def _fields(self) -> list[str]:
        """id, title, source of every document, flat (split once, then cached)."""
        if self._meta is None:
            try:
                parts = (bytes(self._meta_raw).decode("utf-8").split("\0")
                         if self.n_docs else [])
            except UnicodeDecodeError as e:
                raise self._bad(f"metadata: {e}") from None
            if len(parts) != 3 * self.n_docs:
                raise self._bad("metadata does not list every document")
            self._meta = parts
        return self._meta

    def read_meta(self) -> list[dict]:
        """A new list of ``{"id", "title", "source"}``, one per document."""
        f = self._fields()
        return [{"id": a, "title": b, "source": c} for a, b, c in zip(f[0::3], f[1::3], f[2::3])]

    def meta(self, i: int) -> dict:
        """``{"id", "title", "source"}`` of document ``i``."""
        f = self._fields()
        return {"id": f[3 * i], "title": f[3 * i + 1], "source": f[3 * i + 2]}

    def text(self, i: int) -> str:
        """Cleaned text of document ``i`` (decoded once, then cached in ``texts_``)."""
        t = self.texts_.get(i)
        if t is None:
            s, e = int(self._off[i]), int(self._off[i + 1])
            if not 0 <= s <= e <= len(self._blob):
                raise self._bad(f"text offsets of document {i} are out of range")
            try:
                t = zlib.decompress(bytes(self._blob[s:e])).decode("utf-8")
            except (zlib.error, UnicodeDecodeError) as ex:
                raise self._bad(f"text of document {i}: {ex}") from None
            self.texts_[i] = t
        return t

    def normalize(self, i: int):
        """Normalised text of document ``i`` (:class:`~.normalize.NormText`), as the stage does
        it for references (``t2s=True``), skipping the conversion where it changes nothing."""
        from .normalize import normalize

        return normalize(self.text(i), t2s=bool(self._t2s[i]))

    def doc(self, i: int) -> RefDoc:
        """Document ``i`` with its stored id."""
        m = self.meta(i)
        return RefDoc(str(m["id"]), str(m["title"]), str(m["source"]), self.text(i))

    def lookup(self, hashes: np.ndarray, max_df: int,
               min_hits: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Documents holding some of ``hashes`` as fingerprints.

        Args:
            hashes: k-gram hashes (any order, duplicates allowed).
            max_df: Fingerprints held by more indexed documents than this
                are stock phrases: they do not count for ``min_hits``.
            min_hits: Minimum number of distinct counted fingerprints a
                document must hold to be returned.

        Returns:
            ``(docs, found, others)``: sorted document numbers holding at least
            ``min_hits`` of the hashes; the sorted hashes that are fingerprints
            of some indexed document; per found hash, how many documents *not*
            returned hold it (all holders when more than ``max_df``).
        """
        q = np.unique(np.asarray(hashes, dtype=np.uint64))
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64),
                np.zeros(0, dtype=np.int64))
        if len(q) == 0 or len(self.fp_hash) == 0:
            return none
        lo = np.searchsorted(self.fp_hash, q, side="left")
        df = np.searchsorted(self.fp_hash, q, side="right") - lo
        hit = df > 0
        q, lo, df = q[hit], lo[hit], df[hit]
        others = df.astype(np.int64)
        sel = np.flatnonzero(df <= max_df)
        if len(sel) == 0:
            return np.zeros(0, dtype=np.int64), q, others
        dsel = df[sel]
        ends = np.cumsum(dsel)
        idx = np.repeat(lo[sel] - (ends - dsel), dsel) + np.arange(int(ends[-1]))
        holders = np.asarray(self.fp_doc[idx], dtype=np.int64)
        if holders.min() < 0 or holders.max() >= self.n_docs:
            raise self._bad("fingerprint table names a document out of range")
        docs, hits = np.unique(holders, return_counts=True)
        docs = docs[hits >= min_hits]
        taken = np.isin(holders, docs)
        owner = np.repeat(np.arange(len(sel)), dsel)  # which selected hash each entry is
        others[sel] -= np.bincount(owner, weights=taken, minlength=len(sel)).astype(np.int64)
        return docs, q, others


def load_index(path: Path | str) -> list[RefDoc]:
    """Read every document of a library written by :func:`save_index`.

    This decodes all texts; the duplication stage uses :class:`ReferenceIndex`
    through :class:`TemplateLibrary` instead, which decodes only candidates.

    Raises:
        ConfigError: X105 if the file is not a valid index.
    """
    idx = ReferenceIndex(path)
    return [idx.doc(i) for i in range(len(idx))]


def update_index(path: Path | str, docs: Sequence[RefDoc]) -> int:
    """Append to the index at ``path`` the documents of ``docs`` it does not hold yet.

    A document is already held when the index has the same cleaned text.
    Existing documents keep their numbers; new ones are numbered after them
    (``T{n+1:04d}`` …). Only the new documents are normalised and hashed.

    Returns:
        The number of documents added (the file is rewritten only if > 0).

    Raises:
        ConfigError: X105 if ``path`` is not a valid index.
    """
    import hashlib

    base = ReferenceIndex(path)

    def digest(t: str) -> bytes:
        return hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest()

    held = {digest(base.text(i)) for i in range(len(base))}
    base.texts_.clear()
    new: list[RefDoc] = []
    for d in docs:
        key = digest(d.text)
        if key in held:
            continue
        held.add(key)
        n = len(base) + len(new) + 1
        new.append(RefDoc(f"T{n:04d}", d.title, d.source, d.text))
    if new:
        save_index(new, path, base=base)
    return len(new)


class TemplateLibrary(Sequence):
    """The reference documents of a run: an opened index, then extra documents.

    Items are :class:`RefDoc` numbered ``T0001`` … in that order; an index
    document's text is decoded only when the item is accessed.

    Args:
        index: An opened :class:`ReferenceIndex` (or None).
        extra: Further documents (e.g. read from ``--templates DIR``).
    """

    def __init__(self, index: ReferenceIndex | None = None, extra: Iterable[RefDoc] = ()):
        if index is not None and not isinstance(index, ReferenceIndex):
            raise TypeError(f"index must be a ReferenceIndex, got {type(index).__name__}")
        self.index = index
        self.extra = list(extra)
        self._n_index = len(index) if index is not None else 0

    def __len__(self) -> int:
        return self._n_index + len(self.extra)

    def _meta(self, i: int) -> tuple[str, str]:
        if i < self._n_index:
            m = self.index.meta(i)
            return m["title"], m["source"]
        d = self.extra[i - self._n_index]
        return d.title, d.source

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        title, source = self._meta(i)
        text = (self.index.text(i) if i < self._n_index
                else self.extra[i - self._n_index].text)
        return RefDoc(f"T{i + 1:04d}", title, source, text)

    def normalize(self, i: int):
        """Normalised text of document ``i``, equal to ``normalize(self[i].text, t2s=True)``."""
        from .normalize import normalize

        if i < self._n_index:
            return self.index.normalize(i)
        return normalize(self.extra[i - self._n_index].text, t2s=True)

    def contexts(self, positions=None) -> list[dict]:
        """``{"id", "title", "source"}`` of every document, without decoding texts.

        Args:
            positions: With a saved index, list only these documents (sorted
                positions, e.g. the cohort's candidates) and every extra
                document: a 100k-document index is not copied into each run's
                results. Ignored without an index.
        """
        if self.index is not None and positions is not None:
            keep = sorted({int(i) for i in positions if int(i) < self._n_index})
            out = []
            for i in keep:
                title, source = self._meta(i)
                out.append({"id": f"T{i + 1:04d}", "title": title, "source": source})
            for i, d in enumerate(self.extra, self._n_index + 1):
                out.append({"id": f"T{i:04d}", "title": d.title, "source": d.source})
            return out
        if self.index is not None and self.index.positional_ids:
            out = self.index.read_meta()  # stored ids are the positional ones
        else:
            out = [{"id": "", "title": t, "source": s}
                   for t, s in (self._meta(i) for i in range(self._n_index))]
            for i, c in enumerate(out, 1):
                c["id"] = f"T{i:04d}"
        for i, d in enumerate(self.extra, self._n_index + 1):
            out.append({"id": f"T{i:04d}", "title": d.title, "source": d.source})
        return out

    def candidates(self, hashes: Sequence[np.ndarray], k: int, max_df: int,
                   min_hits: int = 1) -> "Candidates":
        """Documents that may share text with documents hashed as ``hashes``.

        Index documents holding at least ``min_hits`` of the hashes among
        their fingerprints (counting fingerprints held by ≤ ``max_df``
        indexed documents), plus every extra document. With an index of
        another ``k``, every document.
        """
        n_idx = self._n_index
        if self.index is None or self.index.k != k:
            return Candidates(list(range(len(self))))
        docs, found, others = self.index.lookup(_distinct(hashes), max_df, min_hits)
        return Candidates(docs.tolist() + list(range(n_idx, len(self))), found, others)


def _distinct(hashes: Sequence[np.ndarray], chunk: int = 512) -> np.ndarray:
    """Sorted distinct values of all ``hashes``, merged ``chunk`` arrays at a time (never
    every array concatenated; ``hashes`` may be a lazy sequence)."""
    out = np.zeros(0, dtype=np.uint64)
    for a in range(0, len(hashes), chunk):
        part = [np.asarray(h, dtype=np.uint64) for h in hashes[a:a + chunk]]
        out = np.unique(np.concatenate([out] + part))
    return out


@dataclass
class Candidates:
    """Library documents to decode for a run, and the frequency of fingerprints among the rest.

    Attributes:
        positions: Sorted positions in the :class:`TemplateLibrary`.
        hashes: Sorted fingerprints held by library documents left out.
        others: Per hash, the number of left-out documents holding it.
    """

    positions: list
    hashes: np.ndarray | None = None
    others: np.ndarray | None = None

    def drop_frequent(self, fingerprints: list, max_df: int) -> list:
        """Remove fingerprints held by more than ``max_df`` documents in all.

        ``fingerprints`` are those of the documents of the run (essays and
        the decoded references, unique per document); the left-out library
        documents holding a fingerprint count too, so
        :func:`~.fingerprint.candidate_pairs` ignores what it would have
        ignored with every reference document present.
        """
        if self.hashes is None or len(self.hashes) == 0 or not fingerprints:
            return fingerprints
        allf = np.concatenate([np.asarray(f, dtype=np.uint64) for f in fingerprints])
        if len(allf) == 0:
            return fingerprints
        u, present = np.unique(allf, return_counts=True)
        pos = np.minimum(np.searchsorted(self.hashes, u), len(self.hashes) - 1)
        extra = np.where(self.hashes[pos] == u, self.others[pos], 0)
        bad = u[present + extra > max_df]
        if len(bad) == 0:
            return fingerprints
        return [f[~np.isin(f, bad)] for f in fingerprints]

    def drop_frequent_flat(self, fps: np.ndarray, lens: np.ndarray,
                           max_df: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`drop_frequent` of the documents' fingerprints concatenated in ``fps``
        (``lens`` per document); returns the kept ``(fps, lens)``."""
        if self.hashes is None or len(self.hashes) == 0 or len(fps) == 0:
            return fps, lens
        u, present = np.unique(fps, return_counts=True)
        pos = np.minimum(np.searchsorted(self.hashes, u), len(self.hashes) - 1)
        extra = np.where(self.hashes[pos] == u, self.others[pos], 0)
        bad = u[present + extra > max_df]
        if len(bad) == 0:
            return fps, lens
        keep = ~np.isin(fps, bad)
        doc = np.repeat(np.arange(len(lens)), lens)
        return fps[keep], np.bincount(doc[keep], minlength=len(lens)).astype(np.int64)
