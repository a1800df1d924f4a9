"""Every ```python block of docs/api.md runs against the scripted provider, so the docs cannot drift.

Blocks run in order, one shared namespace per `##` section (a section is what a reader copies).
An HTML comment `<!-- replies: [...] -->` right before a block scripts the model for it: each item
is `ScriptedProvider.reply` keyword arguments, or `{"error": status}`. Every scripted reply must be
used, so an example that stops calling the model fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.api_support import api_fixture, run_source  # noqa: F401  (fixture `api`)
from tests.postgres_support import postgres_url  # noqa: F401  (fixture: a real PostgreSQL server)

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BLOCK = re.compile(r"(?:<!-- replies: (?P<replies>.*?) -->\n)?```python\n(?P<code>.*?)```", re.DOTALL)


def sections() -> dict[str, str]:
    parts = re.split(r"^## (.+)$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


SECTIONS = {title: body for title, body in sections().items() if BLOCK.search(body)}


def test_the_page_documents_every_feature_with_runnable_examples():
    expected = {
        "Quick start",
        "Streaming",
        "Async",
        "Structured output",
        "Tools",
        "Safe mode",
        "Errors",
        "Forking and serialization",
        "Stores",
        "PostgreSQL",
        "Channels",
        "Context management",
        "Branches",
        "Testing your code",
    }
    assert expected <= set(SECTIONS)
    intro = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)[0]
    assert not BLOCK.search(intro), "examples belong to a section"


@pytest.mark.parametrize("title", list(SECTIONS))
def test_doc_section_runs(api, title, request, monkeypatch):
    if title == "PostgreSQL":  # its examples talk to a real server, named by the environment
        monkeypatch.setenv("KIT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    namespace: dict = {"__name__": "__docs__"}
    for n, block in enumerate(BLOCK.finditer(SECTIONS[title])):
        for reply in json.loads(block["replies"] or "[]"):
            if "error" in reply:
                api.error(reply.pop("error"), **reply)
            else:
                api.reply(**reply)
        run_source(block["code"], namespace, filename=f"docs/api.md [{title} #{n + 1}]")
        assert api.pending == 0, f"block {n + 1} of {title!r} did not use all its scripted replies"
