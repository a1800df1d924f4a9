"""API <-> CLI on the same JSONL session files: `kit` resumes Python sessions and the reverse."""

from __future__ import annotations

import json

from kit_py import Agent, Session
from kit_py.api.session import channel_dir
from kit_py.api.stores import JSONLStore
from kit_py.session import SessionManager
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)
from tests.conftest import session_files


def contents(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages]


def test_a_python_session_continues_in_kit_and_back(run_kit, kit_env, api):
    session = Agent(store=JSONLStore()).session(system="Answer in one word.")
    api.reply("Blue.")
    session.run("Sky colour?")

    api.reply("Green.")
    result = run_kit("-s", session.id, "Grass colour?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Green.\n"
    assert api.last_messages() == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Sky colour?"},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Grass colour?"},
    ]
    assert len(session_files(kit_env)) == 1, "kit appended to the Python session's own file"

    resumed = Session.load(session.id)
    assert [m.text for m in resumed.messages] == ["Sky colour?", "Blue.", "Grass colour?", "Green."]
    api.reply("White.")
    resumed.run("Snow colour?")
    assert contents(api.last_messages())[-3:] == ["Grass colour?", "Green.", "Snow colour?"]
    [path] = session_files(kit_env)
    reopened = SessionManager.open(path)
    assert reopened.warnings == []
    assert [e["role"] for e in reopened.path_entries() if e["type"] == "message"] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]


def test_a_kit_session_continues_in_python_and_a_channel_session_in_kit(run_kit, kit_env, api):
    api.reply("Hi from the CLI.")
    assert run_kit("hello").returncode == 0
    [path] = session_files(kit_env)
    session_id = json.loads(path.read_text().splitlines()[0])["id"]

    session = Session.load(session_id)
    assert session.agent.model == "openai/scripted"
    assert [m.text for m in session.messages] == ["hello", "Hi from the CLI."]
    api.reply("Python here.")
    session.run("python turn")
    assert contents(api.last_messages()) == ["hello", "Hi from the CLI.", "python turn"]
    assert SessionManager.open(path).leaf_id == session.to_dict()["leaf_id"]

    channel = Session.create(channel="support", system_prompt="You help with billing.")
    api.reply("Refund started.")
    channel.send("Refund order 17")
    [channel_file] = channel_dir("support").glob("*.jsonl")
    api.reply("It takes 3 days.")
    result = run_kit("-s", str(channel_file), "How long?")
    assert result.returncode == 0, result.stderr
    assert contents(api.last_messages()) == [
        "You help with billing.",
        "Refund order 17",
        "Refund started.",
        "How long?",
    ]
    assert [m.text for m in Session.load(channel.id).messages][-1] == "It takes 3 days."
