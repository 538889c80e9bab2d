"""PAN-style evaluation of copy detection (issue 3), plus candidate+alignment throughput.

Generator: suspicious/source document pairs built from real-looking text
(paragraphs of ../shared/corpora party-study pages and provincial government
reports when present, else sentences generated from a built-in phrase grammar).
Each suspicious document gets planted passages from source documents, one
obfuscation class per document:

* ``verbatim``     — copied as is;
* ``light``        — filler words/的地得 inserted or swapped, punctuation changed,
                     synonyms (干部/领导干部, 群众/人民群众 …), a few chars substituted;
* ``reorder``      — the passage's sentences shuffled;
* ``paragraph``    — 2–3 consecutive source paragraphs copied in another order;
* ``traditional``  — passage converted with OpenCC s2t (the pipeline's clean undoes it);
* ``noise``        — noise characters injected (symbols, Latin letters, spaces, zero-width);
* ``split``        — 2–3 passages from different sources in one document;
* ``negative``     — no copying: the pair shares only stock phrases (套话), quotations
                     (in “”), a policy sentence and the notice's 13+-char name.

All documents form one cohort and go through the real :class:`DuplicationStage`
(with the repo's policy excerpt, quotation and 套话 lists). Detections are the
``submission`` matches in suspicious documents. Measures are the character-level
precision, recall, granularity and plagdet of Potthast et al. (2010), per class
and overall; results go to bench/results/duplication_eval.json.

Throughput: 10k synthetic essays (~1500 chars, 10% carrying a copied passage),
timing normalisation+hashing, candidate generation and alignment separately.

Run: ``.venv/bin/python bench/eval_duplication.py [--cases N] [--throughput N|0]``.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.clean import clean_text  # noqa: E402
from pipeline.duplication import DuplicationStage  # noqa: E402
from pipeline.duplication.classify import read_phrase_list, read_policy  # noqa: E402
from pipeline.duplication.clusters import union_length  # noqa: E402
from pipeline.essay import Essay  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora"
OUT = ROOT / "bench" / "results" / "duplication_eval.json"
CLASSES = ["verbatim", "light", "reorder", "paragraph", "traditional", "noise", "split",
           "negative"]
_SENT = re.compile(r"[^。！？；\n]+[。！？；]?")
_CJK = re.compile(r"[\u4e00-\u9fff]")


# -- text pool -------------------------------------------------------------------
_HEADER = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日在|人民代表大会第.次会议")


def _good_para(p: str) -> bool:
    return (len(p) >= 60 and len(_CJK.findall(p)) >= 0.75 * len(p) and "http" not in p
            and not _HEADER.search(p[:60]))


def corpus_documents() -> tuple[list[list[str]], str]:
    """Paragraph lists of real documents (shared corpora) or generated ones."""
    docs: list[list[str]] = []
    pages = SHARED / "party-study-pages" / "xuexizhuanlan.jsonl"
    if pages.exists():
        seen = set()
        for line in pages.read_text(encoding="utf-8").splitlines():
            t = json.loads(line).get("text", "")
            paras = [p for p in clean_text(t).text.split("\n") if _good_para(p)]
            key = "".join(paras)[:80]
            if len(paras) >= 3 and key not in seen:
                seen.add(key)
                docs.append(paras)
    gov = SHARED / "gov-reports-2026"
    if gov.exists():
        csv.field_size_limit(10**8)
        for f in sorted(gov.glob("2026_*.csv")):
            with f.open(encoding="utf-8-sig") as fh:
                for row in csv.DictReader(fh):
                    paras = [p for p in clean_text(row.get("full_text", "")).text.split("\n")
                             if _good_para(p)]
                    # a report is long: cut it into document-sized chunks
                    for i in range(0, len(paras), 12):
                        if len(paras[i:i + 12]) >= 4:
                            docs.append(paras[i:i + 12])
    if len(docs) >= 200:
        return dedupe(docs), "shared corpora (party-study pages + 2026 provincial reports)"
    return generated_documents(600), "built-in phrase grammar (../shared/corpora absent)"


def dedupe(docs: list[list[str]]) -> list[list[str]]:
    """Drop paragraphs sharing text (two 10-grams, digits ignored) with an earlier document.

    Real reports share formula sentences with each other; the background must be
    free of pre-existing copies so that the planted passages are the ground truth.
    """
    from pipeline.duplication.fingerprint import kgram_hashes, winnow
    from pipeline.duplication.normalize import normalize

    owner: dict[int, int] = {}
    out = []
    for d, paras in enumerate(docs):
        keep = []
        for p in paras:
            # digits dropped: provincial reports share sentences differing only in numbers
            fp = winnow(kgram_hashes(re.sub(r"\d", "", normalize(p).text), 10), 2).tolist()
            if sum(owner.get(h, d) != d for h in fp) >= 2:
                continue
            for h in fp:
                owner.setdefault(h, d)
            keep.append(p)
        if len(keep) >= 3:
            out.append(keep)
    return out


_SUBJ = ["基层干部", "组织部门", "各级党组织", "年轻干部", "我们支部", "乡镇班子", "机关党员", "社区工作者",
         "考核小组", "驻村工作队", "街道党工委", "县直单位"]
_VERB = ["深入调研了", "重新梳理了", "逐项核对了", "认真分析了", "集中整改了", "反复讨论了", "逐户走访了",
         "公开公示了", "细化分解了", "建立健全了", "跟踪督办了", "全面复盘了"]
_OBJ = ["年度考核指标", "群众反映的停车难问题", "老旧小区改造台账", "村级集体经济账目", "窗口服务的办理时限",
        "防汛物资储备情况", "学校周边交通秩序", "农产品销售渠道", "干部平时考核记录", "项目资金拨付进度",
        "养老服务站运营情况", "河道保洁责任清单"]
_TAIL = ["发现了三个突出短板", "形成了具体整改清单", "把责任落实到每个人", "群众满意率明显提升",
         "解决了一批急难愁盼问题", "为下一步工作打下基础", "做到了底数清情况明", "避免了重复填表报数"]
_PLACE = list("青柳石桥河山溪湾坪岭源塘坝冈林泉松竹梅兰桂枫杨槐沙田庄堡")
_TIME = ["今年以来", "上个季度", "在这次专项行动中", "去年冬天", "三月份", "近两个月", "在汛期到来之前",
         "年初", "通过半年努力"]


def generated_documents(n: int, seed: int = 7) -> list[list[str]]:
    """Documents of unique sentences from a small phrase grammar (fallback pool)."""
    rnd = random.Random(seed)
    docs = []
    for d in range(n):
        paras = []
        for _ in range(rnd.randint(5, 8)):
            sents = []
            for _ in range(rnd.randint(3, 5)):
                num = rnd.randint(2, 980)
                place = "".join(rnd.sample(_PLACE, 2))
                sents.append(f"{rnd.choice(_TIME)}，{place}{rnd.choice(['镇', '村', '街道', '县'])}"
                             f"{rnd.choice(_SUBJ)}{rnd.choice(_VERB)}{num}项{rnd.choice(_OBJ)}，"
                             f"{''.join(rnd.sample(_PLACE, 2))}{rnd.choice(_TAIL)}。")
            paras.append("".join(sents))
        docs.append(paras)
    return docs


def sentences(p: str) -> list[str]:
    return [s for s in _SENT.findall(p) if s.strip()]


# -- obfuscation -------------------------------------------------------------------
# the first seven are folded by the normaliser; the last four are not (real rewording)
SYN_OUT = [("干部", "领导干部"), ("群众", "人民群众"), ("要", "必须"), ("组织部门", "组织部"),
           ("我们", "我"), ("领导干部", "党员干部"), ("人民群众", "老百姓"),
           ("提高", "提升"), ("加强", "强化"), ("推进", "推动"), ("重要", "关键")]
FILLERS = ["切实", "进一步", "认真", "不断", "始终", "更加"]
NOISE = list("※☆▲·*#_~") + list("abcxyz") + [" ", "\u200b"]
RARE = "澜栩璞琰琛瑄珂岚芮霁"


def light_edit(text: str, rnd: random.Random) -> str:
    out = []
    for s in sentences(text):
        for a, b in SYN_OUT:
            if a in s and rnd.random() < 0.5:
                s = s.replace(a, b, 1)
        chars = list(s)
        for i, c in enumerate(chars):
            if c in "的地得" and rnd.random() < 0.4:
                chars[i] = rnd.choice(["的", "地", ""])
            elif c == "，" and rnd.random() < 0.3:
                chars[i] = rnd.choice(["、", "；", ""])
        s = "".join(chars)
        if len(s) > 12 and rnd.random() < 0.5:
            p = rnd.randrange(2, len(s) - 4)
            s = s[:p] + rnd.choice(FILLERS) + s[p:]
        if len(s) > 12 and rnd.random() < 0.4:
            p = rnd.randrange(2, len(s) - 4)
            s = s[:p] + rnd.choice(["的", "地", "了"]) + s[p:]
        if len(s) > 30 and rnd.random() < 0.3:  # one real substitution
            p = rnd.randrange(5, len(s) - 5)
            s = s[:p] + rnd.choice(RARE) + s[p + 1:]
        if s.endswith("。") and rnd.random() < 0.2:
            s = s[:-1] + "！"
        out.append(s)
    return "".join(out)


def noise_edit(text: str, rnd: random.Random) -> str:
    out = []
    for c in text:
        out.append(c)
        if rnd.random() < 0.08:
            out.append(rnd.choice(NOISE))
    return "".join(out)


_S2T = None


def s2t(text: str) -> str:
    global _S2T
    if _S2T is None:
        import opencc

        _S2T = opencc.OpenCC("s2t")
    return _S2T.convert(text)


# -- documents and cases -------------------------------------------------------------
@dataclass
class Doc:
    id: str
    raw: str
    kind: str  # "susp" | "src"
    klass: str = ""
    cases: list = field(default_factory=list)  # (raw_s, raw_e, src_id, src_s, src_e)


def _chunk(paras: list[str], target: int) -> list[str]:
    out, n = [], 0
    for p in paras:
        out.append(p)
        n += len(p)
        if n >= target:
            break
    return out


def build(n_per_class: int, seed: int = 2010) -> tuple[list[Doc], str]:
    docs_pool, pool_name = corpus_documents()
    rnd = random.Random(seed)
    order = list(range(len(docs_pool)))
    rnd.shuffle(order)
    it = iter(order)
    extra = generated_documents(2 * n_per_class * len(CLASSES), seed=seed + 1)

    def next_doc(target=1500) -> list[str]:
        while True:
            try:
                paras = _chunk(docs_pool[next(it)], target)
            except StopIteration:  # pool used up: never reuse a document (that is a copy)
                paras = _chunk(extra.pop(), target)
            if sum(map(len, paras)) >= 600:
                return paras

    policy = read_policy(ROOT / "models" / "policy" / "zhengji-kaohe-notice.txt").split("\n")
    quotes = read_phrase_list(ROOT / "models" / "quotes.txt")
    taohua = [t for t in read_phrase_list(ROOT / "models" / "taohua.txt") if len(t) >= 6]
    title = "学习《关于改进推动高质量发展的政绩考核的通知》心得体会。"

    all_docs: list[Doc] = []
    n_src = 0

    def new_src() -> Doc:
        nonlocal n_src
        n_src += 1
        d = Doc(f"S{n_src:04d}", clean_text("\n".join(next_doc())).text, "src")
        all_docs.append(d)
        return d

    def pick_passage(src: Doc, lo: int, hi: int, whole_paras: int = 0) -> tuple[int, int]:
        paras, pos = [], 0
        for p in src.raw.split("\n"):
            paras.append((pos, pos + len(p)))
            pos += len(p) + 1
        if whole_paras:
            i = rnd.randrange(max(1, len(paras) - whole_paras + 1))
            return paras[i][0], paras[min(len(paras), i + whole_paras) - 1][1]
        # a run of whole sentences of lo..hi chars
        spans = [(m.start(), m.end()) for m in _SENT.finditer(src.raw)]
        for _ in range(50):
            i = rnd.randrange(len(spans))
            s, e = spans[i]
            j = i
            while e - s < lo and j + 1 < len(spans) and "\n" not in src.raw[spans[j][1]:spans[j + 1][0] + 1]:
                j += 1
                e = spans[j][1]
            if lo <= e - s <= hi:
                return s, e
        s, e = spans[0][0], spans[min(len(spans) - 1, 3)][1]
        return s, e

    for klass in CLASSES:
        for n in range(n_per_class):
            bg = next_doc(1400)
            susp = Doc(f"{klass[:3].upper()}{n:03d}", "", "susp", klass)
            pieces: list[str | tuple] = list(bg)
            inserts = []  # (paragraph index, planted text, src, s, e)
            if klass == "negative":
                src = new_src()
                shared = (rnd.sample(taohua, 3) + ["“" + q + "”" for q in rnd.sample(quotes, 2)]
                          + [rnd.choice(policy[1:]), title])
                # plant the shared stock material into both documents
                src_paras = src.raw.split("\n")
                for ph in shared:
                    k = rnd.randrange(len(src_paras))
                    src_paras[k] = src_paras[k] + ph + "。"
                    k2 = rnd.randrange(len(pieces))
                    pieces[k2] = pieces[k2] + ph + "。"
                src.raw = clean_text("\n".join(src_paras)).text
            else:
                n_parts = rnd.randint(2, 3) if klass == "split" else 1
                for _ in range(n_parts):
                    src = new_src()
                    if klass == "paragraph":
                        s, e = pick_passage(src, 0, 0, whole_paras=rnd.randint(2, 3))
                        ps = src.raw[s:e].split("\n")
                        perm = ps[:]
                        while len(ps) > 1 and perm == ps:
                            rnd.shuffle(perm)
                        planted = "\n".join(perm)
                    else:
                        lo, hi = (120, 320) if klass == "split" else (150, 600)
                        s, e = pick_passage(src, lo, hi)
                        planted = src.raw[s:e]
                        if klass == "light":
                            planted = light_edit(planted, rnd)
                        elif klass == "reorder":
                            ss = sentences(planted)
                            perm = ss[:]
                            while len(ss) > 1 and perm == ss:
                                rnd.shuffle(perm)
                            planted = "".join(perm)
                        elif klass == "traditional":
                            planted = s2t(planted)
                        elif klass == "noise":
                            planted = noise_edit(planted, rnd)
                    inserts.append((rnd.randrange(len(pieces) + 1), planted, src, s, e))
            # assemble the raw suspicious text, recording planted ranges
            raw, cases = "", []
            by_pos: dict[int, list] = {}
            for ins in inserts:
                by_pos.setdefault(ins[0], []).append(ins)
            for i in range(len(pieces) + 1):
                for _, planted, src, s, e in by_pos.get(i, []):
                    raw += ("\n" if raw else "")
                    cases.append((len(raw), len(raw) + len(planted), src.id, s, e))
                    raw += planted
                if i < len(pieces):
                    raw += ("\n" if raw else "") + pieces[i]
            susp.raw, susp.cases = raw, cases
            all_docs.append(susp)
    return all_docs, pool_name


# -- PAN measures -------------------------------------------------------------------
def _ov(a0, a1, b0, b1) -> tuple[int, int] | None:
    s, e = max(a0, b0), min(a1, b1)
    return (s, e) if e > s else None


_ulen = union_length  # PAN's |∪ spans|: the same union the clusters use


def pan_measures(cases: list[tuple], dets: list[tuple]) -> dict:
    """Potthast et al. 2010 char-level precision, recall, granularity, plagdet.

    ``cases``/``dets``: ``(susp_id, s0, s1, src_id, r0, r1)``.
    """
    def detects(r, s):
        return (r[0] == s[0] and r[3] == s[3] and _ov(r[1], r[2], s[1], s[2])
                and _ov(r[4], r[5], s[4], s[5]))

    prec_terms = []
    for r in dets:
        su, so = [], []
        for s in cases:
            if detects(r, s):
                su.append(_ov(r[1], r[2], s[1], s[2]))
                so.append(_ov(r[4], r[5], s[4], s[5]))
        prec_terms.append((_ulen(su) + _ulen(so)) / ((r[2] - r[1]) + (r[5] - r[4])))
    rec_terms, grans = [], []
    for s in cases:
        su, so, n = [], [], 0
        for r in dets:
            if detects(r, s):
                n += 1
                su.append(_ov(r[1], r[2], s[1], s[2]))
                so.append(_ov(r[4], r[5], s[4], s[5]))
        rec_terms.append((_ulen(su) + _ulen(so)) / ((s[2] - s[1]) + (s[5] - s[4])))
        if n:
            grans.append(n)
    prec = sum(prec_terms) / len(prec_terms) if prec_terms else (1.0 if not cases else 0.0)
    rec = sum(rec_terms) / len(rec_terms) if rec_terms else 1.0
    gran = sum(grans) / len(grans) if grans else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": round(prec, 4), "recall": round(rec, 4), "granularity": round(gran, 4),
            "plagdet": round(f1 / math.log2(1 + gran), 4), "cases": len(cases),
            "detections": len(dets)}


def _to_text_range(char_map: list[int], rs: int, re_: int) -> tuple[int, int]:
    idx = [i for i, r in enumerate(char_map[:-1]) if rs <= r < re_]
    return (idx[0], idx[-1] + 1) if idx else (0, 0)


def evaluate(n_per_class: int, seed: int = 2010) -> dict:
    t0 = time.perf_counter()
    docs, pool = build(n_per_class, seed)
    essays, meta = [], {}
    for d in docs:
        c = clean_text(d.raw)
        e = Essay(id=d.id, source=d.id, raw=d.raw, text=c.text, char_map=c.char_map)
        essays.append(e)
        meta[d.id] = (d, c)
    stage = DuplicationStage.from_settings(_settings())
    ctx: dict = {}
    t1 = time.perf_counter()
    stage.process(essays, ctx)
    t_stage = time.perf_counter() - t1
    cases_by, dets_by = {k: [] for k in CLASSES}, {k: [] for k in CLASSES}
    for e in essays:
        d, c = meta[e.id]
        if d.kind != "susp":
            continue
        for rs, re_, sid, s0, s1 in d.cases:
            a, b = _to_text_range(c.char_map, rs, re_)
            cases_by[d.klass].append((d.id, a, b, sid, s0, s1))  # source raw == source text
        for m in e.matches:
            if m.kind == "submission":
                dets_by[d.klass].append((d.id, m.start, m.end, m.source_id,
                                         m.source_start, m.source_end))
    res = {k: pan_measures(cases_by[k], dets_by[k]) for k in CLASSES}
    res["overall"] = pan_measures([c for k in CLASSES for c in cases_by[k]],
                                  [r for k in CLASSES for r in dets_by[k]])
    return {"pool": pool, "n_documents": len(docs), "n_per_class": n_per_class, "seed": seed,
            "stage_seconds": round(t_stage, 2), "total_seconds": round(time.perf_counter() - t0, 2),
            "measures": res}


def _settings():
    from pipeline.config import Settings

    return Settings(policy=ROOT / "models" / "policy" / "zhengji-kaohe-notice.txt")


# -- throughput -------------------------------------------------------------------------
def throughput(n: int, seed: int = 99) -> dict:
    """Time the stage's steps on ``n`` synthetic ~1500-char essays."""
    from pipeline.duplication.align import SortedHashes, align
    from pipeline.duplication.fingerprint import candidate_pairs, kgram_hashes, winnow
    from pipeline.duplication.normalize import normalize

    docs_pool, pool = corpus_documents()
    corpus = "".join("".join(p) for p in docs_pool)
    rnd = random.Random(seed)
    texts = []
    for i in range(n):
        parts, size = [], 0
        while size < 1500:  # splice short corpus chunks: topical but not copied
            L = rnd.randint(3, 7)
            p = rnd.randrange(len(corpus) - L)
            parts.append(corpus[p:p + L])
            size += L
            if rnd.random() < 0.12:
                parts.append("，" if rnd.random() < 0.7 else "。")
        texts.append("".join(parts))
    n_copy = n // 10
    for _ in range(n_copy):  # 10% carry a 300–600-char passage of another essay
        a, b = rnd.randrange(n), rnd.randrange(n)
        L = rnd.randint(300, 600)
        s = rnd.randrange(0, 1500 - L)
        texts[a] = texts[a][:s] + texts[b][s:s + L] + texts[a][s + L:]
    t0 = time.perf_counter()
    norms = [normalize(t) for t in texts]
    hashes = [kgram_hashes(x.text, 6) for x in norms]
    t1 = time.perf_counter()
    fps = [winnow(h, 6) for h in hashes]
    cands = candidate_pairs(fps, min_shared=2, max_df=64)
    t2 = time.perf_counter()
    prepared = {}
    n_pass = 0
    for i, j, _ in cands:
        for x in (i, j):
            if x not in prepared:
                prepared[x] = SortedHashes(hashes[x])
        n_pass += len(align(prepared[i], prepared[j], k=6))
    t3 = time.perf_counter()
    # and the whole stage (quotes, boilerplate, candidates, alignment, summaries)
    essays = [Essay(id=f"E{i:05d}", source="", raw=t, text=t) for i, t in enumerate(texts)]
    stage = DuplicationStage.from_settings(_settings())
    t4 = time.perf_counter()
    stage.process(essays, {})
    t5 = time.perf_counter()
    return {"n_essays": n, "chars": sum(map(len, texts)), "planted_copies": n_copy,
            "normalise_hash_s": round(t1 - t0, 2), "candidates_s": round(t2 - t1, 2),
            "n_candidates": len(cands), "align_s": round(t3 - t2, 2), "passages": n_pass,
            "cand_plus_align_essays_per_s": round(n / (t3 - t1), 1),
            "whole_stage_s": round(t5 - t4, 2),
            "whole_stage_essays_per_s": round(n / (t5 - t4), 1), "pool": pool}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=20, help="suspicious documents per class")
    ap.add_argument("--throughput", type=int, default=10000, help="synthetic essays (0 = skip)")
    ap.add_argument("--seed", type=int, default=2010, help="generator seed")
    ap.add_argument("--out", type=Path, default=OUT, help="results file")
    args = ap.parse_args(argv)
    out = evaluate(args.cases, args.seed)
    m = out["measures"]
    print(f"pool: {out['pool']}; {out['n_documents']} documents; stage {out['stage_seconds']} s")
    print(f"{'class':<12}{'cases':>6}{'dets':>6}{'prec':>8}{'rec':>8}{'gran':>8}{'plagdet':>9}")
    for k in CLASSES + ["overall"]:
        r = m[k]
        print(f"{k:<12}{r['cases']:>6}{r['detections']:>6}{r['precision']:>8.3f}"
              f"{r['recall']:>8.3f}{r['granularity']:>8.3f}{r['plagdet']:>9.3f}")
    if args.throughput:
        tp = throughput(args.throughput)
        out["throughput"] = tp
        print(f"throughput on {tp['n_essays']} essays ({tp['chars']} chars): normalise+hash "
              f"{tp['normalise_hash_s']} s, candidates {tp['candidates_s']} s "
              f"({tp['n_candidates']} pairs), alignment {tp['align_s']} s → candidates+alignment "
              f"{tp['cand_plus_align_essays_per_s']} essays/s; whole stage {tp['whole_stage_s']} s "
              f"({tp['whole_stage_essays_per_s']} essays/s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"→ {args.out}")
    ok = m["overall"]["plagdet"] >= 0.90
    if not ok:
        print("WARNING: overall plagdet below the 0.90 target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
