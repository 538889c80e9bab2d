"""`xinde check` terminal summary."""
from __future__ import annotations

import json

from click.testing import CliRunner
from rich.console import Console

from pipeline.cli import cli
from pipeline.report.terminal import print_check
from report_fixture import sample_result


def render(result, **kw) -> str:
    con = Console(record=True, width=100, color_system=None)
    print_check(result, console=con, **kw)
    return con.export_text()


def test_summary_lists_score_reasons_themes_and_copied_passages():
    r = sample_result()
    r.essays = [r.essays[1]]
    text = render(r)
    assert "E0002" in text and "投入度得分 31/100" in text
    assert "原创性" in text and "+8.0 / 30" in text and "-5.0 / 10" in text and "31.0" in text
    assert "41% 的文字与他人雷同" in text and "无个人行动承诺<script>alert(1)</script>" in text
    assert "涉及主题 以人民为中心(0.50)" in text
    assert "雷同率 44% · 最大来源 E0001" in text
    assert "抄自其他提交 E0001 以考核指挥棒推动担当作为" in text
    assert "与范文雷同 T1 范文：政绩考核学习心得（一）" in text
    assert "“我们要提高政治站位，强化责任担当，狠抓工作落实。”" in text
    assert "套话 1" in text
    assert "跳过 坏文件/扫描件.pdf" in text


def test_rich_markup_in_essay_text_prints_literally():
    r = sample_result()
    e = r.essays[2]
    e.title = "[bold red]伪造标题[/]"
    e.warnings.append("[link=http://x]点击[/link]")
    r.essays = [e]
    text = render(r)
    assert "[bold red]伪造标题[/]" in text and "[link=http://x]点击[/link]" in text
    assert "投入度得分" not in text          # no engagement: the line is left out


def test_english_summary():
    r = sample_result(lang="en")
    r.essays = [r.essays[0]]
    text = render(r)
    assert "Engagement score 78/100" in text and "Copied 30%" in text


def test_check_command_prints_summary_and_json(tmp_path):
    f = tmp_path / "心得.txt"
    body = ("学习政绩考核通知心得\n\n通过学习，我认识到政绩考核是指挥棒。去年我所在的街道办开展了"
            "十二次入户走访，收集群众意见八十六条，今年我将把群众评价纳入科室的平时考核。")
    f.write_text(body, encoding="utf-8")
    res = CliRunner().invoke(cli, ["check", str(f)])
    assert res.exit_code == 0, res.output
    assert "E0001" in res.output and "雷同率" in res.output
    res = CliRunner().invoke(cli, ["check", str(f), "--json"])
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert doc["essays"][0]["id"] == "E0001" and "街道办" in doc["essays"][0]["text"]
