"""Approval answers that must never allow more than the user said: "always" lasts one turn, and a
print-mode question that gets end of input, or loses its terminal, runs nothing."""

from __future__ import annotations

import json
import os
import select
from pathlib import Path
from typing import Any

from kit_py import Agent, tool
from kit_py.config import Settings
from kit_py.engine.approval import PendingAction, ToolSetup, approval_entry
from kit_py.engine.conversation import Conversation
from kit_py.engine.tool_calls import execute_tool_call
from kit_py.terminal import approval_prompt
from kit_py.tools import select_tools
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)
from tests.conftest import MODEL, run_in_process, session_files

CTRL_D = b"\x04"


def write_call(call_id: str, path: str) -> dict[str, Any]:
    return {"id": call_id, "name": "write", "arguments": {"path": path, "content": path}}


def read_available(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_always_in_the_api_allows_a_tool_for_its_turn_and_the_next_turn_asks_again(api):
    asked: list[str] = []

    def approve(call):
        asked.append(call.arguments["path"])
        return "always"

    session = Agent(tools=["write"]).session(safe_mode=True, approve=approve)
    api.reply(tool_calls=[write_call("a", "a.md"), write_call("b", "b.md")])
    api.reply("two written")
    session.run("write two files")
    assert asked == ["a.md"], "within the turn, the second write is not asked about"

    api.reply(tool_calls=[write_call("c", "c.md")])
    api.reply("third written")
    result = session.run("and one more")
    assert asked == ["a.md", "c.md"], "the next turn asks again"
    assert [(a.arguments["path"], a.answer) for a in result.approvals] == [("c.md", "always")]
    assert all(Path(name).read_text() == name for name in ("a.md", "b.md", "c.md"))


def test_always_in_a_conversation_that_keeps_its_tools_between_turns_lasts_one_turn(tmp_path, provider):
    """The REPL keeps one ToolSetup for all its turns: the engine, not the face, ends an "always"."""
    work = tmp_path / "work"
    work.mkdir()
    asked: list[str] = []

    def approve(action: PendingAction) -> str:
        asked.append(action.arguments["path"])
        return "always"

    setup = ToolSetup(tools=select_tools(["write"]), cwd=work, safe_mode=True, approve=approve)
    settings = Settings(model=MODEL, api_base=provider.base_url)
    conversation = Conversation.create(settings, str(work), home=tmp_path / "home", tools=setup)
    provider.reply(tool_calls=[write_call("a", "a.md"), write_call("b", "b.md")])
    provider.reply("ok")
    conversation.run("first")
    provider.reply(tool_calls=[write_call("c", "c.md")])
    provider.reply("ok")
    conversation.run("second")
    assert asked == ["a.md", "c.md"]
    assert sorted(p.name for p in work.iterdir()) == ["a.md", "b.md", "c.md"]


def test_end_of_input_or_a_lost_terminal_at_the_print_mode_question_runs_nothing(monkeypatch):
    master, slave = os.openpty()
    monkeypatch.setattr(approval_prompt, "_open_tty", lambda: os.dup(slave))
    action = PendingAction("bash", {"command": "rm -rf build"}, "safe mode", "$ rm -rf build")
    os.write(master, CTRL_D)
    assert approval_prompt.ask_on_terminal(action) == "denied"
    os.close(master)  # the terminal is gone: nobody can answer
    assert approval_prompt.ask_on_terminal(action) == "refused"
    os.close(slave)


def test_ctrl_d_at_the_print_mode_question_denies_the_write(kit_env, provider, workdir, monkeypatch):
    """`kit --safe` in print mode, the user pressing Ctrl-D at the question (in-process, so the
    question's terminal can be a pseudo-terminal this test holds)."""
    master, slave = os.openpty()
    monkeypatch.setattr(approval_prompt, "_open_tty", lambda: os.dup(slave))
    os.write(master, CTRL_D)
    provider.reply(tool_calls=[write_call("w", "plan.md")])
    provider.reply("Not written, then.")
    argv = ["-m", MODEL, "--api-base", provider.base_url, "--safe", "write the plan"]
    result = run_in_process(argv, kit_env, workdir)
    os.close(master)
    os.close(slave)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Not written, then.\n"
    assert not (workdir / "plan.md").exists()
    (path,) = session_files(kit_env)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    (record,) = [json.loads(e["data"]) for e in lines if e.get("ext_type") == "kit:approval"]
    assert (record["tool"], record["answer"], record["action"]) == ("write", "denied", "not run")
    (result_part,) = [p["data"] for e in lines if e.get("role") == "tool" for p in e["parts"]]
    assert result_part["is_error"] and "denied" in result_part["content"]
    assert result_part["duration_ms"] == 0, "a call that never ran took no time"


def test_the_print_mode_question_shows_at_most_200_preview_lines(monkeypatch):
    master, slave = os.openpty()
    monkeypatch.setattr(approval_prompt, "_open_tty", lambda: os.dup(slave))
    diff = "\n".join(f"+line {i}" for i in range(201))
    os.write(master, b"n\n")
    assert approval_prompt.ask_on_terminal(PendingAction("write", {}, "safe mode", diff)) == "denied"
    shown = read_available(master)
    os.close(master)
    os.close(slave)
    assert "+line 199" in shown and "+line 200" not in shown and "… 1 more diff lines" in shown


def test_a_recorded_preview_is_cut_after_20000_characters_with_a_note():
    def recorded(preview: str) -> str:
        return json.loads(approval_entry({"tool": "write", "preview": preview})["data"])["preview"]

    assert recorded("short") == "short"
    assert recorded("x" * 20_000) == "x" * 20_000
    assert recorded("x" * 20_001) == "x" * 20_000 + "\n[preview truncated]"


def booking_tool() -> Any:
    @tool(modifies_state=True)
    def book(city: str) -> str:
        """Book a trip."""
        return f"booked {city}"

    return book


def asked_preview(book: Any, tmp_path: Path) -> str:
    """What the user is shown before `book(city="Zürich")` runs in safe mode (approved)."""
    asked: list[PendingAction] = []

    def approve(action: PendingAction) -> bool:
        asked.append(action)
        return True

    setup = ToolSetup(tools=[book], cwd=tmp_path, safe_mode=True, approve=approve)
    content, is_error, _ = execute_tool_call("book", json.dumps({"city": "Zürich"}), setup, "c1")
    assert (content, is_error) == ("booked Zürich", False)
    (action,) = asked
    return action.preview


def test_a_tool_without_a_preview_is_asked_about_with_its_arguments_as_written(tmp_path):
    assert asked_preview(booking_tool(), tmp_path) == 'book {"city": "Zürich"}'


def test_a_preview_that_breaks_still_asks_with_the_arguments_and_says_why(tmp_path):
    def broken(args: dict[str, Any], ctx: Any) -> str:
        raise RuntimeError("no map of Zürich")

    book = booking_tool()
    book.preview = broken
    shown = asked_preview(book, tmp_path)
    assert shown == 'book {"city": "Zürich"}\n(no preview: RuntimeError: no map of Zürich)'


class StartingSource:
    """A tool source (what an MCP server is to kit) whose tool is there only when kit waits for it, as
    while its server starts; it says what kit asked of it."""

    def __init__(self) -> None:
        (self.tool,) = select_tools(["read"])
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def current_tools(self, wait: bool = True) -> list[Any]:
        self.calls.append(f"tools, wait={wait}")
        return [self.tool] if wait else []

    def take_notices(self) -> list[str]:
        return ["server docs stopped"]

    def close(self) -> None:
        self.calls.append("close")


def test_tool_sources_are_started_waited_for_by_a_turn_and_closed(tmp_path):
    source = StartingSource()
    setup = ToolSetup(tools=select_tools(["ls"]), cwd=tmp_path, sources=[source])
    setup.warm_up()
    assert [t.name for t in setup.offered()] == ["ls", "read"], "a turn waits for a starting source"
    assert [t.name for t in setup.offered(wait=False)] == ["ls"], "an estimate does not wait"
    assert setup.take_notices() == ["server docs stopped"]
    setup.close()
    assert source.calls == ["start", "tools, wait=True", "tools, wait=False", "close"]


def test_always_for_an_outside_folder_whose_name_holds_an_at_sign_covers_that_folder(tmp_path):
    work, outside = tmp_path / "work", tmp_path / "mail@home"
    work.mkdir()
    outside.mkdir()
    asked: list[str] = []

    def approve(action: PendingAction) -> str:
        asked.append(action.arguments["path"])
        return "always"

    setup = ToolSetup(tools=select_tools(["write"]), cwd=work, approve=approve)
    for name in ("a.txt", "b.txt"):
        arguments = json.dumps({"path": str(outside / name), "content": name})
        assert not execute_tool_call("write", arguments, setup, name)[1]
    assert asked == [str(outside / "a.txt")], "the second write in that folder is not asked about"
