"""Profile themes: TOML loading/validation, cue matching and per-sentence evidence."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.themes.cues import CueMatcher, mask_titles
from pipeline.themes.detect import ThemeDetector
from pipeline.themes.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "models" / "profiles" / "zhengji-kaohe.toml"
REQUIRED = {"people_centered", "political_standard", "result_use", "correct_view", "development",
            "assessment_methods", "supervision", "capability_action"}

ESSAY = (
    "学习《关于改进推动高质量发展的政绩考核的通知》的体会\n"
    "一、把群众满意作为标尺\n"
    "我在街道负责民生实事项目，过去考核看的是开工了几个项目、花了多少钱。"
    "今年我们请居民代表参与项目验收，群众评价不满意的项目一律不算完成。\n"
    "二、突出政治标准\n"
    "考核干部首先要看政治上强不强，看是否做到“两个维护”，是否在急难险重任务中经得住考验。\n"
    "三、用好考核结果\n"
    "我们把考核结果和干部选拔任用挂钩，去年有两名干部因考核排名靠后被调整岗位，真正做到能上能下。\n"
)


@pytest.fixture(scope="module")
def detector():
    return ThemeDetector("zhengji-kaohe")


def test_builtin_profile_has_required_themes_with_chinese_labels():
    p = load_profile("zhengji-kaohe")
    assert REQUIRED <= set(p.theme_ids)
    for t in p.themes:
        assert any("\u4e00" <= c <= "\u9fff" for c in t.label), t.id
        assert t.description and t.positive()


def test_unknown_profile_is_x103():
    with pytest.raises(ConfigError) as e:
        load_profile("no-such-profile")
    assert e.value.code == "X103" and "zhengji-kaohe" in str(e.value)


@pytest.mark.parametrize("body, needle", [
    ('id = "x"\nlabel = "测试"\n[[themes]]\nid = "Bad-Id"\nlabel = "甲"\n[themes.terms]\n"甲" = 1\n',
     "lower-case"),
    ('id = "x"\nlabel = "测试"\n[[themes]]\nid = "a"\nlabel = "甲"\n[themes.patterns]\n\'(未闭合\' = 1\n',
     "regular expression"),
    ('id = "x"\nlabel = "测试"\n[[themes]]\nid = "a"\nlabel = "甲"\n[themes.terms]\n"甲" = "高"\n',
     "must be a number"),
    ('id = "x"\nlabel = "测试"\n[[themes]]\nid = "a"\nlabel = "甲"\n', "no positive cues"),
    ('id = "x"\nlabel = "测试"\n[[themes]]\nid = "a"\nlabel = "甲"\ncolour = 1\n[themes.terms]\n"甲" = 1\n',
     "unknown key"),
    ('id = "x"\nlabel = 测试\n', "TOML syntax error"),
    ('id = "x"\nlabel = "测试"\n', "no themes"),
])
def test_invalid_profile_is_x102_naming_file_and_fix(tmp_path, body, needle):
    f = tmp_path / "bad.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_profile(str(f))
    msg = str(e.value)
    assert e.value.code == "X102" and str(f) in msg and needle in msg
    assert "zhengji-kaohe.toml" in msg  # points to the example format


def test_mask_titles_keeps_length():
    s = "学习《关于改进推动高质量发展的政绩考核的通知》后，我们推动高质量发展。"
    m = mask_titles(s)
    assert len(m) == len(s) and "政绩考核" not in m and m.endswith("推动高质量发展。")


def test_cue_matcher_counts_nested_cue_once():
    p = load_profile("zhengji-kaohe")
    hits = CueMatcher(p).hits("要牢固树立正确政绩观。")
    kept, _ = hits["correct_view"]
    assert [h.cue.text for h in kept] == ["正确政绩观"]
    assert (kept[0].start, kept[0].end) == (5, 10)


def test_evidence_sentences_and_offsets(essay_factory, detector):
    e = detector(essay_factory(ESSAY))
    assert set(e.themes) == set(detector.profile.theme_ids)  # every theme, zero ones too
    for tid in ("people_centered", "political_standard", "result_use"):
        r = e.themes[tid]
        assert 0 < r.score <= 1 and r.evidence, tid
        assert r.extra["n_sentences"] == len(r.evidence)
        assert r.extra["label"] == detector.profile.theme(tid).label
    texts = {tid: [e.text[s.start:s.end] for s in r.evidence] for tid, r in e.themes.items()}
    assert any("群众评价" in t for t in texts["people_centered"])
    assert any("两个维护" in t for t in texts["political_standard"])
    assert any("能上能下" in t for t in texts["result_use"])
    # headings (short lines without 。) are never evidence, though they name the theme
    for tid, ts in texts.items():
        assert not any(t.startswith(("一、", "二、", "三、")) for t in ts), (tid, ts)
    assert e.themes["supervision"].score == 0 and e.themes["supervision"].evidence == []
    e.check_offsets()
    d = e.to_dict()["themes"]["result_use"]
    assert d["label"] == "考核结果运用" and d["evidence"][0]["end"] > d["evidence"][0]["start"]


def test_slogan_list_and_notice_name_are_not_evidence(essay_factory, detector):
    slogans = ("我们要坚持以人民为中心、两个维护、能上能下、正确政绩观、新发展理念、"
               "从严监督、担当作为。")
    name_only = "近日，我认真学习了《关于改进推动高质量发展的政绩考核的通知》。"
    real = "我们把群众满意度调查结果纳入对社区干部的年度考核，群众评价占到三成。"
    e = detector(essay_factory(slogans + "\n" + name_only + "\n" + real))
    ev = {e.text[s.start:s.end] for r in e.themes.values() for s in r.evidence}
    assert slogans not in ev
    assert name_only not in ev
    assert real in ev
    decs = detector.decisions(e)
    assert decs[0].excluded == "slogan_list"
    assert decs[1].scores.get("development", 0) == 0  # 高质量发展 inside 《》 is masked


def test_notice_name_without_brackets_is_not_development(detector):
    d = detector.decide("学习关于改进推动高质量发展的政绩考核的通知，我有三点体会。")
    assert "development" not in d.themes(detector.profile)
    d2 = detector.decide("我们要完整准确全面贯彻新发展理念，推动高质量发展。")
    assert "development" in d2.themes(detector.profile)


def test_coverage_saturates(detector):
    one, three, ten = (detector.coverage([1.0] * n) for n in (1, 3, 10))
    assert 0.3 < one < three < ten < 1.0
    assert detector.coverage([]) == 0.0
    assert detector.coverage([50.0]) == detector.coverage([2.0])  # one sentence is capped


def test_edited_profile_copy_changes_detection(tmp_path, essay_factory):
    """A reviewer edits a copy of the profile: detection follows the file."""
    text = "我们推行“街巷吹哨、部门报到”机制，接到的事情当天就有人上门处理。"
    base = ThemeDetector("zhengji-kaohe")
    assert base(essay_factory(text)).themes["people_centered"].evidence == []
    edited = tmp_path / "my-campaign.toml"
    shutil.copy(PROFILE, edited)
    src = edited.read_text(encoding="utf-8").replace(
        '[themes.terms]\n"以人民为中心" = 1.0',
        '[themes.terms]\n"街巷吹哨" = 1.0\n"以人民为中心" = 1.0', 1)
    # and the reviewer drops 能上能下 from result_use
    src = src.replace('"能上能下" = 1.0\n', "", 1)
    edited.write_text(src, encoding="utf-8")
    det = ThemeDetector(str(edited))
    e = det(essay_factory(text))
    assert len(e.themes["people_centered"].evidence) == 1
    r = det.decide("干部要能上能下。")
    assert "result_use" not in r.themes(det.profile)
    assert "result_use" in base.decide("干部要能上能下。").themes(base.profile)


def test_detector_results_serialise(essay_factory, detector):
    e = detector(essay_factory(ESSAY))
    d = json.loads(json.dumps(e.to_dict(), ensure_ascii=False))
    assert set(d["themes"]) >= REQUIRED
    assert all(set(v) >= {"score", "evidence", "label", "n_sentences"} for v in d["themes"].values())


def test_context_carries_partial_sentence_next_to_evidence(essay_factory, detector):
    text = ("我们请居民代表给社区干部打分，群众评价直接计入年度考核。"
            "有位老人说，居民的事情总算有人听了。\n\n"
            "有位老人说，居民的事情总算有人听了。")
    e = detector(essay_factory(text))
    ev = [(s.start, e.text[s.start:s.end]) for s in e.themes["people_centered"].evidence]
    # the second sentence (居民 only: 0.5) follows evidence → carried; the same
    # sentence alone in another block is not evidence
    assert len(ev) == 2 and ev[1][1].startswith("有位老人说")
    assert ev[1][0] < text.index("\n\n")


LABELS = ROOT / "tests" / "data" / "theme_labels.jsonl"


@pytest.mark.skipif(not LABELS.exists() or not (ROOT / "corpora" / "calibration").exists(),
                    reason="theme labels / calibration essays absent")
def test_key_themes_macro_f1_against_labels(detector):
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from eval_themes import halves, load_labels, predict_labelled, prf

    pairs, unmatched = predict_labelled(detector, load_labels(LABELS))
    assert unmatched == 0
    dev, held = halves(pairs)
    ids = detector.profile.theme_ids
    # measured: 0.885 (dev, even files) / 0.857 (held-out, odd files) / 0.872 (all)
    assert prf(pairs, ids)["_macro_f1_key3"] >= 0.84
    assert prf(held, ids)["_macro_f1_key3"] >= 0.82
    assert prf(dev, ids)["_macro_f1_key3"] >= 0.84


# -- one pass per essay (hits_in_spans / decisions) gives the per-sentence results --
CROSS_PROFILE = """id = "cross"
label = "测试"
[[themes]]
id = "a"
label = "甲"
[themes.terms]
"群众" = 1.0
"满意" = 0.5
[themes.patterns]
'群众.{0,8}满意' = 1.0
'满意.{0,12}考核' = 1.0
'^要' = 0.5
'(?<!不)满意' = 0.5
'考核\\b' = 0.5
[[themes]]
id = "b"
label = "乙"
[themes.terms]
"考核" = 1.0
[themes.patterns]
'考核[^。]{0,3}' = 0.5
'(?:结果)?运用' = 1.0
"""


def _per_sentence(matcher, text, spans):
    return [matcher.hits(text[s.start:s.end]) for s in spans]


def test_scan_safe_only_for_patterns_that_look_at_nothing_but_their_chars():
    from pipeline.themes.cues import _scan_safe
    import re

    assert _scan_safe(re.compile("群众.{0,8}(满意|评价)"))
    assert _scan_safe(re.compile("(?:结果)?运用[^。]{0,3}"))
    for p in ("^要", "要$", "(?<!不)满意", "满意(?=度)", r"考核\b", r"(群众)\1", "a*", "(?>ab)c",
              "x*+y"):
        assert not _scan_safe(re.compile(p)), p


def test_hits_in_spans_equals_hits_per_sentence(tmp_path):
    from pipeline.segment import split_sentences

    f = tmp_path / "cross.toml"
    f.write_text(CROSS_PROFILE, encoding="utf-8")
    m = CueMatcher(load_profile(str(f)))
    # matches that cross sentence edges (群众。…满意 / 满意。…考核), anchors and
    # lookbehinds that see different things in the sentence and in the essay
    text = ("要让群众。满意的是考核\n要把考核。结果运用好，不满意就整改。群众很满意\n\n"
            "考核结果。运用到位。满意度高，考核。") * 3
    spans = split_sentences(text)
    assert len(spans) > 10
    assert m.hits_in_spans(text, spans) == _per_sentence(m, text, spans)
    # a subset of sentences (gaps between spans) and no sentences at all
    assert m.hits_in_spans(text, spans[1::3]) == _per_sentence(m, text, spans[1::3])
    assert m.hits_in_spans(text, []) == []


def test_hits_in_spans_with_the_builtin_profile(detector):
    from pipeline.segment import split_sentences

    text = ESSAY + "群众。满意度调查纳入考核，群众评价占三成。要让有为者有位。\n" * 2
    spans = split_sentences(text)
    m = detector.matcher
    got = m.hits_in_spans(text, spans)
    assert got == _per_sentence(m, text, spans)
    assert sum(bool(g) for g in got) >= 5


def test_decisions_equal_decide_per_sentence(essay_factory, detector):
    e = essay_factory(ESSAY + "近日学习了《关于改进推动高质量发展的政绩考核\n的通知》。"
                      "我们要坚持以人民为中心、两个维护、能上能下、正确政绩观。\n  一是要强化考核结果运用。")
    decs = detector.decisions(e)
    one = [detector.decide(e.text[d.span.start:d.span.end],
                           detector.is_heading(e.text, d.span), d.span) for d in decs]
    assert [(d.excluded, d.scores, d.hits) for d in decs] == \
        [(d.excluded, d.scores, d.hits) for d in one]
    assert {d.excluded for d in decs} >= {"heading", "slogan_list", "topic_line", ""}


@pytest.mark.parametrize("text, span, expected", [
    ("标题\n正文。", (0, 2), True),
    ("  \u3000标题\n正文。", (3, 5), True),
    ("正文。\n  标题  \n正文。", (6, 8), True),
    ("正文。标题\n", (3, 5), False),
    ("正文。\n标题，接着", (4, 6), False),
    ("\r标题\n", (1, 3), True),
])
def test_is_heading_line_edges(detector, text, span, expected):
    from pipeline.essay import Span

    assert detector.is_heading(text, Span(*span)) is expected
