"""REPL budgets (docs/session-format.md): prompt visible after launch, and streamed-markdown render cost.

1. Launch `kit` in a pseudo-terminal and time until the prompt is drawn (median of 5; budget 350 ms).
2. CPU seconds to render 5k- and 20k-token answers fed in small deltas through the REPL's renderer;
   linear cost means the 20k/5k ratio stays near 4 (a full re-render per token would make it ~16).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
KIT = Path(sys.executable).parent / "kit"
PROMPT_MARK = "\u276f "


def emit(name: str, value: float, unit: str, budget: float | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "budget": budget}), flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (Linux /proc), robust to other load on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_to_prompt(env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of kit) from launch until the prompt is on the screen."""
    import pexpect

    cmd = [str(KIT)] if KIT.exists() else [sys.executable, "-m", "kit_py"]
    start = time.perf_counter()
    child = pexpect.spawn(
        cmd[0],
        cmd[1:] + ["-m", "openai/bench", "--api-base", "http://127.0.0.1:9"],
        env=env,
        cwd=cwd,
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=30,
    )
    seen = ""
    while PROMPT_MARK not in seen:
        chunk = child.read_nonblocking(65536, timeout=30)
        if "\x1b[6n" in chunk:
            child.send("\x1b[1;1R")  # answer the cursor position request like a terminal does
        seen += chunk
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(child.pid)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    return elapsed, cpu


def render_cpu(tokens: int) -> float:
    from rich.console import Console

    from kit_py.engine.events import TextDelta
    from kit_py.terminal.theme import get_theme, rich_theme
    from kit_py.terminal.turn_view import TurnView
    from tests.provider import markdown_text

    text = markdown_text(tokens)
    console = Console(file=io.StringIO(), force_terminal=True, width=100, theme=rich_theme(get_theme("dark")))
    view = TurnView(console, get_theme("dark").code_theme)
    deltas = [text[i : i + 12] for i in range(0, len(text), 12)]  # ~3 tokens per delta, like a real stream
    start = time.process_time()
    for delta in deltas:
        view(TextDelta(delta))
    view.finish()
    return time.process_time() - start


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="kit-bench-repl-")
    env = {
        **os.environ,
        "KIT_HOME": f"{tmp}/home",
        "KIT_CONFIG_DIR": f"{tmp}/config",
        "HOME": tmp,
        "TERM": "xterm-256color",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    time_to_prompt(env, tmp)  # warm the page cache and .pyc files
    launches = [time_to_prompt(env, tmp) for _ in range(5)]
    wall = statistics.median(w for w, _ in launches)
    cpu = statistics.median(c for _, c in launches)
    emit("REPL prompt visible after launch (pty wall, median of 5)", wall * 1000, "ms", 350)
    emit("REPL prompt visible after launch (CPU of kit, median of 5)", cpu * 1000, "ms", None)

    render_cpu(500)  # warm imports (rich.markdown, pygments lexers)
    small = min(render_cpu(5000) for _ in range(3))  # best of 3: other load only ever adds time
    large = min(render_cpu(20000) for _ in range(3))
    emit("render streamed 5k-token answer (CPU, best of 3)", small, "s", None)
    emit("render streamed 20k-token answer (CPU, best of 3)", large, "s", None)
    emit("render cost ratio 20k/5k (linear ~4)", large / small, "x", 6)


if __name__ == "__main__":
    main()
