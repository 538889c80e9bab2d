"""Terminal summary for ``xinde check`` (rich)."""
from __future__ import annotations


def print_check(result, console=None) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    for s in result.skipped:
        console.print(f"[yellow]跳过[/] {escape(s.source)}: {escape(s.reason)}")
    for e in result.essays:
        console.rule(f"{escape(e.id)} {escape(e.title or e.source)}")
        console.print(f"来源 {escape(e.source)} · {len(e.text)} 字 · {len(e.sentences)} 句")
        if e.engagement is not None:
            console.print(f"[bold]投入度得分 {e.engagement.score:.0f}/100[/]")
            for r in e.engagement.reasons:
                console.print(f"  · {escape(r)}")
        covered = [t for t, r in sorted(e.themes.items()) if r.evidence]
        if e.themes:
            console.print("涉及主题: " + (escape("、".join(covered)) if covered else "无"))
        console.print(f"雷同率 {e.copied_ratio:.0%}")
        for m in sorted(e.matches, key=lambda m: m.start):
            if m.kind in ("submission", "template"):
                console.print(f"  [red]{m.kind}[/] {escape(m.source_id)} "
                              f"[{m.start}:{m.end}] {escape(e.text[m.start:m.end][:40])}…")
        for w in e.warnings:
            console.print(f"[yellow]注意[/] {escape(w)}")
