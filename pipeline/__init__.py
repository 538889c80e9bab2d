"""xinde (心得): offline text mining for Chinese study-reflection essays.

Library first; the ``xinde`` command (:mod:`pipeline.cli`) is a thin wrapper.

    >>> from pipeline import Settings, run
    >>> result = run("corpora/sample", Settings())          # doctest: +SKIP
    >>> result.essays[0].text[:10]                           # doctest: +SKIP
"""
__version__ = "0.1.0"

from .config import Settings  # noqa: E402
from .essay import SCHEMA, Engagement, Essay, Match, Skipped, Span, ThemeResult, Token  # noqa: E402
from .errors import ConfigError, InputError, SkipFile, XindeError  # noqa: E402
from .runner import RunResult, run  # noqa: E402

__all__ = ["__version__", "Settings", "run", "RunResult", "Essay", "Span", "Token", "Match",
           "ThemeResult", "Engagement", "Skipped", "SCHEMA", "XindeError", "SkipFile",
           "ConfigError", "InputError"]
