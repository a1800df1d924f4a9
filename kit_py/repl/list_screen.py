"""A full-screen list to pick from, the part `/tree` and the session picker share: scrolling and
paging, type-to-search, one input line for a label or a name, a y/n question, Esc and Enter.

Subclasses say what the rows are (`row_count`, `row`), react to the search text (`searched`) and to
Enter (`chosen`), and add their own keys (`extra_keys`). Only the visible rows are drawn, so a list
of 10,000 scrolls as fast as one of 10. prompt_toolkit is imported when a screen is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prompt_toolkit.application import Application
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.key_binding import KeyBindings

STYLE = {
    "title": "bold",
    "dim": "ansibrightblack",
    "selected": "reverse",
    "user": "ansicyan",
    "assistant": "ansigreen",
    "summary": "ansiyellow",
    "label": "ansiyellow bold",
    "here": "ansimagenta bold",
    "error": "ansired",
    "question": "ansiyellow bold",
    "key": "bold",
}
FIXED_LINES = 3
"""Lines that are not rows: the title, the status line and the key help."""
ESCAPE_WAIT = 0.05
"""Seconds to wait after Esc for the rest of an escape sequence (prompt_toolkit waits 0.5 s)."""


def cells(text: str) -> int:
    """How many terminal cells `text` takes (wide characters count two)."""
    from prompt_toolkit.utils import get_cwidth

    return get_cwidth(text)


def clip(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells (wide characters count two), with an ellipsis."""
    from prompt_toolkit.utils import get_cwidth

    if get_cwidth(text) <= width:
        return text
    out, used = [], 0
    for char in text:
        cells = get_cwidth(char)
        if used + cells > width - 1:
            break
        out.append(char)
        used += cells
    return "".join(out) + "…"


class ListScreen:
    """One full-screen list; `run()` returns what `finish` was given, None when cancelled."""

    title = ""
    help = "↑↓ move · PgUp/PgDn page · type to search · Enter choose · Esc cancel"

    def __init__(self, style: Any = None) -> None:
        self.selected = 0
        self.top = 0
        self.query = ""
        self.notice = ""
        """A one-time line for the status bar (an error, what was done)."""
        self._question: tuple[str, str, dict[str, Callable[[], None]]] | None = None
        self._input: tuple[str, str, Callable[[str | None], None]] | None = None
        self._result: Any = None
        self._style = style
        self._app: Application[Any] | None = None

    # --- what subclasses provide ----------------------------------------------------------------------

    def row_count(self) -> int:
        raise NotImplementedError

    def row(self, index: int, width: int, selected: bool) -> StyleAndTextTuples:
        raise NotImplementedError

    def status(self) -> StyleAndTextTuples:
        """The status line in browsing mode (counts, filter, search)."""
        return [("class:dim", f"{self.selected + 1 if self.row_count() else 0}/{self.row_count()}")]

    def searched(self) -> None:
        """The search text changed: recompute the rows."""

    def chosen(self) -> None:
        """Enter on the selected row."""

    def extra_keys(self, keys: KeyBindings, browsing: Any) -> None:
        """Bind the screen's own keys (`browsing`: a filter true while no question or input is open)."""

    def starting(self) -> None:
        """The screen is about to be drawn (start loading what it shows)."""

    # --- helpers for subclasses -------------------------------------------------------------------------

    def finish(self, result: Any) -> None:
        self._result = result
        if self._app is not None:
            self._app.exit()

    def later(self, work: Callable[[], None]) -> None:
        """Run `work` on the screen's own thread (from a worker thread), then redraw."""
        app = self._app
        if app is None or app.loop is None:
            work()
            return

        def run() -> None:
            work()
            app.invalidate()

        app.loop.call_soon_threadsafe(run)

    def ask(self, question: str, answers: dict[str, Callable[[], None]], keys_help: str) -> None:
        """A question on the status line answered with one key: `answers` maps a key ("y", "enter")
        to what it does; Esc closes the question doing nothing; other keys are ignored."""
        self._question = (question, keys_help, answers)

    def read_line(
        self,
        prompt: str,
        initial: str,
        done: Callable[[str | None], None],
        keys_help: str = "Enter save · Esc cancel",
    ) -> None:
        """One line of input (a label, a name, instructions); `done(text)` on Enter, `done(None)` on Esc."""
        self._input = (prompt, keys_help, done)
        if self._app is not None:
            buffer = self._buffer
            buffer.text = initial
            buffer.cursor_position = len(initial)
            self._app.layout.focus(buffer)

    def keep_selection_visible(self, height: int) -> None:
        count = self.row_count()
        self.selected = max(0, min(self.selected, count - 1))
        if self.selected < self.top:
            self.top = self.selected
        elif self.selected >= self.top + height:
            self.top = self.selected - height + 1
        self.top = max(0, min(self.top, max(0, count - height)))

    def height(self) -> int:
        if self._app is None:
            return 20
        return max(1, self._app.output.get_size().rows - FIXED_LINES)

    def width(self) -> int:
        return 80 if self._app is None else self._app.output.get_size().columns

    def move(self, delta: int) -> None:
        self.selected = max(0, min(self.row_count() - 1, self.selected + delta))

    # --- drawing -------------------------------------------------------------------------------------

    def _rows_text(self) -> StyleAndTextTuples:
        height, width = self.height(), self.width()
        self.keep_selection_visible(height)
        out: StyleAndTextTuples = []
        end = min(self.row_count(), self.top + height)
        for index in range(self.top, end):
            fragments = self.row(index, width, index == self.selected)
            if index == self.selected:
                fragments = [(f"{part[0]} class:selected", part[1]) for part in fragments]
            out.extend(fragments)
            out.append(("", "\n"))
        if not self.row_count():
            out.append(
                ("class:dim", "  (nothing to show)" + (" — Esc clears the search" if self.query else ""))
            )
        return out

    def _status_text(self) -> StyleAndTextTuples:
        if self._question is not None:
            return [("class:question", self._question[0])]
        if self.notice:
            return [("class:question", self.notice)]
        search = [("class:dim", "  search: "), ("class:key", self.query)] if self.query else []
        return [*self.status(), *search]

    def _help_text(self) -> StyleAndTextTuples:
        if self._question is not None:
            return [("class:dim", self._question[1])]
        if self._input is not None:
            return [("class:dim", self._input[1])]
        return [("class:dim", self.help)]

    # --- running -------------------------------------------------------------------------------------

    def _key_bindings(self) -> KeyBindings:
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

        keys = KeyBindings()
        browsing = Condition(lambda: self._question is None and self._input is None)
        asking = Condition(lambda: self._question is not None)
        typing = Condition(lambda: self._input is not None)

        @keys.add("up", filter=browsing)
        @keys.add("c-p", filter=browsing)
        def _up(event: KeyPressEvent) -> None:
            self.move(-1)

        @keys.add("down", filter=browsing)
        @keys.add("c-n", filter=browsing)
        def _down(event: KeyPressEvent) -> None:
            self.move(1)

        @keys.add("pageup", filter=browsing)
        def _page_up(event: KeyPressEvent) -> None:
            self.move(-self.height())

        @keys.add("pagedown", filter=browsing)
        def _page_down(event: KeyPressEvent) -> None:
            self.move(self.height())

        @keys.add("home", filter=browsing)
        def _first(event: KeyPressEvent) -> None:
            self.move(-self.row_count())

        @keys.add("end", filter=browsing)
        def _last(event: KeyPressEvent) -> None:
            self.move(self.row_count())

        @keys.add("enter", filter=browsing)
        def _enter(event: KeyPressEvent) -> None:
            if self.row_count():
                self.chosen()

        @keys.add("escape", eager=True, filter=browsing)
        @keys.add("c-c", filter=browsing)
        @keys.add("c-g", filter=browsing)
        def _cancel(event: KeyPressEvent) -> None:
            if self.query and event.key_sequence[0].key != "c-c":
                self.query = ""
                self.searched()
            else:
                self.finish(None)

        @keys.add("backspace", filter=browsing)
        def _backspace(event: KeyPressEvent) -> None:
            if self.query:
                self.query = self.query[:-1]
                self.searched()

        @keys.add("<any>", filter=browsing)
        def _type(event: KeyPressEvent) -> None:
            data = event.data
            if data and data.isprintable():
                self.query += data
                self.searched()

        @keys.add("<any>", filter=asking)
        @keys.add("enter", filter=asking)
        def _answer(event: KeyPressEvent) -> None:
            assert self._question is not None
            key = "enter" if event.key_sequence[0].key in ("enter", "c-m") else event.data
            action = self._question[2].get(key)
            if action is not None:
                self._question = None
                action()

        @keys.add("escape", eager=True, filter=asking)
        @keys.add("c-c", filter=asking)
        def _close(event: KeyPressEvent) -> None:
            self._question = None

        @keys.add("enter", filter=typing)
        def _save(event: KeyPressEvent) -> None:
            self._typed(self._buffer.text)

        @keys.add("escape", eager=True, filter=typing)
        @keys.add("c-c", filter=typing)
        def _drop(event: KeyPressEvent) -> None:
            self._typed(None)

        self.extra_keys(keys, browsing)
        return keys

    def _forget_notice(self, _processor: object) -> None:
        self.notice = ""

    def _typed(self, text: str | None) -> None:
        assert self._input is not None
        done = self._input[2]
        self._input = None
        if self._app is not None:
            self._app.layout.focus(self._rows_window)
        done(text)

    def run(self) -> Any:
        """Show the screen until a choice or Esc; returns the choice (None: cancelled)."""
        from prompt_toolkit.application import Application
        from prompt_toolkit.buffer import Buffer
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, Window
        from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
        from prompt_toolkit.layout.processors import BeforeInput
        from prompt_toolkit.styles import Style, merge_styles

        self._buffer = Buffer(multiline=False)
        typing = Condition(lambda: self._input is not None)
        prompt = BeforeInput(lambda: [("class:question", self._input[0] if self._input else "")])
        self._rows_window = Window(FormattedTextControl(self._rows_text, focusable=True), wrap_lines=False)
        layout = HSplit(
            [
                Window(FormattedTextControl(lambda: [("class:title", self.title)]), height=1),
                self._rows_window,
                ConditionalContainer(
                    Window(FormattedTextControl(self._status_text), height=1), filter=~typing
                ),
                ConditionalContainer(
                    Window(BufferControl(self._buffer, input_processors=[prompt]), height=1), filter=typing
                ),
                Window(FormattedTextControl(self._help_text), height=1),
            ]
        )
        styles = [Style.from_dict(STYLE)] if self._style is None else [self._style, Style.from_dict(STYLE)]
        app: Application[Any] = Application(
            layout=Layout(layout, focused_element=self._rows_window),
            key_bindings=self._key_bindings(),
            full_screen=True,
            style=merge_styles(styles),
            mouse_support=False,
        )
        app.ttimeoutlen = ESCAPE_WAIT
        app.key_processor.before_key_press += self._forget_notice  # a notice lasts until the next key
        self._app = app
        app.run(pre_run=self.starting)
        self._app = None
        return self._result
