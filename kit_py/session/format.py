"""Session wire format (Go kit v3): ids, timestamps, file names and entry constructors.

Entries are plain dicts in exactly their wire form so they round-trip untouched; the
constructors here leave out `id`, `parent_id` and `timestamp`, which the store fills in.
"""

from __future__ import annotations

import re
import secrets
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
    return secrets.token_hex(8)


def new_session_id() -> str:
    """32 lowercase hex characters."""
    return secrets.token_hex(16)


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
    return f"{stamp}_{secrets.token_hex(6)}.jsonl"


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
