"""The audit log: who exported, shared, removed, restored or pruned which session, and when.

`<kit home>/audit.jsonl`, append-only, mode 0600, one JSON object per line:
`{"time": ISO 8601, "action": ..., "session_id": ... | null, **details}`. Each record is ONE
`os.write` on an O_APPEND descriptor, so concurrent kit processes never interleave a line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from kit_py.catalog.paths import audit_path

AUDIT_MODE = 0o600


@dataclass(frozen=True)
class AuditRecord:
    time: str
    action: str
    session_id: str | None
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "action": self.action, "session_id": self.session_id, **self.details}


def record_audit(action: str, session_id: str | None, *, root: Path | None = None, **details: object) -> None:
    """Append one record. Paths and other non-JSON values are written as strings.

    `root` is the kit home (default `$KIT_HOME`); details must not use the keys time/action/session_id.
    """
    path = audit_path(root)
    record: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "action": action,
        "session_id": session_id,
    }
    for key, value in details.items():
        if key in record:
            raise ValueError(f"audit detail {key!r} clashes with a record field")
        record[key] = value
    line = orjson.dumps(record, default=str) + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, AUDIT_MODE)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_audit(root: Path | None = None) -> list[AuditRecord]:
    """Every record, oldest first; a line that does not parse (a torn write) is skipped."""
    try:
        data = audit_path(root).read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in data.splitlines():
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("action"), str):
            continue
        sid = obj.pop("session_id", None)
        out.append(
            AuditRecord(
                time=str(obj.pop("time", "")),
                action=obj.pop("action"),
                session_id=sid if isinstance(sid, str) else None,
                details=obj,
            )
        )
    return out
