"""Ingest: turn input files into :class:`RawDocument` objects, or skip them with a reason.

One reader per format (``text``, ``docx``, ``pdf``, ``table``); :func:`discover`
walks the input and :func:`read_file` dispatches on the suffix. Readers raise
:class:`~pipeline.errors.SkipFile`; nothing here stops a run.
"""
from .documents import RawDocument
from .discover import discover, SUPPORTED_SUFFIXES
from .read import read_file

__all__ = ["RawDocument", "discover", "read_file", "SUPPORTED_SUFFIXES"]
