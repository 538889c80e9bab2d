"""Hostile input folders: nothing crashes, nothing is lost, every file is accounted for.

The hostile folder is generated here in a tmp dir (no binaries are committed):
empty and whitespace-only files, binary junk named ``.txt``, GBK/GB18030/UTF-16
with and without BOM, mixed encodings, Traditional Chinese, English, a .docx that
is not a zip, a zip-bomb .docx, encrypted and text-less PDFs, odd names (spaces,
Chinese, emoji, GBK bytes, ``#``), symlink loops, a FIFO, an unreadable file,
duplicates, a 5-character essay, a .csv without a text column, a broken .xlsx.
The run must list every file as essays or as skipped with a specific code, and the
exit code must say whether anything was skipped.
"""
from __future__ import annotations

import functools
import io
import json
import os
import random
import stat
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import EXIT_FAILED, EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, cli
from pipeline.config import Settings
from pipeline.errors import SkipFile
from pipeline.runner import load, run

# -- essays written for these tests (never copied from ../shared) ----------------------
SENTENCES = [
    "通过这次集中学习，我对树立和践行正确政绩观有了更加深刻的认识。",
    "政绩考核不是简单地看数字，而是要看群众得到了多少实实在在的好处。",
    "作为一名基层干部，我常常反思自己的工作是否真正做到了以人民为中心。",
    "在今后的工作中，我将把学习成果转化为推动发展的具体举措。",
    "考核办法的调整让我们明白，干事创业必须求真务实，不能搞形式主义。",
    "我们支部组织了三次专题研讨，大家结合岗位实际谈体会、找差距。",
    "去年我在社区蹲点时发现，老旧小区加装电梯的难题迟迟没有解决。",
    "对照通知要求，我梳理了自身存在的问题，主要是调查研究不够深入。",
    "下一步，我要坚持问题导向，把群众的急难愁盼作为工作的出发点。",
    "学习让我认识到，功成不必在我，功成必定有我，要甘于做打基础的工作。",
    "今年春耕时节，我们村里组织党员帮助困难户抢种了四十多亩水稻。",
    "街道把居民满意度纳入考核以后，窗口服务的等候时间缩短了一半。",
]


def essay(seed: int, n: int = 6) -> str:
    """A plausible reflection paragraph, different for each seed."""
    r = random.Random(seed)
    return "".join(r.sample(SENTENCES, n))


TRADITIONAL = ("學習心得體會\n通過這次集中學習，我對樹立和踐行正確政績觀有了更加深刻的認識。"
               "政績考核不是簡單地看數字，而是要看群眾得到了多少實實在在的好處。"
               "作為一名基層幹部，我常常反思自己的工作是否真正做到了以人民為中心。")
ENGLISH = ("Through this study session I understood that the evaluation of officials "
           "must look at what the residents actually gained. ") * 3

ESSAY_OK = "essay"


@functools.lru_cache(maxsize=2)
def _zip_bomb(mb: int) -> bytes:
    """A small .docx-shaped zip whose one entry inflates to ``mb`` MB of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(mb):
                f.write(chunk)
    return buf.getvalue()


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _pdf(encrypt: bool) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(300, 400)  # a page with no text layer, as a scan has
    if encrypt:
        w.encrypt("mima2024")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_hostile(d: Path, big: bool = False) -> dict[str, str]:
    """Write the hostile folder into ``d``.

    Returns:
        ``{source: expectation}`` for every entry written, where the expectation is
        ``"essay"`` (at least one essay comes from it) or the skip code (``X0xx``).
    """
    d.mkdir(parents=True, exist_ok=True)
    exp: dict[str, str] = {}

    def put(name: str, data: bytes, expect: str):
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        exp[name] = expect

    rnd = random.Random(20240601)
    put("ok_utf8.txt", ("学习心得体会\n" + essay(1) + "\n" + essay(2)).encode("utf-8"), ESSAY_OK)
    put("empty.txt", b"", "X001")
    put("whitespace.txt", b"  \n\t\r\n \xe3\x80\x80 \n", "X001")
    put("junk.txt", bytes(rnd.randrange(256) for _ in range(4096)), "X003")
    put("junk_no_nul.txt", bytes(rnd.randrange(1, 256) for _ in range(4096)), "X003")
    put("gbk.txt", essay(4).encode("gbk"), ESSAY_OK)
    put("gb18030.txt", (essay(5) + "㐀").encode("gb18030"), ESSAY_OK)
    put("utf16_bom.txt", essay(6).encode("utf-16"), ESSAY_OK)
    put("utf16le_nobom.txt", essay(7).encode("utf-16-le"), ESSAY_OK)
    put("utf16be_nobom.txt", essay(8).encode("utf-16-be"), ESSAY_OK)
    put("utf8_bom.txt", b"\xef\xbb\xbf" + essay(9).encode("utf-8"), ESSAY_OK)
    put("mixed_enc.txt", essay(10, 4).encode("utf-8") + essay(11, 4).encode("gbk"), "X002")
    put("traditional.txt", TRADITIONAL.encode("utf-8"), ESSAY_OK)
    put("traditional_big5.txt", TRADITIONAL.encode("big5"), ESSAY_OK)
    put("english.txt", ENGLISH.encode("ascii"), ESSAY_OK)
    put("not_a_zip.docx", "这不是一个Word文件".encode() * 30, "X006")
    put("bomb.docx", _zip_bomb(210), "X014")
    put("good.docx", _docx(["学习心得", essay(15), essay(16)]), ESSAY_OK)
    put("locked.pdf", _pdf(encrypt=True), "X007")
    put("scan.pdf", _pdf(encrypt=False), "X008")
    put("名字 有空格 😀.txt", essay(12).encode(), ESSAY_OK)
    put("evil<script>.txt", essay(17).encode(), ESSAY_OK)
    put("dup_a.txt", essay(13).encode(), ESSAY_OK)
    put("dup_b.txt", essay(13).encode(), ESSAY_OK)
    put("tiny.txt", "学习心得。".encode(), "X012")
    put("x#1.txt", "标题一\n标题二\n".encode(), "X001")  # no body; shares a prefix with x#2
    put("x#2.txt", essay(18).encode(), ESSAY_OK)
    put("notes.doc", b"\xd0\xcf\x11\xe0old word", "X009")
    put("nocol.csv", "编号,分数\n1,2\n3,4\n".encode("utf-8"), "X010")
    put("rows.csv", ("姓名,单位,心得体会\n张某,街道办," + essay(19) + "\n李某,社区,\n"
                     "王某,乡镇," + essay(20) + "\n").encode("gbk"), ESSAY_OK)
    put("rows.xlsx", _xlsx([["姓名", "正文"], ["赵某", essay(21)], ["钱某", essay(22)]]), ESSAY_OK)
    put("broken.xlsx", b"PK\x03\x04broken spreadsheet", "X015")
    put("compiled.txt", ("心得体会范文2篇\n【篇一】\n" + essay(23) + "\n【篇二】\n" + essay(24))
        .encode(), ESSAY_OK)
    put("sub/deeper/inner.txt", essay(14).encode(), ESSAY_OK)
    put("unreadable.txt", essay(25).encode(), "X005")  # read_bytes is made to fail in tests
    if big:
        line = (essay(26) + "\n").encode()
        with open(d / "big.txt", "wb") as f:
            f.write(line * (50 * 2**20 // len(line) + 1))
        exp["big.txt"] = "X004"
    if hasattr(os, "mkfifo"):
        os.mkfifo(d / "pipe.txt")  # reading it would block forever
        exp["pipe.txt"] = "X016"
    if sys.platform.startswith("linux"):
        # a GBK-encoded file name, as unzipping a Windows archive leaves them
        (d / os.fsdecode("学习心得".encode("gbk") + b".txt")).write_bytes(essay(27).encode())
        exp["学习心得.txt"] = ESSAY_OK
    os.symlink("loop.txt", d / "loop.txt")
    exp["loop.txt"] = "X013"
    os.symlink("..", d / "sub" / "back")
    exp["sub/back"] = "X013"
    os.symlink("/nonexistent/essay.txt", d / "dangling.txt")
    exp["dangling.txt"] = "X013"
    outside = d.parent / f"{d.name}_outside.txt"
    outside.write_bytes(essay(28).encode())
    os.symlink(outside, d / "outside_link.txt")
    exp["outside_link.txt"] = "X013"
    return exp


def _refuse(name: str):
    """A ``Path.read_bytes`` that raises PermissionError for files called ``name``."""
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    return read_bytes


def _owner(source: str, names: list[str]) -> str:
    """The input entry a result source belongs to (longest name that prefixes it)."""
    cands = [n for n in names if source == n or source.startswith(n + "#")]
    assert cands, f"result source {source!r} matches no input file"
    return max(cands, key=len)


def account(doc: dict, expected: dict[str, str]) -> dict[str, dict]:
    """Group results.json essays/skipped by input entry and check nothing is lost."""
    names = sorted(expected)
    by: dict[str, dict] = {n: {"essays": [], "skipped": []} for n in names}
    for e in doc["essays"]:
        by[_owner(e["source"], names)]["essays"].append(e)
    for s in doc["skipped"]:
        by[_owner(s["source"], names)]["skipped"].append(s)
    return by


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """One CLI run over the hostile folder (full default pipeline)."""
    base = tmp_path_factory.mktemp("hostile")
    src = base / "in"
    expected = build_hostile(src)
    out = base / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(Path, "read_bytes", _refuse("unreadable.txt"))
    try:
        r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out)])
    finally:
        mp.undo()
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return r, doc, expected, out


def test_hostile_folder_every_file_accounted_for(hostile_run):
    r, doc, expected, _ = hostile_run
    assert r.exit_code == EXIT_SKIPPED, r.output
    by = account(doc, expected)
    wrong = {}
    for name, want in expected.items():
        got = by[name]
        if want == ESSAY_OK:
            if not got["essays"]:
                wrong[name] = ("essay", [s["code"] for s in got["skipped"]])
        else:
            codes = [s["code"] for s in got["skipped"]]
            if got["essays"] or codes != [want]:
                wrong[name] = (want, codes, len(got["essays"]))
    assert not wrong, wrong
    # every skipped entry has a code and its reason carries the code and names the file
    for s in doc["skipped"]:
        assert s["code"].startswith("X0"), s
        assert s["reason"].startswith(f"[{s['code']}]"), s
        assert s["source"].split("#")[0].split("/")[-1] in s["reason"], s


def test_hostile_counts_add_up(hostile_run):
    r, doc, expected, _ = hostile_run
    by = account(doc, expected)
    walked = [s for s in doc["skipped"] if s["code"] == "X013"]  # never reach the reader
    assert doc["input"]["n_files"] + len(walked) == len(expected)
    with_essays = [n for n in expected if by[n]["essays"]]
    only_skipped = [n for n in expected if not by[n]["essays"]]
    assert all(by[n]["skipped"] for n in only_skipped)
    assert len(with_essays) + len(only_skipped) == len(expected)
    assert doc["input"]["n_essays"] == len(doc["essays"])
    assert doc["input"]["n_skipped"] == len(doc["skipped"])
    # compiled file -> two essays; spreadsheet rows -> one essay each, empty row skipped
    assert [e["source"] for e in by["compiled.txt"]["essays"]] == ["compiled.txt#1",
                                                                  "compiled.txt#2"]
    assert [e["source"] for e in by["rows.csv"]["essays"]] == ["rows.csv#row2", "rows.csv#row4"]
    assert [(s["source"], s["code"]) for s in by["rows.csv"]["skipped"]] == [("rows.csv#row3",
                                                                             "X011")]
    assert len(by["rows.xlsx"]["essays"]) == 2
    # the CLI summary names every skipped file
    for s in doc["skipped"]:
        assert f"skipped {s['source']}" in r.output


def test_hostile_decoded_text_is_right(hostile_run):
    _, doc, expected, _ = hostile_run
    by = account(doc, expected)

    def text(name):
        return "".join(e["text"] for e in by[name]["essays"])

    for name, seed in [("gbk.txt", 4), ("utf16_bom.txt", 6), ("utf16le_nobom.txt", 7),
                       ("utf16be_nobom.txt", 8), ("utf8_bom.txt", 9)]:
        assert text(name) == essay(seed), name
    assert text("gb18030.txt") == essay(5) + "㐀"
    for name in ("traditional.txt", "traditional_big5.txt"):
        t = text(name)
        assert "政绩考核" in t and "績" not in t, name  # cleaned to Simplified
        assert by[name]["essays"][0]["title"] == "學習心得體會"
    assert text("dup_a.txt") == text("dup_b.txt")
    assert text("学习心得.txt") == essay(27) if "学习心得.txt" in expected else True
    # the emoji/space name survives intact in results
    assert by["名字 有空格 😀.txt"]["essays"][0]["source"] == "名字 有空格 😀.txt"


def test_hostile_run_writes_valid_utf8_outputs(hostile_run):
    *_, out = hostile_run
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.suffix in (".json", ".csv", ".html"):
            p.read_bytes().decode("utf-8")  # raises on lone surrogates or bad bytes
    assert not [p for p in out.rglob("*.tmp")]


# -- single-file regressions (crashes found while building the hostile set) -----------
def test_fifo_named_txt_is_skipped_not_read(tmp_path):
    """Regression: a FIFO called .txt made read_bytes() block forever (the run hung)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    (tmp_path / "a.txt").write_text(essay(1), encoding="utf-8")
    os.mkfifo(tmp_path / "b.txt")
    _, n, essays, skipped = load(tmp_path, Settings())
    assert n == 2 and [e.source for e in essays] == ["a.txt"]
    assert [(s.source, s.code) for s in skipped] == [("b.txt", "X016")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs byte file names")
def test_gbk_file_name_does_not_crash_the_report(tmp_path):
    """Regression: a GBK-encoded name reached json as lone surrogates; writing crashed."""
    src = tmp_path / "in"
    src.mkdir()
    (src / os.fsdecode("心得".encode("gbk") + b"_\xff.txt")).write_text(essay(2))
    (src / os.fsdecode("体会".encode("gbk") + b".txt")).write_text(essay(3))
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_OK, r.output
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert sorted(e["source"] for e in doc["essays"]) == ["体会.txt", "心得_\\xff.txt"]


def test_symlink_loop_or_dangling_link_given_as_input_is_skipped(tmp_path):
    """Regression: a looping link as the input raised RuntimeError; a dangling one vanished."""
    os.symlink("self.txt", tmp_path / "self.txt")
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")
    r = CliRunner().invoke(cli, ["run", str(tmp_path / "self.txt"), "--out",
                                 str(tmp_path / "out"), "--quiet"])
    assert r.exit_code == EXIT_SKIPPED, r.output
    doc = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert [(s["source"], s["code"]) for s in doc["skipped"]] == [("self.txt", "X013")]
    _, n, essays, skipped = load(tmp_path / "dangling.txt", Settings())
    assert not essays and [(s.source, s.code) for s in skipped] == [("dangling.txt", "X013")]


def test_file_name_with_hash_is_not_hidden_by_its_neighbour(tmp_path):
    """Regression: 'x#1.txt' without a body was never reported when 'x#2.txt' had essays."""
    (tmp_path / "x#1.txt").write_text("标题一\n标题二\n", encoding="utf-8")
    (tmp_path / "x#2.txt").write_text(essay(5), encoding="utf-8")
    _, n, essays, skipped = load(tmp_path, Settings())
    assert [e.source for e in essays] == ["x#2.txt"]
    assert [(s.source, s.code) for s in skipped] == [("x#1.txt", "X001")]


def test_progress_bar_run_does_not_crash(tmp_path):
    """Regression: without --quiet, a run over 2+ files raised 'use progress bars in a with
    block' before reading anything."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.txt").write_text(essay(i), encoding="utf-8")
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(tmp_path / "out")])
    assert r.exit_code == EXIT_OK, r.output
    assert "3 essays, 0 skipped" in r.output


def test_misaligned_stage_output_skips_the_essay_not_the_run(tmp_path):
    """Regression: a stage leaving an out-of-range span made run() raise (CLI exit 2)."""
    from pipeline.clean import Cleaner
    from pipeline.essay import Span

    class BadSpans:
        name = "bad_spans"

        def __call__(self, e):
            if e.source == "b.txt":
                e.sentences = [Span(0, len(e.text) + 5)]
            return e

    for i, name in enumerate(("a.txt", "b.txt", "c.txt")):
        (tmp_path / name).write_text(essay(i), encoding="utf-8")
    res = run(tmp_path, Settings(), stages=[Cleaner(), BadSpans()])
    assert [e.source for e in res.essays] == ["a.txt", "c.txt"]
    assert [(s.source, s.code) for s in res.skipped] == [("b.txt", "X202")]


# -- the run continues past failures -----------------------------------------------
def test_unreadable_file_via_permission_error(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(essay(1), encoding="utf-8")
    (tmp_path / "unreadable.txt").write_text(essay(2), encoding="utf-8")
    (tmp_path / "z.txt").write_text(essay(3), encoding="utf-8")
    monkeypatch.setattr(Path, "read_bytes", _refuse("unreadable.txt"))
    _, n, essays, skipped = load(tmp_path, Settings())
    assert [e.source for e in essays] == ["a.txt", "z.txt"]
    assert [s.code for s in skipped] == ["X005"]
    assert "Permission denied" in skipped[0].reason and "unreadable.txt" in skipped[0].reason


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can read chmod 000 files")
def test_unreadable_file_via_chmod(tmp_path):
    (tmp_path / "a.txt").write_text(essay(1), encoding="utf-8")
    p = tmp_path / "locked.txt"
    p.write_text(essay(2), encoding="utf-8")
    p.chmod(0)
    try:
        _, n, essays, skipped = load(tmp_path, Settings())
    finally:
        p.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert [e.source for e in essays] == ["a.txt"]
    assert [(s.source, s.code) for s in skipped] == [("locked.txt", "X005")]


def test_reader_bug_is_contained(tmp_path, monkeypatch):
    """An unexpected exception inside a reader skips that file (X999); the run goes on."""
    import pipeline.ingest.read as read_mod

    def broken(data, path):
        raise ValueError("reader exploded")

    monkeypatch.setattr(read_mod, "read_docx", broken)
    (tmp_path / "a.docx").write_bytes(_docx([essay(1)]))
    (tmp_path / "b.txt").write_text(essay(2), encoding="utf-8")
    _, n, essays, skipped = load(tmp_path, Settings())
    assert [e.source for e in essays] == ["b.txt"]
    assert skipped[0].code == "X999" and "reader exploded" in skipped[0].reason


def test_stage_bug_is_contained(tmp_path):
    from pipeline.clean import Cleaner

    class Explodes:
        name = "explodes"

        def __call__(self, e):
            if "b.txt" in e.source:
                raise KeyError("boom")
            return e

    for i, name in enumerate(("a.txt", "b.txt", "c.txt")):
        (tmp_path / name).write_text(essay(i), encoding="utf-8")
    res = run(tmp_path, Settings(), stages=[Cleaner(), Explodes()])
    assert [e.source for e in res.essays] == ["a.txt", "c.txt"]
    assert res.skipped[0].code == "X999" and "explodes" in res.skipped[0].reason


def test_zip_bomb_is_refused_before_inflating(monkeypatch):
    from pipeline.ingest.office import read_docx

    def no_docx(*a, **k):
        raise AssertionError("python-docx must not open a zip bomb")

    import docx

    monkeypatch.setattr(docx, "Document", no_docx)
    with pytest.raises(SkipFile) as e:
        read_docx(_zip_bomb(210), "bomb.docx")
    assert e.value.code == "X014"


# -- exit codes ----------------------------------------------------------------------
def test_exit_code_all_fine(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(essay(1), encoding="utf-8")
    (src / "b.txt").write_bytes(essay(2).encode("gbk"))
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(tmp_path / "o"), "--quiet"])
    assert r.exit_code == EXIT_OK, r.output


def test_exit_code_some_skipped(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(essay(1), encoding="utf-8")
    (src / "b.txt").write_bytes(b"")
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(tmp_path / "o"), "--quiet"])
    assert r.exit_code == EXIT_SKIPPED, r.output
    assert (tmp_path / "o" / "results.json").exists()


@pytest.mark.parametrize("args", [["run", "{missing}", "--out", "{out}"],
                                  ["run", "{src}", "--out", "{out}", "--max-mb", "0"],
                                  ["run", "{src}", "--out", "{out}", "--min-chars", "x"],
                                  ["run", "{src}"]], ids=["missing", "max-mb", "type", "no-out"])
def test_exit_code_usage(tmp_path, args):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(essay(1), encoding="utf-8")
    fill = {"missing": tmp_path / "nope", "out": tmp_path / "o", "src": src}
    r = CliRunner().invoke(cli, [a.format(**fill) for a in args])
    assert r.exit_code == EXIT_USAGE, r.output
    assert not (tmp_path / "o" / "results.json").exists()


def test_exit_code_failed_when_output_cannot_be_written(tmp_path, monkeypatch):
    import pipeline.report.atomic as atomic

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(essay(1), encoding="utf-8")

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.AtomicFile, "write", disk_full)  # every output goes through it
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(tmp_path / "o"), "--quiet"])
    assert r.exit_code == EXIT_FAILED, r.output
    assert "X106" in r.output and "No space left" in r.output
    assert not (tmp_path / "o" / "results.json").exists()
    assert [p.name for p in (tmp_path / "o").iterdir() if p.name.startswith(".")] == [".xinde-cache"]


def test_exit_code_failed_when_a_cohort_stage_crashes(tmp_path, monkeypatch):
    import pipeline.runner as runner_mod

    class Broken:
        name, scope = "broken_cohort", "cohort"

        def process(self, essays, context):
            raise RuntimeError("cohort stage bug")

    real = runner_mod.default_stages
    monkeypatch.setattr(runner_mod, "default_stages", lambda s: [*real(s)[:3], Broken()])
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(essay(1), encoding="utf-8")
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(tmp_path / "o"), "--quiet"])
    assert r.exit_code == EXIT_FAILED
    assert "broken_cohort" in r.output
    # what the per-essay stages computed is kept, and the failure is on record
    d = json.loads((tmp_path / "o" / "results.json").read_text(encoding="utf-8"))
    assert len(d["essays"]) == 1
    assert d["stage_errors"] == [{"stage": "broken_cohort", "error": "RuntimeError: cohort stage bug"}]


# -- the 50 MB file ----------------------------------------------------------------------
@pytest.mark.slow
def test_50mb_file_skipped_by_size_without_reading(tmp_path, monkeypatch):
    expected = build_hostile(tmp_path / "in", big=True)
    assert expected["big.txt"] == "X004"
    real = Path.read_bytes

    def guarded(self):
        assert self.name != "big.txt", "an over-limit file must not be read into memory"
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    _, n, essays, skipped = load(tmp_path / "in", Settings())
    big = [s for s in skipped if s.source == "big.txt"]
    assert [s.code for s in big] == ["X004"] and "50.0 MB" in big[0].reason


@pytest.mark.slow
def test_50mb_file_within_raised_limit_is_ingested(tmp_path):
    line = (essay(26) + "\n").encode()
    (tmp_path / "big.txt").write_bytes(line * (50 * 2**20 // len(line) + 1))
    _, n, essays, skipped = load(tmp_path, Settings(max_mb=60))
    assert not skipped and len(essays) == 1
    assert len(essays[0].raw) > 16_000_000


# -- atomic output ---------------------------------------------------------------------------
class _HalfWriter:
    """Stands in for the temp file: writes half of the data, then fails like a crash."""

    def __init__(self, f, exc):
        self.f, self.exc = f, exc

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()
        return False

    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise self.exc

    def __getattr__(self, name):
        return getattr(self.f, name)


def _crash_mid_write(monkeypatch, exc, only: str = "results.json"):
    import pipeline.report.atomic as atomic

    real_fdopen = os.fdopen
    real_mkstemp = atomic.tempfile.mkstemp
    hits = []

    def mkstemp(*a, prefix="", **k):
        fd, name = real_mkstemp(*a, prefix=prefix, **k)
        if only in prefix:
            hits.append(fd)
        return fd, name

    def fdopen(fd, *a, **k):
        f = real_fdopen(fd, *a, **k)
        return _HalfWriter(f, exc) if fd in hits else f

    monkeypatch.setattr(atomic.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    return hits


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_crash_while_writing_results_keeps_previous_results(tmp_path, monkeypatch, exc):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(essay(1), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_OK, r.output
    before = (out / "results.json").read_bytes()
    (src / "b.txt").write_text(essay(2), encoding="utf-8")  # the second run differs
    hits = _crash_mid_write(monkeypatch, exc)
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert hits, "the crash hook was not reached"
    assert r.exit_code == EXIT_FAILED, r.output
    assert (out / "results.json").read_bytes() == before
    json.loads(before)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".results.json")]


def test_atomic_write_failure_at_rename_leaves_nothing(tmp_path, monkeypatch):
    from pipeline.report import atomic

    target = tmp_path / "results.json"
    atomic.atomic_write_text(target, '{"old": true}\n')

    def boom(a, b):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic.atomic_write_text(target, '{"new": true}\n')
    assert target.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_killed_writer_leaves_previous_results_intact(tmp_path):
    """SIGKILL during the write (no cleanup possible): the old file is still whole."""
    import signal
    import subprocess
    import time

    target = tmp_path / "results.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    ready = tmp_path / "ready"
    code = (
        "import os, sys, time\n"
        "import pipeline.report.atomic as a\n"
        "def slow_fsync(fd):\n"
        f"    open({str(ready)!r}, 'w').close()\n"
        "    time.sleep(60)\n"
        "a.os.fsync = slow_fsync\n"
        f"a.atomic_write_text({str(target)!r}, '{{\"new\": ' + '1' * 5_000_000 + '}}')\n")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1])
    try:
        for _ in range(600):
            if ready.exists() or p.poll() is not None:
                break
            time.sleep(0.05)
        assert ready.exists(), "writer never reached fsync"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'


# -- report safety ---------------------------------------------------------------------------
EVIL_TEXT = ('学习心得<script>alert("xss")</script>\n'
             + essay(30) + '"><img src=x onerror=alert(1)>群众满意是标准。'
             + "</textarea><!-- {{ 7*7 }} <a href=\"javascript:alert(3)\">点我</a>。"
             + essay(31))
# ('/' cannot be part of a name; names starting with '.' are hidden files and are ignored)
EVIL_NAMES = ["evil<script>alert(2)<script>.txt", '"><img src=x onerror=alert(4)>.txt',
              "evil..txt", "a..b.txt", "=HYPERLINK(\"x\").txt", "sub/../../up.txt"]


def _tags(html: str) -> list[tuple[str, list]]:
    """Start tags and their (entity-decoded) attributes, as a browser parses them."""
    from html.parser import HTMLParser

    found = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, [(k, v) for k, v in attrs]))

    P(convert_charrefs=True).feed(html)
    return found


def _is_inside(p: Path, root: Path) -> bool:
    return p.resolve() == root.resolve() or root.resolve() in p.resolve().parents


def test_report_escapes_hostile_text_and_names(tmp_path):
    import re

    src = tmp_path / "in"
    src.mkdir()
    (src / "sub").mkdir()
    made = []
    for i, name in enumerate(EVIL_NAMES):
        p = src / name
        if not _is_inside(p, src):  # the filesystem resolves '..'; keep it inside the input
            p = src / name.replace("../", "")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(EVIL_TEXT if i == 0 else essay(40 + i) + "<script>alert(5)</script>",
                     encoding="utf-8")
        made.append(p)
    out = tmp_path / "report"
    outside_before = sorted(str(p) for p in tmp_path.rglob("*") if not _is_inside(p, out))
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_OK, r.output
    # nothing written outside --out
    outside_after = sorted(str(p) for p in tmp_path.rglob("*") if not _is_inside(p, out))
    assert outside_after == outside_before
    assert all(_is_inside(p, out) for p in out.rglob("*"))
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(doc["essays"]) == len(made)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 2  # index + essay pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        low = html.lower()
        for bad in ("<script>alert", "<img src=x", "</textarea>"):
            assert bad not in low, (page.name, bad)
        tags = _tags(html)
        for tag, attrs in tags:  # the elements a browser would really build
            for name, value in attrs:
                assert not name.startswith("on"), (page.name, tag, name)  # no inline handlers
                if name in ("src", "href", "action", "formaction", "srcset"):
                    v = (value or "").strip().lower()
                    assert not v.startswith(("http:", "https:", "//", "javascript:")), (page, v)
            if tag == "script":
                assert "src" not in dict(attrs), page.name  # only the report's inline scripts
            assert tag not in ("iframe", "object", "embed", "base", "link"), (page.name, tag)
        assert any(t == "meta" and (dict(at).get("http-equiv") or "").lower()
                   == "content-security-policy" for t, at in tags), page.name
        assert "@import" not in low and "url(http" not in low
    # the hostile title is shown, escaped
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in index or "\\u003cscript\\u003e" in index
    # spreadsheet formula injection is neutralised in the CSV
    import csv

    for table in sorted(out.glob("*.csv")):
        rows = list(csv.reader(io.StringIO(table.read_text(encoding="utf-8-sig"))))
        cells = [c for row in rows for c in row]
        assert any("HYPERLINK" in c for c in cells) or table.name != "essays.csv"
        for c in cells:
            assert not c.startswith(("=", "+", "@")), (table.name, c)
            assert not (c.startswith("-") and not c[1:2].isdigit()), (table.name, c)


# -- resume after an interrupted run (the run cache, pipeline/cache.py) ---------------------
def _resume_input(d: Path, n: int = 8) -> Path:
    d.mkdir(parents=True)
    for k in range(n):
        (d / f"{k:02d}.txt").write_text(f"学习体会之{k}\n" + essay(100 + k), encoding="utf-8")
    return d


def _essays_part(out: Path) -> dict:
    """results.json without the settings block (it names the cache folder)."""
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    doc.pop("settings", None)
    return doc


def _spy_segmenter(monkeypatch, fail_at: int | None = None) -> list[str]:
    """Count the essays the segmenter really processes; raise Ctrl-C at call ``fail_at``."""
    from pipeline.segment import Segmenter

    real = Segmenter.__call__
    calls: list[str] = []

    def spy(self, e):
        calls.append(e.source)
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt
        return real(self, e)

    monkeypatch.setattr(Segmenter, "__call__", spy)
    return calls


def test_interrupted_run_resumes_from_the_cache(tmp_path, monkeypatch):
    pytest.importorskip("pipeline.cache")
    src = _resume_input(tmp_path / "in")
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        calls = _spy_segmenter(m, fail_at=5)  # Ctrl-C while the 5th essay is processed
        r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_FAILED and len(calls) == 5
    assert not (out / "results.json").exists()  # nothing half-written
    with monkeypatch.context() as m:
        calls = _spy_segmenter(m)
        r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_OK, r.output
    assert calls == ["04.txt", "05.txt", "06.txt", "07.txt"]  # 00-03 came from the cache
    fresh = tmp_path / "fresh"
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(fresh), "--quiet", "--no-cache"])
    assert r.exit_code == EXIT_OK, r.output
    assert _essays_part(out) == _essays_part(fresh)


def test_killed_run_resumes_from_the_cache(tmp_path, monkeypatch):
    """SIGKILL (no cleanup at all) in the middle of the per-essay stages, then run again."""
    import subprocess

    pytest.importorskip("pipeline.cache")
    src = _resume_input(tmp_path / "in")
    out = tmp_path / "out"
    code = (
        "import os, signal, sys\n"
        "from pipeline.segment import Segmenter\n"
        "real = Segmenter.__call__\n"
        "n = [0]\n"
        "def spy(self, e):\n"
        "    n[0] += 1\n"
        "    if n[0] == 4:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(self, e)\n"
        "Segmenter.__call__ = spy\n"
        "from pipeline.cli import main\n"
        f"main(['run', {str(src)!r}, '--out', {str(out)!r}, '--quiet'])\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == -9, p.stderr[-2000:]
    assert not (out / "results.json").exists()
    calls = _spy_segmenter(monkeypatch)
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(out), "--quiet"])
    assert r.exit_code == EXIT_OK, r.output
    assert calls == ["03.txt", "04.txt", "05.txt", "06.txt", "07.txt"]
    monkeypatch.undo()
    fresh = tmp_path / "fresh"
    r = CliRunner().invoke(cli, ["run", str(src), "--out", str(fresh), "--quiet", "--no-cache"])
    assert _essays_part(out) == _essays_part(fresh)
