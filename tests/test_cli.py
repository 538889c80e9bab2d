"""The click CLI, through CliRunner (as sqlite-utils tests its CLI)."""
from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, cli

ESSAY = ("学习政绩考核通知的体会\n今年我们街道把居民满意度测评结果纳入社区书记年度考核，"
         "权重占到百分之三十。测评发现两个社区的停车问题群众意见最大，我们用两个月新建了"
         "一百二十个车位。下一步，我准备每季度公开一次整改清单，接受居民评议。")


def _all_commands(group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in _all_commands(cli)], ids=" ".join)
def test_every_command_has_help(path):
    r = CliRunner().invoke(cli, [*path, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output
    cmd = dict(_all_commands(cli))[path]
    assert cmd.help or cmd.short_help, f"{' '.join(path)} has no help text"


def test_run_writes_contract_outputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(ESSAY, encoding="utf-8")
    (src / "b.txt").write_bytes(ESSAY.replace("街道", "乡镇").encode("gbk"))
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_OK, r.output
    d = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert d["schema"] == "xinde.results/1"
    assert [e["source"] for e in d["essays"]] == ["a.txt", "b.txt"]
    e = d["essays"][0]
    for key in ("id", "source", "title", "text", "sentences", "themes", "matches", "copied_ratio",
                "engagement"):
        assert key in e
    assert e["title"] == "学习政绩考核通知的体会" and "学习政绩考核" not in e["text"]
    for s in e["sentences"]:
        assert 0 <= s["start"] < s["end"] <= len(e["text"])
    assert d["skipped"] == []
    csv_text = (out / "essays.csv").read_bytes()
    assert csv_text.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    assert "a.txt" in csv_text.decode("utf-8-sig")
    assert (out / "index.html").exists()


def test_run_reports_skipped_files_with_exit_code(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "ok.txt").write_text(ESSAY, encoding="utf-8")
    (src / "empty.txt").write_bytes(b"")
    (src / "bad.docx").write_bytes(b"not a zip")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_SKIPPED
    d = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(d["essays"]) == 1
    reasons = {s["source"]: s["reason"] for s in d["skipped"]}
    assert set(reasons) == {"empty.txt", "bad.docx"}
    assert "X001" in reasons["empty.txt"] and "X006" in reasons["bad.docx"]


def test_missing_input_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(cli, ["run", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert r.exit_code == EXIT_USAGE
    assert "X101" in r.output and "nope" in r.output


def test_invalid_setting_is_a_usage_error(tmp_path):
    (tmp_path / "a.txt").write_text(ESSAY, encoding="utf-8")
    r = CliRunner().invoke(cli, ["run", str(tmp_path), "--out", str(tmp_path / "o"),
                                 "--max-mb", "-1"])
    assert r.exit_code == EXIT_USAGE and "max_mb" in r.output


def test_check_json_prints_essay_object(tmp_path):
    f = tmp_path / "one.txt"
    f.write_text(ESSAY, encoding="utf-8")
    r = CliRunner().invoke(cli, ["check", str(f), "--json"])
    assert r.exit_code == EXIT_OK, r.output
    d = json.loads(r.output)
    assert d["essays"][0]["source"] == "one.txt"
    assert "停车问题" in d["essays"][0]["text"]


def test_check_terminal_summary(tmp_path):
    f = tmp_path / "one.txt"
    f.write_text(ESSAY, encoding="utf-8")
    r = CliRunner().invoke(cli, ["check", str(f)])
    assert r.exit_code == EXIT_OK, r.output
    assert "one.txt" in r.output and "字" in r.output


def test_split_command_writes_one_file_per_essay(tmp_path):
    body2 = ESSAY.split("\n", 1)[1].replace("街道", "学校")
    compiled = ("心得体会2篇\n【篇一】\n" + ESSAY.split("\n", 1)[1] + "\n【篇二】\n" + body2)
    f = tmp_path / "合集.txt"
    f.write_text(compiled, encoding="utf-8")
    out = tmp_path / "split"
    r = CliRunner().invoke(cli, ["split", str(f), "--out", str(out)])
    assert r.exit_code == EXIT_OK, r.output
    files = sorted(out.iterdir())
    assert [p.name for p in files] == ["01.txt", "02.txt"]
    assert files[1].read_text(encoding="utf-8").startswith("心得体会2篇 【篇二】\n\n今年我们学校")


def test_python_dash_m_works():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "pipeline", "--version"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "xinde" in r.stdout
