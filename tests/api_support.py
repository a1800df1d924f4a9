"""Fixtures for the Python API tests: an isolated KIT_HOME and a scripted provider reached via env vars.

`KIT_API_BASE` points every `Agent` at the scripted provider, so examples written with real model
names (`Agent(model="openai/gpt-4o")`) run unchanged against it.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest

from tests.provider import ScriptedProvider


@pytest.fixture(name="api")
def api_fixture(
    provider: ScriptedProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ScriptedProvider:
    """The scripted provider as every Agent's default endpoint (env vars); cwd is a temp project."""
    for key in list(os.environ):
        if key.startswith("KIT_") or key.endswith(("_API_KEY", "_API_BASE", "_BASE_URL")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KIT_HOME", str(tmp_path / "kithome"))
    monkeypatch.setenv("KIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("KIT_API_BASE", provider.base_url)
    monkeypatch.setenv("KIT_MODEL", "openai/scripted")
    monkeypatch.setenv("KIT_RETRY_BASE_DELAY", "0.01")
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    monkeypatch.chdir(project)
    return provider


def run_source(source: str, namespace: dict[str, Any], filename: str = "<snippet>") -> None:
    """Execute code exactly as written, top-level `await` included (as in a notebook)."""
    import asyncio
    import inspect

    code = compile(source, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    outcome = eval(code, namespace)  # noqa: S307 - trusted test/doc source
    if inspect.iscoroutine(outcome):
        asyncio.run(outcome)
