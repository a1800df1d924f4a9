"""The session store never loses or corrupts data and keeps files readable by Go kit (issue 11).

Go kit refuses a file with any malformed line or unknown entry type, so every test that writes checks
the file line by line with `parses_fully`.

Read-only storage as root: root ignores permission bits, so read-only places are made for real:
a read-only bind mount (`mount --bind D D; mount -o remount,bind,ro D`: EROFS), an immutable file
(`chattr +i`: EPERM even for root) and a file where a folder is expected (ENOTDIR). Disk full is a
real 64 KB tmpfs, and also a patched `os.write` that writes part of the batch and then fails with
ENOSPC (which runs everywhere). The mount tests run only where `mount` works (as root here).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import orjson
import pytest

from kit_py.catalog import sessions_dir_for
from kit_py.errors import ForeignSessionError, SessionError, SessionWriteError
from kit_py.session import SessionManager, message, text_part, tool_call_part
from kit_py.session import format as fmt
from tests.test_session_store import line, write

ROOT = Path(__file__).resolve().parent.parent
HEADER = (
    '{"type":"session","version":3,"id":"00112233445566778899aabbccddeeff",'
    '"timestamp":"2026-01-01T00:00:00Z","cwd":"/w"}'
)
HINT = "use --no-session to chat without saving"


def user(text: str) -> dict:
    return message("user", [text_part(text)])


def assistant(text: str) -> dict:
    return message("assistant", [text_part(text)])




def parses_fully(path: Path) -> list[dict]:
    """What Go kit demands: every line is one JSON object, the first a header, the last terminated."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n"), "the last line is terminated"
    objs = [orjson.loads(x) for x in raw.split(b"\n")[:-1] if x.strip()]
    assert all(isinstance(o, dict) for o in objs)
    assert objs[0]["type"] == "session"
    assert all(o["type"] in fmt.READ_TYPES for o in objs[1:])
    return objs[1:]


# --- root-proof read-only places and a small disk ---------------------------------------------------


def _run(*argv: str) -> bool:
    return subprocess.run(argv, capture_output=True).returncode == 0


@cache
def can_mount() -> bool:
    probe = Path(f"/tmp/kit-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        if not _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)):
            return False
        _run("umount", str(probe))
        return True
    finally:
        probe.rmdir()


@cache
def can_chattr() -> bool:
    probe = Path(f"/tmp/kit-chattr-probe-{os.getpid()}")
    probe.touch()
    try:
        ok = shutil.which("chattr") is not None and _run("chattr", "+i", str(probe))
        _run("chattr", "-i", str(probe))
        return ok
    finally:
        probe.unlink()


needs_mount = pytest.mark.skipif(not can_mount(), reason="mount(8) is not available here")
needs_chattr = pytest.mark.skipif(not can_chattr(), reason="chattr +i is not available here")


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """`folder` as a read-only bind mount of itself: writes fail with EROFS, even for root."""
    assert _run("mount", "--bind", str(folder), str(folder))
    try:
        assert _run("mount", "-o", "remount,bind,ro", str(folder))
        yield folder
    finally:
        if not _run("umount", str(folder)):
            _run("umount", "-l", str(folder))


@contextmanager
def immutable(path: Path) -> Iterator[Path]:
    """`chattr +i`: the file cannot be opened for writing, even by root (EPERM)."""
    assert _run("chattr", "+i", str(path))
    try:
        yield path
    finally:
        _run("chattr", "-i", str(path))


@contextmanager
def small_disk(folder: Path, size: str = "64k") -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    assert _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        if not _run("umount", str(folder)):
            _run("umount", "-l", str(folder))


# --- 1. a torn last line ----------------------------------------------------------------------------


def test_torn_tail_written_after_open_is_cut_under_the_lock_and_kept_in_a_sidecar(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    a = m.append(user("before the crash"))
    path = m.path
    assert path is not None
    torn = b'{"type":"message","id":"ffff000000000001","parent_id":"' + a["id"].encode() + b'","role":"ass'
    with open(path, "ab") as f:  # another process died in the middle of its write
        f.write(torn)
    b = m.append(user("after the crash"))
    entries = parses_fully(path)
    assert [e["id"] for e in entries] == [a["id"], b["id"]]
    assert b["parent_id"] == a["id"]
    sidecars = sorted(tmp_path.glob(f"{path.name}.torn-*"))
    assert len(sidecars) == 1
    assert sidecars[0].read_bytes() == torn
    assert stat.S_IMODE(sidecars[0].stat().st_mode) == 0o600
    notice = f"repaired {path}: an interrupted last line ({len(torn)} bytes) was moved to {sidecars[0]}"
    assert m.take_notices() == [notice] and notice in m.warnings
    m.append(user("again"))
    assert m.take_notices() == [], "said once"
    assert SessionManager.open(path).warnings == []


def test_a_torn_first_write_leaves_a_file_that_gets_its_header_back(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(HEADER[:40].encode())  # the header itself was cut: no newline anywhere
    m = SessionManager.open(path)
    assert m.entries == [] and len(m.warnings) == 1 and "incomplete last line" in m.warnings[0]
    e = m.append(user("hi"))
    assert [x["id"] for x in parses_fully(path)] == [e["id"]]
    assert [p.read_bytes() for p in tmp_path.glob("s.jsonl.torn-*")] == [HEADER[:40].encode()]


def test_a_complete_last_line_without_newline_gets_one_and_no_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", HEADER, line("a000000000000001"), newline=False)
    m = SessionManager.open(path)
    e = m.append(user("next"))
    assert [x["id"] for x in parses_fully(path)] == ["a000000000000001", e["id"]]
    assert list(tmp_path.glob("*.torn-*")) == [] and m.take_notices() == []


def test_crash_loop_of_partial_writes_always_leaves_a_file_go_kit_reads(tmp_path: Path) -> None:
    """30 writers 'killed' at a random byte of their line (the bytes a SIGKILL or a full disk leaves):
    every next append repairs the file, and every completed entry survives."""
    import random

    rng = random.Random(11)
    m = SessionManager.create(tmp_path, "/w")
    kept = [m.append(user("seed"))["id"]]
    path = m.path
    assert path is not None
    for i in range(30):
        body = fmt.dumps(
            {**user("y" * rng.randint(0, 500)), "id": f"{i:016x}", "timestamp": "2026-01-01T00:00:00Z"}
        )
        with open(path, "ab") as f:
            f.write(body[: rng.randint(1, len(body) - 1)])
        reopened = SessionManager.open(path)
        kept.append(reopened.append(user(f"after crash {i}"))["id"])
        reopened.close()
        assert [e["id"] for e in parses_fully(path)] == kept
    assert len(list(tmp_path.glob("*.torn-*"))) == 30


# --- 2. unwritable storage is found before the request ----------------------------------------------


def test_kit_home_that_is_a_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    home = tmp_path / "kithome"
    home.write_text("not a folder")
    m = SessionManager.create(sessions_dir_for("/home/u/proj", home), "/home/u/proj")
    with pytest.raises(SessionWriteError) as caught:
        m.check_writable()
    assert str(caught.value) == (f"cannot write session {m.path}: {home} is a file, not a folder; {HINT}")
    assert caught.value.path == str(home) and caught.value.exit_code == 14
    with pytest.raises(SessionWriteError, match="not a folder"):
        m.append(user("hi"))
    assert home.read_text() == "not a folder" and m.entries == []


@needs_mount
def test_read_only_sessions_folder_is_refused_and_nothing_is_left_behind(tmp_path: Path) -> None:
    folder = tmp_path / "sessions" / "home--u"
    folder.mkdir(parents=True)
    m = SessionManager.create(folder, "/home/u")
    with read_only(folder):
        with pytest.raises(SessionWriteError) as caught:
            m.check_writable()
        message_ = str(caught.value)
        assert str(folder) in message_ and "read-only file system" in message_ and message_.endswith(HINT)
        with pytest.raises(SessionWriteError, match="read-only file system"):
            m.append(user("hi"))
        assert m.entries == [] and m.leaf_id is None
    assert list(folder.iterdir()) == []


@needs_mount
def test_kit_home_in_a_read_only_place_is_refused(tmp_path: Path) -> None:
    place = tmp_path / "ro"
    place.mkdir()
    home = place / "kithome"
    m = SessionManager.create(sessions_dir_for("/p", home), "/p")
    with read_only(place), pytest.raises(SessionWriteError) as caught:
        m.check_writable()
    assert "read-only file system" in str(caught.value) and str(home) in str(caught.value)
    assert str(caught.value).endswith(HINT) and "\n" not in str(caught.value)
    assert not home.exists()


@needs_mount
def test_existing_session_on_a_read_only_mount_is_refused(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path / "s", "/w")
    m.append(user("kept"))
    m.close()
    assert m.path is not None
    before = m.path.read_bytes()
    with read_only(tmp_path / "s"):
        resumed = SessionManager.open(m.path)
        with pytest.raises(SessionWriteError, match="read-only file system") as caught:
            resumed.check_writable()
        assert caught.value.path == str(m.path)
    assert m.path.read_bytes() == before


@needs_chattr
def test_read_only_session_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("kept"))
    m.close()
    assert m.path is not None
    before = m.path.read_bytes()
    resumed = SessionManager.open(m.path)
    with immutable(m.path):
        with pytest.raises(SessionWriteError) as caught:
            resumed.check_writable()
        assert str(m.path) in str(caught.value) and "not permitted" in str(caught.value)
        with pytest.raises(SessionWriteError):
            resumed.append(user("lost?"))
        assert len(resumed.entries) == 1
    assert m.path.read_bytes() == before
    resumed.append(user("writable again"))
    assert len(parses_fully(m.path)) == 2


def test_check_writable_writes_no_entry_and_leaves_no_empty_file(tmp_path: Path) -> None:
    folder = tmp_path / "sessions" / "p"
    m = SessionManager.create(folder, "/p")
    m.check_writable()
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert list(folder.iterdir()) == [], "no session file and no probe left behind"
    m.append(user("hi"))
    assert m.path is not None
    size = m.path.stat().st_size
    m.check_writable()
    assert m.path.stat().st_size == size
    SessionManager.create(None, "/p").check_writable()  # in memory: always fine


def test_a_session_file_that_became_a_folder_is_refused(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    assert m.path is not None
    m.path.mkdir()
    with pytest.raises(SessionWriteError, match="is a folder, not a file"):
        m.check_writable()


# --- 3. disk full ----------------------------------------------------------------------------------


@needs_mount
def test_disk_full_on_a_real_small_tmpfs_cuts_the_partial_write_and_names_path_and_space(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        m = SessionManager.create(disk / "sessions", "/w")
        first = m.append(user("a small first message"))
        path = m.path
        assert path is not None
        errors: list[SessionWriteError] = []
        for i in range(40):  # 40 x 4 KB is more than the 64 KB disk holds
            before = path.read_bytes()
            leaf, count = m.leaf_id, len(m.entries)
            try:
                m.append(assistant(f"{i} " + "z" * 4000))
            except SessionWriteError as error:
                errors.append(error)
                assert path.read_bytes() == before, "the partial write was cut back"
                assert (m.leaf_id, len(m.entries)) == (leaf, count), "the tree is unchanged"
        assert errors, "the disk never filled up: the test proved nothing"
        text = str(errors[0])
        assert str(path) in text and "no space left on device" in text and " free" in text
        assert text.endswith(HINT) and errors[0].path == str(path)
        entries = parses_fully(path)
        assert entries[0]["id"] == first["id"] and len(entries) == len(m.entries)
        assert SessionManager.open(path).warnings == []


def _failing_write(monkeypatch: pytest.MonkeyPatch, code: int, partial: bool) -> list[int]:
    real_write = os.write
    calls: list[int] = []

    def write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if partial and len(calls) == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "write", write)
    return calls


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EDQUOT, "disk quota exceeded"),
        (errno.EIO, "input/output error"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_a_failing_write_is_cut_back_and_reported_with_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
) -> None:
    m = SessionManager.create(tmp_path, "/w")
    m.append(user("first"))
    path = m.path
    assert path is not None
    before = path.read_bytes()
    calls = _failing_write(monkeypatch, code, partial=True)
    with pytest.raises(SessionWriteError) as caught:
        m.append_many([assistant("x" * 5000), message("tool", [])])
    monkeypatch.undo()
    assert len(calls) == 2, "half the batch was written before the failure"
    assert path.read_bytes() == before
    assert len(m.entries) == 1
    text = str(caught.value)
    assert text.startswith(f"cannot write to session {path}: {reason}") and text.endswith(HINT)
    assert ("free" in text) == (code in (errno.ENOSPC, errno.EDQUOT, errno.EIO))
    assert m.append(user("later"))["parent_id"] == m.entries[0]["id"]
    assert len(parses_fully(path)) == 2


def test_a_failing_first_write_leaves_an_empty_file_not_a_header_without_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = SessionManager.create(tmp_path, "/w")
    _failing_write(monkeypatch, errno.ENOSPC, partial=True)
    with pytest.raises(SessionWriteError):
        m.append(user("first"))
    monkeypatch.undo()
    assert m.path is not None and m.path.read_bytes() == b""
    e = m.append(user("first, again"))
    assert [x["id"] for x in parses_fully(m.path)] == [e["id"]]


# --- 4. several writers -----------------------------------------------------------------------------


TURNS = """
import json, sys
sys.path.insert(0, sys.argv[3])
from kit_py.session import SessionManager, message, text_part
m = SessionManager.open(sys.argv[1])
tag = sys.argv[2]
for i in range(int(sys.argv[4])):
    m.append_many([
        message("user", [text_part(f"{tag} q{i}")]),
        message("assistant", [text_part(f"{tag} a{i}")]),
    ])
print(json.dumps(m.warnings))
"""


def test_six_processes_appending_turns_continue_one_branch(tmp_path: Path) -> None:
    seed = SessionManager.create(tmp_path, "/w")
    seed.append(user("seed"))
    seed.close()
    path = seed.path
    assert path is not None
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TURNS, str(path), f"P{n}", str(ROOT), "40"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6
    assert all(json.loads(out) == [] for out in outputs), outputs  # nobody had to branch
    entries = parses_fully(path)
    assert len(entries) == 1 + 6 * 40 * 2
    for before, after in zip(entries, entries[1:], strict=False):
        assert after["parent_id"] == before["id"], "one chain: each turn continues after the last one"
    texts = [fmt.message_text(e) for e in entries]
    for n in range(6):
        mine = [t for t in texts if t.startswith(f"P{n} ")]
        assert mine == [f"P{n} {kind}{i}" for i in range(40) for kind in ("q", "a")]
    for i, text in enumerate(texts[1:], start=1):
        if " q" in text:
            assert texts[i + 1] == text.replace(" q", " a"), "an answer follows its own question"
    reopened = SessionManager.open(path)
    assert reopened.warnings == [] and len(reopened.path_entries()) == len(entries)


def test_a_turn_continues_after_another_writer_on_the_same_branch(tmp_path: Path, monkeypatch) -> None:
    a = SessionManager.create(tmp_path, "/w")
    root = a.append(user("root"))
    assert a.path is not None
    b = SessionManager.open(a.path)
    q1 = a.append(user("from A"))
    size = a.path.stat().st_size
    read: list[int] = []
    real_pread = os.pread

    def counting_pread(fd: int, n: int, offset: int) -> bytes:
        read.append(n)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", counting_pread)
    q2 = b.append(user("from B"))
    monkeypatch.undo()
    assert q2["parent_id"] == q1["id"], "B continues after A's entry"
    assert sum(read) <= 1 + (size - len(HEADER)), "only the new bytes are read"
    assert b.get(q1["id"]) == q1 and b.take_notices() == []
    # A's answer belongs to A's question, not after B's: a new branch, said once
    ans = a.append(assistant("answer to A"))
    assert ans["parent_id"] == q1["id"]
    notice = "another kit process is writing to this session: this turn starts a new branch"
    assert a.take_notices() == [notice]
    b.append(user("B again"))
    a.append(user("A again"))
    assert a.take_notices() == [], "said once"
    reopened = SessionManager.open(a.path)
    assert reopened.warnings == [] and len(reopened.entries) == 6
    assert [c["id"] for c in reopened.children(root["id"])] == [q1["id"]]
    assert {c["id"] for c in reopened.children(q1["id"])} == {q2["id"], ans["id"]}


def test_a_writer_on_another_branch_keeps_our_parent_and_is_said_once(tmp_path: Path) -> None:
    a = SessionManager.create(tmp_path, "/w")
    r = a.append(user("root"))
    x = a.append(user("x"))
    assert a.path is not None
    b = SessionManager.open(a.path)
    b.branch(r["id"])
    other = b.append(user("elsewhere"))
    mine = a.append(user("mine"))
    assert mine["parent_id"] == x["id"]
    assert a.get(other["id"]) == other and a.leaf_id == mine["id"]
    assert a.take_notices() == [
        "another kit process is writing to this session: this turn starts a new branch"
    ]


def test_a_leaf_move_keeps_the_node_it_chose(tmp_path: Path) -> None:
    a = SessionManager.create(tmp_path, "/w")
    r = a.append(user("root"))
    assert a.path is not None
    b = SessionManager.open(a.path)
    b.append(user("b"))
    marker = a.move_leaf(r["id"])
    assert marker["parent_id"] == r["id"] and a.leaf_id == r["id"]
    assert len(parses_fully(a.path)) == 3


# --- 5. header, version and Go kit's system_prompt ----------------------------------------------------


def test_a_whitespace_only_file_gets_the_header_first(tmp_path: Path) -> None:
    for n, content in enumerate(["\n\n", "  \n \t", "   "]):
        path = tmp_path / f"{n}.jsonl"
        path.write_text(content)
        m = SessionManager.open(path)
        assert m.warnings == [] and m.entries == []
        e = m.append(user("hi"))
        objs = parses_fully(path)
        assert [o["id"] for o in objs] == [e["id"]]
        assert SessionManager.open(path).header["id"] == m.header["id"]


def test_a_file_with_entries_but_no_header_is_never_appended_to(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", line("a000000000000001"))
    before = path.read_bytes()
    m = SessionManager.open(path)
    assert m.warnings == ["line 1: session header missing; reading entries anyway"]
    with pytest.raises(SessionWriteError, match="no session header") as caught:
        m.check_writable()
    assert isinstance(caught.value, SessionError) and str(path) in str(caught.value)
    with pytest.raises(SessionError, match="no session header"):
        m.append(user("x"))
    assert path.read_bytes() == before and len(m.entries) == 1
    fork = m.fork("a000000000000001", tmp_path / "forks")  # the way out: a new file with a header
    assert fork.path is not None and len(parses_fully(fork.path)) == 1


def test_a_version_other_than_3_is_said_once(tmp_path: Path) -> None:
    v2 = write(tmp_path / "v2.jsonl", HEADER.replace('"version":3', '"version":2'), line("a000000000000001"))
    m = SessionManager.open(v2)
    assert m.warnings == ["session format version 2: kit reads and writes version 3; reading it as version 3"]
    m.append(user("x"))
    assert len(m.warnings) == 1
    assert SessionManager.open(write(tmp_path / "v3.jsonl", HEADER)).warnings == []


GO_SHARE = [
    HEADER,
    '{"type":"system_prompt","id":"5000000000000001","timestamp":"2026-01-01T00:00:00.5Z",'
    '"content":"You are terse.","model":"claude-sonnet-4-5","provider":"anthropic"}',
    line("a000000000000001"),
    line(
        "a000000000000002",
        "a000000000000001",
        role="assistant",
        parts=[{"type": "text", "data": {"text": "ok"}}],
    ),
]


def test_go_kit_system_prompt_entry_is_known_and_never_a_parent(tmp_path: Path) -> None:
    path = write(tmp_path / "share.jsonl", *GO_SHARE)
    m = SessionManager.open(path)
    assert m.warnings == []
    prompt = m.system_prompt_entry
    assert prompt is not None and prompt["content"] == "You are terse." and "parent_id" not in prompt
    assert m.tree.system_prompt_entry is prompt
    assert m.leaf_id == "a000000000000002"
    assert [e["id"] for e in m.path_entries()] == ["a000000000000001", "a000000000000002"]
    e = m.append(user("next"))
    assert e["parent_id"] == "a000000000000002"
    assert all(o["type"] != "system_prompt" for o in parses_fully(path)[3:]), "kit_py never writes one"
    only = write(tmp_path / "only.jsonl", *GO_SHARE[:2])
    alone = SessionManager.open(only)
    assert alone.warnings == [] and alone.leaf_id is None
    assert "parent_id" not in alone.append(user("first"))
    with pytest.raises(ValueError, match="entry type"):
        m.append({"type": "system_prompt", "content": "x"})


# --- 6. foreign files -------------------------------------------------------------------------------


PI_V3 = [
    '{"type":"session","version":3,"id":"3f2a6c1e-8d4b-4c3a-9e1f-2b7d5a9c0e11",'
    '"timestamp":"2026-01-01T00:00:00.000Z","cwd":"/w"}',
    '{"type":"model_change","id":"1a2b3c4d","parentId":null,"timestamp":"2026-01-01T00:00:01.000Z",'
    '"provider":"anthropic","modelId":"claude-sonnet-4-5"}',
    '{"type":"thinking_level_change","id":"2b3c4d5e","parentId":"1a2b3c4d",'
    '"timestamp":"2026-01-01T00:00:01.000Z","thinkingLevel":"off"}',
    '{"type":"message","id":"3c4d5e6f","parentId":"2b3c4d5e","timestamp":"2026-01-01T00:00:02.000Z",'
    '"message":{"role":"user","content":[{"type":"text","text":"hi"}],"timestamp":1767225602000}}',
]
PI_V1 = [
    '{"type":"session","id":"3f2a6c1e-8d4b-4c3a-9e1f-2b7d5a9c0e11","timestamp":"2026-01-01T00:00:00.000Z",'
    '"cwd":"/w"}',
    '{"type":"message","timestamp":"2026-01-01T00:00:02.000Z",'
    '"message":{"role":"user","content":"hi","timestamp":1767225602000}}',
]


@pytest.mark.parametrize("lines", [PI_V3, PI_V1, PI_V3[:1] + PI_V3[3:]], ids=["v3", "v1", "message-first"])
def test_a_pi_session_is_refused_on_open_and_never_appended_to(tmp_path: Path, lines: list[str]) -> None:
    path = write(tmp_path / "pi.jsonl", *lines)
    before = path.read_bytes()
    with pytest.raises(ForeignSessionError) as caught:
        SessionManager.open(path)
    assert str(caught.value) == (
        f"{path} is a pi session, not a kit session; kit never writes to it: run `kit import {path}` to "
        "bring it in as a new kit session"
    )
    assert caught.value.exit_code == 12 and path.read_bytes() == before


def test_kit_and_go_kit_files_are_not_taken_for_foreign_ones(tmp_path: Path) -> None:
    uuid_header = HEADER.replace("00112233445566778899aabbccddeeff", "3f2a6c1e-8d4b-4c3a-9e1f-2b7d5a9c0e11")
    mc = (
        '{"type":"model_change","id":"a000000000000009","timestamp":"2026-01-01T00:00:00Z",'
        '"provider":"p","model_id":"m"}'
    )
    for n, lines in enumerate(
        [GO_SHARE, [uuid_header, mc, line("a000000000000001", "a000000000000009")], [HEADER]]
    ):
        assert SessionManager.open(write(tmp_path / f"{n}.jsonl", *lines)).warnings == []
    for fixture in (ROOT / "tests" / "fixtures" / "gokit").glob("*.jsonl"):
        SessionManager.open(fixture)


# --- 7. validation on append ------------------------------------------------------------------------


def _valid() -> dict:
    return user("ok")


BAD = [
    ({**_valid(), "timestamp": "2026-01-01T00:00:00"}, "not an RFC 3339 time with a zone"),
    ({**_valid(), "timestamp": "yesterday"}, "not an RFC 3339"),
    ({**_valid(), "timestamp": "2026-01-01 00:00:00Z"}, "not an RFC 3339"),
    ({**_valid(), "timestamp": "2026-02-30T00:00:00Z"}, "not an RFC 3339"),
    ({**_valid(), "timestamp": datetime(2026, 1, 1)}, "naive datetime"),
    ({**_valid(), "timestamp": 1767225600}, "must be RFC 3339 text"),
    ({**_valid(), "id": 12345}, "not 16 lowercase hex"),
    ({**_valid(), "id": "ABCDEF0123456789"}, "not 16 lowercase hex"),
    ({**_valid(), "id": "abc"}, "not 16 lowercase hex"),
    (
        fmt.compaction("s", "a000000000000001", 10, 5, 2, [], []) | {"tokens_before": 10.5},
        "tokens_before must be an integer",
    ),
    (
        fmt.compaction("s", "a000000000000001", 10, 5, 2, [], []) | {"tokens_after": True},
        "tokens_after must be an integer",
    ),
    (
        fmt.compaction("s", "a000000000000001", 10, 5, 2, [], []) | {"messages_removed": "2"},
        "messages_removed must be",
    ),
    (
        fmt.compaction("s", "a000000000000001", 10, 5, 2, [], []) | {"read_files": "a.py"},
        "read_files must be a list",
    ),
    (
        message("assistant", [{"type": "tool_call", "data": {"id": "c", "name": "n", "input": {"a": 1}}}]),
        "JSON-encode",
    ),
    (message("user", [{"type": "video", "data": {}}]), "unknown part type 'video'"),
    (message("user", [{"type": "text", "data": None}]), "needs an object 'data'"),
    (message("user", [{"type": "text"}]), "needs an object 'data'"),
    (message("user", ["hello"]), "must be an object"),
    (message("user", [{"type": "text", "data": {"text": 5}}]), "data.text must be a string"),
    (
        message("user", [{"type": "image", "data": {"data": "not base64!", "media_type": "image/png"}}]),
        "base64",
    ),
    ({"type": "message", "role": "robot", "parts": []}, "unknown role 'robot'"),
    ({"type": "message", "role": "user", "parts": "hello"}, "parts must be a list"),
    ({"type": "model_change", "provider": "p", "model_id": 3}, "model_id must be a string"),
]


@pytest.mark.parametrize(("entry", "error"), BAD, ids=[e for _, e in BAD])
def test_append_refuses_what_go_kit_would_refuse_or_drop(tmp_path: Path, entry: dict, error: str) -> None:
    m = SessionManager.create(tmp_path, "/w")
    first = m.append(user("first"))
    assert m.path is not None
    size = m.path.stat().st_size
    with pytest.raises(ValueError, match=error):
        m.append_many([user("fine"), entry])
    assert m.path.stat().st_size == size and m.entries == [first]


def test_append_accepts_the_valid_forms(tmp_path: Path) -> None:
    m = SessionManager.create(tmp_path, "/w")
    a = m.append({**user("a"), "id": "0123456789abcdef", "timestamp": "2026-01-01T00:00:00.123456789+02:00"})
    b = m.append({**user("b"), "timestamp": datetime(2026, 1, 1, 12, tzinfo=UTC)})
    call = m.append(message("assistant", [tool_call_part("c1", "read", '{"path":"x"}')]))
    comp = m.append(fmt.compaction("s", a["id"], 100, 10, 2, ["a.py"], []))
    assert a["id"] == "0123456789abcdef" and b["timestamp"] == "2026-01-01T12:00:00.000Z"
    assert call["parts"][0]["data"]["input"] == '{"path":"x"}' and comp["tokens_before"] == 100
    assert m.path is not None and len(parses_fully(m.path)) == 4


# --- 8. malformed parts in a file -------------------------------------------------------------------


def test_malformed_parts_are_skipped_with_line_numbers_and_nothing_downstream_crashes(tmp_path: Path) -> None:
    from kit_py.llm.messages import to_llm_messages

    lines = [
        HEADER,
        line(
            "a000000000000001",
            parts=[{"type": "text", "data": None}, {"type": "text", "data": {"text": "ok"}}],
            role="user",
            extra_field=1,
        ),
        line("a000000000000002", "a000000000000001", role="assistant", parts="hello"),
        line(
            "a000000000000003",
            "a000000000000002",
            role="user",
            parts=[5, "x", {"type": "text", "data": {"text": "fine"}}],
        ),
        line(
            "a000000000000004",
            "a000000000000003",
            role="assistant",
            parts=[{"type": "tool_call", "data": {"id": "c1", "name": "read", "input": {"path": "a"}}}],
        ),
        line(
            "a000000000000005",
            "a000000000000004",
            role="tool",
            parts=[{"type": "tool_result", "data": {"tool_call_id": "c1", "name": "read", "content": "A"}}],
        ),
        line("a000000000000006", "a000000000000005", role="user"),
    ]
    lines[-1] = lines[-1].replace(',"role":"user"', ',"role":"user","parts":null')
    path = write(tmp_path / "s.jsonl", *lines)
    before = path.read_bytes()
    m = SessionManager.open(path)
    assert m.warnings == [
        "line 2: malformed part 0 (text: data is null) skipped",
        "line 3: malformed parts (str, not a list) skipped",
        "line 4: malformed part 0 (int, not an object) skipped",
        "line 4: malformed part 1 (str, not an object) skipped",
        "line 5: part 0: tool_call input was not JSON text; converted",
        "line 7: malformed parts (null, not a list) skipped",
    ]
    first = m.get("a000000000000001")
    assert first is not None and first["parts"] == [{"type": "text", "data": {"text": "ok"}}]
    assert first["extra_field"] == 1, "unknown fields are kept"
    assert m.get("a000000000000002")["parts"] == []  # type: ignore[index]
    assert m.get("a000000000000004")["parts"][0]["data"]["input"] == '{"path":"a"}'  # type: ignore[index]
    ctx = m.build_context()
    to_llm_messages(ctx.messages)
    assert path.read_bytes() == before, "the file is never rewritten"
    m.append(user("still works"))
    assert path.read_bytes().startswith(before)


# --- through the CLI: nothing is paid for that cannot be kept ------------------------------------------


def test_cli_refuses_an_unwritable_kit_home_before_asking_the_model(
    run_kit, provider, tmp_path: Path
) -> None:
    home = tmp_path / "kithome-file"
    home.write_text("x")
    provider.reply("a paid answer")
    result = run_kit("hi", env={"KIT_HOME": str(home)})
    assert result.returncode == 14, result.stderr
    assert f"{home} is a file, not a folder" in result.stderr and HINT in result.stderr
    assert provider.chat_requests == [], "no request when the answer could not be kept"
    assert home.read_text() == "x"


@needs_mount
def test_cli_on_a_full_disk_names_the_file_and_keeps_it_valid(run_kit, provider, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as home:
        (home / "filler").write_bytes(b"f" * 40000)
        provider.reply(" ".join(f"word{i}" for i in range(4000)))  # ~35 KB: more than is left
        result = run_kit("my typed prompt", env={"KIT_HOME": str(home)})
        assert result.returncode == 14, result.stderr
        [path] = sorted(home.rglob("*.jsonl"))
        assert f"session {path}: no space left on device" in result.stderr and " free;" in result.stderr
        entries = parses_fully(path)
        assert [fmt.message_text(e) for e in entries if e.get("role") == "user"] == ["my typed prompt"]
        assert SessionManager.open(path).warnings == []
