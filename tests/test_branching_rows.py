"""What `/tree` and the session picker list, in process (the full-screen faces only draw these rows):
the drawing of a tree, its filters, search and folding; the picker's order, forks under their parent,
named-only, fuzzy and content search, from a real catalog index."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit_py.repl.session_rows import Listed, age, session_rows, word_match
from kit_py.repl.session_source import SessionSource, typed_query
from kit_py.repl.tree_rows import TreeModel, branch_point_above, when
from kit_py.session import SessionManager
from kit_py.session import format as fmt


def say(session: SessionManager, role: str, text: str, **extra: Any) -> dict[str, Any]:
    return session.append(fmt.message(role, [fmt.text_part(text)], **extra))


def branched() -> tuple[SessionManager, dict[str, str]]:
    """model change; first/one; (b) second b/two b with a tool step; (a) second/two; leaf on b."""
    m = SessionManager.create(None, "/p")
    m.append(fmt.model_change("openai", "gpt"))
    ids = {"first": say(m, "user", "first question")["id"], "one": say(m, "assistant", "answer one")["id"]}
    ids["second"] = say(m, "user", "second")["id"]
    ids["two"] = say(m, "assistant", "answer two")["id"]
    m.move_leaf(ids["one"])
    ids["second b"] = say(m, "user", "second b")["id"]
    call = fmt.tool_call_part("c1", "read", '{"path": "notes.md"}')
    ids["call"] = m.append(fmt.message("assistant", [call]))["id"]
    ids["result"] = m.append(fmt.message("tool", [fmt.tool_result_part("c1", "read", "text")]))["id"]
    ids["two b"] = say(m, "assistant", "answer two b")["id"]
    m.set_label(ids["first"], "start")
    return m, ids


def drawn(model: TreeModel, *args: Any) -> list[str]:
    return [
        f"{r.prefix}{'@' if r.here else '*' if r.on_path else ' '}{r.text}"
        + (f" +{r.folded}" if r.folded else "")
        for r in model.rows(*args)
    ]


def test_the_tree_indents_only_at_branch_points_with_the_current_branch_first():
    session, _ids = branched()
    assert drawn(TreeModel(session.tree, session.leaf_id)) == [
        "*user: first question",
        "*assistant: answer one",
        "├─ *user: second b",
        "│  *tool: read notes.md",
        "│  @assistant: answer two b",
        "└─  user: second",
        "    assistant: answer two",
    ]
    labelled = TreeModel(session.tree, session.leaf_id).rows()[0]
    assert labelled.label == "start" and labelled.timestamp


def test_filters_keep_a_tree_of_what_they_show():
    session, ids = branched()
    model = TreeModel(session.tree, session.leaf_id)
    assert drawn(model, "no-tools")[2:4] == ["├─ *user: second b", "│  @assistant: answer two b"]
    assert drawn(model, "user") == ["*user: first question", "├─ @user: second b", "└─  user: second"]
    assert drawn(model, "labelled") == ["@user: first question"]
    everything = drawn(model, "all")
    assert everything[0] == "*[model: openai/gpt]" and "│  *assistant: (calls read)" in everything
    assert any("[label: start]" in line for line in everything)
    assert any("[moved here]" in line for line in everything), "bookkeeping shows under 'all' only"
    assert not any("[moved here]" in line or "model:" in line for line in drawn(model))


def test_search_and_folding():
    session, ids = branched()
    model = TreeModel(session.tree, session.leaf_id)
    assert drawn(model, "default", set(), "SECOND") == ["├─ *user: second b", "└─  user: second"]
    assert drawn(model, "default", set(), "start") == ["*user: first question"], "labels are searched"
    assert drawn(model, "default", set(), "second two") == []
    folded = drawn(model, "default", {ids["one"]})
    assert folded == ["*user: first question", "*assistant: answer one +5"]
    assert len(drawn(model, "default", {ids["one"]}, "answer")) == 3, "a search looks inside folds"
    rows = model.rows()
    assert rows[1].foldable and not rows[-1].foldable
    assert branch_point_above(rows, 4) == 1 and branch_point_above(rows, 1) == 1


def test_undo_and_retry_leave_the_old_branch_visible_and_a_failed_answer_marked():
    m = SessionManager.create(None, "/p")
    say(m, "user", "ask")
    failed = say(m, "assistant", "", stop_reason="error", error="server said no")
    m.move_leaf(m.entries[0]["id"])
    say(m, "assistant", "fine")
    lines = drawn(TreeModel(m.tree, m.leaf_id))
    assert lines == ["*user: ask", "├─ @assistant: fine", "└─  assistant: (failed) server said no"]
    on_failed = TreeModel(m.tree, failed["id"]).rows()
    assert [r.text for r in on_failed if r.here] == ["assistant: (failed) server said no"]
    assert on_failed[1].here, "the branch of the current position comes first"


def test_times_read_short_and_local():
    now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert when("2026-03-04T14:02:00Z", now) == "14:02"
    assert when("2026-01-02T03:04:05Z", now) == "Jan 02 03:04"
    assert when("2024-01-02T03:04:05Z", now) == "2024-01-02"
    assert when("not a time", now) == ""


def listed(name: str | None, preview: str, modified: float, sid: str, parent: str | None = None) -> Listed:
    return Listed(f"/s/{sid}.jsonl", sid, name, preview, 4, "/p", modified, parent)


def test_picker_rows_newest_first_with_forks_under_their_parent():
    old = listed(None, "refactor the parser", 100, "a")
    new = listed("release", "cut the release", 300, "b")
    fork = listed(None, "refactor the parser again", 400, "c", parent="a")
    orphan = listed(None, "forked from a removed session", 50, "d", parent="gone")
    rows = session_rows([old, new, fork, orphan])
    assert [(r.session.session_id, r.depth) for r in rows] == [("b", 0), ("a", 0), ("c", 1), ("d", 0)]
    assert [r.title for r in rows][:2] == ["release", "refactor the parser"] and rows[0].named
    assert [r.session.session_id for r in session_rows([old, new, fork], named_only=True)] == ["b"]


def test_picker_search_is_fuzzy_over_name_and_first_message_and_exact_over_content():
    old = listed(None, "refactor the parser", 100, "a")
    new = listed("release notes", "cut it", 300, "b")
    assert [r.session.session_id for r in session_rows([old, new], query="rfctr")] == ["a"]
    assert [r.session.session_id for r in session_rows([old, new], query="REL not")] == ["b"]
    assert session_rows([old, new], query="zebra") == []
    found = session_rows([old, new], query="zebra", content={"/s/a.jsonl"})
    assert [r.session.session_id for r in found] == ["a"], "a message of the session matched"
    assert word_match("prs", "the parser") and not word_match("pzr", "the parser")
    assert typed_query("quater") == '"quater"*' and typed_query("two words ") == '"two" "words"'
    assert typed_query("  ") is None and typed_query("!!") is None
    assert age(1000, now=1000 + 90) == "1m" and age(0, now=3 * 86400) == "3d" and age(5, now=5) == "now"


def write_session(
    home: Path, cwd: str, first: str, *, name: str | None = None, parent: str | None = None
) -> Path:
    from kit_py.catalog import sessions_dir_for

    m = SessionManager.create(sessions_dir_for(cwd, home), cwd, parent_session_id=parent)
    say(m, "user", first)
    say(m, "assistant", f"about {first}")
    if name:
        m.set_name(name)
    m.close()
    assert m.path is not None
    return m.path


def test_the_source_lists_this_directory_or_all_and_searches_content(tmp_path):
    home = tmp_path / "kit"
    here, other = str(tmp_path / "here"), str(tmp_path / "elsewhere")
    a = write_session(home, here, "quaternions for rotation")
    time.sleep(0.01)
    b = write_session(home, here, "gimbal lock", name="graphics")
    c = write_session(home, other, "unrelated words")
    os.utime(a, (1, 1))
    source = SessionSource(here, home)
    try:
        mine = source.sessions(False).result()
        assert {s.file for s in mine} == {str(a), str(b)}
        named = next(s for s in mine if s.file == str(b))
        assert named.name == "graphics" and named.preview == "gimbal lock" and named.message_count == 2
        everywhere = source.sessions(True).result()
        assert {s.file for s in everywhere} == {str(a), str(b), str(c)}
        assert source.content("about quater").result() == {str(a)}, "the last word is a prefix"
        assert source.content("unrelated").result() == {str(c)}
        assert source.content('"unbalanced').result() == set()
    finally:
        source.close()
