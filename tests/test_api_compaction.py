"""Sessions compact themselves near the context window, through the CLI's engine."""

from __future__ import annotations

import json

from kit_py import Agent, Message
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)


def long_history(session, turns: int = 6) -> None:
    for i in range(turns):
        session.add_message(Message.user(f"question {i}: " + "details " * 400))
        session.add_message(Message.assistant(f"answer {i}: " + "facts " * 400))


def test_a_session_near_its_window_is_summarized_before_the_next_request(api):
    session = Agent(context_window=4000).session(system="Be brief.")
    long_history(session)
    api.reply("## Goal\nThe user asked six detailed questions.")
    api.reply("Short answer.")
    events = list(session.stream("One more question"))
    assert "compaction" in [e.type for e in events]
    assert events[-1].result.text == "Short answer."
    summary_request, answer_request = (r["body"] for r in api.chat_requests)
    assert not summary_request.get("stream")
    sent = answer_request["messages"]
    assert any("six detailed questions" in str(m["content"]) for m in sent)
    assert len(sent) < 2 * 6 + 2, "older turns went into the summary"
    assert sent[-1] == {"role": "user", "content": "One more question"}
    assert len(session.messages) == 2 * 6 + 2, "nothing is deleted: the tree keeps every message"
    assert [e["type"] for e in session.entries].count("compaction") == 1


def test_auto_compact_off_sends_everything(api):
    session = Agent(context_window=4000, auto_compact=False).session()
    long_history(session)
    api.reply("Answer.")
    session.run("One more question")
    assert len(api.chat_requests) == 1
    assert len(api.last_messages()) == 2 * 6 + 1


def test_compact_on_demand_summarizes_and_later_turns_send_the_summary(api):
    session = Agent().session()
    assert session.compact() is None, "nothing to compact yet"
    long_history(session, turns=3)
    api.reply("## Goal\nThree questions answered.")
    summary = session.compact(focus="the answers")
    assert summary is not None and "Three questions answered." in summary
    assert "the answers" in json.dumps(api.chat_requests[-1]["body"]["messages"])
    api.reply("Sure.")
    session.run("Continue")
    sent = api.last_messages()
    assert "Three questions answered." in sent[0]["content"]
    assert len(sent) < 2 * 3 + 1 and sent[-1]["content"] == "Continue"
