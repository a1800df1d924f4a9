"""The Markdown export: the active path as a readable document that kit can also read back.

Roles as headings, text as Markdown, reasoning and the system prompt folded (`<details>`), each tool
call followed by its result, compaction and branch summaries marked. The hidden markers of
`md_markers` carry what is not shown, so `kit import` turns the file back into a linear session.
"""

from __future__ import annotations

from typing import Any

from kit_py.exchange.facts import SessionFacts, session_facts
from kit_py.exchange.md_markers import END, TEXT, escape_text, fenced, marker
from kit_py.llm.types import format_cost
from kit_py.session import SessionManager
from kit_py.session.context import kept_segment

Entry = dict[str, Any]
SHORT_RESULT = 10
"""Results of at most this many lines are shown open; longer ones are folded."""
BODY_FIELDS = {
    "text": "text",
    "reasoning": "thinking",
    "tool_call": "input",
    "tool_result": "content",
    "image": "data",
}
_ENTRY_SKIP = ("type", "parts", "parent_id", "hash")
_HEADINGS = {"user": "User", "assistant": "Assistant"}
_STOPPED = {
    "aborted": "interrupted by the user",
    "error": "failed",
    "length": "cut off at the length limit",
    "max_steps": "stopped at the step limit",
}


def _lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _entry_fields(entry: Entry) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in _ENTRY_SKIP}


def _part_fields(part: Entry, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    body = BODY_FIELDS.get(str(part.get("type")))
    return {k: v for k, v in part["data"].items() if k != body and k not in drop}


def _header(facts: SessionFacts) -> list[str]:
    totals = facts.totals
    tokens = f"{totals.input_tokens:,} in · {totals.output_tokens:,} out"
    if totals.cache_read_tokens:
        tokens += f" · {totals.cache_read_tokens:,} cached"
    rows = [
        ("session", f"`{facts.session_id}`"),
        ("cwd", f"`{facts.cwd}`"),
        (
            "model",
            f"`{facts.model}`" + (f" · thinking {facts.thinking_level}" if facts.thinking_level else "")
            if facts.model
            else "unknown",
        ),
        ("created", facts.created),
        ("messages", f"{totals.messages} ({totals.answers} answers)"),
        ("tokens", tokens),
        ("cost", format_cost(totals.cost_usd)),
    ]
    out = [
        f"# {facts.title}",
        "",
        marker("session", {"id": facts.session_id, "name": facts.name, "cwd": facts.cwd}),
        "",
    ]
    out += ["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows), ""]
    return out


def _text(text: str, fields: dict[str, Any] | None = None) -> list[str]:
    return [marker(TEXT, fields), "", escape_text(text), "", marker(END), ""]


def _folded(summary: str, lines: list[str], open_: bool = False) -> list[str]:
    return [f"<details{' open' if open_ else ''}><summary>{summary}</summary>", "", *lines, "</details>", ""]


def _result(part: Entry, message: Entry) -> list[str]:
    data = part["data"]
    content = str(data.get("content", ""))
    fields = {**_part_fields(part, ("diff",)), "message": _entry_fields(message)}
    count = _lines(content)
    facts = [f"{count} line{'s' if count != 1 else ''}"]
    if data.get("exit_code") is not None:
        facts.append(f"exit {data['exit_code']}")
    if data.get("is_error"):
        facts.append("error")
    body = [marker("tool_result", fields), "", fenced(content, "text"), ""]
    diff = data.get("diff")
    if isinstance(diff, str) and diff:
        body += [marker("diff"), "", fenced(diff, "diff"), ""]
    name = data.get("name") or "tool"
    return _folded(f"Result of {name} · {' · '.join(facts)}", body, open_=count <= SHORT_RESULT)


def _image(part: Entry, message: Entry | None = None) -> list[str]:
    """An image part; one of a tool message carries that message's fields (it is not under its heading)."""
    fields = _part_fields(part)
    if message is not None:
        fields["message"] = _entry_fields(message)
    data = part["data"]
    return [
        marker("image", fields),
        "",
        f"![image](data:{data.get('media_type')};base64,{data.get('data')})",
        "",
    ]


def _message(entry: Entry, results: dict[str, tuple[Entry, Entry]], shown: set[int]) -> list[str]:
    role = str(entry.get("role"))
    parts = [p for p in entry.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("data"), dict)]
    if role == "system":
        text = "\n".join(str(p["data"].get("text", "")) for p in parts if p.get("type") == "text")
        return [marker("message", _entry_fields(entry)), *_folded("System prompt", _text(text))]
    if role == "tool":  # its parts carry the tool message's fields: results usually follow their calls
        rest = [p for p in parts if id(p) not in shown]
        out = ["## Tool results", ""] if rest else []
        for part in rest:
            if part.get("type") == "tool_result":
                out += _result(part, entry)
            elif part.get("type") == "image":
                out += _image(part, entry)
        return out
    heading = _HEADINGS.get(role, role)
    if role == "assistant" and entry.get("model"):
        heading += f" · {entry['model']}"
    out = [f"## {heading}", "", marker("message", _entry_fields(entry)), ""]
    for part in parts:
        ptype, data = part.get("type"), part["data"]
        if ptype == "text":
            out += _text(str(data.get("text", "")), _part_fields(part))
        elif ptype == "reasoning":
            body = [marker("reasoning", _part_fields(part)), "", fenced(str(data.get("thinking", ""))), ""]
            out += _folded("Reasoning", body)
        elif ptype == "tool_call":
            out += [f"**Tool call** `{data.get('name')}`", "", marker("tool_call", _part_fields(part)), ""]
            out += [fenced(str(data.get("input", "")), "json"), ""]
            found = results.get(str(data.get("id")))
            if found is not None:
                message, result = found
                shown.add(id(result))
                out += _result(result, message)
        elif ptype == "image":
            out += _image(part)
    stop = entry.get("stop_reason")
    if role == "assistant" and stop in _STOPPED:
        out += [f"*Answer {_STOPPED[stop]}.*", ""]
    return out


def _tool_results(path: list[Entry]) -> dict[str, tuple[Entry, Entry]]:
    """Each tool call id on the path -> (the tool message, the result part answering it)."""
    found: dict[str, tuple[Entry, Entry]] = {}
    for entry in path:
        if entry.get("type") == "message" and entry.get("role") == "tool":
            for part in entry.get("parts") or []:
                if (
                    isinstance(part, dict)
                    and part.get("type") == "tool_result"
                    and isinstance(part.get("data"), dict)
                ):
                    found.setdefault(str(part["data"].get("tool_call_id")), (entry, part))
    return found


def _event(entry: Entry) -> list[str]:
    etype = entry.get("type")
    fields = _entry_fields(entry)
    if etype == "compaction":
        what = f"**Compaction** · {entry.get('messages_removed', 0)} messages summarized"
        if entry.get("tokens_before"):
            what += f" ({entry.get('tokens_before'):,} → {entry.get('tokens_after', 0):,} tokens)"
        fields.pop("summary", None)
        body = [marker("compaction", fields), "", fenced(str(entry.get("summary", "")), "markdown"), ""]
        return [f"> {what}", "", *_folded("Summary of the earlier conversation", body)]
    if etype == "branch_summary":
        fields.pop("summary", None)
        return [
            "> **Branch summary**",
            "",
            marker("branch_summary", fields),
            "",
            fenced(str(entry.get("summary", "")), "markdown"),
            "",
        ]
    if etype == "model_change":
        model = (
            f"{entry.get('provider')}/{entry.get('model_id')}"
            if entry.get("provider")
            else str(entry.get("model_id"))
        )
        thinking = f" · thinking {entry['thinking_level']}" if entry.get("thinking_level") else ""
        return [f"*Model: `{model}`{thinking}*", "", marker("model_change", fields), ""]
    if etype == "label":
        shown = f"*Label: {entry.get('label')}*" if entry.get("label") else "*Label cleared*"
        return [shown, "", marker("label", fields), ""]
    return []


def active_path(session: SessionManager) -> list[Entry]:
    """The path to the leaf; behind a Go kit root compaction, its kept segment first (those messages are
    still sent, but sit on another branch of the file), so the Markdown reads back to the same context."""
    path = session.path_entries()
    if path and path[0].get("type") == "compaction":
        return [*kept_segment(session.tree, path[0]), *path]
    return path


def render_markdown(session: SessionManager) -> bytes:
    facts = session_facts(session)
    path = active_path(session)
    results = _tool_results(path)
    shown: set[int] = set()
    out = _header(facts)
    for entry in path:
        out += _message(entry, results, shown) if entry.get("type") == "message" else _event(entry)
    return ("\n".join(out).rstrip("\n") + "\n").encode("utf-8")
