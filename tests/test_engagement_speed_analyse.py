"""The per-essay engagement analysis (``features.analyse``) equals the sentence-by-sentence one.

``analyse`` scans the whole essay once per pattern and hands each match to its sentence
(sentences a match crosses are scanned alone), gates 排比 with essay-level counts and
compares words by numpy ids. The reference below is the plain version: every pattern
run on every sentence on its own, words as strings.
"""
from __future__ import annotations

from array import array
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from pipeline.config import Settings
from pipeline.engagement import features as F
from pipeline.essay import Span, nonspace_len
from pipeline.segment import TokenList, token_texts

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

#: Pattern characters plus sentence ends, quotes that cross them, spaces and a non-BMP char.
ALPHABET = ("省县镇社区街道中心局委员会办公室派出所支部的是在个名年月了和我们本人作为要必须坚持进一步"
            "不断“”《》，。！？!?、；0123456789两三十百万季度周天今去上例如以为例改革行动专项试点工作法"
            "程序老群众目标导向问题\n \u3000𠀀：,;:")
texts = st.text(alphabet=ALPHABET, max_size=120)


@pytest.fixture(scope="module")
def slogans():
    return F.phrase_regex(F.load_taohua(MODELS / "taohua.txt"))


def _ref_analyse(essay, slogans) -> F.TextFeatures:
    """Every sentence on its own (the implementation before the whole-text scans)."""
    text = essay.text
    rows, items, hits, curly = array("i"), array("i"), array("i"), array("i")
    for m in F._CURLY_QUOTE.finditer(text):
        curly.extend((m.start(1), m.end(1)))
    sents = essay.sentences or [Span(0, len(text))] if text else []
    prev_leads: list[str] = []
    seen: set[str] = set()
    for sp in sents:
        a, b = sp.start, sp.end
        s = text[a:b]
        n = nonspace_len(s)
        if not n:
            continue
        r = len(rows) // 4
        norm = F._NON_WORD.sub("", s)
        if len(norm) >= 8 and norm in seen:
            rows.extend((a, b, n, F.REPEAT))
            continue
        seen.add(norm)
        for kind, t in F._specific_items(s):
            p = a + s.find(t)
            items.extend((r, F._KIND_INDEX[kind], p, p + len(t)))
        if slogans is not None:
            for m in slogans.finditer(s):
                hits.extend((r, a + m.start(), a + m.end()))
        flags = F._sentence_flags(s)
        lead = next((ld for ld in F.PAIBI_LEADS if s.startswith(ld)), "")
        prev_leads.append(lead)
        if lead and prev_leads[-3:] == [lead] * 3:
            for k in range(max(0, r - 2), r):
                rows[4 * k + 3] |= F.PAIBI
            flags |= F.PAIBI
        rows.extend((a, b, n, flags))
    words = list(filter(F._WORD.search, token_texts(essay.tokens)))
    return F.TextFeatures(F.slogan_key(slogans), nonspace_len(text), F.mtld(words), len(words),
                          rows, items, hits, curly)


@pytest.fixture(scope="module")
def sample_essays():
    from pipeline.runner import run

    return run(ROOT / "corpora" / "sample", Settings(cache_dir=None)).essays


def test_analyse_equals_sentence_by_sentence_on_sample(sample_essays, slogans):
    assert sample_essays
    for e in sample_essays:
        assert F.analyse(e, slogans) == _ref_analyse(e, slogans), e.id
        assert F.analyse(e, None) == _ref_analyse(e, None), e.id


@hsettings(max_examples=300, deadline=None,
           suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(paragraphs=st.lists(texts, min_size=1, max_size=6))
def test_analyse_equals_sentence_by_sentence_on_generated_essays(paragraphs, essay_factory, slogans):
    e = essay_factory("\n".join(paragraphs) + "。")
    assert F.analyse(e, slogans) == _ref_analyse(e, slogans)


def test_matches_across_sentence_ends_are_found_per_sentence(essay_factory, slogans):
    # “…！…”改革 and 以…！…为例 cross a sentence end on the whole text, not in a sentence
    e = essay_factory("我们推进“最多跑！一次”改革，走访12户。以城东！社区为例，整改3项。")
    starts, ends = [s.start for s in e.sentences], [s.end for s in e.sentences]
    assert len(starts) == 4
    _, _, dirty = F._text_scans(e.text, starts, ends, slogans)
    assert dirty == {0, 1, 2, 3}
    assert F.analyse(e, slogans) == _ref_analyse(e, slogans)


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab工作中心。 1\U00020000\udc80", min_size=0, max_size=6),
                max_size=80))
def test_word_ids_compare_as_the_words(parts):
    text = "".join(parts)
    offsets, pos = array("i"), 0
    for p in parts:
        offsets.extend((pos, pos + len(p)))
        pos += len(p)
    tokens = TokenList(text, offsets)
    words = list(filter(F._WORD.search, token_texts(tokens)))
    ids = F._word_ids(tokens, text, F._code_points(text))
    assert len(ids) == len(words)
    ids = ids.tolist()
    assert [[a == b for b in ids] for a in ids] == [[a == b for b in words] for a in words]
    assert F.mtld_of_ids(ids) == F.mtld(words)
    assert F._word_ids(list(tokens)) == words  # plain Token lists keep the strings


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=12), max_size=300))
def test_mtld_of_ids_equals_mtld(words):
    assert F.mtld_of_ids(words) == F.mtld(words)
    assert F.mtld_of_ids(words) == F.mtld([str(w) for w in words])


def test_no_whitespace_above_the_space_table():
    """``features._IS_SPACE`` (per-sentence non-space lengths) covers every whitespace char."""
    assert not any(chr(c).isspace() for c in range(F._SPACE_LIMIT, 0x110000))
    assert [c for c in range(F._SPACE_LIMIT) if F._IS_SPACE[c]] == [
        c for c in range(F._SPACE_LIMIT) if chr(c).isspace()]


@pytest.mark.parametrize("text", ["要学习，要实践，要反思。", "我们 要学习， 要实践，\u3000要反思。",
                                  "坚持学习；坚持实践、坚持反思：坚持。", "要学习要实践要反思。"])
def test_lead_prefilter_keeps_every_clause_lead_paibi(text):
    """``_lead_rows`` must flag every sentence whose clauses repeat a lead 3 times."""
    cp = F._code_points(text)
    space = F._IS_SPACE[F.np.minimum(cp, F._SPACE_LIMIT)]
    leads = 0 in F._lead_rows(cp, space, [0], [len(text)])
    assert F._paibi(text, (), False, leads) == F._paibi(text)
    assert leads == (text != "要学习要实践要反思。")
