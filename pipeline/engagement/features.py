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
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..essay import Essay, Span
from ..segment import token_texts

CJK = "\u4e00-\u9fff"
_CN_NUM = "两三四五六七八九十百千万"
_UNITS = ("个百分点|百分点|%|％|个村|个社区|个小区|户|人次|人|名|次|件|条|项|家|所|座|公里|千米|"
          "平方米|米|亩|万元|亿元|元|万|亿|台|场|批|份|篇|天|小时|分钟|周|个月|年|类|处|轮|期|吨|张|套|间")

#: A character that can be part of a place or organisation name (not a function word).
_NAME = (r"(?:(?![的是在每个名年月了和与把被对让给向从到为评其各该本这那些所等及并或我们你他她它"
         r"就都也还要将会能从而且但如果因此由于通过经过今去明上下前后里中内外])[\u4e00-\u9fff])")

_PLACE_SUFFIX = "省|县|镇|乡|村|街道|社区|小区|园区|开发区|市场|口岸"
_ORG_SUFFIX = ("局|委员会|办公室|中心|公司|银行|医院|学校|大队|中队|派出所|支部|党委|党组|服务站|窗口|"
               "科室")
_PROGRAMME_SUFFIX = "专项行动|攻坚行动|工作法|小程序|试点"

#: Specific-fact patterns, by kind. Each match is one item of evidence.
SPECIFIC_PATTERNS: dict[str, re.Pattern] = {
    "number": re.compile(rf"\d+(?:\.\d+)?(?:{_UNITS})?|[{_CN_NUM}]{{1,4}}(?:{_UNITS})"),
    "date": re.compile(r"\d{1,4}年|\d{1,2}月(?:\d{1,2}日)?|今年|去年|前年|上半年|下半年|年初|年底|"
                       r"一季度|二季度|三季度|四季度|上个月|上月|上周|本月|当月|那天|那年"),
    "place": re.compile(rf"{_NAME}{{2,4}}(?:{_PLACE_SUFFIX})"),
    "org": re.compile(rf"{_NAME}{{2,5}}(?:{_ORG_SUFFIX})"),
    "programme": re.compile(rf"“[^”\n]{{2,14}}”(?:改革|行动|工程|计划|项目|工作法|机制|活动|平台|专项|清单|"
                            rf"制度|服务|模式|小程序)|[{CJK}]{{2,8}}(?:{_PROGRAMME_SUFFIX})"),
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
    spans = [(int(a), int(b)) for a, b in spans if b > a]
    if not spans:
        return []
    spans.sort()
    for s, e in spans:
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
    return (_mtld_pass(words, threshold) + _mtld_pass(words[::-1], threshold)) / 2


def _mtld_pass(seq: list[str], threshold: float) -> float:
    """One MTLD pass: the number of words per factor (a run whose TTR fell to ``threshold``).

    A new type never lowers the type-token ratio, so it is only tested on repeats.
    """
    factors, types, count = 0.0, set(), 0
    for w in seq:
        count += 1
        if w not in types:
            types.add(w)
        elif len(types) / count <= threshold:
            factors += 1
            types, count = set(), 0
    if count:
        ttr = len(types) / count
        factors += (1 - ttr) / (1 - threshold) if ttr < 1 else 0.0
    return len(seq) / factors if factors else float(len(seq))


# -- fast scanning: the same matches as the patterns, tried only where one can start --------
#: Kinds whose every match contains one of these characters (a cheap sentence prefilter):
#: a number starts with a digit or a Chinese numeral; every date alternative has 年/月/季/周/天.
_NEEDS: dict[str, re.Pattern] = {
    "number": re.compile(rf"[\d{_CN_NUM}]"),
    "date": re.compile("[年月季周天]"),
}
#: Kinds whose every match starts a bounded distance before a suffix (or at a quote mark):
#: ``(regex of anchor positions, fewest, most chars from match start to anchor)``.
_ANCHORS: dict[str, tuple[tuple[re.Pattern, int, int], ...]] = {
    "place": ((re.compile(f"(?={_PLACE_SUFFIX})"), 2, 4),),
    "org": ((re.compile(f"(?={_ORG_SUFFIX})"), 2, 5),),
    "programme": ((re.compile("“"), 0, 0), (re.compile(f"(?={_PROGRAMME_SUFFIX})"), 2, 8)),
}
_FIRST_PERSON_HINT = re.compile("我|本人|笔者|咱们")  # every FIRST_PERSON match contains one
_CJK_BIGRAMS = re.compile(rf"(?=([{CJK}]{{2}}))")
#: Every position where some long 排比 lead starts (overlaps included).
_LONG_LEAD_STARTS = re.compile("(?=" + "|".join(map(re.escape, _LONG_LEADS)) + ")")


def _anchored(pat: re.Pattern, anchors, s: str) -> list[re.Match]:
    """``list(pat.finditer(s))`` for a pattern whose matches all start within
    ``[q - most, q - fewest]`` of an anchor position ``q``: only those starts are tried.

    Exact because the patterns have no look-behind, ``^`` or ``\b``: ``pat.match(s, i)``
    is what ``finditer`` tries at ``i``, and ``i`` ascends from the end of the last match.
    """
    starts: set[int] = set()
    for rx, fewest, most in anchors:
        for m in rx.finditer(s):
            q = m.start()
            starts.update(range(max(0, q - most), q - fewest + 1))
    if not starts:
        return []
    out, pos = [], 0
    for i in sorted(starts):
        if i >= pos:
            m = pat.match(s, i)
            if m is not None:
                out.append(m)
                pos = m.end()
    return out


def _finditer(kind: str, s: str):
    """The matches of ``SPECIFIC_PATTERNS[kind]`` in ``s``, exactly as ``finditer`` yields them."""
    pat = SPECIFIC_PATTERNS[kind]
    anchors = _ANCHORS.get(kind)
    if anchors is not None:
        return _anchored(pat, anchors, s)
    need = _NEEDS.get(kind)
    if need is not None and need.search(s) is None:
        return ()
    return pat.finditer(s)


#: ``(kind, pattern, prefilter, anchors)`` in :data:`SPECIFIC_PATTERNS` order (see :func:`_finditer`).
_SCAN_PLAN = [(k, p, _NEEDS.get(k), _ANCHORS.get(k)) for k, p in SPECIFIC_PATTERNS.items()]


def _nonspace_len(s: str) -> int:
    return len(s) - sum(map(len, _SPACE.findall(s)))


# -- per-sentence analysis -------------------------------------------------------
#: A sentence this much inside quotations (quote stacking) or cohort boilerplate is stock text.
QUOTE_STOCK = 0.5
BOILERPLATE_STOCK = 0.3

@dataclass(slots=True)
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
        stocky = (bool(self.slogan_hits) or self.paibi or self.quote_share >= QUOTE_STOCK
                  or self.boilerplate_share >= BOILERPLATE_STOCK)
        return stocky and not self.is_specific and not self.is_personal


class Tally(NamedTuple):
    """Per-essay sums over the sentences: everything the scorer reads.

    ``n_chars``, ``mtld`` and ``n_words`` are the essay's (:class:`EssayFeatures`);
    ``*_chars`` are characters of the sentences with the property (``chars``: all
    sentences); ``*_spans`` the first :data:`SPAN_LIMIT` such sentences as ``(start, end)``;
    ``grounded`` is ``(start, end, carries a fact or a personal action and is no repeat)``
    per sentence. Made by :meth:`EssayFeatures.tally` or, without building sentence
    objects, :func:`tally`.
    """

    n_chars: int
    mtld: float
    n_words: int
    chars: int
    specific_chars: int
    personal_chars: int
    substantive_chars: int  # specific or personal
    slogan_chars: int
    n_specific: int
    n_personal: int
    n_concrete: int
    n_vague: int
    own_role: bool
    specific_spans: list[tuple[int, int]]
    personal_spans: list[tuple[int, int]]  # personal or naming one's own role
    commitment_spans: list[tuple[int, int]]
    slogan_spans: list[tuple[int, int]]
    grounded: list[tuple[int, int, bool]]

    def share(self, chars: int) -> float:
        """``chars`` as a share of all sentence characters (0 for an empty essay)."""
        return chars / self.chars if self.chars else 0.0


#: Evidence spans kept per property.
SPAN_LIMIT = 20


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

    def spans(self, pred, limit: int = SPAN_LIMIT) -> list[Span]:
        return [s.span for s in self.sentences if pred(s)][:limit]

    def tally(self) -> Tally:
        """Every count, share and evidence list the scorer reads, in one pass."""
        return _tally(self.n_chars, self.mtld, self.n_words,
                      ((s.span.start, s.span.end, s.n_chars, s.repeat, s.is_specific,
                        s.is_personal, s.own_role, s.commitment, s.concrete_commitment,
                        s.is_slogan) for s in self.sentences))


def _tally(n_chars: int, mtld_: float, n_words: int, rows) -> Tally:
    """The :class:`Tally` of an essay's figures and ``(start, end, n_chars, repeat, specific,
    personal, own_role, commitment, concrete, slogan)`` rows, one per sentence."""
    chars = spec_c = pers_c = subst_c = slog_c = 0
    n_spec = n_pers = n_conc = n_vague = 0
    role = False
    spec_sp: list = []
    pers_sp: list = []
    comm_sp: list = []
    slog_sp: list = []
    grounded: list = []
    for a, b, n, repeat, spec, pers, own, comm, conc, slog in rows:
        chars += n
        if spec:
            spec_c += n
            n_spec += 1
            spec_sp.append((a, b))
        if pers:
            pers_c += n
            n_pers += 1
        if spec or pers:
            subst_c += n
        if pers or own:
            pers_sp.append((a, b))
            role = role or own
        if comm:
            comm_sp.append((a, b))
            if conc:
                n_conc += 1
            else:
                n_vague += 1
        if slog:
            slog_c += n
            slog_sp.append((a, b))
        grounded.append((a, b, (spec or pers) and not repeat))
    return Tally(n_chars, mtld_, n_words, chars, spec_c, pers_c, subst_c, slog_c, n_spec, n_pers, n_conc, n_vague, role,
                 spec_sp[:SPAN_LIMIT], pers_sp[:SPAN_LIMIT], comm_sp[:SPAN_LIMIT],
                 slog_sp[:SPAN_LIMIT], grounded)


def _specific_items(sent: str) -> list[tuple[str, str]]:
    items = []
    for kind, pat, need, anchors in _SCAN_PLAN:
        if anchors is not None:
            found = _anchored(pat, anchors, sent)
        elif need is not None and need.search(sent) is None:
            continue
        else:
            found = pat.finditer(sent)
        for m in found:
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
    if _FIRST_PERSON_HINT.search(sent) is None:  # removing brackets cannot create one
        return False, False
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
    if len(_LONG_LEAD_STARTS.findall(sent)) >= 3:  # else no long lead occurs 3 times
        for lead in _LONG_LEADS:
            if sent.count(lead) >= 3:
                return True
    items = [c for c in clauses if 2 <= len(c) <= 14]
    if len(items) < PAIBI_ITEMS:
        return False
    total = Counter(_CJK_BIGRAMS.findall("\n".join(items)))  # counts ≥ once-per-item counts
    if max(total.values(), default=0) < PAIBI_ITEMS or all(
            v < PAIBI_ITEMS or bg in _BIGRAM_STOP for bg, v in total.items()):
        return False
    seen: Counter = Counter()
    for c in items:  # each item counts a bigram once
        seen.update(set(_CJK_BIGRAMS.findall(c)) - _BIGRAM_STOP)
    return max(seen.values(), default=0) >= PAIBI_ITEMS


# -- the match-independent part, computed once per essay ------------------------------------
#: Sentence flags of :class:`TextFeatures` rows.
REPEAT, ACTION, CRITIC, ROLE, COMMIT, CONCRETE, PAIBI = 1, 2, 4, 8, 16, 32, 64
KINDS = tuple(SPECIFIC_PATTERNS)
_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}


class TextFeatures(NamedTuple):
    """Everything :func:`extract` reads of an essay's own text, before duplication ran.

    Compact (flat ``array("i")`` rows, no strings: texts are offsets into ``essay.text``)
    because it travels between processes and into the run cache. :func:`resolve` adds the
    duplication matches (quotations, boilerplate) to make the :class:`EssayFeatures`.

    Attributes:
        key: :func:`slogan_key` of the stock-phrase regex used (a mismatch means stale).
        n_chars: Non-space characters of the essay.
        mtld: MTLD of the essay's words.
        n_words: Words with a letter, digit or CJK character.
        rows: ``start, end, n_chars, flags`` per sentence with text (flags: ``REPEAT`` …).
        items: ``row, kind, start, end`` per specific item (kind indexes :data:`KINDS`;
            the span is the item's first occurrence in its sentence).
        hits: ``row, start, end`` per stock-phrase match.
        curly: ``start, end`` inside each “…” of 8+ characters (a quotation).
    """

    key: int
    n_chars: int
    mtld: float
    n_words: int
    rows: array
    items: array
    hits: array
    curly: array


def slogan_key(slogans: re.Pattern | None) -> int:
    """A stable id of the stock-phrase regex (0 for none), stored with the features."""
    return zlib.crc32(slogans.pattern.encode("utf-8")) if slogans is not None else 0


def _sentence_flags(s: str) -> int:
    action, critic = _personal(s)
    flags = ACTION * action | CRITIC * critic
    if ("我" in s or "作为" in s) and OWN_ROLE.search(s):  # every OWN_ROLE match has one
        flags |= ROLE
    if FUTURE.search(s):
        flags |= COMMIT | (CONCRETE if MEASURABLE.search(s) else 0)
    if _paibi(s):
        flags |= PAIBI
    return flags


def analyse(essay: Essay, slogans: re.Pattern | None, key: int | None = None) -> TextFeatures:
    """The :class:`TextFeatures` of ``essay`` (needs ``sentences`` and ``tokens``).

    Args:
        essay: A segmented essay.
        slogans: The stock-phrase regex (:func:`phrase_regex`), or ``None``.
        key: ``slogan_key(slogans)`` when the caller has it.
    """
    text = essay.text
    rows, items, hits, curly = array("i"), array("i"), array("i"), array("i")
    for m in _CURLY_QUOTE.finditer(text):
        curly.extend((m.start(1), m.end(1)))
    sents = essay.sentences or [Span(0, len(text))] if text else []
    prev_leads: list[str] = []
    seen: set[str] = set()
    for sp in sents:
        a, b = sp.start, sp.end
        s = text[a:b]
        n = _nonspace_len(s)
        if not n:
            continue
        r = len(rows) // 4
        norm = _NON_WORD.sub("", s)
        if len(norm) >= 8 and norm in seen:  # a repeated sentence earns nothing twice
            rows.extend((a, b, n, REPEAT))
            continue
        seen.add(norm)
        for kind, t in _specific_items(s):
            p = a + s.find(t)
            items.extend((r, _KIND_INDEX[kind], p, p + len(t)))
        if slogans is not None:
            for m in slogans.finditer(s):
                hits.extend((r, a + m.start(), a + m.end()))
        flags = _sentence_flags(s)
        lead = next((ld for ld in _LEADS_BY_FIRST.get(s[0], ()) if s.startswith(ld)), "")
        prev_leads.append(lead)
        if lead and prev_leads[-3:] == [lead] * 3:  # 要…。要…。要…。 across sentences
            for k in range(max(0, r - 2), r):
                rows[4 * k + 3] |= PAIBI
            flags |= PAIBI
        rows.extend((a, b, n, flags))
    words = list(filter(_WORD.search, token_texts(essay.tokens)))
    return TextFeatures(slogan_key(slogans) if key is None else key, _nonspace_len(text),
                        mtld(words), len(words), rows, items, hits, curly)


def resolve(essay: Essay, tf: TextFeatures) -> EssayFeatures:
    """The :class:`EssayFeatures` of ``essay`` from its :class:`TextFeatures` and matches.

    Quote and boilerplate matches from the duplication stage, when present,
    mark quoted and stock passages; specific items inside a quote are not the
    writer's own facts and are ignored.
    """
    text = essay.text
    quotes, boiler = _quotes_and_boilerplate(essay, tf)
    items, hits = tf.items, tf.hits
    ii = hi = 0
    infos: list[SentenceInfo] = []
    rows = tf.rows
    for r, (a, b, n, f) in enumerate(zip(rows[0::4], rows[1::4], rows[2::4], rows[3::4])):
        if f & REPEAT:
            infos.append(SentenceInfo(Span(a, b), n, repeat=True, paibi=bool(f & PAIBI)))
            continue
        specific = []
        while ii < len(items) and items[ii] == r:
            p, e = items[ii + 2], items[ii + 3]
            if covered(quotes, p, e) != e - p:  # facts outside quotations only
                specific.append((KINDS[items[ii + 1]], text[p:e]))
            ii += 4
        found = []
        while hi < len(hits) and hits[hi] == r:
            found.append(text[hits[hi + 1]:hits[hi + 2]])
            hi += 3
        w = max(1, b - a)
        infos.append(SentenceInfo(
            Span(a, b), n, specific, bool(f & ACTION), bool(f & CRITIC), bool(f & ROLE),
            bool(f & COMMIT), bool(f & CONCRETE), found, bool(f & PAIBI),
            covered(quotes, a, b) / w, covered(boiler, a, b) / w))
    return EssayFeatures(tf.n_chars, infos, tf.mtld, tf.n_words)


def tally(essay: Essay, tf: TextFeatures) -> Tally:
    """``resolve(essay, tf).tally()`` without building sentence objects (the cohort fast path)."""
    quotes, boiler = _quotes_and_boilerplate(essay, tf)
    rows, items, hits = tf.rows, tf.items, tf.hits
    ni, nh = len(items), len(hits)
    ii = hi = 0
    out = []
    qi = 0  # first quotation not ending before the current sentence (both are in order)
    for r, (a, b, n, f) in enumerate(zip(rows[0::4], rows[1::4], rows[2::4], rows[3::4])):
        if f & REPEAT:
            out.append((a, b, n, True, False, False, False, False, False, True))
            continue
        while qi < len(quotes) and quotes[qi][1] <= a:
            qi += 1
        near = qi < len(quotes) and quotes[qi][0] < b  # a quotation overlaps the sentence
        spec = False
        while ii < ni and items[ii] == r:
            if not spec:
                p, e = items[ii + 2], items[ii + 3]
                spec = not near or covered(quotes, p, e) != e - p
            ii += 4
        hit = False
        while hi < nh and hits[hi] == r:
            hit = True
            hi += 3
        pers = bool(f & (ACTION | CRITIC))
        slog = False
        if not (spec or pers):
            w = max(1, b - a)
            slog = (hit or bool(f & PAIBI)
                    or near and covered(quotes, a, b) / w >= QUOTE_STOCK
                    or bool(boiler) and covered(boiler, a, b) / w >= BOILERPLATE_STOCK)
        out.append((a, b, n, False, spec, pers, bool(f & ROLE), bool(f & COMMIT),
                    bool(f & CONCRETE), slog))
    return _tally(tf.n_chars, tf.mtld, tf.n_words, out)


def _quotes_and_boilerplate(essay: Essay, tf: TextFeatures):
    """Merged quotation spans (quote matches and “…” quotes) and boilerplate spans."""
    c = tf.curly
    quotes = list(zip(c[::2], c[1::2]))
    boiler = []
    for m in essay.matches:
        if m.kind == "quote":
            quotes.append((m.start, m.end))
        elif m.kind == "boilerplate":
            boiler.append((m.start, m.end))
    return merge_spans(quotes), merge_spans(boiler)


def text_features(essay: Essay, slogans: re.Pattern | None, key: int | None = None
                  ) -> TextFeatures:
    """The essay's stored :class:`TextFeatures` if made with ``slogans``, else analysed now."""
    key = slogan_key(slogans) if key is None else key
    tf = (getattr(essay, "features", None) or {}).get(FEATURES_KEY)
    if not isinstance(tf, TextFeatures) or tf.key != key:
        tf = analyse(essay, slogans, key)
    return tf


def extract(essay: Essay, slogans: re.Pattern | None) -> EssayFeatures:
    """Analyse every sentence of ``essay`` (needs ``sentences`` and ``tokens``).

    Uses the :class:`TextFeatures` the :class:`EngagementFeatures` stage stored on the
    essay when they were made with the same ``slogans``; analyses the text otherwise.
    """
    return resolve(essay, text_features(essay, slogans))


#: Where :class:`EngagementFeatures` stores its output in ``essay.features``.
FEATURES_KEY = "engagement"


class EngagementFeatures:
    """Pipeline stage (essay scope, runs with segmentation and themes): the engagement
    features of an essay's own text, stored as ``essay.features["engagement"]``.

    Being per essay, it runs in the parallel block (``--jobs``) and its output is kept in
    the run cache; the cohort :class:`~pipeline.engagement.scorer.EngagementScorer` then
    only adds the duplication matches (:func:`resolve`) and scores.

    Args:
        taohua: Path of the stock-phrase list (``models/taohua.txt``); ``None`` disables it.
    """

    name = "engagement_features"
    scope = "essay"
    version = 1

    def __init__(self, taohua: Path | str | None = None):
        self.slogans = phrase_regex(load_taohua(taohua)) if taohua is not None else None
        self.key = slogan_key(self.slogans)

    @classmethod
    def from_settings(cls, settings) -> "EngagementFeatures":
        """The stage with the run's ``models/taohua.txt`` (as the scorer loads it)."""
        from ..config import model_path

        tao = model_path(settings, "taohua.txt")
        return cls(tao if tao.exists() else None)

    def __call__(self, essay: Essay) -> Essay:
        essay.features[FEATURES_KEY] = analyse(essay, self.slogans, self.key)
        return essay
