"""The HTML report in a real browser: headless Chromium over the DevTools protocol.

Loads the report from file://, checks the rendered DOM (highlights, table sort
after a real mouse click, side panel, no console errors, hostile essay text
shown as text and never executed) and saves screenshots in the test's tmp dir.
Skipped when Chromium is not installed (.ci/run installs Debian's chromium).
"""
from __future__ import annotations

import pytest

from cdp import Browser, find_chromium
from pipeline.report import write_all
from report_fixture import sample_result

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser-report")
    write_all(sample_result(), d)
    return d


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if not binary:
        pytest.skip("chromium not installed (apt-get install chromium)")
    b = Browser(binary)
    yield b
    b.close()


def _scores(b):
    return b.eval("Array.from(document.querySelectorAll('#essays tbody tr'))"
                  ".map(r => r.getAttribute('data-id'))")


def test_index_renders_sorts_and_filters(browser, out, tmp_path):
    b = browser
    n0 = len(b.events)
    b.goto((out / "index.html").as_uri())
    assert b.eval("document.title").startswith("心得体会分析报告")
    assert b.eval("document.getElementById('n-essays').textContent") == "3"
    assert _scores(b) == ["E0001", "E0002", "E0003"]
    # a real click on the 得分 (score) header sorts descending, a second click ascending
    b.click("#essays th[data-col=score]")
    assert _scores(b) == ["E0001", "E0002", "E0003"]        # 78, 31, — (no score last)
    assert b.eval("document.querySelector('#essays th[data-col=score]').className") == "num desc"
    b.click("#essays th[data-col=score]")
    assert _scores(b) == ["E0003", "E0002", "E0001"]
    b.click("#essays th[data-col=copied]")                  # 雷同率: 44% first
    assert _scores(b)[0] == "E0002"
    b.click("#only-flagged")
    visible = b.eval("Array.from(document.querySelectorAll('#essays tbody tr'))"
                     ".filter(r => !r.hidden).map(r => r.getAttribute('data-id'))")
    assert sorted(visible) == ["E0001", "E0002"]
    assert b.eval("document.getElementById('n-shown').textContent") == "2"
    # charts rendered as SVG with real geometry
    assert b.eval("document.querySelectorAll('svg.heat rect.cell').length") == 12
    assert b.eval("document.querySelector('svg.hist').getBBox().width") > 100
    # hostile essay text is visible as text and nothing it contains ran
    body = b.eval("document.body.innerText")
    assert "<script>alert(1)</script>" in body and '"><img src=x onerror=alert(1)>' in body
    assert b.eval("document.images.length") == 0
    assert not [e for e in b.events[n0:] if e["method"] == "Page.javascriptDialogOpening"]
    assert b.console_errors() == []
    shot = b.screenshot(tmp_path / "index.png", full_page=True)
    assert shot.stat().st_size > 20_000


def test_essay_page_highlights_and_side_panel(browser, out, tmp_path):
    b = browser
    n0 = len(b.events)
    b.goto((out / "essays" / "E0002.html").as_uri())
    counts = b.eval("['submission','template','boilerplate','theme'].map("
                    "k => document.querySelectorAll('#text .hl.k-' + k).length)")
    assert all(c >= 1 for c in counts), counts
    # the highlighted background really is painted (CSS applied)
    bg = b.eval("getComputedStyle(document.querySelector('#text .top-submission')).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    b.click("#text .hl.k-submission")
    panel = b.eval("document.getElementById('panel-body').innerText")
    assert "抄自其他提交" in panel and "E0001" in panel and "来源原文" in panel
    assert panel.count("群众满意度从78%提高到93%") >= 2       # this essay | source, side by side
    href = b.eval("document.querySelector('#panel-body a').getAttribute('href')")
    assert href.startswith("E0001.html#c")
    b.screenshot(tmp_path / "essay.png")
    # following the link lands on the source passage in the source essay's page
    b.goto((out / "essays" / href.split("#")[0]).as_uri() + "#" + href.split("#")[1])
    active = b.eval("(document.querySelector('#text .hl.active')||{}).textContent || ''")
    assert active.startswith("一是坚持以人民为中心")
    b.goto((out / "essays" / "E0002.html").as_uri())
    assert b.eval("document.images.length") == 0
    assert "<script>alert(1)</script>" in b.eval("document.getElementById('text').innerText")
    assert not [e for e in b.events[n0:] if e["method"] == "Page.javascriptDialogOpening"]
    assert b.console_errors() == []


def test_evidence_link_marks_unhighlighted_text(browser, out):
    b = browser
    b.goto((out / "essays" / "E0001.html").as_uri())
    b.click("#subscores tr[data-key=commitments] details summary")
    b.click("#subscores tr[data-key=commitments] a[data-jump]")
    marked = b.eval("(document.querySelector('#text mark.jump')||{}).textContent || ''")
    assert marked.startswith("下一步我将在6月底前建立科室平时考核台账")
    # the text itself is unchanged by the marking
    assert b.eval("document.getElementById('text').textContent").endswith("每月通报一次。")
    assert b.console_errors() == []


def test_console_errors_are_detected(browser, tmp_path):
    """The check above can fail: a page with a broken script reports an error."""
    p = tmp_path / "broken.html"
    p.write_text("<!DOCTYPE html><html><body><script>undefinedFunction()</script></body></html>",
                 encoding="utf-8")
    n = len(browser.events)
    browser.goto(p.as_uri())
    errs = [e for e in browser.events[n:] if e["method"] == "Runtime.exceptionThrown"]
    assert errs
