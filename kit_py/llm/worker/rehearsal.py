"""The worker's warm-up: a few calls through litellm against a private server on 127.0.0.1, before
the worker forks its first child.

Importing litellm is only part of the cost: its first request imports ~500 more modules and builds
pydantic schemas (1-2 s). Done once here, every forked child starts with all of it ready. The calls
cover what a one-shot does (check the model, its limits, stream an answer with a tool call, a
summary, an error) for the OpenAI-compatible and the Anthropic wire formats. Afterwards the threads
litellm started for its logging are retired, so the worker forks from a single-threaded process.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from kit_py import errors
from kit_py.llm import client
from kit_py.llm.types import LLMRequest, StreamEvent

_TOOL = {
    "type": "function",
    "function": {
        "name": "noop",
        "description": "Does nothing.",
        "parameters": {"type": "object", "properties": {}},
    },
}
_MODELS = ("openai/kit-rehearsal", "anthropic/claude-sonnet-4-5")
_FAILING = "openai/kit-rehearsal-error"


def rehearse(log: Callable[[str], None]) -> None:
    """Run the rehearsal calls; a failed one is logged and skipped (the worker is then only slower)."""
    server = _RehearsalServer()
    try:
        for model in _MODELS:
            request = _request(model, server.url)
            _attempt(log, f"check {model}", client.check_model, model, "rehearsal", server.url)
            _attempt(log, f"limits {model}", client.model_limits, model)
            _attempt(log, f"stream {model}", client.stream_completion, request, _ignore)
            _attempt(log, f"complete {model}", client.complete_text, request)
        with contextlib.suppress(errors.KitError):
            client.stream_completion(_request(_FAILING, server.url), _ignore)
    finally:
        server.close()
    _retire_litellm_threads(log)


def warm_spare() -> None:
    """In a spare child, before any caller: one answer through litellm's mock path (no network, no
    environment read: the model, base and key are given). A forked child copies each memory page the
    first time it writes to it; doing that here, off the caller's clock, makes the real call about
    as fast as in a process that has answered before (~3,700 page copies fewer than ~1,300)."""
    request = _request(_MODELS[0], "http://127.0.0.1:9/v1")
    request.tools, request.extra = None, {"mock_response": "ok"}
    with contextlib.suppress(Exception):  # a mock stream has no finish reason: kit calls it cut off
        client.stream_completion(request, _ignore)


def _attempt(log: Callable[[str], None], what: str, call: Callable[..., Any], *args: Any) -> None:
    try:
        call(*args)
    except Exception as exc:
        log(f"rehearsal: {what} failed: {type(exc).__name__}: {exc}")


def _ignore(event: StreamEvent) -> None:
    del event


def _request(model: str, base: str) -> LLMRequest:
    return LLMRequest(
        model=model,
        messages=[{"role": "system", "content": "rehearsal"}, {"role": "user", "content": "hi"}],
        api_base=base,
        api_key="rehearsal",
        tools=[_TOOL],
        caching=True,
        timeout=30,
        max_retries=0,
    )


def _retire_litellm_threads(log: Callable[[str], None]) -> None:
    """Swap litellm's logging thread pool for a fresh one (no threads until a child uses it) and end the
    old pool's threads: a child forked while they exist would inherit a pool whose threads are gone.
    Also forget the HTTP clients litellm cached for the rehearsal server."""
    module = sys.modules.get("litellm.litellm_core_utils.thread_pool_executor")
    old = getattr(module, "executor", None)
    if module is not None and old is not None:
        try:
            fresh = type(old)(
                max_workers=module.MAX_THREADS, max_pending_tasks=module.LOGGING_EXECUTOR_MAX_PENDING_TASKS
            )
        except (AttributeError, TypeError) as exc:
            log(f"rehearsal: cannot renew litellm's logging pool: {exc}")
        else:
            for loaded in list(sys.modules.values()):
                if getattr(loaded, "__dict__", {}).get("executor") is old:
                    setattr(loaded, "executor", fresh)  # noqa: B010 (a module, not typed here)
            old.shutdown(wait=True)
    cache = getattr(client.load_litellm(), "in_memory_llm_clients_cache", None)
    if cache is not None and hasattr(cache, "flush_cache"):
        cache.flush_cache()


class _RehearsalServer:
    """Answers each request with a canned reply in the format its path asks for, one at a time."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kit-worker-rehearsal", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError, ValueError):
                    self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            (int(v) for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length"), 0
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk
        request = json.loads(body or b"{}")
        path = lines[0].split(" ")[1]
        status, kind, payload = _reply(path, request)
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + payload
        )


def _reply(path: str, request: dict[str, Any]) -> tuple[str, str, bytes]:
    if "error" in str(request.get("model", "")):
        body = {"error": {"message": "rehearsal failure", "type": "server_error", "code": None}}
        return "500 Internal Server Error", "application/json", json.dumps(body).encode()
    anthropic = path.endswith("/messages")
    if not request.get("stream"):
        return (
            "200 OK",
            "application/json",
            json.dumps(_anthropic_message() if anthropic else _openai_message()).encode(),
        )
    events = _anthropic_events() if anthropic else _openai_events()
    return "200 OK", "text/event-stream", "".join(events).encode()


def _openai_message() -> dict[str, Any]:
    return {
        "id": "rehearsal",
        "object": "chat.completion",
        "created": 0,
        "model": "kit-rehearsal",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _openai_events() -> list[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta or finish else []
        body = {"id": "rehearsal", "object": "chat.completion.chunk", "created": 0, "model": "kit-rehearsal"}
        return f"data: {json.dumps({**body, 'choices': choices, **extra})}\n\n"

    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "noop", "arguments": "{}"}}
    return [
        chunk({"role": "assistant", "content": "ok"}),
        chunk({"tool_calls": [call]}),
        chunk({}, "tool_calls"),
        chunk({}, usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
        "data: [DONE]\n\n",
    ]


def _anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_rehearsal",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


def _anthropic_events() -> list[str]:
    def event(kind: str, **body: Any) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **body})}\n\n"

    message = {**_anthropic_message(), "content": [], "stop_reason": None}
    return [
        event("message_start", message=message),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        event("content_block_delta", index=0, delta={"type": "text_delta", "text": "ok"}),
        event("content_block_stop", index=0),
        event(
            "content_block_start",
            index=1,
            content_block={"type": "tool_use", "id": "toolu_1", "name": "noop", "input": {}},
        ),
        event("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": "{}"}),
        event("content_block_stop", index=1),
        event(
            "message_delta",
            delta={"stop_reason": "tool_use", "stop_sequence": None},
            usage={"output_tokens": 1},
        ),
        event("message_stop"),
    ]
