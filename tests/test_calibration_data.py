"""Integrity of the labelled calibration data.

* ``corpora/calibration/*.txt`` + ``ratings.csv`` — essays rated 1–5 for the engagement score
  (issue 5), with copies and boilerplate-padded variants pointing at their sources;
* ``tests/data/theme_labels.jsonl`` — sentence-level theme labels (issue 4), one JSON object
  per sentence of the labelled essays, texts exactly as ``split_sentences(clean_text(body))``.

The rubric and the labelling guideline are in ``docs/labelling.md``.
"""
from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pipeline.clean import clean_text
from pipeline.segment import split_sentences
from pipeline.split import split_text

ROOT = Path(__file__).resolve().parent.parent
CAL = ROOT / "corpora" / "calibration"
LABELS = ROOT / "tests" / "data" / "theme_labels.jsonl"
THEMES = ("people_centered", "political_standard", "result_use", "correct_view", "development",
          "assessment_methods", "supervision", "capability_action")
KEY_THEMES = ("people_centered", "political_standard", "result_use")
HEADER = ["file", "rating", "label", "copy_of", "padded_from", "notes"]
#: Words a keyword matcher would fire on, per key theme; used to check that the labels
#: contain hard negatives (cue word present, theme not discussed) and cue-less positives.
CUES = {"people_centered": "群众|人民|民意|满意|获得感|百姓|居民|村民",
        "political_standard": "政治|忠诚|两个维护|四个意识",
        "result_use": "结果运用|能上能下|提拔|调整|奖惩|庸者|问责|评优"}


def _body(path: Path) -> tuple[str, str]:
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title, body


def _sentences(path: Path) -> list[str]:
    text = clean_text(_body(path)[1]).text
    return [text[s.start:s.end] for s in split_sentences(text)]


def _ngrams(text: str, n: int = 8) -> set[str]:
    t = re.sub(r"\s", "", text)
    return {t[i:i + n] for i in range(len(t) - n + 1)}


@pytest.fixture(scope="module")
def ratings() -> list[dict]:
    with (CAL / "ratings.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == HEADER
        return list(reader)


@pytest.fixture(scope="module")
def labels() -> list[dict]:
    with LABELS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# -- ratings -----------------------------------------------------------------
def test_every_rated_file_exists_and_every_essay_is_rated(ratings):
    rated = [r["file"] for r in ratings]
    assert len(rated) == len(set(rated)), "a file is rated twice"
    assert len(rated) >= 36
    for f in rated:
        assert (CAL / f).is_file(), f
    on_disk = sorted(p.name for p in CAL.glob("*.txt"))
    assert on_disk == sorted(rated)


def test_rating_and_label_follow_the_rule(ratings):
    for r in ratings:
        rating = int(r["rating"])
        assert 1 <= rating <= 5, r["file"]
        expected = "substantive" if rating >= 3 and not r["copy_of"] else "hollow"
        assert r["label"] == expected, r["file"]
        assert r["notes"].strip(), f"{r['file']}: notes say why it got its rating"
    counts = Counter(r["label"] for r in ratings)
    assert counts["substantive"] >= 10 and counts["hollow"] >= 10
    by_rating = Counter(int(r["rating"]) for r in ratings)
    assert set(by_rating) == {1, 2, 3, 4, 5}


def test_copies_point_at_their_sources_and_are_rated_low(ratings):
    by_file = {r["file"]: r for r in ratings}
    copies = [r for r in ratings if r["copy_of"]]
    assert len(copies) >= 3
    for r in copies:
        src = by_file[r["copy_of"]]
        assert src["file"] != r["file"] and not src["copy_of"]
        assert int(r["rating"]) <= 2 and int(r["rating"]) <= int(src["rating"])
        mine = _ngrams(_body(CAL / r["file"])[1])
        theirs = _ngrams(_body(CAL / src["file"])[1])
        assert len(mine & theirs) / len(mine) >= 0.5, f"{r['file']} barely overlaps {src['file']}"


def test_padded_essays_contain_their_original_and_are_not_rated_higher(ratings):
    by_file = {r["file"]: r for r in ratings}
    padded = [r for r in ratings if r["padded_from"]]
    assert len(padded) >= 3
    for r in padded:
        src = by_file[r["padded_from"]]
        assert int(r["rating"]) <= int(src["rating"])
        original = _sentences(CAL / src["file"])
        mine = _sentences(CAL / r["file"])
        it = iter(mine)
        assert all(s in it for s in original), f"{r['file']} does not keep {src['file']} in order"
        assert len("".join(mine)) >= len("".join(original)) + 150, "padding adds real boilerplate"


def test_essays_are_sane_length_with_a_title_line():
    for p in sorted(CAL.glob("*.txt")):
        text = p.read_text(encoding="utf-8").strip()
        assert 500 <= len(text) <= 1600, (p.name, len(text))
        title, body = _body(p)
        assert 4 <= len(title) <= 60 and title[-1] not in "。！？", p.name
        assert len(clean_text(body).text) >= 480, p.name


def test_long_hollow_essays_exist(ratings):
    """Length must not buy points: some of the longest essays are rated lowest."""
    longest = sorted(ratings, key=lambda r: -len((CAL / r["file"]).read_text(encoding="utf-8")))
    assert sum(1 for r in longest[:6] if int(r["rating"]) == 1) >= 2


def test_ingest_sees_one_essay_per_file_titled_by_the_first_line():
    for name in ("cal_01.txt", "cal_22.txt", "cal_27.txt", "cal_35.txt"):
        text = (CAL / name).read_text(encoding="utf-8")
        parts = split_text(text)
        assert len(parts) == 1, name
        title, body = _body(CAL / name)
        assert re.sub(r"\s", "", parts[0].title) == re.sub(r"\s", "", title)  # title gaps are tidied
        assert clean_text(parts[0].body).text == clean_text(body).text


# -- theme labels ------------------------------------------------------------
def test_label_records_are_well_formed(labels):
    assert len(labels) >= 500
    for rec in labels:
        assert set(rec) == {"file", "sentence", "themes"}
        assert (CAL / rec["file"]).is_file(), rec["file"]
        assert rec["sentence"] and rec["sentence"] == rec["sentence"].strip()
        assert set(rec["themes"]) <= set(THEMES), rec["themes"]
        assert len(set(rec["themes"])) == len(rec["themes"])


def test_labelled_sentences_are_exactly_the_sentences_of_their_files(labels):
    by_file = defaultdict(list)
    for rec in labels:
        by_file[rec["file"]].append(rec["sentence"])
    assert len(by_file) >= 20
    for name, sents in by_file.items():
        text = clean_text(_body(CAL / name)[1]).text
        for s in sents:
            assert s in text, (name, s[:30])
        assert sents == _sentences(CAL / name), f"{name}: labels must cover every sentence, in order"


def test_labelled_files_span_the_quality_range(labels, ratings):
    rating = {r["file"]: int(r["rating"]) for r in ratings}
    copies = {r["file"] for r in ratings if r["copy_of"] or r["padded_from"]}
    files = {rec["file"] for rec in labels}
    assert not files & copies, "copies/padded essays would duplicate labelled sentences"
    levels = Counter(rating[f] for f in files)
    assert levels[5] + levels[4] >= 8 and levels[3] >= 5 and levels[1] + levels[2] >= 5


def test_key_themes_have_enough_positives_and_hard_negatives(labels):
    pos = Counter(t for rec in labels for t in rec["themes"])
    for th in KEY_THEMES:
        assert pos[th] >= 40, (th, pos[th])
        cue = re.compile(CUES[th])
        hard_neg = [r for r in labels if cue.search(r["sentence"]) and th not in r["themes"]]
        cueless_pos = [r for r in labels if th in r["themes"] and not cue.search(r["sentence"])]
        assert len(hard_neg) >= 10, th
        assert len(cueless_pos) >= 5, th
    assert sum(1 for r in labels if not r["themes"]) >= 100
    assert all(pos[th] >= 10 for th in THEMES), pos


def test_slogan_recitals_and_headings_are_not_evidence(labels):
    """The guideline's hard negatives, spot-checked."""
    for rec in labels:
        s = rec["sentence"]
        if "四个意识" in s and "两个维护" in s and "耕地" not in s:
            assert "political_standard" not in rec["themes"], s
        if re.fullmatch(r"[一二三四五六七八九十]+、[^。！？]*", s):
            assert rec["themes"] == [], s
