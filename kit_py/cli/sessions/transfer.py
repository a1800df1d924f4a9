"""`kit sessions export --store URL` and `kit sessions import --store URL`: sessions between a
PostgreSQL store (the Python API's `PostgresStore`) and session files, in either direction.

Both append only what the other side lacks (`kit_py.api.transfer`), so running one again brings
just the new turns. A session exported into the CLI's sessions folder opens with `kit -s ID`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kit_py.cli.sessions.output import emit_json, resolve
from kit_py.errors import SessionError, UsageError

if TYPE_CHECKING:
    from kit_py.api.postgres import PostgresStore


def named_store(url: str | None) -> str:
    """The `--store` URL (or $KIT_DATABASE_URL); UsageError when none is named."""
    if not url:
        raise UsageError("name the store: --store postgresql://USER@HOST/DB (or set $KIT_DATABASE_URL)")
    return url


def open_store(url: str, schema: str) -> PostgresStore:
    """The PostgreSQL store at `url`; UsageError without psycopg or for a bad schema name."""
    try:
        from kit_py.api.postgres import PostgresStore
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    try:
        return PostgresStore(url, schema=schema, max_connections=2)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def stored_id(store: PostgresStore, ref: str) -> str:
    """The id `ref` names in the store: the id itself, or the one id it is a prefix of."""
    ids = store.list_sessions()
    if ref in ids:
        return ref
    matches = [i for i in ids if i.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SessionError(f"{ref!r} starts {len(matches)} session ids in {store.where}; give more of it")
    raise SessionError(f"no session {ref!r} in the PostgreSQL store {store.where}")


def export_command(
    refs: list[str],
    *,
    url: str | None,
    schema: str,
    to: str | None,
    force: bool,
    json_output: bool,
    root: Path,
) -> int:
    """Copy sessions out of the store: into the CLI's sessions (default) or to `to` (a file or folder)."""
    from kit_py.api.data import manager_from
    from kit_py.api.stores import JSONLStore
    from kit_py.api.transfer import copy_session
    from kit_py.exchange.export import export_session
    from kit_py.session.cwd import logical_cwd

    url = named_store(url)
    if to is not None and len(refs) > 1 and not Path(to).expanduser().is_dir():
        raise UsageError("several sessions go to a folder: give one that exists, or export them one by one")
    done = []
    with open_store(url, schema) as store:
        for ref in refs:
            session_id = stored_id(store, ref)
            if to is None:
                files = JSONLStore(root=root)
                count = copy_session(store, files, session_id)
                path = files.path_of(session_id)
            else:
                data = store.load(session_id)
                if data is None:
                    raise SessionError(f"session {session_id!r} left the store while it was exported")
                result = export_session(manager_from(data), to, cwd=Path(logical_cwd()), force=force)
                path, count = result.path, len(data["entries"])
            done.append({"id": session_id, "path": str(path), "entries": count})
            if not json_output:
                print(path)
                note = f"kit: exported {session_id[:12]} from {store.where} ({count} entries written)"
                print(note, file=sys.stderr)
        where = store.where
    if json_output:
        emit_json({"store": where, "sessions": done})
    return 0


def import_command(refs: list[str], *, url: str | None, schema: str, json_output: bool, root: Path) -> int:
    """Copy session files (paths, or sessions as `kit -s` finds them) into the store, ids kept."""
    from kit_py.api.transfer import store_session
    from kit_py.session import SessionManager
    from kit_py.session.cwd import logical_cwd

    url = named_store(url)
    paths = []
    for ref in refs:
        path = Path(ref).expanduser()
        paths.append(path if path.is_file() else resolve(ref, root, logical_cwd()).path)
    done = []
    with open_store(url, schema) as store:
        for path in paths:
            try:
                session = SessionManager.open(path)
            except OSError as exc:
                raise SessionError(f"cannot open session {path}: {exc.strerror or exc}") from None
            for warning in session.warnings:
                print(f"kit: warning: {path}: {warning}", file=sys.stderr)
            if not session.entries:
                raise SessionError(f"{path} has no entries: there is nothing to import")
            count = store_session(session, store)
            done.append({"id": session.session_id, "path": str(path), "entries": count})
            if not json_output:
                print(session.session_id)
                print(
                    f"kit: imported {path.name} into {store.where} as {session.session_id[:12]} "
                    f"({count} entries written)",
                    file=sys.stderr,
                )
        where = store.where
    if json_output:
        emit_json({"store": where, "sessions": done})
    return 0
