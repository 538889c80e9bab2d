"""The engagement stage: a transparent 0–100 score, its sub-scores and reasons.

``score = Σ_k points_k``, ``points_k = weight_k × subscore_k × 100`` with the
weights of ``models/engagement.toml`` (summing to 1), so the report can show
exactly where every point came from. Each sub-score carries the sentences
behind it (``evidence``) and a Chinese ``detail``.

Runs last, after duplication and themes. It is a *cohort* stage because
in-cohort copying is symmetric in the matches (A matches B and B matches A):
only with both essays in view can it decide which of the two is the copier
(see :meth:`EngagementScorer.direction`). Called on a single essay
(``scorer(essay)``) it scores that essay alone.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterable

from ..essay import Engagement, Essay, SubScores
from .config import SUBSCORES, EngagementConfig
from .features import (EssayFeatures, Tally, covered, load_taohua, merge_spans, phrase_regex,
                       slogan_key, tally, text_features)
from .reasons import Figures, make_reasons

COPY_KINDS = ("submission", "template")


def _clip(x: float) -> float:
    return 0.0 if x < 0 else 1.0 if x > 1 else float(x)


def _span_offsets(spans: Iterable, limit: int = 20) -> list[int]:
    """``[start0, end0, …]`` of the first ``limit`` spans (objects or pairs)."""
    out: list[int] = []
    for s in spans:
        a, b = (s.start, s.end) if hasattr(s, "start") else s
        out += (int(a), int(b))
        if len(out) >= 2 * limit:
            break
    return out


def _subscores(names, labels, nums, details, evidence) -> SubScores:
    """The essay's sub-scores, stored compactly (read back as the dicts
    ``{"label", "score", "weight", "points", "evidence": [{"start", "end"}], "detail"}``)."""
    return SubScores.from_parts(names, labels, nums, details, evidence)


class EngagementScorer:
    """Pipeline stage (cohort scope, runs last): fills ``essay.engagement``.

    Args:
        config: An :class:`EngagementConfig`, or a path to its TOML (default
            ``models/engagement.toml``).
        taohua: Path of the curated stock-phrase list (``models/taohua.txt``);
            ``None`` disables phrase matching (排比 and quotes still count).
    """

    name = "engagement"
    scope = "cohort"

    def __init__(self, config: EngagementConfig | Path | str | None = None,
                 taohua: Path | str | None = None):
        if config is None:
            config = EngagementConfig()
        elif not isinstance(config, EngagementConfig):
            config = EngagementConfig.load(config)
        self.config = config
        self.taohua = Path(taohua) if taohua is not None else None
        self._slogans = phrase_regex(load_taohua(self.taohua)) if self.taohua else None
        self._key = slogan_key(self._slogans)

    @classmethod
    def from_settings(cls, settings) -> "EngagementScorer":
        """The stage with the run's ``models/engagement.toml`` and ``models/taohua.txt``."""
        from ..config import model_path

        cfg = model_path(settings, "engagement.toml")
        tao = model_path(settings, "taohua.txt")
        return cls(cfg if cfg.exists() else None, tao if tao.exists() else None)

    # -- copy direction -----------------------------------------------------
    @staticmethod
    def _coverage(essay: Essay) -> dict[str, float]:
        """Share of ``essay`` covered by submission matches, per source essay id."""
        n = max(1, len(essay.text))
        by_src: dict[str, list] = {}
        for m in essay.matches:
            if m.kind == "submission":
                by_src.setdefault(m.source_id, []).append((m.start, m.end))
        return {s: sum(e - a for a, e in merge_spans(v)) / n for s, v in sorted(by_src.items())}

    @staticmethod
    def substance(feats: EssayFeatures | Tally) -> float:
        """Unsaturated substance density: share of text in sentences with a fact or
        a personal action, minus the share of slogan sentences (−1…1)."""
        t = feats.tally() if isinstance(feats, EssayFeatures) else feats
        return t.share(t.substantive_chars) - t.share(t.slogan_chars)

    def tally(self, essay: Essay, feats: EssayFeatures | None = None) -> Tally:
        """The :class:`Tally` of ``essay``: from ``feats`` when given, else from the features
        the ``engagement_features`` stage stored (analysed now if absent) and the matches."""
        if feats is not None:
            return feats.tally()
        return tally(essay, text_features(essay, self._slogans, self._key))

    def direction(self, essays: list[Essay],
                  substance: dict[str, float] | None = None) -> dict[str, dict[str, str]]:
        """For each essay, the submission sources presumed to have copied *from it*,
        each with the basis of that verdict (``"substance"``, ``"share"`` or ``"order"``).

        Text cannot tell who copied whom, so for a pair A/B sharing passages,
        in this order (each step only when the previous one is undecided):

        1. *substance*: the essay whose whole text is hollower — lower
           :meth:`substance` density, by more than ``direction_substance_margin``
           — is presumed the copier: a copy padded with stock text or stripped
           of its facts does not become the original;
        2. *share*: the essay whose text is the larger share shared with the
           other (by more than ``direction_margin``) is presumed the copier;
        3. *order*: with ``tie_break = "input_order"`` the later submission is
           presumed the copier; with ``"none"`` both are counted as copied.
        """
        p = self.config.params["originality"]
        substance = substance or {}
        order = {e.id: i for i, e in enumerate(essays)}
        cov = {e.id: self._coverage(e) for e in essays}
        excused: dict[str, dict[str, str]] = {e.id: {} for e in essays}
        for x in sorted(cov):
            for y, cxy in cov[x].items():
                if y not in cov:
                    continue
                cyx = cov[y].get(x, 0.0)
                qx, qy = substance.get(x), substance.get(y)
                if qx is not None and qy is not None and abs(qx - qy) > p["direction_substance_margin"]:
                    if qx > qy:
                        excused[x][y] = "substance"
                elif abs(cyx - cxy) > p["direction_margin"]:
                    if cyx > cxy:
                        excused[x][y] = "share"  # y is more made of x's text than x of y's
                elif p["tie_break"] == "input_order" and order[x] < order[y]:
                    excused[x][y] = "order"
        return excused

    # -- stage API ------------------------------------------------------------
    def process(self, essays: list[Essay], context: dict) -> None:
        """Score every essay; records the weights used in ``context["engagement"]``.

        Per-essay work (sentence features, scoring) is spread over ``context["engine"]``
        when there is one (``--jobs``/``--engine dask``); results come back in input
        order, so output does not depend on it.
        """
        dup_ran = any(e.matches for e in essays) or any(
            k in context for k in ("clusters", "boilerplate", "templates"))
        themes_ran = any(e.themes for e in essays) or "profile" in context
        engine = context.get("engine")
        if not _spread(engine):
            engine = None  # score in this process
        paired = self._paired(essays)  # only these need a substance for the copy direction
        substance = _map(engine, self.essay_substance, paired)
        excused = self.direction(essays, {e.id: q for e, q in zip(paired, substance)})
        by_order: dict[str, set[str]] = {}  # copier → sources it was judged against by order only
        for src, copiers in excused.items():
            for c, basis in copiers.items():
                if basis == "order":
                    by_order.setdefault(c, set()).add(src)
        excused_ids = {i: set(v) for i, v in excused.items() if v}
        scored = _map(engine, partial(_score_job, self, dup_ran, themes_ran, excused_ids,
                                      by_order), essays)
        for e, eng in zip(essays, scored):
            e.engagement = eng
        context["engagement"] = {
            "weights": {k: round(v, 4) for k, v in self.config.weights.items()},
            "labels": dict(SUBSCORES),
            # the file name only, like the path settings: results.json names no checkout
            "config": Path(self.config.path).name if self.config.path else self.config.path,
            "duplication_ran": dup_ran,
            "themes_ran": themes_ran,
        }

    @staticmethod
    def _paired(essays: list[Essay]) -> list[Essay]:
        """The essays :meth:`direction` compares: both ends of in-cohort submission matches."""
        ids = {e.id for e in essays}
        both: set[str] = set()
        for e in essays:
            for m in e.matches:
                if m.kind == "submission" and m.source_id in ids:
                    both.update((e.id, m.source_id))
        return [e for e in essays if e.id in both]

    def essay_substance(self, essay: Essay) -> float:
        """:meth:`substance` of one essay (a unit of work spread over the engine)."""
        return self.substance(self.tally(essay))

    def __call__(self, essay: Essay) -> Essay:
        essay.engagement = self.score(essay)
        return essay

    # -- scoring ----------------------------------------------------------------
    def score(self, essay: Essay, duplication_ran: bool | None = None,
              themes_ran: bool | None = None, excused: set[str] | None = None,
              feats: EssayFeatures | Tally | None = None,
              by_order: set[str] | None = None) -> Engagement:
        """The :class:`Engagement` of one essay.

        Args:
            essay: Segmented essay, annotated by duplication and themes if they ran.
            duplication_ran: Whether matches can be trusted to be complete;
                ``None`` infers it from the essay (any match at all).
            themes_ran: Likewise for ``essay.themes``.
            excused: Submission sources presumed to have copied from this essay.
            feats: Features already extracted from ``essay``, or their :class:`Tally`
                (saves a pass).
            by_order: Sources this essay was presumed to copy from on input order
                alone (the texts could not tell); the reasons say so.
        """
        cfg, P = self.config, self.config.params
        dup = bool(essay.matches) if duplication_ran is None else duplication_ran
        thm = bool(essay.themes) if themes_ran is None else themes_ran
        excused = excused or set()
        n = max(1, len(essay.text))
        t = feats if isinstance(feats, Tally) else self.tally(essay, feats)
        n_chars, mtld, n_words = t.n_chars, t.mtld, t.n_words

        # -- originality (duplication results; quotes are never copying)
        copy_ms = [m for m in essay.matches if m.kind in COPY_KINDS
                   and not (m.kind == "submission" and m.source_id in excused)]
        copied_spans = merge_spans((m.start, m.end) for m in copy_ms)
        copied = sum(b - a for a, b in copied_spans) / n
        if not essay.matches and essay.copied_ratio > 0 and not excused:
            copied = float(essay.copied_ratio)  # ratio without passages (e.g. a loaded result)
        tmpl = sum(b - a for a, b in merge_spans((m.start, m.end) for m in copy_ms
                                                 if m.kind == "template")) / n
        subm = sum(b - a for a, b in merge_spans((m.start, m.end) for m in copy_ms
                                                 if m.kind == "submission")) / n
        src_len: dict[str, int] = {}
        for m in copy_ms:
            src_len[m.source_id] = src_len.get(m.source_id, 0) + (m.end - m.start)
        main_sources = [s for s, _ in sorted(src_len.items(), key=lambda kv: (-kv[1], kv[0]))]
        bp_spans = merge_spans((m.start, m.end) for m in essay.matches if m.kind == "boilerplate")
        boiler = sum(b - a - covered(copied_spans, a, b) for a, b in bp_spans) / n
        po = P["originality"]
        copied = _clip(copied)
        own = (1.0 - copied) if (po["copy_discount"] and dup) else 1.0
        orig = _clip(1 - copied / po["copied_full"] - po["boilerplate_factor"] * boiler)

        # -- content sub-scores (densities and saturating counts)
        ps = P["specificity"]
        n_spec, spec_share = t.n_specific, t.share(t.specific_chars)
        spec = (min(1.0, spec_share / ps["share_full"])
                * min(1.0, n_spec / ps["count_full"]))
        pp = P["personal"]
        n_pers, role = t.n_personal, t.own_role
        pers = ((1 - pp["role_bonus"]) * min(1.0, t.share(t.personal_chars)
                                             / pp["share_full"]) * min(1.0, n_pers / pp["count_full"])
                + pp["role_bonus"] * role)
        pc = P["commitments"]
        n_conc, n_vague = t.n_concrete, t.n_vague
        comm = min(1.0, n_conc / pc["concrete_full"] + pc["vague_credit"] * min(1, n_vague))
        depth, strong, mentioned, theme_ev = self._theme_depth(essay, t)
        pz = P["slogans"]
        slog_share = t.share(t.slogan_chars)
        slog = 1 - min(1.0, slog_share / pz["share_zero"])
        pd = P["diversity"]
        div = _clip((mtld - pd["low"]) / (pd["high"] - pd["low"])) if n_words else 0.0
        pl = P["length"]
        length = _clip((n_chars - pl["short"]) / (pl["enough"] - pl["short"]))

        disc = "" if own >= 0.999 else f"；×本人文字占比{own:.0%}（抄录文字不计分）"
        raw = {
            "originality": (orig, _span_offsets(copied_spans),
                            f"雷同{copied:.0%}（范文{tmpl:.0%}、他人{subm:.0%}），通用套话{boiler:.0%}"
                            if dup else "未运行查重，未计入"),
            "specificity": (spec * own, _span_offsets(t.specific_spans),
                            f"{n_spec}句含具体事实（数字/时间/地点/单位/项目/事例），"
                            f"占全文{spec_share:.0%}" + disc),
            "personal": (pers * own, _span_offsets(t.personal_spans),
                         f"{n_pers}句写本人做法或反思" + ("，点明本人单位/岗位" if role else "") + disc),
            "commitments": (comm * own, _span_offsets(t.commitment_spans),
                            f"可衡量的承诺{n_conc}条，笼统表态{n_vague}条" + disc),
            "theme_depth": (depth * own, _span_offsets(theme_ev),
                            f"展开论述的主题{strong}个，仅提及{mentioned}个" + disc
                            if thm else "未运行主题分析，未计入"),
            "slogans": (slog * own, _span_offsets(t.slogan_spans),
                        f"套话/口号句占全文{slog_share:.0%}" + disc),
            "diversity": (div * own, [], f"MTLD {mtld:.0f}（{n_words}词）" + disc),
            "length": (length * own, [], f"{n_chars}字" + disc),
        }
        weights = dict(cfg.weights)
        if not dup:
            weights["originality"] = 0.0
        if not thm:
            weights["theme_depth"] = 0.0
        tot = sum(weights.values()) or 1.0
        weights = {k: v / tot for k, v in weights.items()}
        subscores = {}  # what the reasons read of each sub-score
        nums: list[float] = []  # score, weight, points per sub-score
        for k in SUBSCORES:
            sc = _clip(raw[k][0])
            subscores[k] = {"score": round(sc, 4), "weight": round(weights[k], 4)}
            nums += (subscores[k]["score"], subscores[k]["weight"],
                     round(weights[k] * sc * 100, 2))
        total = min(100.0, max(0.0, round(sum(nums[2::3]), 2)))
        fig = Figures(n_chars=n_chars, copied=copied, template_share=tmpl,
                      submission_share=subm, main_sources=main_sources,
                      excused_sources=sorted(excused & {m.source_id for m in essay.matches}),
                      order_sources=sorted(by_order or ()),
                      boilerplate=boiler, n_specific=n_spec, n_personal=n_pers, own_role=role,
                      n_concrete=n_conc, n_vague=n_vague, slogan_share=slog_share,
                      n_themes_strong=strong, n_themes_mentioned=mentioned, mtld=mtld,
                      duplication_ran=dup, themes_ran=thm)
        before = {k: _clip(raw[k][0] / own) if k != "originality" and own > 0 else
                  subscores[k]["score"] for k in SUBSCORES}
        reasons = make_reasons(subscores, fig, po["reason_threshold"], before_discount=before)
        return Engagement(total, _subscores(list(SUBSCORES), list(SUBSCORES.values()), nums,
                                            [raw[k][2] for k in SUBSCORES],
                                            [raw[k][1] for k in SUBSCORES]), reasons)

    def _theme_depth(self, essay: Essay, t: Tally):
        """(score, n strong, n mentioned-only, evidence spans) from ``essay.themes``."""
        p = self.config.params["theme_depth"]
        sents = t.grounded
        pos = {a: k for k, (a, _, _) in enumerate(sents)}
        reach = p["neighbourhood"]
        credit, strong, mentioned, ev = 0.0, 0, 0, []
        for tid in sorted(essay.themes):
            res = essay.themes[tid]
            if not res.evidence:
                continue
            near = []  # evidence sentences and their neighbours that carry a fact or an action
            for sp in res.evidence:
                k = essay.sentence_index(sp.start)
                j = pos.get(essay.sentences[k].start) if k >= 0 else None
                if j is None:
                    continue
                near.extend((a, b) for a, b, grounded in sents[max(0, j - reach):j + reach + 1]
                            if grounded)
            if near:
                credit += 1.0
                strong += 1
                ev.extend(near)
            elif len(res.evidence) >= p["several"]:
                credit += p["several_credit"]
                mentioned += 1
            else:
                credit += p["mention_credit"]
                mentioned += 1
        ev = sorted(set(ev))
        credit = strong + min(credit - strong, p["mention_cap"])  # naming themes is not depth
        return min(1.0, credit / p["themes_full"]), strong, mentioned, ev


def _spread(engine) -> bool:
    """Whether to hand the per-essay work to ``engine``: only a remote one (Dask). Scoring
    costs ~0.1 ms an essay, less than a local pool's fork and the pickling of every
    :class:`Engagement` back (at 2,000 essays, ``--jobs 2``: 2.1–2.9 s of wall against
    0.7 s in process), so a local engine scores in this process."""
    return engine is not None and getattr(engine, "name", "local") != "local"


def _map(engine, fn, items: list) -> list:
    """``[fn(x) for x in items]`` on the run's engine when there is one, in input order."""
    if engine is None or not items:
        return [fn(x) for x in items]
    return engine.map(fn, items)


def _score_job(scorer: EngagementScorer, duplication_ran: bool, themes_ran: bool,
               excused: dict[str, set[str]], by_order: dict[str, set[str]],
               essay: Essay) -> Engagement:
    """Score one essay of the cohort, given the copy directions decided for all of them
    (``excused``/``by_order``: essay id → source ids, only non-empty entries)."""
    return scorer.score(essay, duplication_ran=duplication_ran, themes_ran=themes_ran,
                        excused=excused.get(essay.id, set()),
                        by_order=by_order.get(essay.id, set()))
