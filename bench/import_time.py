"""Cold-start cost of the library: each statement timed in fresh interpreters, as a Lambda init sees it.

python bench/import_time.py [--runs 20] [--budget-ms 150]

Each run starts a new ``python`` (so nothing is imported yet) and times the statement inside it with
``perf_counter``, leaving out the interpreter's own start-up. Prints best and median per statement and
exits 1 if the median of ``import deltaglider`` is over the budget. Run it outside the source tree's
folder to time the installed package (the folder itself is on ``sys.path`` for ``python -c``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "(nothing: the interpreter alone)": "pass",
    "import deltaglider": "import deltaglider",
    "from deltaglider import create_client": "from deltaglider import create_client",
    "create_client()  (S3, boto3 deferred)": "from deltaglider import create_client; create_client()",
    "import boto3  (for scale)": "import boto3",
    "deltaglider + first codec call": "from deltaglider import codec; codec.encode(b'a' * 64, b'b' * 64)",
}

_TIMER = """
import time
_t = time.perf_counter()
exec(compile({code!r}, "<bench>", "exec"))
_t = time.perf_counter() - _t
import json, sys
print(json.dumps({{"seconds": _t, "boto3": "boto3" in sys.modules,
                  "extension": "deltaglider._xdelta3" in sys.modules}}))
"""


def time_once(code: str) -> tuple[float, float, bool, bool]:
    """Seconds the statement took, seconds the whole interpreter took, and whether boto3 and the
    extension were loaded after it."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER.format(code=code)], capture_output=True, text=True, check=True
    )
    process = time.perf_counter() - started
    result = json.loads(proc.stdout.splitlines()[-1])
    return float(result["seconds"]), process, bool(result["boto3"]), bool(result["extension"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh interpreters per statement")
    parser.add_argument("--budget-ms", type=float, default=150.0, help="limit for `import deltaglider`")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, {args.runs} fresh interpreters per statement")
    print("ms: the statement alone (best, median), then the whole interpreter run (median)")
    print(f"{'statement':<42} {'best':>7} {'median':>7} {'process':>8}  loads boto3 / extension")
    medians: dict[str, float] = {}
    for label, code in STATEMENTS.items():
        runs = [time_once(code) for _ in range(args.runs)]
        ms = [1000 * seconds for seconds, _, _, _ in runs]
        process_ms = statistics.median(1000 * process for _, process, _, _ in runs)
        medians[label] = statistics.median(ms)
        _, _, boto3, extension = runs[0]
        loads = f"{'yes' if boto3 else 'no'} / {'yes' if extension else 'no'}"
        print(f"{label:<42} {min(ms):>7.1f} {medians[label]:>7.1f} {process_ms:>8.1f}  {loads}")
    over = medians["import deltaglider"] > args.budget_ms
    if over:
        print(f"import deltaglider: median over the {args.budget_ms:.0f} ms budget", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
