"""The vectorised duplication helpers agree with straightforward reference versions."""
import numpy as np
import pytest

from pipeline.duplication.align import _covered
from pipeline.duplication.classify import (KgramSet, boilerplate_runs, common_hashes,
                                           frequent_kgrams)
from pipeline.duplication.fingerprint import candidate_pairs, kgram_hashes, sorted_unique, winnow


def _reference_runs(hashes, k, threshold, max_run=80, run_gap=2, n_count=None):
    """The former per-document implementation (np.unique / np.isin per document)."""
    counted = hashes if n_count is None else hashes[:n_count]
    vals, counts = np.unique(np.concatenate([np.unique(h) for h in counted]),
                             return_counts=True)
    common = vals[counts >= threshold]
    masks = [np.zeros(len(h), dtype=bool) for h in hashes]
    runs = [[] for _ in hashes]
    for d, h in enumerate(hashes):
        pos = np.flatnonzero(np.isin(h, common))
        if len(pos) == 0:
            continue
        for grp in np.split(pos, np.flatnonzero(np.diff(pos) > run_gap) + 1):
            ns, ne = int(grp[0]), int(grp[-1]) + k
            if ne - ns <= max_run:
                masks[d][ns:int(grp[-1]) + 1] = True
                runs[d].append((ns, ne))
    return masks, runs


def _cohort(seed, n_docs=40):
    """Random texts sharing stock phrases (some repeated inside one text) and a long passage."""
    rng = np.random.default_rng(seed)
    alphabet = [chr(0x4E00 + i) for i in range(300)]
    phrases = ["".join(rng.choice(alphabet, size=int(rng.integers(6, 20)))) for _ in range(6)]
    passage = "".join(rng.choice(alphabet, size=120))
    texts = []
    for d in range(n_docs):
        parts = []
        for _ in range(int(rng.integers(3, 12))):
            parts.append("".join(rng.choice(alphabet, size=int(rng.integers(0, 40)))))
            if rng.random() < 0.6:
                parts.append(phrases[int(rng.integers(len(phrases)))])
        if d % 3 == 0:
            parts.append(passage)
        texts.append("".join(parts))
    texts.append("")  # an empty document
    return texts


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_count", [None, 30])
def test_boilerplate_runs_match_the_per_document_reference(seed, n_count):
    hashes = [kgram_hashes(t, 6) for t in _cohort(seed)]
    got = boilerplate_runs(hashes, 6, threshold=4, max_run=80, n_count=n_count)
    masks, runs = _reference_runs(hashes, 6, 4, 80, n_count=n_count)
    assert got.runs == runs
    assert any(runs)  # the planted phrases were found
    for a, b in zip(got.masks, masks):
        assert np.array_equal(a, b)


def test_boilerplate_runs_with_nothing_common():
    hashes = [kgram_hashes(t, 6) for t in ("一二三四五六七八九十", "甲乙丙丁戊己庚辛壬癸")]
    got = boilerplate_runs(hashes, 6, threshold=2)
    assert got.runs == [[], []]
    assert [m.tolist() for m in got.masks] == [[False] * 5, [False] * 5]


def test_common_hashes_counts_documents_not_occurrences():
    a, b = np.uint64(7), np.uint64(9)
    allh = np.array([a, a, a, b, b, a], dtype=np.uint64)  # docs: [a a a] [b b] [a]
    offsets = np.array([0, 3, 5, 6])
    assert common_hashes(allh, offsets, 2).tolist() == [7]
    assert common_hashes(allh, offsets, 3).tolist() == []


def _reference_frequent(hashes, threshold):
    vals, counts = np.unique(np.concatenate([np.unique(h) for h in hashes]), return_counts=True)
    return vals[counts >= threshold]


@pytest.mark.parametrize("chunk", [1, 7, 50, 1 << 19])
@pytest.mark.parametrize("threshold", [2, 3, 5])
def test_frequent_kgrams_in_chunks_match_the_reference(chunk, threshold):
    hashes = [kgram_hashes(t, 6) for t in _cohort(5)]
    got = frequent_kgrams(hashes, threshold, chunk=chunk)
    ref = _reference_frequent(hashes, threshold)
    assert len(ref) and got.tolist() == ref.tolist()


def test_frequent_kgrams_filter_levels_keep_bucket_collisions_apart():
    # 4 096 hashes that share their top 24 bits (one first-level bucket) and differ below:
    # the bucket reaches any threshold, only exact counting tells them apart
    low = np.arange(1, 4097, dtype=np.uint64) * np.uint64(0x9E3779B1)
    base = np.uint64(0xABCDEF) << np.uint64(40)
    hashes = [base | (low[(d * 97) % 4096:][:300] & np.uint64((1 << 40) - 1)) for d in range(30)]
    hashes.append(np.full(4, base | np.uint64(12345), dtype=np.uint64))  # one doc, 4 times
    for threshold in (2, 3, 4):
        assert (frequent_kgrams(hashes, threshold).tolist()
                == _reference_frequent(hashes, threshold).tolist())


def test_kgram_set_membership_is_exact():
    rng = np.random.default_rng(7)
    values = np.unique(rng.integers(0, 2**63, 500, dtype=np.uint64))
    probe = np.r_[values[::3], rng.integers(0, 2**63, 2000, dtype=np.uint64),
                  values[::5] ^ np.uint64(1)]  # same bucket, other hash
    assert np.array_equal(KgramSet(values).contains(probe), np.isin(probe, values))
    assert not KgramSet(np.zeros(0, dtype=np.uint64)).contains(probe).any()


def _reference_pairs(fps, min_shared, max_df, groups=None):
    holders = {}
    for d, f in enumerate(fps):
        for x in f.tolist():
            holders.setdefault(x, []).append(d)
    shared = {}
    for docs in holders.values():
        if 2 <= len(docs) <= max_df:
            for a in range(len(docs)):
                for b in range(a + 1, len(docs)):
                    shared[docs[a], docs[b]] = shared.get((docs[a], docs[b]), 0) + 1
    return [(i, j, c) for (i, j), c in sorted(shared.items()) if c >= min_shared
            and not (groups is not None and groups[i] != 0 and groups[i] == groups[j])]


@pytest.mark.parametrize("seed", range(6))
def test_candidate_pairs_match_a_pairwise_reference(seed):
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**63, 60, dtype=np.uint64)
    pool[:20] &= np.uint64((1 << 44) - 1)  # many in the same top-bits bucket
    fps = [np.unique(rng.choice(pool, int(rng.integers(0, 25)))) for _ in range(int(rng.integers(2, 30)))]
    groups = [int(g) for g in rng.integers(0, 3, len(fps))]
    for min_shared, max_df in ((1, 64), (2, 64), (3, 4), (2, 2)):
        assert (candidate_pairs(fps, min_shared=min_shared, max_df=max_df)
                == _reference_pairs(fps, min_shared, max_df))
        assert (candidate_pairs(fps, min_shared=min_shared, max_df=max_df, groups=groups)
                == _reference_pairs(fps, min_shared, max_df, groups))


@pytest.mark.parametrize("seed", [3, 4])
def test_winnow_matches_argmin_reference(seed):
    for text in _cohort(seed, 10):
        h = kgram_hashes(text, 6)
        mask = np.zeros(len(h), dtype=bool)
        mask[::7] = True
        for m in (None, mask):
            hh = h if m is None else h[~m]
            if len(hh) > 6:
                win = np.lib.stride_tricks.sliding_window_view(hh, 6)
                ref = np.unique(hh[np.argmin(win, axis=1) + np.arange(len(win))])
            else:
                ref = np.unique(hh[[int(np.argmin(hh))]]) if len(hh) else hh
            assert np.array_equal(winnow(h, 6, m), ref)


def test_sorted_unique_and_covered():
    a = np.array([5, 1, 5, 3, 1], dtype=np.uint64)
    assert sorted_unique(a).tolist() == [1, 3, 5]
    # k-grams of length 4 starting at 0, 2, 2 and 10 cover [0, 6) and [10, 14)
    assert _covered(np.array([2, 0, 2, 10]), 4) == 10
    assert _covered(np.array([], dtype=np.int64), 4) == 0


# -- the stage on an engine ---------------------------------------------------------------
def _engine_cohort():
    """80 essays (enough for forked workers): copies, a template, a policy quote, stock phrases."""
    from conftest import make_essay
    from test_duplication import COPIED, OWN_A, OWN_B, OWN_C, OWN_D, POLICY_SENT

    owns = [OWN_A, OWN_B, OWN_C, OWN_D]
    stock = "不忘初心、牢记使命，以实际行动践行正确政绩观。"
    texts = []
    for i in range(80):
        parts = [owns[i % 4], stock if i % 2 else "", f"第{i}号意见：" + owns[(i + 1) % 4]]
        if i % 10 == 3:
            parts.insert(1, COPIED)
        if i % 7 == 0:
            parts.append(f"通知要求“{POLICY_SENT}”")
        texts.append("".join(parts))
    texts[50] = texts[51] = OWN_B + COPIED  # a near-identical pair: one cluster
    return [make_essay(t, id=f"E{i:04d}", source=f"{i}.txt") for i, t in enumerate(texts, 1)]


def _stage_output(engine):
    from pipeline.duplication import DuplicationStage
    from pipeline.duplication.index import RefDoc
    from test_duplication import COPIED, POLICY_SENT

    essays = _engine_cohort()
    stage = DuplicationStage([RefDoc("T0001", "范文", "t.txt", "范文开头。" + COPIED)], POLICY_SENT)
    ctx = {} if engine is None else {"engine": engine}
    stage.process(essays, ctx)
    ctx.pop("engine", None)
    return [(e.id, [m.to_dict() for m in e.matches], e.copied_ratio,
             e.extra["largest_source"]) for e in essays], ctx


def test_stage_output_is_the_same_on_two_forked_workers():
    from pipeline.engines.local import LocalEngine

    alone = _stage_output(None)
    kinds = {m["kind"] for _, ms, _, _ in alone[0] for m in ms}
    assert kinds == {"submission", "template", "quote", "boilerplate"}
    assert alone[1]["clusters"]
    assert _stage_output(LocalEngine(2)) == alone
