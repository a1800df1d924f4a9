"""The integrity chain and `verify`: what kit writes can be checked, edits and deletions are named,
Go kit's entries are unchained (never "tampered"), and the state hash is what /session shows."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import orjson
from rich.console import Console

from kit_py.catalog import sessions_dir_for
from kit_py.catalog.verify import verify_file
from kit_py.config import Settings
from kit_py.engine.conversation import Conversation
from kit_py.repl.app import Repl
from kit_py.session import SessionManager, message, text_part
from kit_py.session.chain import canonical_json, entry_hash, hash_of
from kit_py.session.format import session_file_name

GOKIT = Path(__file__).parent / "fixtures" / "gokit"
GOKIT_MAIN = GOKIT / "2026-03-01T10-00-00-000Z_a1b2c3d4e5f6.jsonl"


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def conversation(folder: Path, turns: int = 3) -> SessionManager:
    m = SessionManager.create(folder, "/p")
    for n in range(turns):
        m.append(message("user", [text_part(f"question {n}")]))
        m.append_many([message("assistant", [text_part(f"answer {n} é ✓")], model="gpt-4o")])
    return m


def test_every_entry_kit_writes_is_chained_to_its_parent_and_the_state_hash_follows(tmp_path: Path):
    m = conversation(tmp_path)
    first = m.entries[1]
    m.branch(first["id"])  # a second branch off the first answer, then a persisted leaf move
    m.append(message("user", [text_part("other way")]))
    m.move_leaf(m.entries[3]["id"])
    assert m.path is not None
    entries = lines_of(m.path)[1:]
    by_id = {e["id"]: e for e in entries}
    for entry in entries:
        parent = by_id.get(entry.get("parent_id", ""))
        assert entry["hash"] == entry_hash(hash_of(parent), entry)  # sha256(parent hash + canonical JSON)
        assert canonical_json(entry) == orjson.dumps(
            {k: v for k, v in entry.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS
        )
    assert list(entries[0])[:2] == ["type", "id"] and list(entries[0])[-1] == "hash"  # Go kit's shape kept
    # the state hash is the last entry's (here the kit:leaf marker), and reopening gives the same
    assert m.state_hash == entries[-1]["hash"]
    assert SessionManager.open(m.path).state_hash == m.state_hash
    before = m.state_hash
    m.set_name("named")
    assert m.state_hash != before and m.state_hash == lines_of(m.path)[-1]["hash"]
    report = verify_file(m.path)
    assert report.ok and report.chained == len(entries) + 1 and report.unchained == 0
    assert report.state_hash == m.state_hash


def test_a_fork_keeps_the_hashes_of_the_copied_path(tmp_path: Path):
    m = conversation(tmp_path / "a")
    fork = m.fork(m.entries[3]["id"], tmp_path / "b")
    assert fork.path is not None
    assert [e["hash"] for e in lines_of(fork.path)[1:]] == [e["hash"] for e in m.entries[:4]]
    assert verify_file(fork.path).ok


def test_verify_names_an_edited_line_a_deleted_line_and_a_torn_tail(tmp_path: Path):
    m = conversation(tmp_path, turns=4)
    assert m.path is not None
    lines = m.path.read_text().splitlines()
    edited = json.loads(lines[3])
    edited["parts"][0]["data"]["text"] = "I never said that"
    lines[3] = json.dumps(edited, separators=(",", ":"))
    deleted = json.loads(lines.pop(6))
    m.path.write_text("\n".join(lines) + "\n" + '{"type":"message","id":"ab')
    report = verify_file(m.path)
    kinds = [(p.kind, p.line, p.entry_id) for p in report.problems]
    assert kinds == [
        ("tampered", 4, edited["id"]),
        ("parent", 7, json.loads(lines[6])["id"]),  # the line after the deleted one
        ("torn", 9, None),
    ]
    assert "changed after kit wrote it" in report.problems[0].message
    assert deleted["id"] in report.problems[1].message and "deleted" in report.problems[1].message
    assert not report.ok and not report.go_kit_readable


def test_a_recomputed_hash_is_caught_by_the_child_that_covers_it(tmp_path: Path):
    m = conversation(tmp_path)
    assert m.path is not None
    lines = [json.loads(line) for line in m.path.read_text().splitlines()]
    by_id = {e["id"]: e for e in lines[1:]}
    forged = lines[2]
    forged["parts"][0]["data"]["text"] = "forged"
    forged["hash"] = entry_hash(hash_of(by_id.get(forged.get("parent_id", ""))), forged)
    m.path.write_text(
        "".join(json.dumps(e) + "\n" for e in lines)
    )  # other key spacing: content is what counts
    report = verify_file(m.path)
    assert [(p.kind, p.line) for p in report.problems] == [("tampered", 4)]
    assert "its parent on line 3" in report.problems[0].message


def test_go_kit_entries_are_unchained_not_tampered_and_kit_chains_after_them(tmp_path: Path):
    path = tmp_path / GOKIT_MAIN.name
    shutil.copy(GOKIT_MAIN, path)
    report = verify_file(path)
    assert report.ok and report.chained == 0 and report.unchained == 20 and report.state_hash is None
    m = SessionManager.open(path)
    assert m.state_hash is None  # the last entry is Go kit's
    m.append(message("user", [text_part("kit continues")]))
    report = verify_file(path)
    assert report.ok and report.chained == 1 and report.unchained == 20
    assert report.state_hash == m.state_hash is not None


def test_verify_reports_what_go_kit_cannot_read_and_broken_links(tmp_path: Path):
    def entry(eid: str, parent: str | None = None, **fields) -> str:
        base = {"type": "message", "id": eid, "timestamp": "2026-01-01T00:00:00Z", "role": "user"}
        if parent:
            base["parent_id"] = parent
        base.update(fields or {"parts": [{"type": "text", "data": {"text": "q"}}]})
        return json.dumps(base)

    header = json.dumps(
        {"type": "session", "version": 3, "id": "f" * 32, "timestamp": "2026-01-01T00:00:00Z"}
    )
    path = tmp_path / session_file_name()
    path.write_text(
        "\n".join(
            [
                header,
                entry("a" * 16),
                entry("b" * 16, "c" * 16),  # its parent comes later: b -> c -> b is a cycle
                entry("c" * 16, "b" * 16),
                entry("a" * 16, "a" * 16),  # a duplicate id
                json.dumps({"type": "thinking_level_change", "id": "d" * 16}),
                entry("e" * 16, "a" * 16, parts=[{"type": "text", "data": None}]),
                "not json",
                entry("f" * 16, "a" * 16, timestamp="yesterday"),
            ]
        )
        + "\n"
    )
    report = verify_file(path)
    kinds = [(p.kind, p.line) for p in report.problems]
    assert kinds == [
        ("cycle", 3),
        ("duplicate-id", 5),
        ("go-kit", 6),
        ("go-kit-message", 7),
        ("json", 8),
        ("go-kit", 9),
    ]
    assert "thinking_level_change" in report.problems[2].message
    assert report.chained == 0 and not report.go_kit_readable


def test_a_file_without_a_header_or_of_another_version_is_named(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"type":"session","version":2,"id":"x","timestamp":"2026-01-01T00:00:00Z"}\n')
    assert [p.kind for p in verify_file(path).problems] == ["header"]
    path.write_text('{"type":"message","id":"aaaaaaaaaaaaaaaa","timestamp":"2026-01-01T00:00:00Z"}\n')
    assert "no session header" in verify_file(path).problems[0].message


def test_repl_session_command_shows_the_state_hash(tmp_path: Path):
    m = conversation(sessions_dir_for("/p", tmp_path))
    repl = Repl(Conversation(m, Settings()))
    repl._console = Console(file=io.StringIO(), width=200, color_system=None)
    repl.handle("/session")
    shown = repl.console.file.getvalue()  # type: ignore[attr-defined]
    assert f"state     {m.state_hash}" in shown
