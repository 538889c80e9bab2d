"""Duplication and boilerplate: passage-level copy detection, quotation-aware.

See docs/duplication.md. The cohort stage is :class:`DuplicationStage`.
"""
from .stage import DuplicationStage

__all__ = ["DuplicationStage"]
