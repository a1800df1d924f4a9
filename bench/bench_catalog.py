"""Session catalog budgets (issue 14): run `python bench/bench_catalog.py`.

With 10,000 sessions / 1 GB on disk (generated in a temp folder; KIT_BENCH_CATALOG_MB scales it):
`list` under 400 ms, `search` under 300 ms once indexed, the first index build at least 50 MB/s,
re-indexing after one new turn reads only the new bytes, `verify --all` at least 100 MB/s.
Throughputs are emitted as the time they allow (budget = size / rate), so "lower is better" holds.
Prints one JSON line per metric: {"name", "value", "unit", "budget"}.
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit_py.catalog import list_sessions, search, sessions_dir_for  # noqa: E402
from kit_py.catalog.index import open_index  # noqa: E402
from kit_py.catalog.overview import catalog_sessions  # noqa: E402
from kit_py.catalog.verify import verify_file  # noqa: E402
from kit_py.session import SessionManager, message, text_part  # noqa: E402
from kit_py.session import format as fmt  # noqa: E402
from kit_py.session.chain import sealed_line  # noqa: E402

SESSIONS = 10_000
TOTAL_MB = float(os.environ.get("KIT_BENCH_CATALOG_MB", "1000"))
CWDS = [f"/home/bench/project{i}" for i in range(40)]
RARE = "zebracorn"  # in one session of 1,000: a term someone searches for
INDEX_RATE, VERIFY_RATE = 50.0, 100.0  # MB/s


def emit(name: str, value: float, unit: str, budget: float | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "budget": budget}), flush=True)


def write_corpus(root: Path, sessions: int, total_bytes: int) -> int:
    """Sessions of kit_py's own shape (chained entries; user, assistant with a tool call, tool result,
    answer), words drawn Zipf-like from a 20,000-word vocabulary, mtimes one second apart."""
    rng = random.Random(14)
    vocab = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10)))
        for _ in range(20000)
    ]
    words = rng.choices(vocab, [1 / (i + 1) for i in range(len(vocab))], k=400_000)

    def text(n: int) -> str:
        i = rng.randrange(0, len(words) - n)
        return " ".join(words[i : i + n])

    written = 0
    now = time.time()
    for s in range(sessions):
        cwd = CWDS[s % len(CWDS)]
        folder = sessions_dir_for(cwd, root)
        folder.mkdir(parents=True, exist_ok=True)
        marker = f" {RARE}{s // 1000}" if s % 1000 == 7 else ""
        data = session_bytes(
            cwd, "gpt-4o" if s % 3 else "claude-sonnet-4-5", total_bytes // sessions, text, marker
        )
        path = folder / fmt.session_file_name()
        path.write_bytes(data)
        os.utime(path, (now - s, now - s))
        written += len(data)
    return written


def session_bytes(cwd: str, model: str, size: int, text: Callable[[int], str], marker: str) -> bytes:
    """One session file of about `size` bytes: turns until it is that big; `marker` in its first prompt."""
    rng = random.Random(size + len(cwd))
    head = fmt.header(cwd)
    out = [fmt.dumps(head)]
    parent: dict | None = None
    total = 0

    def add(entry: dict) -> None:
        nonlocal parent, total
        entry["id"] = fmt.new_entry_id()
        entry["timestamp"] = head["timestamp"]
        if parent is not None:
            entry["parent_id"] = parent["id"]
        entry, line = sealed_line(entry, parent)
        out.append(line)
        total += len(line) + 1
        parent = entry

    add(fmt.model_change("openai", model))
    turn = 0
    while total < size:
        add(message("user", [text_part(text(rng.randint(10, 60)) + (marker if turn == 0 else ""))]))
        call = f"call_{turn}"
        usage = {"input_tokens": 1200 * (turn + 1), "output_tokens": 150, "cost_usd": 0.004}
        tool_call = fmt.tool_call_part(call, "read", '{"path":"a.py"}')
        add(
            message("assistant", [text_part(text(rng.randint(30, 120))), tool_call], model=model, usage=usage)
        )
        add(message("tool", [fmt.tool_result_part(call, "read", text(rng.randint(200, 1200)))]))
        add(message("assistant", [text_part(text(rng.randint(40, 200)))], model=model, usage=usage))
        turn += 1
    return b"\n".join(out) + b"\n"


def timed(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(name: str, fn: Callable[[], object], budget: float) -> None:
    """Median wall time against the budget, and CPU time beside it (steady when others share the cores)."""
    cpu = time.process_time()
    wall = timed(fn)
    emit(name, wall * 1000, "ms", budget)
    emit(f"{name}_cpu", (time.process_time() - cpu) / 3 * 1000, "ms", None)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "kit"
        size = write_corpus(home, SESSIONS, int(TOTAL_MB * 1e6))
        mb = size / 1e6
        emit("catalog_corpus", mb, "MB", None)

        index = open_index(home)
        t, cpu = time.perf_counter(), time.process_time()
        built = index.refresh()
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        index.close()
        assert built.files_read == SESSIONS, built
        emit("catalog_index_first_build", seconds, "s", round(mb / INDEX_RATE, 1))
        emit("catalog_index_build_rate", mb / seconds, "MB/s", None)
        emit("catalog_index_build_rate_cpu", mb / cpu, "MB/s", None)  # CPU time: steady on a busy machine

        found = catalog_sessions(home)
        assert len(found) == SESSIONS, len(found)
        measure("catalog_list_10k_sessions", lambda: catalog_sessions(home), 400)
        measure("catalog_list_one_dir", lambda: catalog_sessions(home, CWDS[0]), 400)
        process = timed(
            lambda: subprocess.run(
                [sys.executable, "-m", "kit_py", "sessions", "list", "--all", "--json"],
                env={**os.environ, "KIT_HOME": str(home), "PYTHONPATH": str(ROOT)},
                check=True,
                capture_output=True,
            )
        )
        emit("catalog_kit_sessions_list_all_process", process * 1000, "ms", None)

        assert len(search(f"{RARE}3", root=home)) == 1
        measure("catalog_search_rare_word", lambda: search(f"{RARE}3", root=home), 300)
        measure("catalog_search_prefix", lambda: search(f"{RARE}*", root=home), 300)
        measure("catalog_search_three_words", lambda: search("the rust borrow checker", root=home), 300)
        frequent = search(found[0].preview.split()[0], root=home)
        emit("catalog_search_word_in_most_sessions_hits", len(frequent), "sessions", None)
        emit(
            "catalog_search_word_in_most_sessions",
            timed(lambda: search(found[0].preview.split()[0], root=home)) * 1000,
            "ms",
            None,
        )

        target = found[len(found) // 2]
        m = SessionManager.open(target.path)
        before = target.path.stat().st_size
        m.append(message("user", [text_part("one more turn about quaternions")]))
        m.append(message("assistant", [text_part("quaternions avoid gimbal lock")], model="gpt-4o"))
        m.close()
        appended = target.path.stat().st_size - before
        index = open_index(home)
        t = time.perf_counter()
        again = index.refresh()
        seconds = time.perf_counter() - t
        index.close()
        emit("catalog_reindex_one_turn_bytes_read", again.bytes_read, "bytes", appended)
        emit("catalog_reindex_one_turn", seconds * 1000, "ms", None)

        infos = list_sessions(home, include_empty=True)
        t, cpu = time.perf_counter(), time.process_time()
        bad = [r for r in (verify_file(info.path) for info in infos) if not r.ok]
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        assert not bad, bad[0].problems
        emit("catalog_verify_all", seconds, "s", round(mb / VERIFY_RATE, 1))
        emit("catalog_verify_rate", mb / seconds, "MB/s", None)
        emit("catalog_verify_rate_cpu", mb / cpu, "MB/s", None)


if __name__ == "__main__":
    main()
