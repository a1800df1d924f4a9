"""The API stores are append-only logs: a turn appends its entries and nothing is rewritten or re-read.

Written against the stores and SessionManager directly (no Agent or Session), so they hold whatever
the API layer above does.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit_py.api.stores as stores_module
import kit_py.session.manager as manager_module
import kit_py.session.store as store_module
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore, SQLiteStore
from kit_py.catalog import encode_cwd
from kit_py.session import SessionManager
from kit_py.session import format as fmt
from tests import test_api_stores as api_stores
from tests.postgres_support import fresh_store


class KeyValueStore(api_stores.KeyValueStore):
    """The custom store of docs/api.md (only the four methods), counting its saves."""

    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    def save(self, session_id: str, data: dict) -> None:
        super().save(session_id, data)
        with self.lock:
            self.saves += 1


STORES: dict[str, Callable[[Path], SessionStore]] = {
    "memory": lambda tmp: MemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(tmp / "sessions.db"),
    "jsonl": lambda tmp: JSONLStore(root=tmp / "kithome"),
    "channel": lambda tmp: JSONLStore(tmp / "channel"),
    "custom": lambda tmp: KeyValueStore(),
    "postgres": fresh_store,
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    made = STORES[request.param](tmp_path)
    yield made
    api_stores.close(made)


def user(text: str) -> dict[str, Any]:
    return fmt.message("user", [fmt.text_part(text)])


def assistant(text: str) -> dict[str, Any]:
    return fmt.message("assistant", [fmt.text_part(text)])


def turn(manager: SessionManager, n: int) -> None:
    """One turn as the engine writes it: the user message, then the assistant step and its tool results."""
    manager.append(user(f"question {n}"))
    manager.append_many([assistant(f"answer {n}"), fmt.message("tool", [])])
    manager.sync()


def shape(manager: SessionManager) -> tuple:
    """Everything a reader rebuilds from a log: entries in order, leaf, current path, labels, name."""
    return (
        [e["id"] for e in manager.entries],
        manager.leaf_id,
        [e["id"] for e in manager.path_entries()],
        manager.labels,
        manager.name,
    )


def big_session(store: SessionStore, tmp_path: Path, session_id: str, count: int = 10_000) -> SessionManager:
    manager = store.new_session(fmt.header(str(tmp_path), session_id=session_id))
    batch = []
    for i in range(count):
        batch.append(user(f"entry {i} " + "x" * 100) if i % 2 == 0 else assistant(f"entry {i}"))
        if len(batch) == 1000:
            manager.append_many(batch)
            batch = []
    if batch:
        manager.append_many(batch)
    manager.close()
    return manager


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every whole-file parse (`load_lines`, wherever it was imported) and every `open()` of a .jsonl."""
    seen: list[str] = []
    real_load = store_module.load_lines

    def counting_load(path: Path) -> Any:
        seen.append(f"load_lines {path}")
        return real_load(path)

    for module in (store_module, manager_module, stores_module):
        monkeypatch.setattr(module, "load_lines", counting_load)
    real_open = open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith(".jsonl"):
            seen.append(f"open {file}")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    return seen


# --- one more turn on a 10,000-entry session reads nothing back ----------------------------------------


def test_jsonl_store_appends_a_turn_to_a_big_session_without_reading_the_file(
    tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JSONLStore(root=tmp_path / "kithome")
    big_session(store, tmp_path, "big")
    path = store.path_of("big")
    assert path is not None and path.parent.name == encode_cwd(str(tmp_path))
    manager = store.open_session("big")
    assert manager is not None and len(manager.entries) == 10_000 and manager.path == path
    assert [r for r in reads if r.startswith("load_lines")] == [f"load_lines {path}"], "opened by one read"
    reads.clear()
    pread_bytes: list[int] = []
    real_pread = os.pread

    def counting_pread(fd: int, n: int, offset: int) -> bytes:
        pread_bytes.append(n)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", counting_pread)
    size = path.stat().st_size
    turn(manager, 1)
    assert reads == [], "an append never re-reads the file"
    assert sum(pread_bytes) <= 2, "only the last byte is checked (torn-line guard), once per append"
    assert path.read_bytes()[size:].count(b"\n") == 3
    monkeypatch.undo()
    again = store.open_session("big")
    assert again is not None and shape(again) == shape(manager)


def test_jsonl_store_save_reads_the_file_only_when_someone_else_wrote_to_it(
    tmp_path: Path, reads: list[str]
) -> None:
    store = JSONLStore(root=tmp_path / "kithome")
    source = SessionManager.create(None, str(tmp_path))
    for i in range(200):
        source.append(user(f"m{i}"))

    def data() -> dict:
        return {"header": {**source.header, "id": "s"}, "entries": source.entries, "leaf_id": source.leaf_id}

    store.save("s", data())
    source.append(user("one more"))
    store.save("s", data())
    assert [r for r in reads if r.startswith("load_lines")] == [], "the store remembers what it wrote"
    other = store.open_session("s")  # another writer: the store's memory of the file is now stale
    assert other is not None
    other.append(user("from elsewhere"))
    other.close()
    reads.clear()
    source.append(user("last"))
    store.save("s", data())
    assert len([r for r in reads if r.startswith("load_lines")]) == 1
    final = store.open_session("s")
    assert final is not None and final.warnings == []
    texts = [fmt.message_text(e) for e in final.entries]
    assert texts.count("one more") == 1 and texts[-2:] == ["from elsewhere", "last"]
    assert final.leaf_id == source.leaf_id


def test_sqlite_store_appends_a_turn_to_a_big_session_with_one_insert_per_entry(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    big_session(store, tmp_path, "big")
    manager = store.open_session("big")
    assert manager is not None and len(manager.entries) == 10_000
    statements: list[str] = []
    conn = store._conn()  # the connection of this thread, which the appends use
    conn.set_trace_callback(statements.append)
    turn(manager, 1)
    conn.set_trace_callback(None)
    inserts = [s for s in statements if s.startswith("INSERT INTO entries")]
    assert len(inserts) == 3, statements
    reading = [s for s in statements if s.startswith("SELECT") and "max(seq)" not in s]
    assert reading == [], "no entry is read back: only the last sequence number is looked up"
    assert not any(s.startswith(("UPDATE entries", "DELETE")) for s in statements)
    again = store.open_session("big")
    assert again is not None and shape(again) == shape(manager)
    data = store.load("big")
    assert data is not None and len(data["entries"]) == 10_003 and data["leaf_id"] == manager.leaf_id
    store.close()


def test_memory_store_appends_without_touching_what_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    manager = store.new_session(fmt.header("/w", session_id="m"))
    for i in range(1000):
        manager.append(user(f"m{i}"))
    held = list(store._sessions["m"].lines)
    decoded: list[int] = []
    real_loads = orjson.loads

    def counting_loads(data: Any) -> Any:
        decoded.append(len(data))
        return real_loads(data)

    monkeypatch.setattr(stores_module.orjson, "loads", counting_loads)
    turn(manager, 1)
    monkeypatch.undo()
    after = store._sessions["m"].lines
    assert len(after) == 1003 and all(a is b for a, b in zip(held, after, strict=False))
    assert decoded == [], "nothing is decoded again on append"


# --- every store rebuilds the same tree and leaf -------------------------------------------------------


def test_every_store_reloads_the_same_tree_after_appends_leaf_moves_and_reopen(
    store: SessionStore, tmp_path: Path
) -> None:
    manager = store.new_session(fmt.header(str(tmp_path), session_id="s1"))
    assert store.load("s1") is None, "nothing is stored before the first append"
    turn(manager, 1)
    first_answer = manager.path_entries()[1]["id"]
    turn(manager, 2)
    manager.move_leaf(first_answer)  # back to the first answer: persisted as a kit:leaf marker
    assert manager.leaf_id == first_answer
    manager.append(user("a branch"))
    manager.set_label(first_answer, "fork point")
    manager.set_name("named")
    manager.move_leaf(first_answer)  # a trailing marker: the reader's leaf is its parent
    manager.close()

    reopened = store.open_session("s1")
    assert reopened is not None and reopened.warnings == []
    assert shape(reopened) == shape(manager)
    assert reopened.leaf_id == first_answer and reopened.labels == {first_answer: "fork point"}
    data = store.load("s1")
    assert data is not None and data["format"] == 1 and data["header"]["id"] == "s1"
    assert [e["id"] for e in data["entries"]] == [e["id"] for e in manager.entries]
    assert data["leaf_id"] == first_answer

    turn(reopened, 3)  # appends continue after a reopen
    reopened.tree.leaf_id = None  # a cleared session: a root marker
    reopened.append(fmt.extension_data(fmt.LEAF_EXT_TYPE, "clear"))
    reopened.append(user("fresh start"))
    reopened.close()
    last = store.open_session("s1")
    assert last is not None and shape(last) == shape(reopened)
    assert [fmt.message_text(e) for e in last.path_entries() if e["type"] == "message"] == ["fresh start"]
    assert store.list_sessions() == ["s1"]
    assert store.open_session("unknown") is None


def test_save_and_logs_mix_and_reach_the_same_state(store: SessionStore, tmp_path: Path) -> None:
    """`save(id, data)` (Session.save / from_dict) appends only what the store lacks, next to log appends."""
    source = SessionManager.create(None, str(tmp_path))
    turn(source, 1)

    def data() -> dict:
        return orjson.loads(
            orjson.dumps(
                {
                    "format": 1,
                    "header": {**source.header, "id": "mix"},
                    "entries": source.entries,
                    "leaf_id": source.leaf_id,
                }
            )
        )

    store.save("mix", data())
    store.save("mix", data())  # unchanged: nothing new
    manager = store.open_session("mix")
    assert manager is not None and shape(manager) == shape(source)
    turn(manager, 2)
    for entry in manager.entries[len(source.entries) :]:
        source.append(dict(entry))
    assert shape(source) == shape(manager)
    source.tree.leaf_id = source.entries[1]["id"]  # a leaf moved without a new entry: saved as a marker
    store.save("mix", data())
    reopened = store.open_session("mix")
    assert reopened is not None and reopened.leaf_id == source.entries[1]["id"]
    ids = [e["id"] for e in reopened.entries]
    marker = 0 if isinstance(store, KeyValueStore) else 1  # a custom store keeps the leaf as saved
    assert len(ids) == len(set(ids)) == len(source.entries) + marker, "each entry stored once"


def test_a_new_empty_session_saved_first_keeps_one_home(store: SessionStore, tmp_path: Path) -> None:
    """new_session, then save() of the still-empty session (to list it), then appends: one session."""
    header = fmt.header(str(tmp_path), session_id="early")
    manager = store.new_session(header)
    store.save("early", {"format": 1, "header": header, "entries": [], "leaf_id": None})
    assert store.list_sessions() == ["early"]
    data = store.load("early")
    assert data is not None and data["entries"] == []
    if not isinstance(store, KeyValueStore):
        turn(manager, 1)
        reopened = store.open_session("early")
        assert reopened is not None and shape(reopened) == shape(manager)
        if isinstance(store, JSONLStore):
            assert len(list(tmp_path.rglob("*.jsonl"))) == 1


def test_fork_into_a_store_keeps_ids_and_links(store: SessionStore, tmp_path: Path) -> None:
    source = store.new_session(fmt.header(str(tmp_path), session_id="src"))
    turn(source, 1)
    turn(source, 2)
    child = store.new_session(fmt.header(str(tmp_path), session_id="child", parent_session_id="src"))
    child.append_many([dict(e, parent_id=None) for e in source.path_entries()[:3]])
    child.close()
    reopened = store.open_session("child")
    assert reopened is not None
    assert [e["id"] for e in reopened.path_entries()] == [e["id"] for e in source.path_entries()[:3]]
    assert sorted(store.list_sessions()) == ["child", "src"]


# --- the default adapter keeps custom stores working ---------------------------------------------------


def test_custom_store_gets_whole_session_data_after_each_append(tmp_path: Path) -> None:
    store = KeyValueStore()
    manager = store.new_session(fmt.header(str(tmp_path), session_id="kv"))
    assert store.saves == 0
    turn(manager, 1)
    assert store.saves == 2, "one save per append (the user message, then the step)"
    data = store.load("kv")
    assert data is not None
    assert set(data) == {"format", "header", "entries", "leaf_id"} and data["format"] == 1
    assert data["header"]["id"] == "kv" and data["leaf_id"] == manager.leaf_id
    assert [e["id"] for e in data["entries"]] == [e["id"] for e in manager.entries]

    # data saved by hand with extra keys (an app's own fields) keeps them through later appends
    store.save("kv", {**data, "owner": "bob"})
    again = store.open_session("kv")
    assert again is not None and shape(again) == shape(manager)
    again.move_leaf(manager.entries[0]["id"])
    reloaded = store.load("kv")
    assert reloaded is not None and reloaded["owner"] == "bob"
    assert reloaded["leaf_id"] == manager.entries[0]["id"]
    assert shape(store.open_session("kv")) == shape(again)  # type: ignore[arg-type]


def test_custom_store_that_fails_to_save_leaves_the_session_unchanged(tmp_path: Path) -> None:
    class Failing(KeyValueStore):
        fail = False

        def save(self, session_id: str, data: dict) -> None:
            if self.fail:
                raise OSError("disk full")
            super().save(session_id, data)

    store = Failing()
    manager = store.new_session(fmt.header(str(tmp_path), session_id="f"))
    turn(manager, 1)
    before = shape(manager)
    store.fail = True
    with pytest.raises(OSError):
        manager.append(user("lost"))
    assert shape(manager) == before
    store.fail = False
    manager.append(user("kept"))
    data = store.load("f")
    assert data is not None and [fmt.message_text(e) for e in data["entries"]][-1] == "kept"
    assert "lost" not in [fmt.message_text(e) for e in data["entries"]]


def test_a_header_without_an_id_is_refused(store: SessionStore) -> None:
    with pytest.raises(ValueError, match="id"):
        store.new_session({"type": "session", "cwd": "/w"})


# --- SQLite: several processes, and files of the old layout --------------------------------------------


def _sqlite_appender(path: str, tag: str, count: int) -> None:
    """Child process: appends `count` entries one by one to the shared session, and to one of its own."""
    store = SQLiteStore(path)
    shared = store.open_session("shared")
    own = store.new_session(fmt.header("/w", session_id=f"own-{tag}"))
    assert shared is not None
    for i in range(count):
        shared.append(user(f"{tag}{i}"))
        own.append(user(f"{tag}{i}"))
    store.close()


def test_two_processes_append_to_one_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    seed = SQLiteStore(path)
    seed.new_session(fmt.header("/w", session_id="shared")).append(user("seed"))
    seed.close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_sqlite_appender, args=(str(path), tag, 150)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    store = SQLiteStore(path)
    assert sorted(store.list_sessions()) == ["own-a", "own-b", "shared"]
    shared = store.open_session("shared")
    assert shared is not None and shared.warnings == [] and len(shared.entries) == 301
    texts = [fmt.message_text(e) for e in shared.entries]
    for tag in ("a", "b"):
        assert [t for t in texts if t.startswith(tag)] == [f"{tag}{i}" for i in range(150)]
        own = store.open_session(f"own-{tag}")
        assert own is not None and [fmt.message_text(e) for e in own.path_entries()] == [
            f"{tag}{i}" for i in range(150)
        ]
    seqs = [r[0] for r in store._conn().execute("SELECT seq FROM entries WHERE session_id = 'shared'")]
    assert sorted(seqs) == list(range(301))
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_sqlite_file_of_the_old_blob_layout_is_converted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    source = SessionManager.create(None, "/w")
    turn(source, 1)
    turn(source, 2)
    old_leaf = source.entries[1]["id"]
    sessions = {
        "moved": {
            "format": 1,
            "header": {**source.header, "id": "moved"},
            "entries": source.entries,
            "leaf_id": old_leaf,  # a leaf move saved without a marker, as the old stores kept it
        },
        "plain": {"header": {"id": "plain"}, "entries": [], "leaf_id": None, "n": 7},
    }
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, data BLOB NOT NULL, updated REAL NOT NULL)")
    for updated, (sid, data) in enumerate(sessions.items()):
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?)", (sid, orjson.dumps(data), float(updated)))
    conn.commit()
    conn.close()

    store = SQLiteStore(path)
    assert store.list_sessions() == ["plain", "moved"]
    plain = store.load("plain")
    assert plain is not None and plain["n"] == 7 and plain["entries"] == []
    moved = store.open_session("moved")
    assert moved is not None and moved.leaf_id == old_leaf
    assert [e["id"] for e in moved.entries][:-1] == [e["id"] for e in source.entries]
    assert fmt.is_leaf_marker(moved.entries[-1])
    moved.append(user("after the upgrade"))
    store.close()
    again = SQLiteStore(path)  # a second open leaves the converted file alone
    reopened = again.open_session("moved")
    assert reopened is not None and shape(reopened) == shape(moved)
    tables = {r[0] for r in again._conn().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"sessions", "entries"}
    again.close()


# --- JSONL: where new sessions go ----------------------------------------------------------------------


def test_jsonl_new_session_file_appears_with_the_first_append(tmp_path: Path) -> None:
    home = tmp_path / "kithome"
    store = JSONLStore(root=home)
    manager = store.new_session(fmt.header("/home/u/proj", session_id="fresh"))
    folder = home / "sessions" / "home--u--proj"
    assert manager.path is not None and manager.path.parent == folder
    assert not folder.exists() and store.list_sessions() == []
    turn(manager, 1)
    assert store.path_of("fresh") == manager.path
    lines = manager.path.read_bytes().splitlines()
    assert orjson.loads(lines[0])["id"] == "fresh" and len(lines) == 4
    assert SessionManager.open(manager.path).warnings == []

    channel = JSONLStore(tmp_path / "channel")
    in_channel = channel.new_session(fmt.header("/anywhere", session_id="c1"))
    in_channel.append(user("hi"))
    assert in_channel.path is not None and in_channel.path.parent == tmp_path / "channel"
    assert channel.list_sessions() == ["c1"] and [i.session_id for i in channel.infos()] == ["c1"]


# --- any edit history: every store agrees with the in-memory tree --------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("user"), st.integers(0, 3)),
        st.tuples(st.just("step"), st.integers(0, 3)),
        st.tuples(st.just("back"), st.integers(0, 30)),
        st.tuples(st.just("move"), st.integers(0, 30)),
        st.tuples(st.just("label"), st.integers(0, 30)),
        st.tuples(st.just("name"), st.integers(0, 3)),
        st.tuples(st.just("clear"), st.just(0)),
        st.tuples(st.just("reopen"), st.just(0)),
    ),
    max_size=15,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_any_sequence_of_appends_reloads_identically_from_every_store(tmp_path_factory, ops) -> None:
    base = tmp_path_factory.mktemp("ops")
    made = {name: factory(base) for name, factory in STORES.items()}
    header = fmt.header(str(base), session_id="p")
    managers = {name: s.new_session(dict(header)) for name, s in made.items()}
    reference = SessionManager(dict(header), manager_module.Tree(), None)
    counter = [0]

    def next_id() -> str:  # the same ids in every copy, markers included
        counter[0] += 1
        return f"{counter[0]:016x}"

    def apply(m: SessionManager, op: str, n: int) -> None:
        if op == "user":
            m.append(user(f"u{n}"))
        elif op == "step":
            m.append_many([assistant(f"a{n}"), fmt.message("tool", [])])
        elif op == "back" and m.entries:
            m.branch(m.entries[n % len(m.entries)]["id"])  # in memory only, until the next append
        elif op == "move" and m.entries:
            m.move_leaf(m.entries[n % len(m.entries)]["id"])
        elif op == "label" and m.entries:
            m.set_label(m.entries[n % len(m.entries)]["id"], f"l{n}")
        elif op == "name":
            m.set_name(f"name {n}")
        elif op == "clear":
            m.tree.leaf_id = None
            m.append(fmt.extension_data(fmt.LEAF_EXT_TYPE, "clear"))

    with mock.patch.object(fmt, "new_entry_id", next_id):
        for op, n in ops:
            if op == "reopen":
                for name in managers:
                    managers[name].close()
                    reopened = made[name].open_session("p")
                    if reopened is not None:
                        managers[name] = reopened
                reference = SessionManager.from_entries(reference.header, list(reference.entries), None)
                continue
            first = counter[0]
            for m in [reference, *managers.values()]:
                counter[0] = first
                apply(m, op, n)
    expected = SessionManager.from_entries(reference.header, list(reference.entries), None)
    for name, s in made.items():
        managers[name].close()
        stored = s.open_session("p")
        if not reference.entries:
            assert stored is None, name
            continue
        assert stored is not None and stored.warnings == [], name
        assert shape(stored) == shape(expected), name
        assert shape(managers[name]) == shape(reference), name
        data = s.load("p")
        assert data is not None and data["leaf_id"] == expected.leaf_id, name
        assert [e["id"] for e in data["entries"]] == [e["id"] for e in expected.entries], name
    for s in made.values():
        api_stores.close(s)
