"""Session messages -> the OpenAI-format messages litellm translates (kit_py.llm.to_llm_messages)."""

from __future__ import annotations

from typing import Any

import pytest

from kit_py import llm
from kit_py.llm.messages import replays_reasoning
from kit_py.session import image_part, message, reasoning_part, text_part, tool_call_part, tool_result_part

CLAUDE = "anthropic/claude-sonnet-4-5"


def test_several_text_parts_are_joined_with_newlines_as_go_kit_does() -> None:
    sent = llm.to_llm_messages(
        [
            message("system", [text_part("Be brief."), text_part("Use Go.")]),
            message("user", [text_part("part one"), text_part(""), text_part("part two")]),
            message("assistant", [text_part("a"), text_part("b")]),
        ]
    )
    assert sent == [
        {"role": "system", "content": "Be brief.\nUse Go."},
        {"role": "user", "content": "part one\npart two"},
        {"role": "assistant", "content": "a\nb"},
    ]


def test_images_follow_the_joined_text() -> None:
    sent = llm.to_llm_messages(
        [message("user", [text_part("look"), image_part("AA==", "image/png"), text_part("here")])]
    )
    assert sent == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look\nhere"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
            ],
        }
    ]


def test_each_tool_result_is_one_tool_message() -> None:
    sent = llm.to_llm_messages(
        [
            message(
                "assistant", [tool_call_part("c1", "ls", "{}"), tool_call_part("c2", "read", '{"path":"a"}')]
            ),
            message(
                "tool", [tool_result_part("c1", "ls", "a\nb"), tool_result_part("c2", "read", "no", True)]
            ),
        ]
    )
    assert sent == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "read", "arguments": '{"path":"a"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "a\nb"},
        {"role": "tool", "tool_call_id": "c2", "content": "no"},
    ]


def thinking_turn() -> list[dict[str, Any]]:
    return [
        message("user", [text_part("q")]),
        message(
            "assistant",
            [
                reasoning_part("first thought", "sig-1"),
                reasoning_part("unsigned thought"),
                reasoning_part("second thought", "sig-2"),
                text_part("calling"),
                tool_call_part("toolu_1", "ls", "{}"),
            ],
        ),
        message("tool", [tool_result_part("toolu_1", "ls", "a")]),
        message("assistant", [reasoning_part("only thinking", "sig-3")]),  # no content: left out
        message("assistant", [text_part("")]),  # empty: left out
        message("user", [text_part("and?")]),
    ]


def test_signed_reasoning_is_replayed_as_anthropic_thinking_blocks() -> None:
    sent = llm.to_llm_messages(thinking_turn(), CLAUDE)
    assert sent == [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": "calling",
            "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
            ],
            "thinking_blocks": [
                {"type": "thinking", "thinking": "first thought", "signature": "sig-1"},
                {"type": "thinking", "thinking": "second thought", "signature": "sig-2"},
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "a"},
        {"role": "user", "content": "and?"},
    ]


def test_reasoning_is_dropped_for_providers_that_take_none() -> None:
    sent = llm.to_llm_messages(thinking_turn(), "openai/gpt-4o")
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert all("thinking_blocks" not in m and "reasoning_content" not in m for m in sent)
    assert llm.to_llm_messages(thinking_turn()) == sent  # no model: nothing provider-specific


def test_signatures_of_another_provider_are_not_sent_to_anthropic() -> None:
    """After a model switch mid-session, a signature minted elsewhere would fail Anthropic's check."""

    def answer(**origin: str) -> dict[str, Any]:
        return message("assistant", [reasoning_part("t", "sig"), text_part("a")], **origin)

    sent = llm.to_llm_messages(
        [
            answer(model="gemini/gemini-2.5-pro", provider="gemini"),
            answer(model="claude-sonnet-4-5", provider="anthropic"),  # as Go kit records it
            answer(model="bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", provider="bedrock"),
            answer(),  # origin unknown
        ],
        CLAUDE,
    )
    assert ["thinking_blocks" in m for m in sent] == [False, True, True, True]


@pytest.mark.parametrize(
    ("model", "replays"),
    [
        ("anthropic/claude-sonnet-4-5", True),
        ("claude-3-7-sonnet-latest", True),
        ("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", True),
        ("vertex_ai/claude-sonnet-4-5@20250929", True),
        ("azure_ai/claude-sonnet-4-5", True),
        ("bedrock/meta.llama3-70b-instruct-v1:0", False),
        ("databricks/databricks-claude-sonnet-4", False),  # litellm strips thinking_blocks there
        ("openai/gpt-4o", False),
        ("gpt-4o", False),
        ("deepseek/deepseek-reasoner", False),
        ("", False),
        (None, False),
    ],
)
def test_which_routes_take_thinking_blocks(model: str | None, replays: bool) -> None:
    assert replays_reasoning(model) is replays


def test_malformed_messages_and_parts_never_raise() -> None:
    messages: list[Any] = [
        "not a message",
        {"role": "developer", "parts": [text_part("be nice")]},
        {"parts": [text_part("no role")]},
        {"role": ["user"], "parts": [text_part("unhashable role")]},
        {"role": "user", "parts": "hello"},
        {"role": "user"},
        {
            "role": "user",
            "parts": [
                {"type": "text", "data": None},
                "a string",
                7,
                {"type": "text"},
                {"type": "text", "data": {"txt": "typo"}},
                {"type": ["text"], "data": {"text": "unhashable type"}},
                {"type": "video", "data": {}},
                {"type": "finish", "data": {"reason": "end_turn"}},
                text_part("kept"),
            ],
        },
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "data": {"id": "c1", "name": "ls"}},  # no input
                {"type": "reasoning", "data": {"signature": "s"}},  # no thinking
                {"type": "reasoning", "data": {"thinking": "t", "signature": 5}},  # not a signature
                text_part("answer"),
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_result", "data": {"tool_call_id": "c1"}}]},
    ]
    warnings = ["an earlier warning"]
    sent = llm.to_llm_messages(messages, CLAUDE, warnings=warnings)
    assert sent == [{"role": "user", "content": "kept"}, {"role": "assistant", "content": "answer"}]
    assert warnings == [
        "an earlier warning",
        "message 1: not an object; not sent",
        "message 2: unknown role 'developer'; not sent",
        "message 3: unknown role None; not sent",
        "message 4: unknown role ['user']; not sent",
        "message 5: its parts are not a list; nothing of it is sent",
        "message 6: its parts are not a list; nothing of it is sent",
        "message 7: part 1, a text part whose data is null, is skipped",
        "message 7: part 2, a part that is not an object (str), is skipped",
        "message 7: part 3, a part that is not an object (int), is skipped",
        "message 7: part 4, a text part whose data is null, is skipped",
        "message 7: part 5, a text part without a string 'text', is skipped",
        "message 7: part 6, a part of unknown type ['text'], is skipped",
        "message 7: part 7, a part of unknown type 'video', is skipped",
        "message 8: part 1, a tool_call part without a string 'input', is skipped",
        "message 8: part 2, a reasoning part without a string 'thinking', is skipped",
        "message 9: part 1, a tool_result part without a string 'content', is skipped",
    ]
    again = list(warnings)
    llm.to_llm_messages(messages, CLAUDE, warnings=again)
    assert again == warnings  # each warning once
    assert llm.to_llm_messages(messages) == [
        {"role": "user", "content": "kept"},
        {"role": "assistant", "content": "answer"},
    ]


def test_litellm_sends_the_thinking_blocks_to_anthropic_with_their_signatures() -> None:
    """litellm's own Anthropic request transformation (in-process, no network) keeps the blocks first,
    signed, before the text and the tool use."""
    llm.load_litellm()
    from litellm.llms.anthropic.chat.transformation import AnthropicConfig

    sent = llm.to_llm_messages([message("system", [text_part("Be brief.")]), *thinking_turn()], CLAUDE)
    request = AnthropicConfig().transform_request(
        model="claude-sonnet-4-5", messages=sent, optional_params={}, litellm_params={}, headers={}
    )
    assert request["system"] == [{"type": "text", "text": "Be brief."}]
    assert request["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "first thought", "signature": "sig-1"},
            {"type": "thinking", "thinking": "second thought", "signature": "sig-2"},
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {}},
        ],
    }
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]
