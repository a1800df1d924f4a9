"""The built-in tool set and the one entry point the agent loop uses to run a tool call."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from kit_py.tools import bash, edit, grep, ls, read, write
from kit_py.tools.base import Tool, ToolContext, ToolError, ToolInterrupted, ToolResult

BUILTIN_TOOLS: dict[str, Tool] = {
    t.name: t for t in (read.TOOL, write.TOOL, edit.TOOL, bash.TOOL, ls.TOOL, grep.TOOL)
}

# Lone surrogates: how Python spells undecodable bytes in file names (surrogateescape) and what a
# model's JSON \u-escapes of them become. No UTF-8 encoder (orjson, the session file) accepts them.
_SURROGATE = re.compile("[\ud800-\udfff]")

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def select_tools(names: list[str] | None) -> list[Tool]:
    """Tools by name in the given order; None means all built-ins."""
    if names is None:
        return list(BUILTIN_TOOLS.values())
    unknown = [n for n in names if n not in BUILTIN_TOOLS]
    if unknown:
        raise ValueError(f"unknown tool(s): {', '.join(unknown)}; valid tools: {', '.join(BUILTIN_TOOLS)}")
    return [BUILTIN_TOOLS[n] for n in dict.fromkeys(names)]


def tool_schemas(tools: list[Tool]) -> list[dict[str, Any]]:
    """OpenAI function-tool definitions, the format litellm accepts for every provider."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _coerce(args: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Check required/typed top-level arguments; accept numbers sent as strings ("12").

    Models occasionally quote numbers, so those are repaired rather than refused.
    """
    props: dict[str, Any] = schema.get("properties", {})
    missing = [k for k in schema.get("required", []) if k not in args]
    if missing:
        raise ToolError(f"missing required argument(s): {', '.join(missing)}")
    fixed = dict(args)
    for key, value in args.items():
        spec = props.get(key)
        if spec is None:
            if schema.get("additionalProperties") is False:
                raise ToolError(f"unknown argument {key!r}; expected: {', '.join(props)}")
            continue
        kind = spec.get("type")
        if value is None or kind not in _JSON_TYPES:
            continue
        if kind in ("integer", "number") and isinstance(value, str):
            try:
                value = int(value) if kind == "integer" else float(value)
            except ValueError:
                raise ToolError(f"argument {key!r} must be {kind}, got {value!r}") from None
        if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        ok = isinstance(value, _JSON_TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool))
        if not ok:
            raise ToolError(f"argument {key!r} must be {kind}, got {type(value).__name__}")
        fixed[key] = value
    return fixed


def parse_args(args_json: str | dict[str, Any] | None) -> dict[str, Any]:
    """Arguments from the model's JSON text ('' and null mean no arguments)."""
    if isinstance(args_json, dict):
        return args_json
    if args_json is None or not args_json.strip():
        return {}
    try:
        value = json.loads(args_json)
    except json.JSONDecodeError as exc:
        raise ToolError(f"tool arguments are not valid JSON ({exc}): {args_json[:200]!r}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ToolError(f"tool arguments must be a JSON object, got {type(value).__name__}")
    return value


def valid_text(value: Any) -> Any:
    """`value` with every lone surrogate in its strings (dict keys too) replaced by U+FFFD, recursively."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {valid_text(k): valid_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [valid_text(v) for v in value]
    return value


def _finish(result: ToolResult, start: float, ctx: ToolContext) -> ToolResult:
    """Add timing and cwd, and make all text storable as UTF-8."""
    result.content = valid_text(result.content)
    result.details = valid_text(result.details)
    result.details["duration_ms"] = round((time.monotonic() - start) * 1000)
    result.details.setdefault("cwd", str(ctx.cwd))
    return result


def run_tool(tool: Tool, args_json: str | dict[str, Any] | None, ctx: ToolContext) -> ToolResult:
    """Run one tool call; never raises for tool failures.

    Ctrl-C still propagates; a tool that kept partial output raises ToolInterrupted carrying it.
    """
    start = time.monotonic()
    try:
        args = _coerce(parse_args(args_json), tool.parameters)
        result = tool.run(args, ctx)
    except ToolError as exc:
        result = ToolResult(f"Error: {exc}", is_error=True)
    except ToolInterrupted as exc:
        _finish(exc.result, start, ctx)
        raise
    except Exception as exc:  # a bug or OS failure must not end the conversation
        result = ToolResult(f"Error: {tool.name} failed: {type(exc).__name__}: {exc}", is_error=True)
    return _finish(result, start, ctx)
