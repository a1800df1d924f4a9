"""Fixtures for the end-to-end suite against the real embedded local model (`make test-local`).

Every test here is marked `local_model` (pytest's addopts leave them out of `make test`). The tests run
kit with no provider key and no model flag, as a new user does, so the local model answers. Answers are
kept short (`max_tokens`) and the assertions are about structure and persistence, never wording.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kit_py.llm import local

MAX_TOKENS = 24


@pytest.fixture(autouse=True)
def _the_local_model_is_installed() -> None:
    """This suite proves the local model works: without its runtime it fails, it never skips."""
    assert local.available(), f"the local model is not installed: {local.missing_runtime()} ({local.INSTALL})"


@pytest.fixture
def short_answers(kit_env: dict[str, str]) -> dict[str, str]:
    """The test home's config with a short answer limit (keeps every turn to a second or two)."""
    config = Path(kit_env["HOME"]) / ".kit.yml"
    config.write_text(config.read_text() + f"max_tokens: {MAX_TOKENS}\n")
    return kit_env


def session_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def children_of(pid: int) -> list[int]:
    """The processes `pid` started (all its threads' children, from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def is_local_server(pid: int) -> bool:
    try:
        return b"kit_py/llm/local_server.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
