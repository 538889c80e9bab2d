"""The duplication stage keeps its per-document arrays out of the main process (DocStore)."""
import pickle
import tracemalloc

import numpy as np
import pytest

from pipeline.duplication.fingerprint import (candidate_pairs, candidate_pairs_flat,
                                              kgram_hashes, winnow)
from pipeline.duplication.normalize import normalize
from pipeline.duplication.store import DocStore, StoredHashes

TEXTS = ["学习贯彻党的二十大精神，牢固树立正确政绩观。", "", "领导干部要为人民群众办实事！",
         "短", "我们必须坚持以人民为中心的发展思想，切实做到。"]


def _filled(k=6):
    st = DocStore([len(t) for t in TEXTS[:3]], k)
    st.extend([len(t) for t in TEXTS[3:]])
    want = []
    for i, t in enumerate(TEXTS):
        n = normalize(t)
        h = kgram_hashes(n.text, k)
        mask = np.arange(len(h)) % 3 == 0
        fps = winnow(h, 4, mask)
        st.put_norm(i, n, h)
        st.set_norm_len(i, len(n.text))
        st.put_mask(i, mask)
        st.put_fps(i, fps)
        st.set_fps_len(i, len(fps))
        want.append((n, h, mask, fps))
    st.has_mask[:] = True
    return st, want


def _check(st, want):
    for i, (n, h, mask, fps) in enumerate(want):
        got = st.norm(i, len(TEXTS[i]))
        assert got.text == n.text and np.array_equal(got.index, n.index)
        assert got.n_orig == len(TEXTS[i])
        assert st.norm_text(i) == n.text
        assert np.array_equal(st.hashes(i), h) and st.hashes(i).dtype == np.uint64
        assert np.array_equal(st.mask(i), mask) and st.mask(i).dtype == bool
    out = np.empty(sum(len(w[3]) for w in want), dtype=np.uint64)
    st.fps_into(out, range(len(want)))
    assert np.array_equal(out, np.concatenate([w[3] for w in want]))
    assert [len(x) for x in StoredHashes(st, range(len(want)))] == [len(w[1]) for w in want]
    assert StoredHashes(st, [0, 2]).lengths().tolist() == [len(want[0][1]), len(want[2][1])]


def test_store_round_trip_and_snapshot():
    st, want = _filled()
    assert st.local
    _check(st, want)
    copy = pickle.loads(pickle.dumps(st))  # what a Dask worker gets: the contents
    assert not copy.local
    _check(copy, want)
    st.close()


def test_store_refuses_a_text_longer_than_its_capacity():
    st = DocStore([3], 6)
    with pytest.raises(ValueError):
        st.put_norm(0, normalize("学习贯彻党的精神"), np.zeros(0, dtype=np.uint64))
    st.close()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_candidate_pairs_in_hash_slices_equal_all_at_once(seed):
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**64 - 1, size=300, dtype=np.uint64, endpoint=True)
    fps = [np.unique(rng.choice(pool, size=int(rng.integers(0, 40)))) for _ in range(60)]
    want = candidate_pairs(fps, min_shared=2, max_df=8)
    assert want
    hs, lens = np.concatenate(fps), [len(f) for f in fps]
    for parts in (1, 2, 8, 64):
        assert candidate_pairs_flat(hs, lens, min_shared=2, max_df=8, parts=parts) == want


class _PicklingEngine:
    """Runs ``map`` as a remote engine would: the function and every result pickled."""

    def map(self, fn, items):
        fn = pickle.loads(pickle.dumps(fn))
        return [pickle.loads(pickle.dumps(fn(x))) for x in items]


def test_stage_output_is_the_same_when_workers_cannot_reach_the_store():
    from test_duplication_vectorised import _stage_output

    assert _stage_output(_PicklingEngine()) == _stage_output(None)


def _essays(n, seed=7):
    from conftest import make_essay

    rng = np.random.default_rng(seed)
    alphabet = [chr(0x4E00 + i) for i in range(2000)]
    stock = "".join(rng.choice(alphabet, size=30))  # boilerplate: every filter level runs
    texts = []
    for i in range(n):  # essays 2m and 2m + 1 share a passage: one candidate pair each
        if i % 2 == 0:
            shared = "".join(rng.choice(alphabet, size=200))
        own = "".join(rng.choice(alphabet, size=1300))
        texts.append(own[:300] + stock + own[300:600] + shared + own[600:])
    return [make_essay(t, id=f"E{i:04d}", source=f"{i}.txt") for i, t in enumerate(texts, 1)]


def _parent_peak(n, monkeypatch):
    from functools import partial

    from pipeline.duplication import DuplicationStage, classify, stage as stage_mod
    from pipeline.engines.local import LocalEngine

    # frequent k-grams are counted in chunks of 2^19 k-grams (4 MB, a fixed cost that
    # would look per essay at this size): smaller chunks here
    monkeypatch.setattr(stage_mod, "frequent_kgrams", partial(classify.frequent_kgrams,
                                                              chunk=1 << 14))
    essays = _essays(n)
    stage = DuplicationStage()
    tracemalloc.start()
    try:
        stage.process(essays, {"engine": LocalEngine(2)})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_main_process_holds_no_per_document_arrays(monkeypatch):
    """Python allocations of the main process grow by < 8 KB an essay of 1,500 chars
    (it held ≈ 28 KB: every document's normalised text, index, hashes, mask and
    fingerprints). Both sizes align their pairs on the engine (≥ 64 pairs)."""
    small, big = _parent_peak(160, monkeypatch), _parent_peak(400, monkeypatch)
    assert (big - small) / 240 < 8 * 1024


def _shared_fingerprints(n_docs: int, per_doc: int, df: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**63, size=n_docs * per_doc // df, dtype=np.int64).astype(np.uint64)
    docs = [np.unique(rng.choice(pool, per_doc)) for _ in range(n_docs)]
    return np.concatenate(docs), np.array([len(d) for d in docs])


def test_candidate_pair_counting_holds_one_bin_at_a_time():
    # every fingerprint in ~10 documents: ~45 pair occurrences each, far more than hs itself
    import tracemalloc

    hs, lens = _shared_fingerprints(1500, 100, 10)
    peaks, outs = {}, {}
    for parts in (1, 8):
        tracemalloc.start()
        outs[parts] = candidate_pairs_flat(hs, lens, min_shared=2, max_df=64, parts=parts)
        peaks[parts] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert outs[1] == outs[8] and len(outs[8]) > 0
    # one bin of pair keys sorted at a time, not all of them concatenated and sorted
    assert peaks[8] < 0.6 * peaks[1], peaks


def test_a_full_scratch_disk_is_a_coded_error_naming_the_folder(monkeypatch, tmp_path):
    import errno
    import tempfile

    from pipeline.duplication import DuplicationStage, store as store_mod
    from pipeline.errors import XindeError

    def full(fd, buf, off):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod.os, "pwrite", full)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(XindeError) as ei:
        DuplicationStage().process(_essays(4), {})  # in process: no engine
    assert ei.value.code == "X133"
    assert str(tmp_path) in str(ei.value) and "TMPDIR" in str(ei.value)
