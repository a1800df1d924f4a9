"""PostgresStore against a real PostgreSQL server (tests/postgres_support.py): what only it promises.

The contract every store keeps runs in tests/test_api_stores.py and tests/test_store_append.py (with a
"postgres" entry). Here: many processes on one history, a writer killed mid-turn, sessions moved to
session files and back through the real `kit` command, full-text search and channels, the schema's
versions, and what a bad connection string says.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import Counter

import orjson
import psycopg
import pytest

from kit_py import Agent, ScriptedModel, Session
from kit_py.api import RestoreWarning
from kit_py.api.postgres import schema as pg_schema
from kit_py.errors import SessionError, SessionWriteError, UsageError
from kit_py.session import SessionManager
from kit_py.session import format as fmt
from kit_py.stores import JSONLStore, PostgresStore, copy_session
from tests import postgres_writers
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)
from tests.conftest import session_files
from tests.postgres_support import fresh_schema, fresh_store, postgres_url, server  # noqa: F401  (fixture)

WORKERS, TURNS = 20, 50


@pytest.fixture(scope="module")
def processes() -> multiprocessing.context.ForkServerContext:
    """Writer processes forked from one server that imported kit_py and psycopg once (a spawned
    interpreter per writer would spend seconds importing); no connection crosses the fork."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.postgres_writers"])
    return ctx


@pytest.fixture
def store(postgres_url: str):  # noqa: F811
    with PostgresStore(postgres_url, schema=fresh_schema()) as made:
        yield made


def rows(store: PostgresStore, session_id: str) -> list[tuple[int, str]]:
    """(seq, entry text) of every stored entry, straight from the table."""
    with psycopg.connect(server().url) as conn:
        found = conn.execute(
            f"SELECT seq, entry::text FROM {store.schema}.entries WHERE session_id = %s ORDER BY seq",
            (session_id,),
        ).fetchall()
    return [(int(seq), str(text)) for seq, text in found]


def sessions(run_kit, *words: str):
    """`kit sessions WORDS` (no model flags: they belong to a chat)."""
    return run_kit("sessions", *words, provider_flags=False)


def texts(manager: SessionManager, role: str) -> list[str]:
    return [
        fmt.message_text(e) for e in manager.entries if e.get("type") == "message" and e.get("role") == role
    ]


# --- many processes, one history ------------------------------------------------------------------------


def test_twenty_processes_take_turns_on_their_own_and_one_shared_session_and_lose_nothing(store, processes):
    Agent(model=ScriptedModel(), store=store).session(session_id="shared", system="Serve everyone.")
    started = time.perf_counter()
    workers = [
        processes.Process(target=postgres_writers.run_turns, args=(server().url, store.schema, n, TURNS))
        for n in range(WORKERS)
    ]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    elapsed = time.perf_counter() - started
    assert [p.exitcode for p in workers] == [0] * WORKERS, "a writer failed (a conflict, a lost write)"

    for n in range(WORKERS):
        own = store.open_session(f"own-{n}")
        assert own is not None and own.warnings == []
        path = [fmt.message_text(e) for e in own.path_entries() if e["type"] == "message"]
        assert path == [f"{kind} own {n}-{i}" for i in range(0, TURNS, 2) for kind in ("question", "answer")]

    shared = store.open_session("shared")
    assert shared is not None and shared.warnings == []
    questions = Counter(texts(shared, "user"))
    answers = Counter(texts(shared, "assistant"))
    expected = [f"shared {n}-{i}" for n in range(WORKERS) for i in range(1, TURNS, 2)]
    assert questions == Counter(f"question {k}" for k in expected), "every question once, none lost"
    assert answers == Counter(f"answer {k}" for k in expected), "every answer once, none lost"
    by_id = {e["id"]: e for e in shared.entries}
    for entry in shared.entries:
        if entry.get("role") == "assistant":  # a turn is never split: each answer hangs off its own question
            question = by_id[entry["parent_id"]]
            assert fmt.message_text(question) == fmt.message_text(entry).replace("answer", "question")
    stored = rows(store, "shared")
    assert [seq for seq, _text in stored] == list(range(len(stored))), "positions without gaps"
    assert len({orjson.loads(text)["id"] for _seq, text in stored}) == len(stored) == len(shared.entries)
    print(f"\n{WORKERS} processes x {TURNS} turns: {WORKERS * TURNS * 2} appends in {elapsed:.1f} s")


def test_a_writer_killed_mid_turn_leaves_whole_entries_and_the_next_writer_continues(
    store, processes, tmp_path
):
    url = server().url
    started = tmp_path / "tool-started"
    blocked = processes.Process(
        target=postgres_writers.block_in_a_tool, args=(url, store.schema, "t", str(started))
    )
    seed = store.new_session(fmt.header("/w", session_id="pairs"))
    seed.append(fmt.message("user", [fmt.text_part("seed")]))
    appender = processes.Process(target=postgres_writers.append_pairs, args=(url, store.schema, "pairs"))
    blocked.start()
    appender.start()
    deadline = time.monotonic() + 30
    while (not started.exists() or len(rows(store, "pairs")) < 200) and time.monotonic() < deadline:
        time.sleep(0.02)
    for p in (blocked, appender):
        os.kill(p.pid, signal.SIGKILL)
        p.join(10)
    assert started.read_text() == "prices", "the turn was inside its tool call when it was killed"

    # Mid-turn: the question and the tool call are stored; the next process continues the session.
    model = ScriptedModel(["Prices are up."])
    with pytest.warns(RestoreWarning, match="slow_lookup"):  # a Python tool is not in the store
        again = Session.load("t", store=store, agent=Agent(model=model, store=store))
    assert [m.text for m in again.messages][:1] == ["Look up prices"]
    assert again.messages[1].tool_calls[0]["name"] == "slow_lookup"
    again.run("Any news?")
    assert again.messages[-1].text == "Prices are up."
    assert model.requests[0].prompt == "Any news?"

    # Mid-append: a pair is stored whole or not at all, and the dead writer's lock is gone at once.
    stored = rows(store, "pairs")
    assert len(stored) % 2 == 1 and [seq for seq, _t in stored] == list(range(len(stored)))
    manager = store.open_session("pairs")
    assert manager is not None and manager.warnings == []
    before = time.perf_counter()
    manager.append(fmt.message("user", [fmt.text_part("after the crash")]))
    assert time.perf_counter() - before < 2
    assert store.load("pairs")["entries"][-1]["parts"][0]["data"]["text"] == "after the crash"


def test_a_turn_on_a_big_session_is_one_statement_per_append_and_reads_nothing_back(store, monkeypatch):
    manager = store.new_session(fmt.header("/w", session_id="big"))
    for start in range(0, 5000, 1000):
        manager.append_many(
            [fmt.message("user", [fmt.text_part(f"entry {i}")]) for i in range(start, start + 1000)]
        )
    manager = store.open_session("big")
    assert manager is not None and len(manager.entries) == 5000
    sent: list[str] = []
    real_execute = psycopg.Connection.execute

    def recording(conn, query, *args, **kwargs):
        sent.append(str(query))
        return real_execute(conn, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", recording)
    manager.append(fmt.message("user", [fmt.text_part("one more")]))
    manager.append_many([fmt.message("assistant", [fmt.text_part("answer")]), fmt.message("tool", [])])
    monkeypatch.undo()
    statements = [q for q in sent if q]  # "" is the pool's check that a connection is alive
    assert len(statements) == 2 and all(q.startswith("WITH held AS") for q in statements), statements
    again = store.open_session("big")
    assert again is not None and len(again.entries) == 5003 and again.leaf_id == manager.leaf_id


def test_two_threads_on_one_session_continue_after_each_other(store):
    """Two writers whose views went stale: each later append follows the other's entries, as two `kit`
    processes on one session file do; an answer still hangs off the message it answers."""
    first = store.new_session(fmt.header("/w", session_id="s"))
    first.append(fmt.message("user", [fmt.text_part("start")]))
    second = store.open_session("s")
    assert second is not None
    errors: list[BaseException] = []

    def write(manager: SessionManager, tag: str) -> None:
        try:
            for i in range(30):
                manager.append(fmt.message("user", [fmt.text_part(f"{tag} q{i}")]))
                manager.append(fmt.message("assistant", [fmt.text_part(f"{tag} a{i}")]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(m, tag)) for m, tag in ((first, "x"), (second, "y"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = store.open_session("s")
    assert final is not None and final.warnings == [] and len(final.entries) == 121
    by_id = {e["id"]: e for e in final.entries}
    for entry in final.entries:
        if entry.get("role") == "assistant":
            assert fmt.message_text(by_id[entry["parent_id"]]) == fmt.message_text(entry).replace(" a", " q")


# --- sessions to files and back, through the real CLI ---------------------------------------------------


def test_a_session_made_in_postgres_continues_in_kit_and_comes_back(run_kit, kit_env, api, store):
    session = Agent(store=store).session(session_id="chat-1", system="Answer in one word.")
    api.reply("Blue.")
    session.run("Sky colour?")
    session.name = "colours"
    flags = ["--store", server().url, "--schema", store.schema]

    exported = sessions(run_kit, "export", "chat", *flags)
    assert exported.returncode == 0, exported.stderr
    [path] = session_files(kit_env)
    assert exported.stdout == f"{path}\n" and "6 entries written" in exported.stderr
    stored_lines = [text.encode() for _seq, text in rows(store, "chat-1")]
    assert path.read_bytes().splitlines()[1:] == stored_lines, "the entries' own bytes, hashes included"
    verified = sessions(run_kit, "verify", str(path))
    assert verified.returncode == 0 and ": ok" in verified.stdout

    api.reply("Green.")
    result = run_kit("-s", "chat-1", "Grass colour?")
    assert result.returncode == 0 and result.stdout == "Green.\n", result.stderr
    assert [m["content"] for m in api.last_messages()] == [
        "Answer in one word.", "Sky colour?", "Blue.", "Grass colour?"
    ]  # fmt: skip

    imported = sessions(run_kit, "import", "chat-1", *flags, "--json")
    assert imported.returncode == 0, imported.stderr
    document = orjson.loads(imported.stdout)
    assert document["sessions"][0]["id"] == "chat-1" and document["sessions"][0]["entries"] >= 2
    assert sessions(run_kit, "import", "chat-1", *flags, "--json").stdout.count('"entries": 0') == 1

    again = Session.load("chat-1", store=store)  # the agent rebuilt from what the session recorded
    assert again.name == "colours" and again.system == "Answer in one word."
    assert [m.text for m in again.messages] == ["Sky colour?", "Blue.", "Grass colour?", "Green."]
    api.reply("White.")
    again.run("Snow colour?")
    assert [m["content"] for m in api.last_messages()][-3:] == ["Grass colour?", "Green.", "Snow colour?"]


def test_export_to_a_file_and_import_into_another_store_gives_the_identical_session(
    run_kit, kit_env, store, tmp_path
):
    manager = store.new_session(fmt.header("/srv/app", session_id="exact"))
    manager.append(fmt.message("system", [fmt.text_part("Be exact.")]))
    first = manager.append(
        fmt.message("user", [fmt.text_part("nul \x00, é, 😀, and a long line " + "x" * 50_000)])
    )
    manager.append(fmt.message("assistant", [fmt.text_part("ok")]))
    manager.move_leaf(first["id"])
    manager.append(fmt.message("assistant", [fmt.text_part("a second answer")]))
    manager.set_label(first["id"], "the question")
    out = tmp_path / "exact.jsonl"

    exported = sessions(
        run_kit, "export", "exact", "--store", server().url, "--schema", store.schema, "--to", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    assert SessionManager.open(out).warnings == []
    other = fresh_store()
    imported = sessions(run_kit, "import", str(out), "--store", server().url, "--schema", other.schema)
    assert imported.returncode == 0 and imported.stdout == "exact\n", imported.stderr
    assert other.load("exact") == store.load("exact")
    assert [t for _s, t in rows(other, "exact")] == [t for _s, t in rows(store, "exact")]
    reopened = other.open_session("exact")
    assert reopened is not None and reopened.leaf_id == manager.leaf_id and reopened.labels == manager.labels

    copied = JSONLStore(tmp_path / "files")  # the same through the API, both ways
    assert copy_session(store, copied, "exact") == 6 and copy_session(store, copied, "exact") == 0
    third = fresh_store()
    assert copy_session(copied, third, "exact") == 6
    assert third.load("exact") == store.load("exact")


def test_cli_transfer_errors_are_one_line_and_exit_non_zero(run_kit, kit_env, store, tmp_path):
    bad = sessions(run_kit, "export", "x", "--store", "postgresql://bob:hunter2@127.0.0.1:1/app")
    assert bad.returncode == 12 and "bob@127.0.0.1:1/app" in bad.stderr and "hunter2" not in bad.stderr
    assert bad.stderr.count("\n") == 1
    missing = sessions(run_kit, "export", "nope", "--store", server().url, "--schema", store.schema)
    assert missing.returncode == 12 and "no session 'nope' in the PostgreSQL store" in missing.stderr
    unnamed = sessions(run_kit, "import", "whatever")
    assert unnamed.returncode == 2 and "--store postgresql://" in unnamed.stderr
    pi_file = tmp_path / "pi.jsonl"
    pi_file.write_text('{"type":"session","version":3,"id":"u","timestamp":"2025-01-01T00:00:00Z","cwd":"/"}\n'
                       '{"type":"message","id":"a1","parentId":null,"timestamp":"2025-01-01T00:00:00Z",'
                       '"message":{"role":"user","content":[{"type":"text","text":"hi"}]}}\n')  # fmt: skip
    foreign = sessions(run_kit, "import", str(pi_file), "--store", server().url, "--schema", store.schema)
    assert foreign.returncode == 12 and "kit import" in foreign.stderr
    assert store.list_sessions() == []


# --- search, channels, the schema, connections -------------------------------------------------------------


def test_search_and_channel_history_use_the_store(store, monkeypatch, tmp_path):
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "kithome"))
    model = ScriptedModel(default="Noted.")
    billing = Session.create(channel="billing", model=model.model, store=store, session_id="b1")
    billing.send("My invoice from Zürich is wrong")
    other = Session.create(channel="billing", model=model.model, store=store, session_id="b2")
    other.send("Refund the double charge please")
    other.name = "refund"
    support = Session.create(channel="support", model=model.model, store=store, session_id="s1")
    support.send("The invoice page shows a refund button")

    assert [s.id for s in Session.history("billing", store=store)] == ["b2", "b1"]
    [latest, first] = Session.history("billing", store=store)
    assert (latest.name, latest.preview, latest.channel, latest.message_count) == (
        "refund", "Refund the double charge please", "billing", 2
    )  # fmt: skip
    assert first.path is None and first.created is not None
    assert sorted(s.id for s in Session.search("INVOICE", store=store)) == ["b1", "s1"]
    assert [s.id for s in Session.search("zurich", channel="billing", store=store)] == ["b1"]
    assert [s.id for s in Session.search("ref*", channel="billing", store=store)] == ["b2"]
    assert [s.id for s in Session.search('"double charge"', store=store)] == ["b2"]
    assert Session.search('"charge double"', store=store) == []
    assert Session.search("noted", store=store) != [], "answers are searched too"
    with pytest.raises(UsageError, match="nothing to search"):
        Session.search("***", store=store)
    assert Session.load("b2", store=store).channel == "billing"
    assert not (tmp_path / "kithome" / "channels" / "billing").exists(), "nothing went to files"


def test_the_schema_is_made_once_by_concurrent_first_users_and_moves_forward(postgres_url, monkeypatch):  # noqa: F811
    schema = fresh_schema()
    opened: list[PostgresStore] = []
    threads = [
        threading.Thread(target=lambda: opened.append(PostgresStore(postgres_url, schema=schema)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 6
    with psycopg.connect(postgres_url) as conn:
        versions = conn.execute(f"SELECT version FROM {schema}.schema_version").fetchall()
    assert versions == [(1,)]
    opened[0].new_session(fmt.header("/w", session_id="kept")).append(
        fmt.message("user", [fmt.text_part("hi")])
    )
    for made in opened:
        made.close()

    step = ("ALTER TABLE {s}.sessions ADD COLUMN tenant text",)
    monkeypatch.setitem(pg_schema.MIGRATIONS, 2, step)
    with PostgresStore(postgres_url, schema=schema) as upgraded, psycopg.connect(postgres_url) as conn:
        assert conn.execute(f"SELECT max(version) FROM {schema}.schema_version").fetchone() == (2,)
        assert conn.execute(f"SELECT tenant FROM {schema}.sessions").fetchall() == [(None,)]
        assert [m.text for m in Session.load("kept", store=upgraded, agent=Agent()).messages] == ["hi"]
    monkeypatch.delitem(pg_schema.MIGRATIONS, 2)
    with pytest.raises(SessionError, match="version 2, newer than this kit_py knows"):
        PostgresStore(postgres_url, schema=schema)


def test_bad_connections_say_where_without_the_password(postgres_url, monkeypatch):  # noqa: F811
    with pytest.raises(SessionError) as refused:
        PostgresStore("postgresql://bob:hunter2@127.0.0.1:1/app", timeout=2)
    assert "bob@127.0.0.1:1/app" in str(refused.value) and "hunter2" not in str(refused.value)
    with pytest.raises(ValueError, match="bad schema name"):
        PostgresStore(postgres_url, schema="Robert'); DROP TABLE students;--")
    monkeypatch.setenv("KIT_DATABASE_URL", postgres_url)  # the environment names the server
    with PostgresStore(schema=fresh_schema()) as from_env:
        from_env.new_session(fmt.header("/w", session_id="e")).append(
            fmt.message("user", [fmt.text_part("x")])
        )
        assert from_env.list_sessions() == ["e"]
        assert "postgresql" not in orjson.dumps(from_env.load("e")).decode(), "no DSN in the session"


def test_a_write_to_a_store_that_went_away_fails_cleanly(postgres_url):  # noqa: F811
    store = PostgresStore(postgres_url, schema=fresh_schema(), timeout=2)
    manager = store.new_session(fmt.header("/w", session_id="gone"))
    manager.append(fmt.message("user", [fmt.text_part("kept")]))
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {store.schema} CASCADE")
    with pytest.raises(SessionWriteError, match="cannot write session 'gone' in the PostgreSQL store"):
        manager.append(fmt.message("user", [fmt.text_part("lost")]))
    assert [fmt.message_text(e) for e in manager.entries] == ["kept"], "the session is as it was"
    store.close()
    with pytest.raises(SessionError):
        store.list_sessions()
