"""Theme profiles: the reviewer-editable TOML files in ``models/profiles/``.

A profile names the points of one studied document (the *themes*) and, for
each, the weighted cues that show an essay sentence discusses it::

    id = "zhengji-kaohe"
    label = "政绩考核通知"

    [[themes]]
    id = "people_centered"
    label = "以人民为中心"
    description = "群众获得感、群众参与和评价"
    [themes.terms]            # literal phrases → weight
    "以人民为中心" = 1.0
    [themes.patterns]         # Python regular expressions → weight
    '群众.{0,6}(参与|评价)' = 1.0
    [themes.negative_terms]   # hits inside these spans do not count
    "人民日报" = 0

A sentence is evidence for a theme when the summed weight of its distinct cue
hits reaches the theme's ``threshold`` (default ``[defaults] threshold``).
:func:`load_profile` validates everything and raises
:class:`~pipeline.errors.ConfigError` ``X102`` naming the file and the fix, or
``X103`` for an unknown profile name.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

_ID = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_TOP_KEYS = {"id", "label", "description", "version", "source", "defaults", "themes"}
_DEFAULT_KEYS = {"threshold", "saturation", "max_evidence_weight", "list_min_items",
                 "list_share", "heading_max_chars", "topic_line_max_chars", "topic_line_patterns",
                 "context_min"}
#: Numeric ``[defaults]`` keys of a profile: (min, max, type).
_NUMERIC_DEFAULTS = {
    "threshold": (0.01, 100, float),
    "saturation": (0.01, 100, float),
    "max_evidence_weight": (0.01, 100, float),
    "list_min_items": (2, 50, int),
    "list_share": (0, 1, float),
    "heading_max_chars": (0, 500, int),
    "topic_line_max_chars": (0, 500, int),
    "context_min": (0, 100, float),
}
#: Short sentences that only name a point (一是要强化考核结果运用。/ 以“政治标尺”考忠诚。).
DEFAULT_TOPIC_LINES = (
    r"^(其[一二三四五]|[一二三四五六七八九]是|[一二三四五六七八九]要|首先|其次|再次|最后|"
    r"第[一二三四五六七八九十]+|[一二三四五六七八九十]+、)",
    r"^要",
    r"^以",
    r"要在“[^”]{1,8}”字?上",
)
_THEME_KEYS = {"id", "label", "description", "threshold", "terms", "patterns",
               "negative_terms", "negative_patterns", "seed_words"}
_CUE_TABLES = ("terms", "patterns", "negative_terms", "negative_patterns")


@dataclass(frozen=True)
class Cue:
    """One weighted cue.

    Attributes:
        text: The literal term, or the regular expression source.
        weight: What one hit adds to the sentence score (negative cues: what
            a hit subtracts; 0 = it only cancels positive hits it overlaps).
        kind: ``term`` or ``pattern``.
        negative: Whether this is a negative cue.
    """

    text: str
    weight: float
    kind: str = "term"
    negative: bool = False


@dataclass
class Theme:
    """One point of the studied document."""

    id: str
    label: str
    description: str = ""
    threshold: float = 1.0
    cues: list[Cue] = field(default_factory=list)
    seed_words: list[str] = field(default_factory=list)

    def positive(self) -> list[Cue]:
        return [c for c in self.cues if not c.negative]

    def negative(self) -> list[Cue]:
        return [c for c in self.cues if c.negative]

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "description": self.description}


@dataclass
class Profile:
    """A validated theme profile.

    Attributes:
        id: Profile id (the file stem for built-in profiles).
        label: Chinese name shown in reports.
        themes: The themes, in file order.
        threshold: Default sentence-score threshold for evidence.
        saturation: Coverage is ``1 - exp(-W / saturation)`` of the essay's
            summed evidence weight ``W``.
        max_evidence_weight: One sentence adds at most this much to ``W``.
        list_min_items: A 、-separated run of at least this many short items is
            a *slogan list*.
        list_share: A sentence whose characters are at least this share slogan
            list is not evidence for anything.
        heading_max_chars: A whole line this short without a sentence-final
            mark is a heading, not evidence.
        topic_line_max_chars: A sentence with at most this many characters
            (letters, digits, 汉字) that matches one of ``topic_line_patterns``
            only names a point (一是要强化结果运用。) and is not evidence.
        topic_line_patterns: Regular expressions of such topic lines.
        context_min: A sentence scoring at least this (but below the threshold)
            next to an evidence sentence of the same theme in the same paragraph
            is evidence too (it continues the point); 0 turns this off.
        path: Where it was loaded from.
    """

    id: str
    label: str
    description: str = ""
    themes: list[Theme] = field(default_factory=list)
    threshold: float = 1.0
    saturation: float = 2.0
    max_evidence_weight: float = 2.0
    list_min_items: int = 4
    list_share: float = 0.6
    heading_max_chars: int = 40
    topic_line_max_chars: int = 18
    topic_line_patterns: tuple[str, ...] = DEFAULT_TOPIC_LINES
    context_min: float = 0.5
    path: Path | None = None

    @property
    def theme_ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def theme(self, theme_id: str) -> Theme:
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise KeyError(theme_id)

    def to_dict(self) -> dict:
        """The ``context["profile"]`` entry of results.json."""
        return {"id": self.id, "label": self.label,
                "themes": [t.to_dict() for t in self.themes]}


def profiles_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "profiles"


def known_profiles(models_dir: Path) -> list[str]:
    """Names of the profiles shipped in ``models/profiles``."""
    d = profiles_dir(models_dir)
    return sorted(p.stem for p in d.glob("*.toml")) if d.exists() else []


def resolve_profile(name: str, models_dir: Path) -> Path:
    """Path of profile ``name`` (a built-in name or a path to a ``.toml``).

    Raises:
        ConfigError: X103 when neither exists.
    """
    if not name or not isinstance(name, (str, Path)):
        raise ConfigError("X103", name=name, known=", ".join(known_profiles(models_dir)) or "-")
    p = Path(name)
    if p.suffix == ".toml" or p.parent != Path("."):
        if p.exists():
            return p
        raise ConfigError("X103", name=str(name),
                          known=", ".join(known_profiles(models_dir)) or "-")
    cand = profiles_dir(models_dir) / f"{name}.toml"
    if cand.exists():
        return cand
    raise ConfigError("X103", name=str(name), known=", ".join(known_profiles(models_dir)) or "-")


def load_profile(name: str | Path, models_dir: Path | None = None) -> Profile:
    """Load and validate a profile by name or path.

    Args:
        name: ``"zhengji-kaohe"`` (looked up in ``models_dir/profiles``) or a
            path to a ``.toml`` file.
        models_dir: The ``models/`` folder; defaults to the package's.

    Raises:
        ConfigError: X103 (unknown name) or X102 (invalid file; the message
            names the file, the offending key and how to fix it).
    """
    if models_dir is None:
        from ..config import MODELS_DIR
        models_dir = MODELS_DIR
    path = resolve_profile(str(name), Path(models_dir))
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("X102", path=path, detail="not UTF-8; save it as UTF-8") from None
    except OSError as e:
        raise ConfigError("X102", path=path, detail=f"cannot read ({e.strerror})") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("X102", path=path, detail=f"TOML syntax error: {e} (check quotes "
                          "around Chinese keys and '=' between key and value)") from None
    return profile_from_dict(data, path)


def _fail(path, detail: str):
    raise ConfigError("X102", path=path, detail=detail)


def _number(path, where: str, v, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(path, f"{where} must be a number, got {v!r}")
    if not (lo <= float(v) <= hi):
        _fail(path, f"{where} = {v} is out of range [{lo}, {hi}]")
    return float(v)


def profile_from_dict(data: dict, path: Path | str = "<dict>") -> Profile:
    """Validate parsed TOML ``data`` into a :class:`Profile` (see :func:`load_profile`)."""
    if not isinstance(data, dict):
        _fail(path, "the file must be a TOML document")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        _fail(path, f"unknown top-level key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    pid = data.get("id") or Path(str(path)).stem
    if not isinstance(pid, str):
        _fail(path, "id must be a string")
    label = data.get("label", pid)
    if not isinstance(label, str) or not label.strip():
        _fail(path, "label must be a non-empty string (the Chinese name shown in reports)")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        _fail(path, "[defaults] must be a table")
    unknown = sorted(set(defaults) - _DEFAULT_KEYS)
    if unknown:
        _fail(path, f"unknown key(s) {unknown} in [defaults]; allowed: {sorted(_DEFAULT_KEYS)}")
    prof = Profile(id=pid, label=label.strip(), description=str(data.get("description", "")),
                   path=Path(str(path)))
    for key, (lo, hi, cast) in _NUMERIC_DEFAULTS.items():
        if key in defaults:
            setattr(prof, key, cast(_number(path, f"[defaults] {key}", defaults[key], lo, hi)))
    if "topic_line_patterns" in defaults:
        pats = defaults["topic_line_patterns"]
        if not isinstance(pats, list) or not all(isinstance(x, str) for x in pats):
            _fail(path, "[defaults] topic_line_patterns must be a list of regular expressions")
        for x in pats:
            try:
                re.compile(x)
            except re.error as e:
                _fail(path, f"[defaults] topic_line_patterns {x!r}: bad regular expression ({e})")
        prof.topic_line_patterns = tuple(pats)
    themes = data.get("themes")
    if not isinstance(themes, list) or not themes:
        _fail(path, "no themes: add at least one [[themes]] table with id, label and [themes.terms]")
    seen: set[str] = set()
    for i, t in enumerate(themes, 1):
        prof.themes.append(_theme(path, i, t, prof.threshold, seen))
    return prof


def _theme(path, i: int, t, default_threshold: float, seen: set) -> Theme:
    if not isinstance(t, dict):
        _fail(path, f"theme #{i} must be a [[themes]] table")
    tid = t.get("id")
    where = f"theme #{i} ({tid!r})"
    if not isinstance(tid, str) or not _ID.match(tid):
        _fail(path, f"{where}: id must be lower-case ASCII letters, digits and '_' "
                    "(e.g. people_centered); put the Chinese name in label")
    if tid in seen:
        _fail(path, f"{where}: duplicate theme id; every theme id must be unique")
    seen.add(tid)
    unknown = sorted(set(t) - _THEME_KEYS)
    if unknown:
        _fail(path, f"{where}: unknown key(s) {unknown}; allowed: {sorted(_THEME_KEYS)}")
    label = t.get("label")
    if not isinstance(label, str) or not label.strip():
        _fail(path, f"{where}: label (Chinese name) is missing")
    desc = t.get("description", "")
    if not isinstance(desc, str):
        _fail(path, f"{where}: description must be a string")
    thr = default_threshold
    if "threshold" in t:
        thr = _number(path, f"{where} threshold", t["threshold"], 0.01, 100)
    theme = Theme(id=tid, label=label.strip(), description=desc.strip(), threshold=thr)
    for table in _CUE_TABLES:
        cues = t.get(table, {})
        if not isinstance(cues, dict):
            _fail(path, f"{where}: [themes.{table}] must be a table of \"cue\" = weight lines")
        for text, w in cues.items():
            kind = "pattern" if table.endswith("patterns") else "term"
            negative = table.startswith("negative")
            cwhere = f"{where} [themes.{table}] {text!r}"
            if not text.strip():
                _fail(path, f"{cwhere}: empty cue")
            wt = _number(path, cwhere, w, -100 if negative else 0.0, 100)
            if kind == "pattern":
                try:
                    rx = re.compile(text)
                except re.error as e:
                    _fail(path, f"{cwhere}: bad regular expression ({e}); escape special "
                                "characters such as ( ) . * with a backslash")
                if rx.search(""):
                    _fail(path, f"{cwhere}: pattern matches the empty string")
            theme.cues.append(Cue(text, abs(wt) if negative else wt, kind, negative))
    if not theme.positive():
        _fail(path, f"{where}: no positive cues; add [themes.terms] or [themes.patterns]")
    seeds = t.get("seed_words", [])
    if not isinstance(seeds, list) or not all(isinstance(s, str) for s in seeds):
        _fail(path, f"{where}: seed_words must be a list of strings")
    theme.seed_words = list(seeds)
    return theme
