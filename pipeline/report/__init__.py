"""Write a run's results: ``results.json`` (the contract), CSV tables, HTML report."""
from .results import results_dict, write_results
from .tables import write_tables
from .html import write_html
from .atomic import atomic_write_text, atomic_write_bytes

__all__ = ["results_dict", "write_results", "write_tables", "write_html", "write_all",
           "atomic_write_text", "atomic_write_bytes"]


def write_all(result, out_dir) -> list:
    """Write every output of a run into ``out_dir``; returns the paths written.

    Files are published in the order results.json, the tables, the essay pages,
    index.html. With ``settings.jobs > 1`` and a large cohort the essay pages
    and the essays' results.json lines are computed in forked workers
    (:class:`~pipeline.report.html.PageRun`) while this process streams the
    tables to disk; the lines are spooled to disk by the workers and streamed
    into results.json, so no output is ever held whole in memory. The files are
    the same either way.
    """
    from pathlib import Path

    from .html import PageRun
    from .results import essay_line
    from .tables import prepare_tables

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pending = []
    try:
        with PageRun(result, out, spool=essay_line) as pages:
            pending = prepare_tables(result, out)
            index = pages.index_html()
            pending.insert(0, write_results(result, out, essay_lines=pages.spooled(),
                                            commit=False))
            paths = [f.commit() for f in pending]
            paths += pages.finish(index)
    except BaseException:
        for f in pending:
            f.discard()
        raise
    return paths
