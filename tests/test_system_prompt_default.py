"""The `kit` command's default system prompt: where the model works, its tools, and the project's
AGENTS.md / CLAUDE.md from the working directory and its parents; recorded with the session, replaced
by --system-prompt. (Other tests run with `system_prompt: ""` in ~/.kit.yml, which sends none.)"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from kit_py.config import Settings
from kit_py.engine.conversation import Conversation
from kit_py.session import SessionManager
from tests.conftest import session_files


@pytest.fixture
def with_default(kit_env):
    (Path(kit_env["HOME"]) / ".kit.yml").unlink()


def _system(provider) -> str:
    first = provider.last_messages()[0]
    assert first["role"] == "system"
    return first["content"]


def test_default_prompt_names_the_place_the_tools_and_the_project_instructions(
    run_kit, provider, kit_env, workdir, with_default
):
    (workdir.parent / "AGENTS.md").write_text("Outer rule: answer in English.\n")
    (workdir / "CLAUDE.md").write_text("Inner rule: run the tests with make test.\n")
    provider.reply("ok")
    assert run_kit("hi").returncode == 0
    system = _system(provider)
    assert f"Working directory: {workdir}" in system
    assert f"Today's date: {datetime.date.today().isoformat()}" in system
    assert "- read: " in system and "- bash: " in system
    assert system.index("Outer rule") < system.index("Inner rule")  # the nearest instructions come last
    (path,) = session_files(kit_env)
    recorded = json.loads(path.read_text().splitlines()[1])
    assert recorded["role"] == "system"
    assert recorded["sources"] == [str(workdir.parent / "AGENTS.md"), str(workdir / "CLAUDE.md")]

    (workdir / "CLAUDE.md").write_text("Changed later.\n")  # a resumed session keeps its own prompt
    provider.reply("again")
    assert run_kit("-c", "more").returncode == 0
    assert _system(provider) == system
    conversation = Conversation.open(path, Settings())
    assert conversation.system_prompt_origin().startswith("default (working directory, OS, date, tools) + ")
    assert str(workdir / "CLAUDE.md") in conversation.system_prompt_origin()


def test_system_prompt_flag_replaces_the_default_and_no_tools_says_so(
    run_kit, provider, workdir, with_default
):
    (workdir / "AGENTS.md").write_text("Project rule.\n")
    provider.reply("ok")
    assert run_kit("--system-prompt", "Be terse.", "hi").returncode == 0
    assert _system(provider) == "Be terse."
    provider.reply("ok")
    assert run_kit("--no-session", "--no-tools", "hi").returncode == 0
    assert "No tools are available" in _system(provider) and "Project rule." in _system(provider)


def test_an_empty_system_prompt_sends_none(run_kit, provider, kit_env):
    provider.reply("ok")
    assert run_kit("hi").returncode == 0  # ~/.kit.yml says system_prompt: ""
    assert [m["role"] for m in provider.last_messages()] == ["user"]
    session = SessionManager.open(session_files(kit_env)[0])
    assert Conversation(session, Settings(system_prompt="")).system_prompt_origin() == "none"
