"""Prompt caching: breakpoints in the Anthropic request body, cache usage and cost, and where they show.

The provider is tests/anthropic_provider.py, a Messages API server reached through litellm's real
Anthropic client; OpenAI-format checks use the usual scripted provider.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from kit_py import Agent, llm
from kit_py.config import Settings
from kit_py.engine.conversation import Conversation
from kit_py.llm.caching import add_breakpoints
from kit_py.repl import stats
from kit_py.repl.app import Repl
from kit_py.repl.commands import COMMANDS
from kit_py.session import SessionManager
from tests.anthropic_provider import AnthropicProvider
from tests.conftest import session_files

CLAUDE = "anthropic/claude-sonnet-4-5"
KEY = {"ANTHROPIC_API_KEY": "sk-ant-test"}


@pytest.fixture
def anthropic() -> Iterator[AnthropicProvider]:
    server = AnthropicProvider().start()
    try:
        yield server
    finally:
        server.stop()


def _claude(run_kit, anthropic: AnthropicProvider, *args: str):
    result = run_kit("-m", CLAUDE, "--api-base", anthropic.base_url, *args, env=KEY, provider_flags=False)
    assert result.returncode == 0, result.stderr
    return result


def _marked(block: Any) -> bool:
    return isinstance(block, dict) and block.get("cache_control") == {"type": "ephemeral"}


def _breakpoints(body: dict[str, Any]) -> int:
    return json.dumps(body).count('"cache_control"')


def _answers(kit_env: dict[str, str]) -> list[dict[str, Any]]:
    (path,) = session_files(kit_env)
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [e for e in entries if e.get("type") == "message" and e.get("role") == "assistant"]


def _price(key: str) -> float:
    return float(llm.load_litellm().model_cost["claude-sonnet-4-5"][key])


def test_second_turn_marks_system_prompt_tools_and_latest_message(run_kit, anthropic, kit_env):
    anthropic.reply("first", input_tokens=3000, cache_creation_input_tokens=0, output_tokens=10)
    _claude(run_kit, anthropic, "--system-prompt", "You are terse.", "hi")
    anthropic.reply("second", input_tokens=20, cache_read_input_tokens=2800, cache_creation_input_tokens=200)
    second = _claude(run_kit, anthropic, "-c", "--json", "again")

    assert [r["path"] for r in anthropic.requests] == ["/v1/messages", "/v1/messages"]
    body = anthropic.bodies[1]
    assert body["system"][-1]["text"] == "You are terse." and _marked(body["system"][-1])
    latest = body["messages"][-1]
    assert latest["role"] == "user" and latest["content"][-1]["text"] == "again"
    assert _marked(latest["content"][-1])
    # the end of the previous request (the first prompt) too, so this request reads what that one wrote
    assert body["messages"][0]["content"][-1]["text"] == "hi" and _marked(body["messages"][0]["content"][-1])
    assert not any(_marked(b) for b in body["messages"][1]["content"])  # the answer in between
    if body.get("tools"):  # tool definitions: the last one closes the cached tools prefix
        assert _marked(body["tools"][-1]) and not any(_marked(t) for t in body["tools"][:-1])
    assert _breakpoints(body) <= 4  # Anthropic's limit
    assert _marked(anthropic.bodies[0]["messages"][-1]["content"][-1])  # the first turn marks its end too

    usage = json.loads(second.stdout)["usage"]
    assert usage["input_tokens"] == 20 + 2800 + 200  # every prompt token, cached or not
    assert (usage["cache_read_tokens"], usage["cache_creation_tokens"]) == (2800, 200)
    expected = (
        20 * _price("input_cost_per_token")
        + 2800 * _price("cache_read_input_token_cost")
        + 200 * _price("cache_creation_input_token_cost")
        + 5 * _price("output_cost_per_token")
    )
    assert usage["cost_usd"] == pytest.approx(expected)
    uncached = 3020 * _price("input_cost_per_token") + 5 * _price("output_cost_per_token")
    assert usage["cost_usd"] < 0.4 * uncached  # cache reads are a tenth of the input price

    stored = _answers(kit_env)
    assert stored[-1]["usage"]["cache_read_tokens"] == 2800
    assert stored[-1]["usage"]["cache_creation_tokens"] == 200
    assert stored[-1]["usage"]["cost_usd"] == pytest.approx(expected)


def test_caching_false_in_config_sends_no_breakpoints(run_kit, anthropic, workdir):
    (workdir / ".kit.yml").write_text("caching: false\n")
    _claude(run_kit, anthropic, "--system-prompt", "You are terse.", "hi")
    _claude(run_kit, anthropic, "-c", "again")
    assert len(anthropic.bodies) == 2
    assert all(_breakpoints(body) == 0 for body in anthropic.bodies)

    (workdir / ".kit.yml").write_text("caching: sometimes\n")
    result = run_kit("-m", CLAUDE, "--api-base", anthropic.base_url, "hi", env=KEY, provider_flags=False)
    assert result.returncode == 2
    assert "caching must be true or false" in result.stderr
    assert len(anthropic.bodies) == 2


def test_agent_caching_false_turns_breakpoints_off_and_run_usage_has_cache_reads(anthropic):
    cached = Agent(CLAUDE, api_base=anthropic.base_url, api_key="sk-ant-test", system="Be brief.")
    anthropic.reply("one", input_tokens=5, cache_read_input_tokens=1000, output_tokens=2)
    result = cached.session().run("hi")
    assert (result.usage.cache_read_tokens, result.usage.input_tokens) == (1000, 1005)
    assert _marked(anthropic.bodies[-1]["system"][-1])

    plain = Agent(
        CLAUDE, api_base=anthropic.base_url, api_key="sk-ant-test", system="Be brief.", caching=False
    )
    plain.session().run("hi")
    assert _breakpoints(anthropic.bodies[-1]) == 0


def test_openai_models_get_no_breakpoints_and_their_cached_tokens_are_recorded(run_kit, provider):
    provider.reply("a")
    provider.reply(
        "b",
        usage={
            "prompt_tokens": 2000,
            "completion_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": 1536},
        },
    )
    assert run_kit("--system-prompt", "You are terse.", "hi").returncode == 0
    result = run_kit("-c", "--json", "again")
    assert result.returncode == 0, result.stderr
    assert all("cache_control" not in json.dumps(body) for body in provider.chat_requests)
    usage = json.loads(result.stdout)["usage"]
    assert (usage["input_tokens"], usage["cache_read_tokens"], usage["cache_creation_tokens"]) == (
        2000,
        1536,
        0,
    )


def test_usage_command_and_status_line_show_cache_reads(run_kit, anthropic, kit_env, monkeypatch):
    anthropic.reply("first", input_tokens=1000, cache_creation_input_tokens=1000, output_tokens=10)
    _claude(run_kit, anthropic, "hi")
    anthropic.reply("second", input_tokens=100, cache_read_input_tokens=1800, cache_creation_input_tokens=100)
    _claude(run_kit, anthropic, "-c", "again")

    (path,) = session_files(kit_env)
    repl = Repl(Conversation(SessionManager.open(path), Settings(model=CLAUDE)))
    out = io.StringIO()
    repl._console = Console(file=out, width=200, color_system=None)
    next(c for c in COMMANDS if c.name == "usage").handler(repl, "")
    text = out.getvalue()
    assert "input tokens:  4000" in text  # 2000 + 2000, cached ones included
    assert "cache read:    1800   cache write: 1100" in text
    assert "cached:        45% of session input, 90% of the last answer's input" in text
    monkeypatch.setattr(Repl, "_columns", staticmethod(lambda: 120))
    toolbar = "".join(fragment[1] for fragment in repl._toolbar())
    assert "cached 90%" in toolbar

    assert stats.cached_percent(llm.Usage(input_tokens=0)) is None
    assert stats.cached_percent(llm.Usage(input_tokens=100, cache_read_tokens=0)) is None


def test_breakpoints_stay_within_four_and_leave_the_inputs_alone():
    tools = [{"type": "function", "function": {"name": n, "parameters": {}}} for n in ("read", "ls")]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "sys"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {}}],
        },
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "result"},
    ]
    before = json.dumps([messages, tools])
    marked, marked_tools = add_breakpoints(messages, tools)
    assert json.dumps([messages, tools]) == before
    assert marked_tools is not None and _marked(marked_tools[-1]) and "cache_control" not in marked_tools[0]
    assert _marked(marked[0]["content"][-1])  # system
    assert _marked(marked[1]["content"][-1]) and not _marked(
        marked[1]["content"][0]
    )  # previous request's end
    assert marked[2] == messages[2]  # tool calls only: nothing to carry a breakpoint
    assert _marked(marked[3]["content"][-1]) and marked[3]["tool_call_id"] == "c1"  # the latest message
    assert json.dumps(marked).count("cache_control") + 1 == 4

    many, _ = add_breakpoints([{"role": "user", "content": "hi"}], None)
    assert many == [
        {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
    ]
