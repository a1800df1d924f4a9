"""Console-script entry point: answers `--version` before importing anything else.

`run(argv)` is the whole CLI (typer dispatch, subcommands, error reporting, exit codes) and returns the
exit code, so it can be called in-process (the tests do); `main()` is the thin process wrapper that
calls it and then leaves without the slow interpreter teardown.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kit_py.errors import KitError


def main() -> None:
    """`kit`: `--version` answers at once; everything else runs `run()` and exits with its code."""
    if sys.argv[1:] in (["--version"], ["-V"]):
        from kit_py import __version__

        print(f"kit {__version__}")
        return
    hard_exit(run(sys.argv[1:]))


def run(argv: list[str]) -> int:
    """Run the CLI on `argv` (without the program name); every failure is one line on stderr and a
    distinct exit code, which is returned."""
    import typer
    from typer.exceptions import TyperException

    from kit_py.cli.app import app, completion_app, sessions_app
    from kit_py.cli.exchange_commands import EXCHANGE_APPS
    from kit_py.cli.worker_command import worker_app
    from kit_py.errors import ExitCode, KitError

    args = list(argv)
    debug = "--debug" in args
    subcommands = {
        "sessions": sessions_app, "completion": completion_app, "worker": worker_app, **EXCHANGE_APPS
    }
    subcommand = subcommands.get(args[0]) if args else None
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
        if debug:  # the full traceback, as an uncaught exception would show it, and status 1
            import traceback

            traceback.print_exc()
            return 1
        failure = f"internal error: {type(error).__name__}: {error}"
        print(f"kit: {failure} (run with --debug for details)", file=sys.stderr)
        code = int(ExitCode.ERROR)
    if failure is not None and subcommand is None and _wants_json(args):
        _json_failure(failure, int(code))
    return int(code or 0)


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
