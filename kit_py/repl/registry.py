"""The slash-command table's types: a `Command` (name, aliases, help, handler, argument completion)
and the `Registry` that finds one by name or alias and suggests the closest."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[Any, str], None]
"""Called with the REPL (a `kit_py.repl.face.ReplFace`) and the command's argument text."""
Completer = Callable[[Any, str], list[str]]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    usage: str = ""
    complete: Completer | None = None

    @property
    def signature(self) -> str:
        return f"/{self.name} {self.usage}".rstrip()


class Registry:
    """Lookup by name or alias (without the slash) and closest-match suggestions."""

    def __init__(self, commands: list[Command]) -> None:
        self.commands = commands
        self._index: dict[str, Command] = {}
        for command in commands:
            for key in (command.name, *command.aliases):
                if key in self._index:
                    raise ValueError(f"slash command /{key} registered twice")
                self._index[key] = command

    def find(self, name: str) -> Command | None:
        """By name or alias, or by a prefix that only one command has (`/mod` is /model)."""
        key = name.lower()
        if key in self._index:
            return self._index[key]
        matches = {id(c): c for k, c in self._index.items() if key and k.startswith(key)}
        return next(iter(matches.values())) if len(matches) == 1 else None

    def suggest(self, name: str) -> str | None:
        close = difflib.get_close_matches(name.lower(), list(self._index), n=1, cutoff=0.5)
        if not close:
            prefixed = [k for k in self._index if k.startswith(name.lower()[:2])] if len(name) >= 2 else []
            close = prefixed[:1]
        return f"/{self._index[close[0]].name}" if close else None


_COMMAND = re.compile(r"/([A-Za-z?][\w-]*)(?:[ \t]+(.*))?")


def parse_command(text: str) -> tuple[str, str] | None:
    """'/model  gpt-4o ' -> ('model', 'gpt-4o'); None when the input is a message, not a command.

    Only a one-line input whose first word is `/word` is a command: pasted text such as
    `/etc/hosts what is this`, `/* comment */`, `// note` or several lines is sent as typed."""
    stripped = text.strip()
    if "\n" in stripped:
        return None
    match = _COMMAND.fullmatch(stripped)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()
