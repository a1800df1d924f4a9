"""Branching as `Conversation` operations (the REPL's /tree, /fork, /clone and the API share them), in
process against the scripted provider: where the leaf goes, what the file holds after a reopen, what
the next request sends, and forks that keep the context of the session they came from."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit_py.catalog.verify import verify_file
from kit_py.compaction.branch import PREAMBLE, BranchSummaryCancelled, abandoned_entries
from kit_py.config import Settings
from kit_py.engine.branching import copy_branch
from kit_py.engine.conversation import Conversation
from kit_py.errors import KitError
from kit_py.session import SessionManager, message_text
from kit_py.session import format as fmt


def conversation_in(folder: Path, provider: Any) -> Conversation:
    settings = Settings(model="openai/scripted", api_base=provider.base_url, system_prompt="Be brief.")
    settings.max_retries = 0
    return Conversation.create(settings, str(folder), home=folder / "home", failure_policy="discard")


def two_branches(conv: Conversation, provider: Any) -> dict[str, dict[str, Any]]:
    """first/one, then second/two, then (after /undo) second b/two b: the leaf is on the b branch."""
    for prompt, answer in (("first", "one"), ("second", "two")):
        provider.reply(answer)
        conv.run(prompt)
    conv.undo()
    provider.reply("two b")
    conv.run("second b")
    return {message_text(e): e for e in conv.session.entries if e.get("type") == "message"}


def sent(provider: Any) -> list[str]:
    return [m["content"] for m in provider.last_messages()]


def test_moving_to_an_answer_continues_there_in_place_and_survives_a_reopen(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    by_text = two_branches(conv, provider)
    assert conv.leaving(by_text["two"]["id"]) == [by_text["second b"], by_text["two b"]]

    moved = conv.navigate(by_text["two"]["id"])
    assert moved.moved and moved.edit_text is None and moved.summary is None
    assert conv.path is not None
    reopened = SessionManager.open(conv.path)
    assert reopened.leaf_id == by_text["two"]["id"], "the position is written (a kit:leaf marker)"
    assert fmt.is_leaf_marker(reopened.entries[-1])
    assert len(list(conv.path.parent.iterdir())) == 1, "branching happens in the same file"

    provider.reply("three")
    conv.run("third")
    assert sent(provider) == ["Be brief.", "first", "one", "second", "two", "third"]
    assert conv.navigate(conv.session.leaf_id or "").moved is False  # already there: nothing written


def test_moving_to_a_user_message_steps_before_it_and_gives_its_text_back(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    by_text = two_branches(conv, provider)
    moved = conv.navigate(by_text["second"]["id"])
    assert moved.edit_text == "second" and moved.leaf == by_text["one"]["id"]
    provider.reply("two c")
    conv.run("second, edited")
    assert sent(provider) == ["Be brief.", "first", "one", "second, edited"]
    assert conv.path is not None
    users = [message_text(e) for e in SessionManager.open(conv.path).entries if e.get("role") == "user"]
    assert users == ["first", "second", "second b", "second, edited"], "every branch stays in the file"


def test_a_branch_summary_of_the_part_left_enters_the_next_context(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    by_text = two_branches(conv, provider)
    provider.reply("they tried b")
    moved = conv.navigate(by_text["two"]["id"], summarize=True)
    asked = provider.last_messages()
    assert "[User]: second b" in asked[1]["content"] and "[Assistant]: two b" in asked[1]["content"]
    assert "[User]: first" not in asked[1]["content"], "only the part left behind is summarized"

    assert moved.summary is not None and moved.summary["from_id"] == by_text["two b"]["id"]
    assert moved.summary["parent_id"] == by_text["two"]["id"]
    assert moved.summary["summary"] == PREAMBLE + "they tried b"
    provider.reply("three")
    conv.run("go on")
    assert sent(provider)[-2:] == [f"[Branch context: {PREAMBLE}they tried b]", "go on"]
    assert sent(provider)[:5] == ["Be brief.", "first", "one", "second", "two"]

    assert conv.path is not None
    report = verify_file(conv.path)
    assert report.ok, report.problems  # parses, links hold, Go kit can read it, the chain is intact
    reopened = SessionManager.open(conv.path)
    assert [message_text(m) for m in reopened.build_context().messages][-3:] == [
        f"[Branch context: {PREAMBLE}they tried b]",
        "go on",
        "three",
    ]


def test_summary_instructions_are_the_users_own_and_a_failed_summary_moves_nothing(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    by_text = two_branches(conv, provider)
    before = (conv.session.leaf_id, len(conv.session.entries))
    provider.error(500)
    with pytest.raises(KitError):
        conv.navigate(by_text["first"]["id"], summarize=True)
    assert provider.pending == 0
    assert (conv.session.leaf_id, len(conv.session.entries)) == before, "nothing written, nothing moved"

    provider.reply("files: none")
    moved = conv.navigate(by_text["first"]["id"], instructions="only list the files it changed")
    request = provider.last_messages()[1]["content"]
    assert request.endswith("only list the files it changed") and "## Goal" not in request
    assert moved.edit_text == "first" and moved.summary is not None
    assert moved.summary["parent_id"] == by_text["first"]["parent_id"]


def test_abandoned_part_stops_at_the_common_ancestor_and_at_a_compaction(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    by_text = two_branches(conv, provider)
    tree = conv.session.tree

    def texts(entries: list[dict[str, Any]]) -> list[str]:
        return [message_text(e) for e in entries if e.get("type") == "message"]

    left = abandoned_entries(tree, by_text["two b"]["id"], by_text["two"]["id"])
    assert texts(left) == ["second b", "two b"]
    assert abandoned_entries(tree, by_text["one"]["id"], by_text["two b"]["id"]) == [], (
        "going on leaves nothing"
    )
    comp = conv.session.append(fmt.compaction("sum", by_text["two b"]["id"], 10, 5, 2, [], []))
    provider.reply("after")
    conv.run("after compaction")
    left = abandoned_entries(tree, conv.session.leaf_id, by_text["one"]["id"])
    assert comp not in left and texts(left) == ["after compaction", "after"]


def test_fork_to_edit_starts_a_linked_session_before_the_message(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    by_text = two_branches(conv, provider)
    forked, text = conv.fork_to_edit(by_text["second b"]["id"])
    assert text == "second b" and conv.path is not None
    assert forked.path is not None and forked.path.parent == conv.path.parent and forked.path != conv.path
    header = json.loads(forked.path.read_text().splitlines()[0])
    assert header["parent_session"] == str(conv.path) and header["parent_session_id"] == conv.id
    assert [message_text(m) for m in forked.messages()] == ["Be brief.", "first", "one"]
    assert verify_file(forked.path).ok
    provider.reply("two d")
    forked.run("second d")
    assert sent(provider) == ["Be brief.", "first", "one", "second d"]
    assert conv.session.leaf_id == by_text["two b"]["id"], "the original is untouched"

    root_message = SessionManager.create(None, "/x")
    root_message.append(fmt.message("user", [fmt.text_part("only one")]))
    alone = Conversation(root_message, conv.settings)
    empty, typed = alone.fork_to_edit(root_message.entries[0]["id"])
    assert typed == "only one" and empty.session.entries == [], "a first message forks into an empty session"
    assert empty.session.header.get("parent_session_id") == root_message.session_id


def go_kit_file(path: Path) -> dict[str, str]:
    """A Go kit session: two turns, a ROOT compaction keeping the second turn, a third turn."""
    ids = {name: f"{i:016x}" for i, name in enumerate(["ua", "aa", "ub", "ab", "comp", "uc", "ac"], 1)}
    stamp = "2026-01-02T03:04:05Z"

    def msg(name: str, role: str, text: str, parent: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "message", "id": ids[name], "timestamp": stamp, "role": role}
        if parent:
            entry["parent_id"] = ids[parent]
        entry["parts"] = [{"type": "text", "data": {"text": text}}]
        return entry

    lines = [
        {"type": "session", "version": 3, "id": "a" * 32, "timestamp": stamp, "cwd": str(path.parent)},
        msg("ua", "user", "turn one", None),
        msg("aa", "assistant", "answer one", "ua"),
        msg("ub", "user", "turn two", "aa"),
        msg("ab", "assistant", "answer two", "ub"),
        {
            "type": "compaction",
            "id": ids["comp"],
            "timestamp": stamp,
            "summary": "SUMMARY of turn one",
            "first_kept_entry_id": ids["ub"],
            "tokens_before": 100,
        },
        msg("uc", "user", "turn three", "comp"),
        msg("ac", "assistant", "answer three", "uc"),
    ]
    path.write_bytes(b"".join(fmt.dumps(line) + b"\n" for line in lines))
    return ids


def test_a_fork_across_a_go_kit_root_compaction_keeps_the_kept_messages(tmp_path, provider):
    source = tmp_path / "gokit.jsonl"
    ids = go_kit_file(source)
    settings = Settings(model="openai/scripted", api_base=provider.base_url, system_prompt="")
    conv = Conversation.open(source, settings)
    expected = [message_text(m) for m in conv.session.build_context().messages]
    assert expected[1:] == ["turn two", "answer two", "turn three", "answer three"]

    for forked in (conv.clone(), conv.fork_to_edit(ids["uc"])[0]):
        assert forked.path is not None
        copied = [json.loads(line) for line in forked.path.read_text().splitlines()[1:]]
        assert [e["id"] for e in copied][:3] == [ids["ub"], ids["ab"], ids["comp"]]
        assert copied[2]["parent_id"] == ids["ab"], "the compaction hangs under the messages it keeps"
        context = [message_text(m) for m in SessionManager.open(forked.path).build_context().messages]
        assert context == expected[: len(context)] and len(context) in (3, 5)
        assert verify_file(forked.path).ok
    provider.reply("four")
    forked = conv.clone()
    forked.run("turn four")
    assert sent(provider)[1:] == ["turn two", "answer two", "turn three", "answer three", "turn four"]
    assert "SUMMARY of turn one" in sent(provider)[0]


messages_or_moves = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["user", "assistant"]), st.integers(0, 9)),
        st.tuples(st.just("move"), st.integers(0, 10_000)),
        st.tuples(st.just("go_kit_compaction"), st.integers(0, 10_000)),
        st.tuples(st.just("compaction"), st.integers(0, 10_000)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(messages_or_moves)
def test_any_copied_branch_has_the_context_of_the_original(operations):
    """Whatever the tree (moves, kit_py and Go kit compactions), a branch copied out of it sends the
    model what the original sends at that point."""
    source = SessionManager.create(None, "/p")
    for op, n in operations:
        path = source.path_entries()
        if op in ("user", "assistant"):
            source.append(fmt.message(op, [fmt.text_part(f"{op} {n}")]))
        elif op == "move" and source.entries:
            source.branch(source.entries[n % len(source.entries)]["id"])
        elif path:
            first_kept = path[n % len(path)]["id"]
            if op == "go_kit_compaction":  # Go kit appends it as a root, after the leaf it summarized
                source.tree.leaf_id = None
            source.append(fmt.compaction(f"summary {n}", first_kept, 10, 5, 1, [], []))
    for entry in source.entries:
        if entry.get("type") != "message":
            continue
        copy = SessionManager.create(None, "/p")
        copy_branch(source, entry["id"], copy)
        expected = [message_text(m) for m in source.build_context(entry["id"]).messages]
        assert [message_text(m) for m in copy.build_context().messages] == expected


def test_ctrl_c_while_the_summary_is_written_moves_nothing(tmp_path, provider):
    conv = conversation_in(tmp_path, provider)
    by_text = two_branches(conv, provider)
    assert conv.path is not None
    before, leaf = conv.path.read_bytes(), conv.session.leaf_id
    provider.hang(10)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(BranchSummaryCancelled) as cancelled:
            conv.navigate(by_text["two"]["id"], summarize=True)
    finally:
        timer.cancel()
    assert cancelled.value.message == "summary cancelled; you stayed where you were"
    assert conv.path.read_bytes() == before and conv.session.leaf_id == leaf
