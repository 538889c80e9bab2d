"""write_all: every output, the same bytes whether pages are rendered in workers or not."""
from __future__ import annotations

import json

import pytest

import pipeline.report.html as h
from pipeline.report import results_dict, write_all
from report_fixture import sample_result


def _files(out):
    """Every output file's bytes (report.xlsx included: fixed creation date)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def test_parallel_and_sequential_outputs_are_identical(tmp_path, monkeypatch):
    r = sample_result()
    seq = write_all(r, tmp_path / "seq")
    monkeypatch.setattr(h, "PARALLEL_MIN", 1)
    r.settings.jobs = 2
    par = write_all(r, tmp_path / "par")
    assert [p.name for p in seq] == [p.name for p in par]
    assert [p.name for p in par[:5]] == ["results.json", "essays.csv", "matches.csv", "themes.csv",
                                         "report.xlsx"]
    a, b = _files(tmp_path / "seq"), _files(tmp_path / "par")
    assert sorted(a) == sorted(b) and "essays/E0002.html" in a
    assert all(a[k] == b[k] for k in a)
    assert json.loads(a["results.json"]) == results_dict(r)
    assert sorted(p.name for p in (tmp_path / "par").iterdir() if p.name.startswith(".")) == []


def test_worker_failure_leaves_no_staging_folder(tmp_path, monkeypatch):
    r = sample_result()
    monkeypatch.setattr(h, "PARALLEL_MIN", 1)
    r.settings.jobs = 2

    def boom(essay):
        raise RuntimeError("essay line failed")

    with pytest.raises(RuntimeError, match="essay line failed"):
        with h.PageRun(r, tmp_path, extra=boom) as run:
            run.results()
    assert list(tmp_path.iterdir()) == []
    assert h._PAGES is None


def test_page_run_results_in_essay_order(tmp_path):
    r = sample_result()
    run = h.PageRun(r, tmp_path, jobs=1, extra=lambda e: e.id)
    names, extras = run.results()
    assert names == ["E0001.html", "E0002.html", "E0003.html"] and extras == ["E0001", "E0002",
                                                                             "E0003"]
    paths = run.finish()
    assert paths[0].name == "index.html" and (tmp_path / "essays" / "E0003.html").exists()


def test_outputs_are_byte_identical_across_runs_including_the_workbook(tmp_path):
    import time

    a = _files_after(write_all, sample_result(), tmp_path / "a")
    time.sleep(1.1)  # a save time in the zip entries would now differ
    b = _files_after(write_all, sample_result(), tmp_path / "b")
    assert "report.xlsx" in a and a == b


def _files_after(fn, r, out):
    fn(r, out)
    return _files(out)


def test_spooled_lines_come_back_in_essay_order_and_leave_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(h, "PARALLEL_MIN", 1)
    monkeypatch.setattr(h, "_chunks", lambda n, jobs: [(0, 1), (1, 1), (1, 3)])  # incl. empty
    r = sample_result()
    with h.PageRun(r, tmp_path, jobs=2, spool=lambda e: f"{e.id}:{e.title}") as run:
        lines = list(run.spooled())
        run.finish()
    assert lines == [f"{e.id}:{e.title}" for e in r.essays]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["essays", "index.html"]


def test_a_failure_while_streaming_results_leaves_the_old_outputs(tmp_path, monkeypatch):
    import pipeline.report.results as res

    r = sample_result()
    write_all(r, tmp_path)
    before = _files(tmp_path)

    def broken(essay):
        if essay.id == "E0003":
            raise RuntimeError("encoder failed")
        return "{}"

    monkeypatch.setattr(res, "essay_line", broken)
    monkeypatch.setattr("pipeline.report.essay_line", broken, raising=False)
    with pytest.raises(RuntimeError, match="encoder failed"):
        write_all(sample_result(), tmp_path)
    assert _files(tmp_path) == before  # no temp files, no half-written results.json
