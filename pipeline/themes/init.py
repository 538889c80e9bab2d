"""Draft a theme profile from the studied document (``xinde profile init``).

The next campaign should need no programmer: give the text of the new
document, get a profile TOML a reviewer then edits (rename ids and labels,
merge or drop themes, adjust weights). The draft is built from the text alone:

1. **key phrases** — jieba words and quoted/list phrases (“两个维护”,
   获得感、幸福感、安全感) scored by frequency × rarity (jieba's IDF table:
   words rare in general Chinese but used here are the document's own terms);
   stopwords and the genre's 套话 are left out;
2. **points** — the highest-scoring phrases become themes, skipping a phrase
   whose sentences are mostly those of a theme already chosen (so 能者上 and
   庸者下 end up in one theme); each theme's cues are its seed phrase (weight
   1.0) and the other key phrases of its sentences (0.6);
3. the description is the document's own first sentence on the point.

The result always loads with :func:`~.profile.load_profile` (checked before it
is returned).
"""
from __future__ import annotations

import json
import math
import re
import tomllib
from functools import lru_cache
from pathlib import Path

from .profile import profile_from_dict
from .topics import read_wordlist

_QUOTED = re.compile(r"[“\"「]([^“”\"「」\n]{2,10})[”\"」]")
_CLAUSE = re.compile(r"[，,。；;：:！？!?\n（）()]")
_TITLE = re.compile(r"《([^《》\n]{4,60})》")
_CJK = re.compile(r"^[\u4e00-\u9fff]{2,10}$")


@lru_cache(maxsize=1)
def _jieba_idf() -> tuple[dict[str, float], float]:
    import jieba.analyse  # the package data file only; no global tokenizer is used

    path = Path(jieba.analyse.__file__).parent / "idf.txt"
    idf: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) == 2:
            idf[parts[0]] = float(parts[1])
    vals = sorted(idf.values())
    return idf, vals[len(vals) // 2]


def _strip_comments(text: str) -> str:
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))


def _list_items(text: str) -> list[str]:
    """Whole items of 、-lists (获得感、幸福感、安全感); the outer ones only when short."""
    out = []
    for chunk in _CLAUSE.split(text):
        items = chunk.split("、")
        if len(items) < 3:
            continue
        for i, it in enumerate(items):
            it = it.strip("“”\"和与及")
            inner = 0 < i < len(items) - 1
            if _CJK.match(it) and (len(it) <= 6 if inner else len(it) <= 3):
                out.append(it)
    return out


def key_phrases(text: str, segmenter, stopwords: set[str] = frozenset(),
                taohua: set[str] = frozenset(), top: int = 60) -> list[tuple[str, float]]:
    """The document's key phrases, best first, as ``(phrase, score)``."""
    idf, median = _jieba_idf()
    body = _TITLE.sub("", text)
    counts: dict[str, float] = {}
    for w in segmenter.cut(body):
        if _CJK.match(w) and w not in stopwords and w not in taohua:
            counts[w] = counts.get(w, 0) + 1
    bonus: dict[str, float] = {}
    for m in _QUOTED.finditer(body):
        p = m.group(1)
        if _CJK.match(p) and p not in taohua:
            bonus[p] = bonus.get(p, 0) + 1
    for p in _list_items(body):
        if p not in stopwords and p not in taohua:
            bonus[p] = bonus.get(p, 0) + 0.5
    scored: dict[str, float] = {}
    for p in set(counts) | set(bonus):
        n = max(counts.get(p, 0), body.count(p)) + bonus.get(p, 0)
        rarity = idf.get(p, median * 1.2)  # unseen by jieba → the document's own term
        scored[p] = (1 + math.log(n)) * rarity * (1.3 if p in bonus else 1.0) * min(1.0, len(p) / 3 + 0.34)
    best = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
    # drop a phrase contained in a better one that occurs as often (高质量 ⊂ 高质量发展)
    out: list[tuple[str, float]] = []
    for p, s in best:
        if any(p in q and body.count(q) >= body.count(p) for q, _ in out):
            continue
        out.append((p, round(s, 3)))
        if len(out) >= top:
            break
    return out


def draft_profile(text: str, *, profile_id: str = "new-profile", label: str | None = None,
                  n_themes: int = 8, segmenter=None, stopwords: Path | None = None,
                  taohua: Path | None = None, source: str = "") -> str:
    """A profile TOML drafted from the studied document's ``text``.

    Args:
        text: The document (or excerpts of it).
        profile_id: The profile's id (also the file stem reviewers pass to --profile).
        label: Chinese name; defaults to the first 《title》 in the text.
        n_themes: How many themes to draft (the reviewer merges/drops later).
        segmenter: A :class:`pipeline.segment.Segmenter`; built when ``None``.
        stopwords, taohua: Word lists left out of the key phrases.
        source: Shown in the header comment (the policy file's name).

    Returns:
        The TOML text (validated: it loads with :func:`~.profile.load_profile`).
    """
    from ..segment import Segmenter, split_sentences

    if not isinstance(text, str) or not text.strip():
        raise ValueError("the policy text is empty")
    if not 1 <= n_themes <= 30:
        raise ValueError(f"n_themes must be in 1..30, got {n_themes}")
    from ..config import MODELS_DIR
    if segmenter is None:
        segmenter = Segmenter(MODELS_DIR / "jieba_userdict.txt")
    stop = read_wordlist(stopwords if stopwords is not None else MODELS_DIR / "stopwords.txt")
    tao = read_wordlist(taohua if taohua is not None else MODELS_DIR / "taohua.txt")
    if label is None:
        m = _TITLE.search(text)
        label = m.group(1) if m else profile_id
    text = _strip_comments(text)
    sents = [text[s.start:s.end] for s in split_sentences(text)]
    sents = [s for s in sents if len(s) >= 6]
    phrases = key_phrases(text, segmenter, stop, tao)
    where = {p: {i for i, s in enumerate(sents) if p in _TITLE.sub("", s)} for p, _ in phrases}
    # a phrase in more than a fifth of the sentences is the document's subject, not a point
    general = max(2, len(sents) // 5)
    phrases = [(p, sc) for p, sc in phrases
               if where[p] and len(where[p]) <= general and not p.endswith("地")]
    strong = {p for p, sc in phrases[: max(1, len(phrases) // 2)]}  # cues: the better half
    themes: list[dict] = []
    covered: list[set[int]] = []
    for p, _ in phrases:
        ss = where[p]
        if not ss:
            continue
        if any(len(ss & c) / len(ss) > 0.5 for c in covered):
            continue
        covered.append(ss)
        others = [q for q, _ in phrases if q != p and q not in p and p not in q
                  and q in strong and where[q] & ss][:6]
        first = sents[min(ss)]
        themes.append({"seed": p, "others": others, "desc": first.strip()[:80]})
        if len(themes) >= n_themes:
            break
    if not themes:
        raise ValueError("no key phrases found in the policy text; is it the document's text?")
    toml = _render(profile_id, label, themes, source)
    profile_from_dict(tomllib.loads(toml), f"<draft {profile_id}>")  # must load
    return toml


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _render(pid: str, label: str, themes: list[dict], source: str) -> str:
    lines = [
        f"# 主题配置草稿 (draft theme profile) drafted by `xinde profile init` from {source or 'the policy text'}.",
        "# A REVIEWER MUST EDIT THIS DRAFT before it is used:",
        "#   - rename each theme's id (lower-case ASCII, e.g. people_centered) and label (中文名);",
        "#   - merge themes that are one point, delete themes that are not points of the document;",
        "#   - add the cues essays use for each point ([themes.terms] \"phrase\" = weight;",
        "#     1.0 = the phrase alone shows the point, 0.5–0.8 = needs a second cue),",
        "#     regular expressions in [themes.patterns], exclusions in [themes.negative_terms].",
        "# See models/profiles/zhengji-kaohe.toml for a finished example and docs/themes.md.",
        "",
        f"id = {_q(pid)}",
        f"label = {_q(label)}",
        f"description = {_q('由政策文本自动起草，待审核 (drafted from the policy text; to be reviewed)')}",
        "version = 1",
        "",
        "[defaults]",
        "threshold = 1.0",
        "saturation = 2.0",
        "",
    ]
    for i, t in enumerate(themes, 1):
        lines += [
            "# " + "-" * 70,
            "[[themes]]",
            f"id = \"theme_{i:02d}\"  # TODO rename",
            f"label = {_q(t['seed'])}",
            f"description = {_q(t['desc'])}",
            "",
            "[themes.terms]",
            f"{_q(t['seed'])} = 1.0",
        ]
        lines += [f"{_q(o)} = 0.6" for o in t["others"]]
        lines.append("")
    return "\n".join(lines)
