"""HTML report: the cohort overview ``index.html`` and one page per essay.

``OUT/index.html`` — counts, a sortable/filterable table of essays, a theme ×
essay heatmap, the score histogram, discovered topics with example sentences,
clusters of near-identical essays and the skipped files.
``OUT/essays/<id>.html`` — the essay with highlights by class (copied from a
submission, template, boilerplate, quote, theme evidence), a side panel that
shows each marked passage beside its source, engagement sub-scores and reasons.

Security model: every piece of essay-derived text is untrusted. Templates are
rendered with autoescaping; the only JSON embedded in a page goes through
:func:`script_json` (``<`` → ``\\u003c``, so ``</script>`` and ``<!--`` cannot
end the block); the panel script inserts text with ``textContent`` only; a
Content-Security-Policy allows no network at all and only the page's own
scripts (by hash). Output file names are built from sanitised essay ids
(:func:`page_name`), never from input file names, so nothing is written
outside the output folder.

Every field the analysis stages fill is optional here: a run without themes,
duplication or engagement still produces a complete report.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..essay import MATCH_KINDS
from .atomic import atomic_write_text
from .charts import heatmap_svg, histogram_svg
from .highlight import Annotation, render
from .i18n import strings, subscore_label
from .page_parts import legend_spans, match_rows, subscore_rows, theme_items

#: An essay is flagged when at least this share of it is copied …
FLAG_COPIED = 0.30
#: … or its engagement score is below this, or it is in a copy cluster.
FLAG_SCORE = 40.0
#: Longest passage (chars) shown in panels and tables.
MAX_PASSAGE = 300
#: Essay pages are rendered in ``jobs`` processes from this many essays on.
PARALLEL_MIN = 400
#: The index table lists at most this many essays (flagged ones first) …
INDEX_MAX_ROWS = 5000
#: … and the heatmap at most this many; the CSV/XLSX tables always hold all.
HEATMAP_MAX_ROWS = 300

_UI_KEYS = ("source", "similarity", "this_essay", "source_passage", "open_source",
            "no_source_text", "cues")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src {hashes}; "
        "base-uri 'none'; form-action 'none'")


# -- helpers -------------------------------------------------------------------
def page_name(essay_id: str) -> str:
    """File name of an essay's page: the id itself when it is a plain token
    (``E0001``), else a hash of it — never anything that could leave ``essays/``."""
    if _SAFE_ID.fullmatch(essay_id):
        return f"{essay_id}.html"
    return "x" + hashlib.sha1(essay_id.encode("utf-8")).hexdigest()[:16] + ".html"


def script_json(data: Any) -> Markup:
    """JSON safe to place inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c``/``\\u003e``/``\\u0026`` (so neither
    ``</script>`` nor ``<!--`` can appear) and U+2028/2029 are escaped too.
    """
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return Markup(text)


def _clip(text: str, n: int = MAX_PASSAGE) -> str:
    text = text or ""
    return text if len(text) <= n else text[: n - 1] + "…"


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f else None  # NaN → None


def _span(v) -> tuple[int, int] | None:
    """``(start, end)`` of a Span, a ``{"start", "end"}`` dict or a pair."""
    if hasattr(v, "start") and hasattr(v, "end"):
        return int(v.start), int(v.end)
    if isinstance(v, dict) and "start" in v and "end" in v:
        return int(v["start"]), int(v["end"])
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return int(v[0]), int(v[1])
    return None


def _static(name: str) -> str:
    return resources.files("pipeline.report").joinpath("templates", name).read_text("utf-8")


def _csp(*scripts: str) -> str:
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest())
                      .decode("ascii") + "'" for s in scripts)
    return _CSP.format(hashes=hashes or "'none'")


#: Attribute names a plain ``dict`` has; any other ``x.name`` on a dict is a key.
_DICT_ATTRS = frozenset(dir(dict))


def _env():
    """The Jinja environment of the report templates (autoescaping, strict).

    ``{{ row.name }}`` on a plain dict normally tries ``getattr`` first and
    catches the ``AttributeError``; the templates read thousands of dict rows
    a page, so a dict is looked up by key directly when ``name`` is not one of
    its attributes — the same result, without the exception.
    """
    import jinja2

    class _Environment(jinja2.Environment):
        def getattr(self, obj, attribute):
            if type(obj) is dict and attribute not in _DICT_ATTRS:
                try:
                    return obj[attribute]
                except (KeyError, TypeError):
                    pass
            return super().getattr(obj, attribute)

    return _Environment(
        loader=jinja2.PackageLoader("pipeline.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        auto_reload=False)  # templates never change during a run: no stat() per page


# -- cohort-level lookups --------------------------------------------------------
class _Cohort:
    """Lookups over a RunResult shared by the index and the essay pages."""

    def __init__(self, result, lang: str):
        self.result = result
        self.lang = lang
        self.t = strings(lang)
        self.cohort = result.cohort or {}
        self.by_id = {e.id: e for e in result.essays}
        prof = self.cohort.get("profile") or {}
        self.theme_labels: dict[str, str] = {}
        self.theme_desc: dict[str, str] = {}
        for th in prof.get("themes") or []:
            if isinstance(th, dict) and th.get("id"):
                self.theme_labels[th["id"]] = th.get("label") or th["id"]
                self.theme_desc[th["id"]] = th.get("description") or ""
        extra_ids = sorted({t for e in result.essays for t in e.themes} - set(self.theme_labels))
        for tid in extra_ids:
            label = next((e.themes[tid].extra.get("label") for e in result.essays
                          if tid in e.themes and e.themes[tid].extra.get("label")), None)
            self.theme_labels[tid] = label or tid
        self.theme_ids = list(self.theme_labels)
        self.templates = {t["id"]: t for t in self.cohort.get("templates") or []
                          if isinstance(t, dict) and "id" in t}
        self.boilerplate = {b["id"]: b for b in self.cohort.get("boilerplate") or []
                            if isinstance(b, dict) and "id" in b}
        self._topic_labels: dict | None = None
        #: The panel's UI strings as page JSON (the same on every page).
        self.ui_json = script_json({k: self.t[k] for k in _UI_KEYS})
        self.cluster_of: dict[str, str] = {}
        for c in self.cohort.get("clusters") or []:
            for eid in c.get("essays") or []:
                self.cluster_of.setdefault(eid, str(c.get("id", "")))

    def topic_labels(self) -> dict:
        """Label of each discovered topic by id (its top words when unlabelled); cached."""
        if self._topic_labels is None:
            self._topic_labels = {}
            tp = self.cohort.get("topics")
            if isinstance(tp, dict):
                for top in tp.get("topics") or []:
                    self._topic_labels[top.get("id")] = top.get("label") or ", ".join(
                        (top.get("top_words") or [])[:4])
        return self._topic_labels

    # themes
    def covered(self, e) -> list[str]:
        out = []
        for tid in self.theme_ids:
            r = e.themes.get(tid)
            if r is None:
                continue
            cov = r.extra.get("covered")
            if cov if cov is not None else bool(r.evidence):
                out.append(tid)
        return out

    # sources
    def source_title(self, m) -> str:
        if m.extra.get("source_title"):
            return str(m.extra["source_title"])
        if m.kind == "submission" and m.source_id in self.by_id:
            src = self.by_id[m.source_id]
            return src.title or src.source
        if m.kind == "template" and m.source_id in self.templates:
            t = self.templates[m.source_id]
            return t.get("title") or t.get("source") or m.source_id
        if m.kind == "boilerplate" and m.source_id in self.boilerplate:
            df = self.boilerplate[m.source_id].get("df")
            return f"{self.t['kind_boilerplate']} (df={df})" if df is not None else \
                self.t["kind_boilerplate"]
        return ""

    def source_text(self, m) -> str:
        if m.extra.get("source_text"):
            return str(m.extra["source_text"])
        if (m.kind == "submission" and m.source_id in self.by_id
                and m.source_start is not None and m.source_end is not None):
            return self.by_id[m.source_id].text[m.source_start:m.source_end]
        if m.kind == "boilerplate" and m.source_id in self.boilerplate:
            return str(self.boilerplate[m.source_id].get("text") or "")
        return ""

    def essay_href(self, essay_id: str, pos: int | None = None, prefix: str = "") -> str:
        if essay_id not in self.by_id:
            return ""
        return prefix + page_name(essay_id) + (f"#c{int(pos)}" if pos is not None else "")

    def largest(self, e, prefix: str = "") -> dict:
        """``{"id", "title", "href", "share"}`` of the essay's largest source ('' id if none)."""
        ls = e.extra.get("largest_source")
        sid, share, kind = "", None, ""
        if isinstance(ls, dict):
            sid = str(ls.get("source_id") or ls.get("id") or "")
            share = _num(ls.get("ratio", ls.get("share")))
            kind = str(ls.get("kind") or "")
        elif ls:
            sid = str(ls)
        else:
            chars: dict[str, int] = {}
            for m in e.matches:
                if m.kind in ("submission", "template"):
                    chars[m.source_id] = chars.get(m.source_id, 0) + (m.end - m.start)
            if chars:
                sid = max(sorted(chars), key=lambda k: chars[k])
                share = chars[sid] / max(len(e.text), 1)
        if not sid:
            return {"id": "", "title": "", "href": "", "share": None}
        title = ""
        if sid in self.by_id and kind in ("", "submission"):
            title = self.by_id[sid].title or self.by_id[sid].source
        elif sid in self.templates:
            title = self.templates[sid].get("title") or ""
        return {"id": sid, "title": title, "href": self.essay_href(sid, prefix=prefix) if sid in self.by_id else "",
                "share": share}

    def flags(self, e) -> list[str]:
        out = []
        if e.copied_ratio >= FLAG_COPIED:
            out.append(self.t["flag_copied"])
        if e.engagement is not None and e.engagement.score < FLAG_SCORE:
            out.append(self.t["flag_score"])
        if e.id in self.cluster_of:
            out.append(self.t["flag_cluster"].format(id=self.cluster_of[e.id]))
        return out


# -- index -------------------------------------------------------------------------
def _index_row(c: _Cohort, e) -> dict:
    """One row of the index table."""
    cov = c.covered(e)
    return {
        "id": e.id, "href": "essays/" + page_name(e.id), "title": e.title,
        "source": e.source, "author": str(e.meta.get("author") or ""),
        "unit": str(e.meta.get("unit") or ""), "n_chars": len(e.text),
        "score": e.engagement.score if e.engagement else None,
        "copied": float(e.copied_ratio), "largest": c.largest(e, prefix="essays/"),
        "themes": [c.theme_labels[x] for x in cov], "n_themes": len(cov),
        "flags": c.flags(e), "warnings": list(e.warnings)}


def _index_context(c: _Cohort) -> dict:
    """Everything ``index.html.j2`` prints.

    Rows are built only for the essays the table lists (at most
    :data:`INDEX_MAX_ROWS`): the whole cohort contributes a flag and a score
    each, not a row dict, so the parent's memory does not grow by a row per
    essay on a large cohort.
    """
    t, result = c.t, c.result
    essays = result.essays
    flagged = [bool(c.flags(e)) for e in essays]
    scores = [s for s in (e.engagement.score if e.engagement else None for e in essays)
              if s is not None]
    n_flagged = sum(flagged)
    n_all = len(essays)
    rows = [_index_row(c, essays[i]) for i in _cap(flagged, INDEX_MAX_ROWS)]
    heat = None
    heat_essays = [essays[i] for i in _cap(flagged, HEATMAP_MAX_ROWS)]
    if c.theme_ids and heat_essays:
        values = [[(float(e.themes[tid].score) if tid in e.themes else None) for tid in c.theme_ids]
                  for e in heat_essays]
        heat = heatmap_svg([e.id for e in heat_essays],
                           [e.title or e.source for e in heat_essays],
                           ["essays/" + page_name(e.id) for e in heat_essays],
                           [c.theme_labels[x] for x in c.theme_ids], values)
    hist = histogram_svg(scores, x_label=t["hist_x"], y_label=t["hist_y"]) if scores else None
    topics = _topics(c)
    clusters = []
    for cl in c.cohort.get("clusters") or []:
        members = [{"id": i, "href": c.essay_href(i, prefix="essays/"),
                    "title": (c.by_id[i].title or c.by_id[i].source) if i in c.by_id else ""}
                   for i in cl.get("essays") or []]
        pairs = [{"a": p.get("a"), "b": p.get("b"), "sim": _num(p.get("similarity"))}
                 for p in cl.get("pairs") or [] if isinstance(p, dict)]
        clusters.append({"id": str(cl.get("id", "")), "members": members, "pairs": pairs})
    return {
        "t": t, "rows": rows, "skipped": result.skipped, "n_files": result.n_files,
        "n_flagged": n_flagged, "n_clusters": len(clusters), "n_all": n_all,
        "table_note": t["table_capped"].format(shown=len(rows), n=n_all) if len(rows) < n_all else "",
        "heat_note": t["heat_capped"].format(shown=len(heat_essays), n=n_all)
        if len(heat_essays) < n_all else "",
        "mean_score": (sum(scores) / len(scores)) if scores else None,
        "has_scores": bool(scores), "has_themes": bool(c.theme_ids),
        "has_author": any(r["author"] or r["unit"] for r in rows),
        "heatmap": heat, "histogram": hist, "topics": topics, "clusters": clusters,
        "flag_rule": t["flag_rule"].format(copied=round(FLAG_COPIED * 100), score=round(FLAG_SCORE)),
    }


def _cap(flagged: list[bool], limit: int) -> list[int]:
    """Indices of at most ``limit`` items, flagged ones first, in input order.

    Args:
        flagged: Whether each item is flagged.
        limit: How many to keep.
    """
    if len(flagged) <= limit:
        return list(range(len(flagged)))
    keep = [i for i, f in enumerate(flagged) if f][:limit]
    if len(keep) < limit:
        keep += [i for i, f in enumerate(flagged) if not f][:limit - len(keep)]
    return sorted(keep)


def _topics(c: _Cohort) -> dict | None:
    tp = c.cohort.get("topics")
    if not isinstance(tp, dict) or not tp.get("topics"):
        return None
    out = []
    for top in tp["topics"]:
        examples = []
        for ex in top.get("examples") or []:
            eid = ex.get("essay_id")
            sp = _span(ex)
            if eid in c.by_id and sp:
                examples.append({"id": eid, "href": c.essay_href(eid, sp[0], prefix="essays/"),
                                 "text": _clip(c.by_id[eid].text[sp[0]:sp[1]], 160)})
            elif ex.get("text"):
                examples.append({"id": eid or "", "href": "", "text": _clip(str(ex["text"]), 160)})
        out.append({"id": top.get("id"), "label": str(top.get("label") or ""),
                    "share": _num(top.get("share")),
                    "words": [str(w) for w in (top.get("top_words") or [])][:12],
                    "examples": examples[:3]})
    return {"method": str(tp.get("method") or ""), "n": tp.get("n_topics") or len(out),
            "topics": out}


# -- essay page ----------------------------------------------------------------------
def _diff(a: str, b: str, cut: bool = False) -> list[list[int]]:
    """Char ranges that differ between a passage and its source, for the side panel.

    Args:
        a, b: The two passages as displayed (before any ``…``).
        cut: One side was shortened, so a difference at the very end is an
            artefact of the cut and is dropped.

    Returns:
        ``[[a0, a1, b0, b1], ...]`` (code-point offsets) of the non-equal
        opcodes; empty when either side is missing or they are identical.
    """
    if not a or not b or a == b:
        return []
    import difflib

    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops = [[i1, i2, j1, j2] for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]
    if cut and ops and (ops[-1][1] == len(a) or ops[-1][3] == len(b)):
        ops.pop()
    return ops


def _subscores(eng, lang: str, text: str) -> tuple[list[dict], float]:
    rows, total = [], 0.0
    n_text = len(text)
    for key, v in (eng.subscores or {}).items():
        note, mx, evidence, n_evidence = "", None, [], 0
        if isinstance(v, dict):
            points = next((_num(v[k]) for k in ("points", "weighted", "score", "value")
                           if k in v and _num(v[k]) is not None), None)
            mx = next((_num(v[k]) for k in ("max", "max_points") if k in v), None)
            if mx is None and _num(v.get("weight")) is not None and "points" in v:
                mx = _num(v["weight"]) * 100  # engagement stage: points = weight × score × 100
            label = subscore_label(str(key), lang, str(v.get("label") or "") or None)
            note = str(v.get("reason") or v.get("detail") or v.get("note") or "")
            for s in v.get("evidence") or []:
                sp = (int(s["start"]), int(s["end"])) if (
                    type(s) is dict and "start" in s and "end" in s) else _span(s)
                if sp and 0 <= sp[0] < sp[1] <= n_text:
                    n_evidence += 1
                    if n_evidence <= 3:  # the page shows three; it counts them all
                        evidence.append({"start": sp[0], "end": sp[1],
                                         "text": _clip(text[sp[0]:sp[1]], 60)})
        else:
            label = subscore_label(str(key), lang)
            points = _num(v)
        if points is None:
            continue
        total += points
        width = None
        if mx:
            width = max(0.0, min(1.0, abs(points) / mx)) * 100
        rows.append({"key": key, "label": label, "points": points, "max": mx, "note": note,
                     "width": width, "neg": points < 0, "evidence": evidence,
                     "n_evidence": n_evidence})
    return rows, total


def _essay_context(c: _Cohort, e, prev_id: str | None, next_id: str | None,
                   truncate) -> dict:
    """Everything ``essay.html.j2`` prints for essay ``e``.

    The repeated rows (sub-scores, themes, legend, matches) come as escaped HTML
    from :mod:`.page_parts`; ``truncate(text)`` shortens a match passage for the
    match table (the page environment's ``truncate(80)`` filter).
    """
    t = c.t
    anns: list[Annotation] = []
    data: list[dict] = []
    for m in sorted(e.matches, key=lambda m: (m.start, m.end, m.kind, m.source_id)):
        if m.kind not in MATCH_KINDS:
            continue
        anns.append(Annotation(m.start, m.end, m.kind))
        href = ""
        if m.kind == "submission":
            href = c.essay_href(m.source_id, m.source_start)
        mine, theirs = e.text[m.start:m.end], c.source_text(m)
        diff = _diff(mine[:MAX_PASSAGE], theirs[:MAX_PASSAGE],
                     cut=len(mine) > MAX_PASSAGE or len(theirs) >= MAX_PASSAGE)
        data.append({"kind": m.kind, "kind_label": t["kind_" + m.kind], "start": m.start,
                     "end": m.end, "text": _clip(mine, MAX_PASSAGE + 1),
                     "source_id": m.source_id, "source_title": c.source_title(m),
                     "source_text": _clip(theirs, MAX_PASSAGE + 1),
                     "similarity": _num(m.similarity), "href": href, "diff": diff})
    themes = []
    covered = set(c.covered(e))
    for tid in c.theme_ids:
        r = e.themes.get(tid)
        if r is None:
            continue
        spans = [sp for sp in (_span(s) for s in r.evidence) if sp]
        for s0, s1 in spans:
            anns.append(Annotation(s0, s1, "theme"))
            cues = [str(x) for x in (r.extra.get("cues") or [])
                    if str(x) and str(x) in e.text[s0:s1]][:8]
            data.append({"kind": "theme", "kind_label": t["kind_theme"], "start": s0, "end": s1,
                         "text": _clip(e.text[s0:s1]), "theme": c.theme_labels[tid],
                         "theme_desc": c.theme_desc.get(tid, ""), "cues": cues})
        themes.append({"id": tid, "label": c.theme_labels[tid], "score": float(r.score),
                       "n": len(spans), "covered": tid in covered,
                       "first": spans[0][0] if spans else None})
    kinds_present = {a.kind for a in anns}
    legend = [{"kind": k, "label": t["kind_" + k],
               "n": sum(1 for a in anns if a.kind == k)}
              for k in (*MATCH_KINDS, "theme")]
    eng = None
    if e.engagement is not None:
        subs, total = _subscores(e.engagement, c.lang, e.text)
        eng = {"score": float(e.engagement.score), "subs": subs, "total": total,
               "reasons": list(e.engagement.reasons),
               "differs": bool(subs) and abs(total - float(e.engagement.score)) >= 0.5}
    matches = [d for d in data if d["kind"] != "theme"]
    topic_labels = c.topic_labels()
    topic_mix = [{"label": topic_labels.get(x.get("topic"), f"{t['topic']} {x.get('topic')}"),
                  "weight": _num(x.get("weight")) or 0.0}
                 for x in sorted(e.topics or [], key=lambda x: -(_num(x.get("weight")) or 0))[:5]
                 if isinstance(x, dict)]
    return {
        "t": t, "e": e, "body": render(e.text, anns), "ann_json": script_json(data),
        "subs_rows": subscore_rows(eng["subs"], t) if eng else Markup(""),
        "theme_items": theme_items(themes, t), "legend_spans": legend_spans(legend),
        "match_rows": match_rows(matches, t, truncate),
        "ui_json": c.ui_json,
        "legend": legend, "has_marks": bool(kinds_present), "themes": themes, "eng": eng,
        "matches": matches, "largest": c.largest(e), "flags": c.flags(e),
        "author": str(e.meta.get("author") or ""), "unit": str(e.meta.get("unit") or ""),
        "prev": page_name(prev_id) if prev_id else "", "next": page_name(next_id) if next_id else "",
        "prev_id": prev_id or "", "next_id": next_id or "", "topic_mix": topic_mix,
        "cluster": c.cluster_of.get(e.id, ""),
    }


# -- entry point ------------------------------------------------------------------------
class _Pages:
    """Renders essay pages; shared with forked workers (nothing is pickled).

    Args:
        c: The cohort lookups.
        env: The Jinja environment.
        folder: Where the pages are written.
        extra: Optional ``f(essay) -> picklable`` computed for every essay
            next to its page, so callers can spread other per-essay work over
            the same workers.
        spool: Optional ``f(essay) -> str`` (one line, no ``\n``) computed for
            every essay and written to ``spool_dir``, one file per chunk, so
            the values never pile up in memory (e.g. its ``results.json`` line).
        spool_dir: Where the spool files go.
    """

    def __init__(self, c: _Cohort, env, folder: Path, extra=None, spool=None,
                 spool_dir: Path | None = None):
        self.c, self.folder, self.extra = c, folder, extra
        self.spool, self.spool_dir = spool, spool_dir
        self.tpl = env.get_template("essay.html.j2")
        self.truncate = functools.partial(env.filters["truncate"], env, length=80)
        self.css = Markup(_static("report.css"))
        js = _static("essay.js")
        self.js, self.csp = Markup(js), _csp(js)
        self.ids = [e.id for e in c.result.essays]

    def write(self, i: int) -> str:
        """Render and write essay ``i``'s page; returns its file name."""
        ids, e = self.ids, self.c.result.essays[i]
        ctx = _essay_context(self.c, e, ids[i - 1] if i > 0 else None,
                             ids[i + 1] if i + 1 < len(ids) else None, self.truncate)
        page = self.tpl.render(css=self.css, js=self.js, csp=self.csp, lang=self.c.lang, **ctx)
        name = page_name(e.id)
        (self.folder / name).write_text(page, encoding="utf-8")
        return name

    def write_range(self, bounds: tuple[int, int]) -> tuple[list[str], list]:
        """Pages of essays ``range(*bounds)``: their file names and ``extra`` values."""
        names = [self.write(i) for i in range(*bounds)]
        essays = self.c.result.essays
        extras = [self.extra(essays[i]) for i in range(*bounds)] if self.extra else []
        if self.spool is not None:
            text = "\n".join(self.spool(essays[i]) for i in range(*bounds))
            self.spool_path(bounds).write_bytes(text.encode("utf-8"))
        return names, extras

    def spool_path(self, bounds: tuple[int, int]) -> Path:
        assert self.spool_dir is not None
        return self.spool_dir / f"{bounds[0]:010d}-{bounds[1]:010d}.lines"


_PAGES: _Pages | None = None  # set in the parent right before forking workers


def _write_chunk(bounds: tuple[int, int]) -> tuple[list[str], list]:
    assert _PAGES is not None
    return _PAGES.write_range(bounds)


def _chunks(n: int, jobs: int) -> list[tuple[int, int]]:
    """``[start, end)`` ranges of about ``n / (8 jobs)`` essays (at least 50, at most 1,000)."""
    step = min(1000, max(50, n // (jobs * 8)))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


class PageRun:
    """Essay pages being rendered, in forked workers while the caller does other work.

    Creating it starts the work: with ``jobs > 1``, at least
    :data:`PARALLEL_MIN` essays and ``fork`` available, ``jobs`` forked
    processes render the pages (and ``extra``) in chunks while the caller
    goes on; otherwise nothing runs until :meth:`results`, which renders in
    this process. Either way the pages go to a staging folder that
    :meth:`finish` swaps in for ``essays/``, so an interrupted run never leaves
    a mix of old and new pages; :meth:`abort` (or leaving a ``with`` block by
    an exception) stops the workers and removes the staging folder.

    Args:
        result: The run's :class:`~pipeline.runner.RunResult`.
        out_dir: The output folder (created if needed).
        lang: UI language; defaults to ``result.settings.lang``.
        jobs: Worker processes; defaults to ``result.settings.jobs``.
        extra: Optional ``f(essay) -> picklable`` computed per essay alongside
            its page; :meth:`results` returns the values in essay order.
        spool: Optional ``f(essay) -> str`` (a line without ``\n``) computed per
            essay alongside its page and spooled to disk; :meth:`spooled` reads
            the lines back in essay order, a chunk at a time.
    """

    def __init__(self, result, out_dir: Path, lang: str | None = None,
                 jobs: int | None = None, extra=None, spool=None):
        import tempfile

        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.lang = lang or getattr(result.settings, "lang", "zh") or "zh"
        self.jobs = jobs or getattr(result.settings, "jobs", 1) or 1
        self.c = _Cohort(result, self.lang)
        self.env = _env()
        self.n = len(result.essays)
        self.stage = Path(tempfile.mkdtemp(prefix=".essays.", dir=self.out))
        self.spool_dir = (Path(tempfile.mkdtemp(prefix=".spool.", dir=self.out))
                          if spool is not None else None)
        self.chunks = _chunks(self.n, self.jobs)
        self.pages = _Pages(self.c, self.env, self.stage, extra, spool, self.spool_dir)
        self._pool = self._async = self._done = None
        try:
            self._start()
        except BaseException:
            self.abort()
            raise

    def __enter__(self) -> "PageRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def _start(self) -> None:
        """Fork the workers and queue the chunks (parallel case only)."""
        import gc
        import multiprocessing as mp

        global _PAGES
        if self.jobs <= 1 or self.n < PARALLEL_MIN or "fork" not in mp.get_all_start_methods():
            return
        _PAGES = self.pages
        gc.freeze()  # workers never scan (and so never copy) the inherited objects
        try:
            self._pool = mp.get_context("fork").Pool(self.jobs)
        finally:
            gc.unfreeze()
        self._async = self._pool.map_async(_write_chunk, self.chunks)

    def results(self) -> tuple[list[str], list]:
        """Wait for (or do) the rendering.

        Returns:
            The page file names and the ``extra`` values, both in essay order.
        """
        if self._done is None:
            if self._async is not None:
                try:
                    parts = self._async.get()
                finally:
                    self._close()
            else:
                parts = [self.pages.write_range(b) for b in self.chunks]
            self._done = ([x for names, _ in parts for x in names],
                          [x for _, extras in parts for x in extras])
        return self._done

    def spooled(self):
        """The ``spool`` lines of every essay, in essay order (after :meth:`results`).

        A generator reading the chunk files a line at a time (so at most one
        line and the file buffer are in memory, however large a chunk is),
        removing each file once read.
        """
        if self.spool_dir is None:
            raise ValueError("PageRun was created without spool=")
        self.results()
        for b in self.chunks:
            path = self.pages.spool_path(b)
            if b[1] > b[0]:
                with open(path, "rb") as f:
                    for line in f:  # splits at b"\n" only, which no JSON line contains
                        yield (line[:-1] if line.endswith(b"\n") else line).decode("utf-8")
            path.unlink()

    def _close(self) -> None:
        global _PAGES
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        _PAGES = None

    def index_html(self) -> str:
        """The text of ``index.html`` (needs no page to exist)."""
        index_js = _static("index.js")
        return self.env.get_template("index.html.j2").render(
            css=Markup(_static("report.css")), js=Markup(index_js), csp=_csp(index_js),
            lang=self.lang, **_index_context(self.c))

    def finish(self, index: str | None = None) -> list[Path]:
        """Install the pages as ``essays/`` and write ``index.html`` (atomically, last).

        Args:
            index: The text of ``index.html`` if already rendered (see :meth:`index_html`).

        Returns:
            The paths written, index first.
        """
        import os
        import shutil
        import tempfile

        names, _ = self.results()
        try:
            os.chmod(self.stage, 0o755)
            final = self.out / "essays"
            old = None
            if final.exists():
                old = Path(tempfile.mkdtemp(prefix=".essays.old.", dir=self.out))
                os.replace(final, old / "essays")
            os.replace(self.stage, final)
        except BaseException:
            self.abort()
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self._drop_spool()
        html = index if index is not None else self.index_html()
        return [atomic_write_text(self.out / "index.html", html)] + [final / n for n in names]

    def abort(self) -> None:
        """Stop the workers and remove the staging folder."""
        import shutil

        self._close()
        shutil.rmtree(self.stage, ignore_errors=True)
        self._drop_spool()

    def _drop_spool(self) -> None:
        import shutil

        if self.spool_dir is not None:
            shutil.rmtree(self.spool_dir, ignore_errors=True)


def write_html(result, out_dir: Path, lang: str | None = None,
               jobs: int | None = None) -> list[Path]:
    """Write ``essays/<id>.html`` for every essay, then ``index.html``.

    The essay pages are written into a staging folder that replaces
    ``essays/`` when complete, so an interrupted run never leaves a mix of
    old and new pages, and ``index.html`` (written atomically, last) only
    links to pages that exist.

    Args:
        result: The run's :class:`~pipeline.runner.RunResult`.
        out_dir: The output folder (created if needed).
        lang: UI language; defaults to ``result.settings.lang``.
        jobs: Worker processes for the essay pages; defaults to
            ``result.settings.jobs`` (used from :data:`PARALLEL_MIN` essays on).

    Returns:
        The paths written, index first.
    """
    with PageRun(result, out_dir, lang=lang, jobs=jobs) as run:
        return run.finish()
