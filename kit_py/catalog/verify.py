"""`kit sessions verify`: can this file be trusted, and can Go kit read it?

One streaming pass per file checks what kit_py's tolerant load would silently work around: lines that
are not JSON (a torn last line from an interrupted write), a missing or foreign header, entries Go kit
would refuse or drop (DESIGN.md §3, the same rules `format.validate_entry` applies before an append),
duplicate ids, parents that are missing, come later in the file or form a cycle, and the integrity
chain (kit_py/session/chain.py): an entry whose `hash` does not match its content and its parent's
hash was changed after it was written. Entries without a hash (written by Go kit) are counted as
unchained, never reported as tampered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kit_py.session.chain import HASH_KEY, entry_hash
from kit_py.session.format import (
    ENTRY_TYPES,
    HEADER_TYPE,
    SYSTEM_PROMPT_TYPE,
    VERSION,
    check_entry_id,
    check_timestamp,
    validate_entry,
)

Entry = dict[str, Any]
_VALIDATED = ENTRY_TYPES | {SYSTEM_PROMPT_TYPE}


@dataclass
class Problem:
    """One thing wrong, located. `kind`: json, torn, header, go-kit (Go kit refuses the file),
    go-kit-message (Go kit skips the message), duplicate-id, parent, cycle, tampered."""

    kind: str
    message: str
    line: int | None = None
    entry_id: str | None = None


@dataclass
class FileReport:
    path: Path
    session_id: str = ""
    size: int = 0
    entries: int = 0
    chained: int = 0
    unchained: int = 0
    state_hash: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def go_kit_readable(self) -> bool:
        """Go kit refuses a file with a line it cannot parse or an entry it cannot decode."""
        return not any(p.kind in ("json", "torn", "header", "go-kit") for p in self.problems)


def _go_kit_problem(entry: Entry) -> tuple[str, str] | None:
    """(kind, why) when Go kit would refuse the file ("go-kit") or skip this message ("go-kit-message")
    because of this entry; None when it reads it. The rules are `format.validate_entry`'s."""
    etype = entry.get("type")
    try:
        if etype == SYSTEM_PROMPT_TYPE:
            check_entry_id(entry.get("id"))
            check_timestamp(entry.get("timestamp"))
            return None
        if etype != "message":
            validate_entry(entry)
            return None
        # Go kit decodes role and parts after the entry itself: a bad one costs the message, not the file
        validate_entry({**entry, "role": "user", "parts": []})
    except (ValueError, TypeError) as exc:
        return "go-kit", f"{exc}; Go kit refuses the file"
    parts = entry.get("parts")
    if isinstance(parts, list) and any(isinstance(p, dict) and p.get("type") == "finish" for p in parts):
        # Go kit's end-of-turn part: valid for it, outside what kit_py writes
        parts = [p for p in parts if not (isinstance(p, dict) and p.get("type") == "finish")]
    try:
        validate_entry({**entry, "parts": parts})
    except (ValueError, TypeError) as exc:
        return "go-kit-message", f"{exc}; Go kit skips this message"
    return None


def verify_file(path: Path) -> FileReport:
    """Check one session file; never raises for what is in the file (only problems are listed)."""
    report = FileReport(path=Path(path))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        report.problems.append(Problem("json", f"cannot read the file: {exc.strerror or exc}"))
        return report
    report.size = len(data)
    _Checker(report).run(data)
    return report


class _Checker:
    """The state of one pass over a file (kept out of the report)."""

    def __init__(self, report: FileReport) -> None:
        self.report = report
        self.problems = report.problems
        self.hashes: dict[str, str] = {}  # id -> stored hash ("" when unchained)
        self.lines: dict[str, int] = {}  # id -> line
        self.parents: dict[str, str] = {}  # id -> parent id, for the cycle check
        self.forward: list[tuple[int, Entry]] = []  # entries whose parent was not seen yet
        self.last: Entry | None = None

    def problem(self, kind: str, message: str, line: int | None = None, entry_id: str | None = None) -> None:
        self.problems.append(Problem(kind, message, line, entry_id))

    def run(self, data: bytes) -> None:
        lines = data.split(b"\n")
        ends_open = lines[-1] != b""
        if not ends_open:
            lines.pop()
        loads = orjson.loads
        header_seen = False
        count = len(lines)
        for lineno, raw in enumerate(lines, 1):
            try:
                entry = loads(raw)
            except orjson.JSONDecodeError:
                if not raw.strip():
                    continue
                if lineno == count and ends_open:
                    self.problem(
                        "torn",
                        f"line {lineno}: interrupted write ({len(raw)} bytes, no newline); kit moves it to a "
                        "sidecar file on the next append, Go kit refuses the file until then",
                        lineno,
                    )
                else:
                    self.problem("json", f"line {lineno}: not JSON; Go kit refuses the file", lineno)
                continue
            if entry.__class__ is not dict:
                self.problem("json", f"line {lineno}: not a JSON object; Go kit refuses the file", lineno)
                continue
            if not header_seen:
                header_seen = True
                if entry.get("type") == HEADER_TYPE:
                    self.header(entry, lineno)
                    continue
                self.problem(
                    "header", f"line {lineno}: no session header; Go kit cannot open the file", lineno
                )
            self.entry(entry, lineno)
        if not header_seen:
            self.problem("header", "the file has no session header line")
        self.resolve_forward()
        self.problems.sort(key=lambda p: p.line or 0)
        if self.last is not None:
            self.report.state_hash = self.hashes.get(self.last["id"]) or None

    def header(self, header: Entry, lineno: int) -> None:
        self.report.session_id = str(header.get("id", ""))
        if header.get("version") != VERSION:
            self.problem(
                "header",
                f"line {lineno}: session format version {header.get('version')!r}, not {VERSION}",
                lineno,
            )
        if "parentSession" in header or "parentSessionId" in header:
            self.problem(
                "header", f"line {lineno}: a pi session header (camelCase); import it instead", lineno
            )

    def entry(self, entry: Entry, lineno: int) -> None:
        eid = entry.get("id")
        if eid.__class__ is not str or not eid:
            self.problem("go-kit", f"line {lineno}: entry without a string id", lineno)
            return
        self.report.entries += 1
        etype = entry.get("type")
        if etype not in _VALIDATED:
            self.problem(
                "go-kit", f"line {lineno}: unknown entry type {etype!r}; Go kit refuses the file", lineno, eid
            )
        if eid in self.lines:
            self.problem(
                "duplicate-id",
                f"line {lineno}: id {eid} was already used on line {self.lines[eid]}",
                lineno,
                eid,
            )
            return
        self.lines[eid] = lineno
        if etype != SYSTEM_PROMPT_TYPE:
            self.last = entry
        pid = entry.get("parent_id")
        if etype == SYSTEM_PROMPT_TYPE or pid is None:
            self.chain(entry, lineno, "")
            return
        if pid.__class__ is not str:
            self.problem("go-kit", f"line {lineno}: parent_id is not a string", lineno, eid)
            self.chain(entry, lineno, "")
            return
        self.parents[eid] = pid
        parent_hash = self.hashes.get(pid)
        if parent_hash is None:
            self.hashes[eid] = _stored(entry)  # a later entry may hang under it before it is resolved
            self.forward.append((lineno, entry))
            return
        self.chain(entry, lineno, parent_hash)

    def chain(self, entry: Entry, lineno: int, parent_hash: str) -> None:
        """Check the entry's hash, then validate what the hash does not vouch for. An entry whose hash
        matches is exactly what kit_py validated before writing it, so only unchained (Go kit) and
        changed entries are checked field by field again: that keeps `verify --all` fast."""
        if self.hash_matches(entry, lineno, parent_hash) or entry.get("type") not in _VALIDATED:
            return
        found = _go_kit_problem(entry)
        if found is not None:
            self.problem(found[0], f"line {lineno}: {found[1]}", lineno, entry["id"])

    def hash_matches(self, entry: Entry, lineno: int, parent_hash: str) -> bool:
        report = self.report
        eid = entry["id"]
        stored = entry.get(HASH_KEY)
        if stored is None:
            report.unchained += 1
            self.hashes[eid] = ""
            return False
        report.chained += 1
        self.hashes[eid] = stored if isinstance(stored, str) else ""
        try:
            expected = entry_hash(parent_hash, entry)
        except (TypeError, UnicodeEncodeError):
            expected = ""
        if stored == expected:
            return True
        pid = entry.get("parent_id")
        where = f" or the hash of its parent on line {self.lines[pid]}" if pid in self.lines else ""
        self.problem(
            "tampered",
            f"line {lineno}: entry {eid} does not match its hash: this line{where} was changed after "
            "kit wrote it",
            lineno,
            eid,
        )
        return False

    def resolve_forward(self) -> None:
        for lineno, entry in self.forward:
            eid, pid = entry["id"], entry["parent_id"]
            if pid not in self.lines:
                deleted = " (a line was deleted?)" if HASH_KEY in entry else ""
                self.problem(
                    "parent", f"line {lineno}: parent {pid} of entry {eid} not found{deleted}", lineno, eid
                )
                # without its parent the hash cannot be checked: the missing line is the problem named
                self.report.chained += HASH_KEY in entry
                self.report.unchained += HASH_KEY not in entry
                continue
            if self._cycles(eid):
                self.problem("cycle", f"line {lineno}: parent link {eid} -> {pid} forms a cycle", lineno, eid)
            else:
                self.problem(
                    "parent",
                    f"line {lineno}: parent {pid} of entry {eid} comes later in the file",
                    lineno,
                    eid,
                )
            self.chain(entry, lineno, self.hashes.get(pid, ""))

    def _cycles(self, start: str) -> bool:
        node: str | None = self.parents.get(start)
        for _ in range(len(self.parents) + 1):
            if node is None:
                return False
            if node == start:
                return True
            node = self.parents.get(node)
        return True


def _stored(entry: Entry) -> str:
    value = entry.get(HASH_KEY)
    return value if isinstance(value, str) else ""
