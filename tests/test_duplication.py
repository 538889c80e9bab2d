"""Duplication and boilerplate (issue 3): normalisation, candidates, alignment, kinds."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from pipeline.config import Settings
from pipeline.duplication import DuplicationStage
from pipeline.duplication.align import SortedHashes, align
from pipeline.duplication.classify import PhraseMatcher, df_threshold, read_policy
from pipeline.duplication.clusters import build_clusters, subtract_spans, union_length
from pipeline.duplication.fingerprint import (candidate_pairs, candidates_from_texts,
                                              kgram_hashes, winnow)
from pipeline.duplication.index import RefDoc, load_index, save_index
from pipeline.duplication.normalize import normalize
from pipeline.errors import ConfigError

from conftest import ROOT, make_essay

# Our own real-looking text (never from ../shared).
COPIED = ("去年我们在社区推行网格化管理，把辖区划成十二个网格，每个网格配一名专职网格员。"
          "网格员每天走访住户，记录独居老人的用药和就医需求，遇到急事半小时内上门。"
          "一年下来，居民打进街道的投诉电话少了三成，很多矛盾在楼道里就化解了。"
          "我体会到，政绩不在台账有多厚，而在群众的难题解决了多少。")
OWN_A = ("作为一名街道干部，我参加了这次集中学习。过去我们考核社区，主要看台账是否齐全、"
         "活动照片是否足够，干部们花了大量时间整理材料。")
OWN_B = ("我在区财政局预算科工作，对绩效评价并不陌生。这次学习让我重新思考资金使用的效果，"
         "比如一笔养老补贴到底有没有送到最需要的人手里。")
OWN_C = ("我是一名乡村教师，学校今年承担了课后服务的任务。家长最关心孩子放学后有没有人管，"
         "我们就把作业辅导、体育活动和阅读安排进课表。")
OWN_D = ("我从事税务稽查工作八年，这次通知让我反思以往只看查补税款数额的做法，"
         "以后更要看企业的合规意识有没有真正提高。")
POLICY_SENT = "增强政绩考核群众参与度，注重分析群众主观感受指标，在政绩考核中充分反映群众感受、体现群众评价。"


def essays_of(*texts):
    return [make_essay(t, id=f"E{i:04d}", source=f"{i}.txt") for i, t in enumerate(texts, 1)]


def run_stage(essays, **kw):
    stage = DuplicationStage(**kw)
    ctx: dict = {}
    stage.process(essays, ctx)
    return ctx


def kinds(e, kind):
    return [m for m in e.matches if m.kind == kind]


# -- normalisation -------------------------------------------------------------------
def test_normalize_drops_noise_filler_and_folds_synonyms():
    a = normalize("领导干部要切实把群众的事办好。")
    b = normalize("干部※要把 人民群众地事\u200b办好！")
    assert a.text == b.text == "干部要把群众事办好"


def test_normalize_index_maps_back_into_text():
    text = "近日，中共中央组织部印发了《通知》，领导干部要认真学习。"
    n = normalize(text)
    assert len(n.index) == len(n.text)
    assert n.text.startswith("近日中组部印发通知")
    assert [text[i] for c, i in zip(n.text, n.index) if c in "近日印发通知学习"] == list("近日印发通知学习")
    assert text[n.index[2]] == "中"  # a folded variant starts at its first char
    s, e = n.span(0, len(n.text))
    assert text[s:e] == text[:-1]  # everything but the final full stop


# -- fingerprints and candidates -----------------------------------------------------------
def test_kgram_hashes_are_deterministic_and_positional():
    h1, h2 = kgram_hashes("推动高质量发展推动高质量发展", 6), kgram_hashes("推动高质量发展推动高质量发展", 6)
    assert np.array_equal(h1, h2)
    assert h1[0] == h1[7] and h1[0] != h1[1]
    assert len(kgram_hashes("太短", 6)) == 0


def test_candidates_find_the_copying_pair_only():
    texts = [normalize(t).text for t in (OWN_A + COPIED, OWN_B, OWN_C + COPIED, OWN_D)]
    pairs = candidates_from_texts(texts, k=6, window=6, min_shared=3)
    assert [(i, j) for i, j, _ in pairs] == [(0, 2)]


def test_candidate_pairs_ignore_fingerprints_held_by_too_many_documents():
    common = np.array([1, 2, 3], dtype=np.uint64)
    fps = [np.r_[common, np.uint64(10 + i)] for i in range(5)]
    assert candidate_pairs(fps, min_shared=2, max_df=4) == []
    assert len(candidate_pairs(fps, min_shared=2, max_df=5)) == 10
    with pytest.raises(ValueError, match="max_df"):
        candidate_pairs(fps, max_df=1)


def test_winnow_guarantees_a_shared_fingerprint_for_long_matches():
    shared = normalize(COPIED).text[:30]
    fa = winnow(kgram_hashes(normalize(OWN_A).text + shared, 6), 6)
    fb = winnow(kgram_hashes(shared + normalize(OWN_D).text, 6), 6)
    assert len(np.intersect1d(fa, fb)) >= 1


# -- alignment ------------------------------------------------------------------------
def _align(a, b, **kw):
    na, nb = normalize(a), normalize(b)
    return na, nb, align(SortedHashes(kgram_hashes(na.text, 6)),
                         SortedHashes(kgram_hashes(nb.text, 6)), k=6, **kw)


def test_reordered_sentences_come_back_as_one_passage():
    sents = [s + "。" for s in COPIED.split("。") if s]
    shuffled = "".join([sents[2], sents[0], sents[3], sents[1]])
    na, nb, ps = _align(OWN_A + shuffled + OWN_B, OWN_C + COPIED + OWN_D)
    assert len(ps) == 1
    p = ps[0]
    assert p.a_len >= 0.95 * len(normalize(COPIED).text)


def test_shared_title_sentence_alone_is_not_a_passage():
    title = "学习政绩考核通知的心得体会。"  # 13 chars
    _, _, ps = _align(OWN_A + title + OWN_B, OWN_C + title + OWN_D)
    assert ps == []


# -- the stage: submission / quote / boilerplate / template -------------------------------------
def test_shared_passage_shows_on_both_sides_with_source_offsets():
    es = essays_of(OWN_A + COPIED, OWN_B, OWN_C + "\n" + COPIED + OWN_D)
    ctx = run_stage(es)
    a, c = es[0], es[2]
    ma, mc = kinds(a, "submission"), kinds(c, "submission")
    assert len(ma) == len(mc) == 1
    assert ma[0].source_id == "E0003" and mc[0].source_id == "E0001"
    assert a.text[ma[0].start:ma[0].end] == COPIED
    assert c.text[ma[0].source_start:ma[0].source_end] == COPIED
    assert ma[0].extra["source_text"] == COPIED
    assert ma[0].extra["source_order_hint"] == "later_in_input"
    assert mc[0].extra["source_order_hint"] == "earlier_in_input"
    assert a.copied_ratio == pytest.approx(len(COPIED) / len(a.text), abs=0.01)
    assert a.extra["largest_source"]["id"] == "E0003"
    assert a.extra["largest_source"]["kind"] == "submission"
    assert es[1].copied_ratio == 0 and es[1].extra["largest_source"] is None
    assert ctx["clusters"] == [] or ctx["clusters"][0]["essays"] == ["E0001", "E0003"]


def test_near_identical_essays_form_a_cluster():
    es = essays_of(OWN_A + COPIED, OWN_A + COPIED.replace("干部", "领导干部"), OWN_D)
    ctx = run_stage(es)
    assert [c["essays"] for c in ctx["clusters"]] == [["E0001", "E0002"]]
    assert ctx["clusters"][0]["pairs"][0]["similarity"] > 0.9


def test_policy_quotation_is_quote_never_copying():
    es = essays_of(OWN_A + "通知要求，“" + POLICY_SENT + "”" + OWN_B,
                   OWN_C + POLICY_SENT + OWN_D)
    run_stage(es, policy_text="# 注释行\n" + POLICY_SENT)
    for e in es:
        assert kinds(e, "submission") == []
        assert e.copied_ratio == 0
        q = kinds(e, "quote")
        assert q and q[0].source_id == "policy"
    q = kinds(es[0], "quote")[0]
    assert es[0].text[q.start] == "“" and es[0].text[q.end - 1] == "”"  # widened to the quotation


def test_curated_quotation_is_found_inside_quotes():
    es = essays_of(OWN_A + "古人说：“知屋漏者在宇下，知政失者在草野。”" + OWN_B)
    run_stage(es, quotes=["知屋漏者在宇下，知政失者在草野"])
    q = kinds(es[0], "quote")
    assert len(q) == 1 and q[0].source_id == "Q001"
    assert es[0].text[q[0].start:q[0].end] == "“知屋漏者在宇下，知政失者在草野。”"


def test_cohort_stock_sentence_is_boilerplate_not_copying():
    lead = "近日，上级印发关于改进干部考核工作的通知，要求各单位结合实际抓好贯彻落实。"
    bodies = [OWN_A, OWN_B, OWN_C, OWN_D]
    es = essays_of(*[lead + b for b in bodies])
    ctx = run_stage(es)
    assert all(kinds(e, "submission") == [] for e in es)
    assert all(e.copied_ratio == 0 for e in es)
    assert ctx["boilerplate"][0]["df"] == 4
    assert "上级印发关于改进干部考核工作的通知" in ctx["boilerplate"][0]["text"]
    assert all(kinds(e, "boilerplate") for e in es)


def test_curated_taohua_is_boilerplate():
    es = essays_of(OWN_A + "在今后的工作中，我将以更加饱满的热情交出一份满意的答卷。")
    ctx = run_stage(es, taohua=["交出一份满意的答卷", "高度重视"])
    bp = kinds(es[0], "boilerplate")
    assert [es[0].text[m.start:m.end] for m in bp] == ["交出一份满意的答卷"]
    assert ctx["boilerplate"] == [{"id": bp[0].source_id, "text": "交出一份满意的答卷", "df": 1}]


def test_template_match_points_into_the_template_text():
    tpl = RefDoc("T0001", "范文一", "tpl.txt", OWN_D + COPIED)
    es = essays_of(OWN_A + COPIED, OWN_B)
    ctx = run_stage(es, templates=[tpl])
    m = kinds(es[0], "template")
    assert len(m) == 1 and m[0].source_id == "T0001"
    assert tpl.text[m[0].source_start:m[0].source_end] == COPIED
    assert m[0].extra["source_title"] == "范文一"
    assert ctx["templates"] == [{"id": "T0001", "title": "范文一", "source": "tpl.txt"}]
    assert es[0].extra["largest_source"]["kind"] == "template"


def test_traditional_copy_is_found_after_cleaning():
    import opencc

    trad = opencc.OpenCC("s2t").convert(COPIED)
    assert trad != COPIED
    es = essays_of(OWN_A + COPIED, OWN_B + trad)  # make_essay cleans (t2s)
    run_stage(es)
    m = kinds(es[1], "submission")
    assert len(m) == 1 and m[0].end - m[0].start >= 0.95 * len(COPIED)


def test_stage_validates_its_arguments():
    with pytest.raises(ValueError, match="min_density"):
        DuplicationStage(min_density=0)
    with pytest.raises(ValueError, match="min_len"):
        DuplicationStage(min_len=3, k=6)


# -- inputs: policy, index, settings -------------------------------------------------------
def test_policy_comments_are_dropped_and_empty_policy_is_an_error(tmp_path):
    p = tmp_path / "policy.txt"
    p.write_text("# 标题注释\n" + POLICY_SENT + "\n", encoding="utf-8")
    assert read_policy(p) == POLICY_SENT
    p.write_text("# 只有注释\n\n", encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        read_policy(p)
    assert ei.value.code == "X130"


def test_index_roundtrip_and_bad_index(tmp_path):
    docs = [RefDoc("T0001", "范文", "a.txt", OWN_A + COPIED)]
    out = save_index(docs, tmp_path / "ref.idx")
    assert load_index(out) == docs
    bad = tmp_path / "bad.idx"
    bad.write_bytes(gzip.compress(json.dumps({"format": "other"}).encode()))
    with pytest.raises(ConfigError) as ei:
        load_index(bad)
    assert ei.value.code == "X105"
    (tmp_path / "junk.idx").write_text("not gzip", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_index(tmp_path / "junk.idx")


def test_cli_index_then_run_with_index(tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import cli

    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "范文.txt").write_text("范文标题\n\n" + OWN_D + COPIED + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["index", str(tpl), "--out", str(tmp_path / "ref.idx")])
    assert res.exit_code == 0, res.output
    settings = Settings(index=tmp_path / "ref.idx")
    stage = DuplicationStage.from_settings(settings)
    assert [t.id for t in stage.templates] == ["T0001"]
    es = essays_of(OWN_A + COPIED)
    stage.process(es, {})
    assert kinds(es[0], "template")[0].source_id == "T0001"
    res = CliRunner().invoke(cli, ["index", str(tmp_path / "missing"), "--out",
                                   str(tmp_path / "x.idx")])
    assert res.exit_code == 2


def test_from_settings_reads_repo_lists_and_policy():
    s = Settings(policy=ROOT / "models" / "policy" / "zhengji-kaohe-notice.txt")
    stage = DuplicationStage.from_settings(s)
    assert len(stage.quotes) >= 30 and len(stage.taohua) >= 50
    assert stage.policy_text and not stage.policy_text.startswith("#")


# -- helpers ----------------------------------------------------------------------------
def test_span_helpers_and_thresholds():
    assert union_length([(0, 5), (3, 8), (10, 12)]) == 10
    assert subtract_spans([(0, 10)], [(2, 4), (8, 20)]) == [(0, 2), (4, 8)]
    assert df_threshold(10) == 3 and df_threshold(1000) == 20 and df_threshold(2) == 3
    assert build_clusters([("E2", "E1", 0.9), ("E3", "E4", 0.2)]) == [
        {"id": "C1", "essays": ["E1", "E2"], "pairs": [{"a": "E1", "b": "E2", "similarity": 0.9}]}]
    pm = PhraseMatcher(["高度重视", "推动高质量发展"], min_len=4)
    hits = pm.find(normalize("我们要高度重视，推动高质量发展。"))
    assert [i for _, _, i in hits] == [0, 1]


def test_empty_cohort_and_degenerate_essays():
    stage = DuplicationStage(policy_text=POLICY_SENT, quotes=["为政之要，首在得人"],
                             taohua=["交出一份满意的答卷"])
    ctx: dict = {}
    stage.process([], ctx)
    assert ctx == {"boilerplate": [], "clusters": [], "templates": []}
    es = essays_of("短", "English only 2024", OWN_A)
    stage.process(es, ctx)
    assert all(e.matches == [] and e.copied_ratio == 0 for e in es)
    assert all(e.extra["largest_source"] is None for e in es)


def test_source_repeating_itself_gives_one_match_to_the_copied_region():
    # the source states the copied passage, then repeats part of it later
    src = OWN_B + COPIED + OWN_C + COPIED[40:100] + OWN_D
    es = essays_of(OWN_A + COPIED, src)
    run_stage(es)
    m = kinds(es[0], "submission")
    assert len(m) == 1
    assert es[1].text[m[0].source_start:m[0].source_end] == COPIED


def test_notice_name_from_the_policy_comment_is_quote(tmp_path):
    p = tmp_path / "policy.txt"
    p.write_text("# 《关于改进干部考核工作的通知》要点摘录\n" + POLICY_SENT + "\n", encoding="utf-8")
    stage = DuplicationStage.from_settings(Settings(policy=p))
    es = essays_of(OWN_A + "学习《关于改进干部考核工作的通知》，" + OWN_B)
    stage.process(es, {})
    q = kinds(es[0], "quote")
    assert len(q) == 1 and q[0].source_id == "policy"
    assert "关于改进干部考核工作的通知" in es[0].text[q[0].start:q[0].end]
