"""`/export`, `/share` and `/import` typed in the real REPL (a pseudo-terminal), with a stand-in `gh`."""

from __future__ import annotations

import json
from pathlib import Path

from kit_py.session import format as fmt
from tests.conftest import session_files
from tests.exchange_sessions import build_session
from tests.test_exchange_share import OPENAI_KEY, URL, calls, gh, uploads  # noqa: F401  (gh: a fixture)
from tests.test_repl_pty import ENTER, Terminal

PI_FILE = [
    {
        "type": "session",
        "version": 3,
        "id": "7c1d2e3f-0000-4000-8000-000000000003",
        "timestamp": "2026-02-01T10:00:00Z",
        "cwd": "/home/pi/other",
    },
    {
        "type": "message",
        "id": "a0000001",
        "parentId": None,
        "timestamp": "2026-02-01T10:00:01Z",
        "message": {"role": "user", "content": "What is pi?", "timestamp": 1},
    },
    {
        "type": "message",
        "id": "a0000002",
        "parentId": "a0000001",
        "timestamp": "2026-02-01T10:00:02Z",
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "A coding agent."}],
            "provider": "openai",
            "model": "gpt-4o",
            "stopReason": "stop",
            "usage": {"input": 9, "output": 4, "cacheRead": 0, "cacheWrite": 0, "cost": {"total": 0.001}},
        },
    },
]


def has(text: str, needle: str) -> bool:
    """`needle` in `text`, whatever the terminal's line wrapping did to the spaces of either."""
    return "".join(needle.split()) in "".join(text.split())


def test_export_share_and_import_from_the_chat(kit_env, workdir, provider, gh, tmp_path):  # noqa: F811
    pi = tmp_path / "pi-session.jsonl"
    pi.write_text("".join(json.dumps(line) + "\n" for line in PI_FILE))
    session = build_session(str(workdir), Path(kit_env["KIT_HOME"])).session
    session.append(fmt.message("user", [fmt.text_part(f"my key is {OPENAI_KEY}")]))
    session.close()
    sid = session.session_id
    term = Terminal.kit(provider, {**kit_env, **gh}, workdir, "-s", sid[:12])
    assert "resumed Parser fix" in term.ready()

    term.send("/export" + ENTER)
    default = workdir / f"parser-fix-{sid[:8]}.html"
    assert f"exported html to {default}" in term.ready()
    assert default.read_bytes().startswith(b"<!DOCTYPE html>")
    term.send("/export notes.md" + ENTER)
    assert "exported markdown to" in term.ready()
    term.send("/export notes.md" + ENTER)
    assert has(term.ready(), "notes.md already exists; use --force to overwrite it")
    (workdir / "notes.md").write_text("old")
    term.send("/export notes.md --force" + ENTER)
    assert "exported markdown to" in term.ready()
    assert "my key is" in (workdir / "notes.md").read_text()

    term.send("/share" + ENTER)
    term.expect("found 1 possible secret in this session:")
    term.expect(f"OpenAI API key: {OPENAI_KEY[:4]}…{OPENAI_KEY[-4:]}")
    term.expect("Upload anyway? [y]es as they are, [r]edact them, [N]o:")
    term.send("r" + ENTER)
    assert f"shared as a secret gist (1 secret(s) redacted): {URL}" in term.ready()
    sent = uploads(gh)[".jsonl"]
    assert OPENAI_KEY.encode() not in sent and b"my key is [REDACTED OpenAI API key]" in sent
    term.send("/share" + ENTER)
    term.expect("Upload anyway?")
    term.send(ENTER)  # the default is no
    assert "not shared: nothing was uploaded" in term.ready()
    assert [c[:2] for c in calls(gh)] == [["auth", "status"], ["gist", "create"], ["auth", "status"]]

    term.send(f"/import {pi}" + ENTER)
    shown = term.ready()
    assert "What is pi?" in shown and "A coding agent." in shown, "the imported conversation is drawn"
    assert f"imported pi session {pi} (3 entries)" in shown and "you are in it now" in shown
    (imported,) = [p for p in session_files(kit_env) if p != session.path]
    term.send("/session" + ENTER)
    assert has(term.ready(), f"path {imported}")
    term.send("/quit" + ENTER)
    assert term.wait_exit() == 0
    assert provider.chat_requests == []
    assert pi.read_text().count("\n") == 3, "the pi file is untouched"
