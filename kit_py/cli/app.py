"""`kit` command line: flags, stdin handling, and the choice between print mode and the REPL.

`kit [PROMPT]` is the default command; a first word naming a subcommand (see SUBCOMMANDS) runs it
instead. Everything heavy is imported lazily so `--version` and `--help` stay instant. The typer apps
are run by `kit_py.cli.main.run`, which maps every failure to one stderr line and an exit code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kit_py import __version__
from kit_py.cli.sessions import sessions_app  # noqa: F401  (main.run dispatches `kit sessions` to it)

SUBCOMMANDS = ("sessions", "completion", "export", "import", "share", "worker")
EXAMPLES = """\b
Examples:
  kit                                   chat in this directory (a new session)
  kit -c                                continue the most recent session here
  kit -r                                pick a saved session to continue
  kit "why does this test fail?"        answer once, then exit
  git diff | kit "review this"          piped text is sent with the prompt
  kit -i "plan the refactor"            open the chat with a first message
  kit -m openai/gpt-4o --no-session     any litellm model; write nothing at all
  kit --json "list three colours"       one JSON document for scripts

"""
EPILOG = EXAMPLES + (
    "Subcommands: kit sessions list|show|search|reindex|rm|restore|rename|prune|stats|verify|audit "
    "finds, inspects, tidies and verifies saved sessions (kit sessions --help); "
    "kit completion [bash|zsh|fish] [--install] prints or installs shell completion; "
    "kit export SESSION [PATH] writes .jsonl, .md or .html; kit import FILE brings in a kit, Go kit, pi or "
    "Markdown session; kit share SESSION uploads it as a secret gist; "
    "kit worker status|start|stop controls the warm worker that answers one-shot runs. "
    "Environment: KIT_MODEL, KIT_API_BASE, KIT_API_KEY, KIT_HOME (sessions root, default ~/.kit), "
    "KIT_CONFIG_DIR (config and preferences), KIT_NO_WORKER=1 (no warm worker), KIT_WORKER_DIR (its folder)."
)

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _version_callback(value: bool) -> None:
    if value:
        print(f"kit {__version__}")
        raise typer.Exit()


@app.command(
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
    options_metavar="[OPTIONS]",
)
def chat(
    prompt: Annotated[
        list[str] | None,
        typer.Argument(help="Prompt words; '-' reads the prompt from stdin. Omit for the REPL."),
    ] = None,
    print_mode: Annotated[
        bool, typer.Option("-p", "--print", help="Answer once and exit (print mode).")
    ] = False,
    interactive: Annotated[
        bool,
        typer.Option(
            "-i", "--interactive", "--no-exit", help="Open the chat with PROMPT as its first message."
        ),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "-m",
            "--model",
            envvar="KIT_MODEL",
            metavar="MODEL",
            help="Any litellm model string, e.g. anthropic/claude-sonnet-4-5 or openai/gpt-4o.",
        ),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option(
            "--api-base",
            envvar="KIT_API_BASE",
            metavar="URL",
            help="Base URL of the provider API (for this model's provider only).",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", envvar="KIT_API_KEY", metavar="KEY", help="API key (for this model's provider only)."
        ),
    ] = None,
    system_prompt: Annotated[
        str | None,
        typer.Option(
            "--system-prompt",
            metavar="TEXT|@FILE",
            help="Replace the default system prompt; @file reads it from a file; '' sends none.",
        ),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, metavar="N", help="Cap on answer tokens.")
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option("--temperature", min=0.0, max=2.0, metavar="T", help="Sampling temperature, 0 to 2."),
    ] = None,
    thinking_level: Annotated[
        str | None,
        typer.Option(
            "--thinking-level", metavar="LEVEL", help="Reasoning effort: off, minimal, low, medium or high."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.1, metavar="SECONDS", help="Seconds before a request gives up."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with answer, usage, messages.")
    ] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only the final text.")] = False,
    no_stdin: Annotated[bool, typer.Option("--no-stdin", help="Ignore piped stdin.")] = False,
    continue_: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the most recent session of this directory.")
    ] = False,
    session_ref: Annotated[
        str | None,
        typer.Option(
            "-s", "--session", metavar="ID|NAME|PATH", help="Open a session by id prefix, name or file path."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("-r", "--resume", help="Pick a saved session to continue (a full-screen picker).")
    ] = False,
    fork_ref: Annotated[
        str | None,
        typer.Option(
            "--fork",
            metavar="ID|NAME|PATH",
            help="Start a new session from a message of a saved one (with a prompt: from its whole branch).",
        ),
    ] = None,
    no_session: Annotated[
        bool, typer.Option("--no-session", help="Keep everything in memory; write nothing.")
    ] = False,
    tools: Annotated[
        str | None,
        typer.Option(
            "--tools", metavar="LIST", help="Comma-separated tools to offer: read,write,edit,bash,ls,grep."
        ),
    ] = None,
    no_tools: Annotated[bool, typer.Option("--no-tools", help="Offer the model no tools.")] = False,
    mcp: Annotated[
        list[str] | None,
        typer.Option(
            "--mcp",
            metavar="NAME=COMMAND",
            help="Add an MCP server for this run: a command line (stdio) or an http(s) URL. Repeatable.",
        ),
    ] = None,
    safe: Annotated[
        bool | None, typer.Option("--safe/--no-safe", help="Ask before any write, edit or bash action.")
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option("--max-steps", min=1, metavar="N", help="Most model steps (tool rounds) per turn."),
    ] = None,
    auto_compact: Annotated[
        bool | None,
        typer.Option(
            "--auto-compact/--no-auto-compact",
            help="Compact the history before a turn that would overflow the window.",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show litellm's logs and tracebacks.")] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    """Chat with any LLM from the terminal; every conversation is a branchable session tree."""
    from kit_py.cli.launch import RunOptions, run
    from kit_py.errors import UsageError

    if no_tools and tools is not None:
        raise UsageError("--tools and --no-tools contradict each other; use one")
    if no_tools and mcp:
        raise UsageError("--mcp and --no-tools contradict each other; use one")
    if json_output and quiet:
        raise UsageError("--json and --quiet contradict each other; use one")
    if interactive and (print_mode or json_output or quiet):
        raise UsageError("--interactive opens the chat; it cannot be used with --print, --json or --quiet")
    options = RunOptions(
        words=list(prompt or []),
        print_mode=print_mode,
        interactive=interactive,
        cli_settings={
            "model": model,
            "api_base": api_base,
            "api_key": api_key,
            "system_prompt": system_prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "thinking_level": thinking_level,
            "timeout": timeout,
            "tools": [] if no_tools else _split_names(tools),
            "safe_mode": safe,
            "max_steps": max_steps,
            "auto_compact": auto_compact,
            "mcp_servers": _mcp_servers(mcp),
        },
        json_output=json_output,
        quiet=quiet,
        no_stdin=no_stdin,
        continue_recent=continue_,
        session_ref=session_ref,
        resume=resume,
        fork_ref=fork_ref,
        no_session=no_session,
        debug=debug,
    )
    raise typer.Exit(run(options))


def _split_names(value: str | None) -> list[str] | None:
    return None if value is None else [name.strip() for name in value.split(",") if name.strip()]


def _mcp_servers(specs: list[str] | None) -> dict[str, str] | None:
    """`--mcp NAME=COMMAND` flags as config entries (checked at once: a bad one is a usage error)."""
    if not specs:
        return None
    from kit_py.errors import UsageError
    from kit_py.tools.mcp.config import parse_cli_server

    try:
        return dict(parse_cli_server(spec) for spec in specs)
    except ValueError as exc:
        raise UsageError(f"--mcp: {exc}") from None


completion_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@completion_app.command("completion", context_settings={"help_option_names": ["-h", "--help"]})
def completion(
    shell: Annotated[str | None, typer.Argument(help="bash, zsh or fish (default: from $SHELL).")] = None,
    install: Annotated[
        bool, typer.Option("--install", help="Install it for this user, don't print it.")
    ] = False,
) -> None:
    """Print the shell completion script (source it), or install it with --install."""
    from kit_py.cli.completion import completion_command

    raise typer.Exit(completion_command(shell, install))
