"""A synthetic RunResult with every analysis field filled per the shared contracts.

Used by the report tests (tests/test_report*.py, tests/test_browser.py) so the
report can be built and checked without the themes/duplication/engagement
stages. Text is written for these tests.
"""
from __future__ import annotations

from pipeline.config import Settings
from pipeline.essay import Engagement, Essay, Match, Skipped, Span, ThemeResult
from pipeline.runner import RunResult

HOSTILE = '<script>alert(1)</script>'
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'

A = ("学习《关于改进推动高质量发展的政绩考核的通知》后，我结合本职工作谈几点体会。\n"
     "一是坚持以人民为中心。去年我们科室在社区开展了12次走访，收集群众意见86条，"
     "其中办证难的问题在三个月内整改到位，群众满意度从78%提高到93%。\n"
     "二是把政治标准放在首位。作为党员干部，要增强“四个意识”，坚决做到“两个维护”，"
     "在考核中我发现自己对政治能力的理解还停留在口号上。\n"
     "三是用好考核结果。能者上、优者奖、庸者下、劣者汰，考核结果要与选拔任用挂钩。"
     "下一步我将在6月底前建立科室平时考核台账，每月通报一次。")

B = ("学习《关于改进推动高质量发展的政绩考核的通知》后，我深受教育。\n"
     "一是坚持以人民为中心。去年我们科室在社区开展了12次走访，收集群众意见86条，"
     "其中办证难的问题在三个月内整改到位，群众满意度从78%提高到93%。\n"
     "政绩考核是指挥棒、风向标，我们要提高政治站位，强化责任担当，狠抓工作落实。" + HOSTILE +
     "\n总之，要以更加饱满的热情投入到工作中去。" + HOSTILE_ATTR)

C = ("政绩考核事关干部队伍建设全局。正确政绩观是干事创业的“总开关”，"
     "我们要坚决反对形象工程和政绩工程，不唯GDP论英雄。"
     "在乡镇工作五年来，我看到有的地方为了显绩修建了用不上的广场，教训深刻。"
     "今后我要把功夫下在打基础、利长远的潜绩上，每季度至少完成一个群众急难愁盼的实事项目。")


def _find(text: str, sub: str) -> tuple[int, int]:
    i = text.index(sub)
    return i, i + len(sub)


def _essay(id: str, source: str, title: str, text: str, author: str = "") -> Essay:
    e = Essay(id=id, source=source, raw=text, title=title, text=text,
              char_map=list(range(len(text) + 1)), meta={"author": author} if author else {})
    # sentences: split after 。！？ and newlines
    start = 0
    for i, ch in enumerate(text):
        if ch in "。！？\n":
            if i + 1 > start and text[start:i + 1].strip():
                e.sentences.append(Span(start, i + 1))
            start = i + 1
    if start < len(text) and text[start:].strip():
        e.sentences.append(Span(start, len(text)))
    return e


def sample_result(lang: str = "zh") -> RunResult:
    """Three essays, one hostile, with matches of every kind and cohort contexts."""
    ea = _essay("E0001", "一科/张三 心得.txt", "以考核指挥棒推动担当作为", A, "张三")
    eb = _essay("E0002", "二科/李四.docx", "学习政绩考核通知心得 " + HOSTILE, B, HOSTILE_ATTR)
    ec = _essay("E0003", "三科/王五.txt", "", C, "王五")

    # B copied the people-centred paragraph from A
    para = "一是坚持以人民为中心。去年我们科室在社区开展了12次走访，收集群众意见86条，" \
           "其中办证难的问题在三个月内整改到位，群众满意度从78%提高到93%。"
    bs, be = _find(B, para)
    as_, ae = _find(A, para)
    eb.matches.append(Match(bs, be, "submission", "E0001", as_, ae, 0.98,
                            extra={"source_text": A[as_:ae], "source_title": ea.title}))
    ea.matches.append(Match(as_, ae, "submission", "E0002", bs, be, 0.98,
                            extra={"source_text": B[bs:be], "source_title": eb.title}))
    s, e = _find(B, "政绩考核是指挥棒、风向标")
    eb.matches.append(Match(s, e, "boilerplate", "B1", similarity=1.0,
                            extra={"source_text": "政绩考核是指挥棒、风向标"}))
    s, e = _find(B, "我们要提高政治站位，强化责任担当，狠抓工作落实。")
    eb.matches.append(Match(s, e, "template", "T1", 0, 24, 0.91,
                            extra={"source_text": "我们要提高政治站位，强化责任担当，狠抓工作落实，"
                                                  "以实际行动践行初心使命。",
                                   "source_title": "范文：政绩考核学习心得（一）"}))
    s, e = _find(A, "能者上、优者奖、庸者下、劣者汰")
    ea.matches.append(Match(s, e, "quote", "policy", similarity=1.0,
                            extra={"source_text": "能者上、优者奖、庸者下、劣者汰",
                                   "source_title": "《关于改进推动高质量发展的政绩考核的通知》"}))
    ea.copied_ratio = (ae - as_) / len(A)
    eb.copied_ratio = ((be - bs) + 23) / len(B)
    ec.copied_ratio = 0.0
    eb.extra["largest_source"] = "E0001"

    def ev(text, *subs):
        return [Span(*_find(text, x)) for x in subs]

    ea.themes = {
        "people_centered": ThemeResult(0.8, ev(A, "去年我们科室在社区开展了12次走访")),
        "political_standard": ThemeResult(0.6, ev(A, "在考核中我发现自己对政治能力的理解还停留在口号上。")),
        "result_use": ThemeResult(0.7, ev(A, "考核结果要与选拔任用挂钩。")),
        "correct_view": ThemeResult(0.0, []),
    }
    eb.themes = {
        "people_centered": ThemeResult(0.5, ev(B, "群众满意度从78%提高到93%。")),
        "political_standard": ThemeResult(0.1, []),
        "result_use": ThemeResult(0.0, []),
        "correct_view": ThemeResult(0.0, []),
    }
    ec.themes = {
        "people_centered": ThemeResult(0.3, ev(C, "每季度至少完成一个群众急难愁盼的实事项目。")),
        "political_standard": ThemeResult(0.0, []),
        "result_use": ThemeResult(0.0, []),
        "correct_view": ThemeResult(0.9, ev(C, "我们要坚决反对形象工程和政绩工程，不唯GDP论英雄。",
                                              "有的地方为了显绩修建了用不上的广场"),
                                    extra={"cues": ["形象工程", "唯GDP", "显绩", "潜绩"]}),
    }
    ea.engagement = Engagement(78.0, {
        "originality": {"points": 20.0, "max": 30, "evidence": []},
        "specificity": {"points": 24.0, "max": 25,
                        "evidence": [dict(zip(("start", "end"),
                                              _find(A, "去年我们科室在社区开展了12次走访")))]},
        "personal": {"points": 14.0, "max": 15},
        "commitments": {"points": 10.0, "max": 10,
                        "evidence": [{"start": A.index("下一步"), "end": len(A)}]},
        "slogan_density": {"points": 0.0, "max": 10},
        "theme_depth": 10.0,
    }, ["有12次走访、86条意见等具体事例", "有明确的下一步行动和时限"])
    eb.engagement = Engagement(31.0, {
        "originality": {"points": 8.0, "max": 30, "reason": "41% 的文字与他人雷同"},
        "specificity": {"points": 12.0, "max": 25},
        "personal": {"points": 6.0, "max": 15},
        "commitments": {"points": 0.0, "max": 10},
        "slogan_density": {"points": -5.0, "max": 10},
        "theme_depth": 10.0,
    }, ["41% 的文字与他人雷同", "套话较多：指挥棒、风向标", "无个人行动承诺" + HOSTILE])
    # ec: engagement missing on purpose (graceful degradation)
    ec.topics = [{"topic": 1, "weight": 0.7}, {"topic": 0, "weight": 0.3}]
    ea.topics = [{"topic": 0, "weight": 0.8}, {"topic": 1, "weight": 0.2}]
    eb.warnings.append("正文中有乱码 " + HOSTILE)

    s0, s1 = _find(A, "其中办证难的问题在三个月内整改到位")
    t0, t1 = _find(C, "我们要坚决反对形象工程和政绩工程，不唯GDP论英雄。")
    cohort = {
        "profile": {"id": "zhengji-kaohe", "label": "政绩考核",
                    "themes": [{"id": "people_centered", "label": "以人民为中心", "description": "群众获得感"},
                               {"id": "political_standard", "label": "政治标准", "description": ""},
                               {"id": "result_use", "label": "考核结果运用", "description": ""},
                               {"id": "correct_view", "label": "正确政绩观", "description": ""}]},
        "topics": {"method": "nmf", "n_topics": 2, "topics": [
            {"id": 0, "label": "群众工作", "top_words": ["群众", "走访", "满意度", "社区"], "share": 0.62,
             "examples": [{"essay_id": "E0001", "start": s0, "end": s1}]},
            {"id": 1, "label": "政绩观" + HOSTILE, "top_words": ["政绩", "形象工程", HOSTILE_ATTR],
             "examples": [{"essay_id": "E0003", "start": t0, "end": t1}]}]},
        "clusters": [{"id": "C1", "essays": ["E0001", "E0002"],
                      "pairs": [{"a": "E0001", "b": "E0002", "similarity": 0.41}]}],
        "templates": [{"id": "T1", "title": "范文：政绩考核学习心得（一）", "source": "t1.txt"}],
        "boilerplate": [{"id": "B1", "text": "政绩考核是指挥棒、风向标", "df": 9}],
    }
    skipped = [Skipped("坏文件/扫描件.pdf", "[X008] PDF 没有文字层 (PDF has no text layer)", "X008"),
               Skipped("../evil" + HOSTILE + ".txt", "[X001] 文件为空 " + HOSTILE_ATTR, "X001")]
    return RunResult([ea, eb, ec], skipped, Settings(lang=lang), "/in", 5, cohort, {})
