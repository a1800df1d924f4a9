"""The one registry of slash commands: names, aliases, help, argument completion and handlers.

`/help`, the completer and the dispatcher all read this table, so a command documented is a command
that works. Commands whose capability belongs to another part of kit are registered too and say
which capability is missing instead of pretending.
"""

from __future__ import annotations

import base64
import os
import sys
from typing import TYPE_CHECKING

from kit_py.config import THINKING_LEVELS
from kit_py.repl import stats
from kit_py.repl.branch_commands import (
    clone_command,
    fork_command,
    label_command,
    resume_command,
    tree_command,
)
from kit_py.repl.exchange_commands import export_command, import_command, share_command
from kit_py.repl.registry import Command, Completer, Registry
from kit_py.repl.tool_commands import show_servers, show_tools
from kit_py.session.format import message_text, typed_text
from kit_py.terminal.theme import THEMES

if TYPE_CHECKING:
    from kit_py.llm import Usage
    from kit_py.repl.face import ReplFace as Repl


MAX_MODEL_COMPLETIONS = 100
MODEL_EXAMPLES = (
    "anthropic/claude-sonnet-4-5",
    "anthropic/claude-opus-4-1",
    "anthropic/claude-haiku-4-5",
    "openai/gpt-5",
    "openai/gpt-4o",
    "openai/gpt-4o-mini",
    "gemini/gemini-2.5-pro",
    "gemini/gemini-2.5-flash",
    "ollama/llama3.1",
    "openrouter/deepseek/deepseek-chat",
)


# --- handlers ---------------------------------------------------------------------------------------


def _help(repl: Repl, args: str) -> None:
    from rich.markup import escape

    if args:
        command = repl.registry.find(args.lstrip("/"))
        if command is None:
            repl.error(f"no command /{args.lstrip('/')}")
            return
        aliases = ", ".join(f"/{a}" for a in command.aliases)
        repl.console.print(f"[kit.accent]{escape(command.signature)}[/]  {command.help}", highlight=False)
        if aliases:
            repl.console.print(f"[kit.dim]aliases: {aliases}[/]", highlight=False)
        return
    from rich.table import Table

    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    for command in repl.registry.commands:
        aliases = " ".join(f"/{a}" for a in command.aliases)
        table.add_row(f"[kit.accent]{escape(command.signature)}[/]", command.help, f"[kit.dim]{aliases}[/]")
    repl.console.print(table)
    repl.console.print(
        "[kit.dim]Enter sends · Alt+Enter or Ctrl-J new line · @file attaches · !cmd runs a shell command "
        "(!!cmd without adding it) · Shift+Tab thinking level · Ctrl-O last tool output in full · "
        "Ctrl-R search history · Esc or Ctrl-C stops an answer · Ctrl-D quits[/]",
        highlight=False,
    )


def _model(repl: Repl, args: str) -> None:
    from rich.markup import escape

    if not args:
        repl.console.print(f"model: [kit.accent]{escape(repl.settings.model)}[/]", highlight=False)
        repl.note("switch with /model <litellm model string>, e.g. " + ", ".join(MODEL_EXAMPLES[:3]))
        return
    repl.set_model(args.split()[0])


def _complete_model(repl: Repl, prefix: str) -> list[str]:
    """The current model and common examples first, then every chat model litellm knows."""
    names = [repl.settings.model, *MODEL_EXAMPLES, *repl.known_models()]
    return [n for n in dict.fromkeys(names) if n.startswith(prefix)][:MAX_MODEL_COMPLETIONS]


def _thinking(repl: Repl, args: str) -> None:
    if not args:
        repl.console.print(f"thinking level: [kit.accent]{repl.settings.thinking_level}[/]", highlight=False)
        repl.note("choose one of " + ", ".join(THINKING_LEVELS) + " (Shift+Tab cycles)")
        return
    level = args.split()[0].lower()
    if level not in THINKING_LEVELS:
        repl.error(f"unknown thinking level {level!r}; choose one of {', '.join(THINKING_LEVELS)}")
        return
    repl.set_thinking(level)


def _theme(repl: Repl, args: str) -> None:
    if not args:
        repl.console.print(f"theme: [kit.accent]{repl.theme.name}[/]", highlight=False)
        repl.note(
            "available: "
            + ", ".join(THEMES)
            + (" (NO_COLOR is set: colours are off)" if os.environ.get("NO_COLOR") else "")
        )
        return
    name = args.split()[0].lower()
    if name not in THEMES:
        repl.error(f"unknown theme {name!r}; available: {', '.join(THEMES)}")
        return
    repl.set_theme(name)


def _safe(repl: Repl, args: str) -> None:
    setup = repl.tool_setup
    if setup is None:
        repl.error("no tools are offered in this run (--no-tools), so there is nothing to guard")
        return
    choice = args.split()[0].lower() if args else ""
    if choice not in ("", "on", "off"):
        repl.error(f"/safe takes on or off, not {choice!r}")
        return
    if choice:
        setup.set_safe_mode(choice == "on")
        repl.settings.safe_mode = setup.safe_mode
    state = "on: write, edit and bash ask first" if setup.safe_mode else "off: tools run without asking"
    repl.console.print(f"safe mode [kit.accent]{state}[/]", highlight=False)


def _name(repl: Repl, args: str) -> None:
    if not args:
        current = repl.session.name
        repl.console.print(
            f"session name: {current}" if current else "this session has no name yet",
            highlight=False,
            markup=False,
        )
        repl.note("set one with /name <name>")
        return
    repl.conversation.rename(args)
    repl.console.print(f"session named: {args}", markup=False, highlight=False)


def _session(repl: Repl, args: str) -> None:
    session = repl.session
    totals = stats.usage_totals(session.entries)
    tokens, window = repl.context_size()
    path = session.path
    rows = [
        (
            "path",
            "(in memory, not saved)"
            if session.in_memory
            else str(path) + ("" if path and path.exists() else " (not written yet)"),
        ),
        ("id", session.session_id),
        ("cwd", session.cwd),
        ("created", str(session.header.get("timestamp", ""))),
        ("name", session.name or "-"),
        ("entries", str(len(session.entries))),
        ("messages", f"{totals.messages} ({len(repl.path_messages())} on the current branch)"),
        ("leaf", session.leaf_id or "-"),
        ("state", session.state_hash or "- (no hash: empty, or last written by Go kit)"),
        ("model", f"{repl.settings.model} (thinking level {repl.settings.thinking_level})"),
        ("system", repl.conversation.system_prompt_origin()),
        (
            "tokens",
            f"{totals.input_tokens} in / {totals.output_tokens} out"
            + (f" / {totals.cache_read_tokens} cached" if totals.cache_read_tokens else ""),
        ),
        ("context", _context_line(tokens, window)),
        ("cost", stats.session_cost(totals)),
    ]
    for key, value in rows:  # plain lines: a long path must stay one copyable line
        repl.console.print(f"{key:<9} {value}", markup=False, highlight=False, soft_wrap=True)


def _context_line(tokens: int, window: int | None) -> str:
    if window:
        percent = 100 * tokens / window
        return f"{stats.human_tokens(tokens)} of {stats.human_tokens(window)} tokens ({percent:.0f}%)"
    return f"~{stats.human_tokens(tokens)} tokens (window unknown for this model)"


def _usage(repl: Repl, args: str) -> None:
    totals = stats.usage_totals(repl.session.entries)
    tokens, window = repl.context_size()
    lines = [
        f"input tokens:  {totals.input_tokens}",
        f"output tokens: {totals.output_tokens}",
        f"cache read:    {totals.cache_read_tokens}   cache write: {totals.cache_creation_tokens}",
        f"cached:        {_cached_line(totals, stats.last_answer_usage(repl.session.entries))}",
        f"answers:       {totals.answers}",
        f"cost:          {stats.session_cost(totals)}",
        f"context:       {_context_line(tokens, window)}",
    ]
    repl.console.print("\n".join(lines), markup=False, highlight=False)


def _cached_line(totals: Usage, last: Usage | None) -> str:
    """How much input came from the prompt cache, over the session and for the latest answer."""
    session, latest = stats.cached_percent(totals), stats.cached_percent(last)
    return f"{session or 0}% of session input, {latest or 0}% of the last answer's input"


def _new(repl: Repl, args: str) -> None:
    repl.conversation.new_session()
    repl.note("started a new session")
    if args:
        repl.submit(args)


def _clear(repl: Repl, args: str) -> None:
    previous = repl.session
    repl.console.clear()
    repl.conversation.new_session()
    kept = (
        f" (the previous one is saved: {previous.path})"
        if previous.entries and not previous.in_memory
        else ""
    )
    repl.note("cleared: a fresh conversation starts here" + kept)


def _undo(repl: Repl, args: str) -> None:
    target = repl.conversation.undo()
    if target is None:
        repl.note("nothing to undo")
        return
    text = typed_text(target)
    repl.pending_input = text
    repl.note(f"undone: {_short(text)} — the branch stays in the session file; your prompt is back to edit")


def _retry(repl: Repl, args: str) -> None:
    again = repl.conversation.prepare_retry()
    if again is None:
        repl.note("nothing to retry")
        return
    typed = typed_text(again)
    repl.note(f"retrying: {_short(typed)}")
    repl.run_turn(again, typed)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:59] + "…"


def osc52(text: str) -> str:
    """The escape sequence that asks the terminal to put `text` on the clipboard. Sent plain, also
    inside tmux: tmux 3.3+ takes plain OSC 52 (set-clipboard) and drops the old DCS-wrapped form."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{payload}\x07"


CLIPBOARD_TOOLS = (
    ("WAYLAND_DISPLAY", ("wl-copy",)),
    ("DISPLAY", ("xclip", "-selection", "clipboard")),
    ("DISPLAY", ("xsel", "--clipboard", "--input")),
    ("", ("pbcopy",)),
    ("", ("clip.exe",)),
)


def copy_with_local_tool(text: str) -> str | None:
    """Put `text` on the clipboard with a local clipboard program; returns its name, None if none
    is usable here (no display, not installed, or it failed)."""
    import shutil
    import subprocess

    for needs, command in CLIPBOARD_TOOLS:
        if (needs and not os.environ.get(needs)) or shutil.which(command[0]) is None:
            continue
        try:
            subprocess.run(command, input=text.encode("utf-8"), check=True, timeout=5, capture_output=True)
        except (OSError, subprocess.SubprocessError):
            continue
        return command[0]
    return None


def _copy(repl: Repl, args: str) -> None:
    for entry in reversed(repl.session.path_entries()):
        if entry.get("type") == "message" and entry.get("role") == "assistant":
            text = message_text(entry)
            if text:
                tool = copy_with_local_tool(text)
                repl.console.file.flush()
                sys.stdout.write(osc52(text))
                sys.stdout.flush()
                if tool:
                    repl.note(f"copied the last answer ({len(text)} characters) to the clipboard with {tool}")
                else:
                    repl.note(
                        f"asked the terminal to copy the last answer ({len(text)} characters; OSC 52): "
                        "terminals that do not allow clipboard access ignore it"
                    )
                return
    repl.note("no answer to copy yet")


def _reasoning(repl: Repl, args: str) -> None:
    for entry in reversed(repl.session.path_entries()):
        if entry.get("type") == "message" and entry.get("role") == "assistant":
            thoughts = [
                str((p.get("data") or {}).get("thinking", ""))
                for p in entry.get("parts", [])
                if p.get("type") == "reasoning"
            ]
            if any(thoughts):
                repl.console.print(
                    "\n\n".join(thoughts), style="kit.reasoning", markup=False, highlight=False
                )
                return
            break
    repl.note("the last answer has no reasoning")


def _compact(repl: Repl, args: str) -> None:
    repl.compact(args or None)


def _cd(repl: Repl, args: str) -> None:
    """/cd [path]: work somewhere else; without a path, in the directory the session was started in."""
    from pathlib import Path

    target = Path(args).expanduser() if args else Path(repl.session.cwd or repl.cwd)
    if not target.is_absolute():
        target = repl.cwd / target
    if not target.is_dir():
        repl.error(f"not a directory: {target}")
        return
    repl.change_directory(Path(os.path.normpath(target)))
    repl.note(f"tools, !commands and @files now work in {repl.cwd}")


def _quit(repl: Repl, args: str) -> None:
    repl.exit_requested = True


def _complete_from(values: tuple[str, ...] | list[str]) -> Completer:
    def complete(repl: Repl, prefix: str) -> list[str]:
        return [v for v in values if v.startswith(prefix.lower())]

    return complete


def _complete_command(repl: Repl, prefix: str) -> list[str]:
    return [c.name for c in repl.registry.commands if c.name.startswith(prefix.lstrip("/"))]


COMMANDS: list[Command] = [
    Command(
        "help", "show commands, or help for one command", _help, ("h", "?"), "[command]", _complete_command
    ),
    Command("model", "show or switch the model (remembered)", _model, ("m",), "[name]", _complete_model),
    Command(
        "thinking",
        "show or set the thinking level (remembered)",
        _thinking,
        ("think",),
        "[level]",
        _complete_from(THINKING_LEVELS),
    ),
    Command(
        "theme",
        "show or switch the colour theme (remembered)",
        _theme,
        (),
        "[name]",
        _complete_from(tuple(THEMES)),
    ),
    Command(
        "safe",
        "ask before write, edit and bash actions",
        _safe,
        (),
        "[on|off]",
        _complete_from(("on", "off")),
    ),
    Command("tools", "list the tools the model can use (built-in and MCP)", show_tools),
    Command("servers", "MCP servers: state, tool count, errors", show_servers, ("mcp",)),
    Command("name", "show or set this session's name", _name, (), "[name]"),
    Command("session", "session details: file, id, entries, tokens, cost", _session, ("info",)),
    Command("usage", "token usage, cost and context size", _usage, ("u",)),
    Command("new", "start a new session (optionally with a first prompt)", _new, ("n",), "[prompt]"),
    Command("clear", "clear the screen and start a fresh conversation", _clear, ("c", "cls")),
    Command("undo", "step back before your last message (kept as a branch)", _undo),
    Command("retry", "ask your last message again (the old answer stays as a branch)", _retry, ("again",)),
    Command("copy", "copy the last answer to the clipboard", _copy, ("cp",)),
    Command("reasoning", "show the full reasoning of the last answer", _reasoning, ("thoughts",)),
    Command("compact", "summarize older messages to free context", _compact, ("co",), "[focus]"),
    Command("tree", "browse the session tree: switch branches, edit an earlier message, label", tree_command),
    Command("label", "label where you are (no text: clear its label)", label_command, (), "[text]"),
    Command("fork", "start a new session from an earlier message of yours", fork_command),
    Command("clone", "copy this branch into a new session and continue there", clone_command),
    Command("resume", "switch to another saved session (a picker)", resume_command, ("r",)),
    Command(
        "export",
        "export the session: .jsonl (the file), .md (this branch) or .html (a viewer)",
        export_command,
        (),
        "[path] [--force]",
    ),
    Command(
        "import", "import a kit, Go kit, pi or kit Markdown session and open it", import_command, (), "<path>"
    ),
    Command(
        "share",
        "upload the session as a secret gist (gh), asking about secrets found",
        share_command,
        (),
        "[--yes|--redact]",
        _complete_from(("--yes", "--redact")),
    ),
    Command("cd", "tools work in another directory (default: the session's own)", _cd, (), "[path]"),
    Command("quit", "leave kit (Ctrl-D works too)", _quit, ("q", "exit")),
]
REGISTRY = Registry(COMMANDS)
