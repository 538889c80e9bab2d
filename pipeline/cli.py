"""The ``xinde`` command line: thin click commands over the library.

Exit codes:
    0  every input file produced essays;
    3  the run finished and wrote its outputs, but some files/rows were skipped;
    2  usage error (bad option, missing input path, invalid profile);
    1  the run failed: either nothing was written, or a cohort stage (duplication,
       topics) failed and the outputs were written without it, with the error in
       results.json → stage_errors.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .config import Settings
from .errors import XindeError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED = 0, 1, 2, 3


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE


def _settings(**kw) -> Settings:
    try:
        return Settings(**{k: v for k, v in kw.items() if v is not None})
    except XindeError as e:
        raise UsageError(str(e)) from None


def settings_options(f):
    """Options shared by ``run`` and ``check``."""
    opts = [
        click.option("--profile", default="zhengji-kaohe", show_default=True,
                     help="主题配置: name in models/profiles or path to a .toml profile."),
        click.option("--templates", type=click.Path(path_type=Path),
                     help="Folder of known template essays (范文) to check copying against."),
        click.option("--index", "index", type=click.Path(path_type=Path),
                     help="Saved reference index built by `xinde index`."),
        click.option("--policy", type=click.Path(path_type=Path),
                     help="Text of the studied document; quoting it is not copying."),
        click.option("--text-column", help="Spreadsheet column holding the essay text."),
        click.option("--author-column", help="Spreadsheet column holding the author."),
        click.option("--unit-column", help="Spreadsheet column holding the unit (单位)."),
        click.option("--max-mb", type=float, default=20.0, show_default=True,
                     help="Skip input files larger than this."),
        click.option("--min-chars", type=int, default=50, show_default=True,
                     help="Skip essays shorter than this after cleaning."),
        click.option("--max-chars", type=int, default=100_000, show_default=True,
                     help="Skip essays longer than this (a mis-split file, not an essay)."),
        click.option("--seed", type=int, default=42, show_default=True,
                     help="Seed for every randomised step."),
        click.option("--n-topics", "n_topics", type=int, default=0, show_default=True,
                     help="Number of discovered topics (0 = choose from cohort size)."),
        click.option("--topic-method", "topic_method", type=click.Choice(["nmf", "lda"]),
                     default="nmf", show_default=True,
                     help="Topic model for discovered themes (see docs/themes.md)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xinde")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose):
    """xinde (心得): read a folder of 学习心得体会 and report themes, copying and engagement.

    Works offline. Start with `xinde run FOLDER --out REPORT_DIR`, then open
    REPORT_DIR/index.html in a browser.
    """
    import logging

    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output folder for results.json, CSV and the HTML report.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Report UI language.")
@click.option("--jobs", type=int, default=1, show_default=True,
              help="Worker processes for per-essay stages.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="Run per-essay stages here or on a Dask cluster.")
@click.option("--scheduler", help="Dask scheduler address for --engine dask (tcp://HOST:8786).")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path),
              help="Run cache folder (default OUT/.xinde-cache): unchanged essays are reused.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the run cache.")
@click.option("--tokenizer", type=click.Choice(["auto", "jieba", "rjieba"]), default="auto",
              show_default=True, help="Segmenter backend (same words; rjieba is faster).")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@settings_options
def run(path, out, lang, jobs, engine, scheduler, cache_dir, no_cache, tokenizer, quiet, **kw):
    """Analyse every essay under PATH (a folder, searched recursively, or one file).

    Writes OUT/results.json, OUT/essays.csv and OUT/index.html. Exit code 3 means
    the outputs were written but some files were skipped (see 'skipped').
    """
    from .report import write_all
    from .runner import run as run_pipeline

    if not no_cache and cache_dir is None:
        cache_dir = out / ".xinde-cache"
    settings = _settings(lang=lang, jobs=jobs, engine=engine, scheduler=scheduler,
                         cache_dir=None if no_cache else cache_dir, tokenizer=tokenizer, **kw)

    def progress(files):
        if quiet or len(files) < 2:
            return files

        def bar_iter():  # a click progress bar must be used in a with block
            with click.progressbar(files, label="读取文件", file=sys.stderr,
                                   show_pos=True) as bar:
                yield from bar
        return bar_iter()

    try:
        result = run_pipeline(path, settings, progress=progress)
        write_all(result, out)
    except XindeError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"[X106] 输出目录不可写 (cannot write output) {out}: {e}")
    if not quiet:
        click.echo(f"{len(result.essays)} essays, {len(result.skipped)} skipped "
                   f"→ {out / 'index.html'}", err=True)
        for s in result.skipped:
            click.echo(f"  skipped {s.source}: {s.reason}", err=True)
    errors = result.cohort.get("stage_errors") or []
    for err in errors:
        click.echo(f"error: stage {err['stage']} failed ({err['error']}); its results are "
                   f"missing from {out}", err=True)
    if errors:
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_SKIPPED if result.skipped else EXIT_OK)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the essay's results object.")
@settings_options
def check(file, as_json, **kw):
    """Check one essay FILE from the terminal (against --templates/--index if given)."""
    from .runner import run as run_pipeline
    from .report.terminal import print_check

    settings = _settings(**kw)
    try:
        result = run_pipeline(file, settings)
    except XindeError as e:
        raise UsageError(str(e)) from None
    if as_json:
        click.echo(json.dumps({"essays": [e.to_dict() for e in result.essays],
                               "skipped": [s.to_dict() for s in result.skipped]},
                              ensure_ascii=False, indent=1))
    else:
        print_check(result)
    sys.exit(EXIT_SKIPPED if result.skipped and not result.essays else EXIT_OK)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Folder for the split essays (one .txt each, title on the first line).")
def split(file, out):
    """Split a compiled FILE (范文合集) into one cleaned .txt per essay."""
    from .clean import clean_text
    from .report.atomic import atomic_write_text
    from .runner import load

    settings = _settings()
    try:
        _, _, essays, skipped = load(file, settings)
    except XindeError as e:
        raise UsageError(str(e)) from None
    out.mkdir(parents=True, exist_ok=True)
    for i, e in enumerate(essays, 1):
        name = f"{i:02d}.txt"
        atomic_write_text(out / name, (e.title + "\n\n" if e.title else "")
                          + clean_text(e.raw).text + "\n")
        click.echo(f"{name}\t{e.title or '(无标题)'}")
    for s in skipped:
        click.echo(f"skipped {s.source}: {s.reason}", err=True)
    sys.exit(EXIT_SKIPPED if skipped else EXIT_OK)


@cli.command("index")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Index file to write (load it with `run/check --index FILE`).")
@click.option("--update", is_flag=True,
              help="Add PATH's essays that FILE does not hold yet to the existing FILE.")
def index_cmd(path, out, update):
    """Build a reference index of the template essays (范文) under PATH."""
    from .duplication.index import read_reference_folder, save_index, update_index

    if not path.exists():
        raise UsageError(f"[X101] 输入路径不存在 (input not found): {path}. "
                         "Give a folder or a file of template essays.")
    settings = _settings()
    try:
        docs = read_reference_folder(path, settings)
        if update and out.exists():
            n = update_index(out, docs)
            click.echo(f"{n} new of {len(docs)} template essays added → {out}", err=True)
            return
        save_index(docs, out)
    except XindeError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"[X106] 输出目录不可写 (cannot write output) {out}: {e}")
    click.echo(f"{len(docs)} template essays → {out}", err=True)


@cli.group()
def profile():
    """主题配置 (theme profiles): draft one from the studied document."""


@profile.command("init")
@click.argument("policy", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Where to write the draft profile (.toml), e.g. models/profiles/NAME.toml.")
@click.option("--id", "profile_id", help="Profile id (default: the --out file name).")
@click.option("--label", help="Chinese name (default: the first 《title》 in the text).")
@click.option("--n-themes", type=int, default=8, show_default=True,
              help="How many themes to draft.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def profile_init(policy, out, profile_id, label, n_themes, force):
    """Draft a theme profile from POLICY (the studied document: .txt/.docx/.pdf) for a
    reviewer to edit; then use it with `xinde run ... --profile OUT`."""
    from .ingest import read_file
    from .report.atomic import atomic_write_text
    from .themes.init import draft_profile

    from .errors import ConfigError, InputError

    if not policy.exists():
        raise UsageError(str(InputError("X101", path=policy)))
    if out.exists() and not force:
        raise UsageError(str(ConfigError("X140", path=out)))
    if out.suffix != ".toml":
        raise UsageError(str(ConfigError("X104", name="--out", value=str(out),
                                         detail="a profile file must end in .toml")))
    try:
        docs, _ = read_file(policy, policy.name)
    except XindeError as e:
        raise UsageError(str(e)) from None
    text = "\n".join(d.text for d in docs)
    try:
        toml = draft_profile(text, profile_id=profile_id or out.stem, label=label,
                             n_themes=n_themes, source=policy.name)
    except ValueError as e:
        raise UsageError(f"{policy}: {e}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, toml)
    n = toml.count("[[themes]]")
    click.echo(f"{n} themes drafted → {out}. Edit ids, labels and cues, then run with "
               f"--profile {out}", err=True)


def main(argv=None):
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="xinde", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
