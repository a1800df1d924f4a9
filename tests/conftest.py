"""Shared fixtures: an isolated home for every test and a way to run the real `kit` executable."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.provider_fixture import provider  # noqa: F401  (re-exported fixture)

REPO = Path(__file__).resolve().parent.parent
MODEL = "openai/scripted"


def kit_command() -> list[str]:
    """The installed console script when present (as users run it), else `python -m kit_py`."""
    script = Path(sys.executable).parent / "kit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kit_py"]


@pytest.fixture
def kit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment with KIT_HOME, config dir and HOME in a temp folder and no provider keys."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_API_BASE")) and not k.startswith("KIT_")
    }
    env.update(
        HOME=str(home),
        KIT_HOME=str(tmp_path / "kithome"),
        KIT_CONFIG_DIR=str(tmp_path / "config"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        PYTHONPATH=str(REPO),
        KIT_RETRY_BASE_DELAY="0.05",
        NO_COLOR="1",
        TERM="xterm-256color",
    )
    monkeypatch.setenv("KIT_HOME", env["KIT_HOME"])
    monkeypatch.setenv("KIT_CONFIG_DIR", env["KIT_CONFIG_DIR"])
    return env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The directory kit runs in (its cwd decides the sessions folder)."""
    d = tmp_path / "project"
    d.mkdir()
    return d


RunKit = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_kit(kit_env: dict[str, str], workdir: Path, provider) -> RunKit:  # noqa: F811
    """Run `kit` against the scripted provider; stdin is empty unless `input` is given."""

    def run(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
        provider_flags: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        flags = ["-m", MODEL, "--api-base", provider.base_url] if provider_flags else []
        return subprocess.run(
            [*kit_command(), *flags, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env={**kit_env, **(env or {})},
            cwd=cwd or workdir,
            timeout=timeout,
        )

    return run


def session_files(kit_env: dict[str, str]) -> list[Path]:
    root = Path(kit_env["KIT_HOME"]) / "sessions"
    return sorted(root.rglob("*.jsonl")) if root.exists() else []
