"""`kit` command line: flags, stdin handling, and the choice between print mode and the REPL.

`kit [PROMPT]` is the default command; a first word naming a subcommand (see SUBCOMMANDS) runs it
instead. Everything heavy is imported lazily so `--version` and `--help` stay instant. The typer apps
are run by `kit_py.cli.main.run`, which maps every failure to one stderr line and an exit code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kit_py import __version__

SUBCOMMANDS = ("sessions", "completion")
EPILOG = (
    "Subcommands: kit sessions [--all|--json|--cleanup] lists (or tidies) saved sessions; "
    "kit completion [bash|zsh|fish] [--install] prints or installs shell completion. "
    "Environment: KIT_MODEL, KIT_API_BASE, KIT_API_KEY, KIT_HOME (sessions root, default ~/.kit), "
    "KIT_CONFIG_DIR (config and preferences)."
)

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _version_callback(value: bool) -> None:
    if value:
        print(f"kit {__version__}")
        raise typer.Exit()


@app.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
def chat(
    prompt: Annotated[
        list[str] | None,
        typer.Argument(help="Prompt words; '-' reads the prompt from stdin. Omit for the REPL."),
    ] = None,
    print_mode: Annotated[
        bool, typer.Option("-p", "--print", help="Answer once and exit (print mode).")
    ] = False,
    model: Annotated[
        str | None, typer.Option("-m", "--model", envvar="KIT_MODEL", help="Any litellm model string.")
    ] = None,
    api_base: Annotated[
        str | None, typer.Option("--api-base", envvar="KIT_API_BASE", help="Base URL of the provider API.")
    ] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="KIT_API_KEY", help="API key.")] = None,
    system_prompt: Annotated[
        str | None, typer.Option("--system-prompt", help="System prompt text, or @file to read it.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Cap on answer tokens.")
    ] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", min=0.0, max=2.0)] = None,
    thinking_level: Annotated[
        str | None, typer.Option("--thinking-level", help="off|minimal|low|medium|high")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.1, help="Seconds before giving up.")
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
        str | None, typer.Option("-s", "--session", help="Open a session by path or id prefix.")
    ] = None,
    no_session: Annotated[
        bool, typer.Option("--no-session", help="Keep everything in memory; write nothing.")
    ] = False,
    tools: Annotated[
        str | None,
        typer.Option("--tools", help="Comma-separated tools to offer: read,write,edit,bash,ls,grep."),
    ] = None,
    no_tools: Annotated[bool, typer.Option("--no-tools", help="Offer the model no tools.")] = False,
    safe: Annotated[
        bool | None, typer.Option("--safe/--no-safe", help="Ask before any write, edit or bash action.")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Most model steps (tool rounds) per turn.")
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
    if json_output and quiet:
        raise UsageError("--json and --quiet contradict each other; use one")
    options = RunOptions(
        words=list(prompt or []),
        print_mode=print_mode,
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
        },
        json_output=json_output,
        quiet=quiet,
        no_stdin=no_stdin,
        continue_recent=continue_,
        session_ref=session_ref,
        no_session=no_session,
        debug=debug,
    )
    raise typer.Exit(run(options))


def _split_names(value: str | None) -> list[str] | None:
    return None if value is None else [name.strip() for name in value.split(",") if name.strip()]


sessions_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@sessions_app.command("sessions", context_settings={"help_option_names": ["-h", "--help"]})
def sessions(
    all_dirs: Annotated[bool, typer.Option("--all", help="List sessions of every directory.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per session.")] = False,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Delete old empty session files no process has open.")
    ] = False,
) -> None:
    """List saved sessions of this directory, newest first."""
    from kit_py.cli.sessions_command import cleanup_command, list_sessions_command

    if cleanup:
        raise typer.Exit(cleanup_command())
    raise typer.Exit(list_sessions_command(all_dirs=all_dirs, json_output=json_output))


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
