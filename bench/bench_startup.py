"""Startup budgets (docs/session-format.md): --version, --help, one-shot overhead beyond litellm + HTTP."""

from __future__ import annotations

import json
import os
import resource
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


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        cmd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def wall(cmd: list[str], env: dict[str, str], runs: int) -> float:
    return statistics.median(timed(cmd, env)[0] for _ in range(runs))


def emit(name: str, value: float, unit: str, budget: float | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "budget": budget}))


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="kit-bench-")
    env = {**os.environ, "KIT_HOME": f"{tmp}/home", "KIT_CONFIG_DIR": f"{tmp}/config", "HOME": tmp}
    env["KIT_NO_WORKER"] = "1"  # the in-process path; bench_worker.py measures the warm worker
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
        base_runs, kit_runs = [], []
        for _ in range(7):  # interleaved, so load changes hit both sides alike
            base_runs.append(timed([sys.executable, "-c", BASELINE, base], env))
            kit_runs.append(timed(kit + ["-m", "openai/bench", "--api-base", base, "--no-tools", "hi"], env))
        baseline = statistics.median(w for w, _ in base_runs)
        oneshot = statistics.median(w for w, _ in kit_runs)
        cpu_overhead = statistics.median(c for _, c in kit_runs) - statistics.median(c for _, c in base_runs)
        emit("import litellm + one streamed request (wall, median of 7)", baseline * 1000, "ms", None)
        emit("kit one-shot total (wall, median of 7)", oneshot * 1000, "ms", None)
        emit("kit one-shot overhead beyond litellm + HTTP (wall)", (oneshot - baseline) * 1000, "ms", 150)
        emit("kit one-shot overhead beyond litellm + HTTP (CPU)", cpu_overhead * 1000, "ms", None)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
