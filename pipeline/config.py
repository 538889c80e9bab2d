"""Settings for a run, validated once when built.

Everything a stage may need to know about the run lives in :class:`Settings`;
stages receive it at construction, never read globals or environment.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ConfigError

#: The package's data folder (jieba dictionary, stopwords, profiles, quote lists).
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass
class Settings:
    """Validated run settings.

    Args:
        profile: Theme profile name (in ``models/profiles``) or path to a ``.toml``.
        templates: Folder of known template essays (范文) to check against.
        index: Saved reference index (``xinde index``) to check against.
        policy: Text of the studied document; quoting it is never copying.
        text_column, author_column, unit_column: Spreadsheet column names.
        max_mb: Files larger than this are skipped (X004).
        min_chars: Essays with fewer cleaned characters are skipped (X012).
        max_chars: Essays with more characters are skipped (X017): a 心得体会 is a few
            thousand characters; a 100k-character "essay" is a mis-split file.
        jobs: Worker processes for per-essay stages (1 = in process).
        seed: Seed for every randomised step (topic models, MinHash).
        lang: Report UI language, ``zh`` or ``en``.
        n_topics: Number of discovered topics (0 = choose from cohort size).
        topic_method: Topic model for discovered themes: ``nmf`` (default) or ``lda``.
        hmm: Let jieba guess unknown words with its HMM.
        tokenizer: Segmenter backend: ``jieba``, ``rjieba`` (same words, faster;
            optional package) or ``auto`` (rjieba when installed).
        engine: Where per-essay stages run: ``local`` (``jobs`` processes) or
            ``dask`` (a dask.distributed cluster at ``scheduler``).
        scheduler: Dask scheduler address (``tcp://host:8786``) for ``engine="dask"``.
        cache_dir: Run cache folder; per-essay results are reused when the
            essay text, the settings and the stage code are unchanged. ``None`` = off.
        chunk_size: Essays per task sent to a worker (0 = choose from the cohort size).
        compact_tokens: Keep ``essay.tokens`` as compact offset arrays
            (:class:`pipeline.segment.TokenList`); same tokens, far less memory.
    """

    profile: str = "zhengji-kaohe"
    templates: Path | None = None
    index: Path | None = None
    policy: Path | None = None
    text_column: str | None = None
    author_column: str | None = None
    unit_column: str | None = None
    max_mb: float = 20.0
    min_chars: int = 50
    max_chars: int = 100_000
    jobs: int = 1
    seed: int = 42
    lang: str = "zh"
    n_topics: int = 0
    topic_method: str = "nmf"
    hmm: bool = True
    tokenizer: str = "auto"
    engine: str = "local"
    scheduler: str | None = None
    cache_dir: Path | None = None
    chunk_size: int = 0
    compact_tokens: bool = True
    models_dir: Path = field(default=MODELS_DIR)

    def __post_init__(self):
        for name in ("templates", "index", "policy", "models_dir", "cache_dir"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, Path):
                setattr(self, name, Path(v))
        self._check(self.max_mb > 0, "max_mb", self.max_mb, "must be > 0")
        self._check(self.min_chars >= 1, "min_chars", self.min_chars, "must be ≥ 1")
        self._check(self.max_chars > self.min_chars, "max_chars", self.max_chars,
                    "must be > min_chars")
        self._check(self.jobs >= 1, "jobs", self.jobs, "must be ≥ 1")
        self._check(self.lang in ("zh", "en"), "lang", self.lang, "must be 'zh' or 'en'")
        self._check(self.n_topics >= 0, "n_topics", self.n_topics, "must be ≥ 0")
        self._check(self.topic_method in ("nmf", "lda"), "topic_method", self.topic_method,
                    "must be 'nmf' or 'lda'")
        self._check(self.tokenizer in ("jieba", "rjieba", "auto"), "tokenizer", self.tokenizer,
                    "must be 'jieba', 'rjieba' or 'auto'")
        self._check(self.engine in ("local", "dask"), "engine", self.engine,
                    "must be 'local' or 'dask'")
        self._check(self.engine != "dask" or bool(self.scheduler), "scheduler", self.scheduler,
                    "--engine dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
        self._check(self.chunk_size >= 0, "chunk_size", self.chunk_size, "must be ≥ 0")
        self._check(self.cache_dir is None or not self.cache_dir.is_file(), "cache_dir",
                    str(self.cache_dir), "is a file; give a folder")
        for name in ("templates", "policy", "index"):
            p = getattr(self, name)
            self._check(p is None or p.exists(), name, str(p), "path does not exist")

    @staticmethod
    def _check(ok: bool, name: str, value, detail: str) -> None:
        if not ok:
            raise ConfigError("X104", name=name, value=value, detail=detail)

    def as_dict(self) -> dict:
        """JSON-friendly view (recorded in results.json for reproducibility)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "models_dir":
                continue
            out[f.name] = str(v) if isinstance(v, Path) else v
        return out


def model_path(settings: Settings, *parts: str) -> Path:
    """Path of a data file under ``models/``."""
    return settings.models_dir.joinpath(*parts)
