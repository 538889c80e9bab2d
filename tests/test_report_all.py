"""write_all: every output, the same bytes whether pages are rendered in workers or not."""
from __future__ import annotations

import json

import pytest

import pipeline.report.html as h
from pipeline.report import results_dict, write_all
from report_fixture import sample_result


def _files(out):
    """Every output file's bytes except report.xlsx (its zip entries carry the save time)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "report.xlsx"}


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
