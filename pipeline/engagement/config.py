"""Weights and thresholds of the engagement score, read from ``models/engagement.toml``."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

#: Sub-score names in display order, with their Chinese labels.
SUBSCORES: dict[str, str] = {
    "originality": "原创性",
    "specificity": "具体性",
    "personal": "联系自身",
    "commitments": "行动承诺",
    "theme_depth": "主题深度",
    "slogans": "少套话",
    "diversity": "用词多样",
    "length": "篇幅",
}

DEFAULTS: dict[str, dict] = {
    "originality": {"copied_full": 0.8, "boilerplate_factor": 0.5, "copy_discount": True,
                    "direction_margin": 0.05, "direction_substance_margin": 0.15, "tie_break": "input_order", "reason_threshold": 0.3},
    "specificity": {"share_full": 0.30, "count_full": 3},
    "personal": {"share_full": 0.20, "count_full": 3, "role_bonus": 0.2},
    "commitments": {"concrete_full": 2, "vague_credit": 0.25},
    "theme_depth": {"themes_full": 2, "several": 2, "several_credit": 0.25, "mention_credit": 0.1,
                    "mention_cap": 0.5, "neighbourhood": 1},
    "slogans": {"share_zero": 0.6, "reason_threshold": 0.3},
    "diversity": {"low": 60.0, "high": 180.0},
    "length": {"short": 100, "enough": 300},
}
DEFAULT_WEIGHTS = {"originality": 0.20, "specificity": 0.20, "personal": 0.15, "commitments": 0.10,
                   "theme_depth": 0.10, "slogans": 0.15, "diversity": 0.05, "length": 0.05}


@dataclass
class EngagementConfig:
    """Validated weights (summing to 1) and per-subscore parameters.

    Args:
        weights: ``{subscore: weight ≥ 0}``; renormalised to sum to 1.
        params: ``{subscore: {parameter: value}}`` over :data:`DEFAULTS`.
        path: Where it was read from (for messages).
    """

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    params: dict[str, dict] = field(default_factory=dict)
    path: str = "<defaults>"

    def __post_init__(self):
        unknown = sorted(set(self.weights) - set(SUBSCORES))
        if unknown:
            raise ConfigError("X120", path=self.path, detail=f"unknown subscores {unknown}; "
                              f"known: {list(SUBSCORES)}")
        w = {k: self.weights.get(k, 0.0) for k in SUBSCORES}
        for k, v in w.items():
            if not isinstance(v, (int, float)) or v < 0:
                raise ConfigError("X120", path=self.path, detail=f"weight {k}={v!r} must be ≥ 0")
        total = sum(w.values())
        if total <= 0:
            raise ConfigError("X120", path=self.path, detail="the weights sum to 0")
        self.weights = {k: v / total for k, v in w.items()}
        stray = sorted(set(self.params) - set(DEFAULTS))
        if stray:
            raise ConfigError("X120", path=self.path, detail=f"unknown tables {stray}")
        merged = {}
        for k, d in DEFAULTS.items():
            p = dict(d)
            given = self.params.get(k, {})
            bad = sorted(set(given) - set(d))
            if bad:
                raise ConfigError("X120", path=self.path, detail=f"unknown parameters {bad} in [{k}]")
            p.update(given)
            merged[k] = p
        self.params = merged
        o = merged["originality"]
        if o["tie_break"] not in ("input_order", "none"):
            raise ConfigError("X120", path=self.path,
                              detail="originality.tie_break must be 'input_order' or 'none'")
        for sec, key in (("originality", "copied_full"), ("specificity", "share_full"),
                         ("specificity", "count_full"), ("personal", "share_full"),
                         ("personal", "count_full"), ("commitments", "concrete_full"),
                         ("theme_depth", "themes_full"), ("slogans", "share_zero")):
            if not merged[sec][key] > 0:
                raise ConfigError("X120", path=self.path, detail=f"{sec}.{key} must be > 0")
        if not merged["diversity"]["high"] > merged["diversity"]["low"]:
            raise ConfigError("X120", path=self.path, detail="diversity.high must exceed low")
        if not merged["length"]["enough"] > merged["length"]["short"]:
            raise ConfigError("X120", path=self.path, detail="length.enough must exceed short")

    @classmethod
    def load(cls, path: Path | str) -> "EngagementConfig":
        """Read a TOML file with a ``[weights]`` table and one table per subscore."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError("X120", path=path, detail=str(e)) from None
        weights = data.pop("weights", None)
        if not isinstance(weights, dict):
            raise ConfigError("X120", path=path, detail="missing [weights] table")
        return cls(weights=weights, params=data, path=str(path))
