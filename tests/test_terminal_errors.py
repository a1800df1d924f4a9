"""A provider error reads as one honest line: shortened between words, never cut inside one."""

from __future__ import annotations

import json

from kit_py.text import shorten
from tests.conftest import session_files


def test_shorten_cuts_between_words_and_says_so():
    text = "the request was rejected because the organization has exceeded its monthly budget"
    assert shorten(text, 200) == text
    assert shorten(text, 40) == "the request was rejected because the…"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"  # one long word: cut it, there is no better place
    assert all(len(shorten(text, n)) <= n for n in range(1, 90))


def test_a_long_provider_error_is_shortened_at_a_word_boundary(run_kit, provider, kit_env):
    words = [f"reason{i}" for i in range(120)]  # ~1000 characters
    provider.error(400, " ".join(words))
    result = run_kit("hi")
    assert result.returncode != 0
    line = next(line for line in result.stderr.splitlines() if "reason0" in line)
    message = line[line.index("reason0") :]
    assert message.endswith("…") and len(message) <= 300
    assert message[:-1].split() == words[: len(message[:-1].split())]  # every word whole
    stored = json.loads(session_files(kit_env)[0].read_text().splitlines()[-1])
    assert stored["error"].endswith(message)  # the session records the same line
