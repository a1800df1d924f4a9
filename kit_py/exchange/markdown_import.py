"""kit's own Markdown exports read back into a linear session (the active path they show).

Only the hidden markers of `md_markers` are read; everything else in the file is for people. Message
text comes back exactly (between `kit:text` and `kit:end`), fenced bodies exactly, and the fields the
markers carry (ids, timestamps, model, usage, tool call ids) as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from kit_py.exchange.errors import ImportFileError
from kit_py.exchange.markdown import BODY_FIELDS
from kit_py.exchange.md_markers import END, MARKER, marker, unescape_line

Entry = dict[str, Any]
_FENCE = re.compile(r"^(`{3,})[^`]*$")
_IMAGE = re.compile(r"^!\[[^\]]*\]\(data:([^;,()]+);base64,([A-Za-z0-9+/=]*)\)$")


@dataclass
class ParsedMarkdown:
    entries: list[Entry]
    """kit entries of the path, in order, without parents (a linear session)."""
    name: str | None
    source_id: str | None
    source_cwd: str | None
    warnings: list[str] = field(default_factory=list)


class _Parser:
    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = text.replace("\r\n", "\n").split("\n")
        self.i = 0
        self.entries: list[Entry] = []
        self.current: Entry | None = None
        self.attached: dict[str, Entry] = {}  # tool messages whose parts follow the current message
        self.session: dict[str, Any] | None = None

    def fail(self, lineno: int, reason: str) -> ImportFileError:
        return ImportFileError(f"{self.source}: line {lineno}: {reason}")

    def fields(self, raw: str | None, lineno: int) -> dict[str, Any]:
        if raw is None:
            return {}
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise self.fail(lineno, f"the kit marker's JSON does not parse ({exc.msg})") from None
        if not isinstance(value, dict):
            raise self.fail(lineno, "the kit marker's JSON is not an object")
        return value

    def fenced(self, after: int, what: str) -> str:
        """The body of the fenced block that follows the marker on line `after` (1-based)."""
        while self.i < len(self.lines) and not self.lines[self.i].strip():
            self.i += 1
        opening = _FENCE.match(self.lines[self.i]) if self.i < len(self.lines) else None
        if opening is None:
            raise self.fail(after, f"the {what} marker is not followed by a fenced block")
        fence = opening.group(1)
        start = self.i + 1
        end = start
        while end < len(self.lines) and self.lines[end] != fence:
            end += 1
        if end == len(self.lines):
            raise self.fail(self.i + 1, f"the fenced block of the {what} is never closed")
        self.i = end + 1
        return "\n".join(self.lines[start:end])

    def text(self, after: int) -> str:
        start = self.i
        end = start
        while end < len(self.lines) and self.lines[end] != marker(END):
            end += 1
        if end == len(self.lines):
            raise self.fail(after, "a text marker without its `<!-- kit:end -->`")
        body = [unescape_line(line) for line in self.lines[start:end]]
        self.i = end + 1
        return "\n".join(body[1:-1]) if len(body) >= 2 else ""

    def image(self, after: int) -> tuple[str, str]:
        while self.i < len(self.lines) and not self.lines[self.i].strip():
            self.i += 1
        found = _IMAGE.match(self.lines[self.i]) if self.i < len(self.lines) else None
        if found is None:
            raise self.fail(after, "the image marker is not followed by a data: image")
        self.i += 1
        return found.group(1), found.group(2)

    # --- assembling -------------------------------------------------------------------------------------

    def flush(self) -> None:
        if self.current is not None:
            self.entries.append(self.current)
        self.entries.extend(self.attached.values())
        self.current, self.attached = None, {}

    def target(self, fields: dict[str, Any], lineno: int) -> Entry:
        """The message a part goes to: the tool message it names, else the current message."""
        message = fields.pop("message", None)
        if isinstance(message, dict):
            key = str(message.get("id", len(self.attached)))
            if key not in self.attached:
                self.attached[key] = {**message, "type": "message", "role": "tool", "parts": []}
            return self.attached[key]
        if self.current is None:
            raise self.fail(lineno, "a message part before any message marker")
        return self.current

    def part(self, kind: str, fields: dict[str, Any], lineno: int) -> None:
        body_key = BODY_FIELDS[kind]
        target = self.target(fields, lineno)
        if kind == "text":
            body: str = self.text(lineno)
        elif kind == "image":
            media_type, body = self.image(lineno)
            fields.setdefault("media_type", media_type)
        else:
            body = self.fenced(lineno, kind.replace("_", " "))
        target["parts"].append({"type": kind, "data": {**fields, body_key: body}})

    def diff(self, lineno: int) -> None:
        message = next(reversed(self.attached.values()), None) if self.attached else self.current
        results = [p for p in (message or {}).get("parts", []) if p.get("type") == "tool_result"]
        if not results:
            raise self.fail(lineno, "a diff marker that follows no tool result")
        results[-1]["data"]["diff"] = self.fenced(lineno, "diff")

    def parse(self) -> ParsedMarkdown:
        while self.i < len(self.lines):
            line = self.lines[self.i]
            self.i += 1
            found = MARKER.match(line)
            if found is None:
                continue
            lineno = self.i
            kind, fields = found.group(1), self.fields(found.group(2), lineno)
            if kind == "session":
                self.session = fields
            elif kind == "message":
                self.flush()
                self.current = {**fields, "type": "message", "parts": []}
            elif kind in BODY_FIELDS:
                self.part(kind, fields, lineno)
            elif kind == "diff":
                self.diff(lineno)
            elif kind in ("compaction", "branch_summary"):
                self.flush()
                self.entries.append(
                    {**fields, "type": kind, "summary": self.fenced(lineno, kind.replace("_", " "))}
                )
            elif kind in ("model_change", "label"):
                self.flush()
                self.entries.append({**fields, "type": kind})
            elif kind == END:
                raise self.fail(lineno, "`<!-- kit:end -->` without a text marker before it")
        self.flush()
        if self.session is None:
            raise ImportFileError(
                f"{self.source}: not a Markdown export of kit (no `<!-- kit:session` marker); kit imports "
                "its own Markdown exports, kit and Go kit .jsonl files and pi session files"
            )
        name = self.session.get("name")
        return ParsedMarkdown(
            self.entries,
            name if isinstance(name, str) and name else None,
            _str(self.session.get("id")),
            _str(self.session.get("cwd")),
        )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_markdown(source: str, text: str) -> ParsedMarkdown:
    return _Parser(source, text).parse()


def is_markdown_export(text: str) -> bool:
    return any(line.startswith("<!-- kit:session") for line in text.split("\n", 200)[:200])
