"""The demo cohort in corpora/sample/ is what its README and truth.json say it is."""
from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.runner import load

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpora" / "sample"
TEMPLATES = ROOT / "corpora" / "templates"
POLICY = ROOT / "models" / "policy" / "zhengji-kaohe-notice.txt"
COMPILED = "25_党支部_学习资料.txt"
HEAD2 = "学习《关于改进推动高质量发展的政绩考核的通知》心得体会二"
HEAD3 = "学习《关于改进推动高质量发展的政绩考核的通知》心得体会三"
NOT_INPUT = {"README.md", "truth.json"}
_HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def loaded():
    root, n_files, essays, skipped = load(SAMPLE, Settings())
    return n_files, {e.source: e for e in essays}, skipped


@pytest.fixture(scope="module")
def truth():
    return json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))["files"]


@pytest.fixture(scope="module")
def cleaned(loaded):
    from pipeline.clean import clean_text

    return {src: clean_text(e.raw).text for src, e in loaded[1].items()}


def _han_ratio(text: str) -> float:
    return len(_HAN.findall(text)) / max(1, sum(1 for c in text if not c.isspace()))


def _shingles(text: str, k: int = 5) -> set[str]:
    s = "".join(_HAN.findall(text))
    return {s[i:i + k] for i in range(len(s) - k + 1)}


def _containment(a: str, b: str) -> float:
    """Share of ``a``'s 5-char shingles that also occur in ``b``."""
    sa = _shingles(a)
    return len(sa & _shingles(b)) / max(1, len(sa))


def _all_entries(truth):
    for name, e in truth.items():
        yield name, e
        for key in ("parts", "rows"):
            yield from e.get(key, {}).items()


# -- the cohort as a whole -----------------------------------------------------
def test_load_reads_the_cohort(loaded, truth):
    n_files, essays, skipped = loaded
    assert n_files == len(truth) == 26
    assert len(essays) >= 20
    assert len(essays) == 29
    assert all(_han_ratio(e.raw) > 0.7 for e in essays.values())


def test_truth_lists_every_file_and_nothing_else(truth):
    on_disk = {p.name for p in SAMPLE.iterdir() if p.is_file() and p.name not in NOT_INPUT}
    assert on_disk == set(truth)
    templates = {p.name for p in TEMPLATES.glob("*.txt")}
    for name, e in _all_entries(truth):
        assert set(e["copies_from"]) <= set(truth), name
        assert set(e["templates"]) <= templates, name
        q = e["expected_quality"]
        assert q is None or q in (1, 2, 3, 4, 5), name


def test_every_essay_has_a_truth_entry(loaded, truth):
    entries = dict(_all_entries(truth))
    for src in loaded[1]:
        assert src in entries, src
        assert entries[src]["class"] not in ("compiled", "table", "broken"), src


def test_readme_and_truth_files_are_not_inputs(loaded):
    sources = {s.split("#", 1)[0] for s in loaded[1]} | {s.source for s in loaded[2]}
    assert not sources & NOT_INPUT


def test_class_quotas(truth):
    classes = [e["class"] for _, e in _all_entries(truth)]
    assert classes.count("genuine") >= 7
    assert classes.count("hollow") >= 5
    assert classes.count("template-padded") >= 3
    assert sum(1 for e in truth.values() if e["class"] == "copy") >= 3
    assert [e["class"] for e in truth.values()].count("compiled") == 1


def test_single_essays_are_600_to_1800_chars(loaded, truth):
    for src, e in loaded[1].items():
        if "#" in src:
            continue
        n = sum(1 for c in e.raw if not c.isspace())
        assert 600 <= n <= 1800, (src, n)
        assert e.title, src


# -- formats and encodings -----------------------------------------------------
def test_gbk_file_decodes(loaded):
    assert not (SAMPLE / "22_发改委_郑某.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    e = loaded[1]["22_发改委_郑某.txt"]
    assert e.meta["encoding"].lower().replace("_", "") in ("gbk", "gb18030", "gb2312", "cp936")
    assert "不简单以地区生产总值及增长率论英雄" in e.raw


def test_utf16_file_decodes(loaded):
    assert (SAMPLE / "23_审计局_冯某.txt").read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    e = loaded[1]["23_审计局_冯某.txt"]
    assert e.meta["encoding"].lower().startswith("utf-16")
    assert e.title == "审计发现的问题要进考核"
    assert "经济责任审计" in e.raw


def test_docx_file_decodes(loaded):
    e = loaded[1]["24_县委组织部_许某.docx"]
    assert e.title == "考核要做在平时——学习政绩考核通知体会"
    assert "实绩档案" in e.raw and _han_ratio(e.raw) > 0.8


def test_csv_rows_are_submissions(loaded, truth):
    rows = {s: e for s, e in loaded[1].items() if s.startswith("26_柳溪镇_心得汇总.csv#")}
    assert set(rows) == set(truth["26_柳溪镇_心得汇总.csv"]["rows"])
    for src, e in rows.items():
        assert len(e.raw) >= 150, src
        assert e.meta["author"] and e.meta["unit"].startswith("柳溪镇")
    assert rows["26_柳溪镇_心得汇总.csv#row2"].meta["author"] == "石磊"


def test_traditional_copy_normalises_to_its_source(cleaned):
    raw = (SAMPLE / "17_医院_罗某.txt").read_text(encoding="utf-8")
    assert "醫院" in raw and "医院" not in raw
    text = cleaned["17_医院_罗某.txt"]
    assert "医院" in text and "醫院" not in text
    assert _containment(text, cleaned["05_医院_周某.txt"]) > 0.85


# -- the compiled file ---------------------------------------------------------
def test_compiled_file_splits_into_three(loaded):
    parts = {s: e for s, e in loaded[1].items() if s.startswith(COMPILED)}
    assert sorted(parts) == [f"{COMPILED}#{k}" for k in (1, 2, 3)]
    first, second, third = (parts[f"{COMPILED}#{k}"] for k in (1, 2, 3))
    assert first.title.replace(" ", "") == "以实绩论英雄用考核促担当"
    assert first.raw.startswith("政绩考核是干部干事创业的指挥棒")
    assert HEAD2 in second.meta["headings"]
    assert third.title == HEAD3
    assert third.raw.startswith("“为政之要，莫先于得人。”")
    for e in parts.values():  # headings never leak into the neighbouring body
        assert HEAD2 not in e.raw and HEAD3 not in e.raw and "【篇" not in e.raw
    raw = (SAMPLE / COMPILED).read_text(encoding="utf-8")
    assert "……此处隐藏部分文章内容……" in raw
    assert any(line.endswith("。" + HEAD2) for line in raw.splitlines())


def test_compiled_second_essay_keeps_its_first_line(loaded):
    second = loaded[1][f"{COMPILED}#2"]
    assert second.title == HEAD2
    assert second.raw.startswith("政绩考核是引领干部队伍建设的重要抓手")


# -- broken input --------------------------------------------------------------
def test_broken_docx_is_skipped_with_its_name(loaded):
    skipped = loaded[2]
    assert [s.source for s in skipped] == ["损坏的文件.docx"]
    s = skipped[0]
    assert s.code == "X006"
    assert "损坏的文件.docx" in s.reason


# -- copies and templates really are what truth.json says ----------------------
def test_copies_overlap_their_sources(cleaned, truth):
    expect = {"near-verbatim": 0.6, "reordered": 0.6, "partial": 0.4, "traditional": 0.8}
    for name, e in truth.items():
        if e["class"] != "copy":
            continue
        src = e["copies_from"][0]
        text = cleaned[name]
        assert _containment(text, cleaned[src]) > expect[e["copy_kind"]], name
    row4 = cleaned["26_柳溪镇_心得汇总.csv#row4"]
    assert _containment(row4, cleaned["07_乡镇_吴某.txt"]) > 0.7


def test_template_padded_lift_template_paragraphs(cleaned, truth):
    tpl = {p.name: p.read_text(encoding="utf-8") for p in TEMPLATES.glob("*.txt")}
    for name, e in _all_entries(truth):
        if e["class"] != "template-padded":
            continue
        for t in e["templates"]:
            paras = [x for x in tpl[t].splitlines()[1:] if len(x) >= 60]
            best = max(_containment(x, cleaned[name]) for x in paras)
            assert best > 0.85, (name, t, best)  # at least one paragraph lifted whole


def test_genuine_essays_are_not_copies_of_each_other(cleaned, truth):
    genuine = sorted(n for n, e in truth.items() if e["class"] == "genuine")
    assert len(genuine) >= 7
    for a, b in combinations(genuine, 2):
        assert _containment(cleaned[a], cleaned[b]) < 0.15, (a, b)


def test_quotes_of_the_notice_are_in_the_policy_excerpt():
    lines = POLICY.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#")
    body = [x for x in lines[1:] if x.strip()]
    assert 15 <= len(body) <= 30
    policy = "".join(body)
    for name in ("02_街道办_李某.txt", "21_党校_韩某.txt"):
        text = (SAMPLE / name).read_text(encoding="utf-8")
        quoted = [q.rstrip("。") for q in re.findall(r"“([^”]{12,})”", text)
                  if re.search("考核|政绩|干部|群众|高质量", q)]  # not the classical sayings
        assert quoted, name
        for q in quoted:
            assert q in policy, (name, q)
