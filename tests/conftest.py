"""Shared fixtures. Heavy objects (jieba/spaCy) are built once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seeds" / "000_6903ec5eb81c62b0.txt"
SAMPLE = ROOT / "corpora" / "sample"


@pytest.fixture(scope="session")
def segmenter():
    from pipeline.segment import Segmenter

    return Segmenter(ROOT / "models" / "jieba_userdict.txt")


@pytest.fixture(scope="session")
def seed_text():
    if not SEED.exists():
        pytest.skip("../shared/seeds is absent (only present beside the project checkout)")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def shared_corpora():
    p = SHARED / "corpora"
    if not p.exists():
        pytest.skip("../shared/corpora is absent")
    return p


def make_essay(text: str, id: str = "E0001", source: str = "t.txt", title: str = ""):
    """An Essay already cleaned (text == raw) for stage unit tests."""
    from pipeline.clean import clean_text
    from pipeline.essay import Essay

    c = clean_text(text)
    return Essay(id=id, source=source, raw=text, title=title, text=c.text, char_map=c.char_map)


@pytest.fixture
def essay_factory(segmenter):
    def build(text: str, id: str = "E0001", source: str = "t.txt", title: str = ""):
        return segmenter(make_essay(text, id, source, title))

    return build
