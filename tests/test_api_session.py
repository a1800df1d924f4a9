"""The Python API against the scripted provider: the issue's snippet as written, turns, streams, errors."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel

from kit_py import Agent, Message, Session
from kit_py.errors import (
    AgentError,
    AuthError,
    ContextOverflowError,
    IncompleteResponseError,
    MissingAPIKeyError,
    ProviderError,
    RateLimitError,
    StructuredOutputError,
)
from tests.api_support import api_fixture, run_source  # noqa: F401  (fixture `api`)

ISSUE_SNIPPET = (Path(__file__).parent / "api_issue7_snippet.txt").read_text()
"""The issue's snippet, verbatim."""


class SummaryModel(BaseModel):
    key_points: list[str]


def test_issue_snippet_runs_as_written(api, capsys):
    api.reply("Noted, Alice.")
    api.reply("Alice.")
    api.reply("An explanation.")
    api.reply("Coroutines yield control.")
    api.reply("Once upon a time, a tree grew.", chunk_size=5)
    api.reply("Roses are red.")
    api.reply('```json\n{"key_points": ["trees", "roses"]}\n```')
    # The issue's excerpt uses SummaryModel and Session without defining/importing them.
    namespace: dict = {"SummaryModel": SummaryModel, "Session": Session}
    run_source(ISSUE_SNIPPET, namespace)

    assert capsys.readouterr().out == "Alice.\nOnce upon a time, a tree grew."
    requests = [r["body"] for r in api.chat_requests]
    assert len(requests) == 7 and api.pending == 0
    assert requests[1]["model"] == "gpt-4o"
    assert requests[1]["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "My name is Alice"},
        {"role": "assistant", "content": "Noted, Alice."},
        {"role": "user", "content": "What is my name?"},
    ]
    assert requests[2]["temperature"] == 0.7 and requests[2]["max_tokens"] == 500
    assert "temperature" not in requests[3], "per-call options must not leak into later turns"
    assert requests[6]["response_format"]["json_schema"]["schema"]["required"] == ["key_points"]
    assert namespace["r"].output == SummaryModel(key_points=["trees", "roses"])

    session, alt, restored = namespace["session"], namespace["alt"], namespace["restored"]
    assert [(m.role, m.text) for m in session.messages] == [("user", "hi"), ("assistant", "hello")]
    assert session.system == "You are terse."
    assert alt.id == "alternative-plan"
    assert [(m.role, m.text) for m in restored.messages] == [("user", "hi"), ("assistant", "hello")]
    assert restored.to_dict() == namespace["data"]

    api.reply("Forked answer.")
    alt.run("Only in the fork")
    assert [m.text for m in alt.messages] == ["hi", "hello", "Only in the fork", "Forked answer."]
    assert [m.text for m in session.messages] == ["hi", "hello"], "the original is unchanged"
    assert api.last_messages()[0] == {"role": "system", "content": "You are terse."}


def test_messages_are_copies_and_seeded_sessions_send_their_history(api):
    agent = Agent()
    session = agent.session(messages=[Message.user("Capital of France?"), Message.assistant("Paris.")])
    session.messages[0].parts[0]["data"]["text"] = "tampered"
    api.reply("About 2.1 million.")
    result = session.run("And its population?")
    assert str(result) == "About 2.1 million."
    assert [m.role for m in result.messages] == ["user", "assistant"]
    assert result.usage.output_tokens > 0 and result.session_id == session.id
    assert api.last_messages() == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And its population?"},
    ]


def test_provider_and_litellm_options_pass_through(api):
    agent = Agent("scripted", provider="openai", seed=7, frequency_penalty=0.25)
    api.reply("ok")
    agent.session().run("hi", top_p=0.5)
    body = api.chat_requests[-1]["body"]
    assert body["model"] == "scripted"
    assert (body["seed"], body["frequency_penalty"], body["top_p"]) == (7, 0.25, 0.5)


def test_clear_keeps_the_system_prompt_and_forgets_the_rest(api):
    session = Agent(system="Be kind.").session()
    api.reply("one")
    session.run("first")
    session.clear()
    assert session.messages == [] and session.system == "Be kind."
    api.reply("two")
    session.run("second")
    assert api.last_messages() == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "second"},
    ]


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (lambda p: p.error(401), AuthError),
        (lambda p: p.error(429, times=2), RateLimitError),
        (lambda p: p.error(503, times=2), ProviderError),
        (lambda p: p.reply("half an answer that never ends", drop_after=3), IncompleteResponseError),
    ],
    ids=["auth", "rate-limit", "server-error", "dropped-stream"],
)
def test_a_failed_turn_raises_an_agent_error_and_adds_nothing(api, script, error):
    store_agent = Agent(max_retries=1, auto_compact=False)
    session = store_agent.session()
    api.reply("first answer")
    session.run("first question")
    before_messages = session.messages
    script(api)
    with pytest.raises(error) as caught:
        session.run("doomed question")
    assert isinstance(caught.value, AgentError)
    assert session.messages == before_messages
    stored = store_agent.store.load(session.id)
    assert Session.from_dict(stored, store_agent).messages == before_messages, "the branch reads as before"
    messages = [Message.from_dict(e) for e in stored["entries"] if e["type"] == "message"]
    kept = [m.text for m in messages if m.role == "user"]
    assert "doomed question" in kept, "the failed attempt stays in the store, off the branch"
    api.reply("recovered")
    session.run("next question")
    assert [m["content"] for m in api.last_messages()] == ["first question", "first answer", "next question"]


def test_context_overflow_that_compaction_cannot_fix_raises_and_adds_nothing(api):
    session = Agent(auto_compact=False).session()
    api.reply("first answer")
    session.run("first question")
    before = session.messages
    for _ in range(3):  # the engine may compact and retry once before giving up
        api.context_overflow()
    with pytest.raises(ContextOverflowError):
        session.run("a question far too long")
    assert session.messages == before
    assert Session.from_dict(session.agent.store.load(session.id)).messages == before


def test_stream_yields_reasoning_text_and_done_with_the_result(api):
    session = Agent().session()
    api.reply("The answer.", reasoning="Let me think.", chunk_size=4)
    events = list(session.stream("Why?"))
    kinds = [e.type for e in events]
    assert kinds[0] == "reasoning_delta" and kinds[-1] == "done"
    assert "".join(e.text for e in events if e.type == "reasoning_delta") == "Let me think."
    assert "".join(e.text for e in events if e.type == "text_delta") == "The answer."
    done = events[-1]
    assert done.result is not None and done.result.text == "The answer."
    assert session.messages[-1].reasoning == "Let me think."


def test_stream_failure_raises_from_the_iterator_and_keeps_messages(api):
    session = Agent(max_retries=0).session()
    api.error(500)
    with pytest.raises(AgentError):
        list(session.stream("hello"))
    assert session.messages == []


def test_async_stream_and_run_work_in_one_event_loop(api):
    session = Agent().session()
    api.reply("streamed", chunk_size=3)
    api.reply("awaited")

    async def main() -> tuple[list[str], str]:
        texts = [ev.text async for ev in await session.stream_async("a") if ev.type == "text_delta"]
        result = await session.run_async("b")
        return texts, result.text

    texts, text = asyncio.run(main())
    assert "".join(texts) == "streamed" and text == "awaited"
    assert [m.text for m in session.messages] == ["a", "streamed", "b", "awaited"]


class Verdict(BaseModel):
    ok: bool
    score: int


def test_json_finds_json_in_prose_and_puts_the_schema_in_the_prompt(api):
    session = Agent().session()
    api.reply('Sure! Here it is: {"ok": true, "score": 3} Hope that helps.')
    result = session.json("Rate it", schema=Verdict)
    assert result.output == Verdict(ok=True, score=3)
    prompt = api.last_messages()[-1]["content"]
    assert prompt.startswith("Rate it\n\n") and '"score"' in prompt


def test_json_retries_once_with_the_validation_error(api):
    session = Agent().session()
    api.reply('{"ok": true}')
    api.reply('{"ok": true, "score": 9}')
    result = session.json("Rate it", schema=Verdict)
    assert result.output.score == 9
    retry_prompt = api.last_messages()[-1]["content"]
    assert "score" in retry_prompt and "did not match" in retry_prompt
    assert len(result.messages) == 4 and len(session.messages) == 4


def test_json_that_never_validates_raises_and_leaves_the_session_unchanged(api):
    session = Agent().session()
    api.reply("no json here")
    api.reply('{"ok": "maybe", "score": "high"}')
    with pytest.raises(StructuredOutputError, match="Verdict"):
        session.json("Rate it", schema=Verdict)
    assert session.messages == []
    assert api.pending == 0


def test_json_with_a_json_schema_dict_returns_checked_plain_json(api):
    schema = {
        "title": "Verdict",
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "score": {"type": "integer"}},
        "required": ["ok", "score"],
    }
    session = Agent().session()
    api.reply('{"ok": true, "score": "high"}')
    api.reply('```json\n{"ok": true, "score": 3}\n```')
    result = session.json("Rate it", schema=schema)
    assert result.output == {"ok": True, "score": 3}
    sent = api.chat_requests[0]["body"]["response_format"]["json_schema"]
    assert sent == {"name": "Verdict", "schema": schema}
    retry_prompt = api.last_messages()[-1]["content"]
    assert "score: 'high' is not of type 'integer'" in retry_prompt

    with pytest.raises(ValueError, match="not a valid JSON schema"):
        session.json("Rate it", schema={"type": "no-such-type"})
    with pytest.raises(TypeError, match="pydantic model class .* or a JSON schema dict"):
        session.json("Rate it", schema=3)
    assert len(session.messages) == 4 and api.pending == 0


def test_to_dict_from_dict_round_trip_without_an_agent_uses_the_recorded_model(api):
    session = Agent("openai/first-model", system="sys").session(session_id="abc")
    api.reply("hello")
    session.run("hi")
    session.name = "greeting"
    data = session.to_dict()
    assert json.loads(json.dumps(data)) == data
    restored = Session.from_dict(data)
    assert restored.agent.model == "openai/first-model"
    assert (restored.id, restored.name, restored.system) == ("abc", "greeting", "sys")
    assert restored.to_dict() == data
    data["entries"].clear()
    assert len(restored.messages) == 2, "from_dict copies its input"
    api.reply("again")
    restored.run("more")
    assert api.chat_requests[-1]["body"]["model"] == "first-model"
    assert len(session.messages) == 2


def test_concurrent_turns_on_one_session_take_turns(api):
    session = Agent().session()
    api.reply("first reply", chunk_size=2, delay=0.01)
    api.reply("second reply", chunk_size=2, delay=0.01)
    threads = [threading.Thread(target=session.run, args=(f"q{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    roles = [m.role for m in session.messages]
    assert roles == ["user", "assistant", "user", "assistant"]
    texts = [m.text for m in session.messages]
    assert sorted(texts[::2]) == ["q0", "q1"] and texts[1::2] == ["first reply", "second reply"]


def test_a_missing_api_key_fails_before_any_request(api, monkeypatch):
    monkeypatch.delenv("KIT_API_BASE")
    session = Agent("openai/gpt-4o").session()
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        session.run("hello")
    assert session.messages == [] and api.chat_requests == []


def test_agent_run_is_a_one_off_session(api):
    api.reply("42")
    assert str(Agent().run("meaning of life?")) == "42"
