"""PostgresStore figures: run `python bench/bench_postgres.py` (PostgreSQL 15's initdb must be installed).

Starts a throwaway PostgreSQL server with its durable defaults (fsync on: every append is a committed,
flushed transaction) and prints JSON lines {"name", "value", "unit", "budget"} (budget null:
informational): the latency of one append from one writer, then 20 writer processes appending turns
(a question, then its answer) to their own session and to one session they all share, with the p95
latency each append saw and the appends per second of all of them together.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kit_py.session import format as fmt  # noqa: E402
from kit_py.stores import PostgresStore  # noqa: E402
from tests.postgres_support import PostgresServer, fresh_schema  # noqa: E402

WRITERS, TURNS = 20, 50


def emit(name: str, value: float, unit: str, budget: float | None = None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "budget": budget}), flush=True)


def turn(manager, text: str, timings: list[float]) -> None:  # type: ignore[no-untyped-def]
    """A turn's writes: the question, then the answer (each its own append, as the engine does)."""
    for role in ("user", "assistant"):
        started = time.perf_counter()
        manager.append(fmt.message(role, [fmt.text_part(f"{role}: {text}")]))
        timings.append(time.perf_counter() - started)


def writer(url: str, schema: str, n: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    timings: list[float] = []
    with PostgresStore(url, schema=schema, max_connections=1) as store:
        own = store.new_session(fmt.header("/bench", session_id=f"own-{n}"))
        shared = store.open_session("shared")
        assert shared is not None
        for i in range(TURNS):
            turn(own, f"{n}-{i}", timings)
            turn(shared, f"{n}-{i}", timings)
    results.put(timings)


def main() -> None:
    server = PostgresServer(durable=True)
    try:
        with PostgresStore(server.url, schema=fresh_schema()) as store:
            manager = store.new_session(fmt.header("/bench", session_id="one"))
            timings: list[float] = []
            for i in range(500):
                turn(manager, str(i), timings)
            timings.sort()
            emit("postgres: append one entry, one writer (median)", statistics.median(timings) * 1000, "ms")
            p95 = timings[int(len(timings) * 0.95)]
            emit("postgres: append one entry, one writer (p95)", p95 * 1000, "ms")

        schema = fresh_schema()
        with PostgresStore(server.url, schema=schema) as store:
            store.new_session(fmt.header("/bench", session_id="shared")).append(
                fmt.message("system", [fmt.text_part("shared")])
            )
        ctx = multiprocessing.get_context("forkserver")
        results: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
        writers = [ctx.Process(target=writer, args=(server.url, schema, n, results)) for n in range(WRITERS)]
        started = time.perf_counter()
        for p in writers:
            p.start()
        seen = [t for _ in writers for t in results.get(timeout=300)]
        elapsed = time.perf_counter() - started
        for p in writers:
            p.join()
        seen.sort()
        name = f"postgres: {WRITERS} processes x {TURNS} turns, own + shared session"
        emit(f"{name} (appends/s)", len(seen) / elapsed, "1/s")
        emit(f"{name} (p95 append)", seen[int(len(seen) * 0.95)] * 1000, "ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
