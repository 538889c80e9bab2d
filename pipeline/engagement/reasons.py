"""Two to four plain-Chinese reasons a reviewer can read beside the score.

Order: the copied share when high (always said), stages that did not run (so
the reader knows what the score leaves out), then the weaknesses that cost the
most points, then — if there is room — the strengths.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Figures:
    """The counts behind the sub-scores that reasons quote."""

    n_chars: int = 0
    copied: float = 0.0
    template_share: float = 0.0
    submission_share: float = 0.0
    main_sources: list[str] = field(default_factory=list)
    excused_sources: list[str] = field(default_factory=list)
    order_sources: list[str] = field(default_factory=list)
    boilerplate: float = 0.0
    n_specific: int = 0
    n_personal: int = 0
    own_role: bool = False
    n_concrete: int = 0
    n_vague: int = 0
    slogan_share: float = 0.0
    n_themes_strong: int = 0
    n_themes_mentioned: int = 0
    mtld: float = 0.0
    duplication_ran: bool = True
    themes_ran: bool = True


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _copy_reason(f: Figures) -> str:
    if f.template_share >= f.submission_share * 2 or not f.main_sources:
        where = "范文"
    elif f.submission_share >= f.template_share * 2:
        where = "他人（" + "、".join(f.main_sources[:2]) + "）"
    else:
        where = "范文/他人（" + "、".join(f.main_sources[:2]) + "）"
    return f"{_pct(f.copied)} 的文字与{where}雷同"


def _weakness(name: str, f: Figures) -> str | None:
    if name == "specificity":
        return "没有具体事例、数字或时间地点" if f.n_specific == 0 else f"仅有{f.n_specific}处具体事例"
    if name == "personal":
        if f.n_personal == 0:
            return "没有结合本人工作的具体做法或反思"
        return f"联系自身不足（仅{f.n_personal}句写到本人的做法或反思）"
    if name == "commitments":
        if f.n_concrete == 0 and f.n_vague == 0:
            return "无个人行动承诺"
        if f.n_concrete == 0:
            return "承诺空泛，没有可衡量的目标或时限"
        return f"仅{f.n_concrete}条可衡量的行动承诺"
    if name == "theme_depth":
        if f.n_themes_strong == 0 and f.n_themes_mentioned == 0:
            return "未涉及通知的主要内容"
        return "对通知要点多是提及，未结合实际展开"
    if name == "slogans":
        return f"套话、口号约占{_pct(f.slogan_share)}"
    if name == "originality":
        if f.copied >= 0.1:
            return _copy_reason(f)
        return f"通用套话段落占{_pct(f.boilerplate)}"
    if name == "diversity":
        return "用词重复较多"
    if name == "length":
        return f"篇幅过短（{f.n_chars}字）"
    return None


def _strength(name: str, f: Figures) -> str | None:
    if name == "specificity":
        return f"有{f.n_specific}处具体事实（数字、时间、地点、事例）"
    if name == "personal":
        return "结合本人工作写了具体做法或反思"
    if name == "commitments" and f.n_concrete:
        return f"有{f.n_concrete}条可衡量的下一步承诺"
    if name == "originality":
        return "文字为本人原创"
    if name == "theme_depth":
        return "结合实际展开了通知要点"
    if name == "slogans":
        return "套话少"
    return None


def make_reasons(subscores: dict, f: Figures, copy_threshold: float = 0.3,
                 max_reasons: int = 4, before_discount: dict | None = None) -> list[str]:
    """Reasons for one essay.

    Args:
        subscores: The essay's sub-scores (``score``/``weight`` per name).
        f: The figures quoted in the reasons.
        copy_threshold: From this copied share on, the copied share is always the first reason.
        max_reasons: At most this many (at least two are given).
        before_discount: Sub-scores before the copy discount: weaknesses are
            judged on the writing itself, the copying is said once.
    """
    out: list[str] = []
    said: set[str] = set()
    if f.copied >= copy_threshold:
        out.append(_copy_reason(f))
        said.add("originality")
        if f.order_sources:
            out.append("与" + "、".join(f.order_sources[:2]) + "的雷同无法从文本判断谁先谁后，"
                       "按提交顺序推定本文在后")
        out.append("抄录文字中的事例、做法和承诺不计分")
    if not f.duplication_ran:
        out.append("未运行查重：原创性未计入，其权重已分给其他分项")
        said.add("originality")
    if not f.themes_ran:
        out.append("未运行主题分析：主题深度未计入")
        said.add("theme_depth")
    if f.excused_sources and len(out) < max_reasons:
        out.append("与" + "、".join(f.excused_sources[:2]) + "雷同的文字判断为对方抄录本文，未扣分")
    if before_discount:
        subscores = {n: {**s, "score": before_discount.get(n, s["score"])}
                     for n, s in subscores.items()}
    active = [(n, s) for n, s in subscores.items() if s["weight"] > 0 and n not in said]
    lost = sorted(active, key=lambda kv: (-(kv[1]["weight"] * (1 - kv[1]["score"])), kv[0]))
    for n, s in lost:
        if len(out) >= max_reasons:
            break
        if s["score"] < 0.5 and s["weight"] * (1 - s["score"]) >= 0.02:
            r = _weakness(n, f)
            if r and r not in out:
                out.append(r)
                said.add(n)
    gained = sorted(active, key=lambda kv: (-(kv[1]["weight"] * kv[1]["score"]), kv[0]))
    if f.copied >= copy_threshold:
        gained = []  # a copy's facts and actions are not its writer's strengths
    for n, s in gained:
        if len(out) >= min(max_reasons, 3) and len(out) >= 2:
            break
        if n in said or s["score"] < 0.7:
            continue
        r = _strength(n, f)
        if r:
            out.append(r)
            said.add(n)
    for n, s in lost:  # always at least two
        if len(out) >= 2:
            break
        if n not in said:
            r = _weakness(n, f) if s["score"] < 0.7 else _strength(n, f)
            if r and r not in out:
                out.append(r)
                said.add(n)
    return out[:max_reasons]
