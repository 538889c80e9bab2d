"""The essay page's repeated parts built in Python equal the Jinja loops they replaced.

The reference templates below are the loops of ``essay.html.j2`` before
:mod:`pipeline.report.page_parts` took them over; both are rendered with the
report's own Jinja environment (autoescaping, ``trim_blocks``,
``lstrip_blocks``) on hostile values and must give the same bytes.
"""
from __future__ import annotations

import functools

import pytest
from markupsafe import Markup, escape

from pipeline.report.highlight import Annotation, render
from pipeline.report.html import _env
from pipeline.report.i18n import strings
from pipeline.report.page_parts import esc, legend_spans, match_rows, subscore_rows, theme_items

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a & b",
           "it's", 'say "hi"', "&amp; already", "<!-- x -->", "普通文本", "", "\u2028"]

_SUBS_REF = """<table class="subs">
{% for s in subs %}
<tr data-key="{{ s.key }}"><td>{{ s.label }}{% if s.note %}<div class="ev">{{ s.note }}</div>{% endif %}
{% if s.evidence %}<details class="ev"><summary>{{ t.basis_n.format(n=s.n_evidence) }}</summary>{% for ev in s.evidence %}<div>· <a href="#c{{ ev.start }}" data-jump="{{ ev.start }}" data-end="{{ ev.end }}">{{ ev.text }}</a></div>{% endfor %}</details>{% endif %}</td>
<td>{% if s.width is not none %}<span class="sbar"><i class="{{ 'neg' if s.neg else '' }}" style="width:{{ '%.0f'|format(s.width) }}%"></i></span>{% endif %}</td>
<td class="num {{ 'neg' if s.neg else 'pos' }}">{{ "%+.1f"|format(s.points) }}{% if s.max %}<span class="muted"> / {{ "%.0f"|format(s.max) }}</span>{% endif %}</td></tr>
{% endfor %}
<tr class="sum">"""
_SUBS_NEW = """<table class="subs">
{{ rows }}<tr class="sum">"""

_THEMES_REF = """<ul class="themes">
{% for th in themes %}
<li class="{{ '' if th.covered else 'off' }}"><span class="tl">{% if th.first is not none %}<a href="#c{{ th.first }}" data-jump="{{ th.first }}">{{ th.label }}</a>{% else %}{{ th.label }}{% endif %}</span>
<span class="sbar"><i style="width:{{ '%.0f'|format([th.score, 1.0]|min * 100) }}%;background:#1c6fd1"></i></span>
<span class="num">{{ "%.2f"|format(th.score) }}</span> <span class="ev">{{ t.evidence_n.format(n=th.n) }}</span></li>
{% endfor %}
</ul>"""
_THEMES_NEW = """<ul class="themes">
{{ items }}</ul>"""

_LEGEND_REF = """<b>x</b>
{% for l in legend %}<span class="sw k-{{ l.kind }}" data-kind="{{ l.kind }}">{{ l.label }} ({{ l.n }})</span>{% endfor %}
<span class="muted">"""
_LEGEND_NEW = """<b>x</b>
{{ spans }}<span class="muted">"""

_MATCHES_REF = """<tbody>
{% for m in matches %}
<tr><td><span class="sw k-{{ m.kind }}" style="white-space:nowrap">{{ m.kind_label }}</span></td>
<td><a href="#c{{ m.start }}" data-jump="{{ m.start }}">{{ m.text|truncate(80) }}</a></td>
<td>{% if m.href %}<a href="{{ m.href }}">{{ m.source_id }}</a>{% else %}{{ m.source_id }}{% endif %} <span class="src">{{ m.source_title }}</span></td>
<td class="num">{{ "%.0f%%"|format(m.similarity * 100) if m.similarity is not none else t.na }}</td></tr>
{% endfor %}
</tbody>"""
_MATCHES_NEW = """<tbody>
{{ rows }}</tbody>"""


@pytest.fixture(scope="module")
def env():
    return _env()


@pytest.fixture(scope="module", params=["zh", "en"])
def t(request):
    return strings(request.param)


def _both(env, ref: str, new: str, **kw) -> tuple[str, str]:
    return env.from_string(ref).render(**kw), env.from_string(new).render(**kw)


def test_esc_equals_markupsafe_escape():
    values = HOSTILE + [0, 17, -3, 2.5, None, True, Markup("<b>safe</b>"), ("<", 1)]
    for v in values:
        assert esc(v) == str(escape(v)), v
    assert type(esc("<")) is str


def _subs():
    rows = []
    for i, h in enumerate(HOSTILE):
        ev = [{"start": 3 * i, "end": 3 * i + 5, "text": HOSTILE[(i + k) % len(HOSTILE)]}
              for k in range(i % 4)]
        rows.append({"key": h or "k", "label": HOSTILE[-1 - i] or "label", "note": h,
                     "evidence": ev, "n_evidence": len(ev) + i, "neg": i % 3 == 0,
                     "width": None if i % 4 == 1 else 12.5 * i,
                     "points": (-1) ** i * 3.25 * i, "max": [None, 0.0, 20.0, 7.5][i % 4]})
    rows.append({"key": 7, "label": "n", "note": "", "evidence": [], "n_evidence": 0,
                 "neg": False, "width": 0.0, "points": 0.0, "max": 100.0})
    return rows


def test_subscore_rows_equal_the_template_loop(env, t):
    subs = _subs()
    ref, new = _both(env, _SUBS_REF, _SUBS_NEW, subs=subs, t=t, rows=subscore_rows(subs, t))
    assert new == ref
    assert "<script>" not in new and "&lt;script&gt;" in new


def test_theme_items_equal_the_template_loop(env, t):
    themes = [{"label": h or "x", "score": s, "n": i, "covered": i % 2 == 0,
               "first": None if i % 3 == 0 else 10 * i}
              for i, (h, s) in enumerate(zip(HOSTILE, [0.0, 0.004, 0.5, 0.995, 1.0, 1.7,
                                                       0.333, 0.125, 0.875, 0.0051]))]
    ref, new = _both(env, _THEMES_REF, _THEMES_NEW, themes=themes, t=t,
                     items=theme_items(themes, t))
    assert new == ref
    assert "<img" not in new


def test_legend_spans_equal_the_template_loop(env):
    legend = [{"kind": h or "k", "label": HOSTILE[-1 - i], "n": i} for i, h in enumerate(HOSTILE)]
    ref, new = _both(env, _LEGEND_REF, _LEGEND_NEW, legend=legend, spans=legend_spans(legend))
    assert new == ref


def test_match_rows_equal_the_template_loop(env, t):
    long = "很长的句子，" * 20 + "<script>x</script>"
    matches = [{"kind": "submission" if i % 2 else HOSTILE[i], "kind_label": h, "start": i * 7,
                "text": (long if i % 3 == 0 else h), "href": "" if i % 2 else h + ".html",
                "source_id": HOSTILE[-1 - i], "source_title": h,
                "similarity": None if i % 4 == 0 else i / 9}
               for i, h in enumerate(HOSTILE)]
    truncate = functools.partial(env.filters["truncate"], env, length=80)
    ref, new = _both(env, _MATCHES_REF, _MATCHES_NEW, matches=matches, t=t,
                     rows=match_rows(matches, t, truncate))
    assert new == ref
    assert "<script>" not in new


def test_highlight_escapes_hostile_text_completely():
    text = "".join(HOSTILE)
    anns = [Annotation(0, 12, "submission"), Annotation(5, 40, "theme"),
            Annotation(30, len(text), "quote")]
    html = str(render(text, anns))
    assert "<script>" not in html and "<img" not in html and "<!--" not in html
    # without any annotation the whole text is exactly its escape
    assert str(render(text, [])) == str(escape(text))
