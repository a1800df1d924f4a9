"""grep: search file contents with a regular expression (ripgrep when installed, else Python re)."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kit_py.tools.base import Tool, ToolContext, ToolError, ToolResult
from kit_py.tools.paths import display_path, resolve_path
from kit_py.tools.text import SNIFF_BYTES, looks_binary

DEFAULT_LIMIT = 100
MAX_LINE_CHARS = 500
SKIP_DIRS = {".git"}

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "description": "Regular expression to search for."},
        "path": {
            "type": "string",
            "description": "File or directory to search (default: the working directory).",
        },
        "glob": {
            "type": "string",
            "description": "Only search files matching this glob, e.g. '*.py' or 'src/**/*.ts'.",
        },
        "ignore_case": {"type": "boolean", "description": "Case-insensitive search (default false)."},
        "limit": {
            "type": "integer",
            "minimum": 1,
            "description": f"Maximum matches (default {DEFAULT_LIMIT}).",
        },
    },
    "required": ["pattern"],
    "additionalProperties": False,
}

Match = tuple[Path, int, str]


def _find_rg() -> str | None:
    return shutil.which("rg")


def _expand_braces(glob: str) -> list[str]:
    """'*.{py,md}' -> ['*.py', '*.md'] (one level, like most shells)."""
    m = re.search(r"\{([^{}]*)\}", glob)
    if not m:
        return [glob]
    return [
        out
        for alt in m.group(1).split(",")
        for out in _expand_braces(glob[: m.start()] + alt + glob[m.end() :])
    ]


def _glob_matcher(glob: str | None) -> Callable[[str], bool]:
    if not glob:
        return lambda rel: True
    globs = _expand_braces(glob)

    def match(rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        for g in globs:
            if "/" in g:
                if fnmatch.fnmatchcase(rel, g) or fnmatch.fnmatchcase(rel, g.replace("**/", "")):
                    return True
            elif fnmatch.fnmatchcase(name, g):
                return True
        return False

    return match


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            yield Path(dirpath, name)


def _python_search(regex: re.Pattern[str], root: Path, glob: str | None) -> Iterator[Match]:
    matches = _glob_matcher(glob)
    for path in _walk(root):
        rel = path.name if path == root else path.relative_to(root).as_posix()
        if not matches(rel):
            continue
        try:
            with open(path, "rb") as fh:
                if looks_binary(fh.read(SNIFF_BYTES)):
                    continue
                fh.seek(0)
                for number, raw in enumerate(fh, 1):
                    line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    if regex.search(line):
                        yield path, number, line
        except OSError:
            continue  # unreadable or vanished files are simply not searched


def _rg_search(rg: str, args: dict[str, Any], root: Path) -> Iterator[Match] | None:
    """Matches from ripgrep, or None if rg rejected the pattern (Python re gets a try)."""
    cmd = [
        rg,
        "--line-number",
        "--no-heading",
        "--with-filename",
        "--color=never",
        "--null",
        "--hidden",
        "--glob=!.git",
        "--sort=path",
        "--no-messages",
    ]
    if args.get("ignore_case"):
        cmd.append("--ignore-case")
    if args.get("glob"):
        cmd += ["--glob", args["glob"]]
    cmd += ["-e", args["pattern"]]
    # Searching a directory from inside it makes globs like 'src/**/*.py' relative to it, as in Python.
    base = root.parent if root.is_file() else root
    if root.is_file():
        cmd += ["--", root.name]
    proc = subprocess.Popen(
        cmd, cwd=base, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if not first and proc.wait() == 2:
        return None

    def lines() -> Iterator[Match]:
        assert proc.stdout is not None
        try:
            raw = first
            while raw:
                name, _, rest = raw.partition(b"\0")
                number, _, text = rest.partition(b":")
                yield (
                    base / os.fsdecode(name),
                    int(number),
                    text.decode("utf-8", errors="replace").rstrip("\r\n"),
                )
                raw = proc.stdout.readline()
        finally:
            proc.kill()
            proc.stdout.close()
            proc.wait()

    return lines()


def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    pattern = args.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ToolError("pattern must be a non-empty string")
    root = resolve_path(ctx, args.get("path") or ".")
    limit = args.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ToolError(f"limit must be a positive integer, got {limit!r}")
    glob = args.get("glob") or None
    if not root.exists():
        raise ToolError(f"Path not found: {display_path(ctx, root)}")
    rg = _find_rg()
    found = _rg_search(rg, args, root) if rg else None
    if found is None:
        try:
            regex = re.compile(pattern, re.IGNORECASE if args.get("ignore_case") else 0)
        except re.error as exc:
            raise ToolError(f"Invalid regular expression {pattern!r}: {exc}") from exc
        found = _python_search(regex, root, glob)
    out: list[str] = []
    more = False
    for path, number, text in found:
        if len(out) == limit:
            more = True
            break
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + " ..."
        out.append(f"{display_path(ctx, path)}:{number}: {text}")
    close = getattr(found, "close", None)
    if close:
        close()
    details: dict[str, Any] = {"path": str(root), "matches": len(out)}
    if not out:
        return ToolResult("No matches found.", details=details)
    content = "\n".join(out)
    if more:
        details["truncated"] = True
        content += f"\n\n[Stopped after {limit} matches; narrow the pattern, path or glob, or raise limit.]"
    return ToolResult(content, details=details)


TOOL = Tool(
    name="grep",
    description=(
        "Search file contents for a regular expression. Output lines are `path:line: text`. "
        "Skips .git and binary files. Optional glob filter (e.g. '*.py') and ignore_case. "
        f"Stops after {DEFAULT_LIMIT} matches unless limit is given."
    ),
    parameters=PARAMETERS,
    run=run,
    path_params=("path",),
)
