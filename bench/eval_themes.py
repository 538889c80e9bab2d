"""Evaluate profile-theme detection and compare the topic models.

1. **Profile themes** — precision / recall / F1 per theme of the per-sentence
   decisions of :class:`pipeline.themes.detect.ThemeDetector` against the
   hand labels in ``tests/data/theme_labels.jsonl`` (``{"file", "sentence",
   "themes"}`` for sentences of ``corpora/calibration/*.txt``). Labelled
   sentences are matched to the detector's sentences by exact text (after
   whitespace removal; a label inside a longer detector sentence takes that
   sentence's decision). Files are split into two halves by their sorted
   position: even = *dev* (looked at while writing the profile), odd =
   *held-out*; both halves and the total are reported.
2. **Topic models** — NMF vs LDA, each with and without profile seeding, on the
   sample cohort (``corpora/sample``) and, when present, 200 party-study pages
   of ``../shared`` (never copied): NPMI coherence of the top-10 words
   (gensim ``CoherenceModel``, ``c_npmi`` over the modelling units themselves),
   topic diversity (unique top words / all top words), how many distinct
   profile themes the topics line up with, and fit time.

Usage: ``python bench/eval_themes.py [--no-topics]``; prints the tables and
writes ``bench/results/themes_eval.json``.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LABELS = ROOT / "tests" / "data" / "theme_labels.jsonl"
CALIB = ROOT / "corpora" / "calibration"
SAMPLE = ROOT / "corpora" / "sample"
SHARED_PAGES = ROOT.parent / "shared" / "corpora" / "party-study-pages" / "xuexizhuanlan.jsonl"
OUT = ROOT / "bench" / "results" / "themes_eval.json"
KEY_THEMES = ("people_centered", "political_standard", "result_use")
_WS = re.compile(r"\s+")


def _norm(s: str) -> str:
    return _WS.sub("", s)


def _essays(path: Path, stages_extra=()):
    from pipeline.config import Settings, model_path
    from pipeline.runner import MinLength, load, run_stages
    from pipeline.clean import Cleaner
    from pipeline.segment import Segmenter

    settings = Settings()
    _, _, essays, _ = load(path, settings)
    seg = Segmenter(model_path(settings, "jieba_userdict.txt"))
    stages = [Cleaner(), MinLength(1), seg, *stages_extra]
    return run_stages(essays, stages, {"settings": settings}), seg


def load_labels(path: Path = LABELS) -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def predict_labelled(detector, labels: list[dict], calib: Path = CALIB):
    """Pair every labelled sentence with the detector's theme set for it.

    Returns:
        ``(pairs, n_unmatched)``; a pair is ``(file, gold_set, predicted_set)``.
    """
    from pipeline.themes.detect import ThemeDetector  # noqa: F401

    from pipeline.clean import clean_text
    from pipeline.essay import Essay
    from pipeline.segment import split_sentences

    by_file: dict[str, list] = {}
    for fname in sorted({Path(r["file"]).name for r in labels}):
        f = calib / fname
        if not f.exists():
            continue
        # as in docs/labelling.md: body = the file without its title line, cleaned
        lines = f.read_text(encoding="utf-8").split("\n", 1)
        c = clean_text(lines[1] if len(lines) > 1 else "")
        e = Essay(id=fname, source=fname, raw=lines[-1], title=lines[0], text=c.text,
                  char_map=c.char_map)
        e.sentences = split_sentences(e.text)
        decs = detector.decisions(e)
        by_file.setdefault(fname, []).extend(
            (_norm(e.text[d.span.start:d.span.end]), set(d.themes(detector.profile)))
            for d in decs)
    pairs, unmatched = [], 0
    for row in labels:
        f = Path(row["file"]).name
        sents = by_file.get(f) or by_file.get(row["file"])
        gold = set(row.get("themes") or [])
        if sents is None:
            unmatched += 1
            continue
        want = _norm(row["sentence"])
        pred = None
        for text, themes in sents:
            if text == want:
                pred = themes
                break
        if pred is None:  # label inside a longer detector sentence, or spanning several
            for text, themes in sents:
                if want and want in text:
                    pred = themes
                    break
        if pred is None:
            hits = [themes for text, themes in sents if text and text in want]
            if hits:
                pred = set().union(*hits)
        if pred is None:
            unmatched += 1
            continue
        pairs.append((f, gold, pred))
    return pairs, unmatched


def prf(pairs, theme_ids) -> dict:
    out = {}
    for t in theme_ids:
        tp = sum(1 for _, g, p in pairs if t in g and t in p)
        fp = sum(1 for _, g, p in pairs if t not in g and t in p)
        fn = sum(1 for _, g, p in pairs if t in g and t not in p)
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
        out[t] = {"precision": round(pr, 3), "recall": round(rc, 3), "f1": round(f1, 3),
                  "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}
    key = [out[t]["f1"] for t in KEY_THEMES if t in out]
    out["_macro_f1_key3"] = round(sum(key) / len(key), 3) if key else 0.0
    allf = [v["f1"] for k, v in out.items() if not k.startswith("_") and v["support"]]
    out["_macro_f1_all"] = round(sum(allf) / len(allf), 3) if allf else 0.0
    return out


def halves(pairs):
    files = sorted({f for f, _, _ in pairs})
    dev = {f for i, f in enumerate(files) if i % 2 == 0}
    return ([p for p in pairs if p[0] in dev], [p for p in pairs if p[0] not in dev])


def eval_profile() -> dict | None:
    from pipeline.themes.detect import ThemeDetector

    if not LABELS.exists() or not CALIB.exists():
        print("theme labels or corpora/calibration absent: profile evaluation skipped")
        return None
    det = ThemeDetector("zhengji-kaohe")
    labels = load_labels()
    pairs, unmatched = predict_labelled(det, labels)
    dev, held = halves(pairs)
    ids = det.profile.theme_ids
    res = {"n_labels": len(labels), "n_matched": len(pairs), "n_unmatched": unmatched,
           "n_files": len({p[0] for p in pairs}),
           "dev_even_files": prf(dev, ids), "heldout_odd_files": prf(held, ids),
           "all": prf(pairs, ids)}
    print(f"labelled sentences: {len(labels)}, matched {len(pairs)}, unmatched {unmatched}")
    print(f"{'theme':20} | {'dev P':>6} {'R':>5} {'F1':>5} {'n':>4} | {'held P':>6} {'R':>5} "
          f"{'F1':>5} {'n':>4} | {'all F1':>6}")
    for t in ids:
        a, b, c = res["dev_even_files"][t], res["heldout_odd_files"][t], res["all"][t]
        print(f"{t:20} | {a['precision']:6.3f} {a['recall']:5.3f} {a['f1']:5.3f} {a['support']:4d} "
              f"| {b['precision']:6.3f} {b['recall']:5.3f} {b['f1']:5.3f} {b['support']:4d} "
              f"| {c['f1']:6.3f}")
    for k in ("_macro_f1_key3", "_macro_f1_all"):
        print(f"{k:20} | {res['dev_even_files'][k]:>25.3f} | {res['heldout_odd_files'][k]:>25.3f} "
              f"| {res['all'][k]:6.3f}")
    return res


# -- topic models ----------------------------------------------------------------
def topic_metrics(tm, units) -> dict:
    from gensim.corpora import Dictionary
    from gensim.models.coherencemodel import CoherenceModel

    texts = [u.words for u in units]
    d = Dictionary(texts)
    tops = [tm.top_words(t, 10) for t in range(tm.k_)]
    tops = [[w for w in ws if w in d.token2id] for ws in tops]
    tops = [ws for ws in tops if len(ws) >= 2]
    cm = CoherenceModel(topics=tops, texts=texts, dictionary=d, coherence="c_npmi", topn=10,
                        processes=1)
    per = cm.get_coherence_per_topic()
    words = [w for ws in tops for w in ws]
    matched = {tm._match_theme(t) for t in range(tm.k_)} - {None}
    return {"npmi": round(float(sum(per) / len(per)), 4), "npmi_per_topic": [round(x, 3) for x in per],
            "diversity": round(len(set(words)) / max(len(words), 1), 3),
            "profile_themes_matched": sorted(matched), "k": tm.k_,
            "top_words": [tm.top_words(t, 8) for t in range(tm.k_)]}


def compare_topics(essays, seg, name: str, n_topics: int = 0) -> dict:
    from pipeline.config import MODELS_DIR
    from pipeline.themes.profile import load_profile
    from pipeline.themes.topics import TopicModeler

    prof = load_profile("zhengji-kaohe")
    out = {}
    for method in ("nmf", "lda"):
        for init in ("nndsvda", "profile"):
            tm = TopicModeler(method=method, init=init, n_topics=n_topics, seed=42, profile=prof,
                              stopwords=MODELS_DIR / "stopwords.txt",
                              taohua=MODELS_DIR / "taohua.txt", segmenter=seg)
            units = tm.units(essays)
            t0 = time.perf_counter()
            tm.fit(units, len(essays))
            dt = time.perf_counter() - t0
            m = topic_metrics(tm, units)
            m["fit_seconds"] = round(dt, 2)
            m["n_units"] = len(units)
            key = f"{method}/{'seeded' if init == 'profile' else 'unseeded'}"
            out[key] = m
            print(f"{name:8} {key:15} k={m['k']:2d} units={len(units):5d} npmi={m['npmi']:+.3f} "
                  f"diversity={m['diversity']:.2f} themes={len(m['profile_themes_matched'])} "
                  f"fit={dt:.1f}s")
    return out


def shared_pages(n: int = 200):
    """The first ``n`` party-study pages of ../shared as essays (read, never copied)."""
    from pipeline.clean import clean_text
    from pipeline.essay import Essay

    essays = []
    with SHARED_PAGES.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if len(d.get("text", "")) < 300:
                continue
            c = clean_text(d["text"][:6000])
            essays.append(Essay(id=f"P{len(essays):04d}", source=str(d.get("id")), raw=d["text"],
                                text=c.text, char_map=c.char_map))
            if len(essays) >= n:
                break
    return essays


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    result = {"profile": eval_profile()}
    if "--no-topics" not in argv:
        essays, seg = _essays(SAMPLE)
        result["topics_sample"] = compare_topics(essays, seg, "sample")
        if SHARED_PAGES.exists():
            pages = [seg(e) for e in shared_pages()]
            result["topics_shared_pages"] = compare_topics(pages, seg, "pages", n_topics=10)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"→ {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
