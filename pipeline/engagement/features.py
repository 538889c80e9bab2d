"""Surface features of engagement, sentence by sentence, with the evidence behind them.

Every feature is a *density* or a *saturating count* so that length alone buys
nothing and padding an essay with stock text lowers (never raises) it:

* **specific facts** — Arabic numbers, counted Chinese numerals with a unit,
  dates and periods, place and organisation names, named programmes
  (“最多跑一次”改革), worked cases (例如/比如/以…为例/有一次);
* **personal action** — first person (我/我们/本人/我局…) doing or finding
  something (走访/整改/发现…) or criticising itself (对照/差距/不足…), not the
  exhortation ``我们要…`` / ``我们必须…``; plus a reference to one's own unit/role;
* **commitments** — next steps (下一步/今后/我将/计划/力争), *concrete* when they
  carry a number, a deadline or a measurable target;
* **slogans** — stock phrases from ``models/taohua.txt`` (metaphors such as
  指挥棒/风向标 are in that list), 排比 of ``要…，要…，要…``, quote stacking;
  a sentence that carries a slogan but no fact and no personal action is a
  *slogan sentence*;
* **MTLD** lexical diversity (McCarthy & Jarvis 2010) on jieba word tokens.

:func:`extract` returns an :class:`EssayFeatures`; nothing here scores.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..essay import Essay, Span
from ..segment import token_texts

CJK = "\u4e00-\u9fff"
_CN_NUM = "两三四五六七八九十百千万"
_UNITS = ("个百分点|百分点|%|％|个村|个社区|个小区|户|人次|人|名|次|件|条|项|家|所|座|公里|千米|"
          "平方米|米|亩|万元|亿元|元|万|亿|台|场|批|份|篇|天|小时|分钟|周|个月|年|类|处|轮|期|吨|张|套|间")

#: A character that can be part of a place or organisation name (not a function word).
_NAME = (r"(?:(?![的是在每个名年月了和与把被对让给向从到为评其各该本这那些所等及并或我们你他她它"
         r"就都也还要将会能从而且但如果因此由于通过经过今去明上下前后里中内外])[\u4e00-\u9fff])")

#: Specific-fact patterns, by kind. Each match is one item of evidence.
SPECIFIC_PATTERNS: dict[str, re.Pattern] = {
    "number": re.compile(rf"\d+(?:\.\d+)?(?:{_UNITS})?|[{_CN_NUM}]{{1,4}}(?:{_UNITS})"),
    "date": re.compile(r"\d{1,4}年|\d{1,2}月(?:\d{1,2}日)?|今年|去年|前年|上半年|下半年|年初|年底|"
                       r"一季度|二季度|三季度|四季度|上个月|上月|上周|本月|当月|那天|那年"),
    "place": re.compile(rf"{_NAME}{{2,4}}(?:省|县|镇|乡|村|街道|社区|小区|园区|开发区|市场|口岸)"),
    "org": re.compile(rf"{_NAME}{{2,5}}(?:局|委员会|办公室|中心|公司|银行|医院|学校|大队|中队|"
                      rf"派出所|支部|党委|党组|服务站|窗口|科室)"),
    "programme": re.compile(rf"“[^”\n]{{2,14}}”(?:改革|行动|工程|计划|项目|工作法|机制|活动|平台|专项|清单|"
                            rf"制度|服务|模式|小程序)|[{CJK}]{{2,8}}(?:专项行动|攻坚行动|工作法|小程序|试点)"),
    "case": re.compile(r"例如|比如|譬如|举个例子|以[^，。]{1,12}为例|就拿|有一次|有一回|记得|当时|"
                       r"那一次|一位(?:老|大|群众|居民|村民|企业)"),
}
#: Matches of the patterns above that are generic, not specific.
SPECIFIC_STOP = re.compile(
    r"^(?:[^，。]*(?:地区|农村|城市|城乡|乡村|基层|全县|全市|全区|全省|全乡|全镇|各村|各社区|广大|"
    r"人民为中心|为中心|以人民|格局|大局|布局|全局|开局|结局|新时代|在新时代|社会主义))")

_NUMBER_STOP = {"千万", "万家", "百年", "万众", "千家", "万人", "十年"}

FIRST_PERSON = re.compile(r"我们|(?<![自忘舍唯无大小])我(?![国党军其])|本人|笔者|咱们")
#: First person followed by these (within 3 chars) is exhortation or promise, not action.
MODAL_AFTER = re.compile(r"^[们都也还更就]{0,2}(?:要|应|应当|应该|必须|务必|一定|将|会|需|需要|得要)")
ACTION_VERBS = re.compile(
    r"做了|改了|改进|整改|查|发现|走访|调研|带队|牵头|负责|组织|推动|梳理|建立|制定|解决|处理|协调|"
    r"参与|接待|上门|蹲点|完成|开展|推行|试点|办理|回访|核实|摸排|统计|测算|对比|访谈|座谈|召开|"
    r"研究|修订|压缩|取消|精简|下沉|帮|陪|跑|算过|翻阅|看到|听到|遇到|碰到|接到|收到")
SELF_CRITIC = re.compile(r"反思|对照|检视|查摆|不足|差距|短板|欠缺|不够|失误|教训|做得不好|没有做到|"
                         r"曾经|过去我|以前我|惭愧|汗颜|偏差|误区")
OWN_ROLE = re.compile(
    r"我(?:所在|分管|负责|主管|担任|从事)|(?:我们|我)(?:单位|局|委|办|科|处|室|所|站|队|街道|社区|村|镇|乡|县|"
    r"支部|部门|窗口|团队|中心|股)|作为[^，。]{0,10}(?:科长|主任|书记|局长|站长|所长|队长|组长|负责人|"
    r"网格员|专干|干事|村干部|驻村|经办人|窗口人员|办事员|科员|一线)")

FUTURE = re.compile(r"下一步|今后|接下来|将来|(?:我|我们|本人|我局|我单位)[^，。]{0,3}(?:将|会|要|打算|计划|准备)|"
                    r"计划|打算|争取|力争|确保|年底前|月底前|季度前")
MEASURABLE = re.compile(rf"\d|[{_CN_NUM}](?:{_UNITS})|年底|月底|季度|每月|每周|每季度|每年|前完成|以内|以上|"
                        r"覆盖率|达到|不少于|不超过|至少|降低到|压缩到|提高到|减少到")

PAIBI_LEADS = ("要", "必须", "坚持", "做到", "把", "以", "让", "用", "更加", "不断", "始终", "切实",
               "着力", "真正", "敢于", "善于", "既要", "又要", "还要", "进一步")
#: A bigram shared by this many short items of one sentence makes it 排比
#: (目标导向、问题导向、结果导向; 思想上再重视、措施上再细化、责任上再压实).
PAIBI_ITEMS = 3
_LEADS_BY_FIRST: dict[str, tuple[str, ...]] = {}
for _l in PAIBI_LEADS:
    _LEADS_BY_FIRST[_l[0]] = _LEADS_BY_FIRST.get(_l[0], ()) + (_l,)
_LONG_LEADS = tuple(_l for _l in PAIBI_LEADS if len(_l) >= 2)
_BIGRAM_STOP = {"我们", "工作", "群众", "考核", "干部", "发展", "一个", "进行", "没有", "社区"}
_BRACKETED = re.compile(r"《[^》\n]*》|“[^”\n]*”")
_CLAUSE = re.compile(r"[，；,;：:、]")
_CURLY_QUOTE = re.compile(r"“([^”\n]{8,})”")
_WORD = re.compile(rf"[{CJK}A-Za-z0-9]")
_NON_WORD = re.compile(rf"[^{CJK}A-Za-z0-9]+")
_CJK2 = re.compile(rf"[{CJK}]{{2}}")
_SPACE = re.compile(r"\s+")


def load_taohua(path: Path | str) -> list[str]:
    """Stock phrases from ``models/taohua.txt`` (one per line, ``#`` comments)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return sorted(set(out), key=lambda s: (-len(s), s))


def phrase_regex(phrases: list[str]) -> re.Pattern | None:
    """One alternation regex, longest phrase first; punctuation-insensitive (，/,)."""
    if not phrases:
        return None
    alts = []
    for p in phrases:
        parts = [re.escape(c) if c not in "，,、" else "[，,、]?" for c in p]
        alts.append("".join(parts))
    return re.compile("|".join(alts))


# -- spans helpers ---------------------------------------------------------------
def merge_spans(spans) -> list[tuple[int, int]]:
    """Union of ``(start, end)`` ranges, sorted and merged."""
    out: list[list[int]] = []
    for s, e in sorted((int(a), int(b)) for a, b in spans if b > a):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def covered(merged: list[tuple[int, int]], start: int, end: int) -> int:
    """Characters of ``[start, end)`` inside the merged ranges."""
    n = 0
    for s, e in merged:
        if e <= start:
            continue
        if s >= end:
            break
        n += min(e, end) - max(s, start)
    return n


def mtld(words: list[str], threshold: float = 0.72) -> float:
    """Measure of Textual Lexical Diversity, mean of forward and backward passes.

    Length-independent by construction (unlike the type-token ratio).
    """
    if not words:
        return 0.0

    def one_pass(seq):
        factors, types, count = 0.0, set(), 0
        for w in seq:
            types.add(w)
            count += 1
            if len(types) / count <= threshold:
                factors += 1
                types, count = set(), 0
        if count:
            ttr = len(types) / count
            factors += (1 - ttr) / (1 - threshold) if ttr < 1 else 0.0
        return len(seq) / factors if factors else float(len(seq))

    return (one_pass(words) + one_pass(words[::-1])) / 2


# -- per-sentence analysis -------------------------------------------------------
@dataclass
class SentenceInfo:
    """What one sentence contributes."""

    span: Span
    n_chars: int
    specific: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    personal_action: bool = False
    self_critic: bool = False
    own_role: bool = False
    commitment: bool = False
    concrete_commitment: bool = False
    slogan_hits: list[str] = field(default_factory=list)
    paibi: bool = False
    quote_share: float = 0.0
    boilerplate_share: float = 0.0
    repeat: bool = False  # the same sentence already occurred earlier in the essay

    @property
    def is_specific(self) -> bool:
        return bool(self.specific)

    @property
    def is_personal(self) -> bool:
        return self.personal_action or self.self_critic

    @property
    def is_slogan(self) -> bool:
        """Stock text with no fact and no personal action in it."""
        if self.repeat:
            return True
        stocky = (bool(self.slogan_hits) or self.paibi or self.quote_share >= 0.5
                  or self.boilerplate_share >= 0.3)
        return stocky and not self.is_specific and not self.is_personal


@dataclass
class EssayFeatures:
    """Sentence analyses plus essay-level figures (see module docstring)."""

    n_chars: int
    sentences: list[SentenceInfo]
    mtld: float
    n_words: int

    def share(self, pred) -> float:
        """Char-weighted share of sentences for which ``pred(sentence)`` holds."""
        tot = sum(s.n_chars for s in self.sentences)
        return sum(s.n_chars for s in self.sentences if pred(s)) / tot if tot else 0.0

    def count(self, pred) -> int:
        return sum(1 for s in self.sentences if pred(s))

    def spans(self, pred, limit: int = 20) -> list[Span]:
        return [s.span for s in self.sentences if pred(s)][:limit]


def _specific_items(sent: str) -> list[tuple[str, str]]:
    items = []
    for kind, pat in SPECIFIC_PATTERNS.items():
        for m in pat.finditer(sent):
            t = m.group()
            if kind in ("place", "org") and SPECIFIC_STOP.match(t):
                continue
            if kind == "number" and t in _NUMBER_STOP:
                continue
            items.append((kind, t))
    return items


def _personal(sent: str, window: int = 24) -> tuple[bool, bool]:
    """(personal action, self-criticism) for first-person, non-exhortative use.

    The verb must follow the first person within ``window`` chars; titles in
    《》 and quoted words do not count.
    """
    sent = _BRACKETED.sub("…", sent)
    action = critic = False
    for m in FIRST_PERSON.finditer(sent):
        after = sent[m.end():m.end() + 6]
        if MODAL_AFTER.match(after):
            continue
        rest = sent[m.start():m.start() + window]
        if ACTION_VERBS.search(rest):
            action = True
        if SELF_CRITIC.search(sent):
            critic = True
    return action, critic


def _paibi(sent: str) -> bool:
    """Parallelism: ≥3 clauses with one lead (要…，要…，要…), or ≥3 short items sharing a bigram."""
    clauses = [c.strip() for c in _CLAUSE.split(sent) if c.strip()]
    if len(clauses) >= 3:
        starts: dict[str, int] = {}
        for c in clauses:
            for lead in _LEADS_BY_FIRST.get(c[0], ()):
                if c.startswith(lead):
                    starts[lead] = starts.get(lead, 0) + 1
        if any(v >= 3 for v in starts.values()):
            return True
    for lead in _LONG_LEADS:
        if sent.count(lead) >= 3:
            return True
    items = [c for c in clauses if 2 <= len(c) <= 14]
    if len(items) < PAIBI_ITEMS:
        return False
    seen: dict[str, int] = {}
    for c in items:
        for bg in {c[i:i + 2] for i in range(len(c) - 1)}:
            if bg in _BIGRAM_STOP or not _CJK2.fullmatch(bg):
                continue
            seen[bg] = seen.get(bg, 0) + 1
            if seen[bg] >= PAIBI_ITEMS:
                return True
    return False


def extract(essay: Essay, slogans: re.Pattern | None) -> EssayFeatures:
    """Analyse every sentence of ``essay`` (needs ``sentences`` and ``tokens``).

    Quote and boilerplate matches from the duplication stage, when present,
    mark quoted and stock passages; specific items inside a quote are not the
    writer's own facts and are ignored.
    """
    text = essay.text
    quotes = merge_spans((m.start, m.end) for m in essay.matches if m.kind == "quote")
    quotes = merge_spans(quotes + [(m.start(1), m.end(1)) for m in _CURLY_QUOTE.finditer(text)])
    boiler = merge_spans((m.start, m.end) for m in essay.matches if m.kind == "boilerplate")
    sents = essay.sentences or [Span(0, len(text))] if text else []
    infos: list[SentenceInfo] = []
    prev_leads: list[str] = []
    seen: set[str] = set()
    for sp in sents:
        s = text[sp.start:sp.end]
        n = len(s) - sum(len(w) for w in _SPACE.findall(s))
        if not n:
            continue
        info = SentenceInfo(sp, n)
        key = _NON_WORD.sub("", s)
        if len(key) >= 8 and key in seen:  # a repeated sentence earns nothing twice
            info.repeat = True
            infos.append(info)
            continue
        seen.add(key)
        q = covered(quotes, sp.start, sp.end)
        info.quote_share = q / max(1, sp.end - sp.start)
        info.boilerplate_share = covered(boiler, sp.start, sp.end) / max(1, sp.end - sp.start)
        # facts outside quotations only
        for kind, t in _specific_items(s):
            pos = s.find(t)
            if pos >= 0 and covered(quotes, sp.start + pos, sp.start + pos + len(t)) == len(t):
                continue
            info.specific.append((kind, t))
        info.personal_action, info.self_critic = _personal(s)
        info.own_role = bool(OWN_ROLE.search(s))
        if FUTURE.search(s):
            info.commitment = True
            info.concrete_commitment = bool(MEASURABLE.search(s))
        if slogans is not None:
            info.slogan_hits = [m.group() for m in slogans.finditer(s)]
        info.paibi = _paibi(s)
        lead = next((ld for ld in PAIBI_LEADS if s.startswith(ld)), "")
        prev_leads.append(lead)
        if lead and prev_leads[-3:] == [lead] * 3:  # 要…。要…。要…。 across sentences
            for k in infos[-2:]:
                k.paibi = True
            info.paibi = True
        infos.append(info)
    words = [w for w in token_texts(essay.tokens) if _WORD.search(w)]
    n_chars = len(text) - sum(len(w) for w in _SPACE.findall(text))
    return EssayFeatures(n_chars, infos, mtld(words), len(words))
