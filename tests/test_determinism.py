"""Determinism: the same input gives byte-identical results.json.

Each run is a separate ``python -m pipeline run`` process with a different
``PYTHONHASHSEED`` (so set/dict-order accidents show up), writing into its own
out dir; the second run reads a copy of the input from another folder, because
reviewers move folders around. The CSV tables and HTML pages must be identical
too (``report.xlsx`` is not compared: the xlsx container stores a timestamp).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpora" / "sample"
POLICY = ROOT / "models" / "policy" / "zhengji-kaohe-notice.txt"
TEMPLATES = ROOT / "corpora" / "templates"

SENTENCES = [
    "通过这次集中学习，我对树立和践行正确政绩观有了更加深刻的认识。",
    "政绩考核不是简单地看数字，而是要看群众得到了多少实实在在的好处。",
    "去年我在社区蹲点时发现，老旧小区加装电梯的难题迟迟没有解决。",
    "对照通知要求，我梳理了自身存在的问题，主要是调查研究不够深入。",
    "下一步，我要坚持问题导向，把群众的急难愁盼作为工作的出发点。",
    "今年春耕时节，我们村里组织党员帮助困难户抢种了四十多亩水稻。",
    "街道把居民满意度纳入考核以后，窗口服务的等候时间缩短了一半。",
    "考核办法的调整让我们明白，干事创业必须求真务实，不能搞形式主义。",
]


def _essay(k: int) -> str:
    return "".join(SENTENCES[(k + i * 3) % len(SENTENCES)] for i in range(6))


def _make_folder(d: Path) -> None:
    d.mkdir(parents=True)
    for k in range(6):
        (d / f"{k:02d}_心得.txt").write_text(f"学习体会{k}\n" + _essay(k), encoding="utf-8")
    (d / "06_copy.txt").write_text(_essay(2), encoding="utf-8")  # a copy of 02
    (d / "07_gbk.txt").write_bytes(_essay(3).replace("社区", "乡镇").encode("gbk"))
    (d / "08_合集.txt").write_text("【篇一】\n" + _essay(4) + "\n【篇二】\n" + _essay(5),
                                 encoding="utf-8")
    (d / "09_表格.csv").write_text("姓名,心得体会\n张某," + _essay(1) + "\n李某,\n",
                                  encoding="utf-8")
    (d / "10_empty.txt").write_bytes(b"")


def _run(src: Path, out: Path, hashseed: int, extra: list[str]) -> int:
    env = {**os.environ, "PYTHONHASHSEED": str(hashseed)}
    p = subprocess.run([sys.executable, "-m", "pipeline", "run", str(src), "--out", str(out),
                        "--quiet", *extra], cwd=out.parent, env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode in (0, 3), p.stderr[-3000:]
    return p.returncode


def _outputs(out: Path) -> dict[str, bytes]:
    """Every output file except the run cache and the xlsx container."""
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not rel.startswith(".") and p.suffix != ".xlsx":
            files[rel] = p.read_bytes()
    return files


def _assert_same_runs(src: Path, tmp_path: Path, extra: list[str]) -> None:
    a_out, b_out = tmp_path / "run_a" / "out", tmp_path / "run_b" / "report"
    a_out.parent.mkdir()
    b_out.parent.mkdir()
    src_b = tmp_path / "elsewhere" / "moved"
    shutil.copytree(src, src_b)
    rc_a = _run(src, a_out, 1, extra)
    rc_b = _run(src_b, b_out, 2, extra)
    assert rc_a == rc_b
    a = (a_out / "results.json").read_bytes()
    b = (b_out / "results.json").read_bytes()
    assert a == b, _first_difference(a, b)
    fa, fb = _outputs(a_out), _outputs(b_out)
    assert sorted(fa) == sorted(fb)
    diff = [k for k in fa if fa[k] != fb[k]]
    assert not diff, {k: _first_difference(fa[k], fb[k]) for k in diff[:3]}


def _first_difference(a: bytes, b: bytes) -> str:
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"first difference at byte {i}: "
            f"{a[max(0, i - 80):i + 80].decode('utf-8', 'replace')!r} vs "
            f"{b[max(0, i - 80):i + 80].decode('utf-8', 'replace')!r}")


def test_two_runs_are_byte_identical(tmp_path):
    src = tmp_path / "input"
    _make_folder(src)
    _assert_same_runs(src, tmp_path, [])


@pytest.mark.slow
def test_sample_cohort_runs_are_byte_identical(tmp_path):
    if not SAMPLE.exists() or not any(SAMPLE.iterdir()):
        pytest.skip("corpora/sample is absent")
    extra = []
    if POLICY.exists():
        extra += ["--policy", str(POLICY)]
    if TEMPLATES.exists() and any(TEMPLATES.iterdir()):
        extra += ["--templates", str(TEMPLATES)]
    _assert_same_runs(SAMPLE, tmp_path, extra)
