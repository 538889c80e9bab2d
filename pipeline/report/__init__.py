"""Write a run's results: ``results.json`` (the contract), CSV tables, HTML report."""
from .results import results_dict, write_results
from .tables import write_tables
from .html import write_html
from .atomic import atomic_write_text, atomic_write_bytes

__all__ = ["results_dict", "write_results", "write_tables", "write_html", "write_all",
           "atomic_write_text", "atomic_write_bytes"]


def write_all(result, out_dir) -> list:
    """Write every output of a run into ``out_dir``; returns the paths written."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_results(result, out)]
    paths += write_tables(result, out)
    paths += write_html(result, out)
    return paths
