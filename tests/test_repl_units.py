"""Fast checks of the REPL's pure parts: attachments, the command registry, completion, stats, rendering."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from rich.console import Console

from kit_py.compaction.runner import CompactionOutcome
from kit_py.config import Settings
from kit_py.engine import events as ev
from kit_py.engine.approval import ToolSetup
from kit_py.engine.conversation import Conversation
from kit_py.errors import UsageError
from kit_py.repl import attachments, shell, stats
from kit_py.repl.app import Repl
from kit_py.repl.commands import COMMANDS, REGISTRY, copy_with_local_tool, osc52
from kit_py.repl.completer import ReplCompleter, path_completions
from kit_py.repl.registry import parse_command
from kit_py.session import SessionManager
from kit_py.terminal.theme import get_theme, rich_theme
from kit_py.terminal.turn_view import TurnView, render_history
from kit_py.tools import select_tools

REQUIRED = (
    "help",
    "model",
    "thinking",
    "theme",
    "name",
    "session",
    "usage",
    "new",
    "clear",
    "undo",
    "retry",
    "copy",
    "compact",
    "tree",
    "fork",
    "resume",
    "export",
    "import",
    "share",
    "quit",
)


def _console() -> Console:
    return Console(file=io.StringIO(), width=100, theme=rich_theme(get_theme("dark")), color_system=None)


def test_attachments_inline_text_attach_images_and_leave_mentions_alone(tmp_path: Path):
    (tmp_path / "a.py").write_text("print(1)")
    (tmp_path / "my notes.md").write_text("todo\n")
    (tmp_path / "img.PNG").write_bytes(b"\x89PNG fake")
    out = attachments.expand('check @a.py, @"my notes.md" and @img.PNG; ping @someone or me@a.py', tmp_path)
    assert out.attached == ["a.py", "my notes.md", "img.PNG"]
    assert out.text.endswith(
        '<file path="a.py">\nprint(1)\n</file>\n\n<file path="my notes.md">\ntodo\n</file>'
    )
    assert out.text.count("<file") == 2  # me@a.py is an address, not an attachment
    assert out.images == [{"data": base64.b64encode(b"\x89PNG fake").decode(), "media_type": "image/png"}]
    assert attachments.expand("no files here @nope", tmp_path).text == "no files here @nope"


def test_a_mistyped_attachment_is_reported_with_the_closest_file(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("x")
    with pytest.raises(UsageError, match=r"@src/mian.py: no such file; did you mean @src/main.py\?"):
        attachments.expand("look at @src/mian.py please", tmp_path)
    with pytest.raises(UsageError, match="no such file"):
        attachments.expand('@"my notes.md"', tmp_path)  # quoted: meant as a file
    assert attachments.expand("thanks @team, see @v2", tmp_path).attached == []  # mentions stay words


def test_at_completion_finds_files_anywhere_below_by_their_letters(tmp_path: Path):
    files = ("kit_py/repl/model.py", "kit_py/repl/app.py", "docs/models.md", ".git/model", "node_modules/x")
    for path in files:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    assert _complete("@model", tmp_path) == ["docs/models.md", "kit_py/repl/model.py"]
    assert _complete("@rpap", tmp_path) == ["kit_py/repl/app.py"]  # letters in order, not a prefix
    assert _complete("@kit", tmp_path) == ["kit_py/"]  # a prefix of a name here is completed as before


def test_attachments_refuse_binary_and_oversized_files(tmp_path: Path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "big.txt").write_text("x" * (attachments.MAX_TEXT_BYTES + 1))
    with pytest.raises(UsageError, match="binary"):
        attachments.expand("@blob.bin", tmp_path)
    with pytest.raises(UsageError, match="256 KB"):
        attachments.expand("@big.txt", tmp_path)


def test_registry_has_every_command_with_help_and_go_kit_aliases():
    names = [c.name for c in COMMANDS]
    assert set(REQUIRED) <= set(names)
    assert all(c.help for c in COMMANDS)
    for alias, name in {
        "q": "quit",
        "exit": "quit",
        "h": "help",
        "?": "help",
        "m": "model",
        "think": "thinking",
        "n": "new",
        "r": "resume",
        "cp": "copy",
        "u": "usage",
        "cls": "clear",
        "co": "compact",
    }.items():
        found = REGISTRY.find(alias)
        assert found is not None and found.name == name, alias
    assert REGISTRY.suggest("hlep") == "/help"
    assert REGISTRY.suggest("modle") == "/model"
    assert REGISTRY.suggest("zzzzzz") is None
    assert parse_command("/model  openai/gpt-4o ") == ("model", "openai/gpt-4o")
    assert parse_command("/?") == ("?", "")
    for message in ("/new a\nb", "/etc/hosts what", "/* x */", "// note", "/ x", "hello /model"):
        assert parse_command(message) is None, message
    assert REGISTRY.find("mod") is REGISTRY.find("model")  # a unique prefix
    assert REGISTRY.find("t") is None  # /theme, /thinking, /tree


class _FakeRepl:
    registry = REGISTRY

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

        class _Settings:
            model = "openai/gpt-4o"

        self.settings = _Settings()

    def known_models(self) -> list[str]:
        return ["anthropic/claude-3-haiku", "openai/gpt-4o-2024-08-06"]


def _complete(text: str, cwd: Path) -> list[str]:
    completer = ReplCompleter(_FakeRepl(cwd))  # type: ignore[arg-type]
    return [
        c.text for c in completer.get_completions(Document(text), CompleteEvent(completion_requested=True))
    ]


def test_completion_of_commands_arguments_and_paths(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("")
    (tmp_path / "setup.cfg").write_text("")
    (tmp_path / ".hidden").write_text("")
    assert _complete("/th", tmp_path) == ["/thinking", "/theme"]
    assert _complete("/thinking m", tmp_path) == ["minimal", "medium"]
    assert _complete("/theme ", tmp_path) == ["dark", "light"]
    assert _complete("/model openai/gpt-4o", tmp_path) == [
        "openai/gpt-4o",
        "openai/gpt-4o-mini",
        "openai/gpt-4o-2024-08-06",
    ]
    assert _complete("read @s", tmp_path) == ["setup.cfg", "src/"]
    assert _complete("read @src/", tmp_path) == ["src/app.py"]
    (tmp_path / "sub dir").mkdir()
    (tmp_path / "sub dir" / "my notes.md").write_text("")
    assert _complete("read @su", tmp_path) == ['"sub dir/']  # a space needs the quoted form
    assert _complete('read @"s', tmp_path) == ['"setup.cfg"', '"src/', '"sub dir/']
    assert _complete('@"src/app.py" and @"sub dir/my', tmp_path) == ['"sub dir/my notes.md"']
    assert _complete('read @"sub dir/my notes.md" ', tmp_path) == []
    assert [c.text for c in path_completions(".h", tmp_path)] == [".hidden"]


def test_shell_escape_parsing_and_context_message(tmp_path: Path):
    assert shell.parse("!ls -la") == ("ls -la", True)
    assert shell.parse("!!git status") == ("git status", False)
    assert shell.parse("hello") is None
    seen: list[str] = []
    run = shell.run("echo out; echo err >&2; exit 3", tmp_path, seen.append)
    assert run.exit_code == 3 and run.output == "out\nerr\n" and seen == ["out\n", "err\n"]
    assert (
        run.as_message_text() == "I ran `echo out; echo err >&2; exit 3` (exit 3):\n```\nout\nerr\n```"
    )


def test_context_size_uses_reported_usage_then_estimates_and_drops_it_after_compaction(tmp_path: Path):
    user = {"type": "message", "role": "user", "parts": [{"type": "text", "data": {"text": "x" * 400}}]}
    answer = {"type": "message", "role": "assistant", "parts": [], "usage": {"input_tokens": 1000}}
    aborted = {**answer, "stop_reason": "aborted", "usage": {"input_tokens": 9999}}
    session = SessionManager.create(None, str(tmp_path))
    repl = Repl(Conversation(session, Settings()))
    session.append(user)
    assert repl.context_size() == (100, None)  # bytes/4 until the provider reports usage
    session.append_many([{**answer, "usage": {"input_tokens": 1000, "output_tokens": 50}}, user, aborted])
    assert repl.context_size()[0] == 1050 + 100  # a failed answer's usage does not count
    kept = session.append(dict(user))
    session.append_many(
        [dict(answer), {"type": "compaction", "summary": "s" * 40, "first_kept_entry_id": kept["id"]}]
    )
    assert repl.context_size()[0] == 100 + 10  # the kept message and the summary, at once
    entries = [
        {"type": "message", **answer, "usage": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.25}},
        {"type": "message", **answer, "usage": {"input_tokens": 1, "output_tokens": 1, "cost_usd": 0.5}},
    ]
    totals = stats.usage_totals(entries)
    assert (totals.input_tokens, totals.output_tokens, totals.cost_usd, totals.answers) == (11, 6, 0.75, 2)
    assert stats.human_tokens(1234) == "1.2k" and stats.format_cost(None) == "n/a"


def test_osc52_carries_the_text_base64_encoded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TMUX", raising=False)
    assert osc52("hé") == "\x1b]52;c;" + base64.b64encode("hé".encode()).decode() + "\x07"
    monkeypatch.setenv("TMUX", "1")  # tmux 3.3+ drops the DCS-wrapped form: plain OSC 52 there too
    assert osc52("x") == "\x1b]52;c;eA==\x07"


def test_copy_uses_a_local_clipboard_program_when_there_is_one(monkeypatch, tmp_path: Path):
    cat = shutil.which("cat")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert copy_with_local_tool("answer") is None  # none installed: nothing is claimed
    xclip = tmp_path / "xclip"
    xclip.write_text(f"#!/bin/sh\n{cat} > {tmp_path}/clip\n")
    xclip.chmod(0o755)
    assert copy_with_local_tool("the answer é") == "xclip"
    assert (tmp_path / "clip").read_text() == "the answer é"
    monkeypatch.delenv("DISPLAY")
    assert copy_with_local_tool("x") is None  # xclip without a display cannot copy


def test_history_is_rendered_markdown_with_markers():
    path = [
        {"type": "model_change", "id": "1", "provider": "openai", "model_id": "x"},
        {"type": "message", "role": "user", "parts": [{"type": "text", "data": {"text": "explain"}}]},
        {
            "type": "message",
            "role": "assistant",
            "stop_reason": "aborted",
            "parts": [
                {"type": "reasoning", "data": {"thinking": "let me think about it"}},
                {"type": "text", "data": {"text": "## Heading\n\nSome **bold** words"}},
                {"type": "tool_call", "data": {"id": "c1", "name": "read", "input": '{"path": "a.py"}'}},
            ],
        },
        {
            "type": "message",
            "role": "tool",
            "parts": [
                {
                    "type": "tool_result",
                    "data": {"tool_call_id": "c1", "content": "line1\nline2", "is_error": False},
                }
            ],
        },
    ]
    console = _console()
    render_history(console, path, "monokai")
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "❯ explain" in out and "Some bold words" in out and "**" not in out and "##" not in out
    assert "thought for 5 words" in out and "⚙ read a.py" in out and "✓ line2 (last of 2 lines)" in out
    assert "interrupted" in out and "model_change" not in out


def test_history_names_attached_files_instead_of_repeating_them(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("long content\n" * 50)
    sent = attachments.expand("summarize @notes.txt please", tmp_path).text
    path = [{"type": "message", "role": "user", "parts": [{"type": "text", "data": {"text": sent}}]}]
    typed = 'compare @notes.txt with <file path="x">\npasted\n</file>'  # a pasted block stays as typed
    again = attachments.expand(typed, tmp_path).text
    path.append({**path[0], "parts": [{"type": "text", "data": {"text": again}}], "typed": typed})
    console = _console()
    render_history(console, path, "monokai")
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "❯ summarize @notes.txt please  [attached: notes.txt]" in out and "long content" not in out
    assert '<file path="x">\npasted\n</file>  [attached: notes.txt]' in out


def test_history_shows_bracketed_text_literally():
    path = [
        {"type": "branch_summary", "id": "1", "from_id": "0", "summary": "tried [red]x[/red] first"},
        {
            "type": "message",
            "role": "assistant",
            "stop_reason": "error",
            "error": "bad [/] input",
            "parts": [],
        },
    ]
    console = _console()
    render_history(console, path, "monokai")
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "tried [red]x[/red] first" in out and "✗ bad [/] input" in out


def test_turn_view_collapses_reasoning_and_renders_the_answer():
    console = _console()
    view = TurnView(console, "monokai")
    for delta in ("step one ", "step two"):
        view(ev.ReasoningDelta(delta))
    view(ev.TextDelta("Final *answer*\n\n"))
    view(ev.TextDelta("- item"))
    view(ev.ToolCallStarted("c1", "read", '{"path": "a.py", "limit": 5}'))
    view(ev.ToolFinished("c1", "read", "no such file\nmore", True, {"is_error": True}))
    diff = "@@ -1 +1 @@\n-old\n+new"
    view(ev.ToolFinished("c2", "edit", "edited x.py", False, {"is_error": False, "diff": diff}))
    view(ev.Retry("rate limited; retrying in 1.0s"))
    view(ev.CompactionStarted("threshold"))
    view(ev.CompactionDone("threshold", CompactionOutcome("S", 4, 900, 120, {})))
    view.finish()
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "thought for 4 words" in out and "Final answer" in out and "• item" in out
    assert out.index("• item") < out.index("⚙ read a.py limit=5") < out.index("✗ more (last of 2 lines)")
    assert "↻ rate limited; retrying in 1.0s" in out
    assert "✓ edited x.py\n@@ -1 +1 @@\n-old\n+new" in out
    assert "↻ compacted: 4 messages -> summary, 900 -> 120 tokens" in out
    assert view.reasoning_text == "step one step two"


def test_completion_script_prints_and_installs(kit_env, workdir, tmp_path: Path):
    from tests.conftest import kit_command

    def kit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*kit_command(), *args],
            capture_output=True,
            text=True,
            env=kit_env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )

    printed = kit("completion", "bash")
    assert printed.returncode == 0 and "complete -o default -F _kit kit" in printed.stdout
    assert subprocess.run(["bash", "-n"], input=printed.stdout, text=True).returncode == 0
    assert "#compdef kit" in kit("completion", "zsh").stdout
    installed = kit("completion", "fish", "--install")
    target = Path(kit_env["XDG_CONFIG_HOME"]) / "fish" / "completions" / "kit.fish"
    assert installed.returncode == 0 and str(target) in installed.stdout
    assert "complete -c kit" in target.read_text()
    wrong = kit("completion", "tcsh")
    assert wrong.returncode == 2 and "choose one of: bash, zsh, fish" in wrong.stderr


@pytest.mark.parametrize(
    ("keys", "answer"),
    [
        ("y\r", "approved"),
        ("no\r", "denied"),
        ("a\r", "always"),
        ("maybe\ry\r", "approved"),
        ("\x04", "denied"),
    ],
)
def test_safe_mode_approval_asks_the_user(tmp_path: Path, keys: str, answer: str):
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from kit_py.config import Settings
    from kit_py.engine.approval import PendingAction, ToolSetup
    from kit_py.repl.app import Repl
    from kit_py.session import SessionManager

    setup = ToolSetup(tools=[], cwd=tmp_path, safe_mode=True)
    repl = Repl(Conversation(SessionManager.create(None, str(tmp_path)), Settings(), tools=setup))
    assert setup.approve == repl.approve  # the REPL answers approvals unless the caller already does
    repl._console = _console()
    diff = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old\n+new"
    action = PendingAction("edit", {"path": "x.py"}, "safe mode", diff)
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text(keys)
        assert repl.approve(action) == answer
    shown = repl.console.file.getvalue()  # type: ignore[attr-defined]
    assert "⚠ edit needs approval (safe mode)" in shown and "-old\n+new" in shown
    assert ("please answer y" in shown) == keys.startswith("maybe")


def test_status_line_fits_narrow_terminals_without_cutting_numbers(tmp_path: Path, monkeypatch):
    session = SessionManager.create(None, str(tmp_path))
    session.append({"type": "session_info", "name": "a rather long session name"})
    setup = ToolSetup(tools=select_tools(None), cwd=tmp_path, safe_mode=True)
    repl = Repl(Conversation(session, Settings(model="openai/gpt-4o", context_window=200_000), tools=setup))

    def line(columns: int) -> str:
        monkeypatch.setattr(Repl, "_columns", staticmethod(lambda: columns))
        return "".join(text for _, text in repl._toolbar())

    wide = line(200)
    assert " openai/gpt-4o · thinking off · ctx " in wide and "% of 200k " in wide  # the configured window
    assert "· $0 · safe · a rather long session name " in wide  # nothing answered yet: $0, not n/a
    narrow = line(60)
    assert len(narrow) <= 60 and "· safe" in narrow and "% of 200k" in narrow
    assert "session name" not in narrow  # dropped whole, never cut mid-word or mid-number
    assert len(line(30)) <= 30 and "thinking off" in line(30)
    assert stats.human_tokens(200_000) == "200k" and stats.human_tokens(2_500_000) == "2.5M"
    session.append({"type": "message", "role": "assistant", "parts": [], "usage": {"input_tokens": 5}})
    assert stats.session_cost(stats.usage_totals(session.entries)) == "n/a"  # answered, price unknown


def test_context_estimate_counts_the_tool_definitions_sent_with_every_request(tmp_path: Path):
    session = SessionManager.create(None, str(tmp_path))
    bare = Conversation(session, Settings()).context_tokens()
    with_tools = Conversation(session, Settings(), tools=ToolSetup(tools=select_tools(None), cwd=tmp_path))
    assert with_tools.context_tokens() - bare > 300  # six tool schemas, about 1.5 kB of JSON


def test_ctrl_o_shows_the_last_tool_output_in_full(tmp_path: Path):
    from kit_py.session import format as fmt

    session = SessionManager.create(None, str(tmp_path))
    repl = Repl(Conversation(session, Settings()))
    repl._console = _console()
    repl.show_last_tool_results()
    assert "no tool has run" in repl.console.file.getvalue()  # type: ignore[attr-defined]
    long_output = "\n".join(f"line {i}" for i in range(300)) + "\nFAILED at the end"
    session.append(fmt.message("tool", [fmt.tool_result_part("c1", "bash", long_output, True)]))
    repl.show_last_tool_results()
    shown = repl.console.file.getvalue()  # type: ignore[attr-defined]
    assert "bash result" in shown and "line 0\n" in shown and "line 299\nFAILED at the end" in shown
