"""Per-document arrays of the duplication stage, kept out of the main process's heap.

The stage prepares every document once (normalised text, its index map, the
k-gram hashes), later its seed mask and winnowed fingerprints. Holding them in
the main process costs ≈ 25 KB an essay for the whole stage (2.5 GB at 100,000
essays). :class:`DocStore` keeps them in an unlinked temporary file instead:
each document owns a fixed region sized from its text length (a normalised
text is never longer than its source), so forked engine workers write their
documents' arrays with ``os.pwrite`` at known offsets and read the ones they
need with ``os.preadv``, and the main process only reads in bounded chunks.
The file lives in the OS page cache, not in any process's resident set.

Only the lengths (normalised chars, fingerprints) are held in memory. They
are set in the main process from what the workers send back, before the next
round of workers forks, so every later round sees them.

A store unpickled in another process (``--engine dask``, or a platform
without ``fork``) cannot reach the file: it is pickled as a snapshot of its
contents, which is what the stage shipped to such workers before, and
workers there send their arrays back for the main process to write
(:attr:`DocStore.local` is False).
"""
from __future__ import annotations

import os
import tempfile
from typing import Sequence

import numpy as np

from .normalize import NormText

# per capacity char: code point (4), index (4), hash (8), fingerprint (8); mask (1) padded
_CP, _IDX, _HASH, _FP = 4, 4, 8, 8


def _sizes(caps: np.ndarray) -> np.ndarray:
    """Bytes of each document's region: its arrays at capacity, the mask padded to 8."""
    return caps * (_CP + _IDX + _HASH + _FP) + (caps + 7) // 8 * 8


class DocStore:
    """Normalised texts, k-gram hashes, masks and fingerprints of documents, on disk.

    Args:
        caps: Per document, an upper bound of its normalised length (its text length).
        k: The k-gram length (a document of ``n`` normalised chars has ``n - k + 1``).
        dir: Folder of the temporary file (default: the system's).
    """

    def __init__(self, caps: Sequence[int], k: int, dir: str | None = None):
        self.k = k
        caps = np.asarray(caps, dtype=np.int64)
        self._off = np.concatenate([[0], np.cumsum(_sizes(caps))]).astype(np.int64)  # n + 1
        self._caps = caps
        self.n_norm = np.full(len(caps), -1, dtype=np.int64)  # set by :meth:`set_norm_len`
        self.n_fps = np.full(len(caps), -1, dtype=np.int64)
        self.has_mask = np.zeros(len(caps), dtype=bool)
        self._file = tempfile.TemporaryFile(dir=dir)  # unlinked: gone when closed
        self._fd = self._file.fileno()
        self._snapshot: list | None = None  # contents, in a process without the file

    def __len__(self) -> int:
        return len(self._caps)

    def extend(self, caps: Sequence[int]) -> None:
        """Add documents (regions after the existing ones; before any worker forks)."""
        caps = np.asarray(caps, dtype=np.int64)
        self._off = np.concatenate([self._off, self._off[-1] + np.cumsum(_sizes(caps))]
                                   ).astype(np.int64)
        self._caps = np.concatenate([self._caps, caps])
        self.n_norm = np.concatenate([self.n_norm, np.full(len(caps), -1, dtype=np.int64)])
        self.n_fps = np.concatenate([self.n_fps, np.full(len(caps), -1, dtype=np.int64)])
        self.has_mask = np.concatenate([self.has_mask, np.zeros(len(caps), dtype=bool)])

    def norm_text(self, i: int) -> str:
        """Document ``i``'s normalised text alone."""
        if self._snapshot is not None:
            return self._snapshot[i][0].text
        cp = self._read(self._region(i, "cp"), int(self.n_norm[i]), np.uint32)
        return cp.tobytes().decode("utf-32-le")

    @property
    def local(self) -> bool:
        """True where the file is reachable (this process and its forked workers)."""
        return self._snapshot is None

    def close(self) -> None:
        """Delete the file (the store is unusable afterwards)."""
        if self._snapshot is None and self._file is not None:
            self._file.close()
            self._file = None

    # -- layout ---------------------------------------------------------------
    def _region(self, i: int, part: str) -> int:
        c = int(self._caps[i])
        off = int(self._off[i])
        return off + {"cp": 0, "idx": _CP * c, "hash": (_CP + _IDX) * c,
                      "fp": (_CP + _IDX + _HASH) * c, "mask": (_CP + _IDX + _HASH + _FP) * c}[part]

    def _write(self, off: int, a: np.ndarray) -> None:
        buf = memoryview(np.ascontiguousarray(a)).cast("B")
        while len(buf):  # a regular file may take fewer bytes than asked for (disk full: OSError)
            n = os.pwrite(self._fd, buf, off)
            buf, off = buf[n:], off + n

    def _read(self, off: int, n: int, dtype) -> np.ndarray:
        out = np.empty(n, dtype=dtype)
        if n:
            got = os.preadv(self._fd, [memoryview(out).cast("B")], off)
            if got != out.nbytes:
                raise OSError(f"duplication store: short read ({got} of {out.nbytes} bytes)")
        return out

    # -- writing (main process or forked workers) ------------------------------
    def put_norm(self, i: int, norm: NormText, hashes: np.ndarray) -> None:
        """Write document ``i``'s normalised text, index map and k-gram hashes."""
        n = len(norm.text)
        if n > self._caps[i]:
            raise ValueError(f"normalised text of document {i} longer than its capacity")
        cp = np.frombuffer(norm.text.encode("utf-32-le"), dtype=np.uint32)
        self._write(self._region(i, "cp"), cp)
        self._write(self._region(i, "idx"), np.asarray(norm.index, dtype=np.int32))
        self._write(self._region(i, "hash"), np.asarray(hashes, dtype=np.uint64))

    def put_mask(self, i: int, mask: np.ndarray) -> None:
        """Write document ``i``'s seed mask (one bool per k-gram)."""
        self._write(self._region(i, "mask"), np.asarray(mask, dtype=np.uint8))

    def put_fps(self, i: int, fps: np.ndarray) -> None:
        """Write document ``i``'s winnowed fingerprints."""
        self._write(self._region(i, "fp"), np.asarray(fps, dtype=np.uint64))

    def set_norm_len(self, i: int, n: int) -> None:
        self.n_norm[i] = n

    def set_fps_len(self, i: int, n: int) -> None:
        self.n_fps[i] = n

    # -- reading ----------------------------------------------------------------
    def n_kgrams(self, i: int) -> int:
        return max(0, int(self.n_norm[i]) - self.k + 1)

    def norm(self, i: int, n_orig: int) -> NormText:
        """Document ``i``'s :class:`NormText` (``n_orig``: its text length)."""
        if self._snapshot is not None:
            t = self._snapshot[i][0]
            return NormText(t.text, t.index, n_orig)
        n = int(self.n_norm[i])
        cp = self._read(self._region(i, "cp"), n, np.uint32)
        return NormText(cp.tobytes().decode("utf-32-le"),
                        self._read(self._region(i, "idx"), n, np.int32), n_orig)

    def hashes(self, i: int) -> np.ndarray:
        """Document ``i``'s k-gram hashes."""
        if self._snapshot is not None:
            return self._snapshot[i][1]
        return self._read(self._region(i, "hash"), self.n_kgrams(i), np.uint64)

    def mask(self, i: int) -> np.ndarray:
        """Document ``i``'s seed mask (:meth:`put_mask` must have run)."""
        if self._snapshot is not None:
            return self._snapshot[i][2]
        return self._read(self._region(i, "mask"), self.n_kgrams(i), np.uint8).view(bool)

    def fps_into(self, out: np.ndarray, ids: Sequence[int]) -> None:
        """Fill ``out`` with the fingerprints of documents ``ids``, one after the other."""
        pos = 0
        for i in ids:
            n = int(self.n_fps[i])
            if self._snapshot is not None:
                out[pos:pos + n] = self._snapshot[i][3]
            elif n:
                got = os.preadv(self._fd, [memoryview(out[pos:pos + n]).cast("B")],
                                self._region(i, "fp"))
                if got != 8 * n:
                    raise OSError("duplication store: short read of fingerprints")
            pos += n

    # -- pickling (a process that cannot reach the file) ---------------------------
    def __reduce__(self):
        snap = []
        for i in range(len(self)):
            n = int(self.n_norm[i])
            if n < 0:
                snap.append(None)
                continue
            mask = self.mask(i) if self.has_mask[i] else None
            fps = (self._read(self._region(i, "fp"), int(self.n_fps[i]), np.uint64)
                   if self._snapshot is None and self.n_fps[i] >= 0 else None)
            snap.append((self.norm(i, 0), self.hashes(i), mask, fps))
        return _from_snapshot, (self.k, snap, self.n_norm, self.n_fps, self.has_mask)


def _from_snapshot(k: int, snap: list, n_norm, n_fps, has_mask) -> DocStore:
    st = DocStore.__new__(DocStore)
    st.k, st._snapshot = k, snap
    st.n_norm, st.n_fps, st.has_mask = n_norm, n_fps, has_mask
    st._caps = np.zeros(len(snap), dtype=np.int64)
    st._file = None
    return st


class StoredHashes(Sequence):
    """The k-gram hash arrays of some documents of a store, read on access (a lazy
    sequence for :func:`~.classify.frequent_kgrams`, which reads it in chunks)."""

    def __init__(self, store: DocStore, ids: Sequence[int]):
        self.store, self.ids = store, list(ids)

    def __len__(self) -> int:
        return len(self.ids)

    def lengths(self) -> np.ndarray:
        return np.array([self.store.n_kgrams(i) for i in self.ids], dtype=np.int64)

    def __getitem__(self, x):
        if isinstance(x, slice):
            return [self.store.hashes(i) for i in self.ids[x]]
        return self.store.hashes(self.ids[x])
