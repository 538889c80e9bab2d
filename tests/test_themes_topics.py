"""Discovered topics: determinism, tiny cohorts, both models, essay mixes."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from pipeline.themes.profile import load_profile
from pipeline.themes.topics import TopicModeler

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

PARAS = {
    "people": [
        "社区把居民满意度调查放进干部考核，居民代表每季度给网格员打分，居民满意度低于八成的网格员年底不能评优。",
        "老旧小区加装电梯前，我们挨家挨户征求居民意见，居民代表全程参与方案讨论，满意度调查每月公示。",
        "居民反映菜市场排水不畅，社区当周就组织疏通，并请反映问题的居民代表到现场验收，再做满意度回访。",
    ],
    "result": [
        "去年年度考核排名靠后的两名中层干部被调整岗位，考核排名靠前的三名干部获得提拔使用。",
        "考核结果与绩效奖金直接挂钩，考核排名靠前的干部奖金高出三成，排名靠后的干部被调整岗位。",
        "对连续两年考核排名靠后的干部，组织部门先诫勉谈话，限期整改后仍排名靠后的调整岗位。",
    ],
    "project": [
        "镇里原计划修建两公里景观大道，项目预算八百万元，后来把项目资金改用于修通村里的断头路。",
        "县里暂停了三个广场和雕塑项目，把项目资金用于农村饮水工程，景观项目一律先论证再立项。",
        "开发区不再上马形象项目，景观绿化项目资金压缩一半，省下的资金用于修路和学校食堂改造。",
    ],
}


def _essay_texts(n: int) -> list[str]:
    keys = sorted(PARAS)
    out = []
    for i in range(n):
        a, b = keys[i % 3], keys[(i + 1) % 3]
        paras = PARAS[a][i % 3:] + PARAS[a][: i % 3] + [PARAS[b][i % 3]]
        out.append("\n".join(paras))
    return out


@pytest.fixture(scope="module")
def cohort(segmenter):
    from tests.conftest import make_essay

    return [segmenter(make_essay(t, id=f"E{i + 1:04d}")) for i, t in enumerate(_essay_texts(9))]


def _model(segmenter, **kw):
    kw.setdefault("profile", load_profile("zhengji-kaohe"))
    return TopicModeler(seed=7, stopwords=MODELS / "stopwords.txt", taohua=MODELS / "taohua.txt",
                        segmenter=segmenter, **kw)


def test_constructor_validates():
    with pytest.raises(ValueError, match="method"):
        TopicModeler(method="pca")
    with pytest.raises(ValueError, match="unit"):
        TopicModeler(unit="page")
    with pytest.raises(ValueError, match="n_topics"):
        TopicModeler(n_topics=-1)


@pytest.mark.parametrize("method", ["nmf", "lda"])
def test_same_topics_twice(cohort, segmenter, method):
    runs = []
    for _ in range(2):
        essays = copy.deepcopy(cohort)
        ctx: dict = {}
        _model(segmenter, method=method, n_topics=3).process(essays, ctx)
        runs.append((ctx["topics"], [e.topics for e in essays]))
    assert runs[0] == runs[1]
    topics = runs[0][0]
    assert topics["method"] == method and topics["n_topics"] == 3 and "skipped" not in topics
    assert len(topics["topics"]) == 3


def test_topics_contract_and_mixes(cohort, segmenter):
    essays = copy.deepcopy(cohort)
    ctx: dict = {}
    _model(segmenter, n_topics=3).process(essays, ctx)
    t = ctx["topics"]
    assert ctx["profile"]["id"] == "zhengji-kaohe"
    by_id = {e.id: e for e in essays}
    all_top = set()
    for tp in t["topics"]:
        assert set(tp) >= {"id", "label", "top_words", "examples"}
        assert tp["label"] and len(tp["top_words"]) >= 5
        assert not set(tp["top_words"]) & {"我们", "进行", "工作"}  # curated stopwords
        all_top.update(tp["top_words"][:3])
        for ex in tp["examples"]:
            e = by_id[ex["essay_id"]]
            assert 0 <= ex["start"] < ex["end"] <= len(e.text)
    # the three story lines come out as separate topics
    assert len(all_top) >= 7
    for e in essays:
        assert e.topics and abs(sum(x["weight"] for x in e.topics) - 1) < 0.1
        ws = [x["weight"] for x in e.topics]
        assert ws == sorted(ws, reverse=True)


def test_typical_sentences_of_a_topic_share_its_words(cohort, segmenter):
    essays = copy.deepcopy(cohort)
    ctx: dict = {}
    _model(segmenter, n_topics=3).process(essays, ctx)
    by_id = {e.id: e for e in essays}
    for tp in ctx["topics"]["topics"]:
        top = tp["top_words"]
        assert tp["examples"]
        for ex in tp["examples"][:1]:
            s = by_id[ex["essay_id"]].text[ex["start"]:ex["end"]]
            assert any(w in s for w in top), (tp["top_words"], s)


def test_one_essay_skips_topic_modelling(cohort, segmenter):
    ctx: dict = {}
    essays = copy.deepcopy(cohort[:1])
    _model(segmenter).process(essays, ctx)
    assert ctx["topics"]["n_topics"] == 0 and ctx["topics"]["topics"] == []
    assert "skipped" in ctx["topics"] and essays[0].topics == []


def test_cohort_frequent_words_are_down_weighted(cohort, segmenter):
    tm = _model(segmenter)
    units = tm.units(cohort)
    f = tm.word_factors(units, len(cohort))
    everywhere = {w for w in f if f[w] < 1}
    assert everywhere, "some words occur in most essays of this cohort"
    n_ess = {w: len({u.essay for u in units if w in u.words}) for w in everywhere}
    assert all(n / len(cohort) > 0.5 for n in n_ess.values())


def test_auto_k_is_bounded(segmenter):
    tm = TopicModeler()
    assert tm.choose_k(20) == 4 and tm.choose_k(10000) == 10
    assert 2 <= tm.choose_k(12) <= 4


@pytest.fixture(scope="module")
def big_cohort(segmenter):
    from tests.conftest import make_essay

    return [segmenter(make_essay(t, id=f"B{i + 1:04d}")) for i, t in enumerate(_essay_texts(30))]


def test_sample_is_spread_evenly_and_seeded():
    tm = TopicModeler(seed=3)
    essay_of = np.repeat(np.arange(30), 4)  # 30 essays × 4 units
    pick = tm.sample_units(essay_of, 50)
    assert len(pick) == 50 and list(pick) == sorted(set(pick.tolist()))
    per_essay = np.bincount(essay_of[pick], minlength=30)
    assert per_essay.min() == 1 and per_essay.max() == 2  # every essay, none twice before all once
    assert list(TopicModeler(seed=3).sample_units(essay_of, 50)) == list(pick)
    assert list(TopicModeler(seed=4).sample_units(essay_of, 50)) != list(pick)
    assert list(tm.sample_units(essay_of, 500)) == list(range(120))


@pytest.mark.parametrize("method", ["nmf", "lda"])
def test_above_the_cap_fits_a_sample_and_transforms_all(big_cohort, segmenter, method):
    n_units = len(_model(segmenter).units(big_cohort))
    assert n_units > 50
    runs = []
    for _ in range(2):
        essays = copy.deepcopy(big_cohort)
        ctx: dict = {}
        _model(segmenter, method=method, n_topics=3, max_fit_units=50, chunk_units=17).process(
            essays, ctx)
        runs.append((ctx["topics"], [e.topics for e in essays]))
    assert runs[0] == runs[1]  # deterministic
    topics, mixes = runs[0]
    assert "skipped" not in topics and topics["fit_units"] == 50 and topics["n_topics"] == 3
    for mix in mixes:  # every essay gets a mix, also those whose units were not sampled
        assert mix and abs(sum(x["weight"] for x in mix) - 1) < 0.1
    by_id = {e.id: e for e in big_cohort}
    for tp in topics["topics"]:
        assert len(tp["top_words"]) >= 5 and tp["examples"]
        for ex in tp["examples"]:
            assert 0 <= ex["start"] < ex["end"] <= len(by_id[ex["essay_id"]].text)


def test_at_the_cap_the_whole_cohort_is_fitted(big_cohort, segmenter):
    n_units = len(_model(segmenter).units(big_cohort))
    runs = []
    for cap in (n_units, 20000):
        essays = copy.deepcopy(big_cohort)
        ctx: dict = {}
        _model(segmenter, n_topics=3, max_fit_units=cap).process(essays, ctx)
        runs.append((ctx["topics"], [e.topics for e in essays]))
    assert runs[0] == runs[1] and "fit_units" not in runs[0][0]


def test_cap_arguments_are_validated():
    with pytest.raises(ValueError, match="max_fit_units"):
        TopicModeler(max_fit_units=5)
    with pytest.raises(ValueError, match="chunk_units"):
        TopicModeler(chunk_units=0)


def test_vectorised_bags_equal_word_by_word_reading(big_cohort, segmenter):
    from collections import Counter

    tm = _model(segmenter)
    spans = [tm._unit_spans(e) for e in big_cohort]
    bags = tm._unit_bags(big_cohort, [(np.array([s.start for s in sp]), np.array([s.end for s in sp]))
                                      for sp in spans])
    expected = [Counter(ws) for e, sp in zip(big_cohort, spans) for ws in tm._span_words(e, sp)]
    assert bags.n_units == len(expected)
    for u, want in enumerate(expected):
        a, b = bags.indptr[u], bags.indptr[u + 1]
        assert {bags.vocab[w]: int(c) for w, c in zip(bags.word[a:b], bags.count[a:b])} == want


def test_word_filter_matches_keep_word_on_edge_tokens():
    from pipeline.essay import Essay
    from pipeline.segment import TokenList
    from pipeline.themes.topic_bags import chunk_bags

    text = "考核ab12 2024年 a\n政绩考核评价体系建设工作 x1 的的 超长" + "甲" * 40 + " 😀好"
    words = ["考核", "ab12", " ", "2024", "年", " ", "a\n", "政绩考核评价体系建设工作", " ", "x1", " ",
             "的的", " ", "超长" + "甲" * 40, " ", "😀好"]
    offsets, pos = [], 0
    for w in words:
        offsets += [pos, pos + len(w)]
        pos += len(w)
    assert pos == len(text)
    from array import array
    essay = Essay(id="E1", source="x", raw=text, text=text)
    essay.tokens = TokenList(text, array("i", offsets))
    tm = TopicModeler(stopwords=ROOT / "models" / "stopwords.txt")
    tm.stopwords |= {"的的"}
    tm._stop_array = np.array(sorted(tm.stopwords))
    bags = chunk_bags([essay], [(np.array([0]), np.array([len(text)]))], tm._stop_array)
    assert sorted(bags.vocab.tolist()) == sorted({w for w in words if tm.keep_word(w)})
    assert "a\n" in bags.vocab.tolist() and "2024" not in bags.vocab.tolist()


def test_fast_nmf_transform_is_sklearn_transform_bit_for_bit():
    from scipy.sparse import random as sparse_random
    from sklearn.decomposition import NMF

    from pipeline.themes.topic_bags import nmf_transform

    X = sparse_random(300, 80, density=0.1, format="csr", random_state=1)
    model = NMF(n_components=5, init="nndsvda", random_state=0, max_iter=500, tol=1e-4).fit(X)
    Y = sparse_random(120, 80, density=0.1, format="csr", random_state=2)
    assert np.array_equal(nmf_transform(model, Y), model.transform(Y))


@pytest.mark.parametrize("seeded", [True, False])
@pytest.mark.parametrize("threads", [1, 3])
def test_fast_nmf_fit_is_sklearn_fit_bit_for_bit(seeded, threads):
    import warnings

    from scipy.sparse import random as sparse_random
    from sklearn.decomposition import NMF
    from sklearn.decomposition._nmf import _initialize_nmf

    from pipeline.themes.topic_bags import nmf_fit

    X = sparse_random(400, 90, density=0.08, format="csr", random_state=3)
    W0, H0 = _initialize_nmf(X, 6, init="nndsvda", random_state=0)
    if seeded:  # a custom start, as with profile seeding
        H0[0] = np.linspace(0.01, 1.0, 90)
    model = NMF(n_components=6, init="custom" if seeded else "nndsvda", random_state=0,
                max_iter=300, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, W=W0.copy(), H=H0.copy()) if seeded else model.fit(X)
    W, H, n_iter = nmf_fit(X, W0, H0, 300, 1e-4, threads)
    assert n_iter == model.n_iter_ and 1 < n_iter < 300
    assert np.array_equal(H, model.components_)


@pytest.mark.parametrize("cap", [20000, 50])
def test_kept_scan_bags_give_the_same_output_as_reading_again(big_cohort, segmenter, cap):
    class Reread(TopicModeler):
        def _scan(self, essays, context=None, keep_bags=False):
            return super()._scan(essays, context, False)

    class Keep(TopicModeler):
        def _scan(self, essays, context=None, keep_bags=False):
            return super()._scan(essays, context, True)

    runs = []
    for cls in (Reread, Keep):
        essays = copy.deepcopy(big_cohort)
        ctx: dict = {}
        cls(seed=7, stopwords=MODELS / "stopwords.txt", taohua=MODELS / "taohua.txt",
            profile=load_profile("zhengji-kaohe"), segmenter=segmenter, n_topics=3,
            max_fit_units=cap, fit_sample=min(cap, 40), chunk_units=7).process(essays, ctx)
        runs.append((ctx["topics"], [e.topics for e in essays]))
    assert runs[0] == runs[1] and runs[0][0]["n_topics"] == 3
    assert ("fit_units" in runs[0][0]) == (cap == 50)


@pytest.mark.parametrize("cap", [20000, 50])
def test_output_does_not_depend_on_the_engine(big_cohort, segmenter, cap):
    from pipeline.engines.local import LocalEngine

    runs = []
    for engine in (None, LocalEngine(2)):
        essays = copy.deepcopy(big_cohort * 3)  # ≥ 64 essays / units: the pool is used
        ctx: dict = {} if engine is None else {"engine": engine}
        _model(segmenter, n_topics=3, max_fit_units=cap, chunk_units=5).process(essays, ctx)
        runs.append((ctx["topics"], [e.topics for e in essays]))
    assert runs[0] == runs[1] and runs[0][0]["n_topics"] == 3


def test_sample_arguments_are_validated():
    with pytest.raises(ValueError, match="fit_sample"):
        TopicModeler(fit_sample=3)
    with pytest.raises(ValueError, match="fit_max_iter"):
        TopicModeler(fit_max_iter=0)
    assert TopicModeler(max_fit_units=100, fit_sample=500).fit_sample == 100


def test_doc_freq_merged_in_batches_equals_one_merge():
    from pipeline.themes.topic_bags import DocFreq, pack_words, unpack_words

    words = np.array(["考核", "a", "政绩考核评价", "ab12", "政绩", "x1y2z3", "人民", "考核"])
    keys, short = pack_words(words)
    assert short.tolist() == [True, True, False, True, True, False, True, True]
    assert unpack_words(keys).tolist() == words[short].tolist()
    assert np.all(np.diff(pack_words(np.array(["a", "ab", "b", "人", "人民"]))[0].astype(float)) > 0)
    from pipeline.themes.topic_bags import words_in

    table = np.array(["a", "人民", "政绩考核评价", "考核x"])
    assert words_in(words, table).tolist() == np.isin(words, table).tolist()
    rng = np.random.default_rng(0)
    vocab = np.array(sorted({"考核", "政绩", "a1", "政绩考核评价体系", "人民群众", "x1y2z3w", "干部"}))
    chunks = []
    for _ in range(9):
        v = np.sort(rng.choice(vocab, size=rng.integers(1, len(vocab)), replace=False))
        chunks.append((v, rng.integers(0, 5, size=len(v))))
    want: dict[str, int] = {}
    for v, d in chunks:
        for w, n in zip(v.tolist(), d.tolist()):
            if n:
                want[w] = want.get(w, 0) + n
    for batch, group in ((1, 16), (2, 16), (9, 16), (9, 2)):
        dfs = DocFreq()
        for i in range(0, len(chunks), batch):
            dfs.add([DocFreq.part(v, d) for v, d in chunks[i:i + batch]], group)
        assert len(dfs) == len(want)
        words, df = dfs.select(lambda d: d >= 0)
        assert words.tolist() == sorted(want) and df.tolist() == [want[w] for w in sorted(want)]
        words, df = dfs.select(lambda d: d > 6, np.array(["干部", "没有"]))
        assert words.tolist() == sorted(w for w in want if want[w] > 6 or w == "干部")


def test_scan_holds_one_batch_of_chunk_results_at_a_time(big_cohort, segmenter, monkeypatch):
    import pipeline.themes.topics as topics_mod

    class Recording:
        """In-process stand-in for an engine that records how many tasks each call got."""

        def __init__(self, name):
            self.name, self.calls = name, []

        def map(self, fn, items):
            self.calls.append(len(items))
            return [fn(x) for x in items]

    essays = copy.deepcopy(big_cohort * 5)  # 150 essays → 75 scan tasks of 2
    ctx: dict = {}
    _model(segmenter, n_topics=3).process(essays, ctx)
    monkeypatch.setattr(topics_mod, "SCAN_BATCH", 16)
    batched = copy.deepcopy(big_cohort * 5)
    engine = Recording("local")
    bctx: dict = {"engine": engine}
    _model(segmenter, n_topics=3).process(batched, bctx)
    assert engine.calls[:4] == [19, 19, 18, 19]  # the scan: 75 tasks in four calls
    assert (bctx["topics"], [e.topics for e in batched]) == (ctx["topics"], [e.topics for e in essays])
    remote = Recording("dask")  # would broadcast the essays with every call: one call
    _model(segmenter, n_topics=3).process(copy.deepcopy(big_cohort * 5), {"engine": remote})
    assert remote.calls[0] == 75


def test_the_fit_runs_blas_on_one_thread(cohort, segmenter, monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    import pipeline.themes.topics as topics_mod

    seen, real = [], topics_mod.nmf_fit

    def recording_fit(*a, **kw):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return real(*a, **kw)

    monkeypatch.setattr(topics_mod, "nmf_fit", recording_fit)
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core machine
        _model(segmenter, n_topics=3).process(copy.deepcopy(cohort), {})
        after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert seen and set(seen) == {1}
    assert set(after) == {2}  # restored after the fit


def test_fast_tfidf_rows_is_sklearn_transform_bit_for_bit():
    from scipy.sparse import random as sparse_random
    from sklearn.feature_extraction.text import TfidfTransformer

    from pipeline.themes.topic_bags import tfidf_rows

    X = sparse_random(200, 60, density=0.1, format="csr", random_state=4)
    X.data = np.log1p(X.data * 7)
    X = X.tolil()
    X[3] = 0  # an empty row stays empty
    X = X.tocsr()
    X.eliminate_zeros()
    model = TfidfTransformer().fit(X)
    Y = sparse_random(50, 60, density=0.2, format="csr", random_state=5)
    want = model.transform(Y)
    got = tfidf_rows(Y.copy(), model.idf_)
    assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data)


def test_count_matrix_from_bags_equals_word_by_word_counts(big_cohort, segmenter):
    from pipeline.themes.topic_bags import VocabIndex, bags_matrix

    from array import array

    from pipeline.essay import Essay
    from pipeline.segment import TokenList

    toks = ["政绩考核评价体系", "干部", "考核", "\n", "政绩考核评价体系", "abcdef12", "群众"]
    offsets, pos = [], 0
    for w in toks:
        offsets += [pos, pos + len(w)]
        pos += len(w)
    long_one = Essay(id="L1", source="x", raw="".join(toks), text="".join(toks))
    long_one.tokens = TokenList(long_one.text, array("i", offsets))
    essays = big_cohort + [long_one]
    tm = _model(segmenter)
    spans = [tm._unit_spans(e) for e in essays]
    bags = tm._unit_bags(essays, [(np.array([s.start for s in sp]), np.array([s.end for s in sp]))
                                  for sp in spans])
    docs = [ws for e, sp in zip(essays, spans) for ws in tm._span_words(e, sp)]
    words = sorted({w for ws in docs for w in ws})
    assert any(len(w) > 4 for w in words) and any(len(w) <= 4 for w in words)
    vocab = sorted(set(words[::2] + ["政绩考核评价体系", "政绩考核评价体系建设", "无此词"]))  # some words missing, some extra
    tm._set_vocabulary(vocab, {w: 0.3 for w in words[1::3]})
    want = tm._counts(docs).toarray()
    for index in (tm.vocab_index_, tm.vocab_array_):
        got = bags_matrix([bags], index, tm.factor_array_)
        assert got.shape == want.shape and np.array_equal(got.toarray(), want)
    pos, hit = VocabIndex(np.array(vocab)).find(np.array(vocab + ["不在", "不在词表里的长词"]))
    assert pos[hit].tolist() == list(range(len(vocab))) and hit.sum() == len(vocab)

