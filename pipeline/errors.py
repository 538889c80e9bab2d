"""The error tree of xinde.

Every error carries a stable code (``X###``), names the file it is about and says
how to fix it, in the manner of spaCy's ``Errors`` table: one module owns the
wording so messages stay consistent and tests can match on codes.

Ingest problems are not raised to the caller of a run: the runner turns them into
``skipped`` entries (see :class:`SkipFile`) so one bad file never stops a run.
"""
from __future__ import annotations


class Errors:
    """Message templates, keyed by code. Use ``Errors.X001.format(...)``."""

    # ingest (X0xx): become `skipped` entries with the message as reason
    X001 = "文件为空 (empty file): {path}. Remove it or add the essay text."
    X002 = ("无法识别文本编码 (unknown text encoding): {path}. Save it as UTF-8 "
            "(记事本/WPS: 另存为 → 编码 UTF-8) and run again.")
    X003 = ("看起来是二进制文件而非文本 (binary content in a text file): {path}. "
            "Check that the file is really an essay; rename it to its real extension.")
    X004 = ("文件过大 (file too large): {path} is {size_mb:.1f} MB, limit {limit_mb:.0f} MB. "
            "Split it, or raise the limit with --max-mb.")
    X005 = "无法读取文件 (cannot read file): {path}: {detail}. Check its permissions (chmod a+r)."
    X006 = ("Word 文件已损坏或不是 .docx (broken .docx): {path}: {detail}. Open it in Word/WPS "
            "and save it again as .docx (old .doc files must be converted).")
    X007 = ("PDF 文件无法读取 (broken or encrypted PDF): {path}: {detail}. Remove the "
            "password or export the PDF again.")
    X008 = ("PDF 没有文字层 (PDF has no text layer, probably a scan): {path}. Run OCR on it "
            "or submit the original document.")
    X009 = "不支持的文件类型 (unsupported file type {suffix!r}): {path}. Supported: {supported}."
    X010 = ("表格中找不到正文列 (no text column) in {path}: columns are {columns}. "
            "Name it with --text-column.")
    X011 = "表格行没有正文 (empty text cell): {path} row {row}."
    X012 = ("文本过短 (too short to assess): {path} has {n} characters of text after "
            "cleaning; at least {min_chars} are needed.")
    X013 = "符号链接循环或指向输入目录之外 (symlink loop or outside the input): {path}. Skipped."
    X014 = ("Word 文件解压后过大 (.docx expands to {size_mb:.0f} MB, a zip bomb?): {path}. "
            "Open it in Word/WPS and save it again.")
    X015 = ("表格文件已损坏 (broken spreadsheet): {path}: {detail}. Save it again as .xlsx "
            "or UTF-8 .csv.")
    X016 = ("不是普通文件 (not a regular file: a pipe, socket or device): {path}. "
            "Copy the essay into an ordinary file.")
    X017 = ("文章过长 (essay too long to be one submission): {path} has {n} characters, limit "
            "{max_chars}. Split the file into essays (e.g. `xinde split`), or raise --max-chars.")

    # configuration and usage (X1xx): raised, mapped to click errors by the CLI
    X101 = "输入路径不存在 (input not found): {path}. Give a folder or a file of essays."
    X102 = ("主题配置文件无效 (invalid theme profile) {path}: {detail}. See "
            "models/profiles/zhengji-kaohe.toml for the format.")
    X103 = "找不到主题配置 (unknown profile {name!r}). Known: {known}; or give a path to a .toml file."
    X104 = "参数无效 (invalid setting) {name}={value!r}: {detail}."
    X105 = ("参考索引文件无效 (invalid reference index) {path}: {detail}. Build it again with "
            "`xinde index DIR --out FILE`.")
    X106 = "输出目录不可写 (cannot write output) {path}: {detail}."
    X107 = "词典文件无效 (invalid dictionary file) {path} line {line}: {detail}."
    X130 = ("政策原文文件没有正文 (policy file has no text) {path}: only comments or blank "
            "lines. Give the text of the studied document (lines starting with # are comments).")
    X131 = ("范文目录中没有可读的文章 (no template essays found) in {path}. Put .txt/.docx/.pdf "
            "template essays there.")
    X132 = "列表文件无法读取 (cannot read list file) {path}: {detail}. Save it as UTF-8 text."
    X133 = ("查重临时文件写入失败 (cannot write the duplication scratch file) in {path}: "
            "{detail}. It needs about 25 bytes per essay character while the stage runs: free "
            "space there or point TMPDIR at a larger disk.")
    X140 = ("输出文件已存在 (output file exists) {path}: pass --force to overwrite it, or "
            "choose another --out.")
    X120 = ("投入度配置无效 (invalid engagement config) {path}: {detail}. See "
            "models/engagement.toml for the format.")

    # internal consistency (X2xx): bugs, never the user's fault
    X201 = ("分词结果与原文不对齐 (segmenter output does not align with the text) at char "
            "{pos} of essay {essay_id}: expected {expected!r}, got {got!r}. Please report this.")
    X202 = "偏移量越界 (offset out of range): {what} [{start}, {end}) in text of length {n}."


class XindeError(Exception):
    """Base class of all errors raised by xinde.

    Args:
        code: The key in :class:`Errors`, e.g. ``"X101"``.
        **fields: Values for the message template.
    """

    def __init__(self, code: str, **fields):
        self.code = code
        self.fields = fields
        template = getattr(Errors, code)
        super().__init__(f"[{code}] " + template.format(**fields))


class SkipFile(XindeError):
    """An input file (or row) that cannot be processed; becomes a ``skipped`` entry."""


class ConfigError(XindeError):
    """Invalid settings, profile or dictionary."""


class InputError(XindeError):
    """The input path itself is unusable (missing), so the run cannot start."""


class AlignmentError(XindeError):
    """A stage produced offsets that do not match the text (a bug)."""
