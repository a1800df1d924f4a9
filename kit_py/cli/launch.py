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
    from kit_py.tools.mcp import McpServers


@dataclass
class RunOptions:
    words: list[str]
    print_mode: bool = False
    interactive: bool = False
    """`kit -i PROMPT`: the chat opens with PROMPT as its first message."""
    cli_settings: dict[str, Any] = field(default_factory=dict)
    json_output: bool = False
    quiet: bool = False
    no_stdin: bool = False
    continue_recent: bool = False
    session_ref: str | None = None
    resume: bool = False
    """`kit -r`: the chat opens on the session picker (`/resume`)."""
    fork_ref: str | None = None
    """`kit --fork ID`: the chat opens session ID on `/fork`; with a prompt, its branch is cloned."""
    no_session: bool = False
    debug: bool = False


def open_conversation(
    options: RunOptions, cwd: str, settings: Settings, tools: ToolSetup, failure_policy: FailurePolicy
) -> Conversation:
    """The conversation this run drives, its model when none was chosen, and the default system
    prompt when neither the settings nor the session have one."""
    conversation = _chosen_conversation(options, cwd, settings, tools, failure_policy)
    _model_chosen(conversation, options, interactive=failure_policy == "discard")  # "discard": the REPL
    if settings.system_prompt is None and conversation.system_prompt is None:  # "" means: send none
        from kit_py.engine.instructions import default_system_prompt
        from kit_py.llm import local

        offered = tools is not None and local.offers_tools(conversation.settings.model)
        builtin = tools.tools if offered else []  # MCP tools describe themselves in their schemas
        prompt = default_system_prompt(Path(cwd), [(t.name, t.description) for t in builtin])
        conversation.settings.system_prompt = prompt.text
        conversation.system_prompt_sources = prompt.sources
    return conversation


def _chosen_conversation(
    options: RunOptions, cwd: str, settings: Settings, tools: ToolSetup, failure_policy: FailurePolicy
) -> Conversation:
    """Continued, opened by reference, in memory, or new."""
    from kit_py import catalog
    from kit_py.engine.conversation import Conversation

    reference = options.session_ref if options.fork_ref is None else options.fork_ref
    kwargs: dict[str, Any] = {"tools": tools, "failure_policy": failure_policy}
    if options.no_session:
        return Conversation.create(settings, cwd, in_memory=True, **kwargs)
    if reference is not None:
        given = Path(reference).expanduser()
        if given.is_file():  # a path opens even when its header line is damaged (tolerant load)
            return _open_reporting_warnings(given, settings, kwargs)
        try:
            found = catalog.find_session(reference, root=catalog.kit_home(), cwd=cwd)
        except LookupError as exc:
            raise SessionError(str(exc)) from None
        return _open_reporting_warnings(found.path, settings, kwargs)
    if options.continue_recent:
        recent = _reporting_warnings(lambda: Conversation.continue_recent(settings, cwd, **kwargs))
        if recent is not None:
            return recent
        print("kit: no earlier session in this directory; starting a new one", file=sys.stderr)
    return Conversation.create(settings, cwd, **kwargs)


def _check_one_session_choice(options: RunOptions) -> None:
    chosen = [
        options.continue_recent,
        options.session_ref is not None,
        options.fork_ref is not None,
        options.resume,
        options.no_session,
    ]
    if sum(chosen) > 1:
        raise UsageError("use only one of --continue, --session, --resume, --fork and --no-session")


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
    from kit_py.llm import local

    local.configure(settings.local_models)  # `-m local/<alias>` finds its GGUF file
    stdin_text = None if options.no_stdin else _stdin_if_piped()
    if options.interactive and not sys.stdin.isatty():
        raise UsageError("--interactive needs a terminal on stdin (piped text: use kit \"PROMPT\" instead)")
    interactive = options.interactive or (
        not options.words and stdin_text is None and not options.print_mode and sys.stdin.isatty()
    )
    _check_one_session_choice(options)
    first_message = _first_message(options, interactive)
    from kit_py import llm

    llm.claim_process(debug=options.debug)  # `kit` owns its process; the Python API never does this
    from kit_py.session.cwd import logical_cwd

    cwd = logical_cwd()
    if interactive:
        # No approve callback: the REPL asks through its own prompt. A failed answer is stepped
        # back from (the REPL gives the prompt back to edit); it stays in the file as a side branch.
        tools = build_tool_setup(settings, cwd, approve=None)
        from kit_py.repl import run_repl

        try:
            return run_repl(
                lambda: open_conversation(options, cwd, settings, tools, "discard"),
                debug=options.debug,
                first_message=first_message,
            )
        finally:
            tools.close()  # MCP servers end with kit
    from kit_py.terminal.approval_prompt import ask_on_terminal

    tool_setup = build_tool_setup(settings, cwd, approve=ask_on_terminal)
    try:
        return _print_mode(options, settings, cwd, stdin_text, tool_setup)
    finally:
        tool_setup.close()


def _first_message(options: RunOptions, interactive: bool) -> str | None:
    """What the chat runs first: `-i PROMPT`, or the picker of `--resume` / `--fork` (their slash
    commands, so cancelling leaves the user in a working chat)."""
    if options.resume:
        if not interactive or options.words:
            raise UsageError(
                "--resume opens a session picker in the terminal and takes no prompt "
                "(from a script, continue a session with -c or -s ID)"
            )
        return "/resume"
    if options.fork_ref is not None and interactive:
        if options.interactive:
            raise UsageError("--fork opens a picker of your messages; give the prompt there, not with -i")
        return "/fork"
    return " ".join(options.words) if options.interactive else None


def _print_mode(
    options: RunOptions, settings: Settings, cwd: str, stdin_text: str | None, tool_setup: ToolSetup
) -> int:
    from kit_py.cli.stdin import compose_prompt

    prompt = compose_prompt(options.words, stdin_text)
    conversation = open_conversation(options, cwd, settings, tool_setup, "keep")
    if options.fork_ref is not None:  # the prompt goes to a copy of the session's whole branch
        conversation = _forked(conversation, quiet=options.quiet or options.json_output)
    from kit_py import llm
    from kit_py.cli import signals
    from kit_py.cli.print_mode import OutputMode, run_oneshot
    from kit_py.llm.worker import worker_calls

    tool_setup.warm_up()  # MCP servers start while litellm loads
    with worker_calls(settings.worker, settings.worker_idle_minutes, debug=options.debug) as routed:
        if not routed:  # with the warm worker (kit_py/llm/worker/) litellm is never imported here
            llm.load_litellm(debug=options.debug)
        conversation.check_model()
        mode = OutputMode(json=options.json_output, quiet=options.quiet, debug=options.debug)
        signals.stop_gracefully_on_termination()
        return signals.exit_code(run_oneshot(conversation, prompt, mode))


def _model_chosen(conversation: Conversation, options: RunOptions, *, interactive: bool) -> None:
    """The local model when no model was chosen and the default has no key, said on stderr, as is
    that the local model gets no tools (kit_py/cli/model_choice.py)."""
    from kit_py.cli.model_choice import apply_default_model, say_tools_unused

    apply_default_model(conversation, interactive=interactive, quiet=options.quiet)
    say_tools_unused(conversation.settings, quiet=options.quiet)


def _forked(source: Conversation, *, quiet: bool) -> Conversation:
    """A new session holding `source`'s current branch (`source` stays as it was)."""
    if source.session.leaf_id is None:
        raise UsageError(f"session {source.id[:12]} is empty: there is nothing to fork")
    forked = source.clone()
    forked.system_prompt_sources = source.system_prompt_sources
    source.close()
    if not quiet:
        print(f"kit: forked session {source.id[:12]} into {forked.id[:12]} ({forked.path})", file=sys.stderr)
    return forked


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
    setup = ToolSetup(tools=tools, cwd=Path(cwd), safe_mode=settings.safe_mode, approve=approve)
    if settings.mcp_servers and settings.tools != []:  # --no-tools: no MCP tools either
        setup.sources.append(configured_mcp_servers(settings, cwd))
    return setup


def configured_mcp_servers(settings: Settings, cwd: str) -> McpServers:
    """The configured MCP servers (not started yet); a bad entry is a usage error naming its file."""
    from kit_py.tools.mcp import McpServers, load_servers

    def where(name: str) -> str:
        source = settings.sources.get(f"mcp_servers.{name}", "command line")
        return f"--mcp {name}" if source == "command line" else f"{source}: mcp_servers.{name}"

    try:
        configs, warnings = load_servers(settings.mcp_servers, where)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for warning in warnings:
        print(f"kit: warning: {warning}", file=sys.stderr)
    return McpServers(configs, cwd)


def _stdin_if_piped() -> str | None:
    from kit_py.cli.stdin import read_piped_stdin

    return read_piped_stdin()
