"""Registry, schemas, run_tool's error handling, and the path-safety checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kit_py.tools import (
    BUILTIN_TOOLS,
    ToolContext,
    is_outside,
    needs_confirmation,
    resolve_path,
    run_tool,
    select_tools,
    tool_schemas,
)


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    work = tmp_path / "work"
    work.mkdir()
    return ToolContext(cwd=work)


def test_builtin_tool_set_and_selection() -> None:
    assert list(BUILTIN_TOOLS) == ["read", "write", "edit", "bash", "ls", "grep"]
    assert [t.name for t in select_tools(None)] == list(BUILTIN_TOOLS)
    assert [t.name for t in select_tools(["bash", "read"])] == ["bash", "read"]
    with pytest.raises(ValueError, match="frobnicate.*valid tools: read, write, edit, bash, ls, grep"):
        select_tools(["read", "frobnicate"])
    assert {t.name for t in select_tools(None) if t.modifies_state} == {"write", "edit", "bash"}


@pytest.mark.parametrize("name", list(BUILTIN_TOOLS))
def test_schema_is_a_valid_openai_function_tool(name: str) -> None:
    (schema,) = tool_schemas([BUILTIN_TOOLS[name]])
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == name and len(fn["description"]) > 20
    params = fn["parameters"]
    assert params["type"] == "object"
    assert set(params["required"]) <= set(params["properties"])
    for prop in params["properties"].values():
        assert prop["type"] in {"string", "integer", "number", "boolean", "array", "object"}
        assert prop.get("description")
    expected_required = {
        "read": {"path"},
        "write": {"path", "content"},
        "edit": {"path"},
        "bash": {"command"},
        "ls": set(),
        "grep": {"pattern"},
    }
    assert set(params["required"]) == expected_required[name]


def test_run_tool_bad_json_is_an_error_result(ctx: ToolContext) -> None:
    res = run_tool(BUILTIN_TOOLS["read"], '{"path": "a.txt"', ctx)
    assert res.is_error and "not valid JSON" in res.content
    assert "duration_ms" in res.details
    not_object = run_tool(BUILTIN_TOOLS["read"], '["a.txt"]', ctx)
    assert not_object.is_error and "JSON object" in not_object.content


def test_run_tool_checks_arguments(ctx: ToolContext) -> None:
    missing = run_tool(BUILTIN_TOOLS["write"], '{"path": "a"}', ctx)
    assert missing.is_error and "content" in missing.content
    unknown = run_tool(BUILTIN_TOOLS["ls"], '{"dir": "."}', ctx)
    assert unknown.is_error and "'dir'" in unknown.content
    wrong_type = run_tool(BUILTIN_TOOLS["bash"], '{"command": 5}', ctx)
    assert wrong_type.is_error and "string" in wrong_type.content


def test_run_tool_accepts_quoted_numbers(ctx: ToolContext) -> None:
    (ctx.cwd / "f.txt").write_text("a\nb\nc\n")
    res = run_tool(BUILTIN_TOOLS["read"], '{"path": "f.txt", "offset": "2", "limit": "1"}', ctx)
    assert res.content.startswith("    2\tb")


def test_run_tool_turns_unexpected_exceptions_into_errors(ctx: ToolContext) -> None:
    (ctx.cwd / "f.txt").write_text("a file, not a folder")
    res = run_tool(BUILTIN_TOOLS["write"], {"path": "f.txt/inside.txt", "content": "x"}, ctx)
    assert res.is_error and "write failed: FileExistsError" in res.content
    assert (ctx.cwd / "f.txt").read_text() == "a file, not a folder"


def test_resolve_path_and_outside_detection(ctx: ToolContext) -> None:
    assert resolve_path(ctx, "a/../b.txt") == ctx.cwd / "b.txt"
    assert resolve_path(ctx, "/etc/passwd") == Path("/etc/passwd")
    assert not is_outside(ctx, ctx.cwd / "new" / "file.txt")
    assert is_outside(ctx, resolve_path(ctx, "../sibling.txt"))
    assert is_outside(ctx, Path("/etc/passwd"))


def test_symlink_escaping_cwd_is_outside(ctx: ToolContext) -> None:
    secret_dir = ctx.cwd.parent / "secret"
    secret_dir.mkdir()
    (secret_dir / "key.txt").write_text("s3cret")
    os.symlink(secret_dir, ctx.cwd / "link")
    (ctx.cwd / "inner.txt").write_text("")
    os.symlink(ctx.cwd / "inner.txt", ctx.cwd / "ok-link")
    assert is_outside(ctx, resolve_path(ctx, "link/key.txt"))
    assert not is_outside(ctx, resolve_path(ctx, "ok-link"))
    reason = needs_confirmation(BUILTIN_TOOLS["read"], {"path": "link/key.txt"}, ctx)
    assert reason == f"path outside working directory: {ctx.cwd / 'link' / 'key.txt'}"


def test_needs_confirmation_per_tool(ctx: ToolContext) -> None:
    t = BUILTIN_TOOLS
    assert needs_confirmation(t["read"], {"path": "/etc/passwd"}, ctx) == (
        "path outside working directory: /etc/passwd"
    )
    assert needs_confirmation(t["ls"], {"path": ".."}, ctx) is not None
    assert needs_confirmation(t["grep"], {"pattern": "x", "path": "/etc"}, ctx) is not None
    assert needs_confirmation(t["write"], {"path": "/tmp/x", "content": ""}, ctx) is not None
    assert needs_confirmation(t["edit"], {"path": "sub/f.py", "old_text": "a", "new_text": "b"}, ctx) is None
    assert needs_confirmation(t["ls"], {}, ctx) is None
    assert needs_confirmation(t["grep"], {"pattern": "x"}, ctx) is None
    assert needs_confirmation(t["bash"], {"command": "cat /etc/passwd"}, ctx) is None
