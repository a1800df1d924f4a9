"""`/tree`, `/fork`, `/clone`, `/label` and `/resume`: the REPL's side of branching.

The operations are the conversation's (`navigate`, `fork_to_edit`, `clone`, `label`, `switch_to`;
kit_py/engine/conversation.py), shared with the API; what is here is the REPL's part: the full-screen
navigator and picker, the spinner while a branch summary is written, what is said afterwards, the
history of the branch arrived at, and the message given back to edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kit_py.errors import KitError, UsageError

if TYPE_CHECKING:
    from kit_py.engine.conversation import Conversation
    from kit_py.repl.face import ReplFace as Repl
    from kit_py.repl.tree_view import TreeChoice

BOOKKEEPING = frozenset({"label", "session_info", "extension_data", "model_change"})


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _show_branch(repl: Repl) -> None:
    """Draw the branch the conversation is on now: what the model will see next."""
    from kit_py.terminal.turn_view import render_history

    render_history(repl.console, repl.session.path_entries(), repl.theme.code_theme)


def _style(repl: Repl) -> object:
    from kit_py.terminal.theme import prompt_style

    return prompt_style(repl.theme)


# --- /tree -------------------------------------------------------------------------------------------


def tree_command(repl: Repl, args: str) -> None:
    from kit_py.repl.tree_view import TreeNavigator

    if not repl.session.entries:
        repl.note("this session is empty: there is no tree to show yet")
        return
    choice = TreeNavigator(repl.conversation, style=_style(repl)).run()
    if choice is None:
        repl.note("tree closed: you are where you were")
        return
    go_to(repl, choice)


def go_to(repl: Repl, choice: TreeChoice) -> None:
    """Move the conversation to the entry picked in the navigator, summarizing the branch left
    when asked to; the history of the branch arrived at is drawn, a user message comes back to edit."""
    from kit_py.compaction.branch import BranchSummaryCancelled

    conversation = repl.conversation
    try:
        if choice.summarize:
            with repl.console.status("summarizing the branch you leave…", spinner="dots"):
                moved = conversation.navigate(
                    choice.entry_id, summarize=True, instructions=choice.instructions
                )
        else:
            moved = conversation.navigate(choice.entry_id)
    except BranchSummaryCancelled as cancelled:
        repl.warn(f"⏹ {cancelled.message}")
        return
    except KitError as exc:
        repl.error(f"{exc.message} (nothing moved)")
        return
    if moved.moved:
        _show_branch(repl)
    if moved.summary is not None:
        repl.note(
            "the branch you left is summarized; the summary goes with the next message as branch context"
        )
    if moved.edit_text is not None:
        repl.pending_input = moved.edit_text
        repl.note(
            f"back before your message {_short(moved.edit_text)!r}: edit it and press Enter "
            "(the old branch stays in the tree)"
        )
    elif moved.moved:
        repl.note("moved: the next message continues from here (the branch you left stays in the tree)")
    else:
        repl.note("you are already there")


# --- /fork, /clone -------------------------------------------------------------------------------------


def fork_command(repl: Repl, args: str) -> None:
    from kit_py.repl.tree_view import TreeNavigator

    if not any(e.get("type") == "message" and e.get("role") == "user" for e in repl.session.entries):
        repl.note("nothing to fork yet: this session has no message of yours")
        return
    choice = TreeNavigator(repl.conversation, picking_message=True, style=_style(repl)).run()
    if choice is None:
        repl.note("nothing forked: you are where you were")
        return
    forked, text = repl.conversation.fork_to_edit(choice.entry_id)
    _continue_in(repl, forked, "forked")
    if text is not None:
        repl.pending_input = text
        repl.note("your message is back to edit: press Enter to send it in the new session")


def clone_command(repl: Repl, args: str) -> None:
    if repl.session.leaf_id is None:
        repl.note("nothing to clone yet: this session is empty")
        return
    _continue_in(repl, repl.conversation.clone(), "cloned")


def _continue_in(repl: Repl, forked: Conversation, how: str) -> None:
    """Switch the REPL's conversation to the new session `forked` and say where it is."""
    old = repl.session
    repl.conversation.switch_to(forked.session)
    new = repl.session
    _show_branch(repl)
    if new.in_memory:
        where = "in memory (--no-session: nothing is saved)"
    elif new.path is not None and new.path.exists():
        where = str(new.path)
    else:
        where = f"{new.path} (written with your first message)"
    repl.console.print(
        f"{how} session {old.session_id[:12]} into a new session {new.session_id[:12]}: {where}; "
        f"the original stays as it was (kit -s {old.session_id[:12]})",
        style="kit.note",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


# --- /label --------------------------------------------------------------------------------------------


def label_target(repl: Repl) -> str | None:
    """The entry `/label` names: where the conversation stands, passing over bookkeeping entries
    (a label is itself one: labelling twice must not label the first label)."""
    tree = repl.session.tree
    node = repl.session.leaf_id
    while node is not None and tree.by_id[node].get("type") in BOOKKEEPING:
        node = tree.parent_of(node)
    return node


def label_command(repl: Repl, args: str) -> None:
    target = label_target(repl)
    if target is None:
        repl.note("nothing to label yet: this session is empty")
        return
    current = repl.session.labels.get(target)
    text = " ".join(args.split())
    if text:
        repl.conversation.label(target, text)
        repl.note(f"labelled this point {text!r} (/tree shows it; Ctrl-O there lists labelled entries)")
    elif current:
        repl.conversation.label(target, "")
        repl.note(f"label {current!r} cleared")
    else:
        repl.note("this point has no label: /label <text> sets one")


# --- /resume -------------------------------------------------------------------------------------------


def resume_command(repl: Repl, args: str) -> None:
    from kit_py.repl.session_picker import SessionPicker

    if repl.session.in_memory:
        raise UsageError("this chat writes nothing (--no-session), so it does not open saved sessions")
    picker = SessionPicker(
        str(repl.cwd),
        current=repl.session.path if repl.session.entries else None,
        rename_current=repl.conversation.rename,
        style=_style(repl),
    )
    picked = picker.run()
    if picked is None:
        repl.note("no session picked: you are where you were")
        return
    if repl.session.path is not None and _same_file(picked, repl.session.path):
        repl.note("that is the session you are in")
        return
    open_session(repl, picked)


def open_session(repl: Repl, path: Path) -> None:
    """Continue in the session file `path` (the one the REPL was in stays as it was)."""
    from kit_py.session import SessionManager

    try:
        session = SessionManager.open(path)  # a ForeignSessionError is said by the command runner
    except OSError as exc:
        repl.error(f"cannot open {path}: {exc.strerror or exc} (you are where you were)")
        return
    for warning in session.warnings:
        repl.warn(f"warning: {warning}")
    repl.conversation.switch_to(session)
    _show_branch(repl)
    messages = sum(1 for e in session.path_entries() if e.get("type") == "message")
    repl.note(f"resumed {session.name or session.session_id[:12]} · {messages} messages on this branch")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return a == b
