"""Write a run's results: ``results.json`` (the contract), CSV tables, HTML report."""
from .results import results_dict, write_results
from .tables import write_tables
from .html import write_html
from .atomic import atomic_write_text, atomic_write_bytes

__all__ = ["results_dict", "write_results", "write_tables", "write_html", "write_all",
           "atomic_write_text", "atomic_write_bytes"]


def write_all(result, out_dir) -> list:
    """Write every output of a run into ``out_dir``; returns the paths written.

    Files are written in the order results.json, the tables, the essay pages,
    index.html. With ``settings.jobs > 1`` and a large cohort the essay pages
    and the essays' results.json lines are computed in forked workers
    (:class:`~pipeline.report.html.PageRun`) while this process builds the
    tables and the index page; the files are the same either way.
    """
    from pathlib import Path

    from .html import PageRun
    from .results import essay_line
    from .tables import table_files, write_files

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with PageRun(result, out, extra=essay_line) as pages:
        tables = table_files(result)
        index = pages.index_html()
        _, lines = pages.results()
        paths = [write_results(result, out, essay_lines=lines)]
        paths += write_files(tables, out)
        paths += pages.finish(index)
    return paths
