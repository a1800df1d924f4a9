"""A reloaded session is the session it was: safe mode, endpoint, tools, options, the model with its
real provider, channel settings; stores keep a session under its key; two writers never clobber."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kit_py import Agent, Session
from kit_py.api import RestoreWarning, channel_dir, channel_settings, configure_channel
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore, SQLiteStore
from kit_py.errors import SessionConflictError
from tests.anthropic_provider import AnthropicProvider
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)
from tests.test_api_stores import KeyValueStore


def test_a_reloaded_session_keeps_safe_mode_endpoint_tools_and_options(api, monkeypatch):
    session = Session.create(
        channel="ops",
        safe_mode=True,
        tools=["write", "ls"],
        temperature=0.3,
        thinking_level="low",
        seed=7,
        api_key="sk-secret-never-stored",
    )
    api.reply("Ready.")
    session.send("hello")
    monkeypatch.delenv("KIT_API_BASE")  # the endpoint must come from the session itself

    with warnings.catch_warnings():
        warnings.simplefilter("error", RestoreWarning)  # nothing is lost: no warning
        for loaded in (Session.load(session.id), Session.from_dict(session.to_dict())):
            assert loaded.safe_mode is True
            assert [t.name for t in loaded.agent.tools] == ["write", "ls"]
            assert (loaded.agent.temperature, loaded.agent.thinking_level) == (0.3, "low")
            assert (loaded.agent.api_base, loaded.agent.llm_options) == (api.base_url, {"seed": 7})
            assert loaded.agent.api_key is None

    loaded = Session.load(session.id, api_key="sk-test")
    api.reply(tool_calls=[{"id": "w", "name": "write", "arguments": {"path": "x.md", "content": "x"}}])
    api.reply("Not allowed.")
    result = loaded.send("write x.md")
    assert not Path("x.md").exists(), "safe mode survived the reload: no approve callback, refused"
    assert [a.answer for a in result.approvals] == ["refused"]
    body = api.chat_requests[-1]["body"]
    assert (body["temperature"], body["seed"], body["reasoning_effort"]) == (0.3, 7, "low")
    [path] = channel_dir("ops").glob("*.jsonl")
    assert "sk-secret" not in path.read_text() and "sk-test" not in path.read_text()


def test_what_cannot_be_restored_is_named_in_a_warning(api):
    def lookup(key: str) -> str:
        """Look a key up."""
        return key

    agent = Agent(
        tools=[lookup, "read"],
        safe_mode=True,
        approve=lambda call: True,
        extra_headers={"Authorization": "Bearer sk-header-secret"},
    )
    data = agent.session().to_dict()
    assert "sk-header-secret" not in json.dumps(data), "credentials in options are never recorded"
    with pytest.warns(RestoreWarning) as caught:
        restored = Session.from_dict(data)
    said = " ".join(str(w.message) for w in caught)
    assert "tool(s) lookup" in said and "tools=[...]" in said
    assert "approve callback, which cannot be restored" in said
    assert "option(s) extra_headers were not recorded" in said
    assert [t.name for t in restored.agent.tools] == ["read"] and restored.safe_mode is True

    with warnings.catch_warnings():
        warnings.simplefilter("error", RestoreWarning)
        headers = {"Authorization": "Bearer sk-header-secret"}
        given = Agent(tools=[lookup, "read"], extra_headers=headers)  # all of it given again: no warning
        again = Session.from_dict(data, given, approve=lambda call: True)
    assert again.safe_mode is True, "the recorded safe mode wins over an agent that says nothing"


def test_a_bare_model_name_gets_its_provider_from_litellm_and_keeps_it(api, monkeypatch):
    anthropic = AnthropicProvider().start()
    try:
        anthropic.reply("Hello from Claude.")
        session = Session.create(
            channel="claude", model="claude-opus-4-6", api_base=anthropic.base_url, api_key="sk-ant-test"
        )
        assert session.send("hi").text == "Hello from Claude."
        assert anthropic.requests[-1]["path"].endswith("/v1/messages")
        changes = [e for e in session.entries if e["type"] == "model_change"]
        assert [(c["provider"], c["model_id"]) for c in changes] == [("anthropic", "claude-opus-4-6")]
        answer = [e for e in session.entries if e.get("role") == "assistant"][-1]
        assert answer["provider"] == "anthropic"
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        assert Session.load(session.id).model == "anthropic/claude-opus-4-6"
    finally:
        anthropic.stop()


def test_new_sessions_in_a_channel_inherit_its_settings(api):
    settings = configure_channel(
        "support", model="openai/support-model", system_prompt="You help.", safe_mode=True, tools=["write"]
    )
    assert channel_settings("support") == settings
    assert configure_channel("support", thinking_level="low").system_prompt == "You help.", "merged"
    session = Session.create(channel="support")
    assert (session.model, session.system, session.safe_mode, session.channel) == (
        "openai/support-model",
        "You help.",
        True,
        "support",
    )
    assert [t.name for t in session.agent.tools] == ["write"]
    api.reply("Hi.")
    session.send("hello")
    body = api.chat_requests[-1]["body"]
    assert (body["model"], body["messages"][0]["content"]) == ("support-model", "You help.")
    assert Session.create(channel="support", safe_mode=False, system_prompt="Other.").safe_mode is False
    with pytest.raises(ValueError, match="unknown tool"):
        configure_channel("support", tools=["teleport"])


STORES: dict[str, Callable[[Path], SessionStore]] = {
    "memory": lambda tmp: MemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(tmp / "s.db"),
    "jsonl": lambda tmp: JSONLStore(tmp / "files"),
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    yield STORES[request.param](tmp_path)


def test_a_session_saved_under_a_key_loads_back_under_that_key(api, store):
    original = Agent().session(session_id="original", store=MemoryStore())
    api.reply("Hi.")
    original.run("hello")
    store.save("renamed", original.to_dict())
    assert store.list_sessions() == ["renamed"]
    assert store.load("renamed")["header"]["id"] == "renamed"
    again = Agent().session(session_id="renamed", store=store)
    assert again.id == "renamed" and [m.text for m in again.messages] == ["hello", "Hi."]
    api.reply("Again.")
    again.run("more")
    assert store.list_sessions() == ["renamed"], "its turns went to the key it was loaded from"


@pytest.mark.parametrize("make", [MemoryStore, lambda: KeyValueStore()], ids=["memory", "custom"])
def test_two_session_objects_on_one_id_raise_instead_of_overwriting(api, make, tmp_path):
    for store in (make(), SQLiteStore(tmp_path / f"{id(make)}.db")):
        first = Agent(store=store).session(session_id="shared")
        second = Agent(store=store).session(session_id="shared")
        api.reply("First.")
        first.run("from the first")
        with pytest.raises(SessionConflictError, match="'shared' was written by someone else"):
            second.run("from the second")
        kept = Agent(store=store).session(session_id="shared")
        assert [m.text for m in kept.messages] == ["from the first", "First."], "nothing was lost"
        assert json.dumps(store.load("shared")).count("from the second") == 0
