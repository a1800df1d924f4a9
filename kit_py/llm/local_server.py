"""The local model's server process: llama-cpp-python's OpenAI-compatible server (its own
`python -m llama_cpp.server`), plus two things it lacks. kit_py/llm/local.py runs this file as a script
(`python -I local_server.py ARGS`); kit never imports it.

A lifeline: stdin is a pipe whose other end only kit holds, so end of file on it means kit is gone,
whatever ended it, SIGKILL included; the server then exits at once. Stopping it normally is the same
step: kit closes the pipe.

Usage on streams: llama-cpp-python sends none with a streamed answer (OpenAI's `include_usage`), and
litellm then reports zero tokens. The tokens `generate` was given and produced are counted and sent in
a last chunk of the OpenAI form (no choices, a `usage`).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any


def _exit_when_kit_is_gone() -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


def _counting(generate: Callable[..., Iterator[int]]) -> Callable[..., Iterator[int]]:
    """`Llama.generate`, recording (prompt tokens, generated tokens) on the model as it goes."""

    def counted(self: Any, tokens: list[int], *args: Any, **kwargs: Any) -> Iterator[int]:
        self.kit_usage = [len(tokens), 0]
        for token in generate(self, tokens, *args, **kwargs):
            self.kit_usage[1] += 1
            yield token

    return counted


def _with_usage(create: Callable[..., Any]) -> Callable[..., Any]:
    """`Llama.create_chat_completion`, whose streams end with a usage chunk."""

    def created(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = create(self, *args, **kwargs)
        if not kwargs.get("stream"):
            return result

        def chunks() -> Iterator[dict[str, Any]]:
            last = None
            for last in result:
                yield last
            if last is not None:
                prompt, completion = getattr(self, "kit_usage", (0, 0))
                usage = {"prompt_tokens": prompt, "completion_tokens": completion}
                usage["total_tokens"] = prompt + completion
                yield {
                    "id": last["id"],
                    "object": "chat.completion.chunk",
                    "created": last["created"],
                    "model": last["model"],
                    "choices": [],
                    "usage": usage,
                }

        return chunks()

    return created


def main() -> None:
    threading.Thread(target=_exit_when_kit_is_gone, name="kit-lifeline", daemon=True).start()
    import llama_cpp

    llama = llama_cpp.Llama
    setattr(llama, "generate", _counting(llama.generate))  # noqa: B010  (a method, replaced)
    setattr(llama, "create_chat_completion", _with_usage(llama.create_chat_completion))  # noqa: B010
    sys.argv[0] = "llama_cpp.server"
    try:
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()  # its last line is what kit reports (a model file it cannot load)
        code = 1
    else:
        code = 0
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # not a normal shutdown: the lifeline thread still reads stdin, which would abort it


if __name__ == "__main__":
    main()
