"""Catalog: folder layout, listing, continue-most-recent, lookup by prefix, cleanup of empty files."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from kit_py.catalog import (
    AmbiguousSession,
    SessionNotFound,
    cleanup_empty,
    encode_cwd,
    find_session,
    kit_home,
    list_sessions,
    list_sessions_in,
    most_recent,
    search_sessions,
    session_folders,
    sessions_dir_for,
)
from kit_py.session import SessionManager, message, text_part
from kit_py.session import format as fmt


def new_session(
    cwd: str, text: str = "hello", *, age: float = 0.0, folder: Path | None = None
) -> SessionManager:
    m = SessionManager.create(folder or sessions_dir_for(cwd), cwd)
    m.append(message("user", [text_part(text)]))
    assert m.path is not None
    if age:
        t = time.time() - age
        os.utime(m.path, (t, t))
    return m


def header_only(folder: Path, cwd: str, *, age: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / fmt.session_file_name()
    path.write_bytes(fmt.dumps(fmt.header(cwd)) + b"\n")
    t = time.time() - age
    os.utime(path, (t, t))
    return path


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "kit"))
    return tmp_path / "kit"


@pytest.mark.parametrize(
    ("cwd", "encoded"),
    [
        ("/home/u/proj", "home--u--proj"),
        ("/", ""),
        ("C:\\Users\\u\\my proj", "C--Users--u--my proj"),
        ("/tmp/we<i>rd|na?me*", "tmp--weirdname"),
        ('/a/"q"', "a--q"),
        ("relative/dir", "relative--dir"),
    ],
)
def test_encode_cwd_matches_go_kit(cwd: str, encoded: str) -> None:
    assert encode_cwd(cwd) == encoded


def test_kit_home_and_sessions_dir(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert kit_home() == home
    assert sessions_dir_for("/home/u/proj") == home / "sessions" / "home--u--proj"
    monkeypatch.delenv("KIT_HOME")
    assert kit_home() == Path.home() / ".kit"


def test_list_sessions_newest_first_with_lazy_details(home: Path) -> None:
    old = new_session("/p", "first question\nwith two lines", age=100)
    old.set_name("Old one")
    os.utime(old.path, (time.time() - 100, time.time() - 100))  # type: ignore[arg-type]
    new = new_session("/p", "second")
    other = new_session("/q", "elsewhere", age=50)
    listed = list_sessions()
    assert [i.session_id for i in listed] == [new.session_id, other.session_id, old.session_id]
    assert listed[2].name == "Old one" and listed[2].preview == "first question with two lines"
    assert listed[2].message_count == 1 and listed[0].name is None
    assert listed[2].path == old.path and listed[2].cwd == "/p"
    assert listed[2].created is not None and abs(listed[2].created.timestamp() - time.time()) < 60
    assert listed[0].modified > listed[1].modified > listed[2].modified
    assert [i.session_id for i in list_sessions(cwd="/p")] == [new.session_id, old.session_id]


def test_list_sessions_in_given_folders_newest_first(home: Path, tmp_path: Path) -> None:
    channel, other = tmp_path / "channel", tmp_path / "other"
    old = new_session("/p", "old", age=100, folder=channel)
    new = new_session("/q", "new", folder=channel)
    elsewhere = new_session("/p", "elsewhere", age=50, folder=other)
    empty = header_only(channel, "/p", age=10)
    (channel / "notes.jsonl").write_text("not a session\n")
    (channel / "ignored.txt").write_text("x")
    assert [i.session_id for i in list_sessions_in([channel])] == [new.session_id, old.session_id]
    both = list_sessions_in([channel, other, tmp_path / "missing"])
    assert [i.session_id for i in both] == [new.session_id, elsewhere.session_id, old.session_id]
    with_empty = [i.path for i in list_sessions_in([channel], include_empty=True)]
    assert with_empty == [new.path, empty, old.path]
    assert both[0].preview == "new" and both[0].message_count == 1
    assert session_folders() == [] and list_sessions_in([]) == []
    cli = new_session("/p")
    assert session_folders() == [sessions_dir_for("/p")]
    assert [i.session_id for i in list_sessions_in(session_folders())] == [cli.session_id]


def test_search_sessions_matches_message_text_in_any_case_newest_first(home: Path, tmp_path: Path) -> None:
    channel, other = tmp_path / "channel", tmp_path / "other"
    garch = new_session("/p", "Fit a GARCH(1,1) model", age=100, folder=channel)
    reply = new_session("/p", "which model?", age=50, folder=other)
    reply.append(message("assistant", [text_part("Use garch.")]))
    os.utime(reply.path, (time.time() - 50, time.time() - 50))  # type: ignore[arg-type]
    named = new_session("/p", "unrelated", folder=channel)
    named.set_name("garch in the name only")  # names are not message text
    unicode = new_session("/p", "STRASSE und Straße", age=10, folder=channel)
    assert [i.session_id for i in search_sessions("garch", [channel, other])] == [
        reply.session_id,
        garch.session_id,
    ]
    assert [i.session_id for i in search_sessions("GaRcH(1,1)", [channel])] == [garch.session_id]
    assert [i.session_id for i in search_sessions("straße", [channel])] == [unicode.session_id]
    assert search_sessions("nothing like it", [channel, other]) == []
    assert search_sessions("garch", [tmp_path / "missing"]) == []


def test_most_recent_matches_the_header_cwd_not_just_the_folder(home: Path) -> None:
    # "/a-b" and "/a/b" would differ, but "/a/b" and "\\a\\b" share one folder: the header decides.
    mine = new_session("/a/b", "mine", age=30)
    new_session("\\a\\b", "theirs", folder=sessions_dir_for("/a/b"))
    assert sessions_dir_for("\\a\\b") == sessions_dir_for("/a/b")
    found = most_recent("/a/b")
    assert found is not None and found.session_id == mine.session_id
    assert most_recent("/nowhere") is None


def test_most_recent_skips_header_only_files(home: Path) -> None:
    real = new_session("/p", age=100)
    header_only(sessions_dir_for("/p"), "/p", age=1)
    found = most_recent("/p")
    assert found is not None and found.session_id == real.session_id


def test_find_session_by_path_prefix_and_file_id(home: Path, tmp_path: Path) -> None:
    a = new_session("/p", "a")
    b = new_session("/p", "b")
    assert a.path is not None
    assert find_session(str(a.path)).session_id == a.session_id
    assert find_session(a.session_id[:10]).session_id == a.session_id
    file_id = a.path.stem.rsplit("_", 1)[1]
    assert find_session(file_id).session_id == a.session_id
    assert find_session(a.path.name).session_id == a.session_id
    assert find_session(b.session_id).session_id == b.session_id
    with pytest.raises(SessionNotFound, match="zzzz"):
        find_session("zzzz")
    with pytest.raises(SessionNotFound, match="no session file"):
        find_session(str(tmp_path / "missing.jsonl"))


def test_find_session_ambiguity_and_cwd_preference(home: Path) -> None:
    folder_p, folder_q = sessions_dir_for("/p"), sessions_dir_for("/q")
    for folder, cwd, sid in ((folder_p, "/p", "abc1" + "0" * 28), (folder_q, "/q", "abc2" + "0" * 28)):
        folder.mkdir(parents=True, exist_ok=True)
        head = fmt.header(cwd, session_id=sid)
        body = fmt.dumps(dict(fmt.message("user", [text_part("x")]), id=fmt.new_entry_id(), timestamp="t"))
        (folder / fmt.session_file_name()).write_bytes(fmt.dumps(head) + b"\n" + body + b"\n")
    with pytest.raises(AmbiguousSession, match="matches 2 sessions") as err:
        find_session("abc")
    assert len(err.value.candidates) == 2 and "/q" in str(err.value)
    assert find_session("abc", cwd="/q").session_id.startswith("abc2")
    assert find_session("ABC1").cwd == "/p"


def test_cleanup_empty_removes_only_old_unlocked_header_only_files(home: Path) -> None:
    folder = sessions_dir_for("/p")
    old_empty = header_only(folder, "/p", age=120)
    young_empty = header_only(folder, "/p", age=5)
    locked_empty = header_only(folder, "/p", age=120)
    with_entries = new_session("/p", age=120).path
    not_a_session = folder / "notes.jsonl"
    not_a_session.write_text("hello\n")
    os.utime(not_a_session, (time.time() - 500, time.time() - 500))
    fd = os.open(locked_empty, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        removed = cleanup_empty()
    finally:
        os.close(fd)
    assert removed == [old_empty]
    assert not old_empty.exists()
    for kept in (young_empty, locked_empty, with_entries, not_a_session):
        assert kept is not None and kept.exists()


def test_cleanup_keeps_an_empty_file_another_process_holds_open_without_a_lock(home: Path) -> None:
    import subprocess

    folder = sessions_dir_for("/p")
    held = header_only(folder, "/p", age=120)
    holder = subprocess.Popen(
        ["sh", "-c", f"exec 3<'{held}'; echo ready; exec sleep 30"], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        assert cleanup_empty() == []
        assert held.exists()
    finally:
        holder.kill()
        holder.wait()
    assert cleanup_empty() == [held]
