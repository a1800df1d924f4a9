"""The API fails closed and says clearly what is wrong: approvals, keyword arguments, message dicts,
session data, error details and wording, and no process-wide side effects."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from pathlib import Path

import httpx
import pytest

from kit_py import Agent, ApprovalAnswer, Message, Session, tool
from kit_py.errors import AuthError, MissingAPIKeyError, RateLimitError, ToolError
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)


def script_a_write(api) -> None:
    api.reply(tool_calls=[{"id": "w", "name": "write", "arguments": {"path": "plan.md", "content": "x"}}])
    api.reply("done")


@pytest.mark.parametrize("answer", ["no", "deny", "yes", "Approved", 1, None, 0.0])
def test_an_approve_callback_s_ambiguous_answer_runs_nothing_and_fails_the_turn(api, answer):
    session = Agent(tools=["write"]).session(safe_mode=True, approve=lambda call: answer)
    script_a_write(api)
    with pytest.raises(ToolError, match=f"answered {answer!r} for write; nothing was run") as raised:
        session.run("write the plan")
    assert "ApprovalAnswer" in str(raised.value)
    assert not Path("plan.md").exists()
    assert session.messages == []


def test_async_approve_callbacks_are_awaited_in_sync_and_async_calls(api):
    asked: list[str] = []

    async def deny_writes(call) -> bool:
        await asyncio.sleep(0)
        asked.append(call.tool)
        return False

    session = Agent(tools=["write"]).session(safe_mode=True, approve=deny_writes)
    script_a_write(api)
    result = session.run("write the plan")
    assert asked == ["write"] and not Path("plan.md").exists()
    assert [(a.tool, a.approved, a.answer) for a in result.approvals] == [("write", False, "denied")]

    async def allow_once(call) -> ApprovalAnswer:
        return ApprovalAnswer.APPROVE

    session.approve = allow_once
    script_a_write(api)
    result = asyncio.run(session.run_async("write it now"))
    assert Path("plan.md").read_text() == "x"
    assert [a.answer for a in result.approvals] == ["approved"]


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        (lambda s: s.run("hi", temprature=0.2), "temprature"),
        (lambda s: asyncio.run(s.run_async("hi", max_token=5)), "max_token"),
        (lambda s: s.stream("hi", sytem="x"), "sytem"),
        (lambda s: s.json("hi", schema=dict, retry=2), "retry"),
    ],
    ids=["run", "run_async", "stream", "json"],
)
def test_unknown_keywords_raise_type_error_before_anything_is_sent(api, call, bad):
    session = Agent().session()
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{bad}'.*llm_options"):
        call(session)
    assert api.chat_requests == [] and session.messages == []


def test_agent_keywords_are_checked_and_provider_extras_go_through_llm_options(api):
    with pytest.raises(TypeError, match="'sytem' \\(did you mean 'system'\\?\\)"):
        Agent(sytem="Be brief.")
    with pytest.raises(ValueError, match="thinking_level must be one of off, minimal"):
        Agent(thinking_level="max")
    agent = Agent(seed=7, llm_options={"custom_flag": "on"})
    api.reply("ok")
    agent.session().run("hi", top_p=0.5, llm_options={"extra_body_field": 1})
    body = api.chat_requests[-1]["body"]
    assert (body["seed"], body["top_p"], body["custom_flag"], body["extra_body_field"]) == (7, 0.5, "on", 1)


def test_stream_sends_images_as_picture_parts(api):
    png = base64.b64encode(b"\x89PNG fake picture").decode()
    session = Agent().session()
    api.reply("A red square.")
    events = list(session.stream("What is this?", images=[{"data": png, "media_type": "image/png"}]))
    assert events[-1].text == "A red square."
    body = api.chat_requests[-1]["body"]
    assert "images" not in body
    content = body["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["image_url"]["url"] == f"data:image/png;base64,{png}"


@tool
async def shout(text: str) -> str:
    """Shout the text."""
    await asyncio.sleep(0)
    return text.upper() + f" (loop running: {asyncio.get_running_loop() is not None})"


def test_an_async_tool_works_when_sync_run_is_called_inside_a_running_event_loop(api):
    session = Agent(tools=[shout]).session()

    async def handler() -> str:  # e.g. a FastAPI endpoint or a notebook cell calling sync code
        api.reply(tool_calls=[{"id": "t", "name": "shout", "arguments": {"text": "hey"}}])
        api.reply("It shouted.")
        return session.run("shout hey").text

    assert asyncio.run(handler()) == "It shouted."
    assert session.messages[2].text == "HEY (loop running: True)"


def test_an_async_tool_runs_on_the_callers_event_loop_in_async_calls(api):
    loops = []

    @tool
    async def where() -> str:
        """Which loop runs me."""
        loops.append(asyncio.get_running_loop())
        return "here"

    session = Agent(tools=[where]).session()

    async def main() -> asyncio.AbstractEventLoop:
        api.reply(tool_calls=[{"id": "t", "name": "where", "arguments": {}}])
        api.reply("Found it.")
        await session.run_async("where?")
        return asyncio.get_running_loop()

    assert loops == [asyncio.run(main())]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"messages": []}, "needs a header with an id"),
        ("not a dict", "not session data"),
        ({"format": 2, "header": {"id": "x"}, "entries": []}, "format 2"),
        ({"header": {"id": "x"}, "entries": "nope"}, "needs a list of entries"),
        ({"header": {"id": "x"}, "entries": [{"role": "user"}]}, "entry 0 .* needs `type` and `id`"),
        ({"header": {"id": "x"}, "entries": [], "leaf_id": "ghost"}, "'ghost' is none of its entries"),
    ],
)
def test_from_dict_refuses_what_is_not_session_data(data, message):
    with pytest.raises(ValueError, match=message):
        Session.from_dict(data, Agent("openai/scripted"))


def test_openai_style_message_dicts_are_accepted_or_refused_clearly(api):
    session = Agent().session(
        messages=[
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Paris."}]},
        ]
    )
    seeded = [(m.role, m.text) for m in session.messages]
    assert seeded == [("user", "Capital of France?"), ("assistant", "Paris.")]
    with pytest.raises(ValueError, match="a tool message needs `tool_call_id`"):
        session.add_message({"role": "tool", "content": "42"})
    with pytest.raises(ValueError, match="needs a role"):
        session.add_message({"content": "who am I?"})
    with pytest.raises(TypeError, match="not int"):
        session.add_message(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only inline images"):
        Message.from_dict({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]})
    assert len(session.messages) == 2, "nothing was added by the refused messages"


def test_a_missing_key_is_explained_in_python_terms(api, monkeypatch):
    monkeypatch.delenv("KIT_API_BASE")
    with pytest.raises(MissingAPIKeyError) as raised:
        Agent("openai/gpt-4o").session().run("hello")
    assert "set OPENAI_API_KEY, or pass api_key= to Agent" in str(raised.value)
    assert "--api-key" not in str(raised.value)
    assert (raised.value.provider, raised.value.env_vars) == ("openai", ("OPENAI_API_KEY",))


def test_errors_carry_the_http_status_the_provider_and_the_original_exception(api):
    session = Agent(max_retries=0).session()
    api.error(429)
    with pytest.raises(RateLimitError) as limited:
        session.run("hi")
    api.error(401)
    with pytest.raises(AuthError) as denied:
        session.run("hi")
    for error, status in ((limited.value, 429), (denied.value, 401)):
        assert (error.status, error.provider) == (status, "openai")
        assert type(error.__cause__).__module__.startswith("litellm"), error.__cause__
        assert getattr(error.__cause__, "status_code", None) == status


def test_kit_changes_no_process_wide_settings(api, tmp_path):
    import litellm

    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    httpx_logger = logging.getLogger("httpx")
    handler, level = Collect(), httpx_logger.level
    httpx_logger.addHandler(handler)
    httpx_logger.setLevel(logging.INFO)  # the application logs its own HTTP requests
    hf_offline = os.environ.get("HF_HUB_OFFLINE")
    try:
        api.reply("ok")
        Agent().session().run("hi")
        assert records == [], "kit's own requests are not logged"
        assert os.environ.get("HF_HUB_OFFLINE") == hf_offline
        assert litellm.drop_params is False
        assert httpx_logger.level == logging.INFO
        httpx.get(api.base_url + "/models")
        assert any("HTTP Request: GET" in r for r in records), "the application's own requests still are"
    finally:
        httpx_logger.removeHandler(handler)
        httpx_logger.setLevel(level)
