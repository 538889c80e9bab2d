"""Plain-text reader: detect the encoding (BOM, strict UTF-8, then charset-normalizer).

Chinese submissions arrive as UTF-8, UTF-8 with BOM, GBK/GB18030 (Windows
Notepad, WPS) and UTF-16 (Word "Unicode text"). We never decode with
``errors="ignore"``: a text that does not decode cleanly under a detected encoding
is skipped with X002, so no characters are silently lost.
"""
from __future__ import annotations

import codecs
import re

from ..errors import SkipFile

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# Encodings we accept from the detector; anything else is more likely a wrong guess
# on binary data than a real essay encoding.
_ACCEPTED = {"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "utf_8", "utf_16", "utf_16_le",
             "utf_16_be", "hz", "cp950", "cp936", "ascii", "utf_32"}
#: What makes a decoded text implausible: control chars, private use, U+FFFD.
_IMPLAUSIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000-\uf8ff\ufffd]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: CJK/ASCII text has a telltale pattern of zero bytes."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    ze, zo = even.count(0) / len(even), odd.count(0) / len(odd)
    if zo > 0.3 and ze < 0.05:
        return "utf-16-le"
    if ze > 0.3 and zo < 0.05:
        return "utf-16-be"
    # All-CJK UTF-16 has no zero bytes; accept if it decodes to mostly CJK.
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            s = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if s and sum("\u4e00" <= c <= "\u9fff" for c in s) / len(s) > 0.6:
            return enc
    return None


def _plausible(text: str) -> bool:
    """Decoded text looks like human text: few control chars, not mostly private-use."""
    if not text:
        return True
    return len(_IMPLAUSIBLE.findall(text)) / len(text) < 0.01


def decode_bytes(data: bytes, path: str) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``.

    Raises:
        SkipFile: X001 (empty), X003 (binary) or X002 (no encoding fits).
    """
    if not data.strip(b" \t\r\n\x00"):
        raise SkipFile("X001", path=path)
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                raise SkipFile("X002", path=path) from None
            if text.startswith("\ufeff"):
                text = text[1:]
            return _checked(text, enc, path)
    try:
        return _checked(data.decode("utf-8"), "utf-8", path)
    except UnicodeDecodeError:
        pass
    enc16 = _looks_utf16(data)
    if enc16:
        try:
            return _checked(data.decode(enc16), enc16, path)
        except UnicodeDecodeError:
            pass
    if b"\x00" in data or len(_CONTROL_BYTES.findall(data)) > 0.01 * len(data):
        raise SkipFile("X003", path=path)  # no text encoding uses C0 controls this often
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "utf_16"]).best() \
        or from_bytes(data).best()
    if best is None or best.encoding not in _ACCEPTED:
        # GB18030 is a superset of GBK/GB2312: try it strictly before giving up.
        try:
            return _checked(data.decode("gb18030"), "gb18030", path)
        except UnicodeDecodeError:
            raise SkipFile("X002", path=path) from None
    enc = "gb18030" if best.encoding in ("gbk", "gb2312", "cp936") else best.encoding
    try:
        return _checked(data.decode(enc), enc, path)
    except UnicodeDecodeError:
        raise SkipFile("X002", path=path) from None


def _checked(text: str, enc: str, path: str) -> tuple[str, str]:
    if not _plausible(text):
        raise SkipFile("X003", path=path)
    if not text.strip():
        raise SkipFile("X001", path=path)
    return text, enc
