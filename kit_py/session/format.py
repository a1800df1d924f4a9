"""Session wire format (Go kit v3): ids, timestamps, file names and entry constructors.

Entries are plain dicts in exactly their wire form so they round-trip untouched; the
constructors here leave out `id`, `parent_id` and `timestamp`, which the store fills in.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from kit_py.text import valid_utf8

VERSION = 3
HEADER_TYPE = "session"
ENTRY_TYPES = frozenset(
    {"message", "model_change", "compaction", "branch_summary", "label", "session_info", "extension_data"}
)
ROLES = frozenset({"user", "assistant", "tool", "system"})
LEAF_EXT_TYPE = "kit:leaf"
SYSTEM_PROMPT_TYPE = "system_prompt"
"""Go kit writes this type only into `/share` exports (line 2, no `parent_id`): read, never written."""
READ_TYPES = ENTRY_TYPES | {SYSTEM_PROMPT_TYPE}
PART_TYPES = frozenset({"text", "reasoning", "tool_call", "tool_result", "image"})
GO_PART_TYPES = PART_TYPES | {"finish"}
"""Part types Go kit reads (it also knows `finish{reason}`); any other type makes it drop the message."""

Entry = dict[str, Any]


def dumps(obj: Any) -> bytes:
    """One compact JSON line body (no newline)."""
    return encode_entry(obj)[1]


def encode_entry(entry: Any) -> tuple[Any, bytes]:
    """The entry as it will be stored, and its JSON line body.

    Text from the file system or a terminal can hold lone surrogates (undecodable bytes); JSON cannot,
    so they become U+FFFD in both the stored entry and the line instead of costing the whole entry.
    """
    try:
        return entry, orjson.dumps(entry)
    except TypeError:
        clean = valid_utf8(entry)
        return clean, orjson.dumps(clean)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def new_entry_id() -> str:
    """16 lowercase hex characters, as Go kit writes them."""
    return os.urandom(8).hex()


def new_session_id() -> str:
    """32 lowercase hex characters."""
    return os.urandom(16).hex()


def format_timestamp(dt: datetime) -> str:
    """RFC 3339 UTC with millisecond precision and a `Z` suffix."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_timestamp() -> str:
    return format_timestamp(datetime.now(UTC))


_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$"
)


def parse_timestamp(s: str) -> datetime:
    """Parse RFC 3339 with 0-9 fraction digits and `Z` or an offset; returns an aware datetime."""
    m = _TS_RE.match(s.strip())
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {s!r}")
    year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    if zulu:
        tz: timezone = UTC
    else:
        delta = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(delta if sign == "+" else -delta)
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)


def session_file_name(when: datetime | None = None) -> str:
    """`<UTC YYYY-MM-DDTHH-MM-SS-mmmZ>_<12 hex>.jsonl`; never parse meaning out of it."""
    dt = (when or datetime.now(UTC)).astimezone(UTC)
    stamp = dt.strftime("%Y-%m-%dT%H-%M-%S-") + f"{dt.microsecond // 1000:03d}Z"
    return f"{stamp}_{os.urandom(6).hex()}.jsonl"


def header(
    cwd: str,
    *,
    session_id: str | None = None,
    timestamp: str | None = None,
    parent_session: str | None = None,
    parent_session_id: str | None = None,
) -> Entry:
    """The first line of a session file (not a tree node)."""
    h: Entry = {
        "type": HEADER_TYPE,
        "version": VERSION,
        "id": session_id or new_session_id(),
        "timestamp": timestamp or now_timestamp(),
        "cwd": cwd,
    }
    if parent_session is not None:
        h["parent_session"] = parent_session
    if parent_session_id is not None:
        h["parent_session_id"] = parent_session_id
    return h


# --- parts -------------------------------------------------------------------------------------------


def text_part(text: str) -> Entry:
    return {"type": "text", "data": {"text": text}}


def reasoning_part(thinking: str, signature: str | None = None) -> Entry:
    data: Entry = {"thinking": thinking}
    if signature is not None:
        data["signature"] = signature
    return {"type": "reasoning", "data": data}


def tool_call_part(id: str, name: str, input_json: str) -> Entry:
    """`input_json` is the JSON-encoded arguments STRING (Go kit stores a string, not an object)."""
    return {"type": "tool_call", "data": {"id": id, "name": name, "input": input_json, "finished": True}}


def tool_result_part(
    tool_call_id: str, name: str, content: str, is_error: bool = False, **extra: Any
) -> Entry:
    data: Entry = {"tool_call_id": tool_call_id, "name": name, "content": content, "is_error": is_error}
    data.update(extra)
    return {"type": "tool_result", "data": data}


def image_part(data: str, media_type: str) -> Entry:
    """`data` is base64 text."""
    return {"type": "image", "data": {"data": data, "media_type": media_type}}


# --- entries -----------------------------------------------------------------------------------------


def _without_none(d: Entry) -> Entry:
    return {k: v for k, v in d.items() if v is not None}


def message(role: str, parts: list[Entry], **extra: Any) -> Entry:
    """A message entry; `extra` carries optional model/provider/usage/stop_reason (None values dropped)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLES)}")
    return {"type": "message", "role": role, "parts": list(parts), **_without_none(extra)}


def model_change(provider: str, model_id: str, thinking_level: str | None = None) -> Entry:
    e: Entry = {"type": "model_change", "provider": provider, "model_id": model_id}
    if thinking_level is not None:
        e["thinking_level"] = thinking_level
    return e


def compaction(
    summary: str,
    first_kept_entry_id: str,
    tokens_before: int,
    tokens_after: int,
    messages_removed: int,
    read_files: list[str],
    modified_files: list[str],
) -> Entry:
    return {
        "type": "compaction",
        "summary": summary,
        "first_kept_entry_id": first_kept_entry_id,
        "tokens_before": tokens_before,
        "tokens_after": tokens_after,
        "messages_removed": messages_removed,
        "read_files": list(read_files),
        "modified_files": list(modified_files),
    }


def branch_summary(from_id: str, summary: str) -> Entry:
    return {"type": "branch_summary", "from_id": from_id, "summary": summary}


def label(target_id: str, label: str) -> Entry:
    """An empty `label` clears the target's label."""
    return {"type": "label", "target_id": target_id, "label": label}


def session_info(name: str) -> Entry:
    return {"type": "session_info", "name": name}


def extension_data(ext_type: str, data: str) -> Entry:
    """`data` must be a string (put JSON text in it): Go kit declares it a string."""
    if not isinstance(data, str):
        raise TypeError("extension_data.data must be a str (JSON text), not " + type(data).__name__)
    return {"type": "extension_data", "ext_type": ext_type, "data": data}


def message_text(entry: Entry) -> str:
    """The entry's text parts joined by newlines ("" for anything without text parts)."""
    parts = entry.get("parts")
    if not isinstance(parts, list):
        return ""
    texts = []
    for p in parts:
        if isinstance(p, dict) and p.get("type") == "text":
            data = p.get("data")
            if isinstance(data, dict) and isinstance(data.get("text"), str):
                texts.append(data["text"])
    return "\n".join(texts)


TYPED_KEY = "typed"
"""kit_py extension field of a user message: the prompt as typed, when attachments (@file) made the
sent text differ."""


def typed_text(entry: Entry) -> str:
    """What the user typed for a user message: undo and retry give this back, never the inlined files
    (sending those again would attach every file twice)."""
    typed = entry.get(TYPED_KEY)
    return typed if isinstance(typed, str) else message_text(entry)


def is_leaf_marker(entry: Entry) -> bool:
    return entry.get("type") == "extension_data" and entry.get("ext_type") == LEAF_EXT_TYPE


# --- validation before an append ----------------------------------------------------------------------
#
# Go kit decodes each line into typed structs and refuses the whole file when one field has the wrong
# JSON type (a number id, 10.5 tokens, a naive timestamp), and drops a message whose parts it cannot
# decode (an unknown part type, `tool_call.input` that is not a string). kit_py refuses such entries
# on append, with a message saying which field is wrong, instead of writing a file Go kit cannot read.

_ENTRY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$"
)
_INT64 = 1 << 63
_FIELD_TYPES: dict[str, dict[str, str]] = {
    "message": {"role": "str", "model": "str", "provider": "str"},
    "model_change": {"provider": "str", "model_id": "str", "thinking_level": "str"},
    "compaction": {
        "summary": "str",
        "first_kept_entry_id": "str",
        "tokens_before": "int",
        "tokens_after": "int",
        "messages_removed": "int",
        "read_files": "strs",
        "modified_files": "strs",
    },
    "branch_summary": {"from_id": "str", "summary": "str"},
    "label": {"target_id": "str", "label": "str"},
    "session_info": {"name": "str"},
    "extension_data": {"ext_type": "str", "data": "str"},
}
_PART_FIELDS: dict[str, dict[str, str]] = {
    "text": {"text": "str"},
    "reasoning": {"thinking": "str", "signature": "str"},
    "tool_call": {"id": "str", "name": "str", "input": "str", "finished": "bool"},
    "tool_result": {"tool_call_id": "str", "name": "str", "content": "str", "is_error": "bool"},
    "image": {"data": "str", "media_type": "str"},
}
PART_REQUIRED: dict[str, tuple[str, ...]] = {
    # The data fields each part type needs; a part without them cannot be sent. `finish` is Go kit's
    # end-of-turn marker: valid, carries nothing to send.
    "finish": (),
    "text": ("text",),
    "reasoning": ("thinking",),
    "tool_call": ("id", "name", "input"),
    "tool_result": ("tool_call_id", "content"),
    "image": ("data", "media_type"),
}
_KIND_NAMES = {"str": "a string", "int": "an integer", "bool": "true or false", "strs": "a list of strings"}


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64
    return isinstance(value, list) and all(isinstance(v, str) for v in value)  # "strs"


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_timestamp(value: Any, what: str = "timestamp") -> str:
    """`value` as RFC 3339 text Go kit can read (`T`, 0-9 fraction digits, `Z` or a `+hh:mm` offset).

    An aware datetime is formatted; a naive one, or text without a zone, is refused: its instant is
    unknown.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what} {value.isoformat()!r} is a naive datetime; give it a time zone")
        return format_timestamp(value)
    if not isinstance(value, str):
        raise ValueError(f"{what} must be RFC 3339 text, not {_type_name(value)}")
    m = _RFC3339_RE.match(value)
    if m is not None:
        year, month, day, hour, minute, second, oh, om = m.groups()
        try:
            datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        except ValueError:
            m = None
        else:
            if oh is not None and (int(oh) > 23 or int(om) > 59):
                m = None
    if m is None:
        raise ValueError(
            f"{what} {value!r} is not an RFC 3339 time with a zone (e.g. 2026-01-02T03:04:05.678Z or "
            "2026-01-02T04:04:05+01:00)"
        )
    return value


def check_entry_id(value: Any, what: str = "entry id") -> str:
    """A given entry id must be 16 lowercase hex characters, as Go kit writes them."""
    if not isinstance(value, str) or not _ENTRY_ID_RE.match(value):
        shown = repr(value) if isinstance(value, str) else f"{value!r} ({_type_name(value)})"
        raise ValueError(f"{what} {shown} is not 16 lowercase hex characters; leave it out to get a new one")
    return value


def validate_entry(entry: Entry) -> None:
    """Raise ValueError (TypeError for a non-string `extension_data.data`) for what would make Go kit
    refuse the file or drop the message. `entry` is complete: type, id, timestamp and fields."""
    etype = entry.get("type")
    if etype not in ENTRY_TYPES:
        raise ValueError(f"cannot write entry type {etype!r}; allowed: {sorted(ENTRY_TYPES)}")
    check_entry_id(entry.get("id"))
    check_timestamp(entry.get("timestamp"))
    if etype == "extension_data" and not isinstance(entry.get("data", ""), str):
        raise TypeError("extension_data.data must be a str (JSON text), not " + _type_name(entry.get("data")))
    for key, kind in _FIELD_TYPES[etype].items():
        value = entry.get(key)
        if value is not None and not _is_kind(value, kind):
            raise ValueError(f"{etype}.{key} must be {_KIND_NAMES[kind]}, not {value!r}")
    if etype == "message":
        role = entry.get("role")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {sorted(ROLES)}")
        parts = entry.get("parts")
        if not isinstance(parts, list):
            raise ValueError(f"message parts must be a list of parts, not {_type_name(parts)}")
        for i, part in enumerate(parts):
            _validate_part(part, i)


def _validate_part(part: Any, index: int) -> None:
    where = f"part {index}"
    if not isinstance(part, dict):
        raise ValueError(f"{where} must be an object with 'type' and 'data', not {_type_name(part)}")
    ptype = part.get("type")
    if ptype not in PART_TYPES:
        raise ValueError(f"{where} has unknown part type {ptype!r}; allowed: {sorted(PART_TYPES)}")
    data = part.get("data")
    if not isinstance(data, dict):
        raise ValueError(f"{where} ({ptype}) needs an object 'data', not {_type_name(data)}")
    for key in PART_REQUIRED[ptype]:
        if key not in data:
            raise ValueError(f"{where} ({ptype}) has no data.{key}")
    for key, kind in _PART_FIELDS[ptype].items():
        value = data.get(key)
        if value is not None and not _is_kind(value, kind):
            hint = " (JSON-encode the arguments: Go kit stores JSON text)" if ptype == "tool_call" else ""
            raise ValueError(f"{where} ({ptype}) data.{key} must be {_KIND_NAMES[kind]}{hint}, not {value!r}")
    if ptype == "image":
        try:
            base64.b64decode(data["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{where} (image) data.data must be base64 text") from None


# --- tolerant reading --------------------------------------------------------------------------------


def parts_ok(parts: Any) -> bool:
    """Whether `parts` is a list of objects with object `data` (and tool calls carry JSON text): the
    shape every reader relies on. The fast check done for every message on load."""
    if parts.__class__ is not list:
        return False
    for part in parts:
        if part.__class__ is not dict:
            return False
        data = part.get("data")
        if data.__class__ is not dict or (
            part.get("type") == "tool_call" and data.get("input").__class__ is not str
        ):
            return False
    return True


def clean_parts(parts: Any) -> tuple[list[Any], list[str]]:
    """The parts kit can read, and what was done to the others (for a load warning).

    A part that is not an object, or whose `data` is not an object, is skipped; a tool call whose
    `input` is a JSON value instead of JSON text is converted (so its result keeps its call), one
    without `input` gets "{}". Everything else is kept as it is: readers check the fields they use
    and skip part types they do not know.
    """
    if not isinstance(parts, list):
        return [], [f"malformed parts ({_type_name(parts)}, not a list) skipped"]
    kept: list[Any] = []
    notes: list[str] = []
    for i, part in enumerate(parts):
        if not isinstance(part, dict):
            notes.append(f"malformed part {i} ({_type_name(part)}, not an object) skipped")
            continue
        data = part.get("data")
        if not isinstance(data, dict):
            notes.append(f"malformed part {i} ({part.get('type')}: data is {_type_name(data)}) skipped")
            continue
        if part.get("type") == "tool_call" and not isinstance(data.get("input"), str):
            value = data.get("input")
            try:
                text = "{}" if value is None else orjson.dumps(value).decode()
            except TypeError:
                notes.append(f"malformed part {i} (tool_call input) skipped")
                continue
            part = {**part, "data": {**data, "input": text}}
            notes.append(f"part {i}: tool_call input was not JSON text; converted")
        kept.append(part)
    return kept, notes


_PI_ENTRY_TYPES = frozenset({"thinking_level_change", "custom", "custom_message"})
_PI_HEADER_KEYS = ("parentSession", "parentSessionId", "branchedFrom", "modelId", "thinkingLevel")
"""Header keys only pi writes (version 1 headers name the model, later ones the parent session)."""
_PI_ENTRY_KEYS = (
    "parentId", "modelId", "thinkingLevel", "firstKeptEntryId", "firstKeptEntryIndex", "targetId", "fromId"
)
FOREIGN_PROBE = 8
"""How many entries `foreign_format` looks at: a foreign file shows itself in its first lines."""


def foreign_format(header: Entry | None, entries: list[Entry]) -> str | None:
    """Return "pi" when the file is a pi coding-agent session (camelCase keys, wrapped messages), else None.

    Cheap: the header and the first few entries. Go kit and kit_py lines (`parent_id`, `parts`)
    decide for kit as soon as one is seen.
    """
    if header is not None and any(key in header for key in _PI_HEADER_KEYS):
        return "pi"
    for entry in entries[:FOREIGN_PROBE]:
        if entry.get("type") in _PI_ENTRY_TYPES or any(key in entry for key in _PI_ENTRY_KEYS):
            return "pi"
        if entry.get("type") == "message" and isinstance(entry.get("message"), dict) and "parts" not in entry:
            return "pi"
        if "parent_id" in entry or "parts" in entry:
            return None
    return None
