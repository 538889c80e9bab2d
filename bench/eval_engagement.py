"""Evaluate the engagement score against the rated calibration set.

Runs the *full* pipeline (``pipeline.runner.run`` with ``default_stages``, the
policy text and the template folder, as ``make run`` does) over a temporary
folder holding only ``corpora/calibration/*.txt``, so in-set copies are found
as submissions. Then compares ``engagement.score`` with ``ratings.csv``
(``file,rating,label,copy_of,padded_from,notes``):

* AUC, substantive vs hollow (label column; rating ≥ 4 vs ≤ 2 if labels are
  missing), and Spearman ρ against the 1–5 ratings — on all essays and on the
  held-out halves (odd / even file position in sorted order);
* the property checks: every copy below the essay it copies (``copy_of``),
  every padded essay at or below its original (``padded_from``), and whether
  length buys points (Spearman of length vs score within each label);
* per-subscore AUC, to show what discriminates.

Writes ``bench/results/engagement_eval.json`` and prints a table. Usage::

    .venv/bin/python bench/eval_engagement.py [--data corpora/calibration]
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBSTANTIVE = {"substantive", "good", "concrete", "实", "好"}
HOLLOW = {"hollow", "empty", "slogan", "空", "差"}


def auc(pos: list[float], neg: list[float]) -> float | None:
    """Mann–Whitney AUC: P(score of a positive > score of a negative), ties count ½."""
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def spearman(x: list[float], y: list[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def read_ratings(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in csv.DictReader(f)]
    for r in rows:
        r["rating"] = float(r["rating"])
    return rows


def polarity(row: dict) -> str | None:
    lab = row.get("label", "").lower()
    if lab in SUBSTANTIVE:
        return "pos"
    if lab in HOLLOW:
        return "neg"
    if lab:
        return None  # copy / padded / other labels are checked separately
    return "pos" if row["rating"] >= 4 else "neg" if row["rating"] <= 2 else None


def build_stages(settings):
    """``default_stages``; stages not registered yet are added (and reported)."""
    from pipeline.runner import default_stages

    stages = default_stages(settings)
    names = [s.name for s in stages]
    added = []
    if "themes" not in names:
        try:
            from pipeline.themes.detect import ThemeDetector

            stages.insert(names.index("segment") + 1, ThemeDetector(settings.profile,
                                                                   settings.models_dir))
            added.append("themes")
        except Exception as e:  # not built yet
            print(f"(themes stage unavailable: {e})")
    if "duplication" not in names:
        try:
            from pipeline.duplication.stage import DuplicationStage

            stages.insert(len(stages) - 1, DuplicationStage.from_settings(settings))
            added.append("duplication")
        except Exception as e:
            print(f"(duplication stage unavailable: {e})")
    return stages, added


def metrics(rows: list[dict], scores: dict[str, float]) -> dict:
    rows = [r for r in rows if r["file"] in scores]
    pos = [scores[r["file"]] for r in rows if polarity(r) == "pos"]
    neg = [scores[r["file"]] for r in rows if polarity(r) == "neg"]
    return {"n": len(rows), "n_substantive": len(pos), "n_hollow": len(neg),
            "auc": auc(pos, neg),
            "spearman": spearman([r["rating"] for r in rows], [scores[r["file"]] for r in rows])}


def property_checks(rows: list[dict], scores: dict[str, float]) -> dict:
    """Copies strictly below their source; padded essays at or below their original."""
    checks = {"copy_below_original": [], "padded_not_above_original": []}
    for r in rows:
        for col, key, strict in (("copy_of", "copy_below_original", True),
                                 ("padded_from", "padded_not_above_original", False)):
            src = r.get(col, "")
            if src and r["file"] in scores and src in scores:
                a, b = scores[r["file"]], scores[src]
                checks[key].append({"file": r["file"], "source": src, "score": a,
                                    "source_score": b, "ok": a < b if strict else a <= b})
    return {k: {"n": len(v), "ok": sum(c["ok"] for c in v), "cases": v} for k, v in checks.items()}


def eval_sample(folder: Path, settings, stages) -> dict:
    """The demo cohort with its own ground truth (``truth.json``: class, copies_from,
    expected_quality 1–5), written by another author: a check the weights never saw."""
    from pipeline.runner import run

    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["files"]
    flat: dict[str, dict] = {}
    for name, t in truth.items():
        for sub in ("parts", "rows"):
            if isinstance(t.get(sub), dict):
                flat.update(t[sub])
        if not any(isinstance(t.get(sub), dict) for sub in ("parts", "rows")):
            flat[name] = t
    result = run(folder, settings, stages=stages)
    scores = {e.source: e.engagement.score for e in result.essays if e.engagement}
    rows = [(src, t, scores[src]) for src, t in sorted(flat.items())
            if src in scores and t.get("expected_quality") is not None]
    gen = [s for _, t, s in rows if t.get("class") == "genuine"]
    hol = [s for _, t, s in rows if t.get("class") == "hollow"]
    rest = [s for _, t, s in rows if t.get("class") != "genuine"]
    cases = []
    for src, t, s in rows:
        for c in t.get("copies_from") or []:
            if c in scores:
                cases.append({"file": src, "source": c, "score": s, "source_score": scores[c],
                              "ok": s < scores[c]})
    return {"n": len(rows), "auc_genuine_vs_hollow": auc(gen, hol),
            "auc_genuine_vs_rest": auc(gen, rest),
            "spearman": spearman([t["expected_quality"] for _, t, _ in rows],
                                 [s for _, _, s in rows]),
            "copies": {"n": len(cases), "ok": sum(c["ok"] for c in cases), "cases": cases},
            "essays": [{"source": src, "class": t.get("class"),
                        "expected_quality": t["expected_quality"], "score": s}
                       for src, t, s in rows]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "corpora" / "calibration")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "engagement_eval.json")
    args = ap.parse_args(argv)
    ratings = args.data / "ratings.csv"
    if not ratings.exists():
        print(f"no calibration set at {args.data} (ratings.csv missing): skipped")
        return 0

    from pipeline.config import Settings
    from pipeline.runner import run

    rows = read_ratings(ratings)
    policy = ROOT / "models" / "policy" / "zhengji-kaohe-notice.txt"
    templates = ROOT / "corpora" / "templates"
    settings = Settings(policy=policy if policy.exists() else None,
                        templates=templates if templates.exists() else None)
    stages, added = build_stages(settings)
    with tempfile.TemporaryDirectory() as tmp:
        for f in sorted(args.data.glob("*.txt")):
            shutil.copy(f, Path(tmp) / f.name)
        t0 = time.perf_counter()
        result = run(tmp, settings, stages=stages)
        secs = time.perf_counter() - t0
    by_file: dict[str, object] = {}
    for e in result.essays:
        by_file.setdefault(e.source.split("#", 1)[0], e)
    scores = {f: e.engagement.score for f, e in by_file.items() if e.engagement}
    missing = sorted(r["file"] for r in rows if r["file"] not in scores)

    order = sorted(r["file"] for r in rows)
    odd = {f for i, f in enumerate(order) if i % 2 == 0}  # 1st, 3rd, … file
    out = {
        "data": str(args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data),
        "stages": [s.name for s in stages], "stages_added_by_eval": added,
        "weights": result.cohort.get("engagement", {}).get("weights"),
        "seconds": round(secs, 2), "missing": missing,
        "all": metrics(rows, scores),
        "odd": metrics([r for r in rows if r["file"] in odd], scores),
        "even": metrics([r for r in rows if r["file"] not in odd], scores),
        # essays that are not a copy/padded variant of another calibration essay
        "independent": metrics([r for r in rows if not r.get("copy_of")
                                and not r.get("padded_from")], scores),
    }
    out["checks"] = property_checks(rows, scores)
    # how much the copy direction owes to the input-order tie-break: score again with the
    # input order reversed, and with tie_break = "none" (both members of a tie penalised)
    from pipeline.engagement import EngagementConfig, EngagementScorer

    sens = {}
    for name, order_rev, tie in (("reversed_order", True, "input_order"), ("tie_break_none", False, "none")):
        cfg = EngagementConfig.load(ROOT / "models" / "engagement.toml")
        cfg.params["originality"]["tie_break"] = tie
        sc = EngagementScorer(cfg, ROOT / "models" / "taohua.txt")
        ess = list(reversed(result.essays)) if order_rev else list(result.essays)
        sc.process(ess, {"clusters": []})
        alt = {e.source.split("#", 1)[0]: e.engagement.score for e in ess}
        sens[name] = {"all": metrics(rows, alt),
                      "checks": {k: {"n": v["n"], "ok": v["ok"]}
                                 for k, v in property_checks(rows, alt).items()}}
    out["order_sensitivity"] = sens
    # padding alone: re-score each padded essay with its links to the original removed (as if
    # the original were not in the cohort), so only the padding itself can change the score
    import copy

    sc = EngagementScorer(ROOT / "models" / "engagement.toml", ROOT / "models" / "taohua.txt")
    alone = []
    for r in rows:
        src = r.get("padded_from", "")
        if src and r["file"] in by_file and src in by_file:
            pe, oe = copy.deepcopy(by_file[r["file"]]), copy.deepcopy(by_file[src])
            pe.matches = [m for m in pe.matches if m.source_id != oe.id]
            oe.matches = [m for m in oe.matches if m.source_id != pe.id]
            a = sc.score(pe, duplication_ran=True, themes_ran=True).score
            b = sc.score(oe, duplication_ran=True, themes_ran=True).score
            alone.append({"file": r["file"], "source": src, "score": a, "source_score": b,
                          "ok": a <= b})
    out["padding_alone"] = {"n": len(alone), "ok": sum(c["ok"] for c in alone), "cases": alone}
    length = {}
    for pol in ("pos", "neg"):
        fs = [r["file"] for r in rows if polarity(r) == pol and r["file"] in scores]
        length[pol] = spearman([len(by_file[f].text) for f in fs], [scores[f] for f in fs])
    out["length_vs_score_spearman"] = {"substantive": length["pos"], "hollow": length["neg"]}
    sub_auc = {}
    for k in next(iter(by_file.values())).engagement.subscores if by_file else []:
        pos = [by_file[r["file"]].engagement.subscores[k]["score"] for r in rows
               if polarity(r) == "pos" and r["file"] in by_file]
        neg = [by_file[r["file"]].engagement.subscores[k]["score"] for r in rows
               if polarity(r) == "neg" and r["file"] in by_file]
        sub_auc[k] = auc(pos, neg)
    out["subscore_auc"] = sub_auc
    out["essays"] = [{"file": r["file"], "rating": r["rating"], "label": r.get("label", ""),
                      "score": scores.get(r["file"]),
                      "copied_ratio": round(by_file[r["file"]].copied_ratio, 3)
                      if r["file"] in by_file else None,
                      "reasons": by_file[r["file"]].engagement.reasons if r["file"] in by_file else []}
                     for r in sorted(rows, key=lambda r: r["file"])]
    sample = ROOT / "corpora" / "sample"
    if (sample / "truth.json").exists():
        out["sample"] = eval_sample(sample, settings, stages)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")

    def f(x):
        return "  –  " if x is None else f"{x:5.3f}"

    print(f"stages: {' → '.join(out['stages'])}" + (f" (added: {added})" if added else ""))
    print(f"{'split':11} {'n':>3} {'subst':>5} {'hollow':>6} {'AUC':>6} {'Spearman':>8}")
    for k in ("all", "odd", "even", "independent"):
        m = out[k]
        print(f"{k:11} {m['n']:3d} {m['n_substantive']:5d} {m['n_hollow']:6d} {f(m['auc']):>6} "
              f"{f(m['spearman']):>8}")
    for k, v in out["checks"].items():
        print(f"{k}: {v['ok']}/{v['n']}")
        for c in v["cases"]:
            if not c["ok"]:
                print(f"   FAIL {c['file']} {c['score']:.1f} vs {c['source']} {c['source_score']:.1f}")
    pa = out["padding_alone"]
    print(f"padded ≤ original with the copy link removed: {pa['ok']}/{pa['n']}  "
          + ", ".join(f"{c['file']} {c['score']:.1f} vs {c['source_score']:.1f}" for c in pa["cases"]))
    for k, v in out["order_sensitivity"].items():
        print(f"{k}: AUC {f(v['all']['auc'])}, Spearman {f(v['all']['spearman'])}, "
              + ", ".join(f"{c} {x['ok']}/{x['n']}" for c, x in v["checks"].items()))
    print("length vs score (Spearman within label): "
          + ", ".join(f"{k} {f(v)}" for k, v in out["length_vs_score_spearman"].items()))
    print("subscore AUC: " + ", ".join(f"{k} {f(v)}" for k, v in sub_auc.items()))
    if missing:
        print(f"missing (skipped by the pipeline): {missing}")
    if "sample" in out:
        sm = out["sample"]
        print(f"corpora/sample (truth.json, not used for tuning the weights): n={sm['n']} "
              f"AUC genuine vs hollow {f(sm['auc_genuine_vs_hollow'])}, genuine vs all others "
              f"{f(sm['auc_genuine_vs_rest'])}, Spearman vs expected_quality {f(sm['spearman'])}, "
              f"copies below their source {sm['copies']['ok']}/{sm['copies']['n']}")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
