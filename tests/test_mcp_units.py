"""The pure parts of MCP support: server entries, `server__tool` names, settings merged across config
files, and tool results turned into text."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from mcp import types

from kit_py.config import resolve_settings
from kit_py.tools.base import ToolContext
from kit_py.tools.mcp.config import load_servers, parse_cli_server, parse_server
from kit_py.tools.mcp.names import MAX_LENGTH, namespaced
from kit_py.tools.mcp.results import result_text


def test_names_keep_only_what_providers_accept_and_stay_unique_and_stable():
    taken: set[str] = set()
    assert namespaced("files", "read_file", taken) == "files__read_file"
    assert namespaced("files", "search/issues.v2", taken) == "files__search_issues_v2"
    twin = namespaced("files", "search.issues/v2", taken)  # cleans up to the same name
    assert twin.startswith("files__search_issues_v2_") and twin not in ("files__search_issues_v2",)
    long_a = namespaced("tracker", "x" * 80 + "a", taken)
    long_b = namespaced("tracker", "x" * 80 + "b", taken)
    assert len(long_a) == len(long_b) == MAX_LENGTH and long_a != long_b
    assert namespaced("tracker", "x" * 80 + "a", set()) == long_a  # the same server gives the same names
    assert all(c.isalnum() or c in "_-" for name in taken for c in name)


def test_server_entries_in_kit_and_go_kit_shapes(monkeypatch):
    monkeypatch.setenv("TOKEN", "s3cret")
    monkeypatch.delenv("NOPE", raising=False)
    stdio = parse_server("git", {"command": "uvx mcp-server-git --repository .", "env": {"DEBUG": 1}})
    assert stdio is not None and stdio.transport == "stdio"
    assert (stdio.command, stdio.args, stdio.env) == (
        "uvx",
        ["mcp-server-git", "--repository", "."],
        {"DEBUG": "1"},
    )
    go_kit = parse_server("fs", {"type": "local", "command": ["npx", "-y", "pkg"], "environment": {"A": "b"}})
    assert go_kit is not None and (go_kit.command, go_kit.args, go_kit.env) == (
        "npx",
        ["-y", "pkg"],
        {"A": "b"},
    )
    spaced = parse_server("tool", {"command": "/opt/my tools/server", "args": ["--port", 8080]})
    assert spaced is not None and (spaced.command, spaced.args) == (
        "/opt/my tools/server",
        ["--port", "8080"],
    )
    http = parse_server("issues", {"url": "https://h/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}})
    assert (
        http is not None and http.transport == "http" and http.headers == {"Authorization": "Bearer s3cret"}
    )
    assert parse_server("short", "https://h/mcp").url == "https://h/mcp"  # type: ignore[union-attr]
    defaulted = parse_server("d", {"command": "srv", "args": ["${NOPE:-fallback}"], "timeout": "12"})
    assert defaulted is not None and defaulted.args == ["fallback"] and defaulted.timeout == 12
    unset = parse_server("u", {"url": "https://h/mcp", "headers": {"X": "${NOPE}"}})
    assert unset is not None and unset.problem == "environment variable NOPE is not set"  # fails when started
    assert parse_server("off", {"command": "srv", "enabled": False}) is None
    for entry, problem in [
        ({"url": "https://h", "args": ["x"]}, "`args` does not go with url"),
        ({"command": "srv", "type": "remote"}, "type remote does not go with command"),
        ({"command": "srv", "type": "sse"}, "type must be one of"),
        ({"command": "srv", "startup_timeout": 0}, "startup_timeout must be more than 0 seconds"),
        ({"command": "srv", "allowed_tools": "echo"}, "allowed_tools must be a list"),
        ({"command": ""}, "command is empty"),
        (["srv"], "must be a mapping"),
    ]:
        with pytest.raises(ValueError, match=problem):
            parse_server("x", entry)


def test_mistyped_keys_warn_and_other_tools_keys_are_ignored():
    configs, warnings = load_servers(
        {"a": {"command": "srv", "startup_timout": 3, "noOAuth": True}}, lambda name: f"where.{name}"
    )
    assert [c.name for c in configs] == ["a"] and configs[0].startup_timeout == 30
    assert warnings == ["where.a: unknown key 'startup_timout' ignored (did you mean startup_timeout?)"]
    assert parse_cli_server("web=https://h/mcp") == ("web", "https://h/mcp")


def test_config_files_and_flags_add_servers_by_name(tmp_path, monkeypatch):
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(project)
    (home / ".kit.yml").write_text(yaml.safe_dump({"mcp_servers": {"a": "srv-a", "b": "srv-b"}}))
    (project / ".kit.yml").write_text(yaml.safe_dump({"mcpServers": {"b": "srv-b2", "c": "srv-c"}}))
    settings = resolve_settings({"mcp_servers": {"d": "srv-d"}})
    assert settings.mcp_servers == {"a": "srv-a", "b": "srv-b2", "c": "srv-c", "d": "srv-d"}
    assert {k: v for k, v in settings.sources.items() if k.startswith("mcp_servers.")} == {
        "mcp_servers.a": "~/.kit.yml",
        "mcp_servers.b": "./.kit.yml",
        "mcp_servers.c": "./.kit.yml",
        "mcp_servers.d": "command line",
    }


def test_tool_results_become_text_within_the_tool_output_limits():
    png = base64.b64encode(b"\x89PNG" + bytes(96)).decode()
    result = types.CallToolResult(
        content=[
            types.TextContent(text="first"),
            types.ImageContent(data=png, mime_type="image/png"),
            types.EmbeddedResource(resource=types.TextResourceContents(uri="file:///a.txt", text="inline")),
            types.EmbeddedResource(
                resource=types.BlobResourceContents(uri="file:///b.bin", blob=png, mime_type="application/x")
            ),
            types.ResourceLink(uri="file:///c.md", name="c.md"),
        ]
    )
    ctx = ToolContext(cwd=Path.cwd())
    text, cut = result_text(result, ctx)
    assert text.splitlines() == [
        "first",
        "[image image/png, 100 bytes: not shown]",
        "inline",
        "[resource file:///b.bin (application/x), 100 bytes: not shown]",
        "[resource link: file:///c.md (c.md)]",
    ]
    assert not cut
    structured = types.CallToolResult(content=[], structured_content={"rows": 2})
    assert result_text(structured, ctx)[0] == '{\n  "rows": 2\n}'
    lines = "\n".join(f"line {i}" for i in range(5000))
    text, cut = result_text(types.CallToolResult(content=[types.TextContent(text=lines)]), ctx)
    assert cut and text.splitlines()[:2] == ["line 0", "line 1"]
    kept = text.splitlines()[:-1]
    assert len(kept) < 5000 and len("\n".join(kept).encode()) <= ctx.max_bytes
    assert (
        text.splitlines()[-1]
        == f"[Output truncated: showing {len(kept)} of 5000 lines ({len(lines)} bytes in all).]"
    )
    few = result_text(
        types.CallToolResult(content=[types.TextContent(text=lines)]), ToolContext(Path.cwd(), max_lines=3)
    )
    assert few[0].splitlines()[:4] == [
        "line 0",
        "line 1",
        "line 2",
        "[Output truncated: showing 3 of 5000 lines (48889 bytes in all).]",
    ]
