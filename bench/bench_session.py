"""Session store budgets (docs/session-format.md): run `python bench/bench_session.py`.

Prints one JSON line per metric: {"name", "value", "unit", "budget"}. Open+context is measured
in a fresh interpreter each time so its peak RSS (ru_maxrss) belongs to that work alone.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit_py.catalog import list_sessions, most_recent, sessions_dir_for  # noqa: E402
from kit_py.session import (  # noqa: E402
    SessionManager,
    compaction,
    message,
    text_part,
    tool_call_part,
    tool_result_part,
)
from kit_py.session import format as fmt  # noqa: E402

ENTRIES = 100_000
SESSIONS = 10_000
CWD = "/home/bench/project"

OPEN_SCRIPT = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from kit_py.session import SessionManager
t, cpu = time.perf_counter(), time.process_time()
m = SessionManager.open(sys.argv[1])
ctx = m.build_context()
elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "cpu": cpu, "rss": rss, "messages": len(ctx.messages)}))
"""


def emit(name: str, value: float, unit: str, budget: float | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "budget": budget}), flush=True)


def write_big_session(path: Path) -> None:
    """~1 KB messages in a long chain with side branches every 5,000 entries and one compaction."""
    rng = random.Random(7)
    words = [rng.choice("abcdefghijklmnopqrstuvwxyz") * rng.randint(2, 9) for _ in range(500)]
    ts = fmt.now_timestamp()
    lines = [fmt.dumps(fmt.header(CWD, timestamp=ts))]
    ids: list[str] = []
    parent: str | None = None
    first_kept: str | None = None
    for i in range(ENTRIES):
        if i % 5000 == 4999 and len(ids) > 10:  # a short abandoned branch off an earlier entry
            parent = ids[-10]
        if i == ENTRIES - 5000:
            kept = first_kept or ids[-1]
            entry = compaction("summary " * 200, kept, 150000, 20000, 80000, ["a.py"], ["b.py"])
        elif i % 3 == 2:
            call = f"call_{i}"
            entry = message(
                "assistant",
                [
                    text_part(" ".join(rng.choices(words, k=80))),
                    tool_call_part(call, "read", json.dumps({"path": f"f{i}.py"})),
                ],
                model="m",
                provider="p",
                stop_reason="tool_use",
            )
        elif i % 3 == 0:
            entry = message("user", [text_part(" ".join(rng.choices(words, k=140)))])
        else:
            result = tool_result_part(f"call_{i - 2}", "read", " ".join(rng.choices(words, k=140)))
            entry = message("tool", [result])
        entry["id"] = fmt.new_entry_id()
        if parent is not None:
            entry = {
                "type": entry["type"],
                "id": entry["id"],
                "parent_id": parent,
                "timestamp": ts,
                **{k: v for k, v in entry.items() if k not in ("type", "id")},
            }
        if i == ENTRIES - 8000:
            first_kept = entry["id"]
        lines.append(fmt.dumps(entry))
        ids.append(entry["id"])
        parent = entry["id"]
    path.write_bytes(b"\n".join(lines) + b"\n")


def bench_open(path: Path) -> None:
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", OPEN_SCRIPT, str(path), str(ROOT)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout))
    size = path.stat().st_size
    emit("session_file_size", size / 1e6, "MB", None)
    emit("open_build_context", statistics.median(r["seconds"] for r in runs), "s", 1.5)
    # CPU time shows the real cost when other work shares the two cores and inflates wall time
    emit("open_build_context_cpu", statistics.median(r["cpu"] for r in runs), "s", None)
    emit("open_rss_ratio", max(r["rss"] for r in runs) / size, "x file size", 4)


def bench_append(folder: Path) -> None:
    m = SessionManager.create(folder, CWD)
    text = "x" * 1000
    times = []
    for _ in range(1000):
        entry = message("user", [text_part(text)])
        t = time.perf_counter()
        m.append(entry)
        times.append(time.perf_counter() - t)
    m.close()
    emit("append_median", statistics.median(times) * 1000, "ms", 1)


def write_many_sessions(root: Path) -> None:
    folder = sessions_dir_for(CWD, root)
    folder.mkdir(parents=True)
    other = sessions_dir_for("/home/bench/other", root)
    other.mkdir(parents=True)
    now = time.time()
    for i in range(SESSIONS):
        cwd = CWD if i % 2 == 0 else "/home/bench/other"
        target = folder if i % 2 == 0 else other
        head = fmt.header(cwd)
        user = message("user", [text_part(f"question {i}")])
        user.update(id=fmt.new_entry_id(), timestamp=head["timestamp"])
        path = target / fmt.session_file_name()
        path.write_bytes(fmt.dumps(head) + b"\n" + fmt.dumps(user) + b"\n")
        os.utime(path, (now - i, now - i))


def bench_list(root: Path) -> None:
    list_times, recent_times = [], []
    for _ in range(3):
        t = time.perf_counter()
        found = list_sessions(root)
        list_times.append(time.perf_counter() - t)
        assert len(found) == SESSIONS, len(found)
        t = time.perf_counter()
        assert most_recent(CWD, root) is not None
        recent_times.append(time.perf_counter() - t)
    emit("list_10k_sessions", statistics.median(list_times) * 1000, "ms", 400)
    emit("most_recent_10k_sessions", statistics.median(recent_times) * 1000, "ms", 400)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--generate":
        write_big_session(Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        big = base / "big.jsonl"
        # generated in a child so this process stays small: ru_maxrss survives fork+exec
        subprocess.run([sys.executable, __file__, "--generate", str(big)], check=True)
        bench_open(big)
        big.unlink()
        bench_append(base / "append")
        write_many_sessions(base / "home")
        bench_list(base / "home")


if __name__ == "__main__":
    main()
