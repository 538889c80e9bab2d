"""Engagement features: the per-essay stage, its fast scanning and the cohort fast path.

The fast paths (anchored pattern scans, prefilters, bigram counting, MTLD, the
object-free tally) must give exactly what the plain versions give: each is
checked against a reference written the straightforward way, on the sample
corpus and on generated text.
"""
from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from pipeline.config import Settings
from pipeline.engagement import EngagementScorer
from pipeline.engagement import features as F
from pipeline.engines.local import LocalEngine
from pipeline.essay import Match

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SAMPLE = ROOT / "corpora" / "sample"

#: Characters that exercise every pattern: suffixes, name stop characters, numerals,
#: quote marks, first person, leads and clause punctuation.
ALPHABET = ("省县镇乡村街道社区小园开发市场口岸局委员会办公室中心公司银行医院学校大队派出所支部党"
            "组服务站窗科的是在每个名年月了和我们本人作为要必须坚持进一步“”《》，。、；0123456789"
            "两三十百万季度周天今去上下例如改革行动专项试点工作法程序老群众\n .%１２")
texts = st.text(alphabet=ALPHABET, max_size=60)


@pytest.fixture(scope="module")
def sample_run():
    """The sample corpus through the default pipeline (duplication gives real matches)."""
    from pipeline.runner import run

    return run(SAMPLE, Settings(cache_dir=None))


@pytest.fixture(scope="module")
def sentences(sample_run):
    return [e.span_text(s) for e in sample_run.essays for s in e.sentences]


@pytest.fixture(scope="module")
def slogans():
    return F.phrase_regex(F.load_taohua(MODELS / "taohua.txt"))


# -- references: the straightforward versions ------------------------------------------
def _ref_matches(kind: str, s: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in F.SPECIFIC_PATTERNS[kind].finditer(s)]


def _fast_matches(kind: str, s: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in F._finditer(kind, s)]


def _ref_personal(sent: str, window: int = 24) -> tuple[bool, bool]:
    sent = F._BRACKETED.sub("…", sent)
    action = critic = False
    for m in F.FIRST_PERSON.finditer(sent):
        if F.MODAL_AFTER.match(sent[m.end():m.end() + 6]):
            continue
        action = action or bool(F.ACTION_VERBS.search(sent[m.start():m.start() + window]))
        critic = critic or bool(F.SELF_CRITIC.search(sent))
    return action, critic


def _ref_paibi(sent: str) -> bool:
    clauses = [c.strip() for c in F._CLAUSE.split(sent) if c.strip()]
    if len(clauses) >= 3:
        starts = Counter(ld for c in clauses for ld in F.PAIBI_LEADS if c.startswith(ld))
        if any(v >= 3 for v in starts.values()):
            return True
    if any(sent.count(ld) >= 3 for ld in F.PAIBI_LEADS if len(ld) >= 2):
        return True
    items = [c for c in clauses if 2 <= len(c) <= 14]
    seen: Counter = Counter()
    for c in items:
        seen.update(bg for bg in {c[i:i + 2] for i in range(len(c) - 1)}
                    if bg not in F._BIGRAM_STOP and re.fullmatch(f"[{F.CJK}]{{2}}", bg))
    return len(items) >= F.PAIBI_ITEMS and any(v >= F.PAIBI_ITEMS for v in seen.values())


def _ref_mtld_pass(seq, threshold=0.72) -> float:
    factors, types, count = 0.0, set(), 0
    for w in seq:
        types.add(w)
        count += 1
        if len(types) / count <= threshold:
            factors += 1
            types, count = set(), 0
    if count:
        ttr = len(types) / count
        factors += (1 - ttr) / (1 - threshold) if ttr < 1 else 0.0
    return len(seq) / factors if factors else float(len(seq))


# -- fast scanning equals the plain scans ----------------------------------------------
@pytest.mark.parametrize("kind", list(F.SPECIFIC_PATTERNS))
def test_fast_scan_matches_finditer_on_sample(kind, sentences):
    found = 0
    for s in sentences:
        ref = _ref_matches(kind, s)
        assert _fast_matches(kind, s) == ref, s
        found += len(ref)
    if kind != "programme":
        assert found > 0  # the corpus exercises the pattern


@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_fast_scan_matches_finditer_on_generated_text(s):
    for kind in F.SPECIFIC_PATTERNS:
        assert _fast_matches(kind, s) == _ref_matches(kind, s)


def test_anchored_scan_finds_overlapping_candidates():
    s = "我在城东街道社区服务站和县政务服务中心窗口工作，城党委员会"  # 党委/委员会 overlap
    for kind in ("place", "org"):
        assert _fast_matches(kind, s) == _ref_matches(kind, s)
        assert _ref_matches(kind, s)


@hsettings(max_examples=400, deadline=None)
@given(texts)
def test_personal_and_paibi_equal_reference(s):
    assert F._personal(s) == _ref_personal(s)
    assert F._paibi(s) == _ref_paibi(s)


def test_personal_and_paibi_equal_reference_on_sample(sentences):
    assert [F._personal(s) for s in sentences] == [_ref_personal(s) for s in sentences]
    assert [F._paibi(s) for s in sentences] == [_ref_paibi(s) for s in sentences]
    assert any(F._paibi(s) for s in sentences) and any(F._personal(s)[0] for s in sentences)


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("abcdefghij")), max_size=300))
def test_mtld_equals_reference(words):
    assert F._mtld_pass(words, 0.72) == _ref_mtld_pass(words)
    expected = (_ref_mtld_pass(words) + _ref_mtld_pass(words[::-1])) / 2 if words else 0.0
    assert F.mtld(words) == expected


# -- stored features and the cohort fast path --------------------------------------------
def _with_quotes(essay):
    """A copy-free variant of ``essay`` whose second sentence is quoted and third boilerplate."""
    extra = []
    for kind, sp in zip(("quote", "boilerplate"), essay.sentences[1:3]):
        extra.append(Match(sp.start, sp.end, kind, "x"))
    return replace(essay, matches=list(essay.matches) + extra)


def test_tally_fast_path_equals_sentence_objects(sample_run, slogans):
    for e in sample_run.essays:
        for essay in (e, _with_quotes(e)):
            tf = F.analyse(essay, slogans)
            feats = F.resolve(essay, tf)
            assert F.tally(essay, tf) == feats.tally()
            t = feats.tally()
            assert t.n_specific == feats.count(lambda s: s.is_specific)
            assert t.share(t.slogan_chars) == feats.share(lambda s: s.is_slogan)
            assert t.personal_spans == [(sp.start, sp.end) for sp in
                                        feats.spans(lambda s: s.is_personal or s.own_role)]


def test_quote_match_removes_facts_inside_it(essay_factory, slogans):
    e = essay_factory("我们去年走访了12户群众。会上传达了2023年的文件精神。")
    tf = F.analyse(e, slogans)
    assert F.resolve(e, tf).sentences[1].is_specific
    second = e.sentences[1]
    e.matches = [Match(second.start, second.end, "quote", "policy")]
    s = F.resolve(e, tf).sentences[1]
    assert not s.is_specific and s.quote_share == 1.0 and s.is_slogan


def test_stage_stores_compact_features_used_by_the_scorer(sample_run, slogans):
    stage = F.EngagementFeatures(MODELS / "taohua.txt")
    e = sample_run.essays[0]
    assert isinstance(e.features.get(F.FEATURES_KEY), F.TextFeatures)  # from the default run
    tf = stage(e).features[F.FEATURES_KEY]
    assert tf.key == F.slogan_key(slogans) != 0
    assert all(x.typecode == "H" for x in (tf.rows, tf.items, tf.hits, tf.curly))
    assert len(tf.rows) == 4 * len(F.resolve(e, tf).sentences)
    assert "features" not in e.to_dict()


def test_stale_features_are_recomputed(essay_factory, slogans):
    e = essay_factory("政绩考核是指挥棒，也是风向标。我上周走访了12户群众。")
    F.EngagementFeatures(None)(e)  # made without the stock-phrase list
    assert e.features[F.FEATURES_KEY].key == 0
    assert F.extract(e, slogans).sentences[0].slogan_hits  # not the stale features
    assert not F.extract(e, None).sentences[0].slogan_hits


def test_default_pipeline_computes_features_in_the_first_block():
    from pipeline.parallel import split_blocks
    from pipeline.runner import default_stages

    blocks = split_blocks(default_stages(Settings()))
    first = [s.name for s in blocks[0][1]]
    assert blocks[0][0] == "essay" and first[-2:] == ["themes", "engagement_features"]
    assert [b[1][0].name for b in blocks[1:]][-1] == "engagement"


def test_cache_round_trip_keeps_features(tmp_path, sample_run):
    from pipeline.cache import RunCache

    e = sample_run.essays[0]
    with RunCache(tmp_path) as cache:
        cache.put("k", e)
        fields = cache.get("k")
    assert fields["features"][F.FEATURES_KEY] == e.features[F.FEATURES_KEY]


def _scores(essays):
    return [e.engagement.to_dict() for e in essays]


def test_scores_same_with_or_without_stored_features_and_jobs(sample_run):
    scorer = EngagementScorer.from_settings(Settings())
    cohort = [copy.deepcopy(e) for e in sample_run.essays] * 3  # ≥ 64: the pool really runs
    for k, e in enumerate(cohort):
        e.id = f"{e.id}-{k}"
    stored = copy.deepcopy(cohort)
    scorer.process(stored, {"engine": LocalEngine(2)})
    bare = copy.deepcopy(cohort)
    for e in bare:
        e.features = {}
    scorer.process(bare, {})
    assert _scores(stored) == _scores(bare)
    again = copy.deepcopy(sample_run.essays)
    scorer.process(again, {"engine": LocalEngine(2)})
    assert _scores(again) == _scores(sample_run.essays)
    assert len({e["score"] for e in _scores(again)}) > 10  # real, varied scores


class _Engine:
    """An engine stub that records how often ``map`` was called (pickling what it maps)."""

    def __init__(self, name: str):
        self.name, self.calls = name, 0

    def map(self, fn, items):
        import pickle

        self.calls += 1
        fn = pickle.loads(pickle.dumps(fn))  # as a remote worker receives it
        return [fn(x) for x in items]


def test_scorer_spreads_only_on_a_remote_engine(sample_run):
    """A local engine scores in process (cheaper than a pool for ~0.1 ms an essay); a remote
    (Dask) engine gets the work; both give the in-process scores."""
    scorer = EngagementScorer.from_settings(Settings())
    local, remote = _Engine("local"), _Engine("dask")
    here = copy.deepcopy(sample_run.essays)
    scorer.process(here, {"engine": local})
    there = copy.deepcopy(sample_run.essays)
    scorer.process(there, {"engine": remote})
    assert local.calls == 0 and remote.calls == 2  # copy direction, then scores
    assert _scores(here) == _scores(there) == _scores(sample_run.essays)
