"""Saved reference index (issue 7): format, round trip, lazy candidates, bad files."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from pipeline.config import Settings
from pipeline.duplication import DuplicationStage
from pipeline.duplication.index import (INDEX_FORMAT, RefDoc, ReferenceIndex, TemplateLibrary,
                                        load_index, save_index, update_index)
from pipeline.errors import ConfigError

from conftest import make_essay

# Our own real-looking text (never from ../shared).
PASSAGE_1 = ("我们村把集体经济收入的使用情况每季度张榜公布，村民可以逐笔核对，"
             "有疑问的当场由村监委会解释。两年来村里再没有出现过因账目不清引发的上访，"
             "群众说现在心里亮堂了。")
PASSAGE_2 = ("医院推行一站式出院结算以后，病人家属不用再拿着单据在三个窗口之间来回排队，"
             "平均结算时间从四十分钟缩短到八分钟，护士也能把更多精力放在病床边。")
PASSAGE_3 = ("在防汛一线值守的二十多个夜晚，我和同事们逐户排查低洼地带的危房，"
             "提前转移了六十多名老人，这段经历让我明白干部的分量在关键时刻才看得出来。")
FILLERS = [
    "这篇范文谈的是基层减负，强调少开会、开短会，把时间还给一线干部。",
    "这篇范文讲营商环境，介绍了企业开办一日办结和涉企检查清单制度。",
    "这篇范文写乡村学校的课后服务，讲到志愿者和退休教师的参与。",
    "这篇范文写社区养老食堂，讲到助餐补贴和配送到户的做法。",
    "这篇范文写河长制落实，讲到巡河记录和水质月报公开。",
]
OWN_A = "我在乡镇党政办工作，这次学习使我对考核导向有了新的认识。"
OWN_B = "作为卫健系统的一名科员，我想结合本职谈谈体会。"


def _templates():
    docs = [RefDoc(f"T{i:04d}", f"范文{i}", f"tpl_{i}.txt", t)
            for i, t in enumerate(FILLERS[:2] + [FILLERS[2] + PASSAGE_1] + FILLERS[3:]
                                  + [PASSAGE_2 + FILLERS[0][:10]], 1)]
    return docs  # T0003 holds PASSAGE_1, T0006 holds PASSAGE_2


def _essays():
    return [make_essay(OWN_A + PASSAGE_1 + "我们镇也要学这个办法。", id="E0001", source="1.txt"),
            make_essay(OWN_B + PASSAGE_2, id="E0002", source="2.txt"),
            make_essay(OWN_B + PASSAGE_3, id="E0003", source="3.txt")]


def _run(templates, essays=None, **kw):
    es = essays or _essays()
    ctx: dict = {}
    DuplicationStage(templates, **kw).process(es, ctx)
    return es, ctx


def test_save_then_load_round_trip(tmp_path):
    docs = _templates()
    out = save_index(docs, tmp_path / "ref.idx")
    assert load_index(out) == docs
    idx = ReferenceIndex(out)
    assert len(idx) == len(docs) and (idx.k, idx.window) == (6, 6)
    assert np.all(np.diff(idx.fp_hash.astype(np.uint64)) >= 0)  # sorted for searchsorted
    assert isinstance(idx.fp_hash, np.memmap)
    assert set(np.asarray(idx.fp_doc).tolist()) == set(range(len(docs)))
    assert idx.texts_ == {}  # opening decodes no text
    odd = save_index([RefDoc("范文甲", "甲", "a.txt", PASSAGE_3)], tmp_path / "odd.idx")
    lib = TemplateLibrary(ReferenceIndex(odd), [RefDoc("x", "乙", "b.txt", PASSAGE_2)])
    assert lib.contexts() == [{"id": "T0001", "title": "甲", "source": "a.txt"},
                              {"id": "T0002", "title": "乙", "source": "b.txt"}]
    assert [d.id for d in lib] == ["T0001", "T0002"] and lib[1].text == PASSAGE_2


def test_index_gives_the_same_matches_as_templates_given_directly(tmp_path):
    docs = _templates()
    direct, ctx_direct = _run(docs)
    lib = TemplateLibrary(ReferenceIndex(save_index(docs, tmp_path / "ref.idx")))
    via_index, ctx_index = _run(lib)
    assert [e.to_dict() for e in via_index] == [e.to_dict() for e in direct]
    # with an index, the run lists only the reference documents the cohort shares text
    # with (a 100k index is not copied into every results.json) and says how many it holds
    ctx_index = dict(ctx_index)
    assert ctx_index.pop("templates_in_index") == len(docs)
    listed, full = ctx_index.pop("templates"), ctx_direct.pop("templates")
    assert ctx_index == ctx_direct
    assert [t["id"] for t in full] == [d.id for d in docs]
    assert listed == [t for t in full if t["id"] in {"T0003", "T0006"}]
    tm = [m for m in via_index[0].matches if m.kind == "template"]
    assert [m.source_id for m in tm] == ["T0003"]
    assert docs[2].text[tm[0].source_start:tm[0].source_end].startswith("我们村把集体经济")
    assert [m.source_id for m in via_index[1].matches if m.kind == "template"] == ["T0006"]
    assert not [m for m in via_index[2].matches if m.kind == "template"]
    used = {m.source_id for e in via_index for m in e.matches if m.kind == "template"}
    assert used <= {t["id"] for t in listed}


def test_a_check_decodes_only_candidate_documents(tmp_path):
    idx = ReferenceIndex(save_index(_templates(), tmp_path / "ref.idx"))
    es = [make_essay(OWN_A + PASSAGE_1, id="E0001", source="1.txt")]
    DuplicationStage(TemplateLibrary(idx)).process(es, {})
    assert sorted(idx.texts_) == [2]  # T0003 only: the one sharing text with the essay
    assert [m.source_id for m in es[0].matches if m.kind == "template"] == ["T0003"]
    idx2 = ReferenceIndex(tmp_path / "ref.idx")
    DuplicationStage(TemplateLibrary(idx2)).process(
        [make_essay(OWN_B + PASSAGE_3, id="E0001", source="1.txt")], {})
    assert idx2.texts_ == {}


def test_library_numbers_index_documents_before_folder_documents(tmp_path):
    docs = _templates()
    save_index(docs[:3], tmp_path / "ref.idx")
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "范文.txt").write_text("医院结算改革\n\n" + PASSAGE_2 + "\n", encoding="utf-8")
    stage = DuplicationStage.from_settings(Settings(index=tmp_path / "ref.idx", templates=folder))
    assert [t.id for t in stage.templates] == ["T0001", "T0002", "T0003", "T0004"]
    es = _essays()
    ctx: dict = {}
    stage.process(es, ctx)
    assert [m.source_id for m in es[0].matches if m.kind == "template"] == ["T0003"]
    assert [m.source_id for m in es[1].matches if m.kind == "template"] == ["T0004"]
    # index documents the cohort shares text with, then every folder document
    assert [t["id"] for t in ctx["templates"]] == ["T0003", "T0004"]
    assert ctx["templates"][-1] == {"id": "T0004", "title": "医院结算改革", "source": "范文.txt"}
    assert ctx["templates_in_index"] == 3


def test_lookup_skips_fingerprints_held_by_many_documents(tmp_path):
    shared = "坚持以人民为中心的发展思想，把群众满意作为检验工作的根本标准。"
    docs = [RefDoc(f"T{i:04d}", "", "", shared + f) for i, f in enumerate(FILLERS, 1)]
    idx = ReferenceIndex(save_index(docs, tmp_path / "ref.idx"))
    from pipeline.duplication.fingerprint import kgram_hashes
    from pipeline.duplication.normalize import normalize

    h = kgram_hashes(normalize(shared).text, 6)
    docs_, found, others = idx.lookup(h, max_df=3)
    assert len(docs_) == 0 and others.max() == 5  # stock sentence in all 5: not a candidate
    assert set(found.tolist()) <= set(h.tolist())
    docs_, found, others = idx.lookup(h, max_df=64)
    assert docs_.tolist() == [0, 1, 2, 3, 4] and not others.any()
    docs_, _, others = idx.lookup(h[:8], max_df=64, min_hits=50)
    assert len(docs_) == 0 and others.max() == 5


@pytest.mark.parametrize("content", [
    gzip.compress(json.dumps({"format": "xinde.index/1", "n_docs": 0, "docs": []}).encode()),
    b"not an index at all",
    b"",
])
def test_old_or_invalid_index_is_a_clear_error(tmp_path, content):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(content)
    with pytest.raises(ConfigError) as ei:
        ReferenceIndex(bad)
    assert ei.value.code == "X105"
    assert str(bad) in str(ei.value) and "xinde index" in str(ei.value)


def test_truncated_or_tampered_index_is_a_clear_error(tmp_path):
    out = save_index(_templates(), tmp_path / "ref.idx")
    data = out.read_bytes()
    (tmp_path / "cut.idx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError) as ei:
        ReferenceIndex(tmp_path / "cut.idx")
    assert ei.value.code == "X105" and "past the end" in str(ei.value)
    (tmp_path / "fmt.idx").write_bytes(data.replace(INDEX_FORMAT.encode(), b"xinde.index/9"))
    with pytest.raises(ConfigError, match="xinde.index/2"):
        ReferenceIndex(tmp_path / "fmt.idx")
    with pytest.raises(ConfigError) as ei:
        ReferenceIndex(tmp_path / "missing.idx")
    assert ei.value.code == "X105"


@pytest.mark.parametrize("cand_max_df", [2, 3, 64])
def test_stock_fingerprints_count_left_out_documents(tmp_path, cand_max_df):
    """A fingerprint held by many library documents is ignored as if all were loaded."""
    stock = "各级党组织要把学习贯彻通知精神同推动当前工作结合起来，确保取得实效。"
    docs = [RefDoc(f"T{i:04d}", f"范文{i}", "", stock + f) for i, f in enumerate(FILLERS, 1)]
    docs.append(RefDoc("T0006", "范文6", "", stock + PASSAGE_2))

    def essays():
        return [make_essay(OWN_A + stock + PASSAGE_1, id="E0001", source="1.txt"),
                make_essay(OWN_B + stock + PASSAGE_2, id="E0002", source="2.txt"),
                make_essay(OWN_B + stock + PASSAGE_1, id="E0003", source="3.txt")]

    direct, ctx_direct = _run(docs, essays(), cand_max_df=cand_max_df)
    idx = ReferenceIndex(save_index(docs, tmp_path / "ref.idx"))
    via_index, ctx_index = _run(TemplateLibrary(idx), essays(), cand_max_df=cand_max_df)
    assert [e.to_dict() for e in via_index] == [e.to_dict() for e in direct]
    drop = ("templates", "templates_in_index")
    assert ({k: v for k, v in ctx_index.items() if k not in drop}
            == {k: v for k, v in ctx_direct.items() if k not in drop})
    assert len(idx.texts_) == (len(docs) if cand_max_df >= len(docs) else 1)  # only T0006
    assert [t["id"] for t in ctx_index["templates"]] == sorted(
        f"T{i + 1:04d}" for i in idx.texts_)  # the documents the cohort was compared with


def test_update_appends_only_new_documents(tmp_path):
    docs = _templates()
    out = save_index(docs[:4], tmp_path / "ref.idx")
    more = [RefDoc("X1", "范文4", "tpl_4.txt", docs[3].text)] + docs[4:]
    assert update_index(out, more) == len(docs) - 4
    assert load_index(out) == docs  # ids continue after the held documents
    assert update_index(out, docs) == 0
    whole = ReferenceIndex(save_index(docs, tmp_path / "whole.idx"))
    upd = ReferenceIndex(out)
    for name in ("fp_hash", "fp_doc", "fp_pos"):
        assert np.array_equal(getattr(upd, name), getattr(whole, name))


def test_cli_index_update_adds_new_essays(tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import cli

    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "a.txt").write_text("村务公开\n\n" + FILLERS[2] + PASSAGE_1 + "\n", encoding="utf-8")
    out = tmp_path / "ref.idx"
    res = CliRunner().invoke(cli, ["index", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    (folder / "b.txt").write_text("出院结算\n\n" + PASSAGE_2 + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["index", str(folder), "--out", str(out), "--update"])
    assert res.exit_code == 0, res.output
    assert [(d.id, d.title) for d in load_index(out)] == [("T0001", "村务公开"), ("T0002", "出院结算")]
    out.write_bytes(b"junk")
    res = CliRunner().invoke(cli, ["index", str(folder), "--out", str(out), "--update"])
    assert res.exit_code == 2 and "X105" in res.output
