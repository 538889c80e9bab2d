"""Segmenter alternatives and cue scanning, measured on synthetic essays.

For each alternative: chars/s (median of ``repeat`` passes) and agreement with
the reference (Python jieba, HMM on, words aligned through spaCy — the
original design): share of essays whose token list is identical.

    python bench/bench_segment.py [--n 300] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

USERDICT = ROOT / "models" / "jieba_userdict.txt"


def _time(fn, texts, repeat):
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = [fn(t) for t in texts]
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)

    from bench_cohort import sample_texts
    from pipeline.essay import Token
    from pipeline.segment import Segmenter, split_sentences

    texts = sample_texts(a.n, seed=9)
    n_chars = sum(map(len, texts))
    ref_seg = Segmenter(USERDICT, backend="jieba")
    ref = [[(t.idx, t.idx + len(t.text)) for t in ref_seg.doc(x) if not t.is_space]
           for x in texts]

    def offsets(tokens):
        return [(t.start, t.end) for t in tokens]

    rows = []

    def add(name, fn, comparable=True, note=""):
        sec, out = _time(fn, texts, a.repeat)
        agree = (sum(1 for x, y in zip(out, ref) if x == y) / len(ref)) if comparable else None
        rows.append({"name": name, "seconds": round(sec, 4),
                     "chars_per_s": round(n_chars / sec), "essays_per_s": round(len(texts) / sec, 1),
                     "identical_to_reference": agree, "note": note})

    seg_j = Segmenter(USERDICT, backend="jieba")
    seg_j0 = Segmenter(USERDICT, backend="jieba", hmm=False)
    add("spaCy Doc + get_words_and_spaces (jieba, HMM on) — original",
        lambda x: [(t.idx, t.idx + len(t.text)) for t in seg_j.doc(x) if not t.is_space])
    add("raw jieba.cut HMM on (words only, no offsets)", lambda x: list(seg_j.jieba.cut(x)),
        comparable=False)
    add("raw jieba.cut HMM off (words only)", lambda x: list(seg_j0.jieba.cut(x, HMM=False)),
        comparable=False)
    add("Segmenter.tokens jieba HMM on (own aligner)", lambda x: offsets(seg_j.tokens(x)))
    add("Segmenter.tokens jieba HMM off", lambda x: offsets(seg_j0.tokens(x)),
        note="changes words: not kept as default")
    try:
        import rjieba  # noqa: F401

        seg_r = Segmenter(USERDICT, backend="rjieba")
        seg_r0 = Segmenter(USERDICT, backend="rjieba", hmm=False)
        add("raw rjieba.cut HMM on (words only)", lambda x: seg_r.rjieba.cut(x, True),
            comparable=False)
        add("Segmenter.tokens rjieba HMM on (own aligner) — kept", lambda x: offsets(seg_r.tokens(x)))
        add("Segmenter.tokens rjieba HMM off", lambda x: offsets(seg_r0.tokens(x)))
        seg_rc = Segmenter(USERDICT, backend="rjieba", compact=True)
        from pipeline.essay import Essay

        add("Segmenter stage rjieba + compact TokenList — default",
            lambda x: [(t.start, t.end) for t in seg_rc(Essay("E", "s", x, text=x)).tokens])
    except ImportError:
        rows.append({"name": "rjieba", "note": "not installed"})
    add("split_sentences", split_sentences, comparable=False)

    # -- cue / stock-phrase scan: Aho–Corasick vs str.find vs one regex ---------
    import re

    import ahocorasick

    phrases = [ln.strip() for ln in (ROOT / "models" / "taohua.txt").read_text(
        encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    auto = ahocorasick.Automaton()
    for i, p in enumerate(phrases):
        auto.add_word(p, (i, p))
    auto.make_automaton()
    rx = re.compile("|".join(map(re.escape, sorted(phrases, key=len, reverse=True))))

    def ac(x):
        return sorted((end - len(p) + 1, i) for end, (i, p) in auto.iter(x))

    def find_all(x):
        out = []
        for i, p in enumerate(phrases):
            s = x.find(p)
            while s >= 0:
                out.append((s, i))
                s = x.find(p, s + 1)
        return sorted(out)

    cue_rows = []
    base = None
    for name, fn in (("pyahocorasick automaton — kept", ac), ("str.find per phrase", find_all),
                     ("one regex alternation", lambda x: [(m.start(), -1) for m in rx.finditer(x)])):
        sec, out = _time(fn, texts, a.repeat)
        if base is None:
            base = out
        cue_rows.append({"name": name, "seconds": round(sec, 4),
                         "chars_per_s": round(n_chars / sec),
                         "same_hits_as_automaton": (sum(len(o) for o in out)
                                                    == sum(len(b) for b in base))})
    result = {"n_essays": len(texts), "chars": n_chars, "repeat": a.repeat,
              "n_phrases": len(phrases), "segmenters": rows, "cue_scan": cue_rows}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return result


if __name__ == "__main__":
    main()
