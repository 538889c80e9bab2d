"""Parallel per-essay stages: same output whatever the number of processes."""
from __future__ import annotations

import pickle
import random

import pytest

from pipeline.clean import Cleaner
from pipeline.config import Settings
from pipeline.essay import Essay, Skipped, Token
from pipeline.parallel import chunk_size_for, chunks, map_block, split_blocks
from pipeline.runner import MinLength, run, run_stages
from pipeline.segment import Segmenter, TokenList

from conftest import ROOT

SENTENCES = [
    "通过这次集中学习，我对树立和践行正确政绩观有了更深的认识。",
    "作为一名基层干部，我常常在想，群众满意才是最大的政绩。",
    "去年我们社区推进老旧小区改造，先后召开了十二次居民议事会。",
    "有的同志热衷于搞形象工程，看似轰轰烈烈，实则劳民伤财。",
    "今后我将把学习成果转化为推动高质量发展的实际行动。",
    "考核不是目的，而是引导干部干实事、求实效的指挥棒。",
    "2024年全镇新增就业岗位310个，农村居民人均收入增长6.5%。",
    "我深刻体会到，功成不必在我，功成必定有我。",
    "在整改过程中，我们建立了问题清单、责任清单和时限清单。",
    "要坚持以人民为中心，把为民造福作为最重要的政绩。",
    "对照通知要求，我查找出自己在调查研究方面还存在短板。",
    "基层减负不能停留在文件上，而要落实到每一次检查考核中。",
]


def make_texts(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        paras = ["".join(rng.sample(SENTENCES, 4)) for _ in range(rng.randint(2, 4))]
        out.append(f"第{i + 1}篇体会\n\n" + "\n\n".join(paras))
    return out


def make_essays(texts: list[str]) -> list[Essay]:
    return [Essay(id=f"E{i + 1:04d}", source=f"e{i:03d}.txt", raw=t) for i, t in enumerate(texts)]


@pytest.fixture(scope="module")
def stages():
    return [Cleaner(), MinLength(80),
            Segmenter(ROOT / "models" / "jieba_userdict.txt", compact=True)]


class CountChars:
    """A cohort stage between two essay blocks."""

    name = "count"
    scope = "cohort"

    def process(self, essays, context):
        context["n_chars"] = sum(len(e.text) for e in essays)


class Mark:
    """An essay stage after a cohort stage: records its token count."""

    name = "mark"

    def __call__(self, essay):
        essay.extra["n_tokens"] = len(essay.tokens)
        return essay


def test_split_blocks_groups_consecutive_essay_stages(stages):
    c, m = CountChars(), Mark()
    blocks = split_blocks([*stages, c, m])
    assert [(scope, [s.name for s in b]) for scope, b in blocks] == [
        ("essay", ["clean", "min_length", "segment"]), ("cohort", ["count"]), ("essay", ["mark"])]


def test_chunks_cover_every_index_once():
    rs = chunks(1001, chunk_size_for(1001, 2))
    assert [i for r in rs for i in r] == list(range(1001))
    assert chunk_size_for(10, 2, requested=3) == 3


def test_map_block_same_result_for_1_and_2_processes(stages):
    texts = make_texts(90)
    texts[7] = "太短了。"  # skipped by MinLength in every mode
    one, t1 = map_block(stages, make_essays(texts), jobs=1)
    two, t2 = map_block(stages, make_essays(texts), jobs=2, chunk_size=7)
    assert len(one) == len(two) == 90
    assert isinstance(one[7], Skipped) and isinstance(two[7], Skipped)
    assert one[7].code == two[7].code == "X012"
    for a, b in zip(one, two):
        if isinstance(a, Essay):
            assert a.to_dict() == b.to_dict()
            assert list(a.tokens) == list(b.tokens)
    assert set(t1) == set(t2) == {"clean", "min_length", "segment"}


def test_map_block_reports_results_as_they_complete(stages):
    seen = []
    res, _ = map_block(stages, make_essays(make_texts(70)), jobs=2, chunk_size=9,
                       on_result=lambda i, r: seen.append((i, r.id)))
    assert sorted(seen) == [(i, r.id) for i, r in enumerate(res)]


def test_run_with_jobs_is_deterministic(tmp_path, stages):
    for i, t in enumerate(make_texts(80)):
        (tmp_path / f"{i:03d}.txt").write_text(t, encoding="utf-8")
    (tmp_path / "short.txt").write_text("只有一句话。", encoding="utf-8")
    outs = []
    for jobs in (1, 2):
        r = run(tmp_path, Settings(jobs=jobs), stages=[*stages, CountChars(), Mark()])
        outs.append(([e.to_dict() for e in r.essays], [s.to_dict() for s in r.skipped],
                     r.cohort))
    assert outs[0] == outs[1]
    assert outs[0][2]["n_chars"] > 10000
    assert [s["source"] for s in outs[0][1]] == ["short.txt"]
    assert all(e["n_tokens"] > 50 for e in outs[0][0])


def test_run_stages_keeps_skip_semantics_in_later_blocks(stages):
    class Fail:
        name = "fail"

        def __call__(self, essay):
            if essay.id == "E0002":
                raise RuntimeError("boom")
            return essay

    skipped: list = []
    kept = run_stages(make_essays(make_texts(4)), [*stages, CountChars(), Fail()], {}, {},
                      skipped)
    assert [e.id for e in kept] == ["E0001", "E0003", "E0004"]
    assert skipped[0].code == "X999" and "fail" in skipped[0].reason


def test_consumed_input_essays_are_let_go_as_results_come_back(stages):
    """run() hands its essays over (consume=True): the input list is emptied and each
    input essay freed once its result is back from a worker, so the parent does not
    hold the raw cohort and the processed one at the end of the block."""
    import gc
    import weakref

    from pipeline.engines.local import LocalEngine

    texts = make_texts(80)
    ref = run_stages(make_essays(texts), stages, engine=LocalEngine(2))
    given = make_essays(texts)
    alive = [weakref.ref(e) for e in given]
    kept = run_stages(given, [*stages, CountChars(), MinLength(10)], engine=LocalEngine(2),
                      consume=True)
    gc.collect()
    assert given == [] and not any(r() for r in alive)
    assert [e.to_dict() for e in kept] == [e.to_dict() for e in ref]
    given = make_essays(texts)
    run_stages(given, stages, engine=LocalEngine(2))  # not handed over: left as it was
    assert len(given) == 80 and given[0].text == ""


def test_token_list_behaves_like_the_token_list(segmenter):
    text = "我们要树立正确的政绩观，推动高质量发展。 2024年GDP增长5.2%。"
    plain = segmenter.tokens(text)
    compact = TokenList.of(text, plain)
    assert compact == plain and len(compact) == len(plain)
    assert compact[1:3] == plain[1:3] and compact[-1] == plain[-1]
    assert [t.text for t in compact] == [t.text for t in plain]
    back = pickle.loads(pickle.dumps(compact))
    assert back == compact and back[3] == plain[3]
    long = "".join(make_texts(3))
    big_plain = segmenter.tokens(long)
    assert len(pickle.dumps(TokenList.of(long, big_plain))) < len(pickle.dumps(big_plain)) / 2
    compact.release()
    assert compact[0] == Token(0, 2, "我们")


@pytest.mark.parametrize("backend", ["jieba", "rjieba"])
def test_fast_paths_give_the_spacy_aligned_tokens(backend):
    pytest.importorskip("rjieba") if backend == "rjieba" else None
    seg = Segmenter(ROOT / "models" / "jieba_userdict.txt", backend=backend, compact=True)
    ref = Segmenter(ROOT / "models" / "jieba_userdict.txt", backend="jieba")
    texts = make_texts(6) + ["  第3-5条  ABC abc\n\n 2024年 GDP增长5.2%，\r\n习近平 新时代 a  b",
                             "“两个确立”“四个意识”……政绩观", "\n\n", ""]
    for t in texts:
        spacy_tokens = [Token(x.idx, x.idx + len(x.text), x.text)
                        for x in ref.doc(t) if not x.is_space]
        ess = seg(Essay(id="E1", source="x", raw=t, text=t))
        assert list(ess.tokens) == spacy_tokens
        ess.check_offsets()


def test_unknown_backend_is_a_config_error():
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="X104"):
        Segmenter(None, backend="pkuseg")


def test_settings_validate_engine_options():
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="scheduler"):
        Settings(engine="dask")
    with pytest.raises(ConfigError, match="engine"):
        Settings(engine="spark")
    with pytest.raises(ConfigError, match="tokenizer"):
        Settings(tokenizer="thulac")
    assert Settings(engine="dask", scheduler="tcp://127.0.0.1:8786").engine == "dask"


def test_fast_defaults_give_the_original_results_through_all_default_stages(tmp_path):
    """rjieba + compact tokens + 2 processes == Python jieba + token lists + 1 process."""
    pytest.importorskip("rjieba")
    import json

    for i, t in enumerate(make_texts(70, seed=31)):
        (tmp_path / f"{i:03d}.txt").write_text(t, encoding="utf-8")
    slow = run(tmp_path, Settings(tokenizer="jieba", compact_tokens=False))
    fast = run(tmp_path, Settings(tokenizer="rjieba", compact_tokens=True, jobs=2))

    def dump(r):
        return json.dumps([[e.to_dict() for e in r.essays], r.cohort], ensure_ascii=False,
                          sort_keys=True, default=str)

    assert len(slow.essays) == 70
    assert dump(slow) == dump(fast)


def test_map_shared_inherits_unpicklable_state_and_keeps_order():
    import multiprocessing as mp
    import os

    from pipeline.parallel import MIN_PARALLEL, map_shared

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("map_shared needs fork")
    table = {i: f"第{i}段" for i in range(300)}
    parent = os.getpid()
    # a closure over a local dict: not picklable, so it can only reach workers by fork
    fn = lambda i: (table[i], os.getpid() != parent)  # noqa: E731
    with pytest.raises(Exception):
        pickle.dumps(fn)
    items = list(range(300))
    out = map_shared(fn, items, jobs=2)
    assert [t for t, _ in out] == [table[i] for i in items]
    assert any(in_child for _, in_child in out)  # really ran in workers
    small = map_shared(fn, items[: MIN_PARALLEL - 1], jobs=2)
    assert not any(in_child for _, in_child in small)  # below the threshold: in process
