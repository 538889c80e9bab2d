"""Segmentation: sentences and words with checked char offsets, private jieba state."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.segment import Segmenter, check_userdict, split_sentences

TEXT = ("习近平总书记指出：“民心是最大的政治。”我们要把群众满意度作为考核的重要内容！"
        "怎样才算树立了正确政绩观？\n二、坚持两个维护\n我们支部今年组织了12次专题学习")


def test_sentences_end_with_closing_quotes_and_lines():
    spans = split_sentences(TEXT)
    sents = [TEXT[s.start:s.end] for s in spans]
    assert sents == ["习近平总书记指出：“民心是最大的政治。”", "我们要把群众满意度作为考核的重要内容！",
                     "怎样才算树立了正确政绩观？", "二、坚持两个维护", "我们支部今年组织了12次专题学习"]


def test_tokens_align_and_domain_terms_stay_whole(segmenter):
    toks = segmenter.tokens(TEXT + "提升获得感，贯彻新发展理念。")
    words = [t.text for t in toks]
    for term in ("正确政绩观", "两个维护", "获得感", "新发展理念"):
        assert term in words, term
    full = TEXT + "提升获得感，贯彻新发展理念。"
    assert all(full[t.start:t.end] == t.text for t in toks)
    assert "".join(words) == "".join(full.split())


def test_stage_fills_essay_and_offsets_check(essay_factory):
    e = essay_factory("我们社区把“好差评”结果用于网格员年度考核。去年共有3名网格员因差评被约谈。")
    assert len(e.sentences) == 2
    e.check_offsets()
    assert e.text[e.sentences[1].start:e.sentences[1].end].startswith("去年")


def test_segmenter_does_not_touch_global_jieba(segmenter):
    import jieba

    assert segmenter.jieba is not jieba.dt
    assert segmenter.jieba.FREQ.get("两个维护") and not jieba.dt.FREQ.get("两个维护")
    assert segmenter.cut("一些干部政绩观错位")[-2:] == ["政绩观", "错位"]


def test_bad_userdict_is_reported_with_line(tmp_path):
    p = tmp_path / "dict.txt"
    p.write_text("政绩观 100 n\n获得感 很多 n\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        check_userdict(p)
    assert e.value.code == "X107" and "line 2" in str(e.value)


def test_segmenter_pickles_for_workers(segmenter):
    import pickle

    s2 = pickle.loads(pickle.dumps(segmenter))
    assert s2.cut("树立正确政绩观") == segmenter.cut("树立正确政绩观")


def test_token_texts_fast_path_matches_tokens(segmenter):
    from pipeline.segment import token_texts

    text = "我们街道今年收集居民评价1200条，整改差评43条。"
    toks = segmenter.tokens(text)
    assert token_texts(toks) == [t.text for t in toks]
    assert token_texts(list(toks)) == [t.text for t in toks]


@pytest.mark.parametrize("text", [
    "我们要牢固树立正确政绩观。\n\n  一是要强化考核结果运用。",
    "去年完成3-5个项目，PM_2.5下降了5.2%，GDP增长2024年。",
    "  前后有空格  \u3000\n\t",
    "英文 words and 数字 123 混排，“引号”（括号）……——",
    "",
    "单",
])
def test_rjieba_fast_offsets_equal_word_by_word(text):
    pytest.importorskip("rjieba")
    seg = Segmenter(Path(__file__).resolve().parent.parent / "models" / "jieba_userdict.txt",
                    backend="rjieba", compact=True)
    fast = seg._aligned_offsets(text)
    seg._rjieba_offsets = lambda t: None  # force the word-by-word path
    slow = seg._aligned_offsets(text)
    assert fast == slow and fast is not None
    words = [text[a:b] for a, b in zip(fast[0::2], fast[1::2])]
    assert "".join(words) == "".join(text.split())
