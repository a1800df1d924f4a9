"""Reading new lines of a session file into what the index keeps: pure, no SQL, no file handles.

The index reads each file once and then only the bytes appended since (kit_py/catalog/index.py);
`scan_lines` turns those lines into the facts the catalog needs. `FileFacts` carries across calls what
a later line depends on (the current model, the name, the first message), so scanning a file in
pieces gives the same result as scanning it whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import orjson

from kit_py.catalog.listing import one_line
from kit_py.session.format import (
    HEADER_TYPE,
    LEAF_EXT_TYPE,
    SYSTEM_PROMPT_TYPE,
    message_text,
    parse_timestamp,
)

PREVIEW_CHARS = 200
SEARCHED_ROLES = frozenset({"user", "assistant"})

Entry = dict[str, Any]
UsageKey = tuple[str, str]  # (UTC day, model)


@dataclass
class FileFacts:
    """What the index knows of one file so far; updated in place by `scan_lines`."""

    session_id: str = ""
    cwd: str = ""
    created: str = ""
    parent_session_id: str | None = None
    has_header: bool = False
    name: str | None = None
    first_message: str = ""
    entries: int = 0
    messages: int = 0
    leaf_id: str | None = None
    model: str = ""
    models: list[str] = field(default_factory=list)  # every model used, in the order first seen
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float | None = None
    last_time: str = ""


@dataclass
class UsageRow:
    messages: int = 0
    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float | None = None


@dataclass
class SearchedText:
    """A message's text for the search index."""

    entry_id: str
    role: str
    time: str
    text: str


@dataclass
class Scanned:
    """What some new lines add: message texts to search, node depths, usage by day and model."""

    texts: list[SearchedText] = field(default_factory=list)
    depths: dict[str, int] = field(default_factory=dict)  # entry id -> messages on its path (no system)
    usage: dict[UsageKey, UsageRow] = field(default_factory=dict)


def _day(timestamp: Any) -> str:
    """The UTC day of an RFC 3339 time ("" when it is not one)."""
    if not isinstance(timestamp, str) or len(timestamp) < 10:
        return ""
    if timestamp[-1] in "Zz":
        return timestamp[:10]
    try:
        return parse_timestamp(timestamp).astimezone(UTC).strftime("%Y-%m-%d")
    except ValueError:
        return ""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def scan_lines(
    lines: list[bytes], facts: FileFacts, depth_of: Callable[[str], int | None], *, start: int
) -> Scanned:
    """Scan complete lines (without their newlines) appended to a file from byte `start` on (from 0,
    the first is the header); lines that are not JSON objects are passed over. `depth_of` finds the
    depth of an entry scanned earlier."""
    out = Scanned()
    depths = out.depths
    loads = orjson.loads
    last: Entry | None = None
    at_start = start == 0
    for raw in lines:
        try:
            entry = loads(raw)
        except orjson.JSONDecodeError:
            continue
        if entry.__class__ is not dict:
            continue
        etype = entry.get("type")
        if at_start:
            at_start = False
            if etype == HEADER_TYPE:
                _read_header(entry, facts)
                continue
        eid = entry.get("id")
        if eid.__class__ is not str:
            continue
        facts.entries += 1
        parent = entry.get("parent_id")
        depth = 0
        if parent.__class__ is str:
            found = depths.get(parent)
            if found is None:
                found = depth_of(parent)
            depth = found or 0
        if etype == "message" and entry.get("role") != "system":  # a system prompt is not a message said
            depth += 1
            _read_message(entry, eid, facts, out)
        elif etype == "model_change":
            model = entry.get("model_id")
            if isinstance(model, str) and model:
                _use_model(facts, model)
        elif etype == "session_info":
            name = entry.get("name")
            if isinstance(name, str):
                facts.name = name or None
        depths[eid] = depth
        if etype != SYSTEM_PROMPT_TYPE:
            last = entry
    if last is not None:
        facts.leaf_id = last["id"]
        if last.get("type") == "extension_data" and last.get("ext_type") == LEAF_EXT_TYPE:
            parent = last.get("parent_id")
            if isinstance(parent, str):
                facts.leaf_id = parent
        ts = last.get("timestamp")
        if isinstance(ts, str):
            facts.last_time = ts
    return out


def _use_model(facts: FileFacts, model: str) -> None:
    facts.model = model
    if model not in facts.models:
        facts.models.append(model)


def _read_header(header: Entry, facts: FileFacts) -> None:
    facts.has_header = True
    facts.session_id = str(header.get("id", ""))
    facts.cwd = str(header.get("cwd", ""))
    facts.created = str(header.get("timestamp", ""))
    parent = header.get("parent_session_id")
    facts.parent_session_id = parent if isinstance(parent, str) else None


def _read_message(entry: Entry, eid: str, facts: FileFacts, out: Scanned) -> None:
    facts.messages += 1
    role = entry.get("role")
    model = facts.model
    if role == "assistant" and isinstance(entry.get("model"), str) and entry["model"]:
        model = entry["model"]
        _use_model(facts, model)
    timestamp = entry.get("timestamp")
    key = (_day(timestamp), model)
    row = out.usage.get(key)
    if row is None:
        row = out.usage[key] = UsageRow()
    row.messages += 1
    if role in SEARCHED_ROLES:
        text = message_text(entry)
        if text:
            out.texts.append(SearchedText(eid, role, timestamp if isinstance(timestamp, str) else "", text))
            if role == "user" and not facts.first_message:
                facts.first_message = one_line(text, PREVIEW_CHARS)
    if role != "assistant":
        return
    row.answers += 1
    usage = entry.get("usage")
    if not isinstance(usage, dict):
        return
    tokens_in, tokens_out = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
    cache_read, cache_write = (
        _count(usage.get("cache_read_tokens")),
        _count(usage.get("cache_creation_tokens")),
    )
    row.input_tokens += tokens_in
    row.output_tokens += tokens_out
    row.cache_read_tokens += cache_read
    row.cache_write_tokens += cache_write
    facts.input_tokens += tokens_in
    facts.output_tokens += tokens_out
    facts.cache_read_tokens += cache_read
    facts.cache_write_tokens += cache_write
    cost = usage.get("cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        row.cost = (row.cost or 0.0) + cost
        facts.cost = (facts.cost or 0.0) + cost
