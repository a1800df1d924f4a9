"""`kit sessions list` and `kit sessions show`: what is there, and what one session says."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.cli.sessions.output import age, dollars, emit_json, iso, parse_duration, progress_bar, resolve

if TYPE_CHECKING:
    from kit_py.catalog.index import IndexedSession
    from kit_py.session import SessionManager

TITLE_CHARS = 60
LINE_CHARS = 100


def session_row(session: IndexedSession) -> dict[str, Any]:
    """One session in every `--json` document that lists sessions (list, search, show)."""
    facts = session.facts
    return {
        "id": session.session_id,
        "path": session.file,
        "cwd": session.cwd,
        "name": session.name,
        "preview": session.preview,
        "created": facts.created or None,
        "modified": iso(session.modified),
        "messages": session.branch_messages,
        "messages_total": facts.messages,
        "tokens": session.tokens,
        "input_tokens": facts.input_tokens,
        "output_tokens": facts.output_tokens,
        "cache_read_tokens": facts.cache_read_tokens,
        "cache_write_tokens": facts.cache_write_tokens,
        "cost_usd": dollars(facts.cost),
        "model": facts.model or None,
        "models": facts.models,
        "size": session.size,
    }


def _title(session: IndexedSession) -> str:
    text = session.name or session.preview or "(no messages)"
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def list_command(
    *, all_dirs: bool, json_output: bool, name: str | None, since: str | None, model: str | None, root: Path
) -> int:
    from kit_py.catalog.overview import Filters, catalog_sessions
    from kit_py.session.cwd import logical_cwd

    filters = Filters(
        name=name,
        since=None if since is None else time.time() - parse_duration(since, "--since"),
        model=model,
    )
    cwd = None if all_dirs else logical_cwd()
    with progress_bar() as progress:
        found = catalog_sessions(root, cwd, filters, progress=progress)
    if json_output:
        emit_json({"sessions": [session_row(s) for s in found]})
        return 0
    if not found:
        where = "anywhere" if all_dirs else "for this directory"
        hint = "" if all_dirs else "; --all lists every directory"
        filtered = " matching the filters" if (name or since or model) else ""
        print(f"no sessions{filtered} {where} (run kit to start one{hint})", file=sys.stderr)
        return 0
    from kit_py.repl.stats import format_cost, human_tokens

    now = time.time()
    print(f"{'ID':<12}  {'AGE':>8}  {'MSGS':>4}  {'TOKENS':>6}  {'COST':>8}  NAME OR FIRST MESSAGE")
    for session in found:
        cost = format_cost(session.facts.cost) if session.facts.cost is not None else "-"
        place = f"  ({session.cwd})" if all_dirs else ""
        print(
            f"{session.session_id[:12]:<12}  {age(session.modified, now):>8}  {session.branch_messages:>4}  "
            f"{human_tokens(session.tokens):>6}  {cost:>8}  {_title(session)}{place}"
        )
    return 0


# --- show ---------------------------------------------------------------------------------------------


def show_command(ref: str, *, tree: bool, json_output: bool, root: Path) -> int:
    from kit_py.catalog.overview import indexed_session
    from kit_py.session import SessionManager
    from kit_py.session.cwd import logical_cwd

    info = resolve(ref, root, logical_cwd())
    session = SessionManager.open(info.path)
    for warning in session.warnings:
        print(f"kit: warning: {warning}", file=sys.stderr)
    on_path = [e["id"] for e in session.path_entries()]
    entries = session.entries if tree else session.path_entries()
    if json_output:
        listed = indexed_session(info.path, root)
        emit_json(
            {
                "session": session_row(listed)
                if listed
                else {"id": session.session_id, "path": str(info.path)},
                "header": session.header,
                "leaf_id": session.leaf_id,
                "state_hash": session.state_hash,
                "view": "tree" if tree else "path",
                "path": on_path,
                "labels": session.labels,
                "entries": entries,
            }
        )
        return 0
    name = f" · {session.name}" if session.name else ""
    print(f"session {session.session_id}{name}\n{info.path}\ncwd {session.cwd}")
    print(f"state {session.state_hash or '- (no hash: last written by Go kit)'}\n")
    if tree:
        _print_tree(session, set(on_path))
    else:
        for entry in entries:
            for line in _transcript_lines(entry):
                print(line)
    return 0


def _one_line(text: str, limit: int = LINE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _transcript_lines(entry: dict[str, Any]) -> list[str]:
    """How one entry of the active path reads in `show` (messages in full, the rest in brief)."""
    from kit_py.session.format import message_text

    etype = entry.get("type")
    if etype == "message":
        role = entry.get("role")
        text = message_text(entry)
        if role == "tool":
            results = [p.get("data", {}) for p in entry.get("parts", []) if p.get("type") == "tool_result"]
            return [
                f"  ← {r.get('name', 'tool')}: {_one_line(str(r.get('content', '')), 80)}" for r in results
            ]
        lines = []
        if text:
            who = "you" if role == "user" else str(role)
            lines.append(f"{who}: {text}" if "\n" not in text else f"{who}:\n{text}")
        for part in entry.get("parts", []):
            if part.get("type") == "tool_call":
                data = part.get("data", {})
                lines.append(f"  → {data.get('name', '?')} {_one_line(str(data.get('input', '')), 80)}")
        return lines + [""] if lines else []
    if etype == "compaction":
        return [f"[earlier conversation summarized: {entry.get('messages_removed', '?')} messages]", ""]
    if etype == "branch_summary":
        return [f"[branch summary: {_one_line(str(entry.get('summary', '')))}]", ""]
    if etype == "model_change":
        return [f"[model {entry.get('provider', '')}/{entry.get('model_id', '')}]"]
    return []


def _summary(entry: dict[str, Any]) -> str:
    from kit_py.session.format import message_text

    etype = entry.get("type")
    if etype == "message":
        text = message_text(entry)
        if not text:
            calls = [
                p["data"].get("name", "?") for p in entry.get("parts", []) if p.get("type") == "tool_call"
            ]
            results = [
                p["data"].get("name", "?") for p in entry.get("parts", []) if p.get("type") == "tool_result"
            ]
            text = "→ " + ", ".join(calls) if calls else "← " + ", ".join(results) if results else ""
        return f"{entry.get('role')}: {_one_line(text, 70)}"
    if etype == "model_change":
        return f"model {entry.get('model_id', '')}"
    if etype == "extension_data":
        return str(entry.get("ext_type", "extension_data"))
    if etype == "label":
        return f"label {entry.get('label', '')!r} on {str(entry.get('target_id', ''))[:8]}"
    if etype == "session_info":
        return f"name {entry.get('name', '')!r}"
    return str(etype)


def _print_tree(session: SessionManager, on_path: set[str]) -> None:
    """Every entry, depth first; a branch point indents its children. `*` marks the active path."""
    labels = session.labels
    tree = session.tree
    stack = [(root, 0) for root in reversed(tree.roots())]
    while stack:
        eid, depth = stack.pop()
        entry = tree.by_id[eid]
        mark = "*" if eid in on_path else " "
        label = f" [{labels[eid]}]" if eid in labels else ""
        leaf = "  ◀ leaf" if eid == session.leaf_id else ""
        print(f"{mark} {'  ' * depth}{eid[:8]} {_summary(entry)}{label}{leaf}")
        children = tree.children(eid)
        step = 1 if len(children) > 1 else 0
        stack.extend((child, depth + step) for child in reversed(children))
