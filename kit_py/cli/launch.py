"""Glue between parsed flags and the engine: settings, prompt, which conversation, then print mode or REPL."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.errors import SessionError, UsageError

if TYPE_CHECKING:
    from kit_py.config import Settings
    from kit_py.engine.approval import ApproveCallback, ToolSetup
    from kit_py.engine.conversation import Conversation, FailurePolicy


@dataclass
class RunOptions:
    words: list[str]
    print_mode: bool = False
    cli_settings: dict[str, Any] = field(default_factory=dict)
    json_output: bool = False
    quiet: bool = False
    no_stdin: bool = False
    continue_recent: bool = False
    session_ref: str | None = None
    no_session: bool = False
    debug: bool = False


def open_conversation(
    options: RunOptions, cwd: str, settings: Settings, tools: ToolSetup, failure_policy: FailurePolicy
) -> Conversation:
    """The conversation this run drives: continued, opened by reference, in memory, or new."""
    from kit_py.engine.conversation import Conversation
    from kit_py.session import catalog

    chosen = sum([options.continue_recent, options.session_ref is not None, options.no_session])
    if chosen > 1:
        raise UsageError("use only one of --continue, --session and --no-session")
    kwargs: dict[str, Any] = {"tools": tools, "failure_policy": failure_policy}
    if options.no_session:
        return Conversation.create(settings, cwd, in_memory=True, **kwargs)
    if options.session_ref is not None:
        given = Path(options.session_ref).expanduser()
        if given.is_file():  # a path opens even when its header line is damaged (tolerant load)
            return _open_reporting_warnings(given, settings, kwargs)
        try:
            found = catalog.find_session(options.session_ref, root=catalog.kit_home(), cwd=cwd)
        except LookupError as exc:
            raise SessionError(str(exc)) from None
        return _open_reporting_warnings(found.path, settings, kwargs)
    if options.continue_recent:
        recent = _reporting_warnings(lambda: Conversation.continue_recent(settings, cwd, **kwargs))
        if recent is not None:
            return recent
        print("kit: no earlier session in this directory; starting a new one", file=sys.stderr)
    return Conversation.create(settings, cwd, **kwargs)


def _open_reporting_warnings(path: Path, settings: Settings, kwargs: dict[str, Any]) -> Conversation:
    from kit_py.engine.conversation import Conversation

    conversation = _reporting_warnings(lambda: Conversation.open(Path(path), settings, **kwargs))
    assert conversation is not None
    return conversation


def _reporting_warnings(opening: Callable[[], Conversation | None]) -> Conversation | None:
    """Open a session file; what its tolerant load skipped is said on stderr, line by line."""
    try:
        conversation = opening()
    except OSError as exc:
        raise SessionError(f"cannot open session {exc.filename}: {exc.strerror or exc}") from None
    for warning in conversation.session.warnings if conversation is not None else []:
        print(f"kit: warning: {warning}", file=sys.stderr)
    return conversation


def run(options: RunOptions) -> int:
    """Decide between print mode and the REPL and run it; returns the exit code."""
    from kit_py.config import read_system_prompt, resolve_settings

    cli = dict(options.cli_settings)
    cli["system_prompt"] = read_system_prompt(cli.get("system_prompt"))
    settings = resolve_settings(cli)
    stdin_text = None if options.no_stdin else _stdin_if_piped()
    interactive = not options.words and stdin_text is None and not options.print_mode and sys.stdin.isatty()
    from kit_py.session.cwd import logical_cwd

    cwd = logical_cwd()
    if interactive:
        # No approve callback: the REPL asks through its own prompt. A failed answer is stepped
        # back from (the REPL gives the prompt back to edit); it stays in the file as a side branch.
        tools = build_tool_setup(settings, cwd, approve=None)
        from kit_py.repl import run_repl

        return run_repl(
            lambda: open_conversation(options, cwd, settings, tools, "discard"), debug=options.debug
        )
    from kit_py.terminal.approval_prompt import ask_on_terminal

    tool_setup = build_tool_setup(settings, cwd, approve=ask_on_terminal)
    from kit_py.cli.stdin import compose_prompt

    prompt = compose_prompt(options.words, stdin_text)
    conversation = open_conversation(options, cwd, settings, tool_setup, "keep")
    from kit_py import llm
    from kit_py.cli import signals
    from kit_py.cli.print_mode import OutputMode, run_oneshot

    llm.load_litellm(debug=options.debug)
    conversation.check_model()
    mode = OutputMode(json=options.json_output, quiet=options.quiet, debug=options.debug)
    signals.stop_gracefully_on_termination()
    return signals.exit_code(run_oneshot(conversation, prompt, mode))


def build_tool_setup(settings: Settings, cwd: str, approve: ApproveCallback | None) -> ToolSetup:
    """The tools offered (settings.tools: None = all built-ins, [] = none) and who approves actions.

    An unknown name in `--tools` or the config's `tools` is a usage error before anything else runs.
    """
    from kit_py.engine.approval import ToolSetup
    from kit_py.tools import select_tools

    try:
        tools = select_tools(settings.tools)
    except ValueError as exc:
        source = settings.sources.get("tools", "command line")
        where = "--tools" if source == "command line" else f"{source}: tools"
        raise UsageError(f"{where}: {exc}") from None
    return ToolSetup(tools=tools, cwd=Path(cwd), safe_mode=settings.safe_mode, approve=approve)


def _stdin_if_piped() -> str | None:
    from kit_py.cli.stdin import read_piped_stdin

    return read_piped_stdin()
