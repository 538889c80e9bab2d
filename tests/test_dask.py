"""The Dask engine on a small LocalCluster gives exactly the local engine's results."""
from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")

from pipeline.clean import Cleaner  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.engines import LocalEngine, make_engine  # noqa: E402
from pipeline.engines.dask import DaskEngine  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.runner import MinLength, run  # noqa: E402
from pipeline.segment import Segmenter  # noqa: E402

from conftest import ROOT  # noqa: E402
from test_parallel import CountChars, Mark, make_essays, make_texts  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None, silence_logs=40) as c:
        yield c


def stages():
    return [Cleaner(), MinLength(80),
            Segmenter(ROOT / "models" / "jieba_userdict.txt", compact=True)]


def _square(x):
    return x * x


def test_map_block_on_dask_equals_local(cluster):
    texts = make_texts(24, seed=21)
    texts[5] = "过短。"
    local, _ = LocalEngine().map_block(stages(), make_essays(texts))
    eng = DaskEngine(cluster.scheduler_address, chunk_size=6)
    try:
        seen = []
        remote, times = eng.map_block(stages(), make_essays(texts),
                                      on_result=lambda i, r: seen.append(i))
        assert sorted(seen) == list(range(24))
        assert eng.map(_square, list(range(30))) == [x * x for x in range(30)]
    finally:
        eng.close()
    assert [r.to_dict() for r in local] == [r.to_dict() for r in remote]
    assert remote[5].code == "X012"
    assert times["segment"] > 0


def test_run_with_dask_engine_equals_local_run(cluster, tmp_path):
    for i, t in enumerate(make_texts(12, seed=22)):
        (tmp_path / f"{i:03d}.txt").write_text(t, encoding="utf-8")
    local = run(tmp_path, Settings(), stages=[*stages(), CountChars(), Mark()])
    remote = run(tmp_path, Settings(engine="dask", scheduler=cluster.scheduler_address),
                 stages=[*stages(), CountChars(), Mark()])
    assert [e.to_dict() for e in local.essays] == [e.to_dict() for e in remote.essays]
    assert local.cohort == remote.cohort and "engine" not in remote.cohort


def test_make_engine_and_unreachable_scheduler():
    assert isinstance(make_engine(Settings(jobs=2)), LocalEngine)
    eng = make_engine(Settings(engine="dask", scheduler="tcp://127.0.0.1:9"))
    assert isinstance(eng, DaskEngine)
    eng.timeout = 1
    with pytest.raises(ConfigError, match="Dask scheduler"):
        eng.map(_square, [1])


def test_default_pipeline_on_dask_equals_local(cluster):
    """Every stage — including the cohort stages that spread work with ``engine.map``
    (duplication, topics, engagement) — gives the local engine's results on Dask."""
    sample = ROOT / "corpora" / "sample"
    local = run(sample, Settings())
    remote = run(sample, Settings(engine="dask", scheduler=cluster.scheduler_address))
    assert len(local.essays) >= 20
    assert [e.to_dict() for e in local.essays] == [e.to_dict() for e in remote.essays]
    assert local.cohort == remote.cohort
