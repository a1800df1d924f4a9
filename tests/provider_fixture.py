"""pytest fixture that gives each test its own scripted OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.provider import ScriptedProvider


@pytest.fixture
def provider() -> Iterator[ScriptedProvider]:
    """A started ScriptedProvider on 127.0.0.1 (random port), stopped after the test."""
    server = ScriptedProvider().start()
    try:
        yield server
    finally:
        server.stop()
