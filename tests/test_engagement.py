"""Engagement score: copies < originals, padding and length buy nothing, points add up."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipeline.engagement import EngagementConfig, EngagementScorer
from pipeline.engagement.features import extract, load_taohua, mtld, phrase_regex
from pipeline.errors import ConfigError
from pipeline.essay import Match, Span, ThemeResult

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

ORIGINAL = """学习《通知》后，我对照自己在县政务服务中心窗口的工作做了一次检视。去年下半年，我们窗口办理不动产登记平均要跑3次，群众在好差评系统里给了27条差评，其中19条说的是材料反复退回。
我牵头把退件原因逐条梳理，发现六成是因为告知单写得含糊。今年3月，我们重新制定了一次性告知清单，把14项材料配上样表，差评降到了6条。
这件事让我认识到，政绩不是汇报材料里的数字，而是群众少跑的那一趟。过去我习惯用办件量说明成绩，对群众等了多久、来了几次关注不够，这是我的短板。
下一步，我计划在年底前把告知清单推广到全中心12个窗口，每月统计一次退件率，力争降到5%以下；同时每季度回访20户办事群众，把意见写进窗口考核。"""

SHORT_CONCRETE = """我在城东街道负责低保复核。上月我和同事走访了31户，发现4户收入已超标准却仍在领取，已按程序停发；另有2户因病返贫，当天补录。对照《通知》里“群众满意”的要求，我检视自己过去只看台账、少进家门。下一步我将每月至少入户10户，年底前完成全部复核。"""

HOLLOW_PARAS = [
    "近日，中共中央组织部印发《关于改进推动高质量发展的政绩考核的通知》，为各级领导干部政绩考核指明了方向。"
    "通过学习，我深刻认识到，政绩考核是指挥棒、风向标，必须高度重视，切实加强。",
    "作为一名党员干部，我们要提高政治站位，要牢固树立正确政绩观，要贯彻新发展理念，要推动高质量发展。"
    "我们要坚持以人民为中心的发展思想，把人民群众的获得感、幸福感、安全感作为评判标准。",
    "我们要真抓实干，狠抓落实，要担当作为，干事创业，要守正创新，久久为功。空谈误国，实干兴邦。"
    "功成不必在我，功成必定有我。",
    "政绩考核是试金石，也是度量衡，更是助推器。我们必须把思想和行动统一到上级决策部署上来，"
    "做到思想上高度重视、行动上真抓实干、作风上求真务实，推动各项工作落到实处、取得实效。",
    "我们要以上率下、形成合力，要压实责任、履职尽责，要比学赶超、争先创优，"
    "以实际行动践行初心使命，做到不忘初心、牢记使命，在新时代新征程上展现新担当新作为。",
    "在今后的工作中，我将以更加饱满的热情、更加昂扬的斗志，以实际行动交出一份满意的答卷，"
    "为推动高质量发展贡献自己的力量。",
]
HOLLOW = "\n".join(HOLLOW_PARAS[:2] + HOLLOW_PARAS[-1:])
LONG_HOLLOW = "\n".join(HOLLOW_PARAS * 2)
PADDING = "\n".join(HOLLOW_PARAS[1:5])


@pytest.fixture(scope="module")
def scorer():
    return EngagementScorer(MODELS / "engagement.toml", MODELS / "taohua.txt")


def _boilerplate_matches(essay, phrases=("高度重视", "真抓实干", "狠抓落实", "担当作为", "久久为功",
                                         "形成合力", "压实责任", "履职尽责", "落到实处")):
    out = []
    for p in phrases:
        for m in re.finditer(re.escape(p), essay.text):
            out.append(Match(m.start(), m.end(), "boilerplate", f"B:{p}"))
    return out


def _score_cohort(scorer, essays, context=None):
    scorer.process(essays, {} if context is None else context)
    return [e.engagement for e in essays]


def _run_marker(essay):
    """A policy quote so duplication counts as having run even on clean essays."""
    essay.matches.append(Match(0, 2, "quote", "policy"))
    return essay


def _theme(essay, *needles):
    """Theme evidence on the sentences containing ``needles``."""
    ev = [s for s in essay.sentences if any(n in essay.span_text(s) for n in needles)]
    essay.themes["people_centered"] = ThemeResult(0.8 if ev else 0.0, ev)
    return essay


# -- core properties -----------------------------------------------------------------
def test_points_sum_to_score_and_subscores_are_complete(scorer, essay_factory):
    essays = [essay_factory(t, id=f"E000{i}") for i, t in enumerate(
        [ORIGINAL, SHORT_CONCRETE, HOLLOW, LONG_HOLLOW], 1)]
    for e in essays:
        _run_marker(_theme(e, "群众"))
    for eng in _score_cohort(scorer, essays):
        assert 0 <= eng.score <= 100
        assert abs(sum(s["points"] for s in eng.subscores.values()) - eng.score) < 0.05
        assert abs(sum(s["weight"] for s in eng.subscores.values()) - 1) < 1e-3
        for s in eng.subscores.values():
            assert 0 <= s["score"] <= 1
            assert abs(s["points"] - s["weight"] * s["score"] * 100) < 0.01
            assert isinstance(s["detail"], str) and s["detail"]
            for ev in s["evidence"]:
                assert 0 <= ev["start"] < ev["end"]
        assert 2 <= len(eng.reasons) <= 4


def test_concrete_essay_beats_hollow_one(scorer, essay_factory):
    good, bad = essay_factory(ORIGINAL, id="E0001"), essay_factory(HOLLOW, id="E0002")
    for e in (good, bad):
        _run_marker(_theme(e, "群众"))
    g, b = _score_cohort(scorer, [good, bad])
    assert g.score >= 75 > 40 >= b.score
    assert g.subscores["specificity"]["score"] > 0.9 > 0.1 > b.subscores["specificity"]["score"]
    assert any("具体" in r or "套话" in r or "本人" in r for r in b.reasons)


def test_long_hollow_scores_below_short_concrete(scorer, essay_factory):
    long_h = essay_factory(LONG_HOLLOW, id="E0001")
    short_c = essay_factory(SHORT_CONCRETE, id="E0002")
    assert len(long_h.text) > 3 * len(short_c.text)
    for e in (long_h, short_c):
        _run_marker(e)
    lh, sc = _score_cohort(scorer, [long_h, short_c])
    assert lh.score + 30 < sc.score


@pytest.mark.parametrize("base", [ORIGINAL, "\n".join(HOLLOW_PARAS[:4])])
def test_length_alone_buys_nothing(scorer, essay_factory, base):
    """Past the sanity minimum (300 chars), more of the same text scores no higher."""
    once = _run_marker(essay_factory(base, id="E0001"))
    thrice = _run_marker(essay_factory("\n".join([base] * 3), id="E0002"))
    assert len(once.text) >= 300
    a = scorer.score(once, duplication_ran=True, themes_ran=False)
    b = scorer.score(thrice, duplication_ran=True, themes_ran=False)
    assert b.score <= a.score


@pytest.mark.parametrize("with_matches", [False, True])
def test_padding_with_boilerplate_does_not_raise_score(scorer, essay_factory, with_matches):
    orig = essay_factory(ORIGINAL, id="E0001")
    padded = essay_factory(PADDING + "\n" + ORIGINAL + "\n" + HOLLOW_PARAS[-1], id="E0002")
    for e in (orig, padded):
        _run_marker(_theme(e, "群众"))
        if with_matches:
            e.matches.extend(_boilerplate_matches(e))
    o, p = (scorer.score(e, duplication_ran=True, themes_ran=True) for e in (orig, padded))
    assert p.score <= o.score - 5
    assert p.subscores["slogans"]["score"] < o.subscores["slogans"]["score"]
    assert p.subscores["specificity"]["score"] <= o.subscores["specificity"]["score"]


# -- copying --------------------------------------------------------------------------
def _copy_pair(essay_factory, copy_text=ORIGINAL):
    orig = essay_factory(ORIGINAL, id="E0001", source="a.txt")
    copy = essay_factory(copy_text, id="E0002", source="b.txt")
    n = len(orig.text)
    start = copy.text.find(orig.text[:20])
    assert start >= 0
    orig.matches.append(Match(0, n, "submission", "E0002", start, start + n, 0.98))
    copy.matches.append(Match(start, start + n, "submission", "E0001", 0, n, 0.98))
    orig.copied_ratio = 1.0
    copy.copied_ratio = n / len(copy.text)
    return orig, copy


def test_verbatim_copy_scores_below_the_original(scorer, essay_factory):
    orig, copy = _copy_pair(essay_factory)
    o, c = _score_cohort(scorer, [orig, copy])
    # same text, same features: only the copy direction (input order on a tie) separates them
    assert c.score < 20 < 75 < o.score
    assert c.subscores["originality"]["score"] == 0
    assert re.search(r"\d+% 的文字与他人（E0001）雷同", c.reasons[0])
    assert any("按提交顺序" in r for r in c.reasons)  # the basis of the verdict is said
    assert any("E0002" in r and "未扣分" in r for r in o.reasons)


def test_copy_padded_with_slogans_is_the_copier_whatever_the_order(scorer, essay_factory):
    orig, copy = _copy_pair(essay_factory, PADDING + "\n" + ORIGINAL)
    copy.id, orig.id = "E0001", "E0002"  # the copy comes first in input order
    for m in orig.matches:
        m.source_id = "E0001"
    for m in copy.matches:
        m.source_id = "E0002"
    c, o = _score_cohort(scorer, [copy, orig])
    assert c.score < o.score
    # the shared passage is all of the original, only part of the copy, and the copy comes
    # first: the copy's lower own quality (its padding) decides, so the original is excused
    assert o.subscores["originality"]["score"] > 0.9


def test_partial_copy_larger_share_is_the_copier(scorer, essay_factory):
    """Equal quality: the essay made mostly of the shared text is the copier."""
    a_text = ORIGINAL + "\n" + SHORT_CONCRETE
    orig = essay_factory(a_text, id="E0002")
    copy = essay_factory(ORIGINAL, id="E0001")
    n = len(copy.text)
    orig.matches.append(Match(0, n, "submission", "E0001", 0, n))
    copy.matches.append(Match(0, n, "submission", "E0002", 0, n))
    c, o = _score_cohort(scorer, [copy, orig])
    assert o.subscores["originality"]["score"] > 0.9 and c.subscores["originality"]["score"] == 0
    assert c.score < o.score


def test_tie_break_none_penalises_both(essay_factory):
    cfg = EngagementConfig.load(MODELS / "engagement.toml")
    cfg.params["originality"]["tie_break"] = "none"
    sc = EngagementScorer(cfg, MODELS / "taohua.txt")
    orig, copy = _copy_pair(essay_factory)
    o, c = _score_cohort(sc, [orig, copy])
    assert abs(o.score - c.score) < 0.01 and o.score < 20


def test_template_copy_is_penalised_and_named(scorer, essay_factory):
    e = essay_factory(ORIGINAL, id="E0001")
    clean = essay_factory(ORIGINAL, id="E0002")
    n = len(e.text)
    e.matches.append(Match(0, int(n * 0.72), "template", "T0001", 0, int(n * 0.72), 0.95))
    t = scorer.score(e, duplication_ran=True, themes_ran=False)
    u = scorer.score(_run_marker(clean), duplication_ran=True, themes_ran=False)
    assert t.reasons[0] == "72% 的文字与范文雷同"
    assert t.score < u.score - 40


def test_quotes_are_not_copying(scorer, essay_factory):
    e = essay_factory(ORIGINAL, id="E0001")
    e.matches.append(Match(0, len(e.text) // 2, "quote", "policy"))
    eng = scorer.score(e, duplication_ran=True, themes_ran=False)
    assert eng.subscores["originality"]["score"] == 1.0
    assert not any("雷同" in r for r in eng.reasons)


# -- degraded runs and themes ------------------------------------------------------------
def test_without_duplication_or_themes_it_says_so(scorer, essay_factory):
    e = essay_factory(ORIGINAL)
    scorer(e)  # essay-level call: no matches, no themes → both inferred as not run
    eng = e.engagement
    assert eng.subscores["originality"]["weight"] == 0
    assert eng.subscores["theme_depth"]["weight"] == 0
    assert any("未运行查重" in r for r in eng.reasons)
    assert any("未运行主题分析" in r for r in eng.reasons)
    assert abs(sum(s["points"] for s in eng.subscores.values()) - eng.score) < 0.05
    assert eng.score > 70


def test_theme_depth_needs_facts_not_mentions(scorer, essay_factory):
    good = _theme(essay_factory(ORIGINAL), "群众")
    bad = _theme(essay_factory(HOLLOW), "群众", "人民")
    g = scorer.score(good, duplication_ran=False, themes_ran=True)
    b = scorer.score(bad, duplication_ran=False, themes_ran=True)
    assert g.subscores["theme_depth"]["score"] > b.subscores["theme_depth"]["score"]
    assert b.subscores["theme_depth"]["score"] <= 0.15


# -- features ----------------------------------------------------------------------------
def test_exhortation_is_not_personal_action(essay_factory):
    slog = phrase_regex(load_taohua(MODELS / "taohua.txt"))
    f = extract(essay_factory("我们要推动工作落实，我们必须深入调研。我上周走访了12户群众，发现3户反映办事难。"), slog)
    assert [s.personal_action for s in f.sentences] == [False, True]
    assert f.sentences[1].is_specific and not f.sentences[0].is_specific
    assert f.sentences[0].is_slogan is False or f.sentences[0].slogan_hits


def test_slogans_paibi_and_metaphors(essay_factory):
    slog = phrase_regex(load_taohua(MODELS / "taohua.txt"))
    f = extract(essay_factory("要提高站位，要强化担当，要狠抓落实。政绩考核是指挥棒，也是风向标。"
                              "去年我们社区新增了3个便民服务点。"), slog)
    assert f.sentences[0].paibi and f.sentences[0].is_slogan
    assert "指挥棒" in f.sentences[1].slogan_hits and f.sentences[1].is_slogan
    assert not f.sentences[2].is_slogan


def test_commitments_concrete_vs_vague(essay_factory):
    f = extract(essay_factory("下一步，我将在年底前完成全部12个村的走访。今后我将更加努力工作。"), None)
    assert f.sentences[0].concrete_commitment
    assert f.sentences[1].commitment and not f.sentences[1].concrete_commitment


def test_mtld_penalises_repetition_not_length():
    varied = list("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥") * 1
    assert mtld(varied) > mtld(list("甲乙丙甲乙丙甲乙丙甲乙丙甲乙丙"))
    words = [f"w{i % 40}" for i in range(400)]
    assert abs(mtld(words) - mtld(words * 3)) / mtld(words) < 0.05


# -- configuration -------------------------------------------------------------------------
def test_config_file_loads_and_normalises():
    cfg = EngagementConfig.load(MODELS / "engagement.toml")
    assert abs(sum(cfg.weights.values()) - 1) < 1e-9
    assert cfg.weights["originality"] >= 0.15


@pytest.mark.parametrize("toml, needle", [
    ("[weights]\noriginality = -1\n", "≥ 0"),
    ("[weights]\nvibes = 1\n", "unknown subscores"),
    ("[weights]\noriginality = 0\n", "sum to 0"),
    ("[weights]\noriginality = 1\n[slogans]\nshare_zero = 0\n", "share_zero"),
    ("[weights]\noriginality = 1\n[originality]\ntie_break = 'coin'\n", "tie_break"),
    ("nothing = 1\n", "[weights]"),
])
def test_bad_config_raises_x120(tmp_path, toml, needle):
    p = tmp_path / "e.toml"
    p.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        EngagementConfig.load(p)
    assert ei.value.code == "X120" and needle in str(ei.value)


# -- through the real pipeline ---------------------------------------------------------------
def test_full_pipeline_copy_scores_below_original(tmp_path):
    from pipeline.config import Settings
    from pipeline.runner import default_stages, run

    settings = Settings()
    stages = default_stages(settings)
    names = [s.name for s in stages]
    assert names[-1] == "engagement"
    if "duplication" not in names:
        pytest.skip("duplication stage not registered in default_stages yet")
    (tmp_path / "a_orig.txt").write_text(ORIGINAL, encoding="utf-8")
    (tmp_path / "b_copy.txt").write_text(ORIGINAL.replace("的工作", "工作"), encoding="utf-8")
    (tmp_path / "c_short.txt").write_text(SHORT_CONCRETE, encoding="utf-8")
    (tmp_path / "d_hollow.txt").write_text(LONG_HOLLOW, encoding="utf-8")
    r = run(tmp_path, settings, stages=stages)
    by = {e.source: e.engagement for e in r.essays}
    assert by["b_copy.txt"].score < by["a_orig.txt"].score
    assert by["d_hollow.txt"].score < by["c_short.txt"].score
    assert "engagement" in r.cohort and r.cohort["engagement"]["duplication_ran"]


# -- robustness ------------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st  # noqa: E402

_ALPHABET = st.sampled_from(list("我们要在年月日村局的了是，。！？、“”《》0123456789 \n") +
                            list("走访发现差距指挥棒风向标下一步年底前完成"))


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(_ALPHABET, min_size=0, max_size=200), copied=st.floats(0, 1))
def test_any_text_scores_in_range_and_adds_up(scorer, segmenter, text, copied):
    from pipeline.essay import Essay
    from pipeline.segment import split_sentences

    e = Essay(id="E0001", source="x.txt", raw=text, text=text)
    e.sentences = split_sentences(text)
    e.tokens = segmenter.tokens(text) if text.strip() else []
    if text:
        e.matches.append(Match(0, int(len(text) * copied), "template", "T0001"))
    eng = scorer.score(e, duplication_ran=True, themes_ran=False)
    assert 0 <= eng.score <= 100
    assert abs(sum(s["points"] for s in eng.subscores.values()) - eng.score) < 0.05
    assert 2 <= len(eng.reasons) <= 4


def test_cohort_record_names_the_config_file_not_the_checkout(scorer, essay_factory):
    ctx: dict = {}
    _score_cohort(scorer, [_run_marker(essay_factory(SHORT_CONCRETE))], ctx)
    assert ctx["engagement"]["config"] == "engagement.toml"  # results.json is portable
