"""Wire-format helpers: ids, timestamps, file names, entry constructors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kit_py.session import format as fmt


def test_ids_are_lowercase_hex_of_the_go_kit_lengths() -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", fmt.new_entry_id())
    assert re.fullmatch(r"[0-9a-f]{32}", fmt.new_session_id())
    assert fmt.new_entry_id() != fmt.new_entry_id()


def test_now_timestamp_is_utc_milliseconds_with_z() -> None:
    ts = fmt.now_timestamp()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", ts)
    assert abs(fmt.parse_timestamp(ts) - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)),
        ("2026-03-01T10:00:00.5Z", datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2026-03-01T10:00:00.123456789Z", datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-01T12:00:00.000+02:00", datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)),
        ("2026-03-01T05:30:00-04:30", datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_go_and_offset_forms(text: str, expected: datetime) -> None:
    assert fmt.parse_timestamp(text) == expected


def test_parse_timestamp_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        fmt.parse_timestamp("yesterday")


def test_session_file_name_layout() -> None:
    when = datetime(2026, 3, 1, 10, 4, 5, 7000, tzinfo=UTC)
    name = fmt.session_file_name(when)
    assert re.fullmatch(r"2026-03-01T10-04-05-007Z_[0-9a-f]{12}\.jsonl", name)


def test_header_has_version_3_and_optional_parent_only_when_given() -> None:
    h = fmt.header("/home/u/proj")
    assert h["type"] == "session" and h["version"] == 3 and h["cwd"] == "/home/u/proj"
    assert "parent_session" not in h and "parent_session_id" not in h
    forked = fmt.header("/x", parent_session="/a.jsonl", parent_session_id="ab")
    assert forked["parent_session"] == "/a.jsonl" and forked["parent_session_id"] == "ab"


def test_part_and_entry_constructors_match_the_wire_shapes() -> None:
    call = fmt.tool_call_part("c1", "read", '{"path":"a"}')
    assert call == {
        "type": "tool_call",
        "data": {"id": "c1", "name": "read", "input": '{"path":"a"}', "finished": True},
    }
    result = fmt.tool_result_part("c1", "read", "body", True, truncated=True)
    assert result["data"] == {
        "tool_call_id": "c1",
        "name": "read",
        "content": "body",
        "is_error": True,
        "truncated": True,
    }
    assert fmt.reasoning_part("hm")["data"] == {"thinking": "hm"}
    assert fmt.image_part("AAA=", "image/png")["data"] == {"data": "AAA=", "media_type": "image/png"}
    msg = fmt.message("assistant", [fmt.text_part("a"), call], model="m", provider=None)
    assert msg == {"type": "message", "role": "assistant", "parts": [fmt.text_part("a"), call], "model": "m"}
    assert fmt.model_change("p", "m") == {"type": "model_change", "provider": "p", "model_id": "m"}
    assert fmt.model_change("p", "m", "high")["thinking_level"] == "high"
    comp = fmt.compaction("s", "k", 10, 2, 3, ["r"], ["w"])
    assert set(comp) == {
        "type",
        "summary",
        "first_kept_entry_id",
        "tokens_before",
        "tokens_after",
        "messages_removed",
        "read_files",
        "modified_files",
    }
    assert fmt.branch_summary("f", "s") == {"type": "branch_summary", "from_id": "f", "summary": "s"}
    assert fmt.label("t", "") == {"type": "label", "target_id": "t", "label": ""}
    assert fmt.session_info("n") == {"type": "session_info", "name": "n"}
    for ctor in (comp, msg):
        assert "id" not in ctor and "parent_id" not in ctor and "timestamp" not in ctor


def test_constructors_refuse_what_go_kit_would_refuse() -> None:
    with pytest.raises(ValueError, match="role"):
        fmt.message("robot", [])
    with pytest.raises(TypeError, match="str"):
        fmt.extension_data("kit:x", {"a": 1})  # type: ignore[arg-type]


def test_message_text_joins_only_text_parts() -> None:
    msg = fmt.message("assistant", [fmt.text_part("one"), fmt.reasoning_part("secret"), fmt.text_part("two")])
    assert fmt.message_text(msg) == "one\ntwo"
    assert fmt.message_text(fmt.label("x", "y")) == ""


def test_entry_types_are_exactly_the_seven_go_kit_types() -> None:
    assert {
        "message",
        "model_change",
        "compaction",
        "branch_summary",
        "label",
        "session_info",
        "extension_data",
    } == fmt.ENTRY_TYPES


def test_system_prompt_is_read_but_never_written() -> None:
    assert fmt.SYSTEM_PROMPT_TYPE in fmt.READ_TYPES and fmt.SYSTEM_PROMPT_TYPE not in fmt.ENTRY_TYPES


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T10:00:00Z",
        "2026-03-01T10:00:00.123456789Z",
        "2026-03-01T12:00:00+02:00",
        "2026-12-31T23:59:59-11:30",
    ],
)
def test_check_timestamp_accepts_what_go_kit_parses(text: str) -> None:
    assert fmt.check_timestamp(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T10:00:00",  # no zone: the instant is unknown
        "2026-03-01 10:00:00Z",  # Go's RFC 3339 wants the T
        "2026-03-01t10:00:00z",
        "2026-03-01T10:00:00.Z",  # a dot needs digits
        "2026-03-01T10:00:00+0200",  # the offset needs its colon
        "2026-13-01T10:00:00Z",
        "2026-03-01T24:00:00Z",
        "yesterday",
    ],
)
def test_check_timestamp_refuses_what_go_kit_cannot_parse(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        fmt.check_timestamp(text)


def test_check_timestamp_formats_aware_datetimes_and_refuses_naive_ones() -> None:
    assert fmt.check_timestamp(datetime(2026, 3, 1, 12, tzinfo=UTC)) == "2026-03-01T12:00:00.000Z"
    with pytest.raises(ValueError, match="naive"):
        fmt.check_timestamp(datetime(2026, 3, 1, 12))


def test_parts_ok_is_the_fast_path_and_clean_parts_the_repair() -> None:
    good = [
        fmt.text_part("a"),
        fmt.tool_call_part("c", "n", "{}"),
        {"type": "finish", "data": {"reason": "x"}},
    ]
    assert fmt.parts_ok(good) and fmt.clean_parts(good) == (good, [])
    for bad in (
        "hello",
        None,
        [5],
        [{"type": "text", "data": None}],
        [{"type": "tool_call", "data": {"input": {}}}],
    ):
        assert not fmt.parts_ok(bad)
    kept, notes = fmt.clean_parts(
        [{"type": "tool_call", "data": {"id": "c", "name": "n", "input": {"a": [1]}}}]
    )
    assert kept[0]["data"]["input"] == '{"a":[1]}' and notes == [
        "part 0: tool_call input was not JSON text; converted"
    ]


def test_foreign_format_knows_pi_by_its_camel_case_and_wrapped_messages() -> None:
    header = {"type": "session", "version": 3, "id": "3f2a6c1e-8d4b-4c3a-9e1f-2b7d5a9c0e11"}
    pi_message = {
        "type": "message",
        "id": "1a2b3c4d",
        "parentId": None,
        "message": {"role": "user", "content": []},
    }
    assert fmt.foreign_format(header, [pi_message]) == "pi"
    assert fmt.foreign_format(header, [{"type": "thinking_level_change", "id": "1a2b3c4d"}]) == "pi"
    assert fmt.foreign_format({**header, "parentSession": "/x"}, []) == "pi"
    kit = {"type": "message", "id": "a" * 16, "role": "user", "parts": []}
    assert fmt.foreign_format(header, [kit, {**kit, "id": "b" * 16, "parent_id": "a" * 16}]) is None
    assert fmt.foreign_format(None, []) is None
