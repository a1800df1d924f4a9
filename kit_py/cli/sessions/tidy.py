"""`kit sessions rm | restore | rename | prune` and the old `--cleanup`: changing what is kept."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kit_py.cli.sessions.output import confirm, emit_json, resolve
from kit_py.errors import SessionError, UsageError

if TYPE_CHECKING:
    from kit_py.catalog import SessionInfo


def rm_command(refs: list[str], *, yes: bool, json_output: bool, root: Path) -> int:
    """Move sessions to the trash (all references are resolved before anything moves)."""
    from kit_py.catalog.trash import open_elsewhere, trash_session
    from kit_py.session.cwd import logical_cwd

    cwd = logical_cwd()
    infos: list[SessionInfo] = []
    for ref in refs:
        info = resolve(ref, root, cwd)
        if all(info.file != seen.file for seen in infos):
            infos.append(info)
    question = f"Move {len(infos)} session(s) to the trash ({', '.join(i.session_id[:12] for i in infos)})?"
    if not confirm(question, yes):
        print("kit: nothing removed", file=sys.stderr)
        return 1
    open_paths = open_elsewhere()
    removed = []
    for info in infos:
        trash = trash_session(info, root, open_paths)
        removed.append({"id": info.session_id, "path": info.file, "trash": str(trash)})
        if not json_output:
            print(f"removed {info.session_id[:12]} to {trash} (kit sessions restore {info.session_id[:12]})")
    if json_output:
        emit_json({"removed": removed})
    return 0


def restore_command(ref: str, *, json_output: bool, root: Path) -> int:
    from kit_py.catalog.trash import list_trash, restore_session

    info = resolve(ref, root, None, trash=True)
    trashed = next((t for t in list_trash(root) if t.info.file == info.file), None)
    if trashed is None:
        raise SessionError(f"{info.path} is not in the trash")
    target = restore_session(trashed, root)
    if json_output:
        emit_json({"restored": {"id": info.session_id, "path": str(target)}})
    else:
        print(f"restored {info.session_id[:12]} to {target}")
    return 0


def rename_command(ref: str, name: str, *, json_output: bool, root: Path) -> int:
    """Name a session: a `session_info` entry appended like `/name` does (locked, chained)."""
    from kit_py.session import SessionManager
    from kit_py.session.cwd import logical_cwd

    name = " ".join(name.split())
    if not name:
        raise UsageError("give the session a name that is not empty")
    info = resolve(ref, root, logical_cwd())
    with SessionManager.open(info.path) as session:
        session.set_name(name)
    if json_output:
        emit_json({"id": info.session_id, "path": info.file, "name": name})
    else:
        print(f"renamed {info.session_id[:12]}: {name}")
    return 0


def prune_command(older_than: str, *, dry_run: bool, yes: bool, json_output: bool, root: Path) -> int:
    """Delete for good: sessions untouched for `older_than`, trash removed longer ago, old empty files."""
    from kit_py.catalog.trash import apply_prune, plan_prune
    from kit_py.cli.sessions.output import parse_duration

    limit = parse_duration(older_than, "--older-than")
    if limit <= 0:
        raise UsageError("--older-than must be more than 0 (to remove every session, use kit sessions rm)")
    plan = plan_prune(root, limit)
    listed = (
        [
            {"id": i.session_id, "path": i.file, "reason": f"not modified for {older_than}"}
            for i in plan.sessions
        ]
        + [
            {"id": t.info.session_id, "path": t.info.file, "reason": f"in the trash for {older_than}"}
            for t in plan.trash
        ]
        + [{"id": i.session_id, "path": i.file, "reason": "empty"} for i in plan.empty]
    )
    skipped = [{"id": i.session_id, "path": i.file, "reason": "open in another process"} for i in plan.in_use]
    removed: list[Path] = []
    count = len(listed)
    if not dry_run and count:
        if not confirm(f"Delete {count} session file(s) for good?", yes):
            print("kit: nothing deleted", file=sys.stderr)
            return 1
        removed = apply_prune(plan, root, f"older than {older_than}")
    gone = {str(p) for p in removed}
    if json_output:
        emit_json(
            {
                "dry_run": dry_run,
                "older_than": older_than,
                "removed": [] if dry_run else [row for row in listed if row["path"] in gone],
                "would_remove": listed if dry_run else [],
                "skipped": skipped + ([] if dry_run else [row for row in listed if row["path"] not in gone]),
            }
        )
        return 0
    verb = "would delete" if dry_run else "deleted"
    for row in listed:
        if dry_run or row["path"] in gone:
            print(f"{verb} {row['path']} ({row['reason']})")
    for row in skipped:
        print(f"kept {row['path']} ({row['reason']})", file=sys.stderr)
    done = count if dry_run else len(gone)
    print(f"{verb} {done} session file(s)", file=sys.stderr)
    return 0


def cleanup_command(*, json_output: bool, root: Path) -> int:
    """`kit sessions --cleanup`: remove empty session files (Go kit leaves them) nobody has open."""
    from kit_py.catalog import cleanup_empty

    removed = cleanup_empty(root)
    if json_output:
        emit_json({"removed": [str(p) for p in removed]})
        return 0
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} empty session file(s) removed", file=sys.stderr)
    return 0
