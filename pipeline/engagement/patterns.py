"""The vocabularies and patterns of the engagement features, and their fast scans.

What counts as a specific fact, a personal action, a commitment, a slogan or 排比
is defined here once (the regexes and word lists), together with the scanning
helpers that find exactly the same matches as the patterns while trying only the
positions where a match can start (:func:`_finditer`). :mod:`.features` applies
them sentence by sentence; nothing here looks at an essay.
"""
from __future__ import annotations

import re
from pathlib import Path

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
_SPACE = re.compile(r"\s+")  # ``\s`` is exactly ``str.isspace`` (as :func:`~pipeline.essay.nonspace_len`)
_CJK2 = re.compile(rf"[{CJK}]{{2}}")


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


# -- fast scanning: the same matches as the patterns, tried only where one can start --------
#: Kinds whose every match starts a bounded distance before an anchor (a suffix, a quote mark,
#: a digit): ``(regex of anchor positions, fewest, most chars from match start to anchor)``.
#: A number starts at a digit or a Chinese numeral; every date alternative has 年/月/季/周/天
#: 0–4 chars after its start (``\d{1,4}年``, ``年初``, ``上半年``, ``上个月``, ``一季度``…).
#: (``case`` needs none: its alternatives all start with a literal, which ``re`` skips to.)
def _overlap(a: str, b: str) -> bool:
    """Whether an occurrence of ``b`` can start strictly inside one of ``a``."""
    return any(b.startswith(a[d:]) or a[d:].startswith(b) for d in range(1, len(a)))


def _literal_anchors(alternatives: str, fewest: int, most: int
                     ) -> tuple[tuple[re.Pattern, int, int], ...]:
    """Anchors at every position where one of the ``|``-separated literals starts.

    Consuming alternations (``re`` skips in C to their first characters, where a
    ``(?=…)`` is tried at every position), one per group of literals none of which can
    start inside an occurrence of another (党委/委员会 go in two groups), so each group's
    ``finditer`` starts are all its occurrences.
    """
    groups: list[list[str]] = []
    for a in alternatives.split("|"):
        for g in groups:
            if not any(_overlap(a, b) or _overlap(b, a) or _overlap(a, a) for b in g):
                g.append(a)
                break
        else:
            groups.append([a])
    return tuple((re.compile(f"(?={g[0]})" if _overlap(g[0], g[0]) else
                             "|".join(map(re.escape, g))), fewest, most) for g in groups)


_ANCHORS: dict[str, tuple[tuple[re.Pattern, int, int], ...]] = {
    "date": ((re.compile("[年月季周天]"), 0, 4),),
    "place": _literal_anchors(_PLACE_SUFFIX, 2, 4),
    "org": _literal_anchors(_ORG_SUFFIX, 2, 5),
    "programme": ((re.compile("“"), 0, 0),) + _literal_anchors(_PROGRAMME_SUFFIX, 2, 8),
}
#: Patterns rewritten to start with a character class, so that ``re`` skips in C to the
#: positions where a match can start; same matches as :data:`SPECIFIC_PATTERNS` (tested).
#: ``number``: the first digit or numeral is consumed, then a look-behind picks the
#: alternative it starts (``\d+`` ≡ ``\d\d*``, ``[…]{1,4}`` ≡ ``[…][…]{0,3}``: the same
#: greedy order of tries).
_FAST_PATTERNS: dict[str, re.Pattern] = {
    "number": re.compile(rf"[\d{_CN_NUM}](?:(?<=\d)\d*(?:\.\d+)?(?:{_UNITS})?"
                         rf"|(?<=[{_CN_NUM}])[{_CN_NUM}]{{0,3}}(?:{_UNITS}))"),
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
    pat = _FAST_PATTERNS.get(kind, SPECIFIC_PATTERNS[kind])
    anchors = _ANCHORS.get(kind)
    return _anchored(pat, anchors, s) if anchors is not None else pat.finditer(s)


#: ``(kind, pattern, anchors)`` in :data:`SPECIFIC_PATTERNS` order (see :func:`_finditer`).
_SCAN_PLAN = [(k, _FAST_PATTERNS.get(k, p), _ANCHORS.get(k)) for k, p in SPECIFIC_PATTERNS.items()]
