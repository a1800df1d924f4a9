"""Run every bench/bench_*.py and print one table of measured figures against their budgets.

Each script prints JSON lines {"name", "value", "unit", "budget"} (budget null = informational).
Exit status is 1 when any figure is over its budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    rows: list[dict] = []
    for script in sorted(HERE.glob("bench_*.py")):
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent)
        if proc.returncode != 0:
            rows.append(
                {
                    "name": f"{script.name} FAILED",
                    "value": None,
                    "unit": "",
                    "budget": None,
                    "error": (proc.stderr.strip().splitlines() or ["?"])[-1],
                }
            )
            continue
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                rows.append(json.loads(line))
    over = False
    print(f"{'measure':<58} {'value':>12} {'budget':>12}  status")
    for row in rows:
        value, budget = row.get("value"), row.get("budget")
        if value is None:
            status, over = f"FAILED: {row.get('error', '')}", True
        elif budget is None:
            status = "info"
        elif value <= budget:
            status = "ok"
        else:
            status, over = "OVER", True
        unit = row.get("unit", "")
        shown = "-" if value is None else f"{value:.3f} {unit}"
        limit = "-" if budget is None else f"{budget:g} {unit}"
        print(f"{row['name']:<58} {shown:>12} {limit:>12}  {status}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
