"""Nothing typed or paid for is lost: the prompt is on disk before the request, each step as it
completes, a killed tool's call is answered as interrupted next time, an unwritable session is
refused before the model is paid, and a compaction that would not help is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kit_py import catalog
from kit_py.config import Settings
from kit_py.engine import events
from kit_py.engine.conversation import Conversation
from kit_py.errors import AgentError
from kit_py.session import SessionManager, message_text
from kit_py.session import format as fmt
from tests.conftest import session_files


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()[1:]]


def test_the_prompt_and_each_step_are_on_disk_while_the_model_and_tools_work(tmp_path, provider):
    settings = Settings(model="openai/scripted", api_base=provider.base_url)
    seen: dict[str, list[str]] = {}

    def on_event(event: events.Event) -> None:
        assert conv.path is not None
        kinds = [f"{e['type']}:{e.get('role', '')}" for e in lines_of(conv.path)]
        if isinstance(event, events.TextDelta) and "text" not in seen:
            seen["text"] = kinds
        if isinstance(event, events.ToolCallStarted):
            seen["tool"] = kinds

    conv = Conversation.create(settings, str(tmp_path), home=tmp_path / "home", on_event=on_event)
    provider.reply(tool_calls=[{"id": "c1", "name": "ls", "arguments": {}}])
    provider.reply("done", first_delay=0.2)
    conv.tools = None
    conv.run("list the files")
    assert seen["tool"] == ["model_change:", "message:user", "message:assistant"], "call recorded first"
    assert seen["text"][-1] == "message:tool", "the step's results are written before the next request"
    written = lines_of(conv.path)
    [asked] = [fmt.parse_timestamp(e["timestamp"]) for e in written if e.get("role") == "user"]
    answered = fmt.parse_timestamp(written[-1]["timestamp"])
    assert (answered - asked).total_seconds() >= 0.2, "the prompt carries the time it was asked"


def test_a_call_left_unanswered_by_a_killed_kit_is_answered_as_interrupted(tmp_path, provider):
    folder = catalog.sessions_dir_for(str(tmp_path), root=tmp_path / "home")
    killed = SessionManager.create(folder, str(tmp_path))
    killed.append(fmt.model_change("openai", "scripted", "off"))
    killed.append(fmt.message("user", [fmt.text_part("run it")]))
    killed.append(fmt.message("assistant", [fmt.tool_call_part("c9", "bash", '{"command": "sleep 99"}')]))
    assert killed.path is not None
    conv = Conversation.open(killed.path, Settings(model="openai/scripted", api_base=provider.base_url))
    provider.reply("ok")
    conv.run("what happened?")
    sent = provider.last_messages()
    assert sent[-2] == {
        "role": "tool",
        "tool_call_id": "c9",
        "content": "interrupted: kit stopped before this tool finished; no result was recorded",
    }
    assert sent[-1] == {"role": "user", "content": "what happened?"}
    reopened = SessionManager.open(killed.path)
    assert reopened.warnings == []
    tool = [e for e in reopened.entries if e.get("role") == "tool"]
    assert len(tool) == 1 and tool[0]["parts"][0]["data"]["is_error"] is True


def test_an_unwritable_kit_home_is_refused_before_the_model_is_called(run_kit, kit_env, provider, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the sessions should go\n")
    provider.reply("never paid for")
    result = run_kit("hello", env={"KIT_HOME": str(blocker)})
    assert result.returncode == 14, result.stderr
    assert str(blocker) in result.stderr and "--no-session" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert provider.chat_requests == [], "no request when the answer could not be kept"
    assert run_kit("hello", "--no-session", env={"KIT_HOME": str(blocker)}).returncode == 0


def test_a_compaction_that_would_grow_the_context_is_refused(tmp_path, provider):
    settings = Settings(model="openai/scripted", api_base=provider.base_url, auto_compact=False)
    conv = Conversation.create(settings, str(tmp_path), home=tmp_path / "home")
    for i in range(2):
        provider.reply(f"a{i}")
        conv.run(f"q{i}")
    assert conv.path is not None
    before = conv.path.read_bytes()
    provider.reply("a much longer summary than the two tiny exchanges it replaces " * 20)
    with pytest.raises(AgentError, match="would not shrink"):
        conv.compact()
    assert conv.path.read_bytes() == before
    provider.reply("")
    with pytest.raises(AgentError, match="empty summary"):
        conv.compact()
    assert conv.path.read_bytes() == before


def test_a_symlinked_project_uses_the_logical_directory_like_go_kit(run_kit, kit_env, provider, tmp_path):
    real = tmp_path / "real-project"
    real.mkdir()
    link = tmp_path / "linked-project"
    link.symlink_to(real)
    provider.reply("hi")
    result = run_kit("hello", cwd=link, env={"PWD": str(link)})
    assert result.returncode == 0, result.stderr
    [path] = session_files(kit_env)
    assert path.parent.name == catalog.encode_cwd(str(link))
    assert json.loads(path.read_text().splitlines()[0])["cwd"] == str(link)
    provider.reply("again")
    again = run_kit("-c", "and again", cwd=link, env={"PWD": str(link)})
    assert again.returncode == 0 and len(session_files(kit_env)) == 1
    assert [message_text(m) for m in SessionManager.open(path).path_entries() if m.get("role") == "user"] == [
        "hello",
        "and again",
    ]
    assert os.path.realpath(link) == str(real)
