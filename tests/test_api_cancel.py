"""Cancelling a turn (asyncio cancellation, leaving a stream, Ctrl-C) closes the HTTP stream at once
and adds nothing to the session; reading a session never waits for a running turn; many sessions run
concurrently on one event loop."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from pathlib import Path

import pytest

from kit_py import Agent, Session
from kit_py.api.stores import MemoryStore
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)

SLOW = "a long answer that streams slowly " * 20


def answered_once(api) -> tuple[Session, MemoryStore, list[str]]:
    store = MemoryStore()
    session = Agent(store=store).session()
    api.reply("first answer")
    session.run("first question")
    return session, store, [m.text for m in session.messages]


def assert_unchanged_and_usable(api, session: Session, store: MemoryStore, before: list[str]) -> None:
    """Nothing was added (here or in a reload), the attempt is kept off the branch, and the next turn
    sends the conversation as it was before the cancelled call."""
    assert [m.text for m in session.messages] == before
    assert [m.text for m in Session.from_dict(store.load(session.id)).messages] == before
    api.reply("next answer")
    session.run("next question")
    assert [m["content"] for m in api.last_messages()] == [*before, "next question"]


def test_run_async_cancelled_by_wait_for_before_any_output_closes_the_request(api):
    session, store, before = answered_once(api)
    api.reply("too late", first_delay=5)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(session.run_async("slow question"), 0.3)

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 2
    assert api.wait_for_client_close(1), "the provider saw the connection close"
    kept = [e for e in session.entries if e.get("type") == "message" and e.get("role") == "user"]
    assert kept[-1]["parts"][0]["data"]["text"] == "slow question", "the attempt stays in the store"
    assert_unchanged_and_usable(api, session, store, before)


def test_stream_async_task_cancelled_mid_answer_closes_the_stream(api):
    session, store, before = answered_once(api)
    api.reply(SLOW, chunk_size=4, delay=0.05)
    seen: list[str] = []

    async def consume() -> None:
        async for ev in await session.stream_async("tell me slowly"):
            if ev.type == "text_delta":
                seen.append(ev.text)

    async def main() -> None:
        task = asyncio.create_task(consume())
        while not seen:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert api.wait_for_client_close(1)
    assert_unchanged_and_usable(api, session, store, before)


def test_breaking_out_of_stream_cancels_the_turn(api):
    session, store, before = answered_once(api)
    api.reply(SLOW, chunk_size=4, delay=0.05)
    started = time.monotonic()
    for ev in session.stream("tell me slowly"):
        if ev.type == "text_delta":
            break
    assert time.monotonic() - started < 2, "the turn did not run to its end"
    assert api.wait_for_client_close(1)
    assert_unchanged_and_usable(api, session, store, before)


def test_ctrl_c_while_waiting_on_stream_cancels_the_turn_and_is_raised(api):
    session, store, before = answered_once(api)
    api.reply(SLOW, chunk_size=4, delay=0.3)
    with pytest.raises(KeyboardInterrupt):
        for ev in session.stream("tell me slowly"):
            if ev.type == "text_delta":
                threading.Timer(0.05, _thread.interrupt_main).start()  # Ctrl-C while waiting for more
    assert api.wait_for_client_close(1)
    assert_unchanged_and_usable(api, session, store, before)


def test_ctrl_c_during_a_sync_run_closes_the_stream_and_adds_nothing(api):
    session, store, before = answered_once(api)
    api.reply(SLOW, chunk_size=4, delay=0.1)
    threading.Timer(0.5, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        session.run("tell me slowly")
    assert api.wait_for_client_close(1)
    assert_unchanged_and_usable(api, session, store, before)


def test_cancelling_while_a_tool_runs_stops_it_and_adds_nothing(api):
    store = MemoryStore()
    session = Agent(tools=["bash"], store=store).session()
    command = "touch started; sleep 30; echo done"
    api.reply(tool_calls=[{"id": "c1", "name": "bash", "arguments": {"command": command}}])

    async def main() -> None:
        task = asyncio.create_task(session.run_async("run it"))
        while not Path("started").exists():
            await asyncio.sleep(0.02)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 3, "the command was stopped, not waited for"

    asyncio.run(main())
    assert session.messages == []
    results = [p["data"] for e in session.entries for p in e.get("parts", []) if p["type"] == "tool_result"]
    assert [r["tool_call_id"] for r in results] == ["c1"], "the call is answered, off the branch"
    assert "done" not in results[0]["content"]
    assert_unchanged_and_usable(api, session, store, [])


def test_reads_return_the_session_before_a_running_turn_without_waiting(api):
    session, _store, before = answered_once(api)
    data_before = session.to_dict()
    api.reply(SLOW, chunk_size=4, delay=0.05)
    stream = session.stream("tell me slowly")
    for ev in stream:
        if ev.type == "text_delta":
            break_at = time.monotonic()
            assert [m.text for m in session.messages] == before
            assert session.to_dict() == data_before
            assert repr(session) == f"Session(id={session.id!r}, messages=2)"
            assert time.monotonic() - break_at < 0.5, "reads did not wait for the turn"
            break
    stream.close()

    api.reply("answer while reading", first_delay=1)
    worker = threading.Thread(target=session.run, args=("threaded question",))
    worker.start()
    while not any("threaded question" in str(r["body"]) for r in api.chat_requests):
        time.sleep(0.01)
    started = time.monotonic()
    assert [m.text for m in session.messages] == before
    assert time.monotonic() - started < 0.5
    worker.join(10)
    assert [m.text for m in session.messages][-2:] == ["threaded question", "answer while reading"]


def test_fifty_sessions_run_concurrently_on_one_event_loop(api):
    agent = Agent()
    sessions = [agent.session() for _ in range(50)]
    api.default_text = "concurrent answer"
    api.gate = threading.Event()  # no answer until every request is in: only concurrency gets there

    async def main() -> list[str]:
        runs = [asyncio.create_task(s.run_async(f"question {n}")) for n, s in enumerate(sessions)]
        deadline = time.monotonic() + 30
        while len(api.chat_requests) < 50 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        in_flight = len(api.chat_requests)
        assert api.gate is not None
        api.gate.set()
        results = await asyncio.gather(*runs)
        assert in_flight == 50, f"only {in_flight} requests were in flight at once"
        return [r.text for r in results]

    assert asyncio.run(main()) == ["concurrent answer"] * 50
    assert [[m.text for m in s.messages] for s in sessions] == [
        [f"question {n}", "concurrent answer"] for n in range(50)
    ]
