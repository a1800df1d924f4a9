"""The offline scripted model users test their own code with, and `kit_py.preload()`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

import kit_py
from kit_py import Agent, ScriptedModel, tool
from kit_py.errors import AgentError, RateLimitError
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`: an isolated home and cwd)
from tests.conftest import REPO


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_a_scripted_model_drives_the_real_turn_loop(api):
    model = ScriptedModel()
    model.reply(tool_calls=[{"name": "add", "arguments": {"a": 2, "b": 3}}], reasoning="Use the tool.")
    model.reply("2 + 3 = 5")
    session = Agent(model=model, tools=[add]).session(system="Be exact.")
    events = list(session.stream("What is 2 + 3?"))
    assert [e.type for e in events if e.type != "text_delta"] == [
        "reasoning_delta", "tool_call", "tool_result", "done"
    ]  # fmt: skip
    assert events[-1].text == "2 + 3 = 5" and events[-1].result is not None
    assert events[-1].result.tool_calls == [{"id": "call_1", "name": "add", "arguments": {"a": 2, "b": 3}}]
    first, second = model.requests
    assert (first.prompt, first.tools, first.messages[0]) == (
        "What is 2 + 3?",
        ["add"],
        {"role": "system", "content": "Be exact."},
    )
    assert second.messages[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "5"}
    assert model.pending == 0 and api.chat_requests == [], "no network"
    assert session.model == model.model and session.usage.output_tokens > 0


def test_a_scripted_model_fails_loudly_when_its_script_runs_out(api):
    model = ScriptedModel(["only one"])
    session = Agent(model=model).session()
    assert asyncio.run(session.run_async("first")).text == "only one"
    with pytest.raises(AgentError, match="has no reply left for request 2"):
        session.run("second")
    model.fail(RateLimitError("slow down"))
    with pytest.raises(RateLimitError, match="slow down"):
        session.run("third")
    assert [m.text for m in session.messages] == ["first", "only one"]
    assert Agent(model=ScriptedModel(default="always this")).run("anything").text == "always this"
    with pytest.raises(ValueError, match="already exists"):
        ScriptedModel(name=model.name)


def test_scripted_tests_need_no_network_or_litellm(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from kit_py import Agent, ScriptedModel

        model = ScriptedModel(["Hello!"])
        assert Agent(model=model).run("hi").text == "Hello!"
        assert "litellm" not in sys.modules, "a scripted model works without the model library"
        print("ok")
        """
    )
    env = {"KIT_HOME": str(tmp_path / "home"), "KIT_CONFIG_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


def test_preload_imports_the_model_library_now_or_in_the_background(monkeypatch):
    from kit_py import llm
    from kit_py.llm import client

    monkeypatch.setattr(client, "_litellm", None)  # as in a fresh process (the import itself is cached)
    assert not llm.is_loaded()
    thread = kit_py.preload(background=True)
    assert thread is not None
    thread.join(30)
    assert llm.is_loaded()
    monkeypatch.setattr(client, "_litellm", None)
    assert kit_py.preload() is None and llm.is_loaded()
