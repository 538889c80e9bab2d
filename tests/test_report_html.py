"""HTML report: cohort index and per-essay pages, escaping, self-containment."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.essay import Essay
from pipeline.report import write_all
from pipeline.report.html import page_name, script_json, write_html
from pipeline.runner import RunResult
from report_fixture import HOSTILE, HOSTILE_ATTR, sample_result


class _Tags(HTMLParser):
    """Collect start tags and the text inside each <script>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = (dict(attrs), [])

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script[0], "".join(self._in_script[1])))
            self._in_script = None


def parse(path: Path) -> _Tags:
    p = _Tags()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    paths = write_html(sample_result(), out)
    return out, paths


def test_writes_index_and_one_page_per_essay(report):
    out, paths = report
    assert paths[0] == out / "index.html"
    assert sorted(p.name for p in paths[1:]) == ["E0001.html", "E0002.html", "E0003.html"]
    assert all(p.parent == out / "essays" for p in paths[1:])


def test_index_shows_counts_table_charts_topics_clusters_skipped(report):
    out, _ = report
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "心得体会分析报告" in html
    assert re.search(r'id="n-essays">3<', html) and re.search(r'id="n-skipped">2<', html)
    # E0002 (44% copied, score 31, cluster) and E0001 (cluster C1) are flagged; E0003 is not
    assert re.search(r'id="n-flagged">2<', html)
    rows = re.findall(r'<tr data-i="\d+" data-id="(E\d+)" data-flagged="(\d)"', html)
    assert rows == [("E0001", "1"), ("E0002", "1"), ("E0003", "0")]
    assert 'data-v="78.00"' in html and 'data-v="31.00"' in html     # sortable scores
    assert '<a href="essays/E0001.html">E0001</a> <span class="src">以考核指挥棒推动担当作为' in html
    # heatmap: 3 essays × 4 profile themes, labelled in Chinese
    assert html.count('class="cell"') == 12 and "考核结果运用" in html
    assert "E0003 · 正确政绩观: 0.90" in html
    # histogram: scores 78 and 31 land in bins 70–80 and 30–40
    assert re.findall(r'data-count="(\d+)"', html) == ["0", "0", "0", "1", "0", "0", "0", "1", "0", "0"]
    assert "群众工作" in html and "其中办证难的问题在三个月内整改到位" in html  # topic + example
    assert "占 62%" in html
    assert 'id="cluster-C1"' in html and "E0001 ↔ E0002 (41%)" in html
    assert "坏文件/扫描件.pdf" in html and "PDF 没有文字层" in html


def test_untrusted_text_stays_text(report):
    out, _ = report
    for name in ("index.html", "essays/E0001.html", "essays/E0002.html"):
        html = (out / name).read_text(encoding="utf-8")
        p = parse(out / name)
        assert "<script>alert" not in html and "<img" not in html and "onerror=alert(1)>" not in html
        assert not any(t == "img" for t, _ in p.tags)
        assert not any(k.startswith("on") for _, a in p.tags for k in a)
        # every <script> is ours: data blocks or the one page script
        for attrs, body in p.scripts:
            assert "alert(1)" not in body or attrs.get("type") == "application/json"
    page = (out / "essays" / "E0002.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_script_json_cannot_close_the_script_block():
    s = script_json({"t": "</script><!-- " + HOSTILE + " \u2028 & >"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(str(s)) == {"t": "</script><!-- " + HOSTILE + " \u2028 & >"}


def test_self_contained_with_csp_hash_of_the_page_script(report):
    out, _ = report
    for name in ("index.html", "essays/E0001.html"):
        html = (out / name).read_text(encoding="utf-8")
        p = parse(out / name)
        csp = next(a["content"] for t, a in p.tags if t == "meta"
                   and a.get("http-equiv") == "Content-Security-Policy")
        assert "default-src 'none'" in csp and "connect-src" not in csp
        code = [b for a, b in p.scripts if "type" not in a]
        assert len(code) == 1
        digest = base64.b64encode(hashlib.sha256(code[0].encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1]
        # nothing is fetched: no src/href to another host, no CSS url()/@import
        assert not re.search(r"(src|href)=\"(https?:)?//", html)
        assert "url(" not in html and "@import" not in html and "<link" not in html
        assert not any(t in ("iframe", "object", "embed", "img") for t, _ in p.tags)


def test_essay_page_highlights_sources_and_scores(report):
    out, _ = report
    html = (out / "essays" / "E0002.html").read_text(encoding="utf-8")
    for kind in ("submission", "template", "boilerplate", "theme"):
        assert f"k-{kind}" in html
    assert "抄自其他提交 (1)" in html and "与范文雷同 (1)" in html and "引用（不计雷同） (0)" in html
    p = parse(out / "essays" / "E0002.html")
    data = json.loads(next(b for a, b in p.scripts if a.get("id") == "ann-data"))
    sub = next(d for d in data if d["kind"] == "submission")
    assert sub["source_id"] == "E0001" and sub["href"].startswith("E0001.html#c")
    assert sub["source_text"].startswith("一是坚持以人民为中心") and sub["source_title"] == "以考核指挥棒推动担当作为"
    tpl = next(d for d in data if d["kind"] == "template")
    assert tpl["source_title"] == "范文：政绩考核学习心得（一）" and "践行初心使命" in tpl["source_text"]
    assert next(d for d in data if d["kind"] == "theme")["theme"] == "以人民为中心"
    # each highlight points at annotations that exist
    refs = {int(r) for _, a in p.tags if "data-a" in a for r in a["data-a"].split()}
    assert refs == set(range(len(data)))
    # engagement: points per sub-score and their sum
    assert "+8.0" in html and "-5.0" in html and "31.0" in html and "原创性" in html
    assert "41% 的文字与他人雷同" in html and "无个人行动承诺&lt;script&gt;" in html
    assert '<a href="../index.html">' in html and 'href="E0003.html"' in html  # back + next


def test_quote_and_evidence_links_on_first_essay(report):
    out, _ = report
    html = (out / "essays" / "E0001.html").read_text(encoding="utf-8")
    assert "k-quote" in html and "引用（不计雷同） (1)" in html
    assert "《关于改进推动高质量发展的政绩考核的通知》" in html
    assert re.search(r'data-jump="\d+">以人民为中心</a>', html)       # theme → its evidence


def test_missing_analysis_fields_degrade_gracefully(tmp_path):
    text = "学习通知后，我认识到考核是指挥棒。我们单位今年要把群众评价纳入平时考核。"
    e = Essay(id="E0001", source="a.txt", raw=text, text=text)
    r = RunResult([e], [], Settings(), "", 1)
    paths = write_html(r, tmp_path)
    idx = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "所有文件均已分析" in idx and "未发现雷同组" in idx
    assert 'id="heatmap"' not in idx and 'id="hist"' not in idx and 'id="topics"' not in idx
    page = paths[1].read_text(encoding="utf-8")
    assert "未计算投入度得分" in page and "未计算主题" in page and text in page
    assert 'class="hl' not in page


def test_english_ui(tmp_path):
    write_html(sample_result(lang="en"), tmp_path)
    idx = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in idx and "Study-reflection essay report" in idx
    assert "Skipped files" in idx and "文章一览" not in idx
    page = (tmp_path / "essays" / "E0002.html").read_text(encoding="utf-8")
    assert "copied from a submission (1)" in page and "Engagement score" in page
    assert '<tr data-key="originality"><td>originality' in page and "原创性" not in page


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/abs/x", "a/b", "..", "E 1", "名字", ""])
def test_page_names_never_leave_the_essays_folder(bad):
    name = page_name(bad)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.html", name)
    assert page_name("E0001") == "E0001.html"


def test_write_all_keeps_every_path_inside_out(tmp_path):
    r = sample_result()
    r.essays[0].id = "../../escape"
    r.essays[0].source = "../../escape.txt"
    out = tmp_path / "out"
    paths = write_all(r, out)
    for p in paths:
        assert p.resolve().is_relative_to(out.resolve())
    assert {p.name for p in paths} >= {"results.json", "essays.csv", "matches.csv", "themes.csv",
                                      "report.xlsx", "index.html", "E0002.html"}
    assert not (tmp_path / "escape.html").exists()


def test_large_cohort_caps_table_and_heatmap_flagged_first(tmp_path, monkeypatch):
    import pipeline.report.html as h

    monkeypatch.setattr(h, "INDEX_MAX_ROWS", 2)
    monkeypatch.setattr(h, "HEATMAP_MAX_ROWS", 1)
    r = sample_result()
    r.cohort["clusters"] = []            # now only E0002 is flagged
    paths = write_html(r, tmp_path)
    idx = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<tr data-i="\d+" data-id="(E\d+)"', idx) == ["E0001", "E0002"]
    assert "表中列出 2 / 3 篇" in idx and "仅显示 1 / 3 篇" in idx
    assert idx.count('class="cell"') == 4 and "E0002 · 以人民为中心" in idx
    assert len(paths) == 4                # every essay still gets its page


def test_rewrite_replaces_pages_and_parallel_output_is_identical(tmp_path, monkeypatch):
    import pipeline.report.html as h

    out = tmp_path / "out"
    write_html(sample_result(), out)
    (out / "essays" / "E0999.html").write_text("stale", encoding="utf-8")
    seq = {p.name: p.read_bytes() for p in (out / "essays").iterdir()}
    monkeypatch.setattr(h, "PARALLEL_MIN", 1)
    r = sample_result()
    write_html(r, out, jobs=2)
    par = {p.name: p.read_bytes() for p in (out / "essays").iterdir()}
    assert sorted(par) == ["E0001.html", "E0002.html", "E0003.html"]     # stale page gone
    assert all(par[k] == seq[k] for k in par)
    assert sorted(p.name for p in out.iterdir()) == ["essays", "index.html"]  # no staging left


def test_theme_evidence_carries_the_cues_found_in_it(report):
    out, _ = report
    p = parse(out / "essays" / "E0003.html")
    data = json.loads(next(b for a, b in p.scripts if a.get("id") == "ann-data"))
    cues = [d["cues"] for d in data if d["kind"] == "theme" and d["theme"] == "正确政绩观"]
    assert cues == [["形象工程", "唯GDP"], ["显绩"]]      # only cues inside each sentence


def test_index_caps_by_the_flagged_first_rule():
    import random

    from pipeline.report.html import _cap

    def old_rule(flags, limit):  # the rule as first written: a sort over every item
        if len(flags) <= limit:
            return list(range(len(flags)))
        return sorted(sorted(range(len(flags)), key=lambda i: (not flags[i], i))[:limit])

    rng = random.Random(7)
    for n in (0, 1, 5, 40):
        for limit in (0, 1, 3, 10, 50):
            flags = [rng.random() < 0.3 for _ in range(n)]
            assert _cap(flags, limit) == old_rule(flags, limit)


def test_index_builds_rows_only_for_listed_essays(monkeypatch):
    """A large cohort keeps a flag per essay, not a table row (parent memory)."""
    import pipeline.report.html as h

    monkeypatch.setattr(h, "INDEX_MAX_ROWS", 2)
    calls = []
    orig = h._Cohort.largest
    monkeypatch.setattr(h._Cohort, "largest", lambda self, e, prefix="": (
        calls.append(e.id), orig(self, e, prefix))[1])
    ctx = h._index_context(h._Cohort(sample_result(), "zh"))
    assert [r["id"] for r in ctx["rows"]] == calls and len(calls) == 2
    assert ctx["n_all"] == 3
