"""Essay.check_offsets on compact tokens: the fast paths catch what the per-token loop did."""
from __future__ import annotations

from array import array

import pytest

from pipeline.errors import AlignmentError
from pipeline.essay import Essay, Token
from pipeline.segment import TokenList

TEXT = "我们支部今年组织了12次专题学习，群众满意度明显提升。"


def _essay(tokens) -> Essay:
    return Essay(id="E0001", source="a.txt", raw=TEXT, text=TEXT, tokens=tokens)


def _offsets(*pairs) -> array:
    return array("i", [x for p in pairs for x in p])


def test_aligned_compact_tokens_pass_like_a_plain_list(essay_factory):
    seg = essay_factory(TEXT)
    assert len(seg.tokens) > 5
    e = _essay(TokenList.of(seg.text, seg.tokens))
    e.check_offsets()
    assert e.tokens.over(e.text) and e.tokens.within(len(e.text))
    _essay(list(seg.tokens)).check_offsets()


def test_token_past_the_end_is_x202():
    e = _essay(TokenList(TEXT, _offsets((0, 2), (2, len(TEXT) + 3))))
    with pytest.raises(AlignmentError, match="X202"):
        e.check_offsets()


def test_reversed_token_is_x202_not_a_crash():
    e = _essay(TokenList(TEXT, _offsets((0, 2), (5, 3))))
    with pytest.raises(AlignmentError, match="X202"):
        e.check_offsets()


def test_tokens_of_another_text_are_x201_at_the_first_difference():
    other = "我们支部今年组织了13次专题学习，群众满意度明显提升。"
    toks = TokenList(other, _offsets((0, 2), (2, 4), (9, 11), (11, 12)))
    e = _essay(toks)
    with pytest.raises(AlignmentError, match="X201") as err:
        e.check_offsets()
    assert "13" in str(err.value) and not toks.over(TEXT)


def test_plain_token_list_still_checked():
    e = _essay([Token(0, 2, "我们"), Token(2, 4, "党支")])
    with pytest.raises(AlignmentError, match="X201"):
        e.check_offsets()
