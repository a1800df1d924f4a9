"""The Python API on the real local model (`Agent(model="local")`): compaction writes a summary entry, a
fork diverges, structured output and a forced tool call are held to their schema by the server's
grammar. Structure and persistence only, never wording."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from kit_py import Agent, Message, tool
from kit_py.api import JSONLStore

pytestmark = pytest.mark.local_model

@pytest.fixture
def agent(kit_env, workdir):
    with Agent(model="local", max_tokens=24, cwd=str(workdir), store=JSONLStore()) as made:
        yield made


LOG = " ".join(f"Day {i}: the keeper logged calm weather, two ships and a high tide." for i in range(50))
"""About 850 tokens: more than the longest summary the local model may write (409 tokens: 80% of its
512-token answers), so compacting it always shrinks the context."""


def test_compact_writes_a_summary_entry_and_the_next_turn_goes_on_from_it(agent):
    session = agent.session()
    session.add_message(Message.user(f"Here is my lighthouse log. {LOG}"))
    session.add_message(Message.assistant("Noted."))
    session.add_message(Message.user("My dog is called Rex."))
    session.add_message(Message.assistant("Rex is a fine name."))

    summary = session.compact()

    assert summary and summary.strip()
    [compaction] = [e for e in session.entries if e.get("type") == "compaction"]
    assert compaction["summary"] == summary
    assert compaction["tokens_before"] > compaction["tokens_after"]
    kept = next(e for e in session.entries if e.get("id") == compaction["first_kept_entry_id"])
    assert kept.get("role") == "user" and "Rex" in kept["parts"][0]["data"]["text"]  # the last turn stays
    after = session.run("What is my dog called?")
    assert after.text.strip()
    assert after.usage.input_tokens < compaction["tokens_before"]  # the summary went, not the whole log


def test_a_fork_holds_the_conversation_so_far_and_then_diverges(agent):
    session = agent.session()
    session.run("Remember the word apple.")
    fork = session.fork()
    fork.run("Now remember pear.")
    users = [m.text for m in fork.messages if m.role == "user"]
    assert users == ["Remember the word apple.", "Now remember pear."]
    assert [m.text for m in session.messages if m.role == "user"] == ["Remember the word apple."]
    assert fork.id != session.id


class City(BaseModel):
    name: str
    population: int


def test_structured_output_is_valid_json_of_the_schema(kit_env, workdir):
    with Agent(model="local", max_tokens=64, cwd=str(workdir), store=JSONLStore()) as agent:
        result = agent.session().json("Name a large city and its population.", City, retries=0)
    assert isinstance(result.output, City)


@tool
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def test_a_forced_tool_call_runs_with_arguments_of_its_schema(kit_env, workdir):
    forced = {"type": "function", "function": {"name": "add"}}
    with Agent(
        model="local", tools=[add], max_steps=1, max_tokens=64, cwd=str(workdir), store=JSONLStore(),
        llm_options={"tool_choice": forced},
    ) as agent:  # fmt: skip
        result = agent.session().run("What is 2 plus 3? Use the add tool.")
    [call] = result.tool_calls
    assert call["name"] == "add"
    assert isinstance(call["arguments"]["a"], int) and isinstance(call["arguments"]["b"], int)
    [answer] = [m for m in result.messages if m.role == "tool"]
    assert answer.text == str(call["arguments"]["a"] + call["arguments"]["b"])
