"""`/export [path]` and `kit export SESSION [path]`: one function for both, recorded in the audit log.

`.jsonl` is a byte copy of the session file (a session still in memory is written out the same way),
`.md` the active path as Markdown, `.html` the self-contained viewer of the whole tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit_py.catalog import record_audit
from kit_py.errors import KitError, UsageError
from kit_py.exchange.files import destination, write_new
from kit_py.exchange.html import render_html
from kit_py.exchange.markdown import render_markdown
from kit_py.session import SessionManager
from kit_py.session.format import dumps


@dataclass
class ExportResult:
    path: Path
    format: str
    bytes: int
    session_id: str

    def as_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "format": self.format,
            "bytes": self.bytes,
            "session_id": self.session_id,
        }


def jsonl_bytes(session: SessionManager) -> bytes:
    """The session file's bytes as they are; a session that has no file is serialized the same way."""
    if session.path is not None and session.path.exists():
        try:
            return session.path.read_bytes()
        except OSError as exc:
            raise KitError(f"cannot read {session.path}: {exc.strerror or exc}") from None
    lines = [dumps(session.header), *(dumps(entry) for entry in session.entries)]
    return b"".join(line + b"\n" for line in lines)


def render(session: SessionManager, kind: str) -> bytes:
    if kind == "html":
        return render_html(session)
    if kind == "markdown":
        return render_markdown(session)
    return jsonl_bytes(session)


def export_session(
    session: SessionManager, given: str | None, *, cwd: Path, force: bool = False
) -> ExportResult:
    """Write the session to `given` (a path, a bare extension, a folder, or None for the default name)."""
    if not session.entries:
        raise UsageError("nothing to export yet: this session has no messages")
    path, kind = destination(given, cwd, session.name, session.session_id)
    if session.path is not None and path.resolve() == session.path.resolve():
        raise UsageError(f"{path} is the session file itself; export to another path")
    data = render(session, kind)
    write_new(path, data, force=force)
    audit("export", session.session_id, f"{path} was written", path=str(path), format=kind, bytes=len(data))
    return ExportResult(path, kind, len(data), session.session_id)


def audit(action: str, session_id: str, done: str, **details: str | int | bool | list[str]) -> None:
    """Record an export or share in the audit log; when that fails, say so (what was done is done)."""
    try:
        record_audit(action, session_id, root=None, **details)
    except OSError as exc:
        raise KitError(f"{done}, but the audit log could not be written: {exc.strerror or exc}") from None
