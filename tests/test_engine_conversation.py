"""The engine's `Conversation` in-process against the scripted provider: the operations every face
(print mode, REPL, API) calls, checked on what the provider receives and what the file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kit_py.config import Settings
from kit_py.engine import events
from kit_py.engine.conversation import Conversation, user_message
from kit_py.engine.turn import TurnFailed
from kit_py.session import SessionManager, message_text


def conversation_in(folder: Path, provider: Any, **options: Any) -> Conversation:
    settings = Settings(model="openai/scripted", api_base=provider.base_url, system_prompt="Be brief.")
    settings.max_retries = 0
    return Conversation.create(settings, str(folder), home=folder / "home", **options)


def sent_texts(provider: Any) -> list[str]:
    return [m["content"] for m in provider.last_messages()]


def test_undo_retry_fork_and_reset_move_the_leaf_and_keep_every_line(tmp_path, provider, monkeypatch):
    monkeypatch.setenv("KIT_RETRY_BASE_DELAY", "0.01")
    seen: list[events.Event] = []
    conv = conversation_in(tmp_path, provider, on_event=seen.append)
    provider.reply("one")
    provider.reply("two")
    conv.run("first")
    conv.run("second")
    assert sent_texts(provider) == ["Be brief.", "first", "one", "second"]
    assert [type(e) for e in seen if not isinstance(e, events.TextDelta)] == [events.StepDone] * 2

    undone = conv.undo()
    assert undone is not None and message_text(undone) == "second"
    provider.reply("again")
    conv.run("second, reworded")
    assert sent_texts(provider) == ["Be brief.", "first", "one", "second, reworded"]

    provider.reply("retried")
    assert conv.retry() is not None
    assert sent_texts(provider) == ["Be brief.", "first", "one", "second, reworded"]
    assert conv.path is not None
    reopened = SessionManager.open(conv.path)
    users = [message_text(e) for e in reopened.entries if e.get("role") == "user"]
    assert users == ["first", "second", "second, reworded", "second, reworded"], "nothing is deleted"
    assert message_text(reopened.path_entries()[-1]) == "retried"  # the leaf survives a reopen

    first_answer = next(e for e in reopened.entries if message_text(e) == "one")
    conv.label(first_answer["id"], "good start")
    fork = conv.fork(first_answer["id"])
    assert fork.path is not None and fork.path != conv.path
    assert fork.session.header["parent_session_id"] == conv.id
    assert [message_text(m) for m in fork.messages()] == ["Be brief.", "first", "one"]
    provider.reply("forked")
    fork.run("a different second")
    assert sent_texts(provider) == ["Be brief.", "first", "one", "a different second"]
    assert SessionManager.open(conv.path).labels == {first_answer["id"]: "good start"}
    clone = conv.clone()
    assert clone.path is not None and clone.path.parent == conv.path.parent
    assert [message_text(m) for m in clone.messages()] == [message_text(m) for m in conv.messages()]

    conv.reset()
    provider.reply("fresh")
    conv.run("start over")
    assert sent_texts(provider) == ["Be brief.", "start over"], "a reset keeps the system prompt"


def test_failure_policies_keep_or_step_back_and_never_replay_the_error(tmp_path, provider):
    keep = conversation_in(tmp_path / "keep", provider)
    discard = conversation_in(tmp_path / "discard", provider, failure_policy="discard")
    for conv in (keep, discard):
        provider.reply("ok")
        conv.run("hello")
        provider.error(401)
        with pytest.raises(TurnFailed):
            conv.run("doomed")
    assert [message_text(m) for m in keep.messages()][-2:] == ["doomed", ""]  # prompt + error answer
    assert [message_text(m) for m in discard.messages()] == ["Be brief.", "hello", "ok"]
    for conv in (keep, discard):
        assert conv.path is not None
        assert any(message_text(e) == "doomed" for e in SessionManager.open(conv.path).entries)
        provider.reply("fine")
        conv.run("next")
        sent = sent_texts(provider)
        assert "" not in sent[1:] and sent[-1] == "next"  # the failed answer is never sent


def test_a_model_switch_is_recorded_at_once_and_restored_on_resume(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    conv.set_model("openai/other")  # an empty session gets no file just for this
    assert conv.path is not None and not conv.path.exists()
    provider.reply("hi")
    conv.run(user_message("hello"))
    conv.set_thinking_level("high")
    conv.close()
    resumed = Conversation.open(conv.path, Settings())
    assert (resumed.settings.model, resumed.settings.thinking_level) == ("openai/other", "high")
    assert resumed.system_prompt == "Be brief."
