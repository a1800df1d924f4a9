"""A session with everything an export must show, written the way kit writes it (SessionManager).

Used by the export, viewer and share tests: a system prompt, a model change, markdown with code, an
image, reasoning, a tool step with a short and a long result and a diff, a compaction, a branch with a
branch summary, a label, a name, and messages that try to run script in a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit_py.catalog import sessions_dir_for
from kit_py.session import SessionManager
from kit_py.session import format as fmt

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PAYLOADS = (
    "<script>window.__pwned = 'script'</script>\n\n"
    '<img src="x" onerror="window.__pwned = \'onerror\'">\n\n'
    "[click me](javascript:window.__pwned='link') and [docs](https://example.com/docs)"
)
LONG_OUTPUT = "\n".join(f"line {n}: output of the test run" for n in range(1, 41))
FIRST_PROMPT = "Fix the **parser**.\n\n```python\ndef parse(text):\n    return text.split()  # naive\n```"
USAGE = {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 200, "cache_creation_tokens": 0}


@dataclass
class Built:
    session: SessionManager
    branch_user: str
    """The user message of the abandoned branch."""
    branch_answer: str
    main_answer: str
    long_result_call: str


def build_session(cwd: str, home: Path | None, *, name: str = "Parser fix") -> Built:
    """A saved session under `home` (in memory when None) for `cwd`."""
    folder = sessions_dir_for(cwd, home) if home is not None else None
    s = SessionManager.create(folder, cwd)
    s.append(fmt.message("system", [fmt.text_part("You are a careful engineer.")]))
    s.append(fmt.model_change("openai", "gpt-4o", "high"))
    first = s.append(fmt.message("user", [fmt.text_part(FIRST_PROMPT), fmt.image_part(PNG, "image/png")]))
    s.append(
        fmt.message(
            "assistant",
            [
                fmt.reasoning_part("The split is naive; check the tests first.", "sig-abc"),
                fmt.text_part("Let me run the tests."),
                fmt.tool_call_part("call_1", "bash", '{"command": "pytest -q"}'),
                fmt.tool_call_part("call_2", "edit", '{"path": "parser.py", "edits": []}'),
            ],
            model="gpt-4o",
            provider="openai",
            usage={**USAGE, "cost_usd": 0.0125},
            stop_reason="tool_use",
        )
    )
    s.append(
        fmt.message(
            "tool",
            [
                fmt.tool_result_part("call_1", "bash", LONG_OUTPUT, True, exit_code=1, duration_ms=840),
                fmt.tool_result_part(
                    "call_2",
                    "edit",
                    "edited parser.py",
                    False,
                    diff="--- a/parser.py\n+++ b/parser.py\n@@ -1 +1 @@\n-a\n+b",
                ),
            ],
        )
    )
    main = s.append(
        fmt.message(
            "assistant",
            [fmt.text_part("Fixed: the parser now **handles quotes**.\n\n- one\n- two\n\n" + PAYLOADS)],
            model="gpt-4o",
            provider="openai",
            usage={**USAGE, "cost_usd": 0.0075},
            stop_reason="stop",
        )
    )
    s.set_label(main["id"], "fixed")
    s.append(
        fmt.compaction(
            "Goal: fix the parser. Done: quotes handled.", main["id"], 4000, 900, 3, [], ["parser.py"]
        )
    )
    s.append(fmt.message("user", [fmt.text_part("Now write the docs\n<!-- kit:end -->\nplease")]))
    s.append(
        fmt.message(
            "assistant",
            [fmt.text_part("Docs written.")],
            model="gpt-4o",
            provider="openai",
            usage={"input_tokens": 900, "output_tokens": 40, "cost_usd": 0.005},
            stop_reason="stop",
        )
    )
    s.set_name(name)
    leaf = s.leaf_id
    s.branch(first["id"])  # an abandoned branch from the first prompt
    s.append(fmt.branch_summary(main["id"], "Tried a regex first."))
    branch_user = s.append(fmt.message("user", [fmt.text_part("Use a regex instead")]))
    branch_answer = s.append(
        fmt.message("assistant", [fmt.text_part("Regex version done.")], model="gpt-4o", provider="openai")
    )
    assert leaf is not None
    s.move_leaf(leaf)  # back on the main branch: the file's leaf
    s.sync()
    return Built(s, branch_user["id"], branch_answer["id"], main["id"], "call_1")
