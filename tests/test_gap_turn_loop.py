"""The turn loop (engine/turn.py) in-process against the scripted provider: what the face is told, what is
stored, overflow recovery once per turn, Ctrl-C at an approval question and `--json`'s messages."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from kit_py import catalog
from kit_py.config import Settings
from kit_py.engine import events as ev
from kit_py.engine.approval import PendingAction, ToolSetup
from kit_py.engine.conversation import Conversation
from kit_py.engine.turn import TurnFailed
from kit_py.errors import ContextOverflowError
from kit_py.session import SessionManager
from kit_py.session import format as fmt
from kit_py.tools import select_tools
from tests.conftest import MODEL, session_files
from tests.test_gap_approvals import StartingSource


def settings_for(provider: Any, **extra: Any) -> Settings:
    return Settings(model=MODEL, api_base=provider.base_url, **extra)


def new_session(workdir: Path, turns: int = 0) -> SessionManager:
    """A session file in `workdir`'s folder holding `turns` short earlier turns."""
    folder = catalog.sessions_dir_for(str(workdir), root=catalog.kit_home())
    session = SessionManager.create(folder, str(workdir))
    session.append(fmt.model_change("openai", "scripted", "off"))
    for i in range(turns):
        session.append(fmt.message("user", [fmt.text_part(f"question {i}")]))
        session.append(fmt.message("assistant", [fmt.text_part(f"answer {i}")]))
    return session


def test_reasoning_text_and_retries_reach_the_face_apart_and_the_answer_names_its_model(
    kit_env, workdir, provider, monkeypatch
):
    monkeypatch.setenv("KIT_RETRY_BASE_DELAY", "0.01")
    provider.error(503)
    provider.reply("The answer.", reasoning="Thinking it over.")
    seen: list[ev.Event] = []
    session = new_session(workdir)
    Conversation(session, settings_for(provider), on_event=seen.append).run("question")

    assert "".join(e.text for e in seen if isinstance(e, ev.TextDelta)) == "The answer."
    assert "".join(e.text for e in seen if isinstance(e, ev.ReasoningDelta)) == "Thinking it over."
    (retry,) = [e for e in seen if isinstance(e, ev.Retry)]
    assert "503" in retry.text and "retrying in" in retry.text
    answer = session.entries[-1]
    assert (answer["role"], answer["provider"], answer["model"]) == ("assistant", "openai", "scripted")


def test_a_threshold_reached_by_what_is_not_history_summarizes_nothing(kit_env, workdir, provider):
    """The provider counted 5,000 tokens (a long system prompt, many tool schemas), but the messages
    themselves fit in what compaction keeps anyway: summarizing them would not help, so nothing is."""
    session = new_session(workdir, turns=1)
    session.append(fmt.message("user", [fmt.text_part("question 1")]))
    session.append(fmt.message("assistant", [fmt.text_part("answer 1")], usage={"input_tokens": 5000}))
    provider.reply("fine")
    settings = settings_for(provider, context_window=8000, auto_compact=True)  # threshold 4000 tokens
    result = Conversation(session, settings).run("next")
    assert result.text == "fine"
    assert [r["body"].get("stream") for r in provider.chat_requests] == [True], "no summary request"
    assert not any(e["type"] == "compaction" for e in session.entries)
    assert [m["content"] for m in provider.last_messages()][-3:] == ["question 1", "answer 1", "next"]


def test_an_overflow_in_a_later_step_of_the_same_turn_is_not_compacted_a_second_time(
    kit_env, workdir, provider
):
    (workdir / "notes.txt").write_text("alpha\n")
    session = new_session(workdir, turns=2)
    provider.context_overflow()
    provider.reply("SUMMARY")
    provider.reply(tool_calls=[{"id": "r", "name": "read", "arguments": {"path": "notes.txt"}}])
    provider.context_overflow()
    provider.reply("SECOND SUMMARY")
    setup = ToolSetup(tools=select_tools(["read"]), cwd=workdir)
    conversation = Conversation(session, settings_for(provider), tools=setup)

    with pytest.raises(TurnFailed) as failed:
        conversation.run("read my notes")

    assert isinstance(failed.value.cause, ContextOverflowError)
    assert provider.pending == 1, "the second overflow is not summarized again"
    assert [e["type"] for e in session.entries].count("compaction") == 1
    written = [(e["type"], e.get("role"), e.get("stop_reason")) for e in session.entries[-4:]]
    assert written == [
        ("compaction", None, None),
        ("message", "assistant", "tool_use"),  # the first step and its result stay
        ("message", "tool", None),
        ("message", "assistant", "error"),
    ]


def test_ctrl_c_at_an_approval_question_ends_the_turn_and_answers_the_call(kit_env, workdir, provider):
    def interrupt(action: PendingAction) -> str:
        time.sleep(0.05)  # the user looked at the question for a moment
        raise KeyboardInterrupt

    provider.reply(tool_calls=[{"id": "w", "name": "write", "arguments": {"path": "a.txt", "content": "a"}}])
    setup = ToolSetup(tools=select_tools(["write"]), cwd=workdir, safe_mode=True, approve=interrupt)
    session = new_session(workdir)
    with pytest.raises(KeyboardInterrupt):
        Conversation(session, settings_for(provider), tools=setup).run("write a file")

    assert not (workdir / "a.txt").exists()
    tool_message = next(e for e in reversed(session.entries) if e.get("role") == "tool")
    (result,) = [p["data"] for p in tool_message["parts"]]
    assert (result["tool_call_id"], result["content"], result["is_error"]) == (
        "w",
        "interrupted by the user",
        True,
    )
    assert isinstance(result["duration_ms"], int) and 50 <= result["duration_ms"] < 60_000
    (record,) = [json.loads(e["data"]) for e in session.entries if e.get("ext_type") == "kit:approval"]
    assert (record["answer"], record["action"]) == ("interrupted", "not run")


def test_json_lists_exactly_the_messages_the_turn_stored(run_kit, kit_env, provider, workdir):
    (workdir / "notes.txt").write_text("alpha\n")
    provider.reply("Reading.", tool_calls=[{"id": "r", "name": "read", "arguments": {"path": "notes.txt"}}])
    provider.reply("It says alpha.")
    result = run_kit("--json", "what do my notes say?")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (path,) = session_files(kit_env)
    stored = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert "model_change" in [e["type"] for e in stored]
    assert report["messages"] == [e for e in stored if e["type"] == "message"]
    assert [m["role"] for m in report["messages"]] == ["user", "assistant", "tool", "assistant"]


def test_an_approve_callback_that_raises_fails_the_turn_after_every_call_got_an_error_result(
    kit_env, workdir, provider
):
    def broken(action: PendingAction) -> str:
        time.sleep(1.05)  # a slow service: the time it took is on record
        raise RuntimeError("the approval service is down")

    calls = [
        {"id": "w1", "name": "write", "arguments": {"path": "a.txt", "content": "a"}},
        {"id": "w2", "name": "write", "arguments": {"path": "b.txt", "content": "b"}},
    ]
    provider.reply(tool_calls=calls)
    setup = ToolSetup(tools=select_tools(["write"]), cwd=workdir, safe_mode=True, approve=broken)
    session = new_session(workdir)
    with pytest.raises(RuntimeError, match="the approval service is down"):
        Conversation(session, settings_for(provider), tools=setup).run("write two files")
    tool_message = next(e for e in reversed(session.entries) if e.get("role") == "tool")
    first, second = [p["data"] for p in tool_message["parts"]]
    assert (first["content"], first["is_error"]) == ("not run: the approval service is down", True)
    assert isinstance(first["duration_ms"], int) and 1050 <= first["duration_ms"] < 60_000
    assert (second["content"], second["is_error"]) == ("the turn failed before this tool ran", True)
    assert not (workdir / "a.txt").exists() and not (workdir / "b.txt").exists()


def test_max_steps_below_one_still_runs_one_step_and_says_so(kit_env, workdir, provider):
    (workdir / "notes.txt").write_text("alpha\n")
    provider.reply(tool_calls=[{"id": "r", "name": "read", "arguments": {"path": "notes.txt"}}])
    seen: list[ev.Event] = []
    setup = ToolSetup(tools=select_tools(["read"]), cwd=workdir)
    settings = settings_for(provider, max_steps=0)
    result = Conversation(new_session(workdir), settings, tools=setup, on_event=seen.append).run("read")
    assert result.stop_reason == "max_steps" and len(provider.chat_requests) == 1
    notes = [e.text for e in seen if isinstance(e, ev.Notice)]
    assert notes == ["stopped after 1 steps (max steps) before the model finished; the session is saved"]


def test_a_model_named_without_its_provider_is_stored_under_its_own_name(kit_env, workdir, provider):
    provider.reply("hi")
    session = new_session(workdir)
    settings = Settings(model="gpt-4o", api_base=provider.base_url, api_key="sk-test")
    Conversation(session, settings).run("hello")
    answer = session.entries[-1]
    assert (answer["role"], answer["provider"], answer["model"]) == ("assistant", "openai", "gpt-4o")


def test_damaged_session_data_and_tool_source_news_are_told_once(kit_env, workdir, provider):
    session = new_session(workdir, turns=1)
    assert session.path is not None
    robot = {"type": "message", "id": "00000000000000ee", "parent_id": session.leaf_id}
    robot.update(timestamp="2026-01-01T00:00:00Z", role="robot", parts=[fmt.text_part("beep")])
    with open(session.path, "ab") as f:  # written by some other tool
        f.write(json.dumps(robot).encode() + b"\n")

    class StoppingSource(StartingSource):
        news = ["server docs stopped"]

        def take_notices(self) -> list[str]:
            told, self.news = self.news, []
            return told

    seen: list[ev.Event] = []
    setup = ToolSetup(tools=[], cwd=workdir, sources=[StoppingSource()])
    settings = settings_for(provider)
    conversation = Conversation.open(session.path, settings, tools=setup, on_event=seen.append)
    provider.reply("one")
    provider.reply("two")
    conversation.run("first")
    conversation.run("second")
    assert [e.text for e in seen if isinstance(e, ev.Notice)] == [
        "warning: entry 00000000000000ee: a message with the unknown role 'robot' is not sent",
        "server docs stopped",
    ]


def test_a_failed_request_in_an_async_turn_is_kept_like_in_a_sync_one(kit_env, workdir, provider):
    provider.error(401)
    session = new_session(workdir)
    with pytest.raises(TurnFailed) as failed:
        asyncio.run(Conversation(session, settings_for(provider)).arun("hello"))
    assert failed.value.exit_code == failed.value.cause.exit_code and "401" in failed.value.message
    prompt, answer = session.entries[-2:]
    assert (prompt["role"], answer["role"], answer["stop_reason"]) == ("user", "assistant", "error")
