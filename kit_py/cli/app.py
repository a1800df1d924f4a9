"""`kit` command line: flags, stdin handling, and the choice between print mode and the REPL.

`kit [PROMPT]` is the default command; a first word naming a subcommand (see SUBCOMMANDS) runs it
instead. Everything heavy is imported lazily so `--version` and `--help` stay instant.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.exceptions import TyperException

from kit_py import __version__
from kit_py.errors import ExitCode, KitError

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


def _report(error: KitError, debug: bool) -> int:
    if debug:
        import traceback

        traceback.print_exc()
    print(f"kit: error: {error.message}", file=sys.stderr)
    return int(error.exit_code)


def _wants_json(args: list[str]) -> bool:
    """Whether the chat command was asked for --json (words after `--` are prompt, not flags)."""
    flags = args[: args.index("--")] if "--" in args else args
    return "--json" in flags


def _json_failure(message: str, code: int) -> None:
    """With --json a failure is still one JSON object on stdout, so scripts can always parse it."""
    import json

    print(json.dumps({"error": message, "exit_code": code}, indent=2, ensure_ascii=False))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: every failure is one line on stderr and a distinct exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    subcommand = {"sessions": sessions_app, "completion": completion_app}.get(args[0]) if args else None
    prog_name = f"kit {args[0]}" if subcommand else "kit"
    failure: str | None = None
    try:
        code = (subcommand or app)(
            args=args[1:] if subcommand else args,
            prog_name=prog_name,
            standalone_mode=False,
        )
    except KitError as error:
        code, failure = _report(error, debug), error.message
    except KeyboardInterrupt:
        print("kit: interrupted", file=sys.stderr)
        code, failure = int(ExitCode.INTERRUPTED), "interrupted"
    except typer.Exit as error:
        code = error.exit_code
    except typer.Abort:
        code, failure = int(ExitCode.INTERRUPTED), "interrupted"
    except TyperException as error:  # bad flags and values: click's message, on one line
        failure = " ".join(error.format_message().split())
        print(f"kit: error: {failure} (see {prog_name} --help)", file=sys.stderr)
        code = int(ExitCode.USAGE)
    except Exception as error:
        if debug:
            raise
        failure = f"internal error: {type(error).__name__}: {error}"
        print(f"kit: {failure} (run with --debug for details)", file=sys.stderr)
        code = int(ExitCode.ERROR)
    if failure is not None and subcommand is None and _wants_json(args):
        _json_failure(failure, int(code))
    hard_exit(int(code or 0))


def hard_exit(code: int) -> None:
    """Skip the ~1 s interpreter teardown litellm causes, after flushing everything we own."""
    import os

    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        code = code or 1
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
