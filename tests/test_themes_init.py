"""`xinde profile init`: a draft profile from a policy text loads and detects."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.themes.detect import ThemeDetector
from pipeline.themes.init import draft_profile
from pipeline.themes.profile import load_profile

POLICY = """《关于加强农村人居环境整治的意见》要点
各地要把农村生活垃圾治理作为人居环境整治的首要任务，建立户分类、村收集、镇转运的垃圾收运体系。
推进农村厕所革命，因地制宜选择改厕模式，做到改一户、成一户、用一户。
加强农村生活污水治理，优先治理水源保护区和人口集中村庄的生活污水。
开展村容村貌提升行动，清理私搭乱建、乱堆乱放，整治残垣断壁。
建立长效管护机制，明确管护主体和经费来源，让农民群众参与村庄保洁和监督评价。
把人居环境整治成效纳入乡村振兴实绩考核，考核结果作为干部评先评优的重要依据。
"""


def test_draft_profile_loads_and_detects(tmp_path, essay_factory, segmenter):
    toml = draft_profile(POLICY, profile_id="renju", n_themes=5, segmenter=segmenter)
    f = tmp_path / "renju.toml"
    f.write_text(toml, encoding="utf-8")
    p = load_profile(str(f))
    assert p.id == "renju" and p.label == "关于加强农村人居环境整治的意见"
    assert 2 <= len(p.themes) <= 5
    cues = {c.text for t in p.themes for c in t.cues}
    assert cues & {"厕所革命", "生活污水", "垃圾", "管护", "改厕"}, cues
    e = ThemeDetector(p)(essay_factory(
        "我们村去年完成改厕一百二十户，还建起了生活污水处理站，厕所革命让村民得了实惠。"))
    assert any(r.evidence for r in e.themes.values())


def test_cli_profile_init(tmp_path):
    pol = tmp_path / "policy.txt"
    pol.write_text(POLICY, encoding="utf-8")
    out = tmp_path / "profiles" / "renju.toml"
    r = CliRunner().invoke(cli, ["profile", "init", str(pol), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert load_profile(str(out)).id == "renju"
    r2 = CliRunner().invoke(cli, ["profile", "init", str(pol), "--out", str(out)])
    assert r2.exit_code == 2 and "X140" in r2.output and "--force" in r2.output
    r3 = CliRunner().invoke(cli, ["profile", "init", str(tmp_path / "missing.txt"), "--out",
                                  str(tmp_path / "x.toml")])
    assert r3.exit_code == 2


def test_run_with_unknown_profile_is_usage_error(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text("学习心得\n" + "我们要把群众满意作为考核标准，认真听取群众意见。" * 5,
                             encoding="utf-8")
    r = CliRunner().invoke(cli, ["run", str(d), "--out", str(tmp_path / "o"), "--profile", "nope"])
    assert r.exit_code == 2 and "X103" in r.output
