"""The session picker of `kit -r` / `kit --resume` and `/resume`: a full-screen list of saved sessions.

This directory's sessions first (Tab: every directory), newest first, forks under their parent;
typing searches names, first messages and message content; Ctrl-N keeps named sessions only; Ctrl-R
renames; Ctrl-D moves a session to the trash after asking (`kit sessions restore` brings it back);
Enter opens; Esc clears the search, then cancels. The rows are built by kit_py/repl/session_rows.py
and loaded by kit_py/repl/session_source.py on a worker thread, so the screen appears at once.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py.repl.list_screen import ListScreen, clip
from kit_py.repl.session_rows import INDENT, Listed, SessionList, SessionRow, age
from kit_py.repl.session_source import SessionSource

if TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.key_binding import KeyBindings

Rename = Callable[[str], None]
"""Renames the session the REPL is in (through its conversation, so its tree knows the name)."""


class SessionPicker(ListScreen):
    """Pick a saved session; `run()` returns its path, or None when cancelled."""

    help = (
        "↑↓ move · type to search · Tab this dir/all · Ctrl-N named only · Ctrl-R rename · Ctrl-D delete · "
        "Enter open · Esc cancel"
    )

    def __init__(
        self,
        cwd: str,
        *,
        root: Path | None = None,
        current: Path | None = None,
        rename_current: Rename | None = None,
        style: Any = None,
    ) -> None:
        super().__init__(style)
        self.source = SessionSource(cwd, root)
        self.root = root
        self.cwd = cwd
        self.current = os.fspath(current) if current is not None else None
        self.rename_current = rename_current
        self.everywhere = False
        self.named_only = False
        self.loaded: dict[bool, SessionList] = {}
        self.content: tuple[str, set[str]] = ("", set())
        self.rows: list[SessionRow] = []

    @property
    def title(self) -> str:  # type: ignore[override]
        where = "all directories" if self.everywhere else f"this directory ({self.cwd})"
        named = " · named only" if self.named_only else ""
        return f"Resume a session: {where}{named}"

    # --- loading ---------------------------------------------------------------------------------------

    def starting(self) -> None:
        self._load()

    def _load(self) -> None:
        everywhere = self.everywhere
        if everywhere in self.loaded:
            self._rows()
            return
        self.notice = "loading sessions…"
        self._rows()
        future = self.source.sessions(everywhere)
        future.add_done_callback(lambda done: self.later(lambda: self._loaded(everywhere, done)))

    def _loaded(self, everywhere: bool, done: Future[list[Listed]]) -> None:
        try:
            self.loaded[everywhere] = SessionList(done.result())
        except Exception as exc:  # the index failed: say so, keep the picker usable for Esc
            self.notice = f"cannot list sessions: {exc}"
            return
        if self.notice == "loading sessions…":
            self.notice = ""
        self._rows()

    def _rows(self) -> None:
        keep = self.rows[self.selected].session.file if self.rows else None
        sessions = self.loaded.get(self.everywhere)
        content = self.content[1] if self.content[0] == self.query and self.query else set()
        if sessions is None:  # still loading
            self.rows = []
            return
        self.rows = sessions.rows(query=self.query, named_only=self.named_only, content=content)
        if keep is not None:
            self.selected = next((i for i, r in enumerate(self.rows) if r.session.file == keep), 0)

    def searched(self) -> None:
        self._rows()
        query = self.query
        if not query.strip():
            return
        future = self.source.content(query)
        future.add_done_callback(lambda done: self.later(lambda: self._found(query, done)))

    def _found(self, query: str, done: Future[set[str]]) -> None:
        if query != self.query or done.exception() is not None:
            return  # typed on meanwhile: a newer search is on its way
        self.content = (query, done.result())
        self._rows()

    # --- drawing ---------------------------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self.rows)

    def row(self, index: int, width: int, selected: bool) -> StyleAndTextTuples:
        row = self.rows[index]
        session = row.session
        count = session.message_count
        facts = f"  {count} msg{'s' if count != 1 else ''} · {age(session.modified)}"
        if self.everywhere:
            facts += f" · {_short_path(session.cwd)}"
        current = "  (current)" if session.file == self.current else ""
        indent = "  " * (row.depth - 1) + INDENT if row.depth else ""
        room = width - 2 - len(indent) - len(facts) - len(current) - 1
        title = clip(" ".join(row.title.split()), max(10, room))
        return [
            ("class:here" if selected else "", "› " if selected else "  "),
            ("class:dim", indent),
            ("class:title" if row.named else "", title),
            ("class:here", current),
            ("class:dim", facts),
        ]

    def status(self) -> StyleAndTextTuples:
        count = len(self.rows)
        loaded = self.loaded.get(self.everywhere)
        total = len(loaded.sessions) if loaded is not None else 0
        return [("class:dim", f"{self.selected + 1 if count else 0}/{count} of {total} sessions")]

    # --- keys ------------------------------------------------------------------------------------------

    def extra_keys(self, keys: KeyBindings, browsing: Any) -> None:
        from prompt_toolkit.key_binding import KeyPressEvent

        @keys.add("tab", filter=browsing)
        def _scope(event: KeyPressEvent) -> None:
            self.everywhere = not self.everywhere
            self._load()
            if self.query:
                self.searched()

        @keys.add("c-n", filter=browsing)
        def _named(event: KeyPressEvent) -> None:
            self.named_only = not self.named_only
            self._rows()

        @keys.add("c-d", filter=browsing)
        def _delete(event: KeyPressEvent) -> None:
            if self.rows:
                self._ask_delete(self.rows[self.selected].session)

        @keys.add("c-r", filter=browsing)
        def _rename(event: KeyPressEvent) -> None:
            if self.rows:
                session = self.rows[self.selected].session
                self.read_line("new name: ", session.name or "", lambda name: self._renamed(session, name))

    def chosen(self) -> None:
        self.finish(Path(self.rows[self.selected].session.file))

    def _ask_delete(self, session: Listed) -> None:
        if session.file == self.current:
            self.notice = "this is the session you are in: switch to another one before removing it"
            return
        title = clip(" ".join((session.name or session.preview).split()), 50)
        self.ask(
            f"Move {title!r} ({session.session_id[:12]}) to the trash?",
            {"y": lambda: self._delete(session), "Y": lambda: self._delete(session)},
            f"y: to the trash (kit sessions restore {session.session_id[:12]} undoes it) · n/Esc: keep",
        )

    def _delete(self, session: Listed) -> None:
        from kit_py.catalog.listing import read_info
        from kit_py.catalog.trash import trash_session
        from kit_py.errors import KitError

        info = read_info(session.file)
        if info is None:
            self.notice = f"{session.file} is gone already"
            return
        try:
            trash = trash_session(info, self.root)
        except KitError as exc:
            self.notice = exc.message
            return
        self._change(lambda s: None if s.file == session.file else s)
        self.notice = f"moved to the trash: {trash} (kit sessions restore {session.session_id[:12]})"

    def _renamed(self, session: Listed, name: str | None) -> None:
        from kit_py.errors import KitError
        from kit_py.session import SessionManager

        name = " ".join((name or "").split())
        if not name or name == session.name:
            return
        try:
            if session.file == self.current and self.rename_current is not None:
                self.rename_current(name)
            else:
                with SessionManager.open(Path(session.file)) as opened:
                    opened.set_name(name)
        except (KitError, OSError, ValueError) as exc:
            self.notice = f"not renamed: {getattr(exc, 'message', None) or exc}"
            return
        self._change(
            lambda s: dataclasses.replace(s, name=name, haystack="") if s.file == session.file else s
        )
        self.notice = f"renamed: {name}"

    def _change(self, changed: Callable[[Listed], Listed | None]) -> None:
        """Apply a rename or a removal to the loaded lists (None drops the session), then redraw."""
        for scope, loaded in self.loaded.items():
            kept = [c for c in (changed(s) for s in loaded.sessions) if c is not None]
            self.loaded[scope] = SessionList(kept)
        self._rows()

    def run(self) -> Path | None:
        try:
            picked = super().run()
        finally:
            self.source.close()
        return picked if isinstance(picked, Path) else None


def _short_path(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "/" and path.startswith(home + os.sep) else path
