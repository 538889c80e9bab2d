"""CSV (UTF-8 BOM) and XLSX tables of a run."""
from __future__ import annotations

import csv
import io

import pytest

from pipeline.report.tables import (ESSAY_COLUMNS, MATCH_COLUMNS, THEME_COLUMNS, largest_source,
                                    write_tables)
from report_fixture import sample_result


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM to show Chinese"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    out = tmp_path_factory.mktemp("tables")
    r = sample_result()
    r.essays[2].title = "=HYPERLINK(\"http://x\",\"点我\")"   # formula injection attempt
    paths = write_tables(r, out)
    return out, paths, r


def test_files_written(tables):
    out, paths, _ = tables
    assert [p.name for p in paths] == ["essays.csv", "matches.csv", "themes.csv", "report.xlsx"]


def test_essays_csv(tables):
    out, _, _ = tables
    rows = read_csv(out / "essays.csv")
    assert rows[0] == ESSAY_COLUMNS
    by_id = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert by_id["E0001"]["author"] == "张三" and by_id["E0001"]["engagement"] == "78.0"
    assert by_id["E0002"]["largest_source"] == "E0001" and by_id["E0002"]["cluster"] == "C1"
    assert by_id["E0001"]["themes"] == "people_centered political_standard result_use"
    assert by_id["E0003"]["engagement"] == "" and by_id["E0003"]["n_matches"] == "0"
    assert by_id["E0003"]["title"].startswith("'=HYPERLINK")


def test_matches_csv_has_both_sides(tables):
    out, _, r = tables
    rows = read_csv(out / "matches.csv")
    assert rows[0] == MATCH_COLUMNS
    d = [dict(zip(rows[0], x)) for x in rows[1:]]
    assert len(d) == sum(len(e.matches) for e in r.essays) == 5
    sub = next(x for x in d if x["essay_id"] == "E0002" and x["kind"] == "submission")
    assert sub["source_id"] == "E0001" and sub["source_title"] == "以考核指挥棒推动担当作为"
    assert sub["text"] == sub["source_text"] and sub["text"].startswith("一是坚持以人民为中心")
    e2 = r.by_id["E0002"]
    assert e2.text[int(sub["start"]):int(sub["end"])] == sub["text"]
    tpl = next(x for x in d if x["kind"] == "template")
    assert tpl["source_title"] == "范文：政绩考核学习心得（一）" and tpl["similarity"] == "0.91"


def test_themes_csv(tables):
    out, _, _ = tables
    rows = read_csv(out / "themes.csv")
    assert rows[0] == THEME_COLUMNS
    d = {(x[0], x[1]): dict(zip(rows[0], x)) for x in rows[1:]}
    assert len(d) == 12
    cv = d[("E0003", "correct_view")]
    assert cv["label"] == "正确政绩观" and cv["covered"] == "1" and cv["n_evidence"] == "2"
    assert "形象工程" in cv["evidence"] and " | " in cv["evidence"]
    assert d[("E0002", "political_standard")]["covered"] == "0"


def test_xlsx_has_the_same_sheets(tables):
    from openpyxl import load_workbook

    out, _, _ = tables
    wb = load_workbook(out / "report.xlsx")
    assert wb.sheetnames == ["essays", "matches", "themes", "skipped"]
    for name in ("essays", "matches", "themes"):
        csv_rows = read_csv(out / f"{name}.csv")
        xl_rows = [["" if v is None else str(v) for v in row]
                   for row in wb[name].iter_rows(values_only=True)]
        assert len(xl_rows) == len(csv_rows) and xl_rows[0] == csv_rows[0]
        assert [r[0] for r in xl_rows] == [r[0] for r in csv_rows]
    ws = wb["essays"]
    titles = [c.value for c in ws["C"]]
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in titles      # stored as text, not a formula
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert [c.value for c in wb["skipped"]["A"]][1:] == ["坏文件/扫描件.pdf",
                                                       "../evil<script>alert(1)</script>.txt"]


def test_largest_source_prefers_the_duplication_stage_field():
    r = sample_result()
    e1, e2 = r.essays[0], r.essays[1]
    assert largest_source(e2) == "E0001"                # essay.extra["largest_source"]
    assert largest_source(e1) == "E0002"                # computed from matches
    e1.extra["largest_source"] = {"source_id": "T9", "kind": "template", "ratio": 0.5}
    assert largest_source(e1) == "T9"
    assert largest_source(r.essays[2]) == ""


def test_large_workbook_keeps_per_essay_sheet_and_points_to_csv(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    import pipeline.report.tables as tables

    monkeypatch.setattr(tables, "XLSX_MAX_CELLS", 50)
    write_tables(sample_result(), tmp_path)
    wb = load_workbook(tmp_path / "report.xlsx")
    assert wb["essays"].max_row == 4
    assert wb["matches"]["A2"].value == "too large for the workbook: see matches.csv (5 rows)"
    assert len(read_csv(tmp_path / "matches.csv")) == 6        # the CSV keeps everything
