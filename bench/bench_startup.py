"""Startup budgets (DESIGN.md §8): --version, --help, and one-shot overhead beyond litellm + HTTP."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KIT = Path(sys.executable).parent / "kit"

BASELINE = """
import os, sys, time
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm
litellm.suppress_debug_info = True
for chunk in litellm.completion(model="openai/bench", api_base=sys.argv[1], api_key="x",
                                messages=[{"role": "user", "content": "hi"}], stream=True,
                                stream_options={"include_usage": True}):
    pass
sys.stdout.flush()
os._exit(0)
"""


def wall(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            cmd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def emit(name: str, value: float, unit: str, budget: float | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "budget": budget}))


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="kit-bench-")
    env = {**os.environ, "KIT_HOME": f"{tmp}/home", "KIT_CONFIG_DIR": f"{tmp}/config", "HOME": tmp}
    kit = [str(KIT)] if KIT.exists() else [sys.executable, "-m", "kit_py"]
    wall(kit + ["--version"], env, 2)  # warm the page cache and .pyc files
    emit("kit --version (wall, median of 15)", wall(kit + ["--version"], env, 15) * 1000, "ms", 80)
    emit("kit --help (wall, median of 7)", wall(kit + ["--help"], env, 7) * 1000, "ms", 250)

    server = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "provider.py"), "--port", "0", "--text", "hi"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        base = server.stdout.readline().strip()
        baseline = wall([sys.executable, "-c", BASELINE, base], env, 5)
        oneshot = wall(kit + ["-m", "openai/bench", "--api-base", base, "--no-tools", "hi"], env, 5)
        emit("import litellm + one streamed request (wall, median of 5)", baseline * 1000, "ms", None)
        emit("kit one-shot total (wall, median of 5)", oneshot * 1000, "ms", None)
        emit("kit one-shot overhead beyond litellm + HTTP", (oneshot - baseline) * 1000, "ms", 150)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
