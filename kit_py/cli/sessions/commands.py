"""The `kit sessions` typer group: flags and help only; the work is imported when a command runs.

`kit sessions [--all] [--json] [--cleanup]` (no subcommand) is kept as an alias of `list` (and of
the empty-file cleanup), as it was before the subcommands existed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HELP = {"help_option_names": ["-h", "--help"]}
JSON_HELP = "Print one JSON document (see README)."

sessions_app = typer.Typer(
    add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False, context_settings=HELP
)

JsonFlag = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
AllFlag = Annotated[bool, typer.Option("--all", help="Every directory's sessions, not only this one's.")]


def _root() -> Path:
    from kit_py.catalog import kit_home

    return kit_home()


@sessions_app.callback(invoke_without_command=True)
def sessions(
    ctx: typer.Context,
    all_dirs: AllFlag = False,
    json_output: JsonFlag = False,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Delete old empty session files no process has open.")
    ] = False,
) -> None:
    """Find, inspect, search, tidy and verify saved sessions (no command: list this directory's)."""
    if ctx.invoked_subcommand is not None:
        return
    if cleanup:
        from kit_py.cli.sessions.tidy import cleanup_command

        raise typer.Exit(cleanup_command(json_output=json_output, root=_root()))
    from kit_py.cli.sessions.browse import list_command

    raise typer.Exit(
        list_command(
            all_dirs=all_dirs, json_output=json_output, name=None, since=None, model=None, root=_root()
        )
    )


@sessions_app.command("list")
def list_(
    all_dirs: AllFlag = False,
    name: Annotated[
        str | None, typer.Option("--name", metavar="TEXT", help="Name or first message contains TEXT.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="AGE", help="Modified within, e.g. 7d, 12h, 2w.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", metavar="M", help="Used a model whose name contains M.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Sessions newest first: id, age, messages on the current branch, tokens, cost, name."""
    from kit_py.cli.sessions.browse import list_command

    raise typer.Exit(
        list_command(
            all_dirs=all_dirs, json_output=json_output, name=name, since=since, model=model, root=_root()
        )
    )


@sessions_app.command("show")
def show(
    session: Annotated[str, typer.Argument(help="Session id prefix, name or path.")],
    tree: Annotated[bool, typer.Option("--tree", help="Every branch, not only the active path.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Show a session's active path (or its whole tree)."""
    from kit_py.cli.sessions.browse import show_command

    raise typer.Exit(show_command(session, tree=tree, json_output=json_output, root=_root()))


@sessions_app.command("search")
def search(
    text: Annotated[str, typer.Argument(help='Words (all must match), "a phrase", or word* for a prefix.')],
    all_dirs: AllFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """Full-text search of every message, best matches first, with highlighted snippets."""
    from kit_py.cli.sessions.find import search_command

    raise typer.Exit(search_command(text, all_dirs=all_dirs, json_output=json_output, root=_root()))


@sessions_app.command("reindex")
def reindex(json_output: JsonFlag = False) -> None:
    """Drop the search index and rebuild it from the session files."""
    from kit_py.cli.sessions.find import reindex_command

    raise typer.Exit(reindex_command(json_output=json_output, root=_root()))


@sessions_app.command("rm")
def rm(
    sessions: Annotated[list[str], typer.Argument(help="Session id prefixes, names or paths.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed without a terminal).")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Move sessions to the trash (KIT_HOME/trash); `restore` brings them back."""
    from kit_py.cli.sessions.tidy import rm_command

    raise typer.Exit(rm_command(sessions, yes=yes, json_output=json_output, root=_root()))


@sessions_app.command("restore")
def restore(
    session: Annotated[str, typer.Argument(help="Id prefix, name or path of a session in the trash.")],
    json_output: JsonFlag = False,
) -> None:
    """Put a session from the trash back where it was."""
    from kit_py.cli.sessions.tidy import restore_command

    raise typer.Exit(restore_command(session, json_output=json_output, root=_root()))


@sessions_app.command("rename")
def rename(
    session: Annotated[str, typer.Argument(help="Session id prefix, name or path.")],
    name: Annotated[str, typer.Argument(help="The new name.")],
    json_output: JsonFlag = False,
) -> None:
    """Name a session (as /name does in the REPL)."""
    from kit_py.cli.sessions.tidy import rename_command

    raise typer.Exit(rename_command(session, name, json_output=json_output, root=_root()))


@sessions_app.command("prune")
def prune(
    older_than: Annotated[
        str,
        typer.Option("--older-than", metavar="AGE", help="Delete sessions untouched this long, e.g. 90d."),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be deleted.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (needed without a terminal).")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Delete for good: sessions and trash older than a limit, and old empty files."""
    from kit_py.cli.sessions.tidy import prune_command

    raise typer.Exit(
        prune_command(older_than, dry_run=dry_run, yes=yes, json_output=json_output, root=_root())
    )


@sessions_app.command("stats")
def stats(
    since: Annotated[
        str | None, typer.Option("--since", metavar="AGE", help="Only activity within, e.g. 30d.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Sessions, messages, tokens and cost of every session, by model and by day."""
    from kit_py.cli.sessions.report import stats_command

    raise typer.Exit(stats_command(since=since, json_output=json_output, root=_root()))


@sessions_app.command("verify")
def verify(
    session: Annotated[str | None, typer.Argument(help="One session (default: this directory's).")] = None,
    all_dirs: AllFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """Check files: JSON, links, Go kit readability and the hash chain; exit 12 on a problem."""
    from kit_py.cli.sessions.report import verify_command

    raise typer.Exit(verify_command(session, all_dirs=all_dirs, json_output=json_output, root=_root()))


@sessions_app.command("audit")
def audit(json_output: JsonFlag = False) -> None:
    """The audit log: exports, shares, removals, restores and prunes."""
    from kit_py.cli.sessions.report import audit_command

    raise typer.Exit(audit_command(json_output=json_output, root=_root()))


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="URL",
        envvar="KIT_DATABASE_URL",
        help="The PostgreSQL store (the Python API's PostgresStore): postgresql://USER@HOST/DB.",
    ),
]
SchemaOption = Annotated[str, typer.Option("--schema", metavar="NAME", help="The store's PostgreSQL schema.")]


@sessions_app.command("export")
def export(
    sessions: Annotated[
        list[str], typer.Argument(metavar="ID...", help="Session ids (or id prefixes) in the store.")
    ],
    store: StoreOption = None,
    schema: SchemaOption = "kit",
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="PATH",
            help="A .jsonl, .md or .html file or a folder (default: this machine's sessions, for kit -s).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --to file.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Copy sessions from a PostgreSQL store into session files (only what the files lack)."""
    from kit_py.cli.sessions.transfer import export_command

    raise typer.Exit(
        export_command(
            sessions, url=store, schema=schema, to=to, force=force, json_output=json_output, root=_root()
        )
    )


@sessions_app.command("import")
def import_(
    sessions: Annotated[
        list[str],
        typer.Argument(metavar="SESSION...", help="Session files, or ids / names as kit -s finds them."),
    ],
    store: StoreOption = None,
    schema: SchemaOption = "kit",
    json_output: JsonFlag = False,
) -> None:
    """Copy session files into a PostgreSQL store under their own ids (only what the store lacks)."""
    from kit_py.cli.sessions.transfer import import_command

    raise typer.Exit(
        import_command(sessions, url=store, schema=schema, json_output=json_output, root=_root())
    )
