"""Sentences and words with char offsets.

:class:`Segmenter` owns its own ``jieba.Tokenizer`` (never the global one) with
a small curated domain dictionary (``models/jieba_userdict.txt``) and a spaCy
``blank("zh")`` pipeline whose tokenizer is replaced by one that feeds it that
jieba instance. As in spaCy's own ``ChineseTokenizer``, the words are aligned to
the text with ``spacy.util.get_words_and_spaces``, which raises when the
segmenter dropped or changed characters: alignment is checked, never assumed.

Sentences end at 。！？ (and ! ? …) together with any closing quotes or brackets
that follow, or at a line break (headings and list items have no full stop).
"""
from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

from .errors import AlignmentError, ConfigError
from .essay import Span, Token

_SENT = re.compile(r"[^\n]*?(?:[。！？!?]+|…{1,2}|\.{3,6})[”’」』）)》\"']*|[^\n]+")


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``, stripped of surrounding whitespace."""
    spans = []
    for m in _SENT.finditer(text):
        s, e = m.span()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append(Span(s, e))
    return spans


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


class Segmenter:
    """Pipeline stage: fills ``essay.sentences`` and ``essay.tokens``.

    Args:
        userdict: Curated jieba dictionary; ``None`` for jieba's own only.
        hmm: Let jieba's HMM guess words missing from the dictionary.
    """

    name = "segment"

    def __init__(self, userdict: Path | None = None, hmm: bool = True):
        jieba = _quiet_import_jieba()
        import spacy

        self.hmm = hmm
        self.userdict = Path(userdict) if userdict else None
        self.jieba = jieba.Tokenizer()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.jieba.initialize()
        if self.userdict is not None:
            check_userdict(self.userdict)
            self.jieba.load_userdict(str(self.userdict))
        self.nlp = spacy.blank("zh")  # default "char" segmenter: no global jieba
        self.nlp.tokenizer = JiebaSpacyTokenizer(self.nlp.vocab, self.jieba, hmm)

    def __getstate__(self):  # for multiprocessing: rebuild rather than pickle jieba
        return {"userdict": self.userdict, "hmm": self.hmm}

    def __setstate__(self, state):
        self.__init__(state["userdict"], state["hmm"])

    def doc(self, text: str):
        """The spaCy ``Doc`` of ``text``."""
        return self.nlp.make_doc(text)

    def tokens(self, text: str) -> list[Token]:
        """Non-space word tokens with offsets, each checked against ``text``."""
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

    def cut(self, text: str) -> list[str]:
        """Plain word list (no offsets), for cohort models over many snippets."""
        return [w for w in self.jieba.cut(text, HMM=self.hmm) if w.strip()]

    def __call__(self, essay):
        essay.sentences = split_sentences(essay.text)
        try:
            essay.tokens = self.tokens(essay.text)
        except AlignmentError as e:
            raise AlignmentError("X201", **{**e.fields, "essay_id": essay.id}) from None
        return essay
