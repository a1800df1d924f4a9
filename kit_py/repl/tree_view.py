"""`/tree` and `/fork`'s message picker: the full-screen navigator of a session tree.

The rows come from kit_py/repl/tree_rows.py (pure); this module draws them and maps keys to the
conversation's operations: Enter picks (the REPL then calls `Conversation.navigate` or
`fork_to_edit`), Ctrl-L labels at once (`Conversation.label`), Ctrl-O cycles the filter, ← and →
fold and unfold, typing searches, Esc clears the search or cancels. Leaving a branch with messages
asks whether to summarize it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kit_py.errors import KitError
from kit_py.repl.list_screen import ListScreen, cells, clip
from kit_py.repl.tree_rows import FILTER_TITLES, FILTERS, Row, TreeModel, branch_point_above, when

if TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.key_binding import KeyBindings

    from kit_py.engine.conversation import Conversation

KIND_STYLES = {"user": "class:user", "assistant": "class:assistant", "branch_summary": "class:summary"}
LABEL_CELLS = 30
DIM_KINDS = frozenset(
    {"tool", "label", "leaf", "model_change", "session_info", "extension", "other", "compaction"}
)


@dataclass(frozen=True)
class TreeChoice:
    """What the navigator was left with: the entry picked and how to treat the branch left behind
    (`summarize`, with the user's `instructions` when given)."""

    entry_id: str
    summarize: bool = False
    instructions: str | None = None


class TreeNavigator(ListScreen):
    """The navigator over `conversation`'s tree. `picking_message` (for /fork): Enter takes only
    user messages and asks nothing about summaries; the filter starts at user messages."""

    def __init__(
        self, conversation: Conversation, *, picking_message: bool = False, style: Any = None
    ) -> None:
        super().__init__(style)
        self.conversation = conversation
        self.picking_message = picking_message
        self.filter = FILTERS.index("user" if picking_message else "default")
        self.folded: set[str] = set()
        self.rows: list[Row] = []
        self.now = datetime.now().astimezone()
        self.title = (
            "Fork: pick the message the new session starts from (it comes back to edit)"
            if picking_message
            else "Session tree: continue from the selected entry (a message of yours comes back to edit)"
        )
        self.help = (
            "↑↓ move · PgUp/PgDn page · ←/→ fold · type to search · Ctrl-O filter · Ctrl-L label · "
            "Enter choose · Esc cancel"
        )
        self._reload()
        here = next((i for i, row in enumerate(self.rows) if row.here), len(self.rows) - 1)
        self.selected = max(0, here)

    # --- rows ----------------------------------------------------------------------------------------

    def _reload(self) -> None:
        """Read the tree again (after a label was written) and keep the selection on its entry."""
        session = self.conversation.session
        self.model = TreeModel(session.tree, session.leaf_id)
        self._rows()

    def _rows(self) -> None:
        keep = self.rows[self.selected].entry_id if self.rows else None
        self.rows = self.model.rows(FILTERS[self.filter], self.folded, self.query)
        if keep is not None:
            self.selected = next((i for i, r in enumerate(self.rows) if r.entry_id == keep), self.selected)

    def row_count(self) -> int:
        return len(self.rows)

    def row(self, index: int, width: int, selected: bool) -> StyleAndTextTuples:
        row = self.rows[index]
        time = when(row.timestamp, self.now)
        marker = "● " if row.here else ("• " if row.on_path else "  ")
        label = f"[{clip(row.label, LABEL_CELLS)}] " if row.label else ""
        tail = f"  ▸ {row.folded} more" if row.folded else ""
        here = "  ← current" if row.here else ""
        fixed = 4 + cells(row.prefix + label + tail + here)  # cursor and marker: 4
        text = clip(row.text, max(8, width - fixed - len(time) - 2))
        style = KIND_STYLES.get(row.kind, "class:dim" if row.kind in DIM_KINDS else "")
        pad = " " * max(1, width - fixed - cells(text) - len(time) - 1)
        return [
            ("class:here" if selected else "", "› " if selected else "  "),
            ("class:dim", row.prefix),
            ("class:here" if row.here else "class:dim", marker),
            ("class:label", label),
            (style, text),
            ("class:dim", tail),
            ("class:here", here),
            ("class:dim", pad + time),
        ]

    def status(self) -> StyleAndTextTuples:
        count = len(self.rows)
        return [
            ("class:dim", f"{self.selected + 1 if count else 0}/{count} · filter: "),
            ("class:key", FILTER_TITLES[FILTERS[self.filter]]),
            ("class:dim", f" · {len(self.conversation.session.entries)} entries"),
        ]

    def searched(self) -> None:
        self._rows()

    # --- keys ------------------------------------------------------------------------------------------

    def extra_keys(self, keys: KeyBindings, browsing: Any) -> None:
        from prompt_toolkit.key_binding import KeyPressEvent

        @keys.add("c-o", filter=browsing)
        @keys.add("s-tab", filter=browsing)
        def _filter(event: KeyPressEvent) -> None:
            step = -1 if event.key_sequence[0].key == "s-tab" else 1
            self.filter = (self.filter + step) % len(FILTERS)
            self._rows()

        @keys.add("left", filter=browsing)
        def _fold(event: KeyPressEvent) -> None:
            if not self.rows or self.query:
                return
            row = self.rows[self.selected]
            if row.foldable and not row.folded:
                self.folded.add(row.entry_id)
                self._rows()
            else:
                self.selected = branch_point_above(self.rows, self.selected)

        @keys.add("right", filter=browsing)
        def _unfold(event: KeyPressEvent) -> None:
            if self.rows and self.rows[self.selected].entry_id in self.folded:
                self.folded.discard(self.rows[self.selected].entry_id)
                self._rows()

        @keys.add("c-l", filter=browsing)
        def _label(event: KeyPressEvent) -> None:
            if self.rows:
                row = self.rows[self.selected]
                self.read_line(
                    "label (empty clears): ", row.label or "", lambda text: self._labelled(row.entry_id, text)
                )

    def _labelled(self, entry_id: str, text: str | None) -> None:
        if text is None:
            return
        before = self.model.labels.get(entry_id)
        if text.strip() == (before or ""):
            return
        try:
            self.conversation.label(entry_id, text.strip())
        except KitError as exc:  # the session cannot be written: say so, keep the navigator open
            self.notice = f"not labelled: {exc.message}"
            return
        self._reload()
        self.notice = f"labelled: {text.strip()}" if text.strip() else f"label {before!r} cleared"

    def chosen(self) -> None:
        row = self.rows[self.selected]
        if self.picking_message:
            if row.kind != "user":
                self.notice = "pick one of your messages: the new session starts just before it"
                return
            self.finish(TreeChoice(row.entry_id))
            return
        left = self.conversation.leaving(row.entry_id)
        if not left:
            self.finish(TreeChoice(row.entry_id))
            return
        self._ask_summary(row.entry_id, len(left))

    def _ask_summary(self, entry_id: str, count: int) -> None:
        """Leaving a branch with messages: summarize them into the new position's context?"""

        def instructions() -> None:
            def done(text: str | None) -> None:
                if text is None or not text.strip():
                    self._ask_summary(entry_id, count)
                else:
                    self.finish(TreeChoice(entry_id, summarize=True, instructions=text.strip()))

            self.read_line(
                "instructions for the summary: ",
                "",
                done,
                "Enter summarize with them · Esc back to the question",
            )

        def plain() -> None:
            self.finish(TreeChoice(entry_id))

        self.ask(
            f"Leaving {count} message{'s' if count != 1 else ''} of this branch behind: summarize them "
            "into the context of where you go?",
            {
                "n": plain,
                "enter": plain,
                "s": lambda: self.finish(TreeChoice(entry_id, summarize=True)),
                "i": instructions,
            },
            "n/Enter no summary · s summarize · i summarize with your instructions · Esc back",
        )
