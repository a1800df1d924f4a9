"""`@tool`: turn a typed, documented Python function into a tool the model can call.

The JSON schema comes from the signature (pydantic builds it, so `list[int]`, `Literal`, enums,
`X | None` and pydantic models all work) and the descriptions from the docstring's Google-style
`Args:` or numpy-style `Parameters` section. Arguments the model sends are validated and converted
with the same type information before the function runs.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, get_type_hints, overload

from kit_py.tools.base import Tool, ToolContext, ToolError, ToolResult
from kit_py.tools.coroutines import run_coroutine

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises?|Examples?|Notes?|Attributes|See Also)"
    r"\s*:?\s*$"
)
_GOOGLE_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ARG = re.compile(r"^(\w+)\s*(?::.*)?$")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Docstring:
    description: str
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> Docstring:
    """Summary text plus per-parameter descriptions (Google `Args:` or numpy `Parameters`)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    i = 0
    while i < len(lines) and not _SECTION.match(lines[i]):
        description.append(lines[i])
        i += 1
    while i < len(lines):
        header = _SECTION.match(lines[i])
        name = header.group(1) if header else ""
        i += 1
        numpy = i < len(lines) and set(lines[i].strip()) == {"-"}
        if numpy:
            i += 1
        body: list[str] = []
        while i < len(lines) and not (_SECTION.match(lines[i]) and (not lines[i].startswith(" "))):
            body.append(lines[i])
            i += 1
        if name in ("Args", "Arguments", "Parameters", "Params"):
            params.update(_numpy_params(body) if numpy else _google_params(body))
    return Docstring(" ".join(" ".join(description).split()), params)


def _google_params(body: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    indent: int | None = None
    current: str | None = None
    for line in body:
        if not line.strip():
            continue
        level = len(line) - len(line.lstrip())
        match = _GOOGLE_ARG.match(line)
        if match and (indent is None or level <= indent):
            indent = level
            current = match.group(1)
            out[current] = match.group(2).strip()
        elif current is not None:
            out[current] = (out[current] + " " + line.strip()).strip()
    return out


def _numpy_params(body: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    current: str | None = None
    for line in body:
        if not line.strip():
            continue
        match = _NUMPY_ARG.match(line) if not line.startswith((" ", "\t")) else None
        if match:
            for name in match.group(1).split(","):
                current = name.strip()
                out[current] = ""
        elif current is not None:
            out[current] = (out[current] + " " + line.strip()).strip()
    return out


class FunctionTool(Tool, Generic[P, R]):
    """A `Tool` backed by a Python function; still callable as the plain function, with its types
    (`FunctionTool[P, R]` keeps the signature for type checkers)."""

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        modifies_state: bool = False,
    ) -> None:
        from pydantic import TypeAdapter

        doc = parse_docstring(func.__doc__)
        signature = inspect.signature(func)
        hints = get_type_hints(func, include_extras=True)
        self.func = func
        self._adapters: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        defs: dict[str, Any] = {}
        for pname, param in signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"@tool {func.__name__}: *args/**kwargs cannot be described to a model")
            hint = hints.get(pname, Any)
            adapter = TypeAdapter(hint)
            self._adapters[pname] = adapter
            schema = adapter.json_schema(ref_template="#/$defs/{model}")
            defs.update(schema.pop("$defs", {}))
            schema.pop("title", None)
            if doc.params.get(pname):
                schema["description"] = doc.params[pname]
            if param.default is inspect.Parameter.empty:
                required.append(pname)
            else:
                # A default pydantic cannot serialize is simply not advertised.
                with contextlib.suppress(Exception):
                    schema["default"] = adapter.dump_python(param.default, mode="json")
            properties[pname] = schema
        parameters: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if defs:
            parameters["$defs"] = defs
        super().__init__(
            name=name or func.__name__,
            description=description or doc.description or func.__name__.replace("_", " "),
            parameters=parameters,
            run=self._run,
            modifies_state=modifies_state,
        )
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.func(*args, **kwargs)

    def _run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from pydantic import ValidationError

        unknown = sorted(set(args) - set(self._adapters))
        if unknown:
            expected = ", ".join(self._adapters)
            raise ToolError(f"unknown argument(s) {', '.join(unknown)}; expected: {expected}")
        kwargs: dict[str, Any] = {}
        for pname, value in args.items():
            try:
                kwargs[pname] = self._adapters[pname].validate_python(value)
            except ValidationError as exc:
                problems = "; ".join(e["msg"] for e in exc.errors())
                raise ToolError(f"argument {pname!r} is invalid: {problems}") from None
        result: Any = self.func(**kwargs)  # type: ignore[call-arg]  # checked against P just above
        if inspect.isawaitable(result):  # an async def tool: awaited even under a running event loop
            result = run_coroutine(result)
        return ToolResult(_as_text(result))


def _as_text(value: Any) -> str:
    """What the model reads: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, ToolResult):
        return value.content
    dump = getattr(value, "model_dump_json", None)
    if callable(dump):
        return str(dump())
    from pydantic import TypeAdapter

    return json.dumps(TypeAdapter(type(value)).dump_python(value, mode="json"), ensure_ascii=False)


@overload
def tool(func: Callable[P, R], /) -> FunctionTool[P, R]: ...


@overload
def tool(
    *, name: str | None = None, description: str | None = None, modifies_state: bool = False
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...


def tool(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    modifies_state: bool = False,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Decorator: `@tool` or `@tool(name=..., description=..., modifies_state=True)`.

    `modifies_state=True` marks a tool that changes something, so safe mode asks before it runs.
    The decorated function keeps its signature and return type for type checkers.
    """

    def wrap(f: Callable[P, R]) -> FunctionTool[P, R]:
        return FunctionTool(f, name=name, description=description, modifies_state=modifies_state)

    return wrap(func) if func is not None else wrap
