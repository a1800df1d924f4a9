"""The compaction engine in-process against the scripted provider: exact summary requests, the entry
written, the context that follows, cancellation and overflow recovery inside a turn."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kit_py import catalog, llm
from kit_py.compaction import runner as compactor
from kit_py.compaction.prompts import SUMMARY_SYSTEM_PROMPT, build_summary_request, build_turn_prefix_request
from kit_py.config import Settings
from kit_py.engine import events as ev
from kit_py.engine.conversation import Conversation, user_message
from kit_py.engine.turn import TurnFailed
from kit_py.errors import AgentError, ContextOverflowError
from kit_py.session import SessionManager, message_text
from kit_py.session import format as fmt
from kit_py.session.context import SUMMARY_PREFIX

FIXTURE = Path(__file__).parent / "fixtures" / "gokit" / "2026-03-03T08-00-00-000Z_c0ffee000001.jsonl"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


class Builder:
    """Appends realistic entries to a session, the way a finished turn stores them."""

    def __init__(self, session: SessionManager) -> None:
        self.session = session
        self._calls = 0

    def user(self, text: str, *extra_parts: dict) -> dict:
        return self.session.append(fmt.message("user", [fmt.text_part(text), *extra_parts]))

    def assistant(self, text: str, **extra: Any) -> dict:
        return self.session.append(
            fmt.message(
                "assistant",
                [fmt.text_part(text)],
                model="scripted",
                provider="openai",
                stop_reason="stop",
                **extra,
            )
        )

    def step(self, name: str, args: dict, output: str, is_error: bool = False) -> list[dict]:
        """An assistant tool call and the tool message holding its result, written together."""
        self._calls += 1
        cid = f"call_{self._calls}"
        return self.session.append_many(
            [
                fmt.message(
                    "assistant",
                    [fmt.tool_call_part(cid, name, json.dumps(args))],
                    model="scripted",
                    provider="openai",
                    stop_reason="tool_use",
                ),
                fmt.message("tool", [fmt.tool_result_part(cid, name, output, is_error)]),
            ]
        )


def new_session(workdir: Path) -> tuple[SessionManager, Builder]:
    """A session file where `kit -c` run in `workdir` finds it, with the model already recorded."""
    folder = catalog.sessions_dir_for(str(workdir), root=catalog.kit_home())
    session = SessionManager.create(folder, str(workdir))
    session.append(fmt.model_change("openai", "scripted", "off"))
    return session, Builder(session)


def settings_for(provider: Any, **extra: Any) -> Settings:
    return Settings(model="openai/scripted", api_base=provider.base_url, **extra)


def summary_calls(provider: Any) -> list[dict]:
    """Bodies of the non-streaming requests: the summarizer's."""
    return [r["body"] for r in provider.chat_requests if not r["body"].get("stream")]


def texts(session: SessionManager) -> list[str]:
    return [message_text(m) for m in session.build_context().messages]


def summary_text(summary: str) -> str:
    return f"{SUMMARY_PREFIX}<summary>\n{summary}\n</summary>"


def test_plain_compaction_sends_the_transcript_with_focus_and_appends_one_entry(kit_env, workdir, provider):
    session, b = new_session(workdir)
    b.user("Set up the parser project")
    b.assistant("Created parser.py with a tokenizer.")
    b.user("Add error handling")
    b.assistant("Added ParseError.")
    u3 = b.user("Now write tests")
    a3 = b.assistant("Wrote tests/test_parser.py.")
    assert session.path is not None
    before = session.path.read_bytes()
    provider.reply("## Goal\nA parser with tests.")
    progress: list[str] = []

    outcome = compactor.compact_session(
        session, settings_for(provider), focus="the error handling", on_progress=progress.append
    )

    assert outcome is not None
    [body] = summary_calls(provider)
    transcript = (
        "[User]: Set up the parser project\n\n[Assistant]: Created parser.py with a tokenizer.\n\n"
        "[User]: Add error handling\n\n[Assistant]: Added ParseError."
    )
    assert body["messages"] == build_summary_request(transcript, None, "the error handling")
    assert body["messages"][0] == {"role": "system", "content": SUMMARY_SYSTEM_PROMPT}
    content = body["messages"][1]["content"]
    assert content.startswith(f"<conversation>\n{transcript}\n</conversation>\n\nThe text in <conversation>")
    assert content.endswith("Focus especially on: the error handling") and "<previous-summary>" not in content
    assert body["model"] == "scripted" and body["max_tokens"] == 13107  # 0.8 x reserve of an unknown model
    assert progress == ["summarizing 4 messages"]

    assert outcome.summary == "## Goal\nA parser with tests."
    assert outcome.messages_removed == 4 and outcome.tokens_after < outcome.tokens_before
    assert outcome.describe() == (
        f"compacted: 4 messages -> summary, {outcome.tokens_before} -> {outcome.tokens_after} tokens"
    )
    after = session.path.read_bytes()
    assert after.startswith(before) and after[len(before) :].count(b"\n") == 1
    stored = json.loads(after[len(before) :])
    assert stored == outcome.entry
    assert {k: stored[k] for k in ("type", "parent_id", "first_kept_entry_id", "messages_removed")} == {
        "type": "compaction",
        "parent_id": a3["id"],
        "first_kept_entry_id": u3["id"],
        "messages_removed": 4,
    }
    assert stored["read_files"] == [] and stored["modified_files"] == []
    assert stored["tokens_before"] == outcome.tokens_before and stored["tokens_after"] == outcome.tokens_after
    reopened = SessionManager.open(session.path)
    assert texts(reopened) == [
        summary_text("## Goal\nA parser with tests."),
        "Now write tests",
        "Wrote tests/test_parser.py.",
    ]
    assert len(reopened.entries) == 8  # the whole history stays in the file


def build_tool_session(workdir: Path) -> tuple[SessionManager, Builder, dict[str, dict]]:
    """Three turns with read/edit/grep tool steps (file tracking), then the first compaction is made."""
    session, b = new_session(workdir)
    b.user("Read the config")
    b.step("read", {"path": "config.yml"}, "debug: true")
    b.assistant("Config has debug on.")
    b.user("Turn debug off")
    b.step("edit", {"path": "config.yml", "old": "true", "new": "false"}, "edited config.yml")
    b.assistant("Done.")
    u3 = b.user("Check the logs")
    b.step("grep", {"pattern": "ERROR", "path": "logs"}, "(no matches)")
    b.assistant("No errors.")
    return session, b, {"u3": u3}


def test_second_compaction_updates_the_first_summary_and_accumulates_files(kit_env, workdir, provider):
    session, b, ids = build_tool_session(workdir)
    provider.reply("SUMMARY ONE")
    settings = settings_for(provider)
    first = compactor.compact_session(session, settings)
    assert first is not None
    assert first.summary == "SUMMARY ONE\n\n<modified-files>\nconfig.yml\n</modified-files>"
    assert first.entry["read_files"] == [] and first.entry["modified_files"] == ["config.yml"]
    assert first.entry["first_kept_entry_id"] == ids["u3"]["id"] and first.messages_removed == 8
    u4 = b.user("Summarize the state")
    a4 = b.assistant("All good.")
    provider.reply("SUMMARY TWO")

    second = compactor.compact_session(session, settings)

    assert second is not None
    body = summary_calls(provider)[1]
    transcript = (
        "[User]: Check the logs\n\n"
        '[Assistant tool call]: grep(pattern="ERROR", path="logs")\n\n'
        "[Tool result grep]: (no matches)\n\n"
        "[Assistant]: No errors."
    )
    assert body["messages"] == build_summary_request(transcript, "SUMMARY ONE", None)
    content = body["messages"][1]["content"]
    # the file lists are re-derived, not re-summarized
    previous = "<previous-summary>\nSUMMARY ONE\n</previous-summary>"
    assert f"<conversation>\n{transcript}\n</conversation>\n\n{previous}" in content
    assert "Update that summary" in content and "Focus especially" not in content
    assert second.summary == (
        "SUMMARY TWO\n\n<read-files>\nlogs\n</read-files>\n\n<modified-files>\nconfig.yml\n</modified-files>"
    )
    assert second.entry["parent_id"] == a4["id"] and second.entry["first_kept_entry_id"] == u4["id"]
    assert second.messages_removed == 4
    assert texts(session) == [summary_text(second.summary), "Summarize the state", "All good."]
    assert sum(e["type"] == "compaction" for e in SessionManager.open(session.path).entries) == 2


def test_split_turn_summarizes_history_and_the_turn_prefix_separately(kit_env, workdir, provider):
    session, b = new_session(workdir)
    b.user("hello")
    b.assistant("hi")
    b.user("Refactor both modules")
    b.step("read", {"path": "a.py"}, "A" * 9000)
    b.step("read", {"path": "b.py"}, "B" * 9000)
    last = b.assistant("Refactored both.")
    provider.reply("HISTORY SUMMARY")
    provider.reply("PREFIX SUMMARY")
    progress: list[str] = []

    outcome = compactor.compact_session(
        session, settings_for(provider, context_window=8000), force=False, on_progress=progress.append
    )

    assert outcome is not None
    history, prefix = summary_calls(provider)
    assert history["messages"] == build_summary_request("[User]: hello\n\n[Assistant]: hi", None, None)
    prefix_transcript = (
        "[User]: Refactor both modules\n\n"
        '[Assistant tool call]: read(path="a.py")\n\n'
        f"[Tool result read]: {'A' * 2000}\n[... 7000 more characters truncated]\n\n"
        '[Assistant tool call]: read(path="b.py")\n\n'
        f"[Tool result read]: {'B' * 2000}\n[... 7000 more characters truncated]"
    )
    assert prefix["messages"] == build_turn_prefix_request(prefix_transcript, None)
    assert "## Original Request" in prefix["messages"][1]["content"]
    assert history["max_tokens"] == prefix["max_tokens"] == 3200  # 0.8 x reserve of an 8000 window
    assert progress == ["summarizing 2 messages", "summarizing the start of a long turn (5 messages)"]
    assert outcome.summary == (
        "HISTORY SUMMARY\n\n---\n\n**Turn context (the kept turn began earlier):**\n\nPREFIX SUMMARY"
        "\n\n<read-files>\na.py\nb.py\n</read-files>"
    )
    assert outcome.entry["first_kept_entry_id"] == last["id"] and outcome.messages_removed == 7
    assert texts(session) == [summary_text(outcome.summary), "Refactored both."]


def build_cut_by_tools(workdir: Path) -> tuple[SessionManager, dict[str, dict]]:
    """The budget's cut falls on a tool result; the whole turn holding the call is kept instead."""
    session, b = new_session(workdir)
    b.user("find TODOs")
    b.step("grep", {"pattern": "TODO", "path": "src"}, "src/a.py:3: TODO fix")
    b.assistant("One TODO.")
    u2 = b.user("list the files")
    call, result = b.step("ls", {"path": "."}, "f" * 6000)
    b.assistant("Many files.")
    b.user("q3 " + "x" * 1200)
    b.assistant("a3 " + "y" * 1200)
    return session, {"u2": u2, "call": call, "result": result}


def test_cut_next_to_tool_calls_keeps_call_and_result_together(kit_env, workdir, provider):
    session, ids = build_cut_by_tools(workdir)
    provider.reply("TODO SUMMARY")

    outcome = compactor.compact_session(session, settings_for(provider, context_window=8000), force=False)

    assert outcome is not None
    [body] = summary_calls(provider)
    transcript = (
        "[User]: find TODOs\n\n"
        '[Assistant tool call]: grep(pattern="TODO", path="src")\n\n'
        "[Tool result grep]: src/a.py:3: TODO fix\n\n"
        "[Assistant]: One TODO."
    )
    assert body["messages"] == build_summary_request(transcript, None, None)
    assert outcome.entry["first_kept_entry_id"] == ids["u2"]["id"]
    assert outcome.entry["read_files"] == ["src"]
    ctx = session.build_context()
    assert ctx.entry_ids[1:4] == [ids["u2"]["id"], ids["call"]["id"], ids["result"]["id"]]
    sent = llm.to_llm_messages(ctx.messages)
    assert sent[2]["tool_calls"][0]["id"] == sent[3]["tool_call_id"] == "call_2"


def test_nothing_to_compact_writes_nothing(kit_env, workdir, provider):
    session, b = new_session(workdir)
    b.user("only one message")
    assert session.path is not None
    before = session.path.read_bytes()
    assert compactor.compact_session(session, settings_for(provider)) is None
    b.assistant("and its answer")
    before = session.path.read_bytes()
    assert compactor.compact_session(session, settings_for(provider), force=False) is None  # fits
    assert session.path.read_bytes() == before and provider.chat_requests == []


def test_ctrl_c_or_a_failed_summary_leaves_the_session_unchanged(kit_env, workdir, provider, monkeypatch):
    session, b = new_session(workdir)
    b.user("hello")
    b.assistant("hi")
    b.user("Refactor both modules")
    b.step("read", {"path": "a.py"}, "A" * 9000)
    b.step("read", {"path": "b.py"}, "B" * 9000)
    b.assistant("Refactored both.")
    assert session.path is not None
    before, leaf, count = session.path.read_bytes(), session.leaf_id, len(session.entries)
    real = llm.complete_text
    calls = []

    def interrupted_second_call(request: llm.LLMRequest) -> tuple[str, llm.Usage]:
        calls.append(request)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(request)

    monkeypatch.setattr(llm, "complete_text", interrupted_second_call)
    provider.reply("HISTORY SUMMARY")
    settings = settings_for(provider, context_window=8000)
    with pytest.raises(compactor.CompactionCancelled) as cancelled:
        compactor.compact_session(session, settings)
    assert isinstance(cancelled.value, KeyboardInterrupt)
    assert cancelled.value.message == "compaction cancelled; nothing was compacted"
    assert session.path.read_bytes() == before
    assert (session.leaf_id, len(session.entries)) == (leaf, count)

    monkeypatch.setattr(llm, "complete_text", real)
    provider.reply("   ")
    provider.reply("")
    with pytest.raises(AgentError, match="empty summary"):
        compactor.compact_session(session, settings, force=True)
    provider.error(500)
    with pytest.raises(AgentError):
        compactor.compact_session(session, settings, force=True)
    assert session.path.read_bytes() == before


def test_usage_reported_before_the_compaction_does_not_retrigger_it(kit_env, workdir, provider):
    session, b = new_session(workdir)
    for i in range(4):
        b.user(f"q{i} " + "u" * 2400)
        b.assistant(f"a{i} " + "a" * 2400, usage={"input_tokens": 1000 * (i + 2), "output_tokens": 600})
    settings = settings_for(provider, context_window=8000)  # threshold 4000, keep_recent 2000
    pending = [user_message("next")]
    assert compactor.over_threshold(session, settings, pending)  # reported 5000 + 600 tokens
    provider.reply("S")
    outcome = compactor.compact_session(session, settings, force=False)
    assert outcome is not None and outcome.messages_removed == 4
    assert outcome.tokens_before == 5000 + 600  # the provider's own count of the last request
    assert compactor.context_tokens(session, pending) == outcome.tokens_after + 1
    assert not compactor.over_threshold(session, settings, pending)  # the kept answers' usage is stale


def test_overflow_compacts_and_retries_once_without_images(kit_env, workdir, provider):
    session, b = new_session(workdir)
    b.user("first question")
    b.assistant("first answer")
    u2 = b.user("second question")
    b.assistant("second answer")
    provider.context_overflow()
    provider.reply("SUMMARY")
    provider.reply("It is a one-pixel image.")
    events: list[ev.Event] = []

    image = {"data": PNG, "media_type": "image/png"}
    conversation = Conversation(session, settings_for(provider), on_event=events.append)
    result = conversation.run(user_message("describe this", [image]))

    assert result.text == "It is a one-pixel image."
    overflowed, summary, retry = provider.chat_requests
    assert overflowed["body"]["stream"] and retry["body"]["stream"] and not summary["body"].get("stream")
    assert overflowed["body"]["messages"][-1]["content"][1]["type"] == "image_url"
    assert summary["body"]["messages"] == build_summary_request(
        "[User]: first question\n\n[Assistant]: first answer", None, None
    )
    assert retry["body"]["messages"] == [
        {"role": "user", "content": summary_text("SUMMARY")},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "second answer"},
        {"role": "user", "content": "describe this"},
    ]
    kinds = ev.CompactionStarted | ev.CompactionProgress | ev.CompactionDone
    comp = [e for e in events if isinstance(e, kinds)]
    assert [type(e) for e in comp] == [ev.CompactionStarted, ev.CompactionProgress, ev.CompactionDone]
    assert {e.reason for e in comp} == {"overflow"}
    assert comp[-1].text.startswith("compacted: 2 messages -> summary")
    stored = SessionManager.open(session.path).entries
    assert [(e["type"], e.get("role")) for e in stored[-3:]] == [
        ("message", "user"),  # the prompt was on disk before the first request
        ("compaction", None),
        ("message", "assistant"),
    ]
    prompt = stored[-3]
    assert stored[-2]["parent_id"] == prompt["id"] and stored[-2]["first_kept_entry_id"] == u2["id"]
    assert prompt["parts"][1]["type"] == "image"  # the file keeps what the user sent


def test_second_overflow_is_a_clear_error_keeping_the_prompt(kit_env, workdir, provider):
    session, b = new_session(workdir)
    b.user("first question")
    b.assistant("first answer")
    b.user("second question")
    b.assistant("second answer")
    assert session.path is not None
    before = session.path.read_bytes()
    provider.context_overflow()
    provider.reply("SUMMARY")
    provider.context_overflow()
    provider.reply("never sent")

    with pytest.raises(TurnFailed, match="still too long after compacting the history") as error:
        Conversation(session, settings_for(provider)).run(user_message("x" * 50_000))

    assert isinstance(error.value.cause, ContextOverflowError) and error.value.exit_code == 11
    assert len(provider.chat_requests) == 3 and provider.pending == 1  # exactly one retry
    after = session.path.read_bytes()
    assert after.startswith(before)
    written = [json.loads(line) for line in after[len(before) :].splitlines()]
    assert [(e["type"], e.get("role"), e.get("stop_reason")) for e in written] == [
        ("message", "user", None),  # written before the first request
        ("compaction", None, None),
        ("message", "assistant", "error"),
    ]


def test_go_kit_root_compaction_is_compacted_from_its_kept_segment(kit_env, tmp_path, provider):
    path = tmp_path / FIXTURE.name
    shutil.copy(FIXTURE, path)
    session = SessionManager.open(path)
    assert session.warnings == []
    provider.reply("UPDATED SUMMARY")

    # An 8000 window keeps ~2000 tokens: the budget's cut lands inside Go kit's kept segment, which is
    # not on the leaf's path, so it moves to the first turn after the root compaction.
    outcome = compactor.compact_session(session, settings_for(provider, context_window=8000), force=False)

    assert outcome is not None
    [body] = summary_calls(provider)
    transcript = (
        "[User]: Where is the config loaded?\n\n"
        '[Assistant tool call]: read(path="src/app.py")\n\n'
        f"[Tool result read]: {'#' * 2000}\n[... 8000 more characters truncated]\n\n"
        "[Assistant]: In src/app.py, load_config()."
    )
    assert body["messages"] == build_summary_request(
        transcript, "Go summary: the user asked about the project layout.", None
    )
    assert outcome.entry["parent_id"] == "c000000000000009"
    assert outcome.entry["first_kept_entry_id"] == "c000000000000008"
    assert outcome.entry["read_files"] == ["notes.md", "src/app.py"]
    assert texts(SessionManager.open(path)) == [
        summary_text(outcome.summary),
        "Rename it to read_config",
        "Renamed.",
    ]


def test_compaction_model_setting_picks_the_summarizer(kit_env, workdir, provider):
    session, b = new_session(workdir)
    b.user("q1")
    b.assistant("a1")
    b.user("q2")
    b.assistant("a2")
    provider.reply("S")
    settings = settings_for(provider, compaction_model="openai/gpt-3.5-turbo")
    assert compactor.compact_session(session, settings) is not None
    body = summary_calls(provider)[0]
    assert body["model"] == "gpt-3.5-turbo"  # same api_base and key as the chat model
    assert body["max_tokens"] == 4096  # capped by the summarizer's own output limit, not 0.8 x 16384


def test_a_failed_auto_compaction_still_sends_the_turn(kit_env, workdir, provider):
    session, b = new_session(workdir)
    for i in range(4):
        b.user(f"q{i} " + "u" * 2400)
        b.assistant(f"a{i} " + "a" * 2400)
    provider.error(503)
    provider.reply("answered anyway")
    events: list[ev.Event] = []
    settings = settings_for(provider, context_window=8000, auto_compact=True)

    result = Conversation(session, settings, on_event=events.append).run(user_message("next"))

    assert result.text == "answered anyway"
    end = [e for e in events if isinstance(e, ev.CompactionDone)][-1]
    assert end.outcome is None and end.error is not None and "503" in end.error
    assert end.text.endswith("; sending the full history")
    assert len(provider.last_messages()) == 9
    assert not any(e["type"] == "compaction" for e in session.entries)
