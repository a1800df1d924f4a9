"""pi session files (badlogic/pi-mono's coding agent, format versions 1-3) as kit entries.

DESIGN.md §6 describes the format. The whole tree is converted, in file order, so branches, the leaf
(the last entry), labels, names, compactions (their kept segment: `first_kept_entry_id` keeps
pointing at the same message), model and thinking changes, usage and tool calls all survive:

- ids: an 8-hex pi id is padded to kit's 16 hex (`a1b2c3d4` -> `a1b2c3d400000000`), others hashed;
  version 1 files have no ids and are a chain in file order, their compactions point by line index;
- `toolResult` messages become `tool` messages, and a chain of them answering one assistant step
  becomes ONE tool message, as kit writes it; tool-call arguments become JSON text;
- pi counts input tokens without the cached ones; kit's `input_tokens` include them;
- `thinking_level_change` and pi's model sources (model changes, a version 1 header, an assistant
  answering with another model) become kit `model_change` entries carrying both model and level;
- what only pi knows (`custom` entries, commands run with `!!`, unknown types) is kept as
  `extension_data` (`pi:<type>`), which Go kit reads and context building ignores.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from kit_py.exchange.errors import ImportFileError
from kit_py.session import format as fmt

Entry = dict[str, Any]
VERSIONS = (1, 2, 3)
STOP_REASONS = {
    "stop": "stop",
    "length": "length",
    "toolUse": "tool_use",
    "error": "error",
    "aborted": "aborted",
}
_PI_ID = re.compile(r"^[0-9a-f]{8}$")
_KIT_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass
class _State:
    """The model and thinking level in force after an entry (on its own branch)."""

    provider: str = ""
    model: str = ""
    thinking: str | None = None


@dataclass
class Converted:
    entries: list[Entry]
    """kit entries in file order, each with its `parent_id` (absent on roots)."""
    leaf_id: str | None
    version: int
    warnings: list[str] = field(default_factory=list)


def bash_text(message: Entry) -> str:
    """A command run with `!` as the user message pi sends for it (pi's `bashExecutionToText`)."""
    text = f"Ran `{message.get('command', '')}`\n"
    output = message.get("output")
    text += f"```\n{output}\n```" if output else "(no output)"
    exit_code = message.get("exitCode")
    if message.get("cancelled"):
        text += "\n\n(command cancelled)"
    elif isinstance(exit_code, int) and exit_code != 0:
        text += f"\n\nCommand exited with code {exit_code}"
    if message.get("truncated") and message.get("fullOutputPath"):
        text += f"\n\n[Output truncated. Full output: {message['fullOutputPath']}]"
    return text


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


class _Converter:
    def __init__(self, source: str, header: Entry, lines: list[tuple[int, Entry]]) -> None:
        self.source = source
        self.header = header
        self.lines = lines
        self.warnings: list[str] = []
        self.out: list[Entry] = []
        self.kit_id: dict[str, str] = {}  # pi id -> the kit entry children attach to
        self.state: dict[str, _State] = {}
        self.tool_message: dict[str, Entry] = {}  # pi id of a toolResult -> its kit tool message
        self.used: set[str] = set()
        self.children: dict[str | None, int] = {}
        self.pi_parent: dict[str, str | None] = {}
        self.pi_entry: dict[str, Entry] = {}
        self.references: list[tuple[int, Entry, str, str]] = []  # (line, kit entry, field, pi id)
        self.default_time = self._time(header.get("timestamp"), 1, None) or fmt.now_timestamp()

    # --- errors and small conversions ---------------------------------------------------------------

    def fail(self, lineno: int, reason: str) -> ImportFileError:
        return ImportFileError(f"{self.source}: line {lineno}: {reason}")

    def warn(self, lineno: int, text: str) -> None:
        self.warnings.append(f"line {lineno}: {text}")

    def _time(self, value: Any, lineno: int, fallback: str | None) -> str | None:
        try:
            return fmt.check_timestamp(value)
        except ValueError:
            if fallback is not None:
                self.warn(lineno, f"timestamp {value!r} is not RFC 3339; the header's time is used")
            return fallback

    def new_id(self, pi_id: str | None) -> str:
        if pi_id is None:
            candidate = fmt.new_entry_id()
        elif _PI_ID.match(pi_id):
            candidate = pi_id + "00000000"
        elif _KIT_ID.match(pi_id):
            candidate = pi_id
        else:
            candidate = hashlib.sha256(pi_id.encode("utf-8")).hexdigest()[:16]
        while candidate in self.used:
            candidate = fmt.new_entry_id()
        self.used.add(candidate)
        return candidate

    def parts(self, content: Any, lineno: int) -> list[Entry]:
        if isinstance(content, str):
            return [fmt.text_part(content)]
        if content is None:
            return []
        if not isinstance(content, list):
            raise self.fail(
                lineno, f"message content must be text or a list of blocks, not {type(content).__name__}"
            )
        out: list[Entry] = []
        for index, block in enumerate(content):
            if not isinstance(block, dict):
                raise self.fail(lineno, f"content block {index} is not an object")
            kind = block.get("type")
            if kind == "text":
                out.append(fmt.text_part(str(block.get("text", ""))))
            elif kind == "thinking":
                part = fmt.reasoning_part(
                    str(block.get("thinking", "")), _str_or_none(block.get("thinkingSignature"))
                )
                if block.get("redacted"):
                    part["data"]["redacted"] = True
                out.append(part)
            elif kind == "toolCall":
                arguments = block.get("arguments", {})
                text = arguments if isinstance(arguments, str) else _json_text(arguments)
                part = fmt.tool_call_part(str(block.get("id", "")), str(block.get("name", "")), text)
                if isinstance(block.get("thoughtSignature"), str):
                    part["data"]["thought_signature"] = block["thoughtSignature"]
                out.append(part)
            elif kind == "image":
                data, media_type = block.get("data"), block.get("mimeType")
                try:
                    base64.b64decode(str(data), validate=True)
                except (binascii.Error, ValueError):
                    self.warn(lineno, f"content block {index}: image data is not base64; left out")
                    continue
                out.append(fmt.image_part(str(data), str(media_type or "image/png")))
            else:
                self.warn(lineno, f"content block {index} of unknown type {kind!r} left out")
        return out

    # --- entries ----------------------------------------------------------------------------------------

    def message(self, pi: Entry, lineno: int, state: _State, pi_id: str) -> tuple[list[Entry], _State]:
        message = pi.get("message")
        if not isinstance(message, dict):
            raise self.fail(lineno, "a message entry without a `message` object")
        role = message.get("role")
        if role == "hookMessage":  # version 2's name for `custom`
            role = "custom"
        if role == "user":
            return [fmt.message("user", self.parts(message.get("content"), lineno))], state
        if role == "assistant":
            return self.assistant(message, lineno, state)
        if role == "toolResult":
            return self.tool_result(message, lineno, pi_id), state
        if role == "bashExecution":
            if message.get("excludeFromContext"):
                return [fmt.extension_data("pi:bashExecution", _json_text(message))], state
            entry = fmt.message("user", [fmt.text_part(bash_text(message))], pi_role="bashExecution")
            return [entry], state
        if role == "custom":
            extra = {
                "custom_type": _str_or_none(message.get("customType")),
                "display": message.get("display"),
            }
            return [fmt.message("user", self.parts(message.get("content"), lineno), **extra)], state
        self.warn(lineno, f"a message with role {role!r} is kept as pi:message extension data (not sent)")
        return [fmt.extension_data("pi:message", _json_text(message))], state

    def assistant(self, message: Entry, lineno: int, state: _State) -> tuple[list[Entry], _State]:
        out: list[Entry] = []
        provider, model = _str_or_none(message.get("provider")), _str_or_none(message.get("model"))
        if model and (provider or "", model) != (state.provider, state.model):
            state = _State(provider or "", model, state.thinking)
            out.append(fmt.model_change(state.provider, state.model, state.thinking))
        stop = message.get("stopReason")
        entry = fmt.message(
            "assistant",
            self.parts(message.get("content"), lineno),
            model=model,
            provider=provider,
            usage=_usage(message.get("usage")),
            stop_reason=STOP_REASONS.get(stop, stop) if isinstance(stop, str) else None,
            error=_str_or_none(message.get("errorMessage")),
            api=_str_or_none(message.get("api")),
        )
        out.append(entry)
        return out, state

    def tool_result(self, message: Entry, lineno: int, pi_id: str) -> list[Entry]:
        content = message.get("content")
        blocks = self.parts(content, lineno)
        text = "\n".join(p["data"]["text"] for p in blocks if p["type"] == "text")
        extra: dict[str, Any] = {}
        if message.get("details") is not None:
            extra["details"] = message["details"]
        result = fmt.tool_result_part(
            str(message.get("toolCallId", "")),
            str(message.get("toolName", "")),
            text,
            bool(message.get("isError")),
            **extra,
        )
        parts = [result, *(p for p in blocks if p["type"] == "image")]
        parent = self.pi_parent.get(pi_id)
        earlier = self.tool_message.get(parent) if parent is not None else None
        if earlier is not None and self.children.get(parent) == 1:
            earlier["parts"].extend(parts)  # one step's results: one tool message, as kit writes it
            self.tool_message[pi_id] = earlier
            return []
        entry = fmt.message("tool", parts)
        self.tool_message[pi_id] = entry
        return [entry]

    def compaction(self, pi: Entry, lineno: int, pi_id: str) -> Entry:
        details: Entry = pi["details"] if isinstance(pi.get("details"), dict) else {}
        first = pi.get("firstKeptEntryId")
        entry = fmt.compaction(
            str(pi.get("summary", "")),
            "",
            _int(pi.get("tokensBefore")),
            0,
            0,
            _strings(details.get("readFiles")),
            _strings(details.get("modifiedFiles")),
        )
        rest = {k: v for k, v in details.items() if k not in ("readFiles", "modifiedFiles")}
        if rest:
            entry["details"] = rest
        if pi.get("fromHook") is not None:
            entry["from_hook"] = bool(pi["fromHook"])
        if isinstance(first, str) and first:
            self.references.append((lineno, entry, "first_kept_entry_id", first))
            removed, kept = self._split_at(pi_id, first)
            entry["messages_removed"] = removed
            entry["tokens_after"] = (len(entry["summary"].encode("utf-8")) + kept) // 4
        return entry

    def _split_at(self, compaction_id: str, first_kept: str) -> tuple[int, int]:
        """(messages on the path before `first_kept`, bytes of the kept messages): what the compaction
        removed and an estimate (bytes / 4) of what is left."""
        path: list[str] = []
        node = self.pi_parent.get(compaction_id)
        while node is not None and node in self.pi_entry and node not in path:
            path.append(node)
            node = self.pi_parent.get(node)
        path.reverse()
        if first_kept not in path:
            return 0, 0
        at = path.index(first_kept)
        messages = ("message", "custom_message")  # kit messages: results merged into one count once
        removed = len({self.kit_id[pid] for pid in path[:at] if self.pi_entry[pid].get("type") in messages})
        kept = sum(len(_json_text(self.pi_entry[pid].get("message", ""))) for pid in path[at:])
        return removed, kept

    def entry(self, pi: Entry, lineno: int, state: _State, pi_id: str) -> tuple[list[Entry], _State]:
        kind = pi.get("type")
        if kind == "message":
            return self.message(pi, lineno, state, pi_id)
        if kind == "model_change":
            state = _State(str(pi.get("provider") or ""), str(pi.get("modelId") or ""), state.thinking)
            return [fmt.model_change(state.provider, state.model, state.thinking)], state
        if kind == "thinking_level_change":
            state = _State(state.provider, state.model, _str_or_none(pi.get("thinkingLevel")))
            return [fmt.model_change(state.provider, state.model, state.thinking)], state
        if kind == "compaction":
            return [self.compaction(pi, lineno, pi_id)], state
        if kind == "branch_summary":
            entry = fmt.branch_summary("", str(pi.get("summary", "")))
            if isinstance(pi.get("fromId"), str):
                self.references.append((lineno, entry, "from_id", pi["fromId"]))
            if pi.get("details") is not None:
                entry["details"] = pi["details"]
            return [entry], state
        if kind == "custom":
            return [
                fmt.extension_data(f"pi:{pi.get('customType', 'custom')}", _json_text(pi.get("data")))
            ], state
        if kind == "custom_message":
            extra = {"custom_type": _str_or_none(pi.get("customType")), "display": pi.get("display")}
            if pi.get("details") is not None:
                extra["details"] = pi["details"]
            return [fmt.message("user", self.parts(pi.get("content"), lineno), **extra)], state
        if kind == "label":
            entry = fmt.label("", str(pi.get("label") or ""))
            if isinstance(pi.get("targetId"), str):
                self.references.append((lineno, entry, "target_id", pi["targetId"]))
            return [entry], state
        if kind == "session_info":
            return [fmt.session_info(str(pi.get("name") or ""))], state
        self.warn(lineno, f"entry type {kind!r} is kept as pi:{kind} extension data")
        return [fmt.extension_data(f"pi:{kind}", _json_text(pi))], state

    # --- the file -----------------------------------------------------------------------------------

    def ids(self, version: int) -> list[tuple[int, Entry, str, str | None]]:
        """(line, entry, pi id, pi parent id) for every entry; version 1 gets its chain of ids here."""
        out: list[tuple[int, Entry, str, str | None]] = []
        previous: str | None = None
        for lineno, pi in self.lines:
            if not isinstance(pi.get("type"), str):
                raise self.fail(lineno, "entry without a `type`")
            if version == 1:
                pi_id: Any = f"line-{lineno}"
                parent: Any = previous
            else:
                pi_id, parent = pi.get("id"), pi.get("parentId")
                if not isinstance(pi_id, str) or not pi_id:
                    raise self.fail(
                        lineno, "entry without an `id` (pi files of version 2 and 3 give every entry one)"
                    )
                if parent is not None and not isinstance(parent, str):
                    raise self.fail(lineno, f"`parentId` must be an id or null, not {parent!r}")
            if pi_id in self.pi_entry:
                raise self.fail(lineno, f"duplicate entry id {pi_id!r}")
            self.pi_entry[pi_id] = pi
            self.pi_parent[pi_id] = parent
            self.children[parent] = self.children.get(parent, 0) + 1
            out.append((lineno, pi, pi_id, parent))
            previous = pi_id
        if version == 1:  # compactions name their first kept entry by its index in the file
            for _lineno, pi, _pi_id, _parent in out:
                index = pi.get("firstKeptEntryIndex")
                if pi.get("type") == "compaction" and isinstance(index, int) and 1 <= index <= len(out):
                    pi["firstKeptEntryId"] = out[index - 1][2]
        return out

    def convert(self) -> Converted:
        version = self.header.get("version", 1)
        if version not in VERSIONS:
            raise self.fail(1, f"pi session format version {version!r} is not one kit can import (1, 2 or 3)")
        rows = self.ids(version)
        initial = _State(
            str(self.header.get("provider") or ""),
            str(self.header.get("modelId") or ""),
            _str_or_none(self.header.get("thinkingLevel")),
        )
        root: str | None = None
        if initial.model or initial.thinking:  # a version 1 header names the model the session started with
            start = fmt.model_change(initial.provider, initial.model, initial.thinking)
            root = self._place(start, None, self.default_time)
        for lineno, pi, pi_id, parent in rows:
            if parent is not None and parent not in self.kit_id:
                self.warn(
                    lineno, f"parent {parent} not found earlier in the file; the entry is kept as a root"
                )
                parent = self.pi_parent[pi_id] = None
            state = self.state[parent] if parent is not None else initial
            kit_parent = self.kit_id[parent] if parent is not None else root
            when = self._time(pi.get("timestamp"), lineno, self.default_time) or self.default_time
            converted, state = self.entry(pi, lineno, state, pi_id)
            for entry in converted:
                kit_parent = self._place(entry, kit_parent, when, pi_id if entry is converted[-1] else None)
            if not converted:  # merged into its parent tool message
                kit_parent = self.kit_id[parent] if parent is not None else root
            self.kit_id[pi_id] = kit_parent or ""
            self.state[pi_id] = state
        for lineno, entry, key, pi_id in self.references:
            target = self.kit_id.get(pi_id)
            if not target:
                self.warn(lineno, f"{key} {pi_id} names no entry of this file")
            entry[key] = target or ""
        leaf = self.kit_id.get(rows[-1][2]) if rows else (root if root else None)
        return Converted(self.out, leaf or None, version, self.warnings)

    def _place(self, entry: Entry, parent: str | None, when: str, pi_id: str | None = None) -> str:
        entry["id"] = self.new_id(pi_id)
        entry["timestamp"] = when
        if parent:
            entry["parent_id"] = parent
        self.out.append(entry)
        return str(entry["id"])


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _usage(usage: Any) -> Entry | None:
    """pi usage -> kit usage; kit's input tokens include the cached ones, pi's do not."""
    if not isinstance(usage, dict):
        return None
    read, write = _int(usage.get("cacheRead")), _int(usage.get("cacheWrite"))
    cost = usage.get("cost")
    total = cost.get("total") if isinstance(cost, dict) else None
    return {
        "input_tokens": _int(usage.get("input")) + read + write,
        "output_tokens": _int(usage.get("output")),
        "cache_read_tokens": read,
        "cache_creation_tokens": write,
        "cost_usd": float(total) if isinstance(total, int | float) and not isinstance(total, bool) else None,
    }


def convert(source: str, header: Entry, lines: list[tuple[int, Entry]]) -> Converted:
    """The kit entries for a pi file (`lines`: (line number, object) after the header)."""
    return _Converter(source, header, lines).convert()
