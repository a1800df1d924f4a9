"""Tab completion: slash commands and their arguments (from the registry), and `@path` file names."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from kit_py.repl.file_search import fuzzy_paths

if TYPE_CHECKING:
    from kit_py.repl.face import ReplFace as Repl

MAX_PATH_COMPLETIONS = 200
MENTION_AT_CURSOR = re.compile(r'(?<!\S)@("[^"]*|[^\s"]*)$')
"""The `@path` being typed: unquoted, or inside an opened quote (`@"my no`), which may hold spaces."""


class ReplCompleter(Completer):
    def __init__(self, repl: Repl) -> None:
        self.repl = repl

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        before = document.text_before_cursor
        if before.startswith("/") and "\n" not in before:
            yield from self._slash(before)
            return
        mention = MENTION_AT_CURSOR.search(before)
        if mention:
            typed = mention.group(1)
            exact = list(path_completions(typed, self.repl.cwd))
            yield from exact
            if not exact and typed and not typed.startswith('"'):
                for path in fuzzy_paths(typed, self.repl.cwd):
                    shown = f'"{path}"' if " " in path else path
                    yield Completion(shown, -len(typed), display=path)

    def _slash(self, before: str) -> Iterable[Completion]:
        registry = self.repl.registry
        if " " not in before:
            typed = before[1:].lower()
            for command in registry.commands:
                if command.name.startswith(typed):
                    yield Completion("/" + command.name, -len(before), display_meta=command.help)
            return
        name, _, arg = before[1:].partition(" ")
        found = registry.find(name)
        if found is None or found.complete is None or " " in arg.strip():
            return
        for value in found.complete(self.repl, arg):
            yield Completion(value, -len(arg))


def path_completions(typed: str, cwd: Path) -> Iterable[Completion]:
    """Entries of the folder being typed whose names start with what follows the last slash.

    `typed` is what follows the `@`, an opening quote included. A path with a space is completed to
    the quoted form attachments understand (`"sub dir/my notes.md"`); a folder keeps its quote open so
    Tab can go on inside it.
    """
    quoted = typed.startswith('"')
    path_typed = typed[1:] if quoted else typed
    name_part = path_typed.rpartition("/")[2]
    prefix = path_typed[: len(path_typed) - len(name_part)]  # up to and including the last slash
    base = Path(prefix).expanduser() if prefix else Path(".")
    folder = base if base.is_absolute() else cwd / base
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    shown = 0
    for name in names:
        if not name.startswith(name_part) or (name.startswith(".") and not name_part.startswith(".")):
            continue
        is_dir = (folder / name).is_dir()
        path = prefix + name + ("/" if is_dir else "")
        if quoted or " " in path:
            path = '"' + path + ("" if is_dir else '"')
        yield Completion(path, -len(typed), display=name + ("/" if is_dir else ""))
        shown += 1
        if shown >= MAX_PATH_COMPLETIONS:
            return
