"""Synthetic cohorts for the benchmarks: N essays of ~1,500 chars with planted copies.

Essays are assembled, deterministically (``random.Random(seed)``), from sentences
of the public text under ``../shared/corpora`` (party-study pages, the 20th
Congress report, provincial work reports). Nothing of that text is written into
the repository: cohorts are generated under a scratch folder (default
``/tmp/xinde-bench``) and reused across runs.

About 5% of essays copy a contiguous passage (30–60% of their length) from an
earlier essay, so the duplication stages have real work to do; the planted
pairs are listed in ``planted.json`` beside the essays.
"""
from __future__ import annotations

import csv
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPORA = ROOT.parent / "shared" / "corpora"
SCRATCH = Path("/tmp/xinde-bench")
ESSAY_CHARS = 1500
COPY_SHARE = 0.05
PER_DIR = 1000

_SENT = re.compile(r"[^。！？\n]{8,120}[。！？]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class CorpusAbsent(RuntimeError):
    """``../shared/corpora`` is not beside the checkout."""


def sentence_pool(corpora: Path = SHARED_CORPORA, limit: int = 60000) -> list[str]:
    """Distinct Chinese sentences (8–120 chars) from the shared corpora, sorted."""
    if not corpora.exists():
        raise CorpusAbsent(f"{corpora} is absent; the benchmark needs ../shared/corpora")
    texts: list[str] = []
    pages = corpora / "party-study-pages" / "xuexizhuanlan.jsonl"
    if pages.exists():
        for line in pages.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line).get("text", ""))
    congress = corpora / "congress-report-20th" / "二十大报告.txt"
    if congress.exists():
        texts.append(congress.read_text(encoding="utf-8"))
    csv.field_size_limit(sys.maxsize)
    for p in sorted((corpora / "gov-reports-2026").glob("2026_*.csv")):
        with p.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                texts.append(row.get("full_text", ""))
    seen: set[str] = set()
    for t in texts:
        for m in _SENT.finditer(t):
            s = m.group().strip()
            if len(_CJK.findall(s)) >= 0.7 * len(s) and s not in seen:
                seen.add(s)
    pool = sorted(seen)
    if not pool:
        raise CorpusAbsent(f"no usable sentences under {corpora}")
    random.Random(7).shuffle(pool)
    return pool[:limit]


class Rewriter:
    """Make each use of a pool sentence unique by swapping ~35% of its words.

    Real cohorts share few sentences between unrelated essays; drawing whole
    sentences from a 45k pool would make every pair of essays a copy candidate.
    A swapped word is replaced by a random word of the same length from the
    pool's vocabulary, so the text stays word-like for the segmenter.
    """

    def __init__(self, pool: list[str], rate: float = 0.35):
        import jieba

        tok = jieba.Tokenizer()
        tok.initialize()
        self.rate = rate
        self.words = [list(tok.cut(s, HMM=False)) for s in pool]
        by_len: dict[int, set] = {}
        for ws in self.words:
            for w in ws:
                if _CJK.match(w) and len(w) <= 4:
                    by_len.setdefault(len(w), set()).add(w)
        self.vocab = {k: sorted(v) for k, v in by_len.items()}

    def __call__(self, i: int, rng: random.Random) -> str:
        out = []
        for w in self.words[i]:
            alts = self.vocab.get(len(w))
            if alts and _CJK.match(w) and rng.random() < self.rate:
                w = alts[rng.randrange(len(alts))]
            out.append(w)
        return "".join(out)


def make_essays(n: int, pool: list[str], seed: int = 42) -> tuple[list[tuple[str, str]], list]:
    """``n`` (title, body) pairs and the planted copies ``[(copier, source), ...]``."""
    rng = random.Random(seed)
    rewrite = Rewriter(pool)
    essays: list[tuple[str, str]] = []
    planted = []
    for i in range(n):
        paras, size, para = [], 0, []
        target = rng.randint(int(ESSAY_CHARS * 0.85), int(ESSAY_CHARS * 1.15))
        while size < target:
            s = rewrite(rng.randrange(len(pool)), rng)
            para.append(s)
            size += len(s)
            if len(para) >= rng.randint(3, 6):
                paras.append("".join(para))
                para = []
        if para:
            paras.append("".join(para))
        if i > 10 and rng.random() < COPY_SHARE:
            src = rng.randrange(i)
            src_paras = essays[src][1].split("\n\n")
            k = max(1, int(len(src_paras) * rng.uniform(0.3, 0.6)))
            at = rng.randrange(0, len(src_paras) - k + 1)
            paras[:k] = src_paras[at:at + k]
            planted.append((i, src))
        essays.append((f"学习心得体会（{i + 1}）", "\n\n".join(paras)))
    return essays, planted


def build_cohort(n: int, scratch: Path = SCRATCH, seed: int = 42) -> Path:
    """Write (once) ``n`` essays as .txt files under ``<folder>/essays``; returns the folder.

    ``<folder>/planted.json`` lists the planted copies.
    """
    out = scratch / f"cohort2-{n}-s{seed}"
    done = out / "planted.json"
    if done.exists():
        return out
    pool = sentence_pool()
    essays, planted = make_essays(n, pool, seed)
    for i, (title, body) in enumerate(essays):
        d = out / "essays" / f"part{i // PER_DIR:04d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:06d}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    done.write_text(json.dumps({"n": n, "seed": seed, "planted": planted}), encoding="utf-8")
    return out


def sample_texts(n: int, seed: int = 42) -> list[str]:
    """Just the bodies (in memory), for stage micro-benchmarks."""
    essays, _ = make_essays(n, sentence_pool(), seed)
    return [b for _, b in essays]
