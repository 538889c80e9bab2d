"""`make eval`: run every accuracy evaluation (bench/eval_*.py) in turn.

Each script is standalone, prints its table and writes bench/results/<name>.json.
"""
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
scripts = sorted(here.glob("eval_*.py"))
failed = []
for s in scripts:
    print(f"== {s.name}", flush=True)
    if subprocess.call([sys.executable, str(s)], cwd=here.parent) != 0:
        failed.append(s.name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
