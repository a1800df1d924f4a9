"""`kit --fork ID` and `kit -r` / `--resume` from the shell, in process: a prompt goes to a copy of the
session's branch (the original stays as it was), and the picker refuses what it cannot do."""

from __future__ import annotations

import json

from kit_py.errors import ExitCode
from tests.conftest import session_files


def test_fork_with_a_prompt_answers_in_a_copy_of_the_whole_branch(run_kit, kit_env, provider):
    provider.reply("one")
    assert run_kit("first").returncode == 0
    original = session_files(kit_env)[0]
    session_id = json.loads(original.read_text().splitlines()[0])["id"]
    before = original.read_bytes()

    provider.reply("forked answer")
    result = run_kit("--fork", session_id[:8], "second, in a fork")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "forked answer"
    assert f"forked session {session_id[:12]} into" in result.stderr
    assert [m["content"] for m in provider.last_messages()] == ["first", "one", "second, in a fork"]
    assert original.read_bytes() == before, "the original is untouched"
    fork = next(p for p in session_files(kit_env) if p != original)
    header = json.loads(fork.read_text().splitlines()[0])
    assert header["parent_session_id"] == session_id and header["parent_session"] == str(original)

    quiet = run_kit("--fork", session_id[:8], "-q", "again")
    assert quiet.returncode == 0 and "forked" not in quiet.stderr


def test_resume_and_fork_say_what_they_cannot_do(run_kit):
    piped = run_kit("-r")  # stdin is not a terminal here
    assert piped.returncode == ExitCode.USAGE
    assert "--resume opens a session picker in the terminal" in piped.stderr
    assert len(piped.stderr.strip().splitlines()) == 1
    both = run_kit("-r", "-c")
    assert both.returncode == ExitCode.USAGE and "use only one of" in both.stderr
    missing = run_kit("--fork", "nosuchsession", "hello")
    assert missing.returncode == ExitCode.SESSION and "nosuchsession" in missing.stderr
