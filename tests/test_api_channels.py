"""Channels: persisted sessions by name, found again by id, listed and searched by content."""

from __future__ import annotations

import os
import time

import pytest

from kit_py import Session
from kit_py.api.session import channel_dir
from kit_py.errors import SessionError, SessionExistsError
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)


def test_create_send_load_history_and_search(api):
    first = Session.create(channel="research", system_prompt="You research things.")
    api.reply("GARCH models volatility clustering.")
    first.send("Tell me about GARCH")
    first.name = "garch notes"
    second = Session.create(channel="research", model="openai/other-model")
    api.reply("Kalman filters estimate hidden state.")
    second.send("And Kalman filters?")
    elsewhere = Session.create(channel="support")
    api.reply("Your refund mentions garch, oddly.")
    elsewhere.send("Refund please")
    files = sorted(channel_dir("research").glob("*.jsonl"))
    assert len(files) == 2
    os.utime(files[0], (time.time() + 5, time.time() + 5))  # whichever file, make it the newest
    newest_id = next(s.id for s in (first, second) if s.id in files[0].read_text())

    history = Session.history("research")
    assert [h.id for h in history][0] == newest_id and {h.id for h in history} == {first.id, second.id}
    by_id = {h.id: h for h in history}
    assert (by_id[first.id].name, by_id[first.id].preview) == ("garch notes", "Tell me about GARCH")
    assert by_id[second.id].message_count == 2 and by_id[second.id].channel == "research"

    assert {s.id for s in Session.search("GaRcH")} == {first.id, elsewhere.id}
    assert [s.id for s in Session.search("garch", channel="research")] == [first.id]
    assert Session.search("no such words") == []

    loaded = Session.load(second.id)
    assert loaded.agent.model == "openai/other-model"
    api.reply("They are linear-Gaussian.")
    loaded.send("Assumptions?")
    assert api.chat_requests[-1]["body"]["model"] == "other-model"
    again = Session.load(second.id, channel="research")
    assert [m.text for m in again.messages][-2:] == ["Assumptions?", "They are linear-Gaussian."]
    assert Session.load(first.id).system == "You research things."


def test_unknown_sessions_and_bad_channel_names(api):
    with pytest.raises(SessionError, match="nope"):
        Session.load("nope")
    Session.create(channel="taken", session_id="fixed-id", system_prompt="first")
    with pytest.raises(SessionExistsError, match="fixed-id"):
        Session.create(channel="taken", session_id="fixed-id", system_prompt="second")
    assert Session.load("fixed-id", channel="taken").system == "first"
    assert len(list(channel_dir("taken").glob("*.jsonl"))) == 1
    assert Session.history("empty") == []
    for bad in ("../escape", "", ".hidden", "a/b"):
        with pytest.raises(ValueError, match="channel name"):
            Session.create(channel=bad)
