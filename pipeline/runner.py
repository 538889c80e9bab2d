"""Compose the stages over a cohort of essays.

A *stage* is an object with a ``name`` and either

* ``scope = "essay"`` (the default): ``stage(essay) -> essay``, run on each
  essay independently (these may run in worker processes, see ``jobs``), or
* ``scope = "cohort"``: ``stage.process(essays, context)``, run once over all
  essays (duplication candidates, boilerplate statistics, topics).

Data flows one way: files → ingest → split → clean → segment → themes →
duplication → topics → engagement → report. The runner never lets one essay
stop the run: a stage raising :class:`~pipeline.errors.SkipFile` (or failing
unexpectedly) moves that essay to ``skipped`` with the reason.
"""
from __future__ import annotations

import gc
import logging
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import Settings, model_path
from .errors import SkipFile, XindeError
from .essay import Essay, Skipped, nonspace_len
from .ingest import discover
from .ingest.documents import RawDocument
from .split import Splitter

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """Everything a run produced; :mod:`pipeline.report` writes it out."""

    essays: list[Essay]
    skipped: list[Skipped]
    settings: Settings
    input_root: str = ""
    n_files: int = 0
    cohort: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def by_id(self) -> dict[str, Essay]:
        return {e.id: e for e in self.essays}


class MinLength:
    """Stage: skip essays too short to assess after cleaning (X012)."""

    name = "min_length"

    def __init__(self, min_chars: int):
        self.min_chars = min_chars

    def __call__(self, essay: Essay) -> Essay:
        n = nonspace_len(essay.text)
        if n < self.min_chars:
            raise SkipFile("X012", path=essay.source, n=n, min_chars=self.min_chars)
        return essay


class MaxLength:
    """Stage: skip essays too long to be one submission (X017), before any costly work."""

    name = "max_length"

    def __init__(self, max_chars: int):
        self.max_chars = max_chars

    def __call__(self, essay: Essay) -> Essay:
        if len(essay.raw) > self.max_chars:
            n = nonspace_len(essay.raw)
            if n > self.max_chars:
                raise SkipFile("X017", path=essay.source, n=n, max_chars=self.max_chars)
        return essay


def default_stages(settings: Settings) -> list:
    """The standard pipeline for ``settings``, in order."""
    from .clean import Cleaner
    from .segment import Segmenter

    stages: list = [
        MaxLength(settings.max_chars),
        Cleaner(),
        MinLength(settings.min_chars),
        Segmenter(model_path(settings, "jieba_userdict.txt"), hmm=settings.hmm,
                  backend=settings.tokenizer, compact=settings.compact_tokens),
    ]
    # Analysis stages register here, in data-flow order.
    from .themes.detect import ThemeDetector
    from .themes.topics import TopicModeler

    themes = ThemeDetector(settings.profile, settings.models_dir)  # X102/X103 on a bad profile
    stages.append(themes)
    from .engagement.features import EngagementFeatures

    # per essay, so in the parallel, cached first block; the engagement stage reads it
    stages.append(EngagementFeatures.from_settings(settings))
    from .duplication import DuplicationStage

    stages.append(DuplicationStage.from_settings(settings))  # X105/X130/X131 on bad inputs
    segmenter = next((s for s in stages if getattr(s, "name", "") == "segment"), None)
    stages.append(TopicModeler(
        method=getattr(settings, "topic_method", "nmf"), n_topics=settings.n_topics,
        seed=settings.seed, stopwords=model_path(settings, "stopwords.txt"),
        taohua=model_path(settings, "taohua.txt"), profile=themes.profile,
        segmenter=segmenter if hasattr(segmenter, "cut") else None))
    from .engagement import EngagementScorer  # keep LAST: reads matches, copied_ratio, themes

    stages.append(EngagementScorer.from_settings(settings))
    return stages


# -- ingest + split ------------------------------------------------------------
def documents_to_essays(docs: Iterable[RawDocument], start: int = 1) -> list[Essay]:
    """Split documents into essays and number them ``E0001`` … in input order."""
    splitter = Splitter()
    essays: list[Essay] = []
    n = start
    for doc in docs:
        parts = splitter(doc.text, doc.splittable)
        for k, part in enumerate(parts, 1):
            source = doc.source if len(parts) == 1 else f"{doc.source}#{k}"
            meta = dict(doc.meta)
            if part.subtitles:
                meta["headings"] = list(part.subtitles)
            essays.append(Essay(id=f"E{n:04d}", source=source, raw=part.body, title=part.title,
                                source_offset=part.start, meta=meta))
            n += 1
    return essays


def load(path: Path | str, settings: Settings,
         progress: Callable[[Iterable], Iterable] | None = None,
         ) -> tuple[str, int, list[Essay], list[Skipped]]:
    """Read and split every input file under ``path``.

    Returns:
        ``(root, n_files, essays, skipped)``.
    """
    from .ingest.batch import read_files
    from .parallel import MIN_PARALLEL, map_shared

    root, files, skipped = discover(Path(path))
    jobs = settings.jobs if settings.engine == "local" else 1  # input is read where xinde runs
    docs = None
    if jobs > 1 and len(files) >= MIN_PARALLEL:
        # files are read in forked workers, in order; a progress bar would only jump to
        # the end, so it is not shown for the reading step
        try:
            docs, more = read_files(files, root, settings,
                                    map_fn=lambda fn, xs: map_shared(fn, xs, jobs))
        except BrokenProcessPool as e:  # a worker died (e.g. killed for memory): read here
            log.warning("parallel reading failed (%s); reading the files in this process", e)
            docs = None
    if docs is None:
        docs, more = read_files(progress(files) if progress else files, root, settings)
    skipped.extend(more)
    essays: list[Essay] = []
    for d in docs:  # per document: names may contain '#', so never match sources by prefix
        found_essays = documents_to_essays([d], start=len(essays) + 1)
        if not found_essays:  # every part too short to be an essay: still report the file
            skipped.append(Skipped(d.source, f"[X001] 文件中没有正文 (no essay text found): "
                                             f"{d.source}", "X001"))
        essays.extend(found_essays)
    return str(root), len(files), essays, skipped


# -- running stages ------------------------------------------------------------
def _apply(stage, essay: Essay) -> Essay | Skipped:
    try:
        return stage(essay)
    except SkipFile as e:
        return Skipped(essay.source, str(e), e.code)
    except XindeError as e:
        log.error("stage %s failed on %s: %s", stage.name, essay.source, e)
        return Skipped(essay.source, str(e), e.code)
    except Exception as e:  # never lose the rest of the run to one essay
        log.exception("stage %s failed on %s", getattr(stage, "name", stage), essay.source)
        return Skipped(essay.source, f"内部错误 (internal error) in stage "
                                     f"{getattr(stage, 'name', stage)}: {type(e).__name__}: {e}",
                       "X999")


def run_stages(essays: list[Essay], stages: list, context: dict | None = None,
               timings: dict | None = None, skipped: list | None = None,
               progress: Callable | None = None, engine=None, cache=None,
               settings: Settings | None = None, consume: bool = False) -> list[Essay]:
    """Apply ``stages`` in order; returns the essays that survived.

    Consecutive per-essay stages run as one block on ``engine`` (default: in
    process; see :mod:`pipeline.engines`). With a ``cache``
    (:class:`pipeline.cache.RunCache`), the block before the first cohort stage
    reuses earlier results of unchanged essays and stores new ones as they finish.
    Per-stage ``timings`` of a parallel block are its wall time shared out in
    proportion to each stage's summed worker time.

    With ``consume=True`` the caller hands ``essays`` over: the list is emptied when
    the first block starts and each input essay is let go as soon as its result is
    back (results from worker processes are new objects), so the input and the
    processed cohort are not both held at the end of the block.
    """
    from .parallel import split_blocks
    from .segment import release_tokens

    context = {} if context is None else context
    timings = {} if timings is None else timings
    seen_cohort = False
    for scope, block in split_blocks(stages):
        t0 = time.perf_counter()
        if scope == "cohort":
            stage = block[0]
            try:
                stage.process(essays, context)
            except Exception as e:  # a cohort step failing must not lose the whole run
                log.exception("cohort stage %s failed", stage.name)
                context.setdefault("stage_errors", []).append(
                    {"stage": stage.name, "error": f"{type(e).__name__}: {e}"})
            for e in essays:  # tokens materialised by the stage are rebuilt on demand
                release_tokens(e)
            timings[stage.name] = timings.get(stage.name, 0.0) + time.perf_counter() - t0
            seen_cohort = True
            continue
        use_cache = (cache is not None and settings is not None and not seen_cohort
                     and all(getattr(st, "cacheable", True) for st in block))
        essays = _run_block(block, essays, engine, cache if use_cache else None, settings,
                            timings, skipped, consume)
        consume = True  # from here on the list is our own
        # the essays now live until the end of the run: keep the cyclic garbage collector
        # from re-scanning their millions of objects in every later full collection (and
        # keep forked workers from touching their pages); run() unfreezes at the end
        gc.freeze()
    return essays


def _run_block(block: list, essays: list[Essay], engine, cache, settings, timings: dict,
               skipped: list | None, consume: bool = False) -> list[Essay]:
    from .parallel import map_block

    t0 = time.perf_counter()
    results: list = [None] * len(essays)
    todo = list(range(len(essays)))
    keys: list[str] = []
    if cache is not None:
        from .cache import block_fingerprint, essay_key

        fp = block_fingerprint(block, settings)
        keys = [essay_key(e, fp) for e in essays]
        todo = []
        for i, e in enumerate(essays):
            hit = cache.get(keys[i])
            if hit is None:
                todo.append(i)
            else:
                results[i] = cache.restore(e, hit)
        timings["cache"] = timings.get("cache", 0.0) + time.perf_counter() - t0

    # meta keys present before the block: what a stage adds (cleaner: hidden_gaps) is cached
    ingest_meta = [set(essays[i].meta) for i in todo] if cache is not None else []

    def store(j: int, r) -> None:  # each entry committed as soon as its essay is done
        if cache is not None and not isinstance(r, Skipped):
            cache.put(keys[todo[j]], r, [k for k in r.meta if k not in ingest_meta[j]])
        if consume:
            batch[j] = None  # the input essay: free once its result is back

    t1 = time.perf_counter()
    batch = [essays[i] for i in todo]
    if consume:
        essays.clear()  # cache hits are in ``results``, the rest in ``batch``
    if engine is None:
        done, stage_times = map_block(block, batch, 1, 0, store)
    else:
        done, stage_times = engine.map_block(block, batch, on_result=store)
    wall, total = time.perf_counter() - t1, sum(stage_times.values())
    for st in block:
        share = stage_times.get(st.name, 0.0) / total if total > 0 else 1 / len(block)
        timings[st.name] = timings.get(st.name, 0.0) + wall * share
    for i, r in zip(todo, done):
        results[i] = r
    kept = []
    for r in results:
        if isinstance(r, Skipped):
            if skipped is not None:
                skipped.append(r)
        else:
            kept.append(r)
    return kept


def run(path: Path | str, settings: Settings | None = None, stages: list | None = None,
        progress: Callable | None = None) -> RunResult:
    """Run the whole pipeline over a folder or file.

    Args:
        path: Folder (recursive) or single file of essays.
        settings: Run settings; defaults if ``None``.
        stages: Override the stage list (tests, benchmarks).
        progress: Wraps an iterable to show progress (the CLI passes a bar).

    Returns:
        The :class:`RunResult`; no file is written here (see :mod:`pipeline.report`).
    """
    settings = settings or Settings()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    root, n_files, essays, skipped = load(path, settings, progress)
    timings["ingest+split"] = time.perf_counter() - t0
    stages = default_stages(settings) if stages is None else stages
    context: dict[str, Any] = {"settings": settings}
    from .engines import make_engine

    engine = make_engine(settings)
    context["engine"] = engine  # cohort stages may spread per-essay work with engine.map
    cache = None
    if settings.cache_dir is not None:
        from .cache import RunCache

        try:
            cache = RunCache(settings.cache_dir)
        except XindeError as e:  # the cache only saves time: never fail a run over it
            log.warning("run cache disabled: %s", e)
    context["cache"] = cache  # cohort stages may memoise their own steps (None: no cache)
    try:
        essays = run_stages(essays, stages, context, timings, skipped, engine=engine,
                            cache=cache, settings=settings, consume=True)
    finally:
        gc.unfreeze()
        engine.close()
        if cache is not None:
            log.info("run cache %s: %d reused, %d computed", settings.cache_dir, cache.hits,
                     cache.writes)
            cache.close()
    aligned = []
    for e in essays:  # a stage bug on one essay must not discard the whole run
        try:
            e.check_offsets()
        except XindeError as err:
            log.error("offsets of %s are inconsistent: %s", e.source, err)
            skipped.append(Skipped(e.source, str(err), err.code))
            continue
        aligned.append(e)
    essays = aligned
    skipped.sort(key=lambda s: s.source)
    cohort = {k: v for k, v in context.items() if k not in ("settings", "engine", "cache")}
    return RunResult(essays, skipped, settings, root, n_files, cohort, timings)
