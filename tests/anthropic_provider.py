"""Scripted Anthropic Messages API server (`POST /v1/messages`, streaming SSE) for prompt-caching tests.

Like tests/provider.py, but speaking Anthropic's wire format, so kit reaches it through litellm's real
Anthropic client (`-m anthropic/claude-sonnet-4-5 --api-base <base_url>`). Each request consumes the
next scripted reply (a short default one when the script is empty); every request is recorded with its
path, headers and body, so tests can assert the `cache_control` breakpoints the provider received.

Standard library only.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class AnthropicReply:
    text: str = "ok"
    input_tokens: int = 10
    """Uncached input tokens (Anthropic's `input_tokens` excludes cache reads and writes)."""
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    output_tokens: int = 5
    stop_reason: str = "end_turn"


@dataclass
class AnthropicProvider:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _script: deque[AnthropicReply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _ids: Any = field(default_factory=itertools.count)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> AnthropicProvider:
        self._server = ThreadingHTTPServer((self.host, self.port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reply(self, text: str = "ok", **usage: int) -> None:
        """Queue one streamed answer; `usage` sets input_tokens, cache_read_input_tokens,
        cache_creation_input_tokens and output_tokens as Anthropic reports them."""
        with self._lock:
            self._script.append(AnthropicReply(text=text, **usage))

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r["body"] for r in self.requests]

    def _next(self) -> AnthropicReply:
        with self._lock:
            return self._script.popleft() if self._script else AnthropicReply()

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)


def _events(reply: AnthropicReply, model: str, rid: str) -> list[tuple[str, dict[str, Any]]]:
    start_usage = {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": reply.cache_creation_input_tokens,
        "cache_read_input_tokens": reply.cache_read_input_tokens,
        "output_tokens": 1,
    }
    message = {
        "id": rid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    for i in range(0, len(reply.text), 8):
        delta = {"type": "text_delta", "text": reply.text[i : i + 8]}
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": reply.output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _make_handler(provider: AnthropicProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            provider._record({"path": self.path, "headers": dict(self.headers), "body": body})
            if not self.path.rstrip("/").endswith("/messages"):
                error = {"type": "not_found_error", "message": "no route"}
                self._send(404, {"type": "error", "error": error})
                return
            reply = provider._next()
            rid = f"msg_{next(provider._ids):06d}"
            model = str(body.get("model") or "claude-sonnet-4-5")
            if not body.get("stream"):
                self._send(200, self._message(reply, model, rid))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for name, data in _events(reply, model, rid):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
            self.close_connection = True

        def _message(self, reply: AnthropicReply, model: str, rid: str) -> dict[str, Any]:
            return {
                "id": rid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": reply.text}],
                "stop_reason": reply.stop_reason,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": reply.input_tokens,
                    "cache_creation_input_tokens": reply.cache_creation_input_tokens,
                    "cache_read_input_tokens": reply.cache_read_input_tokens,
                    "output_tokens": reply.output_tokens,
                },
            }

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
