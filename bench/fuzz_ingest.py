"""Fuzz ingest + split + clean with mutated real-looking files; report crashes and hangs.

A seeded mutation fuzzer (no extra dependency): it starts from valid inputs of
every supported kind (UTF-8/GBK/UTF-16/Big5 text, a compiled 范文合集, CSV,
XLSX, DOCX, a PDF with a text layer, an encrypted PDF) and mutates them — bit
flips, byte runs, inserts of "interesting" tokens (BOMs, NULs, headings such as
【篇一】, hidden-content markers), truncation, splicing two seeds, and, for the
zip-based formats, mutating one member *inside* the archive so python-docx and
openpyxl parse damaged XML rather than just failing the zip CRC.

Each input is written to a file and goes through ``read_file`` → ``Splitter`` →
``clean_text`` (optionally the segmenter). The only acceptable outcomes are an
essay or a :class:`~pipeline.errors.SkipFile` with its code; anything else is a
crash, and an input taking longer than ``--timeout`` seconds is a hang. Every
crash/hang input is saved under ``--crash-dir`` for replay.

Usage::

    python bench/fuzz_ingest.py --iterations 20000          # ~minutes
    python bench/fuzz_ingest.py --seconds 600 --segment      # time-boxed, with jieba
    python bench/fuzz_ingest.py --replay bench/results/fuzz_crashes/xxx.docx
    python bench/fuzz_ingest.py --atheris                    # coverage-guided, if installed

Writes a JSON summary (outcomes by code and by seed kind) to ``--out``.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.clean import clean_text  # noqa: E402
from pipeline.errors import SkipFile  # noqa: E402
from pipeline.ingest import read_file  # noqa: E402
from pipeline.split import Splitter  # noqa: E402

SENTENCES = [
    "通过这次集中学习，我对树立和践行正确政绩观有了更加深刻的认识。",
    "政绩考核不是简单地看数字，而是要看群众得到了多少实实在在的好处。",
    "去年我在社区蹲点时发现，老旧小区加装电梯的难题迟迟没有解决。",
    "对照通知要求，我梳理了自身存在的问题，主要是调查研究不够深入。",
    "下一步，我要坚持问题导向，把群众的急难愁盼作为工作的出发点。",
    "街道把居民满意度纳入考核以后，窗口服务的等候时间缩短了一半。",
]
TOKENS = [b"\x00", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\n\n\n", b"\t",
          b'"', b",", b";", b"\xe3\x80\x80", b"\xe2\x80\x8b", b"\xc2\xa0", b"\xff", b"\x80",
          "【篇一】".encode(), "\n第二篇：学习体会\n".encode(), "心得体会三\n".encode(),
          "此处隐藏部分文章内容".encode(), "第 3 页 共 9 页\n".encode(), "政績(jī)觀".encode(),
          "學習".encode("big5"), "学习".encode("gbk"), b"<w:t>", b"</w:p>", b"obj", b"endobj",
          b"stream", b"/Length 99999999", b"trailer", b"%%EOF", b"<?xml", b"&amp;", b"]]>"]


def _essay(k: int, n: int = 5) -> str:
    return "".join(SENTENCES[(k + i) % len(SENTENCES)] for i in range(n))


def _docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("学习心得体会")
    d.add_paragraph(_essay(0))
    t = d.add_table(rows=1, cols=2)
    t.rows[0].cells[0].text, t.rows[0].cells[1].text = "体会", _essay(2, 2)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["姓名", "单位", "心得体会"], ["张某", "街道办", _essay(1)], ["李某", "社区", _essay(3)]):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _pdf(encrypt: bool = False) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    w = PdfWriter()
    page = w.add_blank_page(300, 300)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
    s = DecodedStreamObject()
    s.set_data(b"BT /F1 10 Tf 20 250 Td (Study notes on the evaluation reform for officials.) "
               b"Tj 0 -14 Td (Residents satisfaction is the yardstick of our work.) Tj ET")
    page[NameObject("/Contents")] = w._add_object(s)
    if encrypt:
        w.encrypt("mima")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def seed_inputs() -> list[tuple[str, str, bytes]]:
    """``(kind, suffix, bytes)`` of valid inputs the mutations start from."""
    compiled = "心得体会范文2篇\n【篇一】\n" + _essay(0) + "\n【篇二】\n" + _essay(3)
    return [
        ("utf8", ".txt", ("学习体会\n" + _essay(0)).encode()),
        ("gbk", ".txt", _essay(1).encode("gbk")),
        ("utf16", ".txt", _essay(2).encode("utf-16")),
        ("utf16le", ".txt", _essay(3).encode("utf-16-le")),
        ("big5", ".txt", "學習心得體會：政績考核要看群眾得到了多少實實在在的好處。".encode("big5") * 3),
        ("compiled", ".md", compiled.encode()),
        ("csv", ".csv", ("姓名,心得体会\n张某," + _essay(4) + "\n李某,\"" + _essay(5) + "\"\n")
         .encode("gbk")),
        ("xlsx", ".xlsx", _xlsx()),
        ("docx", ".docx", _docx()),
        ("pdf", ".pdf", _pdf()),
        ("pdf_encrypted", ".pdf", _pdf(encrypt=True)),
    ]


# -- mutation -------------------------------------------------------------------------------
def mutate_bytes(data: bytes, rnd: random.Random, others: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.choice((1, 1, 2, 3, 8))):
        op = rnd.randrange(8)
        n = len(b)
        if op == 0 and n:  # bit flips
            i = rnd.randrange(n)
            b[i] ^= 1 << rnd.randrange(8)
        elif op == 1 and n:  # random byte run
            i = rnd.randrange(n)
            b[i:i + rnd.randrange(1, 16)] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 16)))
        elif op == 2:  # interesting token
            i = rnd.randrange(n + 1)
            b[i:i] = rnd.choice(TOKENS) * rnd.choice((1, 1, 2, 50))
        elif op == 3 and n:  # delete a range
            i = rnd.randrange(n)
            del b[i:i + rnd.randrange(1, max(2, n // 4))]
        elif op == 4 and n:  # duplicate a range
            i = rnd.randrange(n)
            j = min(n, i + rnd.randrange(1, 256))
            b[j:j] = b[i:j] * rnd.randrange(1, 20)
        elif op == 5 and n:  # truncate
            del b[rnd.randrange(n):]
        elif op == 6 and others:  # splice with another input
            o = rnd.choice(others)
            if o:
                i, j = rnd.randrange(n + 1), rnd.randrange(len(o))
                b[i:] = o[j:]
        elif op == 7 and n:  # swap two chunks
            i, j = sorted(rnd.randrange(n) for _ in range(2))
            b[i:j] = bytes(reversed(b[i:j]))
    return bytes(b)


def mutate_zip(data: bytes, rnd: random.Random, others: list[bytes]) -> bytes:
    """Mutate one member inside a zip (docx/xlsx) and re-zip, keeping CRCs valid."""
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
        members = [(i, zin.read(i.filename)) for i in zin.infolist()]
    except Exception:
        return mutate_bytes(data, rnd, others)
    k = rnd.randrange(len(members))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for idx, (info, content) in enumerate(members):
            if idx == k:
                content = mutate_bytes(content, rnd, [])
            if rnd.random() < 0.02:
                continue  # drop a member
            zout.writestr(info.filename, content)
    return buf.getvalue()


# -- the target -----------------------------------------------------------------------------
class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def check_cleaned(body: str) -> None:
    c = clean_text(body)
    m = c.char_map
    assert len(m) == len(c.text) + 1, "char map length"
    assert all(a <= b for a, b in zip(m, m[1:])), "char map not monotonic"
    assert all(0 <= j < len(body) for j in m[:-1]), "char map out of range"
    assert clean_text(c.text).text == c.text, "cleaning not idempotent"


def ingest_one(path: Path, data: bytes, segmenter=None) -> str:
    """Run one input through ingest → split → clean; return ``essay`` or the skip code.

    Raises:
        Any exception other than SkipFile: a crash (the caller records it).
    """
    path.write_bytes(data)
    try:
        docs, parts_skipped = read_file(path, path.name, max_mb=20)
    except SkipFile as e:
        return e.code
    splitter = Splitter()
    n = 0
    for d in docs:
        assert isinstance(d.text, str)
        d.text.encode("utf-8")  # no lone surrogates can reach results.json
        for part in splitter(d.text, d.splittable):
            assert d.text[part.start:part.start + len(part.body)] == part.body, "part offset"
            check_cleaned(part.body)
            if segmenter is not None:
                text = clean_text(part.body).text
                toks = segmenter.tokens(text)
                assert "".join(t.text for t in toks) == "".join(c for c in text if not c.isspace())
            n += 1
    if n:
        return "essay"
    return parts_skipped[0][2] if parts_skipped else "no-parts"


def run(iterations: int | None, seconds: float | None, seed: int, timeout: float,
        crash_dir: Path | None, segment: bool = False, quiet: bool = False) -> dict:
    """The fuzz loop; returns the summary (see module docstring)."""
    seeds = seed_inputs()
    blobs = [s[2] for s in seeds]
    rnd = random.Random(seed)
    segmenter = None
    if segment:
        from pipeline.segment import Segmenter

        segmenter = Segmenter(ROOT / "models" / "jieba_userdict.txt")
    outcomes: Counter = Counter()
    by_kind: dict[str, Counter] = {}
    crashes: list[dict] = []
    old = signal.signal(signal.SIGALRM, _alarm)
    t0 = time.perf_counter()
    i = 0
    with tempfile.TemporaryDirectory(prefix="xinde-fuzz-") as tmp:
        tmpd = Path(tmp)
        try:
            while True:
                if iterations is not None and i >= iterations:
                    break
                if seconds is not None and time.perf_counter() - t0 > seconds:
                    break
                kind, suffix, data = seeds[i % len(seeds)] if i < len(seeds) else rnd.choice(seeds)
                if i >= len(seeds):  # first pass: the unmutated seeds themselves
                    zipped = suffix in (".docx", ".xlsx") and rnd.random() < 0.7
                    data = (mutate_zip if zipped else mutate_bytes)(data, rnd, blobs)
                    if rnd.random() < 0.1:  # the same bytes under another name
                        suffix = rnd.choice([".txt", ".md", ".csv", ".docx", ".pdf", ".xlsx"])
                path = tmpd / f"input{suffix}"
                signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    out = ingest_one(path, data, segmenter)
                except Hang:
                    out = "HANG"
                except Exception as e:  # noqa: BLE001 - this is what we look for
                    out = f"CRASH:{type(e).__name__}"
                    tb = traceback.format_exc(limit=6)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                outcomes[out] += 1
                by_kind.setdefault(kind, Counter())[out] += 1
                if out == "HANG" or out.startswith("CRASH"):
                    h = hashlib.sha1(data).hexdigest()[:12]
                    rec = {"iteration": i, "kind": kind, "suffix": suffix, "outcome": out,
                           "sha1": h, "traceback": tb if out != "HANG" else ""}
                    if crash_dir is not None:
                        crash_dir.mkdir(parents=True, exist_ok=True)
                        (crash_dir / f"{h}{suffix}").write_bytes(data)
                        rec["file"] = str(crash_dir / f"{h}{suffix}")
                    crashes.append(rec)
                    if not quiet:
                        print(f"[{i}] {kind}{suffix}: {out}\n{rec['traceback']}", file=sys.stderr)
                i += 1
                if not quiet and i % 1000 == 0:
                    print(f"{i} inputs, {dict(outcomes)}", file=sys.stderr)
        finally:
            signal.signal(signal.SIGALRM, old)
    elapsed = time.perf_counter() - t0
    return {"inputs": i, "seconds": round(elapsed, 1), "seed": seed, "segment": segment,
            "timeout_s": timeout, "outcomes": dict(sorted(outcomes.items())),
            "by_seed_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
            "crashes": crashes, "n_crashes": len(crashes)}


def replay(path: Path, segment: bool) -> None:
    segmenter = None
    if segment:
        from pipeline.segment import Segmenter

        segmenter = Segmenter(ROOT / "models" / "jieba_userdict.txt")
    with tempfile.TemporaryDirectory() as tmp:
        print(ingest_one(Path(tmp) / f"input{path.suffix}", path.read_bytes(), segmenter))


def run_atheris() -> None:  # pragma: no cover - optional, needs `pip install atheris`
    import atheris

    suffixes = [".txt", ".md", ".csv", ".docx", ".pdf", ".xlsx"]
    tmp = Path(tempfile.mkdtemp(prefix="xinde-atheris-"))

    def target(data: bytes):
        if not data:
            return
        ingest_one(tmp / f"input{suffixes[data[0] % len(suffixes)]}", data[1:])

    atheris.Setup(sys.argv[:1] + [a for a in sys.argv[1:] if a.startswith("-atheris")], target)
    atheris.Fuzz()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=None, help="inputs to try")
    ap.add_argument("--seconds", type=float, default=None, help="time box (default 120 s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=20.0, help="per input; longer is a hang")
    ap.add_argument("--segment", action="store_true", help="also run the jieba segmenter")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fuzz_ingest.json")
    ap.add_argument("--crash-dir", type=Path, default=ROOT / "bench" / "results" / "fuzz_crashes")
    ap.add_argument("--replay", type=Path, help="run one saved input and print its outcome")
    ap.add_argument("--atheris", action="store_true", help="coverage-guided (needs atheris)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.replay:
        replay(a.replay, a.segment)
        return 0
    if a.atheris:
        run_atheris()
        return 0
    if a.iterations is None and a.seconds is None:
        a.seconds = 120.0
    summary = run(a.iterations, a.seconds, a.seed, a.timeout, a.crash_dir, a.segment, a.quiet)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k not in ("crashes", "by_seed_kind")},
                     ensure_ascii=False))
    return 1 if summary["n_crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
