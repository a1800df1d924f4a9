"""Store behaviour: lazy creation, permissions, tolerant load, crash safety, concurrent writers."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from kit_py.session import SessionManager, message, text_part

ROOT = Path(__file__).resolve().parent.parent
HEADER = (
    '{"type":"session","version":3,"id":"00112233445566778899aabbccddeeff",'
    '"timestamp":"2026-01-01T00:00:00Z","cwd":"/w"}'
)


def user(text: str) -> dict:
    return message("user", [text_part(text)])


def line(eid: str, parent: str | None = None, **fields: object) -> str:
    entry: dict[str, object] = {"type": "message", "id": eid}
    if parent:
        entry["parent_id"] = parent
    entry["timestamp"] = "2026-01-01T00:00:01Z"
    entry.update(fields or {"role": "user", "parts": [{"type": "text", "data": {"text": eid}}]})
    return json.dumps(entry, separators=(",", ":"))


def write(path: Path, *lines: str, newline: bool = True) -> Path:
    path.write_text("\n".join(lines) + ("\n" if newline else ""))
    return path


# --- creation and permissions ----------------------------------------------------------------------


def test_no_file_or_folder_until_first_append_then_private(tmp_path: Path) -> None:
    folder = tmp_path / "sessions" / "home--u"
    m = SessionManager.create(folder, "/home/u")
    assert not folder.exists()
    assert m.path is not None and m.path.parent == folder
    m.append(user("hi"))
    assert stat.S_IMODE(m.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "sessions").stat().st_mode) == 0o700
    lines = m.path.read_bytes().splitlines()
    assert len(lines) == 2 and orjson.loads(lines[0])["type"] == "session"


def test_in_memory_manager_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    m = SessionManager.create(None, str(tmp_path))
    a = m.append(user("hi"))
    m.set_name("n")
    m.move_leaf(a["id"])
    m.sync()
    assert m.path is None and list(tmp_path.iterdir()) == []
    assert [e["id"] for e in m.path_entries()] == [a["id"]]


def test_append_fills_id_parent_timestamp_and_omits_parent_on_root(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    a = m.append(user("a"))
    b = m.append(user("b"))
    assert "parent_id" not in a and b["parent_id"] == a["id"] and m.leaf_id == b["id"]
    stored = [orjson.loads(x) for x in m.path.read_bytes().splitlines()[1:]]  # type: ignore[union-attr]
    assert stored == [a, b]


def test_append_many_is_one_chained_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("q"))
    before = m.path.stat().st_size  # type: ignore[union-attr]
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: bytes) -> int:
        writes.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counting_write)
    a, t = m.append_many([message("assistant", [text_part("x")]), message("tool", [])])
    monkeypatch.undo()
    assert m.path is not None
    assert len(writes) == 1 and writes[0] == m.path.stat().st_size - before
    assert t["parent_id"] == a["id"] and m.leaf_id == t["id"]


def test_refuses_types_go_kit_cannot_read(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    with pytest.raises(ValueError, match="entry type"):
        m.append({"type": "custom", "x": 1})
    assert m.path is not None and not m.path.exists()


# --- tolerant load ---------------------------------------------------------------------------------


def test_torn_last_line_is_skipped_then_moved_to_a_sidecar_by_the_next_append(tmp_path: Path) -> None:
    torn = '{"type":"message","id":"a0000'
    p = write(tmp_path / "s.jsonl", HEADER, line("a000000000000001"), torn, newline=False)
    m = SessionManager.open(p)
    assert [e["id"] for e in m.entries] == ["a000000000000001"]
    assert any("line 3" in w and "incomplete" in w for w in m.warnings)
    new = m.append(user("after crash"))
    reopened = SessionManager.open(p)
    assert [e["id"] for e in reopened.entries] == ["a000000000000001", new["id"]]
    assert reopened.warnings == [], "the file is whole again: Go kit can read it"
    assert reopened.get(new["id"])["parent_id"] == "a000000000000001"  # type: ignore[index]
    sidecars = list(tmp_path.glob("s.jsonl.torn-*"))
    assert len(sidecars) == 1 and sidecars[0].read_text() == torn
    assert m.take_notices() == [
        f"repaired {p}: an interrupted last line ({len(torn)} bytes) was moved to {sidecars[0]}"
    ]


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    p = write(tmp_path / "s.jsonl", HEADER, line("a000000000000001"), newline=False)
    m = SessionManager.open(p)
    assert m.warnings == [] and m.leaf_id == "a000000000000001"
    m.append(user("next"))
    assert len(SessionManager.open(p).entries) == 2


def test_malformed_middle_line_is_named_and_the_rest_kept(tmp_path: Path) -> None:
    p = write(
        tmp_path / "s.jsonl",
        HEADER,
        line("a000000000000001"),
        "{not json",
        line("a000000000000002", "a000000000000001"),
    )
    m = SessionManager.open(p)
    assert [e["id"] for e in m.entries] == ["a000000000000001", "a000000000000002"]
    assert m.warnings == ["line 3: malformed JSON ignored"]


def test_unknown_type_kept_but_ignored(tmp_path: Path) -> None:
    p = write(
        tmp_path / "s.jsonl",
        HEADER,
        line("a000000000000001"),
        line("a000000000000002", "a000000000000001", future_field=1).replace('"message"', '"hologram"', 1),
        line("a000000000000003", "a000000000000002"),
    )
    m = SessionManager.open(p)
    assert any("line 3" in w and "hologram" in w for w in m.warnings)
    assert m.get("a000000000000002")["type"] == "hologram"  # type: ignore[index]
    ctx = m.build_context()
    assert ctx.entry_ids == ["a000000000000001", "a000000000000003"]


def test_unknown_fields_round_trip(tmp_path: Path) -> None:
    exotic = line(
        "a000000000000001",
        role="user",
        parts=[{"type": "text", "data": {"text": "hi", "lang": "en"}}],
        go_only={"nested": [1, 2.5, None]},
        flag=True,
    )
    p = write(tmp_path / "s.jsonl", HEADER, exotic)
    m = SessionManager.open(p)
    m.append(user("more"))
    assert p.read_text().splitlines()[1] == exotic  # bytes already written are never touched
    fork = m.fork("a000000000000001", tmp_path / "forks")
    copied = fork.path.read_bytes().splitlines()[1]  # type: ignore[union-attr]
    assert orjson.loads(copied) == json.loads(exotic)
    assert copied.decode() == exotic


def test_orphan_parent_becomes_a_root_and_is_kept(tmp_path: Path) -> None:
    p = write(
        tmp_path / "s.jsonl", HEADER, line("a000000000000001"), line("a000000000000002", "ffffffffffffffff")
    )
    m = SessionManager.open(p)
    assert m.warnings == ["line 3: parent ffffffffffffffff not found; entry kept as a root"]
    assert [e["id"] for e in m.path_entries()] == ["a000000000000002"]
    assert m.get("a000000000000002")["parent_id"] == "ffffffffffffffff"  # type: ignore[index]


def test_parent_cycle_is_broken(tmp_path: Path) -> None:
    p = write(
        tmp_path / "s.jsonl",
        HEADER,
        line("a000000000000001", "a000000000000002"),
        line("a000000000000002", "a000000000000001"),
        line("a000000000000003", "a000000000000003"),
    )
    m = SessionManager.open(p)
    assert len(m.warnings) == 2
    assert m.warnings[0].startswith("line 2:") and "cycle" in m.warnings[0]
    assert m.warnings[1].startswith("line 4:") and "cycle" in m.warnings[1]
    assert [e["id"] for e in m.path_entries("a000000000000002")] == ["a000000000000001", "a000000000000002"]
    assert [e["id"] for e in m.path_entries()] == ["a000000000000003"]
    m.append(user("still works"))


def test_forward_reference_without_cycle_is_attached(tmp_path: Path) -> None:
    p = write(
        tmp_path / "s.jsonl", HEADER, line("a000000000000002", "a000000000000001"), line("a000000000000001")
    )
    m = SessionManager.open(p)
    assert m.warnings == ["line 2: parent a000000000000001 appears later in the file; attached anyway"]
    assert [e["id"] for e in m.children("a000000000000001")] == ["a000000000000002"]


def test_duplicate_id_keeps_first(tmp_path: Path) -> None:
    p = write(
        tmp_path / "s.jsonl",
        HEADER,
        line("a000000000000001"),
        line("a000000000000001", role="user", parts=[{"type": "text", "data": {"text": "second"}}]),
    )
    m = SessionManager.open(p)
    assert m.warnings == ["line 3: duplicate id a000000000000001 ignored (first seen on line 2)"]
    assert m.get("a000000000000001")["parts"][0]["data"]["text"] == "a000000000000001"  # type: ignore[index]


def test_missing_header_still_opens(tmp_path: Path) -> None:
    p = write(tmp_path / "s.jsonl", line("a000000000000001"))
    m = SessionManager.open(p)
    assert m.warnings == ["line 1: session header missing; reading entries anyway"]
    assert m.leaf_id == "a000000000000001"


# --- crash safety and concurrency ------------------------------------------------------------------


def append_forever(m: SessionManager, done_fd: int, ready_fd: int) -> None:
    """Child body: append entries and record each completed one until killed."""
    os.write(ready_fd, b"r")
    i = 0
    while True:
        e = m.append(user("x" * (i % 300)))
        os.write(done_fd, e["id"].encode() + b"\n")
        i += 1


def test_sigkill_during_appends_never_loses_a_completed_line(tmp_path: Path) -> None:
    """100 children killed at random points of an append loop.

    Children are forked with the parent's loaded (closed) manager: spawning an interpreter per
    kill is too slow on a busy machine. Each reopens the file on its first append.
    """
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("seed"))
    path = m.path
    assert path is not None
    m.close()
    done = tmp_path / "done.txt"
    done_fd = os.open(done, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    rng = random.Random(1234)
    completed: set[str] = set()
    probe_id = ""
    deadline = time.monotonic() + 25
    for kill in range(100):
        if time.monotonic() > deadline:
            pytest.fail(f"crash loop too slow: only {kill} kills in 25 s")
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                os.close(ready_r)
                append_forever(m, done_fd, ready_w)
            finally:
                os._exit(1)
        os.close(ready_w)
        assert os.read(ready_r, 1) == b"r"
        os.close(ready_r)
        time.sleep(rng.uniform(0.0, 0.004))  # kill at a random point of the append loop
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        m = SessionManager.open(path)
        ids = {e["id"] for e in m.entries}
        completed.update(x for x in done.read_text().split("\n") if len(x) == 16)
        assert completed <= ids, f"kill {kill}: completed appends missing from the file"
        assert probe_id in ids or not probe_id, f"kill {kill}: the append after the last crash was lost"
        assert all("incomplete last line" in w or "malformed" in w for w in m.warnings), m.warnings
        probe_id = m.append(user(f"probe {kill}"))["id"]  # the next append after a crash works
        m.close()
    os.close(done_fd)
    assert probe_id in {e["id"] for e in SessionManager.open(path).entries}
    assert len(completed) > 500, "the children hardly appended: the test proved nothing"


WRITER = """
import sys
sys.path.insert(0, sys.argv[3])
from kit_py.session import SessionManager, message, text_part
m = SessionManager.open(sys.argv[1])
for i in range(1000):
    m.append(message("user", [text_part(sys.argv[2] + str(i) + "y" * (i % 300))]))
"""


def test_two_processes_append_concurrently(tmp_path: Path) -> None:
    seed = SessionManager.create(tmp_path, "/w")
    seed.append(user("seed"))
    path = seed.path
    assert path is not None
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(ROOT)]) for tag in ("A", "B")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    entries = [orjson.loads(x) for x in raw.splitlines()]  # every line is valid JSON
    texts = [e["parts"][0]["data"]["text"] for e in entries[2:]]
    assert len(texts) == 2000
    for tag in ("A", "B"):
        mine = [int(t[1:].rstrip("y")) for t in texts if t.startswith(tag)]
        assert mine == list(range(1000))
    m = SessionManager.open(path)
    assert m.warnings == [] and len(m.entries) == 2001


def test_zero_byte_file_gets_a_header_with_its_first_entry(tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    p.touch()
    m = SessionManager.open(p)
    assert m.warnings == [] and m.entries == []
    e = m.append(user("hi"))
    again = SessionManager.open(p)
    assert again.warnings == [] and again.header["type"] == "session" and again.leaf_id == e["id"]


def test_undecodable_text_is_stored_with_replacement_characters_not_lost(tmp_path: Path) -> None:
    from kit_py.session import SessionManager, message, text_part

    manager = SessionManager.create(tmp_path / "s", "/p")
    stored = manager.append(message("tool", [text_part("name n\udce9.txt")]))
    assert stored["parts"][0]["data"]["text"] == "name n\ufffd.txt"
    reopened = SessionManager.open(manager.path)  # type: ignore[arg-type]
    assert reopened.entries[-1] == stored


# --- pluggable logs ----------------------------------------------------------------------------------


def test_appends_go_to_any_entry_log_with_the_header_and_encoded_lines() -> None:
    from kit_py.session import EntryLog, MemoryLog, Tree
    from kit_py.session import format as fmt

    calls: list[tuple[dict, list[dict], bytes]] = []

    class Recording(MemoryLog):
        def append(self, header: dict, entries: list[dict], lines: bytes) -> None:
            calls.append((header, entries, lines))
            super().append(header, entries, lines)

    log = Recording()
    assert isinstance(log, EntryLog)
    header = fmt.header("/w", session_id="h")
    m = SessionManager(header, Tree(), log)
    assert m.path is None and m.in_memory and m.log is log
    a = m.append(user("a"))
    step = m.append_many([message("assistant", [text_part("b")]), message("tool", [])])
    m.move_leaf(a["id"])
    m.sync()
    m.close()
    assert [len(c[1]) for c in calls] == [1, 2, 1] and all(c[0] is header for c in calls)
    for _, entries, lines in calls:
        assert lines.endswith(b"\n") and [orjson.loads(x) for x in lines.splitlines()] == entries
    assert log.header is header and log.entries == [a, *step, m.entries[-1]]
    with pytest.raises(ValueError):
        m.append({"type": "custom"})
    assert len(calls) == 3, "a refused entry never reaches the log"


def test_a_failing_log_leaves_the_tree_unchanged() -> None:
    from kit_py.session import MemoryLog, Tree
    from kit_py.session import format as fmt

    class Broken(MemoryLog):
        def append(self, header: dict, entries: list[dict], lines: bytes) -> None:
            raise OSError("no space")

    m = SessionManager(fmt.header("/w"), Tree(), Broken())
    with pytest.raises(OSError):
        m.append(user("x"))
    assert m.entries == [] and m.leaf_id is None


def test_from_entries_builds_the_tree_tolerantly_and_keeps_appending_to_its_log(tmp_path: Path) -> None:
    from kit_py.session import MemoryLog
    from kit_py.session import format as fmt

    source = SessionManager.create(tmp_path, "/w")
    a = source.append(user("a"))
    b = source.append(user("b"))
    source.move_leaf(a["id"])
    entries = [dict(e) for e in source.entries]
    broken = [*entries, {"type": "message", "role": "user"}, dict(entries[0])]  # no id; a duplicate
    log = MemoryLog()
    m = SessionManager.from_entries(source.header, broken, log)
    assert m.leaf_id == a["id"], "a trailing kit:leaf marker points at its parent, as in a file"
    assert [e["id"] for e in m.entries] == [e["id"] for e in entries]
    assert len(m.warnings) == 2 and "line 4" in m.warnings[0] and "duplicate" in m.warnings[1]
    assert SessionManager.from_entries(source.header, entries, None, leaf_id=b["id"]).leaf_id == b["id"]
    assert SessionManager.from_entries(source.header, entries, None, leaf_id="nope").leaf_id == a["id"]
    c = m.append(user("c"))
    assert c["parent_id"] == a["id"] and log.entries == [c]
    empty = SessionManager.from_entries(fmt.header("/w"), [], None)
    assert empty.entries == [] and empty.leaf_id is None and empty.in_memory


def test_file_managers_keep_their_path_and_fork_into_memory_or_a_folder(tmp_path: Path) -> None:
    from kit_py.session import SessionFile

    m = SessionManager.create(tmp_path / "a", "/w")
    assert isinstance(m.log, SessionFile) and m.path == m.log.path and not m.in_memory
    m.append(user("one"))
    two = m.append(user("two"))
    child = m.fork(two["id"], tmp_path / "b")
    assert child.path is not None and child.path.parent == tmp_path / "b"
    assert child.header["parent_session"] == str(m.path)
    reopened = SessionManager.open(child.path)
    assert [e["id"] for e in reopened.path_entries()] == [e["id"] for e in m.path_entries()]
    in_memory = m.fork(two["id"], None)
    assert in_memory.in_memory and in_memory.log is None and len(in_memory.entries) == 2
