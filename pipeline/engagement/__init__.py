"""Engagement (投入度): a transparent 0–100 score of substantive engagement.

See :mod:`pipeline.engagement.scorer` and ``docs/engagement.md``.
"""
from .config import SUBSCORES, EngagementConfig
from .scorer import EngagementScorer

__all__ = ["EngagementScorer", "EngagementConfig", "SUBSCORES"]
