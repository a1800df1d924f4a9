"""ls and grep: listings, limits, regex search with globs, skipping .git and binaries."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest

from kit_py.tools import BUILTIN_TOOLS, ToolContext, run_tool
from kit_py.tools import grep as grep_module

LS = BUILTIN_TOOLS["ls"]
GREP = BUILTIN_TOOLS["grep"]


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path)


# The Python fallback must work on machines without ripgrep; rg is also tested where installed.
BACKENDS = ["python"] + (["rg"] if shutil.which("rg") else [])


@pytest.fixture(autouse=True, params=BACKENDS)
def grep_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "python":
        monkeypatch.setattr(grep_module, "_find_rg", lambda: None)


def test_ls_sorted_with_dirs_marked(ctx: ToolContext) -> None:
    for name in ("b.txt", "A.md", ".hidden"):
        (ctx.cwd / name).write_text("")
    (ctx.cwd / "src").mkdir()
    res = run_tool(LS, "{}", ctx)
    assert res.content == ".hidden\nA.md\nb.txt\nsrc/"
    assert run_tool(LS, {"path": "src"}, ctx).content == "src is empty."


def test_ls_limit_adds_a_note(ctx: ToolContext) -> None:
    for i in range(510):
        (ctx.cwd / f"f{i:03}").write_text("")
    res = run_tool(LS, {}, ctx)
    body, note = res.content.split("\n\n")
    assert len(body.splitlines()) == 500 and body.splitlines()[-1] == "f499"
    assert "500 of 510" in note
    assert len(run_tool(LS, {"limit": 3}, ctx).content.split("\n\n")[0].splitlines()) == 3


def test_ls_errors(ctx: ToolContext) -> None:
    assert "not found" in run_tool(LS, {"path": "nope"}, ctx).content
    (ctx.cwd / "f").write_text("")
    res = run_tool(LS, {"path": "f"}, ctx)
    assert res.is_error and "not a directory" in res.content


@pytest.fixture
def tree(ctx: ToolContext) -> Path:
    root = ctx.cwd
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main():\n    return helper()\n")
    (root / "src" / "util.py").write_text("def helper():\n    return 42\n")
    (root / "README.md").write_text("Call main() to start\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("def main in git internals\n")
    (root / "data.bin").write_bytes(b"\x00def main binary")
    return root


def test_grep_regex_finds_matches_as_path_line_text(ctx: ToolContext, tree: Path) -> None:
    res = run_tool(GREP, {"pattern": r"def \w+\(\)"}, ctx)
    assert not res.is_error
    assert res.content == "src/app.py:1: def main():\nsrc/util.py:1: def helper():"


def test_grep_glob_filter_and_ignore_case(ctx: ToolContext, tree: Path) -> None:
    assert (
        run_tool(GREP, {"pattern": "main", "glob": "*.md"}, ctx).content
        == "README.md:1: Call main() to start"
    )
    both = run_tool(GREP, {"pattern": "MAIN", "ignore_case": True, "glob": "*.{py,md}"}, ctx).content
    assert both.splitlines() == ["README.md:1: Call main() to start", "src/app.py:1: def main():"]
    nested = run_tool(GREP, {"pattern": "return", "glob": "src/**/*.py"}, ctx).content
    assert nested.splitlines() == ["src/app.py:2:     return helper()", "src/util.py:2:     return 42"]


def test_grep_skips_git_and_binary_files(ctx: ToolContext, tree: Path) -> None:
    res = run_tool(GREP, {"pattern": "def main"}, ctx)
    assert ".git" not in res.content and "data.bin" not in res.content


def test_grep_in_one_file_and_no_matches(ctx: ToolContext, tree: Path) -> None:
    assert (
        run_tool(GREP, {"pattern": "42", "path": "src/util.py"}, ctx).content
        == "src/util.py:2:     return 42"
    )
    res = run_tool(GREP, {"pattern": "nothing-like-this"}, ctx)
    assert not res.is_error and res.content == "No matches found."


def test_grep_limit_note(ctx: ToolContext) -> None:
    (ctx.cwd / "many.txt").write_text("hit\n" * 150)
    res = run_tool(GREP, {"pattern": "hit"}, ctx)
    body, note = res.content.split("\n\n")
    assert len(body.splitlines()) == 100 and "Stopped after 100 matches" in note
    assert len(run_tool(GREP, {"pattern": "hit", "limit": 5}, ctx).content.split("\n\n")[0].splitlines()) == 5


def test_grep_errors(ctx: ToolContext) -> None:
    bad = run_tool(GREP, {"pattern": "(unclosed"}, ctx)
    assert bad.is_error and "Invalid regular expression" in bad.content
    missing = run_tool(GREP, {"pattern": "x", "path": "nowhere"}, ctx)
    assert missing.is_error and "not found" in missing.content


def test_non_utf8_names_and_output_become_storable_text(ctx: ToolContext) -> None:
    """Undecodable bytes in names or output must not reach the session store (orjson refuses them)."""
    with open(os.path.join(os.fsencode(ctx.cwd), b"n\xe9.txt"), "wb") as fh:
        fh.write(b"needle \xff here\n")
    calls = [
        (LS, {}),
        (GREP, {"pattern": "needle"}),
        (BUILTIN_TOOLS["read"], {"path": "n\udce9.txt"}),  # a model echoing the name back as JSON \u-escape
        (BUILTIN_TOOLS["bash"], {"command": "printf 'raw \\xff\\n'; ls"}),
    ]
    for tool, args in calls:
        res = run_tool(tool, args, ctx)
        assert not res.is_error, res.content
        orjson.dumps({"content": res.content, **res.details})  # raises on a lone surrogate
        assert "n\ufffd.txt" in res.content or "needle \ufffd here" in res.content, res.content
    assert run_tool(GREP, {"pattern": "needle"}, ctx).content == "n\ufffd.txt:1: needle \ufffd here"
