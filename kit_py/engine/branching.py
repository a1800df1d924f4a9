"""Moving around a session tree, listing its branches and copying a branch out of it (pure planning
plus one copy step).

`Conversation.navigate`, `fork_to_edit` and `fork` (kit_py/engine/conversation.py) are the operations;
this module holds the rules they share, so the REPL's `/tree` and `/fork`, `kit --fork` and the API
agree: where a move to an entry puts the leaf (`edit_point`), and which entries a copy of a branch
must carry so that its context is the same as the original's (`branch_chain`, `copy_branch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kit_py.session import SessionManager
from kit_py.session import format as fmt
from kit_py.session.context import kept_segment

if TYPE_CHECKING:
    from kit_py.session import Tree

Entry = dict[str, Any]


@dataclass(frozen=True)
class Navigation:
    """What a move in the tree did: the entry the conversation continues from (None: an empty
    branch), the text given back to edit (moving to a user message), the `branch_summary` entry
    written under that entry for the branch left (or None), and whether anything moved at all."""

    leaf: str | None
    edit_text: str | None
    summary: Entry | None
    moved: bool


def edit_point(tree: Tree, entry_id: str) -> tuple[str | None, str | None]:
    """Where choosing `entry_id` puts the leaf, and the text to put in the input.

    A user message is chosen to be asked again (edited): the leaf goes to its parent and its text
    comes back as it was typed. A `kit:leaf` marker stands for the entry it points at. Anything else
    becomes the leaf itself.
    """
    entry = tree.by_id.get(entry_id)
    if entry is None:
        raise KeyError(f"no entry with id {entry_id!r}")
    if entry.get("type") == "message" and entry.get("role") == "user":
        return tree.parent_of(entry_id), fmt.typed_text(entry)
    if fmt.is_leaf_marker(entry):
        return tree.parent_of(entry_id), None
    return entry_id, None


def branch_chain(tree: Tree, entry_id: str) -> list[Entry] | None:
    """The entries a copy of the path to `entry_id` must hold when the path alone would lose context,
    as one chain (root first, `parent_id` set); None when copying the path is enough.

    That is the case of a path that starts at a Go kit ROOT compaction: the messages it keeps lie off
    the path (before it in the file). The copy puts them first and hangs the compaction under them,
    so both kit_py (path order) and Go kit (file order) keep exactly those messages after the summary.
    Older compactions inside the kept part are left out (they add nothing to the context), so the
    copy's `first_kept_entry_id` names the first entry it really keeps.
    """
    path = tree.path(entry_id)
    if not path or path[0].get("type") != "compaction" or path[0].get("parent_id") is not None:
        return None
    kept = [
        e
        for e in kept_segment(tree, path[0])
        if e.get("type") in fmt.ENTRY_TYPES and e.get("type") != "compaction"
    ]
    chain: list[Entry] = []
    for entry in [*kept, *path]:
        copy = dict(entry)
        copy.pop("parent_id", None)
        if chain:
            copy["parent_id"] = chain[-1]["id"]
        chain.append(copy)
    chain[len(kept)]["first_kept_entry_id"] = kept[0]["id"] if kept else ""  # what the copy keeps
    return chain


def copy_branch(source: SessionManager, entry_id: str, into: SessionManager) -> None:
    """Append the branch ending at `entry_id` to the empty session `into` (ids and times kept), with
    everything its context needs (`branch_chain`)."""
    chain = branch_chain(source.tree, entry_id)
    if chain is None:
        source.copy_path_into(entry_id, into)
        return
    staged = SessionManager.from_entries(source.header, chain, None)
    staged.copy_path_into(chain[-1]["id"], into)


def branch_tips(tree: Tree, leaf: str | None, count: int | None = None) -> list[str]:
    """Ids of the messages that end a branch, in file order (the order they were written), and the
    message the leaf stands at even when something continues it (after a move back, or a failed
    attempt that was stepped back from): the session is on that branch. With `count`, of the tree
    as its first `count` entries made it (before a turn that is still running)."""
    messages = [e["id"] for e in tree.entries[:count] if e.get("type") == "message"]
    continued: set[str] = set()
    for entry_id in messages:
        node = tree.parent_of(entry_id)
        while node is not None and node not in continued:
            continued.add(node)
            node = tree.parent_of(node)
    here = tip_of(tree, leaf)
    return [m for m in messages if m not in continued or m == here]


def tip_of(tree: Tree, leaf: str | None) -> str | None:
    """The message a leaf stands at: the leaf itself, or the nearest message above it."""
    node = leaf
    while node is not None:
        entry = tree.by_id[node]
        if entry.get("type") == "message":
            return node
        node = tree.parent_of(node)
    return None
