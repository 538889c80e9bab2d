"""Ingest: encodings detected (not guessed), office formats, spreadsheets, clear skips."""
from __future__ import annotations

import codecs
import io

import pytest

from pipeline.errors import SkipFile
from pipeline.ingest import discover, read_file
from pipeline.ingest.text import decode_bytes

ESSAY = ("学习《关于改进推动高质量发展的政绩考核的通知》心得体会\n"
         "今年三月，我们街道把群众满意度纳入社区书记的年度考核，"
         "全年收集居民评价一千二百余条，其中“好差评”差评四十三条，逐条回访整改。")


@pytest.mark.parametrize("enc", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le",
                                 "utf-16-be"])
def test_decode_detects_encodings(enc):
    data = ESSAY.encode(enc)
    text, found = decode_bytes(data, "a.txt")
    assert text == ESSAY
    if enc in ("gbk", "gb18030"):
        assert found == "gb18030"  # superset of GBK: decodes both identically


def test_decode_traditional_big5():
    trad = "學習政績考核通知心得體會：把人民群眾的獲得感、幸福感、安全感作為評判標準。" * 3
    text, enc = decode_bytes(trad.encode("big5"), "t.txt")
    assert text == trad


def test_empty_and_whitespace_files_are_skipped():
    with pytest.raises(SkipFile) as e:
        decode_bytes(b"  \r\n\t ", "blank.txt")
    assert e.value.code == "X001" and "blank.txt" in str(e.value)


def test_binary_junk_is_not_decoded_as_text():
    import random

    rnd = random.Random(7)
    junk = bytes(rnd.randrange(256) for _ in range(4000))
    with pytest.raises(SkipFile) as e:
        decode_bytes(junk, "junk.txt")
    assert e.value.code in ("X002", "X003")
    assert "junk.txt" in str(e.value)


def test_read_docx_paragraphs_and_tables(tmp_path):
    import docx

    d = docx.Document()
    d.add_paragraph("学习政绩考核通知的体会")
    d.add_paragraph("我们科室今年把平时考核结果和评先评优挂钩。")
    t = d.add_table(rows=1, cols=2)
    t.rows[0].cells[0].text = "整改事项"
    t.rows[0].cells[1].text = "群众反映的停车难问题"
    p = tmp_path / "体会.docx"
    d.save(p)
    docs, parts = read_file(p, "体会.docx")
    assert parts == []
    assert "平时考核结果" in docs[0].text and "停车难" in docs[0].text
    assert docs[0].kind == "docx"


def test_broken_docx_names_file_and_fix(tmp_path):
    p = tmp_path / "坏.docx"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SkipFile) as e:
        read_file(p, "坏.docx")
    assert e.value.code == "X006"
    assert "坏.docx" in str(e.value) and "save it again" in str(e.value)


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose text layer holds ``text`` (ASCII, Helvetica)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def test_read_pdf_text_layer(tmp_path):
    p = tmp_path / "essay.pdf"
    p.write_bytes(_pdf_with_text("Performance assessment reflections of the street office"))
    docs, _ = read_file(p, "essay.pdf")
    assert "Performance assessment" in docs[0].text


def test_pdf_without_text_layer_and_broken_pdf(tmp_path):
    p = tmp_path / "scan.pdf"
    p.write_bytes(_pdf_with_text(""))
    with pytest.raises(SkipFile) as e:
        read_file(p, "scan.pdf")
    assert e.value.code == "X008" and "OCR" in str(e.value)
    q = tmp_path / "broken.pdf"
    q.write_bytes(b"%PDF-1.4\ngarbage")
    with pytest.raises(SkipFile) as e:
        read_file(q, "broken.pdf")
    assert e.value.code in ("X007", "X008")


def test_csv_rows_are_submissions_with_author_and_unit(tmp_path):
    body = "我们所今年推行“首问负责”，窗口平均办理时间从四十分钟降到十八分钟，群众评价满意率百分之九十六。"
    csv_text = f"姓名,单位,心得体会\n张某,城东税务所,{body}\n李某,城西街道,\n王某,第一中学,{body}再补一句。\n"
    p = tmp_path / "汇总.csv"
    p.write_bytes(codecs.BOM_UTF8 + csv_text.encode("utf-8"))
    docs, skipped = read_file(p, "汇总.csv")
    assert [d.meta["author"] for d in docs] == ["张某", "王某"]
    assert docs[0].meta["unit"] == "城东税务所" and docs[0].source == "汇总.csv#row2"
    assert not docs[0].splittable
    assert skipped and skipped[0][0] == "汇总.csv#row3" and skipped[0][2] == "X011"


def test_csv_text_column_flag_and_missing_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("name,body\n甲,我们支部每月开展一次政绩观专题研讨，已经坚持了十个月。\n", encoding="utf-8")
    docs, _ = read_file(p, "t.csv", text_column="body")
    assert "专题研讨" in docs[0].text
    with pytest.raises(SkipFile) as e:
        read_file(p, "t.csv", text_column="正文")
    assert e.value.code == "X010" and "--text-column" in str(e.value)


def test_xlsx_rows(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["作者", "内容"])
    ws.append(["赵某", "通过学习，我认识到考核结果必须与干部的选拔任用真正挂钩，不能一评了之。"])
    p = tmp_path / "a.xlsx"
    wb.save(p)
    docs, _ = read_file(p, "a.xlsx")
    assert docs[0].meta == {"row": 2, "author": "赵某"}
    assert "选拔任用" in docs[0].text


def test_unsupported_and_too_large(tmp_path):
    p = tmp_path / "x.doc"
    p.write_bytes(b"\xd0\xcf\x11\xe0 old word")
    with pytest.raises(SkipFile) as e:
        read_file(p, "x.doc")
    assert e.value.code == "X009" and ".docx" in str(e.value)
    big = tmp_path / "big.txt"
    big.write_bytes("政绩".encode() * 400_000)  # 2.4 MB
    with pytest.raises(SkipFile) as e:
        read_file(big, "big.txt", max_mb=1)
    assert e.value.code == "X004" and "--max-mb" in str(e.value)


def test_discover_is_sorted_recursive_and_skips_symlink_loops(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text(ESSAY, encoding="utf-8")
    (tmp_path / "1.txt").write_text(ESSAY, encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text(ESSAY, encoding="utf-8")
    (tmp_path / "b" / "loop").symlink_to(tmp_path)
    root, files, skipped = discover(tmp_path)
    assert [f.relative_to(root).as_posix() for f in files] == ["1.txt", "b/2.txt"]
    assert [s.code for s in skipped] == ["X013"] and skipped[0].source == "b/loop"


# -- read_files: the reading loop of runner.load, order kept whatever runs it --------
def _mixed_folder(root, n_plain=3):
    (root / "sub").mkdir()
    for i in range(n_plain):
        (root / f"a{i:03d}.txt").write_text(ESSAY + f"第{i}份。", encoding="utf-8")
    (root / "gbk.txt").write_bytes(ESSAY.encode("gbk"))
    (root / "empty.txt").write_bytes(b"  \n")
    (root / "sub" / "broken.docx").write_bytes(b"not a zip")
    (root / "notes.rtf").write_text("x", encoding="utf-8")
    row = ESSAY.replace("\n", "")
    (root / "rows.csv").write_text(f"姓名,心得体会\n张三,{row}\n李四,\n", encoding="utf-8")


def test_read_files_matches_load(tmp_path):
    from pipeline.config import Settings
    from pipeline.ingest.batch import read_files
    from pipeline.runner import load

    _mixed_folder(tmp_path)
    root, files, _ = discover(tmp_path)
    docs, skipped = read_files(files, root, Settings())
    assert [d.source for d in docs] == ["a000.txt", "a001.txt", "a002.txt", "gbk.txt",
                                        "rows.csv#row2"]
    assert docs[3].text == ESSAY and docs[3].meta["encoding"] == "gb18030"
    assert [(s.source, s.code) for s in skipped] == [
        ("empty.txt", "X001"), ("notes.rtf", "X009"), ("rows.csv#row3", "X011"),
        ("sub/broken.docx", "X006")]
    _, n_files, essays, load_skipped = load(tmp_path, Settings())
    assert n_files == len(files) and load_skipped == skipped
    assert [e.raw for e in essays][:4] == [d.text.split("\n", 1)[1] for d in docs[:4]]


def test_read_files_same_result_over_workers(tmp_path):
    from pipeline.config import Settings
    from pipeline.ingest.batch import read_files
    from pipeline.parallel import map_shared

    _mixed_folder(tmp_path, n_plain=70)  # above the in-process threshold of map_shared
    root, files, _ = discover(tmp_path)
    serial = read_files(files, root, Settings())
    parallel = read_files(files, root, Settings(),
                          map_fn=lambda fn, items: map_shared(fn, items, 2))
    backwards = read_files(files, root, Settings(),
                           map_fn=lambda fn, items: [fn(f) for f in items[::-1]][::-1])
    assert serial == parallel == backwards
    assert len(serial[0]) == 72 and len(serial[1]) == 4


def test_read_one_turns_reader_bugs_into_x999(tmp_path, monkeypatch):
    from pipeline.config import Settings
    from pipeline.ingest import batch

    f = tmp_path / "a.txt"
    f.write_text(ESSAY, encoding="utf-8")

    def boom(*a, **k):
        raise RuntimeError("reader bug")

    monkeypatch.setattr(batch, "read_file", boom)
    docs, skipped = batch.read_one(f, tmp_path, Settings())
    assert docs == [] and skipped[0].code == "X999" and "reader bug" in skipped[0].reason
