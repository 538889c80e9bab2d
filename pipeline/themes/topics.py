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

Both are deterministic for a given ``seed``. The outputs follow the results
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..essay import Essay, Span
from .profile import Profile

log = logging.getLogger(__name__)

METHODS = ("nmf", "lda")
UNITS = ("paragraph", "sentence")
INITS = ("profile", "nndsvda")
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
    """

    name = "topics"
    scope = "cohort"

    def __init__(self, method: str = "nmf", n_topics: int = 0, unit: str = "paragraph",
                 seed: int = 42, stopwords: Path | None = None, taohua: Path | None = None,
                 profile: Profile | None = None, init: str = "profile",
                 boilerplate_df: float = 0.5, min_factor: float = 0.15, min_essays: int = 2,
                 n_top_words: int = 10, n_examples: int = 5, segmenter=None):
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
        if profile is not None and not isinstance(profile, Profile):
            raise TypeError(f"profile must be a Profile, got {type(profile).__name__}")
        self.method, self.n_topics, self.unit, self.seed = method, n_topics, unit, seed
        self.stopwords = read_wordlist(stopwords)
        self.taohua = read_wordlist(taohua)
        self.profile, self.init = profile, init
        self.boilerplate_df, self.min_factor, self.min_essays = boilerplate_df, min_factor, min_essays
        self.n_top_words, self.n_examples = n_top_words, n_examples
        self.segmenter = segmenter

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
        return len(w) >= 2 and bool(_WORD.match(w)) and w not in self.stopwords

    def _words(self, essay: Essay, span: Span, tok_iter) -> list[str]:
        if essay.tokens:
            return [t.text for t in tok_iter(span) if self.keep_word(t.text)]
        if self.segmenter is None:
            from ..segment import Segmenter
            self.segmenter = Segmenter()
        return [w for w in self.segmenter.cut(essay.text[span.start:span.end]) if self.keep_word(w)]

    def units(self, essays: list[Essay]) -> list[Unit]:
        """Paragraph/sentence units with their kept words (empty ones dropped)."""
        out: list[Unit] = []
        for i, e in enumerate(essays):
            toks = e.tokens
            j = 0

            def tok_iter(span, _t=toks):
                nonlocal j
                while j < len(_t) and _t[j].end <= span.start:
                    j += 1
                k = j
                while k < len(_t) and _t[k].start < span.end:
                    yield _t[k]
                    k += 1

            for sp in self._unit_spans(e):
                words = self._words(e, sp, tok_iter)
                if len(words) >= 2:
                    out.append(Unit(i, sp, words))
        return out

    # -- weighting -----------------------------------------------------------
    def word_factors(self, units: list[Unit], n_essays: int) -> dict[str, float]:
        """Down-weighting factor (< 1) of cohort-frequent and 套话 words."""
        df: dict[str, set[int]] = {}
        for u in units:
            for w in u.words:
                df.setdefault(w, set()).add(u.essay)
        out: dict[str, float] = {}
        for w in sorted(df):
            f = 1.0
            if n_essays >= 5:
                r = len(df[w]) / n_essays
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
    def fit(self, units: list[Unit], n_essays: int) -> "TopicModeler":
        """Fit the model on ``units``; sets ``vocabulary_``, ``components_``, ``seeded_``."""
        self.factors_ = self.word_factors(units, n_essays)
        vocab = sorted({w for u in units for w in u.words})
        self.vocabulary_ = vocab
        self.index_ = {w: i for i, w in enumerate(vocab)}
        self.k_ = self.choose_k(len(units))
        X = self._counts([u.words for u in units])
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

        rows, cols, vals = [], [], []
        for r, words in enumerate(docs):
            c: dict[int, float] = {}
            for w in words:
                i = self.index_.get(w)
                if i is not None:
                    c[i] = c.get(i, 0.0) + self.factors_.get(w, 1.0)
            for i in sorted(c):
                rows.append(r)
                cols.append(i)
                vals.append(c[i])
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

        X = X.copy()
        X.data = np.log1p(X.data)  # sublinear tf that stays ≥ 0 for down-weighted counts < 1
        if not hasattr(self, "tfidf_"):
            self.tfidf_ = TfidfTransformer().fit(X)
        return self.tfidf_.transform(X)

    def _fit_nmf(self, X, seeds):
        from sklearn.decomposition import NMF
        from sklearn.decomposition._nmf import _initialize_nmf

        A = self._tfidf(X)
        k = self.k_
        model = NMF(n_components=k, init="custom" if seeds else "nndsvda",
                    random_state=self.seed, max_iter=500, tol=1e-4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if seeds:
                W0, H0 = _initialize_nmf(A, k, init="nndsvda", random_state=self.seed)
                scale = H0.max() or 1.0
                for r, (_, row) in enumerate(seeds):
                    H0[r] = row / row.max() * scale + 1e-6
                W0 = np.maximum(A @ H0.T, 1e-6)
                W0 = np.asarray(W0) / (np.linalg.norm(H0, axis=1) ** 2 + 1e-9)
                self.model_ = model
                model.fit(A, W=W0, H=H0)
            else:
                self.model_ = model.fit(A)
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
        X = self._counts(docs)
        if self.method == "nmf":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                M = self.model_.transform(self._tfidf(X))
        else:
            M = np.zeros((X.shape[0], self.k_))
            for r, bow in enumerate(self._bow(X)):
                if bow:
                    for t, p in self.model_.get_document_topics(bow, minimum_probability=0.0):
                        M[r, t] = p
        s = M.sum(axis=1, keepdims=True)
        return np.divide(M, s, out=np.zeros_like(M), where=s > 0)

    def top_words(self, topic: int, n: int | None = None) -> list[str]:
        row = self.components_[topic]
        order = sorted(range(len(row)), key=lambda i: (-row[i], self.vocabulary_[i]))
        return [self.vocabulary_[i] for i in order[: n or self.n_top_words] if row[i] > 0]

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
            units = self.units(essays)
            if len(units) < 10:
                out["skipped"] = (f"文本过少 ({len(units)} 个段落/句子)，未做主题发现 (too little "
                                  "text for topic discovery; skipped)")
                return
            self.fit(units, len(essays))
            self._fill(essays, units, out)
        except Exception as e:  # a cohort model must never lose the run's other results
            log.exception("topic modelling failed")
            out.update(n_topics=0, topics=[],
                       skipped=f"主题发现失败 (topic modelling failed): {type(e).__name__}: {e}")

    def _fill(self, essays: list[Essay], units: list[Unit], out: dict) -> None:
        k = self.k_
        U = self.transform([u.words for u in units])
        # each essay's mix: unit mixes weighted by unit length
        mix = np.zeros((len(essays), k))
        for u, row in zip(units, U):
            mix[u.essay] += row * len(u.words)
        for i, e in enumerate(essays):
            s = mix[i].sum()
            m = mix[i] / s if s > 0 else mix[i]
            e.topics = [{"topic": int(t), "weight": round(float(m[t]), 4)}
                        for t in sorted(range(k), key=lambda t: (-m[t], t)) if m[t] >= 0.02]
        topics = []
        for t in range(k):
            label, theme_id = self._label(t)
            d = {"id": t, "label": label, "top_words": self.top_words(t),
                 "examples": self._examples(essays, units, U, t),
                 "share": round(float(mix[:, t].sum() / max(mix.sum(), 1e-9)), 4)}
            if theme_id:
                d["theme"] = theme_id
            topics.append(d)
        out.update(n_topics=k, topics=topics)
        if self.seeded_:
            out["seeded_from_profile"] = list(self.seeded_)

    def _examples(self, essays, units, U, t: int) -> list[dict]:
        """Most typical sentences of topic ``t``: from its strongest units, ≤1 per essay."""
        from ..segment import split_sentences

        order = sorted(range(len(units)), key=lambda i: (-U[i, t], i))[: 5 * max(self.n_examples, 1)]
        cands: list[tuple[int, Span, list[str]]] = []
        for i in order:
            if U[i, t] <= 0:
                break
            u = units[i]
            e = essays[u.essay]
            if self.unit == "sentence":
                cands.append((u.essay, u.span, u.words))
                continue
            for s in split_sentences(e.text[u.span.start:u.span.end]):
                sp = Span(u.span.start + s.start, u.span.start + s.end)
                words = [w for w in (self.segmenter.cut(e.text[sp.start:sp.end])
                                     if self.segmenter is not None and not e.tokens
                                     else [tk.text for tk in e.tokens_in(sp)]) if self.keep_word(w)]
                if len(words) >= 3:
                    cands.append((u.essay, sp, words))
        if not cands:
            return []
        docs = [c[2] for c in cands]
        S = self.transform(docs)
        # typical = the topic dominates the sentence AND the sentence uses the topic's
        # words (cosine of its tf-idf vector with the topic's word weights)
        h = np.asarray(self.components_[t], dtype=float)
        h = h / (np.linalg.norm(h) or 1.0)
        A = self._tfidf(self._counts(docs))
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
