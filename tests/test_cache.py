"""Run cache: unchanged essays are reused, new ones computed, crashes lose nothing."""
from __future__ import annotations

import sqlite3

import pytest

from pipeline.cache import FILENAME, RunCache, block_fingerprint, essay_key
from pipeline.clean import Cleaner
from pipeline.config import Settings
from pipeline.essay import Essay
from pipeline.runner import MinLength, run
from pipeline.segment import Segmenter

from conftest import ROOT
from test_parallel import make_texts


class Counter:
    """Essay stage that counts the essays it sees and records a derived field."""

    name = "counter"
    version = "1"

    def __init__(self, crash_after: int | None = None):
        self.seen: list[str] = []
        self.crash_after = crash_after

    def __call__(self, essay):
        if self.crash_after is not None and len(self.seen) == self.crash_after:
            raise KeyboardInterrupt  # not caught by the runner: the run dies here
        self.seen.append(essay.title)
        essay.extra["first_word"] = essay.tokens[0].text
        return essay


class Cohort:
    name = "cohort"
    scope = "cohort"

    def __init__(self):
        self.calls = 0

    def process(self, essays, context):
        self.calls += 1
        context["n_essays"] = len(essays)


class After(Counter):
    name = "after"


@pytest.fixture(scope="module")
def segmenter_c():
    return Segmenter(ROOT / "models" / "jieba_userdict.txt", compact=True)


def write(folder, texts, start=0):
    folder.mkdir(exist_ok=True)
    for i, t in enumerate(texts, start):
        (folder / f"{i:03d}.txt").write_text(t, encoding="utf-8")


def stages_for(seg):
    return [Cleaner(), MinLength(50), seg, Counter(), Cohort(), After()]


def test_rerun_reuses_every_essay_and_gives_the_same_results(tmp_path, segmenter_c):
    write(tmp_path / "in", make_texts(12))
    s = Settings(cache_dir=tmp_path / "cache")
    first = stages_for(segmenter_c)
    r1 = run(tmp_path / "in", s, stages=first)
    assert len(first[3].seen) == 12
    second = stages_for(segmenter_c)
    r2 = run(tmp_path / "in", s, stages=second)
    assert second[3].seen == []  # the cached block did not run
    assert len(second[5].seen) == 12  # stages after a cohort stage always re-run
    assert second[4].calls == 1 and r2.cohort == {"n_essays": 12}
    assert [e.to_dict() for e in r1.essays] == [e.to_dict() for e in r2.essays]
    assert [list(e.tokens) for e in r1.essays] == [list(e.tokens) for e in r2.essays]


def test_ten_new_essays_only_process_those_ten(tmp_path, segmenter_c):
    texts = make_texts(30, seed=11)
    write(tmp_path / "in", texts[:20])
    s = Settings(cache_dir=tmp_path / "cache")
    run(tmp_path / "in", s, stages=stages_for(segmenter_c))
    write(tmp_path / "in", texts[20:], start=20)
    st = stages_for(segmenter_c)
    r = run(tmp_path / "in", s, stages=st)
    assert len(st[3].seen) == 10
    assert len(r.essays) == 30 and r.cohort["n_essays"] == 30
    fresh = run(tmp_path / "in", Settings(), stages=stages_for(segmenter_c))
    assert [e.to_dict() for e in r.essays] == [e.to_dict() for e in fresh.essays]


def test_renamed_file_still_hits_and_keeps_its_new_identity(tmp_path, segmenter_c):
    texts = make_texts(3, seed=5)
    write(tmp_path / "in", texts)
    s = Settings(cache_dir=tmp_path / "cache")
    run(tmp_path / "in", s, stages=stages_for(segmenter_c))
    (tmp_path / "in" / "000.txt").rename(tmp_path / "in" / "zzz.txt")
    st = stages_for(segmenter_c)
    r = run(tmp_path / "in", s, stages=st)
    assert st[3].seen == []
    assert [e.source for e in r.essays] == ["001.txt", "002.txt", "zzz.txt"]
    assert [e.id for e in r.essays] == ["E0001", "E0002", "E0003"]


def test_settings_and_stage_versions_invalidate(tmp_path, segmenter_c):
    essay = Essay(id="E1", source="a.txt", raw=make_texts(1)[0])
    base = block_fingerprint(stages_for(segmenter_c)[:4], Settings())
    assert block_fingerprint(stages_for(segmenter_c)[:4], Settings(jobs=2)) == base
    assert block_fingerprint(stages_for(segmenter_c)[:4], Settings(min_chars=60)) != base
    assert block_fingerprint(stages_for(segmenter_c)[:4], Settings(hmm=False)) != base
    bumped = stages_for(segmenter_c)[:4]
    bumped[3].version = "2"
    assert block_fingerprint(bumped, Settings()) != base
    assert essay_key(essay, base) != essay_key(
        Essay(id="E1", source="a.txt", raw=essay.raw + "。"), base)
    assert essay_key(essay, base) == essay_key(Essay(id="E9", source="b.txt", raw=essay.raw), base)


def test_model_files_are_part_of_the_fingerprint(tmp_path, segmenter_c):
    models = tmp_path / "models"
    models.mkdir()
    (models / "taohua.txt").write_text("不忘初心\n", encoding="utf-8")
    a = block_fingerprint(stages_for(segmenter_c)[:3], Settings(models_dir=models))
    (models / "taohua.txt").write_text("不忘初心\n牢记使命\n", encoding="utf-8")
    assert block_fingerprint(stages_for(segmenter_c)[:3], Settings(models_dir=models)) != a


def test_interrupted_run_keeps_finished_essays(tmp_path, segmenter_c):
    write(tmp_path / "in", make_texts(10, seed=8))
    s = Settings(cache_dir=tmp_path / "cache")
    st = [Cleaner(), MinLength(50), segmenter_c, Counter(crash_after=6)]
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "in", s, stages=st)
    with RunCache(tmp_path / "cache") as c:
        assert len(c) == 6
    again = [Cleaner(), MinLength(50), segmenter_c, Counter()]
    r = run(tmp_path / "in", s, stages=again)
    assert len(again[3].seen) == 4 and len(r.essays) == 10


def test_parallel_run_fills_the_cache_too(tmp_path, segmenter_c):
    write(tmp_path / "in", make_texts(70, seed=2))
    s = Settings(cache_dir=tmp_path / "cache", jobs=2)
    r1 = run(tmp_path / "in", s, stages=stages_for(segmenter_c))
    with RunCache(tmp_path / "cache") as c:
        assert len(c) == 70
    st = stages_for(segmenter_c)
    r2 = run(tmp_path / "in", Settings(cache_dir=tmp_path / "cache"), stages=st)
    assert st[3].seen == []
    assert [e.to_dict() for e in r1.essays] == [e.to_dict() for e in r2.essays]


def test_damaged_entry_is_recomputed(tmp_path, segmenter_c):
    write(tmp_path / "in", make_texts(2, seed=4))
    s = Settings(cache_dir=tmp_path / "cache")
    run(tmp_path / "in", s, stages=stages_for(segmenter_c))
    db = sqlite3.connect(tmp_path / "cache" / FILENAME)
    db.execute("UPDATE entries SET value = X'00' WHERE rowid = 1")
    db.commit()
    db.close()
    st = stages_for(segmenter_c)
    r = run(tmp_path / "in", s, stages=st)
    assert len(st[3].seen) == 1 and len(r.essays) == 2


def test_unusable_cache_folder_is_a_config_error(tmp_path):
    from pipeline.errors import ConfigError

    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="X104"):
        Settings(cache_dir=f)
    with pytest.raises(ConfigError, match="cache"):
        RunCache(f / "sub")


def test_unusable_cache_folder_does_not_fail_the_run(tmp_path, segmenter_c):
    write(tmp_path / "in", make_texts(2, seed=6))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run(tmp_path / "in", Settings(cache_dir=blocker / "cache"),
            stages=stages_for(segmenter_c))
    assert len(r.essays) == 2


class MetaWriter(Counter):
    """A block stage that adds a meta key (as the cleaner adds ``hidden_gaps``)."""

    name = "meta_writer"

    def __call__(self, essay):
        self.seen.append(essay.title)
        essay.meta["n_tokens"] = len(essay.tokens)
        return essay


def test_meta_keys_added_by_the_block_are_restored_on_a_hit(tmp_path, segmenter_c):
    write(tmp_path / "in", make_texts(6))
    s = Settings(cache_dir=tmp_path / "cache")
    first = MetaWriter()
    r1 = run(tmp_path / "in", s, stages=[Cleaner(), MinLength(50), segmenter_c, first])
    assert len(first.seen) == 6
    writer = MetaWriter()
    r2 = run(tmp_path / "in", s, stages=[Cleaner(), MinLength(50), segmenter_c, writer])
    assert writer.seen == []  # everything came from the cache
    assert all(e.meta["n_tokens"] == len(e.tokens) > 0 for e in r2.essays)
    assert [e.to_dict() for e in r1.essays] == [e.to_dict() for e in r2.essays]
