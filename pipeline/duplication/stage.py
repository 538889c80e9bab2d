"""The cohort stage: who copied what from where, quotation-aware.

Order of work (all on normalised text, see :mod:`.normalize`):

1. quotations — alignment with the policy text and lookup of the curated
   quotation list (kind ``quote``; widened to the enclosing “…”);
2. boilerplate — k-grams frequent across the cohort (by document frequency)
   and curated 套话 (kind ``boilerplate``); quotations and boilerplate are
   *masked*: they never seed a copy match;
3. candidates — winnowed fingerprints + inverted index
   (:func:`.fingerprint.candidate_pairs`, never all pairs), over the essays
   and the reference templates;
4. alignment of candidate pairs only (:func:`.align.align`), both directions
   recorded (A shows B as source and B shows A: copy direction cannot be
   told from text);
5. per essay ``copied_ratio`` (submission/template chars, counted once, minus
   quotation/boilerplate chars) and ``extra["largest_source"]``; cohort
   ``clusters``, ``templates``, ``boilerplate`` in ``context``.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import XindeError
from ..essay import Essay, Match
from .align import Passage, SortedHashes, align
from .classify import (KgramSet, PhraseMatcher, df_threshold, doc_boilerplate, frequent_kgrams,
                       pair_kind, policy_titles, read_phrase_list, read_policy, span_mask,
                       widen_to_quotation)
from .clusters import build_clusters, pair_similarity, subtract_spans, union_length
from .fingerprint import candidate_pairs_flat, kgram_hashes, winnow
from .index import RefDoc, ReferenceIndex, TemplateLibrary, read_reference_folder
from .normalize import FILLER_CHARS, NormText, normalize
from .store import DocStore, StoredHashes

log = logging.getLogger(__name__)

_TRAIL = "。！？；…”’）)」』"
_LEAD = "“‘（(「『《"
SOURCE_TEXT_MAX = 300


@dataclass
class _Doc:
    """What the main process keeps of one document; its arrays (normalised text,
    k-gram hashes, mask, fingerprints) are in the stage's :class:`DocStore`."""

    id: str
    title: str
    text: str
    group: int  # 0 essay, 1 template
    quote_spans: list = field(default_factory=list)  # text spans
    bp_spans: list = field(default_factory=list)
    key: bytes | None = None  # :func:`_doc_fingerprint`, when the pair cache needs it


@dataclass
class _Prepared:
    """What the per-document preparation (possibly in a worker) sends back.

    ``norm``/``hashes`` only from a worker that cannot write the store (they
    are ``None`` when the worker wrote them itself).
    """

    n_norm: int
    norm: NormText | None
    hashes: np.ndarray | None
    quotes: list  # quote Matches
    curated: list  # (ns, ne, taohua index)

    def __reduce__(self):  # engine results pickle as plain tuples
        return _Prepared, (self.n_norm, self.norm, self.hashes, self.quotes, self.curated)


class _Quoting:
    """Quotation (curated list + policy alignment) and 套话 lookup for one document.

    Holds only what the lookups need, so it travels cheaply to engine workers.
    """

    def __init__(self, k: int, quote_min_len: int, quotes: list[str], quote_matcher,
                 taohua_matcher, policy, policy_text: str | None, policy_title: str):
        self.k, self.quote_min_len = k, quote_min_len
        self.quotes, self.quote_matcher, self.taohua_matcher = quotes, quote_matcher, taohua_matcher
        self.policy, self.policy_text, self.policy_title = policy, policy_text, policy_title

    def prepare(self, text: str, norm: NormText | None = None) -> _Prepared:
        """Normalise (unless given), hash and look up quotations and 套话 in one text."""
        norm = normalize(text) if norm is None else norm
        hashes = kgram_hashes(norm.text, self.k)
        return _Prepared(len(norm.text), norm, hashes, self.find_quotes(text, norm, hashes),
                         self.taohua_matcher.find(norm))

    def find_quotes(self, text: str, norm: NormText, hashes: np.ndarray) -> list[Match]:
        """Quote matches: curated quotations and policy passages, widened to their “…”.

        The hashes are sorted only for the policy alignment (without ``--policy``
        nothing here needs the sort order: alignment workers sort for themselves).
        """
        spans: list[tuple[int, int, str, int | None, int | None, str]] = []
        for ns, ne, qi in self.quote_matcher.find(norm):
            s, e = norm.span(ns, ne)
            spans.append((s, e, f"Q{qi + 1:03d}", None, None, self.quotes[qi]))
        if self.policy is not None:
            pn, ph = self.policy
            ps = align(SortedHashes(hashes), ph, k=self.k, gap=self.k,
                       merge_gap=self.k, min_len=self.quote_min_len, min_density=0.6)
            for p in ps:
                s, e = norm.span(p.a_start, p.a_end)
                s2, e2 = pn.span(p.b_start, p.b_end)
                spans.append((s, e, "policy", s2, e2, self.policy_text[s2:e2]))
        widened = widen_to_quotation([(s, e) for s, e, *_ in spans], text)
        out: list[Match] = []
        for (s, e), (_, _, sid, s2, e2, src) in zip(widened, spans):
            extra = {"source_text": src[:SOURCE_TEXT_MAX],
                     "source_title": self.policy_title if sid == "policy" else "名言警句"}
            out.append(Match(s, e, "quote", sid, s2, e2, 1.0, extra))
        return out


class _Preparer:
    """Prepares essay ``i`` (a picklable callable for engines) and writes its arrays to
    the store where it can (forked workers, this process); elsewhere sends them back."""

    def __init__(self, quoting: _Quoting, texts: Sequence[str], store: DocStore):
        self.quoting, self.texts, self.store = quoting, texts, store

    def __call__(self, i: int) -> _Prepared:
        p = self.quoting.prepare(self.texts[i])
        if self.store.local:
            self.store.put_norm(i, p.norm, p.hashes)
            p.norm = p.hashes = None
        return p


def _stored(store: DocStore, i: int, p: _Prepared) -> None:
    """Record document ``i``'s preparation in the store (write its arrays if sent back)."""
    if p.norm is not None:
        store.put_norm(i, p.norm, p.hashes)
        p.norm = p.hashes = None
    store.set_norm_len(i, p.n_norm)


def _map(context: dict, fn: Callable, items: Sequence) -> list:
    """``[fn(x) for x in items]`` on the run's engine if there is one, else in process."""
    engine = context.get("engine") if context else None
    return engine.map(fn, items) if engine is not None else [fn(x) for x in items]


def _map_both(context: dict, fn: Callable, items: Sequence,
              side: tuple[Callable, Sequence] | None = None) -> tuple[list, list]:
    """``_map(context, fn, items)`` and, in the same round of engine workers (one pool
    fork fewer), ``_map(context, *side)``; returns both result lists."""
    if side is None:
        return _map(context, fn, items), []
    fn2, items2 = side
    out = _map(context, _Either(fn, fn2), [(0, x) for x in items] + [(1, y) for y in items2])
    return out[:len(items)], out[len(items):]


class _Either:
    """``first(x)`` for items ``(0, x)``, ``second(x)`` for ``(1, x)`` (picklable)."""

    def __init__(self, first: Callable, second: Callable):
        self.first, self.second = first, second

    def __call__(self, item: tuple[int, object]):
        which, x = item
        return self.first(x) if which == 0 else self.second(x)


class DuplicationStage:
    """Cohort stage: submission/template/boilerplate/quote matches.

    Args:
        templates: Reference documents (template essays) to check against.
        policy_text: Text of the studied document (quoting it is not copying).
        policy_title: Name shown as the policy match's source title.
        quotes: Curated quotations (list entries).
        taohua: Curated 套话 entries.
        k: Char k-gram length on normalised text (seeds and fingerprints).
        window: Winnowing window for candidate fingerprints.
        min_shared: Shared fingerprints needed for a candidate pair.
        cand_max_df: Fingerprints in more documents are ignored for candidates.
        min_len: Minimum copied passage, in normalised chars (both sides).
        gap, merge_gap: Seed clustering / passage merging distances.
        min_density: Minimum seed coverage of a passage.
        quote_min_len: Minimum policy passage counted as a quotation.
        min_df, df_ratio, max_df_abs: Boilerplate document-frequency threshold,
            ``max(min_df, ceil(df_ratio·N))`` capped at ``max_df_abs``.
        bp_max_run: Frequent runs longer than this are passages, not phrases.
        bp_min_len: Shortest frequent run reported as a boilerplate match.
        taohua_min_len: Shortest 套话 entry reported as boilerplate.
        cluster_threshold: Pair similarity linking two essays into a cluster.
    """

    name = "duplication"
    scope = "cohort"

    def __init__(self, templates: Sequence[RefDoc] = (), policy_text: str | None = None,
                 policy_title: str = "policy", quotes: Sequence[str] = (),
                 taohua: Sequence[str] = (), *, k: int = 6, window: int = 6,
                 min_shared: int = 3, cand_max_df: int = 64, min_len: int = 25, gap: int = 24,
                 merge_gap: int = 60, min_density: float = 0.5, quote_min_len: int = 12,
                 min_df: int = 3, df_ratio: float = 0.3, max_df_abs: int = 20,
                 bp_max_run: int = 80, bp_min_len: int = 10, taohua_min_len: int = 6,
                 cluster_threshold: float = 0.6):
        for name, v, lo in (("k", k, 3), ("window", window, 1), ("min_shared", min_shared, 1),
                            ("cand_max_df", cand_max_df, 2), ("min_len", min_len, 1),
                            ("gap", gap, 1), ("merge_gap", merge_gap, 0),
                            ("quote_min_len", quote_min_len, 1), ("min_df", min_df, 2),
                            ("max_df_abs", max_df_abs, 2), ("bp_max_run", bp_max_run, 1)):
            if not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} must be an int ≥ {lo}, got {v!r}")
        if not 0 < min_density <= 1:
            raise ValueError(f"min_density must be in (0, 1], got {min_density}")
        if not 0 < df_ratio <= 1:
            raise ValueError(f"df_ratio must be in (0, 1], got {df_ratio}")
        if min_len < k:
            raise ValueError(f"min_len ({min_len}) must be ≥ k ({k})")
        if isinstance(templates, TemplateLibrary):
            self.templates = templates  # ids T0001 … by position, texts decoded on demand
        else:
            self.templates = list(templates)
            ids = [t.id for t in self.templates]
            if len(set(ids)) != len(ids):
                raise ValueError("template ids must be unique")
        self.policy_text = policy_text
        self.policy_title = policy_title
        self.k, self.window, self.min_shared, self.cand_max_df = k, window, min_shared, cand_max_df
        self.min_len, self.gap, self.merge_gap, self.min_density = min_len, gap, merge_gap, min_density
        self.quote_min_len = quote_min_len
        self.min_df, self.df_ratio, self.max_df_abs = min_df, df_ratio, max_df_abs
        self.bp_max_run, self.bp_min_len = bp_max_run, bp_min_len
        self.cluster_threshold = cluster_threshold
        self.quotes = list(quotes)
        self.taohua = list(taohua)
        self._taohua_matcher = PhraseMatcher(self.taohua, min_len=taohua_min_len)
        policy = None
        if policy_text:
            pn = normalize(policy_text, t2s=True)
            policy = (pn, SortedHashes(kgram_hashes(pn.text, k)))
        self._quoting = _Quoting(k, quote_min_len, self.quotes,
                                 PhraseMatcher(self.quotes, min_len=4), self._taohua_matcher,
                                 policy, policy_text, policy_title)

    @classmethod
    def from_settings(cls, settings, **kw) -> "DuplicationStage":
        """Build from run :class:`~pipeline.config.Settings` (templates, index, policy, models)."""
        from ..config import model_path

        index = ReferenceIndex(settings.index) if settings.index is not None else None
        extra = (read_reference_folder(settings.templates, settings)
                 if settings.templates is not None else [])
        refs = TemplateLibrary(index, extra)
        policy = policy_title = None
        if settings.policy is not None:
            policy = read_policy(settings.policy)
            titles = [t for t in policy_titles(settings.policy) if t not in policy]
            if titles:  # the notice's own name, from the comment line, is quoted text too
                policy += "\n" + "\n".join(f"《{t}》" for t in titles)
            policy_title = Path(settings.policy).name
        qp, tp = model_path(settings, "quotes.txt"), model_path(settings, "taohua.txt")
        quotes = read_phrase_list(qp) if qp.exists() else []
        taohua = read_phrase_list(tp) if tp.exists() else []
        return cls(refs, policy, policy_title or "policy", quotes, taohua, **kw)

    # -- steps --------------------------------------------------------------
    def process(self, essays: list[Essay], context: dict) -> None:
        """Annotate ``essays`` in place and fill ``context`` (clusters, templates, boilerplate).

        Per-document preparation, the alignment of candidate pairs and the
        boilerplate document frequencies run on ``context["engine"]`` when there
        is one (results in input order: the output does not depend on it).
        """
        try:
            store = DocStore([len(e.text) for e in essays], self.k)
            try:
                self._process(essays, context, store)
            finally:
                store.close()
        except OSError as e:  # the scratch file (full or unwritable $TMPDIR): say where, and why
            raise XindeError("X133", path=tempfile.gettempdir(), detail=e) from e
        _return_freed_memory()

    def _process(self, essays: list[Essay], context: dict, store: DocStore) -> None:
        docs, prepared, lib_cands = self._prepare_docs(essays, context, store)
        n_essays = len(essays)
        by_essay: dict[str, list[Match]] = {e.id: [] for e in essays}
        for d, prep in zip(docs, prepared):  # 1. quotations
            d.quote_spans = [(m.start, m.end) for m in prep.quotes]
            if d.group == 0:
                by_essay[d.id].extend(prep.quotes)
        curated = [p.curated for p in prepared]
        del prepared
        bp_entries = self._boilerplate(docs, store, curated, n_essays, by_essay,
                                       context)  # 2. boilerplate
        del curated
        cands = self._candidates(docs, store, lib_cands)  # 3. candidates
        # the boilerplate document frequencies are counted by the alignment's workers
        keys = list(bp_entries)
        df_job = (_KeyFinder(keys, store), range(n_essays)) if keys else None
        pair_sims, found_keys = self._align_pairs(docs, store, cands, by_essay, context,
                                                  df_job)  # 4. alignment
        del docs, cands, df_job
        counts = [0] * len(keys)
        for found in found_keys:
            for n in found:
                counts[n] += 1
        for key, c in zip(keys, counts):
            bp_entries[key]["df"] = c
        self._name_boilerplate(bp_entries, by_essay, context)
        for e in essays:  # 5. per-essay summaries
            _summarise(e, by_essay.pop(e.id))
        context["clusters"] = build_clusters(pair_sims, self.cluster_threshold)
        if isinstance(self.templates, TemplateLibrary):
            # with a saved index: only the reference documents the cohort shares text with
            context["templates"] = self.templates.contexts(
                lib_cands.positions if lib_cands is not None else None)
            if self.templates.index is not None:
                context["templates_in_index"] = len(self.templates.index)
        else:
            context["templates"] = [t.to_context() for t in self.templates]

    def _prepare_docs(self, essays: list[Essay], context: dict, store: DocStore,
                      ) -> tuple[list[_Doc], list[_Prepared], object]:
        """Essays (on the engine) then the reference documents they may share text with.

        Every document's arrays go to ``store`` (written by the workers where they can).

        Returns:
            The documents, their :class:`_Prepared` (same order; arrays dropped) and
            the template library's candidates (``None`` without a library).
        """
        texts = [e.text for e in essays]
        prepared = _map(context, _Preparer(self._quoting, texts, store), range(len(texts)))
        for i, p in enumerate(prepared):
            _stored(store, i, p)
        docs = [_Doc(e.id, e.title, e.text, 0) for e in essays]
        lib_cands = None
        if isinstance(self.templates, TemplateLibrary):
            # only library documents sharing fingerprints with the essays are decoded; one
            # fewer than min_shared is asked for: stored fingerprints are winnowed unmasked
            lib_cands = self.templates.candidates(
                StoredHashes(store, range(len(essays))), self.k, self.cand_max_df,
                max(1, self.min_shared - 1))
            positions = lib_cands.positions
            refs = [self.templates[i] for i in positions]
            norms = [self.templates.normalize(i) for i in positions]
        else:
            refs = self.templates
            norms = [normalize(t.text, t2s=True) for t in refs]
        store.extend([len(t.text) for t in refs])
        for t, n in zip(refs, norms):
            p = self._quoting.prepare(t.text, n)
            _stored(store, len(docs), p)
            prepared.append(p)
            docs.append(_Doc(t.id, t.title, t.text, 1))
        return docs, prepared, lib_cands

    def _boilerplate(self, docs: list[_Doc], store: DocStore, curated_hits: list[list],
                     n_essays: int, by_essay: dict[str, list[Match]], context: dict,
                     ) -> dict[str, dict]:
        """Boilerplate matches and the seed masks (df over essays only; masks for every doc).

        The frequent k-grams are found here (one pass over all hashes); each
        document's mask, boilerplate spans, winnowed fingerprints and pair-cache
        key are worked out on the engine (:class:`_Masker`). The matches get
        their ids in :meth:`_name_boilerplate`, once the document frequencies
        are known.

        Args:
            curated_hits: Per document, its 套话 list hits ``(ns, ne, entry index)``.

        Returns:
            The boilerplate entries by normalised key (``text``, ``curated``); each
            document's mask and winnowed (masked) fingerprints are in ``store``.
        """
        thr = df_threshold(n_essays, self.min_df, self.df_ratio, self.max_df_abs)
        stored = StoredHashes(store, range(n_essays))  # read in chunks, never all at once
        common = KgramSet(frequent_kgrams(stored, thr, lens=stored.lengths()))
        with_key = bool(context) and context.get("cache") is not None
        masker = _Masker(docs, store, curated_hits, common, k=self.k, window=self.window,
                         max_run=self.bp_max_run, min_len=self.bp_min_len, with_key=with_key)
        bp_entries: dict[str, dict] = {}
        for i, (d, m) in enumerate(zip(docs, _map(context, masker, range(len(docs))))):
            if m.mask is not None:  # from a worker that could not write the store
                store.put_mask(i, m.mask)
                store.put_fps(i, m.fingerprints)
            store.set_fps_len(i, m.n_fps)
            d.key = m.key
            d.bp_spans = [(s, e) for s, e, _, _ in m.found]
            if d.group == 0:
                for s, e, key, curated_hit in m.found:
                    ent = bp_entries.setdefault(key, {"text": d.text[s:e], "curated": curated_hit})
                    ent["curated"] = ent["curated"] or curated_hit
                    by_essay[d.id].append(Match(s, e, "boilerplate", key, None, None, 1.0, {}))
        store.has_mask[:] = True
        del masker
        return bp_entries

    @staticmethod
    def _name_boilerplate(bp_entries: dict[str, dict], by_essay: dict[str, list[Match]],
                          context: dict) -> None:
        """Boilerplate ids (by df, then text), the matches' source fields, ``context["boilerplate"]``."""
        bp_list = sorted(bp_entries.items(), key=lambda kv: (-kv[1]["df"], kv[1]["text"]))
        bp_ids = {key: f"B{i:03d}" for i, (key, _) in enumerate(bp_list, 1)}
        for ms in by_essay.values():
            for m in ms:
                if m.kind == "boilerplate":
                    ent = bp_entries[m.source_id]
                    m.extra = {"source_text": ent["text"][:SOURCE_TEXT_MAX],
                               "source_title": "套话" if ent["curated"] else "常见套语"}
                    m.source_id = bp_ids[m.source_id]
        context["boilerplate"] = [{"id": bp_ids[key], "text": ent["text"],
                                   "df": ent["df"]} for key, ent in bp_list]

    def _candidates(self, docs: list[_Doc], store: DocStore,
                    lib_cands) -> list[tuple[int, int, int]]:
        """Candidate pairs from winnowed, masked fingerprints (never all pairs).

        The fingerprints are read from ``store`` into one array (no per-document
        arrays in this process).
        """
        lens = store.n_fps[:len(docs)].copy()
        fps = np.empty(int(lens.sum()), dtype=np.uint64)
        store.fps_into(fps, range(len(docs)))
        if lib_cands is not None:  # library documents not decoded count for cand_max_df too
            fps, lens = lib_cands.drop_frequent_flat(fps, lens, self.cand_max_df)
        return candidate_pairs_flat(fps, lens, min_shared=self.min_shared,
                                    max_df=self.cand_max_df, groups=[d.group for d in docs])

    def _align_pairs(self, docs: list[_Doc], store: DocStore,
                     cands: list[tuple[int, int, int]],
                     by_essay: dict[str, list[Match]], context: dict,
                     side: tuple[Callable, Sequence] | None = None,
                     ) -> tuple[list[tuple[str, str, float]], list]:
        """Align candidate pairs (on the engine), add both sides' matches in pair order.

        Args:
            side: Another job ``(fn, items)`` for the same round of engine workers.

        Returns:
            ``(id_a, id_b, similarity)`` of the submission pairs, for clustering,
            and the side job's results.
        """
        pairs = []
        for i, j, _ in cands:
            kind = pair_kind(docs[i].group, docs[j].group)
            if kind is None:
                continue
            pairs.append((j, i, kind) if docs[i].group == 1 else (i, j, kind))  # essay first
        aligner = _PairAligner(docs, store, k=self.k, gap=self.gap, merge_gap=self.merge_gap,
                               min_len=self.min_len, min_density=self.min_density)
        pair_sims: list[tuple[str, str, float]] = []
        aligned, side_out = self._aligned(docs, store, pairs, aligner, context, side)
        for (i, j, kind), found in zip(pairs, aligned):
            if found is None:
                continue
            a, b = docs[i], docs[j]
            spans_a, spans_b = [], []
            for sa, ea, sb, eb, sim in found:
                extra_a = {"source_text": b.text[sb:eb][:SOURCE_TEXT_MAX], "source_title": b.title}
                if b.group == 0:
                    # input order only — a hint for the reader, never evidence of who copied
                    extra_a["source_order_hint"] = "earlier_in_input" if j < i else "later_in_input"
                    by_essay[b.id].append(Match(sb, eb, kind, a.id, sa, ea, sim, {
                        "source_text": a.text[sa:ea][:SOURCE_TEXT_MAX], "source_title": a.title,
                        "source_order_hint": "earlier_in_input" if i < j else "later_in_input"}))
                by_essay[a.id].append(Match(sa, ea, kind, b.id, sb, eb, sim, extra_a))
                spans_a.append((sa, ea))
                spans_b.append((sb, eb))
            if kind == "submission":
                pair_sims.append((a.id, b.id, pair_similarity(
                    union_length(spans_a), len(a.text), union_length(spans_b), len(b.text))))
        return pair_sims, side_out


    def _aligned(self, docs: list[_Doc], store: DocStore, pairs: list[tuple[int, int, str]],
                 aligner: "_PairAligner", context: dict,
                 side: tuple[Callable, Sequence] | None = None) -> tuple[list, list]:
        """``aligner(pair)`` for every pair, in order — reusing earlier runs' results —
        and the ``side`` job's results (:func:`_map_both`).

        With a run cache (``context["cache"]``), each pair's result is memoised
        under a key made of both documents' text, masks, quotation and
        boilerplate spans, the alignment parameters and the source of the
        duplication modules: exactly what the result depends on. A re-run
        therefore aligns only the pairs that new or changed essays (or changed
        masks) touch. ``self.pairs_aligned_``/``self.pairs_reused_`` count them.
        """
        cache = context.get("cache") if context else None
        if cache is None:
            self.pairs_reused_, self.pairs_aligned_ = 0, len(pairs)
            return _map_both(context, aligner, pairs, side)
        prefix = self._pair_prefix()
        fps: dict[int, bytes] = {}

        def fp(i: int) -> bytes:
            if i not in fps:
                fps[i] = docs[i].key or _doc_fingerprint(docs[i], store.mask(i),
                                                          docs[i].bp_spans)
            return fps[i]

        keys = []
        for i, j, kind in pairs:
            h = hashlib.sha256(prefix)
            h.update(fp(i))
            h.update(fp(j))
            h.update(kind.encode())
            keys.append("dup:" + h.hexdigest())
        try:
            known = cache.memo_get(keys)
        except Exception as e:  # the cache only saves time
            log.warning("duplication pair cache unreadable: %s", e)
            known = {}
        todo = [n for n, key in enumerate(keys) if key not in known]
        fresh, side_out = _map_both(context, aligner, [pairs[n] for n in todo], side)
        try:
            cache.memo_put({keys[n]: found for n, found in zip(todo, fresh)})
        except Exception as e:
            log.warning("duplication pair cache not written: %s", e)
        out = [known.get(key) for key in keys]
        for n, found in zip(todo, fresh):
            out[n] = found
        self.pairs_reused_, self.pairs_aligned_ = len(pairs) - len(todo), len(todo)
        log.info("duplication: %d candidate pairs aligned, %d reused from the run cache",
                 len(todo), len(pairs) - len(todo))
        return out, side_out

    def _pair_prefix(self) -> bytes:
        """What every memoised pair result depends on besides the two documents."""
        h = hashlib.sha256(b"xinde.dup.pair/1\0")
        h.update(repr((self.k, self.gap, self.merge_gap, self.min_len, self.min_density,
                       SOURCE_TEXT_MAX)).encode())
        here = Path(__file__).resolve().parent
        for name in ("align.py", "normalize.py", "stage.py", "clusters.py"):
            f = here / name
            if f.is_file():
                h.update(f.read_bytes())
        return h.digest()


@dataclass
class _Masked:
    """What :class:`_Masker` sends back for one document (``mask``/``fingerprints``
    only from a worker that cannot write the store, else ``None``)."""

    mask: np.ndarray | None  # True at k-gram positions that never seed a match
    fingerprints: np.ndarray | None  # winnowed, masked
    n_fps: int
    found: list  # (s, e, normalised key, curated?) boilerplate text spans, in order
    key: bytes | None  # :func:`_doc_fingerprint` (None: no pair cache)

    def __reduce__(self):
        return _Masked, (self.mask, self.fingerprints, self.n_fps, self.found, self.key)


class _Masker:
    """Masks, boilerplate spans and fingerprints of one prepared document (a picklable
    callable for engines: forked workers inherit the documents, only an index goes out;
    they write the mask and fingerprints to the store).

    Args:
        docs: The documents (``quote_spans`` set).
        store: Their arrays.
        curated_hits: Per document, its 套话 list hits ``(ns, ne, entry index)``.
        common: The cohort's frequent k-grams.
        k, window: k-gram length and winnowing window.
        max_run, min_len: Longest frequent run that is a phrase; shortest one reported.
        with_key: Also compute the document's pair-cache key.
    """

    def __init__(self, docs: list[_Doc], store: DocStore, curated_hits: list[list],
                 common: KgramSet, *, k: int, window: int, max_run: int, min_len: int,
                 with_key: bool):
        self.docs, self.store, self.curated_hits, self.common = docs, store, curated_hits, common
        self.k, self.window, self.max_run, self.min_len = k, window, max_run, min_len
        self.with_key = with_key

    def __call__(self, i: int) -> _Masked:
        d, curated, k = self.docs[i], self.curated_hits[i], self.k
        norm, hashes = self.store.norm(i, len(d.text)), self.store.hashes(i)
        bp_mask, runs = doc_boilerplate(hashes, self.common, k, self.max_run)
        found = [(ns, ne, False) for ns, ne in runs if ne - ns >= self.min_len]
        found += [(ns, ne, True) for ns, ne, _ in curated]
        masked = [(ns, ne) for ns, ne in ((norm.norm_pos(s), norm.norm_pos(e))
                                          for s, e in d.quote_spans) if ne > ns]
        masked += [(ns, ne) for ns, ne, _ in curated]
        mask = span_mask(len(hashes), masked, k)
        mask |= bp_mask
        spans = []
        for ns, ne, curated_hit in found:
            s, e = norm.span(ns, ne)
            if any(qs <= s and e <= qe for qs, qe in d.quote_spans):
                continue
            spans.append((s, e, norm.text[ns:ne], curated_hit))
        key = None
        if self.with_key:
            key = _doc_fingerprint(d, mask, [(s, e) for s, e, _, _ in spans])
        fps = winnow(hashes, self.window, mask)
        if self.store.local:
            self.store.put_mask(i, mask)
            self.store.put_fps(i, fps)
            return _Masked(None, None, len(fps), spans, key)
        return _Masked(mask, fps, len(fps), spans, key)


def _doc_fingerprint(d: _Doc, mask: np.ndarray | None, bp_spans: list) -> bytes:
    """Hash of one prepared document as far as pair alignment sees it (with its mask
    and boilerplate spans)."""
    h = hashlib.sha256(d.text.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(d.title.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    mask = mask if mask is not None else np.zeros(0, dtype=bool)
    h.update(np.packbits(np.asarray(mask, dtype=bool)).tobytes())
    h.update(repr((d.group, d.quote_spans, bp_spans)).encode())
    return h.digest()


class _PairAligner:
    """Aligns one candidate pair of prepared documents (a picklable callable for engines).

    A document's normalised text and sorted hashes are read from the store and
    kept for the most recently used documents: pairs come sorted by their first
    document, so it is reused pair after pair.
    """

    def __init__(self, docs: list[_Doc], store: DocStore, *, k: int, gap: int,
                 merge_gap: int, min_len: int, min_density: float, cache_size: int = 2048):
        self.docs, self.store = docs, store
        self.k, self.gap, self.merge_gap = k, gap, merge_gap
        self.min_len, self.min_density = min_len, min_density
        self.cache_size = cache_size
        self._cache: OrderedDict[int, tuple[SortedHashes, NormText]] = OrderedDict()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        return state

    def _prepared(self, i: int) -> tuple[SortedHashes, NormText]:
        got = self._cache.get(i)
        if got is None:
            st = self.store
            got = self._cache[i] = (SortedHashes(st.hashes(i), st.mask(i)),
                                    st.norm(i, len(self.docs[i].text)))
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(i)
        return got

    def __call__(self, pair: tuple[int, int, str],
                 ) -> list[tuple[int, int, int, int, float]] | None:
        """``(sa, ea, sb, eb, similarity)`` text spans of the pair's copied passages, or
        ``None`` when alignment found no passage at all (an empty list: passages that
        shrank below ``min_len`` once extended and trimmed)."""
        i, j, _ = pair
        (sh_a, norm_a), (sh_b, norm_b) = self._prepared(i), self._prepared(j)
        ps = align(sh_a, sh_b, k=self.k, gap=self.gap,
                   merge_gap=self.merge_gap, min_len=self.min_len, min_density=self.min_density)
        if not ps:
            return None
        a, b = self.docs[i], self.docs[j]
        out = []
        for p in ps:
            sa, ea = _extend(a.text, *norm_a.span(p.a_start, p.a_end))
            sb, eb = _extend(b.text, *norm_b.span(p.b_start, p.b_end))
            sa, ea = _trim(sa, ea, a.quote_spans + a.bp_spans)
            sb, eb = _trim(sb, eb, b.quote_spans + b.bp_spans)
            if ea - sa < self.min_len or eb - sb < self.min_len:
                continue
            sim = _similarity(norm_a.text[p.a_start:p.a_end], norm_b.text[p.b_start:p.b_end])
            out.append((sa, ea, sb, eb, sim))
        return out


def _return_freed_memory() -> None:
    """Hand the heap pages freed by the stage back to the OS (glibc ``malloc_trim``).

    The stage's many small per-document arrays are freed at its end, but glibc
    keeps the pages, so the main process would carry the stage's transient
    size (≈ 60 MB at 2,000 essays) through the later stages. Elsewhere a no-op.
    """
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


def _summarise(e: Essay, ms: list[Match]) -> None:
    """Add ``ms`` to the essay; set ``copied_ratio`` and ``extra["largest_source"]``."""
    e.matches.extend(ms)
    copied = [(m.start, m.end) for m in ms if m.kind in ("submission", "template")]
    excluded = [(m.start, m.end) for m in ms if m.kind == "quote"]
    n = len(e.text)
    e.copied_ratio = union_length(subtract_spans(copied, excluded)) / n if n else 0.0
    per_src: dict[tuple[str, str], list] = {}
    for m in ms:
        if m.kind in ("submission", "template"):
            per_src.setdefault((m.source_id, m.kind), []).append((m.start, m.end))
    if per_src:
        chars, sid, kind = min((-union_length(sp), sid, kind)
                               for (sid, kind), sp in per_src.items())
        chars = -chars
        e.extra["largest_source"] = {"id": sid, "kind": kind, "chars": chars,
                                     "ratio": round(chars / n, 4) if n else 0.0}
    else:
        e.extra["largest_source"] = None


def _extend(text: str, s: int, e: int) -> tuple[int, int]:
    """Take in an opening bracket/quote before and filler + closing punctuation after."""
    while s > 0 and text[s - 1] in _LEAD:
        s -= 1
    f = e
    while f < len(text) and text[f] in FILLER_CHARS and f - e < 2:
        f += 1
    if f < len(text) and text[f] in _TRAIL:
        e = f
    while e < len(text) and text[e] in _TRAIL:
        e += 1
    return s, e


class _KeyFinder:
    """Which boilerplate keys one document's normalised text contains (a picklable
    callable for engines)."""

    def __init__(self, keys: list[str], store: DocStore):
        import ahocorasick

        self.store = store
        self.auto = ahocorasick.Automaton()
        for n, key in enumerate(keys):
            self.auto.add_word(key, n)
        self.auto.make_automaton()

    def __call__(self, i: int) -> list[int]:
        return sorted({n for _, n in self.auto.iter(self.store.norm_text(i))})


def _trim(s: int, e: int, holes: list[tuple[int, int]]) -> tuple[int, int]:
    """Move a copy match's ends out of quotation/boilerplate spans it only partly covers."""
    changed = True
    while changed and s < e:
        changed = False
        for hs, he in holes:
            if hs <= s < he < e:
                s, changed = he, True
            elif s < hs < e <= he:
                e, changed = hs, True
    return s, e


def _similarity(a: str, b: str) -> float:
    from rapidfuzz.fuzz import ratio

    if not a or not b:
        return 0.0
    return round(ratio(a, b) / 100.0, 4)
