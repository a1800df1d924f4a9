"""The catalog index: refreshed from only the new bytes, rebuilt when it must be, and what it answers
(search ranking and snippets, branch lengths, totals and usage by model and day)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kit_py.catalog import search, search_sessions, sessions_dir_for
from kit_py.catalog.index import open_index
from kit_py.catalog.overview import Filters, catalog_sessions, usage_stats
from kit_py.catalog.paths import index_path
from kit_py.errors import UsageError
from kit_py.session import SessionManager, message, text_part


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "kit"))
    return tmp_path / "kit"


def chat(cwd: str, *turns: str, model: str = "gpt-4o", cost: float = 0.01, folder: Path | None = None):
    m = SessionManager.create(folder or sessions_dir_for(cwd), cwd)
    m.append({"type": "model_change", "provider": "openai", "model_id": model})
    for text in turns:
        m.append(message("user", [text_part(text)]))
        usage = {"input_tokens": 100, "output_tokens": 10, "cost_usd": cost}
        m.append(message("assistant", [text_part(f"about {text}")], model=model, usage=usage))
    return m


def test_refresh_reads_only_the_bytes_appended_since(home: Path):
    m = chat("/p", "first question")
    chat("/p", "another session")
    index = open_index(home)
    first = index.refresh()
    assert first.files_read == 2 and first.bytes_read == sum(
        p.stat().st_size for p in m.path.parent.iterdir()
    )
    assert index.refresh().bytes_read == 0  # nothing changed: no file is even opened
    assert m.path is not None
    size = m.path.stat().st_size
    m.append(message("user", [text_part("a later turn about quaternions")]))
    again = index.refresh()
    assert again.files_read == 1 and again.bytes_read == m.path.stat().st_size - size
    [hit] = search("quaternions", root=home)
    assert hit.session.session_id == m.session_id and hit.session.branch_messages == 3
    with m.path.open("ab") as f:  # a writer in the middle of a line: only whole lines are read
        f.write(b'{"type":"message","id":"ab')
    assert index.refresh().bytes_read == 0
    index.close()


def test_a_replaced_or_cut_file_is_read_again_and_a_removed_one_is_dropped(home: Path):
    m = chat("/p", "original words here")
    gone = chat("/p", "soon deleted")
    assert search("original", root=home) and search("deleted", root=home)
    assert m.path is not None and gone.path is not None
    replacement = chat("/q", "replacement words", folder=home / "elsewhere")
    assert replacement.path is not None
    os.replace(replacement.path, m.path)  # same path, another file (another inode)
    gone.path.unlink()
    assert search("original", root=home) == [] and search("deleted", root=home) == []
    index = open_index(home)  # nothing of a removed session stays in the index, not even its words
    assert index.conn.execute(
        "SELECT count(*) FROM fts WHERE fts MATCH 'deleted OR original'"
    ).fetchone() == (0,)
    index.close()
    assert [h.session.session_id for h in search("replacement", root=home)] == [replacement.session_id]


def test_a_file_rewritten_in_place_is_read_again(home: Path):
    m = chat("/p", "alpha beta")
    assert m.path is not None and search("alpha", root=home)
    data = m.path.read_bytes().replace(b"alpha", b"gamma")
    with m.path.open("r+b") as f:  # same inode, same size: only the bytes before the position differ
        f.write(data)
    os.utime(m.path, (time.time() + 5, time.time() + 5))
    assert search("alpha", root=home) == [] and len(search("gamma", root=home)) == 1


def test_a_damaged_index_is_rebuilt_and_an_unusable_index_folder_still_answers(home: Path, tmp_path: Path):
    chat("/p", "resilient search")
    assert search("resilient", root=home)
    index_path(home).write_bytes(b"this is not a database")
    for suffix in ("-wal", "-shm"):
        Path(f"{index_path(home)}{suffix}").unlink(missing_ok=True)
    assert len(search("resilient", root=home)) == 1
    blocked = tmp_path / "blocked"
    chat("/p", "read only home", folder=sessions_dir_for("/p", blocked))
    (blocked / "index").write_text("a file where the index folder should be")
    index = open_index(blocked)
    assert index.in_memory
    index.close()
    assert len(search("read only", root=blocked)) == 1


def test_search_ranks_sessions_highlights_matches_and_keeps_to_its_scope(home: Path, tmp_path: Path):
    once = chat("/p", "a note on garch models")
    often = chat("/p", "garch garch volatility", "more GARCH(1,1) estimation", "garch again")
    other = chat("/elsewhere", "garch in another project")
    chat("/p", "nothing relevant")
    hits = search("garch", root=home, cwd="/p")
    assert [h.session.session_id for h in hits] == [often.session_id, once.session_id]
    assert hits[0].hits == 6  # three questions and three answers mention it
    [snippet] = hits[1].snippets
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["garch"] and snippet.role in (
        "user",
        "assistant",
    )
    assert len(search("garch", root=home)) == 3  # every directory
    assert [h.session.session_id for h in search('"GARCH(1,1)"', root=home)] == [often.session_id]
    assert [h.session.session_id for h in search("volat*", root=home)] == [often.session_id]
    assert search("garch nothing-like-it", root=home) == []  # every word must match
    assert [s.session_id for s in search_sessions("another", [sessions_dir_for("/elsewhere")])] == [
        other.session_id
    ]
    channel = tmp_path / "channel"
    api = chat("/svc", "straße und café", folder=channel)
    assert [s.session_id for s in search_sessions("strasse", [channel])] == []
    assert [s.session_id for s in search_sessions("cafe", [channel])] == [api.session_id]  # accents folded
    with pytest.raises(UsageError, match="nothing to search for"):
        search('"" * --', root=home)


def test_list_counts_the_current_branch_and_filters(home: Path):
    m = chat("/p", "one", "two", model="gpt-4o")
    first_answer = m.entries[2]["id"]
    m.branch(first_answer)
    m.append(message("user", [text_part("a branch")]))
    m.move_leaf(m.entries[4]["id"])  # back to the end of the main branch, persisted
    named = chat("/p", "release work", model="claude-sonnet", cost=0.5)
    named.set_name("Release Planning")
    old = chat("/p", "ancient")
    assert old.path is not None
    os.utime(old.path, (time.time() - 30 * 86400, time.time() - 30 * 86400))
    rows = {s.session_id: s for s in catalog_sessions(home, "/p")}
    session = rows[m.session_id]
    assert session.branch_messages == 4 and session.message_count == 5 and session.facts.models == ["gpt-4o"]
    assert session.tokens == 220 and session.facts.cost == pytest.approx(0.02)
    assert rows[named.session_id].name == "Release Planning"

    def ids(**filters) -> set[str]:
        return {s.session_id for s in catalog_sessions(home, "/p", Filters(**filters))}

    assert ids(name="release") == {named.session_id}
    assert ids(name="ANCIENT") == {old.session_id}  # the first message counts as well
    assert ids(model="claude") == {named.session_id}
    assert ids(since=time.time() - 86400) == {m.session_id, named.session_id}
    assert catalog_sessions(home, "/nowhere") == []
    prompted = SessionManager.create(sessions_dir_for("/r"), "/r")
    prompted.append(message("system", [text_part("be brief")]))  # a system prompt is not counted
    prompted.append(message("user", [text_part("hi")]))
    [only] = catalog_sessions(home, "/r")
    assert only.branch_messages == only.message_count == 1 and only.preview == "hi"


def test_stats_total_usage_by_model_and_day(home: Path):
    chat("/p", "a", "b", model="gpt-4o", cost=0.25)
    chat("/q", "c", model="claude-sonnet", cost=1.0)
    stats = usage_stats(home)
    assert stats.total.sessions == 2 and stats.total.messages == 6 and stats.total.answers == 3
    assert stats.total.cost_usd == pytest.approx(1.5) and stats.total.tokens == 330
    assert {m: (t.sessions, t.answers) for m, t in stats.by_model.items()} == {
        "gpt-4o": (1, 2),
        "claude-sonnet": (1, 1),
    }
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert list(stats.by_day) == [today] and stats.by_day[today].messages == 6
    assert usage_stats(home, since=time.time() + 2 * 86400).total.sessions == 0
