"""The runner: stage composition, per-essay failure isolation, ids and sources."""
from __future__ import annotations

from pipeline.config import Settings
from pipeline.essay import Essay
from pipeline.runner import MinLength, load, run, run_stages

TEXT = ("我们局今年把“好差评”差评率纳入科室年度考核，差评超过三次的窗口负责人年底不能评优。"
        "半年下来，差评从每月二十多条降到了六条。")


class Boom:
    name = "boom"

    def __call__(self, essay):
        if "炸" in essay.raw:
            raise RuntimeError("stage bug")
        essay.extra["seen"] = True
        return essay


class CountCohort:
    name = "count"
    scope = "cohort"

    def process(self, essays, context):
        context["count"] = len(essays)


def test_one_failing_essay_does_not_stop_the_run():
    essays = [Essay("E0001", "a.txt", TEXT), Essay("E0002", "b.txt", "炸" + TEXT),
              Essay("E0003", "c.txt", TEXT)]
    skipped, ctx = [], {}
    kept = run_stages(essays, [Boom(), CountCohort()], ctx, skipped=skipped)
    assert [e.id for e in kept] == ["E0001", "E0003"]
    assert skipped[0].source == "b.txt" and skipped[0].code == "X999"
    assert "stage bug" in skipped[0].reason
    assert ctx["count"] == 2


def test_min_length_skips_tiny_essays():
    e = Essay("E0001", "tiny.txt", "好", text="好")
    skipped = []
    assert run_stages([e], [MinLength(50)], skipped=skipped) == []
    assert skipped[0].code == "X012" and "tiny.txt" in skipped[0].reason


def test_compiled_file_sources_are_numbered(tmp_path):
    (tmp_path / "合集.txt").write_text("【篇一】\n" + TEXT + "\n【篇二】\n" + TEXT.replace("局", "所"),
                                     encoding="utf-8")
    (tmp_path / "单篇.txt").write_text(TEXT, encoding="utf-8")
    root, n_files, essays, skipped = load(tmp_path, Settings())
    assert n_files == 2 and not skipped
    assert [(e.id, e.source) for e in essays] == [
        ("E0001", "单篇.txt"), ("E0002", "合集.txt#1"), ("E0003", "合集.txt#2")]
    assert essays[1].source_offset == len("【篇一】\n")


def test_run_end_to_end_offsets_valid(tmp_path):
    (tmp_path / "a.txt").write_text("标题\n" + TEXT * 2, encoding="utf-8")
    res = run(tmp_path, Settings())
    e = res.essays[0]
    e.check_offsets()
    assert e.title == "标题" and len(e.sentences) == 4
    assert e.raw[e.raw_offset(e.sentences[1].start)] == "半"


def test_overlong_essay_is_skipped_before_costly_stages(tmp_path):
    (tmp_path / "ok.txt").write_text(TEXT * 2, encoding="utf-8")
    (tmp_path / "huge.txt").write_text(TEXT * 3000, encoding="utf-8")  # ~200k chars, no headings
    res = run(tmp_path, Settings(max_chars=100_000))
    assert [e.source for e in res.essays] == ["ok.txt"]
    assert res.skipped[0].source == "huge.txt" and res.skipped[0].code == "X017"
    assert "xinde split" in res.skipped[0].reason


def test_failing_cohort_stage_is_recorded_not_fatal():
    class Broken:
        name = "broken"
        scope = "cohort"

        def process(self, essays, context):
            raise ValueError("model did not converge")

    essays = [Essay("E0001", "a.txt", TEXT, text=TEXT)]
    ctx = {}
    kept = run_stages(essays, [Broken(), CountCohort()], ctx)
    assert kept == essays and ctx["count"] == 1
    assert ctx["stage_errors"] == [{"stage": "broken", "error": "ValueError: model did not converge"}]


def test_load_reads_in_workers_with_the_same_result(tmp_path):
    """From MIN_PARALLEL files on, --jobs 2 reads files in forked workers: same essays,
    same order, same skipped entries (an empty and a binary file among them)."""
    from pipeline.parallel import MIN_PARALLEL

    body = "今年以来，我所在的街道把群众评价引入考核，第{}次走访收集了意见。"
    for i in range(MIN_PARALLEL + 6):
        (tmp_path / f"{i:03d}.txt").write_text(body.format(i) * 3, encoding="utf-8")
    (tmp_path / "030.txt").write_bytes(b"")
    (tmp_path / "040.txt").write_bytes(b"\x00\x01\x02binary\xff" * 20)
    one = load(tmp_path, Settings(jobs=1))
    two = load(tmp_path, Settings(jobs=2))
    assert one[1] == two[1] == MIN_PARALLEL + 6
    assert [(e.id, e.source, e.raw) for e in one[2]] == [(e.id, e.source, e.raw) for e in two[2]]
    assert [s.to_dict() for s in one[3]] == [s.to_dict() for s in two[3]]
    assert {s.source for s in two[3]} == {"030.txt", "040.txt"}


def test_load_falls_back_to_reading_in_process_when_a_worker_dies(tmp_path, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    import pipeline.parallel
    from pipeline.parallel import MIN_PARALLEL

    body = "今年以来，我所在的街道把群众评价引入考核，第{}次走访收集了意见。"
    for i in range(MIN_PARALLEL + 2):
        (tmp_path / f"{i:03d}.txt").write_text(body.format(i) * 3, encoding="utf-8")

    def dies(fn, items, jobs, chunk_size=0):
        raise BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(pipeline.parallel, "map_shared", dies)
    root, n_files, essays, skipped = load(tmp_path, Settings(jobs=2))
    assert n_files == len(essays) == MIN_PARALLEL + 2 and not skipped
