"""@tool schemas from type hints and docstrings, the tool loop through Agent(tools=...), and safe mode."""

from __future__ import annotations

import asyncio
import json
from enum import Enum
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from kit_py import Agent, tool
from kit_py.errors import AgentError, ToolError
from kit_py.tools.base import ToolContext
from kit_py.tools.decorator import parse_docstring
from kit_py.tools.registry import run_tool
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    zip_code: str


@tool
def book_table(
    restaurant: str,
    guests: int,
    when: Literal["lunch", "dinner"] = "dinner",
    notes: str | None = None,
    tags: list[str] | None = None,
    budget: float = 50.0,
    vegan: bool = False,
    color: Color = Color.RED,
    deliver_to: Address | None = None,
) -> str:
    """Book a table at a restaurant.

    Only restaurants in the city are known.

    Args:
        restaurant: Name of the restaurant.
        guests (int): How many people, the host
            included.
        when: Which sitting.
        notes: Anything the staff should know.
        tags: Labels for the booking.
        budget: Euros per person.
        vegan: Whether everyone eats vegan.
        color: Table cloth colour.
        deliver_to: Where to send the confirmation letter.

    Returns:
        A confirmation code.
    """
    where = f" to {deliver_to.street}" if deliver_to else ""
    return f"booked {restaurant} for {guests} ({when}, {color.value}){where}"


def test_schema_from_type_hints_and_google_docstring():
    params = book_table.parameters
    assert book_table.name == "book_table"
    assert book_table.description == "Book a table at a restaurant. Only restaurants in the city are known."
    assert params["required"] == ["restaurant", "guests"]
    props = params["properties"]
    assert props["restaurant"] == {"type": "string", "description": "Name of the restaurant."}
    assert props["guests"] == {"type": "integer", "description": "How many people, the host included."}
    assert props["when"]["enum"] == ["lunch", "dinner"] and props["when"]["default"] == "dinner"
    assert props["budget"]["type"] == "number" and props["vegan"]["type"] == "boolean"
    assert {"type": "array", "items": {"type": "string"}} in props["tags"]["anyOf"]
    assert props["color"]["enum"] == ["red", "blue"] and props["color"]["default"] == "red"
    assert props["deliver_to"]["anyOf"][0] == {"$ref": "#/$defs/Address"}
    assert params["$defs"]["Address"]["required"] == ["street", "zip_code"]
    assert "Returns" not in json.dumps(params)


def test_numpy_docstring_and_decorator_options():
    @tool(name="convert", description="Convert money.", modifies_state=True)
    def convert_currency(amount: float, to: str = "EUR") -> float:
        """Convert an amount.

        Parameters
        ----------
        amount : float
            How much money,
            in dollars.
        to : str
            Target currency code.

        Returns
        -------
        float
        """
        return amount * 0.9

    assert (convert_currency.name, convert_currency.description) == ("convert", "Convert money.")
    assert convert_currency.modifies_state is True
    assert convert_currency.parameters["properties"]["amount"]["description"] == "How much money, in dollars."
    assert convert_currency.parameters["properties"]["to"]["description"] == "Target currency code."
    assert convert_currency(10) == 9.0, "the decorated function stays callable"
    assert parse_docstring("Just a summary.").params == {}


def test_arguments_are_validated_and_converted_before_the_function_runs(tmp_path):
    ctx = ToolContext(cwd=tmp_path)
    args = {
        "restaurant": "Chez Nous",
        "guests": "4",
        "color": "blue",
        "deliver_to": {"street": "Rue 1", "zip_code": "75001"},
    }
    result = run_tool(book_table, json.dumps(args), ctx)
    assert (result.content, result.is_error) == ("booked Chez Nous for 4 (dinner, blue) to Rue 1", False)
    bad = run_tool(book_table, json.dumps({"restaurant": "X", "guests": 2, "when": "breakfast"}), ctx)
    assert bad.is_error and "when" in bad.content
    unknown = run_tool(book_table, json.dumps({"restaurant": "X", "guests": 2, "pets": 1}), ctx)
    assert unknown.is_error and "pets" in unknown.content


def test_return_values_exceptions_and_async_functions(tmp_path):
    @tool
    def lookup(key: str) -> dict:
        """Look up a key."""
        if key == "missing":
            raise KeyError(key)
        return {"key": key, "value": [1, 2]}

    @tool
    async def slow_echo(text: str) -> str:
        """Echo after a pause."""
        await asyncio.sleep(0)
        return text.upper()

    ctx = ToolContext(cwd=tmp_path)
    assert json.loads(run_tool(lookup, '{"key": "a"}', ctx).content) == {"key": "a", "value": [1, 2]}
    failed = run_tool(lookup, '{"key": "missing"}', ctx)
    assert failed.is_error and "KeyError" in failed.content
    assert run_tool(slow_echo, '{"text": "hi"}', ctx).content == "HI"


def test_the_tool_loop_runs_functions_and_streams_tool_events(api):
    calls = []

    def add(a: int, b: int) -> int:
        """Add two integers."""
        calls.append((a, b))
        return a + b

    session = Agent(tools=[add]).session()
    api.reply(tool_calls=[{"id": "call_1", "name": "add", "arguments": {"a": 2, "b": 40}}])
    api.reply("2 + 40 = 42")
    events = list(session.stream("What is 2 + 40?"))
    assert calls == [(2, 40)]
    tool_events = [(e.type, e.tool, e.call_id) for e in events if e.type.startswith("tool")]
    assert tool_events == [("tool_call", "add", "call_1"), ("tool_result", "add", "call_1")]
    assert next(e for e in events if e.type == "tool_call").arguments == {"a": 2, "b": 40}
    assert next(e for e in events if e.type == "tool_result").text == "42"
    first_request = api.chat_requests[0]["body"]
    assert [t["function"]["name"] for t in first_request["tools"]] == ["add"]
    assert api.last_messages()[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    result = events[-1].result
    assert result.text == "2 + 40 = 42"
    assert result.tool_calls == [{"id": "call_1", "name": "add", "arguments": {"a": 2, "b": 40}}]
    assert [m.role for m in session.messages] == ["user", "assistant", "tool", "assistant"]
    assert session.messages[2].tool_results[0]["content"] == "42"
    assert session.messages[2].text == "42"


def test_builtin_tools_are_opt_in(api, tmp_path):
    api.reply("no tools here")
    Agent().session().run("hi")
    assert "tools" not in api.chat_requests[-1]["body"]
    Path("notes.txt").write_text("ship on Friday\n")
    session = Agent(tools=["read", "ls"]).session()
    api.reply(tool_calls=[{"id": "c1", "name": "read", "arguments": {"path": "notes.txt"}}])
    api.reply("Friday.")
    session.run("When do we ship?")
    assert [t["function"]["name"] for t in api.chat_requests[-2]["body"]["tools"]] == ["read", "ls"]
    assert "ship on Friday" in api.last_messages()[-1]["content"]
    with pytest.raises(ValueError, match="unknown tool"):
        Agent(tools=["teleport"])


def write_then_bash(api) -> None:
    api.reply(
        tool_calls=[
            {"id": "w", "name": "write", "arguments": {"path": "plan.md", "content": "# Plan\n"}},
            {"id": "b", "name": "bash", "arguments": {"command": "echo ran > bash.txt"}},
        ]
    )
    api.reply("done")


def test_safe_mode_asks_before_state_changes_and_records_decisions(api):
    asked = []

    def approve(call) -> bool:
        asked.append((call.tool, call.reason))
        return call.tool == "write"

    session = Agent(tools=["write", "bash", "ls"]).session(safe_mode=True, approve=approve)
    write_then_bash(api)
    result = session.run("plan and run")
    assert [t for t, _ in asked] == ["write", "bash"]
    assert Path("plan.md").read_text() == "# Plan\n"
    assert not Path("bash.txt").exists()
    assert [(a.tool, a.approved) for a in result.approvals] == [("write", True), ("bash", False)]
    results = {r["tool_call_id"]: r for r in session.messages[2].tool_results}
    assert results["w"]["is_error"] is False and results["b"]["is_error"] is True
    assert "denied" in results["b"]["content"]
    assert session.messages[2].text == f"{results['w']['content']}\n{results['b']['content']}"
    records = [json.loads(e["data"]) for e in session.entries if e.get("ext_type") == "kit:approval"]
    assert [(r["tool"], r["answer"]) for r in records] == [("write", "approved"), ("bash", "denied")]


def test_without_safe_mode_tools_just_run_and_without_a_callback_safe_mode_refuses(api):
    write_then_bash(api)
    Agent(tools=["write", "bash"]).session().run("go")
    assert Path("plan.md").exists() and Path("bash.txt").exists()
    Path("plan.md").unlink()
    Path("bash.txt").unlink()

    write_then_bash(api)
    result = Agent(tools=["write", "bash"], safe_mode=True).session().run("go")
    assert not Path("plan.md").exists() and not Path("bash.txt").exists()
    assert [a.approved for a in result.approvals] == [False, False]
    refusals = [m["content"] for m in api.last_messages() if m["role"] == "tool"]
    assert len(refusals) == 2
    assert all("no approve callback was given" in text and "terminal" not in text for text in refusals)


def test_an_approve_callback_that_raises_fails_the_turn_with_a_tool_error(api):
    def approve(call) -> bool:
        return 1 / 0 > 0

    session = Agent(tools=["write", "bash"]).session(safe_mode=True, approve=approve)
    api.reply("hello")
    session.run("hi")
    before = session.messages
    write_then_bash(api)
    with pytest.raises(ToolError, match="approve callback raised ZeroDivisionError") as raised:
        session.run("plan and run")
    assert isinstance(raised.value, AgentError)
    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    assert session.messages == before, "the failed turn is stepped back from"
    stored = session.entries  # kept off the branch, every call answered
    parts = [p for e in stored for p in e.get("parts", [])]
    calls = {p["data"]["id"] for p in parts if p["type"] == "tool_call"}
    results = {p["data"]["tool_call_id"] for p in parts if p["type"] == "tool_result"}
    assert calls and calls == results
    assert not Path("plan.md").exists()


def test_always_is_remembered_for_the_turn_and_every_call_is_listed(api):
    asked = []

    def approve(call):
        asked.append(call.arguments["path"])
        return "always"

    session = Agent(tools=["write"]).session(safe_mode=True, approve=approve)
    api.reply(tool_calls=[{"id": "a", "name": "write", "arguments": {"path": "a.md", "content": "A"}}])
    api.reply(tool_calls=[{"id": "b", "name": "write", "arguments": {"path": "b.md", "content": "B"}}])
    api.reply("both written")
    result = session.run("write two files")
    assert asked == ["a.md"], "the second call is not asked about again"
    assert Path("a.md").read_text() == "A" and Path("b.md").read_text() == "B"
    listed = [(a.tool, a.arguments["path"], a.approved, a.answer) for a in result.approvals]
    assert listed == [
        ("write", "a.md", True, "always"),
        ("write", "b.md", True, "always (remembered)"),
    ]
