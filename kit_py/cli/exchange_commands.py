"""`kit export`, `kit import` and `kit share`: moving sessions in and out from the shell.

The work is done by `kit_py.exchange` (the same functions `/export`, `/import` and `/share` call);
this module is flags, where the answer goes (stdout: the path or URL, or one JSON object with
`--json`; notes and warnings: stderr) and, for `share`, the question about secrets on a terminal.
Only typer is imported at start-up.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from kit_py.exchange.secrets import Finding
    from kit_py.exchange.share import Decision
    from kit_py.session import SessionManager

_HELP = {"help_option_names": ["-h", "--help"]}


def _json(value: object) -> None:
    import orjson

    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def open_session(ref: str) -> SessionManager:
    """A saved session by path, id prefix or name, as `kit -s` finds it (warnings said on stderr)."""
    from pathlib import Path

    from kit_py import catalog
    from kit_py.errors import SessionError
    from kit_py.session import SessionManager
    from kit_py.session.cwd import logical_cwd

    path = Path(ref).expanduser()
    if not path.is_file():
        try:
            path = catalog.find_session(ref, root=catalog.kit_home(), cwd=logical_cwd()).path
        except LookupError as exc:
            raise SessionError(str(exc)) from None
    try:
        session = SessionManager.open(path)
    except OSError as exc:
        raise SessionError(f"cannot open session {path}: {exc.strerror or exc}") from None
    for warning in session.warnings:
        print(f"kit: warning: {warning}", file=sys.stderr)
    return session


export_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@export_app.command("export", context_settings=_HELP)
def export(
    session: Annotated[str, typer.Argument(help="The session: a path, an id prefix or its name.")],
    path: Annotated[
        str | None,
        typer.Argument(
            help="Where: a .jsonl, .md or .html path, a folder, or just md/html/jsonl. Default: "
            "<name>-<id>.html here."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print {path, format, bytes, session_id}.")
    ] = False,
) -> None:
    """Write a session as JSONL (a byte copy), Markdown (the active path) or a self-contained HTML viewer."""
    from pathlib import Path

    from kit_py.exchange.export import export_session
    from kit_py.session.cwd import logical_cwd

    result = export_session(open_session(session), path, cwd=Path(logical_cwd()), force=force)
    if json_output:
        _json(result.as_json())
    else:
        print(result.path)
        print(
            f"kit: exported session {result.session_id[:8]} as {result.format} ({result.bytes:,} bytes)",
            file=sys.stderr,
        )


import_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@import_app.command("import", context_settings=_HELP)
def import_(
    file: Annotated[
        str, typer.Argument(help="A kit or Go kit .jsonl, a pi session file, or kit's Markdown export.")
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print {path, session_id, format, source, entries, warnings}.")
    ] = False,
) -> None:
    """Bring a session in as a NEW session of this directory (the file itself is never changed) and open it.

    On a terminal the chat opens on it; otherwise the new session's path is printed."""
    from pathlib import Path

    from kit_py.exchange.importer import import_session, open_imported
    from kit_py.session.cwd import logical_cwd

    result = import_session(Path(file), logical_cwd())
    open_imported(result).close()
    if json_output:
        _json(result.as_json())
        return
    for warning in result.warnings:
        print(f"kit: warning: {warning}", file=sys.stderr)
    print(
        f"kit: imported {result.format} session {result.source} ({result.entries} entries) as "
        f"{result.session_id[:8]}; continue it with: kit -s {result.session_id[:8]}",
        file=sys.stderr,
    )
    if sys.stdin.isatty() and sys.stdout.isatty():
        from kit_py.cli.launch import RunOptions, run

        raise typer.Exit(run(RunOptions(words=[], session_ref=str(result.path))))
    print(result.path)


share_app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _ask_on_terminal(findings: list[Finding]) -> Decision:
    """Show what looks like a secret and ask; without a terminal, refuse with what to run instead."""
    from kit_py.exchange.errors import ShareError
    from kit_py.exchange.secrets import describe

    count = f"{len(findings)} possible secret{'s' if len(findings) != 1 else ''}"
    print(f"kit: found {count} in this session:", file=sys.stderr)
    for line in describe(findings):
        print(line, file=sys.stderr)
    if not sys.stdin.isatty():
        raise ShareError(
            f"not shared ({count}): run again with --redact to replace them or --yes to upload them"
        )
    while True:
        print("Upload anyway? [y]es as they are, [r]edact them, [N]o: ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer in ("y", "yes"):
            return "upload"
        if answer in ("r", "redact"):
            return "redact"
        if answer in ("", "n", "no"):
            return "cancel"


@share_app.command("share", context_settings=_HELP)
def share(
    session: Annotated[str, typer.Argument(help="The session: a path, an id prefix or its name.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Upload without asking about secrets found.")
    ] = False,
    redact: Annotated[
        bool, typer.Option("--redact", help="Replace secrets found with [REDACTED ...].")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print {url, files, session_id, secrets_found, redacted}.")
    ] = False,
) -> None:
    """Upload the session (HTML viewer + JSONL) as a SECRET gist with the GitHub CLI and print its URL."""
    from kit_py.exchange.share import share_session

    result = share_session(open_session(session), _ask_on_terminal, yes=yes, redact_secrets=redact)
    if json_output:
        _json(result.as_json())
    else:
        print(result.url)
        if result.redacted:
            print(f"kit: {result.secrets_found} secret(s) were redacted in the upload", file=sys.stderr)


EXCHANGE_APPS = {"export": export_app, "import": import_app, "share": share_app}
