"""The warm worker (kit_py/llm/worker/): a one-shot it answers against the local scripted server, side by
side with `kit --version` and the in-process path (KIT_NO_WORKER=1); the worker's memory; and the first
run, which starts the worker and answers in-process meanwhile (it must be no slower than without one).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

from bench_startup import KIT, REPO, emit, timed

RUNS = 9


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="kw-bench-", dir="/tmp")  # short: a socket path has ~100 bytes
    env = {**os.environ, "KIT_HOME": f"{tmp}/home", "KIT_CONFIG_DIR": f"{tmp}/config", "HOME": tmp}
    env.pop("KIT_NO_WORKER", None)
    warm_env = {**env, "KIT_WORKER_DIR": f"{tmp}/warm"}
    first_env = {**env, "KIT_WORKER_DIR": f"{tmp}/first"}
    alone_env = {**env, "KIT_NO_WORKER": "1"}
    kit = [str(KIT)] if KIT.exists() else [sys.executable, "-m", "kit_py"]
    server = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "provider.py"), "--port", "0", "--text", "hi"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        base = server.stdout.readline().strip() if server.stdout else ""
        oneshot = [*kit, "-m", "openai/bench", "--api-base", base, "--no-tools", "hi"]
        subprocess.run([*kit, "worker", "start"], env=warm_env, check=True, capture_output=True)
        for _ in range(2):  # page cache, .pyc files, the worker's first children
            timed(oneshot, warm_env)
            timed([*kit, "--version"], warm_env)
        version, warm = [], []
        for _ in range(RUNS):  # interleaved, so load changes hit both alike
            version.append(timed([*kit, "--version"], warm_env)[0])
            warm.append(timed(oneshot, warm_env)[0])
        kit_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # before any in-process run
        status = [*kit, "worker", "status", "--json"]
        worker = json.loads(subprocess.run(status, env=warm_env, capture_output=True, text=True).stdout)
        alone = [timed(oneshot, alone_env)[0] for _ in range(5)]
        first = []
        for _ in range(3):  # no worker yet: the run starts one and answers itself meanwhile
            first.append(timed(oneshot, first_env)[0])
            subprocess.run([*kit, "worker", "stop"], env=first_env, capture_output=True)

        v, w, a, f = (statistics.median(runs) for runs in (version, warm, alone, first))
        emit(f"kit --version (wall, median of {RUNS})", v * 1000, "ms", None)
        emit(f"one-shot, warm worker (wall, median of {RUNS})", w * 1000, "ms", 300)
        emit("one-shot, warm worker / kit --version", w / v, "x", 5)
        emit("one-shot, in-process (KIT_NO_WORKER=1; wall, median of 5)", a * 1000, "ms", None)
        emit("first one-shot, starting the worker meanwhile (wall, median of 3)", f * 1000, "ms", None)
        emit("first one-shot / in-process one-shot", f / a, "x", None)
        emit("kit process peak memory in a warm one-shot", kit_rss, "MB", None)
        emit("warm worker resident memory", (worker.get("rss_bytes") or 0) / 2**20, "MB", None)
    finally:
        subprocess.run([*kit, "worker", "stop"], env=warm_env, capture_output=True)
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
