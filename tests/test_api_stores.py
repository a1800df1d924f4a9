"""One contract suite for every SessionStore (memory, SQLite, JSONL, a custom subclass), plus what
only some promise: SQLite shared by processes, JSONL files the CLI reads."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit_py import Agent, Message, Session
from kit_py.api.stores import JSONLStore, MemoryStore, SessionStore, SQLiteStore
from kit_py.catalog import encode_cwd
from kit_py.errors import SessionExistsError
from kit_py.session import SessionManager
from kit_py.stores import PostgresStore
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)
from tests.postgres_support import fresh_store


class KeyValueStore(SessionStore):
    """A custom store the way a Redis one would be written: JSON text under string keys."""

    def __init__(self) -> None:
        self.kv: dict[str, str] = {}
        self.lock = threading.Lock()

    def save(self, session_id: str, data: dict) -> None:
        with self.lock:
            self.kv[f"session:{session_id}"] = json.dumps(data)

    def load(self, session_id: str) -> dict | None:
        with self.lock:
            text = self.kv.get(f"session:{session_id}")
        return None if text is None else json.loads(text)

    def delete(self, session_id: str) -> bool:
        with self.lock:
            return self.kv.pop(f"session:{session_id}", None) is not None

    def list_sessions(self) -> list[str]:
        with self.lock:
            return [k.removeprefix("session:") for k in self.kv]


STORES: dict[str, Callable[[Path], SessionStore]] = {
    "memory": lambda tmp: MemoryStore(),
    "sqlite": lambda tmp: SQLiteStore(tmp / "sessions.db"),
    "jsonl": lambda tmp: JSONLStore(root=tmp / "kithome"),
    "custom": lambda tmp: KeyValueStore(),
    "postgres": fresh_store,
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    made = STORES[request.param](tmp_path)
    yield made
    close(made)


def close(store: SessionStore) -> None:
    """Close the stores that hold connections (SQLite files, PostgreSQL pools)."""
    if isinstance(store, SQLiteStore | PostgresStore):
        store.close()


def conversation(agent: Agent, session_id: str, turns: int = 2) -> Session:
    """A session built without any model call (add_message), saved by hand."""
    session = agent.session(session_id=session_id, system="Be brief.", autosave=False, store=MemoryStore())
    for i in range(turns):
        session.add_message(Message.user(f"{session_id} question {i}"))
        session.add_message(Message.assistant(f"{session_id} answer {i}"))
    return session


def view(data: dict | None, agent: Agent) -> tuple:
    """What a user sees of stored data once restored: id, system prompt, messages, name."""
    assert data is not None
    restored = Session.from_dict(data, agent)
    return restored.id, restored.system, [(m.role, m.text) for m in restored.messages], restored.name


def test_unknown_ids(store, tmp_path):
    assert store.load("nope") is None
    assert store.delete("nope") is False
    assert store.list_sessions() == []


def test_an_empty_session_is_stored_and_listed(store, tmp_path):
    session = Agent("openai/scripted", cwd=tmp_path).session(session_id="empty", store=store)
    assert store.list_sessions() == ["empty"]
    assert Session.from_dict(store.load("empty")).messages == []
    assert session.system is None


def test_save_load_update_list_delete(store, tmp_path):
    agent = Agent("openai/scripted", cwd=tmp_path)
    first, second = conversation(agent, "first"), conversation(agent, "second", turns=1)
    store.save(first.id, first.to_dict())
    store.save(second.id, second.to_dict())
    assert sorted(store.list_sessions()) == ["first", "second"]
    assert view(store.load("first"), agent) == view(first.to_dict(), agent)

    first.add_message(Message.user("later"))
    first.name = "renamed"
    store.save(first.id, first.to_dict())
    assert view(store.load("first"), agent) == view(first.to_dict(), agent)
    second_messages = [("user", "second question 0"), ("assistant", "second answer 0")]
    assert view(store.load("second"), agent)[2] == second_messages

    assert store.delete("first") is True
    assert store.load("first") is None
    assert store.list_sessions() == ["second"]


def test_a_cleared_session_stays_cleared_and_keeps_its_tree(store, tmp_path):
    agent = Agent("openai/scripted", cwd=tmp_path)
    session = conversation(agent, "c")
    store.save(session.id, session.to_dict())
    session.clear()
    session.add_message(Message.user("fresh start"))
    store.save(session.id, session.to_dict())
    loaded = store.load("c")
    assert view(loaded, agent)[2] == [("user", "fresh start")]
    assert {e["id"] for e in session.to_dict()["entries"]} <= {e["id"] for e in loaded["entries"]}
    session.clear()
    store.save(session.id, session.to_dict())
    assert view(store.load("c"), agent)[2] == []


def test_fork_refuses_an_id_the_store_already_holds(store, tmp_path):
    agent = Agent("openai/scripted", cwd=tmp_path, store=store)
    taken = agent.session(session_id="taken")
    taken.add_message(Message.user("keep me"))
    before = store.load("taken")
    source = agent.session(session_id="source")
    source.add_message(Message.user("fork me"))
    for session_id in ("taken", "source"):
        with pytest.raises(SessionExistsError, match=session_id) as raised:
            source.fork(session_id=session_id)
        assert isinstance(raised.value, ValueError)
    assert store.load("taken") == before
    assert view(store.load("taken"), agent)[2] == [("user", "keep me")]
    assert sorted(store.list_sessions()) == ["source", "taken"]
    assert view(store.load(source.fork(session_id="fresh").id), agent)[2] == [("user", "fork me")]
    resumed = agent.session(session_id="taken", system="ignored")
    assert [m.text for m in resumed.messages] == ["keep me"], "agent.session(id) still resumes"


def test_loaded_data_is_a_copy(store, tmp_path):
    agent = Agent("openai/scripted", cwd=tmp_path)
    session = conversation(agent, "copy")
    store.save(session.id, session.to_dict())
    loaded = store.load("copy")
    loaded["entries"].clear()
    assert len(view(store.load("copy"), agent)[2]) == 4


def test_many_threads_share_one_store(store, tmp_path):
    agent = Agent("openai/scripted", cwd=tmp_path)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                session = conversation(agent, f"t{n}-{i}", turns=1)
                store.save(session.id, session.to_dict())
                session.add_message(Message.user("second save"))
                store.save(session.id, session.to_dict())
                assert view(store.load(session.id), agent)[2][-1] == ("user", "second save")
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(store.list_sessions()) == sorted(f"t{n}-{i}" for n in range(4) for i in range(5))


def test_autosave_after_each_turn_and_resume_by_id(store, api, tmp_path):
    agent = Agent(store=store)
    session = agent.session(session_id="chat-42", system="Be brief.")
    api.reply("Hello Bob.")
    session.run("I am Bob")
    assert view(store.load("chat-42"), agent)[2] == [("user", "I am Bob"), ("assistant", "Hello Bob.")]

    again = Agent(store=store).session(session_id="chat-42", system="ignored: the session exists")
    assert again.system == "Be brief."
    api.reply("You are Bob.")
    again.run("Who am I?")
    assert [m["content"] for m in api.last_messages()] == ["Be brief.", "I am Bob", "Hello Bob.", "Who am I?"]
    assert len(view(store.load("chat-42"), agent)[2]) == 4


def test_autosave_off_saves_only_on_request(api):
    store = MemoryStore()
    session = Agent().session(store=store, autosave=False)
    api.reply("hi")
    session.run("hello")
    assert store.load(session.id) is None
    session.save()
    assert store.load(session.id) is not None


# --- SQLite ------------------------------------------------------------------------------------------


def _sqlite_writer(path: str, tag: str, count: int) -> None:
    """Runs in a child process: its own sessions, plus updates to one session both processes share."""
    store = SQLiteStore(path)
    for i in range(count):
        store.save(f"{tag}-{i}", {"header": {"id": f"{tag}-{i}"}, "entries": [], "leaf_id": None, "n": i})
        store.save("shared", {"header": {"id": "shared"}, "entries": [], "leaf_id": None, "writer": tag})
        assert store.load(f"{tag}-{i}")["n"] == i
    store.close()


def test_sqlite_two_processes_on_one_file(tmp_path):
    path = tmp_path / "shared.db"
    SQLiteStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_sqlite_writer, args=(str(path), tag, 40)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    store = SQLiteStore(path)
    ids = store.list_sessions()
    assert sorted(ids) == sorted([f"a-{i}" for i in range(40)] + [f"b-{i}" for i in range(40)] + ["shared"])
    assert store.load("shared")["writer"] in ("a", "b")
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


# --- JSONL -------------------------------------------------------------------------------------------


def test_jsonl_store_writes_cli_session_files_and_only_appends(tmp_path):
    home = tmp_path / "kithome"
    project = tmp_path / "project"
    agent = Agent("openai/scripted", cwd=project)
    store = JSONLStore(root=home)
    session = conversation(agent, "cli-visible")
    store.save(session.id, session.to_dict())
    files = list((home / "sessions" / encode_cwd(str(project))).glob("*.jsonl"))
    assert len(files) == 1
    before = files[0].read_bytes()
    header = json.loads(before.splitlines()[0])
    assert (header["type"], header["id"], header["cwd"]) == ("session", "cli-visible", str(project))

    session.clear()
    session.add_message(Message.user("after clear"))
    store.save(session.id, session.to_dict())
    after = files[0].read_bytes()
    assert after.startswith(before), "existing bytes are never rewritten"
    reopened = SessionManager.open(files[0])
    assert reopened.warnings == []
    path_texts = [e["parts"][0]["data"]["text"] for e in reopened.path_entries() if e["type"] == "message"]
    assert path_texts == ["Be brief.", "after clear"]
    store.save(session.id, session.to_dict())
    assert files[0].read_bytes() == after, "saving an unchanged session writes nothing"


# --- any edit history survives every store --------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("user"), st.text(max_size=12)),
        st.tuples(st.just("assistant"), st.text(max_size=12)),
        st.tuples(st.just("clear"), st.just("")),
        st.tuples(st.just("name"), st.text(min_size=1, max_size=8)),
        st.tuples(st.just("save"), st.just("")),
    ),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_any_sequence_of_changes_reloads_identically_from_every_store(tmp_path_factory, ops):
    base = tmp_path_factory.mktemp("ops")
    agent = Agent("openai/scripted", cwd=base)
    stores = [factory(base) for factory in STORES.values()]
    session = agent.session(session_id="s", system="sys", autosave=False)
    for op, text in ops:
        if op in ("user", "assistant"):
            session.add_message(Message(op, [{"type": "text", "data": {"text": text}}]))
        elif op == "clear":
            session.clear()
        elif op == "name":
            session.name = text
        else:
            for store in stores:
                store.save("s", session.to_dict())
    for store in stores:
        store.save("s", session.to_dict())
    expected = view(session.to_dict(), agent)
    assert view(Session.from_dict(session.to_dict(), agent).to_dict(), agent) == expected
    for store in stores:
        assert view(store.load("s"), agent) == expected, type(store).__name__
    [jsonl_file] = (base / "kithome").rglob("*.jsonl")
    cli_view = SessionManager.open(jsonl_file)
    assert cli_view.warnings == []
    assert [e["id"] for e in cli_view.path_entries() if e["type"] == "message"] == [
        e["id"] for e in session._manager.path_entries() if e["type"] == "message"
    ]
    for store in stores:
        close(store)
