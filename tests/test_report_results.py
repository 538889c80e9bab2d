"""results.json: the parsed document, the one-essay-per-line layout, plain-data conversion."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from pipeline.essay import SCHEMA
from pipeline.report.results import _jsonable, results_dict, results_text, write_results
from report_fixture import sample_result


def _reference_jsonable(obj):
    """The original (slow, isinstance-chain) conversion the fast one must equal."""
    if isinstance(obj, dict):
        return {str(k): _reference_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_reference_jsonable(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return _reference_jsonable(obj.to_dict())
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, float):
        return round(obj, 6)
    return obj


@dataclass
class _Obj:
    x: float

    def to_dict(self):
        return {"x": self.x, "t": (1, 2.123456789)}


class _SubDict(dict):
    pass


class _SubFloat(float):
    pass


MIXED = {
    "f": 0.1234567891, "i": 3, "b": True, "n": None, "s": "文本",
    2: "int key", None: "none key", True: "bool key", (1, 2): "tuple key",
    "np": [np.float64(0.123456789123), np.int64(7), np.float32(0.5), np.bool_(True)],
    "tuple": (1.0000004, "a", [0.3333333333]),
    "obj": _Obj(2.718281828459),
    "sub": _SubDict(a=1.23456789, b=[_SubFloat(9.87654321)]),
    "nested": [[{"start": 0, "end": 4}], {"k": [1.5, -2.0000001]}],
}


def test_jsonable_equals_reference_conversion():
    got, want = _jsonable(MIXED), _reference_jsonable(MIXED)
    assert got == want
    assert json.dumps(got, ensure_ascii=False) == json.dumps(want, ensure_ascii=False)
    assert got["f"] == 0.123457 and got["tuple"] == [1.0, "a", [0.333333]]
    assert type(got["np"][1]) is int and got["np"][0] == 0.123456789123  # numpy: .item(), unrounded
    assert got["2"] == "int key" and got["None"] == "none key" and got["True"] == "bool key" and "(1, 2)" in got


def test_jsonable_returns_fresh_containers():
    src = {"a": [{"start": 1, "end": 2}]}
    out = _jsonable(src)
    assert out == src and out is not src and out["a"] is not src["a"]


@pytest.fixture(scope="module")
def run():
    return sample_result()


def test_text_parses_to_results_dict(run):
    text = results_text(run)
    doc = json.loads(text)
    assert doc == results_dict(run)
    assert list(doc) == list(results_dict(run))  # same field order
    assert doc["schema"] == SCHEMA and [e["id"] for e in doc["essays"]] == ["E0001", "E0002", "E0003"]


def test_one_essay_per_line(run):
    lines = results_text(run).splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    start = lines.index(' "essays":[')
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(" ]"))
    essay_lines = lines[start + 1:end]
    assert len(essay_lines) == len(run.essays)
    first = json.loads(essay_lines[0].rstrip(","))
    assert first == results_dict(run)["essays"][0]
    assert '"text":"' in essay_lines[0] and "\\u" not in essay_lines[0][:200]  # Chinese kept


def test_empty_lists_and_deterministic_bytes(run, tmp_path):
    run_empty = sample_result()
    run_empty.essays, run_empty.skipped = [], []
    doc = json.loads(results_text(run_empty))
    assert doc["essays"] == [] and doc["skipped"] == []
    a = write_results(run, tmp_path / "a").read_bytes()
    b = write_results(sample_result(), tmp_path / "b").read_bytes()
    assert a == b and a.endswith(b"\n}\n")


def test_essay_line_of_a_compact_essay_equals_the_full_walk():
    """The SpanList shortcut in essay_line gives the line the _jsonable walk gives."""
    from pipeline.essay import Span, SpanList
    from pipeline.report.results import _ENCODE, essay_line

    for e in sample_result().essays:
        e.sentences = SpanList.of([Span(s.start, s.end) for s in e.sentences])
        e.extra["ratio"] = 1 / 3                       # a float the walk rounds
        line = essay_line(e)
        assert line == _ENCODE(_jsonable(e.to_dict()))
        assert json.loads(line)["sentences"] == [{"start": s.start, "end": s.end}
                                                 for s in e.sentences]
        assert '"ratio":0.333333' in line
