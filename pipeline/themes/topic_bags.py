"""Word bags of topic-modelling units, built with numpy (no Python work per token).

:func:`chunk_bags` turns the units of a run of essays into a :class:`Bags`: a
sorted chunk-local vocabulary of kept words and, per unit, its word ids and
counts (CSR layout). The texts of the essays are joined into one code-point
array, each token is cut out of it into a fixed-width row (numpy ``U`` strings)
and the rows are deduplicated with :func:`numpy.unique`; only the *distinct*
words of a chunk are ever Python strings (to apply the stopword/regex test).
The words and counts are exactly those of reading ``essay.tokens`` word by
word (:meth:`TopicModeler._span_words`).

:func:`nmf_transform` is scikit-learn's NMF ``transform`` (coordinate descent,
``W`` from zeros) with the product ``X @ H.T`` computed once instead of once per
iteration (``H`` is fixed): the same arithmetic in the same order, so the same
bits, several times faster. :func:`nmf_fit` is scikit-learn's coordinate-descent
NMF fit, also bit for bit, with the two sparse products of an iteration split over
threads by rows and ``X.T`` stored row-major once.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..segment import token_offsets

#: Tokens longer than this are cut out as Python strings (rare: long Latin runs).
MAX_ROW = 32


@dataclass
class Bags:
    """Word counts of consecutive units.

    Attributes:
        vocab: The chunk's kept words, sorted (numpy ``U`` array; local word id = position).
        indptr: Unit ``u``'s entries are ``indptr[u]:indptr[u + 1]`` (int64).
        word: Local word id of each entry, ascending within a unit (int32).
        count: How often the unit uses the word (int32).
    """

    vocab: np.ndarray
    indptr: np.ndarray
    word: np.ndarray
    count: np.ndarray

    @property
    def n_units(self) -> int:
        return len(self.indptr) - 1

    def n_words(self) -> np.ndarray:
        """Kept words of each unit, with repeats (int64)."""
        cum = np.r_[0, np.cumsum(self.count, dtype=np.int64)]
        return cum[self.indptr[1:]] - cum[self.indptr[:-1]]

    def select(self, mask: np.ndarray) -> "Bags":
        """The units where ``mask`` is true, in order (same vocabulary)."""
        sizes = np.diff(self.indptr)
        entry = np.repeat(mask, sizes)
        return Bags(self.vocab, np.r_[0, np.cumsum(sizes[mask])].astype(np.int64),
                    self.word[entry], self.count[entry])

    def doc_freq(self, group: np.ndarray) -> np.ndarray:
        """Per local word: how many distinct ``group`` values (one per unit) use it."""
        g = np.repeat(group.astype(np.int64), np.diff(self.indptr))
        v = max(len(self.vocab), 1)
        pairs = np.unique(g * v + self.word)
        return np.bincount(pairs % v, minlength=len(self.vocab))


def _token_arrays(essay, spans: tuple[np.ndarray, np.ndarray], cut: Callable | None):
    """``(starts, ends)`` of the essay's tokens; from ``cut`` per span when it has none."""
    toks = essay.tokens
    offsets = token_offsets(toks)  # a compact TokenList: (start, end) pairs
    if offsets is not None:
        o = np.frombuffer(offsets, dtype=np.intc) if len(offsets) else np.zeros(0, np.intc)
        return o[0::2].astype(np.int64), o[1::2].astype(np.int64)
    if toks:
        return (np.array([t.start for t in toks], dtype=np.int64),
                np.array([t.end for t in toks], dtype=np.int64))
    starts, ends = [], []
    text = essay.text
    for s, e in zip(*(a.tolist() for a in spans)):  # not segmented: cut each span
        pos = s
        for w in cut(text[s:e]):
            j = text.find(w, pos, e) if w else -1
            if j >= 0:
                starts.append(j)
                ends.append(j + len(w))
                pos = j + len(w)
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def _allowed(cp: np.ndarray) -> np.ndarray:
    """Characters a kept word can contain (CJK, ASCII letters/digits; ``\\n`` for ``$``)."""
    low = cp | 32
    return (((cp >= 0x3400) & (cp <= 0x9FFF)) | ((cp >= 48) & (cp <= 57))
            | ((low >= 97) & (low <= 122)) | (cp == 10))


def _rows_as_strings(cp: np.ndarray, s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Numpy ``U`` strings of ``cp[s:s+n]`` (all ``n`` ≥ 1 and ≤ :data:`MAX_ROW`)."""
    width = int(n.max()) if len(n) else 1
    col = np.arange(width)
    idx = np.minimum(s[:, None] + col, len(cp) - 1)
    rows = cp[idx]
    rows[col >= n[:, None]] = 0
    return np.ascontiguousarray(rows, dtype=np.uint32).view(np.dtype(f"U{width}")).ravel()


def _packed_words(cp: np.ndarray, s: np.ndarray, n: np.ndarray):
    """Sorted distinct words of ≤ 4 characters (all < U+10000) and each one's id.

    A word packs exactly into one ``uint64`` (16 bits a character, zero-padded),
    whose numeric order is the string order, so integers are deduplicated
    instead of strings.
    """
    col = np.arange(4)
    rows = cp[np.minimum(s[:, None] + col, len(cp) - 1)].astype(np.uint64)
    rows[col >= n[:, None]] = 0
    keys = (rows[:, 0] << 48) | (rows[:, 1] << 32) | (rows[:, 2] << 16) | rows[:, 3]
    uniq, inv = np.unique(keys, return_inverse=True)
    chars = np.stack([(uniq >> sh) & 0xFFFF for sh in (48, 32, 16, 0)], axis=1)
    return np.ascontiguousarray(chars, dtype=np.uint32).view(np.dtype("U4")).ravel(), inv.ravel()


def _word_ids(text: str, cp: np.ndarray, s: np.ndarray, e: np.ndarray):
    """Sorted distinct words (``U`` array) of the token occurrences ``[s, e)``, each one's id.

    The tokens' characters must all be :func:`_allowed` (below U+10000).
    """
    n = e - s
    ids = np.empty(len(s), dtype=np.int64)
    small, mid = n <= 4, (n > 4) & (n <= MAX_ROW)
    words, ids[small] = _packed_words(cp, s[small], n[small])
    groups = [(small, words)]
    if mid.any():
        uniq, inv = np.unique(_rows_as_strings(cp, s[mid], n[mid]), return_inverse=True)
        ids[mid] = inv.ravel()
        groups.append((mid, uniq))
    longer = n > MAX_ROW
    if longer.any():  # rare: cut out as Python strings
        longs = [text[a:b] for a, b in zip(s[longer].tolist(), e[longer].tolist())]
        uniq = sorted(set(longs))
        pos = {w: i for i, w in enumerate(uniq)}
        ids[longer] = [pos[w] for w in longs]
        groups.append((longer, np.array(uniq)))
    if len(groups) == 1:
        return words, ids
    words, inv = np.unique(np.concatenate([g for _, g in groups]), return_inverse=True)
    inv, base = inv.ravel(), 0
    for mask, g in groups:  # disjoint groups (by length): ids into the merged vocabulary
        ids[mask] = inv[base:base + len(g)][ids[mask]]
        base += len(g)
    return words, ids


def _regex_ok(cp: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``re.match(r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z0-9]*$", word)`` for
    tokens ``[s, e)`` (≥ 2 chars) whose characters are all :func:`_allowed`.

    ``$`` also matches before a final ``\n``, so one ``\n`` may end the word.
    """
    first = cp[s]
    nl = np.r_[0, np.cumsum(cp == 10, dtype=np.int64)]
    n_nl = nl[e] - nl[s]
    return (((first < 48) | (first > 57)) & (first != 10)
            & ((n_nl == 0) | ((n_nl == 1) & (cp[e - 1] == 10))))


def chunk_bags(essays: Sequence, spans: Sequence[tuple[np.ndarray, np.ndarray]],
               stopwords: np.ndarray, cut: Callable | None = None) -> Bags:
    """Bags of the given units: ``spans[i] = (starts, ends)`` of units of ``essays[i]``.

    Args:
        essays: Essays (tokenised; else ``cut`` splits each span into words).
        spans: Per essay, sorted non-overlapping unit spans as two int arrays.
        stopwords: Sorted ``U`` array of words never kept. Kept words have ≥ 2
            characters, match the word pattern of :mod:`pipeline.themes.topics`
            and are not stopwords.
        cut: ``text -> words`` for essays without tokens.

    Returns:
        Units in input order (essay by essay, span by span), words a unit's
        span overlaps, filtered by ``keep``.
    """
    texts, ts, te, us, ue = [], [], [], [], []
    base = 0
    for essay, sp in zip(essays, spans):
        a, b = _token_arrays(essay, sp, cut)
        texts.append(essay.text)
        ts.append(a + base)
        te.append(b + base)
        us.append(np.asarray(sp[0], dtype=np.int64) + base)
        ue.append(np.asarray(sp[1], dtype=np.int64) + base)
        base += len(essay.text)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    ts, te, us, ue = cat(ts), cat(te), cat(us), cat(ue)
    n_units = len(us)
    # token occurrences per unit: the tokens overlapping the span (bisection)
    first = np.searchsorted(te, us, side="right")
    size = np.maximum(np.searchsorted(ts, ue, side="left") - first, 0)
    unit = np.repeat(np.arange(n_units, dtype=np.int64), size)
    tok = np.arange(int(size.sum()), dtype=np.int64) - np.repeat(np.cumsum(size) - size - first, size)
    text = "".join(texts)
    cp = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    s, e = ts[tok], te[tok]
    bad = np.r_[0, np.cumsum(~_allowed(cp), dtype=np.int64)] if len(cp) else np.zeros(1, np.int64)
    cand = (e - s >= 2) & (bad[e] - bad[s] == 0)
    cand[cand] = _regex_ok(cp, s[cand], e[cand])
    s, e, unit = s[cand], e[cand], unit[cand]
    words, ids = _word_ids(text, cp, s, e)
    flags = ~words_in(words, stopwords) if len(stopwords) else np.ones(len(words), bool)
    vocab = words[flags]
    new_id = np.cumsum(flags) - 1
    kept = flags[ids] if len(ids) else np.zeros(0, bool)
    ids, unit = new_id[ids[kept]], unit[kept]
    v = max(len(vocab), 1)
    key, count = np.unique(unit * v + ids, return_counts=True)
    return Bags(vocab, np.searchsorted(key // v, np.arange(n_units + 1)).astype(np.int64),
                (key % v).astype(np.int32), count.astype(np.int32))


def pack_words(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Words of ≤ 4 characters (all below U+10000) as ``uint64`` keys.

    Args:
        words: A numpy ``U`` array of words (no NUL characters).

    Returns:
        ``(keys, short)``: ``short`` marks the words of ≤ 4 characters, ``keys``
        holds theirs in order (16 bits a character, zero-padded: numeric order is
        string order, as in :func:`_packed_words`).
    """
    n = len(words)
    width = max(words.dtype.itemsize // 4, 1)
    cp = np.ascontiguousarray(words).view(np.uint32).reshape(n, width) if n else \
        np.zeros((0, width), np.uint32)
    if width < 5:
        cp = np.pad(cp, ((0, 0), (0, 5 - width)))
    short = cp[:, 4] == 0
    c = cp[short, :4].astype(np.uint64)
    return (c[:, 0] << 48) | (c[:, 1] << 32) | (c[:, 2] << 16) | c[:, 3], short


def unpack_words(keys: np.ndarray) -> np.ndarray:
    """The ``U`` strings of :func:`pack_words` keys."""
    chars = np.stack([(keys >> sh) & 0xFFFF for sh in (48, 32, 16, 0)], axis=1) if len(keys) \
        else np.zeros((0, 4), np.uint64)
    return np.ascontiguousarray(chars, dtype=np.uint32).view(np.dtype("U4")).ravel()


class DocFreq:
    """Document frequencies of words, merged chunk by chunk.

    A chunk's words arrive as :func:`DocFreq.part` (packed keys for words of
    ≤ 4 characters — nearly all of them — and strings for the rest, with
    ``int32`` counts), ≈ 12 bytes a word instead of a ``U`` string and an
    ``int64``; :meth:`add` folds a list of parts into the running totals, so
    only one batch of chunk results and the cohort's distinct words are ever
    held. The totals do not depend on how the chunks are batched.
    """

    def __init__(self):
        self.keys = np.zeros(0, np.uint64)  # sorted distinct packed short words
        self.key_df = np.zeros(0, np.int64)
        self.long = np.zeros(0, "U5")  # sorted distinct longer words
        self.long_df = np.zeros(0, np.int64)

    @staticmethod
    def part(vocab: np.ndarray, df: np.ndarray) -> tuple:
        """A chunk's ``(vocab, df)`` in the compact form :meth:`add` takes (words
        with ``df`` 0 dropped)."""
        df = np.asarray(df)
        vocab, df = vocab[df > 0], df[df > 0]
        keys, short = pack_words(vocab)
        return keys, df[short].astype(np.int32), vocab[~short], df[~short].astype(np.int32)

    @staticmethod
    def _merge(have, have_df, new: list, new_df: list):
        if not new:
            return have, have_df
        uniq, inv = np.unique(np.concatenate([have] + new), return_inverse=True)
        w = np.concatenate([have_df] + [d.astype(np.int64) for d in new_df])
        return uniq, np.bincount(inv.ravel(), weights=w, minlength=len(uniq)).astype(np.int64)

    def add(self, parts: Sequence[tuple], group: int = 16) -> None:
        """Fold chunk parts (:meth:`part`) into the totals, ``group`` parts a merge (the
        merge's sort and inverse cost ≈ 40 bytes an entry: a whole batch at once was
        ≈ 10 KB an essay at 3k–4k essays)."""
        for g in range(0, len(parts), group):
            some = parts[g:g + group]
            self.keys, self.key_df = self._merge(self.keys, self.key_df, [p[0] for p in some],
                                                 [p[1] for p in some])
            longs = [p for p in some if len(p[2])]
            self.long, self.long_df = self._merge(self.long, self.long_df, [p[2] for p in longs],
                                                  [p[3] for p in longs])

    def __len__(self) -> int:
        return len(self.keys) + len(self.long)

    def select(self, keep: Callable[[np.ndarray], np.ndarray],
               also: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The words whose frequencies pass ``keep`` (``df array -> bool mask``) or that
        are in ``also`` (a ``U`` array): sorted ``U`` array, and their frequencies."""
        kk, kl = keep(self.key_df), keep(self.long_df)
        if also is not None and len(also):
            keys, short = pack_words(also)
            kk |= np.isin(self.keys, keys)
            kl |= np.isin(self.long, also[~short])
        words = np.concatenate([unpack_words(self.keys[kk]), self.long[kl]])
        df = np.concatenate([self.key_df[kk], self.long_df[kl]])
        order = np.argsort(words, kind="stable")
        return words[order], df[order]


def words_in(words: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``np.isin(words, table)`` for ``U`` arrays, comparing packed keys for the words
    of ≤ 4 characters (about twice as fast on a chunk's vocabulary)."""
    keys, short = pack_words(words)
    tkeys, tshort = pack_words(table)
    out = np.zeros(len(words), bool)
    out[short] = np.isin(keys, tkeys)
    if (~short).any():
        out[~short] = np.isin(words[~short], table[~tshort])
    return out


def repeat_sum(f: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``f[i]`` added ``n[i]`` times in sequence (bit-identical to counting word by word)."""
    out = np.zeros(len(f))
    for j in range(1, int(n.max()) + 1 if len(n) else 1):
        out = np.where(n >= j, out + f, out)
    return out


class VocabIndex:
    """Positions of words in a sorted vocabulary, looked up as packed integers.

    :func:`numpy.searchsorted` on ``U`` strings costs ≈ 8 ms for a chunk's
    vocabulary in the model's (50k words); words of ≤ 4 characters (nearly all)
    are found among ``uint64`` keys instead (:func:`pack_words`), the rest as strings.
    """

    def __init__(self, vocabulary: np.ndarray):
        self.size = len(vocabulary)
        keys, short = pack_words(vocabulary)
        order = np.argsort(keys, kind="stable")  # already sorted for a sorted vocabulary
        self.keys, self.key_pos = keys[order], np.flatnonzero(short)[order]
        self.long, self.long_pos = vocabulary[~short], np.flatnonzero(~short)

    def __len__(self) -> int:
        return self.size

    @staticmethod
    def _find(table: np.ndarray, table_pos: np.ndarray, q: np.ndarray):
        if not len(table):
            return np.zeros(len(q), np.int64), np.zeros(len(q), bool)
        i = np.minimum(np.searchsorted(table, q), len(table) - 1)
        return table_pos[i], table[i] == q

    def find(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(pos, hit)``: each word's position in the vocabulary (meaningful where ``hit``)."""
        keys, short = pack_words(words)
        pos, hit = np.zeros(len(words), np.int64), np.zeros(len(words), bool)
        pos[short], hit[short] = self._find(self.keys, self.key_pos, keys)
        if (~short).any():
            pos[~short], hit[~short] = self._find(self.long, self.long_pos, words[~short])
        return pos, hit


def bags_matrix(parts: Sequence[Bags], vocabulary: np.ndarray, factors: np.ndarray):
    """CSR count matrix of ``parts`` (rows = their units in order) over ``vocabulary``.

    Args:
        parts: Bags, each with its own vocabulary.
        vocabulary: The model's sorted vocabulary (numpy ``U`` array, or its
            :class:`VocabIndex`); other words drop.
        factors: Down-weighting factor of each vocabulary word (1 = none): a
            count ``n`` of a word with factor ``f < 1`` becomes ``f`` summed ``n`` times.
    """
    from scipy.sparse import csr_matrix

    index = vocabulary if isinstance(vocabulary, VocabIndex) else VocabIndex(vocabulary)
    data, cols, sizes = [], [], []
    for b in parts:
        pos, hit = index.find(b.vocab)
        inside = hit[b.word] if len(b.word) else np.zeros(0, bool)
        col = pos[b.word[inside]]  # sorted vocabularies: column order stays word order
        n = b.count[inside]
        f = factors[col]
        val = n.astype(np.float64)
        low = f != 1.0
        if low.any():
            val[low] = repeat_sum(f[low], n[low])
        cum = np.r_[0, np.cumsum(inside, dtype=np.int64)]
        sizes.append(cum[b.indptr[1:]] - cum[b.indptr[:-1]])
        data.append(val)
        cols.append(col)
    sizes = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
    indptr = np.r_[0, np.cumsum(sizes)].astype(np.int32)
    data = np.concatenate(data) if data else np.zeros(0)
    cols = (np.concatenate(cols) if cols else np.zeros(0)).astype(np.int32)
    return csr_matrix((data, cols, indptr), shape=(len(sizes), len(index)))


def tfidf_rows(X, idf: np.ndarray):
    """``TfidfTransformer(norm="l2", sublinear_tf=False).transform(X)`` with a fitted
    ``idf``, bit for bit, done in place on ``X`` (a float64 CSR matrix the caller owns).

    The same two steps (``X.data *= idf[X.indices]``, then scikit-learn's
    ``inplace_csr_row_normalize_l2``) without the estimator's input validation and
    copy, which cost ≈ 7 ms a call — more than the work on a 256-unit chunk.
    """
    from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

    X.data *= idf[X.indices]
    inplace_csr_row_normalize_l2(X)
    return X


def nmf_transform(model, X) -> np.ndarray:
    """``model.transform(X)`` for a fitted coordinate-descent NMF, bit for bit.

    scikit-learn recomputes ``X @ H.T`` and ``H @ H.T`` on every iteration of
    the ``W``-only coordinate descent although ``H`` does not change; here they
    are computed once. Regularisation is assumed off (``alpha_W = 0``, the default).
    """
    from sklearn.decomposition._cdnmf_fast import _update_cdnmf_fast

    Ht = np.ascontiguousarray(model.components_.T)
    W = np.zeros((X.shape[0], Ht.shape[1]), dtype=X.dtype)
    HHt = np.dot(Ht.T, Ht)
    XHt = np.asarray(X @ Ht)
    perm = np.arange(Ht.shape[1], dtype=np.intp)
    violation_init = 0.0
    for n_iter in range(1, model.max_iter + 1):
        violation = 0.0 + _update_cdnmf_fast(W, HHt, XHt, perm)
        if n_iter == 1:
            violation_init = violation
        if violation_init == 0 or violation / violation_init <= model.tol:
            break
    return W


def _row_blocks(X, parts: int) -> list[tuple[int, int, object]]:
    """``X`` (CSR) cut into ≤ ``parts`` row blocks of about equal entries: ``(start, stop, block)``."""
    n = X.shape[0]
    if parts <= 1 or n < 2 * parts:
        return [(0, n, X)]
    cuts = np.searchsorted(X.indptr, np.linspace(0, X.nnz, parts + 1)[1:-1])
    bounds = np.unique(np.r_[0, cuts, n])
    return [(int(a), int(b), X[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _product(blocks, D: np.ndarray, pool: ThreadPoolExecutor | None) -> np.ndarray:
    """``X @ D`` for ``X`` given as row blocks; rows are independent sums, so
    splitting them (scipy's kernel releases the GIL) gives the same bits."""
    if len(blocks) == 1:
        return blocks[0][2] @ D
    out = np.empty((blocks[-1][1], D.shape[1]), dtype=np.result_type(blocks[0][2].dtype, D.dtype))

    def one(block):
        a, b, M = block
        out[a:b] = M @ D

    list(pool.map(one, blocks))
    return out


def nmf_fit(X, W: np.ndarray, H: np.ndarray, max_iter: int, tol: float, threads: int = 1):
    """scikit-learn's ``NMF(solver="cd")`` fit from ``W``, ``H``, bit for bit.

    The same coordinate-descent loop as ``sklearn.decomposition._nmf.
    _fit_coordinate_descent`` (no regularisation, no shuffling), with the
    same Cython update and the same stopping test; only the sparse products
    are done differently: ``X.T`` is converted to CSR once (its rows summed in
    the same order as scikit-learn's CSC product) and both products are split
    into row blocks over ``threads`` threads. Each output row is the same sum
    in the same order, so ``W``, ``H`` and the iteration count are scikit-learn's.

    Args:
        X: Non-negative CSR matrix (float64).
        W: Initial ``W`` (rows of ``X`` × components); not modified.
        H: Initial ``H`` (components × columns of ``X``); not modified.
        max_iter: Most iterations.
        tol: Stop when the projected-gradient violation falls to ``tol`` × the first one's.
        threads: Threads for the sparse products (1 = none).

    Returns:
        ``(W, H, n_iter)``.
    """
    from sklearn.decomposition._cdnmf_fast import _update_cdnmf_fast

    X = X.tocsr()
    W = np.array(W, order="C")
    Ht = np.array(H.T, order="C")
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        rows, cols = _row_blocks(X, threads), _row_blocks(X.T.tocsr(), threads)
        perm = np.arange(W.shape[1], dtype=np.intp)
        violation_init = 0.0
        for n_iter in range(1, max_iter + 1):
            violation = 0.0
            HHt = np.dot(Ht.T, Ht)
            violation += _update_cdnmf_fast(W, HHt, _product(rows, Ht, pool), perm)
            WtW = np.dot(W.T, W)
            violation += _update_cdnmf_fast(Ht, WtW, _product(cols, W, pool), perm)
            if n_iter == 1:
                violation_init = violation
            if violation_init == 0 or violation / violation_init <= tol:
                break
    finally:
        if pool is not None:
            pool.shutdown()
    return W, Ht.T, n_iter
