"""Typed results: `mypy --strict` accepts a typed user script and catches misuse of the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api as mypy_api

from kit_py import ScriptedModel
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`: an isolated home and cwd)
from tests.conftest import REPO
from tests.typed_api_example import main

EXAMPLE = Path(__file__).with_name("typed_api_example.py")
MISUSE = '''
from pydantic import BaseModel
from kit_py import Agent, tool

class Point(BaseModel):
    x: int

@tool
def double(n: int) -> int:
    """Double a number."""
    return n * 2

session = Agent().session()
label: str = double(2)
double("two")
session.run(42)
session.json("a point", schema=Point).output.y
'''


# kit_py's types are what is checked: the model library behind it is not read (it only slows mypy).
CONFIG = """
[mypy]
[mypy-litellm.*,openai.*,tiktoken.*,tokenizers.*,huggingface_hub.*,aiohttp.*,mcp.*]
follow_imports = skip
"""


def strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *files: Path) -> tuple[str, int]:
    """mypy --strict over `files` only (kit_py and pydantic are read, not reported), from the project
    root, where it finds kit_py and its py.typed marker."""
    config = tmp_path / "mypy.ini"
    config.write_text(CONFIG)
    cache = REPO / ".mypy_cache" / "api-typing"  # kept between runs: a warm check takes about a second
    monkeypatch.chdir(REPO)
    arguments = ["--strict", "--follow-imports=silent", "--no-error-summary", f"--cache-dir={cache}"]
    out, err, status = mypy_api.run([*arguments, f"--config-file={config}", *map(str, files)])
    return out + err, status


def test_a_typed_user_script_passes_mypy_strict_and_runs(api, tmp_path, monkeypatch):
    report, status = strict(tmp_path, monkeypatch, EXAMPLE)
    monkeypatch.chdir(tmp_path)
    assert (status, report) == (0, "")
    replies = ["It is sunny.", '{"city": "Paris", "celsius": 21.5}', "Still sunny.", "Tomorrow too."]
    model = ScriptedModel(replies)
    assert main(model) == "Oslo It is sunny. 21.5 Still sunny. Tomorrow too. True"


def test_mypy_strict_catches_misuse_of_the_api(tmp_path, monkeypatch):
    misuse = tmp_path / "misuse.py"
    misuse.write_text(MISUSE)
    report, status = strict(tmp_path, monkeypatch, misuse)
    assert status == 1
    problems = {int(line.split(":")[1]): line.split(": error: ")[1] for line in report.splitlines()}
    assert 'expression has type "int", variable has type "str"' in problems[14], report  # @tool's return
    assert 'incompatible type "str"; expected "int"' in problems[15], report  # @tool's parameters
    assert 'incompatible type "int"; expected "str"' in problems[16], report  # run(prompt: str)
    assert '"Point" has no attribute "y"' in problems[17], report  # json(schema=Point).output: Point
