"""Branching in a real terminal (pexpect) through the real `kit`: the `/tree` navigator, labels, branch
summaries, editing an earlier message, the position after a restart, `/fork`, `/clone` and the session
picker of `kit -r` / `/resume`, checked on the screen, in the files and in the provider's requests."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from kit_py.catalog import sessions_dir_for
from kit_py.catalog.verify import verify_file
from kit_py.session import SessionManager, message_text
from kit_py.session import format as fmt
from tests.conftest import session_files
from tests.test_repl_pty import CSI, CTRL_C, CTRL_D, ENTER, Screen, Terminal

DOWN, HOME, ESC, TAB = "\x1b[B", "\x1b[H", "\x1b", "\t"
CTRL_L, CTRL_O, CTRL_R = "\x0c", "\x0f", "\x12"


class Screens:
    """The screen of each terminal, fed only with what arrived since the last look (a full-screen
    view redraws in place, so what it shows is read from the screen, not from the byte stream)."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[Screen, int]] = {}

    def rows(self, term: Terminal) -> list[str]:
        screen, fed = self.seen.get(id(term), (Screen(), 0))
        data = term.raw
        end = len(data)
        escape = data.rfind("\x1b", fed)
        if escape >= 0 and not CSI.match(data, escape) and end - escape < 16:
            end = escape  # an escape sequence cut between two reads: feed it whole next time
        screen.feed(data[fed:end])
        self.seen[id(term)] = (screen, end)
        return ["".join(row).rstrip() for row in screen.grid]


SCREENS = Screens()


def shown(term: Terminal, needle: str, timeout: float = 20) -> list[str]:
    """The rows on screen once one of them holds `needle` and the redraw is over (nothing more
    arrived for a moment: a screen can be read half drawn)."""
    deadline = time.monotonic() + timeout
    while True:
        term._pump(0.05)
        rows = SCREENS.rows(term)
        if any(needle in row for row in rows):
            settled = len(term.raw)
            term._pump(0.15)
            if len(term.raw) == settled:
                return SCREENS.rows(term)
        elif time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not on screen:\n" + "\n".join(rows))


def row_of(rows: list[str], text: str) -> str:
    return next(row for row in rows if text in row)


def entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def test_tree_moves_between_branches_labels_summarizes_and_the_position_survives_a_restart(
    kit_env, workdir, provider
):
    term = Terminal.kit(provider, kit_env, workdir)
    for prompt, answer in (("first question", "answer one"), ("second", "answer two")):
        provider.reply(answer)
        term.line(prompt)
        term.expect(answer, timeout=60)  # the first answer waits for litellm's import (slow when loaded)
    term.line("/undo")
    term.expect("undone")
    term.send(CTRL_C)  # clear the prompt /undo gave back
    provider.reply("answer two b")
    term.line("second b")
    term.expect("answer two b")
    path = session_files(kit_env)[0]
    written = len(entries(path))

    # Esc cancels: nothing is written.
    term.line("/tree")
    rows = shown(term, "← current")
    assert "answer two b" in row_of(rows, "← current") and "└─" in row_of(rows, "user: second  ")
    term.send(ESC)
    term.expect("tree closed: you are where you were")
    assert len(entries(path)) == written

    # Filters cycle with Ctrl-O; Ctrl-L labels the selected entry at once.
    term.line("/tree")
    shown(term, "← current")
    term.send(CTRL_O + CTRL_O)
    rows = shown(term, "filter: user messages only")
    assert not any("answer one" in row for row in rows) and any("user: second b" in row for row in rows)
    term.send(CTRL_O + CTRL_O + CTRL_O + HOME + CTRL_L)
    shown(term, "label (empty clears)")
    term.send("good start" + ENTER)
    rows = shown(term, "labelled: good start")
    assert "[good start] user: first question" in row_of(rows, "first question")

    # Type to search, go to the old branch's answer and summarize the branch left behind.
    term.send("answer two")
    shown(term, "search: answer two")
    term.send(DOWN + ENTER)
    shown(term, "Leaving 2 messages")
    provider.reply("they tried b")
    term.send("s")
    term.expect("the branch you left is summarized")
    summary_request = provider.last_messages()[1]["content"]
    assert "[User]: second b" in summary_request and "[User]: first question" not in summary_request
    provider.reply("going on")
    term.line("go on")
    term.expect("going on")
    sent = [m["content"] for m in provider.last_messages()]
    assert sent[:4] == ["first question", "answer one", "second", "answer two"]
    assert sent[4].startswith("[Branch context: ") and "they tried b" in sent[4] and sent[5] == "go on"

    # /retry answers again beside the old answer; /label labels where you are; Enter on a message of
    # yours steps before it and gives it back.
    provider.reply("going on, again")
    term.line("/retry")
    term.expect("going on, again")
    term.line("/label milestone")
    term.expect("labelled this point 'milestone'")
    term.line("/tree")
    rows = shown(term, "← current")
    assert "[milestone] assistant: going on, again" in row_of(rows, "← current")
    assert any(row.strip().startswith("│  └─   user: go on") for row in rows), "the retried turn stays"
    assert any(re.search(r"  assistant: going on +\d\d:\d\d$", row) for row in rows)
    term.send(HOME + ENTER)
    shown(term, "Leaving")
    term.send(ENTER)  # no summary
    term.expect("back before your message 'first question'")
    provider.reply("edited answer")
    term.send(" (edited)" + ENTER)
    term.expect("edited answer")
    assert [m["content"] for m in provider.last_messages()] == ["first question (edited)"]

    # Back to the b branch without a message; the position is in the file and survives a restart.
    term.line("/tree")
    shown(term, "← current")
    term.send("answer two b")
    shown(term, "search: answer two b")
    term.send(ENTER)
    shown(term, "Leaving 2 messages")
    term.send("n")
    term.expect("moved: the next message continues from here")
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    reopened = SessionManager.open(path)
    assert message_text(reopened.get(reopened.leaf_id or "") or {}) == "answer two b"
    assert reopened.labels and sorted(reopened.labels.values()) == ["good start", "milestone"]
    assert len(session_files(kit_env)) == 1, "every branch lives in the one file"
    report = verify_file(path)
    assert report.ok, report.problems  # links, the hash chain, and Go kit can read every line

    term = Terminal.kit(provider, kit_env, workdir, "-c")
    term.ready()
    term.send("/tree" + ENTER)
    assert "answer two b" in row_of(shown(term, "← current"), "← current")
    term.send(ESC)
    term.expect("tree closed")
    term.ready()
    term.send(CTRL_D)
    assert term.wait_exit() == 0


def saved(folder: Path, cwd: str, turns: list[tuple[str, str]], name: str | None = None) -> SessionManager:
    session = SessionManager.create(folder, cwd)
    session.append(fmt.model_change("openai", "scripted"))
    for prompt, answer in turns:
        session.append(fmt.message("user", [fmt.text_part(prompt)]))
        session.append(fmt.message("assistant", [fmt.text_part(answer)]))
    if name:
        session.set_name(name)
    session.close()
    return session


def test_resume_picker_fork_and_clone(kit_env, workdir, provider, tmp_path):
    home = Path(kit_env["KIT_HOME"])
    here = sessions_dir_for(str(workdir), home)
    alpha = saved(here, str(workdir), [("alpha one", "a1"), ("alpha two", "a2")], name="alpha")
    rotate = saved(here, str(workdir), [("rotate the model", "use quaternions")])
    other = saved(sessions_dir_for("/somewhere/else", home), "/somewhere/else", [("far away", "ok")])
    assert alpha.path and rotate.path and other.path

    term = Terminal.kit(provider, kit_env, workdir, "-r")
    rows = shown(term, "alpha")
    assert any("rotate the model" in row for row in rows) and not any("far away" in row for row in rows)
    term.send("quaternions")  # in no name or first message: found in the message content
    rows = shown(term, "1/1 of 2 sessions")
    assert any("rotate the model" in row for row in rows) and not any("alpha" in row for row in rows)
    term.send(CTRL_R)
    shown(term, "new name:")
    term.send("spatial" + ENTER)
    shown(term, "renamed: spatial")
    term.send(ESC)  # clears the search
    shown(term, "1/2 of 2 sessions")
    term.send(TAB)  # all directories
    rows = shown(term, "far away")
    assert "/somewhere/else" in row_of(rows, "far away")
    term.send("far away")
    shown(term, "search: far away")
    term.send("\x04")  # Ctrl-D: delete, after a question
    shown(term, "to the trash?")
    term.send("y")
    shown(term, "moved to the trash")
    assert not other.path.exists() and list((home / "trash").rglob("*.jsonl"))
    term.send(ESC)
    shown(term, "of 2 sessions")
    term.send(TAB)
    shown(term, "this directory")
    term.send("alpha" + ENTER)
    term.expect("resumed alpha")
    assert SessionManager.open(rotate.path).name == "spatial"

    term.line("/fork")
    rows = shown(term, "Fork: pick the message")
    assert any("user: alpha two" in row for row in rows) and not any("a1" in row for row in rows)
    term.send(ENTER)
    term.expect("your message is back to edit")
    term.expect("alpha two")  # in the input line, to edit and send in the new session
    forks = [p for p in session_files(kit_env) if p not in (alpha.path, rotate.path)]
    assert len(forks) == 1
    header = json.loads(forks[0].read_text().splitlines()[0])
    assert header["parent_session_id"] == alpha.session_id and header["parent_session"] == str(alpha.path)
    assert [message_text(e) for e in entries(forks[0]) if e["type"] == "message"] == ["alpha one", "a1"]
    assert len(entries(alpha.path)) == 6, "the original is untouched"

    term.send(CTRL_C)
    term.settle()
    term.send("/clone" + ENTER)
    term.expect("cloned session")
    clones = [p for p in session_files(kit_env) if p not in (alpha.path, rotate.path, forks[0])]
    assert len(clones) == 1 and entries(clones[0]) == entries(forks[0])
    term.ready()
    term.send("/resume" + ENTER)
    rows = shown(term, "(current)")
    listed = [row for row in rows if "msgs" in row]
    at = next(i for i, row in enumerate(listed) if "alpha" in row)
    assert "  └ alpha one" in listed[at + 1] and "    └ alpha one" in listed[at + 2], listed
    assert "(current)" in listed[at + 2], "a fork is listed under the session it came from"
    term.send(ESC)
    term.expect("no session picked: you are where you were")
    term.ready()
    term.send(CTRL_D)
    assert term.wait_exit() == 0
