"""Sentences and words with char offsets.

:class:`Segmenter` owns its own ``jieba.Tokenizer`` (never the global one) with
a small curated domain dictionary (``models/jieba_userdict.txt``) and a spaCy
``blank("zh")`` pipeline whose tokenizer is replaced by one that feeds it that
jieba instance. As in spaCy's own ``ChineseTokenizer``, the words are aligned to
the text with ``spacy.util.get_words_and_spaces``, which raises when the
segmenter dropped or changed characters: alignment is checked, never assumed.

Sentences end at 。！？ (and ! ? …) together with any closing quotes or brackets
that follow, or at a line break (headings and list items have no full stop).

Speed (see docs/performance.md): :meth:`Segmenter.tokens` first aligns the
words itself (each word must start exactly where the previous one ended) and
only falls back to spaCy's ``get_words_and_spaces`` — which then raises X201 on
a real mismatch — when that fails; the tokens are identical either way.
``backend="rjieba"`` cuts with a private ``rjieba.Jieba`` (jieba-rs, the same
dictionary and HMM) and re-cuts its multi-char non-Chinese words with the Python
jieba, where the two differ (``3-5``); measured identical to the Python jieba on
3M chars of essays. ``backend="auto"`` uses rjieba when it is installed.
"""
from __future__ import annotations

import logging
import re
import sys
import warnings
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

from .errors import AlignmentError, ConfigError
from .essay import CharMap, Span, SpanList, Token, make_token, packed_ints

_HAN = re.compile("[\u4e00-\u9fd5]")
#: Runs Python jieba (HMM on) keeps whole, like its own ``re_skip`` (``2024``, ``5.2%``).
_NUMBER = re.compile(r"[a-zA-Z0-9]+(?:\.\d+)?%?")
BACKENDS = ("jieba", "rjieba", "auto")
#: A word without Chinese that is longer than one char lies inside such a run.
_NON_HAN_RUN = re.compile("[^\u4e00-\u9fd5]{2,}")
_SPACE = re.compile(r"\s+")  # ``\s`` is exactly ``str.isspace`` on str patterns
_SENT = re.compile(r"[^\n]*?(?:[。！？!?]+|…{1,2}|\.{3,6})[”’」』）)》\"']*|[^\n]+")


def sentence_offsets(text: str) -> list[int]:
    """``[start0, end0, start1, …]`` of the sentences of ``text`` (see :func:`split_sentences`)."""
    out: list[int] = []
    for m in _SENT.finditer(text):
        s, e = m.span()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(s)
            out.append(e)
    return out


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``, stripped of surrounding whitespace."""
    o = sentence_offsets(text)
    return [Span(o[k], o[k + 1]) for k in range(0, len(o), 2)]


def sentence_list(text: str) -> SpanList:
    """:func:`split_sentences` as a compact :class:`~pipeline.essay.SpanList`."""
    return SpanList.from_offsets(sentence_offsets(text))


def _quiet_import_jieba():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
    logging.getLogger("jieba").setLevel(logging.WARNING)
    return jieba


def check_userdict(path: Path) -> None:
    """Validate a jieba user dictionary: ``word [freq] [tag]`` per line.

    Raises:
        ConfigError: X107 naming the line.
    """
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.strip().split()
        if not parts:
            continue
        if len(parts) > 3 or (len(parts) >= 2 and not parts[1].isdigit()):
            raise ConfigError("X107", path=path, line=n,
                              detail="expected `word [frequency] [pos-tag]`")


def token_texts(tokens) -> list[str]:
    """Strings of ``tokens`` (a :class:`TokenList` or any list of :class:`Token`)."""
    texts = getattr(tokens, "texts", None)
    return texts() if texts is not None else [t.text for t in tokens]


def token_offsets(tokens) -> array | None:
    """``array("i")`` of ``[start0, end0, start1, …]`` of a compact :class:`TokenList`
    (decoded once: keep it for a whole pass), ``None`` for any other token list."""
    return tokens.offsets() if isinstance(tokens, TokenList) else None


def _delta_pack(offsets) -> array:
    """Offsets ``[s0, e0, s1, e1, …]`` as differences from the previous one (the first
    from 0), in the smallest array type that holds them: ``"B"`` (1 byte) for word
    tokens, whose lengths and gaps are short."""
    import numpy as np

    if not isinstance(offsets, array) or offsets.typecode != "i":
        offsets = array("i", offsets)
    if not offsets:
        return array("B")
    v = np.frombuffer(offsets, dtype=np.intc)
    d = np.empty(len(v), dtype=np.intc)
    d[0] = v[0]
    np.subtract(v[1:], v[:-1], out=d[1:])
    lo, hi = int(d.min()), int(d.max())
    code = "i" if lo < 0 or hi >= 65536 else "H" if hi >= 256 else "B"
    out = array(code)
    out.frombytes(d.astype(_NP_TYPES[code]).tobytes())
    return out


def _delta_unpack(d: array) -> array:
    """The ``array("i")`` of offsets that :func:`_delta_pack` packed."""
    import numpy as np

    out = array("i")
    if d:
        out.frombytes(np.cumsum(np.frombuffer(d, dtype=_NP_TYPES[d.typecode]),
                                dtype=np.intc).tobytes())
    return out


_NP_TYPES = {"B": "u1", "H": "=u2", "i": "intc"}  # native, as array stores them
_NO_GAPS = array("B")  # shared: never modified


def _bits_pack(n: int, offsets: array) -> tuple[bytes, array] | None:
    """Offsets ``[s0, e0, s1, e1, …]`` of tokens over a text of ``n`` chars as a
    *boundary bitmap* — bit ``p`` set when a token starts or ends at ``p`` (``n + 1``
    bits, 1 bit a char) — and the indices of the stretches between consecutive
    boundaries that are not tokens (the whitespace between words: a few an essay).
    ``None`` when the tokens are not non-empty, ordered and disjoint within
    ``[0, n]``, or when one byte a token difference would be smaller."""
    import numpy as np

    v = np.frombuffer(offsets, dtype=np.intc)
    if not len(v) or (n + 8) // 8 >= len(v):
        return None
    s, e = v[0::2], v[1::2]
    if s[0] < 0 or e[-1] > n or not (s < e).all():
        return None
    between = s[1:] - e[:-1]  # > 0 where a stretch that is no token lies between two tokens
    if between.min(initial=0) < 0:
        return None
    mark = np.zeros(n + 1, dtype=bool)
    mark[v] = True
    after = np.flatnonzero(between)  # token k is followed by a gap: the (j+1)-th gap is
    gaps = after + np.arange(1, len(after) + 1)  # stretch k + j + 1 (k tokens, j gaps before)
    return (np.packbits(mark, bitorder="little").tobytes(),
            packed_ints(gaps.tolist()) if len(gaps) else _NO_GAPS)


def _bits_unpack(bits: bytes, gaps: array) -> array:
    """The ``array("i")`` of offsets that :func:`_bits_pack` packed."""
    import numpy as np

    out = array("i")
    p = np.flatnonzero(np.unpackbits(np.frombuffer(bits, dtype=np.uint8), bitorder="little"))
    if len(p) < 2:
        return out
    flat = np.empty(2 * (len(p) - 1), dtype=np.intc)  # every stretch between boundaries
    flat[0::2] = p[:-1]
    flat[1::2] = p[1:]
    out.frombytes(flat.tobytes())
    for g in reversed(gaps):  # a few an essay: cheaper than a mask
        del out[2 * g:2 * g + 2]
    return out


class TokenList(Sequence):
    """The tokens of one text, stored in ~1 bit a char (~0.3 KB an essay).

    Behaves as a read-only ``list[Token]`` (index, slice, iterate, ``len``,
    ``==`` with a list). :class:`~pipeline.essay.Token` objects are built on
    access and not kept (a pass over 1,000 tokens costs ~1 ms), so a cohort
    stage reading every essay's tokens does not hold them all at once.

    Segmenter tokens are non-empty, ordered and disjoint, so they are kept as a
    boundary bitmap (:func:`_bits_pack`: a bit per char where a token starts or
    ends, and the few stretches between boundaries that are not tokens); any
    other offsets as differences (:func:`_delta_pack`: token lengths and gaps,
    1 byte each for words). :meth:`offsets` decodes either in ~20 µs; pickling
    sends only the text and those bytes, so essays move between processes
    cheaply and a 100k cohort fits in memory.
    """

    __slots__ = ("_text", "_d", "_g")

    def __init__(self, text: str, offsets: array):
        if not isinstance(offsets, array) or offsets.typecode != "i":
            offsets = array("i", offsets)
        self._text = text
        packed = _bits_pack(len(text), offsets)
        if packed is None:
            self._d, self._g = _delta_pack(offsets), None
        else:
            self._d, self._g = packed

    @classmethod
    def of(cls, text: str, tokens) -> "TokenList":
        offsets = array("i")
        for t in tokens:
            offsets.append(t.start)
            offsets.append(t.end)
        return cls(text, offsets)

    @property
    def packing(self) -> str:
        """``"bits"`` (boundary bitmap) or ``"delta"`` (offset differences)."""
        return "delta" if self._g is None else "bits"

    @property
    def _offsets(self) -> array:
        """``array("i")`` of ``[start0, end0, start1, …]`` (rebuilt on each access)."""
        return self.offsets()

    def offsets(self) -> array:
        """``array("i")`` of ``[start0, end0, start1, …]`` (decoded on each call)."""
        if self._g is None:
            return _delta_unpack(self._d)
        return _bits_unpack(self._d, self._g)

    @property
    def text(self) -> str:
        """The text the tokens were cut from."""
        return self._text

    def _token(self, i: int, o: array) -> Token:
        return make_token(o[2 * i], o[2 * i + 1], self._text[o[2 * i]:o[2 * i + 1]])

    def release(self) -> None:
        """Kept for callers of earlier versions: nothing is cached any more."""

    def over(self, text: str) -> bool:
        """Whether these tokens were cut from ``text`` (then each token's text is
        ``text[start:end]`` by construction)."""
        return self._text is text or self._text == text

    def within(self, n: int) -> bool:
        """Every token satisfies ``0 <= start <= end <= n``."""
        d = self._d
        if self._g is not None:  # the bitmap holds ordered tokens inside the text
            if n >= len(self._text):
                return True
            o = self.offsets()
            return not o or o[-1] <= n
        if d.typecode != "i":  # unsigned differences: the offsets never go down
            return sum(d) <= n
        o = self._offsets
        return all(0 <= a <= b <= n for a, b in zip(o[0::2], o[1::2]))

    def texts(self) -> list[str]:
        """The token strings, without building :class:`Token` objects (fast path)."""
        o, text = self.offsets(), self._text
        return [text[s:e] for s, e in zip(o[0::2], o[1::2])]

    def __len__(self) -> int:
        if self._g is None:
            return len(self._d) // 2
        marks = int.from_bytes(self._d, "little").bit_count()
        return max(0, marks - 1 - len(self._g))

    def __getitem__(self, i):
        o = self.offsets()
        n = len(o) // 2
        if isinstance(i, slice):
            return [self._token(k, o) for k in range(*i.indices(n))]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("token index out of range")
        return self._token(i, o)

    def __iter__(self):
        o, text, token = self.offsets(), self._text, make_token
        for s, e in zip(o[0::2], o[1::2]):
            yield token(s, e, text[s:e])

    def __eq__(self, other) -> bool:
        if isinstance(other, TokenList):
            return self.offsets() == other.offsets() and self._text == other._text
        if isinstance(other, (list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"TokenList({len(self)} tokens)"

    def __reduce__(self):
        if self._g is None:
            return (_token_list, (self._text, self._d.typecode, self._d.tobytes()))
        return (_token_bits, (self._text, self._d, self._g.typecode, self._g.tobytes()))

    def __setstate__(self, state):  # pickles of earlier versions: absolute offsets
        self._text = state["text"]
        o = array("i")
        o.frombytes(state["offsets"])
        self._d, self._g = _delta_pack(o), None


def _token_list(text: str, typecode: str, data: bytes) -> TokenList:
    t = TokenList.__new__(TokenList)
    t._text = text
    t._d = array(typecode)
    t._d.frombytes(data)
    t._g = None
    return t


def _token_bits(text: str, bits: bytes, typecode: str, gaps: bytes) -> TokenList:
    t = TokenList.__new__(TokenList)
    t._text, t._d = text, bits
    if gaps:
        t._g = array(typecode)
        t._g.frombytes(gaps)
    else:
        t._g = _NO_GAPS
    return t


def release_tokens(essay) -> None:
    """Drop materialised tokens of ``essay`` if it holds a :class:`TokenList`."""
    if isinstance(essay.tokens, TokenList):
        essay.tokens.release()


class JiebaSpacyTokenizer:
    """A spaCy tokenizer backed by a private ``jieba.Tokenizer``."""

    def __init__(self, vocab, jieba_tokenizer, hmm: bool = True):
        self.vocab = vocab
        self.jieba = jieba_tokenizer
        self.hmm = hmm

    def __call__(self, text: str):
        from spacy.tokens import Doc
        from spacy.util import get_words_and_spaces

        words = [w for w in self.jieba.cut(text, cut_all=False, HMM=self.hmm) if w]
        try:
            words, spaces = get_words_and_spaces(words, text)
        except ValueError as e:
            raise AlignmentError("X201", pos=-1, essay_id="?", expected=text[:20],
                                 got=str(e)[:80]) from None
        return Doc(self.vocab, words=words, spaces=spaces)


def _rjieba_class():
    """rjieba's ``Jieba`` class, or ``None`` when rjieba is not installed.

    ``import rjieba`` builds a module-level default ``Jieba()`` (≈0.5 s, its whole
    dictionary) that xinde never uses — it owns a private instance. So the
    compiled extension is loaded on its own when it can be found, without running
    the package's ``__init__``; otherwise (another layout) the package is imported.
    """
    import importlib.machinery
    import importlib.util

    mod = sys.modules.get("rjieba.rjieba")
    if mod is not None:
        return mod.Jieba
    try:
        spec = importlib.util.find_spec("rjieba")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    for folder in spec.submodule_search_locations or ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"rjieba{suffix}"
            if path.is_file():
                ext = importlib.util.spec_from_file_location("rjieba.rjieba", path)
                if ext is None or ext.loader is None:
                    continue
                mod = importlib.util.module_from_spec(ext)  # runs PyInit_rjieba only
                ext.loader.exec_module(mod)
                return mod.Jieba
    try:
        import rjieba
    except ImportError:
        return None
    return rjieba.Jieba


class Segmenter:
    """Pipeline stage: fills ``essay.sentences`` and ``essay.tokens``.

    Args:
        userdict: Curated jieba dictionary; ``None`` for jieba's own only.
        hmm: Let jieba's HMM guess words missing from the dictionary.
        backend: ``"jieba"`` (Python jieba), ``"rjieba"`` (jieba-rs, same
            output, ~10x faster; needs the optional ``rjieba`` package) or
            ``"auto"`` (rjieba when installed).
        compact: Store ``essay.tokens`` as a :class:`TokenList`,
            ``essay.sentences`` as a :class:`~pipeline.essay.SpanList` and
            ``essay.char_map`` as a :class:`~pipeline.essay.CharMap` (same values,
            ~20x less memory, cheap to send to worker processes).

    Raises:
        ConfigError: X104 for an unknown backend or rjieba requested but absent.
    """

    name = "segment"
    version = "2"

    def __init__(self, userdict: Path | None = None, hmm: bool = True, backend: str = "jieba",
                 compact: bool = False):
        if backend not in BACKENDS:
            raise ConfigError("X104", name="tokenizer", value=backend,
                              detail=f"must be one of {', '.join(BACKENDS)}")
        self.hmm = hmm
        self.backend = backend
        self.compact = compact
        self.userdict = Path(userdict) if userdict else None
        if self.userdict is not None:
            check_userdict(self.userdict)
        self._jieba = None
        self._nlp = None
        self.rjieba = self._load_rjieba(backend)
        if self.rjieba is None:
            self.jieba  # noqa: B018 - build now: the Python jieba does all the work

    @property
    def jieba(self):
        """The private ``jieba.Tokenizer`` (built on first use: ~1 s)."""
        if self._jieba is None:
            jieba = _quiet_import_jieba()
            tok = jieba.Tokenizer()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tok.initialize()
            if self.userdict is not None:
                tok.load_userdict(str(self.userdict))
            self._jieba = tok
        return self._jieba

    @property
    def nlp(self):
        """The spaCy ``blank("zh")`` pipeline fed by the jieba (built on first use)."""
        if self._nlp is None:
            import spacy

            nlp = spacy.blank("zh")  # default "char" segmenter: no global jieba
            nlp.tokenizer = JiebaSpacyTokenizer(nlp.vocab, self.jieba, self.hmm)
            self._nlp = nlp
        return self._nlp

    def _load_rjieba(self, backend: str):
        if backend == "jieba":
            return None
        Jieba = _rjieba_class()
        if Jieba is None:
            if backend == "auto":
                return None
            raise ConfigError("X104", name="tokenizer", value=backend,
                              detail="the rjieba package is not installed "
                                     "(pip install rjieba==0.2.2)") from None
        rj = Jieba()  # a private instance, never rjieba's default one
        if self.userdict is not None:
            for line in self.userdict.read_text(encoding="utf-8").splitlines():
                parts = line.strip().split()
                if parts:
                    rj.add_word(parts[0], int(parts[1]) if len(parts) > 1 else None,
                                parts[2] if len(parts) > 2 else None)
        return rj

    def __getstate__(self):  # for multiprocessing: rebuild rather than pickle jieba
        return {"userdict": self.userdict, "hmm": self.hmm, "backend": self.backend,
                "compact": self.compact}

    def __setstate__(self, state):
        self.__init__(state["userdict"], state["hmm"], state.get("backend", "jieba"),
                      state.get("compact", False))

    def _needs_recut(self, w: str) -> bool:
        """A multi-char non-Chinese rjieba word that Python jieba may cut otherwise."""
        return (len(w) > 1 and not ("\u4e00" <= w[0] <= "\u9fd5") and not _HAN.search(w)
                and not (self.hmm and _NUMBER.fullmatch(w)))

    def words(self, text: str) -> list[str]:
        """The segmenter's words covering ``text`` (whitespace words included)."""
        if self.rjieba is None:
            return list(self.jieba.cut(text, cut_all=False, HMM=self.hmm))
        out: list[str] = []
        for w in self.rjieba.cut(text, self.hmm):
            if self._needs_recut(w):
                # jieba-rs groups runs such as "3-5" that Python jieba splits
                out.extend(self.jieba.cut(w, cut_all=False, HMM=self.hmm))
            else:
                out.append(w)
        return out

    def doc(self, text: str):
        """The spaCy ``Doc`` of ``text``."""
        return self.nlp.make_doc(text)

    def tokens(self, text: str) -> list[Token]:
        """Non-space word tokens with offsets, each checked against ``text``."""
        fast = self._aligned_tokens(text)
        if fast is not None:
            return fast
        out = []
        for t in self.doc(text):
            if t.is_space:
                continue
            tok = Token(t.idx, t.idx + len(t.text), t.text)
            if text[tok.start:tok.end] != tok.text:
                raise AlignmentError("X201", pos=tok.start, essay_id="?",
                                     expected=text[tok.start:tok.end], got=tok.text)
            out.append(tok)
        return out

    def _aligned_offsets(self, text: str) -> array | None:
        """``[start0, end0, start1, ...]`` of the non-space words when they tile
        ``text`` exactly, else ``None`` (then spaCy's aligner decides)."""
        if self.rjieba is not None:
            fast = self._rjieba_offsets(text)
            if fast is not None:
                return fast
        out, pos = array("i"), 0
        append, startswith = out.append, text.startswith
        for w in self.words(text):
            if not startswith(w, pos):
                return None
            end = pos + len(w)
            if end > pos and not w.isspace():
                append(pos)
                append(end)
            pos = end
        return out if pos == len(text) else None

    def _rjieba_offsets(self, text: str) -> array | None:
        """:meth:`_aligned_offsets` without a Python step per word, for the usual
        case: rjieba's words tile ``text`` and none needs re-cutting. ``None``
        otherwise (the word-by-word path then decides)."""
        words = self.rjieba.cut(text, self.hmm)
        if "".join(words) != text:
            return None
        if not words:
            return array("i")
        if "" in words:
            return None  # an empty word: let the general path handle it
        ends = list(accumulate(map(len, words)))
        starts = [0, *ends[:-1]]

        def inside(m):  # indices of the words lying inside match m
            return range(bisect_left(starts, m.start()), bisect_right(ends, m.end()))

        for m in _NON_HAN_RUN.finditer(text):
            if any(self._needs_recut(words[i]) for i in inside(m)):
                return None
        drop = [i for m in _SPACE.finditer(text) for i in inside(m) if words[i].isspace()]
        for i in reversed(drop):
            del starts[i], ends[i]
        flat = [0] * (2 * len(starts))
        flat[0::2], flat[1::2] = starts, ends
        return array("i", flat)

    def _aligned_tokens(self, text: str) -> list[Token] | None:
        o = self._aligned_offsets(text)
        if o is None:
            return None
        return [Token(o[i], o[i + 1], text[o[i]:o[i + 1]]) for i in range(0, len(o), 2)]

    def cut(self, text: str) -> list[str]:
        """Plain word list (no offsets), for cohort models over many snippets."""
        return [w for w in self.words(text) if w.strip()]

    def __call__(self, essay):
        try:
            if self.compact:
                essay.sentences = sentence_list(essay.text)
                if essay.char_map is not None:  # 36 bytes a char → a few runs
                    essay.char_map = CharMap.of(essay.char_map)
                offsets = self._aligned_offsets(essay.text)
                essay.tokens = (TokenList(essay.text, offsets) if offsets is not None
                                else TokenList.of(essay.text, self.tokens(essay.text)))
            else:
                essay.sentences = split_sentences(essay.text)
                essay.tokens = self.tokens(essay.text)
        except AlignmentError as e:
            raise AlignmentError("X201", **{**e.fields, "essay_id": essay.id}) from None
        return essay
