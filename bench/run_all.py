"""Run every benchmark in bench/ and print one table of their figures.

    python bench/run_all.py            # full runs (minutes)
    python bench/run_all.py --quick    # smoke runs, as CI does, so benchmarks cannot rot

Each benchmark is a script whose last output line is one JSON object of its figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def benchmarks() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_"))


def run_one(path: Path, quick: bool) -> tuple[dict[str, object] | None, float, str]:
    started = time.monotonic()
    args = [sys.executable, str(path), *(["--quick"] if quick else [])]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    elapsed = time.monotonic() - started
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        return None, elapsed, (result.stderr or result.stdout)[-2000:]
    try:
        figures = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None, elapsed, "last line is not JSON: " + lines[-1][:200]
    return figures, elapsed, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts (CI smoke run)")
    parser.add_argument("only", nargs="*", help="names of benchmarks to run (default: all)")
    args = parser.parse_args()
    failures = 0
    table: list[tuple[str, str, object]] = []
    combined: dict[str, object] = {}
    for path in benchmarks():
        if args.only and path.stem not in args.only:
            continue
        print(f"running {path.name}{' --quick' if args.quick else ''} ...", flush=True)
        figures, elapsed, error = run_one(path, args.quick)
        if figures is None:
            failures += 1
            print(f"  FAILED after {elapsed:.1f}s:\n{error}", flush=True)
            continue
        print(f"  done in {elapsed:.1f}s", flush=True)
        for key, value in figures.items():
            table.append((path.stem, key, value))
            combined[f"{path.stem}.{key}"] = value
    width = max((len(f"{b}.{k}") for b, k, _ in table), default=10)
    print()
    print(f"{'benchmark.figure':<{width}}  value")
    for bench, key, value in table:
        print(f"{bench + '.' + key:<{width}}  {value}")
    combined["failures"] = failures
    print(json.dumps(combined, ensure_ascii=False))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
