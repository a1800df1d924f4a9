"""Session-file promises checked deterministically: a fork taken at a leaf move starts at the entry it
points to, an append waits for the lock another descriptor holds, another writer's lines are read whole
and named by their line, torn lines are moved aside whole (or the file is left as it was), a load
leaves the garbage collector as it was, and a full disk says how much space is left."""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import resource
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from kit_py.errors import SessionWriteError
from kit_py.session import SessionManager, message, message_text, text_part
from kit_py.session.format import is_leaf_marker
from kit_py.session.store import write_error


def user(text: str) -> dict:
    return message("user", [text_part(text)])


def assistant(text: str) -> dict:
    return message("assistant", [text_part(text)])


def test_a_fork_at_a_leaf_move_starts_at_the_entry_it_points_to(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path / "a", "/w")
    question = m.append(user("q"))
    answer = m.append(assistant("a"))
    m.append(user("abandoned"))
    marker = m.move_leaf(answer["id"])  # /tree back to the answer: a `kit:leaf` entry under it
    assert is_leaf_marker(marker) and marker["parent_id"] == answer["id"]

    fork = m.fork(marker["id"], tmp_path / "b")
    assert fork.leaf_id == answer["id"], "the fork's leaf is the entry, not a copied marker"
    assert [e["id"] for e in fork.entries] == [question["id"], answer["id"]]
    assert fork.path is not None
    lines = [orjson.loads(line) for line in fork.path.read_bytes().splitlines()[1:]]
    assert not any(is_leaf_marker(e) for e in lines)

    follow_up = fork.append(user("continue here"))
    assert follow_up["parent_id"] == answer["id"]
    reopened = SessionManager.open(fork.path)
    assert [message_text(x) for x in reopened.build_context().messages] == ["q", "a", "continue here"]


def test_an_append_waits_while_another_descriptor_holds_the_file_lock(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("first"))
    assert m.path is not None
    size = m.path.stat().st_size
    holder = os.open(m.path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another writer (any process, any descriptor) is appending
    done = threading.Event()
    appender = threading.Thread(target=lambda: (m.append(user("second")), done.set()), daemon=True)
    try:
        appender.start()
        time.sleep(0.3)
        assert not done.is_set(), "the append did not wait for the lock"
        assert m.path.stat().st_size == size
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    assert done.wait(5), "the append never finished after the lock was released"
    appender.join(5)
    assert [message_text(e) for e in SessionManager.open(m.path).entries] == ["first", "second"]


# --- another writer's lines, read under the lock, are named by their line in the file ----------------


def entry_line(eid: str, parent: str | None, text: str) -> bytes:
    """One complete entry as another kit process writes it (without the newline)."""
    entry = {"type": "message", "id": eid, "parent_id": parent, "timestamp": "2026-01-01T00:00:01.000Z"}
    entry.update(role="user", parts=[{"type": "text", "data": {"text": text}}])
    if parent is None:
        del entry["parent_id"]
    return orjson.dumps(entry)


def other_writer(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def line_of(path: Path, needle: bytes) -> int:
    (number,) = [n for n, line in enumerate(path.read_bytes().split(b"\n"), 1) if needle in line]
    return number


def test_broken_lines_from_another_writer_are_named_by_their_line_in_the_file(tmp_path: Path) -> None:
    first = SessionManager.create(tmp_path, "/w")
    root = first.append(user("root"))
    assert first.path is not None
    path = first.path
    # The last line has no newline yet when we open the file (complete JSON: kept, not torn).
    other_writer(path, entry_line("00000000000000a1", root["id"], "unterminated"))
    ours = SessionManager.open(path)
    assert ours.warnings == []
    # Another writer finishes that line, adds its own entry, then a broken line and a non-object.
    SessionManager.open(path).append(user("from the other writer"))
    after = entry_line("00000000000000a3", root["id"], "after them")
    other_writer(path, b"{broken\n[1, 2]\n" + after + b"\n")
    ours.append(user("mine"))
    assert ours.get("00000000000000a3") is not None, "lines after broken ones are still read"
    assert ours.take_notices() == [
        f"line {line_of(path, b'{broken')}: malformed JSON ignored",
        f"line {line_of(path, b'[1, 2]')}: not a JSON object, ignored",
    ]
    # After our own write the count goes on: one more broken line, then an unterminated entry that
    # our next append completes with a newline of its own.
    assert ours.leaf_id is not None
    other_writer(path, b"{again\n" + entry_line("00000000000000a2", ours.leaf_id, "open again"))
    ours.append(user("mine, twice"))
    assert ours.take_notices() == [f"line {line_of(path, b'{again')}: malformed JSON ignored"]
    for n, broken in enumerate([b"{third", b"{fourth"], 3):
        other_writer(path, broken + b"\n")
        ours.append(user(f"mine, {n} times"))
        assert ours.take_notices() == [f"line {line_of(path, broken)}: malformed JSON ignored"]
    reopened = SessionManager.open(path)
    assert len(reopened.entries) == 9 and len(reopened.warnings) == 5


def test_broken_lines_after_a_file_that_ended_cleanly_are_named_by_their_line(tmp_path: Path) -> None:
    first = SessionManager.create(tmp_path, "/w")
    first.append(user("root"))
    assert first.path is not None
    ours = SessionManager.open(first.path)
    other_writer(first.path, b"{broken\n")
    ours.append(user("mine"))
    assert ours.take_notices() == ["line 3: malformed JSON ignored"]


def test_a_second_header_among_another_writers_lines_is_kept_as_an_entry_and_named(tmp_path: Path) -> None:
    """`cat a.jsonl b.jsonl > c.jsonl` leaves a second header line inside a file."""
    ours = SessionManager.create(tmp_path, "/w")  # its file does not exist yet
    assert ours.path is not None
    header = {"type": "session", "version": 3, "id": "ab" * 16, "timestamp": "2026-01-01T00:00:00Z"}
    header["cwd"] = "/w"
    second = orjson.dumps({**header, "id": "cd" * 16})
    root = entry_line("00000000000000b1", None, "x")
    other_writer(ours.path, b"\n".join([orjson.dumps(header), root, second]) + b"\n")
    ours.append(user("mine"))
    assert ours.take_notices() == ["line 3: unknown entry type 'session' kept but not interpreted"]
    assert ours.get("cd" * 16) is not None


def test_a_torn_tail_another_writer_repairs_is_read_from_where_it_was_cut(tmp_path: Path) -> None:
    first = SessionManager.create(tmp_path, "/w")
    first.append(user("root"))
    assert first.path is not None
    other_writer(first.path, b'{"type":"message","id":"0000')  # a write interrupted mid-line
    ours = SessionManager.open(first.path)
    theirs = SessionManager.open(first.path)
    repaired_by_them = theirs.append(user("after the repair"))  # cuts the torn line, then writes
    mine = ours.append(user("mine"))
    assert ours.take_notices() == []
    assert mine["parent_id"] == repaired_by_them["id"], "their entry was read, whole"
    other_writer(first.path, b"{broken\n")
    ours.append(user("mine again"))
    assert ours.take_notices() == [f"line {line_of(first.path, b'{broken')}: malformed JSON ignored"]


def test_opening_a_session_leaves_the_garbage_collector_as_it_was(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("x"))
    assert m.path is not None and gc.isenabled()
    SessionManager.open(m.path)
    assert gc.isenabled()
    gc.disable()
    try:
        SessionManager.open(m.path)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("free", "shown"),
    [(1023, "1023 bytes"), (1536, "1.5 KB"), (3 * 1024**3, "3.0 GB"), (2048 * 1024**4, "2048.0 TB")],
)
def test_a_full_disk_error_says_how_much_space_is_left(tmp_path: Path, monkeypatch, free, shown) -> None:
    class Stat:
        f_bavail, f_frsize = free, 1

    monkeypatch.setattr(os, "statvfs", lambda folder: Stat())
    path = tmp_path / "s.jsonl"
    error = write_error(path, OSError(errno.ENOSPC, "No space left on device"))
    assert error.message == (
        f"cannot write to session {path}: no space left on device, {shown} free; "
        "use --no-session to chat without saving"
    )


def test_a_torn_line_longer_than_one_read_is_moved_whole_to_the_sidecar(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("root"))
    assert m.path is not None
    clean = m.path.read_bytes()
    torn = b'{"type":"message","content":"' + b"x" * 150_000  # a big tool result, cut off mid-write
    other_writer(m.path, torn)
    started = datetime.now(UTC).replace(microsecond=0)
    m.append(user("after the crash"))
    (sidecar,) = tmp_path.glob("*.torn-*")
    assert sidecar.read_bytes() == torn
    named = sidecar.name.rsplit(".torn-", 1)[1]
    stamp = datetime.strptime(named, "%Y-%m-%dT%H-%M-%S-%fZ").replace(tzinfo=UTC)
    assert started <= stamp <= datetime.now(UTC), "the sidecar is named after when it was saved"
    assert m.path.read_bytes().startswith(clean) and len(SessionManager.open(m.path).entries) == 2


def test_a_torn_line_that_cannot_be_saved_leaves_the_session_as_it_was(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("root"))
    assert m.path is not None
    other_writer(m.path, b'{"type":"message","content":"' + b"x" * 150_000)
    before = m.path.read_bytes()
    # The sidecar cannot grow past 120 kB (a real limit of the process, as on a full quota).
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (120_000, hard))
    try:
        with pytest.raises(SessionWriteError) as error:
            m.append(user("after the crash"))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert error.value.message.startswith(f"cannot save the interrupted last line to {m.path}.torn-")
    assert m.path.read_bytes() == before and list(tmp_path.glob("*.torn-*")) == []
