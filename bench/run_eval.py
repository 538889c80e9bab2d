"""`make eval`: run the accuracy evaluations (bench/eval_*.py) in turn.

Each script is standalone, prints its table and writes bench/results/<name>.json.

    python bench/run_eval.py                    # all of them
    python bench/run_eval.py duplication themes # only eval_duplication.py, eval_themes.py
"""
import argparse
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
available = {s.stem.removeprefix("eval_"): s for s in sorted(here.glob("eval_*.py"))}
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                             formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("names", nargs="*",
                help=f"evaluations to run (default: all): {', '.join(available)}")
args = ap.parse_args()
unknown = [n for n in args.names if n not in available]
if unknown:
    ap.error(f"unknown evaluation(s) {', '.join(unknown)}; choose from {', '.join(available)}")
failed = []
for name in args.names or list(available):
    s = available[name]
    print(f"== {s.name}", flush=True)
    if subprocess.call([sys.executable, str(s)], cwd=here.parent) != 0:
        failed.append(s.name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
