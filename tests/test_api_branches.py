"""What a session is (id, creation time, model, channel), what it cost, and its branches: listed,
moved between and labelled as in the CLI's tree, and kept across a reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kit_py import Agent, Session
from kit_py.api.stores import SQLiteStore
from kit_py.errors import RateLimitError
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)


def test_a_session_says_what_it_is(api):
    session = Agent("openai/gpt-4o").session(session_id="s-1")
    assert (session.session_id, session.id, session.model, session.channel) == (
        "s-1",
        "s-1",
        "openai/gpt-4o",
        None,
    )
    assert session.created is not None
    assert datetime.now(UTC) - session.created < timedelta(minutes=1)
    assert Session.create(channel="desk").channel == "desk"


def test_usage_and_cost_add_up_over_the_session_failed_attempts_included(api):
    session = Agent("openai/gpt-4o", max_retries=0).session()
    api.reply("One.", usage={"prompt_tokens": 100, "completion_tokens": 10})
    first = session.run("first")
    api.reply("Two.", usage={"prompt_tokens": 200, "completion_tokens": 20})
    second = session.run("second")
    api.reply("Half", usage={"prompt_tokens": 300, "completion_tokens": 30}, drop_after=3)
    with pytest.raises(Exception):  # noqa: B017 - the dropped stream; what matters is what it cost
        session.run("third")
    totals = session.usage
    assert (totals.input_tokens, totals.output_tokens, totals.answers) >= (300, 30, 3)
    assert first.usage.cost_usd is not None and second.usage.cost_usd is not None
    assert totals.cost_usd is not None and totals.cost_usd >= first.usage.cost_usd + second.usage.cost_usd


def test_branches_are_listed_moved_between_and_labelled(api, tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    session = Agent(store=store, max_retries=0).session(session_id="tree")
    api.reply("Paris.")
    session.run("Capital of France?")
    api.reply("About 2 million.")
    session.run("Population?")
    [only] = session.branches()
    assert (only.current, only.messages, only.last.text) == (True, 4, "About 2 million.")

    paris = session.messages[1].id
    assert paris is not None
    session.move_to(paris)
    assert [m.text for m in session.messages] == ["Capital of France?", "Paris."]
    api.reply("The Eiffel Tower.")
    session.run("Famous landmark?")
    api.error(429)
    with pytest.raises(RateLimitError):
        session.run("And another?")

    branches = session.branches()
    assert [(b.last.text, b.current) for b in branches] == [
        ("About 2 million.", False),
        ("The Eiffel Tower.", True),
        ("", False),  # the failed attempt: its prompt and empty error answer, kept off the branch
    ]
    population = branches[0]
    session.label(population.id, "population thread")
    session.move_to(population.id)
    assert [m.text for m in session.messages][-1] == "About 2 million."

    reloaded = Agent(store=store).session(session_id="tree")
    assert reloaded.leaf_id == population.id
    assert reloaded.labels == {population.id: "population thread"}
    assert [b.label for b in reloaded.branches()][0] == "population thread"
    api.reply("Still about 2 million.")
    reloaded.run("Sure?")
    assert [m["content"] for m in api.last_messages()][-3:] == ["Population?", "About 2 million.", "Sure?"]
    first_question = reloaded.messages[0]
    assert reloaded.move_to(str(first_question.id)) == "Capital of France?", "a prompt comes back to edit"
    assert reloaded.messages == []
    with pytest.raises(ValueError, match="no entry 'nope' in session tree"):
        reloaded.move_to("nope")
    with pytest.raises(ValueError, match="no entry"):
        reloaded.label("nope", "x")
