"""`/import FILE` and `kit import FILE`: another session brought in as a NEW file of this directory.

The source is only read. What it is decides how: a kit or Go kit `.jsonl` keeps its lines byte for
byte under a new header; a pi session is converted (`pi.py`); a Markdown export of kit is read back
as a linear session (`markdown_import.py`). Converted entries go through `SessionManager` appends, so
they are validated as any kit entry and carry the integrity chain. The new header's `cwd` is this
directory (so `kit -c` finds it) and `imported_from` says where it came from. A file that cannot be
read is an error naming the line and the reason; nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kit_py.catalog import kit_home, sessions_dir_for
from kit_py.errors import KitError, SessionError
from kit_py.exchange import pi
from kit_py.exchange.errors import ImportFileError
from kit_py.exchange.markdown_import import is_markdown_export, parse_markdown
from kit_py.session import SessionManager, Tree
from kit_py.session import format as fmt
from kit_py.session.store import SessionFile

Entry = dict[str, Any]
_KIT_ID = re.compile(r"^[0-9a-f]{16}$")
_REFERENCES = {"compaction": "first_kept_entry_id", "label": "target_id", "branch_summary": "from_id"}


@dataclass
class ImportResult:
    path: Path
    session_id: str
    format: str
    """"kit" (kit or Go kit), "pi" or "markdown"."""
    source: Path
    entries: int
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "session_id": self.session_id,
            "format": self.format,
            "source": str(self.source),
            "entries": self.entries,
            "warnings": self.warnings,
        }


@dataclass
class _Lines:
    header: Entry
    rows: list[tuple[int, Entry, bytes]]
    warnings: list[str]


def _read(source: Path) -> bytes:
    try:
        return source.read_bytes()
    except FileNotFoundError:
        raise SessionError(f"cannot import {source}: no such file") from None
    except IsADirectoryError:
        raise SessionError(f"cannot import {source}: it is a folder, not a session file") from None
    except OSError as exc:
        raise SessionError(f"cannot import {source}: {exc.strerror or exc}") from None


def _json_lines(source: Path, data: bytes) -> _Lines:
    """Every line as an object: a line that is not one is an error, except an interrupted last line."""
    rows: list[tuple[int, Entry, bytes]] = []
    warnings: list[str] = []
    raw_lines = data.split(b"\n")
    last = len(raw_lines) - (1 if raw_lines and raw_lines[-1] == b"" else 0)
    for lineno, raw in enumerate(raw_lines[:last], start=1):
        if not raw.strip():
            continue
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if lineno == last and not data.endswith(b"\n") and lineno > 1:
                warnings.append(
                    f"line {lineno}: an interrupted last line (no newline, not JSON) was left out"
                )
                continue
            raise ImportFileError(
                f"{source}: line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
        if not isinstance(obj, dict):
            raise ImportFileError(f"{source}: line {lineno}: not a JSON object")
        rows.append((lineno, obj, raw))
    if not rows or rows[0][1].get("type") != fmt.HEADER_TYPE:
        raise ImportFileError(f'{source}: line 1: no session header (a first line with "type": "session")')
    return _Lines(rows[0][1], rows[1:], warnings)


def _new_header(cwd: str, imported_from: Entry, source_header: Entry | None = None) -> Entry:
    header = fmt.header(cwd)
    for key in ("parent_session", "parent_session_id"):
        if source_header is not None and isinstance(source_header.get(key), str):
            header[key] = source_header[key]
    header["imported_from"] = {k: v for k, v in imported_from.items() if v is not None}
    return header


def _copy_kit(path: Path, header: Entry, lines: _Lines) -> int:
    """The entries' lines byte for byte after the new header (kit reads them exactly as before)."""
    payload = b"".join(raw.rstrip(b"\r") + b"\n" for _lineno, _entry, raw in lines.rows)
    log = SessionFile(path, known_size=0)
    try:
        log.append(header, [], payload)
        log.sync()
    finally:
        log.close()
    return len(lines.rows)


def _write_tree(path: Path, header: Entry, entries: list[Entry], leaf: str | None) -> None:
    """Append `entries` (file order, parents already written) through a SessionManager: validated, chained."""
    for entry in entries:
        try:
            fmt.validate_entry(entry)
        except (ValueError, TypeError) as exc:
            raise ImportFileError(f"cannot convert entry {entry.get('id')}: {exc}") from None
    session = SessionManager(header, Tree(), SessionFile(path, known_size=0))
    try:
        chain: list[Entry] = []
        for entry in entries:
            if chain and entry.get("parent_id") != chain[-1]["id"]:
                _append_chain(session, chain)
                chain = []
            chain.append(entry)
        _append_chain(session, chain)
        if leaf is not None and session.leaf_id != leaf:
            session.move_leaf(leaf)
        session.sync()
    finally:
        session.close()


def _append_chain(session: SessionManager, chain: list[Entry]) -> None:
    if not chain:
        return
    parent = chain[0].get("parent_id")
    if parent is None:
        session.tree.leaf_id = None
    else:
        session.branch(parent)
    session.append_many([{k: v for k, v in entry.items() if k != "parent_id"} for entry in chain])


def _linear(entries: list[Entry]) -> list[Entry]:
    """A parsed path as a chain: ids kept when usable (else new, references following), times checked."""
    used: set[str] = set()
    renamed: dict[str, str] = {}
    now = fmt.now_timestamp()
    out: list[Entry] = []
    parent: str | None = None
    for entry in entries:
        entry = {k: v for k, v in entry.items() if k not in ("parent_id", "hash")}
        old = entry.get("id")
        new = old if isinstance(old, str) and _KIT_ID.match(old) and old not in used else fmt.new_entry_id()
        if isinstance(old, str):
            renamed[old] = new
        used.add(new)
        entry["id"] = new
        try:
            fmt.check_timestamp(entry.get("timestamp"))
        except ValueError:
            entry["timestamp"] = now
        if parent is not None:
            entry["parent_id"] = parent
        parent = new
        out.append(entry)
    for entry in out:
        key = _REFERENCES.get(str(entry.get("type")))
        if key is not None and isinstance(entry.get(key), str):
            entry[key] = renamed.get(entry[key], entry[key])
    return out


def import_session(source: Path, cwd: str, home: Path | None = None) -> ImportResult:
    """Import `source` into a new session file of `cwd`'s folder; returns where it went."""
    source = Path(source).expanduser().absolute()
    data = _read(source)
    folder = sessions_dir_for(cwd, home if home is not None else kit_home())
    path = folder / fmt.session_file_name()
    origin: Entry = {"path": str(source)}
    warnings: list[str] = []
    try:
        if not data.lstrip().startswith(b"{"):
            text = data.decode("utf-8", errors="replace")
            if not is_markdown_export(text):
                raise ImportFileError(
                    f"{source}: line 1: not a session file; kit imports kit and Go kit .jsonl files, pi "
                    "session files and its own Markdown exports"
                )
            parsed = parse_markdown(str(source), text)
            kind, warnings = "markdown", parsed.warnings
            entries = _linear(([fmt.session_info(parsed.name)] if parsed.name else []) + parsed.entries)
            header = _new_header(
                cwd, {**origin, "format": kind, "session_id": parsed.source_id, "cwd": parsed.source_cwd}
            )
            _write_tree(path, header, entries, None)
            count = len(entries)
        else:
            lines = _json_lines(source, data)
            warnings = list(lines.warnings)
            found = fmt.foreign_format(lines.header, [entry for _lineno, entry, _raw in lines.rows])
            source_facts = {"session_id": lines.header.get("id"), "cwd": lines.header.get("cwd")}
            if found == "pi":
                kind = "pi"
                converted = pi.convert(str(source), lines.header, [(n, e) for n, e, _raw in lines.rows])
                warnings += converted.warnings
                origin_pi = {**origin, "format": "pi", "version": converted.version, **source_facts}
                header = _new_header(cwd, origin_pi)
                _write_tree(path, header, converted.entries, converted.leaf_id)
                count = len(converted.entries)
            else:
                kind = "kit"
                header = _new_header(cwd, {**origin, "format": kind, **source_facts}, lines.header)
                count = _copy_kit(path, header, lines)
        if not count:
            raise ImportFileError(f"{source}: the session has no entries; there is nothing to import")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)  # ours, half written: nothing is left behind
        raise
    return ImportResult(path, str(header["id"]), kind, source, count, warnings)


def open_imported(result: ImportResult) -> SessionManager:
    """The imported session, opened as any session file (what its tolerant load found is in warnings)."""
    try:
        session = SessionManager.open(result.path)
    except OSError as exc:
        raise KitError(f"cannot open the imported session {result.path}: {exc.strerror or exc}") from None
    result.warnings.extend(w for w in session.warnings if w not in result.warnings)
    return session
