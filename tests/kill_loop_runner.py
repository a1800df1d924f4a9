"""Run `kit -c "prompt N"` over and over as real processes and SIGKILL each one at a random moment.

Used by tests/test_durability_kill.py. litellm is imported once here; every run is a forked child
process (a real process that dies by SIGKILL, with nothing in it running any cleanup), so the loop
costs milliseconds per kill instead of a litellm import each.

    python tests/kill_loop_runner.py BASE_URL KILLS SEED
Prints one line per run: "<n> killed" or "<n> exited <code>".
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from pathlib import Path


def _wait_until_written(prompt: str, deadline: float) -> None:
    """Until the child has written its prompt (it asks the model right after), however loaded the
    machine is: the kill must land while the model or a tool works, not during start-up."""
    needle = f'"text":"{prompt}"'.encode()
    root = Path(os.environ["KIT_HOME"]) / "sessions"
    while time.monotonic() < deadline:
        if any(needle in path.read_bytes() for path in root.rglob("*.jsonl")):
            return
        time.sleep(0.01)


def main() -> int:
    base_url, kills, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from kit_py.cli.main import run

    flags = ["-m", "openai/scripted", "--api-base", base_url]
    # Warm up here: litellm and what its first request imports, once. No request is made, so no
    # pooled connection is shared with the children.
    from kit_py import llm

    llm.load_litellm()
    import litellm.chat_completions.dispatch  # noqa: F401
    import litellm.responses.mcp.chat_completions_handler  # noqa: F401
    import openai.resources.chat  # noqa: F401

    import kit_py.cli.app  # noqa: F401
    import kit_py.cli.launch  # noqa: F401
    import kit_py.cli.print_mode  # noqa: F401
    import kit_py.tools.registry  # noqa: F401
    rng = random.Random(seed)
    for n in range(kills):
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            code = run([*flags, "-c", f"prompt {n}"])
            os._exit(code)
        _wait_until_written(f"prompt {n}", deadline=time.monotonic() + 10)
        time.sleep(rng.uniform(0.0, 0.6))  # somewhere in the stream or the tool step
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            print(f"{n} exited {os.waitstatus_to_exitcode(status)}", flush=True)
            continue
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print(f"{n} killed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
