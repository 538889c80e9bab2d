"""Discovered themes: topic models over the cohort's paragraphs (or sentences).

:class:`TopicModeler` is the cohort-scope stage. It cuts every essay into
*units* (paragraphs by default, or sentences), turns each into jieba words
(``essay.tokens``, or :meth:`pipeline.segment.Segmenter.cut` when the essays
were not segmented), drops the curated stopwords (``models/stopwords.txt``),
single characters and numbers, and down-weights *cohort-frequent boilerplate*:
a word used by more than ``boilerplate_df`` of the essays (政绩考核, 领导干部 …)
is scaled by ``(1 - df) / (1 - boilerplate_df)`` (at least ``min_factor``), and
words of the shared 套话 list (``models/taohua.txt``) by ``min_factor`` — they
say nothing about what one essay discusses.

Two models (``method``):

* ``"nmf"`` (default) — scikit-learn NMF on sublinear TF-IDF rows, optionally
  initialised from the profile (``init="profile"``: one topic row per profile
  theme present in the cohort, seeded with its cue words; remaining rows from
  NNDSVDa), so discovered topics line up with profile themes where the
  cohort supports them and drift away where it does not;
* ``"lda"`` — gensim ``LdaModel`` on the weighted bag of words, with the profile
  seeding done through the ``eta`` prior.

Both are deterministic for a given ``seed``.

Scale: a cohort with more than ``max_fit_units`` units is not modelled whole.
The word factors (document frequencies) are counted over every essay in one
streaming pass, the vocabulary and the model are fitted on a seeded sample of
``max_fit_units`` units spread evenly over the essays, and all units are then
only *transformed*, ``chunk_units`` at a time, their words re-read from
``essay.tokens`` per chunk — memory stays bounded and the cost beyond the cap
is one cheap pass per unit. At or below the cap the whole cohort is fitted and
transformed at once, as before. The outputs follow the results
contract: ``context["topics"] = {"method", "n_topics", "topics": [{"id",
"label", "top_words", "examples"}]}`` and ``essay.topics = [{"topic",
"weight"}]`` (the essay's mix, weights summing to ~1, largest first).
See docs/themes.md for why NMF is the default.
"""
from __future__ import annotations

import logging
import math
import re
import warnings
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..essay import Essay, Span, TopicMix
from ..segment import token_offsets
from .profile import Profile
from .topic_bags import (Bags, DocFreq, bags_matrix, chunk_bags, nmf_fit, nmf_transform,
                         tfidf_rows, VocabIndex)

log = logging.getLogger(__name__)

METHODS = ("nmf", "lda")
UNITS = ("paragraph", "sentence")
INITS = ("profile", "nndsvda")
#: Units the model is fitted on when a cohort has more than ``max_fit_units``.
#: Measured on a 4k-essay slice of the bench cohort (31,865 units; NPMI of the
#: top-10 words over all units, bench/eval_themes.topic_metrics): a 20,000-unit
#: fit with 500 iterations 0.171 (182 s under load) — 8,000 units with 200
#: iterations 0.171 (7.6 s), 6,000/200 0.160, 4,000/150 0.155; same themes found.
FIT_SAMPLE = 8000
#: NMF iterations for that sample (at or below the cap: :data:`MAX_ITER`).
FIT_MAX_ITER = 200
#: NMF iterations when the whole cohort is fitted (at or below the cap). Was 500:
#: the 1,000-essay bench cohort (7,941 units) converged (tol 1e-4) at 180, and 120
#: finds the same topics (same labels, ≥ 9 of 10 top words, 994 of 1,000 essays keep
#: their dominant topic) at the same NPMI (+0.149 vs +0.147); the sample corpus
#: converges at 96, so it is unchanged. See docs/themes.md ("Scale").
MAX_ITER = 120
#: Essay / unit tasks handed to the engine for a pass (its pool needs ≥ 64 items).
TASKS = 64
#: Scan tasks per engine call: each call's word counts are merged before the next.
SCAN_BATCH = TASKS
#: Most threads the NMF fit splits its sparse products over (the output does not depend on it).
MAX_FIT_THREADS = 4
_WORD = re.compile(r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z0-9]*$")


def read_wordlist(path: Path | None) -> set[str]:
    """Words of a list file (whitespace separated, ``#`` comments)."""
    if path is None or not Path(path).exists():
        return set()
    out: set[str] = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        out.update(w for w in line.split() if w)
    return out


@lru_cache(maxsize=65536)
def _repeat_sum(f: float, n: int) -> float:
    """``f`` added ``n`` times in sequence (bit-identical to counting word by word)."""
    s = 0.0
    for _ in range(n):
        s += f
    return s


def fit_threads(context: dict | None) -> int:
    """Threads for the NMF fit's products: the local engine's jobs (at most
    :data:`MAX_FIT_THREADS`); 1 with no engine or another engine (its workers are elsewhere)."""
    engine = (context or {}).get("engine")
    if getattr(engine, "name", None) != "local":
        return 1
    return max(1, min(int(getattr(engine, "jobs", 1)), MAX_FIT_THREADS))


def _one_blas_thread():
    """Context: BLAS/LAPACK on one thread (the NNDSVDa start's QR/LU/GEMM, the fit's
    ``Hᵀ H``). The fit splits its sparse products over its own threads; OpenBLAS
    threads on top only spin for the shared cores (2k essays: parent CPU 9–10 s → 7.5 s,
    same output)."""
    import sklearn.decomposition  # noqa: F401  (loads scipy's BLAS too: limits cover loaded ones)
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    return threadpool_limits(limits=1, user_api="blas")


class _Task:
    """``fn(i)`` = ``modeler.<method>(i, *args)``: a picklable task for ``engine.map``.

    The local engine's forked workers inherit it (and the essays in ``args``);
    the Dask engine sends it to each worker once.
    """

    def __init__(self, modeler: "TopicModeler", method: str, args: tuple):
        self.modeler, self.method, self.args = modeler, method, args

    def __call__(self, i: int):
        return getattr(self.modeler, self.method)(i, *self.args)


@dataclass
class Unit:
    """One modelling unit: a paragraph or sentence of one essay."""

    essay: int
    span: Span
    words: list[str]


class TopicModeler:
    """Cohort stage: discovered topics, their typical sentences and each essay's mix.

    Args:
        method: ``"nmf"`` or ``"lda"``.
        n_topics: Number of topics; 0 chooses from the cohort size (4–10).
        unit: ``"paragraph"`` or ``"sentence"``.
        seed: Random seed (the models are deterministic given it).
        stopwords: Curated stopword file; ``None`` for none.
        taohua: 套话 list whose words are down-weighted; ``None`` for none.
        profile: Theme profile used to seed and label topics.
        init: ``"profile"`` (seed from the profile's cues when given) or ``"nndsvda"``.
        boilerplate_df: Words in more than this share of essays are down-weighted.
        min_factor: Lowest weight a down-weighted word keeps.
        min_essays: Fewer essays than this → topic modelling is skipped.
        n_top_words: Top words reported per topic.
        n_examples: Typical sentences reported per topic.
        segmenter: Used only when essays carry no tokens.
        max_fit_units: Cohorts with more units than this fit the model on a seeded
            sample (spread evenly over the essays) and only transform the rest;
            at or below it the whole cohort is fitted.
        fit_sample: Units in that sample (at most ``max_fit_units``).
        fit_max_iter: NMF iterations on that sample (at most 500).
        chunk_units: Units transformed per task above the cap (bounds memory;
            the tasks are spread over ``context["engine"]``).
    """

    name = "topics"
    scope = "cohort"

    def __init__(self, method: str = "nmf", n_topics: int = 0, unit: str = "paragraph",
                 seed: int = 42, stopwords: Path | None = None, taohua: Path | None = None,
                 profile: Profile | None = None, init: str = "profile",
                 boilerplate_df: float = 0.5, min_factor: float = 0.15, min_essays: int = 2,
                 n_top_words: int = 10, n_examples: int = 5, segmenter=None,
                 max_fit_units: int = FIT_SAMPLE, fit_sample: int = FIT_SAMPLE,
                 fit_max_iter: int = FIT_MAX_ITER,
                 chunk_units: int = 256):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if not isinstance(n_topics, int) or n_topics < 0:
            raise ValueError(f"n_topics must be an int ≥ 0, got {n_topics!r}")
        if not 0 < boilerplate_df < 1:
            raise ValueError(f"boilerplate_df must be in (0, 1), got {boilerplate_df!r}")
        if not 0 <= min_factor <= 1:
            raise ValueError(f"min_factor must be in [0, 1], got {min_factor!r}")
        if min_essays < 1 or n_top_words < 1 or n_examples < 0:
            raise ValueError("min_essays and n_top_words must be ≥ 1, n_examples ≥ 0")
        if not isinstance(max_fit_units, int) or max_fit_units < 10:
            raise ValueError(f"max_fit_units must be an int ≥ 10, got {max_fit_units!r}")
        if not isinstance(fit_sample, int) or fit_sample < 10:
            raise ValueError(f"fit_sample must be an int ≥ 10, got {fit_sample!r}")
        if not isinstance(fit_max_iter, int) or fit_max_iter < 1:
            raise ValueError(f"fit_max_iter must be an int ≥ 1, got {fit_max_iter!r}")
        if not isinstance(chunk_units, int) or chunk_units < 1:
            raise ValueError(f"chunk_units must be an int ≥ 1, got {chunk_units!r}")
        if profile is not None and not isinstance(profile, Profile):
            raise TypeError(f"profile must be a Profile, got {type(profile).__name__}")
        self.method, self.n_topics, self.unit, self.seed = method, n_topics, unit, seed
        self.stopwords = read_wordlist(stopwords)
        self.taohua = read_wordlist(taohua)
        self.profile, self.init = profile, init
        self.boilerplate_df, self.min_factor, self.min_essays = boilerplate_df, min_factor, min_essays
        self.n_top_words, self.n_examples = n_top_words, n_examples
        self.segmenter = segmenter
        self.max_fit_units, self.chunk_units = max_fit_units, chunk_units
        self.fit_sample = min(fit_sample, max_fit_units)
        self.fit_max_iter = min(fit_max_iter, 500)
        self._max_iter = MAX_ITER  # NMF iterations of the next fit
        self._threads = 1  # threads for the NMF fit's sparse products (the run's jobs)
        self._keep: dict[str, bool] = {}  # keep_word() memo: one regex per distinct word
        self._stop_array = np.array(sorted(self.stopwords)) if self.stopwords else np.zeros(0, "U1")
        self._taohua_array = np.array(sorted(self.taohua)) if self.taohua else np.zeros(0, "U1")

    # -- units and words -----------------------------------------------------
    def _unit_spans(self, essay: Essay) -> list[Span]:
        if self.unit == "sentence":
            from ..segment import split_sentences
            return list(essay.sentences or split_sentences(essay.text))
        out, pos = [], 0
        for line in essay.text.split("\n"):
            s, e = pos, pos + len(line)
            pos = e + 1
            while s < e and essay.text[s].isspace():
                s += 1
            while e > s and essay.text[e - 1].isspace():
                e -= 1
            if e > s:
                out.append(Span(s, e))
        return out

    def keep_word(self, w: str) -> bool:
        k = self._keep.get(w)
        if k is None:
            k = self._keep[w] = (len(w) >= 2 and bool(_WORD.match(w))
                                 and w not in self.stopwords)
        return k

    def _span_words(self, essay: Essay, spans: list[Span]) -> list[list[str]]:
        """Kept words of each span of one essay (tokens overlapping the span).

        Reads the token offsets directly (no :class:`Token` per word) and finds
        each span's tokens by bisection; ``spans`` must be sorted.
        """
        keep = self.keep_word
        toks = essay.tokens
        if not toks:
            if self.segmenter is None:
                from ..segment import Segmenter
                self.segmenter = Segmenter()
            return [[w for w in self.segmenter.cut(essay.text[sp.start:sp.end]) if keep(w)]
                    for sp in spans]
        text = essay.text
        offsets = token_offsets(toks)  # a compact TokenList: (start, end) pairs
        if offsets is not None:
            starts, ends = offsets[0::2], offsets[1::2]
        else:
            starts, ends = [t.start for t in toks], [t.end for t in toks]
        get = self._keep.get  # inlined memo lookup: this loop runs once per token
        out = []
        for sp in spans:
            a, b = bisect_right(ends, sp.start), bisect_left(starts, sp.end)
            ws = [text[s:e] for s, e in zip(starts[a:b], ends[a:b])]
            out.append([w for w in ws if (keep(w) if (k := get(w)) is None else k)])
        return out

    def units(self, essays: list[Essay]) -> list[Unit]:
        """Paragraph/sentence units with their kept words (empty ones dropped)."""
        out: list[Unit] = []
        for i, e in enumerate(essays):
            spans = self._unit_spans(e)
            for sp, words in zip(spans, self._span_words(e, spans)):
                if len(words) >= 2:
                    out.append(Unit(i, sp, words))
        return out

    # -- passes over the essays (spread over the run's engine) -------------------
    def _cut(self):
        """``text -> words`` for essays without tokens (builds a segmenter once)."""
        if self.segmenter is None:
            from ..segment import Segmenter
            self.segmenter = Segmenter()
        return self.segmenter.cut

    def _unit_bags(self, essays, spans) -> Bags:
        """:func:`chunk_bags` with this modeler's word filter."""
        needs_cut = any(not e.tokens for e in essays)
        return chunk_bags(essays, spans, self._stop_array, self._cut() if needs_cut else None)

    def _scan_task(self, i: int, essays: list[Essay], size: int, keep_bags: bool = False):
        """Units and document frequencies of essays ``[i * size, (i + 1) * size)``;
        with ``keep_bags`` also the units' word bags (else ``None``)."""
        lo = i * size
        chunk = essays[lo:lo + size]
        spans, owner = [], []
        for j, e in enumerate(chunk):
            sp = self._unit_spans(e)
            spans.append((np.array([x.start for x in sp], dtype=np.int64),
                          np.array([x.end for x in sp], dtype=np.int64)))
            owner.append(np.full(len(sp), lo + j, dtype=np.int32))
        bags = self._unit_bags(chunk, spans)
        n_words = bags.n_words()
        ok = n_words >= 2
        owner = np.concatenate(owner) if owner else np.zeros(0, np.int32)
        starts = np.concatenate([s for s, _ in spans]) if spans else np.zeros(0, np.int64)
        ends = np.concatenate([e for _, e in spans]) if spans else np.zeros(0, np.int64)
        bags = bags.select(ok)
        df = bags.doc_freq(owner[ok])
        return ((owner[ok], starts[ok].astype(np.int32), ends[ok].astype(np.int32),
                 n_words[ok].astype(np.int32)), DocFreq.part(bags.vocab, df),
                bags if keep_bags else None)

    def _scan(self, essays: list[Essay], context: dict | None = None, keep_bags: bool = False):
        """One pass over the essays: every unit's place and size, and document frequencies.

        Returns ``(where, df, bags)``: ``where`` = int32 arrays (essay, start, end,
        n_words) of the units with ≥ 2 kept words, in essay order; ``df`` a
        :class:`DocFreq` of the words they use (number of essays using each);
        ``bags`` the units' word bags (one :class:`Bags` per task, in order) with
        ``keep_bags``, else ``None`` (no word lists are kept).

        On the local engine the tasks go in batches of about :data:`SCAN_BATCH`, each
        batch's word counts folded into ``df`` before the next: the parent holds
        one batch of chunk vocabularies at a time, not the whole cohort's (at
        100k essays those were ≈ 7.6 KB an essay as ``U`` strings, ≈ 2 GB with
        their concatenation and sort).
        """
        size = min(256, max(1, len(essays) // TASKS))
        n_tasks = -(-len(essays) // size)
        # batches on the local engine only: its workers inherit the essays for free, Dask
        # would broadcast them again with every call
        local = getattr((context or {}).get("engine"), "name", "local") == "local"
        n_batches = max(1, n_tasks // SCAN_BATCH) if local else 1
        bounds = np.linspace(0, n_tasks, n_batches + 1).round().astype(int)
        where, bags, dfs = [], [] if keep_bags else None, DocFreq()
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            parts = self._map(context, "_scan_task", range(lo, hi), essays, size, keep_bags)
            where += [p[0] for p in parts]
            dfs.add([p[1] for p in parts])
            if keep_bags:
                bags += [p[2] for p in parts]
            del parts
        where = tuple(np.concatenate([w[c] for w in where]) if where else
                      np.zeros(0, dtype=np.int32) for c in range(4))
        return where, dfs, bags

    def _units_of(self, essays, where, idx: np.ndarray):
        """The essays and per-essay spans of units ``idx`` (sorted) of a :meth:`_scan`."""
        if not len(idx):
            return [], []
        E, S, T, _ = where
        e = E[idx]
        cut = np.r_[0, np.flatnonzero(np.diff(e)) + 1, len(idx)]
        groups = [idx[cut[g]:cut[g + 1]] for g in range(len(cut) - 1)]
        return ([essays[int(E[g[0]])] for g in groups],
                [(S[g].astype(np.int64), T[g].astype(np.int64)) for g in groups])

    def _bags_task(self, i: int, essays, where, idx: np.ndarray, size: int) -> Bags:
        """Bags of units ``idx[i * size:(i + 1) * size]``."""
        return self._unit_bags(*self._units_of(essays, where, idx[i * size:(i + 1) * size]))

    def _transform_task(self, i: int, essays, where, size: int) -> np.ndarray:
        """Topic mixes of units ``[i * size, (i + 1) * size)`` (one model convergence test)."""
        n = len(where[0])
        idx = np.arange(i * size, min(n, (i + 1) * size))
        if not len(idx):
            return np.zeros((0, self.k_))
        bags = self._unit_bags(*self._units_of(essays, where, idx))
        return self.transform_counts(bags_matrix([bags], self.vocab_index_, self.factor_array_))

    def _map(self, context: dict | None, method: str, tasks, *args) -> list:
        """``[self.<method>(i, *args) for i in tasks]`` on the run's engine, if any;
        ``tasks``: a count (``range(tasks)``) or the task numbers."""
        fn = _Task(self, method, args)
        tasks = list(range(tasks) if isinstance(tasks, int) else tasks)
        engine = (context or {}).get("engine")
        return engine.map(fn, tasks) if engine is not None else [fn(i) for i in tasks]

    def sample_units(self, essay_of: np.ndarray, n: int) -> np.ndarray:
        """Sorted indices of ``n`` units spread evenly over the essays (seeded).

        Each essay's units get a random rank; units are taken by rank (every
        essay's first pick before any essay's second …), ties in random order.
        """
        m = len(essay_of)
        if n >= m:
            return np.arange(m)
        rng = np.random.default_rng(self.seed)
        order = np.lexsort((rng.random(m), essay_of))
        first = np.r_[0, np.flatnonzero(np.diff(essay_of[order])) + 1]
        rank = np.empty(m, dtype=np.int64)
        rank[order] = np.arange(m) - np.repeat(first, np.diff(np.r_[first, m]))
        return np.sort(np.lexsort((rng.random(m), rank))[:n])

    # -- weighting -----------------------------------------------------------
    def word_factors(self, units: list[Unit], n_essays: int) -> dict[str, float]:
        """Down-weighting factor (< 1) of cohort-frequent and 套话 words."""
        df: dict[str, set[int]] = {}
        for u in units:
            for w in u.words:
                df.setdefault(w, set()).add(u.essay)
        return self._factors({w: len(v) for w, v in df.items()}, n_essays)

    def _factor_table(self, vocab: np.ndarray, df: np.ndarray, n_essays: int) -> dict[str, float]:
        """:meth:`_factors` for a sorted ``U`` array of words and their document frequencies
        (any sorted subset holding every word whose factor is < 1 gives the same table)."""
        f = np.ones(len(vocab))
        if n_essays >= 5:
            r = df / n_essays
            high = r > self.boilerplate_df
            f[high] = np.maximum(self.min_factor, (1 - r[high]) / (1 - self.boilerplate_df))
        if self.taohua and len(vocab):
            tao = np.isin(vocab, np.array(sorted(self.taohua)))
            f[tao] = np.minimum(f[tao], self.min_factor)
        low = np.flatnonzero(f < 1.0)
        return dict(zip(vocab[low].tolist(), f[low].tolist()))

    def _cohort_factors(self, dfs: DocFreq, n_essays: int) -> dict[str, float]:
        """:meth:`_factor_table` of a :class:`DocFreq`: only its frequent and 套话 words
        can get a factor < 1, so only those become strings."""
        frequent = ((lambda df: df / n_essays > self.boilerplate_df) if n_essays >= 5
                    else (lambda df: np.zeros(len(df), bool)))
        words, df = dfs.select(frequent, self._taohua_array)
        return self._factor_table(words, df, n_essays)

    def _factors(self, df: dict[str, int], n_essays: int) -> dict[str, float]:
        out: dict[str, float] = {}
        for w in sorted(df):
            f = 1.0
            if n_essays >= 5:
                r = df[w] / n_essays
                if r > self.boilerplate_df:
                    f = max(self.min_factor, (1 - r) / (1 - self.boilerplate_df))
            if w in self.taohua:
                f = min(f, self.min_factor)
            if f < 1.0:
                out[w] = f
        return out

    def choose_k(self, n_units: int) -> int:
        """``n_topics`` if set, else ≈ sqrt(units / 4) clamped to 4–10 (fewer for tiny cohorts)."""
        if self.n_topics:
            return max(1, min(self.n_topics, n_units - 1))
        k = min(10, max(4, round(math.sqrt(n_units / 4))))
        return max(2, min(k, n_units // 5))

    # -- fitting -------------------------------------------------------------
    def fit(self, units: list[Unit], n_essays: int, factors: dict[str, float] | None = None,
            n_units: int | None = None) -> "TopicModeler":
        """Fit the model on ``units``; sets ``vocabulary_``, ``components_``, ``seeded_``.

        Args:
            units: The units to fit on (the cohort, or a sample of it).
            n_essays: Essays in the cohort.
            factors: Word factors counted over the whole cohort; default: from ``units``.
            n_units: Units in the whole cohort (chooses ``k``); default ``len(units)``.
        """
        self._set_vocabulary(sorted({w for u in units for w in u.words}),
                             self.word_factors(units, n_essays) if factors is None else factors)
        return self._fit_counts(self._counts([u.words for u in units]),
                                len(units) if n_units is None else n_units)

    def _set_vocabulary(self, vocab: list[str], factors: dict[str, float]) -> None:
        """The model's sorted vocabulary, its index and the words' factors."""
        self.__dict__.pop("tfidf_", None)  # a refit learns its own idf
        self.factors_ = factors
        self.vocabulary_ = vocab
        self.index_ = {w: i for i, w in enumerate(vocab)}
        self.vocab_array_ = np.array(vocab) if vocab else np.zeros(0, dtype="U1")
        self.vocab_index_ = VocabIndex(self.vocab_array_)
        self.factor_array_ = np.ones(len(vocab))
        for w, f in factors.items():
            if w in self.index_:
                self.factor_array_[self.index_[w]] = f

    def _fit_counts(self, X, n_units: int) -> "TopicModeler":
        """Fit on count matrix ``X`` (rows = units, columns = ``vocabulary_``)."""
        self.k_ = self.choose_k(n_units)
        self.theme_words_ = self._theme_words() if self.profile is not None else {}
        seeds = self._seed_rows() if (self.profile is not None and self.init == "profile") else []
        seeds = seeds[: self.k_]
        self.seeded_ = [tid for tid, _ in seeds]
        if self.method == "nmf":
            self._fit_nmf(X, seeds)
        else:
            self._fit_lda(X, seeds)
        return self

    def _counts(self, docs: list[list[str]]):
        from scipy.sparse import csr_matrix

        index, factors = self.index_, self.factors_
        rows, cols, vals = [], [], []
        for r, words in enumerate(docs):
            c = sorted((index[w], n, factors.get(w, 1.0))
                       for w, n in Counter(words).items() if w in index)
            rows += [r] * len(c)
            cols += [i for i, _, _ in c]
            vals += [float(n) if f == 1.0 else _repeat_sum(f, n) for _, n, f in c]
        return csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.index_)))

    def _theme_words(self) -> dict[str, dict[str, float]]:
        """Per profile theme: its cue words (cue terms and their jieba words) → weight."""
        out: dict[str, dict[str, float]] = {}
        for theme in self.profile.themes:
            words: dict[str, float] = {}
            cues = [(c.text, c.weight) for c in theme.positive() if c.kind == "term"]
            cues += [(w, 1.0) for w in theme.seed_words]
            for text, wt in cues:
                parts = {text: wt}
                if self.segmenter is not None:  # a cue's words count half (标准 ≠ 政治标准)
                    for p in self.segmenter.cut(text):
                        parts.setdefault(p, wt / 2)
                for p, pw in parts.items():
                    if self.keep_word(p):
                        words[p] = max(words.get(p, 0.0), pw)
            out[theme.id] = words
        return out

    def _seed_rows(self) -> list[tuple[str, np.ndarray]]:
        """One vocabulary row per profile theme with ≥ 2 cue words in the cohort,
        most present first."""
        found = []
        for order, (tid, words) in enumerate(self.theme_words_.items()):
            present = {w: wt for w, wt in words.items() if w in self.index_}
            if len(present) >= 2:
                row = np.zeros(len(self.index_))
                for w, wt in present.items():
                    row[self.index_[w]] = wt
                found.append((tid, row))
        return found

    def _tfidf(self, X):
        from sklearn.feature_extraction.text import TfidfTransformer

        X = X.tocsr(copy=True)
        X.data = np.log1p(X.data)  # sublinear tf that stays ≥ 0 for down-weighted counts < 1
        if not hasattr(self, "tfidf_"):
            self.tfidf_ = TfidfTransformer().fit(X)
        return tfidf_rows(X, self.tfidf_.idf_)  # = self.tfidf_.transform(X), bit for bit

    def _fit_nmf(self, X, seeds):
        from sklearn.decomposition import NMF
        from sklearn.decomposition._nmf import _initialize_nmf

        A = self._tfidf(X)
        k = self.k_
        model = NMF(n_components=k, init="custom" if seeds else "nndsvda",
                    random_state=self.seed, max_iter=self._max_iter, tol=1e-4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            W0, H0 = _initialize_nmf(A, k, init="nndsvda", random_state=self.seed)
            if seeds:
                scale = H0.max() or 1.0
                for r, (_, row) in enumerate(seeds):
                    H0[r] = row / row.max() * scale + 1e-6
                W0 = np.maximum(A @ H0.T, 1e-6)
                W0 = np.asarray(W0) / (np.linalg.norm(H0, axis=1) ** 2 + 1e-9)
        # = model.fit(A, W=W0, H=H0) (unseeded: model.fit(A), which starts from the same
        # NNDSVDa W0, H0), bit for bit, with the sparse products done faster
        _, H, n_iter = nmf_fit(A, W0, H0, model.max_iter, model.tol, self._threads)
        model.components_, model.n_components_, model.n_iter_ = H, k, n_iter
        model.n_features_in_ = A.shape[1]
        self.model_ = model
        self.components_ = model.components_

    def _fit_lda(self, X, seeds):
        from gensim.corpora import Dictionary
        from gensim.models import LdaModel

        logging.getLogger("gensim").setLevel(logging.WARNING)
        k = self.k_
        self.dictionary_ = Dictionary()
        self.dictionary_.token2id = dict(self.index_)
        self.dictionary_.id2token = dict(enumerate(self.vocabulary_))
        corpus = self._bow(X)
        eta = None
        if seeds:
            eta = np.full((k, len(self.index_)), 0.01)
            for r, (_, row) in enumerate(seeds):
                eta[r] += row  # prior mass on the theme's cue words
        self.model_ = LdaModel(corpus, id2word=self.dictionary_, num_topics=k,
                               random_state=self.seed, passes=10, iterations=100,
                               alpha="asymmetric", eta=eta, minimum_probability=0.0,
                               update_every=1, chunksize=max(len(corpus), 1))
        self.components_ = self.model_.get_topics()

    @staticmethod
    def _bow(X):
        X = X.tocsr()
        return [list(zip(X.indices[X.indptr[r]:X.indptr[r + 1]].tolist(),
                         X.data[X.indptr[r]:X.indptr[r + 1]].tolist())) for r in range(X.shape[0])]

    def transform(self, docs: list[list[str]]) -> np.ndarray:
        """Topic mix of each word list (rows sum to 1; all-zero rows stay 0)."""
        return self.transform_counts(self._counts(docs))

    def transform_counts(self, X, A=None) -> np.ndarray:
        """Topic mix of each row of count matrix ``X`` (columns = ``vocabulary_``);
        ``A``: ``X``'s tf-idf rows, if already computed (NMF)."""
        if self.method == "nmf":
            M = nmf_transform(self.model_, self._tfidf(X) if A is None else A)
        else:
            M = np.zeros((X.shape[0], self.k_))
            for r, bow in enumerate(self._bow(X)):
                if bow:
                    for t, p in self.model_.get_document_topics(bow, minimum_probability=0.0):
                        M[r, t] = p
        s = M.sum(axis=1, keepdims=True)
        return np.divide(M, s, out=np.zeros_like(M), where=s > 0)

    def top_words(self, topic: int, n: int | None = None) -> list[str]:
        row = np.asarray(self.components_[topic])
        order = self._word_order(topic)[: n or self.n_top_words]
        return [self.vocabulary_[i] for i in order if row[i] > 0]

    def _word_order(self, topic: int) -> np.ndarray:
        """Word indices of ``topic`` by weight, largest first (computed once per model)."""
        memo = self.__dict__.get("_orders")
        if memo is None or memo[0] is not self.components_:
            memo = self._orders = (self.components_, {})
        order = memo[1].get(topic)
        if order is None:
            # vocabulary_ is sorted, so index order is word order: ties break by word
            order = memo[1][topic] = np.argsort(-np.asarray(self.components_[topic]), kind="stable")
        return order

    def _label(self, topic: int) -> tuple[str, str | None]:
        """Chinese label: the profile theme its top words match (if any) and the top words."""
        words = self.top_words(topic, 3)
        theme_id = self._match_theme(topic) if self.profile is not None else None
        if theme_id is not None:
            return f"≈{self.profile.theme(theme_id).label}：" + "·".join(words), theme_id
        return "·".join(words), None

    def _match_theme(self, topic: int, min_share: float = 0.25) -> str | None:
        """The theme whose cue words carry ≥ ``min_share`` of the topic's top-15 weight."""
        row = self.components_[topic]
        top = self.top_words(topic, 15)
        total = sum(row[self.index_[w]] for w in top) or 1.0
        best, best_share = None, min_share
        for tid, words in self.theme_words_.items():
            share = sum(row[self.index_[w]] * min(1.0, words[w]) for w in top if w in words) / total
            if share > best_share + 1e-12:
                best, best_share = tid, share
        return best

    # -- the stage -------------------------------------------------------------
    def process(self, essays: list[Essay], context: dict) -> None:
        """Fit on the cohort; fill ``essay.topics`` and ``context["topics"]``."""
        if self.profile is not None:
            context.setdefault("profile", self.profile.to_dict())
        out = {"method": self.method, "n_topics": 0, "unit": self.unit, "topics": []}
        context["topics"] = out
        if len(essays) < self.min_essays:
            out["skipped"] = (f"只有 {len(essays)} 篇文章，未做主题发现 (topic discovery needs at "
                              f"least {self.min_essays} essays; skipped)")
            return
        try:
            # a small cohort keeps its word bags from the scan: the fit units are not
            # read a second time (a few MB: ≈ 2 × the cap in units at 8 paragraphs an essay)
            keep_bags = len(essays) <= self.max_fit_units // 4
            where, dfs, bags = self._scan(essays, context, keep_bags)
            n_units = len(where[0])
            if n_units < 10:
                out["skipped"] = (f"文本过少 ({n_units} 个段落/句子)，未做主题发现 (too little "
                                  "text for topic discovery; skipped)")
                return
            factors = self._cohort_factors(dfs, len(essays))
            del dfs
            above = n_units > self.max_fit_units
            pick = self.sample_units(where[0], self.fit_sample) if above else np.arange(n_units)
            self._max_iter = self.fit_max_iter if above else MAX_ITER
            self._threads = fit_threads(context)
            try:
                with _one_blas_thread():
                    X = self._fit_units(essays, where, pick, factors, context, bags)
            finally:
                self._max_iter, self._threads = MAX_ITER, 1
            if above:  # transform every unit, chunk by chunk, on the engine
                size = self.chunk_units
                # at least TASKS tasks (the trailing ones empty): the local engine runs
                # fewer in process, and a pass of a few dozen chunks is worth its pool
                n_tasks = max(-(-n_units // size), TASKS)
                U = np.concatenate(self._map(context, "_transform_task", n_tasks,
                                             essays, where, size))
                out["fit_units"] = int(len(pick))
            else:  # the whole cohort was fitted: its count matrix is the one to transform
                U = self.transform_counts(X)
            del X
            self._fill(essays, where, U, out)
        except Exception as e:  # a cohort model must never lose the run's other results
            log.exception("topic modelling failed")
            out.update(n_topics=0, topics=[],
                       skipped=f"主题发现失败 (topic modelling failed): {type(e).__name__}: {e}")

    def _fit_units(self, essays, where, pick: np.ndarray, factors: dict[str, float],
                   context: dict | None, bags: list[Bags] | None = None):
        """Fit on units ``pick`` of a :meth:`_scan`; returns their count matrix.

        ``bags``: the scan's word bags of all units, if it kept them (else the
        units ``pick`` are read again, on the engine).
        """
        if bags is None:
            size = min(1024, max(1, len(pick) // TASKS))
            parts = self._map(context, "_bags_task", -(-len(pick) // size),
                              essays, where, pick, size)
            used = [b.vocab for b in parts]
        else:  # the picked units of the scan's bags, and the words they use
            chosen = np.zeros(len(where[0]), dtype=bool)
            chosen[pick] = True
            ends = np.cumsum([b.n_units for b in bags])
            parts = [b if len(pick) == len(chosen) else b.select(chosen[e - b.n_units:e])
                     for b, e in zip(bags, ends)]
            used = [b.vocab[np.unique(b.word)] for b in parts]
        self._set_vocabulary(np.unique(np.concatenate(used)).tolist(), factors)
        X = bags_matrix(parts, self.vocab_index_, self.factor_array_)
        del parts
        self._fit_counts(X, len(where[0]))
        return X

    def _fill(self, essays: list[Essay], where, U: np.ndarray, out: dict) -> None:
        k = self.k_
        E, _, _, N = where
        # each essay's mix: unit mixes weighted by unit length (rows added in unit order)
        mix = np.zeros((len(essays), k))
        np.add.at(mix, E, U * N[:, None].astype(np.float64))  # unbuffered: in unit order
        for i, e in enumerate(essays):
            s = mix[i].sum()
            m = (mix[i] / s if s > 0 else mix[i]).tolist()  # Python floats: same values, faster
            e.topics = TopicMix.of([{"topic": t, "weight": round(m[t], 4)}  # kept compact
                                    for t in sorted(range(k), key=lambda t: (-m[t], t))
                                    if m[t] >= 0.02])
        topics = []
        for t in range(k):
            label, theme_id = self._label(t)
            d = {"id": t, "label": label, "top_words": self.top_words(t),
                 "examples": self._examples(essays, where, U, t),
                 "share": round(float(mix[:, t].sum() / max(mix.sum(), 1e-9)), 4)}
            if theme_id:
                d["theme"] = theme_id
            topics.append(d)
        out.update(n_topics=k, topics=topics)
        if self.seeded_:
            out["seeded_from_profile"] = list(self.seeded_)

    def _examples(self, essays, where, U, t: int) -> list[dict]:
        """Most typical sentences of topic ``t``: from its strongest units, ≤1 per essay."""
        from ..segment import split_sentences

        E, S, T, _ = where
        order = np.argsort(-U[:, t], kind="stable")[: 5 * max(self.n_examples, 1)]  # ties: unit order
        cands: list[tuple[int, Span, list[str]]] = []
        for i in order.tolist():
            if U[i, t] <= 0:
                break
            ei, span = int(E[i]), Span(int(S[i]), int(T[i]))
            e = essays[ei]
            if self.unit == "sentence":
                cands.append((ei, span, self._span_words(e, [span])[0]))
                continue
            sents = [Span(span.start + s.start, span.start + s.end)
                     for s in split_sentences(e.text[span.start:span.end])]
            for sp, words in zip(sents, self._span_words(e, sents)):
                if len(words) >= 3:
                    cands.append((ei, sp, words))
        if not cands:
            return []
        C = self._counts([c[2] for c in cands])
        A = self._tfidf(C)
        S = self.transform_counts(C, A)
        # typical = the topic dominates the sentence AND the sentence uses the topic's
        # words (cosine of its tf-idf vector with the topic's word weights)
        h = np.asarray(self.components_[t], dtype=float)
        h = h / (np.linalg.norm(h) or 1.0)
        cos = np.asarray(A @ h).ravel()
        score = [float(S[j, t] * cos[j]) for j in range(len(cands))]
        picked, used = [], set()
        floor = 0.25 * max(score)  # weak matches are not "typical", even if nothing better
        for j in sorted(range(len(cands)), key=lambda j: (-score[j], cands[j][0], cands[j][1].start)):
            ei, sp, _ = cands[j]
            text = essays[ei].text[sp.start:sp.end]
            if ei in used or text in used or score[j] <= 0 or score[j] < floor:
                continue
            used.update((ei, text))
            picked.append({"essay_id": essays[ei].id, "start": sp.start, "end": sp.end})
            if len(picked) >= self.n_examples:
                break
        return picked
