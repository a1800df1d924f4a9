"""Writer processes for tests/test_store_postgres.py: each one a separate process with its own store,
as the workers of a service on several machines would be. Kept apart from the test module so the
fork server that starts them imports only this (and kit_py) once."""

from __future__ import annotations

import time
from pathlib import Path

from kit_py import Agent, ScriptedModel, tool
from kit_py.session import format as fmt
from kit_py.stores import PostgresStore


def run_turns(url: str, schema: str, worker: int, turns: int) -> None:
    """`turns` turns, taking turns between the worker's own session and the one every worker shares."""
    model = ScriptedModel()
    with PostgresStore(url, schema=schema, max_connections=1) as store:
        agent = Agent(model=model, store=store)
        own = agent.session(session_id=f"own-{worker}")
        shared = agent.session(session_id="shared")
        for i in range(turns):
            session, where = (own, "own") if i % 2 == 0 else (shared, "shared")
            model.reply(f"answer {where} {worker}-{i}")
            session.run(f"question {where} {worker}-{i}")


def block_in_a_tool(url: str, schema: str, session_id: str, started: str) -> None:
    """A turn that stops inside a tool call (it writes `started`, then waits to be killed)."""

    @tool
    def slow_lookup(query: str) -> str:
        """Look something up (slowly)."""
        Path(started).write_text(query)
        time.sleep(60)
        return "never"

    model = ScriptedModel([{"tool_calls": [{"name": "slow_lookup", "arguments": {"query": "prices"}}]}])
    with PostgresStore(url, schema=schema, max_connections=1) as store:
        Agent(model=model, store=store, tools=[slow_lookup]).session(session_id=session_id).run(
            "Look up prices"
        )


def append_pairs(url: str, schema: str, session_id: str) -> None:
    """Append (question, answer) pairs, each pair in one append, until killed."""
    with PostgresStore(url, schema=schema, max_connections=1) as store:
        manager = store.open_session(session_id)
        assert manager is not None
        for i in range(1_000_000):
            manager.append_many(
                [
                    fmt.message("user", [fmt.text_part(f"q{i}")]),
                    fmt.message("assistant", [fmt.text_part(f"a{i}")]),
                ]
            )
