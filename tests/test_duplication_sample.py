"""The demo cohort's ground truth (corpora/sample/truth.json): every copy and template relation
is found, essays outside any relation get no copy match, quotation is never copying."""
from __future__ import annotations

import json

import pytest

from conftest import ROOT, SAMPLE

from pipeline.config import Settings

TRUTH = SAMPLE / "truth.json"


@pytest.fixture(scope="module")
def sample_run():
    if not TRUTH.exists():
        pytest.skip("corpora/sample/truth.json is absent")
    from pipeline.clean import Cleaner
    from pipeline.duplication import DuplicationStage
    from pipeline.runner import MinLength, run

    settings = Settings(templates=ROOT / "corpora" / "templates",
                        policy=ROOT / "models" / "policy" / "zhengji-kaohe-notice.txt")
    stages = [Cleaner(), MinLength(settings.min_chars), DuplicationStage.from_settings(settings)]
    return run(SAMPLE, settings, stages=stages)


def _truth_entries():
    files = json.loads(TRUTH.read_text(encoding="utf-8"))["files"] if TRUTH.exists() else {}
    out = {}
    for name, v in files.items():
        subs = v.get("parts") or v.get("rows") or {}
        if subs:
            out.update(subs)
        else:
            out[name] = v
    return out


def test_every_copy_and_template_relation_is_found(sample_run):
    by_source = {e.source: e for e in sample_run.essays}
    tpl_ids = {t["source"]: t["id"] for t in sample_run.cohort["templates"]}
    missing = []
    for src, v in _truth_entries().items():
        if src not in by_source:
            continue
        e = by_source[src]
        for other in v.get("copies_from") or []:
            oid = by_source[other].id
            if not any(m.kind == "submission" and m.source_id == oid for m in e.matches):
                missing.append((src, other))
        for tpl in v.get("templates") or []:
            if not any(m.kind == "template" and m.source_id == tpl_ids[tpl] for m in e.matches):
                missing.append((src, tpl))
    assert missing == []


def test_essays_outside_any_relation_have_no_copy_match(sample_run):
    truth = _truth_entries()
    involved = set()
    for src, v in truth.items():
        if v.get("copies_from") or v.get("templates"):
            involved.add(src)
            involved.update(v.get("copies_from") or [])
    by_source = {e.source: e for e in sample_run.essays}
    wrong = {src: [(m.kind, m.source_id) for m in e.matches if m.kind in ("submission", "template")]
             for src, e in by_source.items() if src in truth and src not in involved}
    assert len(wrong) >= 10
    assert {k: v for k, v in wrong.items() if v} == {}


def test_copies_are_mostly_covered_and_quoting_the_notice_is_not_copying(sample_run):
    by_source = {e.source: e for e in sample_run.essays}
    for src in ("14_县委组织部_张某.txt", "17_医院_罗某.txt", "24_县委组织部_许某.docx"):
        assert by_source[src].copied_ratio >= 0.8, src
    assert by_source["16_乡镇_徐某.txt"].copied_ratio < 0.8  # half copied, half own text
    quoter = by_source["21_党校_韩某.txt"]
    assert quoter.copied_ratio == 0
    assert sum(1 for m in quoter.matches if m.kind == "quote" and m.source_id == "policy") >= 3
    clusters = [set(c["essays"]) for c in sample_run.cohort["clusters"]]
    trio = {by_source[s].id for s in ("01_县委组织部_王某.txt", "14_县委组织部_张某.txt",
                                      "24_县委组织部_许某.docx")}
    assert trio in clusters
